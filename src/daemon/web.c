/*
 * web_fetch through the egress proxy; see web.h. libcurl is told to use a
 * proxy on a loopback port this fetch listens on, and each connection it
 * makes is relayed to a proxy_start()ed proxy, so every check the proxy
 * makes for commands applies here too. The listener accepts only the
 * sockets libcurl opened here: ours are bound to a port before they
 * connect, and a connection from any other port is closed unread.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/utf8.h"
#include "../llm/libcurl.h"
#include "../policy/hostpat.h"
#include "../sandbox/proxy.h"
#include "web.h"

#define WEB_CONNS	8	/* connections one fetch may open (redirects) */

struct web_ctx {
	const struct manifest	*m;
	int			 ctrl;		/* our end of the control pair */
	int			 lfd;		/* the loopback listener */
	struct sockaddr_in	 lsin;
	struct buf		*body;
	struct buf		 denied;	/* the proxy's refusals */
	pthread_mutex_t		 lock;
	in_port_t		 ports[WEB_CONNS];	/* ours, in order */
	size_t			 nports;
	int			 stop[2];	/* ends the relay thread */
};

static int
web_allow(void *arg, const char *host, unsigned port, struct buf *why)
{
	const struct web_ctx *w = arg;
	size_t i;

	(void)port;
	for (i = 0; i < w->m->deny_domains.n; i++)
		if (hostpat_match(w->m->deny_domains.v[i], host,
		    strlen(host))) {
			buf_printf(why, "deny.commands domains \"%s\"",
			    w->m->deny_domains.v[i]);
			return 0;
		}
	for (i = 0; i < w->m->default_domains.n; i++)
		if (hostpat_match(w->m->default_domains.v[i], host,
		    strlen(host)))
			return 1;
	buf_puts(why, "not in [capabilities.allow.commands] default_domains");
	return 0;
}

/* Called on the proxy's threads, one refusal at a time is enough. */
static void
web_denied(void *arg, const char *what)
{
	struct web_ctx *w = arg;

	if (w->denied.len == 0)
		buf_puts(&w->denied, what);
}

/* libcurl's socket to "the proxy": bound first, so that the listener
 * knows it is ours. */
static curl_socket_t
web_open(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct web_ctx *w = arg;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	(void)purpose;
	(void)addr;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return CURL_SOCKET_BAD;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
		close(fd);
		return CURL_SOCKET_BAD;
	}
	pthread_mutex_lock(&w->lock);
	if (w->nports < WEB_CONNS)
		w->ports[w->nports++] = sin.sin_port;
	else {
		close(fd);
		fd = CURL_SOCKET_BAD;
	}
	pthread_mutex_unlock(&w->lock);
	return fd;
}

/* 1 when port is one of the ports our sockets were bound to. */
static int
web_ours(struct web_ctx *w, in_port_t port)
{
	size_t i;
	int ours = 0;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->nports; i++)
		ours |= w->ports[i] == port;
	pthread_mutex_unlock(&w->lock);
	return ours;
}

/* Copies between a and b until both sides are done. */
static void
web_relay(int a, int b, int stop)
{
	struct pollfd pf[3];
	char buf[16384];
	ssize_t n;
	int open_a = 1, open_b = 1;

	while (open_a || open_b) {
		pf[0].fd = open_a ? a : -1;
		pf[0].events = POLLIN;
		pf[1].fd = open_b ? b : -1;
		pf[1].events = POLLIN;
		pf[2].fd = stop;
		pf[2].events = POLLIN;
		if (poll(pf, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pf[2].revents != 0)
			return;
		if (pf[0].revents != 0) {
			if ((n = read(a, buf, sizeof(buf))) <= 0) {
				open_a = 0;
				shutdown(b, SHUT_WR);
			} else if (write(b, buf, (size_t)n) != n)
				return;
		}
		if (pf[1].revents != 0) {
			if ((n = read(b, buf, sizeof(buf))) <= 0) {
				open_b = 0;
				shutdown(a, SHUT_WR);
			} else if (write(a, buf, (size_t)n) != n)
				return;
		}
	}
}

/* The listener: one connection at a time (libcurl makes one, and another
 * per redirect), each relayed to a fresh proxy connection. */
static void *
web_listen(void *arg)
{
	struct web_ctx *w = arg;
	struct sockaddr_in peer;
	struct pollfd pf[2];
	socklen_t pl;
	int c, p;

	for (;;) {
		pf[0].fd = w->lfd;
		pf[0].events = POLLIN;
		pf[1].fd = w->stop[0];
		pf[1].events = POLLIN;
		if (poll(pf, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents != 0)
			break;
		pl = sizeof(peer);
		if ((c = accept4(w->lfd, (struct sockaddr *)&peer, &pl,
		    SOCK_CLOEXEC)) == -1)
			continue;
		if (peer.sin_family != AF_INET || peer.sin_addr.s_addr !=
		    htonl(INADDR_LOOPBACK) || !web_ours(w, peer.sin_port) ||
		    (p = proxy_client(w->ctrl)) == -1) {
			close(c);
			continue;
		}
		web_relay(c, p, w->stop[0]);
		close(c);
		close(p);
	}
	return NULL;
}

static size_t
web_write(char *p, size_t size, size_t n, void *arg)
{
	struct web_ctx *w = arg;

	if (buf_add(w->body, p, size * n) != 0)
		return 0;	/* past the cap: curl stops */
	return size * n;
}

/* The IP literals default_domains names: the proxy lets only those raw
 * addresses through, and private ones only if named. */
static size_t
web_addrs(const struct manifest *m, const char **v, size_t max)
{
	unsigned char a[16];
	size_t i, n = 0;

	for (i = 0; i < m->default_domains.n && n < max; i++)
		if (inet_pton(AF_INET, m->default_domains.v[i], a) == 1 ||
		    inet_pton(AF_INET6, m->default_domains.v[i], a) == 1)
			v[n++] = m->default_domains.v[i];
	return n;
}

int
web_fetch(const struct manifest *m, const char *url, size_t max_text,
    struct buf *out)
{
	struct web_ctx w;
	struct proxy_policy pp;
	struct proxy *px = NULL;
	struct buf body;
	const char *addrs[16], *ct = NULL;
	char cerr[CURL_ERROR_SIZE], purl[64];
	socklen_t sl = sizeof(w.lsin);
	pthread_t th;
	CURL *c = NULL;
	CURLcode cc;
	long status = 0;
	int sv[2] = { -1, -1 }, rc = 0, started = 0;

	buf_reset(out);
	memset(&w, 0, sizeof(w));
	w.lfd = w.stop[0] = w.stop[1] = -1;
	pthread_mutex_init(&w.lock, NULL);
	buf_init(&body, WEB_MAX_BODY);
	buf_init(&w.denied, 1024);
	if (url == NULL || (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)) {
		buf_puts(out, "web_fetch takes an http:// or https:// URL");
		return WARD_EINVAL;
	}
	w.m = m;
	w.body = &body;
	if ((rc = libcurl_load("web_fetch", out)) != 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		buf_printf(out, "web_fetch: socketpair: %s", strerror(errno));
		rc = WARD_ESYS;
		goto out;
	}
	memset(&pp, 0, sizeof(pp));
	pp.allow_host = web_allow;
	pp.denied = web_denied;
	pp.arg = &w;
	pp.allow_addrs = addrs;
	pp.nallow_addrs = web_addrs(m, addrs, sizeof(addrs) /
	    sizeof(addrs[0]));
	if ((rc = proxy_start(&pp, sv[0], &px, out)) != 0)
		goto out;
	sv[0] = -1;
	w.ctrl = sv[1];
	memset(&w.lsin, 0, sizeof(w.lsin));
	w.lsin.sin_family = AF_INET;
	w.lsin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((w.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(w.lfd, (struct sockaddr *)&w.lsin, sizeof(w.lsin)) == -1 ||
	    getsockname(w.lfd, (struct sockaddr *)&w.lsin, &sl) == -1 ||
	    listen(w.lfd, 4) == -1 || pipe2(w.stop, O_CLOEXEC) == -1 ||
	    pthread_create(&th, NULL, web_listen, &w) != 0) {
		buf_printf(out, "web_fetch: cannot listen on loopback: %s",
		    strerror(errno));
		rc = WARD_ESYS;
		goto out;
	}
	started = 1;
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%u",
	    (unsigned)ntohs(w.lsin.sin_port));
	if ((c = libcurl.easy_init()) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	cerr[0] = '\0';
	libcurl.easy_setopt(c, CURLOPT_URL, url);
	libcurl.easy_setopt(c, CURLOPT_PROXY, purl);
	/* no_proxy in the daemon's environment must not route around it. */
	libcurl.easy_setopt(c, CURLOPT_NOPROXY, "");
	libcurl.easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 0L);
	libcurl.easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, web_open);
	libcurl.easy_setopt(c, CURLOPT_OPENSOCKETDATA, &w);
	libcurl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	libcurl.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	libcurl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	libcurl.easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	libcurl.easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	libcurl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	libcurl.easy_setopt(c, CURLOPT_WRITEFUNCTION, web_write);
	libcurl.easy_setopt(c, CURLOPT_WRITEDATA, &w);
	libcurl.easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	libcurl.easy_setopt(c, CURLOPT_USERAGENT, "ward-web-fetch/0.1");
	libcurl.easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	cc = libcurl.easy_perform(c);
	libcurl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	libcurl.easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (w.denied.len > 0) {
		buf_printf(out, "web_fetch: sandbox denied %s", w.denied.data);
		rc = WARD_EDENIED;
		goto out;
	}
	if (cc == CURLE_WRITE_ERROR && body.len >= WEB_MAX_BODY) {
		buf_printf(out, "web_fetch: %s is larger than %u bytes", url,
		    WEB_MAX_BODY);
		rc = WARD_ETOOBIG;
		goto out;
	}
	if (cc != CURLE_OK || status < 200 || status > 299) {
		buf_printf(out, "web_fetch: %s: %s", url, cc != CURLE_OK ?
		    (cerr[0] ? cerr : libcurl.easy_strerror(cc)) : "");
		if (cc == CURLE_OK)
			buf_printf(out, "the server answered %ld", status);
		rc = WARD_EIO;
		goto out;
	}
	if (ct != NULL && strncasecmp(ct, "text/html", 9) == 0) {
		/* Text from the page's bytes, then made valid UTF-8. */
		struct buf t;

		buf_init(&t, WEB_MAX_BODY);
		if ((rc = web_text(body.data ? body.data : "", body.len,
		    &t)) == 0)
			rc = utf8_sanitize(out, t.data ? t.data : "", t.len);
		buf_free(&t);
	} else if (ct == NULL || strncasecmp(ct, "text/", 5) == 0 ||
	    strncasecmp(ct, "application/json", 16) == 0 ||
	    strncasecmp(ct, "application/xml", 15) == 0)
		rc = utf8_sanitize(out, body.data ? body.data : "", body.len);
	else {
		buf_printf(out, "web_fetch: %s is %s, not text", url, ct);
		rc = WARD_EINVAL;
		goto out;
	}
	if (rc == 0 && out->len > max_text) {
		out->len = utf8_valid_prefix(out->data, max_text);
		out->data[out->len] = '\0';
		buf_printf(out, "\n[cut at %zu bytes]", max_text);
	}
out:
	if (c != NULL)
		libcurl.easy_cleanup(c);
	if (started) {
		(void)!write(w.stop[1], "x", 1);
		pthread_join(th, NULL);
	}
	if (w.lfd != -1)
		close(w.lfd);
	if (w.stop[0] != -1) {
		close(w.stop[0]);
		close(w.stop[1]);
	}
	pthread_mutex_destroy(&w.lock);
	proxy_stop(px);
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	buf_free(&body);
	buf_free(&w.denied);
	return rc;
}

/* Named entities worth decoding; the rest stay as written. */
static const struct {
	const char	*name;
	const char	*text;
} web_entities[] = {
	{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" },
	{ "apos", "'" }, { "nbsp", " " }, { "mdash", "\xe2\x80\x94" },
	{ "ndash", "\xe2\x80\x93" }, { "hellip", "\xe2\x80\xa6" },
	{ "copy", "\xc2\xa9" },
};

/* Tags that end a line. */
static int
web_block(const char *tag, size_t n)
{
	static const char *const blocks[] = { "p", "br", "div", "li", "tr",
	    "h1", "h2", "h3", "h4", "h5", "h6", "pre", "ul", "ol", "table",
	    "section", "article", "header", "footer", "blockquote", "hr",
	    "title", NULL };
	size_t i;

	for (i = 0; blocks[i] != NULL; i++)
		if (strlen(blocks[i]) == n && strncasecmp(tag, blocks[i],
		    n) == 0)
			return 1;
	return 0;
}

/* The length of the tag name at p (letters, digits, '-'). */
static size_t
web_name(const char *p, const char *end)
{
	size_t n;

	for (n = 0; p + n < end && (p[n] == '-' || isalnum((unsigned char)
	    p[n])); n++)
		;
	return n;
}

/* Decodes the entity at p (which is '&') into out. Returns the bytes it
 * used, or 0 when it is not one ward decodes (it is then kept as text). */
static size_t
web_entity(const char *p, const char *end, struct buf *out)
{
	const char *q;
	unsigned long cp;
	size_t i, n;
	char *e;

	n = (size_t)(end - p) < 12 ? (size_t)(end - p) : 12;
	if ((q = memchr(p, ';', n)) == NULL)
		return 0;
	if (p + 1 < q && p[1] == '#') {
		cp = p + 2 < q && (p[2] == 'x' || p[2] == 'X') ?
		    strtoul(p + 3, &e, 16) : strtoul(p + 2, &e, 10);
		if (e != q || cp == 0 || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20)
			return 0;
		return utf8_put(out, (uint32_t)cp) == 0 ?
		    (size_t)(q - p) + 1 : 0;
	}
	for (i = 0; i < sizeof(web_entities) / sizeof(web_entities[0]); i++)
		if ((size_t)(q - p - 1) == strlen(web_entities[i].name) &&
		    memcmp(p + 1, web_entities[i].name, (size_t)(q - p - 1)) ==
		    0)
			return buf_puts(out, web_entities[i].text) == 0 ?
			    (size_t)(q - p) + 1 : 0;
	return 0;
}

/* Where the element that starts at p (a script or style of name[0..n))
 * ends: after its closing tag, or at the end. */
static const char *
web_skip(const char *p, const char *end, const char *name, size_t n)
{
	for (; p + 2 + n <= end; p++)
		if (p[0] == '<' && p[1] == '/' && strncasecmp(p + 2, name,
		    n) == 0)
			return p;
	return end;
}

int
web_text(const char *h, size_t len, struct buf *out)
{
	const char *end = h + len, *p = h, *q, *name;
	size_t n, used;
	int space = 0, rc = 0;

	while (p < end && rc == 0) {
		if (*p == '<') {
			if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
				q = memmem(p, (size_t)(end - p), "-->", 3);
				p = q != NULL ? q + 3 : end;
				continue;
			}
			name = p + 1 + (p + 1 < end && p[1] == '/');
			n = web_name(name, end);
			if (name == p + 1 && ((n == 6 && strncasecmp(name,
			    "script", 6) == 0) || (n == 5 &&
			    strncasecmp(name, "style", 5) == 0)))
				p = web_skip(p + 1, end, name, n);
			q = memchr(p, '>', (size_t)(end - p));
			if (web_block(name, n) && out->len > 0 &&
			    out->data[out->len - 1] != '\n') {
				rc = buf_puts(out, "\n");
				space = 0;
			}
			p = q != NULL ? q + 1 : end;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			space = out->len > 0 && out->data[out->len - 1] != '\n';
			p++;
			continue;
		}
		if (space && (rc = buf_puts(out, " ")) != 0)
			break;
		space = 0;
		if (*p == '&' && (used = web_entity(p, end, out)) > 0) {
			p += used;
			continue;
		}
		rc = buf_add(out, p, 1);
		p++;
	}
	return rc;
}

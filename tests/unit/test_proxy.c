/*
 * The egress proxy (issue 4 "Network") over real sockets: a test HTTP and
 * echo server on loopback, the proxy fed through its control socket as the
 * sandbox would. Names resolve through an injected resolver; each case
 * tries to reach something the policy does not grant.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/err.h"
#include "sandbox/proxy.h"
#include "tap.h"
#include "util.h"

/* ---- the upstream server: HTTP (echoes the request back) or echo ---- */

static int srv_fd;
static unsigned srv_port;
static pthread_t srv_thread;
static pthread_t srv_conns[512];
static int srv_nconns;

static void *
srv_conn(void *arg)
{
	int fd = (int)(long)arg;
	char buf[65536], hdr[128];
	size_t len = 0;
	ssize_t n;
	char *e, *cl;
	size_t want;

	while ((n = recv(fd, buf + len, sizeof(buf) - len - 1, 0)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (buf[0] < 'A' || buf[0] > 'Z') {
			/* Echo mode: everything back until EOF. */
			if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
				break;
			len = 0;
			continue;
		}
		if ((e = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		want = (size_t)(e + 4 - buf);
		if ((cl = strstr(buf, "Content-Length: ")) != NULL && cl < e)
			want += strtoul(cl + 16, NULL, 10);
		if (len < want)
			continue;
		/* Reply with every byte received, so a test sees exactly
		 * what the proxy forwarded. */
		n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\n"
		    "Content-Length: %zu\r\n\r\n", len);
		send(fd, hdr, (size_t)n, MSG_NOSIGNAL);
		send(fd, buf, len, MSG_NOSIGNAL);
		break;
	}
	close(fd);
	return NULL;
}

static void *
srv_main(void *arg)
{
	int fd;

	(void)arg;
	while ((fd = accept(srv_fd, NULL, NULL)) != -1) {
		if (srv_nconns == (int)(sizeof(srv_conns) /
		    sizeof(srv_conns[0])) || pthread_create(
		    &srv_conns[srv_nconns], NULL, srv_conn, (void *)(long)fd))
			die("server thread");
		srv_nconns++;
	}
	return NULL;
}

static void
srv_start(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((srv_fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(srv_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(srv_fd, 128) == -1 ||
	    getsockname(srv_fd, (struct sockaddr *)&sin, &len) == -1)
		die("server");
	srv_port = ntohs(sin.sin_port);
	if (pthread_create(&srv_thread, NULL, srv_main, NULL) != 0)
		die("server thread");
}

static void
srv_stop(void)
{
	int i;

	shutdown(srv_fd, SHUT_RDWR);
	pthread_join(srv_thread, NULL);
	close(srv_fd);
	for (i = 0; i < srv_nconns; i++)
		pthread_join(srv_conns[i], NULL);
}

/* ---- the policy ---- */

static pthread_mutex_t t_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_denied[1024];
static int ndenied;
static const char *resolve_to[4];	/* for "ip.test", under t_mu */

static int
t_allow(void *arg, const char *host, unsigned port, struct buf *why)
{
	(void)arg;
	(void)port;
	if (strcmp(host, "other.test") == 0) {
		buf_puts(why, "not in the domains of 'make test'");
		return 0;
	}
	return 1;
}

static int
t_resolve(void *arg, const char *host, struct sockaddr_storage *addrs,
    size_t max, size_t *n)
{
	static const char *const mixed[] = { "93.184.216.34", "10.0.0.1",
	    NULL };
	static const char *const lo[] = { "127.0.0.1", NULL };
	const char *const *list = lo;
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;

	(void)arg;
	*n = 0;
	if (strcmp(host, "nx.test") == 0)
		return WARD_ENOENT;
	if (strcmp(host, "mixed.test") == 0)
		list = mixed;
	else if (strcmp(host, "ip.test") == 0)
		list = resolve_to;
	pthread_mutex_lock(&t_mu);
	for (; *list != NULL && *n < max; list++, (*n)++) {
		memset(&addrs[*n], 0, sizeof(addrs[*n]));
		s4 = (struct sockaddr_in *)&addrs[*n];
		s6 = (struct sockaddr_in6 *)&addrs[*n];
		if (inet_pton(AF_INET, *list, &s4->sin_addr) == 1)
			s4->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, *list, &s6->sin6_addr) == 1)
			s6->sin6_family = AF_INET6;
		else
			die(*list);
	}
	pthread_mutex_unlock(&t_mu);
	return 0;
}

static void
t_denied(void *arg, const char *what)
{
	(void)arg;
	pthread_mutex_lock(&t_mu);
	snprintf(last_denied, sizeof(last_denied), "%s", what);
	ndenied++;
	pthread_mutex_unlock(&t_mu);
}

static int
denied_has(const char *s)
{
	int r;

	pthread_mutex_lock(&t_mu);
	r = strstr(last_denied, s) != NULL;
	if (!r)
		printf("# last denied: %s\n", last_denied);
	pthread_mutex_unlock(&t_mu);
	return r;
}

/* ---- the sandbox side ---- */

struct side {
	struct proxy	*p;
	int		 ctrl;	/* the sandbox's end */
};

static void
side_start(struct side *s, int with_loopback, int timeout_ms)
{
	static const char *const addrs[] = { "127.0.0.1" };
	struct proxy_policy pol;
	struct buf err;
	int sv[2];

	memset(&pol, 0, sizeof(pol));
	pol.allow_host = t_allow;
	pol.resolve = t_resolve;
	pol.denied = t_denied;
	pol.allow_addrs = addrs;
	pol.nallow_addrs = with_loopback ? 1 : 0;
	pol.timeout_ms = timeout_ms;
	buf_init(&err, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    proxy_start(&pol, sv[1], &s->p, &err) != 0)
		die(err.data ? err.data : "proxy_start");
	buf_free(&err);
	s->ctrl = sv[0];
}

/* A new client connection, as the envelope would get it. */
static int
side_conn(struct side *s)
{
	union {
		struct cmsghdr	 h;
		char		 b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	char one;
	int fd;

	if (write(s->ctrl, "c", 1) != 1)
		die("ctrl write");
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &one;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.b;
	msg.msg_controllen = sizeof(u.b);
	if (recvmsg(s->ctrl, &msg, 0) != 1 ||
	    (cm = CMSG_FIRSTHDR(&msg)) == NULL ||
	    cm->cmsg_type != SCM_RIGHTS)
		die("ctrl recvmsg");
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static void
put(int fd, const void *p, size_t n)
{
	if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
		die("send");
}

/* Reads until EOF, want bytes, or a generous hang guard (a stuck proxy
 * fails the test instead of hanging it). Returns the bytes read. */
static size_t
get(int fd, char *buf, size_t max, size_t want)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t len = 0;
	ssize_t n;

	while (len < max - 1 && (want == 0 || len < want)) {
		if (poll(&pfd, 1, 20000) != 1)
			break;
		if ((n = recv(fd, buf + len, max - 1 - len, 0)) <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* Sends req on a new connection and returns the whole answer in resp. */
static size_t
ask(struct side *s, const char *req, size_t n, char *resp, size_t max)
{
	int fd = side_conn(s);
	size_t len;

	put(fd, req, n);
	len = get(fd, resp, max, 0);
	close(fd);
	return len;
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A TLS ClientHello naming sni (none when NULL; sni_len bytes), split
 * over two records when split. Returns its length. */
static size_t
hello(unsigned char *out, const char *sni, size_t sni_len, int split)
{
	unsigned char hs[512], *b = hs + 4;
	size_t n = 0, ext, hn, first;

	b[n++] = 3; b[n++] = 3;
	memset(b + n, 0x42, 32); n += 32;
	b[n++] = 0;				/* session id */
	b[n++] = 0; b[n++] = 2; b[n++] = 0x13; b[n++] = 0x01;
	b[n++] = 1; b[n++] = 0;			/* compression */
	ext = n;
	n += 2;
	b[n++] = 0; b[n++] = 0x2b; b[n++] = 0; b[n++] = 3;
	b[n++] = 2; b[n++] = 3; b[n++] = 4;	/* supported_versions */
	if (sni != NULL) {
		b[n++] = 0; b[n++] = 0;
		b[n++] = 0; b[n++] = (unsigned char)(sni_len + 5);
		b[n++] = 0; b[n++] = (unsigned char)(sni_len + 3);
		b[n++] = 0;
		b[n++] = 0; b[n++] = (unsigned char)sni_len;
		memcpy(b + n, sni, sni_len);
		n += sni_len;
	}
	b[ext] = (unsigned char)((n - ext - 2) >> 8);
	b[ext + 1] = (unsigned char)(n - ext - 2);
	hs[0] = 1; hs[1] = 0;
	hs[2] = (unsigned char)(n >> 8); hs[3] = (unsigned char)n;
	hn = n + 4;
	first = split ? 10 : hn;
	n = 0;
	out[n++] = 0x16; out[n++] = 3; out[n++] = 1;
	out[n++] = (unsigned char)(first >> 8); out[n++] = (unsigned char)first;
	memcpy(out + n, hs, first);
	n += first;
	if (split) {
		out[n++] = 0x16; out[n++] = 3; out[n++] = 3;
		out[n++] = (unsigned char)((hn - first) >> 8);
		out[n++] = (unsigned char)(hn - first);
		memcpy(out + n, hs + first, hn - first);
		n += hn - first;
	}
	return n;
}

/* Opens a CONNECT tunnel to host on the test server; returns the fd with
 * the 200 read, or -1 with the answer in resp. */
static int
tunnel(struct side *s, const char *host, char *resp, size_t max)
{
	char req[512];
	int fd = side_conn(s);
	size_t n;

	n = (size_t)snprintf(req, sizeof(req), "CONNECT %s:%u HTTP/1.1\r\n"
	    "Host: %s:%u\r\n\r\n", host, srv_port, host, srv_port);
	/* A proxy at its limit answers 503 and closes at once, maybe before
	 * the request is sent: its answer is what counts then. */
	if (send(fd, req, n, MSG_NOSIGNAL) != (ssize_t)n && errno != EPIPE &&
	    errno != ECONNRESET)
		die("send");
	n = get(fd, resp, max, 39);
	if (n == 39 && starts(resp, "HTTP/1.1 200 "))
		return fd;
	get(fd, resp + n, max - n, 0);
	close(fd);
	return -1;
}

/* tunnel(), waiting out a 503 while connections of earlier cases are
 * still finishing on the proxy's threads. */
static int
tunnel_retry(struct side *s, const char *host, char *resp, size_t max)
{
	int fd, tries;

	for (tries = 0; tries < 500; tries++) {
		if ((fd = tunnel(s, host, resp, max)) != -1 ||
		    !starts(resp, "HTTP/1.1 503 "))
			return fd;
		usleep(10000);
	}
	return -1;
}

/* ---- the cases ---- */

static void
test_ranges(void)
{
	static const struct {
		const char	*addr;
		const char	*want;	/* NULL: public */
	} c[] = {
		{ "8.8.8.8", NULL }, { "1.1.1.1", NULL },
		{ "93.184.216.34", NULL }, { "2606:4700::1111", NULL },
		{ "::ffff:8.8.8.8", NULL }, { "2002:808:808::1", NULL },
		{ "127.0.0.1", "loopback" }, { "127.255.0.9", "loopback" },
		{ "10.1.2.3", "private" }, { "172.16.0.1", "private" },
		{ "172.31.255.255", "private" }, { "192.168.1.1", "private" },
		{ "100.64.0.1", "shared address space (CGNAT)" },
		{ "100.100.100.200", "shared address space (CGNAT)" },
		{ "169.254.1.1", "link-local" },
		{ "169.254.169.254", "cloud metadata" },
		{ "0.0.0.0", "this network" }, { "0.1.2.3", "this network" },
		{ "224.0.0.1", "multicast" },
		{ "255.255.255.255", "broadcast" },
		{ "240.0.0.1", "reserved" }, { "192.0.0.192",
		    "IETF protocol assignments" },
		{ "::1", "loopback" }, { "::", "unspecified" },
		{ "fc00::1", "private (unique local)" },
		{ "fd12:3456::1", "private (unique local)" },
		{ "fe80::1", "link-local" }, { "ff02::1", "multicast" },
		{ "fd00:ec2::254", "cloud metadata" },
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:169.254.169.254", "cloud metadata" },
		{ "::ffff:10.0.0.1", "private" },
		{ "::127.0.0.1", "IPv4-compatible" },
		{ "64:ff9b::a00:1", "private" },
		{ "64:ff9b::808:808", NULL },
		{ "2002:7f00:1::1", "loopback" },
		{ "2001:db8::1", "documentation" },
		{ "2001::1", "IETF protocol assignments" },
		{ "100::1", "discard" }, { "4000::1", "reserved" },
	};
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	const char *got;
	size_t i;
	int good = 1;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, c[i].addr, &s4->sin_addr) == 1)
			s4->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, c[i].addr, &s6->sin6_addr) == 1)
			s6->sin6_family = AF_INET6;
		else
			die(c[i].addr);
		got = proxy_addr_special((struct sockaddr *)&ss);
		if ((got == NULL) != (c[i].want == NULL) ||
		    (got != NULL && strcmp(got, c[i].want) != 0)) {
			printf("# %s: got %s, want %s\n", c[i].addr,
			    got ? got : "public", c[i].want ? c[i].want :
			    "public");
			good = 0;
		}
	}
	ok(good, "address ranges: %zu addresses classified",
	    sizeof(c) / sizeof(c[0]));
	ss.ss_family = AF_UNIX;
	is_str(proxy_addr_special((struct sockaddr *)&ss), "not IP",
	    "a non-IP address is special");
}

static void
test_start(void)
{
	static const char *const bad[] = { "localhost" };
	struct proxy_policy pol;
	struct proxy *p = NULL;
	struct buf err;
	int sv[2];

	memset(&pol, 0, sizeof(pol));
	pol.allow_host = t_allow;
	pol.allow_addrs = bad;
	pol.nallow_addrs = 1;
	buf_init(&err, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		die("socketpair");
	is_int(proxy_start(&pol, sv[1], &p, &err), WARD_EINVAL,
	    "an allow_addrs entry that is not an address is refused");
	ok(p == NULL && err.data && strstr(err.data, "localhost"),
	    "and the error names it");
	pol.nallow_addrs = 0;
	pol.allow_host = NULL;
	is_int(proxy_start(&pol, sv[1], &p, NULL), WARD_EINVAL,
	    "no allow_host is refused");
	proxy_stop(NULL);
	close(sv[0]);
	close(sv[1]);
	buf_free(&err);
}

static void
test_connect(struct side *s)
{
	unsigned char ch[1024];
	char resp[4096];
	size_t n;
	int fd;

	fd = tunnel(s, "allowed.test", resp, sizeof(resp));
	ok(fd != -1, "CONNECT to an allowed name: 200");
	n = hello(ch, "allowed.test", 12, 0);
	put(fd, ch, n);
	put(fd, "after", 5);
	ok(get(fd, resp, sizeof(resp), n + 5) == n + 5 &&
	    memcmp(resp, ch, n) == 0 && memcmp(resp + n, "after", 5) == 0,
	    "its ClientHello and data reach the server and come back");
	close(fd);

	fd = tunnel(s, "Allowed.Test.", resp, sizeof(resp));
	n = hello(ch, "allowed.test", 12, 1);
	if (fd != -1)
		put(fd, ch, n);
	ok(fd != -1 && get(fd, resp, sizeof(resp), n) == n &&
	    memcmp(resp, ch, n) == 0,
	    "case and trailing dot are canonical; a ClientHello over two "
	    "records passes");
	if (fd != -1)
		close(fd);

	fd = tunnel(s, "allowed.test", resp, sizeof(resp));
	if (fd != -1)
		put(fd, "plain bytes", 11);
	ok(fd != -1 && get(fd, resp, sizeof(resp), 11) == 11 &&
	    memcmp(resp, "plain bytes", 11) == 0,
	    "a tunnel that does not speak TLS is relayed");
	if (fd != -1)
		close(fd);

	fd = tunnel(s, "127.0.0.1", resp, sizeof(resp));
	n = hello(ch, NULL, 0, 0);
	if (fd != -1)
		put(fd, ch, n);
	ok(fd != -1 && get(fd, resp, sizeof(resp), n) == n,
	    "a raw address the manifest names works, without SNI");
	if (fd != -1)
		close(fd);
}

/* A tunnel whose ClientHello must be refused: closed, nothing echoed. */
static void
sni_refused(struct side *s, const unsigned char *ch, size_t n,
    const char *host, const char *why, const char *name)
{
	char resp[4096];
	int fd = tunnel(s, host, resp, sizeof(resp));

	if (fd != -1)
		put(fd, ch, n);
	ok(fd != -1 && get(fd, resp, sizeof(resp), 0) == 0 && denied_has(why),
	    "%s: tunnel closed, nothing relayed, denied", name);
	if (fd != -1)
		close(fd);
}

static void
test_sni(struct side *s)
{
	unsigned char ch[1024];
	char resp[4096];
	size_t n;
	int fd;

	n = hello(ch, "other.test", 10, 0);
	sni_refused(s, ch, n, "allowed.test",
	    "allowed.test:", "SNI of another host");
	ok(denied_has("TLS SNI other.test does not match"),
	    "the refusal names the SNI");
	n = hello(ch, "other.test", 10, 1);
	sni_refused(s, ch, n, "allowed.test", "does not match",
	    "SNI of another host in a split ClientHello");
	n = hello(ch, NULL, 0, 0);
	sni_refused(s, ch, n, "allowed.test", "without SNI",
	    "ClientHello without SNI to a name");
	n = hello(ch, "allowed.test\0.evil", 18, 0);
	sni_refused(s, ch, n, "allowed.test", "NUL byte",
	    "SNI with a NUL byte");
	n = hello(ch, "allowed.test", 12, 0);
	sni_refused(s, ch, n, "127.0.0.1", "in a tunnel to an address",
	    "SNI in a tunnel to a raw address");
	n = hello(ch, "allowed.test", 12, 0);
	ch[43] = 200;		/* session id longer than the hello */
	sni_refused(s, ch, n, "allowed.test", "malformed TLS ClientHello",
	    "a malformed ClientHello");

	n = hello(ch, "allowed.test", 12, 0);
	fd = tunnel(s, "allowed.test", resp, sizeof(resp));
	if (fd != -1) {
		put(fd, ch, n - 1);
		shutdown(fd, SHUT_WR);
	}
	ok(fd != -1 && get(fd, resp, sizeof(resp), 0) == 0 &&
	    denied_has("incomplete TLS ClientHello"),
	    "a ClientHello cut short by the client: nothing relayed, denied");
	if (fd != -1)
		close(fd);
}

static void
test_http(struct side *s)
{
	char req[1024], resp[8192];
	size_t n;

	n = (size_t)snprintf(req, sizeof(req), "GET "
	    "http://allowed.test:%u/a/b?c=1 HTTP/1.1\r\n"
	    "Host: allowed.test:%u\r\nProxy-Connection: "
	    "keep-alive\r\nConnection: keep-alive\r\nUser-Agent: t\r\n\r\n",
	    srv_port, srv_port);
	ask(s, req, n, resp, sizeof(resp));
	ok(starts(resp, "HTTP/1.1 200 OK"), "plain HTTP to an allowed name");
	ok(strstr(resp, "\r\n\r\nGET /a/b?c=1 HTTP/1.1\r\n") != NULL,
	    "forwarded in origin form");
	ok(strstr(resp, "Host: allowed.test:") != NULL &&
	    strstr(resp, "Connection: close\r\n") != NULL &&
	    strstr(resp, "User-Agent: t\r\n") != NULL &&
	    strstr(resp, "keep-alive") == NULL,
	    "with our Host and Connection: close, hop-by-hop headers dropped");

	n = (size_t)snprintf(req, sizeof(req), "POST http://allowed.test:%u/p "
	    "HTTP/1.1\r\nContent-Length: 4\r\n\r\nbodyGET http://other.test/ "
	    "HTTP/1.1\r\nHost: other.test\r\n\r\n", srv_port);
	ask(s, req, n, resp, sizeof(resp));
	ok(starts(resp, "HTTP/1.1 200 OK") &&
	    strstr(resp, "\r\n\r\nbody") != NULL &&
	    strstr(resp, "other.test") == NULL,
	    "the body is forwarded; a request pipelined behind it is not");

	n = (size_t)snprintf(req, sizeof(req), "GET http://allowed.test:%u/ "
	    "HTTP/1.1\r\nHost: other.test:%u\r\n\r\n", srv_port, srv_port);
	ask(s, req, n, resp, sizeof(resp));
	ok(starts(resp, "HTTP/1.1 403 ") && denied_has("Host header names "
	    "other.test:"), "Host header naming another host: 403");
	n = (size_t)snprintf(req, sizeof(req), "GET http://allowed.test:%u/ "
	    "HTTP/1.1\r\nHost: allowed.test\r\n\r\n", srv_port);
	ask(s, req, n, resp, sizeof(resp));
	ok(starts(resp, "HTTP/1.1 403 "), "Host header with another port: 403");
	n = (size_t)snprintf(req, sizeof(req), "GET http://allowed.test:%u/ "
	    "HTTP/1.1\r\nHost: allowed.test:%u\r\nhost: other.test\r\n\r\n",
	    srv_port, srv_port);
	ask(s, req, n, resp, sizeof(resp));
	ok(starts(resp, "HTTP/1.1 403 ") && denied_has("more than one Host"),
	    "two Host headers: 403");
	n = (size_t)snprintf(req, sizeof(req), "GET http://allowed.test:%u/ "
	    "HTTP/1.1\r\nHost: allowed.test:%u\r\nX: a\nHost: other.test\r\n"
	    "\r\n", srv_port, srv_port);
	ask(s, req, n, resp, sizeof(resp));
	ok(starts(resp, "HTTP/1.1 400 "), "a bare LF inside a header: 400");
	n = (size_t)snprintf(req, sizeof(req), "POST http://allowed.test:%u/ "
	    "HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    srv_port);
	ask(s, req, n, resp, sizeof(resp));
	ok(starts(resp, "HTTP/1.1 400 "), "Transfer-Encoding: 400");
}

static void
test_refused(struct side *s)
{
	static const struct {
		const char	*req;
		size_t		 len;	/* 0: strlen */
		const char	*status;
		const char	*why;
		const char	*name;
	} c[] = {
		{ "CONNECT other.test:443 HTTP/1.1\r\n\r\n", 0, "403",
		    "network: other.test:443: not in the domains of 'make "
		    "test'",
		    "a name the grant does not list" },
		{ "GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n",
		    0, "403", "other.test:80", "plain HTTP to such a name" },
		{ "CONNECT 10.1.2.3:443 HTTP/1.1\r\n\r\n", 0, "403",
		    "network: 10.1.2.3:443: raw IP address",
		    "a raw IPv4 address" },
		{ "CONNECT 8.8.8.8:443 HTTP/1.1\r\n\r\n", 0, "403",
		    "raw IP address", "a raw public IPv4 address" },
		{ "CONNECT [::1]:443 HTTP/1.1\r\n\r\n", 0, "403",
		    "[::1]:443: raw IP address", "a raw IPv6 address" },
		{ "CONNECT [::ffff:127.0.0.2]:443 HTTP/1.1\r\n\r\n", 0, "403",
		    "raw IP address", "an IPv4-mapped address" },
		{ "CONNECT 127.1:443 HTTP/1.1\r\n\r\n", 0, "403",
		    "non-standard form", "127.1" },
		{ "CONNECT 2130706433:443 HTTP/1.1\r\n\r\n", 0, "403",
		    "non-standard form", "a decimal address" },
		{ "CONNECT 0x7f000001:443 HTTP/1.1\r\n\r\n", 0, "403",
		    "non-standard form", "a hex address" },
		{ "GET http://0177.0.0.1/ HTTP/1.1\r\n\r\n", 0, "403",
		    "non-standard form", "an octal address" },
		{ "CONNECT allowed.test\0.evil.com:443 HTTP/1.1\r\n\r\n", 47,
		    "403", "allowed.test?.evil.com: NUL byte in host name",
		    "NUL in a CONNECT host" },
		{ "GET http://allowed.test%00.evil/ HTTP/1.1\r\n\r\n", 0, "403",
		    "invalid character", "%00 in a URL host" },
		{ "GET http://user@allowed.test/ HTTP/1.1\r\n\r\n", 0, "403",
		    "invalid character", "userinfo in a URL" },
		{ "CONNECT metadata.google.internal:80 HTTP/1.1\r\n\r\n", 0,
		    "403", "cloud metadata", "a metadata service name" },
		{ "CONNECT mixed.test:443 HTTP/1.1\r\n\r\n", 0, "403",
		    "resolves to 10.0.0.1 (private)",
		    "a name with one public and one private address" },
		{ "CONNECT nx.test:443 HTTP/1.1\r\n\r\n", 0, "502",
		    "does not resolve", "a name that does not resolve" },
		{ "CONNECT allowed.test HTTP/1.1\r\n\r\n", 0, "403",
		    "port is required", "CONNECT without a port" },
		{ "CONNECT allowed.test:99999 HTTP/1.1\r\n\r\n", 0, "403",
		    "invalid port", "a port out of range" },
		{ "GET /x HTTP/1.1\r\nHost: allowed.test\r\n\r\n", 0, "400",
		    "absolute http:// URL", "origin form" },
		{ "GET https://allowed.test/ HTTP/1.1\r\n\r\n", 0, "400",
		    "use CONNECT", "an https URL" },
		{ "GET  http://allowed.test/ HTTP/1.1\r\n\r\n", 0, "400",
		    "malformed request line", "a double space" },
		{ "GET http://allowed.test/ HTTP/2\r\n\r\n", 0, "400",
		    "malformed request line", "another HTTP version" },
		{ "get http://allowed.test/ HTTP/1.1\r\n\r\n", 0, "400",
		    "malformed request method", "a lower-case method" },
		{ "GET http://allowed.test/a b HTTP/1.1\r\n\r\n", 0, "400",
		    "malformed request line", "a space in the URL" },
		{ "GET http://allowed.test/\x01 HTTP/1.1\r\n\r\n", 0, "400",
		    "malformed request URL", "a control byte in the URL" },
	};
	char resp[4096], want[16];
	size_t i, len;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		len = c[i].len ? c[i].len : strlen(c[i].req);
		ask(s, c[i].req, len, resp, sizeof(resp));
		snprintf(want, sizeof(want), "HTTP/1.1 %s ", c[i].status);
		ok(starts(resp, want) && strstr(resp, c[i].why) != NULL &&
		    denied_has(c[i].why), "%s: %s", c[i].name, c[i].status);
		if (!starts(resp, want))
			printf("# response: %.80s\n", resp);
	}
}

static void
test_resolved(struct side *s)
{
	static const char *const bad[] = { "10.0.0.1", "172.20.1.1",
	    "192.168.0.1", "169.254.169.254", "100.64.1.1", "0.0.0.0",
	    "224.0.0.251", "255.255.255.255", "::1", "fe80::1", "fc00::1",
	    "fd00:ec2::254", "::ffff:127.0.0.3", "::ffff:169.254.169.254",
	    "127.0.0.2" };
	static const char ipreq[] = "CONNECT ip.test:443 HTTP/1.1\r\n\r\n";
	char resp[4096];
	size_t i;
	int good = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pthread_mutex_lock(&t_mu);
		resolve_to[0] = bad[i];
		resolve_to[1] = NULL;
		pthread_mutex_unlock(&t_mu);
		ask(s, ipreq, strlen(ipreq), resp, sizeof(resp));
		if (!starts(resp, "HTTP/1.1 403 ") ||
		    strstr(resp, "resolves to") == NULL) {
			printf("# %s: %.60s\n", bad[i], resp);
			good = 0;
		}
	}
	ok(good, "a name resolving to any of %zu special addresses: 403",
	    sizeof(bad) / sizeof(bad[0]));
	ok(denied_has("network: ip.test:443: resolves to 127.0.0.2 (loopback)"),
	    "the refusal names the address and its range");
	pthread_mutex_lock(&t_mu);
	resolve_to[0] = "93.184.216.34";
	resolve_to[1] = "fd00:ec2::254";
	resolve_to[2] = NULL;
	pthread_mutex_unlock(&t_mu);
	ask(s, ipreq, strlen(ipreq), resp, sizeof(resp));
	ok(starts(resp, "HTTP/1.1 403 ") && denied_has("cloud metadata"),
	    "a public address followed by the IPv6 metadata address: 403");
}

static void
test_no_loopback(void)
{
	struct side s;
	char resp[4096];

	side_start(&s, 0, 0);
	ok(tunnel(&s, "allowed.test", resp, sizeof(resp)) == -1 &&
	    starts(resp, "HTTP/1.1 403 ") &&
	    denied_has("resolves to 127.0.0.1 (loopback)"),
	    "without allow_addrs, an allowed name on loopback is refused");
	ok(tunnel(&s, "127.0.0.1", resp, sizeof(resp)) == -1 &&
	    denied_has("raw IP address"),
	    "and so is 127.0.0.1 itself");
	close(s.ctrl);
	proxy_stop(s.p);
}

static void
test_limits(struct side *s)
{
	struct side slow;
	char *big, resp[4096], req[256];
	size_t n;
	int fd;

	big = malloc(PROXY_HEAD_MAX + 100);
	if (big == NULL)
		die("malloc");
	n = (size_t)snprintf(big, 100, "GET http://allowed.test/ HTTP/1.1\r\n"
	    "X: ");
	memset(big + n, 'a', PROXY_HEAD_MAX + 100 - n);
	fd = side_conn(s);
	send(fd, big, PROXY_HEAD_MAX + 100, MSG_NOSIGNAL);
	get(fd, resp, sizeof(resp), 0);
	close(fd);
	ok(starts(resp, "HTTP/1.1 431 ") && denied_has("request head over"),
	    "a request head over %d bytes: 431", PROXY_HEAD_MAX);
	free(big);

	/* Its own proxy with a short timeout, so that no other case
	 * depends on how fast this machine is. */
	side_start(&slow, 1, 200);
	fd = side_conn(&slow);
	put(fd, "CONNECT allowed.te", 18);
	get(fd, resp, sizeof(resp), 0);
	close(fd);
	ok(starts(resp, "HTTP/1.1 408 ") && denied_has("not received in time"),
	    "a client that never finishes its head: 408");
	close(slow.ctrl);
	proxy_stop(slow.p);

	fd = side_conn(s);
	close(fd);
	ok(1, "a client that leaves at once is not a crash");

	n = (size_t)snprintf(req, sizeof(req), "CONNECT allowed.test:%u "
	    "HTTP/1.1\r\n\r\n", 1u);
	ask(s, req, n, resp, sizeof(resp));
	ok(starts(resp, "HTTP/1.1 502 ") && denied_has("cannot connect"),
	    "an upstream that refuses: 502");
}

/* Every connection open at once, each relaying its own bytes. */
static void
test_concurrent(struct side *s)
{
	int fds[PROXY_MAXCONN], i, good = 1, extra;
	char resp[4096], msg[32];
	size_t n;

	for (i = 0; i < PROXY_MAXCONN; i++)
		if ((fds[i] = tunnel_retry(s, "allowed.test", resp,
		    sizeof(resp))) == -1)
			good = 0;
	ok(good, "%d tunnels open at once", PROXY_MAXCONN);
	for (i = 0; i < PROXY_MAXCONN; i++) {
		n = (size_t)snprintf(msg, sizeof(msg), "conn %d", i);
		if (fds[i] != -1)
			put(fds[i], msg, n);
	}
	for (i = PROXY_MAXCONN - 1; i >= 0; i--) {
		n = (size_t)snprintf(msg, sizeof(msg), "conn %d", i);
		if (fds[i] == -1 || get(fds[i], resp, sizeof(resp), n) != n ||
		    memcmp(resp, msg, n) != 0)
			good = 0;
	}
	ok(good, "each relays its own bytes");
	extra = side_conn(s);
	get(extra, resp, sizeof(resp), 0);
	close(extra);
	ok(starts(resp, "HTTP/1.1 503 ") && denied_has("too many"),
	    "one more than %d: 503", PROXY_MAXCONN);
	for (i = 0; i < PROXY_MAXCONN; i++)
		if (fds[i] != -1)
			close(fds[i]);
	fds[0] = tunnel_retry(s, "allowed.test", resp, sizeof(resp));
	ok(fds[0] != -1, "their slots are reused once they close");
	if (fds[0] != -1)
		close(fds[0]);
}

static void
test_stop(void)
{
	struct side s;
	char resp[4096];
	int fds[5], i, good = 1;

	side_start(&s, 1, 0);
	for (i = 0; i < 3; i++)
		fds[i] = tunnel(&s, "allowed.test", resp, sizeof(resp));
	fds[3] = side_conn(&s);
	put(fds[3], "CONNECT allowed.test:1", 22);
	fds[4] = side_conn(&s);
	proxy_stop(s.p);
	for (i = 0; i < 5; i++) {
		if (fds[i] == -1 || get(fds[i], resp, sizeof(resp), 0) != 0)
			good = 0;
		if (fds[i] != -1)
			close(fds[i]);
	}
	ok(good, "proxy_stop with tunnels and half-read heads open: "
	    "every client sees EOF");
	close(s.ctrl);

	side_start(&s, 1, 0);
	close(s.ctrl);
	proxy_stop(s.p);
	ok(1, "proxy_stop after the sandbox side left");
}

int
main(void)
{
	struct side s;

	srv_start();
	test_ranges();
	test_start();
	side_start(&s, 1, 0);
	test_connect(&s);
	test_sni(&s);
	test_http(&s);
	test_refused(&s);
	test_resolved(&s);
	test_limits(&s);
	test_concurrent(&s);
	close(s.ctrl);
	proxy_stop(s.p);
	test_no_loopback();
	test_stop();
	srv_stop();
	return done_testing();
}

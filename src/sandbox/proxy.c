/*
 * The egress proxy; see proxy.h. One acceptor thread answers the control
 * socket; each client connection gets its own thread, at most PROXY_MAXCONN
 * of them, with fixed buffers. Every wait is a poll that also watches a
 * stop pipe, so proxy_stop can end every thread without signals or
 * shared file descriptors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../policy/hostpat.h"
#include "proxy.h"

#define PROXY_TIMEOUT_MS	10000
/* Room for a request head rewritten to origin form plus the bytes the
 * client sent after it; also the most of a TLS ClientHello we inspect. */
#define PROXY_RELAY_BUF		(PROXY_HEAD_MAX + 4096)
#define PROXY_WHAT_MAX		(HOSTPAT_MAX + 16)

enum { SLOT_FREE, SLOT_RUNNING, SLOT_DONE };

/* An address in comparable form: IPv4-mapped IPv6 is stored as IPv4. */
struct proxy_ip {
	int		 family;
	unsigned char	 a[16];
};

struct proxy {
	struct proxy_policy pol;
	struct proxy_ip	*allow;
	size_t		 nallow;
	int		 ctrl;
	int		 stop[2];	/* readable once proxy_stop began */
	pthread_t	 acceptor;
	pthread_mutex_t	 mu;
	struct {
		pthread_t tid;
		int	 state;
	}		 slot[PROXY_MAXCONN];
};

/* Where a request wants to go. */
struct proxy_target {
	/* A canonical name, or an address as inet_ntop(3) writes it. */
	char		 host[HOSTPAT_MAX + 1];
	unsigned	 port;
	int		 literal;		/* host is an IP address */
	struct proxy_ip	 ip;			/* when literal */
};

/* One direction of a relay: buf[off..len) waits to be written to `to`. */
struct proxy_dir {
	int		 from, to;
	size_t		 off, len;
	int		 eof;		/* nothing more will be read */
	int		 noshut;	/* eof by our limit: no half-close */
	int		 shut;
	int		 limited;
	unsigned long long left;	/* bytes still to read when limited */
	char		 buf[PROXY_RELAY_BUF];
};

struct proxy_conn {
	struct proxy	*p;
	int		 slot;
	int		 cfd, ufd;
	struct proxy_target t;
	char		 what[PROXY_WHAT_MAX];	/* "HOST:PORT" */
	size_t		 headlen;	/* bytes read into head */
	char		 head[PROXY_HEAD_MAX];
	struct proxy_dir up, down;		/* client->upstream, back */
};

/* Names of cloud metadata services, refused whatever they resolve to. */
static const char *const proxy_metadata_names[] = {
	"metadata", "metadata.google.internal", "metadata.goog",
	"metadata.azure.internal", "instance-data",
	"instance-data.ec2.internal",
};

static void
proxy_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Milliseconds until deadline, 0 when it has passed. */
static int
proxy_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* Waits for events on fd. Returns 0 when ready, WARD_ETIMEOUT, WARD_EIO
 * when the proxy is stopping, WARD_ESYS. */
static int
proxy_wait(struct proxy *p, int fd, short events,
    const struct timespec *deadline)
{
	struct pollfd pfd[2];
	int n;

	for (;;) {
		pfd[0].fd = p->stop[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = events;
		n = poll(pfd, 2, deadline ? proxy_ms_left(deadline) : -1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return WARD_ESYS;
		if (pfd[0].revents != 0)
			return WARD_EIO;
		if (n == 0)
			return WARD_ETIMEOUT;
		return 0;
	}
}

/* Appends why (NULL ok) to err and returns WARD_EINVAL. */
static int
proxy_fail(struct buf *err, const char *why)
{
	if (err != NULL)
		buf_puts(err, why);
	return WARD_EINVAL;
}

/* Copies s[0..n) for a message, printable ASCII only and bounded. */
static void
proxy_shown(char *out, size_t outlen, const char *s, size_t n)
{
	size_t i, max = outlen - 4;

	for (i = 0; i < n && i < max; i++)
		out[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	if (n > max)
		memcpy(out + i, "...", 4);
}

static int
proxy_ip_from_sa(const struct sockaddr *sa, struct proxy_ip *ip)
{
	const struct sockaddr_in6 *s6;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff };

	memset(ip, 0, sizeof(*ip));
	if (sa->sa_family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return WARD_EINVAL;
	s6 = (const struct sockaddr_in6 *)sa;
	if (memcmp(s6->sin6_addr.s6_addr, mapped, 12) == 0) {
		ip->family = AF_INET;
		memcpy(ip->a, s6->sin6_addr.s6_addr + 12, 4);
		return 0;
	}
	ip->family = AF_INET6;
	memcpy(ip->a, s6->sin6_addr.s6_addr, 16);
	return 0;
}

/* Parses an IPv4 or IPv6 literal (no brackets) into ip and, when sa is
 * not NULL, a socket address. Returns 0 or WARD_EINVAL. */
static int
proxy_ip_parse(const char *s, struct proxy_ip *ip,
    struct sockaddr_storage *sa)
{
	struct sockaddr_storage tmp;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&tmp;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&tmp;

	memset(&tmp, 0, sizeof(tmp));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		return WARD_EINVAL;
	if (sa != NULL)
		*sa = tmp;
	return proxy_ip_from_sa((struct sockaddr *)&tmp, ip);
}

static int
proxy_allowed_ip(const struct proxy *p, const struct proxy_ip *ip)
{
	size_t i;

	for (i = 0; i < p->nallow; i++)
		if (p->allow[i].family == ip->family &&
		    memcmp(p->allow[i].a, ip->a, 16) == 0)
			return 1;
	return 0;
}

static const char *
proxy_v4_special(const unsigned char *b)
{
	static const struct {
		uint32_t	 net, mask;
		const char	*name;
	} r[] = {
		{ 0xffffffff, 0xffffffff, "broadcast" },
		{ 0xa9fea9fe, 0xffffffff, "cloud metadata" },
		{ 0x00000000, 0xff000000, "this network" },
		{ 0x0a000000, 0xff000000, "private" },
		{ 0x64400000, 0xffc00000, "shared address space (CGNAT)" },
		{ 0x7f000000, 0xff000000, "loopback" },
		{ 0xa9fe0000, 0xffff0000, "link-local" },
		{ 0xac100000, 0xfff00000, "private" },
		{ 0xc0000000, 0xffffff00, "IETF protocol assignments" },
		{ 0xc0000200, 0xffffff00, "documentation" },
		{ 0xc0586300, 0xffffff00, "6to4 relay anycast" },
		{ 0xc0a80000, 0xffff0000, "private" },
		{ 0xc6120000, 0xfffe0000, "benchmarking" },
		{ 0xc6336400, 0xffffff00, "documentation" },
		{ 0xcb007100, 0xffffff00, "documentation" },
		{ 0xe0000000, 0xf0000000, "multicast" },
		{ 0xf0000000, 0xf0000000, "reserved" },
	};
	uint32_t a;
	size_t i;

	a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((a & r[i].mask) == r[i].net)
			return r[i].name;
	return NULL;
}

/* 1 when the first bits of b equal those of pfx. */
static int
proxy_prefix(const unsigned char *b, const unsigned char *pfx, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	unsigned char m;

	if (memcmp(b, pfx, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	m = (unsigned char)(0xff << (8 - rest));
	return (b[whole] & m) == (pfx[whole] & m);
}

static const char *
proxy_v6_special(const unsigned char *b)
{
	static const struct {
		unsigned char	 pfx[16];
		int		 bits;
		const char	*name;
	} r[] = {
		{ { 0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    0x02, 0x54 }, 128, "cloud metadata" },
		{ { 0 }, 128, "unspecified" },
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128,
		    "loopback" },
		{ { 0 }, 96, "IPv4-compatible" },
		{ { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48, "NAT64 local use" },
		{ { 0x01, 0 }, 64, "discard" },
		{ { 0x20, 0x01, 0, 0 }, 23, "IETF protocol assignments" },
		{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation" },
		{ { 0x3f, 0xff, 0 }, 20, "documentation" },
		{ { 0xfc }, 7, "private (unique local)" },
		{ { 0xfe, 0x80 }, 10, "link-local" },
		{ { 0xfe, 0xc0 }, 10, "site-local" },
		{ { 0xff }, 8, "multicast" },
	};
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const unsigned char sixto4[2] = { 0x20, 0x02 };
	size_t i;

	/* Forms that reach an IPv4 host are as good as that host. */
	if (memcmp(b, nat64, 12) == 0)
		return proxy_v4_special(b + 12);
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (proxy_prefix(b, r[i].pfx, r[i].bits))
			return r[i].name;
	if (memcmp(b, sixto4, 2) == 0)
		return proxy_v4_special(b + 2);
	/* Only 2000::/3 is global unicast today. */
	if ((b[0] & 0xe0) != 0x20)
		return "reserved";
	return NULL;
}

const char *
proxy_addr_special(const struct sockaddr *sa)
{
	struct proxy_ip ip;

	if (proxy_ip_from_sa(sa, &ip) != 0)
		return "not IP";
	if (ip.family == AF_INET)
		return proxy_v4_special(ip.a);
	return proxy_v6_special(ip.a);
}

/* Takes s[0..n) as an IP literal (IPv6 when v6, else IPv4) into t.
 * Returns 0 or WARD_EINVAL. */
static int
proxy_literal(const char *s, size_t n, int v6, struct proxy_target *t)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (n == 0 || n >= sizeof(tmp) || memchr(s, '\0', n) != NULL)
		return WARD_EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, tmp, &a) != 1 ||
	    proxy_ip_parse(tmp, &t->ip, NULL) != 0 ||
	    inet_ntop(t->ip.family, t->ip.a, t->host, sizeof(t->host)) == NULL)
		return WARD_EINVAL;
	t->literal = 1;
	return 0;
}

/*
 * Parses an authority, "host[:port]" or "[v6][:port]", into t. defport 0
 * means the port is required. Returns 0, or WARD_EINVAL with the reason in
 * why; shown always receives a printable copy of the host for messages.
 */
static int
proxy_authority(const char *s, size_t n, unsigned defport,
    struct proxy_target *t, char *shown, size_t shownlen, struct buf *why)
{
	const char *host = s, *port = NULL, *last;
	size_t hn = n, pn = 0, i;
	unsigned long v = 0;
	int bracket = n > 0 && s[0] == '[';

	memset(t, 0, sizeof(*t));
	if (bracket) {
		last = memchr(s, ']', n);
		if (last == NULL || (last + 1 < s + n && last[1] != ':'))
			return proxy_fail(why, "invalid host");
		host = s + 1;
		hn = (size_t)(last - host);
		if (last + 1 < s + n) {
			port = last + 2;
			pn = (size_t)(s + n - port);
		}
	} else if ((last = memchr(s, ':', n)) != NULL) {
		hn = (size_t)(last - s);
		port = last + 1;
		pn = (size_t)(s + n - port);
	}
	proxy_shown(shown, shownlen, host, hn);
	if (port != NULL) {
		for (i = 0; i < pn && i < 5 && port[i] >= '0' &&
		    port[i] <= '9'; i++)
			v = v * 10 + (unsigned long)(port[i] - '0');
		if (pn == 0 || i != pn || v == 0 || v > 65535)
			return proxy_fail(why, "invalid port");
		t->port = (unsigned)v;
	} else if (defport == 0)
		return proxy_fail(why, "a port is required");
	else
		t->port = defport;

	/* Brackets hold IPv6 only; bare text may be IPv4. */
	if (bracket)
		return proxy_literal(host, hn, 1, t) == 0 ? 0 :
		    proxy_fail(why, "invalid IPv6 address");
	if (proxy_literal(host, hn, 0, t) == 0)
		return 0;
	if (hostpat_canon(host, hn, t->host, why) != 0)
		return WARD_EINVAL;
	/* inet_aton(3) forms such as 127.1, 2130706433 or 0x7f.1 are
	 * addresses to the resolver: a top-level label is never numeric. */
	last = strrchr(t->host, '.');
	last = last ? last + 1 : t->host;
	if (strspn(last, "0123456789") == strlen(last) ||
	    strncmp(last, "0x", 2) == 0)
		return proxy_fail(why, "raw IP address in a non-standard form");
	return 0;
}

static void
proxy_set_what(struct proxy_conn *c)
{
	snprintf(c->what, sizeof(c->what), c->t.literal && c->t.ip.family ==
	    AF_INET6 ? "[%s]:%u" : "%s:%u", c->t.host, c->t.port);
}

/*
 * Tells denied() "network: WHAT: reason" and, unless status is 0, answers
 * the client on fd with that HTTP status and the same line.
 */
static void
proxy_deny(struct proxy *p, int fd, const char *what, int status,
    const char *reason)
{
	char line[PROXY_WHAT_MAX + 600], resp[sizeof(line) + 200];
	const char *text;
	int n;

	snprintf(line, sizeof(line), "network: %s: %s", what, reason);
	if (p->pol.denied != NULL)
		p->pol.denied(p->pol.arg, line);
	if (status == 0)
		return;
	switch (status) {
	case 400: text = "Bad Request"; break;
	case 408: text = "Request Timeout"; break;
	case 431: text = "Request Header Fields Too Large"; break;
	case 502: text = "Bad Gateway"; break;
	case 503: text = "Service Unavailable"; break;
	default: text = "Forbidden"; break;
	}
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\nward: %s\n", status, text,
	    strlen(line) + 7, line);
	/* Nothing was sent on fd yet, so its buffer takes this at once; a
	 * client that does not read it loses only the message. */
	if (n > 0)
		(void)send(fd, resp, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* proxy_deny for the request on c, with a formatted reason. */
static void __attribute__((format(printf, 3, 4)))
proxy_refuse(struct proxy_conn *c, int status, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	proxy_deny(c->p, c->cfd, c->what, status, reason);
}

/* Reads until the end of the request head. Returns 0 with c->headlen and
 * *hl (the head's length) set, WARD_ETIMEOUT, WARD_ETOOBIG, WARD_EIO. */
static int
proxy_read_head(struct proxy_conn *c, size_t *hl)
{
	struct timespec deadline;
	const char *e;
	size_t from;
	ssize_t n;
	int rc;

	proxy_deadline(&deadline, c->p->pol.timeout_ms);
	c->headlen = 0;
	for (;;) {
		if ((rc = proxy_wait(c->p, c->cfd, POLLIN, &deadline)) != 0)
			return rc;
		n = recv(c->cfd, c->head + c->headlen, sizeof(c->head) -
		    c->headlen, MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return WARD_EIO;
		from = c->headlen >= 3 ? c->headlen - 3 : 0;
		c->headlen += (size_t)n;
		e = memmem(c->head + from, c->headlen - from, "\r\n\r\n", 4);
		if (e != NULL) {
			*hl = (size_t)(e - c->head) + 4;
			return 0;
		}
		if (c->headlen == sizeof(c->head))
			return WARD_ETOOBIG;
	}
}

static int
proxy_put(struct proxy_dir *d, const void *p, size_t n)
{
	if (n > sizeof(d->buf) - d->len)
		return WARD_ETOOBIG;
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	return 0;
}

static int
proxy_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* 1 when header line l[0..n) is named name (lower case). */
static int
proxy_hdr_is(const char *l, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && l[k] == ':' && strncasecmp(l, name, k) == 0;
}

/* Splits header line l[0..n) at its colon: the value, without the
 * whitespace around it, is [*v, *ve). Returns 0 or WARD_EINVAL for a
 * name that is not a token or a value with control bytes. */
static int
proxy_hdr_split(const char *l, size_t n, const char **v, const char **ve)
{
	const char *end = l + n, *s;
	size_t i;

	for (i = 0; i < n && proxy_tchar((unsigned char)l[i]); i++)
		;
	if (i == 0 || i == n || l[i] != ':')
		return WARD_EINVAL;
	for (s = l + i + 1; s < end && (*s == ' ' || *s == '\t'); s++)
		;
	for (; end > s && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*v = s;
	*ve = end;
	for (; s < end; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return WARD_EINVAL;
	return 0;
}

/* Parses a Content-Length value [v, ve). Returns 0 or WARD_EINVAL. */
static int
proxy_clen(const char *v, const char *ve, unsigned long long *clen)
{
	*clen = 0;
	if (v == ve || ve - v > 18)
		return WARD_EINVAL;
	for (; v < ve; v++) {
		if (*v < '0' || *v > '9')
			return WARD_EINVAL;
		*clen = *clen * 10 + (unsigned)(*v - '0');
	}
	return 0;
}

/*
 * Checks the headers [p, end) of a plain HTTP request against its target
 * and appends the ones to forward to c->up. Returns 0 with *clen set (the
 * body length), or refuses the request and returns WARD_EDENIED.
 */
static int
proxy_headers(struct proxy_conn *c, const char *p, const char *end,
    unsigned long long *clen)
{
	static const char *const hop[] = { "host", "connection",
	    "proxy-connection", "keep-alive", "proxy-authorization", "te",
	    "trailer", "upgrade" };
	struct proxy_target ht;
	char shown[80];
	struct buf why;
	const char *eol, *v, *ve;
	size_t n, i;
	int nhost = 0, nclen = 0, drop, rc = WARD_EDENIED;

	*clen = 0;
	buf_init(&why, 256);
	for (; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		n = (size_t)(eol - p);
		if (proxy_hdr_split(p, n, &v, &ve) != 0 ||
		    (proxy_hdr_is(p, n, "content-length") &&
		    (nclen++ > 0 || proxy_clen(v, ve, clen) != 0))) {
			proxy_refuse(c, 400, "malformed request header");
			goto out;
		}
		/* Chunked bodies would need parsing to find their end, and
		 * whatever follows a body could be a request to another
		 * host. */
		if (proxy_hdr_is(p, n, "transfer-encoding")) {
			proxy_refuse(c, 400, "request bodies must have a "
			    "Content-Length");
			goto out;
		}
		if (proxy_hdr_is(p, n, "host") && nhost++ > 0) {
			proxy_refuse(c, 403, "more than one Host header");
			goto out;
		}
		if (proxy_hdr_is(p, n, "host") && proxy_authority(v,
		    (size_t)(ve - v), 80, &ht, shown, sizeof(shown),
		    &why) != 0) {
			proxy_refuse(c, 403, "Host header %s: %s", shown,
			    why.data ? why.data : "invalid");
			goto out;
		}
		if (proxy_hdr_is(p, n, "host") && (ht.port != c->t.port ||
		    strcmp(ht.host, c->t.host) != 0)) {
			proxy_refuse(c, 403, "Host header names %s:%u",
			    ht.host, ht.port);
			goto out;
		}
		for (drop = 0, i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
			drop |= proxy_hdr_is(p, n, hop[i]);
		if (!drop && proxy_put(&c->up, p, n + 2) != 0) {
			proxy_refuse(c, 431, "request head too large");
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&why);
	return rc;
}

/* Cursor over untrusted TLS bytes; any overrun sets bad. */
struct proxy_rd {
	const unsigned char *p;
	size_t		 n;
	int		 bad;
};

static unsigned
proxy_rd_int(struct proxy_rd *r, size_t w)
{
	unsigned v = 0;

	if (r->n < w) {
		r->bad = 1;
		r->n = 0;
		return 0;
	}
	while (w-- > 0) {
		v = v << 8 | *r->p++;
		r->n--;
	}
	return v;
}

static void
proxy_rd_skip(struct proxy_rd *r, size_t n)
{
	if (r->n < n) {
		r->bad = 1;
		r->n = 0;
		return;
	}
	r->p += n;
	r->n -= n;
}

/* Takes a vector whose length is a w-byte prefix. */
static struct proxy_rd
proxy_rd_vec(struct proxy_rd *r, size_t w)
{
	struct proxy_rd s = { NULL, 0, 1 };
	size_t len = proxy_rd_int(r, w);

	if (r->bad || r->n < len) {
		r->bad = 1;
		return s;
	}
	s.p = r->p;
	s.n = len;
	s.bad = 0;
	r->p += len;
	r->n -= len;
	return s;
}

/*
 * Reads the server_name of the TLS ClientHello at the start of p[0..n)
 * (possibly spread over several records) into sni (empty when there is
 * none). Returns 1 when more bytes are needed, 0, or WARD_EINVAL with the
 * reason in why.
 */
static int
proxy_client_hello(const unsigned char *p, size_t n, char *sni,
    struct buf *why)
{
	static const char bad[] = "malformed TLS ClientHello";
	unsigned char hs[PROXY_RELAY_BUF];
	struct proxy_rd r, ext, list, name;
	size_t hn = 0, off = 0, rl, need = 0;
	unsigned type;
	int seen = 0;

	sni[0] = '\0';
	while (need == 0 || hn < need) {
		if (n - off < 5)
			return 1;
		if (p[off] != 0x16 || p[off + 1] != 3)
			return proxy_fail(why, bad);
		rl = (size_t)p[off + 3] << 8 | p[off + 4];
		if (rl == 0 || rl > 16384)
			return proxy_fail(why, bad);
		if (n - off - 5 < rl)
			return 1;
		if (rl > sizeof(hs) - hn)
			return proxy_fail(why, "TLS ClientHello too large");
		memcpy(hs + hn, p + off + 5, rl);
		hn += rl;
		off += 5 + rl;
		if (hn >= 4) {
			if (hs[0] != 1)
				return proxy_fail(why, "not a TLS "
				    "ClientHello");
			need = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 |
			    hs[3]);
			if (need > sizeof(hs))
				return proxy_fail(why, "TLS ClientHello too "
				    "large");
		}
	}
	r.p = hs + 4;
	r.n = need - 4;
	r.bad = 0;
	proxy_rd_skip(&r, 2 + 32);	/* legacy_version, random */
	proxy_rd_vec(&r, 1);		/* legacy_session_id */
	proxy_rd_vec(&r, 2);		/* cipher_suites */
	proxy_rd_vec(&r, 1);		/* legacy_compression_methods */
	if (r.bad)
		return proxy_fail(why, bad);
	if (r.n == 0)
		return 0;		/* no extensions */
	ext = proxy_rd_vec(&r, 2);
	if (r.bad || r.n != 0)
		return proxy_fail(why, bad);
	while (ext.n > 0) {
		type = proxy_rd_int(&ext, 2);
		list = proxy_rd_vec(&ext, 2);
		if (ext.bad)
			return proxy_fail(why, bad);
		if (type != 0)
			continue;
		/* Exactly one host_name, so no one reads another. */
		if (seen++)
			return proxy_fail(why, bad);
		list = proxy_rd_vec(&list, 2);
		if (list.bad || proxy_rd_int(&list, 1) != 0)
			return proxy_fail(why, bad);
		name = proxy_rd_vec(&list, 2);
		if (list.bad || list.n != 0)
			return proxy_fail(why, bad);
		buf_puts(why, "TLS SNI: ");
		if (hostpat_canon((const char *)name.p, name.n, sni, why) != 0)
			return WARD_EINVAL;
		buf_reset(why);
	}
	return 0;
}

/* Checks the TLS ClientHello waiting in c->up, if that is what the client
 * sent first. Returns 1 when more bytes are needed, 0 when the tunnel may
 * carry on, WARD_EDENIED after a refusal. */
static int
proxy_check_sni(struct proxy_conn *c)
{
	char sni[HOSTPAT_MAX + 1];
	struct buf why;
	int rc;

	if ((unsigned char)c->up.buf[0] != 0x16)
		return 0;	/* not TLS: nothing to compare */
	buf_init(&why, 512);
	rc = proxy_client_hello((unsigned char *)c->up.buf, c->up.len, sni,
	    &why);
	if (rc == 1 && (c->up.eof || c->up.len == sizeof(c->up.buf)))
		rc = proxy_fail(&why, "incomplete TLS ClientHello");
	/* An address has no SNI; a name must be the one in the hello. */
	if (rc == 0 && c->t.literal && sni[0] != '\0')
		rc = buf_printf(&why, "TLS SNI %s in a tunnel to an address",
		    sni) < 0 ? WARD_ENOMEM : WARD_EDENIED;
	else if (rc == 0 && !c->t.literal && sni[0] == '\0')
		rc = proxy_fail(&why, "TLS ClientHello without SNI");
	else if (rc == 0 && !c->t.literal && strcmp(sni, c->t.host) != 0)
		rc = buf_printf(&why, "TLS SNI %s does not match", sni) < 0 ?
		    WARD_ENOMEM : WARD_EDENIED;
	if (rc < 0) {
		/* The client already has its 200: no HTTP answer now. */
		proxy_refuse(c, 0, "%s", why.len > 0 ? why.data : "refused");
		rc = WARD_EDENIED;
	}
	buf_free(&why);
	return rc;
}

/* Moves bytes for one direction; returns 0 or WARD_EIO. */
static int
proxy_dir_io(struct proxy_dir *d, short rev_from, short rev_to, int gated)
{
	size_t room;
	ssize_t n;

	if ((rev_from & (POLLIN | POLLHUP | POLLERR)) && !d->eof &&
	    d->len < sizeof(d->buf)) {
		room = sizeof(d->buf) - d->len;
		if (d->limited && d->left < room)
			room = (size_t)d->left;
		n = recv(d->from, d->buf + d->len, room, MSG_DONTWAIT);
		if (n == 0)
			d->eof = 1;
		else if (n > 0) {
			d->len += (size_t)n;
			if (d->limited && (d->left -= (size_t)n) == 0)
				d->eof = d->noshut = 1;
		} else if (errno != EAGAIN && errno != EINTR)
			return WARD_EIO;
	}
	if ((rev_to & (POLLOUT | POLLHUP | POLLERR)) && !gated &&
	    d->off < d->len) {
		n = send(d->to, d->buf + d->off, d->len - d->off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			d->off += (size_t)n;
		else if (n == -1 && errno != EAGAIN && errno != EINTR)
			return WARD_EIO;
		if (d->off == d->len)
			d->off = d->len = 0;
	}
	if (d->eof && d->off == d->len && !d->shut && !d->noshut) {
		shutdown(d->to, SHUT_WR);
		d->shut = 1;
	}
	return 0;
}

/*
 * Relays between client and upstream until both directions ended, an
 * error, or proxy_stop. With gate set, nothing goes upstream before the
 * client's first bytes passed proxy_check_sni.
 */
static void
proxy_relay(struct proxy_conn *c, int gate)
{
	struct proxy_dir *up = &c->up, *down = &c->down;
	struct pollfd pfd[3];
	int rc;

	for (;;) {
		if (gate && up->len > 0) {
			if ((rc = proxy_check_sni(c)) < 0)
				return;
			gate = rc;
		}
		if (up->eof && up->len == 0 && down->eof && down->len == 0)
			return;
		pfd[0].fd = c->p->stop[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = c->cfd;
		pfd[2].fd = c->ufd;
		pfd[1].events = pfd[2].events = 0;
		if (!up->eof && up->len < sizeof(up->buf))
			pfd[1].events |= POLLIN;
		if (up->len > 0 && !gate)
			pfd[2].events |= POLLOUT;
		if (!down->eof && down->len < sizeof(down->buf))
			pfd[2].events |= POLLIN;
		if (down->len > 0)
			pfd[1].events |= POLLOUT;
		/* A hung-up peer we are not waiting on must not spin us. */
		if (pfd[1].events == 0)
			pfd[1].fd = -1;
		if (pfd[2].events == 0)
			pfd[2].fd = -1;
		if (poll(pfd, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pfd[0].revents != 0)
			return;
		if (proxy_dir_io(up, pfd[1].revents, pfd[2].revents,
		    gate) != 0 ||
		    proxy_dir_io(down, pfd[2].revents, pfd[1].revents, 0) != 0)
			return;
	}
}

/* Decides the target and fills addrs with where it may be reached.
 * Returns 0, or refuses and returns WARD_EDENIED. */
static int
proxy_vet(struct proxy_conn *c, struct sockaddr_storage *addrs, size_t *n)
{
	struct proxy *p = c->p;
	struct proxy_ip ip;
	const char *special;
	char text[INET6_ADDRSTRLEN];
	struct buf why;
	size_t i;
	int rc;

	*n = 0;
	if (c->t.literal) {
		if (!proxy_allowed_ip(p, &c->t.ip)) {
			proxy_refuse(c, 403, "raw IP address not named in "
			    "the manifest");
			return WARD_EDENIED;
		}
		proxy_ip_parse(c->t.host, &ip, &addrs[0]);
		*n = 1;
		return 0;
	}
	for (i = 0; i < sizeof(proxy_metadata_names) /
	    sizeof(proxy_metadata_names[0]); i++)
		if (strcmp(c->t.host, proxy_metadata_names[i]) == 0) {
			proxy_refuse(c, 403, "cloud metadata service");
			return WARD_EDENIED;
		}
	buf_init(&why, 512);
	rc = p->pol.allow_host(p->pol.arg, c->t.host, c->t.port, &why);
	if (rc != 1) {
		proxy_refuse(c, 403, "%s", why.len > 0 ? why.data :
		    "not in the command's domains");
		buf_free(&why);
		return WARD_EDENIED;
	}
	buf_free(&why);
	rc = p->pol.resolve(p->pol.arg, c->t.host, addrs, PROXY_MAXADDR, n);
	if (rc != 0 || *n == 0 || *n > PROXY_MAXADDR) {
		*n = 0;
		proxy_refuse(c, 502, rc == WARD_ETOOBIG ? "resolves to too "
		    "many addresses" : "does not resolve");
		return WARD_EDENIED;
	}
	/* Every address, not just the one used: a name that mixes public
	 * and private addresses is an attack on whoever resolves it. */
	for (i = 0; i < *n; i++) {
		special = proxy_addr_special((struct sockaddr *)&addrs[i]);
		if (special == NULL)
			continue;
		if (proxy_ip_from_sa((struct sockaddr *)&addrs[i], &ip) == 0 &&
		    proxy_allowed_ip(p, &ip))
			continue;
		if (proxy_ip_from_sa((struct sockaddr *)&addrs[i], &ip) != 0 ||
		    inet_ntop(ip.family, ip.a, text, sizeof(text)) == NULL)
			strcpy(text, "?");
		proxy_refuse(c, 403, "resolves to %s (%s)", text, special);
		return WARD_EDENIED;
	}
	return 0;
}

/* Connects to the first vetted address that answers. Returns 0 with
 * c->ufd set, WARD_EIO when stopping, or refuses with 502. */
static int
proxy_connect(struct proxy_conn *c, struct sockaddr_storage *addrs,
    size_t n)
{
	struct timespec deadline;
	socklen_t len, elen;
	size_t i;
	int fd, rc, e = ECONNREFUSED;

	proxy_deadline(&deadline, c->p->pol.timeout_ms);
	for (i = 0; i < n; i++) {
		if (addrs[i].ss_family == AF_INET) {
			((struct sockaddr_in *)&addrs[i])->sin_port =
			    htons((uint16_t)c->t.port);
			len = sizeof(struct sockaddr_in);
		} else {
			((struct sockaddr_in6 *)&addrs[i])->sin6_port =
			    htons((uint16_t)c->t.port);
			len = sizeof(struct sockaddr_in6);
		}
		fd = socket(addrs[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if (connect(fd, (struct sockaddr *)&addrs[i], len) == 0) {
			c->ufd = fd;
			return 0;
		}
		if (errno != EINPROGRESS) {
			e = errno;
			close(fd);
			continue;
		}
		rc = proxy_wait(c->p, fd, POLLOUT, &deadline);
		elen = sizeof(e);
		if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
		    &elen) == 0 && e == 0) {
			c->ufd = fd;
			return 0;
		}
		close(fd);
		if (rc == WARD_EIO)
			return rc;
		if (rc == WARD_ETIMEOUT) {
			e = ETIMEDOUT;
			break;
		}
	}
	proxy_refuse(c, 502, "cannot connect: %s", strerror(e));
	return WARD_EIO;
}

/* A request line, as pointers into c->head. */
struct proxy_req {
	const char	*method, *auth, *path, *version, *eol;
	size_t		 mlen, alen, plen;
	int		 connect;
};

/* Splits the request line "METHOD TARGET HTTP/1.x" and its target (an
 * authority for CONNECT, an absolute http:// URL otherwise) into r.
 * Returns 0, or refuses and returns WARD_EDENIED. */
static int
proxy_request_line(struct proxy_conn *c, size_t hl, struct proxy_req *r)
{
	const char *sp1, *sp2, *tgt, *p;
	size_t i;

	r->eol = memmem(c->head, hl, "\r\n", 2);
	sp1 = memchr(c->head, ' ', (size_t)(r->eol - c->head));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(r->eol - sp1 - 1)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp2 == sp1 + 1 ||
	    r->eol - sp2 - 1 != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.0", 8) != 0)) {
		proxy_refuse(c, 400, "malformed request line");
		return WARD_EDENIED;
	}
	r->method = c->head;
	r->mlen = (size_t)(sp1 - c->head);
	r->version = sp2 + 1;
	for (i = 0; i < r->mlen && r->method[i] >= 'A' && r->method[i] <= 'Z';
	    i++)
		;
	if (i == 0 || i != r->mlen || r->mlen > 16) {
		proxy_refuse(c, 400, "malformed request method");
		return WARD_EDENIED;
	}
	tgt = sp1 + 1;
	r->connect = r->mlen == 7 && memcmp(r->method, "CONNECT", 7) == 0;
	if (r->connect) {
		r->auth = tgt;
		r->alen = (size_t)(sp2 - tgt);
		r->path = sp2;
		r->plen = 0;
		return 0;
	}
	if (sp2 - tgt >= 8 && strncasecmp(tgt, "https://", 8) == 0) {
		proxy_refuse(c, 400, "https:// URL: use CONNECT");
		return WARD_EDENIED;
	}
	if (sp2 - tgt < 7 || strncasecmp(tgt, "http://", 7) != 0) {
		proxy_refuse(c, 400, "absolute http:// URL required");
		return WARD_EDENIED;
	}
	r->auth = tgt + 7;
	for (p = r->auth; p < sp2 && *p != '/' && *p != '?' && *p != '#'; p++)
		;
	r->alen = (size_t)(p - r->auth);
	r->path = p;
	for (; p < sp2 && *p > 0x20 && *p < 0x7f && *p != '#'; p++)
		;
	if (p != sp2) {
		proxy_refuse(c, 400, "malformed request URL");
		return WARD_EDENIED;
	}
	r->plen = (size_t)(p - r->path);
	return 0;
}

/*
 * Queues the plain HTTP request for upstream: origin form, our Host, the
 * client's end-to-end headers, Connection: close. One request only: a
 * second one on this connection could name another host. Returns 0 with
 * *clen the body length, or refuses and returns WARD_EDENIED.
 */
static int
proxy_origin_head(struct proxy_conn *c, const struct proxy_req *r,
    size_t hl, unsigned long long *clen)
{
	struct proxy_dir *up = &c->up;

	/* r->version - 1 is the space before "HTTP/1.x" and its CRLF. */
	if (proxy_put(up, r->method, r->mlen + 1) != 0 ||
	    (*r->path != '/' && proxy_put(up, "/", 1) != 0) ||
	    proxy_put(up, r->path, r->plen) != 0 ||
	    proxy_put(up, r->version - 1, 11) != 0 ||
	    proxy_put(up, "Host: ", 6) != 0 ||
	    proxy_put(up, c->what, strlen(c->what)) != 0 ||
	    proxy_put(up, "\r\n", 2) != 0)
		goto toobig;
	if (proxy_headers(c, r->eol + 2, c->head + hl - 2, clen) != 0)
		return WARD_EDENIED;
	if (proxy_put(up, "Connection: close\r\n\r\n", 21) != 0)
		goto toobig;
	return 0;
toobig:
	proxy_refuse(c, 431, "request head too large");
	return WARD_EDENIED;
}

/* Serves one client connection from request head to the end. */
static void
proxy_serve(struct proxy_conn *c)
{
	static const char estab[] = "HTTP/1.1 200 Connection established"
	    "\r\n\r\n";
	struct sockaddr_storage addrs[PROXY_MAXADDR];
	struct proxy_req r;
	char shown[80];
	struct buf why;
	size_t hl, naddr, rest;
	unsigned long long clen = 0;
	int rc;

	buf_init(&why, 256);
	strcpy(c->what, "(request)");
	if ((rc = proxy_read_head(c, &hl)) != 0) {
		if (rc == WARD_ETIMEOUT)
			proxy_refuse(c, 408, "request head not received "
			    "in time");
		else if (rc == WARD_ETOOBIG)
			proxy_refuse(c, 431, "request head over %d bytes",
			    PROXY_HEAD_MAX);
		goto out;
	}
	if (proxy_request_line(c, hl, &r) != 0)
		goto out;
	if (proxy_authority(r.auth, r.alen, r.connect ? 0 : 80, &c->t, shown,
	    sizeof(shown), &why) != 0) {
		snprintf(c->what, sizeof(c->what), "%s", shown);
		proxy_refuse(c, 403, "%s", why.data ? why.data :
		    "invalid host");
		goto out;
	}
	proxy_set_what(c);
	if ((!r.connect && proxy_origin_head(c, &r, hl, &clen) != 0) ||
	    proxy_vet(c, addrs, &naddr) != 0 ||
	    proxy_connect(c, addrs, naddr) != 0)
		goto out;

	c->up.from = c->down.to = c->cfd;
	c->up.to = c->down.from = c->ufd;
	rest = c->headlen - hl;
	if (r.connect)
		proxy_put(&c->down, estab, sizeof(estab) - 1);
	else {
		if (rest > clen)
			rest = (size_t)clen;
		c->up.limited = 1;
		c->up.left = clen - rest;
		if (c->up.left == 0)
			c->up.eof = c->up.noshut = 1;
	}
	/* A head of at most PROXY_HEAD_MAX, rewritten, and what followed
	 * it fit in PROXY_RELAY_BUF. */
	if (proxy_put(&c->up, c->head + hl, rest) != 0)
		goto out;
	proxy_relay(c, r.connect);
out:
	buf_free(&why);
}

static void *
proxy_conn_main(void *arg)
{
	struct proxy_conn *c = arg;
	struct proxy *p = c->p;
	int slot = c->slot;

	proxy_serve(c);
	close(c->cfd);
	if (c->ufd != -1)
		close(c->ufd);
	free(c);
	pthread_mutex_lock(&p->mu);
	p->slot[slot].state = SLOT_DONE;
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Hands one end of a new socketpair to the sandbox over ctrl and returns
 * the other in *fd. Returns 0, WARD_EIO (ctrl gone or stopping),
 * WARD_ESYS. */
static int
proxy_hand_out(struct proxy *p, int *fd)
{
	union {
		struct cmsghdr	 h;
		char		 b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg;
	struct cmsghdr *cm;
	struct iovec iov;
	char one = 'c';
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return WARD_ESYS;
	memset(&msg, 0, sizeof(msg));
	memset(&u, 0, sizeof(u));
	iov.iov_base = &one;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.b;
	msg.msg_controllen = sizeof(u.b);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sv[1], sizeof(int));
	while (sendmsg(p->ctrl, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN &&
		    (rc = proxy_wait(p, p->ctrl, POLLOUT, NULL)) == 0)
			continue;
		close(sv[0]);
		close(sv[1]);
		return WARD_EIO;
	}
	close(sv[1]);
	*fd = sv[0];
	return 0;
}

/* Joins finished connection threads and returns a free slot, or -1. */
static int
proxy_slot(struct proxy *p)
{
	int i, free_ = -1;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < PROXY_MAXCONN; i++) {
		if (p->slot[i].state == SLOT_DONE) {
			pthread_join(p->slot[i].tid, NULL);
			p->slot[i].state = SLOT_FREE;
		}
		if (p->slot[i].state == SLOT_FREE && free_ == -1)
			free_ = i;
	}
	if (free_ != -1)
		p->slot[free_].state = SLOT_RUNNING;
	pthread_mutex_unlock(&p->mu);
	return free_;
}

static void *
proxy_accept_main(void *arg)
{
	struct proxy *p = arg;
	struct proxy_conn *c;
	char bytes[16];
	ssize_t n, i;
	int fd, slot;

	for (;;) {
		if (proxy_wait(p, p->ctrl, POLLIN, NULL) != 0)
			break;
		n = recv(p->ctrl, bytes, sizeof(bytes), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;		/* the sandbox side is gone */
		for (i = 0; i < n; i++) {
			if (proxy_hand_out(p, &fd) != 0)
				goto out;
			c = NULL;
			if ((slot = proxy_slot(p)) != -1 &&
			    (c = calloc(1, sizeof(*c))) != NULL) {
				c->p = p;
				c->slot = slot;
				c->cfd = fd;
				c->ufd = -1;
				if (pthread_create(&p->slot[slot].tid, NULL,
				    proxy_conn_main, c) == 0)
					continue;
			}
			free(c);
			if (slot != -1) {
				pthread_mutex_lock(&p->mu);
				p->slot[slot].state = SLOT_FREE;
				pthread_mutex_unlock(&p->mu);
			}
			proxy_deny(p, fd, "(connection)", 503, "too many "
			    "connections at once");
			close(fd);
		}
	}
out:
	return NULL;
}

static int
proxy_default_resolve(void *arg, const char *host,
    struct sockaddr_storage *addrs, size_t max, size_t *n)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc = 0;

	(void)arg;
	*n = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return WARD_ENOENT;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(addrs[0]))
			continue;
		if (*n == max) {
			rc = WARD_ETOOBIG;
			break;
		}
		memset(&addrs[*n], 0, sizeof(addrs[0]));
		memcpy(&addrs[(*n)++], ai->ai_addr, ai->ai_addrlen);
	}
	freeaddrinfo(res);
	return rc;
}

int
proxy_start(const struct proxy_policy *pol, int ctrl_fd, struct proxy **out,
    struct buf *err)
{
	struct proxy *p;
	size_t i;
	int rc;

	*out = NULL;
	if (pol->allow_host == NULL || ctrl_fd < 0) {
		return proxy_fail(err, "proxy: no allow_host or control "
		    "socket");
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return WARD_ENOMEM;
	p->pol = *pol;
	p->ctrl = ctrl_fd;
	p->stop[0] = p->stop[1] = -1;
	if (p->pol.resolve == NULL)
		p->pol.resolve = proxy_default_resolve;
	if (p->pol.timeout_ms <= 0)
		p->pol.timeout_ms = PROXY_TIMEOUT_MS;
	if (pol->nallow_addrs > 0 && (p->allow = calloc(pol->nallow_addrs,
	    sizeof(*p->allow))) == NULL) {
		rc = WARD_ENOMEM;
		goto fail;
	}
	for (i = 0; i < pol->nallow_addrs; i++) {
		if (proxy_ip_parse(pol->allow_addrs[i], &p->allow[i],
		    NULL) != 0) {
			if (err != NULL)
				buf_printf(err, "proxy: '%s' is not an IP "
				    "address", pol->allow_addrs[i]);
			rc = WARD_EINVAL;
			goto fail;
		}
	}
	p->nallow = pol->nallow_addrs;
	if (pipe2(p->stop, O_CLOEXEC) == -1) {
		proxy_fail(err, "proxy: cannot make a pipe");
		rc = WARD_ESYS;
		goto fail;
	}
	pthread_mutex_init(&p->mu, NULL);
	if ((rc = pthread_create(&p->acceptor, NULL, proxy_accept_main,
	    p)) != 0) {
		proxy_fail(err, "proxy: cannot start a thread");
		pthread_mutex_destroy(&p->mu);
		rc = WARD_ESYS;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	if (p->stop[0] != -1) {
		close(p->stop[0]);
		close(p->stop[1]);
	}
	free(p->allow);
	free(p);
	return rc;
}

void
proxy_stop(struct proxy *p)
{
	int i, busy;

	if (p == NULL)
		return;
	/* Never read: the pipe stays readable for every poller. */
	while (write(p->stop[1], "x", 1) == -1 && errno == EINTR)
		;
	pthread_join(p->acceptor, NULL);
	/* No slot is taken from here on; finished or not, join them all. */
	for (i = 0; i < PROXY_MAXCONN; i++) {
		pthread_mutex_lock(&p->mu);
		busy = p->slot[i].state != SLOT_FREE;
		pthread_mutex_unlock(&p->mu);
		if (busy)
			pthread_join(p->slot[i].tid, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	close(p->stop[0]);
	close(p->stop[1]);
	close(p->ctrl);
	free(p->allow);
	free(p);
}

int
proxy_client(int ctrl_fd)
{
	char cb[CMSG_SPACE(sizeof(int))], byte = 'c';
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	while ((n = write(ctrl_fd, &byte, 1)) == -1 && errno == EINTR)
		;
	if (n != 1)
		return -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cb;
	mh.msg_controllen = sizeof(cb);
	while ((n = recvmsg(ctrl_fd, &mh, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0 || (cm = CMSG_FIRSTHDR(&mh)) == NULL ||
	    cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = EPROTO;
		return -1;
	}
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * Unit tests for the CLI <-> daemon framing (doc/PROTOCOL.md) over a real
 * AF_UNIX socketpair: round trips, the 1 MiB cap on both sides, every kind
 * of malformed frame (written as raw bytes), and EOF in each place.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/proto.h"
#include "tap.h"
#include "util.h"

static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair");
}

static void
close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

static void
raw(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) <= 0)
			die("write");
		c += w;
		n -= (size_t)w;
	}
}

static void
raw_hdr(int fd, uint32_t n)
{
	unsigned char h[4] = { (unsigned char)(n >> 24),
	    (unsigned char)(n >> 16), (unsigned char)(n >> 8),
	    (unsigned char)n };

	raw(fd, h, 4);
}

/* Bytes waiting to be read on fd, without blocking. */
static ssize_t
pending(int fd)
{
	char c[16];
	ssize_t r = recv(fd, c, sizeof(c), MSG_DONTWAIT | MSG_PEEK);

	return r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : r;
}

/* Writes one raw frame (header n, then body) and closes the writer; then
 * receives and returns the result, checking the common failure contract. */
static int
recv_raw(uint32_t n, const char *body, size_t len, const char *what)
{
	struct buf err;
	json_t *m = (json_t *)1;
	int sv[2], rc;

	pair(sv);
	raw_hdr(sv[0], n);
	if (len > 0)
		raw(sv[0], body, len);
	shutdown(sv[0], SHUT_WR);
	buf_init(&err, 0);
	rc = proto_recv(sv[1], &m, &err);
	if (rc != 0) {
		ok(m == NULL, "%s: no message", what);
		ok(err.len > 0 || rc == WARD_ENOMEM, "%s: a reason (%s)", what,
		    err.data ? err.data : "");
	} else
		json_decref(m);
	buf_free(&err);
	close_pair(sv);
	return rc;
}

static void
bad_frame(const char *body, size_t len, int want, const char *what)
{
	int rc = recv_raw((uint32_t)len, body, len, what);

	is_int(rc, want, "%s: %s", what, ward_strerror(want));
}

#define BAD(s, what)	bad_frame(s, sizeof(s) - 1, WARD_EPROTO, what)
#define GOOD(s, what)	is_int(recv_raw(sizeof(s) - 1, s, sizeof(s) - 1, \
			    what), 0, what)

static void
test_round_trip(void)
{
	json_t *a, *b, *got[3], *m;
	struct buf err;
	int sv[2], rc, i;

	pair(sv);
	buf_init(&err, 0);
	a = json_pack("{s:s, s:i, s:s, s:[i, f, b, n, {s:s}]}",
	    "type", "hello", "version", PROTO_VERSION,
	    "text", "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80 \"q\"\n\\",
	    "list", 1, 2.5, 1, "k", "v");
	if (a == NULL)
		die("json_pack");
	rc = proto_send(sv[0], a);
	is_int(rc, 0, "send");
	rc = proto_recv(sv[1], &b, &err);
	is_int(rc, 0, "receive");
	ok(b != NULL && json_equal(a, b), "the message survives the round trip");
	is_str(proto_type(b), "hello", "proto_type");
	json_decref(b);

	/* Frames queued back to back come out whole and in order. */
	for (i = 0; i < 3; i++) {
		m = json_pack("{s:s, s:i}", "type", "ping", "n", i);
		is_int(proto_send(sv[0], m), 0, "send queued frame %d", i);
		json_decref(m);
	}
	for (i = 0; i < 3; i++) {
		rc = proto_recv(sv[1], &got[i], &err);
		ok(rc == 0 && json_integer_value(json_object_get(got[i],
		    "n")) == i, "queued frame %d in order", i);
		json_decref(got[i]);
	}
	is_int(err.len, 0, "no error messages on success");

	/* A clean close between frames is ENOENT; and after it too. */
	close(sv[0]);
	m = (json_t *)1;
	rc = proto_recv(sv[1], &m, &err);
	is_int(rc, WARD_ENOENT, "EOF before a frame: ENOENT");
	ok(m == NULL, "EOF before a frame: no message");
	is_int(proto_recv(sv[1], &m, &err), WARD_ENOENT, "EOF again: ENOENT");
	close(sv[1]);

	/* Sending to a closed peer is EIO, not SIGPIPE. */
	pair(sv);
	close(sv[1]);
	is_int(proto_send(sv[0], a), WARD_EIO, "send to a closed peer: EIO");
	close(sv[0]);

	/* A pipe (not a socket) works too. */
	if (pipe(sv) == -1)
		die("pipe");
	is_int(proto_send(sv[1], a), 0, "send over a pipe");
	rc = proto_recv(sv[0], &b, &err);
	ok(rc == 0 && json_equal(a, b), "receive over a pipe");
	json_decref(b);
	close_pair(sv);

	is_int(proto_recv(-1, &m, &err), WARD_EIO, "receive on a bad fd: EIO");
	ok(m == NULL, "receive on a bad fd: no message");
	is_str(proto_type(a), "hello", "proto_type of a sent message");
	json_decref(a);
	a = json_object();
	is_str(proto_type(a), "", "proto_type without a type is \"\"");
	json_decref(a);
	buf_free(&err);
}

/* A message whose compact JSON is exactly n bytes. */
static json_t *
sized(size_t n)
{
	json_t *m = json_pack("{s:s, s:s}", "type", "big", "pad", "");
	char *s = json_dumps(m, JSON_COMPACT), *pad;
	size_t base = strlen(s);

	free(s);
	if ((pad = malloc(n - base + 1)) == NULL)
		die("malloc");
	memset(pad, 'p', n - base);
	pad[n - base] = '\0';
	json_object_set_new(m, "pad", json_string(pad));
	free(pad);
	s = json_dumps(m, JSON_COMPACT);
	if (strlen(s) != n)
		die("sized");
	free(s);
	return m;
}

static void
test_caps(void)
{
	json_t *m, *got = NULL;
	struct buf err;
	pid_t pid;
	int sv[2], rc, st;

	buf_init(&err, 0);

	/* Over the cap on send: refused, and not a byte written. */
	pair(sv);
	m = sized(PROTO_MAX_FRAME + 1);
	is_int(proto_send(sv[0], m), WARD_ETOOBIG, "send of cap + 1 bytes");
	is_int(pending(sv[1]), 0, "nothing was written");
	json_decref(m);
	m = sized(4 * PROTO_MAX_FRAME);
	is_int(proto_send(sv[0], m), WARD_ETOOBIG, "send of 4 MiB");
	is_int(pending(sv[1]), 0, "nothing was written");
	json_decref(m);

	/* Exactly at the cap: a child sends while this side receives, since
	 * a 1 MiB frame does not fit the socket buffer. */
	m = sized(PROTO_MAX_FRAME);
	fflush(stdout);
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		close(sv[1]);
		_exit(proto_send(sv[0], m) == 0 ? 0 : 1);
	}
	rc = proto_recv(sv[1], &got, &err);
	is_int(rc, 0, "a frame of exactly the cap is received");
	ok(got != NULL && json_equal(m, got), "and is intact");
	json_decref(got);
	ok(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "a frame of exactly the cap is sent");
	json_decref(m);
	close_pair(sv);

	/* Over the cap on receive: the header alone is enough to refuse. */
	rc = recv_raw(PROTO_MAX_FRAME + 1, NULL, 0, "receive of cap + 1");
	is_int(rc, WARD_ETOOBIG, "receive of a cap + 1 header: ETOOBIG");
	rc = recv_raw(UINT32_MAX, NULL, 0, "receive of 4 GiB");
	is_int(rc, WARD_ETOOBIG, "receive of a 0xffffffff header: ETOOBIG");
	rc = recv_raw(0x80000000u, "{}", 2, "receive of 2 GiB");
	is_int(rc, WARD_ETOOBIG, "receive of a 0x80000000 header: ETOOBIG");
	buf_free(&err);
}

static void
test_malformed(void)
{
	bad_frame("", 0, WARD_EPROTO, "zero length");
	BAD("{\"type\":\"a\xff\"}", "invalid UTF-8 (FF)");
	BAD("{\"type\":\"\xc0\xaf\"}", "invalid UTF-8 (overlong)");
	BAD("{\"type\":\"\xed\xa0\x80\"}", "invalid UTF-8 (surrogate)");
	BAD("{\"type\":\"a\",\"t\":\"\xe2\x82\"}", "invalid UTF-8 (truncated)");
	BAD("hello", "not JSON");
	BAD("{\"type\":", "truncated JSON");
	BAD("{\"type\":\"a\"} x", "trailing garbage");
	BAD("{\"type\":\"a\"}{\"type\":\"b\"}", "two objects in one frame");
	BAD("{\"type\":\"a\"}\0", "a NUL after the object");
	BAD("{\"type\":\"a\\u0000b\"}", "an escaped NUL");
	BAD("{\"type\":\"\\ud800\"}", "an escaped lone surrogate");
	BAD("{'type':'a'}", "single quotes");
	BAD("[\"type\",\"a\"]", "an array");
	BAD("\"type\"", "a string");
	BAD("42", "a number");
	BAD("null", "null");
	BAD("{}", "an empty object");
	BAD("{\"kind\":\"a\"}", "no type");
	BAD("{\"Type\":\"a\"}", "type is case-sensitive");
	BAD("{\"type\":1}", "a numeric type");
	BAD("{\"type\":null}", "a null type");
	BAD("{\"type\":true}", "a boolean type");
	BAD("{\"type\":[\"a\"]}", "an array type");
	BAD("{\"type\":{\"a\":1}}", "an object type");
	BAD("{\"type\":\"a\",\"type\":\"b\"}", "a duplicate type");
	BAD("{\"type\":\"a\",\"x\":1,\"x\":2}", "a duplicate key");
	BAD("{\"type\":\"a\",\"o\":{\"k\":1,\"k\":2}}", "a nested duplicate key");
	GOOD("{\"type\":\"ok\"}", "a well-formed raw frame is accepted");
	GOOD(" {\"type\":\"\"} \n",
	    "surrounding whitespace and an empty type are accepted");
	GOOD("{\"type\":\"a\",\"s\":\"\xf4\x8f\xbf\xbf\\u00e9\"}",
	    "U+10FFFF and escapes are accepted");
}

/* After a malformed frame whose body was read, the stream is still in step:
 * the next frame is read whole. */
static void
test_resync(void)
{
	struct buf err;
	json_t *m = NULL;
	int sv[2], rc;

	pair(sv);
	buf_init(&err, 0);
	raw_hdr(sv[0], 3);
	raw(sv[0], "[1]", 3);
	raw_hdr(sv[0], 15);
	raw(sv[0], "{\"type\":\"next\"}", 15);
	close(sv[0]);
	rc = proto_recv(sv[1], &m, &err);
	is_int(rc, WARD_EPROTO, "a malformed frame, then");
	rc = proto_recv(sv[1], &m, &err);
	ok(rc == 0 && strcmp(proto_type(m), "next") == 0,
	    "the next frame is read whole");
	json_decref(m);
	is_int(proto_recv(sv[1], &m, &err), WARD_ENOENT, "then a clean EOF");
	close(sv[1]);
	buf_free(&err);
}

static void
test_eof(void)
{
	struct buf err;
	json_t *m;
	int sv[2], rc, k;

	buf_init(&err, 0);
	is_int(recv_raw(0, NULL, 0, "header only (0)"), WARD_EPROTO,
	    "a zero header then EOF is an empty frame");
	for (k = 1; k <= 3; k++) {
		pair(sv);
		raw(sv[0], "\0\0\0\x05", (size_t)k);
		shutdown(sv[0], SHUT_WR);
		m = (json_t *)1;
		buf_reset(&err);
		rc = proto_recv(sv[1], &m, &err);
		is_int(rc, WARD_EIO, "EOF after %d header bytes: EIO", k);
		ok(m == NULL && err.len > 0, "EOF after %d header bytes: "
		    "no message, a reason", k);
		close_pair(sv);
	}
	is_int(recv_raw(12, NULL, 0, "no body"), WARD_EIO,
	    "EOF right after the header: EIO");
	is_int(recv_raw(13, "{\"type\"", 7, "half a body"), WARD_EIO,
	    "EOF mid-body: EIO");
	is_int(recv_raw(13, "{\"type\":\"ok\"", 12, "one byte short"), WARD_EIO,
	    "EOF one byte before the end of the body: EIO");
	buf_free(&err);
}

int
main(void)
{
	/* SIGPIPE stays fatal: proto_send must never raise it. */
	signal(SIGPIPE, SIG_DFL);
	test_round_trip();
	test_caps();
	test_malformed();
	test_resync();
	test_eof();
	return done_testing();
}

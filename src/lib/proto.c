/* Length-prefixed JSON frames; see proto.h and doc/PROTOCOL.md. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "proto.h"
#include "utf8.h"

static int
proto_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = send(fd, c, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == ENOTSOCK)
			w = write(fd, c, n);
		if (w <= 0)
			return WARD_EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Returns bytes read (== n), 0 on EOF at the start, -1 on error or EOF in
 * the middle. */
static ssize_t
proto_read_all(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, c + got, n - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0 && got == 0)
			return 0;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
proto_frame(const json_t *msg, struct buf *out)
{
	unsigned char hdr[4];
	size_t at = out->len, n;
	char *s;
	int rc;

	if ((s = json_dumps(msg, JSON_COMPACT)) == NULL)
		return WARD_ENOMEM;
	n = strlen(s);
	if (n > PROTO_MAX_FRAME) {
		free(s);
		return WARD_ETOOBIG;
	}
	hdr[0] = (unsigned char)(n >> 24);
	hdr[1] = (unsigned char)(n >> 16);
	hdr[2] = (unsigned char)(n >> 8);
	hdr[3] = (unsigned char)n;
	if ((rc = buf_add(out, hdr, 4)) != 0 ||
	    (rc = buf_add(out, s, n)) != 0) {
		out->len = at;
		if (out->data != NULL)
			out->data[at] = '\0';
	}
	free(s);
	return rc;
}

int
proto_send_frames(int fd, struct buf *b)
{
	int rc = b->len > 0 ? proto_write_all(fd, b->data, b->len) : 0;

	buf_reset(b);
	return rc;
}

/* One write a frame: the peer wakes once, not for the header and again
 * for the body. */
int
proto_send(int fd, const json_t *msg)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	if ((rc = proto_frame(msg, &b)) == 0)
		rc = proto_send_frames(fd, &b);
	buf_free(&b);
	return rc;
}

int
proto_recv(int fd, json_t **msg, struct buf *err)
{
	unsigned char hdr[4];
	json_error_t jerr;
	json_t *j = NULL;
	char *body = NULL;
	uint32_t n;
	ssize_t r;
	int rc = 0;

	*msg = NULL;
	if ((r = proto_read_all(fd, hdr, 4)) == 0)
		return WARD_ENOENT;
	if (r < 0) {
		buf_puts(err, "connection closed inside a frame header");
		return WARD_EIO;
	}
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (n > PROTO_MAX_FRAME) {
		buf_printf(err, "frame of %u bytes is over the %u-byte limit",
		    n, PROTO_MAX_FRAME);
		return WARD_ETOOBIG;
	}
	if (n == 0) {
		buf_puts(err, "empty frame");
		return WARD_EPROTO;
	}
	if ((body = malloc(n)) == NULL)
		return WARD_ENOMEM;
	if (proto_read_all(fd, body, n) != (ssize_t)n) {
		buf_puts(err, "connection closed inside a frame");
		rc = WARD_EIO;
		goto out;
	}
	if (utf8_valid_prefix(body, n) != n) {
		buf_puts(err, "frame is not valid UTF-8");
		rc = WARD_EPROTO;
		goto out;
	}
	j = json_loadb(body, n, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		buf_printf(err, "frame is not JSON: %s (column %d)", jerr.text,
		    jerr.column);
		rc = WARD_EPROTO;
		goto out;
	}
	if (!json_is_object(j) || !json_is_string(json_object_get(j,
	    "type"))) {
		buf_puts(err, "frame is not an object with a string \"type\"");
		rc = WARD_EPROTO;
		goto out;
	}
	*msg = j;
	j = NULL;
out:
	json_decref(j);
	free(body);
	return rc;
}

int
proto_build_id(char *out, size_t n)
{
	struct stat st;

	if (stat("/proc/self/exe", &st) == -1)
		return WARD_ESYS;
	snprintf(out, n, "%llx:%llx:%lld:%lld.%09ld",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
	return 0;
}

const char *
proto_type(const json_t *msg)
{
	const char *t = json_string_value(json_object_get(msg, "type"));

	return t != NULL ? t : "";
}

/*
 * Unit tests for the small library modules: the capped buffer, UTF-8
 * validation and repair (maximal subparts, as Unicode §3.9 recommends), the
 * XDG directories (created 0700, unsafe ones refused) and the error names.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/artcache.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/utf8.h"
#include "lib/xdg.h"
#include "tap.h"
#include "util.h"

#define R	"\xef\xbf\xbd"		/* U+FFFD */

static char tmp[PATH_MAX];


/* --- buf ---------------------------------------------------------------- */

static void
test_buf_basic(void)
{
	struct buf b;
	char *p;
	size_t i;
	int rc;

	buf_init(&b, 0);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "init: empty, no storage");
	ok(b.max >= SIZE_MAX / 2, "init: max 0 means no practical cap");
	rc = buf_add(&b, NULL, 0);
	is_int(rc, 0, "add of 0 bytes to an empty buffer");
	ok(b.data != NULL && b.data[0] == '\0' && b.len == 0,
	    "add of 0 bytes leaves an empty NUL-terminated string");
	rc = buf_puts(&b, "hello");
	is_int(rc, 0, "puts");
	rc = buf_add(&b, ", world", 7);
	is_int(rc, 0, "add");
	is_str(b.data, "hello, world", "contents after puts + add");
	is_int(b.len, 12, "len after puts + add");
	rc = buf_add(&b, "\0x", 2);
	is_int(rc, 0, "add with an embedded NUL");
	ok(b.len == 14 && memcmp(b.data + 12, "\0x", 3) == 0,
	    "embedded NUL kept, NUL terminator after it");
	p = b.data;
	buf_reset(&b);
	ok(b.data == p && b.len == 0 && b.data[0] == '\0',
	    "reset keeps storage and empties");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "free clears");
	buf_free(&b);
	buf_free(NULL);
	ok(1, "free twice and free(NULL) are no-ops");

	/* Many small appends: growth keeps the contents and terminator. */
	buf_init(&b, 0);
	for (i = 0, rc = 0; i < 100000 && rc == 0; i++)
		rc = buf_add(&b, &"0123456789"[i % 10], 1);
	is_int(rc, 0, "100000 one-byte appends");
	for (i = 0; i < b.len; i++)
		if (b.data[i] != '0' + (char)(i % 10))
			break;
	ok(b.len == 100000 && i == b.len && b.data[b.len] == '\0' &&
	    b.cap >= b.len, "contents intact after growth");
	buf_free(&b);
}

static void
test_buf_cap(void)
{
	struct buf b;
	char *p;
	size_t cap;
	int rc;

	buf_init(&b, 8);
	is_int(b.max, 8, "init with a cap");
	is_int(buf_puts(&b, "abcd"), 0, "under the cap");
	is_int(buf_add(&b, "efgh", 4), 0, "up to exactly the cap");
	is_str(b.data, "abcdefgh", "contents at the cap");
	ok(b.cap <= 8, "storage never grows past the cap (%zu)", b.cap);
	p = b.data;
	cap = b.cap;
	rc = buf_add(&b, "i", 1);
	is_int(rc, WARD_ETOOBIG, "one byte past the cap");
	ok(b.data == p && b.len == 8 && b.cap == cap &&
	    strcmp(b.data, "abcdefgh") == 0, "ETOOBIG leaves the buffer unchanged");
	is_int(buf_add(&b, "", 0), 0, "0 bytes at the cap is fine");
	is_int(buf_puts(&b, "xyz"), WARD_ETOOBIG, "puts past the cap");
	is_int(buf_printf(&b, "%d", 7), WARD_ETOOBIG, "printf past the cap");
	is_int(buf_add(&b, "x", SIZE_MAX), WARD_ETOOBIG,
	    "SIZE_MAX bytes: ETOOBIG, no overflow");
	is_str(b.data, "abcdefgh", "still unchanged");
	is_int(b.len, 8, "len still 8");
	buf_reset(&b);
	is_int(buf_add(&b, "123456789", 9), WARD_ETOOBIG,
	    "a single add over the cap into an empty buffer");
	ok(b.len == 0 && b.data[0] == '\0', "the empty buffer stays empty");
	buf_free(&b);

	buf_init(&b, 1);
	is_int(buf_add(&b, "a", 1), 0, "cap of 1: one byte fits");
	is_int(buf_add(&b, "b", 1), WARD_ETOOBIG, "cap of 1: the second does not");
	is_str(b.data, "a", "cap of 1: contents");
	buf_free(&b);

	/* A capped buffer larger than the first allocation grows up to it. */
	buf_init(&b, 1000);
	for (rc = 0; rc == 0;)
		rc = buf_add(&b, "0123456789abc", 13);
	is_int(rc, WARD_ETOOBIG, "repeated adds stop at the cap");
	is_int(b.len, 988, "whole appends only (76 * 13)");
	is_int(buf_add(&b, "0123456789ab", 12), 0, "the last 12 bytes fit");
	is_int(b.len, 1000, "full to the byte");
	ok(b.cap == 1000, "storage clipped to the cap");
	buf_free(&b);
}

static void
test_buf_printf(void)
{
	struct buf b;
	char big[5000];
	int rc;

	buf_init(&b, 0);
	rc = buf_printf(&b, "%s=%d;", "x", 42);
	is_int(rc, 0, "printf short");
	is_str(b.data, "x=42;", "printf short contents");
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rc = buf_printf(&b, "[%s]", big);
	is_int(rc, 0, "printf of 5001 bytes");
	ok(b.len == 5 + 5001 && b.data[5] == '[' && b.data[6] == 'q' &&
	    b.data[5 + 5000] == ']' && b.data[b.len] == '\0' &&
	    strspn(b.data + 6, "q") == 4999, "long printf appended intact");
	buf_reset(&b);
	/* Either side of the 256-byte stack buffer. */
	rc = buf_printf(&b, "%.*s", 255, big);
	ok(rc == 0 && b.len == 255 && strspn(b.data, "q") == 255,
	    "printf of 255 bytes");
	buf_reset(&b);
	rc = buf_printf(&b, "%.*s", 256, big);
	ok(rc == 0 && b.len == 256 && strspn(b.data, "q") == 256,
	    "printf of 256 bytes");
	buf_reset(&b);
	rc = buf_printf(&b, "%0300d", 7);
	ok(rc == 0 && b.len == 300 && b.data[299] == '7' &&
	    strspn(b.data, "0") == 299, "printf of 300 bytes (width)");
	buf_reset(&b);
	rc = buf_printf(&b, "%s", "");
	ok(rc == 0 && b.len == 0 && b.data[0] == '\0', "printf of nothing");
	buf_free(&b);

	buf_init(&b, 300);
	buf_puts(&b, "ab");
	rc = buf_printf(&b, "%s", big);
	is_int(rc, WARD_ETOOBIG, "long printf past the cap");
	ok(b.len == 2 && strcmp(b.data, "ab") == 0,
	    "long printf past the cap leaves the buffer unchanged");
	rc = buf_printf(&b, "%.*s", 298, big);
	is_int(rc, 0, "long printf to exactly the cap");
	is_int(b.len, 300, "len at the cap");
	buf_free(&b);
}

static void
test_buf_take(void)
{
	struct buf b;
	char *p, *q;

	buf_init(&b, 0);
	p = buf_take(&b);
	ok(p != NULL && p[0] == '\0', "take of a never-used buffer is \"\"");
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "and leaves it empty");
	free(p);

	buf_puts(&b, "abc");
	q = b.data;
	p = buf_take(&b);
	ok(p == q && strcmp(p, "abc") == 0, "take returns the storage");
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "the buffer is detached");
	is_int(buf_puts(&b, "de"), 0, "the buffer is usable after take");
	is_str(b.data, "de", "new contents after take");
	ok(b.data != p, "new storage after take");
	free(p);
	buf_reset(&b);
	p = buf_take(&b);
	ok(p != NULL && p[0] == '\0', "take after reset is \"\"");
	free(p);
	buf_free(&b);

	buf_init(&b, 4);
	buf_puts(&b, "wxyz");
	p = buf_take(&b);
	is_str(p, "wxyz", "take of a full capped buffer");
	free(p);
	is_int(buf_puts(&b, "12345"), WARD_ETOOBIG, "the cap survives take");
	buf_free(&b);
}

/* --- utf8 --------------------------------------------------------------- */

struct u8case {
	const char	*in;
	size_t		 n;
	size_t		 prefix;	/* utf8_valid_prefix */
	const char	*out;		/* utf8_sanitize */
	const char	*what;
};

#define C(in, prefix, out, what) { in, sizeof(in) - 1, prefix, out, what }

static const struct u8case u8cases[] = {
	C("", 0, "", "empty"),
	C("hello", 5, "hello", "ASCII"),
	C("a\0b", 3, "a\0b", "NUL is valid"),
	C("\xc2\x80", 2, "\xc2\x80", "U+0080"),
	C("\xdf\xbf", 2, "\xdf\xbf", "U+07FF"),
	C("\xe0\xa0\x80", 3, "\xe0\xa0\x80", "U+0800"),
	C("\xed\x9f\xbf", 3, "\xed\x9f\xbf", "U+D7FF"),
	C("\xee\x80\x80", 3, "\xee\x80\x80", "U+E000"),
	C("\xef\xbf\xbf", 3, "\xef\xbf\xbf", "U+FFFF"),
	C("\xf0\x90\x80\x80", 4, "\xf0\x90\x80\x80", "U+10000"),
	C("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf", "U+10FFFF"),
	C("caf\xc3\xa9 \xe2\x98\x83", 9, "caf\xc3\xa9 \xe2\x98\x83",
	    "mixed valid"),
	/* Overlongs: each byte is its own maximal subpart. */
	C("\xc0\x80", 0, R R, "overlong NUL C0 80"),
	C("\xc1\xbf", 0, R R, "overlong C1 BF"),
	C("\xe0\x80\x80", 0, R R R, "overlong E0 80 80"),
	C("\xe0\x9f\xbf", 0, R R R, "overlong E0 9F BF"),
	C("\xf0\x80\x80\x80", 0, R R R R, "overlong F0 80 80 80"),
	C("\xf0\x8f\xbf\xbf", 0, R R R R, "overlong F0 8F BF BF"),
	C("\xf0\x80\x80", 0, R R R, "F0 80 80: three U+FFFD"),
	/* Surrogates. */
	C("\xed\xa0\x80", 0, R R R, "surrogate U+D800"),
	C("\xed\xbf\xbf", 0, R R R, "surrogate U+DFFF"),
	C("\xed\xa0\x80\xed\xb0\x80", 0, R R R R R R, "surrogate pair"),
	/* Past U+10FFFF, and bytes that never occur. */
	C("\xf4\x90\x80\x80", 0, R R R R, "U+110000"),
	C("\xf5\x80\x80\x80", 0, R R R R, "F5 lead"),
	C("\xf7\xbf\xbf\xbf", 0, R R R R, "F7 BF BF BF"),
	C("\xf8\x88\x80\x80\x80", 0, R R R R R, "5-byte form"),
	C("\xfc\x84\x80\x80\x80\x80", 0, R R R R R R, "6-byte form"),
	C("\xfe", 0, R, "FE"),
	C("\xff", 0, R, "FF"),
	C("\x80", 0, R, "lone continuation"),
	C("\xbf\xbf", 0, R R, "two continuations"),
	/* Truncated sequences: one U+FFFD for the whole valid prefix. */
	C("\xc3", 0, R, "truncated 2-byte"),
	C("\xe2\x82", 0, R, "truncated 3-byte"),
	C("\xe2", 0, R, "3-byte lead alone"),
	C("\xf0\x9f\x98", 0, R, "truncated 4-byte (3 of 4)"),
	C("\xf0\x9f", 0, R, "truncated 4-byte (2 of 4)"),
	C("\xf4\x8f\xbf", 0, R, "truncated U+10FFFF"),
	C("ab\xe2\x82", 2, "ab" R, "valid then truncated"),
	C("\xe2\x82" "A", 0, R "A", "truncated then ASCII"),
	C("\xf0\x9f\x98" "A", 0, R "A", "truncated 4-byte then ASCII"),
	C("\xc3\xc3\xa9", 0, R "\xc3\xa9", "truncated then valid"),
	C("\xe2\x82\xe2\x82\xac", 0, R "\xe2\x82\xac",
	    "truncated 3-byte then U+20AC"),
	C("abc\xc3\xa9\xff" "def", 5, "abc\xc3\xa9" R "def",
	    "prefix stops at the first bad byte"),
	/* The examples of Unicode 15 §3.9, tables 3-8 to 3-12. */
	C("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64", 1,
	    "a" R R R "b" R "c" R R "d", "Unicode table 3-8"),
	C("\xc0\xaf\xe0\x80\xbf\xf0\x81\x82\x41", 0,
	    R R R R R R R R "A", "Unicode table 3-9 (non-shortest forms)"),
	C("\xed\xa0\x80\xed\xbf\xbf\xed\xaf\x41", 0,
	    R R R R R R R R "A", "Unicode table 3-10 (surrogates)"),
	C("\xf4\x91\x92\x93\xff\x41\x80\xbf\x42", 0,
	    R R R R R "A" R R "B", "Unicode table 3-11 (other)"),
	C("\xe1\x80\xe2\xf0\x91\x92\xf1\xbf\x41", 0,
	    R R R R "A", "Unicode table 3-12 (truncated)"),
};

#undef C

static size_t
out_len(const struct u8case *c)
{
	/* The expected outputs have no NUL except the "a\0b" case. */
	return c->n == 3 && memcmp(c->in, "a\0b", 3) == 0 ? 3 : strlen(c->out);
}

static void
test_utf8_cases(void)
{
	const struct u8case *c;
	struct buf b;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(u8cases) / sizeof(u8cases[0]); i++) {
		c = &u8cases[i];
		is_int(utf8_valid_prefix(c->in, c->n), c->prefix,
		    "valid prefix: %s", c->what);
		buf_init(&b, 0);
		rc = utf8_sanitize(&b, c->in, c->n);
		ok(rc == 0 && b.len == out_len(c) &&
		    (b.len == 0 || memcmp(b.data, c->out, b.len) == 0),
		    "sanitize: %s", c->what);
		buf_free(&b);
	}
}

/* Encodes code point cp; returns its length. */
static size_t
enc(unsigned long cp, unsigned char *s)
{
	if (cp < 0x80) {
		s[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (unsigned char)(0xc0 | cp >> 6);
		s[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (unsigned char)(0xe0 | cp >> 12);
		s[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	s[0] = (unsigned char)(0xf0 | cp >> 18);
	s[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	s[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	s[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static void
test_utf8_exhaustive(void)
{
	unsigned char s[8], t[8];
	unsigned long cp, bad_ok = 0, bad_sur = 0, bad_over = 0, bad_2 = 0;
	unsigned a, b2;
	size_t n, want;

	/* Every scalar value is valid; every surrogate is not. */
	for (cp = 0; cp <= 0x10ffff; cp++) {
		n = enc(cp, s);
		want = cp >= 0xd800 && cp <= 0xdfff ? 0 : n;
		if (utf8_valid_prefix((const char *)s, n) != want) {
			if (want == 0)
				bad_sur++;
			else
				bad_ok++;
		}
	}
	is_int(bad_ok, 0, "every scalar value U+0000..U+10FFFF is valid");
	is_int(bad_sur, 0, "every surrogate is invalid");
	/* Every overlong encoding (a code point in a longer form) is invalid,
	 * and so is everything past U+10FFFF that fits 4 bytes. */
	for (cp = 0; cp < 0x10000; cp++) {
		if (cp < 0x80) {
			t[0] = (unsigned char)(0xc0 | cp >> 6);
			t[1] = (unsigned char)(0x80 | (cp & 0x3f));
			if (utf8_valid_prefix((const char *)t, 2) != 0)
				bad_over++;
		}
		if (cp < 0x800) {
			t[0] = 0xe0;
			t[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
			t[2] = (unsigned char)(0x80 | (cp & 0x3f));
			if (utf8_valid_prefix((const char *)t, 3) != 0)
				bad_over++;
		}
		t[0] = (unsigned char)(0xf0 | cp >> 18);
		t[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		t[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		t[3] = (unsigned char)(0x80 | (cp & 0x3f));
		if (utf8_valid_prefix((const char *)t, 4) != 0)
			bad_over++;
	}
	for (cp = 0x110000; cp < 0x200000; cp += 0x3f) {
		n = enc(cp, s);
		if (utf8_valid_prefix((const char *)s, n) != 0)
			bad_over++;
	}
	is_int(bad_over, 0, "overlongs and code points past U+10FFFF invalid");
	/* Every 2-byte input against a direct reading of RFC 3629. */
	for (a = 0; a < 256; a++)
		for (b2 = 0; b2 < 256; b2++) {
			s[0] = (unsigned char)a;
			s[1] = (unsigned char)b2;
			if (a < 0x80)
				want = b2 < 0x80 ? 2 : 1;
			else if (a >= 0xc2 && a <= 0xdf && b2 >= 0x80 &&
			    b2 <= 0xbf)
				want = 2;
			else
				want = 0;
			if (utf8_valid_prefix((const char *)s, 2) != want)
				bad_2++;
		}
	is_int(bad_2, 0, "every 2-byte input classified per RFC 3629");
}

/* Random bytes: sanitize always yields valid UTF-8 that keeps every valid
 * prefix, and never more U+FFFD than bad bytes. */
static void
test_utf8_random(void)
{
	unsigned long long x = 0x9e3779b97f4a7c15ull;
	static const unsigned char pool[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f,
	    0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed,
	    0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff };
	char in[64];
	struct buf b;
	size_t n, i, j, pre, nrep;
	int bad = 0, rc;

	for (i = 0; i < 20000 && !bad; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = x % sizeof(in);
		for (j = 0; j < n; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[j] = (char)(x & 1 ? pool[(x >> 8) % sizeof(pool)] :
			    (unsigned char)(x >> 16));
		}
		pre = utf8_valid_prefix(in, n);
		buf_init(&b, 0);
		rc = utf8_sanitize(&b, in, n);
		for (j = 0, nrep = 0; j + 3 <= b.len; j++)
			if (memcmp(b.data + j, R, 3) == 0)
				nrep++;
		if (rc != 0 || pre > n ||
		    utf8_valid_prefix(b.data ? b.data : "", b.len) != b.len ||
		    (pre > 0 && memcmp(b.data, in, pre) != 0) ||
		    (pre == n && (b.len != n ||
		    (n > 0 && memcmp(b.data, in, n) != 0))) ||
		    nrep > n)
			bad = 1;
		buf_free(&b);
	}
	ok(!bad, "20000 random inputs: sanitized output valid (stopped at %zu)",
	    i);
}

static void
test_utf8_buf(void)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	buf_puts(&b, "pre:");
	rc = utf8_sanitize(&b, "x\xffy", 3);
	ok(rc == 0 && strcmp(b.data, "pre:x" R "y") == 0,
	    "sanitize appends to what is there");
	buf_free(&b);

	buf_init(&b, 4);
	rc = utf8_sanitize(&b, "ab\xff", 3);
	is_int(rc, WARD_ETOOBIG, "sanitize: replacement past the cap");
	is_int(utf8_valid_prefix("\xc3\xa9", 1), 0,
	    "a length that cuts a sequence makes it invalid");
	is_int(utf8_valid_prefix(NULL, 0), 0, "NULL, 0 is an empty prefix");
	buf_free(&b);
}

/* --- xdg ---------------------------------------------------------------- */

static void
path_in(char *dst, size_t n, const char *rel)
{
	if ((size_t)snprintf(dst, n, "%s/%s", tmp, rel) >= n)
		die("path too long");
}

static int
mode_of(const char *p)
{
	struct stat st;

	if (stat(p, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return -2;
	return (int)(st.st_mode & 07777);
}

static void
clear_env(void)
{
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_STATE_HOME");
	unsetenv("XDG_DATA_HOME");
	unsetenv("XDG_RUNTIME_DIR");
}

/* Runs xdg_dir and checks the path and that it is a 0700 directory. */
static void
want_dir(enum xdg_kind kind, const char *rel, const char *what)
{
	char want[PATH_MAX], *got = NULL;
	int rc;

	path_in(want, sizeof(want), rel);
	rc = xdg_dir(kind, &got);
	is_int(rc, 0, "%s: ok", what);
	is_str(got, want, "%s: path", what);
	is_int(mode_of(want), 0700, "%s: a directory with mode 0700", what);
	free(got);
}

static void
want_err(enum xdg_kind kind, int err, const char *what)
{
	char *got = (char *)"sentinel";
	int rc;

	rc = xdg_dir(kind, &got);
	is_int(rc, err, "%s: %s", what, ward_strerror(err));
	ok(got == NULL, "%s: *out is NULL", what);
}

static void
test_xdg(void)
{
	char home[PATH_MAX], p[PATH_MAX], q[PATH_MAX], *got;
	int fd, rc;

	path_in(home, sizeof(home), "home");
	clear_env();
	setenv("HOME", home, 1);

	/* Defaults under $HOME, with missing parents created 0700. */
	want_dir(XDG_CONFIG, "home/.config/ward", "config default");
	is_int(mode_of(home), 0700, "missing $HOME created 0700");
	path_in(p, sizeof(p), "home/.config");
	is_int(mode_of(p), 0700, "missing ~/.config created 0700");
	want_dir(XDG_STATE, "home/.local/state/ward", "state default");
	path_in(p, sizeof(p), "home/.local");
	is_int(mode_of(p), 0700, "missing ~/.local created 0700");
	want_dir(XDG_DATA, "home/.local/share/ward", "data default");
	want_dir(XDG_RUNTIME, "home/.local/state/ward/run",
	    "runtime without XDG_RUNTIME_DIR: state/run");
	want_dir(XDG_CONFIG, "home/.config/ward", "config again (exists)");

	/* Absolute XDG values are used. */
	path_in(p, sizeof(p), "cfg");
	setenv("XDG_CONFIG_HOME", p, 1);
	want_dir(XDG_CONFIG, "cfg/ward", "XDG_CONFIG_HOME");
	path_in(p, sizeof(p), "st");
	setenv("XDG_STATE_HOME", p, 1);
	want_dir(XDG_STATE, "st/ward", "XDG_STATE_HOME");
	want_dir(XDG_RUNTIME, "st/ward/run",
	    "runtime falls back to $XDG_STATE_HOME/ward/run");
	path_in(p, sizeof(p), "da");
	setenv("XDG_DATA_HOME", p, 1);
	want_dir(XDG_DATA, "da/ward", "XDG_DATA_HOME");
	path_in(p, sizeof(p), "rt");
	setenv("XDG_RUNTIME_DIR", p, 1);
	want_dir(XDG_RUNTIME, "rt/ward", "XDG_RUNTIME_DIR");

	/* Relative (and empty) values are ignored, per the spec. */
	clear_env();
	setenv("XDG_CONFIG_HOME", "relcfg", 1);
	setenv("XDG_STATE_HOME", "relst/x", 1);
	setenv("XDG_DATA_HOME", "", 1);
	setenv("XDG_RUNTIME_DIR", "relrt", 1);
	want_dir(XDG_CONFIG, "home/.config/ward", "relative XDG_CONFIG_HOME");
	want_dir(XDG_STATE, "home/.local/state/ward",
	    "relative XDG_STATE_HOME");
	want_dir(XDG_DATA, "home/.local/share/ward", "empty XDG_DATA_HOME");
	want_dir(XDG_RUNTIME, "home/.local/state/ward/run",
	    "relative XDG_RUNTIME_DIR");
	ok(access("relcfg", F_OK) == -1 && access("relst", F_OK) == -1 &&
	    access("relrt", F_OK) == -1, "nothing created for relative values");

	/* No usable HOME. */
	clear_env();
	unsetenv("HOME");
	want_err(XDG_CONFIG, WARD_EINVAL, "no HOME");
	want_err(XDG_RUNTIME, WARD_EINVAL, "no HOME, runtime");
	setenv("HOME", "home", 1);
	want_err(XDG_STATE, WARD_EINVAL, "relative HOME");
	path_in(p, sizeof(p), "cfg");
	setenv("XDG_CONFIG_HOME", p, 1);
	want_dir(XDG_CONFIG, "cfg/ward", "absolute XDG_CONFIG_HOME needs no HOME");
	setenv("HOME", home, 1);
	want_err((enum xdg_kind)99, WARD_EINVAL, "unknown kind");

	/* Existing directories others can write are refused; 0755 is fine. */
	path_in(p, sizeof(p), "gw");
	setenv("XDG_CONFIG_HOME", p, 1);
	path_in(p, sizeof(p), "gw/ward");
	if (xdg_mkdirs(p) != 0)
		die("xdg_mkdirs gw/ward");
	chmod(p, 0770);
	want_err(XDG_CONFIG, WARD_EDENIED, "group-writable 0770");
	chmod(p, 0720);
	want_err(XDG_CONFIG, WARD_EDENIED, "group-writable 0720");
	chmod(p, 0702);
	want_err(XDG_CONFIG, WARD_EDENIED, "world-writable 0702");
	chmod(p, 01777);
	want_err(XDG_CONFIG, WARD_EDENIED, "sticky world-writable 1777");
	chmod(p, 0755);
	rc = xdg_dir(XDG_CONFIG, &got);
	is_int(rc, 0, "existing 0755 is accepted");
	is_str(got, p, "existing 0755: path");
	free(got);
	is_int(mode_of(p), 0755, "an accepted directory's mode is left alone");
	chmod(p, 0700);
	if (geteuid() == 0) {
		if (chown(p, 65534, 65534) == -1)
			die("chown");
		want_err(XDG_CONFIG, WARD_EDENIED, "owned by another user");
	} else {
		ok(1, "# SKIP foreign owner needs root");
		ok(1, "# SKIP foreign owner needs root");
	}
	/* A file where the directory should be. */
	path_in(p, sizeof(p), "fl");
	setenv("XDG_DATA_HOME", p, 1);
	xdg_mkdirs(p);
	path_in(q, sizeof(q), "fl/ward");
	if ((fd = creat(q, 0600)) == -1)
		die("creat");
	close(fd);
	want_err(XDG_DATA, WARD_ESYS, "a regular file where the directory should be is refused");

	/* Runtime fallback inherits a refusal of the state directory. */
	unsetenv("XDG_RUNTIME_DIR");
	path_in(p, sizeof(p), "bad");
	setenv("XDG_STATE_HOME", p, 1);
	path_in(p, sizeof(p), "bad/ward");
	xdg_mkdirs(p);
	chmod(p, 0777);
	want_err(XDG_RUNTIME, WARD_EDENIED, "runtime under a refused state dir");
	path_in(p, sizeof(p), "bad/ward/run");
	ok(access(p, F_OK) == -1, "nothing created under the refused state dir");
	clear_env();
}

static void
test_xdg_mkdirs(void)
{
	char p[PATH_MAX], *longp;
	int fd;

	path_in(p, sizeof(p), "mk/a/b/c");
	is_int(xdg_mkdirs(p), 0, "mkdirs: nested");
	is_int(mode_of(p), 0700, "mkdirs: leaf 0700");
	path_in(p, sizeof(p), "mk/a");
	is_int(mode_of(p), 0700, "mkdirs: parent 0700");
	path_in(p, sizeof(p), "mk/a/b/c");
	is_int(xdg_mkdirs(p), 0, "mkdirs: existing is fine");
	path_in(p, sizeof(p), "mk/a/b/c/");
	is_int(xdg_mkdirs(p), 0, "mkdirs: trailing slash");
	path_in(p, sizeof(p), "mk/f");
	if ((fd = creat(p, 0600)) == -1)
		die("creat");
	close(fd);
	path_in(p, sizeof(p), "mk/f/sub");
	is_int(xdg_mkdirs(p), WARD_ESYS, "mkdirs: through a file");
	if ((longp = malloc(PATH_MAX + 16)) == NULL)
		die("malloc");
	memset(longp, 'a', PATH_MAX + 15);
	longp[0] = '/';
	longp[PATH_MAX + 15] = '\0';
	ok(xdg_mkdirs(longp) < 0, "mkdirs: a path over PATH_MAX is refused");
	free(longp);
}

/* --- err ---------------------------------------------------------------- */

static void
test_err(void)
{
	const char *s[1 - WARD_E_LAST];
	int i, j, bad = 0;

	for (i = 0; i < 1 - WARD_E_LAST; i++) {
		s[i] = ward_strerror(-i);
		if (s[i] == NULL || s[i][0] == '\0' ||
		    strcmp(s[i], "unknown error") == 0) {
			printf("# code %d: '%s'\n", -i, s[i] ? s[i] : "(null)");
			bad++;
		}
	}
	is_int(bad, 0, "every code 0..WARD_E_LAST has its own name");
	for (i = 0, bad = 0; i < 1 - WARD_E_LAST; i++)
		for (j = i + 1; j < 1 - WARD_E_LAST; j++)
			if (s[i] != NULL && s[j] != NULL &&
			    strcmp(s[i], s[j]) == 0)
				bad++;
	is_int(bad, 0, "the names are distinct");
	is_int(WARD_E_LAST, WARD_EEXIST, "WARD_EEXIST is the last code");
	is_str(ward_strerror(1), "unknown error", "positive code");
	/* A new code with a name but WARD_E_LAST not moved fails here. */
	is_str(ward_strerror(WARD_E_LAST - 1), "unknown error",
	    "past WARD_E_LAST");
	is_str(ward_strerror(INT_MIN), "unknown error", "INT_MIN");
	is_str(ward_strerror(WARD_ETOOBIG), "too large", "ETOOBIG's name");
}

/* --- artcache ----------------------------------------------------------- */

static void
put_file(const char *path, const char *text, time_t age)
{
	struct timespec ts[2];
	FILE *f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0)
		die(path);
	if (age > 0) {
		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec -= age;
		ts[1] = ts[0];
		if (utimensat(AT_FDCWD, path, ts, 0) == -1)
			die(path);
	}
}

/* Entries of dir other than . and .. whose name ends in suffix. */
static int
count_suffix(const char *dir, const char *suffix)
{
	struct dirent *de;
	size_t n, k = strlen(suffix);
	int count = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		die(dir);
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") &&
		    n >= k && strcmp(de->d_name + n - k, suffix) == 0)
			count++;
	}
	closedir(d);
	return count;
}

/* The artifact cache writes whole files or none, leaves no temp file, and
 * sweeps the stale ones killed writers left. */
static void
test_artcache(void)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 128], p[PATH_MAX + 256];
	struct buf b;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/artcache", tmp);
	if (mkdir(dir, 0700) == -1)
		die(dir);
	ok(artcache_path(dir, "capsule", "tag", "wasm", 4, path,
	    sizeof(path)) == 0, "artcache: a path");
	/* A writer killed an hour ago, one writing now, and a stranger. */
	snprintf(p, sizeof(p), "%s.4242.tmp", path);
	put_file(p, "half an artifact", 2 * 3600);
	snprintf(p, sizeof(p), "%s/capsule-00.cwasm.4343.tmp", dir);
	put_file(p, "being written", 0);
	snprintf(p, sizeof(p), "%s/notes.tmp", dir);
	put_file(p, "not ours to remove", 2 * 3600);
	artcache_write(path, "ARTIFACT", 8);
	buf_init(&b, 1 << 20);
	ok(artcache_read(dir, path, &b) == 1 && b.len == 8 &&
	    memcmp(b.data, "ARTIFACT", 8) == 0, "artcache: written and read");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "artcache: mode 0600 (%o)", st.st_mode & 0777);
	snprintf(p, sizeof(p), "%s.4242.tmp", path);
	ok(access(p, F_OK) == -1, "artcache: a stale temp file is swept");
	snprintf(p, sizeof(p), "%s/capsule-00.cwasm.4343.tmp", dir);
	ok(access(p, F_OK) == 0, "artcache: a fresh one is left alone");
	snprintf(p, sizeof(p), "%s/notes.tmp", dir);
	ok(access(p, F_OK) == 0, "artcache: a file not named like ours stays");
	is_int(count_suffix(dir, ".tmp"), 2, "artcache: the write left no "
	    "temp file");
	/* A rejected artifact is replaced. */
	artcache_write(path, "NEWER", 5);
	buf_reset(&b);
	ok(artcache_read(dir, path, &b) == 1 && b.len == 5 &&
	    memcmp(b.data, "NEWER", 5) == 0, "artcache: an old artifact is "
	    "replaced");
	is_int(count_suffix(dir, ".cwasm"), 1, "artcache: one artifact");
	/* A symlink in its place is replaced, never written through. */
	snprintf(p, sizeof(p), "%s/target", dir);
	put_file(p, "target", 0);
	if (unlink(path) == -1 || symlink(p, path) == -1)
		die(path);
	artcache_write(path, "ARTIFACT", 8);
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "artcache: a "
	    "symlink at the path is replaced by the file");
	buf_reset(&b);
	ok(artcache_read(dir, p, &b) == 1 && b.len == 6, "artcache: and its "
	    "target is untouched");
	/* Nothing is written where it would not be trusted. */
	chmod(dir, 0777);
	snprintf(p, sizeof(p), "%s/capsule-11.cwasm", dir);
	artcache_write(p, "ARTIFACT", 8);
	ok(access(p, F_OK) == -1, "artcache: nothing written into a "
	    "world-writable directory");
	chmod(dir, 0700);
	buf_free(&b);
}

/* What a person is shown cannot hide, move or reorder anything. */
static void
test_utf8_visible(void)
{
	static const struct {
		const char	*in;
		unsigned	 keep;
		const char	*out;
		const char	*what;
	} c[] = {
		{ "ls -la", 0, "ls -la", "plain text unchanged" },
		{ "caf\xc3\xa9 \xe2\x9c\x93", 0, "caf\xc3\xa9 \xe2\x9c\x93",
		    "printable Unicode unchanged" },
		{ "a\nb\tc\rd", 0, "a<U+000A>b<U+0009>c<U+000D>d",
		    "line breaks and tabs shown" },
		{ "a\nb\tc", UTF8_KEEP_LF, "a\nb<U+0009>c", "UTF8_KEEP_LF keeps "
		    "LF" },
		{ "a\r\nb", UTF8_KEEP_LF, "a<U+000D>\nb", "but not CR" },
		{ "a\nb\tc", UTF8_KEEP_TAB, "a<U+000A>b\tc", "UTF8_KEEP_TAB "
		    "keeps tab" },
		{ "\x1b[2J\x1b]0;x\x07", 0, "<U+001B>[2J<U+001B>]0;x<U+0007>",
		    "terminal escapes shown" },
		{ "\x7f\xc2\x9b", 0, "<U+007F><U+009B>", "DEL and C1 shown" },
		{ "rm\xe2\x80\x8b -rf", 0, "rm<U+200B> -rf",
		    "zero-width space shown" },
		{ "ls \xe2\x80\xae\x66\x64\x70", 0, "ls <U+202E>fdp",
		    "right-to-left override shown" },
		{ "\xe2\x81\xa6x\xe2\x81\xa9", 0, "<U+2066>x<U+2069>",
		    "bidi isolates shown" },
		{ "\xef\xbb\xbfx", 0, "<U+FEFF>x", "BOM shown" },
		{ "\xf3\xa0\x80\x81", 0, "<U+E0001>", "tag characters shown" },
		{ "a\xff" "b\xc3", 0, "a<0xFF>b<0xC3>", "invalid bytes shown" },
	};
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		buf_init(&b, 0);
		ok(utf8_visible(&b, c[i].in, strlen(c[i].in), c[i].keep) == 0,
		    "visible: %s: returns 0", c[i].what);
		is_str(b.data ? b.data : "", c[i].out, "visible: %s",
		    c[i].what);
		buf_free(&b);
	}
}

int
main(void)
{
	char t[] = "/tmp/ward-test-lib.XXXXXX";

	if (mkdtemp(t) == NULL)
		die("mkdtemp");
	if (realpath(t, tmp) == NULL)
		die("realpath");
	if (chdir(tmp) == -1)
		die("chdir");
	umask(022);
	test_buf_basic();
	test_buf_cap();
	test_buf_printf();
	test_buf_take();
	test_utf8_cases();
	test_utf8_exhaustive();
	test_utf8_random();
	test_utf8_buf();
	test_utf8_visible();
	test_xdg();
	test_xdg_mkdirs();
	test_err();
	test_artcache();
	if (chdir("/") == -1)
		die("chdir /");
	rm_tree(tmp);
	ok(access(tmp, F_OK) == -1, "temporary directory removed");
	return done_testing();
}

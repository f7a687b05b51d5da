/*
 * Strict UTF-8 validation (RFC 3629: no overlongs, surrogates or code
 * points past U+10FFFF) and lossy repair that replaces each maximal invalid
 * subpart with one U+FFFD, as the Unicode standard recommends.
 */
#include <stdint.h>

#include "utf8.h"

/*
 * Length of the well-formed sequence at p, or 0 if there is none; then *bad
 * is the length of its maximal valid prefix (at least 1).
 */
static size_t
utf8_seq(const unsigned char *p, size_t n, size_t *bad)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need = 0, k;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c == 0xe0) {
		need = 2;
		lo = 0xa0;	/* no overlongs */
	} else if (c == 0xed) {
		need = 2;
		hi = 0x9f;	/* no surrogates */
	} else if (c >= 0xe1 && c <= 0xef)
		need = 2;
	else if (c == 0xf0) {
		need = 3;
		lo = 0x90;	/* no overlongs */
	} else if (c >= 0xf1 && c <= 0xf3)
		need = 3;
	else if (c == 0xf4) {
		need = 3;
		hi = 0x8f;	/* nothing above U+10FFFF */
	}
	for (k = 1; k <= need && k < n; k++) {
		if (p[k] < lo || p[k] > hi)
			break;
		lo = 0x80;
		hi = 0xbf;
	}
	if (need > 0 && k == need + 1)
		return k;
	*bad = k;
	return 0;
}

size_t
utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l, bad;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_seq(p + i, n - i, &bad)) == 0)
			return i;
		i += l;
	}
	return n;
}

int
utf8_sanitize(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, good, bad;
	int rc;

	while (i < n) {
		good = utf8_valid_prefix(s + i, n - i);
		if ((rc = buf_add(out, s + i, good)) != 0)
			return rc;
		i += good;
		if (i >= n)
			break;
		(void)utf8_seq(p + i, n - i, &bad);
		if ((rc = buf_add(out, "\xef\xbf\xbd", 3)) != 0)
			return rc;
		i += bad;
	}
	return 0;
}

/* Characters that draw nothing, or move or reorder what is drawn. */
static int
utf8_invisible(uint32_t cp)
{
	static const uint32_t ranges[][2] = {
		{ 0x0000, 0x001f }, { 0x007f, 0x009f }, { 0x00ad, 0x00ad },
		{ 0x034f, 0x034f }, { 0x061c, 0x061c }, { 0x115f, 0x1160 },
		{ 0x17b4, 0x17b5 }, { 0x180b, 0x180f }, { 0x200b, 0x200f },
		{ 0x2028, 0x202e }, { 0x2060, 0x206f }, { 0x3164, 0x3164 },
		{ 0xfe00, 0xfe0f }, { 0xfeff, 0xfeff }, { 0xffa0, 0xffa0 },
		{ 0xfff9, 0xfffb }, { 0x1d173, 0x1d17a }, { 0xe0000, 0xe0fff },
	};
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return 1;
	return 0;
}

int
utf8_visible(struct buf *out, const char *s, size_t n, unsigned keep)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len, bad, k;
	uint32_t cp;
	int rc;

	while (i < n) {
		if ((len = utf8_seq(p + i, n - i, &bad)) == 0) {
			for (k = 0; k < bad; k++)
				if ((rc = buf_printf(out, "<0x%02X>",
				    p[i + k])) != 0)
					return rc;
			i += bad;
			continue;
		}
		cp = len == 1 ? p[i] : len == 2 ? (uint32_t)(p[i] & 0x1f) :
		    len == 3 ? (uint32_t)(p[i] & 0x0f) :
		    (uint32_t)(p[i] & 0x07);
		for (k = 1; k < len; k++)
			cp = cp << 6 | (p[i + k] & 0x3f);
		if (utf8_invisible(cp) && !((keep & UTF8_KEEP_LF) && cp == '\n') &&
		    !((keep & UTF8_KEEP_TAB) && cp == '\t'))
			rc = buf_printf(out, "<U+%04X>", (unsigned)cp);
		else
			rc = buf_add(out, s + i, len);
		if (rc != 0)
			return rc;
		i += len;
	}
	return 0;
}

int
utf8_put(struct buf *out, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_add(out, u, n);
}

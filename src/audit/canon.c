/*
 * The audit log's canonical form in one pass; see canon.h. The grammar
 * accepted here is the image of jansson's compact, sorted, ASCII dump
 * (jansson 2.14, dump.c and load.c) restricted to what its parser takes
 * back unchanged:
 *
 *	- no whitespace anywhere;
 *	- integers: 0, or an optional '-' and digits without a leading
 *	  zero, within int64 (a larger one does not parse; "-0" dumps as
 *	  "0"); no fraction or exponent (reals are refused);
 *	- true, false, null;
 *	- strings of the bytes 0x20-0x7f other than '"' and '\', and the
 *	  escapes \" \\ \b \f \n \r \t and \uXXXX with uppercase hex, the
 *	  latter only for what the dump escapes that way: U+0001-U+001F
 *	  without a short escape, U+0080-U+FFFF outside the surrogates, and
 *	  a high surrogate followed by a low one. U+0000 does not parse
 *	  (no JSON_ALLOW_NUL);
 *	- object keys in strictly increasing order of their decoded UTF-8
 *	  bytes, shorter first on a common prefix (the dump's memcmp sort;
 *	  equal keys are duplicates, which the parser refuses);
 *	- no value deeper than AUDIT_CANON_DEPTH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "canon.h"

/* Bytes that stand for themselves inside a canonical string. */
static int
audit_canon_plain(unsigned char c)
{
	return c >= 0x20 && c <= 0x7f && c != '"' && c != '\\';
}

/* Four uppercase hex digits at s[p..p+4), or -1. */
static long
audit_canon_hex4(const char *s, size_t len, size_t p)
{
	long v = 0;
	size_t i;

	if (len < 4 || p > len - 4)
		return -1;
	for (i = p; i < p + 4; i++) {
		v <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			v += s[i] - '0';
		else if (s[i] >= 'A' && s[i] <= 'F')
			v += s[i] - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * A canonical string starting at the quote s[*at]. On success *at is past
 * the closing quote, and *esc tells whether it holds a backslash.
 */
static int
audit_canon_string(const char *s, size_t len, size_t *at, int *esc)
{
	size_t p = *at + 1;
	long v, w;

	*esc = 0;
	for (;;) {
		while (p < len && audit_canon_plain((unsigned char)s[p]))
			p++;
		if (p >= len)
			return WARD_EPROTO;
		if (s[p] == '"')
			break;
		if (s[p] != '\\' || ++p >= len)
			return WARD_EPROTO;
		*esc = 1;
		switch (s[p]) {
		case '"': case '\\': case 'b': case 'f': case 'n': case 'r':
		case 't':
			p++;
			continue;
		case 'u':
			break;
		default:	/* \/ parses but is dumped as / */
			return WARD_EPROTO;
		}
		if ((v = audit_canon_hex4(s, len, p + 1)) < 0)
			return WARD_EPROTO;
		p += 5;
		/* The dump writes these with a short escape or as
		 * themselves; U+0000 does not parse; a lone low surrogate
		 * does not parse. */
		if (v == 0 || v == '\b' || v == '\t' || v == '\n' ||
		    v == '\f' || v == '\r' || (v >= 0x20 && v < 0x80) ||
		    (v >= 0xdc00 && v <= 0xdfff))
			return WARD_EPROTO;
		if (v >= 0xd800 && v <= 0xdbff) {
			if (p >= len || len - p < 6 || s[p] != '\\' ||
			    s[p + 1] != 'u' ||
			    (w = audit_canon_hex4(s, len, p + 2)) < 0xdc00 ||
			    w > 0xdfff)
				return WARD_EPROTO;
			p += 6;
		}
	}
	*at = p + 1;
	return 0;
}

/*
 * A canonical integer at s[*at] (a '-' or a digit); *at moves past it.
 * What follows is the caller's to check: after a number only ',', '}'
 * and ']' are canonical, so a fraction or exponent is refused there.
 */
static int
audit_canon_int(const char *s, size_t len, size_t *at, int64_t *val)
{
	static const char max[] = "9223372036854775807";
	size_t p = *at, d0, n;
	uint64_t u = 0;
	int neg = 0;

	if (s[p] == '-') {
		neg = 1;
		p++;
	}
	if (p >= len || s[p] < '0' || s[p] > '9')
		return WARD_EPROTO;
	d0 = p;
	if (s[p] == '0') {
		if (neg)	/* -0 is dumped as 0 */
			return WARD_EPROTO;
		p++;
	} else
		while (p < len && s[p] >= '0' && s[p] <= '9')
			p++;
	n = p - d0;
	if (n > sizeof(max) - 1)
		return WARD_EPROTO;
	/* Out of int64 does not parse; -2^63 does. */
	if (n == sizeof(max) - 1 && memcmp(s + d0, max, n) > 0 &&
	    !(neg && memcmp(s + d0, "9223372036854775808", n) == 0))
		return WARD_EPROTO;
	for (; d0 < p; d0++)
		u = u * 10 + (uint64_t)(s[d0] - '0');
	/* Two's complement: -(2^63) wraps to INT64_MIN as intended. */
	*val = neg ? (int64_t)(0 - u) : (int64_t)u;
	*at = p;
	return 0;
}

/* Decodes a canonical string's raw text one byte at a time. */
struct audit_canon_dec {
	const char	*s;
	size_t		 len;
	size_t		 p;
	unsigned char	 out[4];
	int		 nout;
	int		 iout;
};

static long
audit_canon_hex4u(const char *s)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v * 16 + (s[i] <= '9' ? s[i] - '0' : s[i] - 'A' + 10);
	return v;
}

/* The next decoded byte, or -1 at the end. The text was checked by
 * audit_canon_string, so every escape is whole. */
static int
audit_canon_next(struct audit_canon_dec *d)
{
	unsigned long cp;
	char c;

	if (d->iout < d->nout)
		return d->out[d->iout++];
	if (d->p >= d->len)
		return -1;
	if ((c = d->s[d->p++]) != '\\')
		return (unsigned char)c;
	switch ((c = d->s[d->p++])) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'u':
		break;
	default:
		return (unsigned char)c;	/* " or \ */
	}
	cp = (unsigned long)audit_canon_hex4u(d->s + d->p);
	d->p += 4;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		cp = 0x10000 + ((cp - 0xd800) << 10) +
		    ((unsigned long)audit_canon_hex4u(d->s + d->p + 2) - 0xdc00);
		d->p += 6;
	}
	d->iout = 1;
	if (cp < 0x80) {
		d->nout = 1;
		d->out[0] = (unsigned char)cp;
	} else if (cp < 0x800) {
		d->nout = 2;
		d->out[0] = (unsigned char)(0xc0 | (cp >> 6));
		d->out[1] = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		d->nout = 3;
		d->out[0] = (unsigned char)(0xe0 | (cp >> 12));
		d->out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		d->out[2] = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		d->nout = 4;
		d->out[0] = (unsigned char)(0xf0 | (cp >> 18));
		d->out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		d->out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		d->out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	}
	return d->out[0];
}

/* Whether key b sorts strictly after key a, comparing decoded bytes. */
static int
audit_canon_after(const char *a, size_t alen, int aesc, const char *b,
    size_t blen, int besc)
{
	struct audit_canon_dec da, db;
	int x, y, r;

	if (!aesc && !besc) {
		r = memcmp(a, b, alen < blen ? alen : blen);
		return r < 0 || (r == 0 && alen < blen);
	}
	memset(&da, 0, sizeof(da));
	memset(&db, 0, sizeof(db));
	da.s = a;
	da.len = alen;
	db.s = b;
	db.len = blen;
	do {
		x = audit_canon_next(&da);
		y = audit_canon_next(&db);
	} while (x == y && x != -1);
	return x < y;
}

/*
 * One canonical value at s[*at], itself at depth depth (jansson counts
 * the top-level value as 1); *at moves past it. Iterative, with the
 * nesting on c's stack, so hostile input cannot exhaust the C stack.
 */
static int
audit_canon_value(struct audit_canon *c, const char *s, size_t len,
    size_t *at, int depth)
{
	struct audit_canon_level *top;
	const char *k;
	size_t p = *at;
	int64_t v;
	int sp = 0, esc;

value:
	if (depth + sp > AUDIT_CANON_DEPTH || p >= len)
		return WARD_EPROTO;
	switch (s[p]) {
	case '{':
	case '[':
		if (sp >= AUDIT_CANON_DEPTH)
			return WARD_EPROTO;
		top = &c->lv[sp++];
		top->obj = s[p] == '{';
		top->key = NULL;
		top->keylen = 0;
		top->keyesc = 0;
		if (++p < len && s[p] == (top->obj ? '}' : ']')) {
			p++;
			sp--;
			goto next;
		}
		if (top->obj)
			goto key;
		goto value;
	case '"':
		if (audit_canon_string(s, len, &p, &esc) != 0)
			return WARD_EPROTO;
		goto next;
	case 't':
	case 'n':
		if (len - p < 4 || memcmp(s + p, s[p] == 't' ? "true" : "null",
		    4) != 0)
			return WARD_EPROTO;
		p += 4;
		goto next;
	case 'f':
		if (len - p < 5 || memcmp(s + p, "false", 5) != 0)
			return WARD_EPROTO;
		p += 5;
		goto next;
	default:
		if (s[p] != '-' && (s[p] < '0' || s[p] > '9'))
			return WARD_EPROTO;
		if (audit_canon_int(s, len, &p, &v) != 0)
			return WARD_EPROTO;
		goto next;
	}

key:
	top = &c->lv[sp - 1];
	if (p >= len || s[p] != '"')
		return WARD_EPROTO;
	k = s + p + 1;
	if (audit_canon_string(s, len, &p, &esc) != 0)
		return WARD_EPROTO;
	if (top->key != NULL && !audit_canon_after(top->key, top->keylen,
	    top->keyesc, k, (size_t)(s + p - 1 - k), esc))
		return WARD_EPROTO;
	top->key = k;
	top->keylen = (size_t)(s + p - 1 - k);
	top->keyesc = esc;
	/* A decoded key holding U+0000 is refused by the parser, but
	 * audit_canon_string never accepts \u0000 anyway. */
	if (p >= len || s[p] != ':')
		return WARD_EPROTO;
	p++;
	goto value;

next:
	if (sp == 0) {
		*at = p;
		return 0;
	}
	top = &c->lv[sp - 1];
	if (p >= len)
		return WARD_EPROTO;
	if (s[p] == ',') {
		p++;
		if (top->obj)
			goto key;
		goto value;
	}
	if (s[p] != (top->obj ? '}' : ']'))
		return WARD_EPROTO;
	p++;
	sp--;
	goto next;
}

int
audit_canon_check(struct audit_canon *c, const char *s, size_t len)
{
	size_t p = 0;

	if (len == 0 || (s[0] != '{' && s[0] != '['))
		return WARD_EPROTO;
	if (audit_canon_value(c, s, len, &p, 1) != 0 || p != len)
		return WARD_EPROTO;
	return 0;
}

/* The literal m at s[*at]; *at moves past it. */
static int
audit_canon_lit(const char *s, size_t len, size_t *at, const char *m)
{
	size_t n = strlen(m);

	if (*at > len || len - *at < n || memcmp(s + *at, m, n) != 0)
		return WARD_EPROTO;
	*at += n;
	return 0;
}

/* A string member's value at s[*at]: located raw, between its quotes. */
static int
audit_canon_member(const char *s, size_t len, size_t *at, const char **v,
    size_t *vlen)
{
	size_t p = *at;
	int esc;

	if (p >= len || s[p] != '"' ||
	    audit_canon_string(s, len, &p, &esc) != 0)
		return WARD_EPROTO;
	*v = s + *at + 1;
	*vlen = p - *at - 2;
	*at = p;
	return 0;
}

int
audit_canon_record(struct audit_canon *c, const char *s, size_t len,
    struct audit_canon_rec *r)
{
	size_t p = 0;

	memset(r, 0, sizeof(*r));
	/* The members in the only order the sort allows; the record is
	 * depth 1, so data is depth 2. */
	if (audit_canon_lit(s, len, &p, "{\"data\":") != 0 || p >= len ||
	    s[p] != '{')
		return WARD_EPROTO;
	r->data = s + p;
	if (audit_canon_value(c, s, len, &p, 2) != 0)
		return WARD_EPROTO;
	r->datalen = (size_t)(s + p - r->data);
	if (audit_canon_lit(s, len, &p, ",\"kind\":") != 0 ||
	    audit_canon_member(s, len, &p, &r->kind, &r->kindlen) != 0 ||
	    audit_canon_lit(s, len, &p, ",\"prev\":") != 0 ||
	    audit_canon_member(s, len, &p, &r->prev, &r->prevlen) != 0 ||
	    audit_canon_lit(s, len, &p, ",\"seq\":") != 0 || p >= len ||
	    (s[p] != '-' && (s[p] < '0' || s[p] > '9')) ||
	    audit_canon_int(s, len, &p, &r->seq) != 0 ||
	    audit_canon_lit(s, len, &p, ",\"ts\":") != 0 ||
	    audit_canon_member(s, len, &p, &r->ts, &r->tslen) != 0 ||
	    audit_canon_lit(s, len, &p, "}") != 0 || p != len)
		return WARD_EPROTO;
	return 0;
}

/* ---- writing -------------------------------------------------------- */

static int
audit_canon_u4(struct buf *out, unsigned long v)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[6] = { '\\', 'u', hex[(v >> 12) & 15], hex[(v >> 8) & 15],
	    hex[(v >> 4) & 15], hex[v & 15] };

	return buf_add(out, e, sizeof(e));
}

/* A string as the dump writes it; s is valid UTF-8 (jansson's strings
 * are), so a lead byte is followed by its continuation bytes. */
static int
audit_canon_str(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t i = 0, run, k;
	int rc;

	if ((rc = buf_add(out, "\"", 1)) != 0)
		return rc;
	while (i < n) {
		for (run = i; run < n && audit_canon_plain(p[run]); run++)
			;
		if (run > i && (rc = buf_add(out, s + i, run - i)) != 0)
			return rc;
		if ((i = run) == n)
			break;
		switch (p[i]) {
		case '"': rc = buf_add(out, "\\\"", 2); k = 1; break;
		case '\\': rc = buf_add(out, "\\\\", 2); k = 1; break;
		case '\b': rc = buf_add(out, "\\b", 2); k = 1; break;
		case '\f': rc = buf_add(out, "\\f", 2); k = 1; break;
		case '\n': rc = buf_add(out, "\\n", 2); k = 1; break;
		case '\r': rc = buf_add(out, "\\r", 2); k = 1; break;
		case '\t': rc = buf_add(out, "\\t", 2); k = 1; break;
		default:
			if (p[i] < 0x80) {
				cp = p[i];
				k = 1;
			} else if (p[i] < 0xe0 && i + 1 < n) {
				cp = (p[i] & 0x1fUL) << 6 | (p[i + 1] & 0x3f);
				k = 2;
			} else if (p[i] < 0xf0 && i + 2 < n) {
				cp = (p[i] & 0x0fUL) << 12 |
				    (p[i + 1] & 0x3fUL) << 6 | (p[i + 2] & 0x3f);
				k = 3;
			} else if (i + 3 < n) {
				cp = (p[i] & 0x07UL) << 18 |
				    (p[i + 1] & 0x3fUL) << 12 |
				    (p[i + 2] & 0x3fUL) << 6 | (p[i + 3] & 0x3f);
				k = 4;
			} else
				return WARD_EINVAL;	/* not UTF-8 */
			if (cp < 0x10000)
				rc = audit_canon_u4(out, cp);
			else if ((rc = audit_canon_u4(out, 0xd800 +
			    ((cp - 0x10000) >> 10))) == 0)
				rc = audit_canon_u4(out, 0xdc00 +
				    ((cp - 0x10000) & 0x3ff));
		}
		if (rc != 0)
			return rc;
		i += k;
	}
	return buf_add(out, "\"", 1);
}

struct audit_canon_key {
	const char	*key;
	size_t		 len;
	json_t		*value;
};

/* The dump's order: bytes, then the shorter first. */
static int
audit_canon_keycmp(const void *a, const void *b)
{
	const struct audit_canon_key *x = a, *y = b;
	int r = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	if (r != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int
audit_canon_put(const json_t *j, struct buf *out, int depth)
{
	struct audit_canon_key small[16], *keys;
	const char *key;
	char num[32];
	json_t *v;
	size_t i, n, klen;
	int rc = 0;

	if (depth > AUDIT_CANON_DEPTH)
		return WARD_EINVAL;
	switch (json_typeof(j)) {
	case JSON_NULL:
		return buf_add(out, "null", 4);
	case JSON_TRUE:
		return buf_add(out, "true", 4);
	case JSON_FALSE:
		return buf_add(out, "false", 5);
	case JSON_INTEGER:
		n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(j));
		return buf_add(out, num, n);
	case JSON_STRING:
		return audit_canon_str(out, json_string_value(j),
		    json_string_length(j));
	case JSON_ARRAY:
		if ((rc = buf_add(out, "[", 1)) != 0)
			return rc;
		for (i = 0; i < json_array_size(j) && rc == 0; i++)
			if ((i == 0 || (rc = buf_add(out, ",", 1)) == 0))
				rc = audit_canon_put(json_array_get(j, i),
				    out, depth + 1);
		return rc != 0 ? rc : buf_add(out, "]", 1);
	case JSON_OBJECT:
		n = json_object_size(j);
		keys = n <= sizeof(small) / sizeof(small[0]) ? small :
		    calloc(n, sizeof(*keys));
		if (keys == NULL)
			return WARD_ENOMEM;
		i = 0;
		json_object_keylen_foreach((json_t *)j, key, klen, v) {
			keys[i].key = key;
			keys[i].len = klen;
			keys[i++].value = v;
		}
		qsort(keys, i, sizeof(*keys), audit_canon_keycmp);
		rc = buf_add(out, "{", 1);
		for (n = 0; n < i && rc == 0; n++) {
			if ((n == 0 || (rc = buf_add(out, ",", 1)) == 0) &&
			    (rc = audit_canon_str(out, keys[n].key,
			    keys[n].len)) == 0 &&
			    (rc = buf_add(out, ":", 1)) == 0)
				rc = audit_canon_put(keys[n].value, out,
				    depth + 1);
		}
		if (keys != small)
			free(keys);
		return rc != 0 ? rc : buf_add(out, "}", 1);
	default:
		return WARD_EINVAL;	/* a real */
	}
}

int
audit_canon_dump(const json_t *j, struct buf *out)
{
	return audit_canon_put(j, out, 1);
}

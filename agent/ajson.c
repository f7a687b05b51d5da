/*
 * JSON reading for the agent (see ajson.h). jsmn tokenises; this file adds
 * member lookup, string unescaping and number checks, bounded by the token
 * array so malformed model output cannot walk past it.
 */
#include <stdlib.h>
#include <string.h>

#define JSMN_STRICT
#include "jsmn.h"	/* the one copy of jsmn's code */
#include "ajson.h"

int
ajson_parse(struct ajson *j, const char *text, size_t len, const char **why)
{
	jsmn_parser p;
	int n;

	memset(j, 0, sizeof(*j));
	j->text = text;
	j->len = len;
	jsmn_init(&p);
	n = jsmn_parse(&p, text, len, NULL, 0);
	if (n < 1) {
		*why = n == 0 ? "empty" : "malformed JSON";
		return -1;
	}
	if ((j->tok = calloc((size_t)n, sizeof(*j->tok))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	jsmn_init(&p);
	if ((j->ntok = jsmn_parse(&p, text, len, j->tok, (unsigned)n)) != n) {
		*why = "malformed JSON";
		ajson_free(j);
		return -1;
	}
	if (j->tok[0].type != JSMN_OBJECT) {
		*why = "not a JSON object";
		ajson_free(j);
		return -1;
	}
	/* jsmn stops at the end of the first value; anything after it other
	 * than white space makes the text malformed. */
	for (size_t k = (size_t)j->tok[0].end; k < len; k++)
		if (strchr(" \t\r\n", text[k]) == NULL) {
			*why = "trailing characters after the JSON object";
			ajson_free(j);
			return -1;
		}
	return 0;
}

void
ajson_free(struct ajson *j)
{
	free(j->tok);
	j->tok = NULL;
	j->ntok = 0;
}

/* Index of the token after the whole value at i. */
static int
ajson_skip(const struct ajson *j, int i)
{
	int end = j->tok[i].end;

	i++;
	while (i < j->ntok && j->tok[i].start < end)
		i++;
	return i;
}

static int
ajson_eq(const struct ajson *j, int i, const char *s)
{
	size_t n = strlen(s);

	return j->tok[i].type == JSMN_STRING &&
	    (size_t)(j->tok[i].end - j->tok[i].start) == n &&
	    memcmp(j->text + j->tok[i].start, s, n) == 0;
}

int
ajson_member_in(const struct ajson *j, int obj, const char *key)
{
	int i, k, n;

	if (obj < 0 || obj >= j->ntok || j->tok[obj].type != JSMN_OBJECT)
		return -1;
	n = j->tok[obj].size;
	for (i = obj + 1, k = 0; k < n && i + 1 < j->ntok; k++) {
		if (ajson_eq(j, i, key))
			return i + 1;
		i = ajson_skip(j, i + 1);
	}
	return -1;
}

int
ajson_member(const struct ajson *j, const char *key)
{
	return ajson_member_in(j, 0, key);
}

int
ajson_is_string(const struct ajson *j, int i)
{
	return i >= 0 && i < j->ntok && j->tok[i].type == JSMN_STRING;
}

static int
ajson_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		char c = p[k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t
ajson_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

char *
ajson_string(const struct ajson *j, int i, size_t *len)
{
	const char *s, *e;
	char *out, *o;
	unsigned cp, lo;

	if (!ajson_is_string(j, i))
		return NULL;
	s = j->text + j->tok[i].start;
	e = j->text + j->tok[i].end;
	/* Unescaping never grows the text. */
	if ((out = malloc((size_t)(e - s) + 1)) == NULL)
		return NULL;
	for (o = out; s < e; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		if (++s >= e)
			goto bad;
		switch (*s) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (e - s < 5 || ajson_hex4(s + 1, &cp) != 0)
				goto bad;
			s += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (e - s < 7 || s[1] != '\\' || s[2] != 'u' ||
				    ajson_hex4(s + 3, &lo) != 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				s += 6;
			} else if (cp >= 0xdc00 && cp <= 0xdfff)
				goto bad;
			o += ajson_utf8(o, cp);
			break;
		default:
			goto bad;
		}
	}
	*o = '\0';
	if (len != NULL)
		*len = (size_t)(o - out);
	return out;
bad:
	free(out);
	return NULL;
}

int
ajson_u64(const struct ajson *j, int i, uint64_t *out)
{
	const char *s;
	uint64_t v = 0;
	int k, n;

	if (i < 0 || i >= j->ntok || j->tok[i].type != JSMN_PRIMITIVE)
		return -1;
	s = j->text + j->tok[i].start;
	n = j->tok[i].end - j->tok[i].start;
	if (n < 1 || n > 19)
		return -1;
	for (k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[k] - '0');
	}
	*out = v;
	return 0;
}

int
ajson_bool(const struct ajson *j, int i, int *out)
{
	if (i < 0 || i >= j->ntok || j->tok[i].type != JSMN_PRIMITIVE)
		return -1;
	if (j->tok[i].end - j->tok[i].start == 4 &&
	    memcmp(j->text + j->tok[i].start, "true", 4) == 0)
		*out = 1;
	else if (j->tok[i].end - j->tok[i].start == 5 &&
	    memcmp(j->text + j->tok[i].start, "false", 5) == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

int
ajson_array_len(const struct ajson *j, int i)
{
	if (i < 0 || i >= j->ntok || j->tok[i].type != JSMN_ARRAY)
		return -1;
	return j->tok[i].size;
}

int
ajson_array_at(const struct ajson *j, int i, int k)
{
	int n = ajson_array_len(j, i), idx;

	if (n < 0 || k < 0 || k >= n)
		return -1;
	for (idx = i + 1; k > 0 && idx < j->ntok; k--)
		idx = ajson_skip(j, idx);
	return idx < j->ntok ? idx : -1;
}

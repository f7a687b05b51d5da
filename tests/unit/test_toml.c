/*
 * The TOML parser against the official toml-test suite, then by hand.
 *
 * Every file listed in tests/files-toml-1.0.0 of the suite is one TAP line:
 * each valid/ file must parse, and the tree, written as toml-test's tagged
 * JSON, must equal the expected .json (numbers compared by value, date-times
 * after normalising the spellings RFC 3339 allows); each invalid/ one must
 * be rejected with a "LINE:COL: message" error. The suite lives next to the
 * repository (../shared/toml-test from the repository root, where tests
 * run; TOML_TEST_DIR overrides). A missing suite is a failure: the design
 * promises the parser passes it, and a skip would hide a broken checkout.
 *
 * The hand-written checks cover what the suite does not: source positions
 * and byte spans, error messages, nesting and integer limits, NUL in keys
 * and strings, large tables and the accessors' NULL handling.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "policy/toml.h"
#include "tap.h"
#include "util.h"

/* ---- the toml-test suite ------------------------------------------------ */

static char *
read_all(const char *path, size_t *lenp)
{
	struct buf b;
	char chunk[65536];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) != 0)
			die("read_all");
	if (ferror(f))
		die(path);
	fclose(f);
	*lenp = b.len;
	return buf_take(&b);
}

/*
 * jansson cannot hold NUL in an object key, and toml-test has such a key,
 * so both sides of a comparison spell NUL as the noncharacter U+FDD0
 * (which the suite never uses).
 */
#define NUL_STANDIN	"\xef\xb7\x90"

static char *
nul_standin(const char *s, size_t len, size_t *outlen)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < len; i++)
		if ((s[i] == '\0' ? buf_puts(&b, NUL_STANDIN) :
		    buf_add(&b, s + i, 1)) != 0)
			die("nul_standin");
	*outlen = b.len;
	return buf_take(&b);
}

/* The expected JSON with every \u0000 escape made \uFDD0. */
static json_t *
load_expected(const char *path, json_error_t *jerr)
{
	json_t *j;
	size_t i, len;
	char *s;

	if ((s = read_all(path, &len)) == NULL) {
		snprintf(jerr->text, sizeof(jerr->text), "%s",
		    strerror(errno));
		return NULL;
	}
	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (i + 5 < len && memcmp(s + i + 1, "u0000", 5) == 0)
			memcpy(s + i + 1, "uFDD0", 5);
		i++;	/* past the escaped character */
	}
	j = json_loadb(s, len, 0, jerr);
	free(s);
	return j;
}

static json_t *
tagged(const char *type, json_t *value)
{
	return json_pack("{s:s, s:o}", "type", type, "value", value);
}

static json_t *
datetime_json(const struct toml_node *n)
{
	const struct toml_datetime *dt = toml_datetime(n);
	char s[64], frac[16];
	size_t o = 0;
	int k;

	frac[0] = '\0';
	if (dt->nanosecond != 0) {
		snprintf(frac, sizeof(frac), ".%09d", (int)dt->nanosecond);
		for (k = (int)strlen(frac); frac[k - 1] == '0'; k--)
			frac[k - 1] = '\0';
	}
	if (toml_type(n) != TOML_TIME_LOCAL)
		o += (size_t)snprintf(s + o, sizeof(s) - o, "%04d-%02d-%02d",
		    dt->year, dt->month, dt->day);
	if (toml_type(n) != TOML_DATE_LOCAL)
		o += (size_t)snprintf(s + o, sizeof(s) - o,
		    "%s%02d:%02d:%02d%s", o ? "T" : "", dt->hour, dt->minute,
		    dt->second, frac);
	if (toml_type(n) == TOML_DATETIME && dt->offset == 0)
		snprintf(s + o, sizeof(s) - o, "Z");
	else if (toml_type(n) == TOML_DATETIME)
		snprintf(s + o, sizeof(s) - o, "%c%02d:%02d",
		    dt->offset < 0 ? '-' : '+', abs(dt->offset) / 60,
		    abs(dt->offset) % 60);
	return tagged(toml_type(n) == TOML_DATETIME ? "datetime" :
	    toml_type(n) == TOML_DATETIME_LOCAL ? "datetime-local" :
	    toml_type(n) == TOML_DATE_LOCAL ? "date-local" : "time-local",
	    json_string(s));
}

/* The tree in toml-test's JSON encoding. Recursive, which the parser's
 * nesting cap makes safe. */
static json_t *
to_json(const struct toml_node *n)
{
	const struct toml_key *k;
	const char *s;
	json_t *j;
	char num[64];
	int64_t i;
	double f;
	size_t idx, len;
	int b;

	switch (toml_type(n)) {
	case TOML_TABLE:
		j = json_object();
		for (idx = 0; idx < toml_len(n); idx++) {
			k = toml_key(n, idx);
			s = nul_standin(k->name, k->len, &len);
			json_object_setn_new(j, s, len,
			    to_json(toml_value(n, idx)));
			free((char *)s);
		}
		return j;
	case TOML_ARRAY:
		j = json_array();
		for (idx = 0; idx < toml_len(n); idx++)
			json_array_append_new(j, to_json(toml_at(n, idx)));
		return j;
	case TOML_STRING:
		s = toml_str(n, &len);
		s = nul_standin(s, len, &len);
		j = tagged("string", json_stringn(s, len));
		free((char *)s);
		return j;
	case TOML_INTEGER:
		toml_int(n, &i);
		snprintf(num, sizeof(num), "%" PRId64, i);
		return tagged("integer", json_string(num));
	case TOML_FLOAT:
		toml_float(n, &f);
		if (isnan(f))
			snprintf(num, sizeof(num), "nan");
		else if (isinf(f))
			snprintf(num, sizeof(num), "%sinf", f < 0 ? "-" : "");
		else
			snprintf(num, sizeof(num), "%.17g", f);
		return tagged("float", json_string(num));
	case TOML_BOOL:
		toml_bool(n, &b);
		return tagged("bool", json_string(b ? "true" : "false"));
	default:
		return datetime_json(n);
	}
}

/* RFC 3339 spellings toml-test treats as equal: 't', ' ' and 'T'; 'z' and
 * 'Z'; trailing zeros of the fraction. */
static void
norm_datetime(const char *in, char *out, size_t sz)
{
	size_t i, o = 0, dot = 0;

	for (i = 0; in[i] != '\0' && o + 1 < sz; i++) {
		char c = in[i];

		if (c == 't' || (c == ' ' && i == 10))
			c = 'T';
		else if (c == 'z')
			c = 'Z';
		if (c == '.')
			dot = o;
		else if (dot && !isdigit((unsigned char)c)) {
			while (out[o - 1] == '0')
				o--;
			if (o - 1 == dot)
				o--;
			dot = 0;
		}
		out[o++] = c;
	}
	if (dot) {
		while (out[o - 1] == '0')
			o--;
		if (o - 1 == dot)
			o--;
	}
	out[o] = '\0';
}

static int
float_eq(const char *a, const char *b)
{
	double x, y;

	if (strstr(a, "nan") || strstr(b, "nan"))
		return strstr(a, "nan") && strstr(b, "nan");
	if (strstr(a, "inf") || strstr(b, "inf"))
		return strstr(a, "inf") && strstr(b, "inf") &&
		    (a[0] == '-') == (b[0] == '-');
	x = strtod(a, NULL);
	y = strtod(b, NULL);
	return x == y && signbit(x) == signbit(y);
}

static int
is_tagged(const json_t *j)
{
	return json_is_object(j) && json_object_size(j) == 2 &&
	    json_is_string(json_object_get(j, "type")) &&
	    json_is_string(json_object_get(j, "value"));
}

/* Compares got with want; on a difference returns 0 and says where in
 * why. */
static int
json_same(const json_t *got, const json_t *want, const char *path,
    struct buf *why)
{
	const char *key, *type, *g, *w;
	char gn[128], wn[128];
	json_t *v;
	size_t klen, i;
	int same = 1;

	if (is_tagged(want)) {
		if (!is_tagged(got)) {
			buf_printf(why, "%s: not a value", path);
			return 0;
		}
		type = json_string_value(json_object_get(want, "type"));
		w = json_string_value(json_object_get(want, "value"));
		g = json_string_value(json_object_get(got, "value"));
		if (strcmp(type, json_string_value(json_object_get(got,
		    "type"))) != 0)
			same = 0;
		else if (strcmp(type, "integer") == 0)
			same = strtoll(g, NULL, 10) == strtoll(w, NULL, 10);
		else if (strcmp(type, "float") == 0)
			same = float_eq(g, w);
		else if (strncmp(type, "date", 4) == 0 ||
		    strcmp(type, "time-local") == 0) {
			norm_datetime(g, gn, sizeof(gn));
			norm_datetime(w, wn, sizeof(wn));
			same = strcmp(gn, wn) == 0;
		} else
			same = json_equal(json_object_get(got, "value"),
			    json_object_get(want, "value"));
		if (!same)
			buf_printf(why, "%s: got %s %s, want %s %s", path,
			    json_string_value(json_object_get(got, "type")), g,
			    type, w);
		return same;
	}
	if (json_is_object(want)) {
		if (!json_is_object(got) || is_tagged(got) ||
		    json_object_size(got) != json_object_size(want)) {
			buf_printf(why, "%s: tables differ", path);
			return 0;
		}
		json_object_keylen_foreach((json_t *)want, key, klen, v) {
			char sub[512];
			json_t *gv = json_object_getn(got, key, klen);

			snprintf(sub, sizeof(sub), "%s.%.*s", path, (int)klen,
			    key);
			if (gv == NULL) {
				buf_printf(why, "%s: missing", sub);
				return 0;
			}
			if (!json_same(gv, v, sub, why))
				return 0;
		}
		return 1;
	}
	if (json_is_array(want)) {
		if (!json_is_array(got) ||
		    json_array_size(got) != json_array_size(want)) {
			buf_printf(why, "%s: arrays differ", path);
			return 0;
		}
		for (i = 0; i < json_array_size(want); i++) {
			char sub[512];

			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (!json_same(json_array_get(got, i),
			    json_array_get(want, i), sub, why))
				return 0;
		}
		return 1;
	}
	buf_printf(why, "%s: unexpected JSON in the expected file", path);
	return 0;
}

/* An error message is "LINE:COL: text". */
static int
good_message(const char *m)
{
	if (m == NULL || !isdigit((unsigned char)*m))
		return 0;
	while (isdigit((unsigned char)*m))
		m++;
	if (*m++ != ':' || !isdigit((unsigned char)*m))
		return 0;
	while (isdigit((unsigned char)*m))
		m++;
	return m[0] == ':' && m[1] == ' ' && m[2] != '\0' &&
	    strchr(m, '\n') == NULL;
}

/* TAP reads "# skip" or "# todo" in a description as a directive. */
static void
tap_safe(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '#' || (unsigned char)*s < 0x20)
			*s = '_';
}

static void
test_suite(const char *dir)
{
	char list[4096], path[4096], line[1024];
	size_t len, n;
	int nvalid = 0, pvalid = 0, ninvalid = 0, pinvalid = 0, rc;
	struct toml *doc;
	struct buf err, why;
	json_error_t jerr;
	json_t *got, *want;
	char *data;
	FILE *f;

	snprintf(list, sizeof(list), "%s/tests/files-toml-1.0.0", dir);
	if ((f = fopen(list, "r")) == NULL) {
		ok(0, "toml-test suite list %s: %s (clone toml-test there or "
		    "set TOML_TEST_DIR)", list, strerror(errno));
		return;
	}
	buf_init(&err, 0);
	buf_init(&why, 0);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		n = strlen(line);
		if (n < 5 || strcmp(line + n - 5, ".toml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/tests/%s", dir, line);
		if ((data = read_all(path, &len)) == NULL) {
			ok(0, "%s: %s", line, strerror(errno));
			continue;
		}
		buf_reset(&err);
		buf_reset(&why);
		rc = toml_parse(data, len, &doc, &err);
		if (strncmp(line, "invalid/", 8) == 0) {
			ninvalid++;
			if (rc == 0)
				ok(0, "%s: accepted", line);
			else {
				tap_safe(err.data ? err.data : "");
				pinvalid += rc == WARD_EPROTO &&
				    good_message(err.data);
				ok(rc == WARD_EPROTO && good_message(err.data),
				    "%s: %s", line, err.data ? err.data : "");
			}
			toml_free(doc);
			free(data);
			continue;
		}
		nvalid++;
		if (rc != 0) {
			ok(0, "%s: %s", line, err.data ? err.data :
			    ward_strerror(rc));
			free(data);
			continue;
		}
		snprintf(path + strlen(path) - 5, 6, ".json");
		want = load_expected(path, &jerr);
		got = to_json(toml_root(doc));
		if (want == NULL)
			buf_printf(&why, "cannot load %s: %s", path, jerr.text);
		else if (json_same(got, want, "", &why))
			pvalid++;
		tap_safe(why.data ? why.data : "");
		ok(why.len == 0, "%s%s%s", line, why.len ? ": " : "",
		    why.len ? why.data : "");
		json_decref(got);
		json_decref(want);
		toml_free(doc);
		free(data);
	}
	fclose(f);
	buf_free(&err);
	buf_free(&why);
	ok(nvalid + ninvalid > 0, "the list names some files");
	printf("# toml-test 1.0.0: valid %d/%d, invalid %d/%d, total %d/%d\n",
	    pvalid, nvalid, pinvalid, ninvalid, pvalid + pinvalid,
	    nvalid + ninvalid);
}

/* ---- by hand ------------------------------------------------------------ */

static struct toml *
parse(const char *s, struct buf *err)
{
	struct toml *doc = NULL;
	int rc;

	buf_reset(err);
	if ((rc = toml_parse(s, strlen(s), &doc, err)) != 0 && doc != NULL)
		printf("# not NULL on failure\n");
	return rc == 0 ? doc : NULL;
}

/* The source text a span covers. */
static const char *
spantext(const char *src, const struct toml_span *sp)
{
	static char s[256];

	snprintf(s, sizeof(s), "%.*s", (int)(sp->end - sp->start),
	    src + sp->start);
	return s;
}

static void
test_positions(void)
{
	static const char src[] =
	    "# ward.toml\n"				/* 1 */
	    "schema_version = 1\n"			/* 2 */
	    "\n"					/* 3 */
	    "[model]\n"					/* 4 */
	    "name = 'claude'   # a comment\n"		/* 5 */
	    "headers.x = \"y\"\n"			/* 6 */
	    "list = [ 1, 2,\n"				/* 7 */
	    "  3 ]\n"					/* 8 */
	    "  [ a . \"b c\" ]\n"			/* 9 */
	    "[[p]]\n"					/* 10 */
	    "k = { a = 1, b.c = 2 }\n"			/* 11 */
	    "[[p]]\n"					/* 12 */
	    "\"\xc3\xa9\xc3\xa9\" = \"\xc3\xbc\"\n";	/* 13 */
	const struct toml_node *root, *model, *v, *p, *a;
	const struct toml_span *sp;
	const struct toml_key *k;
	struct toml *doc;
	struct buf err;
	size_t idx;

	buf_init(&err, 0);
	doc = parse(src, &err);
	ok(doc != NULL, "positions document parses%s%s", err.len ? ": " : "",
	    err.len ? err.data : "");
	if (doc == NULL)
		goto out;
	root = toml_root(doc);
	is_int(toml_len(root), 4, "root has schema_version, model, a, p");
	k = toml_key(root, 0);
	is_str(k->name, "schema_version", "keys in document order (0)");
	is_int(k->span.line, 2, "key line");
	is_int(k->span.col, 1, "key col");
	is_str(spantext(src, &k->span), "schema_version", "key span");
	sp = toml_span(toml_value(root, 0));
	is_int(sp->line, 2, "value line");
	is_int(sp->col, 18, "value col");
	is_str(spantext(src, sp), "1", "value span");

	is_str(toml_key(root, 1)->name, "model", "keys in document order (1)");
	model = toml_get(root, "model");
	is_int(toml_def(model), TOML_DEF_HEADER, "[model] is a header table");
	sp = toml_span(model);
	is_str(spantext(src, sp), "[model]", "header span");
	ok(sp->line == 4 && sp->col == 1, "header line:col 4:1");
	v = toml_get(model, "name");
	is_str(spantext(src, toml_span(v)), "'claude'",
	    "literal string span includes quotes");
	is_int(toml_span(v)->col, 8, "string col");
	v = toml_get(model, "headers");
	is_int(toml_def(v), TOML_DEF_DOTTED, "headers.x makes a dotted table");
	is_str(spantext(src, toml_span(v)), "headers",
	    "a dotted table's span is the key part naming it");
	is_int(toml_span(toml_get(v, "x"))->col, 13, "dotted value col");
	ok(toml_find(v, "x", 1, &idx) == 0 && idx == 0 &&
	    toml_key(v, idx)->span.col == 9, "dotted key part col");
	v = toml_get(model, "list");
	is_str(spantext(src, toml_span(v)), "[ 1, 2,\n  3 ]",
	    "a multi-line array's span");
	is_int(toml_span(toml_at(v, 2))->line, 8, "array element line");
	is_int(toml_span(toml_at(v, 2))->col, 3, "array element col");

	a = toml_get(root, "a");
	is_int(toml_def(a), TOML_DEF_IMPLICIT,
	    "[a.\"b c\"] makes a implicitly");
	ok(toml_span(a)->line == 9 && toml_span(a)->col == 5,
	    "an implicit table's position is where it was named");
	v = toml_get(a, "b c");
	is_str(spantext(src, toml_span(v)), "[ a . \"b c\" ]",
	    "header span with spaces and a quoted key");
	is_int(toml_span(v)->col, 3, "indented header col");
	ok(toml_find(a, "b c", 3, &idx) == 0 &&
	    strcmp(spantext(src, &toml_key(a, idx)->span), "\"b c\"") == 0,
	    "quoted key span includes quotes");

	p = toml_get(root, "p");
	is_int(toml_type(p), TOML_ARRAY, "[[p]] is an array");
	is_int(toml_def(p), TOML_DEF_AOT, "of tables");
	is_int(toml_len(p), 2, "two elements");
	is_int(toml_span(toml_at(p, 0))->line, 10, "element 0 header line");
	is_int(toml_span(toml_at(p, 1))->line, 12, "element 1 header line");
	is_str(spantext(src, toml_span(toml_at(p, 1))), "[[p]]",
	    "element header span");
	is_int(toml_def(toml_at(p, 0)), TOML_DEF_HEADER,
	    "elements are header tables");
	v = toml_get(toml_at(p, 0), "k");
	is_str(spantext(src, toml_span(v)), "{ a = 1, b.c = 2 }",
	    "inline table span");
	is_int(toml_def(v), TOML_DEF_VALUE, "inline tables are values");
	is_int(toml_def(toml_get(v, "b")), TOML_DEF_DOTTED,
	    "dotted tables inside inline tables");

	v = toml_get(toml_at(p, 1), "\xc3\xa9\xc3\xa9");
	ok(v != NULL, "a UTF-8 quoted key");
	is_int(toml_span(v)->col, 8, "columns count characters, not bytes");
	is_int(toml_span(v)->start, strlen(src) - 5, "offsets count bytes");
	is_int(toml_span(root)->end, strlen(src), "root spans the document");
	toml_free(doc);
out:
	buf_free(&err);
}

static void
check_error(const char *src, const char *want, const char *what)
{
	struct toml *doc;
	struct buf err;

	buf_init(&err, 0);
	doc = parse(src, &err);
	ok(doc == NULL, "%s: rejected", what);
	is_str(err.data, want, "%s: message", what);
	toml_free(doc);
	buf_free(&err);
}

static void
test_errors(void)
{
	struct toml *doc = (struct toml *)1;

	check_error("a = 1\na = 2\n", "2:1: duplicate key a", "duplicate key");
	check_error("[x]\ny.z = 1\n[x.y]\n",
	    "3:4: table x.y is already defined by dotted keys",
	    "header after dotted keys");
	check_error("[a]\nb = 1\n\n[a]\n",
	    "4:2: table [a] is already defined at line 1", "table twice");
	check_error("a = \"abc\n", "1:9: newline in a single-line string",
	    "unterminated string");
	check_error("s = \"\xc3\xa9\xff\"\n", "1:7: invalid UTF-8",
	    "invalid UTF-8 column");
	check_error("a = 1 b = 2\n",
	    "1:7: expected a newline after the value, found 'b'",
	    "two pairs on a line");
	check_error("a = { b = 1 }\na.c = 2\n",
	    "2:1: inline table a cannot be extended", "inline table frozen");
	check_error("a = [1]\n[[a]]\n",
	    "2:3: a is already a static array, not an array of tables",
	    "static array vs [[a]]");
	check_error("x = \"\\q\"\n", "1:6: invalid escape sequence \\q",
	    "bad escape");
	check_error("x = \"\\uD800\"\n",
	    "1:6: U+D800 is not a Unicode scalar value", "surrogate escape");
	check_error("x = hello\n",
	    "1:5: expected a value, found 'hello' (strings need quotes)",
	    "bare word value");
	check_error("x = 2023-02-29\n",
	    "1:5: invalid date: 2023-02 has no day 29", "feb 29");
	check_error("\"a\\u0000b\" = 1\n\"a\\u0000b\" = 2\n",
	    "2:1: duplicate key \"a\\u0000b\"", "keys with NUL in messages");
	check_error("x = 1 # bell \x07\n",
	    "1:14: control character U+0007 in a comment", "control char");
	check_error("a = [1, 2\n", "2:1: expected ',' or ']' in an array, "
	    "found end of file", "unclosed array");
	ok(toml_parse("a = =", 5, &doc, NULL) == WARD_EPROTO && doc == NULL,
	    "err may be NULL; *out is NULL on failure");
}

static char *
repeat(const char *pre, const char *unit, int n, const char *mid,
    const char *unit2, const char *post)
{
	struct buf b;
	int i;

	buf_init(&b, 0);
	buf_puts(&b, pre);
	for (i = 0; i < n; i++)
		buf_puts(&b, unit);
	buf_puts(&b, mid);
	for (i = 0; unit2 != NULL && i < n; i++)
		buf_puts(&b, unit2);
	buf_puts(&b, post);
	return buf_take(&b);
}

/* base: the depth pre already reaches. */
static void
check_depth(const char *what, int base, const char *pre, const char *unit,
    const char *mid, const char *unit2, const char *post)
{
	struct toml *doc;
	struct buf err;
	char *s;
	int n;

	buf_init(&err, 0);
	for (n = TOML_MAX_DEPTH; n <= TOML_MAX_DEPTH + 1; n++) {
		s = repeat(pre, unit, n - base, mid, unit2, post);
		doc = parse(s, &err);
		if (n == TOML_MAX_DEPTH)
			ok(doc != NULL, "%s %d deep parses", what, n);
		else
			ok(doc == NULL && strstr(err.data,
			    "nested deeper than 128") != NULL,
			    "%s %d deep: %s", what, n, err.data);
		toml_free(doc);
		free(s);
	}
	buf_free(&err);
}

static void
check_int(const char *src, int good, int64_t want)
{
	struct toml *doc;
	struct buf err;
	int64_t v = 0;

	buf_init(&err, 0);
	doc = parse(src, &err);
	if (good)
		ok(doc != NULL && toml_int(toml_get(toml_root(doc), "x"),
		    &v) == 0 && v == want, "%s", src);
	else
		ok(doc == NULL && strstr(err.data, "out of range") != NULL,
		    "%s: %s", src, err.data);
	toml_free(doc);
	buf_free(&err);
}

static void
test_limits(void)
{
	/* The root table is depth 0, [a] depth 1, a = [] depth 1. */
	check_depth("arrays", 0, "a = ", "[", "", "]", "\n");
	check_depth("inline tables", 0, "a = ", "{b = ", "1", "}", "\n");
	check_depth("headers", 1, "[a", ".a", "]", NULL, "\n");
	check_depth("array of tables headers", 2, "[[a", ".a", "]]", NULL,
	    "\n");
	check_depth("dotted keys", 0, "a", ".a", " = 1", NULL, "\n");
	check_depth("arrays in tables", 1, "[t]\na = ", "[", "", "]", "\n");
	check_int("x = 9223372036854775807", 1, INT64_MAX);
	check_int("x = -9223372036854775808", 1, INT64_MIN);
	check_int("x = 9_223_372_036_854_775_808", 0, 0);
	check_int("x = -9223372036854775809", 0, 0);
	check_int("x = 0x7fff_ffff_ffff_ffff", 1, INT64_MAX);
	check_int("x = 0x8000000000000000", 0, 0);
	check_int("x = 0o777777777777777777777", 1, INT64_MAX);
	check_int("x = 0o1000000000000000000000", 0, 0);
	check_int("x = 0b" "1111111111111111111111111111111"
	    "11111111111111111111111111111111", 1, INT64_MAX);
	check_int("x = 99999999999999999999999999", 0, 0);
}

static void
test_values(void)
{
	const struct toml_node *root, *v;
	const struct toml_datetime *dt;
	struct toml *doc;
	struct buf err, big;
	const char *s;
	double f;
	size_t len;
	int i, bad, b;

	buf_init(&err, 0);
	doc = parse("s = \"a\\u0000b\"\n\"k\\u0000\" = 1\n"
	    "m = \"\"\"\r\nx\r\ny\\\r\n   z\"\"\"\r\n"
	    "d = 1979-05-27t07:32:00.1234567891-07:30\n"
	    "t = 07:32:00\nf = 1e-400\nb = true\n", &err);
	ok(doc != NULL, "values parse%s%s", err.len ? ": " : "",
	    err.len ? err.data : "");
	root = toml_root(doc);
	s = toml_str(toml_get(root, "s"), &len);
	ok(s != NULL && len == 3 && memcmp(s, "a\0b", 4) == 0,
	    "\\u0000 in a string, length kept, NUL-terminated");
	ok(toml_getn(root, "k\0", 2) != NULL && toml_get(root, "k") == NULL,
	    "a key with NUL needs toml_getn");
	s = toml_str(toml_get(root, "m"), &len);
	is_str(s, "x\nyz", "CRLF in a multi-line string becomes LF; line-"
	    "ending backslash");
	dt = toml_datetime(toml_get(root, "d"));
	ok(dt != NULL && dt->year == 1979 && dt->month == 5 && dt->day == 27 &&
	    dt->hour == 7 && dt->minute == 32 && dt->second == 0 &&
	    dt->nanosecond == 123456789 && dt->offset == -450,
	    "date-time fields, fraction truncated to nanoseconds");
	is_str(dt ? dt->text : NULL, "1979-05-27t07:32:00.1234567891-07:30",
	    "date-time text as written");
	is_int(toml_type(toml_get(root, "d")), TOML_DATETIME, "offset type");
	is_int(toml_type(toml_get(root, "t")), TOML_TIME_LOCAL, "local time");
	ok(toml_float(toml_get(root, "f"), &f) == 0 && f == 0.0,
	    "float underflow is zero");
	ok(toml_bool(toml_get(root, "b"), &b) == 0 && b == 1, "bool");
	ok(toml_int(toml_get(root, "b"), &(int64_t){0}) == WARD_EINVAL,
	    "no conversions between types");
	toml_free(doc);

	doc = parse("f = 1e400\n", &err);
	ok(doc == NULL && strstr(err.data, "float out of range") != NULL,
	    "float overflow is an error");

	/* Enough keys to use the table's hash index; every one findable,
	 * a repeated one still a duplicate. */
	buf_init(&big, 0);
	for (i = 0; i < 20000; i++)
		buf_printf(&big, "k%d = %d\n", i, i);
	doc = parse(big.data, &err);
	ok(doc != NULL, "20000 keys parse");
	root = toml_root(doc);
	for (i = 0, bad = 0; i < 20000; i++) {
		char k[16];
		int64_t x;

		snprintf(k, sizeof(k), "k%d", i);
		if (toml_int(toml_get(root, k), &x) != 0 || x != i ||
		    strcmp(toml_key(root, (size_t)i)->name, k) != 0)
			bad++;
	}
	is_int(bad, 0, "every key found, in document order");
	ok(toml_get(root, "k20000") == NULL, "a missing key is NULL");
	toml_free(doc);
	buf_puts(&big, "k12345 = 0\n");
	doc = parse(big.data, &err);
	ok(doc == NULL && strstr(err.data, "20001:1: duplicate key k12345") ==
	    err.data, "duplicate found through the index: %s", err.data);
	buf_free(&big);

	toml_free(NULL);
	ok(toml_root(NULL) == NULL && toml_type(NULL) == 0 &&
	    toml_len(NULL) == 0 && toml_get(toml_get(NULL, "a"), "b") ==
	    NULL && toml_at(NULL, 0) == NULL && toml_str(NULL, NULL) ==
	    NULL && toml_datetime(NULL) == NULL && toml_key(NULL, 0) ==
	    NULL && toml_span(NULL)->line == 0, "NULL nodes are harmless");
	v = NULL;
	ok(toml_find(v, "a", 1, &len) == WARD_EINVAL, "find on NULL");
	is_str(toml_type_name(TOML_DATE_LOCAL), "local date", "type names");
	buf_free(&err);
}

int
main(void)
{
	const char *dir = getenv("TOML_TEST_DIR");

	test_suite(dir != NULL && *dir != '\0' ? dir : "../shared/toml-test");
	test_positions();
	test_errors();
	test_limits();
	test_values();
	return done_testing();
}

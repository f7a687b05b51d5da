/*
 * The agent's JSON reader (agent/ajson.c), compiled natively: model output
 * is untrusted, so malformed and hostile inputs must fail cleanly.
 */
#include <stdlib.h>
#include <string.h>

#include "ajson.h"
#include "tap.h"

static int
parse(struct ajson *j, const char *s, const char **why)
{
	return ajson_parse(j, s, strlen(s), why);
}

int
main(void)
{
	struct ajson j;
	const char *why = NULL;
	uint64_t u;
	size_t len;
	char *s;
	int b, i;

	ok(parse(&j, "{\"path\":\"a\\/b\\n\\u00e9\\ud83d\\ude00\",\"n\":42,"
	    "\"f\":true,\"arr\":[\"x\",{\"y\":[1,2]},\"z\"]}", &why) == 0,
	    "parses an object");
	i = ajson_member(&j, "path");
	s = ajson_string(&j, i, &len);
	is_str(s, "a/b\n\xc3\xa9\xf0\x9f\x98\x80", "unescapes \\/, \\n, \\u "
	    "and surrogate pairs");
	free(s);
	ok(ajson_u64(&j, ajson_member(&j, "n"), &u) == 0 && u == 42,
	    "reads an integer");
	ok(ajson_bool(&j, ajson_member(&j, "f"), &b) == 0 && b == 1,
	    "reads a boolean");
	is_int(ajson_array_len(&j, ajson_member(&j, "arr")), 3, "array length");
	i = ajson_array_at(&j, ajson_member(&j, "arr"), 2);
	s = ajson_string(&j, i, NULL);
	is_str(s, "z", "array element after a nested value");
	free(s);
	is_int(ajson_member(&j, "missing"), -1, "a missing member is -1");
	is_int(ajson_member(&j, "y"), -1, "nested members are not top-level");
	ok(ajson_u64(&j, ajson_member(&j, "path"), &u) != 0,
	    "a string is not an integer");
	ok(ajson_bool(&j, ajson_member(&j, "n"), &b) != 0,
	    "a number is not a boolean");
	ajson_free(&j);

	ok(parse(&j, "{\"s\":\"a\\u0000b\"}", &why) == 0, "NUL escape parses");
	s = ajson_string(&j, ajson_member(&j, "s"), &len);
	ok(s != NULL && len == 3 && s[1] == '\0', "an embedded NUL keeps its "
	    "length so callers can refuse it");
	free(s);
	ajson_free(&j);

	ok(parse(&j, "{\"s\":\"\\ud800\"}", &why) == 0, "lone surrogate "
	    "tokenises");
	ok(ajson_string(&j, ajson_member(&j, "s"), NULL) == NULL,
	    "but a lone high surrogate is refused");
	ajson_free(&j);
	ok(parse(&j, "{\"s\":\"\\udc00x\"}", &why) == 0 &&
	    ajson_string(&j, ajson_member(&j, "s"), NULL) == NULL,
	    "a lone low surrogate is refused");
	ajson_free(&j);
	ok(parse(&j, "{\"s\":\"\\q\"}", &why) != 0 ||
	    ajson_string(&j, ajson_member(&j, "s"), NULL) == NULL,
	    "an unknown escape is refused");
	ajson_free(&j);

	ok(parse(&j, "{\"n\":-1,\"big\":99999999999999999999,\"f\":1.5}",
	    &why) == 0, "numbers parse");
	ok(ajson_u64(&j, ajson_member(&j, "n"), &u) != 0, "negative refused");
	ok(ajson_u64(&j, ajson_member(&j, "big"), &u) != 0,
	    "more than 19 digits refused");
	ok(ajson_u64(&j, ajson_member(&j, "f"), &u) != 0, "fraction refused");
	ajson_free(&j);

	ok(parse(&j, "[1,2]", &why) != 0, "an array is not an object");
	is_str(why, "not a JSON object", "and says so");
	ok(parse(&j, "", &why) != 0, "empty text is refused");
	ok(parse(&j, "{\"a\":", &why) != 0, "truncated JSON is refused");
	ok(parse(&j, "{\"a\":1} x", &why) != 0, "trailing garbage is refused");
	ok(parse(&j, "{a:1}", &why) != 0, "unquoted keys are refused (strict)");
	ok(parse(&j, "{\"a\":1}  \n", &why) == 0, "trailing white space is "
	    "fine");
	ajson_free(&j);
	ok(parse(&j, "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}",
	    &why) == 0 && ajson_array_at(&j, ajson_member(&j, "a"), 1) == -1,
	    "deep nesting is bounded by the token array");
	ajson_free(&j);
	return done_testing();
}

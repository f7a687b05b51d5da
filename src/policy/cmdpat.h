/*
 * Command patterns and the decision for one shell command line (DESIGN §3
 * "Command patterns", §2 invariant 6). A pattern is "w1 w2:*" (the simple
 * command's words start with w1 w2) or "w1 w2" (exactly those words). Every
 * simple command of a line, however deeply nested, is decided on its own
 * and the line is as strict as its strictest part. This is the matching
 * core; reading the patterns out of ward.toml is the manifest's job.
 */
#ifndef WARD_CMDPAT_H
#define WARD_CMDPAT_H

#include <stddef.h>

#include "../lib/buf.h"
#include "shell.h"

enum cmdpat_decision { CMDPAT_ALLOW, CMDPAT_PROMPT, CMDPAT_DENY };

/* [security] redirects. NONE (0, the strictest) refuses every redirect
 * but here-documents and here-strings; MERGE also allows 2>&1, >&-, and
 * /dev/null; FILES also lets a redirect name a file, decided by the
 * rules' file callback as a read (<) or a write (> >> &> ...). */
enum cmdpat_redirects { CMDPAT_REDIR_NONE, CMDPAT_REDIR_MERGE,
	CMDPAT_REDIR_FILES };

struct cmdpat_index;		/* allow and deny patterns by program word */

struct cmdpat {
	char	**words;	/* literal words, at least one */
	size_t	  nwords;
	int	  exact;	/* no ":*": exactly these words */
	int	  prompt;	/* an allow that asks every time */
	char	 *text;		/* as written, for reporting */
	int	  risky;	/* private: names an escalation program (1)
				   or an interpreter (2) */
};

struct cmdpat_rules {
	const struct cmdpat	*allow;
	size_t			 nallow;
	const struct cmdpat	*deny;
	size_t			 ndeny;
	int			 runtime_expansion;	/* unmatched: prompt
							   (1) or deny (0) */
	/* SHELL_L_PIPE, _COMPOUND, _SUBSHELL, _BACKGROUND: a line using a
	 * construct [security] does not allow is denied whole (0: none). */
	unsigned		 forbid;
	/* NULL: the lists are scanned; else made by cmdpat_index_new from
	 * these same lists, so a decision looks only at the patterns that
	 * name the part's program. */
	const struct cmdpat_index *index;
	enum cmdpat_redirects	 redirects;
	/* With CMDPAT_REDIR_FILES: decides the file a redirect names (write
	 * 1 for > >> &> ..., 0 for <) and appends the rule that decided to
	 * why. NULL: every redirect to a file prompts. */
	enum cmdpat_decision	(*file)(void *arg, const char *path,
				    int write, struct buf *why);
	void			*file_arg;
};

/* The patterns a user can pick for a prompted command, broadest first
 * ("cargo:*", "cargo nextest:*", ..., "cargo nextest run -p x"), and the
 * one ward recommends: program plus subcommand, or the exact command for
 * privilege escalation and interpreters. nlevels is 0 when the program
 * word is not a literal a pattern can name. */
struct cmdpat_suggest {
	char	**levels;
	size_t	  nlevels;
	size_t	  recommended;	/* index into levels */
};

struct cmdpat_part {
	const char		*command;	/* the simple command's words
						   (owned by the result) */
	enum cmdpat_decision	 decision;
	const struct cmdpat	*rule;		/* NULL when no rule decided */
	const char		*reason;	/* static text */
	char			*detail;	/* a redirect that decided:
						   "write out.txt: RULE";
						   else NULL */
	struct cmdpat_suggest	 suggest;	/* for a prompt */
};

struct cmdpat_result {
	enum cmdpat_decision	 decision;	/* the strictest part */
	const struct cmdpat	*rule;		/* of the deciding part */
	const char		*reason;
	/* The deciding part, or NULL when a line-wide rule decided
	 * ([security], unparseable, empty). */
	const struct cmdpat_part *part;
	struct cmdpat_part	*parts;
	size_t			 nparts;
	char			*words;		/* private: the parts'
						   command strings */
};

/* Parses a pattern. Returns 0 and fills *p (free with cmdpat_clear), or
 * WARD_EINVAL with the reason in err (may be NULL): empty, invalid UTF-8, a
 * control character, a word with shell syntax (quotes, $, `, globs,
 * ;|&<>()), ":*" anywhere but at the end. */
int	cmdpat_parse(const char *text, int prompt, struct cmdpat *p,
	    struct buf *err);
void	cmdpat_clear(struct cmdpat *p);

/* 1 when the pattern matches the simple command. Words that are not known
 * statically (variables, globs, substitutions) never match a literal, and
 * the program word is compared as written: "./cargo" is not "cargo". */
int	cmdpat_match(const struct cmdpat *p, const struct shell_cmd *c);

/* Decides a command line. Returns 0 and fills *res (free with
 * cmdpat_result_clear), or a negative WARD_E* from the shell front end.
 * Never returns allow for anything it did not fully understand. */
int	cmdpat_decide(const struct cmdpat_rules *r, const char *cmd,
	    struct cmdpat_result *res, struct buf *err);

/* The same for a line already through shell_parse and shell_unwrap (a
 * caller that decides one line several times parses it once). Returns
 * 0 or WARD_ENOMEM. */
int	cmdpat_decide_list(const struct cmdpat_rules *r,
	    const struct shell_list *l, struct cmdpat_result *res);
void	cmdpat_result_clear(struct cmdpat_result *res);

/* Builds the index of the two lists (which must outlive it). Returns 0
 * and sets *out (free with cmdpat_index_free), or WARD_ENOMEM. */
int	cmdpat_index_new(const struct cmdpat *allow, size_t nallow,
	    const struct cmdpat *deny, size_t ndeny,
	    struct cmdpat_index **out);
void	cmdpat_index_free(struct cmdpat_index *ix);

/* Fills *s for the simple command c. Returns 0 or WARD_ENOMEM; free
 * with cmdpat_suggest_clear (a no-op on a zeroed one). */
int	cmdpat_suggest(const struct shell_cmd *c, struct cmdpat_suggest *s);
void	cmdpat_suggest_clear(struct cmdpat_suggest *s);

/* "allow", "prompt" or "deny". */
const char *cmdpat_name(enum cmdpat_decision d);

#endif

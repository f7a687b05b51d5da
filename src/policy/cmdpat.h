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

struct cmdpat {
	char	**words;	/* literal words, at least one */
	size_t	  nwords;
	int	  exact;	/* no ":*": exactly these words */
	int	  prompt;	/* an allow that asks every time */
	char	 *text;		/* as written, for reporting */
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
};

struct cmdpat_part {
	char			*command;	/* the simple command's words */
	enum cmdpat_decision	 decision;
	const struct cmdpat	*rule;		/* NULL when no rule decided */
	const char		*reason;	/* static text */
};

struct cmdpat_result {
	enum cmdpat_decision	 decision;	/* the strictest part */
	const struct cmdpat	*rule;		/* of the deciding part */
	const char		*reason;
	struct cmdpat_part	*parts;
	size_t			 nparts;
};

/* Parses a pattern. Returns 0 and fills *p (free with cmdpat_clear), or
 * WARD_EINVAL with the reason in err: empty, a word with shell syntax
 * (quotes, $, `, globs, ;|&<>()), ":*" anywhere but at the end. */
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
void	cmdpat_result_clear(struct cmdpat_result *res);

/* "allow", "prompt" or "deny". */
const char *cmdpat_name(enum cmdpat_decision d);

#endif

/*
 * One agent session: a fresh component instance bound to a project root, a
 * model provider, the tools and a per-session store. The session implements
 * the component's imports (host.h) and reports what happens as transcript
 * events through a sink, which the server forwards to the CLI.
 */
#ifndef WARD_SESSION_H
#define WARD_SESSION_H

#include <jansson.h>

#include "../lib/buf.h"
#include "../policy/answer.h"
#include "host.h"

#define SESSION_ID_LEN	32	/* hex characters */

/* A command the policy prompts for (DESIGN §3 "The four answers"). */
struct session_permit {
	const char	*command;	/* the simple command asked about */
	const char	*line;		/* the whole command line */
	const char	*reason;
	char *const	*levels;	/* patterns, broadest first; may be
					   none (only allow/deny then) */
	size_t		 nlevels;
	size_t		 recommended;	/* index into levels */
};

struct session_sink {
	/* Called with a transcript event (not consumed), e.g.
	 * {"kind":"assistant","text":"..."}; see doc/PROTOCOL.md. */
	void	(*event)(void *arg, json_t *ev);
	/* Asks the user; returns 0 and a malloc'd *answer, or WARD_ENOENT
	 * when nobody can answer. */
	int	(*ask)(void *arg, const char *question, char **answer);
	/* Asks the user about a prompted command. Returns 0 with *a and
	 * *pattern (malloc'd or NULL; the session checks it is one of the
	 * levels) and *unattended set when nobody could answer (the answer
	 * is then a deny); or a negative WARD_E* when the client went away
	 * or cancelled the turn: the command is refused and the session
	 * stops. May be NULL (every prompt is a deny, unattended). */
	int	(*permit)(void *arg, const struct session_permit *p,
		    enum answer *a, char **pattern, int *unattended);
	/* Non-zero once nobody is listening: the session is then stopped at
	 * the agent's next host call. May be NULL. */
	int	(*cancelled)(void *arg);
	/* on: events may wait a little and go out together (a run of quick
	 * tools: one write, one wake-up of the client, not two a call);
	 * off: send what waits now. May be NULL. */
	void	(*hold)(void *arg, int on);
	void	*arg;
};

struct session_config {
	const char	*root;		/* absolute project root */
	const char	*provider;
	const char	*model;
	unsigned	 max_turns;	/* 0: default (50) */
	const char	*resume;	/* NULL, or the id of a session of
					   this project to continue */
	const char	*state_dir;	/* ward's state directory */
};

struct session_result {
	char			 id[SESSION_ID_LEN + 1];
	struct host_turn	 turn;	/* valid when session_run returned 0 */
};

/* Runs one session to completion: instantiate, init, handle `prompt`.
 * Returns 0 (res->turn filled; free res->turn.text), or a negative WARD_E*
 * with a message in err (WARD_ETRAP: the agent was stopped). res->id is
 * set as soon as the session exists, even on failure. */
int	session_run(struct host *h, const struct session_config *cfg,
	    const char *prompt, const struct session_sink *sink,
	    struct session_result *res, struct buf *err);

#endif

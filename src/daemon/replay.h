/*
 * `ward replay`: re-runs a recorded session's agent component against what
 * its audit log recorded (DESIGN §4). The model's replies and the tools'
 * results come from the log, not from the model or the project, and each
 * tool call the agent makes is checked against the one recorded, so a
 * changed agent, or a log that does not describe what the agent did, shows
 * as the first record where the two part.
 */
#ifndef WARD_REPLAY_H
#define WARD_REPLAY_H

#include <stdint.h>

#include "../lib/buf.h"
#include "host.h"

struct replay_report {
	unsigned	turns;		/* model replies handed to the agent */
	unsigned	tool_calls;	/* recorded results handed to it */
	int		diverged;
	struct buf	why;		/* when diverged: "diverged at record
					 * SEQ: ..."; buf_free it */
};

/*
 * Verifies the log at path under the pinned key pk (audit_verify), then
 * runs each of its sessions (session_start or session_resume, then one
 * handle-message per user_message) in fresh instances of h, with the
 * recorded replies and results as the imports and an in-memory store
 * shared by all of them. rep is filled in (replay_report_free it).
 * Returns 0 (replayed to the end or to the first divergence; see
 * rep->diverged), WARD_EPROTO (the log does not verify or is torn: why
 * in err), or another negative WARD_E* (cannot read the log, cannot
 * instantiate the agent) with a message in err.
 */
int	replay_run(struct host *h, const char *path, const unsigned char pk[32],
	    struct replay_report *rep, struct buf *err);

/* Frees rep's storage. */
void	replay_report_free(struct replay_report *rep);

#endif

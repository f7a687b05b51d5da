/*
 * One command, decided and run (DESIGN §4 `ward sandbox run`, §5
 * `command_run`): the policy decides the line, the grants of its parts
 * build the envelope, an egress proxy serves the hosts they name, and the
 * command runs. `ward sandbox run` and the agent's command_run both come
 * here, so they cannot differ.
 */
#ifndef WARD_CMDRUN_H
#define WARD_CMDRUN_H

#include "../lib/buf.h"
#include "../policy/policy.h"
#include "envelope.h"

struct cmdrun_opts {
	unsigned	 timeout_s;	/* 0: [command_run] command_timeout */
	int		 prompt_ok;	/* the user answered Allow: a decision
					   of prompt runs; else it is refused */
	const char	*spill_path;	/* NULL, or where all output goes too */
	int		 stdin_fd;	/* -1: /dev/null */
	char *const	*envp;		/* where granted variables come from */
};

struct cmdrun_result {
	enum cmdpat_decision	 decision;
	const char		*reason;	/* static */
	char			*rule;		/* the deciding rule, or NULL */
	int			 ran;		/* 1 when the command ran */
	struct envelope_result	 env;		/* valid when ran */
	char			*revoked;	/* when ran and env.cancelled:
						   the secret whose revocation
						   stopped it; else NULL */
	struct buf		 denials;	/* "sandbox denied network:
						   HOST: why" lines */
};

/*
 * Decides cmd for the project at root (absolute, real) and, when it may
 * run, runs it in its envelope. Returns 0 with *r filled (free with
 * cmdrun_result_clear) -- also when the policy refused it (r->ran 0, the
 * reason and rule say why) --, or a negative WARD_E* when the decision or
 * the sandbox could not be made (message in err; nothing ran).
 */
int	cmdrun(const struct policy *pol, const char *root, const char *cmd,
	    const struct cmdrun_opts *o, struct cmdrun_result *r,
	    struct buf *err);
void	cmdrun_result_clear(struct cmdrun_result *r);

/*
 * Stops every command cmdrun is running in this process that was given
 * the secret name: its whole sandbox is killed, and its result has
 * env.cancelled set and revoked naming the secret. The caller revokes the
 * secret in the vault first (so no new command gets it). Returns how many
 * were stopped. May be called from any thread.
 */
int	cmdrun_revoke(const char *name);

struct redact;

/*
 * A redactor over every value in the user's vault and its encodings
 * (src/vault/redact.h), revoked values too; *rp is NULL when there is no
 * vault. Returns 0 or a WARD_E* with a message in err: then nothing that
 * could carry a secret may be shown. cmdrun redacts a command's output,
 * spill file and network refusals with one; the session redacts every
 * tool result with another.
 */
int	cmdrun_redactor(struct redact **rp, struct buf *err);

/* Passes b through rd, whole (a flush at the end). Returns 0 or ENOMEM. */
int	cmdrun_redact_buf(struct redact *rd, struct buf *b);

#endif

/*
 * The policy engine's front door: one manifest bound to one project root,
 * and the three questions every tool call asks of it (DESIGN §3, §4 `ward
 * policy check`): may this command line run, may this path be read,
 * listed or written, and may this command reach this host. The daemon and
 * `ward policy check` both ask here, so what the check prints is what the
 * agent gets.
 */
#ifndef WARD_POLICY_H
#define WARD_POLICY_H

#include "../lib/buf.h"
#include "cmdpat.h"
#include "manifest.h"
#include "pathpat.h"

struct policy;

struct policy_host_result {
	enum cmdpat_decision	 decision;	/* allow or deny */
	char			*rule;		/* the rule that decided, or
						   NULL */
	const char		*reason;	/* static text, never NULL */
};

/*
 * Binds m to the project at root (absolute). Takes ownership of m, also
 * on failure. Returns 0 and *out (free with policy_free), WARD_EINVAL for
 * a relative root, or WARD_ENOMEM.
 */
int	policy_new(const char *root, struct manifest *m, struct policy **out);

/* Frees p and its manifest; NULL is a no-op. */
void	policy_free(struct policy *p);

const struct manifest *policy_manifest(const struct policy *p);

/*
 * Decides a command line: cmdpat_decide with the manifest's rules, and
 * redirects to files (with [security] redirects = "files") decided as
 * reads and writes of paths. Same returns as cmdpat_decide.
 */
int	policy_command(const struct policy *p, const char *cmd,
	    struct cmdpat_result *res, struct buf *err);

/* Decides a read, listing or write of path: pathpat_decide for this
 * manifest and root. Same returns. */
int	policy_path(const struct policy *p, const char *path,
	    enum pathpat_op op, struct pathpat_result *res, struct buf *err);

/*
 * Decides whether the command line cmd may reach host through the egress
 * proxy: a denied command reaches nothing; a host under
 * [capabilities.deny.commands] domains is never reached; otherwise the host
 * must match the domains of the grant of a part of cmd (the allow pattern
 * that decided the part, or for a part no pattern matched, what a new
 * bare pattern would get), or default_domains for a grant that inherits
 * them. Returns 0 with *res filled (free with policy_host_result_clear),
 * or a negative WARD_E* from deciding cmd (message in err).
 */
int	policy_host(const struct policy *p, const char *host, const char *cmd,
	    struct policy_host_result *res, struct buf *err);
void	policy_host_result_clear(struct policy_host_result *res);

#endif

/*
 * From a decision to an envelope: what a command the policy let through
 * may see, write, reach and inherit (DESIGN §2 items 2-4, doc/SANDBOX.md).
 * Paths become bind mounts, so the view is made of directories and files,
 * not globs: a `paths` entry grants the directory its glob starts with
 * (src for any glob under src), file-name globs cannot narrow a bind, and
 * the deny lists and the secret mask list are applied on top by hiding
 * each matching file or directory that exists.
 */
#ifndef WARD_GRANT_H
#define WARD_GRANT_H

#include <stddef.h>

#include "../lib/buf.h"
#include "../policy/policy.h"
#include "envelope.h"

struct grant_strv {
	char	**v;
	size_t	  n;
};

/* An envelope_spec and the strings it points to. */
struct grant {
	struct envelope_spec	 spec;
	char			*cwd;
	struct grant_strv	 ro, rw, hide, ro_over, env;
	struct grant_strv	 domains;	/* hosts the command may reach
						   (host patterns) */
	struct grant_strv	 secrets;	/* vault names every part's
						   grant lists (cmdrun injects
						   them) */
};

/*
 * Builds the envelope for cmd, which the policy decided as dec (its parts'
 * rules name the grants), in the project at root (absolute, real). envp is
 * the environment variables may be taken from (the caller's). Returns 0 and
 * fills g (free with grant_clear; spec.command, timeout and output fields
 * are the caller's to set), or WARD_EINVAL / WARD_ESYS / WARD_ENOMEM with
 * a message in err.
 */
int	grant_build(const struct policy *pol, const char *root,
	    const struct cmdpat_result *dec, char *const *envp,
	    struct grant *g, struct buf *err);

/* Frees what g holds; a zeroed g is fine. */
void	grant_clear(struct grant *g);

/* The secret mask list: paths under $HOME (written "~/...") and system
 * paths hidden from every command, whatever the manifest says. */
extern const char *const grant_secret_paths[];

#endif

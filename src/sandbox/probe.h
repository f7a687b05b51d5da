/*
 * Kernel-feature probes for the command sandbox (DESIGN §2 invariant 2).
 * ward never runs a command outside the sandbox, so before it runs any it
 * must know that the kernel can build the sandbox; `ward doctor` prints the
 * same report so the user learns exactly what is missing and how to fix it.
 *
 * Probes that would change process state (unshare, no_new_privs, seccomp,
 * Landlock) run in forked children; the caller's namespaces, credentials,
 * no_new_privs bit and seccomp mode are never touched. One child uses
 * libseccomp (malloc) after fork: call probe_run before starting threads,
 * or rely on glibc's fork-safe malloc.
 *
 * Test hook: the environment variable WARD_PROBE_DISABLE may hold a
 * comma-separated list of feature names (see probe_name below, e.g.
 * "landlock,userns"). Each named feature is not probed and is reported as
 * missing (or optional-missing) with the detail
 * "disabled by WARD_PROBE_DISABLE (test hook)". Unknown names are ignored.
 * The hook can only make a feature look absent, never present, so it cannot
 * weaken the refusal to run commands without a sandbox.
 */
#ifndef WARD_PROBE_H
#define WARD_PROBE_H

#include <limits.h>

/* One index per feature; the order is the order of the report. */
enum probe_feature {
	PROBE_USERNS,		/* "userns": unshare user+mount+pid+net+ipc+uts+cgroup
				 * namespaces and write uid_map/gid_map (required) */
	PROBE_LANDLOCK,		/* "landlock": Landlock ABI >= 1 that can be
				 * enforced (required) */
	PROBE_SECCOMP,		/* "seccomp": a libseccomp filter loads and
				 * filters (required) */
	PROBE_NNP,		/* "no_new_privs": PR_SET_NO_NEW_PRIVS (required) */
	PROBE_CGROUP,		/* "cgroup2": /sys/fs/cgroup is cgroup2 and our
				 * cgroup is delegated with memory and pids
				 * (optional: rlimits are the fallback) */
	PROBE_PIDFD,		/* "pidfd": pidfd_open(2) (optional) */
	PROBE_NFEATURES
};

enum probe_status {
	PROBE_NOT_RUN = 0,	/* never left set by probe_run */
	PROBE_OK,
	PROBE_MISSING,		/* a required feature is absent */
	PROBE_OPTIONAL_MISSING	/* an optional feature is absent */
};

#define PROBE_DETAIL_MAX	256
#define PROBE_FIX_MAX		256

struct probe_entry {
	const char		*name;		/* static, e.g. "landlock" */
	int			 required;	/* 1 if ward refuses without it */
	enum probe_status	 status;
	char			 detail[PROBE_DETAIL_MAX]; /* e.g. "ABI 4" */
	char			 fix[PROBE_FIX_MAX];	/* one line; "" when ok */
};

struct probe_report {
	struct probe_entry	 feat[PROBE_NFEATURES];	/* indexed by probe_feature */
	int			 landlock_abi;	/* 0 when Landlock is unusable */
	long			 userns_clone;	/* kernel.unprivileged_userns_clone,
						 * -1 when the sysctl is absent */
	long			 max_userns;	/* user.max_user_namespaces, -1
						 * when absent */
	char			 cgroup_dir[PATH_MAX]; /* our delegated cgroup
						 * directory, "" unless cgroup2
						 * is ok */
};

/*
 * Probes every feature and fills r completely (every entry gets a name,
 * a status other than PROBE_NOT_RUN and a non-empty detail; fix is
 * non-empty whenever status is not PROBE_OK). Reads WARD_PROBE_DISABLE.
 * Returns 0, WARD_EINVAL when r is NULL, or WARD_ESYS when a probe could
 * not be run at all (pipe or fork failed); in that case r is still filled
 * and the feature concerned is marked missing with the reason as detail.
 */
int		 probe_run(struct probe_report *r);

/* Returns 1 when every required feature in r is PROBE_OK, else 0. What
 * is required comes from probe.c, not from r, so a NULL or never-filled
 * report gives 0. */
int		 probe_ok(const struct probe_report *r);

/* Returns the feature's static name ("userns", "landlock", "seccomp",
 * "no_new_privs", "cgroup2", "pidfd"), or NULL when f is out of range. */
const char	*probe_name(enum probe_feature f);

/* Returns "ok", "missing", "optional-missing" or "not-run" (static, never
 * NULL; "unknown" for values outside the enum). */
const char	*probe_status_name(enum probe_status s);

/* 1 when the WARD_PROBE_DISABLE test hook names feature name ("userns",
 * "landlock", "seccomp", ...): the sandbox then refuses to run commands
 * exactly as if the kernel lacked it. The hook can only take a layer away. */
int	probe_disabled(const char *name);

#endif

/*
 * Unit tests for the sandbox's kernel-feature probes: every entry is filled,
 * this machine has what the sandbox requires, the WARD_PROBE_DISABLE hook
 * drives the failure path, and probing leaves the caller's process as it
 * was (namespaces, no_new_privs, seccomp mode, fds, children).
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "sandbox/probe.h"
#include "tap.h"

#define HOOK	"disabled by WARD_PROBE_DISABLE (test hook)"

static const char *const nstypes[] = {
	"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"
};
#define NNS	(sizeof(nstypes) / sizeof(nstypes[0]))

struct state {
	char	ns[NNS][64];
	int	nnp;
	int	seccomp;
	int	nfds;
	uid_t	euid;
};

static int
count_fds(void)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
snapshot(struct state *s)
{
	char path[64];
	ssize_t n;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < NNS; i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", nstypes[i]);
		n = readlink(path, s->ns[i], sizeof(s->ns[i]) - 1);
		if (n < 0)
			snprintf(s->ns[i], sizeof(s->ns[i]), "error %d", errno);
	}
	s->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	s->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	s->nfds = count_fds();
	s->euid = geteuid();
}

static int
run_with(const char *disable, struct probe_report *r)
{
	int rv;

	if (disable != NULL)
		setenv("WARD_PROBE_DISABLE", disable, 1);
	else
		unsetenv("WARD_PROBE_DISABLE");
	rv = probe_run(r);
	unsetenv("WARD_PROBE_DISABLE");
	return rv;
}

static void
test_fills_every_entry(const struct probe_report *r)
{
	static const int required[PROBE_NFEATURES] = {
		[PROBE_USERNS] = 1, [PROBE_LANDLOCK] = 1, [PROBE_SECCOMP] = 1,
		[PROBE_NNP] = 1, [PROBE_CGROUP] = 0, [PROBE_PIDFD] = 0,
	};
	const struct probe_entry *e;
	int i, j;

	for (i = 0; i < PROBE_NFEATURES; i++) {
		e = &r->feat[i];
		printf("# %-13s %-16s %s%s%s\n", e->name ? e->name : "(null)",
		    probe_status_name(e->status), e->detail,
		    e->fix[0] ? " | fix: " : "", e->fix);
		is_str(e->name, probe_name((enum probe_feature)i),
		    "entry %d is named %s", i, probe_name((enum probe_feature)i));
		ok(e->status != PROBE_NOT_RUN, "%s: probed", e->name);
		ok(e->detail[0] != '\0', "%s: has a detail", e->name);
		ok((e->status == PROBE_OK) == (e->fix[0] == '\0'),
		    "%s: fix hint exactly when not ok", e->name);
		is_int(e->required, required[i], "%s: required is %d", e->name,
		    required[i]);
		if (e->status != PROBE_OK)
			is_int(e->status, e->required ? PROBE_MISSING :
			    PROBE_OPTIONAL_MISSING, "%s: absent status matches "
			    "required", e->name);
		for (j = 0; j < i; j++)
			ok(strcmp(r->feat[j].name, e->name) != 0,
			    "%s: name unique vs %s", e->name, r->feat[j].name);
	}
}

static void
test_required_present(const struct probe_report *r)
{
	static const enum probe_feature req[] = {
		PROBE_USERNS, PROBE_LANDLOCK, PROBE_SECCOMP, PROBE_NNP
	};
	size_t i;

	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		is_str(probe_status_name(r->feat[req[i]].status), "ok",
		    "required %s present here (%s)", probe_name(req[i]),
		    r->feat[req[i]].detail);
	is_int(probe_ok(r), 1, "probe_ok: every required feature present");
	ok(r->landlock_abi >= 1, "Landlock ABI %d >= 1", r->landlock_abi);
	ok(strncmp(r->feat[PROBE_LANDLOCK].detail, "ABI ", 4) == 0,
	    "landlock detail names the ABI");
	if (r->feat[PROBE_CGROUP].status == PROBE_OK)
		ok(r->cgroup_dir[0] == '/', "cgroup_dir set when delegated");
	else
		ok(r->cgroup_dir[0] == '\0', "cgroup_dir empty when not");
}

static void
test_disable_hook(void)
{
	struct probe_report r;

	is_int(run_with("landlock", &r), 0, "probe_run with landlock disabled");
	is_int(probe_ok(&r), 0, "probe_ok fails without landlock");
	is_int(r.feat[PROBE_LANDLOCK].status, PROBE_MISSING,
	    "landlock reported missing");
	is_str(r.feat[PROBE_LANDLOCK].detail, HOOK, "landlock detail names "
	    "the hook");
	ok(r.feat[PROBE_LANDLOCK].fix[0] != '\0', "landlock has a fix hint");
	is_int(r.landlock_abi, 0, "no ABI reported when disabled");
	is_int(r.feat[PROBE_USERNS].status, PROBE_OK, "userns unaffected");

	is_int(run_with(" userns , pidfd", &r), 0, "probe_run with a spaced "
	    "list");
	is_int(r.feat[PROBE_USERNS].status, PROBE_MISSING, "userns missing");
	is_str(r.feat[PROBE_USERNS].detail, HOOK, "userns detail names the "
	    "hook");
	is_int(r.feat[PROBE_PIDFD].status, PROBE_OPTIONAL_MISSING,
	    "pidfd optional-missing");
	is_int(r.feat[PROBE_LANDLOCK].status, PROBE_OK, "landlock unaffected");
	is_int(probe_ok(&r), 0, "probe_ok fails without userns");

	is_int(run_with("cgroup2,pidfd", &r), 0, "probe_run without optionals");
	is_int(r.feat[PROBE_CGROUP].status, PROBE_OPTIONAL_MISSING,
	    "cgroup2 optional-missing");
	is_str(r.feat[PROBE_CGROUP].detail, HOOK, "cgroup2 detail names the "
	    "hook");
	is_int(probe_ok(&r), 1, "optional features do not decide probe_ok");

	is_int(run_with("landlocks,land,LANDLOCK,,", &r), 0,
	    "probe_run with near-miss names");
	is_int(r.feat[PROBE_LANDLOCK].status, PROBE_OK, "only exact names "
	    "disable a probe");
}

static void
test_unchanged(const struct state *before)
{
	struct state after;
	size_t i;
	int st;

	snapshot(&after);
	for (i = 0; i < NNS; i++)
		is_str(after.ns[i], before->ns[i], "still in the same %s "
		    "namespace", nstypes[i]);
	is_int(after.nnp, before->nnp, "no_new_privs unchanged");
	is_int(after.nnp, 0, "no_new_privs still 0");
	is_int(after.seccomp, before->seccomp, "seccomp mode unchanged");
	is_int(after.seccomp, 0, "seccomp mode still 0");
	is_int(after.nfds, before->nfds, "no fd leaked");
	is_int(after.euid, before->euid, "euid unchanged");
	errno = 0;
	ok(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD,
	    "every probe child reaped");
}

int
main(void)
{
	struct probe_report r;
	struct state before;

	unsetenv("WARD_PROBE_DISABLE");
	snapshot(&before);

	is_int(probe_run(NULL), WARD_EINVAL, "probe_run(NULL) is EINVAL");
	is_int(probe_ok(NULL), 0, "probe_ok(NULL) is 0");
	memset(&r, 0, sizeof(r));
	is_int(probe_ok(&r), 0, "an unfilled report is not ok");
	ok(probe_name(PROBE_NFEATURES) == NULL, "probe_name out of range");
	is_str(probe_status_name(PROBE_OK), "ok", "status name ok");
	is_str(probe_status_name(PROBE_MISSING), "missing", "status name "
	    "missing");
	is_str(probe_status_name(PROBE_OPTIONAL_MISSING), "optional-missing",
	    "status name optional-missing");

	is_int(run_with(NULL, &r), 0, "probe_run succeeds");
	test_fills_every_entry(&r);
	test_required_present(&r);
	test_disable_hook();

	/* A caller that ignores SIGCHLD cannot wait; results still arrive. */
	signal(SIGCHLD, SIG_IGN);
	is_int(run_with(NULL, &r), 0, "probe_run with SIGCHLD ignored");
	is_int(probe_ok(&r), 1, "results arrive with SIGCHLD ignored");
	signal(SIGCHLD, SIG_DFL);

	test_unchanged(&before);
	return done_testing();
}

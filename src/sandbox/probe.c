/*
 * Kernel-feature probes for the command sandbox; see probe.h.
 *
 * A probe that could change process state runs in a forked child which
 * sends back one fixed-size struct probe_res over a pipe and _exits; the
 * parent turns that into words and a fix hint. Keeping the wording in the
 * parent keeps the child short: it only makes the system calls under test.
 * Read-only checks (sysctls, statfs, pidfd_open on ourselves) run in the
 * caller, since they change nothing.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/magic.h>
#if defined(__has_include)
#if __has_include(<linux/landlock.h>)
#include <linux/landlock.h>
#endif
#endif

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"
#include "../lib/err.h"

/*
 * Headers older than the running kernel may lack these. The syscall numbers
 * are shared by every architecture except alpha, where guessing would call
 * some other system call.
 */
#if defined(__alpha__) && (!defined(SYS_landlock_create_ruleset) || \
    !defined(SYS_landlock_restrict_self) || !defined(SYS_pidfd_open))
#error "alpha needs kernel headers that define the Landlock and pidfd syscalls"
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset	444
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self	446
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open			434
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION	(1U << 0)
#endif
#ifndef LANDLOCK_ACCESS_FS_READ_DIR
#define LANDLOCK_ACCESS_FS_READ_DIR	(1ULL << 3)
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC		0x63677270
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP			0x02000000
#endif

/*
 * The ABI 1 layout of struct landlock_ruleset_attr. Later ABIs append
 * fields; passing only the first keeps the probe valid on every kernel
 * whatever the installed header says.
 */
struct probe_ll_attr {
	uint64_t	handled_access_fs;
};

#define PROBE_HOOK_DETAIL	"disabled by WARD_PROBE_DISABLE (test hook)"
#define PROBE_NS_ALL	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | \
			 CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | \
			 CLONE_NEWCGROUP)
/* An errno no real getpgid(0) returns, so the seccomp probe can tell its
 * own filter's answer from anything else. */
#define PROBE_SECCOMP_ERRNO	ENOTRECOVERABLE
#define CGROOT			"/sys/fs/cgroup"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* What a probe child reports. */
struct probe_res {
	int	ok;	/* 1 when every step worked */
	int	stage;	/* the step that failed: a probe's own enum or below */
	int	err;	/* its errno; the signal number for STAGE_SIGNAL */
	long	value;	/* probe-specific: Landlock ABI, failing clone flag */
};

/* Stages shared by every forked probe; probe stages are positive. */
enum {
	STAGE_FORK = -1,	/* pipe or fork failed in the parent */
	STAGE_SIGNAL = -2,	/* the child was killed */
	STAGE_NORESULT = -3	/* the child exited without reporting */
};

enum { US_UNSHARE = 1, US_SETGROUPS, US_UIDMAP, US_GIDMAP };
enum { LL_VERSION = 1, LL_RULESET, LL_NNP, LL_RESTRICT, LL_ENFORCE };
enum { SC_NNP = 1, SC_INIT, SC_RULE, SC_LOAD, SC_ENFORCE };
enum { NP_SET = 1, NP_GET };

static const struct {
	int		 flag;
	const char	*name;
	const char	*config;	/* kernel option that provides it */
} probe_ns[] = {
	{ CLONE_NEWUSER,	"CLONE_NEWUSER",	"CONFIG_USER_NS" },
	{ CLONE_NEWNS,		"CLONE_NEWNS",		"CONFIG_NAMESPACES" },
	{ CLONE_NEWPID,		"CLONE_NEWPID",		"CONFIG_PID_NS" },
	{ CLONE_NEWNET,		"CLONE_NEWNET",		"CONFIG_NET_NS" },
	{ CLONE_NEWIPC,		"CLONE_NEWIPC",		"CONFIG_IPC_NS" },
	{ CLONE_NEWUTS,		"CLONE_NEWUTS",		"CONFIG_UTS_NS" },
	{ CLONE_NEWCGROUP,	"CLONE_NEWCGROUP",	"CONFIG_CGROUPS" },
};

static int	probe_userns(struct probe_report *, struct probe_entry *);
static int	probe_landlock(struct probe_report *, struct probe_entry *);
static int	probe_seccomp(struct probe_report *, struct probe_entry *);
static int	probe_nnp(struct probe_report *, struct probe_entry *);
static int	probe_cgroup(struct probe_report *, struct probe_entry *);
static int	probe_pidfd(struct probe_report *, struct probe_entry *);

static const struct {
	const char	*name;
	int		 required;
	int		(*run)(struct probe_report *, struct probe_entry *);
} probe_defs[PROBE_NFEATURES] = {
	[PROBE_USERNS] =	{ "userns",		1, probe_userns },
	[PROBE_LANDLOCK] =	{ "landlock",		1, probe_landlock },
	[PROBE_SECCOMP] =	{ "seccomp",		1, probe_seccomp },
	[PROBE_NNP] =		{ "no_new_privs",	1, probe_nnp },
	[PROBE_CGROUP] =	{ "cgroup2",		0, probe_cgroup },
	[PROBE_PIDFD] =		{ "pidfd",		0, probe_pidfd },
};

/* Symbolic names read better in a fix-it report than strerror text. */
static const char *
probe_errname(int e)
{
	switch (e) {
	case 0:			return "no error";
	case EPERM:		return "EPERM";
	case ENOENT:		return "ENOENT";
	case EIO:		return "EIO";
	case E2BIG:		return "E2BIG";
	case EAGAIN:		return "EAGAIN";
	case ENOMEM:		return "ENOMEM";
	case EACCES:		return "EACCES";
	case EFAULT:		return "EFAULT";
	case EBUSY:		return "EBUSY";
	case ENOTDIR:		return "ENOTDIR";
	case EINVAL:		return "EINVAL";
	case ENFILE:		return "ENFILE";
	case EMFILE:		return "EMFILE";
	case ENOSPC:		return "ENOSPC";
	case EROFS:		return "EROFS";
	case ENOSYS:		return "ENOSYS";
	case EUSERS:		return "EUSERS";
	case EOPNOTSUPP:	return "EOPNOTSUPP";
	case ECANCELED:		return "ECANCELED";
	}
	return strerror(e);
}

static void	probe_vset(struct probe_entry *, enum probe_status, const char *,
		    const char *, va_list) __attribute__((format(printf, 4, 0)));
static void	probe_present(struct probe_entry *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	probe_absent(struct probe_entry *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
probe_vset(struct probe_entry *e, enum probe_status st, const char *fix,
    const char *fmt, va_list ap)
{
	e->status = st;
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	snprintf(e->fix, sizeof(e->fix), "%s", fix != NULL ? fix : "");
}

static void
probe_present(struct probe_entry *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	probe_vset(e, PROBE_OK, NULL, fmt, ap);
	va_end(ap);
}

/* Marks e absent: missing when required, optional-missing otherwise. */
static void
probe_absent(struct probe_entry *e, const char *fix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	probe_vset(e, e->required ? PROBE_MISSING : PROBE_OPTIONAL_MISSING,
	    fix, fmt, ap);
	va_end(ap);
}

/*
 * Reads a small file into buf, NUL-terminated, trailing newline removed.
 * Returns 0, WARD_ENOENT, WARD_EIO (errno kept) or WARD_ETOOBIG.
 */
static int
probe_read(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd, rv = 0, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? WARD_ENOENT : WARD_EIO;
	for (;;) {
		if (got + 1 >= len) {
			rv = WARD_ETOOBIG;
			goto out;
		}
		n = read(fd, buf + got, len - got - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rv = WARD_EIO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	while (got > 0 && buf[got - 1] == '\n')
		buf[--got] = '\0';
out:
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

/* Reads a numeric sysctl; -1 when it is absent or unreadable. */
static long
probe_sysctl(const char *path)
{
	char buf[32], *end;
	long v;

	if (probe_read(path, buf, sizeof(buf)) != 0)
		return -1;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\0' || v < 0)
		return -1;
	return v;
}

/*
 * Writes s to an existing file in one write(2), as /proc maps require.
 * Runs in probe children: returns 0, or -1 with errno set.
 */
static int
probe_write(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, e = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, s, len);
	if (n == -1)
		e = errno;
	else if ((size_t)n != len)
		e = EIO;
	if (close(fd) == -1 && e == 0)
		e = errno;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

/*
 * Runs fn in a forked child and collects its result in res. Returns 0, or
 * WARD_ESYS when the child could not be started (res->stage STAGE_FORK).
 * A child that dies or says nothing leaves res->ok 0 with STAGE_SIGNAL or
 * STAGE_NORESULT, so a crash always reads as "missing", never as "ok".
 */
static int
probe_fork(void (*fn)(struct probe_res *), struct probe_res *res)
{
	struct probe_res cr;
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int fds[2] = { -1, -1 }, status = 0, waited = 0, rv = 0;

	memset(res, 0, sizeof(*res));
	if (pipe2(fds, O_CLOEXEC) == -1) {
		res->stage = STAGE_FORK;
		res->err = errno;
		rv = WARD_ESYS;
		goto out;
	}
	if ((pid = fork()) == -1) {
		res->stage = STAGE_FORK;
		res->err = errno;
		rv = WARD_ESYS;
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		memset(&cr, 0, sizeof(cr));
		fn(&cr);
		/* _exit: the caller's atexit handlers and stdio are not ours. */
		if (write(fds[1], &cr, sizeof(cr)) != (ssize_t)sizeof(cr))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	fds[1] = -1;
	while (got < sizeof(cr)) {
		n = read(fds[0], (char *)&cr + got, sizeof(cr) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* ECHILD when the caller ignores SIGCHLD; the pipe still answers. */
	for (;;) {
		if (waitpid(pid, &status, 0) == pid) {
			waited = 1;
			break;
		}
		if (errno != EINTR)
			break;
	}
	if (got == sizeof(cr))
		*res = cr;
	else if (waited && WIFSIGNALED(status)) {
		res->stage = STAGE_SIGNAL;
		res->err = WTERMSIG(status);
	} else
		res->stage = STAGE_NORESULT;
out:
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	return rv;
}

/* Describes the failures every forked probe shares; 1 when res was one. */
static int
probe_child_failed(struct probe_entry *e, const struct probe_res *res)
{
	switch (res->stage) {
	case STAGE_FORK:
		probe_absent(e, "free some processes or memory and rerun ward doctor",
		    "could not run the probe: %s", probe_errname(res->err));
		return 1;
	case STAGE_SIGNAL:
		probe_absent(e, "check the seccomp or LSM policy that ward runs under",
		    "probe killed by signal %d (%s)", res->err,
		    strsignal(res->err));
		return 1;
	case STAGE_NORESULT:
		probe_absent(e, "rerun ward doctor; report a bug if it persists",
		    "probe exited without a result");
		return 1;
	}
	return 0;
}

static void
probe_userns_child(struct probe_res *res)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	size_t i;

	if (unshare(PROBE_NS_ALL) == -1) {
		res->stage = US_UNSHARE;
		res->err = errno;
		res->value = PROBE_NS_ALL;
		/*
		 * Find the namespace type the kernel refuses, so the fix can
		 * name it. Once CLONE_NEWUSER succeeds the others run with
		 * full capabilities in the new namespace.
		 */
		for (i = 0; i < nitems(probe_ns); i++) {
			if (unshare(probe_ns[i].flag) == -1) {
				res->err = errno;
				res->value = probe_ns[i].flag;
				break;
			}
		}
		return;
	}
	/* Unprivileged gid_map writes need setgroups denied (absent < 3.19). */
	if (probe_write("/proc/self/setgroups", "deny") == -1 &&
	    errno != ENOENT) {
		res->stage = US_SETGROUPS;
		res->err = errno;
		return;
	}
	snprintf(map, sizeof(map), "0 %lu 1\n", (unsigned long)uid);
	if (probe_write("/proc/self/uid_map", map) == -1) {
		res->stage = US_UIDMAP;
		res->err = errno;
		return;
	}
	snprintf(map, sizeof(map), "0 %lu 1\n", (unsigned long)gid);
	if (probe_write("/proc/self/gid_map", map) == -1) {
		res->stage = US_GIDMAP;
		res->err = errno;
		return;
	}
	res->ok = 1;
}

static const char *
probe_ns_name(long flag, const char **config)
{
	size_t i;

	for (i = 0; i < nitems(probe_ns); i++) {
		if (probe_ns[i].flag == flag) {
			*config = probe_ns[i].config;
			return probe_ns[i].name;
		}
	}
	*config = "CONFIG_NAMESPACES";
	return "namespaces";
}

static void
probe_userns_unshare(const struct probe_report *r, struct probe_entry *e,
    const struct probe_res *res)
{
	const char *ns, *config, *en = probe_errname(res->err);
	char fix[PROBE_FIX_MAX];

	ns = probe_ns_name(res->value, &config);
	if (res->value != CLONE_NEWUSER && res->value != PROBE_NS_ALL) {
		/* EINVAL is how unshare says "not built into this kernel". */
		if (res->err == EINVAL) {
			snprintf(fix, sizeof(fix), "use a kernel built with "
			    "%s=y", config);
			probe_absent(e, fix, "EINVAL: user namespaces work but "
			    "unshare(%s) fails (kernel needs %s)", ns, config);
		} else
			probe_absent(e, "check the seccomp or LSM policy that "
			    "ward runs under", "%s: user namespaces work but "
			    "unshare(%s) fails", en, ns);
		return;
	}
	switch (res->err) {
	case EPERM:
		/* The Debian/Ubuntu sysctl only binds unprivileged callers. */
		if (r->userns_clone == 0 && geteuid() != 0)
			probe_absent(e,
			    "sysctl -w kernel.unprivileged_userns_clone=1",
			    "EPERM: unprivileged user namespaces disabled "
			    "(kernel.unprivileged_userns_clone=0)");
		else
			probe_absent(e, "allow unshare(CLONE_NEWUSER) in the "
			    "container's seccomp profile, or run ward outside "
			    "the chroot",
			    "EPERM: creating a user namespace is not permitted "
			    "(container seccomp profile or chroot)");
		break;
	case ENOSPC:
	case EUSERS:
		if (r->max_userns == 0)
			probe_absent(e,
			    "sysctl -w user.max_user_namespaces=15000",
			    "%s: user namespaces disabled "
			    "(user.max_user_namespaces=0)", en);
		else
			probe_absent(e, "raise user.max_user_namespaces "
			    "(sysctl -w user.max_user_namespaces=15000) or nest "
			    "ward less deeply",
			    "%s: user namespace count or nesting limit reached",
			    en);
		break;
	case EINVAL:
		probe_absent(e, "use a kernel built with CONFIG_USER_NS=y",
		    "EINVAL: kernel has no user namespaces");
		break;
	default:
		probe_absent(e, "check the kernel configuration and any "
		    "security policy around ward",
		    "%s: unshare(%s) failed", en, ns);
		break;
	}
}

static int
probe_userns(struct probe_report *r, struct probe_entry *e)
{
	struct probe_res res;
	const char *file;
	char sysctls[96] = "";
	int rv;

	rv = probe_fork(probe_userns_child, &res);
	if (res.ok) {
		if (r->userns_clone != -1)
			snprintf(sysctls, sizeof(sysctls),
			    "; kernel.unprivileged_userns_clone=%ld",
			    r->userns_clone);
		if (r->max_userns != -1)
			snprintf(sysctls + strlen(sysctls),
			    sizeof(sysctls) - strlen(sysctls),
			    "; user.max_user_namespaces=%ld", r->max_userns);
		probe_present(e, "user, mount, pid, net, ipc, uts and cgroup "
		    "namespaces with uid/gid maps%s", sysctls);
		return rv;
	}
	if (probe_child_failed(e, &res))
		return rv;
	if (res.stage == US_UNSHARE) {
		probe_userns_unshare(r, e, &res);
		return rv;
	}
	file = res.stage == US_SETGROUPS ? "setgroups" :
	    res.stage == US_UIDMAP ? "uid_map" : "gid_map";
	/* Ubuntu >= 23.10 lets unshare succeed but withholds capabilities. */
	if (res.err == EPERM && probe_sysctl("/proc/sys/kernel/"
	    "apparmor_restrict_unprivileged_userns") == 1)
		probe_absent(e, "sysctl -w "
		    "kernel.apparmor_restrict_unprivileged_userns=0, or give "
		    "ward an AppArmor profile that allows userns",
		    "EPERM writing %s: AppArmor restricts unprivileged user "
		    "namespaces", file);
	else
		probe_absent(e, "check the LSM or container policy that "
		    "denies uid/gid mapping",
		    "%s writing /proc/self/%s in a new user namespace",
		    probe_errname(res.err), file);
	return rv;
}

static void
probe_landlock_child(struct probe_res *res)
{
	struct probe_ll_attr attr;
	long abi;
	int fd, dfd;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		res->stage = LL_VERSION;
		res->err = errno;
		return;
	}
	res->value = abi;
	/*
	 * A version number proves little where a container's seccomp
	 * profile blocks the other Landlock calls: enforce a ruleset that
	 * handles directory reads and grants none, then try one.
	 */
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LANDLOCK_ACCESS_FS_READ_DIR;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0) {
		res->stage = LL_RULESET;
		res->err = errno;
		return;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		res->stage = LL_NNP;
		res->err = errno;
		goto out;
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		res->stage = LL_RESTRICT;
		res->err = errno;
		goto out;
	}
	if ((dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1 ||
	    errno != EACCES) {
		res->stage = LL_ENFORCE;
		res->err = dfd == -1 ? errno : 0;
		if (dfd != -1)
			close(dfd);
		goto out;
	}
	res->ok = 1;
out:
	close(fd);
}

/* The boot parameter that adds Landlock to the LSMs this kernel runs. */
static void
probe_lsm_fix(char *fix, size_t len)
{
	char lsm[200];

	if (probe_read("/sys/kernel/security/lsm", lsm, sizeof(lsm)) == 0 &&
	    lsm[0] != '\0')
		snprintf(fix, len, "boot with lsm=%s,landlock", lsm);
	else
		snprintf(fix, len, "boot with lsm=...,landlock (append landlock "
		    "to the kernel's lsm= list)");
}

static int
probe_landlock(struct probe_report *r, struct probe_entry *e)
{
	struct probe_res res;
	char fix[PROBE_FIX_MAX];
	const char *step;
	int rv;

	rv = probe_fork(probe_landlock_child, &res);
	if (res.ok && res.value >= 1) {
		r->landlock_abi = (int)res.value;
		probe_present(e, "ABI %ld", res.value);
		return rv;
	}
	if (probe_child_failed(e, &res))
		return rv;
	if (res.ok) {
		probe_absent(e, "use a kernel >= 5.13 with Landlock",
		    "ABI %ld; ward needs ABI >= 1", res.value);
		return rv;
	}
	if (res.stage == LL_VERSION) {
		switch (res.err) {
		case ENOSYS:
			probe_absent(e, "use a kernel >= 5.13 built with "
			    "CONFIG_SECURITY_LANDLOCK=y (in a container, allow "
			    "the landlock_* syscalls)",
			    "ENOSYS: kernel has no Landlock");
			break;
		case EOPNOTSUPP:
			probe_lsm_fix(fix, sizeof(fix));
			probe_absent(e, fix, "EOPNOTSUPP: Landlock is built "
			    "in but not enabled at boot");
			break;
		default:
			probe_absent(e, "allow the landlock_* syscalls in the "
			    "container's seccomp profile",
			    "%s: landlock_create_ruleset refused",
			    probe_errname(res.err));
			break;
		}
		return rv;
	}
	if (res.stage == LL_ENFORCE) {
		probe_absent(e, "report this kernel: a Landlock ruleset did "
		    "not restrict a directory read",
		    "ABI %ld, but a ruleset was not enforced (%s)", res.value,
		    probe_errname(res.err));
		return rv;
	}
	step = res.stage == LL_RULESET ? "landlock_create_ruleset" :
	    res.stage == LL_NNP ? "PR_SET_NO_NEW_PRIVS" :
	    "landlock_restrict_self";
	probe_absent(e, "allow the landlock_* syscalls in the container's "
	    "seccomp profile", "ABI %ld, but %s fails: %s", res.value, step,
	    probe_errname(res.err));
	return rv;
}

static void
probe_seccomp_child(struct probe_res *res)
{
	scmp_filter_ctx ctx;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		res->stage = SC_NNP;
		res->err = errno;
		return;
	}
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		res->stage = SC_INIT;
		res->err = ENOMEM;
		return;
	}
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
	/* Otherwise libseccomp folds kernel errors into ECANCELED. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
#endif
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(PROBE_SECCOMP_ERRNO),
	    SCMP_SYS(getpgid), 0);
	if (rc < 0) {
		res->stage = SC_RULE;
		res->err = -rc;
		goto out;
	}
	if ((rc = seccomp_load(ctx)) < 0) {
		res->stage = SC_LOAD;
		res->err = -rc;
		goto out;
	}
	errno = 0;
	if (syscall(SYS_getpgid, 0) != -1 || errno != PROBE_SECCOMP_ERRNO) {
		res->stage = SC_ENFORCE;
		res->err = errno;
		goto out;
	}
	res->ok = 1;
out:
	seccomp_release(ctx);
}

static int
probe_seccomp(struct probe_report *r, struct probe_entry *e)
{
	const struct scmp_version *v;
	struct probe_res res;
	int mode, rv;

	(void)r;
	/* Reading the mode is harmless; it only tells what we run under. */
	if ((mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0)) == -1) {
		probe_absent(e, "use a kernel built with CONFIG_SECCOMP=y and "
		    "CONFIG_SECCOMP_FILTER=y", "%s: kernel has no seccomp",
		    probe_errname(errno));
		return 0;
	}
	rv = probe_fork(probe_seccomp_child, &res);
	if (res.ok) {
		v = seccomp_version();
		probe_present(e, "filters load and are enforced; libseccomp "
		    "%u.%u.%u; this process: seccomp mode %d",
		    v != NULL ? v->major : 0, v != NULL ? v->minor : 0,
		    v != NULL ? v->micro : 0, mode);
		return rv;
	}
	if (probe_child_failed(e, &res))
		return rv;
	switch (res.stage) {
	case SC_NNP:
		probe_absent(e, "use Linux >= 3.5",
		    "%s: PR_SET_NO_NEW_PRIVS fails", probe_errname(res.err));
		break;
	case SC_INIT:
	case SC_RULE:
		probe_absent(e, "check that libseccomp supports this "
		    "architecture", "%s: libseccomp could not build a filter",
		    probe_errname(res.err));
		break;
	case SC_LOAD:
		if (res.err == EINVAL)
			probe_absent(e, "use a kernel built with "
			    "CONFIG_SECCOMP_FILTER=y",
			    "EINVAL: kernel cannot load seccomp filters");
		else
			probe_absent(e, "allow seccomp(2) in the container's "
			    "seccomp profile", "%s: seccomp_load failed",
			    probe_errname(res.err));
		break;
	default:
		probe_absent(e, "report this kernel: a loaded seccomp filter "
		    "was not applied", "a filter loaded but was not enforced");
		break;
	}
	return rv;
}

static void
probe_nnp_child(struct probe_res *res)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		res->stage = NP_SET;
		res->err = errno;
		return;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		res->stage = NP_GET;
		res->err = errno;
		return;
	}
	res->ok = 1;
}

static int
probe_nnp(struct probe_report *r, struct probe_entry *e)
{
	struct probe_res res;
	int rv, cur;

	(void)r;
	rv = probe_fork(probe_nnp_child, &res);
	if (res.ok) {
		cur = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
		probe_present(e, "can be set (this process: %s)",
		    cur == 1 ? "already set" : "not set");
		return rv;
	}
	if (probe_child_failed(e, &res))
		return rv;
	probe_absent(e, "use Linux >= 3.5", "%s: PR_%s_NO_NEW_PRIVS fails",
	    probe_errname(res.err), res.stage == NP_SET ? "SET" : "GET");
	return rv;
}

/* 1 when word appears in the space-separated list. */
static int
probe_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Joins dir and leaf into buf. Returns 0 or WARD_ETOOBIG. */
static int
probe_join(char *buf, size_t len, const char *dir, const char *leaf)
{
	int n;

	n = snprintf(buf, len, "%s/%s", dir, leaf);
	if (n < 0 || (size_t)n >= len)
		return WARD_ETOOBIG;
	return 0;
}

/*
 * Finds our cgroup2 path ("0::/path") in /proc/self/cgroup. Returns 0,
 * WARD_ENOENT when there is no such line, WARD_EIO, WARD_ETOOBIG, or
 * WARD_EPROTO when the path could escape the cgroup mount.
 */
static int
probe_own_cgroup(char *path, size_t len)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rv = WARD_ENOENT;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return WARD_EIO;
	while ((n = getline(&line, &cap, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (strncmp(line, "0::", 3) != 0)
			continue;
		if (line[3] != '/' || strstr(line + 3, "/..") != NULL) {
			rv = WARD_EPROTO;
			goto out;
		}
		if ((size_t)snprintf(path, len, "%s", line + 3) >= len) {
			rv = WARD_ETOOBIG;
			goto out;
		}
		rv = 0;
		goto out;
	}
out:
	free(line);
	fclose(f);
	return rv;
}

static int
probe_cgroup(struct probe_report *r, struct probe_entry *e)
{
	static const char *const need[] = { "cgroup.procs",
	    "cgroup.subtree_control" };
	const char *delegate_fix = "run ward in a delegated cgroup, e.g. "
	    "systemd-run --user --scope -p Delegate=yes ward ...";
	struct statfs sf;
	char own[PATH_MAX], dir[PATH_MAX], file[PATH_MAX], ctl[512];
	size_t i;
	int hybrid;

	(void)r;
	if (statfs(CGROOT, &sf) == -1) {
		probe_absent(e, "mount -t cgroup2 none " CGROOT,
		    "%s: " CGROOT " (rlimits are used instead)",
		    probe_errname(errno));
		return 0;
	}
	if ((unsigned long)sf.f_type != CGROUP2_SUPER_MAGIC) {
		hybrid = statfs(CGROOT "/unified", &sf) == 0 &&
		    (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;
		probe_absent(e, "boot with systemd.unified_cgroup_hierarchy=1 "
		    "for a cgroup v2 hierarchy",
		    CGROOT " is not cgroup2 (%s); rlimits are used instead",
		    hybrid ? "hybrid v1 hierarchy, cgroup2 only at "
		    CGROOT "/unified" : "cgroup v1 or not mounted");
		return 0;
	}
	if (probe_own_cgroup(own, sizeof(own)) != 0) {
		probe_absent(e, delegate_fix, "no usable cgroup2 entry in "
		    "/proc/self/cgroup; rlimits are used instead");
		return 0;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", CGROOT,
	    strcmp(own, "/") == 0 ? "" : own) >= sizeof(dir)) {
		probe_absent(e, delegate_fix, "cgroup path too long; rlimits "
		    "are used instead");
		return 0;
	}
	if (probe_join(file, sizeof(file), dir, "cgroup.controllers") != 0 ||
	    probe_read(file, ctl, sizeof(ctl)) != 0)
		ctl[0] = '\0';
	if (faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) == -1) {
		probe_absent(e, delegate_fix, "%s not writable (%s); "
		    "controllers: %s; rlimits are used instead", dir,
		    probe_errname(errno), ctl[0] ? ctl : "none");
		return 0;
	}
	for (i = 0; i < nitems(need); i++) {
		if (probe_join(file, sizeof(file), dir, need[i]) != 0) {
			probe_absent(e, delegate_fix, "cgroup path too long; "
			    "rlimits are used instead");
			return 0;
		}
		if (faccessat(AT_FDCWD, file, W_OK, AT_EACCESS) == -1) {
			probe_absent(e, delegate_fix, "%s not writable (%s); "
			    "rlimits are used instead", file,
			    probe_errname(errno));
			return 0;
		}
	}
	/* Delegation is only worth having for memory and process caps. */
	if (!probe_has_word(ctl, "memory") || !probe_has_word(ctl, "pids")) {
		probe_absent(e, "delegate the memory and pids controllers "
		    "(systemd: Delegate=memory pids)",
		    "%s delegated but lacks memory and pids (controllers: "
		    "%s); rlimits are used instead", dir, ctl[0] ? ctl : "none");
		return 0;
	}
	snprintf(r->cgroup_dir, sizeof(r->cgroup_dir), "%s", dir);
	probe_present(e, "%s delegated; controllers: %s", dir, ctl);
	return 0;
}

static int
probe_pidfd(struct probe_report *r, struct probe_entry *e)
{
	int fd;

	(void)r;
	/* pidfds are always close-on-exec, so this changes nothing. */
	if ((fd = (int)syscall(SYS_pidfd_open, getpid(), 0)) == -1) {
		if (errno == ENOSYS)
			probe_absent(e, "use Linux >= 5.3 (ward falls back to "
			    "waiting by pid)", "ENOSYS: kernel has no "
			    "pidfd_open");
		else
			probe_absent(e, "allow pidfd_open in the container's "
			    "seccomp profile", "%s: pidfd_open fails",
			    probe_errname(errno));
		return 0;
	}
	close(fd);
	probe_present(e, "pidfd_open works");
	return 0;
}

/* 1 when name is an element of the comma-separated list. */
static int
probe_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list, *end, *last;

	while (*p != '\0') {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		for (end = p; *end != '\0' && *end != ','; end++)
			;
		for (last = end; last > p && (last[-1] == ' ' ||
		    last[-1] == '\t'); last--)
			;
		if ((size_t)(last - p) == n && strncmp(p, name, n) == 0)
			return 1;
		p = end;
	}
	return 0;
}

int
probe_disabled(const char *name)
{
	const char *disable = getenv("WARD_PROBE_DISABLE");

	return disable != NULL && probe_listed(disable, name);
}

int
probe_run(struct probe_report *r)
{
	struct probe_entry *e;
	const char *disable;
	size_t i;
	int rc, rv = 0;

	if (r == NULL)
		return WARD_EINVAL;
	memset(r, 0, sizeof(*r));
	r->userns_clone = probe_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
	r->max_userns = probe_sysctl("/proc/sys/user/max_user_namespaces");
	disable = getenv("WARD_PROBE_DISABLE");
	for (i = 0; i < PROBE_NFEATURES; i++) {
		e = &r->feat[i];
		e->name = probe_defs[i].name;
		e->required = probe_defs[i].required;
		if (disable != NULL && probe_listed(disable, e->name)) {
			probe_absent(e, "unset WARD_PROBE_DISABLE", "%s",
			    PROBE_HOOK_DETAIL);
			continue;
		}
		if ((rc = probe_defs[i].run(r, e)) < 0 && rv == 0)
			rv = rc;
	}
	return rv;
}

int
probe_ok(const struct probe_report *r)
{
	size_t i;

	if (r == NULL)
		return 0;
	/* The table, not the entry, says what is required: a report that
	 * probe_run never filled must not read as "all present". */
	for (i = 0; i < PROBE_NFEATURES; i++)
		if (probe_defs[i].required && r->feat[i].status != PROBE_OK)
			return 0;
	return 1;
}

const char *
probe_name(enum probe_feature f)
{
	if ((int)f < 0 || f >= PROBE_NFEATURES)
		return NULL;
	return probe_defs[f].name;
}

const char *
probe_status_name(enum probe_status s)
{
	switch (s) {
	case PROBE_NOT_RUN:		return "not-run";
	case PROBE_OK:			return "ok";
	case PROBE_MISSING:		return "missing";
	case PROBE_OPTIONAL_MISSING:	return "optional-missing";
	}
	return "unknown";
}

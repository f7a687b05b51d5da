/*
 * The command envelope (DESIGN §2 invariants 2-4; contract in envelope.h).
 *
 * Cold path: the caller clones one child into new user, mount, pid,
 * network, ipc, uts and cgroup namespaces. That child is pid 1 of the
 * sandbox: it clones the granted paths as detached mount trees, builds a
 * new root on a tmpfs, pivots into it, brings lo up, prepares the Landlock
 * ruleset, empties the capability bounding set, locks the securebits and
 * loads the seccomp filter (for itself and, inherited, for the command),
 * then clones the command. The command drops every capability, sets
 * no_new_privs, enters Landlock and execs /bin/sh. pid 1 stays outside
 * Landlock to reap, forward signals and relay proxy connections; when the
 * command exits, pid 1 exits with its code and the kernel kills whatever
 * else is left in the pid namespace.
 *
 * Templates (the usual path; DESIGN §7 budgets the envelope at 1.5x a
 * plain fork+exec). Creating the namespaces and building the root cost
 * more than the command, so they are done once per plan: the mount plan
 * (baseline, grants, masks, after resolution on the host) together with
 * the uid, gid and Landlock ABI is the key of a template. A builder child
 * does the cold path's setup up to the pivot and lo, records what every
 * plan path is in the new view (device, inode, type, mount root), and
 * stays as the template's zygote: a single-threaded process in its user,
 * mount, network, uts and cgroup namespaces that holds one socket to the
 * caller and nothing else. Ahead of each run the zygote clones pid 1 with
 * new pid, mount and ipc namespaces (CLONE_VM | CLONE_VFORK: no copy of an
 * address space; the zygote sleeps while pid 1 lives), which mounts a new
 * /proc, /tmp, /dev/shm and /dev/pts over the template's (private mounts:
 * nothing propagates back; grants under /tmp are moved onto the new one),
 * prepares the Landlock ruleset and waits. A run sends it the command,
 * cwd, environment, limits and pipes (struct zreq) and gets pid 1's pidfd;
 * pid 1 then goes on as the cold path does and sends the exit code before
 * it exits. So the run's critical path holds no namespace creation, no
 * mount and no fork of the caller: only the command's own clone, its
 * setup (capabilities, Landlock, seccomp, limits) and exec. Landlock,
 * seccomp, capabilities, limits and pid_max are per run. What a run can
 * change that outlives it is only what the grants let it write: the
 * root, /dev and the masks are read-only, its processes die with its pid
 * namespace, and sockets and SysV objects with their owners and its ipc
 * namespace. A template is used by one run at a time (runs through it
 * share a loopback); a concurrent run of the same plan runs cold. The
 * zygote ends when the caller's end of its socket closes (the caller
 * exited, or dropped the template); a pid 1 waiting for a request ends
 * with it.
 *
 * A kept view can go stale: the host may rename a new file over a hidden
 * one or recreate a read-only directory, which detaches the mask from
 * every namespace, or create a grant that was missing. So each run first
 * compares every plan path on the host with what it was at the build, and
 * pid 1 compares every plan path in its view with the builder's record;
 * any difference (or error, or a zygote gone) drops the template and
 * builds a new one; a second stale build runs cold. envelope_flush drops
 * them all.
 *
 * The caller may be threaded, so the children neither allocate nor take
 * locks: the mount plan and the seccomp program are built before the
 * clone, and the children use system calls and snprintf only. A setup
 * failure is written to a close-on-exec pipe as one line; any byte on it
 * means the command did not run ('T': stale template, run again).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "lib/buf.h"
#include "lib/err.h"
#include "sandbox/envelope.h"
#include "sandbox/probe.h"
#include "sandbox/proxy.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Landlock, declared here because the installed header may predate the
 * ABI the kernel offers; the kernel reads only the size we pass. */
#define LL_FS_EXECUTE		(1ULL << 0)
#define LL_FS_WRITE_FILE	(1ULL << 1)
#define LL_FS_READ_FILE		(1ULL << 2)
#define LL_FS_READ_DIR		(1ULL << 3)
#define LL_FS_TRUNCATE		(1ULL << 14)
#define LL_FS_IOCTL_DEV		(1ULL << 15)
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)
#define LL_SCOPE_SIGNAL		(1ULL << 1)
#define LL_RULE_PATH_BENEATH	1
#define LL_VERSION		(1U << 0)
#define LL_READ		(LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR)
#define LL_FILE_RIGHTS	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | \
			 LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

struct ll_attr {
	uint64_t	fs;
	uint64_t	net;
	uint64_t	scoped;
};

struct ll_path {
	uint64_t	allowed;
	int32_t		fd;
} __attribute__((packed));

#define NS_FLAGS	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | \
			 CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | \
			 CLONE_NEWCGROUP)
#define STACK_SIZE	(256 * 1024)
#define MAX_CONNS	64
#define RELAY_BUF	16384
#define ERR_MAX		1024

/* What one entry of the new root is. */
enum { M_RO, M_RW, M_HIDE, M_LINK };

struct mnt {
	char	*path;		/* absolute; the same inside and outside */
	char	*link;		/* M_LINK: the symlink's target */
	int	 kind;
	int	 tree;		/* child: detached mount, or -1 */
	int	 dir;		/* child: the source is a directory */
};

/* The host devices in the sandbox's /dev; the rest of it is its own. */
static const char *const devs[] = { "null", "zero", "full", "random",
	"urandom", "tty" };
static const char *const devs_own[] = { "pts", "shm", "ptmx", "fd", "stdin",
	"stdout", "stderr" };

/* What a plan path resolves to: on the host, or in a template's view. */
struct seen {
	int		 present;
	int		 mroot;		/* the root of a mount */
	unsigned	 type;		/* S_IFMT bits */
	uint32_t	 maj, min;
	uint64_t	 ino;
};

/* A prepared view, kept by its zygote (below). */
struct tmpl {
	struct buf	 key;		/* uid, gid, Landlock ABI, the plan */
	size_t		 nm;
	struct seen	*host;		/* each plan path on the host */
	struct seen	*view;		/* and in the view (shared mapping) */
	pid_t		 owner;		/* the process that built it */
	pid_t		 zpid;		/* the zygote */
	int		 zpidfd;
	int		 sock;		/* to the zygote and its pid 1 */
	uint32_t	 seq;		/* of the last request */
	int		 busy;		/* a run is using it */
	int		 dead;		/* flushed: freed when released */
	uint64_t	 used;		/* for eviction: last use */
};

/* How the child is run: cold, the template's builder (which becomes its
 * zygote), or a pid 1 the zygote spawned ahead of its command. */
enum { C_COLD, C_BUILD, C_WARM };

/*
 * A request, caller to a waiting pid 1, on the template's SOCK_SEQPACKET
 * socket, in one message (two pid 1s may be reading): this header with
 * the command's stdin, output and error pipes (and the proxy socket when
 * net) as SCM_RIGHTS, and the body: the command, the cwd and nenv
 * environment strings, each NUL-terminated. A body over Z_INLINE comes
 * in a memfd, the last descriptor, instead.
 */
#define Z_MAGIC		0x77617264U	/* "ward" */
#define Z_INLINE	16384
#define Z_BODY_MAX	(64U << 20)
#define Z_ENV_MAX	65536
#define Z_ANSWER_MS	10000		/* pid 1 answers at once, or is broken */

struct zreq {
	uint32_t	 magic;
	uint32_t	 seq;
	uint32_t	 net;		/* a fourth fd: the proxy socket */
	uint32_t	 ncmd;		/* with its NUL */
	uint32_t	 ncwd;		/* with its NUL */
	uint32_t	 nenv;		/* strings */
	uint32_t	 body;		/* bytes in all */
	uint32_t	 memfd;		/* the body is in a memfd */
	struct rlimit	 lim[6];
};

/* A reply, pid 1 to the caller: 'P' with pid 1's pidfd as it takes the
 * request, 'X' with the command's exit code (as pid 1's) just before it
 * exits. */
struct zrep {
	uint32_t	 magic;
	uint32_t	 seq;
	int32_t		 kind;
	int32_t		 code;
};

/* Everything the child needs, prepared by the caller. */
struct ctx {
	const struct envelope_spec *s;
	struct mnt	*m;
	size_t		 nm;
	int		 mode;		/* C_* */
	struct tmpl	*t;		/* C_BUILD, C_WARM */
	int		 drop;		/* C_WARM: the template is unusable */
	int		 all;		/* fs == ENVELOPE_FS_ALL */
	int		 abi;		/* Landlock ABI */
	uid_t		 uid;
	gid_t		 gid;
	int		 outw;		/* output pipe, write end */
	int		 errw;		/* setup error pipe, write end */
	int		 life;		/* read end; EOF when the caller died */
	int		 in;		/* the command's stdin */
	int		 net;		/* the proxy socket, or -1 */
	const char	*cmd;		/* this run's command, cwd and env */
	const char	*cwd;
	char *const	*envp;
	struct rlimit	 lim[6];
	int		 limres[6];
	/* pid 1 (C_WARM) and its zygote; shared memory (CLONE_VM) */
	int		 sock;		/* to the caller */
	int		 keep[2];	/* the zygote's: pid 1 parks its mount
					 * namespace in keep[1] */
	int		 ll;		/* the Landlock ruleset */
	int		 sfd;		/* signalfd */
	sigset_t	 old;		/* the signal mask before */
	void		*cstack;	/* the command's stack */
	unsigned long	 pidmax;	/* written to pid_max, or 0 */
	int		 served;	/* pid 1 took a request */
	int		 quit;		/* the caller is gone */
	uint32_t	 seq;		/* of the request */
	void		*zmap[4];	/* pid 1's mappings, unmapped by the */
	size_t		 zlen[4];	/* zygote once it is gone */
};

/* A relayed connection: a is the command's side, b the proxy's. */
struct conn {
	int	 a, b;
	int	 a_eof, b_eof;		/* read side saw EOF */
	int	 a_shut, b_shut;	/* write side shut */
	size_t	 nab, nba;		/* bytes pending a->b, b->a */
	char	 ab[RELAY_BUF], ba[RELAY_BUF];
};

/* The seccomp program, built once per process. */
static pthread_once_t	 sc_once = PTHREAD_ONCE_INIT;
static struct sock_filter *sc_prog;
static unsigned short	 sc_len;

/* The templates, by key; tm_lock guards the array and busy/dead/used. */
#define NTMPL	4
static pthread_mutex_t	 tm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tmpl	*tm_cache[NTMPL];
static uint64_t		 tm_clock;

/* ---- the child: pid 1 of the sandbox ---- */

/* Reports a setup failure on the error pipe, with strerror(errno) unless
 * errno is 0, and exits. code is 'U' (unavailable), 'S' (system) or 'I'
 * (invalid spec). */
static void __attribute__((noreturn, format(printf, 3, 4)))
envelope_die(const struct ctx *c, int code, const char *fmt, ...)
{
	char	 msg[ERR_MAX];
	int	 e = errno, n;
	va_list	 ap;

	msg[0] = (char)code;
	va_start(ap, fmt);
	n = vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg) - 1)
		n = sizeof(msg) - 2;
	if (e != 0)
		n += snprintf(msg + 1 + n, sizeof(msg) - 1 - (size_t)n, ": %s",
		    strerror(e));
	if ((size_t)n >= sizeof(msg) - 1)
		n = sizeof(msg) - 2;
	(void)!write(c->errw, msg, (size_t)n + 1);
	_exit(127);
}

static int
envelope_write_file(const char *path, const char *text)
{
	int	 fd, rv = -1;
	size_t	 n = strlen(text);

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	if (write(fd, text, n) == (ssize_t)n)
		rv = 0;
	close(fd);
	return rv;
}

/* A detached tmpfs, proc or devpts mount with the given options. */
static int
envelope_fs_tree(const char *type, const char *const *opts, size_t nopts,
    unsigned attr)
{
	int	 fs, mnt = -1, e;
	size_t	 i;

	if ((fs = fsopen(type, FSOPEN_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i + 1 < nopts; i += 2)
		if (fsconfig(fs, FSCONFIG_SET_STRING, opts[i], opts[i + 1],
		    0) == -1)
			goto out;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == -1)
		goto out;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, attr);
out:
	e = errno;
	close(fs);
	errno = e;
	return mnt;
}

/* A detached copy of the host path, nosuid, with attr (MOUNT_ATTR_*) all
 * the way down. Symlinks anywhere in path are refused. */
static int
envelope_clone(const char *path, unsigned attr, int *dir)
{
	struct open_how		 how;
	struct mount_attr	 ma;
	struct stat		 st;
	int			 fd, tree = -1, e;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	if ((fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how,
	    sizeof(how))) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto out;
	*dir = S_ISDIR(st.st_mode);
	tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
	    AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree == -1)
		goto out;
	memset(&ma, 0, sizeof(ma));
	ma.attr_set = MOUNT_ATTR_NOSUID | attr;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma,
	    sizeof(ma)) == -1) {
		e = errno;
		close(tree);
		errno = e;
		tree = -1;
	}
out:
	e = errno;
	close(fd);
	errno = e;
	return tree;
}

/*
 * Opens (creating when missing) the mount point for path under the new
 * root at rootfd, never following a symlink: a granted directory may hold
 * symlinks the command planted. Returns an O_PATH fd or -1.
 */
static int
envelope_target(int rootfd, const char *path, int dir)
{
	char		 comp[NAME_MAX + 1];
	const char	*p = path, *q;
	struct stat	 st;
	int		 fd, next, last;
	size_t		 n;

	if ((fd = dup(rootfd)) == -1)
		return -1;
	for (;;) {
		while (*p == '/')
			p++;
		q = strchr(p, '/');
		n = q != NULL ? (size_t)(q - p) : strlen(p);
		if (n == 0 || n > NAME_MAX)
			break;
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		while (*p == '/')
			p++;
		last = *p == '\0';
		if (!last || dir) {
			if (mkdirat(fd, comp, 0755) == -1 && errno != EEXIST)
				goto fail;
			next = openat(fd, comp, O_PATH | O_NOFOLLOW |
			    O_DIRECTORY | O_CLOEXEC);
		} else {
			next = openat(fd, comp, O_WRONLY | O_CREAT |
			    O_NOFOLLOW | O_CLOEXEC, 0644);
			if (next == -1 && (errno == EROFS || errno == EACCES ||
			    errno == EISDIR || errno == ETXTBSY))
				next = openat(fd, comp, O_PATH | O_NOFOLLOW |
				    O_CLOEXEC);
		}
		if (next == -1)
			goto fail;
		close(fd);
		fd = next;
		if (last) {
			if (fstat(fd, &st) == -1)
				goto fail;
			if (dir != S_ISDIR(st.st_mode) ||
			    (!dir && S_ISLNK(st.st_mode))) {
				errno = ENOTDIR;
				goto fail;
			}
			return fd;
		}
	}
	errno = EINVAL;
fail:
	n = (size_t)errno;
	close(fd);
	errno = (int)n;
	return -1;
}

static void
envelope_attach(const struct ctx *c, int rootfd, int tree, const char *path,
    int dir)
{
	int	 t;

	if ((t = envelope_target(rootfd, path, dir)) == -1)
		envelope_die(c, 'S', "sandbox: mount point %s", path);
	if (move_mount(tree, "", t, "", MOVE_MOUNT_F_EMPTY_PATH |
	    MOVE_MOUNT_T_EMPTY_PATH) == -1)
		envelope_die(c, 'S', "sandbox: mount %s", path);
	close(t);
	close(tree);
}

/* Builds the new root in the tmpfs at rootfd (the cwd) and pivots. */
static void
envelope_root(struct ctx *c)
{
	static const char *const pts[] = { "ptmxmode",
	    "0666", "mode", "0620" };
	static const char *const d755[] = { "mode", "0755" };
	static const char *const t1777[] = { "mode", "1777" };
	static const char *const links[][2] = { { "pts/ptmx", "dev/ptmx" },
	    { "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" },
	    { "/proc/self/fd/1", "dev/stdout" },
	    { "/proc/self/fd/2", "dev/stderr" } };
	int	 devt[nitems(devs)], dir, t, rootfd;
	size_t	 i;
	struct mount_attr ma;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		envelope_die(c, 'U', "sandbox: mount namespace: make / private");
	/* Clone every source while the host tree is still the root. */
	for (i = 0; i < nitems(devs); i++) {
		char	 p[32];

		snprintf(p, sizeof(p), "/dev/%s", devs[i]);
		if ((devt[i] = envelope_clone(p, MOUNT_ATTR_NOEXEC, &dir))
		    == -1)
			envelope_die(c, 'S', "sandbox: bind %s", p);
	}
	for (i = 0; i < c->nm; i++) {
		struct mnt	*m = &c->m[i];
		struct stat	 st;

		m->tree = -1;
		if (m->kind == M_LINK)
			continue;
		if (m->kind == M_HIDE) {
			if (lstat(m->path, &st) == -1) {
				if (errno == ENOENT)
					continue;
				envelope_die(c, 'S', "sandbox: hide %s",
				    m->path);
			}
			if (S_ISLNK(st.st_mode)) {
				errno = 0;
				envelope_die(c, 'I', "sandbox: hide %s is a "
				    "symlink: list its real path", m->path);
			}
			m->dir = S_ISDIR(st.st_mode);
			m->tree = m->dir ?
			    envelope_fs_tree("tmpfs", d755, 2,
			    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
			    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) :
			    envelope_clone("/dev/null", MOUNT_ATTR_RDONLY |
			    MOUNT_ATTR_NODEV, &dir);
			if (m->tree == -1)
				envelope_die(c, 'S', "sandbox: hide %s",
				    m->path);
			continue;
		}
		m->tree = envelope_clone(m->path, MOUNT_ATTR_NODEV |
		    (m->kind == M_RO ? MOUNT_ATTR_RDONLY : 0), &m->dir);
		if (m->tree == -1 && errno == ENOENT)
			continue;
		if (m->tree == -1 && errno == ELOOP) {
			errno = 0;
			envelope_die(c, 'I', "sandbox: %s has a symlink in "
			    "it: grant its real path", m->path);
		}
		if (m->tree == -1)
			envelope_die(c, errno == EPERM ? 'U' : 'S',
			    "sandbox: bind %s", m->path);
	}

	/* The new root: a tmpfs over /tmp, whose host content is cloned. */
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=0755") == -1 || chdir("/tmp") == -1)
		envelope_die(c, 'U', "sandbox: mount namespace: tmpfs root");
	if ((rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		envelope_die(c, 'S', "sandbox: open root");

	if ((t = envelope_fs_tree("proc", NULL, 0, MOUNT_ATTR_NOSUID |
	    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) == -1)
		envelope_die(c, 'U', "sandbox: pid namespace: mount /proc");
	envelope_attach(c, rootfd, t, "/proc", 1);
	if ((t = envelope_fs_tree("tmpfs", d755, 2, MOUNT_ATTR_NOSUID |
	    MOUNT_ATTR_NOEXEC)) == -1)
		envelope_die(c, 'U', "sandbox: mount /dev");
	envelope_attach(c, rootfd, t, "/dev", 1);
	for (i = 0; i < nitems(devs); i++) {
		char	 p[32];

		snprintf(p, sizeof(p), "/dev/%s", devs[i]);
		envelope_attach(c, rootfd, devt[i], p, 0);
	}
	if ((t = envelope_fs_tree("devpts", pts, nitems(pts),
	    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)) == -1)
		envelope_die(c, 'U', "sandbox: mount /dev/pts");
	envelope_attach(c, rootfd, t, "/dev/pts", 1);
	if ((t = envelope_fs_tree("tmpfs", t1777, 2, MOUNT_ATTR_NOSUID |
	    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) == -1)
		envelope_die(c, 'U', "sandbox: mount /dev/shm");
	envelope_attach(c, rootfd, t, "/dev/shm", 1);
	for (i = 0; i < nitems(links); i++)
		if (symlinkat(links[i][0], rootfd, links[i][1]) == -1)
			envelope_die(c, 'S', "sandbox: /%s", links[i][1]);
	/* Read-only once filled: a kept template must not carry metadata
	 * (modes, times) from one command to the next. */
	memset(&ma, 0, sizeof(ma));
	ma.attr_set = MOUNT_ATTR_RDONLY;
	if ((t = envelope_target(rootfd, "/dev", 1)) == -1 ||
	    mount_setattr(t, "", AT_EMPTY_PATH, &ma, sizeof(ma)) == -1)
		envelope_die(c, 'S', "sandbox: read-only /dev");
	close(t);
	if ((t = envelope_fs_tree("tmpfs", t1777, 2, MOUNT_ATTR_NOSUID |
	    MOUNT_ATTR_NODEV)) == -1)
		envelope_die(c, 'U', "sandbox: mount /tmp");
	envelope_attach(c, rootfd, t, "/tmp", 1);

	/* Grants in plan order: parents before children, hides last. */
	for (i = 0; i < c->nm; i++) {
		struct mnt	*m = &c->m[i];

		if (m->kind == M_LINK) {
			if (symlinkat(m->link, rootfd, m->path + 1) == -1)
				envelope_die(c, 'S', "sandbox: symlink %s",
				    m->path);
			continue;
		}
		if (m->tree == -1)
			continue;
		envelope_attach(c, rootfd, m->tree, m->path, m->dir);
		m->tree = -1;
	}

	if (syscall(SYS_pivot_root, ".", ".") == -1 ||
	    umount2(".", MNT_DETACH) == -1 || chdir("/") == -1)
		envelope_die(c, 'U', "sandbox: pivot_root");
	memset(&ma, 0, sizeof(ma));
	ma.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	if (mount_setattr(AT_FDCWD, "/", 0, &ma, sizeof(ma)) == -1)
		envelope_die(c, 'S', "sandbox: read-only root");
	close(rootfd);
}

/* Brings lo up: the only interface in the new network namespace. */
static void
envelope_lo(const struct ctx *c)
{
	struct ifreq	 ifr;
	int		 fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		envelope_die(c, 'S', "sandbox: network namespace: socket");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == -1)
		envelope_die(c, 'S', "sandbox: network namespace: lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) == -1)
		envelope_die(c, 'U', "sandbox: network namespace: lo up");
	close(fd);
}

static void
envelope_ll_path(const struct ctx *c, int ll, const char *path,
    uint64_t allowed, uint64_t handled)
{
	struct ll_path	 pb;
	struct stat	 st;
	int		 fd;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return;
		envelope_die(c, 'S', "sandbox: landlock: open %s", path);
	}
	if (fstat(fd, &st) == -1)
		envelope_die(c, 'S', "sandbox: landlock: stat %s", path);
	if (!S_ISDIR(st.st_mode))
		allowed &= LL_FILE_RIGHTS;
	pb.allowed = allowed & handled;
	pb.fd = fd;
	if (syscall(SYS_landlock_add_rule, ll, LL_RULE_PATH_BENEATH, &pb, 0)
	    == -1)
		envelope_die(c, 'S', "sandbox: landlock: rule for %s", path);
	close(fd);
}

/* The Landlock ruleset over the new root; enforced by the command. */
static int
envelope_landlock(const struct ctx *c)
{
	struct ll_attr	 a;
	uint64_t	 all, dev;
	size_t		 asz, i;
	int		 ll;

	memset(&a, 0, sizeof(a));
	a.fs = (1ULL << 13) - 1;
	asz = sizeof(uint64_t);
	if (c->abi >= 2)
		a.fs |= 1ULL << 13;	/* REFER */
	if (c->abi >= 3)
		a.fs |= LL_FS_TRUNCATE;
	/* No network rules: the network namespace holds only lo, which is
	 * the command's own (DESIGN §2: loopback inside its namespace), and
	 * the proxy relay is reached on it. */
	if (c->abi >= 4)
		asz = 2 * sizeof(uint64_t);
	if (c->abi >= 5)
		a.fs |= LL_FS_IOCTL_DEV;
	if (c->abi >= 6) {
		a.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		asz = sizeof(a);
	}
	all = a.fs;
	if ((ll = (int)syscall(SYS_landlock_create_ruleset, &a, asz, 0)) == -1)
		envelope_die(c, 'U', "sandbox: landlock: create ruleset");
	dev = LL_READ | LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
	if (c->all)
		envelope_ll_path(c, ll, "/", LL_READ, all);
	envelope_ll_path(c, ll, "/proc", LL_READ | LL_FS_WRITE_FILE, all);
	envelope_ll_path(c, ll, "/dev", dev, all);
	envelope_ll_path(c, ll, "/dev/pts", dev, all);
	envelope_ll_path(c, ll, "/dev/shm", all, all);
	envelope_ll_path(c, ll, "/tmp", all, all);
	for (i = 0; i < c->nm; i++) {
		if (c->m[i].kind == M_RO)
			envelope_ll_path(c, ll, c->m[i].path, LL_READ, all);
		else if (c->m[i].kind == M_RW)
			envelope_ll_path(c, ll, c->m[i].path, all, all);
	}
	return ll;
}

/*
 * In pid 1, for the command it will start: an empty bounding set and
 * securebits that keep exec as uid 0 from granting capabilities, so that
 * once the command drops its own (envelope_drop_caps) nothing gives them
 * back. pid 1 keeps its effective set, which it still needs.
 */
static void
envelope_bound_caps(const struct ctx *c)
{
	int	 cap;

	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	    SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
	    SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) == -1)
		envelope_die(c, 'S', "sandbox: securebits");
	for (cap = 0; prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0; cap++)
		;
	if (errno != EINVAL || cap <= CAP_LAST_CAP)
		envelope_die(c, 'S', "sandbox: drop bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		envelope_die(c, 'S', "sandbox: clear ambient capabilities");
}

/* In the command: every capability dropped, for good (above). */
static void
envelope_drop_caps(const struct ctx *c)
{
	struct __user_cap_header_struct	 h;
	struct __user_cap_data_struct	 d[2];

	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capset, &h, d) == -1)
		envelope_die(c, 'S', "sandbox: drop capabilities");
}

/* What the command's clone gets from pid 1. */
struct cmd_arg {
	const struct ctx *c;
	const sigset_t	*old;
	int		 ll;
};

/*
 * The command: pid 2. It shares pid 1's memory until execve (CLONE_VM |
 * CLONE_VFORK: no copy of the address space) and writes to none of it:
 * the context it changes is its own copy on its own stack.
 */
static int
envelope_command(void *arg)
{
	static char *const	 empty[] = { NULL };
	static const char	 noexec[] = "Isandbox: cannot run /bin/sh "
	    "inside (is the system baseline visible?)";
	const struct cmd_arg	*a = arg;
	struct ctx		 cc = *a->c, *c = &cc;
	const char		*argv[] = { "sh", "-c", c->cmd, NULL };
	size_t			 i;
	int			 ll = a->ll;

	if (sigprocmask(SIG_SETMASK, a->old, NULL) == -1 || setsid() == -1)
		envelope_die(c, 'S', "sandbox: session");
	/* Out of the way of 0-3 first: any of these may be a low number,
	 * and the dups below would close it under us. */
	if ((ll = fcntl(ll, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (c->in = fcntl(c->in, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (c->outw = fcntl(c->outw, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (c->errw = fcntl(c->errw, F_DUPFD_CLOEXEC, 10)) == -1)
		envelope_die(c, 'S', "sandbox: stdio");
	if (dup2(c->in, 0) == -1 || dup2(c->outw, 1) == -1 ||
	    dup2(c->outw, 2) == -1 || dup3(c->errw, 3, O_CLOEXEC) == -1)
		envelope_die(c, 'S', "sandbox: stdio");
	if (chdir(c->cwd) == -1)
		envelope_die(c, 'I', "sandbox: cwd %s", c->cwd);
	envelope_drop_caps(c);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		envelope_die(c, 'U', "sandbox: no_new_privs");
	if (syscall(SYS_landlock_restrict_self, ll, 0) == -1)
		envelope_die(c, 'U', "sandbox: landlock: restrict_self");
	/* The seccomp filter came with the clone (envelope_init_prepare). */
	c->errw = 3;
	if (close_range(4, ~0U, 0) == -1)
		envelope_die(c, 'S', "sandbox: close_range");
	/* Last, so that nothing before exec runs under RLIMIT_AS. */
	for (i = 0; i < nitems(c->lim); i++)
		if (setrlimit(c->limres[i], &c->lim[i]) == -1)
			envelope_die(c, 'S', "sandbox: limits: setrlimit");
	execve("/bin/sh", (char *const *)argv,
	    c->envp != NULL ? c->envp : empty);
	/* No formatting here: it could need memory the limit refuses. */
	(void)!write(c->errw, noexec, sizeof(noexec) - 1);
	_exit(127);
}

static int
envelope_proxy_fd(int net)
{
	int	 fd;

	if ((fd = proxy_client(net)) == -1)
		return -1;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
envelope_conn_close(struct conn *k)
{
	close(k->a);
	close(k->b);
	k->a = k->b = -1;
}

/* Moves bytes one way: from src into buf, from buf into dst. Returns -1
 * when the connection is broken. */
static int
envelope_pump(int src, short srev, int dst, short drev, char *buf,
    size_t *n, int *eof, int *shut)
{
	ssize_t	 r;

	if ((srev & (POLLIN | POLLHUP | POLLERR)) && !*eof && *n == 0) {
		r = read(src, buf, RELAY_BUF);
		if (r == 0)
			*eof = 1;
		else if (r > 0)
			*n = (size_t)r;
		else if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
	if ((drev & POLLOUT) && *n > 0) {
		r = write(dst, buf, *n);
		if (r > 0) {
			memmove(buf, buf + r, *n - (size_t)r);
			*n -= (size_t)r;
		} else if (r == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	if ((drev & POLLERR) && *n > 0)
		return -1;
	if (*eof && *n == 0 && !*shut) {
		shutdown(dst, SHUT_WR);
		*shut = 1;
	}
	return 0;
}

/* pid 1's end (C_WARM): the command's exit code to the caller. */
static void __attribute__((noreturn))
envelope_init_exit(const struct ctx *c, int code)
{
	struct zrep	 z;

	if (c->mode == C_WARM) {
		memset(&z, 0, sizeof(z));
		z.magic = Z_MAGIC;
		z.seq = c->seq;
		z.kind = 'X';
		z.code = code;
		(void)!send(c->sock, &z, sizeof(z), MSG_NOSIGNAL);
	}
	_exit(code);
}

/* pid 1 after the command started: reap, forward signals, relay; a warm
 * pid 1 also ends when the caller goes away (its socket hangs up). */
static void __attribute__((noreturn))
envelope_init_loop(struct ctx *c, pid_t cmd, int sfd, int lfd)
{
	struct pollfd		 pf[3 + 2 * MAX_CONNS];
	struct signalfd_siginfo	 si;
	struct conn		*k = NULL;
	size_t			 i, np;
	int			 st, fd, code;
	pid_t			 p;

	if (lfd != -1) {
		k = mmap(NULL, MAX_CONNS * sizeof(*k), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (k == MAP_FAILED) {
			close(lfd);
			lfd = -1;
			k = NULL;
		} else {
			/* Shared with the zygote, which unmaps it. */
			c->zmap[1] = k;
			c->zlen[1] = MAX_CONNS * sizeof(*k);
			for (i = 0; i < MAX_CONNS; i++)
				k[i].a = k[i].b = -1;
		}
	}
	for (;;) {
		pf[0].fd = sfd;
		pf[0].events = POLLIN;
		pf[1].fd = lfd;
		pf[1].events = POLLIN;
		pf[2].fd = c->mode == C_WARM ? c->sock : -1;
		pf[2].events = 0;	/* hang-up and errors only */
		for (i = 0; k != NULL && i < MAX_CONNS; i++) {
			pf[3 + 2 * i].fd = k[i].a;
			pf[3 + 2 * i].events =
			    (!k[i].a_eof && k[i].nab == 0 ? POLLIN : 0) |
			    (k[i].nba > 0 ? POLLOUT : 0);
			pf[4 + 2 * i].fd = k[i].b;
			pf[4 + 2 * i].events =
			    (!k[i].b_eof && k[i].nba == 0 ? POLLIN : 0) |
			    (k[i].nab > 0 ? POLLOUT : 0);
		}
		np = k != NULL ? nitems(pf) : 3;
		if (poll(pf, np, -1) == -1) {
			if (errno == EINTR)
				continue;
			_exit(127);
		}
		if (pf[2].revents != 0) {
			c->quit = 1;
			_exit(127);
		}
		if (pf[0].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo != SIGCHLD) {
				kill(-cmd, (int)si.ssi_signo);
				continue;
			}
			while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
				if (p != cmd)
					continue;
				code = WIFEXITED(st) ? WEXITSTATUS(st) :
				    128 + WTERMSIG(st);
				envelope_init_exit(c, code);
			}
		}
		if (lfd != -1 && (pf[1].revents & POLLIN)) {
			fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
			    SOCK_CLOEXEC);
			for (i = 0; fd != -1 && i < MAX_CONNS; i++)
				if (k[i].a == -1)
					break;
			if (fd != -1 && i == MAX_CONNS)
				close(fd);
			else if (fd != -1) {
				memset(&k[i], 0, offsetof(struct conn, ab));
				k[i].a = fd;
				if ((k[i].b = envelope_proxy_fd(c->net))
				    == -1)
					envelope_conn_close(&k[i]);
			}
		}
		for (i = 0; k != NULL && i < MAX_CONNS; i++) {
			struct conn	*q = &k[i];
			short		 ra = pf[3 + 2 * i].revents;
			short		 rb = pf[4 + 2 * i].revents;

			if (q->a == -1 || pf[3 + 2 * i].fd != q->a)
				continue;
			if (envelope_pump(q->a, ra, q->b, rb, q->ab, &q->nab,
			    &q->a_eof, &q->b_shut) == -1 ||
			    envelope_pump(q->b, rb, q->a, ra, q->ba, &q->nba,
			    &q->b_eof, &q->a_shut) == -1 ||
			    (q->a_shut && q->b_shut))
				envelope_conn_close(q);
		}
	}
}

/*
 * pid 1 is a copy of a caller that may have other threads: it must not
 * hold their descriptors (another command's output pipe, a socket) for
 * the life of this sandbox. Keeps only those in keep (at most 4).
 */
static void
envelope_close_others(int *keep, size_t n)
{
	unsigned int lo = 3;
	size_t i, j;
	int t;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned int)keep[i] > lo)
			(void)close_range(lo, (unsigned int)keep[i] - 1, 0);
		lo = (unsigned int)keep[i] + 1;
	}
	(void)close_range(lo, ~0U, 0);
}

/*
 * What path is, without following a final symlink: 0 with w filled (absent
 * is not an error), or -1. The kernel must say whether it is a mount root,
 * or a template cannot be checked.
 */
static int
envelope_seen(const char *path, struct seen *w)
{
	struct statx	 sx;

	memset(w, 0, sizeof(*w));
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
	    STATX_TYPE | STATX_INO, &sx) == -1)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) == 0) {
		errno = ENOSYS;
		return -1;
	}
	w->present = 1;
	w->mroot = (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	w->type = sx.stx_mode & S_IFMT;
	w->maj = sx.stx_dev_major;
	w->min = sx.stx_dev_minor;
	w->ino = sx.stx_ino;
	return 0;
}

static int
envelope_same(const struct seen *a, const struct seen *b)
{
	return a->present == b->present && a->mroot == b->mroot &&
	    a->type == b->type && a->maj == b->maj && a->min == b->min &&
	    a->ino == b->ino;
}

/* 1 when plan path i lies inside another one that is present. */
static int
envelope_nested(const struct ctx *c, size_t i)
{
	size_t	 j, l;

	for (j = 0; j < c->nm; j++) {
		l = strlen(c->m[j].path);
		if (j != i && c->m[j].kind != M_LINK &&
		    c->t->view[j].present &&
		    strncmp(c->m[i].path, c->m[j].path, l) == 0 &&
		    c->m[i].path[l] == '/')
			return 1;
	}
	return 0;
}

/*
 * C_WARM: what must be new for each command, mounted over the template's:
 * /proc of the new pid namespace, /tmp, /dev/shm and /dev/pts. The
 * template's own are private mounts, so nothing here reaches it.
 */
static void
envelope_fresh(struct ctx *c)
{
	struct mnt	*m;
	size_t		 i;
	int		 rootfd;

	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1)
		envelope_die(c, 'U', "sandbox: pid namespace: mount /proc");
	/* Grants under /tmp move onto the new /tmp, with their masks. */
	for (i = 0; i < c->nm; i++) {
		m = &c->m[i];
		m->tree = -1;
		if (m->kind == M_LINK || !c->t->view[i].present ||
		    strncmp(m->path, "/tmp/", 5) != 0 ||
		    envelope_nested(c, i))
			continue;
		m->tree = open_tree(AT_FDCWD, m->path, OPEN_TREE_CLONE |
		    OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
		if (m->tree == -1)
			envelope_die(c, 'T', "sandbox: template: %s", m->path);
	}
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=1777") == -1)
		envelope_die(c, 'U', "sandbox: mount /tmp");
	if ((rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		envelope_die(c, 'S', "sandbox: open root");
	for (i = 0; i < c->nm; i++)
		if (c->m[i].tree != -1) {
			envelope_attach(c, rootfd, c->m[i].tree, c->m[i].path,
			    c->t->view[i].type == S_IFDIR);
			c->m[i].tree = -1;
		}
	close(rootfd);
	if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, "mode=1777") == -1)
		envelope_die(c, 'U', "sandbox: mount /dev/shm");
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620") == -1)
		envelope_die(c, 'U', "sandbox: mount /dev/pts");
}

/*
 * C_BUILD records what each plan path is in the new view; C_WARM checks
 * that it still is. A mask goes away when the host replaces what it
 * covers (an editor's rename over .env detaches the mount from every
 * namespace), so a hidden or read-only path could show through a kept
 * view: then the run stops with 'T' and the caller builds a new one.
 */
static void
envelope_view(const struct ctx *c)
{
	struct seen	 w;
	size_t		 i;

	for (i = 0; i < c->nm; i++) {
		if (c->m[i].kind == M_LINK)
			continue;
		if (envelope_seen(c->m[i].path, &w) == -1)
			envelope_die(c, 'T', "sandbox: template: %s",
			    c->m[i].path);
		if (c->mode == C_BUILD)
			c->t->view[i] = w;
		else if (!envelope_same(&w, &c->t->view[i])) {
			errno = 0;
			envelope_die(c, 'T', "sandbox: template: %s changed",
			    c->m[i].path);
		}
	}
}

/*
 * The kernel does not apply RLIMIT_NPROC to host root, so a per pid
 * namespace pid_max (Linux >= 6.14) is the process cap; it cannot be
 * below 301. For other users RLIMIT_NPROC is the tighter bound. Returns
 * -1 when root would be left without a cap.
 */
static int
envelope_pid_max(struct ctx *c)
{
	char		 b[32];
	unsigned long	 v;

	v = c->lim[1].rlim_cur + 2 < 301 ? 301 :
	    (unsigned long)c->lim[1].rlim_cur + 2;
	if (v == c->pidmax)
		return 0;
	snprintf(b, sizeof(b), "%lu\n", v);
	if (envelope_write_file("/proc/sys/kernel/pid_max", b) == -1)
		return c->uid == 0 ? -1 : 0;
	c->pidmax = v;
	return 0;
}

static void __attribute__((noreturn))
envelope_die_pid_max(const struct ctx *c)
{
	envelope_die(c, 'U', "sandbox: limits: RLIMIT_NPROC does not apply to "
	    "root and this kernel has no per-namespace pid_max (Linux >= "
	    "6.14): run ward as a normal user");
}

/*
 * pid 1 before its command is known, its mounts done: the Landlock
 * ruleset, signals, the command's stack, the capability bounds and the
 * seccomp filter, which pid 1 loads for itself and for the command it
 * will clone (filters are inherited), so that the command does not pay
 * for compiling it. pid 1 needs nothing the filter refuses from here on:
 * it reaps, relays and clones without namespace flags. It stays outside
 * Landlock.
 */
static void
envelope_init_prepare(struct ctx *c)
{
	struct sock_fprog	 prog;
	struct sigaction	 sa;
	sigset_t		 set;

	/* A caller that ignores SIGCHLD passed that on: the command would
	 * be reaped unseen and pid 1 wait for ever. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &sa, NULL) == -1)
		envelope_die(c, 'S', "sandbox: init: SIGCHLD");

	/* pid 1 is a copy of the caller: keep /proc/1 and ptrace off it. */
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		envelope_die(c, 'S', "sandbox: init: not dumpable");
	c->ll = envelope_landlock(c);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, &c->old) == -1 ||
	    (c->sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		envelope_die(c, 'S', "sandbox: init: signalfd");
	c->cstack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (c->cstack == MAP_FAILED)
		envelope_die(c, 'S', "sandbox: init: stack");
	c->zmap[0] = c->cstack;
	c->zlen[0] = STACK_SIZE;
	envelope_bound_caps(c);
	prog.len = sc_len;
	prog.filter = sc_prog;
	/* Without no_new_privs: pid 1 has CAP_SYS_ADMIN in its namespace. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		envelope_die(c, 'U', "sandbox: seccomp: load filter");
}

/* pid 1 once its command is known: the relay, the command, the loop. */
static void __attribute__((noreturn))
envelope_init_run(struct ctx *c)
{
	struct sockaddr_in	 sin;
	struct cmd_arg		 ca;
	pid_t			 cmd;
	int			 lfd = -1, one = 1;

	if (c->net >= 0) {
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(ENVELOPE_PROXY_PORT);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (lfd == -1 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR,
		    &one, sizeof(one)) == -1 || bind(lfd,
		    (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    listen(lfd, 64) == -1)
			envelope_die(c, 'S', "sandbox: network relay: listen");
	}
	ca.c = c;
	ca.old = &c->old;
	ca.ll = c->ll;
	/* pid 1 waits until the command has exec'd (or failed to). */
	if ((cmd = clone(envelope_command, (char *)c->cstack + STACK_SIZE,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &ca)) == -1)
		envelope_die(c, 'S', "sandbox: init: fork");
	munmap(c->cstack, STACK_SIZE);
	c->zmap[0] = NULL;
	close(c->ll);
	close(c->outw);
	close(c->errw);
	close(c->in);
	envelope_init_loop(c, cmd, c->sfd, lfd);
}

/*
 * C_WARM: waits for the caller's request (struct zreq) and takes it,
 * answering 'P' with pid 1's own pidfd. When the caller has gone, or
 * sends what it never would, sets quit: the zygote ends and the caller
 * sees its socket close.
 */
static void
envelope_request(struct ctx *c, int pidfd)
{
	union {
		char		 b[CMSG_SPACE(5 * sizeof(int))];
		struct cmsghdr	 a;
	}		 u;
	struct zreq	 h;
	struct zrep	 z;
	struct msghdr	 mh;
	struct iovec	 iov[2];
	struct cmsghdr	*cm;
	char		*b, *in, **ev, *p, *end;
	int		 fd[5], nfd = 0;
	size_t		 got, i, sz;
	ssize_t		 n;

	/* Room for an inline body, mapped before the request comes. */
	if ((in = mmap(NULL, Z_INLINE, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		goto quit;
	c->zmap[3] = in;
	c->zlen[3] = Z_INLINE;
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = in;
	iov[1].iov_len = Z_INLINE;
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	while ((n = recvmsg(c->sock, &mh, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	c->served = 1;
	if (n <= 0)
		goto quit;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS && nfd == 0) {
			nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfd > 5)
				goto quit;
			memcpy(fd, CMSG_DATA(cm), (size_t)nfd * sizeof(int));
		}
	if ((size_t)n < sizeof(h) ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || h.magic != Z_MAGIC ||
	    nfd != 3 + (h.net != 0) + (h.memfd != 0) || h.ncmd == 0 ||
	    h.ncwd == 0 || h.body > Z_BODY_MAX || h.nenv > Z_ENV_MAX ||
	    (uint64_t)h.ncmd + h.ncwd > h.body ||
	    (size_t)n != sizeof(h) + (h.memfd ? 0 : h.body))
		goto quit;
	/* The body, then the environment's pointers; the zygote unmaps. */
	sz = (((size_t)h.body + sizeof(char *) - 1) & ~(sizeof(char *) - 1)) +
	    ((size_t)h.nenv + 1) * sizeof(char *);
	if ((b = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		goto quit;
	c->zmap[2] = b;
	c->zlen[2] = sz;
	if (!h.memfd)
		memcpy(b, in, h.body);
	for (got = 0; h.memfd && got < h.body; got += (size_t)n) {
		n = pread(fd[nfd - 1], b + got, h.body - got, (off_t)got);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			goto quit;
	}
	if (h.memfd)
		close(fd[nfd - 1]);
	end = b + h.body;
	if (b[h.ncmd - 1] != '\0' || b[h.ncmd + h.ncwd - 1] != '\0')
		goto quit;
	ev = (char **)(void *)(b + ((h.body + sizeof(char *) - 1) &
	    ~(sizeof(char *) - 1)));
	if ((char *)(ev + h.nenv + 1) > b + sz)
		goto quit;
	for (i = 0, p = b + h.ncmd + h.ncwd; i < h.nenv; i++) {
		ev[i] = p;
		if ((p = memchr(p, '\0', (size_t)(end - p))) == NULL)
			goto quit;
		p++;
	}
	ev[h.nenv] = NULL;
	if (p != end)
		goto quit;
	c->cmd = b;
	c->cwd = b + h.ncmd;
	c->envp = ev;
	c->in = fd[0];
	c->outw = fd[1];
	c->errw = fd[2];
	c->net = h.net ? fd[3] : -1;
	c->seq = h.seq;
	memcpy(c->lim, h.lim, sizeof(c->lim));

	memset(&z, 0, sizeof(z));
	z.magic = Z_MAGIC;
	z.seq = h.seq;
	z.kind = 'P';
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = &z;
	iov[0].iov_len = sizeof(z);
	mh.msg_iov = iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.b;
	mh.msg_controllen = CMSG_SPACE(sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pidfd, sizeof(int));
	if (sendmsg(c->sock, &mh, MSG_NOSIGNAL) != sizeof(z))
		goto quit;
	close(pidfd);
	return;
quit:
	c->quit = 1;
	_exit(127);
}

/*
 * C_WARM: sends the zygote a reference to pid 1's mount namespace. When
 * pid 1 exits, the namespace, and the umount of every mount in it (with
 * an RCU grace period), then goes with the zygote's close, after the
 * caller has its answer, not with pid 1's exit, which the caller waits
 * for. Until then the reference is only in the socket's queue.
 */
static void
envelope_park(const struct ctx *c)
{
	union {
		char		 b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	 a;
	}		 u;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	char		 one = 'M';
	int		 fd;

	if ((fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) == -1)
		return;		/* only slower */
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &one;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	(void)!sendmsg(c->keep[1], &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

/* The zygote: drops what pid 1 parked (envelope_park). */
static void
envelope_unpark(const struct ctx *c)
{
	union {
		char		 b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	 a;
	}		 u;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	char		 one;
	int		 fd;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = &one;
		iov.iov_len = 1;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.b;
		mh.msg_controllen = sizeof(u.b);
		if (recvmsg(c->keep[0], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)
		    <= 0)
			return;
		cm = CMSG_FIRSTHDR(&mh);
		if (cm != NULL && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
			close(fd);
		}
	}
}

/*
 * C_WARM, pid 1 of a fresh pid namespace, cloned by the zygote with new
 * mount and ipc namespaces (CLONE_VM | CLONE_VFORK: the zygote sleeps
 * until it exits, so nothing else uses the memory they share). It gets
 * ready before there is a command: a new /proc, /tmp, /dev/shm and
 * /dev/pts, the Landlock ruleset, signals; then it takes one request,
 * checks the view and runs the command as a cold pid 1 would.
 */
static int
envelope_spawned(void *arg)
{
	struct ctx	*c = arg;
	int		 pidfd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		_exit(127);
	envelope_fresh(c);
	(void)envelope_pid_max(c);
	envelope_init_prepare(c);
	if ((pidfd = (int)syscall(SYS_pidfd_open, 1, 0)) == -1)
		_exit(127);
	envelope_park(c);
	envelope_request(c, pidfd);
	/* From here on errors go to the caller's pipe. */
	envelope_view(c);
	if (envelope_pid_max(c) == -1)
		envelope_die_pid_max(c);
	envelope_init_run(c);
}

/*
 * A zygote's life: a pid 1 ahead of each run, until the caller has gone
 * (quit) or a pid 1 could not get ready.
 */
static void __attribute__((noreturn))
envelope_zygote_loop(struct ctx *c)
{
	void	*stk;
	pid_t	 p;
	size_t	 i;
	int	 st;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, c->keep) == -1)
		_exit(127);
	stk = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stk == MAP_FAILED)
		_exit(127);
	for (;;) {
		c->served = 0;
		p = clone(envelope_spawned, (char *)stk + STACK_SIZE, CLONE_VM |
		    CLONE_VFORK | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
		    SIGCHLD, c);
		if (p == -1)
			_exit(127);
		/*
		 * Back when pid 1 let go of the memory, early in its exit. The
		 * next one is spawned once this one is gone: getting it ready
		 * while its namespaces are torn down would take the CPU from
		 * the end of the run the caller is waiting for.
		 */
		while (waitpid(p, &st, 0) == -1 && errno == EINTR)
			;
#ifdef __SANITIZE_ADDRESS__
		/* pid 1 ran on stk in this address space and left by _exit,
		 * its frames' redzones still poisoned: the next pid 1 on the
		 * same stack would trip over them (ASan builds only). */
		__asan_unpoison_memory_region(stk, STACK_SIZE);
#endif
		envelope_unpark(c);
		for (i = 0; i < nitems(c->zmap); i++)
			if (c->zmap[i] != NULL) {
				munmap(c->zmap[i], c->zlen[i]);
				c->zmap[i] = NULL;
			}
		c->pidmax = 0;
		/* One that failed before a request would fail again. */
		if (c->quit || !c->served) {
			/* The first zygote is its pid namespace's init: the
			 * twin dies with it, and so would a command the twin
			 * is running. It waits for the twin, which ends after
			 * that run (its next pid 1 fails too) or when the
			 * caller goes. */
			if (!c->quit && getpid() == 1)
				while (waitpid(-1, &st, 0) != -1 ||
				    errno == EINTR)
					;
			_exit(0);
		}
	}
}

/* The template's second zygote (below). */
static int
envelope_twin(void *arg)
{
	envelope_zygote_loop(arg);
}

/*
 * C_BUILD, once the view is ready: the template's zygote. It lives in the
 * template's user, mount, network, uts and cgroup namespaces, holds only
 * its sockets, and spawns each run's pid 1 ahead of the request, so a run
 * neither enters namespaces nor copies the caller's address space: pid 1
 * and the command share the zygote's memory until the command execs. It
 * forks a twin that does the same, so that a run that follows another at
 * once finds a pid 1 ready (the other is still being spawned); both read
 * requests from one socket, one message each. The zygote is pid 1 of the
 * template's own pid namespace: the twin and every pid 1 die with it. It
 * ends when the caller's end of the socket closes (the caller exited or
 * dropped the template), or when a pid 1 could not get ready.
 */
static void __attribute__((noreturn))
envelope_zygote(struct ctx *c)
{
	struct sigaction	 sa;
	void			*stk;
	int			 fd;

	/* Its pid 1s must not be reaped unseen (see envelope_init_prepare);
	 * not tied to the thread that built it (PDEATHSIG is per thread):
	 * the socket tells when the caller has gone. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    prctl(PR_SET_PDEATHSIG, 0) == -1 ||
	    (fd = fcntl(c->sock, F_DUPFD_CLOEXEC, 3)) == -1)
		_exit(127);
	(void)close_range(0, (unsigned int)fd - 1, 0);
	(void)close_range((unsigned int)fd + 1, ~0U, 0);
	c->sock = fd;
	c->in = c->outw = c->errw = c->net = -1;
	c->mode = C_WARM;
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		_exit(127);
	/* Without a twin, runs are only slower when back to back. */
	stk = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stk != MAP_FAILED && clone(envelope_twin, (char *)stk + STACK_SIZE,
	    SIGCHLD, c) == -1)
		munmap(stk, STACK_SIZE);
	envelope_zygote_loop(c);
}

/* The body of pid 1 (C_COLD), or of the template's builder (C_BUILD). */
static int
envelope_child(void *arg)
{
	struct ctx	*c = arg;
	struct pollfd	 pf;
	char		 map[64];
	int		 keep[4];

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		_exit(127);
	pf.fd = c->life;
	pf.events = POLLIN;
	if (poll(&pf, 1, 0) != 0)
		_exit(127);	/* the caller is already gone */
	close(c->life);
	keep[0] = c->outw;
	keep[1] = c->errw;
	if (c->mode == C_BUILD) {
		keep[2] = c->sock;
		envelope_close_others(keep, 3);
	} else {
		keep[2] = c->in;
		keep[3] = c->net;
		envelope_close_others(keep, c->net >= 0 ? 4 : 3);
	}

	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)c->uid,
	    (unsigned long)c->uid);
	if (envelope_write_file("/proc/self/uid_map", map) == -1)
		envelope_die(c, 'U', "sandbox: user namespace: uid_map");
	if (envelope_write_file("/proc/self/setgroups", "deny") == -1)
		envelope_die(c, 'U', "sandbox: user namespace: setgroups");
	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)c->gid,
	    (unsigned long)c->gid);
	if (envelope_write_file("/proc/self/gid_map", map) == -1)
		envelope_die(c, 'U', "sandbox: user namespace: gid_map");
	envelope_root(c);
	if (sethostname("ward", 4) == -1)
		envelope_die(c, 'U', "sandbox: uts namespace: sethostname");
	envelope_lo(c);
	if (c->mode == C_BUILD) {
		envelope_view(c);
		if (write(c->outw, "K", 1) != 1)
			_exit(127);
		envelope_zygote(c);
	}
	if (envelope_pid_max(c) == -1)
		envelope_die_pid_max(c);
	envelope_init_prepare(c);
	envelope_init_run(c);
}

/* ---- the caller ---- */

static void
envelope_sc_build(void)
{
	static const int eperm[] = {
		SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
		SCMP_SYS(process_vm_writev), SCMP_SYS(mount),
		SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(move_mount),
		SCMP_SYS(open_tree), SCMP_SYS(fsopen), SCMP_SYS(fsmount),
		SCMP_SYS(fsconfig), SCMP_SYS(fspick), SCMP_SYS(mount_setattr),
		SCMP_SYS(bpf), SCMP_SYS(keyctl), SCMP_SYS(add_key),
		SCMP_SYS(request_key), SCMP_SYS(kexec_load),
		SCMP_SYS(kexec_file_load), SCMP_SYS(perf_event_open),
		SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
		SCMP_SYS(io_uring_register), SCMP_SYS(setns),
		SCMP_SYS(init_module), SCMP_SYS(finit_module),
		SCMP_SYS(delete_module), SCMP_SYS(reboot), SCMP_SYS(swapon),
		SCMP_SYS(swapoff), SCMP_SYS(acct), SCMP_SYS(userfaultfd),
		SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
		SCMP_SYS(syslog), SCMP_SYS(quotactl), SCMP_SYS(iopl),
		SCMP_SYS(ioperm), SCMP_SYS(lookup_dcookie),
		SCMP_SYS(pidfd_getfd),
	};
	static const unsigned long nsflag[] = { CLONE_NEWUSER, CLONE_NEWNS,
	    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
	    CLONE_NEWCGROUP, CLONE_NEWTIME };
	scmp_filter_ctx	 f;
	struct stat	 st;
	size_t		 i;
	int		 fd = -1, bad = 0, fam;

	if ((f = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return;
	bad |= seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS);
	bad |= seccomp_attr_set(f, SCMP_FLTATR_CTL_NNP, 0);
	for (i = 0; i < nitems(eperm); i++)
		bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), eperm[i], 0);
	/* glibc falls back from clone3, whose flags seccomp cannot see. */
	bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	    0);
	for (i = 0; i < nitems(nsflag); i++) {
		bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(unshare), 1, SCMP_A0(SCMP_CMP_MASKED_EQ,
		    nsflag[i], nsflag[i]));
		bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ,
		    nsflag[i], nsflag[i]));
	}
	/* Only AF_INET and AF_INET6 sockets; stream socketpairs stay. */
	bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT),
	    SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_LT, AF_INET));
	bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT),
	    SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_GT, AF_INET6));
	for (fam = AF_INET + 1; fam < AF_INET6; fam++)
		bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT),
		    SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ,
		    (scmp_datum_t)fam));
	/* A socket pair only as a stream: a datagram one can sendto() any
	 * unix socket path it can see on the host. */
	for (fam = SOCK_DGRAM; fam <= SOCK_SEQPACKET; fam++)
		bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(socketpair), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf,
		    (scmp_datum_t)fam));
	/* ioctl's command is an int: compare the low 32 bits only. */
	bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCSTI));
	bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCLINUX));
	/*
	 * No personality that turns ASLR off. 0xffffffff only queries, and
	 * any other value with the flag has some other bit clear.
	 */
	for (i = 0; i < 32; i++)
		if ((1UL << i) != ADDR_NO_RANDOMIZE)
			bad |= seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM),
			    SCMP_SYS(personality), 1, SCMP_A0(
			    SCMP_CMP_MASKED_EQ, ADDR_NO_RANDOMIZE | (1UL << i),
			    ADDR_NO_RANDOMIZE));
	if (bad != 0)
		goto out;
	if ((fd = memfd_create("ward-seccomp", MFD_CLOEXEC)) == -1 ||
	    seccomp_export_bpf(f, fd) != 0 || fstat(fd, &st) == -1 ||
	    st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		goto out;
	if ((sc_prog = malloc((size_t)st.st_size)) == NULL)
		goto out;
	if (pread(fd, sc_prog, (size_t)st.st_size, 0) != st.st_size) {
		free(sc_prog);
		sc_prog = NULL;
		goto out;
	}
	sc_len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
out:
	if (fd != -1)
		close(fd);
	seccomp_release(f);
}

/* Paths must be absolute, without ".", ".." or empty components. */
static int
envelope_path_ok(const char *p)
{
	const char	*q;

	if (p == NULL || p[0] != '/' || strlen(p) >= PATH_MAX)
		return 0;
	if (strcmp(p, "/") == 0)
		return 0;
	for (q = p; *q != '\0'; q++) {
		if (*q != '/')
			continue;
		if (q[1] == '/' || q[1] == '\0' ||
		    (q[1] == '.' && (q[2] == '/' || q[2] == '\0')) ||
		    (q[1] == '.' && q[2] == '.' &&
		    (q[3] == '/' || q[3] == '\0')))
			return 0;
	}
	/* The sandbox's own /proc, /dev and /tmp are never replaced. */
	if (strcmp(p, "/proc") == 0 || strncmp(p, "/proc/", 6) == 0 ||
	    strcmp(p, "/dev") == 0 || strncmp(p, "/dev/", 5) == 0 ||
	    strcmp(p, "/tmp") == 0)
		return 0;
	return 1;
}

static void
envelope_plan_free(struct mnt *m, size_t n)
{
	size_t	 i;

	for (i = 0; m != NULL && i < n; i++) {
		free(m[i].path);
		free(m[i].link);
	}
	free(m);
}

static int
envelope_plan_add(struct mnt **m, size_t *n, size_t *cap, const char *path,
    int kind, struct buf *err)
{
	struct mnt	*nm;
	struct stat	 st;
	char		 link[PATH_MAX];
	ssize_t		 len;

	if (!envelope_path_ok(path)) {
		if (err != NULL)
			buf_printf(err, "sandbox: bad path '%s': must be "
			    "absolute and canonical, not /, /proc, /dev or "
			    "/tmp", path != NULL ? path : "(null)");
		return WARD_EINVAL;
	}
	if (*n == *cap) {
		*cap = *cap == 0 ? 32 : *cap * 2;
		if ((nm = reallocarray(*m, *cap, sizeof(**m))) == NULL)
			return WARD_ENOMEM;
		*m = nm;
	}
	nm = &(*m)[*n];
	memset(nm, 0, sizeof(*nm));
	nm->kind = kind;
	nm->tree = -1;
	/* A top-level symlink of the baseline (merged /usr) is recreated. */
	if (kind == M_LINK) {
		if (lstat(path, &st) == -1)
			return 0;
		if (!S_ISLNK(st.st_mode))
			nm->kind = M_RO;
		else {
			if ((len = readlink(path, link, sizeof(link) - 1)) < 0)
				return 0;
			link[len] = '\0';
			if ((nm->link = strdup(link)) == NULL)
				return WARD_ENOMEM;
		}
	}
	if ((nm->path = strdup(path)) == NULL) {
		free(nm->link);
		return WARD_ENOMEM;
	}
	(*n)++;
	return 0;
}

static int
envelope_cmp_len(const void *a, const void *b)
{
	size_t	 la = strlen(((const struct mnt *)a)->path);
	size_t	 lb = strlen(((const struct mnt *)b)->path);

	return la < lb ? -1 : la > lb;
}

/*
 * A ro_over path is a mount point, so it cannot be renamed or removed, but
 * its parents inside a rw grant could be: `mv .git g; mkdir .git` would
 * leave a writable .git/hooks. Each such parent is bound onto itself, which
 * makes it a mount point too.
 */
static int
envelope_pin(const struct envelope_spec *s, const char *path, struct mnt **m,
    size_t *n, size_t *cap, struct buf *err)
{
	char	 a[PATH_MAX];
	char	*q;
	size_t	 i, j, rl;
	int	 rv;

	if (!envelope_path_ok(path))
		return 0;	/* envelope_plan_add reports it */
	snprintf(a, sizeof(a), "%s", path);
	while ((q = strrchr(a, '/')) != NULL && q != a) {
		*q = '\0';
		for (i = 0; i < s->nrw; i++) {
			rl = strlen(s->rw[i]);
			if (strncmp(a, s->rw[i], rl) != 0 || a[rl] != '/')
				continue;
			for (j = 0; j < *n; j++)
				if (strcmp((*m)[j].path, a) == 0)
					break;
			if (j < *n)
				break;
			if ((rv = envelope_plan_add(m, n, cap, a, M_RW, err))
			    != 0)
				return rv;
			break;
		}
	}
	return 0;
}

static const char *
envelope_home(char *const *envp)
{
	size_t	 i;

	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		if (strncmp(envp[i], "HOME=", 5) == 0)
			return envp[i] + 5;
	return NULL;
}

/* 1 when path is dir or below it. */
static int
envelope_under(const char *path, const char *dir)
{
	size_t	 l = strlen(dir);

	return strncmp(path, dir, l) == 0 && (path[l] == '\0' ||
	    path[l] == '/');
}

/* 1 when path is at or below one of the first n mounts of the plan. */
static int
envelope_visible(const struct mnt *m, size_t n, const char *path)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(m[i].path, "/") == 0 ||
		    envelope_under(path, m[i].path))
			return 1;
	return 0;
}

/* The mount plan: baseline, then ro and rw by depth, ro_over, hide. */
static int
envelope_plan(const struct envelope_spec *s, struct mnt **mp, size_t *np,
    struct buf *err)
{
	static const char *const sys[] = { "/usr", "/bin", "/sbin", "/lib",
	    "/lib32", "/lib64", "/libx32", "/etc" };
	struct mnt	*m = NULL;
	size_t		 n = 0, cap = 0, i, first;
	const char	*home;
	char		 p[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	int		 rv = 0;

	if (s->fs == ENVELOPE_FS_ALL) {
		if ((d = opendir("/")) == NULL)
			return WARD_ESYS;
		while (rv == 0 && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0 ||
			    strcmp(de->d_name, "proc") == 0 ||
			    strcmp(de->d_name, "dev") == 0 ||
			    strcmp(de->d_name, "tmp") == 0)
				continue;
			snprintf(p, sizeof(p), "/%s", de->d_name);
			rv = envelope_plan_add(&m, &n, &cap, p, M_LINK, err);
		}
		closedir(d);
	} else if (s->fs == ENVELOPE_FS_SYSTEM ||
	    s->fs == ENVELOPE_FS_PERMISSIVE) {
		for (i = 0; rv == 0 && i < nitems(sys); i++)
			rv = envelope_plan_add(&m, &n, &cap, sys[i], M_LINK,
			    err);
	} else if (s->fs != ENVELOPE_FS_NONE) {
		rv = WARD_EINVAL;
		if (err != NULL)
			buf_printf(err, "sandbox: unknown fs baseline %d",
			    s->fs);
	}
	if (rv == 0 && s->fs == ENVELOPE_FS_PERMISSIVE) {
		if ((home = envelope_home(s->envp)) == NULL) {
			rv = WARD_EINVAL;
			if (err != NULL)
				buf_puts(err, "sandbox: permissive baseline "
				    "needs HOME in the environment");
		} else
			rv = envelope_plan_add(&m, &n, &cap, home, M_RO, err);
	}
	first = n;
	for (i = 0; rv == 0 && i < s->nro; i++)
		rv = envelope_plan_add(&m, &n, &cap, s->ro[i], M_RO, err);
	for (i = 0; rv == 0 && i < s->nrw; i++)
		rv = envelope_plan_add(&m, &n, &cap, s->rw[i], M_RW, err);
	/* What is masked or read-only must stay where it is: its parents
	 * inside a writable grant are pinned, or `mv dir x` would carry a
	 * hidden file out from under its mask. */
	for (i = 0; rv == 0 && i < s->nro_over; i++)
		rv = envelope_pin(s, s->ro_over[i], &m, &n, &cap, err);
	for (i = 0; rv == 0 && i < s->nhide; i++)
		rv = envelope_pin(s, s->hide[i], &m, &n, &cap, err);
	/* Shorter first, so a grant inside another is mounted on top. */
	if (rv == 0 && n > first)
		qsort(m + first, n - first, sizeof(*m), envelope_cmp_len);
	/* Masks go only where something is visible: a mount point cannot
	 * be made in the read-only new root, and what is not bound is not
	 * there to hide. */
	for (i = 0; rv == 0 && i < s->nro_over; i++)
		if (envelope_visible(m, n, s->ro_over[i]))
			rv = envelope_plan_add(&m, &n, &cap, s->ro_over[i],
			    M_RO, err);
	for (i = 0; rv == 0 && i < s->nhide; i++)
		if (envelope_visible(m, n, s->hide[i]))
			rv = envelope_plan_add(&m, &n, &cap, s->hide[i],
			    M_HIDE, err);
	if (rv != 0) {
		envelope_plan_free(m, n);
		return rv;
	}
	*mp = m;
	*np = n;
	return 0;
}

static int
envelope_limits(const struct envelope_spec *s, struct ctx *c)
{
	const rlim_t	 v[6] = {
		s->lim.as ? s->lim.as : ENVELOPE_DEF_AS,
		s->lim.nproc ? s->lim.nproc : ENVELOPE_DEF_NPROC,
		s->lim.fsize ? s->lim.fsize : ENVELOPE_DEF_FSIZE,
		s->lim.cpu ? s->lim.cpu : ENVELOPE_DEF_CPU,
		s->lim.nofile ? s->lim.nofile : ENVELOPE_DEF_NOFILE,
		0
	};
	const int	 res[6] = { RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE,
	    RLIMIT_CPU, RLIMIT_NOFILE, RLIMIT_CORE };
	struct rlimit	 cur;
	size_t		 i;

	for (i = 0; i < 6; i++) {
		if (getrlimit(res[i], &cur) == -1)
			return WARD_ESYS;
		c->limres[i] = res[i];
		/* Never above the caller's hard limit: setrlimit would fail. */
		c->lim[i].rlim_cur = c->lim[i].rlim_max =
		    v[i] < cur.rlim_max ? v[i] : cur.rlim_max;
	}
	return 0;
}

static uint64_t
envelope_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Reads what is there from the output pipe into r and the spill file. */
static int
envelope_drain(int fd, int spill, size_t max, struct envelope_result *r)
{
	char	 b[65536];
	ssize_t	 n;
	size_t	 keep;

	if ((n = read(fd, b, sizeof(b))) <= 0)
		return n == 0 || (errno != EAGAIN && errno != EINTR) ? 0 : 1;
	/* The spill file keeps the first ENVELOPE_SPILL_MAX bytes: a
	 * command must not fill ward's disk. */
	keep = r->total < ENVELOPE_SPILL_MAX ? ENVELOPE_SPILL_MAX - r->total :
	    0;
	if (keep > (size_t)n)
		keep = (size_t)n;
	r->total += (size_t)n;
	if (spill != -1 && keep > 0 && write(spill, b, keep) != (ssize_t)keep)
		return -1;
	keep = r->out.len < max ? max - r->out.len : 0;
	if (keep > (size_t)n)
		keep = (size_t)n;
	if (keep > 0 && buf_add(&r->out, b, keep) != 0)
		return -1;
	return 1;
}

static int
envelope_setup_err(const char *msg, size_t len, struct buf *err)
{
	if (err != NULL && len > 1)
		buf_add(err, msg + 1, len - 1);
	switch (msg[0]) {
	case 'U':
		return WARD_EUNAVAIL;
	case 'I':
		return WARD_EINVAL;
	default:
		return WARD_ESYS;
	}
}

/* ---- templates ---- */

static void	envelope_tmpl_release(struct tmpl *, int);

static void
envelope_tmpl_free(struct tmpl *t)
{
	int	 i;

	if (t == NULL)
		return;
	/* The zygote ends as its socket closes; the kill is for one stuck
	 * in a system call. Its waiting pid 1 dies with it (PDEATHSIG). A
	 * forked child's copy is only closed: the zygote is its parent's. */
	if (t->sock != -1)
		close(t->sock);
	if (t->zpidfd != -1 && t->owner == getpid()) {
		syscall(SYS_pidfd_send_signal, t->zpidfd, SIGKILL, NULL, 0);
		while (waitpid(t->zpid, &i, 0) == -1 && errno == EINTR)
			;
	}
	if (t->zpidfd != -1) {
		close(t->zpidfd);
	}
	if (t->view != NULL)
		munmap(t->view, (t->nm + 1) * sizeof(*t->view));
	free(t->host);
	buf_free(&t->key);
	free(t);
}

/* The key: who, the Landlock ABI and the plan, byte for byte. */
static int
envelope_key(const struct ctx *c, struct buf *k)
{
	const char	*link;
	size_t		 i;
	int		 rv;

	rv = buf_printf(k, "%lu %lu %d %d %zu", (unsigned long)c->uid,
	    (unsigned long)c->gid, c->abi, c->all, c->nm);
	for (i = 0; rv == 0 && i < c->nm; i++) {
		link = c->m[i].link != NULL ? c->m[i].link : "";
		rv = buf_printf(k, "|%d ", c->m[i].kind);
		/* With their NULs: a path may hold any other byte. */
		if (rv == 0)
			rv = buf_add(k, c->m[i].path,
			    strlen(c->m[i].path) + 1);
		if (rv == 0)
			rv = buf_add(k, link, strlen(link) + 1);
	}
	return rv;
}

/* 1 when every plan path is on the host what it was at the build. */
static int
envelope_tmpl_fresh(const struct ctx *c, const struct tmpl *t)
{
	struct seen	 w;
	size_t		 i;

	for (i = 0; i < c->nm; i++)
		if (envelope_seen(c->m[i].path, &w) == -1 ||
		    !envelope_same(&w, &t->host[i]))
			return 0;
	return 1;
}

/*
 * Builds a template for c's plan: a child sets up user, mount, network,
 * uts and cgroup namespaces and the view as the cold path does, records
 * each plan path, and stays as the template's zygote (envelope_zygote).
 * Returns the template (busy) or NULL.
 */
static struct tmpl *
envelope_tmpl_build(struct ctx *c, const struct buf *key)
{
	struct tmpl	*t;
	char		 k;
	int		 out[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int		 life[2] = { -1, -1 }, sv[2] = { -1, -1 };
	int		 pidfd = -1, ok = 0, st;
	void		*stack = MAP_FAILED;
	size_t		 i;
	pid_t		 pid = -1;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->sock = t->zpidfd = -1;
	t->nm = c->nm;
	t->busy = 1;
	buf_init(&t->key, 0);
	if (buf_add(&t->key, key->data, key->len) != 0 ||
	    (t->host = calloc(c->nm + 1, sizeof(*t->host))) == NULL)
		goto out;
	t->view = mmap(NULL, (c->nm + 1) * sizeof(*t->view), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t->view == MAP_FAILED) {
		t->view = NULL;
		goto out;
	}
	/* Before the build: a change in between makes the next run stale. */
	for (i = 0; i < c->nm; i++)
		if (envelope_seen(c->m[i].path, &t->host[i]) == -1)
			goto out;
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1 ||
	    pipe2(life, O_CLOEXEC) == -1 || socketpair(AF_UNIX,
	    SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		goto out;
	stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		goto out;
	c->mode = C_BUILD;
	c->t = t;
	c->outw = out[1];
	c->errw = ep[1];
	c->life = life[0];
	c->sock = sv[1];
	pid = clone(envelope_child, (char *)stack + STACK_SIZE, NS_FLAGS |
	    CLONE_PIDFD | SIGCHLD, c, &pidfd);
	if (pid == -1)
		goto out;
	close(out[1]);
	out[1] = -1;
	if (read(out[0], &k, 1) != 1 || k != 'K')
		goto out;
	t->owner = getpid();
	t->zpid = pid;
	t->zpidfd = pidfd;
	t->sock = sv[0];
	pid = -1;
	pidfd = sv[0] = -1;
	ok = 1;
out:
	if (pid != -1) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	if (pidfd != -1)
		close(pidfd);
	for (i = 0; i < 2; i++) {
		if (out[i] != -1)
			close(out[i]);
		if (ep[i] != -1)
			close(ep[i]);
		if (life[i] != -1)
			close(life[i]);
		if (sv[i] != -1)
			close(sv[i]);
	}
	if (stack != MAP_FAILED)
		munmap(stack, STACK_SIZE);
	c->mode = C_COLD;
	c->t = NULL;
	if (!ok) {
		envelope_tmpl_free(t);
		return NULL;
	}
	return t;
}

/*
 * Takes out of the cache, into gone (NTMPL slots, NULL-terminated), the
 * templates this process did not build: a forked child inherits the
 * cache, but the zygotes are its parent's, and two processes must not
 * talk to one. With tm_lock held; each is freed after.
 */
static void
envelope_tmpl_foreign(struct tmpl **gone)
{
	size_t	 i, n = 0;
	pid_t	 me = getpid();

	for (i = 0; i < NTMPL; i++)
		if (tm_cache[i] != NULL && tm_cache[i]->owner != me) {
			gone[n++] = tm_cache[i];
			tm_cache[i] = NULL;
		}
	if (n < NTMPL)
		gone[n] = NULL;
}

/*
 * A template for c's plan, marked busy, or NULL: run cold. One run at a
 * time uses a template, because runs through it share a loopback; a
 * concurrent run with the same plan runs cold.
 */
static struct tmpl *
envelope_tmpl_get(struct ctx *c)
{
	struct tmpl	*t = NULL, *old, *gone[NTMPL];
	struct buf	 key;
	size_t		 i, slot;

	buf_init(&key, 0);
	if (envelope_key(c, &key) != 0)
		goto out;
	pthread_mutex_lock(&tm_lock);
	envelope_tmpl_foreign(gone);
	for (i = 0; i < NTMPL && gone[i] != NULL; i++)
		envelope_tmpl_free(gone[i]);
	for (i = 0; i < NTMPL; i++)
		if (tm_cache[i] != NULL && tm_cache[i]->key.len == key.len &&
		    memcmp(tm_cache[i]->key.data, key.data, key.len) == 0) {
			t = tm_cache[i];
			break;
		}
	if (t != NULL && t->busy) {
		pthread_mutex_unlock(&tm_lock);
		t = NULL;
		goto out;
	}
	if (t != NULL) {
		t->busy = 1;
		t->used = ++tm_clock;
	}
	pthread_mutex_unlock(&tm_lock);
	if (t != NULL) {
		if (envelope_tmpl_fresh(c, t))
			goto out;
		envelope_tmpl_release(t, 1);
	}
	if ((t = envelope_tmpl_build(c, &key)) == NULL)
		goto out;

	/* Into a free slot, else over the least recently used idle one. */
	old = NULL;
	pthread_mutex_lock(&tm_lock);
	t->used = ++tm_clock;
	for (i = 0, slot = NTMPL; i < NTMPL; i++) {
		if (tm_cache[i] == NULL) {
			slot = i;
			break;
		}
		if (!tm_cache[i]->busy && (slot == NTMPL ||
		    tm_cache[i]->used < tm_cache[slot]->used))
			slot = i;
	}
	if (slot == NTMPL)
		t->dead = 1;
	else {
		old = tm_cache[slot];
		tm_cache[slot] = t;
	}
	pthread_mutex_unlock(&tm_lock);
	envelope_tmpl_free(old);
out:
	buf_free(&key);
	return t;
}

/* Ends a run's use of t; drop: never use it again. */
static void
envelope_tmpl_release(struct tmpl *t, int drop)
{
	size_t	 i;
	int	 dead;

	pthread_mutex_lock(&tm_lock);
	t->busy = 0;
	if (drop) {
		for (i = 0; i < NTMPL; i++)
			if (tm_cache[i] == t)
				tm_cache[i] = NULL;
		t->dead = 1;
	}
	dead = t->dead;
	pthread_mutex_unlock(&tm_lock);
	if (dead)
		envelope_tmpl_free(t);
}

void
envelope_flush(void)
{
	struct tmpl	*t, *gone[NTMPL];
	size_t		 i;

	pthread_mutex_lock(&tm_lock);
	envelope_tmpl_foreign(gone);
	for (i = 0; i < NTMPL && gone[i] != NULL; i++)
		envelope_tmpl_free(gone[i]);
	for (i = 0; i < NTMPL; i++) {
		if ((t = tm_cache[i]) == NULL)
			continue;
		tm_cache[i] = NULL;
		if (t->busy)
			t->dead = 1;
		else
			envelope_tmpl_free(t);
	}
	pthread_mutex_unlock(&tm_lock);
}

/* ---- one run ---- */

/* Milliseconds until the deadline for poll: -1 without one, 0 past it. */
static int
envelope_tmo(uint64_t deadline)
{
	uint64_t	 now;

	if (deadline == 0)
		return -1;
	if ((now = envelope_now_us()) >= deadline)
		return 0;
	return (int)((deadline - now + 999) / 1000);
}

/*
 * C_WARM: hands the run to the pid 1 that the template's zygote holds
 * ready (struct zreq) and takes its pidfd. Returns 0, 1 when the template
 * is gone or broken (nothing ran: build anew), 2 when the deadline passed
 * first (nothing ran either: pid 1 starts the command only after its
 * answer), or -1 with errno.
 */
static int
envelope_warm_start(struct ctx *c, uint64_t deadline, int *pidfd)
{
	union {
		char		 b[CMSG_SPACE(5 * sizeof(int))];
		struct cmsghdr	 a;
	}		 u;
	struct tmpl	*t = c->t;
	struct zreq	 h;
	struct zrep	 z;
	struct msghdr	 mh;
	struct iovec	 iov[2];
	struct cmsghdr	*cm;
	struct pollfd	 pf;
	char		*b = NULL;
	int		 fd[5], rv = 1, n, mfd = -1, tmo;
	size_t		 len, off, i;
	ssize_t		 w;
	uint64_t	 answer;

	memset(&h, 0, sizeof(h));
	h.magic = Z_MAGIC;
	h.seq = ++t->seq;
	h.net = c->net >= 0;
	h.ncmd = (uint32_t)strlen(c->cmd) + 1;
	h.ncwd = (uint32_t)strlen(c->cwd) + 1;
	len = (size_t)h.ncmd + h.ncwd;
	for (i = 0; c->envp != NULL && c->envp[i] != NULL; i++)
		len += strlen(c->envp[i]) + 1;
	if (len > Z_BODY_MAX || i > Z_ENV_MAX) {
		errno = E2BIG;
		return -1;
	}
	h.nenv = (uint32_t)i;
	h.body = (uint32_t)len;
	memcpy(h.lim, c->lim, sizeof(h.lim));
	if ((b = malloc(len)) == NULL)
		return -1;
	memcpy(b, c->cmd, h.ncmd);
	memcpy(b + h.ncmd, c->cwd, h.ncwd);
	for (i = 0, off = (size_t)h.ncmd + h.ncwd; i < h.nenv; i++) {
		memcpy(b + off, c->envp[i], strlen(c->envp[i]) + 1);
		off += strlen(c->envp[i]) + 1;
	}

	fd[0] = c->in;
	fd[1] = c->outw;
	fd[2] = c->errw;
	n = 3;
	if (h.net)
		fd[n++] = c->net;
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = b;
	iov[1].iov_len = len;
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (len > Z_INLINE) {
		/* Too big for one message: in a memfd. */
		if ((mfd = memfd_create("ward-request", MFD_CLOEXEC)) == -1) {
			rv = -1;
			goto out;
		}
		for (off = 0; off < len; off += (size_t)w)
			if ((w = write(mfd, b + off, len - off)) <= 0) {
				rv = -1;
				goto out;
			}
		h.memfd = 1;
		fd[n++] = mfd;
		mh.msg_iovlen = 1;
	}
	mh.msg_control = u.b;
	mh.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(cm), fd, (size_t)n * sizeof(int));
	/* A send that fails means the zygote is gone. */
	while ((w = sendmsg(t->sock, &mh, MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	if (w != (ssize_t)(sizeof(h) + (h.memfd ? 0 : len)))
		goto out;

	/*
	 * The answer: a pid 1 may still be getting ready. One that took the
	 * request and never answers is broken; with two reading, its socket
	 * would not close, so there is a limit.
	 */
	answer = envelope_now_us() + (uint64_t)Z_ANSWER_MS * 1000;
	pf.fd = t->sock;
	pf.events = POLLIN;
	for (;;) {
		if ((tmo = envelope_tmo(answer)) == 0)
			goto out;
		n = envelope_tmo(deadline);
		if (n == -1 || n > tmo)
			n = tmo;
		else if (n == 0) {
			rv = 2;
			goto out;
		}
		if ((n = poll(&pf, 1, n)) == -1 && errno != EINTR) {
			rv = -1;
			goto out;
		}
		if (n > 0)
			break;
	}
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = &z;
	iov[0].iov_len = sizeof(z);
	mh.msg_iov = iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	w = recvmsg(t->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	cm = w > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm != NULL && cm->cmsg_level == SOL_SOCKET &&
	    cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(pidfd, CMSG_DATA(cm), sizeof(int));
	if (w != sizeof(z) || z.magic != Z_MAGIC || z.seq != h.seq ||
	    z.kind != 'P' || *pidfd == -1) {
		if (*pidfd != -1)
			close(*pidfd);
		*pidfd = -1;
		goto out;
	}
	rv = 0;
out:
	if (mfd != -1)
		close(mfd);
	free(b);
	return rv;
}

/* C_WARM: the exit code pid 1 sent before it exited, or -1. */
static int
envelope_warm_code(const struct ctx *c)
{
	struct zrep	 z;

	if (recv(c->t->sock, &z, sizeof(z), MSG_DONTWAIT) != sizeof(z) ||
	    z.magic != Z_MAGIC || z.seq != c->t->seq || z.kind != 'X')
		return -1;
	return z.code;
}

/* Waits until pid 1, and so its whole pid namespace, is gone. */
static int
envelope_reap(const struct ctx *c, pid_t pid, int pidfd, int *st)
{
	struct pollfd	 pf;

	if (c->mode != C_WARM)
		return waitpid(pid, st, 0) == -1 ? -1 : 0;
	/* The zygote is its parent; the pidfd is readable once it exits. */
	pf.fd = pidfd;
	pf.events = POLLIN;
	while (poll(&pf, 1, -1) == -1)
		if (errno != EINTR)
			return -1;
	*st = 0;
	return 0;
}

/*
 * Runs c once, cold (new namespaces) or warm (through c->t). Returns 0
 * when the command ran (r filled), 1 when the template turned out stale
 * (nothing ran, r empty), or a WARD_E* code with err set. Sets c->drop
 * when the template must not be used again.
 */
static int
envelope_exec(struct ctx *c, int spill, uint64_t t0,
    struct envelope_result *r, struct buf *err)
{
	const struct envelope_spec *s = c->s;
	struct pollfd	 pf[4];
	char		 emsg[ERR_MAX];
	size_t		 elen = 0;
	int		 out[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int		 life[2] = { -1, -1 }, devnull = -1, code = -1;
	int		 pidfd = -1, rv, st, outopen = 1, erropen = 1, e;
	char		*stack = MAP_FAILED;
	uint64_t	 deadline = 0;
	pid_t		 pid = -1;
	ssize_t		 n;

	if (s->stdin_fd >= 0)
		c->in = s->stdin_fd;
	else if ((c->in = devnull = open("/dev/null", O_RDONLY | O_CLOEXEC))
	    == -1)
		goto sys;
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1)
		goto sys;
	c->outw = out[1];
	c->errw = ep[1];
	if (s->timeout_ms > 0)
		deadline = t0 + (uint64_t)s->timeout_ms * 1000;
	if (c->mode == C_WARM) {
		rv = envelope_warm_start(c, deadline, &pidfd);
		if (rv == -1)
			goto sys;
		if (rv == 2) {
			/* Nothing ran; the zygote that kept us waiting goes. */
			c->drop = 1;
			r->timed_out = 1;
			r->exit_code = 124;
			r->duration_us = envelope_now_us() - t0;
			rv = 0;
			goto out;
		}
		if (rv == 1)
			goto out;
	} else {
		if (pipe2(life, O_CLOEXEC) == -1)
			goto sys;
		c->life = life[0];
		stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED)
			goto sys;
		pid = clone(envelope_child, stack + STACK_SIZE, NS_FLAGS |
		    CLONE_PIDFD | SIGCHLD, c, &pidfd);
		if (pid == -1) {
			e = errno;
			rv = WARD_EUNAVAIL;
			if (err != NULL)
				buf_printf(err, "sandbox: user namespaces "
				    "unavailable (%s; enable them: sysctl "
				    "kernel.unprivileged_userns_clone=1, "
				    "user.max_user_namespaces > 0, and for "
				    "AppArmor kernel.apparmor_restrict_"
				    "unprivileged_userns=0)", strerror(e));
			goto out;
		}
	}
	close(out[1]);
	close(ep[1]);
	out[1] = ep[1] = -1;
	if (life[0] != -1) {
		close(life[0]);
		life[0] = -1;
	}

	/* Until pid 1 exits; then drain: the rest of the sandbox is dead. */
	for (;;) {
		int	 tmo = -1;

		pf[0].fd = outopen ? out[0] : -1;
		pf[0].events = POLLIN;
		pf[1].fd = erropen ? ep[0] : -1;
		pf[1].events = POLLIN;
		pf[2].fd = pidfd;
		pf[2].events = POLLIN;
		/* Someone else wants it stopped now (a revoked secret). */
		pf[3].fd = s->cancel_fd > 0 && !r->cancelled ? s->cancel_fd :
		    -1;
		pf[3].events = POLLIN;
		if (deadline != 0 && !r->timed_out) {
			if ((tmo = envelope_tmo(deadline)) == 0) {
				syscall(SYS_pidfd_send_signal, pidfd, SIGKILL,
				    NULL, 0);
				r->timed_out = 1;
				tmo = -1;
			}
		}
		if (poll(pf, 4, tmo) == -1) {
			if (errno == EINTR)
				continue;
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			goto sys_wait;
		}
		if (pf[0].revents != 0 && (n = envelope_drain(out[0], spill,
		    s->max_output, r)) <= 0) {
			if (n < 0) {
				syscall(SYS_pidfd_send_signal, pidfd, SIGKILL,
				    NULL, 0);
				goto sys_wait;
			}
			outopen = 0;
		}
		if (pf[1].revents != 0) {
			n = read(ep[0], emsg + elen, sizeof(emsg) - elen);
			if (n > 0)
				elen += (size_t)n;
			if (n <= 0 || elen == sizeof(emsg))
				erropen = 0;
		}
		if (pf[3].revents != 0 && !r->cancelled) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			r->cancelled = 1;
		}
		if (pf[2].revents != 0)
			break;
	}
	if (envelope_reap(c, pid, pidfd, &st) == -1)
		goto sys;
	if (c->mode == C_WARM)
		code = envelope_warm_code(c);
	while (outopen && (n = envelope_drain(out[0], spill, s->max_output,
	    r)) > 0)
		;
	while (erropen && elen < sizeof(emsg) &&
	    (n = read(ep[0], emsg + elen, sizeof(emsg) - elen)) > 0)
		elen += (size_t)n;
	r->duration_us = envelope_now_us() - t0;
	if (elen > 0 && !r->timed_out && !r->cancelled) {
		rv = emsg[0] == 'T' && c->mode == C_WARM ? 1 :
		    envelope_setup_err(emsg, elen, err);
		envelope_result_clear(r);
		goto out;
	}
	if (r->timed_out)
		r->exit_code = 124;
	else if (r->cancelled && (c->mode != C_WARM || code == -1))
		r->exit_code = 128 + SIGKILL;	/* we killed pid 1 */
	else if (c->mode == C_WARM && code == -1) {
		/* pid 1 died without a word: killed from outside. */
		c->drop = 1;
		errno = ECHILD;
		goto sys;
	} else if (c->mode == C_WARM)
		r->exit_code = code;
	else if (WIFEXITED(st))
		r->exit_code = WEXITSTATUS(st);
	else
		r->exit_code = 128 + WTERMSIG(st);
	rv = 0;
	goto out;

sys_wait:
	e = errno;
	envelope_reap(c, pid, pidfd, &st);
	errno = e;
sys:
	if (err != NULL)
		buf_printf(err, "sandbox: %s", strerror(errno));
	rv = WARD_ESYS;
	c->drop = 1;
	envelope_result_clear(r);
out:
	if (stack != MAP_FAILED)
		munmap(stack, STACK_SIZE);
	if (pidfd != -1)
		close(pidfd);
	if (out[0] != -1)
		close(out[0]);
	if (out[1] != -1)
		close(out[1]);
	if (ep[0] != -1)
		close(ep[0]);
	if (ep[1] != -1)
		close(ep[1]);
	if (life[0] != -1)
		close(life[0]);
	if (life[1] != -1)
		close(life[1]);
	if (devnull != -1)
		close(devnull);
	return rv;
}

int
envelope_run(const struct envelope_spec *s, struct envelope_result *r,
    struct buf *err)
{
	struct ctx	 c;
	struct tmpl	*t;
	int		 spill = -1, rv, tries;
	uint64_t	 t0;

	memset(&c, 0, sizeof(c));
	if (r != NULL) {
		memset(r, 0, sizeof(*r));
		buf_init(&r->out, 0);
	}
	if (s == NULL || r == NULL || s->command == NULL || s->cwd == NULL ||
	    s->cwd[0] != '/') {
		if (err != NULL)
			buf_puts(err, "sandbox: spec needs a command and an "
			    "absolute cwd");
		return WARD_EINVAL;
	}
	t0 = envelope_now_us();
	c.s = s;
	c.cmd = s->command;
	c.cwd = s->cwd;
	c.envp = s->envp;
	c.net = s->net_fd;
	c.all = s->fs == ENVELOPE_FS_ALL;
	c.uid = getuid();
	c.gid = getgid();
	if (probe_disabled("userns")) {
		if (err != NULL)
			buf_puts(err, "sandbox: user namespaces unavailable "
			    "(disabled by WARD_PROBE_DISABLE; see ward doctor)");
		return WARD_EUNAVAIL;
	}
	c.abi = probe_disabled("landlock") ? 0 : (int)syscall(
	    SYS_landlock_create_ruleset, NULL, 0, LL_VERSION);
	if (c.abi < 1) {
		if (err != NULL)
			buf_puts(err, "sandbox: landlock unavailable (needs "
			    "Linux >= 5.13 with CONFIG_SECURITY_LANDLOCK=y and "
			    "landlock in the lsm= boot parameter)");
		return WARD_EUNAVAIL;
	}
	pthread_once(&sc_once, envelope_sc_build);
	if (sc_prog == NULL || probe_disabled("seccomp")) {
		if (err != NULL)
			buf_puts(err, "sandbox: seccomp filter could not be "
			    "built (libseccomp and CONFIG_SECCOMP_FILTER=y "
			    "needed)");
		return WARD_EUNAVAIL;
	}
	if ((rv = envelope_limits(s, &c)) != 0)
		return rv;
	if ((rv = envelope_plan(s, &c.m, &c.nm, err)) != 0)
		return rv;

	if (s->spill_path != NULL && (spill = open(s->spill_path, O_WRONLY |
	    O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		rv = errno == EEXIST ? WARD_EEXIST : WARD_ESYS;
		if (err != NULL)
			buf_printf(err, "sandbox: spill file %s: %s",
			    s->spill_path, strerror(errno));
		goto out;
	}
	/* A stale template is rebuilt once; after that, run cold. */
	for (tries = 0;; tries++) {
		t = tries < 2 ? envelope_tmpl_get(&c) : NULL;
		c.mode = t != NULL ? C_WARM : C_COLD;
		c.t = t;
		c.drop = 0;
		rv = envelope_exec(&c, spill, t0, r, err);
		if (t != NULL)
			envelope_tmpl_release(t, rv == 1 || c.drop);
		if (rv != 1)
			break;
	}
out:
	if (spill != -1)
		close(spill);
	envelope_plan_free(c.m, c.nm);
	return rv;
}

/* A spec's mount plan, for answering about many paths. */
struct envelope_map {
	struct mnt	*m;
	size_t		 n;
};

int
envelope_map_new(const struct envelope_spec *s, struct envelope_map **out)
{
	struct envelope_map *v;
	int rv;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return WARD_ENOMEM;
	if ((rv = envelope_plan(s, &v->m, &v->n, NULL)) != 0) {
		free(v);
		return rv;
	}
	*out = v;
	return 0;
}

void
envelope_map_free(struct envelope_map *v)
{
	if (v == NULL)
		return;
	envelope_plan_free(v->m, v->n);
	free(v);
}

int
envelope_map_access(const struct envelope_map *v, const char *path)
{
	size_t		 i;
	int		 acc = ENVELOPE_ACC_NONE;

	if (path == NULL || path[0] != '/')
		return WARD_EINVAL;
	if (strcmp(path, "/") == 0)
		return ENVELOPE_ACC_RO;		/* the new root, read-only */
	/* The sandbox's own: /proc is looked at, /dev and /tmp are its. */
	if (strcmp(path, "/proc") == 0 || strncmp(path, "/proc/", 6) == 0)
		return ENVELOPE_ACC_RO;
	if (strcmp(path, "/dev") == 0)
		return ENVELOPE_ACC_RO;
	if (strncmp(path, "/dev/", 5) == 0) {
		for (i = 0; i < nitems(devs); i++)
			if (envelope_under(path + 5, devs[i]))
				return ENVELOPE_ACC_RW;
		for (i = 0; i < nitems(devs_own); i++)
			if (envelope_under(path + 5, devs_own[i]))
				return ENVELOPE_ACC_RW;
		return ENVELOPE_ACC_NONE;	/* block devices and the rest */
	}
	/* Its private /tmp, unless a grant is mounted over the place. */
	if (strcmp(path, "/tmp") == 0 || strncmp(path, "/tmp/", 5) == 0)
		acc = ENVELOPE_ACC_TMP;
	/* Mounted in plan order, so the last one over path is on top. */
	for (i = 0; i < v->n; i++) {
		if (!envelope_under(path, v->m[i].path))
			continue;
		acc = v->m[i].kind == M_RW ? ENVELOPE_ACC_RW :
		    v->m[i].kind == M_HIDE ? ENVELOPE_ACC_NONE :
		    ENVELOPE_ACC_RO;
	}
	return acc;
}

void
envelope_result_clear(struct envelope_result *r)
{
	if (r == NULL)
		return;
	buf_free(&r->out);
	memset(r, 0, sizeof(*r));
	buf_init(&r->out, 0);
}

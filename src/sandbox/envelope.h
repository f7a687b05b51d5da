/*
 * The OS envelope every command runs in (DESIGN §2 invariants 2-4). One
 * call runs one shell command in fresh user, mount, pid, network, ipc, uts
 * and cgroup namespaces, on a new root that holds only the granted paths,
 * under Landlock, a seccomp filter, no_new_privs, no capabilities and
 * rlimits, and returns its merged output and exit code. Every layer is
 * required: if one cannot be set up the command does not run.
 *
 * User namespace: the caller's uid and gid are mapped to themselves and
 * nothing else is mapped. When the caller is root, root inside is host
 * root for file ownership (root-owned files it can see are its own), so
 * the view (what is bound, and read-only) and Landlock are what confine
 * it; all capabilities are dropped before the command starts and
 * SECBIT_NOROOT keeps exec from giving them back.
 *
 * All paths must be absolute and canonical (the caller resolves them): a
 * path with a symlink in it is refused, so that a symlink planted in a
 * writable directory cannot redirect a bind; a path that does not exist is
 * skipped (so a ro_over path that does not exist yet is not protected:
 * create it first). Parents of a ro_over path inside a rw path are bound
 * onto themselves so that they cannot be renamed away. Landlock rules only
 * add access, so ro_over and hide are enforced by the mount layer alone;
 * Landlock bounds everything else a second time. Network: a new network
 * namespace with only lo; Landlock (ABI >= 4) also refuses every TCP bind
 * and connect but to the relay port.
 *
 * Processes: the kernel exempts host root from RLIMIT_NPROC, so the pid
 * namespace's pid_max (Linux >= 6.14, at least 301) caps the process count
 * too; when the caller is root and that cannot be set, nothing runs.
 */
#ifndef WARD_ENVELOPE_H
#define WARD_ENVELOPE_H

#include <sys/resource.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

enum {
	ENVELOPE_FS_NONE = 0,	/* nothing but the granted paths */
	ENVELOPE_FS_SYSTEM,	/* /usr /bin /sbin /lib* /etc read-only */
	ENVELOPE_FS_PERMISSIVE,	/* system + $HOME (from envp) read-only */
	ENVELOPE_FS_ALL		/* / read-only, less /proc /dev /tmp */
};

/* The port the relay listens on, on 127.0.0.1 inside the sandbox. */
#define ENVELOPE_PROXY_PORT	3128

/* Defaults for a zero limit. */
#define ENVELOPE_DEF_AS		(32ULL << 30)	/* address space, bytes */
#define ENVELOPE_DEF_NPROC	512		/* processes in the sandbox */
#define ENVELOPE_DEF_FSIZE	(8ULL << 30)	/* largest file written */
#define ENVELOPE_DEF_CPU	1800		/* CPU seconds per process */
#define ENVELOPE_DEF_NOFILE	4096
#define ENVELOPE_SPILL_MAX	(64ULL << 20)	/* bytes kept in a spill file */

struct envelope_spec {
	const char	 *cwd;		/* absolute; the command starts here */
	int		  fs;		/* ENVELOPE_FS_*: read-only baseline */
	const char *const *ro;		/* more read-only paths */
	size_t		  nro;
	const char *const *rw;		/* read-write paths */
	size_t		  nrw;
	const char *const *hide;	/* never visible, even under rw or ALL */
	size_t		  nhide;
	const char *const *ro_over;	/* read-only even inside rw paths */
	size_t		  nro_over;
	char *const	 *envp;		/* the whole environment; NULL: empty */
	const char	 *command;	/* run as /bin/sh -c COMMAND */
	unsigned	  timeout_ms;	/* 0: none; on expiry all is killed */
	int		  cancel_fd;	/* > 0: once it is readable, all is
					 * killed (r->cancelled); 0 or -1:
					 * none (fd 0 is never one) */
	size_t		  max_output;	/* bytes of output kept in the result */
	const char	 *spill_path;	/* NULL, or a new file (0600, O_EXCL)
					 * that receives the output, up to
					 * ENVELOPE_SPILL_MAX bytes */
	int		  stdin_fd;	/* -1: /dev/null */
	int		  net_fd;	/* -1: only lo; else a connected
					 * AF_UNIX socket to the egress proxy:
					 * the sandbox writes one byte per
					 * connection to 127.0.0.1:3128 and
					 * expects one fd (SCM_RIGHTS) back */
	struct {
		rlim_t	  as, nproc, fsize, cpu, nofile;
	}		  lim;		/* 0: ENVELOPE_DEF_* */
};

struct envelope_result {
	int		 exit_code;	/* the command's; 128+N for signal N;
					 * 124 on timeout */
	int		 timed_out;
	int		 cancelled;	/* killed through cancel_fd */
	struct buf	 out;		/* the first max_output bytes */
	size_t		 total;		/* bytes written in all */
	uint64_t	 duration_us;
};

/*
 * Runs s->command in the envelope and waits for it. Returns 0 when the
 * command ran (whatever its exit code; r is filled and owned by the caller,
 * release it with envelope_result_clear), WARD_EINVAL for a bad spec,
 * WARD_EUNAVAIL when a layer cannot be set up on this kernel, WARD_ESYS
 * when a system call failed, WARD_EEXIST when spill_path exists. On error
 * the command did not run, r is empty and err (if not NULL) says which
 * layer failed and how to fix it. Nothing the command started survives
 * the return. Not async-signal-safe; may be called from threads.
 */
int	envelope_run(const struct envelope_spec *s, struct envelope_result *r,
	    struct buf *err);

/*
 * Drops every kept template (see envelope.c): the next run of each plan
 * builds its view anew. A run in progress keeps its template until it
 * returns. May be called from threads.
 */
void	envelope_flush(void);

enum {
	ENVELOPE_ACC_NONE = 0,	/* not in the view, or masked */
	ENVELOPE_ACC_RO,
	ENVELOPE_ACC_RW,
	ENVELOPE_ACC_TMP	/* its own /tmp: writable, starts empty, not
				   the host's */
};

/* The view a spec builds, to ask about paths in it. */
struct envelope_map;

/*
 * Makes s's mount plan into *out (free with envelope_map_free; NULL ok).
 * Returns 0, or a negative WARD_E* for a bad spec (*out NULL).
 */
int	envelope_map_new(const struct envelope_spec *s,
	    struct envelope_map **out);
void	envelope_map_free(struct envelope_map *v);

/*
 * What the view lets a command do at path (absolute; taken as written:
 * "." and ".." are not resolved and symlinks not followed), as the
 * mounts decide it (Landlock grants the same). Returns an
 * ENVELOPE_ACC_*, or WARD_EINVAL for a path that is not absolute.
 */
int	envelope_map_access(const struct envelope_map *v, const char *path);

/* Frees r's output and zeroes it. NULL ok. */
void	envelope_result_clear(struct envelope_result *r);

#endif

/*
 * DESIGN §7: a sandboxed `true` (the full envelope) within 1.5x an
 * unsandboxed fork+exec of `true`. Measured side by side, interleaved so
 * that drift hits every row alike:
 *
 *   - fork + execve("/bin/true") + waitpid: the baseline;
 *   - bwrap --unshare-all with the system baseline bound, running true,
 *     when bwrap is installed (for scale: not ward's code);
 *   - envelope_run of `true` with the system baseline and a read-write
 *     project directory: the first run of a plan, which builds its
 *     template (envelope_flush before each), then warm runs through the
 *     kept template, each right after the one before (the row the budget
 *     is checked on), with the network relay, and not right after a run.
 *
 * A template's zygote gets the next run's pid 1 ready in the background
 * once a run is over (doc/SANDBOX.md). So that this work is not timed as
 * part of the baseline, the baseline and the last row are timed after a
 * pause (SETTLE_US, then an untimed fork+exec: on a busy machine the
 * first process after a sleep is slow); the rows right after another run
 * pay for whatever of it is still going on. That work is about 0.5 ms of
 * CPU, but on a loaded 2-core machine it was seen to take more than 3 ms
 * of wall time.
 *
 * usage: sandbox [RUNS]
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "lib/buf.h"
#include "sandbox/envelope.h"

#define BUDGET_RATIO	1.5
#define SETTLE_US	25000
#define NROW		6

static char *const bwrap_argv[] = { "bwrap", "--unshare-all", "--die-with-parent",
	"--new-session", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin",
	"/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64",
	"/lib64", "--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev",
	"/dev", "--tmpfs", "/tmp", "/bin/true", NULL };
static char *const true_argv[] = { "true", NULL };
static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };

static void
die(const char *what)
{
	fprintf(stderr, "sandbox: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* fork + execve + wait of path; returns nanoseconds, or -1 on failure. */
static double
spawn(const char *path, char *const argv[])
{
	uint64_t	 t0 = bench_now_ns();
	pid_t		 pid;
	int		 st;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) == -1)
		die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return (double)(bench_now_ns() - t0);
}

/* Lets the background work of the run before end, untimed. */
static void
settle(void)
{
	usleep(SETTLE_US);
	spawn("/bin/true", true_argv);
}

static double
envelope(struct envelope_spec *s, int flush)
{
	struct envelope_result	 r;
	struct buf		 err;
	uint64_t		 t0 = bench_now_ns();
	double			 ns;

	buf_init(&err, 0);
	if (flush)
		envelope_flush();
	if (envelope_run(s, &r, &err) != 0 || r.exit_code != 0) {
		fprintf(stderr, "sandbox: envelope_run: %s\n",
		    err.data != NULL ? err.data : "exit code");
		exit(1);
	}
	ns = (double)(bench_now_ns() - t0);
	envelope_result_clear(&r);
	buf_free(&err);
	return ns;
}

int
main(int argc, char **argv)
{
	struct bench_stats	 st[NROW];
	struct envelope_spec	 s, sn;
	const char		*rw[1];
	char			 dir[PATH_MAX], tmpl[] = "/tmp/ward-bench-XXXXXX";
	double			*v[NROW];
	size_t			 runs = argc > 1 ? strtoul(argv[1], NULL, 10) :
				    200, i, nb = 0;
	int			 sv[2], have_bwrap;

	if (runs == 0)
		runs = 1;
	for (i = 0; i < NROW; i++)
		if ((v[i] = calloc(runs, sizeof(double))) == NULL)
			die("calloc");
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, dir) == NULL)
		die("mkdtemp");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair");
	rw[0] = dir;
	memset(&s, 0, sizeof(s));
	s.cwd = dir;
	s.fs = ENVELOPE_FS_SYSTEM;
	s.rw = rw;
	s.nrw = 1;
	s.envp = envp;
	s.command = "true";
	s.max_output = 4096;
	s.stdin_fd = -1;
	s.net_fd = -1;
	sn = s;
	sn.net_fd = sv[0];
	have_bwrap = spawn("/usr/bin/bwrap", bwrap_argv) >= 0;

	/* Warm up page cache and the seccomp program. */
	for (i = 0; i < 5; i++) {
		spawn("/bin/true", true_argv);
		envelope(&s, 0);
	}
	for (i = 0; i < runs; i++) {
		settle();
		v[0][i] = spawn("/bin/true", true_argv);
		if (have_bwrap)
			v[1][nb++] = spawn("/usr/bin/bwrap", bwrap_argv);
		v[4][i] = envelope(&s, 1);
		v[2][i] = envelope(&s, 0);
		v[3][i] = envelope(&sn, 0);
		settle();
		v[5][i] = envelope(&s, 0);
	}
	bench_stats(v[0], runs, &st[0]);
	if (have_bwrap)
		bench_stats(v[1], nb, &st[1]);
	bench_stats(v[2], runs, &st[2]);
	bench_stats(v[3], runs, &st[3]);
	bench_stats(v[4], runs, &st[4]);
	bench_stats(v[5], runs, &st[5]);

	bench_title("sandboxed true vs fork+exec of true (DESIGN §7)");
	bench_columns();
	bench_row("fork+exec /bin/true", &st[0], 1e3, "us", "baseline");
	if (have_bwrap)
		bench_row("bwrap --unshare-all true", &st[1], 1e3, "us",
		    "for scale");
	else
		printf("  bwrap: not installed (apt package bubblewrap)\n");
	bench_row("envelope_run true, builds template", &st[4], 1e3, "us",
	    "first run");
	bench_row("envelope_run true", &st[2], 1e3, "us",
	    "warm, right after a run");
	bench_row("envelope_run true +relay", &st[3], 1e3, "us",
	    "the same, net_fd set");
	bench_row("envelope_run true, not right after", &st[5], 1e3, "us",
	    "warm, after a pause");
	printf("  ratios to the baseline: warm %.2fx, +relay %.2fx, not "
	    "right after %.2fx\n", st[2].median / st[0].median,
	    st[3].median / st[0].median, st[5].median / st[0].median);
	bench_verdict("envelope_run true", st[2].median / 1e3,
	    BUDGET_RATIO * st[0].median / 1e3, "us");

	close(sv[0]);
	close(sv[1]);
	rmdir(dir);
	for (i = 0; i < NROW; i++)
		free(v[i]);
	return 0;
}

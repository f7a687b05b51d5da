/*
 * DESIGN §7: `ward run` start to first model request, with the compiled
 * component cached and the daemon running, within 30 ms.
 *
 * Everything happens under a fresh temp dir (HOME and every XDG_* point
 * into it), so the user's daemon, cache and state are never touched. The
 * daemon is started once to compile and cache the component, stopped, and
 * started again so that the daemon being measured loaded the cached
 * artifact; one untimed run warms it. Then, interleaved so that drift hits
 * all rows alike:
 *
 *   - fork+exec of `ward run --provider script --model FILE "go"` in a tiny
 *     project whose script has one final-answer turn, until it exits. The
 *     session ends right after its first model request, so this is an upper
 *     bound: it also includes the session's teardown and the CLI's exit.
 *   - fork+exec of `ward --version` (the cost of starting the binary);
 *   - connect + one `hello` frame + close on the daemon socket;
 *
 * and, on one open connection, `hello` round trips (the daemon's floor).
 *
 * Then DESIGN §7's per-tool-call overhead: sessions whose one turn asks
 * for TOOL_CALLS file_reads of a 4 KiB file (and that stop there, with
 * --max-turns 1, so no model request carries the results), interleaved
 * with the 1-turn sessions above. Each pair's difference divided by
 * TOOL_CALLS is one sample of a whole tool call as a session makes it:
 * the guest's WIT call, the policy decision, the audit records (tool_call,
 * decision, tool_result), the file read, redaction, the transcript events
 * to the CLI, and the result lifted back into the guest. The bare WIT
 * round trip is wit_roundtrip's row.
 *
 * usage: startup WARD [RUNS]
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define BUDGET_MS		30.0
#define WARMUP			3	/* untimed rounds before the timed ones */
#define HELLOS_PER_RUN		10	/* open-connection round trips a round */
#define DAEMON_START_MS		120000	/* a cold compile can take a while */
#define TOOL_CALLS		200	/* file_reads in one tool-call session */
#define TOOL_BUDGET_US		100.0

static const char hello_json[] = "{\"type\":\"hello\",\"version\":1}";

static char	 tmp[PATH_MAX];		/* the temp dir; "" when none */
static char	 proj[PATH_MAX + 16];	/* the project dir */
static char	 sock[PATH_MAX + 32];	/* the daemon socket */
static char	 errlog[PATH_MAX + 16];	/* stderr of every child */
static pid_t	 daemon_pid = -1;
static int	 finished;		/* main got to the end */

static void
die(const char *what)
{
	fprintf(stderr, "startup: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
path_join(char *out, size_t size, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size) {
		fprintf(stderr, "startup: path too long: %s/%s\n", dir, name);
		exit(1);
	}
}

static void
write_file(const char *path, const char *text)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		die(path);
	fputs(text, f);
	if (fclose(f) != 0)
		die(path);
}

/* four.txt (4 KiB of text) and calls.jsonl, one turn asking for
 * TOOL_CALLS file_reads of it. */
static void
write_calls(void)
{
	static const char call[] = "{\"name\": \"file_read\", "
	    "\"arguments\": {\"path\": \"four.txt\"}}";
	char p[PATH_MAX + 16], line[64];
	FILE *f;
	int i;

	path_join(p, sizeof(p), proj, "four.txt");
	if ((f = fopen(p, "w")) == NULL)
		die(p);
	for (i = 0; i < 4096 / 64; i++) {
		memset(line, 'a' + i % 26, 63);
		line[63] = '\n';
		fwrite(line, 1, sizeof(line), f);
	}
	if (fclose(f) == EOF)
		die(p);
	path_join(p, sizeof(p), proj, "calls.jsonl");
	if ((f = fopen(p, "w")) == NULL)
		die(p);
	fputs("{\"tool_calls\": [", f);
	for (i = 0; i < TOOL_CALLS; i++)
		fprintf(f, "%s%s", i ? ", " : "", call);
	fputs("]}\n", f);
	if (fclose(f) == EOF)
		die(p);
}

/* Points HOME and the XDG base directories at fresh dirs under tmp; the
 * children inherit them. */
static void
setup_env(void)
{
	static const struct { const char *var, *dir; } dirs[] = {
		{ "HOME",		"home" },
		{ "XDG_CONFIG_HOME",	"config" },
		{ "XDG_STATE_HOME",	"state" },
		{ "XDG_DATA_HOME",	"data" },
		{ "XDG_CACHE_HOME",	"cache" },
		{ "XDG_RUNTIME_DIR",	"run" },
	};
	char p[PATH_MAX + 16];
	size_t i;

	strcpy(tmp, "/tmp/ward-bench.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		tmp[0] = '\0';
		die("mkdtemp");
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path_join(p, sizeof(p), tmp, dirs[i].dir);
		/* 0700: ward refuses directories others can write. */
		if (mkdir(p, 0700) == -1)
			die(p);
		if (setenv(dirs[i].var, p, 1) == -1)
			die("setenv");
	}
	path_join(sock, sizeof(sock), tmp, "run/ward/daemon.sock");
	path_join(errlog, sizeof(errlog), tmp, "children.log");
	path_join(proj, sizeof(proj), tmp, "project");
	if (mkdir(proj, 0700) == -1)
		die(proj);
	path_join(p, sizeof(p), proj, "README.md");
	write_file(p, "# bench\n");
	path_join(p, sizeof(p), proj, "script.jsonl");
	write_file(p, "{\"text\": \"done\"}\n");
	path_join(p, sizeof(p), proj, "ward.toml");
	write_file(p, "schema_version = 1\n\n[capabilities.allow.read]\n"
	    "paths = [\"**\"]\n");
	write_calls();
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == -1 ? -1 : 0;
}

/* Runs argv in dir (NULL: here) with stdin and stdout on /dev/null and
 * stderr appended to errlog, and waits. Returns the exit code, or -1 if
 * it did not exit normally. */
static int
run(char *const argv[], const char *dir)
{
	pid_t pid;
	int st, fd;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		if (dir != NULL && chdir(dir) == -1)
			_exit(126);
		if ((fd = open("/dev/null", O_RDWR)) == -1)
			_exit(126);
		dup2(fd, 0);
		dup2(fd, 1);
		if ((fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) != -1)
			dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts `ward daemon --ready-fd N` with its output in log and waits for
 * "ready". Returns the milliseconds that took; exits on failure. */
static double
daemon_start(const char *ward, const char *log)
{
	char msg[256], fdarg[16];
	struct pollfd pfd;
	uint64_t t0;
	size_t n = 0;
	ssize_t r;
	int p[2], fd;

	if (pipe2(p, O_CLOEXEC) == -1)
		die("pipe2");
	t0 = bench_now_ns();
	if ((daemon_pid = fork()) == -1)
		die("fork");
	if (daemon_pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) ==
		    -1)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		fcntl(p[1], F_SETFD, 0);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		execl(ward, "ward", "daemon", "--ready-fd", fdarg,
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (n < sizeof(msg) - 1) {
		if (poll(&pfd, 1, DAEMON_START_MS) <= 0)
			break;
		if ((r = read(p[0], msg + n, sizeof(msg) - 1 - n)) == -1 &&
		    errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(msg, '\n', n) != NULL)
			break;
	}
	close(p[0]);
	msg[n] = '\0';
	if (strncmp(msg, "ready", 5) != 0) {
		fprintf(stderr, "startup: the daemon did not start (see %s)\n",
		    log);
		exit(1);
	}
	return (double)(bench_now_ns() - t0) / 1e6;
}

/* `ward daemon stop`, then reaps the daemon (it is our child). */
static void
daemon_stop(const char *ward)
{
	char *argv[] = { (char *)ward, "daemon", "stop", NULL };

	if (daemon_pid <= 0)
		return;
	if (run(argv, NULL) != 0) {
		fprintf(stderr, "startup: ward daemon stop failed; "
		    "terminating pid %ld\n", (long)daemon_pid);
		kill(daemon_pid, SIGTERM);
	}
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = -1;
}

/* Whether the file says the daemon loaded the cached component. */
static int
log_says_cached(const char *log)
{
	char line[PATH_MAX + 256];
	FILE *f;
	int cached = 0;

	if ((f = fopen(log, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "serving") != NULL)
			cached = strstr(line, ", cached)") != NULL;
	fclose(f);
	return cached;
}

static int
dial(void)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "startup: socket path too long: %s\n", sock);
		exit(1);
	}
	strcpy(sa.sun_path, sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die(sock);
	return fd;
}

static void
read_full(int fd, void *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "startup: the daemon closed the "
			    "connection\n");
			exit(1);
		}
		p = (char *)p + r;
		n -= (size_t)r;
	}
}

/* One hello frame out, one frame back (doc/PROTOCOL.md framing: a 4-byte
 * big-endian length, then the JSON). The request is one write so that the
 * daemon sees it in one segment, as it would from ward. */
static void
hello(int fd)
{
	unsigned char frame[4 + sizeof(hello_json)], hdr[4];
	char reply[256];
	size_t n = sizeof(hello_json) - 1, len;

	frame[0] = (unsigned char)(n >> 24);
	frame[1] = (unsigned char)(n >> 16);
	frame[2] = (unsigned char)(n >> 8);
	frame[3] = (unsigned char)n;
	memcpy(frame + 4, hello_json, n);
	if (write(fd, frame, 4 + n) != (ssize_t)(4 + n))
		die("write");
	read_full(fd, hdr, 4);
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	    (size_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len >= sizeof(reply)) {
		fprintf(stderr, "startup: unexpected reply length %zu\n", len);
		exit(1);
	}
	read_full(fd, reply, len);
	reply[len] = '\0';
	if (strstr(reply, "\"hello\"") == NULL) {
		fprintf(stderr, "startup: unexpected reply %s\n", reply);
		exit(1);
	}
}

/* Times argv in dir; exits if it does not exit with `want`. */
static double
timed_run(char *const argv[], const char *dir, int want)
{
	uint64_t t0 = bench_now_ns();
	int code = run(argv, dir);

	if (code != want) {
		fprintf(stderr, "startup: %s %s exited %d (see %s)\n",
		    argv[0], argv[1], code, errlog);
		exit(1);
	}
	return (double)(bench_now_ns() - t0);
}

static void
cleanup(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	if (tmp[0] == '\0')
		return;
	/* After a failure the logs are what explains it. */
	if (finished)
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "startup: left %s for inspection\n", tmp);
}

int
main(int argc, char **argv)
{
	char ward[PATH_MAX], log1[PATH_MAX + 16], log2[PATH_MAX + 16];
	char *end, note[64];
	char *run_argv[] = { ward, "run", "--provider", "script", "--model",
	    "script.jsonl", "go", NULL };
	char *ver_argv[] = { ward, "--version", NULL };
	char *approve_argv[] = { ward, "approve", "--yes", NULL };
	/* --max-turns 1: the session stops after its tool calls (exit 1). */
	char *calls_argv[] = { ward, "run", "--max-turns", "1", "--provider",
	    "script", "--model", "calls.jsonl", "go", NULL };
	double *t_run, *t_ver, *t_conn, *t_hello, *t_tool, cold_ms, warm_ms;
	struct bench_stats s_run, s_ver, s_conn, s_hello, s_tool;
	long tool_runs;
	long runs = 200, i, j;
	uint64_t t0;
	int fd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: startup WARD [RUNS]\n");
		return 2;
	}
	if (realpath(argv[1], ward) == NULL)
		die(argv[1]);
	if (argc == 3) {
		runs = strtol(argv[2], &end, 10);
		if (*end != '\0' || runs < 1 || runs > 1000000) {
			fprintf(stderr, "startup: bad RUNS '%s'\n", argv[2]);
			return 2;
		}
	}
	t_run = calloc((size_t)runs, sizeof(double));
	t_ver = calloc((size_t)runs, sizeof(double));
	t_conn = calloc((size_t)runs, sizeof(double));
	t_hello = calloc((size_t)runs * HELLOS_PER_RUN, sizeof(double));
	/* A tool-call session lasts ~TOOL_CALLS times longer than a run. */
	tool_runs = runs / 10 > 5 ? runs / 10 : 5;
	t_tool = calloc((size_t)tool_runs, sizeof(double));
	if (!t_run || !t_ver || !t_conn || !t_hello || !t_tool)
		die("calloc");
	atexit(cleanup);
	setup_env();
	/* A session runs only under an approved manifest: measured runs
	 * include checking the approval, as every real one does. */
	if (run(approve_argv, proj) != 0) {
		fprintf(stderr, "startup: ward approve failed (see %s)\n",
		    errlog);
		return 1;
	}
	path_join(log1, sizeof(log1), tmp, "daemon-cold.log");
	path_join(log2, sizeof(log2), tmp, "daemon-warm.log");

	/* The first daemon compiles and caches the component; the one we
	 * measure against loads that cache. */
	cold_ms = daemon_start(ward, log1);
	daemon_stop(ward);
	warm_ms = daemon_start(ward, log2);
	if (!log_says_cached(log2)) {
		fprintf(stderr, "startup: the second daemon did not load the "
		    "cached component (see %s)\n", log2);
		return 1;
	}
	for (i = 0; i < WARMUP; i++) {
		timed_run(run_argv, proj, 0);
		timed_run(ver_argv, NULL, 0);
		fd = dial();
		hello(fd);
		close(fd);
	}
	for (i = 0; i < runs; i++) {
		t_run[i] = timed_run(run_argv, proj, 0);
		t_ver[i] = timed_run(ver_argv, NULL, 0);
		t0 = bench_now_ns();
		fd = dial();
		hello(fd);
		close(fd);
		t_conn[i] = (double)(bench_now_ns() - t0);
	}
	fd = dial();
	for (j = 0; j < WARMUP; j++)
		hello(fd);
	for (j = 0; j < runs * HELLOS_PER_RUN; j++) {
		t0 = bench_now_ns();
		hello(fd);
		t_hello[j] = (double)(bench_now_ns() - t0);
	}
	close(fd);
	timed_run(calls_argv, proj, 1);
	for (i = 0; i < tool_runs; i++) {
		t_tool[i] = timed_run(calls_argv, proj, 1);
		t_tool[i] = (t_tool[i] - timed_run(run_argv, proj, 0)) /
		    TOOL_CALLS;
	}
	daemon_stop(ward);

	bench_stats(t_run, (size_t)runs, &s_run);
	bench_stats(t_ver, (size_t)runs, &s_ver);
	bench_stats(t_conn, (size_t)runs, &s_conn);
	bench_stats(t_hello, (size_t)(runs * HELLOS_PER_RUN), &s_hello);
	bench_title("ward run: start to first model request "
	    "(DESIGN §7, budget 30 ms)");
	printf("  daemon start: %.0f ms compiling the component, %.0f ms "
	    "from the cache (not budgeted)\n", cold_ms, warm_ms);
	printf("  measured: warm cache, daemon running; the run row is an "
	    "upper bound:\n  it lasts until `ward run` exits, so it also "
	    "includes session teardown\n");
	bench_columns();
	bench_row("ward run (1-turn script), fork+exec..exit", &s_run, 1e6,
	    "ms", NULL);
	snprintf(note, sizeof(note), "run = %.1fx this",
	    s_run.median / s_ver.median);
	bench_row("baseline: fork+exec ward --version", &s_ver, 1e6, "ms",
	    note);
	bench_row("baseline: connect + hello + close", &s_conn, 1e3, "us",
	    NULL);
	bench_row("baseline: hello round trip, open socket", &s_hello, 1e3,
	    "us", NULL);
	bench_verdict("ward run", s_run.median / 1e6, BUDGET_MS, "ms");

	bench_stats(t_tool, (size_t)tool_runs, &s_tool);
	bench_title("tool call overhead: a 4 KiB file_read in a session "
	    "(DESIGN §7, budget 100 us)");
	printf("  (a session of %d file_reads minus a 1-turn session) / %d; "
	    "WIT, policy,\n  audit, redaction, transcript events; the bare WIT "
	    "call is wit_roundtrip's row\n", TOOL_CALLS, TOOL_CALLS);
	bench_columns();
	bench_row("file_read 4 KiB through the session, per call", &s_tool,
	    1e3, "us", NULL);
	bench_verdict("tool call", s_tool.median / 1e3, TOOL_BUDGET_US, "us");
	free(t_tool);
	free(t_run);
	free(t_ver);
	free(t_conn);
	free(t_hello);
	finished = 1;
	return 0;
}

/*
 * DESIGN §7: the capsule. A hello-world WASI module run warm end to end
 * (`ward capsule run hello.wasm`, fork+exec to exit, the compiled module
 * cached) within 10 ms, beside a native run of the same program; and a
 * CPU-bound program built natively and for wasm32-wasi from one C file,
 * with the wasm run (through `ward capsule run`, default fuel and epoch
 * checks on) within 1.5x the native one. Rows are interleaved so that
 * drift hits all alike. Everything happens under a fresh temp dir (HOME
 * and every XDG_* point into it), so the user's cache is never touched.
 *
 * usage: capsule WARD HELLO.wasm HELLO CPU.wasm CPU [RUNS [CPU_RUNS]]
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define BUDGET_MS	10.0
#define BUDGET_RATIO	1.5
#define WARMUP		3

static char	tmp[PATH_MAX];

static void
die(const char *what)
{
	fprintf(stderr, "capsule: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
cleanup(void)
{
	if (tmp[0] != '\0')
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Points HOME and the XDG directories into a fresh temp dir. */
static void
sandbox_env(void)
{
	static const char *vars[] = { "HOME", "XDG_CONFIG_HOME",
	    "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR" };
	char dir[PATH_MAX + 32];
	size_t i;

	snprintf(tmp, sizeof(tmp), "/tmp/ward-bench-capsule-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		die("mkdtemp");
	atexit(cleanup);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%zu", tmp, i);
		if (mkdir(dir, 0700) == -1 || setenv(vars[i], dir, 1) == -1)
			die(dir);
	}
}

/* fork + exec + wait, stdin and stdout on /dev/null (ward reads a stdin
 * that is not a terminal); nanoseconds, exits on failure. */
static double
spawn(char *const argv[])
{
	uint64_t t0 = bench_now_ns();
	pid_t pid;
	int st, fd;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) == -1 ||
		    dup2(fd, STDIN_FILENO) == -1 ||
		    dup2(fd, STDOUT_FILENO) == -1)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) == -1)
		die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "capsule: %s %s failed (status %d)\n", argv[0],
		    argv[1] != NULL ? argv[1] : "", st);
		exit(1);
	}
	return (double)(bench_now_ns() - t0);
}

int
main(int argc, char **argv)
{
	char *ward_hello[] = { NULL, "capsule", "run", NULL, NULL };
	char *ward_cpu[] = { NULL, "capsule", "run", NULL, NULL };
	char *ward_version[] = { NULL, "--version", NULL };
	char *native_hello[] = { NULL, NULL }, *native_cpu[] = { NULL, NULL };
	struct bench_stats st[5];
	double *v[5];
	size_t runs, cruns, i;

	if (argc < 6) {
		fprintf(stderr, "usage: capsule WARD HELLO.wasm HELLO CPU.wasm "
		    "CPU [RUNS [CPU_RUNS]]\n");
		return 2;
	}
	ward_hello[0] = ward_cpu[0] = ward_version[0] = argv[1];
	ward_hello[3] = argv[2];
	native_hello[0] = argv[3];
	ward_cpu[3] = argv[4];
	native_cpu[0] = argv[5];

	runs = argc > 6 ? strtoul(argv[6], NULL, 10) : 200;
	cruns = argc > 7 ? strtoul(argv[7], NULL, 10) : 10;
	if (runs == 0)
		runs = 1;
	if (cruns == 0)
		cruns = 1;
	for (i = 0; i < 5; i++)
		if ((v[i] = calloc(runs > cruns ? runs : cruns,
		    sizeof(double))) == NULL)
			die("calloc");
	sandbox_env();

	/* The first run compiles and caches; the rest load the artifact. */
	for (i = 0; i < WARMUP; i++) {
		spawn(ward_hello);
		spawn(native_hello);
		spawn(ward_cpu);
		spawn(native_cpu);
	}
	for (i = 0; i < runs; i++) {
		v[0][i] = spawn(ward_hello);
		v[1][i] = spawn(native_hello);
		v[2][i] = spawn(ward_version);
	}
	for (i = 0; i < cruns; i++) {
		v[3][i] = spawn(ward_cpu);
		v[4][i] = spawn(native_cpu);
	}
	bench_stats(v[0], runs, &st[0]);
	bench_stats(v[1], runs, &st[1]);
	bench_stats(v[2], runs, &st[2]);
	bench_stats(v[3], cruns, &st[3]);
	bench_stats(v[4], cruns, &st[4]);

	bench_title("capsule: hello-world WASI module, warm (DESIGN §7)");
	bench_columns();
	bench_row("ward capsule run hello.wasm", &st[0], 1e6, "ms",
	    "cached module");
	bench_row("native hello", &st[1], 1e6, "ms", "baseline");
	bench_row("ward --version", &st[2], 1e6, "ms", "starting ward");
	bench_verdict("ward capsule run hello.wasm", st[0].median / 1e6,
	    BUDGET_MS, "ms");

	bench_title("capsule: CPU-bound program, wasm vs native (DESIGN §7)");
	bench_columns();
	bench_row("ward capsule run cpu.wasm", &st[3], 1e6, "ms",
	    "fuel + epoch on");
	bench_row("native cpu", &st[4], 1e6, "ms", "baseline, cc -O2");
	printf("  ratio wasm/native: %.2fx\n", st[3].median / st[4].median);
	bench_verdict("ward capsule run cpu.wasm", st[3].median / 1e6,
	    BUDGET_RATIO * st[4].median / 1e6, "ms");

	for (i = 0; i < 5; i++)
		free(v[i]);
	return 0;
}

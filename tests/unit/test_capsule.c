/*
 * The capsule's limits and results through capsule_run, with tiny modules
 * written in the text format (so each one does exactly one thing): exit
 * codes, captured output and its cap, memory.grow past the limit, the
 * store limiter's instance/table/memory caps, the deadline, fuel, stack
 * overflow, traps, bad modules and the artifact cache; then the same for
 * WASI preview 2 components (wasi:cli/run). The C guests of
 * tests/integ/capsule.t cover grants and escapes. The text is turned into
 * binary by wasm-tools ($WASM_TOOLS, as `make test-run` sets it).
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capsule/capsule.h"
#include "lib/err.h"
#include "tap.h"
#include "util.h"

#define WASI(name, sig) \
	"(import \"wasi_snapshot_preview1\" \"" name "\" (func $" name " " \
	sig "))"
#define EXIT	WASI("proc_exit", "(param i32)")
#define WRITE	WASI("fd_write", "(param i32 i32 i32 i32) (result i32)")

/*
 * A component exporting wasi:cli/run@0.2.0, whose run is the core function
 * "run" of the module m (returning 0 for ok, 1 for err); imports come
 * first, and with instantiates m with them.
 */
#define P2(imports, m, with) \
	"(component " imports \
	"(core module $m " m ")" \
	"(core instance $i (instantiate $m " with "))" \
	"(func $run (result (result)) (canon lift (core func $i \"run\")))" \
	"(instance $r (export \"run\" (func $run)))" \
	"(export \"wasi:cli/run@0.2.0\" (instance $r)))"
#define P2RUN(body) \
	P2("", "(memory 1) (func $run (export \"run\") (result i32) " body \
	    ")", "")
/* wasi:cli/exit, lowered into the core module as host.exit(i32). */
#define P2EXIT \
	"(import \"wasi:cli/exit@0.2.0\" (instance $exit" \
	"  (export \"exit\" (func (param \"status\" (result))))))" \
	"(alias export $exit \"exit\" (func $exitf))" \
	"(core func $exitl (canon lower (func $exitf)))"

static char dir[] = "/tmp/ward-test-capsule-XXXXXX";

/* Writes the module for wat (raw: the bytes themselves) to DIR/name and
 * returns its path (static buffer). */
static const char *
module(const char *name, const char *wat, int raw)
{
	static char path[4200];
	char src[4200], tools[4200];
	const char *t = getenv("WASM_TOOLS"), *c = getenv("WARD_CACHE");
	pid_t pid;
	FILE *f;
	int st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(src, sizeof(src), "%s/%s.wat", dir, name);
	if (t == NULL) {
		snprintf(tools, sizeof(tools), "%s/.cache/ward/tools/bin/"
		    "wasm-tools", getenv("HOME") ? getenv("HOME") : "");
		if (c != NULL)
			snprintf(tools, sizeof(tools), "%s/tools/bin/"
			    "wasm-tools", c);
		t = tools;
	}
	if ((f = fopen(raw ? path : src, "wb")) == NULL)
		die(path);
	fputs(wat, f);
	if (fclose(f) != 0)
		die(path);
	if (raw)
		return path;
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		execl(t, "wasm-tools", "parse", src, "-o", path, (char *)NULL);
		perror(t);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "cannot build the fixture %s\n", name);
		exit(2);
	}
	return path;
}

/* A module of 1500 functions of 600 adds each: seconds of compiling. Its
 * text is built in a child, so that this process's peak memory stays what
 * it was. */
static const char *
huge(void)
{
	static char path[4200];
	struct buf w;
	pid_t pid;
	int i, j, st;

	snprintf(path, sizeof(path), "%s/huge.wasm", dir);
	if ((pid = fork()) == -1)
		die("fork");
	if (pid != 0) {
		if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			exit(2);
		return path;
	}

	buf_init(&w, 0);
	buf_puts(&w, "(module ");
	for (i = 0; i < 1500; i++) {
		buf_puts(&w, "(func (param i32) (result i32)");
		for (j = 0; j < 600; j++)
			buf_puts(&w, " local.get 0 i32.const 7 i32.add "
			    "local.set 0");
		buf_puts(&w, " local.get 0)\n");
	}
	buf_puts(&w, "(func (export \"_start\")))");
	if (w.data == NULL)
		die("huge");
	(void)module("huge.wasm", w.data, 0);
	buf_free(&w);
	_exit(0);
}

/* The "Max cpu time" line of /proc/PID/limits (pid 0: this process). */
static int
cpu_limit(pid_t pid, char *line, size_t n)
{
	char path[64];
	FILE *f;
	int found = 0;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/limits");
	else
		snprintf(path, sizeof(path), "/proc/%ld/limits", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, (int)n, f) != NULL)
		if (strncmp(line, "Max cpu time", 12) == 0) {
			found = 1;
			break;
		}
	fclose(f);
	return found;
}

/* A child of this process (capsule_run's), or 0. */
static pid_t
child_pid(void)
{
	char path[300], buf[512], *p;
	struct dirent *de;
	pid_t pid = 0;
	long ppid;
	FILE *f;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		die("/proc");
	while (pid == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* "pid (comm) state ppid ...": comm may hold anything. */
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 1, " %*c %ld", &ppid) == 1 &&
		    ppid == (long)getpid())
			pid = (pid_t)atol(de->d_name);
		fclose(f);
	}
	closedir(d);
	return pid;
}

struct bg {
	struct capsule_spec	*s;
	struct capsule_result	*r;
	struct buf		*err;
	int			 rc;
	int			 done;
};

static void *
bg_main(void *arg)
{
	struct bg *b = arg;

	b->rc = capsule_run(b->s, b->r, b->err);
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * Runs s in a thread and watches its child through /proc meanwhile: its CPU
 * limit must stay this process's (wasmtime compiles on several threads, so
 * an RLIMIT_CPU from the timeout could stop a compile early), and its spec
 * memfd must be sealed.
 */
static void
watch_child(struct capsule_spec *s, struct capsule_result *r,
    struct buf *err)
{
	char mine[256], theirs[256], fd0[64];
	struct bg b = { s, r, err, 0, 0 };
	pthread_t th;
	pid_t pid = 0;
	int fd, seals = -1, samples = 0, differ = 0;

	if (!cpu_limit(0, mine, sizeof(mine)))
		die("/proc/self/limits");
	capsule_result_clear(r);
	buf_reset(err);
	if (pthread_create(&th, NULL, bg_main, &b) != 0)
		die("pthread_create");
	while (!__atomic_load_n(&b.done, __ATOMIC_SEQ_CST)) {
		if (pid == 0)
			pid = child_pid();
		if (pid != 0 && seals == -1) {
			snprintf(fd0, sizeof(fd0), "/proc/%ld/fd/0", (long)pid);
			if ((fd = open(fd0, O_RDONLY | O_CLOEXEC)) != -1) {
				seals = fcntl(fd, F_GET_SEALS);
				close(fd);
			}
		}
		if (pid != 0 && cpu_limit(pid, theirs, sizeof(theirs))) {
			samples++;
			if (strcmp(mine, theirs) != 0) {
				if (!differ)
					printf("# child: %s", theirs);
				differ = 1;
			}
		}
		usleep(20000);
	}
	pthread_join(th, NULL);
	is_int(b.rc, 0, "the watched run ran");
	ok(samples >= 10, "the child was watched (%d samples)", samples);
	ok(!differ, "the child has no CPU-time limit of its own");
	ok(seals != -1 && (seals & (F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL)) == (F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL), "the spec memfd is sealed (%#x)",
	    seals);
}

static int
run(struct capsule_spec *s, struct capsule_result *r, struct buf *err)
{
	capsule_result_clear(r);
	buf_reset(err);
	return capsule_run(s, r, err);
}

int
main(int argc, char **argv)
{
	struct capsule_spec s;
	struct capsule_result r;
	struct buf err;
	const char *env[] = { "NOEQUALS" };
	struct capsule_dir bad = { "/nonexistent/ward", NULL, 0 };
	struct rusage ru0, ru1;
	char cache[4200];
	int rc;

	/* capsule_run runs its child as this program. */
	if (argc == 3 && strcmp(argv[2], CAPSULE_CHILD_ARG) == 0)
		return capsule_child_main();
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	memset(&r, 0, sizeof(r));
	buf_init(&err, 0);
	memset(&s, 0, sizeof(s));

	/* Exit codes and output. */
	s.module = module("exit.wasm", "(module " EXIT
	    "(memory (export \"memory\") 1)"
	    "(func (export \"_start\") (call $proc_exit (i32.const 7))))", 0);
	rc = run(&s, &r, &err);
	is_int(rc, 0, "a module that exits runs");
	is_int(r.stop, CAPSULE_EXITED, "it exited");
	is_int(r.exit_code, 7, "with its proc_exit status");
	is_int(r.peak_memory, 65536, "peak memory is its one page");
	ok(r.fuel_consumed > 0, "fuel was counted");

	s.module = module("write.wasm", "(module " WRITE
	    "(memory (export \"memory\") 1)"
	    "(data (i32.const 16) \"hello world\")"
	    "(func (export \"_start\")"
	    "  (i32.store (i32.const 0) (i32.const 16))"
	    "  (i32.store (i32.const 4) (i32.const 11))"
	    "  (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1)"
	    "    (i32.const 8)))"
	    "  (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1)"
	    "    (i32.const 8)))))", 0);
	rc = run(&s, &r, &err);
	is_int(r.exit_code, 0, "returning from _start is exit 0");
	is_str(r.out.data, "hello world", "stdout is captured");
	is_str(r.err.data, "hello world", "stderr is captured");
	is_str(r.message, "", "no message for exit 0");
	s.output_max = 4;
	rc = run(&s, &r, &err);
	is_str(r.out.data, "hell", "stdout is cut at output_max");
	ok(r.out_truncated && r.err_truncated, "and the cut is reported");
	is_int(r.stop, CAPSULE_EXITED, "the program is not stopped by it");
	s.output_max = 0;

	/* Memory: a grow past the limit fails in the guest, not the host. */
	s.module = module("grow.wasm", "(module " EXIT
	    "(memory (export \"memory\") 1)"
	    "(func (export \"_start\")"
	    "  (call $proc_exit (select (i32.const 9) (i32.const 0)"
	    "    (i32.eq (memory.grow (i32.const 100)) (i32.const -1))))))",
	    0);
	s.memory = 1 << 20;
	rc = run(&s, &r, &err);
	is_int(rc, 0, "a module growing past its memory runs");
	is_int(r.exit_code, 9, "memory.grow past --memory returns -1");
	is_int(r.peak_memory, 65536, "and the memory did not grow");
	s.memory = 8 << 20;
	rc = run(&s, &r, &err);
	is_int(r.exit_code, 0, "the same grow within the limit succeeds");
	is_int(r.peak_memory, 101 * 65536, "peak memory follows it");
	s.memory = 0;
	s.module = module("big.wasm", "(module (memory 2000)"
	    "(func (export \"_start\")))", 0);
	s.memory = 1 << 20;
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "an initial memory over the limit is refused");
	ok(strstr(err.data, "pooling allocator") != NULL,
	    "by the pooling allocator, at load: %s", err.data);
	s.memory = 0;
	s.module = module("two.wasm", "(module (memory 1) (memory 1)"
	    "(func (export \"_start\")))", 0);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "a second memory is refused by the limiter");
	s.module = module("table.wasm", "(module (table 200000 funcref)"
	    "(func (export \"_start\")))", 0);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "a table over 100000 elements is refused");

	/* CPU and stack. */
	s.module = module("loop.wasm", "(module (func (export \"_start\")"
	    "  (loop (br 0))))", 0);
	s.timeout_ms = 50;
	rc = run(&s, &r, &err);
	is_int(r.stop, CAPSULE_TIMEOUT, "a loop is stopped at its deadline");
	is_str(r.message, "timeout after 50ms", "with a clear message");
	is_int(r.exit_code, -1, "and no exit code");
	s.timeout_ms = 2000;
	rc = run(&s, &r, &err);
	is_str(r.message, "timeout after 2s", "whole seconds say s");
	s.timeout_ms = 0;
	s.module = module("spin.wasm", "(module (func (export \"_start\")"
	    "  (local i32) (loop (local.set 0 (i32.add (local.get 0)"
	    "  (i32.const 1))) (br 0))))", 0);
	s.fuel = 10000;
	rc = run(&s, &r, &err);
	is_int(r.stop, CAPSULE_FUEL, "a loop is stopped by its fuel");
	is_int(r.fuel_consumed, 10000, "having used all of it");
	is_str(r.message, "out of fuel (10000 units)", "with a clear message");
	s.fuel = 0;
	s.module = module("rec.wasm", "(module (func $f (export \"_start\")"
	    "  (call $f)))", 0);
	rc = run(&s, &r, &err);
	is_int(r.stop, CAPSULE_STACK, "unbounded recursion is a stack overflow");
	is_str(r.message, "stack overflow", "named as one");
	s.module = module("trap.wasm", "(module (func (export \"_start\")"
	    "  unreachable))", 0);
	rc = run(&s, &r, &err);
	is_int(r.stop, CAPSULE_TRAP, "unreachable is a trap");
	ok(strncmp(r.message, "trap: ", 6) == 0, "with a message: %s",
	    r.message);
	ok(strchr(r.message, '\n') == NULL, "of one line");
	is_str(capsule_stop_name(r.stop), "trap", "named trap");

	/* Blocked in a host call: WASI poll_oneoff sleeping 30 s on the
	 * monotonic clock, after writing to stdout. */
	s.module = module("sleep.wasm", "(module " WRITE
	    WASI("poll_oneoff", "(param i32 i32 i32 i32) (result i32)")
	    "(memory (export \"memory\") 1)"
	    "(data (i32.const 200) \"before\")"
	    "(func (export \"_start\")"
	    "  (i32.store (i32.const 192) (i32.const 200))"
	    "  (i32.store (i32.const 196) (i32.const 6))"
	    "  (drop (call $fd_write (i32.const 1) (i32.const 192)"
	    "    (i32.const 1) (i32.const 188)))"
	    "  (i32.store (i32.const 16) (i32.const 1))"
	    "  (i64.store (i32.const 24) (i64.const 30000000000))"
	    "  (drop (call $poll_oneoff (i32.const 0) (i32.const 64)"
	    "    (i32.const 1) (i32.const 128)))))", 0);
	s.timeout_ms = 200;
	rc = run(&s, &r, &err);
	is_int(rc, 0, "a module sleeping in poll_oneoff runs");
	is_int(r.stop, CAPSULE_TIMEOUT, "and is stopped at its deadline");
	is_str(r.message, "timeout after 200ms", "as a timeout");
	is_int(r.exit_code, -1, "with no exit code");
	is_str(r.out.data, "before", "what it wrote before is kept");
	ok(r.duration_us < 20000000, "well before its sleep ends (%llu ms)",
	    (unsigned long long)(r.duration_us / 1000));
	s.timeout_ms = 1500;
	watch_child(&s, &r, &err);
	is_int(r.stop, CAPSULE_TIMEOUT, "the watched run was stopped in time");

	/* Compiling counts against the deadline, and its memory is the
	 * child's: this one takes seconds to compile. */
	s.module = huge();
	s.timeout_ms = 300;
	getrusage(RUSAGE_SELF, &ru0);
	rc = run(&s, &r, &err);
	getrusage(RUSAGE_SELF, &ru1);
	is_int(rc, 0, "a module still compiling at its deadline runs");
	is_int(r.stop, CAPSULE_TIMEOUT, "and is stopped as a timeout");
	ok(!r.from_cache, "it was being compiled");
	ok(strstr(r.message, "timeout after 300ms (the module was still "
	    "compiling;") == r.message, "the message says it was compiling: "
	    "%s", r.message);
	ok(ru1.ru_maxrss - ru0.ru_maxrss < 16 * 1024, "the caller's peak memory "
	    "grew by %ld KiB", ru1.ru_maxrss - ru0.ru_maxrss);
	s.timeout_ms = 0;

	/* Bad modules and specs. */
	s.module = module("imp.wasm", "(module (import \"env\" \"x\" (func))"
	    "(func (export \"_start\")))", 0);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "a foreign import is refused");
	ok(strstr(err.data, "'env.x'") != NULL, "naming it: %s", err.data);
	s.module = module("reactor.wasm", "(module (func (export \"f\")))", 0);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "a module without _start is refused");
	s.module = module("junk.wasm", "MZ\x90junk", 1);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "junk is refused");
	s.module = "/nonexistent/x.wasm";
	rc = run(&s, &r, &err);
	is_int(rc, WARD_ENOENT, "a missing module is ENOENT");
	s.module = dir;
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "a directory as a module is refused");
	s.module = module("ok.wasm", "(module (func (export \"_start\")))", 0);
	s.env = env;
	s.nenv = 1;
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "an environment entry without = is refused");
	s.nenv = 0;
	s.dirs = &bad;
	s.ndirs = 1;
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "a missing directory is refused");
	s.ndirs = 0;
	s.memory = CAPSULE_MEMORY_MAX + 1;
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "memory over 4 GiB is refused");
	s.memory = 0;

	/* Preview 2 components: the same limits and results. */
	s.module = module("p2ok.wasm", P2RUN("i32.const 0"), 0);
	rc = run(&s, &r, &err);
	is_int(rc, 0, "p2: a component whose run returns ok runs");
	is_int(r.stop, CAPSULE_EXITED, "p2: it exited");
	is_int(r.exit_code, 0, "p2: with 0");
	ok(r.fuel_consumed > 0, "p2: fuel was counted");
	is_int(r.peak_memory, 65536, "p2: peak memory is its one page");
	s.module = module("p2err.wasm", P2RUN("i32.const 1"), 0);
	rc = run(&s, &r, &err);
	is_int(r.exit_code, 1, "p2: run returning err is exit 1");
	is_str(r.message, "exited with status 1", "p2: said so");
	s.module = module("p2exit.wasm", P2(P2EXIT,
	    "(import \"host\" \"exit\" (func $e (param i32)))"
	    "(func (export \"run\") (result i32)"
	    "  (call $e (i32.const 1)) unreachable)",
	    "(with \"host\" (instance (export \"exit\" (func $exitl))))"), 0);
	rc = run(&s, &r, &err);
	is_int(rc, 0, "p2: a component calling wasi:cli/exit runs");
	ok(r.stop == CAPSULE_EXITED && r.exit_code == 1,
	    "p2: exit(err) ends it with 1 (%d, %s)", r.exit_code, r.message);
	s.module = module("p2exit0.wasm", P2(P2EXIT,
	    "(import \"host\" \"exit\" (func $e (param i32)))"
	    "(func (export \"run\") (result i32)"
	    "  (call $e (i32.const 0)) unreachable)",
	    "(with \"host\" (instance (export \"exit\" (func $exitl))))"), 0);
	rc = run(&s, &r, &err);
	ok(r.stop == CAPSULE_EXITED && r.exit_code == 0,
	    "p2: exit(ok) ends it with 0 before anything else runs");

	s.module = module("p2grow.wasm", P2RUN("(i32.eq (memory.grow "
	    "(i32.const 200)) (i32.const -1))"), 0);
	s.memory = 8 << 20;
	rc = run(&s, &r, &err);
	is_int(r.exit_code, 1, "p2: memory.grow past --memory returns -1");
	is_int(r.peak_memory, 65536, "p2: and the memory did not grow");
	s.module = module("p2grow2.wasm", P2RUN("(i32.eq (memory.grow "
	    "(i32.const 100)) (i32.const -1))"), 0);
	rc = run(&s, &r, &err);
	is_int(r.exit_code, 0, "p2: a grow within the limit succeeds");
	is_int(r.peak_memory, 101 * 65536, "p2: peak memory follows it");
	s.module = module("p2hog.wasm", P2RUN("(loop (br_if 0 (i32.ne "
	    "(memory.grow (i32.const 1)) (i32.const -1)))) unreachable"), 0);
	rc = run(&s, &r, &err);
	is_int(r.stop, CAPSULE_MEMORY, "p2: a hog that fails at the limit is "
	    "a memory stop");
	is_int(r.peak_memory, 8 << 20, "p2: its memory is the limit exactly");
	is_str(r.message, "memory limit 8 MiB reached", "p2: said so");
	s.module = module("p2big.wasm", P2("", "(memory 2000)"
	    "(func (export \"run\") (result i32) i32.const 0)", ""), 0);
	s.memory = 1 << 20;
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "p2: an initial memory over the limit is "
	    "refused");
	ok(strstr(err.data, "pooling allocator") != NULL,
	    "p2: by the pooling allocator, at load: %s", err.data);
	s.memory = 0;
	s.module = module("p2two.wasm", P2("(core module $a (memory 1))"
	    "(core instance (instantiate $a)) (core instance (instantiate $a))",
	    "(func (export \"run\") (result i32) i32.const 0)", ""), 0);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "p2: a second memory is refused");
	ok(strstr(err.data, "pooling allocator") != NULL, "p2: by the "
	    "pooling allocator, at load: %s", err.data);
	s.module = module("p2many.wasm", P2("(core module $e)"
	    "(core instance (instantiate $e)) (core instance (instantiate $e))"
	    "(core instance (instantiate $e)) (core instance (instantiate $e))"
	    "(core instance (instantiate $e)) (core instance (instantiate $e))"
	    "(core instance (instantiate $e)) (core instance (instantiate $e))",
	    "(func (export \"run\") (result i32) i32.const 0)", ""), 0);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "p2: more than 8 core instances are refused");
	ok(strstr(err.data, "pooling allocator") != NULL, "p2: by the "
	    "pooling allocator, at load: %s", err.data);

	s.module = module("p2loop.wasm", P2RUN("(loop (br 0)) i32.const 0"),
	    0);
	s.timeout_ms = 50;
	rc = run(&s, &r, &err);
	is_int(r.stop, CAPSULE_TIMEOUT, "p2: a loop is stopped at its "
	    "deadline");
	is_str(r.message, "timeout after 50ms", "p2: with a clear message");
	is_int(r.exit_code, -1, "p2: and no exit code");
	s.timeout_ms = 0;
	s.fuel = 10000;
	rc = run(&s, &r, &err);
	is_int(r.stop, CAPSULE_FUEL, "p2: a loop is stopped by its fuel");
	is_int(r.fuel_consumed, 10000, "p2: having used all of it");
	is_str(r.message, "out of fuel (10000 units)", "p2: said so");
	s.fuel = 0;
	s.module = module("p2rec.wasm", P2RUN("call $run"), 0);
	rc = run(&s, &r, &err);
	is_int(r.stop, CAPSULE_STACK, "p2: unbounded recursion is a stack "
	    "overflow");
	s.module = module("p2trap.wasm", P2RUN("unreachable"), 0);
	rc = run(&s, &r, &err);
	is_int(r.stop, CAPSULE_TRAP, "p2: unreachable is a trap");
	is_str(r.message, "trap: wasm trap: wasm `unreachable` instruction "
	    "executed", "p2: named on one line");

	s.module = module("p2empty.wasm", "(component)", 0);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "p2: a component without wasi:cli/run is "
	    "refused");
	ok(strstr(err.data, "not a WASI command component") != NULL,
	    "p2: said so: %s", err.data);
	s.module = module("p2type.wasm", "(component"
	    "(core module $m (func (export \"run\") (result i32) i32.const 0))"
	    "(core instance $i (instantiate $m))"
	    "(func $run (result u32) (canon lift (core func $i \"run\")))"
	    "(instance $r (export \"run\" (func $run)))"
	    "(export \"wasi:cli/run@0.2.0\" (instance $r)))", 0);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "p2: a run of the wrong type is refused");
	s.module = module("p2imp.wasm", P2("(import \"ward:evil/x\" "
	    "(instance))", "(func (export \"run\") (result i32) i32.const 0)",
	    ""), 0);
	rc = run(&s, &r, &err);
	is_int(rc, WARD_EINVAL, "p2: a foreign import is refused");
	ok(strstr(err.data, "'ward:evil/x'") != NULL, "p2: naming it: %s",
	    err.data);
	s.module = module("ok.wasm", "(module (func (export \"_start\")))", 0);

	/* The cache. */
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	if (mkdir(cache, 0700) == -1)
		die(cache);
	s.cache_dir = cache;
	rc = run(&s, &r, &err);
	ok(rc == 0 && !r.from_cache, "the first run compiles");
	rc = run(&s, &r, &err);
	ok(rc == 0 && r.from_cache, "the second loads the cached artifact");
	s.module = module("p2ok.wasm", P2RUN("i32.const 0"), 0);
	rc = run(&s, &r, &err);
	ok(rc == 0 && !r.from_cache, "p2: the first run compiles");
	rc = run(&s, &r, &err);
	ok(rc == 0 && r.from_cache && r.exit_code == 0,
	    "p2: the second loads the cached artifact");
	chmod(cache, 0777);
	rc = run(&s, &r, &err);
	ok(rc == 0 && !r.from_cache, "a world-writable cache is not trusted");

	capsule_result_clear(&r);
	capsule_result_clear(NULL);
	buf_free(&err);
	rm_tree(dir);
	return done_testing();
}

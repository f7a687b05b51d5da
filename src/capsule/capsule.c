/*
 * The capsule (see capsule.h). One run is one child process: capsule_run
 * re-executes the current program (/proc/self/exe, argv "capsule"
 * CAPSULE_CHILD_ARG) with the spec in a memfd on its stdin, and that child
 * reads the module, compiles or loads it, instantiates and runs it, and
 * streams frames back over a pipe on its stdout. So nothing the guest does
 * and no memory its compilation takes lands in the caller (the daemon, for
 * code_run), and a child stuck anywhere, in a compile or in a host call such
 * as a WASI sleep or a FIFO read, is SIGKILLed by the caller at the
 * deadline. A re-exec rather than a bare fork: the daemon has threads, and
 * after fork only async-signal-safe calls are sound, which wasmtime is not.
 *
 * Limits:
 *
 *   - time: the caller's deadline covers the whole child, compile included.
 *     Inside, a timer thread bumps the engine's epoch once at that same
 *     deadline and the store's epoch deadline is 1, so running wasm traps
 *     at its next loop back-edge or function entry and the child reports
 *     its fuel and memory; the caller kills it CAPSULE_GRACE_MS later
 *     whatever it is doing. No RLIMIT_CPU (see capsule_child_limits).
 *   - memory: the store limiter (memory bytes, instances, tables, table
 *     elements, memories); a memory.grow past it fails in the guest. The
 *     child's writable memory (RLIMIT_DATA) is capped at
 *     CAPSULE_COMPILE_MEMORY while it compiles and at the guest's memory
 *     plus CAPSULE_RUN_OVERHEAD while it runs. RLIMIT_AS would count
 *     wasmtime's PROT_NONE reservations (gigabytes per linear memory);
 *     RLIMIT_DATA counts only memory that can be written.
 *   - output: each stream is sent as it is written, at most output_max + 1
 *     bytes (the extra byte tells the caller it was cut); the rest is
 *     counted as dropped, never stored.
 *   - reach: a WASI preview 1 command module or a preview 2 command
 *     component (wasi:cli/run), with no inherited environment, argv, stdio
 *     or network; directories are exactly the preopens given. Both kinds
 *     get the same WASI context (wasmtime builds the preview 2 view over
 *     the preview 1 one), so the grants are the same; a component's socket
 *     and name-lookup calls are replaced by ones that refuse. The child
 *     gets an empty environment and no descriptor but its spec, its pipe
 *     and stderr (for diagnostics).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <wasmtime.h>
#include <wasmtime/component.h>

#include "../lib/artcache.h"
#include "../lib/err.h"
#include "../lib/keyfile.h"
#include "../lib/utf8.h"
#include "capsule.h"

#define CAPSULE_ARTIFACT_MAX	(512u << 20)
#define CAPSULE_WASI		"wasi_snapshot_preview1"
#define CAPSULE_TABLE_ELEMS	100000
#define CAPSULE_INSTANCES	4
#define CAPSULE_TABLES		4
#define CAPSULE_MEMORIES	1
/* A component is several core instances (the program, the WASI adapter,
 * the shims that tie them together) with a table or two each; still one
 * memory, so the memory limit stays the program's whole linear memory. */
#define CAPSULE_P2_INSTANCES	8
#define CAPSULE_P2_TABLES	8
#define CAPSULE_P2_RUN		"wasi:cli/run@0.2."
#define CAPSULE_GRACE_MS	250		/* for the child to report */
#define CAPSULE_RUN_OVERHEAD	(256ULL << 20)	/* engine, store, stdin */
#define CAPSULE_SPEC_MAX	(96u << 20)	/* the serialised spec */
#define CAPSULE_FRAME_MAX	(64u << 10)
#define CAPSULE_EXIT_SYSERR	111

/* ASan's shadow is writable memory that RLIMIT_DATA counts. */
#if defined(__SANITIZE_ADDRESS__)
#define CAPSULE_NO_DATA_LIMIT	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CAPSULE_NO_DATA_LIMIT	1
#endif
#endif

/* Frames from the child: type, 3 bytes of padding, u32 payload length. */
#define CAPSULE_F_OUT		'o'	/* guest stdout bytes */
#define CAPSULE_F_ERR		'e'	/* guest stderr bytes */
#define CAPSULE_F_LOADED	'c'	/* compiled or loaded: u8 from_cache */
#define CAPSULE_F_RESULT	'r'	/* struct capsule_wire */
#define CAPSULE_F_FAIL		'x'	/* int32 WARD_E* code, message */

struct capsule_wire {
	int32_t		 stop;
	int32_t		 exit_code;
	int32_t		 out_truncated;
	int32_t		 err_truncated;
	int32_t		 from_cache;
	uint64_t	 fuel_consumed;
	uint64_t	 peak_memory;
	uint64_t	 duration_us;
	char		 message[160];
};
/* Bumped whenever engine settings change, so stale artifacts are ignored. */
#define CAPSULE_CACHE_TAG	"ward-capsule-1;wasmtime-48;fuel;epoch;pooling"
#define CAPSULE_CACHE_TAG_P2	"ward-capsule-1;wasmtime-48;fuel;epoch;pooling;component"

/* What was loaded: a WASI preview 1 core module or a preview 2 component. */
struct capsule_prog {
	int			 component;
	wasmtime_module_t	*mod;
	wasmtime_component_t	*comp;
	char			 run[64];	/* its wasi:cli/run export */
};

/* One guest stream in the child, sent to the caller as it is written. */
struct capsule_sink {
	int		 fd;
	char		 type;
	size_t		 sent;
	size_t		 max;
	int		 truncated;
};

/* What the caller has heard from the child. */
struct capsule_heard {
	int		 loaded;
	int		 result;
	int		 failed;
	int		 fail_rc;
	int		 killed;
	struct capsule_wire w;
};

/* The wall-clock deadline: one thread that bumps the epoch once. */
struct capsule_timer {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct timespec	 at;
	wasm_engine_t	*engine;
	pthread_t	 th;
	int		 done;
	int		 fired;
};

static int	capsule_child_limit(int, uint64_t);

const char *
capsule_stop_name(enum capsule_stop stop)
{
	switch (stop) {
	case CAPSULE_EXITED:
		return "exit";
	case CAPSULE_TIMEOUT:
		return "timeout";
	case CAPSULE_FUEL:
		return "fuel";
	case CAPSULE_MEMORY:
		return "memory";
	case CAPSULE_STACK:
		return "stack_overflow";
	case CAPSULE_TRAP:
		break;
	}
	return "trap";
}

void
capsule_result_clear(struct capsule_result *r)
{
	if (r == NULL)
		return;
	buf_free(&r->out);
	buf_free(&r->err);
	memset(r, 0, sizeof(*r));
}

static void
capsule_errmsg(wasmtime_error_t *e, struct buf *err)
{
	wasm_name_t msg;

	wasmtime_error_message(e, &msg);
	buf_add(err, msg.data, msg.size);
	wasm_byte_vec_delete(&msg);
	wasmtime_error_delete(e);
}

/* ---- frames and output ------------------------------------------------ */

/* Only the thread that runs the guest sends, so frames never interleave. */
static int
capsule_send(int fd, char type, const void *p, size_t n)
{
	unsigned char hdr[8] = { 0 };
	uint32_t len = (uint32_t)n;

	hdr[0] = (unsigned char)type;
	memcpy(hdr + 4, &len, sizeof(len));
	if (keyfile_write_all(fd, hdr, sizeof(hdr)) != 0 ||
	    keyfile_write_all(fd, p, n) != 0)
		return WARD_EIO;
	return 0;
}

/* Sends what fits (plus one byte that tells the caller of the cut) and
 * reports everything as written, so a program that floods its output runs
 * on (until its fuel or time runs out) instead of failing in ways that
 * differ from a real terminal. */
static ptrdiff_t
capsule_write(void *data, const unsigned char *p, size_t n)
{
	struct capsule_sink *s = data;
	size_t k, room = s->max + 1 - s->sent;

	if (s->sent + n > s->max)
		s->truncated = 1;
	k = n < room ? n : room;
	s->sent += k;
	while (k > 0) {
		size_t c = k < CAPSULE_FRAME_MAX ? k : CAPSULE_FRAME_MAX;

		/* The caller is gone: nobody is left to report to. */
		if (capsule_send(s->fd, s->type, p, c) != 0)
			_exit(CAPSULE_EXIT_SYSERR);
		p += c;
		k -= c;
	}
	return n > PTRDIFF_MAX ? PTRDIFF_MAX : (ptrdiff_t)n;
}

/* ---- the deadline ----------------------------------------------------- */

static void *
capsule_timer_main(void *arg)
{
	struct capsule_timer *t = arg;

	pthread_mutex_lock(&t->mu);
	while (!t->done) {
		if (pthread_cond_timedwait(&t->cv, &t->mu, &t->at) ==
		    ETIMEDOUT && !t->done) {
			t->fired = 1;
			wasmtime_engine_increment_epoch(t->engine);
			break;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* at is CLOCK_MONOTONIC, which is the same in the caller and the child. */
static int
capsule_timer_start(struct capsule_timer *t, wasm_engine_t *engine,
    const struct timespec *at)
{
	pthread_condattr_t ca;

	memset(t, 0, sizeof(*t));
	t->engine = engine;
	t->at = *at;
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t->th, NULL, capsule_timer_main, t) != 0) {
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
		return WARD_ESYS;
	}
	return 0;
}

/* Returns whether the deadline fired. */
static int
capsule_timer_stop(struct capsule_timer *t)
{
	int fired;

	pthread_mutex_lock(&t->mu);
	t->done = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->th, NULL);
	fired = t->fired;
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	return fired;
}

static uint64_t
capsule_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- loading ---------------------------------------------------------- */

static int
capsule_read_module(const char *path, struct buf *b, struct buf *err)
{
	char chunk[65536];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		buf_printf(err, "cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT ? WARD_ENOENT : WARD_EINVAL;
	}
	/* A FIFO or device would block or never end. */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		buf_printf(err, "%s is not a regular file", path);
		rc = WARD_EINVAL;
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			buf_printf(err, "read %s: %s", path, strerror(errno));
			rc = WARD_EINVAL;
			goto out;
		}
		if (buf_add(b, chunk, (size_t)n) != 0) {
			buf_printf(err, "%s is larger than the %u MiB a module "
			    "may have", path, CAPSULE_MODULE_MAX >> 20);
			rc = WARD_ETOOBIG;
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

/*
 * Sorts a core module (version 1) from a component (layer 1) by the header,
 * and says what a file that is neither is, before wasmtime does.
 */
static int
capsule_check_magic(const char *path, const struct buf *wasm,
    struct capsule_prog *prog, struct buf *err)
{
	static const unsigned char core[8] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
	const unsigned char *p = (const unsigned char *)wasm->data;

	prog->component = 0;
	if (wasm->len >= 8 && memcmp(p, core, 8) == 0)
		return 0;
	if (wasm->len >= 8 && memcmp(p, core, 4) == 0 && p[6] == 1 &&
	    p[7] == 0) {
		prog->component = 1;
		return 0;
	}
	if (wasm->len >= 8 && memcmp(p, core, 4) == 0)
		buf_printf(err, "%s is a WebAssembly binary of an unknown "
		    "version (neither a core module nor a component)", path);
	else
		buf_printf(err, "%s is not a WebAssembly module (no \\0asm "
		    "header)", path);
	return WARD_EINVAL;
}

/* Deserialises, compiles and serialises either kind. */
static wasmtime_error_t *
capsule_deserialize(wasm_engine_t *engine, struct capsule_prog *prog,
    const struct buf *b)
{
	if (prog->component)
		return wasmtime_component_deserialize(engine,
		    (const uint8_t *)b->data, b->len, &prog->comp);
	return wasmtime_module_deserialize(engine, (const uint8_t *)b->data,
	    b->len, &prog->mod);
}

static wasmtime_error_t *
capsule_compile(wasm_engine_t *engine, struct capsule_prog *prog,
    const struct buf *b)
{
	if (prog->component)
		return wasmtime_component_new(engine,
		    (const uint8_t *)b->data, b->len, &prog->comp);
	return wasmtime_module_new(engine, (const uint8_t *)b->data, b->len,
	    &prog->mod);
}

static wasmtime_error_t *
capsule_serialize(const struct capsule_prog *prog, wasm_byte_vec_t *bytes)
{
	if (prog->component)
		return wasmtime_component_serialize(prog->comp, bytes);
	return wasmtime_module_serialize(prog->mod, bytes);
}

static int
capsule_load(wasm_engine_t *engine, const struct capsule_spec *spec,
    const struct buf *wasm, struct capsule_prog *prog, int *from_cache,
    struct buf *err)
{
	char path[4096];
	struct buf art;
	wasmtime_error_t *e;
	int cached;

	*from_cache = 0;
	/* The tag keeps the two kinds' artifacts apart (their bytes differ
	 * anyway) and ties both to the engine settings. */
	cached = spec->cache_dir != NULL && artcache_path(spec->cache_dir,
	    "capsule", prog->component ? CAPSULE_CACHE_TAG_P2 :
	    CAPSULE_CACHE_TAG, wasm->data, wasm->len, path,
	    sizeof(path)) == 0;
	if (cached) {
		buf_init(&art, CAPSULE_ARTIFACT_MAX);
		if (artcache_read(spec->cache_dir, path, &art)) {
			e = capsule_deserialize(engine, prog, &art);
			buf_free(&art);
			if (e == NULL) {
				*from_cache = 1;
				return 0;
			}
			/* Stale or foreign artifact: compile afresh. */
			wasmtime_error_delete(e);
		}
		buf_free(&art);
	}
	if ((e = capsule_compile(engine, prog, wasm)) != NULL) {
		buf_printf(err, "%s cannot be loaded as a WebAssembly %s: ",
		    spec->module, prog->component ? "component" : "module");
		capsule_errmsg(e, err);
		return WARD_EINVAL;
	}
	if (cached) {
		wasm_byte_vec_t bytes;

		if ((e = capsule_serialize(prog, &bytes)) == NULL) {
			artcache_write(path, bytes.data, bytes.size);
			wasm_byte_vec_delete(&bytes);
		} else
			wasmtime_error_delete(e);
	}
	return 0;
}

/* A command module imports only WASI preview 1 and exports _start. The
 * linker would refuse an unknown import too; this names it. */
static int
capsule_check_shape(const wasmtime_module_t *mod, const char *path,
    struct buf *err)
{
	wasm_importtype_vec_t imps;
	wasm_exporttype_vec_t exps;
	const wasm_name_t *m, *n;
	size_t i;
	int rc = 0, start = 0;

	wasmtime_module_imports(mod, &imps);
	for (i = 0; i < imps.size && rc == 0; i++) {
		m = wasm_importtype_module(imps.data[i]);
		n = wasm_importtype_name(imps.data[i]);
		if (m->size != strlen(CAPSULE_WASI) ||
		    memcmp(m->data, CAPSULE_WASI, m->size) != 0) {
			buf_puts(err, "the module imports '");
			utf8_visible(err, m->data, m->size > 100 ? 100 :
			    m->size, 0);
			buf_puts(err, ".");
			utf8_visible(err, n->data, n->size > 100 ? 100 :
			    n->size, 0);
			buf_puts(err, "', which the capsule does not provide "
			    "(only " CAPSULE_WASI ")");
			rc = WARD_EINVAL;
		}
	}
	wasm_importtype_vec_delete(&imps);
	if (rc != 0)
		return rc;
	wasmtime_module_exports(mod, &exps);
	for (i = 0; i < exps.size; i++) {
		n = wasm_exporttype_name(exps.data[i]);
		if (n->size == 6 && memcmp(n->data, "_start", 6) == 0)
			start = 1;
	}
	wasm_exporttype_vec_delete(&exps);
	if (!start) {
		buf_printf(err, "%s is not a WASI command module (it exports "
		    "no _start)", path);
		return WARD_EINVAL;
	}
	return 0;
}

/* The WASI 0.2 packages wasmtime_component_linker_add_wasip2 provides
 * (sockets only to deny them; see capsule_deny_sockets). */
static const char *const capsule_p2_pkgs[] = {
	"wasi:cli/", "wasi:clocks/", "wasi:filesystem/", "wasi:io/",
	"wasi:random/", "wasi:sockets/",
};

static int
capsule_p2_import(const char *name, size_t len)
{
	const char *at;
	size_t i, k;

	if ((at = memchr(name, '@', len)) == NULL ||
	    (size_t)(name + len - at) < 6 || memcmp(at, "@0.2.", 5) != 0)
		return 0;
	for (i = 0; i < sizeof(capsule_p2_pkgs) / sizeof(capsule_p2_pkgs[0]);
	    i++) {
		k = strlen(capsule_p2_pkgs[i]);
		if (len > k && memcmp(name, capsule_p2_pkgs[i], k) == 0)
			return 1;
	}
	return 0;
}

/* Whether the export instance ty has `run: func() -> result`. */
static int
capsule_p2_has_run(const wasmtime_component_instance_type_t *ty,
    wasm_engine_t *engine)
{
	wasmtime_component_item_t item;
	wasmtime_component_valtype_t res;
	int ok = 0;

	if (!wasmtime_component_instance_type_export_get(ty, engine, "run", 3,
	    &item))
		return 0;
	if (item.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_FUNC &&
	    wasmtime_component_func_type_param_count(item.of.component_func) ==
	    0 && wasmtime_component_func_type_result(item.of.component_func,
	    &res)) {
		ok = res.kind == WASMTIME_COMPONENT_VALTYPE_RESULT;
		wasmtime_component_valtype_delete(&res);
	}
	wasmtime_component_item_delete(&item);
	return ok;
}

/*
 * A command component imports only WASI 0.2 interfaces and exports
 * wasi:cli/run@0.2.x. The linker would refuse an unknown import too (and
 * still checks every type); this names it. Records the run export's name.
 */
static int
capsule_check_world(wasm_engine_t *engine, struct capsule_prog *prog,
    const char *path, struct buf *err)
{
	wasmtime_component_type_t *ty;
	wasmtime_component_item_t item;
	const char *name;
	size_t i, n, len;
	int rc = 0, found = 0;

	ty = wasmtime_component_type(prog->comp);
	n = wasmtime_component_type_import_count(ty, engine);
	for (i = 0; i < n && rc == 0; i++) {
		if (!wasmtime_component_type_import_nth(ty, engine, i, &name,
		    &len, &item)) {
			buf_puts(err, "cannot read the component's imports");
			rc = WARD_EINVAL;
			break;
		}
		if (item.kind != WASMTIME_COMPONENT_ITEM_COMPONENT_INSTANCE ||
		    !capsule_p2_import(name, len)) {
			buf_puts(err, "the component imports '");
			utf8_visible(err, name, len > 100 ? 100 : len, 0);
			buf_puts(err, "', which the capsule does not provide "
			    "(only the WASI 0.2 interfaces of wasi:cli, clocks, "
			    "filesystem, io, random and sockets, the last "
			    "denied)");
			rc = WARD_EINVAL;
		}
		wasmtime_component_item_delete(&item);
	}
	n = rc == 0 ? wasmtime_component_type_export_count(ty, engine) : 0;
	for (i = 0; i < n && !found; i++) {
		if (!wasmtime_component_type_export_nth(ty, engine, i, &name,
		    &len, &item))
			break;
		if (item.kind == WASMTIME_COMPONENT_ITEM_COMPONENT_INSTANCE &&
		    len > strlen(CAPSULE_P2_RUN) && len < sizeof(prog->run) &&
		    memcmp(name, CAPSULE_P2_RUN, strlen(CAPSULE_P2_RUN)) == 0 &&
		    capsule_p2_has_run(item.of.component_instance, engine)) {
			memcpy(prog->run, name, len);
			prog->run[len] = '\0';
			found = 1;
		}
		wasmtime_component_item_delete(&item);
	}
	wasmtime_component_type_delete(ty);
	if (rc == 0 && !found) {
		buf_printf(err, "%s is not a WASI command component (it exports "
		    "no wasi:cli/run@0.2 interface with run: func() -> "
		    "result)", path);
		rc = WARD_EINVAL;
	}
	return rc;
}

/* ---- the WASI context ------------------------------------------------- */

static int
capsule_utf8(const char *s)
{
	size_t n = strlen(s);

	return utf8_valid_prefix(s, n) == n;
}

static int
capsule_wasi(const struct capsule_spec *spec, struct capsule_sink *out,
    struct capsule_sink *errs, wasi_config_t **wout, struct buf *err)
{
	const char **argv = NULL, **names = NULL, **values = NULL;
	char **owned = NULL;
	const char *base, *eq;
	wasi_config_t *w;
	wasm_byte_vec_t in;
	size_t i;
	int rc = WARD_ENOMEM;

	*wout = NULL;
	if ((w = wasi_config_new()) == NULL)
		return WARD_ENOMEM;
	if ((argv = calloc(spec->argc + 1, sizeof(*argv))) == NULL ||
	    (names = calloc(spec->nenv + 1, sizeof(*names))) == NULL ||
	    (values = calloc(spec->nenv + 1, sizeof(*values))) == NULL ||
	    (owned = calloc(spec->nenv + 1, sizeof(*owned))) == NULL)
		goto out;
	base = strrchr(spec->module, '/');
	argv[0] = base != NULL ? base + 1 : spec->module;
	for (i = 0; i < spec->argc; i++)
		argv[i + 1] = spec->argv[i];
	for (i = 0; i < spec->argc + 1; i++)
		if (!capsule_utf8(argv[i])) {
			buf_printf(err, "argument %zu is not valid UTF-8", i);
			rc = WARD_EINVAL;
			goto out;
		}
	if (!wasi_config_set_argv(w, spec->argc + 1, argv)) {
		buf_puts(err, "an argument is not valid UTF-8");
		rc = WARD_EINVAL;
		goto out;
	}
	for (i = 0; i < spec->nenv; i++) {
		eq = strchr(spec->env[i], '=');
		if (eq == NULL || eq == spec->env[i] ||
		    !capsule_utf8(spec->env[i])) {
			buf_puts(err, "an environment variable is not "
			    "K=V in UTF-8");
			rc = WARD_EINVAL;
			goto out;
		}
		if ((owned[i] = strndup(spec->env[i],
		    (size_t)(eq - spec->env[i]))) == NULL)
			goto out;
		names[i] = owned[i];
		values[i] = eq + 1;
	}
	if (!wasi_config_set_env(w, spec->nenv, names, values)) {
		buf_puts(err, "an environment variable is not valid UTF-8");
		rc = WARD_EINVAL;
		goto out;
	}
	if (spec->stdin_data != NULL) {
		wasm_byte_vec_new(&in, spec->stdin_len, spec->stdin_data);
		wasi_config_set_stdin_bytes(w, &in);
	}
	wasi_config_set_stdout_custom(w, capsule_write, out, NULL);
	wasi_config_set_stderr_custom(w, capsule_write, errs, NULL);
	/* wasmtime's default, said here: preview 2 could resolve names
	 * otherwise (capsule_deny_sockets also replaces the call). */
	wasi_config_allow_ip_name_lookup(w, false);
	for (i = 0; i < spec->ndirs; i++) {
		const struct capsule_dir *d = &spec->dirs[i];
		const char *g = d->guest != NULL ? d->guest : d->host;
		struct stat st;

		if (stat(d->host, &st) == -1 || !S_ISDIR(st.st_mode)) {
			buf_printf(err, "%s is not a directory", d->host);
			rc = WARD_EINVAL;
			goto out;
		}
		if (!capsule_utf8(g) || !wasi_config_preopen_dir(w,
		    d->host, g, d->writable != 0)) {
			buf_printf(err, "cannot grant the directory %s",
			    d->host);
			rc = WARD_EINVAL;
			goto out;
		}
	}
	*wout = w;
	w = NULL;
	rc = 0;
out:
	if (owned != NULL)
		for (i = 0; i < spec->nenv; i++)
			free(owned[i]);
	free(owned);
	free(argv);
	free(names);
	free(values);
	if (w != NULL)
		wasi_config_delete(w);
	return rc;
}

/* ---- running ---------------------------------------------------------- */

/*
 * The child's one engine. Its instances, memories and tables come from a
 * pooling allocator sized for exactly what the store limiter allows, so
 * the quotas hold twice: a memory cannot grow past `memory` even if the
 * limiter were wrong, and a module asking for more tables, table elements
 * or memories than allowed fails to instantiate.
 */
static wasm_engine_t *
capsule_engine(int component, uint64_t memory)
{
	wasmtime_pooling_allocation_config_t *pool;
	wasm_config_t *cfg;
	uint32_t insts = component ? CAPSULE_P2_INSTANCES : CAPSULE_INSTANCES;
	uint32_t tables = component ? CAPSULE_P2_TABLES : CAPSULE_TABLES;

	if ((cfg = wasm_config_new()) == NULL)
		return NULL;
	wasmtime_config_consume_fuel_set(cfg, true);
	wasmtime_config_epoch_interruption_set(cfg, true);
	if (component)
		wasmtime_config_wasm_component_model_set(cfg, true);
	if ((pool = wasmtime_pooling_allocation_config_new()) == NULL) {
		wasm_config_delete(cfg);
		return NULL;
	}
	wasmtime_pooling_allocation_config_total_component_instances_set(pool,
	    1);
	wasmtime_pooling_allocation_config_total_core_instances_set(pool,
	    insts);
	wasmtime_pooling_allocation_config_max_core_instances_per_component_set(
	    pool, insts);
	wasmtime_pooling_allocation_config_total_memories_set(pool,
	    CAPSULE_MEMORIES);
	wasmtime_pooling_allocation_config_max_memories_per_module_set(pool,
	    CAPSULE_MEMORIES);
	wasmtime_pooling_allocation_config_max_memories_per_component_set(pool,
	    CAPSULE_MEMORIES);
	wasmtime_pooling_allocation_config_total_tables_set(pool, tables);
	wasmtime_pooling_allocation_config_max_tables_per_module_set(pool,
	    tables);
	wasmtime_pooling_allocation_config_max_tables_per_component_set(pool,
	    tables);
	wasmtime_pooling_allocation_config_table_elements_set(pool,
	    CAPSULE_TABLE_ELEMS);
	wasmtime_pooling_allocation_config_max_memory_size_set(pool,
	    (size_t)memory);
	wasmtime_pooling_allocation_config_total_stacks_set(pool, 1);
	wasmtime_pooling_allocation_strategy_set(cfg, pool);
	wasmtime_pooling_allocation_config_delete(pool);
	return wasm_engine_new_with_config(cfg);
}

static uint64_t
capsule_memory_size(wasmtime_context_t *ctx, const wasmtime_instance_t *inst)
{
	wasmtime_extern_t ext;
	uint64_t size = 0;

	if (!wasmtime_instance_export_get(ctx, inst, "memory", 6, &ext))
		return 0;
	if (ext.kind == WASMTIME_EXTERN_MEMORY)
		size = wasmtime_memory_data_size(ctx, &ext.of.memory);
	wasmtime_extern_delete(&ext);
	return size;
}

/* compiling: the deadline came before the module was compiled, so it was
 * not cached either and every run with this timeout would end the same. */
static void
capsule_timeout_message(struct capsule_result *r, unsigned ms, int compiling)
{
	const char *why = compiling ? " (the module was still compiling; "
	    "a compiled module is cached, so give its first run a longer "
	    "timeout)" : "";

	if (ms % 1000 == 0)
		snprintf(r->message, sizeof(r->message), "timeout after %us%s",
		    ms / 1000, why);
	else
		snprintf(r->message, sizeof(r->message), "timeout after %ums%s",
		    ms, why);
}

/* Length of the first line of a wasmtime message (maybe not NUL-ended). */
static int
capsule_line(const wasm_message_t *msg)
{
	size_t n = 0;

	while (n < msg->size && n < 120 && msg->data[n] != '\n' &&
	    msg->data[n] != '\0')
		n++;
	return (int)n;
}

/* Whether the message at p (n bytes) starts with the string s. */
static int
capsule_starts(const char *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && memcmp(p, s, k) == 0;
}

/*
 * Sorts how the program stopped. ret is what it returned when neither e
 * nor trap is set (a component's run can return err, which is 1). A
 * component's trap is an error, not a wasm_trap_t, so its kind is read
 * from the "wasm trap: " line of the message. A failed memory.grow is
 * invisible to the host (the guest's malloc just returns NULL), so a
 * program that failed with its memory within a sixteenth (at least 1 MiB)
 * of the limit is reported as having hit it.
 */
static void
capsule_classify(struct capsule_result *r, const struct capsule_spec *spec,
    uint64_t memory, wasmtime_error_t *e, wasm_trap_t *trap, int ret,
    int timed_out)
{
	static const char wasm_trap[] = "wasm trap: ";
	wasmtime_trap_code_t code;
	wasm_message_t msg;
	uint64_t slack = memory / 16;
	const char *wt = NULL;
	size_t left = 0;
	int status, full, have_msg = 0;

	if (slack < (1u << 20))
		slack = 1u << 20;
	full = r->peak_memory + slack > memory;
	r->exit_code = -1;
	r->stop = CAPSULE_TRAP;
	if (e == NULL && trap == NULL) {
		r->stop = CAPSULE_EXITED;
		r->exit_code = ret & 0xff;
	} else if (e != NULL && wasmtime_error_exit_status(e, &status)) {
		r->stop = CAPSULE_EXITED;
		r->exit_code = status & 0xff;
	} else if (timed_out) {
		r->stop = CAPSULE_TIMEOUT;
	} else if (trap != NULL && wasmtime_trap_code(trap, &code)) {
		if (code == WASMTIME_TRAP_CODE_OUT_OF_FUEL)
			r->stop = CAPSULE_FUEL;
		else if (code == WASMTIME_TRAP_CODE_STACK_OVERFLOW)
			r->stop = CAPSULE_STACK;
	} else if (trap == NULL) {
		wasmtime_error_message(e, &msg);
		have_msg = 1;
		if ((wt = memmem(msg.data, msg.size, wasm_trap,
		    sizeof(wasm_trap) - 1)) != NULL) {
			left = msg.size - (size_t)(wt - msg.data);
			if (capsule_starts(wt, left, "wasm trap: all fuel "
			    "consumed"))
				r->stop = CAPSULE_FUEL;
			else if (capsule_starts(wt, left, "wasm trap: call "
			    "stack exhausted"))
				r->stop = CAPSULE_STACK;
		}
	}
	if ((r->stop == CAPSULE_TRAP || (r->stop == CAPSULE_EXITED &&
	    r->exit_code != 0)) && full)
		r->stop = CAPSULE_MEMORY;
	switch (r->stop) {
	case CAPSULE_EXITED:
		if (r->exit_code != 0)
			snprintf(r->message, sizeof(r->message),
			    "exited with status %d", r->exit_code);
		break;
	case CAPSULE_TIMEOUT:
		capsule_timeout_message(r, spec->timeout_ms, 0);
		break;
	case CAPSULE_FUEL:
		snprintf(r->message, sizeof(r->message), "out of fuel "
		    "(%llu units)", (unsigned long long)spec->fuel);
		break;
	case CAPSULE_MEMORY:
		snprintf(r->message, sizeof(r->message), "memory limit %llu "
		    "MiB reached", (unsigned long long)(memory >> 20));
		break;
	case CAPSULE_STACK:
		snprintf(r->message, sizeof(r->message), "stack overflow");
		break;
	case CAPSULE_TRAP:
		if (wt != NULL) {
			wasm_message_t line = { left, (char *)wt };

			snprintf(r->message, sizeof(r->message), "trap: %.*s",
			    capsule_line(&line), wt);
			break;
		}
		if (have_msg)
			wasm_byte_vec_delete(&msg);
		have_msg = 1;
		if (trap != NULL)
			wasm_trap_message(trap, &msg);
		else
			wasmtime_error_message(e, &msg);
		/* First line only: the rest is a wasm backtrace. */
		snprintf(r->message, sizeof(r->message), "%s: %.*s",
		    trap != NULL ? "trap" : "failed", capsule_line(&msg),
		    msg.data);
		break;
	}
	if (have_msg)
		wasm_byte_vec_delete(&msg);
}

/* ---- preview 2 components ------------------------------------------- */

/*
 * Every call that would make a socket or resolve a name returns
 * err(access-denied), whatever the WASI context allows. wasmtime 48's
 * context refuses them too (TCP, UDP and name lookup default to off, and
 * no address passes the default socket_addr_check), but its documentation
 * says TCP and UDP are on by default, so that is not relied upon alone.
 * A borrowed argument (resolve-addresses' network) must be released
 * before returning, or wasmtime fails the call.
 */
static wasmtime_error_t *
capsule_no_socket(void *data, wasmtime_context_t *ctx,
    const wasmtime_component_func_type_t *ty, wasmtime_component_val_t *args,
    size_t nargs, wasmtime_component_val_t *res, size_t nres)
{
	wasmtime_component_val_t code;
	wasmtime_error_t *e;
	size_t i;

	(void)data;
	(void)ty;
	for (i = 0; i < nargs; i++)
		if (args[i].kind == WASMTIME_COMPONENT_RESOURCE &&
		    (e = wasmtime_component_resource_any_drop(ctx,
		    args[i].of.resource)) != NULL)
			return e;
	if (nres != 1)
		return wasmtime_error_new("sockets are denied in the capsule");
	code.kind = WASMTIME_COMPONENT_ENUM;
	wasm_name_new_from_string(&code.of.enumeration, "access-denied");
	res[0].kind = WASMTIME_COMPONENT_RESULT;
	res[0].of.result.is_ok = false;
	res[0].of.result.val = wasmtime_component_val_new(&code);
	return NULL;
}

static int
capsule_deny_sockets(wasmtime_component_linker_t *linker, struct buf *err)
{
	static const char *const fns[][2] = {
		{ "wasi:sockets/tcp-create-socket@0.2.12", "create-tcp-socket" },
		{ "wasi:sockets/udp-create-socket@0.2.12", "create-udp-socket" },
		{ "wasi:sockets/ip-name-lookup@0.2.12", "resolve-addresses" },
	};
	wasmtime_component_linker_instance_t *root, *li;
	wasmtime_error_t *e = NULL;
	size_t i;

	/* Replaces what add_wasip2 defined under these exact names; a
	 * component importing an older 0.2.x reaches them by semver. */
	wasmtime_component_linker_allow_shadowing(linker, true);
	root = wasmtime_component_linker_root(linker);
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]) && e == NULL; i++) {
		if ((e = wasmtime_component_linker_instance_add_instance(root,
		    fns[i][0], strlen(fns[i][0]), &li)) != NULL)
			break;
		e = wasmtime_component_linker_instance_add_func(li, fns[i][1],
		    strlen(fns[i][1]), capsule_no_socket, NULL, NULL);
		wasmtime_component_linker_instance_delete(li);
	}
	wasmtime_component_linker_instance_delete(root);
	wasmtime_component_linker_allow_shadowing(linker, false);
	if (e != NULL) {
		buf_puts(err, "cannot deny sockets: ");
		capsule_errmsg(e, err);
		return WARD_ESYS;
	}
	return 0;
}

/* Whether the /proc/self/maps line at p names no file. */
static int
capsule_anonymous(const char *p)
{
	int n = 0;

	if (sscanf(p, "%*s %*s %*s %*s %*s %n", &n) != 0 || n == 0)
		return 0;
	return p[n] == '\0' || p[n] == '\n';
}

/*
 * The linear memory of a component, which the C API does not reach:
 * wasmtime 48 reserves a 32 MiB guard, then 4 GiB, then a 32 MiB guard of
 * PROT_NONE address space for a 32-bit memory and makes the start of the
 * 4 GiB read-write as the memory grows (the initial image may be a private
 * mapping of its own). So the memory is a run of adjacent rw-p mappings
 * between two anonymous ---p ones, the run and the one after spanning 4
 * GiB and the guard (some slack for a PROT_NONE neighbour that the kernel
 * merges in; ASan's shadow regions, far larger, do not pass). The largest
 * such run is taken (the capsule allows one memory); 0 when none is found,
 * which only weakens the "memory limit reached" diagnosis.
 */
#define CAPSULE_P2_RESERVED	(1ULL << 32)
#define CAPSULE_P2_SLACK	(256ULL << 20)

static uint64_t
capsule_p2_memory(void)
{
	unsigned long lo, hi, prev_hi = 0, run_lo = 0, run_hi = 0;
	uint64_t best = 0;
	char *line = NULL, perms[5];
	size_t cap = 0;
	int in_run = 0, guarded = 0, prev_guard = 0;
	FILE *f;

	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return 0;
	while (getline(&line, &cap, f) != -1) {
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3) {
			in_run = prev_guard = 0;
			continue;
		}
		if (strcmp(perms, "rw-p") == 0) {
			if (!in_run || lo != run_hi) {
				run_lo = lo;
				guarded = prev_guard && prev_hi == lo;
			}
			run_hi = hi;
			in_run = 1;
			prev_guard = 0;
			prev_hi = hi;
			continue;
		}
		prev_guard = strcmp(perms, "---p") == 0 &&
		    capsule_anonymous(line);
		if (in_run && guarded && prev_guard && lo == run_hi &&
		    hi - run_lo >= CAPSULE_P2_RESERVED &&
		    hi - run_lo <= CAPSULE_P2_RESERVED + CAPSULE_P2_SLACK &&
		    run_hi - run_lo > best)
			best = run_hi - run_lo;
		in_run = 0;
		prev_hi = hi;
	}
	free(line);
	fclose(f);
	return best;
}

/*
 * Instantiates the component and calls its wasi:cli/run. *ep is the
 * outcome of the run (NULL: it returned, *status says ok or err); a
 * component that cannot run is an error with a message.
 */
static int
capsule_go_component(wasm_engine_t *engine, wasmtime_context_t *ctx,
    const struct capsule_spec *spec, const struct capsule_prog *prog,
    wasmtime_error_t **ep, int *status, struct buf *err)
{
	wasmtime_component_linker_t *linker;
	wasmtime_component_instance_t inst;
	wasmtime_component_export_index_t *iface = NULL, *run = NULL;
	wasmtime_component_func_t fn;
	wasmtime_component_val_t res;
	wasmtime_error_t *e;
	int rc = 0, code;

	*ep = NULL;
	*status = 0;
	linker = wasmtime_component_linker_new(engine);
	if ((e = wasmtime_component_linker_add_wasip2(linker)) != NULL) {
		buf_puts(err, "cannot link WASI: ");
		capsule_errmsg(e, err);
		rc = WARD_ESYS;
		goto out;
	}
	if ((rc = capsule_deny_sockets(linker, err)) != 0)
		goto out;
	if ((e = wasmtime_component_linker_instantiate(linker, ctx, prog->comp,
	    &inst)) != NULL) {
		/* A start function may have exited already. */
		if (wasmtime_error_exit_status(e, &code)) {
			*ep = e;
			goto out;
		}
		buf_printf(err, "cannot instantiate %s: ", spec->module);
		capsule_errmsg(e, err);
		rc = WARD_EINVAL;
		goto out;
	}
	iface = wasmtime_component_instance_get_export_index(&inst, ctx, NULL,
	    prog->run, strlen(prog->run));
	if (iface != NULL)
		run = wasmtime_component_instance_get_export_index(&inst, ctx,
		    iface, "run", 3);
	if (run == NULL ||
	    !wasmtime_component_instance_get_func(&inst, ctx, run, &fn)) {
		buf_printf(err, "%s exports no %s run function", spec->module,
		    prog->run);
		rc = WARD_EINVAL;
		goto out;
	}
	memset(&res, 0, sizeof(res));
	if ((*ep = wasmtime_component_func_call(&fn, ctx, NULL, 0, &res,
	    1)) == NULL) {
		/* run returned err: a failure the program reported itself. */
		if (res.kind != WASMTIME_COMPONENT_RESULT ||
		    !res.of.result.is_ok)
			*status = 1;
		wasmtime_component_val_delete(&res);
	}
out:
	if (run != NULL)
		wasmtime_component_export_index_delete(run);
	if (iface != NULL)
		wasmtime_component_export_index_delete(iface);
	wasmtime_component_linker_delete(linker);
	return rc;
}

/* ---- preview 1 modules ------------------------------------------------ */

/* Instantiates the module and calls its _start; like capsule_go_component,
 * and *mem is its memory at the end. */
static int
capsule_go_module(wasm_engine_t *engine, wasmtime_context_t *ctx,
    const struct capsule_spec *spec, const struct capsule_prog *prog,
    wasmtime_error_t **ep, wasm_trap_t **trap, uint64_t *mem,
    struct buf *err)
{
	wasmtime_linker_t *linker;
	wasmtime_instance_t inst;
	wasmtime_extern_t start;
	wasmtime_error_t *e;
	int rc = 0, status;

	*ep = NULL;
	*trap = NULL;
	*mem = 0;
	linker = wasmtime_linker_new(engine);
	if ((e = wasmtime_linker_define_wasi(linker)) != NULL) {
		buf_puts(err, "cannot link WASI: ");
		capsule_errmsg(e, err);
		rc = WARD_ESYS;
		goto out;
	}
	e = wasmtime_linker_instantiate(linker, ctx, prog->mod, &inst, trap);
	if (e != NULL || *trap != NULL) {
		if (e != NULL && !wasmtime_error_exit_status(e, &status)) {
			/* Instantiation refused: a limit or a missing import. */
			buf_printf(err, "cannot instantiate %s: ",
			    spec->module);
			capsule_errmsg(e, err);
			rc = WARD_EINVAL;
			goto out;
		}
		*ep = e;
		goto out;
	}
	if (!wasmtime_instance_export_get(ctx, &inst, "_start", 6, &start))
		start.kind = WASMTIME_EXTERN_GLOBAL;
	else if (start.kind != WASMTIME_EXTERN_FUNC)
		wasmtime_extern_delete(&start);
	if (start.kind != WASMTIME_EXTERN_FUNC) {
		buf_printf(err, "%s exports no _start function", spec->module);
		rc = WARD_EINVAL;
		goto out;
	}
	*ep = wasmtime_func_call(ctx, &start.of.func, NULL, 0, NULL, 0, trap);
	wasmtime_extern_delete(&start);
	*mem = capsule_memory_size(ctx, &inst);
out:
	wasmtime_linker_delete(linker);
	return rc;
}

/* ---- one run ---------------------------------------------------------- */

/*
 * In the child: runs spec (defaults already applied) with the deadline at,
 * streaming the guest's output to fd. Returns like capsule_run; r holds
 * no output.
 */
static int
capsule_exec(const struct capsule_spec *spec0, const struct timespec *at,
    int fd, struct capsule_result *r, struct buf *err)
{
	struct capsule_spec spec = *spec0;
	struct capsule_sink out, errs;
	struct capsule_timer timer;
	struct capsule_prog prog;
	struct buf wasm;
	wasm_engine_t *engine = NULL;
	wasmtime_store_t *store = NULL;
	wasmtime_context_t *ctx;
	wasi_config_t *wasi = NULL;
	wasmtime_error_t *e = NULL, *fe;
	wasm_trap_t *trap = NULL;
	uint64_t t0, mem = 0, left = 0;
	unsigned char cached;
	int rc, status = 0, timer_on = 0, timed_out = 0;

	memset(&prog, 0, sizeof(prog));
	buf_init(&wasm, CAPSULE_MODULE_MAX);
	if (sodium_init() < 0) {
		rc = WARD_ESYS;
		goto out;
	}
	if ((rc = capsule_read_module(spec.module, &wasm, err)) != 0 ||
	    (rc = capsule_check_magic(spec.module, &wasm, &prog, err)) != 0)
		goto out;
	if ((engine = capsule_engine(prog.component,
	    spec.memory)) == NULL) {
		buf_puts(err, "cannot create the wasm engine");
		rc = WARD_ESYS;
		goto out;
	}
	if ((rc = capsule_load(engine, &spec, &wasm, &prog, &r->from_cache,
	    err)) != 0)
		goto out;
	buf_free(&wasm);
	cached = (unsigned char)r->from_cache;
	if (capsule_send(fd, CAPSULE_F_LOADED, &cached, 1) != 0 ||
	    capsule_child_limit(RLIMIT_DATA, spec.memory +
	    CAPSULE_RUN_OVERHEAD + spec.stdin_len) != 0) {
		rc = WARD_ESYS;
		goto out;
	}
	if ((rc = prog.component ? capsule_check_world(engine, &prog,
	    spec.module, err) : capsule_check_shape(prog.mod, spec.module,
	    err)) != 0)
		goto out;
	memset(&out, 0, sizeof(out));
	memset(&errs, 0, sizeof(errs));
	out.fd = errs.fd = fd;
	out.type = CAPSULE_F_OUT;
	errs.type = CAPSULE_F_ERR;
	out.max = errs.max = spec.output_max;
	if ((rc = capsule_wasi(&spec, &out, &errs, &wasi, err)) != 0)
		goto out;
	store = wasmtime_store_new(engine, NULL, NULL);
	ctx = wasmtime_store_context(store);
	wasmtime_store_limiter(store, (int64_t)spec.memory,
	    CAPSULE_TABLE_ELEMS, prog.component ? CAPSULE_P2_INSTANCES :
	    CAPSULE_INSTANCES, prog.component ? CAPSULE_P2_TABLES :
	    CAPSULE_TABLES, CAPSULE_MEMORIES);
	/* The store owns the WASI config from here on; a component reaches
	 * the same context through WASI 0.2. */
	e = wasmtime_context_set_wasi(ctx, wasi);
	wasi = NULL;
	if (e != NULL || (e = wasmtime_context_set_fuel(ctx, spec.fuel)) !=
	    NULL) {
		buf_puts(err, "cannot set up the store: ");
		capsule_errmsg(e, err);
		e = NULL;
		rc = WARD_ESYS;
		goto out;
	}
	wasmtime_context_set_epoch_deadline(ctx, 1);
	if ((rc = capsule_timer_start(&timer, engine, at)) != 0) {
		buf_puts(err, "cannot start the deadline thread");
		goto out;
	}
	timer_on = 1;
	t0 = capsule_now_us();
	if (prog.component) {
		rc = capsule_go_component(engine, ctx, &spec, &prog, &e,
		    &status, err);
		mem = capsule_p2_memory();
	} else
		rc = capsule_go_module(engine, ctx, &spec, &prog, &e, &trap,
		    &mem, err);
	if (rc != 0)
		goto out;
	r->duration_us = capsule_now_us() - t0;
	timed_out = capsule_timer_stop(&timer);
	timer_on = 0;
	if ((fe = wasmtime_context_get_fuel(ctx, &left)) != NULL)
		wasmtime_error_delete(fe);
	else if (left <= spec.fuel)
		r->fuel_consumed = spec.fuel - left;
	r->peak_memory = mem;
	capsule_classify(r, &spec, spec.memory, e, trap, status, timed_out);
	r->out_truncated = out.truncated;
	r->err_truncated = errs.truncated;
	rc = 0;
out:
	if (timer_on)
		(void)capsule_timer_stop(&timer);
	if (e != NULL)
		wasmtime_error_delete(e);
	if (trap != NULL)
		wasm_trap_delete(trap);
	if (wasi != NULL)
		wasi_config_delete(wasi);
	if (store != NULL)
		wasmtime_store_delete(store);
	if (prog.mod != NULL)
		wasmtime_module_delete(prog.mod);
	if (prog.comp != NULL)
		wasmtime_component_delete(prog.comp);
	if (engine != NULL)
		wasm_engine_delete(engine);
	buf_free(&wasm);
	return rc;
}

/* ---- the child ---------------------------------------------------------- */

/* Sets the soft limit; the hard one stays where the child's start put it. */
static int
capsule_child_limit(int resource, uint64_t soft)
{
	struct rlimit rl;

#ifdef CAPSULE_NO_DATA_LIMIT
	if (resource == RLIMIT_DATA)
		return 0;
#endif
	if (getrlimit(resource, &rl) == -1)
		return WARD_ESYS;
	rl.rlim_cur = soft < rl.rlim_max ? soft : rl.rlim_max;
	return setrlimit(resource, &rl) == -1 ? WARD_ESYS : 0;
}

static int
capsule_child_limits(const struct capsule_spec *spec)
{
	struct rlimit rl;

	(void)spec;	/* unused when CAPSULE_NO_DATA_LIMIT */
	/* No core file of a guest's memory or of the spec's stdin. */
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		return WARD_ESYS;
	/*
	 * No RLIMIT_CPU: it counts the CPU time of all threads, and wasmtime
	 * compiles on several, so any bound derived from the timeout could
	 * stop a compile before the wall-clock deadline and pass it off as a
	 * timeout. The caller's SIGKILL at the deadline, and PDEATHSIG if the
	 * caller dies, already bound the child's life.
	 */
#ifndef CAPSULE_NO_DATA_LIMIT
	rl.rlim_cur = CAPSULE_COMPILE_MEMORY;
	rl.rlim_max = spec->memory + CAPSULE_RUN_OVERHEAD + spec->stdin_len;
	if (rl.rlim_max < CAPSULE_COMPILE_MEMORY)
		rl.rlim_max = CAPSULE_COMPILE_MEMORY;
	if (setrlimit(RLIMIT_DATA, &rl) == -1)
		return WARD_ESYS;
#endif
	return 0;
}

/* ---- the spec on the wire ----------------------------------------------- */

/* Strings go with their NUL; NULL is the length UINT64_MAX. */
static int
capsule_put(struct buf *b, const void *p, size_t n, int str)
{
	uint64_t len = p == NULL ? UINT64_MAX : (uint64_t)n + (str != 0);

	if (buf_add(b, &len, sizeof(len)) != 0)
		return WARD_ETOOBIG;
	if (p != NULL && (buf_add(b, p, n) != 0 ||
	    (str && buf_add(b, "", 1) != 0)))
		return WARD_ETOOBIG;
	return 0;
}

static int
capsule_put_u64(struct buf *b, uint64_t v)
{
	return buf_add(b, &v, sizeof(v)) != 0 ? WARD_ETOOBIG : 0;
}

static int
capsule_put_str(struct buf *b, const char *s)
{
	return capsule_put(b, s, s != NULL ? strlen(s) : 0, 1);
}

static int
capsule_encode(const struct capsule_spec *spec, const struct timespec *at,
    struct buf *b)
{
	size_t i;
	int rc = 0;

	rc |= capsule_put_u64(b, (uint64_t)getpid());
	rc |= capsule_put_u64(b, (uint64_t)at->tv_sec);
	rc |= capsule_put_u64(b, (uint64_t)at->tv_nsec);
	rc |= capsule_put_u64(b, spec->fuel);
	rc |= capsule_put_u64(b, spec->memory);
	rc |= capsule_put_u64(b, spec->timeout_ms);
	rc |= capsule_put_u64(b, spec->output_max);
	rc |= capsule_put_str(b, spec->module);
	rc |= capsule_put_str(b, spec->cache_dir);
	rc |= capsule_put(b, spec->stdin_data, spec->stdin_len, 0);
	rc |= capsule_put_u64(b, spec->argc);
	for (i = 0; i < spec->argc; i++)
		rc |= capsule_put_str(b, spec->argv[i]);
	rc |= capsule_put_u64(b, spec->nenv);
	for (i = 0; i < spec->nenv; i++)
		rc |= capsule_put_str(b, spec->env[i]);
	rc |= capsule_put_u64(b, spec->ndirs);
	for (i = 0; i < spec->ndirs; i++) {
		rc |= capsule_put_str(b, spec->dirs[i].host);
		rc |= capsule_put_str(b, spec->dirs[i].guest);
		rc |= capsule_put_u64(b, spec->dirs[i].writable != 0);
	}
	return rc != 0 ? WARD_ETOOBIG : 0;
}

/* A cursor over the spec; any short or malformed field sets bad. */
struct capsule_rd {
	const char	*p;
	size_t		 left;
	int		 bad;
};

static uint64_t
capsule_get_u64(struct capsule_rd *rd)
{
	uint64_t v = 0;

	if (rd->left < sizeof(v)) {
		rd->bad = 1;
		return 0;
	}
	memcpy(&v, rd->p, sizeof(v));
	rd->p += sizeof(v);
	rd->left -= sizeof(v);
	return v;
}

/* Returns the bytes (NULL for NULL or on error); a string must end at its
 * one NUL. */
static const char *
capsule_get(struct capsule_rd *rd, size_t *n, int str)
{
	uint64_t len = capsule_get_u64(rd);
	const char *p = rd->p;

	*n = 0;
	if (rd->bad || len == UINT64_MAX)
		return NULL;
	if (len > rd->left || (str && (len == 0 || memchr(p, '\0', len) !=
	    p + len - 1))) {
		rd->bad = 1;
		return NULL;
	}
	rd->p += len;
	rd->left -= len;
	*n = (size_t)len;
	return p;
}

static const char *
capsule_get_str(struct capsule_rd *rd)
{
	size_t n;

	return capsule_get(rd, &n, 1);
}

/* A count of entries, each at least 8 bytes long. */
static size_t
capsule_get_count(struct capsule_rd *rd)
{
	uint64_t n = capsule_get_u64(rd);

	if (n > rd->left / 8) {
		rd->bad = 1;
		return 0;
	}
	return (size_t)n;
}

/* Parses the spec in b; the arrays it allocates are freed by the caller. */
static int
capsule_decode(const struct buf *b, struct capsule_spec *spec,
    struct timespec *at, pid_t *ppid)
{
	struct capsule_rd rd = { b->data, b->len, 0 };
	const char **argv = NULL, **env = NULL;
	struct capsule_dir *dirs = NULL;
	size_t i;

	memset(spec, 0, sizeof(*spec));
	*ppid = (pid_t)capsule_get_u64(&rd);
	at->tv_sec = (time_t)capsule_get_u64(&rd);
	at->tv_nsec = (long)capsule_get_u64(&rd);
	spec->fuel = capsule_get_u64(&rd);
	spec->memory = capsule_get_u64(&rd);
	spec->timeout_ms = (unsigned)capsule_get_u64(&rd);
	spec->output_max = (size_t)capsule_get_u64(&rd);
	spec->module = capsule_get_str(&rd);
	spec->cache_dir = capsule_get_str(&rd);
	spec->stdin_data = capsule_get(&rd, &spec->stdin_len, 0);
	spec->argc = capsule_get_count(&rd);
	if (rd.bad || spec->module == NULL ||
	    (argv = calloc(spec->argc + 1, sizeof(*argv))) == NULL)
		goto bad;
	for (i = 0; i < spec->argc; i++)
		if ((argv[i] = capsule_get_str(&rd)) == NULL)
			goto bad;
	spec->argv = argv;
	spec->nenv = capsule_get_count(&rd);
	if (rd.bad || (env = calloc(spec->nenv + 1, sizeof(*env))) == NULL)
		goto bad;
	for (i = 0; i < spec->nenv; i++)
		if ((env[i] = capsule_get_str(&rd)) == NULL)
			goto bad;
	spec->env = env;
	spec->ndirs = capsule_get_count(&rd);
	if (rd.bad || (dirs = calloc(spec->ndirs + 1, sizeof(*dirs))) == NULL)
		goto bad;
	for (i = 0; i < spec->ndirs; i++) {
		dirs[i].host = capsule_get_str(&rd);
		dirs[i].guest = capsule_get_str(&rd);
		dirs[i].writable = capsule_get_u64(&rd) != 0;
		if (dirs[i].host == NULL)
			goto bad;
	}
	spec->dirs = dirs;
	if (rd.bad || rd.left != 0 || at->tv_nsec < 0 ||
	    at->tv_nsec >= 1000000000L)
		goto bad;
	return 0;
bad:
	free(argv);
	free(env);
	free(dirs);
	memset(spec, 0, sizeof(*spec));
	return WARD_EPROTO;
}

int
capsule_child_main(void)
{
	struct capsule_spec spec;
	struct capsule_result r;
	struct capsule_wire w;
	struct timespec at;
	struct buf in, err, msg;
	char chunk[65536];
	pid_t ppid;
	ssize_t n;
	int32_t code;
	int rc, ret = CAPSULE_EXIT_SYSERR;

	memset(&spec, 0, sizeof(spec));
	memset(&r, 0, sizeof(r));
	buf_init(&in, CAPSULE_SPEC_MAX);
	buf_init(&err, 0);
	buf_init(&msg, 4096);
	/* The caller may be gone before this; then the ppid check says so. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		goto out;
	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || buf_add(&in, chunk, (size_t)n) != 0)
			goto out;
	}
	if (capsule_decode(&in, &spec, &at, &ppid) != 0 ||
	    getppid() != ppid || capsule_child_limits(&spec) != 0)
		goto out;
	rc = capsule_exec(&spec, &at, STDOUT_FILENO, &r, &err);
	if (rc != 0) {
		code = rc;
		if (buf_add(&msg, &code, sizeof(code)) != 0 ||
		    buf_add(&msg, err.data ? err.data : "",
		    err.data ? (err.len < 4000 ? err.len : 4000) : 0) != 0 ||
		    capsule_send(STDOUT_FILENO, CAPSULE_F_FAIL, msg.data,
		    msg.len) != 0)
			goto out;
	} else {
		memset(&w, 0, sizeof(w));
		w.stop = (int32_t)r.stop;
		w.exit_code = r.exit_code;
		w.out_truncated = r.out_truncated;
		w.err_truncated = r.err_truncated;
		w.from_cache = r.from_cache;
		w.fuel_consumed = r.fuel_consumed;
		w.peak_memory = r.peak_memory;
		w.duration_us = r.duration_us;
		memcpy(w.message, r.message, sizeof(w.message));
		if (capsule_send(STDOUT_FILENO, CAPSULE_F_RESULT, &w,
		    sizeof(w)) != 0)
			goto out;
	}
	ret = 0;
out:
	free((void *)spec.argv);
	free((void *)spec.env);
	free((void *)spec.dirs);
	capsule_result_clear(&r);
	buf_free(&in);
	buf_free(&err);
	buf_free(&msg);
	return ret;
}

/* ---- the caller ----------------------------------------------------------- */

static int64_t
capsule_ms_until(const struct timespec *at)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(at->tv_sec - now.tv_sec) * 1000 +
	    (at->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * Reads exactly n bytes from the child, killing it once kill_at passes
 * (after that it waits for the EOF its death brings). Returns 0, or 1 at
 * EOF (the bytes are incomplete), or WARD_EIO.
 */
static int
capsule_recv(int fd, pid_t pid, const struct timespec *kill_at,
    struct capsule_heard *h, void *p, size_t n)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char *c = p;
	int64_t ms;
	ssize_t k;
	int pr;

	while (n > 0) {
		ms = -1;
		if (!h->killed && (ms = capsule_ms_until(kill_at)) <= 0) {
			kill(pid, SIGKILL);
			h->killed = 1;
			ms = -1;
		}
		if ((pr = poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX :
		    (int)ms)) == -1 && errno != EINTR)
			return WARD_EIO;
		if (pr <= 0)
			continue;
		if ((k = read(fd, c, n)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return WARD_EIO;
		}
		if (k == 0)
			return 1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Keeps what fits in b; more than fits is the child's sign of a cut. */
static void
capsule_keep(struct buf *b, int *truncated, const char *p, size_t n)
{
	size_t room = b->max - b->len;

	if (n > room) {
		*truncated = 1;
		n = room;
	}
	if (n > 0 && buf_add(b, p, n) != 0)
		*truncated = 1;
}

/* Reads the child's frames until its pipe closes. */
static int
capsule_listen(int fd, pid_t pid, const struct timespec *kill_at,
    struct capsule_result *r, struct capsule_heard *h, struct buf *err)
{
	unsigned char hdr[8];
	uint32_t len;
	char *p;
	int rc;

	if ((p = malloc(CAPSULE_FRAME_MAX)) == NULL)
		return WARD_ENOMEM;
	for (;;) {
		if ((rc = capsule_recv(fd, pid, kill_at, h, hdr,
		    sizeof(hdr))) != 0)
			break;
		memcpy(&len, hdr + 4, sizeof(len));
		if (len > CAPSULE_FRAME_MAX) {
			rc = WARD_EPROTO;
			break;
		}
		if ((rc = capsule_recv(fd, pid, kill_at, h, p, len)) != 0)
			break;
		switch (hdr[0]) {
		case CAPSULE_F_OUT:
			capsule_keep(&r->out, &r->out_truncated, p, len);
			break;
		case CAPSULE_F_ERR:
			capsule_keep(&r->err, &r->err_truncated, p, len);
			break;
		case CAPSULE_F_LOADED:
			h->loaded = 1;
			r->from_cache = len == 1 && p[0] == 1;
			break;
		case CAPSULE_F_RESULT:
			if (len != sizeof(h->w)) {
				rc = WARD_EPROTO;
				goto out;
			}
			memcpy(&h->w, p, len);
			h->result = 1;
			break;
		case CAPSULE_F_FAIL:
			/* One only: err has no cap of its own. */
			if (len < sizeof(int32_t) || h->failed) {
				rc = WARD_EPROTO;
				goto out;
			}
			memcpy(&h->fail_rc, p, sizeof(int32_t));
			buf_add(err, p + sizeof(int32_t), len - sizeof(int32_t));
			h->failed = 1;
			break;
		default:
			rc = WARD_EPROTO;
			goto out;
		}
	}
out:
	free(p);
	if (rc == WARD_EPROTO)
		buf_puts(err, "the capsule process sent a malformed frame");
	return rc < 0 ? rc : 0;
}

/* Starts /proc/self/exe in its hidden capsule mode on the spec in mfd. */
static int
capsule_spawn(int mfd, int wfd, pid_t *pid)
{
	static char *const envp[] = { NULL };
	char *argv[] = { "ward", "capsule", CAPSULE_CHILD_ARG, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc = WARD_ESYS;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return WARD_ESYS;
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return WARD_ESYS;
	}
	sigemptyset(&none);
	sigfillset(&all);
	/* Descriptors the caller forgot to mark close-on-exec stay behind. */
	if (posix_spawn_file_actions_adddup2(&fa, mfd, STDIN_FILENO) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, wfd, STDOUT_FILENO) != 0 ||
	    posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0 ||
	    posix_spawnattr_setsigmask(&attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &all) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF) != 0)
		goto out;
	if (posix_spawn(pid, "/proc/self/exe", &fa, &attr, argv, envp) == 0)
		rc = 0;
out:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* The spec in a memfd (no pipe to fill, no SIGPIPE), sealed against any
 * change once written: the child reads exactly what was encoded. */
static int
capsule_spec_fd(const struct capsule_spec *spec, const struct timespec *at,
    int *mfd, struct buf *err)
{
	struct buf b;
	int rc;

	*mfd = -1;
	buf_init(&b, CAPSULE_SPEC_MAX);
	if ((rc = capsule_encode(spec, at, &b)) != 0) {
		buf_printf(err, "the arguments, environment and stdin of the "
		    "capsule are over %u MiB", CAPSULE_SPEC_MAX >> 20);
		goto out;
	}
	if ((*mfd = memfd_create("ward-capsule-spec", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1 ||
	    keyfile_write_all(*mfd, b.data, b.len) != 0 ||
	    fcntl(*mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1 ||
	    lseek(*mfd, 0, SEEK_SET) == -1) {
		buf_printf(err, "cannot pass the capsule its spec: %s",
		    strerror(errno));
		rc = WARD_ESYS;
	}
out:
	buf_free(&b);
	if (rc != 0 && *mfd != -1) {
		close(*mfd);
		*mfd = -1;
	}
	return rc;
}

/* Makes sense of the child's end when it sent no result. */
static int
capsule_verdict(const struct capsule_spec *spec, const struct capsule_heard *h,
    int status, struct capsule_result *r, struct buf *err)
{
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	r->exit_code = -1;
	if (h->killed) {
		r->stop = CAPSULE_TIMEOUT;
		capsule_timeout_message(r, spec->timeout_ms, !h->loaded);
		return 0;
	}
	if (!h->loaded && sig != 0) {
		buf_printf(err, "%s could not be compiled: the capsule process "
		    "was killed by signal %d (compiling may use at most %llu "
		    "MiB)", spec->module, sig,
		    (unsigned long long)(CAPSULE_COMPILE_MEMORY >> 20));
		return WARD_ETOOBIG;
	}
	if (!h->loaded) {
		buf_printf(err, "the capsule process failed (status %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return WARD_ESYS;
	}
	r->stop = CAPSULE_TRAP;
	snprintf(r->message, sizeof(r->message), "failed: the capsule "
	    "process died (%s %d)", sig ? "signal" : "status",
	    sig ? sig : WEXITSTATUS(status));
	return 0;
}

int
capsule_run(const struct capsule_spec *spec0, struct capsule_result *r,
    struct buf *err)
{
	struct capsule_spec spec = *spec0;
	struct capsule_heard h;
	struct timespec t0, at, kill_at;
	pid_t pid = -1;
	int rc, status = 0, mfd = -1, p[2] = { -1, -1 };

	memset(r, 0, sizeof(*r));
	memset(&h, 0, sizeof(h));
	if (spec.fuel == 0)
		spec.fuel = CAPSULE_FUEL_DEFAULT;
	if (spec.memory == 0)
		spec.memory = CAPSULE_MEMORY_DEFAULT;
	if (spec.timeout_ms == 0)
		spec.timeout_ms = CAPSULE_TIMEOUT_DEFAULT;
	if (spec.output_max == 0)
		spec.output_max = CAPSULE_OUTPUT_DEFAULT;
	buf_init(&r->out, spec.output_max);
	buf_init(&r->err, spec.output_max);
	if (spec.module == NULL || spec.memory > CAPSULE_MEMORY_MAX ||
	    spec.timeout_ms > CAPSULE_TIMEOUT_MAX ||
	    (spec.argc > 0 && spec.argv == NULL) ||
	    (spec.nenv > 0 && spec.env == NULL) ||
	    (spec.ndirs > 0 && spec.dirs == NULL) ||
	    (spec.stdin_len > 0 && spec.stdin_data == NULL)) {
		buf_puts(err, "invalid capsule limits or arguments");
		return WARD_EINVAL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	at = t0;
	at.tv_sec += spec.timeout_ms / 1000;
	at.tv_nsec += (long)(spec.timeout_ms % 1000) * 1000000L;
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	kill_at = at;
	kill_at.tv_nsec += CAPSULE_GRACE_MS * 1000000L;
	if (kill_at.tv_nsec >= 1000000000L) {
		kill_at.tv_sec++;
		kill_at.tv_nsec -= 1000000000L;
	}
	if ((rc = capsule_spec_fd(&spec, &at, &mfd, err)) != 0)
		goto out;
	if (pipe2(p, O_CLOEXEC) == -1 ||
	    (rc = capsule_spawn(mfd, p[1], &pid)) != 0) {
		buf_printf(err, "cannot start the capsule process: %s",
		    strerror(errno));
		rc = WARD_ESYS;
		goto out;
	}
	/* Only the child holds the write end now: its death is our EOF. */
	close(p[1]);
	p[1] = -1;
	rc = capsule_listen(p[0], pid, &kill_at, r, &h, err);
	if (rc != 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			rc = WARD_ESYS;
			goto out;
		}
	if (rc != 0)
		goto out;
	if (h.failed) {
		rc = h.fail_rc < 0 && h.fail_rc >= WARD_E_LAST ? h.fail_rc :
		    WARD_ESYS;
		goto out;
	}
	if (!h.result) {
		r->duration_us = (uint64_t)(capsule_ms_until(&t0) * -1000);
		rc = capsule_verdict(&spec, &h, status, r, err);
		goto out;
	}
	if (h.w.stop < CAPSULE_EXITED || h.w.stop > CAPSULE_TRAP ||
	    h.w.exit_code < -1 || h.w.exit_code > 255) {
		buf_puts(err, "the capsule process sent a malformed result");
		rc = WARD_ESYS;
		goto out;
	}
	r->stop = (enum capsule_stop)h.w.stop;
	r->exit_code = h.w.exit_code;
	r->out_truncated |= h.w.out_truncated != 0;
	r->err_truncated |= h.w.err_truncated != 0;
	r->fuel_consumed = h.w.fuel_consumed;
	r->peak_memory = h.w.peak_memory;
	r->duration_us = h.w.duration_us;
	memcpy(r->message, h.w.message, sizeof(r->message));
	r->message[sizeof(r->message) - 1] = '\0';
	rc = 0;
out:
	if (mfd != -1)
		close(mfd);
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	return rc;
}

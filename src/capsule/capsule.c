/*
 * The capsule (see capsule.h). One run is one engine, one store and one
 * instance, torn down before returning, so nothing of one program survives
 * into the next. Limits:
 *
 *   - CPU: fuel, and a wall-clock deadline by epoch interruption: a timer
 *     thread bumps the engine's epoch once when the deadline passes, and
 *     the store's epoch deadline is 1, so the guest traps at its next loop
 *     back-edge or function entry.
 *   - memory: the store limiter (memory bytes, instances, tables, table
 *     elements, memories); a memory.grow past it fails in the guest.
 *   - output: stdout and stderr go to capped buffers; the rest is counted
 *     as dropped, never stored.
 *   - reach: WASI preview 1 only, with no inherited environment, argv,
 *     stdio or network; directories are exactly the preopens given.
 *
 * wasmtime's wasi preview 1 is synchronous: a host call that blocks (a read
 * from a FIFO in a granted directory) is not interrupted by the deadline.
 * stdin is therefore handed over as bytes, never as a descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <wasmtime.h>

#include "../lib/artcache.h"
#include "../lib/err.h"
#include "../lib/utf8.h"
#include "capsule.h"

#define CAPSULE_ARTIFACT_MAX	(512u << 20)
#define CAPSULE_WASI		"wasi_snapshot_preview1"
#define CAPSULE_TABLE_ELEMS	100000
#define CAPSULE_INSTANCES	4
#define CAPSULE_TABLES		4
#define CAPSULE_MEMORIES	1
/* Bumped whenever engine settings change, so stale artifacts are ignored. */
#define CAPSULE_CACHE_TAG	"ward-capsule-1;wasmtime-48;fuel;epoch"

/* One captured stream. */
struct capsule_sink {
	struct buf	*b;
	int		*truncated;
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

/* ---- output ----------------------------------------------------------- */

/* Keeps what fits and reports everything as written, so a program that
 * floods its output runs on (until its fuel or time runs out) instead of
 * failing in ways that differ from a real terminal. */
static ptrdiff_t
capsule_write(void *data, const unsigned char *p, size_t n)
{
	struct capsule_sink *s = data;
	size_t room = s->b->max - s->b->len;

	if (n > room) {
		*s->truncated = 1;
		if (room > 0)
			(void)buf_add(s->b, p, room);
	} else if (buf_add(s->b, p, n) != 0)
		*s->truncated = 1;
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

static int
capsule_timer_start(struct capsule_timer *t, wasm_engine_t *engine,
    unsigned ms)
{
	pthread_condattr_t ca;

	memset(t, 0, sizeof(*t));
	t->engine = engine;
	clock_gettime(CLOCK_MONOTONIC, &t->at);
	t->at.tv_sec += ms / 1000;
	t->at.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->at.tv_nsec >= 1000000000L) {
		t->at.tv_sec++;
		t->at.tv_nsec -= 1000000000L;
	}
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

/* Says what a file that is not a core module is, before wasmtime does. */
static int
capsule_check_magic(const char *path, const struct buf *wasm,
    struct buf *err)
{
	static const unsigned char core[8] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };

	if (wasm->len >= 8 && memcmp(wasm->data, core, 8) == 0)
		return 0;
	if (wasm->len >= 8 && memcmp(wasm->data, core, 4) == 0)
		buf_printf(err, "%s is a WebAssembly component (or a newer "
		    "binary format); the capsule runs WASI preview 1 core "
		    "modules", path);
	else
		buf_printf(err, "%s is not a WebAssembly module (no \\0asm "
		    "header)", path);
	return WARD_EINVAL;
}

static int
capsule_load(wasm_engine_t *engine, const struct capsule_spec *spec,
    const struct buf *wasm, wasmtime_module_t **mod, int *from_cache,
    struct buf *err)
{
	char path[4096];
	struct buf art;
	wasmtime_error_t *e;
	int cached;

	*from_cache = 0;
	cached = spec->cache_dir != NULL && artcache_path(spec->cache_dir,
	    "capsule", CAPSULE_CACHE_TAG, wasm->data, wasm->len, path,
	    sizeof(path)) == 0;
	if (cached) {
		buf_init(&art, CAPSULE_ARTIFACT_MAX);
		if (artcache_read(spec->cache_dir, path, &art)) {
			e = wasmtime_module_deserialize(engine,
			    (const uint8_t *)art.data, art.len, mod);
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
	if ((e = wasmtime_module_new(engine, (const uint8_t *)wasm->data,
	    wasm->len, mod)) != NULL) {
		buf_printf(err, "%s is not a valid WebAssembly module: ",
		    spec->module);
		capsule_errmsg(e, err);
		return WARD_EINVAL;
	}
	if (cached) {
		wasm_byte_vec_t bytes;

		if ((e = wasmtime_module_serialize(*mod, &bytes)) == NULL) {
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

static wasm_engine_t *
capsule_engine(void)
{
	wasm_config_t *cfg;

	if ((cfg = wasm_config_new()) == NULL)
		return NULL;
	wasmtime_config_consume_fuel_set(cfg, true);
	wasmtime_config_epoch_interruption_set(cfg, true);
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

/*
 * Sorts how the program stopped. A failed memory.grow is invisible to the
 * host (the guest's malloc just returns NULL), so a program that failed
 * with its memory within a sixteenth (at least 1 MiB) of the limit is
 * reported as having hit it.
 */
static void
capsule_classify(struct capsule_result *r, const struct capsule_spec *spec,
    uint64_t memory, wasmtime_error_t *e, wasm_trap_t *trap, int timed_out)
{
	wasmtime_trap_code_t code;
	wasm_message_t msg;
	uint64_t slack = memory / 16;
	int status, full;

	if (slack < (1u << 20))
		slack = 1u << 20;
	full = r->peak_memory + slack > memory;
	r->exit_code = -1;
	r->stop = CAPSULE_TRAP;
	if (e == NULL && trap == NULL) {
		r->stop = CAPSULE_EXITED;
		r->exit_code = 0;
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
		if (spec->timeout_ms % 1000 == 0)
			snprintf(r->message, sizeof(r->message),
			    "timeout after %us", spec->timeout_ms / 1000);
		else
			snprintf(r->message, sizeof(r->message),
			    "timeout after %ums", spec->timeout_ms);
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
		if (trap != NULL)
			wasm_trap_message(trap, &msg);
		else
			wasmtime_error_message(e, &msg);
		/* First line only: the rest is a wasm backtrace. */
		snprintf(r->message, sizeof(r->message), "%s: %.*s",
		    trap != NULL ? "trap" : "failed", capsule_line(&msg),
		    msg.data);
		wasm_byte_vec_delete(&msg);
		break;
	}
}

int
capsule_run(const struct capsule_spec *spec0, struct capsule_result *r,
    struct buf *err)
{
	struct capsule_spec spec = *spec0;
	struct capsule_sink out, errs;
	struct capsule_timer timer;
	struct buf wasm;
	wasm_engine_t *engine = NULL;
	wasmtime_module_t *mod = NULL;
	wasmtime_linker_t *linker = NULL;
	wasmtime_store_t *store = NULL;
	wasmtime_context_t *ctx;
	wasi_config_t *wasi = NULL;
	wasmtime_instance_t inst;
	wasmtime_extern_t start;
	wasmtime_error_t *e = NULL, *fe;
	wasm_trap_t *trap = NULL;
	uint64_t t0, left = 0;
	int rc, status, timer_on = 0, timed_out = 0, have_inst = 0;

	memset(r, 0, sizeof(*r));
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
	buf_init(&wasm, CAPSULE_MODULE_MAX);
	if (spec.module == NULL || spec.memory > CAPSULE_MEMORY_MAX ||
	    spec.timeout_ms > CAPSULE_TIMEOUT_MAX ||
	    (spec.argc > 0 && spec.argv == NULL) ||
	    (spec.nenv > 0 && spec.env == NULL) ||
	    (spec.ndirs > 0 && spec.dirs == NULL)) {
		buf_puts(err, "invalid capsule limits or arguments");
		rc = WARD_EINVAL;
		goto out;
	}
	if (sodium_init() < 0) {
		rc = WARD_ESYS;
		goto out;
	}
	if ((rc = capsule_read_module(spec.module, &wasm, err)) != 0 ||
	    (rc = capsule_check_magic(spec.module, &wasm, err)) != 0)
		goto out;
	if ((engine = capsule_engine()) == NULL) {
		buf_puts(err, "cannot create the wasm engine");
		rc = WARD_ESYS;
		goto out;
	}
	if ((rc = capsule_load(engine, &spec, &wasm, &mod, &r->from_cache,
	    err)) != 0 ||
	    (rc = capsule_check_shape(mod, spec.module, err)) != 0)
		goto out;
	out.b = &r->out;
	out.truncated = &r->out_truncated;
	errs.b = &r->err;
	errs.truncated = &r->err_truncated;
	if ((rc = capsule_wasi(&spec, &out, &errs, &wasi, err)) != 0)
		goto out;
	linker = wasmtime_linker_new(engine);
	if ((e = wasmtime_linker_define_wasi(linker)) != NULL) {
		buf_puts(err, "cannot link WASI: ");
		capsule_errmsg(e, err);
		e = NULL;
		rc = WARD_ESYS;
		goto out;
	}
	store = wasmtime_store_new(engine, NULL, NULL);
	ctx = wasmtime_store_context(store);
	wasmtime_store_limiter(store, (int64_t)spec.memory,
	    CAPSULE_TABLE_ELEMS, CAPSULE_INSTANCES, CAPSULE_TABLES,
	    CAPSULE_MEMORIES);
	/* The store owns the WASI config from here on. */
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
	if ((rc = capsule_timer_start(&timer, engine, spec.timeout_ms)) != 0) {
		buf_puts(err, "cannot start the deadline thread");
		goto out;
	}
	timer_on = 1;
	t0 = capsule_now_us();
	e = wasmtime_linker_instantiate(linker, ctx, mod, &inst, &trap);
	if (e == NULL && trap == NULL) {
		have_inst = 1;
		if (!wasmtime_instance_export_get(ctx, &inst, "_start", 6,
		    &start))
			start.kind = WASMTIME_EXTERN_GLOBAL;
		else if (start.kind != WASMTIME_EXTERN_FUNC)
			wasmtime_extern_delete(&start);
		if (start.kind != WASMTIME_EXTERN_FUNC) {
			buf_printf(err, "%s exports no _start function",
			    spec.module);
			rc = WARD_EINVAL;
			goto out;
		}
		e = wasmtime_func_call(ctx, &start.of.func, NULL, 0, NULL, 0,
		    &trap);
		wasmtime_extern_delete(&start);
	} else if (e != NULL && !wasmtime_error_exit_status(e, &status)) {
		/* Instantiation refused: a limit or a missing import. */
		buf_printf(err, "cannot instantiate %s: ", spec.module);
		capsule_errmsg(e, err);
		e = NULL;
		rc = WARD_EINVAL;
		goto out;
	}
	r->duration_us = capsule_now_us() - t0;
	timed_out = capsule_timer_stop(&timer);
	timer_on = 0;
	if ((fe = wasmtime_context_get_fuel(ctx, &left)) != NULL)
		wasmtime_error_delete(fe);
	else if (left <= spec.fuel)
		r->fuel_consumed = spec.fuel - left;
	if (have_inst)
		r->peak_memory = capsule_memory_size(ctx, &inst);
	capsule_classify(r, &spec, spec.memory, e, trap, timed_out);
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
	if (linker != NULL)
		wasmtime_linker_delete(linker);
	if (mod != NULL)
		wasmtime_module_delete(mod);
	if (engine != NULL)
		wasm_engine_delete(engine);
	buf_free(&wasm);
	return rc;
}

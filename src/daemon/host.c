/*
 * The wasm host for the agent component (see host.h). Conversions between
 * component values and C live here and nowhere else; each value from the
 * guest is checked for kind and size once, in the v_* helpers, before use.
 * Every string handed to the guest goes through utf8_sanitize because the
 * wasmtime C API aborts the process on invalid UTF-8.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <wasmtime.h>

#include "../lib/artcache.h"
#include "../lib/err.h"
#include "../lib/utf8.h"
#include "host.h"

#define HOST_PKG		"ward:agent/"
#define HOST_VERSION		"@0.1.0"
#define HOST_TICK_MS		10
#define HOST_WASM_MAX		(64u << 20)
#define HOST_ARTIFACT_MAX	(512u << 20)	/* a compiled component */
#define HOST_ARG_MAX		(1u << 20)	/* one string argument */
#define HOST_PATH_MAX		4096
#define HOST_LIST_MAX		10000		/* list elements */
#define HOST_STORE_MAX		(4u << 20)	/* one storage value */
/* Bumped whenever engine settings change, so stale artifacts are ignored. */
#define HOST_CACHE_TAG		"ward-host-1;wasmtime-48;epoch;pooling"

typedef wasmtime_component_val_t val_t;

struct host {
	wasm_engine_t			*engine;
	wasmtime_component_t		*component;
	wasmtime_component_linker_t	*linker;
	struct host_limits		 lim;
	pthread_t			 ticker;
	int				 ticker_on;
	atomic_int			 stop;
	int				 from_cache;
};

struct host_instance {
	struct host			*h;
	wasmtime_store_t		*store;
	wasmtime_context_t		*ctx;
	wasmtime_component_instance_t	 inst;
	const struct host_imports	*imp;
	void				*ictx;
	int				 dead;
	int				 deadline_hit;
	int				 cancel_hit;
};

/* ---- values --------------------------------------------------------- */

static void
v_bytes(val_t *v, const char *p, size_t n)
{
	v->kind = WASMTIME_COMPONENT_STRING;
	wasm_byte_vec_new(&v->of.string, n, p);
}

/*
 * A string for the guest: always valid UTF-8, and always initialised (empty
 * on failure) so a value handed to wasmtime is never garbage. Returns 0 or
 * WARD_ENOMEM.
 */
static int
v_stringn(val_t *v, const char *s, size_t n)
{
	struct buf b;

	if (s == NULL)
		n = 0;
	if (utf8_valid_prefix(s, n) == n) {
		v_bytes(v, n ? s : "", n);
		return 0;
	}
	buf_init(&b, 0);
	if (utf8_sanitize(&b, s, n) != 0) {
		buf_free(&b);
		v_bytes(v, "", 0);
		return WARD_ENOMEM;
	}
	v_bytes(v, b.data, b.len);
	buf_free(&b);
	return 0;
}

static int
v_string(val_t *v, const char *s)
{
	return v_stringn(v, s, s != NULL ? strlen(s) : 0);
}

static void
v_enum(val_t *v, const char *name)
{
	v->kind = WASMTIME_COMPONENT_ENUM;
	wasm_byte_vec_new(&v->of.enumeration, strlen(name), name);
}

static void
v_u32(val_t *v, uint32_t x)
{
	v->kind = WASMTIME_COMPONENT_U32;
	v->of.u32 = x;
}

static void
v_u64(val_t *v, uint64_t x)
{
	v->kind = WASMTIME_COMPONENT_U64;
	v->of.u64 = x;
}

static void
v_bool(val_t *v, int x)
{
	v->kind = WASMTIME_COMPONENT_BOOL;
	v->of.boolean = x != 0;
}

/* Starts a record of n fields; fill them with v_field_at. */
static void
v_record(val_t *v, size_t n)
{
	size_t i;

	v->kind = WASMTIME_COMPONENT_RECORD;
	wasmtime_component_valrecord_new_uninit(&v->of.record, n);
	for (i = 0; i < n; i++) {
		wasm_byte_vec_new_empty(&v->of.record.data[i].name);
		v->of.record.data[i].val.kind = WASMTIME_COMPONENT_BOOL;
		v->of.record.data[i].val.of.boolean = false;
	}
}

static val_t *
v_field_at(val_t *rec, size_t i, const char *name)
{
	wasmtime_component_valrecord_entry_t *e = &rec->of.record.data[i];

	wasm_byte_vec_delete(&e->name);
	wasm_byte_vec_new(&e->name, strlen(name), name);
	return &e->val;
}

/* result<T, E>: moves *payload (may be NULL for `_`) into the result. */
static void
v_result(val_t *v, int ok, val_t *payload)
{
	v->kind = WASMTIME_COMPONENT_RESULT;
	v->of.result.is_ok = ok != 0;
	v->of.result.val = payload != NULL ?
	    wasmtime_component_val_new(payload) : NULL;
}

static void
v_option(val_t *v, val_t *payload)
{
	v->kind = WASMTIME_COMPONENT_OPTION;
	v->of.option = payload != NULL ? wasmtime_component_val_new(payload) :
	    NULL;
}

static const val_t *
v_get_field(const val_t *rec, const char *name)
{
	size_t i, n = strlen(name);

	if (rec->kind != WASMTIME_COMPONENT_RECORD)
		return NULL;
	for (i = 0; i < rec->of.record.size; i++) {
		const wasm_name_t *fn = &rec->of.record.data[i].name;

		if (fn->size == n && memcmp(fn->data, name, n) == 0)
			return &rec->of.record.data[i].val;
	}
	return NULL;
}

/*
 * The one bounds check for strings from the guest: kind, size cap, and no
 * NUL unless allowed (C consumers would silently cut the string there).
 * On success *out is a malloc'd NUL-terminated copy.
 */
static int
v_get_string(const val_t *v, size_t max, int allow_nul, char **out,
    const char *what, struct buf *err)
{
	*out = NULL;
	if (v == NULL || v->kind != WASMTIME_COMPONENT_STRING) {
		buf_printf(err, "argument '%s' is not a string", what);
		return WARD_EINVAL;
	}
	if (v->of.string.size > max) {
		buf_printf(err, "argument '%s' is %zu bytes; the limit is %zu",
		    what, v->of.string.size, max);
		return WARD_ETOOBIG;
	}
	if (!allow_nul && v->of.string.size > 0 &&
	    memchr(v->of.string.data, '\0', v->of.string.size) != NULL) {
		buf_printf(err, "argument '%s' contains a NUL byte", what);
		return WARD_EINVAL;
	}
	if ((*out = malloc(v->of.string.size + 1)) == NULL)
		return WARD_ENOMEM;
	if (v->of.string.size > 0)
		memcpy(*out, v->of.string.data, v->of.string.size);
	(*out)[v->of.string.size] = '\0';
	return 0;
}

static int
v_enum_is(const val_t *v, const char *name)
{
	size_t n = strlen(name);

	return v != NULL && v->kind == WASMTIME_COMPONENT_ENUM &&
	    v->of.enumeration.size == n &&
	    memcmp(v->of.enumeration.data, name, n) == 0;
}

/* ---- errors and deadlines -------------------------------------------- */

static void
host_errmsg(wasmtime_error_t *e, struct buf *err)
{
	wasm_name_t msg;

	wasmtime_error_message(e, &msg);
	buf_add(err, msg.data, msg.size);
	wasm_byte_vec_delete(&msg);
	wasmtime_error_delete(e);
}

static uint64_t
host_ticks(const struct host *h)
{
	return h->lim.step_ms / HOST_TICK_MS + 1;
}

/* Every host call re-arms the deadline: it bounds guest time between two
 * host calls, not the time the host spends (a slow model is not a runaway
 * agent). */
static void
host_rearm(struct host_instance *in)
{
	wasmtime_context_set_epoch_deadline(in->ctx, host_ticks(in->h));
}

/* The message the user sees is made in host_call; this only stops. */
static wasmtime_error_t *
host_deadline(wasmtime_context_t *ctx, void *data, uint64_t *delta,
    wasmtime_update_deadline_kind_t *kind)
{
	struct host_instance *in = data;

	(void)ctx;
	(void)delta;
	(void)kind;
	in->deadline_hit = 1;
	return wasmtime_error_new("agent step deadline reached");
}

static void *
host_tick(void *arg)
{
	struct host *h = arg;
	struct timespec ts = { 0, HOST_TICK_MS * 1000000L };

	while (!atomic_load(&h->stop)) {
		nanosleep(&ts, NULL);
		wasmtime_engine_increment_epoch(h->engine);
	}
	return NULL;
}

/* ---- imports: llm ----------------------------------------------------- */

static struct host_instance *
host_of(wasmtime_context_t *ctx)
{
	return wasmtime_context_get_data(ctx);
}

/* Every import starts here: a cancelled session traps the guest at its
 * next host call, so even a guest looping on console.print stops. */
static wasmtime_error_t *
host_enter(struct host_instance *in)
{
	if (in->imp->cancelled != NULL && in->imp->cancelled(in->ictx)) {
		in->cancel_hit = 1;
		return wasmtime_error_new("session cancelled");
	}
	return NULL;
}

static int
host_model_info(struct host_instance *in, val_t *v)
{
	struct llm_info info;
	int rc = 0;

	memset(&info, 0, sizeof(info));
	in->imp->llm_info(in->ictx, &info);
	v_record(v, 5);
	rc |= v_string(v_field_at(v, 0, "provider"), info.provider);
	rc |= v_string(v_field_at(v, 1, "name"), info.name);
	v_u32(v_field_at(v, 2, "context-length"), info.context_length);
	v_u32(v_field_at(v, 3, "max-tokens"), info.max_tokens);
	v_u64(v_field_at(v, 4, "idle-seconds"), info.idle_seconds);
	return rc ? WARD_ENOMEM : 0;
}

static wasmtime_error_t *
host_llm_info(void *data, wasmtime_context_t *ctx,
    const wasmtime_component_func_type_t *ty, val_t *args, size_t nargs,
    val_t *res, size_t nres)
{
	struct host_instance *in = host_of(ctx);
	wasmtime_error_t *stop;

	if ((stop = host_enter(in)) != NULL)
		return stop;
	(void)data;
	(void)ty;
	(void)args;
	if (nargs != 0 || nres != 1)
		return wasmtime_error_new("llm.info: bad signature");
	if (host_model_info(in, &res[0]) != 0)
		return wasmtime_error_new("out of memory");
	host_rearm(in);
	return NULL;
}

static int
host_get_message(const val_t *v, struct llm_message *m, struct buf *err)
{
	const val_t *role, *calls, *id, *iserr, *pb;
	size_t i;
	int rc;

	memset(m, 0, sizeof(*m));
	role = v_get_field(v, "role");
	if (v_enum_is(role, "user"))
		m->role = LLM_USER;
	else if (v_enum_is(role, "assistant"))
		m->role = LLM_ASSISTANT;
	else if (v_enum_is(role, "tool"))
		m->role = LLM_TOOL;
	else {
		buf_puts(err, "message has no valid role");
		return WARD_EINVAL;
	}
	if ((rc = v_get_string(v_get_field(v, "content"), HOST_WASM_MAX, 1,
	    &m->content, "content", err)) != 0)
		goto out;
	iserr = v_get_field(v, "is-error");
	m->is_error = iserr != NULL && iserr->kind == WASMTIME_COMPONENT_BOOL &&
	    iserr->of.boolean;
	id = v_get_field(v, "tool-call-id");
	if (id != NULL && id->kind == WASMTIME_COMPONENT_OPTION &&
	    id->of.option != NULL && (rc = v_get_string(id->of.option,
	    HOST_PATH_MAX, 0, &m->tool_call_id, "tool-call-id", err)) != 0)
		goto out;
	/* Opaque to ward: the provider checks what comes back (Anthropic
	 * verifies the signatures), and only an assistant's counts. */
	pb = v_get_field(v, "provider-blocks");
	if (m->role == LLM_ASSISTANT && pb != NULL &&
	    pb->kind == WASMTIME_COMPONENT_OPTION && pb->of.option != NULL &&
	    (rc = v_get_string(pb->of.option, HOST_WASM_MAX, 0,
	    &m->provider_blocks, "provider-blocks", err)) != 0)
		goto out;
	calls = v_get_field(v, "tool-calls");
	if (calls == NULL || calls->kind != WASMTIME_COMPONENT_LIST ||
	    calls->of.list.size > HOST_LIST_MAX) {
		buf_puts(err, "message has no valid tool-calls list");
		rc = WARD_EINVAL;
		goto out;
	}
	if (calls->of.list.size > 0 && (m->calls = calloc(calls->of.list.size,
	    sizeof(*m->calls))) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	for (i = 0; i < calls->of.list.size; i++) {
		const val_t *c = &calls->of.list.data[i];
		struct llm_tool_call *tc = &m->calls[m->ncalls++];

		if ((rc = v_get_string(v_get_field(c, "id"), HOST_PATH_MAX, 0,
		    &tc->id, "id", err)) != 0 ||
		    (rc = v_get_string(v_get_field(c, "name"), HOST_PATH_MAX,
		    0, &tc->name, "name", err)) != 0 ||
		    (rc = v_get_string(v_get_field(c, "arguments"),
		    HOST_WASM_MAX, 0, &tc->arguments, "arguments", err)) != 0)
			goto out;
	}
out:
	if (rc != 0)
		llm_message_clear(m);
	return rc;
}

static int
host_put_message(val_t *v, const struct llm_message *m)
{
	static const char *const roles[] = { "user", "assistant", "tool" };
	val_t *calls, id, pb;
	size_t i;
	int rc = 0;

	v_record(v, 6);
	v_enum(v_field_at(v, 0, "role"), roles[m->role]);
	rc |= v_string(v_field_at(v, 1, "content"), m->content);
	calls = v_field_at(v, 2, "tool-calls");
	calls->kind = WASMTIME_COMPONENT_LIST;
	wasmtime_component_vallist_new_uninit(&calls->of.list, m->ncalls);
	for (i = 0; i < m->ncalls; i++) {
		val_t *c = &calls->of.list.data[i];

		v_record(c, 3);
		rc |= v_string(v_field_at(c, 0, "id"), m->calls[i].id);
		rc |= v_string(v_field_at(c, 1, "name"), m->calls[i].name);
		rc |= v_string(v_field_at(c, 2, "arguments"),
		    m->calls[i].arguments);
	}
	if (m->tool_call_id != NULL) {
		rc |= v_string(&id, m->tool_call_id);
		v_option(v_field_at(v, 3, "tool-call-id"), &id);
	} else
		v_option(v_field_at(v, 3, "tool-call-id"), NULL);
	v_bool(v_field_at(v, 4, "is-error"), m->is_error);
	if (m->provider_blocks != NULL) {
		rc |= v_string(&pb, m->provider_blocks);
		v_option(v_field_at(v, 5, "provider-blocks"), &pb);
	} else
		v_option(v_field_at(v, 5, "provider-blocks"), NULL);
	return rc ? WARD_ENOMEM : 0;
}

static wasmtime_error_t *
host_llm_chat(void *data, wasmtime_context_t *ctx,
    const wasmtime_component_func_type_t *ty, val_t *args, size_t nargs,
    val_t *res, size_t nres)
{
	static const char *const stops[] = { "end-turn", "tool-use",
	    "max-tokens", "other" };
	struct host_instance *in = host_of(ctx);
	wasmtime_error_t *stop;
	struct llm_request req;
	struct llm_message *msgs = NULL;
	struct llm_tool_decl *tools = NULL;
	struct llm_reply reply;
	char *system = NULL, **decl_strs = NULL;
	struct buf err;
	val_t ok, *usage, e;
	size_t i, nmsgs = 0, ndecl = 0;
	int rc = 0, fatal = 0;

	if ((stop = host_enter(in)) != NULL)
		return stop;
	(void)data;
	(void)ty;
	buf_init(&err, 4096);
	memset(&req, 0, sizeof(req));
	memset(&reply, 0, sizeof(reply));
	if (nargs != 3 || nres != 1 || args[1].kind != WASMTIME_COMPONENT_LIST ||
	    args[2].kind != WASMTIME_COMPONENT_LIST)
		return wasmtime_error_new("llm.chat: bad signature");
	if ((rc = v_get_string(&args[0], HOST_WASM_MAX, 0, &system, "system",
	    &err)) != 0)
		goto out;
	if (args[1].of.list.size > HOST_LIST_MAX ||
	    args[2].of.list.size > HOST_LIST_MAX) {
		buf_puts(&err, "too many messages or tools");
		rc = WARD_ETOOBIG;
		goto out;
	}
	if ((msgs = calloc(args[1].of.list.size + 1, sizeof(*msgs))) == NULL ||
	    (tools = calloc(args[2].of.list.size + 1, sizeof(*tools))) == NULL ||
	    (decl_strs = calloc(3 * args[2].of.list.size + 3,
	    sizeof(*decl_strs))) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	for (nmsgs = 0; nmsgs < args[1].of.list.size; nmsgs++)
		if ((rc = host_get_message(&args[1].of.list.data[nmsgs],
		    &msgs[nmsgs], &err)) != 0)
			goto out;
	for (ndecl = 0; ndecl < args[2].of.list.size; ndecl++) {
		const val_t *d = &args[2].of.list.data[ndecl];

		if ((rc = v_get_string(v_get_field(d, "name"), HOST_PATH_MAX,
		    0, &decl_strs[3 * ndecl], "name", &err)) != 0 ||
		    (rc = v_get_string(v_get_field(d, "description"),
		    HOST_ARG_MAX, 0, &decl_strs[3 * ndecl + 1], "description",
		    &err)) != 0 ||
		    (rc = v_get_string(v_get_field(d, "parameters"),
		    HOST_ARG_MAX, 0, &decl_strs[3 * ndecl + 2], "parameters",
		    &err)) != 0)
			goto out;
		tools[ndecl].name = decl_strs[3 * ndecl];
		tools[ndecl].description = decl_strs[3 * ndecl + 1];
		tools[ndecl].parameters = decl_strs[3 * ndecl + 2];
	}
	req.system = system;
	req.msgs = msgs;
	req.nmsgs = nmsgs;
	req.tools = tools;
	req.ntools = ndecl;
	if ((rc = in->imp->llm_chat(in->ictx, &req, &reply, &err)) != 0)
		goto out;
	v_record(&ok, 3);
	if (host_put_message(v_field_at(&ok, 0, "message"), &reply.msg) != 0)
		fatal = 1;
	v_enum(v_field_at(&ok, 1, "stop"), stops[reply.stop]);
	usage = v_field_at(&ok, 2, "usage");
	v_record(usage, 2);
	v_u32(v_field_at(usage, 0, "input-tokens"), reply.input_tokens);
	v_u32(v_field_at(usage, 1, "output-tokens"), reply.output_tokens);
	v_result(&res[0], 1, &ok);
out:
	if (rc != 0) {
		if (err.len == 0)
			buf_puts(&err, ward_strerror(rc));
		if (v_string(&e, err.data) != 0)
			fatal = 1;
		v_result(&res[0], 0, &e);
	}
	/* A message that failed to convert has cleared itself. */
	for (i = 0; i < nmsgs; i++)
		llm_message_clear(&msgs[i]);
	for (i = 0; decl_strs != NULL && i < 3 * ndecl + 3; i++)
		free(decl_strs[i]);
	free(decl_strs);
	free(tools);
	free(msgs);
	free(system);
	llm_reply_clear(&reply);
	buf_free(&err);
	host_rearm(in);
	return fatal ? wasmtime_error_new("out of memory") : NULL;
}

/* ---- imports: tools --------------------------------------------------- */

enum argk { A_STR, A_TEXT, A_OPT_STR, A_OPT_U64, A_OPT_U32, A_BOOL,
	A_STR_LIST };

struct tool_desc {
	const char	*wit;		/* function name in the WIT */
	const char	*name;		/* DESIGN §5 name */
	int		 cmd_output;	/* result is command-output */
	size_t		 nargs;
	struct {
		const char	*name;
		enum argk	 kind;
	} args[4];
};

static const struct tool_desc tool_descs[] = {
	{ "file-read", "file_read", 0, 3, { { "path", A_STR },
	    { "offset", A_OPT_U64 }, { "limit", A_OPT_U64 } } },
	{ "file-write", "file_write", 0, 2, { { "path", A_STR },
	    { "content", A_TEXT } } },
	{ "file-edit", "file_edit", 0, 4, { { "path", A_STR },
	    { "old_string", A_TEXT }, { "new_string", A_TEXT },
	    { "replace_all", A_BOOL } } },
	{ "file-delete", "file_delete", 0, 1, { { "path", A_STR } } },
	{ "file-list", "file_list", 0, 2, { { "path", A_OPT_STR },
	    { "pattern", A_OPT_STR } } },
	{ "grep", "grep", 0, 3, { { "pattern", A_STR }, { "path", A_OPT_STR },
	    { "glob", A_OPT_STR } } },
	{ "command-run", "command_run", 1, 2, { { "command", A_STR },
	    { "timeout", A_OPT_U32 } } },
	{ "web-fetch", "web_fetch", 0, 1, { { "url", A_STR } } },
	{ "code-run", "code_run", 1, 2, { { "module", A_STR },
	    { "args", A_STR_LIST } } },
	{ "task-create", "task_create", 0, 1, { { "title", A_STR } } },
	{ "task-update", "task_update", 0, 2, { { "id", A_STR },
	    { "status", A_STR } } },
	{ "task-list", "task_list", 0, 0, { { NULL, A_STR } } },
};

/* Converts one typed argument into the JSON object the session sees. */
static int
host_tool_arg(json_t *obj, const char *name, enum argk kind, const val_t *v,
    struct buf *err)
{
	char *s = NULL;
	json_t *arr;
	size_t i;
	int rc = 0;

	switch (kind) {
	case A_STR:
	case A_TEXT:
		if ((rc = v_get_string(v, kind == A_STR ? HOST_PATH_MAX :
		    HOST_ARG_MAX, kind == A_TEXT, &s, name, err)) != 0)
			return rc;
		json_object_set_new(obj, name, json_stringn(s,
		    v->of.string.size));
		free(s);
		return 0;
	case A_OPT_STR:
		if (v->kind != WASMTIME_COMPONENT_OPTION)
			break;
		if (v->of.option == NULL)
			return 0;
		if ((rc = v_get_string(v->of.option, HOST_PATH_MAX, 0, &s,
		    name, err)) != 0)
			return rc;
		json_object_set_new(obj, name, json_string(s));
		free(s);
		return 0;
	case A_OPT_U64:
	case A_OPT_U32:
		if (v->kind != WASMTIME_COMPONENT_OPTION)
			break;
		if (v->of.option == NULL)
			return 0;
		if (kind == A_OPT_U64 &&
		    v->of.option->kind == WASMTIME_COMPONENT_U64) {
			uint64_t x = v->of.option->of.u64;

			json_object_set_new(obj, name, json_integer(
			    x > INT64_MAX ? INT64_MAX : (json_int_t)x));
			return 0;
		}
		if (kind == A_OPT_U32 &&
		    v->of.option->kind == WASMTIME_COMPONENT_U32) {
			json_object_set_new(obj, name,
			    json_integer(v->of.option->of.u32));
			return 0;
		}
		break;
	case A_BOOL:
		if (v->kind != WASMTIME_COMPONENT_BOOL)
			break;
		json_object_set_new(obj, name, json_boolean(v->of.boolean));
		return 0;
	case A_STR_LIST:
		if (v->kind != WASMTIME_COMPONENT_LIST)
			break;
		if (v->of.list.size > 1024) {
			buf_printf(err, "argument '%s' has %zu elements; the "
			    "limit is 1024", name, v->of.list.size);
			return WARD_ETOOBIG;
		}
		if ((arr = json_array()) == NULL)
			return WARD_ENOMEM;
		for (i = 0; i < v->of.list.size; i++) {
			if ((rc = v_get_string(&v->of.list.data[i],
			    HOST_PATH_MAX, 0, &s, name, err)) != 0) {
				json_decref(arr);
				return rc;
			}
			json_array_append_new(arr, json_string(s));
			free(s);
		}
		json_object_set_new(obj, name, arr);
		return 0;
	}
	buf_printf(err, "argument '%s' has the wrong type", name);
	return WARD_EINVAL;
}

static const char *
host_error_kind(int rc)
{
	switch (rc) {
	case WARD_EDENIED:	return "denied";
	case WARD_EINVAL:	return "invalid-argument";
	case WARD_ENOENT:	return "not-found";
	case WARD_ETOOBIG:	return "too-large";
	case WARD_EUNAVAIL:	return "unavailable";
	}
	return "failed";
}

static wasmtime_error_t *
host_tool(void *data, wasmtime_context_t *ctx,
    const wasmtime_component_func_type_t *ty, val_t *args, size_t nargs,
    val_t *res, size_t nres)
{
	const struct tool_desc *d = data;
	struct host_instance *in = host_of(ctx);
	wasmtime_error_t *stop;
	struct host_tool_out out;
	json_t *obj = NULL;
	val_t pay;
	size_t i;
	int rc = 0, nomem = 0;

	if ((stop = host_enter(in)) != NULL)
		return stop;
	(void)ty;
	if (nargs != d->nargs || nres != 1)
		return wasmtime_error_new("tools: bad signature");
	buf_init(&out.text, 0);
	out.exit_code = 0;
	out.truncated = 0;
	if ((obj = json_object()) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	for (i = 0; i < d->nargs; i++)
		if ((rc = host_tool_arg(obj, d->args[i].name, d->args[i].kind,
		    &args[i], &out.text)) != 0)
			goto out;
	rc = in->imp->tool(in->ictx, d->name, obj, &out);
out:
	if (rc == 0 && d->cmd_output) {
		val_t *ec;

		v_record(&pay, 3);
		ec = v_field_at(&pay, 0, "exit-code");
		ec->kind = WASMTIME_COMPONENT_S32;
		ec->of.s32 = out.exit_code;
		nomem |= v_stringn(v_field_at(&pay, 1, "output"),
		    out.text.data, out.text.len);
		v_bool(v_field_at(&pay, 2, "truncated"), out.truncated);
	} else if (rc == 0) {
		nomem |= v_stringn(&pay, out.text.data, out.text.len);
	} else {
		if (out.text.len == 0)
			buf_puts(&out.text, ward_strerror(rc));
		v_record(&pay, 2);
		v_enum(v_field_at(&pay, 0, "kind"), host_error_kind(rc));
		nomem |= v_string(v_field_at(&pay, 1, "message"),
		    out.text.data);
	}
	v_result(&res[0], rc == 0, &pay);
	json_decref(obj);
	buf_free(&out.text);
	host_rearm(in);
	return nomem ? wasmtime_error_new("out of memory") : NULL;
}

/* ---- imports: storage and console ------------------------------------- */

static wasmtime_error_t *
host_storage(void *data, wasmtime_context_t *ctx,
    const wasmtime_component_func_type_t *ty, val_t *args, size_t nargs,
    val_t *res, size_t nres)
{
	const char *op = data;
	struct host_instance *in = host_of(ctx);
	wasmtime_error_t *stop;
	struct buf err, bytes;
	char *key = NULL, *raw = NULL;
	val_t pay, *pp = NULL, inner;
	size_t i, n = 0, off;
	int rc = 0, nomem = 0;

	if ((stop = host_enter(in)) != NULL)
		return stop;
	(void)ty;
	buf_init(&err, 4096);
	buf_init(&bytes, HOST_STORE_MAX);
	if (nres != 1 || nargs != (strcmp(op, "save") == 0 ? 2u :
	    strcmp(op, "list-keys") == 0 ? 0u : 1u))
		return wasmtime_error_new("storage: bad signature");
	if (nargs > 0 && (rc = v_get_string(&args[0], 256, 0, &key, "key",
	    &err)) != 0)
		goto out;
	if (strcmp(op, "save") == 0) {
		if ((rc = v_get_string(&args[1], HOST_STORE_MAX, 1, &raw,
		    "value", &err)) != 0)
			goto out;
		rc = in->imp->storage_save(in->ictx, key, (uint8_t *)raw,
		    args[1].of.string.size, &err);
	} else if (strcmp(op, "load") == 0) {
		rc = in->imp->storage_load(in->ictx, key, &bytes, &err);
		if (rc == WARD_ENOENT) {
			v_option(&pay, NULL);
			pp = &pay;
			rc = 0;
		} else if (rc == 0) {
			nomem |= v_stringn(&inner, bytes.data, bytes.len);
			v_option(&pay, &inner);
			pp = &pay;
		}
	} else if (strcmp(op, "delete") == 0) {
		rc = in->imp->storage_delete(in->ictx, key, &err);
	} else {
		rc = in->imp->storage_list(in->ictx, &bytes, &n, &err);
		if (rc == 0) {
			pay.kind = WASMTIME_COMPONENT_LIST;
			wasmtime_component_vallist_new_uninit(&pay.of.list, n);
			for (i = 0, off = 0; i < n; i++) {
				nomem |= v_string(&pay.of.list.data[i],
				    bytes.data + off);
				off += strlen(bytes.data + off) + 1;
			}
			pp = &pay;
		}
	}
out:
	if (rc != 0) {
		if (err.len == 0)
			buf_puts(&err, ward_strerror(rc));
		nomem |= v_string(&pay, err.data);
		pp = &pay;
	}
	v_result(&res[0], rc == 0, pp);
	free(key);
	free(raw);
	buf_free(&bytes);
	buf_free(&err);
	host_rearm(in);
	return nomem ? wasmtime_error_new("out of memory") : NULL;
}

static wasmtime_error_t *
host_console(void *data, wasmtime_context_t *ctx,
    const wasmtime_component_func_type_t *ty, val_t *args, size_t nargs,
    val_t *res, size_t nres)
{
	const char *op = data;
	struct host_instance *in = host_of(ctx);
	wasmtime_error_t *stop;
	struct buf err;
	char *text = NULL, *answer = NULL;
	val_t ans;
	int ask = strcmp(op, "ask") == 0, nomem = 0;

	if ((stop = host_enter(in)) != NULL)
		return stop;
	(void)ty;
	buf_init(&err, 4096);
	if (nargs != 1 || nres != (ask ? 1u : 0u))
		return wasmtime_error_new("console: bad signature");
	if (v_get_string(&args[0], HOST_ARG_MAX, 1, &text, "text", &err) != 0)
		goto out;
	if (!ask)
		in->imp->print(in->ictx, text, strcmp(op, "warn") == 0);
	else if (in->imp->ask(in->ictx, text, &answer) == 0) {
		nomem = v_string(&ans, answer);
		v_option(&res[0], &ans);
	} else
		v_option(&res[0], NULL);
out:
	if (ask && text == NULL)
		v_option(&res[0], NULL);
	free(text);
	free(answer);
	buf_free(&err);
	host_rearm(in);
	return nomem ? wasmtime_error_new("out of memory") : NULL;
}

/* ---- linking ---------------------------------------------------------- */

static int
host_link_iface(wasmtime_component_linker_instance_t *root, const char *iface,
    size_t nfn, const char *const *names,
    wasmtime_component_func_callback_t *cbs, void *const *datas,
    struct buf *err)
{
	wasmtime_component_linker_instance_t *li = NULL;
	wasmtime_error_t *e;
	char full[128];
	size_t i;
	int rc = 0;

	snprintf(full, sizeof(full), HOST_PKG "%s" HOST_VERSION, iface);
	if ((e = wasmtime_component_linker_instance_add_instance(root, full,
	    strlen(full), &li)) != NULL) {
		host_errmsg(e, err);
		return WARD_EINVAL;
	}
	for (i = 0; i < nfn; i++) {
		e = wasmtime_component_linker_instance_add_func(li, names[i],
		    strlen(names[i]), cbs[i], datas[i], NULL);
		if (e != NULL) {
			host_errmsg(e, err);
			rc = WARD_EINVAL;
			break;
		}
	}
	wasmtime_component_linker_instance_delete(li);
	return rc;
}

static int
host_link(struct host *h, struct buf *err)
{
	static const char *const llm_n[] = { "info", "chat" };
	static wasmtime_component_func_callback_t llm_cb[] = { host_llm_info,
	    host_llm_chat };
	static void *const llm_d[] = { NULL, NULL };
	static const char *const st_n[] = { "save", "load", "delete",
	    "list-keys" };
	static wasmtime_component_func_callback_t st_cb[] = { host_storage,
	    host_storage, host_storage, host_storage };
	static void *const st_d[] = { (void *)"save", (void *)"load",
	    (void *)"delete", (void *)"list-keys" };
	static const char *const co_n[] = { "print", "warn", "ask" };
	static wasmtime_component_func_callback_t co_cb[] = { host_console,
	    host_console, host_console };
	static void *const co_d[] = { (void *)"print", (void *)"warn",
	    (void *)"ask" };
	enum { NT = sizeof(tool_descs) / sizeof(tool_descs[0]) };
	const char *tl_n[NT];
	wasmtime_component_func_callback_t tl_cb[NT];
	void *tl_d[NT];
	wasmtime_component_linker_instance_t *root;
	size_t i;
	int rc;

	for (i = 0; i < NT; i++) {
		tl_n[i] = tool_descs[i].wit;
		tl_cb[i] = host_tool;
		tl_d[i] = (void *)&tool_descs[i];
	}
	h->linker = wasmtime_component_linker_new(h->engine);
	root = wasmtime_component_linker_root(h->linker);
	if ((rc = host_link_iface(root, "llm", 2, llm_n, llm_cb, llm_d,
	    err)) == 0 &&
	    (rc = host_link_iface(root, "tools", NT, tl_n, tl_cb, tl_d,
	    err)) == 0 &&
	    (rc = host_link_iface(root, "storage", 4, st_n, st_cb, st_d,
	    err)) == 0)
		rc = host_link_iface(root, "console", 3, co_n, co_cb, co_d,
		    err);
	wasmtime_component_linker_instance_delete(root);
	return rc;
}

/* ---- loading and the compiled-artifact cache -------------------------- */

static int
host_read_fd(int fd, const char *path, struct buf *b, struct buf *err)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			buf_printf(err, "read %s: %s", path, strerror(errno));
			return WARD_EIO;
		}
		if (buf_add(b, chunk, (size_t)n) != 0) {
			buf_printf(err, "%s is too large", path);
			return WARD_ETOOBIG;
		}
	}
	return 0;
}

static int
host_read_file(const char *path, struct buf *b, struct buf *err)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		buf_printf(err, "cannot open agent component %s: %s", path,
		    strerror(errno));
		return errno == ENOENT ? WARD_ENOENT : WARD_EIO;
	}
	rc = host_read_fd(fd, path, b, err);
	close(fd);
	return rc;
}

static void
host_cache_store(const wasmtime_component_t *c, const char *path)
{
	wasm_byte_vec_t bytes;
	wasmtime_error_t *e;

	if ((e = wasmtime_component_serialize(c, &bytes)) != NULL) {
		wasmtime_error_delete(e);
		return;
	}
	artcache_write(path, bytes.data, bytes.size);
	wasm_byte_vec_delete(&bytes);
}

static int
host_load(struct host *h, const char *wasm_path, const char *cache_dir,
    struct buf *err)
{
	char path[4096];
	wasmtime_error_t *e;
	struct buf wasm, art;
	int rc, cached;

	buf_init(&wasm, HOST_WASM_MAX);
	buf_init(&art, HOST_ARTIFACT_MAX);
	if ((rc = host_read_file(wasm_path, &wasm, err)) != 0)
		goto out;
	cached = cache_dir != NULL && artcache_path(cache_dir, "agent",
	    HOST_CACHE_TAG, wasm.data, wasm.len, path, sizeof(path)) == 0;
	if (cached && artcache_read(cache_dir, path, &art)) {
		e = wasmtime_component_deserialize(h->engine,
		    (const uint8_t *)art.data, art.len, &h->component);
		buf_free(&art);
		if (e == NULL) {
			h->from_cache = 1;
			goto out;
		}
		/* Stale or foreign artifact: compile afresh. */
		wasmtime_error_delete(e);
	}
	if ((e = wasmtime_component_new(h->engine, (const uint8_t *)wasm.data,
	    wasm.len, &h->component)) != NULL) {
		buf_printf(err, "cannot compile agent component %s: ",
		    wasm_path);
		host_errmsg(e, err);
		rc = WARD_EINVAL;
		goto out;
	}
	if (cached)
		host_cache_store(h->component, path);
out:
	buf_free(&art);
	buf_free(&wasm);
	return rc;
}

/*
 * Invariant 1, checked at load time as well as at build time: the agent may
 * import ward:agent interfaces and nothing else. The linker would refuse an
 * unknown import at instantiation anyway; refusing here says so up front.
 */
static int
host_check_imports(struct host *h, struct buf *err)
{
	wasmtime_component_type_t *ty;
	wasmtime_component_item_t item;
	const char *name;
	size_t i, n, len;
	int rc = 0;

	ty = wasmtime_component_type(h->component);
	n = wasmtime_component_type_import_count(ty, h->engine);
	for (i = 0; i < n && rc == 0; i++) {
		if (!wasmtime_component_type_import_nth(ty, h->engine, i, &name,
		    &len, &item)) {
			buf_puts(err, "cannot read the agent's imports");
			rc = WARD_EINVAL;
			break;
		}
		if (item.kind != WASMTIME_COMPONENT_ITEM_COMPONENT_INSTANCE ||
		    len <= strlen(HOST_PKG HOST_VERSION) ||
		    strncmp(name, HOST_PKG, strlen(HOST_PKG)) != 0 ||
		    memcmp(name + len - strlen(HOST_VERSION), HOST_VERSION,
		    strlen(HOST_VERSION)) != 0) {
			buf_printf(err, "the agent component imports '%.*s', "
			    "which is not a ward:agent interface; refusing "
			    "to load it", (int)(len > 200 ? 200 : len), name);
			rc = WARD_EDENIED;
		}
		wasmtime_component_item_delete(&item);
	}
	wasmtime_component_type_delete(ty);
	return rc;
}

/*
 * The pooling allocator reserves address space for all its memories up
 * front (HOST_POOL_MEMORIES slots of wasmtime's 4 GiB reservation plus
 * guards) and wasmtime's C API aborts the process when it cannot. Try the
 * same reservation first so that a `ulimit -v` or a strict overcommit
 * policy is an error that says so, not a crash.
 */
#define HOST_POOL_MEMORIES	64
#define HOST_POOL_SLOT		((size_t)4 << 30 | (size_t)64 << 20)

static int
host_vm_room(struct buf *err)
{
	size_t len = HOST_POOL_MEMORIES * HOST_POOL_SLOT;
	void *p;

	p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		buf_printf(err, "cannot reserve the %zu GiB of address space "
		    "the wasm engine's instance pool needs (%s); is a virtual "
		    "memory limit (ulimit -v) set?", len >> 30,
		    strerror(errno));
		return WARD_ESYS;
	}
	munmap(p, len);
	return 0;
}

int
host_new(struct host **out, const char *wasm_path, const char *cache_dir,
    const struct host_limits *lim, struct buf *err)
{
	wasm_config_t *cfg;
	wasmtime_pooling_allocation_config_t *pool;
	struct host *h;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return WARD_ESYS;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return WARD_ENOMEM;
	h->lim = *lim;
	if (h->lim.memory_bytes == 0)
		h->lim.memory_bytes = 256u << 20;
	if (h->lim.step_ms == 0)
		h->lim.step_ms = 5000;
	if ((rc = host_vm_room(err)) != 0) {
		free(h);
		return rc;
	}
	cfg = wasm_config_new();
	wasmtime_config_epoch_interruption_set(cfg, true);
	wasmtime_config_wasm_component_model_set(cfg, true);
	wasmtime_config_max_wasm_stack_set(cfg, 1u << 20);
	pool = wasmtime_pooling_allocation_config_new();
	wasmtime_pooling_allocation_config_total_component_instances_set(pool,
	    64);
	wasmtime_pooling_allocation_config_total_memories_set(pool,
	    HOST_POOL_MEMORIES);
	wasmtime_pooling_allocation_config_total_tables_set(pool, 64);
	wasmtime_pooling_allocation_config_total_core_instances_set(pool, 256);
	wasmtime_pooling_allocation_config_total_stacks_set(pool, 64);
	wasmtime_pooling_allocation_config_max_memory_size_set(pool,
	    (size_t)h->lim.memory_bytes);
	wasmtime_pooling_allocation_strategy_set(cfg, pool);
	wasmtime_pooling_allocation_config_delete(pool);
	h->engine = wasm_engine_new_with_config(cfg);
	if (h->engine == NULL) {
		buf_puts(err, "cannot create the wasm engine");
		rc = WARD_ESYS;
		goto out;
	}
	if ((rc = host_load(h, wasm_path, cache_dir, err)) != 0)
		goto out;
	if ((rc = host_check_imports(h, err)) != 0)
		goto out;
	if ((rc = host_link(h, err)) != 0)
		goto out;
	if (pthread_create(&h->ticker, NULL, host_tick, h) != 0) {
		buf_puts(err, "cannot start the epoch thread");
		rc = WARD_ESYS;
		goto out;
	}
	h->ticker_on = 1;
out:
	if (rc != 0) {
		host_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

int
host_from_cache(const struct host *h)
{
	return h->from_cache;
}

void
host_free(struct host *h)
{
	if (h == NULL)
		return;
	if (h->ticker_on) {
		atomic_store(&h->stop, 1);
		pthread_join(h->ticker, NULL);
	}
	if (h->linker != NULL)
		wasmtime_component_linker_delete(h->linker);
	if (h->component != NULL)
		wasmtime_component_delete(h->component);
	if (h->engine != NULL)
		wasm_engine_delete(h->engine);
	free(h);
}

/* ---- instances -------------------------------------------------------- */

int
host_instance_new(struct host *h, const struct host_imports *imp, void *ctx,
    struct host_instance **out, struct buf *err)
{
	struct host_instance *in;
	wasmtime_error_t *e;

	*out = NULL;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return WARD_ENOMEM;
	in->h = h;
	in->imp = imp;
	in->ictx = ctx;
	in->store = wasmtime_store_new(h->engine, in, NULL);
	in->ctx = wasmtime_store_context(in->store);
	wasmtime_store_limiter(in->store, (int64_t)h->lim.memory_bytes, 100000,
	    16, 16, 16);
	wasmtime_store_epoch_deadline_callback(in->store, host_deadline, in,
	    NULL);
	host_rearm(in);
	if ((e = wasmtime_component_linker_instantiate(h->linker, in->ctx,
	    h->component, &in->inst)) != NULL) {
		buf_puts(err, "cannot instantiate the agent: ");
		host_errmsg(e, err);
		host_instance_free(in);
		return WARD_EINVAL;
	}
	*out = in;
	return 0;
}

static int
host_call(struct host_instance *in, const char *name, val_t *args,
    size_t nargs, val_t *res, struct buf *err)
{
	wasmtime_component_export_index_t *idx;
	wasmtime_component_func_t fn;
	wasmtime_error_t *e;

	if (in->dead) {
		buf_puts(err, "the agent instance has stopped after an "
		    "earlier failure");
		return WARD_ETRAP;
	}
	idx = wasmtime_component_instance_get_export_index(&in->inst, in->ctx,
	    NULL, name, strlen(name));
	if (idx == NULL) {
		buf_printf(err, "the agent component does not export %s",
		    name);
		return WARD_EINVAL;
	}
	if (!wasmtime_component_instance_get_func(&in->inst, in->ctx, idx,
	    &fn)) {
		wasmtime_component_export_index_delete(idx);
		buf_printf(err, "the agent export %s is not a function", name);
		return WARD_EINVAL;
	}
	wasmtime_component_export_index_delete(idx);
	host_rearm(in);
	e = wasmtime_component_func_call(&fn, in->ctx, args, nargs, res, 1);
	if (e != NULL) {
		in->dead = 1;
		if (in->cancel_hit) {
			wasmtime_error_delete(e);
			buf_puts(err, "the session was cancelled: its client "
			    "went away");
		} else if (in->deadline_hit) {
			/* Our own message, without wasmtime's backtrace. */
			wasmtime_error_delete(e);
			buf_printf(err, "the agent ran for more than %u ms "
			    "without returning to the host and was stopped",
			    in->h->lim.step_ms);
		} else {
			buf_printf(err, "agent %s failed: ", name);
			host_errmsg(e, err);
		}
		return WARD_ETRAP;
	}
	return 0;
}

/* Takes the error string of a result<_, string> that is not ok. */
static int
host_result_err(const val_t *r, struct buf *err)
{
	char *s = NULL;

	if (r->kind != WASMTIME_COMPONENT_RESULT) {
		buf_puts(err, "agent returned a malformed result");
		return WARD_EPROTO;
	}
	if (r->of.result.is_ok)
		return 0;
	if (v_get_string(r->of.result.val, HOST_ARG_MAX, 1, &s, "error",
	    err) == 0) {
		buf_puts(err, s);
		free(s);
	}
	return WARD_EINVAL;
}

int
host_instance_init(struct host_instance *in, const char *session_id,
    const struct host_project *proj, struct buf *err)
{
	val_t args[2], res;
	int rc;

	memset(&res, 0, sizeof(res));
	if (v_string(&args[0], session_id) != 0)
		return WARD_ENOMEM;
	v_record(&args[1], 3);
	v_string(v_field_at(&args[1], 0, "name"), proj->name);
	v_u32(v_field_at(&args[1], 1, "max-turns"), proj->max_turns);
	v_string(v_field_at(&args[1], 2, "instructions"),
	    proj->instructions != NULL ? proj->instructions : "");
	if ((rc = host_call(in, "init", args, 2, &res, err)) == 0) {
		rc = host_result_err(&res, err);
		wasmtime_component_val_delete(&res);
	}
	wasmtime_component_val_delete(&args[0]);
	wasmtime_component_val_delete(&args[1]);
	return rc;
}

int
host_instance_handle(struct host_instance *in, const char *message,
    struct host_turn *turn, struct buf *err)
{
	const val_t *ok, *f;
	val_t arg, res;
	int rc;

	memset(turn, 0, sizeof(*turn));
	memset(&res, 0, sizeof(res));
	if (v_string(&arg, message) != 0)
		return WARD_ENOMEM;
	if ((rc = host_call(in, "handle-message", &arg, 1, &res, err)) != 0)
		goto out_arg;
	if ((rc = host_result_err(&res, err)) != 0)
		goto out;
	ok = res.of.result.val;
	if ((rc = v_get_string(v_get_field(ok, "text"), HOST_WASM_MAX, 1,
	    &turn->text, "text", err)) != 0)
		goto out;
	turn->outcome = v_enum_is(v_get_field(ok, "outcome"), "max-turns") ?
	    HOST_MAX_TURNS : HOST_FINISHED;
	if ((f = v_get_field(ok, "turns")) != NULL &&
	    f->kind == WASMTIME_COMPONENT_U32)
		turn->turns = f->of.u32;
	if ((f = v_get_field(ok, "tool-calls")) != NULL &&
	    f->kind == WASMTIME_COMPONENT_U32)
		turn->tool_calls = f->of.u32;
out:
	wasmtime_component_val_delete(&res);
out_arg:
	wasmtime_component_val_delete(&arg);
	return rc;
}

void
host_instance_free(struct host_instance *in)
{
	if (in == NULL)
		return;
	if (in->store != NULL)
		wasmtime_store_delete(in->store);
	free(in);
}

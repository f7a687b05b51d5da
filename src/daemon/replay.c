/*
 * Replays a session from its audit log. The records replay needs are
 * collected from a log that verifies (nothing from a tampered log is ever
 * handed to the agent), then walked with one cursor: each model request of
 * the agent takes the next llm_response, each tool call must match the
 * next tool_call record and gets its recorded result. The agent has no
 * clock, randomness or I/O beyond its imports, so the same agent against
 * the same records makes the same calls; the first call that differs is
 * the divergence, and the agent is stopped at its next host call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audit/audit.h"
#include "../lib/err.h"
#include "replay.h"

#define REPLAY_DEFAULT_TURNS	50	/* session.c's default */

struct replay {
	json_t			*recs;		/* the records replay uses */
	size_t			 next;		/* cursor into recs */
	json_t			*um;		/* data of the user_message of
						   the running session */
	json_t			*store;		/* key -> bytes (unchecked) */
	struct replay_report	*rep;
};

static const char *const replay_kinds[] = {
	"session_start", "session_resume", "user_message", "llm_response",
	"llm_error", "tool_call", "tool_result", "tool_error", "session_end",
};

static int
replay_each(void *arg, json_t *rec, const unsigned char hash[AUDIT_HASH_BYTES])
{
	struct replay *r = arg;
	const char *kind = json_string_value(json_object_get(rec, "kind"));
	size_t i;

	(void)hash;
	for (i = 0; kind != NULL &&
	    i < sizeof(replay_kinds) / sizeof(replay_kinds[0]); i++)
		if (strcmp(kind, replay_kinds[i]) == 0)
			return json_array_append(r->recs, rec) == 0 ? 0 :
			    WARD_ENOMEM;
	return 0;
}

static json_t *
replay_rec(struct replay *r, size_t i)
{
	return json_array_get(r->recs, i);
}

static const char *
replay_kind(json_t *rec)
{
	const char *k = json_string_value(json_object_get(rec, "kind"));

	return k != NULL ? k : "";
}

static json_t *
replay_get(json_t *rec, const char *key)
{
	return json_object_get(json_object_get(rec, "data"), key);
}

static const char *
replay_str(json_t *rec, const char *key)
{
	const char *s = json_string_value(replay_get(rec, key));

	return s != NULL ? s : "?";
}

static json_int_t
replay_int(json_t *rec, const char *key)
{
	return json_integer_value(replay_get(rec, key));
}

/* What the log has at the cursor, in the words of a divergence. */
static void
replay_describe(struct replay *r, struct buf *b)
{
	json_t *rec = replay_rec(r, r->next);
	const char *k = replay_kind(rec);

	if (rec == NULL)
		buf_puts(b, "the end of the log");
	else if (strcmp(k, "llm_response") == 0 || strcmp(k, "llm_error") == 0)
		buf_puts(b, "a model request");
	else if (strcmp(k, "tool_call") == 0)
		buf_printf(b, "%s %s", replay_str(rec, "name"),
		    replay_str(rec, "arguments"));
	else if (strcmp(k, "tool_result") == 0 || strcmp(k, "tool_error") == 0)
		buf_printf(b, "a result of %s", replay_str(rec, "name"));
	else
		buf_puts(b, "the end of the turn");
}

/* Records the first divergence: "the agent <did> where the log has ...". */
static void
replay_diverge(struct replay *r, const char *did)
{
	json_t *rec;

	if (r->rep->diverged)
		return;
	r->rep->diverged = 1;
	rec = replay_rec(r, r->next);
	buf_printf(&r->rep->why, "diverged at record %lld: the agent %s where "
	    "the log has ", rec != NULL ?
	    (long long)json_integer_value(json_object_get(rec, "seq")) : -1LL,
	    did);
	replay_describe(r, &r->rep->why);
}

/* ---- the imports -------------------------------------------------------- */

static unsigned
replay_u32(json_t *v)
{
	json_int_t n = json_integer_value(v);

	return n > 0 && n <= (json_int_t)UINT32_MAX ? (unsigned)n : 0;
}

static void
replay_llm_info(void *ctx, struct llm_info *info)
{
	struct replay *r = ctx;
	json_t *l = json_object_get(r->um, "llm");

	memset(info, 0, sizeof(*info));
	info->provider = json_string_value(json_object_get(l, "provider"));
	info->name = json_string_value(json_object_get(l, "name"));
	if (info->provider == NULL)
		info->provider = "";
	if (info->name == NULL)
		info->name = "";
	info->context_length = replay_u32(json_object_get(l,
	    "context_length"));
	info->idle_seconds = (uint64_t)(json_integer_value(json_object_get(l,
	    "idle_seconds")) > 0 ? json_integer_value(json_object_get(l,
	    "idle_seconds")) : 0);
	info->max_tokens = replay_u32(json_object_get(l, "max_tokens"));
}

static char *
replay_dup(json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL ? strdup(s) : NULL;
}

static int
replay_llm_chat(void *ctx, const struct llm_request *req,
    struct llm_reply *reply, struct buf *err)
{
	struct replay *r = ctx;
	json_t *rec = replay_rec(r, r->next), *calls, *c;
	const char *k = replay_kind(rec);
	json_int_t stop;
	size_t i, n;

	(void)req;
	memset(reply, 0, sizeof(*reply));
	if (strcmp(k, "llm_error") == 0) {
		r->next++;
		buf_puts(err, replay_str(rec, "error"));
		return WARD_EIO;
	}
	if (strcmp(k, "llm_response") != 0) {
		replay_diverge(r, "asked the model");
		buf_puts(err, "replay diverged");
		return WARD_EPROTO;
	}
	calls = replay_get(rec, "tool_calls");
	n = json_array_size(calls);
	reply->msg.role = LLM_ASSISTANT;
	if ((reply->msg.content = replay_dup(replay_get(rec, "content"))) ==
	    NULL || (n > 0 && (reply->msg.calls = calloc(n,
	    sizeof(*reply->msg.calls))) == NULL))
		goto nomem;
	for (i = 0; i < n; i++) {
		c = json_array_get(calls, i);
		reply->msg.ncalls++;
		reply->msg.calls[i].id = replay_dup(json_object_get(c, "id"));
		if ((reply->msg.calls[i].name = replay_dup(json_object_get(c,
		    "name"))) == NULL ||
		    (reply->msg.calls[i].arguments = replay_dup(
		    json_object_get(c, "arguments"))) == NULL)
			goto nomem;
	}
	stop = replay_int(rec, "stop");
	reply->stop = stop >= LLM_STOP_END_TURN && stop <= LLM_STOP_OTHER ?
	    (enum llm_stop)stop : LLM_STOP_OTHER;
	reply->input_tokens = replay_u32(replay_get(rec, "input_tokens"));
	reply->output_tokens = replay_u32(replay_get(rec, "output_tokens"));
	r->next++;
	r->rep->turns++;
	return 0;
nomem:
	llm_reply_clear(reply);
	memset(reply, 0, sizeof(*reply));
	return WARD_ENOMEM;
}

/* The WARD_E* code whose name the log recorded (session.c writes
 * ward_strerror), so the agent sees the same error kind. */
static int
replay_code(const char *name)
{
	int c;

	for (c = WARD_EINVAL; c >= WARD_E_LAST; c--)
		if (strcmp(ward_strerror(c), name) == 0)
			return c;
	return WARD_EIO;
}

static int
replay_tool(void *ctx, const char *name, json_t *args,
    struct host_tool_out *out)
{
	struct replay *r = ctx;
	json_t *rec = replay_rec(r, r->next), *res, *text;
	const char *rk;
	char *argtext;
	int rc = WARD_EPROTO;

	/* session.c records the arguments in this form. */
	if ((argtext = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    NULL)
		return WARD_ENOMEM;
	buf_reset(&out->text);
	if (strcmp(replay_kind(rec), "tool_call") != 0 ||
	    strcmp(replay_str(rec, "name"), name) != 0 ||
	    strcmp(replay_str(rec, "arguments"), argtext) != 0) {
		buf_printf(&out->text, "called %s %s", name, argtext);
		replay_diverge(r, out->text.data);
		goto diverged;
	}
	r->next++;
	res = replay_rec(r, r->next);
	rk = replay_kind(res);
	text = replay_get(res, "text");
	if ((strcmp(rk, "tool_result") != 0 && strcmp(rk, "tool_error") !=
	    0) || !json_is_string(text)) {
		buf_printf(&out->text, "called %s (the log has no full result "
		    "of this call: an older ward wrote it, or the session "
		    "stopped)", name);
		replay_diverge(r, out->text.data);
		goto diverged;
	}
	r->next++;
	r->rep->tool_calls++;
	if ((rc = buf_add(&out->text, json_string_value(text),
	    json_string_length(text))) != 0)
		goto out;
	out->exit_code = (int)replay_int(res, "exit_code");
	out->truncated = json_is_true(replay_get(res, "output_truncated"));
	rc = strcmp(rk, "tool_result") == 0 ? 0 :
	    replay_code(replay_str(res, "error"));
	goto out;
diverged:
	buf_reset(&out->text);
	buf_puts(&out->text, "replay diverged");
out:
	free(argtext);
	return rc;
}

static int
replay_storage_save(void *ctx, const char *key, const uint8_t *data,
    size_t len, struct buf *err)
{
	struct replay *r = ctx;

	(void)err;
	/* Bytes, read back only with json_string_length. */
	return json_object_set_new(r->store, key, json_stringn_nocheck(
	    (const char *)data, len)) == 0 ? 0 : WARD_ENOMEM;
}

static int
replay_storage_load(void *ctx, const char *key, struct buf *data,
    struct buf *err)
{
	struct replay *r = ctx;
	json_t *v = json_object_get(r->store, key);

	(void)err;
	if (v == NULL)
		return WARD_ENOENT;
	return buf_add(data, json_string_value(v), json_string_length(v));
}

static int
replay_storage_delete(void *ctx, const char *key, struct buf *err)
{
	struct replay *r = ctx;

	(void)err;
	(void)json_object_del(r->store, key);
	return 0;
}

static int
replay_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
replay_storage_list(void *ctx, struct buf *keys, size_t *nkeys,
    struct buf *err)
{
	struct replay *r = ctx;
	const char **names, *key;
	json_t *v;
	size_t n = 0, i;
	int rc = 0;

	(void)err;
	*nkeys = 0;
	if ((names = calloc(json_object_size(r->store) + 1,
	    sizeof(*names))) == NULL)
		return WARD_ENOMEM;
	json_object_foreach(r->store, key, v)
		names[n++] = key;
	/* session.c lists its store sorted. */
	qsort(names, n, sizeof(*names), replay_cmp);
	for (i = 0; i < n && rc == 0; i++)
		rc = buf_add(keys, names[i], strlen(names[i]) + 1);
	if (rc == 0)
		*nkeys = n;
	free(names);
	return rc;
}

static void
replay_print(void *ctx, const char *text, int warn)
{
	(void)ctx;
	(void)text;
	(void)warn;
}

/* No answer is recorded; in `ward run` nobody answers either. */
static int
replay_ask(void *ctx, const char *question, char **answer)
{
	(void)ctx;
	(void)question;
	*answer = NULL;
	return WARD_ENOENT;
}

/* After a divergence the agent is stopped at its next host call. */
static int
replay_cancelled(void *ctx)
{
	struct replay *r = ctx;

	return r->rep->diverged;
}

static const struct host_imports replay_imports = {
	.llm_info = replay_llm_info,
	.llm_chat = replay_llm_chat,
	.tool = replay_tool,
	.storage_save = replay_storage_save,
	.storage_load = replay_storage_load,
	.storage_delete = replay_storage_delete,
	.storage_list = replay_storage_list,
	.print = replay_print,
	.ask = replay_ask,
	.cancelled = replay_cancelled,
};

/* ---- the walk ----------------------------------------------------------- */

/* The data of the user_message the session starting at recs[i] handles,
 * or NULL if it handled none. */
static json_t *
replay_find_message(struct replay *r, size_t i)
{
	json_t *rec;
	const char *k;

	for (i++; (rec = replay_rec(r, i)) != NULL; i++) {
		k = replay_kind(rec);
		if (strcmp(k, "user_message") == 0)
			return json_object_get(rec, "data");
		if (strcmp(k, "session_start") == 0 ||
		    strcmp(k, "session_resume") == 0)
			break;
	}
	return NULL;
}

/* After a handle the log must be at the end of the turn, which must have
 * ended as it did then. */
static void
replay_end_turn(struct replay *r, int rc, const struct host_turn *t,
    const char *why)
{
	json_t *rec = replay_rec(r, r->next);
	const char *outcome;
	char did[512];

	if (rc != 0) {
		snprintf(did, sizeof(did), "stopped (%s)", why);
		outcome = "failed";
	} else {
		snprintf(did, sizeof(did), "ended its turn (%u turns, %u tool "
		    "calls)", t->turns, t->tool_calls);
		outcome = t->outcome == HOST_MAX_TURNS ? "max-turns" :
		    "finished";
	}
	if (rec == NULL)
		return;		/* the session never recorded its end */
	if (strcmp(replay_kind(rec), "session_end") != 0) {
		replay_diverge(r, did);
		return;
	}
	if (strcmp(replay_str(rec, "outcome"), outcome) != 0 ||
	    (rc == 0 && (replay_int(rec, "turns") != t->turns ||
	    replay_int(rec, "tool_calls") != t->tool_calls))) {
		replay_diverge(r, did);
		buf_printf(&r->rep->why, " (%s, %lld turns, %lld tool calls)",
		    replay_str(rec, "outcome"),
		    (long long)replay_int(rec, "turns"),
		    (long long)replay_int(rec, "tool_calls"));
		return;
	}
	r->next++;
}

/* Starts the session recorded at the cursor: a new instance, then init. */
static int
replay_start(struct replay *r, struct host *h, struct host_instance **in,
    struct buf *why, struct buf *err)
{
	struct host_project proj;
	const char *sid = replay_str(replay_rec(r, r->next), "session");
	char did[512];
	int rc;

	r->um = replay_find_message(r, r->next);
	if ((rc = host_instance_new(h, &replay_imports, r, in, err)) != 0)
		return rc;
	proj.name = json_string_value(json_object_get(r->um, "project"));
	proj.name = proj.name != NULL ? proj.name : "";
	proj.max_turns = replay_u32(json_object_get(r->um, "max_turns"));
	if (proj.max_turns == 0)
		proj.max_turns = REPLAY_DEFAULT_TURNS;
	proj.instructions = "";
	r->next++;
	if ((rc = host_instance_init(*in, sid, &proj, why)) == 0)
		return 0;
	/* A session whose init failed recorded no message. */
	if (strcmp(replay_kind(replay_rec(r, r->next)), "user_message") == 0) {
		snprintf(did, sizeof(did), "stopped in init (%s)", why->data ?
		    why->data : ward_strerror(rc));
		replay_diverge(r, did);
	}
	host_instance_free(*in);
	*in = NULL;
	return 0;
}

static int
replay_walk(struct replay *r, struct host *h, struct buf *err)
{
	struct host_instance *in = NULL;
	struct host_turn turn;
	struct buf why;
	json_t *rec;
	const char *k;
	int rc = 0, hrc;

	buf_init(&why, 0);
	while (!r->rep->diverged && (rec = replay_rec(r, r->next)) != NULL) {
		k = replay_kind(rec);
		buf_reset(&why);
		if (strcmp(k, "session_start") == 0 ||
		    strcmp(k, "session_resume") == 0) {
			host_instance_free(in);
			in = NULL;
			if ((rc = replay_start(r, h, &in, &why, err)) != 0)
				break;
		} else if (strcmp(k, "user_message") == 0 && in != NULL) {
			r->next++;
			memset(&turn, 0, sizeof(turn));
			hrc = host_instance_handle(in, replay_str(rec, "text"),
			    &turn, &why);
			replay_end_turn(r, hrc, &turn, why.data ? why.data :
			    ward_strerror(hrc));
			free(turn.text);
			if (hrc != 0) {
				host_instance_free(in);
				in = NULL;
			}
		} else if (strcmp(k, "session_end") == 0)
			r->next++;	/* a session that did not start */
		else
			replay_diverge(r, "was not running");
	}
	host_instance_free(in);
	buf_free(&why);
	return rc;
}

int
replay_run(struct host *h, const char *path, const unsigned char pk[32],
    struct replay_report *rep, struct buf *err)
{
	struct audit_report ar;
	struct replay r;
	int rc;

	memset(rep, 0, sizeof(*rep));
	buf_init(&rep->why, 0);
	memset(&r, 0, sizeof(r));
	memset(&ar, 0, sizeof(ar));
	r.rep = rep;
	if ((r.recs = json_array()) == NULL ||
	    (r.store = json_object()) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	/* Nothing from a log that does not verify reaches the agent. */
	if ((rc = audit_verify(path, pk, NULL, replay_each, &r, &ar)) != 0) {
		if (rc == WARD_EPROTO)
			buf_printf(err, "%s does not verify: %s", path,
			    ar.torn ? "torn tail" : ar.why.data ? ar.why.data :
			    "?");
		else
			buf_printf(err, "cannot read %s: %s", path,
			    ward_strerror(rc));
		goto out;
	}
	rc = replay_walk(&r, h, err);
out:
	audit_report_free(&ar);
	json_decref(r.recs);
	json_decref(r.store);
	return rc;
}

void
replay_report_free(struct replay_report *rep)
{
	buf_free(&rep->why);
}

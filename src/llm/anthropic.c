/*
 * The `anthropic` provider: the Messages API (POST /v1/messages), streamed
 * as Server-Sent Events or answered whole. A streamed reply is rebuilt into
 * the same content-block array a whole one carries, so one function turns
 * either into an llm_reply. Thinking and redacted_thinking blocks are kept
 * verbatim (as compact JSON) in provider_blocks and sent back first in the
 * assistant's content, as the API requires for their signatures to verify.
 * Consecutive tool results and user text are merged into one user message,
 * since the API wants roles to alternate.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/err.h"
#include "http.h"
#include "llm.h"
#include "llm_impl.h"

#define ANTHROPIC_URL		"https://api.anthropic.com"
#define ANTHROPIC_VERSION	"2023-06-01"
#define ANTHROPIC_MAX_BLOCKS	4096

struct anthropic {
	struct llm	 base;
	struct http	 http;
	char		*model;
	unsigned	 context_length;
	unsigned	 max_tokens;
};

/* A streamed reply being rebuilt: content[i] is block i, its streamed
 * text (text, thinking or partial_json) collects in acc[i], its signature
 * in sig[i]. */
struct anthropic_stream {
	struct anthropic	*a;
	json_t			*content;
	struct buf		*acc, *sig;
	size_t			 nalloc;
	char			*stop;
	unsigned		 in_tokens, out_tokens;
	int			 started, done;
	struct buf		*err;
};

static unsigned
anthropic_count(json_t *usage, const char *key)
{
	json_int_t n = json_integer_value(json_object_get(usage, key));

	return n < 0 ? 0 : n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

/* Appends a user-side block to the pending user message. */
static int
anthropic_user_block(json_t **pending, json_t *block)
{
	if (block == NULL)
		return WARD_EINVAL;
	if (*pending == NULL && (*pending = json_array()) == NULL) {
		json_decref(block);
		return WARD_ENOMEM;
	}
	return json_array_append_new(*pending, block) == 0 ? 0 : WARD_ENOMEM;
}

static int
anthropic_flush(json_t *msgs, json_t **pending)
{
	int rc = 0;

	if (*pending != NULL && json_array_append_new(msgs, json_pack(
	    "{s:s,s:o}", "role", "user", "content", *pending)) != 0)
		rc = WARD_EINVAL;
	*pending = NULL;
	return rc;
}

static int
anthropic_assistant(json_t *msgs, const struct llm_message *m,
    struct buf *err)
{
	json_t *content, *extra = NULL, *input;
	size_t i;
	int rc = WARD_EINVAL;

	if ((content = json_array()) == NULL)
		return WARD_ENOMEM;
	if (m->provider_blocks != NULL) {
		extra = json_loads(m->provider_blocks, 0, NULL);
		if (!json_is_array(extra) || json_array_extend(content,
		    extra) != 0) {
			buf_puts(err, "anthropic: a message's provider_blocks "
			    "is not a JSON array");
			goto out;
		}
	}
	if (m->content != NULL && *m->content != '\0' &&
	    json_array_append_new(content, json_pack("{s:s,s:s}", "type",
	    "text", "text", m->content)) != 0)
		goto out;
	for (i = 0; i < m->ncalls; i++) {
		input = json_loads(m->calls[i].arguments != NULL &&
		    *m->calls[i].arguments != '\0' ? m->calls[i].arguments :
		    "{}", 0, NULL);
		if (!json_is_object(input) || m->calls[i].id == NULL ||
		    m->calls[i].name == NULL) {
			json_decref(input);
			buf_printf(err, "anthropic: tool call %zu has no id, "
			    "name or JSON object arguments", i);
			goto out;
		}
		if (json_array_append_new(content, json_pack(
		    "{s:s,s:s,s:s,s:o}", "type", "tool_use", "id",
		    m->calls[i].id, "name", m->calls[i].name, "input",
		    input)) != 0)
			goto out;
	}
	if (json_array_append_new(msgs, json_pack("{s:s,s:O}", "role",
	    "assistant", "content", content)) != 0)
		goto out;
	rc = 0;
out:
	json_decref(extra);
	json_decref(content);
	return rc;
}

static int
anthropic_request(const struct anthropic *a, const struct llm_request *req,
    char **out, struct buf *err)
{
	const struct llm_message *m;
	json_t *root, *msgs, *tools, *pending = NULL, *schema;
	size_t i;
	int rc = WARD_EINVAL;

	*out = NULL;
	root = json_pack("{s:s,s:I,s:b}", "model", a->model, "max_tokens",
	    (json_int_t)a->max_tokens, "stream", 1);
	msgs = json_array();
	tools = json_array();
	if (root == NULL || msgs == NULL || tools == NULL)
		goto out;
	if (req->system != NULL && *req->system != '\0' &&
	    json_object_set_new(root, "system", json_string(req->system)) != 0)
		goto out;
	for (i = 0; i < req->ntools; i++) {
		schema = json_loads(req->tools[i].parameters, 0, NULL);
		if (!json_is_object(schema) || json_array_append_new(tools,
		    json_pack("{s:s,s:s,s:o}", "name", req->tools[i].name,
		    "description", req->tools[i].description != NULL ?
		    req->tools[i].description : "", "input_schema",
		    schema)) != 0) {
			buf_printf(err, "anthropic: tool %zu has a bad "
			    "declaration", i);
			goto out;
		}
	}
	for (i = 0; i < req->nmsgs; i++) {
		m = &req->msgs[i];
		if (m->role == LLM_USER) {
			if (m->content == NULL || *m->content == '\0')
				continue;
			rc = anthropic_user_block(&pending, json_pack(
			    "{s:s,s:s}", "type", "text", "text", m->content));
		} else if (m->role == LLM_TOOL) {
			if (m->tool_call_id == NULL) {
				buf_printf(err, "anthropic: tool result %zu "
				    "answers no call", i);
				rc = WARD_EINVAL;
				goto out;
			}
			rc = anthropic_user_block(&pending, json_pack(
			    "{s:s,s:s,s:s,s:b}", "type", "tool_result",
			    "tool_use_id", m->tool_call_id, "content",
			    m->content != NULL ? m->content : "", "is_error",
			    m->is_error != 0));
		} else if ((rc = anthropic_flush(msgs, &pending)) == 0)
			rc = anthropic_assistant(msgs, m, err);
		if (rc != 0)
			goto out;
	}
	if ((rc = anthropic_flush(msgs, &pending)) != 0)
		goto out;
	rc = WARD_EINVAL;
	if (json_object_set(root, "messages", msgs) != 0 ||
	    (json_array_size(tools) > 0 &&
	    json_object_set(root, "tools", tools) != 0))
		goto out;
	if ((*out = json_dumps(root, JSON_COMPACT)) == NULL)
		goto out;
	rc = 0;
out:
	if (rc != 0 && err->len == 0)
		buf_puts(err, "anthropic: cannot encode the request (text that "
		    "is not UTF-8?)");
	json_decref(pending);
	json_decref(tools);
	json_decref(msgs);
	json_decref(root);
	return rc;
}

/* Turns a message's content-block array into the reply. */
static int
anthropic_reply(json_t *content, const char *stop, struct llm_reply *reply,
    struct buf *err)
{
	struct llm_message *m = &reply->msg;
	struct buf text;
	json_t *b, *kept = NULL;
	const char *type, *id, *name;
	size_t i;
	int rc = WARD_EPROTO;

	buf_init(&text, 0);
	m->role = LLM_ASSISTANT;
	if (!json_is_array(content)) {
		buf_puts(err, "anthropic: response has no content array");
		goto out;
	}
	if ((kept = json_array()) == NULL ||
	    (m->calls = calloc(json_array_size(content) + 1,
	    sizeof(*m->calls))) == NULL)
		goto nomem;
	json_array_foreach(content, i, b) {
		type = json_string_value(json_object_get(b, "type"));
		if (type == NULL) {
			buf_puts(err, "anthropic: content block has no type");
			goto out;
		}
		if (strcmp(type, "text") == 0) {
			if (!json_is_string(json_object_get(b, "text")))
				goto bad;
			if (buf_puts(&text, json_string_value(json_object_get(b,
			    "text"))) != 0)
				goto nomem;
		} else if (strcmp(type, "tool_use") == 0) {
			struct llm_tool_call *tc = &m->calls[m->ncalls];

			id = json_string_value(json_object_get(b, "id"));
			name = json_string_value(json_object_get(b, "name"));
			if (id == NULL || name == NULL ||
			    !json_is_object(json_object_get(b, "input")))
				goto bad;
			m->ncalls++;
			if ((tc->id = strdup(id)) == NULL ||
			    (tc->name = strdup(name)) == NULL ||
			    (tc->arguments = json_dumps(json_object_get(b,
			    "input"), JSON_COMPACT)) == NULL)
				goto nomem;
		} else if (strcmp(type, "thinking") == 0 ||
		    strcmp(type, "redacted_thinking") == 0) {
			if (json_array_append(kept, b) != 0)
				goto nomem;
		}
		/* Other block types (server tools) have nothing for us. */
	}
	if (json_array_size(kept) > 0 && (m->provider_blocks =
	    json_dumps(kept, JSON_COMPACT)) == NULL)
		goto nomem;
	if ((m->content = buf_take(&text)) == NULL && (m->content =
	    strdup("")) == NULL)
		goto nomem;
	if (stop == NULL)
		reply->stop = LLM_STOP_OTHER;
	else if (strcmp(stop, "end_turn") == 0 ||
	    strcmp(stop, "stop_sequence") == 0)
		reply->stop = LLM_STOP_END_TURN;
	else if (strcmp(stop, "tool_use") == 0)
		reply->stop = LLM_STOP_TOOL_USE;
	else if (strcmp(stop, "max_tokens") == 0)
		reply->stop = LLM_STOP_MAX_TOKENS;
	else
		reply->stop = LLM_STOP_OTHER;
	rc = 0;
	goto out;
bad:
	buf_printf(err, "anthropic: malformed %s block", type);
	goto out;
nomem:
	rc = WARD_ENOMEM;
out:
	json_decref(kept);
	buf_free(&text);
	return rc;
}

static int
anthropic_proto(struct anthropic_stream *st, const char *what)
{
	buf_printf(st->err, "anthropic: malformed stream: %s", what);
	return WARD_EPROTO;
}

static int
anthropic_block_start(struct anthropic_stream *st, json_t *ev)
{
	json_t *b = json_object_get(ev, "content_block");
	size_t i = json_array_size(st->content), n;
	const char *type = json_string_value(json_object_get(b, "type"));
	const char *field = NULL;
	struct buf *p;

	if (type == NULL || !json_is_integer(json_object_get(ev, "index")) ||
	    json_integer_value(json_object_get(ev, "index")) != (json_int_t)i)
		return anthropic_proto(st, "content_block_start out of order");
	if (i >= ANTHROPIC_MAX_BLOCKS)
		return anthropic_proto(st, "too many content blocks");
	if (i == st->nalloc) {
		n = st->nalloc ? st->nalloc * 2 : 8;
		if ((p = reallocarray(st->acc, n, sizeof(*p))) == NULL)
			return WARD_ENOMEM;
		st->acc = p;
		if ((p = reallocarray(st->sig, n, sizeof(*p))) == NULL)
			return WARD_ENOMEM;
		st->sig = p;
		st->nalloc = n;
	}
	buf_init(&st->acc[i], HTTP_MAX_BODY);
	buf_init(&st->sig[i], HTTP_MAX_BODY);
	if (json_array_append(st->content, b) != 0)
		return WARD_ENOMEM;
	if (strcmp(type, "text") == 0)
		field = "text";
	else if (strcmp(type, "thinking") == 0)
		field = "thinking";
	if (field != NULL && json_is_string(json_object_get(b, field)) &&
	    buf_puts(&st->acc[i], json_string_value(json_object_get(b,
	    field))) != 0)
		return WARD_ENOMEM;
	if (field != NULL && json_is_string(json_object_get(b, "signature")) &&
	    buf_puts(&st->sig[i], json_string_value(json_object_get(b,
	    "signature"))) != 0)
		return WARD_ENOMEM;
	return 0;
}

static int
anthropic_block_delta(struct anthropic_stream *st, json_t *ev)
{
	static const struct {
		const char	*delta, *field, *block;
	} kinds[] = {
		{ "text_delta", "text", "text" },
		{ "input_json_delta", "partial_json", "tool_use" },
		{ "thinking_delta", "thinking", "thinking" },
		{ "signature_delta", "signature", "thinking" },
	};
	json_t *d = json_object_get(ev, "delta"), *idx;
	const char *type = json_string_value(json_object_get(d, "type"));
	const char *btype, *s;
	size_t i, k;

	idx = json_object_get(ev, "index");
	if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
	    (size_t)json_integer_value(idx) >= json_array_size(st->content))
		return anthropic_proto(st, "delta for no open block");
	i = (size_t)json_integer_value(idx);
	btype = json_string_value(json_object_get(json_array_get(st->content,
	    i), "type"));
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (type != NULL && strcmp(type, kinds[k].delta) == 0)
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return 0;	/* a delta kind newer than this code */
	s = json_string_value(json_object_get(d, kinds[k].field));
	if (s == NULL || strcmp(btype, kinds[k].block) != 0)
		return anthropic_proto(st, "delta does not fit its block");
	if (buf_puts(k == 3 ? &st->sig[i] : &st->acc[i], s) != 0)
		return anthropic_proto(st, "block over the size cap");
	return 0;
}

/* Moves the streamed text into the blocks once the message is complete. */
static int
anthropic_finish(struct anthropic_stream *st)
{
	json_t *b, *input;
	const char *type;
	size_t i;
	int rc = 0;

	json_array_foreach(st->content, i, b) {
		type = json_string_value(json_object_get(b, "type"));
		if (strcmp(type, "tool_use") == 0) {
			if (st->acc[i].len == 0)
				continue;
			input = json_loadb(st->acc[i].data, st->acc[i].len, 0,
			    NULL);
			if (!json_is_object(input)) {
				json_decref(input);
				return anthropic_proto(st, "tool input is not "
				    "a JSON object");
			}
			rc = json_object_set_new(b, "input", input);
		} else if (strcmp(type, "text") == 0 ||
		    strcmp(type, "thinking") == 0) {
			rc = json_object_set_new(b, type, json_stringn(
			    st->acc[i].data != NULL ? st->acc[i].data : "",
			    st->acc[i].len));
			if (rc == 0 && strcmp(type, "thinking") == 0)
				rc = json_object_set_new(b, "signature",
				    json_stringn(st->sig[i].data != NULL ?
				    st->sig[i].data : "", st->sig[i].len));
		}
		if (rc != 0)
			return anthropic_proto(st, "block text is not UTF-8");
	}
	return 0;
}

static int
anthropic_event(void *arg, const char *event, char *data, size_t len)
{
	struct anthropic_stream *st = arg;
	json_error_t jerr;
	json_t *ev, *v;
	const char *type;
	int rc = 0;

	if ((ev = json_loadb(data, len, 0, &jerr)) == NULL) {
		buf_printf(st->err, "anthropic: malformed stream event: %s",
		    jerr.text);
		return WARD_EPROTO;
	}
	if ((type = json_string_value(json_object_get(ev, "type"))) == NULL)
		type = event;
	if (strcmp(type, "error") == 0) {
		v = json_object_get(ev, "error");
		buf_puts(st->err, "anthropic: ");
		http_put_text(&st->a->http, json_is_string(json_object_get(v,
		    "message")) ? json_string_value(json_object_get(v,
		    "message")) : "error event", st->err);
		rc = WARD_EIO;
	} else if (st->done || strcmp(type, "ping") == 0)
		;
	else if (strcmp(type, "message_start") == 0) {
		v = json_object_get(json_object_get(ev, "message"), "usage");
		st->in_tokens = anthropic_count(v, "input_tokens") +
		    anthropic_count(v, "cache_creation_input_tokens") +
		    anthropic_count(v, "cache_read_input_tokens");
		st->out_tokens = anthropic_count(v, "output_tokens");
		st->started = 1;
	} else if (!st->started)
		rc = anthropic_proto(st, "no message_start");
	else if (strcmp(type, "content_block_start") == 0)
		rc = anthropic_block_start(st, ev);
	else if (strcmp(type, "content_block_delta") == 0)
		rc = anthropic_block_delta(st, ev);
	else if (strcmp(type, "message_delta") == 0) {
		v = json_object_get(json_object_get(ev, "delta"),
		    "stop_reason");
		if (json_is_string(v)) {
			free(st->stop);
			if ((st->stop = strdup(json_string_value(v))) == NULL)
				rc = WARD_ENOMEM;
		}
		v = json_object_get(ev, "usage");
		if (json_is_integer(json_object_get(v, "output_tokens")))
			st->out_tokens = anthropic_count(v, "output_tokens");
	} else if (strcmp(type, "message_stop") == 0) {
		if ((rc = anthropic_finish(st)) == 0)
			st->done = 1;
	}
	/* content_block_stop needs nothing; unknown events are ignored, as
	 * the API asks. */
	json_decref(ev);
	return rc;
}

static int
anthropic_parse_stream(struct anthropic *a, const struct buf *body,
    struct llm_reply *reply, struct buf *err)
{
	struct anthropic_stream st;
	size_t i;
	int rc;

	memset(&st, 0, sizeof(st));
	st.a = a;
	st.err = err;
	if ((st.content = json_array()) == NULL)
		return WARD_ENOMEM;
	rc = http_sse(body->data, body->len, anthropic_event, &st);
	if (rc == 0 && !st.done) {
		buf_puts(err, "anthropic: stream ended before message_stop");
		rc = WARD_EPROTO;
	}
	if (rc == 0 && (rc = anthropic_reply(st.content, st.stop, reply,
	    err)) == 0) {
		reply->input_tokens = st.in_tokens;
		reply->output_tokens = st.out_tokens;
	}
	for (i = 0; i < json_array_size(st.content); i++) {
		buf_free(&st.acc[i]);
		buf_free(&st.sig[i]);
	}
	free(st.acc);
	free(st.sig);
	free(st.stop);
	json_decref(st.content);
	return rc;
}

static int
anthropic_parse_whole(const struct buf *body,
    struct llm_reply *reply, struct buf *err)
{
	json_error_t jerr;
	json_t *j, *usage;
	int rc;

	if ((j = json_loadb(body->data, body->len, 0, &jerr)) == NULL) {
		buf_printf(err, "anthropic: malformed response: %s", jerr.text);
		return WARD_EPROTO;
	}
	if (!json_is_string(json_object_get(j, "type")) ||
	    strcmp(json_string_value(json_object_get(j, "type")),
	    "message") != 0) {
		buf_puts(err, "anthropic: response is not a message");
		rc = WARD_EPROTO;
		goto out;
	}
	if ((rc = anthropic_reply(json_object_get(j, "content"),
	    json_string_value(json_object_get(j, "stop_reason")), reply,
	    err)) != 0)
		goto out;
	usage = json_object_get(j, "usage");
	reply->input_tokens = anthropic_count(usage, "input_tokens") +
	    anthropic_count(usage, "cache_creation_input_tokens") +
	    anthropic_count(usage, "cache_read_input_tokens");
	reply->output_tokens = anthropic_count(usage, "output_tokens");
out:
	json_decref(j);
	return rc;
}

/* The text a content_block_delta event adds to a text block. */
static const char *
anthropic_text_of(json_t *ev)
{
	json_t *d = json_object_get(ev, "delta");
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *dtype = json_string_value(json_object_get(d, "type"));

	if (type == NULL || strcmp(type, "content_block_delta") != 0 ||
	    dtype == NULL || strcmp(dtype, "text_delta") != 0)
		return NULL;
	return json_string_value(json_object_get(d, "text"));
}

static int
anthropic_chat(struct llm *l, const struct llm_request *req,
    struct llm_reply *reply, struct buf *err)
{
	struct anthropic *a = (struct anthropic *)l;
	struct http_text_preview tp;
	struct http_resp r;
	char *body = NULL;
	int rc;

	if ((rc = anthropic_request(a, req, &body, err)) != 0)
		return rc;
	http_preview_begin(&a->http, &tp, req, anthropic_text_of);
	rc = http_post(&a->http, body, &r, err);
	http_preview_end(&a->http);
	if (rc != 0)
		goto out;
	if (strcmp(r.ctype, "text/event-stream") == 0)
		rc = anthropic_parse_stream(a, &r.body, reply, err);
	else if (strcmp(r.ctype, "application/json") == 0)
		rc = anthropic_parse_whole(&r.body, reply, err);
	else {
		buf_printf(err, "anthropic: unexpected content type '%s'",
		    r.ctype);
		rc = WARD_EPROTO;
	}
	http_resp_free(&r);
out:
	if (rc != 0)
		llm_reply_clear(reply);
	free(body);
	return rc;
}

static void
anthropic_info(const struct llm *l, struct llm_info *info)
{
	const struct anthropic *a = (const struct anthropic *)l;

	info->provider = "anthropic";
	info->name = a->model;
	info->context_length = a->context_length;
	info->max_tokens = a->max_tokens;
}

static void
anthropic_free(struct llm *l)
{
	struct anthropic *a = (struct anthropic *)l;

	http_close(&a->http);
	free(a->model);
	free(a);
}

static const struct llm_ops anthropic_ops = {
	.info = anthropic_info,
	.chat = anthropic_chat,
	.free = anthropic_free,
};

int
anthropic_open(struct llm **out, const struct llm_config *cfg,
    struct buf *err)
{
	struct anthropic *a;
	const char *base;
	char *key = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (cfg->model == NULL || *cfg->model == '\0') {
		buf_puts(err, "anthropic: no model name");
		return WARD_EINVAL;
	}
	if ((rc = http_key("ANTHROPIC_API_KEY", 1, &key, err)) != 0)
		return rc;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	a->base.ops = &anthropic_ops;
	a->context_length = cfg->context_length ? cfg->context_length : 200000;
	a->max_tokens = cfg->max_tokens ? cfg->max_tokens : 8192;
	if ((base = cfg->base_url) == NULL &&
	    ((base = getenv("ANTHROPIC_BASE_URL")) == NULL || *base == '\0'))
		base = ANTHROPIC_URL;
	if ((rc = http_open(&a->http, "anthropic", base, "/v1/messages", key,
	    err)) != 0)
		goto out;
	if ((a->model = strdup(cfg->model)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((rc = http_header(&a->http, "x-api-key", key, err)) != 0 ||
	    (rc = http_header(&a->http, "anthropic-version",
	    ANTHROPIC_VERSION, err)) != 0 ||
	    (rc = http_header(&a->http, "content-type", "application/json",
	    err)) != 0)
		goto out;
	for (i = 0; i < cfg->nheaders; i++)
		if ((rc = http_header(&a->http, cfg->headers[i].name,
		    cfg->headers[i].value, err)) != 0)
			goto out;
out:
	http_key_free(key);
	if (rc != 0) {
		if (a != NULL)
			anthropic_free(&a->base);
		return rc;
	}
	*out = &a->base;
	return 0;
}

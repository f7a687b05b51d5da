/*
 * The `openai`, `openrouter` and `openai-compatible` providers: the Chat
 * Completions API (POST {base}/chat/completions), streamed as
 * chat.completion.chunk events ending in [DONE], or answered whole. A
 * streamed tool call arrives as deltas keyed only by index, its arguments
 * split anywhere; they are collected per index and checked as JSON objects
 * once the stream is complete. Arguments are passed on as the model wrote
 * them, so they go back unchanged in the history.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/err.h"
#include "http.h"
#include "llm.h"
#include "llm_impl.h"

#define OPENAI_URL		"https://api.openai.com/v1"
#define OPENROUTER_URL		"https://openrouter.ai/api/v1"
#define OPENAI_MAX_CALLS	128

struct openai {
	struct llm	 base;
	struct http	 http;
	char		*provider;
	char		*model;
	const char	*max_key;	/* the request's max-tokens field */
	unsigned	 context_length;
	unsigned	 max_tokens;	/* 0: not sent */
};

struct openai_call {
	struct buf	id, name, args;
};

/* A reply being collected, streamed or whole. */
struct openai_acc {
	struct openai		*o;
	struct buf		 text;
	struct openai_call	 calls[OPENAI_MAX_CALLS];
	size_t			 ncalls;
	char			*finish;
	unsigned		 in_tokens, out_tokens;
	int			 done;
	struct buf		*err;
};

static unsigned
openai_count(json_t *usage, const char *key)
{
	json_int_t n = json_integer_value(json_object_get(usage, key));

	return n < 0 ? 0 : n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

static json_t *
openai_message(const struct llm_message *m, struct buf *err)
{
	json_t *j = NULL, *calls;
	size_t i;

	switch (m->role) {
	case LLM_USER:
		return json_pack("{s:s,s:s}", "role", "user", "content",
		    m->content != NULL ? m->content : "");
	case LLM_TOOL:
		if (m->tool_call_id == NULL) {
			buf_puts(err, "openai: a tool result answers no call");
			return NULL;
		}
		return json_pack("{s:s,s:s,s:s}", "role", "tool",
		    "tool_call_id", m->tool_call_id, "content",
		    m->content != NULL ? m->content : "");
	case LLM_ASSISTANT:
		break;
	}
	if (m->ncalls > 0 && (m->content == NULL || *m->content == '\0'))
		j = json_pack("{s:s,s:n}", "role", "assistant", "content");
	else
		j = json_pack("{s:s,s:s}", "role", "assistant", "content",
		    m->content != NULL ? m->content : "");
	if (j == NULL || m->ncalls == 0)
		return j;
	if ((calls = json_array()) == NULL ||
	    json_object_set_new(j, "tool_calls", calls) != 0)
		goto fail;
	for (i = 0; i < m->ncalls; i++) {
		if (m->calls[i].id == NULL || m->calls[i].name == NULL) {
			buf_printf(err, "openai: tool call %zu has no id or "
			    "name", i);
			goto fail;
		}
		if (json_array_append_new(calls, json_pack(
		    "{s:s,s:s,s:{s:s,s:s}}", "id", m->calls[i].id, "type",
		    "function", "function", "name", m->calls[i].name,
		    "arguments", m->calls[i].arguments != NULL &&
		    *m->calls[i].arguments != '\0' ? m->calls[i].arguments :
		    "{}")) != 0)
			goto fail;
	}
	return j;
fail:
	json_decref(j);
	return NULL;
}

static int
openai_request(const struct openai *o, const struct llm_request *req,
    char **out, struct buf *err)
{
	json_t *root, *msgs, *tools, *schema;
	size_t i;
	int rc = WARD_EINVAL;

	*out = NULL;
	root = json_pack("{s:s,s:b,s:{s:b}}", "model", o->model, "stream", 1,
	    "stream_options", "include_usage", 1);
	msgs = json_array();
	tools = json_array();
	if (root == NULL || msgs == NULL || tools == NULL)
		goto out;
	if (o->max_tokens > 0 && json_object_set_new(root, o->max_key,
	    json_integer(o->max_tokens)) != 0)
		goto out;
	if (req->system != NULL && *req->system != '\0' &&
	    json_array_append_new(msgs, json_pack("{s:s,s:s}", "role",
	    "system", "content", req->system)) != 0)
		goto out;
	for (i = 0; i < req->nmsgs; i++)
		if (json_array_append_new(msgs, openai_message(&req->msgs[i],
		    err)) != 0)
			goto out;
	for (i = 0; i < req->ntools; i++) {
		schema = json_loads(req->tools[i].parameters, 0, NULL);
		if (!json_is_object(schema) || json_array_append_new(tools,
		    json_pack("{s:s,s:{s:s,s:s,s:o}}", "type", "function",
		    "function", "name", req->tools[i].name, "description",
		    req->tools[i].description != NULL ?
		    req->tools[i].description : "", "parameters",
		    schema)) != 0) {
			buf_printf(err, "openai: tool %zu has a bad "
			    "declaration", i);
			goto out;
		}
	}
	if (json_object_set(root, "messages", msgs) != 0 ||
	    (json_array_size(tools) > 0 &&
	    json_object_set(root, "tools", tools) != 0))
		goto out;
	if ((*out = json_dumps(root, JSON_COMPACT)) == NULL)
		goto out;
	rc = 0;
out:
	if (rc != 0 && err->len == 0)
		buf_puts(err, "openai: cannot encode the request (text that is "
		    "not UTF-8?)");
	json_decref(tools);
	json_decref(msgs);
	json_decref(root);
	return rc;
}

static int
openai_proto(struct openai_acc *acc, const char *what)
{
	buf_printf(acc->err, "%s: malformed response: %s", acc->o->provider,
	    what);
	return WARD_EPROTO;
}

/* Adds one tool call or call delta; index keys the slot. */
static int
openai_add_call(struct openai_acc *acc, json_t *c, size_t dflt)
{
	json_t *idx = json_object_get(c, "index"), *fn, *v;
	struct openai_call *slot;
	size_t i = dflt;

	if (idx != NULL) {
		if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
		    json_integer_value(idx) >= OPENAI_MAX_CALLS)
			return openai_proto(acc, "bad tool call index");
		i = (size_t)json_integer_value(idx);
	}
	if (i >= OPENAI_MAX_CALLS)
		return openai_proto(acc, "too many tool calls");
	for (; acc->ncalls <= i; acc->ncalls++) {
		buf_init(&acc->calls[acc->ncalls].id, HTTP_MAX_BODY);
		buf_init(&acc->calls[acc->ncalls].name, HTTP_MAX_BODY);
		buf_init(&acc->calls[acc->ncalls].args, HTTP_MAX_BODY);
	}
	slot = &acc->calls[i];
	fn = json_object_get(c, "function");
	if (json_is_string(v = json_object_get(c, "id")) &&
	    json_string_length(v) > 0) {
		buf_reset(&slot->id);
		if (buf_puts(&slot->id, json_string_value(v)) != 0)
			return WARD_ENOMEM;
	}
	if (json_is_string(v = json_object_get(fn, "name")) &&
	    json_string_length(v) > 0) {
		buf_reset(&slot->name);
		if (buf_puts(&slot->name, json_string_value(v)) != 0)
			return WARD_ENOMEM;
	}
	if (json_is_string(v = json_object_get(fn, "arguments")) &&
	    buf_puts(&slot->args, json_string_value(v)) != 0)
		return WARD_ENOMEM;
	return 0;
}

/* Takes what a choice (a whole message or one delta) carries. */
static int
openai_choice(struct openai_acc *acc, json_t *choice, const char *part)
{
	json_t *m = json_object_get(choice, part), *v, *c;
	size_t i;
	int rc;

	if (m != NULL && !json_is_object(m))
		return openai_proto(acc, "choice is not an object");
	if (json_is_string(v = json_object_get(m, "content")) &&
	    buf_puts(&acc->text, json_string_value(v)) != 0)
		return WARD_ENOMEM;
	if ((v = json_object_get(m, "tool_calls")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_array(v))
			return openai_proto(acc, "tool_calls is not an array");
		json_array_foreach(v, i, c)
			if ((rc = openai_add_call(acc, c, i)) != 0)
				return rc;
	}
	if (json_is_string(v = json_object_get(choice, "finish_reason"))) {
		free(acc->finish);
		if ((acc->finish = strdup(json_string_value(v))) == NULL)
			return WARD_ENOMEM;
	}
	return 0;
}

/* Errors and usage may come in any chunk or in the whole reply. */
static int
openai_common(struct openai_acc *acc, json_t *j)
{
	json_t *e = json_object_get(j, "error"), *u;

	if (e != NULL) {
		buf_printf(acc->err, "%s: ", acc->o->provider);
		http_put_text(&acc->o->http, json_is_string(json_object_get(e,
		    "message")) ? json_string_value(json_object_get(e,
		    "message")) : "error in the response", acc->err);
		return WARD_EIO;
	}
	if (json_is_object(u = json_object_get(j, "usage"))) {
		acc->in_tokens = openai_count(u, "prompt_tokens");
		acc->out_tokens = openai_count(u, "completion_tokens");
	}
	return 0;
}

static int
openai_event(void *arg, const char *event, char *data, size_t len)
{
	struct openai_acc *acc = arg;
	json_error_t jerr;
	json_t *j, *choices;
	int rc;

	(void)event;
	if (acc->done)
		return 0;
	if (strcmp(data, "[DONE]") == 0) {
		acc->done = 1;
		return 0;
	}
	if ((j = json_loadb(data, len, 0, &jerr)) == NULL) {
		buf_printf(acc->err, "%s: malformed stream event: %s",
		    acc->o->provider, jerr.text);
		return WARD_EPROTO;
	}
	if ((rc = openai_common(acc, j)) == 0) {
		choices = json_object_get(j, "choices");
		if (!json_is_array(choices))
			rc = openai_proto(acc, "chunk has no choices");
		else if (json_array_size(choices) > 0)
			rc = openai_choice(acc, json_array_get(choices, 0),
			    "delta");
	}
	json_decref(j);
	return rc;
}

static int
openai_whole(struct openai_acc *acc, const struct buf *body)
{
	json_error_t jerr;
	json_t *j, *choices;
	int rc;

	if ((j = json_loadb(body->data, body->len, 0, &jerr)) == NULL) {
		buf_printf(acc->err, "%s: malformed response: %s",
		    acc->o->provider, jerr.text);
		return WARD_EPROTO;
	}
	if ((rc = openai_common(acc, j)) == 0) {
		choices = json_object_get(j, "choices");
		if (json_array_size(choices) == 0)
			rc = openai_proto(acc, "no choices");
		else
			rc = openai_choice(acc, json_array_get(choices, 0),
			    "message");
	}
	json_decref(j);
	return rc;
}

static char *
openai_take(struct buf *b)
{
	return b->data != NULL ? buf_take(b) : strdup("");
}

static int
openai_reply(struct openai_acc *acc, struct llm_reply *reply)
{
	struct llm_message *m = &reply->msg;
	struct openai_call *c;
	json_t *args;
	size_t i;

	m->role = LLM_ASSISTANT;
	if (acc->ncalls > 0 && (m->calls = calloc(acc->ncalls,
	    sizeof(*m->calls))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < acc->ncalls; i++) {
		c = &acc->calls[i];
		if (c->name.len == 0)
			return openai_proto(acc, "tool call without a name");
		if (c->args.len == 0 && buf_puts(&c->args, "{}") != 0)
			return WARD_ENOMEM;
		args = json_loadb(c->args.data, c->args.len, 0, NULL);
		if (!json_is_object(args)) {
			json_decref(args);
			return openai_proto(acc, "tool call arguments are not "
			    "a JSON object");
		}
		json_decref(args);
		/* Some compatible servers send no id; the agent needs one. */
		if (c->id.len == 0 && buf_printf(&c->id, "call_%zu", i) != 0)
			return WARD_ENOMEM;
		m->ncalls++;
		if ((m->calls[i].id = openai_take(&c->id)) == NULL ||
		    (m->calls[i].name = openai_take(&c->name)) == NULL ||
		    (m->calls[i].arguments = openai_take(&c->args)) == NULL)
			return WARD_ENOMEM;
	}
	if ((m->content = openai_take(&acc->text)) == NULL)
		return WARD_ENOMEM;
	if (acc->finish != NULL && strcmp(acc->finish, "length") == 0)
		reply->stop = LLM_STOP_MAX_TOKENS;
	else if (m->ncalls > 0)
		reply->stop = LLM_STOP_TOOL_USE;
	else if (acc->finish != NULL && strcmp(acc->finish, "stop") == 0)
		reply->stop = LLM_STOP_END_TURN;
	else
		reply->stop = LLM_STOP_OTHER;
	reply->input_tokens = acc->in_tokens;
	reply->output_tokens = acc->out_tokens;
	return 0;
}

/* The text a chat.completion.chunk adds: its first choice's delta. */
static const char *
openai_text_of(json_t *chunk)
{
	return json_string_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(chunk, "choices"), 0), "delta"),
	    "content"));
}

static int
openai_chat(struct llm *l, const struct llm_request *req,
    struct llm_reply *reply, struct buf *err)
{
	struct openai *o = (struct openai *)l;
	struct http_text_preview tp;
	struct openai_acc acc;
	struct http_resp r;
	char *body = NULL;
	size_t i;
	int rc;

	memset(&acc, 0, sizeof(acc));
	acc.o = o;
	acc.err = err;
	buf_init(&acc.text, HTTP_MAX_BODY);
	if ((rc = openai_request(o, req, &body, err)) != 0)
		goto out;
	http_preview_begin(&o->http, &tp, req, openai_text_of);
	rc = http_post(&o->http, body, &r, err);
	http_preview_end(&o->http);
	if (rc != 0)
		goto out;
	if (strcmp(r.ctype, "text/event-stream") == 0) {
		rc = http_sse(r.body.data, r.body.len, openai_event, &acc);
		if (rc == 0 && !acc.done) {
			buf_printf(err, "%s: stream ended before [DONE]",
			    o->provider);
			rc = WARD_EPROTO;
		}
	} else if (strcmp(r.ctype, "application/json") == 0)
		rc = openai_whole(&acc, &r.body);
	else {
		buf_printf(err, "%s: unexpected content type '%s'",
		    o->provider, r.ctype);
		rc = WARD_EPROTO;
	}
	http_resp_free(&r);
	if (rc == 0)
		rc = openai_reply(&acc, reply);
out:
	if (rc != 0)
		llm_reply_clear(reply);
	for (i = 0; i < acc.ncalls; i++) {
		buf_free(&acc.calls[i].id);
		buf_free(&acc.calls[i].name);
		buf_free(&acc.calls[i].args);
	}
	buf_free(&acc.text);
	free(acc.finish);
	free(body);
	return rc;
}

static void
openai_info(const struct llm *l, struct llm_info *info)
{
	const struct openai *o = (const struct openai *)l;

	info->provider = o->provider;
	info->name = o->model;
	info->context_length = o->context_length;
	info->max_tokens = o->max_tokens ? o->max_tokens : 8192;
}

static void
openai_free(struct llm *l)
{
	struct openai *o = (struct openai *)l;

	http_close(&o->http);
	free(o->provider);
	free(o->model);
	free(o);
}

static const struct llm_ops openai_ops = {
	.info = openai_info,
	.chat = openai_chat,
	.free = openai_free,
};

int
openai_open(struct llm **out, const struct llm_config *cfg, struct buf *err)
{
	struct openai *o;
	const char *base = cfg->base_url, *keyvar = "OPENAI_API_KEY", *env;
	char *key = NULL, *bearer = NULL;
	int compat = strcmp(cfg->provider, "openai-compatible") == 0;
	int router = strcmp(cfg->provider, "openrouter") == 0;
	size_t i;
	int rc;

	*out = NULL;
	if (cfg->model == NULL || *cfg->model == '\0') {
		buf_printf(err, "%s: no model name", cfg->provider);
		return WARD_EINVAL;
	}
	if (router)
		keyvar = "OPENROUTER_API_KEY";
	else if (compat)	/* never the user's OpenAI key */
		keyvar = "OPENAI_COMPATIBLE_API_KEY";
	if ((rc = http_key(keyvar, !compat, &key, err)) != 0)
		return rc;
	if (base == NULL && !router && (env = getenv("OPENAI_BASE_URL")) !=
	    NULL && *env != '\0')
		base = env;
	if (base == NULL && !compat)
		base = router ? OPENROUTER_URL : OPENAI_URL;
	if (base == NULL) {
		buf_puts(err, "openai-compatible: set [model] base_url or "
		    "OPENAI_BASE_URL");
		http_key_free(key);
		return WARD_EINVAL;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	o->base.ops = &openai_ops;
	o->context_length = cfg->context_length ? cfg->context_length : 128000;
	o->max_tokens = cfg->max_tokens;
	/* OpenAI's reasoning models refuse max_tokens; others want it. */
	o->max_key = strcmp(cfg->provider, "openai") == 0 ?
	    "max_completion_tokens" : "max_tokens";
	if ((o->provider = strdup(cfg->provider)) == NULL ||
	    (o->model = strdup(cfg->model)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((rc = http_open(&o->http, o->provider, base, "/chat/completions",
	    key, err)) != 0)
		goto out;
	if (key != NULL) {
		if (asprintf(&bearer, "Bearer %s", key) == -1) {
			bearer = NULL;
			rc = WARD_ENOMEM;
			goto out;
		}
		if ((rc = http_header(&o->http, "Authorization", bearer,
		    err)) != 0)
			goto out;
	}
	if ((rc = http_header(&o->http, "Content-Type", "application/json",
	    err)) != 0)
		goto out;
	for (i = 0; i < cfg->nheaders; i++)
		if ((rc = http_header(&o->http, cfg->headers[i].name,
		    cfg->headers[i].value, err)) != 0)
			goto out;
out:
	http_key_free(bearer);
	http_key_free(key);
	if (rc != 0) {
		if (o != NULL)
			openai_free(&o->base);
		return rc;
	}
	*out = &o->base;
	return 0;
}

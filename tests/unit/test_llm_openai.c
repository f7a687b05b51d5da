/*
 * Unit tests for the `openai`, `openrouter` and `openai-compatible`
 * providers through llm_open/llm_chat against a loopback server speaking
 * Chat Completions (tests/integ/llm_server.py): streamed chunks with tool
 * call deltas split and interleaved by index, [DONE], whole replies, tool
 * messages answering the right ids, each provider's key and endpoint,
 * retries (Retry-After, 5xx), and the responses that must fail without
 * killing the provider. No error text may hold an API key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "llm/llm.h"
#include "llmsrv.h"
#include "tap.h"

#define KEY	"sk-proj-TESTKEY-0123456789abcdef"
#define RKEY	"sk-or-v1-ROUTERKEY-fedcba9876543210"

static struct buf errs;		/* every error text, checked for the keys */

static struct llm *
open_provider(const char *provider, const char *base_url)
{
	struct llm_config cfg;
	struct llm *l = NULL;
	struct buf err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = provider;
	cfg.model = "gpt-test";
	cfg.max_tokens = 777;
	cfg.base_url = base_url;
	buf_init(&err, 0);
	if (llm_open(&l, &cfg, &err) != 0) {
		printf("# %s\n", err.data);
		die("llm_open");
	}
	buf_free(&err);
	return l;
}

static int
chat(struct llm *l, const struct llm_message *m, size_t n,
    struct llm_reply *r, struct buf *err)
{
	static const struct llm_tool_decl tools[] = {
		{ "file_read", "Read a file", "{\"type\":\"object\","
		    "\"properties\":{\"path\":{\"type\":\"string\"}}}" },
	};
	struct llm_request req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.system = "be brief";
	req.msgs = m;
	req.nmsgs = n;
	req.tools = tools;
	req.ntools = 1;
	buf_reset(err);
	rc = llm_chat(l, &req, r, err);
	if (err->len > 0)
		buf_printf(&errs, "%s\n", err->data);
	return rc;
}

static int
chat1(struct llm *l, struct llm_reply *r, struct buf *err)
{
	struct llm_message m;

	memset(&m, 0, sizeof(m));
	m.role = LLM_USER;
	m.content = (char *)"hello";
	return chat(l, &m, 1, r, err);
}

/* Two calls whose arguments hold characters that need escaping. */
static const char tool_reply[] =
    "{\"content\":\"Reading \\u00e9 two.\",\"tool_calls\":["
    "{\"id\":\"call_AAA\",\"name\":\"file_read\","
	"\"arguments\":\"{\\\"path\\\": \\\"src/a \\\\\\\"q\\\\\\\".c\\\"}\"},"
    "{\"id\":\"call_BBB\",\"name\":\"grep\","
	"\"arguments\":\"{\\\"pattern\\\":\\\"TODO|FIXME\\\",\\\"n\\\":[1,2]}\"}],"
    "\"finish_reason\":\"tool_calls\","
    "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":22}}";

static const char text_reply[] =
    "{\"content\":\"All done \\u2603.\",\"finish_reason\":\"stop\","
    "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}";

static void
queue1(int stream, const char *reply, const char *more)
{
	char *line;

	if (asprintf(&line, "{%s\"openai\":%s%s}\n", stream ?
	    "\"stream\":true," : "", reply, more) == -1)
		die("asprintf");
	srv_queue(line);
	free(line);
}

static int
json_is(json_t *j, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);
	int eq;

	if (w == NULL)
		die("bad JSON in a test");
	eq = json_equal(j, w);
	json_decref(w);
	return eq;
}

static void
check_tool_reply(const struct llm_reply *r, const char *what)
{
	is_str(r->msg.content, "Reading \xc3\xa9 two.", "%s: text", what);
	is_int(r->stop, LLM_STOP_TOOL_USE, "%s: stop tool_use", what);
	is_int(r->input_tokens, 11, "%s: prompt tokens", what);
	is_int(r->output_tokens, 22, "%s: completion tokens", what);
	is_int(r->msg.ncalls, 2, "%s: two calls", what);
	if (r->msg.ncalls != 2)
		return;
	is_str(r->msg.calls[0].id, "call_AAA", "%s: id 0", what);
	is_str(r->msg.calls[0].name, "file_read", "%s: name 0", what);
	is_str(r->msg.calls[0].arguments, "{\"path\": \"src/a \\\"q\\\".c\"}",
	    "%s: arguments 0, as the model wrote them", what);
	is_str(r->msg.calls[1].id, "call_BBB", "%s: id 1", what);
	is_str(r->msg.calls[1].arguments,
	    "{\"pattern\":\"TODO|FIXME\",\"n\":[1,2]}",
	    "%s: arguments 1 (interleaved with 0 in the stream)", what);
	ok(r->msg.provider_blocks == NULL, "%s: no provider_blocks", what);
}

static void
test_openai(void)
{
	struct llm_message h[4];
	struct llm_reply r, r2;
	struct llm *l;
	struct buf err;
	json_t *reqs, *b, *msgs, *m;

	buf_init(&err, 0);
	l = open_provider("openai", NULL);
	queue1(1, tool_reply, "");
	is_int(chat1(l, &r, &err), 0, "stream with two tool calls: ok");
	check_tool_reply(&r, "stream");
	reqs = srv_requests();
	is_int(json_array_size(reqs), 1, "one request");
	is_str(json_string_value(json_object_get(json_array_get(reqs, 0),
	    "path")), "/v1/chat/completions", "path under OPENAI_BASE_URL");
	is_str(srv_header(reqs, 0, "authorization"), "Bearer " KEY,
	    "Authorization: Bearer OPENAI_API_KEY");
	ok(srv_header(reqs, 0, "x-api-key") == NULL, "no x-api-key");
	is_str(srv_header(reqs, 0, "content-type"), "application/json",
	    "content-type");
	b = srv_body(reqs, 0);
	is_str(json_string_value(json_object_get(b, "model")), "gpt-test",
	    "model");
	ok(json_is_true(json_object_get(b, "stream")) && json_is(
	    json_object_get(b, "stream_options"), "{\"include_usage\":true}"),
	    "stream with usage");
	is_int(json_integer_value(json_object_get(b, "max_completion_tokens")),
	    777, "max_completion_tokens for openai");
	ok(json_is(json_object_get(b, "messages"), "[{\"role\":\"system\","
	    "\"content\":\"be brief\"},{\"role\":\"user\",\"content\":"
	    "\"hello\"}]"), "system and user messages");
	ok(json_is(json_object_get(b, "tools"), "[{\"type\":\"function\","
	    "\"function\":{\"name\":\"file_read\",\"description\":"
	    "\"Read a file\",\"parameters\":{\"type\":\"object\","
	    "\"properties\":{\"path\":{\"type\":\"string\"}}}}}]"),
	    "tools as functions");
	json_decref(b);
	json_decref(reqs);

	/* The history goes back: calls with their ids, results answering
	 * them. */
	memset(h, 0, sizeof(h));
	h[0].role = LLM_USER;
	h[0].content = (char *)"hello";
	h[1] = r.msg;
	h[1].content = NULL;	/* r still owns the text */
	h[2].role = LLM_TOOL;
	h[2].tool_call_id = (char *)"call_BBB";
	h[2].content = (char *)"no match";
	h[3].role = LLM_TOOL;
	h[3].tool_call_id = (char *)"call_AAA";
	h[3].content = (char *)"int x;";
	h[3].is_error = 1;
	queue1(0, text_reply, "");
	is_int(chat(l, h, 4, &r2, &err), 0, "whole JSON reply: ok");
	is_str(r2.msg.content, "All done \xe2\x98\x83.", "whole: text");
	is_int(r2.stop, LLM_STOP_END_TURN, "whole: stop");
	is_int(r2.msg.ncalls, 0, "whole: no calls");
	reqs = srv_requests();
	b = srv_body(reqs, 0);
	msgs = json_object_get(b, "messages");
	is_int(json_array_size(msgs), 5, "system, user, assistant, 2 tools");
	m = json_array_get(msgs, 2);
	ok(json_is(m, "{\"role\":\"assistant\",\"content\":null,"
	    "\"tool_calls\":[{\"id\":\"call_AAA\",\"type\":\"function\","
	    "\"function\":{\"name\":\"file_read\",\"arguments\":"
	    "\"{\\\"path\\\": \\\"src/a \\\\\\\"q\\\\\\\".c\\\"}\"}},"
	    "{\"id\":\"call_BBB\",\"type\":\"function\",\"function\":"
	    "{\"name\":\"grep\",\"arguments\":\"{\\\"pattern\\\":"
	    "\\\"TODO|FIXME\\\",\\\"n\\\":[1,2]}\"}}]}"),
	    "assistant: content null, tool_calls with ids and the arguments "
	    "text unchanged");
	ok(json_is(json_array_get(msgs, 3), "{\"role\":\"tool\","
	    "\"tool_call_id\":\"call_BBB\",\"content\":\"no match\"}"),
	    "tool message answers call_BBB");
	ok(json_is(json_array_get(msgs, 4), "{\"role\":\"tool\","
	    "\"tool_call_id\":\"call_AAA\",\"content\":\"int x;\"}"),
	    "tool message answers call_AAA");
	json_decref(b);
	json_decref(reqs);
	llm_reply_clear(&r);
	llm_reply_clear(&r2);

	queue1(0, tool_reply, ",\"plain\":true");
	is_int(chat1(l, &r, &err), 0, "whole reply with tool calls: ok");
	check_tool_reply(&r, "whole");
	llm_reply_clear(&r);

	queue1(1, "{\"content\":\"x\",\"tool_calls\":[{\"id\":\"\","
	    "\"name\":\"t\",\"arguments\":\"\"}],\"finish_reason\":\"stop\"}",
	    "");
	is_int(chat1(l, &r, &err), 0, "a call with no id or arguments: ok");
	ok(r.msg.ncalls == 1 && strcmp(r.msg.calls[0].id, "call_0") == 0 &&
	    strcmp(r.msg.calls[0].arguments, "{}") == 0 &&
	    r.stop == LLM_STOP_TOOL_USE,
	    "it gets id call_0, arguments {} and stop tool_use");
	llm_reply_clear(&r);
	queue1(1, "{\"content\":\"cut\",\"finish_reason\":\"length\"}", "");
	is_int(chat1(l, &r, &err), 0, "finish length: ok");
	is_int(r.stop, LLM_STOP_MAX_TOKENS, "finish length: max_tokens");
	is_int(r.input_tokens, 0, "no usage chunk: 0 tokens");
	llm_reply_clear(&r);
	llm_free(l);
	buf_free(&err);
}

static void
test_others(void)
{
	struct llm_config cfg;
	struct llm_reply r;
	struct llm *l;
	struct buf err;
	json_t *reqs, *b;
	char url[64];

	buf_init(&err, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/", srv_port);
	l = open_provider("openrouter", url);
	queue1(1, text_reply, "");
	is_int(chat1(l, &r, &err), 0, "openrouter: ok");
	reqs = srv_requests();
	is_str(json_string_value(json_object_get(json_array_get(reqs, 0),
	    "path")), "/api/v1/chat/completions", "openrouter: base_url, "
	    "trailing slash dropped");
	is_str(srv_header(reqs, 0, "authorization"), "Bearer " RKEY,
	    "openrouter: OPENROUTER_API_KEY");
	b = srv_body(reqs, 0);
	is_int(json_integer_value(json_object_get(b, "max_tokens")), 777,
	    "openrouter: max_tokens");
	json_decref(b);
	json_decref(reqs);
	llm_reply_clear(&r);
	llm_free(l);

	unsetenv("OPENAI_API_KEY");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", srv_port);
	l = open_provider("openai-compatible", url);
	queue1(1, text_reply, "");
	is_int(chat1(l, &r, &err), 0, "openai-compatible without a key: ok");
	reqs = srv_requests();
	ok(srv_header(reqs, 0, "authorization") == NULL,
	    "openai-compatible without a key: no Authorization");
	json_decref(reqs);
	llm_reply_clear(&r);
	llm_free(l);

	/* The user's OpenAI key never goes to a compatible server (whose
	 * address a project's ward.toml may name); its own key does. */
	setenv("OPENAI_API_KEY", KEY, 1);
	l = open_provider("openai-compatible", url);
	queue1(1, text_reply, "");
	is_int(chat1(l, &r, &err), 0, "openai-compatible with only "
	    "OPENAI_API_KEY set: ok");
	reqs = srv_requests();
	ok(srv_header(reqs, 0, "authorization") == NULL,
	    "  and OPENAI_API_KEY is not sent");
	json_decref(reqs);
	llm_reply_clear(&r);
	llm_free(l);
	setenv("OPENAI_COMPATIBLE_API_KEY", "compat-key-1", 1);
	l = open_provider("openai-compatible", url);
	queue1(1, text_reply, "");
	is_int(chat1(l, &r, &err), 0, "openai-compatible with its own key");
	reqs = srv_requests();
	ok(srv_header(reqs, 0, "authorization") != NULL &&
	    strcmp(srv_header(reqs, 0, "authorization"),
	    "Bearer compat-key-1") == 0, "  sends OPENAI_COMPATIBLE_API_KEY");
	json_decref(reqs);
	llm_reply_clear(&r);
	llm_free(l);
	unsetenv("OPENAI_COMPATIBLE_API_KEY");
	unsetenv("OPENAI_API_KEY");

	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = "openai";
	cfg.model = "m";
	buf_reset(&err);
	ok(llm_open(&l, &cfg, &err) == WARD_EINVAL &&
	    strstr(err.data, "OPENAI_API_KEY") != NULL,
	    "openai without a key: EINVAL naming the variable");
	setenv("OPENAI_API_KEY", KEY, 1);
	cfg.provider = "openai-compatible";
	unsetenv("OPENAI_BASE_URL");
	buf_reset(&err);
	ok(llm_open(&l, &cfg, &err) == WARD_EINVAL &&
	    strstr(err.data, "base_url") != NULL,
	    "openai-compatible without an endpoint: EINVAL");
	cfg.provider = "openai-compat";
	buf_reset(&err);
	ok(llm_open(&l, &cfg, &err) == WARD_EINVAL &&
	    strstr(err.data, "unknown model provider") != NULL,
	    "an unknown provider: EINVAL");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", srv_port);
	setenv("OPENAI_BASE_URL", url, 1);
	buf_free(&err);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_retries(void)
{
	struct llm_reply r;
	struct llm *l;
	struct buf err;
	json_t *reqs;
	char *line;
	double t0;
	int rc;

	buf_init(&err, 0);
	l = open_provider("openai", NULL);
	/* WARD_LLM_RETRY_MS=5 scales Retry-After seconds: 40 is 200 ms, far
	 * above the 5 ms backoff; only a lower bound is checked. */
	if (asprintf(&line, "{\"status\":429,\"headers\":{\"Retry-After\":"
	    "\"40\"},\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"Rate "
	    "limit reached\\\"}}\"}\n{\"stream\":true,\"openai\":%s}\n",
	    text_reply) == -1)
		die("asprintf");
	srv_queue(line);
	free(line);
	t0 = now();
	rc = chat1(l, &r, &err);
	is_int(rc, 0, "429 then success");
	ok(now() - t0 >= 0.2, "Retry-After was waited for");
	reqs = srv_requests();
	is_int(json_array_size(reqs), 2, "429: two requests");
	json_decref(reqs);
	llm_reply_clear(&r);

	if (asprintf(&line, "{\"status\":500}\n{\"status\":502}\n"
	    "{\"status\":500}\n{\"stream\":true,\"openai\":%s}\n",
	    text_reply) == -1)
		die("asprintf");
	srv_queue(line);
	free(line);
	is_int(chat1(l, &r, &err), 0, "three 5xx then success");
	reqs = srv_requests();
	is_int(json_array_size(reqs), 4, "5xx: four requests");
	json_decref(reqs);
	llm_reply_clear(&r);

	srv_queue("{\"status\":401,\"body\":\"{\\\"error\\\":{\\\"message\\\":"
	    "\\\"Incorrect API key provided: " KEY "\\\"}}\"}\n");
	is_int(chat1(l, &r, &err), WARD_EIO, "401: EIO");
	ok(strstr(err.data, "HTTP 401") != NULL &&
	    strstr(err.data, "provided: [redacted]") != NULL,
	    "401: message shown with the key cut (%s)", err.data);
	reqs = srv_requests();
	is_int(json_array_size(reqs), 1, "401: not retried");
	json_decref(reqs);
	llm_free(l);
	buf_free(&err);
}

static void
bad(struct llm *l, const char *line, int want, const char *needle,
    const char *what)
{
	struct llm_reply r;
	struct buf err;
	char *q;
	int rc;

	buf_init(&err, 0);
	if (asprintf(&q, "%s\n{\"stream\":true,\"openai\":%s}\n", line,
	    text_reply) == -1)
		die("asprintf");
	srv_queue(q);
	free(q);
	rc = chat1(l, &r, &err);
	is_int(rc, want, "%s: %s", what, ward_strerror(want));
	ok(r.msg.content == NULL && r.msg.ncalls == 0, "%s: empty reply",
	    what);
	ok(err.data != NULL && strstr(err.data, needle) != NULL,
	    "%s: message has '%s' (%s)", what, needle,
	    err.data ? err.data : "");
	rc = chat1(l, &r, &err);
	is_int(rc, 0, "%s: the next request works", what);
	llm_reply_clear(&r);
	buf_free(&err);
}

static void
test_bad(void)
{
	struct llm *l = open_provider("openai", NULL);
	char *big, *line;
	size_t n = (8u << 20) + 10;

	bad(l, "{\"stream\":true,\"openai\":{\"content\":\"abc\","
	    "\"finish_reason\":\"stop\"},\"drop_tail\":1}", WARD_EPROTO,
	    "before [DONE]", "a stream without [DONE]");
	bad(l, "{\"stream\":true,\"openai\":{\"content\":\"abcdefghijklmn\","
	    "\"finish_reason\":\"stop\"},\"cut\":200}", WARD_EPROTO,
	    "truncated", "connection dropped mid-chunk");
	bad(l, "{\"ctype\":\"text/event-stream\",\"body\":\"data: "
	    "{\\\"choices\\\":[{\\\"delta\\\":{\\\"content\\\":\\\"a\\\"}}]}"
	    "\\n\\ndata: {\\\"choices\\\": [nope\\n\\ndata: [DONE]\\n\\n\"}",
	    WARD_EPROTO, "malformed stream event", "garbage JSON in a chunk");
	bad(l, "{\"body\":\"{\\\"choices\\\":\"}", WARD_EPROTO,
	    "malformed response", "garbage whole JSON");
	bad(l, "{\"body\":\"{\\\"choices\\\":[]}\"}", WARD_EPROTO,
	    "no choices", "a whole reply without choices");
	bad(l, "{\"ctype\":\"text/plain\",\"body\":\"hello\"}", WARD_EPROTO,
	    "content type 'text/plain'", "wrong content type");
	bad(l, "{\"ctype\":\"text/event-stream\",\"body\":\"data: {\\\"error\\\":"
	    "{\\\"message\\\":\\\"model overloaded\\\"}}\\n\\n\"}", WARD_EIO,
	    "model overloaded", "an error chunk");
	bad(l, "{\"stream\":true,\"openai\":{\"tool_calls\":[{\"id\":\"c\","
	    "\"name\":\"t\",\"arguments\":\"{\\\"a\\\":\"}],"
	    "\"finish_reason\":\"tool_calls\"}}", WARD_EPROTO,
	    "not a JSON object", "tool arguments that are not JSON");
	bad(l, "{\"ctype\":\"text/event-stream\",\"body\":\"data: "
	    "{\\\"choices\\\":[{\\\"delta\\\":{\\\"tool_calls\\\":[{\\\"index\\\":"
	    "1000000,\\\"function\\\":{\\\"name\\\":\\\"x\\\"}}]}}]}\\n\\n"
	    "data: [DONE]\\n\\n\"}", WARD_EPROTO, "bad tool call index",
	    "a tool call index past the cap");
	bad(l, "{\"ctype\":\"text/event-stream\",\"body\":\"data: "
	    "{\\\"choices\\\":[{\\\"delta\\\":{\\\"tool_calls\\\":[{\\\"index\\\":"
	    "0,\\\"function\\\":{\\\"arguments\\\":\\\"{}\\\"}}]}}]}\\n\\n"
	    "data: [DONE]\\n\\n\"}", WARD_EPROTO, "without a name",
	    "a tool call that never gets a name");

	if ((big = malloc(n + 1)) == NULL)
		die("malloc");
	memset(big, 'a', n);
	big[n] = '\0';
	if (asprintf(&line, "{\"chunk\":65536,\"ctype\":\"text/event-stream\","
	    "\"body\":\"%s\"}", big) == -1)
		die("asprintf");
	bad(l, line, WARD_EPROTO, "response over", "a body over 8 MiB");
	free(line);
	free(big);
	llm_free(l);
}

int
main(void)
{
	buf_init(&errs, 0);
	setenv("OPENAI_API_KEY", KEY, 1);
	setenv("OPENROUTER_API_KEY", RKEY, 1);
	srv_start();
	test_openai();
	test_others();
	test_retries();
	test_bad();
	ok(errs.data != NULL && strstr(errs.data, "TESTKEY") == NULL &&
	    strstr(errs.data, "ROUTERKEY") == NULL,
	    "no error text holds an API key");
	buf_free(&errs);
	srv_stop();
	return done_testing();
}

/*
 * Unit tests for the `anthropic` provider through llm_open/llm_chat against
 * a loopback server speaking the Messages API (tests/integ/llm_server.py):
 * streamed and whole replies over chunked encoding, thinking blocks carried
 * back byte for byte, tool results answering the right ids, retries on 429
 * (Retry-After), 5xx and refused connections, and the responses that must
 * fail without killing the provider: truncated, cut, garbage, oversized,
 * wrong content type, error events. No error text may hold the API key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "llm/llm.h"
#include "llmsrv.h"
#include "tap.h"

#define KEY	"sk-ant-TESTKEY-0123456789abcdef"

static struct buf errs;		/* every error text, checked for the key */

static const struct llm_header extra[] = { { "x-extra", "yes" } };

static struct llm *
open_anthropic(void)
{
	struct llm_config cfg;
	struct llm *l = NULL;
	struct buf err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = "anthropic";
	cfg.model = "claude-test";
	cfg.max_tokens = 1234;
	cfg.headers = extra;
	cfg.nheaders = 1;
	buf_init(&err, 0);
	if (llm_open(&l, &cfg, &err) != 0) {
		printf("# %s\n", err.data);
		die("llm_open anthropic");
	}
	buf_free(&err);
	return l;
}

/* One user turn, two tools. */
static int
chat1(struct llm *l, struct llm_reply *r, struct buf *err)
{
	static const struct llm_tool_decl tools[] = {
		{ "file_read", "Read a file", "{\"type\":\"object\","
		    "\"properties\":{\"path\":{\"type\":\"string\"}}}" },
		{ "grep", "Search", "{\"type\":\"object\"}" },
	};
	struct llm_message m;
	struct llm_request req;
	int rc;

	memset(&m, 0, sizeof(m));
	m.role = LLM_USER;
	m.content = (char *)"hello \xc3\xa9";
	memset(&req, 0, sizeof(req));
	req.system = "be brief";
	req.msgs = &m;
	req.nmsgs = 1;
	req.tools = tools;
	req.ntools = 2;
	buf_reset(err);
	rc = llm_chat(l, &req, r, err);
	if (err->len > 0)
		buf_printf(&errs, "%s\n", err->data);
	return rc;
}

static const char tool_msg[] =
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-test\",\"content\":["
    "{\"type\":\"thinking\",\"thinking\":\"Let me think \\u00e9 about "
	"\\\"it\\\"/\\n\",\"signature\":\"EqQBCkYIARgCIkD+/sig==\"},"
    "{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgBEgy3va3\"},"
    "{\"type\":\"text\",\"text\":\"I will read two files.\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_A1\",\"name\":\"file_read\","
	"\"input\":{\"path\":\"src/main.c\",\"n\":[1,2,{\"k\":\"v\"}]}},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_B2\",\"name\":\"grep\","
	"\"input\":{\"pattern\":\"TODO\"}}],"
    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":100,\"cache_read_input_tokens\":20,"
	"\"output_tokens\":50}}";

static const char text_msg[] =
    "{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-test\",\"content\":[{\"type\":\"text\","
    "\"text\":\"Done: caf\\u00e9 \\u2603 ok.\"}],"
    "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":7,"
    "\"output_tokens\":3}}";

/* Queues one answer: msg streamed, or whole with `more` fields. */
static void
queue1(int stream, const char *msg, const char *more)
{
	char *line;

	if (asprintf(&line, "{%s\"anthropic\":%s%s}\n", stream ?
	    "\"stream\":true," : "", msg, more) == -1)
		die("asprintf");
	srv_queue(line);
	free(line);
}

/* Whether j equals the JSON text want. */
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
check_request(json_t *reqs, size_t i, const char *what)
{
	json_t *b = srv_body(reqs, i), *tools;

	is_str(json_string_value(json_object_get(json_array_get(reqs, i),
	    "path")), "/v1/messages", "%s: path", what);
	is_str(srv_header(reqs, i, "x-api-key"), KEY, "%s: x-api-key", what);
	is_str(srv_header(reqs, i, "anthropic-version"), "2023-06-01",
	    "%s: anthropic-version", what);
	is_str(srv_header(reqs, i, "content-type"), "application/json",
	    "%s: content-type", what);
	is_str(srv_header(reqs, i, "x-extra"), "yes", "%s: [model] headers",
	    what);
	ok(srv_header(reqs, i, "authorization") == NULL,
	    "%s: no Authorization header", what);
	is_str(json_string_value(json_object_get(b, "model")), "claude-test",
	    "%s: model", what);
	is_int(json_integer_value(json_object_get(b, "max_tokens")), 1234,
	    "%s: max_tokens", what);
	ok(json_is_true(json_object_get(b, "stream")), "%s: stream", what);
	is_str(json_string_value(json_object_get(b, "system")), "be brief",
	    "%s: system", what);
	tools = json_object_get(b, "tools");
	ok(json_array_size(tools) == 2 && json_is_object(json_object_get(
	    json_array_get(tools, 0), "input_schema")) &&
	    json_is(json_object_get(json_object_get(json_object_get(
	    json_array_get(tools, 0), "input_schema"), "properties"), "path"),
	    "{\"type\":\"string\"}"),
	    "%s: tools with input_schema", what);
	is_str(json_string_value(json_object_get(json_array_get(json_object_get(
	    json_array_get(json_object_get(b, "messages"), 0), "content"), 0),
	    "text")), "hello \xc3\xa9", "%s: the user's text", what);
	json_decref(b);
}

static void
check_tool_reply(const struct llm_reply *r, const char *what)
{
	json_t *a, *want;

	is_str(r->msg.content, "I will read two files.", "%s: text", what);
	is_int(r->stop, LLM_STOP_TOOL_USE, "%s: stop tool_use", what);
	is_int(r->input_tokens, 120, "%s: input tokens (cache included)",
	    what);
	is_int(r->output_tokens, 50, "%s: output tokens", what);
	is_int(r->msg.ncalls, 2, "%s: two calls", what);
	if (r->msg.ncalls != 2)
		return;
	is_str(r->msg.calls[0].id, "toolu_A1", "%s: id 1", what);
	is_str(r->msg.calls[0].name, "file_read", "%s: name 1", what);
	a = json_loads(r->msg.calls[0].arguments, 0, NULL);
	want = json_loads("{\"path\":\"src/main.c\",\"n\":[1,2,{\"k\":\"v\"}]}",
	    0, NULL);
	ok(json_equal(a, want), "%s: arguments 1 (rebuilt from deltas)", what);
	json_decref(a);
	json_decref(want);
	is_str(r->msg.calls[1].id, "toolu_B2", "%s: id 2", what);
	is_str(r->msg.calls[1].arguments, "{\"pattern\":\"TODO\"}",
	    "%s: arguments 2", what);
	a = json_loads(r->msg.provider_blocks != NULL ?
	    r->msg.provider_blocks : "", 0, NULL);
	want = json_loads("[{\"type\":\"thinking\",\"thinking\":\"Let me "
	    "think \\u00e9 about \\\"it\\\"/\\n\",\"signature\":"
	    "\"EqQBCkYIARgCIkD+/sig==\"},{\"type\":\"redacted_thinking\","
	    "\"data\":\"EmwKAhgBEgy3va3\"}]", 0, NULL);
	ok(json_equal(a, want), "%s: provider_blocks hold thinking with its "
	    "signature and redacted_thinking", what);
	if (!json_equal(a, want))
		printf("#   got %s\n", r->msg.provider_blocks);
	json_decref(a);
	json_decref(want);
}

/* The history after a tool-use reply goes back with the thinking blocks
 * first and unchanged, and one user message answering both ids. */
static void
test_round_trip(struct llm *l)
{
	struct llm_message h[5];
	struct llm_request req;
	struct llm_reply r, r2;
	struct buf err;
	json_t *reqs, *b, *msgs, *asst, *user, *c;
	const char *body;
	char *inner;
	int rc;

	buf_init(&err, 0);
	queue1(1, tool_msg, "");
	rc = chat1(l, &r, &err);
	is_int(rc, 0, "stream with thinking and tools: ok");
	check_tool_reply(&r, "stream");
	reqs = srv_requests();
	is_int(json_array_size(reqs), 1, "stream: one request");
	check_request(reqs, 0, "stream");
	json_decref(reqs);

	memset(h, 0, sizeof(h));
	h[0].role = LLM_USER;
	h[0].content = (char *)"hello \xc3\xa9";
	h[1] = r.msg;
	h[2].role = LLM_TOOL;
	h[2].tool_call_id = (char *)"toolu_A1";
	h[2].content = (char *)"int main(void)";
	h[3].role = LLM_TOOL;
	h[3].tool_call_id = (char *)"toolu_B2";
	h[3].content = (char *)"denied by policy";
	h[3].is_error = 1;
	h[4].role = LLM_USER;
	h[4].content = (char *)"and then?";
	memset(&req, 0, sizeof(req));
	req.msgs = h;
	req.nmsgs = 5;
	queue1(1, text_msg, "");
	rc = llm_chat(l, &req, &r2, &err);
	is_int(rc, 0, "second turn: ok");
	is_str(r2.msg.content, "Done: caf\xc3\xa9 \xe2\x98\x83 ok.",
	    "second turn: UTF-8 text split across chunks");
	is_int(r2.stop, LLM_STOP_END_TURN, "second turn: end_turn");
	ok(r2.msg.provider_blocks == NULL, "no thinking: provider_blocks NULL");
	reqs = srv_requests();
	body = json_string_value(json_object_get(json_array_get(reqs, 0),
	    "body"));
	/* The blocks are spliced into the content array: their text without
	 * its brackets must appear as is. */
	inner = r.msg.provider_blocks != NULL ?
	    strndup(r.msg.provider_blocks + 1,
	    strlen(r.msg.provider_blocks) - 2) : NULL;
	ok(body != NULL && inner != NULL && strstr(body, inner) != NULL,
	    "the thinking blocks go back byte for byte");
	free(inner);
	b = srv_body(reqs, 0);
	msgs = json_object_get(b, "messages");
	is_int(json_array_size(msgs), 3, "user, assistant, user");
	ok(json_object_get(b, "system") == NULL, "no system: no field");
	ok(json_object_get(b, "tools") == NULL, "no tools: no field");
	asst = json_object_get(json_array_get(msgs, 1), "content");
	is_str(json_string_value(json_object_get(json_array_get(msgs, 1),
	    "role")), "assistant", "assistant role");
	is_str(json_string_value(json_object_get(json_array_get(asst, 0),
	    "type")), "thinking", "thinking first");
	is_str(json_string_value(json_object_get(json_array_get(asst, 0),
	    "signature")), "EqQBCkYIARgCIkD+/sig==", "with its signature");
	is_str(json_string_value(json_object_get(json_array_get(asst, 1),
	    "type")), "redacted_thinking", "then redacted_thinking");
	is_str(json_string_value(json_object_get(json_array_get(asst, 2),
	    "text")), "I will read two files.", "then the text");
	c = json_array_get(asst, 3);
	ok(json_is(json_object_get(c, "input"), "{\"path\":"
	    "\"src/main.c\",\"n\":[1,2,{\"k\":\"v\"}]}") &&
	    strcmp(json_string_value(json_object_get(c, "id")), "toolu_A1") ==
	    0, "then tool_use toolu_A1 with its input object");
	user = json_object_get(json_array_get(msgs, 2), "content");
	is_int(json_array_size(user), 3, "two tool results and the text in "
	    "one user message");
	c = json_array_get(user, 0);
	ok(strcmp(json_string_value(json_object_get(c, "type")),
	    "tool_result") == 0 && strcmp(json_string_value(json_object_get(c,
	    "tool_use_id")), "toolu_A1") == 0 && strcmp(json_string_value(
	    json_object_get(c, "content")), "int main(void)") == 0 &&
	    json_is_false(json_object_get(c, "is_error")),
	    "tool_result answers toolu_A1");
	c = json_array_get(user, 1);
	ok(strcmp(json_string_value(json_object_get(c, "tool_use_id")),
	    "toolu_B2") == 0 && json_is_true(json_object_get(c, "is_error")),
	    "tool_result answers toolu_B2 as an error");
	is_str(json_string_value(json_object_get(json_array_get(user, 2),
	    "text")), "and then?", "then the user's text");
	json_decref(b);
	json_decref(reqs);
	llm_reply_clear(&r);
	llm_reply_clear(&r2);
	buf_free(&err);
}

static void
test_whole(struct llm *l)
{
	struct llm_reply r;
	struct buf err;

	buf_init(&err, 0);
	queue1(0, tool_msg, "");
	is_int(chat1(l, &r, &err), 0, "whole JSON reply, chunked: ok");
	check_tool_reply(&r, "whole");
	llm_reply_clear(&r);
	queue1(0, text_msg, ",\"plain\":true");
	is_int(chat1(l, &r, &err), 0, "whole JSON reply, Content-Length: ok");
	is_str(r.msg.content, "Done: caf\xc3\xa9 \xe2\x98\x83 ok.", "its text");
	is_int(r.input_tokens, 7, "its input tokens");
	llm_reply_clear(&r);
	buf_free(&err);
}

static void
test_retries(struct llm *l)
{
	struct llm_reply r;
	struct buf err;
	json_t *reqs;
	char *line;
	int rc;

	buf_init(&err, 0);
	if (asprintf(&line, "{\"status\":429,\"headers\":{\"Retry-After\":"
	    "\"1\"},\"body\":\"{\\\"type\\\":\\\"error\\\",\\\"error\\\":"
	    "{\\\"type\\\":\\\"rate_limit_error\\\",\\\"message\\\":\\\"slow"
	    "\\\"}}\"}\n{\"stream\":true,\"anthropic\":%s}\n", text_msg) == -1)
		die("asprintf");
	srv_queue(line);
	free(line);
	rc = chat1(l, &r, &err);
	is_int(rc, 0, "429 with Retry-After, then success");
	reqs = srv_requests();
	is_int(json_array_size(reqs), 2, "429: two requests");
	json_decref(reqs);
	llm_reply_clear(&r);

	if (asprintf(&line, "{\"status\":500,\"body\":\"oops\"}\n"
	    "{\"status\":529,\"body\":\"{}\"}\n"
	    "{\"stream\":true,\"anthropic\":%s}\n", text_msg) == -1)
		die("asprintf");
	srv_queue(line);
	free(line);
	rc = chat1(l, &r, &err);
	is_int(rc, 0, "500, 529, then success");
	reqs = srv_requests();
	is_int(json_array_size(reqs), 3, "5xx: three requests");
	is_str(r.msg.content, "Done: caf\xc3\xa9 \xe2\x98\x83 ok.",
	    "5xx: the reply after the retries");
	json_decref(reqs);
	llm_reply_clear(&r);

	srv_queue("{\"status\":503,\"body\":\"{\\\"error\\\":{\\\"message\\\":"
	    "\\\"down\\\"}}\"}\n{\"status\":503}\n{\"status\":503}\n"
	    "{\"status\":503}\n{\"status\":503}\n");
	rc = chat1(l, &r, &err);
	is_int(rc, WARD_EIO, "503 every time: EIO");
	reqs = srv_requests();
	is_int(json_array_size(reqs), 4, "503: attempts capped at 4");
	ok(strstr(err.data, "HTTP 503") != NULL &&
	    strstr(err.data, "4 attempts") != NULL,
	    "503: the message says so (%s)", err.data);
	json_decref(reqs);

	srv_queue("{\"status\":401,\"body\":\"{\\\"type\\\":\\\"error\\\","
	    "\\\"error\\\":{\\\"type\\\":\\\"authentication_error\\\","
	    "\\\"message\\\":\\\"invalid x-api-key " KEY "\\\"}}\"}\n"
	    "{\"status\":200}\n");
	rc = chat1(l, &r, &err);
	is_int(rc, WARD_EIO, "401: EIO");
	reqs = srv_requests();
	is_int(json_array_size(reqs), 1, "401: not retried");
	ok(strstr(err.data, "invalid x-api-key [redacted]") != NULL,
	    "401: the server's message, its echo of the key cut (%s)",
	    err.data);
	json_decref(reqs);
	buf_free(&err);
}

/* Each bad response is an error; the same provider then works. */
static void
bad(struct llm *l, const char *line, int want, const char *needle,
    const char *what)
{
	struct llm_reply r;
	struct buf err;
	char *q;
	int rc;

	buf_init(&err, 0);
	if (asprintf(&q, "%s\n{\"stream\":true,\"anthropic\":%s}\n", line,
	    text_msg) == -1)
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
test_bad(struct llm *l)
{
	char *big, *line;
	size_t n = (8u << 20) + 10;

	bad(l, "{\"stream\":true,\"anthropic\":{\"type\":\"message\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"partial\"}],"
	    "\"stop_reason\":\"end_turn\"},\"drop_tail\":2}", WARD_EPROTO,
	    "before message_stop", "stream ends without message_stop");
	bad(l, "{\"stream\":true,\"anthropic\":{\"type\":\"message\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"partial text here\"}],"
	    "\"stop_reason\":\"end_turn\"},\"cut\":300}", WARD_EPROTO,
	    "truncated", "connection dropped mid-chunk");
	bad(l, "{\"ctype\":\"text/event-stream\",\"body\":\"event: "
	    "message_start\\ndata: {\\\"type\\\":\\\"message_start\\\","
	    "\\\"message\\\":{}}\\n\\ndata: {garbage\\n\\n\"}", WARD_EPROTO,
	    "malformed stream event", "garbage JSON in an event");
	bad(l, "{\"body\":\"{\\\"type\\\":\\\"message\\\",\"}", WARD_EPROTO,
	    "malformed response", "garbage whole JSON");
	bad(l, "{\"body\":\"[1,2]\"}", WARD_EPROTO, "not a message",
	    "JSON that is not a message");
	bad(l, "{\"ctype\":\"text/html\",\"body\":\"<html>hi</html>\"}",
	    WARD_EPROTO, "content type 'text/html'", "wrong content type");
	bad(l, "{\"ctype\":\"text/event-stream\",\"body\":\"event: "
	    "message_start\\ndata: {\\\"type\\\":\\\"message_start\\\","
	    "\\\"message\\\":{}}\\n\\nevent: error\\ndata: {\\\"type\\\":"
	    "\\\"error\\\",\\\"error\\\":{\\\"type\\\":\\\"overloaded_error\\\","
	    "\\\"message\\\":\\\"Overloaded\\\"}}\\n\\n\"}", WARD_EIO,
	    "Overloaded", "an error event mid-stream");
	bad(l, "{\"ctype\":\"text/event-stream\",\"body\":\"data: "
	    "{\\\"type\\\":\\\"message_start\\\",\\\"message\\\":{}}\\n\\n"
	    "data: {\\\"type\\\":\\\"content_block_delta\\\",\\\"index\\\":3,"
	    "\\\"delta\\\":{\\\"type\\\":\\\"text_delta\\\",\\\"text\\\":"
	    "\\\"x\\\"}}\\n\\n\"}", WARD_EPROTO, "no open block",
	    "a delta for a block never started");
	bad(l, "{\"stream\":true,\"anthropic\":{\"type\":\"message\","
	    "\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"x\","
	    "\"input\":\"not an object\"}],\"stop_reason\":\"tool_use\"}}",
	    WARD_EPROTO, "not a JSON object", "tool input that is not an object");

	if ((big = malloc(n + 1)) == NULL)
		die("malloc");
	memset(big, 'a', n);
	big[n] = '\0';
	if (asprintf(&line, "{\"chunk\":65536,\"body\":\"%s\"}", big) == -1)
		die("asprintf");
	bad(l, line, WARD_EPROTO, "response over", "a body over 8 MiB");
	free(line);
	free(big);
}

static void
test_open(void)
{
	struct llm_config cfg;
	struct llm_header h = { "x-evil", "a\r\nx-api-key: other" };
	struct llm *l = (struct llm *)1;
	struct llm_reply r;
	struct buf err;
	int rc;

	buf_init(&err, 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = "anthropic";
	cfg.model = "m";
	unsetenv("ANTHROPIC_API_KEY");
	rc = llm_open(&l, &cfg, &err);
	is_int(rc, WARD_EINVAL, "no key: EINVAL");
	ok(l == NULL && strstr(err.data, "ANTHROPIC_API_KEY") != NULL,
	    "no key: the message names the variable");
	setenv("ANTHROPIC_API_KEY", "sk-bad\nkey", 1);
	buf_reset(&err);
	rc = llm_open(&l, &cfg, &err);
	is_int(rc, WARD_EINVAL, "a key with a newline: EINVAL");
	ok(strstr(err.data, "sk-bad") == NULL, "and the key is not shown");
	setenv("ANTHROPIC_API_KEY", KEY, 1);
	cfg.base_url = "file:///etc/passwd";
	buf_reset(&err);
	is_int(llm_open(&l, &cfg, &err), WARD_EINVAL, "a file: URL: EINVAL");
	cfg.base_url = NULL;
	cfg.headers = &h;
	cfg.nheaders = 1;
	buf_reset(&err);
	is_int(llm_open(&l, &cfg, &err), WARD_EINVAL,
	    "a header with CR LF: EINVAL");
	cfg.headers = NULL;
	cfg.nheaders = 0;
	cfg.model = "";
	buf_reset(&err);
	is_int(llm_open(&l, &cfg, &err), WARD_EINVAL, "no model: EINVAL");

	/* Nothing listens on port 1: every attempt fails to connect. */
	cfg.model = "m";
	cfg.base_url = "http://127.0.0.1:1/";
	buf_reset(&err);
	rc = llm_open(&l, &cfg, &err);
	is_int(rc, 0, "base_url from the config: opens");
	buf_reset(&err);
	rc = chat1(l, &r, &err);
	is_int(rc, WARD_EIO, "connection refused: EIO");
	ok(strstr(err.data, "4 attempts") != NULL,
	    "connection refused: retried (%s)", err.data);
	llm_free(l);
	buf_free(&err);
}

/* A server that stops sending mid-stream: the whole-request timeout
 * (shortened here) ends it, and a reply already begun is not retried. */
static void
test_timeout(void)
{
	struct llm_reply r;
	struct llm *l;
	struct buf err;
	json_t *reqs;

	buf_init(&err, 0);
	setenv("WARD_LLM_TIMEOUT_MS", "300", 1);
	l = open_anthropic();
	unsetenv("WARD_LLM_TIMEOUT_MS");
	queue1(1, text_msg, ",\"stall\":5");
	is_int(chat1(l, &r, &err), WARD_ETIMEOUT, "a stalled stream: "
	    "ETIMEOUT");
	reqs = srv_requests();
	is_int(json_array_size(reqs), 1, "a stalled stream: not retried");
	json_decref(reqs);
	llm_free(l);
	buf_free(&err);
}

int
main(void)
{
	struct llm *l;

	buf_init(&errs, 0);
	setenv("ANTHROPIC_API_KEY", KEY, 1);
	srv_start();
	l = open_anthropic();
	test_round_trip(l);
	test_whole(l);
	test_retries(l);
	test_bad(l);
	llm_free(l);
	test_timeout();
	test_open();
	ok(errs.data != NULL && strstr(errs.data, KEY) == NULL &&
	    strstr(errs.data, "TESTKEY") == NULL,
	    "no error text holds the API key");
	buf_free(&errs);
	srv_stop();
	return done_testing();
}

/*
 * Unit tests for the `script` model provider (doc/SCRIPT.md) through the
 * public llm interface: turns replayed in order with their defaults, error
 * and expect turns, exhaustion, and the open-time validation that reports a
 * bad script with its line number before a session starts.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "llm/llm.h"
#include "tap.h"
#include "util.h"

static char dir[PATH_MAX];


static void
path_in(char *dst, size_t n, const char *rel)
{
	if ((size_t)snprintf(dst, n, "%s/%s", dir, rel) >= n)
		die("path too long");
}

static void
put_n(const char *rel, const char *data, size_t n)
{
	char path[PATH_MAX];
	FILE *f;

	path_in(path, sizeof(path), rel);
	if ((f = fopen(path, "wb")) == NULL)
		die(path);
	if (n > 0 && fwrite(data, 1, n, f) != n)
		die(path);
	if (fclose(f) != 0)
		die(path);
}

static void
put(const char *rel, const char *text)
{
	put_n(rel, text, strlen(text));
}

static int
open_script(struct llm **l, const char *model, const char *root,
    struct buf *err)
{
	struct llm_config cfg = { .provider = "script", .model = model,
	    .root = root };

	buf_reset(err);
	return llm_open(l, &cfg, err);
}

static int
contains(const struct buf *b, const char *s)
{
	return b->data != NULL && strstr(b->data, s) != NULL;
}

/* Opens a script that must be refused with `want` and a message naming
 * `where` (a line number) and `why`. */
static void
bad_script_n(const char *text, size_t n, int want, const char *where,
    const char *why, const char *what)
{
	struct llm *l = (struct llm *)1;
	struct buf err;
	int rc;

	put_n("bad.jsonl", text, n);
	buf_init(&err, 0);
	rc = open_script(&l, "bad.jsonl", dir, &err);
	is_int(rc, want, "%s: %s", what, ward_strerror(want));
	ok(l == NULL, "%s: no provider", what);
	ok(contains(&err, where) && (why == NULL || contains(&err, why)),
	    "%s: message names '%s'%s%s", what, where, why ? " and " : "",
	    why ? why : "");
	if (!contains(&err, where) || (why != NULL && !contains(&err, why)))
		printf("#   message: %s\n", err.data ? err.data : "(none)");
	if (l != (struct llm *)1)
		llm_free(l);
	buf_free(&err);
}

static void
bad_script(const char *text, const char *where, const char *why,
    const char *what)
{
	bad_script_n(text, strlen(text), WARD_EPROTO, where, why, what);
}

/* --- replay ------------------------------------------------------------- */

static const char turns[] =
    "{\"text\":\"Let me look.\",\"tool_calls\":["
	"{\"name\":\"file_list\"},"
	"{\"name\":\"file_read\",\"arguments\":{\"path\":\"README.md\","
	    "\"b\":{\"z\":1,\"a\":[2,1]}}},"
	"{\"name\":\"x\",\"id\":\"mine\",\"arguments\":{}}]}\n"
    "\n"
    "   \t\r\n"
    "{\"text\":\"Done.\",\"usage\":{\"input_tokens\":12,\"output_tokens\":34}}\n"
    "{\"stop\":\"max_tokens\",\"text\":\"abcdefgh\"}\r\n"
    "{\"tool_calls\":[{\"name\":\"t\"}],\"stop\":\"end_turn\"}\n"
    "{\"error\":\"rate limited (429)\"}\n"
    "{\"text\":\"after the error\",\"tool_calls\":[],\"stop\":\"tool_use\","
	"\"usage\":{\"input_tokens\":0,\"output_tokens\":4294967295}}\n"
    "{\"tool_calls\":[{\"name\":\"n\",\"id\":\"\"},{\"name\":\"m\"}]}";

static void
test_replay(void)
{
	struct llm_message msgs[2];
	struct llm_request req;
	struct llm_reply r;
	struct llm_info info;
	struct llm *l = NULL;
	struct buf err;
	char path[PATH_MAX];
	int rc;

	memset(msgs, 0, sizeof(msgs));
	msgs[0].role = LLM_USER;
	msgs[0].content = (char *)"abcd";
	msgs[1].role = LLM_USER;		/* content NULL is fine */
	memset(&req, 0, sizeof(req));
	req.system = "0123456789ab";
	req.msgs = msgs;
	req.nmsgs = 2;

	put("turns.jsonl", turns);
	path_in(path, sizeof(path), "turns.jsonl");
	buf_init(&err, 0);
	rc = open_script(&l, path, NULL, &err);
	is_int(rc, 0, "open an absolute path, root NULL");
	if (l == NULL) {
		printf("#   %s\n", err.data ? err.data : "");
		buf_free(&err);
		return;
	}
	llm_info(l, &info);
	is_str(info.provider, "script", "info: provider");
	is_str(info.name, path, "info: name is the script's path");
	is_int(info.context_length, 200000, "info: default context length");
	is_int(info.max_tokens, 8192, "info: default max tokens");

	/* Turn 0: tool calls with default ids and arguments, sorted keys. */
	rc = llm_chat(l, &req, &r, &err);
	is_int(rc, 0, "turn 0");
	ok(r.msg.role == LLM_ASSISTANT, "turn 0: role assistant");
	is_str(r.msg.content, "Let me look.", "turn 0: text");
	is_int(r.msg.ncalls, 3, "turn 0: three tool calls");
	if (r.msg.ncalls == 3) {
		is_str(r.msg.calls[0].id, "call_0_0", "call 0: default id");
		is_str(r.msg.calls[0].name, "file_list", "call 0: name");
		is_str(r.msg.calls[0].arguments, "{}", "call 0: default {}");
		is_str(r.msg.calls[1].id, "call_0_1", "call 1: default id");
		is_str(r.msg.calls[1].name, "file_read", "call 1: name");
		is_str(r.msg.calls[1].arguments,
		    "{\"b\":{\"a\":[2,1],\"z\":1},\"path\":\"README.md\"}",
		    "call 1: compact JSON, keys sorted at every level");
		is_str(r.msg.calls[2].id, "mine", "call 2: explicit id");
		is_str(r.msg.calls[2].arguments, "{}", "call 2: explicit {}");
	}
	ok(r.msg.tool_call_id == NULL && r.msg.is_error == 0,
	    "turn 0: no tool_call_id, not an error");
	ok(r.stop == LLM_STOP_TOOL_USE, "turn 0: stop defaults to tool_use");
	is_int(r.input_tokens, 4, "turn 0: input estimate (12 + 4) / 4");
	is_int(r.output_tokens, 3, "turn 0: output estimate 12 / 4");
	llm_reply_clear(&r);
	ok(r.msg.content == NULL && r.msg.calls == NULL && r.msg.ncalls == 0,
	    "reply_clear empties the reply");

	/* Blank and whitespace-only lines are skipped. */
	rc = llm_chat(l, &req, &r, &err);
	is_int(rc, 0, "turn 1");
	is_str(r.msg.content, "Done.", "turn 1: text (after blank lines)");
	ok(r.msg.ncalls == 0 && r.msg.calls == NULL, "turn 1: no calls");
	ok(r.stop == LLM_STOP_END_TURN, "turn 1: stop defaults to end_turn");
	is_int(r.input_tokens, 12, "turn 1: explicit input tokens");
	is_int(r.output_tokens, 34, "turn 1: explicit output tokens");
	llm_reply_clear(&r);

	rc = llm_chat(l, &req, &r, &err);
	is_int(rc, 0, "turn 2 (CRLF line)");
	is_str(r.msg.content, "abcdefgh", "turn 2: text");
	ok(r.stop == LLM_STOP_MAX_TOKENS, "turn 2: explicit max_tokens");
	is_int(r.output_tokens, 2, "turn 2: output estimate 8 / 4");
	llm_reply_clear(&r);

	rc = llm_chat(l, &req, &r, &err);
	is_int(rc, 0, "turn 3");
	is_str(r.msg.content, "", "turn 3: text defaults to \"\"");
	ok(r.msg.ncalls == 1 && strcmp(r.msg.calls[0].id, "call_3_0") == 0,
	    "turn 3: id counts turns, not lines");
	ok(r.stop == LLM_STOP_END_TURN, "turn 3: explicit end_turn with calls");
	is_int(r.output_tokens, 0, "turn 3: output estimate of \"\" is 0");
	llm_reply_clear(&r);

	/* An error turn fails the call with its message and is consumed. */
	buf_reset(&err);
	rc = llm_chat(l, &req, &r, &err);
	is_int(rc, WARD_EIO, "turn 4: an error turn fails the call");
	is_str(err.data, "rate limited (429)", "turn 4: with its message");
	ok(r.msg.content == NULL && r.msg.calls == NULL,
	    "turn 4: the reply holds nothing");

	buf_reset(&err);
	rc = llm_chat(l, &req, &r, &err);
	is_int(rc, 0, "turn 5: the error turn was consumed");
	is_str(r.msg.content, "after the error", "turn 5: text");
	ok(r.msg.ncalls == 0 && r.stop == LLM_STOP_TOOL_USE,
	    "turn 5: explicit tool_use with no calls");
	is_int(r.input_tokens, 0, "turn 5: explicit 0 input tokens");
	ok(r.output_tokens == 4294967295u, "turn 5: UINT32_MAX output tokens");
	llm_reply_clear(&r);

	rc = llm_chat(l, &req, &r, &err);
	is_int(rc, 0, "turn 6 (no final newline)");
	ok(r.msg.ncalls == 2, "turn 6: two calls");
	if (r.msg.ncalls == 2) {
		is_str(r.msg.calls[0].id, "", "turn 6: an explicit empty id");
		is_str(r.msg.calls[1].id, "call_6_1", "turn 6: default id");
	}
	llm_reply_clear(&r);

	/* Exhaustion, and it stays exhausted. */
	buf_reset(&err);
	rc = llm_chat(l, &req, &r, &err);
	ok(rc < 0, "past the last turn: an error (%d)", rc);
	ok(contains(&err, "no more turns") && contains(&err, "7 used"),
	    "past the last turn: 'no more turns (7 used)'");
	ok(r.msg.content == NULL, "past the last turn: the reply is empty");
	buf_reset(&err);
	rc = llm_chat(l, &req, &r, &err);
	ok(rc < 0 && contains(&err, "no more turns"), "and again");
	llm_free(l);
	llm_free(NULL);
	llm_reply_clear(NULL);
	llm_message_clear(NULL);
	ok(1, "llm_free(NULL), llm_reply_clear(NULL), "
	    "llm_message_clear(NULL) are no-ops");
	buf_free(&err);
}

/* --- expect ------------------------------------------------------------- */

static const char expects[] =
    "\n"
    "{\"text\":\"a\",\"expect\":{\"tool_result_contains\":\"README.md\"}}\n"
    "{\"text\":\"b\",\"expect\":{\"tool_result_contains\":\"needle\"}}\n"
    "{\"text\":\"c\",\"expect\":{\"tool_error\":true}}\n"
    "{\"text\":\"d\",\"expect\":{\"tool_error\":true}}\n"
    "\n"
    "{\"text\":\"e\",\"expect\":{\"tool_error\":false}}\n"
    "{\"text\":\"f\",\"expect\":{\"tool_error\":false}}\n"
    "{\"text\":\"g\",\"expect\":{\"tool_result_contains\":\"x\","
	"\"tool_error\":false}}\n"
    "{\"error\":\"boom\",\"expect\":{\"tool_result_contains\":\"zzz\"}}\n"
    "{\"error\":\"boom2\",\"expect\":{\"tool_result_contains\":\"zzz\"}}\n"
    "{\"text\":\"h\",\"expect\":{}}\n"
    "{\"text\":\"i\",\"expect\":{\"tool_result_contains\":\"\","
	"\"tool_error\":true}}\n"
    "{\"text\":\"j\",\"expect\":{\"tool_result_lacks\":\"secret\"}}\n"
    "{\"text\":\"k\",\"expect\":{\"tool_result_lacks\":\"secret\"}}\n";

static struct llm_message
msg(enum llm_role role, const char *content, int is_error)
{
	struct llm_message m;

	memset(&m, 0, sizeof(m));
	m.role = role;
	m.content = (char *)content;
	m.is_error = is_error;
	if (role == LLM_TOOL)
		m.tool_call_id = (char *)"call_0_0";
	return m;
}

static int
chat_with(struct llm *l, const struct llm_message *m, size_t n,
    const char *want_text, struct buf *err)
{
	struct llm_request req;
	struct llm_reply r;
	int rc;

	memset(&req, 0, sizeof(req));
	req.msgs = m;
	req.nmsgs = n;
	buf_reset(err);
	rc = llm_chat(l, &req, &r, err);
	if (rc == 0 && want_text != NULL &&
	    (r.msg.content == NULL || strcmp(r.msg.content, want_text) != 0))
		rc = 1;
	llm_reply_clear(&r);
	return rc;
}

static void
test_expect(void)
{
	struct llm_message m[6];
	struct llm *l = NULL;
	struct buf err;
	int rc;

	put("expect.jsonl", expects);
	buf_init(&err, 0);
	rc = open_script(&l, "expect.jsonl", dir, &err);
	is_int(rc, 0, "open the expect script");
	if (l == NULL) {
		buf_free(&err);
		return;
	}

	/* Line 2: the text is in a tool result since the last assistant. */
	m[0] = msg(LLM_USER, "list the files", 0);
	m[1] = msg(LLM_ASSISTANT, "", 0);
	m[2] = msg(LLM_TOOL, "src/\nREADME.md\n", 0);
	is_int(chat_with(l, m, 3, "a", &err), 0,
	    "tool_result_contains: found in the last tool result");

	/* Line 3: only an older tool result has it: a mismatch. */
	m[0] = msg(LLM_TOOL, "a needle here", 0);
	m[1] = msg(LLM_ASSISTANT, "next", 0);
	m[2] = msg(LLM_TOOL, NULL, 0);
	m[3] = msg(LLM_TOOL, "hay", 0);
	rc = chat_with(l, m, 4, NULL, &err);
	ok(rc < 0, "tool_result_contains: not in the tool results after the "
	    "last non-tool message (%d)", rc);
	ok(contains(&err, "line 3") && contains(&err, "needle"),
	    "the failure names line 3 and the text");

	/* Line 4: any error among the trailing tool results. */
	m[0] = msg(LLM_USER, "go", 0);
	m[1] = msg(LLM_TOOL, "fine", 0);
	m[2] = msg(LLM_TOOL, NULL, 1);
	is_int(chat_with(l, m, 3, "c", &err), 0,
	    "tool_error true: one of the tool results is an error");

	/* Line 5: none is an error. */
	m[0] = msg(LLM_TOOL, "old error", 1);
	m[1] = msg(LLM_USER, "go", 0);
	m[2] = msg(LLM_TOOL, "fine", 0);
	rc = chat_with(l, m, 3, NULL, &err);
	ok(rc < 0 && contains(&err, "line 5") &&
	    contains(&err, "expected an error"),
	    "tool_error true: fails on line 5 when none is an error");

	/* Line 7 (after a blank line): no tool results, no error. */
	m[0] = msg(LLM_USER, "hello", 0);
	is_int(chat_with(l, m, 1, "e", &err), 0,
	    "tool_error false: no tool results at all");

	/* Line 8: an error result. */
	m[0] = msg(LLM_ASSISTANT, "", 0);
	m[1] = msg(LLM_TOOL, "denied", 1);
	rc = chat_with(l, m, 2, NULL, &err);
	ok(rc < 0 && contains(&err, "line 8") &&
	    contains(&err, "expected no error"),
	    "tool_error false: fails on line 8 on an error result");

	/* Line 9: an empty request has no tool results. */
	rc = chat_with(l, m, 0, NULL, &err);
	ok(rc < 0 && contains(&err, "line 9") && contains(&err, "'x'"),
	    "tool_result_contains: fails on an empty request");

	/* Line 10: expect passes, then the error turn fails. */
	m[0] = msg(LLM_TOOL, "zzz", 0);
	rc = chat_with(l, m, 1, NULL, &err);
	ok(rc < 0 && strcmp(err.data, "boom") == 0,
	    "expect passes, then the error turn's message");

	/* Line 11: expect is checked before the error. */
	m[0] = msg(LLM_TOOL, "yyy", 0);
	rc = chat_with(l, m, 1, NULL, &err);
	ok(rc < 0 && contains(&err, "line 11") && !contains(&err, "boom2"),
	    "a failed expect on an error turn reports the expect");

	/* Line 12: an empty expect always passes; failures were consumed. */
	is_int(chat_with(l, m, 0, "h", &err), 0,
	    "an empty expect passes, and failed turns were consumed");

	/* Line 13: both checks; "" is in any tool result with content. */
	m[0] = msg(LLM_TOOL, "", 1);
	is_int(chat_with(l, m, 1, "i", &err), 0,
	    "tool_result_contains \"\" and tool_error true together");

	/* Lines 14-15: tool_result_lacks. */
	m[0] = msg(LLM_TOOL, "a secret, said long ago", 0);
	m[1] = msg(LLM_ASSISTANT, "", 0);
	m[2] = msg(LLM_TOOL, "nothing to see", 0);
	is_int(chat_with(l, m, 3, "j", &err), 0,
	    "tool_result_lacks: only the results since the last assistant");
	m[3] = msg(LLM_TOOL, "the secret", 0);
	rc = chat_with(l, m, 4, NULL, &err);
	ok(rc < 0 && contains(&err, "line 15") && contains(&err, "no tool "
	    "result containing 'secret'"), "tool_result_lacks: fails when "
	    "one has it");
	rc = chat_with(l, m, 1, NULL, &err);
	ok(rc < 0 && contains(&err, "no more turns"), "then exhausted");
	llm_free(l);
	buf_free(&err);
}

/* --- open-time validation ----------------------------------------------- */

static void
test_validation(void)
{
	static const char nul[] = "{\"text\":\"a\"}\n\0{\"bogus\":1}\n";
	struct llm *l = NULL;
	struct buf err;
	char path[PATH_MAX];
	int rc, fd;

	bad_script("{\"text\":\"a\"}\n\n{\"text\":\n", ":3:", NULL,
	    "bad JSON on line 3");
	bad_script("{\"text\":\"a\"} x\n", ":1:", NULL, "trailing garbage");
	bad_script("{\"text\":\"a\",\"text\":\"b\"}\n", ":1:", "duplicate",
	    "duplicate keys");
	bad_script("\"text\"\n", ":1:", NULL, "a string line");
	bad_script("{\"text\":\"\\ud800\"}\n", ":1:", NULL,
	    "an escaped lone surrogate");
	bad_script("{\"text\":\"\xff\"}\n", ":1:", NULL, "invalid UTF-8");
	bad_script("[{\"text\":\"a\"}]\n", "line 1", "object", "an array line");
	bad_script("{}\n{\"text\":\"a\",\"bogus\":1}\n", "line 2", "'bogus'",
	    "an unknown turn key");
	bad_script("{\"tool_calls\":[{\"name\":\"a\",\"args\":{}}]}\n",
	    "line 1", "unknown tool call key 'args'",
	    "an unknown tool-call key");
	bad_script("\n\n{\"expect\":{\"tool_result\":\"x\"}}\n", "line 3",
	    "unknown expect key 'tool_result'", "an unknown expect key");
	bad_script("{\"text\":1}\n", "line 1", "wrong type", "text not a string");
	bad_script("{\"text\":null}\n", "line 1", "wrong type", "text null");
	bad_script("{\"error\":true}\n", "line 1", "wrong type",
	    "error not a string");
	bad_script("{\"tool_calls\":{}}\n", "line 1", "wrong type",
	    "tool_calls an object");
	bad_script("{\"tool_calls\":[\"a\"]}\n", "line 1", "wrong type",
	    "a tool call not an object");
	bad_script("{\"tool_calls\":[{\"id\":\"a\"}]}\n", "line 1",
	    "wrong type", "a tool call without a name");
	bad_script("{\"tool_calls\":[{\"name\":1}]}\n", "line 1", "wrong type",
	    "a tool call name not a string");
	bad_script("{\"tool_calls\":[{\"name\":\"a\",\"id\":2}]}\n", "line 1",
	    "wrong type", "a tool call id not a string");
	bad_script("{\"tool_calls\":[{\"name\":\"a\",\"arguments\":\"{}\"}]}\n",
	    "line 1", "wrong type", "arguments as a string");
	bad_script("{\"tool_calls\":[{\"name\":\"a\",\"arguments\":[]}]}\n",
	    "line 1", "wrong type", "arguments as an array");
	bad_script("{\"stop\":1}\n", "line 1", "end_turn", "stop not a string");
	bad_script("{\"stop\":\"stop\"}\n", "line 1", "end_turn",
	    "an unknown stop");
	bad_script("{\"stop\":\"END_TURN\"}\n", "line 1", "end_turn",
	    "stop is case-sensitive");
	bad_script("{\"usage\":\"x\"}\n", "line 1", "wrong type",
	    "usage not an object");
	bad_script("{\"usage\":{\"input_tokens\":\"1\",\"output_tokens\":1}}\n",
	    "line 1", "wrong type", "usage count as a string");
	bad_script("{\"usage\":{\"input_tokens\":1}}\n", "line 1",
	    "wrong type", "usage without output_tokens");
	bad_script("{\"usage\":{\"input_tokens\":1.5,\"output_tokens\":1}}\n",
	    "line 1", "wrong type", "usage count as a real");
	bad_script("{}\n{\"usage\":{\"input_tokens\":-1,\"output_tokens\":1}}\n",
	    "line 2", "usage", "a negative input count");
	bad_script("{\"usage\":{\"input_tokens\":1,\"output_tokens\":-5}}\n",
	    "line 1", "usage", "a negative output count");
	bad_script("{\"usage\":{\"input_tokens\":4294967296,"
	    "\"output_tokens\":1}}\n", "line 1", "usage",
	    "an input count over UINT32_MAX");
	bad_script("{\"usage\":{\"input_tokens\":1,"
	    "\"output_tokens\":9223372036854775807}}\n", "line 1", "usage",
	    "an output count of INT64_MAX");
	bad_script("{\"usage\":{\"input_tokens\":1,\"output_tokens\":1,"
	    "\"cache\":2}}\n", "line 1", "'cache'", "an unknown usage key");
	bad_script("{\"expect\":\"x\"}\n", "line 1", "wrong type",
	    "expect not an object");
	bad_script("{\"expect\":{\"tool_result_contains\":1}}\n", "line 1",
	    "wrong type", "tool_result_contains not a string");
	bad_script("{\"expect\":{\"tool_error\":\"yes\"}}\n", "line 1",
	    "wrong type", "tool_error not a boolean");
	bad_script("", "no turns", NULL, "an empty file");
	bad_script("\n  \n\t\r\n", "no turns", NULL, "only blank lines");
	bad_script_n(nul, sizeof(nul) - 1, WARD_EPROTO, ":2:", "NUL",
	    "a NUL byte does not hide the rest of the file");

	/* A bad line after good ones still refuses the whole script. */
	bad_script("{\"text\":\"a\"}\n{\"text\":\"b\"}\n\n{\"stop\":\"x\"}\n",
	    "line 4", NULL, "a bad fourth line");

	/* The type message still appears when err already holds text. */
	put("bad.jsonl", "{\"text\":1}\n");
	buf_init(&err, 0);
	buf_puts(&err, "earlier: ");
	rc = llm_open(&l, &(struct llm_config){ .provider = "script",
	    .model = "bad.jsonl", .root = dir }, &err);
	ok(rc == WARD_EPROTO && contains(&err, "earlier: line 1") &&
	    contains(&err, "wrong type"),
	    "a validation message is appended to what err holds");
	if (!contains(&err, "wrong type"))
		printf("#   message: %s\n", err.data);

	/* Missing file, a directory, a file over the size cap. */
	rc = open_script(&l, "missing.jsonl", dir, &err);
	is_int(rc, WARD_ENOENT, "a missing file: ENOENT");
	ok(l == NULL && contains(&err, "missing.jsonl"),
	    "a missing file: the message names it");
	path_in(path, sizeof(path), "sub");
	if (mkdir(path, 0700) == -1)
		die("mkdir");
	rc = open_script(&l, "sub", dir, &err);
	ok(rc < 0 && l == NULL, "a directory is refused (%d)", rc);
	path_in(path, sizeof(path), "huge.jsonl");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    ftruncate(fd, 32 << 20) == -1)
		die("huge.jsonl");
	close(fd);
	rc = open_script(&l, "huge.jsonl", dir, &err);
	is_int(rc, WARD_ETOOBIG, "a 32 MiB script: ETOOBIG");
	ok(l == NULL && contains(&err, "over"), "a 32 MiB script: message");
	buf_free(&err);
}

/* --- llm_open ----------------------------------------------------------- */

static void
test_open(void)
{
	struct llm_config cfg;
	struct llm_info info;
	struct llm *l = (struct llm *)1;
	struct buf err;
	char path[PATH_MAX], cwd[PATH_MAX];
	int rc;

	buf_init(&err, 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = "gemini";
	cfg.model = "gpt";
	rc = llm_open(&l, &cfg, &err);
	is_int(rc, WARD_EINVAL, "an unknown provider: EINVAL");
	ok(l == NULL && contains(&err, "gemini"),
	    "an unknown provider: named in the message");
	cfg.provider = NULL;
	buf_reset(&err);
	is_int(llm_open(&l, &cfg, &err), WARD_EINVAL, "no provider: EINVAL");
	cfg.provider = "";
	is_int(llm_open(&l, &cfg, &err), WARD_EINVAL, "empty provider: EINVAL");
	cfg.provider = "Script";
	is_int(llm_open(&l, &cfg, &err), WARD_EINVAL,
	    "provider names are case-sensitive");
	cfg.provider = "script";
	cfg.model = "";
	buf_reset(&err);
	is_int(llm_open(&l, &cfg, &err), WARD_EINVAL, "empty model: EINVAL");
	ok(l == NULL && err.len > 0, "empty model: a message");
	cfg.model = NULL;
	is_int(llm_open(&l, &cfg, &err), WARD_EINVAL, "no model: EINVAL");

	/* A relative model resolves against root; absolute ignores root. */
	path_in(path, sizeof(path), "sub2");
	mkdir(path, 0700);
	put("sub2/s.jsonl", "{\"text\":\"relative\"}\n");
	cfg.model = "sub2/s.jsonl";
	cfg.root = dir;
	cfg.context_length = 1000;
	cfg.max_tokens = 50;
	buf_reset(&err);
	rc = llm_open(&l, &cfg, &err);
	is_int(rc, 0, "a relative model path with a root");
	if (l != NULL) {
		path_in(path, sizeof(path), "sub2/s.jsonl");
		llm_info(l, &info);
		is_str(info.name, path, "resolved against the root");
		is_int(info.context_length, 1000, "context length from config");
		is_int(info.max_tokens, 50, "max tokens from config");
		llm_free(l);
	}
	cfg.root = "/nonexistent-ward-root";
	path_in(path, sizeof(path), "sub2/s.jsonl");
	cfg.model = path;
	rc = llm_open(&l, &cfg, &err);
	is_int(rc, 0, "an absolute model path ignores the root");
	llm_free(l);
	cfg.model = "sub2/s.jsonl";
	rc = llm_open(&l, &cfg, &err);
	is_int(rc, WARD_ENOENT, "a relative path under a missing root: ENOENT");

	/* Root NULL: relative to the working directory. */
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(dir) == -1)
		die("chdir");
	cfg.root = NULL;
	rc = llm_open(&l, &cfg, &err);
	is_int(rc, 0, "a relative model path, root NULL: the cwd");
	if (l != NULL) {
		llm_info(l, &info);
		is_str(info.name, "sub2/s.jsonl", "the name is the path as given");
		llm_free(l);
	}
	if (chdir(cwd) == -1)
		die("chdir back");
	buf_free(&err);
}

int
main(void)
{
	char t[] = "/tmp/ward-test-script.XXXXXX";

	if (mkdtemp(t) == NULL)
		die("mkdtemp");
	if (realpath(t, dir) == NULL)
		die("realpath");
	test_replay();
	test_expect();
	test_validation();
	test_open();
	rm_tree(dir);
	ok(access(dir, F_OK) == -1, "temporary directory removed");
	return done_testing();
}

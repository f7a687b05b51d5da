/*
 * The wasm host's value conversions, end to end through a real component:
 * tests/agents/exercise.wasm calls every import with every argument shape
 * and reports what it got back; these fake imports record what they were
 * given. Both directions are checked, including the repair of invalid UTF-8
 * the host hands to the guest (the C API would abort on it).
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/host.h"
#include "lib/err.h"
#include "tap.h"
#include "util.h"

static struct buf seen;		/* what the imports were given */
static char stored[64];
static size_t stored_len;
static int have_stored;

static void
f_info(void *ctx, struct llm_info *info)
{
	(void)ctx;
	info->provider = "fake";
	info->name = "m\xffx";
	info->context_length = 1234;
	info->max_tokens = 56;
}

static int
f_chat(void *ctx, const struct llm_request *req, struct llm_reply *reply,
    struct buf *err)
{
	(void)ctx;
	(void)req;
	(void)reply;
	buf_puts(err, "not used");
	return WARD_EIO;
}

static int
f_tool(void *ctx, const char *name, json_t *args, struct host_tool_out *out)
{
	char *j = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);

	(void)ctx;
	buf_printf(&seen, "%s %s\n", name, j);
	if (strcmp(name, "file_delete") == 0) {
		buf_puts(&out->text, "no: forbidden");
		free(j);
		return WARD_EDENIED;
	}
	if (strcmp(name, "task_list") == 0) {
		buf_puts(&out->text, "later");
		free(j);
		return WARD_EUNAVAIL;
	}
	if (strcmp(name, "web_fetch") == 0)
		buf_puts(&out->text, "\xff\xfe bad");
	else
		buf_puts(&out->text, j);
	if (strcmp(name, "command_run") == 0) {
		out->exit_code = -3;
		out->truncated = 1;
	}
	free(j);
	return 0;
}

static int
f_save(void *ctx, const char *key, const uint8_t *data, size_t len,
    struct buf *err)
{
	(void)ctx;
	if (strcmp(key, "k1") != 0 || len > sizeof(stored)) {
		buf_printf(err, "bad key %s", key);
		return WARD_EINVAL;
	}
	memcpy(stored, data, len);
	stored_len = len;
	have_stored = 1;
	return 0;
}

static int
f_load(void *ctx, const char *key, struct buf *data, struct buf *err)
{
	(void)ctx;
	(void)err;
	if (strcmp(key, "k1") != 0 || !have_stored)
		return WARD_ENOENT;
	return buf_add(data, stored, stored_len);
}

static int
f_delete(void *ctx, const char *key, struct buf *err)
{
	(void)ctx;
	(void)err;
	if (strcmp(key, "k1") == 0)
		have_stored = 0;
	return 0;
}

static int
f_list(void *ctx, struct buf *keys, size_t *nkeys, struct buf *err)
{
	(void)ctx;
	(void)err;
	*nkeys = 2;
	/* The second key is not UTF-8: the host must repair it. */
	return buf_add(keys, "k1\0k\xc3\x28", 7);
}

static void
f_print(void *ctx, const char *text, int warn)
{
	(void)ctx;
	buf_printf(&seen, "%s %s\n", warn ? "warn" : "print", text);
}

static int
f_ask(void *ctx, const char *question, char **answer)
{
	(void)ctx;
	buf_printf(&seen, "ask %s\n", question);
	*answer = strdup("yes\xff");
	return *answer != NULL ? 0 : WARD_ENOMEM;
}

static const struct host_imports imports = {
	.llm_info = f_info, .llm_chat = f_chat, .tool = f_tool,
	.storage_save = f_save, .storage_load = f_load,
	.storage_delete = f_delete, .storage_list = f_list,
	.print = f_print, .ask = f_ask,
};

static const char want_report[] =
"init:sess-1/proj/9/be brief\n"
"message:hello \xc3\xa9\n"
"info:fake/m\xef\xbf\xbdx/1234/56\n"
"save=ok\n"
"load=some:5:same\n"
"absent=none\n"
"keys:k1,k\xef\xbf\xbd(,\n"
"delete=ok\n"
"badkey=err:bad key ../x\n"
"ask=some:yes\xef\xbf\xbd\n"
"read=ok:{\"limit\":7,\"offset\":3,\"path\":\"src/a.c\"}\n"
"read2=ok:{\"path\":\"src/a.c\"}\n"
"edit=ok:{\"new_string\":\"new\\nline\",\"old_string\":\"old\","
    "\"path\":\"src/a.c\",\"replace_all\":true}\n"
"list=ok:{\"pattern\":\"old\"}\n"
"delete=err:0:no: forbidden\n"
"fetch=ok:\xef\xbf\xbd\xef\xbf\xbd bad\n"
"tasks=err:4:later\n"
"cmd=ok:997:trunc:{\"command\":\"make test\",\"timeout\":9}\n"
"code=ok:{\"args\":[\"--x\",\"y z\"],\"module\":\"m.wasm\"}\n";

static const char want_seen[] =
"print to the user\n"
"warn careful\n"
"ask proceed?\n"
"file_read {\"limit\":7,\"offset\":3,\"path\":\"src/a.c\"}\n"
"file_read {\"path\":\"src/a.c\"}\n"
"file_edit {\"new_string\":\"new\\nline\",\"old_string\":\"old\","
    "\"path\":\"src/a.c\",\"replace_all\":true}\n"
"file_list {\"pattern\":\"old\"}\n"
"file_delete {\"path\":\"src/a.c\"}\n"
"web_fetch {\"url\":\"src/a.c\"}\n"
"task_list {}\n"
"command_run {\"command\":\"make test\",\"timeout\":9}\n"
"code_run {\"args\":[\"--x\",\"y z\"],\"module\":\"m.wasm\"}\n";

int
main(void)
{
	struct host_limits lim = { 64u << 20, 2000 };
	struct host_project proj = { "proj", 9, "be brief" };
	struct host_instance *in = NULL;
	struct host *h = NULL;
	struct host_turn turn;
	struct buf err;
	const char *dir = getenv("WARD_BUILD");
	char path[4096];
	int rc;

	buf_init(&err, 0);
	buf_init(&seen, 0);
	snprintf(path, sizeof(path), "%s/tests/exercise.wasm",
	    dir != NULL ? dir : "build");
	rc = host_new(&h, path, NULL, &lim, &err);
	is_int(rc, 0, "loads the exercise component");
	if (rc != 0) {
		printf("# %s\n", err.data ? err.data : "");
		return done_testing();
	}
	ok(!host_from_cache(h), "no cache dir: compiled");
	is_int(host_instance_new(h, &imports, NULL, &in, &err), 0,
	    "instantiates");
	is_int(host_instance_init(in, "sess-1", &proj, &err), 0, "init");
	rc = host_instance_handle(in, "hello \xc3\xa9", &turn, &err);
	is_int(rc, 0, "handle-message returns ok");
	if (rc == 0) {
		is_str(turn.text, want_report, "every import's result "
		    "reached the guest intact");
		is_int(turn.turns, 7, "turn-result.turns");
		is_int(turn.tool_calls, 11, "turn-result.tool-calls");
		is_int(turn.outcome, HOST_FINISHED, "turn-result.outcome");
		free(turn.text);
	} else
		printf("# %s\n", err.data ? err.data : "");
	is_str(seen.data, want_seen, "every import got the guest's arguments "
	    "as the documented JSON");
	host_instance_free(in);
	in = NULL;

	/* A second instance is independent (fresh memory, fresh report). */
	buf_reset(&seen);
	is_int(host_instance_new(h, &imports, NULL, &in, &err), 0,
	    "a second instance");
	is_int(host_instance_init(in, "sess-2", &proj, &err), 0,
	    "its init");
	host_instance_free(in);

	host_free(h);
	host_free(NULL);
	host_instance_free(NULL);

	/* Not a component. */
	buf_reset(&err);
	h = NULL;
	snprintf(path, sizeof(path), "%s/tests/exercise.wasm.core",
	    dir != NULL ? dir : "build");
	is_int(host_new(&h, path, NULL, &lim, &err), WARD_EINVAL,
	    "a core module is refused");
	ok(h == NULL, "and nothing is returned");
	buf_reset(&err);
	is_int(host_new(&h, "/nonexistent.wasm", NULL, &lim, &err),
	    WARD_ENOENT, "a missing file is ENOENT");
	ok(err.data != NULL && strstr(err.data, "/nonexistent.wasm") != NULL,
	    "and the message names it");
	buf_free(&err);
	buf_free(&seen);
	return done_testing();
}

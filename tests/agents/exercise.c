/*
 * A test agent that calls every import once or twice and reports what came
 * back as text, so tests/unit/test_host.c can check each conversion of the
 * host glue in both directions. No printf: stdio would import WASI.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static char report[16384];

static void
put(const char *s)
{
	size_t n = strlen(report), k = strlen(s);

	if (n + k < sizeof(report))
		memcpy(report + n, s, k + 1);
}

static void
putn(const uint8_t *p, size_t len)
{
	size_t n = strlen(report);

	if (n + len < sizeof(report)) {
		memcpy(report + n, p, len);
		report[n + len] = '\0';
	}
}

static void
putu(uint64_t v)
{
	char d[24];
	int i = (int)sizeof(d);

	d[--i] = '\0';
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	put(d + i);
}

static void
str(agent_string_t *s, const char *c)
{
	agent_string_set(s, c);
}

static void
tool_str(const char *what, bool ok, agent_string_t *ret,
    ward_agent_types_tool_error_t *err)
{
	put(what);
	if (ok) {
		put("=ok:");
		putn(ret->ptr, ret->len);
		agent_string_free(ret);
	} else {
		put("=err:");
		putu(err->kind);
		put(":");
		putn(err->message.ptr, err->message.len);
		ward_agent_types_tool_error_free(err);
	}
	put("\n");
}

bool
exports_agent_init(agent_string_t *session_id, agent_project_context_t *project,
    agent_string_t *err)
{
	(void)err;
	put("init:");
	putn(session_id->ptr, session_id->len);
	put("/");
	putn(project->name.ptr, project->name.len);
	put("/");
	putu(project->max_turns);
	put("/");
	putn(project->instructions.ptr, project->instructions.len);
	put("\n");
	agent_string_free(session_id);
	agent_project_context_free(project);
	return true;
}

bool
exports_agent_handle_message(agent_string_t *message, agent_turn_result_t *ret,
    agent_string_t *err)
{
	ward_agent_types_model_info_t info;
	ward_agent_types_tool_error_t te;
	ward_agent_types_command_output_t co;
	agent_string_t a, b, c, r, e;
	agent_option_string_t ol;
	agent_list_string_t keys, args;
	agent_string_t val;
	agent_string_t argv[2];
	uint64_t off = 3, lim = 7;
	uint32_t tmo = 9;
	size_t i;

	put("message:");
	putn(message->ptr, message->len);
	put("\n");
	agent_string_free(message);

	ward_agent_llm_info(&info);
	put("info:");
	putn(info.provider.ptr, info.provider.len);
	put("/");
	putn(info.name.ptr, info.name.len);
	put("/");
	putu(info.context_length);
	put("/");
	putu(info.max_tokens);
	put("\n");
	ward_agent_types_model_info_free(&info);

	/* storage: binary values, absent keys, listing, bad keys */
	str(&a, "k1");
	val.ptr = (uint8_t *)"he\0lo";
	val.len = 5;
	put(ward_agent_storage_save(&a, &val, &e) ? "save=ok\n" :
	    "save=err\n");
	if (ward_agent_storage_load(&a, &ol, &e)) {
		put(ol.is_some ? "load=some:" : "load=none");
		if (ol.is_some) {
			putu(ol.val.len);
			put(ol.val.len == 5 && memcmp(ol.val.ptr, "he\0lo", 5)
			    == 0 ? ":same" : ":differs");
			agent_string_free(&ol.val);
		}
		put("\n");
	}
	str(&b, "nope");
	if (ward_agent_storage_load(&b, &ol, &e))
		put(ol.is_some ? "absent=some\n" : "absent=none\n");
	if (ward_agent_storage_list_keys(&keys, &e)) {
		put("keys:");
		for (i = 0; i < keys.len; i++) {
			putn(keys.ptr[i].ptr, keys.ptr[i].len);
			put(",");
		}
		put("\n");
		agent_list_string_free(&keys);
	}
	put(ward_agent_storage_delete(&a, &e) ? "delete=ok\n" :
	    "delete=err\n");
	str(&b, "../x");
	if (!ward_agent_storage_save(&b, &val, &e)) {
		put("badkey=err:");
		putn(e.ptr, e.len);
		put("\n");
		agent_string_free(&e);
	}

	/* console */
	str(&a, "to the user");
	ward_agent_console_print(&a);
	str(&a, "careful");
	ward_agent_console_warn(&a);
	str(&a, "proceed?");
	if (ward_agent_console_ask(&a, &r)) {
		put("ask=some:");
		putn(r.ptr, r.len);
		agent_string_free(&r);
	} else
		put("ask=none");
	put("\n");

	/* tools: every argument shape */
	str(&a, "src/a.c");
	tool_str("read", ward_agent_tools_file_read(&a, &off, &lim, &r, &te),
	    &r, &te);
	tool_str("read2", ward_agent_tools_file_read(&a, NULL, NULL, &r, &te),
	    &r, &te);
	str(&b, "old");
	str(&c, "new\nline");
	tool_str("edit", ward_agent_tools_file_edit(&a, &b, &c, true, &r, &te),
	    &r, &te);
	tool_str("list", ward_agent_tools_file_list(NULL, &b, &r, &te), &r,
	    &te);
	tool_str("delete", ward_agent_tools_file_delete(&a, &r, &te), &r, &te);
	tool_str("fetch", ward_agent_tools_web_fetch(&a, &r, &te), &r, &te);
	tool_str("tasks", ward_agent_tools_task_list(&r, &te), &r, &te);
	str(&a, "make test");
	if (ward_agent_tools_command_run(&a, &tmo, &co, &te)) {
		put("cmd=ok:");
		putu((uint64_t)(co.exit_code + 1000));
		put(co.truncated ? ":trunc:" : ":full:");
		putn(co.output.ptr, co.output.len);
		ward_agent_types_command_output_free(&co);
	} else {
		put("cmd=err");
		ward_agent_types_tool_error_free(&te);
	}
	put("\n");
	str(&argv[0], "--x");
	str(&argv[1], "y z");
	args.ptr = argv;
	args.len = 2;
	str(&a, "m.wasm");
	if (ward_agent_tools_code_run(&a, &args, &co, &te)) {
		put("code=ok:");
		putn(co.output.ptr, co.output.len);
		ward_agent_types_command_output_free(&co);
	} else
		ward_agent_types_tool_error_free(&te);
	put("\n");

	(void)err;
	agent_string_dup(&ret->text, report);
	ret->outcome = WARD_AGENT_TYPES_OUTCOME_FINISHED;
	ret->turns = 7;
	ret->tool_calls = 11;
	return true;
}

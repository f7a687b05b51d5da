/*
 * A bench agent: handle-message("N") calls tools.file-read N times and
 * frees each result, so that the host can time N WIT round trips of the
 * host's 4 KiB answer inside one export call. It checks that every result
 * is 4096 bytes, so the benchmark cannot quietly time something smaller.
 * The turn's text is "ok"; tool-calls is N.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define RT_MAX_CALLS	100000000u
#define RT_RESULT_LEN	4096u

bool
exports_agent_init(agent_string_t *session_id, agent_project_context_t *project,
    agent_string_t *err)
{
	(void)err;
	agent_string_free(session_id);
	agent_project_context_free(project);
	return true;
}

bool
exports_agent_handle_message(agent_string_t *message, agent_turn_result_t *ret,
    agent_string_t *err)
{
	agent_string_t path, text;
	ward_agent_tools_tool_error_t terr;
	uint32_t n = 0, i;
	size_t k;
	int bad = message->len == 0;

	for (k = 0; k < message->len && !bad; k++) {
		if (message->ptr[k] < '0' || message->ptr[k] > '9' ||
		    n > RT_MAX_CALLS / 10)
			bad = 1;
		else
			n = n * 10 + (uint32_t)(message->ptr[k] - '0');
	}
	agent_string_free(message);
	if (bad) {
		agent_string_dup(err, "the message must be a call count");
		return false;
	}
	/* Import arguments are borrowed: a static string will do. */
	agent_string_set(&path, "bench.txt");
	for (i = 0; i < n; i++) {
		if (!ward_agent_tools_file_read(&path, NULL, NULL, &text,
		    &terr)) {
			ward_agent_tools_tool_error_free(&terr);
			agent_string_dup(err, "file-read failed");
			return false;
		}
		k = text.len;
		agent_string_free(&text);
		if (k != RT_RESULT_LEN) {
			agent_string_dup(err, "file-read returned the wrong "
			    "length");
			return false;
		}
	}
	agent_string_dup(&ret->text, "ok");
	ret->outcome = WARD_AGENT_TYPES_OUTCOME_FINISHED;
	ret->turns = 0;
	ret->tool_calls = n;
	return true;
}

/*
 * A test agent that calls the host forever (console.print in a loop): the
 * step deadline never fires, so only cancellation can stop it when its
 * client goes away.
 */
#include "agent.h"

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
	agent_string_t s;

	(void)ret;
	(void)err;
	agent_string_free(message);
	agent_string_set(&s, "still here");
	for (;;)
		ward_agent_console_print(&s);
}

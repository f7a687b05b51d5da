/*
 * A test agent that never returns from handle-message: the daemon must stop
 * it at its step deadline and go on serving.
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
	volatile unsigned long n = 0;

	(void)ret;
	(void)err;
	agent_string_free(message);
	for (;;)
		n++;
}

/*
 * A test agent that calls the host forever (console.print in a loop): the
 * step deadline never fires, so only cancellation can stop it when its
 * client goes away.
 */
#include "agent.h"
#include "plain_init.h"

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

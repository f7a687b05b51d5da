/*
 * A test agent that never returns from handle-message: the daemon must stop
 * it at its step deadline and go on serving.
 */
#include "agent.h"
#include "plain_init.h"

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

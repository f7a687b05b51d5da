/*
 * The init export shared by the test agents that need no state: it takes
 * ownership of its arguments, frees them and succeeds. Included once by
 * each test agent (each is its own program).
 */
#ifndef WARD_TEST_PLAIN_INIT_H
#define WARD_TEST_PLAIN_INIT_H

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

#endif

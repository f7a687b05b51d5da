/*
 * A test agent that tries a path-like storage key, then fills its session
 * store until the host refuses, and reports both refusals as its error.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "plain_init.h"

static char msg[4096];

static void
put(const uint8_t *p, size_t n)
{
	size_t l = strlen(msg);

	if (l + n < sizeof(msg)) {
		memcpy(msg + l, p, n);
		msg[l + n] = '\0';
	}
}

bool
exports_agent_handle_message(agent_string_t *message, agent_turn_result_t *ret,
    agent_string_t *err)
{
	static char big[100000];
	agent_string_t key, val, e;
	char name[8];
	int i;

	(void)ret;
	agent_string_free(message);
	memset(big, 'x', sizeof(big));
	val.ptr = (uint8_t *)big;
	val.len = sizeof(big);
	agent_string_set(&key, "../escape");
	if (!ward_agent_storage_save(&key, &val, &e)) {
		put((const uint8_t *)"badkey: ", 8);
		put(e.ptr, e.len);
		agent_string_free(&e);
	}
	for (i = 0; i < 1000; i++) {
		name[0] = 'k';
		name[1] = (char)('0' + i / 100);
		name[2] = (char)('0' + i / 10 % 10);
		name[3] = (char)('0' + i % 10);
		name[4] = '\0';
		agent_string_set(&key, name);
		if (!ward_agent_storage_save(&key, &val, &e)) {
			put((const uint8_t *)"; full: ", 8);
			put(e.ptr, e.len);
			agent_string_free(&e);
			break;
		}
	}
	agent_string_dup(err, msg);
	return false;
}

/*
 * A test agent that allocates until memory.grow fails (reporting how far it
 * got), then, asked again, touches memory past its limit directly.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "plain_init.h"

bool
exports_agent_handle_message(agent_string_t *message, agent_turn_result_t *ret,
    agent_string_t *err)
{
	char msg[96], digits[24];
	size_t mib = 0, n, k;
	void **p, **head = NULL;

	(void)ret;
	agent_string_free(message);
	/* Chained so the compiler cannot elide the allocations. */
	while ((p = malloc(1u << 20)) != NULL) {
		memset(p, 1, 1u << 20);
		*p = head;
		head = p;
		mib++;
	}
	while (head != NULL) {
		p = *head;
		free(head);
		head = p;
	}
	/* No snprintf: wasi-libc's stdio would import WASI. */
	strcpy(msg, "allocation failed after ");
	n = strlen(msg);
	k = 0;
	do {
		digits[k++] = (char)('0' + mib % 10);
		mib /= 10;
	} while (mib > 0);
	while (k > 0)
		msg[n++] = digits[--k];
	strcpy(msg + n, " MiB");
	agent_string_dup(err, msg);
	return false;
}

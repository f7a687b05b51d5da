/* libFuzzer target: the shell front end (parse + unwrap) and the decision
 * over it must survive any command line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "policy/cmdpat.h"
#include "policy/shell.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cmdpat allow, deny;
	static int ready;
	struct cmdpat_rules r = { &allow, 1, &deny, 1, 1, 0 };
	struct cmdpat_result res;
	struct shell_list *l = NULL;
	struct buf err;
	char *cmd;

	buf_init(&err, 0);
	if (!ready) {
		cmdpat_parse("git:*", 0, &allow, &err);
		cmdpat_parse("rm:*", 0, &deny, &err);
		ready = 1;
	}
	if (shell_parse((const char *)data, size, &l, &err) == 0) {
		shell_unwrap(l, &err);
		shell_list_free(l);
	}
	/* cmdpat_decide takes a C string. */
	if ((cmd = malloc(size + 1)) != NULL) {
		memcpy(cmd, data, size);
		cmd[size] = '\0';
		if (cmdpat_decide(&r, cmd, &res, &err) == 0)
			cmdpat_result_clear(&res);
		free(cmd);
	}
	buf_free(&err);
	return 0;
}

/* libFuzzer target: the shell front end (parse + unwrap) and the decision
 * over it -- indexed patterns, redirects decided as paths, suggestions for
 * prompts -- must survive any command line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "policy/cmdpat.h"
#include "policy/shell.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A stand-in for the path policy: any decision, from the name. */
static enum cmdpat_decision
fuzz_file(void *arg, const char *path, int write, struct buf *why)
{
	(void)arg;
	buf_puts(why, "fuzz");
	return (enum cmdpat_decision)(((unsigned char)path[0] + write) % 3);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cmdpat allow[2], deny;
	static struct cmdpat_index *ix;
	static int ready;
	struct cmdpat_rules r;
	struct cmdpat_result res;
	struct shell_list *l = NULL;
	struct buf err;
	char *cmd;

	buf_init(&err, 0);
	if (!ready) {
		cmdpat_parse("git:*", 0, &allow[0], &err);
		cmdpat_parse("git status", 1, &allow[1], &err);
		cmdpat_parse("rm:*", 0, &deny, &err);
		if (cmdpat_index_new(allow, 2, &deny, 1, &ix) != 0)
			abort();
		ready = 1;
	}
	memset(&r, 0, sizeof(r));
	r.allow = allow;
	r.nallow = 2;
	r.deny = &deny;
	r.ndeny = 1;
	r.runtime_expansion = 1;
	r.index = size > 0 && data[0] & 1 ? ix : NULL;
	r.redirects = size > 0 ? (enum cmdpat_redirects)(data[0] % 3) :
	    CMDPAT_REDIR_FILES;
	r.file = fuzz_file;
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

/* libFuzzer target: the write-back of an answer and the canonical form of
 * approvals must survive any ward.toml and any pattern. The input is a
 * pattern, a NUL byte, then the manifest. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "policy/approval.h"
#include "policy/tomledit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul, *text;
	char *pat, *out;
	struct buf canon, err;
	size_t tlen, outlen;
	int i;

	if ((nul = memchr(data, '\0', size)) == NULL)
		return 0;
	if ((pat = strdup((const char *)data)) == NULL)
		return 0;
	text = nul + 1;
	tlen = size - (size_t)(text - (const char *)data);
	buf_init(&err, 0);
	for (i = 0; i < 3; i++) {
		if (tomledit_add_pattern(text, tlen, i == 2 ? TOMLEDIT_DENY :
		    TOMLEDIT_ALLOW, pat, i == 0, &out, &outlen, &err) == 0)
			free(out);
		buf_reset(&err);
	}
	buf_init(&canon, 0);
	(void)approval_canonical(text, tlen, &canon, &err);
	buf_free(&canon);
	buf_free(&err);
	free(pat);
	return 0;
}

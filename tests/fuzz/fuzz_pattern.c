/* libFuzzer target: command, host and path pattern parsing and matching. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "policy/cmdpat.h"
#include "policy/hostpat.h"
#include "policy/pathpat.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmdpat p;
	struct buf err;
	char *s, *host;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	buf_init(&err, 0);
	if (cmdpat_parse(s, size & 1, &p, &err) == 0)
		cmdpat_clear(&p);
	/* Split at the first newline: pattern, then host (or path). */
	host = memchr(s, '\n', size);
	if (host != NULL) {
		*host++ = '\0';
		(void)hostpat_valid(s, &err);
		(void)hostpat_match(s, host, size - (size_t)(host - s));
		(void)pathpat_valid(s, &err);
		(void)pathpat_match(s, host);
	}
	buf_free(&err);
	free(s);
	return 0;
}

/* libFuzzer target: the TOML parser must reject or accept any bytes without
 * crashing, leaking or reading out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "policy/toml.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml *t = NULL;
	struct buf err;

	buf_init(&err, 0);
	if (toml_parse((const char *)data, size, &t, &err) == 0)
		toml_free(t);
	buf_free(&err);
	return 0;
}

/*
 * libFuzzer target: the audit log's one-pass canonical-form checker
 * (src/audit/canon.c) must accept exactly what jansson takes back
 * unchanged (parse with JSON_REJECT_DUPLICATES, dump compact, sorted,
 * ASCII) and holds no real; and its record check exactly that plus the
 * record's members and their types. Any disagreement aborts.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/canon.h"

#define DUMP	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
has_real(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_real(j))
		return 1;
	json_object_foreach(j, k, v)
		if (has_real(v))
			return 1;
	if (json_is_array(j))
		json_array_foreach(j, i, v)
			if (has_real(v))
				return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct audit_canon c;
	struct audit_canon_rec r;
	const char *s = (const char *)data;
	json_t *j;
	char *out = NULL;
	int canon = 0, rec = 0;

	if ((j = json_loadb(s, size, JSON_REJECT_DUPLICATES, NULL)) != NULL) {
		out = json_dumps(j, DUMP);
		canon = out != NULL && strlen(out) == size &&
		    memcmp(out, s, size) == 0 && !has_real(j);
		rec = canon && json_is_object(j) && json_object_size(j) == 5 &&
		    json_is_object(json_object_get(j, "data")) &&
		    json_is_string(json_object_get(j, "kind")) &&
		    json_is_string(json_object_get(j, "prev")) &&
		    json_is_integer(json_object_get(j, "seq")) &&
		    json_is_string(json_object_get(j, "ts"));
	}
	if ((audit_canon_check(&c, s, size) == 0) != canon)
		abort();
	if ((audit_canon_record(&c, s, size, &r) == 0) != rec)
		abort();
	if (rec && (r.seq != json_integer_value(json_object_get(j, "seq")) ||
	    r.data[0] != '{' || r.data[r.datalen - 1] != '}'))
		abort();
	free(out);
	json_decref(j);
	return 0;
}

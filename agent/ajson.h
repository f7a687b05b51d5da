/*
 * JSON reading for the agent guest, on top of jsmn: the model's tool-call
 * arguments arrive as JSON text and are read through these helpers only.
 */
#ifndef AGENT_AJSON_H
#define AGENT_AJSON_H

#include <stddef.h>
#include <stdint.h>

#define JSMN_STRICT
#ifndef JSMN_H
#define JSMN_HEADER	/* declarations only; ajson.c has the code */
#endif
#include "jsmn.h"

struct ajson {
	const char	*text;
	size_t		 len;
	jsmntok_t	*tok;
	int		 ntok;
};

/* Parses text as one JSON object. Returns 0, or -1 with a static reason in
 * *why (not an object, malformed, out of memory). Free with ajson_free. */
int	ajson_parse(struct ajson *j, const char *text, size_t len,
	    const char **why);
void	ajson_free(struct ajson *j);

/* Index of the value of member `key` of the top-level object, or -1. */
int	ajson_member(const struct ajson *j, const char *key);

/* The same for the object at token obj (-1 when it is not an object). */
int	ajson_member_in(const struct ajson *j, int obj, const char *key);

/* 1 when token i is a string / number / true|false / array. */
int	ajson_is_string(const struct ajson *j, int i);

/* Decodes string token i (escapes, \u with surrogate pairs) into a new
 * NUL-terminated string; *len gets its length (it may contain NUL). Returns
 * NULL when the escape is bad or memory is out. */
char	*ajson_string(const struct ajson *j, int i, size_t *len);

/* Reads token i as a non-negative integer that fits in *out. Returns 0 or
 * -1 (not an integer, negative, too large). */
int	ajson_u64(const struct ajson *j, int i, uint64_t *out);

/* Reads token i as a boolean. Returns 0 or -1. */
int	ajson_bool(const struct ajson *j, int i, int *out);

/* For an array token i: the number of elements, and the token index of the
 * k-th element (skipping nested values). Returns -1 if not an array. */
int	ajson_array_len(const struct ajson *j, int i);
int	ajson_array_at(const struct ajson *j, int i, int k);

#endif

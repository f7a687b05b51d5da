/*
 * The audit log's canonical form, checked in one pass over the line
 * without building a JSON tree (doc/AUDIT-FORMAT.md, "Canonical form").
 *
 * A text is canonical when jansson, parsing it with
 * JSON_REJECT_DUPLICATES and dumping the result with JSON_COMPACT |
 * JSON_SORT_KEYS | JSON_ENSURE_ASCII, gives back the same bytes, and it
 * holds no real. These functions accept exactly those texts: verify used
 * to parse and re-encode every record to find out, which was most of its
 * time. tests/unit/test_audit.c and tests/fuzz/fuzz_audit_canon.c compare
 * them with jansson.
 */
#ifndef WARD_AUDIT_CANON_H
#define WARD_AUDIT_CANON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../lib/buf.h"

/* jansson's JSON_PARSER_MAX_DEPTH: it refuses a value nested deeper, so
 * such a text cannot be canonical. The top-level value is at depth 1. */
#define AUDIT_CANON_DEPTH	2048

/* One open object or array: for objects, the last key seen (raw, between
 * its quotes), to check that the next one sorts after it. */
struct audit_canon_level {
	const char	*key;
	size_t		 keylen;
	int		 obj;
	int		 keyesc;	/* key has a backslash escape */
};

/* The checker's state: large (the depth stack), so allocate it once and
 * reuse it for every line. */
struct audit_canon {
	struct audit_canon_level lv[AUDIT_CANON_DEPTH];
};

/* A record's members, as located by audit_canon_record. Strings are raw
 * (still escaped, without their quotes) and point into the line. */
struct audit_canon_rec {
	const char	*data;		/* the data object, braces included */
	size_t		 datalen;
	const char	*kind;
	size_t		 kindlen;
	const char	*prev;
	size_t		 prevlen;
	const char	*ts;
	size_t		 tslen;
	int64_t		 seq;
};

/* Returns 0 when s[0..len) is one canonical JSON object or array, with
 * nothing before or after it; else WARD_EPROTO. */
int	audit_canon_check(struct audit_canon *c, const char *s, size_t len);

/*
 * Returns 0 when s[0..len) is canonical (as audit_canon_check) and is a
 * record: an object with exactly the members data (an object), kind,
 * prev, ts (strings) and seq (an integer); *r then locates them. Else
 * WARD_EPROTO. The values of kind and prev are not checked here.
 */
int	audit_canon_record(struct audit_canon *c, const char *s, size_t len,
	    struct audit_canon_rec *r);

/*
 * Appends j's canonical text to out: the bytes json_dumpb gives with
 * JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII, written in one pass
 * without jansson's per-character callbacks (appends encode every tool
 * result). Returns 0, WARD_EINVAL (a real, or deeper than
 * AUDIT_CANON_DEPTH) or WARD_ENOMEM; on error out may hold a partial
 * text past its old length.
 */
int	audit_canon_dump(const json_t *j, struct buf *out);

#endif

/*
 * A strict TOML 1.0 parser for ward.toml. The whole document becomes a
 * read-only tree that remembers where everything was written: the manifest
 * checker reports "file:line: unknown key" from it, and the write-back code
 * edits the file in place from the byte spans of keys, values and headers
 * rather than re-serialising it, so the user's comments and layout survive.
 *
 * Every TOML 1.0 rule is enforced (the toml-test suite's files-toml-1.0.0
 * list passes in full); anything the specification leaves to the
 * implementation is decided here:
 *  - nesting (tables, arrays, inline tables) is capped at TOML_MAX_DEPTH, so
 *    neither this parser nor a recursive consumer can run out of stack;
 *  - integers are int64_t, an out-of-range one is an error;
 *  - a float that overflows to infinity is an error (inf must be spelled);
 *  - fractional seconds past nanoseconds are truncated;
 *  - newlines inside multi-line strings are returned as LF even where the
 *    file has CRLF, so a manifest means the same on every platform.
 */
#ifndef WARD_TOML_H
#define WARD_TOML_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"

#define TOML_MAX_DEPTH	128	/* tables + arrays + inline tables below root */

struct toml;			/* a parsed document */
struct toml_node;		/* a table, array or value inside one */

enum toml_type {
	TOML_TABLE = 1,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,		/* offset date-time 1979-05-27T07:32:00Z */
	TOML_DATETIME_LOCAL,	/* 1979-05-27T07:32:00 */
	TOML_DATE_LOCAL,	/* 1979-05-27 */
	TOML_TIME_LOCAL,	/* 07:32:00 */
};

/* How a table or array came to exist; write-back needs to know where new
 * keys can go. */
enum toml_def {
	TOML_DEF_VALUE,		/* written as a value: scalars, static arrays,
				 * inline tables */
	TOML_DEF_HEADER,	/* the root, a [table] or an element of a
				 * [[table array]] */
	TOML_DEF_AOT,		/* the array [[table array]] headers fill */
	TOML_DEF_IMPLICIT,	/* only named on the way to a deeper [a.b] */
	TOML_DEF_DOTTED,	/* made by a dotted key, a.b = 1 (also inside
				 * an inline table, and then as frozen as it) */
};

/* Where something is in the source. line and col are 1-based; col counts
 * code points (a tab is one). [start, end) are byte offsets into the buffer
 * given to toml_parse. */
struct toml_span {
	uint32_t	 line;
	uint32_t	 col;
	size_t		 start;
	size_t		 end;
};

/* One key of a table. name is NUL-terminated but may also contain NUL (a
 * quoted key can say "\u0000"): len is authoritative. span covers the key
 * as written, quotes included; for a dotted key a.b.c it is the span of the
 * one part that names this entry. A table made implicitly or by a dotted
 * key records the place that first named it. */
struct toml_key {
	const char		*name;
	size_t			 len;
	struct toml_span	 span;
};

/* A date, time or both. Fields the value does not have are 0. */
struct toml_datetime {
	int		 year, month, day;
	int		 hour, minute, second;	/* second may be 60 */
	int32_t		 nanosecond;
	int		 offset;	/* minutes east of UTC */
	const char	*text;		/* as written, NUL-terminated */
	size_t		 len;
};

/*
 * Parses data[0..len) (UTF-8, an optional BOM; no NUL terminator needed).
 * On success returns 0 and *out (free with toml_free); the tree does not
 * point into data, but spans are offsets into it. On bad input returns
 * WARD_EPROTO and appends "LINE:COL: what went wrong" to err; also
 * WARD_ENOMEM. *out is NULL on failure. err may be NULL.
 */
int	toml_parse(const char *data, size_t len, struct toml **out,
	    struct buf *err);

/* Frees a document and every node in it. NULL is a no-op. */
void	toml_free(struct toml *doc);

/* The root table (never NULL for a parsed document). */
const struct toml_node *toml_root(const struct toml *doc);

/*
 * Accessors. Every one accepts NULL for the node and then answers as for a
 * node of the wrong type, so lookups can be chained:
 * toml_get(toml_get(root, "model"), "name").
 */

/* The node's type; 0 for NULL. */
enum toml_type toml_type(const struct toml_node *n);

/* "table", "array", "string", "integer", "float", "boolean", "offset
 * date-time", "local date-time", "local date", "local time"; for messages.
 * Never NULL ("nothing" for 0 or anything unknown). */
const char *toml_type_name(enum toml_type t);

/* How a table or array was defined (TOML_DEF_VALUE for scalars and NULL). */
enum toml_def toml_def(const struct toml_node *n);

/* Where the node was written (never NULL; all zero for NULL):
 *  - a value: the value itself, quotes and brackets included;
 *  - a [table] or [[table array]] element: its header, brackets included;
 *  - a [[table array]]'s array: its first header;
 *  - an implicit or dotted table: the key part that first named it;
 *  - the root: the whole document. */
const struct toml_span *toml_span(const struct toml_node *n);

/* The number of keys of a table or elements of an array; 0 otherwise. */
size_t	toml_len(const struct toml_node *n);

/* The value of key (NUL-terminated) in table tab, or NULL when tab is not a
 * table or has no such key. toml_getn takes a length (keys may hold NUL). */
const struct toml_node *toml_get(const struct toml_node *tab,
	    const char *key);
const struct toml_node *toml_getn(const struct toml_node *tab,
	    const char *key, size_t len);

/* Sets *idx to the position of key in tab, for toml_key/toml_value.
 * Returns 0, WARD_ENOENT (no such key) or WARD_EINVAL (not a table). */
int	toml_find(const struct toml_node *tab, const char *key, size_t len,
	    size_t *idx);

/* The i-th key (document order: the order keys were first defined) of a
 * table and its value; NULL when tab is not a table or i >= toml_len. */
const struct toml_key *toml_key(const struct toml_node *tab, size_t i);
const struct toml_node *toml_value(const struct toml_node *tab, size_t i);

/* The i-th element of an array; NULL when not an array or out of range. */
const struct toml_node *toml_at(const struct toml_node *arr, size_t i);

/* A string's bytes (valid UTF-8, NUL-terminated, may contain NUL) and, when
 * lenp is not NULL, its length. NULL when n is not a string. Owned by the
 * document. */
const char *toml_str(const struct toml_node *n, size_t *lenp);

/* Scalar values: return 0 and set *v, or WARD_EINVAL when n has another
 * type (*v untouched). No conversions: an integer is not a float. */
int	toml_int(const struct toml_node *n, int64_t *v);
int	toml_float(const struct toml_node *n, double *v);
int	toml_bool(const struct toml_node *n, int *v);

/* The fields of any of the four date/time types, or NULL. Owned by the
 * document. */
const struct toml_datetime *toml_datetime(const struct toml_node *n);

#endif

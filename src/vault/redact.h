/*
 * The streaming redactor (DESIGN §2 invariant 7, doc/VAULT.md): replaces
 * every vault value, and each of its common encodings, with
 * "[REDACTED:NAME]" in a byte stream written to it in any pieces. One
 * Aho-Corasick automaton holds every pattern; only as many trailing bytes
 * as the longest pattern needs are held back between writes, so a value
 * split across writes is still caught, and nothing caps the stream.
 *
 * Patterns per value: raw; base64 (standard and url-safe) at each of the
 * three alignments within a base64 group, as the characters that depend on
 * the value alone (so padded, unpadded and embedded forms all match); hex
 * lower and upper; percent-encoding (RFC 3986 unreserved bytes kept, the
 * rest %XX in upper or lower hex); JSON string escaping.
 *
 * Overlapping matches become one placeholder, named after the longest
 * match in it; matches that do not overlap get one placeholder each.
 */
#ifndef WARD_REDACT_H
#define WARD_REDACT_H

#include <stddef.h>

#include "../lib/buf.h"
#include "vault.h"

struct redact;

/* Builds a redactor for n pairs (n may be 0: everything passes). The
 * values are copied into the automaton; pairs may be freed afterwards.
 * Returns 0 and *rp, WARD_EINVAL (a value shorter than VAULT_VALUE_MIN or
 * a bad name), WARD_ETOOBIG (automaton over 2^31 cells), WARD_ENOMEM. */
int	redact_new(const struct vault_pair *pairs, size_t n,
	    struct redact **rp);

/* Feeds len bytes and appends to out what is now safe to emit. Returns 0
 * or buf_add's error (r is then unusable: free it). */
int	redact_write(struct redact *r, const void *data, size_t len,
	    struct buf *out);

/* Appends everything held back (redacted) and starts afresh: a value split
 * across a flush is not caught, so flush only at the end of a stream or
 * when it has been idle. Returns 0 or buf_add's error. */
int	redact_flush(struct redact *r, struct buf *out);

/* The number of bytes redact_write may hold back (longest pattern - 1). */
size_t	redact_holdback(const struct redact *r);

/* Wipes and frees r. NULL ok. */
void	redact_free(struct redact *r);

#endif

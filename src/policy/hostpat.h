/*
 * Host patterns for egress grants (DESIGN §3 `domains`): `example.com`
 * matches that host only; `*.example.com` matches any host below it (one or
 * more labels) but neither `example.com` itself nor `evil-example.com`.
 * Hosts and patterns are compared in one canonical form: ASCII, lower case,
 * no trailing dot. Internationalised names must be given in their punycode
 * (xn--) form; raw non-ASCII, NUL bytes, empty or over-long labels are
 * invalid, never "close enough".
 */
#ifndef WARD_HOSTPAT_H
#define WARD_HOSTPAT_H

#include <stddef.h>

#include "../lib/buf.h"

#define HOSTPAT_MAX	253	/* DNS name length without the trailing dot */

/* Canonicalises the host name in[0..len) into out (at least HOSTPAT_MAX+1
 * bytes). Returns 0, or WARD_EINVAL with the reason in err (may be NULL). */
int	hostpat_canon(const char *in, size_t len, char *out, struct buf *err);

/* Checks a pattern: a canonical host name, optionally prefixed by "*.".
 * Returns 0 or WARD_EINVAL with the reason in err (may be NULL). */
int	hostpat_valid(const char *pattern, struct buf *err);

/* 1 when host[0..len) matches pattern, 0 when it does not or either is
 * invalid (a host that cannot be canonicalised matches nothing). */
int	hostpat_match(const char *pattern, const char *host, size_t len);

#endif

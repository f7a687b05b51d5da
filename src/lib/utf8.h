/*
 * UTF-8 checks. Component-model strings must be valid UTF-8 (wasmtime's C
 * API aborts the process on anything else), so every string the host hands
 * the guest goes through utf8_sanitize.
 */
#ifndef WARD_UTF8_H
#define WARD_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Returns the length of the longest valid UTF-8 prefix of p[0..n) (n when
 * all of it is valid). Overlong forms, surrogates and code points past
 * U+10FFFF are invalid. */
size_t	utf8_valid_prefix(const char *p, size_t n);

/* Appends p[0..n) to out with every invalid sequence replaced by U+FFFD.
 * Returns 0 or buf_add's errors. */
int	utf8_sanitize(struct buf *out, const char *p, size_t n);

/* Appends p[0..n) to out for showing to a person who must see exactly what
 * it holds (a command about to run, a manifest to approve): control
 * characters (C0, DEL, C1, line breaks and tabs included), zero-width,
 * bidirectional and other invisible format characters become "<U+XXXX>",
 * and an invalid byte becomes "<0xHH>"; nothing written can move the
 * cursor, change colours or reorder the text. keep: UTF8_KEEP_LF and
 * UTF8_KEEP_TAB leave those as they are (for showing a whole file).
 * Returns 0 or buf_add's errors. */
#define UTF8_KEEP_LF	0x1
#define UTF8_KEEP_TAB	0x2
int	utf8_visible(struct buf *out, const char *p, size_t n, unsigned keep);

/* Appends the UTF-8 encoding of code point cp (the caller has checked it
 * is a scalar value: not a surrogate, at most U+10FFFF). Returns 0 or
 * buf_add's errors. */
int	utf8_put(struct buf *out, uint32_t cp);

#endif

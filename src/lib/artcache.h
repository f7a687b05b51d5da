/*
 * The cache of compiled wasm artifacts (native code that wasmtime runs),
 * shared by the agent host and the capsule. An artifact is named by a
 * BLAKE2b hash of the engine settings and the wasm bytes, and is trusted
 * only when this user owns it and its directory and nobody else can write
 * either. Serialising and deserialising stay with the callers.
 */
#ifndef WARD_ARTCACHE_H
#define WARD_ARTCACHE_H

#include <stddef.h>

#include "buf.h"

/* Writes "DIR/KIND-HEX.cwasm" to out (size n), HEX the hash of the
 * NUL-terminated tag (the engine settings) and the n bytes at data.
 * Returns 0 or WARD_EINVAL (the path does not fit). */
int	artcache_path(const char *dir, const char *kind, const char *tag,
	    const void *data, size_t len, char *out, size_t n);

/* Reads the artifact at path (inside dir) into *bytes, at most bytes->max.
 * The checks are made on the open descriptor and the bytes read from it
 * are what the caller deserialises, so nothing can be swapped in between.
 * Returns 1 when *bytes holds a trusted artifact, else 0 (recompile). */
int	artcache_read(const char *dir, const char *path, struct buf *bytes);

/* Stores len bytes at path with mode 0600, complete or not at all: an
 * unnamed O_TMPFILE file, fsync, linked into place (a named temp file and
 * rename where the filesystem lacks O_TMPFILE). Also removes this user's
 * named temp files in the directory that are over an hour old (left by
 * killed writers). Nothing is written into a directory artcache_read would
 * not trust. Best effort: a failure leaves no file. */
void	artcache_write(const char *path, const void *data, size_t len);

#endif

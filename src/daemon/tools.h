/*
 * The host side of the agent's file tools (DESIGN §5), confined to one
 * project root. Nothing here knows about wasm: the host glue converts the
 * component's typed arguments into these calls and the results back.
 *
 * Every function writes its result text (valid UTF-8, bounded) into `out`
 * and returns 0, or returns a negative WARD_E* code with a message for the
 * model in `out`:
 *   WARD_EINVAL  bad argument (empty path, bad regex, ...)
 *   WARD_ENOENT  no such file or directory
 *   WARD_EDENIED the path resolves outside the project root
 *   WARD_ETOOBIG the result would exceed its cap; the message says how to
 *                narrow the request
 *   WARD_EIO / WARD_ESYS  other failures
 * `out` is reset by each call; the caller owns it.
 *
 * Paths are relative to the project root. An absolute path is accepted only
 * if it lies under the root's realpath (by string prefix), and is then made
 * relative. Every lookup is an openat2(RESOLVE_BENEATH) from the root, so
 * "..", absolute symlinks (even ones pointing back inside) and symlinks that
 * lead out are refused with WARD_EDENIED, "path escapes the project root:
 * PATH". Result paths are relative to the root, so they can be passed back.
 *
 * Globs: '*' and '?' match within one path component, "**" as a whole
 * component matches zero or more components (so "**" then '/' is zero or
 * more directories), '[...]' is a character class ('!' or '^' negates,
 * ranges with '-'), '\' quotes the next character; '?' and classes take
 * whole UTF-8 characters. A glob is matched against the path relative to
 * the `path` argument (for a file, its name), directories without their
 * '/'; a trailing '/' on the glob restricts it to directories. NULL or ""
 * matches everything.
 */
#ifndef WARD_TOOLS_H
#define WARD_TOOLS_H

#include <stdint.h>

#include "../lib/buf.h"

struct tools;

/* Caps, with their defaults in tools.c; 0 in a field means "default". */
struct tools_limits {
	size_t	read_bytes;	/* file_read result (default 256 KiB) */
	size_t	list_entries;	/* file_list entries (default 2000) */
	size_t	grep_matches;	/* grep matching lines (default 500) */
	size_t	line_bytes;	/* one grep line shown (default 512) */
};

/* Opens the project root (a directory) for confined access. `lim` may be
 * NULL. Returns 0 and *out (free with tools_free), WARD_ENOENT, WARD_EINVAL
 * (not a directory), WARD_ENOMEM, WARD_EUNAVAIL (the kernel lacks openat2,
 * so confinement is impossible), WARD_ESYS. *out is NULL on failure. */
int	tools_open(struct tools **out, const char *root,
	    const struct tools_limits *lim);

/* NULL is a no-op. */
void	tools_free(struct tools *t);

/*
 * Sets the policy filter of file_list and grep walks: fn(arg, rel, isdir)
 * returns 1 when the entry at rel (relative to the root) may be shown --
 * a file the agent may read, a directory it may list. A file it refuses is
 * neither listed nor searched; a directory it refuses is not listed but is
 * still walked, so that allowed files below it are found (a grant for
 * what is under src must not need one for the root). The path given to the
 * tool is the caller's to decide. fn NULL: everything in the root is shown.
 * With a filter set, no lookup follows a symlink at all (file_read's path
 * and the start of a listing or search): the caller decided on the real
 * target and passes that, so a link swapped in after the decision cannot
 * redirect the tool, and the walk filter sees the paths the walk opens.
 */
void	tools_set_filter(struct tools *t,
	    int (*fn)(void *arg, const char *rel, int isdir), void *arg);

/* Reads a text file. offset is the first line (1-based, 0 = 1), limit the
 * number of lines (0 = all). Lines are returned as they are, without
 * numbering. Binary files (a NUL in the first 8 KiB) are refused with
 * WARD_EINVAL. Invalid UTF-8 is replaced with U+FFFD.
 * An offset past the last line is WARD_EINVAL ("offset N is past the end of
 * PATH (M lines)"); line 1 of an empty file is an empty result. A directory
 * or another non-regular file is WARD_EINVAL (the former suggesting
 * file_list). If the selected lines exceed read_bytes (after U+FFFD
 * replacement), WARD_ETOOBIG with "PATH is N bytes (M lines); read at most
 * CAP bytes at a time with offset and limit (lines)"; the line count is
 * left out for files over 64 MiB. */
int	tools_file_read(struct tools *t, const char *path, uint64_t offset,
	    uint64_t limit, struct buf *out);

/* Lists files under `path` (NULL or "" = the root), recursively, one
 * relative path per line, sorted (bytewise), directories with a trailing
 * '/'; `.git` is skipped unless it is `path` itself. `pattern` (NULL = all)
 * is a glob as above. Symlinks met during the walk are listed as plain
 * entries and not followed; a symlink given as `path` is followed (within
 * the root). A file as `path` lists just that file. Directories deeper than
 * 64 levels or unreadable are listed but not entered. Past list_entries
 * entries (or read_bytes of output) the rest are counted, not shown, and a
 * last line "[N more entries not shown; narrow the listing with path or
 * pattern]" is added; that is still a success. */
int	tools_file_list(struct tools *t, const char *path, const char *pattern,
	    struct buf *out);

/* Searches text files under `path` (NULL = root; a file or a directory) for
 * the PCRE2 `pattern`; `glob` (NULL = all) filters file paths as in
 * tools_file_list. Output: "relpath:lineno:line" per match, sorted by path
 * then line; binary files, symlinks met during the walk and `.git` are
 * skipped. No match is an empty success. Matching is per line (only the
 * first 1 MiB of a line is searched); a shown line longer than line_bytes
 * is cut at a character boundary and ends in "…". After grep_matches lines
 * the search stops with a last line "[stopped after N matching lines; ...]"
 * (still a success). An empty or bad pattern is WARD_EINVAL (with PCRE2's
 * message and offset), as are a binary or non-regular file named as `path`
 * and a pattern that exceeds PCRE2's match limit on some line. The pattern
 * is compiled in UTF mode only if it is valid UTF-8; file bytes that are not
 * valid UTF-8 then never match but do not fail the search. */
int	tools_grep(struct tools *t, const char *pattern, const char *path,
	    const char *glob, struct buf *out);

/*
 * The writing tools. Each works beneath the root following no symlink at
 * any step (the caller decided on the real target and passes it), and
 * replaces a file atomically: a temporary file in the same directory,
 * fsync, rename; the old file's mode is kept (0644 for a new one).
 *
 * tools_file_write creates or overwrites path with data[0..len) (at most
 * 16 MiB), creating missing parent directories; out: "wrote N bytes to
 * PATH". tools_file_edit replaces old (not empty) with new in path: old
 * must occur exactly once unless all is set (then every non-overlapping
 * occurrence); WARD_EINVAL says "not found" or "occurs N times"; out:
 * "replaced N occurrences in PATH". tools_file_delete removes a file (not
 * a directory); out: "deleted PATH". Returns and messages as above.
 */
int	tools_file_write(struct tools *t, const char *path, const char *data,
	    size_t len, struct buf *out);
int	tools_file_edit(struct tools *t, const char *path, const char *old,
	    const char *new, int all, struct buf *out);
int	tools_file_delete(struct tools *t, const char *path, struct buf *out);

#endif

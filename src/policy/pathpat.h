/*
 * Path globs and the decision whether the agent may read, write or list a
 * path (DESIGN §3, §2 invariant 4; doc/MANIFEST.md "Paths"). The decision
 * is made on the real target of the path, after symlinks, and a deny
 * matched by either the path as given or its real target wins over every
 * allow. A few paths are never writable whatever the manifest says.
 */
#ifndef WARD_PATHPAT_H
#define WARD_PATHPAT_H

#include <limits.h>

#include "../lib/buf.h"
#include "manifest.h"

enum pathpat_op {
	PATHPAT_READ,		/* read a file: the allow/deny.read lists */
	PATHPAT_WRITE,		/* create, change or delete a file:
				   the allow/deny.write lists */
	PATHPAT_LIST,		/* list a directory: the read lists */
};

struct pathpat_result {
	int		 allow;		/* 1 allow, 0 deny */
	char		*rule;		/* the rule that decided, e.g.
					   'allow.read paths "src" files
					   "*.c"'; never NULL */
	const char	*reason;	/* static text; never NULL */
	char		*real;		/* the absolute real target, NULL when
					   it could not be resolved */
};

/*
 * Matches a glob against a path, bytewise and anchored at both ends:
 * "**" as a whole segment is zero or more segments; "*" is any run of
 * bytes but '/' (a leading '.' included); "?" is one byte but '/';
 * "[abc]", "[a-z]", "[!a]" or "[^a]" is one byte of (or not of) the set,
 * with ']' literal when first; '\' makes the next byte literal, in a set
 * too. "**" inside a longer segment is two "*". An empty glob or path has
 * no segments. Returns 1 on a match, 0 otherwise and for an invalid glob.
 */
int	pathpat_match(const char *glob, const char *path);

/* Returns 0 when glob is well formed, or WARD_EINVAL with the reason
 * appended to err (may be NULL): an unclosed '[', a reversed range, a '/'
 * inside [...], "\/" or a trailing lone '\'. */
int	pathpat_valid(const char *glob, struct buf *err);

/*
 * Checks one [capabilities.*.read|write] list the way pathpat_decide will
 * use it (label names it in messages, e.g. "allow.read"): every glob well
 * formed, no absolute or ".." paths entry, no '/' in a file glob, every
 * additional directory absolute or "~/...". The manifest loader calls it so
 * a bad entry is refused when ward.toml is read, not at the first decision.
 * Returns 0 or WARD_EINVAL with the reason appended to err (may be NULL).
 */
int	pathpat_valid_files(const char *label, const struct manifest_files *f,
	    struct buf *err);

/*
 * Decides op on path for the project at root. root is absolute and must
 * exist (it may contain symlinks); path is relative to root or absolute.
 *
 * A paths entry is a directory glob relative to the root: "." is the
 * root, "**" every directory, and a trailing "**" segment matches the
 * directory before it too. It covers a file when the glob matches the
 * file's directory and the name matches one of the entry's files (or
 * default_files; an empty list is every name); an entry
 * without glob characters also covers the file it names (as an allow,
 * never a directory). It covers a directory to list when the glob matches
 * it (a deny entry only when it has no file globs). An additional
 * directory ("/abs" or "~/...") covers every file below it, filtered by
 * default_files, and every directory at or below it.
 *
 * The path is normalised lexically (".." above the root leaves the
 * project), then its symlinks resolved; missing components are kept, so
 * a new file or a dangling symlink resolves to where it would be written.
 * In this order: built-in denies (never writable: ward.toml at the root,
 * any path with a ".git" segment, a regular file with more than one hard
 * link, ward's state and runtime directories; never readable, listable
 * or writable: ward's config and data directories); the manifest's
 * denies, on the lexical path and on the real target; its allows, on the
 * real target, through paths inside the real root and through
 * additional_directories outside it; else deny. A path that cannot be
 * resolved (a loop, over PATH_MAX, unreadable) is denied.
 *
 * Returns 0 with *res filled (free with pathpat_result_clear), a deny
 * being a successful decision; or WARD_EINVAL (relative root, a manifest
 * entry decide cannot use: an invalid glob, a "/" or ".." in a paths
 * entry, a '/' in a file glob, a relative additional directory, $HOME
 * unset for "~"), WARD_ENOENT (no root), WARD_ESYS or an xdg_dir error
 * (ward's own directories unknown), WARD_ENOMEM, with a message in err
 * (may be NULL). On error *res is empty.
 *
 * The caller must act on res->real, not on path, and must not follow
 * symlinks when it does (a command may change the tree between the
 * decision and the act).
 */
int	pathpat_decide(const struct manifest *m, const char *root,
	    const char *path, enum pathpat_op op, struct pathpat_result *res,
	    struct buf *err);

/* ward's own directories (configuration, data, state, runtime), which
 * the built-in rules protect: as configured, lexically normal, and
 * resolved. */
#define PATHPAT_NOWN	4
struct pathpat_own {
	char	lex[PATHPAT_NOWN][PATH_MAX];
	char	real[PATHPAT_NOWN][PATH_MAX];
};

/* Resolves ward's own directories into o (creating them if missing, as
 * xdg_dir does). Returns 0, or a WARD_E* with a message in err (if not
 * NULL). */
int	pathpat_own_init(struct pathpat_own *o, struct buf *err);

/*
 * The same with what a caller resolved once: the root's real path (rroot;
 * NULL: resolve it here, as pathpat_decide does) and ward's own
 * directories (own; NULL: here). A stale rroot only narrows: if the root
 * moved, real targets fall outside rroot and are denied as outside the
 * project. A stale own would miss ward's directories only at a new real
 * location: nothing ward runs can move them (no command or tool may write
 * there), and the configured names are checked as well.
 */
int	pathpat_decide_in(const struct manifest *m, const char *root,
	    const char *rroot, const struct pathpat_own *own, const char *path,
	    enum pathpat_op op, struct pathpat_result *res, struct buf *err);

/* Frees what res holds and empties it; NULL is a no-op. */
void	pathpat_result_clear(struct pathpat_result *res);

#endif

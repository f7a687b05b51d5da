/*
 * Path globs and read/write/list decisions; see pathpat.h and "Paths" in
 * doc/MANIFEST.md. The path is normalised lexically, then resolved one
 * component at a time (realpath(3) cannot resolve a file that does not
 * exist yet, which is what every write creating a file names). Built-in
 * denies come first, then the manifest's denies, matched on the path as
 * given and on its real target, then its allows, on the real target only.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/xdg.h"
#include "pathpat.h"

#define PATHPAT_MAXLINKS	40	/* Linux's own limit before ELOOP */

struct pathpat_ctx {
	enum pathpat_op	 op;
	const struct pathpat_own *own;		/* resolved once, or NULL */
	char		 root[PATH_MAX];	/* the root, lexically normal */
	char		 rroot[PATH_MAX];	/* the root's real path */
	char		 lex[PATH_MAX];		/* the path, lexically normal */
	char		 real[PATH_MAX];	/* its real target */
	const char	*rlex, *rreal;		/* the same relative to the
						   root, "" for the root
						   itself, NULL outside */
	struct stat	 st;			/* lstat of real, when */
	int		 have_st;		/* set by its resolution */
	struct buf	 rule;
	struct buf	*err;
};

/* ward's own directories: never writable, some never readable either. */
static const struct {
	enum xdg_kind	 kind;
	int		 noread;
	const char	*rule;
} pathpat_xdg[] = {
	{ XDG_CONFIG, 1, "built-in: ward's configuration and keys are "
	    "never readable or writable" },
	{ XDG_DATA, 1, "built-in: ward's vault is never readable or "
	    "writable" },
	{ XDG_STATE, 0, "built-in: ward's state (approvals, audit logs) is "
	    "never writable" },
	{ XDG_RUNTIME, 0, "built-in: ward's runtime directory is never "
	    "writable" },
};

_Static_assert(sizeof(pathpat_xdg) / sizeof(pathpat_xdg[0]) == PATHPAT_NOWN,
    "pathpat_own holds one entry per protected directory");

/* One byte of a set at *gp (a '\' makes it literal); -1 with *why at the
 * end of the glob or at a '/'. */
static int
pathpat_setbyte(const char **gp, const char **why)
{
	const char *g = *gp;

	if (*g == '\\')
		g++;
	if (*g == '\0') {
		*why = "unclosed '['";
		return -1;
	}
	if (*g == '/') {
		*why = "'/' inside [...]";
		return -1;
	}
	*gp = g + 1;
	return (unsigned char)*g;
}

/* Reads the set whose '[' is at *gp and moves *gp past its ']'. Returns 1
 * when byte c (-1: none) is in it, 0 when not, -1 malformed (*why). */
static int
pathpat_set(const char **gp, int c, const char **why)
{
	const char *g = *gp + 1;
	int neg, in = 0, first, lo, hi;

	if ((neg = (*g == '!' || *g == '^')))
		g++;
	for (first = 1; first || *g != ']'; first = 0) {
		if ((lo = hi = pathpat_setbyte(&g, why)) == -1)
			return -1;
		if (g[0] == '-' && g[1] != ']' && g[1] != '\0') {
			g++;
			if ((hi = pathpat_setbyte(&g, why)) == -1)
				return -1;
			if (hi < lo) {
				*why = "reversed range in [...]";
				return -1;
			}
		}
		if (lo <= c && c <= hi)
			in = 1;
	}
	*gp = g + 1;
	return in != neg;
}

/* NULL when glob is well formed, else why not. */
static const char *
pathpat_check(const char *g)
{
	const char *why = NULL;

	while (*g != '\0') {
		if (*g == '[') {
			if (pathpat_set(&g, -1, &why) == -1)
				return why;
		} else if (*g == '\\') {
			if (g[1] == '\0')
				return "a lone '\\' at the end";
			if (g[1] == '/')
				return "'/' cannot be escaped";
			g += 2;
		} else
			g++;
	}
	return NULL;
}

/* Matches one token of a valid glob at *gp against byte c and moves *gp
 * past it. */
static int
pathpat_tok(const char **gp, unsigned char c)
{
	const char *g = *gp, *why;

	switch (*g) {
	case '[':
		return pathpat_set(gp, c, &why) == 1;
	case '?':
		*gp = g + 1;
		return 1;
	case '\\':
		g++;
		/* FALLTHROUGH */
	default:
		*gp = g + 1;
		return (unsigned char)*g == c;
	}
}

/* One segment of a valid glob, g[0..ge), against s[0..se). Only the last
 * '*' is ever retried, so this is O(len(g) * len(s)). */
static int
pathpat_seg(const char *g, const char *ge, const char *s, const char *se)
{
	const char *bg = NULL, *bs = NULL;

	while (s < se) {
		if (g < ge && *g == '*') {
			bg = ++g;
			bs = s;
		} else if (g < ge && pathpat_tok(&g, (unsigned char)*s))
			s++;
		else if (bg != NULL) {
			g = bg;
			s = ++bs;
		} else
			return 0;
	}
	while (g < ge && *g == '*')
		g++;
	return g == ge;
}

static const char *
pathpat_segend(const char *s)
{
	return s + strcspn(s, "/");
}

/* The segment after s, NULL after the last. A valid glob has no '/' in a
 * set and no "\/", so every '/' separates. */
static const char *
pathpat_next(const char *s)
{
	s = pathpat_segend(s);
	return *s == '/' ? s + 1 : NULL;
}

static int
pathpat_isglobstar(const char *g)
{
	return g[0] == '*' && g[1] == '*' && (g[2] == '/' || g[2] == '\0');
}

/* A valid glob against path, segment by segment; "**" is to segments what
 * '*' is to bytes, so again only the last "**" is ever retried. */
static int
pathpat_glob(const char *glob, const char *path)
{
	const char *g = *glob != '\0' ? glob : NULL;
	const char *p = *path != '\0' ? path : NULL;
	const char *bg = NULL, *bp = NULL;
	int star = 0;

	while (p != NULL) {
		if (g != NULL && pathpat_isglobstar(g)) {
			bg = g = pathpat_next(g);
			bp = p;
			star = 1;
		} else if (g != NULL && pathpat_seg(g, pathpat_segend(g), p,
		    pathpat_segend(p))) {
			g = pathpat_next(g);
			p = pathpat_next(p);
		} else if (star) {
			g = bg;
			p = bp = pathpat_next(bp);
		} else
			return 0;
	}
	while (g != NULL && pathpat_isglobstar(g))
		g = pathpat_next(g);
	return g == NULL;
}

int
pathpat_match(const char *glob, const char *path)
{
	return pathpat_check(glob) == NULL && pathpat_glob(glob, path);
}

int
pathpat_valid(const char *glob, struct buf *err)
{
	const char *why;

	if ((why = pathpat_check(glob)) == NULL)
		return 0;
	if (err != NULL)
		buf_printf(err, "glob '%s': %s", glob, why);
	return WARD_EINVAL;
}

/* Appends segment s[0..n) to the absolute normal path p (PATH_MAX bytes).
 * -1: too long. */
static int
pathpat_push(char *p, const char *s, size_t n)
{
	size_t len = strlen(p);

	if (len > 1)
		p[len++] = '/';
	if (len + n >= PATH_MAX)
		return -1;
	memcpy(p + len, s, n);
	p[len + n] = '\0';
	return 0;
}

/* Drops the last segment of the absolute normal path p; "/" stays. */
static void
pathpat_pop(char *p)
{
	char *s = strrchr(p, '/');

	if (s == p)
		p[1] = '\0';
	else
		*s = '\0';
}

/* Applies path's segments to the absolute normal path p: "." and empty
 * segments are dropped, ".." drops the last one. -1: too long. */
static int
pathpat_walk(char *p, const char *path)
{
	const char *s, *e;
	size_t n;

	for (s = path; *s != '\0'; s = e) {
		while (*s == '/')
			s++;
		e = pathpat_segend(s);
		n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			pathpat_pop(p);
		else if (pathpat_push(p, s, n) != 0)
			return -1;
	}
	return 0;
}

/* out = path made absolute against base and normalised without looking
 * at the file system. -1: too long. */
static int
pathpat_lexnorm(const char *base, const char *path, char *out)
{
	strcpy(out, "/");
	if (path[0] != '/' && pathpat_walk(out, base) != 0)
		return -1;
	return pathpat_walk(out, path);
}

/*
 * The real target of the absolute normal path lex, into out. Components
 * that do not exist are kept as they are, so a new file resolves to where
 * it would be created, and a dangling symlink to where it points. *have
 * (if st is not NULL) is 1 when *st is the lstat of out itself, taken on
 * the way. Returns NULL, or why the path cannot be resolved (it is then
 * denied).
 */
static const char *
pathpat_resolve(const char *lex, char *out, struct stat *last, int *have)
{
	char rest[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX];
	const char *s, *e;
	struct stat st;
	ssize_t len;
	size_t n;
	int hops = 0;

	if (have != NULL)
		*have = 0;
	if (strlen(lex) >= sizeof(rest))
		return "the path is too long";
	strcpy(rest, lex);
	strcpy(out, "/");
	for (s = rest; *s != '\0'; s = e) {
		while (*s == '/')
			s++;
		e = pathpat_segend(s);
		n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (have != NULL)
			*have = 0;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			pathpat_pop(out);
			continue;
		}
		if (pathpat_push(out, s, n) != 0)
			return "the path is too long";
		if (lstat(out, &st) == -1) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return "the path cannot be looked up";
		}
		if (!S_ISLNK(st.st_mode)) {
			if (have != NULL) {
				*last = st;
				*have = 1;
			}
			continue;
		}
		if (++hops > PATHPAT_MAXLINKS)
			return "too many levels of symbolic links";
		if ((len = readlink(out, link, sizeof(link))) == -1)
			return "the path cannot be looked up";
		if ((size_t)len >= sizeof(link))
			return "the path is too long";
		link[len] = '\0';
		pathpat_pop(out);
		if (link[0] == '/')
			strcpy(out, "/");
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", link, e) >=
		    sizeof(tmp))
			return "the path is too long";
		strcpy(rest, tmp);
		e = rest;
	}
	return NULL;
}

/* p relative to the directory dir ("" for dir itself), NULL when p is not
 * at or below dir. Both are absolute and normal. */
static const char *
pathpat_rel(const char *p, const char *dir)
{
	size_t n = strcmp(dir, "/") == 0 ? 0 : strlen(dir);

	if (strncmp(p, dir, n) != 0)
		return NULL;
	if (p[n] == '\0')
		return p + n;
	return p[n] == '/' ? p + n + 1 : NULL;
}

/* Sets the deciding rule: text, then optionally ' key "val"' and
 * ' fkey "fval"'. Returns 1 (decided) or WARD_ENOMEM. */
static int
pathpat_said(struct pathpat_ctx *c, const char *text, const char *key,
    const char *val, const char *fkey, const char *fval)
{
	buf_reset(&c->rule);
	if (buf_puts(&c->rule, text) != 0 ||
	    (key != NULL &&
	    buf_printf(&c->rule, " %s \"%s\"", key, val) != 0) ||
	    (fval != NULL &&
	    buf_printf(&c->rule, " %s \"%s\"", fkey, fval) != 0))
		return WARD_ENOMEM;
	return 1;
}

/* The directory glob of a paths entry into out (PATH_MAX bytes), with
 * empty and "." segments dropped, so "." and "./" are the root, "". NULL,
 * or why the entry cannot be used. */
static const char *
pathpat_dirglob(const char *in, char *out)
{
	char *o = out;
	const char *s, *e;
	size_t n;

	if (in[0] == '/')
		return "is absolute (paths are relative to the project root)";
	for (s = in; *s != '\0'; s = e) {
		while (*s == '/')
			s++;
		e = pathpat_segend(s);
		n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return "contains \"..\"";
		if ((size_t)(o - out) + n + 2 > PATH_MAX)
			return "is too long";
		if (o != out)
			*o++ = '/';
		memcpy(o, s, n);
		o += n;
	}
	*o = '\0';
	return pathpat_check(out);
}

/* An additional directory ("~" is $HOME) made absolute and normal in lex,
 * its real target in real (lex when it cannot be resolved). NULL, or why
 * the entry cannot be used. */
static const char *
pathpat_adddir(const char *d, char *lex, char *real)
{
	char tmp[PATH_MAX];
	const char *home;

	if (d[0] == '~' && (d[1] == '\0' || d[1] == '/')) {
		home = getenv("HOME");
		if (home == NULL || home[0] != '/')
			return "needs $HOME, which is not an absolute path";
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", home, d + 1) >=
		    sizeof(tmp))
			return "is too long";
	} else if (d[0] == '/') {
		if (strlen(d) >= sizeof(tmp))
			return "is too long";
		strcpy(tmp, d);
	} else
		return "is not absolute (or ~/...)";
	if (pathpat_lexnorm("/", tmp, lex) != 0)
		return "is too long";
	if (pathpat_resolve(lex, real, NULL, NULL) != NULL)
		strcpy(real, lex);
	return NULL;
}

/* A file glob: well formed, and no '/' since it matches a name. */
static int
pathpat_checkname(const char *label, const char *key, const char *g,
    struct buf *err)
{
	const char *why;

	if ((why = pathpat_check(g)) == NULL && strchr(g, '/') != NULL)
		why = "a file glob matches a name and cannot contain '/'";
	if (why == NULL)
		return 0;
	if (err != NULL)
		buf_printf(err, "%s %s \"%s\": %s", label, key, g, why);
	return WARD_EINVAL;
}

/* Refuses a list with an entry that could not be matched as written: a
 * deny that silently never matched would be an allow. */
static int
pathpat_checklist(const char *label, const struct manifest_files *f,
    struct buf *err)
{
	char a[PATH_MAX], b[PATH_MAX];
	const struct manifest_path *e;
	const char *why;
	size_t i, j;
	int rc;

	for (i = 0; i < f->default_files.n; i++)
		if ((rc = pathpat_checkname(label, "default_files",
		    f->default_files.v[i], err)) != 0)
			return rc;
	for (i = 0; i < f->npaths; i++) {
		e = &f->paths[i];
		if ((why = pathpat_dirglob(e->path, a)) != NULL) {
			if (err != NULL)
				buf_printf(err, "%s paths \"%s\": %s", label,
				    e->path, why);
			return WARD_EINVAL;
		}
		for (j = 0; j < e->files.n; j++)
			if ((rc = pathpat_checkname(label, "files",
			    e->files.v[j], err)) != 0)
				return rc;
	}
	for (i = 0; i < f->additional_directories.n; i++)
		if ((why = pathpat_adddir(f->additional_directories.v[i], a,
		    b)) != NULL) {
			if (err != NULL)
				buf_printf(err, "%s additional_directories "
				    "\"%s\": %s", label,
				    f->additional_directories.v[i], why);
			return WARD_EINVAL;
		}
	return 0;
}

int
pathpat_valid_files(const char *label, const struct manifest_files *f,
    struct buf *err)
{
	return pathpat_checklist(label, f, err);
}

/* The first of files matching name into *fg (NULL when files is empty:
 * every name). Returns 1 or 0. */
static int
pathpat_names(const struct manifest_strs *files, const char *name,
    const char **fg)
{
	size_t i;

	*fg = NULL;
	if (files->n == 0)
		return 1;
	for (i = 0; i < files->n; i++)
		if (pathpat_glob(files->v[i], name)) {
			*fg = files->v[i];
			return 1;
		}
	return 0;
}

/*
 * Whether paths entry e of list f covers rel, a root-relative path: 1
 * (with the rule set), 0, or WARD_ENOMEM. A file is covered when the glob
 * matches its directory and its name passes the file globs, or when the
 * entry has no glob characters and names it exactly. A directory to list
 * is covered when the glob matches it, except that a deny entry with file
 * globs denies those files, not the listing. An exact name allows no
 * directory: paths = ["build"] grants the files in build, not the
 * deletion of build itself; as a deny it covers both.
 */
static int
pathpat_entry(struct pathpat_ctx *c, const char *label,
    const struct manifest_files *f, const struct manifest_path *e,
    const char *rel, int deny)
{
	const struct manifest_strs *files = e->has_files ? &e->files :
	    &f->default_files;
	char g[PATH_MAX], dir[PATH_MAX];
	const char *name, *fg = NULL;
	struct stat st;

	if (pathpat_dirglob(e->path, g) != NULL)
		return 0;	/* refused by pathpat_checklist already */
	if (c->op == PATHPAT_LIST) {
		if ((deny && files->n > 0) || !pathpat_glob(g, rel))
			return 0;
	} else if (strpbrk(g, "*?[\\") != NULL || strcmp(g, rel) != 0 ||
	    (!deny && stat(c->real, &st) == 0 && S_ISDIR(st.st_mode))) {
		if ((name = strrchr(rel, '/')) == NULL) {
			dir[0] = '\0';
			name = rel;
		} else {
			memcpy(dir, rel, (size_t)(name - rel));
			dir[name - rel] = '\0';
			name++;
		}
		if (!pathpat_glob(g, dir) || !pathpat_names(files, name, &fg))
			return 0;
	}
	return pathpat_said(c, label, "paths", e->path,
	    e->has_files ? "files" : "default_files", fg);
}

/* Whether additional directory d of list f covers the absolute path p: a
 * file strictly below it whose name passes default_files, or a directory
 * to list at or below it (for a deny, only without default_files). */
static int
pathpat_below(struct pathpat_ctx *c, const char *label,
    const struct manifest_files *f, const char *d, const char *dir,
    const char *p, int deny)
{
	const char *r, *fg = NULL;

	if ((r = pathpat_rel(p, dir)) == NULL)
		return 0;
	if (c->op == PATHPAT_LIST) {
		if (deny && f->default_files.n > 0)
			return 0;
	} else if (*r == '\0' ||
	    !pathpat_names(&f->default_files, strrchr(p, '/') + 1, &fg))
		return 0;
	return pathpat_said(c, label, "additional_directories", d,
	    "default_files", fg);
}

/*
 * Whether list f covers the path: 1 (with the rule set), 0, or a negative
 * WARD_E*. A deny list is tried on the path as given and on its real
 * target; an allow list on the real target only, inside the project
 * through paths and outside through additional_directories.
 */
static int
pathpat_list(struct pathpat_ctx *c, const char *label,
    const struct manifest_files *f, int deny)
{
	const char *rel[2] = { c->rreal, deny ? c->rlex : NULL };
	const char *abs[2] = { c->real, deny ? c->lex : NULL };
	const char *d[2];
	char dlex[PATH_MAX], dreal[PATH_MAX];
	size_t i, j, k;
	int rc;

	for (i = 0; i < f->npaths; i++)
		for (j = 0; j < 2; j++)
			if (rel[j] != NULL && (rc = pathpat_entry(c, label, f,
			    &f->paths[i], rel[j], deny)) != 0)
				return rc;
	if (!deny && c->rreal != NULL)
		return 0;
	d[0] = dreal;
	d[1] = deny ? dlex : NULL;
	for (i = 0; i < f->additional_directories.n; i++) {
		if (pathpat_adddir(f->additional_directories.v[i], dlex,
		    dreal) != NULL)
			return WARD_EINVAL;	/* $HOME changed since the
						   check */
		for (j = 0; j < 2; j++)
			for (k = 0; k < 2; k++)
				if (abs[j] != NULL && d[k] != NULL &&
				    (rc = pathpat_below(c, label, f,
				    f->additional_directories.v[i], d[k],
				    abs[j], deny)) != 0)
					return rc;
	}
	return 0;
}

/* Whether some segment of the absolute path p is ".git", in any case:
 * on a case-insensitive file system ".GIT" is the same directory. */
static int
pathpat_hasgit(const char *p)
{
	const char *s;

	for (s = p; (s = strchr(s, '/')) != NULL; s++)
		if (strncasecmp(s + 1, ".git", 4) == 0 &&
		    (s[5] == '/' || s[5] == '\0'))
			return 1;
	return 0;
}

/* ward's own directory i of pathpat_xdg, lexically normal and resolved,
 * into lex and real (PATH_MAX each). Returns 0 or a WARD_E* with a message
 * in err (if not NULL). */
static int
pathpat_own_dir(size_t i, char *lex, char *real, struct buf *err)
{
	char *dir = NULL;
	int rc;

	if ((rc = xdg_dir(pathpat_xdg[i].kind, &dir)) != 0) {
		if (err != NULL)
			buf_printf(err, "ward's own directories: %s",
			    ward_strerror(rc));
		return rc;
	}
	rc = (pathpat_lexnorm("/", dir, lex) != 0 ||
	    realpath(dir, real) == NULL) ? WARD_ESYS : 0;
	free(dir);
	if (rc != 0 && err != NULL)
		buf_printf(err, "ward's own directories: %s", strerror(errno));
	return rc;
}

int
pathpat_own_init(struct pathpat_own *o, struct buf *err)
{
	size_t i;
	int rc;

	for (i = 0; i < PATHPAT_NOWN; i++)
		if ((rc = pathpat_own_dir(i, o->lex[i], o->real[i], err)) != 0)
			return rc;
	return 0;
}

/* Whether a built-in rule denies: 1 (with the rule set), 0, or a
 * negative WARD_E*. Both the path as given and its real target count. */
static int
pathpat_builtin(struct pathpat_ctx *c)
{
	const char *p[2] = { c->lex, c->real }, *rel[2] = { c->rlex, c->rreal };
	const char *olex, *oreal;
	char lex[PATH_MAX], real[PATH_MAX];
	struct stat st;
	size_t i, j;
	int rc = 0;

	if (c->op == PATHPAT_WRITE) {
		for (j = 0; j < 2; j++) {
			if (pathpat_hasgit(p[j]))
				return pathpat_said(c, "built-in: git "
				    "metadata (.git) is never writable",
				    NULL, NULL, NULL, NULL);
			if (rel[j] != NULL &&
			    strcasecmp(rel[j], "ward.toml") == 0)
				return pathpat_said(c, "built-in: the "
				    "manifest is never writable",
				    NULL, NULL, NULL, NULL);
		}
		/* ward.toml may itself be a symlink: its target is the
		 * manifest too. */
		if (snprintf(lex, sizeof(lex), "%s/ward.toml", c->rroot) <
		    (int)sizeof(lex) && realpath(lex, real) != NULL &&
		    strcmp(real, c->real) == 0)
			return pathpat_said(c, "built-in: the "
			    "manifest is never writable",
			    NULL, NULL, NULL, NULL);
	}
	/* Another name for a protected or denied file would pass every
	 * check on this one: a hard-linked file cannot be decided by its
	 * name. */
	if (c->have_st)
		st = c->st;
	if ((c->have_st || lstat(c->real, &st) == 0) && S_ISREG(st.st_mode) &&
	    st.st_nlink > 1)
		return pathpat_said(c, c->op == PATHPAT_WRITE ? "built-in: a "
		    "file with more than one hard link is never writable" :
		    "built-in: a file with more than one hard link is never "
		    "readable", NULL, NULL, NULL, NULL);
	for (i = 0; i < PATHPAT_NOWN; i++) {
		if (c->op != PATHPAT_WRITE && !pathpat_xdg[i].noread)
			continue;
		if (c->own != NULL) {
			olex = c->own->lex[i];
			oreal = c->own->real[i];
		} else if ((rc = pathpat_own_dir(i, lex, real, c->err)) != 0)
			return rc;
		else {
			olex = lex;
			oreal = real;
		}
		for (j = 0; j < 2; j++)
			if (pathpat_rel(p[j], olex) != NULL ||
			    pathpat_rel(p[j], oreal) != NULL)
				return pathpat_said(c, pathpat_xdg[i].rule,
				    NULL, NULL, NULL, NULL);
	}
	return 0;
}

int
pathpat_decide(const struct manifest *m, const char *root, const char *path,
    enum pathpat_op op, struct pathpat_result *res, struct buf *err)
{
	return pathpat_decide_in(m, root, NULL, NULL, path, op, res, err);
}

int
pathpat_decide_in(const struct manifest *m, const char *root,
    const char *rroot, const struct pathpat_own *own, const char *path,
    enum pathpat_op op, struct pathpat_result *res, struct buf *err)
{
	const struct manifest_files *allow, *deny;
	const char *al, *dl, *why = NULL, *reason;
	struct pathpat_ctx *c;
	struct stat st;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return WARD_ENOMEM;
	c->op = op;
	c->own = own;
	c->err = err;
	buf_init(&c->rule, 0);
	allow = op == PATHPAT_WRITE ? &m->allow_write : &m->allow_read;
	deny = op == PATHPAT_WRITE ? &m->deny_write : &m->deny_read;
	al = op == PATHPAT_WRITE ? "allow.write" : "allow.read";
	dl = op == PATHPAT_WRITE ? "deny.write" : "deny.read";

	if (root[0] != '/' || pathpat_lexnorm("/", root, c->root) != 0) {
		rc = WARD_EINVAL;
		if (err != NULL)
			buf_printf(err, "project root '%s': not an absolute "
			    "path", root);
		goto out;
	}
	if (rroot != NULL && strlen(rroot) < sizeof(c->rroot))
		strcpy(c->rroot, rroot);
	else if (realpath(root, c->rroot) == NULL ||
	    stat(c->rroot, &st) == -1) {
		rc = errno == ENOENT ? WARD_ENOENT : WARD_ESYS;
		if (err != NULL)
			buf_printf(err, "project root '%s': %s", root,
			    strerror(errno));
		goto out;
	} else if (!S_ISDIR(st.st_mode)) {
		rc = WARD_EINVAL;
		if (err != NULL)
			buf_printf(err, "project root '%s': not a directory",
			    root);
		goto out;
	}
	if ((rc = pathpat_checklist(al, allow, err)) != 0 ||
	    (rc = pathpat_checklist(dl, deny, err)) != 0)
		goto out;

	if (path[0] == '\0')
		why = "the path is empty";
	else if (pathpat_lexnorm(c->root, path, c->lex) != 0)
		why = "the path is too long";
	else
		why = pathpat_resolve(c->lex, c->real, &c->st, &c->have_st);
	if (why == NULL) {
		if ((c->rlex = pathpat_rel(c->lex, c->root)) == NULL)
			c->rlex = pathpat_rel(c->lex, c->rroot);
		c->rreal = pathpat_rel(c->real, c->rroot);
	}

	reason = why;
	if (why != NULL)
		rc = pathpat_said(c, "built-in: a path that cannot be "
		    "resolved is denied", NULL, NULL, NULL, NULL);
	else if ((rc = pathpat_builtin(c)) != 0)
		reason = "protected by ward";
	else if ((rc = pathpat_list(c, dl, deny, 1)) != 0)
		reason = "denied by the manifest";
	else if ((rc = pathpat_list(c, al, allow, 0)) != 0) {
		reason = "granted by the manifest";
		res->allow = 1;
	} else {
		reason = "not granted";
		rc = pathpat_said(c, c->rreal != NULL ?
		    "default: no allow rule covers it" :
		    "default: outside the project and no "
		    "additional_directories entry covers it",
		    NULL, NULL, NULL, NULL);
	}
	if (rc < 0)
		goto out;
	rc = WARD_ENOMEM;
	res->reason = reason;
	if ((res->rule = buf_take(&c->rule)) == NULL ||
	    (why == NULL && (res->real = strdup(c->real)) == NULL))
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		pathpat_result_clear(res);
		if (rc == WARD_ENOMEM && err != NULL)
			buf_printf(err, "%s", ward_strerror(rc));
	}
	buf_free(&c->rule);
	free(c);
	return rc;
}

void
pathpat_result_clear(struct pathpat_result *res)
{
	if (res == NULL)
		return;
	free(res->rule);
	free(res->real);
	memset(res, 0, sizeof(*res));
}

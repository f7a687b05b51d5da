/*
 * The agent's read-only file tools (file_read, file_list, grep), confined to
 * one project root. Confinement is the kernel's job, not ours: every lookup
 * of an agent-supplied path is an openat2(RESOLVE_BENEATH) from the root's
 * fd, and walks descend from fds obtained that way with O_NOFOLLOW, so no
 * string check on agent input ever decides what may be opened.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/openat2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tools.h"
#include "../lib/err.h"
#include "../lib/utf8.h"

#define TOOLS_READ_BYTES	(256 * 1024)
#define TOOLS_LIST_ENTRIES	2000
#define TOOLS_GREP_MATCHES	500
#define TOOLS_LINE_BYTES	512

#define TOOLS_CHUNK		(64 * 1024)
#define TOOLS_SNIFF		8192	/* a NUL in here means binary */
#define TOOLS_COUNT_MAX		(64 * 1024 * 1024)
#define TOOLS_SCAN_LINE		(1024 * 1024)
#define TOOLS_DEPTH_MAX		64
#define TOOLS_PATH_MAX		4096
#define TOOLS_WRITE_MAX		(16 * 1024 * 1024)	/* one write or edit */
#define TOOLS_PATTERN_MAX	4096
#define TOOLS_OPEN_TRIES	8
#define TOOLS_MATCH_LIMIT	10000000

struct tools {
	int			 rootfd;
	char			*root;	/* realpath of the root */
	size_t			 rootlen;
	struct tools_limits	 lim;
	int			(*filter)(void *, const char *, int);
	void			*filter_arg;
};

enum { ENT_REG, ENT_DIR, ENT_LNK, ENT_OTHER };

struct ent {
	char	*name;
	int	 type;
};

/* State shared by file_list and grep while they walk a tree. */
struct walk {
	struct tools		*t;
	struct buf		*out;
	const char		*glob;	/* NULL: everything */
	size_t			 globlen;
	int			 dironly; /* glob ended in '/' */
	struct buf		 rel;	/* entry path from the root */
	size_t			 base;	/* the glob sees rel from here */
	size_t			 shown;
	size_t			 more;
	int			 full;	/* a cap was reached */
	int			 grep;
	pcre2_code		*re;
	pcre2_match_data	*md;
	pcre2_match_context	*mc;
	struct buf		 line;
	struct buf		 disp;
	char			*chunk;
};

/* grep_fd's verdict on a file with a NUL near its start. */
#define GREP_BINARY	1

static int
tools_fail(struct buf *out, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


/* Replaces out with a message for the model and returns code. */
static int
tools_fail(struct buf *out, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int n;

	buf_reset(out);
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return code;
	(void)utf8_sanitize(out, msg, (size_t)n);
	free(msg);
	return code;
}

/* For failures of the buffers themselves, which carry no message. */
static int
tools_buffail(struct buf *out, int rc)
{
	if (rc == WARD_ENOMEM)
		return tools_fail(out, rc, "out of memory");
	return tools_fail(out, rc, "the result is too large for the output "
	    "buffer");
}

static void
tools_truncate(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
}

static ssize_t
read_full(int fd, char *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, p + got, n - got);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * The one door to the tree: resolution stays beneath the root, refusing
 * "..", absolute symlinks and symlinks leading out (EXDEV), and /proc magic
 * links. A rename racing with the lookup makes the kernel answer EAGAIN.
 */
static int
tools_openat2(int dirfd, const char *rel, int flags, int nofollow)
{
	struct open_how how;
	long fd = -1;
	int i;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
	    (nofollow ? RESOLVE_NO_SYMLINKS : 0);
	for (i = 0; i < TOOLS_OPEN_TRIES; i++) {
		fd = syscall(SYS_openat2, dirfd, *rel != '\0' ? rel : ".",
		    &how, sizeof(how));
		if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
			break;
	}
	return (int)fd;
}

static int
tools_openerr(struct buf *out, int err, const char *path)
{
	switch (err) {
	case EXDEV:
		return tools_fail(out, WARD_EDENIED,
		    "path escapes the project root: %s", path);
	case ENOENT:
	case ENOTDIR:
		return tools_fail(out, WARD_ENOENT,
		    "no such file or directory: %s", path);
	case ELOOP:
		return tools_fail(out, WARD_EINVAL,
		    "too many levels of symbolic links: %s", path);
	case ENAMETOOLONG:
		return tools_fail(out, WARD_EINVAL, "path too long: %s", path);
	case ENOMEM:
		return tools_fail(out, WARD_ENOMEM, "out of memory");
	}
	return tools_fail(out, WARD_ESYS, "cannot open %s: %s", path,
	    strerror(err));
}

/*
 * Makes the agent's path relative to the root, dropping empty and "."
 * components ("" is the root). An absolute path counts only if it lies under
 * the root's realpath; ".." is left for the kernel to judge.
 */
static int
tools_relpath(struct tools *t, const char *path, char **relp,
    struct buf *out)
{
	const char *p = path, *e;
	char *r;
	size_t n = 0, len;

	*relp = NULL;
	if (strlen(path) > TOOLS_PATH_MAX)
		return tools_fail(out, WARD_EINVAL, "path too long: %.64s...",
		    path);
	if (*p == '/') {
		if (t->rootlen == 1)
			p++;
		else if (strncmp(p, t->root, t->rootlen) == 0 &&
		    (p[t->rootlen] == '/' || p[t->rootlen] == '\0'))
			p += t->rootlen;
		else
			return tools_fail(out, WARD_EDENIED,
			    "path escapes the project root: %s", path);
	}
	if ((r = malloc(strlen(p) + 1)) == NULL)
		return tools_buffail(out, WARD_ENOMEM);
	while (*p != '\0') {
		while (*p == '/')
			p++;
		e = strchrnul(p, '/');
		if ((len = (size_t)(e - p)) == 0)
			break;
		if (len != 1 || p[0] != '.') {
			if (n > 0)
				r[n++] = '/';
			memcpy(r + n, p, len);
			n += len;
		}
		p = e;
	}
	r[n] = '\0';
	*relp = r;
	return 0;
}

/*
 * Looks rel up with O_PATH first, so that nothing (a FIFO, a device) is
 * actually opened before we know what it is.
 */
static int
tools_lookup(struct tools *t, const char *rel, const char *path,
    int nofollow, int *pfdp, struct stat *st, struct buf *out)
{
	int fd, rc;

	*pfdp = -1;
	if ((fd = tools_openat2(t->rootfd, rel, O_PATH, nofollow)) == -1)
		return tools_openerr(out, errno, path);
	if (fstat(fd, st) == -1) {
		rc = tools_fail(out, WARD_ESYS, "cannot stat %s: %s", path,
		    strerror(errno));
		close(fd);
		return rc;
	}
	*pfdp = fd;
	return 0;
}

/*
 * Opens the regular file found by tools_lookup for reading. An O_PATH fd
 * cannot be reopened without /proc, so rel is resolved again and must land
 * on the same inode.
 */
static int
tools_openreg(struct tools *t, const char *rel, const char *path,
    int nofollow, const struct stat *want, int *fdp, struct buf *out)
{
	struct stat st;
	int fd, rc;

	*fdp = -1;
	fd = tools_openat2(t->rootfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY,
	    nofollow);
	if (fd == -1)
		return tools_openerr(out, errno, path);
	if (fstat(fd, &st) == -1) {
		rc = tools_fail(out, WARD_ESYS, "cannot stat %s: %s", path,
		    strerror(errno));
		close(fd);
		return rc;
	}
	if (st.st_dev != want->st_dev || st.st_ino != want->st_ino ||
	    !S_ISREG(st.st_mode)) {
		close(fd);
		return tools_fail(out, WARD_EIO,
		    "%s changed while being opened", path);
	}
	*fdp = fd;
	return 0;
}

/*
 * The glob matcher. '*' and '?' stay within one path component, "**" as a
 * whole component matches zero or more components, '[...]' is a class of
 * characters ('!' or '^' negates, ranges with '-'), '\' quotes. '?' and
 * classes take whole UTF-8 characters.
 */
static size_t
glob_char(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t need, k;
	uint32_t c;

	if (p[0] >= 0xc0 && p[0] <= 0xdf) {
		need = 1;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 2;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf7) {
		need = 3;
		c = p[0] & 0x07;
	} else {
		*cp = p[0];
		return 1;
	}
	if (need >= n) {
		*cp = p[0];
		return 1;
	}
	for (k = 1; k <= need; k++) {
		if ((p[k] & 0xc0) != 0x80) {
			*cp = p[0];
			return 1;
		}
		c = (c << 6) | (p[k] & 0x3f);
	}
	*cp = c;
	return need + 1;
}

/*
 * Matches the single token at p[*pi] (not '*') against the start of s.
 * Returns the bytes of s it takes, 0 for no match; advances *pi.
 */
static size_t
glob_one(const char *p, size_t pn, size_t *pi, const char *s, size_t sn)
{
	uint32_t c, lo, hi;
	size_t i = *pi, cl;
	int neg = 0, hit = 0, first = 1;

	if (sn == 0)
		return 0;
	if (p[i] == '?') {
		*pi = i + 1;
		return glob_char(s, sn, &c);
	}
	if (p[i] == '[') {
		cl = glob_char(s, sn, &c);
		i++;
		if (i < pn && (p[i] == '!' || p[i] == '^')) {
			neg = 1;
			i++;
		}
		while (i < pn && (p[i] != ']' || first)) {
			first = 0;
			if (p[i] == '\\' && i + 1 < pn)
				i++;
			i += glob_char(p + i, pn - i, &lo);
			hi = lo;
			if (i + 1 < pn && p[i] == '-' && p[i + 1] != ']') {
				i++;
				if (p[i] == '\\' && i + 1 < pn)
					i++;
				i += glob_char(p + i, pn - i, &hi);
			}
			if (lo <= c && c <= hi)
				hit = 1;
		}
		if (i < pn) {
			*pi = i + 1;
			return hit != neg ? cl : 0;
		}
		/* No closing ']': the '[' is an ordinary character. */
		i = *pi;
	} else if (p[i] == '\\' && i + 1 < pn)
		i++;
	*pi = i + 1;
	return p[i] == s[0] ? 1 : 0;
}

/* One component: the classic greedy '*' with a single backtrack point. */
static int
glob_seg(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, next, l, star_p = SIZE_MAX, star_s = 0;
	uint32_t c;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			while (pi < pn && p[pi] == '*')
				pi++;
			star_p = pi;
			star_s = si;
			continue;
		}
		next = pi;
		if (pi < pn && (l = glob_one(p, pn, &next, s + si,
		    sn - si)) > 0) {
			pi = next;
			si += l;
			continue;
		}
		if (star_p == SIZE_MAX)
			return 0;
		star_s += glob_char(s + star_s, sn - star_s, &c);
		si = star_s;
		pi = star_p;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/*
 * The same greedy scheme one level up: components are the elements and
 * "**" the star, which is sound because every other pattern component
 * matches exactly one path component.
 */
static int
glob_match(const char *pat, size_t patlen, const char *path)
{
	const char *p = pat, *pend = pat + patlen, *s = path, *pe, *se;
	const char *star_p = NULL, *star_s = NULL;

	for (;;) {
		if (p < pend) {
			if ((pe = memchr(p, '/', (size_t)(pend - p))) == NULL)
				pe = pend;
			if (pe - p == 2 && p[0] == '*' && p[1] == '*') {
				star_p = pe < pend ? pe + 1 : pe;
				star_s = s;
				p = star_p;
				continue;
			}
			if (*s != '\0') {
				se = strchrnul(s, '/');
				if (glob_seg(p, (size_t)(pe - p), s,
				    (size_t)(se - s))) {
					p = pe < pend ? pe + 1 : pe;
					s = *se != '\0' ? se + 1 : se;
					continue;
				}
			}
		} else if (*s == '\0')
			return 1;
		if (star_p == NULL || *star_s == '\0')
			return 0;
		se = strchrnul(star_s, '/');
		star_s = *se != '\0' ? se + 1 : se;
		p = star_p;
		s = star_s;
	}
}

static int
walk_matches(struct walk *w, int isdir)
{
	if (w->glob == NULL)
		return 1;
	if (w->dironly && !isdir)
		return 0;
	return glob_match(w->glob, w->globlen, w->rel.data + w->base);
}

static void
walk_init(struct walk *w, struct tools *t, struct buf *out,
    const char *glob)
{
	size_t n;

	memset(w, 0, sizeof(*w));
	w->t = t;
	w->out = out;
	buf_init(&w->rel, 0);
	buf_init(&w->line, 0);
	buf_init(&w->disp, 0);
	if (glob == NULL)
		return;
	while (glob[0] == '.' && glob[1] == '/')
		glob += 2;
	n = strlen(glob);
	while (n > 0 && glob[n - 1] == '/') {
		w->dironly = 1;
		n--;
	}
	if (n == 0 && !w->dironly)
		return;
	w->glob = glob;
	w->globlen = n;
}

static void
walk_free(struct walk *w)
{
	buf_free(&w->rel);
	buf_free(&w->line);
	buf_free(&w->disp);
	free(w->chunk);
	pcre2_match_data_free(w->md);
	pcre2_match_context_free(w->mc);
	pcre2_code_free(w->re);
}

/*
 * Directories sort as if their name ended in '/', which makes a depth-first
 * walk come out in the byte order of the printed paths.
 */
static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	const unsigned char *p = (const unsigned char *)x->name;
	const unsigned char *q = (const unsigned char *)y->name;
	int c, d;

	for (;; p++, q++) {
		c = *p != '\0' ? *p : x->type == ENT_DIR ? '/' : 0;
		d = *q != '\0' ? *q : y->type == ENT_DIR ? '/' : 0;
		if (c != d || *p == '\0' || *q == '\0')
			return c - d;
	}
}

static void
ents_free(struct ent *ents, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
}

/* Reads the names in dfd, without ".git", and their types. */
static int
walk_read(int dfd, struct ent **entsp, size_t *np)
{
	struct ent *ents = NULL, *nents;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	size_t n = 0, cap = 0;
	int fd, type, rc = 0;

	if ((fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return WARD_ESYS;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return errno == ENOMEM ? WARD_ENOMEM : WARD_ESYS;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				rc = WARD_EIO;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, ".git") == 0)
			continue;
		switch (de->d_type) {
		case DT_REG:
			type = ENT_REG;
			break;
		case DT_DIR:
			type = ENT_DIR;
			break;
		case DT_LNK:
			type = ENT_LNK;
			break;
		case DT_UNKNOWN:
			if (fstatat(dfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1)
				continue;	/* gone meanwhile */
			type = S_ISREG(st.st_mode) ? ENT_REG :
			    S_ISDIR(st.st_mode) ? ENT_DIR :
			    S_ISLNK(st.st_mode) ? ENT_LNK : ENT_OTHER;
			break;
		default:
			type = ENT_OTHER;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nents = reallocarray(ents, cap,
			    sizeof(*ents))) == NULL) {
				rc = WARD_ENOMEM;
				break;
			}
			ents = nents;
		}
		if ((ents[n].name = strdup(de->d_name)) == NULL) {
			rc = WARD_ENOMEM;
			break;
		}
		ents[n++].type = type;
	}
	closedir(d);
	if (rc != 0) {
		ents_free(ents, n);
		return rc;
	}
	*entsp = ents;
	*np = n;
	return 0;
}

static int
list_emit(struct walk *w, int isdir)
{
	struct tools *t = w->t;
	size_t mark = w->out->len;
	int rc;

	if (!walk_matches(w, isdir))
		return 0;
	if (!w->full && w->shown >= t->lim.list_entries)
		w->full = 1;
	/* Long paths could make even a capped count of entries huge. */
	if (!w->full && w->out->len + w->rel.len + 2 > t->lim.read_bytes)
		w->full = 1;
	if (w->full) {
		w->more++;
		return 0;
	}
	if ((rc = utf8_sanitize(w->out, w->rel.data, w->rel.len)) != 0 ||
	    (rc = buf_puts(w->out, isdir ? "/\n" : "\n")) != 0) {
		tools_truncate(w->out, mark);
		return rc;
	}
	w->shown++;
	return 0;
}

/* Prints one matching line, sanitised and cut at a character boundary. */
static int
grep_emit(struct walk *w, uint64_t lineno, int overlong)
{
	size_t lb = w->t->lim.line_bytes, raw = w->line.len, cut;
	int rc, trunc;

	/*
	 * A U+FFFD stands for at least one byte, so sanitising lb + 4 raw
	 * bytes yields more than lb bytes whenever there are more to show.
	 */
	trunc = overlong || raw > lb + 4;
	if (raw > lb + 4)
		raw = lb + 4;
	buf_reset(&w->disp);
	if ((rc = utf8_sanitize(&w->disp, w->line.data, raw)) != 0)
		return rc;
	cut = w->disp.len;
	if (cut > lb) {
		trunc = 1;
		cut = lb;
		while (cut > 0 && ((unsigned char)w->disp.data[cut] & 0xc0) ==
		    0x80)
			cut--;
	}
	if ((rc = utf8_sanitize(w->out, w->rel.data, w->rel.len)) != 0 ||
	    (rc = buf_printf(w->out, ":%" PRIu64 ":", lineno)) != 0 ||
	    (rc = buf_add(w->out, w->disp.data, cut)) != 0 ||
	    (trunc && (rc = buf_puts(w->out, "\xe2\x80\xa6")) != 0) ||
	    (rc = buf_puts(w->out, "\n")) != 0)
		return rc;
	w->shown++;
	return 0;
}

static int
grep_line(struct walk *w, uint64_t lineno, int overlong)
{
	const char *s = w->line.data != NULL ? w->line.data : "";
	PCRE2_UCHAR msg[256];
	int rc;

	rc = pcre2_match(w->re, (PCRE2_SPTR)s, w->line.len, 0, 0, w->md,
	    w->mc);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		pcre2_get_error_message(rc, msg, sizeof(msg));
		buf_reset(&w->disp);
		(void)utf8_sanitize(&w->disp, w->rel.data, w->rel.len);
		return tools_fail(w->out, WARD_EINVAL, "matching failed at "
		    "%s:%" PRIu64 " (%s); simplify the pattern",
		    w->disp.data != NULL ? w->disp.data : "", lineno,
		    (char *)msg);
	}
	if (w->shown >= w->t->lim.grep_matches) {
		w->full = 1;
		return 0;
	}
	if ((rc = grep_emit(w, lineno, overlong)) != 0)
		return tools_buffail(w->out, rc);
	return 0;
}

/*
 * Greps one open file line by line. Returns 0, GREP_BINARY, or a negative
 * code with the message in w->out. Only the first TOOLS_SCAN_LINE bytes of
 * a line are searched, which bounds memory on files without newlines.
 */
static int
grep_fd(struct walk *w, int fd)
{
	uint64_t lineno = 1;
	const char *p, *nl;
	size_t rem, seg, room;
	ssize_t n;
	int first = 1, pending = 0, overlong = 0, rc;

	buf_reset(&w->line);
	for (;;) {
		if ((n = read_full(fd, w->chunk, TOOLS_CHUNK)) == -1)
			return 0;	/* unreadable: nothing to show */
		if (n == 0)
			break;
		if (first && memchr(w->chunk, '\0', (size_t)n < TOOLS_SNIFF ?
		    (size_t)n : TOOLS_SNIFF) != NULL)
			return GREP_BINARY;
		first = 0;
		for (p = w->chunk, rem = (size_t)n; rem > 0; p += seg,
		    rem -= seg) {
			nl = memchr(p, '\n', rem);
			seg = nl != NULL ? (size_t)(nl - p) : rem;
			room = TOOLS_SCAN_LINE - w->line.len;
			if (seg > room)
				overlong = 1;
			if ((rc = buf_add(&w->line, p, seg > room ? room :
			    seg)) != 0)
				return tools_buffail(w->out, rc);
			pending = nl == NULL;
			if (nl == NULL)
				continue;
			seg++;
			if ((rc = grep_line(w, lineno, overlong)) != 0)
				return rc;
			if (w->full)
				return 0;
			buf_reset(&w->line);
			overlong = 0;
			lineno++;
		}
	}
	if (pending)
		return grep_line(w, lineno, overlong);
	return 0;
}

static int walk_dir(struct walk *, int, int);

/* One entry of a directory being walked; w->rel names it. */
static int
walk_ent(struct walk *w, int dfd, const struct ent *e, int depth)
{
	struct stat st;
	int fd, rc = 0, shown;

	shown = w->t->filter == NULL || w->t->filter(w->t->filter_arg,
	    w->rel.data, e->type == ENT_DIR);
	if (!w->grep && shown && (rc = list_emit(w, e->type == ENT_DIR)) != 0)
		return tools_buffail(w->out, rc);
	if (e->type == ENT_DIR) {
		/* Too deep, vanished or unreadable: listed, not entered. */
		if (depth >= TOOLS_DEPTH_MAX)
			return 0;
		fd = openat(dfd, e->name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			return 0;
		rc = walk_dir(w, fd, depth + 1);
		close(fd);
		return rc;
	}
	if (!w->grep || !shown || e->type != ENT_REG || !walk_matches(w, 0))
		return 0;
	fd = openat(dfd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		rc = grep_fd(w, fd);
		if (rc == GREP_BINARY)
			rc = 0;
	}
	close(fd);
	return rc;
}

static int
walk_dir(struct walk *w, int dfd, int depth)
{
	struct ent *ents = NULL;
	size_t n = 0, i, mark = w->rel.len;
	int rc;

	if ((rc = walk_read(dfd, &ents, &n)) != 0) {
		/* An unreadable subdirectory is skipped, not fatal. */
		if (rc == WARD_ENOMEM || depth == 0)
			return tools_fail(w->out, rc, "cannot read the "
			    "directory: %s", ward_strerror(rc));
		return 0;
	}
	if (n > 1)
		qsort(ents, n, sizeof(*ents), ent_cmp);
	for (i = 0; i < n && !(w->grep && w->full); i++) {
		tools_truncate(&w->rel, mark);
		if ((mark > 0 && (rc = buf_puts(&w->rel, "/")) != 0) ||
		    (rc = buf_puts(&w->rel, ents[i].name)) != 0) {
			rc = tools_buffail(w->out, rc);
			goto out;
		}
		if ((rc = walk_ent(w, dfd, &ents[i], depth)) != 0)
			goto out;
	}
	rc = 0;
out:
	tools_truncate(&w->rel, mark);
	ents_free(ents, n);
	return rc;
}

/*
 * Resolves path (NULL or "": the root) and walks it, or visits it alone if
 * it is not a directory. The glob sees paths relative to the start; for a
 * single file, its name.
 */
static int
walk_run(struct walk *w, const char *path)
{
	struct tools *t = w->t;
	struct stat st;
	const char *slash;
	char *rel = NULL;
	int pfd = -1, fd = -1, rc;

	if (path == NULL)
		path = "";
	if ((rc = tools_relpath(t, path, &rel, w->out)) != 0)
		goto out;
	if ((rc = tools_lookup(t, rel, path, t->filter != NULL, &pfd, &st,
	    w->out)) != 0)
		goto out;
	if ((rc = buf_add(&w->rel, rel, strlen(rel))) != 0) {
		rc = tools_buffail(w->out, rc);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		/* "." from an O_PATH fd of a directory is that directory. */
		if ((fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1) {
			rc = tools_openerr(w->out, errno, path);
			goto out;
		}
		w->base = w->rel.len > 0 ? w->rel.len + 1 : 0;
		rc = walk_dir(w, fd, 0);
		goto out;
	}
	w->base = (slash = strrchr(rel, '/')) != NULL ?
	    (size_t)(slash - rel) + 1 : 0;
	if (t->filter != NULL && !t->filter(t->filter_arg, rel, 0)) {
		rc = tools_fail(w->out, WARD_EDENIED, "%s: the manifest does "
		    "not let the agent read it", path);
		goto out;
	}
	if (!w->grep) {
		if ((rc = list_emit(w, 0)) != 0)
			rc = tools_buffail(w->out, rc);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = tools_fail(w->out, WARD_EINVAL,
		    "%s is not a regular file or directory", path);
		goto out;
	}
	if (!walk_matches(w, 0))
		goto out;
	if ((rc = tools_openreg(t, rel, path, t->filter != NULL, &st, &fd,
	    w->out)) != 0)
		goto out;
	if ((rc = grep_fd(w, fd)) == GREP_BINARY)
		rc = tools_fail(w->out, WARD_EINVAL, "binary file: %s", path);
out:
	if (fd != -1)
		close(fd);
	if (pfd != -1)
		close(pfd);
	free(rel);
	return rc;
}

void
tools_set_filter(struct tools *t, int (*fn)(void *, const char *, int),
    void *arg)
{
	t->filter = fn;
	t->filter_arg = arg;
}

int
tools_open(struct tools **out, const char *root,
    const struct tools_limits *lim)
{
	struct tools *t;
	int fd, rc;

	*out = NULL;
	if (root == NULL || *root == '\0')
		return WARD_EINVAL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return WARD_ENOMEM;
	t->rootfd = -1;
	if ((t->root = realpath(root, NULL)) == NULL) {
		rc = errno == ENOENT || errno == ENOTDIR ? WARD_ENOENT :
		    errno == ENOMEM ? WARD_ENOMEM : WARD_ESYS;
		goto out;
	}
	t->rootlen = strlen(t->root);
	if ((t->rootfd = open(t->root, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		rc = errno == ENOTDIR ? WARD_EINVAL : errno == ENOENT ?
		    WARD_ENOENT : WARD_ESYS;
		goto out;
	}
	/* Without openat2 there is no confinement: refuse to work at all. */
	if ((fd = tools_openat2(t->rootfd, "", O_PATH, 0)) == -1) {
		rc = errno == ENOSYS ? WARD_EUNAVAIL : WARD_ESYS;
		goto out;
	}
	close(fd);
	if (lim != NULL)
		t->lim = *lim;
	if (t->lim.read_bytes == 0)
		t->lim.read_bytes = TOOLS_READ_BYTES;
	if (t->lim.list_entries == 0)
		t->lim.list_entries = TOOLS_LIST_ENTRIES;
	if (t->lim.grep_matches == 0)
		t->lim.grep_matches = TOOLS_GREP_MATCHES;
	if (t->lim.line_bytes == 0)
		t->lim.line_bytes = TOOLS_LINE_BYTES;
	*out = t;
	t = NULL;
	rc = 0;
out:
	tools_free(t);
	return rc;
}

void
tools_free(struct tools *t)
{
	if (t == NULL)
		return;
	if (t->rootfd != -1)
		close(t->rootfd);
	free(t->root);
	free(t);
}

struct lines {
	uint64_t	nl;		/* newlines seen */
	uint64_t	bytes;
	int		last;		/* last byte seen */
	int		eof;
};

static uint64_t
lines_total(const struct lines *lc)
{
	return lc->nl + (lc->bytes > 0 && lc->last != '\n');
}

/* Counts the lines left in fd, for the message that says how to page. */
static void
lines_rest(int fd, char *chunk, struct lines *lc)
{
	const char *p, *e;
	ssize_t n;

	while (!lc->eof) {
		if ((n = read_full(fd, chunk, TOOLS_CHUNK)) <= 0) {
			lc->eof = n == 0;
			return;
		}
		for (p = chunk, e = chunk + n; (p = memchr(p, '\n',
		    (size_t)(e - p))) != NULL; p++)
			lc->nl++;
		lc->bytes += (uint64_t)n;
		lc->last = (unsigned char)chunk[n - 1];
	}
}

int
tools_file_read(struct tools *t, const char *path, uint64_t offset,
    uint64_t limit, struct buf *out)
{
	struct lines lc = { 0, 0, -1, 0 };
	struct stat st;
	struct buf raw;
	const char *p, *nl;
	char *rel = NULL, *chunk = NULL;
	uint64_t end, n;
	size_t rem, seg;
	ssize_t got;
	int pfd = -1, fd = -1, over = 0, first = 1, rc;

	buf_init(&raw, t->lim.read_bytes);
	buf_reset(out);
	if (path == NULL || *path == '\0') {
		rc = tools_fail(out, WARD_EINVAL, "empty path");
		goto out;
	}
	if ((rc = tools_relpath(t, path, &rel, out)) != 0 ||
	    (rc = tools_lookup(t, rel, path, t->filter != NULL, &pfd, &st,
	    out)) != 0)
		goto out;
	if (S_ISDIR(st.st_mode)) {
		rc = tools_fail(out, WARD_EINVAL, "%s is a directory; use "
		    "file_list to see what it contains", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = tools_fail(out, WARD_EINVAL, "%s is not a regular file",
		    path);
		goto out;
	}
	if ((rc = tools_openreg(t, rel, path, t->filter != NULL, &st, &fd,
	    out)) != 0)
		goto out;
	if ((chunk = malloc(TOOLS_CHUNK)) == NULL) {
		rc = tools_buffail(out, WARD_ENOMEM);
		goto out;
	}

	if (offset == 0)
		offset = 1;
	end = limit == 0 || limit > UINT64_MAX - offset ? UINT64_MAX :
	    offset + limit;
	while (!over) {
		if ((got = read_full(fd, chunk, TOOLS_CHUNK)) == -1) {
			rc = tools_fail(out, WARD_EIO, "cannot read %s: %s",
			    path, strerror(errno));
			goto out;
		}
		if (got == 0) {
			lc.eof = 1;
			break;
		}
		if (first && memchr(chunk, '\0', (size_t)got < TOOLS_SNIFF ?
		    (size_t)got : TOOLS_SNIFF) != NULL) {
			rc = tools_fail(out, WARD_EINVAL, "binary file: %s",
			    path);
			goto out;
		}
		first = 0;
		for (p = chunk, rem = (size_t)got; rem > 0; p += seg,
		    rem -= seg) {
			nl = memchr(p, '\n', rem);
			seg = nl != NULL ? (size_t)(nl - p) + 1 : rem;
			if (!over && lc.nl + 1 >= offset && lc.nl + 1 < end) {
				rc = buf_add(&raw, p, seg);
				if (rc == WARD_ETOOBIG)
					over = 1;
				else if (rc != 0) {
					rc = tools_buffail(out, rc);
					goto out;
				}
			}
			if (nl != NULL)
				lc.nl++;
		}
		lc.bytes += (uint64_t)got;
		lc.last = (unsigned char)chunk[got - 1];
		if (lc.nl + 1 >= end)
			break;
		/* read_full is short only at the end: no read to see it. */
		if ((size_t)got < TOOLS_CHUNK) {
			lc.eof = 1;
			break;
		}
	}

	if (!over) {
		n = lines_total(&lc);
		if (lc.eof && offset > 1 && offset > n) {
			rc = tools_fail(out, WARD_EINVAL, "offset %" PRIu64
			    " is past the end of %s (%" PRIu64 " line%s)",
			    offset, path, n, n == 1 ? "" : "s");
			goto out;
		}
		if ((rc = utf8_sanitize(out, raw.data, raw.len)) != 0) {
			rc = tools_buffail(out, rc);
			goto out;
		}
		/* Replacement characters can grow the text past the cap. */
		if (out->len > t->lim.read_bytes)
			over = 1;
	}
	if (over) {
		if (st.st_size <= TOOLS_COUNT_MAX)
			lines_rest(fd, chunk, &lc);
		n = lines_total(&lc);
		if (lc.eof)
			rc = tools_fail(out, WARD_ETOOBIG, "%s is %jd bytes "
			    "(%" PRIu64 " line%s); read at most %zu bytes at "
			    "a time with offset and limit (lines)", path,
			    (intmax_t)st.st_size, n, n == 1 ? "" : "s",
			    t->lim.read_bytes);
		else
			rc = tools_fail(out, WARD_ETOOBIG, "%s is %jd bytes; "
			    "read at most %zu bytes at a time with offset and "
			    "limit (lines)", path, (intmax_t)st.st_size,
			    t->lim.read_bytes);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (pfd != -1)
		close(pfd);
	free(chunk);
	free(rel);
	buf_free(&raw);
	return rc;
}

int
tools_file_list(struct tools *t, const char *path, const char *pattern,
    struct buf *out)
{
	struct walk w;
	int rc;

	buf_reset(out);
	walk_init(&w, t, out, pattern);
	if ((rc = walk_run(&w, path)) != 0)
		goto out;
	if (w.more > 0 && (rc = buf_printf(out, "[%zu more entr%s not "
	    "shown; narrow the listing with path or pattern]\n", w.more,
	    w.more == 1 ? "y" : "ies")) != 0) {
		rc = tools_buffail(out, rc);
		goto out;
	}
	rc = 0;
out:
	walk_free(&w);
	return rc;
}

int
tools_grep(struct tools *t, const char *pattern, const char *path,
    const char *glob, struct buf *out)
{
	struct walk w;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE erroff;
	uint32_t opts = 0;
	size_t plen;
	int err, rc;

	buf_reset(out);
	walk_init(&w, t, out, glob);
	w.grep = 1;
	if (pattern == NULL || *pattern == '\0') {
		rc = tools_fail(out, WARD_EINVAL, "empty pattern");
		goto out;
	}
	if ((plen = strlen(pattern)) > TOOLS_PATTERN_MAX) {
		rc = tools_fail(out, WARD_EINVAL, "pattern longer than %d "
		    "bytes", TOOLS_PATTERN_MAX);
		goto out;
	}
	/*
	 * UTF mode only for a UTF-8 pattern; MATCH_INVALID_UTF then lets
	 * files with stray bytes be searched instead of failing the match.
	 */
	if (utf8_valid_prefix(pattern, plen) == plen)
		opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	w.re = pcre2_compile((PCRE2_SPTR)pattern, plen, opts, &err, &erroff,
	    NULL);
	if (w.re == NULL) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		rc = tools_fail(out, WARD_EINVAL, "bad regular expression at "
		    "offset %zu: %s", (size_t)erroff, (char *)msg);
		goto out;
	}
	(void)pcre2_jit_compile(w.re, PCRE2_JIT_COMPLETE);	/* optional */
	if ((w.md = pcre2_match_data_create(1, NULL)) == NULL ||
	    (w.mc = pcre2_match_context_create(NULL)) == NULL ||
	    (w.chunk = malloc(TOOLS_CHUNK)) == NULL) {
		rc = tools_buffail(out, WARD_ENOMEM);
		goto out;
	}
	/* A pathological pattern fails its line instead of hanging us. */
	pcre2_set_match_limit(w.mc, TOOLS_MATCH_LIMIT);
	if ((rc = walk_run(&w, path)) != 0)
		goto out;
	if (w.full && (rc = buf_printf(out, "[stopped after %zu matching "
	    "lines; narrow the search with path, glob or a more specific "
	    "pattern]\n", t->lim.grep_matches)) != 0) {
		rc = tools_buffail(out, rc);
		goto out;
	}
	rc = 0;
out:
	walk_free(&w);
	return rc;
}

/* ---- writes ------------------------------------------------------------- */

/*
 * Opens the directory that holds rel beneath the root, creating missing
 * directories when create is set, and points *name at rel's last
 * component. Every step is an openat2 from the previous directory that
 * follows no symlink, so nothing is created or changed outside the tree
 * the caller decided on.
 */
static int
tools_parent(struct tools *t, char *rel, const char *path, int create,
    int *dfdp, const char **name, struct buf *out)
{
	char *seg, *slash;
	int dfd, fd;

	*dfdp = -1;
	if ((slash = strrchr(rel, '/')) != NULL) {
		*slash = '\0';
		*name = slash + 1;
	} else
		*name = rel;
	if (**name == '\0' || strcmp(*name, ".") == 0 ||
	    strcmp(*name, "..") == 0)
		return tools_fail(out, WARD_EINVAL, "%s names no file", path);
	if ((dfd = tools_openat2(t->rootfd, "", O_PATH | O_DIRECTORY, 1)) ==
	    -1)
		return tools_openerr(out, errno, path);
	for (seg = slash != NULL ? rel : NULL; seg != NULL; ) {
		char *next = strchr(seg, '/');

		if (next != NULL)
			*next = '\0';
		fd = tools_openat2(dfd, seg, O_PATH | O_DIRECTORY, 1);
		if (fd == -1 && errno == ENOENT && create &&
		    mkdirat(dfd, seg, 0755) == 0)
			fd = tools_openat2(dfd, seg, O_PATH | O_DIRECTORY, 1);
		if (next != NULL)
			*next = '/';
		if (fd == -1) {
			close(dfd);
			return tools_openerr(out, errno, path);
		}
		close(dfd);
		dfd = fd;
		seg = next != NULL ? next + 1 : NULL;
	}
	*dfdp = dfd;
	return 0;
}

/* Replaces name in dfd with data[0..len) through a temporary file in the
 * same directory, keeping the old file's mode (0644 for a new one). */
static int
tools_replace(int dfd, const char *name, const char *path, const char *data,
    size_t len, struct buf *out)
{
	struct stat st;
	char tmp[64];
	unsigned char r[8];
	mode_t mode = 0644;
	size_t off = 0;
	ssize_t n;
	int fd, rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode))
			return tools_fail(out, WARD_EINVAL, "%s is not a "
			    "regular file", path);
		mode = st.st_mode & 07777;
	} else if (errno != ENOENT)
		return tools_openerr(out, errno, path);
	if (getentropy(r, sizeof(r)) == -1)
		return tools_fail(out, WARD_ESYS, "getentropy: %s",
		    strerror(errno));
	snprintf(tmp, sizeof(tmp), ".ward-%02x%02x%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return tools_openerr(out, errno, path);
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < len || fchmod(fd, mode) == -1 || fsync(fd) == -1)
		rc = tools_fail(out, WARD_EIO, "cannot write %s: %s", path,
		    strerror(errno));
	if (close(fd) == -1 && rc == 0)
		rc = tools_fail(out, WARD_EIO, "cannot write %s: %s", path,
		    strerror(errno));
	if (rc == 0 && renameat(dfd, tmp, dfd, name) == -1)
		rc = tools_fail(out, WARD_EIO, "cannot replace %s: %s", path,
		    strerror(errno));
	if (rc != 0)
		(void)unlinkat(dfd, tmp, 0);
	return rc;
}

int
tools_file_write(struct tools *t, const char *path, const char *data,
    size_t len, struct buf *out)
{
	const char *name;
	char *rel = NULL;
	int dfd = -1, rc;

	buf_reset(out);
	if (path == NULL || *path == '\0')
		return tools_fail(out, WARD_EINVAL, "empty path");
	if (len > TOOLS_WRITE_MAX)
		return tools_fail(out, WARD_ETOOBIG, "content of %zu bytes is "
		    "over the %d-byte limit of one write", len,
		    TOOLS_WRITE_MAX);
	if ((rc = tools_relpath(t, path, &rel, out)) != 0 ||
	    (rc = tools_parent(t, rel, path, 1, &dfd, &name, out)) != 0 ||
	    (rc = tools_replace(dfd, name, path, data, len, out)) != 0)
		goto out;
	buf_printf(out, "wrote %zu byte%s to %s", len, len == 1 ? "" : "s",
	    path);
out:
	if (dfd != -1)
		close(dfd);
	free(rel);
	return rc;
}

int
tools_file_edit(struct tools *t, const char *path, const char *old,
    const char *new, int all, struct buf *out)
{
	struct buf text, res;
	struct stat st;
	const char *name, *p, *hit;
	char *rel = NULL, chunk[65536];
	size_t n, olen, count = 0;
	ssize_t got;
	int dfd = -1, fd = -1, rc;

	buf_reset(out);
	buf_init(&text, TOOLS_WRITE_MAX);
	buf_init(&res, TOOLS_WRITE_MAX);
	if (path == NULL || *path == '\0' || old == NULL || new == NULL) {
		rc = tools_fail(out, WARD_EINVAL, "file_edit needs path, "
		    "old_string and new_string");
		goto out;
	}
	if ((olen = strlen(old)) == 0) {
		rc = tools_fail(out, WARD_EINVAL, "old_string is empty; use "
		    "file_write to create a file");
		goto out;
	}
	if ((rc = tools_relpath(t, path, &rel, out)) != 0 ||
	    (rc = tools_parent(t, rel, path, 0, &dfd, &name, out)) != 0)
		goto out;
	if ((fd = tools_openat2(dfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY,
	    1)) == -1) {
		rc = tools_openerr(out, errno, path);
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		rc = tools_fail(out, WARD_EINVAL, "%s is not a regular file",
		    path);
		goto out;
	}
	while ((got = read_full(fd, chunk, sizeof(chunk))) > 0)
		if ((rc = buf_add(&text, chunk, (size_t)got)) != 0) {
			rc = rc == WARD_ETOOBIG ? tools_fail(out, rc, "%s is "
			    "over the %d-byte limit of file_edit", path,
			    TOOLS_WRITE_MAX) : tools_buffail(out, rc);
			goto out;
		}
	if (got == -1) {
		rc = tools_fail(out, WARD_EIO, "cannot read %s: %s", path,
		    strerror(errno));
		goto out;
	}
	for (p = text.data, n = text.len; p != NULL && (hit = memmem(p, n,
	    old, olen)) != NULL; n -= (size_t)(hit - p) + olen,
	    p = hit + olen)
		count++;
	if (count == 0) {
		rc = tools_fail(out, WARD_EINVAL, "old_string was not found "
		    "in %s", path);
		goto out;
	}
	if (count > 1 && !all) {
		rc = tools_fail(out, WARD_EINVAL, "old_string occurs %zu "
		    "times in %s; give more context so it occurs once, or "
		    "set replace_all", count, path);
		goto out;
	}
	for (p = text.data, n = text.len; (hit = memmem(p, n, old,
	    olen)) != NULL; n -= (size_t)(hit - p) + olen, p = hit + olen)
		if ((rc = buf_add(&res, p, (size_t)(hit - p))) != 0 ||
		    (rc = buf_puts(&res, new)) != 0) {
			rc = rc == WARD_ETOOBIG ? tools_fail(out, rc, "the "
			    "edited %s would be over the %d-byte limit",
			    path, TOOLS_WRITE_MAX) : tools_buffail(out, rc);
			goto out;
		}
	if ((rc = buf_add(&res, p, n)) != 0) {
		rc = tools_buffail(out, rc);
		goto out;
	}
	if ((rc = tools_replace(dfd, name, path, res.data ? res.data : "",
	    res.len, out)) != 0)
		goto out;
	buf_printf(out, "replaced %zu occurrence%s in %s", count,
	    count == 1 ? "" : "s", path);
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	free(rel);
	buf_free(&text);
	buf_free(&res);
	return rc;
}

int
tools_file_delete(struct tools *t, const char *path, struct buf *out)
{
	const char *name;
	char *rel = NULL;
	int dfd = -1, rc;

	buf_reset(out);
	if (path == NULL || *path == '\0')
		return tools_fail(out, WARD_EINVAL, "empty path");
	if ((rc = tools_relpath(t, path, &rel, out)) != 0 ||
	    (rc = tools_parent(t, rel, path, 0, &dfd, &name, out)) != 0)
		goto out;
	if (unlinkat(dfd, name, 0) == -1) {
		rc = errno == EISDIR ? tools_fail(out, WARD_EINVAL, "%s is a "
		    "directory; file_delete removes files", path) :
		    tools_openerr(out, errno, path);
		goto out;
	}
	buf_printf(out, "deleted %s", path);
out:
	if (dfd != -1)
		close(dfd);
	free(rel);
	return rc;
}

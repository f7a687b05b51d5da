/*
 * Filesystem refusals read from a command's error messages; see denial.h.
 * Only the shapes of message the usual tools print are read: GNU
 * coreutils and bash (`cat: PATH: Permission denied`, `touch: cannot
 * touch 'PATH': Read-only file system`), dash (`cannot create PATH: ...`),
 * Python (`... No such file or directory: 'PATH'`) and Go (`open PATH:
 * permission denied`).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../lib/err.h"
#include "denial.h"

enum { D_NOENT, D_ACCES, D_ROFS, D_PERM };

static const struct {
	const char	*text;
	int		 kind;
} denial_msgs[] = {
	{ "No such file or directory", D_NOENT },
	{ "Permission denied", D_ACCES },
	{ "Read-only file system", D_ROFS },
	{ "Operation not permitted", D_PERM },
};

/* Words of a message about changing a path rather than reading it. */
static const char *const denial_writes[] = { "creat", "touch", "writ",
	"mkdir", "remov", "unlink", "renam", "move", "append", "link",
	"chmod", "chown", NULL };

#define DENIAL_LINE_MAX	4096	/* bytes of a line looked at */

/* Case-blind search of the NUL-terminated needle in h[0..n). */
static const char *
denial_find(const char *h, size_t n, const char *needle)
{
	size_t	 l = strlen(needle), i;
	int	 c0 = tolower((unsigned char)needle[0]);

	/* The first byte first: output is scanned whole, every run. */
	for (i = 0; i + l <= n; i++)
		if (tolower((unsigned char)h[i]) == c0 &&
		    strncasecmp(h + i, needle, l) == 0)
			return h + i;
	return NULL;
}

/*
 * cand (n bytes) as an absolute path in out, "." and ".." taken
 * lexically from cwd. Returns 0, or -1 when it is not a path worth
 * naming (empty, control bytes, too long).
 */
static int
denial_norm(const char *cwd, const char *cand, size_t n, char *out)
{
	char	 in[PATH_MAX];
	char	*seg, *save = NULL;
	size_t	 o = 0, i, sl;
	int	 len;

	if (n == 0 || n >= sizeof(in) || (cand[0] != '/' && cwd == NULL))
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)cand[i] < 0x20 || cand[i] == 0x7f)
			return -1;
	len = cand[0] == '/' ? snprintf(in, sizeof(in), "%.*s", (int)n, cand) :
	    snprintf(in, sizeof(in), "%s/%.*s", cwd, (int)n, cand);
	if (len < 0 || (size_t)len >= sizeof(in))
		return -1;
	out[0] = '\0';
	for (seg = strtok_r(in, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
			continue;
		}
		sl = strlen(seg);
		if (o + 1 + sl >= PATH_MAX)
			return -1;
		out[o++] = '/';
		memcpy(out + o, seg, sl);
		o += sl;
		out[o] = '\0';
	}
	if (o == 0)
		strcpy(out, "/");
	return 0;
}

/* One scan: the view (made when first needed) and what is said. */
struct denial_ctx {
	const struct envelope_spec *s;
	struct envelope_map	*map;
	struct buf		*out;
	int			 added;
};

/* Reports cand if the view refuses what its line says was done to it:
 * kind is the line's error, write whether it is about a change. */
static int
denial_judge(struct denial_ctx *d, int kind, int write, const char *cand,
    size_t cn)
{
	char	 path[PATH_MAX], rep[PATH_MAX + 32];
	const char *what = NULL;
	int	 acc, rv;

	if (d->added >= DENIAL_MAX ||
	    denial_norm(d->s->cwd, cand, cn, path) != 0)
		return 0;
	/* A bad spec ran no command, so it has nothing to report. */
	if (d->map == NULL && (rv = envelope_map_new(d->s, &d->map)) != 0)
		return rv == WARD_ENOMEM ? rv : 0;
	if ((acc = envelope_map_access(d->map, path)) < 0)
		return 0;
	/* A missing file in the sandbox's /tmp is the host's, not shown. */
	if (acc == ENVELOPE_ACC_NONE ||
	    (acc == ENVELOPE_ACC_TMP && kind == D_NOENT))
		what = write ? "write" : "read";
	else if (acc == ENVELOPE_ACC_RO && write && kind != D_NOENT)
		what = "write";
	if (what == NULL)
		return 0;
	snprintf(rep, sizeof(rep), "sandbox denied %s: %s\n", what, path);
	if (d->out->len > 0 && d->out->data != NULL &&
	    strstr(d->out->data, rep) != NULL)
		return 0;	/* said already */
	if (buf_puts(d->out, rep) != 0)
		return WARD_ENOMEM;
	d->added++;
	return 0;
}

/* The quoted strings of line: 'x', "x", `x', `x`, and ‘x’ (UTF-8). */
static int
denial_quoted(struct denial_ctx *d, const char *line, size_t n, int kind,
    int write, int *found)
{
	const char *p = line, *end = line + n, *q, *close;
	size_t	 ol, cl;
	int	 rv;

	while (p < end) {
		/* An apostrophe in a word ("can't") opens nothing. */
		if (*p == '\'' && p > line && isalnum((unsigned char)p[-1])) {
			p++;
			continue;
		}
		if (*p == '\'' || *p == '"' || *p == '`') {
			ol = 1;
			close = *p == '"' ? "\"" : "'";
		} else if (end - p >= 3 && memcmp(p, "\xe2\x80\x98", 3) == 0) {
			ol = 3;
			close = "\xe2\x80\x99";
		} else {
			p++;
			continue;
		}
		cl = strlen(close);
		for (q = p + ol; q + cl <= end; q++)
			if (memcmp(q, close, cl) == 0 ||
			    (*p == '`' && *q == '`'))
				break;
		if (q + cl > end)
			break;		/* unclosed: nothing more quoted */
		*found = 1;
		if ((rv = denial_judge(d, kind, write, p + ol,
		    (size_t)(q - p - ol))) != 0)
			return rv;
		p = q + (*q == '`' ? 1 : cl);
	}
	return 0;
}

/*
 * Unquoted: the field just before the message, `...: FIELD: MESSAGE`, and
 * its last word (`cannot create PATH`, `open PATH`).
 */
static int
denial_field(struct denial_ctx *d, const char *line, const char *msg,
    int kind, int write)
{
	const char *e = msg, *b;

	while (e > line && (e[-1] == ' ' || e[-1] == ':'))
		e--;
	for (b = e; b > line && b[-1] != ' ' && b[-1] != '\t'; b--)
		;
	/* The first word of a line is the program's name. */
	if (b == e || b == line)
		return 0;
	return denial_judge(d, kind, write, b, (size_t)(e - b));
}

static int
denial_line(struct denial_ctx *d, const char *line, size_t n)
{
	const char *msg;
	size_t	 i, j;
	int	 rv, kind, write, found = 0;

	for (i = 0; i < sizeof(denial_msgs) / sizeof(denial_msgs[0]); i++) {
		if ((msg = denial_find(line, n, denial_msgs[i].text)) == NULL)
			continue;
		kind = denial_msgs[i].kind;
		write = kind == D_ROFS;
		for (j = 0; !write && denial_writes[j] != NULL; j++)
			write = denial_find(line, n, denial_writes[j]) != NULL;
		if ((rv = denial_quoted(d, line, n, kind, write, &found)) != 0)
			return rv;
		return found ? 0 : denial_field(d, line, msg, kind, write);
	}
	return 0;
}

int
denial_scan(const struct envelope_spec *s, const char *text, size_t len,
    struct buf *out)
{
	struct denial_ctx d = { s, NULL, out, 0 };
	const char *p = text, *end = text + len, *nl;
	int	 rv = 0;

	if (text == NULL)
		return 0;
	while (p < end && d.added < DENIAL_MAX) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((rv = denial_line(&d, p, (size_t)(nl - p) > DENIAL_LINE_MAX ?
		    DENIAL_LINE_MAX : (size_t)(nl - p))) != 0)
			break;
		p = nl + 1;
	}
	envelope_map_free(d.map);
	return rv != 0 ? rv : d.added;
}

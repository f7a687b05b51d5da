/*
 * TOML 1.0 parser; see toml.h. One pass over the bytes with a few bytes of
 * lookahead, building the tree as it goes. Only arrays and inline tables
 * recurse, and their depth is checked before each descent.
 *
 * "A table may be defined only once" has several spellings, so every table
 * records how it came to exist (enum toml_def) and, for dotted keys, the
 * section that made it:
 *  - a [header] may define a table that so far exists only implicitly;
 *  - a dotted key may pass through an implicit table, or one made by dotted
 *    keys in the same section (or the same inline table), nothing else;
 *  - a header may pass through any table but an inline one, and through a
 *    [[table array]] into its last element;
 *  - inline tables and static arrays are frozen once closed.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/err.h"
#include "../lib/utf8.h"
#include "toml.h"

#define TOML_INDEX_MIN	8	/* tables this small are searched linearly */

struct toml_entry {
	struct toml_key		 key;
	struct toml_node	*val;
	uint32_t		 hash;
};

struct toml_node {
	struct toml_node	*all;		/* next node of the document */
	enum toml_type		 type;
	enum toml_def		 def;
	int			 frozen;
	uint32_t		 depth;
	uint32_t		 sect;		/* section of a dotted table */
	struct toml_span	 span;
	union {
		struct {
			struct toml_entry	*v;
			size_t			 n, cap;
			uint32_t		*idx;	/* entry + 1; 0 free */
			size_t			 nidx;	/* power of 2, or 0 */
		} tab;
		struct {
			struct toml_node	**v;
			size_t			  n, cap;
		} arr;
		struct {
			char			*s;
			size_t			 len;
		} str;
		int64_t			 i;
		double			 f;
		int			 b;
		struct toml_datetime	 dt;
	} u;
};

struct toml {
	struct toml_node	*root;
	struct toml_node	*nodes;		/* every node, for toml_free */
};

struct mark {
	size_t			 off;
	uint32_t		 line, col;
};

/* A possibly dotted key as written; the parts' bytes live in b. */
struct kpart {
	size_t			 off, len;
	struct toml_span	 span;
};

struct kpath {
	struct kpart		*v;
	size_t			 n, cap;
	struct buf		 b;
};

struct tp {
	const unsigned char	*s;
	size_t			 len, off;
	uint32_t		 line, col;
	struct toml		*doc;
	struct buf		*err;
	struct buf		 sb;		/* the string being decoded */
	uint32_t		 nsect;
	char			 secpath[256];	/* last header, for messages */
};

static const struct toml_span toml_nospan;

/* ---- positions and errors ---------------------------------------------- */

static int
toml_peek(const struct tp *tp)
{
	return tp->off < tp->len ? tp->s[tp->off] : -1;
}

static int
toml_peekat(const struct tp *tp, size_t k)
{
	return k < tp->len - tp->off ? tp->s[tp->off + k] : -1;
}

/* Columns count code points: continuation bytes do not move the column. */
static void
toml_adv(struct tp *tp, size_t n)
{
	unsigned char c;

	while (n-- > 0 && tp->off < tp->len) {
		c = tp->s[tp->off++];
		if (c == '\n') {
			if (tp->line < UINT32_MAX)
				tp->line++;
			tp->col = 1;
		} else if ((c & 0xc0) != 0x80 && tp->col < UINT32_MAX)
			tp->col++;
	}
}

static void
toml_mark(const struct tp *tp, struct mark *m)
{
	m->off = tp->off;
	m->line = tp->line;
	m->col = tp->col;
}

static void
toml_setspan(const struct tp *tp, const struct mark *m, struct toml_span *sp)
{
	sp->line = m->line;
	sp->col = m->col;
	sp->start = m->off;
	sp->end = tp->off;
}

static int
toml_error(struct tp *tp, const struct mark *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
toml_error(struct tp *tp, const struct mark *at, const char *fmt, ...)
{
	struct mark here;
	va_list ap;
	char msg[512];

	if (at == NULL) {
		toml_mark(tp, &here);
		at = &here;
	}
	if (tp->err == NULL)
		return WARD_EPROTO;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Cutting keys short may have split a character. */
	msg[utf8_valid_prefix(msg, strlen(msg))] = '\0';
	buf_printf(tp->err, "%u:%u: %s", at->line, at->col, msg);
	return WARD_EPROTO;
}

static int
toml_enomem(struct tp *tp)
{
	if (tp->err != NULL)
		buf_puts(tp->err, "out of memory");
	return WARD_ENOMEM;
}

/* How the character at the cursor is named in messages. */
static const char *
toml_chname(const struct tp *tp, char *dst, size_t sz)
{
	int c = toml_peek(tp);

	if (c == -1)
		snprintf(dst, sz, "end of file");
	else if (c == '\n' || (c == '\r' && toml_peekat(tp, 1) == '\n'))
		snprintf(dst, sz, "end of line");
	else if (c > 0x20 && c < 0x7f)
		snprintf(dst, sz, "'%c'", c);
	else if (c < 0x80)
		snprintf(dst, sz, "U+%04X", (unsigned)c);
	else {
		/* The document is valid UTF-8, c leads a whole character.
		 * Its code point is clearer than the character, which may be
		 * invisible (a BOM) or look like ASCII (U+3000). */
		const unsigned char *u = tp->s + tp->off;
		uint32_t cp = c >= 0xf0 ? (uint32_t)(c & 7) << 18 |
		    (uint32_t)(u[1] & 0x3f) << 12 |
		    (uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f) :
		    c >= 0xe0 ? (uint32_t)(c & 0xf) << 12 |
		    (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f) :
		    (uint32_t)(c & 0x1f) << 6 | (u[1] & 0x3f);

		snprintf(dst, sz, "U+%04X", cp);
	}
	return dst;
}

static int
toml_isbare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int
toml_isctl(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

/* Appends one key to a message, quoted when it could not be bare, cut
 * short when long: messages are for people. */
static void
toml_keyfmt(char *dst, size_t sz, const char *k, size_t n)
{
	size_t i, o = strlen(dst);
	int bare = n > 0, w;

	for (i = 0; i < n; i++)
		if (!toml_isbare((unsigned char)k[i]))
			bare = 0;
	if (bare) {
		snprintf(dst + o, sz - o, "%.*s%s", n > 64 ? 64 : (int)n, k,
		    n > 64 ? "..." : "");
		return;
	}
	if (o + 1 < sz)
		dst[o++] = '"';
	for (i = 0; i < n && i < 64 && o + 8 < sz; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c == '"' || c == '\\')
			w = snprintf(dst + o, sz - o, "\\%c", c);
		else if (toml_isctl(c))
			w = snprintf(dst + o, sz - o, "\\u%04X", c);
		else
			w = snprintf(dst + o, sz - o, "%c", c);
		o += (size_t)w;
	}
	snprintf(dst + o, sz - o, "%s\"", i < n ? "..." : "");
}

/* prefix (may be empty) and the first upto + 1 parts of a key path, for
 * messages. */
static const char *
toml_pathfmt(char *dst, size_t sz, const char *prefix, const struct kpath *kp,
    size_t upto)
{
	size_t i, o;

	snprintf(dst, sz, "%s", prefix);
	for (i = 0; i <= upto && i < kp->n; i++) {
		if ((i > 0 || *prefix != '\0') && (o = strlen(dst)) + 1 < sz) {
			dst[o] = '.';
			dst[o + 1] = '\0';
		}
		toml_keyfmt(dst, sz, kp->b.data + kp->v[i].off, kp->v[i].len);
	}
	return dst;
}

static const char *
toml_article(enum toml_type t)
{
	return t == TOML_ARRAY || t == TOML_INTEGER || t == TOML_DATETIME ?
	    "an" : "a";
}

/* ---- nodes and tables -------------------------------------------------- */

static struct toml_node *
toml_node_new(struct tp *tp, enum toml_type type, enum toml_def def,
    uint32_t depth)
{
	struct toml_node *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->type = type;
	n->def = def;
	n->depth = depth;
	n->all = tp->doc->nodes;
	tp->doc->nodes = n;
	return n;
}

/* A new table or array at depth, refused past the nesting cap. */
static int
toml_container(struct tp *tp, enum toml_type type, enum toml_def def,
    uint32_t depth, const struct mark *at, struct toml_node **out)
{
	if (depth > TOML_MAX_DEPTH)
		return toml_error(tp, at, "nested deeper than %d tables and "
		    "arrays", TOML_MAX_DEPTH);
	if ((*out = toml_node_new(tp, type, def, depth)) == NULL)
		return toml_enomem(tp);
	return 0;
}

static uint32_t
toml_hash(const char *k, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0) {
		h ^= (unsigned char)*k++;
		h *= 16777619u;
	}
	return h;
}

static struct toml_entry *
toml_lookup(const struct toml_node *t, const char *k, size_t n)
{
	const struct toml_entry *e;
	uint32_t h = toml_hash(k, n);
	size_t i, mask;

	if (t->u.tab.nidx == 0) {
		for (i = 0; i < t->u.tab.n; i++) {
			e = &t->u.tab.v[i];
			if (e->hash == h && e->key.len == n &&
			    memcmp(e->key.name, k, n) == 0)
				return (struct toml_entry *)e;
		}
		return NULL;
	}
	mask = t->u.tab.nidx - 1;
	for (i = h & mask; t->u.tab.idx[i] != 0; i = (i + 1) & mask) {
		e = &t->u.tab.v[t->u.tab.idx[i] - 1];
		if (e->hash == h && e->key.len == n &&
		    memcmp(e->key.name, k, n) == 0)
			return (struct toml_entry *)e;
	}
	return NULL;
}

/* Indexes the newest entry, growing the open-addressing index to keep it
 * at most half full. */
static int
toml_reindex(struct toml_node *t)
{
	size_t i, j, nidx, mask;
	uint32_t *idx;

	if (t->u.tab.n < TOML_INDEX_MIN)
		return 0;
	if (t->u.tab.n * 2 < t->u.tab.nidx) {
		mask = t->u.tab.nidx - 1;
		i = t->u.tab.n - 1;
		for (j = t->u.tab.v[i].hash & mask; t->u.tab.idx[j] != 0;
		    j = (j + 1) & mask)
			;
		t->u.tab.idx[j] = (uint32_t)(i + 1);
		return 0;
	}
	nidx = t->u.tab.nidx ? t->u.tab.nidx * 2 : 4 * TOML_INDEX_MIN;
	if ((idx = calloc(nidx, sizeof(*idx))) == NULL)
		return WARD_ENOMEM;
	mask = nidx - 1;
	for (i = 0; i < t->u.tab.n; i++) {
		for (j = t->u.tab.v[i].hash & mask; idx[j] != 0;
		    j = (j + 1) & mask)
			;
		idx[j] = (uint32_t)(i + 1);
	}
	free(t->u.tab.idx);
	t->u.tab.idx = idx;
	t->u.tab.nidx = nidx;
	return 0;
}

/* Adds key k -> v to table t; the caller has checked k is new. */
static int
toml_insert(struct tp *tp, struct toml_node *t, const char *k, size_t n,
    const struct toml_span *sp, struct toml_node *v)
{
	struct toml_entry *e;
	size_t ncap;
	char *name;

	if (t->u.tab.n == t->u.tab.cap) {
		ncap = t->u.tab.cap ? t->u.tab.cap * 2 : 4;
		if (ncap >= UINT32_MAX ||
		    (e = reallocarray(t->u.tab.v, ncap, sizeof(*e))) == NULL)
			return toml_enomem(tp);
		t->u.tab.v = e;
		t->u.tab.cap = ncap;
	}
	if ((name = malloc(n + 1)) == NULL)
		return toml_enomem(tp);
	memcpy(name, k, n);
	name[n] = '\0';
	e = &t->u.tab.v[t->u.tab.n++];
	e->key.name = name;
	e->key.len = n;
	e->key.span = *sp;
	e->val = v;
	e->hash = toml_hash(k, n);
	if (toml_reindex(t) != 0)
		return toml_enomem(tp);
	return 0;
}

static int
toml_append(struct tp *tp, struct toml_node *a, struct toml_node *v)
{
	struct toml_node **nv;
	size_t ncap;

	if (a->u.arr.n == a->u.arr.cap) {
		ncap = a->u.arr.cap ? a->u.arr.cap * 2 : 4;
		if ((nv = reallocarray(a->u.arr.v, ncap, sizeof(*nv))) == NULL)
			return toml_enomem(tp);
		a->u.arr.v = nv;
		a->u.arr.cap = ncap;
	}
	a->u.arr.v[a->u.arr.n++] = v;
	return 0;
}

/* ---- whitespace, comments, newlines ------------------------------------ */

static void
toml_skip_ws(struct tp *tp)
{
	int c;

	while ((c = toml_peek(tp)) == ' ' || c == '\t')
		toml_adv(tp, 1);
}

/* At '#': to the end of the line, which is not consumed. */
static int
toml_comment(struct tp *tp)
{
	int c;

	toml_adv(tp, 1);
	for (;;) {
		c = toml_peek(tp);
		if (c == -1 || c == '\n' ||
		    (c == '\r' && toml_peekat(tp, 1) == '\n'))
			return 0;
		if (toml_isctl(c))
			return toml_error(tp, NULL, "control character U+%04X "
			    "in a comment", (unsigned)c);
		toml_adv(tp, 1);
	}
}

/* At '\n' or '\r': consumes LF or CRLF. */
static int
toml_newline(struct tp *tp)
{
	if (toml_peek(tp) == '\r') {
		if (toml_peekat(tp, 1) != '\n')
			return toml_error(tp, NULL, "carriage return not "
			    "followed by a line feed");
		toml_adv(tp, 1);
	}
	toml_adv(tp, 1);
	return 0;
}

/* Whitespace, comments and newlines, as allowed inside arrays. */
static int
toml_skip_wcn(struct tp *tp)
{
	int c, rc;

	for (;;) {
		toml_skip_ws(tp);
		c = toml_peek(tp);
		if (c == '#') {
			if ((rc = toml_comment(tp)) != 0)
				return rc;
		} else if (c == '\n' || c == '\r') {
			if ((rc = toml_newline(tp)) != 0)
				return rc;
		} else
			return 0;
	}
}

/* The end of an expression: whitespace, a comment, then a newline or the
 * end of the document. */
static int
toml_eol(struct tp *tp, const char *after)
{
	char ch[16];
	int c, rc;

	toml_skip_ws(tp);
	if (toml_peek(tp) == '#' && (rc = toml_comment(tp)) != 0)
		return rc;
	c = toml_peek(tp);
	if (c == -1)
		return 0;
	if (c == '\n' || c == '\r')
		return toml_newline(tp);
	return toml_error(tp, NULL, "expected a newline after %s, found %s",
	    after, toml_chname(tp, ch, sizeof(ch)));
}

/* ---- strings ----------------------------------------------------------- */

/* At a backslash in a basic string. */
static int
toml_escape(struct tp *tp, int ml, struct buf *out)
{
	struct mark m;
	char ch[16];
	const char *rep = NULL;
	uint32_t cp = 0;
	int c, i, nhex = 0, rc;

	toml_mark(tp, &m);
	toml_adv(tp, 1);
	switch ((c = toml_peek(tp))) {
	case 'b':	rep = "\b";	break;
	case 't':	rep = "\t";	break;
	case 'n':	rep = "\n";	break;
	case 'f':	rep = "\f";	break;
	case 'r':	rep = "\r";	break;
	case '"':	rep = "\"";	break;
	case '\\':	rep = "\\";	break;
	case 'u':	nhex = 4;	break;
	case 'U':	nhex = 8;	break;
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		if (!ml)
			break;
		/* A line-ending backslash eats every space and newline up to
		 * the next visible character; only spaces may sit between it
		 * and the end of its line. */
		toml_skip_ws(tp);
		if ((c = toml_peek(tp)) != '\n' && c != '\r')
			return toml_error(tp, &m, "a backslash followed by "
			    "spaces must end the line");
		for (;;) {
			toml_skip_ws(tp);
			c = toml_peek(tp);
			if (c != '\n' && c != '\r')
				return 0;
			if ((rc = toml_newline(tp)) != 0)
				return rc;
		}
	case -1:
		return toml_error(tp, &m, "unterminated string");
	}
	if (rep != NULL) {
		toml_adv(tp, 1);
		return buf_add(out, rep, 1) == 0 ? 0 : toml_enomem(tp);
	}
	if (nhex == 0 && c > 0x20 && c < 0x7f)
		return toml_error(tp, &m, "invalid escape sequence \\%c", c);
	if (nhex == 0)
		return toml_error(tp, &m, "invalid escape: a backslash "
		    "followed by %s", toml_chname(tp, ch, sizeof(ch)));
	toml_adv(tp, 1);
	for (i = 0; i < nhex; i++) {
		c = toml_peek(tp);
		if (c >= '0' && c <= '9')
			cp = cp << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			cp = cp << 4 | (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			cp = cp << 4 | (uint32_t)(c - 'A' + 10);
		else
			return toml_error(tp, &m, "\\%c needs %d hex digits",
			    nhex == 4 ? 'u' : 'U', nhex);
		toml_adv(tp, 1);
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return toml_error(tp, &m, "U+%04X is not a Unicode scalar "
		    "value", cp);
	return utf8_put(out, cp) == 0 ? 0 : toml_enomem(tp);
}

/*
 * At the opening quote of a basic ("), multi-line basic ("""), literal (')
 * or multi-line literal (''') string: decodes it onto out.
 */
static int
toml_string(struct tp *tp, struct buf *out)
{
	struct mark m;
	size_t run, n;
	int q, ml, c, rc;

	toml_mark(tp, &m);
	q = toml_peek(tp);
	ml = toml_peekat(tp, 1) == q && toml_peekat(tp, 2) == q;
	toml_adv(tp, ml ? 3 : 1);
	/* A newline right after the opening quotes is not content. */
	if (ml && (toml_peek(tp) == '\n' || (toml_peek(tp) == '\r' &&
	    toml_peekat(tp, 1) == '\n')) && (rc = toml_newline(tp)) != 0)
		return rc;
	for (;;) {
		c = toml_peek(tp);
		if (c == -1)
			return toml_error(tp, &m, "unterminated string");
		if (c == q) {
			if (!ml) {
				toml_adv(tp, 1);
				return 0;
			}
			for (run = 1; toml_peekat(tp, run) == q; run++)
				;
			if (run > 5)
				return toml_error(tp, NULL, "too many quotes "
				    "in a row in a multi-line string");
			if (run >= 3) {
				/* Up to two quotes may end the content
				 * right before the closing three. */
				if (buf_add(out, tp->s + tp->off, run - 3) != 0)
					return toml_enomem(tp);
				toml_adv(tp, run);
				return 0;
			}
			if (buf_add(out, tp->s + tp->off, run) != 0)
				return toml_enomem(tp);
			toml_adv(tp, run);
			continue;
		}
		if (c == '\\' && q == '"') {
			if ((rc = toml_escape(tp, ml, out)) != 0)
				return rc;
			continue;
		}
		if (c == '\n' || c == '\r') {
			if (!ml)
				return toml_error(tp, NULL, "newline in a "
				    "single-line string");
			if ((rc = toml_newline(tp)) != 0)
				return rc;
			if (buf_add(out, "\n", 1) != 0)
				return toml_enomem(tp);
			continue;
		}
		if (toml_isctl(c))
			return toml_error(tp, NULL, "control character U+%04X "
			    "in a string", (unsigned)c);
		for (n = 1; (c = toml_peekat(tp, n)) != -1 && c != q &&
		    c != '\\' && !toml_isctl(c); n++)
			;
		if (buf_add(out, tp->s + tp->off, n) != 0)
			return toml_enomem(tp);
		toml_adv(tp, n);
	}
}

/* ---- keys -------------------------------------------------------------- */

static void
toml_kpath_free(struct kpath *kp)
{
	free(kp->v);
	buf_free(&kp->b);
}

/* A simple or dotted key, and the whitespace after it. */
static int
toml_keyparse(struct tp *tp, struct kpath *kp)
{
	struct kpart *p;
	struct mark m;
	char ch[16];
	size_t ncap;
	int c, rc;

	for (;;) {
		if (kp->n == kp->cap) {
			ncap = kp->cap ? kp->cap * 2 : 4;
			if ((p = reallocarray(kp->v, ncap, sizeof(*p))) == NULL)
				return toml_enomem(tp);
			kp->v = p;
			kp->cap = ncap;
		}
		p = &kp->v[kp->n];
		p->off = kp->b.len;
		toml_mark(tp, &m);
		c = toml_peek(tp);
		if (c == '"' || c == '\'') {
			if (toml_peekat(tp, 1) == c && toml_peekat(tp, 2) == c)
				return toml_error(tp, NULL, "a key cannot be "
				    "a multi-line string");
			if ((rc = toml_string(tp, &kp->b)) != 0)
				return rc;
		} else if (toml_isbare(c)) {
			while (toml_isbare(toml_peek(tp))) {
				if (buf_add(&kp->b, tp->s + tp->off, 1) != 0)
					return toml_enomem(tp);
				toml_adv(tp, 1);
			}
		} else
			return toml_error(tp, NULL, "expected a key, found %s",
			    toml_chname(tp, ch, sizeof(ch)));
		/* Keeps b.data valid even when every key is empty. */
		if (buf_add(&kp->b, "", 0) != 0)
			return toml_enomem(tp);
		p->len = kp->b.len - p->off;
		toml_setspan(tp, &m, &p->span);
		kp->n++;
		toml_skip_ws(tp);
		if (toml_peek(tp) != '.')
			return 0;
		toml_adv(tp, 1);
		toml_skip_ws(tp);
	}
}

/* ---- values ------------------------------------------------------------ */

static int	toml_value_parse(struct tp *, uint32_t, const char *,
		    struct toml_node **);
static int	toml_keyval(struct tp *, struct toml_node *, uint32_t, int,
		    const char *);

static int
toml_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
toml_istoken(int c)
{
	return toml_isbare(c) || c == '+' || c == '.' || c == ':';
}

/* Reads exactly k digits of s at *i. */
static int
toml_digits(const unsigned char *s, size_t n, size_t *i, int k, int *v)
{
	*v = 0;
	while (k-- > 0) {
		if (*i >= n || !toml_isdigit(s[*i]))
			return -1;
		*v = *v * 10 + (s[(*i)++] - '0');
	}
	return 0;
}

static int
toml_mdays(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* s[0..n) is a date, a time or both, as the token scanner delimited it. */
static int
toml_datetime_parse(struct tp *tp, const struct mark *m,
    const unsigned char *s, size_t n, struct toml_node *v)
{
	struct toml_datetime *dt = &v->u.dt;
	size_t i = 0;
	int f, k, sign;
	char *text;

	v->type = TOML_TIME_LOCAL;
	if (n >= 5 && s[4] == '-') {
		if (toml_digits(s, n, &i, 4, &dt->year) != 0 || s[i++] != '-' ||
		    toml_digits(s, n, &i, 2, &dt->month) != 0 || i >= n ||
		    s[i++] != '-' || toml_digits(s, n, &i, 2, &dt->day) != 0)
			return toml_error(tp, m, "invalid date: expected "
			    "YYYY-MM-DD");
		if (dt->month < 1 || dt->month > 12)
			return toml_error(tp, m, "invalid date: no month %02d",
			    dt->month);
		if (dt->day < 1 || dt->day > toml_mdays(dt->year, dt->month))
			return toml_error(tp, m, "invalid date: %04d-%02d has "
			    "no day %02d", dt->year, dt->month, dt->day);
		v->type = TOML_DATE_LOCAL;
		if (i == n)
			goto out;
		if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
			return toml_error(tp, m, "invalid date-time: expected "
			    "'T' or a space after the date");
		i++;
		v->type = TOML_DATETIME_LOCAL;
	}
	if (toml_digits(s, n, &i, 2, &dt->hour) != 0 || i >= n ||
	    s[i++] != ':' || toml_digits(s, n, &i, 2, &dt->minute) != 0 ||
	    i >= n || s[i++] != ':' ||
	    toml_digits(s, n, &i, 2, &dt->second) != 0)
		return toml_error(tp, m, "invalid time: expected HH:MM:SS");
	if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
		return toml_error(tp, m, "invalid time: %02d:%02d:%02d is out "
		    "of range", dt->hour, dt->minute, dt->second);
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !toml_isdigit(s[i]))
			return toml_error(tp, m, "invalid time: no digits "
			    "after the decimal point");
		/* Past nanoseconds, digits are truncated. */
		for (k = 0; i < n && toml_isdigit(s[i]); i++, k++)
			if (k < 9)
				dt->nanosecond = dt->nanosecond * 10 +
				    (s[i] - '0');
		for (; k < 9; k++)
			dt->nanosecond *= 10;
	}
	if (i < n && v->type == TOML_DATETIME_LOCAL) {
		if (s[i] == 'Z' || s[i] == 'z') {
			i++;
			v->type = TOML_DATETIME;
		} else if (s[i] == '+' || s[i] == '-') {
			sign = s[i++] == '-' ? -1 : 1;
			if (toml_digits(s, n, &i, 2, &k) != 0 || i >= n ||
			    s[i++] != ':' || toml_digits(s, n, &i, 2, &f) != 0)
				return toml_error(tp, m, "invalid time "
				    "offset: expected +HH:MM or -HH:MM");
			if (k > 23 || f > 59)
				return toml_error(tp, m, "invalid time "
				    "offset: %02d:%02d is out of range", k, f);
			dt->offset = sign * (k * 60 + f);
			v->type = TOML_DATETIME;
		}
	}
	if (i != n)
		return toml_error(tp, m, "invalid %s: unexpected '%c'",
		    toml_type_name(v->type), s[i]);
out:
	if ((text = malloc(n + 1)) == NULL)
		return toml_enomem(tp);
	memcpy(text, s, n);
	text[n] = '\0';
	dt->text = text;
	dt->len = n;
	return 0;
}

/*
 * Digits of the given radix with single underscores between them, at *i.
 * Returns the number of digits, or -1 for a misplaced underscore.
 */
static long
toml_udigits(const unsigned char *s, size_t n, size_t *i, int radix)
{
	long nd = 0;
	int c, d;

	for (; *i < n; (*i)++) {
		c = s[*i];
		if (c == '_') {
			if (nd == 0 || *i + 1 >= n)
				return -1;
			c = s[*i + 1];
			d = toml_isdigit(c) ? c - '0' : (c | 0x20) >= 'a' &&
			    (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : 99;
			if (d >= radix)
				return -1;
			continue;
		}
		d = toml_isdigit(c) ? c - '0' : (c | 0x20) >= 'a' &&
		    (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : 99;
		if (d >= radix)
			break;
		nd++;
	}
	return nd;
}

/* s[0..n) is an integer or a float. */
static int
toml_number(struct tp *tp, const struct mark *m, const unsigned char *s,
    size_t n, struct toml_node *v)
{
	static const char *const specials[] = { "inf", "nan" };
	uint64_t acc = 0, lim;
	size_t i = 0, j, k;
	long nd;
	int radix = 10, isfloat = 0, d;
	char *end;

	if (s[0] == '+' || s[0] == '-')
		i++;
	for (k = 0; k < 2; k++)
		if (n - i == 3 && memcmp(s + i, specials[k], 3) == 0) {
			v->type = TOML_FLOAT;
			v->u.f = k == 0 ? INFINITY : NAN;
			if (s[0] == '-')
				v->u.f = -v->u.f;
			return 0;
		}
	if (n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' ||
	    s[i + 1] == 'b')) {
		if (i > 0)
			return toml_error(tp, m, "a sign is not allowed on "
			    "hexadecimal, octal or binary integers");
		radix = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
		i = 2;
		if ((nd = toml_udigits(s, n, &i, radix)) < 0)
			goto underscore;
		if (nd == 0 || i != n)
			return toml_error(tp, m, "invalid %s integer",
			    radix == 16 ? "hexadecimal" : radix == 8 ?
			    "octal" : "binary");
		i = 2;
		goto integer;
	}
	j = i;
	if ((nd = toml_udigits(s, n, &i, 10)) < 0)
		goto underscore;
	if (nd == 0)
		return toml_error(tp, m, "invalid number");
	if (s[j] == '0' && nd > 1)
		return toml_error(tp, m, "leading zeros are not allowed");
	if (i < n && s[i] == '.') {
		i++;
		isfloat = 1;
		if ((nd = toml_udigits(s, n, &i, 10)) < 0)
			goto underscore;
		if (nd == 0)
			return toml_error(tp, m, "invalid float: expected "
			    "digits after the decimal point");
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		isfloat = 1;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if ((nd = toml_udigits(s, n, &i, 10)) < 0)
			goto underscore;
		if (nd == 0)
			return toml_error(tp, m, "invalid float: expected "
			    "digits in the exponent");
	}
	if (i != n)
		return toml_error(tp, m, "invalid number");
	if (isfloat) {
		buf_reset(&tp->sb);
		for (i = 0; i < n; i++)
			if (s[i] != '_' && buf_add(&tp->sb, s + i, 1) != 0)
				return toml_enomem(tp);
		/* The grammar above admits only what strtod reads the same
		 * in the C locale, which ward never changes. */
		errno = 0;
		v->type = TOML_FLOAT;
		v->u.f = strtod(tp->sb.data, &end);
		if (*end != '\0')
			return toml_error(tp, m, "invalid float");
		if (errno == ERANGE && isinf(v->u.f))
			return toml_error(tp, m, "float out of range");
		return 0;
	}
	i = s[0] == '+' || s[0] == '-';
integer:
	lim = s[0] == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (s[i] == '_')
			continue;
		d = toml_isdigit(s[i]) ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10;
		if (acc > (lim - (uint64_t)d) / (uint64_t)radix)
			return toml_error(tp, m, "integer out of range");
		acc = acc * (uint64_t)radix + (uint64_t)d;
	}
	v->type = TOML_INTEGER;
	if (s[0] != '-')
		v->u.i = (int64_t)acc;
	else if (acc == (uint64_t)INT64_MAX + 1)
		v->u.i = INT64_MIN;
	else
		v->u.i = -(int64_t)acc;
	return 0;
underscore:
	return toml_error(tp, m, "an underscore in a number must sit between "
	    "two digits");
}

/*
 * At a bare value: a boolean, number, date or time. The token runs over
 * the characters those can contain; a space joins a date to a time.
 */
static int
toml_bare_value(struct tp *tp, struct toml_node *v)
{
	const unsigned char *s = tp->s + tp->off;
	struct mark m;
	size_t n = 0, rest = tp->len - tp->off;
	char ch[16];

	toml_mark(tp, &m);
	while (n < rest && toml_istoken(s[n]))
		n++;
	if (n == 10 && s[4] == '-' && n + 3 < rest && s[n] == ' ' &&
	    toml_isdigit(s[n + 1]) && toml_isdigit(s[n + 2]) &&
	    s[n + 3] == ':')
		for (n++; n < rest && toml_istoken(s[n]); n++)
			;
	toml_adv(tp, n);
	if (n == 4 && memcmp(s, "true", 4) == 0) {
		v->type = TOML_BOOL;
		v->u.b = 1;
		return 0;
	}
	if (n == 5 && memcmp(s, "false", 5) == 0) {
		v->type = TOML_BOOL;
		return 0;
	}
	if (n >= 5 && toml_isdigit(s[0]) && ((s[4] == '-' &&
	    toml_isdigit(s[1]) && toml_isdigit(s[2]) && toml_isdigit(s[3])) ||
	    (s[2] == ':' && toml_isdigit(s[1]))))
		return toml_datetime_parse(tp, &m, s, n, v);
	if (n == 0)
		return toml_error(tp, &m, "expected a value, found %s",
		    toml_chname(tp, ch, sizeof(ch)));
	if (!(toml_isdigit(s[0]) || s[0] == '+' || s[0] == '-' ||
	    s[0] == 'i' || s[0] == 'n'))
		return toml_error(tp, &m, "expected a value, found '%.*s' "
		    "(strings need quotes)", n > 32 ? 32 : (int)n,
		    (const char *)s);
	return toml_number(tp, &m, s, n, v);
}

/* At '['; path names the array in messages. */
static int
toml_array(struct tp *tp, uint32_t depth, const char *path,
    struct toml_node **out)
{
	struct toml_node *a, *v;
	struct mark m;
	char ch[16], sub[256];
	int rc;

	toml_mark(tp, &m);
	if ((rc = toml_container(tp, TOML_ARRAY, TOML_DEF_VALUE, depth, &m,
	    &a)) != 0)
		return rc;
	toml_adv(tp, 1);
	for (;;) {
		if ((rc = toml_skip_wcn(tp)) != 0)
			return rc;
		if (toml_peek(tp) == ']')
			break;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, a->u.arr.n);
		if ((rc = toml_value_parse(tp, depth + 1, sub, &v)) != 0 ||
		    (rc = toml_append(tp, a, v)) != 0 ||
		    (rc = toml_skip_wcn(tp)) != 0)
			return rc;
		if (toml_peek(tp) == ']')
			break;
		if (toml_peek(tp) != ',')
			return toml_error(tp, NULL, "expected ',' or ']' in "
			    "an array, found %s",
			    toml_chname(tp, ch, sizeof(ch)));
		toml_adv(tp, 1);
	}
	toml_adv(tp, 1);
	a->frozen = 1;
	toml_setspan(tp, &m, &a->span);
	*out = a;
	return 0;
}

/* At '{'. Newlines are not allowed between the braces, except inside
 * values that allow them. path names the table in messages. */
static int
toml_inline(struct tp *tp, uint32_t depth, const char *path,
    struct toml_node **out)
{
	struct toml_node *t;
	struct mark m;
	uint32_t sect;
	char ch[16];
	int rc;

	toml_mark(tp, &m);
	if ((rc = toml_container(tp, TOML_TABLE, TOML_DEF_VALUE, depth, &m,
	    &t)) != 0)
		return rc;
	toml_adv(tp, 1);
	sect = ++tp->nsect;
	toml_skip_ws(tp);
	if (toml_peek(tp) != '}')
		for (;;) {
			if ((rc = toml_keyval(tp, t, sect, 1, path)) != 0)
				return rc;
			toml_skip_ws(tp);
			if (toml_peek(tp) == '}')
				break;
			if (toml_peek(tp) != ',')
				return toml_error(tp, NULL, "expected ',' or "
				    "'}' in an inline table, found %s",
				    toml_chname(tp, ch, sizeof(ch)));
			toml_adv(tp, 1);
			toml_skip_ws(tp);
			if (toml_peek(tp) == '}')
				return toml_error(tp, NULL, "trailing comma "
				    "in an inline table");
		}
	toml_adv(tp, 1);
	t->frozen = 1;
	toml_setspan(tp, &m, &t->span);
	*out = t;
	return 0;
}

/* Any value; a new container is at depth. path names it in messages. */
static int
toml_value_parse(struct tp *tp, uint32_t depth, const char *path,
    struct toml_node **out)
{
	struct toml_node *v;
	struct mark m;
	int c, rc;

	c = toml_peek(tp);
	if (c == '[')
		return toml_array(tp, depth, path, out);
	if (c == '{')
		return toml_inline(tp, depth, path, out);
	toml_mark(tp, &m);
	if ((v = toml_node_new(tp, TOML_STRING, TOML_DEF_VALUE, depth)) == NULL)
		return toml_enomem(tp);
	if (c == '"' || c == '\'') {
		buf_reset(&tp->sb);
		if ((rc = toml_string(tp, &tp->sb)) != 0)
			return rc;
		if ((v->u.str.s = malloc(tp->sb.len + 1)) == NULL)
			return toml_enomem(tp);
		if (tp->sb.len > 0)
			memcpy(v->u.str.s, tp->sb.data, tp->sb.len);
		v->u.str.s[tp->sb.len] = '\0';
		v->u.str.len = tp->sb.len;
	} else if ((rc = toml_bare_value(tp, v)) != 0)
		return rc;
	toml_setspan(tp, &m, &v->span);
	*out = v;
	return 0;
}

/*
 * key = value, into table tab. sect identifies the section (or inline
 * table) being parsed, inl says it is an inline table; prefix is tab's
 * path, for messages.
 */
static int
toml_keyval(struct tp *tp, struct toml_node *tab, uint32_t sect, int inl,
    const char *prefix)
{
	struct kpath kp;
	struct toml_node *t = tab, *v;
	struct toml_entry *e;
	struct kpart *p;
	struct mark m;
	char path[256], ch[16];
	size_t i;
	int rc;

	memset(&kp, 0, sizeof(kp));
	buf_init(&kp.b, 0);
	if ((rc = toml_keyparse(tp, &kp)) != 0)
		goto out;
	if (toml_peek(tp) != '=') {
		rc = toml_error(tp, NULL, "expected '=' after the key, found "
		    "%s", toml_chname(tp, ch, sizeof(ch)));
		goto out;
	}
	toml_adv(tp, 1);
	toml_skip_ws(tp);
	for (i = 0; i + 1 < kp.n; i++) {
		p = &kp.v[i];
		m.off = p->span.start;
		m.line = p->span.line;
		m.col = p->span.col;
		if ((e = toml_lookup(t, kp.b.data + p->off, p->len)) == NULL) {
			if ((rc = toml_container(tp, TOML_TABLE,
			    TOML_DEF_DOTTED, t->depth + 1, &m, &v)) != 0 ||
			    (rc = toml_insert(tp, t, kp.b.data + p->off,
			    p->len, &p->span, v)) != 0)
				goto out;
			v->sect = sect;
			v->frozen = inl;
			v->span = p->span;
			t = v;
			continue;
		}
		v = e->val;
		toml_pathfmt(path, sizeof(path), prefix, &kp, i);
		if (v->def == TOML_DEF_AOT) {
			rc = toml_error(tp, &m, "%s is an array of tables; "
			    "dotted keys cannot extend it", path);
			goto out;
		}
		if (v->type != TOML_TABLE) {
			rc = toml_error(tp, &m, "%s is already %s %s, not a "
			    "table", path, v->type == TOML_ARRAY ? "a static" :
			    toml_article(v->type), toml_type_name(v->type));
			goto out;
		}
		if (v->def == TOML_DEF_VALUE) {
			rc = toml_error(tp, &m, "inline table %s cannot be "
			    "extended", path);
			goto out;
		}
		if (v->def == TOML_DEF_HEADER) {
			rc = toml_error(tp, &m, "table %s was defined by a "
			    "header at line %u; dotted keys cannot extend it",
			    path, v->span.line);
			goto out;
		}
		if (v->def == TOML_DEF_DOTTED && v->sect != sect) {
			rc = toml_error(tp, &m, "table %s was defined by "
			    "dotted keys in another section", path);
			goto out;
		}
		v->def = TOML_DEF_DOTTED;
		v->sect = sect;
		t = v;
	}
	p = &kp.v[kp.n - 1];
	if (toml_lookup(t, kp.b.data + p->off, p->len) != NULL) {
		m.off = p->span.start;
		m.line = p->span.line;
		m.col = p->span.col;
		rc = toml_error(tp, &m, "duplicate key %s",
		    toml_pathfmt(path, sizeof(path), prefix, &kp, kp.n - 1));
		goto out;
	}
	toml_pathfmt(path, sizeof(path), prefix, &kp, kp.n - 1);
	if ((rc = toml_value_parse(tp, t->depth + 1, path, &v)) != 0)
		goto out;
	rc = toml_insert(tp, t, kp.b.data + p->off, p->len, &p->span, v);
out:
	toml_kpath_free(&kp);
	return rc;
}

/* ---- headers and the document ------------------------------------------ */

/* [a.b.c] or [[a.b.c]]: *cur becomes the table that follows. */
static int
toml_header(struct tp *tp, struct toml_node **cur)
{
	struct kpath kp;
	struct toml_node *t = tp->doc->root, *v, *arr;
	struct toml_entry *e;
	struct toml_span hs;
	struct kpart *p;
	struct mark hm, m;
	char path[256], ch[16];
	size_t i;
	int aot, rc;

	memset(&kp, 0, sizeof(kp));
	buf_init(&kp.b, 0);
	toml_mark(tp, &hm);
	aot = toml_peekat(tp, 1) == '[';
	toml_adv(tp, aot ? 2 : 1);
	toml_skip_ws(tp);
	if ((rc = toml_keyparse(tp, &kp)) != 0)
		goto out;
	if (toml_peek(tp) != ']' || (aot && toml_peekat(tp, 1) != ']')) {
		rc = toml_error(tp, NULL, "expected '%s' to close the header, "
		    "found %s", aot ? "]]" : "]",
		    toml_chname(tp, ch, sizeof(ch)));
		goto out;
	}
	toml_adv(tp, aot ? 2 : 1);
	toml_setspan(tp, &hm, &hs);
	for (i = 0; i + 1 < kp.n; i++) {
		p = &kp.v[i];
		m.off = p->span.start;
		m.line = p->span.line;
		m.col = p->span.col;
		if ((e = toml_lookup(t, kp.b.data + p->off, p->len)) == NULL) {
			if ((rc = toml_container(tp, TOML_TABLE,
			    TOML_DEF_IMPLICIT, t->depth + 1, &m, &v)) != 0 ||
			    (rc = toml_insert(tp, t, kp.b.data + p->off,
			    p->len, &p->span, v)) != 0)
				goto out;
			v->span = p->span;
			t = v;
			continue;
		}
		v = e->val;
		toml_pathfmt(path, sizeof(path), "", &kp, i);
		if (v->type == TOML_TABLE && !v->frozen)
			t = v;
		else if (v->type == TOML_ARRAY && v->def == TOML_DEF_AOT)
			t = v->u.arr.v[v->u.arr.n - 1];
		else if (v->type == TOML_TABLE) {
			rc = toml_error(tp, &m, "inline table %s cannot be "
			    "extended", path);
			goto out;
		} else {
			rc = toml_error(tp, &m, "%s is already %s %s, not a "
			    "table", path, v->type == TOML_ARRAY ? "a static" :
			    toml_article(v->type), toml_type_name(v->type));
			goto out;
		}
	}
	p = &kp.v[kp.n - 1];
	m.off = p->span.start;
	m.line = p->span.line;
	m.col = p->span.col;
	e = toml_lookup(t, kp.b.data + p->off, p->len);
	v = e != NULL ? e->val : NULL;
	toml_pathfmt(path, sizeof(path), "", &kp, kp.n - 1);
	if (!aot && v == NULL) {
		if ((rc = toml_container(tp, TOML_TABLE, TOML_DEF_HEADER,
		    t->depth + 1, &m, &v)) != 0 ||
		    (rc = toml_insert(tp, t, kp.b.data + p->off, p->len,
		    &p->span, v)) != 0)
			goto out;
	} else if (!aot) {
		if (v->type == TOML_TABLE && v->def == TOML_DEF_IMPLICIT)
			v->def = TOML_DEF_HEADER;
		else if (v->type == TOML_TABLE && v->def == TOML_DEF_HEADER)
			rc = toml_error(tp, &m, "table [%s] is already defined "
			    "at line %u", path, v->span.line);
		else if (v->type == TOML_TABLE && v->def == TOML_DEF_DOTTED)
			rc = toml_error(tp, &m, "table %s is already defined "
			    "by dotted keys", path);
		else if (v->type == TOML_TABLE)
			rc = toml_error(tp, &m, "inline table %s cannot be "
			    "extended", path);
		else if (v->def == TOML_DEF_AOT)
			rc = toml_error(tp, &m, "%s is an array of tables; "
			    "[[%s]] adds to it", path, path);
		else
			rc = toml_error(tp, &m, "%s is already %s %s, not a "
			    "table", path, v->type == TOML_ARRAY ? "a static" :
			    toml_article(v->type), toml_type_name(v->type));
		if (rc != 0)
			goto out;
	} else {
		if (v == NULL) {
			if ((rc = toml_container(tp, TOML_ARRAY, TOML_DEF_AOT,
			    t->depth + 1, &m, &arr)) != 0 ||
			    (rc = toml_insert(tp, t, kp.b.data + p->off,
			    p->len, &p->span, arr)) != 0)
				goto out;
			arr->span = hs;
		} else if (v->type == TOML_ARRAY && v->def == TOML_DEF_AOT)
			arr = v;
		else {
			rc = toml_error(tp, &m, "%s is already %s %s, not an "
			    "array of tables", path, v->type == TOML_ARRAY ?
			    "a static" : toml_article(v->type),
			    toml_type_name(v->type));
			goto out;
		}
		if ((rc = toml_container(tp, TOML_TABLE, TOML_DEF_HEADER,
		    arr->depth + 1, &m, &v)) != 0 ||
		    (rc = toml_append(tp, arr, v)) != 0)
			goto out;
	}
	v->span = hs;
	*cur = v;
	memcpy(tp->secpath, path, sizeof(tp->secpath));
out:
	toml_kpath_free(&kp);
	return rc;
}

static int
toml_doc(struct tp *tp)
{
	struct toml_node *cur = tp->doc->root;
	uint32_t sect = 0;
	int c, rc;

	if (tp->len >= 3 && memcmp(tp->s, "\xef\xbb\xbf", 3) == 0)
		tp->off = 3;	/* a BOM takes no column */
	for (;;) {
		toml_skip_ws(tp);
		if ((c = toml_peek(tp)) == -1)
			return 0;
		if (c == '[') {
			if ((rc = toml_header(tp, &cur)) != 0 ||
			    (rc = toml_eol(tp, "the table header")) != 0)
				return rc;
			sect = ++tp->nsect;
		} else if (c != '#' && c != '\n' && c != '\r') {
			if ((rc = toml_keyval(tp, cur, sect, 0,
			    tp->secpath)) != 0 ||
			    (rc = toml_eol(tp, "the value")) != 0)
				return rc;
		} else if ((rc = toml_eol(tp, "the comment")) != 0)
			return rc;
	}
}

/* The position of the first invalid UTF-8 byte, all before it valid. */
static void
toml_badutf8(struct tp *tp, size_t bad)
{
	while (tp->off < bad)
		toml_adv(tp, 1);
}

int
toml_parse(const char *data, size_t len, struct toml **out,
    struct buf *err)
{
	struct tp tp;
	struct toml *doc;
	size_t valid;
	int rc;

	*out = NULL;
	memset(&tp, 0, sizeof(tp));
	tp.s = (const unsigned char *)data;
	tp.len = len;
	tp.line = tp.col = 1;
	tp.err = err;
	buf_init(&tp.sb, 0);
	if ((doc = calloc(1, sizeof(*doc))) == NULL)
		return toml_enomem(&tp);
	tp.doc = doc;
	if ((valid = utf8_valid_prefix(data, len)) != len) {
		toml_badutf8(&tp, valid);
		rc = toml_error(&tp, NULL, "invalid UTF-8");
		goto out;
	}
	if ((doc->root = toml_node_new(&tp, TOML_TABLE, TOML_DEF_HEADER,
	    0)) == NULL) {
		rc = toml_enomem(&tp);
		goto out;
	}
	doc->root->span.line = doc->root->span.col = 1;
	doc->root->span.end = len;
	if ((rc = toml_doc(&tp)) != 0)
		goto out;
	*out = doc;
	doc = NULL;
out:
	buf_free(&tp.sb);
	toml_free(doc);
	return rc;
}

void
toml_free(struct toml *doc)
{
	struct toml_node *n, *next;
	size_t i;

	if (doc == NULL)
		return;
	for (n = doc->nodes; n != NULL; n = next) {
		next = n->all;
		switch (n->type) {
		case TOML_TABLE:
			for (i = 0; i < n->u.tab.n; i++)
				free((char *)n->u.tab.v[i].key.name);
			free(n->u.tab.v);
			free(n->u.tab.idx);
			break;
		case TOML_ARRAY:
			free(n->u.arr.v);
			break;
		case TOML_STRING:
			free(n->u.str.s);
			break;
		case TOML_DATETIME:
		case TOML_DATETIME_LOCAL:
		case TOML_DATE_LOCAL:
		case TOML_TIME_LOCAL:
			free((char *)n->u.dt.text);
			break;
		default:
			break;
		}
		free(n);
	}
	free(doc);
}

/* ---- accessors --------------------------------------------------------- */

const struct toml_node *
toml_root(const struct toml *doc)
{
	return doc != NULL ? doc->root : NULL;
}

enum toml_type
toml_type(const struct toml_node *n)
{
	return n != NULL ? n->type : 0;
}

const char *
toml_type_name(enum toml_type t)
{
	switch (t) {
	case TOML_TABLE:		return "table";
	case TOML_ARRAY:		return "array";
	case TOML_STRING:		return "string";
	case TOML_INTEGER:		return "integer";
	case TOML_FLOAT:		return "float";
	case TOML_BOOL:			return "boolean";
	case TOML_DATETIME:		return "offset date-time";
	case TOML_DATETIME_LOCAL:	return "local date-time";
	case TOML_DATE_LOCAL:		return "local date";
	case TOML_TIME_LOCAL:		return "local time";
	}
	return "nothing";
}

enum toml_def
toml_def(const struct toml_node *n)
{
	return n != NULL ? n->def : TOML_DEF_VALUE;
}

const struct toml_span *
toml_span(const struct toml_node *n)
{
	return n != NULL ? &n->span : &toml_nospan;
}

size_t
toml_len(const struct toml_node *n)
{
	if (n == NULL)
		return 0;
	if (n->type == TOML_TABLE)
		return n->u.tab.n;
	if (n->type == TOML_ARRAY)
		return n->u.arr.n;
	return 0;
}

int
toml_find(const struct toml_node *tab, const char *key, size_t len,
    size_t *idx)
{
	const struct toml_entry *e;

	if (tab == NULL || tab->type != TOML_TABLE || key == NULL)
		return WARD_EINVAL;
	if ((e = toml_lookup(tab, key, len)) == NULL)
		return WARD_ENOENT;
	*idx = (size_t)(e - tab->u.tab.v);
	return 0;
}

const struct toml_node *
toml_getn(const struct toml_node *tab, const char *key, size_t len)
{
	const struct toml_entry *e;

	if (tab == NULL || tab->type != TOML_TABLE || key == NULL)
		return NULL;
	return (e = toml_lookup(tab, key, len)) != NULL ? e->val : NULL;
}

const struct toml_node *
toml_get(const struct toml_node *tab, const char *key)
{
	return key != NULL ? toml_getn(tab, key, strlen(key)) : NULL;
}

const struct toml_key *
toml_key(const struct toml_node *tab, size_t i)
{
	if (tab == NULL || tab->type != TOML_TABLE || i >= tab->u.tab.n)
		return NULL;
	return &tab->u.tab.v[i].key;
}

const struct toml_node *
toml_value(const struct toml_node *tab, size_t i)
{
	if (tab == NULL || tab->type != TOML_TABLE || i >= tab->u.tab.n)
		return NULL;
	return tab->u.tab.v[i].val;
}

const struct toml_node *
toml_at(const struct toml_node *arr, size_t i)
{
	if (arr == NULL || arr->type != TOML_ARRAY || i >= arr->u.arr.n)
		return NULL;
	return arr->u.arr.v[i];
}

const char *
toml_str(const struct toml_node *n, size_t *lenp)
{
	if (n == NULL || n->type != TOML_STRING)
		return NULL;
	if (lenp != NULL)
		*lenp = n->u.str.len;
	return n->u.str.s;
}

int
toml_int(const struct toml_node *n, int64_t *v)
{
	if (n == NULL || n->type != TOML_INTEGER)
		return WARD_EINVAL;
	*v = n->u.i;
	return 0;
}

int
toml_float(const struct toml_node *n, double *v)
{
	if (n == NULL || n->type != TOML_FLOAT)
		return WARD_EINVAL;
	*v = n->u.f;
	return 0;
}

int
toml_bool(const struct toml_node *n, int *v)
{
	if (n == NULL || n->type != TOML_BOOL)
		return WARD_EINVAL;
	*v = n->u.b;
	return 0;
}

const struct toml_datetime *
toml_datetime(const struct toml_node *n)
{
	if (n == NULL || (n->type != TOML_DATETIME &&
	    n->type != TOML_DATETIME_LOCAL && n->type != TOML_DATE_LOCAL &&
	    n->type != TOML_TIME_LOCAL))
		return NULL;
	return &n->u.dt;
}

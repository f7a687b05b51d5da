/*
 * Write-back of permission answers into ward.toml; see tomledit.h. The
 * document is parsed twice, once as a manifest (it must be valid before we
 * touch it, and its pattern lists say what is already there) and once as a
 * TOML tree for the byte spans. Edits are made in ascending order of
 * position while the text is copied; the copy is then loaded as a manifest
 * again and must hold what was asked, or nothing is returned.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "manifest.h"
#include "toml.h"
#include "tomledit.h"

/* The text being built: data[0..pos) has been copied into b, with edits. */
struct tomledit_ed {
	const char	*data;
	size_t		 len;
	size_t		 pos;
	struct buf	 b;
	const char	*eol;		/* "\n" or "\r\n", as the file has */
};

/* Replaces data[start..end) with text[0..tlen). Edits must not go back. */
static int
tomledit_put(struct tomledit_ed *ed, size_t start, size_t end,
    const char *text, size_t tlen)
{
	int rc;

	if (start < ed->pos || end < start || end > ed->len)
		return WARD_EINVAL;
	if ((rc = buf_add(&ed->b, ed->data + ed->pos, start - ed->pos)) != 0 ||
	    (rc = buf_add(&ed->b, text, tlen)) != 0)
		return rc;
	ed->pos = end;
	return 0;
}

static int
tomledit_insert(struct tomledit_ed *ed, size_t at, const struct buf *t)
{
	return tomledit_put(ed, at, at, t->data, t->len);
}

/* Appends s as a TOML basic string. */
static int
tomledit_quote(struct buf *b, const char *s)
{
	const unsigned char *p;
	int rc;

	rc = buf_puts(b, "\"");
	for (p = (const unsigned char *)s; rc == 0 && *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			rc = buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			rc = buf_printf(b, "\\u%04X", *p);
		else
			rc = buf_add(b, p, 1);
	}
	if (rc == 0)
		rc = buf_puts(b, "\"");
	return rc;
}

/* Two patterns name the same words the same way (prompt aside). */
static int
tomledit_same(const struct cmdpat *a, const struct cmdpat *b)
{
	size_t i;

	if (a->nwords != b->nwords || a->exact != b->exact)
		return 0;
	for (i = 0; i < a->nwords; i++)
		if (strcmp(a->words[i], b->words[i]) != 0)
			return 0;
	return 1;
}

/* The offset of the start of the line holding off. */
static size_t
tomledit_bol(const char *d, size_t off)
{
	while (off > 0 && d[off - 1] != '\n')
		off--;
	return off;
}

/* The offset just past the newline ending the line holding off, or len. */
static size_t
tomledit_nextline(const char *d, size_t len, size_t off)
{
	while (off < len && d[off] != '\n')
		off++;
	return off < len ? off + 1 : len;
}

/* Appends the blanks that indent the line holding off. */
static int
tomledit_indent(struct buf *t, const char *d, size_t off)
{
	size_t s, e;

	s = e = tomledit_bol(d, off);
	while (d[e] == ' ' || d[e] == '\t')
		e++;
	return buf_add(t, d + s, e - s);
}

/*
 * Adds elem as the last element of the array arr. A one-line array gets it
 * after the last element (or just inside "["); a multi-line array gets it
 * on a line of its own after the last element and that element's comment,
 * indented like it, with a trailing comma if the array used one.
 */
static int
tomledit_append(struct tomledit_ed *ed, const struct toml_node *arr,
    const char *elem)
{
	const char *d = ed->data;
	size_t open, close, n, e, p, q, at;
	struct buf t;
	int rc;

	open = toml_span(arr)->start;
	close = toml_span(arr)->end - 1;
	n = toml_len(arr);
	/* An array of [[tables]] cannot take a string. */
	if (toml_def(arr) != TOML_DEF_VALUE || close <= open ||
	    d[open] != '[' || d[close] != ']')
		return WARD_EINVAL;
	buf_init(&t, 0);
	if (memchr(d + open, '\n', close - open) == NULL) {
		if (n == 0) {
			at = open + 1;
			rc = buf_puts(&t, elem);
		} else {
			at = toml_span(toml_at(arr, n - 1))->end;
			rc = buf_printf(&t, ", %s", elem);
		}
		if (rc == 0)
			rc = tomledit_insert(ed, at, &t);
		goto out;
	}
	if (n == 0) {
		/* Only blanks can precede "]" on its line. */
		at = tomledit_bol(d, close);
		if ((rc = tomledit_indent(&t, d, close)) == 0 &&
		    (rc = buf_printf(&t, "  %s,%s", elem, ed->eol)) == 0)
			rc = tomledit_insert(ed, at, &t);
		goto out;
	}
	e = toml_span(toml_at(arr, n - 1))->end;
	if ((rc = tomledit_indent(&t, d,
	    toml_span(toml_at(arr, n - 1))->start)) != 0 ||
	    (rc = buf_puts(&t, elem)) != 0)
		goto out;
	/* Between the last element and "]" there are only blanks, newlines,
	 * comments and at most one comma: no string can hide a '#' or ','. */
	for (p = e; p < close && d[p] != ','; p++)
		if (d[p] == '#')
			while (p < close && d[p] != '\n')
				p++;
	if (p < close) {
		/* The list ends in a comma: so does the new last element. */
		p++;
		rc = buf_puts(&t, ",");
	} else {
		p = e;
		rc = tomledit_put(ed, e, e, ",", 1);
	}
	if (rc != 0)
		goto out;
	/* The rest of that line: blanks, perhaps a comment, its newline. */
	for (q = p; q < close && (d[q] == ' ' || d[q] == '\t'); q++)
		;
	if (d[q] == '#')
		while (q < close && d[q] != '\n')
			q++;
	if (d[q] == '\r' && d[q + 1] == '\n')
		q++;
	if (d[q] == '\n') {
		if ((rc = buf_puts(&t, ed->eol)) == 0)
			rc = tomledit_insert(ed, q + 1, &t);
	} else if ((rc = tomledit_put(ed, p, p, ed->eol,
	    strlen(ed->eol))) == 0)
		rc = tomledit_insert(ed, p, &t);	/* "]" shared the line */
out:
	buf_free(&t);
	return rc;
}

/* The end of the last value in table tab's own text: its values and those
 * of the tables its dotted keys made; 0 when there is none. */
static size_t
tomledit_last(const struct toml_node *tab)
{
	const struct toml_node *v;
	size_t i, e, end = 0;

	for (i = 0; i < toml_len(tab); i++) {
		v = toml_value(tab, i);
		if (toml_def(v) == TOML_DEF_DOTTED)
			e = tomledit_last(v);
		else if (toml_def(v) == TOML_DEF_VALUE)
			e = toml_span(v)->end;
		else
			continue;	/* a sub-table with its own header */
		if (e > end)
			end = e;
	}
	return end;
}

/*
 * Adds "patterns = [elem]" for the table path[3] (names[1..3]) of which
 * path[0..depth] exist. The key goes into the nearest [header] or inline
 * table on the path, dotted with the names below it: after the last value
 * of that header's section (before the blank lines and comments that lead
 * to the next header), or before the inline table's "}".
 */
static int
tomledit_addkey(struct tomledit_ed *ed, const struct toml_node *path[4],
    const char *names[4], size_t depth, const char *elem)
{
	const char *d = ed->data;
	const struct toml_node *own;
	enum toml_def def;
	size_t k, owner = 0, last, at;
	struct buf key, t;
	int rc;

	for (k = 1; k <= depth; k++)
		if ((def = toml_def(path[k])) == TOML_DEF_HEADER ||
		    def == TOML_DEF_VALUE)
			owner = k;
	for (k = owner + 1; k <= depth; k++)
		if (toml_def(path[k]) != TOML_DEF_DOTTED)
			return WARD_EINVAL;
	own = path[owner];
	last = tomledit_last(own);
	if (owner == 0 && last == 0)
		return WARD_EINVAL;	/* cannot happen: dotted keys exist */
	buf_init(&key, 0);
	buf_init(&t, 0);
	for (k = owner + 1, rc = 0; k < 4 && rc == 0; k++)
		rc = buf_printf(&key, "%s.", names[k]);
	if (rc != 0 ||
	    (rc = buf_printf(&key, "patterns = [%s]", elem)) != 0)
		goto out;
	if (toml_def(own) == TOML_DEF_VALUE) {
		if (last == 0) {
			at = toml_span(own)->start + 1;
			rc = buf_printf(&t, " %s%s", key.data,
			    d[at] == '}' ? " " : "");
		} else {
			at = last;
			rc = buf_printf(&t, ", %s", key.data);
		}
	} else {
		if (last == 0)
			last = toml_span(own)->end;	/* its header */
		at = tomledit_nextline(d, ed->len, last);
		if (at == ed->len && d[at - 1] != '\n')
			rc = buf_puts(&t, ed->eol);
		if (rc == 0)
			rc = buf_printf(&t, "%s%s", key.data, ed->eol);
	}
	if (rc == 0)
		rc = tomledit_insert(ed, at, &t);
out:
	buf_free(&key);
	buf_free(&t);
	return rc;
}

/* Appends a new [capabilities.LIST.commands] section at the end. */
static int
tomledit_section(struct tomledit_ed *ed, const char *list, const char *elem)
{
	const char *d = ed->data;
	size_t n = ed->len;
	struct buf t;
	int nl, blank, rc = 0;

	nl = n > 0 && d[n - 1] == '\n';
	blank = nl && ((n >= 2 && d[n - 2] == '\n') ||
	    (n >= 3 && d[n - 2] == '\r' && d[n - 3] == '\n'));
	buf_init(&t, 0);
	if (!nl)
		rc = buf_puts(&t, ed->eol);
	if (rc == 0 && !blank)
		rc = buf_puts(&t, ed->eol);
	if (rc == 0)
		rc = buf_printf(&t, "[capabilities.%s.commands]%spatterns = "
		    "[%s]%s", list, ed->eol, elem, ed->eol);
	if (rc == 0)
		rc = tomledit_insert(ed, n, &t);
	buf_free(&t);
	return rc;
}

/* Makes the prompting allow entry e (an inline table) silent. */
static int
tomledit_silence(struct tomledit_ed *ed, const struct toml_node *e)
{
	const struct toml_span *s, *c;

	if (toml_type(e) != TOML_TABLE || toml_def(e) != TOML_DEF_VALUE)
		return WARD_EINVAL;
	if (toml_len(e) == 2) {
		/* { command = "PAT", prompt = true }: the string as written */
		c = toml_span(toml_get(e, "command"));
		s = toml_span(e);
		return tomledit_put(ed, s->start, s->end, ed->data + c->start,
		    c->end - c->start);
	}
	s = toml_span(toml_get(e, "prompt"));
	return tomledit_put(ed, s->start, s->end, "false", 5);
}

/*
 * The edited text must load as a manifest whose list holds want as asked
 * (for allow always: with no prompting entry for it left), and the two
 * command lists must have grown by exactly what was added.
 */
static int
tomledit_check(const char *text, size_t len, enum tomledit_list list,
    const struct cmdpat *want, const struct manifest *old, int added,
    struct buf *err)
{
	struct manifest *m = NULL;
	const struct cmdpat *p;
	size_t i, n;
	int found = 0, rc;

	if ((rc = manifest_parse("the edited ward.toml", text, len, &m,
	    err)) != 0)
		return rc == WARD_ENOMEM ? rc : WARD_EINVAL;
	p = list == TOMLEDIT_ALLOW ? m->allow : m->deny;
	n = list == TOMLEDIT_ALLOW ? m->nallow : m->ndeny;
	for (i = 0; i < n; i++) {
		if (!tomledit_same(&p[i], want))
			continue;
		if (p[i].prompt == want->prompt)
			found = 1;
		else if (!want->prompt) {
			found = 0;
			break;
		}
	}
	if (!found || m->nallow != old->nallow +
	    (list == TOMLEDIT_ALLOW && added) || m->ndeny != old->ndeny +
	    (list == TOMLEDIT_DENY && added)) {
		if (err != NULL)
			buf_printf(err, "ward.toml: adding '%s' did not come "
			    "out as intended; the file was left alone",
			    want->text);
		rc = WARD_EINVAL;
	}
	manifest_free(m);
	return rc;
}

int
tomledit_add_pattern(const char *data, size_t len, enum tomledit_list list,
    const char *pattern, int prompt, char **out, size_t *outlen,
    struct buf *err)
{
	const char *names[4] = { NULL, "capabilities", NULL, "commands" };
	const struct toml_node *path[4], *arr = NULL;
	const struct cmdpat *pats;
	struct tomledit_ed ed;
	struct manifest *m = NULL;
	struct toml *doc = NULL;
	struct cmdpat want;
	struct buf elem, why;
	const char *nl;
	size_t i, npats, depth;
	int rc, found = 0, inl = 0;

	*out = NULL;
	*outlen = 0;
	memset(&want, 0, sizeof(want));
	memset(&ed, 0, sizeof(ed));
	buf_init(&ed.b, 0);
	buf_init(&elem, 0);
	buf_init(&why, 0);
	if (list != TOMLEDIT_ALLOW && list != TOMLEDIT_DENY)
		return WARD_EINVAL;
	prompt = list == TOMLEDIT_ALLOW && prompt;
	/* cmdpat_parse needs a buffer for its message; err may be NULL. */
	if ((rc = cmdpat_parse(pattern, prompt, &want, &why)) != 0) {
		if (err != NULL && why.data != NULL)
			buf_puts(err, why.data);
		goto out;
	}
	if ((rc = manifest_parse("ward.toml", data, len, &m, err)) != 0)
		goto out;
	if ((rc = toml_parse(data, len, &doc, NULL)) != 0) {
		if (rc == WARD_EPROTO)
			rc = WARD_EINVAL;
		goto out;
	}
	ed.data = data;
	ed.len = len;
	ed.eol = "\n";
	if ((nl = memchr(data, '\n', len)) != NULL && nl > data &&
	    nl[-1] == '\r')
		ed.eol = "\r\n";

	names[2] = list == TOMLEDIT_ALLOW ? "allow" : "deny";
	path[0] = toml_root(doc);
	for (depth = 0; depth < 3; depth++) {
		if ((path[depth + 1] = toml_get(path[depth],
		    names[depth + 1])) == NULL)
			break;
		if (toml_def(path[depth + 1]) == TOML_DEF_VALUE)
			inl = 1;
	}
	if (depth == 3)
		arr = toml_get(path[3], "patterns");
	pats = list == TOMLEDIT_ALLOW ? m->allow : m->deny;
	npats = list == TOMLEDIT_ALLOW ? m->nallow : m->ndeny;
	/* The manifest's list must be this array, element for element. */
	if (npats != toml_len(arr))
		rc = WARD_EINVAL;
	for (i = 0; i < npats && rc == 0; i++) {
		if (!tomledit_same(&pats[i], &want))
			continue;
		if (pats[i].prompt == want.prompt)
			found = 1;
		else if (!want.prompt) {
			rc = tomledit_silence(&ed, toml_at(arr, i));
			found = 1;
		}
	}
	if (rc == 0 && !found) {
		if (prompt)
			rc = buf_puts(&elem, "{ command = ");
		if (rc == 0)
			rc = tomledit_quote(&elem, pattern);
		if (rc == 0 && prompt)
			rc = buf_puts(&elem, ", prompt = true }");
		if (rc != 0)
			goto out;
		if (arr != NULL)
			rc = tomledit_append(&ed, arr, elem.data);
		else if (depth == 3 || inl)
			rc = tomledit_addkey(&ed, path, names, depth,
			    elem.data);
		else
			rc = tomledit_section(&ed, names[2], elem.data);
	}
	if (rc == 0)
		rc = tomledit_put(&ed, len, len, "", 0);
	if (rc == WARD_EINVAL && err != NULL)
		buf_printf(err, "ward.toml: cannot add '%s' to "
		    "[capabilities.%s.commands] patterns safely as it is "
		    "written; add it by hand", pattern, names[2]);
	if (rc != 0 ||
	    (rc = tomledit_check(ed.b.data, ed.b.len, list, &want, m,
	    !found, err)) != 0)
		goto out;
	*outlen = ed.b.len;
	if ((*out = buf_take(&ed.b)) == NULL) {
		*outlen = 0;
		rc = WARD_ENOMEM;
	}
out:
	cmdpat_clear(&want);
	manifest_free(m);
	toml_free(doc);
	buf_free(&elem);
	buf_free(&why);
	buf_free(&ed.b);
	return rc;
}

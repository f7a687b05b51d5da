/*
 * `ward approve` (DESIGN §3 "Approval", §4): shows the manifest, or what
 * changed since the user last approved it, asks, and signs it. The
 * manifest may come from anyone (a cloned repository), so everything shown
 * from it has its control characters, C1 controls and bidi overrides made
 * visible: what the user reads is what they sign.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "../lib/err.h"
#include "../lib/utf8.h"
#include "../policy/approval.h"
#include "../policy/manifest.h"

#define APPROVE_CONTEXT		3		/* lines around each change */
#define APPROVE_DIFF_CELLS	(4u << 20)	/* LCS table cap; past it the
						   whole manifest is shown */

struct approve_line {
	const char	*s;
	size_t		 len;
};

struct approve_op {
	char	 op;		/* ' ', '-' or '+' */
	size_t	 a, b;		/* line indices in the old and new text */
};

static void
approve_usage(FILE *f)
{
	fputs("usage: ward approve [--yes] [--manifest F]\n"
	    "\n"
	    "Review and sign the manifest. Shows it (or, if it was approved "
	    "before, what\n"
	    "changed since), asks \"Approve this manifest?\" and records an "
	    "Ed25519\n"
	    "signature made with your key in ward's state directory, for this "
	    "project's\n"
	    "directory only. Comments and layout are not part of what is "
	    "signed.\n"
	    "\n"
	    "  --yes         sign without asking (for scripts)\n"
	    "  --manifest F  the manifest (default ./ward.toml); the project "
	    "is its\n"
	    "                directory\n"
	    "  -h, --help    show this help\n"
	    "\n"
	    "Without --yes the answer is read from the terminal; with no "
	    "terminal,\n"
	    "nothing is signed.\n"
	    "Exit status: 0 approved (now or already), 1 invalid manifest, "
	    "declined or\n"
	    "unusable key, 2 usage error or no terminal to ask on, 111 system "
	    "error.\n", f);
}

static int
approve_exit(int rc)
{
	return rc == WARD_ENOMEM || rc == WARD_ESYS || rc == WARD_EIO ?
	    WARD_EXIT_SYSERR : WARD_EXIT_FAIL;
}

/* Writes s[0..n) to f with what a terminal would act on made visible
 * (utf8_visible; tabs kept). */
static void
approve_put(FILE *f, const char *s, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	if (utf8_visible(&b, s, n, UTF8_KEEP_TAB) == 0 && b.data != NULL)
		fwrite(b.data, 1, b.len, f);
	else if (b.data == NULL && n > 0)
		fputs("<out of memory>", f);
	buf_free(&b);
}

static void
approve_puts(FILE *f, const char *s)
{
	approve_put(f, s, strlen(s));
}

/* Splits text into lines (without their LF, nor the CR of a CRLF). */
static int
approve_lines(const char *text, size_t len, struct approve_line **out,
    size_t *n)
{
	struct approve_line *v;
	const char *p = text, *end = text + len, *nl;
	size_t cap = 1, i = 0;

	for (nl = text; (nl = memchr(nl, '\n', end - nl)) != NULL; nl++)
		cap++;
	if ((v = calloc(cap, sizeof(*v))) == NULL)
		return WARD_ENOMEM;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		v[i].s = p;
		v[i].len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (nl != NULL && v[i].len > 0 && p[v[i].len - 1] == '\r')
			v[i].len--;
		i++;
		p = nl != NULL ? nl + 1 : end;
	}
	*out = v;
	*n = i;
	return 0;
}

static void
approve_show(const char *text, size_t len)
{
	struct approve_line *l = NULL;
	size_t i, n;

	if (approve_lines(text, len, &l, &n) != 0) {
		approve_put(stdout, text, len);
		return;
	}
	for (i = 0; i < n; i++) {
		fputs("  ", stdout);
		approve_put(stdout, l[i].s, l[i].len);
		fputc('\n', stdout);
	}
	free(l);
}

static int
approve_eq(const struct approve_line *x, const struct approve_line *y)
{
	return x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

/*
 * The edit script from a[0..na) to b[0..nb): the common head and tail are
 * taken first, the rest by a longest common subsequence table. Returns
 * WARD_ETOOBIG when that table would pass APPROVE_DIFF_CELLS.
 */
static int
approve_script(const struct approve_line *a, size_t na,
    const struct approve_line *b, size_t nb, struct approve_op **out,
    size_t *nout)
{
	struct approve_op *ops = NULL;
	uint32_t *t = NULL;
	size_t head = 0, tail = 0, i, j, n = 0, ma, mb, w;

	while (head < na && head < nb && approve_eq(&a[head], &b[head]))
		head++;
	while (tail < na - head && tail < nb - head &&
	    approve_eq(&a[na - 1 - tail], &b[nb - 1 - tail]))
		tail++;
	ma = na - head - tail;
	mb = nb - head - tail;
	w = mb + 1;
	if ((ma + 1) > APPROVE_DIFF_CELLS / w)
		return WARD_ETOOBIG;
	if ((t = calloc((ma + 1) * w, sizeof(*t))) == NULL ||
	    (ops = calloc(na + nb + 1, sizeof(*ops))) == NULL) {
		free(t);
		return WARD_ENOMEM;
	}
	/* t[i][j]: LCS length of the middles from a[head+i] and b[head+j]. */
	for (i = ma; i-- > 0;)
		for (j = mb; j-- > 0;)
			t[i * w + j] = approve_eq(&a[head + i], &b[head + j]) ?
			    t[(i + 1) * w + j + 1] + 1 :
			    t[(i + 1) * w + j] > t[i * w + j + 1] ?
			    t[(i + 1) * w + j] : t[i * w + j + 1];
	for (i = 0; i < head; i++)
		ops[n++] = (struct approve_op){ ' ', i, i };
	i = j = 0;
	while (i < ma || j < mb) {
		if (i < ma && j < mb && approve_eq(&a[head + i], &b[head + j])) {
			ops[n++] = (struct approve_op){ ' ', head + i, head + j };
			i++, j++;
		} else if (j == mb || (i < ma &&
		    t[(i + 1) * w + j] >= t[i * w + j + 1])) {
			ops[n++] = (struct approve_op){ '-', head + i, head + j };
			i++;
		} else {
			ops[n++] = (struct approve_op){ '+', head + i, head + j };
			j++;
		}
	}
	for (i = 0; i < tail; i++)
		ops[n++] = (struct approve_op){ ' ', na - tail + i,
		    nb - tail + i };
	free(t);
	*out = ops;
	*nout = n;
	return 0;
}

/* Prints the unified diff (APPROVE_CONTEXT lines of context) from old to
 * new text. Returns 0, WARD_ETOOBIG (too large to compare) or ENOMEM. */
static int
approve_diff(const char *old, size_t oldlen, const char *new, size_t newlen,
    const char *name)
{
	struct approve_line *a = NULL, *b = NULL;
	struct approve_op *ops = NULL;
	size_t na, nb, nops = 0, s, e, k, ca, cb;
	int rc;

	if ((rc = approve_lines(old, oldlen, &a, &na)) != 0 ||
	    (rc = approve_lines(new, newlen, &b, &nb)) != 0 ||
	    (rc = approve_script(a, na, b, nb, &ops, &nops)) != 0)
		goto out;
	fputs("--- approved\n+++ ", stdout);
	approve_puts(stdout, name);
	fputc('\n', stdout);
	for (s = 0; s < nops; s = e) {
		while (s < nops && ops[s].op == ' ')
			s++;
		if (s == nops)
			break;
		/* A hunk runs until more than 2 * context equal lines. */
		for (e = s; e < nops; e++) {
			for (k = e; k < nops && ops[k].op == ' '; k++)
				;
			if (k == nops || k - e > 2 * APPROVE_CONTEXT)
				break;
			e = k;
		}
		s = s > APPROVE_CONTEXT ? s - APPROVE_CONTEXT : 0;
		e = e + APPROVE_CONTEXT < nops ? e + APPROVE_CONTEXT : nops;
		for (ca = cb = 0, k = s; k < e; k++) {
			ca += ops[k].op != '+';
			cb += ops[k].op != '-';
		}
		printf("@@ -%zu,%zu +%zu,%zu @@\n", ops[s].a + (ca > 0), ca,
		    ops[s].b + (cb > 0), cb);
		for (k = s; k < e; k++) {
			fputc(ops[k].op, stdout);
			if (ops[k].op == '+')
				approve_put(stdout, b[ops[k].b].s,
				    b[ops[k].b].len);
			else
				approve_put(stdout, a[ops[k].a].s,
				    a[ops[k].a].len);
			fputc('\n', stdout);
		}
	}
out:
	free(ops);
	free(a);
	free(b);
	return rc;
}

static int
approve_read(const char *path, struct buf *data)
{
	struct buf err;
	int rc;

	buf_init(&err, 0);
	if ((rc = manifest_read(path, data, &err)) != 0) {
		fprintf(stderr, "ward approve: ");
		approve_puts(stderr, err.data != NULL ? err.data :
		    ward_strerror(rc));
		fputc('\n', stderr);
	}
	buf_free(&err);
	return rc;
}

/* Asks on the terminal; 1 for yes. */
static int
approve_ask(void)
{
	char line[64];
	size_t n;

	fputs("Approve this manifest? [y/N] ", stdout);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

static void
approve_err(const char *what, const struct buf *err, int rc)
{
	fprintf(stderr, "ward approve: %s", what);
	approve_puts(stderr, err->data != NULL ? err->data :
	    ward_strerror(rc));
	fputc('\n', stderr);
}

int
cmd_approve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes",	no_argument,		NULL, 'y' },
		{ "manifest",	required_argument,	NULL, 'm' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *path = "ward.toml";
	char *copy = NULL, *root, *old = NULL;
	struct manifest *m = NULL;
	struct buf text, err;
	size_t oldlen;
	int c, yes = 0, rc, ret;

	buf_init(&text, MANIFEST_MAX_BYTES);
	buf_init(&err, 0);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hy", opts, NULL)) != -1) {
		switch (c) {
		case 'y':
			yes = 1;
			break;
		case 'm':
			path = optarg;
			break;
		case 'h':
			approve_usage(stdout);
			ret = WARD_EXIT_OK;
			goto out;
		default:
			fprintf(stderr, "ward approve: unknown or incomplete "
			    "option %s\nsee ward approve --help\n",
			    argv[optind - 1]);
			ret = WARD_EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ward approve: unexpected argument %s\n"
		    "see ward approve --help\n", argv[optind]);
		ret = WARD_EXIT_USAGE;
		goto out;
	}
	if ((rc = approve_read(path, &text)) != 0) {
		ret = approve_exit(rc);
		goto out;
	}
	if (text.data == NULL && (rc = buf_add(&text, "", 0)) != 0) {
		ret = WARD_EXIT_SYSERR;
		goto out;
	}
	if ((rc = manifest_parse(path, text.data, text.len, &m, &err)) != 0) {
		approve_err("", &err, rc);
		ret = approve_exit(rc);
		goto out;
	}
	if ((copy = strdup(path)) == NULL) {
		ret = WARD_EXIT_SYSERR;
		goto out;
	}
	root = dirname(copy);

	rc = approval_check(root, text.data, text.len, &err);
	if (rc == 0) {
		approve_puts(stdout, path);
		fputs(" is already approved.\n", stdout);
		ret = WARD_EXIT_OK;
		goto out;
	}
	if (rc == WARD_EPROTO)
		approve_err("", &err, rc);
	else if (rc != WARD_ENOENT && rc != WARD_EDENIED) {
		approve_err("cannot check the approval: ", &err, rc);
		ret = approve_exit(rc);
		goto out;
	}
	if (rc == WARD_EDENIED &&
	    approval_last(root, &old, &oldlen, NULL) == 0) {
		printf("The manifest changed since you approved it:\n\n");
		if (approve_diff(old, oldlen, text.data, text.len, path) != 0) {
			printf("(too large to compare; the whole manifest "
			    "follows)\n\n");
			approve_show(text.data, text.len);
		}
	} else {
		printf("The manifest has not been approved:\n\n");
		approve_show(text.data, text.len);
	}
	fputc('\n', stdout);
	if (!yes && !isatty(STDIN_FILENO)) {
		fflush(stdout);
		fputs("ward approve: not approved: there is no terminal to ask "
		    "on; run 'ward approve --yes' to approve it as shown\n",
		    stderr);
		ret = WARD_EXIT_USAGE;
		goto out;
	}
	if (!yes && !approve_ask()) {
		fputs("Not approved.\n", stdout);
		ret = WARD_EXIT_FAIL;
		goto out;
	}
	buf_reset(&err);
	if ((rc = approval_sign(root, text.data, text.len, &err)) != 0) {
		approve_err("cannot approve: ", &err, rc);
		ret = approve_exit(rc);
		goto out;
	}
	approve_puts(stdout, path);
	fputs(" approved.\n", stdout);
	ret = WARD_EXIT_OK;
out:
	manifest_free(m);
	free(old);
	free(copy);
	buf_free(&text);
	buf_free(&err);
	return ret;
}

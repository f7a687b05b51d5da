/*
 * Command patterns and per-part decisions; see cmdpat.h. Deny beats allow;
 * among allows the most literal words win, an exact pattern beats a prefix
 * with the same words, and on a remaining tie the stricter rule (prompt)
 * wins, so the order of the lists never matters.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "../lib/utf8.h"
#include "cmdpat.h"

/* Programs a bare allow cannot grant: they run anything as anyone. */
static const char *const cmdpat_escalate[] = {
	"sudo", "doas", "su", "pkexec", "run0", NULL
};

/* Builtins that change the working directory. */
static const char *const cmdpat_chdir[] = { "cd", "pushd", "popd", NULL };

/* Interpreters that can run code given on the command line. */
static const char *const cmdpat_interp[] = {
	"python", "python3", "python2", "perl", "ruby", "node", "nodejs",
	"deno", "bun", "php", "lua", "luajit", "tclsh", "Rscript", "julia",
	"sh", "bash", "dash", "zsh", "ksh", "fish", "osascript", "awk", "gawk",
	"mawk", "nawk", "busybox", NULL
};

/* Characters a pattern word cannot hold: shell syntax, and the blank that
 * separates words. */
static const char cmdpat_special[] = "'\"\\$`*?[]{}~;|&<>()\t\n# ";

struct cmdpat_index {
	const struct cmdpat	**allow;	/* sorted by program word */
	size_t			  nallow;
	const struct cmdpat	**deny;
	size_t			  ndeny;
};

const char *
cmdpat_name(enum cmdpat_decision d)
{
	return d == CMDPAT_ALLOW ? "allow" : d == CMDPAT_PROMPT ? "prompt" :
	    "deny";
}

static int
cmdpat_in(const char *w, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(w, list[i]) == 0)
			return 1;
	return 0;
}

void
cmdpat_clear(struct cmdpat *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nwords; i++)
		free(p->words[i]);
	free(p->words);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

int
cmdpat_parse(const char *text, int prompt, struct cmdpat *p, struct buf *err)
{
	const char *s, *e, *end;
	char **nw;
	size_t n;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	n = strlen(text);
	end = text + n;
	for (s = text; s < end && (unsigned char)*s >= 0x20 && *s != 0x7f;
	    s++)
		;
	if (s < end || utf8_valid_prefix(text, n) != n) {
		if (err != NULL)
			buf_printf(err, "command pattern: %s", s < end ?
			    "control character" : "not valid UTF-8");
		return WARD_EINVAL;
	}
	if (n >= 2 && strcmp(end - 2, ":*") == 0)
		end -= 2;
	else
		p->exact = 1;
	if ((p->text = strdup(text)) == NULL)
		return WARD_ENOMEM;
	p->prompt = prompt;
	for (s = text; s < end; s = e) {
		while (s < end && *s == ' ')
			s++;
		if (s == end)
			break;
		for (e = s; e < end && *e != ' '; e++)
			if (strchr(cmdpat_special, *e) != NULL ||
			    (*e == ':' && e + 1 < end && e[1] == '*')) {
				if (err != NULL)
					buf_printf(err, "command pattern '%s': "
				    "character '%c' is not allowed (patterns "
				    "are literal words, ending in \":*\" for a "
				    "prefix)", text, *e);
				rc = WARD_EINVAL;
				goto out;
			}
		if ((nw = reallocarray(p->words, p->nwords + 1,
		    sizeof(*nw))) == NULL) {
			rc = WARD_ENOMEM;
			goto out;
		}
		p->words = nw;
		if ((p->words[p->nwords] = strndup(s, (size_t)(e - s))) ==
		    NULL) {
			rc = WARD_ENOMEM;
			goto out;
		}
		p->nwords++;
	}
	if (p->nwords == 0) {
		if (err != NULL)
			buf_printf(err, "command pattern '%s' names no "
			    "command", text);
		rc = WARD_EINVAL;
		goto out;
	}
	p->risky = cmdpat_in(p->words[0], cmdpat_escalate) ? 1 :
	    cmdpat_in(p->words[0], cmdpat_interp) ? 2 : 0;
out:
	if (rc != 0)
		cmdpat_clear(p);
	return rc;
}

/* cmdpat_match with prog standing for the program word. */
static int
cmdpat_match_as(const struct cmdpat *p, const struct shell_cmd *c,
    const char *prog)
{
	size_t i;

	if (c->argc < p->nwords)
		return 0;
	if (p->exact && (c->argc != p->nwords ||
	    (c->flags & SHELL_C_OPEN_ARGS) != 0))
		return 0;
	for (i = 0; i < p->nwords; i++)
		if (c->argv[i].flags != 0 || strcmp(i == 0 ? prog :
		    c->argv[i].text, p->words[i]) != 0)
			return 0;
	return 1;
}

int
cmdpat_match(const struct cmdpat *p, const struct shell_cmd *c)
{
	return c->argc > 0 && cmdpat_match_as(p, c, c->argv[0].text);
}

/* Better allow for the same command: more words, then exact, then the
 * stricter (prompt) one. */
static int
cmdpat_better(const struct cmdpat *a, const struct cmdpat *b)
{
	if (b == NULL)
		return 1;
	if (a->nwords != b->nwords)
		return a->nwords > b->nwords;
	if (a->exact != b->exact)
		return a->exact;
	return a->prompt && !b->prompt;
}


/* awk's program is its first operand, unless -f names a file. */
static const char *const cmdpat_awk[] = {
	"awk", "gawk", "mawk", "nawk", "busybox", NULL
};

/* Long options that hand an interpreter code to run. */
static const char *const cmdpat_evalopts[] = {
	"--eval", "--print", "--command", "--exec", "--execute", NULL
};

/*
 * Whether an interpreter's arguments carry code from outside the project:
 * an option cluster holding c, e, E, p or r (-c, -Ic, -we, node -p,
 * php -r), a long option that evaluates (--eval, --eval=...), or a
 * program read from stdin or a device ("-", /dev/..., /proc/...); for awk,
 * a program given inline. Stricter than any one interpreter needs: a false
 * prompt costs a question, a false allow costs the grant.
 */
static int
cmdpat_inline(const struct shell_cmd *c)
{
	const char *w;
	size_t i, k, n;
	int awk = cmdpat_in(c->argv[0].text, cmdpat_awk), progfile = 0;

	for (i = 1; i < c->argc; i++) {
		w = c->argv[i].text;
		if (strcmp(w, "--") == 0) {
			i++;
			break;
		}
		if (w[0] != '-' || w[1] == '\0')
			break;
		if (w[1] == '-') {
			for (k = 0; cmdpat_evalopts[k] != NULL; k++) {
				n = strlen(cmdpat_evalopts[k]);
				if (strncmp(w, cmdpat_evalopts[k], n) == 0 &&
				    (w[n] == '\0' || w[n] == '='))
					return 1;
			}
			continue;
		}
		if (awk) {
			progfile |= w[1] == 'f';
			continue;
		}
		if (strpbrk(w + 1, "ceEpr") != NULL)
			return 1;
	}
	if (awk && !progfile)
		return 1;
	if (i < c->argc) {
		w = c->argv[i].text;
		if (strcmp(w, "-") == 0 || strncmp(w, "/dev/", 5) == 0 ||
		    strncmp(w, "/proc/", 6) == 0 || c->argv[i].flags != 0)
			return 1;
	}
	return 0;
}

/* A silent allow is not enough for escalation or inline code. p matches
 * c, so p's program word is c's. */
static int
cmdpat_needs_prompt(const struct cmdpat *p, const struct shell_cmd *c)
{
	if (p->risky != 2)
		return p->risky;
	return cmdpat_inline(c);
}

/* Whether c runs what it wraps in another directory: env -C DIR, env
 * --chdir, find -execdir/-okdir. */
static int
cmdpat_chdir_wrapper(const struct shell_cmd *c)
{
	const char *w;
	size_t i;

	if (c->argc == 0)
		return 0;
	for (i = 1; i < c->argc; i++) {
		w = c->argv[i].text;
		if (strcmp(c->argv[0].text, "env") == 0 &&
		    (strncmp(w, "-C", 2) == 0 || strncmp(w, "--chdir", 7) == 0 ||
		    (w[0] == '-' && w[1] != '-' && strchr(w, 'C') != NULL)))
			return 1;
		if (strcmp(c->argv[0].text, "find") == 0 &&
		    (strcmp(w, "-execdir") == 0 || strcmp(w, "-okdir") == 0))
			return 1;
	}
	return 0;
}

static int
cmdpat_cmp(const void *a, const void *b)
{
	const struct cmdpat *pa = *(const struct cmdpat *const *)a;
	const struct cmdpat *pb = *(const struct cmdpat *const *)b;

	return strcmp(pa->words[0], pb->words[0]);
}

static int
cmdpat_sorted(const struct cmdpat *v, size_t n, const struct cmdpat ***out)
{
	size_t i;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < n; i++)
		(*out)[i] = &v[i];
	qsort(*out, n, sizeof(**out), cmdpat_cmp);
	return 0;
}

int
cmdpat_index_new(const struct cmdpat *allow, size_t nallow,
    const struct cmdpat *deny, size_t ndeny, struct cmdpat_index **out)
{
	struct cmdpat_index *ix;

	*out = NULL;
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return WARD_ENOMEM;
	if (cmdpat_sorted(allow, nallow, &ix->allow) != 0 ||
	    cmdpat_sorted(deny, ndeny, &ix->deny) != 0) {
		cmdpat_index_free(ix);
		return WARD_ENOMEM;
	}
	ix->nallow = nallow;
	ix->ndeny = ndeny;
	*out = ix;
	return 0;
}

void
cmdpat_index_free(struct cmdpat_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->allow);
	free(ix->deny);
	free(ix);
}

/* The run [*lo, *hi) of v whose program word is prog. */
static void
cmdpat_range(const struct cmdpat *const *v, size_t n, const char *prog,
    size_t *lo, size_t *hi)
{
	size_t a = 0, b = n, m;

	while (a < b) {
		m = a + (b - a) / 2;
		if (strcmp(v[m]->words[0], prog) < 0)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	for (b = a; b < n && strcmp(v[b]->words[0], prog) == 0; b++)
		;
	*hi = b;
}

/* The deny pattern matching c with prog as its program word, or NULL. */
static const struct cmdpat *
cmdpat_deny_as(const struct cmdpat_rules *r, const struct shell_cmd *c,
    const char *prog)
{
	size_t i, lo, hi;

	if (r->index == NULL) {
		for (i = 0; i < r->ndeny; i++)
			if (cmdpat_match_as(&r->deny[i], c, prog))
				return &r->deny[i];
		return NULL;
	}
	cmdpat_range(r->index->deny, r->index->ndeny, prog, &lo, &hi);
	for (i = lo; i < hi; i++)
		if (cmdpat_match_as(r->index->deny[i], c, prog))
			return r->index->deny[i];
	return NULL;
}

/*
 * The matching deny pattern, or NULL. A program named by a path is denied
 * by its name too: "/usr/bin/curl" and "./curl" are what "curl:*" is meant
 * to stop, while an allow never matches them (cmdpat_match).
 */
static const struct cmdpat *
cmdpat_find_deny(const struct cmdpat_rules *r, const struct shell_cmd *c)
{
	const struct cmdpat *p;
	const char *base;

	if (c->argc == 0)
		return NULL;
	if ((p = cmdpat_deny_as(r, c, c->argv[0].text)) != NULL ||
	    c->argv[0].flags != 0 ||
	    (base = strrchr(c->argv[0].text, '/')) == NULL || base[1] == '\0')
		return p;
	return cmdpat_deny_as(r, c, base + 1);
}

/* The best matching allow pattern, or NULL. */
static const struct cmdpat *
cmdpat_find_allow(const struct cmdpat_rules *r, const struct shell_cmd *c)
{
	const struct cmdpat *best = NULL;
	size_t i, lo, hi;

	if (r->index == NULL) {
		for (i = 0; i < r->nallow; i++)
			if (cmdpat_match(&r->allow[i], c) &&
			    cmdpat_better(&r->allow[i], best))
				best = &r->allow[i];
		return best;
	}
	cmdpat_range(r->index->allow, r->index->nallow, c->argv[0].text, &lo,
	    &hi);
	for (i = lo; i < hi; i++)
		if (cmdpat_match(r->index->allow[i], c) &&
		    cmdpat_better(r->index->allow[i], best))
			best = r->index->allow[i];
	return best;
}

static void
cmdpat_decide_one(const struct cmdpat_rules *r, const struct shell_cmd *c,
    int has_children, struct cmdpat_part *part)
{
	const struct cmdpat *best;

	if ((best = cmdpat_find_deny(r, c)) != NULL) {
		part->decision = CMDPAT_DENY;
		part->rule = best;
		part->reason = "matches a deny pattern";
		return;
	}
	if (has_children) {
		/* The commands it runs are decided on their own. */
		part->decision = CMDPAT_ALLOW;
		part->reason = "wrapper: the command it runs is decided";
		return;
	}
	if (c->argc == 0) {
		part->decision = CMDPAT_ALLOW;
		part->reason = "no program runs (assignment or redirect only)";
		return;
	}
	if ((c->flags & SHELL_C_OPAQUE) != 0 || c->argv[0].flags != 0) {
		part->decision = CMDPAT_PROMPT;
		part->reason = "what runs cannot be known before it runs";
		return;
	}
	if ((best = cmdpat_find_allow(r, c)) == NULL) {
		part->decision = r->runtime_expansion ? CMDPAT_PROMPT :
		    CMDPAT_DENY;
		part->reason = "no pattern matches";
		return;
	}
	part->rule = best;
	if (best->prompt) {
		part->decision = CMDPAT_PROMPT;
		part->reason = "the matching allow asks every time";
	} else if (cmdpat_needs_prompt(best, c)) {
		part->decision = CMDPAT_PROMPT;
		part->reason = "privilege escalation or inline code needs a "
		    "prompt";
	} else {
		part->decision = CMDPAT_ALLOW;
		part->reason = "matches an allow pattern";
	}
}

/*
 * One redirect under [security] redirects. Returns its decision and, when
 * it is not an allow, sets *reason and appends the detail to why.
 */
static enum cmdpat_decision
cmdpat_redirect(const struct cmdpat_rules *r, const struct shell_redir *rd,
    int cwd_moves, const char **reason, struct buf *why)
{
	enum cmdpat_decision d;
	int write;

	switch (rd->kind) {
	case SHELL_R_HEREDOC:
	case SHELL_R_HERESTRING:
		return CMDPAT_ALLOW;
	case SHELL_R_DUP:
	case SHELL_R_CLOSE:
	case SHELL_R_DEVNULL:
		if (r->redirects != CMDPAT_REDIR_NONE)
			return CMDPAT_ALLOW;
		*reason = "redirects are not allowed ([security] redirects = "
		    "\"none\")";
		buf_printf(why, "redirect %s%s", rd->op, rd->target.text);
		return CMDPAT_DENY;
	case SHELL_R_READ:
	case SHELL_R_WRITE:
		break;
	}
	write = rd->kind == SHELL_R_WRITE;
	buf_printf(why, "%s %s", write ? "write" : "read", rd->target.text);
	if (r->redirects != CMDPAT_REDIR_FILES) {
		*reason = "a redirect to a file needs [security] redirects = "
		    "\"files\"";
		return CMDPAT_DENY;
	}
	if (rd->target.flags != 0) {
		*reason = "the redirect's file is only known when it runs";
		return CMDPAT_PROMPT;
	}
	if (r->file == NULL) {
		*reason = "a redirect to a file is checked against the "
		    "project's paths";
		return CMDPAT_PROMPT;
	}
	/* A relative name is decided from the project root, which is only
	 * where it lands if nothing changed directory first. */
	if (cwd_moves && rd->target.text[0] != '/') {
		*reason = "the line changes directory: the redirect's file "
		    "cannot be known";
		return CMDPAT_PROMPT;
	}
	buf_puts(why, ": ");
	d = r->file(r->file_arg, rd->target.text, write, why);
	*reason = write ? "a redirect to a file is a write" :
	    "a redirect from a file is a read";
	return d;
}

/* Makes the part at least as strict as its redirects. */
static int
cmdpat_redirects(const struct cmdpat_rules *r, const struct shell_cmd *c,
    int cwd_moves, struct cmdpat_part *part)
{
	const char *reason = NULL;
	enum cmdpat_decision d;
	struct buf why;
	size_t i;

	for (i = 0; i < c->nredirs && part->decision != CMDPAT_DENY; i++) {
		buf_init(&why, 0);
		/* A detail cut short by ENOMEM is still a detail; the
		 * decision does not depend on it. */
		d = cmdpat_redirect(r, &c->redirs[i], cwd_moves, &reason,
		    &why);
		if (d > part->decision) {
			part->decision = d;
			part->rule = NULL;
			part->reason = reason;
			free(part->detail);
			part->detail = buf_take(&why);
			if (part->detail == NULL)
				return WARD_ENOMEM;
		} else
			buf_free(&why);
	}
	return 0;
}

/* A word a pattern can hold as it is. */
static int
cmdpat_word_ok(const struct shell_word *w)
{
	const char *s;

	if (w->flags != 0 || w->len == 0 || strlen(w->text) != w->len)
		return 0;
	for (s = w->text; *s != '\0'; s++)
		if (strchr(cmdpat_special, *s) != NULL ||
		    (s[0] == ':' && s[1] == '*'))
			return 0;
	return 1;
}

static char *
cmdpat_join(const struct shell_cmd *c, size_t n, int prefix)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		if ((i > 0 && buf_puts(&b, " ") != 0) ||
		    buf_add(&b, c->argv[i].text, c->argv[i].len) != 0)
			break;
	if (i < n || (prefix && buf_puts(&b, ":*") != 0)) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

int
cmdpat_suggest(const struct shell_cmd *c, struct cmdpat_suggest *s)
{
	size_t n, k, sub;
	int exact;

	memset(s, 0, sizeof(*s));
	for (n = 0; n < c->argc && cmdpat_word_ok(&c->argv[n]); n++)
		;
	if (n == 0)
		return 0;
	exact = n == c->argc && (c->flags & SHELL_C_OPEN_ARGS) == 0;
	if ((s->levels = calloc(n + 1, sizeof(*s->levels))) == NULL)
		return WARD_ENOMEM;
	for (k = 1; k <= n; k++)
		if ((s->levels[s->nlevels++] = cmdpat_join(c, k, 1)) == NULL)
			goto oom;
	if (exact && (s->levels[s->nlevels++] = cmdpat_join(c, n, 0)) ==
	    NULL)
		goto oom;
	/* Program plus subcommand: a second word that is neither an option
	 * nor a file name. Escalation and inline code get the narrowest
	 * level: a broad grant there grants everything. */
	sub = n >= 2 && c->argv[1].text[0] != '-' &&
	    strpbrk(c->argv[1].text, "./=") == NULL;
	if (cmdpat_in(c->argv[0].text, cmdpat_escalate) ||
	    cmdpat_in(c->argv[0].text, cmdpat_interp))
		s->recommended = s->nlevels - 1;
	else
		s->recommended = sub ? 1 : 0;
	return 0;
oom:
	cmdpat_suggest_clear(s);
	return WARD_ENOMEM;
}

void
cmdpat_suggest_clear(struct cmdpat_suggest *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nlevels; i++)
		free(s->levels[i]);
	free(s->levels);
	memset(s, 0, sizeof(*s));
}

int
cmdpat_decide_list(const struct cmdpat_rules *r, const struct shell_list *l,
    struct cmdpat_result *res)
{
	const struct shell_cmd *c;
	struct cmdpat_part *part;
	unsigned char *parent = NULL;
	size_t i, k, n, deciding = 0;
	char *w;
	int rc = 0, cwd_moves = 0;

	memset(res, 0, sizeof(*res));
	/* Every part's words in one allocation: a decision is on the path of
	 * every tool call, and twenty mallocs are most of its time. */
	for (n = 0, i = 0; i < l->ncmds; i++)
		for (k = 0, n++; k < l->cmds[i].argc; k++)
			n += l->cmds[i].argv[k].len + 1;
	if ((res->words = malloc(n + 1)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	if (l->ncmds > 0 && ((res->parts = calloc(l->ncmds,
	    sizeof(*res->parts))) == NULL || (parent = calloc(l->ncmds,
	    1)) == NULL)) {
		rc = WARD_ENOMEM;
		goto out;
	}
	/* Only a pure wrapper (env, timeout, sh -c ...) is looked through;
	 * find with -exec is decided itself as well. */
	for (i = 0; i < l->ncmds; i++) {
		c = &l->cmds[i];
		if (c->parent != SHELL_NOPARENT && c->parent < l->ncmds)
			parent[c->parent] = 1;
		if (c->argc > 0 && (c->argv[0].flags != 0 ||
		    cmdpat_in(c->argv[0].text, cmdpat_chdir) ||
		    cmdpat_chdir_wrapper(c)))
			cwd_moves = 1;
	}
	res->decision = CMDPAT_ALLOW;
	res->reason = "every part is allowed";
	w = res->words;
	for (i = 0; i < l->ncmds; i++) {
		c = &l->cmds[i];
		part = &res->parts[res->nparts++];
		part->command = w;
		for (k = 0; k < c->argc; k++) {
			if (k > 0)
				*w++ = ' ';
			memcpy(w, c->argv[k].text, c->argv[k].len);
			w += c->argv[k].len;
		}
		*w++ = '\0';
		cmdpat_decide_one(r, c, parent[i] &&
		    (c->flags & SHELL_C_WRAPPER) != 0, part);
		if ((rc = cmdpat_redirects(r, c, cwd_moves, part)) != 0)
			goto out;
		if (part->decision == CMDPAT_PROMPT &&
		    (rc = cmdpat_suggest(c, &part->suggest)) != 0)
			goto out;
		if (part->decision > res->decision ||
		    (part->decision == res->decision && res->rule == NULL)) {
			res->decision = part->decision;
			res->rule = part->rule;
			res->reason = part->reason;
			deciding = i;
		}
	}
	if (res->decision != CMDPAT_ALLOW)
		res->part = &res->parts[deciding];
	/* Constructs the manifest's [security] forbids deny the line. */
	if ((l->flags & r->forbid) != 0) {
		res->decision = CMDPAT_DENY;
		res->rule = NULL;
		res->part = NULL;
		res->reason = (l->flags & r->forbid & SHELL_L_PIPE) ?
		    "pipes are not allowed ([security] allow_pipes)" :
		    (l->flags & r->forbid & SHELL_L_COMPOUND) ?
		    "compound commands are not allowed ([security] "
		    "allow_compound)" : (l->flags & r->forbid &
		    SHELL_L_SUBSHELL) ? "subshells and substitutions are not "
		    "allowed ([security] allow_subshells)" :
		    "background commands are not allowed ([security] "
		    "allow_background)";
	}
	/* What was not fully understood is never allowed. */
	if ((l->flags & SHELL_L_UNPARSEABLE) != 0 &&
	    res->decision == CMDPAT_ALLOW) {
		res->decision = CMDPAT_PROMPT;
		res->rule = NULL;
		res->part = NULL;
		res->reason = "ward cannot fully parse this command";
	}
	if (res->nparts == 0 && res->decision == CMDPAT_ALLOW) {
		res->decision = CMDPAT_PROMPT;
		res->reason = "no command found";
	}
out:
	free(parent);
	if (rc != 0)
		cmdpat_result_clear(res);
	return rc;
}

int
cmdpat_decide(const struct cmdpat_rules *r, const char *cmd,
    struct cmdpat_result *res, struct buf *err)
{
	struct shell_list *l = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = shell_parse(cmd, strlen(cmd), &l, err)) != 0)
		return rc;
	if ((rc = shell_unwrap(l, err)) == 0)
		rc = cmdpat_decide_list(r, l, res);
	shell_list_free(l);
	return rc;
}

void
cmdpat_result_clear(struct cmdpat_result *res)
{
	size_t i;

	if (res == NULL)
		return;
	for (i = 0; i < res->nparts; i++) {
		free(res->parts[i].detail);
		cmdpat_suggest_clear(&res->parts[i].suggest);
	}
	free(res->parts);
	free(res->words);
	memset(res, 0, sizeof(*res));
}

/*
 * Command patterns and per-part decisions; see cmdpat.h. Deny beats allow;
 * among allows the most literal words win, an exact pattern beats a prefix
 * with the same words, and on a remaining tie the stricter rule (prompt)
 * wins, so the order of the lists never matters.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "cmdpat.h"

/* Programs a bare allow cannot grant: they run anything as anyone. */
static const char *const cmdpat_escalate[] = {
	"sudo", "doas", "su", "pkexec", "run0", NULL
};

/* Interpreters whose -c/-e runs code given on the command line. */
static const char *const cmdpat_interp[] = {
	"python", "python3", "python2", "perl", "ruby", "node", "php", "lua",
	"sh", "bash", "dash", "zsh", "ksh", "osascript", NULL
};

const char *
cmdpat_name(enum cmdpat_decision d)
{
	return d == CMDPAT_ALLOW ? "allow" : d == CMDPAT_PROMPT ? "prompt" :
	    "deny";
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
			if (strchr("'\"\\$`*?[]{}~;|&<>()\t\n#", *e) != NULL ||
			    (*e == ':' && e + 1 < end && e[1] == '*')) {
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
		buf_printf(err, "command pattern '%s' names no command", text);
		rc = WARD_EINVAL;
	}
out:
	if (rc != 0)
		cmdpat_clear(p);
	return rc;
}

int
cmdpat_match(const struct cmdpat *p, const struct shell_cmd *c)
{
	size_t i;

	if (c->argc < p->nwords)
		return 0;
	if (p->exact && (c->argc != p->nwords ||
	    (c->flags & SHELL_C_OPEN_ARGS) != 0))
		return 0;
	for (i = 0; i < p->nwords; i++)
		if (c->argv[i].flags != 0 ||
		    strcmp(c->argv[i].text, p->words[i]) != 0)
			return 0;
	return 1;
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

static int
cmdpat_in(const char *w, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(w, list[i]) == 0)
			return 1;
	return 0;
}

/* A silent allow is not enough for escalation or inline code. */
static int
cmdpat_needs_prompt(const struct shell_cmd *c)
{
	const char *prog = c->argv[0].text;
	size_t i;

	if (cmdpat_in(prog, cmdpat_escalate))
		return 1;
	if (!cmdpat_in(prog, cmdpat_interp))
		return 0;
	for (i = 1; i < c->argc; i++)
		if (strcmp(c->argv[i].text, "-c") == 0 ||
		    strcmp(c->argv[i].text, "-e") == 0 ||
		    strcmp(c->argv[i].text, "-") == 0)
			return 1;
	return 0;
}

static void
cmdpat_decide_one(const struct cmdpat_rules *r, const struct shell_cmd *c,
    int has_children, struct cmdpat_part *part)
{
	const struct cmdpat *best = NULL;
	size_t i;

	for (i = 0; i < r->ndeny; i++)
		if (cmdpat_match(&r->deny[i], c)) {
			part->decision = CMDPAT_DENY;
			part->rule = &r->deny[i];
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
	for (i = 0; i < r->nallow; i++)
		if (cmdpat_match(&r->allow[i], c) &&
		    cmdpat_better(&r->allow[i], best))
			best = &r->allow[i];
	if (best == NULL) {
		part->decision = r->runtime_expansion ? CMDPAT_PROMPT :
		    CMDPAT_DENY;
		part->reason = "no pattern matches";
		return;
	}
	part->rule = best;
	if (best->prompt) {
		part->decision = CMDPAT_PROMPT;
		part->reason = "the matching allow asks every time";
	} else if (cmdpat_needs_prompt(c)) {
		part->decision = CMDPAT_PROMPT;
		part->reason = "privilege escalation or inline code needs a "
		    "prompt";
	} else {
		part->decision = CMDPAT_ALLOW;
		part->reason = "matches an allow pattern";
	}
}

static char *
cmdpat_words(const struct shell_cmd *c)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < c->argc; i++)
		if ((i > 0 && buf_puts(&b, " ") != 0) ||
		    buf_add(&b, c->argv[i].text, c->argv[i].len) != 0) {
			buf_free(&b);
			return NULL;
		}
	return buf_take(&b);
}

int
cmdpat_decide(const struct cmdpat_rules *r, const char *cmd,
    struct cmdpat_result *res, struct buf *err)
{
	struct shell_list *l = NULL;
	struct cmdpat_part *part;
	size_t i, k;
	int rc, children;

	memset(res, 0, sizeof(*res));
	if ((rc = shell_parse(cmd, strlen(cmd), &l, err)) != 0)
		return rc;
	if ((rc = shell_unwrap(l, err)) != 0)
		goto out;
	if (l->ncmds > 0 && (res->parts = calloc(l->ncmds,
	    sizeof(*res->parts))) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	res->decision = CMDPAT_ALLOW;
	res->reason = "every part is allowed";
	for (i = 0; i < l->ncmds; i++) {
		/* Only a pure wrapper (env, timeout, sh -c ...) is looked
		 * through; find with -exec is decided itself as well. */
		for (children = 0, k = 0; k < l->ncmds && !children; k++)
			children = l->cmds[k].parent == i;
		children = children &&
		    (l->cmds[i].flags & SHELL_C_WRAPPER) != 0;
		part = &res->parts[res->nparts++];
		if ((part->command = cmdpat_words(&l->cmds[i])) == NULL) {
			rc = WARD_ENOMEM;
			goto out;
		}
		cmdpat_decide_one(r, &l->cmds[i], children, part);
		if (part->decision > res->decision ||
		    (part->decision == res->decision && res->rule == NULL)) {
			res->decision = part->decision;
			res->rule = part->rule;
			res->reason = part->reason;
		}
	}
	/* Constructs the manifest's [security] forbids deny the line. */
	if ((l->flags & r->forbid) != 0) {
		res->decision = CMDPAT_DENY;
		res->rule = NULL;
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
		res->reason = "ward cannot fully parse this command";
	}
	if (res->nparts == 0 && res->decision == CMDPAT_ALLOW) {
		res->decision = CMDPAT_PROMPT;
		res->reason = "no command found";
	}
out:
	if (rc != 0)
		cmdpat_result_clear(res);
	shell_list_free(l);
	return rc;
}

void
cmdpat_result_clear(struct cmdpat_result *res)
{
	size_t i;

	if (res == NULL)
		return;
	for (i = 0; i < res->nparts; i++)
		free(res->parts[i].command);
	free(res->parts);
	memset(res, 0, sizeof(*res));
}

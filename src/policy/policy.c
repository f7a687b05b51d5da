/*
 * One manifest bound to one project root; see policy.h. This is glue:
 * the decisions themselves are cmdpat's, pathpat's and hostpat's.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "hostpat.h"
#include "policy.h"

struct policy {
	char			*root;
	char			*rroot;		/* its real path, once */
	struct pathpat_own	*own;		/* ward's directories, once;
						   NULL: per decision */
	struct manifest		*m;
	struct cmdpat_rules	 rules;
};

/* A redirect's file, decided as the read or write it is. An error is a
 * deny: a decision that cannot be made is not an allow. */
static enum cmdpat_decision
policy_file(void *arg, const char *path, int write, struct buf *why)
{
	const struct policy *p = arg;
	struct pathpat_result res;
	struct buf err;
	int rc;

	buf_init(&err, 0);
	rc = pathpat_decide_in(p->m, p->root, p->rroot, p->own, path, write ?
	    PATHPAT_WRITE : PATHPAT_READ, &res, &err);
	if (rc != 0) {
		buf_printf(why, "cannot decide: %s", err.data ? err.data :
		    ward_strerror(rc));
		buf_free(&err);
		return CMDPAT_DENY;
	}
	buf_free(&err);
	buf_puts(why, res.rule);
	rc = res.allow;
	pathpat_result_clear(&res);
	return rc ? CMDPAT_ALLOW : CMDPAT_DENY;
}

int
policy_new(const char *root, struct manifest *m, struct policy **out)
{
	struct policy *p;
	struct stat st;

	*out = NULL;
	if (root == NULL || root[0] != '/') {
		manifest_free(m);
		return WARD_EINVAL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->root = strdup(root)) == NULL) {
		free(p);
		manifest_free(m);
		return WARD_ENOMEM;
	}
	p->m = m;
	/* Resolved once: every path decision needs it (NULL: each decision
	 * resolves it and reports what is wrong with it). */
	if ((p->rroot = realpath(root, NULL)) != NULL &&
	    (stat(p->rroot, &st) == -1 || !S_ISDIR(st.st_mode))) {
		free(p->rroot);
		p->rroot = NULL;
	}
	/* The same for ward's own directories (a stat and a readlink per
	 * component of each, on every decision otherwise). */
	if ((p->own = malloc(sizeof(*p->own))) != NULL &&
	    pathpat_own_init(p->own, NULL) != 0) {
		free(p->own);
		p->own = NULL;
	}
	manifest_cmdrules(m, &p->rules);
	p->rules.file = policy_file;
	p->rules.file_arg = p;
	*out = p;
	return 0;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	manifest_free(p->m);
	free(p->root);
	free(p->rroot);
	free(p->own);
	free(p);
}

const struct manifest *
policy_manifest(const struct policy *p)
{
	return p->m;
}

int
policy_command(const struct policy *p, const char *cmd,
    struct cmdpat_result *res, struct buf *err)
{
	const struct manifest *m = p->m;
	struct cmdpat_part *pt;
	size_t i;
	int rc;

	if ((rc = cmdpat_decide(&p->rules, cmd, res, err)) != 0)
		return rc;
	/* approve = "each" (deploys, pushes): the user answers every time,
	 * whatever the pattern says; ward run cannot, so it is a deny. */
	for (i = 0; i < res->nparts; i++) {
		pt = &res->parts[i];
		if (pt->decision != CMDPAT_ALLOW || pt->rule < m->allow ||
		    pt->rule >= m->allow + m->nallow ||
		    !m->grants[pt->rule - m->allow].approve_each)
			continue;
		pt->decision = CMDPAT_PROMPT;
		pt->reason = "its grant asks every time (approve = \"each\")";
		if (res->decision == CMDPAT_ALLOW) {
			res->decision = CMDPAT_PROMPT;
			res->rule = pt->rule;
			res->reason = pt->reason;
			res->part = pt;
		}
	}
	return 0;
}

int
policy_path(const struct policy *p, const char *path, enum pathpat_op op,
    struct pathpat_result *res, struct buf *err)
{
	return pathpat_decide_in(p->m, p->root, p->rroot, p->own, path, op,
	    res, err);
}

/* Fills res; the rule is rule's text (rule may be NULL, and is emptied). */
static int
policy_host_set(struct policy_host_result *res, enum cmdpat_decision d,
    const char *reason, struct buf *rule)
{
	res->decision = d;
	res->reason = reason;
	if (rule == NULL)
		return 0;
	if (rule->data == NULL || (res->rule = buf_take(rule)) == NULL) {
		buf_free(rule);
		return WARD_ENOMEM;
	}
	return 0;
}

/* The first pattern of list that host matches, or NULL. */
static const char *
policy_host_in(const struct manifest_strs *list, const char *host)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (hostpat_match(list->v[i], host, strlen(host)))
			return list->v[i];
	return NULL;
}

int
policy_host(const struct policy *p, const char *host, const char *cmd,
    struct policy_host_result *res, struct buf *err)
{
	const struct manifest *m = p->m;
	const struct manifest_grant *g;
	struct cmdpat_result cr;
	const char *hit;
	char canon[HOSTPAT_MAX + 1];
	struct buf rule;
	size_t i;
	int rc, defaults = 0;

	memset(res, 0, sizeof(*res));
	buf_init(&rule, 0);
	if (hostpat_canon(host, strlen(host), canon, NULL) != 0)
		return policy_host_set(res, CMDPAT_DENY, "not a valid host "
		    "name (IDN names must be given in punycode)", NULL);
	if ((rc = policy_command(p, cmd, &cr, err)) != 0)
		return rc;
	if (cr.decision == CMDPAT_DENY) {
		rc = policy_host_set(res, CMDPAT_DENY, "the command is denied",
		    NULL);
		goto out;
	}
	if ((hit = policy_host_in(&m->deny_domains, canon)) != NULL) {
		buf_printf(&rule, "deny.commands domains \"%s\"", hit);
		rc = policy_host_set(res, CMDPAT_DENY, "the host is denied",
		    &rule);
		goto out;
	}
	for (i = 0; i < cr.nparts; i++) {
		if (cr.parts[i].rule < m->allow ||
		    cr.parts[i].rule >= m->allow + m->nallow) {
			/* No pattern: what a new bare allow for it would
			 * get. (An allowed part with no rule is a wrapper
			 * or an assignment; it reaches nothing itself.) */
			if (cr.parts[i].decision != CMDPAT_ALLOW)
				defaults = 1;
			continue;
		}
		g = &m->grants[cr.parts[i].rule - m->allow];
		if ((hit = policy_host_in(&g->domains, canon)) != NULL) {
			buf_printf(&rule, "allow.commands \"%s\" domains "
			    "\"%s\"", cr.parts[i].rule->text, hit);
			rc = policy_host_set(res, CMDPAT_ALLOW, "a grant of "
			    "the command names the host", &rule);
			goto out;
		}
		defaults |= g->inherit_default_domains;
	}
	if (defaults && (hit = policy_host_in(&m->default_domains, canon)) !=
	    NULL) {
		buf_printf(&rule, "allow.commands default_domains \"%s\"",
		    hit);
		rc = policy_host_set(res, CMDPAT_ALLOW, "the host is one of "
		    "default_domains", &rule);
		goto out;
	}
	rc = policy_host_set(res, CMDPAT_DENY, "no grant of the command names "
	    "the host", NULL);
out:
	cmdpat_result_clear(&cr);
	return rc;
}

void
policy_host_result_clear(struct policy_host_result *res)
{
	if (res == NULL)
		return;
	free(res->rule);
	memset(res, 0, sizeof(*res));
}

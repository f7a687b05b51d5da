/*
 * Reads ward.toml (DESIGN §3) into struct manifest. Every table is checked
 * against the list of keys it may hold before any value is read, so a typo
 * ("promt = true") is reported with its position and the key that was
 * probably meant instead of quietly granting or withholding something.
 * The first error ends the load: one precise message beats a cascade.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/err.h"
#include "hostpat.h"
#include "manifest.h"
#include "pathpat.h"
#include "toml.h"
#include "../vault/vault.h"

struct manifest_ctx {
	const char	*file;
	struct buf	*err;
};

/* The kinds of string list; each is checked differently. */
enum manifest_list { MANIFEST_LIST_ANY, MANIFEST_LIST_HOST,
    MANIFEST_LIST_ENV, MANIFEST_LIST_ENV_PLAIN, MANIFEST_LIST_SECRET };

static const char *const manifest_providers[] = { "anthropic", "openai",
    "openrouter", "openai-compatible", "script", NULL };
static const char *const manifest_fs_names[] = { "none", "system",
    "permissive", "all", NULL };
static const char *const manifest_redir_names[] = { "none", "merge",
    "files", NULL };

static int
manifest_err(struct manifest_ctx *c, const struct toml_node *n,
    const struct toml_span *sp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends "FILE:LINE:COL: message" (position from sp, else from n). */
static int
manifest_err(struct manifest_ctx *c, const struct toml_node *n,
    const struct toml_span *sp, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	if (sp == NULL)
		sp = toml_span(n);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err != NULL)
		buf_printf(c->err, "%s:%u:%u: %s", c->file,
		    (unsigned)(sp->line ? sp->line : 1),
		    (unsigned)(sp->col ? sp->col : 1), msg);
	return WARD_EINVAL;
}

/* Edit distance counting a swap of neighbours as one edit (the commonest
 * typo), capped: keys are short, and anything longer is no typo of one. */
static size_t
manifest_distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), r0[64], r1[64], r2[64], i, j, d;

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		r1[j] = j;
	r0[0] = 0;
	for (i = 1; i <= la; i++) {
		r2[0] = i;
		for (j = 1; j <= lb; j++) {
			d = r1[j - 1] + (a[i - 1] != b[j - 1]);
			if (r1[j] + 1 < d)
				d = r1[j] + 1;
			if (r2[j - 1] + 1 < d)
				d = r2[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && r0[j - 2] + 1 < d)
				d = r0[j - 2] + 1;
			r2[j] = d;
		}
		memcpy(r0, r1, sizeof(r0));
		memcpy(r1, r2, sizeof(r1));
	}
	return r1[lb];
}

/* Fails on the first key of tab that is not in names (NULL-terminated),
 * suggesting the nearest one when it is close enough to be a typo. */
static int
manifest_keys(struct manifest_ctx *c, const struct toml_node *tab,
    const char *section, const char *const *names)
{
	const struct toml_key *k;
	const char *near;
	size_t i, j, d, bestd;

	for (i = 0; i < toml_len(tab); i++) {
		k = toml_key(tab, i);
		for (j = 0; names[j] != NULL; j++)
			if (strlen(names[j]) == k->len &&
			    memcmp(names[j], k->name, k->len) == 0)
				break;
		if (names[j] != NULL)
			continue;
		near = NULL;
		bestd = SIZE_MAX;
		for (j = 0; names[j] != NULL; j++) {
			d = manifest_distance(k->name, k->len, names[j]);
			if (d < bestd) {
				bestd = d;
				near = names[j];
			}
		}
		/* Only a likely typo: at most 2 edits, and not most of it. */
		if (near != NULL && bestd <= 2 && bestd * 3 <= k->len)
			return manifest_err(c, NULL, &k->span,
			    "unknown key '%.*s' in %s; did you mean '%s'?",
			    (int)k->len, k->name, section, near);
		return manifest_err(c, NULL, &k->span,
		    "unknown key '%.*s' in %s", (int)k->len, k->name,
		    section);
	}
	return 0;
}

static int
manifest_type(struct manifest_ctx *c, const struct toml_node *n,
    const char *section, const char *key, const char *want)
{
	return manifest_err(c, n, NULL, "%s %s must be %s, not %s", section,
	    key, want, toml_type_name(toml_type(n)));
}

/* *out is the sub-table key of tab, or NULL when absent. */
static int
manifest_table(struct manifest_ctx *c, const struct toml_node *tab,
    const char *key, const char *section, const struct toml_node **out)
{
	const struct toml_node *n = toml_get(tab, key);

	*out = NULL;
	if (n == NULL)
		return 0;
	if (toml_type(n) != TOML_TABLE)
		return manifest_type(c, n, section, key, "a table");
	*out = n;
	return 0;
}

/* A positive integer; *v is untouched when the key is absent. */
static int
manifest_posint(struct manifest_ctx *c, const struct toml_node *tab,
    const char *key, const char *section, int64_t *v)
{
	const struct toml_node *n = toml_get(tab, key);
	int64_t x;

	if (n == NULL)
		return 0;
	if (toml_int(n, &x) != 0)
		return manifest_type(c, n, section, key, "an integer");
	if (x <= 0)
		return manifest_err(c, n, NULL, "%s %s must be greater than "
		    "0", section, key);
	*v = x;
	return 0;
}

static int
manifest_bool(struct manifest_ctx *c, const struct toml_node *tab,
    const char *key, const char *section, int *v)
{
	const struct toml_node *n = toml_get(tab, key);

	if (n == NULL)
		return 0;
	if (toml_bool(n, v) != 0)
		return manifest_type(c, n, section, key, "true or false");
	return 0;
}

/* A string without NUL bytes (they would silently cut it short in C). */
static int
manifest_strnode(struct manifest_ctx *c, const struct toml_node *n,
    const char *section, const char *key, const char **s)
{
	size_t len;

	if ((*s = toml_str(n, &len)) == NULL)
		return manifest_type(c, n, section, key, "a string");
	if (strlen(*s) != len)
		return manifest_err(c, n, NULL, "%s %s must not contain NUL",
		    section, key);
	return 0;
}

static int
manifest_string(struct manifest_ctx *c, const struct toml_node *tab,
    const char *key, const char *section, char **v)
{
	const struct toml_node *n = toml_get(tab, key);
	const char *s;
	int rc;

	if (n == NULL)
		return 0;
	if ((rc = manifest_strnode(c, n, section, key, &s)) != 0)
		return rc;
	free(*v);
	if ((*v = strdup(s)) == NULL)
		return WARD_ENOMEM;
	return 0;
}

static int
manifest_enum(struct manifest_ctx *c, const struct toml_node *tab,
    const char *key, const char *section, const char *const *names,
    int base, int *v)
{
	const struct toml_node *n = toml_get(tab, key);
	const char *s;
	char all[128] = "";
	size_t i, len;
	int rc;

	if (n == NULL)
		return 0;
	if ((rc = manifest_strnode(c, n, section, key, &s)) != 0)
		return rc;
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(s, names[i]) == 0) {
			*v = base + (int)i;
			return 0;
		}
		len = strlen(all);
		snprintf(all + len, sizeof(all) - len, "%s%s",
		    i > 0 ? " | " : "", names[i]);
	}
	return manifest_err(c, n, NULL, "%s %s: '%s' is not one of %s",
	    section, key, s, all);
}

static int
manifest_envname(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	    s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/*
 * A vault name (vault_name_ok's rule: [A-Z_][A-Z0-9_]*, at most
 * VAULT_NAME_MAX bytes), checked here so that a grant naming a secret
 * that can never exist fails when the manifest loads, not when the command
 * runs. Kept apart from vault.c so the policy does not link the vault.
 */
static int
manifest_secretname(const char *s)
{
	size_t i;

	if (s[0] == '\0' || strlen(s) > VAULT_NAME_MAX ||
	    (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static void
manifest_strs_free(struct manifest_strs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* An array of strings, each checked as kind says. */
/*
 * Whether a variable's name says it holds a credential (*_KEY, *_TOKEN,
 * *_SECRET, *PASSWORD*, ...; any case). Such a variable reaches only the
 * commands whose grant names it (DESIGN §2: credentials come from the
 * vault), so default_env_vars, which every command gets, refuses it.
 */
static int
manifest_credential_name(const char *name)
{
	static const char *const ends[] = { "_KEY", "_TOKEN", "_SECRET",
	    "_PAT", "_PASS", "_PASSWD", "_PWD_HASH", "_CREDENTIALS",
	    "_APIKEY", "_AUTH" };
	static const char *const anywhere[] = { "PASSWORD", "PASSWD",
	    "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL", "SECRET_",
	    "_TOKEN_", "ACCESS_KEY" };
	static const char *const exact[] = { "TOKEN", "SECRET", "PASSWORD" };
	size_t i, n = strlen(name), k;

	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		k = strlen(ends[i]);
		if (n >= k && strcasecmp(name + n - k, ends[i]) == 0)
			return 1;
	}
	for (i = 0; i < sizeof(anywhere) / sizeof(anywhere[0]); i++)
		if (strcasestr(name, anywhere[i]) != NULL)
			return 1;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcasecmp(name, exact[i]) == 0)
			return 1;
	return 0;
}

static int
manifest_strlist(struct manifest_ctx *c, const struct toml_node *tab,
    const char *key, const char *section, enum manifest_list kind,
    struct manifest_strs *out)
{
	const struct toml_node *n = toml_get(tab, key), *e;
	struct buf why;
	const char *s;
	size_t i;
	int rc = 0;

	buf_init(&why, 0);
	if (n == NULL)
		goto out;
	if (toml_type(n) != TOML_ARRAY) {
		rc = manifest_type(c, n, section, key, "an array of strings");
		goto out;
	}
	manifest_strs_free(out);
	if (toml_len(n) == 0)
		goto out;
	if ((out->v = calloc(toml_len(n), sizeof(*out->v))) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	for (i = 0; i < toml_len(n); i++) {
		e = toml_at(n, i);
		if (toml_type(e) != TOML_STRING) {
			rc = manifest_type(c, e, section, key,
			    "an array of strings; this element");
			goto out;
		}
		if ((rc = manifest_strnode(c, e, section, key, &s)) != 0)
			goto out;
		if (kind == MANIFEST_LIST_HOST && hostpat_valid(s, &why) != 0) {
			rc = manifest_err(c, e, NULL, "%s %s: bad domain "
			    "'%s': %s", section, key, s,
			    why.data ? why.data : "invalid");
			goto out;
		}
		if (kind == MANIFEST_LIST_ENV_PLAIN &&
		    manifest_credential_name(s)) {
			rc = manifest_err(c, e, NULL, "%s %s: '%s' looks like "
			    "a credential: every command would get it; name "
			    "it in the env_vars of the grant that needs it, or "
			    "keep it in the vault (ward secret set) and name "
			    "it in that grant's secrets", section, key, s);
			goto out;
		}
		if ((kind == MANIFEST_LIST_ENV ||
		    kind == MANIFEST_LIST_ENV_PLAIN) && !manifest_envname(s)) {
			rc = manifest_err(c, e, NULL, "%s %s: '%s' is not an "
			    "environment variable name", section, key, s);
			goto out;
		}
		if (kind == MANIFEST_LIST_SECRET && !manifest_secretname(s)) {
			rc = manifest_err(c, e, NULL, "%s %s: '%s' is not a "
			    "vault secret name ([A-Z_][A-Z0-9_]*, at most %d "
			    "bytes, as `ward secret set` takes)", section, key,
			    s, VAULT_NAME_MAX);
			goto out;
		}
		if ((out->v[out->n] = strdup(s)) == NULL) {
			rc = WARD_ENOMEM;
			goto out;
		}
		out->n++;
	}
out:
	buf_free(&why);
	return rc;
}

static void
manifest_files_free(struct manifest_files *f)
{
	size_t i;

	manifest_strs_free(&f->default_files);
	for (i = 0; i < f->npaths; i++) {
		free(f->paths[i].path);
		manifest_strs_free(&f->paths[i].files);
	}
	free(f->paths);
	f->paths = NULL;
	f->npaths = 0;
	manifest_strs_free(&f->additional_directories);
}

/* [capabilities.allow|deny.read|write]; name is "allow.read" etc. */
static int
manifest_files(struct manifest_ctx *c, const struct toml_node *parent,
    const char *which, const char *name, struct manifest_files *f)
{
	static const char *const keys[] = { "default_files", "paths",
	    "additional_directories", NULL };
	static const char *const pkeys[] = { "path", "files", NULL };
	const struct toml_node *tab, *paths, *e;
	struct manifest_path *p;
	char sec[64], psec[80];
	const char *s;
	size_t i;
	int rc;

	snprintf(sec, sizeof(sec), "[capabilities.%s]", name);
	snprintf(psec, sizeof(psec), "[capabilities.%s.paths]", name);
	if ((rc = manifest_table(c, parent, which, sec, &tab)) != 0 ||
	    tab == NULL)
		return rc;
	if ((rc = manifest_keys(c, tab, sec, keys)) != 0 ||
	    (rc = manifest_strlist(c, tab, "default_files", sec,
	    MANIFEST_LIST_ANY, &f->default_files)) != 0 ||
	    (rc = manifest_strlist(c, tab, "additional_directories", sec,
	    MANIFEST_LIST_ANY, &f->additional_directories)) != 0)
		return rc;
	if ((paths = toml_get(tab, "paths")) == NULL)
		return 0;
	if (toml_type(paths) != TOML_ARRAY)
		return manifest_type(c, paths, sec, "paths", "an array");
	if (toml_len(paths) == 0)
		return 0;
	if ((f->paths = calloc(toml_len(paths), sizeof(*f->paths))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < toml_len(paths); i++) {
		e = toml_at(paths, i);
		p = &f->paths[f->npaths];
		if (toml_type(e) == TOML_STRING) {
			if ((rc = manifest_strnode(c, e, sec, "paths",
			    &s)) != 0)
				return rc;
			if ((p->path = strdup(s)) == NULL)
				return WARD_ENOMEM;
			f->npaths++;
			continue;
		}
		if (toml_type(e) != TOML_TABLE)
			return manifest_type(c, e, sec, "paths element",
			    "a string or a table { path, files }");
		f->npaths++;
		if ((rc = manifest_keys(c, e, psec, pkeys)) != 0 ||
		    (rc = manifest_string(c, e, "path", psec,
		    &p->path)) != 0 ||
		    (rc = manifest_strlist(c, e, "files", psec,
		    MANIFEST_LIST_ANY, &p->files)) != 0)
			return rc;
		if (p->path == NULL)
			return manifest_err(c, e, NULL, "%s needs a path",
			    psec);
		p->has_files = toml_get(e, "files") != NULL;
	}
	return 0;
}

static int
manifest_pattern(struct manifest_ctx *c, const struct toml_node *n,
    const char *text, int prompt, const char *section, struct cmdpat *p)
{
	struct buf why;
	int rc;

	buf_init(&why, 0);
	if ((rc = cmdpat_parse(text, prompt, p, &why)) != 0) {
		if (rc == WARD_EINVAL)
			rc = manifest_err(c, n, NULL, "%s patterns: bad "
			    "pattern '%s': %s", section, text,
			    why.data ? why.data : "invalid");
		memset(p, 0, sizeof(*p));
	}
	buf_free(&why);
	return rc;
}

static void
manifest_grant_free(struct manifest_grant *g)
{
	manifest_strs_free(&g->paths);
	manifest_strs_free(&g->env_vars);
	manifest_strs_free(&g->domains);
	manifest_strs_free(&g->secrets);
}

/* One allow pattern: a string, or a table with what it grants. */
static int
manifest_allow_one(struct manifest_ctx *c, const struct toml_node *e,
    struct manifest_grant *g, struct cmdpat *p)
{
	static const char *const sec = "[capabilities.allow.commands]";
	static const char *const psec =
	    "[capabilities.allow.commands.patterns]";
	static const char *const pkeys[] = { "command", "prompt", "paths",
	    "env_vars", "domains", "inherit_default_domains", "secrets",
	    "approve", NULL };
	static const char *const approves[] = { "each", NULL };
	const struct toml_node *cmd = e;
	const char *s;
	int rc, prompt = 0;

	g->inherit_default_domains = 1;
	if (toml_type(e) == TOML_TABLE) {
		if ((rc = manifest_keys(c, e, psec, pkeys)) != 0)
			return rc;
		if ((cmd = toml_get(e, "command")) == NULL)
			return manifest_err(c, e, NULL, "%s: a table needs "
			    "command", psec);
		if ((rc = manifest_bool(c, e, "prompt", psec, &prompt)) != 0 ||
		    (rc = manifest_bool(c, e, "inherit_default_domains", psec,
		    &g->inherit_default_domains)) != 0 ||
		    (rc = manifest_strlist(c, e, "paths", psec,
		    MANIFEST_LIST_ANY, &g->paths)) != 0 ||
		    (rc = manifest_strlist(c, e, "env_vars", psec,
		    MANIFEST_LIST_ENV, &g->env_vars)) != 0 ||
		    (rc = manifest_strlist(c, e, "domains", psec,
		    MANIFEST_LIST_HOST, &g->domains)) != 0 ||
		    (rc = manifest_strlist(c, e, "secrets", psec,
		    MANIFEST_LIST_SECRET, &g->secrets)) != 0 ||
		    (rc = manifest_enum(c, e, "approve", psec, approves, 1,
		    &g->approve_each)) != 0)
			return rc;
	} else if (toml_type(e) != TOML_STRING)
		return manifest_type(c, e, sec, "patterns element",
		    "a string or a table { command, ... }");
	if ((rc = manifest_strnode(c, cmd, psec, "command", &s)) != 0)
		return rc;
	return manifest_pattern(c, cmd, s, prompt, sec, p);
}

/* [capabilities.allow.commands] patterns: strings or tables. */
static int
manifest_allow_patterns(struct manifest_ctx *c, const struct toml_node *tab,
    struct manifest *m)
{
	static const char *const sec = "[capabilities.allow.commands]";
	const struct toml_node *pats, *e;
	struct manifest_grant *g;
	size_t i, n;
	int rc;

	if ((pats = toml_get(tab, "patterns")) == NULL)
		return 0;
	if (toml_type(pats) != TOML_ARRAY)
		return manifest_type(c, pats, sec, "patterns", "an array");
	if ((n = toml_len(pats)) == 0)
		return 0;
	if ((m->allow = calloc(n, sizeof(*m->allow))) == NULL ||
	    (m->grants = calloc(n, sizeof(*m->grants))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < n; i++) {
		e = toml_at(pats, i);
		g = &m->grants[i];
		/* Only complete entries are counted in nallow: free a
		 * half-filled one here. */
		if ((rc = manifest_allow_one(c, e, g, &m->allow[i])) != 0) {
			manifest_grant_free(g);
			return rc;
		}
		m->nallow++;
	}
	return 0;
}

static int
manifest_commands(struct manifest_ctx *c, const struct toml_node *allow,
    const struct toml_node *deny, struct manifest *m)
{
	static const char *const akeys[] = { "default_domains",
	    "default_env_vars", "patterns", NULL };
	static const char *const dkeys[] = { "patterns", "domains",
	    "env_vars", NULL };
	static const char *const asec = "[capabilities.allow.commands]";
	static const char *const dsec = "[capabilities.deny.commands]";
	const struct toml_node *tab, *pats, *e;
	const char *s;
	size_t i;
	int rc;

	if ((rc = manifest_table(c, allow, "commands", asec, &tab)) != 0)
		return rc;
	if (tab != NULL && ((rc = manifest_keys(c, tab, asec, akeys)) != 0 ||
	    (rc = manifest_strlist(c, tab, "default_domains", asec,
	    MANIFEST_LIST_HOST, &m->default_domains)) != 0 ||
	    (rc = manifest_strlist(c, tab, "default_env_vars", asec,
	    MANIFEST_LIST_ENV_PLAIN, &m->default_env_vars)) != 0 ||
	    (rc = manifest_allow_patterns(c, tab, m)) != 0))
		return rc;

	if ((rc = manifest_table(c, deny, "commands", dsec, &tab)) != 0 ||
	    tab == NULL)
		return rc;
	if ((rc = manifest_keys(c, tab, dsec, dkeys)) != 0 ||
	    (rc = manifest_strlist(c, tab, "domains", dsec,
	    MANIFEST_LIST_HOST, &m->deny_domains)) != 0 ||
	    (rc = manifest_strlist(c, tab, "env_vars", dsec,
	    MANIFEST_LIST_ENV, &m->deny_env_vars)) != 0)
		return rc;
	if ((pats = toml_get(tab, "patterns")) == NULL)
		return 0;
	if (toml_type(pats) != TOML_ARRAY)
		return manifest_type(c, pats, dsec, "patterns",
		    "an array of strings");
	if (toml_len(pats) == 0)
		return 0;
	if ((m->deny = calloc(toml_len(pats), sizeof(*m->deny))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < toml_len(pats); i++) {
		e = toml_at(pats, i);
		/* A deny has nothing to qualify: a bare string only. */
		if ((rc = manifest_strnode(c, e, dsec, "patterns element",
		    &s)) != 0 ||
		    (rc = manifest_pattern(c, e, s, 0, dsec,
		    &m->deny[i])) != 0)
			return rc;
		m->ndeny++;
	}
	return 0;
}

static int
manifest_capabilities(struct manifest_ctx *c, const struct toml_node *root,
    struct manifest *m)
{
	static const char *const keys[] = { "allow", "deny", NULL };
	static const char *const akeys[] = { "read", "write", "commands",
	    NULL };
	const struct toml_node *caps, *allow, *deny;
	int rc;

	if ((rc = manifest_table(c, root, "capabilities", "the top level",
	    &caps)) != 0 || caps == NULL)
		return rc;
	if ((rc = manifest_keys(c, caps, "[capabilities]", keys)) != 0 ||
	    (rc = manifest_table(c, caps, "allow", "[capabilities]",
	    &allow)) != 0 ||
	    (rc = manifest_table(c, caps, "deny", "[capabilities]",
	    &deny)) != 0)
		return rc;
	if ((allow != NULL && (rc = manifest_keys(c, allow,
	    "[capabilities.allow]", akeys)) != 0) ||
	    (deny != NULL && (rc = manifest_keys(c, deny,
	    "[capabilities.deny]", akeys)) != 0))
		return rc;
	if ((rc = manifest_files(c, allow, "read", "allow.read",
	    &m->allow_read)) != 0 ||
	    (rc = manifest_files(c, allow, "write", "allow.write",
	    &m->allow_write)) != 0 ||
	    (rc = manifest_files(c, deny, "read", "deny.read",
	    &m->deny_read)) != 0 ||
	    (rc = manifest_files(c, deny, "write", "deny.write",
	    &m->deny_write)) != 0)
		return rc;
	return manifest_commands(c, allow, deny, m);
}

static int
manifest_model(struct manifest_ctx *c, const struct toml_node *root,
    struct manifest *m)
{
	static const char *const keys[] = { "provider", "name", "base_url",
	    "max_tokens", "context_length", "headers", NULL };
	static const char *const sec = "[model]";
	const struct toml_node *tab, *hdrs;
	struct manifest_header *h;
	const struct toml_key *k;
	const char *s;
	size_t i;
	int rc, prov = MANIFEST_PROVIDER_NONE;

	if ((rc = manifest_table(c, root, "model", "the top level",
	    &tab)) != 0 || tab == NULL)
		return rc;
	if ((rc = manifest_keys(c, tab, sec, keys)) != 0 ||
	    (rc = manifest_enum(c, tab, "provider", sec, manifest_providers,
	    MANIFEST_PROVIDER_ANTHROPIC, &prov)) != 0 ||
	    (rc = manifest_string(c, tab, "name", sec, &m->model.name)) != 0 ||
	    (rc = manifest_string(c, tab, "base_url", sec,
	    &m->model.base_url)) != 0 ||
	    (rc = manifest_posint(c, tab, "max_tokens", sec,
	    &m->model.max_tokens)) != 0 ||
	    (rc = manifest_posint(c, tab, "context_length", sec,
	    &m->model.context_length)) != 0 ||
	    (rc = manifest_table(c, tab, "headers", sec, &hdrs)) != 0)
		return rc;
	m->model.provider = prov;
	/* A model without a provider cannot be reached; say so now. */
	if (prov == MANIFEST_PROVIDER_NONE && toml_len(tab) > 0)
		return manifest_err(c, tab, NULL, "[model] needs provider");
	if (hdrs == NULL || toml_len(hdrs) == 0)
		return 0;
	if ((m->model.headers = calloc(toml_len(hdrs),
	    sizeof(*m->model.headers))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < toml_len(hdrs); i++) {
		k = toml_key(hdrs, i);
		h = &m->model.headers[m->model.nheaders];
		if (strlen(k->name) != k->len)
			return manifest_err(c, NULL, &k->span, "[model.headers]"
			    " names must not contain NUL");
		if ((rc = manifest_strnode(c, toml_value(hdrs, i),
		    "[model.headers]", k->name, &s)) != 0)
			return rc;
		m->model.nheaders++;
		if ((h->name = strdup(k->name)) == NULL ||
		    (h->value = strdup(s)) == NULL)
			return WARD_ENOMEM;
	}
	return 0;
}

static int
manifest_rest(struct manifest_ctx *c, const struct toml_node *root,
    struct manifest *m)
{
	static const char *const skeys[] = { "os", NULL };
	static const char *const okeys[] = { "command_fs",
	    "command_mask_secrets", NULL };
	static const char *const ckeys[] = { "command_timeout",
	    "max_output_bytes", NULL };
	static const char *const ykeys[] = { "allow_pipes", "allow_compound",
	    "allow_subshells", "allow_background", "redirects",
	    "allow_runtime_expansion", NULL };
	static const char *const lkeys[] = { "read_bytes", "list_entries",
	    "grep_matches", NULL };
	const struct toml_node *tab, *os;
	int rc, v;

	if ((rc = manifest_table(c, root, "sandbox", "the top level",
	    &tab)) != 0)
		return rc;
	if (tab != NULL && ((rc = manifest_keys(c, tab, "[sandbox]",
	    skeys)) != 0 || (rc = manifest_table(c, tab, "os", "[sandbox]",
	    &os)) != 0))
		return rc;
	if (tab != NULL && os != NULL) {
		v = (int)m->command_fs;
		if ((rc = manifest_keys(c, os, "[sandbox.os]", okeys)) != 0 ||
		    (rc = manifest_enum(c, os, "command_fs", "[sandbox.os]",
		    manifest_fs_names, MANIFEST_FS_NONE, &v)) != 0 ||
		    (rc = manifest_bool(c, os, "command_mask_secrets",
		    "[sandbox.os]", &m->command_mask_secrets)) != 0)
			return rc;
		m->command_fs = v;
	}

	if ((rc = manifest_table(c, root, "command_run", "the top level",
	    &tab)) != 0)
		return rc;
	if (tab != NULL && ((rc = manifest_keys(c, tab, "[command_run]",
	    ckeys)) != 0 ||
	    (rc = manifest_posint(c, tab, "command_timeout", "[command_run]",
	    &m->command_timeout)) != 0 ||
	    (rc = manifest_posint(c, tab, "max_output_bytes",
	    "[command_run]", &m->max_output_bytes)) != 0))
		return rc;

	if ((rc = manifest_table(c, root, "security", "the top level",
	    &tab)) != 0)
		return rc;
	if (tab != NULL) {
		v = (int)m->security.redirects;
		if ((rc = manifest_keys(c, tab, "[security]", ykeys)) != 0 ||
		    (rc = manifest_bool(c, tab, "allow_pipes", "[security]",
		    &m->security.allow_pipes)) != 0 ||
		    (rc = manifest_bool(c, tab, "allow_compound", "[security]",
		    &m->security.allow_compound)) != 0 ||
		    (rc = manifest_bool(c, tab, "allow_subshells",
		    "[security]", &m->security.allow_subshells)) != 0 ||
		    (rc = manifest_bool(c, tab, "allow_background",
		    "[security]", &m->security.allow_background)) != 0 ||
		    (rc = manifest_enum(c, tab, "redirects", "[security]",
		    manifest_redir_names, MANIFEST_REDIR_NONE, &v)) != 0 ||
		    (rc = manifest_bool(c, tab, "allow_runtime_expansion",
		    "[security]", &m->security.allow_runtime_expansion)) != 0)
			return rc;
		m->security.redirects = v;
	}

	if ((rc = manifest_table(c, root, "limits", "the top level",
	    &tab)) != 0)
		return rc;
	if (tab != NULL && ((rc = manifest_keys(c, tab, "[limits]",
	    lkeys)) != 0 ||
	    (rc = manifest_posint(c, tab, "read_bytes", "[limits]",
	    &m->limits.read_bytes)) != 0 ||
	    (rc = manifest_posint(c, tab, "list_entries", "[limits]",
	    &m->limits.list_entries)) != 0 ||
	    (rc = manifest_posint(c, tab, "grep_matches", "[limits]",
	    &m->limits.grep_matches)) != 0))
		return rc;
	return 0;
}

/* [secrets.NAME] hosts = [...]: one table per secret. */
static int
manifest_secrets(struct manifest_ctx *c, const struct toml_node *root,
    struct manifest *m)
{
	static const char *const keys[] = { "hosts", NULL };
	const struct toml_node *tab, *e;
	const struct toml_key *k;
	struct manifest_secret *sec;
	size_t i;
	int rc;

	if ((rc = manifest_table(c, root, "secrets", "the top level",
	    &tab)) != 0 || tab == NULL || toml_len(tab) == 0)
		return rc;
	if ((m->secrets = calloc(toml_len(tab), sizeof(*m->secrets))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < toml_len(tab); i++) {
		k = toml_key(tab, i);
		e = toml_value(tab, i);
		if (strlen(k->name) != k->len ||
		    !manifest_secretname(k->name))
			return manifest_err(c, NULL, &k->span, "[secrets]: "
			    "'%.*s' is not a vault secret name "
			    "([A-Z_][A-Z0-9_]*, at most %d bytes)", (int)k->len,
			    k->name, VAULT_NAME_MAX);
		if (toml_type(e) != TOML_TABLE)
			return manifest_type(c, e, "[secrets]", k->name,
			    "a table");
		if ((rc = manifest_keys(c, e, "[secrets.NAME]", keys)) != 0)
			return rc;
		sec = &m->secrets[m->nsecrets++];
		if ((sec->name = strdup(k->name)) == NULL)
			return WARD_ENOMEM;
		sec->has_hosts = toml_get(e, "hosts") != NULL;
		if ((rc = manifest_strlist(c, e, "hosts", "[secrets.NAME]",
		    MANIFEST_LIST_HOST, &sec->hosts)) != 0)
			return rc;
	}
	return 0;
}

/* The defaults of doc/MANIFEST.md: nothing is granted, and the rest is the
 * DESIGN §3 example's values. */
static void
manifest_defaults(struct manifest *m)
{
	m->schema_version = 1;
	m->model.max_tokens = 8192;
	m->model.context_length = 200000;
	m->command_fs = MANIFEST_FS_SYSTEM;
	m->command_mask_secrets = 1;
	m->command_timeout = 120;
	m->max_output_bytes = 30000;
	m->security.allow_pipes = 1;
	m->security.allow_compound = 1;
	m->security.allow_subshells = 0;
	m->security.allow_background = 0;
	m->security.redirects = MANIFEST_REDIR_MERGE;
	m->security.allow_runtime_expansion = 1;
	m->limits.read_bytes = 1024 * 1024;
	m->limits.list_entries = 1000;
	m->limits.grep_matches = 200;
}

/* 1 when two patterns say the same thing: the same words, both exact or
 * both prefixes, both asking or both silent. */
static int
manifest_samepat(const struct cmdpat *a, const struct cmdpat *b)
{
	size_t i;

	if (a->nwords != b->nwords || a->exact != b->exact ||
	    a->prompt != b->prompt)
		return 0;
	for (i = 0; i < a->nwords; i++)
		if (strcmp(a->words[i], b->words[i]) != 0)
			return 0;
	return 1;
}

static int
manifest_samestrs(const struct manifest_strs *a,
    const struct manifest_strs *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

static int
manifest_samegrant(const struct manifest_grant *a,
    const struct manifest_grant *b)
{
	return a->inherit_default_domains == b->inherit_default_domains &&
	    a->approve_each == b->approve_each &&
	    manifest_samestrs(&a->paths, &b->paths) &&
	    manifest_samestrs(&a->env_vars, &b->env_vars) &&
	    manifest_samestrs(&a->domains, &b->domains) &&
	    manifest_samestrs(&a->secrets, &b->secrets);
}

/*
 * Refuses an allow pattern listed twice with different grants: which
 * paths, domains or secrets a command gets would then depend on the order
 * of the list, which never matters.
 */
static int
manifest_dups(struct manifest_ctx *c, const struct manifest *m)
{
	size_t i, j;

	for (i = 0; i < m->nallow; i++)
		for (j = i + 1; j < m->nallow; j++)
			if (manifest_samepat(&m->allow[i], &m->allow[j]) &&
			    !manifest_samegrant(&m->grants[i],
			    &m->grants[j])) {
				if (c->err != NULL)
					buf_printf(c->err, "%s: [capabilities."
					    "allow.commands] patterns: '%s' "
					    "and '%s' are the same pattern "
					    "with different grants; keep one "
					    "entry", c->file,
					    m->allow[i].text,
					    m->allow[j].text);
				return WARD_EINVAL;
			}
	return 0;
}

/* The four path lists, checked as pathpat will use them. */
static int
manifest_paths(struct manifest_ctx *c, const struct manifest *m)
{
	const struct {
		const char			*label;
		const struct manifest_files	*f;
	} lists[] = {
		{ "allow.read", &m->allow_read },
		{ "allow.write", &m->allow_write },
		{ "deny.read", &m->deny_read },
		{ "deny.write", &m->deny_write },
	};
	struct buf why;
	size_t i;
	int rc = 0;

	buf_init(&why, 0);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]) && rc == 0; i++)
		if ((rc = pathpat_valid_files(lists[i].label, lists[i].f,
		    &why)) == WARD_EINVAL && c->err != NULL)
			buf_printf(c->err, "%s: [capabilities.%s] %s", c->file,
			    lists[i].label, why.data ? why.data : "invalid");
	buf_free(&why);
	return rc;
}

int
manifest_parse(const char *name, const char *data, size_t len,
    struct manifest **out, struct buf *err)
{
	static const char *const keys[] = { "schema_version", "model",
	    "capabilities", "sandbox", "command_run", "security", "limits",
	    "secrets", NULL };
	struct manifest_ctx c = { name, err };
	struct manifest *m = NULL;
	struct toml *doc = NULL;
	const struct toml_node *root, *sv;
	struct buf terr;
	int rc;

	*out = NULL;
	buf_init(&terr, 0);
	if ((rc = toml_parse(data, len, &doc, &terr)) != 0) {
		if (rc == WARD_EPROTO) {
			if (err != NULL)
				buf_printf(err, "%s:%s", name,
				    terr.data ? terr.data : " bad TOML");
			rc = WARD_EINVAL;
		}
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	manifest_defaults(m);
	root = toml_root(doc);
	if ((rc = manifest_keys(&c, root, "the top level", keys)) != 0)
		goto out;
	/* Required: a manifest for another schema must not half-load. */
	if ((sv = toml_get(root, "schema_version")) == NULL) {
		rc = manifest_err(&c, NULL, &(struct toml_span){ 1, 1, 0, 0 },
		    "schema_version = 1 is required");
		goto out;
	}
	if (toml_int(sv, &m->schema_version) != 0) {
		rc = manifest_type(&c, sv, "the top level", "schema_version",
		    "an integer");
		goto out;
	}
	if (m->schema_version != 1) {
		rc = manifest_err(&c, sv, NULL, "schema_version %lld is not "
		    "supported (this ward reads 1)",
		    (long long)m->schema_version);
		goto out;
	}
	if ((rc = manifest_model(&c, root, m)) != 0 ||
	    (rc = manifest_capabilities(&c, root, m)) != 0 ||
	    (rc = manifest_rest(&c, root, m)) != 0 ||
	    (rc = manifest_secrets(&c, root, m)) != 0)
		goto out;
	if ((rc = manifest_paths(&c, m)) != 0 ||
	    (rc = manifest_dups(&c, m)) != 0 ||
	    (rc = cmdpat_index_new(m->allow, m->nallow, m->deny, m->ndeny,
	    &m->cmdindex)) != 0)
		goto out;
	*out = m;
	m = NULL;
out:
	if (rc == WARD_ENOMEM && err != NULL)
		buf_printf(err, "%s: out of memory", name);
	manifest_free(m);
	toml_free(doc);
	buf_free(&terr);
	return rc;
}

int
manifest_read(const char *path, struct buf *text, struct buf *err)
{
	struct stat st;
	char chunk[8192];
	ssize_t n;
	int fd, rc = 0;

	/* Not through a symlink, and never blocking on a FIFO: the file
	 * approved, decided and edited is this regular file. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		rc = errno == ENOENT ? WARD_ENOENT : errno == ELOOP ?
		    WARD_EINVAL : WARD_EIO;
		if (err != NULL)
			buf_printf(err, "%s: %s", path, errno == ELOOP ?
			    "a symbolic link; ward reads the manifest only "
			    "from a regular file" : strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		rc = WARD_EINVAL;
		if (err != NULL)
			buf_printf(err, "%s: not a regular file", path);
		goto out;
	}
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			rc = WARD_EIO;
			if (err != NULL)
				buf_printf(err, "%s: %s", path,
				    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = buf_add(text, chunk, (size_t)n)) != 0) {
			if (err != NULL)
				buf_printf(err, rc == WARD_ETOOBIG ?
				    "%s: larger than %d bytes" :
				    "%s: out of memory", path,
				    MANIFEST_MAX_BYTES);
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

int
manifest_load(const char *path, struct manifest **out, struct buf *err)
{
	struct buf data;
	int rc;

	*out = NULL;
	buf_init(&data, MANIFEST_MAX_BYTES);
	if ((rc = manifest_read(path, &data, err)) == 0)
		rc = manifest_parse(path, data.data ? data.data : "",
		    data.len, out, err);
	buf_free(&data);
	return rc;
}

void
manifest_free(struct manifest *m)
{
	size_t i;

	if (m == NULL)
		return;
	free(m->model.name);
	free(m->model.base_url);
	for (i = 0; i < m->model.nheaders; i++) {
		free(m->model.headers[i].name);
		/* Headers carry API keys as often as not. */
		if (m->model.headers[i].value != NULL)
			explicit_bzero(m->model.headers[i].value,
			    strlen(m->model.headers[i].value));
		free(m->model.headers[i].value);
	}
	free(m->model.headers);
	manifest_files_free(&m->allow_read);
	manifest_files_free(&m->allow_write);
	manifest_files_free(&m->deny_read);
	manifest_files_free(&m->deny_write);
	manifest_strs_free(&m->default_domains);
	manifest_strs_free(&m->default_env_vars);
	for (i = 0; i < m->nallow; i++) {
		cmdpat_clear(&m->allow[i]);
		manifest_grant_free(&m->grants[i]);
	}
	free(m->allow);
	free(m->grants);
	for (i = 0; i < m->ndeny; i++)
		cmdpat_clear(&m->deny[i]);
	free(m->deny);
	cmdpat_index_free(m->cmdindex);
	manifest_strs_free(&m->deny_domains);
	manifest_strs_free(&m->deny_env_vars);
	for (i = 0; i < m->nsecrets; i++) {
		free(m->secrets[i].name);
		manifest_strs_free(&m->secrets[i].hosts);
	}
	free(m->secrets);
	free(m);
}

void
manifest_cmdrules(const struct manifest *m, struct cmdpat_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->allow = m->allow;
	r->nallow = m->nallow;
	r->deny = m->deny;
	r->ndeny = m->ndeny;
	r->runtime_expansion = m->security.allow_runtime_expansion;
	r->index = m->cmdindex;
	r->redirects = m->security.redirects == MANIFEST_REDIR_FILES ?
	    CMDPAT_REDIR_FILES : m->security.redirects == MANIFEST_REDIR_MERGE ?
	    CMDPAT_REDIR_MERGE : CMDPAT_REDIR_NONE;
	r->forbid = (m->security.allow_pipes ? 0 : SHELL_L_PIPE) |
	    (m->security.allow_compound ? 0 : SHELL_L_COMPOUND) |
	    (m->security.allow_subshells ? 0 : SHELL_L_SUBSHELL) |
	    (m->security.allow_background ? 0 : SHELL_L_BACKGROUND);
}

const char *
manifest_provider_name(enum manifest_provider p)
{
	if (p >= MANIFEST_PROVIDER_ANTHROPIC && p <= MANIFEST_PROVIDER_SCRIPT)
		return manifest_providers[p - MANIFEST_PROVIDER_ANTHROPIC];
	return "";
}

/*
 * Building a command's envelope from the manifest; see grant.h. Every
 * path here ends up as a bind mount or a mask in envelope.c, which refuses
 * paths with symlinks in them, so paths are resolved with realpath first
 * and ones that do not exist are left out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/xdg.h"
#include "../policy/hostpat.h"
#include "../policy/pathpat.h"
#include "grant.h"

#define GRANT_WALK_DEPTH	64	/* deeper is refused, never skipped */
#define GRANT_HIDE_MAX		4096	/* masks one command may need */

const char *const grant_secret_paths[] = {
	"~/.ssh", "~/.aws", "~/.gnupg", "~/.config/gh", "~/.config/gcloud",
	"~/.azure", "~/.kube", "~/.docker/config.json", "~/.netrc",
	"~/.git-credentials", "~/.npmrc", "~/.pypirc", "~/.cargo/credentials",
	"~/.cargo/credentials.toml", "~/.config/hub", "~/.password-store",
	"~/.local/share/keyrings", "~/.mozilla", "~/.config/google-chrome",
	"~/.config/chromium", "~/.bash_history", "~/.zsh_history",
	"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
	"/etc/ssh/*_key", "/etc/sudoers", "/etc/sudoers.d", "/etc/ssl/private",
	"/etc/wireguard", "/etc/krb5.keytab", "/etc/NetworkManager/system-connections",
	"/var/lib/docker", "/run/docker.sock", "/var/run/docker.sock",
	NULL
};

static int
grant_add(struct grant_strv *s, const char *p)
{
	char **nv;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], p) == 0)
			return 0;
	if ((nv = reallocarray(s->v, s->n + 2, sizeof(*nv))) == NULL)
		return WARD_ENOMEM;
	s->v = nv;
	if ((s->v[s->n] = strdup(p)) == NULL)
		return WARD_ENOMEM;
	s->v[++s->n] = NULL;
	return 0;
}

static void
grant_strv_free(struct grant_strv *s)
{
	size_t i;

	/* The environment may hold secrets: wiped, not just freed. */
	for (i = 0; i < s->n; i++) {
		explicit_bzero(s->v[i], strlen(s->v[i]));
		free(s->v[i]);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Adds the real path of p (absolute) if it exists. */
static int
grant_addreal(struct grant_strv *s, const char *p)
{
	char real[PATH_MAX];

	if (realpath(p, real) == NULL)
		return 0;
	return grant_add(s, real);
}

/* 1 when p is root or below it. */
static int
grant_under(const char *p, const char *root)
{
	size_t n = strlen(root);

	return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/*
 * Adds the real path of p, a path in the project, if it exists and is in
 * the project: a symlink the project ships (or a command planted) must not
 * choose which host directory gets bound. The file tools deny the same.
 */
static int
grant_addproj(struct grant_strv *s, const char *root, const char *p)
{
	char real[PATH_MAX];

	if (realpath(p, real) == NULL || !grant_under(real, root))
		return 0;
	return grant_add(s, real);
}

/* The directory a `paths` glob starts with, as an absolute path under
 * root: the segments before the first one with a glob character. */
static int
grant_globdir(const char *root, const char *glob, char *out, size_t outsz)
{
	const char *seg, *end;
	size_t n;

	n = (size_t)snprintf(out, outsz, "%s", root);
	for (seg = glob; *seg != '\0'; seg = *end ? end + 1 : end) {
		end = strchrnul(seg, '/');
		if (strpbrk(seg, "*?[\\") != NULL &&
		    strpbrk(seg, "*?[\\") < end)
			break;
		if ((size_t)(end - seg) == 0 || (end - seg == 1 &&
		    seg[0] == '.'))
			continue;
		n += (size_t)snprintf(out + n, n < outsz ? outsz - n : 0,
		    "/%.*s", (int)(end - seg), seg);
	}
	return n < outsz ? 0 : WARD_EINVAL;
}

/* ~/x -> $HOME/x; anything else as it is. */
static int
grant_home(const char *p, char *out, size_t outsz)
{
	const char *home = getenv("HOME");

	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		if (home == NULL || home[0] != '/')
			return WARD_EINVAL;
		return (size_t)snprintf(out, outsz, "%s%s", home, p + 1) <
		    outsz ? 0 : WARD_EINVAL;
	}
	return (size_t)snprintf(out, outsz, "%s", p) < outsz ? 0 :
	    WARD_EINVAL;
}

/* A list's additional_directories, whole. */
static int
grant_adddirs(const struct manifest_files *f, struct grant_strv *to)
{
	char p[PATH_MAX];
	size_t i;
	int rc;

	for (i = 0; i < f->additional_directories.n; i++) {
		if (grant_home(f->additional_directories.v[i], p,
		    sizeof(p)) != 0)
			return WARD_EINVAL;
		if ((rc = grant_addreal(to, p)) != 0)
			return rc;
	}
	return 0;
}

/* Grants of one allow or deny list: directories (and named files). */
static int
grant_files(const char *root, const struct manifest_files *f,
    struct grant_strv *to)
{
	char p[PATH_MAX];
	size_t i;
	int rc;

	for (i = 0; i < f->npaths; i++) {
		if (grant_globdir(root, f->paths[i].path, p, sizeof(p)) != 0)
			return WARD_EINVAL;
		if ((rc = grant_addproj(to, root, p)) != 0)
			return rc;
	}
	return grant_adddirs(f, to);
}

/* 1 when name matches one of globs (every name when there are none). */
static int
grant_names(const struct manifest_strs *globs, const char *name)
{
	size_t i;

	if (globs->n == 0)
		return 1;
	for (i = 0; i < globs->n; i++)
		if (pathpat_match(globs->v[i], name))
			return 1;
	return 0;
}

struct grant_walk {
	const char			*root;
	size_t				 rootlen;
	const struct manifest_path	*entry;
	const struct manifest_strs	*names;
	struct grant_strv		*to;
	struct buf			*err;
};

/* Adds what a matching entry stands for: a regular file, or the real
 * target of a symlink if that is a regular file in the project. FIFOs,
 * sockets and devices are left alone: nothing can be read from them that
 * a command did not put there. */
static int
grant_match(struct grant_walk *w, const char *p, const struct stat *st)
{
	char real[PATH_MAX];
	struct stat rst;

	if (S_ISREG(st->st_mode))
		return grant_add(w->to, p);
	if (!S_ISLNK(st->st_mode) || realpath(p, real) == NULL ||
	    stat(real, &rst) == -1 || !S_ISREG(rst.st_mode) ||
	    !grant_under(real, w->root))
		return 0;
	return grant_add(w->to, real);
}

/* Walks dir (absolute, below root) adding what the deny entry covers:
 * files whose directory matches the entry's glob and whose name matches
 * its file globs. Links are not followed into directories. What cannot be
 * walked to the end is refused, not skipped: a skipped file is a shown
 * one. */
static int
grant_walk(struct grant_walk *w, const char *dir, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	char p[PATH_MAX];
	const char *rel;
	int rc = 0, fd;

	if (depth > GRANT_WALK_DEPTH) {
		buf_printf(w->err, "sandbox: %s is nested too deep to check "
		    "for denied files", dir);
		return WARD_EINVAL;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return WARD_ESYS;
	}
	rel = dir[w->rootlen] == '/' ? dir + w->rootlen + 1 : "";
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >=
		    sizeof(p)) {
			buf_printf(w->err, "sandbox: a path under %s is too "
			    "long to check for denied files", dir);
			rc = WARD_EINVAL;
			break;
		}
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = grant_walk(w, p, depth + 1);
		else if (pathpat_match(w->entry->path, *rel ? rel : ".") &&
		    grant_names(w->names, de->d_name))
			rc = grant_match(w, p, &st);
	}
	closedir(d);
	return rc;
}

/* What a deny list hides (or makes read-only): an entry that names a path
 * exactly covers it whole, file or directory, whatever the file globs; a
 * glob entry covers each existing file it matches. */
static int
grant_deny(const char *root, const struct manifest_files *f,
    struct grant_strv *to, struct buf *err)
{
	struct grant_walk w;
	const struct manifest_path *e;
	char p[PATH_MAX], real[PATH_MAX];
	size_t i;
	int rc;

	for (i = 0; i < f->npaths; i++) {
		e = &f->paths[i];
		if (grant_globdir(root, e->path, p, sizeof(p)) != 0)
			return WARD_EINVAL;
		if (realpath(p, real) == NULL)
			continue;
		w.root = root;
		w.rootlen = strlen(root);
		w.entry = e;
		w.names = e->has_files ? &e->files : &f->default_files;
		w.to = to;
		w.err = err;
		if (strpbrk(e->path, "*?[\\") == NULL || w.names->n == 0)
			rc = grant_add(to, real);
		else
			rc = grant_walk(&w, real, 0);
		if (rc != 0)
			return rc;
	}
	return grant_adddirs(f, to);
}

/* The secret mask list and ward's own directories. */
static int
grant_secrets(struct grant_strv *hide)
{
	static const enum xdg_kind kinds[] = { XDG_CONFIG, XDG_STATE,
	    XDG_DATA, XDG_RUNTIME };
	glob_t gl;
	char p[PATH_MAX], *dir;
	size_t i, j;
	int rc = 0;

	for (i = 0; grant_secret_paths[i] != NULL && rc == 0; i++) {
		if (grant_home(grant_secret_paths[i], p, sizeof(p)) != 0)
			continue;
		if (strchr(p, '*') == NULL) {
			rc = grant_addreal(hide, p);
			continue;
		}
		if (glob(p, GLOB_NOSORT, NULL, &gl) != 0)
			continue;
		for (j = 0; j < gl.gl_pathc && rc == 0; j++)
			rc = grant_addreal(hide, gl.gl_pathv[j]);
		globfree(&gl);
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && rc == 0; i++) {
		if ((rc = xdg_dir(kinds[i], &dir)) != 0)
			return rc;
		rc = grant_addreal(hide, dir);
		free(dir);
	}
	return rc;
}

/* The value of name in envp, or NULL. */
static const char *
grant_getenv(char *const *envp, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

static int
grant_setenv(struct grant_strv *env, const char *name, const char *val)
{
	char *kv;
	int rc;

	if (asprintf(&kv, "%s=%s", name, val) == -1)
		return WARD_ENOMEM;
	rc = grant_add(env, kv);
	free(kv);
	return rc;
}

/* Passes name from envp unless the manifest denies it. */
static int
grant_passenv(const struct manifest *m, char *const *envp,
    struct grant_strv *env, const char *name)
{
	const char *v;
	size_t i;

	for (i = 0; i < m->deny_env_vars.n; i++)
		if (strcmp(m->deny_env_vars.v[i], name) == 0)
			return 0;
	if ((v = grant_getenv(envp, name)) == NULL)
		return 0;
	return grant_setenv(env, name, v);
}

static int
grant_addlist(struct grant_strv *to, const struct manifest_strs *l)
{
	size_t i;
	int rc;

	for (i = 0; i < l->n; i++)
		if ((rc = grant_add(to, l->v[i])) != 0)
			return rc;
	return 0;
}

/* 1 when l holds w (and, with also, when also holds it). */
static int
grant_in(const struct manifest_strs *l, const struct manifest_strs *also,
    const char *w)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], w) == 0)
			return 1;
	for (i = 0; also != NULL && i < also->n; i++)
		if (strcmp(also->v[i], w) == 0)
			return 1;
	return 0;
}

/* Keeps in acc only what l (and also) holds. */
static void
grant_keep(struct grant_strv *acc, const struct manifest_strs *l,
    const struct manifest_strs *also)
{
	size_t i, n = 0;

	for (i = 0; i < acc->n; i++)
		if (grant_in(l, also, acc->v[i]))
			acc->v[n++] = acc->v[i];
		else
			free(acc->v[i]);
	acc->n = n;
	if (acc->v != NULL)
		acc->v[n] = NULL;
}

/*
 * What the line's grants share. A line runs in one envelope, so each part
 * would see what any other part's grant names: the line gets only the
 * environment variables, extra paths and hosts that every part that runs
 * a program is granted (a part no pattern matched has the grant a new bare
 * pattern would: default_domains and nothing else). Wrappers and bare
 * assignments run nothing themselves and do not count.
 */
static int
grant_shared(const struct manifest *m, const struct cmdpat_result *dec,
    struct grant_strv *env, struct grant_strv *paths,
    struct grant_strv *domains, struct grant_strv *secrets)
{
	static const struct manifest_strs none;
	const struct manifest_grant *gr;
	const struct manifest_strs *dd;
	size_t i, k;
	int rc, first = 1;

	for (i = 0; i < dec->nparts; i++) {
		if (dec->parts[i].rule >= m->allow &&
		    dec->parts[i].rule < m->allow + m->nallow)
			gr = &m->grants[dec->parts[i].rule - m->allow];
		else if (dec->parts[i].decision != CMDPAT_ALLOW)
			gr = NULL;	/* unmatched: a bare pattern's */
		else
			continue;
		dd = gr == NULL || gr->inherit_default_domains ?
		    &m->default_domains : &none;
		if (!first) {
			grant_keep(env, gr ? &gr->env_vars : &none, NULL);
			grant_keep(paths, gr ? &gr->paths : &none, NULL);
			grant_keep(domains, gr ? &gr->domains : &none, dd);
			grant_keep(secrets, gr ? &gr->secrets : &none, NULL);
			continue;
		}
		first = 0;
		if (gr != NULL) {
			for (k = 0; k < gr->env_vars.n; k++)
				if ((rc = grant_add(env, gr->env_vars.v[k])) != 0)
					return rc;
			for (k = 0; k < gr->paths.n; k++)
				if ((rc = grant_add(paths, gr->paths.v[k])) != 0)
					return rc;
			if ((rc = grant_addlist(secrets, &gr->secrets)) != 0)
				return rc;
			if ((rc = grant_addlist(domains, &gr->domains)) != 0)
				return rc;
		}
		if ((rc = grant_addlist(domains, dd)) != 0)
			return rc;
	}
	return 0;
}

/* Environment, extra paths and domains from what the parts' grants share. */
static int
grant_parts(const struct manifest *m, const char *root,
    const struct cmdpat_result *dec, char *const *envp, struct grant *g)
{
	struct grant_strv env = { NULL, 0 }, paths = { NULL, 0 };
	char p[PATH_MAX];
	size_t i;
	int rc = 0;

	for (i = 0; i < m->default_env_vars.n && rc == 0; i++)
		rc = grant_passenv(m, envp, &g->env, m->default_env_vars.v[i]);
	if (rc == 0)
		rc = grant_shared(m, dec, &env, &paths, &g->domains,
		    &g->secrets);
	for (i = 0; i < env.n && rc == 0; i++)
		rc = grant_passenv(m, envp, &g->env, env.v[i]);
	for (i = 0; i < paths.n && rc == 0; i++) {
		/* Absolute and ~/ paths are the manifest's own choice; a
		 * project path must stay in the project. */
		if (paths.v[i][0] == '/' || paths.v[i][0] == '~') {
			if ((rc = grant_home(paths.v[i], p, sizeof(p))) == 0)
				rc = grant_addreal(&g->rw, p);
		} else if ((size_t)snprintf(p, sizeof(p), "%s/%s", root,
		    paths.v[i]) >= sizeof(p))
			rc = WARD_EINVAL;
		else
			rc = grant_addproj(&g->rw, root, p);
	}
	grant_strv_free(&env);
	grant_strv_free(&paths);
	return rc;
}

int
grant_build(const struct policy *pol, const char *root,
    const struct cmdpat_result *dec, char *const *envp, struct grant *g,
    struct buf *err)
{
	const struct manifest *m = policy_manifest(pol);
	const char *v;
	char p[PATH_MAX];
	int rc;

	memset(g, 0, sizeof(*g));
	if ((g->cwd = strdup(root)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((rc = grant_files(root, &m->allow_read, &g->ro)) != 0 ||
	    (rc = grant_files(root, &m->allow_write, &g->rw)) != 0 ||
	    (rc = grant_parts(m, root, dec, envp, g)) != 0 ||
	    (rc = grant_deny(root, &m->deny_read, &g->hide, err)) != 0 ||
	    (rc = grant_deny(root, &m->deny_write, &g->ro_over, err)) != 0 ||
	    (rc = grant_secrets(&g->hide)) != 0)
		goto out;
	/* Never writable, whatever is granted: the manifest, and all of
	 * git's metadata, which git outside the sandbox reads and runs
	 * (hooks, config, commondir, fsmonitor, modules, worktrees): a
	 * command may read the repository, never change it. */
	snprintf(p, sizeof(p), "%s/ward.toml", root);
	if ((rc = grant_addproj(&g->ro_over, root, p)) != 0)
		goto out;
	snprintf(p, sizeof(p), "%s/.git", root);
	if ((rc = grant_addproj(&g->ro_over, root, p)) != 0)
		goto out;
	if (g->hide.n + g->ro_over.n > GRANT_HIDE_MAX) {
		buf_printf(err, "sandbox: %zu denied files to mask, more than "
		    "%d: narrow the deny rules or remove the files",
		    g->hide.n + g->ro_over.n, GRANT_HIDE_MAX);
		rc = WARD_EINVAL;
		goto out;
	}
	/* A minimal environment; the rest comes only from grants. */
	if ((rc = grant_setenv(&g->env, "PATH",
	    "/usr/local/bin:/usr/bin:/bin")) != 0 ||
	    (rc = grant_setenv(&g->env, "TMPDIR", "/tmp")) != 0 ||
	    (rc = grant_setenv(&g->env, "HOME", (v = grant_getenv(envp,
	    "HOME")) != NULL && v[0] == '/' ? v : "/tmp")) != 0 ||
	    (rc = grant_setenv(&g->env, "LANG", (v = grant_getenv(envp,
	    "LANG")) != NULL ? v : "C.UTF-8")) != 0)
		goto out;
	g->spec.cwd = g->cwd;
	g->spec.fs = m->command_fs == MANIFEST_FS_NONE ? ENVELOPE_FS_NONE :
	    m->command_fs == MANIFEST_FS_PERMISSIVE ? ENVELOPE_FS_PERMISSIVE :
	    m->command_fs == MANIFEST_FS_ALL ? ENVELOPE_FS_ALL :
	    ENVELOPE_FS_SYSTEM;
	g->spec.ro = (const char *const *)g->ro.v;
	g->spec.nro = g->ro.n;
	g->spec.rw = (const char *const *)g->rw.v;
	g->spec.nrw = g->rw.n;
	g->spec.hide = (const char *const *)g->hide.v;
	g->spec.nhide = g->hide.n;
	g->spec.ro_over = (const char *const *)g->ro_over.v;
	g->spec.nro_over = g->ro_over.n;
	g->spec.envp = g->env.v;
	g->spec.stdin_fd = -1;
	g->spec.net_fd = -1;
	g->spec.timeout_ms = (unsigned)(m->command_timeout * 1000);
	g->spec.max_output = (size_t)m->max_output_bytes;
out:
	if (rc != 0) {
		if (err->len == 0)
			buf_printf(err, "cannot build the sandbox for this "
			    "command: %s", rc == WARD_EINVAL ? "a path in "
			    "ward.toml is too long or needs $HOME" :
			    ward_strerror(rc));
		grant_clear(g);
	}
	return rc;
}

void
grant_clear(struct grant *g)
{
	if (g == NULL)
		return;
	free(g->cwd);
	grant_strv_free(&g->ro);
	grant_strv_free(&g->rw);
	grant_strv_free(&g->hide);
	grant_strv_free(&g->ro_over);
	grant_strv_free(&g->env);
	grant_strv_free(&g->domains);
	grant_strv_free(&g->secrets);
	memset(g, 0, sizeof(*g));
}

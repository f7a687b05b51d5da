/*
 * Decide, build the envelope, serve its network, run; see cmdrun.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "../lib/err.h"
#include "../lib/xdg.h"
#include "../policy/hostpat.h"
#include "../vault/redact.h"
#include "../vault/vault.h"
#include "cmdrun.h"
#include "denial.h"
#include "grant.h"
#include "proxy.h"

/*
 * The commands running in this process that were given secrets, and the
 * names each holds, so that revoking a secret stops them
 * (cmdrun_revoke). A command is listed while the vault is still open
 * (and so locked) after its values were read: a revoke, which writes the
 * vault under the same lock before it calls cmdrun_revoke, either comes
 * first (then vault_get refuses the secret) or finds the command listed.
 */
struct cmdrun_live {
	struct cmdrun_live	*next;
	const struct grant_strv	*names;		/* the grant's secrets */
	int			 fd[2];		/* a byte in: stop it */
	char			*revoked;	/* the name that stopped it */
};

static pthread_mutex_t	 cmdrun_live_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cmdrun_live *cmdrun_live_head;

static int
cmdrun_live_add(struct cmdrun_live *l, const struct grant_strv *names)
{
	memset(l, 0, sizeof(*l));
	l->names = names;
	if (pipe2(l->fd, O_CLOEXEC | O_NONBLOCK) == -1) {
		l->fd[0] = l->fd[1] = -1;
		return WARD_ESYS;
	}
	pthread_mutex_lock(&cmdrun_live_mu);
	l->next = cmdrun_live_head;
	cmdrun_live_head = l;
	pthread_mutex_unlock(&cmdrun_live_mu);
	return 0;
}

/* Unlists l; *revoked gets the name that stopped it (or NULL). */
static void
cmdrun_live_remove(struct cmdrun_live *l, char **revoked)
{
	struct cmdrun_live **pp;

	if (l->fd[0] == -1)
		return;		/* never listed */
	pthread_mutex_lock(&cmdrun_live_mu);
	for (pp = &cmdrun_live_head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	pthread_mutex_unlock(&cmdrun_live_mu);
	close(l->fd[0]);
	close(l->fd[1]);
	l->fd[0] = l->fd[1] = -1;
	if (revoked != NULL) {
		free(*revoked);
		*revoked = l->revoked;
	} else
		free(l->revoked);
	l->revoked = NULL;
}

int
cmdrun_revoke(const char *name)
{
	struct cmdrun_live *l;
	size_t i;
	int n = 0;

	pthread_mutex_lock(&cmdrun_live_mu);
	for (l = cmdrun_live_head; l != NULL; l = l->next)
		for (i = 0; i < l->names->n; i++) {
			if (strcmp(l->names->v[i], name) != 0)
				continue;
			/* Without the name the result could not say why;
			 * the command is stopped all the same. */
			if (l->revoked == NULL)
				l->revoked = strdup(name);
			if (write(l->fd[1], "r", 1) != 1) {
				/* Full: it is readable already. */
			}
			n++;
			break;
		}
	pthread_mutex_unlock(&cmdrun_live_mu);
	return n;
}

/* What the proxy's callbacks see: the command's hosts, and where its
 * refusals are collected (the proxy calls from its own threads). */
struct cmdrun_net {
	const struct manifest	*m;
	const struct grant	*g;
	struct buf		*denials;
	pthread_mutex_t		 lock;
};

static int
cmdrun_allow_host(void *arg, const char *host, unsigned port,
    struct buf *why)
{
	const struct cmdrun_net *n = arg;
	size_t i;

	(void)port;
	for (i = 0; i < n->m->deny_domains.n; i++)
		if (hostpat_match(n->m->deny_domains.v[i], host,
		    strlen(host))) {
			buf_printf(why, "deny.commands domains \"%s\"",
			    n->m->deny_domains.v[i]);
			return 0;
		}
	for (i = 0; i < n->g->domains.n; i++)
		if (hostpat_match(n->g->domains.v[i], host, strlen(host)))
			return 1;
	buf_puts(why, "no grant of the command names the host");
	return 0;
}

static void
cmdrun_denied(void *arg, const char *what)
{
	struct cmdrun_net *n = arg;

	pthread_mutex_lock(&n->lock);
	buf_printf(n->denials, "sandbox denied %s\n", what);
	pthread_mutex_unlock(&n->lock);
}

/* Keeps in domains only the patterns hosts lists too. */
static void
cmdrun_keep_hosts(struct grant_strv *domains, const struct manifest_strs *hosts)
{
	size_t i, k, n = 0;
	int keep;

	for (i = 0; i < domains->n; i++) {
		for (keep = 0, k = 0; k < hosts->n && !keep; k++)
			keep = strcmp(domains->v[i], hosts->v[k]) == 0;
		if (keep)
			domains->v[n++] = domains->v[i];
		else
			free(domains->v[i]);
	}
	domains->n = n;
	if (domains->v != NULL)
		domains->v[n] = NULL;
}

/* The proxy's announcement, for every client that honours one. */
static int
cmdrun_proxy_env(struct grant *g)
{
	static const char *const names[] = { "HTTP_PROXY", "HTTPS_PROXY",
	    "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", NULL };
	char **nv, url[64];
	size_t i, n;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d",
	    ENVELOPE_PROXY_PORT);
	for (n = 0; names[n] != NULL; n++)
		;
	if ((nv = reallocarray(g->env.v, g->env.n + n + 1,
	    sizeof(*nv))) == NULL)
		return WARD_ENOMEM;
	g->env.v = nv;
	for (i = 0; i < n; i++) {
		if (asprintf(&g->env.v[g->env.n], "%s=%s", names[i],
		    url) == -1)
			return WARD_ENOMEM;
		g->env.v[++g->env.n] = NULL;
	}
	g->spec.envp = g->env.v;
	return 0;
}

/* The IP literals among the granted domains: the only raw addresses the
 * proxy lets through, and private ones only if named. */
static int
cmdrun_addrs(const struct grant *g, const char ***out, size_t *n)
{
	unsigned char a[16];
	size_t i;

	*n = 0;
	if ((*out = calloc(g->domains.n + 1, sizeof(**out))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < g->domains.n; i++)
		if (inet_pton(AF_INET, g->domains.v[i], a) == 1 ||
		    inet_pton(AF_INET6, g->domains.v[i], a) == 1)
			(*out)[(*n)++] = g->domains.v[i];
	return 0;
}

/* 1 when the user has a vault (nothing to inject or redact otherwise). */
static int
cmdrun_have_vault(void)
{
	struct stat st;
	char *dir = NULL, p[4096];
	int have;

	if (xdg_dir(XDG_DATA, &dir) != 0)
		return 1;	/* cannot tell: look, and fail if it is bad */
	snprintf(p, sizeof(p), "%s/vault", dir);
	free(dir);
	have = lstat(p, &st) == 0;
	return have;
}

/*
 * The secrets every part's grant names, as NAME=value in the command's
 * environment (never in argv, never in the agent). A revoked secret stops
 * the command: returns 1 with the reason in r. A [secrets.NAME] hosts list
 * narrows the hosts the command may reach. Returns 0, 1 or a WARD_E*.
 */
static int
cmdrun_inject(const struct manifest *m, struct grant *g,
    struct cmdrun_live *live, struct cmdrun_result *r, struct buf *err)
{
	struct vault *v = NULL;
	struct buf kv;
	unsigned char *val = NULL;
	char **nv;
	size_t i, j, len;
	int rc = 0;

	if (g->secrets.n == 0)
		return 0;
	if ((rc = vault_open(getenv("WARD_VAULT_PASSPHRASE"), &v, err)) != 0)
		return rc;
	buf_init(&kv, 0);
	for (i = 0; i < g->secrets.n && rc == 0; i++) {
		rc = vault_get(v, g->secrets.v[i], &val, &len, err);
		if (rc == WARD_EDENIED) {
			r->reason = "a secret this command's grant names is "
			    "revoked";
			free(r->rule);
			r->rule = strdup(g->secrets.v[i]);
			r->decision = CMDPAT_DENY;
			rc = 1;
			break;
		}
		if (rc != 0)
			break;
		buf_reset(&kv);
		if (buf_printf(&kv, "%s=", g->secrets.v[i]) != 0 ||
		    buf_add(&kv, val, len) != 0 ||
		    memchr(val, '\0', len) != NULL ||
		    (nv = reallocarray(g->env.v, g->env.n + 2,
		    sizeof(*nv))) == NULL) {
			rc = WARD_ENOMEM;
			break;
		}
		g->env.v = nv;
		g->env.v[g->env.n++] = buf_take(&kv);
		g->env.v[g->env.n] = NULL;
		vault_value_free(val);
		val = NULL;
		/* A secret limited to some hosts limits the command. */
		for (j = 0; j < m->nsecrets; j++)
			if (strcmp(m->secrets[j].name, g->secrets.v[i]) == 0 &&
			    m->secrets[j].has_hosts)
				cmdrun_keep_hosts(&g->domains,
				    &m->secrets[j].hosts);
	}
	if (val != NULL)
		vault_value_free(val);
	buf_free(&kv);
	/* Listed before the vault's lock is let go: see cmdrun_live. */
	if (rc == 0 && (rc = cmdrun_live_add(live, &g->secrets)) != 0)
		buf_printf(err, "sandbox: cannot make a pipe: %s",
		    strerror(errno));
	vault_free(v);
	g->spec.envp = g->env.v;
	return rc;
}

int
cmdrun_redactor(struct redact **rp, struct buf *err)
{
	struct vault *v = NULL;
	struct vault_pair *pairs = NULL;
	size_t n = 0;
	int rc;

	*rp = NULL;
	if (!cmdrun_have_vault())
		return 0;
	if ((rc = vault_open(getenv("WARD_VAULT_PASSPHRASE"), &v, err)) != 0)
		return rc;
	if ((rc = vault_pairs(v, &pairs, &n)) == 0 && n > 0)
		rc = redact_new(pairs, n, rp);
	free(pairs);
	vault_free(v);
	return rc;
}

int
cmdrun_redact_buf(struct redact *rd, struct buf *b)
{
	struct buf o;
	int rc;

	buf_init(&o, 0);
	if ((rc = redact_write(rd, b->data ? b->data : "", b->len, &o)) == 0 &&
	    (rc = redact_flush(rd, &o)) == 0) {
		buf_reset(b);
		rc = buf_add(b, o.data ? o.data : "", o.len);
	}
	buf_free(&o);
	return rc;
}

/* Rewrites the spill file redacted (same name, replaced by rename). */
static int
cmdrun_redact_file(struct redact *rd, const char *path)
{
	struct buf o;
	char chunk[65536], *tmp = NULL;
	ssize_t n;
	int in = -1, out = -1, rc = 0;

	buf_init(&o, 0);
	if (asprintf(&tmp, "%s.redacted", path) == -1)
		return WARD_ENOMEM;
	if ((in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    (out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		rc = WARD_EIO;
		goto out;
	}
	while (rc == 0 && (n = read(in, chunk, sizeof(chunk))) > 0) {
		buf_reset(&o);
		if ((rc = redact_write(rd, chunk, (size_t)n, &o)) == 0 &&
		    o.len > 0 && write(out, o.data, o.len) != (ssize_t)o.len)
			rc = WARD_EIO;
	}
	buf_reset(&o);
	if (rc == 0 && (rc = redact_flush(rd, &o)) == 0 && o.len > 0 &&
	    write(out, o.data, o.len) != (ssize_t)o.len)
		rc = WARD_EIO;
	if (rc == 0 && (fsync(out) == -1 || rename(tmp, path) == -1))
		rc = WARD_EIO;
out:
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	if (rc != 0) {
		(void)unlink(tmp);
		(void)unlink(path);	/* unredacted output must not stay */
	}
	free(tmp);
	buf_free(&o);
	return rc;
}

int
cmdrun(const struct policy *pol, const char *root, const char *cmd,
    const struct cmdrun_opts *o, struct cmdrun_result *r, struct buf *err)
{
	struct cmdpat_result dec;
	struct grant g;
	struct cmdrun_net net;
	struct proxy_policy pp;
	struct proxy *px = NULL;
	struct redact *red = NULL;
	struct cmdrun_live live;
	struct buf fs;
	const char **addrs = NULL;
	size_t naddrs;
	int sv[2] = { -1, -1 }, rc, locked = 0;

	memset(r, 0, sizeof(*r));
	memset(&g, 0, sizeof(g));
	memset(&live, 0, sizeof(live));
	live.fd[0] = live.fd[1] = -1;
	buf_init(&r->denials, 64 * 1024);
	if ((rc = policy_command(pol, cmd, &dec, err)) != 0)
		return rc;
	r->decision = dec.decision;
	r->reason = dec.reason;
	if (dec.rule != NULL && (r->rule = strdup(dec.rule->text)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	if (dec.decision == CMDPAT_DENY ||
	    (dec.decision == CMDPAT_PROMPT && !o->prompt_ok))
		goto out;	/* refused: a result, not an error */
	if ((rc = grant_build(pol, root, &dec, o->envp, &g, err)) != 0)
		goto out;
	if ((rc = cmdrun_inject(policy_manifest(pol), &g, &live, r,
	    err)) == 1) {
		rc = 0;
		goto out;	/* revoked: refused, a result */
	}
	if (rc != 0 || (rc = cmdrun_redactor(&red, err)) != 0)
		goto out;
	g.spec.command = cmd;
	if (o->timeout_s > 0)
		g.spec.timeout_ms = o->timeout_s * 1000;
	g.spec.spill_path = o->spill_path;
	g.spec.stdin_fd = o->stdin_fd;
	g.spec.cancel_fd = live.fd[0];
	if (g.domains.n > 0) {
		memset(&net, 0, sizeof(net));
		net.m = policy_manifest(pol);
		net.g = &g;
		net.denials = &r->denials;
		pthread_mutex_init(&net.lock, NULL);
		locked = 1;
		if ((rc = cmdrun_addrs(&g, &addrs, &naddrs)) != 0 ||
		    (rc = cmdrun_proxy_env(&g)) != 0)
			goto out;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sv) == -1) {
			buf_printf(err, "sandbox: cannot make the proxy's "
			    "socket: %m");
			rc = WARD_ESYS;
			goto out;
		}
		memset(&pp, 0, sizeof(pp));
		pp.allow_host = cmdrun_allow_host;
		pp.denied = cmdrun_denied;
		pp.arg = &net;
		pp.allow_addrs = addrs;
		pp.nallow_addrs = naddrs;
		if ((rc = proxy_start(&pp, sv[0], &px, err)) != 0)
			goto out;
		sv[0] = -1;	/* the proxy's now */
		g.spec.net_fd = sv[1];
	}
	rc = envelope_run(&g.spec, &r->env, err);
	cmdrun_live_remove(&live, &r->revoked);
	if (rc == 0)
		r->ran = 1;
	/* The paths its messages say the view refused; the proxy's
	 * threads may still be adding to denials. */
	buf_init(&fs, 0);
	if (rc == 0 && (rc = denial_scan(&g.spec, r->env.out.data,
	    r->env.out.len, &fs)) > 0) {
		if (locked)
			pthread_mutex_lock(&net.lock);
		rc = buf_add(&r->denials, fs.data, fs.len);
		if (rc == WARD_ETOOBIG)
			rc = 0;		/* the network's filled the list */
		if (locked)
			pthread_mutex_unlock(&net.lock);
	}
	buf_free(&fs);
	/* Only a command killed for it was stopped by a revocation. */
	if (rc == 0 && !r->env.cancelled) {
		free(r->revoked);
		r->revoked = NULL;
	}
	/* Nothing a command prints reaches anyone with a secret in it: the
	 * output, the spill file and the proxy's refusals. */
	if (rc == 0 && red != NULL &&
	    ((rc = cmdrun_redact_buf(red, &r->env.out)) != 0 ||
	    (rc = cmdrun_redact_buf(red, &r->denials)) != 0 ||
	    (o->spill_path != NULL && access(o->spill_path, F_OK) == 0 &&
	    (rc = cmdrun_redact_file(red, o->spill_path)) != 0)))
		buf_puts(err, "sandbox: the output could not be redacted");
out:
	cmdrun_live_remove(&live, NULL);
	redact_free(red);
	/* The command is gone; its proxy goes with it. */
	proxy_stop(px);
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (locked)
		pthread_mutex_destroy(&net.lock);
	free(addrs);
	grant_clear(&g);
	cmdpat_result_clear(&dec);
	if (rc != 0)
		cmdrun_result_clear(r);
	return rc;
}

void
cmdrun_result_clear(struct cmdrun_result *r)
{
	if (r == NULL)
		return;
	free(r->rule);
	free(r->revoked);
	if (r->ran)
		envelope_result_clear(&r->env);
	buf_free(&r->denials);
	memset(r, 0, sizeof(*r));
}

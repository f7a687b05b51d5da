/*
 * Decide, build the envelope, serve its network, run; see cmdrun.h.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../policy/hostpat.h"
#include "cmdrun.h"
#include "grant.h"
#include "proxy.h"

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

int
cmdrun(const struct policy *pol, const char *root, const char *cmd,
    const struct cmdrun_opts *o, struct cmdrun_result *r, struct buf *err)
{
	struct cmdpat_result dec;
	struct grant g;
	struct cmdrun_net net;
	struct proxy_policy pp;
	struct proxy *px = NULL;
	const char **addrs = NULL;
	size_t naddrs;
	int sv[2] = { -1, -1 }, rc, locked = 0;

	memset(r, 0, sizeof(*r));
	memset(&g, 0, sizeof(g));
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
	g.spec.command = cmd;
	if (o->timeout_s > 0)
		g.spec.timeout_ms = o->timeout_s * 1000;
	g.spec.spill_path = o->spill_path;
	g.spec.stdin_fd = o->stdin_fd;
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
	if ((rc = envelope_run(&g.spec, &r->env, err)) == 0)
		r->ran = 1;
out:
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
	if (r->ran)
		envelope_result_clear(&r->env);
	buf_free(&r->denials);
	memset(r, 0, sizeof(*r));
}

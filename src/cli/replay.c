/*
 * `ward replay SESSION` (DESIGN §4): re-runs the session's agent component
 * against the model replies and tool results its audit log recorded, in
 * this process (no daemon, no model, no project access), and reports the
 * first divergence.
 */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "../daemon/host.h"
#include "../daemon/replay.h"
#include "../lib/err.h"
#include "../lib/xdg.h"
#include "cli.h"

#define REPLAY_ID_LEN	32	/* session.h's SESSION_ID_LEN */

static void
replay_usage(FILE *f)
{
	fputs("usage: ward replay [--agent FILE] SESSION\n\n"
	    "Re-runs a recorded session's agent component against the model "
	    "replies and\ntool results in its audit log "
	    "($XDG_STATE_HOME/ward/sessions/SESSION/audit.log),\nwhich must "
	    "verify first, and reports the first place where the agent did\n"
	    "something else than the log records. Nothing is sent to a model "
	    "and no tool runs.\n\n"
	    "  --agent FILE   agent component (default: agent.wasm beside "
	    "ward)\n\n"
	    "Exit: 0 no divergence, 1 a divergence or a log that does not "
	    "verify,\n2 usage, 111 system error.\n", f);
}

static int
replay_id_ok(const char *id)
{
	return strlen(id) == REPLAY_ID_LEN &&
	    strspn(id, "0123456789abcdef") == REPLAY_ID_LEN;
}

int
cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent",	required_argument, NULL, 'a' },
		{ "help",	no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct host_limits lim;
	struct replay_report rep;
	struct host *h = NULL;
	struct buf err;
	unsigned char pk[32];
	char exe[PATH_MAX], agent[PATH_MAX];
	char *state = NULL, *log = NULL, *cache = NULL;
	const char *agent_path = NULL;
	ssize_t len;
	int c, rc, ex = WARD_EXIT_SYSERR, have_pk;

	memset(&rep, 0, sizeof(rep));
	buf_init(&rep.why, 0);
	buf_init(&err, 4096);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			agent_path = optarg;
			break;
		case 'h':
			replay_usage(stdout);
			ex = WARD_EXIT_OK;
			goto out;
		default:
			replay_usage(stderr);
			ex = WARD_EXIT_USAGE;
			goto out;
		}
	}
	if (optind + 1 != argc || !replay_id_ok(argv[optind])) {
		if (optind + 1 == argc)
			fprintf(stderr, "ward replay: '%s' is not a session id "
			    "(32 lower-case hex digits)\n", argv[optind]);
		else
			replay_usage(stderr);
		ex = WARD_EXIT_USAGE;
		goto out;
	}
	if (agent_path == NULL) {
		if ((len = readlink("/proc/self/exe", exe,
		    sizeof(exe) - 1)) <= 0) {
			fprintf(stderr, "ward replay: cannot find my binary\n");
			goto out;
		}
		exe[len] = '\0';
		snprintf(agent, sizeof(agent), "%s/agent.wasm", dirname(exe));
		agent_path = agent;
	}
	if (xdg_dir(XDG_STATE, &state) != 0) {
		fprintf(stderr, "ward replay: cannot find the state "
		    "directory\n");
		goto out;
	}
	if (asprintf(&log, "%s/sessions/%s/audit.log", state,
	    argv[optind]) == -1)
		log = NULL;
	if (asprintf(&cache, "%s/cache", state) == -1)
		cache = NULL;
	if (log == NULL || cache == NULL)
		goto out;
	if (access(log, F_OK) != 0) {
		fprintf(stderr, "ward replay: no session %s (%s)\n",
		    argv[optind], log);
		ex = WARD_EXIT_FAIL;
		goto out;
	}
	/* Without a pinned key no checkpoint verifies: the log is refused. */
	rc = audit_key_pinned(pk, &err);
	if (rc != 0 && rc != WARD_ENOENT) {
		fprintf(stderr, "ward replay: %s\n", err.data);
		goto out;
	}
	have_pk = rc == 0;
	buf_reset(&err);
	memset(&lim, 0, sizeof(lim));
	if (xdg_mkdirs(cache) != 0 ||
	    (rc = host_new(&h, agent_path, cache, &lim, &err)) != 0) {
		fprintf(stderr, "ward replay: agent component %s: %s\n",
		    agent_path, err.len ? err.data : "cannot load");
		goto out;
	}
	rc = replay_run(h, log, have_pk ? pk : NULL, &rep, &err);
	if (rc == WARD_EPROTO) {
		fprintf(stderr, "ward replay: %s\n", err.data);
		ex = WARD_EXIT_FAIL;
	} else if (rc != 0) {
		fprintf(stderr, "ward replay: %s\n", err.len ? err.data :
		    ward_strerror(rc));
	} else if (rep.diverged) {
		printf("replay: %s\n", rep.why.data);
		ex = WARD_EXIT_FAIL;
	} else {
		printf("replay: %u model turn%s, %u tool call%s, no "
		    "divergence\n", rep.turns, rep.turns == 1 ? "" : "s",
		    rep.tool_calls, rep.tool_calls == 1 ? "" : "s");
		ex = WARD_EXIT_OK;
	}
out:
	host_free(h);
	replay_report_free(&rep);
	buf_free(&err);
	free(state);
	free(log);
	free(cache);
	return ex;
}

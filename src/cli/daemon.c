/*
 * `ward daemon`: serve the CLI (normally started by `ward run` itself), and
 * `ward daemon stop`.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "../daemon/server.h"
#include "../lib/err.h"
#include "../lib/proto.h"
#include "cli.h"
#include "client.h"

static void
daemon_usage(FILE *f)
{
	fprintf(f,
	    "usage: ward daemon [--agent FILE] [--socket PATH] "
	    "[--idle-timeout S]\n"
	    "                   [--agent-memory BYTES] [--agent-step-ms MS]\n"
	    "       ward daemon stop\n\n"
	    "Hosts the agent component and serves the CLI on a Unix socket "
	    "(mode 0600)\nunder $XDG_RUNTIME_DIR/ward (or "
	    "$XDG_STATE_HOME/ward/run). `ward run`\nstarts it when it is not "
	    "running. See doc/PROTOCOL.md.\n\n"
	    "  --agent FILE        agent component (default: agent.wasm "
	    "beside ward)\n"
	    "  --socket PATH       socket to serve (absolute; its directory must be\n"
	    "                      yours and writable by nobody else)\n"
	    "  --idle-timeout S    exit after S idle seconds (default 600; "
	    "0 never)\n"
	    "  --agent-memory N    linear memory cap of the agent in bytes "
	    "(default 256 MiB)\n"
	    "  --agent-step-ms MS  longest the agent may run without "
	    "calling the host\n"
	    "                      before it is stopped (default 5000)\n"
	    "  --ready-fd N        (used by ward run) report readiness on "
	    "fd N\n");
}

static int
daemon_stop(void)
{
	struct buf err;
	json_t *m, *r = NULL;
	char *path;
	int fd, rc = WARD_EXIT_FAIL;

	buf_init(&err, 1024);
	if ((path = server_socket_path(&err)) == NULL)
		goto out;
	/* Never start a daemon just to stop it. */
	if ((fd = client_dial_existing(path)) < 0) {
		printf("ward daemon: not running\n");
		rc = WARD_EXIT_OK;
		goto out;
	}
	m = json_pack("{s:s}", "type", "shutdown");
	if (proto_send(fd, m) == 0 && proto_recv(fd, &r, &err) == 0 &&
	    strcmp(proto_type(r), "bye") == 0) {
		/* Stopped means gone: the daemon holds its lock until it has
		 * exited, so wait for the lock before saying so. */
		if (client_wait_gone(path) == 0) {
			printf("ward daemon: stopped\n");
			rc = WARD_EXIT_OK;
		} else
			fprintf(stderr, "ward daemon: asked to stop, but it "
			    "is still running after 10 s\n");
	}
	json_decref(m);
	json_decref(r);
	close(fd);
out:
	free(path);
	buf_free(&err);
	return rc;
}

static int
daemon_number(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return *s != '\0' && *s != '-' && *end == '\0' && errno == 0 &&
	    *out <= max;
}

int
cmd_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent",		required_argument, NULL, 'a' },
		{ "socket",		required_argument, NULL, 's' },
		{ "idle-timeout",	required_argument, NULL, 'i' },
		{ "agent-memory",	required_argument, NULL, 'm' },
		{ "agent-step-ms",	required_argument, NULL, 't' },
		{ "ready-fd",		required_argument, NULL, 'r' },
		{ "help",		no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct server_opts o;
	struct buf err;
	unsigned long long n;
	char exe[PATH_MAX], agent[PATH_MAX], agent_real[PATH_MAX];
	ssize_t len;
	int c, ready = -1, rc;

	memset(&o, 0, sizeof(o));
	o.idle_timeout = 600;
	optind = 1;
	if (argc == 2 && strcmp(argv[1], "stop") == 0)
		return daemon_stop();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.agent_path = optarg;
			break;
		case 's':
			/* The daemon leaves its directory: no relative paths. */
			if (optarg[0] != '/') {
				fprintf(stderr, "ward daemon: --socket needs an "
				    "absolute path\n");
				return WARD_EXIT_USAGE;
			}
			o.socket_path = optarg;
			break;
		case 'i':
			if (!daemon_number(optarg, 86400 * 365, &n))
				goto bad;
			o.idle_timeout = (unsigned)n;
			break;
		case 'm':
			if (!daemon_number(optarg, 4ull << 30, &n) ||
			    n < (1u << 20))
				goto bad;
			o.limits.memory_bytes = n;
			break;
		case 't':
			if (!daemon_number(optarg, 3600000, &n) || n == 0)
				goto bad;
			o.limits.step_ms = (unsigned)n;
			break;
		case 'r':
			if (!daemon_number(optarg, 1024, &n) || n < 3)
				goto bad;
			ready = (int)n;
			break;
		case 'h':
			daemon_usage(stdout);
			return WARD_EXIT_OK;
		default:
			daemon_usage(stderr);
			return WARD_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ward daemon: unexpected argument '%s'\n",
		    argv[optind]);
		return WARD_EXIT_USAGE;
	}
	if (o.agent_path == NULL) {
		len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (len <= 0) {
			fprintf(stderr, "ward daemon: cannot find my binary\n");
			return WARD_EXIT_SYSERR;
		}
		exe[len] = '\0';
		snprintf(agent, sizeof(agent), "%s/agent.wasm", dirname(exe));
		o.agent_path = agent;
	}
	/* The daemon leaves the caller's directory (chdir "/"), so the agent
	 * path must not depend on it. */
	if (realpath(o.agent_path, agent_real) == NULL) {
		fprintf(stderr, "ward daemon: agent component %s: %s\n",
		    o.agent_path, strerror(errno));
		if (ready >= 0)
			dprintf(ready, "cannot open agent component %s: %s\n",
			    o.agent_path, strerror(errno));
		return WARD_EXIT_SYSERR;
	}
	o.agent_path = agent_real;
	buf_init(&err, 4096);
	o.ready_fd = ready;
	/* No vault value reaches daemon.log, whatever writes it. */
	if ((rc = server_log_start(&err)) == 0)
		rc = server_run(&o, &err);
	if (rc != 0) {
		fprintf(stderr, "ward daemon: %s\n", err.len ? err.data :
		    ward_strerror(rc));
		if (ready >= 0)
			dprintf(ready, "%s\n", err.len ? err.data :
			    ward_strerror(rc));
	}
	server_log_stop();
	buf_free(&err);
	return rc == 0 ? WARD_EXIT_OK : rc == WARD_EEXIST ? WARD_EXIT_FAIL :
	    WARD_EXIT_SYSERR;
bad:
	fprintf(stderr, "ward daemon: bad value '%s' (see ward daemon "
	    "--help)\n", optarg);
	return WARD_EXIT_USAGE;
}

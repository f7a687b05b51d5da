/*
 * Connecting to (and, when needed, starting) the daemon, and rendering a
 * session's transcript. The daemon is started detached with a pipe on
 * which it reports "ready" or why it could not start, so a broken setup is
 * reported at once instead of after a connect timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../daemon/server.h"
#include "../lib/err.h"
#include "../lib/proto.h"
#include "../lib/xdg.h"
#include "cli.h"
#include "client.h"

#define CLIENT_START_TIMEOUT_MS	120000	/* a cold compile can take a while */

int
client_dial_existing(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts `ward daemon --ready-fd N` detached (double fork, new session,
 * output to <state>/daemon.log) and waits for its verdict on the pipe. */
static int
client_spawn(struct buf *err)
{
	char exe[PATH_MAX], fdarg[16], *state = NULL, *log = NULL;
	char msg[4096];
	struct pollfd pfd;
	ssize_t n, r;
	pid_t pid;
	int p[2], logfd, rc = 0, st;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		buf_puts(err, "cannot find the ward binary");
		return WARD_ESYS;
	}
	exe[n] = '\0';
	if ((rc = xdg_dir(XDG_STATE, &state)) != 0 ||
	    asprintf(&log, "%s/daemon.log", state) == -1) {
		buf_puts(err, "cannot use ward's state directory");
		free(state);
		return rc ? rc : WARD_ENOMEM;
	}
	free(state);
	if (pipe2(p, O_CLOEXEC) == -1) {
		free(log);
		return WARD_ESYS;
	}
	if ((pid = fork()) == -1) {
		rc = WARD_ESYS;
		goto out;
	}
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		setsid();
		logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0600);
		dup2(open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
		if (logfd != -1) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		fcntl(p[1], F_SETFD, 0);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		execl(exe, "ward", "daemon", "--ready-fd", fdarg,
		    (char *)NULL);
		dprintf(p[1], "cannot run %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	waitpid(pid, &st, 0);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	n = 0;
	for (;;) {
		if (poll(&pfd, 1, CLIENT_START_TIMEOUT_MS) <= 0) {
			buf_printf(err, "the daemon did not start within %d s "
			    "(see %s)", CLIENT_START_TIMEOUT_MS / 1000, log);
			rc = WARD_ETIMEOUT;
			goto out;
		}
		r = read(p[0], msg + n, sizeof(msg) - 1 - (size_t)n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
		if ((size_t)n >= sizeof(msg) - 1)
			break;
	}
	msg[n] = '\0';
	if (strncmp(msg, "ready", 5) != 0) {
		msg[strcspn(msg, "\n")] = '\0';
		buf_printf(err, "the daemon failed to start: %s",
		    n > 0 ? msg : "it exited without saying why");
		rc = WARD_ESYS;
	}
out:
	close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	free(log);
	return rc;
}

/*
 * Says hello and checks the daemon speaks our protocol version. Returns
 * WARD_EEXIST when it is another build of ward or uses another state
 * directory: such a daemon must be replaced, not used.
 */
static int
client_hello(int fd, struct buf *err)
{
	char build[128], *state = NULL;
	const char *db, *ds;
	json_t *m, *r = NULL;
	json_int_t v;
	int rc;

	m = json_pack("{s:s, s:i}", "type", "hello", "version", PROTO_VERSION);
	if (m == NULL)
		return WARD_ENOMEM;
	rc = proto_send(fd, m);
	json_decref(m);
	if (rc == 0)
		rc = proto_recv(fd, &r, err);
	if (rc != 0) {
		if (err->len == 0)
			buf_printf(err, "the daemon did not answer hello: %s",
			    ward_strerror(rc));
		return rc;
	}
	v = json_integer_value(json_object_get(r, "version"));
	if (strcmp(proto_type(r), "error") == 0) {
		/* e.g. busy: report it as it is, never as a version problem. */
		buf_printf(err, "the daemon refused: %s",
		    json_string_value(json_object_get(r, "message")) ?
		    json_string_value(json_object_get(r, "message")) : "?");
		rc = WARD_EIO;
	} else if (strcmp(proto_type(r), "hello") != 0 || v != PROTO_VERSION) {
		buf_printf(err, "the running daemon speaks protocol version "
		    "%lld, this ward speaks %d; stop it with `ward daemon "
		    "stop`", (long long)v, PROTO_VERSION);
		rc = WARD_EPROTO;
	} else {
		db = json_string_value(json_object_get(r, "build"));
		ds = json_string_value(json_object_get(r, "state"));
		if (proto_build_id(build, sizeof(build)) != 0 ||
		    xdg_dir(XDG_STATE, &state) != 0 || db == NULL ||
		    ds == NULL || strcmp(db, build) != 0 ||
		    strcmp(ds, state) != 0)
			rc = WARD_EEXIST;
	}
	free(state);
	json_decref(r);
	return rc;
}

int
client_wait_gone(const char *path)
{
	struct timespec ts = { 0, 20 * 1000000L };
	char lockpath[PATH_MAX];
	int i, fd, rc = -1;

	snprintf(lockpath, sizeof(lockpath), "%s.lock", path);
	if ((fd = open(lockpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;
	for (i = 0; i < 500; i++) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			flock(fd, LOCK_UN);
			rc = 0;
			break;
		}
		nanosleep(&ts, NULL);
	}
	close(fd);
	return rc;
}

/* Connects to the daemon at path, starting one if nobody serves it. */
static int
client_open(const char *path, struct buf *err)
{
	struct timespec ts = { 0, 20 * 1000000L };
	int fd, rc, i;

	if ((fd = client_dial_existing(path)) >= 0)
		return fd;
	rc = client_spawn(err);
	fd = client_dial_existing(path);
	/* Losing a start race to another client is fine: the winner may
	 * still be loading the agent, so wait for its socket. */
	if (fd < 0 && rc != 0 && err->data != NULL &&
	    strstr(err->data, "another ward daemon") != NULL) {
		for (i = 0; fd < 0 && i < CLIENT_START_TIMEOUT_MS / 20; i++) {
			nanosleep(&ts, NULL);
			fd = client_dial_existing(path);
		}
		if (fd >= 0)
			buf_reset(err);
	}
	if (fd < 0 && rc != 0)
		return rc;
	if (fd < 0) {
		buf_printf(err, "cannot connect to %s: %s", path,
		    strerror(errno));
		return WARD_ESYS;
	}
	return fd;
}

/* Asks the daemon on fd to stop and waits until it has exited. */
static int
client_replace(int fd, const char *path)
{
	struct buf err;
	json_t *m, *r = NULL;
	int rc = -1;

	buf_init(&err, 1024);
	m = json_pack("{s:s}", "type", "shutdown");
	if (m != NULL && proto_send(fd, m) == 0 &&
	    proto_recv(fd, &r, &err) == 0 &&
	    strcmp(proto_type(r), "bye") == 0)
		rc = client_wait_gone(path);
	json_decref(m);
	json_decref(r);
	buf_free(&err);
	return rc;
}

int
client_connect(struct buf *err)
{
	char *path;
	int fd, rc, attempt;

	if ((path = server_socket_path(err)) == NULL)
		return WARD_ESYS;
	for (attempt = 0;; attempt++) {
		if ((fd = client_open(path, err)) < 0) {
			rc = fd;
			break;
		}
		if ((rc = client_hello(fd, err)) == 0) {
			rc = fd;
			break;
		}
		if (rc == WARD_EEXIST && attempt == 0) {
			/* A daemon of another build (or state dir) would run
			 * code and keep files that are not this ward's. */
			fprintf(stderr, "ward: replacing a daemon that runs "
			    "another build of ward\n");
			if (client_replace(fd, path) == 0) {
				close(fd);
				continue;
			}
		}
		if (rc == WARD_EEXIST)
			buf_puts(err, "a daemon of another build of ward is "
			    "serving and would not stop; stop it with `ward "
			    "daemon stop`");
		close(fd);
		break;
	}
	free(path);
	return rc;
}

void
client_put_safe(FILE *out, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	for (; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\t' || (*p >= 0x20 && *p != 0x7f &&
		    !(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)))
			fputc(*p, out);
		else if (*p == 0xc2) {
			/* C1 controls (U+0080..U+009F) include CSI. */
			fprintf(out, "\\u%04x", p[1]);
			p++;
		} else if (*p == 0x7f)
			fputs("^?", out);
		else
			fprintf(out, "^%c", *p + '@');
	}
}

static void
client_event(FILE *out, const json_t *m)
{
	const char *kind = json_string_value(json_object_get(m, "kind"));
	const char *text = json_string_value(json_object_get(m, "text"));
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *args = json_string_value(json_object_get(m, "arguments"));
	const char *sum = json_string_value(json_object_get(m, "summary"));

	if (kind == NULL)
		return;
	if (strcmp(kind, "assistant") == 0 && text != NULL) {
		client_put_safe(out, text);
		fputs("\n\n", out);
	} else if (strcmp(kind, "tool_call") == 0 && name != NULL) {
		fputs("> ", out);
		client_put_safe(out, name);
		fputc(' ', out);
		client_put_safe(out, args != NULL ? args :
		    "(arguments not shown)");
		fputc('\n', out);
	} else if ((strcmp(kind, "tool_result") == 0 ||
	    strcmp(kind, "tool_error") == 0) && sum != NULL) {
		fputs(kind[5] == 'e' ? "  ! " : "  = ", out);
		client_put_safe(out, sum);
		fputs("\n\n", out);
	} else if (strcmp(kind, "print") == 0 && text != NULL) {
		client_put_safe(out, text);
		fputc('\n', out);
	} else if ((strcmp(kind, "warn") == 0 || strcmp(kind, "error") == 0) &&
	    text != NULL) {
		fprintf(out, "%s: ", kind[0] == 'w' ? "warning" : "error");
		client_put_safe(out, text);
		fputc('\n', out);
	}
	fflush(out);
}

int
client_run_session(int fd, const json_t *req, FILE *out, char sid[33])
{
	struct buf err;
	json_t *m = NULL, *a;
	const char *type, *s;
	int rc, code = WARD_EXIT_SYSERR;

	buf_init(&err, 4096);
	if (proto_send(fd, req) != 0) {
		fprintf(stderr, "ward: the daemon went away\n");
		goto out;
	}
	for (;;) {
		json_decref(m);
		m = NULL;
		buf_reset(&err);
		if ((rc = proto_recv(fd, &m, &err)) != 0) {
			fprintf(stderr, "ward: lost the daemon: %s\n",
			    err.len ? err.data : ward_strerror(rc));
			goto out;
		}
		type = proto_type(m);
		if (strcmp(type, "event") == 0) {
			client_event(out, m);
		} else if (strcmp(type, "ask") == 0) {
			/* Non-interactive: nobody is there to answer. */
			a = json_pack("{s:s, s:n}", "type", "answer", "text");
			proto_send(fd, a);
			json_decref(a);
		} else if (strcmp(type, "permit") == 0) {
			/* Nobody to ask: a deny, and the model is told why. */
			a = json_pack("{s:s, s:s, s:n, s:b}", "type",
			    "permit_answer", "answer", "deny", "pattern",
			    "unattended", 1);
			proto_send(fd, a);
			json_decref(a);
		} else if (strcmp(type, "done") == 0) {
			break;
		} else if (strcmp(type, "error") == 0) {
			s = json_string_value(json_object_get(m, "message"));
			fprintf(stderr, "ward: daemon error: %s\n",
			    s ? s : "unknown");
			code = WARD_EXIT_FAIL;
			goto out;
		}
	}
	s = json_string_value(json_object_get(m, "session"));
	if (sid != NULL && s != NULL && strlen(s) == 32)
		memcpy(sid, s, 33);
	if (json_is_true(json_object_get(m, "ok"))) {
		const char *oc = json_string_value(json_object_get(m,
		    "outcome"));
		json_int_t turns = json_integer_value(json_object_get(m,
		    "turns"));
		json_int_t calls = json_integer_value(json_object_get(m,
		    "tool_calls"));

		if (oc != NULL && strcmp(oc, "finished") == 0) {
			fprintf(stderr, "ward: session %s finished: %lld "
			    "turn%s, %lld tool call%s\n", s ? s : "?",
			    (long long)turns, turns == 1 ? "" : "s",
			    (long long)calls, calls == 1 ? "" : "s");
			code = WARD_EXIT_OK;
		} else {
			fprintf(stderr, "ward: session %s stopped after %lld "
			    "turns without a final answer (max turns)\n",
			    s ? s : "?", (long long)turns);
			code = WARD_EXIT_FAIL;
		}
	} else {
		fprintf(stderr, "ward: session %s failed: ", s ? s : "?");
		client_put_safe(stderr, json_string_value(json_object_get(m,
		    "error")) ? json_string_value(json_object_get(m,
		    "error")) : "unknown error");
		fputc('\n', stderr);
		s = json_string_value(json_object_get(m, "error_kind"));
		code = s != NULL && strcmp(s, "refused") == 0 ?
		    WARD_EXIT_POLICY : WARD_EXIT_FAIL;
	}
out:
	json_decref(m);
	buf_free(&err);
	return code;
}

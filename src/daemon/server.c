/*
 * The daemon's socket server. The socket lives in a 0700 directory and is
 * itself 0600; peers are also checked with SO_PEERCRED, so only the user
 * who runs the daemon can talk to it. Each connection gets a thread; frames
 * are capped and a malformed one ends only its own connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/keyfile.h"
#include "../lib/proto.h"
#include "../lib/utf8.h"
#include "../lib/xdg.h"
#include "../sandbox/cmdrun.h"
#include "../vault/redact.h"
#include "../vault/vault.h"
#include "server.h"
#include "session.h"

#define SERVER_MAX_CONNS	32

struct server {
	struct host	*host;
	char		*state_dir;
	atomic_int	 conns;
	atomic_int	 shutdown;
	int		 lfd;		/* listening socket */
	char		 build[128];	/* proto_build_id() */
	time_t		 last_active;
	pthread_mutex_t	 mu;
};

struct conn {
	struct server	*srv;
	int		 fd;
	int		 gone;		/* a send failed: the client left */
	int		 cancel;	/* the client cancelled the turn */
	int		 bad;		/* it sent a malformed frame */
	int		 hold;		/* events may wait (session_sink.hold) */
	uint64_t	 held_since;	/* when the oldest waiting one came */
	struct buf	 out;		/* events kept back, as frames */
};

/*
 * The daemon's own log (daemon.log: its stdout and stderr). Every line
 * goes through the vault's redactor before it is written, so that a value
 * an error message happens to quote (a provider's error echoing a
 * request, a command's output in a failure) never lands there. fds 1 and
 * 2 become a pipe read by one thread, which redacts each line and writes
 * it to where fd 2 went before. That thread never writes to fd 1 or 2.
 */
#define SERVER_LOG_LINE_MAX	(64u << 10)	/* longer: redacted in parts */
#define SERVER_LOG_IDLE_MS	500		/* a partial line is let out */

struct server_log {
	int		 on;
	pthread_t	 t;
	int		 in;		/* the pipe's read end */
	int		 out;		/* where the log goes (old fd 2) */
	int		 old1;		/* fd 1 as it was */
	int		 stop[2];	/* stop[1] closed: drain and end */
	char		*vault;		/* the vault's path */
	struct stat	 vst;		/* the vault the redactor was built
					   from (st_ino 0: none yet) */
	int		 have_rd;	/* rd is current (NULL: no vault) */
	struct redact	*rd;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 busy;		/* the thread holds bytes it read */
	int		 sync;		/* mu and cv are initialised */
};

static struct server_log server_log;

static void
server_log_clear(struct server_log *l)
{
	if (l->in != -1)
		close(l->in);
	if (l->out != -1)
		close(l->out);
	if (l->old1 != -1)
		close(l->old1);
	if (l->stop[0] != -1)
		close(l->stop[0]);
	if (l->stop[1] != -1)
		close(l->stop[1]);
	redact_free(l->rd);
	free(l->vault);
	if (l->sync) {
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
	}
	memset(l, 0, sizeof(*l));
	l->in = l->out = l->old1 = l->stop[0] = l->stop[1] = -1;
}

/* 1 when the vault is not the one rd was built from. */
static int
server_log_stale(struct server_log *l, struct stat *now)
{
	if (stat(l->vault, now) == -1)
		memset(now, 0, sizeof(*now));
	return !l->have_rd || now->st_dev != l->vst.st_dev ||
	    now->st_ino != l->vst.st_ino || now->st_size != l->vst.st_size ||
	    now->st_mtim.tv_sec != l->vst.st_mtim.tv_sec ||
	    now->st_mtim.tv_nsec != l->vst.st_mtim.tv_nsec;
}

/* Writes one line (or part of one) to the log, redacted. A line that
 * cannot be redacted is withheld: fail closed. */
static void
server_log_emit(struct server_log *l, const char *p, size_t n)
{
	struct stat now;
	struct buf b, err;
	int rc = 0;

	buf_init(&b, 0);
	buf_init(&err, 0);
	if (server_log_stale(l, &now)) {
		redact_free(l->rd);
		l->rd = NULL;
		l->have_rd = 0;
		if ((rc = cmdrun_redactor(&l->rd, &err)) == 0) {
			l->have_rd = 1;
			l->vst = now;
		}
	}
	if (rc == 0 && (rc = buf_add(&b, p, n)) == 0 && l->rd != NULL)
		rc = cmdrun_redact_buf(l->rd, &b);
	if (rc != 0) {
		buf_reset(&b);
		buf_printf(&b, "ward daemon: [a log line was withheld: it "
		    "could not be redacted: %s]\n", err.len > 0 ? err.data :
		    ward_strerror(rc));
	}
	if (b.len > 0)
		(void)keyfile_write_all(l->out, b.data, b.len);
	buf_free(&b);
	buf_free(&err);
}

static void *
server_log_main(void *arg)
{
	struct server_log *l = arg;
	struct pollfd pf[2];
	struct buf line;
	char chunk[8192], *nl;
	size_t k;
	ssize_t n;
	int stopping = 0, eof, rv;

	buf_init(&line, 0);
	for (;;) {
		pf[0].fd = l->in;
		pf[0].events = POLLIN;
		pf[1].fd = stopping ? -1 : l->stop[0];
		pf[1].events = POLLIN;
		rv = poll(pf, 2, stopping ? 0 : SERVER_LOG_IDLE_MS);
		if (rv == -1 && errno == EINTR)
			continue;
		if (rv > 0 && pf[1].revents != 0)
			stopping = 1;	/* what is in the pipe, then out */
		n = -2;		/* not read */
		pthread_mutex_lock(&l->mu);
		l->busy = 1;
		pthread_mutex_unlock(&l->mu);
		if (rv > 0 && pf[0].revents != 0 &&
		    (n = read(l->in, chunk, sizeof(chunk))) > 0 &&
		    buf_add(&line, chunk, (size_t)n) != 0)
			buf_reset(&line);	/* out of memory: dropped */
		/* The end: every writer is gone (EOF), or asked to stop and
		 * nothing is left to read. */
		eof = n == 0 || (n == -1 && errno != EAGAIN &&
		    errno != EINTR) || (stopping && n <= 0) || rv == -1;
		while (line.len > 0 && (nl = memchr(line.data, '\n',
		    line.len)) != NULL) {
			k = (size_t)(nl - line.data) + 1;
			server_log_emit(l, line.data, k);
			memmove(line.data, line.data + k, line.len - k);
			line.len -= k;
		}
		/* A partial line goes out when it grows too long, when the
		 * writer went quiet, or at the end. */
		if (line.len > 0 && (line.len >= SERVER_LOG_LINE_MAX ||
		    rv == 0 || eof)) {
			server_log_emit(l, line.data, line.len);
			buf_reset(&line);
		}
		pthread_mutex_lock(&l->mu);
		l->busy = 0;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		if (eof)
			break;
	}
	buf_free(&line);
	return NULL;
}

void
server_log_sync(void)
{
	struct server_log *l = &server_log;
	struct timespec until;
	int n, i;

	if (!l->on)
		return;
	fflush(stdout);
	fflush(stderr);
	/* Up to a second: the log must not hold a session up for long. */
	pthread_mutex_lock(&l->mu);
	for (i = 0; i < 100; i++) {
		if (!l->busy && (ioctl(l->in, FIONREAD, &n) == -1 || n == 0))
			break;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 10 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&l->cv, &l->mu, &until);
	}
	pthread_mutex_unlock(&l->mu);
}

int
server_log_start(struct buf *err)
{
	struct server_log *l = &server_log;
	char *dir = NULL;
	int p[2] = { -1, -1 }, rc = WARD_ESYS;

	memset(l, 0, sizeof(*l));
	l->in = l->out = l->old1 = l->stop[0] = l->stop[1] = -1;
	if (xdg_dir(XDG_DATA, &dir) != 0 ||
	    asprintf(&l->vault, "%s/vault", dir) == -1) {
		l->vault = NULL;
		buf_puts(err, "cannot find the vault to redact the log with");
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) == -1 || pipe2(l->stop, O_CLOEXEC) == -1 ||
	    (l->out = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (l->old1 = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
		buf_printf(err, "cannot set up the log: %s", strerror(errno));
		goto out;
	}
	l->in = p[0];
	p[0] = -1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->sync = 1;
	if (pthread_create(&l->t, NULL, server_log_main, l) != 0) {
		buf_puts(err, "cannot start the log's thread");
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	/* From here on nothing the process writes reaches the log raw. */
	if (dup2(p[1], STDOUT_FILENO) == -1 ||
	    dup2(p[1], STDERR_FILENO) == -1) {
		buf_printf(err, "cannot set up the log: %s", strerror(errno));
		close(l->stop[1]);
		l->stop[1] = -1;
		pthread_join(l->t, NULL);
		(void)dup2(l->old1, STDOUT_FILENO);
		(void)dup2(l->out, STDERR_FILENO);
		goto out;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	l->on = 1;
	rc = 0;
out:
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	if (rc != 0)
		server_log_clear(l);
	free(dir);
	return rc;
}

void
server_log_stop(void)
{
	struct server_log *l = &server_log;

	if (!l->on)
		return;
	l->on = 0;
	fflush(stdout);
	fflush(stderr);
	/* The pipe's last write ends go; the thread drains what is left. */
	(void)dup2(l->old1, STDOUT_FILENO);
	(void)dup2(l->out, STDERR_FILENO);
	close(l->stop[1]);
	l->stop[1] = -1;
	pthread_join(l->t, NULL);
	server_log_clear(l);
}

char *
server_socket_path(struct buf *err)
{
	char *dir, *path;
	int rc;

	if ((rc = xdg_dir(XDG_RUNTIME, &dir)) != 0) {
		buf_printf(err, "cannot use ward's runtime directory: %s",
		    ward_strerror(rc));
		return NULL;
	}
	if (asprintf(&path, "%s/daemon.sock", dir) == -1) {
		buf_puts(err, "out of memory");
		path = NULL;
	}
	free(dir);
	return path;
}

static void
server_touch(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	s->last_active = time(NULL);
	pthread_mutex_unlock(&s->mu);
}

static void
conn_error(int fd, const char *msg)
{
	json_t *m = json_pack("{s:s, s:s}", "type", "error", "message", msg);

	if (m != NULL)
		proto_send(fd, m);
	json_decref(m);
}

#define CONN_HOLD_MS	20
#define CONN_HOLD_BYTES	(64u << 10)

static uint64_t
conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends what conn_event kept back. Before any other frame to the client,
 * so that the order is the session's. */
static void
conn_flush(struct conn *c)
{
	if (c->out.len > 0 && proto_send_frames(c->fd, &c->out) == WARD_EIO)
		c->gone = 1;
}

/* The sink that forwards session events to the CLI. */
static void
conn_event(void *arg, json_t *ev)
{
	struct conn *c = arg;
	json_t *m = json_deep_copy(ev);

	if (m == NULL)
		return;
	json_object_set_new(m, "type", json_string("event"));
	if (c->out.len == 0)
		c->held_since = conn_now_ms();
	/* Kept while the session says so, but never long or much: the
	 * client shows quick tools within CONN_HOLD_MS either way. */
	if (proto_frame(m, &c->out) == 0 && c->hold &&
	    c->out.len < CONN_HOLD_BYTES &&
	    conn_now_ms() - c->held_since < CONN_HOLD_MS) {
		json_decref(m);
		return;
	}
	conn_flush(c);
	json_decref(m);
}

static void
conn_hold(void *arg, int on)
{
	struct conn *c = arg;

	if (!(c->hold = on))
		conn_flush(c);
}

/* A frame the client may send while a session runs that is not the
 * answer the session waits for: `cancel`, or a protocol error. */
static void
conn_stray(struct conn *c, const json_t *m)
{
	if (strcmp(proto_type(m), "cancel") == 0) {
		c->cancel = 1;
		return;
	}
	conn_error(c->fd, "unexpected message during a run");
	c->bad = 1;
}

/* The client went away (send failed, or the socket hung up) or cancelled
 * the turn: the session must not go on spending model turns for nobody. */
static int
conn_cancelled(void *arg)
{
	struct conn *c = arg;
	struct pollfd p = { c->fd, POLLIN | POLLRDHUP, 0 };
	struct buf err;
	json_t *m = NULL;

	if (c->gone || c->cancel || c->bad || poll(&p, 1, 0) != 1)
		return c->gone || c->cancel || c->bad;
	if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
		c->gone = 1;
		return 1;
	}
	buf_init(&err, 1024);
	if (proto_recv(c->fd, &m, &err) != 0)
		c->gone = 1;
	else
		conn_stray(c, m);
	json_decref(m);
	buf_free(&err);
	return c->gone || c->cancel || c->bad;
}

/*
 * Sends a `permit` frame and waits for the user's `permit_answer`. The
 * answer's pattern is only passed on: the session checks it is one of the
 * levels it offered.
 */
static int
conn_permit(void *arg, const struct session_permit *p, enum answer *a,
    char **pattern, int *unattended)
{
	struct conn *c = arg;
	struct buf err;
	json_t *q = NULL, *levels, *m = NULL;
	const char *ans, *pat;
	size_t i;
	int rc = WARD_EIO;

	*pattern = NULL;
	*unattended = 1;
	buf_init(&err, 1024);
	if (conn_cancelled(c))
		goto out;
	if ((levels = json_array()) == NULL)
		goto out;
	for (i = 0; i < p->nlevels; i++)
		json_array_append_new(levels, json_string(p->levels[i]));
	conn_flush(c);
	q = json_pack("{s:s, s:s, s:s, s:s, s:o, s:i}", "type", "permit",
	    "command", p->command, "line", p->line, "reason", p->reason,
	    "levels", levels, "recommended", (json_int_t)p->recommended);
	if (q == NULL || json_array_size(levels) != p->nlevels ||
	    proto_send(c->fd, q) != 0) {
		c->gone = 1;
		goto out;
	}
	if (proto_recv(c->fd, &m, &err) != 0) {
		c->gone = 1;
		goto out;
	}
	if (strcmp(proto_type(m), "permit_answer") != 0) {
		conn_stray(c, m);
		goto out;
	}
	ans = json_string_value(json_object_get(m, "answer"));
	pat = json_string_value(json_object_get(m, "pattern"));
	for (i = ANSWER_ALLOW; ans != NULL && i <= ANSWER_DENY_ALWAYS; i++)
		if (strcmp(ans, answer_name((enum answer)i)) == 0)
			break;
	if (ans == NULL || i > ANSWER_DENY_ALWAYS) {
		conn_error(c->fd, "permit_answer needs an \"answer\": allow, "
		    "allow-always, deny or deny-always");
		c->bad = 1;
		goto out;
	}
	*a = (enum answer)i;
	*unattended = json_is_true(json_object_get(m, "unattended"));
	if (pat != NULL && (*pattern = strdup(pat)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	rc = 0;
out:
	json_decref(q);
	json_decref(m);
	buf_free(&err);
	return rc;
}

static int
conn_ask(void *arg, const char *question, char **answer)
{
	struct conn *c = arg;
	struct buf err;
	json_t *q, *a = NULL;
	const char *t;
	int rc = WARD_ENOENT;

	*answer = NULL;
	buf_init(&err, 1024);
	conn_flush(c);
	q = json_pack("{s:s, s:s}", "type", "ask", "question", question);
	if (q == NULL || proto_send(c->fd, q) != 0)
		goto out;
	if (proto_recv(c->fd, &a, &err) != 0) {
		c->gone = 1;
		goto out;
	}
	if (strcmp(proto_type(a), "answer") != 0) {
		conn_stray(c, a);
		goto out;
	}
	if ((t = json_string_value(json_object_get(a, "text"))) != NULL &&
	    (*answer = strdup(t)) != NULL)
		rc = 0;
out:
	json_decref(q);
	json_decref(a);
	buf_free(&err);
	return rc;
}

/* Passes b through a redactor of the vault as it is now. Returns 0 or a
 * WARD_E* (then b must not be shown). */
static int
server_redact(struct buf *b)
{
	struct redact *rd = NULL;
	struct buf err;
	int rc;

	buf_init(&err, 0);
	if ((rc = cmdrun_redactor(&rd, &err)) == 0 && rd != NULL)
		rc = cmdrun_redact_buf(rd, b);
	redact_free(rd);
	buf_free(&err);
	return rc;
}

/* Returns 0, or -1 when the request was malformed (the connection is then
 * closed, as for any malformed frame). */
static int
conn_run(struct conn *c, json_t *req)
{
	struct session_config cfg;
	struct session_sink sink = { conn_event, conn_ask, conn_permit,
	    conn_cancelled, conn_hold, c };
	struct session_result res;
	struct buf err;
	json_t *done;
	const char *prompt, *outcome, *text;
	json_int_t turns;
	size_t tlen;
	int rc, bad = 0;

	buf_init(&err, 64 * 1024);
	memset(&cfg, 0, sizeof(cfg));
	cfg.root = json_string_value(json_object_get(req, "root"));
	cfg.provider = json_string_value(json_object_get(req, "provider"));
	cfg.model = json_string_value(json_object_get(req, "model"));
	cfg.resume = json_string_value(json_object_get(req, "resume"));
	prompt = json_string_value(json_object_get(req, "prompt"));
	turns = json_integer_value(json_object_get(req, "max_turns"));
	cfg.max_turns = turns > 0 && turns < 100000 ? (unsigned)turns : 0;
	cfg.state_dir = c->srv->state_dir;
	if (cfg.root == NULL || cfg.root[0] != '/' || prompt == NULL) {
		conn_error(c->fd, "run needs an absolute \"root\" and a "
		    "\"prompt\"");
		bad = -1;
		goto out;
	}
	c->cancel = c->bad = 0;
	rc = session_run(c->srv->host, &cfg, prompt, &sink, &res, &err);
	/* The reason may quote what it failed on (a script line, a
	 * provider's answer): no vault value goes back to the client. */
	if (rc != 0 && err.len > 0 && server_redact(&err) != 0) {
		buf_reset(&err);
		buf_puts(&err, "the session failed (the reason could not be "
		    "redacted)");
	}
	/* One line per session in daemon.log: what ended it. */
	fprintf(stderr, "ward daemon: session %s %s%s%s\n", res.id,
	    rc == 0 ? "finished" : "failed", rc == 0 ? "" : ": ",
	    rc == 0 ? "" : err.len ? err.data : ward_strerror(rc));
	/* In the log before the client hears the session ended. */
	server_log_sync();
	c->hold = 0;
	conn_flush(c);
	if (rc == 0) {
		outcome = res.turn.outcome == HOST_MAX_TURNS ? "max-turns" :
		    "finished";
		/* The answer was streamed as events already; the copy in
		 * `done` is cut to fit the frame, on a character boundary. */
		text = res.turn.text != NULL ? res.turn.text : "";
		tlen = utf8_valid_prefix(text, strnlen(text, 128u << 10));
		done = json_pack("{s:s, s:b, s:s, s:s, s:s%, s:i, s:i}",
		    "type", "done", "ok", 1, "session", res.id,
		    "outcome", outcome, "text", text, tlen,
		    "turns", (json_int_t)res.turn.turns,
		    "tool_calls", (json_int_t)res.turn.tool_calls);
		free(res.turn.text);
	} else {
		done = json_pack("{s:s, s:b, s:s, s:s, s:s}", "type", "done",
		    "ok", 0, "session", res.id, "error_kind",
		    rc == WARD_ETRAP ? "agent-stopped" : rc == WARD_EDENIED ?
		    "refused" : "failed", "error",
		    err.len ? err.data : ward_strerror(rc));
	}
	/* Without a `done` the client would wait forever: close instead. A
	 * client that broke the protocol was told so and is closed. */
	if (done == NULL || c->bad || proto_send(c->fd, done) != 0)
		bad = -1;
	json_decref(done);
out:
	buf_free(&err);
	return bad;
}

/*
 * `ward secret revoke NAME` revoked NAME in the vault and tells us: every
 * running command that was given it is killed (cmdrun_revoke), and its
 * session reports why. Trusting the peer costs nothing: it is the same
 * user, who could kill those processes anyway. Returns 0, or -1 when the
 * request was malformed.
 */
static int
conn_revoke(struct conn *c, const json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	json_t *r;
	int n;

	if (name == NULL || !vault_name_ok(name)) {
		conn_error(c->fd, "revoke needs a secret \"name\"");
		return -1;
	}
	n = cmdrun_revoke(name);
	if (n > 0) {
		fprintf(stderr, "ward daemon: secret %s revoked: stopped %d "
		    "running command(s)\n", name, n);
		server_log_sync();
	}
	r = json_pack("{s:s, s:s, s:i}", "type", "revoked", "name", name,
	    "stopped", (json_int_t)n);
	if (r == NULL || proto_send(c->fd, r) != 0) {
		json_decref(r);
		return -1;
	}
	json_decref(r);
	return 0;
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct buf err;
	json_t *m = NULL, *r;
	const char *type;
	int rc;

	buf_init(&err, 4096);
	for (;;) {
		json_decref(m);
		m = NULL;
		buf_reset(&err);
		if (atomic_load(&c->srv->shutdown))
			break;
		if ((rc = proto_recv(c->fd, &m, &err)) != 0) {
			if (rc != WARD_ENOENT && rc != WARD_EIO)
				conn_error(c->fd, err.data ? err.data :
				    ward_strerror(rc));
			break;
		}
		server_touch(c->srv);
		type = proto_type(m);
		if (strcmp(type, "hello") == 0) {
			r = json_pack("{s:s, s:i, s:i, s:s, s:s}", "type",
			    "hello", "version", PROTO_VERSION, "pid",
			    (json_int_t)getpid(), "build", c->srv->build,
			    "state", c->srv->state_dir);
			proto_send(c->fd, r);
			json_decref(r);
		} else if (strcmp(type, "ping") == 0) {
			r = json_pack("{s:s}", "type", "pong");
			proto_send(c->fd, r);
			json_decref(r);
		} else if (strcmp(type, "run") == 0) {
			if (conn_run(c, m) != 0)
				break;
		} else if (strcmp(type, "revoke") == 0) {
			if (conn_revoke(c, m) != 0)
				break;
		} else if (strcmp(type, "cancel") == 0) {
			/* The turn it meant ended already. */
		} else if (strcmp(type, "shutdown") == 0) {
			atomic_store(&c->srv->shutdown, 1);
			/* Wakes the accept loop at once. */
			shutdown(c->srv->lfd, SHUT_RDWR);
			r = json_pack("{s:s}", "type", "bye");
			proto_send(c->fd, r);
			json_decref(r);
			break;
		} else {
			conn_error(c->fd, "unknown message type");
			break;
		}
		server_touch(c->srv);
	}
	json_decref(m);
	buf_free(&err);
	buf_free(&c->out);
	close(c->fd);
	atomic_fetch_sub(&c->srv->conns, 1);
	server_touch(c->srv);
	free(c);
	return NULL;
}

static int
server_peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return 0;
	return cr.uid == geteuid();
}

/* A socket given with --socket gets the same protection as the default
 * one: its directory must be ours and writable by nobody else. */
static int
server_check_dir(const char *path, struct buf *err)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	if (strlen(path) >= sizeof(dir)) {
		buf_printf(err, "socket path too long: %s", path);
		return WARD_EINVAL;
	}
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		buf_printf(err, "the socket's directory %s must exist, be "
		    "owned by you and be writable by nobody else", dir);
		return WARD_EDENIED;
	}
	return 0;
}

/* Takes the lock beside the socket path: whoever holds it is the one
 * daemon serving that path, so "is anyone serving?" and "take over the
 * path" are one step. Returns the lock fd or a negative WARD_E*. */
static int
server_lock(const char *path, struct buf *err)
{
	char lockpath[PATH_MAX];
	int lfd;

	if ((size_t)snprintf(lockpath, sizeof(lockpath), "%s.lock", path) >=
	    sizeof(lockpath)) {
		buf_printf(err, "socket path too long: %s", path);
		return WARD_EINVAL;
	}
	lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd == -1) {
		buf_printf(err, "cannot open %s: %s", lockpath, strerror(errno));
		return WARD_ESYS;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) == -1) {
		close(lfd);
		buf_printf(err, "another ward daemon is serving %s", path);
		return WARD_EEXIST;
	}
	return lfd;
}

/* Binds and listens; the caller holds the lock, so a stale socket file
 * left by a dead daemon can be replaced. */
static int
server_bind(const char *path, struct buf *err)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		buf_printf(err, "socket path too long: %s", path);
		return WARD_EINVAL;
	}
	/* Replace a stale socket, never anything else at that path. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			buf_printf(err, "%s exists and is not a socket", path);
			return WARD_EEXIST;
		}
		unlink(path);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		buf_printf(err, "socket: %s", strerror(errno));
		return WARD_ESYS;
	}
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    chmod(path, 0600) == -1 || listen(fd, 64) == -1) {
		umask(old);
		buf_printf(err, "cannot listen on %s: %s", path,
		    strerror(errno));
		close(fd);
		return WARD_ESYS;
	}
	umask(old);
	return fd;
}

int
server_run(const struct server_opts *o, struct buf *err)
{
	struct server s;
	struct pollfd pfd;
	struct conn *c;
	pthread_attr_t attr;
	pthread_t t;
	char *path = NULL, *cache = NULL;
	time_t idle;
	int lfd = -1, lockfd = -1, fd, rc = 0;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (proto_build_id(s.build, sizeof(s.build)) != 0)
		strcpy(s.build, "unknown");
	if ((rc = xdg_dir(XDG_STATE, &s.state_dir)) != 0) {
		buf_printf(err, "cannot use ward's state directory: %s",
		    ward_strerror(rc));
		goto out;
	}
	if (asprintf(&cache, "%s/cache", s.state_dir) == -1) {
		cache = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((rc = xdg_mkdirs(cache)) != 0) {
		buf_printf(err, "cannot create %s", cache);
		goto out;
	}
	if (o->socket_path != NULL) {
		if ((rc = server_check_dir(o->socket_path, err)) != 0)
			goto out;
		path = strdup(o->socket_path);
	} else
		path = server_socket_path(err);
	if (path == NULL) {
		rc = WARD_ESYS;
		goto out;
	}
	if ((lockfd = server_lock(path, err)) < 0) {
		rc = lockfd;
		goto out;
	}
	/* Hold no directory of whoever started us. */
	if (chdir("/") == -1) {
		buf_printf(err, "chdir /: %s", strerror(errno));
		rc = WARD_ESYS;
		goto out;
	}
	/* Load the agent before binding: a client that can connect can run. */
	if ((rc = host_new(&s.host, o->agent_path, cache, &o->limits,
	    err)) != 0)
		goto out;
	if ((lfd = server_bind(path, err)) < 0) {
		rc = lfd;
		goto out;
	}
	s.lfd = lfd;
	fprintf(stderr, "ward daemon: serving %s (agent %s, %s)\n", path,
	    o->agent_path, host_from_cache(s.host) ? "cached" : "compiled");
	server_log_sync();
	if (o->ready_fd >= 0) {
		dprintf(o->ready_fd, "ready\n");
		close(o->ready_fd);
	}
	server_touch(&s);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 8u << 20);
	while (!atomic_load(&s.shutdown)) {
		pfd.fd = lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 500) <= 0) {
			pthread_mutex_lock(&s.mu);
			idle = time(NULL) - s.last_active;
			pthread_mutex_unlock(&s.mu);
			if (o->idle_timeout > 0 && atomic_load(&s.conns) == 0 &&
			    idle >= (time_t)o->idle_timeout)
				break;
			continue;
		}
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		if (!server_peer_ok(fd)) {
			close(fd);
			continue;
		}
		if (atomic_load(&s.conns) >= SERVER_MAX_CONNS) {
			conn_error(fd, "daemon busy: too many connections");
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->srv = &s;
		c->fd = fd;
		buf_init(&c->out, 0);
		atomic_fetch_add(&s.conns, 1);
		if (pthread_create(&t, &attr, conn_main, c) != 0) {
			atomic_fetch_sub(&s.conns, 1);
			close(fd);
			free(c);
		}
	}
	pthread_attr_destroy(&attr);
	unlink(path);
	/* Give sessions in flight a moment; they hold the host. One that does
	 * not finish keeps it: the process is about to exit anyway. */
	for (idle = 0; atomic_load(&s.conns) > 0 && idle < 250; idle++) {
		struct timespec ts = { 0, 20 * 1000000L };

		nanosleep(&ts, NULL);
	}
	if (atomic_load(&s.conns) > 0) {
		/* Their threads still use &s and the host: end the process
		 * here rather than free what they hold. */
		fprintf(stderr, "ward daemon: exiting with %d connection(s) "
		    "still open\n", atomic_load(&s.conns));
		server_log_stop();
		_exit(0);
	}
out:
	if (lfd >= 0)
		close(lfd);
	if (lockfd >= 0)
		close(lockfd);
	host_free(s.host);
	pthread_mutex_destroy(&s.mu);
	free(s.state_dir);
	free(cache);
	free(path);
	return rc;
}

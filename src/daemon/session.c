/*
 * A session implements the agent's imports on top of the tools, the model
 * provider and a per-session key/value store, and narrates what happens to
 * the sink. It runs only under the project's approved ward.toml, and every
 * tool call is decided by it before anything is touched. The store lives
 * in <state>/sessions/<id>/storage, one file per key; keys are restricted
 * to a safe file-name alphabet so a key can never name a path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/utf8.h"
#include "../lib/xdg.h"
#include "../policy/approval.h"
#include "../policy/policy.h"
#include "../audit/audit.h"
#include "../capsule/capsule.h"
#include "../lib/keyfile.h"
#include "../sandbox/cmdrun.h"
#include "../vault/redact.h"
#include "../sandbox/grant.h"
#include "session.h"
#include "tools.h"
#include "web.h"

extern char **environ;

#define SESSION_DEFAULT_TURNS	50
#define SESSION_SUMMARY_MAX	200	/* bytes of a result shown in events */
#define SESSION_RESULT_MAX	(256u << 10)	/* bytes of a result recorded */
#define SESSION_PROMPT_MAX	(1u << 20)	/* a frame's size */
#define SESSION_STORE_KEYS	256	/* per-session store quota */
#define SESSION_STORE_BYTES	(16u << 20)
/* Event text is cut here: JSON escaping can grow it six-fold, and a frame
 * holds 1 MiB. */
#define SESSION_EVENT_TEXT_MAX	(128u << 10)

/* The session's task list (task_create, task_update, task_list). */
struct session_task {
	char	*title;
	int	 status;	/* index into session_task_status */
};

#define SESSION_TASKS_MAX	200
#define SESSION_TASK_TITLE_MAX	500

static const char *const session_task_status[] = {
	"pending", "in_progress", "done"
};

struct session {
	const struct session_config	*cfg;
	const struct session_sink	*sink;
	struct tools			*tools;
	struct llm			*llm;
	struct policy			*pol;
	char				*store_dir;
	uint64_t			 idle_seconds;	/* see session_idle */
	char				*spill_dir;	/* command output past
							   the cap */
	struct tools			*spill;		/* reads spill_dir */
	char				 root[PATH_MAX];	/* real */
	unsigned			 ncmds;
	struct session_task		*tasks;
	size_t				 ntasks;
	char				*tasks_path;	/* where they are kept */
	struct audit_log		*audit;		/* NULL: refuse all */
	struct redact			*redact;	/* NULL: no vault */
	char				 manifest_sha[65]; /* of the approved
							      ward.toml */
};

/* Adds text under key, cut on a character boundary with a visible mark so
 * a long text is shortened, never dropped. */
static void
session_event_text(json_t *ev, const char *key, const char *text)
{
	size_t n = strlen(text), cut = n;
	struct buf b;

	if (n > SESSION_EVENT_TEXT_MAX)
		cut = utf8_valid_prefix(text, SESSION_EVENT_TEXT_MAX);
	if (cut == n) {
		json_object_set_new(ev, key, json_stringn(text, n));
		return;
	}
	buf_init(&b, 0);
	if (buf_add(&b, text, cut) == 0 && buf_printf(&b, "\n[... %zu more "
	    "bytes not shown]", n - cut) == 0)
		json_object_set_new(ev, key, json_stringn(b.data, b.len));
	buf_free(&b);
}

static void
session_event(struct session *s, const char *kind, const char *k1,
    const char *v1, const char *k2, const char *v2)
{
	json_t *ev;

	if ((ev = json_object()) == NULL)
		return;
	json_object_set_new(ev, "kind", json_string(kind));
	if (k1 != NULL)
		session_event_text(ev, k1, v1);
	if (k2 != NULL)
		session_event_text(ev, k2, v2);
	s->sink->event(s->sink->arg, ev);
	json_decref(ev);
}

/* How full the model's context is, for the TUI's status line: the last
 * request's input plus its reply is what the next request starts from. */
static void
session_usage(struct session *s, const struct llm_reply *reply)
{
	struct llm_info info;
	json_t *ev;

	if (reply->input_tokens == 0 && reply->output_tokens == 0)
		return;
	llm_info(s->llm, &info);
	if ((ev = json_pack("{s:s, s:I, s:I, s:I}", "kind", "usage",
	    "input_tokens", (json_int_t)reply->input_tokens, "output_tokens",
	    (json_int_t)reply->output_tokens, "context_length",
	    (json_int_t)info.context_length)) == NULL)
		return;
	s->sink->event(s->sink->arg, ev);
	json_decref(ev);
}

/* The task list as data after every task tool, for the TUI. */
static void
session_tasks_event(struct session *s)
{
	json_t *ev, *list, *t;
	size_t i;

	if ((list = json_array()) == NULL)
		return;
	for (i = 0; i < s->ntasks; i++)
		if ((t = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)i + 1,
		    "title", s->tasks[i].title, "status",
		    session_task_status[s->tasks[i].status])) == NULL ||
		    json_array_append_new(list, t) != 0) {
			json_decref(list);
			return;
		}
	if ((ev = json_pack("{s:s, s:o}", "kind", "tasks", "tasks",
	    list)) == NULL)
		return;
	s->sink->event(s->sink->arg, ev);
	json_decref(ev);
}

/* ---- audit -------------------------------------------------------------- */

/* A JSON string of bytes that may not be UTF-8 (command output, a model's
 * text), cut to max bytes on a character boundary. NULL on ENOMEM. */
static json_t *
session_jstr(const char *p, size_t n, size_t max)
{
	struct buf b;
	json_t *j;
	char *z;

	buf_init(&b, 0);
	if (p == NULL)
		n = 0;
	if (n > max)
		n = max;
	if (utf8_sanitize(&b, p != NULL ? p : "", n) != 0) {
		buf_free(&b);
		return NULL;
	}
	n = utf8_valid_prefix(b.data ? b.data : "", b.len);
	/* A NUL would make the record one verify cannot parse back. */
	while (n > 0 && (z = memchr(b.data, '\0', n)) != NULL)
		*z = '?';
	/* Valid UTF-8 already: no second check. */
	j = json_stringn_nocheck(b.data ? b.data : "", n);
	buf_free(&b);
	return j;
}

/*
 * Records kind with fields (taken: freed here) in the session's audit log
 * (DESIGN §1: no audit record, no action) and returns once it is durable.
 * Returns 0, or the error that means the action it describes must not
 * happen.
 */
static int
session_audit(struct session *s, const char *kind, json_t *fields)
{
	int rc;

	if (fields == NULL)
		return WARD_ENOMEM;
	rc = s->audit != NULL ? audit_append(s->audit, kind, fields) :
	    WARD_EIO;
	json_decref(fields);
	return rc;
}

/*
 * The same for a record that reaches the disk with the next durable one
 * (group commit): what the agent reads has no effect outside ward until
 * it goes out in a model request, a saved transcript or an action, and
 * each of those waits for every record before it. That keeps an fdatasync
 * out of every file_read. A write error surfaces at that next sync.
 */
static int
session_audit_later(struct session *s, const char *kind, json_t *fields)
{
	int rc;

	if (fields == NULL)
		return WARD_ENOMEM;
	rc = s->audit != NULL ? audit_append_pending(s->audit, kind,
	    fields) : WARD_EIO;
	json_decref(fields);
	return rc;
}

/* Tools with no effect outside ward's own memory and the agent's view. */
static int
session_reads_only(const char *tool)
{
	return strcmp(tool, "file_read") == 0 ||
	    strcmp(tool, "file_list") == 0 || strcmp(tool, "grep") == 0 ||
	    strcmp(tool, "task_list") == 0;
}

/* ---- llm ---------------------------------------------------------------- */

static void
session_llm_info(void *ctx, struct llm_info *info)
{
	struct session *s = ctx;

	llm_info(s->llm, info);
	info->idle_seconds = s->idle_seconds;
}

/*
 * How long the conversation has been idle: since the agent last saved to
 * the session's storage (it saves after every message), taken once when
 * the message arrives so that the agent sees one value (and replay the
 * same). 0 for a new session.
 */
static uint64_t
session_idle(const char *store_dir)
{
	struct dirent *de;
	struct stat st;
	time_t newest = 0, now = time(NULL);
	DIR *d;

	if ((d = opendir(store_dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime > newest)
			newest = st.st_mtime;
	closedir(d);
	return newest > 0 && now > newest ? (uint64_t)(now - newest) : 0;
}

/* The model's text while it streams in, for the TUI: `delta` events
 * (reset: a retried request starts over). The reply that counts comes
 * after, as an `assistant` event. */
static void
session_preview(void *arg, const char *text, size_t len)
{
	struct session *s = arg;
	struct buf b;
	json_t *ev;

	buf_init(&b, 0);
	if (text != NULL && (buf_add(&b, text, len) != 0 ||
	    (s->redact != NULL && cmdrun_redact_buf(s->redact, &b) != 0)))
		goto out;
	ev = text == NULL ? json_pack("{s:s, s:b}", "kind", "delta", "reset",
	    1) : json_pack("{s:s, s:s%}", "kind", "delta", "text", b.data,
	    b.len);
	if (ev != NULL)
		s->sink->event(s->sink->arg, ev);
	json_decref(ev);
out:
	buf_free(&b);
}

static int
session_llm_chat(void *ctx, const struct llm_request *in,
    struct llm_reply *reply, struct buf *err)
{
	struct session *s = ctx;
	struct llm_request r = *in, *req = &r;
	json_t *calls, *c;
	size_t i;
	int rc;

	r.on_text = session_preview;
	r.on_text_arg = s;
	/* The model may take a while: the client sees everything first. */
	if (s->sink->hold != NULL)
		s->sink->hold(s->sink->arg, 0);

	if ((rc = session_audit(s, "llm_request", json_pack("{s:I, s:I}",
	    "messages", (json_int_t)req->nmsgs, "tools",
	    (json_int_t)req->ntools))) != 0) {
		buf_puts(err, "the audit log cannot be written: no model "
		    "request is made");
		return rc;
	}
	if ((rc = llm_chat(s->llm, req, reply, err)) != 0) {
		/* A provider's error may echo the request, tool results and
		 * all: it goes to the user, the audit log and the agent. */
		if (s->redact != NULL && cmdrun_redact_buf(s->redact,
		    err) != 0) {
			buf_reset(err);
			buf_puts(err, "the model request failed (its error "
			    "message could not be redacted)");
		}
		session_event(s, "error", "text", err->data ? err->data : "",
		    NULL, NULL);
		(void)session_audit(s, "llm_error", json_pack("{s:o}",
		    "error", session_jstr(err->data, err->len, 4096)));
		return rc;
	}
	/* Enough to replay the session: what the model said and asked. */
	if ((calls = json_array()) != NULL)
		for (i = 0; i < reply->msg.ncalls; i++) {
			c = json_pack("{s:s?, s:s?, s:o}", "id",
			    reply->msg.calls[i].id, "name",
			    reply->msg.calls[i].name, "arguments",
			    session_jstr(reply->msg.calls[i].arguments,
			    reply->msg.calls[i].arguments ?
			    strlen(reply->msg.calls[i].arguments) : 0,
			    SESSION_EVENT_TEXT_MAX));
			if (c == NULL || json_array_append_new(calls, c) != 0)
				break;
		}
	if ((rc = session_audit(s, "llm_response", json_pack("{s:o, s:o, "
	    "s:I, s:I, s:I}", "content", session_jstr(reply->msg.content,
	    reply->msg.content ? strlen(reply->msg.content) : 0,
	    SESSION_EVENT_TEXT_MAX), "tool_calls", calls, "stop",
	    (json_int_t)reply->stop, "input_tokens",
	    (json_int_t)reply->input_tokens, "output_tokens",
	    (json_int_t)reply->output_tokens))) != 0) {
		llm_reply_clear(reply);
		buf_puts(err, "the audit log cannot be written: the model's "
		    "reply is not used");
		return rc;
	}
	if (reply->msg.content != NULL && reply->msg.content[0] != '\0')
		session_event(s, "assistant", "text", reply->msg.content, NULL,
		    NULL);
	session_usage(s, reply);
	return 0;
}

/* ---- tools -------------------------------------------------------------- */

static const char *
session_str(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

static uint64_t
session_u64(json_t *args, const char *name)
{
	json_int_t v = json_integer_value(json_object_get(args, name));

	return v > 0 ? (uint64_t)v : 0;
}

/*
 * Messages travel as C strings from here on (providers, transcript), so a
 * NUL in a result would silently cut what the model sees: show it as U+2400
 * (SYMBOL FOR NULL) instead.
 */
static int
session_show_nuls(struct buf *text)
{
	struct buf b;
	size_t i;
	int rc = 0;

	if (text->len == 0 || memchr(text->data, '\0', text->len) == NULL)
		return 0;
	buf_init(&b, 0);
	for (i = 0; i < text->len && rc == 0; i++)
		rc = text->data[i] == '\0' ? buf_add(&b, "\xe2\x90\x80", 3) :
		    buf_add(&b, text->data + i, 1);
	if (rc == 0) {
		buf_reset(text);
		rc = buf_add(text, b.data, b.len);
	}
	buf_free(&b);
	return rc;
}

/* A short, one-line description of a result for the transcript. */
static void
session_summary(const struct buf *text, char *out, size_t outsz)
{
	size_t lines = 0, i;

	for (i = 0; i < text->len; i++)
		if (text->data[i] == '\n')
			lines++;
	if (text->len > 0 && text->data[text->len - 1] != '\n')
		lines++;
	snprintf(out, outsz, "%zu line%s, %zu byte%s", lines,
	    lines == 1 ? "" : "s", text->len, text->len == 1 ? "" : "s");
}

/*
 * Decides a file_read before it happens; a deny is the tool's result. (The
 * listing and search tools are filtered entry by entry: session_visible.)
 * On an allow, *real is the real target (caller frees), which the tool
 * opens following no symlink, so what it reads is what was decided.
 */
static int
session_decide(struct session *s, const char *tool, const char *path,
    enum pathpat_op op, char **real, struct buf *out)
{
	struct pathpat_result res;
	struct buf err;
	int rc;

	*real = NULL;
	if (path == NULL || *path == '\0')
		return 0;	/* the tool reports the missing argument */
	buf_init(&err, 0);
	buf_reset(out);
	if ((rc = policy_path(s->pol, path, op, &res, &err)) != 0) {
		buf_printf(out, "%s: cannot decide %s: %s", tool, path,
		    err.data ? err.data : ward_strerror(rc));
		buf_free(&err);
		return rc;
	}
	buf_free(&err);
	if ((rc = (op == PATHPAT_WRITE ? session_audit :
	    session_audit_later)(s, "decision", json_pack("{s:s, s:o, s:s, "
	    "s:s, s:s, s:s}", "tool", tool, "path", session_jstr(path,
	    strlen(path), 4096), "op", op == PATHPAT_WRITE ? "write" :
	    op == PATHPAT_LIST ? "list" : "read", "decision", res.allow ?
	    "allow" : "deny", "rule", res.rule, "reason", res.reason))) != 0) {
		buf_printf(out, "%s: the audit log cannot be written", tool);
		pathpat_result_clear(&res);
		return rc;
	}
	if (!res.allow) {
		buf_printf(out, "%s %s: denied by ward.toml (%s: %s)", tool,
		    path, res.reason, res.rule);
		rc = WARD_EDENIED;
	} else if (res.real == NULL) {
		buf_printf(out, "%s %s: cannot be resolved", tool, path);
		rc = WARD_EDENIED;
	} else {
		*real = res.real;
		res.real = NULL;
	}
	pathpat_result_clear(&res);
	return rc;
}

/*
 * Where a listing or search starts: the real target of the path the agent
 * gave (NULL *real: the root), which the tool then walks following no
 * symlink, so the walk filter sees the same paths the walk opens. What may
 * be shown is the filter's decision, entry by entry.
 */
static int
session_start(struct session *s, const char *tool, const char *path,
    char **real, struct buf *out)
{
	struct pathpat_result res;
	int rc;

	*real = NULL;
	if (path == NULL || *path == '\0')
		return 0;
	buf_reset(out);
	if ((rc = policy_path(s->pol, path, PATHPAT_LIST, &res, NULL)) != 0) {
		buf_printf(out, "%s: cannot decide %s: %s", tool, path,
		    ward_strerror(rc));
		return rc;
	}
	if (res.real == NULL) {
		buf_printf(out, "%s %s: denied by ward.toml (%s: %s)", tool,
		    path, res.reason, res.rule);
		rc = WARD_EDENIED;
	}
	*real = res.real;
	res.real = NULL;
	pathpat_result_clear(&res);
	return rc;
}

/* The tools' walk filter: only what the manifest lets the agent read (a
 * file) or list (a directory) is shown. */
static int
session_visible(void *arg, const char *rel, int isdir)
{
	struct session *s = arg;
	struct pathpat_result res;
	int allow;

	if (policy_path(s->pol, rel, isdir ? PATHPAT_LIST : PATHPAT_READ,
	    &res, NULL) != 0)
		return 0;
	allow = res.allow;
	pathpat_result_clear(&res);
	return allow;
}

/*
 * file_write, file_edit, file_delete: decided as writes on the real target
 * (the manifest, .git and ward's own directories are never writable), then
 * done there following no symlink.
 */
static int
session_write(struct session *s, const char *name, json_t *args,
    struct buf *out)
{
	const char *path = session_str(args, "path");
	json_t *content;
	char *real = NULL;
	int rc;

	if (path == NULL || *path == '\0') {
		buf_reset(out);
		buf_printf(out, "%s needs a path", name);
		return WARD_EINVAL;
	}
	/* file_edit reads before it writes, and what it answers (found,
	 * how often) tells what is there: it needs the read too. */
	if (strcmp(name, "file_edit") == 0) {
		if ((rc = session_decide(s, name, path, PATHPAT_READ, &real,
		    out)) != 0)
			return rc;
		free(real);
		real = NULL;
	}
	if ((rc = session_decide(s, name, path, PATHPAT_WRITE, &real,
	    out)) != 0)
		return rc;
	if (strcmp(name, "file_write") == 0) {
		content = json_object_get(args, "content");
		if (!json_is_string(content)) {
			buf_reset(out);
			buf_puts(out, "file_write needs content");
			rc = WARD_EINVAL;
		} else
			rc = tools_file_write(s->tools, real,
			    json_string_value(content),
			    json_string_length(content), out);
	} else if (strcmp(name, "file_edit") == 0)
		rc = tools_file_edit(s->tools, real, session_str(args,
		    "old_string"), session_str(args, "new_string"),
		    json_is_true(json_object_get(args, "replace_all")), out);
	else
		rc = tools_file_delete(s->tools, real, out);
	free(real);
	return rc;
}

/*
 * The task list outlives one message: it is kept beside the session's
 * audit log (written whole, synced, renamed) and read back when the
 * session is resumed, so the TUI's next message and `--resume` see it.
 */
static int
session_tasks_save(struct session *s)
{
	char tmp[PATH_MAX], *text = NULL, *dir = NULL;
	json_t *list, *t;
	size_t i;
	int fd = -1, rc = WARD_ENOMEM;

	if ((list = json_array()) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < s->ntasks; i++)
		if ((t = json_pack("{s:s, s:s}", "title", s->tasks[i].title,
		    "status", session_task_status[s->tasks[i].status])) ==
		    NULL || json_array_append_new(list, t) != 0)
			goto out;
	if ((text = json_dumps(list, JSON_COMPACT)) == NULL ||
	    (dir = strdup(s->tasks_path)) == NULL)
		goto out;
	rc = WARD_EIO;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", s->tasks_path) >=
	    sizeof(tmp) || (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		goto out;
	if (keyfile_write_all(fd, text, strlen(text)) != 0 || fsync(fd) == -1 ||
	    close(fd) == -1) {
		fd = -1;
		unlink(tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, s->tasks_path) == -1) {
		unlink(tmp);
		goto out;
	}
	rc = keyfile_fsync_dir(dirname(dir));
out:
	if (fd != -1)
		close(fd);
	free(dir);
	free(text);
	json_decref(list);
	return rc;
}

/* Reads the kept task list, if any; what does not look like one is an
 * error (the session does not start on a corrupted list). */
static int
session_tasks_load(struct session *s, struct buf *err)
{
	json_error_t jerr;
	json_t *list, *t;
	const char *title, *status;
	size_t i, k;
	int rc = 0;

	if ((list = json_load_file(s->tasks_path, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		if (access(s->tasks_path, F_OK) == -1 && errno == ENOENT)
			return 0;
		buf_printf(err, "%s: %s", s->tasks_path, jerr.text);
		return WARD_EPROTO;
	}
	if (!json_is_array(list) || json_array_size(list) > SESSION_TASKS_MAX)
		goto bad;
	if (json_array_size(list) > 0 && (s->tasks = calloc(
	    json_array_size(list), sizeof(*s->tasks))) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	json_array_foreach(list, i, t) {
		title = json_string_value(json_object_get(t, "title"));
		status = json_string_value(json_object_get(t, "status"));
		for (k = 0; k < 3 && status != NULL; k++)
			if (strcmp(status, session_task_status[k]) == 0)
				break;
		if (title == NULL || *title == '\0' ||
		    strlen(title) > SESSION_TASK_TITLE_MAX || status == NULL ||
		    k == 3)
			goto bad;
		if ((s->tasks[i].title = strdup(title)) == NULL) {
			rc = WARD_ENOMEM;
			goto out;
		}
		s->tasks[i].status = (int)k;
		s->ntasks++;
	}
	goto out;
bad:
	buf_printf(err, "%s: not a task list", s->tasks_path);
	rc = WARD_EPROTO;
out:
	json_decref(list);
	return rc;
}

/* task_create, task_update, task_list: ids are "1", "2", ... */
static int
session_tasks(struct session *s, const char *name, json_t *args,
    struct buf *out)
{
	struct session_task *nt;
	const char *title, *id, *status;
	char *end;
	size_t i;
	long n;

	buf_reset(out);
	if (strcmp(name, "task_create") == 0) {
		title = session_str(args, "title");
		if (title == NULL || *title == '\0' ||
		    strlen(title) > SESSION_TASK_TITLE_MAX) {
			buf_printf(out, "task_create needs a title of 1 to %d "
			    "bytes", SESSION_TASK_TITLE_MAX);
			return WARD_EINVAL;
		}
		if (s->ntasks >= SESSION_TASKS_MAX) {
			buf_printf(out, "the task list is full (%d tasks)",
			    SESSION_TASKS_MAX);
			return WARD_ETOOBIG;
		}
		if ((nt = reallocarray(s->tasks, s->ntasks + 1,
		    sizeof(*nt))) == NULL)
			return WARD_ENOMEM;
		s->tasks = nt;
		if ((nt[s->ntasks].title = strdup(title)) == NULL)
			return WARD_ENOMEM;
		nt[s->ntasks].status = 0;
		buf_printf(out, "task %zu created", ++s->ntasks);
		return 0;
	}
	if (strcmp(name, "task_update") == 0) {
		id = session_str(args, "id");
		status = session_str(args, "status");
		n = id != NULL ? strtol(id, &end, 10) : 0;
		if (id == NULL || *id == '\0' || *end != '\0' || n < 1 ||
		    (size_t)n > s->ntasks) {
			buf_printf(out, "task_update: no task %s", id ? id :
			    "(missing id)");
			return WARD_ENOENT;
		}
		for (i = 0; i < 3; i++)
			if (status != NULL &&
			    strcmp(status, session_task_status[i]) == 0)
				break;
		if (i == 3) {
			buf_puts(out, "task_update: status is pending, "
			    "in_progress or done");
			return WARD_EINVAL;
		}
		s->tasks[n - 1].status = (int)i;
		buf_printf(out, "task %ld is %s", n, session_task_status[i]);
		return 0;
	}
	if (s->ntasks == 0)
		buf_puts(out, "no tasks");
	for (i = 0; i < s->ntasks; i++)
		buf_printf(out, "%s%zu [%s] %s", i ? "\n" : "", i + 1,
		    session_task_status[s->tasks[i].status],
		    s->tasks[i].title);
	return 0;
}

/* 1 when some path of l is p or below it. */
static int
session_covers(const struct grant_strv *l, const char *p)
{
	size_t i, n = strlen(p);

	for (i = 0; i < l->n; i++)
		if (strncmp(l->v[i], p, n) == 0 && (l->v[i][n] == '\0' ||
		    l->v[i][n] == '/'))
			return 1;
	return 0;
}

/*
 * code_run: a WASI module of the project, run in the capsule (DESIGN §5)
 * with the project's granted directories preopened at their own paths
 * (the project root also as "."). A preopen cannot hide single files, so
 * a directory holding something the manifest hides is withheld, and one
 * holding something it keeps read-only is preopened read-only.
 */
static int
session_code(struct session *s, const char *module, json_t *jargs,
    struct host_tool_out *to)
{
	static const struct cmdpat_result none;
	struct buf *out = &to->text, err, note;
	struct capsule_spec cs;
	struct capsule_result cr;
	struct capsule_dir *dirs = NULL;
	struct grant g;
	const char **argv = NULL;
	char *real = NULL, *cache = NULL;
	size_t i, nd = 0, na = 0;
	json_t *a;
	int rc;

	memset(&g, 0, sizeof(g));
	memset(&cr, 0, sizeof(cr));
	buf_init(&err, 0);
	buf_init(&note, 0);
	if (module == NULL || *module == '\0') {
		buf_reset(out);
		buf_puts(out, "code_run needs a module");
		return WARD_EINVAL;
	}
	if (jargs != NULL && !json_is_array(jargs)) {
		buf_reset(out);
		buf_puts(out, "code_run: args must be a list of strings");
		return WARD_EINVAL;
	}
	if ((rc = session_decide(s, "code_run", module, PATHPAT_READ, &real,
	    out)) != 0)
		return rc;
	buf_reset(out);
	if ((rc = grant_build(s->pol, s->root, &none, NULL, &g, &err)) != 0) {
		buf_printf(out, "code_run: %s", err.data ? err.data :
		    ward_strerror(rc));
		goto out;
	}
	na = json_array_size(jargs);
	if ((argv = calloc(na + 1, sizeof(*argv))) == NULL ||
	    (dirs = calloc(g.ro.n + g.rw.n + 1, sizeof(*dirs))) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	json_array_foreach(jargs, i, a) {
		if (!json_is_string(a)) {
			buf_puts(out, "code_run: args must be a list of "
			    "strings");
			rc = WARD_EINVAL;
			goto out;
		}
		argv[i] = json_string_value(a);
	}
	for (i = 0; i < g.ro.n + g.rw.n; i++) {
		const char *d = i < g.ro.n ? g.ro.v[i] : g.rw.v[i - g.ro.n];

		if (session_covers(&g.hide, d)) {
			buf_printf(&note, "%s%s", note.len ? ", " : "", d);
			continue;
		}
		dirs[nd].host = d;
		dirs[nd].guest = strcmp(d, s->root) == 0 ? "." : d;
		dirs[nd].writable = i >= g.ro.n &&
		    !session_covers(&g.ro_over, d);
		nd++;
	}
	if (asprintf(&cache, "%s/cache", s->cfg->state_dir) == -1) {
		cache = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	memset(&cs, 0, sizeof(cs));
	cs.module = real;
	cs.argv = argv;	/* capsule_run puts the module's name first */
	cs.argc = na;
	cs.dirs = dirs;
	cs.ndirs = nd;
	cs.output_max = (size_t)policy_manifest(s->pol)->max_output_bytes;
	cs.cache_dir = cache;
	buf_reset(&err);
	if ((rc = capsule_run(&cs, &cr, &err)) != 0) {
		buf_printf(out, "code_run: %s", err.data ? err.data :
		    ward_strerror(rc));
		goto out;
	}
	buf_add(out, cr.out.data ? cr.out.data : "", cr.out.len);
	if (cr.err.len > 0)
		buf_printf(out, "%s%.*s", out->len ? "\n" : "",
		    (int)cr.err.len, cr.err.data);
	if (cr.out_truncated || cr.err_truncated)
		buf_puts(out, "\n[output cut at the limit]");
	if (note.len > 0)
		buf_printf(out, "\n[not given to the module: %s (they hold "
		    "files ward.toml hides)]", note.data);
	if (cr.stop == CAPSULE_EXITED)
		buf_printf(out, "\n[exit code %d]", cr.exit_code);
	else
		buf_printf(out, "\n[stopped: %s]", cr.message);
	to->exit_code = cr.stop == CAPSULE_EXITED ? cr.exit_code : -1;
	to->truncated = cr.out_truncated || cr.err_truncated;
out:
	capsule_result_clear(&cr);
	grant_clear(&g);
	buf_free(&err);
	buf_free(&note);
	free(argv);
	free(dirs);
	free(real);
	free(cache);
	return rc;
}

/* 1 when path names a file in this session's spill directory. */
static int
session_spilled(const struct session *s, const char *path)
{
	size_t n;

	if (path == NULL || s->spill == NULL)
		return 0;
	n = strlen(s->spill_dir);
	return strncmp(path, s->spill_dir, n) == 0 && path[n] == '/';
}

static int	session_policy(struct session *, const char *, struct buf *);

/* 1 when pat is one of the levels offered for the part. */
static int
session_offered(const struct cmdpat_suggest *sg, const char *pat)
{
	size_t i;

	for (i = 0; i < sg->nlevels; i++)
		if (strcmp(sg->levels[i], pat) == 0)
			return 1;
	return 0;
}

/*
 * Asks the user about one prompted part and records the answer. Returns 0
 * when it may run, WARD_EDENIED with the reason in out, or the sink's
 * error when nobody is there any more (the session then stops).
 */
static int
session_permit_one(struct session *s, const char *line,
    const struct cmdpat_part *part, const char *reason, int *wrote,
    struct buf *out)
{
	static const struct cmdpat_suggest none;
	const struct cmdpat_suggest *sg = part != NULL ? &part->suggest :
	    &none;
	struct session_permit p;
	struct buf err;
	enum answer a = ANSWER_DENY;
	char *pat = NULL;
	int rc, unattended = 1;

	memset(&p, 0, sizeof(p));
	p.command = part != NULL ? part->command : line;
	p.line = line;
	p.reason = reason != NULL ? reason : "";
	p.levels = sg->levels;
	p.nlevels = sg->nlevels;
	p.recommended = sg->recommended;
	if (s->sink->permit != NULL && (rc = s->sink->permit(s->sink->arg, &p,
	    &a, &pat, &unattended)) != 0) {
		buf_printf(out, "command_run: %s needs the user's approval and "
		    "the user left or cancelled the turn; it did not run",
		    p.command);
		return rc;
	}
	/* The question and its answer are recorded before the answer has
	 * any effect (a write to ward.toml, a command that runs). */
	if ((rc = session_audit(s, "prompt", json_pack("{s:o, s:o, s:s, "
	    "s:s?, s:s, s:o?}", "command", session_jstr(p.command,
	    strlen(p.command), SESSION_EVENT_TEXT_MAX), "line",
	    session_jstr(line, strlen(line), SESSION_EVENT_TEXT_MAX),
	    "reason", p.reason, "rule", part != NULL && part->rule != NULL ?
	    part->rule->text : NULL, "answer", unattended ? "unattended" :
	    answer_name(a), "pattern", pat != NULL ? session_jstr(pat,
	    strlen(pat), 4096) : NULL))) != 0) {
		buf_printf(out, "command_run: %s: the audit log cannot be "
		    "written; it did not run", p.command);
		free(pat);
		return rc;
	}
	buf_init(&err, 0);
	rc = 0;
	if (unattended) {
		buf_printf(out, "command_run: %s is not allowed by ward.toml "
		    "without asking (%s); it needs the user's approval and "
		    "nobody can answer in this session, so it is denied",
		    p.command, p.reason);
		rc = WARD_EDENIED;
	} else if (a != ANSWER_DENY && (pat == NULL ?
	    sg->nlevels > 0 || a != ANSWER_ALLOW :
	    !session_offered(sg, pat))) {
		/* Only a pattern ward offered may be written: the client is
		 * not trusted to widen what the user saw. */
		buf_printf(out, "command_run: %s: the answer named a pattern "
		    "that was not offered; it did not run", p.command);
		rc = WARD_EDENIED;
	} else if (pat != NULL && a != ANSWER_DENY &&
	    (rc = answer_record(s->root, a, pat, &err)) != 0) {
		buf_printf(out, "command_run: %s: the answer could not be "
		    "written to ward.toml (%s); it did not run", p.command,
		    err.data ? err.data : ward_strerror(rc));
		rc = WARD_EDENIED;
	} else if (a == ANSWER_DENY || a == ANSWER_DENY_ALWAYS) {
		buf_printf(out, "command_run: the user denied %s%s%s", p.command,
		    a == ANSWER_DENY_ALWAYS ? "; ward.toml now denies " : "",
		    a == ANSWER_DENY_ALWAYS ? pat : "");
		rc = WARD_EDENIED;
	}
	if (rc == 0 && pat != NULL && a != ANSWER_DENY)
		*wrote = 1;
	session_event(s, "permit", "command", p.command, "answer",
	    unattended ? "deny (nobody to answer)" : answer_name(a));
	buf_free(&err);
	free(pat);
	return rc;
}

/*
 * Asks about every prompted part of cmd, so that the user sees each
 * command an Allow lets run, and reloads the policy when an answer
 * changed ward.toml. Returns 0 when the line may run, with *asked set
 * when the user allowed prompted parts (it then runs with prompt_ok), or
 * WARD_EDENIED (reason in out) or another WARD_E*.
 */
static int
session_permit(struct session *s, const char *cmd, int *asked,
    struct buf *out)
{
	struct cmdpat_result dec;
	struct policy *old;
	struct buf err;
	size_t i;
	int rc, wrote = 0;

	buf_init(&err, 0);
	if ((rc = policy_command(s->pol, cmd, &dec, &err)) != 0) {
		buf_printf(out, "command_run: the command did not run: %s",
		    err.data ? err.data : ward_strerror(rc));
		buf_free(&err);
		return rc;
	}
	if (dec.decision == CMDPAT_PROMPT && dec.part == NULL)
		rc = session_permit_one(s, cmd, NULL, dec.reason, &wrote, out);
	for (i = 0; dec.decision == CMDPAT_PROMPT && dec.part != NULL &&
	    rc == 0 && i < dec.nparts; i++)
		if (dec.parts[i].decision == CMDPAT_PROMPT)
			rc = session_permit_one(s, cmd, &dec.parts[i],
			    dec.parts[i].reason, &wrote, out);
	*asked = dec.decision == CMDPAT_PROMPT;
	cmdpat_result_clear(&dec);
	if (wrote) {
		/* Later calls must see the answers; a manifest that no
		 * longer loads keeps the one the user approved before. */
		old = s->pol;
		s->pol = NULL;
		if (session_policy(s, s->root, &err) != 0) {
			policy_free(s->pol);
			s->pol = old;
		} else
			policy_free(old);
	}
	buf_free(&err);
	return rc;
}

/*
 * command_run: decided and run by cmdrun, as `ward sandbox run` does. A
 * decision of prompt asks the user through the sink first (in `ward run`
 * nobody can answer: it is a deny, and the model is told so).
 */
static int
session_command(struct session *s, const char *cmd, uint64_t timeout,
    struct host_tool_out *to)
{
	struct buf *out = &to->text;
	struct cmdrun_opts o;
	struct cmdrun_result r;
	struct buf err;
	char *spill = NULL;
	int rc, asked = 0;

	buf_reset(out);
	if (cmd == NULL || *cmd == '\0') {
		buf_puts(out, "command_run needs a command");
		return WARD_EINVAL;
	}
	if ((rc = session_permit(s, cmd, &asked, out)) != 0)
		return rc;
	buf_init(&err, 0);
	if (asprintf(&spill, "%s/%u.out", s->spill_dir, ++s->ncmds) == -1)
		return WARD_ENOMEM;
	memset(&o, 0, sizeof(o));
	o.timeout_s = timeout > 86400 ? 86400 : (unsigned)timeout;
	o.prompt_ok = asked;	/* every prompted part was answered Allow */
	o.spill_path = spill;
	o.stdin_fd = -1;
	o.envp = environ;
	if ((rc = cmdrun(s->pol, s->root, cmd, &o, &r, &err)) != 0) {
		buf_printf(out, "command_run: the command did not run: %s",
		    err.data ? err.data : ward_strerror(rc));
		goto out;
	}
	/* What ran (or not), for the audit log: the decision, the rule,
	 * the outcome and the proxy's refusals. */
	(void)session_audit(s, "command", json_pack("{s:o, s:s, s:s?, s:s?, "
	    "s:b, s:I, s:b, s:s?, s:I, s:I, s:o}", "command", session_jstr(cmd,
	    strlen(cmd), SESSION_EVENT_TEXT_MAX), "decision",
	    cmdpat_name(r.decision), "rule", r.rule, "reason", r.reason,
	    "ran", r.ran, "exit_code", (json_int_t)(r.ran ?
	    r.env.exit_code : -1), "timed_out", r.ran && r.env.timed_out,
	    "revoked", r.revoked,
	    "bytes_out", (json_int_t)(r.ran ? r.env.total : 0),
	    "duration_ms", (json_int_t)(r.ran ? r.env.duration_us / 1000 : 0),
	    "denials", session_jstr(r.denials.data, r.denials.len, 65536)));
	if (!r.ran) {
		buf_printf(out, "command_run: %s by ward.toml: %s%s%s%s",
		    r.decision == CMDPAT_DENY ? "denied" : "not allowed",
		    r.reason != NULL ? r.reason : "", r.rule ? " (" : "",
		    r.rule ? r.rule : "", r.rule ? ")" : "");
		rc = WARD_EDENIED;
	} else {
		buf_add(out, r.env.out.data ? r.env.out.data : "",
		    r.env.out.len);
		if (r.env.total > r.env.out.len)
			buf_printf(out, "\n[%zu more bytes of output; read "
			    "them with file_read path=%s]", r.env.total -
			    r.env.out.len, spill);
		else
			(void)unlink(spill);
		if (r.denials.len > 0)
			buf_printf(out, "\n%s", r.denials.data);
		if (r.revoked != NULL) {
			/* Stopped by ward, not failed: the model must not
			 * retry it as if it had. */
			buf_printf(out, "\n[exit code %d: stopped, the secret "
			    "%s it was given was revoked; the command and "
			    "everything it started were killed]",
			    r.env.exit_code, r.revoked);
			rc = WARD_EDENIED;
		} else
			buf_printf(out, "\n[exit code %d%s]", r.env.exit_code,
			    r.env.timed_out ? ": timed out, the command and "
			    "everything it started were killed" : "");
		to->exit_code = r.env.exit_code;
		to->truncated = r.env.total > r.env.out.len;
	}
	cmdrun_result_clear(&r);
out:
	buf_free(&err);
	free(spill);
	return rc;
}

static int
session_tool(void *ctx, const char *name, json_t *args,
    struct host_tool_out *out)
{
	struct session *s = ctx;
	char *argtext, *real = NULL, summary[SESSION_SUMMARY_MAX];
	int rc;

	argtext = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
	if (s->sink->hold != NULL)
		s->sink->hold(s->sink->arg, session_reads_only(name));
	session_event(s, "tool_call", "name", name, "arguments",
	    argtext != NULL ? argtext : "{}");
	rc = session_audit_later(s, "tool_call", json_pack("{s:s, s:o}",
	    "name", name, "arguments", session_jstr(argtext, argtext ?
	    strlen(argtext) : 0, SESSION_EVENT_TEXT_MAX)));
	free(argtext);
	if (rc == 0 && !session_reads_only(name))
		rc = audit_sync(s->audit);
	if (rc != 0) {
		buf_reset(&out->text);
		buf_puts(&out->text, "the audit log cannot be written: the "
		    "call was refused");
		return rc;
	}

	if (strcmp(name, "file_read") == 0 && session_spilled(s,
	    session_str(args, "path"))) {
		/* The rest of a command's output, which the agent was
		 * pointed to: not a project file, not the manifest's. */
		rc = tools_file_read(s->spill, session_str(args, "path"),
		    session_u64(args, "offset"), session_u64(args, "limit"),
		    &out->text);
	} else if (strcmp(name, "file_read") == 0) {
		if ((rc = session_decide(s, name, session_str(args, "path"),
		    PATHPAT_READ, &real, &out->text)) == 0)
			rc = tools_file_read(s->tools, real != NULL ? real :
			    session_str(args, "path"), session_u64(args,
			    "offset"), session_u64(args, "limit"), &out->text);
		free(real);
	}
	else if (strcmp(name, "file_list") == 0) {
		if ((rc = session_start(s, name, session_str(args, "path"),
		    &real, &out->text)) == 0)
			rc = tools_file_list(s->tools, real, session_str(args,
			    "pattern"), &out->text);
		free(real);
	} else if (strcmp(name, "file_write") == 0 ||
	    strcmp(name, "file_edit") == 0 || strcmp(name, "file_delete") == 0) {
		rc = session_write(s, name, args, &out->text);
	} else if (strncmp(name, "task_", 5) == 0 &&
	    (strcmp(name, "task_create") == 0 ||
	    strcmp(name, "task_update") == 0 ||
	    strcmp(name, "task_list") == 0)) {
		rc = session_tasks(s, name, args, &out->text);
		if (rc == 0 && strcmp(name, "task_list") != 0 &&
		    session_tasks_save(s) != 0) {
			buf_reset(&out->text);
			buf_puts(&out->text, "the task list could not be "
			    "saved");
			rc = WARD_EIO;
		}
		session_tasks_event(s);
	} else if (strcmp(name, "command_run") == 0) {
		rc = session_command(s, session_str(args, "command"),
		    session_u64(args, "timeout"), out);
	} else if (strcmp(name, "web_fetch") == 0) {
		rc = web_fetch(policy_manifest(s->pol), session_str(args,
		    "url"), (size_t)policy_manifest(s->pol)->limits.read_bytes,
		    &out->text);
	} else if (strcmp(name, "code_run") == 0) {
		rc = session_code(s, session_str(args, "module"),
		    json_object_get(args, "args"), out);
	} else if (strcmp(name, "grep") == 0) {
		if ((rc = session_start(s, name, session_str(args, "path"),
		    &real, &out->text)) == 0)
			rc = tools_grep(s->tools, session_str(args, "pattern"),
			    real, session_str(args, "glob"), &out->text);
		free(real);
	}
	else {
		buf_reset(&out->text);
		buf_printf(&out->text, "%s is not available in this build "
		    "of ward yet", name);
		rc = WARD_EUNAVAIL;
	}

	/* No vault value, in any encoding, reaches the agent. */
	if (s->redact != NULL && cmdrun_redact_buf(s->redact,
	    &out->text) != 0) {
		buf_reset(&out->text);
		buf_puts(&out->text, "out of memory");
		rc = WARD_ENOMEM;
	}
	if (session_show_nuls(&out->text) != 0) {
		buf_reset(&out->text);
		buf_puts(&out->text, "out of memory");
		rc = WARD_ENOMEM;
	}
	if (rc == 0)
		session_summary(&out->text, summary, sizeof(summary));
	else
		snprintf(summary, sizeof(summary), "%s: %.*s",
		    ward_strerror(rc), (int)utf8_valid_prefix(out->text.data ?
		    out->text.data : "", out->text.len < 150 ? out->text.len :
		    150), out->text.data ? out->text.data : "");
	session_event(s, rc == 0 ? "tool_result" : "tool_error", "name", name,
	    "summary", summary);
	/* A result that cannot be recorded is not handed to the agent. The
	 * whole text (already redacted) is recorded, up to a cap, so that
	 * `ward replay` can hand the agent what it saw. */
	if (session_audit_later(s, rc == 0 ? "tool_result" : "tool_error",
	    json_pack("{s:s, s:o, s:I, s:o, s:b, s:b, s:s?}", "name", name,
	    "summary", session_jstr(summary, strlen(summary),
	    sizeof(summary)), "exit_code", (json_int_t)out->exit_code,
	    "text", session_jstr(out->text.data, out->text.len,
	    SESSION_RESULT_MAX), "truncated", out->text.len >
	    SESSION_RESULT_MAX, "output_truncated", out->truncated != 0,
	    "error", rc != 0 ? ward_strerror(rc) : NULL)) != 0) {
		buf_reset(&out->text);
		buf_puts(&out->text, "the audit log cannot be written");
		return WARD_EIO;
	}
	return rc;
}

/* ---- storage ------------------------------------------------------------ */

static int
session_key_ok(const char *key, struct buf *err)
{
	size_t n = strlen(key);

	if (n == 0 || n > 128 || key[0] == '.' ||
	    strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != n) {
		buf_puts(err, "storage keys are 1-128 characters of "
		    "[A-Za-z0-9._-] and do not start with '.'");
		return WARD_EINVAL;
	}
	return 0;
}

static int
session_key_path(struct session *s, const char *key, char *path, size_t sz,
    struct buf *err)
{
	int rc;

	if ((rc = session_key_ok(key, err)) != 0)
		return rc;
	if ((size_t)snprintf(path, sz, "%s/%s", s->store_dir, key) >= sz)
		return WARD_ETOOBIG;
	return 0;
}

/* The store is the agent's only way to write to the disk: bound it. */
static int
session_quota(struct session *s, const char *key, size_t len, struct buf *err)
{
	struct dirent *de;
	struct stat st;
	size_t keys = 0, bytes = len;
	DIR *d;

	if ((d = opendir(s->store_dir)) == NULL) {
		buf_printf(err, "cannot read storage: %s", strerror(errno));
		return WARD_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, key) == 0)
			continue;
		keys++;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    0)
			bytes += (size_t)st.st_size;
	}
	closedir(d);
	if (keys + 1 > SESSION_STORE_KEYS || bytes > SESSION_STORE_BYTES) {
		buf_printf(err, "the session store is full (at most %u keys "
		    "and %u bytes)", SESSION_STORE_KEYS, SESSION_STORE_BYTES);
		return WARD_ETOOBIG;
	}
	return 0;
}

static int
session_storage_save(void *ctx, const char *key, const uint8_t *data,
    size_t len, struct buf *err)
{
	struct session *s = ctx;
	char path[4096], tmp[4200];
	int fd, rc;

	if ((rc = session_key_path(s, key, path, sizeof(path), err)) != 0)
		return rc;
	if ((rc = session_quota(s, key, len, err)) != 0)
		return rc;
	/* What is saved may be resumed and sent on: the records of what it
	 * holds go first. */
	if ((rc = s->audit != NULL ? audit_sync(s->audit) : WARD_EIO) != 0) {
		buf_printf(err, "cannot save %s: the audit log cannot be "
		    "written", key);
		return rc;
	}
	/* Keys never start with '.', so this name is no key's. */
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", s->store_dir, key);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		buf_printf(err, "cannot save %s: %s", key, strerror(errno));
		return WARD_EIO;
	}
	/* Written whole, synced, then renamed: a crash leaves the old value
	 * or the new one, never half of one. */
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		buf_printf(err, "cannot save %s: %s", key, strerror(errno));
		close(fd);
		unlink(tmp);
		return WARD_EIO;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		buf_printf(err, "cannot save %s: %s", key, strerror(errno));
		unlink(tmp);
		return WARD_EIO;
	}
	return 0;
}

static int
session_storage_load(void *ctx, const char *key, struct buf *data,
    struct buf *err)
{
	struct session *s = ctx;
	char path[4096], chunk[65536];
	ssize_t n;
	int fd, rc;

	if ((rc = session_key_path(s, key, path, sizeof(path), err)) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return WARD_ENOENT;
		buf_printf(err, "cannot load %s: %s", key, strerror(errno));
		return WARD_EIO;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if ((rc = buf_add(data, chunk, (size_t)n)) != 0) {
			buf_printf(err, "stored value %s is too large", key);
			break;
		}
	if (n == -1 && rc == 0) {
		buf_printf(err, "cannot load %s: %s", key, strerror(errno));
		rc = WARD_EIO;
	}
	close(fd);
	return rc;
}

static int
session_storage_delete(void *ctx, const char *key, struct buf *err)
{
	struct session *s = ctx;
	char path[4096];
	int rc;

	if ((rc = session_key_path(s, key, path, sizeof(path), err)) != 0)
		return rc;
	if (unlink(path) == -1 && errno != ENOENT) {
		buf_printf(err, "cannot delete %s: %s", key, strerror(errno));
		return WARD_EIO;
	}
	return 0;
}

static int
session_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
session_storage_list(void *ctx, struct buf *keys, size_t *nkeys,
    struct buf *err)
{
	struct session *s = ctx;
	struct dirent *de;
	char **names = NULL, **nn;
	size_t n = 0, i;
	DIR *d;
	int rc = 0;

	*nkeys = 0;
	if ((d = opendir(s->store_dir)) == NULL) {
		buf_printf(err, "cannot list storage: %s", strerror(errno));
		return WARD_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((nn = reallocarray(names, n + 1, sizeof(*names))) == NULL ||
		    (nn[n] = strdup(de->d_name)) == NULL) {
			if (nn != NULL)
				names = nn;
			rc = WARD_ENOMEM;
			goto out;
		}
		names = nn;
		n++;
	}
	qsort(names, n, sizeof(*names), session_cmp);
	for (i = 0; i < n && rc == 0; i++)
		rc = buf_add(keys, names[i], strlen(names[i]) + 1);
	*nkeys = n;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* ---- console ------------------------------------------------------------ */

static void
session_print(void *ctx, const char *text, int warn)
{
	session_event(ctx, warn ? "warn" : "print", "text", text, NULL, NULL);
}

static int
session_ask(void *ctx, const char *question, char **answer)
{
	struct session *s = ctx;

	*answer = NULL;
	if (s->sink->ask == NULL)
		return WARD_ENOENT;
	return s->sink->ask(s->sink->arg, question, answer);
}

static int
session_cancelled(void *ctx)
{
	struct session *s = ctx;

	return s->sink->cancelled != NULL && s->sink->cancelled(s->sink->arg);
}

static const struct host_imports session_imports = {
	.llm_info = session_llm_info,
	.llm_chat = session_llm_chat,
	.tool = session_tool,
	.storage_save = session_storage_save,
	.storage_load = session_storage_load,
	.storage_delete = session_storage_delete,
	.storage_list = session_storage_list,
	.print = session_print,
	.ask = session_ask,
	.cancelled = session_cancelled,
};

/* ---- the session -------------------------------------------------------- */

/* 1 when `in` is `dir` or below it (both real paths). */
static int
session_under(const char *in, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(in, dir, n) == 0 && (in[n] == '\0' || in[n] == '/' ||
	    (n == 1 && dir[0] == '/'));
}

/*
 * Invariant 4: the agent never sees ward's own keys, approvals, logs or
 * sessions. The tools are confined to the root, so a root that contains
 * one of ward's directories (say $HOME), or lies inside one, is refused.
 */
static int
session_check_root(const char *root, struct buf *err)
{
	static const enum xdg_kind kinds[] = { XDG_CONFIG, XDG_STATE, XDG_DATA,
	    XDG_RUNTIME };
	char real[PATH_MAX], *dir = NULL, dreal[PATH_MAX];
	size_t i;
	int rc = 0;

	if (realpath(root, real) == NULL) {
		buf_printf(err, "cannot open project root %s: %s", root,
		    strerror(errno));
		return WARD_ENOENT;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && rc == 0; i++) {
		if (xdg_dir(kinds[i], &dir) != 0 || realpath(dir, dreal) == NULL)
			rc = WARD_ESYS;
		else if (session_under(dreal, real) ||
		    session_under(real, dreal))
			rc = WARD_EDENIED;
		if (rc != 0)
			buf_printf(err, "ward will not run a session in %s: "
			    "it %s ward's own directory %s; run it in a "
			    "project directory", real, rc == WARD_EDENIED &&
			    session_under(real, dreal) ? "is inside" :
			    "contains", dir != NULL ? dir : "?");
		free(dir);
		dir = NULL;
	}
	return rc;
}

/*
 * The project's ward.toml, if the user approved it as it is now (DESIGN §3
 * "Approval"): a manifest that is missing, changed since it was approved,
 * never approved, or whose approval does not verify, is not used.
 */
static int
session_policy(struct session *s, const char *root, struct buf *err)
{
	struct manifest *m = NULL;
	struct buf text, why;
	char *path = NULL;
	int rc;

	buf_init(&text, MANIFEST_MAX_BYTES);
	buf_init(&why, 0);
	if (asprintf(&path, "%s/ward.toml", root) == -1) {
		path = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((rc = manifest_read(path, &text, &why)) != 0) {
		if (rc == WARD_ENOENT)
			buf_printf(err, "no ward.toml in %s: write one "
			    "(doc/MANIFEST.md), then approve it with `ward "
			    "approve`", root);
		else
			buf_puts(err, why.data ? why.data : ward_strerror(rc));
		goto out;
	}
	if ((rc = manifest_parse(path, text.data ? text.data : "", text.len,
	    &m, err)) != 0)
		goto out;
	{
		unsigned char h[crypto_hash_sha256_BYTES];
		size_t i;

		crypto_hash_sha256(h, (const unsigned char *)(text.data ?
		    text.data : ""), text.len);
		for (i = 0; i < sizeof(h); i++)
			snprintf(s->manifest_sha + 2 * i, 3, "%02x", h[i]);
	}
	if ((rc = approval_check(root, text.data ? text.data : "", text.len,
	    err)) != 0) {
		buf_printf(err, "; ward runs only under an approved manifest: "
		    "review and approve it with `ward approve` in %s", root);
		rc = WARD_EDENIED;
		goto out;
	}
	rc = policy_new(root, m, &s->pol);
	m = NULL;
out:
	manifest_free(m);
	buf_free(&text);
	buf_free(&why);
	free(path);
	return rc;
}

static int
session_new_id(char id[SESSION_ID_LEN + 1])
{
	unsigned char r[SESSION_ID_LEN / 2];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return WARD_ESYS;
	for (i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/*
 * Opens the session's audit log (<state>/sessions/<id>/audit.log, sealed
 * at the end; a resumed session appends to its log, verified first) and
 * records the start. Without it nothing runs.
 */
static int
session_audit_open(struct session *s, const struct session_config *cfg,
    const char *id, struct buf *err)
{
	struct keyfile_key key;
	struct audit_opts ao;
	char *path = NULL;
	int rc;

	memset(&ao, 0, sizeof(ao));
	ao.origin = "ward-session";
	if ((rc = audit_key_load(1, &key, err)) != 0)
		return rc;
	if (asprintf(&path, "%s/sessions/%s/audit.log", cfg->state_dir,
	    id) == -1) {
		keyfile_clear(&key);
		return WARD_ENOMEM;
	}
	rc = audit_open(path, &key, &ao, &s->audit, err);
	keyfile_clear(&key);
	free(path);
	if (rc != 0) {
		buf_puts(err, " (the session's audit log cannot be opened, so "
		    "it does not run)");
		return rc;
	}
	return session_audit(s, cfg->resume != NULL ? "session_resume" :
	    "session_start", json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s}",
	    "session", id, "root", s->root, "manifest_sha256",
	    s->manifest_sha, "provider", cfg->provider, "model", cfg->model,
	    "ward", "0.1.0"));
}

/*
 * A project's ward.toml must not choose where the user's API keys go: a
 * cloned repository could point them at its own server. So [model]
 * base_url is honoured only for openai-compatible, whose key is its own
 * (OPENAI_COMPATIBLE_API_KEY), and only over https or to loopback; the big
 * providers' endpoints come from the user's environment.
 */
static int
session_base_url(const struct manifest *m, struct buf *err)
{
	const char *u = m->model.base_url;

	if (u == NULL)
		return 0;
	if (m->model.provider != MANIFEST_PROVIDER_OPENAI_COMPATIBLE) {
		buf_printf(err, "ward.toml sets [model] base_url for %s: a "
		    "project does not choose where your API key goes; set "
		    "%s in your environment instead",
		    manifest_provider_name(m->model.provider),
		    m->model.provider == MANIFEST_PROVIDER_ANTHROPIC ?
		    "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL");
		return WARD_EDENIED;
	}
	if (strncmp(u, "https://", 8) == 0)
		return 0;
	if (strncmp(u, "http://", 7) == 0) {
		const char *h = u + 7;
		size_t n = strcspn(h, ":/?#");

		if ((n == 9 && strncmp(h, "127.0.0.1", 9) == 0) ||
		    (n == 9 && strncmp(h, "localhost", 9) == 0) ||
		    (n == 5 && strncmp(h, "[::1]", 5) == 0) ||
		    (h[0] == '[' && strncmp(h, "[::1]", 5) == 0 &&
		    (h[5] == ':' || h[5] == '/' || h[5] == '\0')))
			return 0;
	}
	buf_printf(err, "ward.toml's [model] base_url %s is plain http to "
	    "another host: use https", u);
	return WARD_EDENIED;
}

/*
 * The session's id: a new one, or the one cfg->resume names. A resumed
 * session must exist and belong to this project (its transcript holds what
 * the agent read there), so each session records its project's real path.
 */
static int
session_pick(const struct session_config *cfg, char id[SESSION_ID_LEN + 1],
    struct buf *err)
{
	char real[PATH_MAX], saved[PATH_MAX + 2], *path = NULL;
	size_t i;
	ssize_t n;
	int fd = -1, rc = 0;

	if (realpath(cfg->root, real) == NULL) {
		buf_printf(err, "cannot open project root %s: %s", cfg->root,
		    strerror(errno));
		return WARD_ENOENT;
	}
	if (cfg->resume == NULL) {
		if ((rc = session_new_id(id)) != 0) {
			buf_puts(err, "cannot make a session id");
			return rc;
		}
	} else {
		for (i = 0; cfg->resume[i] != '\0'; i++)
			if (!((cfg->resume[i] >= '0' && cfg->resume[i] <= '9') ||
			    (cfg->resume[i] >= 'a' && cfg->resume[i] <= 'f')))
				break;
		if (i != SESSION_ID_LEN || cfg->resume[i] != '\0') {
			buf_puts(err, "--resume takes a session id (32 "
			    "lower-case hex digits)");
			return WARD_EINVAL;
		}
		memcpy(id, cfg->resume, SESSION_ID_LEN + 1);
	}
	if (asprintf(&path, "%s/sessions/%s", cfg->state_dir, id) == -1)
		return WARD_ENOMEM;
	if (cfg->resume == NULL) {
		if ((rc = xdg_mkdirs(path)) != 0) {
			buf_printf(err, "cannot create %s", path);
			goto out;
		}
		free(path);
		if (asprintf(&path, "%s/sessions/%s/root", cfg->state_dir,
		    id) == -1) {
			path = NULL;
			rc = WARD_ENOMEM;
			goto out;
		}
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600)) == -1 || dprintf(fd, "%s\n", real) < 0) {
			buf_printf(err, "cannot write %s: %s", path,
			    strerror(errno));
			rc = WARD_EIO;
		}
		goto out;
	}
	free(path);
	if (asprintf(&path, "%s/sessions/%s/root", cfg->state_dir, id) == -1) {
		path = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    (n = read(fd, saved, sizeof(saved) - 1)) <= 0) {
		buf_printf(err, "no session %s to resume", id);
		rc = WARD_ENOENT;
		goto out;
	}
	saved[n] = '\0';
	saved[strcspn(saved, "\n")] = '\0';
	if (strcmp(saved, real) != 0) {
		buf_printf(err, "session %s belongs to another project (%s); "
		    "resume it there", id, saved);
		rc = WARD_EDENIED;
	}
out:
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

int
session_run(struct host *h, const struct session_config *cfg,
    const char *prompt, const struct session_sink *sink,
    struct session_result *res, struct buf *err)
{
	struct session s;
	struct host_instance *in = NULL;
	struct host_project proj;
	struct llm_config lc;
	struct llm_info li;
	struct llm_header *hdrs = NULL;
	const struct manifest *m;
	char *rootcopy = NULL;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	s.cfg = cfg;
	s.sink = sink;
	if ((rc = session_pick(cfg, res->id, err)) != 0)
		goto out;
	if (asprintf(&s.store_dir, "%s/sessions/%s/storage", cfg->state_dir,
	    res->id) == -1) {
		s.store_dir = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((rc = xdg_mkdirs(s.store_dir)) != 0) {
		buf_printf(err, "cannot create %s: %s", s.store_dir,
		    strerror(errno));
		goto out;
	}
	s.idle_seconds = session_idle(s.store_dir);
	if (asprintf(&s.tasks_path, "%s/sessions/%s/tasks.json",
	    cfg->state_dir, res->id) == -1) {
		s.tasks_path = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((rc = session_tasks_load(&s, err)) != 0)
		goto out;
	if (s.ntasks > 0)
		session_tasks_event(&s);	/* the TUI shows them again */
	if (asprintf(&s.spill_dir, "%s/sessions/%s/spill", cfg->state_dir,
	    res->id) == -1) {
		s.spill_dir = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((rc = xdg_mkdirs(s.spill_dir)) != 0 ||
	    (rc = tools_open(&s.spill, s.spill_dir, NULL)) != 0) {
		buf_printf(err, "cannot create %s", s.spill_dir);
		goto out;
	}
	if ((rc = session_check_root(cfg->root, err)) != 0 ||
	    (rc = session_policy(&s, cfg->root, err)) != 0)
		goto out;
	if (realpath(cfg->root, s.root) == NULL) {
		buf_printf(err, "cannot open project root %s: %s", cfg->root,
		    strerror(errno));
		rc = WARD_ENOENT;
		goto out;
	}
	if ((rc = session_audit_open(&s, cfg, res->id, err)) != 0 ||
	    (rc = cmdrun_redactor(&s.redact, err)) != 0)
		goto out;
	if ((rc = tools_open(&s.tools, cfg->root, NULL)) != 0) {
		buf_printf(err, "cannot open project root %s: %s", cfg->root,
		    ward_strerror(rc));
		goto out;
	}
	tools_set_filter(s.tools, session_visible, &s);
	/* The command line may choose another model than ward.toml's; it
	 * cannot change anything the manifest grants. */
	m = policy_manifest(s.pol);
	memset(&lc, 0, sizeof(lc));
	lc.provider = cfg->provider != NULL ? cfg->provider :
	    manifest_provider_name(m->model.provider);
	lc.model = cfg->model != NULL ? cfg->model : m->model.name;
	lc.root = cfg->root;
	lc.max_tokens = (unsigned)(m->model.max_tokens > 0 &&
	    m->model.max_tokens <= UINT_MAX ? m->model.max_tokens : 0);
	lc.context_length = (unsigned)(m->model.context_length > 0 &&
	    m->model.context_length <= UINT_MAX ? m->model.context_length : 0);
	/* An endpoint and headers belong to the manifest's provider only. */
	if (cfg->provider == NULL) {
		if ((rc = session_base_url(m, err)) != 0)
			goto out;
		lc.base_url = m->model.base_url;
		if (m->model.nheaders > 0 && (hdrs = calloc(m->model.nheaders,
		    sizeof(*hdrs))) == NULL) {
			rc = WARD_ENOMEM;
			goto out;
		}
		for (i = 0; i < m->model.nheaders; i++) {
			hdrs[i].name = m->model.headers[i].name;
			hdrs[i].value = m->model.headers[i].value;
		}
		lc.headers = hdrs;
		lc.nheaders = m->model.nheaders;
	}
	if (*lc.provider == '\0' || lc.model == NULL) {
		buf_printf(err, "no model: set [model] provider and name in "
		    "%s/ward.toml, or pass --provider and --model", cfg->root);
		rc = WARD_EINVAL;
		goto out;
	}
	if ((rc = llm_open(&s.llm, &lc, err)) != 0)
		goto out;
	if ((rc = host_instance_new(h, &session_imports, &s, &in, err)) != 0)
		goto out;
	if ((rootcopy = strdup(cfg->root)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	proj.name = basename(rootcopy);
	proj.max_turns = cfg->max_turns ? cfg->max_turns :
	    SESSION_DEFAULT_TURNS;
	proj.instructions = "";
	if ((rc = host_instance_init(in, res->id, &proj, err)) != 0)
		goto out;
	/* What replay needs to call handle-message as this session did. */
	llm_info(s.llm, &li);
	if ((rc = session_audit(&s, "user_message", json_pack("{s:o, s:s, "
	    "s:I, s:{s:s?, s:s?, s:I, s:I, s:I}}", "text",
	    session_jstr(prompt, strlen(prompt), SESSION_PROMPT_MAX),
	    "project", proj.name, "max_turns", (json_int_t)proj.max_turns,
	    "llm", "provider", li.provider, "name", li.name,
	    "context_length", (json_int_t)li.context_length, "max_tokens",
	    (json_int_t)li.max_tokens, "idle_seconds",
	    (json_int_t)s.idle_seconds))) != 0) {
		buf_puts(err, "the audit log cannot be written: the message "
		    "is not handled");
		goto out;
	}
	rc = host_instance_handle(in, prompt, &res->turn, err);
	(void)session_audit(&s, "session_end", json_pack("{s:s, s:I, s:I}",
	    "outcome", rc != 0 ? "failed" : res->turn.outcome ==
	    HOST_MAX_TURNS ? "max-turns" : "finished", "turns",
	    (json_int_t)(rc == 0 ? res->turn.turns : 0), "tool_calls",
	    (json_int_t)(rc == 0 ? res->turn.tool_calls : 0)));
out:
	/* Sealed even when the session failed: what it did is recorded. */
	if (s.audit != NULL && audit_close(s.audit) != 0 && rc == 0) {
		buf_puts(err, "the audit log could not be sealed");
		rc = WARD_EIO;
	}
	host_instance_free(in);
	llm_free(s.llm);
	tools_free(s.tools);
	policy_free(s.pol);
	redact_free(s.redact);
	tools_free(s.spill);
	free(s.spill_dir);
	while (s.ntasks > 0)
		free(s.tasks[--s.ntasks].title);
	free(s.tasks);
	free(s.tasks_path);
	free(s.store_dir);
	free(rootcopy);
	free(hdrs);
	return rc;
}

/*
 * `ward` with no arguments: the interactive session (DESIGN §4). Plain
 * termios and ANSI: the whole screen is redrawn from the state below on
 * every change, which keeps the drawing code one function. Everything the
 * daemon sends (model text, commands, summaries) goes through utf8_visible
 * before it reaches the terminal, so nothing the model says can move the
 * cursor or hide characters in a command the user is asked about.
 *
 * The first message starts a session in the daemon; each later one
 * resumes it (`ward run --resume`'s path), so the conversation carries
 * over. `ward --resume ID` picks up an earlier session of the project.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/buf.h"
#include "../lib/err.h"
#include "../lib/proto.h"
#include "../lib/utf8.h"
#include "../policy/manifest.h"
#include "cli.h"
#include "client.h"

#define TUI_LINES_MAX	5000	/* transcript lines kept */
#define TUI_PREVIEW_MAX	(256u << 10)	/* streaming text shown, at most */
#define TUI_COMPOSER_MAX (64u << 10)

enum tui_style { TUI_PLAIN, TUI_USER, TUI_TOOL, TUI_ERROR, TUI_NOTE };

struct tui_line {
	char		*text;		/* visible: no controls */
	enum tui_style	 style;
};

struct tui {
	int		 fd;		/* the daemon, or -1 */
	int		 running;	/* a turn is in flight */
	int		 color;
	int		 quit_armed;	/* Ctrl-C once on an empty composer */
	int		 rows, cols;
	const char	*provider, *model;
	char		 root[PATH_MAX];
	char		 session[40];
	char		*model_name;	/* for the status line */
	struct tui_line	*lines;
	size_t		 nlines;
	json_t		*tasks;		/* the last `tasks` event's list */
	struct buf	 preview;	/* the model's text streaming in */
	size_t		 npreview;	/* its lines at the transcript's end */
	json_int_t	 ctx_used;	/* tokens of the last model request */
	json_int_t	 ctx_len;	/* the model's context, 0: unknown */
	struct buf	 composer;
	json_t		*permit;	/* the pending permit frame */
	size_t		 level;		/* index into its levels */
	int		 choice;	/* 0..3: the highlighted answer */
};

static const char *const tui_answers[] = {
	"allow", "allow-always", "deny", "deny-always"
};
static const char *const tui_answer_text[] = {
	"Allow          run it; ask again next time",
	"Allow always   run it and matching commands silently",
	"Deny           refuse it; ask again next time",
	"Deny always    refuse it and matching commands silently",
};

static struct termios tui_saved;
static volatile sig_atomic_t tui_winch;

static void
tui_on_winch(int sig)
{
	(void)sig;
	tui_winch = 1;
}

/* Appends text (untrusted) to the transcript, one entry per line. */
/* Adds text (shown visibly) to the transcript; returns the lines added. */
static size_t
tui_add(struct tui *t, enum tui_style style, const char *text)
{
	struct buf vis;
	char *p, *nl;
	size_t added = 0;

	buf_init(&vis, 0);
	if (utf8_visible(&vis, text, strlen(text), UTF8_KEEP_LF) != 0 ||
	    vis.data == NULL) {
		buf_free(&vis);
		return 0;
	}
	for (p = vis.data; p != NULL; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		if (t->nlines == TUI_LINES_MAX) {
			free(t->lines[0].text);
			memmove(t->lines, t->lines + 1, (t->nlines - 1) *
			    sizeof(*t->lines));
			t->nlines--;
		}
		if ((t->lines[t->nlines].text = strdup(p)) == NULL)
			break;
		t->lines[t->nlines++].style = style;
		added++;
	}
	buf_free(&vis);
	return added;
}

/* Takes the model's streaming text off the end of the transcript. */
static void
tui_preview_drop(struct tui *t)
{
	for (; t->npreview > 0 && t->nlines > 0; t->npreview--)
		free(t->lines[--t->nlines].text);
	t->npreview = 0;
}

/* A `delta` event: the text so far replaces the last preview lines. */
static void
tui_preview(struct tui *t, const json_t *m)
{
	const char *text = json_string_value(json_object_get(m, "text"));

	tui_preview_drop(t);
	if (json_is_true(json_object_get(m, "reset")))
		buf_reset(&t->preview);
	else if (text != NULL && t->preview.len < TUI_PREVIEW_MAX)
		(void)buf_puts(&t->preview, text);
	if (t->preview.len > 0)
		t->npreview = tui_add(t, TUI_PLAIN, t->preview.data);
}

static void
tui_addf(struct tui *t, enum tui_style style, const char *a, const char *b)
{
	struct buf s;

	buf_init(&s, 0);
	if (buf_printf(&s, "%s%s", a, b) == 0)
		tui_add(t, style, s.data);
	buf_free(&s);
}

static const char *
tui_sgr(const struct tui *t, enum tui_style style)
{
	static const char *const sgr[] = {
		"\033[0m", "\033[1;36m", "\033[2m", "\033[31m", "\033[33m"
	};

	return t->color ? sgr[style] : "";
}

/* Number of bytes of s that fill at most w columns (one column a
 * character: the text is already made visible), up to a line break. */
static size_t
tui_fit(const char *s, size_t w)
{
	size_t i, n = 0;

	for (i = 0; s[i] != '\0' && s[i] != '\n'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (n++ == w)
			break;
	}
	return i;
}

/* Rows a line takes when wrapped at the screen width. */
static int
tui_rows_of(const struct tui *t, const char *s)
{
	int r = 1;
	size_t k;

	while (s[k = tui_fit(s, (size_t)t->cols)] != '\0' && s[k] != '\n') {
		s += k;
		r++;
	}
	return r;
}

static void
tui_put_wrapped(const struct tui *t, struct buf *o, const char *s,
    enum tui_style st, int skip, int *budget)
{
	size_t k;

	do {
		k = tui_fit(s, (size_t)t->cols);
		if (skip > 0)
			skip--;
		else if (*budget > 0) {
			buf_printf(o, "%s%.*s%s\r\n", tui_sgr(t, st), (int)k,
			    s, t->color ? "\033[0m" : "");
			(*budget)--;
		}
		s += k;
	} while (*s != '\0');
}

/* The task list, a line a task with its status as a mark ([x] done, [>]
 * in progress, [ ] pending); the footer is shown visibly, so titles are
 * safe here. At most TUI_TASKS_SHOWN, the unfinished first. */
#define TUI_TASKS_SHOWN	8

static void
tui_task_lines(const struct tui *t, struct buf *f)
{
	json_t *task;
	const char *st, *title;
	size_t i, n = json_array_size(t->tasks), shown = 0, done = 0;
	int pass;

	if (n == 0)
		return;
	json_array_foreach(t->tasks, i, task)
		if ((st = json_string_value(json_object_get(task,
		    "status"))) != NULL && strcmp(st, "done") == 0)
			done++;
	buf_printf(f, "tasks: %zu of %zu done\n", done, n);
	for (pass = 0; pass < 2; pass++)
		json_array_foreach(t->tasks, i, task) {
			st = json_string_value(json_object_get(task,
			    "status"));
			title = json_string_value(json_object_get(task,
			    "title"));
			if (st == NULL || title == NULL ||
			    (strcmp(st, "done") == 0) != pass)
				continue;
			if (shown++ == TUI_TASKS_SHOWN) {
				buf_puts(f, "  ...\n");
				return;
			}
			buf_printf(f, "  %s %" JSON_INTEGER_FORMAT " %s\n",
			    strcmp(st, "done") == 0 ? "[x]" :
			    strcmp(st, "in_progress") == 0 ? "[>]" : "[ ]",
			    json_integer_value(json_object_get(task, "id")),
			    title);
		}
}

/* The lines below the transcript: task list, permit prompt, composer. */
static void
tui_footer(const struct tui *t, struct buf *f)
{
	json_t *lv;
	struct buf v;
	const char *cmd, *reason, *pat;
	size_t n, i;

	buf_init(&v, 0);
	tui_task_lines(t, f);
	if (t->permit != NULL) {
		cmd = json_string_value(json_object_get(t->permit, "command"));
		reason = json_string_value(json_object_get(t->permit,
		    "reason"));
		lv = json_object_get(t->permit, "levels");
		n = json_array_size(lv);
		pat = n > 0 ? json_string_value(json_array_get(lv, t->level)) :
		    NULL;
		utf8_visible(&v, cmd ? cmd : "", cmd ? strlen(cmd) : 0, 0);
		buf_printf(f, "-- ward asks: run this command? --\n"
		    "command: %s\n", v.data ? v.data : "");
		buf_reset(&v);
		utf8_visible(&v, reason ? reason : "", reason ? strlen(reason) :
		    0, 0);
		buf_printf(f, "why:     %s\n", v.data ? v.data : "");
		buf_reset(&v);
		if (pat != NULL) {
			utf8_visible(&v, pat, strlen(pat), 0);
			buf_printf(f, "pattern: %s   (%zu/%zu; Left/Right "
			    "broader/narrower, Tab recommended)\n", v.data ?
			    v.data : "", t->level + 1, n);
		} else
			buf_puts(f, "pattern: none (only this command)\n");
		for (i = 0; i < 4; i++)
			buf_printf(f, "%s %zu %s\n", (int)i == t->choice ? ">" :
			    " ", i + 1, tui_answer_text[i]);
	}
	buf_printf(f, "%s> %s", t->running && t->permit == NULL ?
	    "(running: Esc cancels) " : "", t->composer.data ?
	    t->composer.data : "");
	buf_free(&v);
}

/* 950 -> "950", 12345 -> "12.3k", 200000 -> "200k". */
static void
tui_kilo(json_int_t n, char *out, size_t size)
{
	if (n < 1000)
		snprintf(out, size, "%" JSON_INTEGER_FORMAT, n);
	else if (n < 100000)
		snprintf(out, size, "%.1fk", (double)n / 1000);
	else
		snprintf(out, size, "%" JSON_INTEGER_FORMAT "k", n / 1000);
}

/* "12.3k/200k tokens (6%)", "-" before the first model reply. */
static void
tui_context(const struct tui *t, char *out, size_t size)
{
	char used[24], len[24];

	if (t->ctx_used <= 0) {
		snprintf(out, size, "-");
		return;
	}
	tui_kilo(t->ctx_used, used, sizeof(used));
	if (t->ctx_len <= 0) {
		snprintf(out, size, "%s tokens", used);
		return;
	}
	tui_kilo(t->ctx_len, len, sizeof(len));
	snprintf(out, size, "%s/%s tokens (%d%%)", used, len,
	    (int)(t->ctx_used * 100 / t->ctx_len));
}

static void
tui_draw(struct tui *t)
{
	struct winsize ws;
	struct buf o, foot, vis, stat;
	char *p, *nl, ctx[80];
	int frows = 0, trows = 0, budget, skip, i;
	size_t k;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 2 &&
	    ws.ws_col > 10) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
	}
	buf_init(&o, 0);
	buf_init(&foot, 0);
	buf_init(&vis, 0);
	buf_init(&stat, 0);
	tui_footer(t, &foot);
	/* The footer is ours except the composer, which the user typed:
	 * shown visibly too, keeping line breaks. */
	utf8_visible(&vis, foot.data, foot.len, UTF8_KEEP_LF);
	for (p = vis.data; p != NULL; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		frows += tui_rows_of(t, p);
	}
	buf_puts(&o, "\033[H\033[2J");
	/* Status line, one row: what changes first, the model's name (from
	 * ward.toml, so shown visibly) last, where the width cuts it. */
	tui_context(t, ctx, sizeof(ctx));
	buf_printf(&stat, "ward | daemon %s%s | session %.8s | context %s | "
	    "model ", t->fd < 0 ? "gone" : t->permit ? "waiting for you" :
	    t->running ? "running" : "idle", t->quit_armed ?
	    " | Ctrl-C again to quit" : "", t->session[0] ? t->session : "-",
	    ctx);
	p = t->model_name ? t->model_name : "?";
	utf8_visible(&stat, p, strlen(p), 0);
	p = stat.data ? stat.data : "";
	buf_printf(&o, "%s%.*s%s\r\n", t->color ? "\033[7m" : "",
	    (int)tui_fit(p, (size_t)t->cols), p, t->color ? "\033[0m" : "");
	buf_free(&stat);
	budget = t->rows - 1 - frows;
	for (k = 0; k < t->nlines; k++)
		trows += tui_rows_of(t, t->lines[k].text);
	skip = trows > budget ? trows - budget : 0;
	for (k = 0; k < t->nlines && budget > 0; k++) {
		i = tui_rows_of(t, t->lines[k].text);
		if (skip >= i) {
			skip -= i;
			continue;
		}
		tui_put_wrapped(t, &o, t->lines[k].text, t->lines[k].style,
		    skip, &budget);
		skip = 0;
	}
	for (; budget > 0; budget--)
		buf_puts(&o, "\r\n");
	/* The footer is drawn whole (a footer taller than the screen
	 * scrolls the status line away, which is better than hiding the
	 * prompt's answers). */
	for (p = vis.data; p != NULL; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		do {
			k = tui_fit(p, (size_t)t->cols);
			buf_add(&o, p, k);
			p += k;
			if (*p != '\0' && *p != '\n')
				buf_puts(&o, "\r\n");
		} while (*p != '\0' && *p != '\n');
		if (nl != NULL)
			buf_puts(&o, "\r\n");
	}
	if (o.data != NULL)
		(void)!write(STDOUT_FILENO, o.data, o.len);
	buf_free(&o);
	buf_free(&foot);
	buf_free(&vis);
}

static void
tui_send(struct tui *t, json_t *m)
{
	if (m == NULL || t->fd < 0 || proto_send(t->fd, m) != 0) {
		if (t->fd >= 0)
			close(t->fd);
		t->fd = -1;
		t->running = 0;
		tui_add(t, TUI_ERROR, "lost the daemon");
	}
	json_decref(m);
}

static void
tui_answer(struct tui *t, int choice)
{
	json_t *lv = json_object_get(t->permit, "levels");
	const char *pat = json_array_size(lv) > 0 ?
	    json_string_value(json_array_get(lv, t->level)) : NULL;
	struct buf s;

	buf_init(&s, 0);
	buf_printf(&s, "%s: %s", tui_answers[choice], pat != NULL ? pat :
	    json_string_value(json_object_get(t->permit, "command")));
	tui_add(t, TUI_NOTE, s.data ? s.data : "");
	buf_free(&s);
	tui_send(t, json_pack("{s:s, s:s, s:s?}", "type", "permit_answer",
	    "answer", tui_answers[choice], "pattern", pat));
	json_decref(t->permit);
	t->permit = NULL;
}

static void
tui_event(struct tui *t, const json_t *m)
{
	const char *kind = json_string_value(json_object_get(m, "kind"));
	const char *text = json_string_value(json_object_get(m, "text"));
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *args = json_string_value(json_object_get(m, "arguments"));
	const char *sum = json_string_value(json_object_get(m, "summary"));

	if (kind == NULL)
		return;
	if (strcmp(kind, "delta") == 0) {
		tui_preview(t, m);
		return;
	}
	/* The reply itself (or what follows it) replaces its preview. */
	if (strcmp(kind, "usage") != 0 && strcmp(kind, "tasks") != 0) {
		tui_preview_drop(t);
		buf_reset(&t->preview);
	}
	if (strcmp(kind, "assistant") == 0 && text != NULL)
		tui_add(t, TUI_PLAIN, text);
	else if (strcmp(kind, "tool_call") == 0 && name != NULL) {
		tui_addf(t, TUI_TOOL, "> ", name);
		if (args != NULL)
			tui_addf(t, TUI_TOOL, "  ", args);
	} else if (strcmp(kind, "tool_result") == 0 && sum != NULL) {
		tui_addf(t, TUI_TOOL, "  = ", sum);
	} else if (strcmp(kind, "tasks") == 0 &&
	    json_is_array(json_object_get(m, "tasks"))) {
		json_decref(t->tasks);
		t->tasks = json_incref(json_object_get(m, "tasks"));
	} else if (strcmp(kind, "usage") == 0) {
		t->ctx_used = json_integer_value(json_object_get(m,
		    "input_tokens")) + json_integer_value(json_object_get(m,
		    "output_tokens"));
		t->ctx_len = json_integer_value(json_object_get(m,
		    "context_length"));
	} else if (strcmp(kind, "tool_error") == 0 && sum != NULL)
		tui_addf(t, TUI_ERROR, "  ! ", sum);
	else if (strcmp(kind, "print") == 0 && text != NULL)
		tui_add(t, TUI_PLAIN, text);
	else if ((strcmp(kind, "warn") == 0 || strcmp(kind, "error") == 0) &&
	    text != NULL)
		tui_addf(t, TUI_ERROR, kind[0] == 'w' ? "warning: " :
		    "error: ", text);
}

static void
tui_done(struct tui *t, const json_t *m)
{
	const char *s = json_string_value(json_object_get(m, "session"));
	const char *e = json_string_value(json_object_get(m, "error"));

	if (s != NULL)
		snprintf(t->session, sizeof(t->session), "%s", s);
	tui_preview_drop(t);
	buf_reset(&t->preview);
	if (!json_is_true(json_object_get(m, "ok")))
		tui_addf(t, TUI_ERROR, "session stopped: ", e ? e : "?");
	t->running = 0;
	json_decref(t->permit);
	t->permit = NULL;
}

/* One frame from the daemon. */
static void
tui_frame(struct tui *t)
{
	struct buf err;
	json_t *m = NULL, *lv;
	const char *type;

	buf_init(&err, 4096);
	if (proto_recv(t->fd, &m, &err) != 0) {
		close(t->fd);
		t->fd = -1;
		t->running = 0;
		tui_add(t, TUI_ERROR, "lost the daemon");
		goto out;
	}
	type = proto_type(m);
	if (strcmp(type, "event") == 0)
		tui_event(t, m);
	else if (strcmp(type, "ask") == 0)
		tui_send(t, json_pack("{s:s, s:n}", "type", "answer", "text"));
	else if (strcmp(type, "permit") == 0) {
		json_decref(t->permit);
		t->permit = json_incref(m);
		lv = json_object_get(m, "levels");
		t->level = (size_t)json_integer_value(json_object_get(m,
		    "recommended"));
		if (t->level >= json_array_size(lv))
			t->level = 0;
		t->choice = 0;
	} else if (strcmp(type, "done") == 0)
		tui_done(t, m);
	else if (strcmp(type, "error") == 0)
		tui_addf(t, TUI_ERROR, "daemon error: ", json_string_value(
		    json_object_get(m, "message")) ? json_string_value(
		    json_object_get(m, "message")) : "?");
out:
	json_decref(m);
	buf_free(&err);
}

static void
tui_submit(struct tui *t)
{
	if (t->composer.len == 0 || t->running)
		return;
	if (utf8_valid_prefix(t->composer.data, t->composer.len) !=
	    t->composer.len) {
		tui_add(t, TUI_ERROR, "the message is not valid UTF-8");
		return;
	}
	tui_addf(t, TUI_USER, "you: ", t->composer.data);
	tui_send(t, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s*}", "type",
	    "run", "root", t->root, "prompt", t->composer.data, "provider",
	    t->provider, "model", t->model, "resume", t->session[0] ?
	    t->session : NULL));
	if (t->fd >= 0)
		t->running = 1;
	buf_reset(&t->composer);
}

/* Keys while a permit waits: the four answers and the pattern level. */
static void
tui_permit_key(struct tui *t, int key)
{
	size_t n = json_array_size(json_object_get(t->permit, "levels"));

	switch (key) {
	case '1': case '2': case '3': case '4':
		tui_answer(t, key - '1');
		break;
	case '\r':
		tui_answer(t, t->choice);
		break;
	case 'A':	/* Up */
		t->choice = (t->choice + 3) % 4;
		break;
	case 'B':	/* Down */
		t->choice = (t->choice + 1) % 4;
		break;
	case 'D':	/* Left: broader */
		if (t->level > 0)
			t->level--;
		break;
	case 'C':	/* Right: narrower */
		if (t->level + 1 < n)
			t->level++;
		break;
	case 'H':
		t->level = 0;
		break;
	case 'F':
		t->level = n > 0 ? n - 1 : 0;
		break;
	case '\t':
		t->level = (size_t)json_integer_value(json_object_get(
		    t->permit, "recommended"));
		if (t->level >= n)
			t->level = 0;
		break;
	}
}

/*
 * Decodes one key from in[0..n); returns the bytes used and sets *key:
 * a byte, or for escape sequences 'A'..'D' (arrows), 'H' / 'F' (Home /
 * End) with *esc set, 27 for a lone Esc, '\n' for Alt-Enter.
 */
static size_t
tui_key(const unsigned char *in, size_t n, int *key, int *esc)
{
	size_t i;

	*esc = 0;
	*key = in[0];
	if (in[0] != 27)
		return 1;
	if (n == 1)
		return 1;	/* a lone Esc */
	if (in[1] == '\r') {
		*key = '\n';
		return 2;
	}
	if ((in[1] != '[' && in[1] != 'O') || n < 3)
		return 2;
	*esc = 1;
	for (i = 2; i < n && !(in[i] >= 0x40 && in[i] <= 0x7e); i++)
		;
	if (i == n)
		return n;
	*key = in[i];
	if (in[i] == '~')
		*key = in[2] == '1' || in[2] == '7' ? 'H' :
		    in[2] == '4' || in[2] == '8' ? 'F' : 0;
	return i + 1;
}

/* Returns 1 when the user quits. */
static int
tui_input(struct tui *t, const unsigned char *in, size_t n)
{
	size_t used;
	int key, esc, armed;

	while (n > 0) {
		used = tui_key(in, n, &key, &esc);
		in += used;
		n -= used;
		armed = t->quit_armed;
		t->quit_armed = 0;
		if (key == 3) {		/* Ctrl-C */
			if (t->composer.len > 0)
				buf_reset(&t->composer);
			else if (armed)
				return 1;
			else
				t->quit_armed = 1;
		} else if (key == 27 && !esc) {
			if (t->running) {
				tui_add(t, TUI_NOTE, "cancelling the turn");
				tui_send(t, json_pack("{s:s}", "type",
				    "cancel"));
				json_decref(t->permit);
				t->permit = NULL;
			}
		} else if (t->permit != NULL && (esc || key < 0x80))
			tui_permit_key(t, esc ? key : key == '\t' ? '\t' :
			    key == '\r' || (key >= '1' && key <= '4') ? key :
			    0);
		else if (esc)
			;	/* no cursor movement in the composer yet */
		else if (key == '\r')
			tui_submit(t);
		else if (key == 127 || key == 8) {
			while (t->composer.len > 0 && ((unsigned char)
			    t->composer.data[--t->composer.len] & 0xc0) == 0x80)
				;
			if (t->composer.data != NULL)
				t->composer.data[t->composer.len] = '\0';
		} else if (key == '\n' || key >= 0x20)
			(void)buf_add(&t->composer, &(char){ (char)key }, 1);
	}
	return 0;
}

static void
tui_restore(void)
{
	static const char leave[] = "\033[?1049l";

	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &tui_saved);
	(void)!write(STDOUT_FILENO, leave, sizeof(leave) - 1);
}

static int
tui_loop(struct tui *t)
{
	struct pollfd p[2];
	unsigned char in[256];
	ssize_t r;

	for (;;) {
		tui_draw(t);
		p[0].fd = STDIN_FILENO;
		p[0].events = POLLIN;
		p[1].fd = t->fd;
		p[1].events = POLLIN;
		if (poll(p, t->fd >= 0 ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			return WARD_EXIT_SYSERR;
		}
		if (t->fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)) != 0)
			tui_frame(t);
		if ((p[0].revents & POLLIN) != 0) {
			if ((r = read(STDIN_FILENO, in, sizeof(in))) <= 0)
				return WARD_EXIT_OK;
			if (tui_input(t, in, (size_t)r))
				return WARD_EXIT_OK;
		} else if ((p[0].revents & (POLLHUP | POLLERR)) != 0)
			return WARD_EXIT_OK;
	}
}

static void
tui_usage(FILE *f)
{
	fputs("usage: ward [--provider P] [--model M] [--resume ID]\n\n"
	    "The interactive session in the current directory (its ward.toml "
	    "must be\napproved); messages continue one conversation, and "
	    "--resume ID picks up\nan earlier session of this project. "
	    "Enter sends, Alt-Enter or Ctrl-J adds a line, "
	    "Esc cancels the\nrunning turn, Ctrl-C twice on an empty message "
	    "quits. When the agent runs\na command ward.toml does not allow, "
	    "ward asks: 1 Allow, 2 Allow always,\n3 Deny, 4 Deny always (or "
	    "Up/Down and Enter); Left/Right make the pattern\nbroader or "
	    "narrower, Home/End jump to the ends, Tab goes back to the\n"
	    "recommended one. NO_COLOR turns colour off.\n", f);
}

int
cmd_tui(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "provider",	required_argument, NULL, 'p' },
		{ "model",	required_argument, NULL, 'm' },
		{ "resume",	required_argument, NULL, 'r' },
		{ "help",	no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char enter[] = "\033[?1049h";
	struct tui t;
	struct termios raw;
	struct manifest *m = NULL;
	struct buf err;
	const char *nc = getenv("NO_COLOR");
	char path[PATH_MAX + 16];
	int c, code;

	memset(&t, 0, sizeof(t));
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			t.provider = optarg;
			break;
		case 'm':
			t.model = optarg;
			break;
		case 'r':
			/* The daemon checks it names a session of here. */
			snprintf(t.session, sizeof(t.session), "%s", optarg);
			break;
		case 'h':
			tui_usage(stdout);
			return WARD_EXIT_OK;
		default:
			tui_usage(stderr);
			return WARD_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		tui_usage(stderr);
		return WARD_EXIT_USAGE;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fputs("ward: the interactive session needs a terminal; use "
		    "`ward run PROMPT`\n", stderr);
		return WARD_EXIT_USAGE;
	}
	if (getcwd(t.root, sizeof(t.root)) == NULL ||
	    utf8_valid_prefix(t.root, strlen(t.root)) != strlen(t.root)) {
		fputs("ward: cannot use the current directory\n", stderr);
		return WARD_EXIT_SYSERR;
	}
	buf_init(&err, 4096);
	snprintf(path, sizeof(path), "%s/ward.toml", t.root);
	if (manifest_load(path, &m, &err) == 0)
		t.model_name = strdup(t.model != NULL ? t.model :
		    m->model.name != NULL ? m->model.name : "?");
	manifest_free(m);
	buf_reset(&err);
	if ((t.fd = client_connect(&err)) < 0) {
		fprintf(stderr, "ward: %s\n", err.data ? err.data :
		    ward_strerror(t.fd));
		buf_free(&err);
		free(t.model_name);
		return WARD_EXIT_SYSERR;
	}
	buf_free(&err);
	t.color = nc == NULL || *nc == '\0';
	t.rows = 24;
	t.cols = 80;
	buf_init(&t.composer, TUI_COMPOSER_MAX);
	buf_init(&t.preview, 0);
	if ((t.lines = calloc(TUI_LINES_MAX, sizeof(*t.lines))) == NULL) {
		close(t.fd);
		free(t.model_name);
		return WARD_EXIT_SYSERR;
	}
	if (tcgetattr(STDIN_FILENO, &tui_saved) == -1) {
		perror("ward: tcgetattr");
		code = WARD_EXIT_SYSERR;
		goto out;
	}
	raw = tui_saved;
	raw.c_iflag &= ~(unsigned)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
	raw.c_oflag &= ~(unsigned)OPOST;
	raw.c_cflag |= CS8;
	raw.c_lflag &= ~(unsigned)(ECHO | ICANON | IEXTEN | ISIG);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	signal(SIGWINCH, tui_on_winch);
	signal(SIGPIPE, SIG_IGN);
	(void)!write(STDOUT_FILENO, enter, sizeof(enter) - 1);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	tui_add(&t, TUI_NOTE, "ward: type a message, Enter sends. "
	    "Ctrl-C twice quits.");
	code = tui_loop(&t);
	tui_restore();
out:
	if (t.fd >= 0)
		close(t.fd);
	while (t.nlines > 0)
		free(t.lines[--t.nlines].text);
	free(t.lines);
	json_decref(t.tasks);
	free(t.model_name);
	json_decref(t.permit);
	buf_free(&t.composer);
	buf_free(&t.preview);
	return code;
}

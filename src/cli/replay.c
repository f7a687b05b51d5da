/*
 * `ward replay SESSION` (DESIGN §4): verifies the session's audit log, shows
 * the session it records (the user's messages, the model's replies, each
 * tool call with its decision, commands and results) from the log alone,
 * then re-runs the session's agent component against the model replies
 * and tool results the log recorded, in this process (no daemon, no
 * model, no project access), and reports the first divergence.
 *
 * Nothing from a log that does not verify is shown or replayed, and every
 * string from the log is shown through utf8_visible, so nothing a model
 * or a command wrote can drive the terminal.
 */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "../daemon/host.h"
#include "../daemon/replay.h"
#include "../lib/err.h"
#include "../lib/utf8.h"
#include "../lib/xdg.h"
#include "cli.h"

#define REPLAY_ID_LEN		32	/* session.h's SESSION_ID_LEN */
#define REPLAY_INDENT		"         "	/* under a record's text */
#define REPLAY_RESULT_INDENT	"           "	/* a tool result's lines */
#define REPLAY_RESULT_LINES	12	/* of a tool result, shown */
#define REPLAY_RESULT_BYTES	2000
#define REPLAY_ARGS_BYTES	400	/* of a tool call's arguments */

static void
replay_usage(FILE *f)
{
	fputs("usage: ward replay [--json] [--agent FILE] SESSION\n\n"
	    "Shows a recorded session from its audit log "
	    "($XDG_STATE_HOME/ward/sessions/\nSESSION/audit.log), which must "
	    "verify first: the user's messages, the\nmodel's replies, each "
	    "tool call with the decision on it (rule and reason),\n"
	    "commands with their exit codes, and the tool results (long ones "
	    "cut for\nthe screen). Then re-runs the session's agent component "
	    "against the model\nreplies and tool results in the log and "
	    "reports the first place where the\nagent did something else than "
	    "the log records. Nothing is sent to a model\nand no tool runs. "
	    "Control characters from the log are shown as <U+XXXX>.\n\n"
	    "  --json         one JSON object per line: each event of the "
	    "session\n"
	    "                 ({\"event\": KIND, \"seq\", \"ts\", and the "
	    "record's data,\n"
	    "                 results in full}), then {\"event\": "
	    "\"replay\", ...}\n"
	    "  --agent FILE   agent component (default: agent.wasm beside "
	    "ward)\n\n"
	    "Exit: 0 no divergence, 1 a divergence, a log that does not "
	    "verify or\nno such session, 2 usage, 111 system error.\n", f);
}

static int
replay_id_ok(const char *id)
{
	return strlen(id) == REPLAY_ID_LEN &&
	    strspn(id, "0123456789abcdef") == REPLAY_ID_LEN;
}

/* ---- the session, shown ------------------------------------------------- */

static int
replay_collect(void *arg, json_t *rec, const unsigned char *hash)
{
	(void)hash;
	return json_array_append(arg, rec) == 0 ? 0 : WARD_ENOMEM;
}

static const char *
replay_s(json_t *data, const char *key)
{
	const char *s = json_string_value(json_object_get(data, key));

	return s != NULL ? s : "";
}

static long long
replay_i(json_t *data, const char *key)
{
	return (long long)json_integer_value(json_object_get(data, key));
}

/*
 * Prints text[0..n) made visible (utf8_visible), one output line per line
 * of it, each after indent (the first too unless inl: it goes on the
 * current line); at most maxlines lines and about maxbytes bytes of it,
 * then how much was left out.
 */
static void
replay_text(FILE *out, const char *indent, int inl, const char *text,
    size_t n, size_t maxlines, size_t maxbytes)
{
	struct buf b;
	const char *p = text, *nl, *end = text + n;
	size_t lines = 0, len, left;

	buf_init(&b, 0);
	while (p < end && lines < maxlines && (size_t)(p - text) < maxbytes) {
		nl = memchr(p, '\n', end - p);
		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (len > maxbytes - (size_t)(p - text))
			len = utf8_valid_prefix(p, maxbytes -
			    (size_t)(p - text));
		buf_reset(&b);
		if (len == 0 && nl != p)
			break;		/* a character longer than what is left */
		if (utf8_visible(&b, p, len, UTF8_KEEP_TAB) != 0)
			break;
		fprintf(out, "%s%.*s\n", b.len > 0 && (lines > 0 || !inl) ?
		    indent : "",
		    (int)b.len, b.data != NULL ? b.data : "");
		lines++;
		p += len;
		if (p < end && *p == '\n')
			p++;
	}
	if (lines == 0 && inl)
		fputc('\n', out);
	if (p < end) {
		for (left = 0, nl = p; nl != NULL && nl < end; left++)
			if ((nl = memchr(nl, '\n', end - nl)) != NULL)
				nl++;
		fprintf(out, "%s[... %zu more byte%s in %zu more line%s, not "
		    "shown: --json has all of it]\n", indent,
		    (size_t)(end - p), end - p == 1 ? "" : "s", left,
		    left == 1 ? "" : "s");
	}
	buf_free(&b);
}

/* Prints fmt with each %s argument (the only conversion) made visible,
 * after the record's seq (or blanks when seq is negative). */
static void
replay_line(FILE *out, long long seq, const char *fmt, ...)
{
	struct buf b;
	const char *s;
	va_list ap;

	buf_init(&b, 0);
	va_start(ap, fmt);
	for (; *fmt != '\0'; fmt++) {
		if (fmt[0] == '%' && fmt[1] == 's') {
			s = va_arg(ap, const char *);
			(void)utf8_visible(&b, s, strlen(s), 0);
			fmt++;
		} else
			(void)buf_add(&b, fmt, 1);
	}
	va_end(ap);
	if (seq >= 0)
		fprintf(out, "%5lld  ", seq);
	else
		fputs("       ", out);
	fprintf(out, "%.*s", (int)b.len, b.data != NULL ? b.data : "");
	buf_free(&b);
}

/* A string member of data as the text of a record: on the current line,
 * more lines under it (replay_text). */
static void
replay_jtext(FILE *out, json_t *data, const char *key, size_t maxlines,
    size_t maxbytes)
{
	json_t *v = json_object_get(data, key);

	replay_text(out, REPLAY_INDENT, 1, json_is_string(v) ?
	    json_string_value(v) : "", json_string_length(v), maxlines,
	    maxbytes);
}

/* "rule: reason", or what there is of it. */
static void
replay_why(struct buf *b, json_t *data)
{
	const char *rule = replay_s(data, "rule"), *reason =
	    replay_s(data, "reason");

	buf_reset(b);
	if (*rule != '\0' && *reason != '\0')
		buf_printf(b, " (%s: %s)", reason, rule);
	else if (*rule != '\0' || *reason != '\0')
		buf_printf(b, " (%s%s)", reason, rule);
}

static void
replay_show_calls(FILE *out, json_t *calls)
{
	json_t *c;
	size_t i;

	json_array_foreach(calls, i, c) {
		replay_line(out, -1, "  asks %s ", replay_s(c, "name"));
		replay_jtext(out, c, "arguments", 1, REPLAY_ARGS_BYTES);
	}
}

static void
replay_show(FILE *out, json_t *rec)
{
	json_t *data = json_object_get(rec, "data"), *v;
	const char *k = json_string_value(json_object_get(rec, "kind"));
	long long seq = (long long)json_integer_value(json_object_get(rec,
	    "seq"));
	struct buf why;
	char *s;

	buf_init(&why, 0);
	if (strcmp(k, "session_start") == 0 ||
	    strcmp(k, "session_resume") == 0) {
		replay_line(out, seq, "session %s %s at %s\n",
		    replay_s(data, "session"), strcmp(k, "session_start") ==
		    0 ? "started" : "resumed", replay_s(rec, "ts"));
		replay_line(out, -1, "project %s\n", replay_s(data, "root"));
		replay_line(out, -1, "model %s %s, manifest sha256 %s, ward "
		    "%s\n", replay_s(data, "provider"), replay_s(data,
		    "model"), replay_s(data, "manifest_sha256"),
		    replay_s(data, "ward"));
	} else if (strcmp(k, "user_message") == 0) {
		fputc('\n', out);
		replay_line(out, seq, "user: ");
		replay_jtext(out, data, "text", SIZE_MAX, SIZE_MAX);
	} else if (strcmp(k, "llm_response") == 0) {
		fputc('\n', out);
		replay_line(out, seq, "model: ");
		if (json_string_length(json_object_get(data, "content")) > 0)
			replay_jtext(out, data, "content", SIZE_MAX, SIZE_MAX);
		else
			fputs("(no text)\n", out);
		replay_show_calls(out, json_object_get(data, "tool_calls"));
	} else if (strcmp(k, "llm_error") == 0) {
		replay_line(out, seq, "model error: ");
		replay_jtext(out, data, "error", SIZE_MAX, SIZE_MAX);
	} else if (strcmp(k, "tool_call") == 0) {
		replay_line(out, seq, "> %s ", replay_s(data, "name"));
		replay_jtext(out, data, "arguments", 1, REPLAY_ARGS_BYTES);
	} else if (strcmp(k, "decision") == 0) {
		replay_why(&why, data);
		replay_line(out, seq, "  %s %s %s%s\n", replay_s(data,
		    "decision"), replay_s(data, "op"), replay_s(data, "path"),
		    why.data != NULL ? why.data : "");
	} else if (strcmp(k, "prompt") == 0) {
		replay_why(&why, data);
		replay_line(out, seq, "  prompt %s%s: answer %s%s%s\n",
		    replay_s(data, "command"), why.data != NULL ? why.data :
		    "", strcmp(replay_s(data, "answer"), "unattended") == 0 ?
		    "deny (nobody to answer)" : replay_s(data, "answer"),
		    *replay_s(data, "pattern") != '\0' ? ", pattern " : "",
		    replay_s(data, "pattern"));
	} else if (strcmp(k, "command") == 0) {
		replay_why(&why, data);
		replay_line(out, seq, "  %s command %s%s\n", replay_s(data,
		    "decision"), replay_s(data, "command"), why.data != NULL ?
		    why.data : "");
		if (json_is_true(json_object_get(data, "ran")))
			fprintf(out, REPLAY_INDENT "ran: exit code %lld%s, "
			    "%lld ms, %lld bytes of output\n", replay_i(data,
			    "exit_code"), json_is_true(json_object_get(data,
			    "timed_out")) ? " (timed out)" : "",
			    replay_i(data, "duration_ms"), replay_i(data,
			    "bytes_out"));
		else
			fputs(REPLAY_INDENT "did not run\n", out);
		if (*replay_s(data, "denials") != '\0') {
			fputs(REPLAY_INDENT "sandbox: ", out);
			replay_jtext(out, data, "denials", REPLAY_RESULT_LINES,
			    REPLAY_RESULT_BYTES);
		}
	} else if (strcmp(k, "tool_result") == 0 ||
	    strcmp(k, "tool_error") == 0) {
		replay_line(out, seq, "  %s %s %s\n", strcmp(k,
		    "tool_result") == 0 ? "=" : "!", replay_s(data, "name"),
		    strcmp(k, "tool_result") == 0 ? "result" : "error");
		/* A log from before full results were recorded has only
		 * the summary. */
		v = json_object_get(data, json_is_string(json_object_get(data,
		    "text")) ? "text" : "summary");
		replay_text(out, REPLAY_RESULT_INDENT, 0, json_is_string(v) ?
		    json_string_value(v) : "", json_string_length(v),
		    REPLAY_RESULT_LINES, REPLAY_RESULT_BYTES);
		if (json_is_true(json_object_get(data, "truncated")))
			fputs(REPLAY_RESULT_INDENT "[the log holds only the "
			    "start of this result]\n", out);
	} else if (strcmp(k, "session_end") == 0) {
		replay_line(out, seq, "session end: %s", replay_s(data,
		    "outcome"));
		fprintf(out, ", %lld turns, %lld tool calls\n", replay_i(data,
		    "turns"), replay_i(data, "tool_calls"));
	} else if (strcmp(k, "recovery") == 0) {
		replay_line(out, seq, "recovery: ");
		fprintf(out, "a torn record of %lld bytes at offset %lld "
		    "was cut off\n", replay_i(data, "torn_bytes"),
		    replay_i(data, "torn_at"));
	} else if (strcmp(k, "llm_request") != 0 &&
	    strcmp(k, "checkpoint") != 0) {
		/* A kind this build does not know: as it is, escaped. */
		s = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENSURE_ASCII);
		replay_line(out, seq, "%s %s\n", k, s != NULL ? s : "");
		free(s);
	}
	buf_free(&why);
}

/* {"event": kind, "seq", "ts", the data's members}: escaped, one line. */
static int
replay_json(FILE *out, json_t *rec)
{
	json_t *ev, *data = json_object_get(rec, "data");
	int rc = WARD_ENOMEM;

	if (strcmp(json_string_value(json_object_get(rec, "kind")),
	    "checkpoint") == 0)
		return 0;
	if ((ev = json_pack("{s:O, s:O, s:O}", "event", json_object_get(rec,
	    "kind"), "seq", json_object_get(rec, "seq"), "ts",
	    json_object_get(rec, "ts"))) == NULL ||
	    json_object_update_missing(ev, data) != 0)
		goto out;
	rc = json_dumpf(ev, out, JSON_COMPACT | JSON_ENSURE_ASCII) == 0 &&
	    fputc('\n', out) != EOF ? 0 : WARD_EIO;
out:
	json_decref(ev);
	return rc;
}

/*
 * Verifies the log under pk and shows what it records on stdout. Nothing
 * is shown unless the whole log verifies. Returns the exit code.
 */
static int
replay_transcript(const char *log, const unsigned char *pk, int json)
{
	struct audit_report ar;
	json_t *recs, *rec;
	size_t i;
	int rc, ex = WARD_EXIT_SYSERR;

	memset(&ar, 0, sizeof(ar));
	if ((recs = json_array()) == NULL)
		goto out;
	if ((rc = audit_verify(log, pk, NULL, replay_collect, recs,
	    &ar)) != 0) {
		if (rc == WARD_EPROTO) {
			fprintf(stderr, "ward replay: %s does not verify: %s: "
			    "%s\n", log, ar.torn ? "torn" : "TAMPERED",
			    ar.why.data != NULL ? ar.why.data : "?");
			ex = WARD_EXIT_FAIL;
		} else
			fprintf(stderr, "ward replay: cannot read %s: %s\n",
			    log, ar.why.data != NULL ? ar.why.data :
			    ward_strerror(rc));
		goto out;
	}
	if (!json) {
		printf("%s: intact, %llu records, %s\n", log,
		    (unsigned long long)ar.records, ar.sealed ? "sealed" :
		    "unsealed tail");
		json_array_foreach(recs, i, rec)
			replay_show(stdout, rec);
		putchar('\n');
	} else
		json_array_foreach(recs, i, rec)
			if (replay_json(stdout, rec) != 0)
				goto out;
	ex = fflush(stdout) == 0 ? WARD_EXIT_OK : WARD_EXIT_SYSERR;
out:
	json_decref(recs);
	audit_report_free(&ar);
	return ex;
}

/* ---- the re-run --------------------------------------------------------- */

/* The verdict, as a line of text or a last JSON event. */
static int
replay_verdict(const struct replay_report *rep, int json)
{
	json_t *ev;
	int rc;

	if (!json) {
		if (rep->diverged)
			printf("replay: %s\n", rep->why.data);
		else
			printf("replay: %u model turn%s, %u tool call%s, no "
			    "divergence\n", rep->turns, rep->turns == 1 ? "" :
			    "s", rep->tool_calls, rep->tool_calls == 1 ? "" :
			    "s");
		return 0;
	}
	if ((ev = json_pack("{s:s, s:b, s:I, s:I, s:s?}", "event", "replay",
	    "diverged", rep->diverged, "turns", (json_int_t)rep->turns,
	    "tool_calls", (json_int_t)rep->tool_calls, "why", rep->diverged ?
	    rep->why.data : NULL)) == NULL)
		return WARD_ENOMEM;
	rc = json_dumpf(ev, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) == 0 &&
	    putchar('\n') != EOF ? 0 : WARD_EIO;
	json_decref(ev);
	return rc;
}

int
cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent",	required_argument, NULL, 'a' },
		{ "json",	no_argument, NULL, 'j' },
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
	int c, rc, ex = WARD_EXIT_SYSERR, have_pk, json = 0;

	memset(&rep, 0, sizeof(rep));
	buf_init(&rep.why, 0);
	buf_init(&err, 4096);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			agent_path = optarg;
			break;
		case 'j':
			json = 1;
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
	if ((ex = replay_transcript(log, have_pk ? pk : NULL, json)) !=
	    WARD_EXIT_OK)
		goto out;
	ex = WARD_EXIT_SYSERR;
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
	} else if (replay_verdict(&rep, json) == 0)
		ex = rep.diverged ? WARD_EXIT_FAIL : WARD_EXIT_OK;
out:
	host_free(h);
	replay_report_free(&rep);
	buf_free(&err);
	free(state);
	free(log);
	free(cache);
	return ex;
}

/*
 * The `script` provider: a JSON-lines file of assistant turns, replayed in
 * order, one per chat call. It lets the demo and the tests drive the real
 * agent component with no network. The format is in doc/SCRIPT.md; the whole
 * file is validated when it is opened so a bad script fails before the
 * session starts, with its line number.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/err.h"
#include "llm.h"
#include "llm_impl.h"

#define SCRIPT_MAX_BYTES	(16u << 20)

struct script {
	struct llm	 base;
	char		*path;
	json_t		*turns;		/* array of objects */
	size_t		 next;
	unsigned	*lines;		/* line number of each turn */
	unsigned	 context_length;
	unsigned	 max_tokens;
};

static const char *const script_keys[] = {
	"text", "tool_calls", "stop", "usage", "error", "expect", NULL
};

static int
script_check_keys(json_t *obj, const char *const *keys, const char *what,
    unsigned line, struct buf *err)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(obj, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL) {
			buf_printf(err, "line %u: unknown %s key '%s'", line,
			    what, k);
			return WARD_EPROTO;
		}
	}
	return 0;
}

/* A token count must fit the reply's unsigned fields. */
static int
script_count_ok(json_t *v)
{
	json_int_t n = json_integer_value(v);

	return n >= 0 && (unsigned long long)n <= UINT_MAX;
}

/* Validates one turn so that chat never meets a surprise. */
static int
script_check_turn(json_t *t, unsigned line, struct buf *err)
{
	static const char *const call_keys[] = { "id", "name", "arguments",
	    NULL };
	static const char *const expect_keys[] = { "tool_result_contains",
	    "tool_result_lacks", "tool_error", NULL };
	static const char *const usage_keys[] = { "input_tokens",
	    "output_tokens", NULL };
	size_t mark = err->len;	/* err may already hold the caller's text */
	json_t *v, *c;
	size_t i;
	const char *s;

	if (!json_is_object(t)) {
		buf_printf(err, "line %u: a turn must be a JSON object", line);
		return WARD_EPROTO;
	}
	if (script_check_keys(t, script_keys, "turn", line, err) != 0)
		return WARD_EPROTO;
	if ((v = json_object_get(t, "text")) != NULL && !json_is_string(v))
		goto bad_type;
	if ((v = json_object_get(t, "error")) != NULL && !json_is_string(v))
		goto bad_type;
	if ((v = json_object_get(t, "stop")) != NULL) {
		s = json_string_value(v);
		if (s == NULL || (strcmp(s, "end_turn") != 0 &&
		    strcmp(s, "tool_use") != 0 && strcmp(s, "max_tokens") != 0)) {
			buf_printf(err, "line %u: stop must be end_turn, "
			    "tool_use or max_tokens", line);
			return WARD_EPROTO;
		}
	}
	if ((v = json_object_get(t, "usage")) != NULL) {
		if (!json_is_object(v) ||
		    script_check_keys(v, usage_keys, "usage", line, err) != 0 ||
		    !json_is_integer(json_object_get(v, "input_tokens")) ||
		    !json_is_integer(json_object_get(v, "output_tokens")))
			goto bad_type;
		if (!script_count_ok(json_object_get(v, "input_tokens")) ||
		    !script_count_ok(json_object_get(v, "output_tokens"))) {
			buf_printf(err, "line %u: usage token counts must be "
			    "from 0 to %u", line, UINT_MAX);
			return WARD_EPROTO;
		}
	}
	if ((v = json_object_get(t, "expect")) != NULL) {
		if (!json_is_object(v) ||
		    script_check_keys(v, expect_keys, "expect", line, err) != 0)
			goto bad_type;
		if ((c = json_object_get(v, "tool_result_contains")) != NULL &&
		    !json_is_string(c))
			goto bad_type;
		if ((c = json_object_get(v, "tool_result_lacks")) != NULL &&
		    !json_is_string(c))
			goto bad_type;
		if ((c = json_object_get(v, "tool_error")) != NULL &&
		    !json_is_boolean(c))
			goto bad_type;
	}
	if ((v = json_object_get(t, "tool_calls")) != NULL) {
		if (!json_is_array(v))
			goto bad_type;
		json_array_foreach(v, i, c) {
			if (!json_is_object(c) ||
			    script_check_keys(c, call_keys, "tool call", line,
			    err) != 0)
				goto bad_type;
			if (!json_is_string(json_object_get(c, "name")))
				goto bad_type;
			if (json_object_get(c, "id") != NULL &&
			    !json_is_string(json_object_get(c, "id")))
				goto bad_type;
			if (json_object_get(c, "arguments") != NULL &&
			    !json_is_object(json_object_get(c, "arguments")))
				goto bad_type;
		}
	}
	return 0;
bad_type:
	if (err->len == mark)
		buf_printf(err, "line %u: a field has the wrong type "
		    "(see doc/SCRIPT.md)", line);
	return WARD_EPROTO;
}

static int
script_load(struct script *s, struct buf *err)
{
	struct buf data;
	char chunk[65536], *line, *nl;
	json_error_t jerr;
	json_t *t;
	unsigned lineno = 0, *nlines;
	ssize_t n;
	int fd = -1, rc = 0;

	buf_init(&data, SCRIPT_MAX_BYTES);
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) == -1) {
		buf_printf(err, "cannot open model script %s: %s", s->path,
		    strerror(errno));
		rc = errno == ENOENT ? WARD_ENOENT : WARD_EIO;
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			buf_printf(err, "read %s: %s", s->path, strerror(errno));
			rc = WARD_EIO;
			goto out;
		}
		if ((rc = buf_add(&data, chunk, (size_t)n)) != 0) {
			buf_printf(err, "model script %s is over %u bytes",
			    s->path, SCRIPT_MAX_BYTES);
			goto out;
		}
	}
	/* The lines are C strings: a NUL would silently end the script. */
	if (data.len > 0 && (line = memchr(data.data, '\0', data.len)) !=
	    NULL) {
		for (nl = data.data, lineno = 1; nl < line; nl++)
			lineno += *nl == '\n';
		buf_printf(err, "%s:%u: NUL byte in the model script", s->path,
		    lineno);
		rc = WARD_EPROTO;
		goto out;
	}
	if ((s->turns = json_array()) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	for (line = data.data; line != NULL && *line != '\0'; line = nl) {
		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (line[strspn(line, " \t\r")] == '\0')
			continue;
		t = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
		if (t == NULL) {
			buf_printf(err, "%s:%u:%d: %s", s->path, lineno,
			    jerr.column, jerr.text);
			rc = WARD_EPROTO;
			goto out;
		}
		if ((rc = script_check_turn(t, lineno, err)) != 0) {
			json_decref(t);
			goto out;
		}
		nlines = reallocarray(s->lines, json_array_size(s->turns) + 1,
		    sizeof(*s->lines));
		if (nlines == NULL) {
			json_decref(t);
			rc = WARD_ENOMEM;
			goto out;
		}
		s->lines = nlines;
		s->lines[json_array_size(s->turns)] = lineno;
		json_array_append_new(s->turns, t);
	}
	if (json_array_size(s->turns) == 0) {
		buf_printf(err, "model script %s has no turns", s->path);
		rc = WARD_EPROTO;
	}
out:
	if (fd != -1)
		close(fd);
	buf_free(&data);
	return rc;
}

static void
script_info(const struct llm *l, struct llm_info *info)
{
	const struct script *s = (const struct script *)l;

	info->provider = "script";
	info->name = s->path;
	info->context_length = s->context_length;
	info->max_tokens = s->max_tokens;
}

/* Checks `expect` against the tool results sent since the last assistant
 * message, so a test can prove what reached the model. */
static int
script_expect(const struct script *s, json_t *expect,
    const struct llm_request *req, struct buf *err)
{
	const char *want, *lacks;
	json_t *te;
	size_t i, first;
	int found = 0, any_error = 0, leaked = 0;

	for (first = req->nmsgs; first > 0; first--)
		if (req->msgs[first - 1].role != LLM_TOOL)
			break;
	want = json_string_value(json_object_get(expect,
	    "tool_result_contains"));
	lacks = json_string_value(json_object_get(expect,
	    "tool_result_lacks"));
	for (i = first; i < req->nmsgs; i++) {
		if (want != NULL && req->msgs[i].content != NULL &&
		    strstr(req->msgs[i].content, want) != NULL)
			found = 1;
		if (lacks != NULL && req->msgs[i].content != NULL &&
		    strstr(req->msgs[i].content, lacks) != NULL)
			leaked = 1;
		any_error |= req->msgs[i].is_error;
	}
	if (want != NULL && !found) {
		buf_printf(err, "script %s line %u: expected a tool result "
		    "containing '%s'", s->path, s->lines[s->next], want);
		return WARD_EPROTO;
	}
	if (leaked) {
		buf_printf(err, "script %s line %u: expected no tool result "
		    "containing '%s'", s->path, s->lines[s->next], lacks);
		return WARD_EPROTO;
	}
	if ((te = json_object_get(expect, "tool_error")) != NULL &&
	    json_boolean_value(te) != (any_error != 0)) {
		buf_printf(err, "script %s line %u: expected %s tool result",
		    s->path, s->lines[s->next],
		    json_boolean_value(te) ? "an error" : "no error");
		return WARD_EPROTO;
	}
	return 0;
}

static char *
script_dup(const char *p)
{
	return strdup(p != NULL ? p : "");
}

/* A rough token estimate so the agent's accounting has something to use. */
static unsigned
script_estimate(const struct llm_request *req)
{
	size_t n = req->system != NULL ? strlen(req->system) : 0, i;

	for (i = 0; i < req->nmsgs; i++)
		if (req->msgs[i].content != NULL)
			n += strlen(req->msgs[i].content);
	n /= 4;
	return n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

static int
script_chat(struct llm *l, const struct llm_request *req,
    struct llm_reply *reply, struct buf *err)
{
	struct script *s = (struct script *)l;
	struct llm_message *m = &reply->msg;
	json_t *t, *v, *calls, *c, *usage;
	const char *stop;
	size_t i;
	int rc = 0;

	if (s->next >= json_array_size(s->turns)) {
		buf_printf(err, "model script %s has no more turns (%zu used)",
		    s->path, s->next);
		return WARD_ENOENT;
	}
	t = json_array_get(s->turns, s->next);
	if ((v = json_object_get(t, "expect")) != NULL &&
	    (rc = script_expect(s, v, req, err)) != 0)
		goto out;
	if ((v = json_object_get(t, "error")) != NULL) {
		buf_printf(err, "%s", json_string_value(v));
		rc = WARD_EIO;
		goto out;
	}
	m->role = LLM_ASSISTANT;
	if ((m->content = script_dup(json_string_value(json_object_get(t,
	    "text")))) == NULL)
		goto nomem;
	calls = json_object_get(t, "tool_calls");
	if (json_array_size(calls) > 0) {
		m->calls = calloc(json_array_size(calls), sizeof(*m->calls));
		if (m->calls == NULL)
			goto nomem;
		json_array_foreach(calls, i, c) {
			struct llm_tool_call *tc = &m->calls[m->ncalls++];
			json_t *args = json_object_get(c, "arguments");
			const char *id = json_string_value(json_object_get(c,
			    "id"));

			if (id != NULL)
				tc->id = strdup(id);
			else if (asprintf(&tc->id, "call_%zu_%zu", s->next,
			    i) == -1)
				tc->id = NULL;
			tc->name = script_dup(json_string_value(
			    json_object_get(c, "name")));
			tc->arguments = args != NULL ? json_dumps(args,
			    JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
			if (tc->id == NULL || tc->name == NULL ||
			    tc->arguments == NULL)
				goto nomem;
		}
	}
	stop = json_string_value(json_object_get(t, "stop"));
	if (stop == NULL)
		reply->stop = m->ncalls > 0 ? LLM_STOP_TOOL_USE :
		    LLM_STOP_END_TURN;
	else if (strcmp(stop, "tool_use") == 0)
		reply->stop = LLM_STOP_TOOL_USE;
	else if (strcmp(stop, "max_tokens") == 0)
		reply->stop = LLM_STOP_MAX_TOKENS;
	else
		reply->stop = LLM_STOP_END_TURN;
	if ((usage = json_object_get(t, "usage")) != NULL) {
		reply->input_tokens = (unsigned)json_integer_value(
		    json_object_get(usage, "input_tokens"));
		reply->output_tokens = (unsigned)json_integer_value(
		    json_object_get(usage, "output_tokens"));
	} else {
		reply->input_tokens = script_estimate(req);
		reply->output_tokens = (unsigned)(strlen(m->content) / 4);
	}
	goto out;
nomem:
	rc = WARD_ENOMEM;
	buf_puts(err, "out of memory");
out:
	/* A failed turn is still consumed, so a retry sees the next one. */
	s->next++;
	if (rc != 0)
		llm_reply_clear(reply);
	return rc;
}

static void
script_free(struct llm *l)
{
	struct script *s = (struct script *)l;

	json_decref(s->turns);
	free(s->lines);
	free(s->path);
	free(s);
}

static const struct llm_ops script_ops = {
	.info = script_info,
	.chat = script_chat,
	.free = script_free,
};

int
script_open(struct llm **out, const struct llm_config *cfg, struct buf *err)
{
	struct script *s;
	int rc;

	*out = NULL;
	if (cfg->model == NULL || *cfg->model == '\0') {
		buf_puts(err, "the script provider needs the model name to be "
		    "the path of a .jsonl script");
		return WARD_EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return WARD_ENOMEM;
	s->base.ops = &script_ops;
	s->context_length = cfg->context_length ? cfg->context_length : 200000;
	s->max_tokens = cfg->max_tokens ? cfg->max_tokens : 8192;
	if (cfg->model[0] == '/' || cfg->root == NULL)
		s->path = strdup(cfg->model);
	else if (asprintf(&s->path, "%s/%s", cfg->root, cfg->model) == -1)
		s->path = NULL;
	if (s->path == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	rc = script_load(s, err);
out:
	if (rc != 0) {
		script_free(&s->base);
		return rc;
	}
	*out = &s->base;
	return 0;
}

/*
 * HTTP for the model providers (libcurl). A request is retried only where
 * repeating it cannot double a reply the caller already saw: on 429 and 5xx
 * answers and when no response arrived at all; a 2xx response, complete or
 * not, is handed to the provider once. The whole response is collected
 * under a hard cap before anything parses it, so a truncated or oversized
 * stream is one error path. The API key lives in the headers and in
 * `secret`; both are wiped when the endpoint is closed, and any text a
 * server sends back has the key cut out before it reaches an error message.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "../lib/err.h"
#include "http.h"
#include "libcurl.h"

#define HTTP_CONNECT_MS		30000UL
#define HTTP_TIMEOUT_MS		900000UL	/* a long streamed answer */
#define HTTP_IDLE_S		300L		/* no byte for this long */
#define HTTP_MAX_WAIT		60UL		/* retry delay cap, in bases */
#define HTTP_MSG_MAX		300		/* server text in an error */

static unsigned long
http_env_ms(const char *var, unsigned long def)
{
	const char *s = getenv(var);
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 3600000UL)
		return def;
	return v;
}

static int
http_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
http_open(struct http *h, const char *who, const char *base,
    const char *path, const char *secret, struct buf *err)
{
	size_t n;
	int rc = WARD_ENOMEM;

	memset(h, 0, sizeof(*h));
	h->who = who;
	if ((strncasecmp(base, "http://", 7) != 0 &&
	    strncasecmp(base, "https://", 8) != 0) || !http_clean(base)) {
		buf_printf(err, "%s: the base URL must start with http:// or "
		    "https://", who);
		return WARD_EINVAL;
	}
	if (libcurl_load(who, err) != 0)
		return WARD_EUNAVAIL;
	for (n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
		;
	if (asprintf(&h->url, "%.*s%s", (int)n, base, path) == -1) {
		h->url = NULL;
		goto out;
	}
	if (secret != NULL && (h->secret = strdup(secret)) == NULL)
		goto out;
	if ((h->easy = libcurl.easy_init()) == NULL)
		goto out;
	h->retry_ms = http_env_ms("WARD_LLM_RETRY_MS", 1000);
	h->timeout_ms = http_env_ms("WARD_LLM_TIMEOUT_MS", HTTP_TIMEOUT_MS);
	rc = 0;
out:
	if (rc != 0)
		http_close(h);
	return rc;
}

int
http_header(struct http *h, const char *name, const char *value,
    struct buf *err)
{
	struct curl_slist *l;
	char *line;
	int rc = 0;

	if (*name == '\0' || strchr(name, ':') != NULL || !http_clean(name) ||
	    !http_clean(value)) {
		buf_printf(err, "%s: header '%s' has a bad name or control "
		    "characters", h->who, http_clean(name) ? name : "?");
		return WARD_EINVAL;
	}
	if (asprintf(&line, "%s: %s", name, value) == -1)
		return WARD_ENOMEM;
	if ((l = libcurl.slist_append(h->headers, line)) == NULL)
		rc = WARD_ENOMEM;
	else
		h->headers = l;
	explicit_bzero(line, strlen(line));
	free(line);
	return rc;
}

void
http_close(struct http *h)
{
	struct curl_slist *l;

	for (l = h->headers; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	/* Nothing of libcurl's is called unless it was loaded. */
	if (h->headers != NULL)
		libcurl.slist_free_all(h->headers);
	http_key_free(h->secret);
	if (h->easy != NULL)
		libcurl.easy_cleanup(h->easy);
	free(h->url);
	memset(h, 0, sizeof(*h));
}

struct http_sink {
	struct http	*h;
	struct buf	*body;
};

/* Hands the events completed since the last call to the preview: up to
 * the last blank line (an SSE event ends with one). */
static void
http_preview_feed(struct http_preview *pv, const struct buf *b)
{
	size_t end;

	for (end = b->len; end > pv->done + 1; end--)
		if (b->data[end - 1] == '\n' && (b->data[end - 2] == '\n' ||
		    (end > pv->done + 2 && b->data[end - 2] == '\r' &&
		    b->data[end - 3] == '\n')))
			break;
	if (end <= pv->done + 1)
		return;
	(void)http_sse(b->data + pv->done, end - pv->done, pv->event,
	    pv->arg);
	pv->done = end;
}

static size_t
http_write(char *p, size_t size, size_t n, void *arg)
{
	struct http_sink *s = arg;
	long status = 0;

	/* size is 1 per libcurl's contract; a short count aborts. */
	if (buf_add(s->body, p, size * n) != 0)
		return 0;
	if (s->h->preview != NULL && libcurl.easy_getinfo(s->h->easy,
	    CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status >= 200 &&
	    status < 300)
		http_preview_feed(s->h->preview, s->body);
	return size * n;
}

void
http_put_text(const struct http *h, const char *s, struct buf *err)
{
	size_t i, klen = h->secret != NULL ? strlen(h->secret) : 0;
	int n = 0;

	for (i = 0; s[i] != '\0' && n < HTTP_MSG_MAX; n++) {
		if (klen > 0 && strncmp(s + i, h->secret, klen) == 0) {
			buf_puts(err, "[redacted]");
			i += klen;
		} else {
			buf_printf(err, "%c", isprint((unsigned char)s[i]) ?
			    s[i] : '?');
			i++;
		}
	}
	if (s[i] != '\0')
		buf_puts(err, "...");
}

/* The message of an error response: both APIs put it at error.message. */
static void
http_put_error(const struct http *h, const struct http_resp *r,
    struct buf *err)
{
	json_t *j, *e;
	const char *msg = NULL;

	buf_printf(err, "%s: HTTP %ld", h->who, r->status);
	j = json_loadb(r->body.data != NULL ? r->body.data : "", r->body.len,
	    0, NULL);
	e = json_object_get(j, "error");
	if (json_is_string(e))
		msg = json_string_value(e);
	else
		msg = json_string_value(json_object_get(e, "message"));
	if (msg != NULL) {
		buf_puts(err, ": ");
		http_put_text(h, msg, err);
	}
	json_decref(j);
}

/* A failure before any response: safe to send the request again. */
static int
http_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_OPERATION_TIMEDOUT:
		return 1;
	default:
		return 0;
	}
}

static void
http_sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) *
	    1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* One attempt. Returns the curl code; fills r->status, r->ctype. */
static CURLcode
http_once_post(struct http *h, const char *body, struct http_resp *r,
    char *ebuf)
{
	CURL *c = h->easy;
	struct http_sink sink = { h, &r->body };
	CURLcode cc;
	char *ct = NULL;
	size_t i;

	buf_reset(&r->body);
	if (h->preview != NULL) {
		h->preview->done = 0;
		h->preview->restart(h->preview->arg);
	}
	r->status = 0;
	r->ctype[0] = '\0';
	libcurl.easy_reset(c);
	ebuf[0] = '\0';
	if ((cc = libcurl.easy_setopt(c, CURLOPT_URL, h->url)) != CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https")) !=
	    CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf)) != CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_HTTPHEADER, h->headers)) !=
	    CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_POSTFIELDS, body)) != CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write)) !=
	    CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_WRITEDATA, &sink)) !=
	    CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(h->timeout_ms < HTTP_CONNECT_MS ? h->timeout_ms :
	    HTTP_CONNECT_MS))) != CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    (long)h->timeout_ms)) != CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L)) !=
	    CURLE_OK ||
	    (cc = libcurl.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, HTTP_IDLE_S)) !=
	    CURLE_OK)
		return cc;
	cc = libcurl.easy_perform(c);
	libcurl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (libcurl.easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL) {
		for (i = 0; i + 1 < sizeof(r->ctype) && ct[i] != '\0' &&
		    ct[i] != ';' && ct[i] != ' '; i++)
			r->ctype[i] = isprint((unsigned char)ct[i]) ?
			    (char)tolower((unsigned char)ct[i]) : '?';
		r->ctype[i] = '\0';
	}
	return cc;
}

int
http_post(struct http *h, const char *body, struct http_resp *r,
    struct buf *err)
{
	char ebuf[CURL_ERROR_SIZE];
	curl_off_t after;
	unsigned long wait, cap = HTTP_MAX_WAIT * h->retry_ms;
	CURLcode cc;
	int attempt, rc;

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, HTTP_MAX_BODY);
	for (attempt = 1;; attempt++) {
		cc = http_once_post(h, body, r, ebuf);
		if (cc == CURLE_WRITE_ERROR) {
			buf_printf(err, "%s: response over %u bytes", h->who,
			    HTTP_MAX_BODY);
			rc = WARD_EPROTO;
			goto out;
		}
		if (cc == CURLE_OK && r->status >= 200 && r->status < 300)
			return 0;
		/* Retry only what cannot have produced a reply. */
		if (attempt >= HTTP_ATTEMPTS)
			break;
		if (r->status == 0 ? !http_transient(cc) : cc != CURLE_OK ||
		    (r->status != 429 && r->status < 500))
			break;
		wait = h->retry_ms << (attempt - 1);
		if (libcurl.easy_getinfo(h->easy, CURLINFO_RETRY_AFTER, &after) ==
		    CURLE_OK && after > 0)
			wait = (unsigned long)after > HTTP_MAX_WAIT ? cap :
			    (unsigned long)after * h->retry_ms;
		http_sleep_ms(wait < cap ? wait : cap);
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		buf_printf(err, "%s: request timed out", h->who);
		rc = WARD_ETIMEOUT;
	} else if (cc != CURLE_OK && r->status >= 200 && r->status < 300) {
		buf_printf(err, "%s: response truncated: ", h->who);
		http_put_text(h, ebuf[0] != '\0' ? ebuf :
		    libcurl.easy_strerror(cc), err);
		rc = WARD_EPROTO;
	} else if (cc != CURLE_OK) {
		buf_printf(err, "%s: ", h->who);
		http_put_text(h, ebuf[0] != '\0' ? ebuf :
		    libcurl.easy_strerror(cc), err);
		rc = WARD_EIO;
	} else {
		http_put_error(h, r, err);
		rc = WARD_EIO;
	}
	if (attempt > 1)
		buf_printf(err, " (after %d attempts)", attempt);
out:
	http_resp_free(r);
	return rc;
}

void
http_resp_free(struct http_resp *r)
{
	buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

int
http_sse(const char *p, size_t n,
    int (*fn)(void *arg, const char *event, char *data, size_t len),
    void *arg)
{
	struct buf data, event;
	const char *end = p + n, *nl, *colon, *v;
	size_t len, vlen;
	int rc = 0, have = 0;

	buf_init(&data, 0);
	buf_init(&event, 0);
	while (p < end) {
		/* A line ends at \n, \r\n or \r; an unended one is partial. */
		for (nl = p; nl < end && *nl != '\n' && *nl != '\r'; nl++)
			;
		if (nl == end)
			break;
		len = (size_t)(nl - p);
		if (len == 0) {
			if (have && (rc = fn(arg, event.data != NULL ?
			    event.data : "", data.data, data.len)) != 0)
				goto out;
			buf_reset(&data);
			buf_reset(&event);
			have = 0;
		} else if (*p != ':') {
			colon = memchr(p, ':', len);
			v = colon != NULL ? colon + 1 : nl;
			if (v < nl && *v == ' ')
				v++;
			vlen = (size_t)(nl - v);
			len = colon != NULL ? (size_t)(colon - p) : len;
			if (len == 4 && memcmp(p, "data", 4) == 0) {
				if ((have && buf_add(&data, "\n", 1) != 0) ||
				    buf_add(&data, v, vlen) != 0)
					goto nomem;
				have = 1;
			} else if (len == 5 && memcmp(p, "event", 5) == 0) {
				buf_reset(&event);
				if (buf_add(&event, v, vlen) != 0)
					goto nomem;
			}
		}
		p = nl + 1;
		if (*nl == '\r' && p < end && *p == '\n')
			p++;
	}
	goto out;
nomem:
	rc = WARD_ENOMEM;
out:
	buf_free(&data);
	buf_free(&event);
	return rc;
}

int
http_key(const char *var, int required, char **out, struct buf *err)
{
	const char *k = getenv(var);

	*out = NULL;
	if (k == NULL || *k == '\0') {
		if (!required)
			return 0;
		buf_printf(err, "%s is not set", var);
		return WARD_EINVAL;
	}
	if (!http_clean(k)) {
		buf_printf(err, "%s holds control characters", var);
		return WARD_EINVAL;
	}
	if ((*out = strdup(k)) == NULL)
		return WARD_ENOMEM;
	return 0;
}

void
http_key_free(char *key)
{
	if (key == NULL)
		return;
	explicit_bzero(key, strlen(key));
	free(key);
}

static int
http_text_event(void *arg, const char *event, char *data, size_t len)
{
	struct http_text_preview *tp = arg;
	const char *text;
	json_t *j;

	(void)event;
	if ((j = json_loadb(data, len, 0, NULL)) == NULL)
		return 0;
	if ((text = tp->text_of(j)) != NULL && text[0] != '\0')
		tp->req->on_text(tp->req->on_text_arg, text, strlen(text));
	json_decref(j);
	return 0;
}

static void
http_text_restart(void *arg)
{
	struct http_text_preview *tp = arg;

	tp->req->on_text(tp->req->on_text_arg, NULL, 0);
}

void
http_preview_begin(struct http *h, struct http_text_preview *tp,
    const struct llm_request *req, const char *(*text_of)(json_t *))
{
	h->preview = NULL;
	if (req->on_text == NULL)
		return;
	memset(tp, 0, sizeof(*tp));
	tp->req = req;
	tp->text_of = text_of;
	tp->pv.event = http_text_event;
	tp->pv.restart = http_text_restart;
	tp->pv.arg = tp;
	h->preview = &tp->pv;
}

void
http_preview_end(struct http *h)
{
	h->preview = NULL;
}

/*
 * The HTTP side of the model providers, private to src/llm/: one POST
 * endpoint with its headers and API key, retries with backoff, a capped
 * response, and the Server-Sent Events framing both wire formats stream in.
 */
#ifndef WARD_LLM_HTTP_H
#define WARD_LLM_HTTP_H

#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../lib/buf.h"
#include "llm.h"

#define HTTP_MAX_BODY		(8u << 20)	/* a response past this fails */
#define HTTP_ATTEMPTS		4

/*
 * A live look at a streamed 2xx response while it arrives, to show the
 * model's text as it is written. It only ever sees what the reply will be
 * parsed from afterwards, whole; what it makes of it is for display.
 */
struct http_preview {
	/* Each complete SSE event, as http_sse gives them; returns ignored. */
	int	(*event)(void *arg, const char *event, char *data, size_t len);
	/* A new attempt starts from the beginning: forget what was shown. */
	void	(*restart)(void *arg);
	void	*arg;
	size_t	 done;		/* body bytes already handed to event */
};

struct http {
	const char		*who;		/* provider name for messages */
	char			*url;
	char			*secret;	/* scrubbed from error text */
	struct curl_slist	*headers;	/* may hold the key: wiped */
	CURL			*easy;
	unsigned long		 retry_ms;	/* base backoff delay */
	unsigned long		 timeout_ms;	/* whole request */
	struct http_preview	*preview;	/* NULL: none; the caller's */
};

struct http_resp {
	long		status;
	char		ctype[64];	/* media type, lowercased, no params */
	struct buf	body;		/* capped at HTTP_MAX_BODY */
};

/* Sets up h for POSTs to base (an http or https URL, trailing slashes
 * dropped) followed by path. secret (may be NULL) is copied and never
 * shown in err. Returns 0, WARD_EINVAL (bad URL) or WARD_ENOMEM; on failure
 * h holds nothing to free. */
int	http_open(struct http *h, const char *who, const char *base,
	    const char *path, const char *secret, struct buf *err);

/* Adds "name: value" to every request. Returns 0, WARD_EINVAL (empty name,
 * or a name or value with control characters or a colon in the name; the
 * value is not shown in err) or WARD_ENOMEM. */
int	http_header(struct http *h, const char *name, const char *value,
	    struct buf *err);

/* Wipes the secret and headers and frees h's storage. NULL-safe fields. */
void	http_close(struct http *h);

/* POSTs body (JSON), retrying 429, 5xx and failures to connect. Returns 0
 * with a 2xx response in *r (free with http_resp_free), or WARD_EIO (the
 * server's error, its message shown without the secret), WARD_ETIMEOUT,
 * WARD_EPROTO (response over HTTP_MAX_BODY) or WARD_ENOMEM; on failure *r
 * holds nothing to free. */
int	http_post(struct http *h, const char *body, struct http_resp *r,
	    struct buf *err);

void	http_resp_free(struct http_resp *r);

/* Appends text a server sent to err: at most a few hundred characters,
 * non-printable bytes as '?', h's secret replaced by "[redacted]". */
void	http_put_text(const struct http *h, const char *s, struct buf *err);

/* Calls fn for each complete event in an SSE stream of n bytes, with the
 * event name ("" if none) and its data lines joined by '\n' (NUL-terminated;
 * fn may modify it). Events with no data and a trailing incomplete event are
 * skipped. Returns 0, fn's first non-zero return, or WARD_ENOMEM. */
int	http_sse(const char *p, size_t n,
	    int (*fn)(void *arg, const char *event, char *data, size_t len),
	    void *arg);

/* The model's text out of a streamed reply, for llm_request.on_text. */
struct http_text_preview {
	struct http_preview	 pv;
	const struct llm_request *req;
	/* The reply text one event's parsed data adds, or NULL. */
	const char		*(*text_of)(json_t *data);
};

/* Points h's preview at tp for one request (nothing when req->on_text is
 * NULL); http_preview_end(h) takes it away again. */
void	http_preview_begin(struct http *h, struct http_text_preview *tp,
	    const struct llm_request *req, const char *(*text_of)(json_t *));
void	http_preview_end(struct http *h);

/* Reads an API key from the environment into *out (free with
 * http_key_free). A missing key is WARD_EINVAL when required, else *out is
 * NULL. A key with control characters is WARD_EINVAL (not shown). */
int	http_key(const char *var, int required, char **out, struct buf *err);

/* Wipes and frees a key. NULL is a no-op. */
void	http_key_free(char *key);

#endif

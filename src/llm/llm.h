/*
 * Model providers behind the agent's `llm` interface. The host glue turns
 * the component's typed messages into these structs and back; a provider
 * turns them into its wire format. Providers: `anthropic` (Messages API),
 * `openai`, `openrouter` and `openai-compatible` (Chat Completions), and
 * `script` (a JSON-lines file of assistant turns, doc/SCRIPT.md).
 */
#ifndef WARD_LLM_H
#define WARD_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"

enum llm_role { LLM_USER, LLM_ASSISTANT, LLM_TOOL };
enum llm_stop { LLM_STOP_END_TURN, LLM_STOP_TOOL_USE, LLM_STOP_MAX_TOKENS,
	LLM_STOP_OTHER };

struct llm_tool_call {
	char	*id;
	char	*name;
	char	*arguments;	/* JSON object text */
};

struct llm_message {
	enum llm_role		 role;
	char			*content;
	struct llm_tool_call	*calls;
	size_t			 ncalls;
	char			*tool_call_id;	/* NULL unless role is tool */
	int			 is_error;
	/*
	 * Opaque to everyone but the provider that wrote it: the JSON array
	 * text of an assistant reply's blocks that must go back to the model
	 * unchanged in later requests (Anthropic thinking and
	 * redacted_thinking blocks with their signatures). NULL if none. A
	 * provider fills it in replies and re-emits it, byte for byte, when
	 * the message comes back in a request's history; whoever stores the
	 * transcript must keep it with the message.
	 */
	char			*provider_blocks;
};

struct llm_tool_decl {
	const char	*name;
	const char	*description;
	const char	*parameters;	/* JSON Schema text */
};

struct llm_request {
	const char			*system;
	const struct llm_message	*msgs;
	size_t				 nmsgs;
	const struct llm_tool_decl	*tools;
	size_t				 ntools;
	/*
	 * Optional (NULL: none): called with the reply's text as a streamed
	 * reply arrives, piece by piece, for display only (the reply is what
	 * counts); text NULL means start over (a retried request).
	 */
	void				(*on_text)(void *arg, const char *text,
					    size_t len);
	void				*on_text_arg;
};

struct llm_reply {
	struct llm_message	msg;		/* role is always assistant */
	enum llm_stop		stop;
	unsigned		input_tokens;
	unsigned		output_tokens;
};

/* An extra request header from [model] headers. */
struct llm_header {
	const char	*name;
	const char	*value;
};

/*
 * The HTTP providers take their API key from the environment
 * (ANTHROPIC_API_KEY, OPENAI_API_KEY, OPENROUTER_API_KEY; optional for
 * openai-compatible) and their endpoint from base_url, else the provider's
 * variable (ANTHROPIC_BASE_URL, OPENAI_BASE_URL), else its public default;
 * openai-compatible has no default. WARD_LLM_RETRY_MS (base retry delay,
 * default 1000) and WARD_LLM_TIMEOUT_MS (whole-request timeout, default
 * 900000) exist for tests.
 */
struct llm_config {
	const char	*provider;	/* anthropic | openai | openrouter |
					   openai-compatible | script */
	const char	*model;		/* for script: path of the .jsonl file */
	const char	*root;		/* project root; relative paths resolve here */
	unsigned	 context_length;	/* 0: provider default */
	unsigned	 max_tokens;		/* 0: provider default */
	const char	*base_url;	/* NULL: from the environment */
	const struct llm_header	*headers;	/* copied by llm_open */
	size_t		 nheaders;
};

struct llm_info {
	const char	*provider;
	const char	*name;
	unsigned	 context_length;
	unsigned	 max_tokens;
	uint64_t	 idle_seconds;	/* set by the session, not the provider */
};

struct llm;

/* Opens a provider. Returns 0 and *out (free with llm_free), or a negative
 * WARD_E* code with a message in err: WARD_EINVAL (unknown provider, bad
 * model, missing API key or endpoint, a header or key with control
 * characters), WARD_ENOENT, WARD_EPROTO (malformed script). No network
 * traffic happens here. */
int	llm_open(struct llm **out, const struct llm_config *cfg,
	    struct buf *err);

/* NULL is a no-op. */
void	llm_free(struct llm *l);

/* Describes the open provider; the strings live as long as l. */
void	llm_info(const struct llm *l, struct llm_info *info);

/* Sends one request and fills *reply (clear it with llm_reply_clear).
 * Returns 0, or a negative WARD_E* code with a message in err; on failure
 * *reply holds nothing to free and l is still usable. The HTTP providers
 * retry 429, 5xx and connection failures (4 attempts, exponential backoff,
 * Retry-After honoured) and return WARD_EIO when the server keeps failing
 * or answers another error, WARD_ETIMEOUT, or WARD_EPROTO for a malformed,
 * truncated or oversized (over 8 MiB) response. An API key never appears
 * in err. */
int	llm_chat(struct llm *l, const struct llm_request *req,
	    struct llm_reply *reply, struct buf *err);

/* Frees what a reply owns; the struct itself is the caller's. */
void	llm_reply_clear(struct llm_reply *reply);

/* Frees what a message owns (content, calls, tool_call_id,
 * provider_blocks). */
void	llm_message_clear(struct llm_message *m);

#endif

/*
 * The wasm host: compiles (or loads from cache) the agent component, links
 * the ward:agent imports to C callbacks, and calls its exports under a
 * memory limit and a CPU deadline. This is the only code that touches the
 * wasmtime C API for the agent; it converts between the component model's
 * typed values and plain C, and bounds-checks everything from the guest.
 */
#ifndef WARD_HOST_H
#define WARD_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../lib/buf.h"
#include "../llm/llm.h"

struct host_limits {
	uint64_t	memory_bytes;	/* guest linear memory cap */
	unsigned	step_ms;	/* guest CPU time between two host calls */
};

/* Result of one tool call. `text` is the result, or the error message when
 * the callback returns a negative WARD_E*; exit_code and truncated are used
 * by command-run and code-run. */
struct host_tool_out {
	struct buf	text;
	int		exit_code;
	int		truncated;
};

/* The imports, implemented by the session (session.c). Every string passed
 * in is NUL-free valid UTF-8 (the glue refuses anything else) and owned by
 * the glue for the duration of the call. */
struct host_imports {
	void	(*llm_info)(void *ctx, struct llm_info *info);
	int	(*llm_chat)(void *ctx, const struct llm_request *req,
		    struct llm_reply *reply, struct buf *err);
	/* name is the DESIGN §5 tool name (file_read ...); args a JSON object
	 * with the §5 argument names. */
	int	(*tool)(void *ctx, const char *name, json_t *args,
		    struct host_tool_out *out);
	int	(*storage_save)(void *ctx, const char *key, const uint8_t *data,
		    size_t len, struct buf *err);
	/* WARD_ENOENT: no such key (not an error for the guest). */
	int	(*storage_load)(void *ctx, const char *key, struct buf *data,
		    struct buf *err);
	int	(*storage_delete)(void *ctx, const char *key, struct buf *err);
	/* Fills keys with NUL-separated names. */
	int	(*storage_list)(void *ctx, struct buf *keys, size_t *nkeys,
		    struct buf *err);
	void	(*print)(void *ctx, const char *text, int warn);
	/* WARD_ENOENT: nobody can answer. *answer is malloc'd. */
	int	(*ask)(void *ctx, const char *question, char **answer);
	/* Non-zero when the session must stop (its client went away): the
	 * next host call traps the guest. May be NULL. */
	int	(*cancelled)(void *ctx);
};

struct host_project {
	const char	*name;
	uint32_t	 max_turns;
	const char	*instructions;
};

enum host_outcome { HOST_FINISHED, HOST_MAX_TURNS };

struct host_turn {
	char			*text;		/* malloc'd */
	enum host_outcome	 outcome;
	uint32_t		 turns;
	uint32_t		 tool_calls;
};

struct host;
struct host_instance;

/* Loads the component at `wasm_path`, compiling it or loading the compiled
 * artifact from `cache_dir` (NULL: no cache). Returns 0 and *out, or a
 * negative WARD_E* with a message in err. Thread-safe to use afterwards. */
int	host_new(struct host **out, const char *wasm_path, const char *cache_dir,
	    const struct host_limits *lim, struct buf *err);

/* Whether the last host_new loaded a cached artifact (1) or compiled (0). */
int	host_from_cache(const struct host *h);

/* NULL is a no-op. No instance may be alive. */
void	host_free(struct host *h);

/* Instantiates the component with `imp` bound to `ctx`. Returns 0 and *out,
 * or a negative WARD_E* with a message in err. Any thread may create
 * instances; each instance is used by one thread at a time. */
int	host_instance_new(struct host *h, const struct host_imports *imp,
	    void *ctx, struct host_instance **out, struct buf *err);

/* Calls the export init(session-id, project). Returns 0, WARD_ETRAP (the
 * guest trapped or hit a limit; err says which), or WARD_EINVAL (init
 * returned an error string, in err). After a trap the instance is dead. */
int	host_instance_init(struct host_instance *in, const char *session_id,
	    const struct host_project *proj, struct buf *err);

/* Calls handle-message. Same returns as host_instance_init; on success
 * *turn is filled (free its text). */
int	host_instance_handle(struct host_instance *in, const char *message,
	    struct host_turn *turn, struct buf *err);

/* NULL is a no-op. */
void	host_instance_free(struct host_instance *in);

#endif

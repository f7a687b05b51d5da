/*
 * Provider dispatch and the ownership helpers shared by all providers.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "llm.h"
#include "llm_impl.h"

int
llm_open(struct llm **out, const struct llm_config *cfg, struct buf *err)
{
	*out = NULL;
	if (cfg->provider == NULL || *cfg->provider == '\0') {
		buf_puts(err, "no model provider configured");
		return WARD_EINVAL;
	}
	if (strcmp(cfg->provider, "script") == 0)
		return script_open(out, cfg, err);
	if (strcmp(cfg->provider, "anthropic") == 0)
		return anthropic_open(out, cfg, err);
	if (strcmp(cfg->provider, "openai") == 0 ||
	    strcmp(cfg->provider, "openrouter") == 0 ||
	    strcmp(cfg->provider, "openai-compatible") == 0)
		return openai_open(out, cfg, err);
	buf_printf(err, "unknown model provider '%s' (this build has: "
	    "anthropic, openai, openrouter, openai-compatible, script)",
	    cfg->provider);
	return WARD_EINVAL;
}

void
llm_free(struct llm *l)
{
	if (l != NULL)
		l->ops->free(l);
}

void
llm_info(const struct llm *l, struct llm_info *info)
{
	l->ops->info(l, info);
}

int
llm_chat(struct llm *l, const struct llm_request *req, struct llm_reply *reply,
    struct buf *err)
{
	memset(reply, 0, sizeof(*reply));
	return l->ops->chat(l, req, reply, err);
}

void
llm_message_clear(struct llm_message *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->ncalls; i++) {
		free(m->calls[i].id);
		free(m->calls[i].name);
		free(m->calls[i].arguments);
	}
	free(m->calls);
	free(m->content);
	free(m->tool_call_id);
	free(m->provider_blocks);
	memset(m, 0, sizeof(*m));
}

void
llm_reply_clear(struct llm_reply *reply)
{
	if (reply == NULL)
		return;
	llm_message_clear(&reply->msg);
	memset(reply, 0, sizeof(*reply));
}

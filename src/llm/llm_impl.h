/*
 * What a provider implements; private to src/llm/.
 */
#ifndef WARD_LLM_IMPL_H
#define WARD_LLM_IMPL_H

#include "llm.h"

struct llm_ops {
	void	(*info)(const struct llm *, struct llm_info *);
	int	(*chat)(struct llm *, const struct llm_request *,
		    struct llm_reply *, struct buf *);
	void	(*free)(struct llm *);
};

/* Every provider's state starts with this. */
struct llm {
	const struct llm_ops	*ops;
};

/* The providers (script.c, anthropic.c, openai.c). Same contract as
 * llm_open; openai_open serves openai, openrouter and openai-compatible. */
int	script_open(struct llm **out, const struct llm_config *cfg,
	    struct buf *err);
int	anthropic_open(struct llm **out, const struct llm_config *cfg,
	    struct buf *err);
int	openai_open(struct llm **out, const struct llm_config *cfg,
	    struct buf *err);

#endif

/* runtime.h — the AI providers of this process, built once at start-up (afterresumed serve and worker) from
 * the configuration: the skills taxonomy (templates/data/skills_taxonomy.tsv), the local provider (always) and
 * the remote OpenAI-compatible one when LLM_PROVIDER=openai. Read-only afterwards, shared by every thread. */
#ifndef AFTERRESUME_AI_RUNTIME_H
#define AFTERRESUME_AI_RUNTIME_H
#include "afterresume/ai/provider.h"
#include "afterresume/core/config.h"
#include "afterresume/core/error.h"

int ar_ai_runtime_init(const ar_config *cfg, ar_error *err);
void ar_ai_runtime_free(void);
/* The local provider (never NULL after init; a local provider is also returned before init, for tests). */
const ar_ai *ar_ai_runtime_local(void);
/* The configured remote provider, or NULL with LLM_PROVIDER=local. */
const ar_ai *ar_ai_runtime_remote(void);
/* AR_AI_HOLD_CENTS and AR_AI_LOCAL_JOB_CENTS (defaults 100 and 0 before init). */
long long ar_ai_runtime_hold_cents(void);
long long ar_ai_runtime_local_job_cents(void);

#endif

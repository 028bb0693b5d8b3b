/* provider.h — the AI features' one entry point, whichever provider is configured:
 *   - `local` (the embedded default, no network): deterministic extractive summaries, the skills taxonomy
 *     matcher, impact heuristics and report sections built from the entries themselves (src/ai/local.c);
 *   - `openai`: any OpenAI-compatible chat-completions endpoint (src/clients/llm.c), prompts rendered from
 *     templates/prompts/ (Mustache), every reply checked against the expected shape (src/ai/reply.c) and retried
 *     once with a repair instruction before failing with a clear error.
 * Each model call is recorded in an ar_ai_calls list (provider, model, tokens) for the caller to price and
 * store as usage rows. An ar_ai is immutable after ar_ai_new and may be shared by threads.
 *
 * Input entries are JSON objects with the worklog API's field names (id, occurred_on, title, content, outcome,
 * impact, tags, project_name, client_name, work_type). Outputs:
 *   enhance:  {title, summary, bullets: [1-3 strings], impact_score: 1-10,
 *              skills: [{name, kind, confidence 0-1, excerpt}]}
 *   skills:   {skills: [{name, kind, confidence, evidence: [{entry_id, excerpt}]}]}
 *   section:  {items: [{text, citations: [entry ids]}]}  (citations are NOT validated here: see citations.h) */
#ifndef AFTERRESUME_AI_PROVIDER_H
#define AFTERRESUME_AI_PROVIDER_H
#include <jansson.h>

#include "afterresume/ai/reply.h"
#include "afterresume/core/config.h"
#include "afterresume/core/error.h"
#include "afterresume/render/template.h"

#define AR_AI_MAX_CALLS 8

typedef struct ar_ai_call {
    char provider[16];
    char model[128];
    long prompt_tokens, completion_tokens;
} ar_ai_call;

typedef struct ar_ai_calls {
    ar_ai_call call[AR_AI_MAX_CALLS];
    int count;
} ar_ai_calls;

typedef struct ar_ai ar_ai;

/* From LLM_PROVIDER (local|openai), LLM_BASE_URL, LLM_API_KEY, LLM_MODEL. `templates` (borrowed) must hold
 * the prompts/ templates for the openai provider. */
ar_ai *ar_ai_new(const ar_config *cfg, const ar_templates *templates, ar_error *err);
void ar_ai_free(ar_ai *ai);
const char *ar_ai_provider(const ar_ai *ai); /* "local" | "openai" */
const char *ar_ai_model(const ar_ai *ai);    /* "local-extractive-1" for the local provider */
int ar_ai_is_remote(const ar_ai *ai);

int ar_ai_enhance_entry(const ar_ai *ai, json_t *entry, json_t **out, ar_ai_calls *calls, ar_error *err);
int ar_ai_extract_skills(const ar_ai *ai, json_t *entries, json_t **out, ar_ai_calls *calls, ar_error *err);
/* One report section over `entries` (its group). report_kind: weekly|monthly|quarterly|review|resume|custom;
 * custom_prompt only for custom (may be NULL). */
int ar_ai_draft_section(const ar_ai *ai, const char *report_kind, const char *section_title, json_t *entries,
                        const char *custom_prompt, json_t **out, ar_ai_calls *calls, ar_error *err);

/* The shapes replies are checked against (remote replies; the local provider's output satisfies them too). */
extern const ar_shape ar_ai_shape_enhance, ar_ai_shape_skills, ar_ai_shape_section;

/* The local provider directly (used by ar_ai_* when configured, and by tests). Never fail on valid input. */
json_t *ar_ai_local_enhance(json_t *entry);
json_t *ar_ai_local_skills(json_t *entries);
json_t *ar_ai_local_section(const char *report_kind, json_t *entries);

#endif

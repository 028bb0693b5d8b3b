/* skills.h — a user's skills and the evidence behind them. Every skill has a normalised name (aliases
 * resolved by the taxonomy, ai/skills.h), a display name, kind, level and confidence derived from its evidence,
 * first/last seen dates, and evidence rows linking to the exact entries with the excerpt that shows the skill —
 * one row per skill and entry, so re-running extraction never duplicates evidence. A merged skill stays as a
 * redirect: evidence later found under its name goes to the skill it was merged into.
 * Skills are personal: row-level security limits them to their owner in the tenant. */
#ifndef AFTERRESUME_DOMAIN_SKILLS_H
#define AFTERRESUME_DOMAIN_SKILLS_H
#include <jansson.h>
#include <libpq-fe.h>

#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"
#include "afterresume/jobs/registry.h"

void ar_skills_register(void);

typedef struct ar_skill_evidence_in {
    const char *name;        /* as found; normalised here */
    const char *kind;        /* skill|technology|tool|method|domain (NULL/invalid = the taxonomy's, else "skill") */
    double confidence;       /* 0..1 */
    long long entry_id;
    const char *occurred_on; /* the entry's date (YYYY-MM-DD), for first/last seen */
    const char *excerpt;     /* cut to 500 characters */
    const char *source;      /* local|ai|enhancement|manual */
} ar_skill_evidence_in;

/* Inside the caller's ar_ctx_tx (ctx = the skill owner's): create or update the skill of ev->name for
 * ctx->user_id, upsert its evidence for ev->entry_id and refresh its level (emerging 1, practiced 2–4, strong 5+
 * entries), confidence and seen dates. *skill_id (may be NULL) is the skill that got the evidence.
 * AR_ERR_VALIDATION for an empty or invalid name. */
int ar_skills_add_evidence_in_tx(PGconn *c, const ar_ctx *ctx, const ar_skill_evidence_in *ev, long long *skill_id,
                                 ar_error *err);

/* The caller's skills: [{id, name, display_name, kind, level, confidence, first_seen, last_seen, hidden,
 * confirmed, evidence_count, months: [12 counts of evidence entries per month, oldest first, ending this month]}]
 * ordered by evidence count then name; hidden and merged skills only with include_hidden (merged never). */
json_t *ar_skills_list(const ar_ctx *ctx, int include_hidden, ar_error *err);
/* One skill with its evidence: {..skill.., evidence: [{entry_id, occurred_on, title, excerpt, source,
 * confidence}]} newest first. 404 for skills of others. */
json_t *ar_skill_get(const ar_ctx *ctx, long long id, ar_error *err);
/* body: {display_name? (1..120), hidden? (bool), confirmed? (bool)}. Renaming onto another skill's name → 409
 * (merge instead). Returns the skill. */
json_t *ar_skill_update(const ar_ctx *ctx, long long id, const json_t *body, ar_error *err);
/* Move the evidence of the source skills into target (no duplicates); sources become hidden redirects
 * (merged_into = target). Audited. Returns the target skill. */
json_t *ar_skills_merge(const ar_ctx *ctx, long long target_id, const long long *source_ids, size_t n, ar_error *err);
/* Start the skills.extract job over the last window_days (1..3650, 0 = 90) — AI hold as ar_ai_job_start. */
int ar_skills_recompute_start(const ar_ctx *ctx, int window_days, long long *job_id, ar_error *err);

extern const ar_job_type ar_job_skills_extract;

#endif

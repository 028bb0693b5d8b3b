/* suggestions.h — AI suggestions for one worklog entry (the entry.enhance job writes them) and the author's
 * decisions. A suggestion is a field (title | summary | bullet | impact_score | skill) with a value:
 *   title/summary/bullet {"text"}, impact_score {"score"}, skill {"name","kind","confidence","excerpt"}.
 * Nothing is written into the entry until the user accepts: accepting a title sets the entry's title, a
 * summary its summary, a bullet appends to its bullets (at most 10), an impact score sets impact_score with
 * source "ai", a skill adds evidence for the author's skill from this entry (skills.h). Rejecting changes
 * nothing but the suggestion. Deciding twice is a 409. Suggestions follow the entry's visibility (RLS). */
#ifndef AFTERRESUME_DOMAIN_SUGGESTIONS_H
#define AFTERRESUME_DOMAIN_SUGGESTIONS_H
#include <jansson.h>

#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"
#include "afterresume/jobs/registry.h"

void ar_suggestions_register(void);

/* Start enhancing an entry the caller may edit: the entry.enhance job with its AI hold (402/429/503 as
 * ar_ai_job_start; 404 for entries the caller cannot see; 403 for read-only members). Returns the job id. */
int ar_entry_enhance_start(const ar_ctx *ctx, long long entry_id, long long *job_id, ar_error *err);

/* {entry_id, suggestions: [{id, field, value, status, provider, model, created_at, decided_at}], pending_job:
 * {id, status, progress} | null}: the entry's suggestions (undecided first, newest run first). 404 when the entry
 * is not visible. */
json_t *ar_suggestions_list(const ar_ctx *ctx, long long entry_id, ar_error *err);

/* Accept (accept != 0) or reject one suggestion. Returns the decided suggestion (as in the list). */
json_t *ar_suggestion_decide(const ar_ctx *ctx, long long suggestion_id, int accept, ar_error *err);

/* For the job: replace the entry's undecided suggestions with the provider's `enhanced` output (see provider.h),
 * recording job, provider and model. Returns the number of suggestions stored. */
int ar_suggestions_store(const ar_ctx *ctx, long long entry_id, long long job_id, const char *provider,
                         const char *model, json_t *enhanced, ar_error *err);

extern const ar_job_type ar_job_entry_enhance;

#endif

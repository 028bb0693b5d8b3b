/* reports.h — reports generated from the worklog (weekly, monthly, quarterly, review, resume, custom) whose every
 * bullet cites the entries it came from, and public share links for them.
 *
 * Generating is the `report.generate` job (src/jobs/job_report_generate.c): select entries → group (by project,
 * then skills for reviews) → draft each section (the tenant's AI provider) → attach citations (validated against
 * the selected set: foreign or missing ids are dropped and the bullet flagged, never shown as cited) → render.
 * A report's JSON:
 *   {id, kind, title, status, period_start, period_end, filters, custom_prompt, sections: [{title, items: [{text,
 *    citations: [entry ids], flagged}]}], source_entry_ids, markdown (the edited text or null), provider, model,
 *    job_id, error, created_at, updated_at}
 * Reports are personal: only their author sees them (row-level security). */
#ifndef AFTERRESUME_DOMAIN_REPORTS_H
#define AFTERRESUME_DOMAIN_REPORTS_H
#include <jansson.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"
#include "afterresume/jobs/registry.h"

void ar_reports_register(void);

/* Start generating. body: {kind, window_days (1..366) | period_start + period_end (YYYY-MM-DD, ≤ 3 years),
 * title?, project? (id), tag?, custom_prompt? (custom only, ≤2,000 chars)}. The original's {kind, window_days}
 * still works (window ends today, UTC). Creates the report (status generating) and queues the job in one
 * transaction with the AI hold (402/429/503 as ar_ai_job_start). Returns {report_id, job_id} or NULL + err
 * (AR_ERR_VALIDATION with fields). */
json_t *ar_report_generate(const ar_ctx *ctx, const json_t *body, ar_error *err);

json_t *ar_report_get(const ar_ctx *ctx, long long id, ar_error *err);
/* {results: [report without sections], next_before_id} newest first; limit 1..100. */
json_t *ar_report_list(const ar_ctx *ctx, int limit, long long before_id, ar_error *err);
/* body: {title?, markdown? (string ≤200,000 chars, or null to drop the edit)}. */
json_t *ar_report_update(const ar_ctx *ctx, long long id, const json_t *body, ar_error *err);
int ar_report_delete(const ar_ctx *ctx, long long id, ar_error *err);

/* The report as Markdown (the edited text when there is one, else rendered from the sections with citation
 * links "/worklog/{id}") or a standalone HTML document (escaped; print-friendly). */
int ar_report_render_markdown(const json_t *report, ar_buf *out);
int ar_report_render_html(const json_t *report, ar_buf *out);

/* ---- share links ---- */

/* Create: expires_in_days 0 = never (else 1..365). Returns {id, url, token, expires_at, created_at}; the token
 * (≥128 bits, shown once) is stored hashed. Audited. */
json_t *ar_share_link_create(const ar_ctx *ctx, long long report_id, int expires_in_days, const char *public_url,
                             ar_error *err);
/* [{id, expires_at, revoked_at, view_count, last_viewed_at, created_at, active}] of a report. */
json_t *ar_share_link_list(const ar_ctx *ctx, long long report_id, ar_error *err);
int ar_share_link_revoke(const ar_ctx *ctx, long long link_id, ar_error *err);
/* The public view: the report of an active link (counting the view), or AR_ERR_NOT_FOUND for unknown, revoked
 * or expired tokens. Only the report's own fields are returned (no entry texts, no tenant or author data). */
json_t *ar_share_link_view(const char *token, ar_error *err);

/* The job handler (registered as `report.generate`). */
extern const ar_job_type ar_job_report_generate;

#endif

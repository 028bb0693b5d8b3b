/* status_bar.c — the status bar's numbers (see status_bar.h). Billing and AI usage arrive with their own
 * releases; until then the balance is 0 and marked as not configured rather than invented. */
#include "afterresume/domain/status_bar.h"
#include "afterresume/jobs/jobs.h"

#include <time.h>

json_t *ar_status_bar(const ar_ctx *ctx, ar_error *err)
{
    json_t *counts = ar_job_status_counts(ctx, err);
    if (!counts) return NULL;
    json_int_t running = json_integer_value(json_object_get(counts, "running"));
    json_decref(counts);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:i,s:s,s:b,s:b,s:i,s:i,s:I,s:s}", "reserve_balance_cents", 0, "reserve_balance_dollars",
                     "0.00", "is_low_balance", 0, "billing_configured", 0, "tokens_in", 0, "tokens_out", 0,
                     "jobs_running", running, "updated_at", when);
}

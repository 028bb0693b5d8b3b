/* status_bar.c — the status bar's numbers (see status_bar.h): the tenant's reserve balance from the billing
 * ledger (with its low / zero state), the tokens its usage rows recorded this month, and its running jobs. */
#include "afterresume/domain/status_bar.h"
#include "afterresume/domain/billing.h"
#include "afterresume/jobs/jobs.h"

#include <time.h>

json_t *ar_status_bar(const ar_ctx *ctx, ar_error *err)
{
    json_t *counts = ar_job_status_counts(ctx, err);
    if (!counts) return NULL;
    json_int_t running = json_integer_value(json_object_get(counts, "running"));
    json_decref(counts);
    /* A signed-in user without a tenant has no reserve: zeros, not an error. */
    ar_billing_balance b = {0};
    long long tokens_in = 0, tokens_out = 0;
    int configured = 0;
    if (ctx->tenant_id > 0) {
        if (ar_billing_balance_get(ctx, 0, &b, err) != 0) return NULL;
        if (ar_billing_tokens_month(ctx, &tokens_in, &tokens_out, err) != 0) return NULL;
        configured = 1;
    }
    char dollars[40];
    ar_billing_format_dollars(b.balance_cents, dollars, sizeof dollars);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:I,s:s,s:I,s:b,s:b,s:b,s:b,s:I,s:I,s:I,s:s}", "reserve_balance_cents",
                     (json_int_t)b.balance_cents, "reserve_balance_dollars", dollars, "available_balance_cents",
                     (json_int_t)b.available_cents, "is_low_balance", configured && b.is_low, "is_zero_balance",
                     configured && b.is_zero, "has_reserve", configured, "billing_configured", 0, "tokens_in", (json_int_t)tokens_in, "tokens_out",
                     (json_int_t)tokens_out, "jobs_running", running, "updated_at", when);
}

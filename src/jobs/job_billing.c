/* job_billing.c — the billing job types the scheduler runs (rows in migrations/0008_billing.sql):
 *   billing.expire_holds  every 5 minutes: active holds past their expiry become `expired` and are released;
 *                         result {"expired": N}.
 *   billing.verify        nightly: re-sums every account and re-walks every balance-after chain (the same check as
 *                         `afterresumed billing verify`); result {"accounts", "entries", "mismatch_count"}; the job
 *                         fails (and the audit log records billing.verify with success=false) when it finds any. */
#include "afterresume/domain/billing.h"
#include "afterresume/jobs/registry.h"

static int expire_holds(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    (void)payload;
    long long count = 0;
    if (ar_billing_expire_holds(jc->ctx, &count, err) != 0) return -1;
    *result = json_pack("{s:I}", "expired", (json_int_t)count);
    return 0;
}

static int verify(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    (void)payload;
    json_t *report = NULL;
    if (ar_billing_verify(jc->ctx, &report, err) != 0) return -1;
    json_int_t mismatches = json_integer_value(json_object_get(report, "mismatch_count"));
    *result = json_pack("{s:O,s:O,s:I}", "accounts", json_object_get(report, "accounts"), "entries",
                        json_object_get(report, "entries"), "mismatch_count", mismatches);
    json_decref(report);
    if (mismatches > 0) {
        json_decref(*result);
        *result = NULL;
        return ar_error_set(err, AR_ERR_INTERNAL, "billing verify found %lld ledger mismatch(es); see the audit log",
                            (long long)mismatches),
               -1;
    }
    return 0;
}

const ar_job_type ar_job_billing_expire_holds = {"billing.expire_holds", expire_holds, 3, NULL};
/* A mismatch is not transient: one attempt, so it is reported once per night. */
const ar_job_type ar_job_billing_verify = {"billing.verify", verify, 1, NULL};

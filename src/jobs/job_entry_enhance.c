/* job_entry_enhance.c — the `entry.enhance` job: ask the tenant's AI provider (local unless a remote one is
 * configured and the workspace opted in) to improve one entry, store the answer as suggestions the author
 * accepts or rejects one by one (nothing is written into the entry here), and settle the AI hold. */
#include "afterresume/ai/provider.h"
#include "afterresume/domain/ai_jobs.h"
#include "afterresume/domain/suggestions.h"
#include "afterresume/domain/worklog.h"

#include <stdio.h>
#include <string.h>

static int run(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    ar_ai_calls calls = {0};
    long long entry_id = (long long)json_integer_value(json_object_get(payload, "entry_id"));
    json_t *entry = entry_id > 0 ? ar_worklog_get(jc->ctx, entry_id, 0, err) : NULL;
    if (!entry) {
        if (entry_id <= 0) ar_error_set(err, AR_ERR_VALIDATION, "entry.enhance: payload needs an entry_id");
        ar_ai_job_settle(jc, &calls, AR_AI_SETTLE_FINAL_FAILURE, &(ar_error){0});
        return -1;
    }
    ar_job_progress(jc, 10, "Reading the entry");
    const char *why = NULL;
    const ar_ai *ai = ar_ai_for_tenant(jc->ctx, &why, err);
    json_t *enhanced = NULL;
    if (ai) {
        ar_job_event(jc, "info", "provider", json_pack("{s:s,s:s,s:s}", "provider", ar_ai_provider(ai), "model",
                                                       ar_ai_model(ai), "why", why ? why : ""));
        ar_job_progress(jc, 30, "Asking the model");
    }
    if (!ai || ar_ai_enhance_entry(ai, entry, &enhanced, &calls, err) != 0) {
        json_decref(entry);
        ar_ai_job_settle(jc, &calls, 0, &(ar_error){0});
        return -1;
    }
    ar_job_progress(jc, 80, "Saving suggestions");
    int stored = ar_suggestions_store(jc->ctx, entry_id, jc->job_id, ar_ai_provider(ai), ar_ai_model(ai), enhanced, err);
    json_decref(enhanced);
    json_decref(entry);
    if (stored < 0) {
        ar_ai_job_settle(jc, &calls, 0, &(ar_error){0});
        return -1;
    }
    ar_error settle = {0};
    if (ar_ai_job_settle(jc, &calls, 1, &settle) != 0) {
        ar_job_event(jc, "error", "could not post the job's cost", json_pack("{s:s}", "error", settle.message));
        ar_error_clear(&settle);
    }
    ar_job_event(jc, "info", "suggestions stored", json_pack("{s:i}", "count", stored));
    *result = json_pack("{s:I,s:i,s:s}", "entry_id", (json_int_t)entry_id, "suggestions", stored, "url", "");
    json_object_set_new(*result, "url", json_sprintf("/worklog/%lld", entry_id));
    ar_job_progress(jc, 100, "Suggestions ready");
    return 0;
}

const ar_job_type ar_job_entry_enhance = {"entry.enhance", run, 2, NULL};

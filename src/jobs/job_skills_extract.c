/* job_skills_extract.c — the `skills.extract` job: the user's entries of the last window_days, in batches of 40,
 * go to the tenant's AI provider (local unless a remote one is configured and the workspace opted in); every
 * skill found is stored with evidence rows for the entries that show it — only entries of the batch that was
 * sent (anything else is dropped and counted), one row per skill and entry, so re-running never duplicates. */
#include "afterresume/ai/provider.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/ai_jobs.h"
#include "afterresume/domain/skills.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 40

static const ar_db_stmt statements[] = {
    {"skills_job_entries",
     "SELECT coalesce(json_agg(x ORDER BY x.occurred_on, x.id), '[]')::text FROM ("
     " SELECT e.id, e.occurred_on::text AS occurred_on, e.title, e.content, e.outcome, e.impact, e.tags, e.work_type "
     " FROM worklog_entries e WHERE e.deleted_at IS NULL AND e.author_id = $1 "
     "   AND e.occurred_on > current_date - $2::int ORDER BY e.occurred_on DESC, e.id DESC LIMIT 2000) x"},
};

static void prepare(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

typedef struct load_args {
    const ar_ctx *ctx;
    int days;
    json_t *entries;
} load_args;

static int load_tx(PGconn *c, void *arg, ar_error *err)
{
    load_args *a = arg;
    char user[24], days[16];
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    snprintf(days, sizeof days, "%d", a->days);
    const char *p[2] = {user, days};
    PGresult *r = ar_db_exec(c, "skills_job_entries", 2, p, err);
    if (!r) return -1;
    a->entries = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return a->entries ? 0 : (ar_error_set(err, AR_ERR_INTERNAL, NULL), -1);
}

typedef struct save_args {
    const ar_ctx *ctx;
    json_t *skills;   /* provider output: [{name, kind, confidence, evidence: [{entry_id, excerpt}]}] */
    json_t *batch;    /* the entries sent */
    const char *source;
    int saved, dropped;
} save_args;

static const char *date_of(json_t *batch, long long id)
{
    size_t i;
    json_t *e;
    json_array_foreach(batch, i, e) {
        if (json_integer_value(json_object_get(e, "id")) == id) return json_string_value(json_object_get(e, "occurred_on"));
    }
    return NULL;
}

static int save_tx(PGconn *c, void *arg, ar_error *err)
{
    save_args *a = arg;
    a->saved = a->dropped = 0;
    size_t i, k;
    json_t *s, *ev;
    json_array_foreach(a->skills, i, s) {
        json_array_foreach(json_object_get(s, "evidence"), k, ev) {
            long long entry = (long long)json_integer_value(json_object_get(ev, "entry_id"));
            const char *date = date_of(a->batch, entry);
            if (!date) {
                a->dropped++;
                continue;
            }
            ar_skill_evidence_in in = {json_string_value(json_object_get(s, "name")),
                                       json_string_value(json_object_get(s, "kind")),
                                       json_number_value(json_object_get(s, "confidence")), entry, date,
                                       json_string_value(json_object_get(ev, "excerpt")), a->source};
            ar_error one = {0};
            if (ar_skills_add_evidence_in_tx(c, a->ctx, &in, NULL, &one) != 0) {
                if (one.code != AR_ERR_VALIDATION) {
                    *err = one;
                    return -1;
                }
                ar_error_clear(&one); /* a nameless skill from the model: skip it */
                a->dropped++;
                continue;
            }
            a->saved++;
        }
    }
    return 0;
}

static int run(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    ar_ai_calls calls = {0};
    json_int_t days = json_integer_value(json_object_get(payload, "window_days"));
    load_args load = {jc->ctx, days > 0 && days <= 3650 ? (int)days : 90, NULL};
    const char *why = NULL;
    const ar_ai *ai = ar_ai_for_tenant(jc->ctx, &why, err);
    if (!ai || ar_ctx_tx(jc->ctx, load_tx, &load, err) != 0) {
        ar_ai_job_settle(jc, &calls, 0, &(ar_error){0});
        return -1;
    }
    size_t n = json_array_size(load.entries);
    ar_job_event(jc, "info", "select entries", json_pack("{s:I,s:i,s:s,s:s}", "count", (json_int_t)n, "window_days",
                                                         load.days, "provider", ar_ai_provider(ai), "model", ar_ai_model(ai)));
    int saved = 0, dropped = 0;
    for (size_t start = 0; start < n; start += BATCH) {
        char msg[96];
        snprintf(msg, sizeof msg, "Entries %zu to %zu of %zu", start + 1, start + BATCH < n ? start + BATCH : n, n);
        if (ar_job_progress(jc, 5 + (int)(90 * start / n), msg)) {
            json_decref(load.entries);
            ar_error_set(err, AR_ERR_UNAVAILABLE, "cancelled");
            ar_ai_job_settle(jc, &calls, AR_AI_SETTLE_FINAL_FAILURE, &(ar_error){0});
            return -1;
        }
        json_t *batch = json_array();
        for (size_t i = start; i < n && i < start + BATCH; i++) json_array_append(batch, json_array_get(load.entries, i));
        json_t *out = NULL;
        if (ar_ai_extract_skills(ai, batch, &out, &calls, err) != 0) {
            json_decref(batch);
            json_decref(load.entries);
            ar_ai_job_settle(jc, &calls, 0, &(ar_error){0});
            return -1;
        }
        save_args save = {jc->ctx, json_object_get(out, "skills"), batch, ar_ai_is_remote(ai) ? "ai" : "local", 0, 0};
        int rc = ar_ctx_tx(jc->ctx, save_tx, &save, err);
        json_decref(out);
        json_decref(batch);
        if (rc != 0) {
            json_decref(load.entries);
            ar_ai_job_settle(jc, &calls, 0, &(ar_error){0});
            return -1;
        }
        saved += save.saved;
        dropped += save.dropped;
    }
    json_decref(load.entries);
    ar_job_event(jc, "info", "evidence stored", json_pack("{s:i,s:i}", "evidence", saved, "dropped", dropped));
    if (dropped) ar_job_event(jc, "warn", "evidence for entries that were not sent was dropped", json_pack("{s:i}", "dropped", dropped));
    ar_error settle = {0};
    if (ar_ai_job_settle(jc, &calls, 1, &settle) != 0) {
        ar_job_event(jc, "error", "could not post the job's cost", json_pack("{s:s}", "error", settle.message));
        ar_error_clear(&settle);
    }
    *result = json_pack("{s:I,s:i,s:i,s:s}", "entries", (json_int_t)n, "evidence", saved, "dropped", dropped, "url", "/skills");
    ar_job_progress(jc, 100, "Skills updated");
    return 0;
}

const ar_job_type ar_job_skills_extract = {"skills.extract", run, 2, prepare};

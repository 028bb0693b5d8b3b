/* cleanup.c — housekeeping job types run by the scheduler (system jobs, every tenant's rows):
 *   cleanup.sessions  deletes sessions that ended, expired or went idle more than a day ago; password-reset
 *                     tokens used or expired more than a day ago; invite passkeys expired, revoked or used up
 *                     more than a day ago that no audit event refers to (the audit log is append-only and
 *                     keeps its references). Result {"sessions":n,"password_resets":n,"passkeys":n}.
 *   cleanup.jobs      deletes succeeded, failed and cancelled jobs (with their timelines) finished more than
 *                     payload.older_than_days (default 30, 1..3650) days ago, in batches of 5000.
 *                     Result {"jobs":n}. Queued and running jobs are never touched. */
#include "afterresume/core/log.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/context.h"
#include "afterresume/jobs/registry.h"

#include <stdio.h>
#include <stdlib.h>

#define JOBS_BATCH "5000"

static const ar_db_stmt statements[] = {
    {"cleanup_sessions",
     "DELETE FROM sessions WHERE ended_at < now() - interval '1 day' OR expires_at < now() - interval '1 day' "
     "OR last_seen_at + make_interval(secs => idle_seconds) < now() - interval '1 day'"},
    {"cleanup_password_resets",
     "DELETE FROM password_resets WHERE expires_at < now() - interval '1 day' OR used_at < now() - interval '1 day'"},
    {"cleanup_passkeys",
     "DELETE FROM invite_passkeys p WHERE (p.expires_at < now() - interval '1 day' "
     "OR p.revoked_at < now() - interval '1 day' "
     "OR (p.uses >= p.max_uses AND p.created_at < now() - interval '1 day')) "
     "AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.passkey_id = p.id)"},
    {"cleanup_jobs",
     "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') "
     "AND finished_at < now() - make_interval(days => $1::integer) ORDER BY finished_at LIMIT " JOBS_BATCH ")"},
};

static void prepare(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

typedef struct sql_run {
    const char *name;
    int nparams;
    const char *const *params;
    long long affected;
} sql_run;

static int run_tx(PGconn *c, void *arg, ar_error *err)
{
    sql_run *s = arg;
    PGresult *r = ar_db_exec(c, s->name, s->nparams, s->params, err);
    if (!r) return -1;
    s->affected = atoll(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

/* One statement in its own system transaction; the number of rows it deleted or -1 with err. */
static long long delete_rows(const char *name, int nparams, const char *const *params, ar_error *err)
{
    ar_ctx base = {0};
    snprintf(base.request_id, sizeof base.request_id, "cleanup");
    ar_ctx sys = ar_ctx_system(&base);
    sql_run s = {name, nparams, params, 0};
    return ar_ctx_tx(&sys, run_tx, &s, err) == 0 ? s.affected : -1;
}

static int cleanup_sessions_handler(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    (void)payload;
    long long sessions = delete_rows("cleanup_sessions", 0, NULL, err);
    if (sessions < 0) return -1;
    ar_job_progress(jc, 33, "sessions");
    long long resets = delete_rows("cleanup_password_resets", 0, NULL, err);
    if (resets < 0) return -1;
    ar_job_progress(jc, 66, "password resets");
    long long passkeys = delete_rows("cleanup_passkeys", 0, NULL, err);
    if (passkeys < 0) return -1;
    *result = json_pack("{s:I,s:I,s:I}", "sessions", (json_int_t)sessions, "password_resets", (json_int_t)resets,
                        "passkeys", (json_int_t)passkeys);
    return 0;
}

static int cleanup_jobs_handler(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    json_t *days_v = json_object_get(payload, "older_than_days");
    json_int_t days = days_v ? json_integer_value(days_v) : 30;
    if (days_v && (!json_is_integer(days_v) || days < 1 || days > 3650)) {
        ar_error_set(err, AR_ERR_VALIDATION, "older_than_days must be a whole number of days from 1 to 3650");
        return -1;
    }
    char days_s[16];
    snprintf(days_s, sizeof days_s, "%lld", (long long)days);
    const char *params[1] = {days_s};
    long long total = 0;
    for (;;) {
        long long n = delete_rows("cleanup_jobs", 1, params, err);
        if (n < 0) return -1;
        total += n;
        if (n < atoll(JOBS_BATCH)) break;
        char msg[64];
        snprintf(msg, sizeof msg, "%lld jobs deleted", total);
        if (ar_job_progress(jc, 50, msg)) {
            ar_error_set(err, AR_ERR_UNAVAILABLE, "stopped after deleting %lld jobs", total);
            return -1;
        }
    }
    if (total > 0)
        ar_log_json(AR_LOG_INFO, "old jobs deleted", json_pack("{s:I,s:I}", "jobs", (json_int_t)total, "days",
                                                               (json_int_t)days));
    *result = json_pack("{s:I}", "jobs", (json_int_t)total);
    return 0;
}

const ar_job_type ar_job_cleanup_sessions = {"cleanup.sessions", cleanup_sessions_handler, 3, prepare};
const ar_job_type ar_job_cleanup_jobs = {"cleanup.jobs", cleanup_jobs_handler, 3, prepare};

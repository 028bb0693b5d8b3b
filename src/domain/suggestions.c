/* suggestions.c — AI suggestions for entries: starting the entry.enhance job, storing its output, listing, and
 * accepting / rejecting each suggestion (see suggestions.h). */
#include "afterresume/domain/suggestions.h"
#include "afterresume/core/alloc.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/ai_jobs.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/skills.h"
#include "afterresume/domain/worklog.h"
#include "afterresume/jobs/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define SUGGESTION_COLS "s.id, s.field, s.value::text, s.status, s.provider, s.model, " TS("s.created_at") ", " TS("s.decided_at")

static const ar_db_stmt statements[] = {
    {"suggestions_clear", "DELETE FROM entry_suggestions WHERE entry_id = $1 AND status = 'suggested'"},
    {"suggestions_insert",
     "INSERT INTO entry_suggestions (tenant_id, entry_id, job_id, field, value, provider, model) "
     "VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)"},
    {"suggestions_list",
     "SELECT " SUGGESTION_COLS " FROM entry_suggestions s WHERE s.entry_id = $1 "
     "ORDER BY (s.status = 'suggested') DESC, s.id DESC LIMIT 200"},
    {"suggestions_pending_job",
     "SELECT j.id, j.status, j.progress FROM jobs j WHERE j.type = 'entry.enhance' AND j.tenant_id = $2 "
     "AND j.payload->>'entry_id' = $1::text AND j.status IN ('queued', 'running') ORDER BY j.id DESC LIMIT 1"},
    {"suggestions_lock",
     "SELECT " SUGGESTION_COLS ", s.entry_id, e.author_id, e.occurred_on::text, e.bullets::text "
     "FROM entry_suggestions s JOIN worklog_entries e ON e.id = s.entry_id AND e.deleted_at IS NULL "
     "WHERE s.id = $1 FOR UPDATE OF s"},
    {"suggestions_decide",
     "UPDATE entry_suggestions SET status = $2, decided_at = now(), decided_by = $3 WHERE id = $1 "
     "RETURNING " TS("decided_at")},
    {"suggestions_set_summary", "UPDATE worklog_entries SET summary = $2, updated_at = now() WHERE id = $1"},
    {"suggestions_add_bullet",
     "UPDATE worklog_entries SET bullets = bullets || ARRAY[$2::text], updated_at = now() "
     "WHERE id = $1 AND cardinality(bullets) < 10 AND NOT ($2 = ANY (bullets)) RETURNING id"},
};

void ar_suggestions_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

static json_t *suggestion_row(const PGresult *r, int i)
{
    json_t *value = json_loads(PQgetvalue(r, i, 2), 0, NULL);
    return json_pack("{s:I,s:s,s:o,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)atoll(PQgetvalue(r, i, 0)), "field",
                     PQgetvalue(r, i, 1), "value", value ? value : json_object(), "status", PQgetvalue(r, i, 3),
                     "provider", PQgetvalue(r, i, 4), "model", PQgetvalue(r, i, 5), "created_at", PQgetvalue(r, i, 6),
                     "decided_at", PQgetisnull(r, i, 7) ? json_null() : json_string(PQgetvalue(r, i, 7)));
}

/* The caller may change the entry: its author, or an owner/admin of a team entry's workspace. */
static int may_edit(const ar_ctx *ctx, long long author_id)
{
    return ctx->role >= AR_ROLE_MEMBER && (author_id == ctx->user_id || ctx->role >= AR_ROLE_ADMIN);
}

int ar_entry_enhance_start(const ar_ctx *ctx, long long entry_id, long long *job_id, ar_error *err)
{
    json_t *entry = ar_worklog_get(ctx, entry_id, 0, err);
    if (!entry) return -1;
    long long author = (long long)json_integer_value(json_object_get(entry, "author"));
    json_decref(entry);
    if (!may_edit(ctx, author))
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Only the entry's author (or a workspace admin) can enhance it."), -1;
    json_t *payload = json_pack("{s:I}", "entry_id", (json_int_t)entry_id);
    int rc = ar_ai_job_start(ctx, "entry.enhance", payload, job_id, err);
    json_decref(payload);
    return rc;
}

typedef struct store_args {
    const ar_ctx *ctx;
    long long entry_id, job_id;
    const char *provider, *model;
    json_t *enhanced;
    int stored;
} store_args;

static int insert_one(PGconn *c, store_args *a, const char *field, json_t *value, ar_error *err)
{
    char tenant[24], entry[24], job[24];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(entry, sizeof entry, "%lld", a->entry_id);
    snprintf(job, sizeof job, "%lld", a->job_id);
    char *text = json_dumps(value, JSON_COMPACT);
    const char *p[7] = {tenant, entry, a->job_id ? job : NULL, field, text, a->provider, a->model};
    PGresult *r = ar_db_exec(c, "suggestions_insert", 7, p, err);
    free(text);
    if (!r) return -1;
    PQclear(r);
    a->stored++;
    return 0;
}

static int store_tx(PGconn *c, void *arg, ar_error *err)
{
    store_args *a = arg;
    char entry[24];
    snprintf(entry, sizeof entry, "%lld", a->entry_id);
    const char *p[1] = {entry};
    PGresult *r = ar_db_exec(c, "suggestions_clear", 1, p, err);
    if (!r) return -1;
    PQclear(r);
    json_t *e = a->enhanced;
    const char *title = json_string_value(json_object_get(e, "title"));
    if (title && *title && insert_one(c, a, "title", json_pack("{s:s}", "text", title), err) != 0) return -1;
    const char *summary = json_string_value(json_object_get(e, "summary"));
    if (summary && *summary && insert_one(c, a, "summary", json_pack("{s:s}", "text", summary), err) != 0) return -1;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(e, "bullets"), i, v) {
        if (json_string_value(v) && insert_one(c, a, "bullet", json_pack("{s:O}", "text", v), err) != 0) return -1;
    }
    json_t *score = json_object_get(e, "impact_score");
    if (json_is_integer(score) && insert_one(c, a, "impact_score", json_pack("{s:O}", "score", score), err) != 0) return -1;
    json_array_foreach(json_object_get(e, "skills"), i, v) {
        json_t *skill = json_pack("{s:O,s:O,s:O,s:s}", "name", json_object_get(v, "name"), "kind",
                                  json_object_get(v, "kind"), "confidence", json_object_get(v, "confidence"), "excerpt",
                                  json_string_value(json_object_get(v, "excerpt")) ? json_string_value(json_object_get(v, "excerpt")) : "");
        if (!skill || insert_one(c, a, "skill", skill, err) != 0) return -1;
    }
    return 0;
}

int ar_suggestions_store(const ar_ctx *ctx, long long entry_id, long long job_id, const char *provider,
                         const char *model, json_t *enhanced, ar_error *err)
{
    store_args a = {ctx, entry_id, job_id, provider, model, enhanced, 0};
    if (ar_ctx_tx(ctx, store_tx, &a, err) != 0) return -1;
    return a.stored;
}

typedef struct list_args {
    const ar_ctx *ctx;
    long long entry_id;
    json_t *out;
} list_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    char entry[24], tenant[24];
    snprintf(entry, sizeof entry, "%lld", a->entry_id);
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    const char *p[2] = {entry, tenant};
    PGresult *r = ar_db_exec(c, "suggestions_list", 1, p, err);
    if (!r) return -1;
    json_t *rows = json_array();
    for (int i = 0; i < PQntuples(r); i++) json_array_append_new(rows, suggestion_row(r, i));
    PQclear(r);
    r = ar_db_exec(c, "suggestions_pending_job", 2, p, err);
    if (!r) {
        json_decref(rows);
        return -1;
    }
    json_t *job = PQntuples(r) ? json_pack("{s:I,s:s,s:i}", "id", (json_int_t)atoll(PQgetvalue(r, 0, 0)), "status",
                                           PQgetvalue(r, 0, 1), "progress", atoi(PQgetvalue(r, 0, 2)))
                               : json_null();
    PQclear(r);
    a->out = json_pack("{s:I,s:o,s:o}", "entry_id", (json_int_t)a->entry_id, "suggestions", rows, "pending_job", job);
    return 0;
}

json_t *ar_suggestions_list(const ar_ctx *ctx, long long entry_id, ar_error *err)
{
    json_t *entry = ar_worklog_get(ctx, entry_id, 0, err); /* 404 for entries the caller cannot see */
    if (!entry) return NULL;
    json_decref(entry);
    list_args a = {ctx, entry_id, NULL};
    if (ar_ctx_tx(ctx, list_tx, &a, err) != 0) return NULL;
    return a.out;
}

typedef struct decide_args {
    const ar_ctx *ctx;
    long long id;
    int accept;
    json_t *out;
} decide_args;

static int decide_tx(PGconn *c, void *arg, ar_error *err)
{
    decide_args *a = arg;
    char id[24];
    snprintf(id, sizeof id, "%lld", a->id);
    const char *p[1] = {id};
    PGresult *r = ar_db_exec(c, "suggestions_lock", 1, p, err);
    if (!r) return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such suggestion."), -1;
    }
    json_t *row = suggestion_row(r, 0);
    long long entry_id = atoll(PQgetvalue(r, 0, 8));
    long long author = PQgetisnull(r, 0, 9) ? 0 : atoll(PQgetvalue(r, 0, 9));
    char occurred_on[16];
    snprintf(occurred_on, sizeof occurred_on, "%s", PQgetvalue(r, 0, 10));
    PQclear(r);
    a->out = row;
    if (!may_edit(a->ctx, author))
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Only the entry's author (or a workspace admin) can decide its suggestions."), -1;
    if (strcmp(json_string_value(json_object_get(row, "status")), "suggested") != 0)
        return ar_error_set(err, AR_ERR_CONFLICT, "This suggestion was already %s.",
                            json_string_value(json_object_get(row, "status"))), -1;
    const char *field = json_string_value(json_object_get(row, "field"));
    json_t *value = json_object_get(row, "value");
    char entry[24];
    snprintf(entry, sizeof entry, "%lld", entry_id);
    if (a->accept) {
        if (strcmp(field, "title") == 0 || strcmp(field, "impact_score") == 0) {
            json_t *body = strcmp(field, "title") == 0
                               ? json_pack("{s:O}", "title", json_object_get(value, "text"))
                               : json_pack("{s:O,s:s}", "impact_score", json_object_get(value, "score"), "impact_score_source", "ai");
            json_t *updated = ar_worklog_update(a->ctx, entry_id, body, 1, err); /* runs inside this transaction */
            json_decref(body);
            if (!updated) return -1;
            json_decref(updated);
        } else if (strcmp(field, "summary") == 0) {
            const char *sp[2] = {entry, json_string_value(json_object_get(value, "text"))};
            r = ar_db_exec(c, "suggestions_set_summary", 2, sp, err);
            if (!r) return -1;
            PQclear(r);
        } else if (strcmp(field, "bullet") == 0) {
            const char *bp[2] = {entry, json_string_value(json_object_get(value, "text"))};
            r = ar_db_exec(c, "suggestions_add_bullet", 2, bp, err);
            if (!r) return -1;
            PQclear(r); /* already there, or 10 bullets: nothing more to add */
        } else if (strcmp(field, "skill") == 0) {
            ar_skill_evidence_in ev = {json_string_value(json_object_get(value, "name")),
                                       json_string_value(json_object_get(value, "kind")),
                                       json_number_value(json_object_get(value, "confidence")), entry_id, occurred_on,
                                       json_string_value(json_object_get(value, "excerpt")), "enhancement"};
            /* the skill belongs to the entry's author */
            ar_ctx owner = *a->ctx;
            if (author) owner.user_id = author;
            if (ar_skills_add_evidence_in_tx(c, &owner, &ev, NULL, err) != 0) return -1;
        }
    }
    char user[24];
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    const char *dp[3] = {id, a->accept ? "accepted" : "rejected", user};
    r = ar_db_exec(c, "suggestions_decide", 3, dp, err);
    if (!r) return -1;
    json_object_set_new(row, "status", json_string(a->accept ? "accepted" : "rejected"));
    json_object_set_new(row, "entry_id", json_integer(entry_id));
    json_object_set_new(row, "decided_at", json_string(PQgetvalue(r, 0, 0)));
    PQclear(r);
    json_t *details = json_pack("{s:s,s:I}", "field", field, "entry_id", (json_int_t)entry_id);
    ar_audit_event ev = {.action = a->accept ? "suggestion.accepted" : "suggestion.rejected",
                         .target_type = "suggestion", .target_id = id, .success = 1, .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

json_t *ar_suggestion_decide(const ar_ctx *ctx, long long suggestion_id, int accept, ar_error *err)
{
    decide_args a = {ctx, suggestion_id, accept, NULL};
    if (ar_ctx_tx(ctx, decide_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

/* skills.c — skills and their evidence (see skills.h). */
#include "afterresume/domain/skills.h"
#include "afterresume/ai/skills.h"
#include "afterresume/core/utf8.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/ai_jobs.h"
#include "afterresume/domain/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ar_db_stmt statements[] = {
    /* A merged skill redirects to its target; otherwise the skill itself (created when new). */
    {"skills_upsert",
     "WITH existing AS (SELECT coalesce(merged_into, id) AS id FROM skills "
     "                  WHERE tenant_id = $1 AND user_id = $2 AND name = $3), "
     "ins AS (INSERT INTO skills (tenant_id, user_id, name, display_name, kind, first_seen, last_seen) "
     "        SELECT $1, $2, $3, $4, $5, $6::date, $6::date WHERE NOT EXISTS (SELECT 1 FROM existing) "
     "        ON CONFLICT (tenant_id, user_id, name) DO NOTHING RETURNING id) "
     "SELECT id FROM existing UNION ALL SELECT id FROM ins"},
    {"skills_evidence_upsert",
     "INSERT INTO skill_evidence (tenant_id, skill_id, entry_id, excerpt, source, confidence) "
     "VALUES ($1, $2, $3, $4, $5, $6::real) ON CONFLICT (skill_id, entry_id) DO UPDATE SET "
     "excerpt = CASE WHEN EXCLUDED.excerpt <> '' THEN EXCLUDED.excerpt ELSE skill_evidence.excerpt END, "
     "confidence = greatest(skill_evidence.confidence, EXCLUDED.confidence)"},
    {"skills_refresh",
     "UPDATE skills s SET level = CASE WHEN st.n >= 5 THEN 'strong' WHEN st.n >= 2 THEN 'practiced' ELSE 'emerging' END, "
     "confidence = least(0.95, greatest(st.best, 0.4 + 0.1 * st.n))::real, "
     "first_seen = st.first_seen, last_seen = st.last_seen, updated_at = now() "
     "FROM (SELECT count(*) AS n, max(ev.confidence) AS best, min(e.occurred_on) AS first_seen, "
     "             max(e.occurred_on) AS last_seen "
     "      FROM skill_evidence ev JOIN worklog_entries e ON e.id = ev.entry_id WHERE ev.skill_id = $1) st "
     "WHERE s.id = $1"},
};

#define SKILL_COLS                                                                                                 \
    "s.id, s.name, s.display_name, s.kind, s.level, s.confidence, coalesce(s.first_seen::text, ''), "              \
    "coalesce(s.last_seen::text, ''), s.hidden, s.confirmed, "                                                       \
    "(SELECT count(*) FROM skill_evidence ev WHERE ev.skill_id = s.id), "                                              \
    "(SELECT coalesce(array_agg(coalesce(m.n, 0) ORDER BY g.month), '{}')::text "                                     \
    "   FROM generate_series(date_trunc('month', now()) - interval '11 months', date_trunc('month', now()), "         \
    "                        interval '1 month') AS g(month) "                                                          \
    "   LEFT JOIN (SELECT date_trunc('month', e.occurred_on) AS month, count(*) AS n FROM skill_evidence ev "           \
    "              JOIN worklog_entries e ON e.id = ev.entry_id WHERE ev.skill_id = s.id GROUP BY 1) m "               \
    "   ON m.month = g.month)"

static const ar_db_stmt read_statements[] = {
    {"skills_list",
     "SELECT " SKILL_COLS " FROM skills s WHERE s.merged_into IS NULL AND ($1::boolean OR NOT s.hidden) "
     "ORDER BY 11 DESC, s.display_name LIMIT 1000"},
    {"skills_get", "SELECT " SKILL_COLS " FROM skills s WHERE s.id = $1 AND s.merged_into IS NULL"},
    {"skills_evidence",
     "SELECT ev.entry_id, e.occurred_on::text, e.title, ev.excerpt, ev.source, ev.confidence "
     "FROM skill_evidence ev JOIN worklog_entries e ON e.id = ev.entry_id AND e.deleted_at IS NULL "
     "WHERE ev.skill_id = $1 ORDER BY e.occurred_on DESC, e.id DESC LIMIT 500"},
    {"skills_update",
     "UPDATE skills SET display_name = coalesce($2, display_name), hidden = coalesce($3::boolean, hidden), "
     "confirmed = coalesce($4::boolean, confirmed), updated_at = now() WHERE id = $1 AND merged_into IS NULL "
     "RETURNING id"},
    {"skills_merge_move",
     "INSERT INTO skill_evidence (tenant_id, skill_id, entry_id, excerpt, source, confidence) "
     "SELECT tenant_id, $1, entry_id, excerpt, source, confidence FROM skill_evidence WHERE skill_id = $2 "
     "ON CONFLICT (skill_id, entry_id) DO NOTHING"},
    {"skills_merge_source",
     "WITH gone AS (DELETE FROM skill_evidence WHERE skill_id = $2) "
     "UPDATE skills SET merged_into = $1, hidden = true, updated_at = now() "
     "WHERE id = $2 AND id <> $1 AND merged_into IS NULL RETURNING id"},
    {"skills_merge_redirects", "UPDATE skills SET merged_into = $1 WHERE merged_into = $2"},
};

void ar_skills_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
    ar_db_register(read_statements, sizeof read_statements / sizeof read_statements[0]);
}

static const char *valid_kind(const char *kind, const char *fallback)
{
    static const char *const kinds[] = {"skill", "technology", "tool", "method", "domain"};
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i]) == 0) return kinds[i];
    return fallback;
}

/* The first max characters of s (UTF-8), as a heap string. */
static char *cut_chars(const char *s, size_t max)
{
    size_t bytes = 0, chars = 0, len = strlen(s);
    while (bytes < len && chars < max) {
        bytes++;
        while (bytes < len && ((unsigned char)s[bytes] & 0xC0) == 0x80) bytes++;
        chars++;
    }
    char *out = malloc(bytes + 1);
    if (!out) abort();
    memcpy(out, s, bytes);
    out[bytes] = '\0';
    return out;
}

int ar_skills_add_evidence_in_tx(PGconn *c, const ar_ctx *ctx, const ar_skill_evidence_in *ev, long long *skill_id,
                                 ar_error *err)
{
    char name[AR_SKILL_NAME_MAX + 1];
    if (!ev->name || ar_skill_normalise(ev->name, name, sizeof name) != 0)
        return ar_error_set(err, AR_ERR_VALIDATION, "A skill needs a name."), -1;
    const ar_skill_def *known = ar_skill_lookup(ev->name);
    char display[AR_SKILL_NAME_MAX + 1];
    if (known) snprintf(display, sizeof display, "%s", known->name);
    else {
        char *cut = cut_chars(ev->name, AR_SKILL_NAME_MAX);
        /* trimmed, as given (case kept) */
        char *p = cut;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n')) p[--n] = '\0';
        snprintf(display, sizeof display, "%s", *p ? p : name);
        free(cut);
    }
    const char *kind = valid_kind(ev->kind, known ? known->kind : "skill");
    char tenant[24], user[24], entry[24], conf[32], id[24];
    snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", ctx->user_id);
    snprintf(entry, sizeof entry, "%lld", ev->entry_id);
    double confidence = ev->confidence < 0 ? 0 : ev->confidence > 1 ? 1 : ev->confidence;
    snprintf(conf, sizeof conf, "%.3f", confidence);
    const char *p1[6] = {tenant, user, name, display, kind, ev->occurred_on};
    PGresult *r = ar_db_exec(c, "skills_upsert", 6, p1, err);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_CONFLICT, "The skill changed at the same time; try again."), -1;
    }
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    char *excerpt = cut_chars(ev->excerpt && ar_utf8_valid(ev->excerpt, strlen(ev->excerpt)) ? ev->excerpt : "", 500);
    const char *source = ev->source ? ev->source : "local";
    const char *p2[6] = {tenant, id, entry, excerpt, source, conf};
    r = ar_db_exec(c, "skills_evidence_upsert", 6, p2, err);
    free(excerpt);
    if (!r) return -1;
    PQclear(r);
    const char *p3[1] = {id};
    r = ar_db_exec(c, "skills_refresh", 1, p3, err);
    if (!r) return -1;
    PQclear(r);
    if (skill_id) *skill_id = atoll(id);
    return 0;
}

/* ---- reading and curating ------------------------------------------------------------------------------ */

static json_t *skill_row(const PGresult *r, int i)
{
    json_t *months = json_array();
    for (const char *p = PQgetvalue(r, i, 11); *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end != p) {
            json_array_append_new(months, json_integer(v));
            p = end;
        } else {
            p++;
        }
    }
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:f,s:s,s:s,s:b,s:b,s:I,s:o}", "id", (json_int_t)atoll(PQgetvalue(r, i, 0)),
                     "name", PQgetvalue(r, i, 1), "display_name", PQgetvalue(r, i, 2), "kind", PQgetvalue(r, i, 3),
                     "level", PQgetvalue(r, i, 4), "confidence", atof(PQgetvalue(r, i, 5)), "first_seen",
                     PQgetvalue(r, i, 6), "last_seen", PQgetvalue(r, i, 7), "hidden", PQgetvalue(r, i, 8)[0] == 't',
                     "confirmed", PQgetvalue(r, i, 9)[0] == 't', "evidence_count",
                     (json_int_t)atoll(PQgetvalue(r, i, 10)), "months", months);
}

typedef struct read_args {
    long long id;
    int include_hidden;
    json_t *out;
} read_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    const char *p[1] = {a->include_hidden ? "true" : "false"};
    PGresult *r = ar_db_exec(c, "skills_list", 1, p, err);
    if (!r) return -1;
    a->out = json_array();
    for (int i = 0; i < PQntuples(r); i++) json_array_append_new(a->out, skill_row(r, i));
    PQclear(r);
    return 0;
}

json_t *ar_skills_list(const ar_ctx *ctx, int include_hidden, ar_error *err)
{
    read_args a = {0, include_hidden, NULL};
    if (ar_ctx_tx(ctx, list_tx, &a, err) != 0) return NULL;
    return a.out;
}

static int get_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char id[24];
    snprintf(id, sizeof id, "%lld", a->id);
    const char *p[1] = {id};
    PGresult *r = ar_db_exec(c, "skills_get", 1, p, err);
    if (!r) return -1;
    if (PQntuples(r) == 1) a->out = skill_row(r, 0);
    PQclear(r);
    if (!a->out) return 0;
    r = ar_db_exec(c, "skills_evidence", 1, p, err);
    if (!r) return -1;
    json_t *ev = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(ev, json_pack("{s:I,s:s,s:s,s:s,s:s,s:f}", "entry_id", (json_int_t)atoll(PQgetvalue(r, i, 0)),
                                            "occurred_on", PQgetvalue(r, i, 1), "title", PQgetvalue(r, i, 2), "excerpt",
                                            PQgetvalue(r, i, 3), "source", PQgetvalue(r, i, 4), "confidence",
                                            atof(PQgetvalue(r, i, 5))));
    PQclear(r);
    json_object_set_new(a->out, "evidence", ev);
    return 0;
}

json_t *ar_skill_get(const ar_ctx *ctx, long long id, ar_error *err)
{
    read_args a = {id, 0, NULL};
    if (id <= 0 || ar_ctx_tx(ctx, get_tx, &a, err) != 0) {
        if (id <= 0) ar_error_set(err, AR_ERR_NOT_FOUND, "No such skill.");
        return NULL;
    }
    if (!a.out) ar_error_set(err, AR_ERR_NOT_FOUND, "No such skill.");
    return a.out;
}

typedef struct update_args {
    const ar_ctx *ctx;
    long long id;
    const char *display_name, *hidden, *confirmed;
    char name[AR_SKILL_NAME_MAX + 1];
    int found;
} update_args;

static int update_tx(PGconn *c, void *arg, ar_error *err)
{
    update_args *a = arg;
    char id[24];
    snprintf(id, sizeof id, "%lld", a->id);
    const char *p[4] = {id, a->display_name, a->hidden, a->confirmed};
    PGresult *r = ar_db_exec(c, "skills_update", 4, p, err);
    if (!r) return -1;
    a->found = PQntuples(r) == 1;
    PQclear(r);
    if (!a->found) return 0;
    ar_audit_event ev = {.action = "skill.updated", .target_type = "skill", .target_id = id, .success = 1};
    return ar_audit_write(c, a->ctx, &ev, err);
}

json_t *ar_skill_update(const ar_ctx *ctx, long long id, const json_t *body, ar_error *err)
{
    if (!json_is_object(body)) return ar_error_set(err, AR_ERR_VALIDATION, "Send a JSON object."), NULL;
    update_args a = {ctx, id, NULL, NULL, NULL, "", 0};
    json_t *v = json_object_get(body, "display_name");
    if (v) {
        a.display_name = json_string_value(v);
        size_t len = a.display_name ? strlen(a.display_name) : 0;
        if (!a.display_name || len == 0 || len > 480 || !ar_utf8_valid(a.display_name, len) ||
            ar_skill_normalise(a.display_name, a.name, sizeof a.name) != 0)
            ar_error_field(err, "display_name", "Use 1 to 120 characters.");
    }
    v = json_object_get(body, "hidden");
    if (v) {
        if (!json_is_boolean(v)) ar_error_field(err, "hidden", "Send true or false.");
        else a.hidden = json_is_true(v) ? "true" : "false";
    }
    v = json_object_get(body, "confirmed");
    if (v) {
        if (!json_is_boolean(v)) ar_error_field(err, "confirmed", "Send true or false.");
        else a.confirmed = json_is_true(v) ? "true" : "false";
    }
    if (err->fields) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        return NULL;
    }
    if (a.display_name) {
        /* renaming onto another of the user's skills is a merge, not a rename */
        json_t *list = ar_skills_list(ctx, 1, err);
        if (!list) return NULL;
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s) {
            if (json_integer_value(json_object_get(s, "id")) != id &&
                strcmp(json_string_value(json_object_get(s, "name")), a.name) == 0) {
                json_decref(list);
                return ar_error_set(err, AR_ERR_CONFLICT, "You already have a skill called that: merge the two instead."), NULL;
            }
        }
        json_decref(list);
    }
    if (ar_ctx_tx(ctx, update_tx, &a, err) != 0) return NULL;
    if (!a.found) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such skill."), NULL;
    return ar_skill_get(ctx, id, err);
}

typedef struct merge_args {
    const ar_ctx *ctx;
    long long target;
    const long long *sources;
    size_t n;
    int missing;
} merge_args;

static int merge_tx(PGconn *c, void *arg, ar_error *err)
{
    merge_args *a = arg;
    char target[24];
    snprintf(target, sizeof target, "%lld", a->target);
    const char *tp[1] = {target};
    PGresult *r = ar_db_exec(c, "skills_get", 1, tp, err);
    if (!r) return -1;
    int ok = PQntuples(r) == 1;
    PQclear(r);
    if (!ok) {
        a->missing = 1;
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such skill."), -1;
    }
    json_t *merged = json_array();
    for (size_t i = 0; i < a->n; i++) {
        char source[24];
        snprintf(source, sizeof source, "%lld", a->sources[i]);
        const char *p[2] = {target, source};
        r = ar_db_exec(c, "skills_get", 1, p + 1, err);
        if (!r) goto fail;
        ok = PQntuples(r) == 1;
        PQclear(r);
        if (!ok || a->sources[i] == a->target) {
            ar_error_field(err, "source_ids", "Pick other skills of yours to merge into this one.");
            ar_error_set(err, AR_ERR_VALIDATION, NULL);
            goto fail;
        }
        if (!(r = ar_db_exec(c, "skills_merge_move", 2, p, err))) goto fail;
        PQclear(r);
        if (!(r = ar_db_exec(c, "skills_merge_source", 2, p, err))) goto fail;
        PQclear(r);
        if (!(r = ar_db_exec(c, "skills_merge_redirects", 2, p, err))) goto fail;
        PQclear(r);
        json_array_append_new(merged, json_integer(a->sources[i]));
    }
    r = ar_db_exec(c, "skills_refresh", 1, tp, err);
    if (!r) goto fail;
    PQclear(r);
    json_t *details = json_pack("{s:o}", "merged", merged);
    ar_audit_event ev = {.action = "skill.merged", .target_type = "skill", .target_id = target, .success = 1,
                         .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
fail:
    json_decref(merged);
    return -1;
}

json_t *ar_skills_merge(const ar_ctx *ctx, long long target_id, const long long *source_ids, size_t n, ar_error *err)
{
    if (n == 0 || n > 50) {
        ar_error_field(err, "source_ids", "Pick 1 to 50 skills to merge.");
        return ar_error_set(err, AR_ERR_VALIDATION, NULL), NULL;
    }
    merge_args a = {ctx, target_id, source_ids, n, 0};
    if (ar_ctx_tx(ctx, merge_tx, &a, err) != 0) return NULL;
    return ar_skill_get(ctx, target_id, err);
}

int ar_skills_recompute_start(const ar_ctx *ctx, int window_days, long long *job_id, ar_error *err)
{
    if (window_days < 0 || window_days > 3650) {
        ar_error_field(err, "window_days", "Use 1 to 3650 days.");
        return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;
    }
    if (ctx->role < AR_ROLE_MEMBER) return ar_error_set(err, AR_ERR_FORBIDDEN, "Read-only members cannot recompute skills."), -1;
    json_t *payload = json_pack("{s:i}", "window_days", window_days ? window_days : 90);
    int rc = ar_ai_job_start(ctx, "skills.extract", payload, job_id, err);
    json_decref(payload);
    return rc;
}

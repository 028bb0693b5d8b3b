/* job_report_generate.c — the `report.generate` job: select entries → group (by project; reviews also get a
 * skills section) → draft each section with the tenant's AI provider → attach citations (validated against the
 * selected set) → render and store. Every step is an event on the job's timeline with progress; the AI hold is
 * settled on every exit (ar_ai_job_settle). */
#include "afterresume/ai/citations.h"
#include "afterresume/ai/runtime.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/ai_jobs.h"
#include "afterresume/domain/reports.h"
#include "afterresume/domain/worklog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES 500
#define MAX_SECTIONS 8

static const ar_db_stmt statements[] = {
    {"report_job_entries",
     "SELECT coalesce(json_agg(x ORDER BY x.occurred_on, x.id), '[]')::text FROM ("
     " SELECT e.id, e.occurred_on::text AS occurred_on, e.title, e.content, e.outcome, e.impact, e.next_steps, "
     "        e.work_type, e.tags, e.impact_score, e.effort_minutes, e.summary, e.bullets, "
     "        coalesce(p.name::text, '') AS project_name, coalesce(c.name::text, '') AS client_name "
     " FROM worklog_entries e LEFT JOIN projects p ON p.id = e.project_id LEFT JOIN clients c ON c.id = e.client_id "
     " WHERE e.deleted_at IS NULL AND e.author_id = $1 AND e.occurred_on BETWEEN $2::date AND $3::date "
     "   AND ($4::bigint = 0 OR e.project_id = $4) AND ($5::text = '' OR $5 = ANY (e.tags)) "
     " ORDER BY e.occurred_on DESC, e.id DESC LIMIT " "500" ") x"},
    {"report_job_done",
     "UPDATE reports SET status = 'ready', sections = $2::jsonb, source_entry_ids = $3::bigint[], provider = $4, "
     "model = $5, error = NULL, updated_at = now() WHERE id = $1"},
    {"report_job_failed", "UPDATE reports SET status = 'failed', error = $2, updated_at = now() WHERE id = $1"},
};

static void prepare(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

typedef struct select_args {
    const ar_ctx *ctx;
    const char *start, *end, *tag;
    long long project;
    json_t *entries;
} select_args;

static int select_tx(PGconn *c, void *arg, ar_error *err)
{
    select_args *a = arg;
    char user[24], project[24];
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    snprintf(project, sizeof project, "%lld", a->project);
    const char *p[5] = {user, a->start, a->end, project, a->tag ? a->tag : ""};
    PGresult *r = ar_db_exec(c, "report_job_entries", 5, p, err);
    if (!r) return -1;
    a->entries = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return a->entries ? 0 : (ar_error_set(err, AR_ERR_INTERNAL, NULL), -1);
}

typedef struct store_args {
    const char *stmt;
    int nparams;
    const char *params[5];
} store_args;

static int store_tx(PGconn *c, void *arg, ar_error *err)
{
    store_args *a = arg;
    PGresult *r = ar_db_exec(c, a->stmt, a->nparams, a->params, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

static void mark_failed(ar_job_ctx *jc, long long report_id, const char *message)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", report_id);
    store_args s = {"report_job_failed", 2, {id, message}};
    ar_error ignore = {0};
    ar_ctx_tx(jc->ctx, store_tx, &s, &ignore);
    ar_error_clear(&ignore);
}

/* Groups of entries by project (largest first; beyond MAX_SECTIONS - 1 groups the rest is "Other work"). */
static json_t *group_by_project(json_t *entries)
{
    json_t *groups = json_object(), *order = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        const char *project = json_string_value(json_object_get(e, "project_name"));
        const char *key = project && *project ? project : "";
        json_t *list = json_object_get(groups, key);
        if (!list) {
            list = json_array();
            json_object_set_new(groups, key, list);
            json_array_append_new(order, json_string(key));
        }
        json_array_append(list, e);
    }
    /* sort group names by size (desc), keeping first-seen order among equals */
    size_t n = json_array_size(order);
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0; b--) {
            size_t sa = json_array_size(json_object_get(groups, json_string_value(json_array_get(order, b)))),
                   sb = json_array_size(json_object_get(groups, json_string_value(json_array_get(order, b - 1))));
            if (sa <= sb) break;
            json_t *tmp = json_incref(json_array_get(order, b));
            json_array_set(order, b, json_array_get(order, b - 1));
            json_array_set_new(order, b - 1, tmp);
        }
    json_t *out = json_array();
    json_t *other = NULL;
    json_array_foreach(order, i, e) {
        const char *key = json_string_value(e);
        json_t *list = json_object_get(groups, key);
        if (!*key || json_array_size(out) >= MAX_SECTIONS - 1) {
            if (!other) other = json_array();
            json_array_extend(other, list);
            continue;
        }
        json_array_append_new(out, json_pack("{s:s,s:O}", "title", key, "entries", list));
    }
    if (other) json_array_append_new(out, json_pack("{s:s,s:o}", "title", json_array_size(out) ? "Other work" : "Highlights", "entries", other));
    if (json_array_size(out) == 1 && json_array_size(order) == 1 && *json_string_value(json_array_get(order, 0)))
        json_object_set_new(json_array_get(out, 0), "title",
                            json_sprintf("Highlights: %s", json_string_value(json_array_get(order, 0))));
    json_decref(order);
    json_decref(groups);
    return out;
}

/* Reviews: the skills the entries show, each citing the entries (local taxonomy matcher: no model call). */
static json_t *skills_section(json_t *entries)
{
    json_t *found = ar_ai_local_skills(entries);
    json_t *items = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(found, "skills"), i, s) {
        if (json_array_size(items) >= 12) break;
        json_t *ev = json_object_get(s, "evidence");
        json_t *cites = json_array();
        size_t k;
        json_t *one;
        json_array_foreach(ev, k, one) json_array_append(cites, json_object_get(one, "entry_id"));
        char *text = ar_asprintf("%s: shown in %zu entr%s", json_string_value(json_object_get(s, "name")),
                                 json_array_size(ev), json_array_size(ev) == 1 ? "y" : "ies");
        json_array_append_new(items, json_pack("{s:s,s:o}", "text", text, "citations", cites));
        ar_free(text);
    }
    json_decref(found);
    return items;
}

static int run(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    long long report_id = (long long)json_integer_value(json_object_get(payload, "report_id"));
    ar_ai_calls calls = {0};
    json_t *report = report_id > 0 ? ar_report_get(jc->ctx, report_id, err) : NULL;
    if (!report) {
        if (report_id <= 0) ar_error_set(err, AR_ERR_VALIDATION, "report.generate: payload needs a report_id");
        ar_ai_job_settle(jc, &calls, AR_AI_SETTLE_FINAL_FAILURE, &(ar_error){0});
        return -1;
    }
    const char *kind = json_string_value(json_object_get(report, "kind"));
    json_t *filters = json_object_get(report, "filters");
    char tag[64] = "";
    const char *raw_tag = json_string_value(json_object_get(filters, "tag"));
    if (raw_tag && ar_tag_normalise_one(raw_tag, strlen(raw_tag), tag, sizeof tag) != 0) tag[0] = '\0';

    ar_job_progress(jc, 5, "Selecting entries");
    select_args sel = {jc->ctx, json_string_value(json_object_get(report, "period_start")),
                       json_string_value(json_object_get(report, "period_end")), tag,
                       (long long)json_integer_value(json_object_get(filters, "project")), NULL};
    if (ar_ctx_tx(jc->ctx, select_tx, &sel, err) != 0) goto failed;
    size_t n = json_array_size(sel.entries);
    ar_job_event(jc, "info", "select entries", json_pack("{s:I,s:s,s:s}", "count", (json_int_t)n, "from", sel.start, "to", sel.end));
    if (n == 0) {
        ar_error_set(err, AR_ERR_VALIDATION,
                     "There are no worklog entries of yours from %s to %s%s. Log some work first, or choose a wider period.",
                     sel.start, sel.end, tag[0] || sel.project ? " with the chosen filters" : "");
        goto final_failure;
    }
    long long *allowed = ar_malloc(n * sizeof *allowed);
    for (size_t i = 0; i < n; i++) allowed[i] = (long long)json_integer_value(json_object_get(json_array_get(sel.entries, i), "id"));

    const char *why = NULL;
    const ar_ai *ai = ar_ai_for_tenant(jc->ctx, &why, err);
    if (!ai) {
        ar_free(allowed);
        goto failed;
    }
    json_t *groups;
    if (strcmp(kind, "resume") == 0 || strcmp(kind, "custom") == 0) {
        groups = json_pack("[{s:s,s:O}]", "title", strcmp(kind, "resume") == 0 ? "Résumé bullets" : "Report", "entries", sel.entries);
    } else {
        groups = group_by_project(sel.entries);
    }
    ar_job_event(jc, "info", "group", json_pack("{s:I,s:s,s:s}", "sections", (json_int_t)json_array_size(groups), "provider",
                                                ar_ai_provider(ai), "model", ar_ai_model(ai)));
    if (ar_job_progress(jc, 15, "Grouped entries")) {
        json_decref(groups);
        ar_free(allowed);
        ar_error_set(err, AR_ERR_UNAVAILABLE, "cancelled");
        goto final_failure;
    }

    json_t *sections = json_array();
    size_t dropped_total = 0, ngroups = json_array_size(groups);
    for (size_t g = 0; g < ngroups; g++) {
        json_t *group = json_array_get(groups, g);
        const char *title = json_string_value(json_object_get(group, "title"));
        char msg[160];
        snprintf(msg, sizeof msg, "Drafting \"%.100s\" (%zu of %zu)", title, g + 1, ngroups);
        if (ar_job_progress(jc, 15 + (int)(65 * g / (ngroups ? ngroups : 1)), msg)) {
            json_decref(sections);
            json_decref(groups);
            ar_free(allowed);
            ar_error_set(err, AR_ERR_UNAVAILABLE, "cancelled");
            goto final_failure;
        }
        json_t *draft = NULL;
        if (ar_ai_draft_section(ai, kind, title, json_object_get(group, "entries"),
                                json_string_value(json_object_get(report, "custom_prompt")), &draft, &calls, err) != 0) {
            json_decref(sections);
            json_decref(groups);
            ar_free(allowed);
            goto failed;
        }
        ar_job_event(jc, "info", "draft section", json_pack("{s:s,s:I}", "section", title, "items",
                                                            (json_int_t)json_array_size(json_object_get(draft, "items"))));
        size_t dropped = 0;
        json_t *items = ar_ai_validate_citations(json_object_get(draft, "items"), allowed, n, &dropped);
        dropped_total += dropped;
        json_decref(draft);
        json_array_append_new(sections, json_pack("{s:s,s:o}", "title", title, "items", items));
    }
    json_decref(groups);
    if (strcmp(kind, "review") == 0) {
        json_t *skill_items = skills_section(sel.entries);
        size_t dropped = 0;
        json_t *items = ar_ai_validate_citations(skill_items, allowed, n, &dropped);
        json_decref(skill_items);
        if (json_array_size(items)) json_array_append_new(sections, json_pack("{s:s,s:o}", "title", "Skills demonstrated", "items", items));
        else json_decref(items);
    }
    ar_job_event(jc, "info", "attach citations", json_pack("{s:I,s:I}", "allowed_entries", (json_int_t)n, "dropped", (json_int_t)dropped_total));
    if (dropped_total) ar_job_event(jc, "warn", "citations outside the selected entries were dropped; those bullets are flagged", NULL);
    ar_job_progress(jc, 90, "Rendering");

    ar_buf ids = AR_BUF_INIT;
    ar_buf_putc(&ids, '{');
    for (size_t i = 0; i < n; i++) ar_buf_printf(&ids, "%s%lld", i ? "," : "", allowed[i]);
    ar_buf_putc(&ids, '}');
    ar_free(allowed);
    char *sections_text = json_dumps(sections, JSON_COMPACT);
    char rid[24];
    snprintf(rid, sizeof rid, "%lld", report_id);
    store_args st = {"report_job_done", 5, {rid, sections_text, ar_buf_cstr(&ids), ar_ai_provider(ai), ar_ai_model(ai)}};
    int rc = ar_ctx_tx(jc->ctx, store_tx, &st, err);
    free(sections_text);
    ar_buf_free(&ids);
    size_t nsections = json_array_size(sections);
    json_decref(sections);
    if (rc != 0) goto failed;
    ar_job_event(jc, "info", "render", json_pack("{s:I}", "sections", (json_int_t)nsections));
    ar_error settle_err = {0};
    if (ar_ai_job_settle(jc, &calls, 1, &settle_err) != 0) {
        ar_job_event(jc, "error", "could not post the job's cost", json_pack("{s:s}", "error", settle_err.message));
        ar_error_clear(&settle_err);
    }
    json_decref(sel.entries);
    json_decref(report);
    *result = json_pack("{s:I,s:I,s:I,s:s}", "report_id", (json_int_t)report_id, "entries", (json_int_t)n, "sections",
                        (json_int_t)nsections, "url", "");
    json_object_set_new(*result, "url", json_sprintf("/reports/%lld", report_id));
    ar_job_progress(jc, 100, "Report ready");
    return 0;

failed:
    if (jc->attempt < jc->max_attempts) {
        ar_ai_job_settle(jc, &calls, 0, &(ar_error){0});
        json_decref(sel.entries);
        json_decref(report);
        return -1;
    }
final_failure:
    mark_failed(jc, report_id, err->message[0] ? err->message : "The report could not be generated.");
    ar_ai_job_settle(jc, &calls, AR_AI_SETTLE_FINAL_FAILURE, &(ar_error){0});
    json_decref(sel.entries);
    json_decref(report);
    return -1;
}

const ar_job_type ar_job_report_generate = {"report.generate", run, 2, prepare};

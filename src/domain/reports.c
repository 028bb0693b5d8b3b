/* reports.c — reports (create + start, read, list, edit, delete, Markdown/HTML rendering) and their public
 * share links (see reports.h). The generation pipeline itself is src/jobs/job_report_generate.c. */
#include "afterresume/domain/reports.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/ai_jobs.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/sessions.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/render/escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define REPORT_COLS                                                                                                \
    "id, kind, title, status, period_start::text, period_end::text, filters::text, custom_prompt, sections::text, " \
    "source_entry_ids::text, markdown, provider, model, job_id, error, " TS("created_at") ", " TS("updated_at")

static const ar_db_stmt statements[] = {
    {"reports_insert",
     "INSERT INTO reports (tenant_id, user_id, kind, title, period_start, period_end, filters, custom_prompt) "
     "VALUES ($1, $2, $3, $4, $5::date, $6::date, $7::jsonb, $8) RETURNING id"},
    {"reports_set_job", "UPDATE reports SET job_id = $2 WHERE id = $1"},
    {"reports_get", "SELECT " REPORT_COLS " FROM reports WHERE id = $1"},
    {"reports_list",
     "SELECT " REPORT_COLS " FROM reports WHERE ($2::bigint = 0 OR id < $2) ORDER BY id DESC LIMIT $1"},
    {"reports_update",
     "UPDATE reports SET title = coalesce($2, title), "
     "markdown = CASE WHEN $3::boolean THEN $4 ELSE markdown END, updated_at = now() WHERE id = $1 RETURNING id"},
    {"reports_delete", "DELETE FROM reports WHERE id = $1 RETURNING id"},
    {"share_insert",
     "INSERT INTO share_links (tenant_id, report_id, token_hash, created_by, expires_at) "
     "SELECT r.tenant_id, r.id, $2::bytea, $3, CASE WHEN $4::int > 0 THEN now() + make_interval(days => $4::int) END "
     "FROM reports r WHERE r.id = $1 RETURNING id, " TS("expires_at") ", " TS("created_at")},
    {"share_list",
     "SELECT id, " TS("expires_at") ", " TS("revoked_at") ", view_count, " TS("last_viewed_at") ", " TS("created_at")
     ", (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) "
     "FROM share_links WHERE report_id = $1 ORDER BY id DESC"},
    {"share_revoke",
     "UPDATE share_links SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING report_id"},
    {"share_view",
     "UPDATE share_links SET view_count = view_count + 1, last_viewed_at = now() "
     "WHERE token_hash = $1::bytea AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) "
     "RETURNING report_id"},
};

void ar_reports_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

static const char *const kinds[] = {"weekly", "monthly", "quarterly", "review", "resume", "custom", NULL};

static json_t *nullable_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

/* "{1,2,3}" -> [1,2,3] */
static json_t *id_array(const char *pg)
{
    json_t *out = json_array();
    for (const char *p = pg; *p;) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end != p) {
            json_array_append_new(out, json_integer(v));
            p = end;
        } else {
            p++;
        }
    }
    return out;
}

static json_t *report_row(const PGresult *r, int i, int with_sections)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)atoll(PQgetvalue(r, i, 0)), "kind",
                          PQgetvalue(r, i, 1), "title", PQgetvalue(r, i, 2), "status", PQgetvalue(r, i, 3),
                          "period_start", PQgetvalue(r, i, 4), "period_end", PQgetvalue(r, i, 5));
    json_object_set_new(o, "filters", json_loads(PQgetvalue(r, i, 6), 0, NULL));
    json_object_set_new(o, "custom_prompt", json_string(PQgetvalue(r, i, 7)));
    if (with_sections) {
        json_t *sections = json_loads(PQgetvalue(r, i, 8), 0, NULL);
        json_object_set_new(o, "sections", sections ? sections : json_array());
        json_object_set_new(o, "markdown", nullable_text(r, i, 10));
    }
    json_t *ids = id_array(PQgetvalue(r, i, 9));
    json_object_set_new(o, "entry_count", json_integer((json_int_t)json_array_size(ids)));
    if (with_sections) json_object_set_new(o, "source_entry_ids", ids);
    else json_decref(ids);
    json_object_set_new(o, "edited", json_boolean(!PQgetisnull(r, i, 10)));
    json_object_set_new(o, "provider", json_string(PQgetvalue(r, i, 11)));
    json_object_set_new(o, "model", json_string(PQgetvalue(r, i, 12)));
    json_object_set_new(o, "job_id", PQgetisnull(r, i, 13) ? json_null() : json_integer(atoll(PQgetvalue(r, i, 13))));
    json_object_set_new(o, "error", nullable_text(r, i, 14));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(r, i, 15)));
    json_object_set_new(o, "updated_at", json_string(PQgetvalue(r, i, 16)));
    return o;
}

/* ---- generate --------------------------------------------------------------------------------------------- */

static int valid_date(const char *s, struct tm *out)
{
    if (!s || strlen(s) != 10) return 0;
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (!end || *end) return 0;
    struct tm check = tm;
    time_t t = timegm(&check);
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_year != tm.tm_year || back.tm_mon != tm.tm_mon || back.tm_mday != tm.tm_mday) return 0;
    if (out) *out = tm;
    return 1;
}

static const char *default_title(const char *kind)
{
    if (strcmp(kind, "weekly") == 0) return "Weekly report";
    if (strcmp(kind, "monthly") == 0) return "Monthly report";
    if (strcmp(kind, "quarterly") == 0) return "Quarterly report";
    if (strcmp(kind, "review") == 0) return "Performance review";
    if (strcmp(kind, "resume") == 0) return "Résumé bullets";
    return "Custom report";
}

typedef struct generate_args {
    const ar_ctx *ctx;
    const char *kind, *title, *start, *end, *custom;
    json_t *filters;
    long long report_id, job_id;
} generate_args;

static int generate_tx(PGconn *c, void *arg, ar_error *err)
{
    generate_args *a = arg;
    char tenant[24], user[24];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    char *filters = json_dumps(a->filters, JSON_COMPACT);
    const char *p[8] = {tenant, user, a->kind, a->title, a->start, a->end, filters, a->custom};
    PGresult *r = ar_db_exec(c, "reports_insert", 8, p, err);
    free(filters);
    if (!r) return -1;
    a->report_id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    json_t *payload = json_pack("{s:I}", "report_id", (json_int_t)a->report_id);
    int rc = ar_ai_job_start_in_tx(c, a->ctx, "report.generate", payload, &a->job_id, err);
    json_decref(payload);
    if (rc != 0) return -1;
    char rid[24], jid[24];
    snprintf(rid, sizeof rid, "%lld", a->report_id);
    snprintf(jid, sizeof jid, "%lld", a->job_id);
    const char *p2[2] = {rid, jid};
    r = ar_db_exec(c, "reports_set_job", 2, p2, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

json_t *ar_report_generate(const ar_ctx *ctx, const json_t *body, ar_error *err)
{
    if (ctx->tenant_id <= 0 || ctx->user_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), NULL;
    if (ctx->role < AR_ROLE_MEMBER)
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Read-only members cannot generate reports."), NULL;
    if (!json_is_object(body)) return ar_error_set(err, AR_ERR_VALIDATION, "Send a JSON object."), NULL;
    const char *kind = json_string_value(json_object_get(body, "kind"));
    int kind_ok = 0;
    for (int i = 0; kind && kinds[i]; i++) kind_ok |= strcmp(kind, kinds[i]) == 0;
    if (!kind_ok) ar_error_field(err, "kind", "Choose weekly, monthly, quarterly, review, resume or custom.");

    char start[11] = "", end[11] = "";
    json_t *window = json_object_get(body, "window_days");
    const char *ps = json_string_value(json_object_get(body, "period_start"));
    const char *pe = json_string_value(json_object_get(body, "period_end"));
    struct tm ts, te;
    if (ps || pe) {
        if (!valid_date(ps, &ts)) ar_error_field(err, "period_start", "Use a date like 2026-11-02.");
        if (!valid_date(pe, &te)) ar_error_field(err, "period_end", "Use a date like 2026-11-08.");
        if (valid_date(ps, NULL) && valid_date(pe, NULL)) {
            double days = difftime(timegm(&te), timegm(&ts)) / 86400.0;
            if (days < 0) ar_error_field(err, "period_end", "The end date must not be before the start date.");
            else if (days > 3 * 366) ar_error_field(err, "period_end", "A report covers at most three years.");
            snprintf(start, sizeof start, "%s", ps);
            snprintf(end, sizeof end, "%s", pe);
        }
    } else {
        json_int_t days = 7;
        if (window && (!json_is_integer(window) || json_integer_value(window) < 1 || json_integer_value(window) > 366))
            ar_error_field(err, "window_days", "Use a whole number of days from 1 to 366.");
        else if (window)
            days = json_integer_value(window);
        else if (kind && strcmp(kind, "monthly") == 0)
            days = 30;
        else if (kind && (strcmp(kind, "quarterly") == 0))
            days = 91;
        else if (kind && (strcmp(kind, "review") == 0 || strcmp(kind, "resume") == 0))
            days = 365;
        time_t now = time(NULL), from = now - (time_t)(days - 1) * 86400;
        struct tm a, b;
        gmtime_r(&from, &a);
        gmtime_r(&now, &b);
        strftime(start, sizeof start, "%Y-%m-%d", &a);
        strftime(end, sizeof end, "%Y-%m-%d", &b);
    }
    json_t *title_v = json_object_get(body, "title");
    const char *title = json_string_value(title_v);
    if (title_v && !json_is_null(title_v) && (!title || !*title || ar_utf8_chars(title, strlen(title)) > 200))
        ar_error_field(err, "title", "Use 1 to 200 characters.");
    const char *custom = json_string_value(json_object_get(body, "custom_prompt"));
    if (json_object_get(body, "custom_prompt") && !json_is_null(json_object_get(body, "custom_prompt")) && !custom)
        ar_error_field(err, "custom_prompt", "Must be text.");
    if (custom && ar_utf8_chars(custom, strlen(custom)) > 2000)
        ar_error_field(err, "custom_prompt", "Use at most 2,000 characters.");
    if (kind && strcmp(kind, "custom") == 0 && (!custom || !*custom))
        ar_error_field(err, "custom_prompt", "Say what the custom report should cover.");
    json_t *filters = json_object();
    json_t *project = json_object_get(body, "project");
    if (project && !json_is_null(project)) {
        if (!json_is_integer(project) || json_integer_value(project) < 1) ar_error_field(err, "project", "Must be a project id.");
        else json_object_set(filters, "project", project);
    }
    json_t *tag = json_object_get(body, "tag");
    if (tag && !json_is_null(tag)) {
        const char *t = json_string_value(tag);
        if (!t || !*t || ar_utf8_chars(t, strlen(t)) > 50) ar_error_field(err, "tag", "Use a tag of 1 to 50 characters.");
        else json_object_set(filters, "tag", tag);
    }
    if (err->fields) {
        json_decref(filters);
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        return NULL;
    }
    generate_args a = {ctx, kind, title && *title ? title : default_title(kind), start, end,
                       kind && strcmp(kind, "custom") == 0 ? custom : "", filters, 0, 0};
    int rc = ar_ctx_tx(ctx, generate_tx, &a, err);
    json_decref(filters);
    if (rc != 0) return NULL;
    ar_job_wake(a.job_id);
    return json_pack("{s:I,s:I}", "report_id", (json_int_t)a.report_id, "job_id", (json_int_t)a.job_id);
}

/* ---- read / list / update / delete -------------------------------------------------------------------- */

typedef struct get_args {
    long long id;
    json_t *out;
} get_args;

static int get_tx(PGconn *c, void *arg, ar_error *err)
{
    get_args *a = arg;
    char id[24];
    snprintf(id, sizeof id, "%lld", a->id);
    const char *p[1] = {id};
    PGresult *r = ar_db_exec(c, "reports_get", 1, p, err);
    if (!r) return -1;
    if (PQntuples(r) == 1) a->out = report_row(r, 0, 1);
    PQclear(r);
    return 0;
}

json_t *ar_report_get(const ar_ctx *ctx, long long id, ar_error *err)
{
    get_args a = {id, NULL};
    if (id <= 0 || ar_ctx_tx(ctx, get_tx, &a, err) != 0) {
        if (id <= 0) ar_error_set(err, AR_ERR_NOT_FOUND, "No such report.");
        return NULL;
    }
    if (!a.out) ar_error_set(err, AR_ERR_NOT_FOUND, "No such report.");
    return a.out;
}

typedef struct list_args {
    int limit;
    long long before;
    json_t *out;
} list_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    char limit[16], before[24];
    snprintf(limit, sizeof limit, "%d", a->limit + 1);
    snprintf(before, sizeof before, "%lld", a->before);
    const char *p[2] = {limit, before};
    PGresult *r = ar_db_exec(c, "reports_list", 2, p, err);
    if (!r) return -1;
    json_t *rows = json_array();
    int n = PQntuples(r);
    for (int i = 0; i < n && i < a->limit; i++) json_array_append_new(rows, report_row(r, i, 0));
    json_t *next = n > a->limit ? json_object_get(json_array_get(rows, (size_t)a->limit - 1), "id") : NULL;
    a->out = json_pack("{s:o,s:O}", "results", rows, "next_before_id", next ? next : json_null());
    PQclear(r);
    return 0;
}

json_t *ar_report_list(const ar_ctx *ctx, int limit, long long before_id, ar_error *err)
{
    list_args a = {limit < 1 || limit > 100 ? 20 : limit, before_id > 0 ? before_id : 0, NULL};
    if (ar_ctx_tx(ctx, list_tx, &a, err) != 0) return NULL;
    return a.out;
}

typedef struct update_args {
    const ar_ctx *ctx;
    long long id;
    const char *title;
    int set_markdown;
    const char *markdown;
    int found;
} update_args;

static int update_tx(PGconn *c, void *arg, ar_error *err)
{
    update_args *a = arg;
    char id[24];
    snprintf(id, sizeof id, "%lld", a->id);
    const char *p[4] = {id, a->title, a->set_markdown ? "true" : "false", a->markdown};
    PGresult *r = ar_db_exec(c, "reports_update", 4, p, err);
    if (!r) return -1;
    a->found = PQntuples(r) == 1;
    PQclear(r);
    if (!a->found) return 0;
    ar_audit_event ev = {.action = "report.edited", .target_type = "report", .target_id = id, .success = 1};
    return ar_audit_write(c, a->ctx, &ev, err);
}

json_t *ar_report_update(const ar_ctx *ctx, long long id, const json_t *body, ar_error *err)
{
    if (!json_is_object(body)) return ar_error_set(err, AR_ERR_VALIDATION, "Send a JSON object."), NULL;
    if (ctx->role < AR_ROLE_MEMBER) return ar_error_set(err, AR_ERR_FORBIDDEN, "Read-only members cannot edit reports."), NULL;
    update_args a = {ctx, id, NULL, 0, NULL, 0};
    json_t *t = json_object_get(body, "title");
    if (t) {
        a.title = json_string_value(t);
        if (!a.title || !*a.title || ar_utf8_chars(a.title, strlen(a.title)) > 200)
            ar_error_field(err, "title", "Use 1 to 200 characters.");
    }
    json_t *m = json_object_get(body, "markdown");
    if (m) {
        a.set_markdown = 1;
        if (json_is_null(m)) a.markdown = NULL;
        else if (!json_is_string(m)) ar_error_field(err, "markdown", "Must be text or null.");
        else if (ar_utf8_chars(json_string_value(m), json_string_length(m)) > 200000)
            ar_error_field(err, "markdown", "Use at most 200,000 characters.");
        else a.markdown = json_string_value(m);
    }
    if (err->fields) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        return NULL;
    }
    if (ar_ctx_tx(ctx, update_tx, &a, err) != 0) return NULL;
    if (!a.found) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such report."), NULL;
    return ar_report_get(ctx, id, err);
}

typedef struct delete_args {
    const ar_ctx *ctx;
    long long id;
    int found;
} delete_args;

static int delete_tx(PGconn *c, void *arg, ar_error *err)
{
    delete_args *a = arg;
    char id[24];
    snprintf(id, sizeof id, "%lld", a->id);
    const char *p[1] = {id};
    PGresult *r = ar_db_exec(c, "reports_delete", 1, p, err);
    if (!r) return -1;
    a->found = PQntuples(r) == 1;
    PQclear(r);
    if (!a->found) return 0;
    ar_audit_event ev = {.action = "report.deleted", .target_type = "report", .target_id = id, .success = 1};
    return ar_audit_write(c, a->ctx, &ev, err);
}

int ar_report_delete(const ar_ctx *ctx, long long id, ar_error *err)
{
    if (ctx->role < AR_ROLE_MEMBER) return ar_error_set(err, AR_ERR_FORBIDDEN, "Read-only members cannot delete reports."), -1;
    delete_args a = {ctx, id, 0};
    if (ar_ctx_tx(ctx, delete_tx, &a, err) != 0) return -1;
    if (!a.found) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such report."), -1;
    return 0;
}

/* ---- rendering ---------------------------------------------------------------------------------------- */

/* Markdown text with the characters that would start markup escaped (the bullet text is the model's). */
static void md_text(ar_buf *out, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\`*_[]<>#|", *s)) ar_buf_putc(out, '\\');
        ar_buf_putc(out, *s == '\n' ? ' ' : *s);
    }
}

int ar_report_render_markdown(const json_t *report, ar_buf *out)
{
    const char *edited = json_string_value(json_object_get(report, "markdown"));
    if (edited) {
        ar_buf_puts(out, edited);
        if (!*edited || edited[strlen(edited) - 1] != '\n') ar_buf_putc(out, '\n');
        return 0;
    }
    ar_buf_puts(out, "# ");
    md_text(out, json_string_value(json_object_get(report, "title")));
    ar_buf_printf(out, "\n\n*%s report, %s to %s*\n", json_string_value(json_object_get(report, "kind")),
                  json_string_value(json_object_get(report, "period_start")),
                  json_string_value(json_object_get(report, "period_end")));
    size_t i, k;
    json_t *section, *item;
    json_array_foreach(json_object_get(report, "sections"), i, section) {
        ar_buf_puts(out, "\n## ");
        md_text(out, json_string_value(json_object_get(section, "title")));
        ar_buf_puts(out, "\n\n");
        json_array_foreach(json_object_get(section, "items"), k, item) {
            ar_buf_puts(out, "- ");
            md_text(out, json_string_value(json_object_get(item, "text")));
            json_t *cites = json_object_get(item, "citations");
            if (json_array_size(cites) == 0) {
                ar_buf_puts(out, " *(not cited)*");
            } else {
                ar_buf_puts(out, " (");
                size_t j;
                json_t *c;
                json_array_foreach(cites, j, c) {
                    ar_buf_printf(out, "%s[#%lld](/worklog/%lld)", j ? ", " : "", (long long)json_integer_value(c),
                                  (long long)json_integer_value(c));
                }
                ar_buf_putc(out, ')');
            }
            ar_buf_putc(out, '\n');
        }
    }
    return 0;
}

static void html_text(ar_buf *out, const char *s)
{
    ar_html_escape(out, s ? s : "", s ? strlen(s) : 0);
}

int ar_report_render_html(const json_t *report, ar_buf *out)
{
    ar_buf_puts(out, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    html_text(out, json_string_value(json_object_get(report, "title")));
    ar_buf_puts(out, "</title>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
                     "color:#111}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}li{margin:.3rem 0}"
                     ".cite{color:#555;font-size:.85em}.uncited{color:#a15c00;font-size:.85em}"
                     "pre{white-space:pre-wrap}@media print{body{margin:0}a{color:inherit}}</style>\n</head><body>\n");
    const char *edited = json_string_value(json_object_get(report, "markdown"));
    if (edited) {
        /* The edited text is the author's Markdown: shown as text (escaped), never as raw HTML. */
        ar_buf_puts(out, "<pre>");
        html_text(out, edited);
        ar_buf_puts(out, "</pre>\n</body></html>\n");
        return 0;
    }
    ar_buf_puts(out, "<h1>");
    html_text(out, json_string_value(json_object_get(report, "title")));
    ar_buf_puts(out, "</h1>\n<p><em>");
    html_text(out, json_string_value(json_object_get(report, "kind")));
    ar_buf_puts(out, " report, ");
    html_text(out, json_string_value(json_object_get(report, "period_start")));
    ar_buf_puts(out, " to ");
    html_text(out, json_string_value(json_object_get(report, "period_end")));
    ar_buf_puts(out, "</em></p>\n");
    size_t i, k;
    json_t *section, *item;
    json_array_foreach(json_object_get(report, "sections"), i, section) {
        ar_buf_puts(out, "<h2>");
        html_text(out, json_string_value(json_object_get(section, "title")));
        ar_buf_puts(out, "</h2>\n<ul>\n");
        json_array_foreach(json_object_get(section, "items"), k, item) {
            ar_buf_puts(out, "<li>");
            html_text(out, json_string_value(json_object_get(item, "text")));
            json_t *cites = json_object_get(item, "citations");
            if (json_array_size(cites) == 0) {
                ar_buf_puts(out, " <span class=\"uncited\">(not cited)</span>");
            } else {
                ar_buf_puts(out, " <span class=\"cite\">(entries");
                size_t j;
                json_t *c;
                json_array_foreach(cites, j, c) ar_buf_printf(out, "%s #%lld", j ? "," : "", (long long)json_integer_value(c));
                ar_buf_puts(out, ")</span>");
            }
            ar_buf_puts(out, "</li>\n");
        }
        ar_buf_puts(out, "</ul>\n");
    }
    ar_buf_puts(out, "</body></html>\n");
    return 0;
}

/* ---- share links -------------------------------------------------------------------------------------- */

typedef struct share_args {
    const ar_ctx *ctx;
    long long report_id, link_id;
    int days;
    const char *hash;
    json_t *out;
} share_args;

static int share_create_tx(PGconn *c, void *arg, ar_error *err)
{
    share_args *a = arg;
    char rid[24], user[24], days[16];
    snprintf(rid, sizeof rid, "%lld", a->report_id);
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    snprintf(days, sizeof days, "%d", a->days);
    const char *p[4] = {rid, a->hash, user, days};
    PGresult *r = ar_db_exec(c, "share_insert", 4, p, err);
    if (!r) return -1;
    if (PQntuples(r) == 1) {
        a->link_id = atoll(PQgetvalue(r, 0, 0));
        a->out = json_pack("{s:I,s:o,s:s}", "id", (json_int_t)a->link_id, "expires_at",
                           PQgetisnull(r, 0, 1) ? json_null() : json_string(PQgetvalue(r, 0, 1)), "created_at",
                           PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    if (!a->out) return 0;
    char lid[24];
    snprintf(lid, sizeof lid, "%lld", a->link_id);
    json_t *details = json_pack("{s:I,s:i}", "report_id", (json_int_t)a->report_id, "expires_in_days", a->days);
    ar_audit_event ev = {.action = "share_link.created", .target_type = "share_link", .target_id = lid, .success = 1,
                         .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

json_t *ar_share_link_create(const ar_ctx *ctx, long long report_id, int expires_in_days, const char *public_url,
                             ar_error *err)
{
    if (ctx->role < AR_ROLE_MEMBER) return ar_error_set(err, AR_ERR_FORBIDDEN, "Read-only members cannot share reports."), NULL;
    if (expires_in_days < 0 || expires_in_days > 365) {
        ar_error_field(err, "expires_in_days", "Use 0 (never) or 1 to 365 days.");
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        return NULL;
    }
    char token[AR_SECRET_TEXT_SIZE], hash[70];
    ar_secret_generate("", token);
    ar_secret_hash_param(token, hash);
    share_args a = {ctx, report_id, 0, expires_in_days, hash, NULL};
    if (ar_ctx_tx(ctx, share_create_tx, &a, err) != 0) return NULL;
    if (!a.out) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such report."), NULL;
    size_t len = public_url ? strlen(public_url) : 0;
    while (len > 0 && public_url[len - 1] == '/') len--;
    char *url = ar_asprintf("%.*s/share/%s", (int)len, public_url ? public_url : "", token);
    json_object_set_new(a.out, "url", json_string(url));
    json_object_set_new(a.out, "token", json_string(token));
    ar_free(url);
    return a.out;
}

static int share_list_tx(PGconn *c, void *arg, ar_error *err)
{
    share_args *a = arg;
    char rid[24];
    snprintf(rid, sizeof rid, "%lld", a->report_id);
    const char *p[1] = {rid};
    PGresult *r = ar_db_exec(c, "share_list", 1, p, err);
    if (!r) return -1;
    a->out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(a->out, json_pack("{s:I,s:o,s:o,s:I,s:o,s:s,s:b}", "id", (json_int_t)atoll(PQgetvalue(r, i, 0)),
                                                "expires_at", nullable_text(r, i, 1), "revoked_at", nullable_text(r, i, 2),
                                                "view_count", (json_int_t)atoll(PQgetvalue(r, i, 3)), "last_viewed_at",
                                                nullable_text(r, i, 4), "created_at", PQgetvalue(r, i, 5), "active",
                                                PQgetvalue(r, i, 6)[0] == 't'));
    PQclear(r);
    return 0;
}

json_t *ar_share_link_list(const ar_ctx *ctx, long long report_id, ar_error *err)
{
    json_t *report = ar_report_get(ctx, report_id, err); /* 404 for reports the caller cannot see */
    if (!report) return NULL;
    json_decref(report);
    share_args a = {ctx, report_id, 0, 0, NULL, NULL};
    if (ar_ctx_tx(ctx, share_list_tx, &a, err) != 0) return NULL;
    return a.out;
}

static int share_revoke_tx(PGconn *c, void *arg, ar_error *err)
{
    share_args *a = arg;
    char lid[24];
    snprintf(lid, sizeof lid, "%lld", a->link_id);
    const char *p[1] = {lid};
    PGresult *r = ar_db_exec(c, "share_revoke", 1, p, err);
    if (!r) return -1;
    a->report_id = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    if (!a->report_id) return 0;
    ar_audit_event ev = {.action = "share_link.revoked", .target_type = "share_link", .target_id = lid, .success = 1};
    return ar_audit_write(c, a->ctx, &ev, err);
}

int ar_share_link_revoke(const ar_ctx *ctx, long long link_id, ar_error *err)
{
    if (ctx->role < AR_ROLE_MEMBER) return ar_error_set(err, AR_ERR_FORBIDDEN, "Read-only members cannot revoke share links."), -1;
    share_args a = {ctx, 0, link_id, 0, NULL, NULL};
    if (ar_ctx_tx(ctx, share_revoke_tx, &a, err) != 0) return -1;
    if (!a.report_id) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such share link."), -1;
    return 0;
}

typedef struct view_args {
    const char *hash;
    json_t *out;
} view_args;

static int share_view_tx(PGconn *c, void *arg, ar_error *err)
{
    view_args *a = arg;
    const char *p[1] = {a->hash};
    PGresult *r = ar_db_exec(c, "share_view", 1, p, err);
    if (!r) return -1;
    long long report_id = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    if (!report_id) return 0;
    get_args g = {report_id, NULL};
    if (get_tx(c, &g, err) != 0) return -1;
    if (!g.out) return 0;
    /* Only the report itself: no author, no tenant, no entry texts, no filters or provider details. */
    a->out = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "kind", json_object_get(g.out, "kind"), "title",
                       json_object_get(g.out, "title"), "period_start", json_object_get(g.out, "period_start"),
                       "period_end", json_object_get(g.out, "period_end"), "sections",
                       json_object_get(g.out, "sections"), "markdown", json_object_get(g.out, "markdown"),
                       "updated_at", json_object_get(g.out, "updated_at"));
    json_decref(g.out);
    return 0;
}

json_t *ar_share_link_view(const char *token, ar_error *err)
{
    size_t len = token ? strlen(token) : 0;
    if (len < 20 || len > 100) return ar_error_set(err, AR_ERR_NOT_FOUND, "This share link does not exist or has ended."), NULL;
    char hash[70];
    ar_secret_hash_param(token, hash);
    view_args a = {hash, NULL};
    ar_ctx sys = {0};
    sys.bypass_rls = 1;
    if (ar_ctx_tx(&sys, share_view_tx, &a, err) != 0) return NULL;
    if (!a.out) return ar_error_set(err, AR_ERR_NOT_FOUND, "This share link does not exist or has ended."), NULL;
    return a.out;
}

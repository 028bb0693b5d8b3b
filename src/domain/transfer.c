/* transfer.c — worklog import and export (see transfer.h): streamed JSON / CSV / Markdown exports read in keyset
 * batches, and all-or-nothing imports of JSON or CSV that check every row with the worklog service first. */
#include "afterresume/domain/transfer.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/csv.h"
#include "afterresume/core/log.h"
#include "afterresume/core/utf8.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/registry.h"
#include "afterresume/domain/worklog.h"
#include "afterresume/http/parse.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define ENTRY_COLUMNS                                                                                              \
    "e.id, e.occurred_on::text, e.title, e.content, e.outcome, e.impact, e.next_steps, e.effort_minutes, "         \
    "e.work_type, e.status, to_json(e.tags)::text, c.name, p.name, e.visibility, e.impact_score, "                 \
    "e.impact_score_source, e.source, coalesce(e.import_key, 'afterresume:' || e.tenant_id || ':' || e.id), "      \
    TS("e.created_at") ", " TS("e.updated_at") ", array_to_string(e.tags, ';') "                                   \
    "FROM worklog_entries e "                                                                                      \
    "LEFT JOIN clients c ON c.tenant_id = e.tenant_id AND c.id = e.client_id "                                     \
    "LEFT JOIN projects p ON p.tenant_id = e.tenant_id AND p.id = e.project_id "                                   \
    "WHERE e.tenant_id = $1 AND e.author_id = $2 AND e.deleted_at IS NULL "                                        \
    "AND ($3::date IS NULL OR e.occurred_on >= $3::date) AND ($4::date IS NULL OR e.occurred_on <= $4::date) "

enum entry_col {
    EC_ID, EC_DATE, EC_TITLE, EC_CONTENT, EC_OUTCOME, EC_IMPACT, EC_NEXT, EC_EFFORT, EC_TYPE, EC_STATUS, EC_TAGS,
    EC_CLIENT, EC_PROJECT, EC_VISIBILITY, EC_SCORE, EC_SCORE_SOURCE, EC_SOURCE, EC_KEY, EC_CREATED, EC_UPDATED,
    EC_TAGS_TEXT,
};

static const ar_db_stmt statements[] = {
    {"transfer_clients",
     "SELECT id, name, description, is_active FROM clients WHERE tenant_id = $1 AND id > $2::bigint "
     "ORDER BY id LIMIT $3::int"},
    {"transfer_projects",
     "SELECT p.id, p.name, c.name, p.description, p.role, p.start_date::text, p.end_date::text, p.is_active "
     "FROM projects p LEFT JOIN clients c ON c.tenant_id = p.tenant_id AND c.id = p.client_id "
     "WHERE p.tenant_id = $1 AND p.id > $2::bigint ORDER BY p.id LIMIT $3::int"},
    {"transfer_entries_asc",
     "SELECT " ENTRY_COLUMNS
     "AND ($5::date IS NULL OR (e.occurred_on, e.id) > ($5::date, $6::bigint)) "
     "ORDER BY e.occurred_on, e.id LIMIT $7::int"},
    {"transfer_entries_desc",
     "SELECT " ENTRY_COLUMNS
     "AND ($5::date IS NULL OR (e.occurred_on, e.id) < ($5::date, $6::bigint)) "
     "ORDER BY e.occurred_on DESC, e.id DESC LIMIT $7::int"},
    {"transfer_client_insert",
     "INSERT INTO clients (tenant_id, name, description, is_active) VALUES ($1, $2, $3, $4::boolean) "
     "ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id"},
    {"transfer_project_insert",
     "INSERT INTO projects (tenant_id, client_id, name, description, role, start_date, end_date, is_active) "
     "VALUES ($1, nullif($2::bigint, 0), $3, $4, $5, $6::date, $7::date, $8::boolean) "
     "ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id"},
    {"transfer_entry_live",
     "SELECT 1 FROM worklog_entries WHERE tenant_id = $1 AND id = $2::bigint AND deleted_at IS NULL"},
};

void ar_transfer_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

/* ---- small helpers ----------------------------------------------------------------------------------------- */

/* YYYY-MM-DD, a real calendar day in 1900..2999. */
static int valid_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

static void today_utc(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static void now_utc(char out[21])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *empty_null(const char *s)
{
    return s && *s ? s : NULL;
}

/* ---- export ---------------------------------------------------------------------------------------------- */

ar_export_format ar_export_format_parse(const char *s)
{
    if (!s) return 0;
    if (strcmp(s, "json") == 0) return AR_EXPORT_JSON;
    if (strcmp(s, "csv") == 0) return AR_EXPORT_CSV;
    if (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0) return AR_EXPORT_MARKDOWN;
    return 0;
}

const char *ar_export_content_type(ar_export_format f)
{
    switch (f) {
    case AR_EXPORT_CSV: return "text/csv; charset=utf-8; header=present";
    case AR_EXPORT_MARKDOWN: return "text/markdown; charset=utf-8";
    default: return "application/json; charset=utf-8";
    }
}

void ar_export_filename(ar_export_format f, char *out, size_t out_size)
{
    char day[11];
    today_utc(day);
    snprintf(out, out_size, "afterresume-worklog-%s.%s", day,
             f == AR_EXPORT_CSV ? "csv" : f == AR_EXPORT_MARKDOWN ? "md" : "json");
}

typedef enum export_stage {
    XS_HEAD, XS_CLIENTS, XS_PROJECTS, XS_ENTRIES, XS_TAIL, XS_DONE,
} export_stage;

struct ar_export {
    ar_ctx ctx;
    ar_export_format format;
    char start_date[11], end_date[11];
    export_stage stage;
    long long last_id;        /* keyset: clients / projects by id, entries by (occurred_on, id) */
    char last_date[11];
    long long entries;
    long long in_section;     /* items written in the current JSON array */
    char month[8];            /* Markdown: YYYY-MM of the last heading */
    ar_buf prefetched;        /* output produced by ar_export_begin */
    int prefetched_rc;
    int started;
};

typedef struct fetch_call {
    ar_export *x;
    const char *stmt;
    PGresult *res;
} fetch_call;

static int fetch_tx(PGconn *c, void *arg, ar_error *err)
{
    fetch_call *f = arg;
    ar_export *x = f->x;
    char tenant[24], user[24], last[24], limit[16];
    snprintf(tenant, sizeof tenant, "%lld", x->ctx.tenant_id);
    snprintf(user, sizeof user, "%lld", x->ctx.user_id);
    snprintf(last, sizeof last, "%lld", x->last_id);
    snprintf(limit, sizeof limit, "%d", AR_TRANSFER_EXPORT_BATCH);
    if (x->stage == XS_CLIENTS || x->stage == XS_PROJECTS) {
        const char *params[3] = {tenant, last, limit};
        f->res = ar_db_exec(c, f->stmt, 3, params, err);
    } else {
        const char *params[7] = {tenant, user, empty_null(x->start_date), empty_null(x->end_date),
                                 empty_null(x->last_date), last, limit};
        f->res = ar_db_exec(c, f->stmt, 7, params, err);
    }
    return f->res ? 0 : -1;
}

static PGresult *fetch(ar_export *x, const char *stmt, ar_error *err)
{
    fetch_call f = {x, stmt, NULL};
    if (ar_ctx_tx(&x->ctx, fetch_tx, &f, err) != 0) {
        if (f.res) PQclear(f.res);
        return NULL;
    }
    return f.res;
}

static json_t *col_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *col_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_integer(atoll(PQgetvalue(r, row, col)));
}

static json_t *col_bool(const PGresult *r, int row, int col)
{
    return json_boolean(PQgetvalue(r, row, col)[0] == 't');
}

static void put_json_item(ar_export *x, ar_buf *out, json_t *item)
{
    char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(item);
    ar_buf_puts(out, x->in_section++ ? ",\n" : "\n");
    ar_buf_puts(out, text ? text : "null");
    free(text);
}

static json_t *entry_json(const PGresult *r, int i)
{
    json_error_t je;
    json_t *tags = json_loads(PQgetvalue(r, i, EC_TAGS), 0, &je);
    if (!json_is_array(tags)) {
        json_decref(tags);
        tags = json_array();
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", col_int(r, i, EC_ID));
    json_object_set_new(o, "occurred_on", col_text(r, i, EC_DATE));
    json_object_set_new(o, "title", col_text(r, i, EC_TITLE));
    json_object_set_new(o, "content", col_text(r, i, EC_CONTENT));
    json_object_set_new(o, "outcome", col_text(r, i, EC_OUTCOME));
    json_object_set_new(o, "impact", col_text(r, i, EC_IMPACT));
    json_object_set_new(o, "next_steps", col_text(r, i, EC_NEXT));
    json_object_set_new(o, "effort_minutes", col_int(r, i, EC_EFFORT));
    json_object_set_new(o, "work_type", col_text(r, i, EC_TYPE));
    json_object_set_new(o, "status", col_text(r, i, EC_STATUS));
    json_object_set_new(o, "tags", tags);
    json_object_set_new(o, "client_name", col_text(r, i, EC_CLIENT));
    json_object_set_new(o, "project_name", col_text(r, i, EC_PROJECT));
    json_object_set_new(o, "visibility", col_text(r, i, EC_VISIBILITY));
    json_object_set_new(o, "impact_score", col_int(r, i, EC_SCORE));
    json_object_set_new(o, "impact_score_source", col_text(r, i, EC_SCORE_SOURCE));
    json_object_set_new(o, "source", col_text(r, i, EC_SOURCE));
    json_object_set_new(o, "import_key", col_text(r, i, EC_KEY));
    json_object_set_new(o, "created_at", col_text(r, i, EC_CREATED));
    json_object_set_new(o, "updated_at", col_text(r, i, EC_UPDATED));
    return o;
}

static void entry_csv(const PGresult *r, int i, ar_buf *out)
{
    static const int cols[] = {EC_DATE, EC_TITLE, EC_CONTENT, EC_OUTCOME, EC_IMPACT, EC_NEXT, EC_EFFORT,
                               EC_TYPE, EC_STATUS, EC_TAGS_TEXT, EC_CLIENT, EC_PROJECT, EC_VISIBILITY, EC_SCORE,
                               EC_SCORE_SOURCE, EC_SOURCE, EC_KEY, EC_CREATED, EC_UPDATED};
    const char *cells[sizeof cols / sizeof cols[0]];
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        cells[k] = PQgetisnull(r, i, cols[k]) ? "" : PQgetvalue(r, i, cols[k]);
    ar_csv_write_row(out, cells, sizeof cols / sizeof cols[0], AR_CSV_NEUTRALISE_FORMULAS);
}

/* One line of plain text for Markdown: line breaks become spaces. */
static void md_inline(ar_buf *out, const char *s)
{
    for (; *s; s++) ar_buf_putc(out, *s == '\r' || *s == '\n' ? ' ' : *s);
}

static void md_block(ar_buf *out, const char *label, const char *text)
{
    if (!text || !*text) return;
    ar_buf_printf(out, "\n**%s:** ", label);
    ar_buf_puts(out, text);
    ar_buf_putc(out, '\n');
}

static const char *const month_names[] = {"January", "February", "March",     "April",   "May",      "June",
                                          "July",    "August",   "September", "October", "November", "December"};

static void entry_markdown(ar_export *x, const PGresult *r, int i, ar_buf *out)
{
    const char *date = PQgetvalue(r, i, EC_DATE);
    if (strncmp(x->month, date, 7) != 0) {
        snprintf(x->month, sizeof x->month, "%.7s", date);
        int m = atoi(date + 5);
        ar_buf_printf(out, "\n## %s %.4s\n", m >= 1 && m <= 12 ? month_names[m - 1] : "?", date);
    }
    const char *title = PQgetvalue(r, i, EC_TITLE);
    ar_buf_printf(out, "\n### %s — ", date);
    md_inline(out, *title ? title : "(untitled)");
    ar_buf_putc(out, '\n');
    ar_buf meta = AR_BUF_INIT;
    if (!PQgetisnull(r, i, EC_PROJECT)) {
        ar_buf_puts(&meta, "Project: ");
        md_inline(&meta, PQgetvalue(r, i, EC_PROJECT));
    }
    if (!PQgetisnull(r, i, EC_CLIENT)) {
        ar_buf_puts(&meta, meta.len ? " · Client: " : "Client: ");
        md_inline(&meta, PQgetvalue(r, i, EC_CLIENT));
    }
    const char *tags = PQgetvalue(r, i, EC_TAGS_TEXT);
    if (*tags) {
        ar_buf_puts(&meta, meta.len ? " · Tags: " : "Tags: ");
        for (const char *t = tags; *t; t++) {
            if (*t == ';')
                ar_buf_puts(&meta, ", ");
            else
                ar_buf_putc(&meta, *t == '\r' || *t == '\n' ? ' ' : *t);
        }
    }
    ar_buf_printf(&meta, "%sType: %s · Status: %s", meta.len ? " · " : "", PQgetvalue(r, i, EC_TYPE),
                  PQgetvalue(r, i, EC_STATUS));
    if (!PQgetisnull(r, i, EC_EFFORT)) ar_buf_printf(&meta, " · Effort: %s min", PQgetvalue(r, i, EC_EFFORT));
    ar_buf_printf(out, "\n_%s_\n\n", ar_buf_cstr(&meta));
    ar_buf_free(&meta);
    ar_buf_puts(out, PQgetvalue(r, i, EC_CONTENT));
    ar_buf_putc(out, '\n');
    md_block(out, "Outcome", PQgetvalue(r, i, EC_OUTCOME));
    md_block(out, "Impact", PQgetvalue(r, i, EC_IMPACT));
    if (!PQgetisnull(r, i, EC_SCORE))
        ar_buf_printf(out, "\n**Impact score:** %s/10 (%s)\n", PQgetvalue(r, i, EC_SCORE),
                      strcmp(PQgetvalue(r, i, EC_SCORE_SOURCE), "ai") == 0 ? "suggested by AI" : "own rating");
    md_block(out, "Next steps", PQgetvalue(r, i, EC_NEXT));
}

static void write_head(ar_export *x, ar_buf *out)
{
    char now[21];
    now_utc(now);
    if (x->format == AR_EXPORT_JSON) {
        json_t *head = json_pack("{s:s,s:i,s:s,s:s?,s:s?}", "format", AR_TRANSFER_FORMAT_NAME, "format_version",
                                 AR_TRANSFER_FORMAT_VERSION, "exported_at", now, "start_date",
                                 empty_null(x->start_date), "end_date", empty_null(x->end_date));
        char *text = json_dumps(head, JSON_COMPACT);
        json_decref(head);
        ar_buf_append(out, text, strlen(text) - 1); /* without the closing brace: the lists follow */
        free(text);
        ar_buf_puts(out, ",\"clients\":[");
        x->stage = XS_CLIENTS;
    } else if (x->format == AR_EXPORT_CSV) {
        static const char *const header[] = {AR_TRANSFER_CSV_COLUMNS};
        ar_csv_write_row(out, header, sizeof header / sizeof header[0], 0);
        x->stage = XS_ENTRIES;
    } else {
        ar_buf_puts(out, "# Worklog\n\n");
        ar_buf_printf(out, "_Brag document of %s, exported %.10s", x->ctx.username, now);
        if (x->start_date[0] || x->end_date[0])
            ar_buf_printf(out, " · entries from %s to %s", x->start_date[0] ? x->start_date : "the start",
                          x->end_date[0] ? x->end_date : "today");
        ar_buf_puts(out, " · newest first._\n");
        x->stage = XS_ENTRIES;
    }
}

int ar_export_next(ar_export *x, ar_buf *out, ar_error *err)
{
    if (x->prefetched.len || x->prefetched_rc != 1) {
        int rc = x->prefetched_rc;
        ar_buf_append(out, x->prefetched.data ? x->prefetched.data : "", x->prefetched.len);
        ar_buf_free(&x->prefetched);
        x->prefetched_rc = 1;
        if (rc <= 0 || out->len) return rc;
    }
    size_t before = out->len;
    while (out->len == before) {
        switch (x->stage) {
        case XS_HEAD:
            write_head(x, out);
            break;
        case XS_CLIENTS:
        case XS_PROJECTS: {
            int clients = x->stage == XS_CLIENTS;
            PGresult *r = fetch(x, clients ? "transfer_clients" : "transfer_projects", err);
            if (!r) return -1;
            int n = PQntuples(r);
            for (int i = 0; i < n; i++) {
                json_t *o;
                if (clients)
                    o = json_pack("{s:o,s:o,s:o}", "name", col_text(r, i, 1), "description", col_text(r, i, 2),
                                  "is_active", col_bool(r, i, 3));
                else
                    o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name", col_text(r, i, 1), "client_name",
                                  col_text(r, i, 2), "description", col_text(r, i, 3), "role", col_text(r, i, 4),
                                  "start_date", col_text(r, i, 5), "end_date", col_text(r, i, 6), "is_active",
                                  col_bool(r, i, 7));
                put_json_item(x, out, o);
                x->last_id = atoll(PQgetvalue(r, i, 0));
            }
            PQclear(r);
            if (n < AR_TRANSFER_EXPORT_BATCH) {
                ar_buf_puts(out, x->in_section ? "\n]," : "],");
                ar_buf_puts(out, clients ? "\"projects\":[" : "\"entries\":[");
                x->stage = clients ? XS_PROJECTS : XS_ENTRIES;
                x->last_id = 0;
                x->in_section = 0;
            }
            break;
        }
        case XS_ENTRIES: {
            PGresult *r = fetch(x, x->format == AR_EXPORT_MARKDOWN ? "transfer_entries_desc" : "transfer_entries_asc",
                                err);
            if (!r) return -1;
            int n = PQntuples(r);
            for (int i = 0; i < n; i++) {
                if (x->format == AR_EXPORT_JSON)
                    put_json_item(x, out, entry_json(r, i));
                else if (x->format == AR_EXPORT_CSV)
                    entry_csv(r, i, out);
                else
                    entry_markdown(x, r, i, out);
                x->entries++;
                x->last_id = atoll(PQgetvalue(r, i, EC_ID));
                snprintf(x->last_date, sizeof x->last_date, "%s", PQgetvalue(r, i, EC_DATE));
            }
            PQclear(r);
            if (n < AR_TRANSFER_EXPORT_BATCH) x->stage = XS_TAIL;
            break;
        }
        case XS_TAIL:
            if (x->format == AR_EXPORT_JSON)
                ar_buf_puts(out, x->in_section ? "\n]}\n" : "]}\n");
            else if (x->format == AR_EXPORT_MARKDOWN && x->entries == 0)
                ar_buf_puts(out, "\nNo entries in this period.\n");
            x->stage = XS_DONE;
            if (out->len == before) return 0;
            break;
        case XS_DONE:
            return 0;
        }
    }
    return x->stage == XS_DONE ? 0 : 1;
}

long long ar_export_entries(const ar_export *x)
{
    return x->entries;
}

ar_export *ar_export_begin(const ar_ctx *ctx, ar_export_format f, const char *start_date, const char *end_date,
                           ar_error *err)
{
    if (ctx->user_id <= 0 || ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), NULL;
    if (f != AR_EXPORT_JSON && f != AR_EXPORT_CSV && f != AR_EXPORT_MARKDOWN)
        ar_error_field(err, "format", "Choose json, csv or md.");
    start_date = empty_null(start_date);
    end_date = empty_null(end_date);
    if (start_date && !valid_date(start_date)) ar_error_field(err, "start_date", "Enter a valid date (YYYY-MM-DD).");
    if (end_date && !valid_date(end_date)) ar_error_field(err, "end_date", "Enter a valid date (YYYY-MM-DD).");
    if (!err->fields && start_date && end_date && strcmp(start_date, end_date) > 0)
        ar_error_field(err, "end_date", "The end date must be on or after the start date.");
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, NULL), NULL;
    ar_export *x = ar_calloc(1, sizeof *x);
    x->ctx = *ctx;
    x->ctx.bypass_rls = 0;
    x->format = f;
    snprintf(x->start_date, sizeof x->start_date, "%s", start_date ? start_date : "");
    snprintf(x->end_date, sizeof x->end_date, "%s", end_date ? end_date : "");
    x->stage = XS_HEAD;
    x->prefetched_rc = 1;
    /* Produce the first piece now: a database that cannot be reached is an error status, not a cut file. */
    ar_buf first = AR_BUF_INIT;
    int rc = ar_export_next(x, &first, err);
    if (rc < 0) {
        ar_buf_free(&first);
        free(x);
        return NULL;
    }
    x->prefetched = first;
    x->prefetched_rc = rc;
    const char *fmt = f == AR_EXPORT_CSV ? "csv" : f == AR_EXPORT_MARKDOWN ? "md" : "json";
    json_t *details = json_pack("{s:s,s:s?,s:s?}", "format", fmt, "start_date", start_date, "end_date", end_date);
    ar_audit_event ev = {.action = "worklog.exported", .target_type = "worklog", .success = 1, .details = details};
    ar_audit_record(&x->ctx, &ev);
    json_decref(details);
    return x;
}

void ar_export_free(ar_export *x)
{
    if (!x) return;
    ar_buf_free(&x->prefetched);
    free(x);
}

int ar_export_all(const ar_ctx *ctx, ar_export_format f, const char *start_date, const char *end_date, ar_buf *out,
                  ar_error *err)
{
    ar_export *x = ar_export_begin(ctx, f, start_date, end_date, err);
    if (!x) return -1;
    int rc;
    while ((rc = ar_export_next(x, out, err)) == 1) {
    }
    ar_export_free(x);
    return rc;
}

/* ---- import: CSV columns ---------------------------------------------------------------------------------- */

static const struct {
    const char *name;  /* normalised header */
    const char *field; /* entry field; "" = recognised and ignored */
} csv_aliases[] = {
    {"occurred_on", "occurred_on"}, {"date", "occurred_on"}, {"occurred", "occurred_on"}, {"day", "occurred_on"},
    {"title", "title"}, {"subject", "title"}, {"headline", "title"},
    {"content", "content"}, {"description", "content"}, {"details", "content"}, {"body", "content"},
    {"notes", "content"}, {"text", "content"},
    {"outcome", "outcome"}, {"result", "outcome"}, {"results", "outcome"},
    {"impact", "impact"},
    {"next_steps", "next_steps"}, {"next", "next_steps"}, {"follow_up", "next_steps"},
    {"effort_minutes", "effort_minutes"}, {"effort", "effort_minutes"}, {"minutes", "effort_minutes"},
    {"hours", "hours"}, {"effort_hours", "hours"},
    {"work_type", "work_type"}, {"type", "work_type"}, {"category", "work_type"},
    {"status", "status"},
    {"tags", "tags"}, {"tag", "tags"}, {"labels", "tags"}, {"keywords", "tags"},
    {"client", "client_name"}, {"client_name", "client_name"}, {"customer", "client_name"},
    {"project", "project_name"}, {"project_name", "project_name"},
    {"visibility", "visibility"},
    {"impact_score", "impact_score"}, {"score", "impact_score"},
    {"impact_score_source", "impact_score_source"}, {"score_source", "impact_score_source"},
    {"import_key", "import_key"}, {"external_id", "import_key"},
    {"created_at", "created_at"}, {"updated_at", "updated_at"},
    {"id", ""}, {"source", ""}, {"author", ""}, {"author_id", ""}, {"author_username", ""}, {"client_id", ""},
    {"project_id", ""}, {"deleted_at", ""}, {"attachment_count", ""},
};

static const char *const import_fields[] = {
    "occurred_on", "title", "content", "outcome", "impact", "next_steps", "effort_minutes", "hours", "work_type",
    "status", "tags", "client_name", "project_name", "visibility", "impact_score", "impact_score_source",
    "import_key", "created_at", "updated_at",
};
#define IMPORT_FIELD_COUNT (sizeof import_fields / sizeof import_fields[0])

const char *ar_transfer_csv_field(const char *header)
{
    if (!header) return NULL;
    while (*header == ' ' || *header == '\t') header++;
    char norm[64];
    size_t n = strlen(header);
    if (n >= sizeof norm) return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = header[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c == ' ' || c == '-' || c == '\t') c = '_';
        norm[i] = c;
    }
    while (n && norm[n - 1] == '_') n--;
    norm[n] = '\0';
    for (size_t i = 0; i < sizeof csv_aliases / sizeof csv_aliases[0]; i++)
        if (strcmp(norm, csv_aliases[i].name) == 0) return csv_aliases[i].field;
    return NULL;
}

/* A mapping target: a field name (or an alias of one); "" ignores the column; NULL when unknown. */
static const char *mapping_target(const char *value)
{
    if (!value) return NULL;
    if (!*value || strcmp(value, "ignore") == 0) return "";
    const char *f = ar_transfer_csv_field(value);
    return f && *f ? f : NULL;
}

/* ---- import: collecting rows and errors ------------------------------------------------------------------- */

typedef struct import_row {
    long long row;       /* number in the file */
    json_t *in;          /* the row as an input object (before validation) */
    json_t *entry;       /* validated */
} import_row;

typedef struct import_state {
    const ar_ctx *ctx;
    const ar_import_options *opt;
    ar_import_result *res;
    import_row *rows;
    size_t nrows, cap;
    json_t *clients;     /* JSON import: the lists as given */
    json_t *projects;
    /* CSV */
    const char **col_field; /* per column: field, "" ignored, NULL unknown */
    size_t ncols;
    int header_done;
    ar_error fatal;      /* a file-level problem found while reading rows */
} import_state;

static void row_error(ar_import_result *res, const char *section, long long row, const char *field,
                      const char *message)
{
    if (json_array_size(res->errors) >= AR_TRANSFER_MAX_ROW_ERRORS) return;
    json_t *e = json_pack("{s:I,s:s?,s:s}", "row", (json_int_t)row, "field", field, "message", message);
    if (section) json_object_set_new(e, "section", json_string(section));
    json_array_append_new(res->errors, e);
}

/* Every field error of err for one row; counts the row once. */
static void row_errors_from(ar_import_result *res, const char *section, long long row, const ar_error *err)
{
    res->error_count++;
    if (!err->fields || json_object_size(err->fields) == 0) {
        row_error(res, section, row, NULL, err->message[0] ? err->message : ar_err_default_message(err->code));
        return;
    }
    const char *key;
    json_t *value;
    json_object_foreach(err->fields, key, value) {
        const char *field = key;
        /* name the file's column, not the service's id field */
        if (strcmp(key, "client") == 0) field = "client_name";
        if (strcmp(key, "project") == 0) field = "project_name";
        row_error(res, section, row, field, json_is_string(value) ? json_string_value(value) : "is not valid");
    }
}

static void add_row(import_state *st, long long number, json_t *in)
{
    if (st->nrows == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->rows = ar_realloc(st->rows, st->cap * sizeof *st->rows);
    }
    st->rows[st->nrows++] = (import_row){number, in, NULL};
}

/* ---- import: CSV reading ---------------------------------------------------------------------------------- */

static const char *mapping_lookup(const json_t *mapping, const char *column, int *found)
{
    *found = 0;
    if (!mapping) return NULL;
    json_t *v = json_object_get(mapping, column);
    if (!v) {
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)mapping, key, value) {
            if (strcasecmp(key, column) == 0) {
                v = value;
                break;
            }
        }
    }
    if (!v) return NULL;
    *found = 1;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int csv_header(import_state *st, const ar_csv_row *row, ar_error *err)
{
    ar_import_result *res = st->res;
    st->ncols = row->count;
    st->col_field = ar_calloc(row->count, sizeof *st->col_field);
    for (size_t i = 0; i < row->count; i++) {
        const char *name = row->fields[i].data;
        int given = 0;
        const char *target = mapping_lookup(st->opt->mapping, name, &given);
        const char *field;
        if (given) {
            field = mapping_target(target);
            if (!field) {
                ar_error_field(err, "mapping", "Map each column to a known field, or to \"\" to ignore it.");
                return ar_error_set(err, AR_ERR_VALIDATION, "The mapping for column \"%.60s\" names no known field.",
                                    name),
                       -1;
            }
        } else {
            field = ar_transfer_csv_field(name);
        }
        st->col_field[i] = field;
        json_array_append_new(res->columns, json_pack("{s:s,s:s?}", "column", name, "field",
                                                      field && *field ? field : NULL));
        if (!field) json_array_append_new(res->unknown_columns, json_string(name));
        for (size_t k = 0; field && *field && k < i; k++) {
            if (st->col_field[k] && strcmp(st->col_field[k], field) == 0) {
                ar_error_field(err, "mapping", "Two columns map to the same field.");
                return ar_error_set(err, AR_ERR_VALIDATION, "Columns %zu and %zu both map to %s.", k + 1, i + 1,
                                    field),
                       -1;
            }
        }
    }
    int has_date = 0, has_content = 0;
    for (size_t i = 0; i < st->ncols; i++) {
        if (st->col_field[i] && strcmp(st->col_field[i], "occurred_on") == 0) has_date = 1;
        if (st->col_field[i] && strcmp(st->col_field[i], "content") == 0) has_content = 1;
    }
    if (!has_date || !has_content) {
        ar_error_field(err, "file", "The header needs a date (occurred_on) column and a content column.");
        return ar_error_set(err, AR_ERR_VALIDATION, "The CSV header has no %s column (found: %zu columns).",
                            !has_date ? "occurred_on (date)" : "content", st->ncols),
               -1;
    }
    return 0;
}

static json_t *split_tags(const char *s, size_t len)
{
    json_t *tags = json_array();
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ';') continue;
        size_t a = start, b = i;
        while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
        if (b > a) json_array_append_new(tags, json_stringn(s + a, b - a));
        start = i + 1;
    }
    return tags;
}

static int csv_row(void *ud, const ar_csv_row *row, ar_error *err)
{
    import_state *st = ud;
    if (!st->header_done) {
        st->header_done = 1;
        return csv_header(st, row, err);
    }
    if (st->nrows >= AR_TRANSFER_IMPORT_MAX_ROWS) {
        ar_error_field(err, "file", "Too many rows.");
        return ar_error_set(err, AR_ERR_VALIDATION, "The file has more than %d entries; split it into smaller files.",
                            AR_TRANSFER_IMPORT_MAX_ROWS),
               -1;
    }
    st->res->rows++;
    if (row->count > st->ncols) {
        char msg[160];
        snprintf(msg, sizeof msg, "The row has %zu cells but the header has %zu columns.", row->count, st->ncols);
        st->res->error_count++;
        row_error(st->res, NULL, (long long)row->number, NULL, msg);
        return 0;
    }
    json_t *in = json_object();
    for (size_t i = 0; i < row->count; i++) {
        const char *field = st->col_field[i];
        if (!field || !*field || row->fields[i].len == 0) continue;
        const char *v = row->fields[i].data;
        size_t len = row->fields[i].len;
        size_t skip = ar_csv_formula_unescape(v, len);
        if (strcmp(field, "tags") == 0)
            json_object_set_new(in, field, split_tags(v + skip, len - skip));
        else
            json_object_set_new(in, field, json_stringn(v + skip, len - skip));
    }
    add_row(st, (long long)row->number, in);
    return 0;
}

static int read_csv(import_state *st, const char *data, size_t len, ar_error *err)
{
    ar_csv_limits lim = {.max_rows = AR_TRANSFER_IMPORT_MAX_ROWS + 1, .max_fields = AR_TRANSFER_CSV_MAX_COLUMNS,
                         .max_field_bytes = 4 * AR_WORKLOG_CONTENT_MAX};
    if (ar_csv_parse(data, len, &lim, csv_row, st, err) != 0) {
        if (!err->fields) ar_error_field(err, "file", err->message);
        return -1;
    }
    if (!st->header_done) {
        ar_error_field(err, "file", "The file is empty.");
        return ar_error_set(err, AR_ERR_VALIDATION, "The CSV file is empty: it needs a header row and entries."), -1;
    }
    return 0;
}

/* ---- import: JSON reading --------------------------------------------------------------------------------- */

static const char *const json_ignored[] = {"id", "client", "project", "source", "author", "author_username",
                                           "deleted_at", "attachment_count", "client_id", "project_id"};

static int read_json(import_state *st, const char *data, size_t len, ar_error *err)
{
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) data += 3, len -= 3; /* a BOM from an editor */
    json_t *doc = ar_parse_json_body(data, len, 32, 0, err);
    if (!doc) {
        if (!err->fields) ar_error_field(err, "file", "The file is not valid JSON.");
        return -1;
    }
    json_t *entries = NULL;
    if (json_is_array(doc)) {
        entries = doc; /* a bare list of entries */
    } else if (json_is_object(doc)) {
        json_t *fmt = json_object_get(doc, "format");
        json_t *ver = json_object_get(doc, "format_version");
        if (fmt && (!json_is_string(fmt) || strcmp(json_string_value(fmt), AR_TRANSFER_FORMAT_NAME) != 0)) {
            ar_error_field(err, "file", "Not an AfterResume worklog export.");
            ar_error_set(err, AR_ERR_VALIDATION, "The file's format is not \"%s\".", AR_TRANSFER_FORMAT_NAME);
        } else if (ver && (!json_is_integer(ver) || json_integer_value(ver) < 1 ||
                           json_integer_value(ver) > AR_TRANSFER_FORMAT_VERSION)) {
            ar_error_field(err, "file", "Unsupported format version.");
            ar_error_set(err, AR_ERR_VALIDATION, "This server reads format_version 1 to %d.",
                         AR_TRANSFER_FORMAT_VERSION);
        }
        entries = json_object_get(doc, "entries");
        json_t *clients = json_object_get(doc, "clients"), *projects = json_object_get(doc, "projects");
        if (!err->code && (!json_is_array(entries) || (clients && !json_is_null(clients) && !json_is_array(clients)) ||
                           (projects && !json_is_null(projects) && !json_is_array(projects)))) {
            ar_error_field(err, "file", "entries (and clients, projects when present) must be lists.");
            ar_error_set(err, AR_ERR_VALIDATION, "The file needs an \"entries\" list.");
        }
        if (!err->code && (json_array_size(clients) > AR_TRANSFER_IMPORT_MAX_NAMED ||
                           json_array_size(projects) > AR_TRANSFER_IMPORT_MAX_NAMED)) {
            ar_error_field(err, "file", "Too many clients or projects.");
            ar_error_set(err, AR_ERR_VALIDATION, "At most %d clients and %d projects per file.",
                         AR_TRANSFER_IMPORT_MAX_NAMED, AR_TRANSFER_IMPORT_MAX_NAMED);
        }
        if (!err->code) {
            st->clients = json_is_array(clients) ? json_incref(clients) : NULL;
            st->projects = json_is_array(projects) ? json_incref(projects) : NULL;
        }
    } else {
        ar_error_field(err, "file", "Expected a JSON object.");
        ar_error_set(err, AR_ERR_VALIDATION, "The file must be a worklog export (a JSON object).");
    }
    if (!err->code && json_array_size(entries) > AR_TRANSFER_IMPORT_MAX_ROWS) {
        ar_error_field(err, "file", "Too many entries.");
        ar_error_set(err, AR_ERR_VALIDATION, "The file has more than %d entries; split it into smaller files.",
                     AR_TRANSFER_IMPORT_MAX_ROWS);
    }
    if (err->code) {
        json_decref(doc);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        st->res->rows++;
        if (!json_is_object(e)) {
            st->res->error_count++;
            row_error(st->res, NULL, (long long)i + 1, NULL, "An entry must be a JSON object.");
            continue;
        }
        json_t *in = json_copy(e);
        for (size_t k = 0; k < sizeof json_ignored / sizeof json_ignored[0]; k++) json_object_del(in, json_ignored[k]);
        add_row(st, (long long)i + 1, in);
    }
    json_decref(doc);
    return 0;
}

/* ---- import: checking ------------------------------------------------------------------------------------- */

static int check_text(json_t *o, const char *name, size_t max_chars, int required, const char **out)
{
    json_t *v = json_object_get(o, name);
    *out = NULL;
    if (!v || json_is_null(v)) return required ? -1 : 0;
    if (!json_is_string(v)) return -1;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len || ar_utf8_chars(s, len) > max_chars || (required && len == 0)) return -1;
    *out = s;
    return 0;
}

/* Clients and projects of a JSON import: names, lengths, dates. */
static void check_named(import_state *st)
{
    size_t i;
    json_t *o;
    json_array_foreach(st->clients, i, o) {
        const char *s;
        int bad = 0;
        if (!json_is_object(o)) {
            st->res->error_count++;
            row_error(st->res, "clients", (long long)i + 1, NULL, "A client must be a JSON object.");
            continue;
        }
        if (check_text(o, "name", 200, 1, &s) != 0)
            bad = 1, row_error(st->res, "clients", (long long)i + 1, "name", "Give a name of 1 to 200 characters.");
        if (check_text(o, "description", 5000, 0, &s) != 0)
            bad = 1, row_error(st->res, "clients", (long long)i + 1, "description", "At most 5000 characters.");
        json_t *act = json_object_get(o, "is_active");
        if (act && !json_is_boolean(act) && !json_is_null(act))
            bad = 1, row_error(st->res, "clients", (long long)i + 1, "is_active", "Must be true or false.");
        st->res->error_count += bad;
    }
    json_array_foreach(st->projects, i, o) {
        const char *s, *start = NULL, *end = NULL;
        int bad = 0;
        if (!json_is_object(o)) {
            st->res->error_count++;
            row_error(st->res, "projects", (long long)i + 1, NULL, "A project must be a JSON object.");
            continue;
        }
        if (check_text(o, "name", 200, 1, &s) != 0)
            bad = 1, row_error(st->res, "projects", (long long)i + 1, "name", "Give a name of 1 to 200 characters.");
        if (check_text(o, "client_name", 200, 0, &s) != 0 || (s && !*s))
            bad = 1, row_error(st->res, "projects", (long long)i + 1, "client_name", "A client name of 1 to 200 characters, or null.");
        if (check_text(o, "description", 5000, 0, &s) != 0)
            bad = 1, row_error(st->res, "projects", (long long)i + 1, "description", "At most 5000 characters.");
        if (check_text(o, "role", 200, 0, &s) != 0)
            bad = 1, row_error(st->res, "projects", (long long)i + 1, "role", "At most 200 characters.");
        if (check_text(o, "start_date", 10, 0, &start) != 0 || (start && !valid_date(start)))
            bad = 1, start = NULL, row_error(st->res, "projects", (long long)i + 1, "start_date", "Enter a valid date.");
        if (check_text(o, "end_date", 10, 0, &end) != 0 || (end && !valid_date(end)))
            bad = 1, end = NULL, row_error(st->res, "projects", (long long)i + 1, "end_date", "Enter a valid date.");
        if (start && end && strcmp(end, start) < 0)
            bad = 1, row_error(st->res, "projects", (long long)i + 1, "end_date",
                               "End date must be on or after the start date.");
        json_t *act = json_object_get(o, "is_active");
        if (act && !json_is_boolean(act) && !json_is_null(act))
            bad = 1, row_error(st->res, "projects", (long long)i + 1, "is_active", "Must be true or false.");
        st->res->error_count += bad;
    }
}

/* "sha256:" + 40 hex characters of the entry's date, title and content. */
static void derived_key(const json_t *entry, char out[48])
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    static const char *const parts[] = {"occurred_on", "title", "content"};
    for (size_t i = 0; i < 3; i++) {
        const char *s = json_string_value(json_object_get(entry, parts[i]));
        if (!s) s = "";
        crypto_hash_sha256_update(&h, (const unsigned char *)s, strlen(s) + 1); /* NUL separates the parts */
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&h, digest);
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    snprintf(out, 48, "sha256:%.40s", hex);
}

static void check_entries(import_state *st)
{
    ar_import_result *res = st->res;
    json_t *explicit_keys = json_object(); /* import_key -> row */
    for (size_t i = 0; i < st->nrows; i++) {
        import_row *r = &st->rows[i];
        ar_error e = {0};
        json_t *in = r->in;
        if (json_object_get(in, "tags") && json_is_string(json_object_get(in, "tags"))) {
            /* a tag list written as one string: ";" separates (as in our CSV), "," otherwise */
            const char *t = json_string_value(json_object_get(in, "tags"));
            if (strchr(t, ';')) json_object_set_new(in, "tags", split_tags(t, strlen(t)));
        }
        r->entry = ar_worklog_validate(in, AR_WORKLOG_IMPORT, &e);
        if (!r->entry) {
            row_errors_from(res, NULL, r->row, &e);
            ar_error_clear(&e);
            continue;
        }
        json_object_set_new(r->entry, "source", json_string("import"));
        json_t *key = json_object_get(r->entry, "import_key");
        if (json_is_string(key)) {
            json_t *seen = json_object_get(explicit_keys, json_string_value(key));
            if (seen) {
                char msg[120];
                snprintf(msg, sizeof msg, "This import_key is already used by row %lld of the file.",
                         (long long)json_integer_value(seen));
                res->error_count++;
                row_error(res, NULL, r->row, "import_key", msg);
                json_decref(r->entry);
                r->entry = NULL;
                continue;
            }
            json_object_set_new(explicit_keys, json_string_value(key), json_integer(r->row));
        } else {
            char k[48];
            derived_key(r->entry, k);
            json_object_set_new(r->entry, "import_key", json_string(k));
        }
    }
    json_decref(explicit_keys);
}

/* ---- import: writing -------------------------------------------------------------------------------------- */

typedef struct import_tx_args {
    import_state *st;
    int dry_run_done;
} import_tx_args;

static const char *json_bool_text(const json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_false(v) ? "false" : "true";
}

static int import_named_tx(PGconn *c, import_state *st, ar_error *err)
{
    char tenant[24];
    snprintf(tenant, sizeof tenant, "%lld", st->ctx->tenant_id);
    size_t i;
    json_t *o;
    json_array_foreach(st->clients, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *desc = json_string_value(json_object_get(o, "description"));
        const char *params[4] = {tenant, name, desc ? desc : "", json_bool_text(o, "is_active")};
        PGresult *r = ar_db_exec(c, "transfer_client_insert", 4, params, err);
        if (!r) return -1;
        if (PQntuples(r) == 1) json_array_append_new(st->res->created_clients, json_string(name));
        PQclear(r);
    }
    json_array_foreach(st->projects, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *client = json_string_value(json_object_get(o, "client_name"));
        long long client_id = 0;
        if (client && ar_client_find_or_create_in_tx(c, st->ctx, client, &client_id, err) != 0) return -1;
        char cid[24];
        snprintf(cid, sizeof cid, "%lld", client_id);
        const char *desc = json_string_value(json_object_get(o, "description"));
        const char *role = json_string_value(json_object_get(o, "role"));
        const char *params[8] = {tenant,
                                 cid,
                                 name,
                                 desc ? desc : "",
                                 role ? role : "",
                                 json_string_value(json_object_get(o, "start_date")),
                                 json_string_value(json_object_get(o, "end_date")),
                                 json_bool_text(o, "is_active")};
        PGresult *r = ar_db_exec(c, "transfer_project_insert", 8, params, err);
        if (!r) return -1;
        if (PQntuples(r) == 1) json_array_append_new(st->res->created_projects, json_string(name));
        PQclear(r);
    }
    return 0;
}

/* An export of this very tenant names entries that have no import_key "afterresume:<tenant>:<id>": when that
 * entry still exists here, importing the file again must skip it. 1 = exists, 0 = not, -1 = error. */
static int own_entry_exists(PGconn *c, const ar_ctx *ctx, const json_t *entry, ar_error *err)
{
    const char *key = json_string_value(json_object_get(entry, "import_key"));
    long long tenant = 0, id = 0;
    int used = 0;
    if (!key || sscanf(key, "afterresume:%lld:%lld%n", &tenant, &id, &used) != 2 || key[used] != '\0' ||
        tenant != ctx->tenant_id || id <= 0)
        return 0;
    char tb[24], ib[24];
    snprintf(tb, sizeof tb, "%lld", tenant);
    snprintf(ib, sizeof ib, "%lld", id);
    const char *params[2] = {tb, ib};
    PGresult *r = ar_db_exec(c, "transfer_entry_live", 2, params, err);
    if (!r) return -1;
    int n = PQntuples(r);
    PQclear(r);
    return n > 0;
}

static int import_tx(PGconn *c, void *arg, ar_error *err)
{
    import_tx_args *a = arg;
    import_state *st = a->st;
    ar_import_result *res = st->res;
    /* a retried transaction starts over */
    res->created = res->skipped = res->error_count = 0;
    json_array_clear(res->errors);
    json_array_clear(res->created_clients);
    json_array_clear(res->created_projects);
    if (import_named_tx(c, st, err) != 0) return -1;
    for (size_t i = 0; i < st->nrows; i++) {
        import_row *r = &st->rows[i];
        long long id = 0;
        ar_error e = {0};
        int own = own_entry_exists(c, st->ctx, r->entry, err);
        if (own < 0) return -1;
        int rc = own ? 1 : ar_worklog_insert_in_tx(c, st->ctx, r->entry, AR_WORKLOG_IMPORT, 1, &id, &e);
        if (rc == 0) {
            res->created++;
        } else if (rc == 1) {
            res->skipped++;
        } else if (e.code == AR_ERR_VALIDATION) {
            row_errors_from(res, NULL, r->row, &e); /* the transaction is still usable: find every bad row */
            ar_error_clear(&e);
        } else {
            *err = e;
            return -1;
        }
    }
    if (res->error_count) {
        return ar_error_set(err, AR_ERR_VALIDATION, "%lld of %lld rows have errors; nothing was imported.",
                            res->error_count, res->rows),
               -1;
    }
    json_t *details = json_pack("{s:s,s:I,s:I,s:I,s:b}", "format", res->format, "rows", (json_int_t)res->rows,
                                "created", (json_int_t)res->created, "skipped", (json_int_t)res->skipped,
                                "dry_run", st->opt->dry_run);
    ar_audit_event ev = {.action = "worklog.imported", .target_type = "worklog", .success = 1, .details = details};
    int rc = ar_audit_write(c, st->ctx, &ev, err);
    json_decref(details);
    if (rc != 0) return -1;
    if (st->opt->dry_run) {
        a->dry_run_done = 1;
        return ar_error_set(err, AR_ERR_CONFLICT, "dry run"), -1; /* roll back */
    }
    return 0;
}

static int detect_json(const char *data, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) i = 3;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) i++;
    return i < len && (data[i] == '{' || data[i] == '[');
}

static void record_failure(const ar_ctx *ctx, const ar_import_result *res, const ar_error *err)
{
    json_t *details = json_pack("{s:s?,s:I,s:I}", "format", res->format, "rows", (json_int_t)res->rows,
                                "rows_with_errors", (json_int_t)res->error_count);
    ar_audit_event ev = {.action = "worklog.imported", .target_type = "worklog", .success = 0,
                         .reason = err->message, .details = details};
    ar_audit_record(ctx, &ev);
    json_decref(details);
}

int ar_import_worklog(const ar_ctx *ctx, const char *data, size_t len, const ar_import_options *o,
                      ar_import_result *res, ar_error *err)
{
    static const ar_import_options defaults = {0};
    if (!o) o = &defaults;
    memset(res, 0, sizeof *res);
    res->errors = json_array();
    res->columns = json_array();
    res->unknown_columns = json_array();
    res->created_clients = json_array();
    res->created_projects = json_array();
    if (ctx->user_id <= 0 || ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    if (!ar_worklog_can_write(ctx))
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Your role in this workspace cannot add entries."), -1;
    int json = o->format == AR_IMPORT_JSON || (o->format == AR_IMPORT_DETECT && detect_json(data, len));
    res->format = json ? "json" : "csv";
    if (o->mapping && !json_is_object(o->mapping)) {
        ar_error_field(err, "mapping", "The mapping must be a JSON object of column name to field name.");
        return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;
    }
    if (len == 0) {
        ar_error_field(err, "file", "The file is empty.");
        return ar_error_set(err, AR_ERR_VALIDATION, "The file is empty."), -1;
    }
    import_state st = {.ctx = ctx, .opt = o, .res = res};
    int rc = json ? read_json(&st, data, len, err) : read_csv(&st, data, len, err);
    if (rc == 0) {
        check_named(&st);
        check_entries(&st);
        if (res->error_count) {
            ar_error_set(err, AR_ERR_VALIDATION, "%lld of %lld rows have errors; nothing was imported.",
                         res->error_count, res->rows);
            rc = -1;
        }
    }
    if (rc == 0) {
        import_tx_args a = {&st, 0};
        rc = ar_ctx_tx(ctx, import_tx, &a, err);
        if (rc != 0 && a.dry_run_done) {
            ar_error_clear(err);
            rc = 0;
        }
    }
    if (rc != 0) record_failure(ctx, res, err);
    for (size_t i = 0; i < st.nrows; i++) {
        json_decref(st.rows[i].in);
        json_decref(st.rows[i].entry);
    }
    free(st.rows);
    free(st.col_field);
    json_decref(st.clients);
    json_decref(st.projects);
    return rc;
}

void ar_import_result_free(ar_import_result *res)
{
    json_decref(res->errors);
    json_decref(res->columns);
    json_decref(res->unknown_columns);
    json_decref(res->created_clients);
    json_decref(res->created_projects);
    memset(res, 0, sizeof *res);
}

json_t *ar_import_result_json(const ar_import_result *res, int dry_run)
{
    json_t *o = json_pack("{s:s?,s:I,s:I,s:I,s:b,s:O,s:O,s:O}", "format", res->format, "rows", (json_int_t)res->rows,
                          "created", (json_int_t)res->created, "skipped", (json_int_t)res->skipped, "dry_run",
                          dry_run, "unknown_columns", res->unknown_columns, "created_clients", res->created_clients,
                          "created_projects", res->created_projects);
    if (json_array_size(res->columns)) json_object_set(o, "columns", res->columns);
    return o;
}

/* ---- import page: preview --------------------------------------------------------------------------------- */

typedef struct preview_state {
    import_state st;
    json_t *rows;
    int sample;
    long long count;
} preview_state;

static int preview_row(void *ud, const ar_csv_row *row, ar_error *err)
{
    preview_state *p = ud;
    if (!p->st.header_done) {
        p->st.header_done = 1;
        p->st.ncols = row->count;
        p->st.col_field = ar_calloc(row->count, sizeof *p->st.col_field);
        for (size_t i = 0; i < row->count; i++) {
            int given = 0;
            const char *target = mapping_lookup(p->st.opt->mapping, row->fields[i].data, &given);
            const char *field = given ? mapping_target(target) : ar_transfer_csv_field(row->fields[i].data);
            p->st.col_field[i] = field;
            json_array_append_new(p->st.res->columns,
                                  json_pack("{s:I,s:s,s:s?}", "index", (json_int_t)i, "column", row->fields[i].data,
                                            "field", field && *field ? field : NULL));
        }
        return 0;
    }
    (void)err;
    p->count++;
    if ((int)json_array_size(p->rows) < p->sample) {
        json_t *cells = json_array();
        for (size_t i = 0; i < row->count; i++) {
            size_t skip = ar_csv_formula_unescape(row->fields[i].data, row->fields[i].len);
            size_t len = row->fields[i].len - skip;
            if (len > 200) {
                len = 200;
                while (len && ((unsigned char)row->fields[i].data[skip + len] & 0xC0) == 0x80) len--;
            }
            json_array_append_new(cells, json_stringn(row->fields[i].data + skip, len));
        }
        json_array_append_new(p->rows, cells);
    }
    return 0;
}

json_t *ar_import_csv_preview(const char *data, size_t len, const json_t *mapping, int sample_rows, ar_error *err)
{
    ar_import_options o = {.format = AR_IMPORT_CSV, .mapping = json_is_object(mapping) ? mapping : NULL};
    ar_import_result res = {0};
    res.columns = json_array();
    preview_state p = {.st = {.opt = &o, .res = &res}, .rows = json_array(), .sample = sample_rows};
    ar_csv_limits lim = {.max_rows = AR_TRANSFER_IMPORT_MAX_ROWS + 1, .max_fields = AR_TRANSFER_CSV_MAX_COLUMNS,
                         .max_field_bytes = 4 * AR_WORKLOG_CONTENT_MAX};
    int rc = ar_csv_parse(data, len, &lim, preview_row, &p, err);
    free(p.st.col_field);
    if (rc == 0 && !p.st.header_done) {
        ar_error_field(err, "file", "The file is empty.");
        ar_error_set(err, AR_ERR_VALIDATION, "The CSV file is empty: it needs a header row and entries.");
        rc = -1;
    }
    if (rc != 0) {
        json_decref(res.columns);
        json_decref(p.rows);
        return NULL;
    }
    json_t *fields = json_array();
    for (size_t i = 0; i < IMPORT_FIELD_COUNT; i++) json_array_append_new(fields, json_string(import_fields[i]));
    return json_pack("{s:o,s:o,s:I,s:o}", "columns", res.columns, "rows", p.rows, "row_count", (json_int_t)p.count,
                     "fields", fields);
}

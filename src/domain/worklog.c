/* worklog.c — worklog entries in the database: create, read, update, soft delete and restore, the filtered
 * list with keyset pagination and ranked full-text search, tags with counts and the heat-map day counts
 * (see worklog.h; validation and the cursor live in worklog_input.c, clients and projects in
 * worklog_catalog.c). */
#include "afterresume/domain/worklog.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/registry.h"
#include "afterresume/domain/worklog_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The columns of an entry (row_to_entry reads them by position); CONTENT is the content expression. */
#define ENTRY_COLS(CONTENT)                                                                                          \
    "e.id, e.occurred_on::text, e.title, " CONTENT ", e.outcome, e.impact, e.next_steps, e.effort_minutes, "      \
    "e.work_type, e.status, array_to_json(e.tags)::text, e.client_id, c.name::text, e.project_id, p.name::text, " \
    "e.visibility, e.impact_score, e.impact_score_source, e.source, e.import_key, e.author_id, u.username, "      \
    TS("e.created_at") ", " TS("e.updated_at") ", " TS("e.deleted_at") ", e.attachment_count"
#define LIST_COLS ENTRY_COLS("left(e.content, 500)") ", length(e.content) > 500"
#define ENTRY_JOINS                                                                                                 \
    " LEFT JOIN clients c ON c.tenant_id = e.tenant_id AND c.id = e.client_id"                                    \
    " LEFT JOIN projects p ON p.tenant_id = e.tenant_id AND p.id = e.project_id"                                  \
    " LEFT JOIN users u ON u.id = e.author_id "
#define COL_COUNT 26

/* Visible to the caller ($1 tenant, $2 user): the same rule as the row-level-security policy, stated again. */
#define VISIBLE " e.tenant_id = $1 AND (e.visibility = 'team' OR e.author_id = $2) "

/* The optional list filters ($6..$13) on the rows of alias A; NULL parameters switch a filter off. */
#define FILTERS_ON(A)                                                                                                \
    " AND ($6::date IS NULL OR " A ".occurred_on >= $6::date) AND ($7::date IS NULL OR " A ".occurred_on <= $7::date)" \
    " AND ($8::text IS NULL OR " A ".tags @> ARRAY[$8::text]) AND ($9::bigint IS NULL OR " A ".project_id = $9::bigint)" \
    " AND ($10::bigint IS NULL OR " A ".client_id = $10::bigint) AND ($11::text IS NULL OR " A ".work_type = $11::text)" \
    " AND ($12::text IS NULL OR " A ".status = $12::text) AND ($13::bigint IS NULL OR " A ".author_id = $13::bigint)"
/* Search: live entries, or ($14) the trash; the custom plan folds the CASE (see list_tx). */
#define SEARCH_FILTERS                                                                                               \
    " AND (CASE WHEN $14::bool THEN e.deleted_at > now() - interval '30 days' ELSE e.deleted_at IS NULL END)"      \
    FILTERS_ON("e")

#define TSQ "websearch_to_tsquery('english', $15)"
#define HEADLINE_OPTS "'StartSel=\x01, StopSel=\x02, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"'"

/* Writable columns, in the order entry_params() produces them ($3..$19 of insert and update). */
#define WRITABLE_SELECT                                                                                              \
    "e.occurred_on::text, e.title, e.content, e.outcome, e.impact, e.next_steps, e.effort_minutes, e.work_type, " \
    "e.status, array_to_json(e.tags)::text, e.client_id, e.project_id, e.visibility, e.impact_score, "             \
    "e.impact_score_source, e.source, e.import_key"

static const ar_db_stmt statements[] = {
    {"worklog_refs",
     "SELECT (SELECT true FROM clients WHERE tenant_id = $1 AND id = $2::bigint), "
     "(SELECT true FROM projects WHERE tenant_id = $1 AND id = $3::bigint), "
     "(SELECT client_id FROM projects WHERE tenant_id = $1 AND id = $3::bigint)"},
    {"worklog_insert",
     "INSERT INTO worklog_entries (tenant_id, author_id, occurred_on, title, content, outcome, impact, next_steps, "
     "effort_minutes, work_type, status, tags, client_id, project_id, visibility, impact_score, impact_score_source, "
     "source, import_key, created_at, updated_at) "
     "VALUES ($1, $2, $3::date, $4, $5, $6, $7, $8, $9::int, $10, $11, ARRAY(SELECT json_array_elements_text($12::json)), "
     "$13::bigint, $14::bigint, $15, $16::smallint, $17, $18, $19, coalesce($20::timestamptz, now()), "
     "coalesce($21::timestamptz, $20::timestamptz, now())) "
     "ON CONFLICT (tenant_id, import_key) WHERE import_key IS NOT NULL DO NOTHING RETURNING id"},
    {"worklog_import_key_id", "SELECT id FROM worklog_entries WHERE tenant_id = $1 AND import_key = $2"},
    {"worklog_get",
     "SELECT " ENTRY_COLS("e.content") " FROM worklog_entries e" ENTRY_JOINS
     "WHERE" VISIBLE "AND e.id = $3 AND ($4::bool OR e.deleted_at IS NULL)"},
    {"worklog_lock",
     "SELECT e.author_id, e.deleted_at IS NOT NULL, coalesce(e.deleted_at > now() - interval '30 days', false), "
     WRITABLE_SELECT " FROM worklog_entries e WHERE" VISIBLE "AND e.id = $3 FOR UPDATE"},
    {"worklog_update",
     "UPDATE worklog_entries SET occurred_on = $3::date, title = $4, content = $5, outcome = $6, impact = $7, "
     "next_steps = $8, effort_minutes = $9::int, work_type = $10, status = $11, "
     "tags = ARRAY(SELECT json_array_elements_text($12::json)), client_id = $13::bigint, project_id = $14::bigint, "
     "visibility = $15, impact_score = $16::smallint, impact_score_source = $17, source = $18, import_key = $19, "
     "updated_at = now() WHERE tenant_id = $1 AND id = $2"},
    {"worklog_set_deleted",
     "UPDATE worklog_entries SET deleted_at = CASE WHEN $3::bool THEN now() END WHERE tenant_id = $1 AND id = $2"},
    /* The page's ids first (an index-only scan of worklog_entries_list for the plain list: the row-level-security
     * clause defeats the planner's row estimate, so a join before the LIMIT would read the whole tenant), then
     * the columns and joins for those rows only. */
    {"worklog_list",
     "WITH page AS MATERIALIZED (SELECT e.id FROM worklog_entries e "
     "WHERE" VISIBLE "AND e.deleted_at IS NULL AND (e.occurred_on, e.id) < ($3::date, $4::bigint) "
     "ORDER BY e.occurred_on DESC, e.id DESC LIMIT $5) "
     "SELECT " LIST_COLS " FROM page JOIN worklog_entries e ON e.id = page.id" ENTRY_JOINS
     "WHERE e.tenant_id = $1 ORDER BY e.occurred_on DESC, e.id DESC"},
    /* Filters: the live entries' ids in index order (index-only, fenced by OFFSET 0 so the filters are not
     * pushed into it), each row checked against the filters, stopping after one page: ~0.4 ms instead of the
     * 8 ms of a bitmap scan and sort of the whole workspace that the misestimated plan would pick. */
    {"worklog_list_filtered",
     "WITH page AS MATERIALIZED (SELECT x.id FROM (SELECT e.id, e.occurred_on FROM worklog_entries e "
     "WHERE" VISIBLE "AND e.deleted_at IS NULL AND (e.occurred_on, e.id) < ($3::date, $4::bigint) "
     "ORDER BY e.occurred_on DESC, e.id DESC OFFSET 0) x "
     "JOIN worklog_entries f ON f.id = x.id AND f.tenant_id = $1 WHERE true" FILTERS_ON("f") " "
     "ORDER BY x.occurred_on DESC, x.id DESC LIMIT $5) "
     "SELECT " LIST_COLS " FROM page JOIN worklog_entries e ON e.id = page.id" ENTRY_JOINS
     "WHERE e.tenant_id = $1 ORDER BY e.occurred_on DESC, e.id DESC"},
    /* The trash: entries deleted in the last 30 days (few), same order and filters. */
    {"worklog_list_trash",
     "WITH page AS MATERIALIZED (SELECT e.id FROM worklog_entries e "
     "WHERE" VISIBLE "AND e.deleted_at > now() - interval '30 days'" FILTERS_ON("e") " "
     "AND (e.occurred_on, e.id) < ($3::date, $4::bigint) ORDER BY e.occurred_on DESC, e.id DESC LIMIT $5) "
     "SELECT " LIST_COLS " FROM page JOIN worklog_entries e ON e.id = page.id" ENTRY_JOINS
     "WHERE e.tenant_id = $1 ORDER BY e.occurred_on DESC, e.id DESC"},
    /* The query is written out (not a CTE) so that, in a custom plan, it is a constant the planner can use with
     * the GIN index and estimate: a rare word goes through the index, a common one through the tenant's rows. */
    {"worklog_search",
     "WITH page AS MATERIALIZED (SELECT e.id, (to_tsvector('english', e.title) @@ " TSQ ")::int AS title_hit, "
     "ts_rank_cd(e.search, " TSQ ") AS rank FROM worklog_entries e "
     "WHERE" VISIBLE SEARCH_FILTERS " AND e.search @@ " TSQ " "
     "AND ((to_tsvector('english', e.title) @@ " TSQ ")::int, ts_rank_cd(e.search, " TSQ "), e.occurred_on, e.id) "
     "< ($16::int, $17::real, $3::date, $4::bigint) "
     "ORDER BY 2 DESC, 3 DESC, e.occurred_on DESC, e.id DESC LIMIT $5) "
     "SELECT " LIST_COLS ", page.title_hit, page.rank::text, "
     "ts_headline('english', e.content, " TSQ ", " HEADLINE_OPTS ") "
     "FROM page JOIN worklog_entries e ON e.id = page.id" ENTRY_JOINS "WHERE e.tenant_id = $1 "
     "ORDER BY page.title_hit DESC, page.rank DESC, e.occurred_on DESC, e.id DESC"},
    /* Before a search: a custom plan (the tsquery is folded into a constant once); and a query of stop words only
     * ("the") makes PostgreSQL send a NOTICE that libpq would print on stderr, in the middle of the JSON log. */
    {"worklog_custom_plans",
     "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('client_min_messages', 'warning', true)"},
    {"worklog_tags",
     "SELECT t, count(*) FROM worklog_entries e CROSS JOIN LATERAL unnest(e.tags) t "
     "WHERE" VISIBLE "AND e.deleted_at IS NULL AND left(t, length($3)) = $3 "
     "GROUP BY t ORDER BY count(*) DESC, t LIMIT $4"},
    {"worklog_day_counts",
     "WITH r AS (SELECT coalesce($3::date, (now() AT TIME ZONE 'UTC')::date) AS end_d), "
     "b AS (SELECT (end_d - interval '1 year' + interval '1 day')::date AS start_d, end_d FROM r) "
     "SELECT b.start_d::text, b.end_d::text, coalesce((SELECT json_agg(json_build_object('date', d::text, 'count', n) "
     "ORDER BY d) FROM (SELECT e.occurred_on AS d, count(*) AS n FROM worklog_entries e "
     "WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND e.occurred_on BETWEEN b.start_d AND b.end_d "
     "AND (e.author_id = $2 OR ($4::bool AND e.visibility = 'team')) GROUP BY e.occurred_on) x), '[]')::text FROM b"},
};

void ar_worklog_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

const char *ar_worklog_id_param(long long id, char buf[24])
{
    if (id <= 0) return NULL;
    snprintf(buf, 24, "%lld", id);
    return buf;
}

int ar_worklog_can_write(const ar_ctx *ctx)
{
    return ctx->user_id > 0 && ctx->tenant_id > 0 && ctx->role >= AR_ROLE_MEMBER;
}

int ar_worklog_require_role(const ar_ctx *ctx, int write, ar_error *err)
{
    if (ctx->user_id <= 0 || ctx->tenant_id <= 0 || ctx->role < AR_ROLE_READ_ONLY) {
        ar_error_set(err, AR_ERR_FORBIDDEN, "Choose a workspace you are a member of first.");
        return -1;
    }
    if (write && !ar_worklog_can_write(ctx)) {
        ar_error_set(err, AR_ERR_FORBIDDEN, "Your role in this workspace is read-only.");
        return -1;
    }
    return 0;
}

static int require_reader(const ar_ctx *ctx, ar_error *err)
{
    return ar_worklog_require_role(ctx, 0, err);
}

static int require_writer(const ar_ctx *ctx, ar_error *err)
{
    return ar_worklog_require_role(ctx, 1, err);
}

/* ---- rows to JSON -------------------------------------------------------------------------------------- */

static json_t *col_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_integer(atoll(PQgetvalue(r, row, col)));
}

static json_t *col_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *col_json(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return json_array();
    json_t *v = json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
    return v ? v : json_array();
}

/* ---- entries as JSON text ------------------------------------------------------------------------------
 * An entry is written straight from the row as JSON text (the list's hot path never builds jansson objects);
 * the json_t forms parse that text, so the shape is defined once, here. */

/* A JSON string (PostgreSQL text is valid UTF-8; control characters are escaped). */
static void put_json_string(ar_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    ar_buf_putc(b, '"');
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\') continue;
        ar_buf_append(b, run, (size_t)((const char *)p - run));
        run = (const char *)p + 1;
        switch (*p) {
        case '"': ar_buf_puts(b, "\\\""); break;
        case '\\': ar_buf_puts(b, "\\\\"); break;
        case '\n': ar_buf_puts(b, "\\n"); break;
        case '\r': ar_buf_puts(b, "\\r"); break;
        case '\t': ar_buf_puts(b, "\\t"); break;
        default: {
            char esc[7] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], 0};
            ar_buf_puts(b, esc);
        }
        }
    }
    ar_buf_puts(b, run);
    ar_buf_putc(b, '"');
}

/* ,"name":<value> with the column as a string, a number (PostgreSQL's integer/real text) or raw JSON. */
enum { COL_STRING, COL_NUMBER, COL_RAW };
static void put_field(ar_buf *b, const char *name, const PGresult *r, int row, int col, int kind)
{
    ar_buf_printf(b, ",\"%s\":", name);
    if (PQgetisnull(r, row, col))
        ar_buf_puts(b, kind == COL_RAW ? "[]" : "null");
    else if (kind == COL_STRING)
        put_json_string(b, PQgetvalue(r, row, col));
    else
        ar_buf_puts(b, PQgetvalue(r, row, col));
}

/* The entry of ENTRY_COLS at row as a JSON object (list rows: content_truncated from column COL_COUNT; search
 * rows: rank and the HTML-safe snippet from the columns after it). */
static void put_entry(ar_buf *b, const PGresult *r, int row, int list, int search)
{
    ar_buf_printf(b, "{\"id\":%s", PQgetvalue(r, row, 0));
    put_field(b, "occurred_on", r, row, 1, COL_STRING);
    put_field(b, "title", r, row, 2, COL_STRING);
    put_field(b, "content", r, row, 3, COL_STRING);
    if (list) ar_buf_printf(b, ",\"content_truncated\":%s", PQgetvalue(r, row, COL_COUNT)[0] == 't' ? "true" : "false");
    put_field(b, "outcome", r, row, 4, COL_STRING);
    put_field(b, "impact", r, row, 5, COL_STRING);
    put_field(b, "next_steps", r, row, 6, COL_STRING);
    put_field(b, "effort_minutes", r, row, 7, COL_NUMBER);
    if (PQgetisnull(r, row, 7)) {
        ar_buf_puts(b, ",\"hours\":null");
    } else { /* minutes / 60 to two decimals, without trailing zeros ("1.5", "2.0", "0.33") */
        char h[32];
        snprintf(h, sizeof h, "%.2f", round(atof(PQgetvalue(r, row, 7)) / 60.0 * 100.0) / 100.0);
        size_t n = strlen(h);
        while (n > 0 && h[n - 1] == '0' && h[n - 2] != '.') h[--n] = '\0';
        ar_buf_printf(b, ",\"hours\":%s", h);
    }
    put_field(b, "work_type", r, row, 8, COL_STRING);
    put_field(b, "status", r, row, 9, COL_STRING);
    put_field(b, "tags", r, row, 10, COL_RAW); /* array_to_json() text */
    put_field(b, "client", r, row, 11, COL_NUMBER);
    put_field(b, "client_name", r, row, 12, COL_STRING);
    put_field(b, "project", r, row, 13, COL_NUMBER);
    put_field(b, "project_name", r, row, 14, COL_STRING);
    put_field(b, "visibility", r, row, 15, COL_STRING);
    put_field(b, "impact_score", r, row, 16, COL_NUMBER);
    put_field(b, "impact_score_source", r, row, 17, COL_STRING);
    put_field(b, "source", r, row, 18, COL_STRING);
    put_field(b, "import_key", r, row, 19, COL_STRING);
    put_field(b, "author", r, row, 20, COL_NUMBER);
    put_field(b, "author_username", r, row, 21, COL_STRING);
    put_field(b, "created_at", r, row, 22, COL_STRING);
    put_field(b, "updated_at", r, row, 23, COL_STRING);
    put_field(b, "deleted_at", r, row, 24, COL_STRING);
    put_field(b, "attachment_count", r, row, 25, COL_NUMBER);
    if (search) {
        put_field(b, "rank", r, row, COL_COUNT + 2, COL_NUMBER);
        char *snippet = ar_worklog_snippet_html(PQgetvalue(r, row, COL_COUNT + 3));
        ar_buf_puts(b, ",\"snippet\":");
        put_json_string(b, snippet);
        free(snippet);
    }
    ar_buf_putc(b, '}');
}

/* The full entry at row as a json_t. */
static json_t *row_to_entry(const PGresult *r, int row, int list)
{
    ar_buf b;
    ar_buf_init(&b);
    put_entry(&b, r, row, list, 0);
    json_t *o = json_loads(ar_buf_cstr(&b), 0, NULL);
    ar_buf_free(&b);
    return o ? o : json_object();
}

/* The writable fields of a locked row (WRITABLE_SELECT starting at column first) as a canonical object. */
static json_t *row_to_writable(const PGresult *r, int row, int first)
{
    static const char *const names[] = {"occurred_on", "title",      "content",      "outcome", "impact", "next_steps",
                                        "effort_minutes", "work_type", "status",     "tags",    "client", "project",
                                        "visibility", "impact_score", "impact_score_source", "source", "import_key"};
    json_t *o = json_object();
    for (int i = 0; i < 17; i++) {
        int col = first + i;
        json_t *v;
        if (i == 9)
            v = col_json(r, row, col);
        else if (i == 6 || i == 10 || i == 11 || i == 13)
            v = col_int(r, row, col);
        else
            v = col_text(r, row, col);
        json_object_set_new(o, names[i], v);
    }
    return o;
}

/* ---- parameters -------------------------------------------------------------------------------------- */

typedef struct entry_params {
    const char *v[17];
    char nums[5][24];
    char *tags;
} entry_params;

static const char *str_or_null(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name)); /* NULL for null/absent */
}

static const char *int_or_null(const json_t *o, const char *name, char buf[24])
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v)) return NULL;
    snprintf(buf, 24, "%lld", (long long)json_integer_value(v));
    return buf;
}

/* The 17 writable values of a canonical entry, as text parameters (free with entry_params_free). */
static void entry_params_fill(entry_params *p, const json_t *e)
{
    p->v[0] = str_or_null(e, "occurred_on");
    p->v[1] = str_or_null(e, "title");
    p->v[2] = str_or_null(e, "content");
    p->v[3] = str_or_null(e, "outcome");
    p->v[4] = str_or_null(e, "impact");
    p->v[5] = str_or_null(e, "next_steps");
    p->v[6] = int_or_null(e, "effort_minutes", p->nums[0]);
    p->v[7] = str_or_null(e, "work_type");
    p->v[8] = str_or_null(e, "status");
    json_t *tags = json_object_get(e, "tags");
    p->tags = json_is_array(tags) ? json_dumps(tags, JSON_COMPACT) : ar_strdup("[]");
    p->v[9] = p->tags;
    p->v[10] = int_or_null(e, "client", p->nums[1]);
    p->v[11] = int_or_null(e, "project", p->nums[2]);
    p->v[12] = str_or_null(e, "visibility");
    p->v[13] = int_or_null(e, "impact_score", p->nums[3]);
    p->v[14] = str_or_null(e, "impact_score_source");
    p->v[15] = str_or_null(e, "source");
    p->v[16] = str_or_null(e, "import_key");
}

static void entry_params_free(entry_params *p)
{
    free(p->tags);
    p->tags = NULL;
}

/* ---- checks inside a transaction ---------------------------------------------------------------------- */

/* Client and project must be the tenant's and agree; a missing client is taken from the project. Updates e.
 * 0, or -1 with a validation error (the transaction stays usable) or a database error. */
static int check_refs(PGconn *c, const ar_ctx *ctx, json_t *e, ar_error *err)
{
    json_t *cv = json_object_get(e, "client"), *pv = json_object_get(e, "project");
    if (!json_is_integer(cv) && !json_is_integer(pv)) return 0;
    char tenant[24], cb[24], pb[24];
    snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    const char *params[3] = {tenant, int_or_null(e, "client", cb), int_or_null(e, "project", pb)};
    PGresult *r = ar_db_exec(c, "worklog_refs", 3, params, err);
    if (!r) return -1;
    int client_ok = !PQgetisnull(r, 0, 0), project_ok = !PQgetisnull(r, 0, 1);
    long long project_client = PQgetisnull(r, 0, 2) ? 0 : atoll(PQgetvalue(r, 0, 2));
    PQclear(r);
    if (json_is_integer(cv) && !client_ok) ar_error_field(err, "client", "Select a valid client.");
    if (json_is_integer(pv) && !project_ok) ar_error_field(err, "project", "Select a valid project.");
    if (!err->fields && json_is_integer(pv)) {
        if (!json_is_integer(cv)) {
            if (project_client > 0) json_object_set_new(e, "client", json_integer(project_client));
        } else if (project_client != (long long)json_integer_value(cv)) {
            ar_error_field(err, "project", "Project does not belong to selected client.");
        }
    }
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, "The entry was not saved: check the fields."), -1;
    return 0;
}

static int resolve_names(PGconn *c, const ar_ctx *ctx, json_t *e, ar_error *err)
{
    const char *client_name = str_or_null(e, "client_name"), *project_name = str_or_null(e, "project_name");
    long long client_id = 0, project_id = 0;
    if (client_name) {
        if (ar_client_find_or_create_in_tx(c, ctx, client_name, &client_id, err) != 0) return -1;
        json_object_set_new(e, "client", json_integer(client_id));
    }
    if (project_name) {
        if (!client_id && json_is_integer(json_object_get(e, "client")))
            client_id = (long long)json_integer_value(json_object_get(e, "client"));
        if (ar_project_find_or_create_in_tx(c, ctx, project_name, client_id, &project_id, err) != 0) return -1;
        json_object_set_new(e, "project", json_integer(project_id));
    }
    return 0;
}

static int audit_entry(PGconn *c, const ar_ctx *ctx, const char *action, long long id, json_t *details, ar_error *err)
{
    char target[24];
    snprintf(target, sizeof target, "%lld", id);
    ar_audit_event ev = {.action = action, .target_type = "worklog_entry", .target_id = target, .success = 1,
                         .details = details};
    int rc = ar_audit_write(c, ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_worklog_insert_in_tx(PGconn *c, const ar_ctx *ctx, const json_t *entry, unsigned flags, int skip_existing,
                            long long *id_out, ar_error *err)
{
    *id_out = 0;
    if (!json_is_object(entry) || (flags & AR_WORKLOG_PARTIAL) || !json_is_string(json_object_get(entry, "content")))
        return ar_error_set(err, AR_ERR_INTERNAL, "ar_worklog_insert_in_tx needs a validated entry."), -1;
    json_t *e = json_deep_copy(entry);
    int rc = -1;
    entry_params ep = {0};
    if ((flags & AR_WORKLOG_IMPORT) && resolve_names(c, ctx, e, err) != 0) goto done;
    if (check_refs(c, ctx, e, err) != 0) goto done;
    char tenant[24], user[24];
    snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", ctx->user_id);
    entry_params_fill(&ep, e);
    const char *params[21] = {tenant, user};
    memcpy(params + 2, ep.v, sizeof ep.v);
    params[19] = (flags & AR_WORKLOG_IMPORT) ? str_or_null(e, "created_at") : NULL;
    params[20] = (flags & AR_WORKLOG_IMPORT) ? str_or_null(e, "updated_at") : NULL;
    PGresult *r = ar_db_exec(c, "worklog_insert", 21, params, err);
    if (!r) goto done;
    if (PQntuples(r) == 1) {
        *id_out = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        rc = audit_entry(c, ctx, "worklog.created", *id_out,
                         json_pack("{s:s,s:s}", "occurred_on", ep.v[0], "source", ep.v[15]), err);
        goto done;
    }
    PQclear(r);
    if (!skip_existing) {
        ar_error_field(err, "import_key", "An entry with this import key already exists.");
        ar_error_set(err, AR_ERR_CONFLICT, "An entry with this import key already exists.");
        goto done;
    }
    const char *kp[2] = {tenant, ep.v[16]};
    r = ar_db_exec(c, "worklog_import_key_id", 2, kp, err);
    if (!r) goto done;
    if (PQntuples(r) == 1) *id_out = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    rc = 1;
done:
    entry_params_free(&ep);
    json_decref(e);
    return rc;
}

/* The full entry by id inside a transaction, or NULL with AR_ERR_NOT_FOUND. */
static json_t *get_in_tx(PGconn *c, const ar_ctx *ctx, long long id, int include_deleted, ar_error *err)
{
    char tenant[24], user[24], idb[24];
    snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", ctx->user_id);
    snprintf(idb, sizeof idb, "%lld", id);
    const char *params[4] = {tenant, user, idb, include_deleted ? "true" : "false"};
    PGresult *r = ar_db_exec(c, "worklog_get", 4, params, err);
    if (!r) return NULL;
    json_t *o = NULL;
    if (PQntuples(r) == 1)
        o = row_to_entry(r, 0, 0);
    else
        ar_error_set(err, AR_ERR_NOT_FOUND, "No such entry.");
    PQclear(r);
    return o;
}

typedef struct create_args {
    const ar_ctx *ctx;
    const json_t *entry;
    json_t *out;
} create_args;

static int create_tx(PGconn *c, void *arg, ar_error *err)
{
    create_args *a = arg;
    long long id;
    if (ar_worklog_insert_in_tx(c, a->ctx, a->entry, 0, 0, &id, err) != 0) return -1;
    a->out = get_in_tx(c, a->ctx, id, 0, err);
    return a->out ? 0 : -1;
}

json_t *ar_worklog_create(const ar_ctx *ctx, const json_t *body, ar_error *err)
{
    if (require_writer(ctx, err) != 0) return NULL;
    json_t *entry = ar_worklog_validate(body, 0, err);
    if (!entry) return NULL;
    create_args a = {ctx, entry, NULL};
    int rc = ar_ctx_tx(ctx, create_tx, &a, err);
    json_decref(entry);
    if (rc != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

typedef struct get_args {
    const ar_ctx *ctx;
    long long id;
    int include_deleted;
    json_t *out;
} get_args;

static int get_tx(PGconn *c, void *arg, ar_error *err)
{
    get_args *a = arg;
    a->out = get_in_tx(c, a->ctx, a->id, a->include_deleted, err);
    return a->out ? 0 : -1;
}

json_t *ar_worklog_get(const ar_ctx *ctx, long long id, int include_deleted, ar_error *err)
{
    if (require_reader(ctx, err) != 0) return NULL;
    if (id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such entry."), NULL;
    get_args a = {ctx, id, include_deleted, NULL};
    if (ar_ctx_tx(ctx, get_tx, &a, err) != 0) return NULL;
    return a.out;
}

/* Lock the entry for a change. want_deleted: 0 = must be live, 1 = must be deleted and restorable. On success
 * *current gets the canonical writable fields (caller decrefs) and *author the author id. */
static int lock_entry(PGconn *c, const ar_ctx *ctx, long long id, int want_deleted, json_t **current, ar_error *err)
{
    char tenant[24], user[24], idb[24];
    snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", ctx->user_id);
    snprintf(idb, sizeof idb, "%lld", id);
    const char *params[3] = {tenant, user, idb};
    PGresult *r = ar_db_exec(c, "worklog_lock", 3, params, err);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such entry."), -1;
    }
    long long author = PQgetisnull(r, 0, 0) ? 0 : atoll(PQgetvalue(r, 0, 0));
    int deleted = PQgetvalue(r, 0, 1)[0] == 't', restorable = PQgetvalue(r, 0, 2)[0] == 't';
    const char *visibility = PQgetvalue(r, 0, 3 + 12);
    int team = strcmp(visibility, "team") == 0;
    if (!want_deleted && deleted) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such entry."), -1;
    }
    if (want_deleted && (!deleted || !restorable)) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND,
                            deleted ? "This entry was deleted more than 30 days ago and cannot be restored."
                                    : "This entry is not deleted."),
               -1;
    }
    if (author != ctx->user_id && !(team && ctx->role >= AR_ROLE_ADMIN)) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Only the author (or a workspace admin, for team entries) can "
                                                   "change this entry."),
               -1;
    }
    *current = row_to_writable(r, 0, 3);
    json_object_set_new(*current, "_author", json_integer(author));
    PQclear(r);
    return 0;
}

typedef struct update_args {
    const ar_ctx *ctx;
    long long id;
    const json_t *body;
    int partial;
    json_t *out;
} update_args;

static int update_tx(PGconn *c, void *arg, ar_error *err)
{
    update_args *a = arg;
    json_t *current = NULL, *merged = NULL, *changed = NULL;
    entry_params ep = {0};
    int rc = -1;
    if (lock_entry(c, a->ctx, a->id, 0, &current, err) != 0) return -1;
    long long author = (long long)json_integer_value(json_object_get(current, "_author"));
    json_object_del(current, "_author");
    json_t *input = ar_worklog_validate(a->body, a->partial ? AR_WORKLOG_PARTIAL : 0, err);
    if (!input) goto done;
    if (a->partial) {
        merged = json_deep_copy(current);
        json_object_update(merged, input);
        json_t *score = json_object_get(merged, "impact_score");
        if (json_is_null(score))
            json_object_set_new(merged, "impact_score_source", json_null());
        else if (json_is_null(json_object_get(merged, "impact_score_source")))
            json_object_set_new(merged, "impact_score_source", json_string("user"));
        json_decref(input);
    } else {
        merged = input;
    }
    if (author != a->ctx->user_id && strcmp(str_or_null(merged, "visibility"), "team") != 0) {
        ar_error_field(err, "visibility", "Only the author can make an entry private.");
        ar_error_set(err, AR_ERR_VALIDATION, "The entry was not saved: check the fields.");
        goto done;
    }
    if (check_refs(c, a->ctx, merged, err) != 0) goto done;
    entry_params_fill(&ep, merged);
    char tenant[24], idb[24];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(idb, sizeof idb, "%lld", a->id);
    const char *params[19] = {tenant, idb};
    memcpy(params + 2, ep.v, sizeof ep.v);
    PGresult *r = ar_db_exec(c, "worklog_update", 19, params, err);
    if (!r) {
        if (err->code == AR_ERR_CONFLICT) ar_error_field(err, "import_key", "An entry with this import key already exists.");
        goto done;
    }
    PQclear(r);
    changed = json_array();
    const char *key;
    json_t *value;
    json_object_foreach(merged, key, value) {
        if (!json_equal(value, json_object_get(current, key))) json_array_append_new(changed, json_string(key));
    }
    if (audit_entry(c, a->ctx, "worklog.updated", a->id, json_pack("{s:O}", "fields", changed), err) != 0) goto done;
    a->out = get_in_tx(c, a->ctx, a->id, 0, err);
    rc = a->out ? 0 : -1;
done:
    entry_params_free(&ep);
    json_decref(changed);
    json_decref(merged);
    json_decref(current);
    return rc;
}

json_t *ar_worklog_update(const ar_ctx *ctx, long long id, const json_t *body, int partial, ar_error *err)
{
    if (require_writer(ctx, err) != 0) return NULL;
    if (id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such entry."), NULL;
    if (!json_is_object(body)) return ar_error_set(err, AR_ERR_INVALID_JSON, "Send the entry as a JSON object."), NULL;
    update_args a = {ctx, id, body, partial, NULL};
    if (ar_ctx_tx(ctx, update_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

typedef struct delete_args {
    const ar_ctx *ctx;
    long long id;
    int restore;
    json_t *out;
} delete_args;

static int delete_tx(PGconn *c, void *arg, ar_error *err)
{
    delete_args *a = arg;
    json_t *current = NULL;
    if (lock_entry(c, a->ctx, a->id, a->restore, &current, err) != 0) return -1;
    json_decref(current);
    char tenant[24], idb[24];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(idb, sizeof idb, "%lld", a->id);
    const char *params[3] = {tenant, idb, a->restore ? "false" : "true"};
    PGresult *r = ar_db_exec(c, "worklog_set_deleted", 3, params, err);
    if (!r) return -1;
    PQclear(r);
    if (audit_entry(c, a->ctx, a->restore ? "worklog.restored" : "worklog.deleted", a->id, NULL, err) != 0) return -1;
    if (!a->restore) return 0;
    a->out = get_in_tx(c, a->ctx, a->id, 0, err);
    return a->out ? 0 : -1;
}

int ar_worklog_delete(const ar_ctx *ctx, long long id, ar_error *err)
{
    if (require_writer(ctx, err) != 0) return -1;
    if (id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such entry."), -1;
    delete_args a = {ctx, id, 0, NULL};
    return ar_ctx_tx(ctx, delete_tx, &a, err);
}

json_t *ar_worklog_restore(const ar_ctx *ctx, long long id, ar_error *err)
{
    if (require_writer(ctx, err) != 0) return NULL;
    if (id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such entry."), NULL;
    delete_args a = {ctx, id, 1, NULL};
    if (ar_ctx_tx(ctx, delete_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

/* ---- list and search ----------------------------------------------------------------------------------- */

static const char *const list_work_types[] = {"delivery", "planning", "incident", "support", "learning", "other", NULL};
static const char *const list_statuses[] = {"draft", "final", "archived", NULL};

static int in_set(const char *s, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (strcmp(s, set[i]) == 0) return 1;
    return 0;
}

typedef struct list_args {
    const ar_ctx *ctx;
    const ar_worklog_filter *f;
    int limit;
    int filtered;
    ar_worklog_cursor cur;
    int has_cursor;
    char tag[4 * AR_TAG_MAX_CHARS + 8];
    ar_buf *out;      /* the page as JSON text, appended from out_start */
    size_t out_start;
} list_args;

/* Cut b back to len (a retried transaction starts its page again). */
static void buf_truncate(ar_buf *b, size_t len)
{
    b->len = len;
    if (b->data) b->data[len] = '\0';
}

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    const ar_worklog_filter *f = a->f;
    int search = f->search && *f->search;
    char tenant[24], user[24], cur_id[24], limit[16], project[24], client[24], author[24], hit[4];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    snprintf(cur_id, sizeof cur_id, "%lld", a->has_cursor ? a->cur.id : 0LL);
    snprintf(limit, sizeof limit, "%d", a->limit + 1);
    snprintf(hit, sizeof hit, "%d", a->has_cursor ? a->cur.title_hit : 2);
    const char *params[17] = {tenant, user, a->has_cursor ? a->cur.occurred_on : "infinity", cur_id, limit};
    int nparams = 5;
    const char *stmt = "worklog_list";
    if (a->filtered || search) {
        if (search) { /* the tsquery becomes a constant (parsed once, not per row) only in a custom plan */
            PGresult *s = ar_db_exec(c, "worklog_custom_plans", 0, NULL, err);
            if (!s) return -1;
            PQclear(s);
        }
        params[5] = f->start_date && *f->start_date ? f->start_date : NULL;
        params[6] = f->end_date && *f->end_date ? f->end_date : NULL;
        params[7] = a->tag[0] ? a->tag : NULL;
        params[8] = ar_worklog_id_param(f->project_id, project);
        params[9] = ar_worklog_id_param(f->client_id, client);
        params[10] = f->work_type && *f->work_type ? f->work_type : NULL;
        params[11] = f->status && *f->status ? f->status : NULL;
        params[12] = ar_worklog_id_param(f->author_id, author);
        nparams = 13;
        stmt = f->deleted ? "worklog_list_trash" : "worklog_list_filtered";
        if (search) {
            params[13] = f->deleted ? "true" : "false";
            params[14] = f->search;
            params[15] = hit;
            params[16] = a->has_cursor ? a->cur.rank : "0";
            nparams = 17;
            stmt = "worklog_search";
        }
    }
    /* Without a connection (plain lists: one statement), the statement runs in a transaction of its own sent as
     * one pipeline (BEGIN, RLS settings, list, COMMIT): one round trip per page. */
    PGresult *r = c ? ar_db_exec(c, stmt, nparams, params, err) : ar_ctx_query_once(a->ctx, stmt, nparams, params, err);
    if (!r) return -1;
    int n = PQntuples(r);
    int shown = n > a->limit ? a->limit : n;
    buf_truncate(a->out, a->out_start);
    ar_buf_puts(a->out, "{\"results\":[");
    for (int i = 0; i < shown; i++) {
        if (i) ar_buf_putc(a->out, ',');
        put_entry(a->out, r, i, 1, search);
    }
    ar_buf_puts(a->out, "],\"next\":");
    char text[AR_WORKLOG_CURSOR_MAX] = "";
    if (n > a->limit && shown > 0) {
        ar_worklog_cursor nc = {.kind = search ? 's' : 'd', .id = atoll(PQgetvalue(r, shown - 1, 0))};
        snprintf(nc.occurred_on, sizeof nc.occurred_on, "%s", PQgetvalue(r, shown - 1, 1));
        if (search) {
            nc.title_hit = atoi(PQgetvalue(r, shown - 1, COL_COUNT + 1));
            snprintf(nc.rank, sizeof nc.rank, "%s", PQgetvalue(r, shown - 1, COL_COUNT + 2));
        }
        if (ar_worklog_cursor_encode(&nc, text, sizeof text) != 0) text[0] = '\0';
    }
    PQclear(r);
    if (text[0])
        ar_buf_printf(a->out, "\"%s\"}", text); /* base64url: nothing to escape */
    else
        ar_buf_puts(a->out, "null}");
    return 0;
}

int ar_worklog_list_text(const ar_ctx *ctx, const ar_worklog_filter *f, ar_buf *out, ar_error *err)
{
    if (require_reader(ctx, err) != 0) return -1;
    ar_worklog_filter none = {0};
    if (!f) f = &none;
    list_args a = {.ctx = ctx, .f = f, .out = out};
    a.limit = f->limit == 0 ? AR_WORKLOG_LIST_DEFAULT : f->limit;
    if (a.limit < 1 || a.limit > AR_WORKLOG_LIST_MAX) ar_error_field(err, "limit", "Ensure this value is from 1 to 100.");
    if (f->start_date && *f->start_date && !ar_worklog_date_ok(f->start_date))
        ar_error_field(err, "start_date", "Enter a valid date (YYYY-MM-DD).");
    if (f->end_date && *f->end_date && !ar_worklog_date_ok(f->end_date))
        ar_error_field(err, "end_date", "Enter a valid date (YYYY-MM-DD).");
    if (f->work_type && *f->work_type && !in_set(f->work_type, list_work_types))
        ar_error_field(err, "work_type", "Select a valid choice: delivery, planning, incident, support, learning or other.");
    if (f->status && *f->status && !in_set(f->status, list_statuses))
        ar_error_field(err, "status", "Select a valid choice: draft, final or archived.");
    if (f->project_id < 0) ar_error_field(err, "project", "Select a valid project.");
    if (f->client_id < 0) ar_error_field(err, "client", "Select a valid client.");
    if (f->tag && *f->tag && ar_tag_normalise_one(f->tag, strlen(f->tag), a.tag, sizeof a.tag) < 0)
        ar_error_field(err, "tag", "Enter a tag of at most 50 characters.");
    int search = f->search && *f->search;
    if (search && (!ar_worklog_text_ok(f->search, strlen(f->search), 0) ||
                   ar_worklog_char_count(f->search, strlen(f->search)) > 200))
        ar_error_field(err, "search", "Enter at most 200 characters of text.");
    if (f->cursor && *f->cursor) {
        if (ar_worklog_cursor_decode(f->cursor, &a.cur) != 0 || a.cur.kind != (search ? 's' : 'd'))
            ar_error_field(err, "cursor", "This page link is not valid; start again from the first page.");
        else
            a.has_cursor = 1;
    }
    if (err->fields) return ar_error_set(err, AR_ERR_VALIDATION, "Check the list filters."), -1;
    a.filtered = (f->start_date && *f->start_date) || (f->end_date && *f->end_date) || a.tag[0] || f->project_id ||
                 f->client_id || (f->work_type && *f->work_type) || (f->status && *f->status) || f->author_id ||
                 f->deleted;
    a.out_start = out->len;
    if ((search ? ar_ctx_tx(ctx, list_tx, &a, err) : list_tx(NULL, &a, err)) != 0) {
        buf_truncate(out, a.out_start); /* a failed transaction leaves nothing behind */
        return -1;
    }
    return 0;
}

json_t *ar_worklog_list(const ar_ctx *ctx, const ar_worklog_filter *f, ar_error *err)
{
    ar_buf b;
    ar_buf_init(&b);
    json_t *o = NULL;
    if (ar_worklog_list_text(ctx, f, &b, err) == 0) {
        o = json_loads(ar_buf_cstr(&b), 0, NULL);
        if (!o) ar_error_set(err, AR_ERR_INTERNAL, NULL);
    }
    ar_buf_free(&b);
    return o;
}

/* ---- tags and heat-map --------------------------------------------------------------------------------- */

typedef struct tags_args {
    const ar_ctx *ctx;
    const char *prefix;
    int limit;
    json_t *out;
} tags_args;

static int tags_tx(PGconn *c, void *arg, ar_error *err)
{
    tags_args *a = arg;
    char tenant[24], user[24], limit[16];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    snprintf(limit, sizeof limit, "%d", a->limit);
    const char *params[4] = {tenant, user, a->prefix, limit};
    PGresult *r = ar_db_exec(c, "worklog_tags", 4, params, err);
    if (!r) return -1;
    a->out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(a->out, json_pack("{s:s,s:I}", "name", PQgetvalue(r, i, 0), "count",
                                                (json_int_t)atoll(PQgetvalue(r, i, 1))));
    PQclear(r);
    return 0;
}

json_t *ar_tags_list(const ar_ctx *ctx, const char *prefix, int limit, ar_error *err)
{
    if (require_reader(ctx, err) != 0) return NULL;
    char norm[4 * AR_TAG_MAX_CHARS + 8] = "";
    if (prefix && *prefix && ar_tag_normalise_one(prefix, strlen(prefix), norm, sizeof norm) < 0) {
        ar_error_field(err, "prefix", "Enter at most 50 characters.");
        return ar_error_set(err, AR_ERR_VALIDATION, NULL), NULL;
    }
    if (limit < 0 || limit > 500) {
        ar_error_field(err, "limit", "Ensure this value is from 1 to 500.");
        return ar_error_set(err, AR_ERR_VALIDATION, NULL), NULL;
    }
    tags_args a = {ctx, norm, limit ? limit : 100, NULL};
    if (ar_ctx_tx(ctx, tags_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

typedef struct days_args {
    const ar_ctx *ctx;
    const char *end_date;
    int team;
    json_t *out;
} days_args;

static int days_tx(PGconn *c, void *arg, ar_error *err)
{
    days_args *a = arg;
    char tenant[24], user[24];
    snprintf(tenant, sizeof tenant, "%lld", a->ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    const char *params[4] = {tenant, user, a->end_date, a->team ? "true" : "false"};
    PGresult *r = ar_db_exec(c, "worklog_day_counts", 4, params, err);
    if (!r) return -1;
    json_t *days = json_loads(PQgetvalue(r, 0, 2), 0, NULL);
    a->out = json_pack("{s:s,s:s,s:o}", "start", PQgetvalue(r, 0, 0), "end", PQgetvalue(r, 0, 1), "days",
                       days ? days : json_array());
    PQclear(r);
    return 0;
}

json_t *ar_worklog_day_counts(const ar_ctx *ctx, const char *end_date, int team, ar_error *err)
{
    if (require_reader(ctx, err) != 0) return NULL;
    if (end_date && *end_date && !ar_worklog_date_ok(end_date)) {
        ar_error_field(err, "end_date", "Enter a valid date (YYYY-MM-DD).");
        return ar_error_set(err, AR_ERR_VALIDATION, NULL), NULL;
    }
    days_args a = {ctx, end_date && *end_date ? end_date : NULL, team, NULL};
    if (ar_ctx_tx(ctx, days_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

/* audit.c — the append-only audit log (see audit.h): writing events inside the caller's transaction or
 * in one of their own, listing them with validated filters and keyset pagination, and the CSV export
 * (RFC 4180, spreadsheet formula injection neutralised). Reads go through row-level security: a tenant
 * admin's transaction only sees that tenant's rows; staff read through a system context. */
#include "afterresume/domain/audit.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACTION_MAX 64
#define TARGET_TYPE_MAX 64
#define TARGET_ID_MAX 256
#define REASON_MAX 1000
#define DETAILS_MAX 65536
#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 200
#define EXPORT_BATCH 1000

/* Every filter is a nullable parameter, so one statement serves all combinations; the transactions
 * that run it ask for custom plans so that the absent filters fold away and the indexes are used. */
#define AUDIT_SELECT                                                                                          \
    "SELECT e.id, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), e.actor_id, " \
    "u.username, e.tenant_id, e.action, e.target_type, e.target_id, e.ip, e.user_agent, e.request_id, "      \
    "e.success, e.reason, e.details::text, e.passkey_id "                                                     \
    "FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id "                                             \
    "WHERE ($1::bigint IS NULL OR e.actor_id = $1::bigint) "                                                  \
    "AND ($2::bigint IS NULL OR e.tenant_id = $2::bigint) "                                                   \
    "AND ($3::text IS NULL OR e.action = $3::text) "                                                          \
    "AND ($4::text IS NULL OR starts_with(e.action, $4::text)) "                                              \
    "AND ($5::timestamptz IS NULL OR e.created_at >= $5::timestamptz) "                                       \
    "AND ($6::timestamptz IS NULL OR e.created_at < $6::timestamptz) "                                        \
    "AND ($7::boolean IS NULL OR e.success = $7::boolean) "                                                   \
    "AND ($8::bigint IS NULL OR e.passkey_id = $8::bigint) "                                                  \
    "AND ($9::bigint IS NULL OR e.id < $9::bigint) "                                                          \
    "ORDER BY e.id DESC LIMIT $10::int"

static const ar_db_stmt statements[] = {
    {"audit_insert",
     "INSERT INTO audit_events (actor_id, tenant_id, action, target_type, target_id, ip, user_agent, request_id, "
     "success, reason, details, passkey_id) VALUES ($1::bigint, $2::bigint, $3, $4, $5, $6, $7, $8, $9::boolean, "
     "$10, $11::jsonb, $12::bigint)"},
    {"audit_list", AUDIT_SELECT},
};

void ar_audit_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

/* Result columns of audit_list. */
enum {
    COL_ID,
    COL_CREATED_AT,
    COL_ACTOR_ID,
    COL_ACTOR_USERNAME,
    COL_TENANT_ID,
    COL_ACTION,
    COL_TARGET_TYPE,
    COL_TARGET_ID,
    COL_IP,
    COL_USER_AGENT,
    COL_REQUEST_ID,
    COL_SUCCESS,
    COL_REASON,
    COL_DETAILS,
    COL_PASSKEY_ID,
    COL_COUNT
};

static const char *const csv_header[COL_COUNT] = {
    "id",         "created_at", "actor_id",   "actor_username", "tenant_id", "action",  "target_type", "target_id",
    "ip",         "user_agent", "request_id", "success",        "reason",    "details", "passkey_id",
};

/* ---- writing ------------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (at most avail bytes), or 0 when it is not valid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned min;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n > avail) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

/* A heap copy of s that PostgreSQL accepts as text: invalid UTF-8 bytes become '?', and it is cut at a
 * character boundary to at most max bytes. (Headers such as User-Agent arrive as arbitrary bytes.) */
static char *text_param(const char *s, size_t max)
{
    size_t len = strlen(s);
    char *out = ar_malloc((len < max ? len : max) + 1);
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence_length(p + i, len - i);
        size_t take = n ? n : 1;
        if (o + take > max) break;
        if (n) memcpy(out + o, p + i, n);
        else out[o] = '?';
        o += take;
        i += take;
    }
    out[o] = '\0';
    return out;
}

/* jsonb cannot hold U+0000: rewrite jansson's "\u0000" escapes (outside other escapes) to U+FFFD. */
static void replace_nul_escapes(char *json)
{
    for (char *p = json; *p; p++) {
        if (*p != '\\' || !p[1]) continue;
        if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0) memcpy(p + 2, "fffd", 4);
        p++; /* skip the escaped character */
    }
}

static int valid_action_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int validate_action(const char *action, ar_error *err)
{
    size_t len = action ? strlen(action) : 0;
    const char *problem = NULL;
    if (len == 0) problem = "is required";
    else if (len > ACTION_MAX) problem = "must be at most 64 characters";
    else if (!valid_action_chars(action, len)) problem = "may only contain letters, digits, '.', '_' and '-'";
    if (!problem) return 0;
    ar_error_set(err, AR_ERR_VALIDATION, "invalid audit event");
    ar_error_field(err, "action", problem);
    return -1;
}

static void id_param(char *buf, size_t size, long long id, const char **param)
{
    if (id > 0) {
        snprintf(buf, size, "%lld", id);
        *param = buf;
    } else {
        *param = NULL;
    }
}

int ar_audit_write(PGconn *c, const ar_ctx *ctx, const ar_audit_event *ev, ar_error *err)
{
    static const ar_ctx anonymous;
    if (!ctx) ctx = &anonymous;
    if (validate_action(ev->action, err)) return -1;
    if (ev->details && !json_is_object(ev->details)) {
        ar_error_set(err, AR_ERR_VALIDATION, "invalid audit event");
        ar_error_field(err, "details", "must be a JSON object");
        return -1;
    }
    char actor[24], tenant[24], passkey[24];
    const char *params[12];
    id_param(actor, sizeof actor, ev->actor_id > 0 ? ev->actor_id : ctx->user_id, &params[0]);
    id_param(tenant, sizeof tenant, ev->tenant_id > 0 ? ev->tenant_id : ctx->tenant_id, &params[1]);
    params[2] = ev->action;
    char *target_type = ev->target_type ? text_param(ev->target_type, TARGET_TYPE_MAX) : NULL;
    char *target_id = ev->target_id ? text_param(ev->target_id, TARGET_ID_MAX) : NULL;
    char *ip = text_param(ctx->ip, sizeof ctx->ip);
    char *user_agent = text_param(ctx->user_agent, sizeof ctx->user_agent);
    char *request_id = text_param(ctx->request_id, sizeof ctx->request_id);
    char *reason = text_param(ev->reason ? ev->reason : "", REASON_MAX);
    char *details = ev->details ? json_dumps(ev->details, JSON_COMPACT) : NULL;
    if (details && strlen(details) > DETAILS_MAX) {
        free(details);
        details = ar_strdup("{\"truncated\":true}");
    }
    if (details) replace_nul_escapes(details);
    params[3] = target_type;
    params[4] = target_id;
    params[5] = ip;
    params[6] = user_agent;
    params[7] = request_id;
    params[8] = ev->success ? "true" : "false";
    params[9] = reason;
    params[10] = details ? details : "{}";
    id_param(passkey, sizeof passkey, ev->passkey_id, &params[11]);
    PGresult *r = ar_db_exec(c, "audit_insert", 12, params, err);
    ar_free(target_type);
    ar_free(target_id);
    ar_free(ip);
    ar_free(user_agent);
    ar_free(request_id);
    ar_free(reason);
    free(details);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

typedef struct record_call {
    const ar_ctx *ctx;
    const ar_audit_event *ev;
} record_call;

static int record_in_tx(PGconn *c, void *arg, ar_error *err)
{
    record_call *call = arg;
    return ar_audit_write(c, call->ctx, call->ev, err);
}

void ar_audit_record(const ar_ctx *ctx, const ar_audit_event *ev)
{
    ar_ctx system = {0};
    if (ctx) system = ar_ctx_system(ctx);
    else system.bypass_rls = 1;
    record_call call = {&system, ev};
    ar_error err = {0};
    if (ar_ctx_tx(&system, record_in_tx, &call, &err) != 0) {
        json_t *fields = json_object();
        char *action = text_param(ev->action ? ev->action : "", ACTION_MAX);
        json_object_set_new(fields, "action", json_string(action));
        ar_free(action);
        json_object_set_new(fields, "error", json_string(ar_err_code_string(err.code)));
        json_object_set_new(fields, "reason", json_string(err.message));
        ar_log_json(AR_LOG_ERROR, "audit event could not be written", fields);
    }
    ar_error_clear(&err);
}

/* ---- filters ------------------------------------------------------------------------------------ */

ar_audit_filter ar_audit_filter_any(void)
{
    ar_audit_filter f = {0};
    f.success = -1;
    return f;
}

static int parse_digits(const char **p, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *p += count;
    *out = v;
    return 0;
}

/* Parse an ISO date (YYYY-MM-DD, midnight UTC; the next midnight when end_of_day) or timestamp
 * (YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH[:]MM], UTC when no offset) into UTC text PostgreSQL reads
 * unambiguously. 0, or -1 when s is not such a date or names an impossible one. */
static int parse_when(const char *s, int end_of_day, char *out, size_t out_size)
{
    int year, month, day, hour = 0, minute = 0, second = 0, micros = 0, offset = 0;
    const char *p = s;
    if (parse_digits(&p, 4, &year) || *p++ != '-' || parse_digits(&p, 2, &month) || *p++ != '-' ||
        parse_digits(&p, 2, &day))
        return -1;
    int date_only = *p == '\0';
    if (!date_only) {
        if (*p != 'T' && *p != 't' && *p != ' ') return -1;
        p++;
        if (parse_digits(&p, 2, &hour) || *p++ != ':' || parse_digits(&p, 2, &minute)) return -1;
        if (*p == ':') {
            p++;
            if (parse_digits(&p, 2, &second)) return -1;
            if (*p == '.' || *p == ',') {
                p++;
                int digits = 0;
                while (*p >= '0' && *p <= '9') {
                    if (digits < 6) micros = micros * 10 + (*p - '0');
                    digits++;
                    p++;
                }
                if (digits == 0 || digits > 9) return -1;
                for (; digits < 6; digits++) micros *= 10;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (parse_digits(&p, 2, &oh)) return -1;
            if (*p == ':') p++;
            if (parse_digits(&p, 2, &om) || oh > 23 || om > 59) return -1;
            offset = sign * (oh * 3600 + om * 60);
        }
        if (*p != '\0') return -1;
    }
    if (year < 1900 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
        return -1;
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t t = timegm(&tm);
    if (tm.tm_mday != day || tm.tm_mon != month - 1) return -1; /* normalised: e.g. February 30 */
    if (date_only && end_of_day) t += 86400;
    t -= offset;
    struct tm utc;
    if (!gmtime_r(&t, &utc)) return -1;
    snprintf(out, out_size, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", utc.tm_year + 1900, utc.tm_mon + 1,
             utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
    return 0;
}

/* The statement parameters of a validated filter. */
typedef struct list_params {
    char actor[24], tenant[24], since[96], until[96], passkey[24], before[24], limit[16];
    const char *values[10];
    int limit_n;
} list_params;

static void set_id(list_params *lp, int index, char *buf, size_t size, long long id)
{
    id_param(buf, size, id, &lp->values[index]);
}

/* Validate f into lp (tenant = the tenant to restrict to, 0 = any). 0, or -1 with AR_ERR_VALIDATION and a
 * field per bad value. */
static int filter_params(const ar_audit_filter *f, long long tenant, int default_limit, int max_limit,
                         list_params *lp, ar_error *err)
{
    memset(lp, 0, sizeof *lp);
    ar_error_clear(err);
    int bad = 0;
    if (f->actor_id < 0) ar_error_field(err, "actor_id", "must be a positive id"), bad = 1;
    if (f->tenant_id < 0) ar_error_field(err, "tenant_id", "must be a positive id"), bad = 1;
    if (f->passkey_id < 0) ar_error_field(err, "passkey_id", "must be a positive id"), bad = 1;
    if (f->before_id < 0) ar_error_field(err, "before_id", "must be a positive id"), bad = 1;
    if (f->success < -1 || f->success > 1) ar_error_field(err, "success", "must be any, true or false"), bad = 1;
    int limit = f->limit == 0 ? default_limit : f->limit;
    if (limit < 1 || limit > max_limit) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be between 1 and %d", max_limit);
        ar_error_field(err, "limit", msg);
        bad = 1;
    }
    if (f->action && f->action[0]) {
        size_t len = strlen(f->action);
        if (len > ACTION_MAX || !valid_action_chars(f->action, len)) {
            ar_error_field(err, "action", "must be an action name or a prefix ending in '.'");
            bad = 1;
        } else if (f->action[len - 1] == '.') {
            lp->values[3] = f->action;
        } else {
            lp->values[2] = f->action;
        }
    }
    if (f->since && f->since[0]) {
        if (parse_when(f->since, 0, lp->since, sizeof lp->since)) {
            ar_error_field(err, "since", "must be a date (YYYY-MM-DD) or an ISO 8601 timestamp");
            bad = 1;
        } else {
            lp->values[4] = lp->since;
        }
    }
    if (f->until && f->until[0]) {
        if (parse_when(f->until, 1, lp->until, sizeof lp->until)) {
            ar_error_field(err, "until", "must be a date (YYYY-MM-DD) or an ISO 8601 timestamp");
            bad = 1;
        } else {
            lp->values[5] = lp->until;
        }
    }
    /* Both are normalised to the same fixed-width UTC form, so text order is time order. */
    if (lp->values[4] && lp->values[5] && strcmp(lp->since, lp->until) > 0) {
        ar_error_field(err, "until", "must not be before since");
        bad = 1;
    }
    if (bad) {
        ar_error_set(err, AR_ERR_VALIDATION, "invalid audit filter");
        return -1;
    }
    set_id(lp, 0, lp->actor, sizeof lp->actor, f->actor_id);
    set_id(lp, 1, lp->tenant, sizeof lp->tenant, tenant);
    lp->values[6] = f->success < 0 ? NULL : f->success ? "true" : "false";
    set_id(lp, 7, lp->passkey, sizeof lp->passkey, f->passkey_id);
    set_id(lp, 8, lp->before, sizeof lp->before, f->before_id);
    lp->limit_n = limit;
    snprintf(lp->limit, sizeof lp->limit, "%d", limit);
    lp->values[9] = lp->limit;
    return 0;
}

/* Who may read, and through which context: staff through a system context (any tenant, optionally
 * filtered by f->tenant_id); tenant admins through their own context with row-level security on, limited
 * to their tenant. *nothing is set when the filter asks for another tenant than the admin's. */
static int read_access(const ar_ctx *ctx, const ar_audit_filter *f, ar_ctx *read_ctx, long long *tenant,
                       int *nothing, ar_error *err)
{
    *nothing = 0;
    if (ctx->is_staff) {
        *read_ctx = ar_ctx_system(ctx);
        *tenant = f->tenant_id;
        return 0;
    }
    if (ctx->user_id <= 0 || ctx->tenant_id <= 0 || ctx->role < AR_ROLE_ADMIN) {
        ar_error_set(err, AR_ERR_FORBIDDEN, "only tenant administrators can read the audit log");
        return -1;
    }
    *read_ctx = *ctx;
    read_ctx->bypass_rls = 0;
    *tenant = ctx->tenant_id;
    if (f->tenant_id > 0 && f->tenant_id != ctx->tenant_id) *nothing = 1;
    return 0;
}

/* ---- listing ------------------------------------------------------------------------------------ */

static json_t *nullable_string(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *nullable_integer(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_integer(strtoll(PQgetvalue(r, row, col), NULL, 10));
}

static json_t *event_json(const PGresult *r, int row)
{
    json_t *details = json_loads(PQgetvalue(r, row, COL_DETAILS), 0, NULL);
    return json_pack("{s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o s:o s:b s:o s:o s:o}",
                     "id", nullable_integer(r, row, COL_ID),
                     "created_at", nullable_string(r, row, COL_CREATED_AT),
                     "actor_id", nullable_integer(r, row, COL_ACTOR_ID),
                     "actor_username", nullable_string(r, row, COL_ACTOR_USERNAME),
                     "tenant_id", nullable_integer(r, row, COL_TENANT_ID),
                     "action", nullable_string(r, row, COL_ACTION),
                     "target_type", nullable_string(r, row, COL_TARGET_TYPE),
                     "target_id", nullable_string(r, row, COL_TARGET_ID),
                     "ip", nullable_string(r, row, COL_IP),
                     "user_agent", nullable_string(r, row, COL_USER_AGENT),
                     "request_id", nullable_string(r, row, COL_REQUEST_ID),
                     "success", strcmp(PQgetvalue(r, row, COL_SUCCESS), "t") == 0,
                     "reason", nullable_string(r, row, COL_REASON),
                     "details", details ? details : json_object(),
                     "passkey_id", nullable_integer(r, row, COL_PASSKEY_ID));
}

/* Run audit_list with custom plans (the absent filters then cost nothing). The caller PQclear()s. */
static PGresult *run_list(PGconn *c, const char *const *values, ar_error *err)
{
    PGresult *set = ar_db_exec_sql(c, "SET LOCAL plan_cache_mode = force_custom_plan", err);
    if (!set) return NULL;
    PQclear(set);
    return ar_db_exec(c, "audit_list", 10, values, err);
}

typedef struct list_call {
    list_params *lp;
    json_t *events;
    long long next_before_id;
} list_call;

static int list_in_tx(PGconn *c, void *arg, ar_error *err)
{
    list_call *call = arg;
    json_array_clear(call->events); /* a retried transaction starts over */
    call->next_before_id = 0;
    PGresult *r = run_list(c, call->lp->values, err);
    if (!r) return -1;
    int rows = PQntuples(r);
    int shown = rows > call->lp->limit_n ? call->lp->limit_n : rows;
    for (int i = 0; i < shown; i++) json_array_append_new(call->events, event_json(r, i));
    if (rows > call->lp->limit_n) call->next_before_id = strtoll(PQgetvalue(r, shown - 1, COL_ID), NULL, 10);
    PQclear(r);
    return 0;
}

json_t *ar_audit_list(const ar_ctx *ctx, const ar_audit_filter *f, ar_error *err)
{
    ar_ctx read_ctx;
    long long tenant;
    int nothing;
    if (read_access(ctx, f, &read_ctx, &tenant, &nothing, err)) return NULL;
    list_params lp;
    if (filter_params(f, tenant, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, &lp, err)) return NULL;
    list_call call = {&lp, json_array(), 0};
    if (!nothing) {
        /* One row more than asked tells whether there is a next page. */
        snprintf(lp.limit, sizeof lp.limit, "%d", lp.limit_n + 1);
        if (ar_ctx_tx(&read_ctx, list_in_tx, &call, err)) {
            json_decref(call.events);
            return NULL;
        }
    }
    return json_pack("{s:o s:o}", "events", call.events, "next_before_id",
                     call.next_before_id ? json_integer(call.next_before_id) : json_null());
}

/* ---- CSV export --------------------------------------------------------------------------------- */

/* One RFC 4180 cell. A cell a spreadsheet would read as a formula (leading = + - @, or a tab or carriage
 * return that some of them skip) gets a leading single quote so it stays text. */
static void csv_cell(ar_buf *out, const char *value)
{
    int formula = value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' || value[0] == '\t' ||
                  value[0] == '\r';
    int quote = strpbrk(value, ",\"\r\n") != NULL;
    if (quote) ar_buf_putc(out, '"');
    if (formula) ar_buf_putc(out, '\'');
    for (const char *p = value; *p; p++) {
        if (*p == '"') ar_buf_putc(out, '"');
        ar_buf_putc(out, *p);
    }
    if (quote) ar_buf_putc(out, '"');
}

static void csv_row(ar_buf *out, const PGresult *r, int row)
{
    for (int col = 0; col < COL_COUNT; col++) {
        if (col) ar_buf_putc(out, ',');
        if (PQgetisnull(r, row, col)) continue;
        const char *v = PQgetvalue(r, row, col);
        if (col == COL_SUCCESS) v = strcmp(v, "t") == 0 ? "true" : "false";
        csv_cell(out, v);
    }
    ar_buf_puts(out, "\r\n");
}

typedef struct export_call {
    list_params *lp;
    ar_buf *out;
    size_t start_len; /* out->len when the batch started, to undo a retried transaction's rows */
    int rows;
    long long last_id;
} export_call;

static int export_batch_in_tx(PGconn *c, void *arg, ar_error *err)
{
    export_call *call = arg;
    call->out->len = call->start_len;
    if (call->out->data) call->out->data[call->start_len] = '\0';
    call->rows = 0;
    PGresult *r = run_list(c, call->lp->values, err);
    if (!r) return -1;
    call->rows = PQntuples(r);
    for (int i = 0; i < call->rows; i++) csv_row(call->out, r, i);
    if (call->rows) call->last_id = strtoll(PQgetvalue(r, call->rows - 1, COL_ID), NULL, 10);
    PQclear(r);
    return 0;
}

int ar_audit_export_csv(const ar_ctx *ctx, const ar_audit_filter *f, ar_buf *out, ar_error *err)
{
    ar_ctx read_ctx;
    long long tenant;
    int nothing;
    if (read_access(ctx, f, &read_ctx, &tenant, &nothing, err)) return -1;
    ar_audit_filter batch_filter = *f;
    batch_filter.limit = EXPORT_BATCH;
    list_params lp;
    if (filter_params(&batch_filter, tenant, EXPORT_BATCH, EXPORT_BATCH, &lp, err)) return -1;
    size_t original_len = out->len;
    for (int col = 0; col < COL_COUNT; col++) {
        if (col) ar_buf_putc(out, ',');
        csv_cell(out, csv_header[col]);
    }
    ar_buf_puts(out, "\r\n");
    if (nothing) return 0;
    /* Batches of EXPORT_BATCH rows, each in a short transaction, walking down the ids (the log only grows
     * upwards, so the batches neither skip nor repeat rows). */
    int total = 0;
    while (total < AR_AUDIT_EXPORT_MAX_ROWS) {
        int want = AR_AUDIT_EXPORT_MAX_ROWS - total < EXPORT_BATCH ? AR_AUDIT_EXPORT_MAX_ROWS - total : EXPORT_BATCH;
        snprintf(lp.limit, sizeof lp.limit, "%d", want);
        export_call call = {&lp, out, out->len, 0, 0};
        if (ar_ctx_tx(&read_ctx, export_batch_in_tx, &call, err)) {
            out->len = original_len;
            if (out->data) out->data[original_len] = '\0';
            return -1;
        }
        total += call.rows;
        if (call.rows < want) break;
        snprintf(lp.before, sizeof lp.before, "%lld", call.last_id);
        lp.values[8] = lp.before;
    }
    return 0;
}

/* billing.c — JSON API of the reserve balance (the original's paths and field names, SPEC §9):
 *   GET  /api/billing/reserve/balance/            the tenant's balance
 *   GET  /api/billing/reserve/ledger/             ?limit=50&offset=0, newest first
 *   GET  /api/billing/usage/                      ?since=&until= (YYYY-MM-DD), cost by day and by model
 *   GET  /api/billing/holds/                      the tenant's active holds
 *   POST /api/billing/reserve/threshold/          {low_balance_threshold_cents} (owner / admin of the tenant)
 * Staff:
 *   POST /api/billing/admin/reserve/adjust/       {tenant_id, amount_cents, reason}
 *   POST /api/billing/admin/reserve/threshold/    {tenant_id, low_balance_threshold_cents}
 *   GET  /api/billing/admin/accounts/             ?sort=balance|-balance|name|tenant&filter=low|zero
 *   GET  /api/billing/admin/reserve/summary/      totals (the original's shape)
 *   GET  /api/billing/admin/ledger.csv            ?tenant=&start=&end= streamed CSV (also /admin/ledger/export.csv)
 *   GET  /api/billing/admin/usage/costs/          ?start=&end=&tenant= cost by tenant, model and job type
 *   GET  /api/billing/admin/rate-cards/           every version with its prices
 *   POST /api/billing/admin/rate-cards/           {name, notes, effective_from, prices:[{usage_type, provider, model,
 *                                                 price_microcents | price_cents_per_1k}]} → a new version
 *   GET  /api/billing/admin/stripe-events/        ?before_id=&limit= */
#include "afterresume/api/handlers.h"
#include "afterresume/api/params.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/billing.h"
#include "afterresume/http/response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

static void respond_or_fail(ar_request *req, json_t *body, ar_error *err)
{
    if (!body) {
        fail(req, err);
        return;
    }
    ar_respond_json(req, 200, body);
}

/* A query value, "" treated as absent. */
static const char *query(ar_request *req, const char *name)
{
    const char *v = ar_req_query(req, name);
    return v && *v ? v : NULL;
}

static const char *query2(ar_request *req, const char *name, const char *alias)
{
    const char *v = query(req, name);
    return v ? v : query(req, alias);
}

void api_billing_balance(ar_request *req)
{
    ar_error err = {0};
    ar_billing_balance b;
    if (ar_billing_balance_get(&req->ctx, 0, &b, &err) != 0) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, ar_billing_balance_json(&b));
}

void api_billing_ledger(ar_request *req)
{
    ar_error err = {0};
    long long limit = 50, offset = 0;
    ar_query_int(req, "limit", 1, 200, 50, &limit, &err);
    ar_query_int(req, "offset", 0, 1000000000LL, 0, &offset, &err);
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    respond_or_fail(req, ar_billing_ledger_list(&req->ctx, (int)limit, offset, &err), &err);
}

void api_billing_usage(ar_request *req)
{
    ar_error err = {0};
    respond_or_fail(req,
                    ar_billing_usage_summary(&req->ctx, query2(req, "since", "start"), query2(req, "until", "end"), &err),
                    &err);
}

void api_billing_holds(ar_request *req)
{
    ar_error err = {0};
    json_t *holds = ar_billing_holds_list(&req->ctx, &err);
    respond_or_fail(req, holds ? json_pack("{s:o}", "holds", holds) : NULL, &err);
}

/* Both threshold endpoints: staff name the tenant; a tenant owner / admin sets their own. */
static void set_threshold(ar_request *req, int staff)
{
    ar_error err = {0};
    long long tenant = 0, cents = -1;
    if (staff && ar_body_int(req, "tenant_id", 1, 1000000000000LL, 0, &tenant, &err) == 0 && tenant == 0)
        ar_error_field(&err, "tenant_id", "Required.");
    if (ar_body_int(req, "low_balance_threshold_cents", 0, AR_BILLING_ADJUST_MAX_CENTS, -1, &cents, &err) == 0 &&
        cents < 0)
        ar_error_field(&err, "low_balance_threshold_cents", "Required: cents from 0 to 100,000,000.");
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    if (ar_billing_set_threshold(&req->ctx, staff ? tenant : 0, cents, &err) != 0) {
        fail(req, &err);
        return;
    }
    ar_billing_balance b;
    ar_ctx sys = ar_ctx_system(&req->ctx);
    if (ar_billing_balance_get(staff ? &sys : &req->ctx, staff ? tenant : 0, &b, &err) != 0) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, ar_billing_balance_json(&b));
}

void api_billing_threshold(ar_request *req)
{
    set_threshold(req, 0);
}

void api_billing_admin_threshold(ar_request *req)
{
    set_threshold(req, 1);
}

/* ---------------------------------------------------------------- staff */

void api_billing_admin_adjust(ar_request *req)
{
    ar_error err = {0};
    long long tenant = 0, amount = 0;
    char reason_buf[32];
    if (ar_body_int(req, "tenant_id", 1, 1000000000000LL, 0, &tenant, &err) == 0 && tenant == 0)
        ar_error_field(&err, "tenant_id", "Required.");
    if (ar_body_int(req, "amount_cents", -AR_BILLING_ADJUST_MAX_CENTS, AR_BILLING_ADJUST_MAX_CENTS, 0, &amount, &err) ==
            0 &&
        amount == 0)
        ar_error_field(&err, "amount_cents", "A non-zero amount in cents (negative = debit).");
    const char *reason = ar_body_text(req, "reason", reason_buf, sizeof reason_buf, &err);
    if (!reason && !json_object_get(err.fields, "reason")) ar_error_field(&err, "reason", "Give a reason of at least 10 characters.");
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, "The adjustment was not made.");
        fail(req, &err);
        return;
    }
    long long entry = 0, balance = 0;
    if (ar_billing_adjust(&req->ctx, tenant, amount, reason, &entry, &balance, &err) != 0) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 200, json_pack("{s:s,s:I,s:I}", "status", "success", "ledger_entry_id", (json_int_t)entry,
                                        "new_balance_cents", (json_int_t)balance));
}

void api_billing_admin_accounts(ar_request *req)
{
    ar_error err = {0};
    respond_or_fail(req, ar_billing_admin_accounts(&req->ctx, query(req, "sort"), query(req, "filter"), &err), &err);
}

void api_billing_admin_summary(ar_request *req)
{
    ar_error err = {0};
    json_t *all = ar_billing_admin_accounts(&req->ctx, "tenant", "", &err);
    if (!all) {
        fail(req, &err);
        return;
    }
    json_t *summary = json_incref(json_object_get(all, "summary"));
    json_decref(all);
    json_object_set_new(summary, "negative_balance_count", json_integer(0));
    ar_respond_json(req, 200, summary);
}

void api_billing_admin_costs(ar_request *req)
{
    ar_error err = {0};
    long long tenant = 0;
    ar_query_int(req, "tenant", 1, 1000000000000LL, 0, &tenant, &err);
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    respond_or_fail(req,
                    ar_billing_cost_breakdown(&req->ctx, query2(req, "start", "since"), query2(req, "end", "until"),
                                              tenant, &err),
                    &err);
}

void api_billing_admin_stripe_events(ar_request *req)
{
    ar_error err = {0};
    long long before = 0, limit = 50;
    ar_query_int(req, "before_id", 1, 1000000000000000LL, 0, &before, &err);
    ar_query_int(req, "limit", 1, 200, 50, &limit, &err);
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    json_t *events = ar_billing_stripe_events_list(&req->ctx, before, (int)limit, &err);
    respond_or_fail(req, events ? json_pack("{s:o}", "events", events) : NULL, &err);
}

void api_billing_admin_rate_cards(ar_request *req)
{
    ar_error err = {0};
    json_t *cards = ar_rate_cards_list(&req->ctx, &err);
    respond_or_fail(req, cards ? json_pack("{s:o}", "rate_cards", cards) : NULL, &err);
}

/* Copy a JSON string field into out (≤ size-1 bytes); "" when absent. -1 when present but not a fitting string. */
static int copy_str(json_t *obj, const char *name, char *out, size_t size)
{
    json_t *v = json_object_get(obj, name);
    out[0] = '\0';
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v) || json_string_length(v) >= size) return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return strlen(out) == json_string_length(v) ? 0 : -1;   /* no NUL inside */
}

void api_billing_admin_rate_card_create(ar_request *req)
{
    ar_error err = {0};
    json_t *body = req->json;
    json_t *name = json_object_get(body, "name"), *notes = json_object_get(body, "notes"),
           *from = json_object_get(body, "effective_from"), *prices = json_object_get(body, "prices");
    if (!json_is_string(name)) ar_error_field(&err, "name", "Required.");
    if (notes && !json_is_null(notes) && !json_is_string(notes)) ar_error_field(&err, "notes", "Must be text.");
    if (from && !json_is_null(from) && !json_is_string(from)) ar_error_field(&err, "effective_from", "Must be a date.");
    if (!json_is_array(prices) || json_array_size(prices) == 0 || json_array_size(prices) > 200)
        ar_error_field(&err, "prices", "Give between 1 and 200 prices.");
    ar_rate_price *list = NULL;
    size_t n = json_is_array(prices) ? json_array_size(prices) : 0;
    if (!err.fields) {
        list = ar_calloc(n, sizeof *list);
        for (size_t i = 0; i < n; i++) {
            json_t *p = json_array_get(prices, i);
            char field[48];
            snprintf(field, sizeof field, "prices[%zu]", i);
            if (!json_is_object(p) || copy_str(p, "usage_type", list[i].usage_type, sizeof list[i].usage_type) ||
                copy_str(p, "provider", list[i].provider, sizeof list[i].provider) ||
                copy_str(p, "model", list[i].model, sizeof list[i].model)) {
                ar_error_field(&err, field, "Each price needs usage_type and optional provider / model text.");
                break;
            }
            json_t *micro = json_object_get(p, "price_microcents"), *per1k = json_object_get(p, "price_cents_per_1k");
            if (json_is_integer(micro) && !per1k) {
                list[i].price_microcents = json_integer_value(micro);
            } else if (json_is_string(per1k) && !micro) {
                if (ar_billing_parse_price_per_1k(json_string_value(per1k), &list[i].price_microcents) != 0) {
                    ar_error_field(&err, field, "price_cents_per_1k is a decimal with up to 3 places, e.g. \"0.15\".");
                    break;
                }
            } else {
                ar_error_field(&err, field, "Give price_microcents (integer) or price_cents_per_1k (decimal text).");
                break;
            }
        }
    }
    if (err.fields) {
        free(list);
        ar_error_set(&err, AR_ERR_VALIDATION, "The rate card was not created.");
        fail(req, &err);
        return;
    }
    int version = 0;
    int rc = ar_rate_card_create(&req->ctx, json_string_value(name), notes ? json_string_value(notes) : NULL,
                                 from ? json_string_value(from) : NULL, list, n, &version, &err);
    free(list);
    if (rc != 0) {
        fail(req, &err);
        return;
    }
    ar_respond_json(req, 201, json_pack("{s:s,s:i}", "status", "created", "version", version));
}

/* ---------------------------------------------------------------- ledger CSV (streamed) */

typedef struct csv_stream {
    ar_ctx ctx;
    long long tenant_id, after_id, rows;
    char since[16], until[16];
    int have_since, have_until;
    ar_buf buf;
    size_t off;
    int done, header;
} csv_stream;

static int csv_fill(csv_stream *s, ar_error *err)
{
    ar_buf_reset(&s->buf);
    s->off = 0;
    int n = 0;
    if (ar_billing_ledger_csv_page(&s->ctx, s->tenant_id, s->have_since ? s->since : NULL,
                                   s->have_until ? s->until : NULL, &s->after_id, s->header, &s->buf, &n, err) != 0)
        return -1;
    s->header = 0;
    s->rows += n;
    if (n < 500) s->done = 1;
    return 0;
}

static long long csv_read(void *cls, unsigned long long pos, char *out, size_t max)
{
    (void)pos;
    csv_stream *s = cls;
    while (s->off == s->buf.len) {
        if (s->done) return 0;
        ar_error err = {0};
        if (csv_fill(s, &err) != 0) {
            ar_log_error("billing ledger export stopped (request %s): %s", s->ctx.request_id, err.message);
            ar_error_clear(&err);
            return -1;
        }
    }
    size_t n = s->buf.len - s->off;
    if (n > max) n = max;
    memcpy(out, s->buf.data + s->off, n);
    s->off += n;
    return (long long)n;
}

static void csv_release(void *cls)
{
    csv_stream *s = cls;
    ar_billing_ledger_export_audit(&s->ctx, s->tenant_id, s->rows);
    ar_buf_free(&s->buf);
    free(s);
}

void api_billing_admin_ledger_csv(ar_request *req)
{
    ar_error err = {0};
    long long tenant = 0;
    ar_query_int(req, "tenant", 1, 1000000000000LL, 0, &tenant, &err);
    const char *since = query2(req, "start", "since"), *until = query2(req, "end", "until");
    if (since && strlen(since) != 10) ar_error_field(&err, "start", "Dates are YYYY-MM-DD.");
    if (until && strlen(until) != 10) ar_error_field(&err, "end", "Dates are YYYY-MM-DD.");
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
        fail(req, &err);
        return;
    }
    csv_stream *s = ar_calloc(1, sizeof *s);
    s->ctx = req->ctx;
    s->tenant_id = tenant;
    s->header = 1;
    if (since) s->have_since = 1, snprintf(s->since, sizeof s->since, "%s", since);
    if (until) s->have_until = 1, snprintf(s->until, sizeof s->until, "%s", until);
    /* The first page runs here, so a bad filter is a clean 400 rather than a cut stream. */
    if (csv_fill(s, &err) != 0) {
        ar_buf_free(&s->buf);
        free(s);
        fail(req, &err);
        return;
    }
    ar_respond_stream(req, 200, "text/csv; charset=utf-8", -1, csv_read, s, csv_release);
    char name[96], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
    snprintf(name, sizeof name, "attachment; filename=\"ledger_export_%s.csv\"", stamp);
    ar_response_header(req, "Content-Disposition", name);
}

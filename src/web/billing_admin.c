/* billing_admin.c — staff pages of the reserve balance (the same services as the staff JSON API):
 *   GET  /admin/billing                 every tenant's balance (sort, filter low / zero), the adjust form, the
 *                                       ledger CSV link
 *   POST /admin/billing/adjust          manual credit / debit (tenant_id, amount, reason ≥ 10 characters)
 *   POST /admin/billing/threshold       a tenant's low-balance threshold (tenant_id, threshold in dollars)
 *   GET  /admin/billing/usage           usage cost by tenant, model and job type over a date range
 *   GET  /admin/billing/rate-cards      rate-card versions with their prices, and the form for a new version
 *   POST /admin/billing/rate-cards      add a version (old versions are never edited)
 *   GET  /admin/billing/stripe-events   Stripe events received and what processing did with them */
#include "afterresume/core/alloc.h"
#include "afterresume/domain/billing.h"
#include "afterresume/http/response.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(ar_request *req, ar_error *err)
{
    ar_respond_error(req, err);
    ar_error_clear(err);
}

/* Staff navigation: admin_nav.billing and the billing sub-tab (billing_tab.<name>). */
static json_t *with_nav(json_t *data, const char *tab)
{
    json_object_set_new(data, "admin_nav", json_pack("{s:b}", "billing", 1));
    json_object_set_new(data, "nav", json_pack("{s:b}", "admin", 1));
    json_object_set_new(data, "billing_tab", json_pack("{s:b}", tab, 1));
    return data;
}

static const char *field(ar_request *req, const char *name)
{
    const char *v = ar_req_field(req, name);
    if (!v) v = ar_req_query(req, name);
    return v && *v ? v : NULL;
}

static void flash(json_t *data, const char *message)
{
    json_object_set_new(data, "flashes", json_pack("[{s:s,s:s}]", "level", "success", "message", message));
}

/* Add preformatted money strings next to the cents fields named (for display only). */
static void money_fields(json_t *rows, const char *const *names, size_t count)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        for (size_t k = 0; k < count; k++) {
            char key[64], text[48];
            ar_billing_format_money((long long)json_integer_value(json_object_get(row, names[k])), text, sizeof text);
            snprintf(key, sizeof key, "%s_text", names[k]);
            json_object_set_new(row, key, json_string(text));
        }
    }
}

/* ---------------------------------------------------------------- balances + adjust */

static void accounts_page(ar_request *req, int status, json_t *data)
{
    ar_error err = {0};
    const char *sort = field(req, "sort"), *filter = field(req, "filter");
    if (status != 200) sort = NULL, filter = NULL;   /* a re-rendered form shows the default listing */
    json_t *list = ar_billing_admin_accounts(&req->ctx, sort, filter, &err);
    if (!list && err.code == AR_ERR_VALIDATION) {
        ar_error_clear(&err);
        sort = NULL;
        filter = NULL;
        list = ar_billing_admin_accounts(&req->ctx, NULL, NULL, &err);
    }
    if (!list) {
        json_decref(data);
        fail(req, &err);
        return;
    }
    json_t *d = data ? data : json_object();
    with_nav(d, "balances");
    json_t *accounts = json_object_get(list, "accounts");
    static const char *const names[] = {"balance_cents", "held_cents", "available_cents", "low_balance_threshold_cents"};
    money_fields(accounts, names, 4);
    size_t i;
    json_t *row;
    json_array_foreach(accounts, i, row)
    {
        const char *state = json_is_true(json_object_get(row, "is_zero_balance"))  ? "zero"
                            : json_is_true(json_object_get(row, "is_low_balance")) ? "low"
                                                                                   : "normal";
        json_object_set_new(row, "state", json_string(state));
    }
    json_t *summary = json_object_get(list, "summary");
    char total[48];
    ar_billing_format_money((long long)json_integer_value(json_object_get(summary, "total_balance_cents")), total,
                            sizeof total);
    json_object_set_new(summary, "total_balance_text", json_string(total));
    json_object_set(d, "accounts", accounts);
    json_object_set(d, "summary", summary);
    char key[32];
    snprintf(key, sizeof key, "sort_%s", sort && strcmp(sort, "-balance") == 0 ? "balance_desc" : sort ? sort : "balance");
    json_object_set_new(d, "view", json_pack("{s:s,s:s,s:b,s:b}", "sort", sort ? sort : "balance", "filter",
                                             filter ? filter : "", key, 1, filter ? filter : "all", 1));
    json_decref(list);
    web_page(req, status, "pages/admin/billing", "Billing", d);
}

void web_admin_billing(ar_request *req)
{
    json_t *data = json_object();
    const char *done = ar_req_query(req, "done");
    if (done && strcmp(done, "adjusted") == 0) flash(data, "The adjustment was posted to the ledger.");
    if (done && strcmp(done, "threshold") == 0) flash(data, "The low-balance threshold was changed.");
    accounts_page(req, 200, data);
}

/* "12.34", "-5", "0.5" → cents; -1 when malformed (at most 2 decimals, at most $1,000,000). */
static int parse_dollars(const char *s, long long *cents)
{
    if (!s) return -1;
    int neg = 0;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    long long whole = 0, frac = 0;
    int digits = 0, fd = 0;
    while (isdigit((unsigned char)*s)) {
        if (++digits > 7) return -1;
        whole = whole * 10 + (*s++ - '0');
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            if (++fd > 2) return -1;
            frac = frac * 10 + (*s++ - '0');
        }
        if (fd == 0) return -1;
    }
    if (*s || digits == 0) return -1;
    if (fd == 1) frac *= 10;
    long long v = whole * 100 + frac;
    if (v > AR_BILLING_ADJUST_MAX_CENTS) return -1;
    *cents = neg ? -v : v;
    return 0;
}

void web_admin_billing_adjust(ar_request *req)
{
    ar_error err = {0};
    const char *tenant_text = field(req, "tenant_id"), *amount_text = field(req, "amount"),
               *reason = ar_req_field(req, "reason");
    long long tenant = 0, cents = 0;
    char *end = NULL;
    if (tenant_text) tenant = strtoll(tenant_text, &end, 10);
    if (!tenant_text || !end || *end || tenant <= 0 || tenant > 1000000000000LL)
        ar_error_field(&err, "tenant_id", "Choose a tenant.");
    if (parse_dollars(amount_text, &cents) != 0 || cents == 0)
        ar_error_field(&err, "amount", "An amount in dollars such as 25 or -12.50 (not zero).");
    if (!err.fields) {
        long long entry = 0, balance = 0;
        if (ar_billing_adjust(&req->ctx, tenant, cents, reason, &entry, &balance, &err) == 0) {
            ar_respond_redirect(req, 303, "/admin/billing?done=adjusted");
            return;
        }
        if (err.code != AR_ERR_VALIDATION && err.code != AR_ERR_INSUFFICIENT_BALANCE && err.code != AR_ERR_NOT_FOUND) {
            fail(req, &err);
            return;
        }
        if (err.code == AR_ERR_NOT_FOUND) ar_error_field(&err, "tenant_id", "No such tenant.");
        if (err.code == AR_ERR_INSUFFICIENT_BALANCE) ar_error_field(&err, "amount", err.message);
    }
    if (!json_object_get(err.fields, "form"))
        ar_error_field(&err, "form", "The adjustment was not made; see the highlighted fields.");
    json_t *data = json_pack("{s:o,s:{s:s?,s:s?,s:s?}}", "errors", web_form_errors(&err), "form", "tenant_id",
                             tenant_text, "amount", amount_text, "reason", reason);
    ar_error_clear(&err);
    accounts_page(req, 422, data);
}

void web_admin_billing_threshold(ar_request *req)
{
    ar_error err = {0};
    const char *tenant_text = field(req, "threshold_tenant_id"), *amount_text = field(req, "threshold");
    long long tenant = 0, cents = 0;
    char *end = NULL;
    if (tenant_text) tenant = strtoll(tenant_text, &end, 10);
    if (!tenant_text || !end || *end || tenant <= 0 || tenant > 1000000000000LL)
        ar_error_field(&err, "threshold_tenant_id", "Choose a tenant.");
    if (parse_dollars(amount_text, &cents) != 0 || cents < 0)
        ar_error_field(&err, "threshold", "An amount in dollars such as 5 or 20.00 (0 turns the warning off).");
    if (!err.fields) {
        if (ar_billing_set_threshold(&req->ctx, tenant, cents, &err) == 0) {
            ar_respond_redirect(req, 303, "/admin/billing?done=threshold");
            return;
        }
        if (err.code != AR_ERR_NOT_FOUND && err.code != AR_ERR_VALIDATION) {
            fail(req, &err);
            return;
        }
        if (err.code == AR_ERR_NOT_FOUND) ar_error_field(&err, "threshold_tenant_id", "No such tenant.");
    }
    if (!json_object_get(err.fields, "form"))
        ar_error_field(&err, "form", "The threshold was not changed; see the highlighted fields.");
    json_t *data = json_pack("{s:o,s:{s:s?,s:s?}}", "errors", web_form_errors(&err), "form", "threshold_tenant_id",
                             tenant_text, "threshold", amount_text);
    ar_error_clear(&err);
    accounts_page(req, 422, data);
}

/* ---------------------------------------------------------------- usage breakdown */

void web_admin_billing_usage(ar_request *req)
{
    ar_error err = {0};
    const char *since = field(req, "since"), *until = field(req, "until"), *tenant_text = field(req, "tenant");
    long long tenant = 0;
    char *end = NULL;
    if (tenant_text) {
        tenant = strtoll(tenant_text, &end, 10);
        if (!end || *end || tenant <= 0) tenant = -1;
    }
    json_t *data = json_object();
    json_t *b = tenant >= 0 ? ar_billing_cost_breakdown(&req->ctx, since, until, tenant, &err) : NULL;
    int status = 200;
    if (!b) {
        if (tenant >= 0 && err.code != AR_ERR_VALIDATION) {
            json_decref(data);
            fail(req, &err);
            return;
        }
        if (tenant < 0) ar_error_field(&err, "tenant", "A tenant id.");
        ar_error_field(&err, "form", "Check the dates (YYYY-MM-DD, at most 366 days) and the tenant.");
        json_object_set_new(data, "errors", web_form_errors(&err));
        ar_error_clear(&err);
        status = 422;
        b = ar_billing_cost_breakdown(&req->ctx, NULL, NULL, 0, &err);
        if (!b) {
            json_decref(data);
            fail(req, &err);
            return;
        }
    }
    static const char *const cost[] = {"cost_cents"};
    money_fields(json_object_get(b, "by_tenant"), cost, 1);
    money_fields(json_object_get(b, "by_model"), cost, 1);
    money_fields(json_object_get(b, "by_job_type"), cost, 1);
    char total[48];
    ar_billing_format_money((long long)json_integer_value(json_object_get(b, "total_cost_cents")), total, sizeof total);
    json_object_set_new(b, "total_text", json_string(total));
    json_object_set_new(data, "usage", b);
    json_object_set_new(data, "form", json_pack("{s:s?,s:s?,s:s?}", "since", since, "until", until, "tenant",
                                                tenant_text));
    with_nav(data, "usage");
    web_page(req, status, "pages/admin/billing_usage", "Billing usage", data);
}

/* ---------------------------------------------------------------- rate cards */

static void rate_cards_page(ar_request *req, int status, json_t *data)
{
    ar_error err = {0};
    json_t *cards = ar_rate_cards_list(&req->ctx, &err);
    if (!cards) {
        json_decref(data);
        fail(req, &err);
        return;
    }
    json_t *d = data ? data : json_object();
    size_t i;
    json_t *card;
    json_array_foreach(cards, i, card) json_object_set_new(card, "current", json_boolean(json_is_null(json_object_get(card, "effective_to"))));
    json_object_set_new(d, "rate_cards", cards);
    with_nav(d, "rate_cards");
    web_page(req, status, "pages/admin/billing_rate_cards", "Rate cards", d);
}

void web_admin_billing_rate_cards(ar_request *req)
{
    json_t *data = json_object();
    const char *done = ar_req_query(req, "done");
    if (done && strcmp(done, "created") == 0) flash(data, "The new rate-card version was added.");
    rate_cards_page(req, 200, data);
}

static const char *const default_fields[4][2] = {{"prompt_tokens", "price_prompt"},
                                                 {"completion_tokens", "price_completion"},
                                                 {"per_job", "price_per_job"},
                                                 {"per_mb_stored", "price_per_mb"}};

/* Extra lines "usage_type, provider, model, cents per 1K" (one per line). -1 + a field error when malformed. */
static int parse_extra(const char *text, ar_rate_price *out, size_t max, size_t *count, ar_error *err)
{
    *count = 0;
    if (!text) return 0;
    char *copy = ar_strdup(text), *save = NULL;
    int rc = 0;
    for (char *line = strtok_r(copy, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        while (isspace((unsigned char)*line)) line++;
        if (!*line) continue;
        char *parts[4] = {0};
        int n = 0;
        char *psave = NULL;
        for (char *p = strtok_r(line, ",", &psave); p && n < 5; p = strtok_r(NULL, ",", &psave)) {
            while (isspace((unsigned char)*p)) p++;
            size_t len = strlen(p);
            while (len && isspace((unsigned char)p[len - 1])) p[--len] = '\0';
            if (n < 4) parts[n] = p;
            n++;
        }
        if (n != 4 || *count == max || strlen(parts[0]) >= sizeof out->usage_type ||
            strlen(parts[1]) >= sizeof out->provider || strlen(parts[2]) >= sizeof out->model ||
            ar_billing_parse_price_per_1k(parts[3], &out[*count].price_microcents) != 0) {
            ar_error_field(err, "extra", "Each line: usage type, provider, model, cents per 1,000 units.");
            rc = -1;
            break;
        }
        snprintf(out[*count].usage_type, sizeof out->usage_type, "%s", parts[0]);
        snprintf(out[*count].provider, sizeof out->provider, "%s", parts[1]);
        snprintf(out[*count].model, sizeof out->model, "%s", parts[2]);
        (*count)++;
    }
    free(copy);
    return rc;
}

void web_admin_billing_rate_card_create(ar_request *req)
{
    ar_error err = {0};
    ar_rate_price prices[200];
    memset(prices, 0, sizeof prices);
    size_t n = 0;
    for (int k = 0; k < 4; k++) {
        const char *v = field(req, default_fields[k][1]);
        snprintf(prices[n].usage_type, sizeof prices[n].usage_type, "%s", default_fields[k][0]);
        if (ar_billing_parse_price_per_1k(v, &prices[n].price_microcents) != 0)
            ar_error_field(&err, default_fields[k][1], "Cents per 1,000 units, up to 3 decimals (e.g. 0.1).");
        n++;
    }
    size_t extra = 0;
    parse_extra(ar_req_field(req, "extra"), prices + n, 196, &extra, &err);
    n += extra;
    const char *name = field(req, "name"), *notes = ar_req_field(req, "notes"), *from = field(req, "effective_from");
    if (!name) ar_error_field(&err, "name", "Give the version a name.");
    if (!err.fields) {
        int version = 0;
        if (ar_rate_card_create(&req->ctx, name, notes, from, prices, n, &version, &err) == 0) {
            ar_respond_redirect(req, 303, "/admin/billing/rate-cards?done=created");
            return;
        }
        if (err.code != AR_ERR_VALIDATION) {
            fail(req, &err);
            return;
        }
    }
    if (!json_object_get(err.fields, "form"))
        ar_error_field(&err, "form", err.fields && json_object_get(err.fields, "prices")
                                         ? json_string_value(json_object_get(err.fields, "prices"))
                                         : "The version was not added; see the highlighted fields.");
    json_t *form = json_object();
    const char *keys[] = {"name", "notes", "effective_from", "price_prompt", "price_completion", "price_per_job",
                          "price_per_mb", "extra"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *v = ar_req_field(req, keys[k]);
        if (v) json_object_set_new(form, keys[k], json_string(v));
    }
    json_t *data = json_pack("{s:o,s:o}", "errors", web_form_errors(&err), "form", form);
    ar_error_clear(&err);
    rate_cards_page(req, 422, data);
}

/* ---------------------------------------------------------------- Stripe events */

void web_admin_billing_stripe_events(ar_request *req)
{
    ar_error err = {0};
    const char *before_text = field(req, "before_id");
    long long before = before_text ? strtoll(before_text, NULL, 10) : 0;
    if (before < 0) before = 0;
    json_t *events = ar_billing_stripe_events_list(&req->ctx, before, 50, &err);
    if (!events) {
        fail(req, &err);
        return;
    }
    json_t *data = json_object();
    if (json_array_size(events) == 50) {
        char next[96];
        snprintf(next, sizeof next, "/admin/billing/stripe-events?before_id=%lld",
                 (long long)json_integer_value(json_object_get(json_array_get(events, 49), "id")));
        json_object_set_new(data, "next_url", json_string(next));
    }
    json_object_set_new(data, "events", events);
    with_nav(data, "stripe_events");
    web_page(req, 200, "pages/admin/billing_events", "Stripe events", data);
}

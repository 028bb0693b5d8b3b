/* billing.c — the tenant's billing pages: /billing (balance, available, holds, low-balance state, top-up form
 * with presets, ledger history with pagination, usage by day and by model with a server-rendered SVG chart),
 * the top-up POST (htmx: HX-Redirect to Stripe; plain form: a page with the payment link, because the strict
 * CSP's form-action 'self' forbids a form submission from redirecting to another origin), the success page
 * that never credits (it polls the top-up until the webhook has landed) and the cancel page. */
#include "afterresume/api/handlers.h"
#include "afterresume/core/buf.h"
#include "afterresume/domain/billing.h"
#include "afterresume/domain/topups.h"
#include "afterresume/http/response.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEDGER_PAGE_SIZE 20
#define CHART_WIDTH 600
#define CHART_HEIGHT 120

static const long long presets[] = {1000, 2500, 5000, 10000};

static json_t *money(long long cents)
{
    char b[48];
    ar_billing_format_money(cents, b, sizeof b);
    return json_string(b);
}

/* "25", "25.5", "25.50", "$1,000" → cents; -1 when it is not an amount of dollars with at most 2 decimals. */
static long long parse_dollars(const char *s)
{
    if (!s) return -1;
    while (*s == ' ') s++;
    if (*s == '$') s++;
    long long whole = 0, frac = 0;
    int digits = 0, fdigits = 0;
    for (; *s && *s != '.'; s++) {
        if (*s == ',') continue;
        if (*s < '0' || *s > '9' || digits >= 9) return -1;
        whole = whole * 10 + (*s - '0');
        digits++;
    }
    if (*s == '.') {
        for (s++; *s; s++) {
            if (*s < '0' || *s > '9' || fdigits >= 2) return -1;
            frac = frac * 10 + (*s - '0');
            fdigits++;
        }
        if (fdigits == 1) frac *= 10;
    }
    if (digits == 0 && fdigits == 0) return -1;
    return whole * 100 + frac;
}

/* Usage by day as SVG bar geometry (no inline style: attributes only): [{x, y, width, height, label, value}]. */
static json_t *chart_bars(json_t *by_day)
{
    size_t n = json_array_size(by_day);
    long long max = 0;
    for (size_t i = 0; i < n; i++) {
        long long v = json_integer_value(json_object_get(json_array_get(by_day, i), "cost_cents"));
        if (v > max) max = v;
    }
    json_t *bars = json_array();
    if (n == 0) return bars;
    long long slot = CHART_WIDTH / (long long)n;
    if (slot < 2) slot = 2;
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(by_day, i);
        long long v = json_integer_value(json_object_get(d, "cost_cents"));
        long long h = max > 0 ? v * (CHART_HEIGHT - 10) / max : 0;
        if (v > 0 && h < 1) h = 1;
        char label[80], value[48];
        ar_billing_format_money(v, value, sizeof value);
        snprintf(label, sizeof label, "%s: %s", json_string_value(json_object_get(d, "day")) ? json_string_value(json_object_get(d, "day")) : "", value);
        json_array_append_new(bars, json_pack("{s:I,s:I,s:I,s:I,s:s}", "x", (json_int_t)(slot * (long long)i), "y",
                                              (json_int_t)(CHART_HEIGHT - h), "width",
                                              (json_int_t)(slot > 3 ? slot - 2 : slot), "height", (json_int_t)h,
                                              "label", label));
    }
    return bars;
}

/* Everything /billing shows; extra (stolen, may be NULL) is merged in (form errors, the refilled form). */
static void billing_page(ar_request *req, int status, json_t *extra)
{
    ar_error err = {0};
    json_t *data = json_object();
    json_object_set_new(data, "nav", json_pack("{s:b}", "billing", 1));
    ar_billing_balance b;
    if (ar_billing_balance_get(&req->ctx, 0, &b, &err) == 0) {
        json_object_set_new(data, "balance",
                            json_pack("{s:o,s:o,s:o,s:o,s:b,s:b,s:b,s:I}", "balance", money(b.balance_cents),
                                      "available", money(b.available_cents), "held", money(b.held_cents), "threshold",
                                      money(b.low_balance_threshold_cents), "is_low", b.is_low && !b.is_zero,
                                      "is_zero", b.is_zero, "has_holds", b.held_cents > 0, "balance_cents",
                                      (json_int_t)b.balance_cents));
    } else {
        json_object_set_new(data, "load_error", json_string("The balance could not be read right now."));
    }
    ar_error_clear(&err);

    json_t *holds = ar_billing_holds_list(&req->ctx, &err);
    ar_error_clear(&err);
    json_t *hold_rows = json_array();
    for (size_t i = 0; holds && i < json_array_size(holds); i++) {
        json_t *h = json_array_get(holds, i);
        json_array_append_new(hold_rows, json_pack("{s:O,s:O,s:o,s:O}", "id", json_object_get(h, "id"), "job_id",
                                                   json_object_get(h, "job_id"), "amount",
                                                   money(json_integer_value(json_object_get(h, "amount_cents"))),
                                                   "expires_at", json_object_get(h, "expires_at")));
    }
    json_decref(holds);
    json_object_set_new(data, "has_hold_rows", json_boolean(json_array_size(hold_rows) > 0));
    json_object_set_new(data, "holds", hold_rows);

    /* top-up form */
    int configured = ar_topups_configured(&req->app->cfg);
    json_t *preset_rows = json_array();
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        char label[32];
        ar_billing_format_money(presets[i], label, sizeof label);
        json_array_append_new(preset_rows, json_pack("{s:I,s:s,s:b}", "cents", (json_int_t)presets[i], "label", label,
                                                     "checked", i == 1));
    }
    json_object_set_new(data, "topup",
                        json_pack("{s:b,s:b,s:o}", "configured", configured, "allowed", req->ctx.role >= AR_ROLE_OWNER,
                                  "presets", preset_rows));

    /* ledger history */
    const char *page_text = ar_req_query(req, "page");
    long long page = 0;
    for (const char *p = page_text ? page_text : ""; *p && page <= 1000000; p++) {
        if (*p < '0' || *p > '9') {
            page = 0;
            break;
        }
        page = page * 10 + (*p - '0');
    }
    if (page < 1 || page > 1000000) page = 1;
    json_t *ledger = ar_billing_ledger_list(&req->ctx, LEDGER_PAGE_SIZE, (page - 1) * LEDGER_PAGE_SIZE, &err);
    ar_error_clear(&err);
    json_t *entries = json_array();
    long long total = 0;
    if (ledger) {
        total = json_integer_value(json_object_get(ledger, "total_count"));
        json_t *rows = json_object_get(ledger, "entries");
        for (size_t i = 0; i < json_array_size(rows); i++) {
            json_t *e = json_array_get(rows, i);
            long long amount = json_integer_value(json_object_get(e, "amount_cents"));
            long long hold = json_integer_value(json_object_get(e, "hold_cents"));
            json_array_append_new(
                entries, json_pack("{s:O,s:O,s:o,s:b,s:o,s:O,s:O}", "id", json_object_get(e, "id"), "entry_type",
                                   json_object_get(e, "entry_type"), "amount", money(hold ? -hold : amount), "credit",
                                   (hold ? -hold : amount) > 0, "balance_after",
                                   money(json_integer_value(json_object_get(e, "balance_after_cents"))), "notes",
                                   json_object_get(e, "notes"), "created_at", json_object_get(e, "created_at")));
        }
        json_decref(ledger);
    }
    long long pages = total > 0 ? (total + LEDGER_PAGE_SIZE - 1) / LEDGER_PAGE_SIZE : 1;
    json_t *pager = json_pack("{s:I,s:I,s:I}", "page", (json_int_t)page, "pages", (json_int_t)pages, "total",
                              (json_int_t)total);
    if (page > 1) json_object_set_new(pager, "prev", json_integer(page - 1));
    if (page < pages) json_object_set_new(pager, "next", json_integer(page + 1));
    json_object_set_new(data, "ledger", json_pack("{s:o,s:o}", "entries", entries, "pager", pager));

    /* usage (last 30 days) */
    json_t *usage = ar_billing_usage_summary(&req->ctx, NULL, NULL, &err);
    ar_error_clear(&err);
    if (usage) {
        json_t *by_model = json_array();
        json_t *models = json_object_get(usage, "by_model");
        for (size_t i = 0; i < json_array_size(models); i++) {
            json_t *m = json_array_get(models, i);
            json_array_append_new(by_model,
                                  json_pack("{s:O,s:O,s:o,s:O,s:O,s:O}", "provider", json_object_get(m, "provider"),
                                            "model", json_object_get(m, "model"), "cost",
                                            money(json_integer_value(json_object_get(m, "cost_cents"))),
                                            "prompt_tokens", json_object_get(m, "prompt_tokens"), "completion_tokens",
                                            json_object_get(m, "completion_tokens"), "jobs",
                                            json_object_get(m, "jobs")));
        }
        json_t *days = json_object_get(usage, "by_day");
        json_object_set_new(
            data, "usage",
            json_pack("{s:O,s:O,s:o,s:o,s:o,s:b,s:i,s:i}", "since", json_object_get(usage, "since"), "until",
                      json_object_get(usage, "until"), "total",
                      money(json_integer_value(json_object_get(usage, "total_cost_cents"))), "by_model", by_model,
                      "bars", chart_bars(days), "has_usage", json_array_size(days) > 0, "chart_width", CHART_WIDTH,
                      "chart_height", CHART_HEIGHT));
        json_decref(usage);
    }
    if (extra) {
        json_object_update(data, extra);
        json_decref(extra);
    }
    web_page(req, status, "pages/billing", "Billing", data);
}

void web_billing(ar_request *req)
{
    billing_page(req, 200, NULL);
}

void web_billing_topup(ar_request *req)
{
    ar_error err = {0};
    const char *choice = ar_req_field(req, "amount");
    const char *custom = ar_req_field(req, "custom_amount");
    long long cents = -1;
    if (custom && *custom) {
        cents = parse_dollars(custom);
        if (cents < 0) ar_error_field(&err, "custom_amount", "Enter an amount in dollars, e.g. 25 or 25.50.");
    } else if (choice && *choice) {
        char *end;
        cents = strtoll(choice, &end, 10);
        if (*end) cents = -1;
        if (cents < 0) ar_error_field(&err, "amount", "Choose one of the amounts or enter your own.");
    } else {
        ar_error_field(&err, "amount", "Choose an amount or enter your own.");
    }
    if (!err.fields && (cents < AR_BILLING_TOPUP_MIN_CENTS || cents > AR_BILLING_TOPUP_MAX_CENTS))
        ar_error_field(&err, custom && *custom ? "custom_amount" : "amount",
                       "Top-ups are from $1.00 to $10,000.00.");
    json_t *out = NULL;
    if (err.fields) {
        ar_error_set(&err, AR_ERR_VALIDATION, "The top-up was not started.");
    } else if (ar_topup_start(&req->ctx, &req->app->cfg, cents, &out, &err) == 0) {
        const char *url = json_string_value(json_object_get(out, "checkout_url"));
        if (ar_req_header(req, "HX-Request")) {
            char *location = strdup(url);
            ar_respond_text(req, 200, "text/html; charset=utf-8", "", 0);
            ar_response_header(req, "HX-Redirect", location);
            free(location);
        } else {
            json_t *data = json_pack("{s:{s:b},s:o,s:o}", "nav", "billing", 1, "checkout", out,
                                     "amount", money(cents));
            out = NULL; /* stolen by data */
            web_page(req, 200, "pages/billing_topup_redirect", "Continue to payment", data);
        }
        json_decref(out);
        return;
    }
    if (err.code == AR_ERR_VALIDATION && err.fields && json_object_get(err.fields, "amount_cents"))
        ar_error_field(&err, "amount", json_string_value(json_object_get(err.fields, "amount_cents")));
    json_t *extra = json_pack("{s:o,s:{s:s}}", "errors", web_form_errors(&err), "form", "custom_amount",
                              custom ? custom : "");
    int status = err.code == AR_ERR_VALIDATION ? 422 : ar_err_http_status(err.code);
    /* htmx turns 5xx answers into a generic toast; Stripe being unreachable deserves the page's own message */
    if (status >= 500 && ar_req_header(req, "HX-Request")) status = 200;
    ar_error_clear(&err);
    billing_page(req, status, extra);
}

/* The top-up id from ?topup= (0 when missing or malformed). */
static long long topup_param(ar_request *req)
{
    const char *v = ar_req_query(req, "topup");
    if (!v || !*v || strlen(v) > 18) return 0;
    for (const char *p = v; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return atoll(v);
}

static json_t *topup_view(ar_request *req, long long id, ar_error *err)
{
    json_t *t = ar_topup_status(&req->ctx, id, err);
    if (!t) return NULL;
    const char *status = json_string_value(json_object_get(t, "status"));
    json_t *view = json_pack("{s:I,s:s,s:o,s:o,s:o,s:b,s:b,s:b,s:s}", "id", (json_int_t)id, "status", status, "amount",
                             money(json_integer_value(json_object_get(t, "amount_cents"))), "balance",
                             money(json_integer_value(json_object_get(t, "balance_cents"))), "available",
                             money(json_integer_value(json_object_get(t, "available_cents"))), "pending",
                             strcmp(status, "pending") == 0, "paid",
                             strcmp(status, "paid") == 0 || strcmp(status, "refunded") == 0, "unsuccessful",
                             strcmp(status, "failed") == 0 || strcmp(status, "expired") == 0, "poll_url", "");
    char poll[64];
    snprintf(poll, sizeof poll, "/billing/topup/%lld/status", id);
    json_object_set_new(view, "poll_url", json_string(poll));
    json_decref(t);
    return view;
}

static void not_found(ar_request *req)
{
    ar_respond_error_code(req, AR_ERR_NOT_FOUND, "No such top-up.");
}

void web_billing_topup_success(ar_request *req)
{
    ar_error err = {0};
    long long id = topup_param(req);
    json_t *view = id ? topup_view(req, id, &err) : NULL;
    if (!view) {
        if (err.code && err.code != AR_ERR_NOT_FOUND) {
            ar_respond_error(req, &err);
            ar_error_clear(&err);
        } else {
            ar_error_clear(&err);
            not_found(req);
        }
        return;
    }
    web_page(req, 200, "pages/billing_topup_success", "Top-up", json_pack("{s:{s:b},s:o}", "nav", "billing", 1,
                                                                          "topup", view));
}

void web_billing_topup_status(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *view = id ? topup_view(req, id, &err) : NULL;
    if (!view) {
        if (err.code && err.code != AR_ERR_NOT_FOUND) {
            ar_respond_error(req, &err);
            ar_error_clear(&err);
        } else {
            ar_error_clear(&err);
            not_found(req);
        }
        return;
    }
    ar_respond_page(req, 200, "partials/billing_topup_status", NULL, json_pack("{s:o}", "topup", view));
}

void web_billing_topup_cancel(ar_request *req)
{
    ar_error err = {0};
    long long id = topup_param(req);
    json_t *view = id ? topup_view(req, id, &err) : NULL;
    ar_error_clear(&err); /* the page reads the same with or without a known top-up */
    json_t *data = json_pack("{s:{s:b}}", "nav", "billing", 1);
    if (view) json_object_set_new(data, "topup", view);
    web_page(req, 200, "pages/billing_topup_cancel", "Top-up cancelled", data);
}

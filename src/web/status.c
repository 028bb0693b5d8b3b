/* status.c — the status bar as data for pages (web_status_context) and as the HTML fragment that htmx polls
 * (GET /status/bar), plus the JSON API GET /api/status/bar/. One service, two faces. */
#include "afterresume/api/handlers.h"
#include "afterresume/domain/billing.h"
#include "afterresume/domain/status_bar.h"
#include "afterresume/http/response.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <stdio.h>

json_t *web_status_context(ar_request *req)
{
    ar_error err = {0};
    json_t *bar = ar_status_bar(&req->ctx, &err);
    ar_error_clear(&err);
    if (!bar) return NULL;
    char jobs[32], balance[48], tokens[48];
    snprintf(jobs, sizeof jobs, "%lld", (long long)json_integer_value(json_object_get(bar, "jobs_running")));
    int configured = json_is_true(json_object_get(bar, "has_reserve"));
    if (configured)
        ar_billing_format_money((long long)json_integer_value(json_object_get(bar, "reserve_balance_cents")), balance,
                                sizeof balance);
    else
        snprintf(balance, sizeof balance, "—");
    snprintf(tokens, sizeof tokens, "%lld",
             (long long)(json_integer_value(json_object_get(bar, "tokens_in")) +
                         json_integer_value(json_object_get(bar, "tokens_out"))));
    /* Red when nothing is available, amber below the low-balance threshold (classes balance--zero / --low). */
    const char *state = json_is_true(json_object_get(bar, "is_zero_balance")) ? "zero"
                        : json_is_true(json_object_get(bar, "is_low_balance")) ? "low"
                                                                               : "normal";
    json_t *status = json_pack("{s:s,s:s,s:s,s:s,s:s}", "balance", balance, "balance_state", state, "tokens_month",
                               tokens, "jobs_running", jobs, "refresh_url", "/status/bar");
    json_decref(bar);
    return status;
}

void web_status_bar(ar_request *req)
{
    json_t *status = web_status_context(req);
    ar_respond_page(req, 200, "partials/status_bar", NULL, status ? json_pack("{s:o}", "status", status) : NULL);
}

void api_status_bar(ar_request *req)
{
    ar_error err = {0};
    json_t *bar = ar_status_bar(&req->ctx, &err);
    if (!bar) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    /* billing_configured = payments can be taken (a Stripe key is set); the reserve works either way. */
    json_object_set_new(bar, "billing_configured", json_boolean(req->app && req->app->cfg.stripe_secret_key &&
                                                                req->app->cfg.stripe_secret_key[0]));
    ar_respond_json(req, 200, bar);
}

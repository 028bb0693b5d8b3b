/* stripe.c — JSON API for Stripe top-ups: POST /api/billing/topup/session/ (start a Checkout Session) and the
 * anonymous-but-signed webhook POST /api/billing/webhook/ (Stripe-Signature verified over the raw body before
 * anything is parsed or written). */
#include "afterresume/api/handlers.h"
#include "afterresume/clients/stripe.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/billing.h"
#include "afterresume/domain/topups.h"
#include "afterresume/http/response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void api_billing_topup_session(ar_request *req)
{
    ar_error err = {0};
    json_t *amount = json_object_get(req->json, "amount_cents");
    if (!json_is_integer(amount) || json_integer_value(amount) < AR_BILLING_TOPUP_MIN_CENTS ||
        json_integer_value(amount) > AR_BILLING_TOPUP_MAX_CENTS) {
        ar_error_field(&err, "amount_cents",
                       amount ? "must be a whole number of cents from 100 to 1000000" : "is required");
        ar_error_set(&err, AR_ERR_VALIDATION, "amount_cents must be an integer from 100 to 1000000.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_t *out = NULL;
    if (ar_topup_start(&req->ctx, &req->app->cfg, (long long)json_integer_value(amount), &out, &err) != 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    const char *url = json_string_value(json_object_get(out, "checkout_url"));
    char *location = strdup(url ? url : "");
    ar_respond_json(req, 200, out);
    if (ar_req_header(req, "HX-Request") && location && *location) ar_response_header(req, "HX-Redirect", location);
    free(location);
}

void api_billing_webhook(ar_request *req)
{
    const char *secret = req->app->cfg.stripe_webhook_secret;
    if (!secret || !*secret) {
        ar_respond_error_code(req, AR_ERR_UNAVAILABLE, "The Stripe webhook secret is not configured.");
        return;
    }
    const char *payload = req->body.data ? req->body.data : "";
    ar_stripe_sig_result sig = ar_stripe_verify_signature(ar_req_header(req, "Stripe-Signature"), payload,
                                                          req->body.len, secret, (long long)time(NULL),
                                                          AR_STRIPE_TOLERANCE_S);
    if (sig != AR_STRIPE_SIG_OK) {
        ar_log_json(AR_LOG_WARN, "stripe webhook signature refused",
                    json_pack("{s:s,s:s,s:s}", "request_id", req->request_id, "reason",
                              ar_stripe_sig_result_string(sig), "ip", req->ctx.ip));
        char msg[96];
        snprintf(msg, sizeof msg, "Invalid Stripe-Signature (%s).", ar_stripe_sig_result_string(sig));
        ar_respond_error_code(req, AR_ERR_BAD_REQUEST, msg);
        return;
    }
    ar_error err = {0};
    json_t *result = NULL;
    int status = ar_stripe_webhook_process(&req->ctx, payload, req->body.len, &result, &err);
    if (!result) {
        if (status == 409) err.code = AR_ERR_CONFLICT;
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    ar_respond_json(req, status, result);
}

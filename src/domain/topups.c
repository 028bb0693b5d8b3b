/* topups.c — Stripe Checkout top-ups: starting one (pending row + Checkout Session) and applying verified
 * webhook events exactly once (see topups.h; the money moves through domain/billing.h). */
#include "afterresume/domain/topups.h"
#include "afterresume/clients/stripe.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/billing.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const ar_db_stmt statements[] = {
    {"topups_by_payment_intent",
     "SELECT id FROM topups WHERE stripe_payment_intent_id = $1 ORDER BY id LIMIT 1"},
};

void ar_topups_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

int ar_topups_configured(const ar_config *cfg)
{
    /* both: without the webhook secret a payment could never be credited */
    return cfg && cfg->stripe_secret_key && *cfg->stripe_secret_key && cfg->stripe_webhook_secret &&
           *cfg->stripe_webhook_secret;
}

/* ---------------------------------------------------------------- starting a top-up */

typedef struct fail_args {
    long long topup_id;
    const char *reason;
} fail_args;

static int mark_failed_cb(PGconn *c, void *arg, ar_error *err)
{
    fail_args *a = arg;
    int changed = 0;
    return ar_billing_topup_mark_failed_tx(c, a->topup_id, "failed", a->reason, &changed, err);
}

int ar_topup_start(const ar_ctx *ctx, const ar_config *cfg, long long amount_cents, json_t **out, ar_error *err)
{
    *out = NULL;
    if (ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_UNAUTHORIZED, NULL), -1;
    if (amount_cents < AR_BILLING_TOPUP_MIN_CENTS || amount_cents > AR_BILLING_TOPUP_MAX_CENTS) {
        ar_error_field(err, "amount_cents", "Choose an amount from $1.00 to $10,000.00 (100 to 1,000,000 cents).");
        return ar_error_set(err, AR_ERR_VALIDATION, "The amount is out of range."), -1;
    }
    if (!ar_topups_configured(cfg))
        return ar_error_set(err, AR_ERR_UNAVAILABLE,
                            "Payments are not configured on this server; staff can credit the balance by hand."),
               -1;
    long long topup_id = 0;
    if (ar_billing_topup_create(ctx, amount_cents, &topup_id, err) != 0) return -1;

    const char *base = cfg->public_url;
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/') blen--;
    char *success = ar_asprintf("%.*s/billing/topup/success?topup=%lld&session_id={CHECKOUT_SESSION_ID}", (int)blen,
                                base, topup_id);
    char *cancel = ar_asprintf("%.*s/billing/topup/cancel?topup=%lld", (int)blen, base, topup_id);
    char reference[64], idem[64];
    snprintf(reference, sizeof reference, "tenant-%lld-topup-%lld", ctx->tenant_id, topup_id);
    snprintf(idem, sizeof idem, "afterresume-topup-%lld", topup_id);
    ar_stripe_checkout in = {
        .api_base = cfg->stripe_api_base,
        .secret_key = cfg->stripe_secret_key,
        .amount_cents = amount_cents,
        .currency = "usd",
        .product_name = AR_TOPUP_PRODUCT_NAME,
        .success_url = success,
        .cancel_url = cancel,
        .client_reference_id = reference,
        .tenant_id = ctx->tenant_id,
        .topup_id = topup_id,
        .idempotency_key = idem,
    };
    ar_error serr = {0};
    json_t *session = ar_stripe_checkout_create(&in, &serr);
    free(success);
    free(cancel);
    if (!session) {
        ar_log_json(AR_LOG_WARN, "stripe checkout session failed",
                    json_pack("{s:s,s:I,s:I,s:s}", "request_id", ctx->request_id, "tenant_id",
                              (json_int_t)ctx->tenant_id, "topup_id", (json_int_t)topup_id, "error", serr.message));
        fail_args fa = {topup_id, serr.message};
        ar_error ignored = {0};
        if (ar_ctx_tx(ctx, mark_failed_cb, &fa, &ignored) != 0) ar_log_warn("top-up %lld: could not mark failed: %s",
                                                                            topup_id, ignored.message);
        ar_error_clear(&ignored);
        ar_error_clear(&serr);
        return ar_error_set(err, AR_ERR_UNAVAILABLE, "Stripe could not start the payment; nothing was charged. "
                                                     "Try again in a minute."),
               -1;
    }
    const char *sid = json_string_value(json_object_get(session, "id"));
    const char *url = json_string_value(json_object_get(session, "url"));
    if (ar_billing_topup_set_session(ctx, topup_id, sid, url, err) != 0) {
        json_decref(session);
        return -1;
    }
    *out = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s}", "topup_id", (json_int_t)topup_id, "session_id", sid,
                     "checkout_url", url, "url", url, "amount_cents", (json_int_t)amount_cents, "currency", "usd");
    json_decref(session);
    return 0;
}

json_t *ar_topup_status(const ar_ctx *ctx, long long topup_id, ar_error *err)
{
    ar_billing_topup t;
    if (topup_id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such top-up."), NULL;
    if (ar_billing_topup_get(ctx, topup_id, &t, err) != 0) return NULL;
    if (t.tenant_id != ctx->tenant_id) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such top-up."), NULL;
    ar_billing_balance b;
    if (ar_billing_balance_get(ctx, 0, &b, err) != 0) return NULL;
    return json_pack("{s:I,s:s,s:I,s:I,s:s,s:I,s:I,s:b}", "topup_id", (json_int_t)t.id, "status", t.status,
                     "amount_cents", (json_int_t)t.amount_cents, "amount_refunded_cents",
                     (json_int_t)t.amount_refunded_cents, "currency", t.currency, "balance_cents",
                     (json_int_t)b.balance_cents, "available_cents", (json_int_t)b.available_cents, "settled",
                     strcmp(t.status, "pending") != 0);
}

/* ---------------------------------------------------------------- webhook */

typedef enum { OUT_PROCESSED, OUT_IGNORED, OUT_FAILED } outcome;

typedef struct webhook {
    const ar_ctx *ctx;
    json_t *event;
    const char *payload;
    const char *event_id, *type;
    /* results (reset on every transaction attempt) */
    int duplicate;
    int defer;                    /* roll back everything and ask Stripe to retry later */
    outcome out;
    char detail[512];
    long long tenant_id, topup_id, ledger_entry_id;
} webhook;

static int ignored(webhook *w, const char *fmt, const char *arg)
{
    w->out = OUT_IGNORED;
    snprintf(w->detail, sizeof w->detail, fmt, arg ? arg : "");
    return 0;
}

/* metadata.topup_id as a positive id: 0 when absent, -1 when present but not an id. */
static long long metadata_id(json_t *obj, const char *key)
{
    json_t *v = json_object_get(json_object_get(obj, "metadata"), key);
    if (!v) return 0;
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > 18) return -1;
    long long n = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        n = n * 10 + (*p - '0');
    }
    return n > 0 ? n : -1;
}

/* An id field that Stripe sends as a string or, when expanded, as an object with an id. */
static const char *id_of(json_t *v)
{
    if (json_is_object(v)) v = json_object_get(v, "id");
    const char *s = json_string_value(v);
    return s && *s && strlen(s) < 256 ? s : NULL;
}

static int check_common(webhook *w, json_t *obj, const ar_billing_topup *t, ar_error *err)
{
    long long meta_tenant = metadata_id(obj, "tenant_id");
    if (meta_tenant != 0 && meta_tenant != t->tenant_id)
        return ar_error_set(err, AR_ERR_VALIDATION, "metadata.tenant_id does not match top-up %lld", t->id), -1;
    const char *currency = json_string_value(json_object_get(obj, "currency"));
    if (currency && strcasecmp(currency, t->currency) != 0)
        return ar_error_set(err, AR_ERR_VALIDATION, "currency %.8s does not match top-up %lld (%s)", currency, t->id,
                            t->currency),
               -1;
    w->tenant_id = t->tenant_id;
    w->topup_id = t->id;
    return 0;
}

static int credit(PGconn *c, webhook *w, json_t *session, const ar_billing_topup *t, ar_error *err)
{
    json_t *total = json_object_get(session, "amount_total");
    if (!json_is_integer(total))
        return ar_error_set(err, AR_ERR_VALIDATION, "the session has no integer amount_total"), -1;
    ar_ctx tctx = ar_ctx_system(w->ctx);
    tctx.tenant_id = t->tenant_id;
    tctx.user_id = 0;
    int already = 0;
    long long entry = 0;
    if (ar_billing_topup_mark_paid_tx(c, &tctx, t->id, (long long)json_integer_value(total), w->event_id,
                                      id_of(json_object_get(session, "payment_intent")), &entry, &already, err) != 0)
        return -1;
    if (already) return ignored(w, "top-up already credited%s", NULL);
    w->out = OUT_PROCESSED;
    w->ledger_entry_id = entry;
    snprintf(w->detail, sizeof w->detail, "credited %lld cents", t->amount_cents);
    return 0;
}

static int on_session(PGconn *c, webhook *w, json_t *obj, ar_error *err)
{
    const char *object = json_string_value(json_object_get(obj, "object"));
    const char *sid = id_of(json_object_get(obj, "id"));
    if (!object || strcmp(object, "checkout.session") != 0 || !sid)
        return ar_error_set(err, AR_ERR_VALIDATION, "data.object is not a Checkout Session"), -1;
    long long tid = metadata_id(obj, "topup_id");
    if (tid == 0) return ignored(w, "not an AfterResume top-up (no metadata.topup_id)%s", NULL);
    if (tid < 0) return ar_error_set(err, AR_ERR_VALIDATION, "metadata.topup_id is not a top-up id"), -1;
    ar_billing_topup t;
    if (ar_billing_topup_find_tx(c, sid, tid, &t, err) != 0) return -1;
    if (t.id != tid)
        return ar_error_set(err, AR_ERR_VALIDATION, "metadata.topup_id %lld does not match top-up %lld of this session",
                            tid, t.id),
               -1;
    if (t.session_id[0] && strcmp(t.session_id, sid) != 0)
        return ar_error_set(err, AR_ERR_VALIDATION, "top-up %lld belongs to another Checkout Session", t.id), -1;
    if (check_common(w, obj, &t, err) != 0) return -1;
    const char *paid = json_string_value(json_object_get(obj, "payment_status"));
    if (strcmp(w->type, "checkout.session.completed") == 0) {
        if (!paid || strcmp(paid, "paid") != 0)
            return ignored(w, "payment_status is %s: waiting for the asynchronous payment", paid ? paid : "missing");
        return credit(c, w, obj, &t, err);
    }
    if (strcmp(w->type, "checkout.session.async_payment_succeeded") == 0) {
        if (!paid || strcmp(paid, "paid") != 0)
            return ar_error_set(err, AR_ERR_VALIDATION, "async_payment_succeeded without payment_status paid"), -1;
        return credit(c, w, obj, &t, err);
    }
    const char *status = strcmp(w->type, "checkout.session.expired") == 0 ? "expired" : "failed";
    int changed = 0;
    if (ar_billing_topup_mark_failed_tx(c, t.id, status,
                                        *status == 'e' ? "the Checkout Session expired"
                                                       : "the asynchronous payment failed",
                                        &changed, err) != 0)
        return -1;
    if (!changed) return ignored(w, "top-up was already %s", t.status);
    w->out = OUT_PROCESSED;
    snprintf(w->detail, sizeof w->detail, "top-up marked %s", status);
    return 0;
}

static int on_refund(PGconn *c, webhook *w, json_t *obj, ar_error *err)
{
    const char *object = json_string_value(json_object_get(obj, "object"));
    if (!object || strcmp(object, "charge") != 0)
        return ar_error_set(err, AR_ERR_VALIDATION, "data.object is not a Charge"), -1;
    long long tid = metadata_id(obj, "topup_id");
    if (tid < 0) return ar_error_set(err, AR_ERR_VALIDATION, "metadata.topup_id is not a top-up id"), -1;
    const char *pi = id_of(json_object_get(obj, "payment_intent"));
    if (tid == 0 && pi) { /* metadata not copied to the charge: find the top-up by its PaymentIntent */
        const char *params[1] = {pi};
        PGresult *r = ar_db_exec(c, "topups_by_payment_intent", 1, params, err);
        if (!r) return -1;
        if (PQntuples(r) == 1) tid = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    if (tid == 0) return ignored(w, "not an AfterResume top-up (no metadata.topup_id)%s", NULL);
    ar_billing_topup t;
    if (ar_billing_topup_find_tx(c, "", tid, &t, err) != 0) return -1;
    if (pi && t.payment_intent_id[0] && strcmp(pi, t.payment_intent_id) != 0)
        return ar_error_set(err, AR_ERR_VALIDATION, "payment_intent does not match top-up %lld", t.id), -1;
    if (check_common(w, obj, &t, err) != 0) return -1;
    json_t *refunded = json_object_get(obj, "amount_refunded");
    if (!json_is_integer(refunded) || json_integer_value(refunded) < 0)
        return ar_error_set(err, AR_ERR_VALIDATION, "the charge has no amount_refunded"), -1;
    if (strcmp(t.status, "pending") == 0) { /* the payment event has not landed yet: let Stripe retry later */
        w->defer = 1;
        return ar_error_set(err, AR_ERR_CONFLICT, "top-up %lld is not settled yet; retry later", t.id), -1;
    }
    if (strcmp(t.status, "paid") != 0 && strcmp(t.status, "refunded") != 0)
        return ar_error_set(err, AR_ERR_VALIDATION, "refund for top-up %lld, which was never credited (%s)", t.id,
                            t.status),
               -1;
    ar_ctx tctx = ar_ctx_system(w->ctx);
    tctx.tenant_id = t.tenant_id;
    tctx.user_id = 0;
    long long entry = 0;
    if (ar_billing_refund_tx(c, &tctx, t.id, (long long)json_integer_value(refunded), w->event_id, &entry, err) != 0)
        return -1;
    if (entry == 0) return ignored(w, "no refunded amount beyond what was already reversed%s", NULL);
    w->out = OUT_PROCESSED;
    w->ledger_entry_id = entry;
    snprintf(w->detail, sizeof w->detail, "refund reversed (amount_refunded %lld cents in total)",
             (long long)json_integer_value(refunded));
    return 0;
}

static int dispatch(PGconn *c, webhook *w, ar_error *err)
{
    json_t *obj = json_object_get(json_object_get(w->event, "data"), "object");
    if (strcmp(w->type, "checkout.session.completed") == 0 ||
        strcmp(w->type, "checkout.session.async_payment_succeeded") == 0 ||
        strcmp(w->type, "checkout.session.async_payment_failed") == 0 ||
        strcmp(w->type, "checkout.session.expired") == 0)
        return on_session(c, w, obj, err);
    if (strcmp(w->type, "charge.refunded") == 0) return on_refund(c, w, obj, err);
    if (strncmp(w->type, "charge.dispute.", 15) == 0) {
        ar_log_json(AR_LOG_WARN, "stripe dispute event recorded: staff review needed",
                    json_pack("{s:s,s:s}", "event_id", w->event_id, "type", w->type));
        return ignored(w, "dispute recorded: staff review it and adjust the balance by hand if needed%s", NULL);
    }
    return ignored(w, "unhandled event type%s", NULL);
}

static int savepoint(PGconn *c, const char *sql, ar_error *err)
{
    PGresult *r = ar_db_exec_sql(c, sql, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

static int webhook_tx(PGconn *c, void *arg, ar_error *err)
{
    webhook *w = arg;
    w->duplicate = w->defer = 0;
    w->out = OUT_IGNORED;
    w->detail[0] = '\0';
    w->tenant_id = w->topup_id = w->ledger_entry_id = 0;
    if (ar_billing_stripe_event_begin_tx(c, w->event_id, w->type, w->payload, &w->duplicate, err) != 0) return -1;
    if (w->duplicate) return 0;
    if (savepoint(c, "SAVEPOINT stripe_effect", err) != 0) return -1;
    ar_error e = {0};
    if (dispatch(c, w, &e) != 0) {
        if (w->defer || e.code == AR_ERR_UNAVAILABLE || e.code == AR_ERR_INTERNAL) {
            *err = e; /* the whole transaction rolls back: nothing recorded, Stripe retries */
            return -1;
        }
        if (savepoint(c, "ROLLBACK TO SAVEPOINT stripe_effect", err) != 0) {
            ar_error_clear(&e);
            return -1;
        }
        w->out = OUT_FAILED;
        snprintf(w->detail, sizeof w->detail, "%s", e.message[0] ? e.message : ar_err_default_message(e.code));
        ar_error_clear(&e);
    }
    static const char *const names[] = {"processed", "ignored", "failed"};
    return ar_billing_stripe_event_finish_tx(c, w->event_id, names[w->out], w->detail, w->tenant_id, w->topup_id,
                                             err);
}

int ar_stripe_webhook_process(const ar_ctx *ctx, const char *payload, size_t len, json_t **result, ar_error *err)
{
    *result = NULL;
    json_error_t jerr;
    json_t *event = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *id = json_string_value(json_object_get(event, "id"));
    const char *type = json_string_value(json_object_get(event, "type"));
    const char *object = json_string_value(json_object_get(event, "object"));
    json_t *data_object = json_object_get(json_object_get(event, "data"), "object");
    if (!json_is_object(event) || !id || !*id || strlen(id) > 255 || !type || !*type || strlen(type) > 255 ||
        (object && strcmp(object, "event") != 0) || !json_is_object(data_object)) {
        json_decref(event);
        ar_error_set(err, AR_ERR_BAD_REQUEST, "The body is not a Stripe event.");
        return 400;
    }
    ar_ctx sys = ar_ctx_system(ctx);
    webhook w = {.ctx = &sys, .event = event, .payload = payload, .event_id = id, .type = type};
    /* payload is the raw body (NUL-terminated by the request buffer); begin_tx stores it as jsonb */
    if (ar_ctx_tx(&sys, webhook_tx, &w, err) != 0) {
        int status = w.defer ? 409 : ar_err_http_status(err->code);
        ar_log_json(AR_LOG_WARN, "stripe webhook not applied",
                    json_pack("{s:s,s:s,s:s,s:i,s:s}", "request_id", ctx->request_id, "event_id", id, "type", type,
                              "status", status, "error", err->message));
        json_decref(event);
        return status;
    }
    static const char *const names[] = {"processed", "ignored", "failed"};
    json_t *r = json_pack("{s:s,s:s,s:s}", "status", w.duplicate ? "skipped" : names[w.out], "event_id", id, "type",
                          type);
    if (w.duplicate) {
        json_object_set_new(r, "reason", json_string("already_processed"));
    } else {
        if (w.detail[0]) json_object_set_new(r, "detail", json_string(w.detail));
        if (w.tenant_id) json_object_set_new(r, "tenant_id", json_integer(w.tenant_id));
        if (w.topup_id) json_object_set_new(r, "topup_id", json_integer(w.topup_id));
        if (w.ledger_entry_id) json_object_set_new(r, "ledger_entry_id", json_integer(w.ledger_entry_id));
    }
    ar_log_json(w.out == OUT_FAILED && !w.duplicate ? AR_LOG_WARN : AR_LOG_INFO, "stripe webhook",
                json_pack("{s:s,s:s,s:s,s:O}", "request_id", ctx->request_id, "event_id", id, "type", type, "result",
                          json_object_get(r, "status")));
    json_decref(event);
    *result = r;
    return 200;
}

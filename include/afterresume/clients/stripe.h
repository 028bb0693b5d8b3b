/* stripe.h — the Stripe client: webhook signature verification (the `Stripe-Signature` header) and Checkout
 * Session creation over libcurl (form-encoded POST /v1/checkout/sessions with an Idempotency-Key).
 *
 * Signature scheme (https://docs.stripe.com/webhooks#verify-manually): the header is a comma-separated list
 * of key=value items, `t=<unix seconds>` once and one or more `v1=<hex>` (several during a secret rotation);
 * other schemes (v0, …) are ignored. v1 = hex(HMAC-SHA256(key = the endpoint secret as given, "whsec_…"
 * included, message = t + "." + raw body)). A header verifies when any v1 matches (constant-time compare)
 * and |now − t| ≤ tolerance (300 s). The secret key is never logged and never put in an error message. */
#ifndef AFTERRESUME_CLIENTS_STRIPE_H
#define AFTERRESUME_CLIENTS_STRIPE_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/core/error.h"

#define AR_STRIPE_TOLERANCE_S 300
#define AR_STRIPE_SIGNATURE_MAX 4096 /* longer headers are refused as malformed */

typedef enum ar_stripe_sig_result {
    AR_STRIPE_SIG_OK = 0,
    AR_STRIPE_SIG_NO_SECRET,    /* no endpoint secret configured */
    AR_STRIPE_SIG_MISSING,      /* no header */
    AR_STRIPE_SIG_MALFORMED,    /* not a list of key=value items, a duplicated or non-numeric t, too long */
    AR_STRIPE_SIG_NO_TIMESTAMP, /* no t= item */
    AR_STRIPE_SIG_NO_V1,        /* no v1= item (e.g. only v0) */
    AR_STRIPE_SIG_STALE,        /* |now − t| > tolerance */
    AR_STRIPE_SIG_MISMATCH,     /* no v1 matches */
} ar_stripe_sig_result;

/* Verify a Stripe-Signature header against the raw body. now: unix seconds (time(NULL) in production). */
ar_stripe_sig_result ar_stripe_verify_signature(const char *header, const char *payload, size_t payload_len,
                                                const char *secret, long long now, long long tolerance_s);
/* A short stable reason for logs and 400 bodies: "ok", "no_secret", "missing", "malformed", "no_timestamp",
 * "no_v1", "stale", "mismatch". */
const char *ar_stripe_sig_result_string(ar_stripe_sig_result r);
/* The v1 value (64 lowercase hex characters + NUL) for secret, t and payload (tests and tools). */
void ar_stripe_sign(const char *secret, long long t, const char *payload, size_t payload_len, char hex_out[65]);

/* One Checkout Session for a one-off top-up payment. All strings required unless stated. */
typedef struct ar_stripe_checkout {
    const char *api_base;        /* STRIPE_API_BASE, e.g. https://api.stripe.com (no trailing slash needed) */
    const char *secret_key;      /* STRIPE_SECRET_KEY, sent as a bearer token */
    long long amount_cents;      /* unit_amount of the one line item, quantity 1 */
    const char *currency;        /* ISO code, lower case, e.g. "usd" */
    const char *product_name;    /* line item name shown on the payment page */
    const char *success_url;     /* may contain {CHECKOUT_SESSION_ID}, which Stripe fills in */
    const char *cancel_url;
    const char *client_reference_id;
    long long tenant_id;         /* metadata[tenant_id] */
    long long topup_id;          /* metadata[topup_id] and payment_intent_data[metadata][topup_id] */
    const char *idempotency_key; /* Idempotency-Key header (at most 255 characters) */
    long timeout_s;              /* whole request; 0 = 20 s (connect timeout 5 s) */
} ar_stripe_checkout;

/* The form body for POST /v1/checkout/sessions (heap string; exposed for tests). NULL + err
 * (AR_ERR_BAD_REQUEST) when a required field is missing or out of range. */
char *ar_stripe_checkout_form(const ar_stripe_checkout *in, ar_error *err);

/* Create the session. On success returns the parsed Checkout Session object (new reference; it has at
 * least string "id" and "url"). On failure NULL + err:
 *   AR_ERR_BAD_REQUEST  the request could not be built (missing field)
 *   AR_ERR_UNAVAILABLE  Stripe could not be reached, timed out, refused the request (the message carries
 *                       the HTTP status and Stripe's error type/message, never the key) or answered
 *                       something that is not a Checkout Session. */
json_t *ar_stripe_checkout_create(const ar_stripe_checkout *in, ar_error *err);

#endif

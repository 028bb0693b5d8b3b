/* topups.h — Stripe Checkout top-ups of the reserve balance (SPEC §5): starting a top-up (a pending top-up row
 * plus a Checkout Session) and processing verified Stripe webhook events, built on the billing service
 * (domain/billing.h: top-up rows, the ledger credit / refund, the Stripe event log).
 *
 * Webhook processing, in ONE transaction with the system context:
 *   1. record the event id (stripe_events, result "processing"); a known id → "skipped", nothing else happens;
 *   2. apply its effect under a savepoint:
 *        checkout.session.completed              credit when payment_status = "paid" (amount_total must equal
 *                                                the top-up's amount), else leave the top-up pending
 *        checkout.session.async_payment_succeeded credit (once: whichever paid event lands first credits)
 *        checkout.session.async_payment_failed   pending → failed
 *        checkout.session.expired                pending → expired
 *        charge.refunded                         debit the refunded delta since the last refund (cumulative
 *                                                amount_refunded) as a `refund` entry
 *        anything else                           recorded, "ignored"
 *      Events whose object carries no metadata.topup_id are someone else's payments on the same Stripe
 *      account: "ignored".
 *   3. mark the event processed / ignored / failed. A permanent failure (amount or currency mismatch, unknown
 *      top-up, metadata that contradicts our row) rolls back the effect only and is recorded "failed" with the
 *      reason (answered 200: retrying cannot help; staff see it on the admin page). A charge.refunded for a
 *      top-up whose payment has not landed yet, and database outages, roll back everything and are answered
 *      409 / 503 so that Stripe retries later. */
#ifndef AFTERRESUME_DOMAIN_TOPUPS_H
#define AFTERRESUME_DOMAIN_TOPUPS_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/core/config.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

#define AR_TOPUP_PRODUCT_NAME "AfterResume reserve balance top-up"

/* 1 when top-ups can be offered: STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are both set. */
int ar_topups_configured(const ar_config *cfg);

/* Start a top-up of amount_cents for ctx's tenant: validate (AR_ERR_VALIDATION, field amount_cents, outside
 * AR_BILLING_TOPUP_MIN_CENTS..MAX), refuse with AR_ERR_UNAVAILABLE "payments are not configured" without a
 * key, create the pending top-up, create the Checkout Session (Idempotency-Key "afterresume-topup-<id>",
 * success URL <AR_PUBLIC_URL>/billing/topup/success?topup=<id>&session_id={CHECKOUT_SESSION_ID}, cancel URL
 * <AR_PUBLIC_URL>/billing/topup/cancel?topup=<id>) and record it on the top-up. When Stripe fails the top-up
 * is marked failed and err is AR_ERR_UNAVAILABLE. *out = {topup_id, session_id, checkout_url, url,
 * amount_cents, currency} (new reference). */
int ar_topup_start(const ar_ctx *ctx, const ar_config *cfg, long long amount_cents, json_t **out, ar_error *err);

/* A top-up of ctx's tenant for the success page: {topup_id, status, amount_cents, amount_refunded_cents,
 * currency, balance_cents, available_cents, settled} (settled = status is no longer pending). Foreign or
 * unknown id → AR_ERR_NOT_FOUND. */
json_t *ar_topup_status(const ar_ctx *ctx, long long topup_id, ar_error *err);

/* Process a verified webhook payload (the raw body whose signature was checked). Returns the HTTP status to
 * answer and sets *result (new reference): {status: "processed" | "ignored" | "failed" | "skipped", event_id,
 * type, detail?, tenant_id?, topup_id?, ledger_entry_id?}. On a body that is not a Stripe event (400), a
 * retry-later conflict (409) or a database error (503/500) returns that status with *result NULL and err set;
 * nothing is written then. */
int ar_stripe_webhook_process(const ar_ctx *ctx, const char *payload, size_t len, json_t **result, ar_error *err);

/* Register the prepared statements (start-up, from ar_domain_register_all). */
void ar_topups_register(void);

#endif

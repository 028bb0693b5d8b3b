/* billing.h — the reserve balance (SPEC §5, migrations/0008_billing.sql): one reserve account per tenant, an
 * append-only ledger in integer cents, holds for paid jobs (hold → post | void | expire), usage rows priced by
 * versioned rate cards, top-ups settled by Stripe events, staff adjustments, and the verifier.
 *
 * Money is always `long long` cents (prices: micro-cents, 1 cent = 1,000,000 micro-cents). No floating point.
 *
 * Locking: every function that writes takes the tenant's reserve_accounts row FOR UPDATE first, then the hold /
 * top-up row, then inserts ledger rows (whose insert trigger moves the account's balance and held totals and
 * stamps balance_after / held_after). One order everywhere, so concurrent writers serialise per tenant.
 *
 * Two shapes:
 *   ar_billing_*(ctx, ...)        run their own transaction (ar_ctx_tx) with ctx;
 *   ar_billing_*_tx(c, ctx, ...)  run inside the caller's ar_ctx_tx / ar_db_tx callback on connection c, so the
 *                                 caller's own rows (e.g. the Stripe event record) commit or roll back with them.
 * Tenant-scoped calls use ctx->tenant_id (row-level security applies). Staff / system paths (webhook, admin,
 * scheduler) pass ar_ctx_system(ctx) and name the tenant explicitly.
 *
 * Errors: AR_ERR_INSUFFICIENT_BALANCE (402 "insufficient_balance") when a hold or a debit would take available
 * below zero; AR_ERR_VALIDATION with fields for bad input; AR_ERR_NOT_FOUND for unknown / foreign ids;
 * AR_ERR_CONFLICT for a state that forbids the move (posting a voided hold, paying an expired top-up). */
#ifndef AFTERRESUME_DOMAIN_BILLING_H
#define AFTERRESUME_DOMAIN_BILLING_H
#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

/* Top-up limits (SPEC §5) and other bounds. */
#define AR_BILLING_TOPUP_MIN_CENTS 100LL
#define AR_BILLING_TOPUP_MAX_CENTS 1000000LL
#define AR_BILLING_HOLD_MAX_CENTS 100000000LL         /* $1,000,000 per hold */
#define AR_BILLING_ADJUST_MAX_CENTS 100000000LL       /* |amount| of one manual adjustment */
#define AR_BILLING_REASON_MIN 10                      /* characters after trimming */
#define AR_BILLING_REASON_MAX 1000
#define AR_BILLING_HOLD_DEFAULT_TTL 7200              /* seconds a hold lives unless posted / voided */
#define AR_BILLING_DEFAULT_THRESHOLD_CENTS 500LL

/* ---------------------------------------------------------------- balance */

typedef struct ar_billing_balance {
    long long tenant_id;
    long long balance_cents;      /* Σ ledger amount_cents */
    long long held_cents;         /* Σ active holds */
    long long available_cents;    /* balance − held (≥ 0 except after a refund of spent money) */
    long long low_balance_threshold_cents;
    int is_low;                   /* balance < threshold */
    int is_zero;                  /* available ≤ 0 */
    int low_balance_notified;     /* the low-balance e-mail for the current crossing was queued */
    char currency[4];             /* "USD" */
} ar_billing_balance;

/* The tenant's balance (the account is created on first access). tenant_id 0 = ctx->tenant_id. */
int ar_billing_balance_get(const ar_ctx *ctx, long long tenant_id, ar_billing_balance *out, ar_error *err);
/* The same inside the caller's transaction; lock != 0 takes the account row FOR UPDATE (do this first). */
int ar_billing_balance_get_tx(PGconn *c, long long tenant_id, int lock, ar_billing_balance *out, ar_error *err);
/* {balance_cents, balance_dollars, available_cents, available_dollars, held_cents, currency,
 *  low_balance_policy:"block", low_balance_threshold_cents, is_low_balance, is_zero_balance} — the original's
 * names plus ours; *_dollars are decimal strings ("12.34"). New reference. */
json_t *ar_billing_balance_json(const ar_billing_balance *b);

/* ---------------------------------------------------------------- holds (the AI features call these) */

/* Reserve max_cents (1..AR_BILLING_HOLD_MAX_CENTS) of tenant_id's available balance for job_id (> 0) until
 * now + ttl_seconds (0 = AR_BILLING_HOLD_DEFAULT_TTL). AR_ERR_INSUFFICIENT_BALANCE when available < max_cents.
 * One hold per job: holding the same job again returns the existing active hold's id (same amount) or
 * AR_ERR_CONFLICT. tenant_id 0 = ctx->tenant_id. */
int ar_billing_hold(const ar_ctx *ctx, long long tenant_id, long long job_id, long long max_cents, int ttl_seconds,
                    long long *hold_id, ar_error *err);

/* One usage row of a post. usage_type "tokens" (prompt / completion tokens priced by provider+model),
 * "per_job" (units = jobs, normally 1) or "per_mb_stored" (units = MB). Strings may be NULL (= ""). */
typedef struct ar_billing_usage_row {
    const char *usage_type;
    const char *provider;
    const char *model;
    long long prompt_tokens;
    long long completion_tokens;
    long long units;
} ar_billing_usage_row;

typedef struct ar_billing_post_result {
    long long charged_cents;      /* what the ledger debited: min(actual, hold amount) */
    long long priced_cents;       /* the rows priced with the current rate card (rounded once, see below) */
    long long released_cents;     /* hold amount − charged */
    int rate_card_version;
    long long ledger_entry_id;    /* the `usage` entry */
    int already;                  /* 1 = the hold had been posted before; nothing was written this time */
} ar_billing_post_result;

/* Settle hold_id: release the whole hold, debit the actual cost as one `usage` entry (job id = the hold's)
 * and store the usage rows with their cost and the rate-card version. actual_cents < 0 = charge what the rows
 * cost under the current rate card. The charge never exceeds the hold (the hold is the job's maximum).
 * Posting a posted hold again is a no-op (result->already = 1); a voided / expired hold → AR_ERR_CONFLICT.
 * job_type (may be NULL) is stored on the usage rows for the cost breakdown. */
int ar_billing_post(const ar_ctx *ctx, long long hold_id, long long actual_cents, const ar_billing_usage_row *rows,
                    size_t nrows, const char *job_type, ar_billing_post_result *result, ar_error *err);
/* Release hold_id without charging (the job failed). Voiding a voided / expired hold again is a no-op
 * (*already = 1, may be NULL); a posted hold → AR_ERR_CONFLICT. */
int ar_billing_void(const ar_ctx *ctx, long long hold_id, int *already, ar_error *err);
/* The active hold of job_id in ctx's tenant (0 = none). */
int ar_billing_hold_for_job(const ar_ctx *ctx, long long job_id, long long *hold_id, ar_error *err);
/* Scheduler: mark every active hold past its expiry `expired` and release it. *count = holds expired. */
int ar_billing_expire_holds(const ar_ctx *ctx, long long *count, ar_error *err);

/* ---------------------------------------------------------------- top-ups (the Stripe helper calls these) */

typedef struct ar_billing_topup {
    long long id;
    long long tenant_id;
    long long amount_cents;
    long long amount_refunded_cents;
    char status[16];              /* pending | paid | failed | expired | refunded */
    char session_id[256];         /* Stripe checkout session id, "" until set */
    char payment_intent_id[256];
    char currency[4];
} ar_billing_topup;

/* A pending top-up of amount_cents (AR_BILLING_TOPUP_MIN_CENTS..MAX) for ctx's tenant, created by ctx->user_id. */
int ar_billing_topup_create(const ar_ctx *ctx, long long amount_cents, long long *topup_id, ar_error *err);
/* Record the Checkout Session created for a pending top-up of ctx's tenant (session ids are unique:
 * AR_ERR_CONFLICT if another top-up has it). checkout_url may be NULL. */
int ar_billing_topup_set_session(const ar_ctx *ctx, long long topup_id, const char *session_id,
                                 const char *checkout_url, ar_error *err);
/* A top-up of ctx's tenant (RLS) by id. AR_ERR_NOT_FOUND otherwise. */
int ar_billing_topup_get(const ar_ctx *ctx, long long topup_id, ar_billing_topup *out, ar_error *err);
/* Webhook side, inside the caller's (system) transaction: find a top-up by checkout session id (session_id
 * non-empty) or else by id. No lock. AR_ERR_NOT_FOUND when neither matches. */
int ar_billing_topup_find_tx(PGconn *c, const char *session_id, long long topup_id, ar_billing_topup *out,
                             ar_error *err);

/* Credit a paid top-up exactly once: lock the account, lock the top-up; pending (or failed, for a late async
 * success) → paid, one `topup` ledger entry of the top-up's amount with stripe_event_id. amount_total_cents
 * (≥ 0: Stripe's amount_total) must equal the top-up's amount, else AR_ERR_VALIDATION and nothing is written;
 * < 0 = not checked. Already paid / refunded → 0 with *already = 1 and no entry. Expired → AR_ERR_CONFLICT.
 * payment_intent_id may be NULL. Low-balance state is re-armed when the balance rises above the threshold. */
int ar_billing_topup_mark_paid_tx(PGconn *c, const ar_ctx *ctx, long long topup_id, long long amount_total_cents,
                                  const char *stripe_event_id, const char *payment_intent_id,
                                  long long *ledger_entry_id, int *already, ar_error *err);
/* pending → failed | expired (status names it); anything else is left alone (*changed = 0). reason may be NULL. */
int ar_billing_topup_mark_failed_tx(PGconn *c, long long topup_id, const char *status, const char *reason,
                                    int *changed, ar_error *err);
/* Reverse a refund: amount_refunded_total_cents is Stripe's cumulative charge.amount_refunded; the delta over
 * what we recorded is debited as one `refund` entry keyed by stripe_event_id (may take available below zero —
 * the money has left) and the top-up's amount_refunded updated (status `refunded` once fully refunded).
 * A delta ≤ 0 writes nothing (*ledger_entry_id = 0). Only paid / refunded top-ups (else AR_ERR_CONFLICT);
 * a total above the top-up amount → AR_ERR_VALIDATION. */
int ar_billing_refund_tx(PGconn *c, const ar_ctx *ctx, long long topup_id, long long amount_refunded_total_cents,
                         const char *stripe_event_id, long long *ledger_entry_id, ar_error *err);

/* Stripe event log (idempotency by event id), inside the caller's transaction:
 * begin inserts the event with result "processing" (payload: the raw JSON text, stored as jsonb; its SHA-256 is
 * kept too) and sets *duplicate = 1 instead when the event id was recorded before (nothing written; the caller
 * answers 200 without effects). finish sets result ("processed" | "ignored" | "skipped" | "failed"), a detail
 * text (≤ 2000 bytes, may be NULL), the resolved tenant / top-up (0 = unknown) and processed_at. */
int ar_billing_stripe_event_begin_tx(PGconn *c, const char *event_id, const char *event_type, const char *payload,
                                     int *duplicate, ar_error *err);
int ar_billing_stripe_event_finish_tx(PGconn *c, const char *event_id, const char *result, const char *detail,
                                      long long tenant_id, long long topup_id, ar_error *err);

/* ---------------------------------------------------------------- staff */

/* Manual credit (amount > 0) or debit (amount < 0), |amount| ≤ AR_BILLING_ADJUST_MAX_CENTS, reason ≥ 10
 * characters after trimming (≤ 1000, valid UTF-8). A debit never takes available below zero
 * (AR_ERR_INSUFFICIENT_BALANCE). Unknown tenant → AR_ERR_NOT_FOUND. Writes an `adjustment` entry with
 * actor = ctx->user_id and the audit event "billing.adjusted". ctx must be staff (AR_ERR_FORBIDDEN). */
int ar_billing_adjust(const ar_ctx *ctx, long long tenant_id, long long amount_cents, const char *reason,
                      long long *ledger_entry_id, long long *new_balance_cents, ar_error *err);

/* Set a tenant's low-balance threshold (0..AR_BILLING_ADJUST_MAX_CENTS cents). Staff for any tenant; a tenant's
 * owner / admin for ctx->tenant_id (tenant_id 0 = ctx's). The notified flag is set to "balance < threshold", so
 * the change itself sends no e-mail and the next downward crossing does. Audit event "billing.threshold_changed". */
int ar_billing_set_threshold(const ar_ctx *ctx, long long tenant_id, long long threshold_cents, ar_error *err);

/* Re-sum every account and re-walk every balance-after / held-after chain; also checks held = Σ active holds.
 * *report = {"accounts":N, "entries":N, "mismatch_count":N, "mismatches":[{tenant_id, kind, entry_id,
 * expected, actual}], "negative_available":[tenant ids]}. kind: "balance_sum" (account ≠ Σ amounts), "held_sum"
 * (account held ≠ Σ hold deltas), "hold_sum" (account held ≠ Σ active holds), "balance_chain" / "held_chain" (an
 * entry's running total ≠ the previous one + its delta; entry_id set), "no_account" (ledger rows without an account).
 * Each check is a single statement (one snapshot), so it can run while writers work. Writes the audit event "billing.verify" (success = no mismatch, details =
 * counts and the first 50 mismatches). Returns 0 when the run completed (check mismatch_count), -1 + err. */
int ar_billing_verify(const ar_ctx *ctx, json_t **report, ar_error *err);

/* ---------------------------------------------------------------- rate cards and money math (billing_ratecard.c) */

#define AR_MICROCENTS_PER_CENT 1000000LL
#define AR_RATE_PRICE_MAX 1000000000LL          /* micro-cents per unit (= $10.00) */
#define AR_RATE_UNITS_MAX 1000000000LL          /* tokens / units in one usage row */

/* Rounding rule (the only one): the exact micro-cent cost of all parts of one post (every usage row, prompt and
 * completion) is summed first, then rounded half-up to whole cents once: cents = (µ¢ + 500,000) / 1,000,000.
 * So 0.4999 cents → 0, 0.5 → 1, 1.5 → 2. Negative input never occurs (prices and units are ≥ 0). */
long long ar_billing_round_microcents(long long microcents);
/* units × price with the bounds above checked: 0, or -1 when out of range (nothing overflows within them). */
int ar_billing_line_microcents(long long units, long long price_microcents, long long *out);
/* Parse a price given as "cents per 1,000 units" with up to 3 decimals ("0.1", "2", "0.015") into micro-cents
 * per unit (0.1 ¢/1K → 100 µ¢). Exact decimal parsing, no floats. 0 or -1 (malformed / out of range). */
int ar_billing_parse_price_per_1k(const char *text, long long *microcents_per_unit);
/* "12.34", "-0.05", "1234567.00" (no separators) — for the API's *_dollars fields and CSV. */
void ar_billing_format_dollars(long long cents, char *out, size_t size);
/* "$1,234.56", "−$0.05" (ASCII minus) — for pages. */
void ar_billing_format_money(long long cents, char *out, size_t size);
/* A micro-cent price per unit as cents per 1,000 units ("0.1", "2", "0.015") — for pages. */
void ar_billing_format_price_per_1k(long long microcents_per_unit, char *out, size_t size);

typedef struct ar_rate_price {
    char usage_type[24];          /* prompt_tokens | completion_tokens | per_job | per_mb_stored */
    char provider[101];           /* "" = any */
    char model[201];              /* "" = any */
    long long price_microcents;   /* per unit */
} ar_rate_price;

typedef struct ar_rate_card {
    int version;
    size_t count;
    ar_rate_price *prices;        /* owned */
} ar_rate_card;

void ar_rate_card_free(ar_rate_card *rc);
/* The price for (usage_type, provider, model): the exact provider+model row, else provider with model "",
 * else the "" / "" row. -1 when none matches. */
long long ar_rate_card_price(const ar_rate_card *rc, const char *usage_type, const char *provider, const char *model);
/* The exact micro-cent cost of one usage row (tokens: prompt + completion parts; per_job / per_mb_stored:
 * units). 0, or -1 + err (AR_ERR_VALIDATION: unknown usage type, out-of-range numbers, no price). */
int ar_rate_card_row_microcents(const ar_rate_card *rc, const ar_billing_usage_row *row, long long *out,
                                ar_error *err);
/* The card in effect now (highest version with effective_from ≤ now < effective_to), inside a transaction. */
int ar_rate_card_current_tx(PGconn *c, ar_rate_card *out, ar_error *err);
/* [{version, name, notes, effective_from, effective_to, created_at, created_by, prices:[{usage_type, provider,
 * model, price_microcents, price_cents_per_1k}]}], newest first. */
json_t *ar_rate_cards_list(const ar_ctx *ctx, ar_error *err);
/* Staff: add version (latest + 1) with the given prices, effective from effective_from (ISO timestamp / date,
 * NULL = now; not before the current version's start); closes the previous open version at that time. prices
 * must contain a ""/"" row for each of the four usage types; no duplicates; at most 200 rows. */
int ar_rate_card_create(const ar_ctx *ctx, const char *name, const char *notes, const char *effective_from,
                        const ar_rate_price *prices, size_t count, int *version, ar_error *err);

/* ---------------------------------------------------------------- reading (API and pages) */

/* {entries:[{id, entry_type, amount_cents, amount_dollars, balance_after_cents, balance_after_dollars,
 *  hold_cents, held_after_cents, notes, related_job_id, related_stripe_event_id, topup_id, created_at}],
 *  total_count, limit, offset}, newest first; limit 1..200 (0 = 50), offset ≥ 0. ctx's tenant. */
json_t *ar_billing_ledger_list(const ar_ctx *ctx, int limit, long long offset, ar_error *err);
/* {since, until, total_cost_cents, by_day:[{day, cost_cents, prompt_tokens, completion_tokens, jobs}],
 *  by_model:[{provider, model, cost_cents, prompt_tokens, completion_tokens, jobs}]} for ctx's tenant over
 * [since, until] (dates YYYY-MM-DD, inclusive; NULL = the last 30 days / today; at most 366 days). */
json_t *ar_billing_usage_summary(const ar_ctx *ctx, const char *since, const char *until, ar_error *err);
/* Tokens of ctx's tenant's usage rows this calendar month (UTC), for the status bar. */
int ar_billing_tokens_month(const ar_ctx *ctx, long long *prompt_tokens, long long *completion_tokens, ar_error *err);
/* The active holds of ctx's tenant: [{id, job_id, amount_cents, expires_at, created_at}]. */
json_t *ar_billing_holds_list(const ar_ctx *ctx, ar_error *err);

/* Staff: every tenant's account. sort: "balance" (default, ascending), "-balance", "name", "tenant".
 * filter: NULL/"" all, "low" (balance < threshold), "zero" (available ≤ 0). At most 500 rows.
 * {accounts:[{tenant_id, tenant_name, balance_cents, held_cents, available_cents, low_balance_threshold_cents,
 *  is_low_balance, is_zero_balance, currency, updated_at}], summary:{total_accounts, total_balance_cents,
 *  low_balance_count, zero_balance_count}} */
json_t *ar_billing_admin_accounts(const ar_ctx *ctx, const char *sort, const char *filter, ar_error *err);
/* Staff: cost by tenant, by provider/model and by job type over [since, until] (dates, NULL = last 30 days),
 * optionally one tenant (0 = all): {since, until, by_tenant:[{tenant_id, tenant_name, cost_cents, jobs}],
 * by_model:[{provider, model, cost_cents, prompt_tokens, completion_tokens, jobs}], by_job_type:[{job_type,
 * cost_cents, jobs}], total_cost_cents}. */
json_t *ar_billing_cost_breakdown(const ar_ctx *ctx, const char *since, const char *until, long long tenant_id,
                                  ar_error *err);
/* Staff: the newest Stripe events [{id, event_id, event_type, tenant_id, topup_id, result, result_detail,
 * received_at, processed_at}] with id < before_id (0 = newest), limit 1..200. */
json_t *ar_billing_stripe_events_list(const ar_ctx *ctx, long long before_id, int limit, ar_error *err);

/* Staff: the ledger as RFC 4180 CSV, oldest first, streamed: write(arg, chunk, len) is called for each piece
 * (return non-zero to stop). tenant_id 0 = all; since / until dates (NULL = unbounded). Columns: Tenant ID,
 * Tenant Name, Entry ID, Entry Type, Amount (cents), Amount ($), Balance After (cents), Balance After ($),
 * Held After (cents), Related Job ID, Stripe Event ID, Top-up ID, Actor ID, Notes, Created At. Cells starting
 * with = + - @ get a leading quote. *rows = data rows written; writes the audit event "billing.ledger_exported". */
typedef int (*ar_billing_write_fn)(void *arg, const char *data, size_t len);
int ar_billing_ledger_csv(const ar_ctx *ctx, long long tenant_id, const char *since, const char *until,
                          ar_billing_write_fn write, void *arg, long long *rows, ar_error *err);
/* One page of that export (for streamed HTTP responses): appends up to 500 rows with id > *after_id (and the
 * header row first when header != 0) to out, advances *after_id, *rows = rows appended (< 500: the end).
 * Call ar_billing_ledger_export_audit once at the end with the total. */
int ar_billing_ledger_csv_page(const ar_ctx *ctx, long long tenant_id, const char *since, const char *until,
                               long long *after_id, int header, ar_buf *out, int *rows, ar_error *err);
void ar_billing_ledger_export_audit(const ar_ctx *ctx, long long tenant_id, long long rows);

/* Prepared statements of billing.c and billing_ratecard.c (ar_billing_register calls both; registry.c calls it). */
void ar_billing_register(void);
void ar_billing_ratecard_register(void);

#endif

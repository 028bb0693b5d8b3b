/* billing.c — the reserve balance service (see billing.h): accounts, holds (hold / post / void / expire), top-up
 * settlement and refunds for the Stripe webhook, the Stripe event log, staff adjustments, the low-balance e-mail,
 * the verifier, and the read models for the API, pages and CSV export.
 * Lock order in every writer: reserve_accounts row FOR UPDATE, then the hold / top-up row, then ledger inserts
 * (whose trigger in 0008 moves the account totals and refuses a negative available). */
#include "afterresume/domain/billing.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/csv.h"
#include "afterresume/core/log.h"
#include "afterresume/core/utf8.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/outbox.h"
#include "afterresume/domain/registry.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const ar_db_stmt statements[] = {
    {"billing_tenant_exists", "SELECT 1 FROM tenants WHERE id = $1"},
    {"billing_acct_ensure", "INSERT INTO reserve_accounts (tenant_id) SELECT id FROM tenants WHERE id = $1 "
                            "ON CONFLICT (tenant_id) DO NOTHING"},
    {"billing_acct_get",
     "SELECT balance_cents, held_cents, low_balance_threshold_cents, low_balance_notified, currency "
     "FROM reserve_accounts WHERE tenant_id = $1"},
    {"billing_acct_lock",
     "SELECT balance_cents, held_cents, low_balance_threshold_cents, low_balance_notified, currency "
     "FROM reserve_accounts WHERE tenant_id = $1 FOR UPDATE"},
    {"billing_bypass_begin",
     "SELECT coalesce(current_setting('app.bypass_rls', true), ''), set_config('app.bypass_rls', 'on', true)"},
    {"billing_bypass_end", "SELECT set_config('app.bypass_rls', $1, true)"},
    {"billing_acct_set_threshold",
     "UPDATE reserve_accounts SET low_balance_threshold_cents = $2, low_balance_notified = balance_cents < $2, "
     "updated_at = now() WHERE tenant_id = $1"},
    {"billing_acct_set_notified", "UPDATE reserve_accounts SET low_balance_notified = $2 WHERE tenant_id = $1"},
    {"billing_ledger_insert",
     "INSERT INTO ledger_entries (tenant_id, entry_type, amount_cents, hold_cents, balance_after_cents, "
     "held_after_cents, topup_id, stripe_event_id, job_id, hold_id, actor_id, reason) "
     "VALUES ($1, $2, $3, $4, 0, 0, nullif($5, '')::bigint, nullif($6, ''), nullif($7, '')::bigint, "
     "nullif($8, '')::bigint, nullif($9, '')::bigint, $10) RETURNING id, balance_after_cents, held_after_cents"},
    {"billing_hold_insert",
     "INSERT INTO billing_holds (tenant_id, job_id, amount_cents, expires_at) "
     "VALUES ($1, $2, $3, now() + make_interval(secs => $4::int)) RETURNING id"},
    {"billing_hold_by_job", "SELECT id, amount_cents, state FROM billing_holds WHERE job_id = $1"},
    {"billing_hold_active_by_job", "SELECT id FROM billing_holds WHERE job_id = $1 AND state = 'active'"},
    {"billing_hold_tenant", "SELECT tenant_id FROM billing_holds WHERE id = $1"},
    {"billing_hold_lock",
     "SELECT tenant_id, job_id, amount_cents, state FROM billing_holds WHERE id = $1 FOR UPDATE"},
    {"billing_hold_settle",
     "UPDATE billing_holds SET state = $2, settled_at = now(), posted_cents = nullif($3, '')::bigint "
     "WHERE id = $1 AND state = 'active'"},
    {"billing_holds_due",
     "SELECT id, tenant_id FROM billing_holds WHERE state = 'active' AND expires_at <= now() ORDER BY id LIMIT 200"},
    {"billing_usage_insert",
     "INSERT INTO billing_usage (tenant_id, job_id, job_type, hold_id, ledger_entry_id, usage_type, provider, model, "
     "prompt_tokens, completion_tokens, units, cost_cents, rate_card_version) "
     "VALUES ($1, nullif($2, '')::bigint, $3, nullif($4, '')::bigint, nullif($5, '')::bigint, $6, $7, $8, $9, $10, "
     "$11, $12, $13)"},
    {"billing_notify_recipients",
     "SELECT u.email, t.name FROM memberships m JOIN users u ON u.id = m.user_id JOIN tenants t ON t.id = m.tenant_id "
     "WHERE m.tenant_id = $1 AND m.role IN ('owner', 'admin') AND u.is_active ORDER BY m.role DESC, u.id LIMIT 10"},
    /* top-ups */
    {"billing_topup_insert",
     "INSERT INTO topups (tenant_id, amount_cents, created_by) VALUES ($1, $2, nullif($3, '')::bigint) RETURNING id"},
    {"billing_topup_set_session",
     "UPDATE topups SET stripe_checkout_session_id = $2, checkout_url = nullif($3, ''), updated_at = now() "
     "WHERE id = $1 AND status = 'pending' AND (stripe_checkout_session_id IS NULL OR stripe_checkout_session_id = $2)"},
    {"billing_topup_get",
     "SELECT id, tenant_id, amount_cents, amount_refunded_cents, status, coalesce(stripe_checkout_session_id, ''), "
     "coalesce(stripe_payment_intent_id, ''), currency FROM topups WHERE id = $1"},
    {"billing_topup_by_session",
     "SELECT id, tenant_id, amount_cents, amount_refunded_cents, status, coalesce(stripe_checkout_session_id, ''), "
     "coalesce(stripe_payment_intent_id, ''), currency FROM topups WHERE stripe_checkout_session_id = $1"},
    {"billing_topup_lock",
     "SELECT id, tenant_id, amount_cents, amount_refunded_cents, status, coalesce(stripe_checkout_session_id, ''), "
     "coalesce(stripe_payment_intent_id, ''), currency FROM topups WHERE id = $1 FOR UPDATE"},
    {"billing_topup_paid",
     "UPDATE topups SET status = 'paid', paid_at = now(), updated_at = now(), "
     "stripe_payment_intent_id = coalesce(nullif($2, ''), stripe_payment_intent_id) WHERE id = $1"},
    {"billing_topup_failed",
     "UPDATE topups SET status = $2, failure_reason = $3, updated_at = now() WHERE id = $1 AND status = 'pending'"},
    {"billing_topup_refunded",
     "UPDATE topups SET amount_refunded_cents = $2, updated_at = now(), "
     "status = CASE WHEN $2::bigint >= amount_cents THEN 'refunded' ELSE status END WHERE id = $1"},
    /* Stripe events */
    {"billing_event_insert",
     "INSERT INTO stripe_events (event_id, event_type, payload, payload_sha256) VALUES ($1, $2, $3::jsonb, $4) "
     "ON CONFLICT (event_id) DO NOTHING RETURNING id"},
    {"billing_event_finish",
     "UPDATE stripe_events SET result = $2, result_detail = $3, tenant_id = nullif($4, '')::bigint, "
     "topup_id = nullif($5, '')::bigint, processed_at = now() WHERE event_id = $1"},
    {"billing_events_list",
     "SELECT id, event_id, event_type, tenant_id, topup_id, result, result_detail, " TS("received_at") ", "
     TS("processed_at") " FROM stripe_events WHERE ($1::bigint = 0 OR id < $1::bigint) ORDER BY id DESC LIMIT $2"},
    /* verify */
    {"billing_verify_counts",
     "SELECT (SELECT count(*) FROM reserve_accounts), (SELECT count(*) FROM ledger_entries)"},
    {"billing_verify_sums",
     "SELECT a.tenant_id, a.balance_cents, coalesce(l.total, 0), a.held_cents, coalesce(l.held, 0), "
     "coalesce(h.active, 0) FROM reserve_accounts a "
     "LEFT JOIN (SELECT tenant_id, sum(amount_cents) AS total, sum(hold_cents) AS held FROM ledger_entries "
     "GROUP BY tenant_id) l ON l.tenant_id = a.tenant_id "
     "LEFT JOIN (SELECT tenant_id, sum(amount_cents) AS active FROM billing_holds WHERE state = 'active' "
     "GROUP BY tenant_id) h ON h.tenant_id = a.tenant_id "
     "WHERE a.balance_cents <> coalesce(l.total, 0) OR a.held_cents <> coalesce(l.held, 0) "
     "OR a.held_cents <> coalesce(h.active, 0) ORDER BY a.tenant_id LIMIT 1000"},
    {"billing_verify_orphans",
     "SELECT DISTINCT l.tenant_id FROM ledger_entries l LEFT JOIN reserve_accounts a ON a.tenant_id = l.tenant_id "
     "WHERE a.tenant_id IS NULL LIMIT 1000"},
    {"billing_verify_chain",
     "SELECT id, tenant_id, expected_balance, balance_after_cents, expected_held, held_after_cents FROM ("
     "SELECT id, tenant_id, balance_after_cents, held_after_cents, "
     "coalesce(lag(balance_after_cents) OVER w, 0) + amount_cents AS expected_balance, "
     "coalesce(lag(held_after_cents) OVER w, 0) + hold_cents AS expected_held "
     "FROM ledger_entries WINDOW w AS (PARTITION BY tenant_id ORDER BY id)) s "
     "WHERE expected_balance <> balance_after_cents OR expected_held <> held_after_cents ORDER BY id LIMIT 1000"},
    {"billing_verify_negative",
     "SELECT tenant_id FROM reserve_accounts WHERE balance_cents - held_cents < 0 ORDER BY tenant_id LIMIT 1000"},
    /* reading */
    {"billing_ledger_count", "SELECT count(*) FROM ledger_entries WHERE tenant_id = $1"},
    {"billing_ledger_page",
     "SELECT id, entry_type, amount_cents, balance_after_cents, hold_cents, held_after_cents, reason, job_id, "
     "stripe_event_id, topup_id, " TS("created_at") " FROM ledger_entries WHERE tenant_id = $1 "
     "ORDER BY id DESC LIMIT $2 OFFSET $3"},
    {"billing_tokens_month",
     "SELECT coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0) FROM billing_usage "
     "WHERE tenant_id = $1 AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"},
    {"billing_holds_active",
     "SELECT id, job_id, amount_cents, " TS("expires_at") ", " TS("created_at") " FROM billing_holds "
     "WHERE tenant_id = $1 AND state = 'active' ORDER BY id DESC LIMIT 200"},
    {"billing_usage_by_day",
     "SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD'), sum(cost_cents), "
     "sum(prompt_tokens), sum(completion_tokens), count(DISTINCT coalesce(job_id, -id)) FROM billing_usage "
     "WHERE tenant_id = $1 AND created_at >= $2::date AND created_at < $3::date + 1 GROUP BY 1 ORDER BY 1"},
    {"billing_usage_by_model",
     "SELECT provider, model, sum(cost_cents), sum(prompt_tokens), sum(completion_tokens), "
     "count(DISTINCT coalesce(job_id, -id)) FROM billing_usage WHERE tenant_id = $1 AND created_at >= $2::date "
     "AND created_at < $3::date + 1 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 100"},
    {"billing_dates",
     "SELECT to_char(coalesce($1::date, current_date - 29), 'YYYY-MM-DD'), "
     "to_char(coalesce($2::date, current_date), 'YYYY-MM-DD'), coalesce($2::date, current_date) - "
     "coalesce($1::date, current_date - 29)"},
    {"billing_admin_accounts",
     "SELECT a.tenant_id, t.name, a.balance_cents, a.held_cents, a.balance_cents - a.held_cents, "
     "a.low_balance_threshold_cents, a.balance_cents < a.low_balance_threshold_cents, "
     "a.balance_cents - a.held_cents <= 0, a.currency, " TS("a.updated_at") " "
     "FROM reserve_accounts a JOIN tenants t ON t.id = a.tenant_id "
     "WHERE ($1 = '' OR ($1 = 'low' AND a.balance_cents < a.low_balance_threshold_cents) "
     "OR ($1 = 'zero' AND a.balance_cents - a.held_cents <= 0)) "
     "ORDER BY CASE WHEN $2 = 'balance' THEN a.balance_cents END ASC, "
     "CASE WHEN $2 = '-balance' THEN a.balance_cents END DESC, "
     "CASE WHEN $2 = 'name' THEN t.name END ASC, a.tenant_id LIMIT 500"},
    {"billing_admin_summary",
     "SELECT count(*), coalesce(sum(balance_cents), 0), "
     "count(*) FILTER (WHERE balance_cents < low_balance_threshold_cents), "
     "count(*) FILTER (WHERE balance_cents - held_cents <= 0) FROM reserve_accounts"},
    {"billing_admin_ensure_all",
     "INSERT INTO reserve_accounts (tenant_id) SELECT id FROM tenants ON CONFLICT (tenant_id) DO NOTHING"},
    {"billing_cost_by_tenant",
     "SELECT u.tenant_id, t.name, sum(u.cost_cents), count(DISTINCT coalesce(u.job_id, -u.id)) FROM billing_usage u "
     "JOIN tenants t ON t.id = u.tenant_id WHERE u.created_at >= $1::date AND u.created_at < $2::date + 1 "
     "AND ($3::bigint = 0 OR u.tenant_id = $3::bigint) GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 500"},
    {"billing_cost_by_model",
     "SELECT provider, model, sum(cost_cents), sum(prompt_tokens), sum(completion_tokens), "
     "count(DISTINCT coalesce(job_id, -id)) FROM billing_usage WHERE created_at >= $1::date "
     "AND created_at < $2::date + 1 AND ($3::bigint = 0 OR tenant_id = $3::bigint) GROUP BY 1, 2 "
     "ORDER BY 3 DESC, 1, 2 LIMIT 200"},
    {"billing_cost_by_job_type",
     "SELECT job_type, sum(cost_cents), count(DISTINCT coalesce(job_id, -id)) FROM billing_usage "
     "WHERE created_at >= $1::date AND created_at < $2::date + 1 AND ($3::bigint = 0 OR tenant_id = $3::bigint) "
     "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 200"},
    {"billing_csv_page",
     "SELECT l.id, l.tenant_id, t.name, l.entry_type, l.amount_cents, l.balance_after_cents, l.held_after_cents, "
     "l.job_id, l.stripe_event_id, l.topup_id, l.actor_id, l.reason, " TS("l.created_at") " "
     "FROM ledger_entries l JOIN tenants t ON t.id = l.tenant_id WHERE l.id > $1::bigint "
     "AND ($2::bigint = 0 OR l.tenant_id = $2::bigint) AND ($3::date IS NULL OR l.created_at >= $3::date) "
     "AND ($4::date IS NULL OR l.created_at < $4::date + 1) ORDER BY l.id LIMIT $5"},
    {"billing_csv_check_dates", "SELECT $1::date, $2::date"},
};

void ar_billing_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
    ar_billing_ratecard_register();
}

/* ---------------------------------------------------------------- helpers */

static void lltoa_(long long v, char *out, size_t size)
{
    snprintf(out, size, "%lld", v);
}

static long long col_ll(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static json_t *col_json_ll(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_integer(strtoll(PQgetvalue(r, row, col), NULL, 10));
}

static json_t *col_json_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *dollars_json(long long cents)
{
    char d[40];
    ar_billing_format_dollars(cents, d, sizeof d);
    return json_string(d);
}

static int fill_balance(PGresult *r, long long tenant_id, ar_billing_balance *out)
{
    memset(out, 0, sizeof *out);
    out->tenant_id = tenant_id;
    out->balance_cents = col_ll(r, 0, 0);
    out->held_cents = col_ll(r, 0, 1);
    out->available_cents = out->balance_cents - out->held_cents;
    out->low_balance_threshold_cents = col_ll(r, 0, 2);
    out->low_balance_notified = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    snprintf(out->currency, sizeof out->currency, "%s", PQgetvalue(r, 0, 4));
    out->is_low = out->balance_cents < out->low_balance_threshold_cents;
    out->is_zero = out->available_cents <= 0;
    return 0;
}

int ar_billing_balance_get_tx(PGconn *c, long long tenant_id, int lock, ar_billing_balance *out, ar_error *err)
{
    char t[24];
    lltoa_(tenant_id, t, sizeof t);
    const char *p[1] = {t};
    PGresult *r = ar_db_exec(c, lock ? "billing_acct_lock" : "billing_acct_get", 1, p, err);
    if (!r) return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        r = ar_db_exec(c, "billing_acct_ensure", 1, p, err);
        if (!r) return -1;
        PQclear(r);
        r = ar_db_exec(c, lock ? "billing_acct_lock" : "billing_acct_get", 1, p, err);
        if (!r) return -1;
        if (PQntuples(r) == 0) {
            PQclear(r);
            return ar_error_set(err, AR_ERR_NOT_FOUND, "No such tenant."), -1;
        }
    }
    fill_balance(r, tenant_id, out);
    PQclear(r);
    return 0;
}

/* The tenant a call acts on: 0 = ctx's; another tenant only with a system / staff context. */
static int resolve_tenant(const ar_ctx *ctx, long long tenant_id, long long *out, ar_error *err)
{
    if (tenant_id <= 0) tenant_id = ctx->tenant_id;
    if (tenant_id <= 0) return ar_error_set(err, AR_ERR_FORBIDDEN, "No tenant selected."), -1;
    if (tenant_id != ctx->tenant_id && !ctx->bypass_rls) return ar_error_set(err, AR_ERR_NOT_FOUND, NULL), -1;
    *out = tenant_id;
    return 0;
}

typedef struct balance_args {
    long long tenant_id;
    ar_billing_balance *out;
} balance_args;

static int balance_tx(PGconn *c, void *arg, ar_error *err)
{
    balance_args *a = arg;
    return ar_billing_balance_get_tx(c, a->tenant_id, 0, a->out, err);
}

int ar_billing_balance_get(const ar_ctx *ctx, long long tenant_id, ar_billing_balance *out, ar_error *err)
{
    balance_args a = {0, out};
    if (resolve_tenant(ctx, tenant_id, &a.tenant_id, err) != 0) return -1;
    return ar_ctx_tx(ctx, balance_tx, &a, err);
}

json_t *ar_billing_balance_json(const ar_billing_balance *b)
{
    return json_pack("{s:I,s:o,s:I,s:o,s:I,s:s,s:s,s:I,s:b,s:b}", "balance_cents", (json_int_t)b->balance_cents,
                     "balance_dollars", dollars_json(b->balance_cents), "available_cents",
                     (json_int_t)b->available_cents, "available_dollars", dollars_json(b->available_cents),
                     "held_cents", (json_int_t)b->held_cents, "currency", b->currency, "low_balance_policy", "block",
                     "low_balance_threshold_cents", (json_int_t)b->low_balance_threshold_cents, "is_low_balance",
                     b->is_low, "is_zero_balance", b->is_zero);
}

typedef struct entry {
    long long tenant_id;
    const char *type;
    long long amount, hold;
    long long topup_id;
    const char *stripe_event_id;
    long long job_id, hold_id, actor_id;
    const char *reason;
} entry;

/* Insert one ledger row (the account must be locked by the caller). *id / *balance_after may be NULL. */
static int ledger_insert(PGconn *c, const entry *e, long long *id, long long *balance_after, ar_error *err)
{
    char tenant[24], amount[24], hold[24], topup[24] = "", job[24] = "", hold_id[24] = "", actor[24] = "";
    lltoa_(e->tenant_id, tenant, sizeof tenant);
    lltoa_(e->amount, amount, sizeof amount);
    lltoa_(e->hold, hold, sizeof hold);
    if (e->topup_id) lltoa_(e->topup_id, topup, sizeof topup);
    if (e->job_id) lltoa_(e->job_id, job, sizeof job);
    if (e->hold_id) lltoa_(e->hold_id, hold_id, sizeof hold_id);
    if (e->actor_id) lltoa_(e->actor_id, actor, sizeof actor);
    const char *p[10] = {tenant, e->type, amount, hold, topup, e->stripe_event_id ? e->stripe_event_id : "",
                         job, hold_id, actor, e->reason ? e->reason : ""};
    PGresult *r = ar_db_exec(c, "billing_ledger_insert", 10, p, err);
    if (!r) {
        if (strcmp(ar_db_last_sqlstate(), "23514") == 0)
            ar_error_set(err, AR_ERR_INSUFFICIENT_BALANCE, NULL);
        return -1;
    }
    if (id) *id = col_ll(r, 0, 0);
    if (balance_after) *balance_after = col_ll(r, 0, 1);
    PQclear(r);
    return 0;
}

/* After the balance changed: queue the low-balance e-mail once per downward crossing; re-arm on recovery.
 * b is the account as locked before; new_balance the balance now. */
static int low_balance_check(PGconn *c, const ar_ctx *ctx, const ar_billing_balance *b, long long new_balance,
                             ar_error *err)
{
    char tenant[24];
    lltoa_(b->tenant_id, tenant, sizeof tenant);
    int low = new_balance < b->low_balance_threshold_cents;
    if (low == b->low_balance_notified) return 0;
    const char *p[2] = {tenant, low ? "true" : "false"};
    PGresult *r = ar_db_exec(c, "billing_acct_set_notified", 2, p, err);
    if (!r) return -1;
    PQclear(r);
    if (!low) return 0;
    /* Queuing mail is a system action (the outbox is not tenant-readable): bypass for these statements only. */
    r = ar_db_exec(c, "billing_bypass_begin", 0, NULL, err);
    if (!r) return -1;
    char previous[8];
    snprintf(previous, sizeof previous, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = ar_db_exec(c, "billing_notify_recipients", 1, p, err);
    if (!r) return -1;
    ar_ctx tctx = *ctx;
    tctx.tenant_id = b->tenant_id;
    char bal[40], thr[40];
    ar_billing_format_money(new_balance, bal, sizeof bal);
    ar_billing_format_money(b->low_balance_threshold_cents, thr, sizeof thr);
    for (int i = 0; i < PQntuples(r); i++) {
        char body[1024];
        snprintf(body, sizeof body,
                 "Hello,\n\nThe reserve balance of %s is now %s, below its low-balance threshold of %s.\n\n"
                 "AI features stop when the available balance cannot cover a job. Top up on the billing page to "
                 "keep them running.\n\nThis message is sent once each time the balance drops below the threshold.\n",
                 PQgetvalue(r, i, 1), bal, thr);
        if (ar_outbox_enqueue(c, &tctx, PQgetvalue(r, i, 0), "Your AfterResume reserve balance is low", body, err) !=
            0) {
            PQclear(r);
            return -1;
        }
    }
    PQclear(r);
    const char *bp[1] = {previous};
    r = ar_db_exec(c, "billing_bypass_end", 1, bp, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

/* ---------------------------------------------------------------- holds */

typedef struct hold_args {
    const ar_ctx *ctx;
    long long tenant_id, job_id, max_cents;
    int ttl;
    long long hold_id;
} hold_args;

static int hold_tx(PGconn *c, void *arg, ar_error *err)
{
    hold_args *a = arg;
    ar_billing_balance b;
    if (ar_billing_balance_get_tx(c, a->tenant_id, 1, &b, err) != 0) return -1;
    char job[24];
    lltoa_(a->job_id, job, sizeof job);
    const char *jp[1] = {job};
    PGresult *r = ar_db_exec(c, "billing_hold_by_job", 1, jp, err);
    if (!r) return -1;
    if (PQntuples(r) > 0) {
        int same = strcmp(PQgetvalue(r, 0, 2), "active") == 0 && col_ll(r, 0, 1) == a->max_cents;
        a->hold_id = col_ll(r, 0, 0);
        PQclear(r);
        if (same) return 0;
        return ar_error_set(err, AR_ERR_CONFLICT, "This job already has a hold."), -1;
    }
    PQclear(r);
    if (b.available_cents < a->max_cents) {
        char need[40], have[40];
        ar_billing_format_money(a->max_cents, need, sizeof need);
        ar_billing_format_money(b.available_cents, have, sizeof have);
        return ar_error_set(err, AR_ERR_INSUFFICIENT_BALANCE,
                            "The reserve balance is too low: this needs up to %s, %s is available. Top up to continue.",
                            need, have),
               -1;
    }
    char tenant[24], amount[24], ttl[16];
    lltoa_(a->tenant_id, tenant, sizeof tenant);
    lltoa_(a->max_cents, amount, sizeof amount);
    snprintf(ttl, sizeof ttl, "%d", a->ttl);
    const char *hp[4] = {tenant, job, amount, ttl};
    r = ar_db_exec(c, "billing_hold_insert", 4, hp, err);
    if (!r) {
        if (err->code == AR_ERR_CONFLICT) ar_error_set(err, AR_ERR_CONFLICT, "This job already has a hold.");
        return -1;
    }
    a->hold_id = col_ll(r, 0, 0);
    PQclear(r);
    entry e = {.tenant_id = a->tenant_id, .type = "hold", .hold = a->max_cents, .job_id = a->job_id,
               .hold_id = a->hold_id};
    return ledger_insert(c, &e, NULL, NULL, err);
}

int ar_billing_hold(const ar_ctx *ctx, long long tenant_id, long long job_id, long long max_cents, int ttl_seconds,
                    long long *hold_id, ar_error *err)
{
    hold_args a = {ctx, 0, job_id, max_cents, ttl_seconds > 0 ? ttl_seconds : AR_BILLING_HOLD_DEFAULT_TTL, 0};
    if (resolve_tenant(ctx, tenant_id, &a.tenant_id, err) != 0) return -1;
    if (job_id <= 0 || max_cents <= 0 || max_cents > AR_BILLING_HOLD_MAX_CENTS || ttl_seconds < 0 ||
        ttl_seconds > 30 * 86400) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        if (job_id <= 0) ar_error_field(err, "job_id", "A hold needs a job.");
        if (max_cents <= 0 || max_cents > AR_BILLING_HOLD_MAX_CENTS)
            ar_error_field(err, "max_cents", "Must be between 1 and 100,000,000 cents.");
        if (ttl_seconds < 0 || ttl_seconds > 30 * 86400) ar_error_field(err, "ttl_seconds", "At most 30 days.");
        return -1;
    }
    if (ar_ctx_tx(ctx, hold_tx, &a, err) != 0) return -1;
    if (hold_id) *hold_id = a.hold_id;
    return 0;
}

/* Lock the account of hold_id's tenant, then the hold. Fills *tenant, *job, *amount, state. */
static int lock_hold(PGconn *c, long long hold_id, ar_billing_balance *b, long long *job, long long *amount,
                     char *state, size_t state_size, ar_error *err)
{
    char id[24];
    lltoa_(hold_id, id, sizeof id);
    const char *p[1] = {id};
    PGresult *r = ar_db_exec(c, "billing_hold_tenant", 1, p, err);
    if (!r) return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such hold."), -1;
    }
    long long tenant = col_ll(r, 0, 0);
    PQclear(r);
    if (ar_billing_balance_get_tx(c, tenant, 1, b, err) != 0) return -1;
    r = ar_db_exec(c, "billing_hold_lock", 1, p, err);
    if (!r) return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such hold."), -1;
    }
    *job = col_ll(r, 0, 1);
    *amount = col_ll(r, 0, 2);
    snprintf(state, state_size, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);
    return 0;
}

static int settle_hold(PGconn *c, long long hold_id, const char *state, long long posted, ar_error *err)
{
    char id[24], p_cents[24] = "";
    lltoa_(hold_id, id, sizeof id);
    if (posted >= 0) lltoa_(posted, p_cents, sizeof p_cents);
    const char *p[3] = {id, state, p_cents};
    PGresult *r = ar_db_exec(c, "billing_hold_settle", 3, p, err);
    if (!r) return -1;
    int n = atoi(PQcmdTuples(r));
    PQclear(r);
    return n == 1 ? 0 : (ar_error_set(err, AR_ERR_CONFLICT, "The hold is no longer active."), -1);
}

typedef struct post_args {
    const ar_ctx *ctx;
    long long hold_id, actual;
    const ar_billing_usage_row *rows;
    size_t nrows;
    const char *job_type;
    ar_billing_post_result res;
} post_args;

static int post_tx(PGconn *c, void *arg, ar_error *err)
{
    post_args *a = arg;
    memset(&a->res, 0, sizeof a->res);
    ar_billing_balance b;
    long long job, amount;
    char state[16];
    if (lock_hold(c, a->hold_id, &b, &job, &amount, state, sizeof state, err) != 0) return -1;
    if (strcmp(state, "posted") == 0) {
        a->res.already = 1;
        return 0;
    }
    if (strcmp(state, "active") != 0)
        return ar_error_set(err, AR_ERR_CONFLICT, "The hold was %s; it cannot be posted.", state), -1;
    ar_rate_card rc;
    if (ar_rate_card_current_tx(c, &rc, err) != 0) return -1;
    long long *row_micro = a->nrows ? ar_calloc(a->nrows, sizeof *row_micro) : NULL;
    long long total_micro = 0;
    for (size_t i = 0; i < a->nrows; i++) {
        if (ar_rate_card_row_microcents(&rc, &a->rows[i], &row_micro[i], err) != 0) goto fail;
        total_micro += row_micro[i];   /* ≤ nrows × 2×10^18 guarded below */
        if (total_micro < 0 || total_micro > 4000000000000000000LL) {
            ar_error_set(err, AR_ERR_VALIDATION, "The usage is out of range.");
            goto fail;
        }
    }
    a->res.priced_cents = ar_billing_round_microcents(total_micro);
    a->res.rate_card_version = rc.version;
    long long actual = a->actual >= 0 ? a->actual : a->res.priced_cents;
    long long charged = actual < amount ? actual : amount;
    a->res.charged_cents = charged;
    a->res.released_cents = amount - charged;
    if (settle_hold(c, a->hold_id, "posted", charged, err) != 0) goto fail;
    /* Release the whole hold first, then debit: available never dips below zero in between. */
    entry rel = {.tenant_id = b.tenant_id, .type = "release", .hold = -amount, .job_id = job, .hold_id = a->hold_id};
    if (ledger_insert(c, &rel, NULL, NULL, err) != 0) goto fail;
    char reason[200];
    snprintf(reason, sizeof reason, "Job %lld%s%s (rate card v%d)", job, a->job_type && *a->job_type ? ": " : "",
             a->job_type ? a->job_type : "", rc.version);
    entry use = {.tenant_id = b.tenant_id, .type = "usage", .amount = -charged, .job_id = job,
                 .hold_id = a->hold_id, .reason = reason};
    long long new_balance = 0;
    if (ledger_insert(c, &use, &a->res.ledger_entry_id, &new_balance, err) != 0) goto fail;
    char tenant[24], jobs[24], hold[24], entry_id[24], version[16];
    lltoa_(b.tenant_id, tenant, sizeof tenant);
    lltoa_(job, jobs, sizeof jobs);
    lltoa_(a->hold_id, hold, sizeof hold);
    lltoa_(a->res.ledger_entry_id, entry_id, sizeof entry_id);
    snprintf(version, sizeof version, "%d", rc.version);
    for (size_t i = 0; i < a->nrows; i++) {
        const ar_billing_usage_row *u = &a->rows[i];
        char pt[24], ct[24], units[24], cost[24];
        lltoa_(u->prompt_tokens, pt, sizeof pt);
        lltoa_(u->completion_tokens, ct, sizeof ct);
        lltoa_(u->units, units, sizeof units);
        lltoa_(ar_billing_round_microcents(row_micro[i]), cost, sizeof cost);
        const char *p[13] = {tenant, jobs, a->job_type ? a->job_type : "", hold, entry_id, u->usage_type,
                             u->provider ? u->provider : "", u->model ? u->model : "", pt, ct, units, cost, version};
        PGresult *r = ar_db_exec(c, "billing_usage_insert", 13, p, err);
        if (!r) goto fail;
        PQclear(r);
    }
    free(row_micro);
    ar_rate_card_free(&rc);
    return low_balance_check(c, a->ctx, &b, new_balance, err);
fail:
    free(row_micro);
    ar_rate_card_free(&rc);
    return -1;
}

static int valid_text(const char *s, size_t max)
{
    if (!s) return 1;
    size_t n = strlen(s);
    return n <= max && ar_utf8_valid(s, n);
}

int ar_billing_post(const ar_ctx *ctx, long long hold_id, long long actual_cents, const ar_billing_usage_row *rows,
                    size_t nrows, const char *job_type, ar_billing_post_result *result, ar_error *err)
{
    if (hold_id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such hold."), -1;
    if (nrows > 1000 || (nrows && !rows) || actual_cents > AR_BILLING_HOLD_MAX_CENTS || !valid_text(job_type, 100))
        return ar_error_set(err, AR_ERR_VALIDATION, "Invalid usage for a post."), -1;
    for (size_t i = 0; i < nrows; i++)
        if (!rows[i].usage_type || !valid_text(rows[i].provider, 100) || !valid_text(rows[i].model, 200))
            return ar_error_set(err, AR_ERR_VALIDATION, "Invalid usage row %zu.", i + 1), -1;
    post_args a = {ctx, hold_id, actual_cents, rows, nrows, job_type, {0}};
    if (ar_ctx_tx(ctx, post_tx, &a, err) != 0) return -1;
    if (result) *result = a.res;
    return 0;
}

typedef struct void_args {
    const ar_ctx *ctx;
    long long hold_id;
    const char *to_state;
    int already;
} void_args;

static int void_hold_locked(PGconn *c, const ar_billing_balance *b, long long hold_id, long long job,
                            long long amount, const char *to_state, ar_error *err)
{
    if (settle_hold(c, hold_id, to_state, -1, err) != 0) return -1;
    entry rel = {.tenant_id = b->tenant_id, .type = "release", .hold = -amount, .job_id = job, .hold_id = hold_id,
                 .reason = strcmp(to_state, "expired") == 0 ? "Hold expired" : "Hold voided"};
    return ledger_insert(c, &rel, NULL, NULL, err);
}

static int void_tx(PGconn *c, void *arg, ar_error *err)
{
    void_args *a = arg;
    a->already = 0;
    ar_billing_balance b;
    long long job, amount;
    char state[16];
    if (lock_hold(c, a->hold_id, &b, &job, &amount, state, sizeof state, err) != 0) return -1;
    if (strcmp(state, "voided") == 0 || strcmp(state, "expired") == 0) {
        a->already = 1;
        return 0;
    }
    if (strcmp(state, "active") != 0)
        return ar_error_set(err, AR_ERR_CONFLICT, "The hold was posted; it cannot be voided."), -1;
    return void_hold_locked(c, &b, a->hold_id, job, amount, a->to_state, err);
}

int ar_billing_void(const ar_ctx *ctx, long long hold_id, int *already, ar_error *err)
{
    if (hold_id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such hold."), -1;
    void_args a = {ctx, hold_id, "voided", 0};
    if (ar_ctx_tx(ctx, void_tx, &a, err) != 0) return -1;
    if (already) *already = a.already;
    return 0;
}

typedef struct job_hold_args {
    long long job_id, hold_id;
} job_hold_args;

static int job_hold_tx(PGconn *c, void *arg, ar_error *err)
{
    job_hold_args *a = arg;
    char job[24];
    lltoa_(a->job_id, job, sizeof job);
    const char *p[1] = {job};
    PGresult *r = ar_db_exec(c, "billing_hold_active_by_job", 1, p, err);
    if (!r) return -1;
    a->hold_id = PQntuples(r) ? col_ll(r, 0, 0) : 0;
    PQclear(r);
    return 0;
}

int ar_billing_hold_for_job(const ar_ctx *ctx, long long job_id, long long *hold_id, ar_error *err)
{
    job_hold_args a = {job_id, 0};
    if (ar_ctx_tx(ctx, job_hold_tx, &a, err) != 0) return -1;
    *hold_id = a.hold_id;
    return 0;
}

typedef struct due_args {
    long long ids[200];
    int n;
} due_args;

static int due_tx(PGconn *c, void *arg, ar_error *err)
{
    due_args *a = arg;
    PGresult *r = ar_db_exec(c, "billing_holds_due", 0, NULL, err);
    if (!r) return -1;
    a->n = PQntuples(r) < 200 ? PQntuples(r) : 200;
    for (int i = 0; i < a->n; i++) a->ids[i] = col_ll(r, i, 0);
    PQclear(r);
    return 0;
}

int ar_billing_expire_holds(const ar_ctx *ctx, long long *count, ar_error *err)
{
    ar_ctx sys = ar_ctx_system(ctx);
    long long done = 0;
    for (int round = 0; round < 50; round++) {
        due_args due = {{0}, 0};
        if (ar_ctx_tx(&sys, due_tx, &due, err) != 0) return -1;
        for (int i = 0; i < due.n; i++) {
            void_args a = {&sys, due.ids[i], "expired", 0};
            /* One transaction per hold: a hold posted meanwhile answers a conflict, which is fine. */
            ar_error e = {0};
            if (ar_ctx_tx(&sys, void_tx, &a, &e) == 0 && !a.already) done++;
            else if (e.code != AR_OK && e.code != AR_ERR_CONFLICT) {
                *err = e;
                if (count) *count = done;
                return -1;
            }
            ar_error_clear(&e);
        }
        if (due.n < 200) break;
    }
    if (count) *count = done;
    return 0;
}

/* ---------------------------------------------------------------- top-ups */

typedef struct topup_args {
    const ar_ctx *ctx;
    long long amount, id;
    const char *session, *url;
    ar_billing_topup *out;
} topup_args;

static int topup_create_tx(PGconn *c, void *arg, ar_error *err)
{
    topup_args *a = arg;
    ar_billing_balance b;
    if (ar_billing_balance_get_tx(c, a->ctx->tenant_id, 0, &b, err) != 0) return -1;
    char tenant[24], amount[24], user[24] = "";
    lltoa_(a->ctx->tenant_id, tenant, sizeof tenant);
    lltoa_(a->amount, amount, sizeof amount);
    if (a->ctx->user_id > 0) lltoa_(a->ctx->user_id, user, sizeof user);
    const char *p[3] = {tenant, amount, user};
    PGresult *r = ar_db_exec(c, "billing_topup_insert", 3, p, err);
    if (!r) return -1;
    a->id = col_ll(r, 0, 0);
    PQclear(r);
    return 0;
}

int ar_billing_topup_create(const ar_ctx *ctx, long long amount_cents, long long *topup_id, ar_error *err)
{
    if (ctx->tenant_id <= 0) return ar_error_set(err, AR_ERR_FORBIDDEN, "No tenant selected."), -1;
    if (amount_cents < AR_BILLING_TOPUP_MIN_CENTS || amount_cents > AR_BILLING_TOPUP_MAX_CENTS) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "amount_cents", "Must be between 100 and 1,000,000 cents ($1.00 to $10,000.00).");
        return -1;
    }
    topup_args a = {ctx, amount_cents, 0, NULL, NULL, NULL};
    if (ar_ctx_tx(ctx, topup_create_tx, &a, err) != 0) return -1;
    if (topup_id) *topup_id = a.id;
    return 0;
}

static int set_session_tx(PGconn *c, void *arg, ar_error *err)
{
    topup_args *a = arg;
    char id[24];
    lltoa_(a->id, id, sizeof id);
    const char *p[3] = {id, a->session, a->url ? a->url : ""};
    PGresult *r = ar_db_exec(c, "billing_topup_set_session", 3, p, err);
    if (!r) return -1;
    int n = atoi(PQcmdTuples(r));
    PQclear(r);
    return n == 1 ? 0 : (ar_error_set(err, AR_ERR_NOT_FOUND, "No such pending top-up."), -1);
}

int ar_billing_topup_set_session(const ar_ctx *ctx, long long topup_id, const char *session_id,
                                 const char *checkout_url, ar_error *err)
{
    if (!session_id || !*session_id || !valid_text(session_id, 255) || !valid_text(checkout_url, 2048))
        return ar_error_set(err, AR_ERR_VALIDATION, "Invalid checkout session."), -1;
    topup_args a = {ctx, 0, topup_id, session_id, checkout_url, NULL};
    return ar_ctx_tx(ctx, set_session_tx, &a, err);
}

static void fill_topup(const PGresult *r, ar_billing_topup *out)
{
    memset(out, 0, sizeof *out);
    out->id = col_ll(r, 0, 0);
    out->tenant_id = col_ll(r, 0, 1);
    out->amount_cents = col_ll(r, 0, 2);
    out->amount_refunded_cents = col_ll(r, 0, 3);
    snprintf(out->status, sizeof out->status, "%s", PQgetvalue(r, 0, 4));
    snprintf(out->session_id, sizeof out->session_id, "%s", PQgetvalue(r, 0, 5));
    snprintf(out->payment_intent_id, sizeof out->payment_intent_id, "%s", PQgetvalue(r, 0, 6));
    snprintf(out->currency, sizeof out->currency, "%s", PQgetvalue(r, 0, 7));
}

static int topup_query(PGconn *c, const char *stmt, const char *param, ar_billing_topup *out, ar_error *err)
{
    const char *p[1] = {param};
    PGresult *r = ar_db_exec(c, stmt, 1, p, err);
    if (!r) return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such top-up."), -1;
    }
    fill_topup(r, out);
    PQclear(r);
    return 0;
}

static int topup_get_tx(PGconn *c, void *arg, ar_error *err)
{
    topup_args *a = arg;
    char id[24];
    lltoa_(a->id, id, sizeof id);
    return topup_query(c, "billing_topup_get", id, a->out, err);
}

int ar_billing_topup_get(const ar_ctx *ctx, long long topup_id, ar_billing_topup *out, ar_error *err)
{
    if (topup_id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such top-up."), -1;
    topup_args a = {ctx, 0, topup_id, NULL, NULL, out};
    if (ar_ctx_tx(ctx, topup_get_tx, &a, err) != 0) return -1;
    if (!ctx->bypass_rls && out->tenant_id != ctx->tenant_id)
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such top-up."), -1;
    return 0;
}

int ar_billing_topup_find_tx(PGconn *c, const char *session_id, long long topup_id, ar_billing_topup *out,
                             ar_error *err)
{
    if (session_id && *session_id) {
        ar_error e = {0};
        if (topup_query(c, "billing_topup_by_session", session_id, out, &e) == 0) return 0;
        if (e.code != AR_ERR_NOT_FOUND) {
            *err = e;
            return -1;
        }
        ar_error_clear(&e);
    }
    if (topup_id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such top-up."), -1;
    char id[24];
    lltoa_(topup_id, id, sizeof id);
    return topup_query(c, "billing_topup_get", id, out, err);
}

/* Lock the top-up's account, then the top-up. */
static int lock_topup(PGconn *c, long long topup_id, ar_billing_balance *b, ar_billing_topup *t, ar_error *err)
{
    char id[24];
    lltoa_(topup_id, id, sizeof id);
    if (topup_query(c, "billing_topup_get", id, t, err) != 0) return -1;
    if (ar_billing_balance_get_tx(c, t->tenant_id, 1, b, err) != 0) return -1;
    return topup_query(c, "billing_topup_lock", id, t, err);
}

int ar_billing_topup_mark_paid_tx(PGconn *c, const ar_ctx *ctx, long long topup_id, long long amount_total_cents,
                                  const char *stripe_event_id, const char *payment_intent_id,
                                  long long *ledger_entry_id, int *already, ar_error *err)
{
    if (ledger_entry_id) *ledger_entry_id = 0;
    if (already) *already = 0;
    if (!valid_text(stripe_event_id, 255) || !valid_text(payment_intent_id, 255))
        return ar_error_set(err, AR_ERR_VALIDATION, "Invalid Stripe reference."), -1;
    ar_billing_balance b;
    ar_billing_topup t;
    if (lock_topup(c, topup_id, &b, &t, err) != 0) return -1;
    if (strcmp(t.status, "paid") == 0 || strcmp(t.status, "refunded") == 0) {
        if (already) *already = 1;
        return 0;
    }
    if (strcmp(t.status, "expired") == 0)
        return ar_error_set(err, AR_ERR_CONFLICT, "The top-up's checkout session expired."), -1;
    if (amount_total_cents >= 0 && amount_total_cents != t.amount_cents)
        return ar_error_set(err, AR_ERR_VALIDATION, "Paid amount %lld does not match the top-up amount %lld.",
                            amount_total_cents, t.amount_cents),
               -1;
    char id[24];
    lltoa_(topup_id, id, sizeof id);
    const char *p[2] = {id, payment_intent_id ? payment_intent_id : ""};
    PGresult *r = ar_db_exec(c, "billing_topup_paid", 2, p, err);
    if (!r) return -1;
    PQclear(r);
    char reason[300];
    snprintf(reason, sizeof reason, "Top-up %lld paid (checkout session %s)", topup_id,
             t.session_id[0] ? t.session_id : "-");
    entry e = {.tenant_id = t.tenant_id, .type = "topup", .amount = t.amount_cents, .topup_id = topup_id,
               .stripe_event_id = stripe_event_id && *stripe_event_id ? stripe_event_id : NULL, .reason = reason};
    long long new_balance = 0;
    if (ledger_insert(c, &e, ledger_entry_id, &new_balance, err) != 0) return -1;
    return low_balance_check(c, ctx, &b, new_balance, err);
}

int ar_billing_topup_mark_failed_tx(PGconn *c, long long topup_id, const char *status, const char *reason,
                                    int *changed, ar_error *err)
{
    if (changed) *changed = 0;
    if (!status || (strcmp(status, "failed") != 0 && strcmp(status, "expired") != 0))
        return ar_error_set(err, AR_ERR_VALIDATION, "Status must be failed or expired."), -1;
    char why[1001];
    snprintf(why, sizeof why, "%s", reason ? reason : "");
    if (!ar_utf8_valid(why, strlen(why))) why[0] = '\0';
    ar_billing_balance b;
    ar_billing_topup t;
    if (lock_topup(c, topup_id, &b, &t, err) != 0) return -1;
    char id[24];
    lltoa_(topup_id, id, sizeof id);
    const char *p[3] = {id, status, why};
    PGresult *r = ar_db_exec(c, "billing_topup_failed", 3, p, err);
    if (!r) return -1;
    if (changed) *changed = atoi(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

int ar_billing_refund_tx(PGconn *c, const ar_ctx *ctx, long long topup_id, long long amount_refunded_total_cents,
                         const char *stripe_event_id, long long *ledger_entry_id, ar_error *err)
{
    if (ledger_entry_id) *ledger_entry_id = 0;
    if (!stripe_event_id || !*stripe_event_id || !valid_text(stripe_event_id, 255))
        return ar_error_set(err, AR_ERR_VALIDATION, "A refund needs its Stripe event id."), -1;
    ar_billing_balance b;
    ar_billing_topup t;
    if (lock_topup(c, topup_id, &b, &t, err) != 0) return -1;
    if (strcmp(t.status, "paid") != 0 && strcmp(t.status, "refunded") != 0)
        return ar_error_set(err, AR_ERR_CONFLICT, "Only a paid top-up can be refunded."), -1;
    if (amount_refunded_total_cents < 0 || amount_refunded_total_cents > t.amount_cents)
        return ar_error_set(err, AR_ERR_VALIDATION, "Refunded amount %lld is outside 0..%lld.",
                            amount_refunded_total_cents, t.amount_cents),
               -1;
    long long delta = amount_refunded_total_cents - t.amount_refunded_cents;
    if (delta <= 0) return 0;
    char id[24], total[24];
    lltoa_(topup_id, id, sizeof id);
    lltoa_(amount_refunded_total_cents, total, sizeof total);
    const char *p[2] = {id, total};
    PGresult *r = ar_db_exec(c, "billing_topup_refunded", 2, p, err);
    if (!r) return -1;
    PQclear(r);
    char reason[200];
    snprintf(reason, sizeof reason, "Refund of top-up %lld (%lld of %lld cents refunded in total)", topup_id,
             amount_refunded_total_cents, t.amount_cents);
    entry e = {.tenant_id = t.tenant_id, .type = "refund", .amount = -delta, .topup_id = topup_id,
               .stripe_event_id = stripe_event_id, .reason = reason};
    long long new_balance = 0;
    if (ledger_insert(c, &e, ledger_entry_id, &new_balance, err) != 0) return -1;
    return low_balance_check(c, ctx, &b, new_balance, err);
}

/* ---------------------------------------------------------------- Stripe event log */

int ar_billing_stripe_event_begin_tx(PGconn *c, const char *event_id, const char *event_type, const char *payload,
                                     int *duplicate, ar_error *err)
{
    *duplicate = 0;
    if (!event_id || !*event_id || !valid_text(event_id, 255) || !event_type || !*event_type ||
        !valid_text(event_type, 255) || !payload)
        return ar_error_set(err, AR_ERR_VALIDATION, "The event needs an id, a type and a payload."), -1;
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const unsigned char *)payload, strlen(payload));
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    const char *p[4] = {event_id, event_type, payload, hex};
    PGresult *r = ar_db_exec(c, "billing_event_insert", 4, p, err);
    if (!r) return -1;
    *duplicate = PQntuples(r) == 0;
    PQclear(r);
    return 0;
}

int ar_billing_stripe_event_finish_tx(PGconn *c, const char *event_id, const char *result, const char *detail,
                                      long long tenant_id, long long topup_id, ar_error *err)
{
    char d[2001];
    snprintf(d, sizeof d, "%s", detail ? detail : "");
    size_t n = strlen(d);
    while (n > 0 && !ar_utf8_valid(d, n)) d[--n] = '\0';   /* a cut may split a character */
    char tenant[24] = "", topup[24] = "";
    if (tenant_id > 0) lltoa_(tenant_id, tenant, sizeof tenant);
    if (topup_id > 0) lltoa_(topup_id, topup, sizeof topup);
    const char *p[5] = {event_id, result, d, tenant, topup};
    PGresult *r = ar_db_exec(c, "billing_event_finish", 5, p, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

/* ---------------------------------------------------------------- staff adjustments */

typedef struct adjust_args {
    const ar_ctx *ctx;
    long long tenant_id, amount;
    const char *reason;
    long long entry_id, new_balance;
} adjust_args;

static int adjust_tx(PGconn *c, void *arg, ar_error *err)
{
    adjust_args *a = arg;
    char t[24];
    lltoa_(a->tenant_id, t, sizeof t);
    const char *p[1] = {t};
    PGresult *r = ar_db_exec(c, "billing_tenant_exists", 1, p, err);
    if (!r) return -1;
    int exists = PQntuples(r) > 0;
    PQclear(r);
    if (!exists) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such tenant."), -1;
    ar_billing_balance b;
    if (ar_billing_balance_get_tx(c, a->tenant_id, 1, &b, err) != 0) return -1;
    if (a->amount < 0 && b.available_cents + a->amount < 0) {
        char have[40];
        ar_billing_format_money(b.available_cents, have, sizeof have);
        return ar_error_set(err, AR_ERR_INSUFFICIENT_BALANCE,
                            "A debit may not take the available balance below zero (available: %s).", have),
               -1;
    }
    entry e = {.tenant_id = a->tenant_id, .type = "adjustment", .amount = a->amount, .actor_id = a->ctx->user_id,
               .reason = a->reason};
    if (ledger_insert(c, &e, &a->entry_id, &a->new_balance, err) != 0) return -1;
    char id[24];
    lltoa_(a->entry_id, id, sizeof id);
    json_t *details = json_pack("{s:I,s:I,s:I}", "amount_cents", (json_int_t)a->amount, "ledger_entry_id",
                                (json_int_t)a->entry_id, "new_balance_cents", (json_int_t)a->new_balance);
    ar_audit_event ev = {.action = "billing.adjusted", .target_type = "ledger_entry", .target_id = id, .success = 1,
                         .reason = a->reason, .details = details, .tenant_id = a->tenant_id};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    if (rc != 0) return -1;
    return low_balance_check(c, a->ctx, &b, a->new_balance, err);
}

int ar_billing_adjust(const ar_ctx *ctx, long long tenant_id, long long amount_cents, const char *reason,
                      long long *ledger_entry_id, long long *new_balance_cents, ar_error *err)
{
    if (!ctx->is_staff || ctx->user_id <= 0) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), -1;
    char trimmed[AR_BILLING_REASON_MAX + 1] = "";
    ar_error_set(err, AR_ERR_VALIDATION, NULL);
    if (tenant_id <= 0) ar_error_field(err, "tenant_id", "Choose a tenant.");
    if (amount_cents == 0 || amount_cents > AR_BILLING_ADJUST_MAX_CENTS || amount_cents < -AR_BILLING_ADJUST_MAX_CENTS)
        ar_error_field(err, "amount_cents", "A non-zero amount between -100,000,000 and 100,000,000 cents.");
    if (!reason) {
        ar_error_field(err, "reason", "Give a reason of at least 10 characters.");
    } else {
        const char *s = reason;
        while (*s && isspace((unsigned char)*s)) s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
        if (n > AR_BILLING_REASON_MAX || !ar_utf8_valid(s, n)) {
            ar_error_field(err, "reason", "At most 1,000 characters of valid text.");
        } else {
            memcpy(trimmed, s, n);
            trimmed[n] = '\0';
            size_t chars = 0;
            for (size_t i = 0; i < n; i++)
                if (((unsigned char)trimmed[i] & 0xC0) != 0x80) chars++;
            int control = 0;
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)trimmed[i] < 0x20 && trimmed[i] != '\n' && trimmed[i] != '\t') control = 1;
            if (chars < AR_BILLING_REASON_MIN) ar_error_field(err, "reason", "Give a reason of at least 10 characters.");
            else if (control) ar_error_field(err, "reason", "The reason may not contain control characters.");
        }
    }
    if (err->fields) return -1;
    ar_error_clear(err);
    ar_ctx sys = ar_ctx_system(ctx);
    adjust_args a = {&sys, tenant_id, amount_cents, trimmed, 0, 0};
    if (ar_ctx_tx(&sys, adjust_tx, &a, err) != 0) return -1;
    if (ledger_entry_id) *ledger_entry_id = a.entry_id;
    if (new_balance_cents) *new_balance_cents = a.new_balance;
    return 0;
}

typedef struct threshold_args {
    const ar_ctx *ctx;
    long long tenant_id, cents;
} threshold_args;

static int threshold_tx(PGconn *c, void *arg, ar_error *err)
{
    threshold_args *a = arg;
    char t[24], cents[24];
    lltoa_(a->tenant_id, t, sizeof t);
    lltoa_(a->cents, cents, sizeof cents);
    const char *p[1] = {t};
    PGresult *r = ar_db_exec(c, "billing_tenant_exists", 1, p, err);
    if (!r) return -1;
    int exists = PQntuples(r) > 0;
    PQclear(r);
    if (!exists) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such tenant."), -1;
    ar_billing_balance b;
    if (ar_billing_balance_get_tx(c, a->tenant_id, 1, &b, err) != 0) return -1;
    const char *up[2] = {t, cents};
    r = ar_db_exec(c, "billing_acct_set_threshold", 2, up, err);
    if (!r) return -1;
    PQclear(r);
    json_t *details = json_pack("{s:I,s:I}", "from_cents", (json_int_t)b.low_balance_threshold_cents, "to_cents",
                                (json_int_t)a->cents);
    ar_audit_event ev = {.action = "billing.threshold_changed", .target_type = "reserve_account", .target_id = t,
                         .success = 1, .details = details, .tenant_id = a->tenant_id};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_billing_set_threshold(const ar_ctx *ctx, long long tenant_id, long long threshold_cents, ar_error *err)
{
    if (tenant_id <= 0) tenant_id = ctx->tenant_id;
    int own = tenant_id == ctx->tenant_id && ctx->role >= AR_ROLE_ADMIN;
    if (!ctx->is_staff && !own) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), -1;
    if (tenant_id <= 0 || threshold_cents < 0 || threshold_cents > AR_BILLING_ADJUST_MAX_CENTS) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        if (tenant_id <= 0) ar_error_field(err, "tenant_id", "Choose a tenant.");
        if (threshold_cents < 0 || threshold_cents > AR_BILLING_ADJUST_MAX_CENTS)
            ar_error_field(err, "low_balance_threshold_cents", "Between 0 and 100,000,000 cents.");
        return -1;
    }
    ar_ctx sys = ar_ctx_system(ctx);
    threshold_args a = {&sys, tenant_id, threshold_cents};
    return ar_ctx_tx(&sys, threshold_tx, &a, err);
}

/* ---------------------------------------------------------------- verify */

typedef struct verify_args {
    const ar_ctx *ctx;
    json_t *report;
} verify_args;

static void mismatch(json_t *list, long long tenant, const char *kind, long long entry, long long expected,
                     long long actual)
{
    json_array_append_new(list, json_pack("{s:I,s:s,s:o,s:I,s:I}", "tenant_id", (json_int_t)tenant, "kind", kind,
                                          "entry_id", entry ? json_integer(entry) : json_null(), "expected",
                                          (json_int_t)expected, "actual", (json_int_t)actual));
}

static int verify_tx(PGconn *c, void *arg, ar_error *err)
{
    verify_args *a = arg;
    /* Each check below is one statement, so it sees one consistent snapshot even under READ COMMITTED while
     * writers keep going (every writer changes account and ledger in the same transaction). */
    PGresult *r = ar_db_exec(c, "billing_verify_counts", 0, NULL, err);
    if (!r) return -1;
    long long accounts = col_ll(r, 0, 0), entries = col_ll(r, 0, 1);
    PQclear(r);
    json_t *list = json_array();
    r = ar_db_exec(c, "billing_verify_sums", 0, NULL, err);
    if (!r) goto fail;
    for (int i = 0; i < PQntuples(r); i++) {
        long long t = col_ll(r, i, 0), bal = col_ll(r, i, 1), sum = col_ll(r, i, 2), held = col_ll(r, i, 3),
                  hsum = col_ll(r, i, 4), active = col_ll(r, i, 5);
        if (bal != sum) mismatch(list, t, "balance_sum", 0, sum, bal);
        if (held != hsum) mismatch(list, t, "held_sum", 0, hsum, held);
        if (held != active) mismatch(list, t, "hold_sum", 0, active, held);
    }
    PQclear(r);
    r = ar_db_exec(c, "billing_verify_orphans", 0, NULL, err);
    if (!r) goto fail;
    for (int i = 0; i < PQntuples(r); i++) mismatch(list, col_ll(r, i, 0), "no_account", 0, 0, 0);
    PQclear(r);
    r = ar_db_exec(c, "billing_verify_chain", 0, NULL, err);
    if (!r) goto fail;
    for (int i = 0; i < PQntuples(r); i++) {
        long long id = col_ll(r, i, 0), t = col_ll(r, i, 1);
        if (col_ll(r, i, 2) != col_ll(r, i, 3)) mismatch(list, t, "balance_chain", id, col_ll(r, i, 2), col_ll(r, i, 3));
        if (col_ll(r, i, 4) != col_ll(r, i, 5)) mismatch(list, t, "held_chain", id, col_ll(r, i, 4), col_ll(r, i, 5));
    }
    PQclear(r);
    json_t *negative = json_array();
    r = ar_db_exec(c, "billing_verify_negative", 0, NULL, err);
    if (!r) {
        json_decref(negative);
        goto fail;
    }
    for (int i = 0; i < PQntuples(r); i++) json_array_append_new(negative, json_integer(col_ll(r, i, 0)));
    PQclear(r);
    size_t count = json_array_size(list);
    a->report = json_pack("{s:I,s:I,s:I,s:o,s:o}", "accounts", (json_int_t)accounts, "entries", (json_int_t)entries,
                          "mismatch_count", (json_int_t)count, "mismatches", list, "negative_available", negative);
    json_t *first = json_array();
    for (size_t i = 0; i < count && i < 50; i++) json_array_append(first, json_array_get(list, i));
    json_t *details = json_pack("{s:I,s:I,s:I,s:o,s:I}", "accounts", (json_int_t)accounts, "entries",
                                (json_int_t)entries, "mismatch_count", (json_int_t)count, "mismatches", first,
                                "negative_available", (json_int_t)json_array_size(negative));
    ar_audit_event ev = {.action = "billing.verify", .target_type = "ledger", .success = count == 0,
                         .reason = count ? "ledger mismatch" : "", .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    if (rc != 0) {
        json_decref(a->report);
        a->report = NULL;
        return -1;
    }
    return 0;
fail:
    json_decref(list);
    return -1;
}

int ar_billing_verify(const ar_ctx *ctx, json_t **report, ar_error *err)
{
    ar_ctx sys = ar_ctx_system(ctx);
    verify_args a = {&sys, NULL};
    if (ar_ctx_tx(&sys, verify_tx, &a, err) != 0) return -1;
    size_t count = (size_t)json_integer_value(json_object_get(a.report, "mismatch_count"));
    if (count) {
        ar_log_error("billing verify: %zu ledger mismatch(es) found", count);
    }
    *report = a.report;
    return 0;
}

/* ---------------------------------------------------------------- reading */

typedef struct read_args {
    const ar_ctx *ctx;
    long long tenant_id;
    long long a1, a2;
    const char *s1, *s2, *s3;
    json_t *out;
} read_args;

static int ledger_list_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    ar_billing_balance b;
    if (ar_billing_balance_get_tx(c, a->tenant_id, 0, &b, err) != 0) return -1;
    char t[24], lim[16], off[24];
    lltoa_(a->tenant_id, t, sizeof t);
    lltoa_(a->a1, lim, sizeof lim);
    lltoa_(a->a2, off, sizeof off);
    const char *cp[1] = {t};
    PGresult *r = ar_db_exec(c, "billing_ledger_count", 1, cp, err);
    if (!r) return -1;
    long long total = col_ll(r, 0, 0);
    PQclear(r);
    const char *p[3] = {t, lim, off};
    r = ar_db_exec(c, "billing_ledger_page", 3, p, err);
    if (!r) return -1;
    json_t *entries = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        long long amount = col_ll(r, i, 2), after = col_ll(r, i, 3);
        json_t *job = PQgetisnull(r, i, 7) ? json_null() : json_string(PQgetvalue(r, i, 7));
        json_array_append_new(
            entries, json_pack("{s:I,s:s,s:I,s:o,s:I,s:o,s:I,s:I,s:s,s:o,s:o,s:o,s:o}", "id",
                               (json_int_t)col_ll(r, i, 0), "entry_type", PQgetvalue(r, i, 1), "amount_cents",
                               (json_int_t)amount, "amount_dollars", dollars_json(amount), "balance_after_cents",
                               (json_int_t)after, "balance_after_dollars", dollars_json(after), "hold_cents",
                               (json_int_t)col_ll(r, i, 4), "held_after_cents", (json_int_t)col_ll(r, i, 5), "notes",
                               PQgetvalue(r, i, 6), "related_job_id", job, "related_stripe_event_id",
                               col_json_str(r, i, 8), "topup_id", col_json_ll(r, i, 9), "created_at",
                               col_json_str(r, i, 10)));
    }
    PQclear(r);
    a->out = json_pack("{s:o,s:I,s:I,s:I}", "entries", entries, "total_count", (json_int_t)total, "limit",
                       (json_int_t)a->a1, "offset", (json_int_t)a->a2);
    return 0;
}

json_t *ar_billing_ledger_list(const ar_ctx *ctx, int limit, long long offset, ar_error *err)
{
    if (limit == 0) limit = 50;
    if (limit < 1 || limit > 200 || offset < 0 || offset > 1000000000LL) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        if (limit < 1 || limit > 200) ar_error_field(err, "limit", "Between 1 and 200.");
        if (offset < 0 || offset > 1000000000LL) ar_error_field(err, "offset", "A number from 0.");
        return NULL;
    }
    read_args a = {ctx, 0, limit, offset, NULL, NULL, NULL, NULL};
    if (resolve_tenant(ctx, 0, &a.tenant_id, err) != 0) return NULL;
    if (ar_ctx_tx(ctx, ledger_list_tx, &a, err) != 0) return NULL;
    return a.out;
}

static int holds_list_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char t[24];
    lltoa_(a->tenant_id, t, sizeof t);
    const char *p[1] = {t};
    PGresult *r = ar_db_exec(c, "billing_holds_active", 1, p, err);
    if (!r) return -1;
    a->out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(a->out, json_pack("{s:I,s:I,s:I,s:o,s:o}", "id", (json_int_t)col_ll(r, i, 0), "job_id",
                                                (json_int_t)col_ll(r, i, 1), "amount_cents",
                                                (json_int_t)col_ll(r, i, 2), "expires_at", col_json_str(r, i, 3),
                                                "created_at", col_json_str(r, i, 4)));
    PQclear(r);
    return 0;
}

json_t *ar_billing_holds_list(const ar_ctx *ctx, ar_error *err)
{
    read_args a = {ctx, 0, 0, 0, NULL, NULL, NULL, NULL};
    if (resolve_tenant(ctx, 0, &a.tenant_id, err) != 0) return NULL;
    if (ar_ctx_tx(ctx, holds_list_tx, &a, err) != 0) return NULL;
    return a.out;
}

static int tokens_month_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char t[24];
    lltoa_(a->tenant_id, t, sizeof t);
    const char *p[1] = {t};
    PGresult *r = ar_db_exec(c, "billing_tokens_month", 1, p, err);
    if (!r) return -1;
    a->a1 = col_ll(r, 0, 0);
    a->a2 = col_ll(r, 0, 1);
    PQclear(r);
    return 0;
}

int ar_billing_tokens_month(const ar_ctx *ctx, long long *prompt_tokens, long long *completion_tokens, ar_error *err)
{
    read_args a = {ctx, 0, 0, 0, NULL, NULL, NULL, NULL};
    if (resolve_tenant(ctx, 0, &a.tenant_id, err) != 0) return -1;
    if (ar_ctx_tx(ctx, tokens_month_tx, &a, err) != 0) return -1;
    *prompt_tokens = a.a1;
    *completion_tokens = a.a2;
    return 0;
}

/* Strict YYYY-MM-DD with a real calendar day (so no date cast can fail in SQL). */
static int date_shape(const char *s)
{
    if (!s) return 1;
    if (strlen(s) != 10) return 0;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-') return 0;
        } else if (!isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    int y = atoi(s), m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap);
}

/* Resolve [since, until] (defaults: the last 30 days) into since_out / until_out; validates the range. */
static int resolve_dates(PGconn *c, const char *since, const char *until, char *since_out, char *until_out,
                         ar_error *err)
{
    const char *p[2] = {since, until};
    PGresult *r = ar_db_exec(c, "billing_dates", 2, p, err);
    if (!r) {
        ar_error_clear(err);
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "since", "Dates are YYYY-MM-DD.");
        return -1;
    }
    snprintf(since_out, 11, "%s", PQgetvalue(r, 0, 0));
    snprintf(until_out, 11, "%s", PQgetvalue(r, 0, 1));
    long long days = col_ll(r, 0, 2);
    PQclear(r);
    if (days < 0 || days > 366) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "until", days < 0 ? "Must not be before since." : "At most 366 days at a time.");
        return -1;
    }
    return 0;
}

static int check_date_args(const char *since, const char *until, ar_error *err)
{
    if (date_shape(since) && date_shape(until)) return 0;
    ar_error_set(err, AR_ERR_VALIDATION, NULL);
    if (!date_shape(since)) ar_error_field(err, "since", "Dates are YYYY-MM-DD.");
    if (!date_shape(until)) ar_error_field(err, "until", "Dates are YYYY-MM-DD.");
    return -1;
}

static int usage_summary_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char since[11], until[11], t[24];
    if (resolve_dates(c, a->s1, a->s2, since, until, err) != 0) return -1;
    lltoa_(a->tenant_id, t, sizeof t);
    const char *p[3] = {t, since, until};
    PGresult *r = ar_db_exec(c, "billing_usage_by_day", 3, p, err);
    if (!r) return -1;
    json_t *by_day = json_array();
    long long total = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        total += col_ll(r, i, 1);
        json_array_append_new(by_day, json_pack("{s:s,s:I,s:I,s:I,s:I}", "day", PQgetvalue(r, i, 0), "cost_cents",
                                                (json_int_t)col_ll(r, i, 1), "prompt_tokens",
                                                (json_int_t)col_ll(r, i, 2), "completion_tokens",
                                                (json_int_t)col_ll(r, i, 3), "jobs", (json_int_t)col_ll(r, i, 4)));
    }
    PQclear(r);
    r = ar_db_exec(c, "billing_usage_by_model", 3, p, err);
    if (!r) {
        json_decref(by_day);
        return -1;
    }
    json_t *by_model = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(by_model, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "provider", PQgetvalue(r, i, 0), "model",
                                                  PQgetvalue(r, i, 1), "cost_cents", (json_int_t)col_ll(r, i, 2),
                                                  "prompt_tokens", (json_int_t)col_ll(r, i, 3), "completion_tokens",
                                                  (json_int_t)col_ll(r, i, 4), "jobs", (json_int_t)col_ll(r, i, 5)));
    PQclear(r);
    a->out = json_pack("{s:s,s:s,s:I,s:o,s:o}", "since", since, "until", until, "total_cost_cents", (json_int_t)total,
                       "by_day", by_day, "by_model", by_model);
    return 0;
}

json_t *ar_billing_usage_summary(const ar_ctx *ctx, const char *since, const char *until, ar_error *err)
{
    if (check_date_args(since, until, err) != 0) return NULL;
    read_args a = {ctx, 0, 0, 0, since, until, NULL, NULL};
    if (resolve_tenant(ctx, 0, &a.tenant_id, err) != 0) return NULL;
    if (ar_ctx_tx(ctx, usage_summary_tx, &a, err) != 0) return NULL;
    return a.out;
}

static int admin_accounts_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    PGresult *r = ar_db_exec(c, "billing_admin_ensure_all", 0, NULL, err);
    if (!r) return -1;
    PQclear(r);
    const char *p[2] = {a->s2, a->s1};
    r = ar_db_exec(c, "billing_admin_accounts", 2, p, err);
    if (!r) return -1;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(
            list, json_pack("{s:I,s:s,s:I,s:o,s:I,s:I,s:o,s:I,s:b,s:b,s:s,s:o}", "tenant_id",
                            (json_int_t)col_ll(r, i, 0), "tenant_name", PQgetvalue(r, i, 1), "balance_cents",
                            (json_int_t)col_ll(r, i, 2), "balance_dollars", dollars_json(col_ll(r, i, 2)),
                            "held_cents", (json_int_t)col_ll(r, i, 3), "available_cents", (json_int_t)col_ll(r, i, 4),
                            "available_dollars", dollars_json(col_ll(r, i, 4)), "low_balance_threshold_cents",
                            (json_int_t)col_ll(r, i, 5), "is_low_balance", strcmp(PQgetvalue(r, i, 6), "t") == 0,
                            "is_zero_balance", strcmp(PQgetvalue(r, i, 7), "t") == 0, "currency", PQgetvalue(r, i, 8),
                            "updated_at", col_json_str(r, i, 9)));
    PQclear(r);
    r = ar_db_exec(c, "billing_admin_summary", 0, NULL, err);
    if (!r) {
        json_decref(list);
        return -1;
    }
    long long total_bal = col_ll(r, 0, 1);
    json_t *summary = json_pack("{s:I,s:I,s:o,s:I,s:I}", "total_accounts", (json_int_t)col_ll(r, 0, 0),
                                "total_balance_cents", (json_int_t)total_bal, "total_balance_dollars",
                                dollars_json(total_bal), "low_balance_count", (json_int_t)col_ll(r, 0, 2),
                                "zero_balance_count", (json_int_t)col_ll(r, 0, 3));
    PQclear(r);
    a->out = json_pack("{s:o,s:o,s:s,s:s}", "accounts", list, "summary", summary, "sort", a->s1, "filter", a->s2);
    return 0;
}

json_t *ar_billing_admin_accounts(const ar_ctx *ctx, const char *sort, const char *filter, ar_error *err)
{
    if (!ctx->is_staff) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), NULL;
    if (!sort || !*sort) sort = "balance";
    if (!filter) filter = "";
    int sort_ok = !strcmp(sort, "balance") || !strcmp(sort, "-balance") || !strcmp(sort, "name") ||
                  !strcmp(sort, "tenant");
    int filter_ok = !*filter || !strcmp(filter, "low") || !strcmp(filter, "zero");
    if (!sort_ok || !filter_ok) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        if (!sort_ok) ar_error_field(err, "sort", "One of balance, -balance, name, tenant.");
        if (!filter_ok) ar_error_field(err, "filter", "One of low, zero (or empty for all).");
        return NULL;
    }
    ar_ctx sys = ar_ctx_system(ctx);
    read_args a = {&sys, 0, 0, 0, sort, filter, NULL, NULL};
    if (ar_ctx_tx(&sys, admin_accounts_tx, &a, err) != 0) return NULL;
    return a.out;
}

static int cost_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char since[11], until[11], t[24];
    if (resolve_dates(c, a->s1, a->s2, since, until, err) != 0) return -1;
    lltoa_(a->tenant_id, t, sizeof t);
    const char *p[3] = {since, until, t};
    PGresult *r = ar_db_exec(c, "billing_cost_by_tenant", 3, p, err);
    if (!r) return -1;
    json_t *by_tenant = json_array();
    long long total = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        total += col_ll(r, i, 2);
        json_array_append_new(by_tenant, json_pack("{s:I,s:s,s:I,s:I}", "tenant_id", (json_int_t)col_ll(r, i, 0),
                                                   "tenant_name", PQgetvalue(r, i, 1), "cost_cents",
                                                   (json_int_t)col_ll(r, i, 2), "jobs", (json_int_t)col_ll(r, i, 3)));
    }
    PQclear(r);
    json_t *by_model = json_array(), *by_type = json_array();
    r = ar_db_exec(c, "billing_cost_by_model", 3, p, err);
    if (!r) goto fail;
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(by_model, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "provider", PQgetvalue(r, i, 0), "model",
                                                  PQgetvalue(r, i, 1), "cost_cents", (json_int_t)col_ll(r, i, 2),
                                                  "prompt_tokens", (json_int_t)col_ll(r, i, 3), "completion_tokens",
                                                  (json_int_t)col_ll(r, i, 4), "jobs", (json_int_t)col_ll(r, i, 5)));
    PQclear(r);
    r = ar_db_exec(c, "billing_cost_by_job_type", 3, p, err);
    if (!r) goto fail;
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(by_type, json_pack("{s:s,s:I,s:I}", "job_type", PQgetvalue(r, i, 0), "cost_cents",
                                                 (json_int_t)col_ll(r, i, 1), "jobs", (json_int_t)col_ll(r, i, 2)));
    PQclear(r);
    a->out = json_pack("{s:s,s:s,s:I,s:o,s:o,s:o}", "since", since, "until", until, "total_cost_cents",
                       (json_int_t)total, "by_tenant", by_tenant, "by_model", by_model, "by_job_type", by_type);
    return 0;
fail:
    json_decref(by_tenant);
    json_decref(by_model);
    json_decref(by_type);
    return -1;
}

json_t *ar_billing_cost_breakdown(const ar_ctx *ctx, const char *since, const char *until, long long tenant_id,
                                  ar_error *err)
{
    if (!ctx->is_staff) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), NULL;
    if (check_date_args(since, until, err) != 0) return NULL;
    if (tenant_id < 0) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "tenant_id", "A tenant id.");
        return NULL;
    }
    ar_ctx sys = ar_ctx_system(ctx);
    read_args a = {&sys, tenant_id, 0, 0, since, until, NULL, NULL};
    if (ar_ctx_tx(&sys, cost_tx, &a, err) != 0) return NULL;
    return a.out;
}

static int events_tx(PGconn *c, void *arg, ar_error *err)
{
    read_args *a = arg;
    char before[24], lim[16];
    lltoa_(a->a1, before, sizeof before);
    lltoa_(a->a2, lim, sizeof lim);
    const char *p[2] = {before, lim};
    PGresult *r = ar_db_exec(c, "billing_events_list", 2, p, err);
    if (!r) return -1;
    a->out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(a->out, json_pack("{s:I,s:s,s:s,s:o,s:o,s:s,s:s,s:o,s:o}", "id",
                                                (json_int_t)col_ll(r, i, 0), "event_id", PQgetvalue(r, i, 1),
                                                "event_type", PQgetvalue(r, i, 2), "tenant_id", col_json_ll(r, i, 3),
                                                "topup_id", col_json_ll(r, i, 4), "result", PQgetvalue(r, i, 5),
                                                "result_detail", PQgetvalue(r, i, 6), "received_at",
                                                col_json_str(r, i, 7), "processed_at", col_json_str(r, i, 8)));
    PQclear(r);
    return 0;
}

json_t *ar_billing_stripe_events_list(const ar_ctx *ctx, long long before_id, int limit, ar_error *err)
{
    if (!ctx->is_staff) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), NULL;
    if (limit == 0) limit = 50;
    if (limit < 1 || limit > 200 || before_id < 0) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, limit < 1 || limit > 200 ? "limit" : "before_id", "Out of range.");
        return NULL;
    }
    ar_ctx sys = ar_ctx_system(ctx);
    read_args a = {&sys, 0, before_id, limit, NULL, NULL, NULL, NULL};
    if (ar_ctx_tx(&sys, events_tx, &a, err) != 0) return NULL;
    return a.out;
}

/* ---------------------------------------------------------------- CSV export */

static const char *const csv_header[] = {"Tenant ID", "Tenant Name", "Entry ID", "Entry Type", "Amount (cents)",
                                         "Amount ($)", "Balance After (cents)", "Balance After ($)",
                                         "Held After (cents)", "Related Job ID", "Stripe Event ID", "Top-up ID",
                                         "Actor ID", "Notes", "Created At"};

typedef struct csv_args {
    long long tenant_id, after_id;
    const char *since, *until;
    int limit;
    ar_buf *out;
    int rows;
} csv_args;

static int csv_page_tx(PGconn *c, void *arg, ar_error *err)
{
    csv_args *a = arg;
    char after[24], t[24], lim[16];
    lltoa_(a->after_id, after, sizeof after);
    lltoa_(a->tenant_id, t, sizeof t);
    snprintf(lim, sizeof lim, "%d", a->limit);
    const char *p[5] = {after, t, a->since, a->until, lim};
    PGresult *r = ar_db_exec(c, "billing_csv_page", 5, p, err);
    if (!r) return -1;
    a->rows = PQntuples(r);
    for (int i = 0; i < a->rows; i++) {
        char amount_d[40], after_d[40];
        ar_billing_format_dollars(col_ll(r, i, 4), amount_d, sizeof amount_d);
        ar_billing_format_dollars(col_ll(r, i, 5), after_d, sizeof after_d);
        const char *f[15] = {PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 0), PQgetvalue(r, i, 3),
                             PQgetvalue(r, i, 4), amount_d, PQgetvalue(r, i, 5), after_d, PQgetvalue(r, i, 6),
                             PQgetvalue(r, i, 7), PQgetvalue(r, i, 8), PQgetvalue(r, i, 9), PQgetvalue(r, i, 10),
                             PQgetvalue(r, i, 11), PQgetvalue(r, i, 12)};
        /* Numbers stay numbers (a negative amount is not a formula); text cells are neutralised. */
        static const int text_cell[15] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0};
        for (int k = 0; k < 15; k++) {
            if (k) ar_buf_putc(a->out, ',');
            ar_csv_write_field(a->out, f[k], strlen(f[k]), text_cell[k] ? AR_CSV_NEUTRALISE_FORMULAS : 0);
        }
        ar_buf_puts(a->out, "\r\n");
        a->after_id = col_ll(r, i, 0);
    }
    PQclear(r);
    return 0;
}

int ar_billing_ledger_csv_page(const ar_ctx *ctx, long long tenant_id, const char *since, const char *until,
                               long long *after_id, int header, ar_buf *out, int *rows, ar_error *err)
{
    if (!ctx->is_staff) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), -1;
    if (check_date_args(since, until, err) != 0) return -1;
    if (header) ar_csv_write_row(out, csv_header, 15, 0);
    ar_ctx sys = ar_ctx_system(ctx);
    csv_args a = {tenant_id, *after_id, since, until, 500, out, 0};
    if (ar_ctx_tx(&sys, csv_page_tx, &a, err) != 0) return -1;
    *after_id = a.after_id;
    *rows = a.rows;
    return 0;
}

int ar_billing_ledger_csv(const ar_ctx *ctx, long long tenant_id, const char *since, const char *until,
                          ar_billing_write_fn write, void *arg, long long *rows, ar_error *err)
{
    long long after = 0, total = 0;
    int header = 1;
    for (;;) {
        ar_buf buf = AR_BUF_INIT;
        int n = 0;
        if (ar_billing_ledger_csv_page(ctx, tenant_id, since, until, &after, header, &buf, &n, err) != 0) {
            ar_buf_free(&buf);
            return -1;
        }
        header = 0;
        total += n;
        int stop = buf.len && write(arg, ar_buf_cstr(&buf), buf.len) != 0;
        ar_buf_free(&buf);
        if (stop || n < 500) break;
    }
    if (rows) *rows = total;
    ar_billing_ledger_export_audit(ctx, tenant_id, total);
    return 0;
}

void ar_billing_ledger_export_audit(const ar_ctx *ctx, long long tenant_id, long long rows)
{
    json_t *details = json_pack("{s:I,s:I}", "rows", (json_int_t)rows, "tenant_id", (json_int_t)tenant_id);
    ar_audit_event ev = {.action = "billing.ledger_exported", .target_type = "ledger", .success = 1,
                         .details = details};
    ar_audit_record(ctx, &ev);
    json_decref(details);
}

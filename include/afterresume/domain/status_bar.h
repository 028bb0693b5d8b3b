/* status_bar.h — the numbers of the live status bar on every signed-in page and of GET /api/status/bar/:
 * reserve balance (from the billing ledger; low / zero state), tokens used this month, running jobs. */
#ifndef AFTERRESUME_DOMAIN_STATUS_BAR_H
#define AFTERRESUME_DOMAIN_STATUS_BAR_H
#include <jansson.h>

#include "afterresume/domain/context.h"

/* {reserve_balance_cents, reserve_balance_dollars, available_balance_cents, is_low_balance (balance < threshold),
 *  is_zero_balance (available <= 0), has_reserve (false only without a tenant), billing_configured (whether
 *  Stripe payments are configured: always false here, the HTTP layer sets it from the configuration), tokens_in, tokens_out
 *  (this calendar month), jobs_running, updated_at} — the original's field names plus ours. New reference or
 *  NULL + err. */
json_t *ar_status_bar(const ar_ctx *ctx, ar_error *err);

#endif

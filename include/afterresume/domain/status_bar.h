/* status_bar.h — the numbers of the live status bar on every signed-in page and of GET /api/status/bar/:
 * reserve balance (billing not configured yet: 0), tokens used this month (no AI usage yet: 0), running jobs. */
#ifndef AFTERRESUME_DOMAIN_STATUS_BAR_H
#define AFTERRESUME_DOMAIN_STATUS_BAR_H
#include <jansson.h>

#include "afterresume/domain/context.h"

/* {reserve_balance_cents, reserve_balance_dollars, is_low_balance, billing_configured, tokens_in, tokens_out,
 *  jobs_running, updated_at} — the original's field names. New reference or NULL + err. */
json_t *ar_status_bar(const ar_ctx *ctx, ar_error *err);

#endif

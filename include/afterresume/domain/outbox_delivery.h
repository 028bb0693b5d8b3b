/* outbox_delivery.h — sending the e-mail outbox through SMTP: one call takes a batch of due pending messages
 * and sends each (multipart/alternative: the row's text and the HTML part of its template, or the generic
 * HTML template around the text; see outbox.h), recording the outcome on its row. Retries are the caller's loop (the e-mail job): a message
 * that failed temporarily stays 'pending' with attempts+1, last_error and next_attempt_at pushed back
 * (1 min, 5 min, 30 min, 2 h); it becomes 'failed' at its AR_OUTBOX_MAX_ATTEMPTS-th failure, or at once when
 * the server refused it for good (5xx) or it cannot be sent at all (invalid address). */
#ifndef AFTERRESUME_DOMAIN_OUTBOX_DELIVERY_H
#define AFTERRESUME_DOMAIN_OUTBOX_DELIVERY_H
#include "afterresume/clients/smtp.h"
#include "afterresume/domain/context.h"

#define AR_OUTBOX_MAX_ATTEMPTS 5

/* Register the statements (start-up, after ar_domain_register_all's modules). */
void ar_outbox_delivery_register(void);

/* Claim up to max (1..100) pending rows whose next_attempt_at has come (SELECT ... FOR UPDATE SKIP LOCKED in a
 * system-context transaction, leased by moving next_attempt_at forward so that concurrent callers and crashed
 * ones do not send twice or lose rows), then send each through smtp outside any transaction and record the
 * result: status 'sent', sent_at, message_id, attempts+1 — or the failure as described above.
 * *sent (may be NULL) gets how many were sent. Returns the number of rows processed (0 = nothing due), or -1
 * with err when the database failed (rows already sent stay recorded; a row whose outcome could not be
 * recorded is tried again once its lease ends — at-least-once delivery). */
int ar_outbox_deliver_pending(const ar_ctx *ctx, ar_smtp *smtp, int max, int *sent, ar_error *err);

#endif

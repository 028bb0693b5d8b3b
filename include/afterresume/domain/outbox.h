/* outbox.h — the e-mail outbox: messages are written here in the same transaction as what caused them; with no
 * SMTP configured they stay here and staff read them on the admin outbox page. */
#ifndef AFTERRESUME_DOMAIN_OUTBOX_H
#define AFTERRESUME_DOMAIN_OUTBOX_H
#include <jansson.h>

#include "afterresume/domain/context.h"

/* Inside the caller's transaction: queue one plain-text message. */
int ar_outbox_enqueue(PGconn *c, const ar_ctx *ctx, const char *to, const char *subject, const char *body,
                      ar_error *err);
/* Queue one message in a transaction of its own (when nothing else needs to commit with it). */
int ar_outbox_send(const ar_ctx *ctx, const char *to, const char *subject, const char *body, ar_error *err);
/* The invitation e-mail for a freshly minted passkey (the link carries the passkey; it is not stored). */
int ar_outbox_send_invite(const ar_ctx *ctx, const char *to, const char *link, ar_error *err);
/* Staff: the newest messages, [{id, created_at, to_addr, subject, status, attempts, last_error, body_text}]. */
json_t *ar_outbox_list(const ar_ctx *ctx, int limit, ar_error *err);

#endif

/* outbox.h — the e-mail outbox: messages are written here in the same transaction as what caused them; with no
 * SMTP configured they stay here (status pending) and staff read them on the admin outbox page. With SMTP
 * configured every message also queues a system job `email.send` (idempotency key "outbox-<id>") in the same
 * transaction, which delivers it (outbox_delivery.h); the schedule `email.retry` retries what failed.
 *
 * Templates: templates/email/<name>.subject|.text|.html.mustache (Mustache; use {{{x}}} in .subject/.text,
 * which are not HTML). Built in: "invite" {inviter, link}, "password_reset" {username, link, minutes}, and
 * "generic" (.html only), the HTML part of messages queued as plain text (paragraphs, links). */
#ifndef AFTERRESUME_DOMAIN_OUTBOX_H
#define AFTERRESUME_DOMAIN_OUTBOX_H
#include <jansson.h>

#include "afterresume/domain/context.h"

/* Start-up: load <templates_dir>/email (NULL = "templates") and say whether SMTP is configured (then every
 * queued message gets an email.send job). Without this call the first use loads $AR_TEMPLATES_DIR/email or
 * ./templates/email and no job is queued. 0 or -1 with err (a template does not compile). */
int ar_outbox_configure(const char *templates_dir, int smtp_configured, ar_error *err);
/* Free the templates (shutdown, tests). */
void ar_outbox_shutdown(void);

/* Render template `name` with data: *subject and *text (required parts) and, when html is not NULL, *html
 * (NULL when the template has no .html part); heap strings. 0 or -1 with err (unknown template). */
int ar_outbox_render(const char *name, json_t *data, char **subject, char **text, char **html, ar_error *err);
/* The HTML part for a stored row: its template's .html rendered with data_json, or else the generic
 * template around body_text. Heap string, NULL when no template set is loaded. */
char *ar_outbox_render_html(const char *subject, const char *body_text, const char *name, const char *data_json);

/* Inside the caller's transaction: queue one plain-text message. */
int ar_outbox_enqueue(PGconn *c, const ar_ctx *ctx, const char *to, const char *subject, const char *body,
                      ar_error *err);
/* Inside the caller's transaction: queue a message rendered from template `name` with data (borrowed). */
int ar_outbox_enqueue_template(PGconn *c, const ar_ctx *ctx, const char *to, const char *template_name, json_t *data,
                               ar_error *err);
/* The same in a transaction of its own. */
int ar_outbox_send_template(const ar_ctx *ctx, const char *to, const char *template_name, json_t *data,
                            ar_error *err);
/* Queue one message in a transaction of its own (when nothing else needs to commit with it). */
int ar_outbox_send(const ar_ctx *ctx, const char *to, const char *subject, const char *body, ar_error *err);
/* The invitation e-mail for a freshly minted passkey (template "invite"; the link carries the passkey and is
 * stored only in the message). */
int ar_outbox_send_invite(const ar_ctx *ctx, const char *to, const char *link, ar_error *err);
/* Staff: the newest messages, [{id, created_at, to_addr, subject, status, attempts, last_error, body_text}]. */
json_t *ar_outbox_list(const ar_ctx *ctx, int limit, ar_error *err);

#endif

/* password_reset.h — "forgot my password": a single-use token valid 30 minutes, e-mailed through the outbox;
 * confirming it sets the new password and ends every session of the user. The request never reveals whether
 * the address belongs to an account. */
#ifndef AFTERRESUME_DOMAIN_PASSWORD_RESET_H
#define AFTERRESUME_DOMAIN_PASSWORD_RESET_H
#include "afterresume/domain/context.h"

/* Always 0 unless the database fails; when the e-mail belongs to an active user, a token is stored (hashed)
 * and a message with `link_base` + "?token=..." is queued in the outbox. */
int ar_password_reset_request(const ar_ctx *ctx, const char *email, const char *link_base, ar_error *err);
/* 1 when the token is live (unused, unexpired), else 0. */
int ar_password_reset_valid(const ar_ctx *ctx, const char *token);
/* Validate the new password, use the token (once), set the password, end all sessions. Field errors
 * "new_password"; AR_ERR_NOT_FOUND for an unknown, used or expired token. */
int ar_password_reset_confirm(const ar_ctx *ctx, const char *token, const char *new_password, ar_error *err);

#endif

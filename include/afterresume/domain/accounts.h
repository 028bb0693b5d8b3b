/* accounts.h — user accounts and tenant membership: invite-only sign-up (passkey consumed in the same
 * transaction that creates the user, their personal tenant and memberships), sign-in by username or e-mail,
 * password changes and resets, staff administration of users (create, enable/disable, staff flag, list),
 * and tenant administration of members (list, change role, remove; the last owner is protected). */
#ifndef AFTERRESUME_DOMAIN_ACCOUNTS_H
#define AFTERRESUME_DOMAIN_ACCOUNTS_H
#include <jansson.h>
#include <libpq-fe.h>

#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

#define AR_EMAIL_MAX 254

/* 1 when username matches ^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$. */
int ar_username_valid(const char *username);
/* 1 when email has the shape local@domain: 3..254 bytes of UTF-8, exactly one '@' with text on both sides,
 * no whitespace or control characters. */
int ar_email_shape_ok(const char *email);

typedef struct ar_signup {
    const char *username, *email, *password, *passkey;
} ar_signup;

/* Invite-only sign-up. Every field is validated first (all bad fields reported at once in err->fields:
 * username, email, password, passkey); the password is hashed outside the transaction; then one
 * transaction consumes the passkey, creates the user, their personal tenant ("<username>'s workspace",
 * owner) and, for a tenant-scoped passkey, a membership of that tenant with the passkey's role, and writes
 * "passkey.consumed" + "signup.ok". Nothing is written when any step fails; "signup.failed" (and
 * "passkey.rejected" with the reason when the passkey was the problem) are then recorded on their own.
 * A taken username / e-mail is AR_ERR_VALIDATION with field "username" / "email" ("... is already taken").
 * *tenant_id = the passkey's tenant when scoped, else the personal tenant. Runs as a system service. */
int ar_account_signup(const ar_ctx *ctx, const ar_signup *in, long long *user_id, long long *tenant_id,
                      ar_error *err);

/* Sign in by username or e-mail (case-insensitive). Unknown user, wrong password and disabled account all
 * answer AR_ERR_UNAUTHORIZED "Invalid username or password." after about the same time. Upgrades the hash
 * when its limits are out of date, sets last_login_at, audits "signin.ok" / "signin.failed" (reason
 * "unknown_user", "bad_password" or "disabled", only in the audit log).
 * Returns {id, username, email, is_staff, personal_tenant_id}. Runs as a system service. */
json_t *ar_account_authenticate(const ar_ctx *ctx, const char *login, const char *password, ar_error *err);

/* {id, username, email, is_staff, is_active, created_at, last_login_at, personal_tenant_id, disabled_reason}.
 * The user themself or staff; anyone else gets AR_ERR_NOT_FOUND. */
json_t *ar_account_get(const ar_ctx *ctx, long long user_id, ar_error *err);

/* Create an account without a passkey (operator CLI, bootstrap, staff pages): staff only
 * (ctx->is_staff). Personal tenant + owner membership; audit "user.created". */
int ar_account_create(const ar_ctx *ctx, const char *username, const char *email, const char *password,
                      int is_staff, long long *id_out, ar_error *err);

/* Set a new password (staff, a system service such as the password-reset flow, or the user themself) and
 * end all of the user's sessions; audit "password.reset". Field error "password" when it is not valid. */
int ar_account_set_password(const ar_ctx *ctx, long long user_id, const char *new_password, ar_error *err);

/* The signed-in user changes their password: current must match (else AR_ERR_VALIDATION field
 * "current_password"), the new one must be valid (field "new_password"); ends the user's other sessions
 * (all but keep_session_id; 0 = all); audit "password.changed". */
int ar_account_change_password(const ar_ctx *ctx, const char *current, const char *new_password,
                               long long keep_session_id, ar_error *err);

/* Staff only: enable or disable an account. Disabling records the reason (may be NULL), ends all the
 * user's sessions and revokes all their API tokens in the same transaction; audits "user.disabled" /
 * "user.enabled". Staff cannot disable themselves (AR_ERR_CONFLICT). */
int ar_account_set_active(const ar_ctx *ctx, long long user_id, int active, const char *reason, ar_error *err);

/* Staff only: grant or revoke the staff flag; audits "user.staff_granted" / "user.staff_revoked". Staff
 * cannot revoke their own flag (AR_ERR_CONFLICT). */
int ar_account_set_staff(const ar_ctx *ctx, long long user_id, int is_staff, ar_error *err);

/* Staff only: users by id ascending after after_id, optionally filtered by a substring of username or
 * e-mail (search) and by active (-1 any, 0 disabled, 1 active); limit 1..200 (0 = 50).
 * {"count": N, "users": [{id, username, email, is_staff, is_active, created_at, last_login_at,
 * personal_tenant_id}], "next_after_id": id|null}. */
json_t *ar_account_list(const ar_ctx *ctx, const char *search, int active, int limit, long long after_id,
                        ar_error *err);

/* Staff or system services: 1 when at least one user exists, 0 when none, -1 on error (for bootstrap). */
int ar_account_any_exists(const ar_ctx *ctx, ar_error *err);

/* Staff or system services: 1 when at least one user exists, 0 when none, -1 on error (for bootstrap). */
int ar_account_any_exists(const ar_ctx *ctx, ar_error *err);

/* Staff or system services: the id of a username (case-insensitive); 0 + AR_ERR_NOT_FOUND. */
long long ar_account_find_id(const ar_ctx *ctx, const char *username, ar_error *err);

/* [{tenant_id, name, role, personal}] of the user's active tenants, personal first. The user themself or
 * staff; otherwise AR_ERR_NOT_FOUND. */
json_t *ar_account_memberships(const ar_ctx *ctx, long long user_id, ar_error *err);

/* Inside a transaction: the user's role in tenant (AR_ROLE_NONE when not a member or the tenant is inactive). */
ar_role ar_account_role_in(PGconn *c, long long user_id, long long tenant_id);

/* Tenant administration of ctx->tenant_id; ctx->role must be >= AR_ROLE_ADMIN (else AR_ERR_FORBIDDEN).
 * {"count": N, "members": [{user_id, username, email, role, is_active, joined_at}]} by role then name. */
json_t *ar_tenant_members(const ar_ctx *ctx, ar_error *err);
/* Change a member's role. Only an owner may make someone owner or change an owner's role; the last owner
 * cannot be demoted (AR_ERR_CONFLICT); users who are not members → AR_ERR_NOT_FOUND. Audit
 * "member.role_changed" with before/after. */
int ar_tenant_set_role(const ar_ctx *ctx, long long user_id, ar_role role, ar_error *err);
/* Remove a member: same rules; also ends their sessions in this tenant and revokes their API tokens for it.
 * Audit "member.removed". */
int ar_tenant_remove_member(const ar_ctx *ctx, long long user_id, ar_error *err);

#endif

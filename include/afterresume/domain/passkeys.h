/* passkeys.h — invite passkeys: minting (32 random bytes shown once as URL-safe text, only the SHA-256
 * stored), listing with a computed status, revoking, usage history from the audit log, a read-only check
 * for the sign-up page, and the atomic consumption used inside the sign-up transaction.
 * Staff manage platform passkeys and every tenant's; tenant owners/admins manage their tenant's. */
#ifndef AFTERRESUME_DOMAIN_PASSKEYS_H
#define AFTERRESUME_DOMAIN_PASSKEYS_H
#include <jansson.h>
#include <libpq-fe.h>

#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

#define AR_PASSKEY_TEXT_LENGTH 43     /* 32 bytes as URL-safe base64 without padding */
#define AR_PASSKEY_MAX_USES 10000
#define AR_PASSKEY_NOTE_MAX 500
#define AR_PASSKEY_MAX_EXPIRES_S (10LL * 366 * 24 * 3600)

typedef struct ar_passkey_options {
    long long tenant_id;     /* 0 = platform passkey (staff only) */
    ar_role role;            /* role in tenant_id: admin, member or read_only; AR_ROLE_NONE = member */
    long long expires_in_s;  /* 0 = never */
    int max_uses;            /* 0 → 1 */
    const char *note;        /* NULL = "" */
    const char *email;       /* optional e-mail of the invitee (NULL/"" = none) */
} ar_passkey_options;

/* Mint a passkey. raw_out gets the 43-character key (shown once, never stored); *id_out its id.
 * Errors: AR_ERR_FORBIDDEN (not staff, or not owner/admin of o->tenant_id == ctx->tenant_id),
 * AR_ERR_VALIDATION (fields max_uses, note, role, expires_in, email), AR_ERR_NOT_FOUND (tenant). */
int ar_passkey_mint(const ar_ctx *ctx, const ar_passkey_options *o, char raw_out[64], long long *id_out,
                    ar_error *err);

/* {"count":N,"passkeys":[{id, tenant_id, tenant_name, role, created_by, created_by_username, created_at,
 * expires_at, max_uses, uses, revoked_at, note, email, status}]} newest first (at most 1000); status is
 * "revoked", "used", "expired" or "active" in that precedence. status_filter NULL/"" = all.
 * Staff see all; tenant owners/admins their tenant's; others AR_ERR_FORBIDDEN. */
json_t *ar_passkey_list(const ar_ctx *ctx, const char *status_filter, ar_error *err);

/* Revoke (idempotent). AR_ERR_NOT_FOUND for unknown ids and ids the caller may not manage. */
int ar_passkey_revoke(const ar_ctx *ctx, long long id, ar_error *err);

/* {"passkey":{... as in the list ...},"events":[{id, action, created_at, actor_id, actor_username, ip,
 * user_agent, success, reason, details}]} — every audit event linked to the passkey, oldest first. */
json_t *ar_passkey_history(const ar_ctx *ctx, long long id, ar_error *err);

/* For the sign-up page: is this key usable right now? Does not consume it. Audits "passkey.validated" or
 * "passkey.rejected" (with the reason). Returns {"tenant_id": N|null, "tenant_name": ..|null, "role":..,
 * "email": ..|null} or NULL with AR_ERR_VALIDATION field "passkey" (message as for consumption). */
json_t *ar_passkey_check(const ar_ctx *ctx, const char *raw, ar_error *err);

/* Inside the sign-up transaction (row-level security bypassed): take one use of the key atomically
 * (conditional UPDATE; of two concurrent callers on a single-use key exactly one succeeds). On success
 * *id_out, *tenant_out (0 = platform passkey) and *role_out are set and *created_by_out (may be NULL) gets
 * the minting user (0 = none). On failure *reason_out is "unknown", "expired", "used" or "revoked",
 * *id_out / *tenant_out are the passkey's when it exists (else 0), and -1 is returned with AR_ERR_VALIDATION field
 * "passkey" and a message saying what to do. Surrounding whitespace in raw is ignored. */
int ar_passkey_consume(PGconn *c, const char *raw, long long *id_out, long long *tenant_out, ar_role *role_out,
                       const char **reason_out, ar_error *err);
/* The same with the minting user too. */
int ar_passkey_consume_ex(PGconn *c, const char *raw, long long *id_out, long long *tenant_out,
                          ar_role *role_out, long long *created_by_out, const char **reason_out, ar_error *err);

/* The bytea parameter text ("\\x" + 64 hex) of the SHA-256 of a key (after trimming whitespace). */
void ar_passkey_hash_param(const char *raw, char out[70]);

/* 1 when text looks like a minted key: exactly 43 characters of A-Z a-z 0-9 - _. */
int ar_passkey_well_formed(const char *raw);

#endif

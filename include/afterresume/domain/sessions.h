/* sessions.h — browser sessions: server-side rows keyed by the SHA-256 of a 256-bit random token that lives
 * only in the cookie; idle and absolute expiry; listing and ending one's sessions; switching tenant. */
#ifndef AFTERRESUME_DOMAIN_SESSIONS_H
#define AFTERRESUME_DOMAIN_SESSIONS_H
#include <jansson.h>

#include "afterresume/domain/context.h"

#define AR_SECRET_TEXT_SIZE 64   /* room for 43 chars of URL-safe base64 (32 bytes) plus prefixes and NUL */

typedef struct ar_session_policy {
    int idle_s;          /* without "remember me" (default 1800) */
    int remember_s;      /* idle timeout with "remember me" (default 14 days) */
    int max_age_s;       /* absolute lifetime (default 14 days) */
} ar_session_policy;
void ar_sessions_set_policy(const ar_session_policy *p);

typedef struct ar_session_info {
    long long id;
    long long user_id;
    long long tenant_id;
    ar_role role;
    int is_staff;
    char username[64];
    char email[256];
    char csrf_token[AR_SECRET_TEXT_SIZE];
} ar_session_info;

/* New session for user in tenant; token_out gets the cookie value (shown nowhere else). */
int ar_session_create(const ar_ctx *ctx, long long user_id, long long tenant_id, int remember,
                      char token_out[AR_SECRET_TEXT_SIZE], ar_session_info *out, ar_error *err);
/* Find the live session for a cookie value: not ended, not idle-expired, not past its lifetime, user active.
 * Refreshes last_seen_at at most once a minute. 0 found, -1 not found/expired (err NOT_FOUND) or DB error. */
int ar_session_lookup(const char *token, const ar_ctx *ctx, ar_session_info *out, ar_error *err);
/* End one of the caller's sessions (404 for someone else's). */
int ar_session_end(const ar_ctx *ctx, long long session_id, ar_error *err);
/* End every session of the caller except keep_id (0 = all). Returns how many were ended, or -1. */
int ar_session_end_others(const ar_ctx *ctx, long long keep_id, ar_error *err);
/* The caller's live sessions, newest first: [{id, created_at, last_seen_at, expires_at, ip, user_agent, current}]. */
json_t *ar_session_list(const ar_ctx *ctx, long long current_id, ar_error *err);
/* Move the session to another tenant the user belongs to (404 otherwise). The session is re-issued with a
 * new token (privilege change), written to token_out. */
int ar_session_switch_tenant(const ar_ctx *ctx, long long session_id, long long tenant_id,
                             char token_out[AR_SECRET_TEXT_SIZE], ar_error *err);

/* Shared by sessions, tokens, passkeys: 32 random bytes as URL-safe base64 (43 chars) after `prefix`,
 * and the SHA-256 of the whole text as a 64-char hex string for a bytea parameter ("\\x..."). */
void ar_secret_generate(const char *prefix, char out[AR_SECRET_TEXT_SIZE]);
void ar_secret_hash_param(const char *text, char out[70]);

#endif

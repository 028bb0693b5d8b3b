/* tokens.h — personal access tokens for the API: "ar_pat_" + 32 random bytes, stored hashed, scoped to one
 * tenant with scope read or write, optional expiry, last-used time, revocable. */
#ifndef AFTERRESUME_DOMAIN_TOKENS_H
#define AFTERRESUME_DOMAIN_TOKENS_H
#include <jansson.h>

#include "afterresume/domain/context.h"
#include "afterresume/domain/sessions.h"

#define AR_TOKEN_PREFIX "ar_pat_"

typedef struct ar_token_info {
    long long id;
    long long user_id;
    long long tenant_id;
    ar_role role;
    int is_staff;
    int can_write;
    char username[64];
    char email[256];
} ar_token_info;

/* Create a token for the caller in ctx->tenant_id. name 1..100 chars, scope "read"|"write", expires_in_days
 * 0 = never, else 1..3650. raw_out gets the token (shown once); *info_out (may be NULL) its listing row. */
int ar_token_create(const ar_ctx *ctx, const char *name, const char *scope, long long expires_in_days,
                    char raw_out[AR_SECRET_TEXT_SIZE], json_t **info_out, ar_error *err);
/* Resolve a bearer token (not revoked, not expired, user active). Refreshes last_used_at at most once a minute. */
int ar_token_lookup(const char *raw, const ar_ctx *ctx, ar_token_info *out, ar_error *err);
/* The caller's tokens in the current tenant: [{id, name, prefix, scope, created_at, last_used_at, expires_at}]. */
json_t *ar_token_list(const ar_ctx *ctx, ar_error *err);
int ar_token_revoke(const ar_ctx *ctx, long long id, ar_error *err);

#endif

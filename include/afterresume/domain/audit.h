/* audit.h — the append-only audit log: writing events (inside the caller's transaction, or in a
 * transaction of its own that never fails the caller), listing them with filters and keyset pagination,
 * and exporting them as CSV. Tenant admins see their tenant's events (row-level security); staff see all. */
#ifndef AFTERRESUME_DOMAIN_AUDIT_H
#define AFTERRESUME_DOMAIN_AUDIT_H
#include <jansson.h>
#include <libpq-fe.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

/* One event. Action names: "signin.ok", "signin.failed", "signout", "signup.ok", "signup.failed",
 * "passkey.validated", "passkey.rejected", "passkey.consumed", "passkey.created", "passkey.revoked",
 * "password.changed", "password.reset", "password.reset_requested", "token.created", "token.revoked",
 * "session.ended", "user.disabled", "user.enabled", "user.staff_granted", "user.created",
 * "member.role_changed", "member.removed", "ratelimit.tripped", "tenant.switched". */
typedef struct ar_audit_event {
    const char *action;       /* required, 1..64 characters */
    const char *target_type;  /* NULL = none */
    const char *target_id;    /* NULL = none */
    int success;
    const char *reason;       /* NULL = "" */
    json_t *details;          /* borrowed, may be NULL ('{}'); must be a JSON object; never secrets */
    long long passkey_id;     /* 0 none */
    long long tenant_id;      /* 0 = ctx->tenant_id (0 there too = no tenant) */
    long long actor_id;       /* 0 = ctx->user_id (0 there too = anonymous) */
} ar_audit_event;

/* Append ev inside the caller's transaction (c is the ar_ctx_tx callback's connection). The ip,
 * user agent and request id come from ctx. Text is stored as valid UTF-8 (invalid bytes become '?') and cut
 * to bounds (target_type 64, target_id 256, reason 1000 bytes); details over 64 KiB are stored as
 * {"truncated":true}. 0, or -1 with err (AR_ERR_VALIDATION for a bad action or non-object details;
 * a database error otherwise, which aborts the caller's transaction). ctx NULL = anonymous. */
int ar_audit_write(PGconn *c, const ar_ctx *ctx, const ar_audit_event *ev, ar_error *err);

/* Append ev in a transaction of its own (system context), e.g. for failures whose transaction rolled
 * back. Never fails the caller: when the event cannot be written, one JSON log line names the action. */
void ar_audit_record(const ar_ctx *ctx, const ar_audit_event *ev);

/* Listing filter; zero values mean "no filter" except success (-1 = any). */
typedef struct ar_audit_filter {
    long long actor_id;       /* 0 = any */
    long long tenant_id;      /* 0 = any (staff); a tenant admin only ever sees ctx->tenant_id */
    const char *action;       /* exact ("signin.ok") or prefix ending in '.' ("signin.") */
    const char *since;        /* ISO date YYYY-MM-DD or timestamp; inclusive */
    const char *until;        /* ISO date (whole day included) or timestamp; exclusive for timestamps */
    int success;              /* -1 any, 0 failures, 1 successes */
    long long passkey_id;     /* 0 = any */
    long long before_id;      /* keyset cursor: events with id < before_id; 0 = newest */
    int limit;                /* 1..200; 0 = default 50 */
} ar_audit_filter;

/* A filter matching everything (success = -1, everything else 0/NULL). */
ar_audit_filter ar_audit_filter_any(void);

/* {"events":[{id, created_at, actor_id, actor_username, tenant_id, action, target_type, target_id, ip,
 * user_agent, request_id, success, reason, details, passkey_id}], "next_before_id": N|null}, newest first
 * (by id, so pages never skip or repeat a row: pass next_before_id back as f->before_id for the next page).
 * Staff (ctx->is_staff) read across tenants; otherwise ctx->role must be >= AR_ROLE_ADMIN and only
 * ctx->tenant_id's events are visible (AR_ERR_FORBIDDEN otherwise). Bad filter values → AR_ERR_VALIDATION
 * with fields. NULL on error. */
json_t *ar_audit_list(const ar_ctx *ctx, const ar_audit_filter *f, ar_error *err);

/* The same events as RFC 4180 CSV (CRLF line ends) with a header row and a passkey_id column, newest first,
 * at most AR_AUDIT_EXPORT_MAX_ROWS rows; f->limit is ignored, f->before_id (if set) is where it starts.
 * Cells that start with = + - @ (or a tab / carriage return) get a leading single quote so spreadsheets do
 * not run them as formulas. Same access rules. Appends to out (left as it was on error); 0 or -1 with err. */
int ar_audit_export_csv(const ar_ctx *ctx, const ar_audit_filter *f, ar_buf *out, ar_error *err);

/* Maximum rows of one CSV export. */
#define AR_AUDIT_EXPORT_MAX_ROWS 100000

#endif

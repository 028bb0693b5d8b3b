/* context.h — who is calling: the request context every service takes ({user, tenant, role, request id, ip}),
 * roles, and the transaction runner that hands the caller's tenant and user to PostgreSQL's row-level
 * security for the duration of one transaction. */
#ifndef AFTERRESUME_DOMAIN_CONTEXT_H
#define AFTERRESUME_DOMAIN_CONTEXT_H
#include "afterresume/core/error.h"
#include "afterresume/db/db.h"

/* Tenant roles, ordered: a higher role may do everything a lower one may. */
typedef enum ar_role {
    AR_ROLE_NONE = 0,
    AR_ROLE_READ_ONLY = 1,
    AR_ROLE_MEMBER = 2,
    AR_ROLE_ADMIN = 3,
    AR_ROLE_OWNER = 4,
} ar_role;

typedef struct ar_ctx {
    long long user_id;       /* 0 = anonymous */
    long long tenant_id;     /* 0 = no tenant */
    ar_role role;            /* the user's role in tenant_id */
    int is_staff;
    char username[64];
    char request_id[65];
    char ip[64];
    char user_agent[256];
    int bypass_rls;          /* only for explicitly named system/staff services; see ar_ctx_system() */
} ar_ctx;

ar_role ar_role_from_string(const char *s);   /* AR_ROLE_NONE when unknown */
const char *ar_role_name(ar_role r);          /* "owner", "admin", "member", "read_only", "none" */

/* A copy of ctx that may read across tenants: sign-in lookups, staff services, the scheduler. */
ar_ctx ar_ctx_system(const ar_ctx *ctx);

/* Run fn inside one transaction with app.tenant_id / app.user_id / app.bypass_rls set (SET LOCAL semantics)
 * from ctx, retrying serialization failures like ar_db_tx. Every tenant-scoped query goes through this. */
int ar_ctx_tx(const ar_ctx *ctx, ar_db_tx_fn fn, void *arg, ar_error *err);
/* One registered statement in a transaction of its own with ctx's row-level-security settings, in a single
 * round trip (see ar_db_query_once). Returns the result (caller PQclears) or NULL with err. */
PGresult *ar_ctx_query_once(const ar_ctx *ctx, const char *stmt, int nparams, const char *const *params, ar_error *err);

/* Inside an ar_ctx_tx callback: switch the transaction's tenant (e.g. right after creating a tenant). */
int ar_ctx_set_tenant(PGconn *c, long long tenant_id, ar_error *err);

#endif

/* context.c — roles, and the transaction runner that sets PostgreSQL's row-level-security settings
 * (app.tenant_id, app.user_id, app.bypass_rls) for one transaction from the caller's context. */
#include "afterresume/domain/context.h"
#include "afterresume/domain/registry.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

static const ar_db_stmt statements[] = {
    {"ctx_set", "SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true), "
                "set_config('app.bypass_rls', $3, true)"},
    {"ctx_set_tenant", "SELECT set_config('app.tenant_id', $1, true)"},
};

void ar_context_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

static const char *const role_names[] = {"none", "read_only", "member", "admin", "owner"};

ar_role ar_role_from_string(const char *s)
{
    for (int r = AR_ROLE_READ_ONLY; s && r <= AR_ROLE_OWNER; r++)
        if (strcmp(s, role_names[r]) == 0) return (ar_role)r;
    return AR_ROLE_NONE;
}

const char *ar_role_name(ar_role r)
{
    return (int)r >= 0 && r <= AR_ROLE_OWNER ? role_names[r] : "none";
}

ar_ctx ar_ctx_system(const ar_ctx *ctx)
{
    ar_ctx s = *ctx;
    s.bypass_rls = 1;
    return s;
}

int ar_ctx_tx(const ar_ctx *ctx, ar_db_tx_fn fn, void *arg, ar_error *err)
{
    char tenant[24] = "", user[24] = "";
    if (ctx->tenant_id > 0) snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    if (ctx->user_id > 0) snprintf(user, sizeof user, "%lld", ctx->user_id);
    const char *params[3] = {tenant, user, ctx->bypass_rls ? "on" : "off"};
    return ar_db_tx_with("ctx_set", 3, params, fn, arg, err);
}

PGresult *ar_ctx_query_once(const ar_ctx *ctx, const char *stmt, int nparams, const char *const *params, ar_error *err)
{
    char tenant[24] = "", user[24] = "";
    if (ctx->tenant_id > 0) snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    if (ctx->user_id > 0) snprintf(user, sizeof user, "%lld", ctx->user_id);
    const char *prelude[3] = {tenant, user, ctx->bypass_rls ? "on" : "off"};
    return ar_db_query_once("ctx_set", 3, prelude, stmt, nparams, params, err);
}

int ar_ctx_set_tenant(PGconn *c, long long tenant_id, ar_error *err)
{
    char tenant[24];
    snprintf(tenant, sizeof tenant, "%lld", tenant_id);
    const char *params[1] = {tenant};
    PGresult *r = ar_db_exec(c, "ctx_set_tenant", 1, params, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

/* outbox.c — e-mail outbox rows (see outbox.h). */
#include "afterresume/domain/outbox.h"
#include "afterresume/domain/registry.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

static const ar_db_stmt statements[] = {
    {"outbox_insert", "INSERT INTO email_outbox (tenant_id, to_addr, subject, body_text) VALUES "
                      "(nullif($1, '')::bigint, $2, $3, $4)"},
    {"outbox_list",
     "SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_addr, subject, status, "
     "attempts, last_error, body_text FROM email_outbox ORDER BY id DESC LIMIT $1"},
};

void ar_outbox_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

int ar_outbox_enqueue(PGconn *c, const ar_ctx *ctx, const char *to, const char *subject, const char *body,
                      ar_error *err)
{
    char tenant[24] = "";
    if (ctx->tenant_id > 0) snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    const char *params[4] = {tenant, to, subject, body};
    PGresult *r = ar_db_exec(c, "outbox_insert", 4, params, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

typedef struct send_args {
    const ar_ctx *ctx;
    const char *to, *subject, *body;
} send_args;

static int send_tx(PGconn *c, void *arg, ar_error *err)
{
    send_args *a = arg;
    return ar_outbox_enqueue(c, a->ctx, a->to, a->subject, a->body, err);
}

int ar_outbox_send(const ar_ctx *ctx, const char *to, const char *subject, const char *body, ar_error *err)
{
    ar_ctx sys = ar_ctx_system(ctx);
    send_args a = {ctx, to, subject, body};
    return ar_ctx_tx(&sys, send_tx, &a, err);
}

int ar_outbox_send_invite(const ar_ctx *ctx, const char *to, const char *link, ar_error *err)
{
    char body[1024];
    snprintf(body, sizeof body,
             "Hello,\n\n%s invited you to AfterResume, where you keep a log of your work and turn it into skills "
             "and reports backed by evidence.\n\nCreate your account with this invite link:\n\n%s\n\n"
             "The link works for the number of sign-ups and the time the inviter chose.\n",
             ctx->username[0] ? ctx->username : "An administrator", link);
    return ar_outbox_send(ctx, to, "You are invited to AfterResume", body, err);
}

typedef struct list_args {
    int limit;
    json_t *rows;
} list_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", a->limit);
    const char *params[1] = {limit};
    PGresult *r = ar_db_exec(c, "outbox_list", 1, params, err);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(a->rows, json_pack("{s:I,s:s,s:s,s:s,s:s,s:i,s:s,s:s}", "id",
                                                 (json_int_t)atoll(PQgetvalue(r, i, 0)), "created_at",
                                                 PQgetvalue(r, i, 1), "to_addr", PQgetvalue(r, i, 2), "subject",
                                                 PQgetvalue(r, i, 3), "status", PQgetvalue(r, i, 4), "attempts",
                                                 atoi(PQgetvalue(r, i, 5)), "last_error", PQgetvalue(r, i, 6),
                                                 "body_text", PQgetvalue(r, i, 7)));
    PQclear(r);
    return 0;
}

json_t *ar_outbox_list(const ar_ctx *ctx, int limit, ar_error *err)
{
    if (!ctx->is_staff) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), NULL;
    ar_ctx sys = ar_ctx_system(ctx);
    list_args a = {limit < 1 || limit > 500 ? 100 : limit, json_array()};
    if (ar_ctx_tx(&sys, list_tx, &a, err) != 0) {
        json_decref(a.rows);
        return NULL;
    }
    return a.rows;
}

/* outbox_delivery.c — sends due e-mail outbox rows through SMTP and records each outcome (see outbox_delivery.h). */
#include "afterresume/domain/outbox_delivery.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/outbox.h"

/* The lease of a claimed batch: long enough for every message of it to time out (30 s each) and more. */
#define LEASE_BASE_SECONDS 60
#define LEASE_PER_MESSAGE_SECONDS 35

static const ar_db_stmt statements[] = {
    {"outbox_delivery_claim",
     "WITH due AS (SELECT id FROM email_outbox WHERE status = 'pending' AND next_attempt_at <= now() "
     "ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) "
     "UPDATE email_outbox o SET next_attempt_at = now() + make_interval(secs => $2::int) FROM due "
     "WHERE o.id = due.id RETURNING o.id, o.to_addr, o.subject, o.body_text, o.template, o.template_data::text"},
    {"outbox_delivery_sent",
     "UPDATE email_outbox SET status = 'sent', sent_at = now(), message_id = $2, attempts = attempts + 1, "
     "last_error = '' WHERE id = $1 AND status = 'pending'"},
    {"outbox_delivery_failed",
     "UPDATE email_outbox SET attempts = attempts + 1, last_error = left($2, 1000), "
     "status = CASE WHEN $3::boolean OR attempts + 1 >= $4::int THEN 'failed' ELSE 'pending' END, "
     "next_attempt_at = now() + CASE attempts + 1 WHEN 1 THEN interval '1 minute' WHEN 2 THEN interval '5 minutes' "
     "WHEN 3 THEN interval '30 minutes' ELSE interval '2 hours' END "
     "WHERE id = $1 AND status = 'pending' RETURNING status, attempts"},
};

void ar_outbox_delivery_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

typedef struct claimed_row {
    char *id, *to, *subject, *body, *template_name, *template_data;
} claimed_row;

static void free_row(claimed_row *row)
{
    ar_free(row->id);
    ar_free(row->to);
    ar_free(row->subject);
    ar_free(row->body);
    ar_free(row->template_name);
    ar_free(row->template_data);
}

typedef struct claim_args {
    int max;
    claimed_row *rows;
    int count;
} claim_args;

static int claim_tx(PGconn *c, void *arg, ar_error *err)
{
    claim_args *a = arg;
    char limit[16], lease[16];
    snprintf(limit, sizeof limit, "%d", a->max);
    snprintf(lease, sizeof lease, "%d", LEASE_BASE_SECONDS + LEASE_PER_MESSAGE_SECONDS * a->max);
    const char *params[2] = {limit, lease};
    PGresult *r = ar_db_exec(c, "outbox_delivery_claim", 2, params, err);
    if (!r) return -1;
    /* a retried transaction starts over */
    for (int i = 0; i < a->count; i++) free_row(&a->rows[i]);
    ar_free(a->rows);
    a->count = PQntuples(r);
    a->rows = ar_calloc((size_t)a->count + 1, sizeof *a->rows);
    for (int i = 0; i < a->count; i++) {
        a->rows[i].id = ar_strdup(PQgetvalue(r, i, 0));
        a->rows[i].to = ar_strdup(PQgetvalue(r, i, 1));
        a->rows[i].subject = ar_strdup(PQgetvalue(r, i, 2));
        a->rows[i].body = ar_strdup(PQgetvalue(r, i, 3));
        a->rows[i].template_name = PQgetisnull(r, i, 4) ? NULL : ar_strdup(PQgetvalue(r, i, 4));
        a->rows[i].template_data = PQgetisnull(r, i, 5) ? NULL : ar_strdup(PQgetvalue(r, i, 5));
    }
    PQclear(r);
    return 0;
}

/* Oldest first, as claimed (RETURNING does not keep the order). */
static int compare_rows(const void *x, const void *y)
{
    long long a = atoll(((const claimed_row *)x)->id), b = atoll(((const claimed_row *)y)->id);
    return (a > b) - (a < b);
}

typedef struct outcome_args {
    const claimed_row *row;
    const char *message_id;  /* sent when not NULL */
    const char *error;
    int permanent;
    char status[16];
    int attempts;
} outcome_args;

static int outcome_tx(PGconn *c, void *arg, ar_error *err)
{
    outcome_args *a = arg;
    PGresult *r;
    if (a->message_id) {
        const char *params[2] = {a->row->id, a->message_id};
        r = ar_db_exec(c, "outbox_delivery_sent", 2, params, err);
    } else {
        char max[16];
        snprintf(max, sizeof max, "%d", AR_OUTBOX_MAX_ATTEMPTS);
        const char *params[4] = {a->row->id, a->error, a->permanent ? "true" : "false", max};
        r = ar_db_exec(c, "outbox_delivery_failed", 4, params, err);
        if (r && PQntuples(r) == 1) {
            snprintf(a->status, sizeof a->status, "%s", PQgetvalue(r, 0, 0));
            a->attempts = atoi(PQgetvalue(r, 0, 1));
        }
    }
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int ar_outbox_deliver_pending(const ar_ctx *ctx, ar_smtp *smtp, int max, int *sent, ar_error *err)
{
    if (sent) *sent = 0;
    if (!smtp) return ar_error_set(err, AR_ERR_UNAVAILABLE, "no SMTP server is configured"), -1;
    if (max < 1) max = 1;
    if (max > 100) max = 100;
    ar_ctx sys = ar_ctx_system(ctx);
    claim_args claim = {max, NULL, 0};
    if (ar_ctx_tx(&sys, claim_tx, &claim, err) != 0) {
        for (int i = 0; i < claim.count; i++) free_row(&claim.rows[i]);
        ar_free(claim.rows);
        return -1;
    }
    if (claim.count > 1) qsort(claim.rows, (size_t)claim.count, sizeof *claim.rows, compare_rows);

    int sent_count = 0, rc = 0;
    for (int i = 0; i < claim.count; i++) {
        claimed_row *row = &claim.rows[i];
        char message_id[AR_SMTP_MESSAGE_ID_MAX];
        ar_error send_err = {0};
        outcome_args out = {.row = row};
        char *html = ar_outbox_render_html(row->subject, row->body, row->template_name, row->template_data);
        int send_rc = ar_smtp_send_alt(smtp, row->to, row->subject, row->body, html, message_id, sizeof message_id,
                                       &send_err);
        ar_free(html);
        if (send_rc == 0) {
            out.message_id = message_id;
            sent_count++;
        } else {
            ar_smtp_failure f = ar_smtp_last_failure(smtp);
            out.error = send_err.message;
            out.permanent = f.temporary == 0;
        }
        ar_error db_err = {0};
        if (ar_ctx_tx(&sys, outcome_tx, &out, &db_err) != 0) {
            ar_log_json(AR_LOG_ERROR, "outbox delivery outcome not recorded",
                        json_pack("{s:s,s:s,s:s}", "outbox_id", row->id, "outcome", out.message_id ? "sent" : "failed",
                                  "error", db_err.message));
            if (rc == 0) ar_error_set(err, db_err.code, "%s", db_err.message);
            rc = -1;
        } else if (!out.message_id) {
            ar_log_json(AR_LOG_WARN, "outbox delivery failed",
                        json_pack("{s:s,s:s,s:i,s:s}", "outbox_id", row->id, "status", out.status, "attempts",
                                  out.attempts, "error", send_err.message));
        }
        json_decref(db_err.fields);
        json_decref(send_err.fields);
        free_row(row);
    }
    ar_free(claim.rows);
    if (sent) *sent = sent_count;
    return rc == 0 ? claim.count : -1;
}

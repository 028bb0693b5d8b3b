/* outbox.c — e-mail outbox rows and the e-mail templates they are rendered from (see outbox.h). */
#include "afterresume/domain/outbox.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/registry.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/queue.h"
#include "afterresume/jobs/registry.h"
#include "afterresume/render/template.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ar_db_stmt statements[] = {
    {"outbox_insert", "INSERT INTO email_outbox (tenant_id, to_addr, subject, body_text, template, template_data) "
                      "VALUES (nullif($1, '')::bigint, $2, $3, $4, $5, $6::jsonb)"},
    /* The new row's id without RETURNING: tenants may insert into the outbox but not read it (row-level
     * security), and RETURNING needs the read policy. currval is this session's own value. */
    {"outbox_last_id", "SELECT currval(pg_get_serial_sequence('email_outbox', 'id'))"},
    {"outbox_list",
     "SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_addr, subject, status, "
     "attempts, last_error, body_text FROM email_outbox ORDER BY id DESC LIMIT $1"},
};

void ar_outbox_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

/* ---- templates ---- */

static pthread_mutex_t templates_lock = PTHREAD_MUTEX_INITIALIZER;
static ar_templates *templates;   /* templates/email, loaded once */
static int templates_tried;
static int delivery_enabled;      /* an SMTP server is configured: queue an email.send job per message */

int ar_outbox_configure(const char *templates_dir, int smtp_configured, ar_error *err)
{
    char *dir = ar_asprintf("%s/email", templates_dir && *templates_dir ? templates_dir : "templates");
    char *terr = NULL;
    ar_templates *t = ar_templates_load_dir(dir, &terr);
    free(dir);
    if (!t) {
        ar_error_set(err, AR_ERR_INTERNAL, "e-mail templates: %.200s", terr ? terr : "cannot load");
        free(terr);
        return -1;
    }
    pthread_mutex_lock(&templates_lock);
    ar_templates *old = templates;
    templates = t;
    templates_tried = 1;
    delivery_enabled = smtp_configured;
    pthread_mutex_unlock(&templates_lock);
    /* replaced at start-up only, before any rendering thread runs */
    if (old) ar_templates_free(old);
    return 0;
}

/* The loaded templates; the first use without ar_outbox_configure loads ./templates/email (CLI, tests). */
static const ar_templates *email_templates(void)
{
    pthread_mutex_lock(&templates_lock);
    if (!templates && !templates_tried) {
        templates_tried = 1;
        const char *dir = getenv("AR_TEMPLATES_DIR");
        char *path = ar_asprintf("%s/email", dir && *dir ? dir : "templates");
        char *terr = NULL;
        templates = ar_templates_load_dir(path, &terr);
        if (!templates) ar_log_error("e-mail templates not loaded from %s: %s", path, terr ? terr : "?");
        free(terr);
        free(path);
    }
    const ar_templates *t = templates;
    pthread_mutex_unlock(&templates_lock);
    return t;
}

void ar_outbox_shutdown(void)
{
    pthread_mutex_lock(&templates_lock);
    if (templates) ar_templates_free(templates);
    templates = NULL;
    templates_tried = 0;
    delivery_enabled = 0;
    pthread_mutex_unlock(&templates_lock);
}

/* Render "<name>.<part>" into a heap string (surrounding whitespace trimmed for the subject). */
static char *render_part(const ar_templates *t, const char *name, const char *part, json_t *data)
{
    char tname[96];
    snprintf(tname, sizeof tname, "%s.%s", name, part);
    ar_buf b = AR_BUF_INIT;
    if (!t || !ar_templates_has(t, tname) || ar_templates_render(t, tname, data, &b) != 0) {
        ar_buf_free(&b);
        return NULL;
    }
    char *out = ar_buf_steal(&b);
    if (strcmp(part, "subject") == 0) {
        char *start = out;
        while (*start && isspace((unsigned char)*start)) start++;
        size_t n = strlen(start);
        while (n && isspace((unsigned char)start[n - 1])) n--;
        memmove(out, start, n);
        out[n] = '\0';
    }
    return out;
}

static int valid_template_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 1 && n <= 64 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int ar_outbox_render(const char *name, json_t *data, char **subject, char **text, char **html, ar_error *err)
{
    *subject = *text = NULL;
    if (html) *html = NULL;
    const ar_templates *t = email_templates();
    if (!valid_template_name(name) || !t)
        return ar_error_set(err, AR_ERR_INTERNAL, "no e-mail template \"%.64s\"", name ? name : ""), -1;
    *subject = render_part(t, name, "subject", data);
    *text = render_part(t, name, "text", data);
    if (!*subject || !*text || !**subject) {
        free(*subject);
        free(*text);
        *subject = *text = NULL;
        return ar_error_set(err, AR_ERR_INTERNAL, "e-mail template \"%s\" needs .subject and .text parts", name), -1;
    }
    if (html) *html = render_part(t, name, "html", data);
    return 0;
}

/* Lines of a plain-text body as the generic HTML template's data: paragraphs (split at blank lines) of lines,
 * a line that is a lone http(s) URL becoming a link. */
static json_t *generic_data(const char *subject, const char *body)
{
    json_t *paragraphs = json_array(), *lines = json_array();
    const char *p = body;
    for (;;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && p[len - 1] == '\r') len--;
        if (len == 0) {
            if (json_array_size(lines)) json_array_append_new(paragraphs, json_pack("{s:o}", "lines", lines));
            else json_decref(lines);
            lines = json_array();
        } else {
            char *line = ar_strndup(p, len);
            int is_url = (strncmp(line, "http://", 7) == 0 || strncmp(line, "https://", 8) == 0) && !strchr(line, ' ');
            json_array_append_new(lines, is_url ? json_pack("{s:s}", "url", line) : json_pack("{s:s}", "text", line));
            free(line);
        }
        if (!end) break;
        p = end + 1;
    }
    if (json_array_size(lines)) json_array_append_new(paragraphs, json_pack("{s:o}", "lines", lines));
    else json_decref(lines);
    size_t i;
    json_t *para;
    json_array_foreach(paragraphs, i, para) {
        json_t *ls = json_object_get(para, "lines");
        json_object_set_new(json_array_get(ls, json_array_size(ls) - 1), "last", json_true());
    }
    return json_pack("{s:s,s:o}", "subject", subject, "paragraphs", paragraphs);
}

char *ar_outbox_render_html(const char *subject, const char *body_text, const char *name, const char *data_json)
{
    const ar_templates *t = email_templates();
    if (!t) return NULL;
    char *html = NULL;
    if (name && *name && valid_template_name(name)) {
        json_t *data = data_json ? json_loads(data_json, 0, NULL) : NULL;
        html = render_part(t, name, "html", data);
        json_decref(data);
    }
    if (!html) {
        json_t *data = generic_data(subject, body_text);
        html = render_part(t, "generic", "html", data);
        json_decref(data);
    }
    return html;
}

/* ---- queueing ---- */

/* Insert the row and, when SMTP is configured, an email.send job for it (in the same transaction; its
 * wake-up is delayed a little so that the transaction has committed when a worker looks). */
static int insert_row(PGconn *c, const ar_ctx *ctx, const char *to, const char *subject, const char *body,
                      const char *template_name, json_t *data, ar_error *err)
{
    char tenant[24] = "";
    if (ctx->tenant_id > 0) snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    char *data_text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    const char *params[6] = {tenant, to, subject, body, template_name, data_text};
    PGresult *r = ar_db_exec(c, "outbox_insert", 6, params, err);
    free(data_text);
    if (!r) return -1;
    PQclear(r);
    r = ar_db_exec(c, "outbox_last_id", 0, NULL, err);
    if (!r) return -1;
    char key[48];
    snprintf(key, sizeof key, "outbox-%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "0");
    PQclear(r);
    pthread_mutex_lock(&templates_lock);
    int enabled = delivery_enabled;
    pthread_mutex_unlock(&templates_lock);
    if (!enabled || !ar_job_type_find("email.send")) return 0;
    long long job_id = 0;
    if (ar_job_enqueue_system_in_tx(c, "email.send", NULL, key, &job_id, err) != 0) return -1;
    ar_error qerr = {0};
    if (ar_queue_schedule(job_id, ar_queue_now_ms() + 1000, &qerr) != 0)
        ar_log_warn("e-mail job %lld queued without a wake-up (the reconciler will): %s", job_id, qerr.message);
    ar_error_clear(&qerr);
    return 0;
}

int ar_outbox_enqueue(PGconn *c, const ar_ctx *ctx, const char *to, const char *subject, const char *body,
                      ar_error *err)
{
    return insert_row(c, ctx, to, subject, body, NULL, NULL, err);
}

int ar_outbox_enqueue_template(PGconn *c, const ar_ctx *ctx, const char *to, const char *template_name, json_t *data,
                               ar_error *err)
{
    char *subject, *text;
    if (ar_outbox_render(template_name, data, &subject, &text, NULL, err) != 0) return -1;
    int rc = insert_row(c, ctx, to, subject, text, template_name, data, err);
    free(subject);
    free(text);
    return rc;
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

typedef struct template_args {
    const ar_ctx *ctx;
    const char *to, *name;
    json_t *data;
} template_args;

static int template_tx(PGconn *c, void *arg, ar_error *err)
{
    template_args *a = arg;
    return ar_outbox_enqueue_template(c, a->ctx, a->to, a->name, a->data, err);
}

int ar_outbox_send_template(const ar_ctx *ctx, const char *to, const char *template_name, json_t *data,
                            ar_error *err)
{
    ar_ctx sys = ar_ctx_system(ctx);
    template_args a = {ctx, to, template_name, data};
    return ar_ctx_tx(&sys, template_tx, &a, err);
}

int ar_outbox_send_invite(const ar_ctx *ctx, const char *to, const char *link, ar_error *err)
{
    json_t *data = json_pack("{s:s,s:s}", "inviter", ctx->username[0] ? ctx->username : "An administrator", "link",
                             link);
    int rc = ar_outbox_send_template(ctx, to, "invite", data, err);
    json_decref(data);
    return rc;
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

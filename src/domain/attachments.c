/* attachments.c — evidence rows, storage quota and audit events (see domain/attachments.h). Every query filters by
 * the caller's tenant and runs under ar_ctx_tx, so row-level security applies on top (an attachment is visible
 * when its entry is). */
#include "afterresume/domain/attachments.h"
#include "afterresume/core/alloc.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/registry.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define ATT_COLUMNS                                                                                                \
    "a.id, a.entry_id, a.filename, a.mime_type, a.kind, a.description, a.size_bytes, a.sha256, a.uploaded_by, "   \
    "u.username, " TS("a.created_at") ", a.storage, a.object_key"

static const ar_db_stmt statements[] = {
    {"att_entry_access",
     "SELECT author_id FROM worklog_entries WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"},
    {"att_usage",
     "SELECT coalesce((SELECT used_bytes FROM tenant_storage WHERE tenant_id = $1), 0), "
     "coalesce((SELECT quota_bytes FROM tenant_storage WHERE tenant_id = $1), $2::bigint)"},
    {"att_usage_ensure", "INSERT INTO tenant_storage (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING"},
    {"att_usage_lock",
     "SELECT used_bytes, coalesce(quota_bytes, $2::bigint) FROM tenant_storage WHERE tenant_id = $1 FOR UPDATE"},
    {"att_insert",
     "INSERT INTO attachments (tenant_id, entry_id, uploaded_by, kind, storage, object_key, filename, mime_type, "
     "description, size_bytes, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"},
    {"att_list",
     "SELECT " ATT_COLUMNS " FROM attachments a LEFT JOIN users u ON u.id = a.uploaded_by "
     "WHERE a.tenant_id = $1 AND a.entry_id = $2 ORDER BY a.id"},
    {"att_get",
     "SELECT " ATT_COLUMNS " FROM attachments a LEFT JOIN users u ON u.id = a.uploaded_by "
     "JOIN worklog_entries e ON e.tenant_id = a.tenant_id AND e.id = a.entry_id AND e.deleted_at IS NULL "
     "WHERE a.tenant_id = $1 AND a.id = $2"},
    {"att_get_for_delete",
     "SELECT a.uploaded_by, e.author_id, a.storage, a.object_key, a.filename, a.size_bytes FROM attachments a "
     "JOIN worklog_entries e ON e.tenant_id = a.tenant_id AND e.id = a.entry_id AND e.deleted_at IS NULL "
     "WHERE a.tenant_id = $1 AND a.entry_id = $2 AND a.id = $3 FOR UPDATE OF a"},
    {"att_delete", "DELETE FROM attachments WHERE tenant_id = $1 AND id = $2"},
};

void ar_attachments_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

static void lld(char *buf, size_t size, long long v)
{
    snprintf(buf, size, "%lld", v);
}

static json_t *attachment_json(const PGresult *r, int row, int internal)
{
    long long id = atoll(PQgetvalue(r, row, 0));
    char url[64];
    snprintf(url, sizeof url, "/api/attachments/%lld/download", id);
    json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:o,s:s,s:s}", "id", (json_int_t)id, "entry_id",
                          (json_int_t)atoll(PQgetvalue(r, row, 1)), "filename", PQgetvalue(r, row, 2), "mime_type",
                          PQgetvalue(r, row, 3), "kind", PQgetvalue(r, row, 4), "description", PQgetvalue(r, row, 5),
                          "size_bytes", (json_int_t)atoll(PQgetvalue(r, row, 6)), "sha256", PQgetvalue(r, row, 7),
                          "uploaded_by",
                          PQgetisnull(r, row, 8) ? json_null() : json_integer(atoll(PQgetvalue(r, row, 8))),
                          "uploaded_by_username",
                          PQgetisnull(r, row, 9) ? json_null() : json_string(PQgetvalue(r, row, 9)), "created_at",
                          PQgetvalue(r, row, 10), "download_url", url);
    if (internal) {
        json_object_set_new(o, "storage", json_string(PQgetvalue(r, row, 11)));
        json_object_set_new(o, "object_key", json_string(PQgetvalue(r, row, 12)));
    }
    return o;
}

/* ---- entry access ---------------------------------------------------------------------------------------- */

typedef struct access_args {
    const ar_ctx *ctx;
    long long entry_id;
} access_args;

static int entry_visible(PGconn *c, const ar_ctx *ctx, long long entry_id, long long *author, ar_error *err)
{
    char tenant[24], entry[24];
    lld(tenant, sizeof tenant, ctx->tenant_id);
    lld(entry, sizeof entry, entry_id);
    const char *params[2] = {tenant, entry};
    PGresult *r = ar_db_exec(c, "att_entry_access", 2, params, err);
    if (!r) return -1;
    int found = PQntuples(r) == 1;
    if (found && author) *author = PQgetisnull(r, 0, 0) ? 0 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!found) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such worklog entry."), -1;
    return 0;
}

static int access_tx(PGconn *c, void *arg, ar_error *err)
{
    access_args *a = arg;
    return entry_visible(c, a->ctx, a->entry_id, NULL, err);
}

int ar_attachments_entry_access(const ar_ctx *ctx, long long entry_id, int for_write, ar_error *err)
{
    if (ctx->tenant_id <= 0 || entry_id <= 0) return ar_error_set(err, AR_ERR_NOT_FOUND, "No such worklog entry."), -1;
    access_args a = {ctx, entry_id};
    if (ar_ctx_tx(ctx, access_tx, &a, err) != 0) return -1;
    if (for_write && ctx->role < AR_ROLE_MEMBER)
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Read-only members cannot change attachments."), -1;
    return 0;
}

/* ---- usage ----------------------------------------------------------------------------------------------- */

typedef struct usage_args {
    const ar_ctx *ctx;
    long long default_quota, used, quota;
} usage_args;

static int usage_tx(PGconn *c, void *arg, ar_error *err)
{
    usage_args *a = arg;
    char tenant[24], def[24];
    lld(tenant, sizeof tenant, a->ctx->tenant_id);
    lld(def, sizeof def, a->default_quota);
    const char *params[2] = {tenant, def};
    PGresult *r = ar_db_exec(c, "att_usage", 2, params, err);
    if (!r) return -1;
    a->used = atoll(PQgetvalue(r, 0, 0));
    a->quota = atoll(PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

int ar_attachments_usage(const ar_ctx *ctx, long long default_quota, long long *used, long long *quota,
                         ar_error *err)
{
    usage_args a = {ctx, default_quota, 0, 0};
    if (ar_ctx_tx(ctx, usage_tx, &a, err) != 0) return -1;
    if (used) *used = a.used;
    if (quota) *quota = a.quota;
    return 0;
}

/* ---- create ---------------------------------------------------------------------------------------------- */

typedef struct create_args {
    const ar_ctx *ctx;
    long long entry_id;
    const ar_attachment_new *files;
    int count;
    long long default_quota;
    json_t *ids;
} create_args;

static int create_tx(PGconn *c, void *arg, ar_error *err)
{
    create_args *a = arg;
    char tenant[24], entry[24], user[24], def[24];
    lld(tenant, sizeof tenant, a->ctx->tenant_id);
    lld(entry, sizeof entry, a->entry_id);
    lld(user, sizeof user, a->ctx->user_id);
    lld(def, sizeof def, a->default_quota);
    if (entry_visible(c, a->ctx, a->entry_id, NULL, err) != 0) return -1;

    const char *p1[1] = {tenant};
    PGresult *r = ar_db_exec(c, "att_usage_ensure", 1, p1, err);
    if (!r) return -1;
    PQclear(r);
    const char *p2[2] = {tenant, def};
    r = ar_db_exec(c, "att_usage_lock", 2, p2, err); /* one upload at a time per tenant from here to commit */
    if (!r) return -1;
    long long used = PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : 0;
    long long quota = PQntuples(r) ? atoll(PQgetvalue(r, 0, 1)) : a->default_quota;
    PQclear(r);
    long long incoming = 0;
    for (int i = 0; i < a->count; i++) incoming += a->files[i].size_bytes;
    if (used + incoming > quota)
        return ar_error_set(err, AR_ERR_CONFLICT,
                            "Storage quota exceeded: this workspace uses %lld of %lld bytes and the upload needs %lld "
                            "more. Delete attachments or ask an admin for more space.",
                            used, quota, incoming),
               -1;

    a->ids = json_array();
    for (int i = 0; i < a->count; i++) {
        const ar_attachment_new *f = &a->files[i];
        char size[24];
        lld(size, sizeof size, f->size_bytes);
        const char *params[11] = {tenant, entry, user, f->kind, f->storage, f->object_key, f->filename, f->mime_type,
                                  f->description ? f->description : "", size, f->sha256};
        r = ar_db_exec(c, "att_insert", 11, params, err);
        if (!r) return -1;
        const char *id = PQgetvalue(r, 0, 0);
        json_array_append_new(a->ids, json_integer(atoll(id)));
        json_t *details = json_pack("{s:I,s:s,s:s,s:I,s:s}", "entry_id", (json_int_t)a->entry_id, "filename",
                                    f->filename, "mime_type", f->mime_type, "size_bytes", (json_int_t)f->size_bytes,
                                    "sha256", f->sha256);
        ar_audit_event ev = {.action = "attachment.uploaded", .target_type = "attachment", .target_id = id,
                             .success = 1, .details = details};
        int rc = ar_audit_write(c, a->ctx, &ev, err);
        json_decref(details);
        PQclear(r);
        if (rc != 0) return -1;
    }
    return 0;
}

json_t *ar_attachments_create(const ar_ctx *ctx, long long entry_id, const ar_attachment_new *files, int count,
                              long long default_quota, ar_error *err)
{
    if (count <= 0 || count > AR_ATTACHMENTS_PER_UPLOAD) {
        ar_error_set(err, AR_ERR_VALIDATION, "Attach 1 to %d files at a time.", AR_ATTACHMENTS_PER_UPLOAD);
        return NULL;
    }
    create_args a = {ctx, entry_id, files, count, default_quota, NULL};
    if (ar_ctx_tx(ctx, create_tx, &a, err) != 0) {
        json_decref(a.ids);
        return NULL;
    }
    json_t *list = ar_attachments_list(ctx, entry_id, default_quota, err);
    if (!list) {
        json_decref(a.ids);
        return NULL;
    }
    /* Only the files of this upload, in upload order. */
    json_t *mine = json_array();
    size_t i;
    json_t *id;
    json_array_foreach(a.ids, i, id) {
        size_t j;
        json_t *att;
        json_array_foreach(json_object_get(list, "attachments"), j, att) {
            if (json_integer_value(json_object_get(att, "id")) == json_integer_value(id))
                json_array_append(mine, att);
        }
    }
    json_decref(a.ids);
    json_object_set_new(list, "attachments", mine);
    return list;
}

/* ---- list / get ------------------------------------------------------------------------------------------ */

typedef struct list_args {
    const ar_ctx *ctx;
    long long id;
    long long default_quota;
    json_t *out;
} list_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    long long author = 0;
    if (entry_visible(c, a->ctx, a->id, &author, err) != 0) return -1;
    char tenant[24], entry[24];
    lld(tenant, sizeof tenant, a->ctx->tenant_id);
    lld(entry, sizeof entry, a->id);
    const char *params[2] = {tenant, entry};
    PGresult *r = ar_db_exec(c, "att_list", 2, params, err);
    if (!r) return -1;
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++) json_array_append_new(items, attachment_json(r, i, 0));
    PQclear(r);
    usage_args u = {a->ctx, a->default_quota, 0, 0};
    if (usage_tx(c, &u, err) != 0) {
        json_decref(items);
        return -1;
    }
    a->out = json_pack("{s:o,s:{s:I,s:I},s:I}", "attachments", items, "usage", "used_bytes", (json_int_t)u.used,
                       "quota_bytes", (json_int_t)u.quota, "entry_author_id", (json_int_t)author);
    return 0;
}

json_t *ar_attachments_list(const ar_ctx *ctx, long long entry_id, long long default_quota, ar_error *err)
{
    if (ctx->tenant_id <= 0 || entry_id <= 0) {
        ar_error_set(err, AR_ERR_NOT_FOUND, "No such worklog entry.");
        return NULL;
    }
    list_args a = {ctx, entry_id, default_quota, NULL};
    if (ar_ctx_tx(ctx, list_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

static int get_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    char tenant[24], id[24];
    lld(tenant, sizeof tenant, a->ctx->tenant_id);
    lld(id, sizeof id, a->id);
    const char *params[2] = {tenant, id};
    PGresult *r = ar_db_exec(c, "att_get", 2, params, err);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such attachment."), -1;
    }
    a->out = attachment_json(r, 0, 1);
    PQclear(r);
    return 0;
}

json_t *ar_attachments_get(const ar_ctx *ctx, long long attachment_id, ar_error *err)
{
    if (ctx->tenant_id <= 0 || attachment_id <= 0) {
        ar_error_set(err, AR_ERR_NOT_FOUND, "No such attachment.");
        return NULL;
    }
    list_args a = {ctx, attachment_id, 0, NULL};
    if (ar_ctx_tx(ctx, get_tx, &a, err) != 0) {
        json_decref(a.out);
        return NULL;
    }
    return a.out;
}

void ar_attachments_record_download(const ar_ctx *ctx, const json_t *attachment)
{
    char id[24];
    lld(id, sizeof id, (long long)json_integer_value(json_object_get(attachment, "id")));
    json_t *details = json_pack("{s:O,s:O,s:O}", "entry_id", json_object_get(attachment, "entry_id"), "filename",
                                json_object_get(attachment, "filename"), "size_bytes",
                                json_object_get(attachment, "size_bytes"));
    ar_audit_event ev = {.action = "attachment.downloaded", .target_type = "attachment", .target_id = id,
                         .success = 1, .details = details};
    ar_audit_record(ctx, &ev);
    json_decref(details);
}

void ar_attachments_record_refusal(const ar_ctx *ctx, long long entry_id, const char *filename, const char *reason)
{
    char id[24];
    lld(id, sizeof id, entry_id);
    json_t *details = json_pack("{s:I,s:s?}", "entry_id", (json_int_t)entry_id, "filename", filename);
    ar_audit_event ev = {.action = "attachment.upload_refused", .target_type = "worklog_entry", .target_id = id,
                         .success = 0, .reason = reason, .details = details};
    ar_audit_record(ctx, &ev);
    json_decref(details);
}

/* ---- delete ---------------------------------------------------------------------------------------------- */

typedef struct delete_args {
    const ar_ctx *ctx;
    long long entry_id, attachment_id;
    char *storage, *object_key;
} delete_args;

static int delete_tx(PGconn *c, void *arg, ar_error *err)
{
    delete_args *a = arg;
    char tenant[24], entry[24], id[24];
    lld(tenant, sizeof tenant, a->ctx->tenant_id);
    lld(entry, sizeof entry, a->entry_id);
    lld(id, sizeof id, a->attachment_id);
    const char *params[3] = {tenant, entry, id};
    PGresult *r = ar_db_exec(c, "att_get_for_delete", 3, params, err);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such attachment."), -1;
    }
    long long uploader = PQgetisnull(r, 0, 0) ? 0 : atoll(PQgetvalue(r, 0, 0));
    long long author = PQgetisnull(r, 0, 1) ? 0 : atoll(PQgetvalue(r, 0, 1));
    int allowed = a->ctx->role >= AR_ROLE_ADMIN ||
                  (a->ctx->role >= AR_ROLE_MEMBER && (uploader == a->ctx->user_id || author == a->ctx->user_id));
    if (!allowed) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_FORBIDDEN, "Only the uploader, the entry's author or an admin may delete it."),
               -1;
    }
    free(a->storage);
    free(a->object_key);
    a->storage = ar_strdup(PQgetvalue(r, 0, 2));
    a->object_key = ar_strdup(PQgetvalue(r, 0, 3));
    json_t *details = json_pack("{s:I,s:s,s:I}", "entry_id", (json_int_t)a->entry_id, "filename",
                                PQgetvalue(r, 0, 4), "size_bytes", (json_int_t)atoll(PQgetvalue(r, 0, 5)));
    PQclear(r);
    const char *p2[2] = {tenant, id};
    r = ar_db_exec(c, "att_delete", 2, p2, err);
    if (!r) {
        json_decref(details);
        return -1;
    }
    PQclear(r);
    ar_audit_event ev = {.action = "attachment.deleted", .target_type = "attachment", .target_id = id, .success = 1,
                         .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    return rc;
}

int ar_attachments_delete(const ar_ctx *ctx, long long entry_id, long long attachment_id, char **storage,
                          char **object_key, ar_error *err)
{
    *storage = NULL;
    *object_key = NULL;
    if (ctx->tenant_id <= 0 || entry_id <= 0 || attachment_id <= 0)
        return ar_error_set(err, AR_ERR_NOT_FOUND, "No such attachment."), -1;
    delete_args a = {ctx, entry_id, attachment_id, NULL, NULL};
    if (ar_ctx_tx(ctx, delete_tx, &a, err) != 0) {
        free(a.storage);
        free(a.object_key);
        return -1;
    }
    *storage = a.storage;
    *object_key = a.object_key;
    return 0;
}

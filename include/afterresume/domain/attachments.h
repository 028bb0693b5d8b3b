/* attachments.h — evidence files attached to worklog entries (SPEC §3 "Evidence"): the rows that point at
 * objects in object storage, the per-tenant storage quota, and the audit events of uploads, downloads and
 * deletions. The bytes themselves are written/read by the caller through storage/objects.h; this service only
 * decides who may do what and keeps the rows (written after the object, so a failed upload leaves no row).
 * Row-level security (0007_attachments.sql) makes an attachment visible exactly when its entry is. */
#ifndef AFTERRESUME_DOMAIN_ATTACHMENTS_H
#define AFTERRESUME_DOMAIN_ATTACHMENTS_H
#include <jansson.h>

#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

#define AR_ATTACHMENT_FILENAME_MAX 255   /* bytes of UTF-8 */
#define AR_ATTACHMENT_DESCRIPTION_MAX 1000
#define AR_ATTACHMENTS_PER_UPLOAD 10

/* One stored object to record. */
typedef struct ar_attachment_new {
    const char *kind;        /* "image" | "document" */
    const char *storage;     /* backend name: "local" | "s3" */
    const char *object_key;
    const char *filename;    /* the user's name (display and Content-Disposition only) */
    const char *mime_type;   /* from the sniffed type, never the client's */
    const char *description; /* may be NULL */
    long long size_bytes;
    const char *sha256;      /* 64 hex */
} ar_attachment_new;

/* The entry exists in ctx's tenant, is not deleted and is visible to ctx (private entries: author only).
 * for_write additionally needs a role that writes (member or above). 0, or -1 with AR_ERR_NOT_FOUND /
 * AR_ERR_FORBIDDEN (read-only member) / a database error. */
int ar_attachments_entry_access(const ar_ctx *ctx, long long entry_id, int for_write, ar_error *err);

/* The tenant's usage: bytes used and its quota (the tenant's own, or default_quota). */
int ar_attachments_usage(const ar_ctx *ctx, long long default_quota, long long *used, long long *quota,
                         ar_error *err);

/* Record `count` stored objects on entry_id in one transaction: the tenant's usage row is locked, the quota
 * checked (used + sizes ≤ quota, else AR_ERR_CONFLICT with code detail "storage_quota_exceeded" in the
 * message), the entry checked again, the rows inserted and one "attachment.uploaded" audit event per file
 * written. Returns {"attachments":[attachment...]} (see ar_attachments_list) or NULL + err; on NULL no row was
 * written and the caller deletes the objects. */
json_t *ar_attachments_create(const ar_ctx *ctx, long long entry_id, const ar_attachment_new *files, int count,
                              long long default_quota, ar_error *err);

/* {"attachments":[{id, entry_id, filename, mime_type, kind, description, size_bytes, sha256, uploaded_by,
 * uploaded_by_username, created_at, download_url}], "usage":{"used_bytes", "quota_bytes"}, "entry_author_id"}
 * oldest first.
 * AR_ERR_NOT_FOUND when the entry is not visible. */
json_t *ar_attachments_list(const ar_ctx *ctx, long long entry_id, long long default_quota, ar_error *err);

/* One attachment for a download, with the internal fields "storage" and "object_key" added (never send those
 * to clients). AR_ERR_NOT_FOUND when missing or not visible (its entry deleted included). */
json_t *ar_attachments_get(const ar_ctx *ctx, long long attachment_id, ar_error *err);

/* Audit a download (its own transaction; never fails the download). */
void ar_attachments_record_download(const ar_ctx *ctx, const json_t *attachment);

/* Delete attachment_id of entry_id: the uploader, the entry's author or a tenant admin/owner may. The row goes
 * (usage and the entry's attachment_count follow by trigger) and an "attachment.deleted" event is written; the
 * caller then deletes the object whose storage/key come back in *storage / *object_key (heap strings).
 * AR_ERR_NOT_FOUND (no such attachment on that visible entry), AR_ERR_FORBIDDEN (someone else's file). */
int ar_attachments_delete(const ar_ctx *ctx, long long entry_id, long long attachment_id, char **storage,
                          char **object_key, ar_error *err);

/* Audit a refused upload (quota, type, size): "attachment.upload_refused", success false. */
void ar_attachments_record_refusal(const ar_ctx *ctx, long long entry_id, const char *filename, const char *reason);

void ar_attachments_register(void);

#endif

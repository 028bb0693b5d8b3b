/* attachments.c — the evidence API: streamed multipart uploads onto a worklog entry, the entry's attachment list,
 * downloads (streamed, Content-Disposition: attachment, sandbox CSP) and deletion.
 *
 * An upload never sits in memory: each file part goes chunk by chunk into an object-storage writer while its
 * SHA-256 is computed and its bytes sniffed; at the end of the part the sniffed type must agree with the
 * extension, then the object is committed. When the whole body is in, the rows are written in one transaction
 * (quota checked under a lock); if that fails, or the body is refused or cut off at any point, every object this
 * request wrote is deleted again — no row, no object. */
#include "afterresume/api/handlers.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/core/utf8.h"
#include "afterresume/domain/attachments.h"
#include "afterresume/http/response.h"
#include "afterresume/storage/objects.h"
#include "afterresume/storage/sniff.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

typedef struct upload_file {
    char *filename;
    ar_filetype expected;
    ar_sniffer sniff;
    ar_storage_writer *writer;   /* open while the part streams */
    char *key;
    long long limit;
    ar_storage_object object;
    int committed;               /* object published: delete it unless the row is written */
} upload_file;

typedef struct upload_state {
    ar_ctx ctx;
    long long entry_id;
    ar_storage *storage;
    const ar_config *cfg;
    upload_file files[AR_ATTACHMENTS_PER_UPLOAD];
    int nfiles;
    upload_file *current;        /* file part in progress */
    int in_description;
    ar_buf description;
    long long quota_left;        /* bytes the tenant may still store (checked again under a lock at the end) */
    long long stored;            /* bytes of file data received so far */
    int rows_written;
    ar_error fail;               /* why we stopped the upload (our own reason, beats the parser's) */
    char *fail_filename;
} upload_state;

static int fail_upload(upload_state *u, const char *filename, ar_err_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_upload(upload_state *u, const char *filename, ar_err_code code, const char *fmt, ...)
{
    if (u->fail.code) return 1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ar_error_set(&u->fail, code, "%s", msg);
    free(u->fail_filename);
    u->fail_filename = filename ? ar_strdup(filename) : NULL;
    return 1;
}

static void limit_text(char *out, size_t size, long long bytes)
{
    if (bytes % (1024 * 1024) == 0)
        snprintf(out, size, "%lld MiB", bytes / (1024 * 1024));
    else
        snprintf(out, size, "%.1f MiB", (double)bytes / MIB);
}

static int on_part_begin(void *state, const ar_multipart_part *part)
{
    upload_state *u = state;
    u->current = NULL;
    u->in_description = 0;
    if (!part->filename) {
        u->in_description = strcmp(part->name, "description") == 0;
        return 0; /* other plain fields (csrf_token, ...) are skipped */
    }
    if (strcmp(part->name, "file") != 0 && strcmp(part->name, "files") != 0)
        return fail_upload(u, part->filename, AR_ERR_VALIDATION, "Send files in a field named \"file\".");
    if (!part->filename[0]) return 0; /* an empty file input */
    if (strlen(part->filename) > AR_ATTACHMENT_FILENAME_MAX)
        return fail_upload(u, NULL, AR_ERR_VALIDATION, "File names may be at most %d bytes long.",
                           AR_ATTACHMENT_FILENAME_MAX);
    if (u->nfiles >= AR_ATTACHMENTS_PER_UPLOAD)
        return fail_upload(u, part->filename, AR_ERR_VALIDATION, "Attach at most %d files at a time.",
                           AR_ATTACHMENTS_PER_UPLOAD);
    ar_filetype expected = ar_filetype_from_filename(part->filename, u->cfg->upload_allow_zip);
    if (expected == AR_FILETYPE_UNKNOWN)
        return fail_upload(u, part->filename, AR_ERR_UNSUPPORTED_MEDIA_TYPE,
                           "\"%s\" is not an allowed file type (pdf, png, jpg, gif, webp, txt, md, csv, docx, xlsx%s).",
                           part->filename, u->cfg->upload_allow_zip ? ", zip" : "");
    upload_file *f = &u->files[u->nfiles++];
    f->filename = ar_strdup(part->filename);
    f->expected = expected;
    f->limit = (long long)(ar_filetype_is_image(expected) ? u->cfg->upload_image_max : u->cfg->upload_document_max);
    ar_sniff_init(&f->sniff);
    f->key = ar_storage_new_key(u->ctx.tenant_id, "att");
    ar_error err = {0};
    f->writer = ar_storage_put_begin(u->storage, f->key, NULL, &err);
    if (!f->writer) {
        ar_log_json(AR_LOG_ERROR, "attachment storage unavailable",
                    json_pack("{s:s,s:s}", "request_id", u->ctx.request_id, "detail", err.message));
        ar_error_clear(&err);
        return fail_upload(u, part->filename, AR_ERR_UNAVAILABLE, "File storage is unavailable; try again later.");
    }
    u->current = f;
    return 0;
}

static int on_part_data(void *state, const char *data, size_t len)
{
    upload_state *u = state;
    if (u->in_description) {
        if (u->description.len + len > AR_ATTACHMENT_DESCRIPTION_MAX)
            return fail_upload(u, NULL, AR_ERR_VALIDATION, "The description may be at most %d characters.",
                               AR_ATTACHMENT_DESCRIPTION_MAX);
        ar_buf_append(&u->description, data, len);
        return 0;
    }
    upload_file *f = u->current;
    if (!f) return 0;
    long long size = ar_storage_put_size(f->writer) + (long long)len;
    if (size > f->limit) {
        char lim[32];
        limit_text(lim, sizeof lim, f->limit);
        return fail_upload(u, f->filename, AR_ERR_PAYLOAD_TOO_LARGE, "\"%s\" is larger than the %s limit for %s.",
                           f->filename, lim, ar_filetype_is_image(f->expected) ? "images" : "documents");
    }
    u->stored += (long long)len;
    if (u->stored > u->quota_left)
        return fail_upload(u, f->filename, AR_ERR_CONFLICT,
                           "Storage quota exceeded: this upload does not fit in the workspace's remaining %lld bytes.",
                           u->quota_left < 0 ? 0 : u->quota_left);
    ar_sniff_feed(&f->sniff, data, len);
    ar_error err = {0};
    if (ar_storage_put_write(f->writer, data, len, &err) != 0) {
        ar_log_json(AR_LOG_ERROR, "attachment write failed",
                    json_pack("{s:s,s:s}", "request_id", u->ctx.request_id, "detail", err.message));
        ar_error_clear(&err);
        return fail_upload(u, f->filename, AR_ERR_UNAVAILABLE, "File storage is unavailable; try again later.");
    }
    return 0;
}

static int on_part_end(void *state)
{
    upload_state *u = state;
    upload_file *f = u->current;
    u->current = NULL;
    u->in_description = 0;
    if (!f) return 0;
    ar_filetype sniffed = ar_sniff_finish(&f->sniff);
    if (f->sniff.total == 0)
        return fail_upload(u, f->filename, AR_ERR_VALIDATION, "\"%s\" is empty.", f->filename);
    if (!ar_filetype_agrees(f->expected, sniffed)) {
        if (f->expected == AR_FILETYPE_TEXT)
            return fail_upload(u, f->filename, AR_ERR_UNSUPPORTED_MEDIA_TYPE,
                               "\"%s\" is not plain UTF-8 text (binary content or invalid characters).", f->filename);
        return fail_upload(u, f->filename, AR_ERR_UNSUPPORTED_MEDIA_TYPE,
                           "\"%s\" does not contain what its extension says: expected %s, found %s.", f->filename,
                           ar_filetype_name(f->expected), ar_filetype_name(sniffed));
    }
    if (f->expected == AR_FILETYPE_ZIP) f->expected = sniffed; /* a .zip that is a docx is stored as what it is */
    ar_error err = {0};
    ar_storage_writer *w = f->writer;
    f->writer = NULL;
    if (ar_storage_put_commit(w, &f->object, &err) != 0) {
        ar_log_json(AR_LOG_ERROR, "attachment commit failed",
                    json_pack("{s:s,s:s}", "request_id", u->ctx.request_id, "detail", err.message));
        ar_error_clear(&err);
        return fail_upload(u, f->filename, AR_ERR_UNAVAILABLE, "File storage is unavailable; try again later.");
    }
    f->committed = 1;
    return 0;
}

/* Undo everything this request stored (objects committed, writers open). */
static void discard_objects(upload_state *u)
{
    for (int i = 0; i < u->nfiles; i++) {
        upload_file *f = &u->files[i];
        if (f->writer) {
            ar_storage_put_abort(f->writer);
            f->writer = NULL;
        }
        if (f->committed) {
            ar_error err = {0};
            if (ar_storage_delete(u->storage, f->key, &err) != 0)
                ar_log_json(AR_LOG_ERROR, "could not delete the object of a failed upload",
                            json_pack("{s:s,s:s,s:s}", "request_id", u->ctx.request_id, "object_key", f->key,
                                      "detail", err.message));
            ar_error_clear(&err);
            f->committed = 0;
        }
    }
}

static void respond_upload_error(ar_request *req, upload_state *u, const ar_error *err)
{
    if (err->code == AR_ERR_CONFLICT && strncmp(err->message, "Storage quota", 13) == 0) {
        ar_respond_json(req, 409,
                        json_pack("{s:{s:s,s:s}}", "error", "code", "storage_quota_exceeded", "message", err->message));
    } else {
        ar_respond_error(req, err);
    }
    if (err->code != AR_ERR_UNAVAILABLE && err->code != AR_ERR_INTERNAL)
        ar_attachments_record_refusal(&u->ctx, u->entry_id, u->fail_filename, err->message);
}

static void upload_finish(ar_request *req, void *state, const ar_error *failure)
{
    upload_state *u = state;
    if (u->fail.code || failure) {
        discard_objects(u);
        respond_upload_error(req, u, u->fail.code ? &u->fail : failure);
        return;
    }
    if (u->nfiles == 0) {
        ar_error err = {0};
        ar_error_set(&err, AR_ERR_VALIDATION, "No file in the upload.");
        ar_error_field(&err, "file", "Choose at least one file.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    if (!ar_utf8_valid(ar_buf_cstr(&u->description), u->description.len) ||
        memchr(ar_buf_cstr(&u->description), '\0', u->description.len)) {
        discard_objects(u);
        ar_respond_error_code(req, AR_ERR_VALIDATION, "The description must be UTF-8 text.");
        return;
    }
    ar_attachment_new rows[AR_ATTACHMENTS_PER_UPLOAD];
    for (int i = 0; i < u->nfiles; i++) {
        upload_file *f = &u->files[i];
        rows[i] = (ar_attachment_new){
            .kind = ar_filetype_is_image(f->expected) ? "image" : "document",
            .storage = ar_storage_backend_name(u->storage),
            .object_key = f->key,
            .filename = f->filename,
            .mime_type = ar_filetype_mime(f->expected, f->filename),
            .description = ar_buf_cstr(&u->description),
            .size_bytes = f->object.size,
            .sha256 = f->object.sha256,
        };
    }
    ar_error err = {0};
    json_t *out = ar_attachments_create(&u->ctx, u->entry_id, rows, u->nfiles,
                                        (long long)u->cfg->storage_quota_bytes, &err);
    if (!out) {
        discard_objects(u); /* write object, then row; on row failure delete the object */
        if (err.code == AR_ERR_CONFLICT && strncmp(err.message, "Storage quota", 13) != 0)
            ar_error_set(&err, AR_ERR_UNAVAILABLE, "The upload could not be recorded; try again.");
        respond_upload_error(req, u, &err);
        ar_error_clear(&err);
        return;
    }
    u->rows_written = 1;
    ar_respond_json(req, 201, out);
}

static void upload_release(void *state)
{
    upload_state *u = state;
    if (!u->rows_written) discard_objects(u); /* a body cut off mid-upload lands here without upload_finish */
    for (int i = 0; i < u->nfiles; i++) {
        free(u->files[i].filename);
        free(u->files[i].key);
    }
    ar_buf_free(&u->description);
    ar_error_clear(&u->fail);
    free(u->fail_filename);
    free(u);
}

static const ar_stream_sink upload_sink = {
    .parts = {on_part_begin, on_part_data, on_part_end},
    .on_finish = upload_finish,
    .on_release = upload_release,
};

/* POST /api/worklogs/{id}/attachments/ — runs before the body is read (AR_BODY_MULTIPART). */
void api_attachments_upload(ar_request *req)
{
    ar_error err = {0};
    long long entry_id = ar_req_id_param(req, "id");
    const ar_config *cfg = &req->app->cfg;
    if (entry_id <= 0 || ar_attachments_entry_access(&req->ctx, entry_id, 1, &err) != 0) {
        if (!err.code) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such worklog entry.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    long long used = 0, quota = 0;
    if (ar_attachments_usage(&req->ctx, (long long)cfg->storage_quota_bytes, &used, &quota, &err) != 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    /* A Content-Length that cannot fit even counting only file bytes: refuse before reading. */
    const char *cl = ar_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    long long declared = cl ? atoll(cl) : 0;
    size_t overhead = 64 * 1024;
    if (declared > 0 && used + declared - (long long)overhead > quota) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "Storage quota exceeded: this workspace uses %lld of %lld bytes and the upload is %lld bytes.", used,
                 quota, declared);
        ar_respond_json(req, 409, json_pack("{s:{s:s,s:s}}", "error", "code", "storage_quota_exceeded", "message", msg));
        ar_attachments_record_refusal(&req->ctx, entry_id, NULL, msg);
        return;
    }
    ar_storage *storage = ar_storage_shared(cfg, &err);
    if (!storage) {
        ar_log_json(AR_LOG_ERROR, "object storage not configured",
                    json_pack("{s:s,s:s}", "request_id", req->request_id, "detail", err.message));
        ar_error_clear(&err);
        ar_respond_error_code(req, AR_ERR_UNAVAILABLE, "File storage is unavailable; try again later.");
        return;
    }
    upload_state *u = ar_calloc(1, sizeof *u);
    u->ctx = req->ctx;
    u->entry_id = entry_id;
    u->storage = storage;
    u->cfg = cfg;
    u->quota_left = quota - used;
    size_t max_file = cfg->upload_document_max > cfg->upload_image_max ? cfg->upload_document_max : cfg->upload_image_max;
    size_t ceiling = max_file + ((size_t)1 << 20); /* one file at the limit plus multipart overhead */
    if (ar_request_stream(req, &upload_sink, u, ceiling, &err) != 0) {
        upload_release(u);
        if (err.code == AR_ERR_PAYLOAD_TOO_LARGE) {
            char lim[32];
            limit_text(lim, sizeof lim, (long long)max_file);
            ar_error_set(&err, AR_ERR_PAYLOAD_TOO_LARGE, "The upload is too large: files may be at most %s.", lim);
            ar_attachments_record_refusal(&req->ctx, entry_id, NULL, err.message);
        }
        ar_respond_error(req, &err);
        ar_error_clear(&err);
    }
}

void api_attachments_list(ar_request *req)
{
    ar_error err = {0};
    long long entry_id = ar_req_id_param(req, "id");
    json_t *out = entry_id > 0 ? ar_attachments_list(&req->ctx, entry_id,
                                                     (long long)req->app->cfg.storage_quota_bytes, &err)
                               : NULL;
    if (!out) {
        if (!err.code) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such worklog entry.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    ar_respond_json(req, 200, out);
}

/* Streamed download: the reader belongs to the response and is closed when MHD is done with it. */
static long long download_read(void *cls, unsigned long long pos, char *buf, size_t max)
{
    (void)pos;
    ar_error err = {0};
    ssize_t n = ar_storage_read(cls, buf, max, &err);
    if (n < 0) {
        ar_log_json(AR_LOG_ERROR, "attachment read failed", json_pack("{s:s}", "detail", err.message));
        ar_error_clear(&err);
    }
    return (long long)n;
}

static void download_release(void *cls)
{
    ar_storage_reader_close(cls);
}

void api_attachments_download(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *att = id > 0 ? ar_attachments_get(&req->ctx, id, &err) : NULL;
    if (!att) {
        if (!err.code) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such attachment.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    ar_storage *storage = ar_storage_shared(&req->app->cfg, &err);
    const char *backend = json_string_value(json_object_get(att, "storage"));
    ar_storage_reader *reader = NULL;
    if (storage && strcmp(backend, ar_storage_backend_name(storage)) != 0) {
        ar_error_set(&err, AR_ERR_UNAVAILABLE, "This file is kept in the %s storage, which is not configured.",
                     backend);
    } else if (storage) {
        reader = ar_storage_get(storage, json_string_value(json_object_get(att, "object_key")), &err);
    }
    if (!reader) {
        ar_log_json(AR_LOG_ERROR, "attachment object unavailable",
                    json_pack("{s:s,s:I,s:s}", "request_id", req->request_id, "attachment_id", (json_int_t)id,
                              "detail", err.message));
        ar_error_clear(&err);
        json_decref(att);
        ar_respond_error_code(req, AR_ERR_UNAVAILABLE, "The file cannot be read right now; try again later.");
        return;
    }
    if (req->method != AR_HEAD) ar_attachments_record_download(&req->ctx, att); /* HEAD sends no bytes */
    ar_buf disposition = AR_BUF_INIT;
    ar_content_disposition(&disposition, "attachment", json_string_value(json_object_get(att, "filename")));
    ar_respond_stream(req, 200, json_string_value(json_object_get(att, "mime_type")), ar_storage_reader_size(reader),
                      download_read, reader, download_release);
    ar_response_header(req, "Content-Disposition", ar_buf_cstr(&disposition));
    ar_response_header(req, "Content-Security-Policy", "sandbox; default-src 'none'");
    ar_response_header(req, "X-Checksum-SHA256", json_string_value(json_object_get(att, "sha256")));
    ar_buf_free(&disposition);
    json_decref(att);
}

void api_attachments_delete(ar_request *req)
{
    ar_error err = {0};
    long long entry_id = ar_req_id_param(req, "id");
    long long aid = ar_req_id_param(req, "aid");
    char *backend = NULL, *key = NULL;
    if (entry_id <= 0 || aid <= 0 || ar_attachments_delete(&req->ctx, entry_id, aid, &backend, &key, &err) != 0) {
        if (!err.code) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such attachment.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    ar_storage *storage = ar_storage_shared(&req->app->cfg, &err);
    if (!storage || strcmp(backend, ar_storage_backend_name(storage)) != 0 || ar_storage_delete(storage, key, &err) != 0)
        ar_log_json(AR_LOG_ERROR, "attachment row deleted but its object could not be removed",
                    json_pack("{s:s,s:s,s:s,s:s}", "request_id", req->request_id, "storage", backend, "object_key", key,
                              "detail", err.message[0] ? err.message : "storage backend not configured"));
    ar_error_clear(&err);
    free(backend);
    free(key);
    ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
}

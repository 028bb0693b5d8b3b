/* transfer.c — JSON API for worklog import and export: GET /api/export/worklogs (streamed JSON, CSV or Markdown
 * download) and POST /api/import/worklogs (JSON or CSV body, or a multipart upload, spooled to an anonymous
 * temporary file while it arrives), plus the upload reader the import page shares. */
#include "afterresume/api/handlers.h"
#include "afterresume/api/transfer.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/transfer.h"
#include "afterresume/domain/worklog.h"
#include "afterresume/http/multipart.h"
#include "afterresume/http/parse.h"
#include "afterresume/http/response.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define UPLOAD_FIELD_MAX 65536  /* a small multipart text field (mapping, options) */
#define UPLOAD_FIELDS_MAX 200

/* ---- upload reader (shared with the import page) ----------------------------------------------------------- */

struct ar_transfer_upload {
    int fd;                    /* anonymous spool file: the file's bytes */
    size_t file_bytes;
    char *map;                 /* the spool, mapped after the body is complete */
    json_t *fields;            /* multipart text fields */
    ar_multipart *mp;
    enum { PART_IGNORE, PART_SPOOL, PART_SPOOL_BASE64, PART_FIELD } part;
    unsigned char b64[4];      /* base64 characters of an incomplete group (csv_base64 part) */
    int b64_len, b64_end;      /* b64_end: padding seen, the part must end */
    char part_name[80];
    ar_buf part_buf;
    char filename[256];
    int spooled_part;          /* a part already filled the spool */
    char reason[256];          /* why a callback stopped */
    ar_err_code reason_code;
    ar_transfer_upload_done done;
};

static int spool_write(ar_transfer_upload *up, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(up->fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(up->reason, sizeof up->reason, "The upload could not be stored: %s.", strerror(errno));
            up->reason_code = AR_ERR_UNAVAILABLE;
            return -1;
        }
        data += n;
        len -= (size_t)n;
        up->file_bytes += (size_t)n;
    }
    return 0;
}

static int part_begin(void *ud, const ar_multipart_part *part)
{
    ar_transfer_upload *up = ud;
    up->part = PART_IGNORE;
    snprintf(up->part_name, sizeof up->part_name, "%s", part->name);
    ar_buf_reset(&up->part_buf);
    /* The file travels as the "file" part (file picker), or as "csv_base64" (the page's mapping step sends the
     * bytes back base64-encoded, so line breaks inside cells survive the browser's form rules exactly) or
     * "csv_text"; the first one holding bytes wins. */
    int base64 = strcmp(part->name, "csv_base64") == 0;
    if (strcmp(part->name, "file") == 0 || strcmp(part->name, "csv_text") == 0 || base64) {
        if (up->file_bytes == 0) {
            up->part = base64 ? PART_SPOOL_BASE64 : PART_SPOOL;
            up->b64_len = up->b64_end = 0;
            if (part->filename && *part->filename) snprintf(up->filename, sizeof up->filename, "%s", part->filename);
        }
        return 0;
    }
    if (strlen(part->name) >= sizeof up->part_name || json_object_size(up->fields) >= UPLOAD_FIELDS_MAX) {
        snprintf(up->reason, sizeof up->reason, "Too many form fields, or a field name that is too long.");
        up->reason_code = AR_ERR_BAD_REQUEST;
        return 1;
    }
    up->part = PART_FIELD;
    return 0;
}

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode base64 (RFC 4648, padding optional, white space ignored) into the spool, across chunk boundaries. */
static int spool_base64(ar_transfer_upload *up, const char *data, size_t len, int final)
{
    for (size_t i = 0; i <= len; i++) {
        int flush = i == len;
        if (flush && !final) break;
        if (!flush) {
            unsigned char c = (unsigned char)data[i];
            if (c == ' ' || c == '\r' || c == '\n' || c == '\t') continue;
            if (c == '=') {
                up->b64_end = 1;
                continue;
            }
            if (up->b64_end || base64_value(c) < 0) goto bad;
            up->b64[up->b64_len++] = c;
            if (up->b64_len < 4) continue;
        }
        if (up->b64_len == 1) goto bad;
        if (up->b64_len == 0) continue;
        unsigned v = 0;
        for (int k = 0; k < 4; k++) v = v << 6 | (unsigned)(k < up->b64_len ? base64_value(up->b64[k]) : 0);
        char out[3] = {(char)(v >> 16), (char)(v >> 8), (char)v};
        if (spool_write(up, out, (size_t)(up->b64_len - 1)) != 0) return -1;
        up->b64_len = 0;
    }
    return 0;
bad:
    snprintf(up->reason, sizeof up->reason, "The file sent back by the page is damaged (bad base64).");
    up->reason_code = AR_ERR_BAD_REQUEST;
    return -1;
}

static int part_data(void *ud, const char *data, size_t len)
{
    ar_transfer_upload *up = ud;
    if (up->part == PART_SPOOL) return spool_write(up, data, len);
    if (up->part == PART_SPOOL_BASE64) return spool_base64(up, data, len, 0);
    if (up->part == PART_FIELD) {
        if (up->part_buf.len + len > UPLOAD_FIELD_MAX) {
            snprintf(up->reason, sizeof up->reason, "The form field \"%.60s\" is longer than %d bytes.",
                     up->part_name, UPLOAD_FIELD_MAX);
            up->reason_code = AR_ERR_PAYLOAD_TOO_LARGE;
            return 1;
        }
        ar_buf_append(&up->part_buf, data, len);
    }
    return 0;
}

static int part_end(void *ud)
{
    ar_transfer_upload *up = ud;
    if (up->part == PART_SPOOL_BASE64 && spool_base64(up, "", 0, 1) != 0) return 1;
    if (up->part == PART_FIELD && !json_object_get(up->fields, up->part_name)) {
        json_t *v = json_stringn(ar_buf_cstr(&up->part_buf), up->part_buf.len); /* NULL when not UTF-8 */
        if (!v || strlen(json_string_value(v)) != up->part_buf.len) {
            json_decref(v);
            snprintf(up->reason, sizeof up->reason, "The form field \"%.60s\" is not valid UTF-8 text.",
                     up->part_name);
            up->reason_code = AR_ERR_BAD_REQUEST;
            return 1;
        }
        json_object_set_new(up->fields, up->part_name, v);
    }
    up->part = PART_IGNORE;
    return 0;
}

static int on_data(void *state, const char *data, size_t len, ar_error *err)
{
    ar_transfer_upload *up = state;
    int rc = up->mp ? ar_multipart_feed(up->mp, data, len, err) : spool_write(up, data, len);
    if (rc != 0) {
        ar_error_clear(err);
        ar_error_set(err, up->reason_code ? up->reason_code : AR_ERR_BAD_REQUEST, "%s",
                     up->reason[0] ? up->reason : "The upload is not a valid multipart/form-data body.");
        return -1;
    }
    return 0;
}

static void on_finish(ar_request *req, void *state, const ar_error *failure)
{
    ar_transfer_upload *up = state;
    ar_error err = {0};
    if (!failure && up->mp && ar_multipart_finish(up->mp, &err) != 0) failure = &err;
    if (!failure && up->file_bytes > 0) {
        up->map = mmap(NULL, up->file_bytes, PROT_READ, MAP_PRIVATE, up->fd, 0);
        if (up->map == MAP_FAILED) {
            up->map = NULL;
            ar_error_set(&err, AR_ERR_UNAVAILABLE, "The upload could not be read back.");
            failure = &err;
        }
    }
    up->done(req, up, failure);
    ar_error_clear(&err);
}

static void on_release(void *state)
{
    ar_transfer_upload *up = state;
    if (up->map) munmap(up->map, up->file_bytes);
    if (up->fd >= 0) close(up->fd);
    ar_multipart_free(up->mp);
    json_decref(up->fields);
    ar_buf_free(&up->part_buf);
    free(up);
}

/* An unlinked temporary file: nothing is left behind, whatever happens to the request. */
static int spool_open(void)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/afterresume-import-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd >= 0) unlink(path);
    return fd;
}

int ar_transfer_upload_begin(ar_request *req, ar_transfer_upload_done done, ar_error *err)
{
    ar_transfer_upload *up = ar_calloc(1, sizeof *up);
    up->done = done;
    up->fields = json_object();
    ar_buf_init(&up->part_buf);
    up->fd = spool_open();
    if (up->fd < 0) {
        on_release(up);
        return ar_error_set(err, AR_ERR_UNAVAILABLE, "No room for the upload right now."), -1;
    }
    if (strcmp(req->mime, "multipart/form-data") == 0) {
        char boundary[128];
        const char *ct = ar_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
        static const ar_multipart_callbacks cb = {part_begin, part_data, part_end};
        if (!ct || ar_content_type_param(ct, "boundary", boundary, sizeof boundary) != 0 ||
            !(up->mp = ar_multipart_new(boundary, &cb, up, 8192, UPLOAD_FIELDS_MAX + 4))) {
            on_release(up);
            return ar_error_set(err, AR_ERR_BAD_REQUEST, "multipart/form-data needs a valid boundary parameter."), -1;
        }
    }
    ar_stream_sink sink = {.on_data = on_data, .on_finish = on_finish, .on_release = on_release};
    if (ar_request_stream(req, &sink, up, AR_TRANSFER_IMPORT_MAX_BYTES, err) != 0) {
        on_release(up);
        return -1;
    }
    return 0;
}

const char *ar_transfer_upload_data(const ar_transfer_upload *up, size_t *len)
{
    *len = up->map ? up->file_bytes : 0;
    return up->map ? up->map : "";
}

const char *ar_transfer_upload_field(const ar_transfer_upload *up, const char *name)
{
    return json_string_value(json_object_get(up->fields, name));
}

const char *ar_transfer_upload_filename(const ar_transfer_upload *up)
{
    return up->filename;
}

/* ---- export -------------------------------------------------------------------------------------------------- */

typedef struct export_stream {
    ar_export *x;
    ar_buf buf;
    size_t off;
    int done;
    char request_id[65];
} export_stream;

static long long export_read(void *cls, unsigned long long pos, char *out, size_t max)
{
    (void)pos;
    export_stream *s = cls;
    while (s->off == s->buf.len) {
        if (s->done) return 0;
        ar_buf_reset(&s->buf);
        s->off = 0;
        ar_error err = {0};
        int rc = ar_export_next(s->x, &s->buf, &err);
        if (rc < 0) {
            ar_log_json(AR_LOG_ERROR, "export stopped",
                        json_pack("{s:s,s:s}", "request_id", s->request_id, "error", err.message));
            ar_error_clear(&err);
            return -1;
        }
        if (rc == 0) s->done = 1;
    }
    size_t n = s->buf.len - s->off;
    if (n > max) n = max;
    memcpy(out, s->buf.data + s->off, n);
    s->off += n;
    return (long long)n;
}

static void export_release(void *cls)
{
    export_stream *s = cls;
    ar_export_free(s->x);
    ar_buf_free(&s->buf);
    free(s);
}

void api_export_worklogs(ar_request *req)
{
    ar_error err = {0};
    const char *fmt = ar_req_query(req, "format");
    ar_export_format f = ar_export_format_parse(fmt && *fmt ? fmt : "json");
    ar_export *x = NULL;
    if (!f) {
        ar_error_field(&err, "format", "Choose json, csv or md.");
        ar_error_set(&err, AR_ERR_VALIDATION, NULL);
    } else {
        x = ar_export_begin(&req->ctx, f, ar_req_query(req, "start_date"), ar_req_query(req, "end_date"), &err);
    }
    if (!x) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    export_stream *s = ar_calloc(1, sizeof *s);
    s->x = x;
    snprintf(s->request_id, sizeof s->request_id, "%s", req->request_id);
    ar_respond_stream(req, 200, ar_export_content_type(f), -1, export_read, s, export_release);
    char name[64], cd[96];
    ar_export_filename(f, name, sizeof name); /* plain ASCII: no filename* needed */
    snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", name);
    ar_response_header(req, "Content-Disposition", cd);
}

/* ---- import -------------------------------------------------------------------------------------------------- */

/* Options from the query string or, for multipart uploads, the form fields. */
static const char *option(ar_request *req, const ar_transfer_upload *up, const char *name)
{
    const char *v = up ? ar_transfer_upload_field(up, name) : NULL;
    return v ? v : ar_req_query(req, name);
}

static int truthy(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0 || strcmp(v, "yes") == 0);
}

int ar_transfer_import_options(ar_request *req, const ar_transfer_upload *up, ar_import_options *o, json_t **mapping,
                               ar_error *err)
{
    memset(o, 0, sizeof *o);
    *mapping = NULL;
    const char *fmt = option(req, up, "format");
    if (fmt && *fmt) {
        if (strcmp(fmt, "json") == 0)
            o->format = AR_IMPORT_JSON;
        else if (strcmp(fmt, "csv") == 0)
            o->format = AR_IMPORT_CSV;
        else
            ar_error_field(err, "format", "Choose json or csv.");
    } else if (strcmp(req->mime, "application/json") == 0) {
        o->format = AR_IMPORT_JSON;
    } else if (strcmp(req->mime, "text/csv") == 0 || strcmp(req->mime, "application/csv") == 0) {
        o->format = AR_IMPORT_CSV;
    }
    const char *map = option(req, up, "mapping");
    if (map && *map) {
        ar_error e = {0};
        *mapping = ar_parse_json_body(map, strlen(map), 4, 1, &e);
        ar_error_clear(&e);
        if (!*mapping) ar_error_field(err, "mapping", "The mapping must be a JSON object of column name to field name.");
    }
    o->mapping = *mapping;
    o->dry_run = truthy(option(req, up, "dry_run"));
    if (err->fields) {
        json_decref(*mapping);
        *mapping = NULL;
        return ar_error_set(err, AR_ERR_VALIDATION, NULL), -1;
    }
    return 0;
}

json_t *ar_transfer_import_error_json(const ar_import_result *res, const ar_error *err)
{
    json_t *e = ar_error_to_json(err);
    json_t *inner = json_object_get(e, "error");
    json_object_set(inner, "rows", res->errors);
    json_object_set_new(inner, "error_count", json_integer(res->error_count));
    json_object_set(e, "unknown_columns", res->unknown_columns);
    return e;
}

static void api_import_done(ar_request *req, ar_transfer_upload *up, const ar_error *failure)
{
    if (failure) {
        ar_respond_error(req, failure);
        return;
    }
    ar_error err = {0};
    ar_import_options o;
    json_t *mapping = NULL;
    if (ar_transfer_import_options(req, up, &o, &mapping, &err) != 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    size_t len;
    const char *data = ar_transfer_upload_data(up, &len);
    ar_import_result res;
    if (ar_import_worklog(&req->ctx, data, len, &o, &res, &err) != 0) {
        if (json_array_size(res.errors) > 0)
            ar_respond_json(req, 422, ar_transfer_import_error_json(&res, &err));
        else
            ar_respond_error(req, &err);
    } else {
        ar_respond_json(req, o.dry_run || res.created == 0 ? 200 : 201, ar_import_result_json(&res, o.dry_run));
    }
    ar_import_result_free(&res);
    ar_error_clear(&err);
    json_decref(mapping);
}

void api_import_worklogs(ar_request *req)
{
    ar_error err = {0};
    if (!ar_worklog_can_write(&req->ctx)) {
        ar_error_set(&err, AR_ERR_FORBIDDEN, "Your role in this workspace cannot add entries.");
    } else if (strcmp(req->mime, "application/json") != 0 && strcmp(req->mime, "text/csv") != 0 &&
               strcmp(req->mime, "application/csv") != 0 && strcmp(req->mime, "multipart/form-data") != 0) {
        ar_error_set(&err, AR_ERR_UNSUPPORTED_MEDIA_TYPE,
                     "Send the file as application/json, text/csv or a multipart/form-data upload (field \"file\").");
    }
    if (err.code || ar_transfer_upload_begin(req, api_import_done, &err) != 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
    }
}

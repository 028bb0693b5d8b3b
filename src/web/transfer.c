/* transfer.c — the worklog import and export pages. Export is a GET form that downloads from the export API.
 * Import is one htmx form (multipart, CSRF header) in up to two steps: a JSON export is imported at once; a
 * CSV first shows its columns with the field each is mapped to (changeable) and sample rows, then imports with
 * that mapping. Answers: the result (created / skipped counts) or the list of wrong rows (422). */
#include "afterresume/api/transfer.h"
#include "afterresume/core/alloc.h"
#include "afterresume/domain/transfer.h"
#include "afterresume/domain/worklog.h"
#include "afterresume/http/response.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREVIEW_ROWS 5

static json_t *base_data(ar_request *req)
{
    char today[11];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    return json_pack("{s:{s:b},s:s,s:b,s:I,s:I}", "nav", "worklog", 1, "today", today, "can_import",
                     ar_worklog_can_write(&req->ctx), "max_rows", (json_int_t)AR_TRANSFER_IMPORT_MAX_ROWS, "max_mib",
                     (json_int_t)(AR_TRANSFER_IMPORT_MAX_BYTES >> 20));
}

void web_worklog_export(ar_request *req)
{
    web_page(req, 200, "pages/worklog_export", "Export worklog", base_data(req));
}

void web_worklog_import(ar_request *req)
{
    web_page(req, 200, "pages/worklog_import", "Import worklog", base_data(req));
}

static void import_page(ar_request *req, int status, json_t *data)
{
    json_t *base = base_data(req);
    json_object_update(base, data);
    json_decref(data);
    web_page(req, status, "pages/worklog_import", "Import worklog", base);
}

static void import_form_error(ar_request *req, const ar_error *err)
{
    int status = err->code == AR_ERR_UNAVAILABLE || err->code == AR_ERR_INTERNAL ? ar_err_http_status(err->code) : 422;
    import_page(req, status, json_pack("{s:o}", "errors", web_form_errors(err)));
}

/* The preview step: the columns with a select of fields each, sample rows, and the CSV carried along. */
static void preview_page(ar_request *req, const char *data, size_t len, const json_t *mapping, int dry_run)
{
    ar_error err = {0};
    json_t *p = ar_import_csv_preview(data, len, mapping, PREVIEW_ROWS, &err);
    if (!p) {
        import_form_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    /* The file goes back to the browser base64-encoded in a hidden field: exact bytes on the second post
     * (a textarea would turn every line break inside a cell into CRLF). */
    size_t b64_size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = ar_malloc(b64_size);
    sodium_bin2base64(b64, b64_size, (const unsigned char *)data, len, sodium_base64_VARIANT_ORIGINAL);
    json_t *text = json_string(b64);
    free(b64);
    json_t *fields = json_object_get(p, "fields");
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(p, "columns"), i, col) {
        const char *current = json_string_value(json_object_get(col, "field"));
        json_t *options = json_array();
        json_array_append_new(options, json_pack("{s:s,s:s,s:b}", "value", "", "label", "(ignore this column)",
                                                 "selected", current == NULL));
        size_t k;
        json_t *f;
        json_array_foreach(fields, k, f) {
            const char *name = json_string_value(f);
            json_array_append_new(options, json_pack("{s:s,s:s,s:b}", "value", name, "label", name, "selected",
                                                     current && strcmp(current, name) == 0));
        }
        json_object_set_new(col, "options", options);
        json_object_set_new(col, "unknown", json_boolean(current == NULL));
    }
    json_t *rows = json_array();
    json_array_foreach(json_object_get(p, "rows"), i, col) json_array_append_new(rows, json_pack("{s:O}", "cells", col));
    json_object_set_new(p, "has_rows", json_boolean(json_array_size(rows) > 0));
    json_object_set_new(p, "rows", rows);
    json_object_set_new(p, "csv_base64", text);
    json_object_set_new(p, "dry_run", json_boolean(dry_run));
    import_page(req, 200, json_pack("{s:o}", "preview", p));
}

/* The mapping chosen on the preview step: map_<index> fields → {"column name": "field" | ""}. */
static json_t *mapping_from_form(const ar_transfer_upload *up, const char *data, size_t len)
{
    if (!ar_transfer_upload_field(up, "map_0")) return NULL;
    ar_error err = {0};
    json_t *p = ar_import_csv_preview(data, len, NULL, 0, &err);
    ar_error_clear(&err);
    if (!p) return NULL;
    json_t *mapping = json_object();
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(p, "columns"), i, col) {
        char name[32];
        snprintf(name, sizeof name, "map_%zu", i);
        const char *field = ar_transfer_upload_field(up, name);
        if (field) json_object_set_new(mapping, json_string_value(json_object_get(col, "column")), json_string(field));
    }
    json_decref(p);
    return mapping;
}

static void import_done(ar_request *req, ar_transfer_upload *up, const ar_error *failure)
{
    if (failure) {
        import_form_error(req, failure);
        return;
    }
    ar_error err = {0};
    size_t len;
    const char *data = ar_transfer_upload_data(up, &len);
    if (len == 0) {
        ar_error_field(&err, "file", "Choose a file to import.");
        ar_error_set(&err, AR_ERR_VALIDATION, "Choose a JSON export or a CSV file to import.");
        import_form_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    ar_import_options o;
    json_t *mapping = NULL;
    if (ar_transfer_import_options(req, up, &o, &mapping, &err) != 0) {
        import_form_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    const char *action = ar_transfer_upload_field(up, "action");
    int confirmed = action && strcmp(action, "import") == 0;
    if (o.format == AR_IMPORT_DETECT) {
        const char *name = ar_transfer_upload_filename(up);
        size_t n = strlen(name);
        size_t i = 0;
        if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) i = 3;
        while (i < len && (data[i] == ' ' || data[i] == '\r' || data[i] == '\n' || data[i] == '\t')) i++;
        int json = (n > 5 && strcmp(name + n - 5, ".json") == 0) || (i < len && (data[i] == '{' || data[i] == '['));
        o.format = json ? AR_IMPORT_JSON : AR_IMPORT_CSV;
    }
    if (o.format == AR_IMPORT_CSV && !mapping) mapping = mapping_from_form(up, data, len);
    o.mapping = mapping;
    if (o.format == AR_IMPORT_CSV && !confirmed) {
        preview_page(req, data, len, mapping, o.dry_run);
        json_decref(mapping);
        return;
    }
    ar_import_result res;
    if (ar_import_worklog(&req->ctx, data, len, &o, &res, &err) != 0) {
        json_t *d = json_pack("{s:o}", "errors", web_form_errors(&err));
        if (json_array_size(res.errors)) {
            json_object_set(d, "row_errors", res.errors);
            json_object_set_new(d, "has_row_errors", json_true());
            json_object_set_new(d, "error_count", json_integer(res.error_count));
            json_object_set_new(d, "more_errors", json_boolean(res.error_count > (long long)json_array_size(res.errors)));
        }
        int status = err.code == AR_ERR_UNAVAILABLE || err.code == AR_ERR_INTERNAL ? ar_err_http_status(err.code)
                     : err.code == AR_ERR_FORBIDDEN                                 ? 403
                                                                                    : 422;
        import_page(req, status, d);
    } else {
        json_t *result = ar_import_result_json(&res, o.dry_run);
        json_object_set_new(result, "has_created_clients", json_boolean(json_array_size(res.created_clients)));
        json_object_set_new(result, "has_created_projects", json_boolean(json_array_size(res.created_projects)));
        json_object_set_new(result, "has_unknown_columns", json_boolean(json_array_size(res.unknown_columns)));
        import_page(req, 200, json_pack("{s:o}", "result", result));
    }
    ar_import_result_free(&res);
    ar_error_clear(&err);
    json_decref(mapping);
}

void web_worklog_import_submit(ar_request *req)
{
    ar_error err = {0};
    if (!ar_worklog_can_write(&req->ctx)) {
        ar_error_set(&err, AR_ERR_FORBIDDEN, "Your role in this workspace cannot add entries.");
        import_page(req, 403, json_pack("{s:o}", "errors", web_form_errors(&err)));
    } else if (strcmp(req->mime, "multipart/form-data") != 0) {
        ar_error_set(&err, AR_ERR_UNSUPPORTED_MEDIA_TYPE, "Upload the file with the form on this page.");
        import_form_error(req, &err);
    } else if (ar_transfer_upload_begin(req, import_done, &err) != 0) {
        import_form_error(req, &err);
    }
    ar_error_clear(&err);
}

/* transfer.h (api) — the import upload reader shared by the import API and the import page (src/api/transfer.c):
 * the request body (a JSON or CSV body, or a multipart upload whose "file", "csv_base64" (base64 of the file) or "csv_text" part is the file) is
 * spooled to an unlinked temporary file while it arrives, capped at AR_TRANSFER_IMPORT_MAX_BYTES; small multipart
 * text fields (mapping, format, dry_run, map_<n>, ...) are kept in memory. */
#ifndef AFTERRESUME_API_TRANSFER_H
#define AFTERRESUME_API_TRANSFER_H
#include <jansson.h>

#include "afterresume/domain/transfer.h"
#include "afterresume/http/request.h"

typedef struct ar_transfer_upload ar_transfer_upload;
/* Called once the body is in (failure NULL) or reading it failed; must build the response. */
typedef void (*ar_transfer_upload_done)(ar_request *req, ar_transfer_upload *up, const ar_error *failure);

/* From an AR_BODY_STREAM route's handler: start reading the body. 0, or -1 with err (nothing installed: the
 * caller answers with err). */
int ar_transfer_upload_begin(ar_request *req, ar_transfer_upload_done done, ar_error *err);
/* The file's bytes (valid until the response is built; "" with *len 0 when no file came). */
const char *ar_transfer_upload_data(const ar_transfer_upload *up, size_t *len);
/* A multipart text field, or NULL. */
const char *ar_transfer_upload_field(const ar_transfer_upload *up, const char *name);
/* The uploaded file's name ("" when none). */
const char *ar_transfer_upload_filename(const ar_transfer_upload *up);

/* Import options from the multipart fields or the query string (format, mapping, dry_run; the format also from
 * the Content-Type). *mapping (caller json_decref()s) backs o->mapping. 0, or -1 with err (field errors). */
int ar_transfer_import_options(ar_request *req, const ar_transfer_upload *up, ar_import_options *o, json_t **mapping,
                               ar_error *err);
/* The 422 body for row errors: {"error": {code, message, rows: [{row, field, message}], error_count},
 * "unknown_columns": [...]} (new reference). */
json_t *ar_transfer_import_error_json(const ar_import_result *res, const ar_error *err);

#endif

/* exports.c — JSON API for whole-account exports: POST /api/exports/ starts one (202 {"job_id"}), and
 * GET /api/exports/{job_id}/download streams the ZIP from object storage (only the job's workspace; the user who
 * started it or a workspace admin; 409 while not finished, 410 Gone after expiry). */
#include "afterresume/api/handlers.h"
#include "afterresume/domain/exports.h"
#include "afterresume/http/response.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#define DOWNLOAD_BLOCK (64 * 1024)

void api_exports_create(ar_request *req)
{
    ar_error err = {0};
    long long job_id = 0;
    int retry_after = 0;
    if (ar_export_start(&req->ctx, &job_id, &retry_after, &err) != 0) {
        ar_respond_error(req, &err);
        if (err.code == AR_ERR_QUOTA_EXCEEDED && retry_after > 0) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", retry_after);
            ar_response_header(req, "Retry-After", ra);
        }
        ar_error_clear(&err);
        return;
    }
    char status_url[64], page_url[64], download_url[80];
    snprintf(status_url, sizeof status_url, "/api/jobs/%lld/", job_id);
    snprintf(page_url, sizeof page_url, "/jobs/%lld", job_id);
    snprintf(download_url, sizeof download_url, "/api/exports/%lld/download", job_id);
    ar_respond_json(req, 202, json_pack("{s:I,s:s,s:s,s:s}", "job_id", (json_int_t)job_id, "status_url", status_url,
                                        "page_url", page_url, "download_url", download_url));
    ar_response_header(req, "Location", status_url);
}

static ssize_t read_block(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos; /* MHD reads sequentially from 0 */
    ar_error err = {0};
    ssize_t n = ar_storage_read(cls, buf, max, &err);
    ar_error_clear(&err);
    if (n < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    return n;
}

static void close_reader(void *cls)
{
    ar_storage_reader_close(cls);
}

void api_exports_download(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "job_id");
    ar_export_download d;
    int rc = id ? ar_export_open(&req->ctx, &req->app->cfg, id, &d, &err)
                : (ar_error_set(&err, AR_ERR_NOT_FOUND, "No such export."), -1);
    if (rc < 0) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    if (rc == 1) {
        ar_respond_json(req, 410, json_pack("{s:{s:s,s:s}}", "error", "code", "gone", "message",
                                            "This export has expired and was deleted; start a new one."));
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback((uint64_t)d.size, DOWNLOAD_BLOCK, read_block, d.reader, close_reader);
    if (!resp) {
        ar_storage_reader_close(d.reader);
        ar_respond_error_code(req, AR_ERR_INTERNAL, NULL);
        return;
    }
    ar_response_install(req, 200, resp, (size_t)d.size, "application/zip");
    char disposition[200];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", d.filename);
    MHD_add_response_header(resp, "Content-Disposition", disposition);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (d.sha256[0]) MHD_add_response_header(resp, "X-Content-SHA256", d.sha256);
}

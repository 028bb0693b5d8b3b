/* attachments.c — the entry page's evidence section: the partial's context (web_attachments_context) built from
 * the same service the JSON API uses, and the fragment route (GET /evidence/entries/{id}) htmx re-fetches after
 * an upload or a deletion. */
#include "afterresume/web/attachments.h"
#include "afterresume/api/handlers.h"
#include "afterresume/core/alloc.h"
#include "afterresume/domain/attachments.h"
#include "afterresume/http/response.h"
#include "afterresume/render/template.h"

#include <stdio.h>
#include <string.h>

static json_t *size_text(long long bytes)
{
    char buf[32];
    if (bytes < 1024)
        snprintf(buf, sizeof buf, "%lld B", bytes);
    else if (bytes < 1024 * 1024)
        snprintf(buf, sizeof buf, bytes % 1024 ? "%.1f KiB" : "%.0f KiB", (double)bytes / 1024.0);
    else if (bytes < 1024LL * 1024 * 1024)
        snprintf(buf, sizeof buf, bytes % (1024 * 1024) ? "%.1f MiB" : "%.0f MiB", (double)bytes / (1024.0 * 1024.0));
    else
        snprintf(buf, sizeof buf, "%.2f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
    return json_string(buf);
}

json_t *web_attachments_context(ar_request *req, long long entry_id)
{
    const ar_config *cfg = &req->app->cfg;
    char url[96];
    json_t *ctx = json_object();
    json_object_set_new(ctx, "entry_id", json_integer(entry_id));
    snprintf(url, sizeof url, "/api/worklogs/%lld/attachments/", entry_id);
    json_object_set_new(ctx, "upload_url", json_string(url));
    snprintf(url, sizeof url, "/evidence/entries/%lld", entry_id);
    json_object_set_new(ctx, "list_url", json_string(url));
    json_object_set_new(ctx, "can_upload", json_boolean(req->ctx.role >= AR_ROLE_MEMBER));
    json_t *limits = json_pack("{s:I,s:I,s:o,s:o,s:s}", "image_max_bytes", (json_int_t)cfg->upload_image_max,
                               "document_max_bytes", (json_int_t)cfg->upload_document_max, "image_max_text",
                               size_text((long long)cfg->upload_image_max), "document_max_text",
                               size_text((long long)cfg->upload_document_max), "accept",
                               cfg->upload_allow_zip
                                   ? ".pdf,.png,.jpg,.jpeg,.gif,.webp,.txt,.md,.csv,.docx,.xlsx,.zip"
                                   : ".pdf,.png,.jpg,.jpeg,.gif,.webp,.txt,.md,.csv,.docx,.xlsx");
    json_object_set_new(ctx, "limits", limits);

    ar_error err = {0};
    json_t *list = ar_attachments_list(&req->ctx, entry_id, (long long)cfg->storage_quota_bytes, &err);
    json_t *items = json_array();
    if (!list) {
        json_object_set_new(ctx, "error", json_string(err.code == AR_ERR_NOT_FOUND
                                                          ? "This entry does not exist or is not visible to you."
                                                          : "Attachments cannot be listed right now."));
        json_object_set_new(ctx, "can_upload", json_false());
        ar_error_clear(&err);
    } else {
        long long author = json_integer_value(json_object_get(list, "entry_author_id"));
        size_t i;
        json_t *att;
        json_array_foreach(json_object_get(list, "attachments"), i, att) {
            json_t *item = json_deep_copy(att);
            long long id = json_integer_value(json_object_get(att, "id"));
            long long uploader = json_integer_value(json_object_get(att, "uploaded_by"));
            json_object_set_new(item, "size_text", size_text(json_integer_value(json_object_get(att, "size_bytes"))));
            const char *sha = json_string_value(json_object_get(att, "sha256"));
            json_object_set_new(item, "sha256_short", json_stringn(sha ? sha : "", sha ? 12 : 0));
            snprintf(url, sizeof url, "/api/worklogs/%lld/attachments/%lld/", entry_id, id);
            json_object_set_new(item, "delete_url", json_string(url));
            int can_delete = req->ctx.role >= AR_ROLE_ADMIN ||
                             (req->ctx.role >= AR_ROLE_MEMBER && (uploader == req->ctx.user_id || author == req->ctx.user_id));
            json_object_set_new(item, "can_delete", json_boolean(can_delete));
            json_array_append_new(items, item);
        }
        json_t *usage = json_object_get(list, "usage");
        long long used = json_integer_value(json_object_get(usage, "used_bytes"));
        long long quota = json_integer_value(json_object_get(usage, "quota_bytes"));
        json_object_set_new(ctx, "usage",
                            json_pack("{s:o,s:o,s:I}", "used_text", size_text(used), "quota_text", size_text(quota),
                                      "percent", (json_int_t)(quota > 0 ? used * 100 / quota : 100)));
        json_decref(list);
    }
    json_object_set_new(ctx, "empty", json_boolean(json_array_size(items) == 0));
    json_object_set_new(ctx, "items", items);
    return ctx;
}

/* GET /evidence/entries/{id}: the partial alone (htmx swaps it in place). */
void web_attachments_fragment(ar_request *req)
{
    long long entry_id = ar_req_id_param(req, "id");
    ar_error err = {0};
    if (entry_id <= 0 || ar_attachments_entry_access(&req->ctx, entry_id, 0, &err) != 0) {
        if (!err.code) ar_error_set(&err, AR_ERR_NOT_FOUND, NULL);
        ar_respond_error(req, &err); /* another tenant's or a private entry: 404, no existence oracle */
        ar_error_clear(&err);
        return;
    }
    json_t *data = ar_page_context(req, "Attachments");
    json_object_set_new(data, "evidence", web_attachments_context(req, entry_id));
    ar_buf out = AR_BUF_INIT;
    int rc = ar_templates_render(req->app->templates, "partials/attachments", data, &out);
    json_decref(data);
    if (rc != 0) {
        ar_buf_free(&out);
        ar_respond_error_code(req, AR_ERR_INTERNAL, NULL);
        return;
    }
    ar_respond_text(req, 200, "text/html; charset=utf-8", ar_buf_cstr(&out), out.len);
    ar_buf_free(&out);
}

/* attachments.h — the evidence section of the entry detail page (templates/partials/attachments.mustache):
 * the context it renders from, and (in api/handlers.h) the fragment route htmx re-fetches after an upload. */
#ifndef AFTERRESUME_WEB_ATTACHMENTS_H
#define AFTERRESUME_WEB_ATTACHMENTS_H
#include <jansson.h>

#include "afterresume/http/request.h"

/* The partial's context for entry_id, to be set under the key "evidence" of the page data:
 *   json_object_set_new(data, "evidence", web_attachments_context(req, entry_id));
 * and rendered with {{> partials/attachments}}. Fields: entry_id, upload_url, list_url, can_upload, empty,
 * items [{id, filename, mime_type, kind, size_text, size_bytes, sha256, sha256_short, description, created_at,
 * uploaded_by_username, download_url, delete_url, can_delete}], usage {used_text, quota_text, percent},
 * limits {image_max_bytes, document_max_bytes, image_max_text, document_max_text, accept}, error (a message
 * when the list cannot be read). Never NULL (new reference). */
json_t *web_attachments_context(ar_request *req, long long entry_id);

#endif

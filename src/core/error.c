/* error.c — the error registry: code -> HTTP status, stable code string, default message. */
#include "afterresume/core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int status;
    const char *code;
    const char *message;
} registry[AR_ERR__COUNT] = {
    [AR_OK] = {200, "ok", "OK"},
    [AR_ERR_BAD_REQUEST] = {400, "bad_request", "The request could not be understood."},
    [AR_ERR_INVALID_JSON] = {400, "invalid_json", "The request body is not valid JSON."},
    [AR_ERR_VALIDATION] = {400, "validation_error", "Some fields are not valid."},
    [AR_ERR_UNAUTHORIZED] = {401, "unauthorized", "Sign in to continue."},
    [AR_ERR_INSUFFICIENT_BALANCE] = {402, "insufficient_balance", "The reserve balance is too low; top up to continue."},
    [AR_ERR_FORBIDDEN] = {403, "forbidden", "You are not allowed to do that."},
    [AR_ERR_CSRF] = {403, "csrf_failed", "The form expired or came from another site; reload the page and try again."},
    [AR_ERR_NOT_FOUND] = {404, "not_found", "Not found."},
    [AR_ERR_METHOD_NOT_ALLOWED] = {405, "method_not_allowed", "This method is not allowed here."},
    [AR_ERR_CONFLICT] = {409, "conflict", "The request conflicts with the current state."},
    [AR_ERR_PAYLOAD_TOO_LARGE] = {413, "payload_too_large", "The request body is too large."},
    [AR_ERR_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported_media_type", "This content type is not supported here."},
    [AR_ERR_RATE_LIMITED] = {429, "rate_limited", "Too many requests; try again later."},
    [AR_ERR_QUOTA_EXCEEDED] = {429, "quota_exceeded", "Quota exceeded; try again later."},
    [AR_ERR_INTERNAL] = {500, "internal_error", "Something went wrong on our side."},
    [AR_ERR_UNAVAILABLE] = {503, "service_unavailable", "The service is temporarily unavailable."},
};

static int valid(ar_err_code c)
{
    return (int)c >= 0 && c < AR_ERR__COUNT;
}

int ar_err_http_status(ar_err_code code)
{
    return valid(code) ? registry[code].status : 500;
}

const char *ar_err_code_string(ar_err_code code)
{
    return valid(code) ? registry[code].code : "internal_error";
}

const char *ar_err_default_message(ar_err_code code)
{
    return valid(code) ? registry[code].message : registry[AR_ERR_INTERNAL].message;
}

ar_err_code ar_error_set(ar_error *err, ar_err_code code, const char *fmt, ...)
{
    if (!err) return code;
    err->code = code;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(err->message, sizeof err->message, "%s", ar_err_default_message(code));
    }
    return code;
}

void ar_error_field(ar_error *err, const char *field, const char *message)
{
    if (!err) return;
    if (!err->fields) err->fields = json_object();
    json_object_set_new(err->fields, field, json_string(message));
}

void ar_error_clear(ar_error *err)
{
    if (!err) return;
    json_decref(err->fields);
    memset(err, 0, sizeof *err);
}

json_t *ar_error_to_json(const ar_error *err)
{
    json_t *inner = json_object();
    json_object_set_new(inner, "code", json_string(ar_err_code_string(err->code)));
    json_object_set_new(inner, "message",
                        json_string(err->message[0] ? err->message : ar_err_default_message(err->code)));
    if (err->fields) json_object_set(inner, "fields", err->fields);
    json_t *root = json_object();
    json_object_set_new(root, "error", inner);
    return root;
}

/* error.h — errors are values: one enum mapped to an HTTP status, a stable machine code and a message. */
#ifndef AFTERRESUME_CORE_ERROR_H
#define AFTERRESUME_CORE_ERROR_H
#include <jansson.h>

typedef enum ar_err_code {
    AR_OK = 0,
    AR_ERR_BAD_REQUEST,            /* 400 bad_request */
    AR_ERR_INVALID_JSON,           /* 400 invalid_json */
    AR_ERR_VALIDATION,             /* 400 validation_error (with fields) */
    AR_ERR_UNAUTHORIZED,           /* 401 unauthorized */
    AR_ERR_INSUFFICIENT_BALANCE,   /* 402 insufficient_balance */
    AR_ERR_FORBIDDEN,              /* 403 forbidden */
    AR_ERR_CSRF,                   /* 403 csrf_failed */
    AR_ERR_NOT_FOUND,              /* 404 not_found */
    AR_ERR_METHOD_NOT_ALLOWED,     /* 405 method_not_allowed */
    AR_ERR_CONFLICT,               /* 409 conflict */
    AR_ERR_PAYLOAD_TOO_LARGE,      /* 413 payload_too_large */
    AR_ERR_UNSUPPORTED_MEDIA_TYPE, /* 415 unsupported_media_type */
    AR_ERR_RATE_LIMITED,           /* 429 rate_limited */
    AR_ERR_QUOTA_EXCEEDED,         /* 429 quota_exceeded */
    AR_ERR_INTERNAL,               /* 500 internal_error */
    AR_ERR_UNAVAILABLE,            /* 503 service_unavailable */
    AR_ERR__COUNT
} ar_err_code;

/* An error value. `fields` (optional, owned) maps field name -> message for validation errors. */
typedef struct ar_error {
    ar_err_code code;
    char message[256];
    json_t *fields;
} ar_error;

int ar_err_http_status(ar_err_code code);
const char *ar_err_code_string(ar_err_code code);
const char *ar_err_default_message(ar_err_code code);

/* Set an error (message printf-style; NULL fmt = default message). Returns code for `return ar_error_set(...)`. */
ar_err_code ar_error_set(ar_error *err, ar_err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Add a field message (for AR_ERR_VALIDATION). */
void ar_error_field(ar_error *err, const char *field, const char *message);
void ar_error_clear(ar_error *err);
/* {"error":{"code":..,"message":..,"fields":{..}}} — new reference. */
json_t *ar_error_to_json(const ar_error *err);

#endif

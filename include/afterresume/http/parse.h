/* parse.h — request-body and header parsers: percent-decoding, query strings and urlencoded forms, cookies,
 * Content-Type (and other parameterised header values), JSON bodies. Pure functions over caller buffers;
 * no libmicrohttpd types. */
#ifndef AFTERRESUME_HTTP_PARSE_H
#define AFTERRESUME_HTTP_PARSE_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"

/* An ordered list of key/value pairs; repeated keys are kept in arrival order. */
typedef struct ar_kv {
    char *key;   /* NUL-terminated, heap */
    char *value; /* NUL-terminated, heap */
} ar_kv;
typedef struct ar_kvlist {
    ar_kv *items;
    size_t len, cap;
} ar_kvlist;

void ar_kvlist_init(ar_kvlist *l);
/* Copies key[0..klen) and val[0..vlen) (each gets a terminating NUL). */
void ar_kvlist_add(ar_kvlist *l, const char *key, size_t klen, const char *val, size_t vlen);
/* The first value stored under key (exact, case-sensitive match), or NULL. */
const char *ar_kvlist_get(const ar_kvlist *l, const char *key);
void ar_kvlist_free(ar_kvlist *l);

/* Percent-decode s[0..len) (and '+' -> ' ' when plus_is_space), appending to out (kept NUL-terminated).
   "%00" decodes to a NUL byte (out->len counts it); callers that store C strings must refuse it.
   Returns 0, or -1 on a bad escape ('%' not followed by two hex digits); out is then left as it was. */
int ar_percent_decode(const char *s, size_t len, int plus_is_space, ar_buf *out);

/* application/x-www-form-urlencoded body or a query string (without the '?'). Pairs are separated by '&',
   keys and values are percent-decoded with '+' as space and must be valid UTF-8 without NUL bytes.
   Empty keys are skipped; "a" without '=' gives value "". At most max_pairs pairs are accepted
   (max_pairs == 0 accepts none). Appends to out and returns 0, or returns -1 with out unchanged and
   err = AR_ERR_BAD_REQUEST with one of: "invalid percent-escape in field 'x'", "field 'x' is not valid UTF-8",
   "field 'x' contains a NUL byte", "too many fields" (x is the raw field name, sanitised and shortened). */
int ar_parse_urlencoded(const char *s, size_t len, size_t max_pairs, ar_kvlist *out, ar_error *err);

/* Cookie header "a=1; b=2" -> pairs appended to out. Names and values are trimmed of spaces and tabs, values
   are not percent-decoded, and one pair of surrounding double quotes is stripped from a value. Pieces without
   '=' or with an empty name are skipped. Returns the number of pairs added, or -1 if header is NULL. */
int ar_parse_cookies(const char *header, ar_kvlist *out);

/* Content-Type: the lower-cased media type "type/subtype" (no parameters) into mime.
   Returns 0, or -1 if the header is malformed (including malformed parameters) or mime_size is too small. */
int ar_content_type_mime(const char *header, char *mime, size_t mime_size);
/* Content-Type parameter (name matched case-insensitively; value is a token or a quoted-string, returned
   unquoted and with its case kept). Returns 0 when found, 1 when absent, -1 if the header is malformed,
   the parameter appears twice, or the value does not fit in val_size (including its NUL). */
int ar_content_type_param(const char *header, const char *param, char *val, size_t val_size);

/* General form of the two above for any parameterised header value (Content-Type, Content-Disposition):
   `primary *( OWS ";" OWS [ name OWS "=" OWS ( token / quoted-string ) ] )`.
   In quoted-strings a backslash escapes only '"' and '\'; any other backslash is kept literally (so old
   browsers' unescaped Windows paths survive). Parameter names are tokens, matched case-insensitively. */
/* Append the primary value (a token, '/' allowed), lower-cased, to out. 0, or -1 if malformed. */
int ar_header_primary(const char *value, size_t len, ar_buf *out);
/* Append the value of `param` to out. 0 found, 1 absent, -1 malformed or the parameter appears twice. */
int ar_header_param(const char *value, size_t len, const char *param, ar_buf *out);

/* Parse a JSON request body with jansson. Rejects: an empty body; nesting deeper than max_depth arrays/objects
   (checked by a linear pre-scan that honours strings and escapes, so deep input cannot exhaust the stack);
   invalid UTF-8; trailing garbage; NUL bytes (raw or "\u0000") inside strings; duplicate object keys; numbers
   jansson cannot represent (integers beyond 64 bits, reals that overflow a double such as 1e400).
   Returns a new reference, or NULL with err = AR_ERR_INVALID_JSON and a message such as
   "invalid JSON at line 1, column 7: <jansson's error text>". If require_object and the root is not an object:
   NULL with AR_ERR_BAD_REQUEST "the JSON body must be an object". */
json_t *ar_parse_json_body(const char *data, size_t len, size_t max_depth, int require_object, ar_error *err);

#endif

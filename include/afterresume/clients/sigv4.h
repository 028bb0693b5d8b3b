/* sigv4.h — AWS Signature Version 4 as pure functions (no I/O, no curl): canonical request, string to sign,
 * signing key, Authorization header and presigned GET URLs. Two modes:
 *   AR_SIGV4_S3      — Amazon S3 rules: the path is the raw (unencoded) object path, each segment is
 *                      URI-encoded once (RFC 3986 unreserved kept, '/' kept) and never normalised.
 *   AR_SIGV4_GENERIC — other AWS services: the path is the path as sent on the wire; it is normalised
 *                      (empty, "." and ".." segments removed) and then URI-encoded again (AWS "double
 *                      encoding": a '%' already in the path becomes %25).
 * Functions return 0 on success and -1 on invalid input (missing field, malformed date, bad header name). */
#ifndef AFTERRESUME_CLIENTS_SIGV4_H
#define AFTERRESUME_CLIENTS_SIGV4_H
#include "afterresume/core/buf.h"

#include <stddef.h>
#include <time.h>

enum { AR_SIGV4_GENERIC = 0, AR_SIGV4_S3 = 1 };

#define AR_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of the empty string, the payload hash of body-less requests. */
#define AR_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct ar_sigv4_header {
    const char *name;  /* any case; repeated names are joined with ',' in the order given */
    const char *value; /* trimmed, inner runs of white space collapsed to one space when signing */
} ar_sigv4_header;

typedef struct ar_sigv4_request {
    const char *method;             /* "GET", "PUT", ... */
    const char *path;               /* see the modes above; NULL or "" means "/" */
    const char *query;              /* query string without '?', may be NULL; %XX sequences are decoded
                                       before canonical re-encoding, '+' is a literal plus */
    const ar_sigv4_header *headers; /* every header given is signed; include Host */
    size_t nheaders;
    const char *payload_sha256_hex; /* lower-case hex SHA-256 of the body, or AR_SIGV4_UNSIGNED_PAYLOAD */
} ar_sigv4_request;

typedef struct ar_sigv4_credentials {
    const char *access_key;
    const char *secret_key;
    const char *region;        /* e.g. "us-east-1" */
    const char *service;       /* e.g. "s3" */
    const char *session_token; /* NULL unless temporary credentials; then x-amz-security-token is signed
                                  (the caller must also send that header / it is added to presigned URLs) */
} ar_sigv4_credentials;

/* Canonical URI of a path (see the modes above). */
int ar_sigv4_canonical_uri(const char *path, int mode, ar_buf *out);
/* Canonical query string: keys and values percent-encoded, sorted by key then value, "key=" when empty. */
int ar_sigv4_canonical_query(const char *query, ar_buf *out);
/* The canonical request (six lines, no trailing newline) and, if signed_headers is not NULL, the signed
 * headers list ("host;x-amz-date"). Both buffers are appended to. */
int ar_sigv4_canonical_request(const ar_sigv4_request *r, int mode, ar_buf *out, ar_buf *signed_headers);

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date8), region), service), "aws4_request"). */
int ar_sigv4_signing_key(const char *secret_key, const char *date8, const char *region, const char *service,
                         unsigned char key[32]);
/* Lower-case hex HMAC-SHA256(key, string_to_sign). */
void ar_sigv4_signature_hex(const unsigned char key[32], const char *string_to_sign, char out[65]);

/* Sign a request at amz_date ("YYYYMMDDTHHMMSSZ"; the request should carry the same x-amz-date header).
 * authorization_out receives the full Authorization header value. canonical_out and string_to_sign_out are
 * optional (NULL) and receive the intermediate texts. */
int ar_sigv4_sign(const ar_sigv4_request *r, const ar_sigv4_credentials *c, const char *amz_date, int mode,
                  ar_buf *authorization_out, ar_buf *canonical_out, ar_buf *string_to_sign_out);

/* Presigned GET URL (S3 mode, UNSIGNED-PAYLOAD, only host signed):
 *   endpoint + canonical path + "?X-Amz-Algorithm=...&X-Amz-Credential=...&X-Amz-Date=...&X-Amz-Expires=...
 *   &X-Amz-SignedHeaders=host&X-Amz-Signature=..."
 * endpoint is "scheme://host[:port]" without a trailing slash; host is the Host header value the client will
 * send (NULL: derived from endpoint with ar_sigv4_host_from_endpoint). path is raw (unencoded), e.g.
 * "/bucket/my key.pdf". expires_s must be 1..604800 (7 days). The URL is appended to url_out. */
int ar_sigv4_presign_url(const char *endpoint, const char *host, const char *path, const ar_sigv4_credentials *c,
                         const char *amz_date, long expires_s, ar_buf *url_out);

/* Host header value for "scheme://host[:port][/...]": the authority, without userinfo and without the
 * scheme's default port (80 for http, 443 for https), as curl sends it. */
int ar_sigv4_host_from_endpoint(const char *endpoint, ar_buf *out);

/* Lower-case hex SHA-256 of a buffer. */
void ar_sigv4_sha256_hex(const void *data, size_t len, char out[65]);
/* "YYYYMMDDTHHMMSSZ" (UTC) for t. */
void ar_sigv4_amz_date(time_t t, char out[17]);

#endif

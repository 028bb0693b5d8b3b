/* s3.h — S3-compatible object storage client (AWS S3, MinIO) over libcurl with our own SigV4 signing.
 * Path-style addressing: endpoint/bucket/key, each key segment URI-encoded ('/' kept, no normalisation).
 * Every request carries x-amz-date, x-amz-content-sha256 (the body's SHA-256) and Authorization.
 * Errors: 404 -> AR_ERR_NOT_FOUND; any other failure (transport, timeout, HTTP >= 300) -> AR_ERR_UNAVAILABLE
 * with the HTTP status and the S3 error code from the XML body in the message; bad arguments and local file
 * problems -> AR_ERR_BAD_REQUEST / AR_ERR_INTERNAL.
 * An ar_s3 is immutable after ar_s3_new/ar_s3_set_timeout and may be shared by threads (each request uses
 * its own curl handle). */
#ifndef AFTERRESUME_CLIENTS_S3_H
#define AFTERRESUME_CLIENTS_S3_H
#include "afterresume/core/error.h"

#include <stddef.h>

typedef struct ar_s3 ar_s3;

/* endpoint: "http(s)://host[:port]" (a trailing '/' is ignored). region e.g. "us-east-1". Returns NULL
 * with err set (AR_ERR_BAD_REQUEST) when an argument is missing or the endpoint is not a URL. */
ar_s3 *ar_s3_new(const char *endpoint, const char *region, const char *bucket, const char *access_key,
                 const char *secret_key, ar_error *err);
void ar_s3_free(ar_s3 *s3);
/* Total time limit of one request in seconds (default 300; 0 = none). The connect timeout is always 5 s. */
void ar_s3_set_timeout(ar_s3 *s3, long total_seconds);

/* Upload a file: a first pass computes its SHA-256, the second streams it (never held in memory).
 * content_type may be NULL (application/octet-stream). */
int ar_s3_put_file(ar_s3 *s3, const char *key, const char *path, const char *content_type, ar_error *err);
/* Upload a buffer. */
int ar_s3_put_buffer(ar_s3 *s3, const char *key, const void *data, size_t len, const char *content_type,
                     ar_error *err);
/* Download an object, writing it to fd (from fd's current position). On failure some bytes may have been
 * written already. */
int ar_s3_get_to_fd(ar_s3 *s3, const char *key, int fd, ar_error *err);
/* Delete an object (S3 answers success for a missing key too). */
int ar_s3_delete(ar_s3 *s3, const char *key, ar_error *err);
/* Object size in bytes (size may be NULL). */
int ar_s3_head(ar_s3 *s3, const char *key, long long *size, ar_error *err);
/* Create the bucket (LocationConstraint sent outside us-east-1). When it exists already (409) and a HEAD on it
 * with our credentials succeeds, that is success too (idempotent bootstrapping). */
int ar_s3_create_bucket(ar_s3 *s3, ar_error *err);
/* HEAD on the bucket: reachable, bucket exists and our credentials are accepted (readiness checks). */
int ar_s3_check_bucket(ar_s3 *s3, ar_error *err);
/* Presigned GET URL valid for expires_s seconds (1..604800) from now; heap string, NULL on bad arguments. */
char *ar_s3_presign_get(ar_s3 *s3, const char *key, int expires_s);

#endif

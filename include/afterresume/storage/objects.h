/* objects.h — object storage behind one small interface: a local directory (embedded default, ./var/objects) or
 * an S3-compatible bucket (MinIO, AWS) through our libcurl + SigV4 client. Evidence files and account exports
 * live here; the database only keeps the key.
 *
 * Keys: 1..512 bytes of [A-Za-z0-9._-] segments separated by '/', no empty, "." or ".." segment, never a
 * leading '/'. Make them with ar_storage_new_key() (tenant id + random id, never a user's filename).
 *
 * Writing is streamed and atomic: ar_storage_put_begin() opens a writer, ar_storage_put_write() appends chunks
 * (the SHA-256 and size are computed on the way), ar_storage_put_commit() makes the object visible under its
 * key in one step, ar_storage_put_abort() leaves nothing behind. Readers never see a half-written object.
 *   local: chunks go to a temp file in <dir>/.tmp/, commit = fsync + rename(2) into <dir>/<key> + fsync of
 *          the directory; abort = unlink.
 *   s3:    chunks are spooled to an unlinked temp file (under $TMPDIR, bounded by the caller's size limit, never
 *          in memory); commit = one PUT streamed from that file with x-amz-content-sha256 = the payload hash.
 *          Why not multipart upload: parts must be >= 5 MiB and an interrupted multipart upload leaves invisible
 *          parts billed in the bucket until aborted; one signed PUT is atomic, and our objects are ≤ 50 MiB.
 * Reading is streamed too: ar_storage_get() returns a reader (local: the file itself; s3: the object is first
 * downloaded to an unlinked temp file, so the caller's read loop never depends on the network).
 *
 * Thread safety: one ar_storage may be used by many threads at once; a writer or reader belongs to one thread.
 * Errors: AR_ERR_NOT_FOUND (no such object), AR_ERR_UNAVAILABLE (disk/network/S3 failure), AR_ERR_BAD_REQUEST
 * (bad key). Messages never contain credentials. */
#ifndef AFTERRESUME_STORAGE_OBJECTS_H
#define AFTERRESUME_STORAGE_OBJECTS_H
#include <stddef.h>
#include <sys/types.h>

#include "afterresume/core/config.h"
#include "afterresume/core/error.h"

typedef struct ar_storage ar_storage;
typedef struct ar_storage_writer ar_storage_writer;
typedef struct ar_storage_reader ar_storage_reader;

/* What a committed object is: its size and SHA-256 (64 lower-case hex characters). */
typedef struct ar_storage_object {
    long long size;
    char sha256[65];
} ar_storage_object;

/* The backend named by the configuration: AR_STORAGE (alias AR_STORAGE_BACKEND) = local (AR_STORAGE_DIR) or
 * s3 (S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY). NULL + err on a bad configuration. */
ar_storage *ar_storage_open(const ar_config *cfg, ar_error *err);
/* The process-wide instance for cfg, created on first use (thread-safe) and kept until exit; handlers and jobs
 * use this one. NULL + err when the configuration is bad (tried again on the next call). */
ar_storage *ar_storage_shared(const ar_config *cfg, ar_error *err);
/* Explicit backends (tests, tools). The local directory is created (mode 0700) when missing. */
ar_storage *ar_storage_local_new(const char *dir, ar_error *err);
ar_storage *ar_storage_s3_new(const char *endpoint, const char *region, const char *bucket, const char *access_key,
                              const char *secret_key, ar_error *err);
void ar_storage_free(ar_storage *st);
/* "local" or "s3" (stored beside each key so that objects stay readable after a backend switch is planned). */
const char *ar_storage_backend_name(const ar_storage *st);
/* Readiness: the directory is writable / the bucket answers with our credentials. */
int ar_storage_check(ar_storage *st, ar_error *err);

/* "t/<tenant_id>/<kind>/<32 random hex>", e.g. kind "att" for attachments, "exp" for exports (heap string).
 * kind: 1..16 characters of [a-z0-9_-]. */
char *ar_storage_new_key(long long tenant_id, const char *kind);
/* 1 when key follows the key rules above. */
int ar_storage_key_valid(const char *key);

/* Streaming put. begin: NULL + err on a bad key or when the temp file cannot be made. write: 0 or -1 + err
 * (the writer stays open: the caller still commits or aborts it). commit and abort free the writer whatever
 * happens; after a failed commit nothing is left under the key. content_type may be NULL. */
ar_storage_writer *ar_storage_put_begin(ar_storage *st, const char *key, const char *content_type, ar_error *err);
int ar_storage_put_write(ar_storage_writer *w, const void *data, size_t len, ar_error *err);
/* Bytes written so far. */
long long ar_storage_put_size(const ar_storage_writer *w);
int ar_storage_put_commit(ar_storage_writer *w, ar_storage_object *out, ar_error *err);
void ar_storage_put_abort(ar_storage_writer *w);

/* Streaming get. NULL + err (AR_ERR_NOT_FOUND when the key does not exist). */
ar_storage_reader *ar_storage_get(ar_storage *st, const char *key, ar_error *err);
/* Total size of the object being read. */
long long ar_storage_reader_size(const ar_storage_reader *r);
/* Up to cap bytes into buf: the count, 0 at the end, -1 + err on failure. */
ssize_t ar_storage_read(ar_storage_reader *r, void *buf, size_t cap, ar_error *err);
void ar_storage_reader_close(ar_storage_reader *r);

/* Remove an object; a missing object is success (idempotent). */
int ar_storage_delete(ar_storage *st, const char *key, ar_error *err);
/* Size of an object (size may be NULL); AR_ERR_NOT_FOUND when missing. */
int ar_storage_stat(ar_storage *st, const char *key, long long *size, ar_error *err);

#endif

/* s3.c — the S3-compatible object-storage backend (MinIO, AWS) over clients/s3.c (libcurl + our SigV4).
 * Writes are spooled to an unlinked temp file under $TMPDIR while the caller streams them in; commit sends one
 * PUT streamed from that file with x-amz-content-sha256 set to the payload's hash (ar_s3_put_file re-reads the
 * local spool to hash it before sending: cheap next to the network, and it keeps the S3 client's contract).
 * One signed PUT instead of a multipart upload: objects here are ≤ 50 MiB, a PUT is atomic (no invisible parts
 * left behind by an interrupted upload), and s3rver/MinIO/AWS all accept it. Reads download the object into an
 * unlinked temp file first, so a slow client never holds an S3 connection open. */
#include "afterresume/clients/s3.h"
#include "afterresume/core/alloc.h"
#include "afterresume/storage/objects.h"
#include "backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ar_s3 *client(ar_storage *st)
{
    return st->impl;
}

static int s3_check(ar_storage *st, ar_error *err)
{
    return ar_s3_check_bucket(client(st), err) == 0 ? 0 : -1;
}

static int s3_tmp_open(ar_storage *st, char *path, size_t path_size, ar_error *err)
{
    (void)st;
    if (path_size) path[0] = '\0';
    return ar_storage_anonymous_tmp(err);
}

static int s3_publish(ar_storage *st, const char *key, const char *tmp_path, int fd, const char *content_type,
                      ar_error *err)
{
    (void)tmp_path;
    char proc_path[64];
    snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", fd); /* the spool has no name of its own */
    return ar_s3_put_file(client(st), key, proc_path, content_type, err) == 0 ? 0 : -1;
}

static int s3_open_read(ar_storage *st, const char *key, long long *size, ar_error *err)
{
    int fd = ar_storage_anonymous_tmp(err);
    if (fd < 0) return -1;
    if (ar_s3_get_to_fd(client(st), key, fd, err) != 0) {
        close(fd);
        if (err && err->code == AR_ERR_NOT_FOUND) ar_error_set(err, AR_ERR_NOT_FOUND, "object not found");
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: temp file: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *size = (long long)sb.st_size;
    return fd;
}

static int s3_remove(ar_storage *st, const char *key, ar_error *err)
{
    return ar_s3_delete(client(st), key, err) == 0 ? 0 : -1;
}

static int s3_stat(ar_storage *st, const char *key, long long *size, ar_error *err)
{
    if (ar_s3_head(client(st), key, size, err) != 0) {
        if (err && err->code == AR_ERR_NOT_FOUND) ar_error_set(err, AR_ERR_NOT_FOUND, "object not found");
        return -1;
    }
    return 0;
}

static void s3_destroy(ar_storage *st)
{
    ar_s3_free(client(st));
    free(st);
}

static const ar_storage_ops s3_ops = {
    .name = "s3",
    .check = s3_check,
    .tmp_open = s3_tmp_open,
    .publish = s3_publish,
    .open_read = s3_open_read,
    .remove = s3_remove,
    .stat = s3_stat,
    .destroy = s3_destroy,
};

ar_storage *ar_storage_s3_new_impl(const char *endpoint, const char *region, const char *bucket,
                                   const char *access_key, const char *secret_key, ar_error *err);
ar_storage *ar_storage_s3_new_impl(const char *endpoint, const char *region, const char *bucket,
                                   const char *access_key, const char *secret_key, ar_error *err)
{
    ar_s3 *s3 = ar_s3_new(endpoint, region, bucket, access_key, secret_key, err);
    if (!s3) {
        if (err) err->code = AR_ERR_UNAVAILABLE;
        return NULL;
    }
    ar_storage *st = ar_calloc(1, sizeof *st);
    st->ops = &s3_ops;
    st->impl = s3;
    return st;
}

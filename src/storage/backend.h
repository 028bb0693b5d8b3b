/* backend.h — private to src/storage/: the table of operations each object-storage backend (local.c, s3.c)
 * provides; objects.c implements the public interface (include/afterresume/storage/objects.h) on top of it:
 * spooling writes into a backend temp file while hashing, then asking the backend to publish that file. */
#ifndef AFTERRESUME_STORAGE_BACKEND_H
#define AFTERRESUME_STORAGE_BACKEND_H
#include "afterresume/storage/objects.h"

typedef struct ar_storage_ops {
    const char *name;
    int (*check)(ar_storage *st, ar_error *err);
    /* A temp file for a new object: returns its fd (O_RDWR) and fills path ("" when the file has no name, e.g.
     * O_TMPFILE / already unlinked). -1 + err on failure. */
    int (*tmp_open)(ar_storage *st, char *path, size_t path_size, ar_error *err);
    /* Make the finished temp file the object under key (fsynced by the caller). On success the backend owns the
     * temp file's name (renamed away or to be unlinked by the caller: see tmp_discard); -1 + err otherwise. */
    int (*publish)(ar_storage *st, const char *key, const char *tmp_path, int fd, const char *content_type,
                   ar_error *err);
    /* An fd positioned at offset 0 with the object's bytes, and its size. */
    int (*open_read)(ar_storage *st, const char *key, long long *size, ar_error *err);
    int (*remove)(ar_storage *st, const char *key, ar_error *err);
    int (*stat)(ar_storage *st, const char *key, long long *size, ar_error *err);
    void (*destroy)(ar_storage *st);
} ar_storage_ops;

struct ar_storage {
    const ar_storage_ops *ops;
    void *impl;
};

/* A temp file outside any backend directory (TMPDIR or /tmp), unlinked at once (O_TMPFILE when possible). */
int ar_storage_anonymous_tmp(ar_error *err);

#endif

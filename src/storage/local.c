/* local.c — the local-directory object-storage backend (embedded default, ./var/objects): an object is the file
 * <dir>/<key>; new objects are written to <dir>/.tmp/ (same file system), fsynced, then renamed into place and
 * the parent directory fsynced, so a crash leaves either the whole object or nothing under its key. */
#include "afterresume/core/alloc.h"
#include "afterresume/storage/objects.h"
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct local_impl {
    char *dir;
} local_impl;

static const char *local_dir(ar_storage *st)
{
    return ((local_impl *)st->impl)->dir;
}

/* mkdir -p for the directories of path (not the last component). */
static int make_parents(char *path, ar_error *err)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        int e = errno;
        *p = '/';
        if (rc != 0 && e != EEXIST)
            return ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: cannot create a directory: %s",
                                strerror(e)),
                   -1;
    }
    return 0;
}

static int object_path(ar_storage *st, const char *key, char *out, size_t out_size, ar_error *err)
{
    int n = snprintf(out, out_size, "%s/%s", local_dir(st), key);
    if (n < 0 || (size_t)n >= out_size)
        return ar_error_set(err, AR_ERR_BAD_REQUEST, "object storage: path too long"), -1;
    return 0;
}

static int local_check(ar_storage *st, ar_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.tmp", local_dir(st));
    if (access(path, W_OK | X_OK) != 0)
        return ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage directory %s is not writable: %s", local_dir(st),
                            strerror(errno)),
               -1;
    return 0;
}

static int local_tmp_open(ar_storage *st, char *path, size_t path_size, ar_error *err)
{
    int n = snprintf(path, path_size, "%s/.tmp/upload-XXXXXX", local_dir(st));
    if (n < 0 || (size_t)n >= path_size) return ar_error_set(err, AR_ERR_INTERNAL, "temp path too long"), -1;
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        path[0] = '\0';
        ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: cannot create a temp file: %s", strerror(errno));
        return -1;
    }
    return fd;
}

static void fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return;
    *slash = '\0';
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

static int local_publish(ar_storage *st, const char *key, const char *tmp_path, int fd, const char *content_type,
                         ar_error *err)
{
    (void)fd;
    (void)content_type;
    char path[PATH_MAX];
    if (object_path(st, key, path, sizeof path, err) != 0) return -1;
    if (make_parents(path, err) != 0) return -1;
    if (rename(tmp_path, path) != 0)
        return ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: cannot move the object into place: %s",
                            strerror(errno)),
               -1;
    fsync_parent(path);
    return 0;
}

static int local_open_read(ar_storage *st, const char *key, long long *size, ar_error *err)
{
    char path[PATH_MAX];
    if (object_path(st, key, path, sizeof path, err) != 0) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return ar_error_set(err, AR_ERR_NOT_FOUND, "object not found"), -1;
        return ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: cannot open the object: %s", strerror(errno)),
               -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ar_error_set(err, AR_ERR_NOT_FOUND, "object not found"), -1;
    }
    *size = (long long)sb.st_size;
    return fd;
}

static int local_remove(ar_storage *st, const char *key, ar_error *err)
{
    char path[PATH_MAX];
    if (object_path(st, key, path, sizeof path, err) != 0) return -1;
    if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR)
        return ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: cannot delete the object: %s", strerror(errno)),
               -1;
    fsync_parent(path);
    return 0;
}

static int local_stat(ar_storage *st, const char *key, long long *size, ar_error *err)
{
    char path[PATH_MAX];
    if (object_path(st, key, path, sizeof path, err) != 0) return -1;
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return ar_error_set(err, AR_ERR_NOT_FOUND, "object not found"), -1;
        return ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: %s", strerror(errno)), -1;
    }
    if (!S_ISREG(sb.st_mode)) return ar_error_set(err, AR_ERR_NOT_FOUND, "object not found"), -1;
    *size = (long long)sb.st_size;
    return 0;
}

static void local_destroy(ar_storage *st)
{
    local_impl *impl = st->impl;
    free(impl->dir);
    free(impl);
    free(st);
}

static const ar_storage_ops local_ops = {
    .name = "local",
    .check = local_check,
    .tmp_open = local_tmp_open,
    .publish = local_publish,
    .open_read = local_open_read,
    .remove = local_remove,
    .stat = local_stat,
    .destroy = local_destroy,
};

ar_storage *ar_storage_local_new_impl(const char *dir, ar_error *err);
ar_storage *ar_storage_local_new_impl(const char *dir, ar_error *err)
{
    if (!dir || !*dir || strlen(dir) > PATH_MAX - 700) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "AR_STORAGE_DIR is empty or too long");
        return NULL;
    }
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.tmp/x", dir);
    if (make_parents(tmp, err) != 0) return NULL;
    local_impl *impl = ar_calloc(1, sizeof *impl);
    impl->dir = ar_strdup(dir);
    size_t n = strlen(impl->dir);
    while (n > 1 && impl->dir[n - 1] == '/') impl->dir[--n] = '\0';
    ar_storage *st = ar_calloc(1, sizeof *st);
    st->ops = &local_ops;
    st->impl = impl;
    return st;
}

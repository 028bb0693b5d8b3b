/* objects.c — the object-storage interface (storage/objects.h) on top of the backend table (backend.h): key rules
 * and generation, backend choice from the configuration, the process-wide instance, streaming writers that hash
 * while spooling to a backend temp file and publish it on commit, and readers over a file descriptor. */
#include "afterresume/storage/objects.h"
#include "afterresume/core/alloc.h"
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAX_BYTES 512

struct ar_storage_writer {
    ar_storage *st;
    char *key;
    char *content_type;
    int fd;
    char tmp_path[4096];
    crypto_hash_sha256_state hash;
    long long size;
};

struct ar_storage_reader {
    int fd;
    long long size;
    long long done;
};

ar_storage *ar_storage_local_new_impl(const char *dir, ar_error *err);
ar_storage *ar_storage_s3_new_impl(const char *endpoint, const char *region, const char *bucket,
                                   const char *access_key, const char *secret_key, ar_error *err);

int ar_storage_key_valid(const char *key)
{
    if (!key) return 0;
    size_t n = strlen(key);
    if (n == 0 || n > KEY_MAX_BYTES) return 0;
    const char *seg = key;
    for (size_t i = 0; i <= n; i++) {
        char c = key[i];
        if (c == '/' || c == '\0') {
            size_t len = (size_t)(key + i - seg);
            if (len == 0 || seg[0] == '.') return 0; /* empty, ".", ".." and hidden names (".tmp") */
            seg = key + i + 1;
            continue;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '_' || c == '-';
        if (!ok) return 0;
    }
    return 1;
}

char *ar_storage_new_key(long long tenant_id, const char *kind)
{
    size_t kl = kind ? strlen(kind) : 0;
    int ok = kl >= 1 && kl <= 16;
    for (size_t i = 0; ok && i < kl; i++)
        ok = (kind[i] >= 'a' && kind[i] <= 'z') || (kind[i] >= '0' && kind[i] <= '9') || kind[i] == '_' ||
             kind[i] == '-';
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    return ar_asprintf("t/%lld/%s/%s", tenant_id > 0 ? tenant_id : 0, ok ? kind : "obj", hex);
}

ar_storage *ar_storage_local_new(const char *dir, ar_error *err)
{
    return ar_storage_local_new_impl(dir, err);
}

ar_storage *ar_storage_s3_new(const char *endpoint, const char *region, const char *bucket, const char *access_key,
                              const char *secret_key, ar_error *err)
{
    return ar_storage_s3_new_impl(endpoint, region, bucket, access_key, secret_key, err);
}

ar_storage *ar_storage_open(const ar_config *cfg, ar_error *err)
{
    const char *backend = cfg->storage ? cfg->storage : "local";
    if (strcmp(backend, "local") == 0)
        return ar_storage_local_new(cfg->storage_dir ? cfg->storage_dir : "./var/objects", err);
    if (strcmp(backend, "s3") == 0)
        return ar_storage_s3_new(cfg->s3_endpoint, cfg->s3_region ? cfg->s3_region : "us-east-1", cfg->s3_bucket,
                                 cfg->s3_access_key, cfg->s3_secret_key, err);
    ar_error_set(err, AR_ERR_UNAVAILABLE, "AR_STORAGE must be local or s3");
    return NULL;
}

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static ar_storage *shared_storage;
static const ar_config *shared_cfg;

ar_storage *ar_storage_shared(const ar_config *cfg, ar_error *err)
{
    pthread_mutex_lock(&shared_lock);
    if (shared_storage && shared_cfg != cfg) { /* tests may load another configuration */
        ar_storage_free(shared_storage);
        shared_storage = NULL;
    }
    if (!shared_storage) {
        shared_storage = ar_storage_open(cfg, err);
        shared_cfg = shared_storage ? cfg : NULL;
    }
    ar_storage *st = shared_storage;
    pthread_mutex_unlock(&shared_lock);
    return st;
}

void ar_storage_free(ar_storage *st)
{
    if (st) st->ops->destroy(st);
}

const char *ar_storage_backend_name(const ar_storage *st)
{
    return st->ops->name;
}

int ar_storage_check(ar_storage *st, ar_error *err)
{
    return st->ops->check(st, err);
}

static int bad_key(const char *key, ar_error *err)
{
    (void)key;
    return ar_error_set(err, AR_ERR_BAD_REQUEST, "object key is not valid"), -1;
}

int ar_storage_anonymous_tmp(ar_error *err)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    char path[4096];
    snprintf(path, sizeof path, "%s/ar-spool-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "cannot create a temporary file in %s: %s", dir, strerror(errno));
        return -1;
    }
    unlink(path);
    return fd;
}

ar_storage_writer *ar_storage_put_begin(ar_storage *st, const char *key, const char *content_type, ar_error *err)
{
    if (!st || !ar_storage_key_valid(key)) {
        bad_key(key, err);
        return NULL;
    }
    ar_storage_writer *w = ar_calloc(1, sizeof *w);
    w->fd = st->ops->tmp_open(st, w->tmp_path, sizeof w->tmp_path, err);
    if (w->fd < 0) {
        free(w);
        return NULL;
    }
    w->st = st;
    w->key = ar_strdup(key);
    w->content_type = content_type ? ar_strdup(content_type) : NULL;
    crypto_hash_sha256_init(&w->hash);
    return w;
}

int ar_storage_put_write(ar_storage_writer *w, const void *data, size_t len, ar_error *err)
{
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(w->fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            return ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: writing failed: %s", strerror(errno)), -1;
        p += n;
        left -= (size_t)n;
    }
    crypto_hash_sha256_update(&w->hash, data, len);
    w->size += (long long)len;
    return 0;
}

long long ar_storage_put_size(const ar_storage_writer *w)
{
    return w->size;
}

static void writer_free(ar_storage_writer *w)
{
    if (w->fd >= 0) close(w->fd);
    if (w->tmp_path[0]) unlink(w->tmp_path); /* after a successful local publish the name is gone already */
    free(w->key);
    free(w->content_type);
    free(w);
}

int ar_storage_put_commit(ar_storage_writer *w, ar_storage_object *out, ar_error *err)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&w->hash, digest);
    int rc = 0;
    if (fsync(w->fd) != 0) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: fsync failed: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0 && w->st->ops->publish(w->st, w->key, w->tmp_path, w->fd, w->content_type, err) != 0) rc = -1;
    if (rc == 0 && out) {
        out->size = w->size;
        sodium_bin2hex(out->sha256, sizeof out->sha256, digest, sizeof digest);
    }
    writer_free(w);
    return rc;
}

void ar_storage_put_abort(ar_storage_writer *w)
{
    if (w) writer_free(w);
}

ar_storage_reader *ar_storage_get(ar_storage *st, const char *key, ar_error *err)
{
    if (!st || !ar_storage_key_valid(key)) {
        bad_key(key, err);
        return NULL;
    }
    long long size = 0;
    int fd = st->ops->open_read(st, key, &size, err);
    if (fd < 0) return NULL;
    ar_storage_reader *r = ar_calloc(1, sizeof *r);
    r->fd = fd;
    r->size = size;
    return r;
}

long long ar_storage_reader_size(const ar_storage_reader *r)
{
    return r->size;
}

ssize_t ar_storage_read(ar_storage_reader *r, void *buf, size_t cap, ar_error *err)
{
    for (;;) {
        ssize_t n = read(r->fd, buf, cap);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ar_error_set(err, AR_ERR_UNAVAILABLE, "object storage: reading failed: %s", strerror(errno));
            return -1;
        }
        r->done += n;
        return n;
    }
}

void ar_storage_reader_close(ar_storage_reader *r)
{
    if (!r) return;
    close(r->fd);
    free(r);
}

int ar_storage_delete(ar_storage *st, const char *key, ar_error *err)
{
    if (!st || !ar_storage_key_valid(key)) return bad_key(key, err);
    return st->ops->remove(st, key, err);
}

int ar_storage_stat(ar_storage *st, const char *key, long long *size, ar_error *err)
{
    if (!st || !ar_storage_key_valid(key)) return bad_key(key, err);
    long long s = 0;
    int rc = st->ops->stat(st, key, &s, err);
    if (rc == 0 && size) *size = s;
    return rc;
}

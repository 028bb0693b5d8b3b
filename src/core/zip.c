/* zip.c — streaming ZIP writer with zlib deflate, CRC-32, data descriptors, UTF-8 names and ZIP64 (see zip.h). */
#include "afterresume/core/zip.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ZIP_MAX_NAME 1024
#define OUT_CHUNK (64 * 1024)
#define U32_LIMIT 0xFFFFFFFFull
#define U16_LIMIT 0xFFFFull

typedef struct zip_entry {
    char *name;
    uint64_t offset;       /* of the local header */
    uint64_t csize, usize;
    uint32_t crc;
    uint16_t method, dos_time, dos_date, flags;
    int is_dir;
} zip_entry;

struct ar_zip {
    FILE *file;
    ar_zip_sink sink;
    void *sink_arg;
    uint64_t written;
    zip_entry *entries;
    size_t count, cap;
    size_t *index;         /* open-addressing set of entry numbers + 1 (0 = empty), by name hash */
    size_t index_cap;
    int open;              /* an entry is being written */
    z_stream zs;
    int zs_ready;
    unsigned char *out;
    ar_error failure;      /* first error (sticky) */
    int failed;
};

/* ---- little-endian output ---- */

static void le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static int fail_with(ar_zip *z, ar_error *err, ar_err_code code, const char *msg)
{
    if (!z->failed) {
        z->failed = 1;
        ar_error_set(&z->failure, code, "%s", msg);
    }
    if (err && !err->code) ar_error_set(err, z->failure.code, "%s", z->failure.message);
    return -1;
}

/* The sticky error, copied to err. */
static int failed(ar_zip *z, ar_error *err)
{
    if (err && !err->code) ar_error_set(err, z->failure.code, "%s", z->failure.message);
    return -1;
}

static int emit(ar_zip *z, const void *data, size_t len, ar_error *err)
{
    if (z->failed) return failed(z, err);
    if (len == 0) return 0;
    if (z->file) {
        if (fwrite(data, 1, len, z->file) != len)
            return fail_with(z, err, AR_ERR_UNAVAILABLE, "The archive could not be written.");
    } else {
        ar_error sink_err = {0};
        if (z->sink(z->sink_arg, data, len, &sink_err) != 0) {
            int r = fail_with(z, err, sink_err.code ? sink_err.code : AR_ERR_UNAVAILABLE,
                              sink_err.code ? sink_err.message : "The archive could not be written.");
            ar_error_clear(&sink_err);
            return r;
        }
    }
    if (z->written > UINT64_MAX / 2 - len) return fail_with(z, err, AR_ERR_VALIDATION, "The archive is too large.");
    z->written += len;
    return 0;
}

static ar_zip *zip_new(void)
{
    ar_zip *z = ar_calloc(1, sizeof *z);
    z->out = ar_malloc(OUT_CHUNK);
    return z;
}

ar_zip *ar_zip_new_file(FILE *out)
{
    ar_zip *z = zip_new();
    z->file = out;
    return z;
}

ar_zip *ar_zip_new_sink(ar_zip_sink sink, void *arg)
{
    ar_zip *z = zip_new();
    z->sink = sink;
    z->sink_arg = arg;
    return z;
}

uint64_t ar_zip_entries(const ar_zip *z)
{
    return z->count;
}

uint64_t ar_zip_bytes(const ar_zip *z)
{
    return z->written;
}

/* ---- names ---- */

int ar_zip_name_valid(const char *name)
{
    if (!name) return 0;
    size_t len = strlen(name);
    if (len == 0 || len > ZIP_MAX_NAME || !ar_utf8_valid(name, len)) return 0;
    if (name[0] == '/') return 0;
    if (len >= 2 && name[1] == ':' && ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7F || c == '\\') return 0;
    }
    /* segments: none empty (except the one after a final '/'), none "." or ".." */
    const char *seg = name;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        if (n == 0 && (slash || seg == name)) return 0;
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) return 0;
        if (!slash) break;
        seg = slash + 1;
        if (!*seg) break; /* trailing '/': a directory */
    }
    return 1;
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* 1 when name was already used; otherwise records entry number idx under it. */
static int index_seen_or_add(ar_zip *z, const char *name, size_t idx)
{
    if ((z->count + 1) * 2 > z->index_cap) {
        size_t ncap = z->index_cap ? z->index_cap * 2 : 64;
        size_t *n = ar_calloc(ncap, sizeof *n);
        for (size_t i = 0; i < z->index_cap; i++) {
            if (!z->index[i]) continue;
            size_t pos = name_hash(z->entries[z->index[i] - 1].name) & (ncap - 1);
            while (n[pos]) pos = (pos + 1) & (ncap - 1);
            n[pos] = z->index[i];
        }
        free(z->index);
        z->index = n;
        z->index_cap = ncap;
    }
    size_t pos = name_hash(name) & (z->index_cap - 1);
    while (z->index[pos]) {
        if (strcmp(z->entries[z->index[pos] - 1].name, name) == 0) return 1;
        pos = (pos + 1) & (z->index_cap - 1);
    }
    z->index[pos] = idx + 1;
    return 0;
}

/* ---- entries ---- */

static void dos_time(time_t t, uint16_t *tm, uint16_t *dt)
{
    struct tm g;
    gmtime_r(&t, &g);
    if (g.tm_year < 80) { /* DOS time starts in 1980 */
        *tm = 0;
        *dt = (1 << 5) | 1;
        return;
    }
    if (g.tm_year > 207) g.tm_year = 207;
    *tm = (uint16_t)((g.tm_hour << 11) | (g.tm_min << 5) | (g.tm_sec / 2));
    *dt = (uint16_t)(((g.tm_year - 80) << 9) | ((g.tm_mon + 1) << 5) | g.tm_mday);
}

static int has_non_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 1;
    return 0;
}

int ar_zip_begin(ar_zip *z, const char *name, time_t mtime, ar_zip_method method, ar_error *err)
{
    if (z->failed) return failed(z, err);
    if (z->open && ar_zip_end(z, err) != 0) return -1;
    if (!ar_zip_name_valid(name)) {
        ar_error_field(err, "name", "Entry names are relative UTF-8 paths without '..', '.', '\\' or empty parts.");
        return ar_error_set(err, AR_ERR_VALIDATION, "Bad archive entry name."), -1;
    }
    if (method != AR_ZIP_DEFLATE && method != AR_ZIP_STORE)
        return ar_error_set(err, AR_ERR_VALIDATION, "Unknown compression method."), -1;
    if (z->count == z->cap) {
        z->cap = z->cap ? z->cap * 2 : 16;
        z->entries = ar_realloc(z->entries, z->cap * sizeof *z->entries);
    }
    zip_entry *e = &z->entries[z->count];
    memset(e, 0, sizeof *e);
    e->name = ar_strdup(name);
    if (index_seen_or_add(z, name, z->count)) {
        free(e->name);
        ar_error_field(err, "name", "Duplicate entry name.");
        return ar_error_set(err, AR_ERR_VALIDATION, "Duplicate archive entry name."), -1;
    }
    z->count++;
    size_t nlen = strlen(name);
    e->is_dir = name[nlen - 1] == '/';
    e->method = e->is_dir ? AR_ZIP_STORE : (uint16_t)method;
    e->flags = 0x0008 | (has_non_ascii(name) ? 0x0800 : 0);
    e->offset = z->written;
    dos_time(mtime ? mtime : time(NULL), &e->dos_time, &e->dos_date);
    e->crc = (uint32_t)crc32(0L, Z_NULL, 0);

    unsigned char h[30];
    le32(h, 0x04034b50);
    le16(h + 4, 20);             /* version needed: 2.0 (deflate, data descriptor) */
    le16(h + 6, e->flags);
    le16(h + 8, e->method);
    le16(h + 10, e->dos_time);
    le16(h + 12, e->dos_date);
    le32(h + 14, 0);             /* CRC-32 and sizes follow in the data descriptor */
    le32(h + 18, 0);
    le32(h + 22, 0);
    le16(h + 26, (uint16_t)nlen);
    le16(h + 28, 0);
    if (emit(z, h, sizeof h, err) != 0 || emit(z, name, nlen, err) != 0) return -1;
    if (e->method == AR_ZIP_DEFLATE) {
        if (!z->zs_ready) {
            memset(&z->zs, 0, sizeof z->zs);
            if (deflateInit2(&z->zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return fail_with(z, err, AR_ERR_INTERNAL, "The compressor could not start.");
            z->zs_ready = 1;
        } else if (deflateReset(&z->zs) != Z_OK) {
            return fail_with(z, err, AR_ERR_INTERNAL, "The compressor could not restart.");
        }
    }
    z->open = 1;
    return 0;
}

/* Run deflate over the pending input with flush (Z_NO_FLUSH or Z_FINISH), emitting output as it comes. */
static int deflate_out(ar_zip *z, zip_entry *e, int flush, ar_error *err)
{
    for (;;) {
        z->zs.next_out = z->out;
        z->zs.avail_out = OUT_CHUNK;
        int rc = deflate(&z->zs, flush);
        if (rc == Z_STREAM_ERROR) return fail_with(z, err, AR_ERR_INTERNAL, "The compressor failed.");
        size_t have = OUT_CHUNK - z->zs.avail_out;
        if (emit(z, z->out, have, err) != 0) return -1;
        e->csize += have;
        if (flush == Z_FINISH) {
            if (rc == Z_STREAM_END) return 0;
        } else if (z->zs.avail_in == 0 && z->zs.avail_out != 0) {
            return 0;
        }
    }
}

int ar_zip_write(ar_zip *z, const void *data, size_t len, ar_error *err)
{
    if (z->failed) return failed(z, err);
    if (!z->open) return ar_error_set(err, AR_ERR_INTERNAL, "No archive entry is open."), -1;
    if (len == 0) return 0;
    zip_entry *e = &z->entries[z->count - 1];
    if (e->is_dir) return ar_error_set(err, AR_ERR_VALIDATION, "A directory entry takes no data."), -1;
    const unsigned char *p = data;
    size_t left = len;
    while (left > 0) { /* zlib counts in uInt: feed at most 1 GiB at a time */
        size_t n = left > (1u << 30) ? (1u << 30) : left;
        e->crc = (uint32_t)crc32(e->crc, p, (uInt)n);
        e->usize += n;
        if (e->method == AR_ZIP_STORE) {
            if (emit(z, p, n, err) != 0) return -1;
            e->csize += n;
        } else {
            z->zs.next_in = (Bytef *)p;
            z->zs.avail_in = (uInt)n;
            if (deflate_out(z, e, Z_NO_FLUSH, err) != 0) return -1;
        }
        p += n;
        left -= n;
    }
    return 0;
}

int ar_zip_end(ar_zip *z, ar_error *err)
{
    if (z->failed) return failed(z, err);
    if (!z->open) return 0;
    zip_entry *e = &z->entries[z->count - 1];
    z->open = 0;
    if (e->method == AR_ZIP_DEFLATE) {
        z->zs.next_in = NULL;
        z->zs.avail_in = 0;
        if (deflate_out(z, e, Z_FINISH, err) != 0) return -1;
    }
    unsigned char d[24];
    le32(d, 0x08074b50);
    le32(d + 4, e->crc);
    size_t dlen;
    if (e->csize >= U32_LIMIT || e->usize >= U32_LIMIT) { /* ZIP64 descriptor: 8-byte sizes */
        le64(d + 8, e->csize);
        le64(d + 16, e->usize);
        dlen = 24;
    } else {
        le32(d + 8, (uint32_t)e->csize);
        le32(d + 12, (uint32_t)e->usize);
        dlen = 16;
    }
    return emit(z, d, dlen, err);
}

int ar_zip_add(ar_zip *z, const char *name, const void *data, size_t len, time_t mtime, ar_error *err)
{
    if (ar_zip_begin(z, name, mtime, AR_ZIP_DEFLATE, err) != 0) return -1;
    if (ar_zip_write(z, data, len, err) != 0) return -1;
    return ar_zip_end(z, err);
}

/* ---- central directory ---- */

static int write_central(ar_zip *z, const zip_entry *e, ar_error *err)
{
    int need64 = e->csize >= U32_LIMIT || e->usize >= U32_LIMIT || e->offset >= U32_LIMIT;
    unsigned char extra[28];
    size_t xlen = 0;
    if (need64) { /* ZIP64 extended information: only the fields whose 32-bit slot says 0xFFFFFFFF */
        le16(extra, 0x0001);
        xlen = 4;
        if (e->usize >= U32_LIMIT) le64(extra + xlen, e->usize), xlen += 8;
        if (e->csize >= U32_LIMIT) le64(extra + xlen, e->csize), xlen += 8;
        if (e->offset >= U32_LIMIT) le64(extra + xlen, e->offset), xlen += 8;
        le16(extra + 2, (uint16_t)(xlen - 4));
    }
    size_t nlen = strlen(e->name);
    unsigned char h[46];
    le32(h, 0x02014b50);
    le16(h + 4, (3 << 8) | (need64 ? 45 : 20)); /* made by: Unix */
    le16(h + 6, need64 ? 45 : 20);
    le16(h + 8, e->flags);
    le16(h + 10, e->method);
    le16(h + 12, e->dos_time);
    le16(h + 14, e->dos_date);
    le32(h + 16, e->crc);
    le32(h + 20, e->csize >= U32_LIMIT ? 0xFFFFFFFFu : (uint32_t)e->csize);
    le32(h + 24, e->usize >= U32_LIMIT ? 0xFFFFFFFFu : (uint32_t)e->usize);
    le16(h + 28, (uint16_t)nlen);
    le16(h + 30, (uint16_t)xlen);
    le16(h + 32, 0); /* comment */
    le16(h + 34, 0); /* disk */
    le16(h + 36, 0); /* internal attributes */
    uint32_t mode = e->is_dir ? (0040755u << 16) | 0x10 : (0100644u << 16);
    le32(h + 38, mode);
    le32(h + 42, e->offset >= U32_LIMIT ? 0xFFFFFFFFu : (uint32_t)e->offset);
    if (emit(z, h, sizeof h, err) != 0 || emit(z, e->name, nlen, err) != 0) return -1;
    return emit(z, extra, xlen, err);
}

static void zip_free(ar_zip *z)
{
    if (z->zs_ready) deflateEnd(&z->zs);
    for (size_t i = 0; i < z->count; i++) free(z->entries[i].name);
    free(z->entries);
    free(z->index);
    free(z->out);
    ar_error_clear(&z->failure);
    free(z);
}

void ar_zip_abort(ar_zip *z)
{
    if (z) zip_free(z);
}

int ar_zip_close(ar_zip *z, uint64_t *total_bytes, ar_error *err)
{
    int rc = ar_zip_end(z, err);
    uint64_t cd_start = z->written;
    for (size_t i = 0; rc == 0 && i < z->count; i++) rc = write_central(z, &z->entries[i], err);
    uint64_t cd_size = z->written - cd_start;
    if (rc == 0 && (z->count >= U16_LIMIT || cd_start >= U32_LIMIT || cd_size >= U32_LIMIT)) {
        uint64_t eocd64_at = z->written;
        unsigned char r[56];
        le32(r, 0x06064b50);
        le64(r + 4, 44);           /* size of the rest of this record */
        le16(r + 12, (3 << 8) | 45);
        le16(r + 14, 45);
        le32(r + 16, 0);           /* this disk */
        le32(r + 20, 0);           /* disk with the central directory */
        le64(r + 24, z->count);
        le64(r + 32, z->count);
        le64(r + 40, cd_size);
        le64(r + 48, cd_start);
        unsigned char loc[20];
        le32(loc, 0x07064b50);
        le32(loc + 4, 0);
        le64(loc + 8, eocd64_at);
        le32(loc + 16, 1);
        rc = emit(z, r, sizeof r, err);
        if (rc == 0) rc = emit(z, loc, sizeof loc, err);
    }
    if (rc == 0) {
        unsigned char e[22];
        le32(e, 0x06054b50);
        le16(e + 4, 0);
        le16(e + 6, 0);
        uint16_t n16 = z->count >= U16_LIMIT ? 0xFFFF : (uint16_t)z->count;
        le16(e + 8, n16);
        le16(e + 10, n16);
        le32(e + 12, cd_size >= U32_LIMIT ? 0xFFFFFFFFu : (uint32_t)cd_size);
        le32(e + 16, cd_start >= U32_LIMIT ? 0xFFFFFFFFu : (uint32_t)cd_start);
        le16(e + 20, 0);
        rc = emit(z, e, sizeof e, err);
    }
    if (rc == 0 && z->file && fflush(z->file) != 0)
        rc = fail_with(z, err, AR_ERR_UNAVAILABLE, "The archive could not be written.");
    if (total_bytes) *total_bytes = z->written;
    zip_free(z);
    return rc;
}

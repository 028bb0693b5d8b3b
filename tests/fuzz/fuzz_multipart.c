/* fuzz_multipart.c — libFuzzer target for the streaming multipart parser. The first byte picks the boundary and
 * the chunking seed; the rest is the body. The body is parsed whole, one byte at a time and in pseudo-random
 * chunks: all three must produce the same callback log and result. When the body is accepted, each part's data
 * must equal what a simple whole-buffer reference splitter extracts. Part metadata invariants are checked too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/core/utf8.h"
#include "afterresume/http/multipart.h"

#define CHECK(cond)                                                                                               \
    do {                                                                                                          \
        if (!(cond)) abort();                                                                                     \
    } while (0)

typedef struct trace {
    ar_buf log;
    int in_data;
    size_t data_bytes;
    int in_part;
    int ok;       /* the body was accepted */
    ar_buf part;  /* data of the part in progress */
    ar_buf parts; /* "<len>:<data>" for every finished part */
} trace;

static void log_str(ar_buf *b, const char *s)
{
    if (!s) {
        ar_buf_puts(b, "-;");
        return;
    }
    ar_buf_printf(b, "%zu:", strlen(s));
    ar_buf_puts(b, s);
}

static int on_begin(void *ud, const ar_multipart_part *p)
{
    trace *t = ud;
    CHECK(!t->in_part);
    CHECK(p->name && ar_utf8_valid(p->name, strlen(p->name)));
    if (p->filename) {
        size_t n = strlen(p->filename);
        CHECK(ar_utf8_valid(p->filename, n));
        CHECK(!strchr(p->filename, '/') && !strchr(p->filename, '\\'));
        CHECK(strcmp(p->filename, ".") != 0 && strcmp(p->filename, "..") != 0);
        for (size_t i = 0; i < n; i++) CHECK((unsigned char)p->filename[i] >= 0x20 && p->filename[i] != 0x7f);
    }
    if (p->content_type) CHECK(ar_utf8_valid(p->content_type, strlen(p->content_type)));
    ar_buf_puts(&t->log, "B");
    log_str(&t->log, p->name);
    log_str(&t->log, p->filename);
    log_str(&t->log, p->content_type);
    t->in_data = 0;
    t->in_part = 1;
    return 0;
}

static int on_data(void *ud, const char *d, size_t n)
{
    trace *t = ud;
    CHECK(t->in_part && n > 0);
    if (!t->in_data) ar_buf_puts(&t->log, "D");
    t->in_data = 1;
    ar_buf_append(&t->log, d, n);
    ar_buf_append(&t->part, d, n);
    t->data_bytes += n;
    return 0;
}

static int on_end(void *ud)
{
    trace *t = ud;
    CHECK(t->in_part);
    ar_buf_puts(&t->log, "E");
    ar_buf_printf(&t->parts, "%zu:", t->part.len);
    ar_buf_append(&t->parts, t->part.data, t->part.len);
    ar_buf_reset(&t->part);
    t->in_data = 0;
    t->in_part = 0;
    return 0;
}

static const ar_multipart_callbacks callbacks = {on_begin, on_data, on_end};
static const char *const boundaries[] = {"b", "XbX", "----WebKitFormBoundaryQ7a", "a'b(c)+_,-./:=?d"};

/* mode 0: whole; 1: one byte at a time; 2: chunks of pseudo-random sizes from seed */
static void run(const char *boundary, const uint8_t *body, size_t len, int mode, uint32_t seed, trace *t)
{
    ar_multipart *m = ar_multipart_new(boundary, &callbacks, t, 256, 8);
    CHECK(m != NULL);
    ar_error err = {0};
    int rc = 0;
    size_t off = 0;
    while (off < len && rc == 0) {
        size_t n = len - off;
        if (mode == 1) {
            n = 1;
        } else if (mode == 2) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % 97;
            if (want < n) n = want;
        }
        rc = ar_multipart_feed(m, (const char *)body + off, n, &err);
        off += n;
    }
    if (rc == 0) rc = ar_multipart_finish(m, &err);
    if (rc == 0) {
        CHECK(!t->in_part);
        t->ok = 1;
        ar_buf_puts(&t->log, "OK");
    } else {
        CHECK(rc == -1 && err.code == AR_ERR_BAD_REQUEST && err.message[0]);
        ar_buf_puts(&t->log, "ERR:");
        ar_buf_puts(&t->log, err.message);
        /* the error is sticky */
        ar_error again = {0};
        CHECK(ar_multipart_feed(m, "x", 1, &again) == -1 && strcmp(again.message, err.message) == 0);
    }
    CHECK(t->data_bytes <= len);
    ar_multipart_free(m);
}

/* Reference splitter for an accepted body: whole-buffer searches, no state machine. Appends "<len>:<data>" per
   part to out. */
static void reference_parts(const char *boundary, const char *body, size_t len, ar_buf *out)
{
    char delim[80];
    size_t dlen = (size_t)snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    size_t pos;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        pos = dlen - 2;
    } else {
        const char *d = memmem(body, len, delim, dlen);
        CHECK(d != NULL);
        pos = (size_t)(d - body) + dlen;
    }
    for (;;) {
        CHECK(pos < len);
        if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-') return;
        while (pos < len && (body[pos] == ' ' || body[pos] == '\t')) pos++;
        CHECK(len - pos >= 2 && body[pos] == '\r' && body[pos + 1] == '\n');
        pos += 2;
        size_t data_start;
        if (len - pos >= 2 && body[pos] == '\r' && body[pos + 1] == '\n') {
            data_start = pos + 2;
        } else {
            const char *e = memmem(body + pos, len - pos, "\r\n\r\n", 4);
            CHECK(e != NULL);
            data_start = (size_t)(e - body) + 4;
        }
        const char *d = memmem(body + data_start, len - data_start, delim, dlen);
        CHECK(d != NULL);
        size_t data_len = (size_t)(d - body) - data_start;
        ar_buf_printf(out, "%zu:", data_len);
        ar_buf_append(out, body + data_start, data_len);
        pos = (size_t)(d - body) + dlen;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *boundary = boundaries[data[0] & 3];
    uint32_t seed = data[0] >> 2;
    const uint8_t *body = data + 1;
    size_t len = size - 1;

    trace t[3];
    for (int mode = 0; mode < 3; mode++) {
        memset(&t[mode], 0, sizeof t[mode]);
        run(boundary, body, len, mode, seed, &t[mode]);
    }
    for (int mode = 1; mode < 3; mode++) {
        CHECK(t[mode].log.len == t[0].log.len);
        CHECK(memcmp(t[mode].log.data, t[0].log.data, t[0].log.len) == 0);
    }
    if (t[0].ok) {
        ar_buf ref = AR_BUF_INIT;
        reference_parts(boundary, (const char *)body, len, &ref);
        CHECK(ref.len == t[0].parts.len && memcmp(ar_buf_cstr(&ref), ar_buf_cstr(&t[0].parts), ref.len) == 0);
        ar_buf_free(&ref);
    }
    for (int mode = 0; mode < 3; mode++) {
        ar_buf_free(&t[mode].log);
        ar_buf_free(&t[mode].part);
        ar_buf_free(&t[mode].parts);
    }
    return 0;
}

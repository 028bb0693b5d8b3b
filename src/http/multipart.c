/* multipart.c — streaming multipart/form-data parser: a byte-driven state machine that finds delimiters with a
 * KMP matcher (so a delimiter split across chunks is found without buffering), hands part data to callbacks as
 * it arrives and only buffers each part's (bounded) header block. */
#include "afterresume/http/multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/utf8.h"
#include "afterresume/http/parse.h"

#define BOUNDARY_MAX 70
#define DELIM_MAX (BOUNDARY_MAX + 4) /* CRLF "--" boundary */

typedef enum mp_state {
    MP_PREAMBLE,    /* discarding until the first delimiter */
    MP_DELIM_TAIL,  /* right after a delimiter: "--", padding or CRLF follows */
    MP_PADDING,     /* transport padding (spaces/tabs) after a delimiter */
    MP_BOUNDARY_LF, /* saw CR after a delimiter, LF must follow */
    MP_CLOSE_DASH,  /* saw the first '-' of a close delimiter */
    MP_HEADERS,     /* collecting a part's header block */
    MP_DATA,        /* streaming part data until the next delimiter */
    MP_EPILOGUE,    /* after the close delimiter: everything is ignored */
    MP_ERROR,
} mp_state;

struct ar_multipart {
    ar_multipart_callbacks cb;
    void *ud;
    size_t max_header_bytes, max_parts, parts;
    char delim[DELIM_MAX + 1];
    size_t dlen;
    size_t fail[DELIM_MAX + 1]; /* KMP: longest proper border of delim[0..k) */
    size_t match;               /* delimiter bytes matched so far (may span chunks) */
    mp_state state;
    ar_buf headers;
    char *name, *filename, *content_type;
    char error[sizeof(((ar_error *)0)->message)];
};

static int is_bchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("'()+_,-./:=? ", c));
}

ar_multipart *ar_multipart_new(const char *boundary, const ar_multipart_callbacks *cb, void *ud,
                               size_t max_header_bytes, size_t max_parts)
{
    if (!boundary) return NULL;
    size_t blen = strlen(boundary);
    if (blen < 1 || blen > BOUNDARY_MAX || boundary[blen - 1] == ' ') return NULL;
    for (size_t i = 0; i < blen; i++)
        if (!is_bchar((unsigned char)boundary[i])) return NULL;

    ar_multipart *m = ar_calloc(1, sizeof *m);
    if (cb) m->cb = *cb;
    m->ud = ud;
    m->max_header_bytes = max_header_bytes;
    m->max_parts = max_parts;
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, boundary, blen);
    m->dlen = blen + 4;
    m->delim[m->dlen] = '\0';
    /* prefix function */
    m->fail[0] = m->fail[1] = 0;
    size_t k = 0;
    for (size_t i = 1; i < m->dlen; i++) {
        while (k > 0 && m->delim[i] != m->delim[k]) k = m->fail[k];
        if (m->delim[i] == m->delim[k]) k++;
        m->fail[i + 1] = k;
    }
    /* The body may open with the first delimiter: act as if a CRLF preceded it. */
    m->match = 2;
    m->state = MP_PREAMBLE;
    ar_buf_init(&m->headers);
    return m;
}

static void clear_part(ar_multipart *m)
{
    free(m->name);
    free(m->filename);
    free(m->content_type);
    m->name = m->filename = m->content_type = NULL;
}

void ar_multipart_free(ar_multipart *m)
{
    if (!m) return;
    clear_part(m);
    ar_buf_free(&m->headers);
    free(m);
}

size_t ar_multipart_part_count(const ar_multipart *m)
{
    return m->parts;
}

static int fail_with(ar_multipart *m, ar_error *err, const char *msg)
{
    if (m->state != MP_ERROR) {
        snprintf(m->error, sizeof m->error, "%s", msg);
        m->state = MP_ERROR;
    }
    ar_error_set(err, AR_ERR_BAD_REQUEST, "%s", m->error);
    return -1;
}

static int callback_aborted(ar_multipart *m, ar_error *err)
{
    return fail_with(m, err, "the multipart upload was aborted by the request handler");
}

/* ---- part headers ------------------------------------------------------------------------------------- */

/* Decode an RFC 5987 ext-value (charset'language'pct-encoded) into a UTF-8 string. NULL if unusable. */
static char *decode_ext_value(const char *v, size_t len)
{
    const char *q1 = memchr(v, '\'', len);
    if (!q1) return NULL;
    const char *q2 = memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v));
    if (!q2) return NULL;
    size_t cslen = (size_t)(q1 - v);
    const char *enc = q2 + 1;
    size_t enclen = len - (size_t)(enc - v);
    ar_buf raw = AR_BUF_INIT;
    if (ar_percent_decode(enc, enclen, 0, &raw) != 0 || memchr(ar_buf_cstr(&raw), '\0', raw.len)) {
        ar_buf_free(&raw);
        return NULL;
    }
    if (cslen == 5 && strncasecmp(v, "utf-8", 5) == 0) {
        if (!ar_utf8_valid(ar_buf_cstr(&raw), raw.len)) {
            ar_buf_free(&raw);
            return NULL;
        }
        return ar_buf_steal(&raw);
    }
    if (cslen == 10 && strncasecmp(v, "iso-8859-1", 10) == 0) {
        ar_buf out = AR_BUF_INIT;
        for (size_t i = 0; i < raw.len; i++) {
            unsigned char c = (unsigned char)raw.data[i];
            if (c < 0x80) {
                ar_buf_putc(&out, (char)c);
            } else {
                ar_buf_putc(&out, (char)(0xC0 | (c >> 6)));
                ar_buf_putc(&out, (char)(0x80 | (c & 0x3F)));
            }
        }
        ar_buf_free(&raw);
        return ar_buf_steal(&out);
    }
    ar_buf_free(&raw);
    return NULL;
}

/* Keep only the last path component; "." and ".." become "". Takes ownership of name. */
static char *strip_path(char *name)
{
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0) base = "";
    char *out = ar_strdup(base);
    free(name);
    return out;
}

static int has_control_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) return 1;
    }
    return 0;
}

static const char *parse_disposition(ar_multipart *m, const char *v, size_t len)
{
    ar_buf b = AR_BUF_INIT;
    const char *problem = NULL;
    if (ar_header_primary(v, len, &b) != 0) {
        problem = "malformed Content-Disposition header in a multipart part";
        goto out;
    }
    if (strcmp(b.data, "form-data") != 0) {
        problem = "a multipart part is not form-data";
        goto out;
    }
    ar_buf_reset(&b);
    int rc = ar_header_param(v, len, "name", &b);
    if (rc < 0) {
        problem = "malformed Content-Disposition header in a multipart part";
        goto out;
    }
    if (rc > 0) {
        problem = "a multipart part has no field name";
        goto out;
    }
    if (memchr(ar_buf_cstr(&b), '\0', b.len) || !ar_utf8_valid(ar_buf_cstr(&b), b.len)) {
        problem = "a multipart field name is not valid UTF-8";
        goto out;
    }
    m->name = ar_buf_steal(&b);

    char *filename = NULL;
    rc = ar_header_param(v, len, "filename*", &b);
    if (rc < 0) {
        problem = "malformed Content-Disposition header in a multipart part";
        goto out;
    }
    if (rc == 0) {
        filename = decode_ext_value(ar_buf_cstr(&b), b.len);
        if (!filename) {
            problem = "malformed filename* parameter in a multipart part";
            goto out;
        }
    } else {
        rc = ar_header_param(v, len, "filename", &b);
        if (rc < 0) {
            problem = "malformed Content-Disposition header in a multipart part";
            goto out;
        }
        if (rc == 0) {
            if (!ar_utf8_valid(ar_buf_cstr(&b), b.len)) {
                problem = "a multipart filename is not valid UTF-8";
                goto out;
            }
            filename = ar_buf_steal(&b);
        }
    }
    if (filename) {
        if (has_control_chars(filename, strlen(filename))) {
            free(filename);
            problem = "a multipart filename contains control characters";
            goto out;
        }
        m->filename = strip_path(filename);
    }
out:
    ar_buf_free(&b);
    return problem;
}

/* Parse the collected header block (lines ending in CRLF, final empty line excluded). NULL or a problem. */
static const char *parse_headers(ar_multipart *m, const char *h, size_t len)
{
    int seen_disposition = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *crlf = memmem(h + pos, len - pos, "\r\n", 2);
        size_t end = crlf ? (size_t)(crlf - h) : len;
        const char *line = h + pos;
        size_t llen = end - pos;
        pos = end + 2;
        for (size_t i = 0; i < llen; i++) {
            unsigned char c = (unsigned char)line[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f) return "a multipart part header contains control characters";
        }
        if (llen == 0 || line[0] == ' ' || line[0] == '\t') return "malformed multipart part header";
        const char *colon = memchr(line, ':', llen);
        if (!colon || colon == line) return "malformed multipart part header";
        size_t nlen = (size_t)(colon - line);
        for (size_t i = 0; i < nlen; i++) {
            unsigned char c = (unsigned char)line[i];
            if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c))
                return "malformed multipart part header";
        }
        const char *val = colon + 1;
        size_t vlen = llen - nlen - 1;
        while (vlen && (*val == ' ' || *val == '\t')) {
            val++;
            vlen--;
        }
        while (vlen && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t')) vlen--;
        if (nlen == 19 && strncasecmp(line, "content-disposition", 19) == 0) {
            if (seen_disposition++) return "a multipart part has two Content-Disposition headers";
            const char *problem = parse_disposition(m, val, vlen);
            if (problem) return problem;
        } else if (nlen == 12 && strncasecmp(line, "content-type", 12) == 0) {
            if (m->content_type) return "a multipart part has two Content-Type headers";
            if (!ar_utf8_valid(val, vlen)) return "a multipart Content-Type is not valid UTF-8";
            m->content_type = ar_strndup(val, vlen);
        }
    }
    if (!seen_disposition) return "a multipart part has no Content-Disposition header";
    return NULL;
}

static int finish_headers(ar_multipart *m, ar_error *err)
{
    clear_part(m);
    const char *problem = parse_headers(m, m->headers.data, m->headers.len - 2);
    ar_buf_reset(&m->headers);
    if (problem) return fail_with(m, err, problem);
    ar_multipart_part part = {m->name, m->filename, m->content_type};
    if (m->cb.on_part_begin && m->cb.on_part_begin(m->ud, &part) != 0) return callback_aborted(m, err);
    m->state = MP_DATA;
    m->match = 0;
    return 0;
}

/* ---- the byte-level state machine ---------------------------------------------------------------------- */

static int emit_data(ar_multipart *m, const char *p, size_t n, ar_error *err)
{
    if (n == 0 || m->state != MP_DATA || !m->cb.on_part_data) return 0;
    if (m->cb.on_part_data(m->ud, p, n) != 0) return callback_aborted(m, err);
    return 0;
}

/* Scan for the delimiter from data[*pos]; data before it goes to the part (MP_DATA) or is dropped (preamble).
   Returns 1 when a delimiter was completed (with *pos just past it), 0 at the end of the chunk, -1 on error. */
static int scan_for_delimiter(ar_multipart *m, const char *data, size_t len, size_t *pos, ar_error *err)
{
    size_t i = *pos, span = i; /* [span, i) is pending data while match == 0 */
    while (i < len) {
        if (m->match == 0) {
            const char *cr = memchr(data + i, m->delim[0], len - i);
            if (!cr) {
                i = len;
                break;
            }
            i = (size_t)(cr - data);
            if (emit_data(m, data + span, i - span, err) != 0) return -1;
            m->match = 1;
            span = ++i;
            continue;
        }
        if (data[i] == m->delim[m->match]) {
            m->match++;
            span = ++i;
            if (m->match == m->dlen) {
                m->match = 0;
                *pos = i;
                return 1;
            }
            continue;
        }
        /* Mismatch: the bytes that can no longer start a delimiter were data (they equal the delimiter's
           prefix); keep the longest border and re-examine this byte. */
        size_t keep = m->fail[m->match];
        if (emit_data(m, m->delim, m->match - keep, err) != 0) return -1;
        m->match = keep;
        span = i;
    }
    if (m->match == 0 && emit_data(m, data + span, i - span, err) != 0) return -1;
    *pos = len;
    return 0;
}

static int begin_part_headers(ar_multipart *m, ar_error *err)
{
    if (m->parts >= m->max_parts) {
        char msg[96];
        snprintf(msg, sizeof msg, "too many multipart parts (limit %zu)", m->max_parts);
        return fail_with(m, err, msg);
    }
    m->parts++;
    ar_buf_reset(&m->headers);
    m->state = MP_HEADERS;
    return 0;
}

int ar_multipart_feed(ar_multipart *m, const char *data, size_t len, ar_error *err)
{
    if (m->state == MP_ERROR) return fail_with(m, err, m->error);
    size_t i = 0;
    while (i < len) {
        switch (m->state) {
        case MP_PREAMBLE:
        case MP_DATA: {
            int rc = scan_for_delimiter(m, data, len, &i, err);
            if (rc < 0) return -1;
            if (rc == 1) {
                if (m->state == MP_DATA && m->cb.on_part_end && m->cb.on_part_end(m->ud) != 0)
                    return callback_aborted(m, err);
                clear_part(m);
                m->state = MP_DELIM_TAIL;
            }
            break;
        }
        case MP_DELIM_TAIL:
        case MP_PADDING: {
            char c = data[i++];
            if (c == '-' && m->state == MP_DELIM_TAIL)
                m->state = MP_CLOSE_DASH;
            else if (c == ' ' || c == '\t')
                m->state = MP_PADDING;
            else if (c == '\r')
                m->state = MP_BOUNDARY_LF;
            else
                return fail_with(m, err, "malformed multipart boundary line (expected CRLF after the boundary)");
            break;
        }
        case MP_BOUNDARY_LF:
            if (data[i++] != '\n')
                return fail_with(m, err, "malformed multipart boundary line (expected CRLF after the boundary)");
            if (begin_part_headers(m, err) != 0) return -1;
            break;
        case MP_CLOSE_DASH:
            if (data[i++] != '-') return fail_with(m, err, "malformed multipart closing boundary");
            m->state = MP_EPILOGUE;
            break;
        case MP_HEADERS: {
            /* Copy up to the next LF in one go; the block ends with an empty line. */
            const char *lf = memchr(data + i, '\n', len - i);
            size_t n = lf ? (size_t)(lf - (data + i)) + 1 : len - i;
            if (n > m->max_header_bytes - m->headers.len) /* headers.len never exceeds the limit */
                return fail_with(m, err, "multipart part headers are too large");
            ar_buf_append(&m->headers, data + i, n);
            i += n;
            const char *h = m->headers.data;
            size_t hl = m->headers.len;
            if (lf && hl >= 2 && h[hl - 2] == '\r' &&
                (hl == 2 || (hl >= 4 && h[hl - 4] == '\r' && h[hl - 3] == '\n'))) {
                if (finish_headers(m, err) != 0) return -1;
            }
            break;
        }
        case MP_EPILOGUE:
            i = len;
            break;
        case MP_ERROR:
            return fail_with(m, err, m->error);
        }
    }
    return 0;
}

int ar_multipart_finish(ar_multipart *m, ar_error *err)
{
    if (m->state == MP_EPILOGUE) return 0;
    if (m->state == MP_ERROR) return fail_with(m, err, m->error);
    return fail_with(m, err, "the multipart body ended before its closing boundary");
}

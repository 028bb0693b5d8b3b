/* parse.c — request-body and header parsers: percent-decoding, urlencoded forms and query strings, cookies,
 * parameterised header values (Content-Type, Content-Disposition) and JSON bodies. */
#include "afterresume/http/parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"

/* ---- key/value lists ---------------------------------------------------------------------------------- */

void ar_kvlist_init(ar_kvlist *l)
{
    l->items = NULL;
    l->len = 0;
    l->cap = 0;
}

static char *copy_bytes(const char *s, size_t n)
{
    char *p = ar_malloc(n + 1);
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void ar_kvlist_add(ar_kvlist *l, const char *key, size_t klen, const char *val, size_t vlen)
{
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = ar_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->len].key = copy_bytes(key, klen);
    l->items[l->len].value = copy_bytes(val, vlen);
    l->len++;
}

const char *ar_kvlist_get(const ar_kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i].key, key) == 0) return l->items[i].value;
    return NULL;
}

/* Drop the items from index `keep` on (used to undo a failed parse). */
static void kvlist_truncate(ar_kvlist *l, size_t keep)
{
    while (l->len > keep) {
        l->len--;
        free(l->items[l->len].key);
        free(l->items[l->len].value);
    }
}

void ar_kvlist_free(ar_kvlist *l)
{
    kvlist_truncate(l, 0);
    free(l->items);
    ar_kvlist_init(l);
}

/* ---- percent-decoding and urlencoded forms ------------------------------------------------------------ */

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int ar_percent_decode(const char *s, size_t len, int plus_is_space, ar_buf *out)
{
    size_t orig = out->len;
    ar_buf_reserve(out, len);
    size_t i = 0;
    while (i < len) {
        const char *pct = memchr(s + i, '%', len - i);
        size_t run_end = pct ? (size_t)(pct - s) : len;
        for (size_t k = i; k < run_end; k++) {
            char c = s[k];
            out->data[out->len++] = (plus_is_space && c == '+') ? ' ' : c;
        }
        i = run_end;
        if (i == len) break;
        int hi = i + 1 < len ? hex_value((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < len ? hex_value((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            out->len = orig;
            out->data[orig] = '\0';
            return -1;
        }
        out->data[out->len++] = (char)(hi * 16 + lo);
        i += 3;
    }
    out->data[out->len] = '\0';
    return 0;
}

/* A field name fit for an error message: printable ASCII only, at most 40 bytes. */
static void field_label(const char *s, size_t len, char *out, size_t out_size)
{
    const size_t max = 40;
    size_t n = 0;
    for (size_t i = 0; i < len && i < max && n + 4 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[n++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
    }
    if (len > max && n + 4 < out_size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* Decode one key or value into out (reset first); on failure set err naming the raw key. */
static int decode_form_part(const char *s, size_t len, const char *raw_key, size_t raw_klen, ar_buf *out,
                            ar_error *err)
{
    char label[64];
    ar_buf_reset(out);
    if (ar_percent_decode(s, len, 1, out) != 0) {
        field_label(raw_key, raw_klen, label, sizeof label);
        ar_error_set(err, AR_ERR_BAD_REQUEST, "invalid percent-escape in field '%s'", label);
        return -1;
    }
    if (out->len && memchr(out->data, '\0', out->len)) {
        field_label(raw_key, raw_klen, label, sizeof label);
        ar_error_set(err, AR_ERR_BAD_REQUEST, "field '%s' contains a NUL byte", label);
        return -1;
    }
    if (!ar_utf8_valid(ar_buf_cstr(out), out->len)) {
        field_label(raw_key, raw_klen, label, sizeof label);
        ar_error_set(err, AR_ERR_BAD_REQUEST, "field '%s' is not valid UTF-8", label);
        return -1;
    }
    return 0;
}

int ar_parse_urlencoded(const char *s, size_t len, size_t max_pairs, ar_kvlist *out, ar_error *err)
{
    size_t orig = out->len, count = 0, pos = 0;
    ar_buf key = AR_BUF_INIT, val = AR_BUF_INIT;
    int rc = 0;
    while (pos < len) {
        const char *amp = memchr(s + pos, '&', len - pos);
        size_t end = amp ? (size_t)(amp - s) : len;
        const char *piece = s + pos;
        size_t plen = end - pos;
        pos = end + 1;
        const char *eq = memchr(piece, '=', plen);
        size_t klen = eq ? (size_t)(eq - piece) : plen;
        const char *v = eq ? eq + 1 : piece + plen;
        size_t vlen = eq ? plen - klen - 1 : 0;
        if (klen == 0) continue;
        if (count == max_pairs) {
            ar_error_set(err, AR_ERR_BAD_REQUEST, "too many fields");
            rc = -1;
            break;
        }
        if (decode_form_part(piece, klen, piece, klen, &key, err) != 0 ||
            decode_form_part(v, vlen, piece, klen, &val, err) != 0) {
            rc = -1;
            break;
        }
        ar_kvlist_add(out, ar_buf_cstr(&key), key.len, ar_buf_cstr(&val), val.len);
        count++;
    }
    if (rc != 0) kvlist_truncate(out, orig);
    ar_buf_free(&key);
    ar_buf_free(&val);
    return rc;
}

/* ---- cookies ------------------------------------------------------------------------------------------ */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim_ows(const char **s, size_t *len)
{
    while (*len && is_ows(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_ows((*s)[*len - 1])) (*len)--;
}

int ar_parse_cookies(const char *header, ar_kvlist *out)
{
    if (!header) return -1;
    int added = 0;
    const char *p = header;
    for (;;) {
        const char *semi = strchr(p, ';');
        size_t plen = semi ? (size_t)(semi - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        if (eq) {
            const char *name = p, *val = eq + 1;
            size_t nlen = (size_t)(eq - p), vlen = plen - nlen - 1;
            trim_ows(&name, &nlen);
            trim_ows(&val, &vlen);
            if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
                val++;
                vlen -= 2;
            }
            if (nlen) {
                ar_kvlist_add(out, name, nlen, val, vlen);
                added++;
            }
        }
        if (!semi) break;
        p = semi + 1;
    }
    return added;
}

/* ---- parameterised header values ---------------------------------------------------------------------- */

/* RFC 2045 token character: visible ASCII except tspecials ()<>@,;:\"/[]?= */
static int is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

typedef struct header_param_search {
    const char *want;
    const char *val; /* raw value (without the quotes when quoted) */
    size_t vlen;
    int quoted;
    int found;       /* number of times the parameter appeared */
} header_param_search;

/* Walk a parameterised header value; reports the primary value and, if search is given, finds a parameter.
   0, or -1 if malformed. */
static int header_walk(const char *s, size_t len, const char **prim, size_t *prim_len, header_param_search *search)
{
    size_t i = 0;
    while (i < len && is_ows(s[i])) i++;
    size_t start = i;
    while (i < len && (is_token_char((unsigned char)s[i]) || s[i] == '/')) i++;
    if (i == start) return -1;
    if (prim) *prim = s + start;
    if (prim_len) *prim_len = i - start;
    while (i < len && is_ows(s[i])) i++;
    while (i < len) {
        if (s[i] != ';') return -1;
        i++;
        while (i < len && is_ows(s[i])) i++;
        if (i == len) break;
        if (s[i] == ';') continue;
        size_t nstart = i;
        while (i < len && is_token_char((unsigned char)s[i])) i++;
        size_t nlen = i - nstart;
        if (nlen == 0) return -1;
        while (i < len && is_ows(s[i])) i++;
        if (i == len || s[i] != '=') return -1;
        i++;
        while (i < len && is_ows(s[i])) i++;
        size_t vstart, vend;
        int quoted = 0;
        if (i < len && s[i] == '"') {
            quoted = 1;
            vstart = ++i;
            for (;;) {
                if (i >= len) return -1; /* unterminated */
                unsigned char c = (unsigned char)s[i];
                if (c == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
                    i += 2;
                } else if (c == '"') {
                    break;
                } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                    return -1;
                } else {
                    i++;
                }
            }
            vend = i++;
        } else {
            vstart = i;
            while (i < len && is_token_char((unsigned char)s[i])) i++;
            vend = i;
            if (vend == vstart) return -1;
        }
        if (search && strlen(search->want) == nlen && strncasecmp(search->want, s + nstart, nlen) == 0) {
            search->found++;
            search->val = s + vstart;
            search->vlen = vend - vstart;
            search->quoted = quoted;
        }
        while (i < len && is_ows(s[i])) i++;
    }
    return 0;
}

int ar_header_primary(const char *value, size_t len, ar_buf *out)
{
    const char *prim;
    size_t plen;
    if (!value || header_walk(value, len, &prim, &plen, NULL) != 0) return -1;
    ar_buf_reserve(out, plen);
    for (size_t i = 0; i < plen; i++) {
        char c = prim[i];
        out->data[out->len++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out->data[out->len] = '\0';
    return 0;
}

int ar_header_param(const char *value, size_t len, const char *param, ar_buf *out)
{
    header_param_search search = {.want = param};
    if (!value || !param || header_walk(value, len, NULL, NULL, &search) != 0) return -1;
    if (search.found == 0) return 1;
    if (search.found > 1) return -1;
    if (!search.quoted) {
        ar_buf_append(out, search.val, search.vlen);
        return 0;
    }
    ar_buf_reserve(out, search.vlen);
    for (size_t i = 0; i < search.vlen; i++) {
        if (search.val[i] == '\\' && i + 1 < search.vlen && (search.val[i + 1] == '"' || search.val[i + 1] == '\\'))
            i++;
        out->data[out->len++] = search.val[i];
    }
    out->data[out->len] = '\0';
    return 0;
}

int ar_content_type_mime(const char *header, char *mime, size_t mime_size)
{
    if (!header || !mime || mime_size == 0) return -1;
    ar_buf b = AR_BUF_INIT;
    int rc = -1;
    if (ar_header_primary(header, strlen(header), &b) == 0) {
        const char *slash = strchr(b.data, '/');
        if (slash && slash != b.data && slash[1] && !strchr(slash + 1, '/') && b.len < mime_size) {
            memcpy(mime, b.data, b.len + 1);
            rc = 0;
        }
    }
    ar_buf_free(&b);
    return rc;
}

int ar_content_type_param(const char *header, const char *param, char *val, size_t val_size)
{
    if (!header || !param || !val || val_size == 0) return -1;
    ar_buf b = AR_BUF_INIT;
    int rc = ar_header_param(header, strlen(header), param, &b);
    if (rc == 0) {
        if (b.len < val_size && !memchr(ar_buf_cstr(&b), '\0', b.len))
            memcpy(val, ar_buf_cstr(&b), b.len + 1);
        else
            rc = -1;
    }
    ar_buf_free(&b);
    return rc;
}

/* ---- JSON bodies -------------------------------------------------------------------------------------- */

/* 1 if arrays/objects nest deeper than max_depth. Linear, no recursion; brackets inside strings don't count. */
static int json_too_deep(const char *d, size_t len, size_t max_depth)
{
    size_t depth = 0;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = d[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) return 1;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

json_t *ar_parse_json_body(const char *data, size_t len, size_t max_depth, int require_object, ar_error *err)
{
    if (!data || len == 0) {
        ar_error_set(err, AR_ERR_INVALID_JSON, "the request body is empty");
        return NULL;
    }
    if (json_too_deep(data, len, max_depth)) {
        ar_error_set(err, AR_ERR_INVALID_JSON, "invalid JSON: nesting is deeper than %zu levels", max_depth);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        /* jansson quotes the offending input ("near '...'"); keep the message printable ASCII. */
        char text[sizeof jerr.text];
        size_t n = 0;
        for (; n + 1 < sizeof text && jerr.text[n]; n++) {
            unsigned char c = (unsigned char)jerr.text[n];
            text[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
        text[n] = '\0';
        ar_error_set(err, AR_ERR_INVALID_JSON, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                     text);
        return NULL;
    }
    if (require_object && !json_is_object(root)) {
        json_decref(root);
        ar_error_set(err, AR_ERR_BAD_REQUEST, "the JSON body must be an object");
        return NULL;
    }
    return root;
}

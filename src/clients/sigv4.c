/* sigv4.c — AWS Signature Version 4 signing (canonical request, string to sign, HMAC-SHA256 key chain with
 * libsodium, Authorization header, presigned URLs). Pure functions: no network, no clock except
 * ar_sigv4_amz_date's argument. */
#include "afterresume/clients/sigv4.h"
#include "afterresume/core/alloc.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void ar_sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, data, len);
    hex_encode(digest, sizeof digest, out);
}

void ar_sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int valid_amz_date(const char *d)
{
    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

static void hmac_sha256(const unsigned char *key, size_t keylen, const void *msg, size_t msglen,
                        unsigned char out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, msg, msglen);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

int ar_sigv4_signing_key(const char *secret_key, const char *date8, const char *region, const char *service,
                         unsigned char key[32])
{
    if (!secret_key || !date8 || strlen(date8) != 8 || !region || !*region || !service || !*service)
        return -1;
    size_t slen = strlen(secret_key);
    unsigned char *k0 = ar_malloc(slen + 4);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret_key, slen);
    unsigned char k1[32], k2[32], k3[32];
    hmac_sha256(k0, slen + 4, date8, 8, k1);
    sodium_memzero(k0, slen + 4);
    ar_free(k0);
    hmac_sha256(k1, 32, region, strlen(region), k2);
    hmac_sha256(k2, 32, service, strlen(service), k3);
    hmac_sha256(k3, 32, "aws4_request", 12, key);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    sodium_memzero(k3, sizeof k3);
    return 0;
}

void ar_sigv4_signature_hex(const unsigned char key[32], const char *string_to_sign, char out[65])
{
    unsigned char mac[32];
    hmac_sha256(key, 32, string_to_sign, strlen(string_to_sign), mac);
    hex_encode(mac, sizeof mac, out);
}

/* ---- canonical URI ---------------------------------------------------------------------------------- */

/* Append the URI-encoding of n bytes (unreserved kept, everything else %XX; '/' kept when keep_slash). */
static void uri_encode_n(ar_buf *out, const char *s, size_t n, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
            ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
            ar_buf_putc(out, (char)ch);
        } else {
            char esc[3] = {'%', digits[ch >> 4], digits[ch & 15]};
            ar_buf_append(out, esc, 3);
        }
    }
}

/* RFC 3986 remove_dot_segments plus collapsing of empty segments ("//"), as AWS does for non-S3 services.
 * A trailing slash of the input is kept (unless the result is just "/"). */
static void normalize_path(const char *path, ar_buf *out)
{
    size_t len = strlen(path);
    size_t nseg = 0, cap = 8;
    const char **seg = ar_malloc(cap * sizeof *seg);
    size_t *seglen = ar_malloc(cap * sizeof *seglen);
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 1 && start[0] == '.')
            continue;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            if (nseg > 0)
                nseg--;
            continue;
        }
        if (nseg == cap) {
            cap *= 2;
            seg = ar_realloc(seg, cap * sizeof *seg);
            seglen = ar_realloc(seglen, cap * sizeof *seglen);
        }
        seg[nseg] = start;
        seglen[nseg] = n;
        nseg++;
    }
    for (size_t i = 0; i < nseg; i++) {
        ar_buf_putc(out, '/');
        ar_buf_append(out, seg[i], seglen[i]);
    }
    if (nseg == 0 || (len > 0 && path[len - 1] == '/'))
        ar_buf_putc(out, '/');
    ar_free(seg);
    ar_free(seglen);
}

int ar_sigv4_canonical_uri(const char *path, int mode, ar_buf *out)
{
    if (!path || !*path) {
        ar_buf_putc(out, '/');
        return 0;
    }
    if (mode == AR_SIGV4_S3) {
        if (path[0] != '/')
            ar_buf_putc(out, '/');
        uri_encode_n(out, path, strlen(path), 1);
        return 0;
    }
    ar_buf norm = AR_BUF_INIT;
    normalize_path(path, &norm);
    uri_encode_n(out, ar_buf_cstr(&norm), norm.len, 1);
    ar_buf_free(&norm);
    return 0;
}

/* ---- canonical query string ------------------------------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode %XX sequences of s[0..n) (a '%' not followed by two hex digits stays literal), then URI-encode. */
static char *query_component(const char *s, size_t n)
{
    char *raw = ar_malloc(n + 1);
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            raw[r++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            raw[r++] = s[i];
        }
    }
    ar_buf enc = AR_BUF_INIT;
    uri_encode_n(&enc, raw, r, 0);
    ar_free(raw);
    return ar_buf_steal(&enc);
}

typedef struct query_param {
    char *key;
    char *value;
} query_param;

static int query_param_cmp(const void *a, const void *b)
{
    const query_param *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

int ar_sigv4_canonical_query(const char *query, ar_buf *out)
{
    if (!query || !*query)
        return 0;
    size_t n = 0, cap = 8;
    query_param *params = ar_malloc(cap * sizeof *params);
    const char *p = query;
    while (*p) {
        const char *end = strchr(p, '&');
        if (!end)
            end = p + strlen(p);
        if (end > p) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            if (n == cap) {
                cap *= 2;
                params = ar_realloc(params, cap * sizeof *params);
            }
            if (eq) {
                params[n].key = query_component(p, (size_t)(eq - p));
                params[n].value = query_component(eq + 1, (size_t)(end - eq - 1));
            } else {
                params[n].key = query_component(p, (size_t)(end - p));
                params[n].value = ar_strdup("");
            }
            n++;
        }
        p = *end ? end + 1 : end;
    }
    qsort(params, n, sizeof *params, query_param_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ar_buf_putc(out, '&');
        ar_buf_puts(out, params[i].key);
        ar_buf_putc(out, '=');
        ar_buf_puts(out, params[i].value);
        ar_free(params[i].key);
        ar_free(params[i].value);
    }
    ar_free(params);
    return 0;
}

/* ---- canonical headers ------------------------------------------------------------------------------ */

typedef struct canon_header {
    char *name;  /* lower-cased */
    char *value; /* trimmed, spaces collapsed */
    size_t order;
} canon_header;

static int canon_header_cmp(const void *a, const void *b)
{
    const canon_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static char *trim_collapse(const char *v)
{
    ar_buf b = AR_BUF_INIT;
    ar_buf_puts(&b, "");
    int pending_space = 0;
    for (const char *p = v; *p; p++) {
        if (is_space(*p)) {
            pending_space = b.len > 0;
            continue;
        }
        if (pending_space)
            ar_buf_putc(&b, ' ');
        pending_space = 0;
        ar_buf_putc(&b, *p);
    }
    return ar_buf_steal(&b);
}

static int valid_header_name(const char *n)
{
    if (!n || !*n)
        return 0;
    for (const unsigned char *p = (const unsigned char *)n; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == ':')
            return 0;
    return 1;
}

int ar_sigv4_canonical_request(const ar_sigv4_request *r, int mode, ar_buf *out, ar_buf *signed_headers)
{
    if (!r || !r->method || !*r->method || !r->payload_sha256_hex || (r->nheaders && !r->headers))
        return -1;
    for (size_t i = 0; i < r->nheaders; i++)
        if (!valid_header_name(r->headers[i].name) || !r->headers[i].value)
            return -1;

    canon_header *h = ar_calloc(r->nheaders ? r->nheaders : 1, sizeof *h);
    for (size_t i = 0; i < r->nheaders; i++) {
        h[i].name = ar_strdup(r->headers[i].name);
        for (char *p = h[i].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        h[i].value = trim_collapse(r->headers[i].value);
        h[i].order = i;
    }
    qsort(h, r->nheaders, sizeof *h, canon_header_cmp);

    ar_buf_puts(out, r->method);
    ar_buf_putc(out, '\n');
    ar_sigv4_canonical_uri(r->path, mode, out);
    ar_buf_putc(out, '\n');
    ar_sigv4_canonical_query(r->query, out);
    ar_buf_putc(out, '\n');
    ar_buf names = AR_BUF_INIT;
    ar_buf_puts(&names, "");
    for (size_t i = 0; i < r->nheaders; i++) {
        int same_as_previous = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
        if (same_as_previous) {
            ar_buf_putc(out, ',');
        } else {
            if (i > 0)
                ar_buf_putc(out, '\n');
            ar_buf_puts(out, h[i].name);
            ar_buf_putc(out, ':');
            if (names.len)
                ar_buf_putc(&names, ';');
            ar_buf_puts(&names, h[i].name);
        }
        ar_buf_puts(out, h[i].value);
    }
    if (r->nheaders)
        ar_buf_putc(out, '\n');
    ar_buf_putc(out, '\n');
    ar_buf_append(out, names.data, names.len);
    ar_buf_putc(out, '\n');
    ar_buf_puts(out, r->payload_sha256_hex);
    if (signed_headers)
        ar_buf_append(signed_headers, names.data, names.len);

    ar_buf_free(&names);
    for (size_t i = 0; i < r->nheaders; i++) {
        ar_free(h[i].name);
        ar_free(h[i].value);
    }
    ar_free(h);
    return 0;
}

/* ---- signing ---------------------------------------------------------------------------------------- */

static int credentials_ok(const ar_sigv4_credentials *c)
{
    return c && c->access_key && *c->access_key && c->secret_key && c->region && *c->region && c->service &&
           *c->service;
}

/* Signature of an already built canonical request; fills string_to_sign when not NULL. */
static int sign_canonical(const char *canonical, const ar_sigv4_credentials *c, const char *amz_date,
                          ar_buf *string_to_sign, char signature[65])
{
    char date8[9];
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    char creq_hash[65];
    ar_sigv4_sha256_hex(canonical, strlen(canonical), creq_hash);
    ar_buf sts = AR_BUF_INIT;
    ar_buf_printf(&sts, SIGV4_ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date8, c->region, c->service,
                  creq_hash);
    unsigned char key[32];
    if (ar_sigv4_signing_key(c->secret_key, date8, c->region, c->service, key) != 0) {
        ar_buf_free(&sts);
        return -1;
    }
    ar_sigv4_signature_hex(key, ar_buf_cstr(&sts), signature);
    sodium_memzero(key, sizeof key);
    if (string_to_sign)
        ar_buf_append(string_to_sign, sts.data, sts.len);
    ar_buf_free(&sts);
    return 0;
}

int ar_sigv4_sign(const ar_sigv4_request *r, const ar_sigv4_credentials *c, const char *amz_date, int mode,
                  ar_buf *authorization_out, ar_buf *canonical_out, ar_buf *string_to_sign_out)
{
    if (!r || !credentials_ok(c) || !valid_amz_date(amz_date) || !authorization_out)
        return -1;

    /* Temporary credentials: the token header is signed; add it when the caller did not list it. */
    ar_sigv4_request req = *r;
    ar_sigv4_header *with_token = NULL;
    if (c->session_token) {
        int present = 0;
        for (size_t i = 0; i < r->nheaders; i++)
            if (r->headers[i].name && strcasecmp(r->headers[i].name, "x-amz-security-token") == 0)
                present = 1;
        if (!present) {
            with_token = ar_malloc((r->nheaders + 1) * sizeof *with_token);
            if (r->nheaders)
                memcpy(with_token, r->headers, r->nheaders * sizeof *with_token);
            with_token[r->nheaders].name = "x-amz-security-token";
            with_token[r->nheaders].value = c->session_token;
            req.headers = with_token;
            req.nheaders = r->nheaders + 1;
        }
    }

    ar_buf canonical = AR_BUF_INIT, names = AR_BUF_INIT;
    int rc = ar_sigv4_canonical_request(&req, mode, &canonical, &names);
    char signature[65];
    if (rc == 0)
        rc = sign_canonical(ar_buf_cstr(&canonical), c, amz_date, string_to_sign_out, signature);
    if (rc == 0) {
        ar_buf_printf(authorization_out, SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
                      "SignedHeaders=%s, Signature=%s", c->access_key, amz_date, c->region, c->service,
                      ar_buf_cstr(&names), signature);
        if (canonical_out)
            ar_buf_append(canonical_out, canonical.data, canonical.len);
    }
    ar_buf_free(&canonical);
    ar_buf_free(&names);
    ar_free(with_token);
    return rc;
}

int ar_sigv4_host_from_endpoint(const char *endpoint, ar_buf *out)
{
    if (!endpoint)
        return -1;
    const char *sep = strstr(endpoint, "://");
    if (!sep || sep == endpoint)
        return -1;
    size_t scheme_len = (size_t)(sep - endpoint);
    const char *auth = sep + 3;
    size_t n = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    if (n == 0)
        return -1;
    /* The port is what follows the last ':' outside an IPv6 literal's brackets. */
    size_t host_len = n;
    const char *close = memchr(auth, ']', n);
    const char *colon = NULL;
    for (const char *p = close ? close : auth; p < auth + n; p++)
        if (*p == ':')
            colon = p;
    if (colon) {
        const char *port = colon + 1;
        size_t port_len = (size_t)(auth + n - port);
        int is_default = (scheme_len == 4 && strncasecmp(endpoint, "http", 4) == 0 && port_len == 2 &&
                          memcmp(port, "80", 2) == 0) ||
                         (scheme_len == 5 && strncasecmp(endpoint, "https", 5) == 0 && port_len == 3 &&
                          memcmp(port, "443", 3) == 0);
        if (is_default || port_len == 0)
            host_len = (size_t)(colon - auth);
    }
    ar_buf_append(out, auth, host_len);
    return 0;
}

int ar_sigv4_presign_url(const char *endpoint, const char *host, const char *path, const ar_sigv4_credentials *c,
                         const char *amz_date, long expires_s, ar_buf *url_out)
{
    if (!endpoint || !credentials_ok(c) || !valid_amz_date(amz_date) || expires_s < 1 || expires_s > 604800 ||
        !url_out)
        return -1;
    ar_buf host_buf = AR_BUF_INIT;
    if (!host) {
        if (ar_sigv4_host_from_endpoint(endpoint, &host_buf) != 0)
            return -1;
        host = ar_buf_cstr(&host_buf);
    }

    ar_buf query = AR_BUF_INIT, credential = AR_BUF_INIT;
    ar_buf_printf(&credential, "%s/%.8s/%s/%s/aws4_request", c->access_key, amz_date, c->region, c->service);
    ar_buf_puts(&query, "X-Amz-Algorithm=" SIGV4_ALGORITHM "&X-Amz-Credential=");
    ar_buf_put_urlencoded(&query, ar_buf_cstr(&credential), NULL);
    ar_buf_printf(&query, "&X-Amz-Date=%s&X-Amz-Expires=%ld", amz_date, expires_s);
    if (c->session_token) {
        ar_buf_puts(&query, "&X-Amz-Security-Token=");
        ar_buf_put_urlencoded(&query, c->session_token, NULL);
    }
    ar_buf_puts(&query, "&X-Amz-SignedHeaders=host");

    ar_sigv4_header h = {"host", host};
    ar_sigv4_request r = {.method = "GET", .path = path, .query = ar_buf_cstr(&query), .headers = &h,
                          .nheaders = 1, .payload_sha256_hex = AR_SIGV4_UNSIGNED_PAYLOAD};
    ar_buf canonical = AR_BUF_INIT, canonical_query = AR_BUF_INIT;
    char signature[65];
    int rc = ar_sigv4_canonical_request(&r, AR_SIGV4_S3, &canonical, NULL);
    if (rc == 0)
        rc = sign_canonical(ar_buf_cstr(&canonical), c, amz_date, NULL, signature);
    if (rc == 0) {
        ar_sigv4_canonical_query(r.query, &canonical_query);
        ar_buf_puts(url_out, endpoint);
        ar_sigv4_canonical_uri(path, AR_SIGV4_S3, url_out);
        ar_buf_printf(url_out, "?%s&X-Amz-Signature=%s", ar_buf_cstr(&canonical_query), signature);
    }
    ar_buf_free(&canonical);
    ar_buf_free(&canonical_query);
    ar_buf_free(&query);
    ar_buf_free(&credential);
    ar_buf_free(&host_buf);
    return rc;
}

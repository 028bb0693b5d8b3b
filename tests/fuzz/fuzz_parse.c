/* fuzz_parse.c — libFuzzer target for the request parsers: UTF-8 validation (checked against an independent
 * decoder), percent-decoding (against a reference decoder), urlencoded forms, cookies, Content-Type and
 * parameterised headers, and JSON bodies (accepted documents must round-trip). Every input goes to every parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/core/utf8.h"
#include "afterresume/http/parse.h"

#define CHECK(cond)                                                                                               \
    do {                                                                                                          \
        if (!(cond)) abort();                                                                                     \
    } while (0)

/* Reference UTF-8 check: decode each code point from its bit pattern, then range-check it. */
static int reference_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, min;
        if ((c & 0x80) == 0) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + n >= len) return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += n + 1;
    }
    return 1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Reference percent-decoder: -1 on a bad escape, else the decoded length (out has room for len bytes). */
static long reference_percent_decode(const unsigned char *s, size_t len, int plus, unsigned char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (i + 2 >= len) return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return -1;
            out[o++] = (unsigned char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = (plus && s[i] == '+') ? ' ' : s[i];
        }
    }
    return (long)o;
}

static void fuzz_percent_and_forms(const uint8_t *data, size_t size)
{
    unsigned char *ref = malloc(size + 1);
    for (int plus = 0; plus < 2; plus++) {
        ar_buf b = AR_BUF_INIT;
        ar_buf_puts(&b, "p");
        int rc = ar_percent_decode((const char *)data, size, plus, &b);
        long want = reference_percent_decode(data, size, plus, ref);
        CHECK((rc == 0) == (want >= 0));
        if (rc == 0) {
            CHECK(b.len == (size_t)want + 1);
            CHECK(memcmp(b.data + 1, ref, (size_t)want) == 0);
            CHECK(b.data[b.len] == '\0');
        } else {
            CHECK(b.len == 1 && strcmp(b.data, "p") == 0);
        }
        ar_buf_free(&b);
    }
    free(ref);

    ar_kvlist l;
    ar_kvlist_init(&l);
    ar_kvlist_add(&l, "pre", 3, "x", 1);
    ar_error err = {0};
    int rc = ar_parse_urlencoded((const char *)data, size, 16, &l, &err);
    if (rc == 0) {
        CHECK(l.len <= 17);
        for (size_t i = 1; i < l.len; i++) {
            CHECK(l.items[i].key[0] != '\0');
            CHECK(ar_utf8_valid(l.items[i].key, strlen(l.items[i].key)));
            CHECK(ar_utf8_valid(l.items[i].value, strlen(l.items[i].value)));
        }
    } else {
        CHECK(rc == -1 && err.code == AR_ERR_BAD_REQUEST && err.message[0]);
        CHECK(l.len == 1);
        /* error messages go into JSON bodies: they must be printable ASCII */
        for (const char *p = err.message; *p; p++) CHECK(*p >= 0x20 && *p < 0x7f);
    }
    ar_kvlist_free(&l);
}

static void fuzz_headers(const uint8_t *data, size_t size)
{
    char *s = ar_strndup((const char *)data, size); /* headers are C strings: stops at a NUL */
    ar_kvlist l;
    ar_kvlist_init(&l);
    int n = ar_parse_cookies(s, &l);
    CHECK(n >= 0 && (size_t)n == l.len);
    for (size_t i = 0; i < l.len; i++) CHECK(l.items[i].key[0] != '\0');
    ar_kvlist_free(&l);

    char mime[64], val[128];
    if (ar_content_type_mime(s, mime, sizeof mime) == 0) {
        size_t slashes = 0;
        for (const char *p = mime; *p; p++) {
            CHECK(!(*p >= 'A' && *p <= 'Z'));
            slashes += *p == '/';
        }
        CHECK(slashes == 1 && mime[0] != '/');
    }
    static const char *params[] = {"boundary", "charset", "name", "filename", "filename*"};
    for (size_t i = 0; i < sizeof params / sizeof *params; i++) {
        int rc = ar_content_type_param(s, params[i], val, sizeof val);
        CHECK(rc >= -1 && rc <= 1);
        if (rc == 0) CHECK(strlen(val) < sizeof val);
        ar_buf b = AR_BUF_INIT;
        int rc2 = ar_header_param(s, strlen(s), params[i], &b);
        CHECK(rc2 >= -1 && rc2 <= 1);
        if (rc2 == 0 && b.len < sizeof val) CHECK(rc == 0 && memcmp(val, b.data, b.len) == 0);
        if (rc2 == 0) CHECK(b.len <= strlen(s));
        ar_buf_free(&b);
    }
    free(s);
}

static void fuzz_json(const uint8_t *data, size_t size)
{
    for (int require_object = 0; require_object < 2; require_object++) {
        ar_error err = {0};
        json_t *j = ar_parse_json_body((const char *)data, size, 32, require_object, &err);
        if (!j) {
            CHECK(err.code == AR_ERR_INVALID_JSON || (require_object && err.code == AR_ERR_BAD_REQUEST));
            for (const char *p = err.message; *p; p++) CHECK(*p >= 0x20 && *p < 0x7f);
            continue;
        }
        CHECK(!require_object || json_is_object(j));
        char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
        CHECK(text != NULL);
        ar_error err2 = {0};
        json_t *again = ar_parse_json_body(text, strlen(text), 32, require_object, &err2);
        CHECK(again != NULL);
        CHECK(json_equal(j, again));
        json_decref(again);
        free(text);
        json_decref(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CHECK(ar_utf8_valid((const char *)data, size) == reference_utf8_valid(data, size));
    fuzz_percent_and_forms(data, size);
    fuzz_headers(data, size);
    fuzz_json(data, size);
    return 0;
}

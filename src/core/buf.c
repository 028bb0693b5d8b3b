/* buf.c — growable byte/string buffer used for building responses, SQL-free text and logs. */
#include "afterresume/core/buf.h"
#include "afterresume/core/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ar_buf_init(ar_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ar_buf_free(ar_buf *b)
{
    free(b->data);
    ar_buf_init(b);
}

void ar_buf_reset(ar_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void ar_buf_reserve(ar_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->data = ar_realloc(b->data, cap);
    b->cap = cap;
}

void ar_buf_append(ar_buf *b, const void *data, size_t len)
{
    ar_buf_reserve(b, len);
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void ar_buf_puts(ar_buf *b, const char *s)
{
    ar_buf_append(b, s, strlen(s));
}

void ar_buf_putc(ar_buf *b, char c)
{
    ar_buf_append(b, &c, 1);
}

void ar_buf_printf(ar_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        ar_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void ar_buf_put_urlencoded(ar_buf *b, const char *s, const char *also_safe)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p) ||
            (also_safe && strchr(also_safe, *p)))
            ar_buf_putc(b, (char)*p);
        else
            ar_buf_printf(b, "%%%02X", *p);
    }
}

const char *ar_buf_cstr(const ar_buf *b)
{
    return b->data ? b->data : "";
}

char *ar_buf_steal(ar_buf *b)
{
    char *p = b->data ? b->data : ar_strdup("");
    ar_buf_init(b);
    return p;
}

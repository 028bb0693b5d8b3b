/* buf.h — growable byte/string buffer; always NUL-terminated, never fails (aborts on OOM). */
#ifndef AFTERRESUME_CORE_BUF_H
#define AFTERRESUME_CORE_BUF_H
#include <stddef.h>

typedef struct ar_buf {
    char *data;   /* NUL-terminated; NULL until first append (use ar_buf_cstr) */
    size_t len;
    size_t cap;
} ar_buf;

#define AR_BUF_INIT {NULL, 0, 0}

void ar_buf_init(ar_buf *b);
void ar_buf_free(ar_buf *b);
void ar_buf_reset(ar_buf *b);                   /* len = 0, keeps capacity */
void ar_buf_reserve(ar_buf *b, size_t extra);
void ar_buf_append(ar_buf *b, const void *data, size_t len);
void ar_buf_puts(ar_buf *b, const char *s);
void ar_buf_putc(ar_buf *b, char c);
void ar_buf_printf(ar_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Percent-encode s for a URL: unreserved characters (A-Z a-z 0-9 - _ . ~) and those in also_safe (e.g. "/")
 * are kept, every other byte becomes %XX. */
void ar_buf_put_urlencoded(ar_buf *b, const char *s, const char *also_safe);
const char *ar_buf_cstr(const ar_buf *b);       /* "" when empty */
char *ar_buf_steal(ar_buf *b);                  /* caller frees; buffer is reset to empty */

#endif

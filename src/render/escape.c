/* escape.c — HTML escaping of text placed into markup (element content and quoted attribute values). */
#include "afterresume/render/escape.h"

#include <string.h>

void ar_html_escape(ar_buf *out, const char *s, size_t len)
{
    ar_buf_reserve(out, len);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep;
        size_t rep_len;
        switch (s[i]) {
        case '&': rep = "&amp;"; rep_len = 5; break;
        case '<': rep = "&lt;"; rep_len = 4; break;
        case '>': rep = "&gt;"; rep_len = 4; break;
        case '"': rep = "&quot;"; rep_len = 6; break;
        case '\'': rep = "&#39;"; rep_len = 5; break;
        default: continue;
        }
        if (i > run) ar_buf_append(out, s + run, i - run);
        ar_buf_append(out, rep, rep_len);
        run = i + 1;
    }
    if (len > run) ar_buf_append(out, s + run, len - run);
}

void ar_html_escape_cstr(ar_buf *out, const char *s)
{
    if (s) ar_html_escape(out, s, strlen(s));
}

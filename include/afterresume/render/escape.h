/* escape.h — HTML escaping for template output and hand-built markup. Escaping is an API: only functions
 * with "raw" in their name emit unescaped text; everything here escapes. */
#ifndef AFTERRESUME_RENDER_ESCAPE_H
#define AFTERRESUME_RENDER_ESCAPE_H
#include <stddef.h>

#include "afterresume/core/buf.h"

/* Append `s[0..len)` to `out` with & < > " ' replaced by &amp; &lt; &gt; &quot; &#39;. */
void ar_html_escape(ar_buf *out, const char *s, size_t len);
/* Same for a NUL-terminated string (NULL appends nothing). */
void ar_html_escape_cstr(ar_buf *out, const char *s);

#endif

/* markdown.h — a safe Markdown to HTML renderer for worklog entry content (a CommonMark subset).
 *
 * Blocks: paragraphs, ATX and setext headings, fenced and indented code blocks, bullet and ordered lists
 * (nested, tight or loose), blockquotes, thematic breaks. Inlines: emphasis and strong (* and _), code
 * spans, links [text](url "title"), autolinks <https://...> and <user@example.com>, bare http(s) URLs,
 * backslash escapes, hard breaks (two trailing spaces or a backslash).
 *
 * Safety, by construction rather than by a later sanitiser:
 *   - raw HTML is never passed through: every character of user text is HTML-escaped (& < > " ');
 *     character references are not decoded either ("&lt;" shows as typed);
 *   - links only for http:, https: and mailto: destinations; anything else (javascript:, data:, relative
 *     paths) stays literal text; hrefs are percent-encoded and attribute-escaped and carry
 *     rel="nofollow noopener";
 *   - invalid UTF-8 and NUL bytes become U+FFFD, so the output is always valid UTF-8;
 *   - nesting of blockquotes and lists is bounded (AR_MARKDOWN_MAX_DEPTH; deeper markers are text),
 *     input beyond AR_MARKDOWN_MAX_INPUT bytes is cut, and every inline search is bounded so hostile
 *     input (100k '*', '[', '`', '>' ...) renders in roughly linear time.
 * The output is therefore safe to insert unescaped ({{{triple}}}) into a template. Thread-safe: no globals. */
#ifndef AFTERRESUME_RENDER_MARKDOWN_H
#define AFTERRESUME_RENDER_MARKDOWN_H
#include <stddef.h>

#include "afterresume/core/buf.h"

#define AR_MARKDOWN_MAX_DEPTH 16          /* nested blockquotes/lists */
#define AR_MARKDOWN_MAX_INPUT (512 * 1024) /* bytes rendered; the rest is dropped */

enum {
    AR_MARKDOWN_SHIFT_HEADINGS = 1 << 0, /* "# x" renders as <h2> (h1..h5 -> h2..h6): content under a page title */
};

/* Append the HTML rendering of src[0..len) to out. flags: AR_MARKDOWN_* bits (0 = plain CommonMark levels). */
void ar_markdown_render(ar_buf *out, const char *src, size_t len, unsigned flags);

/* Same, into a fresh heap string (caller frees). src may be NULL (renders nothing). */
char *ar_markdown_to_html(const char *src, unsigned flags);

/* Append a plain-text excerpt of the Markdown (markers stripped loosely, whitespace collapsed, at most
 * max_chars characters, cut at a word boundary with "…"): for timeline cards. Not HTML-escaped. */
void ar_markdown_excerpt(ar_buf *out, const char *src, size_t max_chars);

#endif

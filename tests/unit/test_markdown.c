/* test_markdown.c — unit tests for the safe Markdown renderer (src/render/markdown.c): the supported
 * CommonMark subset, escaping of raw HTML, refused link schemes, attribute escaping of hrefs, nested
 * containers, code kept verbatim (escaped), UTF-8 repair, and hostile inputs that must finish fast with
 * output whose every '<' starts one of the renderer's own tags. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"
#include "afterresume/render/markdown.h"

static char *md(const char *src)
{
    return ar_markdown_to_html(src, 0);
}

#define ASSERT_MD(src, expected)                                                                                       \
    do {                                                                                                               \
        char *got_ = md(src);                                                                                          \
        ck_assert_str_eq(got_, expected);                                                                              \
        free(got_);                                                                                                    \
    } while (0)

#define ASSERT_CONTAINS(html, needle) ck_assert_msg(strstr(html, needle) != NULL, "missing %s in:\n%s", needle, html)
#define ASSERT_LACKS(html, needle) ck_assert_msg(strstr(html, needle) == NULL, "unexpected %s in:\n%s", needle, html)

/* Every '<' in the output must open or close one of the tags the renderer emits. */
static void assert_only_own_tags(const char *html)
{
    static const char *const tags[] = {"p>", "/p>", "h1>", "/h1>", "h2>", "/h2>", "h3>", "/h3>", "h4>", "/h4>",
                                       "h5>", "/h5>", "h6>", "/h6>", "em>", "/em>", "strong>", "/strong>", "code>",
                                       "code class=\"language-", "/code>", "pre>", "/pre>", "ul>", "/ul>", "ol>",
                                       "ol start=\"", "/ol>", "li>", "/li>", "blockquote>", "/blockquote>", "hr />",
                                       "br />", "a href=\"", "/a>"};
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        bool ok = false;
        for (size_t i = 0; i < sizeof tags / sizeof tags[0] && !ok; i++)
            ok = strncmp(p + 1, tags[i], strlen(tags[i])) == 0;
        ck_assert_msg(ok, "foreign markup at: %.40s", p);
    }
    /* every href is an allowed scheme */
    for (const char *p = strstr(html, "href=\""); p; p = strstr(p + 1, "href=\"")) {
        const char *u = p + 6;
        ck_assert_msg(strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0 || strncmp(u, "mailto:", 7) == 0,
                      "bad href: %.40s", u);
    }
}

START_TEST(md_paragraphs_and_headings)
{
    ASSERT_MD("", "");
    ASSERT_MD("hello", "<p>hello</p>\n");
    ASSERT_MD("one\ntwo\n\nthree", "<p>one\ntwo</p>\n<p>three</p>\n");
    ASSERT_MD("# Title", "<h1>Title</h1>\n");
    ASSERT_MD("### Three ###", "<h3>Three</h3>\n");
    ASSERT_MD("####### seven", "<p>####### seven</p>\n");
    ASSERT_MD("#nospace", "<p>#nospace</p>\n");
    ASSERT_MD("Title\n=====", "<h1>Title</h1>\n");
    ASSERT_MD("Sub\n---", "<h2>Sub</h2>\n");
    char *shifted = ar_markdown_to_html("# Top\n###### Six", AR_MARKDOWN_SHIFT_HEADINGS);
    ck_assert_str_eq(shifted, "<h2>Top</h2>\n<h6>Six</h6>\n");
    free(shifted);
    ASSERT_MD("a\n\n---\n\nb", "<p>a</p>\n<hr />\n<p>b</p>\n");
    ASSERT_MD("* * *", "<hr />\n");
    ASSERT_MD("line  \nbreak\\\nend", "<p>line<br />\nbreak<br />\nend</p>\n");
    ASSERT_MD("windows\r\nlines\r\n", "<p>windows\nlines</p>\n");
}
END_TEST

START_TEST(md_emphasis)
{
    ASSERT_MD("*em* _em_ **strong** __strong__", "<p><em>em</em> <em>em</em> <strong>strong</strong> <strong>strong</strong></p>\n");
    ASSERT_MD("***both***", "<p><em><strong>both</strong></em></p>\n");
    ASSERT_MD("**a*", "<p>*<em>a</em></p>\n");
    ASSERT_MD("*a**", "<p><em>a</em>*</p>\n");
    ASSERT_MD("snake_case_name", "<p>snake_case_name</p>\n");
    ASSERT_MD("2 * 3 * 4", "<p>2 * 3 * 4</p>\n");
    ASSERT_MD("\\*not em\\*", "<p>*not em*</p>\n");
    ASSERT_MD("*a `*` b*", "<p><em>a <code>*</code> b</em></p>\n");
}
END_TEST

START_TEST(md_code)
{
    ASSERT_MD("use `a <b> & c`", "<p>use <code>a &lt;b&gt; &amp; c</code></p>\n");
    ASSERT_MD("`` a`b ``", "<p><code>a`b</code></p>\n");
    ASSERT_MD("`unclosed", "<p>`unclosed</p>\n");
    /* fenced code keeps the text verbatim (escaped), markers and all */
    ASSERT_MD("```js\n<script>alert(\"x\")</script>\n  **not bold** [x](http://y)\n```",
              "<pre><code class=\"language-js\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\n  **not bold** "
              "[x](http://y)\n</code></pre>\n");
    ASSERT_MD("~~~\nno close", "<pre><code>no close\n</code></pre>\n");
    ASSERT_MD("```\" onclick=\"x\nhi\n```", "<pre><code>hi\n</code></pre>\n");
    ASSERT_MD("    indented <code>\n    more", "<pre><code>indented &lt;code&gt;\nmore\n</code></pre>\n");
    ASSERT_MD("\tx = 1", "<pre><code>x = 1\n</code></pre>\n");
}
END_TEST

START_TEST(md_lists)
{
    ASSERT_MD("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
    ASSERT_MD("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n");
    ASSERT_MD("3) three\n4) four", "<ol start=\"3\">\n<li>three</li>\n<li>four</li>\n</ol>\n");
    ASSERT_MD("- a\n  - b\n    - c\n- d",
              "<ul>\n<li>a\n<ul>\n<li>b\n<ul>\n<li>c</li>\n</ul>\n</li>\n</ul>\n</li>\n<li>d</li>\n</ul>\n");
    ASSERT_MD("1. x\n   - y\n2. z", "<ol>\n<li>x\n<ul>\n<li>y</li>\n</ul>\n</li>\n<li>z</li>\n</ol>\n");
    ASSERT_MD("- a\n\n- b", "<ul>\n<li><p>a</p>\n</li>\n<li><p>b</p>\n</li>\n</ul>\n");
    ASSERT_MD("- a\n+ b", "<ul>\n<li>a</li>\n</ul>\n<ul>\n<li>b</li>\n</ul>\n");
    ASSERT_MD("- lazy\ncontinued", "<ul>\n<li>lazy\ncontinued</li>\n</ul>\n");
    ASSERT_MD("text\n- item", "<p>text</p>\n<ul>\n<li>item</li>\n</ul>\n");
    ASSERT_MD("In 2024\n2. not a list", "<p>In 2024\n2. not a list</p>\n");
    ASSERT_MD("- ```\n  code\n  ```", "<ul>\n<li><pre><code>code\n</code></pre>\n</li>\n</ul>\n");
}
END_TEST

START_TEST(md_blockquotes)
{
    ASSERT_MD("> quote\n> more", "<blockquote>\n<p>quote\nmore</p>\n</blockquote>\n");
    ASSERT_MD("> lazy\nline", "<blockquote>\n<p>lazy\nline</p>\n</blockquote>\n");
    ASSERT_MD("> a\n>\n> > b", "<blockquote>\n<p>a</p>\n<blockquote>\n<p>b</p>\n</blockquote>\n</blockquote>\n");
    ASSERT_MD("> - x\n> - y", "<blockquote>\n<ul>\n<li>x</li>\n<li>y</li>\n</ul>\n</blockquote>\n");
}
END_TEST

START_TEST(md_links)
{
    ASSERT_MD("[site](https://example.com)",
              "<p><a href=\"https://example.com\" rel=\"nofollow noopener\">site</a></p>\n");
    ASSERT_MD("[t](http://x.y/a?b=1&c=2 \"The <title>\")",
              "<p><a href=\"http://x.y/a?b=1&amp;c=2\" title=\"The &lt;title&gt;\" rel=\"nofollow noopener\">t</a></p>\n");
    ASSERT_MD("[mail](mailto:me@example.com)",
              "<p><a href=\"mailto:me@example.com\" rel=\"nofollow noopener\">mail</a></p>\n");
    ASSERT_MD("[*em* text](https://e.x)",
              "<p><a href=\"https://e.x\" rel=\"nofollow noopener\"><em>em</em> text</a></p>\n");
    ASSERT_MD("<https://e.x/p?q=1>",
              "<p><a href=\"https://e.x/p?q=1\" rel=\"nofollow noopener\">https://e.x/p?q=1</a></p>\n");
    ASSERT_MD("<me@example.com>",
              "<p><a href=\"mailto:me@example.com\" rel=\"nofollow noopener\">me@example.com</a></p>\n");
    ASSERT_MD("see https://e.x/a_b.",
              "<p>see <a href=\"https://e.x/a_b\" rel=\"nofollow noopener\">https://e.x/a_b</a>.</p>\n");
    ASSERT_MD("(https://e.x/w_(x))",
              "<p>(<a href=\"https://e.x/w_(x)\" rel=\"nofollow noopener\">https://e.x/w_(x)</a>)</p>\n");
    /* quotes, spaces, non-ASCII and angle brackets in a destination are encoded, never break out */
    ASSERT_MD("[x](<https://e.x/a b\"c>)",
              "<p><a href=\"https://e.x/a%20b%22c\" rel=\"nofollow noopener\">x</a></p>\n");
    ASSERT_MD("[x](https://e.x/é'q)",
              "<p><a href=\"https://e.x/%C3%A9&#39;q\" rel=\"nofollow noopener\">x</a></p>\n");
    /* no links inside links */
    ASSERT_MD("[a [b](http://x) c](http://y)",
              "<p>[a <a href=\"http://x\" rel=\"nofollow noopener\">b</a> c](<a href=\"http://y\" rel=\"nofollow "
              "noopener\">http://y</a>)</p>\n");
}
END_TEST

START_TEST(md_refuses_dangerous_links)
{
    const char *bad[] = {"[x](javascript:alert(1))", "[x](JavaScript:alert(1))", "[x](data:text/html,<b>)",
                         "[x](vbscript:msgbox)", "[x](/relative/path)", "[x](//evil.example)",
                         "<javascript:alert(1)>", "[x](java\\script:alert(1))", "[x]( javascript:alert(1) )",
                         "[x](&#106;avascript:alert(1))", "<data:text/html;base64,PHNjcmlwdD4=>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *html = md(bad[i]);
        ASSERT_LACKS(html, "<a ");
        ASSERT_LACKS(html, "href");
        assert_only_own_tags(html);
        free(html);
    }
    char *html = md("[x](javascript:alert(1))");
    ck_assert_str_eq(html, "<p>[x](javascript:alert(1))</p>\n");
    free(html);
}
END_TEST

START_TEST(md_escapes_raw_html)
{
    ASSERT_MD("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
    ASSERT_MD("<div onclick=\"x()\">hi</div>", "<p>&lt;div onclick=&quot;x()&quot;&gt;hi&lt;/div&gt;</p>\n");
    ASSERT_MD("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n");
    ASSERT_MD("a <!-- comment --> & 'q'", "<p>a &lt;!-- comment --&gt; &amp; &#39;q&#39;</p>\n");
    ASSERT_MD("&lt;b&gt; &#60;", "<p>&amp;lt;b&amp;gt; &amp;#60;</p>\n");
    ASSERT_MD("# <b>x</b>", "<h1>&lt;b&gt;x&lt;/b&gt;</h1>\n");
    ASSERT_MD("- <i>x</i>", "<ul>\n<li>&lt;i&gt;x&lt;/i&gt;</li>\n</ul>\n");
    ASSERT_MD("[<b>t</b>](https://x.y)",
              "<p><a href=\"https://x.y\" rel=\"nofollow noopener\">&lt;b&gt;t&lt;/b&gt;</a></p>\n");
}
END_TEST

START_TEST(md_repairs_utf8)
{
    const char src[] = "caf\xc3\xa9 \xff\xfe \xed\xa0\x80 x\0y";
    ar_buf out = AR_BUF_INIT;
    ar_markdown_render(&out, src, sizeof src - 1, 0);
    ck_assert(ar_utf8_valid(out.data, out.len));
    ck_assert_ptr_null(memchr(out.data, '\0', out.len));
    ASSERT_CONTAINS(out.data, "café");
    ASSERT_CONTAINS(out.data, "\xEF\xBF\xBD");
    ar_buf_free(&out);
}
END_TEST

/* Time budget per hostile input: generous for a loaded machine and sanitizers, far below what a quadratic
 * algorithm needs on 100k units (minutes). */
#if defined(__SANITIZE_ADDRESS__)
#define MD_BUDGET 15.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MD_BUDGET 15.0
#endif
#endif
#ifndef MD_BUDGET
#define MD_BUDGET 3.0
#endif

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Render `count` copies of `unit`; must finish within MD_BUDGET seconds with only the renderer's own tags. */
static void hostile(const char *unit, size_t count)
{
    size_t ul = strlen(unit);
    char *src = ar_malloc(ul * count + 1);
    for (size_t i = 0; i < count; i++) memcpy(src + i * ul, unit, ul);
    src[ul * count] = '\0';
    double t0 = now_seconds();
    char *html = ar_markdown_to_html(src, 0);
    double elapsed = now_seconds() - t0;
    ck_assert_msg(elapsed < MD_BUDGET, "'%s' x %zu took %.3f s", unit, count, elapsed);
    ck_assert(ar_utf8_valid(html, strlen(html)));
    assert_only_own_tags(html);
    free(html);
    free(src);
}

START_TEST(md_pathological_inputs)
{
    const char *units[] = {"*", "[", "]", "`", "_", ">", "<", "\\", "*a", "a*", "_a*", "**a_", "[a](", "[](",
                           "[a](b \"", "`a``", "> ", "- ", "1. ", "> - ", "<http://", "http://x ", "[*a](",
                           "![", "((((", "<a@", "a\n", "  - x\n", "    ", "```\n", "# ", "*_"};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) hostile(units[i], 100000);
    /* nested containers far past the depth limit still render (as text) and quickly */
    hostile("> ", 50000);
    char *deep = ar_malloc(200000);
    size_t n = 0;
    for (int k = 0; k < 2000 && n < 190000; k++) {
        for (int s = 0; s < k; s++) deep[n++] = ' ';
        memcpy(deep + n, "- x\n", 4);
        n += 4;
    }
    deep[n] = '\0';
    double t0 = now_seconds();
    char *html = ar_markdown_to_html(deep, 0);
    ck_assert(now_seconds() - t0 < MD_BUDGET);
    assert_only_own_tags(html);
    free(html);
    free(deep);
    /* growing backtick runs */
    ar_buf ticks = AR_BUF_INIT;
    for (int k = 1; k < 500; k++) {
        for (int j = 0; j < k; j++) ar_buf_putc(&ticks, '`');
        ar_buf_putc(&ticks, 'a');
    }
    t0 = now_seconds();
    html = ar_markdown_to_html(ticks.data, 0);
    ck_assert(now_seconds() - t0 < MD_BUDGET);
    free(html);
    ar_buf_free(&ticks);
}
END_TEST

/* Random mixtures of Markdown punctuation never produce foreign markup or invalid UTF-8. */
START_TEST(md_random_inputs_stay_safe)
{
    static const char *const pieces[] = {"*", "_", "`", "[", "]", "(", ")", "<", ">", "!", "\\", "#", "-", "+",
                                         " ", "\n", "\n\n", "1.", "http://", "https://", "javascript:", "mailto:",
                                         "\"", "'", "&", "@", "a", "b", "```", "    ", "\t", "\xff", "é", "<script>",
                                         "onerror=", "=", "x.y"};
    unsigned seed = 12345;
    for (int round = 0; round < 1500; round++) {
        ar_buf src = AR_BUF_INIT;
        seed = seed * 1103515245u + 12345u;
        int len = 1 + (int)((seed >> 16) % 120);
        for (int k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            ar_buf_puts(&src, pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])]);
        }
        ar_buf out = AR_BUF_INIT;
        ar_markdown_render(&out, src.data, src.len, 0);
        const char *html = ar_buf_cstr(&out);
        ck_assert(ar_utf8_valid(html, strlen(html)));
        assert_only_own_tags(html);
        ASSERT_LACKS(html, "<script");
        ar_buf_free(&out);
        ar_buf_free(&src);
    }
}
END_TEST

START_TEST(md_excerpt)
{
    ar_buf out = AR_BUF_INIT;
    ar_markdown_excerpt(&out, "# Heading\n\n- **bold** item\n- `code`\n\n```\nhidden fence\n```\nend", 200);
    ck_assert_str_eq(ar_buf_cstr(&out), "Heading bold item code end");
    ar_buf_reset(&out);
    ar_markdown_excerpt(&out, "one two three four five", 10);
    ck_assert_str_eq(ar_buf_cstr(&out), "one two…");
    ar_buf_reset(&out);
    ar_markdown_excerpt(&out, "keep snake_case", 50);
    ck_assert_str_eq(ar_buf_cstr(&out), "keep snake_case");
    ar_buf_free(&out);
}
END_TEST

Suite *markdown_suite(void)
{
    Suite *s = suite_create("markdown");
    TCase *tc = tcase_create("render");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, md_paragraphs_and_headings);
    tcase_add_test(tc, md_emphasis);
    tcase_add_test(tc, md_code);
    tcase_add_test(tc, md_lists);
    tcase_add_test(tc, md_blockquotes);
    tcase_add_test(tc, md_links);
    tcase_add_test(tc, md_refuses_dangerous_links);
    tcase_add_test(tc, md_escapes_raw_html);
    tcase_add_test(tc, md_repairs_utf8);
    tcase_add_test(tc, md_excerpt);
    suite_add_tcase(s, tc);
    /* hostile and random inputs: their own case with a wall-clock timeout for sanitizers on a busy machine */
    TCase *hostile_tc = tcase_create("hostile");
    tcase_set_timeout(hostile_tc, 600);
    tcase_add_test(hostile_tc, md_pathological_inputs);
    tcase_add_test(hostile_tc, md_random_inputs_stay_safe);
    suite_add_tcase(s, hostile_tc);
    return s;
}

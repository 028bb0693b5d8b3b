/* markdown.c — safe Markdown to HTML for worklog entries (CommonMark subset; see markdown.h for what is
 * supported and the safety rules). Structure: a normalising pre-pass (UTF-8 repair, line endings, leading
 * tabs), a recursive block parser over lines (containers re-parse their stripped lines one level deeper,
 * bounded by AR_MARKDOWN_MAX_DEPTH), and an inline parser that tokenises a paragraph into nodes and then
 * resolves links (bracket stack) and emphasis (the CommonMark delimiter algorithm with openers_bottom). */
#include "afterresume/render/markdown.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"
#include "afterresume/render/escape.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

enum {
    MD_MAX_DEST = 2048,   /* link destination bytes scanned */
    MD_MAX_TITLE = 1024,  /* link title bytes scanned */
    MD_MAX_PARENS = 32,   /* nested parentheses in a bare destination */
    MD_MAX_TICKS = 64,    /* longest backtick run that can open a code span */
    MD_MAX_AUTOLINK = 2048,
};

/* ---- character classes ------------------------------------------------------------------------------ */

static bool is_space_ch(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_punct_ch(char c)
{
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

static bool is_alnum_ch(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ---- pre-pass --------------------------------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t want = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!want || want > n) return 0;
    return ar_utf8_valid((const char *)s, want) ? want : 0;
}

/* Valid UTF-8 (bad bytes and NUL -> U+FFFD), LF line endings, leading tabs expanded to 4-column stops,
 * at most AR_MARKDOWN_MAX_INPUT bytes, always ending with a newline. */
static void normalise(ar_buf *out, const char *src, size_t len)
{
    if (len > AR_MARKDOWN_MAX_INPUT) len = AR_MARKDOWN_MAX_INPUT;
    ar_buf_reserve(out, len + 16);
    const unsigned char *s = (const unsigned char *)src;
    bool line_start = true;
    size_t col = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c == '\r') {
            ar_buf_putc(out, '\n');
            i += (i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
            line_start = true;
            col = 0;
            continue;
        }
        if (c == '\n') {
            ar_buf_putc(out, '\n');
            i++;
            line_start = true;
            col = 0;
            continue;
        }
        if (c == '\t' && line_start) {
            size_t spaces = 4 - col % 4;
            for (size_t k = 0; k < spaces; k++) ar_buf_putc(out, ' ');
            col += spaces;
            i++;
            continue;
        }
        if (c != ' ') line_start = false;
        col++;
        size_t n = c == 0 ? 0 : utf8_seq(s + i, len - i);
        if (!n) {
            ar_buf_append(out, "\xEF\xBF\xBD", 3);
            i++;
            continue;
        }
        ar_buf_append(out, s + i, n);
        i += n;
    }
    if (!out->len || out->data[out->len - 1] != '\n') ar_buf_putc(out, '\n');
}

/* ---- lines ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *s;
    size_t len;
} md_line;

typedef struct {
    md_line *v;
    size_t n, cap;
} md_lines;

static void lines_split(md_lines *ls, const char *text, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            if (i == len && start == len) break; /* no empty line after the final newline */
            if (ls->n == ls->cap) {
                ls->cap = ls->cap ? ls->cap * 2 : 32;
                ls->v = ar_realloc(ls->v, ls->cap * sizeof *ls->v);
            }
            ls->v[ls->n++] = (md_line){text + start, i - start};
            start = i + 1;
        }
    }
}

static size_t indent_of(md_line l)
{
    size_t i = 0;
    while (i < l.len && l.s[i] == ' ') i++;
    return i;
}

static bool is_blank(md_line l)
{
    for (size_t i = 0; i < l.len; i++)
        if (!is_space_ch(l.s[i])) return false;
    return true;
}

static md_line skip_spaces(md_line l, size_t max)
{
    size_t i = 0;
    while (i < l.len && i < max && l.s[i] == ' ') i++;
    return (md_line){l.s + i, l.len - i};
}

static md_line trim(md_line l)
{
    while (l.len && is_space_ch(l.s[0])) l.s++, l.len--;
    while (l.len && is_space_ch(l.s[l.len - 1])) l.len--;
    return l;
}

/* ---- block starts ----------------------------------------------------------------------------------- */

static bool is_hr(md_line l)
{
    if (indent_of(l) > 3) return false;
    char mark = 0;
    int count = 0;
    for (size_t i = 0; i < l.len; i++) {
        char c = l.s[i];
        if (c == ' ' || c == '\t') continue;
        if (c != '-' && c != '*' && c != '_') return false;
        if (mark && c != mark) return false;
        mark = c;
        count++;
    }
    return count >= 3;
}

/* ATX heading: level 1-6 and the trimmed content without the closing #s; 0 if not a heading. */
static int atx_heading(md_line l, md_line *content)
{
    size_t ind = indent_of(l);
    if (ind > 3) return 0;
    size_t i = ind;
    int level = 0;
    while (i < l.len && l.s[i] == '#' && level < 7) i++, level++;
    if (level < 1 || level > 6) return 0;
    if (i < l.len && l.s[i] != ' ' && l.s[i] != '\t') return 0;
    md_line c = trim((md_line){l.s + i, l.len - i});
    /* closing sequence: #s preceded by a space (or the whole content) */
    size_t end = c.len;
    while (end > 0 && c.s[end - 1] == '#') end--;
    if (end == 0)
        c.len = 0;
    else if (end < c.len && (c.s[end - 1] == ' ' || c.s[end - 1] == '\t'))
        c.len = end;
    *content = trim(c);
    return level;
}

typedef struct {
    char ch;
    size_t len, indent;
    md_line info;
} md_fence;

static bool fence_open(md_line l, md_fence *f)
{
    size_t ind = indent_of(l);
    if (ind > 3 || ind >= l.len) return false;
    char c = l.s[ind];
    if (c != '`' && c != '~') return false;
    size_t i = ind;
    while (i < l.len && l.s[i] == c) i++;
    if (i - ind < 3) return false;
    md_line info = trim((md_line){l.s + i, l.len - i});
    if (c == '`' && memchr(info.s, '`', info.len)) return false;
    f->ch = c;
    f->len = i - ind;
    f->indent = ind;
    f->info = info;
    return true;
}

static bool fence_close(md_line l, const md_fence *f)
{
    size_t ind = indent_of(l);
    if (ind > 3) return false;
    size_t i = ind;
    while (i < l.len && l.s[i] == f->ch) i++;
    if (i - ind < f->len) return false;
    for (; i < l.len; i++)
        if (!is_space_ch(l.s[i])) return false;
    return true;
}

static bool bq_start(md_line l)
{
    size_t ind = indent_of(l);
    return ind <= 3 && ind < l.len && l.s[ind] == '>';
}

typedef struct {
    char type;      /* '-', '+', '*' for bullets; '.' or ')' for ordered */
    long start;     /* ordered start number */
    size_t content; /* column where the item's content starts */
    bool empty;     /* nothing after the marker */
} md_marker;

static bool list_marker(md_line l, md_marker *m)
{
    size_t ind = indent_of(l);
    if (ind > 3 || ind >= l.len) return false;
    size_t i = ind;
    char c = l.s[i];
    if (c == '-' || c == '+' || c == '*') {
        m->type = c;
        m->start = 0;
        i++;
    } else if (c >= '0' && c <= '9') {
        long n = 0;
        size_t digits = 0;
        while (i < l.len && l.s[i] >= '0' && l.s[i] <= '9' && digits < 9) n = n * 10 + (l.s[i++] - '0'), digits++;
        if (i >= l.len || (l.s[i] != '.' && l.s[i] != ')')) return false;
        m->type = l.s[i++];
        m->start = n;
    } else {
        return false;
    }
    if (i < l.len && l.s[i] != ' ') return false;
    size_t spaces = 0;
    while (i + spaces < l.len && l.s[i + spaces] == ' ') spaces++;
    m->empty = i + spaces >= l.len;
    if (m->empty || spaces > 4) spaces = 1;
    m->content = i + spaces;
    return true;
}

static bool same_list(const md_marker *a, const md_marker *b)
{
    return a->type == b->type;
}

/* Can line l interrupt a paragraph (or end a lazy continuation)? */
static bool interrupts_paragraph(md_line l, int depth)
{
    if (is_blank(l)) return true;
    md_line content;
    md_fence f;
    md_marker m;
    if (indent_of(l) > 3) return false;
    if (atx_heading(l, &content) || fence_open(l, &f) || is_hr(l)) return true;
    if (depth < AR_MARKDOWN_MAX_DEPTH && bq_start(l)) return true;
    if (depth < AR_MARKDOWN_MAX_DEPTH && list_marker(l, &m) && !m.empty && (m.type == '-' || m.type == '+' ||
                                                                             m.type == '*' || m.start == 1))
        return true;
    return false;
}

/* ---- inline parsing --------------------------------------------------------------------------------- */

enum { N_TEXT, N_HTML, N_DELIM, N_OPEN_BRACKET };

typedef struct {
    int type;
    size_t start, len; /* N_TEXT: source range; N_HTML: range in the html pool; N_OPEN_BRACKET: source */
    /* N_DELIM */
    char ch;
    bool can_open, can_close;
    int count, orig;
    int prev, next; /* delimiter list */
    int tags;       /* index into the tag table, -1 = none */
} md_node;

typedef struct {
    ar_buf open, close;
} md_tags;

typedef struct {
    int node;
    int delim_bottom; /* last delimiter when the bracket was pushed (-1 none) */
} md_bracket;

typedef struct {
    const char *s;
    size_t len;
    md_node *nodes;
    size_t n, cap;
    ar_buf pool;
    md_tags *tags;
    size_t ntags, tags_cap;
    int delim_head, delim_tail;
    md_bracket *brackets;
    size_t nbrackets, brackets_cap;
    bool no_closer[MD_MAX_TICKS + 1];
} md_inline;

static int node_add(md_inline *p, int type, size_t start, size_t len)
{
    if (type == N_TEXT && p->n && p->nodes[p->n - 1].type == N_TEXT &&
        p->nodes[p->n - 1].start + p->nodes[p->n - 1].len == start) {
        p->nodes[p->n - 1].len += len;
        return (int)p->n - 1;
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->nodes = ar_realloc(p->nodes, p->cap * sizeof *p->nodes);
    }
    p->nodes[p->n] = (md_node){.type = type, .start = start, .len = len, .prev = -1, .next = -1, .tags = -1};
    return (int)p->n++;
}

/* Start an HTML node; the caller appends its markup to p->pool, then html_end() fixes its length. */
static int html_begin(md_inline *p)
{
    return node_add(p, N_HTML, p->pool.len, 0);
}

static void html_end(md_inline *p, int node)
{
    p->nodes[node].len = p->pool.len - p->nodes[node].start;
}

static void html_add(md_inline *p, const char *markup)
{
    int n = html_begin(p);
    ar_buf_puts(&p->pool, markup);
    html_end(p, n);
}

/* Percent-encode a URL for an href and attribute-escape it. */
static void put_href(ar_buf *out, const char *u, size_t len)
{
    static const char safe[] = "-._~:/?#[]@!$()*+,;=%";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)u[i];
        if (is_alnum_ch((char)c) || (c && strchr(safe, c)))
            ar_buf_putc(out, (char)c);
        else if (c == '&')
            ar_buf_puts(out, "&amp;");
        else if (c == '\'')
            ar_buf_puts(out, "&#39;");
        else
            ar_buf_printf(out, "%%%02X", c);
    }
}

static bool allowed_scheme(const char *u, size_t len)
{
    return (len > 7 && strncasecmp(u, "http://", 7) == 0) || (len > 8 && strncasecmp(u, "https://", 8) == 0) ||
           (len > 7 && strncasecmp(u, "mailto:", 7) == 0);
}

/* Remove backslash escapes before ASCII punctuation. */
static void unescape_into(ar_buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len && is_punct_ch(s[i + 1])) i++;
        ar_buf_putc(out, s[i]);
    }
}

/* Parse "(dest "title")" at p->s[pos]; on success fills the unescaped dest/title and returns the position
 * after ')', else 0. Every scan is bounded (MD_MAX_DEST, MD_MAX_TITLE). */
static size_t parse_link_tail(md_inline *p, size_t pos, ar_buf *dest, ar_buf *title)
{
    const char *s = p->s;
    size_t n = p->len;
    if (pos >= n || s[pos] != '(') return 0;
    size_t i = pos + 1;
    while (i < n && is_space_ch(s[i])) i++;
    size_t ds = i, de;
    if (i < n && s[i] == '<') {
        ds = ++i;
        while (i < n && i - ds < MD_MAX_DEST && s[i] != '>' && s[i] != '\n' && s[i] != '<') {
            if (s[i] == '\\' && i + 1 < n && is_punct_ch(s[i + 1])) i++;
            i++;
        }
        if (i >= n || s[i] != '>') return 0;
        de = i++;
    } else {
        int depth = 0;
        while (i < n && i - ds < MD_MAX_DEST) {
            char c = s[i];
            if (c == '\\' && i + 1 < n && is_punct_ch(s[i + 1])) {
                i += 2;
                continue;
            }
            if (is_space_ch(c) || (unsigned char)c < 0x20) break;
            if (c == '(') {
                if (++depth > MD_MAX_PARENS) return 0;
            } else if (c == ')') {
                if (depth == 0) break;
                depth--;
            }
            i++;
        }
        if (depth != 0 || i >= n || i - ds >= MD_MAX_DEST) return 0;
        de = i;
    }
    ar_buf_reset(dest);
    unescape_into(dest, s + ds, de - ds);
    size_t before_ws = i;
    while (i < n && is_space_ch(s[i])) i++;
    ar_buf_reset(title);
    if (i < n && i > before_ws && (s[i] == '"' || s[i] == '\'' || s[i] == '(')) {
        char close = s[i] == '(' ? ')' : s[i];
        size_t ts = ++i;
        while (i < n && i - ts < MD_MAX_TITLE && s[i] != close) {
            if (s[i] == '\\' && i + 1 < n && is_punct_ch(s[i + 1])) i++;
            i++;
        }
        if (i >= n || s[i] != close) return 0;
        unescape_into(title, s + ts, i - ts);
        i++;
        while (i < n && is_space_ch(s[i])) i++;
    }
    if (i >= n || s[i] != ')') return 0;
    return i + 1;
}

static void delim_unlink(md_inline *p, int d)
{
    md_node *x = &p->nodes[d];
    if (x->prev >= 0)
        p->nodes[x->prev].next = x->next;
    else if (p->delim_head == d)
        p->delim_head = x->next;
    if (x->next >= 0)
        p->nodes[x->next].prev = x->prev;
    else if (p->delim_tail == d)
        p->delim_tail = x->prev;
    x->prev = x->next = -1;
}

static md_tags *node_tags(md_inline *p, int d)
{
    if (p->nodes[d].tags < 0) {
        if (p->ntags == p->tags_cap) {
            p->tags_cap = p->tags_cap ? p->tags_cap * 2 : 16;
            p->tags = ar_realloc(p->tags, p->tags_cap * sizeof *p->tags);
        }
        p->tags[p->ntags] = (md_tags){AR_BUF_INIT, AR_BUF_INIT};
        p->nodes[d].tags = (int)p->ntags++;
    }
    return &p->tags[p->nodes[d].tags];
}

/* The CommonMark "process emphasis" procedure for the delimiters above `bottom` (-1: all). */
static void process_emphasis(md_inline *p, int bottom)
{
    int openers_bottom[2][3][2];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 2; c++) openers_bottom[a][b][c] = bottom;
    int cur = bottom < 0 ? p->delim_head : p->nodes[bottom].next;
    while (cur >= 0) {
        md_node *c = &p->nodes[cur];
        if (!c->can_close) {
            cur = c->next;
            continue;
        }
        int ci = c->ch == '_', k = c->orig % 3, co = c->can_open;
        int found = -1;
        for (int o = c->prev; o >= 0 && o != bottom && o != openers_bottom[ci][k][co]; o = p->nodes[o].prev) {
            md_node *on = &p->nodes[o];
            if (on->ch != c->ch || !on->can_open) continue;
            bool odd = (on->can_close || c->can_open) && (on->orig + c->orig) % 3 == 0 &&
                       !(on->orig % 3 == 0 && c->orig % 3 == 0);
            if (!odd) {
                found = o;
                break;
            }
        }
        if (found >= 0) {
            md_node *on = &p->nodes[found];
            int use = on->count >= 2 && c->count >= 2 ? 2 : 1;
            on->count -= use;
            c->count -= use;
            md_tags *ot = node_tags(p, found);
            /* the newest match is the outermost: it goes first after the opener's literal remainder */
            ar_buf tmp = AR_BUF_INIT;
            ar_buf_puts(&tmp, use == 2 ? "<strong>" : "<em>");
            ar_buf_append(&tmp, ar_buf_cstr(&ot->open), ot->open.len);
            ar_buf_free(&ot->open);
            ot->open = tmp;
            md_tags *ct = node_tags(p, cur);
            ar_buf_puts(&ct->close, use == 2 ? "</strong>" : "</em>");
            c = &p->nodes[cur];
            on = &p->nodes[found];
            /* delimiters between opener and closer can no longer match */
            on->next = cur;
            c->prev = found;
            if (on->count == 0) delim_unlink(p, found);
            if (c->count == 0) {
                int nx = c->next;
                delim_unlink(p, cur);
                cur = nx;
            }
        } else {
            openers_bottom[ci][k][co] = c->prev;
            int nx = c->next;
            if (!c->can_open) delim_unlink(p, cur);
            cur = nx;
        }
    }
    /* drop every delimiter above bottom */
    if (bottom < 0) {
        p->delim_head = p->delim_tail = -1;
    } else {
        p->nodes[bottom].next = -1;
        p->delim_tail = bottom;
    }
}

static void add_delim_run(md_inline *p, size_t pos, size_t run)
{
    char ch = p->s[pos];
    char before = pos > 0 ? p->s[pos - 1] : '\n';
    char after = pos + run < p->len ? p->s[pos + run] : '\n';
    bool ws_before = is_space_ch(before), ws_after = is_space_ch(after);
    bool p_before = is_punct_ch(before), p_after = is_punct_ch(after);
    bool left = !ws_after && (!p_after || ws_before || p_before);
    bool right = !ws_before && (!p_before || ws_after || p_after);
    int d = node_add(p, N_DELIM, pos, run);
    md_node *x = &p->nodes[d];
    x->ch = ch;
    x->count = x->orig = run > 1000000 ? 1000000 : (int)run;
    if (ch == '*') {
        x->can_open = left;
        x->can_close = right;
    } else {
        x->can_open = left && (!right || p_before);
        x->can_close = right && (!left || p_after);
    }
    if (!x->can_open && !x->can_close) {
        x->type = N_TEXT; /* plain text; may merge with the next text node */
        return;
    }
    x->prev = p->delim_tail;
    x->next = -1;
    if (p->delim_tail >= 0)
        p->nodes[p->delim_tail].next = d;
    else
        p->delim_head = d;
    p->delim_tail = d;
}

/* Code span at pos (a run of `run` backticks): returns the position after the closing run, or 0. */
static size_t code_span(md_inline *p, size_t pos, size_t run)
{
    if (run > MD_MAX_TICKS || p->no_closer[run]) return 0;
    const char *s = p->s;
    size_t i = pos + run;
    while (i < p->len) {
        if (s[i] != '`') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < p->len && s[j] == '`') j++;
        if (j - i == run) {
            size_t cs = pos + run, ce = i;
            /* strip one space each side when both are spaces and the content is not all spaces */
            bool all_space = true;
            for (size_t k = cs; k < ce; k++)
                if (s[k] != ' ' && s[k] != '\n') all_space = false;
            if (!all_space && ce - cs >= 2 && (s[cs] == ' ' || s[cs] == '\n') && (s[ce - 1] == ' ' || s[ce - 1] == '\n'))
                cs++, ce--;
            int h = html_begin(p);
            ar_buf_puts(&p->pool, "<code>");
            for (size_t k = cs; k < ce; k++) {
                if (s[k] == '\n')
                    ar_buf_putc(&p->pool, ' ');
                else
                    ar_html_escape(&p->pool, s + k, 1);
            }
            ar_buf_puts(&p->pool, "</code>");
            html_end(p, h);
            return j;
        }
        i = j;
    }
    p->no_closer[run] = true;
    return 0;
}

static void emit_link_open(md_inline *p, int node, const ar_buf *dest, const ar_buf *title)
{
    md_node *x = &p->nodes[node];
    x->type = N_HTML;
    x->start = p->pool.len;
    ar_buf_puts(&p->pool, "<a href=\"");
    put_href(&p->pool, ar_buf_cstr(dest), dest->len);
    ar_buf_puts(&p->pool, "\"");
    if (title->len) {
        ar_buf_puts(&p->pool, " title=\"");
        ar_html_escape(&p->pool, ar_buf_cstr(title), title->len);
        ar_buf_puts(&p->pool, "\"");
    }
    ar_buf_puts(&p->pool, " rel=\"nofollow noopener\">");
    p->nodes[node].len = p->pool.len - p->nodes[node].start;
}

/* <scheme:...> or <user@host>: returns the position after '>', or 0. */
static size_t autolink(md_inline *p, size_t pos)
{
    const char *s = p->s;
    size_t i = pos + 1, n = p->len;
    size_t end = i;
    while (end < n && end - i < MD_MAX_AUTOLINK && s[end] != '>' && s[end] != '<' && !is_space_ch(s[end]) &&
           (unsigned char)s[end] >= 0x20)
        end++;
    if (end >= n || s[end] != '>' || end == i) return 0;
    const char *u = s + i;
    size_t ulen = end - i;
    bool email = false;
    if (!allowed_scheme(u, ulen)) {
        /* e-mail address: local@domain with a conservative character set */
        const char *at = memchr(u, '@', ulen);
        if (!at || at == u || at == u + ulen - 1) return 0;
        for (const char *q = u; q < u + ulen; q++) {
            char c = *q;
            if (q == at) continue;
            if (q < at ? !(is_alnum_ch(c) || strchr(".!#$%&'*+/=?^_`{|}~-", c))
                       : !(is_alnum_ch(c) || c == '-' || c == '.'))
                return 0;
            if (c == '@') return 0;
        }
        email = true;
    }
    int h = html_begin(p);
    ar_buf_puts(&p->pool, "<a href=\"");
    if (email) ar_buf_puts(&p->pool, "mailto:");
    put_href(&p->pool, u, ulen);
    ar_buf_puts(&p->pool, "\" rel=\"nofollow noopener\">");
    ar_html_escape(&p->pool, u, ulen);
    ar_buf_puts(&p->pool, "</a>");
    html_end(p, h);
    return end + 1;
}

/* Bare http(s):// URL at pos (preceded by start, whitespace or '('): returns the end, or 0. */
static size_t bare_url(md_inline *p, size_t pos)
{
    const char *s = p->s;
    size_t n = p->len;
    size_t scheme = (n - pos > 8 && strncasecmp(s + pos, "https://", 8) == 0)  ? 8
                    : (n - pos > 7 && strncasecmp(s + pos, "http://", 7) == 0) ? 7
                                                                                 : 0;
    if (!scheme) return 0;
    if (pos > 0 && !is_space_ch(s[pos - 1]) && s[pos - 1] != '(' && s[pos - 1] != '*' && s[pos - 1] != '_') return 0;
    size_t end = pos + scheme;
    while (end < n && end - pos < MD_MAX_AUTOLINK && !is_space_ch(s[end]) && s[end] != '<' && s[end] != '>' &&
           (unsigned char)s[end] >= 0x20)
        end++;
    /* trailing punctuation and unbalanced ')' belong to the sentence */
    for (;;) {
        if (end <= pos + scheme) break;
        char c = s[end - 1];
        if (strchr("?!.,:;*_~'\"", c)) {
            end--;
            continue;
        }
        if (c == ')') {
            long open = 0, close = 0;
            for (size_t k = pos; k < end; k++) open += s[k] == '(', close += s[k] == ')';
            if (close > open) {
                end--;
                continue;
            }
        }
        break;
    }
    if (end <= pos + scheme) return 0;
    int h = html_begin(p);
    ar_buf_puts(&p->pool, "<a href=\"");
    put_href(&p->pool, s + pos, end - pos);
    ar_buf_puts(&p->pool, "\" rel=\"nofollow noopener\">");
    ar_html_escape(&p->pool, s + pos, end - pos);
    ar_buf_puts(&p->pool, "</a>");
    html_end(p, h);
    return end;
}

static void bracket_push(md_inline *p, int node)
{
    if (p->nbrackets == p->brackets_cap) {
        p->brackets_cap = p->brackets_cap ? p->brackets_cap * 2 : 16;
        p->brackets = ar_realloc(p->brackets, p->brackets_cap * sizeof *p->brackets);
    }
    p->brackets[p->nbrackets++] = (md_bracket){node, p->delim_tail};
}

static void render_inline(ar_buf *out, const char *s, size_t len)
{
    md_inline p = {.s = s, .len = len, .delim_head = -1, .delim_tail = -1};
    ar_buf dest = AR_BUF_INIT, title = AR_BUF_INIT;
    size_t i = 0;
    while (i < len) {
        char c = s[i];
        switch (c) {
        case '\\':
            if (i + 1 < len && s[i + 1] == '\n') {
                html_add(&p, "<br />\n");
                i += 2;
            } else if (i + 1 < len && is_punct_ch(s[i + 1])) {
                node_add(&p, N_TEXT, i + 1, 1);
                i += 2;
            } else {
                node_add(&p, N_TEXT, i, 1);
                i++;
            }
            continue;
        case '`': {
            size_t run = 1;
            while (i + run < len && s[i + run] == '`') run++;
            size_t end = code_span(&p, i, run);
            if (end) {
                i = end;
            } else {
                node_add(&p, N_TEXT, i, run);
                i += run;
            }
            continue;
        }
        case '*':
        case '_': {
            size_t run = 1;
            while (i + run < len && s[i + run] == c) run++;
            add_delim_run(&p, i, run);
            i += run;
            continue;
        }
        case '[': {
            int n = node_add(&p, N_OPEN_BRACKET, i, 1);
            bracket_push(&p, n);
            i++;
            continue;
        }
        case ']': {
            if (!p.nbrackets) {
                node_add(&p, N_TEXT, i, 1);
                i++;
                continue;
            }
            md_bracket b = p.brackets[--p.nbrackets];
            size_t end = parse_link_tail(&p, i + 1, &dest, &title);
            if (!end || !allowed_scheme(ar_buf_cstr(&dest), dest.len)) {
                node_add(&p, N_TEXT, i, 1);
                i++;
                continue;
            }
            process_emphasis(&p, b.delim_bottom);
            emit_link_open(&p, b.node, &dest, &title);
            html_add(&p, "</a>");
            p.nbrackets = 0; /* no links inside links: every earlier opener becomes literal */
            i = end;
            continue;
        }
        case '<': {
            size_t end = autolink(&p, i);
            if (end) {
                i = end;
            } else {
                node_add(&p, N_TEXT, i, 1);
                i++;
            }
            continue;
        }
        case '\n':
            html_add(&p, "\n");
            i++;
            continue;
        case ' ': {
            size_t run = 1;
            while (i + run < len && s[i + run] == ' ') run++;
            if (i + run < len && s[i + run] == '\n') {
                html_add(&p, run >= 2 ? "<br />\n" : "\n");
                i += run + 1;
            } else if (i + run >= len) {
                i += run; /* trailing spaces */
            } else {
                node_add(&p, N_TEXT, i, run);
                i += run;
            }
            continue;
        }
        case 'h':
        case 'H':
            if (!p.nbrackets) {
                size_t end = bare_url(&p, i);
                if (end) {
                    i = end;
                    continue;
                }
            }
            node_add(&p, N_TEXT, i, 1);
            i++;
            continue;
        default: {
            size_t run = 1;
            while (i + run < len && !strchr("\\`*_[]<\n hH", s[i + run])) run++;
            node_add(&p, N_TEXT, i, run);
            i += run;
            continue;
        }
        }
    }
    process_emphasis(&p, -1);
    for (size_t k = 0; k < p.n; k++) {
        md_node *x = &p.nodes[k];
        switch (x->type) {
        case N_TEXT:
        case N_OPEN_BRACKET: ar_html_escape(out, s + x->start, x->len); break;
        case N_HTML: ar_buf_append(out, p.pool.data + x->start, x->len); break;
        case N_DELIM: {
            md_tags *t = x->tags >= 0 ? &p.tags[x->tags] : NULL;
            if (t) ar_buf_append(out, ar_buf_cstr(&t->close), t->close.len);
            for (int r = 0; r < x->count; r++) ar_buf_putc(out, x->ch);
            if (t) ar_buf_append(out, ar_buf_cstr(&t->open), t->open.len);
            break;
        }
        }
    }
    for (size_t k = 0; k < p.ntags; k++) {
        ar_buf_free(&p.tags[k].open);
        ar_buf_free(&p.tags[k].close);
    }
    ar_free(p.tags);
    ar_free(p.nodes);
    ar_free(p.brackets);
    ar_buf_free(&p.pool);
    ar_buf_free(&dest);
    ar_buf_free(&title);
}

/* ---- block rendering -------------------------------------------------------------------------------- */

typedef struct {
    ar_buf *out;
    unsigned flags;
} md_ctx;

static void render_blocks(md_ctx *c, const char *text, size_t len, int depth, bool tight);

static void heading(md_ctx *c, int level, const char *s, size_t len)
{
    if (c->flags & AR_MARKDOWN_SHIFT_HEADINGS && level < 6) level++;
    ar_buf_printf(c->out, "<h%d>", level);
    render_inline(c->out, s, len);
    ar_buf_printf(c->out, "</h%d>\n", level);
}

/* Paragraph text: lines with their leading spaces removed, joined by '\n', trailing whitespace dropped. */
static void paragraph_text(ar_buf *para, const md_line *lines, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        md_line l = skip_spaces(lines[k], (size_t)-1);
        if (k) ar_buf_putc(para, '\n');
        if (k == n - 1)
            while (l.len && is_space_ch(l.s[l.len - 1])) l.len--;
        ar_buf_append(para, l.s, l.len);
    }
}

static void code_block(md_ctx *c, const md_line *lines, size_t n, size_t strip, md_line info)
{
    ar_buf_puts(c->out, "<pre><code");
    if (info.len) {
        size_t w = 0;
        while (w < info.len && w < 40 && (is_alnum_ch(info.s[w]) || strchr("-_+.#", info.s[w]))) w++;
        if (w) {
            ar_buf_puts(c->out, " class=\"language-");
            ar_html_escape(c->out, info.s, w);
            ar_buf_puts(c->out, "\"");
        }
    }
    ar_buf_putc(c->out, '>');
    for (size_t k = 0; k < n; k++) {
        md_line l = skip_spaces(lines[k], strip);
        ar_html_escape(c->out, l.s, l.len);
        ar_buf_putc(c->out, '\n');
    }
    ar_buf_puts(c->out, "</code></pre>\n");
}

static void append_line(ar_buf *b, md_line l)
{
    ar_buf_append(b, l.s, l.len);
    ar_buf_putc(b, '\n');
}

static void render_list(md_ctx *c, md_lines *ls, size_t *pi, int depth)
{
    size_t i = *pi;
    md_marker first;
    list_marker(ls->v[i], &first);
    bool ordered = first.type == '.' || first.type == ')';
    bool loose = false;
    ar_buf *items = NULL;
    size_t nitems = 0, cap = 0;
    while (i < ls->n) {
        md_marker m;
        if (is_hr(ls->v[i]) || !list_marker(ls->v[i], &m) || !same_list(&first, &m)) break;
        if (nitems == cap) {
            cap = cap ? cap * 2 : 8;
            items = ar_realloc(items, cap * sizeof *items);
        }
        ar_buf *item = &items[nitems++];
        ar_buf_init(item);
        md_line l = ls->v[i];
        append_line(item, m.empty ? (md_line){l.s + l.len, 0} : (md_line){l.s + m.content, l.len - m.content});
        bool last_blank = m.empty, only_empty = m.empty, last_para = !m.empty;
        size_t blanks = 0;
        size_t j = i + 1;
        while (j < ls->n) {
            md_line x = ls->v[j];
            if (is_blank(x)) {
                if (only_empty) break; /* an item starts with at most one blank line */
                blanks++;
                last_blank = true;
                j++;
                continue;
            }
            if (indent_of(x) >= m.content) {
                if (blanks && !only_empty) loose = true;
                for (; blanks; blanks--) ar_buf_putc(item, '\n');
                append_line(item, (md_line){x.s + m.content, x.len - m.content});
                md_fence f;
                last_para = !fence_open((md_line){x.s + m.content, x.len - m.content}, &f);
                last_blank = false;
                only_empty = false;
                j++;
                continue;
            }
            if (!last_blank && last_para && !interrupts_paragraph(x, depth) && !list_marker(x, &(md_marker){0})) {
                append_line(item, x); /* lazy continuation */
                j++;
                continue;
            }
            break;
        }
        i = j;
        md_marker next;
        if (blanks && i < ls->n && !is_hr(ls->v[i]) && list_marker(ls->v[i], &next) && same_list(&first, &next))
            loose = true;
    }
    if (ordered) {
        if (first.start != 1)
            ar_buf_printf(c->out, "<ol start=\"%ld\">\n", first.start);
        else
            ar_buf_puts(c->out, "<ol>\n");
    } else {
        ar_buf_puts(c->out, "<ul>\n");
    }
    for (size_t k = 0; k < nitems; k++) {
        ar_buf_puts(c->out, "<li>");
        render_blocks(c, ar_buf_cstr(&items[k]), items[k].len, depth + 1, !loose);
        ar_buf_puts(c->out, "</li>\n");
        ar_buf_free(&items[k]);
    }
    ar_free(items);
    ar_buf_puts(c->out, ordered ? "</ol>\n" : "</ul>\n");
    *pi = i;
}

static void render_blocks(md_ctx *c, const char *text, size_t len, int depth, bool tight)
{
    md_lines ls = {0};
    lines_split(&ls, text, len);
    bool nested_ok = depth < AR_MARKDOWN_MAX_DEPTH;
    size_t i = 0;
    while (i < ls.n) {
        md_line l = ls.v[i];
        md_line content;
        md_fence f;
        md_marker m;
        if (is_blank(l)) {
            i++;
            continue;
        }
        if (indent_of(l) >= 4) { /* indented code */
            size_t j = i, last = i;
            while (j < ls.n && (is_blank(ls.v[j]) || indent_of(ls.v[j]) >= 4)) {
                if (!is_blank(ls.v[j])) last = j;
                j++;
            }
            code_block(c, ls.v + i, last - i + 1, 4, (md_line){"", 0});
            i = last + 1;
            continue;
        }
        if (fence_open(l, &f)) {
            size_t j = i + 1;
            while (j < ls.n && !fence_close(ls.v[j], &f)) j++;
            code_block(c, ls.v + i + 1, j - i - 1, f.indent, f.info);
            i = j < ls.n ? j + 1 : j;
            continue;
        }
        int level = atx_heading(l, &content);
        if (level) {
            heading(c, level, content.s, content.len);
            i++;
            continue;
        }
        if (is_hr(l)) {
            ar_buf_puts(c->out, "<hr />\n");
            i++;
            continue;
        }
        if (nested_ok && bq_start(l)) {
            ar_buf quote = AR_BUF_INIT;
            bool last_para = false;
            while (i < ls.n) {
                md_line x = ls.v[i];
                if (bq_start(x)) {
                    md_line r = skip_spaces(x, 3);
                    r.s++, r.len--;
                    if (r.len && r.s[0] == ' ') r.s++, r.len--;
                    append_line(&quote, r);
                    md_fence qf;
                    last_para = !is_blank(r) && !fence_open(r, &qf);
                    i++;
                } else if (last_para && !interrupts_paragraph(x, depth)) {
                    append_line(&quote, x); /* lazy continuation */
                    i++;
                } else {
                    break;
                }
            }
            ar_buf_puts(c->out, "<blockquote>\n");
            render_blocks(c, ar_buf_cstr(&quote), quote.len, depth + 1, false);
            ar_buf_puts(c->out, "</blockquote>\n");
            ar_buf_free(&quote);
            continue;
        }
        if (nested_ok && list_marker(l, &m)) {
            render_list(c, &ls, &i, depth);
            continue;
        }
        /* paragraph (or setext heading) */
        size_t j = i + 1;
        int setext = 0;
        while (j < ls.n) {
            md_line x = ls.v[j];
            if (indent_of(x) <= 3 && !is_blank(x)) {
                md_line t = trim(x);
                size_t k = 0;
                while (k < t.len && t.s[k] == t.s[0]) k++;
                if (k == t.len && (t.s[0] == '=' || t.s[0] == '-')) {
                    setext = t.s[0] == '=' ? 1 : 2;
                    break;
                }
            }
            if (interrupts_paragraph(x, depth)) break;
            j++;
        }
        ar_buf para = AR_BUF_INIT;
        paragraph_text(&para, ls.v + i, j - i);
        if (setext) {
            heading(c, setext, ar_buf_cstr(&para), para.len);
            j++;
        } else if (tight) {
            render_inline(c->out, ar_buf_cstr(&para), para.len);
            if (j < ls.n) ar_buf_putc(c->out, '\n');
        } else {
            ar_buf_puts(c->out, "<p>");
            render_inline(c->out, ar_buf_cstr(&para), para.len);
            ar_buf_puts(c->out, "</p>\n");
        }
        ar_buf_free(&para);
        i = j;
    }
    ar_free(ls.v);
}

void ar_markdown_render(ar_buf *out, const char *src, size_t len, unsigned flags)
{
    ar_buf_append(out, "", 0); /* NUL-terminated even when nothing is rendered */
    if (!src || !len) return;
    ar_buf text = AR_BUF_INIT;
    normalise(&text, src, len);
    md_ctx c = {out, flags};
    render_blocks(&c, ar_buf_cstr(&text), text.len, 0, false);
    ar_buf_free(&text);
}

char *ar_markdown_to_html(const char *src, unsigned flags)
{
    ar_buf out = AR_BUF_INIT;
    ar_markdown_render(&out, src, src ? strlen(src) : 0, flags);
    if (!out.data) return ar_strdup("");
    return ar_buf_steal(&out);
}

void ar_markdown_excerpt(ar_buf *out, const char *src, size_t max_chars)
{
    ar_buf_append(out, "", 0);
    if (!src) return;
    size_t src_len = strlen(src);
    ar_buf text = AR_BUF_INIT;
    normalise(&text, src, src_len > 64 * 1024 ? 64 * 1024 : src_len);
    md_lines ls = {0};
    lines_split(&ls, ar_buf_cstr(&text), text.len);
    size_t start_len = out->len, chars = 0, last_space_len = 0;
    bool pending_space = false, in_fence = false, cut = false;
    md_fence fence = {0};
    for (size_t li = 0; li < ls.n && !cut; li++) {
        md_line l = ls.v[li];
        md_fence f;
        if (in_fence) {
            if (fence_close(l, &fence)) in_fence = false;
            continue;
        }
        if (fence_open(l, &f)) {
            in_fence = true;
            fence = f;
            continue;
        }
        if (is_hr(l)) continue;
        l = skip_spaces(l, (size_t)-1);
        while (l.len && (l.s[0] == '#' || l.s[0] == '>' || l.s[0] == ' ')) l.s++, l.len--;
        md_marker m;
        if (list_marker(l, &m) && !m.empty) l.s += m.content, l.len -= m.content;
        pending_space = true;
        for (size_t i = 0; i < l.len;) {
            char ch = l.s[i];
            if (ch == ' ' || ch == '\t') {
                pending_space = true;
                i++;
                continue;
            }
            if (ch == '*' || ch == '`' || (ch == '_' && (i == 0 || !is_alnum_ch(l.s[i - 1])))) {
                i++;
                continue;
            }
            size_t n = utf8_seq((const unsigned char *)l.s + i, l.len - i);
            if (!n) n = 1;
            if (chars >= max_chars) {
                if (last_space_len > start_len) {
                    out->len = last_space_len;
                    out->data[out->len] = '\0';
                }
                ar_buf_puts(out, "\xE2\x80\xA6");
                cut = true;
                break;
            }
            if (pending_space && out->len > start_len) {
                last_space_len = out->len;
                ar_buf_putc(out, ' ');
                chars++;
            }
            pending_space = false;
            ar_buf_append(out, l.s + i, n);
            chars++;
            i += n;
        }
    }
    ar_free(ls.v);
    ar_buf_free(&text);
}

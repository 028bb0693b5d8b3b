/* template.c — Mustache template engine: compiles templates into immutable node trees once, renders them
 * against jansson values from any number of threads.
 *
 * Compilation runs in passes over one template source:
 *   1. tokenize: text (split after every newline) and tags, following Set Delimiter tags;
 *   2. match: pair section/inverted/parent/block openers with their closing tags (syntax errors here);
 *   3. standalone: decide which tags own the whitespace of their line (see apply_standalone_rules);
 *   4. reindent: strip each block's intrinsic indentation from its lines (re-added where it is expanded);
 *   5. build: turn the token list into a node tree; dotted names are split once, here.
 * Rendering walks the tree with a context stack, an indentation prefix (standalone partials, blocks) and a
 * chain of block overrides (parents). Nothing is parsed or mutated at render time. */
#include "afterresume/render/template.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "afterresume/core/alloc.h"
#include "afterresume/render/escape.h"

enum {
    TPL_MAX_NESTING = 100,       /* open sections/blocks/parents inside one template */
    TPL_MAX_PARTIAL_DEPTH = 64,  /* partials/parents expanded inside each other while rendering */
    TPL_MAX_RENDER_DEPTH = 256,  /* nested node lists being rendered (sections, blocks, partials) */
    TPL_MAX_RENDER_STEPS = 1 << 23, /* nodes visited by one render: stops runaway fan-out ({{>p}}{{>p}} in p) */
    TPL_MAX_DELIM = 16,          /* longest accepted Set Delimiter */
    TPL_MAX_DIR_DEPTH = 16,      /* directory levels followed by ar_templates_load_dir */
};

/* ---------------------------------------------------------------------------------------------------- */
/* Compiled form                                                                                          */

typedef enum {
    NODE_TEXT,      /* str/len: literal text */
    NODE_VAR,       /* path: escaped interpolation */
    NODE_RAW,       /* path: unescaped interpolation ({{{x}}}, {{&x}}) */
    NODE_SECTION,   /* path + kids */
    NODE_INVERTED,  /* path + kids */
    NODE_PARTIAL,   /* str: partial name; indent when standalone */
    NODE_PARENT,    /* str: parent name; kids: argument blocks; indent when standalone */
    NODE_BLOCK,     /* str: block name; kids: default content; indent: intrinsic indentation */
} node_kind;

typedef struct {
    char *parts;     /* dotted name split into NUL-terminated parts, back to back */
    unsigned nparts; /* 0 means the implicit iterator "." */
} tpl_path;

typedef struct tpl_node tpl_node;
struct tpl_node {
    node_kind kind;
    unsigned line;
    bool standalone;   /* PARTIAL/PARENT: tag owns its line; its indentation prefixes every expanded line */
    char *str;         /* TEXT: text; PARTIAL/PARENT/BLOCK: name */
    size_t len;
    tpl_path path;
    char *indent;      /* PARTIAL/PARENT/BLOCK: indentation added to every line of the expansion */
    size_t indent_len;
    tpl_node **kids;
    size_t nkids;
};

typedef struct {
    char *name;
    char *origin;      /* what error messages call it: the name, or the file path */
    tpl_node **nodes;
    size_t nnodes;
} tpl_template;

struct ar_templates {
    tpl_template **slots; /* open addressing, power-of-two capacity */
    size_t cap;
    size_t count;
};

/* ---------------------------------------------------------------------------------------------------- */
/* Node tree helpers                                                                                      */

static void node_free(tpl_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->nkids; i++) node_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n->path.parts);
    free(n->indent);
    free(n);
}

static void template_free(tpl_template *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nnodes; i++) node_free(t->nodes[i]);
    free(t->nodes);
    free(t->name);
    free(t->origin);
    free(t);
}

typedef struct {
    tpl_node **items;
    size_t n, cap;
} node_list;

static void node_list_push(node_list *l, tpl_node *n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = ar_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = n;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Tokens                                                                                                 */

typedef enum {
    TOK_TEXT,
    TOK_VAR,
    TOK_RAW,
    TOK_SECTION,
    TOK_INVERTED,
    TOK_CLOSE,
    TOK_COMMENT,
    TOK_PARTIAL,
    TOK_DELIM,
    TOK_PARENT,
    TOK_BLOCK,
} tok_kind;

typedef struct {
    tok_kind kind;
    unsigned line;
    size_t start, end;      /* TEXT: the text; tags: the whole tag including delimiters */
    size_t name, name_len;  /* tags: trimmed content */
    bool ends_line;         /* TEXT: ends with '\n' */
    bool blank;             /* TEXT: only spaces/tabs before the line ending */
    bool removed;           /* TEXT: whitespace owned by a standalone tag */
    bool standalone;        /* PARTIAL/PARENT: expansion is indented by `ind` */
    size_t skip;            /* TEXT: leading bytes removed by block reindentation */
    long match;             /* opener <-> closing tag */
    long block;             /* innermost enclosing block opener, -1 if none */
    bool argument;          /* BLOCK: direct child of a parent tag pair */
    size_t ind, ind_len;    /* PARTIAL/PARENT: indentation; BLOCK: intrinsic indentation (source range) */
} token;

typedef struct {
    const char *src;
    size_t len;
    const char *origin;
    token *toks;
    size_t ntoks, cap;
    char *err;
} parser;

static void parse_error(parser *p, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void parse_error(parser *p, unsigned line, const char *fmt, ...)
{
    if (p->err) return;
    ar_buf b = AR_BUF_INIT;
    ar_buf_printf(&b, "%s:%u: ", p->origin, line);
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
    va_end(ap);
    ar_buf_puts(&b, msg ? msg : "syntax error");
    free(msg);
    p->err = ar_buf_steal(&b);
}

static token *tok_push(parser *p, tok_kind kind, unsigned line, size_t start, size_t end)
{
    if (p->ntoks == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->toks = ar_realloc(p->toks, p->cap * sizeof *p->toks);
    }
    token *t = &p->toks[p->ntoks++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->line = line;
    t->start = start;
    t->end = end;
    t->match = -1;
    t->block = -1;
    return t;
}

static bool is_hspace(char c) { return c == ' ' || c == '\t'; }
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Text [a, b) becomes one token per line piece; each piece but the last ends with '\n'. */
static void add_text(parser *p, size_t a, size_t b, unsigned *line)
{
    while (a < b) {
        const char *nl = memchr(p->src + a, '\n', b - a);
        size_t end = nl ? (size_t)(nl - p->src) + 1 : b;
        token *t = tok_push(p, TOK_TEXT, *line, a, end);
        t->ends_line = nl != NULL;
        size_t ws_end = end;
        if (t->ends_line) {
            ws_end--;
            if (ws_end > a && p->src[ws_end - 1] == '\r') ws_end--;
        }
        t->blank = true;
        for (size_t i = a; i < ws_end; i++) {
            if (!is_hspace(p->src[i])) {
                t->blank = false;
                break;
            }
        }
        if (nl) (*line)++;
        a = end;
    }
}

static unsigned count_newlines(const char *s, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i < n; i++) c += s[i] == '\n';
    return c;
}

static bool valid_name(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (is_space(s[i])) return false;
    return true;
}

/* Dotted names: "." alone, or non-empty parts separated by single dots. */
static bool valid_path(const char *s, size_t n)
{
    if (!valid_name(s, n)) return false;
    if (n == 1 && s[0] == '.') return true;
    if (s[0] == '.' || s[n - 1] == '.') return false;
    for (size_t i = 1; i < n; i++)
        if (s[i] == '.' && s[i - 1] == '.') return false;
    return true;
}

static const char *tag_word(tok_kind k)
{
    switch (k) {
    case TOK_SECTION: return "section";
    case TOK_INVERTED: return "inverted section";
    case TOK_PARENT: return "parent";
    case TOK_BLOCK: return "block";
    case TOK_PARTIAL: return "partial";
    default: return "tag";
    }
}

static int tokenize(parser *p)
{
    const char *src = p->src;
    size_t len = p->len;
    const char *otag = "{{", *ctag = "}}";
    size_t olen = 2, clen = 2;
    size_t pos = 0;
    unsigned line = 1;

    while (pos < len) {
        const char *hit = memmem(src + pos, len - pos, otag, olen);
        size_t tag_start = hit ? (size_t)(hit - src) : len;
        add_text(p, pos, tag_start, &line);
        if (!hit) break;

        unsigned tag_line = line;
        size_t q = tag_start + olen;
        tok_kind kind = TOK_VAR;
        bool triple = false;
        if (q < len) {
            switch (src[q]) {
            case '#': kind = TOK_SECTION; break;
            case '^': kind = TOK_INVERTED; break;
            case '/': kind = TOK_CLOSE; break;
            case '!': kind = TOK_COMMENT; break;
            case '>': kind = TOK_PARTIAL; break;
            case '=': kind = TOK_DELIM; break;
            case '&': kind = TOK_RAW; break;
            case '{': kind = TOK_RAW; triple = true; break;
            case '<': kind = TOK_PARENT; break;
            case '$': kind = TOK_BLOCK; break;
            default: break;
            }
            if (kind != TOK_VAR) q++;
        }

        /* find the end of the tag: the closing delimiter ("}" + closing delimiter for triples) */
        size_t cend = len, tag_end = len;
        const char *close = NULL;
        if (triple) {
            char needle[TPL_MAX_DELIM + 2];
            needle[0] = '}';
            memcpy(needle + 1, ctag, clen);
            close = q <= len ? memmem(src + q, len - q, needle, clen + 1) : NULL;
            if (close) {
                cend = (size_t)(close - src);
                tag_end = cend + 1 + clen;
            }
        } else {
            close = q <= len ? memmem(src + q, len - q, ctag, clen) : NULL;
            if (close) {
                cend = (size_t)(close - src);
                tag_end = cend + clen;
            }
        }
        if (!close) {
            parse_error(p, tag_line, "unclosed tag (missing '%.*s')", (int)clen, ctag);
            return -1;
        }

        size_t cs = q, ce = cend;
        while (cs < ce && is_space(src[cs])) cs++;
        while (ce > cs && is_space(src[ce - 1])) ce--;
        line += count_newlines(src + tag_start, tag_end - tag_start);

        if (kind == TOK_DELIM) {
            /* {{=<% %>=}}: two delimiters separated by whitespace, the content ending with '=' */
            if (ce == cs || src[ce - 1] != '=') {
                parse_error(p, tag_line, "invalid set delimiters tag (expected {{=OPEN CLOSE=}})");
                return -1;
            }
            ce--;
            while (ce > cs && is_space(src[ce - 1])) ce--;
            size_t a1 = cs, e1 = a1;
            while (e1 < ce && !is_space(src[e1])) e1++;
            size_t a2 = e1;
            while (a2 < ce && is_space(src[a2])) a2++;
            size_t e2 = ce;
            bool ok = e1 > a1 && a2 > e1 && e2 > a2 && e1 - a1 <= TPL_MAX_DELIM && e2 - a2 <= TPL_MAX_DELIM;
            for (size_t i = a2; ok && i < e2; i++)
                if (is_space(src[i]) || src[i] == '=') ok = false;
            for (size_t i = a1; ok && i < e1; i++)
                if (src[i] == '=') ok = false;
            if (!ok) {
                parse_error(p, tag_line, "invalid set delimiters tag (expected two delimiters of 1-%d characters "
                                         "without spaces or '=')", TPL_MAX_DELIM);
                return -1;
            }
            otag = src + a1;
            olen = e1 - a1;
            ctag = src + a2;
            clen = e2 - a2;
        } else if (kind == TOK_VAR || kind == TOK_RAW || kind == TOK_SECTION || kind == TOK_INVERTED) {
            if (!valid_path(src + cs, ce - cs)) {
                if (ce == cs)
                    parse_error(p, tag_line, "empty tag");
                else
                    parse_error(p, tag_line, "invalid name '%.*s'", (int)(ce - cs), src + cs);
                return -1;
            }
        } else if (kind != TOK_COMMENT) {
            if (!valid_name(src + cs, ce - cs)) {
                if (ce == cs)
                    parse_error(p, tag_line, "empty %s name", kind == TOK_CLOSE ? "closing tag" : tag_word(kind));
                else
                    parse_error(p, tag_line, "invalid name '%.*s'", (int)(ce - cs), src + cs);
                return -1;
            }
        }
        token *t = tok_push(p, kind, tag_line, tag_start, tag_end);
        t->name = cs;
        t->name_len = ce - cs;
        pos = tag_end;
    }
    return 0;
}

static bool is_opener(tok_kind k)
{
    return k == TOK_SECTION || k == TOK_INVERTED || k == TOK_PARENT || k == TOK_BLOCK;
}

static bool same_name(const parser *p, const token *a, const token *b)
{
    return a->name_len == b->name_len && memcmp(p->src + a->name, p->src + b->name, a->name_len) == 0;
}

/* Pair openers with closing tags; record for every token its innermost enclosing block. */
static int match_tags(parser *p)
{
    long stack[TPL_MAX_NESTING];
    long inner_block[TPL_MAX_NESTING]; /* innermost block inside stack[i] (inclusive) */
    size_t depth = 0;
    for (size_t i = 0; i < p->ntoks; i++) {
        token *t = &p->toks[i];
        t->block = depth ? inner_block[depth - 1] : -1;
        if (is_opener(t->kind)) {
            if (depth == TPL_MAX_NESTING) {
                parse_error(p, t->line, "sections nested too deeply (more than %d levels)", TPL_MAX_NESTING);
                return -1;
            }
            if (t->kind == TOK_BLOCK) t->argument = depth > 0 && p->toks[stack[depth - 1]].kind == TOK_PARENT;
            inner_block[depth] = t->kind == TOK_BLOCK ? (long)i : t->block;
            stack[depth++] = (long)i;
        } else if (t->kind == TOK_CLOSE) {
            if (depth == 0) {
                parse_error(p, t->line, "unexpected closing tag '%.*s' (nothing is open)", (int)t->name_len,
                            p->src + t->name);
                return -1;
            }
            token *open = &p->toks[stack[depth - 1]];
            if (!same_name(p, open, t)) {
                parse_error(p, t->line, "mismatched closing tag '%.*s': %s '%.*s' opened at line %u is still open",
                            (int)t->name_len, p->src + t->name, tag_word(open->kind), (int)open->name_len,
                            p->src + open->name, open->line);
                return -1;
            }
            open->match = (long)i;
            t->match = stack[depth - 1];
            depth--;
            t->block = depth ? inner_block[depth - 1] : -1;
        }
    }
    if (depth > 0) {
        token *open = &p->toks[stack[depth - 1]];
        parse_error(p, open->line, "unclosed %s '%.*s'", tag_word(open->kind), (int)open->name_len,
                    p->src + open->name);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Standalone rules and reindentation                                                                     */

static bool is_text(const parser *p, long i) { return p->toks[i].kind == TOK_TEXT; }

/* Only whitespace between the start of the line and tag i. *ws is the whitespace token, or -1. */
static bool left_clear(const parser *p, long i, long *ws)
{
    *ws = -1;
    long j = i - 1;
    if (j >= 0 && is_text(p, j) && !p->toks[j].ends_line) {
        if (!p->toks[j].blank) return false;
        *ws = j;
        j--;
    }
    return j < 0 || (is_text(p, j) && p->toks[j].ends_line);
}

/* Only whitespace between tag i and the end of its line (or of the template). *nl is the token holding
 * that whitespace and the line ending, or -1. */
static bool right_clear(const parser *p, long i, long *nl)
{
    *nl = -1;
    long j = i + 1;
    if (j >= (long)p->ntoks) return true;
    if (!is_text(p, j) || !p->toks[j].blank) return false;
    if (p->toks[j].ends_line || j + 1 == (long)p->ntoks) {
        *nl = j;
        return true;
    }
    return false;
}

static void remove_tok(parser *p, long i)
{
    if (i >= 0) p->toks[i].removed = true;
}

/* Leading whitespace of the first non-blank line starting at `from` (bounded by `limit`). */
static void first_line_indent(const parser *p, size_t from, size_t limit, size_t *ind, size_t *ind_len)
{
    size_t s = from;
    while (s < limit) {
        size_t k = s;
        while (k < limit && is_hspace(p->src[k])) k++;
        if (k < limit && p->src[k] == '\n') {
            s = k + 1;
            continue;
        }
        if (k + 1 < limit && p->src[k] == '\r' && p->src[k + 1] == '\n') {
            s = k + 2;
            continue;
        }
        *ind = s;
        *ind_len = k - s;
        return;
    }
    *ind = from;
    *ind_len = 0;
}

/* Which tags own the whitespace around them:
 *  - a section, inverted, closing, comment, partial, set-delimiter or block tag alone on its line (only
 *    whitespace around it) is standalone: the whole line disappears; a standalone partial's leading
 *    whitespace becomes the indentation of every line of the partial;
 *  - a parent tag pair is standalone when the opening tag starts its line and the closing tag ends its
 *    line (they may share one): the opening tag's leading whitespace indents the expansion, and the
 *    closing tag takes the rest of its line. Text inside a parent pair outside blocks is ignored anyway;
 *  - an argument block (directly inside a parent pair) takes the line ending right after its opening tag
 *    and the whitespace before its closing tag, whatever precedes/follows them on those lines;
 *  - a block's intrinsic indentation is that of its first non-blank content line when the opening tag's
 *    line ending was taken, else the whitespace before the tag when only whitespace precedes it. It is
 *    stripped from the block's lines at compile time and added back where the block is expanded, so an
 *    overriding block adopts the indentation of the block it replaces. */
static void apply_standalone_rules(parser *p)
{
    long n = (long)p->ntoks;
    /* decide everything on the untouched token list first, then remove */
    bool *drop = ar_calloc((size_t)n + 1, sizeof *drop);
    for (long i = 0; i < n; i++) {
        token *t = &p->toks[i];
        if (t->kind == TOK_TEXT || t->kind == TOK_VAR || t->kind == TOK_RAW) continue;
        long ws, nl;
        if (t->kind == TOK_PARENT) {
            long nl2;
            if (left_clear(p, i, &ws) && right_clear(p, t->match, &nl2)) {
                t->standalone = true;
                if (ws >= 0) {
                    t->ind = p->toks[ws].start;
                    t->ind_len = p->toks[ws].end - p->toks[ws].start;
                    drop[ws] = true;
                }
                if (nl2 >= 0) drop[nl2] = true;
            }
            continue;
        }
        if (t->kind == TOK_CLOSE && p->toks[t->match].kind == TOK_PARENT) continue;

        bool lc = left_clear(p, i, &ws), rc = right_clear(p, i, &nl);
        bool standalone = lc && rc;
        if (standalone) {
            if (ws >= 0) drop[ws] = true;
            if (nl >= 0) drop[nl] = true;
            if (t->kind == TOK_PARTIAL) {
                t->standalone = true;
                if (ws >= 0) {
                    t->ind = p->toks[ws].start;
                    t->ind_len = p->toks[ws].end - p->toks[ws].start;
                }
            }
        }
        if (t->kind == TOK_BLOCK) {
            bool takes_line_end = rc && (standalone || t->argument);
            if (takes_line_end) {
                if (nl >= 0) drop[nl] = true;
                size_t from = nl >= 0 ? p->toks[nl].end : t->end;
                first_line_indent(p, from, p->toks[t->match].end, &t->ind, &t->ind_len);
            } else if (lc && !t->argument && ws >= 0) {
                t->ind = p->toks[ws].start;
                t->ind_len = p->toks[ws].end - p->toks[ws].start;
            } else {
                t->ind = t->start;
                t->ind_len = 0;
            }
        }
        if (t->kind == TOK_CLOSE && p->toks[t->match].kind == TOK_BLOCK && p->toks[t->match].argument && lc &&
            ws >= 0)
            drop[ws] = true;
    }
    for (long i = 0; i < n; i++)
        if (drop[i]) remove_tok(p, i);
    free(drop);
}

static size_t common_prefix(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t k = 0;
    while (k < alen && k < blen && a[k] == b[k]) k++;
    return k;
}

/* Strip every line inside a block of the block's intrinsic indentation. */
static void reindent(parser *p)
{
    for (size_t i = 0; i < p->ntoks; i++) {
        token *t = &p->toks[i];
        if (t->kind != TOK_TEXT || t->removed || t->block < 0) continue;
        if (t->start != 0 && p->src[t->start - 1] != '\n') continue; /* not at the start of a line */
        const token *b = &p->toks[t->block];
        t->skip = common_prefix(p->src + t->start, t->end - t->start, p->src + b->ind, b->ind_len);
    }
}

/* Indentation of token t relative to its enclosing block (whose own indentation is re-added at render). */
static char *relative_indent(const parser *p, const token *t, size_t *out_len)
{
    size_t ind = t->ind, len = t->ind_len;
    if (t->block >= 0) {
        const token *b = &p->toks[t->block];
        size_t k = common_prefix(p->src + ind, len, p->src + b->ind, b->ind_len);
        ind += k;
        len -= k;
    }
    *out_len = len;
    return len ? ar_strndup(p->src + ind, len) : NULL;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Tree building                                                                                          */

static void path_init(tpl_path *path, const char *s, size_t n)
{
    if (n == 1 && s[0] == '.') {
        path->parts = NULL;
        path->nparts = 0;
        return;
    }
    path->parts = ar_strndup(s, n);
    path->nparts = 1;
    for (size_t i = 0; i < n; i++) {
        if (path->parts[i] == '.') {
            path->parts[i] = '\0';
            path->nparts++;
        }
    }
}

static tpl_node *node_new(node_kind kind, unsigned line)
{
    tpl_node *n = ar_calloc(1, sizeof *n);
    n->kind = kind;
    n->line = line;
    return n;
}

static void flush_text(ar_buf *text, unsigned line, node_list *into)
{
    if (text->len == 0) return;
    tpl_node *n = node_new(NODE_TEXT, line);
    n->len = text->len;
    n->str = ar_buf_steal(text);
    node_list_push(into, n);
}

typedef struct {
    tpl_node *owner; /* NULL for the template's top level */
    node_list kids;
} build_frame;

static void build_tree(parser *p, tpl_template *tpl)
{
    build_frame frames[TPL_MAX_NESTING + 1];
    size_t depth = 0;
    frames[0].owner = NULL;
    frames[0].kids = (node_list){0};
    ar_buf text = AR_BUF_INIT;
    unsigned text_line = 1;
    const char *src = p->src;

    for (size_t i = 0; i < p->ntoks; i++) {
        token *t = &p->toks[i];
        build_frame *f = &frames[depth];
        bool in_parent = f->owner && f->owner->kind == NODE_PARENT;
        if (in_parent && t->kind != TOK_BLOCK && t->kind != TOK_CLOSE) {
            /* only blocks matter directly inside a parent pair: skip everything else, subtrees included */
            if (is_opener(t->kind)) i = (size_t)t->match;
            continue;
        }
        if (t->kind == TOK_TEXT) {
            if (t->removed || t->skip >= t->end - t->start) continue;
            if (text.len == 0) text_line = t->line;
            ar_buf_append(&text, src + t->start + t->skip, t->end - t->start - t->skip);
            continue;
        }
        if (t->kind == TOK_COMMENT || t->kind == TOK_DELIM) continue;
        flush_text(&text, text_line, &f->kids);

        tpl_node *n = NULL;
        switch (t->kind) {
        case TOK_VAR:
        case TOK_RAW:
            n = node_new(t->kind == TOK_VAR ? NODE_VAR : NODE_RAW, t->line);
            path_init(&n->path, src + t->name, t->name_len);
            node_list_push(&f->kids, n);
            break;
        case TOK_PARTIAL:
            n = node_new(NODE_PARTIAL, t->line);
            n->str = ar_strndup(src + t->name, t->name_len);
            n->len = t->name_len;
            n->standalone = t->standalone;
            if (t->standalone) n->indent = relative_indent(p, t, &n->indent_len);
            node_list_push(&f->kids, n);
            break;
        case TOK_SECTION:
        case TOK_INVERTED:
        case TOK_PARENT:
        case TOK_BLOCK:
            n = node_new(t->kind == TOK_SECTION    ? NODE_SECTION
                         : t->kind == TOK_INVERTED ? NODE_INVERTED
                         : t->kind == TOK_PARENT   ? NODE_PARENT
                                                   : NODE_BLOCK,
                         t->line);
            if (t->kind == TOK_SECTION || t->kind == TOK_INVERTED) {
                path_init(&n->path, src + t->name, t->name_len);
            } else {
                n->str = ar_strndup(src + t->name, t->name_len);
                n->len = t->name_len;
            }
            if (t->kind == TOK_PARENT) {
                n->standalone = t->standalone;
                if (t->standalone) n->indent = relative_indent(p, t, &n->indent_len);
            }
            if (t->kind == TOK_BLOCK) n->indent = relative_indent(p, t, &n->indent_len);
            node_list_push(&f->kids, n);
            depth++; /* match_tags bounded the nesting */
            frames[depth].owner = n;
            frames[depth].kids = (node_list){0};
            break;
        case TOK_CLOSE:
            f->owner->kids = f->kids.items;
            f->owner->nkids = f->kids.n;
            depth--;
            break;
        default:
            break;
        }
    }
    flush_text(&text, text_line, &frames[0].kids);
    ar_buf_free(&text);
    tpl->nodes = frames[0].kids.items;
    tpl->nnodes = frames[0].kids.n;
}

static tpl_template *compile(const char *name, const char *origin, const char *src, size_t len, char **err)
{
    parser p = {.src = src, .len = len, .origin = origin};
    tpl_template *tpl = NULL;
    if (tokenize(&p) == 0 && match_tags(&p) == 0) {
        apply_standalone_rules(&p);
        reindent(&p);
        tpl = ar_calloc(1, sizeof *tpl);
        tpl->name = ar_strdup(name);
        tpl->origin = ar_strdup(origin);
        build_tree(&p, tpl);
    }
    free(p.toks);
    if (!tpl) {
        if (err) *err = p.err;
        else free(p.err);
    }
    return tpl;
}

/* ---------------------------------------------------------------------------------------------------- */
/* The named set                                                                                          */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static tpl_template *const *find_slot(const ar_templates *t, const char *name)
{
    if (!t || t->cap == 0) return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        tpl_template *const *s = &t->slots[i];
        if (!*s || strcmp((*s)->name, name) == 0) return s;
    }
}

static const tpl_template *find_template(const ar_templates *t, const char *name)
{
    tpl_template *const *s = find_slot(t, name);
    return s ? *s : NULL;
}

static void set_put(ar_templates *t, tpl_template *tpl)
{
    if ((t->count + 1) * 10 > t->cap * 7) {
        size_t ncap = t->cap ? t->cap * 2 : 32;
        tpl_template **old = t->slots;
        size_t ocap = t->cap;
        t->slots = ar_calloc(ncap, sizeof *t->slots);
        t->cap = ncap;
        for (size_t i = 0; i < ocap; i++) {
            if (!old[i]) continue;
            tpl_template **s = (tpl_template **)find_slot(t, old[i]->name);
            *s = old[i];
        }
        free(old);
    }
    tpl_template **s = (tpl_template **)find_slot(t, tpl->name);
    if (*s) {
        template_free(*s);
    } else {
        t->count++;
    }
    *s = tpl;
}

ar_templates *ar_templates_new(void)
{
    return ar_calloc(1, sizeof(ar_templates));
}

void ar_templates_free(ar_templates *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->cap; i++) template_free(t->slots[i]);
    free(t->slots);
    free(t);
}

int ar_templates_add_source(ar_templates *t, const char *name, const char *origin, const char *source,
                            size_t len, char **err)
{
    if (err) *err = NULL;
    if (!t || !name || !source) {
        if (err) *err = ar_asprintf("%s: invalid arguments", name ? name : "(null)");
        return -1;
    }
    tpl_template *tpl = compile(name, origin ? origin : name, source, len, err);
    if (!tpl) return -1;
    set_put(t, tpl);
    return 0;
}

int ar_templates_add(ar_templates *t, const char *name, const char *source, char **err)
{
    return ar_templates_add_source(t, name, name, source, source ? strlen(source) : 0, err);
}

int ar_templates_has(const ar_templates *t, const char *name)
{
    return name && find_template(t, name) != NULL;
}

size_t ar_templates_count(const ar_templates *t)
{
    return t ? t->count : 0;
}

/* First unknown partial/parent below `nodes`, in template order. */
static const tpl_node *find_unknown_ref(const ar_templates *t, tpl_node *const *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const tpl_node *node = nodes[i];
        if ((node->kind == NODE_PARTIAL || node->kind == NODE_PARENT) && !find_template(t, node->str)) return node;
        const tpl_node *bad = find_unknown_ref(t, node->kids, node->nkids);
        if (bad) return bad;
    }
    return NULL;
}

static int cmp_template_names(const void *a, const void *b)
{
    const tpl_template *x = *(tpl_template *const *)a, *y = *(tpl_template *const *)b;
    return strcmp(x->name, y->name);
}

int ar_templates_check(const ar_templates *t, char **err)
{
    if (err) *err = NULL;
    if (!t || t->count == 0) return 0;
    /* report in name order so the first error is the same on every run */
    tpl_template **all = ar_malloc(t->count * sizeof *all);
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i]) all[n++] = t->slots[i];
    qsort(all, n, sizeof *all, cmp_template_names);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const tpl_node *bad = find_unknown_ref(t, all[i]->nodes, all[i]->nnodes);
        if (bad) {
            if (err)
                *err = ar_asprintf("%s:%u: unknown %s '%s'", all[i]->origin, bad->line,
                                   bad->kind == NODE_PARENT ? "parent" : "partial", bad->str);
            rc = -1;
        }
    }
    free(all);
    return rc;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Loading a directory                                                                                    */

static const char TPL_SUFFIX[] = ".mustache";

static int cmp_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_file(ar_templates *t, const char *path, const char *name, char **err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = ar_asprintf("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    ar_buf b = AR_BUF_INIT;
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) ar_buf_append(&b, chunk, got);
    int read_failed = ferror(f);
    fclose(f);
    if (read_failed) {
        ar_buf_free(&b);
        *err = ar_asprintf("%s: read error", path);
        return -1;
    }
    int rc = ar_templates_add_source(t, name, path, ar_buf_cstr(&b), b.len, err);
    ar_buf_free(&b);
    return rc;
}

/* Load `dir`/`rel` (rel is "" at the top) into t. */
static int load_tree(ar_templates *t, const char *root, const char *rel, int level, char **err)
{
    char *dir_path = rel[0] ? ar_asprintf("%s/%s", root, rel) : ar_strdup(root);
    if (level > TPL_MAX_DIR_DEPTH) {
        *err = ar_asprintf("%s: directories nested too deeply", dir_path);
        free(dir_path);
        return -1;
    }
    DIR *d = opendir(dir_path);
    if (!d) {
        *err = ar_asprintf("%s: cannot open directory: %s", dir_path, strerror(errno));
        free(dir_path);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; /* ".", "..", hidden files, editor droppings */
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = ar_realloc(names, cap * sizeof *names);
        }
        names[n++] = ar_strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_strings);

    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *child_rel = rel[0] ? ar_asprintf("%s/%s", rel, names[i]) : ar_strdup(names[i]);
        char *path = ar_asprintf("%s/%s", root, child_rel);
        struct stat st;
        if (stat(path, &st) != 0) {
            *err = ar_asprintf("%s: %s", path, strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = load_tree(t, root, child_rel, level + 1, err);
        } else if (S_ISREG(st.st_mode)) {
            size_t len = strlen(child_rel), slen = sizeof TPL_SUFFIX - 1;
            if (len > slen && strcmp(child_rel + len - slen, TPL_SUFFIX) == 0) {
                char *name = ar_strndup(child_rel, len - slen);
                rc = load_file(t, path, name, err);
                free(name);
            }
        }
        free(path);
        free(child_rel);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(dir_path);
    return rc;
}

ar_templates *ar_templates_load_dir(const char *dir, char **err)
{
    char *local_err = NULL;
    char **errp = err ? err : &local_err;
    *errp = NULL;
    if (!dir || !dir[0]) {
        *errp = ar_strdup("template directory not set");
        free(local_err);
        return NULL;
    }
    /* "templates/" and "templates" name files the same way */
    char *root = ar_strdup(dir);
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/') root[--rl] = '\0';

    ar_templates *t = ar_templates_new();
    if (load_tree(t, root, "", 0, errp) != 0 || ar_templates_check(t, errp) != 0) {
        ar_templates_free(t);
        t = NULL;
    }
    free(root);
    free(local_err);
    return t;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Rendering                                                                                              */

typedef struct {
    const char *name;
    const tpl_node *block;
} block_override;

enum { CTX_MAX = TPL_MAX_RENDER_DEPTH + 2 };

typedef struct {
    const ar_templates *set;
    ar_buf *out;
    json_t *ctx[CTX_MAX]; /* context stack, top = ctx[nctx - 1] */
    size_t nctx;
    ar_buf indent;        /* prefix for every template line started from here on */
    bool at_line_start;   /* the next template output starts a line */
    block_override *ovr;  /* block overrides from enclosing parents; the outermost wins */
    size_t novr, ovr_cap;
    unsigned partial_depth;
    unsigned depth;
    unsigned long steps;  /* nodes visited so far */
    bool aborted;         /* TPL_MAX_RENDER_STEPS reached: stop everything */
} render_state;

static void render_nodes(render_state *rs, tpl_node *const *nodes, size_t n);

static void begin_output(render_state *rs)
{
    if (rs->at_line_start) {
        if (rs->indent.len) ar_buf_append(rs->out, rs->indent.data, rs->indent.len);
        rs->at_line_start = false;
    }
}

static void emit_text(render_state *rs, const char *s, size_t n)
{
    if (n == 0) return;
    if (rs->indent.len == 0) {
        ar_buf_append(rs->out, s, n);
        rs->at_line_start = s[n - 1] == '\n';
        return;
    }
    while (n > 0) {
        const char *nl = memchr(s, '\n', n);
        size_t chunk = nl ? (size_t)(nl - s) + 1 : n;
        bool empty_line = s[0] == '\n' || (chunk == 2 && s[0] == '\r');
        if (!empty_line) begin_output(rs); /* no trailing whitespace on empty lines */
        ar_buf_append(rs->out, s, chunk);
        rs->at_line_start = nl != NULL;
        s += chunk;
        n -= chunk;
    }
}

static void format_real(double d, char *buf, size_t size)
{
    if (d == 0) {
        snprintf(buf, size, "0");
        return;
    }
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(buf, size, "%.0f", d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) return;
    }
}

static void emit_value(render_state *rs, json_t *v, bool escape)
{
    begin_output(rs);
    if (!v) return;
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (escape)
            ar_html_escape(rs->out, json_string_value(v), json_string_length(v));
        else
            ar_buf_append(rs->out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        ar_buf_puts(rs->out, num);
        break;
    case JSON_REAL:
        format_real(json_real_value(v), num, sizeof num);
        ar_buf_puts(rs->out, num);
        break;
    case JSON_TRUE: ar_buf_puts(rs->out, "true"); break;
    case JSON_FALSE: ar_buf_puts(rs->out, "false"); break;
    default: break; /* null, objects and arrays print nothing */
    }
}

static json_t *lookup(const render_state *rs, const tpl_path *path)
{
    if (path->nparts == 0) return rs->nctx ? rs->ctx[rs->nctx - 1] : NULL;
    const char *part = path->parts;
    json_t *v = NULL;
    for (size_t i = rs->nctx; i-- > 0;) {
        json_t *c = rs->ctx[i];
        if (json_is_object(c) && (v = json_object_get(c, part)) != NULL) break;
    }
    for (unsigned k = 1; v && k < path->nparts; k++) {
        part += strlen(part) + 1;
        v = json_is_object(v) ? json_object_get(v, part) : NULL;
    }
    return v;
}

static bool truthy(const json_t *v)
{
    if (!v) return false;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE: return false;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_STRING: return json_string_length(v) > 0;
    default: return true;
    }
}

static void render_with(render_state *rs, json_t *item, const tpl_node *section)
{
    if (rs->nctx == CTX_MAX) return;
    rs->ctx[rs->nctx++] = item;
    render_nodes(rs, section->kids, section->nkids);
    rs->nctx--;
}

static void render_section(render_state *rs, const tpl_node *node)
{
    json_t *v = lookup(rs, &node->path);
    if (!truthy(v)) return;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) render_with(rs, json_array_get(v, i), node);
    } else {
        render_with(rs, v, node);
    }
}

static void restore_indent(render_state *rs, size_t len)
{
    rs->indent.len = len;
    if (rs->indent.data) rs->indent.data[len] = '\0';
}

/* {{>name}} and {{<name}}...{{/name}} (node->kids are then the argument blocks). */
static void render_partial(render_state *rs, const tpl_node *node)
{
    const tpl_template *t = find_template(rs->set, node->str);
    if (!t || rs->partial_depth >= TPL_MAX_PARTIAL_DEPTH) return;
    size_t saved_indent = rs->indent.len, saved_ovr = rs->novr;
    if (node->standalone) {
        if (node->indent_len) ar_buf_append(&rs->indent, node->indent, node->indent_len);
        rs->at_line_start = true;
    }
    for (size_t i = 0; i < node->nkids; i++) {
        if (node->kids[i]->kind != NODE_BLOCK) continue;
        if (rs->novr == rs->ovr_cap) {
            rs->ovr_cap = rs->ovr_cap ? rs->ovr_cap * 2 : 16;
            rs->ovr = ar_realloc(rs->ovr, rs->ovr_cap * sizeof *rs->ovr);
        }
        rs->ovr[rs->novr++] = (block_override){node->kids[i]->str, node->kids[i]};
    }
    rs->partial_depth++;
    render_nodes(rs, t->nodes, t->nnodes);
    rs->partial_depth--;
    rs->novr = saved_ovr;
    restore_indent(rs, saved_indent);
}

static void render_block(render_state *rs, const tpl_node *node)
{
    const tpl_node *body = node;
    for (size_t i = 0; i < rs->novr; i++) {
        if (strcmp(rs->ovr[i].name, node->str) == 0) {
            body = rs->ovr[i].block;
            break;
        }
    }
    size_t saved_indent = rs->indent.len;
    if (node->indent_len) ar_buf_append(&rs->indent, node->indent, node->indent_len);
    render_nodes(rs, body->kids, body->nkids);
    restore_indent(rs, saved_indent);
}

static void render_nodes(render_state *rs, tpl_node *const *nodes, size_t n)
{
    if (rs->depth >= TPL_MAX_RENDER_DEPTH || rs->aborted) return;
    rs->depth++;
    for (size_t i = 0; i < n && !rs->aborted; i++) {
        const tpl_node *node = nodes[i];
        if (++rs->steps > TPL_MAX_RENDER_STEPS) {
            rs->aborted = true;
            break;
        }
        switch (node->kind) {
        case NODE_TEXT: emit_text(rs, node->str, node->len); break;
        case NODE_VAR: emit_value(rs, lookup(rs, &node->path), true); break;
        case NODE_RAW: emit_value(rs, lookup(rs, &node->path), false); break;
        case NODE_SECTION: render_section(rs, node); break;
        case NODE_INVERTED:
            if (!truthy(lookup(rs, &node->path))) render_nodes(rs, node->kids, node->nkids);
            break;
        case NODE_PARTIAL:
        case NODE_PARENT: render_partial(rs, node); break;
        case NODE_BLOCK: render_block(rs, node); break;
        }
    }
    rs->depth--;
}

int ar_templates_render(const ar_templates *t, const char *name, json_t *ctx, ar_buf *out)
{
    const tpl_template *tpl = name ? find_template(t, name) : NULL;
    if (!tpl || !out) return -1;
    render_state rs = {.set = t, .out = out, .at_line_start = true};
    if (ctx) rs.ctx[rs.nctx++] = ctx;
    render_nodes(&rs, tpl->nodes, tpl->nnodes);
    ar_buf_free(&rs.indent);
    free(rs.ovr);
    return rs.aborted ? -1 : 0;
}

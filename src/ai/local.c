/* local.c — the local AI provider: no network, deterministic, honest about being extractive. It picks the
 * strongest sentences of an entry (numbers, outcome verbs), rewrites them as résumé bullets, scores impact with
 * simple heuristics, finds skills with the taxonomy matcher (skills.h) and builds report sections whose every
 * bullet cites the entry it came from. */
#include "afterresume/ai/provider.h"
#include "afterresume/ai/skills.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TITLE_MAX 80
#define SUMMARY_MAX 160
#define BULLET_MAX 200
#define EXCERPT_MAX 200
#define SECTION_MAX_ITEMS 12

static const char *const strong_verbs[] = {
    "reduced", "improved", "increased", "cut", "built", "launched", "shipped", "led", "designed", "migrated",
    "automated", "fixed", "resolved", "delivered", "implemented", "created", "optimized", "optimised", "saved",
    "mentored", "scaled", "introduced", "rewrote", "replaced", "eliminated", "accelerated", "doubled", "halved",
    "tripled", "won", "negotiated", "unblocked", "prevented", "restored", "released", "deployed", "established",
    NULL};

static const char *str_field(json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s ? s : "";
}

/* Markdown reduced to plain text: list markers, headings, quotes, emphasis and code markers removed, links
 * replaced by their text, fenced code blocks dropped. */
static char *plain_text(const char *md)
{
    ar_buf out = AR_BUF_INIT;
    int in_fence = 0;
    const char *p = md;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *line = p;
        p = eol ? eol + 1 : p + len;
        while (len > 0 && (*line == ' ' || *line == '\t')) line++, len--;
        if (len >= 3 && (strncmp(line, "```", 3) == 0 || strncmp(line, "~~~", 3) == 0)) {
            in_fence = !in_fence;
            continue;
        }
        if (in_fence) continue;
        while (len > 0 && (*line == '#' || *line == '>')) line++, len--;
        if (len >= 2 && (line[0] == '-' || line[0] == '*' || line[0] == '+') && line[1] == ' ') line += 2, len -= 2;
        size_t digits = 0;
        while (digits < len && isdigit((unsigned char)line[digits])) digits++;
        if (digits > 0 && digits + 1 < len && (line[digits] == '.' || line[digits] == ')') && line[digits + 1] == ' ')
            line += digits + 2, len -= digits + 2;
        while (len > 0 && isspace((unsigned char)*line)) line++, len--;
        if (len == 0) {
            ar_buf_putc(&out, '\n');
            continue;
        }
        for (size_t i = 0; i < len; i++) {
            char c = line[i];
            if (c == '`' || c == '*' || (c == '_' && (i == 0 || i + 1 == len || line[i - 1] == ' ' || line[i + 1] == ' ')))
                continue;
            if (c == '[') { /* [text](url) -> text */
                const char *close = memchr(line + i, ']', len - i);
                if (close && (size_t)(close - line) + 1 < len && close[1] == '(') {
                    const char *paren = memchr(close, ')', len - (size_t)(close - line));
                    if (paren) {
                        ar_buf_append(&out, line + i + 1, (size_t)(close - line - (long)i - 1));
                        i = (size_t)(paren - line);
                        continue;
                    }
                }
            }
            ar_buf_putc(&out, c);
        }
        /* a line without final punctuation ends a sentence too */
        char last = line[len - 1];
        ar_buf_puts(&out, (last == '.' || last == '!' || last == '?' || last == ':') ? "\n" : ".\n");
    }
    return ar_buf_steal(&out);
}

/* Sentences of plain text (trimmed, at least two words). */
static json_t *sentences(const char *text)
{
    json_t *out = json_array();
    const char *p = text;
    while (*p) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *start = p;
        while (*p) {
            if (*p == '\n') break;
            if ((*p == '.' || *p == '!' || *p == '?') && (p[1] == '\0' || isspace((unsigned char)p[1]))) {
                /* "e.g. " and "v1.2 " are not sentence ends: need a lower-case word before and a capital after
                 * or a line end; keep it simple: a single letter before the dot is an abbreviation */
                if (!(p - start >= 2 && isalpha((unsigned char)p[-1]) && !isalpha((unsigned char)p[-2]) && p[-2] != ' ')) {
                    p++;
                    break;
                }
            }
            p++;
        }
        size_t len = (size_t)(p - start);
        while (len > 0 && isspace((unsigned char)start[len - 1])) len--;
        int words = 0, in_word = 0;
        for (size_t i = 0; i < len; i++) {
            if (isspace((unsigned char)start[i])) in_word = 0;
            else if (!in_word) in_word = 1, words++;
        }
        if (words >= 2 && len <= 2000) json_array_append_new(out, json_stringn(start, len));
    }
    return out;
}

static int has_metric(const char *s)
{
    for (const char *p = s; *p; p++)
        if (isdigit((unsigned char)*p)) return 1;
    return 0;
}

static int strong_verb_count(const char *s)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        while (*p && !isalpha((unsigned char)*p)) p++;
        const char *w = p;
        while (*p && isalpha((unsigned char)*p)) p++;
        size_t len = (size_t)(p - w);
        for (const char *const *v = strong_verbs; *v && len; v++)
            if (strlen(*v) == len && strncasecmp(w, *v, len) == 0) n++;
    }
    return n;
}

static int sentence_score(const char *s)
{
    int score = 0;
    if (has_metric(s)) score += 3;
    int verbs = strong_verb_count(s);
    score += verbs > 2 ? 4 : verbs * 2;
    size_t len = strlen(s);
    if (len >= 30 && len <= 220) score += 1;
    return score;
}

/* Cut at a word boundary to at most max bytes (adding "…" when cut), never inside a UTF-8 sequence. */
static char *shorten(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max) return ar_strdup(s);
    size_t cut = max - 3;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
    size_t space = cut;
    while (space > max / 2 && s[space] != ' ') space--;
    if (s[space] == ' ') cut = space;
    while (cut > 0 && (s[cut - 1] == ' ' || s[cut - 1] == ',' || s[cut - 1] == ';')) cut--;
    return ar_asprintf("%.*s…", (int)cut, s);
}

static int starts_with_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    return strncasecmp(s, w, n) == 0 && (s[n] == ' ' || s[n] == ',');
}

/* A résumé-style bullet: no leading "I"/"We"/"Today", capitalised, ends with a full stop. */
static char *resume_bullet(const char *sentence, size_t max)
{
    const char *s = sentence;
    static const char *const fillers[] = {"today", "yesterday", "this week", "finally", "also", "then", "i", "we",
                                          "i've", "we've", "have", "has", "worked on", "did some", "spent time",
                                          "spent the day", NULL};
    for (int changed = 1; changed;) {
        changed = 0;
        while (*s == ' ' || *s == ',' || *s == '-') s++;
        for (const char *const *f = fillers; *f; f++)
            if (starts_with_word(s, *f)) {
                s += strlen(*f);
                changed = 1;
            }
    }
    while (*s == ' ' || *s == ',') s++;
    if (!*s) s = sentence;
    char *b = shorten(s, max - 1);
    size_t len = strlen(b);
    while (len > 0 && (b[len - 1] == '.' || b[len - 1] == ':' || b[len - 1] == ' ')) b[--len] = '\0';
    if (b[0] >= 'a' && b[0] <= 'z') b[0] = (char)(b[0] - 'a' + 'A');
    char *out = ar_asprintf("%s%s", b, len >= 3 && strcmp(b + len - 3, "…") == 0 ? "" : ".");
    ar_free(b);
    return out;
}

static char *tighten_title(const char *title, const char *fallback_sentence)
{
    const char *s = title && *title ? title : fallback_sentence;
    if (!s || !*s) return ar_strdup("Worklog entry");
    static const char *const fillers[] = {"worked on", "did some", "some", "various", "misc", "stuff:", NULL};
    for (int changed = 1; changed;) {
        changed = 0;
        while (*s == ' ') s++;
        for (const char *const *f = fillers; *f; f++)
            if (starts_with_word(s, *f)) {
                s += strlen(*f);
                changed = 1;
            }
    }
    while (*s == ' ') s++;
    char *t = shorten(*s ? s : title, TITLE_MAX);
    size_t len = strlen(t);
    while (len > 0 && (t[len - 1] == '.' || t[len - 1] == ' ')) t[--len] = '\0';
    if (t[0] >= 'a' && t[0] <= 'z') t[0] = (char)(t[0] - 'a' + 'A');
    return t;
}

/* Everything the entry says, as plain text: title, content, outcome, impact, then tags. */
static char *entry_text(json_t *entry)
{
    ar_buf b = AR_BUF_INIT;
    const char *parts[] = {str_field(entry, "title"), str_field(entry, "outcome"), str_field(entry, "impact"),
                           str_field(entry, "content")};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!*parts[i]) continue;
        char *plain = plain_text(parts[i]);
        ar_buf_puts(&b, plain);
        ar_buf_putc(&b, '\n');
        ar_free(plain);
    }
    return ar_buf_steal(&b);
}

static int entry_impact_score(json_t *entry, const char *text)
{
    int score = 3;
    if (has_metric(text)) score += 2;
    int verbs = strong_verb_count(text);
    score += verbs >= 3 ? 2 : verbs > 0 ? 1 : 0;
    if (*str_field(entry, "outcome")) score += 1;
    if (*str_field(entry, "impact")) score += 1;
    const char *type = str_field(entry, "work_type");
    if (strcmp(type, "incident") == 0 || strcmp(type, "delivery") == 0) score += 1;
    json_int_t effort = json_integer_value(json_object_get(entry, "effort_minutes"));
    if (effort >= 240) score += 1;
    return score < 1 ? 1 : score > 10 ? 10 : score;
}

/* The sentence around byte `offset` of text, shortened to EXCERPT_MAX. */
static char *excerpt_at(const char *text, size_t offset)
{
    size_t start = offset, end = offset, len = strlen(text);
    while (start > 0 && text[start - 1] != '\n' && !(strchr(".!?", text[start - 1]) && start < len && text[start] == ' '))
        start--;
    while (end < len && text[end] != '\n' && !(strchr(".!?", text[end]) && (end + 1 == len || isspace((unsigned char)text[end + 1]))))
        end++;
    if (end < len && text[end] != '\n') end++;
    while (start < end && isspace((unsigned char)text[start])) start++;
    char *sentence = ar_strndup(text + start, end - start);
    char *out = shorten(sentence, EXCERPT_MAX);
    ar_free(sentence);
    return out;
}

static int tag_mentions(json_t *entry, const ar_skill_def *def)
{
    size_t i;
    json_t *tag;
    json_array_foreach(json_object_get(entry, "tags"), i, tag) {
        const ar_skill_def *t = ar_skill_lookup(json_string_value(tag));
        if (t == def) return 1;
    }
    return 0;
}

/* Known skills of one entry: [{name, kind, confidence, excerpt}], strongest first. */
static json_t *entry_skills(json_t *entry, const char *text)
{
    ar_buf with_tags = AR_BUF_INIT;
    ar_buf_puts(&with_tags, text);
    size_t i;
    json_t *tag;
    json_array_foreach(json_object_get(entry, "tags"), i, tag) {
        ar_buf_printf(&with_tags, "\n%s.", json_string_value(tag) ? json_string_value(tag) : "");
    }
    ar_skill_hit hits[40];
    size_t n = ar_skills_find(ar_buf_cstr(&with_tags), hits, 40);
    json_t *out = json_array();
    for (size_t h = 0; h < n; h++) {
        double confidence = 0.55 + 0.1 * (hits[h].count - 1) + (tag_mentions(entry, hits[h].skill) ? 0.15 : 0);
        if (confidence > 0.95) confidence = 0.95;
        char *excerpt = excerpt_at(ar_buf_cstr(&with_tags), hits[h].offset);
        json_array_append_new(out, json_pack("{s:s,s:s,s:f,s:s}", "name", hits[h].skill->name, "kind",
                                             hits[h].skill->kind, "confidence", (double)(int)(confidence * 100) / 100,
                                             "excerpt", excerpt));
        ar_free(excerpt);
    }
    ar_buf_free(&with_tags);
    return out;
}

typedef struct ranked {
    const char *text;
    int score;
    size_t order;
} ranked;

static int by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return y->score - x->score;
    return x->order < y->order ? -1 : x->order > y->order;
}

json_t *ar_ai_local_enhance(json_t *entry)
{
    char *text = entry_text(entry);
    char *content_plain = plain_text(str_field(entry, "content"));
    json_t *content_sentences = sentences(content_plain);
    json_t *all = sentences(text);

    const char *first = json_string_value(json_array_get(content_sentences, 0));
    char *title = tighten_title(str_field(entry, "title"), first ? first : json_string_value(json_array_get(all, 0)));

    size_t n = json_array_size(all);
    ranked *r = ar_calloc(n ? n : 1, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        r[i].text = json_string_value(json_array_get(all, i));
        r[i].score = sentence_score(r[i].text);
        r[i].order = i;
    }
    qsort(r, n, sizeof *r, by_score);

    json_t *bullets = json_array();
    for (size_t i = 0; i < n && json_array_size(bullets) < 3; i++) {
        if (strcasecmp(r[i].text, str_field(entry, "title")) == 0 && n > 1) continue; /* the title is not a bullet */
        char *b = resume_bullet(r[i].text, BULLET_MAX);
        int dup = 0;
        size_t k;
        json_t *existing;
        json_array_foreach(bullets, k, existing) dup |= strcasecmp(json_string_value(existing), b) == 0;
        if (!dup) json_array_append_new(bullets, json_string(b));
        ar_free(b);
    }
    if (json_array_size(bullets) == 0) {
        char *b = resume_bullet(title, BULLET_MAX);
        json_array_append_new(bullets, json_string(b));
        ar_free(b);
    }
    char *summary = shorten(n ? r[0].text : title, SUMMARY_MAX);

    json_t *out = json_pack("{s:s,s:s,s:o,s:i,s:o}", "title", title, "summary", summary, "bullets", bullets,
                            "impact_score", entry_impact_score(entry, text), "skills", entry_skills(entry, text));
    ar_free(summary);
    ar_free(r);
    ar_free(title);
    json_decref(all);
    json_decref(content_sentences);
    ar_free(content_plain);
    ar_free(text);
    return out;
}

json_t *ar_ai_local_skills(json_t *entries)
{
    json_t *by_name = json_object(); /* normalised name -> skill */
    json_t *order = json_array();
    size_t i;
    json_t *entry;
    json_array_foreach(entries, i, entry) {
        char *text = entry_text(entry);
        json_t *skills = entry_skills(entry, text);
        size_t k;
        json_t *s;
        json_array_foreach(skills, k, s) {
            const char *name = json_string_value(json_object_get(s, "name"));
            json_t *skill = json_object_get(by_name, name);
            if (!skill) {
                skill = json_pack("{s:s,s:O,s:f,s:[]}", "name", name, "kind", json_object_get(s, "kind"),
                                  "confidence", 0.0, "evidence");
                json_object_set_new(by_name, name, skill);
                json_array_append_new(order, json_string(name));
            }
            json_array_append_new(json_object_get(skill, "evidence"),
                                  json_pack("{s:O,s:O}", "entry_id", json_object_get(entry, "id"), "excerpt",
                                            json_object_get(s, "excerpt")));
        }
        json_decref(skills);
        ar_free(text);
    }
    json_t *out = json_array();
    size_t k;
    json_t *name;
    json_array_foreach(order, k, name) {
        json_t *skill = json_object_get(by_name, json_string_value(name));
        size_t evidence = json_array_size(json_object_get(skill, "evidence"));
        double confidence = 0.4 + 0.1 * (double)evidence;
        json_object_set_new(skill, "confidence", json_real(confidence > 0.95 ? 0.95 : confidence));
        json_object_set_new(skill, "level", json_string(evidence >= 5 ? "strong" : evidence >= 2 ? "practiced" : "emerging"));
        json_array_append(out, skill);
    }
    json_decref(order);
    json_decref(by_name);
    return json_pack("{s:o}", "skills", out);
}

typedef struct scored_entry {
    json_t *entry;
    int impact;
    size_t order;
} scored_entry;

static int by_impact(const void *a, const void *b)
{
    const scored_entry *x = a, *y = b;
    if (x->impact != y->impact) return y->impact - x->impact;
    return x->order < y->order ? -1 : x->order > y->order;
}

json_t *ar_ai_local_section(const char *report_kind, json_t *entries)
{
    size_t n = json_array_size(entries);
    scored_entry *s = ar_calloc(n ? n : 1, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        char *text = entry_text(e);
        json_t *score = json_object_get(e, "impact_score");
        s[i] = (scored_entry){e, json_is_integer(score) ? (int)json_integer_value(score) : entry_impact_score(e, text), i};
        ar_free(text);
    }
    int resume = report_kind && strcmp(report_kind, "resume") == 0;
    if (resume || n > SECTION_MAX_ITEMS) qsort(s, n, sizeof *s, by_impact);
    size_t limit = resume ? 5 : SECTION_MAX_ITEMS;
    json_t *items = json_array();
    for (size_t i = 0; i < n && json_array_size(items) < limit; i++) {
        json_t *e = s[i].entry;
        json_t *enhanced = ar_ai_local_enhance(e);
        const char *text = json_string_value(json_array_get(json_object_get(enhanced, "bullets"), 0));
        json_t *id = json_object_get(e, "id");
        /* the same bullet from several entries is one item citing them all */
        json_t *same = NULL;
        size_t k;
        json_t *item;
        json_array_foreach(items, k, item) {
            if (strcasecmp(json_string_value(json_object_get(item, "text")), text) == 0) same = item;
        }
        if (same) json_array_append(json_object_get(same, "citations"), id);
        else json_array_append_new(items, json_pack("{s:s,s:[O]}", "text", text, "citations", id));
        json_decref(enhanced);
    }
    ar_free(s);
    return json_pack("{s:o}", "items", items);
}

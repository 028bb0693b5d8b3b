/* skills.c — skill-name normalisation, the skills taxonomy (names + aliases → canonical skill) and the
 * whole-word matcher that finds known skills in entry text (see skills.h). */
#include "afterresume/ai/skills.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 128
#define MAX_NGRAM 4

typedef struct alias_entry {
    char *key;          /* lower-case letters/digits/+/# */
    char *exact;        /* case-sensitive form (words joined by one space), or NULL */
    size_t def;         /* index into defs */
} alias_entry;

static ar_skill_def *defs;
static size_t ndefs;
static alias_entry *table; /* open addressing, power-of-two size */
static size_t table_size;

/* The comparison key of a string: ASCII letters lower-cased, digits, '+', '#', and any non-ASCII byte. */
static size_t make_key(const char *s, size_t len, char *out, size_t out_size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c)) out[n++] = (char)tolower(c);
        else if (c == '+' || c == '#' || c >= 0x80) out[n++] = (char)c;
    }
    out[n] = '\0';
    return n;
}

static uint64_t hash_key(const char *k)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ULL;
    return h;
}

static void table_put(const char *key, const char *exact, size_t def)
{
    size_t i = hash_key(key) & (table_size - 1);
    while (table[i].key) {
        /* The same key for the same skill (e.g. "node.js" and "nodejs") is stored once. */
        if (strcmp(table[i].key, key) == 0 && table[i].def == def && !table[i].exact && !exact) return;
        i = (i + 1) & (table_size - 1);
    }
    table[i].key = ar_strdup(key);
    table[i].exact = exact ? ar_strdup(exact) : NULL;
    table[i].def = def;
}

void ar_skills_taxonomy_free(void)
{
    for (size_t i = 0; i < ndefs; i++) {
        ar_free((char *)defs[i].name);
        ar_free((char *)defs[i].normalised);
        ar_free((char *)defs[i].kind);
    }
    ar_free(defs);
    for (size_t i = 0; i < table_size; i++) {
        ar_free(table[i].key);
        ar_free(table[i].exact);
    }
    ar_free(table);
    defs = NULL;
    table = NULL;
    ndefs = table_size = 0;
}

size_t ar_skills_taxonomy_size(void)
{
    return ndefs;
}

static void lower_collapse(const char *s, size_t len, char *out, size_t out_size)
{
    size_t n = 0;
    int space = 0;
    for (size_t i = 0; i < len && n + 1 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < out_size) out[n++] = ' ';
        space = 0;
        out[n++] = (char)(c < 0x80 ? tolower(c) : c);
    }
    /* never end inside a UTF-8 sequence */
    while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80) {
        size_t start = n - 1;
        while (start > 0 && ((unsigned char)out[start] & 0xC0) == 0x80) start--;
        unsigned char lead = (unsigned char)out[start];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (n - start == need) break;
        n = start;
    }
    out[n] = '\0';
}

/* Add a name or alias: "=Go" is case-sensitive, anything else matched on its key. */
static void add_alias(const char *alias, size_t def)
{
    int exact = alias[0] == '=';
    if (exact) alias++;
    char key[KEY_MAX];
    if (make_key(alias, strlen(alias), key, sizeof key) == 0) return;
    if (exact) {
        char words[KEY_MAX]; /* the original case, inner whitespace collapsed to one space */
        size_t n = 0;
        int space = 0;
        for (const char *p = alias; *p && n + 1 < sizeof words; p++) {
            if (isspace((unsigned char)*p)) {
                space = n > 0;
                continue;
            }
            if (space && n + 2 < sizeof words) words[n++] = ' ';
            space = 0;
            words[n++] = *p;
        }
        words[n] = '\0';
        table_put(key, words, def);
    } else {
        table_put(key, NULL, def);
    }
}

int ar_skills_taxonomy_load(const char *path, ar_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ar_error_set(err, AR_ERR_INTERNAL, "cannot read the skills taxonomy %s", path);
        return -1;
    }
    ar_skills_taxonomy_free();
    size_t cap = 512, lines = 0, aliases = 0;
    defs = ar_calloc(cap, sizeof *defs);
    char **raw_alias_lists = ar_calloc(cap, sizeof *raw_alias_lists);
    char line[4096];
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        char *name = line, *kind = strchr(line, '\t');
        char *list = kind ? strchr(kind + 1, '\t') : NULL;
        if (!kind || !list || !ar_utf8_valid(line, len)) {
            ar_error_set(err, AR_ERR_INTERNAL, "%s:%zu: expected name<TAB>kind<TAB>aliases", path, lines);
            rc = -1;
            break;
        }
        *kind++ = '\0';
        *list++ = '\0';
        if (strcmp(kind, "skill") && strcmp(kind, "technology") && strcmp(kind, "tool") && strcmp(kind, "method") &&
            strcmp(kind, "domain")) {
            ar_error_set(err, AR_ERR_INTERNAL, "%s:%zu: unknown kind \"%s\"", path, lines, kind);
            rc = -1;
            break;
        }
        if (ndefs == cap) {
            cap *= 2;
            defs = ar_realloc(defs, cap * sizeof *defs);
            raw_alias_lists = ar_realloc(raw_alias_lists, cap * sizeof *raw_alias_lists);
        }
        const char *display = name[0] == '=' ? name + 1 : name;
        char normalised[AR_SKILL_NAME_MAX + 1];
        lower_collapse(display, strlen(display), normalised, sizeof normalised);
        defs[ndefs] = (ar_skill_def){ar_strdup(display), ar_strdup(normalised), ar_strdup(kind)};
        raw_alias_lists[ndefs] = ar_asprintf("%s|%s", name, list);
        for (const char *p = list; *p; p++) aliases += *p == '|';
        aliases += 2;
        ndefs++;
    }
    fclose(f);
    if (rc == 0) {
        table_size = 1;
        while (table_size < (aliases + ndefs) * 2 + 16) table_size <<= 1;
        table = ar_calloc(table_size, sizeof *table);
        for (size_t d = 0; d < ndefs; d++) {
            char *save = NULL;
            for (char *a = strtok_r(raw_alias_lists[d], "|", &save); a; a = strtok_r(NULL, "|", &save))
                if (*a) add_alias(a, d);
        }
    }
    for (size_t d = 0; d < ndefs; d++) ar_free(raw_alias_lists[d]);
    ar_free(raw_alias_lists);
    if (rc != 0) ar_skills_taxonomy_free();
    return rc;
}

/* The definition for a key, honouring case-sensitive aliases against `words` (the text's words joined by
 * single spaces, original case). */
static const ar_skill_def *lookup_key(const char *key, const char *words)
{
    if (!table_size || !*key) return NULL;
    size_t i = hash_key(key) & (table_size - 1);
    const ar_skill_def *found = NULL;
    while (table[i].key) {
        if (strcmp(table[i].key, key) == 0) {
            if (!table[i].exact) return &defs[table[i].def];
            if (words && strcmp(table[i].exact, words) == 0) found = &defs[table[i].def];
        }
        i = (i + 1) & (table_size - 1);
    }
    return found;
}

const ar_skill_def *ar_skill_lookup(const char *raw)
{
    if (!raw) return NULL;
    char key[KEY_MAX];
    make_key(raw, strlen(raw), key, sizeof key);
    /* A case-sensitive alias ("Go") also resolves when the caller passes that exact name. */
    char words[KEY_MAX];
    size_t n = 0;
    int space = 0;
    for (const char *p = raw; *p && n + 1 < sizeof words; p++) {
        if (isspace((unsigned char)*p)) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < sizeof words) words[n++] = ' ';
        space = 0;
        words[n++] = *p;
    }
    words[n] = '\0';
    return lookup_key(key, words);
}

int ar_skill_normalise(const char *raw, char *out, size_t out_size)
{
    if (out_size == 0) return -1;
    out[0] = '\0';
    if (!raw || !ar_utf8_valid(raw, strlen(raw))) return -1;
    const ar_skill_def *known = ar_skill_lookup(raw);
    if (known) {
        snprintf(out, out_size, "%s", known->normalised);
        return 0;
    }
    size_t limit = out_size < AR_SKILL_NAME_MAX + 1 ? out_size : AR_SKILL_NAME_MAX + 1;
    lower_collapse(raw, strlen(raw), out, limit);
    return out[0] ? 0 : -1;
}

/* ---- matching in text ---------------------------------------------------------------------------------- */

typedef struct word {
    size_t start, len;
} word;

static int word_char(unsigned char c)
{
    return isalnum(c) || c == '+' || c == '#' || c == '.' || c == '-' || c == '/' || c == '_' || c >= 0x80;
}

size_t ar_skills_find(const char *text, ar_skill_hit *hits, size_t max_hits)
{
    if (!text || !table_size || max_hits == 0) return 0;
    size_t nhits = 0, len = strlen(text);
    size_t cap = 256, nwords = 0;
    word *words = ar_malloc(cap * sizeof *words);
    for (size_t i = 0; i < len;) {
        if (!word_char((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && word_char((unsigned char)text[i])) i++;
        size_t wl = i - start;
        /* trailing punctuation is not part of the word ("Postgres." / "k8s-"), leading neither */
        while (wl > 0 && strchr(".-/_", text[start + wl - 1])) wl--;
        while (wl > 0 && strchr(".-/_", text[start])) {
            start++;
            wl--;
        }
        if (wl == 0) continue;
        if (nwords == cap) {
            cap *= 2;
            words = ar_realloc(words, cap * sizeof *words);
        }
        words[nwords++] = (word){start, wl};
    }
    for (size_t w = 0; w < nwords && nhits < max_hits;) {
        size_t used = 1;
        for (size_t n = MAX_NGRAM; n >= 1; n--) {
            if (w + n > nwords) continue;
            char key[KEY_MAX], exact[KEY_MAX];
            size_t kl = 0, el = 0;
            int too_long = 0;
            for (size_t j = 0; j < n && !too_long; j++) {
                const word *wd = &words[w + j];
                char part[KEY_MAX];
                size_t pl = make_key(text + wd->start, wd->len, part, sizeof part);
                if (kl + pl + 1 >= sizeof key || el + wd->len + 2 >= sizeof exact) {
                    too_long = 1;
                    break;
                }
                memcpy(key + kl, part, pl);
                kl += pl;
                if (j) exact[el++] = ' ';
                memcpy(exact + el, text + wd->start, wd->len);
                el += wd->len;
            }
            if (too_long || kl == 0) continue;
            key[kl] = '\0';
            exact[el] = '\0';
            const ar_skill_def *def = lookup_key(key, exact);
            if (!def) continue;
            size_t k;
            for (k = 0; k < nhits && hits[k].skill != def; k++) {
            }
            if (k < nhits) {
                hits[k].count++;
            } else {
                const word *last = &words[w + n - 1];
                hits[nhits++] = (ar_skill_hit){def, words[w].start, last->start + last->len - words[w].start, 1};
            }
            used = n;
            break;
        }
        w += used;
    }
    ar_free(words);
    return nhits;
}

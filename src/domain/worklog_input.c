/* worklog_input.c — the pure (database-free) half of the worklog service: tag normalisation, entry validation,
 * the keyset cursor and the HTML-safe search snippet (see worklog.h). */
#include "afterresume/domain/worklog.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/utf8.h"
#include "afterresume/domain/worklog_internal.h"
#include "afterresume/render/escape.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 helpers ------------------------------------------------------------------------------------ */

/* Decode one code point from valid UTF-8 at s (len > 0); *n gets its byte length. */
static unsigned decode_cp(const unsigned char *s, size_t len, size_t *n)
{
    if (s[0] < 0x80 || len < 2) {
        *n = 1;
        return s[0];
    }
    if ((s[0] & 0xE0) == 0xC0) {
        *n = 2;
        return ((unsigned)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if ((s[0] & 0xF0) == 0xE0 && len >= 3) {
        *n = 3;
        return ((unsigned)(s[0] & 0x0F) << 12) | ((unsigned)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    if (len >= 4) {
        *n = 4;
        return ((unsigned)(s[0] & 0x07) << 18) | ((unsigned)(s[1] & 0x3F) << 12) | ((unsigned)(s[2] & 0x3F) << 6) |
               (s[3] & 0x3F);
    }
    *n = 1;
    return s[0];
}

static size_t encode_cp(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Simple one-to-one lower case for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic capitals. */
static unsigned lower_cp(unsigned c)
{
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c < 0xC0) return c;
    if (c <= 0xDE) return c == 0xD7 ? c : c + 32;
    if (c >= 0x100 && c <= 0x137) return (c % 2 == 0 && c != 0x130) ? c + 1 : c;
    if (c >= 0x139 && c <= 0x148) return c % 2 == 1 ? c + 1 : c;
    if (c >= 0x14A && c <= 0x177) return c % 2 == 0 ? c + 1 : c;
    if (c == 0x178) return 0xFF;
    if (c >= 0x179 && c <= 0x17E) return c % 2 == 1 ? c + 1 : c;
    if (c == 0x386) return 0x3AC;
    if (c >= 0x388 && c <= 0x38A) return c + 37;
    if (c == 0x38C) return 0x3CC;
    if (c == 0x38E || c == 0x38F) return c + 63;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    return c;
}

static int is_space_cp(unsigned c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int is_control_cp(unsigned c)
{
    return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F);
}

size_t ar_worklog_char_count(const char *s, size_t len)
{
    return ar_utf8_chars(s, len);
}

int ar_worklog_text_ok(const char *s, size_t len, int allow_newlines)
{
    if (!ar_utf8_valid(s, len)) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\t' || ((ch == '\n' || ch == '\r') && allow_newlines)) continue;
        if (ch < 0x20 || ch == 0x7F) return 0;
        if (ch == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9F) return 0;
    }
    return 1;
}

/* ---- tags ---------------------------------------------------------------------------------------------- */

int ar_tag_normalise_one(const char *in, size_t len, char *out, size_t out_size)
{
    if (!in || !out || out_size == 0) return -1;
    out[0] = '\0';
    if (!ar_utf8_valid(in, len)) return -1;
    size_t o = 0;
    int chars = 0, pending_space = 0;
    const unsigned char *s = (const unsigned char *)in;
    for (size_t i = 0; i < len;) {
        size_t n;
        unsigned cp = decode_cp(s + i, len - i, &n);
        i += n;
        if (is_space_cp(cp)) {
            pending_space = chars > 0;
            continue;
        }
        if (is_control_cp(cp)) return -1;
        if (pending_space) {
            if (o + 1 >= out_size) return -1;
            out[o++] = ' ';
            chars++;
            pending_space = 0;
        }
        char enc[4];
        size_t en = encode_cp(lower_cp(cp), enc);
        if (o + en >= out_size) return -1;
        memcpy(out + o, enc, en);
        o += en;
        chars++;
        if (chars > AR_TAG_MAX_CHARS) return -1;
    }
    out[o] = '\0';
    return chars;
}

/* Split text on commas and add each normalised tag to arr (deduplicated). 0 or -1 with a field error. */
static int add_tags_from(json_t *arr, const char *text, size_t len, ar_error *err)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != ',') continue;
        char tag[4 * AR_TAG_MAX_CHARS + 8];
        int n = ar_tag_normalise_one(text + start, i - start, tag, sizeof tag);
        start = i + 1;
        if (n < 0) {
            ar_error_field(err, "tags", "Each tag must be at most 50 characters of text (no control characters).");
            return -1;
        }
        if (n == 0) continue;
        int dup = 0;
        for (size_t k = 0; k < json_array_size(arr) && !dup; k++)
            dup = strcmp(json_string_value(json_array_get(arr, k)), tag) == 0;
        if (dup) continue;
        if (json_array_size(arr) >= AR_TAGS_MAX) {
            ar_error_field(err, "tags", "Use at most 20 tags.");
            return -1;
        }
        json_array_append_new(arr, json_string(tag));
    }
    return 0;
}

json_t *ar_tags_normalise(const json_t *in, ar_error *err)
{
    json_t *arr = json_array();
    if (!in || json_is_null(in)) return arr;
    if (json_is_string(in)) {
        if (add_tags_from(arr, json_string_value(in), json_string_length(in), err) != 0) goto bad;
        return arr;
    }
    if (!json_is_array(in) || json_array_size(in) > 10 * AR_TAGS_MAX) {
        ar_error_field(err, "tags", json_is_array(in) ? "Use at most 20 tags." : "Send tags as a list of strings.");
        goto bad;
    }
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v) {
        if (!json_is_string(v)) {
            ar_error_field(err, "tags", "Send tags as a list of strings.");
            goto bad;
        }
        if (add_tags_from(arr, json_string_value(v), json_string_length(v), err) != 0) goto bad;
    }
    return arr;
bad:
    json_decref(arr);
    if (err && err->code == AR_OK) ar_error_set(err, AR_ERR_VALIDATION, NULL);
    return NULL;
}

/* ---- validation ---------------------------------------------------------------------------------------- */

static const char *const work_types[] = {"delivery", "planning", "incident", "support", "learning", "other", NULL};
static const char *const statuses[] = {"draft", "final", "archived", NULL};
static const char *const visibilities[] = {"private", "team", NULL};
static const char *const score_sources[] = {"user", "ai", NULL};
static const char *const sources[] = {"manual", "import", "api", "email", NULL};

static void field_error(ar_error *err, const char *field, const char *msg)
{
    if (err->fields && json_object_get(err->fields, field)) return; /* keep the first message */
    ar_error_field(err, field, msg);
}

int ar_worklog_date_ok(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1) return 0;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

/* A timestamp for imports: a date, optionally followed by [T ]HH:MM[:SS[.ffffff]] and Z or ±HH[:MM]. */
static int timestamp_ok(const char *s)
{
    char date[11];
    if (!s || strlen(s) < 10 || strlen(s) > 40) return 0;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!ar_worklog_date_ok(date)) return 0;
    const char *p = s + 10;
    if (!*p) return 1;
    if (*p != 'T' && *p != ' ') return 0;
    p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2] != ':' || !isdigit((unsigned char)p[3]) ||
        !isdigit((unsigned char)p[4]) || atoi(p) > 23 || atoi(p + 3) > 59)
        return 0;
    p += 5;
    if (*p == ':') {
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || atoi(p + 1) > 60) return 0;
        p += 3;
        if (*p == '.') {
            p++;
            int digits = 0;
            while (isdigit((unsigned char)*p)) p++, digits++;
            if (digits == 0 || digits > 6) return 0;
        }
    }
    if (*p == 'Z') return p[1] == '\0';
    if (*p == '+' || *p == '-') {
        p++;
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return 0;
        p += 2;
        if (*p == ':') p++;
        if (!*p) return 1;
        return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) && p[2] == '\0';
    }
    return *p == '\0';
}

/* Is `v` "absent-like" (null or an empty string)? */
static int blank(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

/* An integer from a JSON integer or a decimal string; 0 ok, -1 not an integer. */
int ar_worklog_json_int(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || fabs(d) > 1e15) return -1;
        *out = (long long)d;
        return 0;
    }
    if (!json_is_string(v)) return -1;
    const char *s = json_string_value(v);
    while (*s == ' ') s++;
    if (!*s || strlen(s) > 18) return -1;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    while (*end == ' ') end++;
    if (errno || *end) return -1;
    *out = n;
    return 0;
}

/* A text field: copies it into out (or "" when null/absent, unless partial and absent). */
static void text_field(const json_t *in, json_t *out, const char *name, size_t max_chars, int required, int partial,
                       int allow_newlines, ar_error *err)
{
    json_t *v = json_object_get(in, name);
    if (!v && partial) return;
    if (blank(v)) {
        if (required)
            field_error(err, name, "This field is required.");
        else
            json_object_set_new(out, name, json_string(""));
        return;
    }
    if (!json_is_string(v)) {
        field_error(err, name, "Not a valid string.");
        return;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len || !ar_worklog_text_ok(s, len, allow_newlines)) {
        field_error(err, name, "Contains characters that are not allowed.");
        return;
    }
    if (ar_worklog_char_count(s, len) > max_chars) {
        char msg[96];
        snprintf(msg, sizeof msg, "Ensure this field has no more than %zu characters.", max_chars);
        field_error(err, name, msg);
        return;
    }
    json_object_set_new(out, name, json_string(s));
}

/* A choice field; absent/blank → default (or left out when partial and absent). */
static void choice_field(const json_t *in, json_t *out, const char *name, const char *const *choices, const char *def,
                         int partial, const char *msg, ar_error *err)
{
    json_t *v = json_object_get(in, name);
    if (!v && partial) return;
    if (blank(v)) {
        if (def)
            json_object_set_new(out, name, json_string(def));
        else
            json_object_set_new(out, name, json_null());
        return;
    }
    const char *s = json_string_value(v);
    for (int i = 0; s && choices[i]; i++)
        if (strcmp(s, choices[i]) == 0) {
            json_object_set_new(out, name, json_string(s));
            return;
        }
    field_error(err, name, msg);
}

/* An optional integer field in [min, max] (null allowed). */
static void int_field(const json_t *in, json_t *out, const char *name, long long min, long long max, int partial,
                      const char *msg, ar_error *err)
{
    json_t *v = json_object_get(in, name);
    if (!v && partial) return;
    if (blank(v)) {
        json_object_set_new(out, name, json_null());
        return;
    }
    long long n;
    if (ar_worklog_json_int(v, &n) != 0 || n < min || n > max) {
        field_error(err, name, msg);
        return;
    }
    json_object_set_new(out, name, json_integer(n));
}

json_t *ar_worklog_validate(const json_t *in, unsigned flags, ar_error *err)
{
    if (!json_is_object(in)) {
        ar_error_set(err, AR_ERR_INVALID_JSON, "Send the entry as a JSON object.");
        return NULL;
    }
    int partial = (flags & AR_WORKLOG_PARTIAL) != 0, import = (flags & AR_WORKLOG_IMPORT) != 0;
    json_t *out = json_object();

    json_t *v = json_object_get(in, "occurred_on");
    if (v || !partial) {
        if (blank(v))
            field_error(err, "occurred_on", "This field is required.");
        else if (!json_is_string(v) || !ar_worklog_date_ok(json_string_value(v)))
            field_error(err, "occurred_on", "Enter a valid date (YYYY-MM-DD, years 1900 to 2999).");
        else
            json_object_set_new(out, "occurred_on", json_string(json_string_value(v)));
    }
    text_field(in, out, "title", AR_WORKLOG_TITLE_MAX, 0, partial, 0, err);
    text_field(in, out, "content", AR_WORKLOG_CONTENT_MAX, 1, partial, 1, err);
    text_field(in, out, "outcome", AR_WORKLOG_TEXT_MAX, 0, partial, 1, err);
    text_field(in, out, "impact", AR_WORKLOG_TEXT_MAX, 0, partial, 1, err);
    text_field(in, out, "next_steps", AR_WORKLOG_TEXT_MAX, 0, partial, 1, err);

    /* effort: effort_minutes wins; hours (a number) is converted when effort_minutes is absent */
    json_t *minutes = json_object_get(in, "effort_minutes"), *hours = json_object_get(in, "hours");
    if (minutes || !hours) {
        int_field(in, out, "effort_minutes", 0, AR_WORKLOG_EFFORT_MAX, partial,
                  "Ensure this value is a whole number from 0 to 100000.", err);
    } else if (blank(hours)) {
        json_object_set_new(out, "effort_minutes", json_null());
    } else {
        double h = -1;
        if (json_is_number(hours))
            h = json_number_value(hours);
        else if (json_is_string(hours)) {
            char *end;
            errno = 0;
            h = strtod(json_string_value(hours), &end);
            if (errno || *end || end == json_string_value(hours)) h = -1;
        }
        if (!(h >= 0 && h * 60 <= AR_WORKLOG_EFFORT_MAX))
            field_error(err, "hours", "Ensure this value is a number of hours from 0 to 1666.");
        else
            json_object_set_new(out, "effort_minutes", json_integer((json_int_t)llround(h * 60)));
    }

    choice_field(in, out, "work_type", work_types, "delivery", partial,
                 "Select a valid choice: delivery, planning, incident, support, learning or other.", err);
    choice_field(in, out, "status", statuses, "draft", partial, "Select a valid choice: draft, final or archived.", err);
    choice_field(in, out, "visibility", visibilities, "private", partial, "Select a valid choice: private or team.",
                 err);
    choice_field(in, out, "source", sources, import ? "import" : "manual", partial,
                 "Select a valid choice: manual, import, api or email.", err);

    v = json_object_get(in, "tags");
    if (v || !partial) {
        ar_error tag_err = {0};
        json_t *tags = ar_tags_normalise(v, &tag_err);
        if (tags)
            json_object_set_new(out, "tags", tags);
        else
            field_error(err, "tags", json_string_value(json_object_get(tag_err.fields, "tags")));
        ar_error_clear(&tag_err);
    }

    int_field(in, out, "client", 1, 999999999999999LL, partial, "Select a valid client.", err);
    int_field(in, out, "project", 1, 999999999999999LL, partial, "Select a valid project.", err);
    if (import) {
        static const char *const names[] = {"client_name", "project_name"};
        for (int i = 0; i < 2; i++) {
            json_t *nv = json_object_get(in, names[i]);
            if (blank(nv)) continue;
            if (!json_is_string(nv) || !ar_worklog_text_ok(json_string_value(nv), json_string_length(nv), 0) ||
                ar_worklog_char_count(json_string_value(nv), json_string_length(nv)) > 200)
                field_error(err, names[i], "Enter a name of at most 200 characters.");
            else
                json_object_set_new(out, names[i], json_string(json_string_value(nv)));
        }
    }

    int_field(in, out, "impact_score", 1, 10, partial, "Ensure this value is a whole number from 1 to 10.", err);
    json_t *score = json_object_get(out, "impact_score");
    v = json_object_get(in, "impact_score_source");
    if (score || v || !partial) {
        if (blank(v)) {
            if (score) json_object_set_new(out, "impact_score_source", json_is_null(score) ? json_null() : json_string("user"));
        } else {
            choice_field(in, out, "impact_score_source", score_sources, NULL, partial, "Select a valid choice: user or ai.",
                         err);
            if (score && json_is_null(score)) json_object_set_new(out, "impact_score_source", json_null());
        }
    }

    v = json_object_get(in, "import_key");
    if (v || !partial) {
        if (blank(v))
            json_object_set_new(out, "import_key", json_null());
        else if (!json_is_string(v) || !ar_worklog_text_ok(json_string_value(v), json_string_length(v), 0) ||
                 ar_worklog_char_count(json_string_value(v), json_string_length(v)) > AR_WORKLOG_IMPORT_KEY_MAX)
            field_error(err, "import_key", "Ensure this field is text of at most 200 characters.");
        else
            json_object_set_new(out, "import_key", json_string(json_string_value(v)));
    }

    if (import) {
        static const char *const stamps[] = {"created_at", "updated_at"};
        for (int i = 0; i < 2; i++) {
            json_t *tv = json_object_get(in, stamps[i]);
            if (blank(tv)) continue;
            if (!json_is_string(tv) || !timestamp_ok(json_string_value(tv)))
                field_error(err, stamps[i], "Enter a valid date and time (YYYY-MM-DDTHH:MM:SSZ).");
            else
                json_object_set_new(out, stamps[i], json_string(json_string_value(tv)));
        }
    }

    if (err->fields) {
        json_decref(out);
        ar_error_set(err, AR_ERR_VALIDATION, "The entry was not saved: check the fields.");
        return NULL;
    }
    return out;
}

/* ---- cursor -------------------------------------------------------------------------------------------- */

static int rank_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= 32) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789.eE+-", r[i])) return 0;
    char *end;
    errno = 0;
    double d = strtod(r, &end);
    return !errno && !*end && isfinite(d) && d >= 0;
}

int ar_worklog_cursor_encode(const ar_worklog_cursor *cur, char *out, size_t out_size)
{
    char text[96];
    int n;
    if (!cur || !ar_worklog_date_ok(cur->occurred_on) || cur->id <= 0) return -1;
    if (cur->kind == 'd')
        n = snprintf(text, sizeof text, "v1|d|%s|%lld", cur->occurred_on, cur->id);
    else if (cur->kind == 's' && rank_ok(cur->rank))
        n = snprintf(text, sizeof text, "v1|s|%d|%s|%s|%lld", cur->title_hit ? 1 : 0, cur->rank, cur->occurred_on,
                     cur->id);
    else
        return -1;
    if (n < 0 || (size_t)n >= sizeof text) return -1;
    size_t need = sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (need > out_size || need > AR_WORKLOG_CURSOR_MAX) return -1;
    sodium_bin2base64(out, out_size, (const unsigned char *)text, (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int ar_worklog_cursor_decode(const char *textin, ar_worklog_cursor *out)
{
    memset(out, 0, sizeof *out);
    if (!textin || !*textin || strlen(textin) >= AR_WORKLOG_CURSOR_MAX) return -1;
    unsigned char bin[AR_WORKLOG_CURSOR_MAX];
    size_t len = 0;
    if (sodium_base642bin(bin, sizeof bin - 1, textin, strlen(textin), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    bin[len] = '\0';
    if (memchr(bin, '\0', len)) return -1;
    char *text = (char *)bin, *save = NULL;
    char *parts[7] = {0};
    int count = 0;
    for (char *tok = strtok_r(text, "|", &save); tok && count < 7; tok = strtok_r(NULL, "|", &save)) parts[count++] = tok;
    if (count < 4 || strcmp(parts[0], "v1") != 0) return -1;
    const char *date, *id;
    if (strcmp(parts[1], "d") == 0 && count == 4) {
        out->kind = 'd';
        date = parts[2];
        id = parts[3];
    } else if (strcmp(parts[1], "s") == 0 && count == 6) {
        out->kind = 's';
        if (strcmp(parts[2], "0") != 0 && strcmp(parts[2], "1") != 0) return -1;
        out->title_hit = parts[2][0] == '1';
        if (!rank_ok(parts[3])) return -1;
        snprintf(out->rank, sizeof out->rank, "%s", parts[3]);
        date = parts[4];
        id = parts[5];
    } else {
        return -1;
    }
    if (!ar_worklog_date_ok(date)) return -1;
    memcpy(out->occurred_on, date, 11);
    if (strlen(id) > 18 || !*id) return -1;
    long long n = 0;
    for (const char *p = id; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        n = n * 10 + (*p - '0');
    }
    if (n <= 0) return -1;
    out->id = n;
    return 0;
}

/* ---- snippet ------------------------------------------------------------------------------------------- */

char *ar_worklog_snippet_html(const char *headline)
{
    ar_buf b;
    ar_buf_init(&b);
    int open = 0;
    const char *p = headline ? headline : "";
    while (*p) {
        size_t run = strcspn(p, AR_WORKLOG_HL_START AR_WORKLOG_HL_STOP);
        ar_html_escape(&b, p, run);
        p += run;
        if (!*p) break;
        if (*p == AR_WORKLOG_HL_START[0] && !open) {
            ar_buf_puts(&b, "<mark>");
            open = 1;
        } else if (*p == AR_WORKLOG_HL_STOP[0] && open) {
            ar_buf_puts(&b, "</mark>");
            open = 0;
        }
        p++;
    }
    if (open) ar_buf_puts(&b, "</mark>");
    return ar_buf_steal(&b);
}

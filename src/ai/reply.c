/* reply.c — extracting the JSON object from a model's reply and checking it against a declared shape
 * (see reply.h). */
#include "afterresume/ai/reply.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/utf8.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The end of the balanced {...} starting at s (s[0] == '{'), or NULL when it never closes. */
static const char *balanced_end(const char *s)
{
    int depth = 0, in_string = 0;
    for (const char *p = s; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1]) p++;
            else if (*p == '"') in_string = 0;
            continue;
        }
        if (*p == '"') in_string = 1;
        else if (*p == '{') depth++;
        else if (*p == '}' && --depth == 0) return p;
    }
    return NULL;
}

char *ar_ai_extract_json(const char *reply)
{
    if (!reply) return NULL;
    const char *start = reply;
    /* A fenced block wins: ```json ... ``` (or a bare ``` fence). */
    const char *fence = strstr(reply, "```");
    if (fence) {
        const char *body = fence + 3;
        while (isalpha((unsigned char)*body)) body++;
        start = body;
    }
    for (;;) {
        const char *open = strchr(start, '{');
        if (!open) return NULL;
        const char *close = balanced_end(open);
        if (!close) return NULL;
        json_t *probe = json_loadb(open, (size_t)(close - open + 1), 0, NULL);
        if (json_is_object(probe)) {
            json_decref(probe);
            return ar_strndup(open, (size_t)(close - open + 1));
        }
        json_decref(probe);
        start = open + 1;
    }
}

static const char *kind_word(ar_shape_kind k)
{
    static const char *const words[] = {"string", "integer", "number", "boolean", "object", "array"};
    return (unsigned)k < sizeof words / sizeof words[0] ? words[k] : "value";
}

static json_t *fail(char *problem, size_t size, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static json_t *fail(char *problem, size_t size, const char *path, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(problem, size, "%s%s%s", path && *path ? path : "", path && *path ? ": " : "", what);
    return NULL;
}

static int bounded(double min, double max)
{
    return !(min == 0 && max == 0);
}

static json_t *check_value(json_t *v, ar_shape_kind kind, const ar_shape_field *f, const char *path, char *problem,
                           size_t size);

static json_t *check_object(json_t *v, const ar_shape *shape, const char *path, char *problem, size_t size)
{
    if (!json_is_object(v)) return fail(problem, size, path, "expected an object");
    json_t *out = json_object();
    for (size_t i = 0; i < shape->count; i++) {
        const ar_shape_field *f = &shape->fields[i];
        char sub[160];
        snprintf(sub, sizeof sub, "%s%s%s", path && *path ? path : "", path && *path ? "." : "", f->name);
        json_t *value = json_object_get(v, f->name);
        if (!value || json_is_null(value)) {
            if (f->required) {
                json_decref(out);
                return fail(problem, size, sub, "is missing");
            }
            continue;
        }
        json_t *checked = check_value(value, f->kind, f, sub, problem, size);
        if (!checked) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, f->name, checked);
    }
    return out;
}

static json_t *check_value(json_t *v, ar_shape_kind kind, const ar_shape_field *f, const char *path, char *problem,
                           size_t size)
{
    switch (kind) {
    case AR_SHAPE_STRING: {
        if (!json_is_string(v)) return fail(problem, size, path, "expected a string");
        const char *s = json_string_value(v);
        size_t n = ar_utf8_chars(s, strlen(s));
        if (f && bounded(f->min, f->max) && (n < f->min || (f->max > 0 && n > f->max)))
            return fail(problem, size, path, "expected %g to %g characters, got %zu", f->min, f->max, n);
        if (f && f->enum_values) {
            for (const char *const *e = f->enum_values; *e; e++)
                if (strcasecmp(*e, s) == 0) return json_string(*e);
            ar_buf allowed = AR_BUF_INIT;
            for (const char *const *e = f->enum_values; *e; e++) ar_buf_printf(&allowed, "%s%s", e == f->enum_values ? "" : ", ", *e);
            json_t *r = fail(problem, size, path, "expected one of %s", ar_buf_cstr(&allowed));
            ar_buf_free(&allowed);
            return r;
        }
        return json_string(s);
    }
    case AR_SHAPE_INTEGER: {
        double d;
        if (json_is_integer(v)) d = (double)json_integer_value(v);
        else if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v)) d = json_real_value(v);
        else return fail(problem, size, path, "expected an integer");
        if (fabs(d) > 9.0e15) return fail(problem, size, path, "integer out of range");
        if (f && bounded(f->min, f->max) && (d < f->min || d > f->max))
            return fail(problem, size, path, "expected an integer from %g to %g", f->min, f->max);
        return json_integer((json_int_t)d);
    }
    case AR_SHAPE_NUMBER: {
        if (!json_is_number(v)) return fail(problem, size, path, "expected a number");
        double d = json_number_value(v);
        if (!isfinite(d)) return fail(problem, size, path, "expected a finite number");
        if (f && bounded(f->min, f->max) && (d < f->min || d > f->max))
            return fail(problem, size, path, "expected a number from %g to %g", f->min, f->max);
        return json_real(d);
    }
    case AR_SHAPE_BOOL:
        if (!json_is_boolean(v)) return fail(problem, size, path, "expected true or false");
        return json_incref(v);
    case AR_SHAPE_OBJECT:
        if (!f || !f->object) return fail(problem, size, path, "shape error: object without a description");
        return check_object(v, f->object, path, problem, size);
    case AR_SHAPE_ARRAY: {
        if (!json_is_array(v)) return fail(problem, size, path, "expected an array");
        size_t n = json_array_size(v);
        if (f && bounded(f->min, f->max) && (n < f->min || n > f->max))
            return fail(problem, size, path, "expected %g to %g items, got %zu", f->min, f->max, n);
        if (f && f->item_kind == AR_SHAPE_ARRAY) return fail(problem, size, path, "shape error: nested arrays");
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++) {
            char sub[180];
            snprintf(sub, sizeof sub, "%s[%zu]", path ? path : "", i);
            /* Items are checked against the field's item kind; string bounds do not apply to items. */
            ar_shape_field item = {NULL, f ? f->item_kind : AR_SHAPE_STRING, 1, 0, 0, f ? f->enum_values : NULL,
                                   AR_SHAPE_STRING, f ? f->object : NULL};
            json_t *c = check_value(json_array_get(v, i), item.kind, &item, sub, problem, size);
            if (!c) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, c);
        }
        return out;
    }
    }
    return fail(problem, size, path, "unknown shape kind");
}

json_t *ar_ai_shape_check(json_t *value, const ar_shape *shape, char *problem, size_t problem_size)
{
    problem[0] = '\0';
    return check_object(value, shape, "", problem, problem_size);
}

json_t *ar_ai_reply_parse(const char *reply, const ar_shape *shape, char *problem, size_t problem_size)
{
    problem[0] = '\0';
    char *text = ar_ai_extract_json(reply);
    if (!text) {
        snprintf(problem, problem_size, "the reply contains no complete JSON object%s",
                 reply && strchr(reply, '{') ? " (it looks cut off)" : "");
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    ar_free(text);
    if (!doc) {
        snprintf(problem, problem_size, "the reply is not valid JSON: %s", jerr.text);
        return NULL;
    }
    json_t *out = check_object(doc, shape, "", problem, problem_size);
    json_decref(doc);
    return out;
}

static void describe_fields(ar_buf *b, const ar_shape *shape)
{
    for (size_t i = 0; i < shape->count; i++) {
        const ar_shape_field *f = &shape->fields[i];
        ar_buf_printf(b, "%s\"%s\" (", i ? "; " : "", f->name);
        if (f->kind == AR_SHAPE_ARRAY) {
            ar_buf_printf(b, "array of %ss", kind_word(f->item_kind));
            if (bounded(f->min, f->max)) ar_buf_printf(b, ", %g to %g items", f->min, f->max);
        } else {
            ar_buf_puts(b, kind_word(f->kind));
            if (bounded(f->min, f->max)) {
                if (f->kind == AR_SHAPE_STRING) ar_buf_printf(b, ", at most %g characters", f->max);
                else ar_buf_printf(b, " from %g to %g", f->min, f->max);
            }
        }
        if (f->enum_values) {
            ar_buf_puts(b, ", one of");
            for (const char *const *e = f->enum_values; *e; e++) ar_buf_printf(b, " \"%s\"", *e);
        }
        ar_buf_puts(b, f->required ? ", required" : ", optional");
        if (f->object) {
            ar_buf_puts(b, "; each with: ");
            describe_fields(b, f->object);
        }
        ar_buf_putc(b, ')');
    }
}

char *ar_ai_shape_describe(const ar_shape *shape)
{
    ar_buf b = AR_BUF_INIT;
    ar_buf_puts(&b, "a JSON object with: ");
    describe_fields(&b, shape);
    ar_buf_putc(&b, '.');
    return ar_buf_steal(&b);
}

char *ar_ai_repair_message(const ar_shape *shape, const char *problem)
{
    char *shape_text = ar_ai_shape_describe(shape);
    char *msg = ar_asprintf("Your previous reply could not be used (%s). Reply again with only %s "
                            "No prose, no Markdown fences.",
                            problem && *problem ? problem : "it did not match the expected shape", shape_text);
    ar_free(shape_text);
    return msg;
}

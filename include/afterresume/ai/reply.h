/* reply.h — turning a model's text reply into a checked JSON value. Models wrap JSON in ```json fences, add a
 * sentence before it, stop half-way, or use the wrong types; we extract the JSON object, then check it against
 * an expected shape declared in C (required fields, types, string lengths, integer/number ranges, enums, arrays
 * of strings/integers/objects with size bounds). The result is a NEW object holding only the declared fields
 * (extra keys are dropped, never stored); a problem is reported with the path of the offending field, e.g.
 * `bullets[1]: expected a string`, and the caller retries once with ar_ai_repair_message(). */
#ifndef AFTERRESUME_AI_REPLY_H
#define AFTERRESUME_AI_REPLY_H
#include <jansson.h>
#include <stddef.h>

typedef enum {
    AR_SHAPE_STRING,
    AR_SHAPE_INTEGER, /* a JSON integer, or a real with an integral value */
    AR_SHAPE_NUMBER,  /* integer or real */
    AR_SHAPE_BOOL,
    AR_SHAPE_OBJECT,  /* `object` describes it */
    AR_SHAPE_ARRAY,   /* items are `item_kind`; objects described by `object` */
} ar_shape_kind;

typedef struct ar_shape ar_shape;

typedef struct ar_shape_field {
    const char *name;
    ar_shape_kind kind;
    int required;
    double min, max;              /* string: length in characters; integer/number: value; array: item count.
                                   * min == max == 0: unbounded */
    const char *const *enum_values; /* strings only: NULL-terminated allowed values (case-insensitive, stored
                                     * lower-cased) */
    ar_shape_kind item_kind;      /* arrays */
    const ar_shape *object;       /* OBJECT fields and arrays of objects */
} ar_shape_field;

struct ar_shape {
    const ar_shape_field *fields;
    size_t count;
};

/* The JSON object inside a reply: the text itself, a ```json fenced block, or the first balanced {...} found.
 * Heap string or NULL when there is none (e.g. the reply was cut off). */
char *ar_ai_extract_json(const char *reply);

/* Parse and check. Returns the cleaned object (caller owns) or NULL with `problem` describing the first
 * problem found (always NUL-terminated). */
json_t *ar_ai_reply_parse(const char *reply, const ar_shape *shape, char *problem, size_t problem_size);

/* Check an already-parsed value against a shape (same rules as ar_ai_reply_parse). */
json_t *ar_ai_shape_check(json_t *value, const ar_shape *shape, char *problem, size_t problem_size);

/* A one-paragraph description of the shape for prompts ("a JSON object with: title (string, required, at most
 * 120 characters); ..."), and the repair instruction sent after a malformed reply. Heap strings. */
char *ar_ai_shape_describe(const ar_shape *shape);
char *ar_ai_repair_message(const ar_shape *shape, const char *problem);

#endif

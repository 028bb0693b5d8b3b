/* csv.c — RFC 4180 CSV writer and streaming parser (see csv.h): a byte-driven state machine that keeps only the
 * record in progress, so input of any size can be fed in chunks of any size. */
#include "afterresume/core/csv.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- writer ---------------------------------------------------------------------------------------------- */

static int formula_start(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

int ar_csv_formula_needs_quote(const char *value, size_t len)
{
    size_t i = 0;
    while (i < len && value[i] == '\'') i++; /* quotes already in front: escape them too (reversible) */
    return i < len && formula_start(value[i]);
}

size_t ar_csv_formula_unescape(const char *value, size_t len)
{
    return len > 1 && value[0] == '\'' && ar_csv_formula_needs_quote(value + 1, len - 1) ? 1 : 0;
}

void ar_csv_write_field(ar_buf *out, const char *value, size_t len, unsigned flags)
{
    if (!value) value = "";
    int prefix = (flags & AR_CSV_NEUTRALISE_FORMULAS) && ar_csv_formula_needs_quote(value, len);
    int quote = 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = value[i] == ',' || value[i] == '"' || value[i] == '\r' || value[i] == '\n';
    if (quote) ar_buf_putc(out, '"');
    if (prefix) ar_buf_putc(out, '\'');
    if (!quote) {
        ar_buf_append(out, value, len);
        return;
    }
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (value[i] != '"') continue;
        ar_buf_append(out, value + run, i + 1 - run); /* up to and including the quote, then double it */
        ar_buf_putc(out, '"');
        run = i + 1;
    }
    ar_buf_append(out, value + run, len - run);
    ar_buf_putc(out, '"');
}

void ar_csv_write_row(ar_buf *out, const char *const *fields, size_t count, unsigned flags)
{
    for (size_t i = 0; i < count; i++) {
        if (i) ar_buf_putc(out, ',');
        const char *v = fields[i] ? fields[i] : "";
        ar_csv_write_field(out, v, strlen(v), flags);
    }
    ar_buf_append(out, "\r\n", 2);
}

/* ---- parser ---------------------------------------------------------------------------------------------- */

typedef enum csv_state {
    CSV_FIELD_START, /* at the start of a field */
    CSV_UNQUOTED,    /* inside an unquoted field */
    CSV_QUOTED,      /* inside a quoted field */
    CSV_QUOTE_SEEN,  /* a quote inside a quoted field: doubled quote, or the field's end */
    CSV_AFTER_CR,    /* a record ended with CR: an LF right after belongs to it */
    CSV_ERROR,
} csv_state;

typedef struct field_pos {
    size_t offset, len;
    int quoted;
} field_pos;

struct ar_csv_parser {
    ar_csv_limits limits;
    ar_csv_row_fn on_row;
    void *ud;
    csv_state state;
    size_t bom_matched; /* bytes of a leading BOM seen so far */
    int bom_done;
    int in_record;      /* some byte of the current record has been read */
    size_t record;      /* number of the record in progress (1-based) */
    size_t quote_row;   /* record in which the open quoted field started */
    size_t emitted;
    ar_buf row;         /* field bytes, each field NUL-terminated */
    field_pos *fields;
    size_t nfields, cap_fields;
    size_t field_start; /* offset of the current field in row */
    int field_quoted;
    ar_csv_field *view; /* handed to the callback */
    size_t cap_view;
    char reason[sizeof(((ar_error *)0)->message)];
    size_t err_row, err_col;
    ar_error saved;     /* the first error, repeated on later calls */
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

ar_csv_parser *ar_csv_parser_new(const ar_csv_limits *limits, ar_csv_row_fn on_row, void *ud)
{
    ar_csv_parser *p = ar_calloc(1, sizeof *p);
    if (limits) p->limits = *limits;
    p->on_row = on_row;
    p->ud = ud;
    p->state = CSV_FIELD_START;
    p->record = 1;
    ar_buf_init(&p->row);
    return p;
}

void ar_csv_parser_free(ar_csv_parser *p)
{
    if (!p) return;
    ar_buf_free(&p->row);
    free(p->fields);
    free(p->view);
    ar_error_clear(&p->saved);
    free(p);
}

size_t ar_csv_parser_rows(const ar_csv_parser *p)
{
    return p->emitted;
}

const char *ar_csv_parser_error_at(const ar_csv_parser *p, size_t *row, size_t *column)
{
    if (row) *row = p->err_row;
    if (column) *column = p->err_col;
    return p->reason;
}

static int fail_at(ar_csv_parser *p, size_t row, size_t col, ar_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_at(ar_csv_parser *p, size_t row, size_t col, ar_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof p->reason, fmt, ap);
    va_end(ap);
    p->err_row = row;
    p->err_col = col;
    p->state = CSV_ERROR;
    if (col)
        ar_error_set(&p->saved, AR_ERR_VALIDATION, "CSV row %zu, column %zu: %s", row, col, p->reason);
    else
        ar_error_set(&p->saved, AR_ERR_VALIDATION, "CSV row %zu: %s", row, p->reason);
    ar_error_set(err, AR_ERR_VALIDATION, "%s", p->saved.message);
    return -1;
}

static int fail(ar_csv_parser *p, ar_error *err, const char *reason)
{
    return fail_at(p, p->record, p->nfields + 1, err, "%s", reason);
}

static int begin_field(ar_csv_parser *p, ar_error *err)
{
    if (p->limits.max_fields && p->nfields >= p->limits.max_fields)
        return fail_at(p, p->record, p->nfields + 1, err, "more than %zu fields in one row", p->limits.max_fields);
    p->field_start = p->row.len;
    p->field_quoted = 0;
    p->in_record = 1;
    return 0;
}

static int field_byte(ar_csv_parser *p, char c, ar_error *err)
{
    if (c == '\0') return fail(p, err, "the field contains a NUL byte");
    if (p->limits.max_field_bytes && p->row.len - p->field_start >= p->limits.max_field_bytes)
        return fail_at(p, p->record, p->nfields + 1, err, "a field is longer than %zu bytes",
                       p->limits.max_field_bytes);
    ar_buf_putc(&p->row, c);
    return 0;
}

static int end_field(ar_csv_parser *p, ar_error *err)
{
    size_t len = p->row.len - p->field_start;
    if (!ar_utf8_valid(p->row.data ? p->row.data + p->field_start : "", len))
        return fail(p, err, "the field is not valid UTF-8 text");
    if (p->nfields == p->cap_fields) {
        p->cap_fields = p->cap_fields ? p->cap_fields * 2 : 16;
        p->fields = ar_realloc(p->fields, p->cap_fields * sizeof *p->fields);
    }
    p->fields[p->nfields++] = (field_pos){p->field_start, len, p->field_quoted};
    ar_buf_putc(&p->row, '\0');
    return 0;
}

static int end_record(ar_csv_parser *p, ar_error *err)
{
    size_t number = p->record;
    int blank = p->nfields == 1 && p->fields[0].len == 0 && !p->fields[0].quoted;
    int rc = 0;
    if (!blank) {
        if (p->limits.max_rows && p->emitted >= p->limits.max_rows)
            return fail_at(p, number, 0, err, "more than %zu rows", p->limits.max_rows);
        if (p->cap_view < p->nfields) {
            p->cap_view = p->nfields;
            p->view = ar_realloc(p->view, p->cap_view * sizeof *p->view);
        }
        for (size_t i = 0; i < p->nfields; i++)
            p->view[i] = (ar_csv_field){p->row.data + p->fields[i].offset, p->fields[i].len, p->fields[i].quoted};
        ar_csv_row r = {number, p->nfields, p->view};
        p->emitted++;
        if (p->on_row && p->on_row(p->ud, &r, err) != 0) {
            if (!err->code) ar_error_set(err, AR_ERR_VALIDATION, "CSV row %zu: stopped", number);
            snprintf(p->reason, sizeof p->reason, "%s", err->message);
            p->err_row = number;
            p->err_col = 0;
            p->state = CSV_ERROR;
            ar_error_set(&p->saved, err->code, "%s", err->message);
            rc = -1;
        }
    }
    ar_buf_reset(&p->row);
    p->nfields = 0;
    p->in_record = 0;
    p->record++;
    return rc;
}

static int step(ar_csv_parser *p, char c, ar_error *err)
{
    switch (p->state) {
    case CSV_AFTER_CR:
        p->state = CSV_FIELD_START;
        if (c == '\n') return 0;
        /* a lone CR ended the record: this byte starts the next one */
        __attribute__((fallthrough));
    case CSV_FIELD_START:
        if (begin_field(p, err) != 0) return -1;
        if (c == '"') {
            p->field_quoted = 1;
            p->quote_row = p->record;
            p->state = CSV_QUOTED;
            return 0;
        }
        if (c == ',' || c == '\n' || c == '\r') break; /* an empty field */
        if (field_byte(p, c, err) != 0) return -1;
        p->state = CSV_UNQUOTED;
        return 0;
    case CSV_UNQUOTED:
        if (c == '"')
            return fail(p, err, "a quote inside an unquoted field (quote the whole field and double the quote)");
        if (c == ',' || c == '\n' || c == '\r') break;
        return field_byte(p, c, err);
    case CSV_QUOTED:
        if (c == '"') {
            p->state = CSV_QUOTE_SEEN;
            return 0;
        }
        return field_byte(p, c, err);
    case CSV_QUOTE_SEEN:
        if (c == '"') {
            p->state = CSV_QUOTED;
            return field_byte(p, '"', err);
        }
        if (c == ',' || c == '\n' || c == '\r') break;
        return fail(p, err, "unexpected text after a closing quote");
    case CSV_ERROR:
        return -1;
    }
    /* c is a separator or a line end that closes the current field */
    if (end_field(p, err) != 0) return -1;
    if (c == ',') {
        p->state = CSV_FIELD_START;
        return 0;
    }
    p->state = c == '\r' ? CSV_AFTER_CR : CSV_FIELD_START;
    return end_record(p, err);
}

int ar_csv_parser_feed(ar_csv_parser *p, const char *data, size_t len, ar_error *err)
{
    if (p->state == CSV_ERROR) return ar_error_set(err, p->saved.code, "%s", p->saved.message), -1;
    size_t i = 0;
    while (!p->bom_done && i < len) {
        if ((unsigned char)data[i] == BOM[p->bom_matched]) {
            i++;
            if (++p->bom_matched == sizeof BOM) p->bom_done = 1;
            continue;
        }
        p->bom_done = 1; /* not a BOM after all: replay what looked like one */
        for (size_t k = 0; k < p->bom_matched; k++)
            if (step(p, (char)BOM[k], err) != 0) return -1;
    }
    for (; i < len; i++)
        if (step(p, data[i], err) != 0) return -1;
    return 0;
}

int ar_csv_parser_finish(ar_csv_parser *p, ar_error *err)
{
    if (p->state == CSV_ERROR) return ar_error_set(err, p->saved.code, "%s", p->saved.message), -1;
    if (!p->bom_done) {
        p->bom_done = 1;
        for (size_t k = 0; k < p->bom_matched && k < sizeof BOM - 1; k++)
            if (step(p, (char)BOM[k], err) != 0) return -1;
    }
    if (p->state == CSV_QUOTED)
        return fail_at(p, p->quote_row, p->nfields + 1, err, "a quoted field is never closed");
    if (p->state == CSV_AFTER_CR || (p->state == CSV_FIELD_START && !p->in_record)) return 0;
    /* the last record had no line end */
    if (p->state == CSV_FIELD_START && begin_field(p, err) != 0) return -1; /* "a,b," ends with an empty field */
    if (end_field(p, err) != 0) return -1;
    p->state = CSV_FIELD_START;
    return end_record(p, err);
}

int ar_csv_parse(const char *data, size_t len, const ar_csv_limits *limits, ar_csv_row_fn on_row, void *ud,
                 ar_error *err)
{
    ar_csv_parser *p = ar_csv_parser_new(limits, on_row, ud);
    int rc = ar_csv_parser_feed(p, data, len, err);
    if (rc == 0) rc = ar_csv_parser_finish(p, err);
    ar_csv_parser_free(p);
    return rc;
}

/* csv.h — RFC 4180 CSV: a writer (fields quoted only when needed, CRLF row ends, optional neutralising of
 * spreadsheet formulas) and a streaming parser (feed any chunk size; rows go to a callback as they complete).
 *
 * Parser rules: fields separated by ',', records by CRLF, LF or a lone CR; a quoted field may hold commas, line
 * breaks and doubled quotes (""); a quote inside an unquoted field, or anything but a separator/line end after a
 * closing quote, is an error; a UTF-8 byte-order mark at the very start is dropped; blank lines are skipped; the
 * last record needs no line end; every field must be valid UTF-8 without NUL bytes. Rows are numbered from 1
 * (the header, if any, is row 1) by record, not by physical line; columns from 1. Rows may have different numbers
 * of fields (ragged): the caller decides what that means. */
#ifndef AFTERRESUME_CORE_CSV_H
#define AFTERRESUME_CORE_CSV_H
#include <stddef.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"

/* ---- writer ---------------------------------------------------------------------------------------------- */

/* Writer flag: a cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage
 * return) gets a leading single quote. A cell that starts with a quote followed by such a cell gets one more
 * quote, so ar_csv_formula_unescape() restores every original value exactly. */
#define AR_CSV_NEUTRALISE_FORMULAS 1u

/* Append one field, quoted when it holds , " CR or LF (quotes inside doubled). */
void ar_csv_write_field(ar_buf *out, const char *value, size_t len, unsigned flags);
/* Append a whole record: fields separated by commas (NULL = empty field), then CRLF. */
void ar_csv_write_row(ar_buf *out, const char *const *fields, size_t count, unsigned flags);

/* 1 when the writer with AR_CSV_NEUTRALISE_FORMULAS would prefix this value with a quote. */
int ar_csv_formula_needs_quote(const char *value, size_t len);
/* Undo the writer's formula quote: the length of the prefix to skip (0 or 1). */
size_t ar_csv_formula_unescape(const char *value, size_t len);

/* ---- parser ---------------------------------------------------------------------------------------------- */

typedef struct ar_csv_limits {
    size_t max_rows;        /* records, header included; 0 = unlimited */
    size_t max_fields;      /* fields in one record; 0 = unlimited */
    size_t max_field_bytes; /* bytes of one field after unquoting; 0 = unlimited */
} ar_csv_limits;

typedef struct ar_csv_field {
    const char *data; /* NUL-terminated (no NUL inside: the parser refuses them) */
    size_t len;
    int quoted;       /* the field was written in quotes */
} ar_csv_field;

typedef struct ar_csv_row {
    size_t number;              /* 1-based record number */
    size_t count;               /* fields in this record (>= 1) */
    const ar_csv_field *fields; /* valid until the callback returns */
} ar_csv_row;

/* Called for every complete record. Return 0 to go on; non-zero stops parsing (set err to say why; when err
 * is left unset the parse fails with "stopped"). */
typedef int (*ar_csv_row_fn)(void *ud, const ar_csv_row *row, ar_error *err);

typedef struct ar_csv_parser ar_csv_parser;

/* limits may be NULL (no limits). */
ar_csv_parser *ar_csv_parser_new(const ar_csv_limits *limits, ar_csv_row_fn on_row, void *ud);
/* 0, or -1 with err (AR_ERR_VALIDATION, message "row R, column C: reason"; ar_csv_parser_error_at() gives R
 * and C, and the reason alone). After an error every call fails again with the same error. */
int ar_csv_parser_feed(ar_csv_parser *p, const char *data, size_t len, ar_error *err);
/* End of input: emits the last record when it had no line end; fails on an unterminated quoted field. */
int ar_csv_parser_finish(ar_csv_parser *p, ar_error *err);
/* Where the first error happened (row, column; 0 when not known) and its reason without the position. */
const char *ar_csv_parser_error_at(const ar_csv_parser *p, size_t *row, size_t *column);
/* Records emitted so far. */
size_t ar_csv_parser_rows(const ar_csv_parser *p);
void ar_csv_parser_free(ar_csv_parser *p);

/* The whole of data in one call (new + feed + finish + free). */
int ar_csv_parse(const char *data, size_t len, const ar_csv_limits *limits, ar_csv_row_fn on_row, void *ud,
                 ar_error *err);

#endif

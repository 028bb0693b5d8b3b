/* test_csv.c — unit tests for the RFC 4180 CSV writer and streaming parser: quoting, commas, line breaks, BOM,
 * empty fields, ragged rows, limits, invalid UTF-8 with its position, every chunk split giving the same result,
 * formula neutralising and its exact reversal, and writer → parser round trips. */
#include <check.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/csv.h"
#include "afterresume/core/error.h"

/* Rows as text: each row "[n:f1|f2|...]", quoted fields marked with a trailing '*'. */
static int log_row(void *ud, const ar_csv_row *row, ar_error *err)
{
    (void)err;
    ar_buf *log = ud;
    ar_buf_printf(log, "[%zu:", row->number);
    for (size_t i = 0; i < row->count; i++) {
        if (i) ar_buf_putc(log, '|');
        ck_assert_uint_eq(strlen(row->fields[i].data), row->fields[i].len);
        ar_buf_append(log, row->fields[i].data, row->fields[i].len);
        if (row->fields[i].quoted) ar_buf_putc(log, '*');
    }
    ar_buf_putc(log, ']');
    return 0;
}

/* Parse in chunks of `chunk` bytes (0 = whole); returns the row log, or "ERR:<message>". */
static char *parse_chunked(const char *data, size_t len, size_t chunk, const ar_csv_limits *lim)
{
    ar_buf log = AR_BUF_INIT;
    ar_error e = {0};
    ar_csv_parser *p = ar_csv_parser_new(lim, log_row, &log);
    if (chunk == 0) chunk = len ? len : 1;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < len; off += chunk)
        rc = ar_csv_parser_feed(p, data + off, len - off < chunk ? len - off : chunk, &e);
    if (rc == 0) rc = ar_csv_parser_finish(p, &e);
    ar_csv_parser_free(p);
    if (rc != 0) {
        ck_assert_int_eq(e.code, AR_ERR_VALIDATION);
        ar_buf_reset(&log);
        ar_buf_printf(&log, "ERR:%s", e.message);
    }
    ar_error_clear(&e);
    return ar_buf_steal(&log);
}

static char *parse(const char *data)
{
    return parse_chunked(data, strlen(data), 0, NULL);
}

#define ASSERT_PARSE(input, expected)                                                                              \
    do {                                                                                                           \
        char *got_ = parse(input);                                                                                 \
        ck_assert_str_eq(got_, expected);                                                                          \
        free(got_);                                                                                                \
    } while (0)

START_TEST(csv_parse_basic_quotes_commas_newlines)
{
    ASSERT_PARSE("a,b,c\r\n1,2,3\r\n", "[1:a|b|c][2:1|2|3]");
    ASSERT_PARSE("a,b\n1,2", "[1:a|b][2:1|2]");                        /* LF, no trailing newline */
    ASSERT_PARSE("\"x,y\",\"say \"\"hi\"\"\"\r\n", "[1:x,y*|say \"hi\"*]"); /* commas and doubled quotes */
    ASSERT_PARSE("\"line1\r\nline2\",z\r\n", "[1:line1\r\nline2*|z]");  /* CRLF inside quotes kept */
    ASSERT_PARSE("\"a\nb\"\n", "[1:a\nb*]");
    ASSERT_PARSE("a\rb\rc", "[1:a][2:b][3:c]");                         /* lone CR ends a record */
    ASSERT_PARSE("\"\"\"\"", "[1:\"*]");                                /* a field that is one quote */
    ASSERT_PARSE("", "");
    ASSERT_PARSE("\r\n", "");
}
END_TEST

START_TEST(csv_parse_empty_fields_and_blank_lines)
{
    ASSERT_PARSE(",,\r\n", "[1:||]");
    ASSERT_PARSE("a,,c", "[1:a||c]");
    ASSERT_PARSE("a,b,", "[1:a|b|]");   /* trailing empty field without a line end */
    ASSERT_PARSE("a,b,\r\n", "[1:a|b|]");
    ASSERT_PARSE("\"\",x", "[1:*|x]");  /* quoted empty field */
    ASSERT_PARSE("\"\"\n", "[1:*]");    /* a line holding only "" is a record, not a blank line */
    /* blank lines are skipped but keep their row numbers (as a spreadsheet shows them) */
    ASSERT_PARSE("h\r\n\r\nv\r\n\n\nw", "[1:h][3:v][6:w]");
}
END_TEST

START_TEST(csv_parse_ragged_rows)
{
    ASSERT_PARSE("a,b,c\n1\n1,2,3,4\n", "[1:a|b|c][2:1][3:1|2|3|4]");
}
END_TEST

START_TEST(csv_parse_bom)
{
    ASSERT_PARSE("\xEF\xBB\xBFtitle,date\r\nx,y", "[1:title|date][2:x|y]");
    ASSERT_PARSE("\xEF\xBB\xBF", "");
    /* a BOM in the middle is data (valid UTF-8 U+FEFF) */
    ASSERT_PARSE("a,\xEF\xBB\xBF" "b", "[1:a|\xEF\xBB\xBF" "b]");
    /* a partial BOM is replayed as data, and being invalid UTF-8 is reported */
    char *got = parse("\xEF\xBBx");
    ck_assert_msg(strstr(got, "row 1, column 1") && strstr(got, "UTF-8"), "%s", got);
    free(got);
    /* BOM split across chunks */
    const char *in = "\xEF\xBB\xBF" "a,b\n";
    for (size_t chunk = 1; chunk <= 4; chunk++) {
        got = parse_chunked(in, strlen(in), chunk, NULL);
        ck_assert_str_eq(got, "[1:a|b]");
        free(got);
    }
}
END_TEST

START_TEST(csv_parse_errors_with_position)
{
    char *got = parse("a,b\r\nok,\"never closed\r\n");
    ck_assert_msg(strstr(got, "ERR:CSV row 2, column 2") && strstr(got, "never closed"), "%s", got);
    free(got);
    got = parse("a,b\nx,y\"z\n");
    ck_assert_msg(strstr(got, "ERR:CSV row 2, column 2: a quote inside an unquoted field"), "%s", got);
    free(got);
    got = parse("\"ab\"c,d\n");
    ck_assert_msg(strstr(got, "ERR:CSV row 1, column 1: unexpected text after a closing quote"), "%s", got);
    free(got);
    /* invalid UTF-8: overlong, lone continuation, truncated sequence, surrogate */
    got = parse("h1,h2,h3\r\nok,ok,\xC0\xAF\r\n");
    ck_assert_msg(strstr(got, "ERR:CSV row 2, column 3: the field is not valid UTF-8 text"), "%s", got);
    free(got);
    got = parse("a\n\"multi\nline\",\x80\n");
    ck_assert_msg(strstr(got, "ERR:CSV row 2, column 2"), "%s", got); /* rows count records, not lines */
    free(got);
    got = parse("x,\xE2\x82");
    ck_assert_msg(strstr(got, "ERR:CSV row 1, column 2"), "%s", got);
    free(got);
    got = parse("\xED\xA0\x80");
    ck_assert_msg(strstr(got, "ERR:CSV row 1, column 1"), "%s", got);
    free(got);
    const char nul[] = "a,b\0c\n";
    got = parse_chunked(nul, sizeof nul - 1, 0, NULL);
    ck_assert_msg(strstr(got, "ERR:CSV row 1, column 2: the field contains a NUL byte"), "%s", got);
    free(got);
    /* valid multi-byte text passes */
    ASSERT_PARSE("café,日本,😀", "[1:café|日本|😀]");
}
END_TEST

START_TEST(csv_parse_error_position_accessor_and_sticky)
{
    ar_buf log = AR_BUF_INIT;
    ar_error e = {0};
    ar_csv_parser *p = ar_csv_parser_new(NULL, log_row, &log);
    ck_assert_int_eq(ar_csv_parser_feed(p, "a,b\nc,\"d\"x", 11, &e), -1);
    size_t row = 0, col = 0;
    const char *reason = ar_csv_parser_error_at(p, &row, &col);
    ck_assert_uint_eq(row, 2);
    ck_assert_uint_eq(col, 2);
    ck_assert_str_eq(reason, "unexpected text after a closing quote");
    ck_assert_uint_eq(ar_csv_parser_rows(p), 1);
    ar_error_clear(&e);
    ck_assert_int_eq(ar_csv_parser_feed(p, "more\n", 5, &e), -1); /* sticky */
    ck_assert(strstr(e.message, "row 2, column 2") != NULL);
    ar_error_clear(&e);
    ck_assert_int_eq(ar_csv_parser_finish(p, &e), -1);
    ar_error_clear(&e);
    ar_csv_parser_free(p);
    ck_assert_str_eq(ar_buf_cstr(&log), "[1:a|b]");
    ar_buf_free(&log);
}
END_TEST

START_TEST(csv_parse_limits)
{
    ar_csv_limits lim = {.max_rows = 2, .max_fields = 3, .max_field_bytes = 5};
    char *got = parse_chunked("a,b,c\n1,2,3\n", 12, 0, &lim);
    ck_assert_str_eq(got, "[1:a|b|c][2:1|2|3]");
    free(got);
    got = parse_chunked("a\nb\nc\n", 6, 0, &lim);
    ck_assert_msg(strstr(got, "ERR:CSV row 3: more than 2 rows"), "%s", got);
    free(got);
    got = parse_chunked("a,b,c,d\n", 8, 0, &lim);
    ck_assert_msg(strstr(got, "ERR:CSV row 1, column 4: more than 3 fields"), "%s", got);
    free(got);
    got = parse_chunked("12345,123456\n", 13, 0, &lim);
    ck_assert_msg(strstr(got, "ERR:CSV row 1, column 2: a field is longer than 5 bytes"), "%s", got);
    free(got);
    got = parse_chunked("\"12\"\"45\"\n", 9, 0, &lim); /* 5 bytes after unquoting: allowed */
    ck_assert_str_eq(got, "[1:12\"45*]");
    free(got);
    /* blank lines do not count as rows against the limit */
    got = parse_chunked("a\n\n\nb\n", 6, 0, &lim);
    ck_assert_str_eq(got, "[1:a][4:b]");
    free(got);
}
END_TEST

static int stop_at_second(void *ud, const ar_csv_row *row, ar_error *err)
{
    (void)ud;
    if (row->number == 2) {
        ar_error_set(err, AR_ERR_VALIDATION, "enough");
        return 1;
    }
    return 0;
}

START_TEST(csv_parse_callback_stops)
{
    ar_error e = {0};
    ck_assert_int_eq(ar_csv_parse("a\nb\nc\n", 6, NULL, stop_at_second, NULL, &e), -1);
    ck_assert_str_eq(e.message, "enough");
    ar_error_clear(&e);
}
END_TEST

/* Every split of the input into two chunks, and byte-by-byte feeding, give the same rows. */
START_TEST(csv_parse_every_split_position)
{
    const char *in = "\xEF\xBB\xBFid,\"te,xt\",q\r\n1,\"a \"\"b\"\"\r\nc\",\r\n\r\n2,,\"\"\r3,x,y";
    size_t len = strlen(in);
    char *whole = parse_chunked(in, len, 0, NULL);
    ck_assert_str_eq(whole, "[1:id|te,xt*|q][2:1|a \"b\"\r\nc*|][4:2||*][5:3|x|y]");
    for (size_t cut = 0; cut <= len; cut++) {
        ar_buf log = AR_BUF_INIT;
        ar_error e = {0};
        ar_csv_parser *p = ar_csv_parser_new(NULL, log_row, &log);
        ck_assert_int_eq(ar_csv_parser_feed(p, in, cut, &e), 0);
        ck_assert_int_eq(ar_csv_parser_feed(p, in + cut, len - cut, &e), 0);
        ck_assert_int_eq(ar_csv_parser_finish(p, &e), 0);
        ar_csv_parser_free(p);
        ck_assert_str_eq(ar_buf_cstr(&log), whole);
        ar_buf_free(&log);
    }
    char *bytes = parse_chunked(in, len, 1, NULL);
    ck_assert_str_eq(bytes, whole);
    free(bytes);
    free(whole);
}
END_TEST

START_TEST(csv_write_quoting)
{
    ar_buf out = AR_BUF_INIT;
    const char *row[] = {"plain", "with,comma", "say \"hi\"", "two\r\nlines", "", NULL, "lf\nonly", "café"};
    ar_csv_write_row(&out, row, 8, 0);
    ck_assert_str_eq(ar_buf_cstr(&out),
                     "plain,\"with,comma\",\"say \"\"hi\"\"\",\"two\r\nlines\",,,\"lf\nonly\",café\r\n");
    ar_buf_free(&out);
}
END_TEST

START_TEST(csv_write_formulas_neutralised_and_reversible)
{
    const char *cases[][2] = {
        {"=SUM(A1:A9)", "'=SUM(A1:A9)"}, {"+1", "'+1"}, {"-2", "'-2"}, {"@cmd", "'@cmd"},
        {"\tx", "'\tx"}, {"'=x", "''=x"}, {"''+y", "'''+y"}, {"'plain", "'plain"},
        {"a=b", "a=b"}, {"", ""}, {"'", "'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ar_buf out = AR_BUF_INIT;
        ar_csv_write_field(&out, cases[i][0], strlen(cases[i][0]), AR_CSV_NEUTRALISE_FORMULAS);
        ck_assert_str_eq(ar_buf_cstr(&out), cases[i][1]);
        const char *w = cases[i][1];
        size_t skip = ar_csv_formula_unescape(w, strlen(w));
        ck_assert_str_eq(w + skip, cases[i][0]);
        ar_buf_free(&out);
    }
    /* quoted and neutralised at once: the quote goes inside the CSV quotes */
    ar_buf out = AR_BUF_INIT;
    ar_csv_write_field(&out, "=1,2", 4, AR_CSV_NEUTRALISE_FORMULAS);
    ck_assert_str_eq(ar_buf_cstr(&out), "\"'=1,2\"");
    ar_buf_reset(&out);
    ar_csv_write_field(&out, "=1", 2, 0);
    ck_assert_str_eq(ar_buf_cstr(&out), "=1");
    ar_buf_free(&out);
}
END_TEST

typedef struct collect {
    char *cells[16];
    size_t n;
} collect;

static int collect_row(void *ud, const ar_csv_row *row, ar_error *err)
{
    (void)err;
    collect *c = ud;
    for (size_t i = 0; i < row->count && c->n < 16; i++) {
        size_t skip = ar_csv_formula_unescape(row->fields[i].data, row->fields[i].len);
        c->cells[c->n++] = ar_strndup(row->fields[i].data + skip, row->fields[i].len - skip);
    }
    return 0;
}

START_TEST(csv_write_then_parse_round_trips)
{
    const char *row[] = {"=HYPERLINK(\"x\")", "multi\nline, \"quoted\"", "", "'=keep", "-", "\r\n", "naïve ✓"};
    ar_buf out = AR_BUF_INIT;
    ar_buf_append(&out, "\xEF\xBB\xBF", 3);
    ar_csv_write_row(&out, row, 7, AR_CSV_NEUTRALISE_FORMULAS);
    collect c = {{0}, 0};
    ar_error e = {0};
    ck_assert_int_eq(ar_csv_parse(out.data, out.len, NULL, collect_row, &c, &e), 0);
    ck_assert_uint_eq(c.n, 7);
    for (size_t i = 0; i < 7; i++) {
        ck_assert_str_eq(c.cells[i], row[i]);
        free(c.cells[i]);
    }
    ar_buf_free(&out);
}
END_TEST

Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("csv");
    tcase_add_test(tc, csv_parse_basic_quotes_commas_newlines);
    tcase_add_test(tc, csv_parse_empty_fields_and_blank_lines);
    tcase_add_test(tc, csv_parse_ragged_rows);
    tcase_add_test(tc, csv_parse_bom);
    tcase_add_test(tc, csv_parse_errors_with_position);
    tcase_add_test(tc, csv_parse_error_position_accessor_and_sticky);
    tcase_add_test(tc, csv_parse_limits);
    tcase_add_test(tc, csv_parse_callback_stops);
    tcase_add_test(tc, csv_parse_every_split_position);
    tcase_add_test(tc, csv_write_quoting);
    tcase_add_test(tc, csv_write_formulas_neutralised_and_reversible);
    tcase_add_test(tc, csv_write_then_parse_round_trips);
    suite_add_tcase(s, tc);
    return s;
}

/* test_worklog.c — unit tests for the database-free half of the worklog service: tag normalisation, entry
 * validation, the keyset cursor and the HTML-safe search snippet. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/error.h"
#include "afterresume/domain/worklog.h"

/* Normalise a JSON text of tags; returns the result as compact JSON text (heap) or NULL with *field_msg. */
static char *norm(const char *json_text, char *field_msg, size_t size)
{
    json_error_t jerr;
    json_t *in = json_loads(json_text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(in != NULL, "bad test JSON %s: %s", json_text, jerr.text);
    ar_error err = {0};
    json_t *out = ar_tags_normalise(in, &err);
    json_decref(in);
    if (!out) {
        ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
        snprintf(field_msg, size, "%s", json_string_value(json_object_get(err.fields, "tags")));
        ar_error_clear(&err);
        return NULL;
    }
    ck_assert_int_eq(err.code, AR_OK);
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return text;
}

static void expect_tags(const char *in, const char *want)
{
    char msg[256] = "";
    char *got = norm(in, msg, sizeof msg);
    ck_assert_msg(got != NULL, "%s refused: %s", in, msg);
    ck_assert_msg(strcmp(got, want) == 0, "%s -> %s, want %s", in, got, want);
    free(got);
}

static void expect_tags_refused(const char *in, const char *msg_part)
{
    char msg[256] = "";
    char *got = norm(in, msg, sizeof msg);
    ck_assert_msg(got == NULL, "%s accepted as %s", in, got ? got : "");
    ck_assert_msg(strstr(msg, msg_part) != NULL, "%s: message %s lacks %s", in, msg, msg_part);
}

START_TEST(tags_basic_normalisation)
{
    expect_tags("[\"  Rust \", \"rust\", \"Team   Lead\", \"\\tC  \\n Lang\"]", "[\"rust\",\"team lead\",\"c lang\"]");
    expect_tags("\"Alpha, beta ,ALPHA,, gamma\"", "[\"alpha\",\"beta\",\"gamma\"]");
    expect_tags("null", "[]");
    expect_tags("[]", "[]");
    expect_tags("[\"   \", \"\"]", "[]");
    /* commas inside list elements separate tags too (CSV round trips stay unambiguous) */
    expect_tags("[\"a,b\", \"B\"]", "[\"a\",\"b\"]");
}
END_TEST

START_TEST(tags_utf8_aware)
{
    /* Latin-1, Latin Extended-A, Greek, Cyrillic capitals lower-cased; no-break space collapses */
    expect_tags("[\"ÄÖÜ Straße\", \"ŁÓDŹ\", \"ΑΘΗΝΑ\", \"МОСКВА\", \"a\\u00a0\\u00a0b\"]",
                "[\"äöü straße\",\"łódź\",\"αθηνα\",\"москва\",\"a b\"]");
    /* first occurrence wins, duplicates after case folding are dropped */
    expect_tags("[\"Émile\", \"émile\", \"ÉMILE\"]", "[\"émile\"]");
    /* CJK and emoji are kept as they are; 50 characters is the limit, counted in characters not bytes */
    char buf[512];
    strcpy(buf, "[\"");
    for (int i = 0; i < 50; i++) strcat(buf, "日");
    strcat(buf, "\"]");
    char want[512];
    strcpy(want, buf);
    expect_tags(buf, want);
    buf[strlen(buf) - 2] = '\0';
    strcat(buf, "本\"]");
    expect_tags_refused(buf, "50 characters");
}
END_TEST

START_TEST(tags_limits_and_bad_input)
{
    char buf[1024] = "[";
    for (int i = 0; i < 21; i++) {
        char t[16];
        snprintf(t, sizeof t, "%s\"t%d\"", i ? "," : "", i);
        strcat(buf, t);
    }
    strcat(buf, "]");
    expect_tags_refused(buf, "at most 20");
    /* 21 given but only 20 distinct after normalising: accepted */
    strcpy(buf, "[");
    for (int i = 0; i < 20; i++) {
        char t[16];
        snprintf(t, sizeof t, "%s\"t%d\"", i ? "," : "", i);
        strcat(buf, t);
    }
    strcat(buf, ",\"T0\"]");
    char msg[256];
    char *got = norm(buf, msg, sizeof msg);
    ck_assert_ptr_nonnull(got);
    json_t *arr = json_loads(got, 0, NULL);
    ck_assert_int_eq(json_array_size(arr), 20);
    json_decref(arr);
    free(got);
    char longtag[128];
    memset(longtag, 'x', 51);
    longtag[51] = '\0';
    snprintf(buf, sizeof buf, "[\"%s\"]", longtag);
    expect_tags_refused(buf, "50 characters");
    expect_tags_refused("[1]", "list of strings");
    expect_tags_refused("{\"a\":1}", "list of strings");
    expect_tags_refused("[\"bell\\u0007\"]", "control");

    char one[256];
    ck_assert_int_eq(ar_tag_normalise_one("  Ab  Cd ", 9, one, sizeof one), 5);
    ck_assert_str_eq(one, "ab cd");
    ck_assert_int_eq(ar_tag_normalise_one("\xff\xfe", 2, one, sizeof one), -1); /* invalid UTF-8 */
    ck_assert_int_eq(ar_tag_normalise_one("   ", 3, one, sizeof one), 0);
}
END_TEST

START_TEST(cursor_round_trip)
{
    ar_worklog_cursor c = {.kind = 'd', .occurred_on = "2026-02-28", .id = 12345};
    char text[AR_WORKLOG_CURSOR_MAX];
    ck_assert_int_eq(ar_worklog_cursor_encode(&c, text, sizeof text), 0);
    ck_assert_msg(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(text),
                  "cursor %s is not URL-safe", text);
    ar_worklog_cursor d;
    ck_assert_int_eq(ar_worklog_cursor_decode(text, &d), 0);
    ck_assert_int_eq(d.kind, 'd');
    ck_assert_str_eq(d.occurred_on, "2026-02-28");
    ck_assert_int_eq(d.id, 12345);

    ar_worklog_cursor s = {.kind = 's', .occurred_on = "2024-02-29", .id = 7, .title_hit = 1, .rank = "0.123456789"};
    ck_assert_int_eq(ar_worklog_cursor_encode(&s, text, sizeof text), 0);
    ck_assert_int_eq(ar_worklog_cursor_decode(text, &d), 0);
    ck_assert_int_eq(d.kind, 's');
    ck_assert_int_eq(d.title_hit, 1);
    ck_assert_str_eq(d.rank, "0.123456789");
    ck_assert_str_eq(d.occurred_on, "2024-02-29");
    ck_assert_int_eq(d.id, 7);

    ar_worklog_cursor bad = {.kind = 'd', .occurred_on = "2023-02-29", .id = 1}; /* not a leap year */
    ck_assert_int_eq(ar_worklog_cursor_encode(&bad, text, sizeof text), -1);
    bad = (ar_worklog_cursor){.kind = 's', .occurred_on = "2023-02-28", .id = 1, .rank = "nan"};
    ck_assert_int_eq(ar_worklog_cursor_encode(&bad, text, sizeof text), -1);
    bad = (ar_worklog_cursor){.kind = 'd', .occurred_on = "2023-02-28", .id = 0};
    ck_assert_int_eq(ar_worklog_cursor_encode(&bad, text, sizeof text), -1);
}
END_TEST

START_TEST(cursor_rejects_garbage)
{
    ar_worklog_cursor d;
    ck_assert_int_eq(ar_worklog_cursor_decode("", &d), -1);
    ck_assert_int_eq(ar_worklog_cursor_decode(NULL, &d), -1);
    ck_assert_int_eq(ar_worklog_cursor_decode("not base64 !!", &d), -1);
    /* base64url of "v1|d|2026-13-01|5" (month 13), "v2|d|2026-01-01|5", "v1|d|2026-01-01|-5", "v1|x|..." */
    ck_assert_int_eq(ar_worklog_cursor_decode("djF8ZHwyMDI2LTEzLTAxfDU", &d), -1);
    ck_assert_int_eq(ar_worklog_cursor_decode("djJ8ZHwyMDI2LTAxLTAxfDU", &d), -1);
    ck_assert_int_eq(ar_worklog_cursor_decode("djF8ZHwyMDI2LTAxLTAxfC01", &d), -1);
    ck_assert_int_eq(ar_worklog_cursor_decode("djF8eHwyMDI2LTAxLTAxfDU", &d), -1);
    /* and the good one of the same shape decodes */
    ck_assert_int_eq(ar_worklog_cursor_decode("djF8ZHwyMDI2LTAxLTAxfDU", &d), 0);
    ck_assert_int_eq(d.id, 5);
    /* SQL in the rank field never gets through */
    ar_worklog_cursor s = {.kind = 's', .occurred_on = "2026-01-01", .id = 1, .rank = "1);drop"};
    char text[AR_WORKLOG_CURSOR_MAX];
    ck_assert_int_eq(ar_worklog_cursor_encode(&s, text, sizeof text), -1);
    char longtext[300];
    memset(longtext, 'A', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    ck_assert_int_eq(ar_worklog_cursor_decode(longtext, &d), -1);
}
END_TEST

START_TEST(snippet_escapes_then_marks)
{
    char *html = ar_worklog_snippet_html("a <script>x</script> \x01" "fox\x02 & \"q\" \x02 \x01" "end");
    ck_assert_str_eq(html, "a &lt;script&gt;x&lt;/script&gt; <mark>fox</mark> &amp; &quot;q&quot;  <mark>end</mark>");
    free(html);
    html = ar_worklog_snippet_html(NULL);
    ck_assert_str_eq(html, "");
    free(html);
    html = ar_worklog_snippet_html("\x01<b>\x01x");
    ck_assert_str_eq(html, "<mark>&lt;b&gt;x</mark>");
    free(html);
}
END_TEST

static json_t *validate_text(const char *json_text, unsigned flags, ar_error *err)
{
    json_t *in = json_loads(json_text, 0, NULL);
    ck_assert_ptr_nonnull(in);
    json_t *out = ar_worklog_validate(in, flags, err);
    json_decref(in);
    return out;
}

static const char *field_msg(const ar_error *err, const char *field)
{
    return json_string_value(json_object_get(err->fields, field));
}

START_TEST(validate_full_entry)
{
    ar_error err = {0};
    json_t *e = validate_text("{\"occurred_on\":\"2026-03-01\",\"title\":\"Shipped\",\"content\":\"Did **it**\","
                              "\"outcome\":\"o\",\"impact\":\"i\",\"next_steps\":\"n\",\"effort_minutes\":\"90\","
                              "\"work_type\":\"incident\",\"status\":\"final\",\"tags\":\"Ops, SRE\",\"client\":\"3\","
                              "\"project\":4,\"visibility\":\"team\",\"impact_score\":7,\"source\":\"api\","
                              "\"import_key\":\"ext-1\",\"id\":99,\"author\":5,\"unknown\":true}",
                              0, &err);
    ck_assert_msg(e != NULL, "refused: %s", err.message);
    ck_assert_str_eq(json_string_value(json_object_get(e, "occurred_on")), "2026-03-01");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "effort_minutes")), 90);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "client")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "project")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "impact_score")), 7);
    ck_assert_str_eq(json_string_value(json_object_get(e, "impact_score_source")), "user");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "tags"), 1)), "sre");
    ck_assert_ptr_null(json_object_get(e, "id"));
    ck_assert_ptr_null(json_object_get(e, "author"));
    ck_assert_ptr_null(json_object_get(e, "unknown"));
    json_decref(e);

    /* defaults; hours converted when effort_minutes is absent */
    e = validate_text("{\"occurred_on\":\"2026-03-01\",\"content\":\"x\",\"hours\":1.5}", 0, &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "effort_minutes")), 90);
    ck_assert_str_eq(json_string_value(json_object_get(e, "work_type")), "delivery");
    ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "draft");
    ck_assert_str_eq(json_string_value(json_object_get(e, "visibility")), "private");
    ck_assert_str_eq(json_string_value(json_object_get(e, "source")), "manual");
    ck_assert(json_is_null(json_object_get(e, "impact_score_source")));
    ck_assert(json_is_null(json_object_get(e, "client")));
    json_decref(e);
}
END_TEST

START_TEST(validate_reports_every_bad_field)
{
    ar_error err = {0};
    json_t *e = validate_text("{\"occurred_on\":\"2026-02-30\",\"content\":\"\",\"effort_minutes\":100001,"
                              "\"work_type\":\"coding\",\"status\":\"ready\",\"visibility\":\"public\","
                              "\"impact_score\":11,\"impact_score_source\":\"robot\",\"source\":\"slack\","
                              "\"client\":\"abc\",\"project\":-1,\"title\":\"bell\\u0007\",\"tags\":[1]}",
                              0, &err);
    ck_assert_ptr_null(e);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    static const char *const fields[] = {"occurred_on", "content", "effort_minutes", "work_type", "status",
                                         "visibility", "impact_score", "impact_score_source", "source",
                                         "client", "project", "title", "tags"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        ck_assert_msg(field_msg(&err, fields[i]) != NULL, "no error for %s", fields[i]);
    ck_assert_str_eq(field_msg(&err, "content"), "This field is required.");
    ar_error_clear(&err);

    /* missing required fields */
    e = validate_text("{}", 0, &err);
    ck_assert_ptr_null(e);
    ck_assert_str_eq(field_msg(&err, "occurred_on"), "This field is required.");
    ck_assert_str_eq(field_msg(&err, "content"), "This field is required.");
    ar_error_clear(&err);

    /* title over 240 characters (counted in characters: 240 × "é" is fine) */
    char big[2048] = "{\"occurred_on\":\"2026-01-01\",\"content\":\"x\",\"title\":\"";
    for (int i = 0; i < 240; i++) strcat(big, "é");
    strcat(big, "\"}");
    e = validate_text(big, 0, &err);
    ck_assert_ptr_nonnull(e);
    json_decref(e);
    big[strlen(big) - 2] = '\0';
    strcat(big, "é\"}");
    e = validate_text(big, 0, &err);
    ck_assert_ptr_null(e);
    ck_assert_ptr_nonnull(field_msg(&err, "title"));
    ar_error_clear(&err);

    /* not an object */
    json_t *arr = json_array();
    ck_assert_ptr_null(ar_worklog_validate(arr, 0, &err));
    ck_assert_int_eq(err.code, AR_ERR_INVALID_JSON);
    json_decref(arr);
    ar_error_clear(&err);
}
END_TEST

START_TEST(validate_partial_and_import)
{
    ar_error err = {0};
    json_t *e = validate_text("{\"title\":\"only\"}", AR_WORKLOG_PARTIAL, &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(json_object_size(e), 1);
    json_decref(e);
    e = validate_text("{\"impact_score\":null}", AR_WORKLOG_PARTIAL, &err);
    ck_assert_ptr_nonnull(e);
    ck_assert(json_is_null(json_object_get(e, "impact_score_source")));
    json_decref(e);
    e = validate_text("{\"content\":null}", AR_WORKLOG_PARTIAL, &err);
    ck_assert_ptr_null(e);
    ck_assert_str_eq(field_msg(&err, "content"), "This field is required.");
    ar_error_clear(&err);

    e = validate_text("{\"occurred_on\":\"2019-05-01\",\"content\":\"x\",\"created_at\":\"2019-05-01T10:00:00Z\","
                      "\"client_name\":\"Acme\",\"project_name\":\"Rocket\",\"impact_score\":3,"
                      "\"impact_score_source\":\"ai\"}",
                      AR_WORKLOG_IMPORT, &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(e, "source")), "import");
    ck_assert_str_eq(json_string_value(json_object_get(e, "created_at")), "2019-05-01T10:00:00Z");
    ck_assert_str_eq(json_string_value(json_object_get(e, "client_name")), "Acme");
    ck_assert_str_eq(json_string_value(json_object_get(e, "impact_score_source")), "ai");
    json_decref(e);
    e = validate_text("{\"occurred_on\":\"2019-05-01\",\"content\":\"x\",\"created_at\":\"yesterday\"}",
                      AR_WORKLOG_IMPORT, &err);
    ck_assert_ptr_null(e);
    ck_assert_ptr_nonnull(field_msg(&err, "created_at"));
    ar_error_clear(&err);
    /* without IMPORT the timestamps are ignored */
    e = validate_text("{\"occurred_on\":\"2019-05-01\",\"content\":\"x\",\"created_at\":\"yesterday\"}", 0, &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_null(json_object_get(e, "created_at"));
    json_decref(e);
}
END_TEST

Suite *worklog_suite(void)
{
    Suite *s = suite_create("worklog");
    TCase *tc = tcase_create("worklog");
    tcase_add_test(tc, tags_basic_normalisation);
    tcase_add_test(tc, tags_utf8_aware);
    tcase_add_test(tc, tags_limits_and_bad_input);
    tcase_add_test(tc, cursor_round_trip);
    tcase_add_test(tc, cursor_rejects_garbage);
    tcase_add_test(tc, snippet_escapes_then_marks);
    tcase_add_test(tc, validate_full_entry);
    tcase_add_test(tc, validate_reports_every_bad_field);
    tcase_add_test(tc, validate_partial_and_import);
    suite_add_tcase(s, tc);
    return s;
}

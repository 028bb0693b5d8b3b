/* test_smtp.c — unit tests of the e-mail message builder in clients/smtp.c: RFC 5322 headers and CRLF line
 * endings, RFC 2047 encoded-word subjects, quoted-printable bodies (decoded back and compared), refusal of
 * header injection, address and sender validation, SMTP_URL validation. No network. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/clients/smtp.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/utf8.h"

static const char *FROM = "AfterResume <noreply@localhost>";
static const char *MID = "<0123456789abcdef@localhost>";

/* The value of header `name` (unfolded: the CRLF before a folding space removed) from a message, heap; NULL when absent. */
static char *header_value(const char *msg, const char *name)
{
    const char *end = strstr(msg, "\r\n\r\n");
    size_t nlen = strlen(name);
    for (const char *line = msg; line && line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ') v++;
            ar_buf b = AR_BUF_INIT;
            for (;;) {
                const char *eol = strstr(v, "\r\n");
                ar_buf_append(&b, v, (size_t)(eol - v));
                if (eol[2] != ' ' && eol[2] != '\t') break;
                v = eol + 2;
            }
            return ar_buf_steal(&b);
        }
        if (line == end) break;
    }
    return NULL;
}

/* Decode a header value made of encoded words separated by spaces or folds (what the builder emits). */
static char *decode_words(const char *value)
{
    ar_buf out = AR_BUF_INIT;
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\r' || *p == '\n') p++;
        ck_assert_msg(strncmp(p, "=?UTF-8?B?", 10) == 0, "not an encoded word: %s", p);
        const char *start = p + 10, *stop = strstr(start, "?=");
        ck_assert_ptr_nonnull(stop);
        unsigned char bin[256];
        size_t bin_len = 0;
        ck_assert_int_eq(sodium_base642bin(bin, sizeof bin, start, (size_t)(stop - start), NULL, &bin_len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        ck_assert_msg(ar_utf8_valid((const char *)bin, bin_len), "an encoded word splits a UTF-8 character");
        ar_buf_append(&out, bin, bin_len);
        p = stop + 2;
    }
    return ar_buf_steal(&out);
}

/* Decode quoted-printable (soft breaks removed, =XX decoded, CRLF kept). */
static char *decode_qp(const char *s, size_t len)
{
    ar_buf out = AR_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=' && i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=') {
            ck_assert_msg(i + 2 < len, "truncated escape");
            char hex[3] = {s[i + 1], s[i + 2], 0};
            ar_buf_putc(&out, (char)strtol(hex, NULL, 16));
            i += 2;
        } else {
            ar_buf_putc(&out, s[i]);
        }
    }
    return ar_buf_steal(&out);
}

/* Every line of s ends with CRLF (no bare CR or LF) and is at most max characters long. */
static void assert_crlf_lines(const char *s, size_t max)
{
    size_t col = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\r') {
            ck_assert_msg(p[1] == '\n', "bare CR at offset %zu", (size_t)(p - s));
            p++;
            col = 0;
            continue;
        }
        ck_assert_msg(*p != '\n', "bare LF at offset %zu", (size_t)(p - s));
        col++;
        ck_assert_msg(col <= max, "line longer than %zu at offset %zu", max, (size_t)(p - s));
    }
}

START_TEST(date_is_rfc5322_utc)
{
    ar_buf b = AR_BUF_INIT;
    ar_smtp_put_date(&b, 0);
    ck_assert_str_eq(ar_buf_cstr(&b), "Thu, 01 Jan 1970 00:00:00 +0000");
    ar_buf_reset(&b);
    ar_smtp_put_date(&b, 1795550338); /* 2026-11-24 19:58:58 UTC */
    ck_assert_str_eq(ar_buf_cstr(&b), "Tue, 24 Nov 2026 19:58:58 +0000");
    ar_buf_free(&b);
}
END_TEST

START_TEST(message_headers_and_crlf)
{
    ar_error err = {0};
    char *m = ar_smtp_format_message(FROM, "ada@example.com", "Your weekly report", "Hello Ada,\nall good.\n", MID,
                                     1795550338, &err);
    ck_assert_ptr_nonnull(m);
    assert_crlf_lines(m, 998);
    const char *expected_head = "Date: Tue, 24 Nov 2026 19:58:58 +0000\r\n"
                                "From: AfterResume <noreply@localhost>\r\n"
                                "To: ada@example.com\r\n"
                                "Subject: Your weekly report\r\n"
                                "Message-ID: <0123456789abcdef@localhost>\r\n"
                                "MIME-Version: 1.0\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Transfer-Encoding: quoted-printable\r\n"
                                "Auto-Submitted: auto-generated\r\n"
                                "\r\n";
    ck_assert_int_eq(strncmp(m, expected_head, strlen(expected_head)), 0);
    ck_assert_str_eq(m + strlen(expected_head), "Hello Ada,\r\nall good.\r\n");
    ar_free(m);

    /* a body without a final line break still ends the message with CRLF */
    m = ar_smtp_format_message("noreply@localhost", "ada@example.com", "s", "no newline", MID, 0, &err);
    ck_assert_ptr_nonnull(m);
    char *from = header_value(m, "From");
    ck_assert_str_eq(from, "noreply@localhost");
    ck_assert_str_eq(strstr(m, "\r\n\r\n") + 4, "no newline\r\n");
    ar_free(from);
    ar_free(m);
}
END_TEST

START_TEST(subject_encoded_word_when_not_ascii)
{
    ar_error err = {0};
    const char *subject = "Résumé prêt ✓";
    char *m = ar_smtp_format_message(FROM, "ada@example.com", subject, "x", MID, 0, &err);
    ck_assert_ptr_nonnull(m);
    char *v = header_value(m, "Subject");
    ck_assert_str_eq(v, "=?UTF-8?B?UsOpc3Vtw6kgcHLDqnQg4pyT?=");
    char *decoded = decode_words(v);
    ck_assert_str_eq(decoded, subject);
    /* no raw 8-bit byte anywhere in the header section */
    for (const char *p = m; p < strstr(m, "\r\n\r\n"); p++) ck_assert_int_lt((unsigned char)*p, 0x80);
    ar_free(decoded);
    ar_free(v);
    ar_free(m);
}
END_TEST

START_TEST(long_subject_split_into_words)
{
    ar_buf subject = AR_BUF_INIT;
    for (int i = 0; i < 60; i++) ar_buf_puts(&subject, i % 3 ? "é" : "€"); /* 2- and 3-byte characters */
    ar_buf_puts(&subject, " and some ASCII to finish");
    ar_error err = {0};
    char *m = ar_smtp_format_message(FROM, "ada@example.com", ar_buf_cstr(&subject), "x", MID, 0, &err);
    ck_assert_ptr_nonnull(m);
    assert_crlf_lines(m, 78);
    char *v = header_value(m, "Subject");
    int words = 0;
    for (const char *p = v; (p = strstr(p, "=?UTF-8?B?")); p++) words++;
    ck_assert_int_ge(words, 4);
    /* each encoded word is at most 75 characters (RFC 2047 §2) */
    for (const char *p = v; *p;) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        ck_assert_uint_le(n, 75);
        p += n + (sp ? 1 : 0);
    }
    char *decoded = decode_words(v);
    ck_assert_str_eq(decoded, ar_buf_cstr(&subject));
    ar_free(decoded);
    ar_free(v);
    ar_free(m);
    ar_buf_free(&subject);
}
END_TEST

START_TEST(ascii_subject_kept_unless_ambiguous)
{
    ar_buf b = AR_BUF_INIT;
    ar_smtp_put_header_text(&b, "Plain words", 9);
    ck_assert_str_eq(ar_buf_cstr(&b), "Plain words");
    ar_buf_reset(&b);
    /* text that a reader would decode as an encoded word is encoded itself */
    ar_smtp_put_header_text(&b, "=?UTF-8?B?aGk=?=", 9);
    char *decoded = decode_words(ar_buf_cstr(&b));
    ck_assert_str_eq(decoded, "=?UTF-8?B?aGk=?=");
    ar_free(decoded);
    ar_buf_reset(&b);
    /* long ASCII is folded into words rather than one overlong line */
    char longtext[200];
    memset(longtext, 'a', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    ar_smtp_put_header_text(&b, longtext, 9);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&b), "\r\n "));
    decoded = decode_words(ar_buf_cstr(&b));
    ck_assert_str_eq(decoded, longtext);
    ar_free(decoded);
    ar_buf_free(&b);
}
END_TEST

START_TEST(quoted_printable_long_utf8_lines)
{
    ar_buf body = AR_BUF_INIT;
    for (int i = 0; i < 120; i++) ar_buf_puts(&body, "Zoë ✓ ");  /* one line of ~1000 bytes, UTF-8 */
    ar_buf_puts(&body, "\nsecond line with = sign and trailing space \n.leading dot\r\nCRLF line\t\n");
    ar_buf_puts(&body, "x");
    ar_buf qp = AR_BUF_INIT;
    ar_smtp_put_quoted_printable(&qp, body.data, body.len);
    assert_crlf_lines(ar_buf_cstr(&qp), 76);
    for (const char *p = ar_buf_cstr(&qp); *p; p++) ck_assert_int_lt((unsigned char)*p, 0x80);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&qp), "=3D sign"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&qp), "space=20\r\n"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&qp), "\r\n=2Eleading dot\r\n"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&qp), "CRLF line=09\r\n"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&qp), "Zo=C3=AB =E2=9C=93"));
    /* every '=' is a soft break or a whole =XX escape (none is split by a soft break) */
    for (const char *p = ar_buf_cstr(&qp); (p = strchr(p, '=')); p++) {
        int soft = p[1] == '\r' && p[2] == '\n';
        int escape = strchr("0123456789ABCDEF", p[1]) && p[1] && strchr("0123456789ABCDEF", p[2]) && p[2];
        ck_assert_msg(soft || escape, "broken escape at offset %zu", (size_t)(p - ar_buf_cstr(&qp)));
    }
    char *decoded = decode_qp(qp.data, qp.len);
    /* decoding gives the text back with CRLF line breaks */
    ar_buf expected = AR_BUF_INIT;
    for (size_t i = 0; i < body.len; i++) {
        if (body.data[i] == '\r' && body.data[i + 1] == '\n') continue;
        if (body.data[i] == '\n') ar_buf_puts(&expected, "\r\n");
        else ar_buf_putc(&expected, body.data[i]);
    }
    ck_assert_str_eq(decoded, ar_buf_cstr(&expected));
    ar_free(decoded);
    ar_buf_free(&expected);
    ar_buf_free(&qp);
    ar_buf_free(&body);
}
END_TEST

START_TEST(quoted_printable_line_length_edges)
{
    /* lines of every length around the limit, of plain and of escaped characters */
    for (int n = 70; n <= 160; n++) {
        for (int kind = 0; kind < 3; kind++) {
            ar_buf body = AR_BUF_INIT;
            for (int i = 0; i < n; i++) ar_buf_puts(&body, kind == 0 ? "a" : kind == 1 ? "=" : "é");
            ar_buf_puts(&body, "\n");
            ar_buf qp = AR_BUF_INIT;
            ar_smtp_put_quoted_printable(&qp, body.data, body.len);
            assert_crlf_lines(ar_buf_cstr(&qp), 76);
            char *decoded = decode_qp(qp.data, qp.len);
            ck_assert_uint_eq(strlen(decoded), body.len + 1);
            ck_assert_int_eq(memcmp(decoded, body.data, body.len - 1), 0);
            ar_free(decoded);
            ar_buf_free(&qp);
            ar_buf_free(&body);
        }
    }
}
END_TEST

START_TEST(header_injection_refused)
{
    ar_error err = {0};
    const char *bad_subjects[] = {"Hello\r\nBcc: victim@example.com", "Hello\nBcc: victim@example.com",
                                  "Hello\rX: y", "bell\a", "\xff\xfe not utf-8"};
    for (size_t i = 0; i < sizeof bad_subjects / sizeof *bad_subjects; i++) {
        ar_error_clear(&err);
        ck_assert_ptr_null(ar_smtp_format_message(FROM, "ada@example.com", bad_subjects[i], "x", MID, 0, &err));
        ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    }
    const char *bad_to[] = {"ada@example.com\r\nBcc: victim@example.com", "ada@example.com\n", "Ada <ada@example.com>",
                            "ada@example.com, eve@example.com"};
    for (size_t i = 0; i < sizeof bad_to / sizeof *bad_to; i++) {
        ar_error_clear(&err);
        ck_assert_ptr_null(ar_smtp_format_message(FROM, bad_to[i], "ok", "x", MID, 0, &err));
        ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    }
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_smtp_format_message(FROM, "ada@example.com", "ok", "\xc3(", MID, 0, &err));
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);

    /* through the client: refused before any connection (the port is closed anyway), as permanent */
    ar_smtp *s = ar_smtp_new("smtp://127.0.0.1:1", FROM, &err);
    ck_assert_ptr_nonnull(s);
    char mid[AR_SMTP_MESSAGE_ID_MAX];
    ck_assert_int_eq(ar_smtp_send(s, "ada@example.com", "Hi\r\nBcc: victim@example.com", "x", mid, sizeof mid, &err),
                     -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ck_assert_int_eq(ar_smtp_last_failure(s).temporary, 0);
    ck_assert_int_eq(ar_smtp_last_failure(s).reply_code, 0);
    ar_error_clear(&err);
    ar_smtp_free(s);
}
END_TEST

START_TEST(address_validation)
{
    const char *good[] = {"ada@example.com", "a.b+tag@sub.example.co.uk", "noreply@localhost", "x_y-z@a-b.c",
                          "o'brien@example.ie", "1@2.3"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) ck_assert_msg(ar_smtp_address_valid(good[i]), "%s", good[i]);
    char long_local[80];
    memset(long_local, 'a', 65);
    snprintf(long_local + 65, sizeof long_local - 65, "@example.com");
    const char *bad[] = {"", "ada", "@example.com", "ada@", "ada@@example.com", ".ada@example.com", "ada.@example.com",
                         "a..b@example.com", "ada@-example.com", "ada@example-.com", "ada@example..com",
                         "ada@.example.com", "ada@example.com.", "ad a@example.com", "ada@exa mple.com",
                         "\"ada\"@example.com", "zoë@example.com", "ada@exämple.com", "ada@example.com>",
                         "<ada@example.com>", "ada@[127.0.0.1]", long_local};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) ck_assert_msg(!ar_smtp_address_valid(bad[i]), "%s", bad[i]);
    ck_assert(!ar_smtp_address_valid(NULL));
}
END_TEST

START_TEST(sender_forms)
{
    char *addr, *name;
    ck_assert_int_eq(ar_smtp_parse_sender("AfterResume <noreply@localhost>", &addr, &name), 0);
    ck_assert_str_eq(addr, "noreply@localhost");
    ck_assert_str_eq(name, "AfterResume");
    ar_free(addr);
    ar_free(name);
    ck_assert_int_eq(ar_smtp_parse_sender("  noreply@example.com ", &addr, &name), 0);
    ck_assert_str_eq(addr, "noreply@example.com");
    ck_assert_str_eq(name, "");
    ar_free(addr);
    ar_free(name);
    ck_assert_int_eq(ar_smtp_parse_sender("\"Ops, Team\" <ops@example.com>", &addr, &name), 0);
    ck_assert_str_eq(name, "Ops, Team");
    ar_free(addr);
    ar_free(name);
    const char *bad[] = {"<noreply@localhost", "Name <bad>", "Name <a@b.c> x", "Na\"me <a@b.c>", "A\r\nB <a@b.c>",
                         "a@b.c <d@e.f> <g@h.i>", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(ar_smtp_parse_sender(bad[i], &addr, &name) == -1, "%s", bad[i]);
        ck_assert_ptr_null(addr);
    }

    /* display names: quoted when they hold specials, encoded when not ASCII */
    ar_error err = {0};
    char *m = ar_smtp_format_message("\"Ops, Team\" <ops@example.com>", "ada@example.com", "s", "b", MID, 0, &err);
    char *from = header_value(m, "From");
    ck_assert_str_eq(from, "\"Ops, Team\" <ops@example.com>");
    ar_free(from);
    ar_free(m);
    m = ar_smtp_format_message("Équipe AfterResume <ops@example.com>", "ada@example.com", "s", "b", MID, 0, &err);
    from = header_value(m, "From");
    ck_assert_str_eq(from, "=?UTF-8?B?w4lxdWlwZSBBZnRlclJlc3VtZQ==?= <ops@example.com>");
    ar_free(from);
    ar_free(m);
}
END_TEST

START_TEST(smtp_url_validation)
{
    ar_error err = {0};
    const char *good[] = {"smtp://127.0.0.1:2525", "smtps://user:secret@mail.example.com:465",
                          "smtp://user:p%40ss@mail.example.com:587?tls=required", "smtp://localhost?tls=none"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ar_smtp *s = ar_smtp_new(good[i], FROM, &err);
        ck_assert_msg(s != NULL, "%s: %s", good[i], err.message);
        ar_smtp_free(s);
    }
    const char *bad[] = {"http://user:hunter2@example.com", "smtp://", "not a url", "smtp://host?tls=maybe",
                         "smtps://host?tls=none", "file:///etc/passwd"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ar_error_clear(&err);
        ck_assert_msg(ar_smtp_new(bad[i], FROM, &err) == NULL, "%s", bad[i]);
        ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
        ck_assert_ptr_null(strstr(err.message, "hunter2")); /* the password never shows in messages */
    }
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_smtp_new("smtp://localhost", "not an address", &err));
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_ptr_null(ar_smtp_new("smtp://localhost", NULL, &err));
    ar_error_clear(&err);
}
END_TEST

Suite *smtp_suite(void)
{
    Suite *s = suite_create("smtp");
    TCase *tc = tcase_create("message");
    tcase_add_test(tc, date_is_rfc5322_utc);
    tcase_add_test(tc, message_headers_and_crlf);
    tcase_add_test(tc, subject_encoded_word_when_not_ascii);
    tcase_add_test(tc, long_subject_split_into_words);
    tcase_add_test(tc, ascii_subject_kept_unless_ambiguous);
    tcase_add_test(tc, quoted_printable_long_utf8_lines);
    tcase_add_test(tc, quoted_printable_line_length_edges);
    tcase_add_test(tc, header_injection_refused);
    tcase_add_test(tc, address_validation);
    tcase_add_test(tc, sender_forms);
    tcase_add_test(tc, smtp_url_validation);
    suite_add_tcase(s, tc);
    return s;
}

/* test_sniff.c — unit tests for upload content sniffing (storage/sniff.h): magic bytes of every accepted type,
 * extension/content mismatches, text vs binary (UTF-8, NUL, overlongs, surrogates, split sequences), docx vs
 * xlsx vs plain zip built with the real ZIP writer and fed in every chunk size, plus the download filename
 * encoding (Content-Disposition) and object-storage key rules. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/zip.h"
#include "afterresume/http/response.h"
#include "afterresume/storage/objects.h"
#include "afterresume/storage/sniff.h"

static const unsigned char PNG[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
static const unsigned char JPEG[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0};
static const unsigned char WEBP[] = {'R', 'I', 'F', 'F', 0x24, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', ' '};

/* Feed in chunks of `chunk` bytes. */
static ar_filetype sniff_chunked(const void *data, size_t len, size_t chunk)
{
    ar_sniffer s;
    ar_sniff_init(&s);
    const unsigned char *p = data;
    for (size_t off = 0; off < len; off += chunk) ar_sniff_feed(&s, p + off, len - off < chunk ? len - off : chunk);
    return ar_sniff_finish(&s);
}

START_TEST(magic_bytes_of_every_type)
{
    static const char pdf[] = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj";
    ck_assert_int_eq(ar_sniff_buffer(pdf, sizeof pdf - 1), AR_FILETYPE_PDF);
    ck_assert_int_eq(ar_sniff_buffer(PNG, sizeof PNG), AR_FILETYPE_PNG);
    ck_assert_int_eq(ar_sniff_buffer(JPEG, sizeof JPEG), AR_FILETYPE_JPEG);
    ck_assert_int_eq(ar_sniff_buffer("GIF89a\x01\x00\x01\x00\x80\x00", 12), AR_FILETYPE_GIF);
    ck_assert_int_eq(ar_sniff_buffer("GIF87a\x01\x00\x01\x00", 10), AR_FILETYPE_GIF);
    ck_assert_int_eq(ar_sniff_buffer(WEBP, sizeof WEBP), AR_FILETYPE_WEBP);
    ck_assert_int_eq(ar_sniff_buffer("hello, world\n", 13), AR_FILETYPE_TEXT);
    ck_assert_int_eq(ar_sniff_buffer("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22), AR_FILETYPE_ZIP);
    /* near misses */
    ck_assert_int_eq(ar_sniff_buffer("RIFF\x24\0\0\0WAVEfmt ", 16), AR_FILETYPE_UNKNOWN); /* RIFF, not WEBP */
    ck_assert_int_eq(ar_sniff_buffer("\x89PNG\r\n", 6), AR_FILETYPE_UNKNOWN); /* cut short: not a PNG, not text */
    ck_assert_int_eq(ar_sniff_buffer("", 0), AR_FILETYPE_UNKNOWN);
    /* every type survives byte-by-byte feeding */
    ck_assert_int_eq(sniff_chunked(PNG, sizeof PNG, 1), AR_FILETYPE_PNG);
    ck_assert_int_eq(sniff_chunked(WEBP, sizeof WEBP, 3), AR_FILETYPE_WEBP);
    ck_assert_int_eq(sniff_chunked("%PDF-1.4 x", 10, 1), AR_FILETYPE_PDF);
}
END_TEST

START_TEST(text_versus_binary)
{
    const char *ok[] = {"plain ascii", "caf\xc3\xa9 na\xc3\xafve", "\xe2\x82\xac 100", "emoji \xf0\x9f\x98\x80",
                        ("\xef\xbb\xbf" "BOM first"), "a,b,c\r\n1,2,3\r\n", "# Title\n\n* item\n"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ck_assert_msg(ar_sniff_buffer(ok[i], strlen(ok[i])) == AR_FILETYPE_TEXT, "should be text: %zu", i);
        for (size_t c = 1; c <= 3; c++) ck_assert_int_eq(sniff_chunked(ok[i], strlen(ok[i]), c), AR_FILETYPE_TEXT);
    }
    /* NUL, invalid bytes, overlongs, surrogates, beyond U+10FFFF, truncated sequences */
    struct {
        const char *s;
        size_t n;
    } bad[] = {{"nul\0inside", 10},    {"\xff\xfe" "abc", 5},   {"\xc0\xaf", 2},           {"\xe0\x80\xaf", 3},
               {"\xed\xa0\x80", 3},    {"\xf4\x90\x80\x80", 4}, {"cut \xe2\x82", 6},       {"\x80 lone", 6},
               {"\xf8\x88\x80\x80\x80", 5}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(ar_sniff_buffer(bad[i].s, bad[i].n) == AR_FILETYPE_UNKNOWN, "should be binary: %zu", i);
        ck_assert_int_eq(sniff_chunked(bad[i].s, bad[i].n, 1), AR_FILETYPE_UNKNOWN);
    }
}
END_TEST

static int buf_sink(void *arg, const void *data, size_t len, ar_error *err)
{
    (void)err;
    ar_buf_append(arg, data, len);
    return 0;
}

/* A real archive with the given entries (each with some compressible content). */
static void make_zip(ar_buf *out, const char *const *names)
{
    ar_zip *z = ar_zip_new_sink(buf_sink, out);
    ar_error err = {0};
    char content[4096];
    for (size_t i = 0; i < sizeof content; i++) content[i] = (char)('a' + (i * 7) % 26);
    for (; *names; names++) ck_assert_int_eq(ar_zip_add(z, *names, content, sizeof content, 1700000000, &err), 0);
    uint64_t total = 0;
    ck_assert_int_eq(ar_zip_close(z, &total, &err), 0);
    ck_assert_uint_eq(total, out->len);
}

START_TEST(docx_xlsx_and_plain_zip)
{
    const char *docx[] = {"[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/styles.xml", NULL};
    const char *xlsx[] = {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml", NULL};
    const char *plain[] = {"notes.txt", "photos/a.png", NULL};
    const char *no_types[] = {"word/document.xml", NULL};   /* no [Content_Types].xml: just a zip */
    const char *both[] = {"[Content_Types].xml", "word/document.xml", "xl/workbook.xml", NULL};
    struct {
        const char *const *names;
        ar_filetype want;
    } cases[] = {{docx, AR_FILETYPE_DOCX}, {xlsx, AR_FILETYPE_XLSX}, {plain, AR_FILETYPE_ZIP},
                 {no_types, AR_FILETYPE_ZIP}, {both, AR_FILETYPE_ZIP}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ar_buf z = AR_BUF_INIT;
        make_zip(&z, cases[i].names);
        ck_assert_int_eq(ar_sniff_buffer(z.data, z.len), cases[i].want);
        /* the entry names straddle chunk boundaries at every offset */
        for (size_t chunk = 1; chunk <= 64; chunk++)
            ck_assert_msg(sniff_chunked(z.data, z.len, chunk) == cases[i].want, "case %zu chunk %zu", i, chunk);
        ck_assert_int_eq(sniff_chunked(z.data, z.len, 1000), cases[i].want);
        ar_buf_free(&z);
    }
}
END_TEST

START_TEST(extension_allow_list_and_agreement)
{
    ck_assert_int_eq(ar_filetype_from_filename("report.PDF", 0), AR_FILETYPE_PDF);
    ck_assert_int_eq(ar_filetype_from_filename("shot.jpeg", 0), AR_FILETYPE_JPEG);
    ck_assert_int_eq(ar_filetype_from_filename("shot.JPG", 0), AR_FILETYPE_JPEG);
    ck_assert_int_eq(ar_filetype_from_filename("notes.md", 0), AR_FILETYPE_TEXT);
    ck_assert_int_eq(ar_filetype_from_filename("data.csv", 0), AR_FILETYPE_TEXT);
    ck_assert_int_eq(ar_filetype_from_filename("cv.docx", 0), AR_FILETYPE_DOCX);
    ck_assert_int_eq(ar_filetype_from_filename("sheet.xlsx", 0), AR_FILETYPE_XLSX);
    ck_assert_int_eq(ar_filetype_from_filename("bundle.zip", 0), AR_FILETYPE_UNKNOWN); /* zip off by default */
    ck_assert_int_eq(ar_filetype_from_filename("bundle.zip", 1), AR_FILETYPE_ZIP);
    ck_assert_int_eq(ar_filetype_from_filename("evil.exe", 1), AR_FILETYPE_UNKNOWN);
    ck_assert_int_eq(ar_filetype_from_filename("page.html", 1), AR_FILETYPE_UNKNOWN);
    ck_assert_int_eq(ar_filetype_from_filename("noext", 1), AR_FILETYPE_UNKNOWN);
    ck_assert_int_eq(ar_filetype_from_filename(".pdf", 1), AR_FILETYPE_UNKNOWN);
    ck_assert_int_eq(ar_filetype_from_filename("x.pdf.exe", 1), AR_FILETYPE_UNKNOWN);

    /* a .pdf that is really a PNG, a .png that is text, a .docx that is an xlsx: refused */
    ck_assert(!ar_filetype_agrees(AR_FILETYPE_PDF, AR_FILETYPE_PNG));
    ck_assert(!ar_filetype_agrees(AR_FILETYPE_PNG, AR_FILETYPE_TEXT));
    ck_assert(!ar_filetype_agrees(AR_FILETYPE_DOCX, AR_FILETYPE_XLSX));
    ck_assert(!ar_filetype_agrees(AR_FILETYPE_DOCX, AR_FILETYPE_ZIP));
    ck_assert(!ar_filetype_agrees(AR_FILETYPE_TEXT, AR_FILETYPE_UNKNOWN));
    ck_assert(!ar_filetype_agrees(AR_FILETYPE_UNKNOWN, AR_FILETYPE_UNKNOWN));
    ck_assert(ar_filetype_agrees(AR_FILETYPE_PDF, AR_FILETYPE_PDF));
    ck_assert(ar_filetype_agrees(AR_FILETYPE_ZIP, AR_FILETYPE_DOCX)); /* .zip holding a docx is still a zip */
    ck_assert(ar_filetype_agrees(AR_FILETYPE_TEXT, AR_FILETYPE_TEXT));

    ck_assert_str_eq(ar_filetype_mime(AR_FILETYPE_TEXT, "a.md"), "text/markdown; charset=utf-8");
    ck_assert_str_eq(ar_filetype_mime(AR_FILETYPE_TEXT, "a.CSV"), "text/csv; charset=utf-8");
    ck_assert_str_eq(ar_filetype_mime(AR_FILETYPE_JPEG, "a.jpg"), "image/jpeg");
    ck_assert(ar_filetype_is_image(AR_FILETYPE_WEBP));
    ck_assert(!ar_filetype_is_image(AR_FILETYPE_PDF));
}
END_TEST

START_TEST(content_disposition_encoding)
{
    struct {
        const char *name, *want;
    } cases[] = {
        {"report.pdf", "attachment; filename=\"report.pdf\""},
        {"Résumé 2024.pdf", "attachment; filename=\"R_sum_ 2024.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024.pdf"},
        {"a\"b\\c;d%e.txt", "attachment; filename=\"a_b_c_d_e.txt\"; filename*=UTF-8''a%22b%5Cc%3Bd%25e.txt"},
        {"line\r\nSet-Cookie: x.txt",
         "attachment; filename=\"line__Set-Cookie: x.txt\"; filename*=UTF-8''line__Set-Cookie%3A%20x.txt"},
        {"日本.png", "attachment; filename=\"__.png\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png"},
        {"", "attachment; filename=\"download\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ar_buf b = AR_BUF_INIT;
        ar_content_disposition(&b, "attachment", cases[i].name);
        ck_assert_str_eq(ar_buf_cstr(&b), cases[i].want);
        ck_assert_ptr_null(strpbrk(ar_buf_cstr(&b), "\r\n"));
        ar_buf_free(&b);
    }
}
END_TEST

START_TEST(object_keys)
{
    char *k = ar_storage_new_key(42, "att");
    ck_assert(strncmp(k, "t/42/att/", 9) == 0);
    ck_assert_uint_eq(strlen(k), 9 + 32);
    ck_assert(ar_storage_key_valid(k));
    char *k2 = ar_storage_new_key(42, "att");
    ck_assert_str_ne(k, k2);
    free(k);
    free(k2);
    ck_assert(!ar_storage_key_valid("../etc/passwd"));
    ck_assert(!ar_storage_key_valid("/abs"));
    ck_assert(!ar_storage_key_valid("a//b"));
    ck_assert(!ar_storage_key_valid("a/./b"));
    ck_assert(!ar_storage_key_valid(".tmp/x"));
    ck_assert(!ar_storage_key_valid("a/b c"));
    ck_assert(!ar_storage_key_valid(""));
    ck_assert(ar_storage_key_valid("t/1/att/abc.def-ghi_j"));
}
END_TEST

/* The local backend end to end: streamed put, readers, abort leaves nothing, delete is idempotent. */
START_TEST(local_backend_round_trip)
{
    char dir[] = "/tmp/ar_sniff_objects_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ar_error err = {0};
    ar_storage *st = ar_storage_local_new(dir, &err);
    ck_assert_ptr_nonnull(st);
    ck_assert_str_eq(ar_storage_backend_name(st), "local");
    ck_assert_int_eq(ar_storage_check(st, &err), 0);
    ar_storage_writer *w = ar_storage_put_begin(st, "t/1/att/abc", "text/plain", &err);
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < 1000; i++) ck_assert_int_eq(ar_storage_put_write(w, "0123456789", 10, &err), 0);
    ck_assert_int_eq(ar_storage_stat(st, "t/1/att/abc", NULL, &err), -1); /* not visible before commit */
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    ar_storage_object obj;
    ck_assert_int_eq(ar_storage_put_commit(w, &obj, &err), 0);
    ck_assert_int_eq(obj.size, 10000);
    ck_assert_uint_eq(strlen(obj.sha256), 64);
    long long size = 0;
    ck_assert_int_eq(ar_storage_stat(st, "t/1/att/abc", &size, &err), 0);
    ck_assert_int_eq(size, 10000);
    ar_storage_reader *r = ar_storage_get(st, "t/1/att/abc", &err);
    ck_assert_ptr_nonnull(r);
    char buf[4096];
    long long total = 0;
    ssize_t n;
    while ((n = ar_storage_read(r, buf, sizeof buf, &err)) > 0) total += n;
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(total, 10000);
    ar_storage_reader_close(r);

    w = ar_storage_put_begin(st, "t/1/att/gone", NULL, &err);
    ck_assert_int_eq(ar_storage_put_write(w, "x", 1, &err), 0);
    ar_storage_put_abort(w);
    ck_assert_ptr_null(ar_storage_get(st, "t/1/att/gone", &err));
    ck_assert_int_eq(err.code, AR_ERR_NOT_FOUND);
    ar_error_clear(&err);
    char tmpdir[256];
    snprintf(tmpdir, sizeof tmpdir, "%s/.tmp", dir);
    ck_assert_int_eq(rmdir(tmpdir), 0); /* empty: the aborted temp file is gone */
    ck_assert_int_eq(mkdir(tmpdir, 0700), 0);

    ck_assert_int_eq(ar_storage_delete(st, "t/1/att/abc", &err), 0);
    ck_assert_int_eq(ar_storage_delete(st, "t/1/att/abc", &err), 0);
    ck_assert_ptr_null(ar_storage_put_begin(st, "../escape", NULL, &err));
    ck_assert_int_eq(err.code, AR_ERR_BAD_REQUEST);
    ar_error_clear(&err);
    ar_storage_free(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *sniff_suite(void)
{
    Suite *s = suite_create("sniff");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, magic_bytes_of_every_type);
    tcase_add_test(tc, text_versus_binary);
    tcase_add_test(tc, docx_xlsx_and_plain_zip);
    tcase_add_test(tc, extension_allow_list_and_agreement);
    tcase_add_test(tc, content_disposition_encoding);
    tcase_add_test(tc, object_keys);
    tcase_add_test(tc, local_backend_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

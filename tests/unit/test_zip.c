/* test_zip.c — the streaming ZIP writer, checked by an independent reader: each archive is opened by Python's
 * zipfile (testzip() re-reads every entry and checks its CRC-32), and every entry's size, SHA-256, UTF-8 flag
 * and compression method are compared with what was written. Also: names that must be refused, duplicate
 * names, a sink that fails (sticky error), >65,535 entries (ZIP64 end records), an entry past 4 GiB and an entry
 * whose offset is past 4 GiB (ZIP64 data descriptor and extra fields; written sparse, so no disk is used). */
#include <check.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/zip.h"

static const char *checker =
    "import hashlib, json, sys, zipfile\n"
    "path, manifest = sys.argv[1], json.load(open(sys.argv[2], encoding='utf-8'))\n"
    "with zipfile.ZipFile(path) as z:\n"
    "    bad = z.testzip()\n"
    "    assert bad is None, 'corrupt entry: %r' % bad\n"
    "    infos = z.infolist()\n"
    "    assert len(infos) == manifest['count'], 'entries %d != %d' % (len(infos), manifest['count'])\n"
    "    names = [i.filename for i in infos]\n"
    "    assert len(set(names)) == len(names), 'duplicate names'\n"
    "    for name, want in manifest['entries'].items():\n"
    "        i = z.getinfo(name)\n"
    "        data = z.read(name)\n"
    "        assert len(data) == want['size'] == i.file_size, (name, len(data), want['size'], i.file_size)\n"
    "        assert hashlib.sha256(data).hexdigest() == want['sha256'], 'content of %r differs' % name\n"
    "        assert bool(i.flag_bits & 0x800) == any(ord(c) > 127 for c in name), 'utf-8 flag of %r' % name\n"
    "        assert i.compress_type == want['method'], (name, i.compress_type)\n"
    "        assert i.is_dir() == name.endswith('/'), name\n"
    "print('ok', len(infos))\n";

typedef struct manifest {
    json_t *entries;
    int count;
} manifest;

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

static void expect(manifest *m, const char *name, const void *data, size_t len, int method)
{
    char hex[65];
    sha256_hex(data, len, hex);
    json_object_set_new(m->entries, name, json_pack("{s:I,s:s,s:i}", "size", (json_int_t)len, "sha256", hex, "method", method));
}

/* Run the Python checker on the archive; returns its exit status and puts its output in out. */
static int python_check(const char *zip_path, manifest *m, char *out, size_t out_size)
{
    char script[] = "/tmp/ar_zipcheck_XXXXXX";
    char mpath[] = "/tmp/ar_zipmanifest_XXXXXX";
    int fd = mkstemp(script);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, checker, strlen(checker)), (ssize_t)strlen(checker));
    close(fd);
    fd = mkstemp(mpath);
    ck_assert_int_ge(fd, 0);
    json_t *doc = json_pack("{s:O,s:i}", "entries", m->entries, "count", m->count);
    ck_assert_int_eq(json_dumpfd(doc, fd, 0), 0);
    json_decref(doc);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 %s %s %s 2>&1", script, zip_path, mpath);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, out_size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(script);
    unlink(mpath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static FILE *temp_zip(char *path)
{
    strcpy(path, "/tmp/ar_ziptest_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w+b");
    ck_assert_ptr_nonnull(f);
    return f;
}

START_TEST(names_are_checked)
{
    const char *good[] = {"a", "a.txt", "dir/", "dir/file.json", "évidence/名前.txt", "a..b", ".hidden", "x/..y/z"};
    const char *bad[] = {"", "/etc/passwd", "../up", "a/../b", "a/./b", "./a", "a//b", "a\\b", "C:x", "c:/x",
                         "a\tb", "bad\xff", "..", ".", "a/..", "/"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) ck_assert_msg(ar_zip_name_valid(good[i]), "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) ck_assert_msg(!ar_zip_name_valid(bad[i]), "%s", bad[i]);
    char longname[1100];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert(!ar_zip_name_valid(longname));
    ck_assert(!ar_zip_name_valid(NULL));
}
END_TEST

START_TEST(archive_read_back_by_python)
{
    char path[64], out[4096];
    FILE *f = temp_zip(path);
    ar_zip *z = ar_zip_new_file(f);
    ar_error err = {0};
    manifest m = {json_object(), 0};

    const char *hello = "Hello, archive!\n";
    ck_assert_int_eq(ar_zip_add(z, "hello.txt", hello, strlen(hello), 0, &err), 0);
    expect(&m, "hello.txt", hello, strlen(hello), 8), m.count++;
    ck_assert_int_eq(ar_zip_add(z, "empty.txt", "", 0, 0, &err), 0);
    expect(&m, "empty.txt", "", 0, 8), m.count++;
    ck_assert_int_eq(ar_zip_begin(z, "files/", 0, AR_ZIP_DEFLATE, &err), 0);
    expect(&m, "files/", "", 0, 0), m.count++;
    const char *uni = "{\"title\":\"Größe — 日本語\"}";
    ck_assert_int_eq(ar_zip_add(z, "files/évidence 名前.json", uni, strlen(uni), 1700000000, &err), 0);
    expect(&m, "files/évidence 名前.json", uni, strlen(uni), 8), m.count++;

    /* 1.5 MiB of random bytes, written in uneven chunks, deflated; and the same stored */
    size_t big = 1536 * 1024 + 17;
    unsigned char *rnd = malloc(big);
    randombytes_buf(rnd, big);
    ck_assert_int_eq(ar_zip_begin(z, "files/random.bin", 0, AR_ZIP_DEFLATE, &err), 0);
    for (size_t off = 0; off < big;) {
        size_t n = big - off < 70001 ? big - off : 70001;
        ck_assert_int_eq(ar_zip_write(z, rnd + off, n, &err), 0);
        off += n;
    }
    expect(&m, "files/random.bin", rnd, big, 8), m.count++;
    ck_assert_int_eq(ar_zip_begin(z, "files/random-stored.bin", 0, AR_ZIP_STORE, &err), 0);
    ck_assert_int_eq(ar_zip_write(z, rnd, big, &err), 0);
    expect(&m, "files/random-stored.bin", rnd, big, 0), m.count++;
    /* 2 MiB of repetitive text compresses */
    ar_buf text = AR_BUF_INIT;
    while (text.len < 2 * 1024 * 1024) ar_buf_puts(&text, "worklog entry: shipped the thing, measured the impact.\n");
    uint64_t before = ar_zip_bytes(z);
    ck_assert_int_eq(ar_zip_add(z, "entries.txt", text.data, text.len, 0, &err), 0);
    ck_assert_uint_lt(ar_zip_bytes(z) - before, text.len / 10);
    expect(&m, "entries.txt", text.data, text.len, 8), m.count++;

    /* refused: a duplicate, an unsafe name, data for a directory; the archive stays usable */
    ck_assert_int_eq(ar_zip_add(z, "hello.txt", "x", 1, 0, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_zip_begin(z, "../escape", 0, AR_ZIP_DEFLATE, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_VALIDATION);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_zip_begin(z, "dir2/", 0, AR_ZIP_DEFLATE, &err), 0);
    expect(&m, "dir2/", "", 0, 0), m.count++;
    ck_assert_int_eq(ar_zip_write(z, "x", 1, &err), -1);
    ar_error_clear(&err);
    ck_assert_uint_eq(ar_zip_entries(z), (uint64_t)m.count);

    uint64_t total = 0;
    ck_assert_int_eq(ar_zip_close(z, &total, &err), 0);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    ck_assert_uint_eq((uint64_t)ftell(f), total);
    fclose(f);
    int rc = python_check(path, &m, out, sizeof out);
    ck_assert_msg(rc == 0, "python zipfile: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "ok 8"));
    /* Info-ZIP's unzip -t agrees, when it is installed */
    if (system("command -v unzip >/dev/null 2>&1") == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "unzip -tq %s >/dev/null 2>&1", path);
        ck_assert_int_eq(system(cmd), 0);
    }
    unlink(path);
    free(rnd);
    ar_buf_free(&text);
    json_decref(m.entries);
}
END_TEST

START_TEST(empty_archive)
{
    char path[64], out[1024];
    FILE *f = temp_zip(path);
    ar_error err = {0};
    uint64_t total = 0;
    ck_assert_int_eq(ar_zip_close(ar_zip_new_file(f), &total, &err), 0);
    ck_assert_uint_eq(total, 22); /* only the end-of-central-directory record */
    fclose(f);
    manifest m = {json_object(), 0};
    ck_assert_msg(python_check(path, &m, out, sizeof out) == 0, "%s", out);
    unlink(path);
    json_decref(m.entries);
}
END_TEST

/* A sink into memory, failing after `limit` bytes. */
typedef struct mem_sink {
    ar_buf buf;
    size_t limit;
    int calls;
} mem_sink;

static int to_memory(void *arg, const void *data, size_t len, ar_error *err)
{
    mem_sink *s = arg;
    s->calls++;
    if (s->buf.len + len > s->limit) return ar_error_set(err, AR_ERR_UNAVAILABLE, "disk full"), -1;
    ar_buf_append(&s->buf, data, len);
    return 0;
}

START_TEST(sink_output_and_sticky_errors)
{
    /* into memory: the same bytes as a valid archive */
    mem_sink s = {AR_BUF_INIT, 1 << 20, 0};
    ar_error err = {0};
    ar_zip *z = ar_zip_new_sink(to_memory, &s);
    ck_assert_int_eq(ar_zip_add(z, "a.txt", "aaaa", 4, 0, &err), 0);
    uint64_t total = 0;
    ck_assert_int_eq(ar_zip_close(z, &total, &err), 0);
    ck_assert_uint_eq(total, s.buf.len);
    char path[64], out[1024];
    FILE *f = temp_zip(path);
    ck_assert_uint_eq(fwrite(s.buf.data, 1, s.buf.len, f), s.buf.len);
    fclose(f);
    manifest m = {json_object(), 1};
    expect(&m, "a.txt", "aaaa", 4, 8);
    ck_assert_msg(python_check(path, &m, out, sizeof out) == 0, "%s", out);
    unlink(path);
    json_decref(m.entries);
    ar_buf_free(&s.buf);

    /* a sink that fails: the first error sticks and close reports it */
    mem_sink bad = {AR_BUF_INIT, 100, 0};
    z = ar_zip_new_sink(to_memory, &bad);
    unsigned char block[4096];
    randombytes_buf(block, sizeof block);
    ck_assert_int_eq(ar_zip_begin(z, "b.bin", 0, AR_ZIP_STORE, &err), 0);
    ck_assert_int_eq(ar_zip_write(z, block, sizeof block, &err), -1);
    ck_assert_str_eq(err.message, "disk full");
    ar_error_clear(&err);
    int calls = bad.calls;
    ck_assert_int_eq(ar_zip_add(z, "c.txt", "c", 1, 0, &err), -1);
    ck_assert_int_eq(bad.calls, calls); /* nothing more reaches the sink */
    ar_error_clear(&err);
    ck_assert_int_eq(ar_zip_close(z, NULL, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ar_error_clear(&err);
    ar_buf_free(&bad.buf);
    ar_zip_abort(NULL);
}
END_TEST

START_TEST(many_entries_use_zip64_end_records)
{
    char path[64], out[1024];
    FILE *f = temp_zip(path);
    ar_zip *z = ar_zip_new_file(f);
    ar_error err = {0};
    manifest m = {json_object(), 0};
    const int n = 70000;
    for (int i = 0; i < n; i++) {
        char name[64], body[64];
        snprintf(name, sizeof name, "entries/%05d.txt", i);
        int len = snprintf(body, sizeof body, "entry %d", i);
        ck_assert_int_eq(ar_zip_add(z, name, body, (size_t)len, 0, &err), 0);
        if (i % 9973 == 0 || i == n - 1) expect(&m, name, body, (size_t)len, 8);
    }
    m.count = n;
    ck_assert_int_eq(ar_zip_add(z, "entries/00042.txt", "dup", 3, 0, &err), -1); /* duplicates found by hash */
    ar_error_clear(&err);
    uint64_t total = 0;
    ck_assert_int_eq(ar_zip_close(z, &total, &err), 0);
    fclose(f);
    /* the ZIP64 end-of-central-directory locator sits 20 + 22 bytes before the end */
    f = fopen(path, "rb");
    unsigned char tail[42];
    ck_assert_int_eq(fseek(f, -42, SEEK_END), 0);
    ck_assert_uint_eq(fread(tail, 1, sizeof tail, f), sizeof tail);
    fclose(f);
    ck_assert(tail[0] == 0x50 && tail[1] == 0x4b && tail[2] == 0x06 && tail[3] == 0x07);
    ck_assert(tail[28] == 0xff && tail[29] == 0xff); /* 16-bit entry count saturated */
    int rc = python_check(path, &m, out, sizeof out);
    ck_assert_msg(rc == 0, "python zipfile: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "ok 70000"));
    unlink(path);
    json_decref(m.entries);
}
END_TEST

/* A sink into a file that turns the writes of one static zero block into holes: a 4 GiB entry costs no disk. */
static unsigned char zero_block[1 << 20];

typedef struct sparse_sink {
    int fd;
} sparse_sink;

static int to_sparse_file(void *arg, const void *data, size_t len, ar_error *err)
{
    sparse_sink *s = arg;
    const unsigned char *p = data;
    if (p >= zero_block && p + len <= zero_block + sizeof zero_block) {
        if (lseek(s->fd, (off_t)len, SEEK_CUR) < 0) return ar_error_set(err, AR_ERR_UNAVAILABLE, "lseek"), -1;
        return 0;
    }
    while (len > 0) {
        ssize_t n = write(s->fd, p, len);
        if (n <= 0) return ar_error_set(err, AR_ERR_UNAVAILABLE, "write"), -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *big_checker =
    "import sys, zipfile\n"
    "z = zipfile.ZipFile(sys.argv[1])\n"
    "big = z.getinfo('big/zeros.bin')\n"
    "assert big.file_size == int(sys.argv[2]) and big.compress_type == 0, (big.file_size, big.compress_type)\n"
    "n = 0\n"
    "with z.open(big) as f:\n"
    "    while True:\n"
    "        b = f.read(1 << 24)\n"
    "        if not b: break\n"
    "        assert not b.strip(b'\\0'), 'non-zero byte'\n"
    "        n += len(b)\n"
    "assert n == big.file_size\n"
    "after = z.getinfo('after.txt')\n"
    "assert after.header_offset > 2**32, after.header_offset\n"
    "assert z.read('after.txt') == b'after the big one'\n"
    "print('ok', len(z.infolist()), big.file_size)\n"; /* reading to the end checked the CRC-32 */

START_TEST(entries_past_4gib_use_zip64)
{
    char path[64], script[] = "/tmp/ar_zipbig_XXXXXX", out[2048];
    strcpy(path, "/tmp/ar_ziptest_XXXXXX");
    sparse_sink s = {mkstemp(path)};
    ck_assert_int_ge(s.fd, 0);
    ar_zip *z = ar_zip_new_sink(to_sparse_file, &s);
    ar_error err = {0};
    const uint64_t big = (4ull << 30) + (1u << 20) + 5;
    ck_assert_int_eq(ar_zip_add(z, "first.txt", "first", 5, 0, &err), 0);
    ck_assert_int_eq(ar_zip_begin(z, "big/zeros.bin", 0, AR_ZIP_STORE, &err), 0);
    for (uint64_t left = big; left > 0;) {
        size_t n = left > sizeof zero_block ? sizeof zero_block : (size_t)left;
        ck_assert_int_eq(ar_zip_write(z, zero_block, n, &err), 0);
        left -= n;
    }
    ck_assert_int_eq(ar_zip_add(z, "after.txt", "after the big one", 17, 0, &err), 0);
    uint64_t total = 0;
    ck_assert_int_eq(ar_zip_close(z, &total, &err), 0);
    ck_assert_uint_gt(total, big);
    ck_assert_int_eq(lseek(s.fd, 0, SEEK_END), (off_t)total);
    close(s.fd);
    int fd = mkstemp(script);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, big_checker, strlen(big_checker)), (ssize_t)strlen(big_checker));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 %s %s %llu 2>&1", script, path, (unsigned long long)big);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(script);
    unlink(path);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "python zipfile: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "ok 3"));
}
END_TEST

Suite *zip_suite(void)
{
    Suite *s = suite_create("zip");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300); /* the 4 GiB entry: a few seconds of CRC-32 on an idle machine */
    tcase_add_test(tc, names_are_checked);
    tcase_add_test(tc, archive_read_back_by_python);
    tcase_add_test(tc, empty_archive);
    tcase_add_test(tc, sink_output_and_sticky_errors);
    tcase_add_test(tc, many_entries_use_zip64_end_records);
    tcase_add_test(tc, entries_past_4gib_use_zip64);
    suite_add_tcase(s, tc);
    return s;
}

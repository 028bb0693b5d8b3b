/* test_template.c — unit tests for the Mustache engine: the official spec suite (every case of every JSON
 * file in AR_MUSTACHE_SPEC_DIR), HTML escaping, syntax errors with line numbers, loading a template
 * directory with layouts/blocks/partials, unknown-partial checks, concurrent rendering and recursion
 * limits on hostile input. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/render/escape.h"
#include "afterresume/render/template.h"

static const char *spec_dir(void)
{
    const char *d = getenv("AR_MUSTACHE_SPEC_DIR");
    return d && d[0] ? d : "../shared/testdata/mustache-spec";
}

/* Render `source` (with optional partials given as name, source pairs, NULL-terminated) against JSON text. */
static char *render_with_partials(const char *source, const char *data_json, const char *const *partials)
{
    ar_templates *set = ar_templates_new();
    char *err = NULL;
    for (size_t i = 0; partials && partials[i]; i += 2) {
        ck_assert_msg(ar_templates_add(set, partials[i], partials[i + 1], &err) == 0, "partial: %s", err);
    }
    ck_assert_msg(ar_templates_add(set, "t", source, &err) == 0, "compile: %s", err);
    json_error_t jerr;
    json_t *data = data_json ? json_loads(data_json, JSON_DECODE_ANY, &jerr) : NULL;
    ck_assert_msg(!data_json || data, "bad test JSON: %s", jerr.text);
    ar_buf out = AR_BUF_INIT;
    ck_assert_int_eq(ar_templates_render(set, "t", data, &out), 0);
    json_decref(data);
    ar_templates_free(set);
    char *s = ar_strdup(ar_buf_cstr(&out));
    ar_buf_free(&out);
    return s;
}

static char *render_str(const char *source, const char *data_json)
{
    return render_with_partials(source, data_json, NULL);
}

/* Compile `source` as "t", expecting a syntax error; returns the message (caller frees). */
static char *compile_error(const char *source)
{
    ar_templates *set = ar_templates_new();
    char *err = NULL;
    int rc = ar_templates_add(set, "t", source, &err);
    ck_assert_msg(rc == -1, "expected a syntax error for: %s", source);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(ar_templates_has(set, "t"), 0);
    ar_templates_free(set);
    return err;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---------------------------------------------------------------------------------------------------- */

static char *quoted(const char *s)
{
    json_t *j = json_string(s ? s : "");
    char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return q ? q : ar_strdup("(not UTF-8)");
}

/* Runs one spec case; on failure appends a report. Returns 1 when it passed. */
static int run_spec_case(const char *file, json_t *tc, ar_buf *report)
{
    const char *name = json_string_value(json_object_get(tc, "name"));
    const char *source = json_string_value(json_object_get(tc, "template"));
    const char *expected = json_string_value(json_object_get(tc, "expected"));
    json_t *data = json_object_get(tc, "data");
    json_t *partials = json_object_get(tc, "partials");
    if (!name || !source || !expected) {
        ar_buf_printf(report, "%s: malformed test case\n", file);
        return 0;
    }
    ar_templates *set = ar_templates_new();
    char *err = NULL;
    int ok = 1;
    const char *pname;
    json_t *psrc;
    json_object_foreach(partials, pname, psrc) {
        if (ar_templates_add(set, pname, json_string_value(psrc), &err) != 0) {
            ar_buf_printf(report, "%s / %s: partial did not compile: %s\n", file, name, err);
            ok = 0;
            free(err);
            err = NULL;
        }
    }
    const char *main_name = "(spec template)";
    if (ok && ar_templates_add(set, main_name, source, &err) != 0) {
        ar_buf_printf(report, "%s / %s: template did not compile: %s\n", file, name, err);
        free(err);
        ok = 0;
    }
    if (ok) {
        ar_buf out = AR_BUF_INIT;
        if (ar_templates_render(set, main_name, data, &out) != 0 || strcmp(ar_buf_cstr(&out), expected) != 0) {
            char *qs = quoted(source), *qe = quoted(expected), *qg = quoted(ar_buf_cstr(&out));
            ar_buf_printf(report, "%s / %s\n  template: %s\n  expected: %s\n  got:      %s\n", file, name, qs, qe, qg);
            free(qs);
            free(qe);
            free(qg);
            ok = 0;
        }
        ar_buf_free(&out);
    }
    ar_templates_free(set);
    return ok;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(mustache_spec_suite_passes)
{
    const char *dir = spec_dir();
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open spec dir %s (set AR_MUSTACHE_SPEC_DIR)", dir);
    char *files[64];
    size_t nfiles = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nfiles < 64) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0) files[nfiles++] = ar_strdup(e->d_name);
    }
    closedir(d);
    qsort(files, nfiles, sizeof *files, cmp_cstr);

    int total = 0, passed = 0;
    ar_buf report = AR_BUF_INIT;
    for (size_t i = 0; i < nfiles; i++) {
        char *path = ar_asprintf("%s/%s", dir, files[i]);
        json_error_t jerr;
        json_t *spec = json_load_file(path, 0, &jerr);
        ck_assert_msg(spec != NULL, "%s: %s", path, jerr.text);
        json_t *tests = json_object_get(spec, "tests");
        ck_assert_msg(json_is_array(tests), "%s has no tests array", path);
        size_t k;
        json_t *tc;
        json_array_foreach(tests, k, tc) {
            total++;
            passed += run_spec_case(files[i], tc, &report);
        }
        json_decref(spec);
        free(path);
        free(files[i]);
    }
    printf("mustache-spec: %d/%d passed (%zu files)\n", passed, total, nfiles);
    fflush(stdout);
    if (report.len) fprintf(stderr, "%s", ar_buf_cstr(&report));
    ck_assert_msg(nfiles > 0 && total > 0, "no spec files found in %s", dir);
    ck_assert_msg(passed == total, "mustache spec: %d of %d cases failed:\n%s", total - passed, total,
                  ar_buf_cstr(&report));
    ar_buf_free(&report);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------- */

START_TEST(escape_all_five_characters)
{
    ar_buf b = AR_BUF_INIT;
    ar_html_escape(&b, "a&b<c>d\"e'f", 11);
    ck_assert_str_eq(ar_buf_cstr(&b), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    ar_buf_reset(&b);
    ar_html_escape_cstr(&b, "<<''>>&&\"\"");
    ck_assert_str_eq(ar_buf_cstr(&b), "&lt;&lt;&#39;&#39;&gt;&gt;&amp;&amp;&quot;&quot;");
    ar_buf_reset(&b);
    ar_html_escape(&b, "plain text, no change", 21);
    ck_assert_str_eq(ar_buf_cstr(&b), "plain text, no change");
    ar_buf_reset(&b);
    ar_html_escape(&b, "x<y", 1); /* only the given length */
    ck_assert_str_eq(ar_buf_cstr(&b), "x");
    ar_buf_free(&b);

    char *s = render_str("{{v}}|{{{v}}}|{{&v}}", "{\"v\": \"<a href='x'>&\\\"</a>\"}");
    ck_assert_str_eq(s, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;|<a href='x'>&\"</a>|<a href='x'>&\"</a>");
    free(s);
}
END_TEST

START_TEST(values_and_truthiness)
{
    char *s = render_str("{{i}} {{r}} {{h}} {{n}} {{t}} {{f}} [{{z}}] [{{o}}] [{{a}}]",
                         "{\"i\": -42, \"r\": 0.1, \"h\": 2.0, \"n\": 1e20, \"t\": true, \"f\": false, \"z\": null,"
                         " \"o\": {\"k\": 1}, \"a\": [1]}");
    ck_assert_str_eq(s, "-42 0.1 2 1e+20 true false [] [] []");
    free(s);
    /* "" and [] are falsey; 0 and {} are truthy */
    s = render_str("{{#e}}E{{/e}}{{^e}}e{{/e}} {{#l}}L{{/l}}{{^l}}l{{/l}} {{#zero}}Z{{/zero}} {{#o}}O{{/o}}",
                   "{\"e\": \"\", \"l\": [], \"zero\": 0, \"o\": {}}");
    ck_assert_str_eq(s, "e l Z O");
    free(s);
    s = render_str("{{name}}", NULL); /* NULL context renders misses */
    ck_assert_str_eq(s, "");
    free(s);
    s = render_str("{{#.}}<{{.}}>{{/.}}", "[\"a\", 2, 3.5]");
    ck_assert_str_eq(s, "<a><2><3.5>");
    free(s);
}
END_TEST

START_TEST(syntax_errors_report_the_line)
{
    char *e = compile_error("line one\n{{#items}}\n  <li>{{name}}</li>\n");
    ck_assert_str_eq(e, "t:2: unclosed section 'items'");
    free(e);

    e = compile_error("a\n{{#a}}\n{{#b}}\nx\n{{/a}}\n");
    ck_assert_str_eq(e, "t:5: mismatched closing tag 'a': section 'b' opened at line 3 is still open");
    free(e);

    e = compile_error("a\nb {{name\nc\n");
    ck_assert_str_eq(e, "t:2: unclosed tag (missing '}}')");
    free(e);

    e = compile_error("x\n\n{{=<% =}}\n");
    ck_assert_msg(starts_with(e, "t:3: invalid set delimiters tag"), "%s", e);
    free(e);

    e = compile_error("{{=<% %>}}");
    ck_assert_msg(starts_with(e, "t:1: invalid set delimiters tag"), "%s", e);
    free(e);

    e = compile_error("ok\n{{/x}}\n");
    ck_assert_str_eq(e, "t:2: unexpected closing tag 'x' (nothing is open)");
    free(e);

    /* lines are counted through multi-line tags and after delimiter changes */
    e = compile_error("{{!\ncomment\n}}\n{{=<% %>=}}\n<%#a%>\n<%{{x}}%>\n");
    ck_assert_str_eq(e, "t:5: unclosed section 'a'");
    free(e);

    e = compile_error("{{<parent}}\n{{$block}}\n{{/parent}}\n");
    ck_assert_str_eq(e, "t:3: mismatched closing tag 'parent': block 'block' opened at line 2 is still open");
    free(e);

    e = compile_error("{{a..b}}");
    ck_assert_str_eq(e, "t:1: invalid name 'a..b'");
    free(e);

    e = compile_error("\n{{ }}");
    ck_assert_str_eq(e, "t:2: empty tag");
    free(e);

    e = compile_error("{{> }}");
    ck_assert_str_eq(e, "t:1: empty partial name");
    free(e);

    /* a failed add keeps the previous template of that name */
    ar_templates *set = ar_templates_new();
    char *err = NULL;
    ck_assert_int_eq(ar_templates_add(set, "x", "old", &err), 0);
    ck_assert_int_eq(ar_templates_add(set, "x", "{{#broken}}", &err), -1);
    ck_assert_str_eq(err, "x:1: unclosed section 'broken'");
    free(err);
    ar_buf out = AR_BUF_INIT;
    ck_assert_int_eq(ar_templates_render(set, "x", NULL, &out), 0);
    ck_assert_str_eq(ar_buf_cstr(&out), "old");
    ck_assert_int_eq(ar_templates_render(set, "missing", NULL, &out), -1);
    ar_buf_free(&out);
    ar_templates_free(set);
}
END_TEST

/* Reindentation cases from the spec authors' discussion of blocks (mustache/spec #131, #135), plus a
 * nested-layout case: an overriding block takes the indentation of the block it replaces. */
START_TEST(inheritance_reindents_blocks)
{
    const char *p1[] = {"parent", "I say,\n  {{$block}}\n  Hi there!\n  {{/block}}", NULL};
    char *s = render_with_partials("{{<parent}}\n        {{$block}}\n        Hello\n        {{/block}}\n{{/parent}}",
                                   NULL, p1);
    ck_assert_str_eq(s, "I say,\n  Hello\n");
    free(s);

    const char *p2[] = {"parent", "{{$block}}x{{/block}}", NULL};
    s = render_with_partials("* a\n* b\n* {{<parent}}{{$block}}\n                {{! big indent }}\n"
                             "                c{{/block}}{{/parent}}\n* d\n* e",
                             NULL, p2);
    ck_assert_str_eq(s, "* a\n* b\n* c\n* d\n* e");
    free(s);

    const char *p3[] = {"parent", "<section>\n  {{$block}}\n  default\n  {{/block}}\n</section>\n", NULL};
    s = render_with_partials("<div>\n  {{<parent}}\n    {{$block}}\n    <p>{{a}}</p>\n\n    <p>b</p>\n    {{/block}}\n"
                             "  {{/parent}}\n</div>\n",
                             "{\"a\": \"x\\ny\"}", p3);
    /* the blank line gets no trailing spaces; interpolated newlines are data, not template lines */
    ck_assert_str_eq(s, "<div>\n  <section>\n    <p>x\ny</p>\n\n    <p>b</p>\n  </section>\n</div>\n");
    free(s);

    /* the outermost override wins; partials inside a parent see the overrides too */
    const char *p4[] = {"base", "[{{$t}}base{{/t}}|{{>inner}}]", "inner", "({{$t}}inner{{/t}})", "mid",
                        "{{<base}}{{$t}}mid{{/t}}{{/base}}", NULL};
    s = render_with_partials("{{<mid}}{{$t}}top{{/t}}{{/mid}} {{<mid}}{{/mid}} {{<base}}{{/base}}", NULL, p4);
    ck_assert_str_eq(s, "[top|(top)] [mid|(mid)] [base|(inner)]");
    free(s);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------- */

static const char FIXTURES[] = "tests/unit/fixtures/templates";

START_TEST(load_dir_layout_blocks_and_partials)
{
    char *err = NULL;
    ar_templates *set = ar_templates_load_dir(FIXTURES, &err);
    ck_assert_msg(set != NULL, "load_dir: %s", err);
    ck_assert_ptr_null(err);
    ck_assert_uint_eq(ar_templates_count(set), 4);
    ck_assert(ar_templates_has(set, "layouts/base"));
    ck_assert(ar_templates_has(set, "pages/home"));
    ck_assert(ar_templates_has(set, "pages/empty"));
    ck_assert(ar_templates_has(set, "partials/nav"));
    ck_assert(!ar_templates_has(set, "pages/home.mustache"));

    json_t *data = json_pack("{s:s, s:{s:s}, s:[s,s], s:[{s:s,s:s},{s:s,s:s}]}", "site", "AR", "user", "name",
                             "<Ann>", "items", "a&b", "c", "links", "href", "/w", "label", "Worklog", "href",
                             "/s?a=1&b=2", "label", "Skills");
    ar_buf out = AR_BUF_INIT;
    ck_assert_int_eq(ar_templates_render(set, "pages/home", data, &out), 0);
    ck_assert_str_eq(ar_buf_cstr(&out), "<!doctype html>\n"
                                        "<html>\n"
                                        "<head>\n"
                                        "  <title>Home &middot; AR</title>\n"
                                        "</head>\n"
                                        "<body>\n"
                                        "  <nav>\n"
                                        "    <a href=\"/w\">Worklog</a>\n"
                                        "    <a href=\"/s?a=1&amp;b=2\">Skills</a>\n"
                                        "  </nav>\n"
                                        "  <main>\n"
                                        "    <h1>Hello, &lt;Ann&gt;!</h1>\n"
                                        "    <p>a&amp;b</p>\n"
                                        "    <p>c</p>\n"
                                        "  </main>\n"
                                        "</body>\n"
                                        "</html>\n");
    ar_buf_reset(&out);
    ck_assert_int_eq(ar_templates_render(set, "pages/empty", NULL, &out), 0);
    ck_assert_str_eq(ar_buf_cstr(&out), "<!doctype html>\n"
                                        "<html>\n"
                                        "<head>\n"
                                        "  <title>AfterResume</title>\n"
                                        "</head>\n"
                                        "<body>\n"
                                        "  <nav>\n"
                                        "  </nav>\n"
                                        "  <main>\n"
                                        "    <p>No content.</p>\n"
                                        "  </main>\n"
                                        "</body>\n"
                                        "</html>\n");
    ar_buf_free(&out);
    json_decref(data);
    ar_templates_free(set);
}
END_TEST

static void write_file(const char *dir, const char *rel, const char *content)
{
    char *path = ar_asprintf("%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0700);
    *slash = '/';
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(content, f);
    fclose(f);
    free(path);
}

static void remove_file(const char *dir, const char *rel)
{
    char *path = ar_asprintf("%s/%s", dir, rel);
    unlink(path);
    free(path);
}

static void remove_dir(const char *dir, const char *rel)
{
    char *path = rel ? ar_asprintf("%s/%s", dir, rel) : ar_strdup(dir);
    rmdir(path);
    free(path);
}

START_TEST(load_dir_reports_file_and_line)
{
    char tmpl[] = "/tmp/ar-tpl-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    write_file(dir, "layouts/base.mustache", "<main>{{$content}}{{/content}}</main>\n");
    write_file(dir, "pages/ok.mustache", "{{<layouts/base}}{{$content}}ok{{/content}}{{/layouts/base}}\n");
    write_file(dir, "pages/notes.txt", "{{#not a template");
    write_file(dir, "pages/bad.mustache", "<p>one</p>\n<p>two</p>\n  {{> partials/missing}}\n");

    char *err = NULL;
    ar_templates *set = ar_templates_load_dir(dir, &err);
    ck_assert_ptr_null(set);
    char *want = ar_asprintf("%s/pages/bad.mustache:3: unknown partial 'partials/missing'", dir);
    ck_assert_str_eq(err, want);
    free(want);
    free(err);

    /* a trailing slash on the directory does not change the reported path; syntax errors name the file */
    write_file(dir, "pages/bad.mustache", "<ul>\n{{#items}}\n  <li>{{.}}</li>\n</ul>\n");
    char *dir_slash = ar_asprintf("%s/", dir);
    set = ar_templates_load_dir(dir_slash, &err);
    ck_assert_ptr_null(set);
    want = ar_asprintf("%s/pages/bad.mustache:2: unclosed section 'items'", dir);
    ck_assert_str_eq(err, want);
    free(want);
    free(err);
    free(dir_slash);

    remove_file(dir, "pages/bad.mustache");
    set = ar_templates_load_dir(dir, &err);
    ck_assert_msg(set != NULL, "%s", err);
    ck_assert_uint_eq(ar_templates_count(set), 2);
    ar_buf out = AR_BUF_INIT;
    ck_assert_int_eq(ar_templates_render(set, "pages/ok", NULL, &out), 0);
    ck_assert_str_eq(ar_buf_cstr(&out), "<main>ok</main>\n");
    ar_buf_free(&out);
    ar_templates_free(set);

    set = ar_templates_load_dir("/nonexistent/ar-templates", &err);
    ck_assert_ptr_null(set);
    ck_assert_msg(starts_with(err, "/nonexistent/ar-templates: cannot open directory"), "%s", err);
    free(err);

    remove_file(dir, "layouts/base.mustache");
    remove_file(dir, "pages/ok.mustache");
    remove_file(dir, "pages/notes.txt");
    remove_dir(dir, "layouts");
    remove_dir(dir, "pages");
    remove_dir(dir, NULL);
}
END_TEST

START_TEST(check_reports_unknown_partials)
{
    ar_templates *set = ar_templates_new();
    char *err = NULL;
    ck_assert_int_eq(ar_templates_add(set, "partials/nav", "<nav></nav>", &err), 0);
    ck_assert_int_eq(ar_templates_add(set, "pages/a", "{{>partials/nav}}\n{{#x}}\n{{>partials/nav}}{{/x}}", &err), 0);
    ck_assert_int_eq(ar_templates_check(set, &err), 0);
    ck_assert_ptr_null(err);

    ck_assert_int_eq(ar_templates_add(set, "pages/b", "one\ntwo\n{{#s}}\n  {{> partials/nope}}\n{{/s}}\n", &err), 0);
    ck_assert_int_eq(ar_templates_check(set, &err), -1);
    ck_assert_str_eq(err, "pages/b:4: unknown partial 'partials/nope'");
    free(err);

    /* parents and partials inside argument blocks are checked too */
    ck_assert_int_eq(ar_templates_add(set, "pages/b", "{{<partials/nav}}\n{{$x}}\n{{>gone}}\n{{/x}}\n{{/partials/nav}}", &err), 0);
    ck_assert_int_eq(ar_templates_check(set, &err), -1);
    ck_assert_str_eq(err, "pages/b:3: unknown partial 'gone'");
    free(err);
    ck_assert_int_eq(ar_templates_add(set, "pages/b", "\n{{<layouts/none}}{{/layouts/none}}", &err), 0);
    ck_assert_int_eq(ar_templates_check(set, &err), -1);
    ck_assert_str_eq(err, "pages/b:2: unknown parent 'layouts/none'");
    free(err);

    /* rendering a template with a missing partial still works: the partial renders as empty */
    ar_buf out = AR_BUF_INIT;
    ck_assert_int_eq(ar_templates_render(set, "pages/b", NULL, &out), 0);
    ck_assert_str_eq(ar_buf_cstr(&out), "\n");
    ar_buf_free(&out);
    ar_templates_free(set);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------- */

typedef struct {
    const ar_templates *set;
    json_t *data;
    const char *expected;
    int mismatches;
} render_job;

static void *render_many(void *arg)
{
    render_job *job = arg;
    ar_buf out = AR_BUF_INIT;
    for (int i = 0; i < 300; i++) {
        ar_buf_reset(&out);
        if (ar_templates_render(job->set, "pages/home", job->data, &out) != 0 ||
            strcmp(ar_buf_cstr(&out), job->expected) != 0)
            job->mismatches++;
    }
    ar_buf_free(&out);
    return NULL;
}

START_TEST(concurrent_rendering_is_identical)
{
    char *err = NULL;
    ar_templates *set = ar_templates_load_dir(FIXTURES, &err);
    ck_assert_msg(set != NULL, "%s", err);
    json_t *data = json_pack("{s:s, s:{s:s}, s:[s,s,s], s:[{s:s,s:s}]}", "site", "AR", "user", "name", "Bo",
                             "items", "1", "2", "3", "links", "href", "/", "label", "Home");
    ar_buf ref = AR_BUF_INIT;
    ck_assert_int_eq(ar_templates_render(set, "pages/home", data, &ref), 0);
    ck_assert(strstr(ar_buf_cstr(&ref), "<h1>Hello, Bo!</h1>") != NULL);

    pthread_t th[4];
    render_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (render_job){set, data, ar_buf_cstr(&ref), 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, render_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(jobs[i].mismatches, 0);
    }
    ar_buf_free(&ref);
    json_decref(data);
    ar_templates_free(set);
}
END_TEST

/* ---------------------------------------------------------------------------------------------------- */

START_TEST(recursion_is_bounded)
{
    /* a partial that includes itself stops at the depth limit (64 expansions below the top) */
    const char *self[] = {"self", "x{{>self}}", NULL};
    char *s = render_with_partials("{{>self}}", NULL, self);
    ck_assert_uint_eq(strlen(s), 64);
    ck_assert_uint_eq(strspn(s, "x"), 64);
    free(s);

    /* parents that inherit from each other */
    const char *ring[] = {"a", "A{{<b}}{{/b}}", "b", "B{{<a}}{{/a}}", NULL};
    s = render_with_partials("{{<a}}{{/a}}", NULL, ring);
    ck_assert_uint_eq(strlen(s), 64);
    free(s);

    /* an argument block that expands itself */
    const char *p[] = {"p", "{{$a}}d{{/a}}", NULL};
    s = render_with_partials("{{<p}}{{$a}}[{{$a}}{{/a}}]{{/a}}{{/p}}", NULL, p);
    ck_assert(strlen(s) > 2 && strlen(s) < 2000);
    ck_assert(s[0] == '[' && s[strlen(s) - 1] == ']');
    free(s);

    /* exponential fan-out is cut off by the render budget instead of hanging the worker */
    ar_templates *set = ar_templates_new();
    char *err = NULL;
    ck_assert_int_eq(ar_templates_add(set, "twice", "ab{{>twice}}{{>twice}}", &err), 0);
    ar_buf out = AR_BUF_INIT;
    ck_assert_int_eq(ar_templates_render(set, "twice", NULL, &out), -1);
    ck_assert(out.len > 1000 && out.len < (64u << 20));
    ar_buf_free(&out);
    ar_templates_free(set);

    /* deep but legal nesting renders; nesting beyond the limit is a syntax error */
    ar_buf src = AR_BUF_INIT, data = AR_BUF_INIT;
    for (int i = 0; i < 90; i++) {
        ar_buf_puts(&src, "{{#a}}");
        ar_buf_puts(&data, "{\"a\":");
    }
    ar_buf_puts(&src, "{{v}}");
    ar_buf_puts(&data, "{\"v\":\"deep\"}");
    for (int i = 0; i < 90; i++) {
        ar_buf_puts(&src, "{{/a}}");
        ar_buf_putc(&data, '}');
    }
    s = render_str(ar_buf_cstr(&src), ar_buf_cstr(&data));
    ck_assert_str_eq(s, "deep");
    free(s);
    ar_buf_reset(&src);
    for (int i = 0; i < 5000; i++) ar_buf_puts(&src, "{{#a}}");
    char *e = compile_error(ar_buf_cstr(&src));
    ck_assert_str_eq(e, "t:1: sections nested too deeply (more than 100 levels)");
    free(e);
    ar_buf_free(&src);
    ar_buf_free(&data);
}
END_TEST

/* Random tag soup: every input either compiles (and then renders) or fails with a located message. */
START_TEST(malformed_input_never_crashes)
{
    static const char *const pieces[] = {"{{", "}}", "{{{", "}}}", "#a", "/a", "^a", ">p", "<p", "/p", "$b",
                                         "/b", "=", "<% %>", "<%", "%>", "&", "!", ".", "a", " ", "\n", "\r\n",
                                         "x", "{{#a}}", "{{/a}}", "{{>p}}", "{{<p}}", "{{$b}}", "{{/b}}", "{{/p}}",
                                         "{{.}}", "{{a.b}}", "{{=<% %>=}}", "<%/a%>", "\t", "{{!c}}"};
    const size_t npieces = sizeof pieces / sizeof pieces[0];
    json_t *data = json_pack("{s:[i,i], s:{s:s}, s:s}", "a", 1, 2, "a2", "b", "x", "x", "y");
    unsigned long long seed = 0x5eed;
    int compiled = 0, rejected = 0;
    for (int iter = 0; iter < 3000; iter++) {
        ar_buf src = AR_BUF_INIT;
        int n = 1 + (int)((seed >> 33) % 24);
        for (int k = 0; k < n; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            ar_buf_puts(&src, pieces[(seed >> 33) % npieces]);
        }
        ar_templates *set = ar_templates_new();
        char *err = NULL;
        ar_templates_add(set, "p", "P{{$b}}pb{{/b}}\n", &err);
        if (ar_templates_add(set, "fuzz", ar_buf_cstr(&src), &err) == 0) {
            compiled++;
            ar_buf out = AR_BUF_INIT;
            ck_assert_int_eq(ar_templates_render(set, "fuzz", data, &out), 0);
            ar_buf_free(&out);
        } else {
            rejected++;
            ck_assert_msg(err && starts_with(err, "fuzz:"), "unlocated error for %s", ar_buf_cstr(&src));
            free(err);
        }
        ar_templates_free(set);
        ar_buf_free(&src);
    }
    ck_assert_int_gt(compiled, 100);
    ck_assert_int_gt(rejected, 100);
    json_decref(data);
}
END_TEST

Suite *template_suite(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("template");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mustache_spec_suite_passes);
    tcase_add_test(tc, escape_all_five_characters);
    tcase_add_test(tc, values_and_truthiness);
    tcase_add_test(tc, syntax_errors_report_the_line);
    tcase_add_test(tc, inheritance_reindents_blocks);
    tcase_add_test(tc, load_dir_layout_blocks_and_partials);
    tcase_add_test(tc, load_dir_reports_file_and_line);
    tcase_add_test(tc, check_reports_unknown_partials);
    tcase_add_test(tc, concurrent_rendering_is_identical);
    tcase_add_test(tc, recursion_is_bounded);
    tcase_add_test(tc, malformed_input_never_crashes);
    suite_add_tcase(s, tc);
    return s;
}

/* test_ai.c — unit tests of the AI building blocks: parsing model replies against an expected shape (valid,
 * fenced, truncated, wrong types, extra keys), skill-name normalisation and alias resolution, and finding
 * known skills in text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/ai/citations.h"
#include "afterresume/ai/provider.h"
#include "afterresume/ai/reply.h"
#include "afterresume/ai/skills.h"
#include "afterresume/core/alloc.h"

static const char *const kinds[] = {"skill", "technology", "tool", "method", "domain", NULL};
static const ar_shape_field signal_fields[] = {
    {"name", AR_SHAPE_STRING, 1, 1, 80, NULL, AR_SHAPE_STRING, NULL},
    {"kind", AR_SHAPE_STRING, 1, 0, 0, kinds, AR_SHAPE_STRING, NULL},
    {"confidence", AR_SHAPE_NUMBER, 1, 0, 1, NULL, AR_SHAPE_STRING, NULL},
};
static const ar_shape signal_shape = {signal_fields, 3};
static const ar_shape_field enhance_fields[] = {
    {"title", AR_SHAPE_STRING, 1, 1, 120, NULL, AR_SHAPE_STRING, NULL},
    {"bullets", AR_SHAPE_ARRAY, 1, 1, 3, NULL, AR_SHAPE_STRING, NULL},
    {"impact_score", AR_SHAPE_INTEGER, 1, 1, 10, NULL, AR_SHAPE_STRING, NULL},
    {"citations", AR_SHAPE_ARRAY, 0, 0, 0, NULL, AR_SHAPE_INTEGER, NULL},
    {"skills", AR_SHAPE_ARRAY, 0, 0, 20, NULL, AR_SHAPE_OBJECT, &signal_shape},
};
static const ar_shape enhance_shape = {enhance_fields, 5};

static json_t *parse(const char *text, char *problem)
{
    return ar_ai_reply_parse(text, &enhance_shape, problem, 256);
}

START_TEST(reply_valid_plain_json)
{
    char problem[256];
    json_t *v = parse("{\"title\":\"Cut p99 by 40%\",\"bullets\":[\"a\",\"b\"],\"impact_score\":7,"
                      "\"skills\":[{\"name\":\"PostgreSQL\",\"kind\":\"Technology\",\"confidence\":0.9}]}",
                      problem);
    ck_assert_msg(v != NULL, "problem: %s", problem);
    ck_assert_str_eq(json_string_value(json_object_get(v, "title")), "Cut p99 by 40%");
    ck_assert_int_eq(json_array_size(json_object_get(v, "bullets")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "impact_score")), 7);
    json_t *skill = json_array_get(json_object_get(v, "skills"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(skill, "kind")), "technology"); /* enum lower-cased */
    ck_assert_ptr_null(json_object_get(v, "citations"));                                /* optional, absent */
    json_decref(v);
}
END_TEST

START_TEST(reply_fenced_with_prose)
{
    char problem[256];
    json_t *v = parse("Sure! Here is the JSON you asked for:\n```json\n{\"title\":\"T\",\"bullets\":[\"x\"],"
                      "\"impact_score\":3.0}\n```\nLet me know if you need more.",
                      problem);
    ck_assert_msg(v != NULL, "problem: %s", problem);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "impact_score")), 3); /* 3.0 accepted as integer */
    json_decref(v);
    /* a brace inside a string does not end the object */
    v = parse("{\"title\":\"a } b\",\"bullets\":[\"{\"],\"impact_score\":2}", problem);
    ck_assert_msg(v != NULL, "problem: %s", problem);
    ck_assert_str_eq(json_string_value(json_object_get(v, "title")), "a } b");
    json_decref(v);
}
END_TEST

START_TEST(reply_truncated)
{
    char problem[256];
    ck_assert_ptr_null(parse("{\"title\":\"T\",\"bullets\":[\"x\", \"y", problem));
    ck_assert_ptr_nonnull(strstr(problem, "cut off"));
    ck_assert_ptr_null(parse("I cannot help with that.", problem));
    ck_assert_ptr_nonnull(strstr(problem, "no complete JSON object"));
    ck_assert_ptr_null(parse("", problem));
}
END_TEST

START_TEST(reply_wrong_types)
{
    char problem[256];
    ck_assert_ptr_null(parse("{\"title\":42,\"bullets\":[\"x\"],\"impact_score\":3}", problem));
    ck_assert_str_eq(problem, "title: expected a string");
    ck_assert_ptr_null(parse("{\"title\":\"t\",\"bullets\":[\"x\", 5],\"impact_score\":3}", problem));
    ck_assert_str_eq(problem, "bullets[1]: expected a string");
    ck_assert_ptr_null(parse("{\"title\":\"t\",\"bullets\":[\"x\"],\"impact_score\":\"7\"}", problem));
    ck_assert_str_eq(problem, "impact_score: expected an integer");
    ck_assert_ptr_null(parse("{\"title\":\"t\",\"bullets\":[\"x\"],\"impact_score\":11}", problem));
    ck_assert_str_eq(problem, "impact_score: expected an integer from 1 to 10");
    ck_assert_ptr_null(parse("{\"title\":\"t\",\"bullets\":[],\"impact_score\":1}", problem));
    ck_assert_str_eq(problem, "bullets: expected 1 to 3 items, got 0");
    ck_assert_ptr_null(parse("{\"bullets\":[\"x\"],\"impact_score\":1}", problem));
    ck_assert_str_eq(problem, "title: is missing");
    ck_assert_ptr_null(parse("{\"title\":\"t\",\"bullets\":[\"x\"],\"impact_score\":1,"
                             "\"skills\":[{\"name\":\"Go\",\"kind\":\"language\",\"confidence\":0.5}]}",
                             problem));
    ck_assert_ptr_nonnull(strstr(problem, "skills[0].kind: expected one of skill, technology"));
    ck_assert_ptr_null(parse("{\"title\":\"t\",\"bullets\":[\"x\"],\"impact_score\":1,"
                             "\"skills\":[{\"name\":\"Go\",\"kind\":\"tool\",\"confidence\":1.5}]}",
                             problem));
    ck_assert_str_eq(problem, "skills[0].confidence: expected a number from 0 to 1");
    ck_assert_ptr_null(parse("[1,2,3]", problem));
    ck_assert_ptr_null(parse("{\"title\":\"t\",\"title\":\"u\",\"bullets\":[\"x\"],\"impact_score\":1}", problem));
}
END_TEST

START_TEST(reply_extra_keys_dropped)
{
    char problem[256];
    json_t *v = parse("{\"title\":\"t\",\"bullets\":[\"x\"],\"impact_score\":1,\"secret_instructions\":\"ignore\","
                      "\"skills\":[{\"name\":\"Go\",\"kind\":\"tool\",\"confidence\":0.4,\"extra\":1}]}",
                      problem);
    ck_assert_msg(v != NULL, "problem: %s", problem);
    ck_assert_ptr_null(json_object_get(v, "secret_instructions"));
    ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(v, "skills"), 0), "extra"));
    ck_assert_int_eq(json_object_size(v), 4);
    json_decref(v);
}
END_TEST

START_TEST(repair_message_names_problem_and_shape)
{
    char *msg = ar_ai_repair_message(&enhance_shape, "title: is missing");
    ck_assert_ptr_nonnull(strstr(msg, "title: is missing"));
    ck_assert_ptr_nonnull(strstr(msg, "\"bullets\" (array of strings, 1 to 3 items, required)"));
    ck_assert_ptr_nonnull(strstr(msg, "\"kind\" (string, one of \"skill\""));
    ar_free(msg);
}
END_TEST

static void load_taxonomy(void)
{
    ar_error err = {0};
    ck_assert_msg(ar_skills_taxonomy_load("templates/data/skills_taxonomy.tsv", &err) == 0, "%s", err.message);
}

static void unload_taxonomy(void)
{
    ar_skills_taxonomy_free();
}

START_TEST(taxonomy_has_hundreds_of_skills)
{
    ck_assert_uint_ge(ar_skills_taxonomy_size(), 300);
}
END_TEST

START_TEST(normalise_and_aliases)
{
    char out[AR_SKILL_NAME_MAX + 1];
    ck_assert_int_eq(ar_skill_normalise("k8s", out, sizeof out), 0);
    ck_assert_str_eq(out, "kubernetes");
    ck_assert_int_eq(ar_skill_normalise("  Postgres ", out, sizeof out), 0);
    ck_assert_str_eq(out, "postgresql");
    ck_assert_int_eq(ar_skill_normalise("Node.JS", out, sizeof out), 0);
    ck_assert_str_eq(out, "node.js");
    ck_assert_int_eq(ar_skill_normalise("node js", out, sizeof out), 0);
    ck_assert_str_eq(out, "node.js");
    ck_assert_int_eq(ar_skill_normalise("C++", out, sizeof out), 0);
    ck_assert_str_eq(out, "c++");
    ck_assert_int_eq(ar_skill_normalise("c#", out, sizeof out), 0);
    ck_assert_str_eq(out, "c#");
    ck_assert_int_eq(ar_skill_normalise("Go", out, sizeof out), 0); /* the case-sensitive alias by name */
    ck_assert_str_eq(out, "go");
    ck_assert_int_eq(ar_skill_normalise("golang", out, sizeof out), 0);
    ck_assert_str_eq(out, "go");
    /* unknown names: lower-cased, trimmed, whitespace collapsed; UTF-8 kept */
    ck_assert_int_eq(ar_skill_normalise("  Quantum   Basket\tWeaving ", out, sizeof out), 0);
    ck_assert_str_eq(out, "quantum basket weaving");
    ck_assert_int_eq(ar_skill_normalise("Ünïcode Thing", out, sizeof out), 0);
    ck_assert_str_eq(out, "Ünïcode thing");
    ck_assert_int_eq(ar_skill_normalise("   ", out, sizeof out), -1);
    ck_assert_int_eq(ar_skill_normalise("bad \xff utf8", out, sizeof out), -1);
    ck_assert_ptr_eq(ar_skill_lookup("K8S"), ar_skill_lookup("Kubernetes"));
    ck_assert_ptr_null(ar_skill_lookup("go")); /* lower-case "go" is an ordinary word */
}
END_TEST

START_TEST(normalise_cuts_long_names_on_utf8_boundary)
{
    char raw[400], out[AR_SKILL_NAME_MAX + 1];
    size_t n = 0;
    while (n + 2 < sizeof raw - 1) {
        raw[n++] = '\xc3';
        raw[n++] = '\xa9'; /* é */
    }
    raw[n] = '\0';
    ck_assert_int_eq(ar_skill_normalise(raw, out, sizeof out), 0);
    ck_assert_uint_le(strlen(out), AR_SKILL_NAME_MAX);
    ck_assert_uint_eq(strlen(out) % 2, 0);
}
END_TEST

START_TEST(find_skills_in_text)
{
    const char *text = "Moved the API from Heroku to k8s, tuned Postgres indexes (query optimization) and "
                       "wrote Go services; we go live Monday. Mentored two engineers on machine learning basics. "
                       "Postgres again. Built with Node.js and C++.";
    ar_skill_hit hits[32];
    size_t n = ar_skills_find(text, hits, 32);
    const char *want[] = {"Heroku", "Kubernetes", "PostgreSQL", "Query Optimization", "Go", "Mentoring",
                          "Machine Learning", "Node.js", "C++"};
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) ck_assert_str_eq(hits[i].skill->name, want[i]);
    ck_assert_int_eq(hits[2].count, 2); /* Postgres twice */
    ck_assert_int_eq(strncmp(text + hits[1].offset, "k8s", hits[1].length), 0);
    ck_assert_int_eq(strncmp(text + hits[6].offset, "machine learning", hits[6].length), 0);
    /* the lower-case "go" in "we go live" is not the language, counted once */
    ck_assert_int_eq(hits[4].count, 1);
    ck_assert_uint_eq(ar_skills_find("nothing to see here", hits, 32), 0);
    ck_assert_uint_eq(ar_skills_find("", hits, 32), 0);
    ck_assert_uint_eq(ar_skills_find(text, hits, 2), 2);
}
END_TEST

static json_t *sample_entry(long long id, const char *title, const char *content, const char *outcome)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:[s],s:s}", "id", (json_int_t)id, "occurred_on", "2026-11-20", "title",
                     title, "content", content, "outcome", outcome, "impact", "", "tags", "postgres", "work_type",
                     "delivery");
}

START_TEST(local_enhance_is_extractive_and_deterministic)
{
    json_t *e = sample_entry(7, "worked on the slow invoice query",
                             "- I profiled the invoice list with EXPLAIN ANALYZE on Postgres.\n"
                             "- Added a composite index and rewrote the query; p99 dropped from 900 ms to 120 ms.\n"
                             "Paired with Sam on the `k8s` rollout.\n<script>alert(1)</script>",
                             "Reduced invoice page p99 by 87%.");
    json_t *a = ar_ai_local_enhance(e), *b = ar_ai_local_enhance(e);
    ck_assert(json_equal(a, b)); /* deterministic */
    char problem[256];
    json_t *checked = ar_ai_shape_check(a, &ar_ai_shape_enhance, problem, sizeof problem);
    ck_assert_msg(checked != NULL, "local reply does not match the remote shape: %s", problem);
    json_decref(checked);
    ck_assert_str_eq(json_string_value(json_object_get(a, "title")), "The slow invoice query");
    /* the strongest sentences (numbers, outcome verbs) become bullets, without "I" */
    const char *first = json_string_value(json_array_get(json_object_get(a, "bullets"), 0));
    ck_assert_msg(strstr(first, "87%") || strstr(first, "120 ms"), "first bullet: %s", first);
    ck_assert_msg(first[0] >= 'A' && first[0] <= 'Z', "bullet not capitalised: %s", first);
    json_int_t impact = json_integer_value(json_object_get(a, "impact_score"));
    ck_assert_int_ge(impact, 6); /* metrics + verbs + outcome + delivery */
    ck_assert_int_le(impact, 10);
    /* skills with excerpts that come from the entry */
    json_t *skills = json_object_get(a, "skills");
    int pg = 0, k8s = 0;
    size_t i;
    json_t *s;
    json_array_foreach(skills, i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (strcmp(name, "PostgreSQL") == 0) {
            pg = 1;
            ck_assert_double_gt(json_real_value(json_object_get(s, "confidence")), 0.6); /* text + tag */
            ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(s, "excerpt")), "Postgres"));
        }
        if (strcmp(name, "Kubernetes") == 0) k8s = 1;
    }
    ck_assert(pg && k8s);
    json_decref(a);
    json_decref(b);
    json_decref(e);
}
END_TEST

START_TEST(local_enhance_minimal_entry)
{
    json_t *e = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)1, "title", "", "content", "x");
    json_t *a = ar_ai_local_enhance(e);
    char problem[256];
    json_t *checked = ar_ai_shape_check(a, &ar_ai_shape_enhance, problem, sizeof problem);
    ck_assert_msg(checked != NULL, "%s", problem);
    ck_assert_int_ge(json_array_size(json_object_get(a, "bullets")), 1);
    json_decref(checked);
    json_decref(a);
    json_decref(e);
}
END_TEST

START_TEST(local_skills_link_evidence_to_entries)
{
    json_t *entries = json_array();
    json_array_append_new(entries, sample_entry(1, "Tuned Postgres", "Added indexes in PostgreSQL.", ""));
    json_array_append_new(entries, sample_entry(2, "Cluster upgrade", "Upgraded the k8s cluster with Helm.", ""));
    json_array_append_new(entries, sample_entry(3, "Docs", "Wrote the runbook.", ""));
    json_t *out = ar_ai_local_skills(entries);
    char problem[256];
    json_t *checked = ar_ai_shape_check(out, &ar_ai_shape_skills, problem, sizeof problem);
    ck_assert_msg(checked != NULL, "%s", problem);
    json_decref(checked);
    json_t *skills = json_object_get(out, "skills");
    int found_pg = 0;
    size_t i;
    json_t *s;
    json_array_foreach(skills, i, s) {
        if (strcmp(json_string_value(json_object_get(s, "name")), "PostgreSQL") != 0) continue;
        found_pg = 1;
        json_t *ev = json_object_get(s, "evidence");
        ck_assert_int_eq(json_array_size(ev), 3); /* every entry is tagged postgres */
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(ev, 0), "entry_id")), 1);
        ck_assert_str_eq(json_string_value(json_object_get(s, "level")), "practiced");
    }
    ck_assert(found_pg);
    json_decref(out);
    json_decref(entries);
}
END_TEST

START_TEST(local_section_cites_every_bullet)
{
    json_t *entries = json_array();
    for (int i = 1; i <= 15; i++) {
        char title[40];
        snprintf(title, sizeof title, "Shipped feature %d", i);
        json_array_append_new(entries, sample_entry(100 + i, title, "Built and launched it for 3 customers.", ""));
    }
    json_t *out = ar_ai_local_section("weekly", entries);
    char problem[256];
    json_t *checked = ar_ai_shape_check(out, &ar_ai_shape_section, problem, sizeof problem);
    ck_assert_msg(checked != NULL, "%s", problem);
    json_decref(checked);
    json_t *items = json_object_get(out, "items");
    ck_assert_int_gt(json_array_size(items), 0);
    ck_assert_int_le(json_array_size(items), 12);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        json_t *cites = json_object_get(item, "citations");
        ck_assert_int_ge(json_array_size(cites), 1);
        json_int_t id = json_integer_value(json_array_get(cites, 0));
        ck_assert(id >= 101 && id <= 115);
    }
    json_decref(out);
    out = ar_ai_local_section("resume", entries);
    ck_assert_int_le(json_array_size(json_object_get(out, "items")), 5);
    json_decref(out);
    json_decref(entries);
}
END_TEST

START_TEST(citations_foreign_ids_dropped_and_flagged)
{
    json_t *items = json_loads("[{\"text\":\"a\",\"citations\":[1,2,2]},"
                               "{\"text\":\"b\",\"citations\":[1,999]},"
                               "{\"text\":\"c\",\"citations\":[999]},"
                               "{\"text\":\"d\",\"citations\":[]},"
                               "{\"text\":\"e\",\"citations\":[\"1\"]},"
                               "{\"citations\":[1]}]", 0, NULL);
    long long allowed[] = {3, 2, 1};
    size_t dropped = 0;
    json_t *out = ar_ai_validate_citations(items, allowed, 3, &dropped);
    ck_assert_int_eq(json_array_size(out), 5); /* the item without text is gone */
    json_t *a = json_array_get(out, 0), *b = json_array_get(out, 1), *c = json_array_get(out, 2),
           *d = json_array_get(out, 3), *e = json_array_get(out, 4);
    ck_assert_int_eq(json_array_size(json_object_get(a, "citations")), 2); /* deduplicated */
    ck_assert(json_is_false(json_object_get(a, "flagged")));
    ck_assert_int_eq(json_array_size(json_object_get(b, "citations")), 1);
    ck_assert(json_is_true(json_object_get(b, "flagged")));
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(b, "dropped"), 0)), 999);
    ck_assert_int_eq(json_array_size(json_object_get(c, "citations")), 0);
    ck_assert(json_is_true(json_object_get(c, "flagged")));
    ck_assert(json_is_true(json_object_get(d, "flagged"))); /* uncited is never shown as cited */
    ck_assert(json_is_true(json_object_get(e, "flagged"))); /* a string id is not an id */
    ck_assert_uint_eq(dropped, 3);
    json_decref(out);
    out = ar_ai_validate_citations(items, NULL, 0, NULL);
    ck_assert(json_is_true(json_object_get(json_array_get(out, 0), "flagged")));
    json_decref(out);
    json_decref(items);
}
END_TEST

Suite *ai_suite(void)
{
    Suite *s = suite_create("ai");
    TCase *reply = tcase_create("reply");
    tcase_add_test(reply, reply_valid_plain_json);
    tcase_add_test(reply, reply_fenced_with_prose);
    tcase_add_test(reply, reply_truncated);
    tcase_add_test(reply, reply_wrong_types);
    tcase_add_test(reply, reply_extra_keys_dropped);
    tcase_add_test(reply, repair_message_names_problem_and_shape);
    suite_add_tcase(s, reply);
    TCase *skills = tcase_create("skills");
    tcase_add_checked_fixture(skills, load_taxonomy, unload_taxonomy);
    tcase_add_test(skills, taxonomy_has_hundreds_of_skills);
    tcase_add_test(skills, normalise_and_aliases);
    tcase_add_test(skills, normalise_cuts_long_names_on_utf8_boundary);
    tcase_add_test(skills, find_skills_in_text);
    tcase_add_test(skills, local_enhance_is_extractive_and_deterministic);
    tcase_add_test(skills, local_enhance_minimal_entry);
    tcase_add_test(skills, local_skills_link_evidence_to_entries);
    tcase_add_test(skills, local_section_cites_every_bullet);
    suite_add_tcase(s, skills);
    TCase *citations = tcase_create("citations");
    tcase_add_test(citations, citations_foreign_ids_dropped_and_flagged);
    suite_add_tcase(s, citations);
    return s;
}

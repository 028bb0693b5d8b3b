/* test_ai.c — unit tests of the AI building blocks: parsing model replies against an expected shape (valid,
 * fenced, truncated, wrong types, extra keys), skill-name normalisation and alias resolution, and finding
 * known skills in text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

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
    suite_add_tcase(s, skills);
    return s;
}

/* test_llm.c — integration tests of the OpenAI-compatible client and the remote AI provider against a real HTTP
 * peer (tests/fakes/openai_fake.mjs): request shape and bearer key, token usage, retries on 429, failure on 5xx
 * and timeouts, fenced and malformed replies (one repair retry), wrong types, and citations of foreign entries. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/ai/citations.h"
#include "afterresume/ai/provider.h"
#include "afterresume/clients/llm.h"
#include "afterresume/core/alloc.h"
#include "afterresume/render/template.h"
#include "daemon.h"

#define API_KEY "sk-fake-test-key"

static pid_t fake_pid;
static ar_templates *templates;
static char base_url[64];
static char log_path[128];

static void fake_start(void)
{
    int port = it_free_port();
    snprintf(log_path, sizeof log_path, "/tmp/ar-it-openai-%d.log", port);
    const char *args[] = {API_KEY, NULL};
    fake_pid = it_node_fake_start("tests/fakes/openai_fake.mjs", port, args, log_path);
    if (fake_pid <= 0) {
        char *log = it_read_file(log_path);
        ck_abort_msg("the OpenAI fake did not start: %s", log ? log : "(no log)");
    }
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", port);
    char *terr = NULL;
    templates = ar_templates_load_dir("templates", &terr); /* in the parent: forked tests inherit it */
    ck_assert_msg(templates != NULL, "%s", terr ? terr : "");
}

static void fake_stop(void)
{
    it_node_fake_stop(fake_pid);
    fake_pid = 0;
}

/* The requests the fake received, as JSON. */
static json_t *fake_requests(void)
{
    char url[128];
    snprintf(url, sizeof url, "%s/control/requests", base_url);
    it_response r;
    ck_assert_int_eq(it_http("GET", url, NULL, NULL, 0, &r), 0);
    json_t *v = json_loads(ar_buf_cstr(&r.body), 0, NULL);
    it_response_free(&r);
    ck_assert_ptr_nonnull(v);
    return v;
}

static ar_llm *client(const char *model, const char *key, int retries, long timeout_s)
{
    ar_llm_options opt = {timeout_s, retries, 20, 200};
    ar_error err = {0};
    ar_llm *llm = ar_llm_new(base_url, key, model, &opt, &err);
    ck_assert_msg(llm != NULL, "%s", err.message);
    return llm;
}

static json_t *user_message(const char *text)
{
    return json_pack("[{s:s,s:s}]", "role", "user", "content", text);
}

START_TEST(chat_sends_model_key_and_json_mode)
{
    ar_llm *llm = client("fake-ok", API_KEY, 0, 10);
    json_t *messages = user_message("Write the \"Highlights\" section of a weekly report\n--- Entry 5 (2026-11-02) ---\n");
    ar_llm_reply reply;
    ar_error err = {0};
    ck_assert_msg(ar_llm_chat(llm, messages, 1, 0.2, &reply, &err) == 0, "%s", err.message);
    ck_assert_ptr_nonnull(strstr(reply.content, "\"citations\":[5]"));
    ck_assert_str_eq(reply.model, "fake-ok");
    ck_assert_int_gt(reply.prompt_tokens, 0);
    ck_assert_int_gt(reply.completion_tokens, 0);
    ck_assert_int_eq(reply.attempts, 1);
    ar_llm_reply_clear(&reply);
    json_t *reqs = fake_requests();
    json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
    ck_assert_str_eq(json_string_value(json_object_get(last, "authorization")), "Bearer " API_KEY);
    json_t *body = json_object_get(last, "body");
    ck_assert_str_eq(json_string_value(json_object_get(body, "model")), "fake-ok");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(body, "response_format"), "type")),
                     "json_object");
    json_decref(reqs);
    json_decref(messages);
    ar_llm_free(llm);
}
END_TEST

START_TEST(wrong_key_fails_at_once_without_leaking_it)
{
    ar_llm *llm = client("fake-ok", "sk-wrong-secret", 3, 10);
    json_t *messages = user_message("hello");
    ar_llm_reply reply;
    ar_error err = {0};
    ck_assert_int_eq(ar_llm_chat(llm, messages, 0, -1, &reply, &err), -1);
    ck_assert_int_eq(reply.attempts, 1); /* a 401 is not retried */
    ck_assert_int_eq(reply.http_status, 401);
    ck_assert_ptr_nonnull(strstr(err.message, "HTTP 401"));
    ck_assert_ptr_null(strstr(err.message, "sk-wrong-secret"));
    ar_error_clear(&err);
    json_decref(messages);
    ar_llm_free(llm);
}
END_TEST

START_TEST(rate_limited_then_ok_is_retried)
{
    ar_llm *llm = client("fake-429-2", API_KEY, 2, 10);
    json_t *messages = user_message("hello");
    ar_llm_reply reply;
    ar_error err = {0};
    ck_assert_msg(ar_llm_chat(llm, messages, 1, -1, &reply, &err) == 0, "%s", err.message);
    ck_assert_int_eq(reply.attempts, 3);
    ck_assert_int_eq(reply.http_status, 200);
    ar_llm_reply_clear(&reply);
    json_decref(messages);
    ar_llm_free(llm);
}
END_TEST

START_TEST(server_errors_fail_after_retries)
{
    ar_llm *llm = client("fake-500", API_KEY, 2, 10);
    json_t *messages = user_message("hello");
    ar_llm_reply reply;
    ar_error err = {0};
    ck_assert_int_eq(ar_llm_chat(llm, messages, 1, -1, &reply, &err), -1);
    ck_assert_int_eq(reply.attempts, 3);
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(err.message, "HTTP 500"));
    ar_error_clear(&err);
    json_decref(messages);
    ar_llm_free(llm);
}
END_TEST

START_TEST(slow_server_times_out)
{
    ar_llm *llm = client("fake-slow-3000", API_KEY, 0, 1);
    json_t *messages = user_message("hello");
    ar_llm_reply reply;
    ar_error err = {0};
    ck_assert_int_eq(ar_llm_chat(llm, messages, 1, -1, &reply, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "could not be reached"));
    ar_error_clear(&err);
    json_decref(messages);
    ar_llm_free(llm);
}
END_TEST

static ar_ai *remote(const char *model)
{
    ar_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.llm_provider = "openai";
    cfg.llm_base_url = base_url;
    cfg.llm_api_key = API_KEY;
    cfg.llm_model = (char *)model;
    ar_error err = {0};
    ar_ai *ai = ar_ai_new(&cfg, templates, &err);
    ck_assert_msg(ai != NULL, "%s", err.message);
    ck_assert(ar_ai_is_remote(ai));
    return ai;
}

static json_t *entry(long long id)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:[s]}", "id", (json_int_t)id, "occurred_on", "2026-11-20", "title",
                     "Fixed the invoice outage", "content", "Rolled back the bad deploy; error rate from 12% to 0.",
                     "tags", "incident");
}

START_TEST(remote_enhance_fenced_reply)
{
    ar_ai *ai = remote("fake-fenced");
    json_t *e = entry(42), *out = NULL;
    ar_ai_calls calls = {0};
    ar_error err = {0};
    ck_assert_msg(ar_ai_enhance_entry(ai, e, &out, &calls, &err) == 0, "%s", err.message);
    ck_assert_str_eq(json_string_value(json_object_get(out, "title")), "Delivered: Fixed the invoice outage");
    ck_assert_int_eq(json_integer_value(json_object_get(out, "impact_score")), 7);
    ck_assert_int_eq(calls.count, 1);
    ck_assert_str_eq(calls.call[0].provider, "openai");
    ck_assert_str_eq(calls.call[0].model, "fake-fenced");
    ck_assert_int_gt(calls.call[0].prompt_tokens, 0);
    /* the prompt came from templates/prompts/ and carried the entry */
    json_t *reqs = fake_requests();
    json_t *msgs = json_object_get(json_object_get(json_array_get(reqs, json_array_size(reqs) - 1), "body"), "messages");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
    const char *user = json_string_value(json_object_get(json_array_get(msgs, 1), "content"));
    ck_assert_ptr_nonnull(strstr(user, "Fixed the invoice outage"));
    ck_assert_ptr_nonnull(strstr(user, "error rate from 12% to 0."));
    ck_assert_ptr_nonnull(strstr(user, "\"impact_score\" (integer from 1 to 10, required)"));
    json_decref(reqs);
    json_decref(out);
    json_decref(e);
    ar_ai_free(ai);
}
END_TEST

START_TEST(remote_malformed_reply_repaired_once)
{
    ar_ai *ai = remote("fake-malformed");
    json_t *e = entry(1), *out = NULL;
    ar_ai_calls calls = {0};
    ar_error err = {0};
    ck_assert_msg(ar_ai_enhance_entry(ai, e, &out, &calls, &err) == 0, "%s", err.message);
    ck_assert_int_eq(calls.count, 2); /* both calls are recorded (and billed) */
    json_t *reqs = fake_requests();
    json_t *msgs = json_object_get(json_object_get(json_array_get(reqs, json_array_size(reqs) - 1), "body"), "messages");
    ck_assert_int_eq(json_array_size(msgs), 4); /* system, user, the bad reply, the repair request */
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(msgs, 3), "content")),
                                 "could not be used"));
    json_decref(reqs);
    json_decref(out);
    json_decref(e);
    ar_ai_free(ai);
}
END_TEST

START_TEST(remote_garbage_fails_clearly)
{
    ar_ai *ai = remote("fake-garbage");
    json_t *e = entry(1), *out = NULL;
    ar_ai_calls calls = {0};
    ar_error err = {0};
    ck_assert_int_eq(ar_ai_enhance_entry(ai, e, &out, &calls, &err), -1);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(calls.count, 2);
    ck_assert_ptr_nonnull(strstr(err.message, "could not be used after a retry"));
    ck_assert_ptr_nonnull(strstr(err.message, "no complete JSON object"));
    ar_error_clear(&err);
    ar_ai_free(ai);
    ai = remote("fake-wrong-types");
    ck_assert_int_eq(ar_ai_enhance_entry(ai, e, &out, &calls, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "expected"));
    ar_error_clear(&err);
    json_decref(e);
    ar_ai_free(ai);
}
END_TEST

START_TEST(remote_section_foreign_citation_dropped)
{
    ar_ai *ai = remote("fake-foreign-cite");
    json_t *entries = json_array();
    json_array_append_new(entries, entry(11));
    json_array_append_new(entries, entry(12));
    json_t *out = NULL;
    ar_ai_calls calls = {0};
    ar_error err = {0};
    ck_assert_msg(ar_ai_draft_section(ai, "weekly", "Highlights", entries, NULL, &out, &calls, &err) == 0, "%s",
                  err.message);
    json_t *items = json_object_get(out, "items");
    ck_assert_int_eq(json_array_size(items), 2);
    long long allowed[] = {11, 12};
    size_t dropped = 0;
    json_t *valid = ar_ai_validate_citations(items, allowed, 2, &dropped);
    ck_assert_uint_eq(dropped, 2);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(json_array_get(valid, 0), "citations"), 0)), 11);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(valid, 0), "citations")), 1);
    ck_assert(json_is_true(json_object_get(json_array_get(valid, 0), "flagged")));
    json_decref(valid);
    json_decref(out);
    /* skills over the same entries cite only what the prompt showed */
    ck_assert_msg(ar_ai_extract_skills(ai, entries, &out, &calls, &err) == 0, "%s", err.message);
    json_t *pg = json_array_get(json_object_get(out, "skills"), 0);
    ck_assert_int_eq(json_array_size(json_object_get(pg, "evidence")), 2);
    json_decref(out);
    json_decref(entries);
    ar_ai_free(ai);
}
END_TEST

static void suite_teardown(void)
{
    ar_templates_free(templates);
    templates = NULL;
    fake_stop();
}

Suite *llm_suite(void)
{
    Suite *s = suite_create("llm");
    TCase *tc = tcase_create("openai_fake");
    tcase_add_unchecked_fixture(tc, fake_start, suite_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, chat_sends_model_key_and_json_mode);
    tcase_add_test(tc, wrong_key_fails_at_once_without_leaking_it);
    tcase_add_test(tc, rate_limited_then_ok_is_retried);
    tcase_add_test(tc, server_errors_fail_after_retries);
    tcase_add_test(tc, slow_server_times_out);
    tcase_add_test(tc, remote_enhance_fenced_reply);
    tcase_add_test(tc, remote_malformed_reply_repaired_once);
    tcase_add_test(tc, remote_garbage_fails_clearly);
    tcase_add_test(tc, remote_section_foreign_citation_dropped);
    suite_add_tcase(s, tc);
    return s;
}

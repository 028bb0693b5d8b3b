/* test_config.c — unit tests for configuration loading: defaults, precedence (env > .env > generated file),
 * aliases, validation messages, .env syntax and secret redaction. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afterresume/core/config.h"

static const char *vars[] = {"AR_BIND", "AR_PORT", "AR_PUBLIC_URL", "AR_SECRET_KEY", "SECRET_KEY", "AR_ENV",
                             "AR_HTTP_THREADS", "AR_WORKERS", "DATABASE_URL", "VALKEY_URL", "REDIS_URL", "AR_STORAGE",
                             "S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY", "MINIO_BUCKET",
                             "SMTP_URL", "LLM_PROVIDER", "LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY",
                             "STRIPE_SECRET_KEY", "AR_MAX_BODY", "AR_LOG_LEVEL"};

static void clean_env(void)
{
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    setenv("DATABASE_URL", "postgresql://ar:pw@127.0.0.1:5432/afterresume", 1);
    setenv("VALKEY_URL", "redis://127.0.0.1:6379/0", 1);
}

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/ar-config-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

START_TEST(defaults_are_spec_defaults)
{
    clean_env();
    ar_config c;
    ar_error e = {0};
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), 0);
    ck_assert_str_eq(c.bind, "127.0.0.1");
    ck_assert_int_eq(c.port, 8080);
    ck_assert_str_eq(c.public_url, "http://127.0.0.1:8080");
    ck_assert_str_eq(c.env, "development");
    ck_assert_int_eq(c.production, 0);
    ck_assert_int_eq(c.workers, 2);
    ck_assert_int_ge(c.http_threads, 2);
    ck_assert_str_eq(c.storage, "local");
    ck_assert_str_eq(c.storage_dir, "./var/objects");
    ck_assert_str_eq(c.llm_provider, "local");
    ck_assert_str_eq(c.stripe_api_base, "https://api.stripe.com");
    ck_assert_uint_eq(c.max_body_bytes, 1048576);
    ck_assert_int_eq(c.conn_timeout_s, 30);
    ck_assert_ptr_null(c.stripe_secret_key);
    ck_assert_str_eq(json_string_value(json_object_get(c.sources, "AR_PORT")), "default");
    ck_assert_str_eq(json_string_value(json_object_get(c.sources, "DATABASE_URL")), "env");
    ar_config_free(&c);
}
END_TEST

START_TEST(precedence_env_over_dotenv_over_generated)
{
    clean_env();
    unsetenv("DATABASE_URL");
    char *dotenv = write_temp("# comment\nAR_PORT=9090\nexport AR_BIND = 0.0.0.0\nLLM_MODEL=\"small model\" \n");
    char *gen = write_temp("AR_PORT=7070\nDATABASE_URL=postgresql://127.0.0.1:54329/afterresume\n");
    setenv("AR_BIND", "127.0.0.2", 1);
    ar_config c;
    ar_error e = {0};
    ck_assert_int_eq(ar_config_load(&c, dotenv, gen, &e), 0);
    ck_assert_int_eq(c.port, 9090);                 /* .env beats generated */
    ck_assert_str_eq(c.bind, "127.0.0.2");          /* env beats .env */
    ck_assert_str_eq(c.llm_model, "small model");   /* quotes stripped */
    ck_assert_str_eq(c.database_url, "postgresql://127.0.0.1:54329/afterresume");
    ck_assert_str_eq(json_string_value(json_object_get(c.sources, "DATABASE_URL")), "var/afterresumed.env");
    ck_assert_str_eq(json_string_value(json_object_get(c.sources, "AR_PORT")), ".env");
    ar_config_free(&c);
    unlink(dotenv);
    unlink(gen);
    free(dotenv);
    free(gen);
}
END_TEST

START_TEST(aliases_are_accepted)
{
    clean_env();
    unsetenv("VALKEY_URL");
    setenv("REDIS_URL", "redis://127.0.0.1:6380/2", 1);
    setenv("SECRET_KEY", "0123456789abcdef0123456789abcdef", 1);
    setenv("AR_STORAGE", "s3", 1);
    setenv("S3_ENDPOINT", "http://127.0.0.1:9000", 1);
    setenv("MINIO_BUCKET", "evidence", 1);
    setenv("S3_ACCESS_KEY", "ak", 1);
    setenv("S3_SECRET_KEY", "sk", 1);
    ar_config c;
    ar_error e = {0};
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), 0);
    ck_assert_str_eq(c.valkey_url, "redis://127.0.0.1:6380/2");
    ck_assert_str_eq(c.s3_bucket, "evidence");
    ck_assert_str_eq(c.secret_key, "0123456789abcdef0123456789abcdef");
    ar_config_free(&c);
}
END_TEST

START_TEST(invalid_values_are_all_reported)
{
    clean_env();
    setenv("AR_PORT", "70000", 1);
    setenv("AR_BIND", "localhost:80", 1);
    setenv("AR_ENV", "prod", 1);
    setenv("VALKEY_URL", "http://nope", 1);
    setenv("AR_WORKERS", "-1", 1);
    setenv("LLM_PROVIDER", "openai", 1);
    ar_config c;
    ar_error e = {0};
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), -1);
    ck_assert_int_eq(e.code, AR_ERR_VALIDATION);
    ck_assert_ptr_nonnull(json_object_get(e.fields, "AR_PORT"));
    ck_assert_ptr_nonnull(json_object_get(e.fields, "AR_BIND"));
    ck_assert_ptr_nonnull(json_object_get(e.fields, "AR_ENV"));
    ck_assert_ptr_nonnull(json_object_get(e.fields, "VALKEY_URL"));
    ck_assert_ptr_nonnull(json_object_get(e.fields, "AR_WORKERS"));
    ck_assert_ptr_nonnull(json_object_get(e.fields, "LLM_BASE_URL"));
    ck_assert_ptr_nonnull(strstr(e.message, "invalid configuration"));
    ar_error_clear(&e);
    ar_config_free(&c);
}
END_TEST

START_TEST(production_requires_secret)
{
    clean_env();
    setenv("AR_ENV", "production", 1);
    ar_config c;
    ar_error e = {0};
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), -1);
    ck_assert_ptr_nonnull(json_object_get(e.fields, "AR_SECRET_KEY"));
    ar_error_clear(&e);
    ar_config_free(&c);
    setenv("AR_SECRET_KEY", "0123456789abcdef0123456789abcdef-long-enough", 1);
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), 0);
    ck_assert_int_eq(c.production, 1);
    ar_config_free(&c);
}
END_TEST

START_TEST(missing_database_is_explained)
{
    clean_env();
    unsetenv("DATABASE_URL");
    ar_config c;
    ar_error e = {0};
    ck_assert_int_eq(ar_config_load(&c, NULL, "/nonexistent/afterresumed.env", &e), -1);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e.fields, "DATABASE_URL")), "make run"));
    ar_error_clear(&e);
    ar_config_free(&c);
}
END_TEST

START_TEST(malformed_dotenv_line_reported)
{
    json_t *o = json_object();
    char *p = write_temp("GOOD=1\nthis line is wrong\nBAD KEY=2\n");
    ck_assert_int_eq(ar_config_read_env_file(p, o), 2);
    ck_assert_str_eq(json_string_value(json_object_get(o, "GOOD")), "1");
    ck_assert_int_eq(ar_config_read_env_file("/nonexistent/.env", o), -1);
    json_decref(o);
    unlink(p);
    free(p);
}
END_TEST

START_TEST(secrets_are_redacted)
{
    char *r = ar_config_redact_url("postgresql://user:s3cret@db:5432/x");
    ck_assert_str_eq(r, "postgresql://user:********@db:5432/x");
    free(r);
    r = ar_config_redact_url("host=db password='a b' user=x");
    ck_assert_str_eq(r, "host=db password=******** user=x");
    free(r);
    r = ar_config_redact_url("redis://127.0.0.1:6379/0");
    ck_assert_str_eq(r, "redis://127.0.0.1:6379/0");
    free(r);

    clean_env();
    setenv("DATABASE_URL", "postgresql://ar:topsecretpw@127.0.0.1/x", 1);
    setenv("STRIPE_SECRET_KEY", "sk_test_abcdef", 1);
    setenv("SMTP_URL", "smtp://mailer:mailpw@127.0.0.1:2525", 1);
    ar_config c;
    ar_error e = {0};
    ck_assert_int_eq(ar_config_load(&c, NULL, NULL, &e), 0);
    json_t *d = ar_config_describe(&c);
    char *txt = json_dumps(d, 0);
    ck_assert_ptr_null(strstr(txt, "topsecretpw"));
    ck_assert_ptr_null(strstr(txt, "sk_test_abcdef"));
    ck_assert_ptr_null(strstr(txt, "mailpw"));
    ck_assert_ptr_nonnull(strstr(txt, "127.0.0.1:2525"));
    free(txt);
    json_decref(d);
    ar_config_free(&c);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults_are_spec_defaults);
    tcase_add_test(tc, precedence_env_over_dotenv_over_generated);
    tcase_add_test(tc, aliases_are_accepted);
    tcase_add_test(tc, invalid_values_are_all_reported);
    tcase_add_test(tc, production_requires_secret);
    tcase_add_test(tc, missing_database_is_explained);
    tcase_add_test(tc, malformed_dotenv_line_reported);
    tcase_add_test(tc, secrets_are_redacted);
    suite_add_tcase(s, tc);
    return s;
}

/* it_users.c — signed-up users for integration tests (see it_users.h). */
#include "it_users.h"
#include "harness.h"

#include "afterresume/domain/billing.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static char *mint_passkey(const char *db_url)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s admin mint-passkey 2>/dev/null", db_url,
             it_binary());
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char buf[128] = "";
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, p));
    ck_assert_int_eq(pclose(p), 0);
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

long it_user_raw(const it_daemon *d, const it_user *u, int use_session, const char *method, const char *path,
                 const char *body, const char *content_type, it_response *out)
{
    char url[1024], auth[200], cookie[256], csrf[160], ctype[128];
    snprintf(url, sizeof url, "%s%s", d->base_url, path);
    const char *headers[6];
    int n = 0;
    if (body) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", content_type ? content_type : "application/json");
        headers[n++] = ctype;
    }
    if (u && !use_session) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", u->token);
        headers[n++] = auth;
    } else if (u) {
        snprintf(cookie, sizeof cookie, "Cookie: %s", u->cookie);
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", u->csrf);
        headers[n++] = cookie;
        headers[n++] = csrf;
    }
    headers[n] = NULL;
    ck_assert_int_eq(it_http(method, url, headers, body, body ? strlen(body) : 0, out), 0);
    return out->status;
}

long it_user_call(const it_daemon *d, const it_user *u, int use_session, const char *method, const char *path,
                  const char *json_body, json_t **out)
{
    it_response r;
    long status = it_user_raw(d, u, use_session, method, path, json_body, NULL, &r);
    if (out) *out = json_loads(ar_buf_cstr(&r.body), 0, NULL);
    it_response_free(&r);
    return status;
}

void it_user_new(const it_daemon *d, const char *db_url, it_user *u, const char *prefix)
{
    memset(u, 0, sizeof *u);
    char *passkey = mint_passkey(db_url);
    char *hex = it_random_hex(4);
    snprintf(u->name, sizeof u->name, "%s%s", prefix, hex);
    free(hex);
    char body[512], url[256];
    snprintf(body, sizeof body,
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"correct horse battery\",\"passkey\":\"%s\"}",
             u->name, u->name, passkey);
    free(passkey);
    snprintf(url, sizeof url, "%s/api/auth/signup/", d->base_url);
    const char *headers[] = {"Content-Type: application/json", NULL};
    it_response r;
    ck_assert_int_eq(it_http("POST", url, headers, body, strlen(body), &r), 0);
    ck_assert_msg(r.status == 201, "signup: %ld %s", r.status, ar_buf_cstr(&r.body));
    const char *p = strcasestr(ar_buf_cstr(&r.headers), "Set-Cookie: ar_session=");
    ck_assert_ptr_nonnull(p);
    p += strlen("Set-Cookie: ");
    size_t len = strcspn(p, ";\r\n");
    ck_assert_uint_lt(len, sizeof u->cookie);
    memcpy(u->cookie, p, len);
    u->cookie[len] = '\0';
    json_t *j = json_loads(ar_buf_cstr(&r.body), 0, NULL);
    ck_assert_ptr_nonnull(j);
    snprintf(u->csrf, sizeof u->csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    u->id = json_integer_value(json_object_get(json_object_get(j, "user"), "id"));
    u->tenant = json_integer_value(json_object_get(json_object_get(j, "tenant"), "id"));
    json_decref(j);
    it_response_free(&r);
    json_t *t;
    long st = it_user_call(d, u, 1, "POST", "/api/tokens/", "{\"name\":\"tests\",\"scope\":\"write\"}", &t);
    ck_assert_msg(st == 201, "token: %ld", st);
    snprintf(u->token, sizeof u->token, "%s", json_string_value(json_object_get(t, "token")));
    json_decref(t);
}

const char *it_user_wait_job(const it_daemon *d, const it_user *u, long long job_id, int timeout_s)
{
    static const char *const finished[] = {"succeeded", "failed", "cancelled"};
    char path[64];
    snprintf(path, sizeof path, "/api/jobs/%lld/", job_id);
    for (int i = 0; i < timeout_s * 10; i++) {
        json_t *j = NULL;
        long st = it_user_call(d, u, 0, "GET", path, NULL, &j);
        const char *status = st == 200 ? json_string_value(json_object_get(j, "status")) : NULL;
        for (size_t k = 0; status && k < 3; k++)
            if (strcmp(status, finished[k]) == 0) {
                json_decref(j);
                return finished[k];
            }
        json_decref(j);
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
    return "timeout";
}

void it_user_credit(const it_user *u, long long staff_id, long long cents)
{
    ar_ctx s = {0};
    s.user_id = staff_id;
    s.tenant_id = u->tenant;
    s.role = AR_ROLE_OWNER;
    s.is_staff = 1;
    snprintf(s.request_id, sizeof s.request_id, "test");
    ar_error err = {0};
    ck_assert_msg(ar_billing_adjust(&s, u->tenant, cents, "Test credit for AI jobs", NULL, NULL, &err) == 0, "credit: %s",
                  err.message);
}

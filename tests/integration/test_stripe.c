/* test_stripe.c — Stripe top-ups end to end: the real daemon (PostgreSQL, Valkey) configured against the local
 * Stripe fake (tests/fakes/stripe_fake.mjs, node), which creates Checkout Sessions and signs and delivers webhook
 * events (with two v1 signatures, as during a secret rotation). Covers: top-up → session → signed
 * checkout.session.completed → credited once; the same event 5 times and async events out of order → credited
 * once; refunds reverse the refunded delta (and a refund that arrives before the payment is retried later);
 * tampered, stale, unsigned and wrongly signed deliveries → 400 and nothing written; amounts and metadata that
 * contradict our top-up are recorded as failed without money moving; unknown types recorded; input validation,
 * CSRF and tenant isolation; no key configured → 503 and the page says so; the browser flow; a clean stop. */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "afterresume/clients/stripe.h"
#include "afterresume/core/buf.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/billing.h"
#include "afterresume/domain/registry.h"
#include "integration/daemon.h"
#include "integration/harness.h"

#define API_KEY "sk_test_it_4eC39HqLyjWDarjtT1zdp7dc"
#define WEBHOOK_SECRET "whsec_it_signing_secret"

static it_daemon d;
static char *db_url;
static pid_t fake_pid;
static int fake_port;
static char fake_base[64], fake_log[256];
static char env_db[1024], env_api[128], env_key[128], env_secret[128];

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

static void fake_start(const char *webhook_url)
{
    snprintf(fake_log, sizeof fake_log, "/tmp/ar-it-stripe-fake-%d-%d.log", (int)getpid(), fake_port);
    pid_t parent = getpid();
    fake_pid = fork();
    ck_assert_int_ge(fake_pid, 0);
    if (fake_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(0);
        int fd = open(fake_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        char port[16];
        snprintf(port, sizeof port, "%d", fake_port);
        /* the old secret first: the daemon must find its signature among several v1 values */
        execlp("node", "node", "tests/fakes/stripe_fake.mjs", "--port", port, "--api-key", API_KEY, "--webhook-url",
               webhook_url, "--webhook-secret", "whsec_old_rotated_out," WEBHOOK_SECRET, (char *)NULL);
        perror("exec node");
        _exit(127);
    }
    for (int i = 0; i < 150; i++) {
        int st;
        if (waitpid(fake_pid, &st, WNOHANG) == fake_pid) {
            fake_pid = 0;
            char *log = it_read_file(fake_log);
            ck_abort_msg("the Stripe fake exited: %s", log ? log : "(no log)");
        }
        if (port_open(fake_port)) return;
        sleep_ms(100);
    }
    ck_abort_msg("the Stripe fake did not start listening on port %d", fake_port);
}

static void start(void)
{
    db_url = it_migrated_db();
    fake_port = it_free_port();
    snprintf(fake_base, sizeof fake_base, "http://127.0.0.1:%d", fake_port);
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    snprintf(env_api, sizeof env_api, "STRIPE_API_BASE=%s", fake_base);
    snprintf(env_key, sizeof env_key, "STRIPE_SECRET_KEY=%s", API_KEY);
    snprintf(env_secret, sizeof env_secret, "STRIPE_WEBHOOK_SECRET=%s", WEBHOOK_SECRET);
    const char *env[] = {env_db,
                         env_api,
                         env_key,
                         env_secret,
                         "AR_RATE_LIMIT_SIGNUP_IP=1000/300",
                         "AR_RATE_LIMIT_PASSKEY_IP=1000/300",
                         "AR_RATE_LIMIT_SIGNIN_IP=1000/300",
                         NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon did not start; see %s", d.log_path);
    char hook[128];
    snprintf(hook, sizeof hook, "%s/api/billing/webhook/", d.base_url);
    fake_start(hook);
}

static void stop(void)
{
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
        fake_pid = 0;
    }
    it_daemon_stop(&d);
}

/* ---- HTTP helpers ---- */

typedef struct client {
    char cookie[200];
    char csrf[100];
    long long tenant_id;
} client;

static long request(const char *base, client *cl, const char *method, const char *path, const char *content_type,
                    const char *body, const char *const *extra, it_response *r)
{
    char url[1024], cookie[256], csrf[160], ctype[128];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *headers[12];
    int n = 0;
    if (content_type) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", content_type);
        headers[n++] = ctype;
    }
    if (cl && cl->cookie[0]) {
        snprintf(cookie, sizeof cookie, "Cookie: %s", cl->cookie);
        headers[n++] = cookie;
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", cl->csrf);
        headers[n++] = csrf;
    }
    for (int i = 0; extra && extra[i] && n < 11; i++) headers[n++] = extra[i];
    headers[n] = NULL;
    ck_assert_int_eq(it_http(method, url, headers, body, body ? strlen(body) : 0, r), 0);
    return r->status;
}

static json_t *body_json(it_response *r)
{
    json_error_t e;
    json_t *j = json_loads(ar_buf_cstr(&r->body), 0, &e);
    ck_assert_msg(j != NULL, "not JSON (HTTP %ld): %s", r->status, ar_buf_cstr(&r->body));
    return j;
}

/* A control call to the fake: POST/GET path with a JSON body; returns the parsed answer (status 200 required). */
static json_t *fake(const char *method, const char *path, const char *json)
{
    it_response r;
    const char *auth[] = {"Authorization: Bearer " API_KEY, NULL};
    long st = request(fake_base, NULL, method, path, json ? "application/json" : NULL, json, auth, &r);
    ck_assert_msg(st == 200, "fake %s %s: %ld %s", method, path, st, ar_buf_cstr(&r.body));
    json_t *j = body_json(&r);
    it_response_free(&r);
    return j;
}

static char *cli(const char *args, int *status)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s %s 2>/dev/null", db_url, it_binary(), args);
    FILE *p = popen(cmd, "r");
    ar_buf out = AR_BUF_INIT;
    char chunk[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) ar_buf_append(&out, chunk, n);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return ar_buf_steal(&out);
}

static char *mint_passkey(void)
{
    int st;
    char *out = cli("admin mint-passkey", &st);
    ck_assert_int_eq(st, 0);
    out[strcspn(out, "\r\n")] = '\0';
    return out;
}

static void signup(const char *base, client *cl, const char *username)
{
    char *key = mint_passkey();
    char json[512];
    snprintf(json, sizeof json,
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"correct horse battery\",\"passkey\":\"%s\"}",
             username, username, key);
    free(key);
    it_response r;
    memset(cl, 0, sizeof *cl);
    long st = request(base, NULL, "POST", "/api/auth/signup/", "application/json", json, NULL, &r);
    ck_assert_msg(st == 201, "signup %s: %ld %s", username, st, ar_buf_cstr(&r.body));
    const char *p = ar_buf_cstr(&r.headers);
    while ((p = strcasestr(p, "Set-Cookie: ar_session=")) != NULL) {
        p += strlen("Set-Cookie: ");
        size_t len = strcspn(p, ";\r\n");
        if (len < sizeof cl->cookie) {
            memcpy(cl->cookie, p, len);
            cl->cookie[len] = '\0';
        }
    }
    json_t *j = body_json(&r);
    snprintf(cl->csrf, sizeof cl->csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    cl->tenant_id = json_integer_value(json_object_get(json_object_get(j, "tenant"), "id"));
    ck_assert_int_gt(cl->tenant_id, 0);
    json_decref(j);
    it_response_free(&r);
}

/* ---- database checks (bypassing RLS) ---- */

static PGconn *db(void)
{
    PGconn *c = it_pg_connect_to(db_url);
    it_exec(c, "SELECT set_config('app.bypass_rls','on',false)");
    return c;
}

static long q_long(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long q_long(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGconn *c = db();
    long v = it_query_long(c, sql);
    PQfinish(c);
    return v;
}

static long balance(long long tenant)
{
    return q_long("SELECT coalesce((SELECT balance_cents FROM reserve_accounts WHERE tenant_id = %lld), 0)", tenant);
}

static long ledger_count(long long tenant, const char *type)
{
    return q_long("SELECT count(*) FROM ledger_entries WHERE tenant_id = %lld AND entry_type = '%s'", tenant, type);
}

static long events_count(void)
{
    return q_long("SELECT count(*) FROM stripe_events");
}

/* ---- top-up helpers ---- */

typedef struct topup {
    long long id;
    char session[256];
} topup;

static topup start_topup(client *cl, long long cents)
{
    char json[64];
    snprintf(json, sizeof json, "{\"amount_cents\":%lld}", cents);
    it_response r;
    long st = request(d.base_url, cl, "POST", "/api/billing/topup/session/", "application/json", json, NULL, &r);
    ck_assert_msg(st == 200, "top-up: %ld %s", st, ar_buf_cstr(&r.body));
    json_t *j = body_json(&r);
    topup t = {0};
    t.id = json_integer_value(json_object_get(j, "topup_id"));
    snprintf(t.session, sizeof t.session, "%s", json_string_value(json_object_get(j, "session_id")));
    const char *url = json_string_value(json_object_get(j, "checkout_url"));
    char expected[400];
    snprintf(expected, sizeof expected, "%s/pay/%s", fake_base, t.session);
    ck_assert_str_eq(url, expected);
    ck_assert_str_eq(json_string_value(json_object_get(j, "url")), url);
    ck_assert_int_gt(t.id, 0);
    ck_assert(strncmp(t.session, "cs_test_", 8) == 0);
    json_decref(j);
    it_response_free(&r);
    return t;
}

/* POST a control path of the fake that makes an event; returns the event id (heap) and the delivery answer. */
static char *fake_event(const char *path, const char *json, long *delivery_status, json_t **delivery_body)
{
    json_t *j = fake("POST", path, json);
    char *id = strdup(json_string_value(json_object_get(json_object_get(j, "event"), "id")));
    json_t *delivery = json_object_get(j, "delivery");
    if (delivery_status) *delivery_status = json_is_object(delivery) ? json_integer_value(json_object_get(delivery, "status")) : -1;
    if (delivery_body) {
        const char *text = json_string_value(json_object_get(delivery, "body"));
        *delivery_body = text ? json_loads(text, 0, NULL) : NULL;
    }
    json_decref(j);
    return id;
}

/* Deliver a recorded event again (opts: JSON for the fake's deliver call); returns the daemon's status. */
static long redeliver(const char *event_id, const char *opts, char *result, size_t result_size)
{
    char path[300];
    snprintf(path, sizeof path, "/_fake/events/%s/deliver", event_id);
    json_t *j = fake("POST", path, opts ? opts : "{}");
    json_t *delivery = json_object_get(j, "delivery");
    long st = json_integer_value(json_object_get(delivery, "status"));
    if (result) {
        json_t *b = json_loads(json_string_value(json_object_get(delivery, "body")), 0, NULL);
        snprintf(result, result_size, "%s", json_string_value(json_object_get(b, "status")) ? json_string_value(json_object_get(b, "status")) : "");
        json_decref(b);
    }
    json_decref(j);
    return st;
}

/* ---- tests ---- */

START_TEST(topup_session_and_completed_credits_once)
{
    client a;
    signup(d.base_url, &a, "payer1");
    ck_assert_int_eq(balance(a.tenant_id), 0);
    topup t = start_topup(&a, 2500);

    /* the session Stripe holds carries our metadata, the amount and the return URLs */
    char path[400];
    snprintf(path, sizeof path, "/v1/checkout/sessions/%s", t.session);
    json_t *s = fake("GET", path, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "amount_total")), 2500);
    ck_assert_str_eq(json_string_value(json_object_get(s, "currency")), "usd");
    ck_assert_str_eq(json_string_value(json_object_get(s, "mode")), "payment");
    ck_assert_str_eq(json_string_value(json_object_get(s, "payment_status")), "unpaid");
    char want[64];
    snprintf(want, sizeof want, "%lld", t.id);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "metadata"), "topup_id")), want);
    snprintf(want, sizeof want, "%lld", a.tenant_id);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "metadata"), "tenant_id")), want);
    char success[300];
    snprintf(success, sizeof success, "%s/billing/topup/success?topup=%lld&session_id={CHECKOUT_SESSION_ID}",
             d.base_url, t.id);
    ck_assert_str_eq(json_string_value(json_object_get(s, "success_url")), success);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(s, "client_reference_id")), want));
    json_decref(s);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE id = %lld AND status = 'pending' AND "
                            "stripe_checkout_session_id = '%s'", t.id, t.session), 1);

    /* the success page before payment: pending, polling, and it never credits */
    it_response r;
    snprintf(path, sizeof path, "/billing/topup/success?topup=%lld&session_id=%s", t.id, t.session);
    ck_assert_int_eq(request(d.base_url, &a, "GET", path, NULL, NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "data-status=\"pending\""));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "hx-trigger=\"every 2s\""));
    it_response_free(&r);
    ck_assert_int_eq(balance(a.tenant_id), 0);

    /* pay: the fake signs (two v1 values) and delivers checkout.session.completed */
    snprintf(path, sizeof path, "/_fake/sessions/%s/pay", t.session);
    long st;
    json_t *res;
    char *evt = fake_event(path, "{}", &st, &res);
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "processed");
    ck_assert_int_eq(json_integer_value(json_object_get(res, "topup_id")), t.id);
    json_decref(res);
    ck_assert_int_eq(balance(a.tenant_id), 2500);
    ck_assert_int_eq(ledger_count(a.tenant_id, "topup"), 1);

    /* the same event delivered again (5 deliveries in all): skipped, credited once */
    for (int i = 0; i < 4; i++) {
        char result[32];
        ck_assert_int_eq(redeliver(evt, NULL, result, sizeof result), 200);
        ck_assert_str_eq(result, "skipped");
    }
    ck_assert_int_eq(balance(a.tenant_id), 2500);
    ck_assert_int_eq(ledger_count(a.tenant_id, "topup"), 1);
    ck_assert_int_eq(q_long("SELECT count(*) FROM stripe_events WHERE event_id = '%s' AND result = 'processed' AND "
                            "tenant_id = %lld AND topup_id = %lld", evt, a.tenant_id, t.id), 1);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE id = %lld AND status = 'paid' AND "
                            "stripe_payment_intent_id LIKE 'pi_%%'", t.id), 1);

    /* the success page now shows the new balance; the status fragment too */
    snprintf(path, sizeof path, "/billing/topup/%lld/status", t.id);
    ck_assert_int_eq(request(d.base_url, &a, "GET", path, NULL, NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "data-status=\"paid\""));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "$25.00"));
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), "hx-trigger"));
    it_response_free(&r);
    ck_assert_int_eq(request(d.base_url, &a, "GET", "/billing", NULL, NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "id=\"billing-balance\">$25.00<"));
    it_response_free(&r);

    /* the same Idempotency-Key is never reused for another top-up: a second top-up is a new session */
    topup t2 = start_topup(&a, 2500);
    ck_assert_str_ne(t2.session, t.session);
    free(evt);
}
END_TEST

START_TEST(async_and_out_of_order_credit_once)
{
    client a;
    signup(d.base_url, &a, "payer2");
    topup t = start_topup(&a, 5000);
    char path[400];
    long st;
    /* a delayed payment method: completed arrives unpaid, then async_payment_succeeded; neither delivered yet */
    snprintf(path, sizeof path, "/_fake/sessions/%s/pay", t.session);
    char *completed = fake_event(path, "{\"async\":true,\"deliver\":false}", &st, NULL);
    ck_assert_int_eq(st, -1);
    snprintf(path, sizeof path, "/_fake/sessions/%s/async", t.session);
    char *succeeded = fake_event(path, "{\"outcome\":\"succeeded\",\"deliver\":false}", &st, NULL);
    ck_assert_int_eq(balance(a.tenant_id), 0);

    /* out of order: the success lands first and credits */
    char result[32];
    ck_assert_int_eq(redeliver(succeeded, NULL, result, sizeof result), 200);
    ck_assert_str_eq(result, "processed");
    ck_assert_int_eq(balance(a.tenant_id), 5000);
    /* then the (unpaid) completed event: recorded, nothing moves */
    ck_assert_int_eq(redeliver(completed, NULL, result, sizeof result), 200);
    ck_assert_str_eq(result, "ignored");
    /* and both again, five times each */
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(redeliver(completed, NULL, result, sizeof result), 200);
        ck_assert_str_eq(result, "skipped");
        ck_assert_int_eq(redeliver(succeeded, NULL, result, sizeof result), 200);
        ck_assert_str_eq(result, "skipped");
    }
    ck_assert_int_eq(balance(a.tenant_id), 5000);
    ck_assert_int_eq(ledger_count(a.tenant_id, "topup"), 1);

    /* in order this time, on another top-up: completed (unpaid) leaves it pending, the success credits */
    topup t2 = start_topup(&a, 1500);
    snprintf(path, sizeof path, "/_fake/sessions/%s/pay", t2.session);
    json_t *res;
    free(fake_event(path, "{\"async\":true}", &st, &res));
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "ignored");
    json_decref(res);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE id = %lld AND status = 'pending'", t2.id), 1);
    snprintf(path, sizeof path, "/_fake/sessions/%s/async", t2.session);
    free(fake_event(path, "{\"outcome\":\"succeeded\"}", &st, NULL));
    ck_assert_int_eq(st, 200);
    ck_assert_int_eq(balance(a.tenant_id), 6500);

    /* a failed delayed payment marks the top-up failed and moves nothing */
    topup t3 = start_topup(&a, 700);
    snprintf(path, sizeof path, "/_fake/sessions/%s/pay", t3.session);
    free(fake_event(path, "{\"async\":true}", &st, NULL));
    snprintf(path, sizeof path, "/_fake/sessions/%s/async", t3.session);
    free(fake_event(path, "{\"outcome\":\"failed\"}", &st, &res));
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "processed");
    json_decref(res);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE id = %lld AND status = 'failed'", t3.id), 1);
    /* an abandoned session expires */
    topup t4 = start_topup(&a, 800);
    snprintf(path, sizeof path, "/v1/checkout/sessions/%s/expire", t4.session);
    json_decref(fake("POST", path, NULL));
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE id = %lld AND status = 'expired'", t4.id), 1);
    ck_assert_int_eq(balance(a.tenant_id), 6500);
    ck_assert_int_eq(ledger_count(a.tenant_id, "topup"), 2);
    free(completed);
    free(succeeded);
}
END_TEST

START_TEST(refund_reverses_the_delta)
{
    client a;
    signup(d.base_url, &a, "payer3");
    topup t = start_topup(&a, 3000);
    char path[400];
    long st;
    snprintf(path, sizeof path, "/_fake/sessions/%s/pay", t.session);
    free(fake_event(path, "{}", &st, NULL));
    ck_assert_int_eq(balance(a.tenant_id), 3000);

    snprintf(path, sizeof path, "/_fake/sessions/%s/refund", t.session);
    json_t *res;
    char *first = fake_event(path, "{\"amount\":1000}", &st, &res);
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "processed");
    json_decref(res);
    ck_assert_int_eq(balance(a.tenant_id), 2000);
    /* a second partial refund: charge.amount_refunded is cumulative (1500), only the 500 delta is reversed */
    free(fake_event(path, "{\"amount\":500}", &st, NULL));
    ck_assert_int_eq(balance(a.tenant_id), 1500);
    char result[32];
    ck_assert_int_eq(redeliver(first, NULL, result, sizeof result), 200);
    ck_assert_str_eq(result, "skipped");
    ck_assert_int_eq(balance(a.tenant_id), 1500);
    ck_assert_int_eq(ledger_count(a.tenant_id, "refund"), 2);
    ck_assert_int_eq(q_long("SELECT -sum(amount_cents) FROM ledger_entries WHERE tenant_id = %lld AND "
                            "entry_type = 'refund'", a.tenant_id), 1500);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE id = %lld AND status = 'paid' AND "
                            "amount_refunded_cents = 1500", t.id), 1);
    /* the rest: fully refunded */
    free(fake_event(path, "{\"amount\":1500}", &st, NULL));
    ck_assert_int_eq(balance(a.tenant_id), 0);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE id = %lld AND status = 'refunded'", t.id), 1);

    /* a refund whose payment event has not landed yet: 409, nothing recorded, Stripe's retry succeeds later */
    topup t2 = start_topup(&a, 2000);
    snprintf(path, sizeof path, "/_fake/sessions/%s/pay", t2.session);
    char *paid = fake_event(path, "{\"deliver\":false}", &st, NULL);
    snprintf(path, sizeof path, "/_fake/sessions/%s/refund", t2.session);
    char *early = fake_event(path, "{\"amount\":400}", &st, NULL);
    ck_assert_int_eq(st, 409);
    ck_assert_int_eq(q_long("SELECT count(*) FROM stripe_events WHERE event_id = '%s'", early), 0);
    ck_assert_int_eq(redeliver(paid, NULL, result, sizeof result), 200);
    ck_assert_str_eq(result, "processed");
    ck_assert_int_eq(redeliver(early, NULL, result, sizeof result), 200);
    ck_assert_str_eq(result, "processed");
    ck_assert_int_eq(balance(a.tenant_id), 1600);

    /* a charge without metadata is matched to the top-up by its PaymentIntent */
    PGconn *c = db();
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT stripe_payment_intent_id FROM topups WHERE id = %lld", t2.id);
    char *pi = it_query_value(c, sql);
    PQfinish(c);
    ck_assert_ptr_nonnull(pi);
    char json[600];
    snprintf(json, sizeof json,
             "{\"type\":\"charge.refunded\",\"object\":{\"id\":\"ch_no_metadata\",\"object\":\"charge\","
             "\"amount\":2000,\"amount_refunded\":900,\"currency\":\"usd\",\"metadata\":{},"
             "\"payment_intent\":\"%s\",\"refunded\":false}}",
             pi);
    json_t *res2;
    free(fake_event("/_fake/events", json, &st, &res2));
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(json_string_value(json_object_get(res2, "status")), "processed");
    ck_assert_int_eq(json_integer_value(json_object_get(res2, "topup_id")), t2.id);
    json_decref(res2);
    ck_assert_int_eq(balance(a.tenant_id), 1100); /* 900 refunded in total, 400 of it reversed before */
    free(pi);
    free(first);
    free(paid);
    free(early);
}
END_TEST

/* Many deliveries at the same moment: the same event from 8 threads, and a second event (async success) for
 * the same top-up racing with it. Exactly one credit. */
typedef struct racer {
    pthread_barrier_t *barrier;
    const char *body;
    long status;
    char result[32];
} racer;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    ar_buf_append(ud, p, size * n);
    return size * n;
}

static void *race(void *arg)
{
    racer *r = arg;
    char url[128], sig[256], header[300];
    snprintf(url, sizeof url, "%s/api/billing/webhook/", d.base_url);
    long long now = (long long)time(NULL);
    char v1[65];
    ar_stripe_sign(WEBHOOK_SECRET, now, r->body, strlen(r->body), v1);
    snprintf(sig, sizeof sig, "t=%lld,v1=%s", now, v1);
    snprintf(header, sizeof header, "Stripe-Signature: %s", sig);
    /* a handle of its own (it_http keeps one per thread for keep-alive checks, never freed in short threads) */
    CURL *curl = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    hl = curl_slist_append(hl, header);
    ar_buf resp = AR_BUF_INIT;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    pthread_barrier_wait(r->barrier);
    if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
        json_t *j = json_loads(ar_buf_cstr(&resp), 0, NULL);
        snprintf(r->result, sizeof r->result, "%s",
                 json_string_value(json_object_get(j, "status")) ? json_string_value(json_object_get(j, "status")) : "");
        json_decref(j);
    }
    ar_buf_free(&resp);
    curl_slist_free_all(hl);
    curl_easy_cleanup(curl);
    return NULL;
}

START_TEST(concurrent_deliveries_credit_once)
{
    client a;
    signup(d.base_url, &a, "payer10");
    topup t = start_topup(&a, 3300);
    char path[400];
    snprintf(path, sizeof path, "/v1/checkout/sessions/%s", t.session);
    json_t *s = fake("GET", path, NULL);
    json_object_set_new(s, "payment_status", json_string("paid"));
    json_object_set_new(s, "status", json_string("complete"));
    json_object_set_new(s, "payment_intent", json_string("pi_race_1"));
    json_t *e1 = json_pack("{s:s,s:s,s:s,s:I,s:{s:O},s:b}", "id", "evt_race_completed", "object", "event", "type",
                           "checkout.session.completed", "created", (json_int_t)time(NULL), "data", "object", s,
                           "livemode", 0);
    json_t *e2 = json_pack("{s:s,s:s,s:s,s:I,s:{s:O},s:b}", "id", "evt_race_async", "object", "event", "type",
                           "checkout.session.async_payment_succeeded", "created", (json_int_t)time(NULL), "data",
                           "object", s, "livemode", 0);
    char *b1 = json_dumps(e1, JSON_COMPACT), *b2 = json_dumps(e2, JSON_COMPACT);
    enum { N = 10 };
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, N);
    racer r[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        r[i] = (racer){&barrier, i % 5 == 4 ? b2 : b1, 0, ""};
        pthread_create(&th[i], NULL, race, &r[i]);
    }
    int processed = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(r[i].status == 200, "delivery %d: %ld", i, r[i].status);
        if (strcmp(r[i].result, "processed") == 0) processed++;
        else ck_assert_msg(strcmp(r[i].result, "skipped") == 0 || strcmp(r[i].result, "ignored") == 0, "%s",
                           r[i].result);
    }
    pthread_barrier_destroy(&barrier);
    ck_assert_int_eq(processed, 1);
    ck_assert_int_eq(balance(a.tenant_id), 3300);
    ck_assert_int_eq(ledger_count(a.tenant_id, "topup"), 1);
    ck_assert_int_eq(q_long("SELECT count(*) FROM stripe_events WHERE event_id IN ('evt_race_completed', "
                            "'evt_race_async')"), 2);
    free(b1);
    free(b2);
    json_decref(e1);
    json_decref(e2);
    json_decref(s);
}
END_TEST

/* POST a body to the webhook with a given Stripe-Signature header (NULL = none). */
static long post_webhook(const char *body, const char *signature, it_response *r)
{
    char sig[512];
    const char *extra[] = {sig, NULL};
    if (signature) snprintf(sig, sizeof sig, "Stripe-Signature: %s", signature);
    return request(d.base_url, NULL, "POST", "/api/billing/webhook/", "application/json", body,
                   signature ? extra : NULL, r);
}

START_TEST(bad_signatures_write_nothing)
{
    client a;
    signup(d.base_url, &a, "payer4");
    topup t = start_topup(&a, 4000);
    char path[400];
    long st;
    snprintf(path, sizeof path, "/_fake/sessions/%s/pay", t.session);
    char *evt = fake_event(path, "{\"deliver\":false}", &st, NULL);
    long events_before = events_count();

    /* tampered body (signed over the original) */
    ck_assert_int_eq(redeliver(evt, "{\"tamper\":true}", NULL, 0), 400);
    /* stale: signed 400 s ago; and from the future */
    ck_assert_int_eq(redeliver(evt, "{\"timestamp_offset\":-400}", NULL, 0), 400);
    ck_assert_int_eq(redeliver(evt, "{\"timestamp_offset\":400}", NULL, 0), 400);
    /* signed with another secret only */
    ck_assert_int_eq(redeliver(evt, "{\"secret\":\"whsec_not_ours\"}", NULL, 0), 400);
    ck_assert_int_eq(events_count(), events_before);
    ck_assert_int_eq(balance(a.tenant_id), 0);

    /* direct posts: no header, v0 only, garbage, a valid signature over something that is not an event */
    const char *body = "{\"id\":\"evt_direct_1\",\"object\":\"event\",\"type\":\"checkout.session.completed\"}";
    it_response r;
    ck_assert_int_eq(post_webhook(body, NULL, &r), 400);
    json_t *j = body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "bad_request");
    json_decref(j);
    it_response_free(&r);
    char v1[65], header[256];
    long long now = (long long)time(NULL);
    ar_stripe_sign(WEBHOOK_SECRET, now, body, strlen(body), v1);
    snprintf(header, sizeof header, "t=%lld,v0=%s", now, v1);
    ck_assert_int_eq(post_webhook(body, header, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(post_webhook(body, "garbage", &r), 400);
    it_response_free(&r);
    snprintf(header, sizeof header, "t=%lld,v1=%s", now, v1); /* good signature, but no data.object */
    ck_assert_int_eq(post_webhook(body, header, &r), 400);
    it_response_free(&r);
    const char *not_json = "this is not json";
    ar_stripe_sign(WEBHOOK_SECRET, now, not_json, strlen(not_json), v1);
    snprintf(header, sizeof header, "t=%lld,v1=%s", now, v1);
    ck_assert_int_eq(post_webhook(not_json, header, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(events_count(), events_before);

    /* the genuine delivery still works afterwards */
    char result[32];
    ck_assert_int_eq(redeliver(evt, NULL, result, sizeof result), 200);
    ck_assert_str_eq(result, "processed");
    ck_assert_int_eq(balance(a.tenant_id), 4000);
    free(evt);
}
END_TEST

/* Events that are signed but contradict our top-up: recorded "failed" (staff see them), no money moves. */
START_TEST(contradicting_events_are_recorded_not_applied)
{
    client a, b;
    signup(d.base_url, &a, "payer5");
    signup(d.base_url, &b, "payer6");
    topup t = start_topup(&a, 2000);
    char path[400];
    snprintf(path, sizeof path, "/v1/checkout/sessions/%s", t.session);
    json_t *s = fake("GET", path, NULL);
    json_object_set_new(s, "payment_status", json_string("paid"));
    json_object_set_new(s, "status", json_string("complete"));

    /* amount_total differs from our row */
    json_object_set_new(s, "amount_total", json_integer(200000));
    json_t *req = json_pack("{s:s,s:O}", "type", "checkout.session.completed", "object", s);
    char *text = json_dumps(req, 0);
    long st;
    json_t *res;
    char *evt = fake_event("/_fake/events", text, &st, &res);
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "failed");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(res, "detail")), "does not match"));
    json_decref(res);
    ck_assert_int_eq(q_long("SELECT count(*) FROM stripe_events WHERE event_id = '%s' AND result = 'failed' AND "
                            "result_detail LIKE '%%does not match%%'", evt), 1);
    free(evt);
    free(text);
    json_decref(req);

    /* the right amount but metadata claiming another tenant */
    json_object_set_new(s, "amount_total", json_integer(2000));
    char other[32];
    snprintf(other, sizeof other, "%lld", b.tenant_id);
    json_object_set_new(json_object_get(s, "metadata"), "tenant_id", json_string(other));
    req = json_pack("{s:s,s:O}", "type", "checkout.session.completed", "object", s);
    text = json_dumps(req, 0);
    free(fake_event("/_fake/events", text, &st, &res));
    ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "failed");
    json_decref(res);
    free(text);
    json_decref(req);
    ck_assert_int_eq(balance(a.tenant_id), 0);
    ck_assert_int_eq(balance(b.tenant_id), 0);
    json_decref(s);

    /* another merchant's session on the same Stripe account (no metadata.topup_id) and an unknown type */
    free(fake_event("/_fake/events",
                    "{\"type\":\"checkout.session.completed\",\"object\":{\"id\":\"cs_test_other\",\"object\":"
                    "\"checkout.session\",\"payment_status\":\"paid\",\"amount_total\":999,\"metadata\":{}}}",
                    &st, &res));
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "ignored");
    json_decref(res);
    evt = fake_event("/_fake/events", "{\"type\":\"customer.created\",\"object\":{\"id\":\"cus_1\",\"object\":\"customer\"}}",
                     &st, &res);
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(json_string_value(json_object_get(res, "status")), "ignored");
    json_decref(res);
    ck_assert_int_eq(q_long("SELECT count(*) FROM stripe_events WHERE event_id = '%s' AND event_type = "
                            "'customer.created' AND result = 'ignored'", evt), 1);
    free(evt);
    ck_assert_int_eq(q_long("SELECT count(*) FROM ledger_entries WHERE tenant_id IN (%lld, %lld)", a.tenant_id,
                            b.tenant_id), 0);
}
END_TEST

START_TEST(topup_input_csrf_and_isolation)
{
    client a, b;
    signup(d.base_url, &a, "payer7");
    signup(d.base_url, &b, "payer8");
    static const char *bad[] = {"{\"amount_cents\":99}", "{\"amount_cents\":1000001}", "{\"amount_cents\":\"2500\"}",
                                "{\"amount_cents\":2500.5}", "{}", "{\"amount_cents\":-100}",
                                "{\"amount_cents\":99999999999999999999}", "{\"amount_cents\":true}"};
    it_response r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long st = request(d.base_url, &a, "POST", "/api/billing/topup/session/", "application/json", bad[i], NULL, &r);
        ck_assert_msg(st == 400, "%s -> %ld", bad[i], st);
        if (strstr(bad[i], "9999999999999") == NULL) {
            json_t *j = body_json(&r);
            ck_assert_msg(json_object_get(json_object_get(json_object_get(j, "error"), "fields"), "amount_cents"),
                          "%s: %s", bad[i], ar_buf_cstr(&r.body));
            json_decref(j);
        }
        it_response_free(&r);
    }
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE tenant_id = %lld", a.tenant_id), 0);
    /* without the CSRF token */
    client nocsrf = a;
    nocsrf.csrf[0] = '\0';
    ck_assert_int_eq(request(d.base_url, &nocsrf, "POST", "/api/billing/topup/session/", "application/json",
                             "{\"amount_cents\":2500}", NULL, &r),
                     403);
    it_response_free(&r);
    /* not signed in */
    ck_assert_int_eq(request(d.base_url, NULL, "POST", "/api/billing/topup/session/", "application/json",
                             "{\"amount_cents\":2500}", NULL, &r),
                     401);
    it_response_free(&r);
    /* another tenant's top-up is a 404 everywhere */
    topup t = start_topup(&a, 2500);
    char path[300];
    snprintf(path, sizeof path, "/billing/topup/%lld/status", t.id);
    ck_assert_int_eq(request(d.base_url, &b, "GET", path, NULL, NULL, NULL, &r), 404);
    it_response_free(&r);
    snprintf(path, sizeof path, "/billing/topup/success?topup=%lld", t.id);
    ck_assert_int_eq(request(d.base_url, &b, "GET", path, NULL, NULL, NULL, &r), 404);
    it_response_free(&r);
    ck_assert_int_eq(request(d.base_url, &b, "GET", "/billing/topup/99999999/status", NULL, NULL, NULL, &r), 404);
    it_response_free(&r);
    /* the page form: a plain (non-htmx) post answers a page with the payment link; htmx gets HX-Redirect */
    ck_assert_int_eq(request(d.base_url, &a, "POST", "/billing/topup", "application/x-www-form-urlencoded",
                             "amount=1000", NULL, &r),
                     200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "id=\"checkout-link\" href=\"http://127.0.0.1:"));
    it_response_free(&r);
    const char *hx[] = {"HX-Request: true", NULL};
    ck_assert_int_eq(request(d.base_url, &a, "POST", "/billing/topup", "application/x-www-form-urlencoded",
                             "amount=1000&custom_amount=12.50", hx, &r),
                     200);
    char loc[300];
    ck_assert_ptr_nonnull(it_header(&r, "HX-Redirect", loc, sizeof loc));
    ck_assert(strncmp(loc, fake_base, strlen(fake_base)) == 0);
    it_response_free(&r);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE tenant_id = %lld AND amount_cents = 1250", a.tenant_id),
                     1);
    ck_assert_int_eq(request(d.base_url, &a, "POST", "/billing/topup", "application/x-www-form-urlencoded",
                             "custom_amount=abc", NULL, &r),
                     422);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "custom-amount-error"));
    it_response_free(&r);
}
END_TEST

START_TEST(no_key_means_payments_off)
{
    it_daemon off;
    const char *env[] = {env_db, "AR_RATE_LIMIT_SIGNUP_IP=1000/300", "AR_RATE_LIMIT_PASSKEY_IP=1000/300", NULL};
    ck_assert_int_eq(it_daemon_start(&off, env), 0);
    client a;
    signup(off.base_url, &a, "payer9");
    it_response r;
    ck_assert_int_eq(request(off.base_url, &a, "POST", "/api/billing/topup/session/", "application/json",
                             "{\"amount_cents\":2500}", NULL, &r),
                     503);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Payments are not configured"));
    it_response_free(&r);
    ck_assert_int_eq(request(off.base_url, &a, "GET", "/billing", NULL, NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Payments are not configured"));
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), "topup-submit"));
    it_response_free(&r);
    ck_assert_int_eq(post_webhook("{}", "t=1,v1=00", &r), 400); /* the configured daemon still answers */
    it_response_free(&r);
    char url[128];
    snprintf(url, sizeof url, "%s/api/billing/webhook/", off.base_url);
    const char *h[] = {"Content-Type: application/json", "Stripe-Signature: t=1,v1=00", NULL};
    ck_assert_int_eq(it_http("POST", url, h, "{}", 2, &r), 0);
    ck_assert_int_eq(r.status, 503);
    it_response_free(&r);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE tenant_id = %lld", a.tenant_id), 0);
    ck_assert_int_eq(it_daemon_stop(&off), 0);
}
END_TEST

/* The billing page with real data: a credited balance, an active hold, posted usage (chart and by-model table),
 * ledger pages. Holds and usage are made with the billing service, as the AI features will. */
/* Stripe refuses (a wrong key): a clean 503, the top-up is marked failed, the key is not in the log. */
START_TEST(stripe_refusal_is_a_clean_error)
{
    it_daemon wrong;
    const char *env[] = {env_db, env_api, "STRIPE_SECRET_KEY=sk_test_wrong_key_do_not_log_9f8e7d", env_secret,
                         "AR_RATE_LIMIT_SIGNUP_IP=1000/300", "AR_RATE_LIMIT_PASSKEY_IP=1000/300", NULL};
    ck_assert_int_eq(it_daemon_start(&wrong, env), 0);
    client a;
    signup(wrong.base_url, &a, "payer12");
    it_response r;
    ck_assert_int_eq(request(wrong.base_url, &a, "POST", "/api/billing/topup/session/", "application/json",
                             "{\"amount_cents\":2500}", NULL, &r),
                     503);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "nothing was charged"));
    ck_assert_ptr_null(strstr(ar_buf_cstr(&r.body), "sk_test_wrong"));
    it_response_free(&r);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE tenant_id = %lld AND status = 'failed' AND "
                            "failure_reason LIKE '%%HTTP 401%%'", a.tenant_id), 1);
    ck_assert_int_eq(q_long("SELECT count(*) FROM topups WHERE failure_reason LIKE '%%sk_test_wrong%%'"), 0);
    ck_assert_int_eq(it_daemon_stop(&wrong), 0);
    char *log = it_read_file(wrong.log_path);
    ck_assert_ptr_nonnull(strstr(log, "stripe checkout session failed"));
    ck_assert_ptr_null(strstr(log, "sk_test_wrong_key"));
    ck_assert_msg(strstr(log, "Sanitizer") == NULL && strstr(log, "runtime error") == NULL, "sanitizer report in %s",
                  wrong.log_path);
    free(log);
}
END_TEST

START_TEST(billing_page_shows_holds_usage_and_pages)
{
    client a;
    signup(d.base_url, &a, "payer11");
    topup t = start_topup(&a, 10000);
    char path[400];
    long st;
    snprintf(path, sizeof path, "/_fake/sessions/%s/pay", t.session);
    free(fake_event(path, "{}", &st, NULL));
    ck_assert_int_eq(balance(a.tenant_id), 10000);

    ar_domain_register_all();
    ar_ctx sys = {0};
    sys.bypass_rls = 1;
    ar_error err = {0};
    long long hold = 0;
    long long job_base = 900000 + a.tenant_id * 100;
    /* 25 posted jobs (enough for two ledger pages) and one still running */
    for (int i = 0; i < 25; i++) {
        ck_assert_msg(ar_billing_hold(&sys, a.tenant_id, job_base + i, 200, 0, &hold, &err) == 0, "hold: %s",
                      err.message);
        ar_billing_usage_row row = {.usage_type = "tokens", .provider = "openai", .model = "gpt-test",
                                    .prompt_tokens = 100000, .completion_tokens = 50000};
        ar_billing_post_result pr;
        ck_assert_msg(ar_billing_post(&sys, hold, -1, &row, 1, "ai.enhance", &pr, &err) == 0, "post: %s", err.message);
        ck_assert_int_eq(pr.charged_cents, 25); /* default card: 10 ¢ prompt + 15 ¢ completion */
    }
    ck_assert_int_eq(ar_billing_hold(&sys, a.tenant_id, job_base + 99, 150, 0, &hold, &err), 0);
    ar_db_shutdown();

    it_response r;
    ck_assert_int_eq(request(d.base_url, &a, "GET", "/billing", NULL, NULL, NULL, &r), 200);
    const char *html = ar_buf_cstr(&r.body);
    ck_assert_ptr_nonnull(strstr(html, "id=\"billing-balance\">$93.75<"));   /* 100.00 − 25 × 0.25 */
    ck_assert_ptr_nonnull(strstr(html, "id=\"billing-available\">$92.25<")); /* − the $1.50 hold */
    ck_assert_ptr_nonnull(strstr(html, "Active holds"));
    ck_assert_ptr_nonnull(strstr(html, "class=\"billing-chart__bar\""));
    ck_assert_ptr_nonnull(strstr(html, "gpt-test"));
    ck_assert_ptr_nonnull(strstr(html, "$6.25")); /* usage total and the model's cost */
    ck_assert_ptr_nonnull(strstr(html, "Page 1 of"));
    ck_assert_ptr_nonnull(strstr(html, "href=\"/billing?page=2#ledger\""));
    ck_assert_ptr_null(strstr(html, "style="));
    it_response_free(&r);
    ck_assert_int_eq(request(d.base_url, &a, "GET", "/billing?page=2", NULL, NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Page 2 of"));
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "href=\"/billing?page=1#ledger\""));
    it_response_free(&r);
    /* hostile page numbers fall back to the first page */
    ck_assert_int_eq(request(d.base_url, &a, "GET", "/billing?page=-3", NULL, NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(ar_buf_cstr(&r.body), "Page 1 of"));
    it_response_free(&r);
    ck_assert_int_eq(request(d.base_url, &a, "GET", "/billing?page=99999999999999999999", NULL, NULL, NULL, &r), 200);
    it_response_free(&r);
}
END_TEST

START_TEST(browser_topup_through_the_hosted_page)
{
    char *key = mint_passkey();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node tests/e2e/billing.mjs %s %s /tmp", d.base_url, key);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "browser billing flow failed (exit %d)", rc);
    free(key);
}
END_TEST

START_TEST(daemon_stops_cleanly)
{
    ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
    char stat_path[64], state = 'R';
    snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)d.pid);
    for (int i = 0; i < 300 && state != 'Z'; i++) {
        FILE *f = fopen(stat_path, "r");
        if (!f) break;
        if (fscanf(f, "%*d %*s %c", &state) != 1) state = 'Z';
        fclose(f);
        if (state != 'Z') usleep(50 * 1000);
    }
    ck_assert_int_eq(state, 'Z');
    char *log = it_read_file(d.log_path);
    ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"stopped\""));
    ck_assert_msg(strstr(log, "Sanitizer") == NULL && strstr(log, "runtime error") == NULL, "sanitizer report in %s",
                  d.log_path);
    ck_assert_ptr_null(strstr(log, API_KEY)); /* the secret key never reaches the log */
    free(log);
}
END_TEST

Suite *stripe_suite(void)
{
    Suite *s = suite_create("stripe");
    TCase *tc = tcase_create("topups");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_add_test(tc, topup_session_and_completed_credits_once);
    tcase_add_test(tc, async_and_out_of_order_credit_once);
    tcase_add_test(tc, refund_reverses_the_delta);
    tcase_add_test(tc, concurrent_deliveries_credit_once);
    tcase_add_test(tc, bad_signatures_write_nothing);
    tcase_add_test(tc, contradicting_events_are_recorded_not_applied);
    tcase_add_test(tc, topup_input_csrf_and_isolation);
    tcase_add_test(tc, no_key_means_payments_off);
    tcase_add_test(tc, stripe_refusal_is_a_clean_error);
    tcase_add_test(tc, billing_page_shows_holds_usage_and_pages);
    tcase_add_test(tc, browser_topup_through_the_hosted_page);
    tcase_add_test(tc, daemon_stops_cleanly);
    suite_add_tcase(s, tc);
    return s;
}

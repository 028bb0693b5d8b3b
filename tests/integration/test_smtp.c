/* test_smtp.c — integration tests of e-mail delivery against a real SMTP server (tests/fakes/smtp_sink.mjs, node's
 * smtp-server + mailparser): a UTF-8 message arrives intact with its From/To/Subject/text/Message-ID and after
 * AUTH; refusals are reported with their reply code as temporary (4xx, server down) or permanent (5xx); the
 * outbox delivery sends pending rows and records sent / failed attempts with backoff, marks a row failed after
 * the fifth failure or at once on a permanent refusal, survives a server that is down, and skips rows another
 * sender holds or has leased. Each outbox test gets its own migrated throw-away database. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "afterresume/clients/smtp.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/context.h"
#include "afterresume/domain/outbox.h"
#include "afterresume/domain/outbox_delivery.h"
#include "afterresume/domain/registry.h"
#include "afterresume/jobs/email_send.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/queue.h"
#include "afterresume/jobs/scheduler.h"
#include "afterresume/jobs/valkey.h"
#include "afterresume/jobs/worker.h"
#include "integration/daemon.h"
#include "integration/harness.h"

static const char *FROM = "AfterResume <noreply@localhost>";

typedef struct sink {
    pid_t pid;
    int port;
    char out_path[256];
    char reject_path[256];
    char log_path[256];
    char url[128];
} sink;

static sink the_sink;

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

/* Start node tests/fakes/smtp_sink.mjs on a free port and wait (up to 15 s) until it accepts connections. */
static void sink_start(sink *s)
{
    memset(s, 0, sizeof *s);
    s->port = it_free_port();
    ck_assert_int_gt(s->port, 0);
    snprintf(s->out_path, sizeof s->out_path, "/tmp/ar-it-smtp-%d-%d.jsonl", (int)getpid(), s->port);
    snprintf(s->reject_path, sizeof s->reject_path, "/tmp/ar-it-smtp-%d-%d.reject", (int)getpid(), s->port);
    snprintf(s->log_path, sizeof s->log_path, "/tmp/ar-it-smtp-%d-%d.log", (int)getpid(), s->port);
    snprintf(s->url, sizeof s->url, "smtp://tester:secret@127.0.0.1:%d", s->port);
    unlink(s->out_path);
    unlink(s->reject_path);
    pid_t parent = getpid();
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(0);
        int fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        char port[16];
        snprintf(port, sizeof port, "%d", s->port);
        execlp("node", "node", "tests/fakes/smtp_sink.mjs", port, s->out_path, s->reject_path, (char *)NULL);
        perror("exec node");
        _exit(127);
    }
    for (int i = 0; i < 150; i++) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            char *log = it_read_file(s->log_path);
            ck_abort_msg("the SMTP sink exited: %s", log ? log : "(no log)");
        }
        if (port_open(s->port)) return;
        sleep_ms(100);
    }
    ck_abort_msg("the SMTP sink did not start listening on port %d", s->port);
}

static void sink_stop(sink *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    unlink(s->out_path);
    unlink(s->reject_path);
    unlink(s->log_path);
}

/* Make the sink refuse ("451 rcpt", "550 data", ...) or, with NULL, accept again. */
static void sink_refuse(sink *s, const char *how)
{
    if (!how) {
        unlink(s->reject_path);
        return;
    }
    FILE *f = fopen(s->reject_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(how, f);
    fclose(f);
}

/* The messages the sink received, as a JSON array (one object per line of its file). */
static json_t *sink_messages(const sink *s)
{
    json_t *all = json_array();
    FILE *f = fopen(s->out_path, "r");
    if (!f) return all;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *m = json_loads(line, 0, &je);
        ck_assert_msg(m != NULL, "sink line is not JSON: %s", je.text);
        json_array_append_new(all, m);
    }
    free(line);
    fclose(f);
    return all;
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

/* ---- the client on its own ---- */

static void client_setup(void)
{
    sink_start(&the_sink);
}

static void client_teardown(void)
{
    sink_stop(&the_sink);
}

START_TEST(utf8_message_arrives_intact)
{
    ar_error err = {0};
    ar_smtp *s = ar_smtp_new(the_sink.url, FROM, &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    const char *subject = "Résumé prêt ✓ — semaine 47";
    ar_buf body = AR_BUF_INIT;
    ar_buf_puts(&body, "Bonjour Zoë,\n\n");
    for (int i = 0; i < 40; i++) ar_buf_puts(&body, "une très longue ligne — ");
    ar_buf_puts(&body, "fin.\n.\n.a line starting with a dot\nprice = 5 € \n");
    char mid[AR_SMTP_MESSAGE_ID_MAX] = "";
    int rc = ar_smtp_send(s, "ada@example.com", subject, ar_buf_cstr(&body), mid, sizeof mid, &err);
    ck_assert_msg(rc == 0, "send failed: %s", err.message);
    ck_assert_int_eq(ar_smtp_last_failure(s).reply_code, 250);
    ck_assert_int_eq(ar_smtp_last_failure(s).temporary, -1);
    ck_assert_int_eq(mid[0], '<');
    size_t n = strlen(mid);
    ck_assert_str_eq(mid + n - strlen("@localhost>"), "@localhost>");

    /* the same client again (the connection is reused) */
    char mid2[AR_SMTP_MESSAGE_ID_MAX] = "";
    rc = ar_smtp_send(s, "bob@example.org", "Second", "short\n", mid2, sizeof mid2, &err);
    ck_assert_msg(rc == 0, "second send failed: %s", err.message);
    ck_assert_str_ne(mid, mid2);

    json_t *msgs = sink_messages(&the_sink);
    ck_assert_int_eq(json_array_size(msgs), 2);
    json_t *m = json_array_get(msgs, 0);
    ck_assert_str_eq(jstr(m, "subject"), subject);
    ck_assert_str_eq(jstr(m, "to"), "ada@example.com");
    ck_assert_str_eq(jstr(m, "from"), "\"AfterResume\" <noreply@localhost>"); /* as mailparser prints it */
    ck_assert_str_eq(jstr(m, "messageId"), mid);
    ck_assert_str_eq(jstr(m, "text"), ar_buf_cstr(&body));
    ck_assert_str_eq(jstr(m, "user"), "tester"); /* the credentials of the URL were used (AUTH) */
    json_t *env = json_object_get(m, "envelope");
    ck_assert_str_eq(jstr(env, "from"), "noreply@localhost");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(env, "to"), 0)), "ada@example.com");
    json_t *h = json_object_get(m, "headers");
    ck_assert_str_eq(jstr(h, "content-type"), "text/plain; charset=utf-8");
    ck_assert_str_eq(jstr(h, "content-transfer-encoding"), "quoted-printable");
    ck_assert_str_eq(jstr(h, "mime-version"), "1.0");
    ck_assert_str_eq(jstr(h, "message-id"), mid);
    ck_assert_str_eq(jstr(h, "from"), "AfterResume <noreply@localhost>");
    ck_assert_str_eq(jstr(h, "to"), "ada@example.com");
    ck_assert_str_eq(jstr(h, "auto-submitted"), "auto-generated");
    ck_assert_ptr_nonnull(strstr(jstr(h, "date"), " +0000"));
    ck_assert_int_gt(strlen(jstr(m, "date")), 0); /* mailparser understood the Date */
    /* the raw message is 7-bit with CRLF line endings */
    const char *raw = jstr(m, "raw");
    for (const char *p = raw; *p; p++) {
        ck_assert_int_lt((unsigned char)*p, 0x80);
        if (*p == '\n') ck_assert_int_eq(p > raw ? p[-1] : 0, '\r');
    }
    json_t *m2 = json_array_get(msgs, 1);
    ck_assert_str_eq(jstr(m2, "to"), "bob@example.org");
    ck_assert_str_eq(jstr(m2, "messageId"), mid2);
    json_decref(msgs);
    ar_buf_free(&body);
    ar_smtp_free(s);
}
END_TEST

START_TEST(refusals_are_classified)
{
    ar_error err = {0};
    ar_smtp *s = ar_smtp_new(the_sink.url, FROM, &err);
    ck_assert_ptr_nonnull(s);
    static const struct {
        const char *how;
        int code, temporary;
    } cases[] = {{"451 rcpt", 451, 1}, {"452 mail", 452, 1}, {"550 rcpt", 550, 0}, {"554 data", 554, 0},
                 {"451 data", 451, 1}};
    char mid[AR_SMTP_MESSAGE_ID_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sink_refuse(&the_sink, cases[i].how);
        ar_error_clear(&err);
        ck_assert_int_eq(ar_smtp_send(s, "ada@example.com", "Refused", "body\n", mid, sizeof mid, &err), -1);
        ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
        ar_smtp_failure f = ar_smtp_last_failure(s);
        ck_assert_msg(f.reply_code == cases[i].code, "%s: code %d (%s)", cases[i].how, f.reply_code, err.message);
        ck_assert_int_eq(f.temporary, cases[i].temporary);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "smtp %d %s: ", cases[i].code, cases[i].temporary ? "temporary" : "permanent");
        ck_assert_msg(strncmp(err.message, prefix, strlen(prefix)) == 0, "message: %s", err.message);
        /* the server's own words are kept for the operator */
        ck_assert_msg(strstr(err.message, "sink told to refuse") != NULL, "message: %s", err.message);
    }
    /* accepted again: the client recovers after refusals */
    sink_refuse(&the_sink, NULL);
    ar_error_clear(&err);
    ck_assert_msg(ar_smtp_send(s, "ada@example.com", "Accepted", "body\n", mid, sizeof mid, &err) == 0, "%s",
                  err.message);
    json_t *msgs = sink_messages(&the_sink);
    ck_assert_int_eq(json_array_size(msgs), 1);
    ck_assert_str_eq(jstr(json_array_get(msgs, 0), "subject"), "Accepted");
    json_decref(msgs);
    ar_smtp_free(s);

    /* nobody listening: temporary, no reply code, no crash */
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", it_free_port());
    s = ar_smtp_new(url, FROM, &err);
    ck_assert_ptr_nonnull(s);
    ar_error_clear(&err);
    ck_assert_int_eq(ar_smtp_send(s, "ada@example.com", "Nobody", "body\n", mid, sizeof mid, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ck_assert_int_eq(ar_smtp_last_failure(s).reply_code, 0);
    ck_assert_int_eq(ar_smtp_last_failure(s).temporary, 1);
    ck_assert_msg(strncmp(err.message, "smtp 0 temporary: ", 18) == 0, "%s", err.message);
    ar_smtp_free(s);
}
END_TEST

START_TEST(tls_required_refused_by_plain_server)
{
    /* the sink offers no STARTTLS: ?tls=required must not send in clear text */
    char url[160];
    snprintf(url, sizeof url, "%s?tls=required", the_sink.url);
    ar_error err = {0};
    ar_smtp *s = ar_smtp_new(url, FROM, &err);
    ck_assert_ptr_nonnull(s);
    char mid[AR_SMTP_MESSAGE_ID_MAX];
    ck_assert_int_eq(ar_smtp_send(s, "ada@example.com", "Secret", "body\n", mid, sizeof mid, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ck_assert_int_eq(ar_smtp_last_failure(s).temporary, 1);
    json_t *msgs = sink_messages(&the_sink);
    ck_assert_int_eq(json_array_size(msgs), 0);
    json_decref(msgs);
    ar_smtp_free(s);
}
END_TEST

/* ---- the outbox ---- */

static char *db_url;
static PGconn *raw;

static void outbox_setup(void)
{
    sink_start(&the_sink);
    db_url = it_migrated_db();
    ar_domain_register_all();
    raw = it_pg_connect_to(db_url);
    it_exec(raw, "SELECT set_config('app.bypass_rls', 'on', false)"); /* email_outbox is staff/system only */
}

static void outbox_teardown(void)
{
    sink_stop(&the_sink);
    ar_db_shutdown();
    PQfinish(raw);
    raw = NULL;
    it_drop_db(db_url);
    ar_free(db_url);
    db_url = NULL;
}

static const char *SUBJECTS[3] = {"Invitation à AfterResume", "Réinitialiser le mot de passe", "Plain subject"};

static void enqueue_three(void)
{
    ar_ctx ctx = {0};
    ar_error err = {0};
    char to[64], body[128];
    for (int i = 0; i < 3; i++) {
        snprintf(to, sizeof to, "user%d@example.com", i);
        snprintf(body, sizeof body, "Message %d — élan\nSecond line.\n", i);
        ck_assert_msg(ar_outbox_send(&ctx, to, SUBJECTS[i], body, &err) == 0, "%s", err.message);
    }
}

static long count_where(const char *cond)
{
    char *sql = ar_asprintf("SELECT count(*) FROM email_outbox WHERE %s", cond);
    long n = it_query_long(raw, sql);
    ar_free(sql);
    return n;
}

static void make_due(void)
{
    it_exec(raw, "UPDATE email_outbox SET next_attempt_at = now() WHERE status = 'pending'");
}

START_TEST(outbox_sends_pending_rows)
{
    enqueue_three();
    ar_ctx ctx = {0};
    ar_error err = {0};
    ar_smtp *s = ar_smtp_new(the_sink.url, FROM, &err);
    ck_assert_ptr_nonnull(s);
    int sent = -1;
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 3);
    ck_assert_int_eq(sent, 3);
    ck_assert_int_eq(count_where("status = 'sent' AND sent_at IS NOT NULL AND attempts = 1 AND last_error = '' "
                                 "AND message_id LIKE '<%@localhost>'"),
                     3);
    /* the sink has the three messages, and each row carries the Message-ID it was sent with */
    json_t *msgs = sink_messages(&the_sink);
    ck_assert_int_eq(json_array_size(msgs), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *m = json_array_get(msgs, i);
        char to[64], body[128];
        snprintf(to, sizeof to, "user%zu@example.com", i);
        snprintf(body, sizeof body, "Message %zu — élan\nSecond line.\n", i);
        ck_assert_str_eq(jstr(m, "to"), to);
        ck_assert_str_eq(jstr(m, "subject"), SUBJECTS[i]);
        ck_assert_str_eq(jstr(m, "text"), body);
        char *sql = ar_asprintf("SELECT message_id FROM email_outbox WHERE to_addr = '%s'", to);
        char *row_mid = it_query_value(raw, sql);
        ck_assert_str_eq(row_mid, jstr(m, "messageId"));
        ar_free(row_mid);
        ar_free(sql);
    }
    json_decref(msgs);
    /* nothing left to send */
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 0);
    ck_assert_int_eq(sent, 0);

    /* batches: max is honoured, oldest first */
    enqueue_three();
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 2, &sent, &err), 2);
    ck_assert_int_eq(sent, 2);
    ck_assert_int_eq(count_where("status = 'pending'"), 1);
    ck_assert_int_eq(count_where("status = 'pending' AND to_addr = 'user2@example.com'"), 1);
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 2, &sent, &err), 1);
    ck_assert_int_eq(count_where("status = 'sent'"), 6);
    ar_smtp_free(s);
}
END_TEST

START_TEST(outbox_retries_then_fails)
{
    enqueue_three();
    ar_ctx ctx = {0};
    ar_error err = {0};
    ar_smtp *s = ar_smtp_new(the_sink.url, FROM, &err);
    ck_assert_ptr_nonnull(s);
    int sent = -1;

    /* 1st failure: the server refuses temporarily */
    sink_refuse(&the_sink, "451 rcpt");
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 3);
    ck_assert_int_eq(sent, 0);
    ck_assert_int_eq(count_where("status = 'pending' AND attempts = 1 AND last_error LIKE 'smtp 451 temporary: %' "
                                 "AND next_attempt_at > now() + interval '50 seconds' AND sent_at IS NULL"),
                     3);
    /* backoff: not due yet, so nothing is tried */
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 0);
    ck_assert_int_eq(count_where("attempts = 1"), 3);

    /* 2nd..4th failures: the server is down (closed port) — recorded, no crash */
    sink_stop(&the_sink);
    for (int attempt = 2; attempt <= 4; attempt++) {
        make_due();
        ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 3);
        ck_assert_int_eq(sent, 0);
        char cond[160];
        snprintf(cond, sizeof cond, "status = 'pending' AND attempts = %d AND last_error LIKE 'smtp 0 temporary: %%'",
                 attempt);
        ck_assert_int_eq(count_where(cond), 3);
    }
    /* the delay grows with the attempts */
    ck_assert_int_eq(count_where("next_attempt_at > now() + interval '25 minutes'"), 3);

    /* 5th failure: failed for good */
    make_due();
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 3);
    ck_assert_int_eq(count_where("status = 'failed' AND attempts = 5 AND sent_at IS NULL"), 3);
    make_due();
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 0);
    ar_smtp_free(s);
}
END_TEST

START_TEST(outbox_permanent_failures_fail_at_once)
{
    ar_ctx ctx = {0};
    ar_error err = {0};
    ck_assert_int_eq(ar_outbox_send(&ctx, "bounce@example.com", "Refused for good", "x\n", &err), 0);
    ck_assert_int_eq(ar_outbox_send(&ctx, "not an address", "Cannot be sent", "x\n", &err), 0);
    ck_assert_int_eq(ar_outbox_send(&ctx, "fine@example.com", "Fine", "x\n", &err), 0);
    ar_smtp *s = ar_smtp_new(the_sink.url, FROM, &err);
    ck_assert_ptr_nonnull(s);
    int sent = -1;
    /* the first message is refused with 550 (permanent); the sink accepts again for the others */
    sink_refuse(&the_sink, "550 rcpt");
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 1, &sent, &err), 1);
    ck_assert_int_eq(sent, 0);
    sink_refuse(&the_sink, NULL);
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 2);
    ck_assert_int_eq(sent, 1);
    ck_assert_int_eq(count_where("to_addr = 'bounce@example.com' AND status = 'failed' AND attempts = 1 "
                                 "AND last_error LIKE 'smtp 550 permanent: %'"),
                     1);
    ck_assert_int_eq(count_where("to_addr = 'not an address' AND status = 'failed' AND attempts = 1 "
                                 "AND last_error LIKE '%recipient%'"),
                     1);
    ck_assert_int_eq(count_where("to_addr = 'fine@example.com' AND status = 'sent'"), 1);
    json_t *msgs = sink_messages(&the_sink);
    ck_assert_int_eq(json_array_size(msgs), 1);
    json_decref(msgs);
    ar_smtp_free(s);
}
END_TEST

START_TEST(outbox_skips_rows_locked_by_another_sender)
{
    enqueue_three();
    ar_ctx ctx = {0};
    ar_error err = {0};
    ar_smtp *s = ar_smtp_new(the_sink.url, FROM, &err);
    ck_assert_ptr_nonnull(s);
    /* another sender holds user0's row (its claim transaction is still open) */
    it_exec(raw, "BEGIN");
    it_exec(raw, "SELECT id FROM email_outbox WHERE to_addr = 'user0@example.com' FOR UPDATE");
    int sent = -1;
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 2);
    ck_assert_int_eq(sent, 2);
    it_exec(raw, "COMMIT");
    ck_assert_int_eq(count_where("to_addr = 'user0@example.com' AND status = 'pending' AND attempts = 0"), 1);
    /* a claimed row is leased: while its lease runs nobody else takes it */
    it_exec(raw, "UPDATE email_outbox SET next_attempt_at = now() + interval '5 minutes' WHERE status = 'pending'");
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 0);
    make_due();
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, s, 10, &sent, &err), 1);
    ck_assert_int_eq(count_where("status = 'sent'"), 3);
    json_t *msgs = sink_messages(&the_sink);
    ck_assert_int_eq(json_array_size(msgs), 3); /* each message once */
    json_decref(msgs);
    ar_smtp_free(s);
}
END_TEST

START_TEST(outbox_without_smtp_keeps_rows)
{
    enqueue_three();
    ar_ctx ctx = {0};
    ar_error err = {0};
    int sent = -1;
    ck_assert_int_eq(ar_outbox_deliver_pending(&ctx, NULL, 10, &sent, &err), -1);
    ck_assert_int_eq(err.code, AR_ERR_UNAVAILABLE);
    ck_assert_int_eq(sent, 0);
    ck_assert_int_eq(count_where("status = 'pending' AND attempts = 0"), 3);
}
END_TEST

/* ---- the email.send job: outbox → job → worker → SMTP ---- */

static ar_worker_pool *email_pool;

static void email_job_setup(void)
{
    char *hex = it_random_hex(6);
    char *prefix = ar_asprintf("itmail-%s", hex);
    setenv("AR_QUEUE_PREFIX", prefix, 1);
    ar_free(prefix);
    ar_free(hex);
    setenv("AR_JOB_RECONCILE_MS", "300", 1);
    outbox_setup();
    ar_jobs_register();
    /* Valkey database 9 (flushed by the jobs tests), a private key prefix */
    const char *url = it_valkey_url();
    const char *slash = strchr(strstr(url, "://") + 3, '/');
    char *vurl = ar_asprintf("%.*s/9", slash ? (int)(slash - url) : (int)strlen(url), url);
    ar_error err = {0};
    ck_assert_msg(ar_valkey_configure(vurl, &err) == 0, "%s", err.message);
    ar_free(vurl);
    ck_assert_msg(ar_outbox_configure("templates", 1, &err) == 0, "%s", err.message);
    ar_email_send_configure(the_sink.url, FROM);
    email_pool = ar_worker_pool_start(2, &err);
    ck_assert_msg(email_pool != NULL, "%s", err.message);
}

static void email_job_teardown(void)
{
    ar_worker_pool_stop(email_pool, 5);
    email_pool = NULL;
    ar_error err = {0};
    redisReply *r = ar_valkey_command(&err, "DEL %s %s", ar_queue_stream_key(), ar_queue_delayed_key());
    if (r) freeReplyObject(r);
    ar_error_clear(&err);
    ar_valkey_thread_close();
    ar_jobs_shutdown();
    outbox_teardown();
}

/* Wait until the sink holds n messages (up to timeout_ms). */
static json_t *wait_messages(size_t n, long timeout_ms)
{
    for (long waited = 0;; waited += 50) {
        json_t *msgs = sink_messages(&the_sink);
        if (json_array_size(msgs) >= n) return msgs;
        if (waited >= timeout_ms) ck_abort_msg("the sink has %zu messages, not %zu", json_array_size(msgs), n);
        json_decref(msgs);
        sleep_ms(50);
    }
}

static void wait_outbox(const char *cond, long expected, long timeout_ms)
{
    for (long waited = 0;; waited += 50) {
        long n = count_where(cond);
        if (n == expected) return;
        if (waited >= timeout_ms) ck_abort_msg("%ld outbox rows with %s, not %ld", n, cond, expected);
        sleep_ms(50);
    }
}

/* The decoded text of the part with content type `ctype` of a multipart message (heap), or NULL. */
static char *mime_part(const char *raw, const char *ctype)
{
    const char *ct = strstr(raw, "Content-Type: multipart/alternative; boundary=\"");
    if (!ct) return NULL;
    ct += strlen("Content-Type: multipart/alternative; boundary=\"");
    char boundary[80];
    snprintf(boundary, sizeof boundary, "\r\n--%.*s", (int)(strchr(ct, '"') - ct), ct);
    char head[160];
    snprintf(head, sizeof head, "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
             ctype);
    const char *start = strstr(raw, head);
    if (!start) return NULL;
    start += strlen(head);
    const char *end = strstr(start, boundary);
    if (!end) return NULL;
    char *out = ar_malloc((size_t)(end - start) + 1);
    size_t o = 0;
    for (const char *p = start; p < end; p++) {
        if (*p == '=' && end - p >= 3 && p[1] == '\r' && p[2] == '\n') {
            p += 2; /* soft line break */
        } else if (*p == '=' && end - p >= 3) {
            char hex[3] = {p[1], p[2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

static const char *header(json_t *m, const char *name)
{
    return json_string_value(json_object_get(json_object_get(m, "headers"), name));
}

START_TEST(email_job_delivers_templated_message)
{
    ar_ctx ctx = {0};
    ar_error err = {0};
    json_t *data = json_pack("{s:s,s:s,s:i}", "username", "Zoë", "link", "http://localhost:8080/reset?token=abc",
                             "minutes", 30);
    ck_assert_msg(ar_outbox_send_template(&ctx, "zoe@example.com", "password_reset", data, &err) == 0, "%s",
                  err.message);
    json_decref(data);
    /* the message queued its delivery job in the same transaction */
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM jobs WHERE type = 'email.send' AND tenant_id IS NULL "
                                        "AND idempotency_key LIKE 'outbox-%'"),
                     1);
    json_t *msgs = wait_messages(1, 15000);
    json_t *m = json_array_get(msgs, 0);
    ck_assert_str_eq(jstr(m, "subject"), "Reset your AfterResume password");
    ck_assert_str_eq(header(m, "from"), "AfterResume <noreply@localhost>");
    ck_assert_str_eq(header(m, "to"), "zoe@example.com");
    ck_assert_str_eq(header(m, "mime-version"), "1.0");
    ck_assert_msg(strncmp(header(m, "content-type"), "multipart/alternative; boundary=\"=_ar_", 37) == 0, "%s",
                  header(m, "content-type"));
    /* Date: RFC 5322, UTC, within a minute of now */
    const char *date = header(m, "date");
    struct tm tm = {0};
    ck_assert_msg(strptime(date, "%a, %d %b %Y %H:%M:%S +0000", &tm) != NULL, "bad Date %s", date);
    ck_assert_int_lt(labs((long)(timegm(&tm) - time(NULL))), 60);
    /* Message-ID: <...@localhost>, recorded on the row */
    const char *mid = header(m, "message-id");
    ck_assert_msg(mid[0] == '<' && strstr(mid, "@localhost>") != NULL, "bad Message-ID %s", mid);
    wait_outbox("status = 'sent'", 1, 5000);
    char *sql = ar_asprintf("SELECT count(*) FROM email_outbox WHERE message_id = '%s'", mid);
    ck_assert_int_eq(it_query_long(raw, sql), 1);
    ar_free(sql);
    /* the text part (mailparser's text) and an HTML part with the escaped link */
    const char *text = jstr(m, "text");
    ck_assert_msg(strstr(text, "Hello Zoë,") && strstr(text, "within 30 minutes") &&
                      strstr(text, "http://localhost:8080/reset?token=abc"),
                  "text part: %s", text);
    const char *rawmsg = jstr(m, "raw");
    ck_assert_ptr_nonnull(strstr(rawmsg, "Content-Type: text/plain; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(rawmsg, "Content-Type: text/html; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(rawmsg, "Content-Transfer-Encoding: quoted-printable"));
    char *html = mime_part(rawmsg, "text/html");
    ck_assert_msg(html != NULL, "no HTML part in %s", rawmsg);
    ck_assert_msg(strstr(html, "Hello Zoë,") && strstr(html, "href=\"http://localhost:8080/reset?token=abc\""),
                  "html part: %s", html);
    ar_free(html);
    char *plain = mime_part(rawmsg, "text/plain");
    ck_assert_msg(plain && strstr(plain, "Hello Zoë,\r\n"), "text part: %s", plain);
    ar_free(plain);
    /* a second message with a non-ASCII subject through the generic template: RFC 2047 on the wire */
    ck_assert(ar_outbox_send(&ctx, "ada@example.com", "Réunion à 10 h", "Bonjour,\nhttps://example.com/x\n", &err) ==
              0);
    json_decref(msgs);
    msgs = wait_messages(2, 15000);
    m = json_array_get(msgs, 1);
    ck_assert_str_eq(jstr(m, "subject"), "Réunion à 10 h");
    ck_assert_msg(strncmp(header(m, "subject"), "=?UTF-8?B?", 10) == 0, "%s", header(m, "subject"));
    html = mime_part(jstr(m, "raw"), "text/html");
    ck_assert_msg(html && strstr(html, "<a href=\"https://example.com/x\">https://example.com/x</a>") &&
                      strstr(html, "<p>Bonjour,<br>"),
                  "html part: %s", html);
    ar_free(html);
    json_decref(msgs);
}
END_TEST

START_TEST(email_job_retries_while_sink_is_down)
{
    FILE *f = fopen(the_sink.reject_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("451 mail\n", f);
    fclose(f);
    ar_ctx ctx = {0};
    ar_error err = {0};
    ck_assert(ar_outbox_send(&ctx, "ada@example.com", "Retry me", "Body\n", &err) == 0);
    /* the job ran, the sink refused: the row waits for its retry (attempt 1, 1 minute) */
    wait_outbox("status = 'pending' AND attempts = 1 AND last_error LIKE 'smtp 451 temporary%' "
                "AND next_attempt_at > now() + interval '50 seconds'",
                1, 15000);
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM jobs WHERE type = 'email.send' AND status = 'succeeded'"),
                     1);
    unlink(the_sink.reject_path);
    /* time passes (the retry is due) and the email.retry schedule fires */
    make_due();
    ck_assert_int_eq(ar_scheduler_sync_builtin(&err), 0);
    /* only email.retry is due (other areas' migrations add schedules of their own) */
    it_exec(raw, "UPDATE schedules SET next_run_at = CASE WHEN name = 'email.retry' THEN now() - interval '1 second' "
                 "ELSE now() + interval '1 hour' END");
    int enqueued = 0;
    ck_assert_msg(ar_scheduler_run_due(time(NULL), &enqueued, &err) == 0, "%s", err.message);
    ck_assert_int_eq(enqueued, 1);
    wait_outbox("status = 'sent' AND attempts = 2", 1, 15000);
    json_t *msgs = sink_messages(&the_sink);
    ck_assert_int_eq(json_array_size(msgs), 1);
    ck_assert_str_eq(jstr(json_array_get(msgs, 0), "subject"), "Retry me");
    json_decref(msgs);
    /* a permanent refusal ends failed, visible to staff on the outbox listing */
    f = fopen(the_sink.reject_path, "w");
    fputs("550 rcpt\n", f);
    fclose(f);
    ck_assert(ar_outbox_send(&ctx, "bob@example.com", "Never", "Body\n", &err) == 0);
    wait_outbox("status = 'failed' AND to_addr = 'bob@example.com'", 1, 15000);
    ar_ctx staff = {0};
    staff.is_staff = 1;
    json_t *list = ar_outbox_list(&staff, 10, &err);
    ck_assert_ptr_nonnull(list);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "status")), "failed");
    json_decref(list);
    unlink(the_sink.reject_path);
}
END_TEST

START_TEST(email_job_without_smtp_leaves_messages_pending)
{
    ar_error err = {0};
    ar_email_send_configure(NULL, FROM);
    ck_assert_int_eq(ar_outbox_configure("templates", 0, &err), 0);
    ar_ctx ctx = {0};
    ck_assert(ar_outbox_send(&ctx, "ada@example.com", "Stays", "Body\n", &err) == 0);
    /* no job for the message; a scheduled run succeeds and sends nothing */
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM jobs WHERE type = 'email.send'"), 0);
    long long id = 0;
    ck_assert_int_eq(ar_job_enqueue_system("email.send", NULL, "manual", &id, &err), 0);
    for (int i = 0; i < 200; i++) {
        char *st = it_query_value(raw, "SELECT status FROM jobs WHERE type = 'email.send'");
        int done = st && strcmp(st, "succeeded") == 0;
        ar_free(st);
        if (done) break;
        sleep_ms(50);
    }
    ck_assert_int_eq(it_query_long(raw, "SELECT count(*) FROM jobs WHERE type = 'email.send' AND status = "
                                        "'succeeded' AND result->>'skipped' LIKE 'SMTP_URL is not configured%'"),
                     1);
    ck_assert_int_eq(count_where("status = 'pending' AND attempts = 0"), 1);
}
END_TEST

Suite *smtp_integration_suite(void)
{
    Suite *s = suite_create("smtp_integration");
    TCase *client = tcase_create("client");
    tcase_add_checked_fixture(client, client_setup, client_teardown);
    tcase_set_timeout(client, 60);
    tcase_add_test(client, utf8_message_arrives_intact);
    tcase_add_test(client, refusals_are_classified);
    tcase_add_test(client, tls_required_refused_by_plain_server);
    suite_add_tcase(s, client);
    TCase *outbox = tcase_create("outbox");
    tcase_add_checked_fixture(outbox, outbox_setup, outbox_teardown);
    tcase_set_timeout(outbox, 90);
    tcase_add_test(outbox, outbox_sends_pending_rows);
    tcase_add_test(outbox, outbox_retries_then_fails);
    tcase_add_test(outbox, outbox_permanent_failures_fail_at_once);
    tcase_add_test(outbox, outbox_skips_rows_locked_by_another_sender);
    tcase_add_test(outbox, outbox_without_smtp_keeps_rows);
    suite_add_tcase(s, outbox);
    TCase *job = tcase_create("email_job");
    tcase_add_checked_fixture(job, email_job_setup, email_job_teardown);
    tcase_set_timeout(job, 90);
    tcase_add_test(job, email_job_delivers_templated_message);
    tcase_add_test(job, email_job_retries_while_sink_is_down);
    tcase_add_test(job, email_job_without_smtp_leaves_messages_pending);
    suite_add_tcase(s, job);
    return s;
}

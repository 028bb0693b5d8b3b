/* email_send.c — the `email.send` job type: drains the e-mail outbox through SMTP with
 * ar_outbox_deliver_pending (batches of 20 until nothing is due; at most 500 messages per run). Queued by
 * the outbox for every new message (when SMTP is configured) and every 5 minutes by the `email.retry`
 * schedule, which picks up messages whose retry time has come. Without SMTP_URL the job succeeds at once
 * and messages stay pending in the outbox (the embedded default). A message that cannot be sent is retried by
 * the outbox itself (attempts, backoff, final `failed`); the job fails (and is retried by the job system)
 * only when the database is unavailable. Result {"processed":n,"sent":n} or {"skipped":"..."}. */
#include "afterresume/jobs/email_send.h"
#include "afterresume/clients/smtp.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/domain/outbox.h"
#include "afterresume/domain/outbox_delivery.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 20
#define MAX_PER_RUN 500

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static char *smtp_url, *mail_from;

void ar_email_send_configure(const char *url, const char *from)
{
    pthread_mutex_lock(&cfg_lock);
    free(smtp_url);
    free(mail_from);
    smtp_url = url && *url ? ar_strdup(url) : NULL;
    mail_from = ar_strdup(from && *from ? from : "AfterResume <noreply@localhost>");
    pthread_mutex_unlock(&cfg_lock);
}

void ar_email_send_shutdown(void)
{
    pthread_mutex_lock(&cfg_lock);
    free(smtp_url);
    free(mail_from);
    smtp_url = mail_from = NULL;
    pthread_mutex_unlock(&cfg_lock);
}

static int email_send_handler(ar_job_ctx *jc, json_t *payload, json_t **result, ar_error *err)
{
    (void)payload;
    pthread_mutex_lock(&cfg_lock);
    char *url = smtp_url ? ar_strdup(smtp_url) : NULL;
    char *from = mail_from ? ar_strdup(mail_from) : NULL;
    pthread_mutex_unlock(&cfg_lock);
    if (!url) {
        free(from);
        *result = json_pack("{s:s}", "skipped", "SMTP_URL is not configured; messages stay in the outbox");
        return 0;
    }
    ar_smtp *smtp = ar_smtp_new(url, from, err);
    free(url);
    free(from);
    if (!smtp) return -1;
    int processed = 0, sent_total = 0, rc = 0;
    while (processed < MAX_PER_RUN) {
        int sent = 0;
        int n = ar_outbox_deliver_pending(jc->ctx, smtp, BATCH, &sent, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        processed += n;
        sent_total += sent;
        if (n < BATCH) break;
        if (ar_job_progress(jc, processed * 100 / MAX_PER_RUN, "sending")) break;
    }
    ar_smtp_free(smtp);
    if (rc == 0) *result = json_pack("{s:i,s:i}", "processed", processed, "sent", sent_total);
    return rc;
}

const ar_job_type ar_job_email_send = {"email.send", email_send_handler, 5, NULL};

int ar_jobs_configure(const ar_config *cfg, ar_error *err)
{
    ar_jobs_set_limits(cfg->jobs_tenant_concurrency, cfg->jobs_tenant_daily_quota);
    ar_email_send_configure(cfg->smtp_url, cfg->mail_from);
    return ar_outbox_configure(cfg->templates_dir, cfg->smtp_url != NULL, err);
}

void ar_jobs_shutdown(void)
{
    ar_email_send_shutdown();
    ar_outbox_shutdown();
}

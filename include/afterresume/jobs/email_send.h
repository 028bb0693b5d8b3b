/* email_send.h — the `email.send` job type (src/jobs/email_send.c) and the jobs start-up configuration
 * that `afterresumed serve` and `worker` apply from ar_config. */
#ifndef AFTERRESUME_JOBS_EMAIL_SEND_H
#define AFTERRESUME_JOBS_EMAIL_SEND_H
#include "afterresume/core/config.h"
#include "afterresume/core/error.h"

/* SMTP for email.send (url NULL/"" = not configured: the job leaves messages pending). */
void ar_email_send_configure(const char *smtp_url, const char *mail_from);
void ar_email_send_shutdown(void);

/* From the configuration: per-tenant limits (AR_JOBS_TENANT_CONCURRENCY, AR_JOBS_TENANT_DAILY_QUOTA),
 * SMTP_URL / MAIL_FROM for email.send, and the e-mail templates (AR_TEMPLATES_DIR/email). Call after
 * ar_jobs_register() and before the worker pool starts. 0 or -1 with err (templates do not compile). */
int ar_jobs_configure(const ar_config *cfg, ar_error *err);
/* Free what ar_jobs_configure set up. */
void ar_jobs_shutdown(void);

#endif

/* registry.c — calls every domain module's statement registration once, at start-up. */
#include "afterresume/domain/registry.h"

void ar_domain_register_all(void)
{
    ar_context_register();
    ar_audit_register();
    ar_passkeys_register();
    ar_accounts_register();
    ar_sessions_register();
    ar_tokens_register();
    ar_outbox_register();
    ar_password_reset_register();
    ar_outbox_delivery_register();
    /* worklog */
    ar_worklog_register();
    ar_worklog_catalog_register();
    /* evidence */
    ar_attachments_register();
    /* import / export */
    ar_transfer_register();
    /* billing */
    ar_billing_register();
    ar_topups_register(); /* src/domain/topups.c (Stripe top-ups) */
    /* career material */
    ar_ai_jobs_register();
    ar_skills_register();
    ar_reports_register();
    ar_suggestions_register();
}

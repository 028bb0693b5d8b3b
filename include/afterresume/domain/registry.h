/* registry.h — start-up registration of every domain module's prepared statements. Call
 * ar_domain_register_all() once before any thread uses the database (the daemon, the CLI and the tests). */
#ifndef AFTERRESUME_DOMAIN_REGISTRY_H
#define AFTERRESUME_DOMAIN_REGISTRY_H

void ar_domain_register_all(void);

/* One per module (src/domain/<module>.c). */
void ar_context_register(void);
void ar_audit_register(void);
void ar_passkeys_register(void);
void ar_accounts_register(void);
void ar_sessions_register(void);
void ar_tokens_register(void);
void ar_outbox_register(void);
void ar_password_reset_register(void);
void ar_outbox_delivery_register(void);
/* worklog */
void ar_worklog_register(void);         /* src/domain/worklog.c */
void ar_worklog_catalog_register(void); /* src/domain/worklog_catalog.c */
/* evidence */
void ar_attachments_register(void);
/* import / export */
void ar_transfer_register(void);
/* billing */
void ar_billing_register(void);
void ar_topups_register(void);   /* src/domain/topups.c */
/* career material */
void ar_ai_jobs_register(void);
void ar_skills_register(void);
void ar_reports_register(void);
void ar_suggestions_register(void);

#endif

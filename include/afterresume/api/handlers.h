/* handlers.h — JSON API handlers referenced by the route table (one source file per area under src/api/). */
#ifndef AFTERRESUME_API_HANDLERS_H
#define AFTERRESUME_API_HANDLERS_H
#include "afterresume/http/request.h"

/* src/api/health.c */
void api_healthz(ar_request *req);
void api_readyz(ar_request *req);
void api_metrics(ar_request *req);
void api_csp_report(ar_request *req);
/* src/api/auth.c */
void api_auth_signup(ar_request *req);
void api_auth_login(ar_request *req);
void api_auth_logout(ar_request *req);
void api_auth_token(ar_request *req);
void api_me(ar_request *req);
void api_tokens_list(ar_request *req);
void api_tokens_create(ar_request *req);
void api_tokens_revoke(ar_request *req);
void api_sessions_list(ar_request *req);
void api_sessions_end(ar_request *req);
void api_password_change(ar_request *req);
void api_password_reset_request(ar_request *req);
void api_password_reset_confirm(ar_request *req);
/* src/api/admin.c */
void api_admin_passkeys_create(ar_request *req);
void api_tenant_passkeys_create(ar_request *req);
void api_passkeys_list(ar_request *req);
void api_passkeys_detail(ar_request *req);
void api_passkeys_revoke(ar_request *req);
void api_admin_users_list(ar_request *req);
void api_admin_users_update(ar_request *req);
void api_admin_users_reset_password(ar_request *req);
void api_audit_list(ar_request *req);
void api_audit_export_csv(ar_request *req);
void api_admin_ratelimits_list(ar_request *req);
void api_admin_ratelimits_reset(ar_request *req);
void api_tenant_members_list(ar_request *req);
void api_tenant_members_update(ar_request *req);
void api_tenant_members_remove(ar_request *req);

/* src/web/status.c (the JSON face of the status bar) */
void api_status_bar(ar_request *req);

/* src/api/jobs.c */
void api_jobs_list(ar_request *req);
void api_jobs_detail(ar_request *req);
void api_jobs_cancel(ar_request *req);
void api_jobs_retry(ar_request *req);

/* src/api/worklog.c */
void api_worklogs_list(ar_request *req);
void api_worklogs_create(ar_request *req);
void api_worklogs_detail(ar_request *req);
void api_worklogs_replace(ar_request *req);
void api_worklogs_patch(ar_request *req);
void api_worklogs_delete(ar_request *req);
void api_worklogs_restore(ar_request *req);
void api_worklogs_calendar(ar_request *req);
void api_tags_list(ar_request *req);
void api_clients_list(ar_request *req);
void api_clients_create(ar_request *req);
void api_clients_detail(ar_request *req);
void api_clients_replace(ar_request *req);
void api_clients_patch(ar_request *req);
void api_clients_delete(ar_request *req);
void api_projects_list(ar_request *req);
void api_projects_create(ar_request *req);
void api_projects_detail(ar_request *req);
void api_projects_replace(ar_request *req);
void api_projects_patch(ar_request *req);
void api_projects_delete(ar_request *req);

/* src/api/attachments.c */
void api_attachments_upload(ar_request *req);    /* AR_BODY_MULTIPART: runs before the body is read */
void api_attachments_list(ar_request *req);
void api_attachments_download(ar_request *req);
void api_attachments_delete(ar_request *req);
void web_attachments_fragment(ar_request *req);  /* src/web/attachments.c: the entry's attachments partial */

/* src/api/transfer.c */
void api_export_worklogs(ar_request *req);
void api_import_worklogs(ar_request *req);

/* src/api/exports.c + jobs additions */
void api_exports_create(ar_request *req);
void api_exports_download(ar_request *req);
void api_jobs_events(ar_request *req);
void api_admin_jobs_list(ar_request *req);
void api_admin_jobs_retry(ar_request *req);
void api_admin_jobs_cancel(ar_request *req);

/* src/api/billing.c */
void api_billing_balance(ar_request *req);
void api_billing_ledger(ar_request *req);
void api_billing_usage(ar_request *req);
void api_billing_holds(ar_request *req);
void api_billing_admin_adjust(ar_request *req);
void api_billing_admin_accounts(ar_request *req);
void api_billing_admin_summary(ar_request *req);
void api_billing_admin_costs(ar_request *req);
void api_billing_admin_stripe_events(ar_request *req);
void api_billing_admin_rate_cards(ar_request *req);
void api_billing_admin_rate_card_create(ar_request *req);
void api_billing_admin_ledger_csv(ar_request *req);
void api_billing_threshold(ar_request *req);
void api_billing_admin_threshold(ar_request *req);

/* src/api/stripe.c */
void api_billing_topup_session(ar_request *req);
void api_billing_webhook(ar_request *req);

/* src/api/reports.c (reports, share links), src/api/enhance.c (enhancement, AI settings), src/api/skills.c */
void api_reports_generate(ar_request *req);
void api_reports_list(ar_request *req);
void api_reports_detail(ar_request *req);
void api_reports_update(ar_request *req);
void api_reports_delete(ar_request *req);
void api_reports_export(ar_request *req);
void api_reports_share_create(ar_request *req);
void api_reports_share_list(ar_request *req);
void api_share_links_revoke(ar_request *req);
void api_worklogs_enhance(ar_request *req);
void api_worklogs_suggestions(ar_request *req);
void api_suggestions_accept(ar_request *req);
void api_suggestions_reject(ar_request *req);
void api_ai_settings(ar_request *req);
void api_ai_settings_update(ar_request *req);
void api_admin_ai(ar_request *req);
void api_skills_list(ar_request *req);
void api_skills_evidence(ar_request *req);
void api_skills_recompute(ar_request *req);
void api_skills_update(ar_request *req);
void api_skills_merge(ar_request *req);

/* Shared helpers: a positive numeric path parameter (0 when it is not one); the per-account sign-in limit
 * (0 allowed, 1 limited with err + req->retry_after, -1 error). */
long long ar_req_id_param(ar_request *req, const char *name);
int ar_signin_account_limited(ar_request *req, const char *login, ar_error *err);
int ar_handler_rate_limit(ar_request *req, const char *cls, const char *subject, ar_error *err);

/* Register the prepared statements the API handlers use (call once at start-up). */
void ar_api_register_statements(void);

#endif

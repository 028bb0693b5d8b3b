/* handlers.h — HTML page handlers referenced by the route table (one source file per area under src/web/). */
#ifndef AFTERRESUME_WEB_HANDLERS_H
#define AFTERRESUME_WEB_HANDLERS_H
#include "afterresume/http/request.h"

/* src/web/pages.c */
void web_home(ar_request *req);
void web_login(ar_request *req);
void web_static(ar_request *req);

/* src/web/auth.c */
void web_login_submit(ar_request *req);
void web_signup(ar_request *req);
void web_signup_submit(ar_request *req);
void web_logout(ar_request *req);
void web_logout_submit(ar_request *req);
void web_settings(ar_request *req);
void web_settings_password(ar_request *req);
void web_settings_session_end(ar_request *req);
void web_settings_sessions_end_others(ar_request *req);
void web_settings_token_create(ar_request *req);
void web_settings_token_revoke(ar_request *req);
void web_tenant_switch(ar_request *req);
void web_password_forgot(ar_request *req);
void web_password_forgot_submit(ar_request *req);
void web_password_reset(ar_request *req);
void web_password_reset_submit(ar_request *req);

/* src/web/status.c */
void web_status_bar(ar_request *req);

/* src/web/admin.c */
void web_team(ar_request *req);
void web_team_role(ar_request *req);
void web_team_remove(ar_request *req);
void web_team_passkey_mint(ar_request *req);
void web_team_passkey_revoke(ar_request *req);
void web_admin_users(ar_request *req);
void web_admin_user_action(ar_request *req);
void web_admin_passkeys(ar_request *req);
void web_admin_passkey_mint(ar_request *req);
void web_admin_passkey_revoke(ar_request *req);
void web_admin_passkey_detail(ar_request *req);
void web_admin_audit(ar_request *req);
void web_admin_outbox(ar_request *req);
void web_admin_ratelimits(ar_request *req);
void web_admin_ratelimit_reset(ar_request *req);

/* src/web/worklog.c */
void web_worklog(ar_request *req);
void web_worklog_results(ar_request *req);
void web_worklog_quick_add(ar_request *req);
void web_worklog_new(ar_request *req);
void web_worklog_create(ar_request *req);
void web_worklog_deleted(ar_request *req);
void web_worklog_entry(ar_request *req);
void web_worklog_edit(ar_request *req);
void web_worklog_update(ar_request *req);
void web_worklog_delete(ar_request *req);
void web_worklog_restore(ar_request *req);
/* src/web/worklog_catalog.c */
void web_clients(ar_request *req);
void web_clients_create(ar_request *req);
void web_clients_edit(ar_request *req);
void web_clients_update(ar_request *req);
void web_clients_active(ar_request *req);
void web_projects(ar_request *req);
void web_projects_create(ar_request *req);
void web_projects_edit(ar_request *req);
void web_projects_update(ar_request *req);
void web_projects_active(ar_request *req);

/* src/web/transfer.c */
void web_worklog_export(ar_request *req);
void web_worklog_import(ar_request *req);
void web_worklog_import_submit(ar_request *req);

/* src/web/jobs.c */
void web_jobs(ar_request *req);
void web_jobs_export(ar_request *req);
void web_job_detail(ar_request *req);
void web_job_progress(ar_request *req);
void web_job_cancel(ar_request *req);
void web_admin_jobs(ar_request *req);
void web_admin_job_action(ar_request *req);

/* src/web/billing.c */
/* src/web/billing_admin.c (staff) */
void web_admin_billing(ar_request *req);
void web_admin_billing_adjust(ar_request *req);
void web_admin_billing_threshold(ar_request *req);
void web_admin_billing_usage(ar_request *req);
void web_admin_billing_rate_cards(ar_request *req);
void web_admin_billing_rate_card_create(ar_request *req);
void web_admin_billing_stripe_events(ar_request *req);
void web_billing(ar_request *req);
void web_billing_topup(ar_request *req);
void web_billing_topup_success(ar_request *req);
void web_billing_topup_status(ar_request *req);
void web_billing_topup_cancel(ar_request *req);

/* src/web/reports.c (reports, share links), src/web/enhance.c (enhancement, AI settings), src/web/skills.c */
void web_reports(ar_request *req);
void web_reports_generate(ar_request *req);
void web_report_detail(ar_request *req);
void web_report_progress(ar_request *req);
void web_report_edit(ar_request *req);
void web_report_delete(ar_request *req);
void web_report_share(ar_request *req);
void web_share_link_revoke(ar_request *req);
void web_share_view(ar_request *req);
void web_entry_suggestions(ar_request *req);
void web_entry_enhance(ar_request *req);
void web_suggestion_accept(ar_request *req);
void web_suggestion_reject(ar_request *req);
void web_settings_ai(ar_request *req);
void web_settings_ai_update(ar_request *req);
void web_admin_ai(ar_request *req);
void web_admin_ai_update(ar_request *req);
void web_skills(ar_request *req);
void web_skills_recompute(ar_request *req);
void web_skill_detail(ar_request *req);
void web_skill_update(ar_request *req);
void web_skill_merge(ar_request *req);

#endif

/* routes.c — the route table: every URL the product answers, who may call it, and what body it takes.
 * Columns: method, pattern, handler, auth level, minimum tenant role, CSRF-protected, rate-limit class, body. */
#include "afterresume/api/handlers.h"
#include "afterresume/http/router.h"
#include "afterresume/web/handlers.h"

const ar_route ar_routes[] = {
    /* operations */
    {AR_GET, "/api/healthz/", api_healthz, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/readyz/", api_readyz, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/metrics", api_metrics, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/api/csp-report/", api_csp_report, AR_AUTH_PUBLIC, NULL, 0, "csp_report", AR_BODY_JSON},
    /* identity API (JSON bodies only: a cross-site form cannot send them without a CORS preflight) */
    {AR_POST, "/api/auth/signup/", api_auth_signup, AR_AUTH_PUBLIC, NULL, 0, "signup_ip", AR_BODY_JSON},
    {AR_POST, "/api/auth/login/", api_auth_login, AR_AUTH_PUBLIC, NULL, 0, "signin_ip", AR_BODY_JSON},
    {AR_POST, "/api/auth/token/", api_auth_token, AR_AUTH_PUBLIC, NULL, 0, "signin_ip", AR_BODY_JSON},
    {AR_POST, "/api/auth/logout/", api_auth_logout, AR_AUTH_PUBLIC, NULL, 1, NULL, AR_BODY_NONE},
    {AR_POST, "/api/auth/password/change/", api_password_change, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_JSON},
    {AR_POST, "/api/auth/password/reset/", api_password_reset_request, AR_AUTH_PUBLIC, NULL, 0, "reset_ip",
     AR_BODY_JSON},
    {AR_POST, "/api/auth/password/reset/confirm/", api_password_reset_confirm, AR_AUTH_PUBLIC, NULL, 0, "reset_ip",
     AR_BODY_JSON},
    {AR_GET, "/api/me/", api_me, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/tokens/", api_tokens_list, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/api/tokens/", api_tokens_create, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_JSON},
    {AR_DELETE, "/api/tokens/{id}/", api_tokens_revoke, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_NONE},
    {AR_GET, "/api/sessions/", api_sessions_list, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_DELETE, "/api/sessions/{id}/", api_sessions_end, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_NONE},
    {AR_GET, "/api/status/bar/", api_status_bar, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    /* background jobs */
    {AR_GET, "/api/jobs/", api_jobs_list, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/jobs/{id}/", api_jobs_detail, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/api/jobs/{id}/cancel/", api_jobs_cancel, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_NONE},
    {AR_POST, "/api/jobs/{id}/retry/", api_jobs_retry, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_NONE}, /* service: admins, staff */
    /* worklog API: entries, clients, projects, tags (src/api/worklog.c) */
    {AR_GET, "/api/worklogs/", api_worklogs_list, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/api/worklogs/", api_worklogs_create, AR_AUTH_USER, "member", 1, NULL, AR_BODY_JSON},
    {AR_GET, "/api/worklogs/calendar/", api_worklogs_calendar, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/worklogs/{id}/", api_worklogs_detail, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_PUT, "/api/worklogs/{id}/", api_worklogs_replace, AR_AUTH_USER, "member", 1, NULL, AR_BODY_JSON},
    {AR_PATCH, "/api/worklogs/{id}/", api_worklogs_patch, AR_AUTH_USER, "member", 1, NULL, AR_BODY_JSON},
    {AR_DELETE, "/api/worklogs/{id}/", api_worklogs_delete, AR_AUTH_USER, "member", 1, NULL, AR_BODY_NONE},
    {AR_POST, "/api/worklogs/{id}/restore/", api_worklogs_restore, AR_AUTH_USER, "member", 1, NULL, AR_BODY_NONE},
    {AR_GET, "/api/clients/", api_clients_list, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/api/clients/", api_clients_create, AR_AUTH_USER, "member", 1, NULL, AR_BODY_JSON},
    {AR_GET, "/api/clients/{id}/", api_clients_detail, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_PUT, "/api/clients/{id}/", api_clients_replace, AR_AUTH_USER, "member", 1, NULL, AR_BODY_JSON},
    {AR_PATCH, "/api/clients/{id}/", api_clients_patch, AR_AUTH_USER, "member", 1, NULL, AR_BODY_JSON},
    {AR_DELETE, "/api/clients/{id}/", api_clients_delete, AR_AUTH_USER, "member", 1, NULL, AR_BODY_NONE},
    {AR_GET, "/api/projects/", api_projects_list, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/api/projects/", api_projects_create, AR_AUTH_USER, "member", 1, NULL, AR_BODY_JSON},
    {AR_GET, "/api/projects/{id}/", api_projects_detail, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_PUT, "/api/projects/{id}/", api_projects_replace, AR_AUTH_USER, "member", 1, NULL, AR_BODY_JSON},
    {AR_PATCH, "/api/projects/{id}/", api_projects_patch, AR_AUTH_USER, "member", 1, NULL, AR_BODY_JSON},
    {AR_DELETE, "/api/projects/{id}/", api_projects_delete, AR_AUTH_USER, "member", 1, NULL, AR_BODY_NONE},
    {AR_GET, "/api/tags/", api_tags_list, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    /* evidence API: attachments (src/api/attachments.c) */
    /* import / export API (src/api/transfer.c) */
    /* jobs API additions and account exports (src/api/jobs.c, src/api/exports.c) */
    {AR_GET, "/api/jobs/{id}/events/", api_jobs_events, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/admin/jobs/", api_admin_jobs_list, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE}, /* staff, admins */
    {AR_POST, "/api/admin/jobs/{id}/retry/", api_admin_jobs_retry, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_NONE},
    {AR_POST, "/api/admin/jobs/{id}/cancel/", api_admin_jobs_cancel, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_NONE},
    /* billing API (src/api/billing.c) */
    {AR_GET, "/api/billing/reserve/balance/", api_billing_balance, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/billing/reserve/ledger/", api_billing_ledger, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/billing/usage/", api_billing_usage, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/billing/holds/", api_billing_holds, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/api/billing/admin/reserve/adjust/", api_billing_admin_adjust, AR_AUTH_STAFF, NULL, 1, NULL,
     AR_BODY_JSON},
    {AR_GET, "/api/billing/admin/reserve/summary/", api_billing_admin_summary, AR_AUTH_STAFF, NULL, 0, NULL,
     AR_BODY_NONE},
    {AR_GET, "/api/billing/admin/accounts/", api_billing_admin_accounts, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/billing/admin/ledger.csv", api_billing_admin_ledger_csv, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/billing/admin/ledger/export.csv", api_billing_admin_ledger_csv, AR_AUTH_STAFF, NULL, 0, NULL,
     AR_BODY_NONE},
    {AR_GET, "/api/billing/admin/usage/costs/", api_billing_admin_costs, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/billing/admin/rate-cards/", api_billing_admin_rate_cards, AR_AUTH_STAFF, NULL, 0, NULL,
     AR_BODY_NONE},
    {AR_POST, "/api/billing/admin/rate-cards/", api_billing_admin_rate_card_create, AR_AUTH_STAFF, NULL, 1, NULL,
     AR_BODY_JSON},
    {AR_GET, "/api/billing/admin/stripe-events/", api_billing_admin_stripe_events, AR_AUTH_STAFF, NULL, 0, NULL,
     AR_BODY_NONE},
    /* Stripe top-ups and webhook (src/api/stripe.c) */
    /* career material API: enhancement, skills, reports, share links (src/api/career.c) */
    /* platform staff */
    {AR_POST, "/api/admin/passkeys/", api_admin_passkeys_create, AR_AUTH_STAFF, NULL, 1, NULL, AR_BODY_JSON},
    {AR_GET, "/api/admin/passkeys/", api_passkeys_list, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/admin/passkeys/{id}/", api_passkeys_detail, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_DELETE, "/api/admin/passkeys/{id}/", api_passkeys_revoke, AR_AUTH_STAFF, NULL, 1, NULL, AR_BODY_NONE},
    {AR_GET, "/api/admin/users/", api_admin_users_list, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_PATCH, "/api/admin/users/{id}/", api_admin_users_update, AR_AUTH_STAFF, NULL, 1, NULL, AR_BODY_JSON},
    {AR_POST, "/api/admin/users/{id}/reset-password/", api_admin_users_reset_password, AR_AUTH_STAFF, NULL, 1, NULL,
     AR_BODY_JSON},
    {AR_GET, "/api/admin/audit-events/", api_audit_list, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/admin/audit-events/export.csv", api_audit_export_csv, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/api/admin/ratelimits/", api_admin_ratelimits_list, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/api/admin/ratelimits/reset/", api_admin_ratelimits_reset, AR_AUTH_STAFF, NULL, 1, NULL, AR_BODY_JSON},
    /* tenant owners and admins */
    {AR_GET, "/api/tenant/members/", api_tenant_members_list, AR_AUTH_USER, "admin", 0, NULL, AR_BODY_NONE},
    {AR_PATCH, "/api/tenant/members/{id}/", api_tenant_members_update, AR_AUTH_USER, "admin", 1, NULL, AR_BODY_JSON},
    {AR_DELETE, "/api/tenant/members/{id}/", api_tenant_members_remove, AR_AUTH_USER, "admin", 1, NULL, AR_BODY_NONE},
    {AR_POST, "/api/tenant/passkeys/", api_tenant_passkeys_create, AR_AUTH_USER, "admin", 1, NULL, AR_BODY_JSON},
    {AR_GET, "/api/tenant/passkeys/", api_passkeys_list, AR_AUTH_USER, "admin", 0, NULL, AR_BODY_NONE},
    {AR_DELETE, "/api/tenant/passkeys/{id}/", api_passkeys_revoke, AR_AUTH_USER, "admin", 1, NULL, AR_BODY_NONE},
    {AR_GET, "/api/tenant/audit-events/", api_audit_list, AR_AUTH_USER, "admin", 0, NULL, AR_BODY_NONE},
    /* pages */
    {AR_GET, "/", web_home, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/login", web_login, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/login", web_login_submit, AR_AUTH_PUBLIC, NULL, 1, "signin_ip", AR_BODY_FORM},
    {AR_GET, "/signup", web_signup, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/signup", web_signup_submit, AR_AUTH_PUBLIC, NULL, 1, "signup_ip", AR_BODY_FORM},
    {AR_GET, "/logout", web_logout, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/logout", web_logout_submit, AR_AUTH_PUBLIC, NULL, 1, NULL, AR_BODY_FORM},
    {AR_GET, "/password/forgot", web_password_forgot, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/password/forgot", web_password_forgot_submit, AR_AUTH_PUBLIC, NULL, 1, "reset_ip", AR_BODY_FORM},
    {AR_GET, "/password/reset", web_password_reset, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/password/reset", web_password_reset_submit, AR_AUTH_PUBLIC, NULL, 1, "reset_ip", AR_BODY_FORM},
    {AR_GET, "/status/bar", web_status_bar, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/settings", web_settings, AR_AUTH_USER, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/settings/password", web_settings_password, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_FORM},
    {AR_POST, "/settings/sessions/{id}/end", web_settings_session_end, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_FORM},
    {AR_POST, "/settings/sessions/end-others", web_settings_sessions_end_others, AR_AUTH_USER, NULL, 1, NULL,
     AR_BODY_FORM},
    {AR_POST, "/settings/tokens", web_settings_token_create, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_FORM},
    {AR_POST, "/settings/tokens/{id}/revoke", web_settings_token_revoke, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_FORM},
    {AR_POST, "/tenant/switch", web_tenant_switch, AR_AUTH_USER, NULL, 1, NULL, AR_BODY_FORM},
    {AR_GET, "/tenant/settings", web_team, AR_AUTH_USER, "admin", 0, NULL, AR_BODY_NONE},
    {AR_POST, "/tenant/members/{id}/role", web_team_role, AR_AUTH_USER, "admin", 1, NULL, AR_BODY_FORM},
    {AR_POST, "/tenant/members/{id}/remove", web_team_remove, AR_AUTH_USER, "admin", 1, NULL, AR_BODY_FORM},
    {AR_POST, "/tenant/passkeys", web_team_passkey_mint, AR_AUTH_USER, "admin", 1, NULL, AR_BODY_FORM},
    {AR_POST, "/tenant/passkeys/{id}/revoke", web_team_passkey_revoke, AR_AUTH_USER, "admin", 1, NULL, AR_BODY_FORM},
    {AR_GET, "/admin/users", web_admin_users, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/admin/users/{id}", web_admin_user_action, AR_AUTH_STAFF, NULL, 1, NULL, AR_BODY_FORM},
    {AR_GET, "/admin/passkeys", web_admin_passkeys, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/admin/passkeys", web_admin_passkey_mint, AR_AUTH_STAFF, NULL, 1, NULL, AR_BODY_FORM},
    {AR_GET, "/admin/passkeys/{id}", web_admin_passkey_detail, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/admin/passkeys/{id}/revoke", web_admin_passkey_revoke, AR_AUTH_STAFF, NULL, 1, NULL, AR_BODY_FORM},
    {AR_GET, "/admin/audit", web_admin_audit, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/admin/outbox", web_admin_outbox, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/admin/ratelimits", web_admin_ratelimits, AR_AUTH_STAFF, NULL, 0, NULL, AR_BODY_NONE},
    {AR_POST, "/admin/ratelimits/reset", web_admin_ratelimit_reset, AR_AUTH_STAFF, NULL, 1, NULL, AR_BODY_FORM},
    /* worklog pages (src/web/worklog.c) */
    /* import / export pages (src/web/transfer.c) */
    /* job pages (src/web/jobs.c) */
    /* billing pages (src/web/billing.c) */
    /* career material pages (src/web/career.c) */
    {AR_GET, "/static/{*path}", web_static, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
};

const size_t ar_routes_count = sizeof ar_routes / sizeof ar_routes[0];

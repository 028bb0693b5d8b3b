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
    /* pages */
    {AR_GET, "/", web_home, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/login", web_login, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
    {AR_GET, "/static/{*path}", web_static, AR_AUTH_PUBLIC, NULL, 0, NULL, AR_BODY_NONE},
};

const size_t ar_routes_count = sizeof ar_routes / sizeof ar_routes[0];

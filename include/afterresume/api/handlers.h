/* handlers.h — JSON API handlers referenced by the route table (one source file per area under src/api/). */
#ifndef AFTERRESUME_API_HANDLERS_H
#define AFTERRESUME_API_HANDLERS_H
#include "afterresume/http/request.h"

/* src/api/health.c */
void api_healthz(ar_request *req);
void api_readyz(ar_request *req);
void api_metrics(ar_request *req);
void api_csp_report(ar_request *req);
/* Register the prepared statements the API handlers use (call once at start-up). */
void ar_api_register_statements(void);

#endif

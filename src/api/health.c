/* health.c — liveness (/api/healthz/), readiness (/api/readyz/: PostgreSQL and Valkey), Prometheus /metrics,
 * and the CSP violation report collector. */
#include "afterresume/api/handlers.h"
#include "afterresume/core/log.h"
#include "afterresume/db/db.h"
#include "afterresume/http/metrics.h"
#include "afterresume/http/response.h"
#include "afterresume/storage/objects.h"
#include "afterresume/jobs/valkey.h"

#include <libpq-fe.h>
#include <string.h>

static const ar_db_stmt health_statements[] = {
    {"health_ping", "SELECT 1"},
};

void api_healthz(ar_request *req)
{
    ar_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void api_readyz(ar_request *req)
{
    json_t *checks = json_object();
    json_t *failures = json_object();
    ar_error err = {0};
    PGconn *c = ar_db_conn(&err);
    PGresult *r = c ? ar_db_exec(c, "health_ping", 0, NULL, &err) : NULL;
    if (r) {
        json_object_set_new(checks, "database", json_string("ok"));
        PQclear(r);
    } else {
        json_object_set_new(checks, "database", json_string("failed"));
        json_object_set_new(failures, "database", json_string(err.message));
    }
    ar_error_clear(&err);
    if (ar_valkey_ping(&err) == 0) {
        json_object_set_new(checks, "valkey", json_string("ok"));
    } else {
        json_object_set_new(checks, "valkey", json_string("failed"));
        json_object_set_new(failures, "valkey", json_string(err.message));
    }
    ar_error_clear(&err);
    /* Object storage (evidence, exports): the local directory is writable / the bucket answers with our keys. */
    ar_storage *st = req->app ? ar_storage_shared(&req->app->cfg, &err) : NULL;
    if (st && ar_storage_check(st, &err) == 0) {
        json_object_set_new(checks, "storage", json_string("ok"));
    } else if (req->app) {
        json_object_set_new(checks, "storage", json_string("failed"));
        json_object_set_new(failures, "storage", json_string(err.message[0] ? err.message : "not configured"));
    }
    ar_error_clear(&err);
    int ok = json_object_size(failures) == 0;
    if (!ok) ar_log_json(AR_LOG_WARN, "not ready", json_pack("{s:s,s:O}", "request_id", req->request_id, "failures", failures));
    json_t *body = json_pack("{s:s,s:o}", "status", ok ? "ready" : "unavailable", "checks", checks);
    if (!ok) {
        json_t *names = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(failures, k, v) json_array_append_new(names, json_string(k));
        json_object_set_new(body, "failed", names);
    }
    json_decref(failures);
    ar_respond_json(req, ok ? 200 : 503, body);
}

void api_metrics(ar_request *req)
{
    ar_buf out = AR_BUF_INIT;
    ar_metrics_render(&out);
    ar_respond_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", ar_buf_cstr(&out), out.len);
    ar_buf_free(&out);
}

/* Browsers post CSP violations here (report-uri): log them so a broken page shows up in the logs. */
void api_csp_report(ar_request *req)
{
    json_t *report = json_object_get(req->json, "csp-report");
    if (!report) report = req->json;
    const char *blocked = json_string_value(json_object_get(report, "blocked-uri"));
    const char *directive = json_string_value(json_object_get(report, "violated-directive"));
    ar_log_json(AR_LOG_WARN, "csp violation",
                json_pack("{s:s,s:s?,s:s?}", "request_id", req->request_id, "blocked", blocked, "directive", directive));
    ar_respond_text(req, 204, "text/plain; charset=utf-8", "", 0);
}

void ar_api_register_statements(void)
{
    ar_db_register(health_statements, sizeof health_statements / sizeof health_statements[0]);
}

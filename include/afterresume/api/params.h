/* params.h — reading typed input the same way for the JSON API and HTML forms: body fields (JSON values or
 * form strings), query integers, and the option sets several handlers share (passkeys, audit filters). */
#ifndef AFTERRESUME_API_PARAMS_H
#define AFTERRESUME_API_PARAMS_H
#include "afterresume/domain/audit.h"
#include "afterresume/domain/passkeys.h"
#include "afterresume/http/request.h"

/* A body field as text: a JSON string, integer or boolean (rendered into buf), or a form field. NULL when
 * absent, null, or of another type (then a field error is added when err is given). */
const char *ar_body_text(ar_request *req, const char *name, char *buf, size_t size, ar_error *err);
/* An optional integer body field in [min, max] (empty/absent → def). Adds a field error and returns -1 when bad. */
int ar_body_int(ar_request *req, const char *name, long long min, long long max, long long def, long long *out,
                ar_error *err);
/* The same for a query-string parameter. */
int ar_query_int(ar_request *req, const char *name, long long min, long long max, long long def, long long *out,
                 ar_error *err);
/* Passkey options from the body: role, max_uses, expires_in_days, note, email (and tenant_id when
 * allow_tenant; else the caller's tenant). */
int ar_parse_passkey_options(ar_request *req, int allow_tenant, ar_passkey_options *o, ar_error *err);
/* Audit filters from the query string: actor_id, action, tenant_id, since, until, success, before_id, limit. */
int ar_parse_audit_filter(ar_request *req, ar_audit_filter *f, ar_error *err);

#endif

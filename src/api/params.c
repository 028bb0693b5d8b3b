/* params.c — typed input shared by the API and the pages (see params.h). */
#include "afterresume/api/params.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ar_body_text(ar_request *req, const char *name, char *buf, size_t size, ar_error *err)
{
    if (req->form) return json_string_value(json_object_get(req->form, name));
    json_t *v = json_object_get(req->json, name);
    if (!v || json_is_null(v)) return NULL;
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v)) {
        snprintf(buf, size, "%s", json_is_true(v) ? "true" : "false");
        return buf;
    }
    if (err) ar_error_field(err, name, "has the wrong type");
    return NULL;
}

static int parse_int_text(const char *name, const char *text, long long min, long long max, long long def,
                          long long *out, ar_error *err)
{
    if (!text || !*text) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end || v < min || v > max) {
        char msg[128];
        snprintf(msg, sizeof msg, "must be a whole number from %lld to %lld", min, max);
        ar_error_field(err, name, msg);
        return -1;
    }
    *out = v;
    return 0;
}

int ar_body_int(ar_request *req, const char *name, long long min, long long max, long long def, long long *out,
                ar_error *err)
{
    char buf[32];
    return parse_int_text(name, ar_body_text(req, name, buf, sizeof buf, err), min, max, def, out, err);
}

int ar_query_int(ar_request *req, const char *name, long long min, long long max, long long def, long long *out,
                 ar_error *err)
{
    return parse_int_text(name, ar_req_query(req, name), min, max, def, out, err);
}

int ar_parse_passkey_options(ar_request *req, int allow_tenant, ar_passkey_options *o, ar_error *err)
{
    memset(o, 0, sizeof *o);
    static _Thread_local char role_buf[32], note_buf[32], email_buf[32]; /* only used for non-string JSON */
    long long tenant = 0, max_uses = 1, days = 0;
    if (allow_tenant) ar_body_int(req, "tenant_id", 1, 1000000000000LL, 0, &tenant, err);
    ar_body_int(req, "max_uses", 1, 10000, 1, &max_uses, err);
    ar_body_int(req, "expires_in_days", 1, 3650, 0, &days, err);
    const char *role = ar_body_text(req, "role", role_buf, sizeof role_buf, err);
    o->tenant_id = allow_tenant ? tenant : req->ctx.tenant_id;
    o->role = role && *role ? ar_role_from_string(role) : AR_ROLE_MEMBER;
    if (o->role == AR_ROLE_NONE || o->role == AR_ROLE_OWNER)
        ar_error_field(err, "role", "must be admin, member or read_only");
    o->max_uses = (int)max_uses;
    o->expires_in_s = days * 86400;
    o->note = ar_body_text(req, "note", note_buf, sizeof note_buf, err);
    o->email = ar_body_text(req, "email", email_buf, sizeof email_buf, err);
    if (err->fields) {
        ar_error_set(err, AR_ERR_VALIDATION, "The passkey was not created.");
        return -1;
    }
    return 0;
}

int ar_parse_audit_filter(ar_request *req, ar_audit_filter *f, ar_error *err)
{
    *f = ar_audit_filter_any();
    ar_query_int(req, "actor_id", 1, 1000000000000LL, 0, &f->actor_id, err);
    ar_query_int(req, "tenant_id", 1, 1000000000000LL, 0, &f->tenant_id, err);
    ar_query_int(req, "passkey_id", 1, 1000000000000LL, 0, &f->passkey_id, err);
    ar_query_int(req, "before_id", 1, 1000000000000000LL, 0, &f->before_id, err);
    long long limit = 50;
    ar_query_int(req, "limit", 1, 200, 50, &limit, err);
    f->limit = (int)limit;
    const char *action = ar_req_query(req, "action");
    if (action && *action) f->action = action;
    const char *since = ar_req_query(req, "since"), *until = ar_req_query(req, "until");
    if (since && *since) f->since = since;
    if (until && *until) f->until = until;
    const char *success = ar_req_query(req, "success");
    if (success && *success && strcmp(success, "any") != 0) {
        if (strcmp(success, "true") == 0)
            f->success = 1;
        else if (strcmp(success, "false") == 0)
            f->success = 0;
        else
            ar_error_field(err, "success", "must be true, false or any");
    }
    if (err->fields) {
        ar_error_set(err, AR_ERR_VALIDATION, "Some filters are not valid.");
        return -1;
    }
    return 0;
}

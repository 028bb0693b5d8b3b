/* auth.h — who is calling, for the HTTP layer: bearer tokens and session cookies resolved into the request
 * context, the route table's auth/role/scope columns enforced, CSRF (synchronizer token + origin check),
 * rate-limit classes, and the cookies that carry sessions. */
#ifndef AFTERRESUME_HTTP_AUTH_H
#define AFTERRESUME_HTTP_AUTH_H
#include "afterresume/http/request.h"

/* Fill req->ctx from the connection (ip, user agent, request id) and from a bearer token or session cookie.
 * Returns 0, or -1 with err for a bad bearer token (401) or an unavailable database (503). */
int ar_http_identify(ar_request *req, ar_error *err);
/* Enforce the matched route's auth level, role, token scope, CSRF and rate-limit class. 0 = go on. On -1 the
 * error to answer is in err (401/403/429/503); for 401 on a page the caller redirects to /login. */
int ar_http_authorize(ar_request *req, ar_error *err, int *retry_after);

/* Cookie names: "__Host-ar_session" / "__Host-ar_csrf" when cookies are Secure, else "ar_session" / "ar_csrf". */
const char *ar_session_cookie_name(const ar_request *req);
/* Queue Set-Cookie headers for the response being built. max_age < 0 deletes the cookie. */
void ar_set_session_cookie(ar_request *req, const char *token, int remember);
void ar_clear_session_cookie(ar_request *req);
/* Make sure an anonymous visitor has a CSRF cookie; req->csrf_token gets its value (for forms). */
void ar_ensure_csrf_cookie(ar_request *req);

/* Pure helpers (unit-tested): the Set-Cookie value, and the constant-time CSRF token comparison
 * (empty or different-length tokens never match). */
void ar_format_cookie(char *out, size_t out_size, const char *name, const char *value, int max_age, int secure);
int ar_csrf_token_matches(const char *expected, const char *sent);

#endif

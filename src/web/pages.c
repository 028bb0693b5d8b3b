/* pages.c — the public pages of the skeleton: home (the sign-in page until someone is signed in), /login and
 * static files. */
#include "afterresume/http/response.h"
#include "afterresume/web/handlers.h"

static void sign_in_page(ar_request *req)
{
    json_t *data = json_pack("{s:{s:s}}", "form", "username", "");
    const char *next = ar_req_query(req, "next");
    if (next && next[0] == '/' && next[1] != '/') json_object_set_new(data, "next", json_string(next));
    ar_respond_page(req, 200, "pages/login", "Sign in", data);
}

void web_home(ar_request *req)
{
    sign_in_page(req);
}

void web_login(ar_request *req)
{
    sign_in_page(req);
}

void web_static(ar_request *req)
{
    ar_serve_static(req, ar_req_param(req, "path"));
}

/* pages.c — static files under /static/. */
#include "afterresume/http/response.h"
#include "afterresume/web/handlers.h"

void web_static(ar_request *req)
{
    ar_serve_static(req, ar_req_param(req, "path"));
}

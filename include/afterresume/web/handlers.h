/* handlers.h — HTML page handlers referenced by the route table (one source file per area under src/web/). */
#ifndef AFTERRESUME_WEB_HANDLERS_H
#define AFTERRESUME_WEB_HANDLERS_H
#include "afterresume/http/request.h"

/* src/web/pages.c */
void web_home(ar_request *req);
void web_login(ar_request *req);
void web_static(ar_request *req);

#endif

/* server.h — the HTTP server on libmicrohttpd: start on a listen socket we bind ourselves (clear errors for a
 * port in use), dispatch through the route table, graceful stop. */
#ifndef AFTERRESUME_HTTP_SERVER_H
#define AFTERRESUME_HTTP_SERVER_H
#include "afterresume/app.h"
#include "afterresume/core/error.h"

typedef struct ar_server ar_server;

/* Bind cfg.bind:cfg.port and start the MHD thread pool. NULL + err (one-line reason) on failure. */
ar_server *ar_server_start(const ar_app *app, ar_error *err);
/* Stop accepting, let in-flight requests finish for up to grace_s seconds, then stop and free. */
void ar_server_stop(ar_server *s, int grace_s);
/* The port actually bound (useful when AR_PORT=0 is not allowed by config; kept for tests). */
int ar_server_port(const ar_server *s);

#endif

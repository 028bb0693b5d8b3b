/* valkey.h — Valkey/Redis connections through hiredis: one lazily created connection per thread,
 * re-established after a failure, with connect and command timeouts. */
#ifndef AFTERRESUME_JOBS_VALKEY_H
#define AFTERRESUME_JOBS_VALKEY_H
#include <hiredis.h>

#include "afterresume/core/error.h"

typedef struct ar_valkey_endpoint {
    char host[256];
    int port;
    int db;
    char username[128];
    char password[256];
    char unix_path[256];
} ar_valkey_endpoint;

/* Parse redis://[user[:password]@]host[:port][/db], valkey://..., or unix:///path/to/sock[?db=N]. 0 or -1. */
int ar_valkey_parse_url(const char *url, ar_valkey_endpoint *out);
/* Configure once at start-up; -1 with err when the URL is malformed. */
int ar_valkey_configure(const char *url, ar_error *err);
/* This thread's connection (NULL + err AR_ERR_UNAVAILABLE when unreachable). */
redisContext *ar_valkey_conn(ar_error *err);
/* Run a command on this thread's connection; on an I/O error reconnect once and retry. Caller frees the reply. */
redisReply *ar_valkey_command(ar_error *err, const char *fmt, ...);
/* PING: 0 when the server answers PONG. */
int ar_valkey_ping(ar_error *err);
void ar_valkey_thread_close(void);

#endif

/* daemon.h — integration-test helpers: start the real afterresumed binary on a free port against the test
 * PostgreSQL and Valkey, talk HTTP to it with libcurl, stop it with SIGTERM. */
#ifndef AFTERRESUME_TESTS_DAEMON_H
#define AFTERRESUME_TESTS_DAEMON_H
#include <stddef.h>
#include <sys/types.h>

#include "afterresume/core/buf.h"

typedef struct it_daemon {
    pid_t pid;
    int port;
    char base_url[64];
    char log_path[256];
} it_daemon;

/* Path of the binary under test: $AR_TEST_BUILD/afterresumed (default build/afterresumed). */
const char *it_binary(void);
int it_free_port(void);
/* Start `afterresumed serve` with the current environment plus extra "NAME=value" entries (NULL-terminated,
 * may be NULL). Waits up to 15 s for /api/healthz/. Returns 0, or -1 if it exited or never answered. */
int it_daemon_start(it_daemon *d, const char *const *extra_env);
/* Start without waiting for readiness (for start-up failure tests); returns the exit status, or -1 on timeout. */
int it_daemon_run_expect_exit(const char *const *extra_env, int timeout_s, char *log_path, size_t log_path_size);
/* SIGTERM and wait; returns the exit status (0 on a graceful stop) or -1. */
int it_daemon_stop(it_daemon *d);
/* Start `node SCRIPT PORT ARGS...` (a fake third party from tests/fakes/) with stdout/stderr to log_path; it dies
 * with the test process. Waits up to 15 s until PORT accepts connections. Returns its pid, or -1 (see the log). */
pid_t it_node_fake_start(const char *script, int port, const char *const *args, const char *log_path);
void it_node_fake_stop(pid_t pid);
/* Whole log file as a string (caller frees). */
char *it_read_file(const char *path);

typedef struct it_response {
    long status;
    ar_buf body;
    ar_buf headers;   /* raw header block, lines "Name: value\r\n" */
    long connects;    /* new connections curl opened for this request */
} it_response;

/* One request. headers: NULL-terminated list of "Name: value". Returns 0 when a response arrived. */
int it_http(const char *method, const char *url, const char *const *headers, const char *body, size_t body_len,
            it_response *out);
/* Value of a response header (case-insensitive name) copied into out; returns NULL if absent. */
const char *it_header(const it_response *r, const char *name, char *out, size_t out_size);
void it_response_free(it_response *r);

#endif

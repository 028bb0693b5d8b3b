/* it_users.h — integration-test helpers for signed-up users of a running daemon: sign-up with a passkey minted
 * by the CLI, the session cookie + CSRF token, a write-scoped API token, and JSON calls with either. */
#ifndef AFTERRESUME_TESTS_IT_USERS_H
#define AFTERRESUME_TESTS_IT_USERS_H
#include <jansson.h>

#include "daemon.h"

typedef struct it_user {
    char name[40];
    char cookie[200];
    char csrf[100];
    char token[100];
    long long id;
    long long tenant;
} it_user;

/* Sign up a new user (own workspace) on daemon d against database db_url; fails the test on error. */
void it_user_new(const it_daemon *d, const char *db_url, it_user *u, const char *prefix);
/* A call with the user's bearer token (use_session 0) or session cookie + CSRF header (1); body JSON or NULL.
 * Returns the HTTP status; *out (may be NULL) gets the parsed JSON answer or NULL. */
long it_user_call(const it_daemon *d, const it_user *u, int use_session, const char *method, const char *path,
                  const char *json_body, json_t **out);
/* The same returning the raw body and headers (caller frees with it_response_free). */
long it_user_raw(const it_daemon *d, const it_user *u, int use_session, const char *method, const char *path,
                 const char *body, const char *content_type, it_response *out);
/* Credit the user's workspace reserve by a staff adjustment made in this process (new workspaces start at 0);
 * staff_id is a staff user's id in the same database (ar_domain_register_all and the database configured). */
void it_user_credit(const it_user *u, long long staff_id, long long cents);
/* Poll GET /api/jobs/{id}/ until the job is finished (succeeded/failed/cancelled) or timeout_s passes; returns
 * the final status string (static) or "timeout". */
const char *it_user_wait_job(const it_daemon *d, const it_user *u, long long job_id, int timeout_s);

#endif

/* worklog_floor.c — the floor the worklog benchmark is measured against: a minimal libmicrohttpd server
 * (same threading model as afterresumed: internal polling thread pool with epoll) whose only page runs one
 * prepared libpq query per request on a per-thread connection and answers a small JSON body.
 *
 *   cc -O2 -o worklog_floor tests/bench/worklog_floor.c $(pkg-config --cflags --libs libmicrohttpd libpq) -lpthread
 *   DATABASE_URL=postgresql://... ./worklog_floor PORT [THREADS] [TENANT USER TOKEN_HASH]
 *
 * Modes (?q=...), to see where the daemon's time goes:
 *   (none)     one prepared one-row primary-key lookup: 1 round trip (the floor)
 *   list       the daemon's worklog list statement for one tenant and user, 21 rows (session-level RLS
 *              bypass): 1 round trip
 *   list_tx    the same inside BEGIN; set_config(tenant, user, bypass off); ...; COMMIT as ar_ctx_tx does it:
 *              4 round trips
 *   auth_list  first the bearer-token lookup transaction the daemon runs (BEGIN; set_config; token lookup;
 *              COMMIT), then list_tx: 8 round trips
 * Built and started by tests/bench/worklog.sh. */
#include <libpq-fe.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *conninfo;
static const char *list_tenant = "1";
static const char *list_user = "1";
static const char *token_hash = "\\x00";
static pthread_key_t conn_key;

static void close_conn(void *p)
{
    PQfinish(p);
}

static PGconn *thread_conn(void)
{
    PGconn *c = pthread_getspecific(conn_key);
    if (c) return c;
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQclear(PQexec(c, "SELECT set_config('app.bypass_rls', 'on', false)"));
    PGresult *r = PQprepare(c, "one", "SELECT id, name FROM tenants WHERE id = $1::bigint", 1, NULL);
    PQclear(r);
    /* the daemon's worklog_list statement (src/domain/worklog.c), written out */
    r = PQprepare(c, "list",
                  "WITH page AS MATERIALIZED (SELECT e.id FROM worklog_entries e WHERE e.tenant_id = $1::bigint "
                  "AND (e.visibility = 'team' OR e.author_id = $2::bigint) AND e.deleted_at IS NULL "
                  "AND (e.occurred_on, e.id) < ('infinity'::date, 0::bigint) ORDER BY e.occurred_on DESC, e.id DESC LIMIT 21) "
                  "SELECT e.id, e.occurred_on::text, e.title, left(e.content, 500), e.outcome, e.impact, e.next_steps, "
                  "e.effort_minutes, e.work_type, e.status, array_to_json(e.tags)::text, e.client_id, c.name::text, "
                  "e.project_id, p.name::text, e.visibility, e.impact_score, e.impact_score_source, e.source, "
                  "e.import_key, e.author_id, u.username, "
                  "to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                  "to_char(e.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                  "to_char(e.deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), e.attachment_count, "
                  "length(e.content) > 500 FROM page JOIN worklog_entries e ON e.id = page.id "
                  "LEFT JOIN clients c ON c.tenant_id = e.tenant_id AND c.id = e.client_id "
                  "LEFT JOIN projects p ON p.tenant_id = e.tenant_id AND p.id = e.project_id "
                  "LEFT JOIN users u ON u.id = e.author_id WHERE e.tenant_id = $1::bigint "
                  "ORDER BY e.occurred_on DESC, e.id DESC",
                  2, NULL);
    PQclear(r);
    r = PQprepare(c, "ctx", "SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true), "
                            "set_config('app.bypass_rls', $3, true)", 3, NULL);
    PQclear(r);
    r = PQprepare(c, "token",
                  "SELECT t.id, t.user_id, t.tenant_id, t.scope, u.username, u.email, u.is_staff, coalesce(m.role, ''), "
                  "(t.last_used_at IS NULL OR t.last_used_at < now() - interval '60 seconds') "
                  "FROM api_tokens t JOIN users u ON u.id = t.user_id "
                  "LEFT JOIN memberships m ON m.tenant_id = t.tenant_id AND m.user_id = t.user_id "
                  "WHERE t.token_hash = $1::bytea AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) "
                  "AND u.is_active", 1, NULL);
    PQclear(r);
    pthread_setspecific(conn_key, c);
    return c;
}

/* One statement: simple text (sql) or a prepared one (name); 1 when it succeeded. */
static int run(PGconn *c, const char *sql, const char *name, int n, const char *const *params)
{
    PGresult *r = sql ? PQexec(c, sql) : PQexecPrepared(c, name, n, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size, (void)state;
    PGconn *c = thread_conn();
    const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "q");
    const char *mode = q ? q : "";
    char body[65536];
    size_t len = 0;
    unsigned status = 500;
    int ok = c != NULL;
    if (ok && strcmp(mode, "auth_list") == 0) { /* the token lookup transaction */
        const char *ctx[3] = {"", "", "on"}, *hash[1] = {token_hash};
        ok = run(c, "BEGIN", NULL, 0, NULL) && run(c, NULL, "ctx", 3, ctx) && run(c, NULL, "token", 1, hash) &&
             run(c, "COMMIT", NULL, 0, NULL);
    }
    int tx = strcmp(mode, "list_tx") == 0 || strcmp(mode, "auth_list") == 0;
    if (ok && tx) {
        const char *ctx[3] = {list_tenant, list_user, "off"};
        ok = run(c, "BEGIN", NULL, 0, NULL) && run(c, NULL, "ctx", 3, ctx);
    }
    if (ok) {
        int list = tx || strcmp(mode, "list") == 0;
        const char *params[2] = {list ? list_tenant : "1", list_user};
        PGresult *r = PQexecPrepared(c, list ? "list" : "one", list ? 2 : 1, params, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            status = 200;
            len = (size_t)snprintf(body, sizeof body, "{\"rows\":%d,\"first\":\"%s\"}", PQntuples(r),
                                   PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
        }
        PQclear(r);
        if (tx && !run(c, "COMMIT", NULL, 0, NULL)) status = 500;
    }
    if (status != 200) len = (size_t)snprintf(body, sizeof body, "{\"error\":true}");
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

int main(int argc, char **argv)
{
    conninfo = getenv("DATABASE_URL");
    if (argc < 2 || !conninfo) {
        fprintf(stderr, "usage: DATABASE_URL=... %s PORT [THREADS] [TENANT USER TOKEN_HASH]\n", argv[0]);
        return 2;
    }
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (argc > 5) {
        list_tenant = argv[3];
        list_user = argv[4];
        token_hash = argv[5]; /* "\\x" + sha256 hex of the bearer token, as stored */
    }
    pthread_key_create(&conn_key, close_conn);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC,
                                            (uint16_t)atoi(argv[1]), NULL, NULL, on_request, NULL,
                                            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
                                            1024u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot listen on %s\n", argv[1]);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}

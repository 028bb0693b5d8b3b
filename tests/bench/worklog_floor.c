/* worklog_floor.c — the floor the worklog benchmark is measured against: a minimal libmicrohttpd server
 * (same threading model as afterresumed: internal polling thread pool with epoll) whose only page runs one
 * prepared libpq query per request on a per-thread connection and answers a small JSON body.
 *
 *   cc -O2 -o worklog_floor tests/bench/worklog_floor.c $(pkg-config --cflags --libs libmicrohttpd libpq) -lpthread
 *   DATABASE_URL=postgresql://... ./worklog_floor PORT [THREADS]
 *
 * GET /?q=list runs the worklog list query of one tenant (20 rows, no row-level-security settings, no
 * transaction) instead of the default one-row primary-key lookup. Built and started by tests/bench/worklog.sh. */
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
    PGresult *r = PQprepare(c, "one", "SELECT id, name FROM tenants WHERE id = $1::bigint", 1, NULL);
    PQclear(r);
    r = PQprepare(c, "list",
                  "SELECT e.id, e.occurred_on::text, e.title, left(e.content, 500) FROM worklog_entries e "
                  "WHERE e.tenant_id = $1::bigint AND e.deleted_at IS NULL "
                  "ORDER BY e.occurred_on DESC, e.id DESC LIMIT 20",
                  1, NULL);
    PQclear(r);
    pthread_setspecific(conn_key, c);
    return c;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size, (void)state;
    PGconn *c = thread_conn();
    const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "q");
    int list = q && strcmp(q, "list") == 0;
    char body[65536];
    size_t len = 0;
    unsigned status = 500;
    if (c) {
        const char *params[1] = {list ? list_tenant : "1"};
        PGresult *r = PQexecPrepared(c, list ? "list" : "one", 1, params, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            status = 200;
            len = (size_t)snprintf(body, sizeof body, "{\"rows\":%d,\"first\":\"%s\"}", PQntuples(r),
                                   PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
        }
        PQclear(r);
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
        fprintf(stderr, "usage: DATABASE_URL=... %s PORT [THREADS] [LIST_TENANT]\n", argv[0]);
        return 2;
    }
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (argc > 3) list_tenant = argv[3];
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

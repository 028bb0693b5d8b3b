/* worklog_profile.c — where a worklog API request spends its time, without HTTP: calls the services the
 * daemon calls for `GET /api/worklogs/?limit=20` with a bearer token (the token lookup, the token's rate-limit
 * hit in Valkey, an empty ar_ctx_tx,
 * ar_worklog_list, the JSON encoding, searches) in a loop on one thread and prints per-call latency.
 *
 *   cc -O2 -Iinclude -o worklog_profile tests/bench/worklog_profile.c BUILD/libafterresume.a \
 *      $(pkg-config --cflags --libs libmicrohttpd libpq jansson libsodium libcurl hiredis zlib) -lpthread -lm
 *   DATABASE_URL=... VALKEY_URL=... ./worklog_profile TOKEN TENANT USER [ITERATIONS]
 * Run by tests/bench/worklog.sh (PROFILE=1). */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afterresume/db/db.h"
#include "afterresume/domain/ratelimit.h"
#include "afterresume/domain/registry.h"
#include "afterresume/jobs/valkey.h"
#include "afterresume/domain/tokens.h"
#include "afterresume/domain/worklog.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, double *t, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++) sum += t[i];
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("%-34s mean %8.1f us   p50 %8.1f   p95 %8.1f   p99 %8.1f\n", name, sum / n, t[n / 2], t[n * 95 / 100],
           t[n * 99 / 100]);
}

static int noop_tx(PGconn *c, void *arg, ar_error *err)
{
    (void)c, (void)arg, (void)err;
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = getenv("DATABASE_URL");
    if (argc < 4 || !url) {
        fprintf(stderr, "usage: DATABASE_URL=... %s TOKEN TENANT USER [ITERATIONS]\n", argv[0]);
        return 2;
    }
    int n = argc > 4 ? atoi(argv[4]) : 2000;
    if (n < 10) n = 10;
    if (sodium_init() < 0) return 1;
    ar_db_configure(url);
    ar_domain_register_all();
    ar_ctx ctx = {.user_id = atoll(argv[3]), .tenant_id = atoll(argv[2]), .role = AR_ROLE_OWNER};
    snprintf(ctx.request_id, sizeof ctx.request_id, "profile");
    double *t = calloc((size_t)n, sizeof *t);
    ar_error err = {0};

    for (int i = 0; i < n; i++) {
        ar_token_info info;
        double s = now_us();
        if (ar_token_lookup(argv[1], &ctx, &info, &err) != 0) {
            fprintf(stderr, "token lookup: %s\n", err.message);
            return 1;
        }
        t[i] = now_us() - s;
    }
    report("token lookup (1 tx, 4 statements)", t, n);

    const char *valkey = getenv("VALKEY_URL");
    if (valkey && ar_valkey_configure(valkey, &err) == 0 && ar_ratelimit_configure(&err) == 0) {
        for (int i = 0; i < n; i++) {
            int retry = 0;
            double s = now_us();
            if (ar_ratelimit_hit("api_token", "worklog-profile", &retry, &err) < 0) {
                fprintf(stderr, "rate limit: %s\n", err.message);
                return 1;
            }
            t[i] = now_us() - s;
        }
        report("rate-limit hit (Valkey EVAL)", t, n);
        ar_valkey_thread_close();
    }

    for (int i = 0; i < n; i++) {
        double s = now_us();
        if (ar_ctx_tx(&ctx, noop_tx, NULL, &err) != 0) return 1;
        t[i] = now_us() - s;
    }
    report("empty ar_ctx_tx (3 statements)", t, n);

    size_t bytes = 0;
    double *enc = calloc((size_t)n, sizeof *enc);
    for (int i = 0; i < n; i++) {
        ar_worklog_filter f = {.limit = 20};
        double s = now_us();
        json_t *page = ar_worklog_list(&ctx, &f, &err);
        double m = now_us();
        if (!page) {
            fprintf(stderr, "list: %s\n", err.message);
            return 1;
        }
        char *text = json_dumps(page, JSON_COMPACT);
        bytes = strlen(text);
        free(text);
        json_decref(page);
        t[i] = m - s;
        enc[i] = now_us() - m;
    }
    report("ar_worklog_list limit 20 (4 stmts)", t, n);
    report("  JSON encode of that page", enc, n);
    printf("  (page: %zu bytes of JSON)\n", bytes);

    static const char *const searches[] = {"zeppelin", "kubernetes deploy"};
    for (int k = 0; k < 2; k++) {
        int m = n / 10 > 10 ? n / 10 : 10;
        for (int i = 0; i < m; i++) {
            ar_worklog_filter f = {.limit = 20, .search = searches[k]};
            double s = now_us();
            json_t *page = ar_worklog_list(&ctx, &f, &err);
            t[i] = now_us() - s;
            if (!page) {
                fprintf(stderr, "search: %s\n", err.message);
                return 1;
            }
            json_decref(page);
        }
        char name[64];
        snprintf(name, sizeof name, "search \"%s\" (5 stmts)", searches[k]);
        report(name, t, m);
    }
    free(t);
    free(enc);
    ar_db_shutdown();
    return 0;
}

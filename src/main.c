/* main.c — afterresumed: subcommand dispatch only. */
#include "afterresume/ai/runtime.h"
#include "afterresume/api/handlers.h"
#include "afterresume/app.h"
#include "afterresume/core/log.h"
#include "afterresume/db/db.h"
#include "afterresume/db/migrate.h"
#include "afterresume/cli/admin.h"
#include "afterresume/cli/billing.h"
#include "afterresume/domain/ratelimit.h"
#include "afterresume/domain/registry.h"
#include "afterresume/domain/sessions.h"
#include "afterresume/http/metrics.h"
#include "afterresume/http/server.h"
#include "afterresume/jobs/email_send.h"
#include "afterresume/jobs/jobs.h"
#include "afterresume/jobs/scheduler.h"
#include "afterresume/jobs/worker.h"
#include "afterresume/jobs/valkey.h"
#include "afterresume/render/template.h"

#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: afterresumed <command>\n"
                 "  serve          HTTP server (JSON API + pages) and AR_WORKERS job workers\n"
                 "  worker         job workers only, no HTTP (to scale workers separately)\n"
                 "  migrate        apply migrations/NNNN_*.sql in order, once each\n"
                 "  check-config   validate the configuration and print it with secrets redacted\n"
                 "  admin ...      operator tasks: create-user, mint-passkey, reset-password, disable-user,\n"
                 "                 bootstrap (see 'afterresumed admin help')\n"
                 "  billing verify re-sum every reserve account and balance-after chain (exit 1 on a mismatch)\n"
                 "  version        print the version\n"
                 "Configuration comes from the environment, ./.env and var/afterresumed.env (see README).\n");
}

static const char *generated_env_path(void)
{
    const char *p = getenv("AR_ENV_FILE");
    return p && *p ? p : "var/afterresumed.env";
}

/* Load and validate configuration; on failure print one line per problem and return -1. */
static int load_config(ar_config *cfg)
{
    ar_error err = {0};
    if (ar_config_load(cfg, ".env", generated_env_path(), &err) != 0) {
        fprintf(stderr, "afterresumed: %s\n", err.message);
        const char *k;
        json_t *v;
        json_object_foreach(err.fields, k, v) fprintf(stderr, "  %s: %s\n", k, json_string_value(v));
        ar_error_clear(&err);
        ar_config_free(cfg);
        return -1;
    }
    ar_log_level lvl;
    if (ar_log_level_from_string(cfg->log_level, &lvl) == 0) ar_log_set_level(lvl);
    return 0;
}

static int connect_database(const ar_config *cfg)
{
    ar_error err = {0};
    ar_db_configure(cfg->database_url);
    if (ar_db_wait_ready(20, &err) != 0) {
        fprintf(stderr, "afterresumed: %s\n", err.message);
        ar_error_clear(&err);
        return -1;
    }
    return 0;
}

static int cmd_check_config(void)
{
    ar_config cfg;
    ar_error err = {0};
    int rc = ar_config_load(&cfg, ".env", generated_env_path(), &err);
    json_t *out = json_object();
    json_object_set_new(out, "settings", ar_config_describe(&cfg));
    json_object_set(out, "sources", cfg.sources);
    if (rc != 0) json_object_set(out, "errors", err.fields);
    char *tpl_err = NULL;
    struct ar_templates *t = ar_templates_load_dir(cfg.templates_dir, &tpl_err);
    if (!t) {
        json_object_set_new(out, "templates", json_string(tpl_err ? tpl_err : "cannot load"));
        rc = -1;
    } else {
        json_object_set_new(out, "templates", json_string("ok"));
        ar_templates_free(t);
    }
    free(tpl_err);
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
    puts(text);
    free(text);
    json_decref(out);
    if (rc != 0) fprintf(stderr, "afterresumed: %s\n", err.message[0] ? err.message : "templates failed to load");
    ar_error_clear(&err);
    ar_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}

/* Session policy and rate limits come from the configuration; shared by serve and the CLI. */
static int configure_domain(const ar_config *cfg)
{
    ar_session_policy policy = {cfg->session_idle_s, cfg->session_remember_s, cfg->session_max_age_s};
    ar_sessions_set_policy(&policy);
    ar_error err = {0};
    if (ar_ratelimit_configure(&err) != 0) {
        fprintf(stderr, "afterresumed: %s\n", err.message);
        ar_error_clear(&err);
        return -1;
    }
    ar_domain_register_all();
    ar_jobs_register();
    return 0;
}

/* The AI providers, for the processes that run jobs or pages (serve, worker), not the CLI. */
static int start_ai(const ar_config *cfg)
{
    ar_error err = {0};
    if (ar_ai_runtime_init(cfg, &err) != 0) {
        fprintf(stderr, "afterresumed: AI providers: %s\n", err.message);
        ar_error_clear(&err);
        return -1;
    }
    return 0;
}

static int cmd_admin(int argc, char **argv)
{
    ar_config cfg;
    if (load_config(&cfg) != 0) return 1;
    int rc = 1;
    if (connect_database(&cfg) == 0 && configure_domain(&cfg) == 0) rc = ar_cli_admin_with_url(cfg.public_url, argc, argv);
    ar_db_shutdown();
    ar_config_free(&cfg);
    return rc;
}

static int cmd_migrate(void)
{
    ar_config cfg;
    if (load_config(&cfg) != 0) return 1;
    int rc = 1;
    ar_error err = {0};
    if (connect_database(&cfg) == 0) {
        if (ar_db_migrate(cfg.migrations_dir, 1, &err) == 0)
            rc = 0;
        else
            fprintf(stderr, "afterresumed: migrate failed: %s\n", err.message);
    }
    ar_error_clear(&err);
    ar_db_shutdown();
    ar_config_free(&cfg);
    return rc;
}

static int cmd_serve(void)
{
    /* Signals are taken synchronously by the main thread; block them before any thread starts. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    static ar_app app;
    if (load_config(&app.cfg) != 0) return 1;
    int rc = 1;
    char *tpl_err = NULL;
    ar_error err = {0};
    ar_server *server = NULL;

    app.templates = ar_templates_load_dir(app.cfg.templates_dir, &tpl_err);
    if (!app.templates) {
        fprintf(stderr, "afterresumed: templates: %s\n", tpl_err ? tpl_err : "cannot load");
        goto out;
    }
    if (!realpath(app.cfg.static_dir, app.static_root)) {
        fprintf(stderr, "afterresumed: AR_STATIC_DIR %s does not exist\n", app.cfg.static_dir);
        goto out;
    }
    if (connect_database(&app.cfg) != 0) goto out;
    if (ar_valkey_configure(app.cfg.valkey_url, &err) != 0) {
        fprintf(stderr, "afterresumed: %s\n", err.message);
        goto out;
    }
    if (ar_valkey_ping(&err) != 0) ar_log_warn("%s (readiness will report it)", err.message);
    ar_error_clear(&err);
    ar_api_register_statements();
    if (configure_domain(&app.cfg) != 0 || start_ai(&app.cfg) != 0) goto out;
    ar_metrics_init();

    server = ar_server_start(&app, &err);
    if (!server) {
        fprintf(stderr, "afterresumed: %s\n", err.message);
        goto out;
    }
    ar_worker_pool *pool = NULL;
    ar_scheduler *scheduler = NULL;
    if (ar_jobs_configure(&app.cfg, &err) != 0) {
        fprintf(stderr, "afterresumed: %s\n", err.message);
        ar_server_stop(server, 0);
        goto out;
    }
    if (app.cfg.workers > 0 && !(pool = ar_worker_pool_start(app.cfg.workers, &err))) {
        fprintf(stderr, "afterresumed: job workers: %s\n", err.message);
        ar_server_stop(server, 0);
        goto out;
    }
    if (!(scheduler = ar_scheduler_start(&err))) {
        fprintf(stderr, "afterresumed: scheduler: %s\n", err.message);
        ar_server_stop(server, 0);
        if (pool) ar_worker_pool_stop(pool, 0);
        goto out;
    }
    ar_log_json(AR_LOG_INFO, "listening",
                json_pack("{s:s,s:i,s:i,s:i,s:s,s:s}", "bind", app.cfg.bind, "port", app.cfg.port, "http_threads",
                          app.cfg.http_threads, "workers", app.cfg.workers, "env", app.cfg.env, "version", AR_VERSION));
    int sig = 0;
    sigwait(&stop_signals, &sig);
    ar_log_info("received %s: stopping (grace %d s)", sig == SIGTERM ? "SIGTERM" : "SIGINT", app.cfg.shutdown_grace_s);
    ar_server_stop(server, app.cfg.shutdown_grace_s);
    ar_scheduler_stop(scheduler);
    if (pool) ar_worker_pool_stop(pool, app.cfg.shutdown_grace_s);
    ar_log_info("stopped");
    rc = 0;
out:
    ar_error_clear(&err);
    free(tpl_err);
    ar_metrics_free();
    ar_jobs_shutdown();
    ar_ai_runtime_free();
    ar_valkey_thread_close();
    ar_db_shutdown();
    if (app.templates) ar_templates_free(app.templates);
    ar_config_free(&app.cfg);
    return rc;
}

/* Workers without HTTP: the same pool as serve, until SIGTERM/SIGINT. */
static int cmd_worker(void)
{
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    ar_config cfg;
    if (load_config(&cfg) != 0) return 1;
    int rc = 1;
    ar_error err = {0};
    ar_worker_pool *pool = NULL;
    ar_scheduler *scheduler = NULL;
    if (connect_database(&cfg) != 0 || ar_valkey_configure(cfg.valkey_url, &err) != 0 || configure_domain(&cfg) != 0 ||
        start_ai(&cfg) != 0 || ar_jobs_configure(&cfg, &err) != 0)
        goto out;
    if (!(pool = ar_worker_pool_start(cfg.workers > 0 ? cfg.workers : 2, &err))) {
        fprintf(stderr, "afterresumed: job workers: %s\n", err.message);
        goto out;
    }
    if (!(scheduler = ar_scheduler_start(&err))) {
        fprintf(stderr, "afterresumed: scheduler: %s\n", err.message);
        ar_worker_pool_stop(pool, 0);
        goto out;
    }
    ar_log_json(AR_LOG_INFO, "workers started", json_pack("{s:i}", "workers", cfg.workers > 0 ? cfg.workers : 2));
    int sig = 0;
    sigwait(&stop_signals, &sig);
    ar_log_info("received %s: stopping workers (grace %d s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                cfg.shutdown_grace_s);
    ar_scheduler_stop(scheduler);
    ar_worker_pool_stop(pool, cfg.shutdown_grace_s);
    ar_log_info("stopped");
    rc = 0;
out:
    if (err.code) fprintf(stderr, "afterresumed: %s\n", err.message);
    ar_error_clear(&err);
    ar_jobs_shutdown();
    ar_ai_runtime_free();
    ar_valkey_thread_close();
    ar_db_shutdown();
    ar_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "afterresumed: libsodium failed to initialise\n");
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0) return cmd_serve();
    if (strcmp(cmd, "migrate") == 0) return cmd_migrate();
    if (strcmp(cmd, "worker") == 0) return cmd_worker();
    if (strcmp(cmd, "check-config") == 0) return cmd_check_config();
    if (strcmp(cmd, "admin") == 0) return cmd_admin(argc - 1, argv + 1);
    if (strcmp(cmd, "billing") == 0) return ar_cli_billing(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0) {
        printf("afterresumed %s\n", AR_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "afterresumed: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}

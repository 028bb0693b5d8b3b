/* billing.c — `afterresumed billing verify [--json]` (see cli/billing.h): the ledger verifier from a shell, for
 * operators and cron; the nightly billing.verify job runs the same check. */
#include "afterresume/cli/billing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/config.h"
#include "afterresume/core/log.h"
#include "afterresume/db/db.h"
#include "afterresume/domain/billing.h"
#include "afterresume/domain/context.h"
#include "afterresume/domain/registry.h"

#define EXIT_MISMATCH 1
#define EXIT_USAGE 2
#define EXIT_ERROR 3

static const char usage_text[] = "usage: afterresumed billing verify [--json]\n"
                                 "  verify   re-sum every reserve account and every balance-after chain; exit 0 when\n"
                                 "           clean, 1 when mismatches were found (also written to the audit log)\n";

static int setup(ar_config *cfg)
{
    ar_error err = {0};
    const char *env = getenv("AR_ENV_FILE");
    if (ar_config_load(cfg, ".env", env && *env ? env : "var/afterresumed.env", &err) != 0) {
        fprintf(stderr, "afterresumed billing: %s\n", err.message);
        ar_error_clear(&err);
        ar_config_free(cfg);
        return -1;
    }
    ar_log_level lvl;
    if (ar_log_level_from_string(cfg->log_level, &lvl) == 0) ar_log_set_level(lvl);
    ar_db_configure(cfg->database_url);
    if (ar_db_wait_ready(20, &err) != 0) {
        fprintf(stderr, "afterresumed billing: %s\n", err.message);
        ar_error_clear(&err);
        ar_db_shutdown();
        ar_config_free(cfg);
        return -1;
    }
    ar_domain_register_all();
    return 0;
}

static int verify(int json_out)
{
    ar_config cfg;
    if (setup(&cfg) != 0) return EXIT_ERROR;
    ar_ctx ctx = {0};
    snprintf(ctx.request_id, sizeof ctx.request_id, "cli");
    snprintf(ctx.username, sizeof ctx.username, "cli");
    ctx.is_staff = 1;
    ar_error err = {0};
    json_t *report = NULL;
    int rc;
    if (ar_billing_verify(&ctx, &report, &err) != 0) {
        fprintf(stderr, "afterresumed billing verify: %s\n", err.message);
        ar_error_clear(&err);
        rc = EXIT_ERROR;
    } else {
        json_int_t count = json_integer_value(json_object_get(report, "mismatch_count"));
        if (json_out) {
            char *text = json_dumps(report, JSON_INDENT(2) | JSON_SORT_KEYS);
            puts(text);
            free(text);
        } else {
            printf("billing verify: %lld accounts, %lld ledger entries, %lld mismatch(es)\n",
                   (long long)json_integer_value(json_object_get(report, "accounts")),
                   (long long)json_integer_value(json_object_get(report, "entries")), (long long)count);
            size_t i;
            json_t *m;
            json_array_foreach(json_object_get(report, "mismatches"), i, m)
            {
                char entry[40] = "";
                json_t *id = json_object_get(m, "entry_id");
                if (json_is_integer(id)) snprintf(entry, sizeof entry, " entry %lld", (long long)json_integer_value(id));
                printf("mismatch: tenant %lld %s%s expected %lld actual %lld\n",
                       (long long)json_integer_value(json_object_get(m, "tenant_id")),
                       json_string_value(json_object_get(m, "kind")), entry,
                       (long long)json_integer_value(json_object_get(m, "expected")),
                       (long long)json_integer_value(json_object_get(m, "actual")));
            }
            json_t *neg = json_object_get(report, "negative_available");
            if (json_array_size(neg) > 0)
                printf("note: %zu account(s) have a negative available balance (refunds of spent money)\n",
                       json_array_size(neg));
        }
        rc = count > 0 ? EXIT_MISMATCH : 0;
        json_decref(report);
    }
    ar_db_shutdown();
    ar_config_free(&cfg);
    return rc;
}

int ar_cli_billing(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
        int json_out = 0;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0) {
                json_out = 1;
            } else {
                fprintf(stderr, "afterresumed billing verify: unknown option %s\n%s", argv[i], usage_text);
                return EXIT_USAGE;
            }
        }
        return verify(json_out);
    }
    if (argc >= 2 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

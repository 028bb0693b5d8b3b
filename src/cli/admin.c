/* admin.c — `afterresumed admin ...`: create-user, mint-passkey, reset-password, disable-user and the
 * first-start bootstrap (a staff account and one platform invite passkey when no user exists yet). */
#include "afterresume/cli/admin.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/config.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/accounts.h"
#include "afterresume/domain/context.h"
#include "afterresume/domain/passkeys.h"
#include "afterresume/domain/passwords.h"

#define EXIT_USAGE 2
#define BOOTSTRAP_USERNAME "admin"
#define BOOTSTRAP_EMAIL "admin@localhost"
#define BOOTSTRAP_PASSKEY_TTL_S (7LL * 24 * 3600)

static const char usage_text[] =
    "usage: afterresumed admin <command> [options]\n"
    "  create-user --username U --email E [--staff] [--password-stdin]\n"
    "        create an account; prints its id (and a generated password on the next line unless\n"
    "        --password-stdin gives one)\n"
    "  mint-passkey [--tenant ID [--role admin|member|read_only]] [--expires-in 7d|12h|30m|3600]\n"
    "               [--max-uses N] [--note TEXT] [--email E]\n"
    "        mint an invite passkey (platform-wide, or into a tenant); prints the passkey alone on one line\n"
    "  reset-password --username U [--password-stdin]\n"
    "        set a new password and end the user's sessions; prints a generated one unless --password-stdin\n"
    "  disable-user --username U [--reason TEXT]\n"
    "        disable the account, end its sessions and revoke its API tokens\n"
    "  bootstrap\n"
    "        when there are no users yet: create the staff user 'admin' and one invite passkey and print\n"
    "        how to sign in (once); prints nothing when users exist\n";

/* ---- options ---------------------------------------------------------------------------------- */

typedef struct option_spec {
    const char *name;  /* without the leading "--" */
    int takes_value;
} option_spec;

typedef struct parsed_options {
    const char *value[8];
    int present[8];
} parsed_options;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    fprintf(stderr, "afterresumed admin: ");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    return EXIT_USAGE;
}

/* Parse argv[from..argc) against specs (at most 8): "--name value", "--name=value" and "--flag". */
static int parse_options(int argc, char **argv, int from, const option_spec *specs, int nspecs, parsed_options *out)
{
    memset(out, 0, sizeof *out);
    for (int i = from; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) return usage_error("unexpected argument '%s'", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        int k = -1;
        for (int s = 0; s < nspecs; s++) {
            if (strlen(specs[s].name) == name_len && strncmp(specs[s].name, name, name_len) == 0) k = s;
        }
        if (k < 0) return usage_error("unknown option '%s'", arg);
        if (out->present[k]) return usage_error("option '%s' given twice", arg);
        out->present[k] = 1;
        if (!specs[k].takes_value) {
            if (eq) return usage_error("option '%s' takes no value", arg);
            continue;
        }
        if (eq) {
            out->value[k] = eq + 1;
        } else {
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", arg);
            out->value[k] = argv[++i];
        }
    }
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static ar_ctx cli_context(void)
{
    ar_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.is_staff = 1;
    ctx.bypass_rls = 1;
    snprintf(ctx.username, sizeof ctx.username, "cli");
    snprintf(ctx.request_id, sizeof ctx.request_id, "cli");
    snprintf(ctx.user_agent, sizeof ctx.user_agent, "afterresumed admin");
    return ctx;
}

/* One line on stderr: the message and, for validation errors, every field's message. Returns 1. */
static int fail(const char *what, const ar_error *err)
{
    fprintf(stderr, "afterresumed admin: %s: %s", what, err->message[0] ? err->message : ar_err_default_message(err->code));
    const char *k;
    json_t *v;
    const char *sep = " (";
    json_object_foreach(err->fields, k, v) {
        fprintf(stderr, "%s%s: %s", sep, k, json_string_value(v));
        sep = "; ";
    }
    fprintf(stderr, "%s\n", err->fields && json_object_size(err->fields) ? ")" : "");
    return 1;
}

/* A password from the first line of stdin (without its line ending). Heap; NULL + message on failure. */
static char *password_from_stdin(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        fprintf(stderr, "afterresumed admin: --password-stdin: no password on standard input\n");
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    char *out = ar_strdup(line);
    sodium_memzero(line, cap);
    free(line);
    return out;
}

static void wipe_free(char *secret)
{
    if (!secret) return;
    sodium_memzero(secret, strlen(secret));
    free(secret);
}

/* "7d", "12h", "30m", "45s", "2w" or plain seconds → seconds; -1 when malformed or out of range. */
static long long parse_duration(const char *s)
{
    if (!s || !*s) return -1;
    errno = 0;
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s || n <= 0 || s[0] == '-' || s[0] == '+') return -1;
    long long unit = 1;
    if (*end) {
        if (end[1] != '\0') return -1;
        switch (*end) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 7 * 86400; break;
        default: return -1;
        }
    }
    if (n > AR_PASSKEY_MAX_EXPIRES_S / unit) return -1;
    return n * unit;
}

/* A positive integer option; -1 when malformed. */
static long long parse_positive(const char *s)
{
    if (!s || !*s || s[0] == '-' || s[0] == '+') return -1;
    errno = 0;
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    if (errno || *end || n <= 0) return -1;
    return n;
}

static long long find_user(const ar_ctx *ctx, const char *username)
{
    ar_error err = {0};
    long long id = ar_account_find_id(ctx, username, &err);
    if (id == 0) fail("cannot find the user", &err);
    ar_error_clear(&err);
    return id;
}

/* ---- commands --------------------------------------------------------------------------------- */

static int cmd_create_user(int argc, char **argv)
{
    static const option_spec specs[] = {{"username", 1}, {"email", 1}, {"staff", 0}, {"password-stdin", 0}};
    parsed_options o;
    int rc = parse_options(argc, argv, 2, specs, 4, &o);
    if (rc) return rc;
    if (!o.present[0] || !o.present[1]) return usage_error("create-user needs --username and --email");
    char *password = o.present[3] ? password_from_stdin() : ar_password_generate();
    if (!password) return 1;
    ar_ctx ctx = cli_context();
    ar_error err = {0};
    long long id = 0;
    if (ar_account_create(&ctx, o.value[0], o.value[1], password, o.present[2], &id, &err) != 0) {
        rc = fail("cannot create the user", &err);
    } else {
        printf("%lld\n", id);
        if (!o.present[3]) printf("%s\n", password);
        rc = 0;
    }
    ar_error_clear(&err);
    wipe_free(password);
    return rc;
}

static int cmd_mint_passkey(int argc, char **argv)
{
    static const option_spec specs[] = {{"tenant", 1},   {"role", 1}, {"expires-in", 1},
                                        {"max-uses", 1}, {"note", 1}, {"email", 1}};
    parsed_options o;
    int rc = parse_options(argc, argv, 2, specs, 6, &o);
    if (rc) return rc;
    ar_passkey_options po;
    memset(&po, 0, sizeof po);
    if (o.present[0]) {
        po.tenant_id = parse_positive(o.value[0]);
        if (po.tenant_id < 0) return usage_error("--tenant must be a tenant id, not '%s'", o.value[0]);
    }
    if (o.present[1]) {
        if (!o.present[0]) return usage_error("--role needs --tenant (platform passkeys have no role)");
        po.role = ar_role_from_string(o.value[1]);
        if (po.role != AR_ROLE_ADMIN && po.role != AR_ROLE_MEMBER && po.role != AR_ROLE_READ_ONLY)
            return usage_error("--role must be admin, member or read_only, not '%s'", o.value[1]);
    }
    if (o.present[2]) {
        po.expires_in_s = parse_duration(o.value[2]);
        if (po.expires_in_s < 0)
            return usage_error("--expires-in must look like 7d, 12h, 30m or 3600 (seconds), not '%s'", o.value[2]);
    }
    if (o.present[3]) {
        long long n = parse_positive(o.value[3]);
        if (n < 1 || n > AR_PASSKEY_MAX_USES) return usage_error("--max-uses must be 1..10000, not '%s'", o.value[3]);
        po.max_uses = (int)n;
    }
    po.note = o.value[4];
    po.email = o.value[5];
    ar_ctx ctx = cli_context();
    ar_error err = {0};
    char raw[64];
    long long id = 0;
    if (ar_passkey_mint(&ctx, &po, raw, &id, &err) != 0) {
        rc = fail("cannot mint the passkey", &err);
    } else {
        printf("%s\n", raw);
        rc = 0;
    }
    sodium_memzero(raw, sizeof raw);
    ar_error_clear(&err);
    return rc;
}

static int cmd_reset_password(int argc, char **argv)
{
    static const option_spec specs[] = {{"username", 1}, {"password-stdin", 0}};
    parsed_options o;
    int rc = parse_options(argc, argv, 2, specs, 2, &o);
    if (rc) return rc;
    if (!o.present[0]) return usage_error("reset-password needs --username");
    ar_ctx ctx = cli_context();
    long long id = find_user(&ctx, o.value[0]);
    if (id == 0) return 1;
    char *password = o.present[1] ? password_from_stdin() : ar_password_generate();
    if (!password) return 1;
    ar_error err = {0};
    if (ar_account_set_password(&ctx, id, password, &err) != 0) {
        rc = fail("cannot reset the password", &err);
    } else {
        if (!o.present[1]) printf("%s\n", password);
        rc = 0;
    }
    ar_error_clear(&err);
    wipe_free(password);
    return rc;
}

static int cmd_disable_user(int argc, char **argv)
{
    static const option_spec specs[] = {{"username", 1}, {"reason", 1}};
    parsed_options o;
    int rc = parse_options(argc, argv, 2, specs, 2, &o);
    if (rc) return rc;
    if (!o.present[0]) return usage_error("disable-user needs --username");
    ar_ctx ctx = cli_context();
    long long id = find_user(&ctx, o.value[0]);
    if (id == 0) return 1;
    ar_error err = {0};
    const char *reason = o.present[1] ? o.value[1] : "disabled by an operator (afterresumed admin)";
    rc = ar_account_set_active(&ctx, id, 0, reason, &err) == 0 ? 0 : fail("cannot disable the user", &err);
    ar_error_clear(&err);
    return rc;
}

/* AR_PUBLIC_URL as the configuration resolves it (without a trailing slash), heap. */
static char *configured_public_url(void)
{
    ar_config cfg;
    ar_error err = {0};
    const char *generated = getenv("AR_ENV_FILE");
    char *url = NULL;
    if (ar_config_load(&cfg, ".env", generated && *generated ? generated : "var/afterresumed.env", &err) == 0 &&
        cfg.public_url)
        url = ar_strdup(cfg.public_url);
    ar_error_clear(&err);
    ar_config_free(&cfg);
    return url ? url : ar_strdup("http://127.0.0.1:8080");
}

static int cmd_bootstrap(const char *public_url, int argc, char **argv)
{
    parsed_options o;
    int rc = parse_options(argc, argv, 2, NULL, 0, &o);
    if (rc) return rc;
    ar_ctx ctx = cli_context();
    ar_error err = {0};
    int exists = ar_account_any_exists(&ctx, &err);
    if (exists != 0) {
        rc = exists > 0 ? 0 : fail("cannot read the users", &err);
        ar_error_clear(&err);
        return rc;
    }
    char *password = ar_password_generate();
    long long id = 0;
    if (ar_account_create(&ctx, BOOTSTRAP_USERNAME, BOOTSTRAP_EMAIL, password, 1, &id, &err) != 0) {
        /* Another instance bootstrapping at the same moment won the race: nothing to show. */
        ar_error clear = {0};
        rc = ar_account_any_exists(&ctx, &clear) > 0 ? 0 : fail("cannot create the first user", &err);
        ar_error_clear(&clear);
        ar_error_clear(&err);
        wipe_free(password);
        return rc;
    }
    ar_passkey_options po = {.expires_in_s = BOOTSTRAP_PASSKEY_TTL_S, .max_uses = 1,
                             .note = "created by afterresumed admin bootstrap"};
    char raw[64];
    int minted = ar_passkey_mint(&ctx, &po, raw, NULL, &err) == 0;
    char *base = public_url ? ar_strdup(public_url) : configured_public_url();
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') base[--blen] = '\0';
    printf("AfterResume first start: a staff account was created. This is shown only once; keep the password.\n"
           "  Sign in at:   %s/login\n"
           "  Username:     %s\n"
           "  Password:     %s\n",
           base, BOOTSTRAP_USERNAME, password);
    if (minted) printf("  Invite link:  %s/signup?passkey=%s  (one sign-up, valid 7 days)\n", base, raw);
    fflush(stdout);
    rc = minted ? 0 : fail("the user was created but the invite passkey was not", &err);
    sodium_memzero(raw, sizeof raw);
    ar_error_clear(&err);
    wipe_free(password);
    ar_free(base);
    return rc;
}

int ar_cli_admin_with_url(const char *public_url, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "create-user") == 0) return cmd_create_user(argc, argv);
    if (strcmp(cmd, "mint-passkey") == 0) return cmd_mint_passkey(argc, argv);
    if (strcmp(cmd, "reset-password") == 0) return cmd_reset_password(argc, argv);
    if (strcmp(cmd, "disable-user") == 0) return cmd_disable_user(argc, argv);
    if (strcmp(cmd, "bootstrap") == 0) return cmd_bootstrap(public_url, argc, argv);
    return usage_error("unknown command '%s'", cmd);
}

int ar_cli_admin(int argc, char **argv)
{
    return ar_cli_admin_with_url(NULL, argc, argv);
}

/* billing_ratecard.c — money math without floating point (rounding, price parsing, formatting) and the
 * versioned rate cards: looking up the price of a usage row, loading the card in effect, listing versions and
 * adding a new one (old versions are never edited; see billing.h and migrations/0008_billing.sql). */
#include "afterresume/domain/billing.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"
#include "afterresume/domain/audit.h"
#include "afterresume/domain/registry.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const ar_db_stmt statements[] = {
    {"ratecard_current",
     "SELECT id, version FROM rate_cards WHERE effective_from <= now() AND (effective_to IS NULL OR effective_to > now()) "
     "ORDER BY version DESC LIMIT 1"},
    {"ratecard_prices",
     "SELECT usage_type, provider, model, price_microcents FROM rate_card_prices WHERE rate_card_id = $1 ORDER BY id"},
    {"ratecard_list",
     "SELECT id, version, name, notes, " TS("effective_from") ", " TS("effective_to") ", " TS("created_at") ", "
     "created_by FROM rate_cards ORDER BY version DESC LIMIT 100"},
    {"ratecard_latest_lock",
     "SELECT id, version, effective_from, (effective_from < coalesce($1::timestamptz, now())) FROM rate_cards "
     "ORDER BY version DESC LIMIT 1 FOR UPDATE"},
    {"ratecard_close",
     "UPDATE rate_cards SET effective_to = coalesce($2::timestamptz, now()) WHERE id = $1 AND effective_to IS NULL"},
    {"ratecard_insert",
     "INSERT INTO rate_cards (version, name, notes, effective_from, created_by) "
     "VALUES ($1, $2, $3, coalesce($4::timestamptz, now()), nullif($5, '')::bigint) RETURNING id"},
    {"ratecard_price_insert",
     "INSERT INTO rate_card_prices (rate_card_id, usage_type, provider, model, price_microcents) "
     "VALUES ($1, $2, $3, $4, $5)"},
    {"ratecard_parse_time", "SELECT $1::timestamptz IS NOT NULL"},
};

void ar_billing_ratecard_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

/* ---------------------------------------------------------------- money math */

long long ar_billing_round_microcents(long long microcents)
{
    if (microcents <= 0) return 0;
    return (microcents + AR_MICROCENTS_PER_CENT / 2) / AR_MICROCENTS_PER_CENT;
}

int ar_billing_line_microcents(long long units, long long price_microcents, long long *out)
{
    if (units < 0 || units > AR_RATE_UNITS_MAX || price_microcents < 0 || price_microcents > AR_RATE_PRICE_MAX)
        return -1;
    *out = units * price_microcents; /* ≤ 10^18 < 2^63 */
    return 0;
}

int ar_billing_parse_price_per_1k(const char *text, long long *microcents_per_unit)
{
    /* cents per 1,000 units with up to 3 decimals: x.yyy ¢ / 1000 units = x.yyy × 1000 µ¢ per unit. */
    if (!text) return -1;
    const char *p = text;
    long long whole = 0, frac = 0;
    int digits = 0, frac_digits = 0;
    while (isdigit((unsigned char)*p)) {
        if (whole > 100000000LL) return -1;
        whole = whole * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (frac_digits == 3) return -1;
            frac = frac * 10 + (*p - '0');
            frac_digits++;
            p++;
        }
        if (frac_digits == 0) return -1;
    }
    if (*p != '\0' || digits == 0) return -1;
    while (frac_digits < 3) {
        frac *= 10;
        frac_digits++;
    }
    long long v = whole * 1000 + frac;   /* thousandths of a cent per 1,000 units = µ¢ per unit */
    if (v > AR_RATE_PRICE_MAX) return -1;
    *microcents_per_unit = v;
    return 0;
}

void ar_billing_format_dollars(long long cents, char *out, size_t size)
{
    unsigned long long mag = cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
    snprintf(out, size, "%s%llu.%02llu", cents < 0 ? "-" : "", mag / 100, mag % 100);
}

void ar_billing_format_money(long long cents, char *out, size_t size)
{
    unsigned long long mag = cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
    char digits[32], grouped[48];
    snprintf(digits, sizeof digits, "%llu", mag / 100);
    size_t n = strlen(digits), j = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) grouped[j++] = ',';
        grouped[j++] = digits[i];
    }
    grouped[j] = '\0';
    snprintf(out, size, "%s$%s.%02llu", cents < 0 ? "-" : "", grouped, mag % 100);
}

void ar_billing_format_price_per_1k(long long microcents_per_unit, char *out, size_t size)
{
    if (microcents_per_unit < 0) microcents_per_unit = 0;
    long long whole = microcents_per_unit / 1000, frac = microcents_per_unit % 1000;
    if (frac == 0) {
        snprintf(out, size, "%lld", whole);
        return;
    }
    char f[8];
    snprintf(f, sizeof f, "%03lld", frac);
    for (int i = 2; i > 0 && f[i] == '0'; i--) f[i] = '\0';
    snprintf(out, size, "%lld.%s", whole, f);
}

/* ---------------------------------------------------------------- cards */

void ar_rate_card_free(ar_rate_card *rc)
{
    if (!rc) return;
    free(rc->prices);
    rc->prices = NULL;
    rc->count = 0;
}

long long ar_rate_card_price(const ar_rate_card *rc, const char *usage_type, const char *provider, const char *model)
{
    if (!rc || !usage_type) return -1;
    if (!provider) provider = "";
    if (!model) model = "";
    long long best = -1;
    int best_rank = 0;
    for (size_t i = 0; i < rc->count; i++) {
        const ar_rate_price *p = &rc->prices[i];
        if (strcmp(p->usage_type, usage_type) != 0) continue;
        int rank = 0;
        if (*p->provider == '\0' && *p->model == '\0') rank = 1;
        else if (strcmp(p->provider, provider) == 0 && *p->model == '\0') rank = 2;
        else if (strcmp(p->provider, provider) == 0 && strcmp(p->model, model) == 0) rank = 3;
        else if (*p->provider == '\0' && strcmp(p->model, model) == 0) rank = 2;
        if (rank > best_rank) {
            best_rank = rank;
            best = p->price_microcents;
        }
    }
    return best;
}

int ar_rate_card_row_microcents(const ar_rate_card *rc, const ar_billing_usage_row *row, long long *out,
                                ar_error *err)
{
    const char *type = row->usage_type ? row->usage_type : "";
    if (row->prompt_tokens < 0 || row->prompt_tokens > AR_RATE_UNITS_MAX || row->completion_tokens < 0 ||
        row->completion_tokens > AR_RATE_UNITS_MAX || row->units < 0 || row->units > AR_RATE_UNITS_MAX) {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "usage", "Token and unit counts must be between 0 and 1,000,000,000.");
        return -1;
    }
    long long total = 0, part = 0;
    if (strcmp(type, "tokens") == 0) {
        long long pp = ar_rate_card_price(rc, "prompt_tokens", row->provider, row->model);
        long long cp = ar_rate_card_price(rc, "completion_tokens", row->provider, row->model);
        if (pp < 0 || cp < 0) goto no_price;
        if (ar_billing_line_microcents(row->prompt_tokens, pp, &part) != 0) goto range;
        total += part;
        if (ar_billing_line_microcents(row->completion_tokens, cp, &part) != 0) goto range;
        total += part;
    } else if (strcmp(type, "per_job") == 0 || strcmp(type, "per_mb_stored") == 0) {
        long long p = ar_rate_card_price(rc, type, row->provider, row->model);
        if (p < 0) goto no_price;
        if (ar_billing_line_microcents(row->units, p, &part) != 0) goto range;
        total = part;
    } else {
        ar_error_set(err, AR_ERR_VALIDATION, NULL);
        ar_error_field(err, "usage_type", "Must be tokens, per_job or per_mb_stored.");
        return -1;
    }
    *out = total;
    return 0;
no_price:
    ar_error_set(err, AR_ERR_VALIDATION, "Rate card %d has no price for this usage.", rc->version);
    return -1;
range:
    ar_error_set(err, AR_ERR_VALIDATION, "A usage amount is out of range.");
    return -1;
}

static int load_prices(PGconn *c, const char *card_id, ar_rate_card *out, ar_error *err)
{
    const char *params[1] = {card_id};
    PGresult *r = ar_db_exec(c, "ratecard_prices", 1, params, err);
    if (!r) return -1;
    int n = PQntuples(r);
    out->prices = n ? ar_calloc((size_t)n, sizeof *out->prices) : NULL;
    out->count = (size_t)n;
    for (int i = 0; i < n; i++) {
        ar_rate_price *p = &out->prices[i];
        snprintf(p->usage_type, sizeof p->usage_type, "%s", PQgetvalue(r, i, 0));
        snprintf(p->provider, sizeof p->provider, "%s", PQgetvalue(r, i, 1));
        snprintf(p->model, sizeof p->model, "%s", PQgetvalue(r, i, 2));
        p->price_microcents = strtoll(PQgetvalue(r, i, 3), NULL, 10);
    }
    PQclear(r);
    return 0;
}

int ar_rate_card_current_tx(PGconn *c, ar_rate_card *out, ar_error *err)
{
    memset(out, 0, sizeof *out);
    PGresult *r = ar_db_exec(c, "ratecard_current", 0, NULL, err);
    if (!r) return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_INTERNAL, "No rate card is in effect."), -1;
    }
    out->version = atoi(PQgetvalue(r, 0, 1));
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return load_prices(c, id, out, err);
}

static json_t *nullable(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

typedef struct list_args {
    json_t *out;
} list_args;

static int list_tx(PGconn *c, void *arg, ar_error *err)
{
    list_args *a = arg;
    PGresult *r = ar_db_exec(c, "ratecard_list", 0, NULL, err);
    if (!r) return -1;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        ar_rate_card rc = {0};
        if (load_prices(c, PQgetvalue(r, i, 0), &rc, err) != 0) {
            json_decref(arr);
            PQclear(r);
            return -1;
        }
        json_t *prices = json_array();
        for (size_t k = 0; k < rc.count; k++) {
            char per1k[32];
            ar_billing_format_price_per_1k(rc.prices[k].price_microcents, per1k, sizeof per1k);
            json_array_append_new(prices, json_pack("{s:s,s:s,s:s,s:I,s:s}", "usage_type", rc.prices[k].usage_type,
                                                    "provider", rc.prices[k].provider, "model", rc.prices[k].model,
                                                    "price_microcents", (json_int_t)rc.prices[k].price_microcents,
                                                    "price_cents_per_1k", per1k));
        }
        ar_rate_card_free(&rc);
        json_array_append_new(
            arr, json_pack("{s:i,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "version", atoi(PQgetvalue(r, i, 1)), "name",
                           PQgetvalue(r, i, 2), "notes", PQgetvalue(r, i, 3), "effective_from", nullable(r, i, 4),
                           "effective_to", nullable(r, i, 5), "created_at", nullable(r, i, 6), "created_by",
                           PQgetisnull(r, i, 7) ? json_null() : json_integer(strtoll(PQgetvalue(r, i, 7), NULL, 10)),
                           "prices", prices));
    }
    PQclear(r);
    a->out = arr;
    return 0;
}

json_t *ar_rate_cards_list(const ar_ctx *ctx, ar_error *err)
{
    list_args a = {NULL};
    if (ar_ctx_tx(ctx, list_tx, &a, err) != 0) return NULL;
    return a.out;
}

static const char *const usage_types[] = {"prompt_tokens", "completion_tokens", "per_job", "per_mb_stored"};

static int valid_name_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max || !ar_utf8_valid(s, n)) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t') return 0;
    return 1;
}

typedef struct create_args {
    const ar_ctx *ctx;
    const char *name, *notes, *from;
    const ar_rate_price *prices;
    size_t count;
    int version;
} create_args;

static int create_tx(PGconn *c, void *arg, ar_error *err)
{
    create_args *a = arg;
    if (a->from) {
        const char *p[1] = {a->from};
        PGresult *r = ar_db_exec(c, "ratecard_parse_time", 1, p, err);
        if (!r) {
            ar_error_clear(err);
            ar_error_set(err, AR_ERR_VALIDATION, NULL);
            ar_error_field(err, "effective_from", "Not a valid date or time.");
            return -1;
        }
        PQclear(r);
    }
    const char *lp[1] = {a->from};
    PGresult *r = ar_db_exec(c, "ratecard_latest_lock", 1, lp, err);
    if (!r) return -1;
    int version = 1;
    char prev_id[24] = "";
    if (PQntuples(r) > 0) {
        version = atoi(PQgetvalue(r, 0, 1)) + 1;
        snprintf(prev_id, sizeof prev_id, "%s", PQgetvalue(r, 0, 0));
        if (strcmp(PQgetvalue(r, 0, 3), "t") != 0) {
            PQclear(r);
            ar_error_set(err, AR_ERR_VALIDATION, NULL);
            ar_error_field(err, "effective_from", "Must be later than the start of the current version.");
            return -1;
        }
    }
    PQclear(r);
    if (prev_id[0]) {
        const char *cp[2] = {prev_id, a->from};
        r = ar_db_exec(c, "ratecard_close", 2, cp, err);
        if (!r) return -1;
        PQclear(r);
    }
    char vtext[16], user[24] = "";
    snprintf(vtext, sizeof vtext, "%d", version);
    if (a->ctx->user_id > 0) snprintf(user, sizeof user, "%lld", a->ctx->user_id);
    const char *ip[5] = {vtext, a->name, a->notes, a->from, user};
    r = ar_db_exec(c, "ratecard_insert", 5, ip, err);
    if (!r) return -1;
    char card_id[24];
    snprintf(card_id, sizeof card_id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    for (size_t i = 0; i < a->count; i++) {
        char price[24];
        snprintf(price, sizeof price, "%lld", a->prices[i].price_microcents);
        const char *pp[5] = {card_id, a->prices[i].usage_type, a->prices[i].provider, a->prices[i].model, price};
        r = ar_db_exec(c, "ratecard_price_insert", 5, pp, err);
        if (!r) return -1;
        PQclear(r);
    }
    json_t *details = json_pack("{s:i,s:I}", "version", version, "prices", (json_int_t)a->count);
    ar_audit_event ev = {.action = "billing.rate_card_created", .target_type = "rate_card", .target_id = vtext,
                         .success = 1, .details = details};
    int rc = ar_audit_write(c, a->ctx, &ev, err);
    json_decref(details);
    if (rc != 0) return -1;
    a->version = version;
    return 0;
}

int ar_rate_card_create(const ar_ctx *ctx, const char *name, const char *notes, const char *effective_from,
                        const ar_rate_price *prices, size_t count, int *version, ar_error *err)
{
    if (!ctx->is_staff) return ar_error_set(err, AR_ERR_FORBIDDEN, NULL), -1;
    ar_error_set(err, AR_ERR_VALIDATION, NULL);
    if (!name || !*name || !valid_name_text(name, 200)) ar_error_field(err, "name", "Give a name of 1 to 200 characters.");
    if (notes && !valid_name_text(notes, 2000)) ar_error_field(err, "notes", "At most 2,000 characters.");
    if (effective_from && (!*effective_from || strlen(effective_from) > 64))
        ar_error_field(err, "effective_from", "Not a valid date or time.");
    if (count == 0 || count > 200) ar_error_field(err, "prices", "Give between 1 and 200 prices.");
    int have_default[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < count && !json_object_get(err->fields, "prices"); i++) {
        const ar_rate_price *p = &prices[i];
        int t = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(p->usage_type, usage_types[k]) == 0) t = k;
        if (t < 0) {
            ar_error_field(err, "prices", "Usage type must be prompt_tokens, completion_tokens, per_job or per_mb_stored.");
            break;
        }
        if (!valid_name_text(p->provider, 100) || !valid_name_text(p->model, 200)) {
            ar_error_field(err, "prices", "Provider (≤100) and model (≤200) must be plain text.");
            break;
        }
        if (p->price_microcents < 0 || p->price_microcents > AR_RATE_PRICE_MAX) {
            ar_error_field(err, "prices", "Prices must be between 0 and 1,000,000 cents per 1,000 units.");
            break;
        }
        if (!*p->provider && !*p->model) have_default[t] = 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(prices[j].usage_type, p->usage_type) == 0 && strcmp(prices[j].provider, p->provider) == 0 &&
                strcmp(prices[j].model, p->model) == 0) {
                ar_error_field(err, "prices", "Each usage type, provider and model may appear once.");
                break;
            }
    }
    if (!json_object_get(err->fields, "prices") && count > 0 &&
        !(have_default[0] && have_default[1] && have_default[2] && have_default[3]))
        ar_error_field(err, "prices", "Give a default price (any provider, any model) for every usage type.");
    if (err->fields && json_object_size(err->fields) > 0) return -1;
    ar_error_clear(err);
    ar_ctx sys = ar_ctx_system(ctx);
    create_args a = {ctx, name, notes ? notes : "", effective_from, prices, count, 0};
    if (ar_ctx_tx(&sys, create_tx, &a, err) != 0) return -1;
    if (version) *version = a.version;
    return 0;
}

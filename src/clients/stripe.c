/* stripe.c — Stripe webhook signature verification and Checkout Session creation over libcurl
 * (see clients/stripe.h). */
#include "afterresume/clients/stripe.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRIPE_CONNECT_TIMEOUT_S 5L
#define STRIPE_DEFAULT_TIMEOUT_S 20L
#define STRIPE_RESPONSE_MAX (1024 * 1024)

/* ---- signatures ---- */

void ar_stripe_sign(const char *secret, long long t, const char *payload, size_t payload_len, char hex_out[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char ts[24];
    int tl = snprintf(ts, sizeof ts, "%lld.", t);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)tl);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)payload, payload_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex_out, 65, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}

const char *ar_stripe_sig_result_string(ar_stripe_sig_result r)
{
    switch (r) {
    case AR_STRIPE_SIG_OK: return "ok";
    case AR_STRIPE_SIG_NO_SECRET: return "no_secret";
    case AR_STRIPE_SIG_MISSING: return "missing";
    case AR_STRIPE_SIG_MALFORMED: return "malformed";
    case AR_STRIPE_SIG_NO_TIMESTAMP: return "no_timestamp";
    case AR_STRIPE_SIG_NO_V1: return "no_v1";
    case AR_STRIPE_SIG_STALE: return "stale";
    case AR_STRIPE_SIG_MISMATCH: return "mismatch";
    }
    return "unknown";
}

/* Decode exactly 64 hex characters into 32 bytes; -1 when the value is anything else. */
static int hex32(const char *s, size_t len, unsigned char out[32])
{
    if (len != 64) return -1;
    size_t bin_len = 0;
    if (sodium_hex2bin(out, 32, s, len, NULL, &bin_len, NULL) != 0 || bin_len != 32) return -1;
    return 0;
}

ar_stripe_sig_result ar_stripe_verify_signature(const char *header, const char *payload, size_t payload_len,
                                                const char *secret, long long now, long long tolerance_s)
{
    if (!secret || !*secret) return AR_STRIPE_SIG_NO_SECRET;
    if (!header || !*header) return AR_STRIPE_SIG_MISSING;
    size_t hlen = strlen(header);
    if (hlen > AR_STRIPE_SIGNATURE_MAX) return AR_STRIPE_SIG_MALFORMED;

    long long t = -1;
    int have_t = 0, nv1 = 0;
    enum { MAX_V1 = 8 };
    unsigned char v1[MAX_V1][32];
    int v1_ok[MAX_V1];
    const char *p = header, *end = header + hlen;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;
        const char *a = p, *b = item_end;
        while (a < b && isspace((unsigned char)*a)) a++;
        while (b > a && isspace((unsigned char)b[-1])) b--;
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if (a == b || !eq || eq == a) return AR_STRIPE_SIG_MALFORMED;
        size_t klen = (size_t)(eq - a);
        const char *v = eq + 1;
        size_t vlen = (size_t)(b - v);
        if (klen == 1 && *a == 't') {
            if (have_t || vlen == 0 || vlen > 15) return AR_STRIPE_SIG_MALFORMED;
            long long n = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9') return AR_STRIPE_SIG_MALFORMED;
                n = n * 10 + (v[i] - '0');
            }
            t = n;
            have_t = 1;
        } else if (klen == 2 && a[0] == 'v' && a[1] == '1') {
            if (nv1 >= MAX_V1) return AR_STRIPE_SIG_MALFORMED;
            v1_ok[nv1] = hex32(v, vlen, v1[nv1]) == 0; /* a value that is not 64 hex digits never matches */
            nv1++;
        } /* other schemes (v0, …) are ignored */
        p = comma ? comma + 1 : end;
    }
    if (!have_t) return AR_STRIPE_SIG_NO_TIMESTAMP;
    if (nv1 == 0) return AR_STRIPE_SIG_NO_V1;
    long long diff = now - t;
    if (diff < 0) diff = -diff;
    if (diff > tolerance_s) return AR_STRIPE_SIG_STALE;

    char hex[65];
    unsigned char expected[32];
    ar_stripe_sign(secret, t, payload, payload_len, hex);
    hex32(hex, 64, expected);
    int match = 0;
    for (int i = 0; i < nv1; i++) /* compare against every v1 (no early exit) */
        if (v1_ok[i] && sodium_memcmp(expected, v1[i], 32) == 0) match = 1;
    sodium_memzero(expected, sizeof expected);
    sodium_memzero(hex, sizeof hex);
    return match ? AR_STRIPE_SIG_OK : AR_STRIPE_SIG_MISMATCH;
}

/* ---- Checkout Sessions ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void form_pair(ar_buf *b, const char *key, const char *value)
{
    if (b->len) ar_buf_putc(b, '&');
    ar_buf_put_urlencoded(b, key, NULL);
    ar_buf_putc(b, '=');
    ar_buf_put_urlencoded(b, value, NULL);
}

static void form_int(ar_buf *b, const char *key, long long value)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", value);
    form_pair(b, key, n);
}

static int missing(const char *s)
{
    return !s || !*s;
}

char *ar_stripe_checkout_form(const ar_stripe_checkout *in, ar_error *err)
{
    if (missing(in->currency) || missing(in->product_name) || missing(in->success_url) || missing(in->cancel_url) ||
        missing(in->client_reference_id)) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "Stripe: currency, product name, URLs and reference are required");
        return NULL;
    }
    if (in->amount_cents <= 0 || in->tenant_id <= 0 || in->topup_id <= 0) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "Stripe: amount, tenant and top-up id must be positive");
        return NULL;
    }
    ar_buf b = AR_BUF_INIT;
    form_pair(&b, "mode", "payment");
    form_pair(&b, "line_items[0][price_data][currency]", in->currency);
    form_int(&b, "line_items[0][price_data][unit_amount]", in->amount_cents);
    form_pair(&b, "line_items[0][price_data][product_data][name]", in->product_name);
    form_int(&b, "line_items[0][quantity]", 1);
    form_pair(&b, "success_url", in->success_url);
    form_pair(&b, "cancel_url", in->cancel_url);
    form_pair(&b, "client_reference_id", in->client_reference_id);
    form_int(&b, "metadata[tenant_id]", in->tenant_id);
    form_int(&b, "metadata[topup_id]", in->topup_id);
    form_pair(&b, "metadata[purpose]", "reserve_topup");
    form_int(&b, "payment_intent_data[metadata][tenant_id]", in->tenant_id);
    form_int(&b, "payment_intent_data[metadata][topup_id]", in->topup_id);
    return ar_buf_steal(&b);
}

static size_t response_write(char *data, size_t size, size_t n, void *userdata)
{
    ar_buf *b = userdata;
    size_t len = size * n;
    if (b->len + len > STRIPE_RESPONSE_MAX) return 0; /* abort: far larger than any Checkout Session */
    ar_buf_append(b, data, len);
    return len;
}

/* "HTTP 400 invalid_request_error: <Stripe's message>" from an error body, for err->message. */
static void describe_refusal(ar_error *err, long status, const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    ar_error_set(err, AR_ERR_UNAVAILABLE, "Stripe refused the Checkout Session (HTTP %ld%s%.40s%s%.160s)", status,
                 type ? " " : "", type ? type : "", msg ? ": " : "", msg ? msg : "");
    json_decref(j);
}

json_t *ar_stripe_checkout_create(const ar_stripe_checkout *in, ar_error *err)
{
    if (missing(in->api_base) || missing(in->secret_key)) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "Stripe: the API base URL and the secret key are required");
        return NULL;
    }
    if (missing(in->idempotency_key) || strlen(in->idempotency_key) > 255) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "Stripe: an Idempotency-Key of 1 to 255 characters is required");
        return NULL;
    }
    if (strncmp(in->api_base, "http://", 7) != 0 && strncmp(in->api_base, "https://", 8) != 0) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "Stripe: the API base URL must start with http:// or https://");
        return NULL;
    }
    char *form = ar_stripe_checkout_form(in, err);
    if (!form) return NULL;
    pthread_once(&curl_once, curl_init_once);

    ar_buf url = AR_BUF_INIT, auth = AR_BUF_INIT, idem = AR_BUF_INIT, resp = AR_BUF_INIT;
    size_t base_len = strlen(in->api_base);
    while (base_len && in->api_base[base_len - 1] == '/') base_len--;
    ar_buf_append(&url, in->api_base, base_len);
    ar_buf_puts(&url, "/v1/checkout/sessions");
    ar_buf_printf(&auth, "Authorization: Bearer %s", in->secret_key);
    ar_buf_printf(&idem, "Idempotency-Key: %s", in->idempotency_key);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, ar_buf_cstr(&auth));
    headers = curl_slist_append(headers, ar_buf_cstr(&idem));
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");

    json_t *session = NULL;
    CURL *curl = curl_easy_init();
    if (!curl) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "Stripe: curl_easy_init failed");
        goto done;
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, ar_buf_cstr(&url));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, STRIPE_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, in->timeout_s > 0 ? in->timeout_s : STRIPE_DEFAULT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "AfterResume/0.1 (+libcurl)");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, response_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "Stripe could not be reached: %s%s%.200s", curl_easy_strerror(rc),
                     curl_err[0] ? ": " : "", curl_err);
        goto done;
    }
    if (status < 200 || status > 299) {
        describe_refusal(err, status, ar_buf_cstr(&resp));
        goto done;
    }
    json_error_t jerr;
    session = json_loadb(resp.data ? resp.data : "", resp.len, 0, &jerr);
    const char *object = json_string_value(json_object_get(session, "object"));
    if (!json_is_object(session) || !object || strcmp(object, "checkout.session") != 0 ||
        !json_is_string(json_object_get(session, "id")) || !json_is_string(json_object_get(session, "url"))) {
        json_decref(session);
        session = NULL;
        ar_error_set(err, AR_ERR_UNAVAILABLE, "Stripe answered HTTP %ld without a Checkout Session", status);
    }
done:
    curl_slist_free_all(headers);
    if (auth.data) sodium_memzero(auth.data, auth.len);
    ar_buf_free(&auth);
    ar_buf_free(&idem);
    ar_buf_free(&url);
    ar_buf_free(&resp);
    free(form);
    return session;
}

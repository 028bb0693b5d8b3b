/* llm.c — OpenAI-compatible chat-completions client (see llm.h): request building, retries with backoff on
 * 429/5xx/transport failures, and extraction of the first choice's content and the token usage. */
#include "afterresume/clients/llm.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/log.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LLM_MAX_REPLY_BYTES (4u * 1024 * 1024)

struct ar_llm {
    char *url;     /* .../v1/chat/completions */
    char *auth;    /* "Authorization: Bearer ..." or NULL */
    char *model;
    ar_llm_options opt;
};

ar_llm *ar_llm_new(const char *base_url, const char *api_key, const char *model, const ar_llm_options *options,
                   ar_error *err)
{
    if (!base_url || (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "LLM_BASE_URL must be an http(s):// URL.");
        return NULL;
    }
    if (!model || !*model || strlen(model) > 200) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "LLM_MODEL must name a model.");
        return NULL;
    }
    size_t len = strlen(base_url);
    while (len > 0 && base_url[len - 1] == '/') len--;
    if (len >= 3 && strncmp(base_url + len - 3, "/v1", 3) == 0) len -= 3;
    ar_llm *llm = ar_calloc(1, sizeof *llm);
    llm->url = ar_asprintf("%.*s/v1/chat/completions", (int)len, base_url);
    if (api_key && *api_key) llm->auth = ar_asprintf("Authorization: Bearer %s", api_key);
    llm->model = ar_strdup(model);
    llm->opt = (ar_llm_options){60, 2, 500, 10000};
    if (options) {
        if (options->timeout_s > 0) llm->opt.timeout_s = options->timeout_s;
        if (options->max_retries >= 0) llm->opt.max_retries = options->max_retries;
        if (options->backoff_ms > 0) llm->opt.backoff_ms = options->backoff_ms;
        if (options->max_backoff_ms > 0) llm->opt.max_backoff_ms = options->max_backoff_ms;
    }
    return llm;
}

void ar_llm_free(ar_llm *llm)
{
    if (!llm) return;
    ar_free(llm->url);
    if (llm->auth) sodium_memzero(llm->auth, strlen(llm->auth));
    ar_free(llm->auth);
    ar_free(llm->model);
    ar_free(llm);
}

const char *ar_llm_model(const ar_llm *llm)
{
    return llm->model;
}

void ar_llm_reply_clear(ar_llm_reply *reply)
{
    if (!reply) return;
    ar_free(reply->content);
    ar_free(reply->model);
    memset(reply, 0, sizeof *reply);
}

typedef struct response {
    ar_buf body;
    int too_big;
    long retry_after_s; /* from the Retry-After header, -1 when absent */
} response;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    response *r = arg;
    size_t len = size * n;
    if (r->body.len + len > LLM_MAX_REPLY_BYTES) {
        r->too_big = 1;
        return 0;
    }
    ar_buf_append(&r->body, data, len);
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    response *r = arg;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char *end;
        long v = strtol(data + 12, &end, 10);
        if (end != data + 12 && v >= 0) r->retry_after_s = v;
    }
    return len;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* The first choice's message content and the usage of a chat-completion reply; -1 when it is not one. */
static int parse_completion(const char *body, size_t len, ar_llm_reply *reply, const char *requested_model)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return -1;
    }
    json_t *choice = json_array_get(json_object_get(doc, "choices"), 0);
    json_t *message = json_object_get(choice, "message");
    const char *content = json_string_value(json_object_get(message, "content"));
    if (!content) {
        json_decref(doc);
        return -1;
    }
    reply->content = ar_strdup(content);
    const char *model = json_string_value(json_object_get(doc, "model"));
    reply->model = ar_strdup(model && *model ? model : requested_model);
    json_t *usage = json_object_get(doc, "usage");
    json_int_t pt = json_integer_value(json_object_get(usage, "prompt_tokens"));
    json_int_t ct = json_integer_value(json_object_get(usage, "completion_tokens"));
    reply->prompt_tokens = pt > 0 ? (long)pt : 0;
    reply->completion_tokens = ct > 0 ? (long)ct : 0;
    json_decref(doc);
    return 0;
}

/* The "error.message" of an OpenAI-style error body, shortened, or "". */
static void error_detail(const ar_buf *body, char *out, size_t out_size)
{
    out[0] = '\0';
    json_t *doc = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    const char *msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    if (!msg) msg = json_string_value(json_object_get(doc, "error"));
    if (msg) snprintf(out, out_size, ": %.160s", msg);
    json_decref(doc);
}

int ar_llm_chat(ar_llm *llm, json_t *messages, int json_mode, double temperature, ar_llm_reply *reply,
                ar_error *err)
{
    memset(reply, 0, sizeof *reply);
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "chat: messages must be a non-empty array");
        return -1;
    }
    json_t *req = json_pack("{s:s,s:O,s:b}", "model", llm->model, "messages", messages, "stream", 0);
    if (json_mode) json_object_set_new(req, "response_format", json_pack("{s:s}", "type", "json_object"));
    if (temperature >= 0) json_object_set_new(req, "temperature", json_real(temperature));
    char *payload = json_dumps(req, JSON_COMPACT);
    json_decref(req);

    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    if (llm->auth) headers = curl_slist_append(headers, llm->auth);

    int rc = -1;
    long backoff = llm->opt.backoff_ms;
    char last_problem[512] = "no attempt made";
    for (int attempt = 0; attempt <= llm->opt.max_retries; attempt++) {
        CURL *curl = curl_easy_init();
        if (!curl) {
            snprintf(last_problem, sizeof last_problem, "curl could not start");
            break;
        }
        response resp = {AR_BUF_INIT, 0, -1};
        char curl_err[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(curl, CURLOPT_URL, llm->url);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, llm->opt.timeout_s);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
        CURLcode cc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(curl);
        reply->attempts = attempt + 1;
        reply->http_status = (int)status;

        int retryable;
        if (cc != CURLE_OK && !resp.too_big) {
            snprintf(last_problem, sizeof last_problem, "the model server could not be reached (%s)",
                     curl_err[0] ? curl_err : curl_easy_strerror(cc));
            retryable = 1;
        } else if (resp.too_big) {
            snprintf(last_problem, sizeof last_problem, "the model server's reply is larger than %u bytes",
                     LLM_MAX_REPLY_BYTES);
            retryable = 0;
        } else if (status == 429 || status >= 500) {
            char detail[180];
            error_detail(&resp.body, detail, sizeof detail);
            snprintf(last_problem, sizeof last_problem, "the model server answered HTTP %ld%s", status, detail);
            retryable = 1;
        } else if (status < 200 || status >= 300) {
            char detail[180];
            error_detail(&resp.body, detail, sizeof detail);
            snprintf(last_problem, sizeof last_problem, "the model server refused the request (HTTP %ld%s)", status,
                     detail);
            retryable = 0;
        } else if (parse_completion(ar_buf_cstr(&resp.body), resp.body.len, reply, llm->model) != 0) {
            snprintf(last_problem, sizeof last_problem, "the model server's answer is not a chat completion");
            retryable = 0;
        } else {
            ar_buf_free(&resp.body);
            rc = 0;
            break;
        }
        long retry_after = resp.retry_after_s;
        ar_buf_free(&resp.body);
        if (!retryable || attempt == llm->opt.max_retries) break;
        long wait = backoff + (long)randombytes_uniform((uint32_t)(backoff / 2 + 1));
        if (retry_after >= 0) wait = retry_after * 1000;
        if (wait > llm->opt.max_backoff_ms) wait = llm->opt.max_backoff_ms;
        ar_log_json(AR_LOG_WARN, "llm call retrying",
                    json_pack("{s:s,s:i,s:I}", "problem", last_problem, "attempt", attempt + 1, "wait_ms",
                              (json_int_t)wait));
        sleep_ms(wait);
        backoff *= 2;
    }
    curl_slist_free_all(headers);
    ar_free(payload);
    if (rc != 0) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "LLM call failed after %d attempt%s: %s", reply->attempts,
                     reply->attempts == 1 ? "" : "s", last_problem);
    }
    return rc;
}

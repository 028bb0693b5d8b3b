/* llm.h — OpenAI-compatible chat-completions client over libcurl (OpenAI, vLLM, llama.cpp server, Ollama's
 * /v1 endpoint): POST {base}/v1/chat/completions with a bearer key, the model, the messages and, when asked,
 * `response_format: {"type":"json_object"}`. Retries 429 and 5xx answers and transport failures with
 * exponential backoff (honouring Retry-After up to a ceiling); other 4xx answers fail at once.
 * Token counts come from the reply's `usage` (0 when the server sends none).
 * Errors: AR_ERR_UNAVAILABLE for transport/timeout/429/5xx after the retries, AR_ERR_BAD_GATEWAY-like problems
 * (a reply that is not a chat completion) as AR_ERR_UNAVAILABLE with a clear message, AR_ERR_BAD_REQUEST for bad
 * arguments. The API key never appears in errors or logs. An ar_llm may be shared by threads. */
#ifndef AFTERRESUME_CLIENTS_LLM_H
#define AFTERRESUME_CLIENTS_LLM_H
#include <jansson.h>

#include "afterresume/core/error.h"

typedef struct ar_llm ar_llm;

typedef struct ar_llm_options {
    long timeout_s;       /* whole request, default 60 */
    int max_retries;      /* retries after the first attempt on 429/5xx/transport errors, default 2 */
    long backoff_ms;      /* first backoff, doubled per retry (with jitter), default 500 */
    long max_backoff_ms;  /* ceiling, also for Retry-After, default 10000 */
} ar_llm_options;

typedef struct ar_llm_reply {
    char *content;          /* the first choice's message content (heap), NULL on failure */
    char *model;            /* the model the server says answered (heap; the requested one when absent) */
    long prompt_tokens;     /* usage.prompt_tokens */
    long completion_tokens; /* usage.completion_tokens */
    int attempts;           /* HTTP attempts made */
    int http_status;        /* of the last attempt (0 when none completed) */
} ar_llm_reply;

/* base_url: "http(s)://host[:port][/prefix]" — "/v1/chat/completions" is appended (a trailing "/v1" or "/"
 * on base_url is accepted and not doubled). api_key may be NULL or "" (local servers). options may be NULL. */
ar_llm *ar_llm_new(const char *base_url, const char *api_key, const char *model, const ar_llm_options *options,
                   ar_error *err);
void ar_llm_free(ar_llm *llm);
const char *ar_llm_model(const ar_llm *llm);

/* One chat completion. messages: JSON array of {"role","content"} (borrowed). json_mode asks for a JSON
 * object reply. temperature < 0 leaves it to the server. Returns 0 with *reply filled, or -1 with err
 * (reply->attempts/http_status still say what happened). Free with ar_llm_reply_clear. */
int ar_llm_chat(ar_llm *llm, json_t *messages, int json_mode, double temperature, ar_llm_reply *reply,
                ar_error *err);
void ar_llm_reply_clear(ar_llm_reply *reply);

#endif

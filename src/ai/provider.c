/* provider.c — dispatch of the AI features to the local provider or an OpenAI-compatible endpoint (see
 * provider.h): prompt rendering from templates/prompts/, the expected reply shapes, one repair retry for a
 * malformed reply, and the record of every model call. */
#include "afterresume/ai/provider.h"
#include "afterresume/ai/reply.h"
#include "afterresume/clients/llm.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/core/log.h"

#include <stdio.h>
#include <string.h>

#define LOCAL_MODEL "local-extractive-1"

struct ar_ai {
    int remote;
    ar_llm *llm;
    const ar_templates *templates;
};

/* ---- expected reply shapes ---------------------------------------------------------------------------- */

static const char *const skill_kinds[] = {"skill", "technology", "tool", "method", "domain", NULL};

static const ar_shape_field signal_fields[] = {
    {"name", AR_SHAPE_STRING, 1, 1, 120, NULL, AR_SHAPE_STRING, NULL},
    {"kind", AR_SHAPE_STRING, 1, 0, 0, skill_kinds, AR_SHAPE_STRING, NULL},
    {"confidence", AR_SHAPE_NUMBER, 1, 0, 1, NULL, AR_SHAPE_STRING, NULL},
    {"excerpt", AR_SHAPE_STRING, 0, 0, 500, NULL, AR_SHAPE_STRING, NULL},
};
static const ar_shape signal_shape = {signal_fields, sizeof signal_fields / sizeof signal_fields[0]};

static const ar_shape_field enhance_fields[] = {
    {"title", AR_SHAPE_STRING, 1, 1, 120, NULL, AR_SHAPE_STRING, NULL},
    {"summary", AR_SHAPE_STRING, 1, 1, 300, NULL, AR_SHAPE_STRING, NULL},
    {"bullets", AR_SHAPE_ARRAY, 1, 1, 3, NULL, AR_SHAPE_STRING, NULL},
    {"impact_score", AR_SHAPE_INTEGER, 1, 1, 10, NULL, AR_SHAPE_STRING, NULL},
    {"skills", AR_SHAPE_ARRAY, 1, 0, 30, NULL, AR_SHAPE_OBJECT, &signal_shape},
};
const ar_shape ar_ai_shape_enhance = {enhance_fields, sizeof enhance_fields / sizeof enhance_fields[0]};

static const ar_shape_field evidence_fields[] = {
    {"entry_id", AR_SHAPE_INTEGER, 1, 1, 9.0e15, NULL, AR_SHAPE_STRING, NULL},
    {"excerpt", AR_SHAPE_STRING, 1, 0, 500, NULL, AR_SHAPE_STRING, NULL},
};
static const ar_shape evidence_shape = {evidence_fields, sizeof evidence_fields / sizeof evidence_fields[0]};

static const ar_shape_field skill_fields[] = {
    {"name", AR_SHAPE_STRING, 1, 1, 120, NULL, AR_SHAPE_STRING, NULL},
    {"kind", AR_SHAPE_STRING, 1, 0, 0, skill_kinds, AR_SHAPE_STRING, NULL},
    {"confidence", AR_SHAPE_NUMBER, 1, 0, 1, NULL, AR_SHAPE_STRING, NULL},
    {"evidence", AR_SHAPE_ARRAY, 1, 1, 200, NULL, AR_SHAPE_OBJECT, &evidence_shape},
};
static const ar_shape skill_shape = {skill_fields, sizeof skill_fields / sizeof skill_fields[0]};
static const ar_shape_field skills_fields[] = {
    {"skills", AR_SHAPE_ARRAY, 1, 0, 200, NULL, AR_SHAPE_OBJECT, &skill_shape},
};
const ar_shape ar_ai_shape_skills = {skills_fields, 1};

static const ar_shape_field item_fields[] = {
    {"text", AR_SHAPE_STRING, 1, 1, 600, NULL, AR_SHAPE_STRING, NULL},
    {"citations", AR_SHAPE_ARRAY, 1, 0, 50, NULL, AR_SHAPE_INTEGER, NULL},
};
static const ar_shape item_shape = {item_fields, 2};
static const ar_shape_field section_fields[] = {
    {"items", AR_SHAPE_ARRAY, 1, 0, 40, NULL, AR_SHAPE_OBJECT, &item_shape},
};
const ar_shape ar_ai_shape_section = {section_fields, 1};

/* ---- construction ------------------------------------------------------------------------------------- */

ar_ai *ar_ai_new(const ar_config *cfg, const ar_templates *templates, ar_error *err)
{
    const char *provider = cfg->llm_provider && *cfg->llm_provider ? cfg->llm_provider : "local";
    ar_ai *ai = ar_calloc(1, sizeof *ai);
    ai->templates = templates;
    if (strcmp(provider, "local") == 0) return ai;
    if (strcmp(provider, "openai") != 0) {
        ar_error_set(err, AR_ERR_BAD_REQUEST, "LLM_PROVIDER must be local or openai, not \"%s\".", provider);
        ar_free(ai);
        return NULL;
    }
    if (!templates || !ar_templates_has(templates, "prompts/enhance")) {
        ar_error_set(err, AR_ERR_INTERNAL, "the prompts templates (templates/prompts/) are missing");
        ar_free(ai);
        return NULL;
    }
    ai->llm = ar_llm_new(cfg->llm_base_url, cfg->llm_api_key, cfg->llm_model, NULL, err);
    if (!ai->llm) {
        ar_free(ai);
        return NULL;
    }
    ai->remote = 1;
    return ai;
}

void ar_ai_free(ar_ai *ai)
{
    if (!ai) return;
    ar_llm_free(ai->llm);
    ar_free(ai);
}

const char *ar_ai_provider(const ar_ai *ai)
{
    return ai->remote ? "openai" : "local";
}

const char *ar_ai_model(const ar_ai *ai)
{
    return ai->remote ? ar_llm_model(ai->llm) : LOCAL_MODEL;
}

int ar_ai_is_remote(const ar_ai *ai)
{
    return ai->remote;
}

static void record_call(ar_ai_calls *calls, const char *provider, const char *model, long prompt, long completion)
{
    if (!calls || calls->count >= AR_AI_MAX_CALLS) return;
    ar_ai_call *c = &calls->call[calls->count++];
    snprintf(c->provider, sizeof c->provider, "%s", provider);
    snprintf(c->model, sizeof c->model, "%s", model);
    c->prompt_tokens = prompt;
    c->completion_tokens = completion;
}

/* ---- remote calls ------------------------------------------------------------------------------------- */

/* Render prompt `name` with ctx (+ the shape description), ask, check the reply; on a malformed reply ask once
 * more with a repair instruction. */
static json_t *ask(const ar_ai *ai, const char *name, json_t *ctx, const ar_shape *shape, ar_ai_calls *calls,
                   ar_error *err)
{
    char *shape_text = ar_ai_shape_describe(shape);
    json_object_set_new(ctx, "shape", json_string(shape_text));
    ar_free(shape_text);
    ar_buf system = AR_BUF_INIT, user = AR_BUF_INIT;
    char tpl[64];
    snprintf(tpl, sizeof tpl, "prompts/%s", name);
    if (ar_templates_render(ai->templates, "prompts/system", NULL, &system) != 0 ||
        ar_templates_render(ai->templates, tpl, ctx, &user) != 0) {
        ar_buf_free(&system);
        ar_buf_free(&user);
        ar_error_set(err, AR_ERR_INTERNAL, "the prompt template %s could not be rendered", tpl);
        return NULL;
    }
    json_t *messages = json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "system", "content", ar_buf_cstr(&system), "role",
                                 "user", "content", ar_buf_cstr(&user));
    ar_buf_free(&system);
    ar_buf_free(&user);
    json_t *result = NULL;
    char problem[300] = "";
    for (int attempt = 0; attempt < 2 && !result; attempt++) {
        ar_llm_reply reply;
        if (ar_llm_chat(ai->llm, messages, 1, 0.2, &reply, err) != 0) {
            ar_llm_reply_clear(&reply);
            break;
        }
        record_call(calls, "openai", reply.model, reply.prompt_tokens, reply.completion_tokens);
        result = ar_ai_reply_parse(reply.content, shape, problem, sizeof problem);
        if (!result) {
            ar_log_json(AR_LOG_WARN, "model reply did not match the expected shape",
                        json_pack("{s:s,s:s,s:i}", "prompt", name, "problem", problem, "attempt", attempt + 1));
            char *repair = ar_ai_repair_message(shape, problem);
            json_array_append_new(messages, json_pack("{s:s,s:s}", "role", "assistant", "content", reply.content));
            json_array_append_new(messages, json_pack("{s:s,s:s}", "role", "user", "content", repair));
            ar_free(repair);
            if (attempt == 1)
                ar_error_set(err, AR_ERR_UNAVAILABLE, "The model's reply could not be used after a retry: %s.",
                             problem);
        }
        ar_llm_reply_clear(&reply);
    }
    json_decref(messages);
    return result;
}

int ar_ai_enhance_entry(const ar_ai *ai, json_t *entry, json_t **out, ar_ai_calls *calls, ar_error *err)
{
    if (!ai->remote) {
        *out = ar_ai_local_enhance(entry);
        record_call(calls, "local", LOCAL_MODEL, 0, 0);
        return 0;
    }
    json_t *ctx = json_pack("{s:O}", "entry", entry);
    *out = ask(ai, "enhance", ctx, &ar_ai_shape_enhance, calls, err);
    json_decref(ctx);
    return *out ? 0 : -1;
}

int ar_ai_extract_skills(const ar_ai *ai, json_t *entries, json_t **out, ar_ai_calls *calls, ar_error *err)
{
    if (!ai->remote) {
        *out = ar_ai_local_skills(entries);
        record_call(calls, "local", LOCAL_MODEL, 0, 0);
        return 0;
    }
    json_t *ctx = json_pack("{s:O}", "entries", entries);
    *out = ask(ai, "skills", ctx, &ar_ai_shape_skills, calls, err);
    json_decref(ctx);
    return *out ? 0 : -1;
}

int ar_ai_draft_section(const ar_ai *ai, const char *report_kind, const char *section_title, json_t *entries,
                        const char *custom_prompt, json_t **out, ar_ai_calls *calls, ar_error *err)
{
    if (!ai->remote) {
        *out = ar_ai_local_section(report_kind, entries);
        record_call(calls, "local", LOCAL_MODEL, 0, 0);
        return 0;
    }
    json_t *ctx = json_pack("{s:s,s:s,s:O}", "report_kind", report_kind ? report_kind : "custom", "section_title",
                            section_title ? section_title : "Highlights", "entries", entries);
    if (custom_prompt && *custom_prompt) json_object_set_new(ctx, "custom_prompt", json_string(custom_prompt));
    *out = ask(ai, "section", ctx, &ar_ai_shape_section, calls, err);
    json_decref(ctx);
    return *out ? 0 : -1;
}

/* runtime.c — the process's AI providers and prices, built once at start-up (see runtime.h). */
#include "afterresume/ai/runtime.h"
#include "afterresume/ai/skills.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static ar_ai *local_ai, *remote_ai;
static ar_templates *prompts;
static long long hold_cents = 100, local_job_cents = 0;
static pthread_once_t fallback_once = PTHREAD_ONCE_INIT;
static ar_ai *fallback_local;

static void make_fallback(void)
{
    ar_config cfg = {0};
    ar_error err = {0};
    fallback_local = ar_ai_new(&cfg, NULL, &err);
}

int ar_ai_runtime_init(const ar_config *cfg, ar_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data/skills_taxonomy.tsv", cfg->templates_dir);
    if (ar_skills_taxonomy_load(path, err) != 0) return -1;
    ar_config local_cfg = {0};
    local_ai = ar_ai_new(&local_cfg, NULL, err);
    hold_cents = cfg->ai_hold_cents > 0 ? cfg->ai_hold_cents : 100;
    local_job_cents = cfg->ai_local_job_cents > 0 ? cfg->ai_local_job_cents : 0;
    if (cfg->llm_provider && strcmp(cfg->llm_provider, "openai") == 0) {
        char *terr = NULL;
        prompts = ar_templates_load_dir(cfg->templates_dir, &terr);
        if (!prompts) {
            ar_error_set(err, AR_ERR_INTERNAL, "templates: %s", terr ? terr : "cannot load");
            ar_free(terr);
            return -1;
        }
        remote_ai = ar_ai_new(cfg, prompts, err);
        if (!remote_ai) return -1;
    }
    ar_log_json(AR_LOG_INFO, "ai providers ready",
                json_pack("{s:s,s:s,s:I}", "provider", remote_ai ? "openai" : "local", "model",
                          ar_ai_model(remote_ai ? remote_ai : local_ai), "skills", (json_int_t)ar_skills_taxonomy_size()));
    return 0;
}

void ar_ai_runtime_free(void)
{
    ar_ai_free(remote_ai);
    ar_ai_free(local_ai);
    ar_templates_free(prompts);
    remote_ai = local_ai = NULL;
    prompts = NULL;
    ar_skills_taxonomy_free();
}

const ar_ai *ar_ai_runtime_local(void)
{
    if (local_ai) return local_ai;
    pthread_once(&fallback_once, make_fallback);
    return fallback_local;
}

const ar_ai *ar_ai_runtime_remote(void)
{
    return remote_ai;
}

long long ar_ai_runtime_hold_cents(void)
{
    return hold_cents;
}

long long ar_ai_runtime_local_job_cents(void)
{
    return local_job_cents;
}

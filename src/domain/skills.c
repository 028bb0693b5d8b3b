/* skills.c — skills and their evidence (see skills.h). */
#include "afterresume/domain/skills.h"
#include "afterresume/ai/skills.h"
#include "afterresume/core/utf8.h"
#include "afterresume/db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ar_db_stmt statements[] = {
    /* A merged skill redirects to its target; otherwise the skill itself (created when new). */
    {"skills_upsert",
     "WITH existing AS (SELECT coalesce(merged_into, id) AS id FROM skills "
     "                  WHERE tenant_id = $1 AND user_id = $2 AND name = $3), "
     "ins AS (INSERT INTO skills (tenant_id, user_id, name, display_name, kind, first_seen, last_seen) "
     "        SELECT $1, $2, $3, $4, $5, $6::date, $6::date WHERE NOT EXISTS (SELECT 1 FROM existing) "
     "        ON CONFLICT (tenant_id, user_id, name) DO NOTHING RETURNING id) "
     "SELECT id FROM existing UNION ALL SELECT id FROM ins"},
    {"skills_evidence_upsert",
     "INSERT INTO skill_evidence (tenant_id, skill_id, entry_id, excerpt, source, confidence) "
     "VALUES ($1, $2, $3, $4, $5, $6::real) ON CONFLICT (skill_id, entry_id) DO UPDATE SET "
     "excerpt = CASE WHEN EXCLUDED.excerpt <> '' THEN EXCLUDED.excerpt ELSE skill_evidence.excerpt END, "
     "confidence = greatest(skill_evidence.confidence, EXCLUDED.confidence)"},
    {"skills_refresh",
     "UPDATE skills s SET level = CASE WHEN st.n >= 5 THEN 'strong' WHEN st.n >= 2 THEN 'practiced' ELSE 'emerging' END, "
     "confidence = least(0.95, greatest(st.best, 0.4 + 0.1 * st.n))::real, "
     "first_seen = st.first_seen, last_seen = st.last_seen, updated_at = now() "
     "FROM (SELECT count(*) AS n, max(ev.confidence) AS best, min(e.occurred_on) AS first_seen, "
     "             max(e.occurred_on) AS last_seen "
     "      FROM skill_evidence ev JOIN worklog_entries e ON e.id = ev.entry_id WHERE ev.skill_id = $1) st "
     "WHERE s.id = $1"},
};

void ar_skills_register(void)
{
    ar_db_register(statements, sizeof statements / sizeof statements[0]);
}

static const char *valid_kind(const char *kind, const char *fallback)
{
    static const char *const kinds[] = {"skill", "technology", "tool", "method", "domain"};
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i]) == 0) return kinds[i];
    return fallback;
}

/* The first max characters of s (UTF-8), as a heap string. */
static char *cut_chars(const char *s, size_t max)
{
    size_t bytes = 0, chars = 0, len = strlen(s);
    while (bytes < len && chars < max) {
        bytes++;
        while (bytes < len && ((unsigned char)s[bytes] & 0xC0) == 0x80) bytes++;
        chars++;
    }
    char *out = malloc(bytes + 1);
    if (!out) abort();
    memcpy(out, s, bytes);
    out[bytes] = '\0';
    return out;
}

int ar_skills_add_evidence_in_tx(PGconn *c, const ar_ctx *ctx, const ar_skill_evidence_in *ev, long long *skill_id,
                                 ar_error *err)
{
    char name[AR_SKILL_NAME_MAX + 1];
    if (!ev->name || ar_skill_normalise(ev->name, name, sizeof name) != 0)
        return ar_error_set(err, AR_ERR_VALIDATION, "A skill needs a name."), -1;
    const ar_skill_def *known = ar_skill_lookup(ev->name);
    char display[AR_SKILL_NAME_MAX + 1];
    if (known) snprintf(display, sizeof display, "%s", known->name);
    else {
        char *cut = cut_chars(ev->name, AR_SKILL_NAME_MAX);
        /* trimmed, as given (case kept) */
        char *p = cut;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n')) p[--n] = '\0';
        snprintf(display, sizeof display, "%s", *p ? p : name);
        free(cut);
    }
    const char *kind = valid_kind(ev->kind, known ? known->kind : "skill");
    char tenant[24], user[24], entry[24], conf[32], id[24];
    snprintf(tenant, sizeof tenant, "%lld", ctx->tenant_id);
    snprintf(user, sizeof user, "%lld", ctx->user_id);
    snprintf(entry, sizeof entry, "%lld", ev->entry_id);
    double confidence = ev->confidence < 0 ? 0 : ev->confidence > 1 ? 1 : ev->confidence;
    snprintf(conf, sizeof conf, "%.3f", confidence);
    const char *p1[6] = {tenant, user, name, display, kind, ev->occurred_on};
    PGresult *r = ar_db_exec(c, "skills_upsert", 6, p1, err);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ar_error_set(err, AR_ERR_CONFLICT, "The skill changed at the same time; try again."), -1;
    }
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    char *excerpt = cut_chars(ev->excerpt && ar_utf8_valid(ev->excerpt, strlen(ev->excerpt)) ? ev->excerpt : "", 500);
    const char *source = ev->source ? ev->source : "local";
    const char *p2[6] = {tenant, id, entry, excerpt, source, conf};
    r = ar_db_exec(c, "skills_evidence_upsert", 6, p2, err);
    free(excerpt);
    if (!r) return -1;
    PQclear(r);
    const char *p3[1] = {id};
    r = ar_db_exec(c, "skills_refresh", 1, p3, err);
    if (!r) return -1;
    PQclear(r);
    if (skill_id) *skill_id = atoll(id);
    return 0;
}

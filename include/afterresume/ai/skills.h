/* skills.h — skill names: normalisation, the taxonomy of known skills with their aliases (e.g. "k8s" →
 * Kubernetes, "postgres" → PostgreSQL) loaded from templates/data/skills_taxonomy.tsv, and finding known skills
 * in free text (the local provider's skill matcher).
 *
 * Load the taxonomy once at start-up (ar_skills_taxonomy_load) before threads use it; it is read-only afterwards.
 * Without a loaded taxonomy, normalisation still works (no alias resolution) and nothing is found in text. */
#ifndef AFTERRESUME_AI_SKILLS_H
#define AFTERRESUME_AI_SKILLS_H
#include <stddef.h>

#include "afterresume/core/error.h"

#define AR_SKILL_NAME_MAX 120

typedef struct ar_skill_def {
    const char *name;       /* display name, e.g. "Kubernetes" */
    const char *normalised; /* stored name, e.g. "kubernetes" */
    const char *kind;       /* skill | technology | tool | method | domain */
} ar_skill_def;

typedef struct ar_skill_hit {
    const ar_skill_def *skill;
    size_t offset, length;  /* the first place it was found, in bytes of the text */
    int count;              /* how many times it was found */
} ar_skill_hit;

/* Load (replacing any loaded taxonomy). Returns 0, or -1 with err naming the file and line. */
int ar_skills_taxonomy_load(const char *path, ar_error *err);
void ar_skills_taxonomy_free(void);
size_t ar_skills_taxonomy_size(void);

/* The stored form of a skill name: an alias or name of a known skill gives the canonical normalised name;
 * anything else is lower-cased (ASCII), trimmed, inner whitespace collapsed to one space, and cut at
 * AR_SKILL_NAME_MAX bytes on a UTF-8 boundary. out_size ≥ AR_SKILL_NAME_MAX + 1. Returns 0, or -1 when the
 * name is empty after trimming or not valid UTF-8. */
int ar_skill_normalise(const char *raw, char *out, size_t out_size);
/* The known skill a name or alias refers to (case-insensitive, ignoring punctuation), or NULL. */
const ar_skill_def *ar_skill_lookup(const char *raw);

/* Known skills mentioned in text, whole words only, longest match first ("machine learning" beats
 * "learning"), each skill once (count = mentions), in order of first mention. Returns how many were written. */
size_t ar_skills_find(const char *text, ar_skill_hit *hits, size_t max_hits);

#endif

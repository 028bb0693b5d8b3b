/* citations.h — keeping report bullets honest: every citation must name an entry of the report's selected
 * set. Foreign or unknown ids are dropped; a bullet left without a valid citation is flagged and must never be
 * shown as cited. */
#ifndef AFTERRESUME_AI_CITATIONS_H
#define AFTERRESUME_AI_CITATIONS_H
#include <jansson.h>
#include <stddef.h>

/* items: [{text, citations: [ids]}] (borrowed). allowed: the selected entry ids (any order, n may be 0).
 * Returns a new array [{text, citations: [valid ids, deduplicated, in first-seen order], flagged: bool,
 * dropped: [ids removed]}]; *dropped_total (may be NULL) counts removed citations. */
json_t *ar_ai_validate_citations(json_t *items, const long long *allowed, size_t n, size_t *dropped_total);

#endif

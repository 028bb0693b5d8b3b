/* template.h — Mustache templates (with ~inheritance: parents and blocks) over jansson values.
 *
 * A set of templates is compiled once at start-up (ar_templates_load_dir), then rendered from many threads
 * at once: compiled templates are immutable and rendering keeps all of its state on the caller's side.
 * Adding or replacing templates must not run concurrently with rendering.
 *
 * Semantics follow the Mustache spec (comments, delimiters, interpolation, inverted, partials, sections,
 * ~inheritance, including block reindentation). Choices the spec leaves open:
 *   - falsey values: missing, null, false, [] and "" (empty string); 0, 0.0 and {} are truthy;
 *   - reals print with the fewest digits that read back exactly (1.21 -> "1.21", 2.0 -> "2");
 *   - objects and arrays interpolate as the empty string;
 *   - partials and parents nest at most 64 deep at render time; deeper expansions render as empty;
 *   - sections/blocks/parents nest at most 100 deep inside one template (deeper is a syntax error);
 *   - one render visits at most 8M nodes; a runaway template (exponential partial fan-out) is cut off.
 * Escaping: {{name}} is HTML-escaped; only {{{name}}} and {{& name}} emit raw text. */
#ifndef AFTERRESUME_RENDER_TEMPLATE_H
#define AFTERRESUME_RENDER_TEMPLATE_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/core/buf.h"
#include "afterresume/render/escape.h"

typedef struct ar_templates ar_templates; /* a named set of compiled templates */

ar_templates *ar_templates_new(void);

/* Compile `source` under `name` (e.g. "pages/home"). On a syntax error returns -1 and sets *err to a heap
 * string "NAME:LINE: message" (caller frees). Replaces an existing template of the same name. */
int ar_templates_add(ar_templates *t, const char *name, const char *source, char **err);

/* Same, but `source` has an explicit length and error messages (compile and ar_templates_check) name
 * `origin` (e.g. the file path "templates/pages/home.mustache") instead of the template name. */
int ar_templates_add_source(ar_templates *t, const char *name, const char *origin, const char *source,
                            size_t len, char **err);

/* Load every *.mustache file under `dir` recursively; name = path relative to dir without ".mustache"
 * ("layouts/base", "pages/home", "partials/nav"). Then verifies that every partial/parent referenced by any
 * template exists. Returns NULL on any error with *err = "templates/pages/x.mustache:12: unclosed section
 * 'items'" style message (file path and line). */
ar_templates *ar_templates_load_dir(const char *dir, char **err);

/* Check that all referenced partials/parents exist; -1 + *err "file:line: unknown partial 'x'" otherwise. */
int ar_templates_check(const ar_templates *t, char **err);

int ar_templates_has(const ar_templates *t, const char *name);

/* Number of templates in the set. */
size_t ar_templates_count(const ar_templates *t);

/* Render template `name` with context `ctx` (any json_t, may be NULL) appending to `out`.
 * Returns 0, or -1 if the template does not exist (nothing appended) or the render was cut off by the
 * node budget (`out` then holds the truncated output). Missing partials at render time render as empty. */
int ar_templates_render(const ar_templates *t, const char *name, json_t *ctx, ar_buf *out);

void ar_templates_free(ar_templates *t);

#endif

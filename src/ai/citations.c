/* citations.c — validation of report bullets' citations against the selected entries (see citations.h). */
#include "afterresume/ai/citations.h"
#include "afterresume/core/alloc.h"

#include <stdlib.h>
#include <string.h>

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

json_t *ar_ai_validate_citations(json_t *items, const long long *allowed, size_t n, size_t *dropped_total)
{
    long long *sorted = ar_malloc((n ? n : 1) * sizeof *sorted);
    if (n) memcpy(sorted, allowed, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_ll);
    size_t total = 0;
    json_t *out = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        const char *text = json_string_value(json_object_get(item, "text"));
        if (!text) continue;
        json_t *valid = json_array(), *dropped = json_array();
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(item, "citations"), k, c) {
            if (!json_is_integer(c)) {
                json_array_append(dropped, c);
                continue;
            }
            long long id = (long long)json_integer_value(c);
            int dup = 0;
            size_t j;
            json_t *seen;
            json_array_foreach(valid, j, seen) dup |= json_integer_value(seen) == id;
            if (dup) continue;
            if (n && bsearch(&id, sorted, n, sizeof *sorted, cmp_ll)) json_array_append_new(valid, json_integer(id));
            else json_array_append_new(dropped, json_integer(id));
        }
        total += json_array_size(dropped);
        json_array_append_new(out, json_pack("{s:s,s:o,s:b,s:o}", "text", text, "citations", valid, "flagged",
                                             json_array_size(valid) == 0 || json_array_size(dropped) > 0, "dropped",
                                             dropped));
    }
    ar_free(sorted);
    if (dropped_total) *dropped_total = total;
    return out;
}

/* router.c — matches a method and a decoded path against the static route table. Linear scan: the table is
 * small and each comparison stops at the first differing segment. */
#include "afterresume/http/router.h"

#include <stdio.h>
#include <string.h>

static const struct {
    ar_method m;
    const char *name;
} method_names[] = {
    {AR_GET, "GET"},     {AR_HEAD, "HEAD"},     {AR_POST, "POST"},       {AR_PUT, "PUT"},
    {AR_PATCH, "PATCH"}, {AR_DELETE, "DELETE"}, {AR_OPTIONS, "OPTIONS"},
};

ar_method ar_method_from_string(const char *m)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (strcmp(m, method_names[i].name) == 0) return method_names[i].m;
    return 0;
}

const char *ar_method_name(ar_method m)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (method_names[i].m == m) return method_names[i].name;
    return "?";
}

/* Match one pattern; fills params on success. */
static int pattern_match(const char *pat, const char *path, ar_path_params *params)
{
    params->count = 0;
    while (*pat && *path) {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            if (!close) return 0;
            int rest = pat[1] == '*'; /* {*name} takes the rest of the path, slashes included */
            const char *seg_end = rest ? NULL : strchr(path, '/');
            size_t len = seg_end ? (size_t)(seg_end - path) : strlen(path);
            if (len == 0 || len >= sizeof params->values[0] || params->count >= AR_MAX_PATH_PARAMS) return 0;
            int i = params->count++;
            params->names[i] = pat + 1 + rest;
            params->name_len[i] = (size_t)(close - pat - 1 - rest);
            memcpy(params->values[i], path, len);
            params->values[i][len] = '\0';
            pat = close + 1;
            path += len;
            continue;
        }
        if (*pat != *path) return 0;
        pat++;
        path++;
    }
    return *pat == '\0' && *path == '\0';
}

ar_match_result ar_router_match(const ar_route *routes, size_t count, ar_method method, const char *path,
                                const ar_route **found, ar_path_params *params, unsigned *allowed)
{
    ar_method want = method == AR_HEAD ? AR_GET : method;
    unsigned seen = 0;
    ar_path_params scratch;
    for (size_t i = 0; i < count; i++) {
        if (!pattern_match(routes[i].pattern, path, &scratch)) continue;
        seen |= routes[i].method;
        if (routes[i].method == want) {
            *found = &routes[i];
            *params = scratch;
            return AR_MATCH_OK;
        }
    }
    *found = NULL;
    if (seen) {
        if (seen & AR_GET) seen |= AR_HEAD;
        *allowed = seen;
        return AR_MATCH_BAD_METHOD;
    }
    return AR_MATCH_NOT_FOUND;
}

void ar_router_allow_header(unsigned methods, char *out, size_t out_size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++) {
        if (!(methods & method_names[i].m)) continue;
        int n = snprintf(out + used, out_size - used, "%s%s", used ? ", " : "", method_names[i].name);
        if (n < 0 || (size_t)n >= out_size - used) break;
        used += (size_t)n;
    }
}

const char *ar_path_param(const ar_path_params *p, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < p->count; i++)
        if (p->name_len[i] == len && memcmp(p->names[i], name, len) == 0) return p->values[i];
    return NULL;
}

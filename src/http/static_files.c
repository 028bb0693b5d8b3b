/* static_files.c — serves files under the static root: content types, ETag/If-None-Match, Cache-Control,
 * and no way out of the root (no '..', no hidden files, symlinks resolved and re-checked). */
#include "afterresume/http/response.h"

#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

const char *ar_content_type_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0) return types[i].type;
    }
    return "application/octet-stream";
}

/* A safe relative path: non-empty segments of [A-Za-z0-9._-], none starting with '.'. */
static int safe_relpath(const char *p)
{
    if (!*p || strlen(p) > 512) return 0;
    int seg_start = 1;
    for (; *p; p++) {
        char c = *p;
        if (c == '/') {
            if (seg_start) return 0; /* empty segment or leading slash */
            seg_start = 1;
            continue;
        }
        if (seg_start && c == '.') return 0; /* '..', '.', hidden files */
        seg_start = 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == '_'))
            return 0;
    }
    return !seg_start;
}

void ar_serve_static(ar_request *req, const char *relpath)
{
    if (!safe_relpath(relpath) || !req->app->static_root[0]) {
        ar_respond_error_code(req, AR_ERR_NOT_FOUND, NULL);
        return;
    }
    char joined[PATH_MAX], real[PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s/%s", req->app->static_root, relpath);
    size_t rootlen = strlen(req->app->static_root);
    if (n < 0 || (size_t)n >= sizeof joined || !realpath(joined, real) || strncmp(real, req->app->static_root, rootlen) != 0 ||
        real[rootlen] != '/') {
        ar_respond_error_code(req, AR_ERR_NOT_FOUND, NULL);
        return;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        ar_respond_error_code(req, AR_ERR_NOT_FOUND, NULL);
        return;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + (unsigned long long)st.st_mtim.tv_nsec);
    const char *cache = strncmp(relpath, "vendor/", 7) == 0 ? "public, max-age=86400" : "public, max-age=300";
    const char *inm = ar_req_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    struct MHD_Response *resp;
    int status;
    if (inm && strstr(inm, etag)) {
        close(fd);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        status = 304;
    } else {
        resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd); /* MHD closes fd */
        status = 200;
    }
    ar_response_install(req, status, resp, status == 200 ? (size_t)st.st_size : 0, ar_content_type_for(real));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
}

/* daemon.c — spawn/stop the daemon under test and fakes of third parties (node scripts in tests/fakes/), and a small
 * libcurl HTTP client for integration tests. */
#include "daemon.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *it_binary(void)
{
    static char path[512];
    const char *b = getenv("AR_TEST_BUILD");
    snprintf(path, sizeof path, "%s/afterresumed", b && *b ? b : "build");
    return path;
}

int it_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static pid_t spawn(const char *const *extra_env, int port, const char *log_path)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    setenv("AR_PORT", portbuf, 1);
    setenv("AR_BIND", "127.0.0.1", 1);
    setenv("AR_HTTP_THREADS", "4", 1);
    setenv("AR_SHUTDOWN_GRACE", "5", 1);
    setenv("AR_ENV_FILE", "/nonexistent", 1); /* tests configure through the environment only */
    for (const char *const *e = extra_env; e && *e; e++) putenv((char *)*e);
    execl(it_binary(), "afterresumed", "serve", (char *)NULL);
    perror("exec afterresumed");
    _exit(127);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int it_daemon_start(it_daemon *d, const char *const *extra_env)
{
    memset(d, 0, sizeof *d);
    d->port = it_free_port();
    snprintf(d->base_url, sizeof d->base_url, "http://127.0.0.1:%d", d->port);
    snprintf(d->log_path, sizeof d->log_path, "/tmp/ar-it-daemon-%d-%d.log", (int)getpid(), d->port);
    d->pid = spawn(extra_env, d->port, d->log_path);
    if (d->pid < 0) return -1;
    char url[128];
    snprintf(url, sizeof url, "%s/api/healthz/", d->base_url);
    for (int i = 0; i < 150; i++) {
        int st;
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            d->pid = 0;
            return -1;
        }
        it_response r;
        if (it_http("GET", url, NULL, NULL, 0, &r) == 0 && r.status == 200) {
            it_response_free(&r);
            return 0;
        }
        it_response_free(&r);
        sleep_ms(100);
    }
    it_daemon_stop(d);
    return -1;
}

int it_daemon_run_expect_exit(const char *const *extra_env, int timeout_s, char *log_path, size_t log_path_size)
{
    int port = it_free_port();
    snprintf(log_path, log_path_size, "/tmp/ar-it-exit-%d-%d.log", (int)getpid(), port);
    /* A port given in extra_env wins over the free one because putenv runs after setenv. */
    pid_t pid = spawn(extra_env, port, log_path);
    for (int i = 0; i < timeout_s * 20; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Whether pid has exited (gone, or a zombie waiting for its parent), for processes that are not our children
 * (a forked test stopping the daemon its suite started). */
static int exited_elsewhere(pid_t pid)
{
    char path[64], stat[256] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *close_paren = strrchr(stat, ')');
    return close_paren && close_paren[1] == ' ' && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

int it_daemon_stop(it_daemon *d)
{
    if (d->pid <= 0) return -1;
    kill(d->pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        int st;
        pid_t w = waitpid(d->pid, &st, WNOHANG);
        if (w == d->pid) {
            d->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (w < 0 && exited_elsewhere(d->pid)) {
            d->pid = 0;
            return 0;
        }
        sleep_ms(50);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    return -1;
}

char *it_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    ar_buf b = AR_BUF_INIT;
    if (f) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) ar_buf_append(&b, chunk, n);
        fclose(f);
    }
    return ar_buf_steal(&b);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    ar_buf_append(ud, p, size * n);
    return size * n;
}

/* One curl handle per thread so keep-alive reuse can be observed across calls. */
static _Thread_local CURL *handle;

int it_http(const char *method, const char *url, const char *const *headers, const char *body, size_t body_len,
            it_response *out)
{
    memset(out, 0, sizeof *out);
    if (!handle) handle = curl_easy_init();
    CURL *c = handle;
    curl_easy_reset(c);
    struct curl_slist *hl = NULL;
    for (const char *const *h = headers; h && *h; h++) hl = curl_slist_append(hl, *h);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hl);
    if (rc != CURLE_OK) return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &out->connects);
    return 0;
}

const char *it_header(const it_response *r, const char *name, char *out, size_t out_size)
{
    const char *p = ar_buf_cstr(&r->headers);
    size_t nlen = strlen(name);
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (*v == ' ') v++;
            size_t vlen = (size_t)(p + len - v);
            if (vlen >= out_size) vlen = out_size - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return out;
        }
        if (!eol) break;
        p = eol + 2;
    }
    return NULL;
}

void it_response_free(it_response *r)
{
    ar_buf_free(&r->body);
    ar_buf_free(&r->headers);
}

static int port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

pid_t it_node_fake_start(const char *script, int port, const char *const *args, const char *log_path)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(0);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        const char *argv[16] = {"node", script, NULL};
        char port_arg[16];
        snprintf(port_arg, sizeof port_arg, "%d", port);
        argv[2] = port_arg;
        int n = 3;
        for (int i = 0; args && args[i] && n < 15; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execvp("node", (char *const *)argv);
        perror("exec node");
        _exit(127);
    }
    for (int i = 0; i < 150; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return -1;
        if (port_accepts(port)) return pid;
        sleep_ms(100);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

void it_node_fake_stop(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

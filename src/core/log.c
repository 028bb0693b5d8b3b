/* log.c — one JSON object per line on stderr, written with a single write() so lines never interleave. */
#include "afterresume/core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static ar_log_level min_level = AR_LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error"};

void ar_log_set_level(ar_log_level min)
{
    min_level = min;
}

int ar_log_level_from_string(const char *s, ar_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (ar_log_level)i;
            return 0;
        }
    }
    return -1;
}

void ar_log_json(ar_log_level level, const char *msg, json_t *fields)
{
    if (level < min_level) {
        json_decref(fields);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    json_t *line = json_object();
    json_object_set_new(line, "time", json_string(when));
    json_object_set_new(line, "level", json_string(names[level]));
    json_object_set_new(line, "msg", json_string(msg ? msg : ""));
    if (fields) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(line);
    if (!text) return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replace NUL; write exactly len+1 bytes */
    ssize_t w = write(STDERR_FILENO, text, len + 1);
    (void)w;
    free(text);
}

void ar_log(ar_log_level level, const char *fmt, ...)
{
    if (level < min_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ar_log_json(level, msg, NULL);
}

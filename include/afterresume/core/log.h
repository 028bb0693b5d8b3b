/* log.h — JSON-lines logging to stderr. Never pass secrets as values. */
#ifndef AFTERRESUME_CORE_LOG_H
#define AFTERRESUME_CORE_LOG_H
#include <jansson.h>

typedef enum { AR_LOG_DEBUG, AR_LOG_INFO, AR_LOG_WARN, AR_LOG_ERROR } ar_log_level;

void ar_log_set_level(ar_log_level min);
int ar_log_level_from_string(const char *s, ar_log_level *out);
/* Emit {"time":..,"level":..,"msg":..,<fields>}. `fields` (may be NULL) is consumed (decref'd). */
void ar_log_json(ar_log_level level, const char *msg, json_t *fields);
/* Convenience: printf-style message, no extra fields. */
void ar_log(ar_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ar_log_info(...) ar_log(AR_LOG_INFO, __VA_ARGS__)
#define ar_log_warn(...) ar_log(AR_LOG_WARN, __VA_ARGS__)
#define ar_log_error(...) ar_log(AR_LOG_ERROR, __VA_ARGS__)
#define ar_log_debug(...) ar_log(AR_LOG_DEBUG, __VA_ARGS__)

#endif

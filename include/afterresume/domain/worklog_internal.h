/* worklog_internal.h — helpers shared by the worklog service's source files (src/domain/worklog*.c); not part
 * of the service API in worklog.h. */
#ifndef AFTERRESUME_DOMAIN_WORKLOG_INTERNAL_H
#define AFTERRESUME_DOMAIN_WORKLOG_INTERNAL_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/domain/context.h"

/* Characters (code points) in valid UTF-8. */
size_t ar_worklog_char_count(const char *s, size_t len);
/* 1 if s is valid UTF-8 without control characters (tab always allowed; CR/LF when allow_newlines). */
int ar_worklog_text_ok(const char *s, size_t len, int allow_newlines);
/* 1 if s is a real calendar date YYYY-MM-DD with year 1900..2999. */
int ar_worklog_date_ok(const char *s);
/* An integer from a JSON integer, an integral real or a decimal string. 0, or -1 when it is none of these. */
int ar_worklog_json_int(const json_t *v, long long *out);

/* The caller must be a member of a tenant (read_only and up); write != 0 also needs member and up.
 * 0, or -1 with AR_ERR_FORBIDDEN. */
int ar_worklog_require_role(const ar_ctx *ctx, int write, ar_error *err);

/* Parameter text for a positive id (NULL when id <= 0), written into buf. */
const char *ar_worklog_id_param(long long id, char buf[24]);

#endif

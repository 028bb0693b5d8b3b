/* ratelimit.h — fixed-window rate limits kept in Valkey, so every daemon instance shares the counters.
 * Each class has a limit per window (defaults from the SPEC, overridable at start-up with
 * AR_RATE_LIMIT_<CLASS>="N/SECONDS"; N = 0 disables the class). Counters live under
 * "ar:{rl}:<class>:<subject>" with a TTL of the window. Sign-in-type classes fail closed when Valkey is
 * unreachable; the others fail open with a warning. The HTTP layer answers 429 + Retry-After and writes the
 * "ratelimit.tripped" audit event; this module only counts. */
#ifndef AFTERRESUME_DOMAIN_RATELIMIT_H
#define AFTERRESUME_DOMAIN_RATELIMIT_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/core/error.h"

/* Classes (default limit / window):
 *   signin_ip 5/300  signin_account 5/300  signup_ip 3/3600  passkey_ip 10/3600  reset_ip 5/3600   (fail closed)
 *   ai_user 20/3600  export_user 5/3600  api_token 600/60  csp_report 60/60                          (fail open) */

/* Read AR_RATE_LIMIT_<CLASS> for every class (unset = default) once at start-up, before threads start.
 * Values are "N/SECONDS": N in 0..1000000000 (0 disables the class), SECONDS in 1..2678400 (31 days).
 * On a bad value nothing changes and -1 is returned with AR_ERR_VALIDATION and a field named after each bad
 * variable. Calling it again starts from the defaults. */
int ar_ratelimit_configure(ar_error *err);

/* Count one hit of subject (an IP, a lower-cased account name, a user id, a token id...) in class cls.
 *   0  allowed (also when the class is disabled, and for fail-open classes when Valkey is unreachable)
 *   1  limited: *retry_after = seconds until the window resets (>= 1)
 *  -1  error: unknown class (AR_ERR_VALIDATION), or a fail-closed class while Valkey is unreachable
 *      (AR_ERR_UNAVAILABLE, "sign-in is temporarily unavailable")
 * retry_after may be NULL. Subjects longer than 200 bytes or containing anything but printable ASCII
 * without spaces are replaced by their SHA-256 (hex) in the key. An empty or NULL subject → AR_ERR_VALIDATION. */
int ar_ratelimit_hit(const char *cls, const char *subject, int *retry_after, ar_error *err);

/* Live counters, [{class, subject, count, limit, window, ttl}] (ttl in seconds), of one class or of all
 * (cls NULL), at most 1000 entries. NULL + err (AR_ERR_VALIDATION unknown class, AR_ERR_UNAVAILABLE). */
json_t *ar_ratelimit_list(const char *cls_or_null, ar_error *err);

/* Remove the counter of subject in cls, or every counter of cls when subject is NULL. 0, or -1 with err
 * (AR_ERR_VALIDATION unknown class / empty subject, AR_ERR_UNAVAILABLE). */
int ar_ratelimit_reset(const char *cls, const char *subject, ar_error *err);

/* [{class, limit, window, fail_closed}] with the configured values (new reference). */
json_t *ar_ratelimit_classes(void);

/* The Valkey key of subject in cls ("ar:{rl}:<class>:<subject or its SHA-256 hex>") into out. 0, or -1 when
 * the class is unknown, the subject empty or out too small (AR_RATELIMIT_KEY_MAX bytes always suffice). */
#define AR_RATELIMIT_KEY_MAX 256
int ar_ratelimit_key(const char *cls, const char *subject, char *out, size_t out_size);

#endif

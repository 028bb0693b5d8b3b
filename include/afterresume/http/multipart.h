/* multipart.h — streaming multipart/form-data parser (RFC 7578 / RFC 2046). Feed the body in chunks of any size
 * (one byte at a time works); part data goes to callbacks as it arrives, so a part is never held in memory.
 *
 * Rules: the preamble and epilogue are ignored; the CRLF before each delimiter belongs to the delimiter; the
 * first delimiter may start the body; a delimiter line may carry trailing spaces/tabs (transport padding);
 * every line break around delimiters and headers must be CRLF — LF-only bodies are rejected as malformed.
 * Each part needs `Content-Disposition: form-data; name="..."` (header names are case-insensitive;
 * quoted-strings may use \" and \\). `filename*=UTF-8''...` (RFC 5987, also ISO-8859-1) wins over `filename`.
 * Header folding is rejected. Names, filenames and content types must be valid UTF-8. */
#ifndef AFTERRESUME_HTTP_MULTIPART_H
#define AFTERRESUME_HTTP_MULTIPART_H
#include <stddef.h>

#include "afterresume/core/error.h"

typedef struct ar_multipart_part {
    const char *name;         /* form field name (from Content-Disposition) */
    const char *filename;     /* NULL if not a file field; path components (both / and \) stripped, so "" for
                                 an empty file input, and "." or ".." become "" too; never contains control
                                 characters */
    const char *content_type; /* NULL if absent; trimmed, otherwise as sent */
} ar_multipart_part;
/* The part's strings stay valid until on_part_end returns (or until the parser is freed). */

typedef struct ar_multipart_callbacks {
    int (*on_part_begin)(void *ud, const ar_multipart_part *part); /* non-zero aborts */
    int (*on_part_data)(void *ud, const char *data, size_t len);    /* len > 0; non-zero aborts */
    int (*on_part_end)(void *ud);                                   /* non-zero aborts */
} ar_multipart_callbacks;
/* Any callback may be NULL. After an error no further callbacks are made (on_part_end is not called for the
   part in progress); keep your own reason in ud when a callback aborts (err then says the handler aborted). */

typedef struct ar_multipart ar_multipart;

/* boundary from ar_content_type_param(ct, "boundary", ...): 1..70 characters of RFC 2046 bchars, not ending in
   a space. max_header_bytes limits each part's header block (including its CRLFs, e.g. 8192); max_parts limits
   the number of parts. Returns NULL if the boundary is invalid. */
ar_multipart *ar_multipart_new(const char *boundary, const ar_multipart_callbacks *cb, void *ud,
                               size_t max_header_bytes, size_t max_parts);
/* 0 ok, -1 error (malformed, limit exceeded, callback abort) with err = AR_ERR_BAD_REQUEST + reason.
   Once an error happened every later call fails with the same reason. */
int ar_multipart_feed(ar_multipart *m, const char *data, size_t len, ar_error *err);
/* After the last chunk: 0, or -1 if the closing boundary was not seen (or an error happened earlier). */
int ar_multipart_finish(ar_multipart *m, ar_error *err);
/* Number of parts begun so far. */
size_t ar_multipart_part_count(const ar_multipart *m);
void ar_multipart_free(ar_multipart *m);

#endif

/* zip.h — a small streaming ZIP writer (PKWARE APPNOTE 6.3): entries are deflated with zlib (or stored) and
 * written once, front to back, to a FILE* or to a write callback (an object-storage writer, a socket), so an
 * archive of any size needs only a fixed amount of memory besides its central directory.
 *
 * Format choices:
 * - Every entry has general-purpose flag bit 3 (sizes and CRC-32 in a data descriptor after the data), so
 *   nothing is ever seeked back; the central directory repeats them for readers.
 * - Names are UTF-8 (flag bit 11 is set when a name has non-ASCII characters) and must be safe relative paths:
 *   1..1024 bytes of valid UTF-8, no NUL or control character, no backslash, no leading '/', no drive letter
 *   ("C:"), no empty, "." or ".." segment. A trailing '/' names a directory entry (which takes no data).
 *   Duplicate names are refused.
 * - ZIP64: an entry whose sizes or offset pass 4 GiB gets a ZIP64 data descriptor and central-directory extra
 *   field, and an archive with more than 65,535 entries or a central directory past 4 GiB gets the ZIP64 end
 *   records, as Go's archive/zip and Info-ZIP do. A single name or the whole archive beyond 2^63 bytes is
 *   refused.
 * - Times are the entry's modification time (UTC) in MS-DOS form; file attributes are Unix 0644 (0755 for
 *   directories).
 *
 * Errors are sticky: after a failed call every later call fails too and ar_zip_close() reports the first
 * error; free the writer with ar_zip_close() or ar_zip_abort() in every case. */
#ifndef AFTERRESUME_CORE_ZIP_H
#define AFTERRESUME_CORE_ZIP_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "afterresume/core/error.h"

typedef struct ar_zip ar_zip;

/* Where the archive's bytes go: return 0 when all len bytes were taken, non-zero on failure (err may be
 * set; when it is not, the writer reports AR_ERR_UNAVAILABLE "the archive could not be written"). */
typedef int (*ar_zip_sink)(void *arg, const void *data, size_t len, ar_error *err);

typedef enum ar_zip_method { AR_ZIP_DEFLATE = 8, AR_ZIP_STORE = 0 } ar_zip_method;

/* A writer to a stdio stream (not closed by the writer) or to a sink. Never NULL. */
ar_zip *ar_zip_new_file(FILE *out);
ar_zip *ar_zip_new_sink(ar_zip_sink sink, void *arg);

/* 1 when name is acceptable as an entry name (rules above). */
int ar_zip_name_valid(const char *name);

/* Start an entry (ends the previous one first). mtime 0 = now. AR_ERR_VALIDATION for a bad or duplicate
 * name, the error of the sink otherwise. */
int ar_zip_begin(ar_zip *z, const char *name, time_t mtime, ar_zip_method method, ar_error *err);
/* Append data to the current entry. */
int ar_zip_write(ar_zip *z, const void *data, size_t len, ar_error *err);
/* Finish the current entry (data descriptor). Called by begin/close when forgotten. */
int ar_zip_end(ar_zip *z, ar_error *err);
/* begin + write + end for a whole buffer (deflated). */
int ar_zip_add(ar_zip *z, const char *name, const void *data, size_t len, time_t mtime, ar_error *err);

/* Number of entries begun so far, and bytes handed to the sink so far. */
uint64_t ar_zip_entries(const ar_zip *z);
uint64_t ar_zip_bytes(const ar_zip *z);

/* Finish the archive (central directory and end records), free the writer, and give the archive's size.
 * Returns 0, or -1 with the first error that happened (the output is then not a valid archive). */
int ar_zip_close(ar_zip *z, uint64_t *total_bytes, ar_error *err);
/* Free the writer without finishing the archive. NULL is a no-op. */
void ar_zip_abort(ar_zip *z);

#endif

/* alloc.h — allocation wrappers that abort on out-of-memory, so callers never check for NULL. */
#ifndef AFTERRESUME_CORE_ALLOC_H
#define AFTERRESUME_CORE_ALLOC_H
#include <stddef.h>

void *ar_malloc(size_t n);
void *ar_calloc(size_t count, size_t size);
void *ar_realloc(void *p, size_t n);
char *ar_strdup(const char *s);
char *ar_strndup(const char *s, size_t n);
/* printf into a fresh heap string */
char *ar_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define ar_free free
#include <stdlib.h>

#endif

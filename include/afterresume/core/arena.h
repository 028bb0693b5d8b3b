/* arena.h — a per-request bump allocator: many small allocations, one free at the end of the request. */
#ifndef AFTERRESUME_CORE_ARENA_H
#define AFTERRESUME_CORE_ARENA_H
#include <stddef.h>

typedef struct ar_arena_block ar_arena_block;
typedef struct ar_arena {
    ar_arena_block *head;
} ar_arena;

void *ar_arena_alloc(ar_arena *a, size_t n);             /* zeroed, 16-byte aligned */
char *ar_arena_strdup(ar_arena *a, const char *s);
char *ar_arena_strndup(ar_arena *a, const char *s, size_t n);
void ar_arena_free(ar_arena *a);                          /* frees every block; the arena can be reused */

#endif

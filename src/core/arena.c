/* arena.c — bump allocator in 4 KiB+ blocks; large requests get a block of their own. */
#include "afterresume/core/arena.h"
#include "afterresume/core/alloc.h"

#include <string.h>

struct ar_arena_block {
    ar_arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define BLOCK_SIZE 4096

void *ar_arena_alloc(ar_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    ar_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        b = ar_malloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *ar_arena_strndup(ar_arena *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = ar_arena_alloc(a, len + 1);
    memcpy(p, s, len);
    return p;
}

char *ar_arena_strdup(ar_arena *a, const char *s)
{
    return ar_arena_strndup(a, s, strlen(s));
}

void ar_arena_free(ar_arena *a)
{
    ar_arena_block *b = a->head;
    while (b) {
        ar_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

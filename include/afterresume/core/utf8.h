/* utf8.h — strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
#ifndef AFTERRESUME_CORE_UTF8_H
#define AFTERRESUME_CORE_UTF8_H
#include <stddef.h>

/* 1 if s[0..len) is valid UTF-8, else 0. NUL bytes are valid UTF-8 (U+0000); callers that must refuse them
   check separately. */
int ar_utf8_valid(const char *s, size_t len);
/* Characters (code points) in s[0..len) of valid UTF-8: the bytes that are not continuation bytes. */
size_t ar_utf8_chars(const char *s, size_t len);

#endif

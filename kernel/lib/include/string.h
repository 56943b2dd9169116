/*
 * string.h for the kernel build (-nostdinc): the freestanding subset of the C
 * string functions that kernel/lib/string.c implements.  Portable modules
 * (netstack, parsers, drivers) include <string.h> and get libc's on the host
 * and this one in the kernel.
 */
#ifndef TERN_KSTRING_H
#define TERN_KSTRING_H
#include <stddef.h>

void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
size_t strlcpy(char *d, const char *s, size_t n);

/*
 * The kernel builds with -fno-builtin, under which a plain memcpy(d, s, 6)
 * stays a call (and rep movs: costly under an emulator).  Through the
 * builtins the compiler copies, sets and compares small fixed sizes with
 * moves, as the host build does, and calls the functions above for the
 * rest.  string.c, which defines them, sees the plain names.
 */
#ifndef TERN_STRING_IMPL
#define memcpy(d, s, n)		__builtin_memcpy((d), (s), (n))
#define memmove(d, s, n)	__builtin_memmove((d), (s), (n))
#define memset(d, c, n)		__builtin_memset((d), (c), (n))
#define memcmp(a, b, n)		__builtin_memcmp((a), (b), (n))
#endif

#endif

/*
 * fmt.h - printf-style formatting without libc.
 *
 * Supports %d %i %u %x %X %o %c %s %p %%, flags '-' '0' ' ' '+', width,
 * precision (also '*'), and the hh h l ll z t j length modifiers.  Output
 * is always NUL terminated when n > 0; the return value is the length the
 * full output would have had (C99 semantics).  Safe on NULL %s ("(null)").
 */
#ifndef TERN_FMT_H
#define TERN_FMT_H
#include <stdarg.h>
#include <stddef.h>

int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

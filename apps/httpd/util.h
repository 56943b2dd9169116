/*
 * util.h - the few string helpers httpd needs (it links no libc), and a
 * bounded output buffer.
 */
#ifndef TERN_APPS_UTIL_H
#define TERN_APPS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

size_t u_strlen(const char *s);
int u_memcmp(const void *a, const void *b, size_t n);
void u_memmove(void *dst, const void *src, size_t n);
bool u_memmem(const void *h, size_t hn, const void *n, size_t nn);

/* Appends never write past cap; overflow records that something was cut. */
struct ubuf {
	char *p;
	size_t cap, len;
	bool overflow;
};
void ub_mem(struct ubuf *b, const void *s, size_t n);
void ub_str(struct ubuf *b, const char *s);
void ub_u64(struct ubuf *b, uint64_t v);
void ub_nul(struct ubuf *b);		/* NUL-terminates (truncating if full) */

#endif

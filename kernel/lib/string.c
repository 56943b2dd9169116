/*
 * string.c - the kernel's string functions (kernel/lib/include/string.h).
 *
 * Kernel only: host builds use libc.  The compiler may turn byte loops
 * into calls to memset/memcpy, which here would call themselves, so the
 * bulk operations use the x86 string instructions directly.
 */
#define TERN_STRING_IMPL	/* the plain names, not string.h's builtins */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Eight bytes an iteration, then the tail a byte at a time.  On hardware
 * with fast strings rep movsq and rep movsb run alike; under an emulator
 * (QEMU's TCG) every iteration is a trip through the translated code, so
 * a byte-wise copy of a 4 KiB page costs eight times the quad-word one.
 */
void *
memcpy(void *restrict d, const void *restrict s, size_t n)
{
	void *r = d;
	size_t q = n >> 3, t = n & 7;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(q) :: "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(t) :: "memory");
	return r;
}

void *
memset(void *d, int c, size_t n)
{
	void *r = d;
	size_t q = n >> 3, t = n & 7;
	uint64_t v = (uint8_t)c * 0x0101010101010101ULL;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(t) : "a"(v) : "memory");
	return r;
}

void *
memmove(void *d, const void *s, size_t n)
{
	if ((uintptr_t)d <= (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n)
		return memcpy(d, s, n);
	/* Overlapping with the destination above: copy backwards. */
	void *r = d;
	const uint8_t *se = (const uint8_t *)s + n - 1;
	uint8_t *de = (uint8_t *)d + n - 1;
	__asm__ volatile("std; rep movsb; cld"
	    : "+D"(de), "+S"(se), "+c"(n) :: "memory");
	return r;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

void *
memchr(const void *s, int c, size_t n)
{
	const uint8_t *p = s;
	for (size_t i = 0; i < n; i++)
		if (p[i] == (uint8_t)c)
			return (void *)(p + i);
	return NULL;
}

size_t
strlen(const char *s)
{
	size_t n = 0;
	while (s[n] != '\0')
		n++;
	return n;
}

size_t
strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n] != '\0')
		n++;
	return n;
}

int
strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int
strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return (unsigned char)a[i] - (unsigned char)b[i];
		if (a[i] == '\0')
			break;
	}
	return 0;
}

char *
strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (*s == '\0')
			return NULL;
	}
}

char *
strrchr(const char *s, int c)
{
	const char *r = NULL;
	for (;; s++) {
		if (*s == (char)c)
			r = s;
		if (*s == '\0')
			return (char *)r;
	}
}

size_t
strlcpy(char *d, const char *s, size_t n)
{
	size_t len = strlen(s);
	if (n > 0) {
		size_t k = len < n - 1 ? len : n - 1;
		memcpy(d, s, k);
		d[k] = '\0';
	}
	return len;
}

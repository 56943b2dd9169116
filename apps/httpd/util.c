/*
 * util.c - string helpers for a workload without libc.  The compiler may
 * emit calls to memcpy, memset, memmove and memcmp for struct copies and
 * initialisers, so the workload build defines them too (this file is
 * compiled with -fno-tree-loop-distribute-patterns so their loops are not
 * turned back into calls to themselves).
 */
#include "apps/httpd/util.h"

size_t
u_strlen(const char *s)
{
	size_t n = 0;
	while (s[n] != '\0')
		n++;
	return n;
}

int
u_memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i = 0;
	/* Equal eight-byte words are skipped a word at a time. */
	for (uint64_t u, v; n - i >= 8; i += 8) {
		__builtin_memcpy(&u, x + i, 8);
		__builtin_memcpy(&v, y + i, 8);
		if (u != v)
			break;
	}
	for (; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void
u_memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d < s) {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	} else if (d > s) {
		while (n-- > 0)
			d[n] = s[n];
	}
}

bool
u_memmem(const void *h, size_t hn, const void *n, size_t nn)
{
	const char *hp = h;
	for (size_t i = 0; nn <= hn && i <= hn - nn; i++)
		if (u_memcmp(hp + i, n, nn) == 0)
			return true;
	return false;
}

void
ub_mem(struct ubuf *b, const void *s, size_t n)
{
	const char *p = s;
	for (size_t i = 0; i < n; i++) {
		if (b->len >= b->cap) {
			b->overflow = true;
			return;
		}
		b->p[b->len++] = p[i];
	}
}

void
ub_str(struct ubuf *b, const char *s)
{
	ub_mem(b, s, u_strlen(s));
}

void
ub_u64(struct ubuf *b, uint64_t v)
{
	char t[20];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		ub_mem(b, &t[--n], 1);
}

void
ub_nul(struct ubuf *b)
{
	if (b->cap == 0)
		return;
	if (b->len >= b->cap) {
		b->len = b->cap - 1;
		b->overflow = true;
	}
	b->p[b->len] = '\0';
}

#ifndef HTTPD_HOST
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *
memcpy(void *dst, const void *src, size_t n)
{
	u_memmove(dst, src, n);
	return dst;
}

void *
memmove(void *dst, const void *src, size_t n)
{
	u_memmove(dst, src, n);
	return dst;
}

void *
memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)c;
	return dst;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	return u_memcmp(a, b, n);
}
#endif

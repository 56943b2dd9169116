/*
 * heap.c - the kernel heap (kernel/heap.h).
 *
 * Small blocks (payload up to 2 KiB) come from eight power-of-two size
 * classes carved out of whole pages and kept on per-class free lists;
 * larger blocks and blocks aligned to more than 16 bytes are whole page
 * runs.  Every block starts with a 16-byte header (magic, size, class).
 * With HEAP_CHECKS an 8-byte canary follows the requested size and freed
 * payloads are poisoned, so a write past the end or a second free is
 * reported through ops.error (and counted) instead of corrupting the heap;
 * a free block whose header was overwritten is noticed before it is reused.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/heap.h"

#define HDR_SIZE	16
#define MAGIC_LIVE	0xa110c8edU
#define MAGIC_FREE	0xf4eedf4eU
#define CLS_LARGE	0xffff
#define CANARY		0xc5c5c5c5c5c5c5c5ULL
#define POISON		0xde
#define PG		4096
#define MIN_SHIFT	4	/* class 0 holds 16 bytes */

struct hdr {
	uint32_t magic;
	uint32_t size;		/* bytes asked for */
	uint32_t npages;	/* large: pages in the run */
	uint16_t cls;		/* size class, or CLS_LARGE */
	uint16_t lead;		/* large: pages before the header's page */
};

_Static_assert(sizeof(struct hdr) == HDR_SIZE, "heap header size");

#if HEAP_CHECKS
#define TAIL 8
#else
#define TAIL 0
#endif

static size_t
class_bytes(int c)
{
	return (size_t)1 << (c + MIN_SHIFT);
}

void
heap_init(struct heap *h, const struct heap_ops *ops)
{
	memset(h, 0, sizeof(*h));
	h->ops = *ops;
}

static void
report(struct heap *h, const char *what, const void *p)
{
	h->errors++;
	if (h->ops.error != NULL)
		h->ops.error(h->ops.ctx, what, p);
}

/* Carve a fresh page (two for the 2 KiB class) into free blocks. */
static int
refill(struct heap *h, int c)
{
	size_t bsz = HDR_SIZE + class_bytes(c);
	size_t npages = bsz > PG / 2 ? 2 : 1;
	uint8_t *page = h->ops.pages_alloc(h->ops.ctx, npages);
	if (page == NULL)
		return -1;
	for (size_t off = 0; off + bsz <= npages * PG; off += bsz) {
		struct hdr *b = (struct hdr *)(page + off);
		b->magic = MAGIC_FREE;
		b->cls = (uint16_t)c;
		b->size = 0;
		*(void **)(b + 1) = h->free_list[c];
		h->free_list[c] = b;
	}
	return 0;
}

static void *
finish(struct heap *h, struct hdr *b, size_t size)
{
	b->magic = MAGIC_LIVE;
	b->size = (uint32_t)size;
	uint8_t *p = (uint8_t *)(b + 1);
#if HEAP_CHECKS
	uint64_t c = CANARY;
	memcpy(p + size, &c, sizeof(c));
#endif
	h->allocs++;
	h->bytes_in_use += size;
	return p;
}

void *
heap_alloc(struct heap *h, size_t size, size_t align)
{
	if (size == 0)
		size = 1;
	if (size > (1U << 31) || (align & (align - 1)) != 0 || align > PG)
		return NULL;

	if (align <= 16 && size + TAIL <= class_bytes(HEAP_NCLASSES - 1)) {
		int c = 0;
		while (class_bytes(c) < size + TAIL)
			c++;
		if (h->free_list[c] == NULL && refill(h, c) != 0)
			return NULL;
		struct hdr *b = h->free_list[c];
		if (b->magic != MAGIC_FREE || b->cls != c) {
			/* Something wrote over a free block's header (an
			   overflow from the block below it): drop the list
			   rather than follow a pointer it may have forged. */
			report(h, "free list corrupted", b + 1);
			h->free_list[c] = NULL;
			if (refill(h, c) != 0)
				return NULL;
			b = h->free_list[c];
		}
		h->free_list[c] = *(void **)(b + 1);
		return finish(h, b, size);
	}

	/* Page run.  Aligned blocks put the payload at the start of the
	   second page, with the header just before it. */
	size_t lead = align > 16 ? 1 : 0;
	size_t npages = lead + (HDR_SIZE * (1 - lead) + size + TAIL + PG - 1) / PG;
	uint8_t *run = h->ops.pages_alloc(h->ops.ctx, npages);
	if (run == NULL)
		return NULL;
	struct hdr *b = (struct hdr *)(lead ? run + PG - HDR_SIZE : run);
	b->cls = CLS_LARGE;
	b->npages = (uint32_t)npages;
	b->lead = (uint16_t)lead;
	return finish(h, b, size);
}

static struct hdr *
check(struct heap *h, const void *p)
{
	struct hdr *b = (struct hdr *)((uint8_t *)p - HDR_SIZE);
	if (((uintptr_t)p & 15) != 0) {
		report(h, "free of a misaligned pointer", p);
		return NULL;
	}
	if (b->magic == MAGIC_FREE) {
		report(h, "double free", p);
		return NULL;
	}
	if (b->magic != MAGIC_LIVE ||
	    (b->cls != CLS_LARGE && b->cls >= HEAP_NCLASSES)) {
		report(h, "free of a pointer the heap does not own", p);
		return NULL;
	}
	return b;
}

void
heap_free(struct heap *h, void *p)
{
	if (p == NULL)
		return;
	struct hdr *b = check(h, p);
	if (b == NULL)
		return;
#if HEAP_CHECKS
	uint64_t c;
	memcpy(&c, (uint8_t *)p + b->size, sizeof(c));
	if (c != CANARY) {
		report(h, "buffer overflow past the end of a block", p);
		return;
	}
#endif
	h->frees++;
	h->bytes_in_use -= b->size;
	if (b->cls == CLS_LARGE) {
		uint8_t *run = b->lead ? (uint8_t *)p - PG : (uint8_t *)b;
		size_t np = b->npages;
		b->magic = MAGIC_FREE;
		h->ops.pages_free(h->ops.ctx, run, np);
		return;
	}
#if HEAP_CHECKS
	memset(p, POISON, class_bytes(b->cls));
#endif
	b->magic = MAGIC_FREE;
	*(void **)p = h->free_list[b->cls];
	h->free_list[b->cls] = b;
}

size_t
heap_usable(struct heap *h, const void *p)
{
	const struct hdr *b = (const struct hdr *)((const uint8_t *)p - HDR_SIZE);
	if (p == NULL || b->magic != MAGIC_LIVE)
		return 0;
	return b->size;
}

/*
 * heap.h - the kernel heap.
 *
 * Size classes (16 B .. 2 KiB) carved from pages, and whole-page runs for
 * larger requests, all taken from a page source (the pmm through the
 * direct map in the kernel, malloc'd arenas in host tests).  Every block
 * carries a header with a magic and its size; with HEAP_CHECKS (on by
 * default) a trailing canary and poison-on-free detect overflow and double
 * free: heap_free() of a bad pointer or a freed block reports through the
 * heap's error hook and leaves the heap unchanged.
 */
#ifndef TERN_HEAP_H
#define TERN_HEAP_H

#include <stddef.h>
#include <stdint.h>

#ifndef HEAP_CHECKS
#define HEAP_CHECKS 1
#endif

struct heap_ops {
	/* Return `npages` contiguous zeroed-or-not 4 KiB pages, or NULL. */
	void *(*pages_alloc)(void *ctx, size_t npages);
	void (*pages_free)(void *ctx, void *p, size_t npages);
	/* Called on a detected corruption ("double free", "overflow"...). */
	void (*error)(void *ctx, const char *what, const void *ptr);
	void *ctx;
};

#define HEAP_NCLASSES 8
struct heap {
	struct heap_ops ops;
	void *free_list[HEAP_NCLASSES];
	uint64_t bytes_in_use;
	uint64_t allocs, frees, errors;
};

void heap_init(struct heap *h, const struct heap_ops *ops);
/* align: 0 or a power of two up to 4096.  Returns NULL on exhaustion. */
void *heap_alloc(struct heap *h, size_t size, size_t align);
void heap_free(struct heap *h, void *p);
/* Usable size of a live block (>= the size asked for). */
size_t heap_usable(struct heap *h, const void *p);

/* The kernel's heap (kernel/mm.c); safe after mm_init(). */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void *kmalloc_aligned(size_t size, size_t align);
void kfree(void *p);

#endif

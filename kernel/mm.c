/*
 * mm.c - the kernel's physical allocator, direct map and heap wired
 * together (kernel/mm.h, kernel/heap.h).
 *
 * mm_init places the pmm bitmap in free memory found in the loader's map,
 * builds the allocator (which never hands out anything but TERN_MEM_FREE),
 * and sets up the global heap on top of page_alloc.
 */
#include <stdint.h>
#include <string.h>

#include "boot/bootinfo.h"
#include "kernel/arch/x86_64/arch.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

extern char __kernel_start[];

struct pmm kernel_pmm;
static struct heap kernel_heap;
static uint64_t kernel_phys, kernel_virt, kernel_size;
/* The direct map's extent (bootinfo.map_limit once mm_init ran): image
   and stack regions lie above TERN_HHDM_BASE too, so the range check
   must not stretch to PMM_MAX_PHYS or it would claim their addresses. */
static uint64_t hhdm_limit = PMM_MAX_PHYS;

void *
phys_to_virt(uint64_t pa)
{
	return (void *)(TERN_HHDM_BASE + pa);
}

uint64_t
virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)va;
	if (v >= kernel_virt && v < kernel_virt + kernel_size)
		return kernel_phys + (v - kernel_virt);
	if (v >= TERN_HHDM_BASE && v - TERN_HHDM_BASE < hhdm_limit)
		return v - TERN_HHDM_BASE;
	/* Workload images and stacks: page by page, through the tables.  A
	   buffer there is physically contiguous only within one page. */
	return vm_translate(v);
}

void *
page_alloc(size_t npages, size_t align, uint64_t limit)
{
	uint64_t pa = pmm_alloc(&kernel_pmm, npages, align, limit);
	if (pa == 0)
		return NULL;
	void *va = phys_to_virt(pa);
	memset(va, 0, npages * PAGE_SIZE);
	return va;
}

void
page_free(void *va, size_t npages)
{
	if (va != NULL)
		pmm_free(&kernel_pmm, virt_to_phys(va), npages);
}

static void *
heap_pages(void *ctx, size_t n)
{
	return page_alloc(n, 0, 0);
}

static void
heap_pages_free(void *ctx, void *p, size_t n)
{
	page_free(p, n);
}

static void
heap_error(void *ctx, const char *what, const void *p)
{
	panic("heap: %s at %p", what, p);
}

void mm_init(const struct tern_bootinfo *bi);
void
mm_init(const struct tern_bootinfo *bi)
{
	const struct tern_mem_range *map = phys_to_virt(bi->mem_map);
	size_t n = bi->mem_count;

	kernel_phys = bi->kernel_phys;
	kernel_virt = bi->kernel_virt;
	kernel_size = bi->kernel_size;
	hhdm_limit = bi->map_limit;

	size_t bytes = pmm_bitmap_bytes(map, n);
	uint64_t at = pmm_find_storage(map, n, bytes);
	if (at == 0 || pmm_init(&kernel_pmm, map, n, phys_to_virt(at), at) != 0)
		fail("mm", "no_usable_memory");

	static const struct heap_ops ops = {
		.pages_alloc = heap_pages,
		.pages_free = heap_pages_free,
		.error = heap_error,
	};
	heap_init(&kernel_heap, &ops);
	log_info("mm", "%llu MiB free of %llu map entries, bitmap %zu bytes at 0x%llx",
	    (unsigned long long)(kernel_pmm.free_pages * PAGE_SIZE >> 20),
	    (unsigned long long)n, bytes, (unsigned long long)at);
}

void *kmalloc(size_t size) { return heap_alloc(&kernel_heap, size, 0); }
void *kmalloc_aligned(size_t size, size_t align) { return heap_alloc(&kernel_heap, size, align); }
void kfree(void *p) { heap_free(&kernel_heap, p); }

void *
kzalloc(size_t size)
{
	void *p = heap_alloc(&kernel_heap, size, 0);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

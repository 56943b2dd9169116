/*
 * pmm.h - physical page allocator built from the UEFI memory map.
 *
 * A bitmap over [0, top of the highest FREE range), one bit per 4 KiB page,
 * 1 = in use.  Only TERN_MEM_FREE ranges are ever handed out; every other
 * type (loader, ACPI, runtime, reserved) and every page not described by
 * the map stays used forever.  The map may be unsorted, overlapping (a page
 * is free only if no non-FREE range covers it) and contain zero-length or
 * absurd entries (ignored, counted in pmm.bad_ranges).  Page 0 is never
 * handed out.  Not thread-safe: callers serialise (single CPU, interrupts
 * never allocate).
 */
#ifndef TERN_PMM_H
#define TERN_PMM_H

#include <stddef.h>
#include <stdint.h>
#include "boot/bootinfo.h"

#define PAGE_SIZE 4096ULL
#define PMM_MAX_PHYS (1ULL << 52)

struct pmm {
	uint64_t *bitmap;	/* 1 bit per page, 1 = used */
	uint64_t *allocd;	/* 1 bit per page, 1 = handed out by pmm_alloc */
	uint64_t npages;	/* pages covered by the bitmap */
	uint64_t free_pages;
	uint64_t total_free;	/* free pages right after init */
	uint64_t hint;		/* next page index to search from */
	uint32_t bad_ranges;	/* ignored map entries */
	uint32_t bad_frees;	/* refused pmm_free calls */
};

/* Bytes of bitmap storage pmm_init needs for this map (multiple of 8). */
size_t pmm_bitmap_bytes(const struct tern_mem_range *map, size_t n);

/*
 * Find a FREE physical range of at least `bytes` (page aligned, above
 * page 0, not overlapping any non-FREE range) to hold the bitmap; returns
 * its physical address or 0 if none.
 */
uint64_t pmm_find_storage(const struct tern_mem_range *map, size_t n,
    size_t bytes);

/*
 * Build the allocator.  `storage` (the CPU view of `storage_phys`, at
 * least pmm_bitmap_bytes() long) becomes the bitmap; the pages holding it
 * are marked used.  storage_phys may be 0 when the storage is not in the
 * map (host tests).  Returns TERN_OK or TERN_EINVAL (nothing free).
 */
int pmm_init(struct pmm *p, const struct tern_mem_range *map, size_t n,
    void *storage, uint64_t storage_phys);

/*
 * Allocate `npages` physically contiguous pages, aligned to `align` bytes
 * (a power of two >= 4096, or 0 for 4096), entirely below `limit` (0: no
 * limit; e.g. 1ULL << 48 for Amazon devices).  Returns the physical
 * address, or 0 when no such run exists.
 */
uint64_t pmm_alloc(struct pmm *p, size_t npages, size_t align, uint64_t limit);

/*
 * Free pages from pmm_alloc.  Freeing a page that is already free or was
 * never FREE is a caller bug: it is refused, counted and returns
 * TERN_EINVAL without changing anything.
 */
int pmm_free(struct pmm *p, uint64_t phys, size_t npages);

/* Mark a range used (e.g. memory the kernel keeps).  Idempotent. */
void pmm_reserve(struct pmm *p, uint64_t phys, size_t npages);

#endif

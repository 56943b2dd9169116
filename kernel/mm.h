/*
 * mm.h - the kernel's memory services (kernel/mm.c, kernel/arch/x86_64/vm.c).
 *
 * All of physical memory below bootinfo.map_limit is reachable through the
 * direct map at TERN_HHDM_BASE (read/write, never executable).  Device
 * registers are mapped uncached with mmio_map().  The kernel image is
 * mapped with per-section permissions (text RX, rodata R, data/bss RW NX);
 * page 0 is unmapped.
 */
#ifndef TERN_MM_H
#define TERN_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "boot/bootinfo.h"
#include "kernel/pmm.h"

/* Translation.  phys_to_virt never fails for RAM.  virt_to_phys takes
   direct-map and kernel-image addresses by arithmetic and any other mapped
   address (workload images, stacks) through the page tables; ~0 when
   unmapped.  Outside the direct map only bytes within one page are known
   to be physically contiguous. */
void *phys_to_virt(uint64_t pa);
uint64_t virt_to_phys(const void *va);

/* Allocate / free physically contiguous pages (see pmm_alloc); the memory
   is zeroed.  Returns the direct-map address or NULL. */
void *page_alloc(size_t npages, size_t align, uint64_t limit);
void page_free(void *va, size_t npages);

/* Map `len` bytes of device memory at `pa` uncached; NULL on failure. */
void *mmio_map(uint64_t pa, size_t len);

/* Allocate a kernel stack of `bytes` with an unmapped guard page below it;
   returns the top (initial rsp) or 0. */
uint64_t stack_alloc(size_t bytes);

/* Workload images (pal/rt.c): `bytes` of zeroed pages mapped read/write
   and never executable, with unmapped guard pages on both sides; NULL when
   out of memory or address space.  Never freed: a restarted workload
   reuses its region.  image_protect sets the permissions of the pages
   covering [va, va+len) of such a region; -1 outside one. */
void *image_alloc(size_t bytes);
int image_protect(void *va, size_t len, bool write, bool exec);

/* The global allocator, for statistics (read-only for callers). */
extern struct pmm kernel_pmm;

#endif

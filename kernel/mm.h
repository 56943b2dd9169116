/*
 * mm.h - the kernel's memory services (kernel/mm.c, kernel/arch/x86_64/vm.c).
 *
 * All of physical memory below bootinfo.map_limit is reachable through the
 * direct map at TERN_HHDM_BASE (never executable; read/write except the
 * frames of kernel text and rodata and of executable workload pages,
 * which are read-only there: no frame is writable and executable through
 * any pair of mappings).  Device
 * registers are mapped uncached with mmio_map(), other device memory with
 * the type mmio_map_attr() names.  The kernel image is
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
/*
 * The same with a memory type: MMIO_UC (registers), MMIO_WC (write-
 * combining: ENA's LLQ window, framebuffers; stores may be merged and
 * reordered until a fence, so the caller fences before any doorbell, as
 * hw_write_block does) or MMIO_WB (device memory that is ordinary RAM
 * to the CPU).  WC is PAT entry 1, programmed at boot; where the PAT
 * could not be programmed a WC request is mapped uncached (correct,
 * slower).  NULL on failure or an unknown attr.  Mapping RAM that the
 * direct map also covers with another type is the caller's bug.
 */
#define MMIO_UC		0
#define MMIO_WC		1
#define MMIO_WB		2
void *mmio_map_attr(uint64_t pa, size_t len, int attr);
/* The memory type (MMIO_UC/WC/WB) of the 4 KiB page mapping va, -1 when
   unmapped or of another type; and IA32_PAT as read back at boot (0 when
   the CPU has no PAT). */
int vm_cache_attr(const void *va);
uint64_t vm_pat(void);

/*
 * One page of code (the Hyper-V hypercall page): a fresh frame holding
 * `len` bytes of `code` (len <= 4096; NULL/0 for a zeroed page the
 * hypervisor fills in), mapped read-execute with guard pages around it.
 * The frame is written through the direct map before it is executable
 * anywhere, and its direct-map alias is then read-only: it is never
 * writable and executable at once (vm_wx_check).  *pa_out (if not NULL)
 * gets the frame's physical address.  Never freed.  NULL when out of
 * memory or address space.
 */
void *exec_page_alloc(const void *code, size_t len, uint64_t *pa_out);

/* Allocate a kernel stack of `bytes` with an unmapped guard page below it;
   returns the top (initial rsp) or 0. */
uint64_t stack_alloc(size_t bytes);

/* Workload images (pal/rt.c): `bytes` of zeroed pages mapped read/write
   and never executable, with unmapped guard pages on both sides; NULL when
   out of memory or address space.  Never freed: a restarted workload
   reuses its region.  image_protect sets the permissions of the pages
   covering [va, va+len) of such a region (and makes the direct-map alias
   of every executable page read-only, of every other one writable); -1
   outside one or when a page-table page for that is missing.  Both fail
   rather than panic when page-table memory runs out, as does
   stack_alloc (which then returns 0). */
void *image_alloc(size_t bytes);
int image_protect(void *va, size_t len, bool write, bool exec);

/* Walks every mapping of the kernel's tables and counts the frames that
   are executable through one mapping and writable through any (the same
   or another).  Logs up to 8 such frames and prints the marker
   "TERN WX_CHECK where=<where> exec_pages=<n> wx_pages=<n>".  Returns the
   count, or TERN_ENOMEM. */
int vm_wx_check(const char *where);

/* Test hook (cmdline ptfail=N): after n more page-table pages, every
   page-table allocation fails as if memory ran out; n < 0 turns it off. */
void vm_pt_fail_after(long n);

/* The global allocator, for statistics (read-only for callers). */
extern struct pmm kernel_pmm;

#endif

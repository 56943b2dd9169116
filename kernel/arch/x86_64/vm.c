/*
 * vm.c - the kernel's own page tables.
 *
 * Replaces the loader's tables (identity + direct map, everything RWX)
 * with:
 *   - the direct map: TERN_HHDM_BASE + [0, map_limit) in 2 MiB pages,
 *     read/write, never executable; the 2 MiB pages that alias kernel
 *     text and rodata, or workload text, are split into 4 KiB pages and
 *     those aliases are read-only, so no physical page is writable
 *     through one mapping and executable through another (vm_wx_scan
 *     checks this);
 *   - the kernel image at its link address in 4 KiB pages: text RX,
 *     rodata R, data/bss RW NX, with the guard page under each static
 *     stack left unmapped;
 *   - device windows (mmio_map, mmio_map_attr) uncached, write-combining
 *     or write-back, NX, in their own region.  Write-combining uses PAT
 *     entry 1 (PWT alone), which vm_init reprograms from write-through
 *     to WC (Intel SDM 3A 13.12.4: PAT index = PAT:PCD:PWT);
 *   - single executable pages (exec_page_alloc) in the image region,
 *     read-execute, their direct-map alias read-only;
 *   - thread stacks (stack_alloc) with an unmapped guard page below each;
 *   - workload images (image_alloc), RW NX until image_protect() makes
 *     their text RX, with unmapped pages on both sides.
 * Nothing is mapped at low addresses, so a NULL dereference faults.
 * Page-table pages come from the pmm and are reached through the direct
 * map, which both the loader's tables and ours provide.  Running out of
 * them is an error the caller sees (vm_map: TERN_ENOMEM), never a panic
 * after boot; vm_pt_fail_after injects that failure for tests.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "boot/bootinfo.h"
#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/err.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

#define MMIO_BASE	0xffffc00000000000ULL
#define MMIO_LIMIT	0xffffc08000000000ULL	/* 512 GiB of windows */
#define IMAGE_BASE	0xffffd00000000000ULL
#define IMAGE_LIMIT	0xffffd08000000000ULL
#define STACK_BASE	0xffffe00000000000ULL
#define STACK_LIMIT	0xffffe08000000000ULL

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __kernel_end[];

static uint64_t *pml4;		/* direct-map view */
static uint64_t pml4_phys;
static uint64_t mmio_next = MMIO_BASE;
static uint64_t stack_next = STACK_BASE;
static uint64_t image_next = IMAGE_BASE;
/* Fault injection (vm_pt_fail_after): allocations left before every
   page-table allocation is refused; -1 when off. */
static long pt_fail_countdown = -1;
static uint64_t dm_limit;	/* bootinfo.map_limit */
static uint64_t pat_value;	/* IA32_PAT as read back after vm_init */
static bool pat_wc;		/* PAT entry 1 is write-combining */
static uint64_t pt_refused;

/* One zeroed page-table page, or 0 when the pmm has none (or the fault
   injection countdown ran out). */
static uint64_t
pt_alloc(void)
{
	if (pt_fail_countdown == 0) {
		if (pt_refused++ == 0)
			log_warn("vm", "page-table allocation refused (fault injection)");
		return 0;
	}
	uint64_t pa = pmm_alloc(&kernel_pmm, 1, 0, 0);
	if (pa == 0) {
		log_warn("vm", "out of memory for page tables");
		return 0;
	}
	if (pt_fail_countdown > 0)
		pt_fail_countdown--;
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

void
vm_pt_fail_after(long n)
{
	pt_fail_countdown = n < 0 ? -1 : n;
	pt_refused = 0;
}

/* Return the entry for `va` at `level` (3 = PDPT ... 1 = PT), creating
   intermediate tables.  Returns NULL if a large page is in the way or no
   page-table page was left. */
static uint64_t *
walk(uint64_t va, int level, bool create)
{
	uint64_t *table = pml4;
	for (int l = 4; l > level; l--) {
		int idx = (va >> (12 + 9 * (l - 1))) & 511;
		uint64_t e = table[idx];
		if (!(e & PTE_P)) {
			if (!create)
				return NULL;
			uint64_t pa = pt_alloc();
			if (pa == 0)
				return NULL;
			table[idx] = pa | PTE_P | PTE_W;
			e = table[idx];
		} else if (e & PTE_PS) {
			return NULL;
		}
		table = phys_to_virt(e & PTE_ADDR);
	}
	return &table[(va >> (12 + 9 * (level - 1))) & 511];
}

int
vm_map(uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *pte = walk(va, 1, true);
	if (pte == NULL)
		return TERN_ENOMEM;
	*pte = (pa & PTE_ADDR) | flags | PTE_P;
	if (pml4_phys != 0 && read_cr3() == pml4_phys)
		invlpg(va);
	return 0;
}

void
vm_unmap(uint64_t va)
{
	uint64_t *pte = walk(va, 1, false);
	if (pte != NULL) {
		*pte = 0;
		invlpg(va);
	}
}

uint64_t
vm_translate(uint64_t va)
{
	uint64_t *table = pml4;
	if (table == NULL)
		return ~0ULL;	/* before vm_init */
	for (int l = 4; l >= 1; l--) {
		int shift = 12 + 9 * (l - 1);
		uint64_t e = table[(va >> shift) & 511];
		if (!(e & PTE_P))
			return ~0ULL;
		if (l == 1 || (e & PTE_PS)) {
			uint64_t mask = (1ULL << shift) - 1;
			return (e & PTE_ADDR & ~mask) | (va & mask);
		}
		table = phys_to_virt(e & PTE_ADDR);
	}
	return ~0ULL;
}

/* The direct-map entry of physical page `pa` as a 4 KiB PTE: the 2 MiB
   page covering it is split first (512 PTEs, same permissions).  NULL
   outside the direct map or when no page-table page is left. */
static uint64_t *
dm_pte(uint64_t pa)
{
	if (pa >= dm_limit)
		return NULL;
	uint64_t va = TERN_HHDM_BASE + (pa & ~(uint64_t)(PAGE_SIZE - 1));
	uint64_t *pde = walk(va, 2, false);
	if (pde == NULL || !(*pde & PTE_P))
		return NULL;
	if (*pde & PTE_PS) {
		uint64_t pt = pt_alloc();
		if (pt == 0)
			return NULL;
		uint64_t *t = phys_to_virt(pt);
		uint64_t base = *pde & PTE_ADDR & ~0x1fffffULL;
		/* Bit 7 is PS in a PDE but PAT in a PTE: not carried over. */
		uint64_t fl = *pde & (PTE_P | PTE_W | PTE_G | PTE_NX);
		for (int i = 0; i < 512; i++)
			t[i] = (base + (uint64_t)i * PAGE_SIZE) | fl;
		*pde = pt | PTE_P | PTE_W;
		/* Same translation and permissions, finer pages: dropping the
		   2 MiB TLB entry (global) is all the TLB needs. */
		if (pml4_phys != 0 && read_cr3() == pml4_phys)
			invlpg(va);
	}
	return walk(va, 1, false);
}

/* The direct-map entry covering physical page `pa` now: its 2 MiB PDE or
   its 4 KiB PTE; NULL outside the direct map. */
static uint64_t *
dm_entry(uint64_t pa)
{
	uint64_t va = TERN_HHDM_BASE + (pa & ~(uint64_t)(PAGE_SIZE - 1));
	uint64_t *pde = pa < dm_limit ? walk(va, 2, false) : NULL;

	if (pde == NULL || !(*pde & PTE_P))
		return NULL;
	return (*pde & PTE_PS) ? pde : walk(va, 1, false);
}

/* Make the direct-map alias of physical page `pa` writable or not. */
static int
dm_set_write(uint64_t pa, bool write)
{
	uint64_t *cur = dm_entry(pa);
	if (cur != NULL && ((*cur & PTE_W) != 0) == write)
		return TERN_OK;		/* already so: nothing to split or flush */
	uint64_t *pte = dm_pte(pa);
	if (pte == NULL)
		return pa >= dm_limit ? TERN_EINVAL : TERN_ENOMEM;
	*pte = write ? (*pte | PTE_W) : (*pte & ~PTE_W);
	if (pml4_phys != 0 && read_cr3() == pml4_phys)
		invlpg(TERN_HHDM_BASE + pa);
	return TERN_OK;
}

/* Unmaps n pages from va and gives their frames back to the pmm (the
   undo step of stack_alloc and image_alloc). */
static void
unmap_free(uint64_t va, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pa = vm_translate(va + i * PAGE_SIZE);
		vm_unmap(va + i * PAGE_SIZE);
		if (pa != ~0ULL)
			pmm_free(&kernel_pmm, pa, 1);
	}
}

static bool
is_guard_page(uint64_t va)
{
	if (va == (uint64_t)boot_stack)
		return true;
	for (int i = 0; i < IST_COUNT; i++)
		if (va == (uint64_t)ist_stacks[i])
			return true;
	return false;
}

void
vm_init(const struct tern_bootinfo *bi)
{
	dm_limit = bi->map_limit;
	pml4_phys = pt_alloc();
	if (pml4_phys == 0)
		panic("vm: no memory for the page tables");
	pml4 = phys_to_virt(pml4_phys);

	/* Direct map, 2 MiB pages. */
	for (uint64_t pa = 0; pa < bi->map_limit; pa += 0x200000) {
		uint64_t *pde = walk(TERN_HHDM_BASE + pa, 2, true);
		if (pde == NULL)
			panic("vm: cannot build the direct map at 0x%llx",
			    (unsigned long long)pa);
		*pde = pa | PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX;
	}

	/* Kernel image with per-section permissions. */
	uint64_t ts = (uint64_t)__text_start, te = (uint64_t)__text_end;
	uint64_t rs = (uint64_t)__rodata_start, re = (uint64_t)__rodata_end;
	uint64_t ke = (uint64_t)__kernel_end;
	for (uint64_t va = bi->kernel_virt; va < ke; va += PAGE_SIZE) {
		uint64_t pa = bi->kernel_phys + (va - bi->kernel_virt);
		uint64_t fl;
		if (va >= ts && va < te)
			fl = PTE_G;			/* RX */
		else if (va >= rs && va < re)
			fl = PTE_G | PTE_NX;		/* R */
		else
			fl = PTE_G | PTE_W | PTE_NX;	/* RW */
		if (is_guard_page(va))
			continue;
		if (vm_map(va, pa, fl) != 0)
			panic("vm: cannot map the kernel image");
	}
	/* Text and rodata also appear in the direct map: read-only there, so
	   no alias of kernel code (or of the tables it trusts) is writable. */
	for (uint64_t va = ts; va < re; va += PAGE_SIZE)
		if (dm_set_write(bi->kernel_phys + (va - bi->kernel_virt), false) != 0)
			panic("vm: cannot protect the kernel's direct-map alias");

	/* PAT entry 1 (PWT=1, PCD=0) becomes write-combining; the other
	   entries keep their reset types, and no mapping used entry 1 as
	   write-through, so nothing changes type under anyone.  The CR3
	   load below flushes the TLB.  A PAT that does not read back (a CPU
	   or hypervisor without it) leaves WC requests uncached. */
	if (cpu_has_pat()) {
		wrmsr(MSR_PAT, VM_PAT);
		pat_value = rdmsr(MSR_PAT);
		pat_wc = pat_value == VM_PAT;
	}
	if (!pat_wc)
		log_warn("vm", "PAT not programmable (reads 0x%llx): write-combining "
		    "mappings fall back to uncached", (unsigned long long)pat_value);

	/* NX must be on before any PTE with bit 63 is used; WP makes
	   read-only pages read-only for the kernel too. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | (1ULL << 16));
	write_cr4(read_cr4() | (1ULL << 7));	/* PGE */
	write_cr3(pml4_phys);
	log_debug("vm", "kernel tables at 0x%llx, direct map to 0x%llx",
	    (unsigned long long)pml4_phys, (unsigned long long)bi->map_limit);
}

/* Cache bits of a 4 KiB PTE for an attribute (PAT index PAT:PCD:PWT). */
static uint64_t
attr_bits(int attr)
{
	switch (attr) {
	case MMIO_WB:
		return 0;			/* index 0: WB */
	case MMIO_WC:
		if (pat_wc)
			return PTE_PWT;		/* index 1: WC (vm_init) */
		return PTE_PCD | PTE_PWT;	/* no PAT: stay uncached */
	default:
		return PTE_PCD | PTE_PWT;	/* index 3: UC */
	}
}

void *
mmio_map_attr(uint64_t pa, size_t len, int attr)
{
	uint64_t off = pa & (PAGE_SIZE - 1);
	uint64_t base = pa - off;
	uint64_t n = (off + len + PAGE_SIZE - 1) / PAGE_SIZE;
	if (len == 0 || (attr != MMIO_UC && attr != MMIO_WC && attr != MMIO_WB) ||
	    mmio_next + n * PAGE_SIZE > MMIO_LIMIT)
		return NULL;
	uint64_t va = mmio_next;
	mmio_next += (n + 1) * PAGE_SIZE;	/* one unmapped page between */
	for (uint64_t i = 0; i < n; i++)
		if (vm_map(va + i * PAGE_SIZE, base + i * PAGE_SIZE,
		    PTE_W | attr_bits(attr) | PTE_NX) != 0)
			return NULL;
	return (void *)(va + off);
}

void *
mmio_map(uint64_t pa, size_t len)
{
	return mmio_map_attr(pa, len, MMIO_UC);
}

int
vm_cache_attr(const void *p)
{
	uint64_t *pte = walk((uint64_t)p & ~(uint64_t)(PAGE_SIZE - 1), 1, false);
	if (pte == NULL || !(*pte & PTE_P))
		return -1;
	/* PAT bit of a 4 KiB PTE is bit 7; entry index = PAT:PCD:PWT. */
	int idx = (int)(((*pte >> 7) & 1) << 2 | ((*pte >> 4) & 1) << 1 |
	    ((*pte >> 3) & 1));
	uint8_t type = (uint8_t)(pat_value >> (8 * idx));
	if (pat_value == 0)	/* PAT unknown: the reset layout */
		type = (uint8_t)(0x0007040600070406ULL >> (8 * idx));
	return type == 0x06 ? MMIO_WB : type == 0x01 ? MMIO_WC :
	    type == 0x00 || type == 0x07 ? MMIO_UC : -1;
}

uint64_t
vm_pat(void)
{
	return pat_value;
}

/* Maps n fresh zeroed pages, writable and not executable, at va; on
   failure everything it mapped is undone and -1 returned. */
static int
map_zeroed(uint64_t va, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pa = pmm_alloc(&kernel_pmm, 1, 0, 0);
		if (pa != 0)
			memset(phys_to_virt(pa), 0, PAGE_SIZE);
		if (pa == 0 || vm_map(va + i * PAGE_SIZE, pa, PTE_W | PTE_NX) != 0) {
			if (pa != 0)
				pmm_free(&kernel_pmm, pa, 1);
			unmap_free(va, i);
			return -1;
		}
	}
	return 0;
}

uint64_t
stack_alloc(size_t bytes)
{
	uint64_t n = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	if (n == 0 || stack_next + (n + 1) * PAGE_SIZE > STACK_LIMIT)
		return 0;
	uint64_t va = stack_next + PAGE_SIZE;	/* guard page stays unmapped */
	if (map_zeroed(va, n) != 0)
		return 0;
	stack_next = va + n * PAGE_SIZE;
	return va + n * PAGE_SIZE;
}

void *
image_alloc(size_t bytes)
{
	uint64_t n = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	if (n == 0 || image_next + (n + 2) * PAGE_SIZE > IMAGE_LIMIT)
		return NULL;
	uint64_t va = image_next + PAGE_SIZE;	/* guard below */
	if (map_zeroed(va, n) != 0)
		return NULL;
	image_next = va + (n + 1) * PAGE_SIZE;	/* and a guard above */
	return (void *)va;
}

int
image_protect(void *p, size_t len, bool write, bool exec)
{
	uint64_t va = (uint64_t)p & ~(uint64_t)(PAGE_SIZE - 1);
	uint64_t end = (uint64_t)p + len;
	if ((uint64_t)p < IMAGE_BASE || end > IMAGE_LIMIT || end < (uint64_t)p)
		return -1;
	for (; va < end; va += PAGE_SIZE) {
		uint64_t *pte = walk(va, 1, false);
		if (pte == NULL || !(*pte & PTE_P))
			return -1;
		uint64_t e = *pte & ~(PTE_W | PTE_NX);
		uint64_t ne = e | (write ? PTE_W : 0) | (exec ? 0 : PTE_NX);
		/* An executable page loses its writable direct-map alias first
		   (and only a page that is no longer executable gets it back),
		   so at no moment is a frame both. */
		if (exec && dm_set_write(e & PTE_ADDR, false) != 0)
			return -1;
		if (*pte != ne) {
			*pte = ne;
			invlpg(va);
		}
		if (!exec && dm_set_write(e & PTE_ADDR, true) != 0)
			return -1;
	}
	return 0;
}

void *
exec_page_alloc(const void *code, size_t len, uint64_t *pa_out)
{
	if (len > PAGE_SIZE || image_next + 3 * PAGE_SIZE > IMAGE_LIMIT)
		return NULL;
	uint64_t pa = pmm_alloc(&kernel_pmm, 1, 0, 0);
	if (pa == 0)
		return NULL;
	/* Written while nothing maps the frame executable... */
	uint8_t *dm = phys_to_virt(pa);
	memset(dm, 0, PAGE_SIZE);
	if (len > 0)
		memcpy(dm, code, len);
	/* ...then its only writable alias goes read-only, and only then is
	   it mapped read-execute: at no moment is it both. */
	if (dm_set_write(pa, false) != 0) {
		pmm_free(&kernel_pmm, pa, 1);
		return NULL;
	}
	uint64_t va = image_next + PAGE_SIZE;	/* guard below */
	if (vm_map(va, pa, 0) != 0) {
		if (dm_set_write(pa, true) == 0)
			pmm_free(&kernel_pmm, pa, 1);
		return NULL;
	}
	image_next = va + 2 * PAGE_SIZE;	/* and a guard above */
	if (pa_out != NULL)
		*pa_out = pa;
	return (void *)va;
}

/* ---- W^X self-check ---------------------------------------------------- */

struct wx_page {
	uint64_t pa, xva, wva;		/* wva: a writable alias, or 0 */
};

#ifndef WX_ROOM
#define WX_ROOM 256		/* executable frames the first walk has room for */
#endif

struct wx_scan {
	struct wx_page *x;		/* executable frames (pass 2: sorted) */
	size_t nx, cap;
	int pass;
};

/* Calls leaf() for every present leaf of the kernel's tables with the
   effective permissions (writable only if every level allows it,
   executable only if no level sets NX). */
static void
wx_walk(struct wx_scan *sc, const uint64_t *table, int level, uint64_t va,
    bool w, bool x)
{
	int shift = 12 + 9 * (level - 1);
	for (int i = 0; i < 512; i++) {
		uint64_t e = table[i];
		if (!(e & PTE_P))
			continue;
		uint64_t cva = va | ((uint64_t)i << shift);
		if (level == 4 && i >= 256)
			cva |= 0xffff000000000000ULL;	/* canonical form */
		bool cw = w && (e & PTE_W), cx = x && !(e & PTE_NX);
		if (level > 1 && !(e & PTE_PS)) {
			wx_walk(sc, phys_to_virt(e & PTE_ADDR), level - 1, cva, cw, cx);
			continue;
		}
		uint64_t size = 1ULL << shift;
		uint64_t pa = e & PTE_ADDR & ~(size - 1);
		if (sc->pass == 0 && cx) {
			for (uint64_t o = 0; o < size; o += PAGE_SIZE) {
				if (sc->x != NULL && sc->nx < sc->cap)
					sc->x[sc->nx] = (struct wx_page){ pa + o, cva + o, 0 };
				sc->nx++;
			}
		} else if (sc->pass == 1 && cw && sc->nx > 0 &&
		    pa <= sc->x[sc->nx - 1].pa && pa + size > sc->x[0].pa) {
			/* Every executable frame inside [pa, pa + size) (most
			   writable leaves lie outside the frames' span). */
			size_t lo = 0, hi = sc->nx;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (sc->x[mid].pa < pa)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < sc->nx && sc->x[lo].pa < pa + size; lo++)
				if (sc->x[lo].wva == 0)
					sc->x[lo].wva = cva + (sc->x[lo].pa - pa);
		}
	}
}

int
vm_wx_check(const char *where)
{
	/* Collect the executable frames into room for the usual few
	   hundred; a walk that finds more is done again with room for all. */
	struct wx_scan sc = { NULL, 0, WX_ROOM, 0 };
	for (bool again = false;; again = true) {
		sc.x = kmalloc(sc.cap * sizeof(*sc.x));
		if (sc.x == NULL) {
			log_error("vm", "W^X check (%s): no memory for %zu entries",
			    where, sc.cap);
			return TERN_ENOMEM;
		}
		sc.nx = 0;
		wx_walk(&sc, pml4, 4, 0, true, true);
		if (sc.nx <= sc.cap || again)
			break;
		kfree(sc.x);
		sc.cap = sc.nx;
	}
	if (sc.nx > sc.cap)	/* nothing maps pages between the passes, */
		sc.nx = sc.cap;	/* but never index past the array */
	for (size_t i = 1; i < sc.nx; i++) {		/* insertion sort by pa */
		struct wx_page v = sc.x[i];
		size_t j = i;
		for (; j > 0 && sc.x[j - 1].pa > v.pa; j--)
			sc.x[j] = sc.x[j - 1];
		sc.x[j] = v;
	}
	sc.pass = 1;
	wx_walk(&sc, pml4, 4, 0, true, true);		/* find writable aliases */
	int bad = 0;
	for (size_t i = 0; i < sc.nx; i++) {
		if (sc.x[i].wva == 0)
			continue;
		if (bad++ < 8)
			log_error("vm", "W^X: frame 0x%llx executable at 0x%llx, "
			    "writable at 0x%llx", (unsigned long long)sc.x[i].pa,
			    (unsigned long long)sc.x[i].xva,
			    (unsigned long long)sc.x[i].wva);
	}
	marker("WX_CHECK where=%s exec_pages=%zu wx_pages=%d", where, sc.nx, bad);
	kfree(sc.x);
	return bad;
}

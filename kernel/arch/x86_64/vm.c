/*
 * vm.c - the kernel's own page tables.
 *
 * Replaces the loader's tables (identity + direct map, everything RWX)
 * with:
 *   - the direct map: TERN_HHDM_BASE + [0, map_limit) in 2 MiB pages,
 *     read/write, never executable;
 *   - the kernel image at its link address in 4 KiB pages: text RX,
 *     rodata R, data/bss RW NX, with the guard page under each static
 *     stack left unmapped;
 *   - device windows (mmio_map) uncached, NX, in their own region;
 *   - thread stacks (stack_alloc) with an unmapped guard page below each;
 *   - workload images (image_alloc), RW NX until image_protect() makes
 *     their text RX, with unmapped pages on both sides.
 * Nothing is mapped at low addresses, so a NULL dereference faults.
 * Page-table pages come from the pmm and are reached through the direct
 * map, which both the loader's tables and ours provide.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "boot/bootinfo.h"
#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
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

static uint64_t
pt_alloc(void)
{
	uint64_t pa = pmm_alloc(&kernel_pmm, 1, 0, 0);
	if (pa == 0)
		panic("out of memory for page tables");
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

/* Return the entry for `va` at `level` (3 = PDPT ... 1 = PT), creating
   intermediate tables.  Returns NULL if a large page is in the way. */
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
		return -1;
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
	pml4_phys = pt_alloc();
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

	/* NX must be on before any PTE with bit 63 is used; WP makes
	   read-only pages read-only for the kernel too. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | (1ULL << 16));
	write_cr4(read_cr4() | (1ULL << 7));	/* PGE */
	write_cr3(pml4_phys);
	log_debug("vm", "kernel tables at 0x%llx, direct map to 0x%llx",
	    (unsigned long long)pml4_phys, (unsigned long long)bi->map_limit);
}

void *
mmio_map(uint64_t pa, size_t len)
{
	uint64_t off = pa & (PAGE_SIZE - 1);
	uint64_t base = pa - off;
	uint64_t n = (off + len + PAGE_SIZE - 1) / PAGE_SIZE;
	if (len == 0 || mmio_next + n * PAGE_SIZE > MMIO_LIMIT)
		return NULL;
	uint64_t va = mmio_next;
	mmio_next += (n + 1) * PAGE_SIZE;	/* one unmapped page between */
	for (uint64_t i = 0; i < n; i++)
		if (vm_map(va + i * PAGE_SIZE, base + i * PAGE_SIZE,
		    PTE_W | PTE_PCD | PTE_PWT | PTE_NX) != 0)
			return NULL;
	return (void *)(va + off);
}

uint64_t
stack_alloc(size_t bytes)
{
	uint64_t n = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	if (n == 0 || stack_next + (n + 1) * PAGE_SIZE > STACK_LIMIT)
		return 0;
	uint64_t va = stack_next + PAGE_SIZE;	/* guard page stays unmapped */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pa = pmm_alloc(&kernel_pmm, 1, 0, 0);
		if (pa == 0)
			return 0;
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
		if (vm_map(va + i * PAGE_SIZE, pa, PTE_W | PTE_NX) != 0)
			return 0;
	}
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
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pa = pmm_alloc(&kernel_pmm, 1, 0, 0);
		if (pa == 0)
			return NULL;
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
		if (vm_map(va + i * PAGE_SIZE, pa, PTE_W | PTE_NX) != 0)
			return NULL;
	}
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
		*pte = e | (write ? PTE_W : 0) | (exec ? 0 : PTE_NX);
		invlpg(va);
	}
	return 0;
}

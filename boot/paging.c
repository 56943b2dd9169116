/*
 * paging.c - the page tables the kernel is entered with (docs/boot.md):
 * identity and direct map (TERN_HHDM_BASE + phys) of [0, limit) in 2 MiB
 * pages, and the kernel image at its link address in 4 KiB pages.  All
 * writable and executable: the kernel replaces them with its own at once.
 * No NX bits, since the firmware may not have enabled EFER.NXE.
 */
#include "boot/bootinfo.h"
#include "boot/loader.h"

#define P	0x1ULL
#define W	0x2ULL
#define PS	0x80ULL

void *
ldr_alloc_pages_raw(UINTN n)
{
	EFI_PHYSICAL_ADDRESS a = 0;
	if (uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
	    EfiLoaderData, n, &a) != EFI_SUCCESS)
		return NULL;
	return (void *)a;
}

void *
ldr_alloc_pages(UINTN n)
{
	volatile uint64_t *w = ldr_alloc_pages_raw(n);
	if (w == NULL)
		return NULL;
	/* Eight bytes a store: gnu-efi's SetMem is a byte loop and OVMF's
	   a byte-wise rep stos, ~5 ms for the kernel's 1.1 MiB under TCG
	   (this loop: ~3 ms per MiB, so only what needs it is zeroed). */
	for (UINTN i = 0; i < n * 512; i++)
		w[i] = 0;
	return (void *)w;
}

/* Return the table under entry `idx` of `t`, allocating it if needed. */
static uint64_t *
next(uint64_t *t, int idx)
{
	if (!(t[idx] & P)) {
		uint64_t *n = ldr_alloc_pages(1);
		if (n == NULL)
			return NULL;
		t[idx] = (uint64_t)n | P | W;
	}
	return (uint64_t *)(t[idx] & 0x000ffffffffff000ULL);
}

static int
map_2m(uint64_t *pml4, uint64_t va, uint64_t pa)
{
	uint64_t *pdpt = next(pml4, (va >> 39) & 511);
	uint64_t *pd = pdpt ? next(pdpt, (va >> 30) & 511) : NULL;
	if (pd == NULL)
		return -1;
	pd[(va >> 21) & 511] = pa | P | W | PS;
	return 0;
}

static int
map_4k(uint64_t *pml4, uint64_t va, uint64_t pa)
{
	uint64_t *pdpt = next(pml4, (va >> 39) & 511);
	uint64_t *pd = pdpt ? next(pdpt, (va >> 30) & 511) : NULL;
	uint64_t *pt = pd ? next(pd, (va >> 21) & 511) : NULL;
	if (pt == NULL)
		return -1;
	pt[(va >> 12) & 511] = pa | P | W;
	return 0;
}

uint64_t
ldr_build_tables(uint64_t limit, uint64_t vlo, uint64_t vhi, uint64_t phys)
{
	uint64_t *pml4 = ldr_alloc_pages(1);
	if (pml4 == NULL)
		return 0;
	for (uint64_t pa = 0; pa < limit; pa += 0x200000) {
		if (map_2m(pml4, pa, pa) != 0 ||
		    map_2m(pml4, TERN_HHDM_BASE + pa, pa) != 0)
			return 0;
	}
	for (uint64_t va = vlo; va < vhi; va += 4096)
		if (map_4k(pml4, va, phys + (va - vlo)) != 0)
			return 0;
	return (uint64_t)pml4;
}

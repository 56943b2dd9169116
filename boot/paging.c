/*
 * paging.c - the page tables the kernel is entered with (docs/boot.md):
 * identity and direct map (TERN_HHDM_BASE + phys) of [0, limit) in 2 MiB
 * pages, and the kernel image at its link address in 4 KiB pages.  All
 * writable and executable: the kernel replaces them with its own at once.
 * No NX bits, since the firmware may not have enabled EFER.NXE.
 * Also the loader's page allocator: buffers of PLACE_MIN_PAGES or more go
 * into 2 MiB regions the firmware already used (memmap_place, docs/boot.md).
 */
#include "boot/bootinfo.h"
#include "boot/loader.h"
#include "boot/memmap.h"

#define P	0x1ULL
#define W	0x2ULL
#define PS	0x80ULL

/* Buffers this big or bigger go where the firmware already used memory
   (memmap_place); smaller ones fall into the firmware's own holes. */
#define PLACE_MIN_PAGES	16
#define PLACE_MAP_PAGES	16	/* 64 KiB of descriptors, ~1,300 of them */

static void *place_map;
static int place_closed;	/* ldr_place_done ran: no more placing */
unsigned ldr_placed, ldr_place_tries;

static EFI_PHYSICAL_ADDRESS
place(UINTN n)
{
	UINTN size = PLACE_MAP_PAGES * 4096, key, dsize;
	UINT32 dver;
	EFI_PHYSICAL_ADDRESS a;

	if (place_closed)
		return 0;
	if (place_map == NULL && uefi_call_wrapper(BS->AllocatePages, 4,
	    AllocateAnyPages, EfiLoaderData, PLACE_MAP_PAGES,
	    (EFI_PHYSICAL_ADDRESS *)&place_map) != EFI_SUCCESS) {
		place_map = NULL;
		return 0;
	}
	if (uefi_call_wrapper(BS->GetMemoryMap, 5, &size, place_map, &key,
	    &dsize, &dver) != EFI_SUCCESS)
		return 0;
	a = memmap_place(place_map, size, dsize, n, MEMMAP_PLACE_LIMIT);
	if (a == 0 || uefi_call_wrapper(BS->AllocatePages, 4, AllocateAddress,
	    EfiLoaderData, n, &a) != EFI_SUCCESS)
		return 0;
	return a;
}

void
ldr_place_done(void)
{
	if (place_map != NULL)
		uefi_call_wrapper(BS->FreePages, 2, (EFI_PHYSICAL_ADDRESS)place_map,
		    PLACE_MAP_PAGES);
	place_map = NULL;
	place_closed = 1;
}

void *
ldr_alloc_pages_raw(UINTN n)
{
	EFI_PHYSICAL_ADDRESS a = 0;

	if (n >= PLACE_MIN_PAGES) {
		ldr_place_tries++;
		if ((a = place(n)) != 0) {
			ldr_placed++;
			return (void *)a;
		}
	}
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

/*
 * memmap.c - UEFI memory map translation (see memmap.h).
 */
#include "boot/memmap.h"

uint32_t
memmap_type(uint32_t t)
{
	switch (t) {
	case 7:			/* EfiConventionalMemory */
	case 3:			/* EfiBootServicesCode: free after EBS */
	case 4:			/* EfiBootServicesData */
		return TERN_MEM_FREE;
	case 1:			/* EfiLoaderCode */
	case 2:			/* EfiLoaderData: kernel, bootinfo, tables */
		return TERN_MEM_LOADER;
	case 9:
		return TERN_MEM_ACPI_RECLAIM;
	case 10:
		return TERN_MEM_ACPI_NVS;
	case 5:			/* EfiRuntimeServicesCode */
	case 6:
		return TERN_MEM_RUNTIME;
	case 8:
		return TERN_MEM_BAD;
	case 14:
		return TERN_MEM_PERSISTENT;
	default:		/* reserved, MMIO, PAL, unaccepted, unknown */
		return TERN_MEM_RESERVED;
	}
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int
ram_like(uint32_t t)
{
	return t == TERN_MEM_FREE || t == TERN_MEM_LOADER ||
	    t == TERN_MEM_ACPI_RECLAIM || t == TERN_MEM_ACPI_NVS ||
	    t == TERN_MEM_RUNTIME;
}

size_t
memmap_translate(const void *map, size_t map_size, size_t desc_size,
    struct tern_mem_range *out, size_t max, uint64_t *ram_top)
{
	const uint8_t *m = map;
	size_t n = 0;
	uint64_t top = 0;

	if (desc_size < EFI_DESC_MIN_SIZE)
		return 0;
	for (size_t off = 0; off + desc_size <= map_size && n < max; off += desc_size) {
		const uint8_t *d = m + off;
		uint32_t efi_type = (uint32_t)d[0] | (uint32_t)d[1] << 8 |
		    (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
		uint64_t base = rd64(d + EFI_DESC_PHYS);
		uint64_t np = rd64(d + EFI_DESC_NPAGES);
		if (np == 0 || (base & 0xfff) != 0 || np > (1ULL << 40))
			continue;
		/* Insertion sort: maps have a few hundred entries at most. */
		size_t i = n;
		while (i > 0 && out[i - 1].base > base) {
			out[i] = out[i - 1];
			i--;
		}
		out[i].base = base;
		out[i].npages = np;
		out[i].type = memmap_type(efi_type);
		out[i].efi_type = efi_type;
		n++;
	}
	/* Merge neighbours of the same kind. */
	size_t w = 0;
	for (size_t r = 0; r < n; r++) {
		if (w > 0 && out[w - 1].type == out[r].type &&
		    out[w - 1].base + out[w - 1].npages * 4096 == out[r].base) {
			out[w - 1].npages += out[r].npages;
			continue;
		}
		out[w++] = out[r];
	}
	for (size_t i = 0; i < w; i++) {
		uint64_t end = out[i].base + out[i].npages * 4096;
		if (ram_like(out[i].type) && end > top)
			top = end;
	}
	if (ram_top != NULL)
		*ram_top = top;
	return w;
}

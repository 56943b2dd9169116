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

static uint32_t
desc_type(const uint8_t *d)
{
	return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
	    (uint32_t)d[3] << 24;
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
		uint32_t efi_type = desc_type(d + EFI_DESC_TYPE);
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

/* Firmware-used memory: what the firmware wrote, so the host backs it. */
static int
touched_type(uint32_t t)
{
	return (t >= 1 && t <= 6) || t == 9 || t == 10;
}

uint64_t
memmap_place(const void *map, size_t map_size, size_t desc_size,
    uint64_t npages, uint64_t limit)
{
	/* One bit per 2 MiB region below MEMMAP_PLACE_LIMIT: warm. */
	static uint8_t warm[MEMMAP_PLACE_LIMIT / MEMMAP_REGION / 8];
	const uint8_t *m = map;
	uint64_t best = 0, best_len = 0;

	if (desc_size < EFI_DESC_MIN_SIZE || npages == 0 ||
	    npages > MEMMAP_PLACE_LIMIT / 4096)
		return 0;
	if (limit == 0 || limit > MEMMAP_PLACE_LIMIT)
		limit = MEMMAP_PLACE_LIMIT;
	for (size_t i = 0; i < sizeof(warm); i++)
		warm[i] = 0;
	for (size_t off = 0; off + desc_size <= map_size; off += desc_size) {
		const uint8_t *d = m + off;
		uint64_t base = rd64(d + EFI_DESC_PHYS);
		uint64_t np = rd64(d + EFI_DESC_NPAGES);
		if (!touched_type(desc_type(d + EFI_DESC_TYPE)) ||
		    np == 0 || np > (1ULL << 40) || base >= MEMMAP_PLACE_LIMIT)
			continue;
		uint64_t end = base + np * 4096;
		if (end > MEMMAP_PLACE_LIMIT || end < base)
			end = MEMMAP_PLACE_LIMIT;
		for (uint64_t r = base / MEMMAP_REGION; r <= (end - 1) / MEMMAP_REGION; r++)
			warm[r / 8] |= (uint8_t)(1u << (r % 8));
	}
	/* Each free range: its runs of warm regions, clipped to the range. */
	for (size_t off = 0; off + desc_size <= map_size; off += desc_size) {
		const uint8_t *d = m + off;
		uint64_t base = rd64(d + EFI_DESC_PHYS);
		uint64_t np = rd64(d + EFI_DESC_NPAGES);
		if (desc_type(d + EFI_DESC_TYPE) != 7 || np == 0 ||
		    np > (1ULL << 40) || (base & 0xfff) != 0 || base >= limit)
			continue;
		uint64_t end = base + np * 4096;
		if (end > limit || end < base)
			end = limit;
		if (base == 0)
			base = 4096;
		uint64_t a = base;
		while (a < end) {
			uint64_t r = a / MEMMAP_REGION;
			uint64_t rend = (r + 1) * MEMMAP_REGION;
			if (rend > end)
				rend = end;
			if (!(warm[r / 8] & (1u << (r % 8)))) {
				a = rend;
				continue;
			}
			/* A run of warm regions from a. */
			uint64_t s = a;
			while (a < end && (warm[(a / MEMMAP_REGION) / 8] &
			    (1u << ((a / MEMMAP_REGION) % 8)))) {
				a = (a / MEMMAP_REGION + 1) * MEMMAP_REGION;
				if (a > end)
					a = end;
			}
			uint64_t len = (a - s) / 4096;
			if (len >= npages && (best == 0 || len < best_len)) {
				best = a - npages * 4096;
				best_len = len;
			}
		}
	}
	return best;
}

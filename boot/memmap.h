/*
 * memmap.h - turn the UEFI memory map into the kernel's tern_mem_range
 * list (pure C: used by the loader after ExitBootServices, where nothing
 * may be allocated, and by host tests).
 */
#ifndef TERN_BOOT_MEMMAP_H
#define TERN_BOOT_MEMMAP_H

#include <stddef.h>
#include <stdint.h>
#include "boot/bootinfo.h"

/* UEFI descriptor field offsets (UEFI 2.x, EFI_MEMORY_DESCRIPTOR). */
#define EFI_DESC_TYPE		0
#define EFI_DESC_PHYS		8
#define EFI_DESC_NPAGES		24
#define EFI_DESC_MIN_SIZE	40

/* Map one EFI_MEMORY_TYPE value to enum tern_mem_type. */
uint32_t memmap_type(uint32_t efi_type);

/*
 * Translate `map_size` bytes of descriptors, `desc_size` apart, into at
 * most `max` ranges in `out`: sorted by base, adjacent ranges of the same
 * type merged, zero-length entries dropped.  Returns the number of ranges
 * (0 if desc_size is smaller than a descriptor).  *ram_top receives the
 * end of the highest RAM-like range (free, loader, ACPI, runtime).
 */
size_t memmap_translate(const void *map, size_t map_size, size_t desc_size,
    struct tern_mem_range *out, size_t max, uint64_t *ram_top);

/*
 * Where to put a buffer of `npages` pages so that the host has already
 * backed it.  A host that gives guest RAM memory only when the guest first
 * touches it (QEMU's anonymous memory with transparent huge pages) pays
 * for every fresh 2 MiB region: about 6 ms each on this project's
 * nested-virtualisation test machines.  A region in which the firmware
 * already used a page (loader, boot or runtime services code or data,
 * ACPI tables) was touched, so free pages inside it are cheap.
 *
 * Returns the base of the best-fitting (smallest) run of free
 * (EfiConventionalMemory) pages inside such regions below `limit`, `npages`
 * long and taken from the top of the run; 0 when none fits (the caller
 * lets the firmware choose).  Page 0 is never returned.
 */
#define MEMMAP_REGION	(2ULL << 20)
#define MEMMAP_PLACE_LIMIT (4ULL << 30)	/* regions tracked: below 4 GiB */
uint64_t memmap_place(const void *map, size_t map_size, size_t desc_size,
    uint64_t npages, uint64_t limit);

#endif

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

#endif

/*
 * loader.h - internal interface of the UEFI loader (boot/).
 */
#ifndef TERN_BOOT_LOADER_H
#define TERN_BOOT_LOADER_H

#include <efi.h>
#include <efilib.h>
#include <stdint.h>

/* Output to ConOut and COM1 (console.c). */
void ldr_console_init(void);
void ldr_puts(const char *s);
void ldr_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the error and the TERN FAIL marker; returns EFI_LOAD_ERROR. */
EFI_STATUS ldr_fail(const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* QEMU fw_cfg (fwcfg.c): copy file `name` into buf (NUL terminated,
   truncated to len-1).  Returns bytes copied, or -1 if absent/no fw_cfg. */
int fwcfg_read_file(const char *name, char *buf, int len);

/* Page tables (paging.c): identity + direct map of [0, limit) in 2 MiB
   pages, and [vlo, vhi) -> phys in 4 KiB pages.  Returns the PML4's
   physical address or 0 when out of memory. */
uint64_t ldr_build_tables(uint64_t limit, uint64_t vlo, uint64_t vhi,
    uint64_t phys);

/* Zeroed EfiLoaderData pages; NULL on failure. */
void *ldr_alloc_pages(UINTN npages);
/* The same, not zeroed: for memory that is written whole right away (a
   file read into it, the kernel image elf_load fills and zeroes). */
void *ldr_alloc_pages_raw(UINTN npages);
/* Buffers of 16 pages or more are placed in 2 MiB regions the firmware
   already used (memmap_place: the host has backed them): how many asked,
   how many got such a place.  ldr_place_done frees the map buffer. */
extern unsigned ldr_placed, ldr_place_tries;
void ldr_place_done(void);

#endif

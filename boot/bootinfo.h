/*
 * bootinfo.h - the loader -> kernel handoff, version 2.
 *
 * This header is the whole contract between boot/ (the UEFI loader) and
 * kernel/.  It is self-contained (no other includes beyond <stdint.h>) and
 * versioned: the kernel MUST check magic, version and size before using any
 * field, and a new field is only ever appended (bumping the version).
 * docs/boot.md describes the machine state at the jump.
 *
 * All addresses in this struct are PHYSICAL.  At the jump the loader's page
 * tables map every physical address below max(4 GiB, top of RAM) twice:
 * identity and at TERN_HHDM_BASE + phys; and the kernel image at its link
 * address TERN_KERNEL_VBASE.
 */
#ifndef TERN_BOOTINFO_H
#define TERN_BOOTINFO_H

#include <stdint.h>

#define TERN_BOOTINFO_MAGIC	0x4f464e494e524554ULL	/* "TERNINFO" */
#define TERN_BOOTINFO_VERSION	2

#define TERN_KERNEL_VBASE	0xffffffff80000000ULL	/* kernel link base */
#define TERN_HHDM_BASE		0xffff800000000000ULL	/* phys -> virt offset */

/* Memory range kinds, translated by the loader from the UEFI types. */
enum tern_mem_type {
	TERN_MEM_FREE = 1,	/* conventional, boot-services code/data */
	TERN_MEM_LOADER = 2,	/* kernel image, bootinfo, modules, boot
				   page tables and stack: in use at entry */
	TERN_MEM_ACPI_RECLAIM = 3, /* ACPI tables: keep until parsed */
	TERN_MEM_ACPI_NVS = 4,
	TERN_MEM_RUNTIME = 5,	/* UEFI runtime services code/data */
	TERN_MEM_RESERVED = 6,	/* reserved, MMIO, unusable, unknown */
	TERN_MEM_BAD = 7,
	TERN_MEM_PERSISTENT = 8,
};

struct tern_mem_range {
	uint64_t base;		/* page aligned */
	uint64_t npages;	/* 4 KiB pages */
	uint32_t type;		/* enum tern_mem_type */
	uint32_t efi_type;	/* original EFI_MEMORY_TYPE, for diagnostics */
};

/* A file the loader read from the ESP into memory (workload package...). */
#define TERN_MAX_MODULES	4
struct tern_module {
	uint64_t phys;		/* page aligned, TERN_MEM_LOADER */
	uint64_t size;		/* bytes */
	char name[48];		/* path on the ESP, e.g. "\\tern\\app.pkg" */
};

#define TERN_CMDLINE_MAX	1024
enum tern_cmdline_source {
	TERN_CMDLINE_NONE = 0,
	TERN_CMDLINE_FILE = 1,	/* \tern\cmdline on the ESP */
	TERN_CMDLINE_FWCFG = 2,	/* QEMU fw_cfg opt/tern/cmdline */
};

/*
 * What the firmware's PCI bus driver assigned to one function's BARs (UEFI
 * EFI_PCI_IO_PROTOCOL.GetBarAttributes), so the kernel need not size them
 * again: every BAR sizing toggles the function's decode, and under QEMU
 * each toggle rebuilds the whole guest memory map (docs/performance.md).
 * Untrusted: the kernel uses a record only if it agrees with the BAR
 * registers (kernel/pci/pci.h, pci_fw_bars_ok) and sizes otherwise.
 */
#define TERN_PCI_FW_MAX		64
enum tern_pci_fw_bar_type {	/* the values of kernel enum pci_bar_type */
	TERN_PCI_FW_NONE = 0,	/* not implemented (or upper half of MEM64) */
	TERN_PCI_FW_IO = 1,
	TERN_PCI_FW_MEM32 = 2,
	TERN_PCI_FW_MEM64 = 3,
};
struct tern_pci_fw_bar {
	uint64_t base;
	uint64_t size;		/* bytes */
	uint8_t type;		/* enum tern_pci_fw_bar_type */
	uint8_t prefetch;
	uint8_t pad[6];
};
struct tern_pci_fw {
	uint16_t seg;
	uint8_t bus, dev, fn;
	uint8_t pad[3];
	struct tern_pci_fw_bar bar[6];
};

struct tern_bootinfo {
	uint64_t magic;		/* TERN_BOOTINFO_MAGIC */
	uint32_t version;	/* TERN_BOOTINFO_VERSION */
	uint32_t size;		/* sizeof(struct tern_bootinfo) */

	uint64_t kernel_phys;	/* physical base of the kernel image */
	uint64_t kernel_virt;	/* == TERN_KERNEL_VBASE */
	uint64_t kernel_size;	/* bytes mapped, page multiple */
	uint64_t hhdm_base;	/* == TERN_HHDM_BASE */
	uint64_t map_limit;	/* phys below this is identity+HHDM mapped */

	uint64_t mem_map;	/* phys of struct tern_mem_range[mem_count],
				   sorted by base, non-overlapping */
	uint32_t mem_count;
	uint32_t cmdline_source; /* enum tern_cmdline_source */

	uint64_t rsdp;		/* phys of the RSDP, 0 if none */
	uint32_t rsdp_guid;	/* 2 = ACPI 2.0 table GUID, 1 = ACPI 1.0 */
	uint32_t smbios_kind;	/* 3 = SMBIOS3 (64-bit), 2 = 32-bit, 0 none */
	uint64_t smbios;	/* phys of the SMBIOS entry point */

	uint64_t tsc_loader_start; /* rdtsc at efi_main entry */
	uint64_t tsc_handoff;	/* rdtsc just before the jump */

	uint64_t boot_pml4;	/* phys of the loader's page tables */
	uint64_t boot_stack;	/* phys base of the loader-given stack */
	uint64_t boot_stack_size;

	uint32_t module_count;
	uint32_t reserved0;
	struct tern_module modules[TERN_MAX_MODULES];

	char cmdline[TERN_CMDLINE_MAX]; /* NUL terminated */

	/* Version 2. */
	uint64_t pci_fw;	/* phys of struct tern_pci_fw[pci_fw_count] */
	uint32_t pci_fw_count;	/* 0: the firmware told nothing */
	uint32_t reserved1;
};

#endif /* TERN_BOOTINFO_H */

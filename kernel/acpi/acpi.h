/*
 * acpi.h - the ACPI table parser (ACPI 6.x, chapter 5.2) and its results.
 *
 * acpi_parse() walks RSDP -> XSDT (or RSDT) -> tables through a struct
 * fw_mem accessor and fills a struct acpi_info.  It is portable (kernel
 * and host tests) and never fails as a whole: a table with a bad
 * signature, checksum, length or address is reported (log warn), counted
 * in acpi_info.nbad and skipped.  There is no AML interpreter: \_S5 and
 * the VMBus device are found by bounded byte scans of the DSDT/SSDTs.
 *
 * Kernel glue: acpi_init() parses the tables the loader found and keeps
 * the result in the one global `acpi` (read-only for everybody else).
 */
#ifndef TERN_ACPI_H
#define TERN_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/acpi/fwmem.h"

#define ACPI_MAX_TABLES		64	/* tables kept in acpi_info.tables */
#define ACPI_MAX_ROOT_ENTRIES	256	/* RSDT/XSDT entries looked at */
#define ACPI_MAX_CPUS		256
#define ACPI_MAX_IOAPICS	8
#define ACPI_MAX_ISOS		24
#define ACPI_MAX_NMIS		8
#define ACPI_MAX_MCFG		4

/* Generic Address Structure (ACPI 5.2.3.2). */
enum acpi_space { ACPI_SPACE_MEM = 0, ACPI_SPACE_IO = 1, ACPI_SPACE_PCI = 2 };
struct acpi_gas {
	uint8_t space;		/* enum acpi_space */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t addr;		/* 0: not present */
};

/* Identity of one accepted table (NUL-terminated copies of the header). */
struct acpi_table {
	char sig[5];
	char oem[7];
	char table_id[9];
	uint8_t rev;
	uint32_t len;
	uint64_t pa;
};

struct acpi_cpu {
	uint32_t apic_id;	/* xAPIC or x2APIC id */
	uint32_t uid;		/* ACPI processor id / uid */
	bool x2apic;		/* from a type 9 entry */
	bool enabled;		/* flags bit 0 */
};

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;		/* physical MMIO base */
	uint32_t gsi_base;
};

/* Interrupt source override: ISA `irq` arrives on `gsi`. */
struct acpi_iso {
	uint8_t bus;		/* 0 = ISA */
	uint8_t irq;
	uint32_t gsi;
	uint16_t flags;		/* MPS INTI flags: polarity 1:0, trigger 3:2 */
};

/* Local APIC NMI (type 4 / 0xA). uid 0xffffffff means all processors. */
struct acpi_nmi {
	uint32_t uid;
	uint8_t lint;		/* LINT0 or LINT1 */
	uint16_t flags;
};

struct acpi_mcfg {
	uint64_t base;		/* ECAM base for bus 0 of this segment */
	uint16_t segment;
	uint8_t bus_start, bus_end;
};

struct acpi_info {
	bool valid;		/* an RSDP with a usable root table was found */
	uint8_t rsdp_rev;	/* 0: ACPI 1.0 (RSDT only), 2+: XSDT */
	char rsdp_oem[7];
	bool root_is_xsdt;	/* false: RSDT used (rev 0 or XSDT bad) */
	struct acpi_table root;	/* the RSDT or XSDT used */

	uint32_t ntables;	/* accepted tables, root not included */
	struct acpi_table tables[ACPI_MAX_TABLES];
	uint32_t nbad;		/* tables rejected (checksum, length, ...) */
	uint32_t nskipped;	/* duplicates and entries beyond the limits */

	/* Identity of the tables the platform classifier looks at. */
	struct acpi_table fadt, dsdt;

	/* MADT ("APIC"). */
	bool madt_present;
	uint64_t lapic_addr;	/* with the type 5 override applied */
	bool pcat_compat;	/* dual 8259 present: mask it */
	uint32_t ncpus;		/* entries kept (enabled or online capable) */
	uint32_t ncpus_seen;	/* all processor entries, incl. overflow */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	uint32_t nioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	uint32_t nisos;
	struct acpi_iso isos[ACPI_MAX_ISOS];
	uint32_t nnmis;
	struct acpi_nmi nmis[ACPI_MAX_NMIS];

	/* FADT ("FACP"). */
	bool fadt_present;
	uint32_t fadt_flags;
	uint16_t boot_arch;	/* IAPC_BOOT_ARCH */
	bool hw_reduced;
	uint16_t sci_irq;
	struct acpi_gas pm_timer; /* X_PM_TMR_BLK, else PM_TMR_BLK as I/O */
	bool pm_timer_32bit;	/* TMR_VAL_EXT */
	struct acpi_gas pm1a_cnt, pm1b_cnt;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	bool reset_supported;	/* RESET_REG_SUP and a usable register */
	bool s5_valid;		/* \_S5 package found in the DSDT */
	uint8_t slp_typa, slp_typb;

	/* MCFG. */
	uint32_t nmcfg;
	struct acpi_mcfg mcfg[ACPI_MAX_MCFG];

	/* HPET. */
	bool hpet_present;
	uint64_t hpet_base;	/* memory space only */
	uint32_t hpet_block_id;

	/* SPCR. */
	bool spcr_present;
	uint8_t spcr_iface;	/* interface type (0 = 16550) */
	struct acpi_gas spcr_base;
	uint32_t spcr_baud;	/* 0 = as configured */
	uint8_t spcr_irq;
	uint32_t spcr_gsi;

	/* VMBus device in the DSDT or an SSDT (_HID/_CID "VMBUS"/"VMBus"). */
	bool vmbus_present;
};

/*
 * Parse the tables reachable from the RSDP at physical `rsdp_pa` into
 * `out` (fully overwritten).  Returns TERN_OK when a root table was used
 * (out->valid), TERN_ENOENT when rsdp_pa is 0, TERN_EINVAL when the RSDP
 * or every root table is unusable.  Individual bad tables are not
 * errors.  Does not allocate; logs through kernel/log.h.
 */
int acpi_parse(const struct fw_mem *mem, uint64_t rsdp_pa,
    struct acpi_info *out);

/* Find an accepted table by signature ("SRAT"); NULL when absent. */
const struct acpi_table *acpi_find(const struct acpi_info *ai,
    const char sig[4]);

/*
 * Scan an AML byte stream (a DSDT/SSDT body) without interpreting it.
 * acpi_aml_find_s5 looks for Name(\_S5, Package(){a, b, ...}) and stores
 * SLP_TYPa/b; acpi_aml_has_vmbus looks for Name(_HID|_CID, "VMBUS"|"VMBus").
 * Both are bounded by len and tolerate any bytes.
 */
bool acpi_aml_find_s5(const uint8_t *aml, uint32_t len, uint8_t *typa,
    uint8_t *typb);
bool acpi_aml_has_vmbus(const uint8_t *aml, uint32_t len);

#if defined(TERN_KERNEL)
struct tern_bootinfo;
/* The kernel's parsed tables; valid after acpi_init(). */
extern struct acpi_info acpi;
/* Parse the ACPI tables from bi->rsdp (needs the direct map: after
   vm_init).  Never fails; logs a warning when there is no ACPI. */
void acpi_init(const struct tern_bootinfo *bi);
/* Read-only accessor for firmware memory below bi->map_limit. */
extern const struct fw_mem acpi_kernel_mem;
/* Enter S5 through PM1a/PM1b control with \_S5's SLP_TYP (disables
   interrupts).  Returns only if that did not power the machine off. */
void acpi_poweroff(void);
/* Write the FADT reset value to the reset register.  Returns only if
   there is none or the machine did not reset. */
void acpi_reset(void);
/* The ACPI PM timer (3.579545 MHz): 24 or 32 bits (acpi.pm_timer_32bit);
   0 when there is none. */
#define ACPI_PM_TIMER_HZ	3579545u
uint32_t acpi_pm_timer_read(void);
#endif

#endif /* TERN_ACPI_H */

/*
 * acpi_reg.h - byte offsets of the ACPI structures tern reads
 * (ACPI 6.5 section 5.2).  Tables are read with fw_le*() at these
 * offsets instead of packed structs: no alignment is assumed and every
 * read is checked against the table length first.
 */
#ifndef TERN_ACPI_REG_H
#define TERN_ACPI_REG_H

/* RSDP (5.2.5.3). */
#define RSDP_SIG		0	/* "RSD PTR " */
#define RSDP_CHECKSUM		8	/* over the first 20 bytes */
#define RSDP_OEMID		9	/* 6 bytes */
#define RSDP_REVISION		15
#define RSDP_RSDT		16	/* u32 */
#define RSDP_LENGTH		20	/* u32, rev >= 2 */
#define RSDP_XSDT		24	/* u64, rev >= 2 */
#define RSDP_EXT_CHECKSUM	32	/* over `length` bytes */
#define RSDP_V1_SIZE		20
#define RSDP_V2_SIZE		36

/* System description table header (5.2.6). */
#define SDT_SIG			0
#define SDT_LENGTH		4	/* u32, whole table */
#define SDT_REVISION		8
#define SDT_CHECKSUM		9
#define SDT_OEMID		10	/* 6 bytes */
#define SDT_OEM_TABLE_ID	16	/* 8 bytes */
#define SDT_OEM_REVISION	24
#define SDT_CREATOR_ID		28
#define SDT_CREATOR_REV		32
#define SDT_HDR_SIZE		36

/* MADT (5.2.12). */
#define MADT_LAPIC_ADDR		36	/* u32 */
#define MADT_FLAGS		40	/* bit 0 PCAT_COMPAT */
#define MADT_ENTRIES		44
#define MADT_LAPIC		0	/* len 8: uid@2 id@3 flags@4 */
#define MADT_IOAPIC		1	/* len 12: id@2 addr@4 gsi@8 */
#define MADT_ISO		2	/* len 10: bus@2 src@3 gsi@4 flags@8 */
#define MADT_NMI_SRC		3	/* len 8: flags@2 gsi@4 */
#define MADT_LAPIC_NMI		4	/* len 6: uid@2 flags@3 lint@5 */
#define MADT_LAPIC_OVR		5	/* len 12: addr@4 (u64) */
#define MADT_X2APIC		9	/* len 16: id@4 flags@8 uid@12 */
#define MADT_X2APIC_NMI		10	/* len 12: flags@2 uid@4 lint@8 */
#define MADT_CPU_ENABLED	(1u << 0)
#define MADT_CPU_ONLINE_CAP	(1u << 1)

/* FADT (5.2.9). */
#define FADT_DSDT		40	/* u32 */
#define FADT_SCI_INT		46	/* u16 */
#define FADT_PM1A_CNT_BLK	64	/* u32 port */
#define FADT_PM1B_CNT_BLK	68
#define FADT_PM_TMR_BLK		76	/* u32 port */
#define FADT_PM1_CNT_LEN	89
#define FADT_PM_TMR_LEN		91
#define FADT_IAPC_BOOT_ARCH	109	/* u16 */
#define FADT_FLAGS		112	/* u32 */
#define FADT_RESET_REG		116	/* GAS */
#define FADT_RESET_VALUE	128
#define FADT_X_DSDT		140	/* u64 */
#define FADT_X_PM1A_CNT_BLK	172	/* GAS */
#define FADT_X_PM1B_CNT_BLK	184	/* GAS */
#define FADT_X_PM_TMR_BLK	208	/* GAS */
#define FADT_V1_SIZE		116	/* ACPI 1.0 FADT ends before RESET_REG */
#define FADT_F_TMR_VAL_EXT	(1u << 8)
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_F_HW_REDUCED	(1u << 20)

/* Generic Address Structure (5.2.3.2), 12 bytes. */
#define GAS_SPACE		0
#define GAS_BIT_WIDTH		1
#define GAS_BIT_OFFSET		2
#define GAS_ACCESS_SIZE		3
#define GAS_ADDR		4
#define GAS_SIZE		12

/* MCFG (PCI Firmware Spec 3.0, 4.1.2): 8 reserved bytes, 16-byte entries. */
#define MCFG_ENTRIES		44
#define MCFG_ENTRY_SIZE		16	/* base@0 (u64) seg@8 start@10 end@11 */

/* HPET (IA-PC HPET spec 3.2.4). */
#define HPET_BLOCK_ID		36	/* u32 */
#define HPET_BASE		40	/* GAS */
#define HPET_SIZE		56

/* SPCR (Microsoft SPCR spec). */
#define SPCR_IFACE		36
#define SPCR_BASE		40	/* GAS */
#define SPCR_IRQ		53
#define SPCR_GSI		54	/* u32 */
#define SPCR_BAUD		58	/* 3 9600, 4 19200, 6 57600, 7 115200 */
#define SPCR_MIN_SIZE		80

/* AML opcodes used by the byte scans (ACPI 6.5 20.2). */
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE_PREFIX		0x0A
#define AML_WORD_PREFIX		0x0B
#define AML_STRING_PREFIX	0x0D
#define AML_PACKAGE		0x12
#define AML_ONES		0xFF

#endif /* TERN_ACPI_REG_H */

/*
 * pcifw.h - the firmware's PCI BAR assignments for the kernel (pure C:
 * the loader feeds it what EFI_PCI_IO_PROTOCOL.GetBarAttributes returned;
 * host tests feed it anything).
 */
#ifndef TERN_BOOT_PCIFW_H
#define TERN_BOOT_PCIFW_H

#include <stddef.h>
#include <stdint.h>
#include "boot/bootinfo.h"

/* ACPI 6.4 6.4.3.5.1 QWORD Address Space Descriptor, and the end tag. */
#define ACPI_DESC_QWORD		0x8a
#define ACPI_DESC_QWORD_LEN	0x2b	/* bytes after the 3-byte header */
#define ACPI_DESC_END		0x79
#define ACPI_RES_MEM		0
#define ACPI_RES_IO		1

/*
 * Turn the Resources list of one BAR into *out.  `res` holds at most
 * `max` readable bytes.  An end tag alone is an unimplemented BAR
 * (TERN_PCI_FW_NONE); one memory or I/O QWORD descriptor followed by the
 * end tag is that BAR.  Returns 0, or -1 for anything else (another
 * descriptor kind, a bad length, a bus range, no end tag, a zero size):
 * the caller then records nothing for the function.
 */
int pcifw_bar(const uint8_t *res, size_t max, struct tern_pci_fw_bar *out);

#endif

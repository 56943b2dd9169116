/*
 * pcifw.c - GetBarAttributes' descriptors to struct tern_pci_fw_bar
 * (see pcifw.h).
 */
#include "boot/pcifw.h"

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int
pcifw_bar(const uint8_t *res, size_t max, struct tern_pci_fw_bar *out)
{
	const size_t qlen = 3 + ACPI_DESC_QWORD_LEN;

	for (size_t i = 0; i < sizeof(*out); i++)
		((uint8_t *)out)[i] = 0;
	if (res == NULL || max < 2)
		return -1;
	if (res[0] == ACPI_DESC_END) {
		out->type = TERN_PCI_FW_NONE;
		return 0;
	}
	if (res[0] != ACPI_DESC_QWORD || max < qlen + 2 ||
	    (res[1] | res[2] << 8) != ACPI_DESC_QWORD_LEN ||
	    res[qlen] != ACPI_DESC_END)
		return -1;

	uint8_t kind = res[3], flags = res[5];
	uint64_t gran = le64(res + 6), min = le64(res + 14), len = le64(res + 38);

	if (len == 0)
		return -1;
	if (kind == ACPI_RES_IO) {
		out->type = TERN_PCI_FW_IO;
	} else if (kind == ACPI_RES_MEM && (gran == 32 || gran == 64)) {
		out->type = gran == 64 ? TERN_PCI_FW_MEM64 : TERN_PCI_FW_MEM32;
		/* Type-specific flags bits 2:1 = 3: cacheable, prefetchable. */
		out->prefetch = ((flags >> 1) & 3) == 3;
	} else {
		return -1;
	}
	out->base = min;
	out->size = len;
	return 0;
}

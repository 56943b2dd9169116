/*
 * test_pcifw.c - the loader's reading of EFI_PCI_IO_PROTOCOL
 * GetBarAttributes answers (ACPI QWORD address space descriptors and the
 * end tag) into bootinfo's tern_pci_fw_bar: memory (32/64-bit,
 * prefetchable or not), I/O, unimplemented BARs, and every malformed
 * answer refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "boot/pcifw.h"

#define QLEN	(3 + ACPI_DESC_QWORD_LEN)	/* 46 */

static uint8_t buf[QLEN + 2];

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* What OVMF's PciBusDxe hands back for one BAR. */
static void
qword(uint8_t kind, uint8_t flags, uint64_t gran, uint64_t base, uint64_t len)
{
	memset(buf, 0, sizeof(buf));
	buf[0] = ACPI_DESC_QWORD;
	buf[1] = ACPI_DESC_QWORD_LEN;
	buf[2] = 0;
	buf[3] = kind;
	buf[5] = flags;
	put64(buf + 6, gran);
	put64(buf + 14, base);
	put64(buf + 22, base + len - 1);
	put64(buf + 38, len);
	buf[QLEN] = ACPI_DESC_END;
	buf[QLEN + 1] = 0;
}

static void
test_end_tag_is_unimplemented(void **state)
{
	struct tern_pci_fw_bar b;
	uint8_t end[2] = { ACPI_DESC_END, 0 };

	(void)state;
	memset(&b, 0xee, sizeof(b));
	assert_int_equal(pcifw_bar(end, sizeof(end), &b), 0);
	assert_int_equal(b.type, TERN_PCI_FW_NONE);
	assert_int_equal(b.base, 0);
	assert_int_equal(b.size, 0);
}

static void
test_memory_and_io(void **state)
{
	struct tern_pci_fw_bar b;

	(void)state;
	qword(ACPI_RES_MEM, 0, 32, 0xc0001000, 0x1000);
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), 0);
	assert_int_equal(b.type, TERN_PCI_FW_MEM32);
	assert_int_equal(b.prefetch, 0);
	assert_int_equal(b.base, 0xc0001000);
	assert_int_equal(b.size, 0x1000);

	/* Cacheable + prefetchable (type-specific flags 2:1 = 3). */
	qword(ACPI_RES_MEM, 0x06, 64, 0x800000000ull, 0x4000);
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), 0);
	assert_int_equal(b.type, TERN_PCI_FW_MEM64);
	assert_int_equal(b.prefetch, 1);
	assert_int_equal(b.base, 0x800000000ull);
	assert_int_equal(b.size, 0x4000);

	/* Cacheable only (2:1 = 1) is not prefetchable. */
	qword(ACPI_RES_MEM, 0x02, 32, 0xc0002000, 0x1000);
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), 0);
	assert_int_equal(b.prefetch, 0);

	qword(ACPI_RES_IO, 0, 0, 0xc040, 0x20);
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), 0);
	assert_int_equal(b.type, TERN_PCI_FW_IO);
	assert_int_equal(b.prefetch, 0);
	assert_int_equal(b.base, 0xc040);
	assert_int_equal(b.size, 0x20);
}

static void
test_malformed_refused(void **state)
{
	struct tern_pci_fw_bar b;

	(void)state;
	/* A bus-number range is no BAR. */
	qword(2, 0, 0, 0, 1);
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), -1);
	/* Memory of another granularity. */
	qword(ACPI_RES_MEM, 0, 16, 0xc0000000, 0x1000);
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), -1);
	/* Zero length. */
	qword(ACPI_RES_MEM, 0, 32, 0xc0000000, 0x1000);
	put64(buf + 38, 0);
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), -1);
	/* Wrong descriptor length. */
	qword(ACPI_RES_MEM, 0, 32, 0xc0000000, 0x1000);
	buf[1] = 0x2a;
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), -1);
	qword(ACPI_RES_MEM, 0, 32, 0xc0000000, 0x1000);
	buf[2] = 1;
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), -1);
	/* Another descriptor (a second QWORD) where the end tag belongs. */
	qword(ACPI_RES_MEM, 0, 32, 0xc0000000, 0x1000);
	buf[QLEN] = ACPI_DESC_QWORD;
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), -1);
	/* Some other small or large descriptor first. */
	qword(ACPI_RES_MEM, 0, 32, 0xc0000000, 0x1000);
	buf[0] = 0x87;		/* DWORD address space */
	assert_int_equal(pcifw_bar(buf, sizeof(buf), &b), -1);
	/* Fewer readable bytes than the descriptor needs. */
	qword(ACPI_RES_MEM, 0, 32, 0xc0000000, 0x1000);
	assert_int_equal(pcifw_bar(buf, sizeof(buf) - 1, &b), -1);
	assert_int_equal(pcifw_bar(buf, 1, &b), -1);
	assert_int_equal(pcifw_bar(NULL, sizeof(buf), &b), -1);
	/* A refused answer leaves nothing usable behind. */
	assert_int_equal(b.type, TERN_PCI_FW_NONE);
	assert_int_equal(b.size, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end_tag_is_unimplemented),
		cmocka_unit_test(test_memory_and_io),
		cmocka_unit_test(test_malformed_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

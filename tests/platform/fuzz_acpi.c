/*
 * fuzz_acpi.c - libFuzzer target for the ACPI parser.  The first input
 * byte picks a fixture set (Nitro, Azure Gen2/Gen1, q35), the rest are
 * (offset, value) patches applied to its table bytes; bit 7 of the first
 * byte re-checksums every table so the mutations reach the table
 * parsers.  The raw input also goes through the two AML byte scans.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernel/acpi/acpi.h"
#include "kernel/acpi/acpi_reg.h"
#include "tests/platform/fake_fw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static struct acpi_info ai;
	uint64_t (*sets[])(struct fake_mem *) = { fixture_nitro,
	    fixture_azure_gen2, fixture_azure_gen1, fixture_qemu_q35 };
	struct fake_mem m;
	uint64_t rsdp;
	size_t used;
	uint8_t a, b;

	(void)acpi_aml_find_s5(data, (uint32_t)n, &a, &b);
	(void)acpi_aml_has_vmbus(data, (uint32_t)n);
	if (n < 1)
		return 0;
	fake_init(&m);
	rsdp = sets[data[0] & 3](&m);
	used = (size_t)(m.next - FAKE_BASE);
	for (size_t i = 1; i + 2 < n; i += 3) {
		size_t off = ((size_t)data[i] << 8 | data[i + 1]) % used;
		m.mem[off] = data[i + 2];
	}
	if (data[0] & 0x80) {
		for (size_t off = 0x100; off + SDT_HDR_SIZE <= used; off += 16) {
			uint32_t len = fw_le32(m.mem + off + SDT_LENGTH);
			if (len >= SDT_HDR_SIZE && off + len <= FAKE_SIZE &&
			    m.mem[off] >= 'A' && m.mem[off] <= 'Z')
				fake_sdt_fix(&m, FAKE_BASE + off);
		}
	}
	(void)acpi_parse(&m.fw, rsdp, &ai);
	if (ai.ncpus > ACPI_MAX_CPUS || ai.ntables > ACPI_MAX_TABLES)
		abort();
	fake_free(&m);
	return 0;
}

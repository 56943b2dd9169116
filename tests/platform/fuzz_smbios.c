/*
 * fuzz_smbios.c - libFuzzer target for the SMBIOS reader: the input is
 * the structure table behind a valid 3.x (even first byte) or 2.x entry
 * point.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/smbios/smbios.h"
#include "tests/platform/fake_fw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static struct smb_builder b;
	struct smbios_info si;
	struct fake_mem m;
	uint64_t ep;

	if (n < 1 || n > sizeof(b.buf))
		return 0;
	memset(&b, 0, sizeof(b));
	memcpy(b.buf, data, n);
	b.len = n;
	b.count = (uint16_t)(data[0] * 3);
	fake_init(&m);
	ep = (data[0] & 1) ? fake_smbios32(&m, &b, 2, 8) :
	    fake_smbios64(&m, &b, 3, 0, (uint32_t)n);
	(void)smbios_parse(&m.fw, ep, 0, &si);
	if (strlen(si.sys_vendor) >= SMBIOS_STR_MAX)
		abort();
	fake_free(&m);
	return 0;
}

/*
 * test_realfw.c - the parsers and the classifier over firmware tables
 * recorded from QEMU 7.2 + OVMF (tests/platform/fixtures/README.md): plain
 * q35, q35 dressed as EC2 Nitro and as Azure (with a corrupt extra
 * table).  Also flips random bytes of the real tables: never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/acpi/acpi.h"
#include "kernel/platform/platform.h"
#include "kernel/smbios/smbios.h"
#include "tests/platform/fake_fw.h"

#define FIXDIR "tests/platform/fixtures/"
#define MAX_REGIONS 32

struct region {
	uint64_t pa;
	uint32_t len;
	uint8_t *data;
};

struct regions {
	int n;
	struct region r[MAX_REGIONS];
	struct fw_mem fw;
};

static const void *
regions_map(void *ctx, uint64_t pa, size_t len)
{
	struct regions *rs = ctx;

	for (int i = 0; i < rs->n; i++) {
		struct region *r = &rs->r[i];
		if (pa >= r->pa && pa + len >= pa && pa + len <= r->pa + r->len)
			return r->data + (pa - r->pa);
	}
	return NULL;
}

static void
load(struct regions *rs, const char *name)
{
	char path[256], magic[4];
	FILE *f;

	memset(rs, 0, sizeof(*rs));
	rs->fw.map = regions_map;
	rs->fw.ctx = rs;
	snprintf(path, sizeof(path), FIXDIR "%s", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (run from the repository root)", path);
	assert_int_equal(fread(magic, 1, 4, f), 4);
	assert_memory_equal(magic, "TFW1", 4);
	while (rs->n < MAX_REGIONS) {
		struct region *r = &rs->r[rs->n];
		if (fread(&r->pa, 8, 1, f) != 1)
			break;
		assert_int_equal(fread(&r->len, 4, 1, f), 1);
		r->data = malloc(r->len);
		assert_int_equal(fread(r->data, 1, r->len, f), r->len);
		rs->n++;
	}
	fclose(f);
	assert_true(rs->n >= 4);
}

static void
unload(struct regions *rs)
{
	for (int i = 0; i < rs->n; i++)
		free(rs->r[i].data);
}

static uint64_t
smbios_ep(const struct regions *rs)
{
	for (int i = 0; i < rs->n; i++)
		if (memcmp(rs->r[i].data, "_SM", 3) == 0)
			return rs->r[i].pa;
	return 0;
}

/* Parse one fixture and return its platform line under TCG. */
static void
classify(const char *name, struct acpi_info *ai, struct smbios_info *si,
    char *line, size_t n)
{
	struct regions rs;
	struct platform_evidence ev;
	struct platform_result r;

	load(&rs, name);
	assert_int_equal(acpi_parse(&rs.fw, rs.r[0].pa, ai), 0);
	assert_int_equal(smbios_parse(&rs.fw, smbios_ep(&rs), 0, si), 0);
	memset(&ev, 0, sizeof(ev));
	ev.cpuid_hv_bit = true;
	ev.nsigs = 1;
	ev.sigs[0].leaf = 0x40000000;
	strcpy(ev.sigs[0].sig, "TCGTCGTCGTCG");
	platform_collect_fw(&ev, ai, si);
	platform_classify(&ev, &r);
	platform_format(line, n, &ev, &r);
	unload(&rs);
}

static void
test_qemu_q35(void **state)
{
	struct acpi_info *ai = malloc(sizeof(*ai));
	struct smbios_info si;
	char line[256];

	kstub_reset();
	classify("ovmf-q35-qemu.bin", ai, &si, line, sizeof(line));
	assert_string_equal(line, "PLATFORM name=qemu cpuid=TCGTCGTCGTCG "
	    "acpi_oem=BOCHS smbios_vendor=\"QEMU\" "
	    "smbios_product=\"Standard PC (Q35 + ICH9, 2009)\"");
	assert_int_equal(kstub_warnings, 0);
	assert_true(ai->root_is_xsdt);
	assert_int_equal(ai->rsdp_rev, 2);
	assert_int_equal(ai->nbad, 0);
	assert_non_null(acpi_find(ai, "FACP"));
	assert_non_null(acpi_find(ai, "WAET"));
	assert_int_equal(ai->ncpus, 1);
	assert_int_equal(ai->nioapics, 1);
	assert_int_equal(ai->ioapics[0].addr, 0xfec00000u);
	assert_int_equal(ai->nisos, 5);
	assert_int_equal(ai->isos[0].irq, 0);
	assert_int_equal(ai->isos[0].gsi, 2);
	assert_int_equal(ai->nmcfg, 1);
	assert_int_equal(ai->mcfg[0].base, 0xb0000000ull);
	assert_true(ai->hpet_present);
	assert_int_equal(ai->hpet_base, 0xfed00000ull);
	assert_int_equal(ai->pm_timer.space, ACPI_SPACE_IO);
	assert_int_equal(ai->pm_timer.addr, 0x608);
	assert_int_equal(ai->pm1a_cnt.addr, 0x604);
	assert_true(ai->s5_valid);
	assert_int_equal(ai->slp_typa, 0);
	assert_true(ai->reset_supported);
	assert_int_equal(ai->reset_reg.addr, 0xcf9);
	assert_int_equal(ai->reset_value, 0x0f);
	assert_false(ai->vmbus_present);
	assert_string_equal(si.bios_vendor, "EFI Development Kit II / OVMF");
	assert_int_equal(si.nbad, 0);
	free(ai);
}

static void
test_nitro_dressing(void **state)
{
	struct acpi_info *ai = malloc(sizeof(*ai));
	struct smbios_info si;
	char line[256];

	classify("ovmf-q35-nitro.bin", ai, &si, line, sizeof(line));
	assert_string_equal(line, "PLATFORM name=nitro cpuid=TCGTCGTCGTCG "
	    "acpi_oem=AMAZON smbios_vendor=\"Amazon EC2\" "
	    "smbios_product=\"m5.large\" note=firmware_amazon_cpuid_tcg");
	assert_string_equal(ai->fadt.table_id, "AMZNFACP");
	free(ai);
}

static void
test_azure_dressing(void **state)
{
	struct acpi_info *ai = malloc(sizeof(*ai));
	struct smbios_info si;
	char line[256];

	kstub_reset();
	classify("ovmf-q35-azure.bin", ai, &si, line, sizeof(line));
	assert_string_equal(line, "PLATFORM name=azure cpuid=TCGTCGTCGTCG "
	    "acpi_oem=VRTUAL smbios_vendor=\"Microsoft Corporation\" "
	    "smbios_product=\"Virtual Machine\" note=firmware_azure_cpuid_tcg");
	assert_string_equal(si.chassis_asset_tag, "7783-7084-3265-9085-8269-3286-77");
	/* The corrupt SPCR: listed, reported, not used. */
	assert_non_null(acpi_find(ai, "SPCR"));
	assert_false(ai->spcr_present);
	assert_int_equal(ai->nbad, 1);
	assert_int_equal(kstub_warnings, 1);
	/* Everything else still parsed. */
	assert_int_equal(ai->nmcfg, 1);
	assert_true(ai->s5_valid);
	free(ai);
}

static uint32_t rng = 4242;
static uint32_t
rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static void
test_flipped_bytes(void **state)
{
	struct acpi_info *ai = malloc(sizeof(*ai));
	struct smbios_info si;
	struct regions rs;
	static const char *const names[] = { "ovmf-q35-qemu.bin",
	    "ovmf-q35-nitro.bin", "ovmf-q35-azure.bin" };

	for (int iter = 0; iter < 600; iter++) {
		load(&rs, names[iter % 3]);
		for (int k = 0; k < 1 + (int)(rnd() % 4); k++) {
			struct region *r = &rs.r[rnd() % (uint32_t)rs.n];
			r->data[rnd() % r->len] ^= (uint8_t)(1u << (rnd() % 8));
		}
		(void)acpi_parse(&rs.fw, rs.r[0].pa, ai);
		(void)smbios_parse(&rs.fw, smbios_ep(&rs), 0, &si);
		assert_true(ai->ntables <= ACPI_MAX_TABLES);
		unload(&rs);
	}
	free(ai);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_q35),
		cmocka_unit_test(test_nitro_dressing),
		cmocka_unit_test(test_azure_dressing),
		cmocka_unit_test(test_flipped_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

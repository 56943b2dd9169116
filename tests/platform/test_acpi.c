/*
 * test_acpi.c - ACPI parser over fake physical memory: table sets shaped
 * like EC2 Nitro, Azure Gen2, Azure Gen1 and QEMU q35 (PROTOCOLS.md D.3),
 * and malformed sets (checksums, lengths, pointers outside memory,
 * zero-length tables, loops, duplicates, bad MADT entries), plus the AML
 * byte scans and a mutation loop that must never read out of bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/acpi/acpi.h"
#include "kernel/acpi/acpi_reg.h"
#include "kernel/err.h"
#include "tests/platform/fake_fw.h"

struct ctx {
	struct fake_mem m;
	struct acpi_info ai;
};

static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	fake_init(&c->m);
	kstub_reset();
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;
	fake_free(&c->m);
	free(c);
	return 0;
}

static void
test_nitro(void **state)
{
	struct ctx *c = *state;
	struct acpi_info *ai = &c->ai;
	uint64_t rsdp = fixture_nitro(&c->m);

	assert_int_equal(acpi_parse(&c->m.fw, rsdp, ai), TERN_OK);
	assert_true(ai->valid);
	assert_int_equal(ai->rsdp_rev, 0);
	assert_string_equal(ai->rsdp_oem, "AMAZON");
	assert_false(ai->root_is_xsdt);
	assert_string_equal(ai->root.sig, "RSDT");
	assert_string_equal(ai->root.table_id, "AMZNRSDT");
	assert_int_equal(ai->ntables, 7);
	assert_int_equal(ai->nbad, 0);
	assert_int_equal(kstub_warnings, 0);
	assert_non_null(acpi_find(ai, "SRAT"));
	assert_non_null(acpi_find(ai, "SLIT"));
	assert_non_null(acpi_find(ai, "WAET"));
	assert_string_equal(acpi_find(ai, "SRAT")->table_id, "AMZNSRAT");
	assert_null(acpi_find(ai, "MCFG"));
	assert_int_equal(ai->nmcfg, 0);

	assert_string_equal(ai->fadt.oem, "AMAZON");
	assert_string_equal(ai->fadt.table_id, "AMZNFACP");
	assert_string_equal(ai->dsdt.table_id, "AMZNDSDT");
	assert_int_equal(ai->pm_timer.space, ACPI_SPACE_IO);
	assert_int_equal(ai->pm_timer.addr, 0xb008);
	assert_true(ai->pm_timer_32bit);
	assert_int_equal(ai->pm1a_cnt.addr, 0xb004);
	assert_true(ai->reset_supported);
	assert_int_equal(ai->reset_reg.space, ACPI_SPACE_IO);
	assert_int_equal(ai->reset_reg.addr, 0xcf9);
	assert_int_equal(ai->reset_value, 6);
	assert_true(ai->s5_valid);
	assert_int_equal(ai->slp_typa, 5);
	assert_int_equal(ai->slp_typb, 5);
	assert_false(ai->vmbus_present);

	assert_true(ai->madt_present);
	assert_int_equal(ai->lapic_addr, 0xfee00000u);
	assert_true(ai->pcat_compat);
	assert_int_equal(ai->ncpus, 2);
	assert_int_equal(ai->cpus[1].apic_id, 1);
	assert_int_equal(ai->nioapics, 1);
	assert_int_equal(ai->ioapics[0].addr, 0xfec00000u);
	assert_int_equal(ai->ioapics[0].gsi_base, 0);
	assert_int_equal(ai->nisos, 2);
	assert_int_equal(ai->isos[0].irq, 0);
	assert_int_equal(ai->isos[0].gsi, 2);
	assert_int_equal(ai->isos[1].irq, 9);
	assert_int_equal(ai->isos[1].flags, 0x0d);
	assert_int_equal(ai->nnmis, 1);
	assert_int_equal(ai->nmis[0].uid, 0xffffffffu);
	assert_int_equal(ai->nmis[0].lint, 1);

	assert_true(ai->hpet_present);
	assert_int_equal(ai->hpet_base, 0xfed00000ull);
}

static void
test_azure_gen2(void **state)
{
	struct ctx *c = *state;
	struct acpi_info *ai = &c->ai;
	uint64_t rsdp = fixture_azure_gen2(&c->m);

	assert_int_equal(acpi_parse(&c->m.fw, rsdp, ai), TERN_OK);
	assert_int_equal(ai->rsdp_rev, 2);
	assert_string_equal(ai->rsdp_oem, "VRTUAL");
	assert_true(ai->root_is_xsdt);
	assert_string_equal(ai->root.oem, "VRTUAL");
	assert_string_equal(ai->root.table_id, "MICROSFT");
	assert_string_equal(ai->dsdt.oem, "MSFTVM");
	assert_string_equal(ai->dsdt.table_id, "DSDT01");
	assert_string_equal(ai->fadt.table_id, "MICROSFT");
	assert_non_null(acpi_find(ai, "OEM0"));
	assert_null(acpi_find(ai, "MCFG"));
	assert_null(acpi_find(ai, "HPET"));
	assert_false(ai->hpet_present);
	assert_int_equal(ai->nmcfg, 0);
	assert_true(ai->vmbus_present);
	assert_true(ai->s5_valid);
	assert_int_equal(ai->slp_typa, 0);
	assert_false(ai->reset_supported);
	assert_int_equal(ai->pm_timer.addr, 0x408);
	assert_int_equal(ai->ncpus, 4);
	assert_int_equal(ai->nbad, 0);
}

static void
test_azure_gen1(void **state)
{
	struct ctx *c = *state;
	struct acpi_info *ai = &c->ai;
	uint64_t rsdp = fixture_azure_gen1(&c->m);

	assert_int_equal(acpi_parse(&c->m.fw, rsdp, ai), TERN_OK);
	assert_int_equal(ai->rsdp_rev, 0);
	assert_string_equal(ai->rsdp_oem, "ACPIAM");
	assert_false(ai->root_is_xsdt);
	assert_string_equal(ai->root.oem, "VRTUAL");
	assert_string_equal(ai->dsdt.table_id, "MSFTVM02");
	/* ACPI 1.0 FADT: legacy port blocks only, no reset register. */
	assert_true(ai->fadt_present);
	assert_int_equal(ai->fadt.len, 116);
	assert_int_equal(ai->pm_timer.space, ACPI_SPACE_IO);
	assert_int_equal(ai->pm_timer.addr, 0x408);
	assert_false(ai->pm_timer_32bit);
	assert_false(ai->reset_supported);
	assert_true(ai->vmbus_present);	/* _CID "VMBus" */
	assert_true(ai->s5_valid);
	assert_non_null(acpi_find(ai, "WAET"));
	assert_int_equal(ai->nbad, 0);
}

static void
test_qemu_q35(void **state)
{
	struct ctx *c = *state;
	struct acpi_info *ai = &c->ai;
	uint64_t rsdp = fixture_qemu_q35(&c->m);

	assert_int_equal(acpi_parse(&c->m.fw, rsdp, ai), TERN_OK);
	assert_true(ai->root_is_xsdt);
	assert_string_equal(ai->root.oem, "BOCHS");
	assert_string_equal(ai->root.table_id, "BXPC");
	assert_int_equal(ai->nmcfg, 1);
	assert_int_equal(ai->mcfg[0].base, 0xb0000000ull);
	assert_int_equal(ai->mcfg[0].bus_end, 0xff);
	assert_true(ai->hpet_present);
	assert_int_equal(ai->pm_timer.addr, 0x608);
	assert_true(ai->reset_supported);
	assert_int_equal(ai->reset_value, 0x0f);
	/* xAPIC and x2APIC entries for the same ids count once. */
	assert_int_equal(ai->ncpus, 2);
	assert_int_equal(ai->ncpus_seen, 4);
	assert_int_equal(ai->nbad, 0);
}

/* ---- malformed --------------------------------------------------------- */

static void
test_no_rsdp(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(acpi_parse(&c->m.fw, 0, &c->ai), TERN_ENOENT);
	assert_false(c->ai.valid);
	assert_int_equal(acpi_parse(&c->m.fw, FAKE_OUTSIDE, &c->ai), TERN_EINVAL);
	/* The RSDP straddles the end of readable memory. */
	assert_int_equal(acpi_parse(&c->m.fw, FAKE_BASE + FAKE_SIZE - 10, &c->ai),
	    TERN_EINVAL);
}

static void
test_rsdp_bad_checksum(void **state)
{
	struct ctx *c = *state;
	uint64_t rsdp = fixture_nitro(&c->m);

	fake_ptr(&c->m, rsdp)[RSDP_CHECKSUM] ^= 1;
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_EINVAL);
	assert_false(c->ai.valid);
}

static void
test_rsdp_bad_signature(void **state)
{
	struct ctx *c = *state;
	uint64_t rsdp = fixture_nitro(&c->m);
	uint8_t *r = fake_ptr(&c->m, rsdp);

	r[0] = 'X';
	r[RSDP_CHECKSUM] = (uint8_t)(r[RSDP_CHECKSUM] - ('X' - 'R'));
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_EINVAL);
}

/* q35 has both roots: break the XSDT in several ways, the RSDT must be
   used instead. */
static void
xsdt_fallback(struct ctx *c, void (*breakit)(struct ctx *, uint64_t xsdt,
    uint64_t rsdp))
{
	uint64_t rsdp = fixture_qemu_q35(&c->m);
	uint64_t xsdt = fw_le64(fake_ptr(&c->m, rsdp) + RSDP_XSDT);

	breakit(c, xsdt, rsdp);
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_false(c->ai.root_is_xsdt);
	assert_string_equal(c->ai.root.sig, "RSDT");
	assert_true(c->ai.fadt_present);
	assert_int_equal(c->ai.nmcfg, 1);
}

static void
break_xsdt_checksum(struct ctx *c, uint64_t xsdt, uint64_t rsdp)
{
	fake_ptr(&c->m, xsdt)[SDT_HDR_SIZE] ^= 0x40;
}

static void
break_xsdt_pointer(struct ctx *c, uint64_t xsdt, uint64_t rsdp)
{
	uint8_t *r = fake_ptr(&c->m, rsdp);
	uint64_t bad = FAKE_OUTSIDE;

	for (int i = 0; i < 8; i++)
		r[RSDP_XSDT + i] = (uint8_t)(bad >> (8 * i));
	r[RSDP_EXT_CHECKSUM] = 0;
	r[RSDP_EXT_CHECKSUM] = (uint8_t)(0x100 - fw_sum8(r, RSDP_V2_SIZE));
}

static void
break_rsdp_ext_checksum(struct ctx *c, uint64_t xsdt, uint64_t rsdp)
{
	fake_ptr(&c->m, rsdp)[RSDP_EXT_CHECKSUM] ^= 0xff;
}

static void
break_rsdp_ext_length(struct ctx *c, uint64_t xsdt, uint64_t rsdp)
{
	uint8_t *r = fake_ptr(&c->m, rsdp);
	r[RSDP_LENGTH + 2] = 0x10;	/* 1 MiB: refused */
}

static void
break_xsdt_signature(struct ctx *c, uint64_t xsdt, uint64_t rsdp)
{
	memcpy(fake_ptr(&c->m, xsdt), "XSDX", 4);
	fake_sdt_fix(&c->m, xsdt);
}

static void test_xsdt_bad_checksum(void **s) { xsdt_fallback(*s, break_xsdt_checksum); }
static void test_xsdt_outside(void **s) { xsdt_fallback(*s, break_xsdt_pointer); }
static void test_rsdp_ext_checksum(void **s) { xsdt_fallback(*s, break_rsdp_ext_checksum); }
static void test_rsdp_ext_length(void **s) { xsdt_fallback(*s, break_rsdp_ext_length); }
static void test_xsdt_bad_sig(void **s) { xsdt_fallback(*s, break_xsdt_signature); }

static void
test_both_roots_bad(void **state)
{
	struct ctx *c = *state;
	uint64_t rsdp = fixture_qemu_q35(&c->m);
	uint8_t *r = fake_ptr(&c->m, rsdp);

	fake_ptr(&c->m, fw_le64(r + RSDP_XSDT))[40] ^= 1;
	fake_ptr(&c->m, fw_le32(r + RSDP_RSDT))[40] ^= 1;
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_EINVAL);
	assert_false(c->ai.valid);
	assert_int_equal(c->ai.nbad, 2);
}

static void
test_table_bad_checksum(void **state)
{
	struct ctx *c = *state;
	struct nitro_addrs a;
	uint64_t rsdp = fixture_nitro_addrs(&c->m, &a);

	fake_ptr(&c->m, a.apic)[50] ^= 0x55;
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_false(c->ai.madt_present);
	assert_int_equal(c->ai.ncpus, 0);
	assert_int_equal(c->ai.nbad, 1);
	assert_int_equal(kstub_warnings, 1);
	/* The rest is intact. */
	assert_true(c->ai.fadt_present);
	assert_true(c->ai.hpet_present);
	assert_non_null(acpi_find(&c->ai, "WAET"));
	assert_null(acpi_find(&c->ai, "APIC"));
}

static void
test_table_truncated(void **state)
{
	struct ctx *c = *state;
	struct nitro_addrs a;
	uint64_t rsdp = fixture_nitro_addrs(&c->m, &a);
	uint8_t *t = fake_ptr(&c->m, a.srat);

	/* Length runs far past readable memory. */
	t[SDT_LENGTH + 2] = 0x40;
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_null(acpi_find(&c->ai, "SRAT"));
	assert_int_equal(c->ai.nbad, 1);
	assert_non_null(acpi_find(&c->ai, "SLIT"));
}

static void
test_table_zero_length(void **state)
{
	struct ctx *c = *state;
	struct nitro_addrs a;
	uint64_t rsdp = fixture_nitro_addrs(&c->m, &a);
	uint8_t *t = fake_ptr(&c->m, a.slit);

	memset(t + SDT_LENGTH, 0, 4);
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_null(acpi_find(&c->ai, "SLIT"));
	assert_int_equal(c->ai.nbad, 1);
	assert_int_equal(c->ai.ntables, 6);
}

static void
test_root_entries_outside_and_null(void **state)
{
	struct ctx *c = *state;
	uint64_t list[4], rsdt, rsdp;
	uint8_t body[8] = { 0 };

	list[0] = FAKE_OUTSIDE;
	list[1] = 0;
	list[2] = fake_sdt(&c->m, "WAET", "AMAZON", "AMZNWAET", 1, body, 4);
	list[3] = FAKE_BASE + FAKE_SIZE - 8;	/* header straddles the end */
	rsdt = fake_root(&c->m, 4, "AMAZON", "AMZNRSDT", list, 4);
	rsdp = fake_rsdp(&c->m, "AMAZON", 0, rsdt, 0);
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_int_equal(c->ai.ntables, 1);
	assert_int_equal(c->ai.nbad, 3);
	assert_false(c->ai.fadt_present);
}

static void
test_loops_and_duplicates(void **state)
{
	struct ctx *c = *state;
	uint64_t list[6], xsdt, rsdp, waet, dsdt;
	uint8_t body[8] = { 0 };

	waet = fake_sdt(&c->m, "WAET", "BOCHS", "BXPC", 1, body, 4);
	dsdt = fake_sdt(&c->m, "DSDT", "BOCHS", "BXPC", 1, body, 4);
	/* The XSDT will be allocated right after: predict its address so
	   it can list itself. */
	xsdt = (c->m.next + 15) & ~15ull;
	list[0] = waet;
	list[1] = xsdt;		/* itself */
	list[2] = waet;		/* duplicate */
	list[3] = dsdt;		/* the DSDT is reached via FACP only */
	list[4] = FAKE_BASE;	/* the RSDP: not a table */
	assert_int_equal(fake_root(&c->m, 8, "BOCHS", "BXPC", list, 5), xsdt);
	rsdp = fake_rsdp(&c->m, "BOCHS", 2, 0, xsdt);
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_int_equal(c->ai.ntables, 1);
	assert_int_equal(c->ai.nskipped, 3);
	assert_int_equal(c->ai.nbad, 1);	/* RSDP bytes fail as a table */
}

static void
test_fadt_dsdt_fallback(void **state)
{
	struct ctx *c = *state;
	struct nitro_addrs a;
	uint64_t rsdp = fixture_nitro_addrs(&c->m, &a);
	uint8_t *f = fake_ptr(&c->m, a.facp);
	uint64_t bad = FAKE_OUTSIDE;

	/* X_DSDT points outside memory: the 32-bit DSDT pointer is used. */
	for (int i = 0; i < 8; i++)
		f[FADT_X_DSDT + i] = (uint8_t)(bad >> (8 * i));
	fake_sdt_fix(&c->m, a.facp);
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_true(c->ai.s5_valid);
	assert_string_equal(c->ai.dsdt.table_id, "AMZNDSDT");
	assert_int_equal(c->ai.nbad, 1);
}

static void
test_fadt_dsdt_missing(void **state)
{
	struct ctx *c = *state;
	struct nitro_addrs a;
	uint64_t rsdp = fixture_nitro_addrs(&c->m, &a);

	fake_ptr(&c->m, a.dsdt)[40] ^= 1;	/* DSDT checksum bad */
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_true(c->ai.fadt_present);
	assert_false(c->ai.s5_valid);
	assert_int_equal(c->ai.dsdt.pa, 0);
	assert_true(c->ai.pm_timer.addr != 0);
}

static void
test_fadt_too_short(void **state)
{
	struct ctx *c = *state;
	uint64_t list[1], rsdt, rsdp;
	uint8_t body[40] = { 0 };

	list[0] = fake_sdt(&c->m, "FACP", "AMAZON", "AMZNFACP", 1, body, 40);
	rsdt = fake_root(&c->m, 4, "AMAZON", "AMZNRSDT", list, 1);
	rsdp = fake_rsdp(&c->m, "AMAZON", 0, rsdt, 0);
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_false(c->ai.fadt_present);
	assert_int_equal(c->ai.nbad, 1);
}

static uint64_t
one_table_set(struct ctx *c, const char *sig, const uint8_t *body, size_t n)
{
	uint64_t list[1], rsdt;

	list[0] = fake_sdt(&c->m, sig, "BOCHS", "BXPC", 1, body, n);
	rsdt = fake_root(&c->m, 4, "BOCHS", "BXPC", list, 1);
	return fake_rsdp(&c->m, "BOCHS", 0, rsdt, 0);
}

static void
test_madt_bad_entries(void **state)
{
	struct ctx *c = *state;
	uint8_t b[64] = { 0 };
	uint64_t rsdp;

	/* lapic addr, flags, then: good LAPIC, short IOAPIC (len 6),
	   zero-length entry (must not loop forever). */
	b[0] = 0x00; b[1] = 0x00; b[2] = 0xe0; b[3] = 0xfe;
	b[8] = MADT_LAPIC; b[9] = 8; b[10] = 0; b[11] = 0; b[12] = 1;
	b[16] = MADT_IOAPIC; b[17] = 6;
	b[22] = MADT_ISO; b[23] = 0;
	rsdp = one_table_set(c, "APIC", b, 40);
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_true(c->ai.madt_present);
	assert_int_equal(c->ai.ncpus, 1);
	assert_int_equal(c->ai.nioapics, 0);
	assert_int_equal(c->ai.nisos, 0);
	assert_int_equal(kstub_warnings, 2);
}

static void
test_madt_entry_past_end(void **state)
{
	struct ctx *c = *state;
	uint8_t b[32] = { 0 };
	uint64_t rsdp;

	b[8] = MADT_LAPIC; b[9] = 8; b[12] = 1;
	b[16] = MADT_X2APIC; b[17] = 16;	/* needs 16, only 8 left */
	rsdp = one_table_set(c, "APIC", b, 24);
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_int_equal(c->ai.ncpus, 1);
	assert_int_equal(kstub_warnings, 1);
}

static void
test_madt_disabled_cpus_and_overflow(void **state)
{
	struct ctx *c = *state;
	static uint8_t b[8 + 300 * 8];
	uint64_t rsdp;

	memset(b, 0, sizeof(b));
	for (int i = 0; i < 300; i++) {
		uint8_t *e = b + 8 + 8 * i;
		e[0] = MADT_LAPIC; e[1] = 8; e[2] = (uint8_t)i; e[3] = (uint8_t)i;
		e[4] = (i % 2) ? 0 : 1;		/* odd ones disabled */
	}
	/* The body must fit in the fake; 2408 bytes is fine. */
	rsdp = one_table_set(c, "APIC", b, sizeof(b));
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_int_equal(c->ai.ncpus_seen, 300);
	/* 150 enabled, but ids wrap at 256: 128 distinct even ids. */
	assert_true(c->ai.ncpus <= ACPI_MAX_CPUS);
	assert_int_equal(c->ai.ncpus, 128);
}

static void
test_hpet_and_mcfg_bad(void **state)
{
	struct ctx *c = *state;
	uint8_t h[12] = { 0 };
	uint8_t mc[8 + 32] = { 0 };
	uint64_t list[2], rsdt, rsdp;

	list[0] = fake_sdt(&c->m, "HPET", "BOCHS", "BXPC", 1, h, sizeof(h));
	mc[8 + 10] = 5; mc[8 + 11] = 1;		/* start > end */
	mc[8 + 0] = 0x00; mc[8 + 3] = 0xb0;
	mc[24 + 3] = 0xc0; mc[24 + 11] = 3;	/* good: buses 0-3 */
	list[1] = fake_sdt(&c->m, "MCFG", "BOCHS", "BXPC", 1, mc, sizeof(mc));
	rsdt = fake_root(&c->m, 4, "BOCHS", "BXPC", list, 2);
	rsdp = fake_rsdp(&c->m, "BOCHS", 0, rsdt, 0);
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_false(c->ai.hpet_present);
	assert_int_equal(c->ai.nmcfg, 1);
	assert_int_equal(c->ai.mcfg[0].base, 0xc0000000ull);
	assert_int_equal(c->ai.mcfg[0].bus_end, 3);
}

static void
test_spcr(void **state)
{
	struct ctx *c = *state;
	uint8_t b[80 - 36] = { 0 };
	uint64_t rsdp;

	b[SPCR_IFACE - 36] = 0;
	b[SPCR_BASE - 36 + GAS_SPACE] = 1;
	b[SPCR_BASE - 36 + GAS_ADDR] = 0xf8;
	b[SPCR_BASE - 36 + GAS_ADDR + 1] = 0x03;
	b[SPCR_IRQ - 36] = 4;
	b[SPCR_BAUD - 36] = 7;
	rsdp = one_table_set(c, "SPCR", b, sizeof(b));
	assert_int_equal(acpi_parse(&c->m.fw, rsdp, &c->ai), TERN_OK);
	assert_true(c->ai.spcr_present);
	assert_int_equal(c->ai.spcr_base.addr, 0x3f8);
	assert_int_equal(c->ai.spcr_baud, 115200);
	assert_int_equal(c->ai.spcr_irq, 4);
}

/* ---- AML scans --------------------------------------------------------- */

static void
test_aml_s5_forms(void **state)
{
	uint8_t a, b;
	static const uint8_t one_zero[] = { 0, AML_NAME, '_', 'S', '5', '_',
	    AML_PACKAGE, 0x06, 0x04, AML_ONE, AML_ZERO, AML_ZERO, AML_ZERO };
	static const uint8_t word[] = { 0, AML_NAME, '_', 'S', '5', '_',
	    AML_PACKAGE, 0x40, 0x00, 0x02, AML_WORD_PREFIX, 7, 0,
	    AML_BYTE_PREFIX, 3 };
	static const uint8_t only_ref[] = { 0x70, '_', 'S', '5', '_', 0x60,
	    AML_PACKAGE, 0x06, 0x04, AML_ONE, AML_ONE, 0, 0 };
	static const uint8_t too_big[] = { 0, AML_NAME, '_', 'S', '5', '_',
	    AML_PACKAGE, 0x06, 0x02, AML_BYTE_PREFIX, 9, AML_ZERO };
	static const uint8_t truncated[] = { 0, AML_NAME, '_', 'S', '5', '_',
	    AML_PACKAGE, 0x06, 0x02, AML_BYTE_PREFIX };
	static const uint8_t huge_pkglen[] = { 0, AML_NAME, '_', 'S', '5', '_',
	    AML_PACKAGE, 0xc0, 1, 2 };
	static const uint8_t single[] = { 0, AML_NAME, '_', 'S', '5', '_',
	    AML_PACKAGE, 0x03, 0x01, AML_BYTE_PREFIX, 5 };

	assert_true(acpi_aml_find_s5(one_zero, sizeof(one_zero), &a, &b));
	assert_int_equal(a, 1);
	assert_int_equal(b, 0);
	assert_true(acpi_aml_find_s5(word, sizeof(word), &a, &b));
	assert_int_equal(a, 7);
	assert_int_equal(b, 3);
	assert_false(acpi_aml_find_s5(only_ref, sizeof(only_ref), &a, &b));
	assert_false(acpi_aml_find_s5(too_big, sizeof(too_big), &a, &b));
	assert_false(acpi_aml_find_s5(truncated, sizeof(truncated), &a, &b));
	assert_false(acpi_aml_find_s5(huge_pkglen, sizeof(huge_pkglen), &a, &b));
	assert_true(acpi_aml_find_s5(single, sizeof(single), &a, &b));
	assert_int_equal(a, 5);
	assert_int_equal(b, 0);
	assert_false(acpi_aml_find_s5(NULL, 0, &a, &b));
	assert_false(acpi_aml_find_s5(one_zero, 3, &a, &b));
}

static void
test_aml_vmbus(void **state)
{
	static const uint8_t hid[] = "\x08_HID\x0dVMBUS";	/* + NUL */
	static const uint8_t cid[] = "xx\x08_CID\x0dVMBus";
	static const uint8_t longer[] = "\x08_HID\x0dVMBUSX";
	static const uint8_t other_name[] = "\x08_UID\x0dVMBUS";

	assert_true(acpi_aml_has_vmbus(hid, sizeof(hid)));
	assert_true(acpi_aml_has_vmbus(cid, sizeof(cid)));
	assert_false(acpi_aml_has_vmbus(hid, sizeof(hid) - 1));	/* no NUL */
	assert_false(acpi_aml_has_vmbus(longer, sizeof(longer)));
	assert_false(acpi_aml_has_vmbus(other_name, sizeof(other_name)));
	assert_false(acpi_aml_has_vmbus(NULL, 10));
}

/* ---- robustness -------------------------------------------------------- */

static uint32_t rng = 12345;
static uint32_t
rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* Mutate random bytes of each fixture set (ASan catches any stray read);
   half of the time the checksums are repaired so the mutation reaches
   the table parsers. */
static void
test_mutations(void **state)
{
	uint64_t (*sets[])(struct fake_mem *) = { fixture_nitro,
	    fixture_azure_gen2, fixture_azure_gen1, fixture_qemu_q35 };
	struct acpi_info *ai = malloc(sizeof(*ai));

	for (int iter = 0; iter < 1200; iter++) {
		struct fake_mem m;
		uint64_t rsdp;
		size_t used;

		fake_init(&m);
		rsdp = sets[iter % 4](&m);
		used = (size_t)(m.next - FAKE_BASE);
		for (int k = 0; k < 1 + (int)(rnd() % 8); k++) {
			size_t off = rnd() % used;
			m.mem[off] = (uint8_t)rnd();
		}
		if (iter & 1) {
			/* Re-checksum every table header found in the blob. */
			for (size_t off = 0x100; off + SDT_HDR_SIZE <= used; off += 16) {
				uint32_t len = fw_le32(m.mem + off + SDT_LENGTH);
				if (len >= SDT_HDR_SIZE && off + len <= FAKE_SIZE &&
				    m.mem[off] >= 'A' && m.mem[off] <= 'Z')
					fake_sdt_fix(&m, FAKE_BASE + off);
			}
		}
		(void)acpi_parse(&m.fw, rsdp, ai);
		assert_true(ai->ncpus <= ACPI_MAX_CPUS);
		assert_true(ai->ntables <= ACPI_MAX_TABLES);
		fake_free(&m);
	}
	free(ai);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nitro, setup, teardown),
		cmocka_unit_test_setup_teardown(test_azure_gen2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_azure_gen1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qemu_q35, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_rsdp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsdp_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsdp_bad_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xsdt_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xsdt_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsdp_ext_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsdp_ext_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xsdt_bad_sig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_roots_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_entries_outside_and_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loops_and_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fadt_dsdt_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fadt_dsdt_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fadt_too_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_bad_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_entry_past_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_disabled_cpus_and_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hpet_and_mcfg_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spcr, setup, teardown),
		cmocka_unit_test(test_aml_s5_forms),
		cmocka_unit_test(test_aml_vmbus),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

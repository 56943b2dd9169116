/*
 * test_smbios.c - SMBIOS reader: 2.x ("_SM_") and 3.x ("_SM3_") entry
 * points with type 0-3 sets shaped like EC2 Nitro, Azure and QEMU
 * (PROTOCOLS.md D.2), and malformed tables: bad checksums, unterminated
 * strings, bad lengths, string indexes out of range, tables running past
 * the end, plus a mutation loop under ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/smbios/smbios.h"
#include "tests/platform/fake_fw.h"

struct ctx {
	struct fake_mem m;
	struct smb_builder b;
	struct smbios_info si;
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

/* "ec2a1b2c-..." stored little-endian in the first three fields. */
static const uint8_t ec2_uuid[16] = { 0x2c, 0x1b, 0xa1, 0xec, 0x34, 0x12,
    0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x02, 0x03, 0x04 };

static void
test_nitro_ep32(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;

	smb_platform(&c->b, "Amazon EC2", "1.0", "Amazon EC2", "m5.large",
	    ec2_uuid, "i-0123456789abcdef0", "Amazon EC2");
	smb_end(&c->b);
	ep = fake_smbios32(&c->m, &c->b, 2, 7);
	assert_int_equal(smbios_parse(&c->m.fw, ep, 2, &c->si), TERN_OK);
	assert_true(c->si.valid);
	assert_int_equal(c->si.kind, SMBIOS_EP32);
	assert_int_equal(c->si.major, 2);
	assert_int_equal(c->si.minor, 7);
	assert_string_equal(c->si.bios_vendor, "Amazon EC2");
	assert_string_equal(c->si.bios_version, "1.0");
	assert_string_equal(c->si.sys_vendor, "Amazon EC2");
	assert_string_equal(c->si.sys_product, "m5.large");
	assert_string_equal(c->si.sys_serial, "serial-1");
	assert_true(c->si.has_uuid);
	assert_string_equal(c->si.sys_uuid, "eca11b2c-1234-5678-9abc-def001020304");
	assert_string_equal(c->si.board_asset_tag, "i-0123456789abcdef0");
	assert_int_equal(c->si.nstructs, 5);
	assert_int_equal(c->si.nbad, 0);
	assert_int_equal(kstub_warnings, 0);
}

static void
test_uuid_pre26_big_endian(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;

	smb_platform(&c->b, "Xen", "4.2.amazon", "Xen", "HVM domU", ec2_uuid,
	    NULL, NULL);
	smb_end(&c->b);
	ep = fake_smbios32(&c->m, &c->b, 2, 4);
	assert_int_equal(smbios_parse(&c->m.fw, ep, 0, &c->si), TERN_OK);
	assert_string_equal(c->si.sys_uuid, "2c1ba1ec-3412-7856-9abc-def001020304");
	assert_string_equal(c->si.board_asset_tag, "");
	assert_string_equal(c->si.chassis_asset_tag, "");
	assert_int_equal(c->si.nbad, 0);
}

static void
test_azure_ep64(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;

	smb_platform(&c->b, "Microsoft Corporation", "Hyper-V UEFI Release v4.1",
	    "Microsoft Corporation", "Virtual Machine", NULL, "None",
	    "7783-7084-3265-9085-8269-3286-77");
	smb_end(&c->b);
	ep = fake_smbios64(&c->m, &c->b, 3, 1, (uint32_t)c->b.len + 64);
	assert_int_equal(smbios_parse(&c->m.fw, ep, 3, &c->si), TERN_OK);
	assert_int_equal(c->si.kind, SMBIOS_EP64);
	assert_int_equal(c->si.major, 3);
	assert_string_equal(c->si.sys_vendor, "Microsoft Corporation");
	assert_string_equal(c->si.sys_product, "Virtual Machine");
	assert_string_equal(c->si.chassis_asset_tag, "7783-7084-3265-9085-8269-3286-77");
	assert_false(c->si.has_uuid);	/* all zero = not present */
	assert_int_equal(c->si.nstructs, 5);	/* stopped at type 127 */
}

static void
test_qemu_ep64_no_end_marker(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;

	/* No type 127: the walk ends at the table length, the rest of the
	   maximum-size area being zeros that are not a valid structure. */
	smb_platform(&c->b, "EDK II", "unknown", "QEMU",
	    "Standard PC (Q35 + ICH9, 2009)", NULL, NULL, NULL);
	ep = fake_smbios64(&c->m, &c->b, 3, 0, (uint32_t)c->b.len);
	assert_int_equal(smbios_parse(&c->m.fw, ep, 3, &c->si), TERN_OK);
	assert_string_equal(c->si.sys_vendor, "QEMU");
	assert_string_equal(c->si.sys_product, "Standard PC (Q35 + ICH9, 2009)");
	assert_string_equal(c->si.bios_vendor, "EDK II");
	assert_int_equal(c->si.nstructs, 4);
	assert_int_equal(c->si.nbad, 0);
}

static void
test_no_entry_point(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(smbios_parse(&c->m.fw, 0, 0, &c->si), TERN_ENOENT);
	assert_int_equal(smbios_parse(&c->m.fw, FAKE_OUTSIDE, 3, &c->si), TERN_EINVAL);
	/* Zeros: no anchor. */
	assert_int_equal(smbios_parse(&c->m.fw, FAKE_BASE + 0x1000, 2, &c->si),
	    TERN_EINVAL);
	assert_false(c->si.valid);
}

static void
test_ep_bad_checksums(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;

	smb_platform(&c->b, "a", "b", "c", "d", NULL, NULL, NULL);
	smb_end(&c->b);
	ep = fake_smbios32(&c->m, &c->b, 2, 8);
	fake_ptr(&c->m, ep)[4] ^= 1;
	assert_int_equal(smbios_parse(&c->m.fw, ep, 2, &c->si), TERN_EINVAL);

	/* Intermediate (_DMI_) checksum broken but the outer one fixed. */
	ep = fake_smbios32(&c->m, &c->b, 2, 8);
	fake_ptr(&c->m, ep)[21] ^= 1;
	fake_ptr(&c->m, ep)[20] ^= 1;
	assert_int_equal(smbios_parse(&c->m.fw, ep, 2, &c->si), TERN_EINVAL);

	ep = fake_smbios64(&c->m, &c->b, 3, 0, (uint32_t)c->b.len);
	fake_ptr(&c->m, ep)[16] ^= 1;
	assert_int_equal(smbios_parse(&c->m.fw, ep, 3, &c->si), TERN_EINVAL);
}

static void
test_table_outside_memory(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;
	uint8_t *e;

	smb_platform(&c->b, "a", "b", "c", "d", NULL, NULL, NULL);
	smb_end(&c->b);
	/* SMBIOS3 maximum size far beyond memory. */
	ep = fake_smbios64(&c->m, &c->b, 3, 0, (uint32_t)c->b.len);
	e = fake_ptr(&c->m, ep);
	e[14] = 0x08;		/* +512 KiB */
	e[5] = 0;
	e[5] = (uint8_t)(0x100 - fw_sum8(e, 0x18));
	assert_int_equal(smbios_parse(&c->m.fw, ep, 3, &c->si), TERN_EINVAL);
	assert_false(c->si.valid);
}

static void
test_unterminated_strings(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;
	uint8_t f1[4] = { 1, 2, 0, 0 };
	static const char *const s1[] = { "Amazon EC2", "m5.large", NULL };

	smb_platform(&c->b, "Amazon EC2", "1.0", NULL, NULL, NULL, NULL, NULL);
	c->b.len = 0;
	c->b.count = 0;
	{
		uint8_t f0[2] = { 1, 2 };
		static const char *const s0[] = { "vendor", "ver", NULL };
		smb_add(&c->b, 0, f0, 2, s0);
	}
	smb_add(&c->b, 1, f1, sizeof(f1), s1);
	/* Cut the last structure's double NUL off: its strings now run to
	   the end of the table. */
	c->b.len -= 2;
	ep = fake_smbios64(&c->m, &c->b, 3, 0, (uint32_t)c->b.len);
	assert_int_equal(smbios_parse(&c->m.fw, ep, 3, &c->si), TERN_OK);
	assert_string_equal(c->si.bios_vendor, "vendor");
	assert_string_equal(c->si.sys_vendor, "");	/* never reached */
	assert_int_equal(c->si.nbad, 1);
}

static void
test_bad_lengths(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;
	uint8_t f0[2] = { 1, 2 };
	static const char *const s0[] = { "vendor", "ver", NULL };

	/* Formatted length 2 (< 4 header bytes). */
	smb_add(&c->b, 0, f0, 2, s0);
	c->b.buf[1] = 2;
	smb_end(&c->b);
	ep = fake_smbios32(&c->m, &c->b, 2, 8);
	assert_int_equal(smbios_parse(&c->m.fw, ep, 2, &c->si), TERN_OK);
	assert_int_equal(c->si.nstructs, 0);
	assert_int_equal(c->si.nbad, 1);

	/* Formatted length past the table end. */
	memset(&c->b, 0, sizeof(c->b));
	smb_add(&c->b, 0, f0, 2, s0);
	c->b.buf[1] = 0xf0;
	ep = fake_smbios32(&c->m, &c->b, 2, 8);
	assert_int_equal(smbios_parse(&c->m.fw, ep, 2, &c->si), TERN_OK);
	assert_int_equal(c->si.nbad, 1);
	assert_string_equal(c->si.bios_vendor, "");
}

static void
test_string_index_out_of_range(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;
	uint8_t f1[4] = { 1, 9, 0, 0 };	/* product = string 9 of 1 */
	static const char *const s1[] = { "QEMU", NULL };
	uint8_t f3[5] = { 1, 1, 0, 0, 3 };	/* asset tag 3, no strings */

	smb_add(&c->b, 1, f1, sizeof(f1), s1);
	smb_add(&c->b, 3, f3, sizeof(f3), NULL);
	smb_end(&c->b);
	ep = fake_smbios32(&c->m, &c->b, 2, 8);
	assert_int_equal(smbios_parse(&c->m.fw, ep, 2, &c->si), TERN_OK);
	assert_string_equal(c->si.sys_vendor, "QEMU");
	assert_string_equal(c->si.sys_product, "");
	assert_string_equal(c->si.chassis_asset_tag, "");
	assert_int_equal(c->si.nbad, 3);	/* product, chassis vendor, tag */
}

static void
test_long_and_unprintable_strings(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;
	char longs[200];
	uint8_t f1[4] = { 1, 2, 0, 0 };
	const char *s1[] = { longs, "Bad\x01\x7f\xc3name", NULL };

	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	smb_add(&c->b, 1, f1, sizeof(f1), s1);
	smb_end(&c->b);
	ep = fake_smbios32(&c->m, &c->b, 2, 8);
	assert_int_equal(smbios_parse(&c->m.fw, ep, 2, &c->si), TERN_OK);
	assert_int_equal(strlen(c->si.sys_vendor), SMBIOS_STR_MAX - 1);
	assert_string_equal(c->si.sys_product, "Bad???name");
}

static void
test_structure_count_limit(void **state)
{
	struct ctx *c = *state;
	uint64_t ep;
	uint8_t f1[4] = { 1, 2, 0, 0 };
	static const char *const s1[] = { "first", "p", NULL };
	static const char *const s2[] = { "second", "p", NULL };
	uint8_t f2[4] = { 1, 2, 0, 0 };

	/* Type 2 then type 1; the entry point says 1 structure. */
	smb_add(&c->b, 2, f2, sizeof(f2), s2);
	smb_add(&c->b, 1, f1, sizeof(f1), s1);
	ep = fake_smbios32(&c->m, &c->b, 2, 8);
	fake_ptr(&c->m, ep)[28] = 1;
	fake_ptr(&c->m, ep)[21] += 1;	/* fix the _DMI_ checksum */
	fake_ptr(&c->m, ep)[4] = 0;
	fake_ptr(&c->m, ep)[4] = (uint8_t)(0x100 - fw_sum8(fake_ptr(&c->m, ep), 0x1f));
	assert_int_equal(smbios_parse(&c->m.fw, ep, 2, &c->si), TERN_OK);
	assert_int_equal(c->si.nstructs, 1);
	assert_string_equal(c->si.sys_vendor, "");
	assert_string_equal(c->si.board_vendor, "second");
}

static uint32_t rng = 777;
static uint32_t
rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static void
test_mutations(void **state)
{
	struct smbios_info *si = malloc(sizeof(*si));
	struct smb_builder *b = malloc(sizeof(*b));

	for (int iter = 0; iter < 2000; iter++) {
		struct fake_mem m;
		uint64_t ep, tpa;
		uint8_t *t;

		fake_init(&m);
		memset(b, 0, sizeof(*b));
		smb_platform(b, "Amazon EC2", "1.0", "Amazon EC2", "m5.large",
		    ec2_uuid, "i-0abc", "Amazon EC2");
		smb_end(b);
		ep = (iter & 1) ? fake_smbios64(&m, b, 3, 0, (uint32_t)b->len)
		    : fake_smbios32(&m, b, 2, 8);
		tpa = (iter & 1) ? fw_le64(fake_ptr(&m, ep) + 16)
		    : fw_le32(fake_ptr(&m, ep) + 24);
		t = fake_ptr(&m, tpa);
		for (int k = 0; k < 1 + (int)(rnd() % 6); k++)
			t[rnd() % b->len] = (uint8_t)(rnd() % 3 ? rnd() : 0);
		assert_int_equal(smbios_parse(&m.fw, ep, 0, si), TERN_OK);
		assert_true(strlen(si->sys_vendor) < SMBIOS_STR_MAX);
		fake_free(&m);
	}
	free(b);
	free(si);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nitro_ep32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uuid_pre26_big_endian, setup, teardown),
		cmocka_unit_test_setup_teardown(test_azure_ep64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qemu_ep64_no_end_marker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_entry_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ep_bad_checksums, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unterminated_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_index_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_and_unprintable_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_structure_count_limit, setup, teardown),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

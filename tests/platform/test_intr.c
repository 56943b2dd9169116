/*
 * test_intr.c - IOAPIC routing decisions with MADT overrides (from the
 * Nitro-shaped fixture and hand-made overrides) and the MSI message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/acpi/acpi.h"
#include "kernel/pci/pci.h"
#include "kernel/platform/ioapic.h"
#include "tests/platform/fake_fw.h"

static void
test_isa_routes_from_madt(void **state)
{
	struct fake_mem m;
	struct acpi_info *ai = calloc(1, sizeof(*ai));
	struct ioapic_route r;

	fake_init(&m);
	assert_int_equal(acpi_parse(&m.fw, fixture_nitro(&m), ai), 0);
	/* IRQ 0 (PIT) -> GSI 2, edge, high (flags 0 = ISA defaults). */
	r = ioapic_isa_route(ai, 0);
	assert_int_equal(r.gsi, 2);
	assert_false(r.level);
	assert_false(r.active_low);
	/* IRQ 9 (SCI): flags 0x0d = level, active high. */
	r = ioapic_isa_route(ai, 9);
	assert_int_equal(r.gsi, 9);
	assert_true(r.level);
	assert_false(r.active_low);
	/* IRQ 4 (COM1): no override, identity. */
	r = ioapic_isa_route(ai, 4);
	assert_int_equal(r.gsi, 4);
	assert_false(r.level);
	fake_free(&m);
	free(ai);
}

static void
test_override_flags(void **state)
{
	struct acpi_info *ai = calloc(1, sizeof(*ai));
	struct ioapic_route r;

	ai->nisos = 2;
	ai->isos[0] = (struct acpi_iso){ .bus = 0, .irq = 11, .gsi = 20, .flags = 0x0f };
	ai->isos[1] = (struct acpi_iso){ .bus = 1, .irq = 5, .gsi = 30, .flags = 0 };
	r = ioapic_isa_route(ai, 11);
	assert_int_equal(r.gsi, 20);
	assert_true(r.level);
	assert_true(r.active_low);
	/* Overrides for another bus do not apply to ISA. */
	r = ioapic_isa_route(ai, 5);
	assert_int_equal(r.gsi, 5);
	/* No table at all. */
	r = ioapic_isa_route(NULL, 3);
	assert_int_equal(r.gsi, 3);
	free(ai);
}

static void
test_redir_entry(void **state)
{
	struct ioapic_route edge = { 4, false, false }, lvl = { 9, true, true };

	assert_int_equal(ioapic_redir_entry(0x30, &edge, 0, false), 0x30);
	assert_int_equal(ioapic_redir_entry(0x31, &lvl, 3, false),
	    0x0300000000000000ull | (1u << 15) | (1u << 13) | 0x31);
	assert_int_equal(ioapic_redir_entry(0, &edge, 0, true), 1u << 16);
}

static void
test_ioapic_for_gsi(void **state)
{
	struct acpi_info *ai = calloc(1, sizeof(*ai));
	uint32_t n[2] = { 24, 24 };

	ai->nioapics = 2;
	ai->ioapics[0].gsi_base = 0;
	ai->ioapics[1].gsi_base = 24;
	assert_int_equal(ioapic_for_gsi(ai, n, 0), 0);
	assert_int_equal(ioapic_for_gsi(ai, n, 23), 0);
	assert_int_equal(ioapic_for_gsi(ai, n, 24), 1);
	assert_int_equal(ioapic_for_gsi(ai, n, 47), 1);
	assert_int_equal(ioapic_for_gsi(ai, n, 48), -1);
	free(ai);
}

static void
test_msi_message(void **state)
{
	uint32_t lo, hi, data;

	pci_msi_compose(0, 0x41, &lo, &hi, &data);
	assert_int_equal(lo, 0xfee00000u);
	assert_int_equal(hi, 0);
	assert_int_equal(data, 0x41);
	pci_msi_compose(5, 0x80, &lo, &hi, &data);
	assert_int_equal(lo, 0xfee05000u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isa_routes_from_madt),
		cmocka_unit_test(test_override_flags),
		cmocka_unit_test(test_redir_entry),
		cmocka_unit_test(test_ioapic_for_gsi),
		cmocka_unit_test(test_msi_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

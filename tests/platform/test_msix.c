/*
 * test_msix.c - MSI-X table programming through the hardware seam
 * (kernel/pci/pci_msix.c: pci_msix_write_entry, pci_msix_entry_mask)
 * replayed against a hand-written trace: the entry is masked, its
 * message written, then unmasked, each a 32-bit write at entry * 16 +
 * word * 4; a wrong word is reported by its name (msix[3].data).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/pci/pci.h"
#include "tests/hw/hw_replay.h"

/* Entry 3 to vector 0x41 on APIC 2, then entry 3 masked again. */
static const char trace[] =
	"# hand-written: pci_msix_write_entry(3), pci_msix_entry_mask(3)\n"
	"msix-00:04.0 0 W 1 4 0x3c 0x1\n"
	"msix-00:04.0 1 W 1 4 0x30 0xfee02000\n"
	"msix-00:04.0 2 W 1 4 0x34 0x0\n"
	"msix-00:04.0 3 W 1 4 0x38 0x41\n"
	"msix-00:04.0 4 W 1 4 0x3c 0x0\n"
	"msix-00:04.0 5 W 1 4 0x3c 0x1\n";

static char msg[512];
static void on_fail(void *arg, const char *m) { (void)arg; snprintf(msg, sizeof(msg), "%s", m); }

static struct hw_replay *
setup(struct hw_dev *d, struct hw_bar *t)
{
	struct hw_replay *r = hw_replay_open_mem(trace, "msix-00:04.0");
	assert_non_null(r);
	memset(d, 0, sizeof(*d));
	memset(t, 0, sizeof(*t));
	hw_replay_attach(r, d);
	hw_replay_set_fail(r, on_fail, NULL);
	t->dev = d;
	t->index = 1;
	t->len = 8 * PCI_MSIX_ENTRY_SIZE;
	t->names = pci_msix_regnames;
	msg[0] = 0;
	return r;
}

static void test_entry_programming(void **state)
{
	(void)state;
	struct hw_dev d;
	struct hw_bar t;
	uint32_t lo, hi, data;
	struct hw_replay *r = setup(&d, &t);
	pci_msi_compose(2, 0x41, &lo, &hi, &data);
	pci_msix_write_entry(&t, 3, lo, hi, data);
	pci_msix_entry_mask(&t, 3, true);
	assert_true(hw_replay_finish(r));
	hw_replay_close(r);
}

static void test_wrong_word_is_named(void **state)
{
	(void)state;
	struct hw_dev d;
	struct hw_bar t;
	struct hw_replay *r = setup(&d, &t);
	pci_msix_write_entry(&t, 3, 0xfee02000, 0, 0x42);
	assert_non_null(strstr(msg, "register msix[3].data (bar 1 +0x38): expected write "
	    "0x41, driver wrote 0x42"));
	hw_replay_close(r);

	/* The wrong entry: named too. */
	r = setup(&d, &t);
	pci_msix_entry_mask(&t, 2, true);
	assert_non_null(strstr(msg, "write32 msix[2].ctrl (bar 1 +0x2c) = 0x1"));
	assert_non_null(strstr(msg, "writes msix[3].ctrl (bar 1 +0x3c"));
	hw_replay_close(r);
}

static void test_names_cover_every_entry(void **state)
{
	(void)state;
	int n = 0;
	for (const struct hw_regname *p = pci_msix_regnames; p->name != NULL; p++, n++) {
		char want[32];
		static const char *w[] = { "addr_lo", "addr_hi", "data", "ctrl" };
		snprintf(want, sizeof(want), "msix[%d].%s", n / 4, w[n % 4]);
		assert_string_equal(p->name, want);
		assert_int_equal(p->off, (uint32_t)n * 4);
	}
	assert_int_equal(n, PCI_MSIX_MAX_VEC * 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_programming),
		cmocka_unit_test(test_wrong_word_is_named),
		cmocka_unit_test(test_names_cover_every_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

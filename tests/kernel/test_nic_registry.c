/*
 * test_nic_registry.c - the NIC registry (kernel/dev/dev.c) with its
 * listeners wired to a netstack the way pal/pal_net.c wires them: a NIC
 * unregistered unbinds the stack, one registered again with the same MAC
 * rebinds it, another MAC is left alone, an unknown NIC is ENOENT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/time.h"
#include "tests/hw/kstubs.h"
#include "tests/netstack/fake_nic.h"

#include "kernel/log.h"


static struct fake_nic a, b, c;
static struct netstack ns;
static struct ns_txbuf txmem[NS_TXBUFS];
static int added, removed;

static void
on_added(void *ctx, struct nic *n)
{
	added++;
	(void)netstack_nic_added(ctx, n);
}

static void
on_removed(void *ctx, struct nic *n)
{
	removed++;
	netstack_nic_removed(ctx, n);
}

static void
test_registry_rebinds_the_stack(void **state)
{
	fake_init(&a);
	fake_init(&b);
	fake_init(&c);
	c.nic.mac[5] ^= 0x80;
	assert_int_equal(nic_register(&a.nic), TERN_OK);
	struct netstack_port port = { fake_now, fake_random, NULL, &a };
	netstack_attach(&ns, nic_first(), &port, txmem);
	static struct nic_listener l = { on_added, on_removed, &ns, NULL };
	nic_listen(&l);
	assert_int_equal(added, 1);		/* told of the NIC already there */
	assert_ptr_equal(ns.nic, &a.nic);

	assert_int_equal(nic_unregister(&a.nic), TERN_OK);
	assert_int_equal(removed, 1);
	assert_null(ns.nic);
	assert_null(nic_first());
	assert_int_equal(nic_unregister(&a.nic), TERN_ENOENT);
	assert_int_equal(removed, 1);

	assert_int_equal(nic_register(&c.nic), TERN_OK);	/* another MAC */
	assert_null(ns.nic);
	assert_int_equal(nic_register(&b.nic), TERN_OK);	/* the same MAC */
	assert_int_equal(added, 3);
	assert_ptr_equal(ns.nic, &b.nic);
	assert_ptr_equal(b.nic.upper, &ns);
	assert_int_equal(ns.nic_rebinds, 1);
	/* The other NIC going away leaves the stack where it is. */
	assert_int_equal(nic_unregister(&c.nic), TERN_OK);
	assert_ptr_equal(ns.nic, &b.nic);
	assert_ptr_equal(nic_first(), &b.nic);
	(void)fake_inject;	/* fake_nic.h's, unused here */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_rebinds_the_stack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

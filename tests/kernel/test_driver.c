/*
 * test_driver.c - the driver model (kernel/dev/driver.h, kernel/dev/bus.c)
 * on the host: PCI id/class and VMBus GUID match rules, and a second,
 * fake bus (VMBus-like: children carry class GUIDs) that binds drivers
 * from a table with PCI drivers in it.  Checks that a failed attach or a
 * failed softc allocation leaves the device unbound, that one driver is
 * tried per device, and that detach runs last-bound-first with the softc
 * still alive.  The PCI bus itself is covered in tests/platform/test_pci.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/dev/driver.h"
#include "kernel/err.h"

#include "tests/hw/kstubs.h"

/* ---- match rules -------------------------------------------------------- */

static void
test_pci_ids(void **state)
{
	static const struct driver_pci_id ids[] = {
		{ 0x1af4, 0x1041, 0, 0 },			/* exact ids */
		{ 0x1d0f, DRIVER_PCI_ANY, 0x020000, 0xffff00 },	/* vendor + class */
		{ DRIVER_PCI_ANY, DRIVER_PCI_ANY, 0x010802, 0xffffff },
		{ 0 },
		{ 0x1234, 0x5678, 0, 0 },	/* past the end: never seen */
	};

	assert_true(driver_pci_match(ids, 0x1af4, 0x1041, 0x020000));
	assert_false(driver_pci_match(ids, 0x1af4, 0x1042, 0x010000));
	assert_true(driver_pci_match(ids, 0x1d0f, 0xec20, 0x020000));
	assert_true(driver_pci_match(ids, 0x1d0f, 0xec20, 0x0200aa)); /* prog-if masked */
	assert_false(driver_pci_match(ids, 0x1d0f, 0xec20, 0x028000));
	assert_true(driver_pci_match(ids, 0x1b36, 0x0010, 0x010802));
	assert_false(driver_pci_match(ids, 0x1b36, 0x0010, 0x010801));
	assert_false(driver_pci_match(ids, 0x1234, 0x5678, 0));
	assert_false(driver_pci_match(NULL, 0x1af4, 0x1041, 0));
}

/* Two Hyper-V class GUIDs as offered on the wire (synthetic network and
   SCSI); the values only need to be distinct 16-byte patterns here. */
#define GUID_NET { { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, \
	0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } }
#define GUID_SCSI { { 0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d, \
	0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f } }
#define GUID_KBD { { 0x6d, 0xad, 0x12, 0xf9, 0x17, 0x2b, 0xea, 0x48, \
	0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c, 0x76, 0x84 } }

static void
test_guid_ids(void **state)
{
	static const struct driver_guid ids[] = { GUID_NET, GUID_SCSI, { { 0 } } };
	struct driver_guid g = GUID_SCSI, kbd = GUID_KBD;

	assert_true(driver_guid_match(ids, &g));
	g.b[15] ^= 1;			/* one bit off in the last byte */
	assert_false(driver_guid_match(ids, &g));
	g.b[15] ^= 1;
	g.b[0] ^= 0x80;			/* and in the first */
	assert_false(driver_guid_match(ids, &g));
	assert_false(driver_guid_match(ids, &kbd));
	assert_false(driver_guid_match(NULL, &kbd));
	assert_false(driver_guid_match(ids, NULL));
}

/* ---- a fake second bus -------------------------------------------------- */

#define FAKE_MAX 4

struct fake_chan {
	struct device base;
	struct driver_guid class;
};

struct fake_vmbus {
	struct bus bus;
	struct fake_chan offers[FAKE_MAX];	/* what the "host" offers */
	uint32_t noffers;
	struct fake_chan chans[FAKE_MAX];	/* what enumerate found */
	uint32_t nchans;
	int enumerations;
	int fail_enumerate;
};

static struct fake_vmbus *
to_fake(const struct bus *b)
{
	return (struct fake_vmbus *)(void *)((char *)b - offsetof(struct fake_vmbus, bus));
}

static int
fake_enumerate(struct bus *b)
{
	struct fake_vmbus *f = to_fake(b);

	f->enumerations++;
	if (f->fail_enumerate)
		return TERN_ETIMEDOUT;
	memcpy(f->chans, f->offers, sizeof(f->chans));
	f->nchans = f->noffers;
	return (int)f->nchans;
}

static struct device *
fake_child(struct bus *b, uint32_t i)
{
	struct fake_vmbus *f = to_fake(b);

	return i < f->nchans ? &f->chans[i].base : NULL;
}

static bool
fake_match(const struct bus *b, const struct driver *drv,
    const struct device *dev)
{
	const struct fake_chan *c = (const struct fake_chan *)(const void *)
	    ((const char *)dev - offsetof(struct fake_chan, base));

	return driver_guid_match(drv->vmbus_ids, &c->class);
}

static const struct bus_ops fake_ops = {
	.enumerate = fake_enumerate,
	.child = fake_child,
	.match = fake_match,
};

/* Allocations are counted; alloc_fail_at makes the Nth one fail. */
static int live_allocs, nallocs, alloc_fail_at;

static void *
t_zalloc(size_t n)
{
	if (++nallocs == alloc_fail_at)
		return NULL;
	live_allocs++;
	return calloc(1, n);
}

static void
t_free(void *p)
{
	live_allocs--;
	free(p);
}

/* What the fake drivers saw, in order. */
struct event {
	char what;		/* 'a' attach, 'd' detach */
	const char *drv;
	struct device *dev;
};
static struct event events[16];
static int nevents;
static int net_attach_rc;

#define SOFTC_MAGIC 0x5eedf00du

struct fake_softc {
	uint32_t magic;
	struct device *dev;
	char pad[100];
};

static void
record(char what, const char *drv, struct device *dev)
{
	assert_true(nevents < 16);
	events[nevents++] = (struct event){ what, drv, dev };
}

static int
netvsc_attach(struct device *dev, void *softc)
{
	struct fake_softc *sc = softc;

	record('a', "netvsc", dev);
	assert_non_null(sc);
	assert_int_equal(sc->magic, 0);		/* zeroed */
	assert_int_equal(sc->pad[99], 0);
	if (net_attach_rc != TERN_OK)
		return net_attach_rc;
	sc->magic = SOFTC_MAGIC;
	sc->dev = dev;
	return TERN_OK;
}

static void
any_detach(struct device *dev, void *softc)
{
	struct fake_softc *sc = softc;

	/* The softc is still the one attach filled in. */
	assert_int_equal(sc->magic, SOFTC_MAGIC);
	assert_ptr_equal(sc->dev, dev);
	assert_non_null(dev->driver);
	record('d', dev->driver->name, dev);
}

static int
storvsc_attach(struct device *dev, void *softc)
{
	struct fake_softc *sc = softc;

	record('a', "storvsc", dev);
	sc->magic = SOFTC_MAGIC;
	sc->dev = dev;
	return TERN_OK;
}

/* A second network driver: must never get a device netvsc failed on. */
static int
other_net_attach(struct device *dev, void *softc)
{
	record('a', "other-net", dev);
	return TERN_OK;
}

static int
pci_attach(struct device *dev, void *softc)
{
	record('a', "pci", dev);
	return TERN_OK;
}

static const struct driver_guid net_ids[] = { GUID_NET, { { 0 } } };
static const struct driver_guid scsi_ids[] = { GUID_SCSI, { { 0 } } };
static const struct driver_pci_id every_pci[] = {
	{ DRIVER_PCI_ANY, DRIVER_PCI_ANY, 0, 0 }, { 0 } };

static const struct driver pci_drv = {
	.name = "pci-any", .bus = DRIVER_BUS_PCI, .pci_ids = every_pci,
	.softc_size = 8, .attach = pci_attach,
};
static const struct driver netvsc_drv = {
	.name = "netvsc", .bus = DRIVER_BUS_VMBUS, .vmbus_ids = net_ids,
	.softc_size = sizeof(struct fake_softc), .attach = netvsc_attach,
	.detach = any_detach,
};
static const struct driver other_net_drv = {
	.name = "other-net", .bus = DRIVER_BUS_VMBUS, .vmbus_ids = net_ids,
	.softc_size = 0, .attach = other_net_attach,
};
static const struct driver storvsc_drv = {
	.name = "storvsc", .bus = DRIVER_BUS_VMBUS, .vmbus_ids = scsi_ids,
	.softc_size = sizeof(struct fake_softc), .attach = storvsc_attach,
	.detach = any_detach,
};
static const struct driver *const table[] = {
	&pci_drv, &netvsc_drv, &other_net_drv, &storvsc_drv, NULL,
};

static struct fake_vmbus fb;

static void
offer(const char *name, struct driver_guid class)
{
	struct fake_chan *c = &fb.offers[fb.noffers++];

	strncpy(c->base.name, name, sizeof(c->base.name) - 1);
	c->class = class;
}

static int
setup(void **state)
{
	memset(&fb, 0, sizeof(fb));
	fb.bus.name = "fakevmbus";
	fb.bus.kind = DRIVER_BUS_VMBUS;
	fb.bus.ops = &fake_ops;
	fb.bus.zalloc = t_zalloc;
	fb.bus.free = t_free;
	offer("vmbus/0", (struct driver_guid)GUID_SCSI);
	offer("vmbus/1", (struct driver_guid)GUID_KBD);	/* no driver */
	offer("vmbus/2", (struct driver_guid)GUID_NET);
	live_allocs = nallocs = alloc_fail_at = 0;
	nevents = 0;
	net_attach_rc = TERN_OK;
	kstub_reset();
	return 0;
}

static void
test_second_bus_attach_detach(void **state)
{
	struct device *scsi, *kbd, *net;

	assert_int_equal(bus_probe(&fb.bus, table), 2);
	assert_int_equal(fb.enumerations, 1);
	scsi = &fb.chans[0].base;
	kbd = &fb.chans[1].base;
	net = &fb.chans[2].base;
	/* Discovery order; the PCI driver is never offered a channel. */
	assert_int_equal(nevents, 2);
	assert_int_equal(events[0].what, 'a');
	assert_string_equal(events[0].drv, "storvsc");
	assert_ptr_equal(events[0].dev, scsi);
	assert_string_equal(events[1].drv, "netvsc");
	assert_ptr_equal(events[1].dev, net);
	assert_ptr_equal(scsi->driver, &storvsc_drv);
	assert_ptr_equal(net->driver, &netvsc_drv);
	assert_ptr_equal(scsi->bus, &fb.bus);
	assert_null(kbd->driver);
	assert_null(kbd->softc);
	assert_int_equal(live_allocs, 2);
	assert_int_equal(((struct fake_softc *)net->softc)->magic, SOFTC_MAGIC);

	/* Again: nothing new is bound and no bound device is re-attached. */
	assert_int_equal(bus_attach_all(&fb.bus, table), 0);
	assert_int_equal(nevents, 2);

	/* Detach: last discovered first, softcs freed afterwards. */
	bus_detach_all(&fb.bus);
	assert_int_equal(nevents, 4);
	assert_int_equal(events[2].what, 'd');
	assert_string_equal(events[2].drv, "netvsc");
	assert_ptr_equal(events[2].dev, net);
	assert_int_equal(events[3].what, 'd');
	assert_string_equal(events[3].drv, "storvsc");
	assert_ptr_equal(events[3].dev, scsi);
	assert_null(net->driver);
	assert_null(net->softc);
	assert_null(scsi->driver);
	assert_int_equal(live_allocs, 0);

	/* Detaching an unbound device is a no-op. */
	bus_detach(kbd);
	assert_int_equal(nevents, 4);

	/* And the bus can bind them again. */
	assert_int_equal(bus_attach_all(&fb.bus, table), 2);
	bus_detach_all(&fb.bus);
	assert_int_equal(live_allocs, 0);
}

static void
test_attach_failure_leaves_unbound(void **state)
{
	struct device *net;

	net_attach_rc = TERN_EIO;
	assert_int_equal(bus_probe(&fb.bus, table), 1);	/* storvsc only */
	net = &fb.chans[2].base;
	assert_null(net->driver);
	assert_null(net->softc);
	assert_int_equal(live_allocs, 1);	/* netvsc's softc was freed */
	/* netvsc failed: other-net, which matches too, was not tried. */
	for (int i = 0; i < nevents; i++)
		assert_string_not_equal(events[i].drv, "other-net");

	/* A later pass retries the unbound device with the same driver. */
	net_attach_rc = TERN_OK;
	nevents = 0;
	assert_int_equal(bus_attach_all(&fb.bus, table), 1);
	assert_int_equal(nevents, 1);
	assert_string_equal(events[0].drv, "netvsc");
	assert_ptr_equal(net->driver, &netvsc_drv);

	bus_detach_all(&fb.bus);
	assert_int_equal(live_allocs, 0);
}

static void
test_softc_alloc_failure(void **state)
{
	alloc_fail_at = 2;	/* storvsc gets #1, netvsc's fails */
	assert_int_equal(bus_probe(&fb.bus, table), 1);
	assert_null(fb.chans[2].base.driver);
	/* attach was never called without its softc */
	assert_int_equal(nevents, 1);
	assert_string_equal(events[0].drv, "storvsc");
	bus_detach_all(&fb.bus);
	assert_int_equal(live_allocs, 0);
}

static void
test_enumerate_failure(void **state)
{
	fb.fail_enumerate = 1;
	assert_int_equal(bus_probe(&fb.bus, table), TERN_ETIMEDOUT);
	assert_int_equal(nevents, 0);
	assert_int_equal(live_allocs, 0);
}

static void
test_kind_filter(void **state)
{
	/* The same children on a bus of the other kind: only the PCI
	   driver is considered, and its match hook decides. */
	fb.bus.kind = DRIVER_BUS_PCI;
	assert_int_equal(bus_probe(&fb.bus, table), 0);	/* no GUID table */
	assert_int_equal(nevents, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_ids),
		cmocka_unit_test(test_guid_ids),
		cmocka_unit_test_setup(test_second_bus_attach_detach, setup),
		cmocka_unit_test_setup(test_attach_failure_leaves_unbound, setup),
		cmocka_unit_test_setup(test_softc_alloc_failure, setup),
		cmocka_unit_test_setup(test_enumerate_failure, setup),
		cmocka_unit_test_setup(test_kind_filter, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * pci_drv.c - a PCI segment as a bus of the driver model
 * (kernel/dev/driver.h): its enumerate, child and match hooks.  Portable
 * (host-tested in tests/platform/test_pci.c).  The binding itself is
 * kernel/dev/bus.c, shared with every other bus.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/dev/driver.h"
#include "kernel/pci/pci.h"

bool
pci_match_one(const struct driver_pci_id *ids, const struct pci_dev *pd)
{
	return driver_pci_match(ids, pd->vendor, pd->device, pd->class);
}

static struct pci_bus *
to_pci_bus(const struct bus *b)
{
	return (struct pci_bus *)(void *)((char *)b - offsetof(struct pci_bus, bus));
}

/* Enumerate and announce (TERN PCI lines) before any driver attaches. */
static int
pcib_enumerate(struct bus *b)
{
	struct pci_bus *pb = to_pci_bus(b);
	int n = pci_enumerate(pb);

	pci_report(pb);
	return n;
}

static struct device *
pcib_child(struct bus *b, uint32_t i)
{
	struct pci_bus *pb = to_pci_bus(b);

	return i < pb->ndevs ? &pb->devs[i].base : NULL;
}

static bool
pcib_match(const struct bus *b, const struct driver *drv,
    const struct device *dev)
{
	struct pci_dev *pd = pci_dev_of((struct device *)(uintptr_t)dev);

	if (!pci_match_one(drv->pci_ids, pd))
		return false;
	pci_dev_load(pd);	/* the driver's attach reads BARs and caps */
	return true;
}

const struct bus_ops pci_bus_ops = {
	.enumerate = pcib_enumerate,
	.child = pcib_child,
	.match = pcib_match,
};

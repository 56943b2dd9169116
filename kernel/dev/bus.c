/*
 * bus.c - binding a bus's children to the drivers of a driver table
 * (kernel/dev/driver.h), and the match rules shared by every bus of a
 * kind (PCI ids and classes, VMBus class GUIDs).  Portable: the kernel
 * and host tests (tests/kernel/test_driver.c) build the same file.
 *
 * Nothing here knows a particular bus: a bus supplies its children and
 * its match rule through struct bus_ops.  The only state is in the
 * devices themselves (driver, softc).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/dev/driver.h"
#include "kernel/err.h"
#include "kernel/log.h"

bool
driver_pci_match(const struct driver_pci_id *ids, uint16_t vendor,
    uint16_t device, uint32_t class)
{
	if (ids == NULL)
		return false;
	for (const struct driver_pci_id *m = ids;
	    m->vendor != 0 || m->device != 0 || m->class_mask != 0; m++) {
		if (m->vendor != DRIVER_PCI_ANY && m->vendor != vendor)
			continue;
		if (m->device != DRIVER_PCI_ANY && m->device != device)
			continue;
		if ((class & m->class_mask) != (m->class & m->class_mask))
			continue;
		return true;
	}
	return false;
}

static bool
guid_is_zero(const struct driver_guid *g)
{
	for (size_t i = 0; i < sizeof(g->b); i++)
		if (g->b[i] != 0)
			return false;
	return true;
}

bool
driver_guid_match(const struct driver_guid *ids, const struct driver_guid *g)
{
	if (ids == NULL || g == NULL)
		return false;
	for (const struct driver_guid *m = ids; !guid_is_zero(m); m++)
		if (memcmp(m->b, g->b, sizeof(m->b)) == 0)
			return true;
	return false;
}

/* Try `drv` on `dev`: allocate its softc, attach, bind on success. */
static int
bind(struct bus *b, const struct driver *drv, struct device *dev)
{
	void *sc = NULL;
	int rc;

	if (drv->softc_size > 0) {
		sc = b->zalloc != NULL ? b->zalloc(drv->softc_size) : NULL;
		if (sc == NULL) {
			log_error(b->name, "%s %s: no memory for softc", dev->name,
			    drv->name);
			return TERN_ENOMEM;
		}
	}
	rc = drv->attach(dev, sc);
	if (rc != TERN_OK) {
		log_warn(b->name, "%s %s: attach failed (%s)", dev->name,
		    drv->name, err_str(rc));
		if (sc != NULL && b->free != NULL)
			b->free(sc);
		return rc < 0 ? rc : TERN_EINVAL;
	}
	dev->driver = drv;
	dev->softc = sc;
	log_debug(b->name, "%s attached %s", dev->name, drv->name);
	return TERN_OK;
}

int
bus_attach_all(struct bus *b, const struct driver *const *table)
{
	int bound = 0;
	struct device *dev;

	for (uint32_t i = 0; (dev = b->ops->child(b, i)) != NULL; i++) {
		if (dev->driver != NULL)
			continue;
		dev->bus = b;
		for (const struct driver *const *d = table; *d != NULL; d++) {
			const struct driver *drv = *d;

			if (drv->bus != b->kind || drv->attach == NULL ||
			    !b->ops->match(b, drv, dev))
				continue;
			/* One driver per device: a failed attach is not
			   handed on to the next match. */
			if (bind(b, drv, dev) == TERN_OK)
				bound++;
			break;
		}
	}
	return bound;
}

int
bus_probe(struct bus *b, const struct driver *const *table)
{
	int n = b->ops->enumerate(b);

	if (n < 0) {
		log_error(b->name, "enumeration failed (%s)", err_str(n));
		return n;
	}
	return bus_attach_all(b, table);
}

void
bus_detach(struct device *dev)
{
	const struct driver *drv = dev->driver;
	struct bus *b = dev->bus;

	if (drv == NULL)
		return;
	/* The driver undoes attach while its softc is still there. */
	if (drv->detach != NULL)
		drv->detach(dev, dev->softc);
	if (dev->softc != NULL && b != NULL && b->free != NULL)
		b->free(dev->softc);
	dev->softc = NULL;
	dev->driver = NULL;
	log_info(b != NULL ? b->name : "bus", "%s detached %s", dev->name,
	    drv->name);
}

void
bus_detach_all(struct bus *b)
{
	uint32_t n = 0;

	while (b->ops->child(b, n) != NULL)
		n++;
	while (n-- > 0)
		bus_detach(b->ops->child(b, n));
}

/*
 * pci_drv.c - the PCI driver registry and attach/detach (portable).
 * The registered descriptors are the one mutable global of this module
 * (STYLE.md "the driver table"); the descriptors themselves are const.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "kernel/pci/pci.h"

static const struct pci_driver *pci_drivers[PCI_MAX_DRIVERS];
static int pci_ndrivers;

void
pci_drivers_reset(void)
{
	memset(pci_drivers, 0, sizeof(pci_drivers));
	pci_ndrivers = 0;
}

int
pci_register_driver(const struct pci_driver *drv)
{
	if (drv == NULL || drv->ids == NULL || drv->attach == NULL)
		return TERN_EINVAL;
	for (int i = 0; i < pci_ndrivers; i++)
		if (pci_drivers[i] == drv)
			return TERN_EEXIST;
	if (pci_ndrivers >= PCI_MAX_DRIVERS)
		return TERN_ENOMEM;
	pci_drivers[pci_ndrivers++] = drv;
	return TERN_OK;
}

bool
pci_match_one(const struct pci_match *ids, const struct pci_dev *pd)
{
	for (const struct pci_match *m = ids;
	    m->vendor != 0 || m->device != 0 || m->class_mask != 0; m++) {
		if (m->vendor != PCI_ANY_ID && m->vendor != pd->vendor)
			continue;
		if (m->device != PCI_ANY_ID && m->device != pd->device)
			continue;
		if ((pd->class & m->class_mask) != (m->class & m->class_mask))
			continue;
		return true;
	}
	return false;
}

int
pci_attach_all(struct pci_bus *pb)
{
	int bound = 0;

	for (uint32_t i = 0; i < pb->ndevs; i++) {
		struct pci_dev *pd = &pb->devs[i];

		if (pd->driver != NULL)
			continue;
		for (int d = 0; d < pci_ndrivers; d++) {
			const struct pci_driver *drv = pci_drivers[d];
			void *sc = NULL;
			int rc;

			if (!pci_match_one(drv->ids, pd))
				continue;
			if (drv->softc_size > 0) {
				sc = pb->zalloc != NULL ? pb->zalloc(drv->softc_size) : NULL;
				if (sc == NULL) {
					log_error("pci", "%02x:%02x.%x %s: no memory for softc",
					    pd->bus, pd->dev, pd->fn, drv->name);
					break;
				}
			}
			rc = drv->attach(pd, sc);
			if (rc != TERN_OK) {
				log_warn("pci", "%02x:%02x.%x %s: attach failed (%d)",
				    pd->bus, pd->dev, pd->fn, drv->name, rc);
				if (sc != NULL && pb->free != NULL)
					pb->free(sc);
				break;	/* one driver per function, no retries */
			}
			pd->driver = drv;
			pd->softc = sc;
			bound++;
			log_info("pci", "%02x:%02x.%x attached %s", pd->bus,
			    pd->dev, pd->fn, drv->name);
			break;
		}
	}
	return bound;
}

void
pci_detach_all(struct pci_bus *pb)
{
	for (uint32_t i = pb->ndevs; i-- > 0;) {
		struct pci_dev *pd = &pb->devs[i];

		if (pd->driver == NULL)
			continue;
		if (pd->driver->detach != NULL)
			pd->driver->detach(pd, pd->softc);
		if (pd->softc != NULL && pb->free != NULL)
			pb->free(pd->softc);
		pd->driver = NULL;
		pd->softc = NULL;
	}
}

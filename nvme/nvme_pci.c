/*
 * nvme_pci.c - PCI glue for NVMe: any function of class 01:08:02 (NVM
 * Express), BAR0 registers; Amazon controllers (vendor 0x1d0f) get a DMA
 * limit of 2^48.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/pci/pci.h"
#include "nvme/nvme_var.h"

static int nvme_units;

static int
nvme_pci_attach(struct pci_dev *pd, void *softc)
{
	struct nvme_softc *sc = softc;
	char name[16];
	ksnprintf(name, sizeof(name), "nvme%d", nvme_units);
	pci_hw_dev_init(pd, &sc->hw, name);
	sc->hw.trace = hw_trace_wanted(sc->hw.name);
	if (pd->vendor == NVME_VID_AMAZON)
		sc->hw.dma_limit = 1ULL << 48;
	pci_enable(pd, true);
	int rc = pci_map_bar(pd, 0, &sc->hw, &sc->regs);
	if (rc != TERN_OK)
		return rc;
	rc = nvme_attach_core(sc, nvme_units);
	if (rc == TERN_OK)
		nvme_units++;
	return rc;
}

static void
nvme_pci_detach(struct pci_dev *pd, void *softc)
{
	nvme_detach_core(softc);
}

static const struct pci_match nvme_ids[] = {
	{ PCI_ANY_ID, PCI_ANY_ID, 0x010802, 0xffffff },
	{ 0, 0, 0, 0 },
};

const struct pci_driver nvme_pci_driver = {
	.name = "nvme",
	.ids = nvme_ids,
	.softc_size = sizeof(struct nvme_softc),
	.attach = nvme_pci_attach,
	.detach = nvme_pci_detach,
};

/*
 * nvme_pci.c - PCI glue for NVMe: any function of class 01:08:02 (NVM
 * Express), BAR0 registers; Amazon controllers (vendor 0x1d0f) get a DMA
 * limit of 2^48.  MSI-X when the function has it: one table entry per I/O
 * queue pair (up to NVME_MAX_IOQ), else the driver polls.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "kernel/pci/pci.h"
#include "nvme/nvme_pci.h"
#include "nvme/nvme_var.h"

struct nvme_pci_softc {
	struct nvme_softc sc;
	struct pci_msix msix;
	bool msix_on;
};

static int nvme_units;

/* Entries 0..n-1 to nvme_intr; on any failure none (polled). */
static void
setup_msix(struct pci_dev *pd, struct nvme_pci_softc *ps)
{
	struct nvme_softc *sc = &ps->sc;
	sc->nvec = 0;
	if (pd->msix_count == 0) {
		log_info("nvme", "%s: no MSI-X; polled", sc->hw.name);
		return;
	}
	int rc = pci_msix_enable(pd, &ps->msix);
	uint16_t want = sc->want_ioq < ps->msix.count ? (uint16_t)sc->want_ioq : ps->msix.count;
	for (uint16_t i = 0; rc >= 0 && i < want; i++)
		rc = pci_msix_set(&ps->msix, i, nvme_intr, sc, sc->hw.name);
	if (rc < 0) {
		log_warn("nvme", "%s: MSI-X unavailable (%s); polled", sc->hw.name, err_str(rc));
		pci_msix_disable(&ps->msix);
		return;
	}
	ps->msix_on = true;
	sc->nvec = want;
}

/* Undo setup_msix: attach's failure path and detach share it. */
static void
teardown_msix(struct nvme_pci_softc *ps)
{
	if (ps->msix_on)
		pci_msix_disable(&ps->msix);
	ps->msix_on = false;
	ps->sc.nvec = 0;
}

static int
nvme_pci_attach(struct device *dev, void *softc)
{
	struct pci_dev *pd = pci_dev_of(dev);
	struct nvme_pci_softc *ps = softc;
	struct nvme_softc *sc = &ps->sc;
	char name[16];
	ksnprintf(name, sizeof(name), "nvme%d", nvme_units);
	pci_hw_dev_init(pd, &sc->hw, name);
	sc->hw.trace = hw_trace_wanted(sc->hw.name);
	if (pd->vendor == NVME_VID_AMAZON)
		sc->hw.dma_limit = 1ULL << 48;
	sc->want_ioq = 1;	/* one pair per CPU; the kernel runs on one */
	pci_enable(pd, true);
	int rc = pci_map_bar(pd, 0, &sc->hw, &sc->regs);
	if (rc != TERN_OK)
		return rc;
	setup_msix(pd, ps);	/* never fails: polled without it */
	if ((rc = nvme_attach_core(sc, nvme_units)) != TERN_OK)
		goto fail_msix;
	nvme_units++;
	return TERN_OK;

fail_msix:
	teardown_msix(ps);
	return rc;
}

static void
nvme_pci_detach(struct device *dev, void *softc)
{
	struct nvme_pci_softc *ps = softc;
	nvme_detach_core(&ps->sc);
	teardown_msix(ps);
}

static const struct driver_pci_id nvme_ids[] = {
	{ PCI_ANY_ID, PCI_ANY_ID, 0x010802, 0xffffff },
	{ 0, 0, 0, 0 },
};

const struct driver nvme_pci_driver = {
	.name = "nvme",
	.bus = DRIVER_BUS_PCI,
	.pci_ids = nvme_ids,
	.softc_size = sizeof(struct nvme_pci_softc),
	.attach = nvme_pci_attach,
	.detach = nvme_pci_detach,
};

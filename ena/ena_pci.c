/*
 * ena_pci.c - PCI glue for ENA (PROTOCOLS.md A.1, A.11): BAR0 registers
 * uncached, BAR2 (when present) write-combining for LLQ, read-less MMIO
 * unless revision bit 0 says otherwise, MSI-X entry 0 for management and
 * 1 + q for queue pair q (A.11), each delivered to ena_intr with its
 * table entry (the kernel hands handlers the CPU vector, which
 * ena_pci_intr maps back).  The core then unmasks the management vector
 * (INTR_MASK = 0) and leaves the IO vectors masked until the upper
 * layer's intr_enable.  Without MSI-X (fewer than 2 entries, or enabling
 * fails) sc->nvec is 0 and the driver polls: INTR_MASK stays 1 and no
 * unmask is written.  Everything else is the bus-independent core in
 * ena.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "ena/ena_pci.h"
#include "ena/ena_var.h"
#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/pci/pci.h"

struct ena_pci_softc {
	struct ena_softc sc;
	struct pci_msix msix;
	bool msix_on;
};

static int ena_units;

/* The CPU vector back to the MSI-X entry ena_intr expects. */
static void
ena_pci_intr(void *ctx, int vector)
{
	struct ena_pci_softc *ps = ctx;
	for (uint16_t e = 0; e < ps->sc.nvec; e++) {
		if (ps->msix.vec[e] == vector) {
			ena_intr(&ps->sc, e);
			return;
		}
	}
}

static void
setup_msix(struct pci_dev *pd, struct ena_pci_softc *ps)
{
	struct ena_softc *sc = &ps->sc;
	sc->nvec = 0;
	if (pd->msix_count < 2) {
		log_info("ena", "%s: fewer than 2 MSI-X entries; polled", sc->hw.name);
		return;
	}
	int rc = pci_msix_enable(pd, &ps->msix);
	uint16_t want = 1 + ENA_MAX_QUEUES;
	if (rc >= 0 && ps->msix.count < want)
		want = ps->msix.count;
	if (rc >= 0 && want < 2)
		rc = TERN_ENOTSUP;	/* A.11: management + at least one queue */
	for (uint16_t i = 0; rc >= 0 && i < want; i++)
		rc = pci_msix_set(&ps->msix, i, ena_pci_intr, ps, sc->hw.name);
	if (rc < 0) {
		log_warn("ena", "%s: MSI-X unavailable (%s); polled", sc->hw.name, err_str(rc));
		pci_msix_disable(&ps->msix);
		return;
	}
	ps->msix_on = true;
	sc->nvec = want;
}

static void
teardown_msix(struct ena_pci_softc *ps)
{
	if (ps->msix_on)
		pci_msix_disable(&ps->msix);
	ps->msix_on = false;
	ps->sc.nvec = 0;
}

/* BAR2 write-combining (A.9); absent or unmappable: no LLQ. */
static void
map_llq(struct pci_dev *pd, struct ena_softc *sc)
{
	const struct pci_bar *b = &pd->bars[ENA_BAR_LLQ];
	sc->llq_bar.len = 0;
	if (b->type != PCI_BAR_MEM32 && b->type != PCI_BAR_MEM64)
		return;
	if (b->base == 0 || b->size == 0)
		return;
	void *va = mmio_map_attr(b->base, (size_t)b->size, MMIO_WC);
	if (va == NULL) {
		log_warn("ena", "%s: BAR2 not mappable; no LLQ", sc->hw.name);
		return;
	}
	sc->llq_bar.dev = &sc->hw;
	sc->llq_bar.va = va;
	sc->llq_bar.pa = b->base;
	sc->llq_bar.len = b->size;
	sc->llq_bar.index = ENA_BAR_LLQ;
	sc->llq_bar.io = false;
	sc->llq_bar.names = NULL;
}

static int
ena_pci_attach(struct device *dev, void *softc)
{
	struct pci_dev *pd = pci_dev_of(dev);
	struct ena_pci_softc *ps = softc;
	struct ena_softc *sc = &ps->sc;
	char name[16];
	ksnprintf(name, sizeof(name), "ena%d", ena_units);
	pci_hw_dev_init(pd, &sc->hw, name);
	sc->hw.trace = hw_trace_wanted(sc->hw.name);
	sc->hw.dma_limit = 1ULL << 48;	/* A.6: 48-bit address fields */
	sc->readless = !(pd->rev & ENA_PCI_REV_NO_READLESS);
	sc->ncpus = 1;
	sc->bdf = (uint16_t)(pd->bus << 8 | pd->dev << 3 | pd->fn);
	pci_enable(pd, true);
	int rc = pci_map_bar(pd, ENA_BAR_REGS, &sc->hw, &sc->regs);
	if (rc != TERN_OK)
		return rc;
	map_llq(pd, sc);
	setup_msix(pd, ps);
	if ((rc = ena_attach_core(sc, ena_units)) != TERN_OK)
		goto fail_msix;
	ena_units++;
	return TERN_OK;

fail_msix:
	teardown_msix(ps);
	return rc;
}

static void
ena_pci_detach(struct device *dev, void *softc)
{
	struct ena_pci_softc *ps = softc;
	(void)dev;
	ena_detach_core(&ps->sc);
	teardown_msix(ps);
}

static const struct driver_pci_id ena_ids[] = {
	{ ENA_PCI_VENDOR, ENA_PCI_DEV_VF, 0, 0 },
	{ ENA_PCI_VENDOR, ENA_PCI_DEV_VF_LLQ, 0, 0 },
	{ ENA_PCI_VENDOR, ENA_PCI_DEV_PF, 0, 0 },
	{ 0, 0, 0, 0 },
};

const struct driver ena_pci_driver = {
	.name = "ena",
	.bus = DRIVER_BUS_PCI,
	.pci_ids = ena_ids,
	.softc_size = sizeof(struct ena_pci_softc),
	.attach = ena_pci_attach,
	.detach = ena_pci_detach,
};

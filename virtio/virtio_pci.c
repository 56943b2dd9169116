/*
 * virtio_pci.c - PCI glue for the virtio drivers (virtio v1.2 4.1): find
 * the common, notify, ISR and device-specific windows through the vendor
 * capabilities, map their BARs, and hand a struct virtio_dev to the
 * bus-independent drivers.  Transitional devices (0x1000/0x1001) are
 * driven through their modern interface too; a device without one is
 * refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/pci/pci.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_var.h"

static int net_units, blk_units;

static int
find_windows(struct pci_dev *pd, struct virtio_bus *vb)
{
	bool mapped[6] = { false };
	struct virtio_win *wins[5] = { NULL, &vb->vd.common, &vb->vd.notify,
		&vb->vd.isr, &vb->vd.device };
	int found = 0;

	for (uint8_t cap = pci_find_cap(pd, PCI_CAP_VENDOR, 0); cap != 0;
	    cap = pci_find_cap(pd, PCI_CAP_VENDOR, cap)) {
		uint8_t type = pci_cfg_read8(pd, cap + VIRTIO_PCI_CAP_CFG_TYPE);
		uint8_t bar = pci_cfg_read8(pd, cap + VIRTIO_PCI_CAP_BAR);
		uint32_t off = pci_cfg_read32(pd, cap + VIRTIO_PCI_CAP_OFFSET);
		uint32_t len = pci_cfg_read32(pd, cap + VIRTIO_PCI_CAP_LENGTH);
		if (type < VIRTIO_PCI_CAP_COMMON || type > VIRTIO_PCI_CAP_DEVICE ||
		    wins[type]->bar != NULL)
			continue;	/* unknown, PCI-cfg window, or a duplicate */
		if (bar > 5 || pd->bars[bar].size == 0 ||
		    (uint64_t)off + len > pd->bars[bar].size) {
			log_warn("virtio", "%s: capability type %u points outside BAR %u",
			    vb->hw.name, type, bar);
			continue;
		}
		if (!mapped[bar]) {
			if (pci_map_bar(pd, bar, &vb->hw, &vb->bars[bar]) != TERN_OK)
				return TERN_ENOMEM;
			vb->bars[bar].index = bar;
			mapped[bar] = true;
		}
		wins[type]->bar = &vb->bars[bar];
		wins[type]->off = off;
		wins[type]->len = len;
		if (type == VIRTIO_PCI_CAP_NOTIFY)
			vb->vd.notify_mult = pci_cfg_read32(pd, cap + VIRTIO_PCI_NOTIFY_MULT);
		found |= 1 << type;
	}
	if ((found & 0x16) != 0x16) {	/* common, notify, device */
		log_error("virtio", "%s: no modern virtio interface (capabilities 0x%x)",
		    vb->hw.name, found);
		return TERN_ENOTSUP;
	}
	return TERN_OK;
}

/* The interrupt only has to wake the CPU out of hlt: the netstack loop
   and blk_rw_sync poll the queues right after. */
static void
vio_intr(void *ctx, int vector)
{
	struct virtio_bus *vb = ctx;
	vb->vd.intrs++;
}

/*
 * MSI-X table entries 0..want-1 (as many as the function has), each with
 * a vector of its own.  Entry 0 takes the config change notification
 * and every queue of a single-queue device; a multi-queue virtio-net
 * binds the receive queue of pair k to entry k when it has that many
 * (virtio_net.c) and shares entry 0 otherwise.  Without MSI-X (or when
 * not even entry 0 can be had) the device is polled; virtio_init and
 * virtq_setup fall back the same way when the device refuses an entry.
 */
static void
bus_msix(struct pci_dev *pd, struct virtio_bus *vb, uint16_t want)
{
	vb->vd.msix = false;
	vb->vd.msix_count = 0;
	if (pd->msix_count == 0) {
		log_info("virtio", "%s: no MSI-X; polled", vb->hw.name);
		return;
	}
	vb->msix = kzalloc(sizeof(*vb->msix));
	if (vb->msix == NULL)
		return;
	int rc = pci_msix_enable(pd, vb->msix);
	if (rc == TERN_OK)
		rc = pci_msix_set(vb->msix, 0, vio_intr, vb, vb->hw.name);
	if (rc < 0) {
		log_warn("virtio", "%s: MSI-X unavailable (%s); polled", vb->hw.name,
		    err_str(rc));
		pci_msix_disable(vb->msix);
		kfree(vb->msix);
		vb->msix = NULL;
		return;
	}
	vb->vd.msix = true;
	vb->vd.msix_entry = 0;
	vb->vd.msix_count = 1;
	log_debug("virtio", "%s: MSI-X entry 0 on vector %d", vb->hw.name, rc);
	/* More entries only as far as the table and the vectors go: a
	   shortfall leaves the rest sharing entry 0, never an error. */
	while (vb->vd.msix_count < want && vb->vd.msix_count < vb->msix->count) {
		uint16_t e = vb->vd.msix_count;
		rc = pci_msix_set(vb->msix, e, vio_intr, vb, vb->hw.name);
		if (rc < 0) {
			log_info("virtio", "%s: MSI-X entry %u unavailable (%s); %u entries",
			    vb->hw.name, e, err_str(rc), e);
			break;
		}
		vb->vd.msix_count++;
	}
	if (vb->vd.msix_count > 1)
		log_debug("virtio", "%s: MSI-X entries 0-%u bound", vb->hw.name,
		    vb->vd.msix_count - 1);
}

static void
bus_teardown(struct virtio_bus *vb)
{
	if (vb->msix != NULL) {
		pci_msix_disable(vb->msix);
		kfree(vb->msix);
		vb->msix = NULL;
	}
	vb->vd.msix = false;
	vb->vd.msix_count = 0;
}

/* `msix_want`: MSI-X table entries the driver can use (one per receive
   queue for virtio-net, one for virtio-blk). */
static int
bus_setup(struct pci_dev *pd, struct virtio_bus *vb, const char *name, uint16_t msix_want)
{
	pci_hw_dev_init(pd, &vb->hw, name);
	vb->hw.trace = hw_trace_wanted(vb->hw.name);
	vb->vd.hw = &vb->hw;
	pci_enable(pd, true);
	int rc = find_windows(pd, vb);
	if (rc == TERN_OK)
		bus_msix(pd, vb, msix_want);
	return rc;
}

static int
vblk_pci_attach(struct device *dev, void *softc)
{
	struct pci_dev *pd = pci_dev_of(dev);
	struct virtio_blk_softc *sc = softc;
	char name[24] = "virtio-blk?";
	name[10] = (char)('0' + blk_units % 10);
	int rc = bus_setup(pd, &sc->bus, name, 1);
	if (rc == TERN_OK)
		rc = virtio_blk_attach_core(sc, &sc->bus.vd, blk_units);
	if (rc == TERN_OK)
		blk_units++;
	else
		bus_teardown(&sc->bus);
	return rc;
}

static void
vblk_pci_detach(struct device *dev, void *softc)
{
	struct virtio_blk_softc *sc = softc;
	virtio_blk_detach_core(sc);
	bus_teardown(&sc->bus);
}

static int
vnet_pci_attach(struct device *dev, void *softc)
{
	struct pci_dev *pd = pci_dev_of(dev);
	struct virtio_net_softc *sc = softc;
	char name[24] = "virtio-net?";
	name[10] = (char)('0' + net_units % 10);
	int rc = bus_setup(pd, &sc->bus, name, VNET_MAX_PAIRS);
	if (rc == TERN_OK)
		rc = virtio_net_attach_core(sc, &sc->bus.vd, net_units);
	if (rc == TERN_OK)
		net_units++;
	else
		bus_teardown(&sc->bus);
	return rc;
}

static void
vnet_pci_detach(struct device *dev, void *softc)
{
	struct virtio_net_softc *sc = softc;
	virtio_net_detach_core(sc);
	bus_teardown(&sc->bus);
}

static const struct driver_pci_id vblk_ids[] = {
	{ 0x1af4, 0x1042, 0, 0 },	/* modern */
	{ 0x1af4, 0x1001, 0, 0 },	/* transitional */
	{ 0, 0, 0, 0 },
};

static const struct driver_pci_id vnet_ids[] = {
	{ 0x1af4, 0x1041, 0, 0 },
	{ 0x1af4, 0x1000, 0, 0 },
	{ 0, 0, 0, 0 },
};

const struct driver virtio_blk_pci_driver = {
	.name = "virtio-blk",
	.bus = DRIVER_BUS_PCI,
	.pci_ids = vblk_ids,
	.softc_size = sizeof(struct virtio_blk_softc),
	.attach = vblk_pci_attach,
	.detach = vblk_pci_detach,
};

const struct driver virtio_net_pci_driver = {
	.name = "virtio-net",
	.bus = DRIVER_BUS_PCI,
	.pci_ids = vnet_ids,
	.softc_size = sizeof(struct virtio_net_softc),
	.attach = vnet_pci_attach,
	.detach = vnet_pci_detach,
};

/*
 * pci_hw.c - glue between a PCI function and the hardware seam
 * (kernel/hw/hw.h): the identity a driver's struct hw_dev needs, and in
 * the kernel the BAR windows (struct hw_bar).
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/err.h"
#include "kernel/hw/hw.h"
#include "kernel/pci/pci.h"
#if defined(TERN_KERNEL)
#include "kernel/mm.h"
#endif

void
pci_hw_dev_init(const struct pci_dev *pd, struct hw_dev *hw, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && name[i] != '\0' && i + 1 < sizeof(hw->name); i++)
		hw->name[i] = name[i];
	hw->name[i] = '\0';
	hw->bus = HW_BUS_PCI;
	hw->pci_vendor = pd->vendor;
	hw->pci_device = pd->device;
	hw->pci_seg = pd->seg;
	hw->pci_bus = pd->bus;
	hw->pci_dev = pd->dev;
	hw->pci_fn = pd->fn;
	hw->pci_cfg = pd->ecam;
}

#if defined(TERN_KERNEL)
int
pci_map_bar(const struct pci_dev *pd, int i, struct hw_dev *hw,
    struct hw_bar *out)
{
	const struct pci_bar *b;

	if (i < 0 || i > 5)
		return TERN_EINVAL;
	b = &pd->bars[i];
	if (b->type == PCI_BAR_NONE || b->size == 0)
		return TERN_ENODEV;
	out->dev = hw;
	out->pa = b->base;
	out->len = b->size;
	out->index = (uint8_t)i;
	out->names = NULL;
	if (b->type == PCI_BAR_IO) {
		out->io = true;
		out->va = NULL;
		return TERN_OK;
	}
	out->io = false;
	if (b->base == 0)
		return TERN_ENODEV;	/* firmware left it unassigned */
	out->va = mmio_map(b->base, (size_t)b->size);
	return out->va != NULL ? TERN_OK : TERN_ENOMEM;
}
#endif

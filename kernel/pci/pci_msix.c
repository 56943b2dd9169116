/*
 * pci_msix.c - MSI-X vectors for PCI drivers (PCIe 6.0 7.7.2: capability,
 * table entry = message address lo/hi, data, vector control bit 0 mask;
 * Intel SDM 3A 11.11 for the message format).  Table writes follow the
 * spec's rule: an entry is only reprogrammed while masked.
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/err.h"
#include "kernel/pci/pci.h"
#if defined(TERN_KERNEL)
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#endif

void
pci_msi_compose(uint8_t apic_id, uint8_t vector, uint32_t *addr_lo,
    uint32_t *addr_hi, uint32_t *data)
{
	*addr_lo = 0xfee00000u | ((uint32_t)apic_id << 12);
	*addr_hi = 0;
	*data = vector;
}

#if defined(TERN_KERNEL)
#define ENT_ADDR_LO	0
#define ENT_ADDR_HI	1
#define ENT_DATA	2
#define ENT_CTRL	3
#define ENT_MASKED	1u

static volatile uint32_t *
entry_of(struct pci_msix *mx, uint16_t i)
{
	return mx->table + 4u * i;
}

int
pci_msix_enable(struct pci_dev *pd, struct pci_msix *mx)
{
	const struct pci_bar *b;
	uint16_t ctrl;

	mx->pd = pd;
	mx->table = NULL;
	mx->count = 0;
	for (int i = 0; i < PCI_MSIX_MAX_VEC; i++)
		mx->vec[i] = -1;
	if (pd->msix_count == 0)
		return TERN_ENOTSUP;
	b = &pd->bars[pd->msix_table_bir];
	if (b->base == 0)
		return TERN_ENODEV;
	mx->count = pd->msix_count < PCI_MSIX_MAX_VEC ? pd->msix_count :
	    PCI_MSIX_MAX_VEC;
	mx->table = mmio_map(b->base + pd->msix_table_off,
	    (size_t)pd->msix_count * PCI_MSIX_ENTRY_SIZE);
	if (mx->table == NULL)
		return TERN_ENOMEM;
	/* Function-mask while the table is set up, then enable. */
	ctrl = pci_cfg_read16(pd, pd->msix_cap + PCI_MSIX_CTRL);
	pci_cfg_write16(pd, pd->msix_cap + PCI_MSIX_CTRL,
	    ctrl | PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
	for (uint16_t i = 0; i < pd->msix_count; i++)
		entry_of(mx, i)[ENT_CTRL] = ENT_MASKED;
	pci_cfg_write16(pd, PCI_COMMAND,
	    pci_cfg_read16(pd, PCI_COMMAND) | PCI_CMD_INTX_DISABLE);
	pci_cfg_write16(pd, pd->msix_cap + PCI_MSIX_CTRL,
	    (uint16_t)((ctrl | PCI_MSIX_ENABLE) & ~PCI_MSIX_MASKALL));
	return TERN_OK;
}

int
pci_msix_set(struct pci_msix *mx, uint16_t entry, intr_handler_fn fn,
    void *ctx, const char *name)
{
	volatile uint32_t *e;
	uint32_t lo, hi, data, r[4];
	int vec;

	if (mx->table == NULL || entry >= mx->count)
		return TERN_EINVAL;
	if (mx->vec[entry] >= 0)
		return TERN_EBUSY;
	vec = intr_alloc(fn, ctx, name);
	if (vec < 0)
		return vec;
	cpuid(1, 0, r);
	pci_msi_compose((uint8_t)(r[1] >> 24), (uint8_t)vec, &lo, &hi, &data);
	e = entry_of(mx, entry);
	e[ENT_CTRL] = ENT_MASKED;
	e[ENT_ADDR_LO] = lo;
	e[ENT_ADDR_HI] = hi;
	e[ENT_DATA] = data;
	e[ENT_CTRL] = 0;
	mx->vec[entry] = (int16_t)vec;
	return vec;
}

void
pci_msix_mask(struct pci_msix *mx, uint16_t entry, bool masked)
{
	if (mx->table == NULL || entry >= mx->count)
		return;
	entry_of(mx, entry)[ENT_CTRL] = masked ? ENT_MASKED : 0;
}

void
pci_msix_disable(struct pci_msix *mx)
{
	struct pci_dev *pd = mx->pd;

	if (mx->table == NULL)
		return;
	for (uint16_t i = 0; i < mx->count; i++) {
		entry_of(mx, i)[ENT_CTRL] = ENT_MASKED;
		if (mx->vec[i] >= 0)
			intr_free(mx->vec[i]);
		mx->vec[i] = -1;
	}
	pci_cfg_write16(pd, pd->msix_cap + PCI_MSIX_CTRL,
	    pci_cfg_read16(pd, pd->msix_cap + PCI_MSIX_CTRL) & ~PCI_MSIX_ENABLE);
	mx->table = NULL;
}
#endif

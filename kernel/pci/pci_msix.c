/*
 * pci_msix.c - MSI-X vectors for PCI drivers (PCIe 6.0 7.7.2: capability,
 * table entry = message address lo/hi, data, vector control bit 0 mask;
 * Intel SDM 3A 11.11 for the message format).  Table writes follow the
 * spec's rule: an entry is only reprogrammed while masked.  Every table
 * access and the CPUID for the APIC id go through the hardware seam
 * (kernel/hw/hw.h); the entry writers are portable and replay-tested
 * (tests/platform/test_msix.c).
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/err.h"
#include "kernel/hw/hw.h"
#include "kernel/lib/fmt.h"
#include "kernel/pci/pci.h"
#if defined(TERN_KERNEL)
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

#define ENT_ADDR_LO	0
#define ENT_ADDR_HI	1
#define ENT_DATA	2
#define ENT_CTRL	3
#define ENT_MASKED	1u

#define MSIX_NAMES(n)							\
	{ (n) * 16 + 0, 4, "msix[" #n "].addr_lo" },			\
	{ (n) * 16 + 4, 4, "msix[" #n "].addr_hi" },			\
	{ (n) * 16 + 8, 4, "msix[" #n "].data" },			\
	{ (n) * 16 + 12, 4, "msix[" #n "].ctrl" }
/* One row per entry, 0..PCI_MSIX_MAX_VEC-1. */
const struct hw_regname pci_msix_regnames[] = {
	MSIX_NAMES(0), MSIX_NAMES(1), MSIX_NAMES(2), MSIX_NAMES(3),
	MSIX_NAMES(4), MSIX_NAMES(5), MSIX_NAMES(6), MSIX_NAMES(7),
	MSIX_NAMES(8), MSIX_NAMES(9), MSIX_NAMES(10), MSIX_NAMES(11),
	MSIX_NAMES(12), MSIX_NAMES(13), MSIX_NAMES(14), MSIX_NAMES(15),
	MSIX_NAMES(16), MSIX_NAMES(17), MSIX_NAMES(18), MSIX_NAMES(19),
	MSIX_NAMES(20), MSIX_NAMES(21), MSIX_NAMES(22), MSIX_NAMES(23),
	MSIX_NAMES(24), MSIX_NAMES(25), MSIX_NAMES(26), MSIX_NAMES(27),
	MSIX_NAMES(28), MSIX_NAMES(29), MSIX_NAMES(30), MSIX_NAMES(31),
	MSIX_NAMES(32), MSIX_NAMES(33), MSIX_NAMES(34), MSIX_NAMES(35),
	MSIX_NAMES(36), MSIX_NAMES(37), MSIX_NAMES(38), MSIX_NAMES(39),
	MSIX_NAMES(40), MSIX_NAMES(41), MSIX_NAMES(42), MSIX_NAMES(43),
	MSIX_NAMES(44), MSIX_NAMES(45), MSIX_NAMES(46), MSIX_NAMES(47),
	MSIX_NAMES(48), MSIX_NAMES(49), MSIX_NAMES(50), MSIX_NAMES(51),
	MSIX_NAMES(52), MSIX_NAMES(53), MSIX_NAMES(54), MSIX_NAMES(55),
	MSIX_NAMES(56), MSIX_NAMES(57), MSIX_NAMES(58), MSIX_NAMES(59),
	MSIX_NAMES(60), MSIX_NAMES(61), MSIX_NAMES(62), MSIX_NAMES(63),
	{ 0, 0, NULL },
};
#undef MSIX_NAMES

static uint32_t
ent_off(uint16_t entry, int word)
{
	return (uint32_t)entry * PCI_MSIX_ENTRY_SIZE + 4u * (uint32_t)word;
}

void
pci_msix_entry_mask(struct hw_bar *t, uint16_t entry, bool masked)
{
	hw_write32(t, ent_off(entry, ENT_CTRL), masked ? ENT_MASKED : 0);
}

void
pci_msix_write_entry(struct hw_bar *t, uint16_t entry, uint32_t addr_lo,
    uint32_t addr_hi, uint32_t data)
{
	pci_msix_entry_mask(t, entry, true);
	hw_write32(t, ent_off(entry, ENT_ADDR_LO), addr_lo);
	hw_write32(t, ent_off(entry, ENT_ADDR_HI), addr_hi);
	hw_write32(t, ent_off(entry, ENT_DATA), data);
	pci_msix_entry_mask(t, entry, false);
}

#if defined(TERN_KERNEL)
int
pci_msix_enable(struct pci_dev *pd, struct pci_msix *mx)
{
	const struct pci_bar *b;
	uint16_t ctrl;

	mx->pd = pd;
	mx->table.va = NULL;
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
	ksnprintf(mx->hw.name, sizeof(mx->hw.name), "msix-%02x:%02x.%x", pd->bus,
	    pd->dev, pd->fn);
	mx->hw.trace = hw_trace_wanted(mx->hw.name);
	mx->table.dev = &mx->hw;
	mx->table.pa = b->base + pd->msix_table_off;
	mx->table.len = (uint64_t)pd->msix_count * PCI_MSIX_ENTRY_SIZE;
	mx->table.io = false;
	mx->table.index = pd->msix_table_bir;
	mx->table.names = pci_msix_regnames;
	mx->table.va = mmio_map(mx->table.pa, (size_t)mx->table.len);
	if (mx->table.va == NULL)
		return TERN_ENOMEM;
	/* Function-mask while the table is set up, then enable. */
	ctrl = pci_cfg_read16(pd, pd->msix_cap + PCI_MSIX_CTRL);
	pci_cfg_write16(pd, pd->msix_cap + PCI_MSIX_CTRL,
	    ctrl | PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
	for (uint16_t i = 0; i < pd->msix_count; i++)
		pci_msix_entry_mask(&mx->table, i, true);
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
	uint32_t lo, hi, data, r[4];
	int vec;

	if (mx->table.va == NULL || entry >= mx->count)
		return TERN_EINVAL;
	if (mx->vec[entry] >= 0)
		return TERN_EBUSY;
	vec = intr_alloc(fn, ctx, name);
	if (vec < 0)
		return vec;
	hw_cpuid(&mx->hw, 1, 0, r);
	pci_msi_compose((uint8_t)(r[1] >> 24), (uint8_t)vec, &lo, &hi, &data);
	pci_msix_write_entry(&mx->table, entry, lo, hi, data);
	mx->vec[entry] = (int16_t)vec;
	return vec;
}

void
pci_msix_mask(struct pci_msix *mx, uint16_t entry, bool masked)
{
	if (mx->table.va == NULL || entry >= mx->count)
		return;
	pci_msix_entry_mask(&mx->table, entry, masked);
}

void
pci_msix_disable(struct pci_msix *mx)
{
	struct pci_dev *pd = mx->pd;

	if (mx->table.va == NULL)
		return;
	for (uint16_t i = 0; i < mx->count; i++) {
		pci_msix_entry_mask(&mx->table, i, true);
		if (mx->vec[i] >= 0)
			intr_free(mx->vec[i]);
		mx->vec[i] = -1;
	}
	pci_cfg_write16(pd, pd->msix_cap + PCI_MSIX_CTRL,
	    pci_cfg_read16(pd, pd->msix_cap + PCI_MSIX_CTRL) & ~PCI_MSIX_ENABLE);
	mx->table.va = NULL;
}
#endif

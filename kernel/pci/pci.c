/*
 * pci.c - portable PCI enumeration: bus walk through bridges, BAR sizing,
 * capability list, MSI-X location (PCI Local Bus 3.0 6.1-6.8, PCI-to-PCI
 * Bridge 1.2 3.2, PCIe 6.0 7.7.2).  Config space is reached only through
 * pb->ops so host tests run this file over a fake config space.
 *
 * Config reads are input from (possibly emulated, possibly hostile)
 * hardware: every loop here is bounded by a constant, capability pointers
 * are masked and loop-checked, bridge secondary bus numbers are checked
 * against the segment's range and the set of buses already scanned.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "kernel/pci/pci.h"

typedef unsigned long long ull;

_Static_assert((int)TERN_PCI_FW_IO == (int)PCI_BAR_IO &&
    (int)TERN_PCI_FW_MEM32 == (int)PCI_BAR_MEM32 &&
    (int)TERN_PCI_FW_MEM64 == (int)PCI_BAR_MEM64 &&
    (int)TERN_PCI_FW_NONE == (int)PCI_BAR_NONE,
    "bootinfo BAR kinds are pci_bar_type values");

static uint32_t
rd(const struct pci_bus *pb, uint8_t bus, uint8_t dev, uint8_t fn,
    uint16_t off, int width)
{
	return pb->ops->read(pb->ctx, bus, dev, fn, off, width);
}

static void
wr(const struct pci_bus *pb, uint8_t bus, uint8_t dev, uint8_t fn,
    uint16_t off, int width, uint32_t v)
{
	pb->ops->write(pb->ctx, bus, dev, fn, off, width, v);
}

uint8_t pci_cfg_read8(const struct pci_dev *pd, uint16_t off) { return (uint8_t)rd(pd->pb, pd->bus, pd->dev, pd->fn, off, 1); }
uint16_t pci_cfg_read16(const struct pci_dev *pd, uint16_t off) { return (uint16_t)rd(pd->pb, pd->bus, pd->dev, pd->fn, off, 2); }
uint32_t pci_cfg_read32(const struct pci_dev *pd, uint16_t off) { return rd(pd->pb, pd->bus, pd->dev, pd->fn, off, 4); }
void pci_cfg_write8(const struct pci_dev *pd, uint16_t off, uint8_t v) { wr(pd->pb, pd->bus, pd->dev, pd->fn, off, 1, v); }
void pci_cfg_write16(const struct pci_dev *pd, uint16_t off, uint16_t v) { wr(pd->pb, pd->bus, pd->dev, pd->fn, off, 2, v); }
void pci_cfg_write32(const struct pci_dev *pd, uint16_t off, uint32_t v) { wr(pd->pb, pd->bus, pd->dev, pd->fn, off, 4, v); }

void
pci_bus_init(struct pci_bus *pb, const struct pci_cfg_ops *ops, void *ctx,
    uint16_t seg, uint8_t bus_start, uint8_t bus_end)
{
	memset(pb, 0, sizeof(*pb));
	pb->ops = ops;
	pb->ctx = ctx;
	pb->seg = seg;
	pb->bus_start = bus_start;
	pb->bus_end = bus_end < bus_start ? bus_start : bus_end;
	pb->bus.name = "pci";
	pb->bus.kind = DRIVER_BUS_PCI;
	pb->bus.ops = &pci_bus_ops;
}

/* "bb:dd.f" for logs (struct device.name). */
static void
bdf_name(char *out, uint8_t bus, uint8_t dev, uint8_t fn)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = hex[bus >> 4];
	out[1] = hex[bus & 15];
	out[2] = ':';
	out[3] = hex[dev >> 4];
	out[4] = hex[dev & 15];
	out[5] = '.';
	out[6] = hex[fn & 7];
	out[7] = '\0';
}

/* ---- BARs -------------------------------------------------------------- */

/*
 * Size the BARs of one function (nbars: 6 for devices, 2 for bridges).
 * Decode is off while a BAR holds all-ones, otherwise the device would
 * briefly claim a bogus address range (PCI 3.0 6.2.5.1 implementation
 * note).
 */
static void
size_bars(struct pci_bus *pb, struct pci_dev *pd, int nbars)
{
	uint16_t cmd = (uint16_t)rd(pb, pd->bus, pd->dev, pd->fn, PCI_COMMAND, 2);
	/* Host bridges may decode more than their BARs (RAM, the ECAM
	   window itself): like Linux, never turn their decode off. */
	bool keep = (pd->class >> 8) == 0x0600;

	if (!keep)
		wr(pb, pd->bus, pd->dev, pd->fn, PCI_COMMAND, 2,
		    cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (int i = 0; i < nbars; i++) {
		uint16_t off = (uint16_t)(PCI_BAR0 + 4 * i);
		uint32_t orig = rd(pb, pd->bus, pd->dev, pd->fn, off, 4), sz;
		struct pci_bar *b = &pd->bars[i];

		if (orig & 1) {
			wr(pb, pd->bus, pd->dev, pd->fn, off, 4, 0xffffffffu);
			sz = rd(pb, pd->bus, pd->dev, pd->fn, off, 4);
			wr(pb, pd->bus, pd->dev, pd->fn, off, 4, orig);
			sz &= ~3u;
			if (sz == 0)
				continue;
			/* Upper 16 bits may read as 0 on 16-bit decoders. */
			if (!(sz & 0xffff0000u))
				sz |= 0xffff0000u;
			b->type = PCI_BAR_IO;
			b->base = orig & ~3u;
			b->size = (uint64_t)(~sz + 1u);
			continue;
		}

		bool is64 = ((orig >> 1) & 3) == 2;
		uint32_t orig_hi = 0, sz_hi = 0xffffffffu;
		uint64_t mask;

		if (is64 && i + 1 >= nbars) {
			log_warn("pci", "%02x:%02x.%x BAR%d is 64-bit in the last slot, ignored",
			    pd->bus, pd->dev, pd->fn, i);
			pb->nbad++;
			continue;
		}
		wr(pb, pd->bus, pd->dev, pd->fn, off, 4, 0xffffffffu);
		sz = rd(pb, pd->bus, pd->dev, pd->fn, off, 4);
		wr(pb, pd->bus, pd->dev, pd->fn, off, 4, orig);
		if (is64) {
			orig_hi = rd(pb, pd->bus, pd->dev, pd->fn, off + 4, 4);
			wr(pb, pd->bus, pd->dev, pd->fn, off + 4, 4, 0xffffffffu);
			sz_hi = rd(pb, pd->bus, pd->dev, pd->fn, off + 4, 4);
			wr(pb, pd->bus, pd->dev, pd->fn, off + 4, 4, orig_hi);
		}
		mask = ((uint64_t)sz_hi << 32) | (sz & ~0xfu);
		if (is64)
			i++;	/* the upper half is not a BAR of its own */
		if ((mask & 0xffffffffu) == 0 && (!is64 || sz_hi == 0))
			continue;	/* not implemented */
		b->type = is64 ? PCI_BAR_MEM64 : PCI_BAR_MEM32;
		b->prefetch = (orig & 8) != 0;
		b->base = ((uint64_t)orig_hi << 32) | (orig & ~0xfu);
		b->size = ~mask + 1;
	}
	if (!keep)
		wr(pb, pd->bus, pd->dev, pd->fn, PCI_COMMAND, 2, cmd);
}

/* ---- BARs the firmware assigned ----------------------------------------- */

void
pci_bus_set_fw(struct pci_bus *pb, const struct tern_pci_fw *fw, uint32_t n)
{
	pb->fw = n ? fw : NULL;
	pb->nfw = fw ? n : 0;
}

static bool
pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

const char *
pci_fw_bars_ok(const struct tern_pci_fw *r, const uint32_t *reg, int nbars)
{
	for (int i = 0; i < nbars; i++) {
		const struct tern_pci_fw_bar *b = &r->bar[i];
		uint32_t v = reg[i];
		uint64_t base;

		switch (b->type) {
		case TERN_PCI_FW_NONE:
			if (v != 0)
				return "unimplemented BAR reads non-zero";
			continue;
		case TERN_PCI_FW_IO:
			if (!(v & 1))
				return "I/O BAR is memory";
			if (b->base != (v & ~3u))
				return "I/O base differs";
			if (b->base == 0)
				return "I/O BAR unassigned";
			if (!pow2(b->size) || b->size < 4 || b->size > 256 ||
			    (b->base & (b->size - 1)) != 0)
				return "bad I/O size";
			continue;
		case TERN_PCI_FW_MEM32:
		case TERN_PCI_FW_MEM64:
			break;
		default:
			return "unknown BAR kind";
		}
		bool is64 = b->type == TERN_PCI_FW_MEM64;
		if ((v & 1) || ((v >> 1) & 3) != (is64 ? 2u : 0u))
			return "memory BAR kind differs";
		if (((v >> 3) & 1) != (b->prefetch ? 1u : 0u))
			return "prefetchability differs";
		base = v & ~0xfu;
		if (is64) {
			if (i + 1 >= nbars || r->bar[i + 1].type != TERN_PCI_FW_NONE)
				return "64-bit BAR without its upper slot";
			base |= (uint64_t)reg[i + 1] << 32;
		}
		if (b->base != base)
			return "memory base differs";
		if (base == 0)
			return "memory BAR unassigned";
		if (!pow2(b->size) || b->size < 16 ||
		    (b->base & (b->size - 1)) != 0 ||
		    (!is64 && b->size > (1ULL << 31)) ||
		    (is64 && b->size > (1ULL << 52)) ||
		    b->base + b->size < b->base ||
		    (!is64 && b->base + b->size > (1ULL << 32)))
			return "bad memory size";
		if (is64)
			i++;	/* the upper half, checked above */
	}
	return NULL;
}

/* Take pd's BARs from the firmware's record when it agrees with the
   registers: no config write at all.  Returns true when taken. */
static bool
bars_from_fw(struct pci_bus *pb, struct pci_dev *pd, int nbars)
{
	const struct tern_pci_fw *r = NULL;
	uint32_t reg[6];
	const char *why;

	for (uint32_t k = 0; k < pb->nfw; k++)
		if (pb->fw[k].seg == pb->seg && pb->fw[k].bus == pd->bus &&
		    pb->fw[k].dev == pd->dev && pb->fw[k].fn == pd->fn) {
			r = &pb->fw[k];
			break;
		}
	if (r == NULL)
		return false;
	for (int i = 0; i < nbars; i++)
		reg[i] = rd(pb, pd->bus, pd->dev, pd->fn,
		    (uint16_t)(PCI_BAR0 + 4 * i), 4);
	why = pci_fw_bars_ok(r, reg, nbars);
	if (why != NULL) {
		log_warn("pci", "%02x:%02x.%x firmware BARs not used (%s): sizing",
		    pd->bus, pd->dev, pd->fn, why);
		pb->fw_rejected++;
		return false;
	}
	for (int i = 0; i < nbars; i++) {
		const struct tern_pci_fw_bar *b = &r->bar[i];
		if (b->type == TERN_PCI_FW_NONE)
			continue;
		pd->bars[i].type = b->type;	/* same values as pci_bar_type */
		pd->bars[i].prefetch = b->prefetch != 0;
		pd->bars[i].base = b->base;
		pd->bars[i].size = b->size;
		if (b->type == TERN_PCI_FW_MEM64)
			i++;
	}
	pb->fw_used++;
	return true;
}

/* ---- capabilities ------------------------------------------------------ */

static bool
msix_range_ok(const struct pci_dev *pd, uint8_t bir, uint32_t off,
    uint64_t len)
{
	const struct pci_bar *b;

	if (bir > 5)
		return false;
	b = &pd->bars[bir];
	if (b->type != PCI_BAR_MEM32 && b->type != PCI_BAR_MEM64)
		return false;
	return (uint64_t)off + len <= b->size;
}

static void
read_msix(struct pci_bus *pb, struct pci_dev *pd, uint8_t cap)
{
	uint16_t ctrl = (uint16_t)rd(pb, pd->bus, pd->dev, pd->fn,
	    cap + PCI_MSIX_CTRL, 2);
	uint32_t t = rd(pb, pd->bus, pd->dev, pd->fn, cap + PCI_MSIX_TABLE, 4);
	uint32_t p = rd(pb, pd->bus, pd->dev, pd->fn, cap + PCI_MSIX_PBA, 4);
	uint16_t n = (uint16_t)((ctrl & 0x7ff) + 1);

	if (!msix_range_ok(pd, t & 7, t & ~7u, (uint64_t)n * PCI_MSIX_ENTRY_SIZE) ||
	    !msix_range_ok(pd, p & 7, p & ~7u, ((uint64_t)n + 63) / 64 * 8)) {
		log_warn("pci", "%02x:%02x.%x MSI-X table BIR %u+0x%x / PBA BIR %u+0x%x (%u entries) outside its BAR, MSI-X not used",
		    pd->bus, pd->dev, pd->fn, t & 7, t & ~7u, p & 7, p & ~7u, n);
		pb->nbad++;
		return;
	}
	pd->msix_cap = cap;
	pd->msix_count = n;
	pd->msix_table_bir = (uint8_t)(t & 7);
	pd->msix_table_off = t & ~7u;
	pd->msix_pba_bir = (uint8_t)(p & 7);
	pd->msix_pba_off = p & ~7u;
}

static void
walk_caps(struct pci_bus *pb, struct pci_dev *pd)
{
	uint8_t seen[256 / 8];
	uint8_t ptr;
	int n = 0;

	if (!(rd(pb, pd->bus, pd->dev, pd->fn, PCI_STATUS, 2) & PCI_STATUS_CAPS))
		return;
	memset(seen, 0, sizeof(seen));
	ptr = (uint8_t)rd(pb, pd->bus, pd->dev, pd->fn, PCI_CAP_PTR, 1) & 0xfc;
	/* At most 48 dword-aligned slots in 0x40..0xfc. */
	while (ptr >= 0x40 && n < 48) {
		uint8_t id, next;

		if (seen[ptr / 8] & (1u << (ptr % 8))) {
			log_warn("pci", "%02x:%02x.%x capability list loops at 0x%02x, rest ignored",
			    pd->bus, pd->dev, pd->fn, ptr);
			pb->nbad++;
			return;
		}
		seen[ptr / 8] |= (uint8_t)(1u << (ptr % 8));
		id = (uint8_t)rd(pb, pd->bus, pd->dev, pd->fn, ptr, 1);
		next = (uint8_t)rd(pb, pd->bus, pd->dev, pd->fn, ptr + 1, 1) & 0xfc;
		if (id == 0xff) {
			pb->nbad++;	/* all-ones: the function went away */
			return;
		}
		if (pd->ncaps < PCI_MAX_CAPS) {
			pd->caps[pd->ncaps].id = id;
			pd->caps[pd->ncaps].off = ptr;
			pd->ncaps++;
		}
		if (id == PCI_CAP_MSIX && pd->msix_cap == 0 && ptr <= 0xf4)
			read_msix(pb, pd, ptr);
		else if (id == PCI_CAP_MSI && pd->msi_cap == 0)
			pd->msi_cap = ptr;
		ptr = next;
		n++;
	}
}

uint8_t
pci_find_cap(const struct pci_dev *pd, uint8_t id, uint8_t after)
{
	bool passed = after == 0;

	for (int i = 0; i < pd->ncaps; i++) {
		if (passed && pd->caps[i].id == id)
			return pd->caps[i].off;
		if (pd->caps[i].off == after)
			passed = true;
	}
	return 0;
}

/* ---- the walk ---------------------------------------------------------- */

static bool
bus_scanned(const struct pci_bus *pb, uint8_t bus)
{
	return (pb->scanned[bus / 8] >> (bus % 8)) & 1;
}

void
pci_dev_load(struct pci_dev *pd)
{
	static const char *const kinds[] = { "-", "io", "mem32", "mem64" };

	if (pd->loaded)
		return;
	pd->loaded = true;
	if (pd->hdr_type <= 1) {
		int nbars = pd->hdr_type == 0 ? 6 : 2;
		if (!bars_from_fw(pd->pb, pd, nbars))
			size_bars(pd->pb, pd, nbars);
	}
	if (pd->hdr_type <= 1)
		walk_caps(pd->pb, pd);
	for (int b = 0; b < 6; b++) {
		const struct pci_bar *bar = &pd->bars[b];
		if (bar->type == PCI_BAR_NONE)
			continue;
		log_debug("pci", "%02x:%02x.%x BAR%d %s%s base=0x%llx size=0x%llx",
		    pd->bus, pd->dev, pd->fn, b, kinds[bar->type],
		    bar->prefetch ? " prefetch" : "",
		    (ull)bar->base, (ull)bar->size);
	}
	if (pd->msix_count)
		log_debug("pci", "%02x:%02x.%x MSI-X %u vectors table BAR%u+0x%x pba BAR%u+0x%x",
		    pd->bus, pd->dev, pd->fn, pd->msix_count,
		    pd->msix_table_bir, pd->msix_table_off,
		    pd->msix_pba_bir, pd->msix_pba_off);
}

static void scan_bus(struct pci_bus *pb, uint8_t bus, int depth);

static void
probe_fn(struct pci_bus *pb, uint8_t bus, uint8_t dev, uint8_t fn, int depth)
{
	uint32_t id = rd(pb, bus, dev, fn, PCI_VENDOR_ID, 4), cr;
	struct pci_dev *pd;

	if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
		return;
	if (pb->ndevs >= PCI_MAX_DEVS) {
		if (pb->ndropped++ == 0)
			log_warn("pci", "more than %d functions, the rest ignored",
			    PCI_MAX_DEVS);
		return;
	}
	pd = &pb->devs[pb->ndevs++];
	memset(pd, 0, sizeof(*pd));
	pd->pb = pb;
	pd->seg = pb->seg;
	pd->bus = bus;
	pd->dev = dev;
	pd->fn = fn;
	pd->base.bus = &pb->bus;
	bdf_name(pd->base.name, bus, dev, fn);
	pd->vendor = (uint16_t)id;
	pd->device = (uint16_t)(id >> 16);
	cr = rd(pb, bus, dev, fn, PCI_REVISION, 4);
	pd->rev = (uint8_t)cr;
	pd->class = cr >> 8;
	pd->hdr_type = (uint8_t)rd(pb, bus, dev, fn, PCI_HEADER_TYPE, 1) & 0x7f;
	pd->irq_line = (uint8_t)rd(pb, bus, dev, fn, PCI_INTR_LINE, 1);
	pd->irq_pin = (uint8_t)rd(pb, bus, dev, fn, PCI_INTR_PIN, 1);
	if (pb->ops->window != NULL)
		pd->ecam = pb->ops->window(pb->ctx, bus, dev, fn);

	if (pd->hdr_type == 0) {
		pd->subsys_vendor = (uint16_t)rd(pb, bus, dev, fn, PCI_SUBSYS_VENDOR, 2);
		pd->subsys_id = (uint16_t)rd(pb, bus, dev, fn, PCI_SUBSYS_ID, 2);
	}
	/* A device's BARs and capabilities wait for a driver (pci_dev_load);
	   a bridge's are read now, before the walk goes behind it. */
	if (pd->hdr_type == 1) {
		pci_dev_load(pd);
		uint8_t sec = (uint8_t)rd(pb, bus, dev, fn, PCI_SECONDARY_BUS, 1);

		pd->sec_bus = sec;
		if (sec <= bus || sec < pb->bus_start || sec > pb->bus_end ||
		    bus_scanned(pb, sec)) {
			log_warn("pci", "%02x:%02x.%x bridge to bus %02x: out of range or already scanned, not followed",
			    bus, dev, fn, sec);
			pb->nbad++;
		} else if (depth + 1 >= PCI_MAX_DEPTH) {
			log_warn("pci", "%02x:%02x.%x bridges nested deeper than %d, not followed",
			    bus, dev, fn, PCI_MAX_DEPTH);
			pb->nbad++;
		} else {
			scan_bus(pb, sec, depth + 1);
		}
	}
}

static void
scan_bus(struct pci_bus *pb, uint8_t bus, int depth)
{
	pb->scanned[bus / 8] |= (uint8_t)(1u << (bus % 8));
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint16_t vendor = (uint16_t)rd(pb, bus, dev, 0, PCI_VENDOR_ID, 2);
		uint8_t nfn = 1;

		if (vendor == 0xffff || vendor == 0)
			continue;	/* function 0 absent: no device */
		if (rd(pb, bus, dev, 0, PCI_HEADER_TYPE, 1) & PCI_HDR_MULTIFN)
			nfn = 8;
		for (uint8_t fn = 0; fn < nfn; fn++)
			probe_fn(pb, bus, dev, fn, depth);
	}
}

int
pci_enumerate(struct pci_bus *pb)
{
	pb->ndevs = 0;
	memset(pb->scanned, 0, sizeof(pb->scanned));
	scan_bus(pb, pb->bus_start, 0);
	return (int)pb->ndevs;
}

void
pci_report(const struct pci_bus *pb)
{
	for (uint32_t i = 0; i < pb->ndevs; i++) {
		const struct pci_dev *pd = &pb->devs[i];

		marker("PCI bdf=%02x:%02x.%x id=%04x:%04x class=%06x",
		    pd->bus, pd->dev, pd->fn, pd->vendor, pd->device,
		    (unsigned)pd->class);
	}
	if (pb->nbad)
		log_warn("pci", "segment %u: %u inconsistencies (see above)",
		    pb->seg, pb->nbad);
}

void
pci_enable(const struct pci_dev *pd, bool master)
{
	uint16_t cmd = pci_cfg_read16(pd, PCI_COMMAND);

	for (int i = 0; i < 6; i++) {
		if (pd->bars[i].type == PCI_BAR_IO)
			cmd |= PCI_CMD_IO;
		else if (pd->bars[i].type != PCI_BAR_NONE)
			cmd |= PCI_CMD_MEM;
	}
	if (master)
		cmd |= PCI_CMD_MASTER;
	pci_cfg_write16(pd, PCI_COMMAND, cmd);
}

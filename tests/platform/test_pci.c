/*
 * test_pci.c - PCI enumeration over a fake config space: bridges (and a
 * bridge loop), multifunction devices, absent (all-ones) functions,
 * 32/64-bit and prefetchable memory BARs and I/O BARs sized with decode
 * off, BARs taken from the firmware's records instead (and every way a
 * record can disagree), capability lists including a loop, MSI-X location
 * and validation, and the driver registry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/hw/hw.h"
#include "kernel/pci/pci.h"
#include "tests/platform/fake_fw.h"

#define NBUS 4

/* A fake function: 256 bytes of config space plus BAR size masks. */
struct ffn {
	bool present;
	uint8_t cfg[256];
	uint64_t bar_size[6];	/* 0: not implemented */
	uint8_t bar_kind[6];	/* enum pci_bar_type of BAR i */
	unsigned writes;	/* config writes to this function */
};

struct fake_pci {
	struct ffn f[NBUS][32][8];
	unsigned decode_violations;	/* BAR all-ones with decode on */
	unsigned reads;
};

static uint32_t
get(const uint8_t *p, int width)
{
	uint32_t v = 0;
	for (int i = 0; i < width; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void
put(uint8_t *p, int width, uint32_t v)
{
	for (int i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
fake_read(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off,
    int width)
{
	struct fake_pci *fp = ctx;

	fp->reads++;
	assert_true(off + width <= 256 && off % width == 0);
	if (bus >= NBUS || !fp->f[bus][dev][fn].present)
		return width == 4 ? 0xffffffffu : width == 2 ? 0xffff : 0xff;
	return get(fp->f[bus][dev][fn].cfg + off, width);
}

static void
fake_write(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off,
    int width, uint32_t v)
{
	struct fake_pci *fp = ctx;
	struct ffn *f;

	assert_true(off + width <= 256 && off % width == 0);
	if (bus >= NBUS || !fp->f[bus][dev][fn].present)
		return;
	f = &fp->f[bus][dev][fn];
	f->writes++;
	if (off >= PCI_BAR0 && off < PCI_BAR0 + 24 && width == 4 &&
	    (f->cfg[PCI_HEADER_TYPE] & 0x7f) == 0) {
		int i = (off - PCI_BAR0) / 4;
		uint16_t cmd = (uint16_t)get(f->cfg + PCI_COMMAND, 2);
		uint32_t low;

		/* Host bridges (class 06 00) are exempt: their decode is
		   never turned off. */
		if (v == 0xffffffffu && (cmd & (PCI_CMD_IO | PCI_CMD_MEM)) &&
		    !(f->cfg[0x0b] == 0x06 && f->cfg[0x0a] == 0x00))
			fp->decode_violations++;
		/* Upper half of a 64-bit BAR. */
		if (i > 0 && f->bar_kind[i - 1] == PCI_BAR_MEM64) {
			uint64_t mask = ~(f->bar_size[i - 1] - 1);
			put(f->cfg + off, 4, v & (uint32_t)(mask >> 32));
			return;
		}
		switch (f->bar_kind[i]) {
		case PCI_BAR_IO:
			low = (v & ~(uint32_t)(f->bar_size[i] - 1) & 0xfffcu) | 1;
			break;
		case PCI_BAR_MEM32:
		case PCI_BAR_MEM64:
			low = (v & ~(uint32_t)(f->bar_size[i] - 1) & ~0xfu) |
			    (get(f->cfg + off, 4) & 0xf);
			break;
		default:
			low = 0;
		}
		put(f->cfg + off, 4, low);
		return;
	}
	if (off == PCI_COMMAND && width == 2) {
		put(f->cfg + off, 2, v);
		return;
	}
	if (off >= 0x10)
		put(f->cfg + off, width, v);
}

static const struct pci_cfg_ops fake_ops = {
	.read = fake_read, .write = fake_write, .window = NULL,
};

static struct ffn *
add_fn(struct fake_pci *fp, int bus, int dev, int fn, uint16_t vendor,
    uint16_t device, uint32_t class, uint8_t hdr)
{
	struct ffn *f = &fp->f[bus][dev][fn];

	f->present = true;
	put(f->cfg + PCI_VENDOR_ID, 2, vendor);
	put(f->cfg + PCI_DEVICE_ID, 2, device);
	put(f->cfg + PCI_REVISION, 4, (class << 8) | 1);
	f->cfg[PCI_HEADER_TYPE] = hdr;
	put(f->cfg + PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_IO);
	f->cfg[PCI_INTR_PIN] = 1;
	f->cfg[PCI_INTR_LINE] = 11;
	return f;
}

static void
add_bar(struct ffn *f, int i, int kind, uint64_t base, uint64_t size,
    bool prefetch)
{
	uint32_t low;

	f->bar_kind[i] = (uint8_t)kind;
	f->bar_size[i] = size;
	if (kind == PCI_BAR_IO)
		low = (uint32_t)base | 1;
	else
		low = (uint32_t)base | (kind == PCI_BAR_MEM64 ? 4 : 0) |
		    (prefetch ? 8 : 0);
	put(f->cfg + PCI_BAR0 + 4 * i, 4, low);
	if (kind == PCI_BAR_MEM64)
		put(f->cfg + PCI_BAR0 + 4 * (i + 1), 4, (uint32_t)(base >> 32));
}

static void
add_cap(struct ffn *f, uint8_t off, uint8_t id, uint8_t next)
{
	if (!(f->cfg[PCI_STATUS] & PCI_STATUS_CAPS)) {
		f->cfg[PCI_STATUS] |= PCI_STATUS_CAPS;
		f->cfg[PCI_CAP_PTR] = off;
	}
	f->cfg[off] = id;
	f->cfg[off + 1] = next;
}

static void
add_msix(struct ffn *f, uint8_t off, uint8_t next, uint16_t n, uint8_t tbir,
    uint32_t toff, uint8_t pbir, uint32_t poff)
{
	add_cap(f, off, PCI_CAP_MSIX, next);
	put(f->cfg + off + 2, 2, (uint16_t)(n - 1));
	put(f->cfg + off + 4, 4, toff | tbir);
	put(f->cfg + off + 8, 4, poff | pbir);
}

static void
bridge(struct fake_pci *fp, int bus, int dev, uint8_t sec)
{
	struct ffn *f = add_fn(fp, bus, dev, 0, 0x1b36, 0x000c, 0x060400, 1);
	f->cfg[PCI_PRIMARY_BUS] = (uint8_t)bus;
	f->cfg[PCI_SECONDARY_BUS] = sec;
	f->cfg[PCI_SUBORDINATE_BUS] = sec;
}

/* The topology most tests use. */
static void
build_tree(struct fake_pci *fp)
{
	struct ffn *f;

	add_fn(fp, 0, 0, 0, 0x8086, 0x29c0, 0x060000, 0);
	/* virtio-net modern: vendor caps then MSI-X in BAR4. */
	f = add_fn(fp, 0, 1, 0, 0x1af4, 0x1041, 0x020000, 0);
	add_bar(f, 1, PCI_BAR_MEM32, 0xc0001000, 0x1000, false);
	add_bar(f, 4, PCI_BAR_MEM64, 0x800000000ull, 0x4000, true);
	add_cap(f, 0x40, PCI_CAP_VENDOR, 0x50);
	add_cap(f, 0x50, PCI_CAP_VENDOR, 0x60);
	add_msix(f, 0x60, 0x70, 3, 1, 0x0, 1, 0x800);
	add_cap(f, 0x70, PCI_CAP_VENDOR, 0);
	/* A multifunction device: nvme at fn 0, AHCI with an I/O BAR at
	   fn 3, fns 1-2 absent. */
	f = add_fn(fp, 0, 2, 0, 0x1b36, 0x0010, 0x010802, 0x80);
	add_bar(f, 0, PCI_BAR_MEM64, 0xc0004000, 0x4000, false);
	add_msix(f, 0x40, 0, 65, 0, 0x2000, 0, 0x3000);
	f = add_fn(fp, 0, 2, 3, 0x8086, 0x2922, 0x010601, 0);
	add_bar(f, 4, PCI_BAR_IO, 0xc040, 0x20, false);
	/* Bridge 0:3.0 -> bus 1, which has a bridge to bus 2. */
	bridge(fp, 0, 3, 1);
	bridge(fp, 1, 0, 2);
	f = add_fn(fp, 1, 1, 0, 0x1af4, 0x1042, 0x010000, 0);
	add_bar(f, 4, PCI_BAR_MEM64, 0xfe000000ull, 0x4000, true);
	f = add_fn(fp, 2, 0, 0, 0x1d0f, 0xec20, 0x020000, 0);
	add_bar(f, 0, PCI_BAR_MEM32, 0xc1000000, 0x4000, false);
	add_bar(f, 2, PCI_BAR_MEM32, 0xc1100000, 0x100000, true);
	/* A bridge on bus 2 pointing back at bus 1: must not loop. */
	bridge(fp, 2, 1, 1);
}

struct ctx {
	struct fake_pci fp;
	struct pci_bus pb;
};

static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	kstub_reset();
	pci_bus_init(&c->pb, &fake_ops, &c->fp, 0, 0, 255);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

static const struct pci_dev *
find(const struct pci_bus *pb, int bus, int dev, int fn)
{
	for (uint32_t i = 0; i < pb->ndevs; i++)
		if (pb->devs[i].bus == bus && pb->devs[i].dev == dev &&
		    pb->devs[i].fn == fn)
			return &pb->devs[i];
	return NULL;
}

/* What a driver's match does for its function: size BARs, walk caps. */
static void
load_all(struct pci_bus *pb)
{
	for (uint32_t i = 0; i < pb->ndevs; i++)
		pci_dev_load(&pb->devs[i]);
}

static void
test_enumerate_tree(void **state)
{
	struct ctx *c = *state;
	const struct pci_dev *pd;

	build_tree(&c->fp);
	assert_int_equal(pci_enumerate(&c->pb), 9);
	load_all(&c->pb);
	assert_int_equal(c->fp.decode_violations, 0);
	/* Only the bridge loop is inconsistent. */
	assert_int_equal(c->pb.nbad, 1);

	/* The host bridge's decode was never turned off. */
	assert_int_equal(c->fp.f[0][0][0].cfg[PCI_COMMAND], PCI_CMD_MEM | PCI_CMD_IO);

	pd = find(&c->pb, 0, 1, 0);
	assert_non_null(pd);
	assert_int_equal(pd->vendor, 0x1af4);
	assert_int_equal(pd->device, 0x1041);
	assert_int_equal(pd->class, 0x020000);
	assert_int_equal(pd->bars[1].type, PCI_BAR_MEM32);
	assert_int_equal(pd->bars[1].base, 0xc0001000);
	assert_int_equal(pd->bars[1].size, 0x1000);
	assert_int_equal(pd->bars[4].type, PCI_BAR_MEM64);
	assert_true(pd->bars[4].prefetch);
	assert_int_equal(pd->bars[4].base, 0x800000000ull);
	assert_int_equal(pd->bars[4].size, 0x4000);
	assert_int_equal(pd->bars[5].type, PCI_BAR_NONE);
	assert_int_equal(pd->bars[0].type, PCI_BAR_NONE);
	assert_int_equal(pd->ncaps, 4);
	assert_int_equal(pd->msix_count, 3);
	assert_int_equal(pd->msix_table_bir, 1);
	assert_int_equal(pd->msix_table_off, 0);
	assert_int_equal(pd->msix_pba_off, 0x800);
	assert_int_equal(pci_find_cap(pd, PCI_CAP_VENDOR, 0), 0x40);
	assert_int_equal(pci_find_cap(pd, PCI_CAP_VENDOR, 0x40), 0x50);
	assert_int_equal(pci_find_cap(pd, PCI_CAP_VENDOR, 0x50), 0x70);
	assert_int_equal(pci_find_cap(pd, PCI_CAP_VENDOR, 0x70), 0);
	assert_int_equal(pci_find_cap(pd, PCI_CAP_MSI, 0), 0);
	/* Decode restored after sizing. */
	assert_int_equal(pci_cfg_read16(pd, PCI_COMMAND), PCI_CMD_MEM | PCI_CMD_IO);

	pd = find(&c->pb, 0, 2, 0);
	assert_non_null(pd);
	assert_int_equal(pd->bars[0].type, PCI_BAR_MEM64);
	assert_int_equal(pd->bars[0].size, 0x4000);
	assert_int_equal(pd->bars[1].type, PCI_BAR_NONE);
	assert_int_equal(pd->msix_count, 65);
	assert_null(find(&c->pb, 0, 2, 1));
	pd = find(&c->pb, 0, 2, 3);
	assert_non_null(pd);
	assert_int_equal(pd->bars[4].type, PCI_BAR_IO);
	assert_int_equal(pd->bars[4].base, 0xc040);
	assert_int_equal(pd->bars[4].size, 0x20);

	pd = find(&c->pb, 0, 3, 0);
	assert_int_equal(pd->hdr_type, 1);
	assert_int_equal(pd->sec_bus, 1);
	assert_non_null(find(&c->pb, 1, 1, 0));
	pd = find(&c->pb, 2, 0, 0);
	assert_non_null(pd);
	assert_int_equal(pd->vendor, 0x1d0f);
	assert_int_equal(pd->bars[2].size, 0x100000);
	assert_true(pd->bars[2].prefetch);
	assert_non_null(find(&c->pb, 2, 1, 0));	/* the looping bridge */
	/* BAR values are restored after sizing. */
	assert_int_equal(pci_cfg_read32(pd, PCI_BAR0), 0xc1000000);
}

/*
 * The walk reads a device's identity only: no config write (no BAR
 * sizing, no decode toggle) reaches a function until pci_dev_load, which
 * the bus's match hook calls for a function a driver wants.  Bridges are
 * loaded during the walk.  Loading twice sizes once.
 */
static void
test_load_only_when_claimed(void **state)
{
	struct ctx *c = *state;
	struct pci_dev *pd;

	build_tree(&c->fp);
	assert_int_equal(pci_enumerate(&c->pb), 9);
	for (uint32_t i = 0; i < c->pb.ndevs; i++) {
		pd = &c->pb.devs[i];
		struct ffn *f = &c->fp.f[pd->bus][pd->dev][pd->fn];

		if (pd->hdr_type == 1) {
			assert_true(pd->loaded);
			continue;
		}
		assert_false(pd->loaded);
		assert_int_equal(f->writes, 0);
		for (int b = 0; b < 6; b++)
			assert_int_equal(pd->bars[b].type, PCI_BAR_NONE);
		assert_int_equal(pd->ncaps, 0);
	}
	pd = (struct pci_dev *)(uintptr_t)find(&c->pb, 0, 1, 0);
	pci_dev_load(pd);
	unsigned w = c->fp.f[0][1][0].writes;
	assert_true(w > 0);
	assert_int_equal(pd->bars[1].size, 0x1000);
	assert_int_equal(pd->msix_count, 3);
	pci_dev_load(pd);
	assert_int_equal(c->fp.f[0][1][0].writes, w);
}

static void
test_report_lines(void **state)
{
	struct ctx *c = *state;

	build_tree(&c->fp);
	pci_enumerate(&c->pb);
	pci_report(&c->pb);
	assert_string_equal(kstub_markers,
	    "TERN PCI bdf=00:00.0 id=8086:29c0 class=060000\n"
	    "TERN PCI bdf=00:01.0 id=1af4:1041 class=020000\n"
	    "TERN PCI bdf=00:02.0 id=1b36:0010 class=010802\n"
	    "TERN PCI bdf=00:02.3 id=8086:2922 class=010601\n"
	    "TERN PCI bdf=00:03.0 id=1b36:000c class=060400\n"
	    "TERN PCI bdf=01:00.0 id=1b36:000c class=060400\n"
	    "TERN PCI bdf=02:00.0 id=1d0f:ec20 class=020000\n"
	    "TERN PCI bdf=02:01.0 id=1b36:000c class=060400\n"
	    "TERN PCI bdf=01:01.0 id=1af4:1042 class=010000\n");
}

static void
test_single_function_not_probed(void **state)
{
	struct ctx *c = *state;

	/* Device 4: single-function, yet "fn 1" would answer (some
	   devices decode only dev/ignore fn): must not be listed. */
	add_fn(&c->fp, 0, 4, 0, 0x1234, 0x0001, 0xff0000, 0);
	add_fn(&c->fp, 0, 4, 1, 0x1234, 0x0001, 0xff0000, 0);
	/* Device 5: fn 0 absent, fn 2 present: no device. */
	add_fn(&c->fp, 0, 5, 2, 0x1234, 0x0002, 0xff0000, 0);
	/* Vendor 0: absent. */
	add_fn(&c->fp, 0, 6, 0, 0x0000, 0x0000, 0, 0);
	assert_int_equal(pci_enumerate(&c->pb), 1);
	assert_non_null(find(&c->pb, 0, 4, 0));
}

static void
test_cap_loop(void **state)
{
	struct ctx *c = *state;
	struct ffn *f = add_fn(&c->fp, 0, 0, 0, 0x1234, 0x5678, 0x020000, 0);
	const struct pci_dev *pd;

	add_cap(f, 0x40, PCI_CAP_PM, 0x48);
	add_cap(f, 0x48, PCI_CAP_MSI, 0x40);	/* loop back */
	assert_int_equal(pci_enumerate(&c->pb), 1);
	load_all(&c->pb);
	pd = find(&c->pb, 0, 0, 0);
	assert_int_equal(pd->ncaps, 2);
	assert_int_equal(pd->msi_cap, 0x48);
	assert_int_equal(c->pb.nbad, 1);

	/* Self loop, and pointers below 0x40 end the list. */
	memset(&c->fp, 0, sizeof(c->fp));
	f = add_fn(&c->fp, 0, 0, 0, 0x1234, 0x5678, 0x020000, 0);
	add_cap(f, 0xfc, PCI_CAP_VENDOR, 0xfc);
	f = add_fn(&c->fp, 0, 1, 0, 0x1234, 0x5679, 0x020000, 0);
	add_cap(f, 0x40, PCI_CAP_VENDOR, 0x3c);
	c->pb.nbad = 0;
	assert_int_equal(pci_enumerate(&c->pb), 2);
	load_all(&c->pb);
	assert_int_equal(c->pb.devs[0].ncaps, 1);
	assert_int_equal(c->pb.devs[1].ncaps, 1);
	assert_int_equal(c->pb.nbad, 1);
}

static void
test_long_cap_chain_bounded(void **state)
{
	struct ctx *c = *state;
	struct ffn *f = add_fn(&c->fp, 0, 0, 0, 0x1234, 0x5678, 0x020000, 0);

	/* 48 distinct capabilities: recorded up to PCI_MAX_CAPS, walk ends. */
	for (int off = 0x40; off <= 0xfc; off += 4)
		add_cap(f, (uint8_t)off, PCI_CAP_VENDOR,
		    (uint8_t)(off == 0xfc ? 0 : off + 4));
	assert_int_equal(pci_enumerate(&c->pb), 1);
	load_all(&c->pb);
	assert_int_equal(c->pb.devs[0].ncaps, PCI_MAX_CAPS);
	assert_int_equal(c->pb.nbad, 0);
}

static void
test_bad_bars_and_msix(void **state)
{
	struct ctx *c = *state;
	struct ffn *f;
	const struct pci_dev *pd;

	/* 64-bit BAR in slot 5. */
	f = add_fn(&c->fp, 0, 0, 0, 0x1234, 0x0001, 0x020000, 0);
	f->bar_kind[5] = PCI_BAR_MEM64;
	f->bar_size[5] = 0x1000;
	put(f->cfg + PCI_BAR0 + 20, 4, 0xc0000004);
	/* MSI-X table beyond its 4 KiB BAR, and a BIR of 7. */
	f = add_fn(&c->fp, 0, 1, 0, 0x1234, 0x0002, 0x020000, 0);
	add_bar(f, 0, PCI_BAR_MEM32, 0xc0010000, 0x1000, false);
	add_msix(f, 0x40, 0x50, 64, 0, 0xc08, 0, 0xb00);
	f = add_fn(&c->fp, 0, 2, 0, 0x1234, 0x0003, 0x020000, 0);
	add_bar(f, 0, PCI_BAR_MEM32, 0xc0020000, 0x1000, false);
	add_msix(f, 0x40, 0, 4, 7, 0, 0, 0x800);
	/* MSI-X in an I/O BAR. */
	f = add_fn(&c->fp, 0, 3, 0, 0x1234, 0x0004, 0x020000, 0);
	add_bar(f, 0, PCI_BAR_IO, 0xc000, 0x100, false);
	add_msix(f, 0x40, 0, 4, 0, 0, 0, 0x80);

	assert_int_equal(pci_enumerate(&c->pb), 4);
	load_all(&c->pb);
	pd = find(&c->pb, 0, 0, 0);
	assert_int_equal(pd->bars[5].type, PCI_BAR_NONE);
	assert_int_equal(find(&c->pb, 0, 1, 0)->msix_count, 0);
	assert_int_equal(find(&c->pb, 0, 2, 0)->msix_count, 0);
	assert_int_equal(find(&c->pb, 0, 3, 0)->msix_count, 0);
	assert_int_equal(c->pb.nbad, 4);
	assert_int_equal(c->fp.decode_violations, 0);
}

static void
test_bridge_out_of_range(void **state)
{
	struct ctx *c = *state;

	pci_bus_init(&c->pb, &fake_ops, &c->fp, 0, 0, 1);	/* MCFG: 0-1 */
	bridge(&c->fp, 0, 1, 2);	/* beyond bus_end */
	bridge(&c->fp, 0, 2, 0);	/* to itself */
	assert_int_equal(pci_enumerate(&c->pb), 2);
	assert_int_equal(c->pb.nbad, 2);
}

/* An empty segment costs one vendor probe per device slot of bus 0. */
static void
test_all_ones_everywhere(void **state)
{
	struct ctx *c = *state;

	/* Nothing present: every read is all-ones. */
	assert_int_equal(pci_enumerate(&c->pb), 0);
	/* 32 vendor probes on bus 0 only. */
	assert_true(c->fp.reads <= 40);
}

/* ---- BARs the firmware assigned (the loader's tern_pci_fw records) ------ */

static void
fw_bar(struct tern_pci_fw *r, int i, int type, uint64_t base, uint64_t size,
    bool prefetch)
{
	r->bar[i].type = (uint8_t)type;
	r->bar[i].base = base;
	r->bar[i].size = size;
	r->bar[i].prefetch = prefetch;
}

/* What OVMF reports for build_tree's virtio-net (0:1.0), AHCI (0:2.3)
   and the ENA behind two bridges (2:0.0). */
static int
fw_tree(struct tern_pci_fw *r)
{
	memset(r, 0, 3 * sizeof(*r));
	r[0].bus = 0, r[0].dev = 1, r[0].fn = 0;
	fw_bar(&r[0], 1, TERN_PCI_FW_MEM32, 0xc0001000, 0x1000, false);
	fw_bar(&r[0], 4, TERN_PCI_FW_MEM64, 0x800000000ull, 0x4000, true);
	r[1].bus = 0, r[1].dev = 2, r[1].fn = 3;
	fw_bar(&r[1], 4, TERN_PCI_FW_IO, 0xc040, 0x20, false);
	r[2].bus = 2, r[2].dev = 0, r[2].fn = 0;
	fw_bar(&r[2], 0, TERN_PCI_FW_MEM32, 0xc1000000, 0x4000, false);
	fw_bar(&r[2], 2, TERN_PCI_FW_MEM32, 0xc1100000, 0x100000, true);
	return 3;
}

/* A fresh bus over build_tree, with fw_tree's records in r (not set). */
static void
fw_reset(struct ctx *c, struct tern_pci_fw *r)
{
	memset(c, 0, sizeof(*c));
	pci_bus_init(&c->pb, &fake_ops, &c->fp, 0, 0, 255);
	build_tree(&c->fp);
	fw_tree(r);
}

/* Hand the bus n records, enumerate and load every function. */
static void
fw_load(struct ctx *c, const struct tern_pci_fw *r, uint32_t n)
{
	pci_bus_set_fw(&c->pb, r, n);
	pci_enumerate(&c->pb);
	load_all(&c->pb);
}

/*
 * A function the firmware described is loaded without one config write
 * (no sizing, no decode toggle), with the BARs sizing would have found,
 * and its capabilities walked as before; functions without a record are
 * sized.
 */
static void
test_fw_bars_used(void **state)
{
	struct ctx *c = *state;
	struct tern_pci_fw r[3];
	const struct pci_dev *pd;

	build_tree(&c->fp);
	pci_bus_set_fw(&c->pb, r, (uint32_t)fw_tree(r));
	assert_int_equal(pci_enumerate(&c->pb), 9);
	load_all(&c->pb);
	assert_int_equal(c->pb.fw_used, 3);
	assert_int_equal(c->pb.fw_rejected, 0);
	assert_int_equal(c->fp.decode_violations, 0);
	assert_int_equal(c->fp.f[0][1][0].writes, 0);
	assert_int_equal(c->fp.f[0][2][3].writes, 0);
	assert_int_equal(c->fp.f[2][0][0].writes, 0);
	assert_true(c->fp.f[0][2][0].writes > 0);	/* nvme: no record */

	pd = find(&c->pb, 0, 1, 0);
	assert_int_equal(pd->bars[0].type, PCI_BAR_NONE);
	assert_int_equal(pd->bars[1].type, PCI_BAR_MEM32);
	assert_false(pd->bars[1].prefetch);
	assert_int_equal(pd->bars[1].base, 0xc0001000);
	assert_int_equal(pd->bars[1].size, 0x1000);
	assert_int_equal(pd->bars[4].type, PCI_BAR_MEM64);
	assert_true(pd->bars[4].prefetch);
	assert_int_equal(pd->bars[4].base, 0x800000000ull);
	assert_int_equal(pd->bars[4].size, 0x4000);
	assert_int_equal(pd->bars[5].type, PCI_BAR_NONE);
	assert_int_equal(pd->msix_count, 3);
	assert_int_equal(pd->msix_pba_off, 0x800);
	pd = find(&c->pb, 0, 2, 3);
	assert_int_equal(pd->bars[4].type, PCI_BAR_IO);
	assert_int_equal(pd->bars[4].base, 0xc040);
	assert_int_equal(pd->bars[4].size, 0x20);
	pd = find(&c->pb, 2, 0, 0);
	assert_int_equal(pd->bars[2].size, 0x100000);
	assert_true(pd->bars[2].prefetch);

	/* Another segment's records are not this bus's. */
	fw_reset(c, r);
	r[0].seg = 1;
	fw_load(c, r, 1);
	assert_int_equal(c->pb.fw_used, 0);
	assert_true(c->fp.f[0][1][0].writes > 0);
}

/*
 * A record that disagrees with the registers in any way is not used: the
 * function is sized as if there were none (decode off while sizing), the
 * sized values win, and the disagreement is counted.
 */
static void
test_fw_bars_disagree(void **state)
{
	struct ctx *c = *state;
	struct tern_pci_fw r[3];
	const struct pci_dev *pd;

	for (int m = 0; m < 13; m++) {
		fw_reset(c, r);
		switch (m) {
		case 0: r[0].bar[1].base = 0xc0002000; break;
		case 1: r[0].bar[1].type = TERN_PCI_FW_MEM64; break;
		case 2: r[0].bar[4].prefetch = 0; break;
		case 3: r[0].bar[1].size = 0x1800; break;
		case 4: r[0].bar[1].size = 0x2000; break;	/* misaligned */
		case 5: r[0].bar[1].type = TERN_PCI_FW_NONE; break;
		case 6: fw_bar(&r[0], 5, TERN_PCI_FW_MEM32, 0, 0x1000, false); break;
		case 7: r[0].bar[1].type = 9; break;
		case 8: r[0].bar[1].type = TERN_PCI_FW_IO; r[0].bar[1].size = 0x100; break;
		case 9: r[0].bar[1].size = 0; break;
		case 10: r[0].bar[1].size = 8; r[0].bar[1].base = 0xc0001000; break;
		case 11: r[0].bar[4].base = 0x900000000ull; break;
		case 12: r[0].bar[3].type = TERN_PCI_FW_MEM32;	/* slot 3 reads 0 */
			r[0].bar[3].base = 0; r[0].bar[3].size = 0x1000; break;
		}
		fw_load(c, r, 3);
		pd = find(&c->pb, 0, 1, 0);
		if (c->pb.fw_rejected != 1 || c->fp.f[0][1][0].writes == 0)
			fail_msg("mutation %d: record used", m);
		assert_int_equal(c->pb.fw_used, 2);
		assert_int_equal(c->fp.decode_violations, 0);
		assert_int_equal(pd->bars[1].type, PCI_BAR_MEM32);
		assert_int_equal(pd->bars[1].base, 0xc0001000);
		assert_int_equal(pd->bars[1].size, 0x1000);
		assert_int_equal(pd->bars[4].base, 0x800000000ull);
		assert_int_equal(pd->bars[4].size, 0x4000);
		assert_int_equal(pd->bars[3].type, PCI_BAR_NONE);
		assert_int_equal(pd->bars[5].type, PCI_BAR_NONE);
		assert_int_equal(pci_cfg_read16(pd, PCI_COMMAND),
		    PCI_CMD_MEM | PCI_CMD_IO);
	}

	/* A record for a function that is not there is never matched. */
	fw_reset(c, r);
	r[0].fn = 1;
	fw_load(c, r, 3);
	assert_int_equal(c->pb.fw_used, 2);
	assert_int_equal(c->pb.fw_rejected, 0);
	assert_true(c->fp.f[0][1][0].writes > 0);
}

/* The checks on their own: a 64-bit BAR in the last slot, a 32-bit BAR
   past 4 GiB, I/O sizes out of range. */
static void
test_fw_bars_ok_edges(void **state)
{
	struct tern_pci_fw r;
	uint32_t reg[6] = { 0 };

	(void)state;
	memset(&r, 0, sizeof(r));
	fw_bar(&r, 5, TERN_PCI_FW_MEM64, 0xc0000000, 0x1000, false);
	reg[5] = 0xc0000004;
	assert_non_null(pci_fw_bars_ok(&r, reg, 6));

	memset(&r, 0, sizeof(r));
	memset(reg, 0, sizeof(reg));
	fw_bar(&r, 0, TERN_PCI_FW_IO, 0xc000, 0x200, false);
	reg[0] = 0xc001;
	assert_non_null(pci_fw_bars_ok(&r, reg, 6));
	r.bar[0].size = 0x100;
	assert_null(pci_fw_bars_ok(&r, reg, 6));
	r.bar[0].size = 2;
	assert_non_null(pci_fw_bars_ok(&r, reg, 6));

	memset(&r, 0, sizeof(r));
	memset(reg, 0, sizeof(reg));
	fw_bar(&r, 0, TERN_PCI_FW_MEM64, 0x100000000ull, 0x100000000ull, false);
	reg[0] = 0x4;
	reg[1] = 0x1;
	assert_null(pci_fw_bars_ok(&r, reg, 6));
	/* The same range as a 32-bit record cannot match a 32-bit register. */
	fw_bar(&r, 0, TERN_PCI_FW_MEM32, 0x80000000, 0x80000000, false);
	memset(reg, 0, sizeof(reg));
	reg[0] = 0x80000000;
	assert_null(pci_fw_bars_ok(&r, reg, 6));
	r.bar[0].size = 0x100000000ull;	/* too big for 32 bits */
	assert_non_null(pci_fw_bars_ok(&r, reg, 6));
	/* Base 0: the firmware left it unassigned. */
	r.bar[0].size = 0x1000;
	r.bar[0].base = 0;
	reg[0] = 0;
	assert_non_null(pci_fw_bars_ok(&r, reg, 6));
	/* A bridge has two BARs: slot 2 is not looked at. */
	memset(&r, 0, sizeof(r));
	memset(reg, 0, sizeof(reg));
	r.bar[2].type = 7;
	assert_null(pci_fw_bars_ok(&r, reg, 2));
}

/* ---- the PCI bus in the driver model (kernel/dev/driver.h) -------------- */

struct test_softc {
	struct hw_dev hw;
	int attached;
};

static int attach_calls, detach_calls;

static int
ok_attach(struct device *dev, void *softc)
{
	struct pci_dev *pd = pci_dev_of(dev);
	struct test_softc *sc = softc;

	attach_calls++;
	pci_hw_dev_init(pd, &sc->hw, "virtio-net0");
	sc->attached = 1;
	pci_enable(pd, true);
	return TERN_OK;
}

static void
ok_detach(struct device *dev, void *softc)
{
	detach_calls++;
}

static int
fail_attach(struct device *dev, void *softc)
{
	attach_calls++;
	return TERN_EIO;
}

static const struct driver_pci_id vnet_ids[] = {
	{ 0x1af4, 0x1041, 0, 0 },
	{ 0 },
};
static const struct driver_pci_id nvme_ids[] = {
	{ PCI_ANY_ID, PCI_ANY_ID, 0x010802, 0xffffff },
	{ 0 },
};
static const struct driver vnet_drv = {
	.name = "virtio-net", .bus = DRIVER_BUS_PCI, .pci_ids = vnet_ids,
	.softc_size = sizeof(struct test_softc), .attach = ok_attach,
	.detach = ok_detach,
};
static const struct driver nvme_drv = {
	.name = "nvme", .bus = DRIVER_BUS_PCI, .pci_ids = nvme_ids,
	.softc_size = sizeof(struct test_softc), .attach = fail_attach,
};
/* A VMBus driver in the same table: the PCI bus must never offer it a
   function, even one whose ids would be all-zero. */
static const struct driver_guid any_guid[] = { { { 1 } }, { { 0 } } };
static const struct driver vmbus_drv = {
	.name = "netvsc", .bus = DRIVER_BUS_VMBUS, .vmbus_ids = any_guid,
	.attach = fail_attach,
};
static const struct driver *const table[] = {
	&vmbus_drv, &vnet_drv, &nvme_drv, NULL,
};

static unsigned live_allocs;
static void *t_zalloc(size_t n) { live_allocs++; return calloc(1, n); }
static void t_free(void *p) { live_allocs--; free(p); }

static void
test_driver_binding(void **state)
{
	struct ctx *c = *state;
	struct pci_dev *pd;
	struct test_softc *sc;

	build_tree(&c->fp);
	c->pb.bus.zalloc = t_zalloc;
	c->pb.bus.free = t_free;
	attach_calls = detach_calls = 0;
	live_allocs = 0;

	/* bus_probe: the enumerate hook finds the tree and prints it. */
	kstub_reset();
	assert_int_equal(bus_probe(&c->pb.bus, table), 1);
	assert_int_equal(c->pb.ndevs, 9);
	assert_non_null(strstr(kstub_markers,
	    "PCI bdf=00:01.0 id=1af4:1041 class=020000"));
	assert_int_equal(attach_calls, 2);	/* vnet ok, nvme failed */
	assert_int_equal(live_allocs, 1);	/* nvme's softc freed */
	pd = (struct pci_dev *)(uintptr_t)find(&c->pb, 0, 1, 0);
	assert_string_equal(pd->base.name, "00:01.0");
	assert_ptr_equal(pd->base.bus, &c->pb.bus);
	assert_ptr_equal(pci_dev_of(&pd->base), pd);
	assert_ptr_equal(pd->base.driver, &vnet_drv);
	sc = pd->base.softc;
	assert_int_equal(sc->attached, 1);
	assert_string_equal(sc->hw.name, "virtio-net0");
	assert_int_equal(sc->hw.pci_bus, 0);
	assert_int_equal(sc->hw.pci_dev, 1);
	assert_null(sc->hw.pci_cfg);
	assert_int_equal(sc->hw.bus, HW_BUS_PCI);
	assert_int_equal(sc->hw.pci_vendor, pd->vendor);
	assert_int_equal(sc->hw.pci_device, pd->device);
	assert_true(pci_cfg_read16(pd, PCI_COMMAND) & PCI_CMD_MASTER);
	/* Matched functions were loaded before attach; others never sized. */
	assert_int_equal(pd->bars[1].size, 0x1000);
	assert_int_equal(pd->msix_count, 3);
	assert_true(find(&c->pb, 0, 2, 0)->loaded);
	assert_false(find(&c->pb, 0, 2, 3)->loaded);
	assert_int_equal(c->fp.f[0][2][3].writes, 0);
	/* The NVMe function whose attach failed stays unbound. */
	assert_null(find(&c->pb, 0, 2, 0)->base.driver);
	assert_null(find(&c->pb, 0, 2, 0)->base.softc);

	/* Attaching again binds nothing new and calls only the failed one. */
	attach_calls = 0;
	assert_int_equal(bus_attach_all(&c->pb.bus, table), 0);
	assert_int_equal(attach_calls, 1);

	bus_detach_all(&c->pb.bus);
	assert_int_equal(detach_calls, 1);
	assert_int_equal(live_allocs, 0);
	assert_null(pd->base.driver);
	assert_null(pd->base.softc);
}

static void
test_match_rules(void **state)
{
	struct pci_dev pd;
	static const struct driver_pci_id any_net[] = {
		{ PCI_ANY_ID, PCI_ANY_ID, 0x020000, 0xff0000 }, { 0 } };
	static const struct driver_pci_id ena[] = {
		{ 0x1d0f, 0xec20, 0, 0 }, { 0x1d0f, 0xec21, 0, 0 }, { 0 } };

	memset(&pd, 0, sizeof(pd));
	pd.vendor = 0x1d0f;
	pd.device = 0xec21;
	pd.class = 0x020000;
	assert_true(pci_match_one(ena, &pd));
	assert_true(pci_match_one(any_net, &pd));
	pd.device = 0xec22;
	assert_false(pci_match_one(ena, &pd));
	pd.class = 0x010802;
	assert_false(pci_match_one(any_net, &pd));
	assert_false(pci_match_one(NULL, &pd));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enumerate_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_function_not_probed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_cap_chain_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_only_when_claimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_bars_and_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_ones_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fw_bars_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fw_bars_disagree, setup, teardown),
		cmocka_unit_test(test_fw_bars_ok_edges),
		cmocka_unit_test_setup_teardown(test_driver_binding, setup, teardown),
		cmocka_unit_test(test_match_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

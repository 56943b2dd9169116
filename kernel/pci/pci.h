/*
 * pci.h - PCI enumeration and the PCI driver registry: the contract
 * between the PCI bus and its drivers (virtio, nvme, ena).
 * Sources: PCI Local Bus 3.0 ch. 6 (configuration header, BARs,
 * capability list), PCI-to-PCI Bridge 1.2 ch. 3 (type 1 header), PCIe
 * 6.0 7.7.2 (MSI-X capability), PCI Firmware 3.0 4.1 (ECAM/MCFG).
 *
 * Enumeration (portable, host-tested over a fake config space):
 *  - starts at the root bus and follows bridges through their secondary
 *    bus numbers (each bus scanned once, depth <= PCI_MAX_DEPTH);
 *  - probes functions 1-7 only on multifunction devices; a vendor id of
 *    0xffff (all-ones read) or 0x0000 means "absent";
 *  - reads only identity (ids, class, header type, interrupt pin) of a
 *    device during the walk; its BARs and capabilities are read by
 *    pci_dev_load(), which the bus's match hook calls when a driver
 *    matches, so functions no driver wants are never sized (under
 *    QEMU each decode toggle rebuilds the guest's address map: sizing
 *    every function cost ~9 ms of a TCG boot); bridges are loaded at once;
 *  - pci_dev_load() takes the BARs the firmware assigned (the loader's
 *    tern_pci_fw records, pci_bus_set_fw) when every BAR register agrees
 *    with them (pci_fw_bars_ok), so a device the firmware set up is never
 *    sized again and its decode never toggles; otherwise (no record, or
 *    one that disagrees: logged, counted in pci_bus.fw_rejected) it sizes
 *    every BAR with memory and I/O decode turned off
 *    in the command register while the all-ones pattern is in place,
 *    then restores both; either way it walks the capability list bounded and
 *    loop-safe and locates the MSI-X table and PBA (BIR + offset),
 *    checked against the BAR size;
 *  - anything inconsistent (64-bit BAR in the last slot, capability loop,
 *    MSI-X table outside its BAR) is logged, counted in pci_bus.nbad and
 *    that feature is dropped; enumeration goes on.
 *
 * Drivers: each segment is a struct bus of kind DRIVER_BUS_PCI
 * (kernel/dev/driver.h).  Its enumerate hook is pci_enumerate() plus
 * pci_report(); its match hook takes a driver's pci_ids (vendor, device,
 * class under mask).  bus_probe(&pb->bus, driver_table) (kernel:
 * pci_init()) enumerates once and attaches the first matching driver of
 * the table to each function; attach(dev, softc) gets the function with
 * pci_dev_of(dev).  Enumerate once: pci_enumerate() forgets earlier
 * functions and their bindings.
 */
#ifndef TERN_PCI_H
#define TERN_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bootinfo.h"
#include "kernel/dev/driver.h"
#include "kernel/hw/hw.h"

#define PCI_MAX_DEVS		128	/* functions kept per segment */
#define PCI_MAX_DEPTH		16	/* nested bridges */
#define PCI_MAX_CAPS		16	/* capabilities recorded per function */

/* Configuration header offsets (type 0 and the common part of type 1). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_CMD_IO		0x0001
#define  PCI_CMD_MEM		0x0002
#define  PCI_CMD_MASTER		0x0004
#define  PCI_CMD_INTX_DISABLE	0x0400
#define PCI_STATUS		0x06
#define  PCI_STATUS_CAPS	0x0010
#define PCI_REVISION		0x08	/* + prog-if 0x09, class 0x0a-0x0b */
#define PCI_HEADER_TYPE		0x0e
#define  PCI_HDR_MULTIFN	0x80
#define PCI_BAR0		0x10
#define PCI_SUBSYS_VENDOR	0x2c
#define PCI_SUBSYS_ID		0x2e
#define PCI_CAP_PTR		0x34
#define PCI_INTR_LINE		0x3c
#define PCI_INTR_PIN		0x3d
#define PCI_PRIMARY_BUS		0x18	/* type 1 */
#define PCI_SECONDARY_BUS	0x19
#define PCI_SUBORDINATE_BUS	0x1a

/* Capability ids. */
#define PCI_CAP_PM		0x01
#define PCI_CAP_MSI		0x05
#define PCI_CAP_VENDOR		0x09	/* virtio-pci uses these */
#define PCI_CAP_PCIE		0x10
#define PCI_CAP_MSIX		0x11
/* MSI-X capability layout. */
#define PCI_MSIX_CTRL		2	/* u16: size-1 in 10:0, mask 14, enable 15 */
#define  PCI_MSIX_ENABLE	0x8000
#define  PCI_MSIX_MASKALL	0x4000
#define PCI_MSIX_TABLE		4	/* u32: BIR 2:0, offset 31:3 */
#define PCI_MSIX_PBA		8
#define PCI_MSIX_ENTRY_SIZE	16	/* addr lo, addr hi, data, vector ctrl */

/* Config space access for one segment (ECAM or 0xCF8 in the kernel, a
   fake in tests).  width is 1, 2 or 4; off is naturally aligned. */
struct pci_cfg_ops {
	uint32_t (*read)(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn,
	    uint16_t off, int width);
	void (*write)(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn,
	    uint16_t off, int width, uint32_t v);
	/* Optional: the mapped ECAM window of a function (4 KiB), so the
	   hw seam can use it (hw_dev.pci_cfg); NULL when not ECAM. */
	volatile uint8_t *(*window)(void *ctx, uint8_t bus, uint8_t dev,
	    uint8_t fn);
};

enum pci_bar_type { PCI_BAR_NONE = 0, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar {
	uint64_t base;		/* physical address or I/O port */
	uint64_t size;		/* bytes; 0 when not implemented */
	uint8_t type;		/* enum pci_bar_type; MEM64 uses slot i+1 too */
	bool prefetch;
};

struct pci_cap {
	uint8_t id;
	uint8_t off;		/* config offset of the capability header */
};

struct pci_bus;
struct hw_dev;
struct hw_bar;

/* One PCI function.  Owned by the bus; drivers get a pointer in attach
   and may keep it until detach. */
struct pci_dev {
	uint16_t seg;
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_id;
	uint32_t class;		/* base << 16 | sub << 8 | prog-if */
	uint8_t rev;
	uint8_t hdr_type;	/* 0 device, 1 bridge, 2 CardBus (bits 6:0) */
	uint8_t irq_line, irq_pin;
	uint8_t sec_bus;	/* bridges only */
	bool loaded;		/* BARs and capabilities read (pci_dev_load) */
	/* Valid once loaded: */
	struct pci_bar bars[6];
	uint8_t ncaps;
	struct pci_cap caps[PCI_MAX_CAPS];
	/* MSI-X, valid when msix_count > 0. */
	uint8_t msix_cap;	/* config offset */
	uint16_t msix_count;	/* table entries */
	uint8_t msix_table_bir, msix_pba_bir;
	uint32_t msix_table_off, msix_pba_off;
	uint8_t msi_cap;	/* 0 if absent */

	struct pci_bus *pb;	/* owner */
	volatile uint8_t *ecam;	/* ECAM window, NULL for port I/O access */
	/* The bus-neutral part: name "bb:dd.f", bound driver and softc. */
	struct device base;
};

/* A driver's struct device back to its PCI function (PCI drivers only). */
static inline struct pci_dev *
pci_dev_of(struct device *d)
{
	return (struct pci_dev *)(void *)((char *)d - offsetof(struct pci_dev, base));
}

#define PCI_ANY_ID		DRIVER_PCI_ANY

/* One enumerated segment. */
struct pci_bus {
	struct bus bus;			/* "pci": the driver model's view */
	const struct pci_cfg_ops *ops;
	void *ctx;
	uint16_t seg;
	uint8_t bus_start, bus_end;	/* from MCFG, 0..255 for legacy */
	uint32_t ndevs;
	struct pci_dev devs[PCI_MAX_DEVS];
	uint32_t nbad;			/* inconsistencies found */
	const struct tern_pci_fw *fw;	/* the firmware's BARs, or NULL */
	uint32_t nfw;
	uint32_t fw_used;		/* functions loaded from fw records */
	uint32_t fw_rejected;		/* records that disagreed: sized */
	uint32_t ndropped;		/* functions beyond PCI_MAX_DEVS */
	uint8_t scanned[32];		/* bitmap of buses scanned */
};

/* Prepare `pb` (zeroed) for segment `seg` buses [bus_start, bus_end];
   pb->bus is ready for bus_probe() except for zalloc/free (softcs). */
void pci_bus_init(struct pci_bus *pb, const struct pci_cfg_ops *ops,
    void *ctx, uint16_t seg, uint8_t bus_start, uint8_t bus_end);
/* The firmware's BAR assignments for this segment (records of other
   segments are ignored); `fw` must outlive the bus. */
void pci_bus_set_fw(struct pci_bus *pb, const struct tern_pci_fw *fw,
    uint32_t n);
/*
 * Does firmware record `r` describe the BAR registers `reg[0..nbars)`
 * (as read, decode untouched)?  Each implemented BAR must match in kind,
 * prefetchability and base, be assigned (base not 0), have a power-of-two
 * size (I/O 4..256 bytes, memory >= 16) with the base aligned to it and
 * the range below 4 GiB for 32-bit kinds; a 64-bit BAR takes the next
 * slot, which the record marks unimplemented; every other unimplemented
 * slot must read 0.  Returns
 * NULL or a reason for the log.
 */
const char *pci_fw_bars_ok(const struct tern_pci_fw *r, const uint32_t *reg,
    int nbars);
/* Enumerate from bus_start.  Returns the number of functions found. */
int pci_enumerate(struct pci_bus *pb);
/* Size pd's BARs and walk its capabilities, once (later calls return). */
void pci_dev_load(struct pci_dev *pd);
/* Print "TERN PCI bdf=<bb:dd.f> id=<vvvv:dddd> class=<cccccc>" per
   function, and BARs/capabilities at log debug. */
void pci_report(const struct pci_bus *pb);

/* Config access for drivers (through the owning bus). */
uint8_t pci_cfg_read8(const struct pci_dev *pd, uint16_t off);
uint16_t pci_cfg_read16(const struct pci_dev *pd, uint16_t off);
uint32_t pci_cfg_read32(const struct pci_dev *pd, uint16_t off);
void pci_cfg_write8(const struct pci_dev *pd, uint16_t off, uint8_t v);
void pci_cfg_write16(const struct pci_dev *pd, uint16_t off, uint16_t v);
void pci_cfg_write32(const struct pci_dev *pd, uint16_t off, uint32_t v);

/* Turn on memory/I-O decode for the BARs the function has, and bus
   mastering when `master` (needed before any DMA). */
void pci_enable(const struct pci_dev *pd, bool master);
/* Next capability `id` after config offset `after` (0: from the start),
   from the list recorded at enumeration; 0 when none.  Drivers with
   several capabilities of one id (virtio) iterate with this. */
uint8_t pci_find_cap(const struct pci_dev *pd, uint8_t id, uint8_t after);

/* The hooks pci_bus_init() installs in pb->bus (pci_drv.c). */
extern const struct bus_ops pci_bus_ops;
/* The PCI bus's match rule: does `pd` match an entry of `ids`? */
bool pci_match_one(const struct driver_pci_id *ids, const struct pci_dev *pd);

/*
 * Fill the hw seam identity of a function for a driver's struct hw_dev:
 * name, bus = HW_BUS_PCI, vendor/device ids, pci_seg/bus/dev/fn and
 * pci_cfg (ECAM window or NULL).  The
 * caller keeps ops/backend (host) untouched.
 */
void pci_hw_dev_init(const struct pci_dev *pd, struct hw_dev *hw,
    const char *name);

/* MSI/MSI-X message for `vector` on APIC `apic_id` (Intel SDM 3A 11.11:
   address 0xFEE00000 | dest << 12, physical mode; data = vector, fixed,
   edge). */
void pci_msi_compose(uint8_t apic_id, uint8_t vector, uint32_t *addr_lo,
    uint32_t *addr_hi, uint32_t *data);

/*
 * MSI-X table entries through the hardware seam (PCIe 6.0 7.7.2.x: 16
 * bytes per entry, dwords address lo, address hi, data, vector
 * control).  `t` is the mapped table; offsets in it are entry * 16 +
 * word * 4, named "msix[<entry>].<word>" by pci_msix_regnames (entries
 * 0..PCI_MSIX_MAX_VEC-1) in replay messages.  pci_msix_write_entry masks
 * the entry, writes the message, then unmasks it: the spec allows
 * reprogramming only while masked.
 */
#define PCI_MSIX_MAX_VEC	64
extern const struct hw_regname pci_msix_regnames[];
void pci_msix_write_entry(struct hw_bar *t, uint16_t entry, uint32_t addr_lo,
    uint32_t addr_hi, uint32_t data);
void pci_msix_entry_mask(struct hw_bar *t, uint16_t entry, bool masked);

#if defined(TERN_KERNEL)
#include "kernel/intr.h"

/*
 * MSI-X for a driver (pci_msix.c).  pci_msix_enable maps the table,
 * masks every entry, disables INTx and turns MSI-X on.  pci_msix_set
 * allocates a vector (intr_alloc) for table entry `entry`, programs the
 * message for the boot CPU and unmasks it; returns the vector or a
 * negative tern_err.  pci_msix_disable masks everything, frees the
 * vectors and turns MSI-X off (detach).  One struct pci_msix per device,
 * owned by the driver's softc.  Table writes and the CPUID for the APIC
 * id go through the seam on mx->hw, so trace=msix-00:03.0 records them.
 */
struct pci_msix {
	struct pci_dev *pd;
	struct hw_dev hw;		/* "msix-<bus>:<dev>.<fn>" (trace=) */
	struct hw_bar table;		/* the mapped table; va NULL when off */
	uint16_t count;			/* usable entries (<= PCI_MSIX_MAX_VEC) */
	int16_t vec[PCI_MSIX_MAX_VEC];	/* vector per entry, -1 if none */
};
int pci_msix_enable(struct pci_dev *pd, struct pci_msix *mx);
int pci_msix_set(struct pci_msix *mx, uint16_t entry, intr_handler_fn fn,
    void *ctx, const char *name);
void pci_msix_mask(struct pci_msix *mx, uint16_t entry, bool masked);
void pci_msix_disable(struct pci_msix *mx);

/*
 * Kernel glue (pci_kern.c).
 * pci_init(): needs acpi_init() (MCFG) and the heap; maps ECAM for the
 * first MCFG segment, else uses ports 0xCF8/0xCFC for bus 0..255;
 * enumerates, prints TERN PCI lines and attaches the drivers of `table`
 * (driver_table).  Returns the number of functions bound.
 */
int pci_init(const struct driver *const *table);
/* The kernel's segment 0, valid after pci_init(). */
extern struct pci_bus pci_root;
/*
 * Map BAR `i` of `pd` into `out` for the hw seam: MMIO BARs are mapped
 * uncached (mmio_map), I/O BARs recorded as port ranges.  `hw` is the
 * driver's hw_dev (out->dev).  TERN_ENODEV when the BAR is absent,
 * TERN_ENOMEM when mapping fails.
 */
int pci_map_bar(const struct pci_dev *pd, int i, struct hw_dev *hw,
    struct hw_bar *out);
#endif

#endif /* TERN_PCI_H */

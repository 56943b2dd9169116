/*
 * driver.h - the one driver model: a bus-neutral driver descriptor, the
 * devices a bus finds, and the bus interface that binds the two.
 *
 * A driver exports one const struct driver: name, the bus it lives on,
 * a match table for that bus (PCI ids and classes, or VMBus class
 * GUIDs), the size of its per-device state (softc), attach and detach.
 * Every driver of the kernel is listed once, in driver_table
 * (kernel/dev/drivers.c); nothing registers at run time.
 *
 * A bus (struct bus) finds its children (enumerate), says whether a
 * driver accepts a child (match), and hands out each child's struct
 * device.  bus_attach_all() offers every unbound child to the table in
 * table order; the first driver of the bus's kind that matches gets it:
 *  - the bus allocates softc_size zeroed bytes (bus->zalloc) and calls
 *    attach(dev, softc);
 *  - attach returns TERN_OK or a negative tern_err.  On failure the
 *    softc is freed and the device stays unbound (dev->driver NULL);
 *    no other driver is tried and a later bus_attach_all() retries it;
 *  - on success dev->driver and dev->softc are set, in that state until
 *    detach.
 * bus_detach_all() detaches bound children in reverse discovery order:
 * the driver's detach(dev, softc) runs first, with the softc still
 * valid, then the softc is freed and the device marked unbound.
 * attach runs at boot (kernel: interrupts on) and may block for bounded
 * device waits; detach runs at shutdown or from tests.
 *
 * Portable: built into the kernel and into host tests (tests/kernel).
 */
#ifndef TERN_DEV_DRIVER_H
#define TERN_DEV_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bus a driver lives on; selects which match table applies. */
enum driver_bus {
	DRIVER_BUS_PCI = 1,	/* match: struct driver_pci_id */
	DRIVER_BUS_VMBUS = 2,	/* match: struct driver_guid (class GUID) */
};

/*
 * PCI match entry: vendor and device (DRIVER_PCI_ANY matches all), and
 * class (base << 16 | sub << 8 | prog-if) under class_mask (0: any
 * class).  A table ends with an all-zero entry.
 */
#define DRIVER_PCI_ANY		0xffff
struct driver_pci_id {
	uint16_t vendor, device;
	uint32_t class, class_mask;
};

/*
 * A VMBus class (interface type) GUID as the 16 bytes the host offers,
 * in wire order (Hyper-V TLFS: channel offer, InterfaceType).  A table
 * ends with an all-zero GUID.
 */
struct driver_guid {
	uint8_t b[16];
};

struct bus;
struct device;

struct driver {
	const char *name;		/* "virtio-net", "nvme", "netvsc" */
	enum driver_bus bus;
	/* The table for `bus`; the other one is NULL. */
	const struct driver_pci_id *pci_ids;
	const struct driver_guid *vmbus_ids;
	size_t softc_size;		/* zeroed bytes handed to attach; may be 0 */
	/* MUST be set.  Returns TERN_OK or a negative tern_err; on failure
	   it MUST have undone everything it did (the bus frees softc). */
	int (*attach)(struct device *dev, void *softc);
	/* MAY be NULL.  Undoes a successful attach; the bus frees softc. */
	void (*detach)(struct device *dev, void *softc);
};

/*
 * One child of a bus, embedded in the bus's own device record (struct
 * pci_dev, a VMBus channel); the bus recovers it with container_of-style
 * arithmetic.  Owned by the bus.
 */
struct device {
	struct bus *bus;
	const struct driver *driver;	/* bound driver, or NULL */
	void *softc;			/* driver state while bound */
	char name[16];			/* "00:03.0", "vmbus/3": for logs */
};

struct bus_ops {
	/* Find the children (may be called once); returns their number or a
	   negative tern_err. */
	int (*enumerate)(struct bus *b);
	/* Child `i` (discovery order) or NULL past the last. */
	struct device *(*child)(struct bus *b, uint32_t i);
	/* Does `drv` (of this bus's kind) accept `dev`? */
	bool (*match)(const struct bus *b, const struct driver *drv,
	    const struct device *dev);
};

struct bus {
	const char *name;		/* "pci0", "vmbus" */
	enum driver_bus kind;		/* drivers of other kinds are skipped */
	const struct bus_ops *ops;
	/* softc allocation (kernel: kzalloc/kfree). */
	void *(*zalloc)(size_t size);
	void (*free)(void *p);
};

/* Every driver of the kernel, NULL-terminated (kernel/dev/drivers.c). */
extern const struct driver *const driver_table[];

/* Does a PCI function with these ids match an entry of `ids`? */
bool driver_pci_match(const struct driver_pci_id *ids, uint16_t vendor,
    uint16_t device, uint32_t class);
/* Is `g` one of the (non-zero) GUIDs of `ids`? */
bool driver_guid_match(const struct driver_guid *ids,
    const struct driver_guid *g);

/*
 * Offer every unbound child of `b` to the drivers of `table` (NULL-
 * terminated) as described above.  Returns the number bound by this
 * call.
 */
int bus_attach_all(struct bus *b, const struct driver *const *table);
/* enumerate, then bus_attach_all.  Returns the number bound or the
   enumerate hook's negative tern_err. */
int bus_probe(struct bus *b, const struct driver *const *table);
/* Detach one bound child (no-op when unbound). */
void bus_detach(struct device *dev);
/* Detach every bound child of `b`, last discovered first. */
void bus_detach_all(struct bus *b);

#endif /* TERN_DEV_DRIVER_H */

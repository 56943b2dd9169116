/*
 * pci_kern.c - kernel config-space access and pci_init().
 *
 * ECAM (PCI Firmware 3.0 4.1): the first MCFG entry for segment 0; each
 * bus's 1 MiB window is mapped uncached on first use, so only buses that
 * exist cost page tables.  Without MCFG, or if mapping fails, the legacy
 * mechanism #1 (ports 0xCF8/0xCFC, PCI 3.0 3.2.2.3.2) reaches buses
 * 0-255 of segment 0; its address/data pair is not atomic, so interrupts
 * are off across each access.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/acpi/acpi.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/dev/driver.h"
#include "kernel/heap.h"
#include "kernel/intr.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/pci/pci.h"

struct pci_bus pci_root;

struct ecam {
	uint64_t base;		/* physical, for bus 0 */
	uint8_t start, end;
	volatile uint8_t *bus_va[256];
	bool failed;
};
static struct ecam ecam;

static volatile uint8_t *
ecam_fn(uint8_t bus, uint8_t dev, uint8_t fn)
{
	if (bus < ecam.start || bus > ecam.end || dev > 31 || fn > 7)
		return NULL;
	if (ecam.bus_va[bus] == NULL) {
		ecam.bus_va[bus] = mmio_map(ecam.base + ((uint64_t)bus << 20),
		    1u << 20);
		if (ecam.bus_va[bus] == NULL)
			return NULL;
	}
	return ecam.bus_va[bus] + ((uint32_t)dev << 15) + ((uint32_t)fn << 12);
}

static uint32_t
ecam_read(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off,
    int width)
{
	volatile uint8_t *p = ecam_fn(bus, dev, fn);

	if (p == NULL || off > 0xffc)
		return 0xffffffffu;
	switch (width) {
	case 1: return p[off];
	case 2: return *(volatile uint16_t *)(p + (off & ~1u));
	default: return *(volatile uint32_t *)(p + (off & ~3u));
	}
}

static void
ecam_write(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off,
    int width, uint32_t v)
{
	volatile uint8_t *p = ecam_fn(bus, dev, fn);

	if (p == NULL || off > 0xffc)
		return;
	switch (width) {
	case 1: p[off] = (uint8_t)v; break;
	case 2: *(volatile uint16_t *)(p + (off & ~1u)) = (uint16_t)v; break;
	default: *(volatile uint32_t *)(p + (off & ~3u)) = v; break;
	}
}

static volatile uint8_t *
ecam_window(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn)
{
	return ecam_fn(bus, dev, fn);
}

static const struct pci_cfg_ops ecam_ops = {
	ecam_read, ecam_write, ecam_window,
};

static uint32_t
cf8_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	return 0x80000000u | ((uint32_t)bus << 16) | ((uint32_t)(dev & 31) << 11) |
	    ((uint32_t)(fn & 7) << 8) | (off & 0xfc);
}

static uint32_t
cf8_read(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off,
    int width)
{
	bool was = intr_save();
	uint32_t v;

	if (off > 0xff) {
		intr_restore(was);
		return 0xffffffffu;
	}
	outl(0xcf8, cf8_addr(bus, dev, fn, off));
	switch (width) {
	case 1: v = inb((uint16_t)(0xcfc + (off & 3))); break;
	case 2: v = inw((uint16_t)(0xcfc + (off & 2))); break;
	default: v = inl(0xcfc); break;
	}
	intr_restore(was);
	return v;
}

static void
cf8_write(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off,
    int width, uint32_t v)
{
	bool was = intr_save();

	if (off <= 0xff) {
		outl(0xcf8, cf8_addr(bus, dev, fn, off));
		switch (width) {
		case 1: outb((uint16_t)(0xcfc + (off & 3)), (uint8_t)v); break;
		case 2: outw((uint16_t)(0xcfc + (off & 2)), (uint16_t)v); break;
		default: outl(0xcfc, v); break;
		}
	}
	intr_restore(was);
}

static const struct pci_cfg_ops cf8_ops = { cf8_read, cf8_write, NULL };

int
pci_init(const struct driver *const *table)
{
	const struct acpi_mcfg *m = NULL;

	for (uint32_t i = 0; i < acpi.nmcfg; i++)
		if (acpi.mcfg[i].segment == 0) {
			m = &acpi.mcfg[i];
			break;
		}
	if (m != NULL) {
		ecam.base = m->base;
		ecam.start = m->bus_start;
		ecam.end = m->bus_end;
		/* Probe the first bus window once: if it cannot be mapped,
		   fall back to the ports. */
		if (ecam_fn(m->bus_start, 0, 0) != NULL) {
			pci_bus_init(&pci_root, &ecam_ops, NULL, 0, m->bus_start,
			    m->bus_end);
			log_debug("pci", "ECAM at 0x%llx buses %02x-%02x",
			    (unsigned long long)m->base, m->bus_start, m->bus_end);
		} else {
			log_warn("pci", "cannot map ECAM at 0x%llx, using ports 0xcf8/0xcfc",
			    (unsigned long long)m->base);
			m = NULL;
		}
	}
	if (m == NULL) {
		pci_bus_init(&pci_root, &cf8_ops, NULL, 0, 0, 255);
		log_info("pci", "no MCFG: configuration via ports 0xcf8/0xcfc");
	}
	/* The loader's record of what the firmware assigned (bootinfo.h). */
	const struct tern_bootinfo *bi = kernel.bi;
	if (bi != NULL && bi->pci_fw != 0 && bi->pci_fw_count != 0) {
		if (bi->pci_fw_count > TERN_PCI_FW_MAX || (bi->pci_fw & 7) != 0)
			log_warn("pci", "bootinfo: %u firmware PCI records at 0x%llx ignored",
			    bi->pci_fw_count, (unsigned long long)bi->pci_fw);
		else
			pci_bus_set_fw(&pci_root,
			    (const void *)(TERN_HHDM_BASE + bi->pci_fw),
			    bi->pci_fw_count);
	}
	pci_root.bus.zalloc = kzalloc;
	pci_root.bus.free = kfree;

	/* Enumerate (TERN PCI lines), then attach from the table. */
	int bound = bus_probe(&pci_root.bus, table);
	if (bound < 0)
		return bound;
	log_debug("pci", "%u functions, %d bound to drivers, BARs of %u from firmware (%u records, %u disagreed)",
	    pci_root.ndevs, bound, pci_root.fw_used, pci_root.nfw,
	    pci_root.fw_rejected);
	return bound;
}

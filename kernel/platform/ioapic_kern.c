/*
 * ioapic_kern.c - programming the I/O APICs found in the MADT (ioapic.h).
 * Register access: write the index to IOREGSEL (+0x00), then read or
 * write IOWIN (+0x10); redirection entry n is registers 0x10+2n (low) and
 * 0x11+2n (high).  The mask bit lives in the low half, so entries are
 * written high first and low last when unmasking, low first when masking.
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/acpi/acpi.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/err.h"
#include "kernel/intr.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/platform/ioapic.h"

#define IOREGSEL	0x00
#define IOWIN		0x10
#define IOAPIC_VER	0x01
#define IOAPIC_REDIR(n)	(0x10 + 2 * (n))
#define IOAPIC_MAX_REDIR 240

static volatile uint32_t *ioapic_va[ACPI_MAX_IOAPICS];
static uint32_t ioapic_nredir[ACPI_MAX_IOAPICS];
static int ioapic_vec[ACPI_MAX_IOAPICS][IOAPIC_MAX_REDIR];

static uint32_t
ioapic_read(int i, uint32_t reg)
{
	ioapic_va[i][IOREGSEL / 4] = reg;
	return ioapic_va[i][IOWIN / 4];
}

static void
ioapic_write(int i, uint32_t reg, uint32_t v)
{
	ioapic_va[i][IOREGSEL / 4] = reg;
	ioapic_va[i][IOWIN / 4] = v;
}

static void
set_entry(int i, uint32_t pin, uint64_t e)
{
	bool masked = (e >> 16) & 1;

	if (masked) {
		ioapic_write(i, IOAPIC_REDIR(pin), (uint32_t)e);
		ioapic_write(i, IOAPIC_REDIR(pin) + 1, (uint32_t)(e >> 32));
	} else {
		ioapic_write(i, IOAPIC_REDIR(pin) + 1, (uint32_t)(e >> 32));
		ioapic_write(i, IOAPIC_REDIR(pin), (uint32_t)e);
	}
}

static uint8_t
boot_apic_id(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return (uint8_t)(r[1] >> 24);
}

void
ioapic_init(void)
{
	for (uint32_t i = 0; i < acpi.nioapics && i < ACPI_MAX_IOAPICS; i++) {
		uint32_t ver, n;

		ioapic_va[i] = mmio_map(acpi.ioapics[i].addr, 0x20);
		if (ioapic_va[i] == NULL) {
			log_warn("ioapic", "cannot map IOAPIC %u at 0x%x", acpi.ioapics[i].id,
			    acpi.ioapics[i].addr);
			continue;
		}
		ver = ioapic_read((int)i, IOAPIC_VER);
		if (ver == 0xffffffffu) {
			log_warn("ioapic", "IOAPIC %u at 0x%x does not answer",
			    acpi.ioapics[i].id, acpi.ioapics[i].addr);
			ioapic_va[i] = NULL;
			continue;
		}
		n = ((ver >> 16) & 0xff) + 1;
		if (n > IOAPIC_MAX_REDIR)
			n = IOAPIC_MAX_REDIR;
		ioapic_nredir[i] = n;
		for (uint32_t pin = 0; pin < n; pin++) {
			struct ioapic_route r = { 0, false, false };
			set_entry((int)i, pin, ioapic_redir_entry(0, &r, 0, true));
			ioapic_vec[i][pin] = -1;
		}
		log_debug("ioapic", "IOAPIC %u at 0x%x: GSIs %u-%u, all masked",
		    acpi.ioapics[i].id, acpi.ioapics[i].addr,
		    acpi.ioapics[i].gsi_base, acpi.ioapics[i].gsi_base + n - 1);
	}
}

int
ioapic_route_gsi(const struct ioapic_route *r, intr_handler_fn fn, void *ctx,
    const char *name)
{
	int i = ioapic_for_gsi(&acpi, ioapic_nredir, r->gsi), vec;
	uint32_t pin;

	if (i < 0 || ioapic_va[i] == NULL) {
		log_warn("ioapic", "%s: no IOAPIC serves GSI %u", name, r->gsi);
		return TERN_ENODEV;
	}
	pin = r->gsi - acpi.ioapics[i].gsi_base;
	if (ioapic_vec[i][pin] >= 0)
		return TERN_EBUSY;
	vec = intr_alloc(fn, ctx, name);
	if (vec < 0)
		return vec;
	ioapic_vec[i][pin] = vec;
	set_entry(i, pin, ioapic_redir_entry((uint8_t)vec, r, boot_apic_id(), false));
	log_debug("ioapic", "%s: GSI %u -> vector %d (%s, active %s)", name,
	    r->gsi, vec, r->level ? "level" : "edge", r->active_low ? "low" : "high");
	return vec;
}

int
ioapic_route_isa(uint8_t irq, intr_handler_fn fn, void *ctx, const char *name)
{
	struct ioapic_route r = ioapic_isa_route(&acpi, irq);

	return ioapic_route_gsi(&r, fn, ctx, name);
}

void
ioapic_unroute(uint32_t gsi)
{
	int i = ioapic_for_gsi(&acpi, ioapic_nredir, gsi);
	struct ioapic_route r = { gsi, false, false };
	uint32_t pin;

	if (i < 0 || ioapic_va[i] == NULL)
		return;
	pin = gsi - acpi.ioapics[i].gsi_base;
	set_entry(i, pin, ioapic_redir_entry(0, &r, 0, true));
	if (ioapic_vec[i][pin] >= 0)
		intr_free(ioapic_vec[i][pin]);
	ioapic_vec[i][pin] = -1;
}

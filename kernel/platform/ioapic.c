/*
 * ioapic.c - routing decisions (portable, host-tested) for ioapic.h.
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/acpi/acpi.h"
#include "kernel/platform/ioapic.h"

/* MPS INTI flags: polarity 1:0 and trigger 3:2; 0 = "conforms to the
   bus", which for ISA means active high and edge. */
#define INTI_POL_MASK		0x3
#define INTI_POL_LOW		0x3
#define INTI_TRIG_MASK		0xc
#define INTI_TRIG_LEVEL		0xc

struct ioapic_route
ioapic_isa_route(const struct acpi_info *ai, uint8_t irq)
{
	struct ioapic_route r = { irq, false, false };

	for (uint32_t i = 0; ai != NULL && i < ai->nisos && i < ACPI_MAX_ISOS; i++) {
		const struct acpi_iso *o = &ai->isos[i];
		if (o->bus != 0 || o->irq != irq)
			continue;
		r.gsi = o->gsi;
		r.active_low = (o->flags & INTI_POL_MASK) == INTI_POL_LOW;
		r.level = (o->flags & INTI_TRIG_MASK) == INTI_TRIG_LEVEL;
		break;
	}
	return r;
}

uint64_t
ioapic_redir_entry(uint8_t vector, const struct ioapic_route *r, uint8_t dest,
    bool masked)
{
	uint64_t e = vector;		/* fixed delivery, physical mode */

	if (r->active_low)
		e |= 1u << 13;
	if (r->level)
		e |= 1u << 15;
	if (masked)
		e |= 1u << 16;
	e |= (uint64_t)dest << 56;
	return e;
}

int
ioapic_for_gsi(const struct acpi_info *ai, const uint32_t *nredir, uint32_t gsi)
{
	for (uint32_t i = 0; i < ai->nioapics && i < ACPI_MAX_IOAPICS; i++) {
		uint32_t base = ai->ioapics[i].gsi_base;
		if (gsi >= base && gsi - base < nredir[i])
			return (int)i;
	}
	return -1;
}

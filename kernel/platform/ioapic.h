/*
 * ioapic.h - I/O APIC routing (82093AA datasheet 3.2: IOREGSEL/IOWIN,
 * version register, 64-bit redirection entries) with the MADT interrupt
 * source overrides applied (ACPI 6.5 5.2.12.5, MPS INTI flags).
 *
 * ISA IRQs are identity-mapped to GSIs, edge-triggered active-high,
 * unless an override says otherwise (QEMU and EC2 move IRQ 0 to GSI 2 and
 * make the SCI, IRQ 9, level-triggered).  Every entry is masked at init;
 * a route is unmasked only when a handler is attached.  Interrupts are
 * delivered to the boot CPU, fixed mode, physical destination.
 */
#ifndef TERN_IOAPIC_H
#define TERN_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct acpi_info;

struct ioapic_route {
	uint32_t gsi;
	bool level;		/* level-triggered (else edge) */
	bool active_low;
};

/* The GSI and mode for ISA `irq` with the MADT overrides applied. */
struct ioapic_route ioapic_isa_route(const struct acpi_info *ai, uint8_t irq);
/* The redirection entry for `r` to `vector` on APIC `dest`. */
uint64_t ioapic_redir_entry(uint8_t vector, const struct ioapic_route *r,
    uint8_t dest, bool masked);
/* Index of the IOAPIC serving `gsi` given each one's entry count
   (nredir[i]); -1 when none does. */
int ioapic_for_gsi(const struct acpi_info *ai, const uint32_t *nredir,
    uint32_t gsi);

#if defined(TERN_KERNEL)
#include "kernel/intr.h"
/* Map every MADT IOAPIC and mask all entries.  Needs acpi_init(). */
void ioapic_init(void);
/* Attach `fn` to ISA `irq` (overrides applied): allocates a vector with
   intr_alloc, programs and unmasks the entry.  Returns the vector or a
   negative tern_err (TERN_ENODEV: no IOAPIC serves the GSI). */
int ioapic_route_isa(uint8_t irq, intr_handler_fn fn, void *ctx,
    const char *name);
/* Same for an explicit GSI and mode (PCI INTx: level, active low). */
int ioapic_route_gsi(const struct ioapic_route *r, intr_handler_fn fn,
    void *ctx, const char *name);
/* Mask the entry of `gsi` and release its vector. */
void ioapic_unroute(uint32_t gsi);
#endif

#endif /* TERN_IOAPIC_H */

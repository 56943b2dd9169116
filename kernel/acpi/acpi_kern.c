/*
 * acpi_kern.c - kernel glue for the ACPI parser: firmware memory through
 * the direct map, acpi_init(), the PM timer read, and ACPI power-off (S5)
 * and reset through the FADT (ACPI 6.5 4.8.3.2 PM1 control, 7.4.2.5 \_S5,
 * 4.8.3.6 reset register).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bootinfo.h"
#include "kernel/acpi/acpi.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/intr.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/mm.h"

struct acpi_info acpi;

/* Firmware tables live in RAM (ACPI reclaim/NVS, runtime data) below
   map_limit, all of which the direct map covers.  Page 0 never holds a
   table; refusing it also catches null-ish pointers. */
static const void *
kernel_fw_map(void *ctx, uint64_t pa, size_t len)
{
	uint64_t limit = kernel.bi != NULL ? kernel.bi->map_limit : 0;

	if (pa < 0x1000 || pa + len < pa || pa + len > limit)
		return NULL;
	return phys_to_virt(pa);
}

const struct fw_mem acpi_kernel_mem = { kernel_fw_map, NULL };

void
acpi_init(const struct tern_bootinfo *bi)
{
	if (acpi_parse(&acpi_kernel_mem, bi->rsdp, &acpi) != 0)
		return;
	log_info("acpi", "%s rev %u oem %s: %u tables (%u bad, %u skipped), %u cpus, %u ioapics, mcfg %u, hpet %s, pm timer %s, s5 %s",
	    acpi.root.sig, acpi.rsdp_rev, acpi.root.oem, acpi.ntables,
	    acpi.nbad, acpi.nskipped, acpi.ncpus, acpi.nioapics, acpi.nmcfg,
	    acpi.hpet_present ? "yes" : "no",
	    acpi.pm_timer.addr ? "yes" : "no", acpi.s5_valid ? "yes" : "no");
}

/* Write `v` to a GAS register of at most 16 bits (PM1 control, reset). */
static bool
gas_write(const struct acpi_gas *g, uint16_t v, int bytes)
{
	if (g->addr == 0)
		return false;
	if (g->space == ACPI_SPACE_IO) {
		if (g->addr > 0xffff)
			return false;
		if (bytes == 1)
			outb((uint16_t)g->addr, (uint8_t)v);
		else
			outw((uint16_t)g->addr, v);
		return true;
	}
	if (g->space == ACPI_SPACE_MEM) {
		volatile uint8_t *p = mmio_map(g->addr, (size_t)bytes);
		if (p == NULL)
			return false;
		if (bytes == 1)
			*p = (uint8_t)v;
		else
			*(volatile uint16_t *)p = v;
		return true;
	}
	if (g->space == ACPI_SPACE_PCI && bytes == 1) {
		/* Bus 0; device in bits 47:32, function 31:16, offset 15:0. */
		uint32_t dev = (uint32_t)(g->addr >> 32) & 0x1f;
		uint32_t fn = (uint32_t)(g->addr >> 16) & 7;
		uint32_t off = (uint32_t)g->addr & 0xff;
		outl(0xcf8, 0x80000000u | (dev << 11) | (fn << 8) | (off & 0xfc));
		outb((uint16_t)(0xcfc + (off & 3)), (uint8_t)v);
		return true;
	}
	return false;
}

#define PM1_SLP_TYP_SHIFT	10
#define PM1_SLP_EN		(1u << 13)

void
acpi_poweroff(void)
{
	if (!acpi.s5_valid || acpi.pm1a_cnt.addr == 0) {
		log_warn("acpi", "power-off: no \\_S5 or PM1a control block");
		return;
	}
	intr_disable();
	log_info("acpi", "entering S5 (SLP_TYPa %u)", acpi.slp_typa);
	/* SLP_TYP and SLP_EN in one write; PM1b gets its own value. */
	gas_write(&acpi.pm1a_cnt,
	    (uint16_t)((acpi.slp_typa << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN), 2);
	if (acpi.pm1b_cnt.addr != 0)
		gas_write(&acpi.pm1b_cnt,
		    (uint16_t)((acpi.slp_typb << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN), 2);
	/* The write takes effect asynchronously; give it a moment. */
	for (int i = 0; i < 1000000; i++)
		cpu_pause();
	log_warn("acpi", "S5 write did not power off");
}

void
acpi_reset(void)
{
	if (!acpi.reset_supported) {
		log_warn("acpi", "reset: no FADT reset register");
		return;
	}
	intr_disable();
	gas_write(&acpi.reset_reg, acpi.reset_value, 1);
	for (int i = 0; i < 1000000; i++)
		cpu_pause();
	log_warn("acpi", "reset register write did not reset");
}

uint32_t
acpi_pm_timer_read(void)
{
	uint32_t v;

	if (acpi.pm_timer.addr == 0)
		return 0;
	if (acpi.pm_timer.space == ACPI_SPACE_IO && acpi.pm_timer.addr <= 0xffff) {
		v = inl((uint16_t)acpi.pm_timer.addr);
	} else if (acpi.pm_timer.space == ACPI_SPACE_MEM) {
		static volatile uint32_t *mm;
		if (mm == NULL)
			mm = mmio_map(acpi.pm_timer.addr, 4);
		if (mm == NULL)
			return 0;
		v = *mm;
	} else {
		return 0;
	}
	return acpi.pm_timer_32bit ? v : (v & 0xffffff);
}

/*
 * lapic.c - the local APIC: x2APIC through MSRs when CPUID offers it, else
 * xAPIC through an uncached MMIO window.  Masks the legacy 8259 PICs,
 * enables the APIC with spurious vector 0xff, and runs the timer
 * periodically at LAPIC_HZ, calibrated against the TSC: lapic_start
 * starts the count before the TSC's own rate is known, and lapic_init
 * reads it once that rate is (at least LAPIC_CAL_US later), so the TSC's
 * calibration fills most of the window.
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/intr.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/time.h"

#define LAPIC_HZ	TIMER_HZ
#define LAPIC_CAL_US	500	/* the calibration window, at least */

#define LAPIC_ID	0x020
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define LAPIC_LVT_TMR	0x320
#define LAPIC_TMR_INIT	0x380
#define LAPIC_TMR_CUR	0x390
#define LAPIC_TMR_DIV	0x3e0
#define LVT_MASKED	(1u << 16)
#define LVT_PERIODIC	(1u << 17)

static bool x2apic;
static volatile uint32_t *xapic;

static uint32_t
lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return xapic[reg / 4];
}

static void
lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		xapic[reg / 4] = v;
}

void
lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static uint32_t tick_init;	/* TMR_INIT of one LAPIC_HZ period */
static uint64_t cal_t0;		/* TSC at the calibration's first count read */
static uint32_t cal_c0;		/* that count */
static bool started;

void
lapic_start(void)
{
	uint32_t r[4];

	/* Mask both 8259s: every interrupt comes through the APICs. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);

	cpuid(1, 0, r);
	if (!(r[3] & (1u << 9)))
		fail("lapic", "no_local_apic");
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (r[2] & (1u << 21)) {
		x2apic = true;
		wrmsr(MSR_APIC_BASE, base | (1ULL << 11) | (1ULL << 10));
	} else {
		wrmsr(MSR_APIC_BASE, base | (1ULL << 11));
		xapic = mmio_map(base & 0xfffff000ULL, 4096);
		if (xapic == NULL)
			fail("lapic", "cannot_map_lapic");
	}
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);

	/* Calibrate: count down from the maximum, masked, until lapic_init.
	   The tick only bounds how late a deadline is noticed, so a rate a
	   few percent off only moves that bound by as much (boots under TCG
	   read within 0.5 % of QEMU's 1 GHz). */
	lapic_write(LAPIC_TMR_DIV, 0x3);	/* divide by 16 */
	lapic_write(LAPIC_LVT_TMR, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TMR_INIT, 0xffffffff);
	/* Each end a TSC read then a count read, so the count read's latency
	   (an exit) falls on both ends alike. */
	cal_t0 = tsc_read();
	cal_c0 = lapic_read(LAPIC_TMR_CUR);
	started = true;
}

void
lapic_init(void)
{
	uint64_t hz = time_tsc_hz();

	if (!started)
		lapic_start();
	uint64_t t0 = cal_t0;
	/* Whatever of the window the boot's work did not fill. */
	while (tsc_read() - t0 < hz / 1000000 * LAPIC_CAL_US)
		cpu_pause();
	/* Ticks over the TSC time actually elapsed at the read: a vCPU
	   descheduled in the window stretches both. */
	uint64_t t1 = tsc_read();
	uint32_t elapsed = cal_c0 - lapic_read(LAPIC_TMR_CUR);
	uint64_t dt = t1 - t0;
	/* elapsed < 2^28 and hz < 2^35 (time_set_tsc_hz bound): no overflow. */
	uint64_t per_sec = dt != 0 && elapsed < (1u << 28) ?
	    (uint64_t)elapsed * hz / dt : 0;
	uint32_t init = (uint32_t)(per_sec / LAPIC_HZ);
	if (init == 0) {
		log_warn("lapic", "timer did not count during calibration; using a guess");
		init = 62500;
	}
	/* The first period is a sixteenth of the tick's (~60 us), so the
	   boot's proof that the timer interrupts arrive (kernel/main.c)
	   waits for that, not a whole millisecond; lapic_timer_tick()
	   then sets the tick's own period. */
	tick_init = init;
	lapic_write(LAPIC_TMR_INIT, 0);
	lapic_write(LAPIC_LVT_TMR, LVT_PERIODIC | VEC_TIMER);
	lapic_write(LAPIC_TMR_INIT, init / 16 > 0 ? init / 16 : 1);
	log_debug("lapic", "%s id %u, timer %u Hz (%llu bus ticks/s)",
	    x2apic ? "x2apic" : "xapic", lapic_read(LAPIC_ID) >> (x2apic ? 0 : 24),
	    LAPIC_HZ, (unsigned long long)per_sec * 16);
}

void
lapic_timer_tick(void)
{
	lapic_write(LAPIC_TMR_INIT, tick_init);
}

/* Another timer drives the tick now (the Hyper-V synthetic timer): mask
   the LAPIC timer and stop its count. */
void
lapic_timer_stop(void)
{
	lapic_write(LAPIC_LVT_TMR, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TMR_INIT, 0);
	log_info("lapic", "timer stopped; another timer drives the tick");
}

/*
 * hv_kern.c - kernel glue for the Hyper-V enlightenments: brings up
 * kernel/hv on the boot CPU when CPUID (platform_has_hyperv_hypercalls)
 * says the Microsoft hypervisor interface and its hypercall privilege
 * are there and the platform classifier says azure or hyperv, and never
 * otherwise: on QEMU/KVM (also with hv-* enlightenments), Nitro or a
 * QEMU guest dressed as Azure nothing here runs.
 *
 * Steps: probe (TERN HV line), guest OS id + hypercall page (an
 * executable, never writable page from exec_page_alloc, then
 * hw_hypercall_set_page), SynIC with SINT2 on a vector of our own, the
 * reference time (its TSC rate handed to kernel/clock, a second TERN
 * CLOCK line), the crash MSRs as the panic hook, and synthetic timer 0
 * as the tick in place of the LAPIC timer (only once it has been seen
 * ticking; otherwise the LAPIC timer stays, with a log line).  Each
 * step that fails is logged and the ones after it that depend on it
 * are skipped.  The decisions are portable functions in hv.c and
 * hv_timer.c, tested against the simulator; what is left here is the
 * kernel plumbing (vectors, pages, hooks).
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/clock/clock.h"
#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "kernel/intr.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/platform/platform.h"
#include "kernel/time.h"

static struct hw_dev hv_cpu = { .name = "hv" };
static struct hv hv_state;
static bool hv_up;
static volatile uint64_t hv_sint_irqs;
static struct hv_stimer hv_tick;

static uint64_t
hv_rdtsc(struct hw_dev *d)
{
	return rdtsc();
}

/* SINT2: waiters poll the message page after hlt returns; the interrupt
   only has to wake the CPU.  The common path EOIs the LAPIC (no AutoEOI,
   see hv_synic_init). */
static void
hv_sint_intr(void *ctx, int vector)
{
	hv_sint_irqs++;
}

/* The panic hook: P0 a tern marker, P1..P4 the first 32 bytes of the
   reason so the host's crash record says something. */
static void
hv_panic_report(const char *reason)
{
	hv_crash_report_reason(&hv_state, reason);
}

/* Synthetic timer 0's vector (direct mode, or SINT3 in message mode):
   one kernel tick per expiry; the common path EOIs the LAPIC. */
static void
hv_stimer_intr(void *ctx, int vector)
{
	if (hv_stimer_isr(&hv_tick) != 0)
		timer_tick();
}

/*
 * Make synthetic timer 0 the tick: start it periodic at TIMER_HZ, wait
 * (bounded, 50 ms) until it has ticked twice, then stop the LAPIC timer.
 * Any failure leaves the LAPIC timer as the tick, with a log line.
 */
static void
hv_tick_init(void)
{
	int vec = intr_alloc(hv_stimer_intr, NULL, "hv-stimer0");
	if (vec < 0) {
		log_info("hv", "no vector for the synthetic timer; the LAPIC timer stays the tick");
		return;
	}
	int rc = hv_stimer_start(&hv_tick, &hv_state, vec, TIMER_HZ, true);
	if (rc != TERN_OK) {
		log_info("hv", "synthetic timer: %s; the LAPIC timer stays the tick",
		    err_str(rc));
		intr_free(vec);
		return;
	}
	uint64_t t0 = time_now_ns();
	while (hv_tick.ticks < 2 && time_now_ns() - t0 < 50000000ull)
		cpu_idle();
	if (hv_tick.ticks < 2) {
		log_warn("hv", "synthetic timer (%s mode): %llu ticks in 50 ms; the LAPIC timer stays the tick",
		    hv_stimer_mode_name(hv_tick.mode),
		    (unsigned long long)hv_tick.ticks);
		hv_stimer_stop(&hv_tick);
		intr_free(vec);
		return;
	}
	lapic_timer_stop();
	log_info("hv", "tick: synthetic timer 0, %s mode, vector %d, %u Hz",
	    hv_stimer_mode_name(hv_tick.mode), vec, TIMER_HZ);
}

/*
 * Hand the TSC rate to the kernel clock: from the reference TSC page's
 * scale while its sequence says it is valid, else from the frequency
 * MSR, else leave the HPET/PM-timer calibration alone.  The kernel clock
 * keeps reading the TSC itself; only its rate comes from here.
 */
static void
hv_clock_handover(void)
{
	uint64_t scale, hz;
	const char *from = hv_clock_rate(&hv_state, &scale, &hz);

	if (from == NULL)
		return;
	if (scale != 0)
		clock_hv_ref_tsc(scale);
	else
		time_set_tsc_hz(hz, "hv-tsc-freq");
	marker("CLOCK source=%s hz=%llu", from,
	    (unsigned long long)time_tsc_hz());
}

/*
 * Follow a rewritten reference TSC page (a live migration onto a host
 * with another TSC rate): hand the new rate to the kernel clock.  Thread
 * context only - time_set_tsc_hz is not safe against an interrupt that
 * reads the clock, so interrupts are held off while the rate changes.
 * One load of the page's sequence when nothing changed.
 */
void
hv_kern_clock_poll(void)
{
	uint64_t scale;

	if (!hv_up || !hv_clock_rate_changed(&hv_state, &scale))
		return;
	bool was = intr_save();
	clock_hv_ref_tsc(scale);
	intr_restore(was);
	log_info("hv", "reference TSC page rewritten (sequence %u): TSC now %llu Hz",
	    hv_state.clock_seq, (unsigned long long)time_tsc_hz());
}

struct hv *
hv_kern(void)
{
	return hv_up && hv_state.synic_on ? &hv_state : NULL;
}

int
hv_kern_init(void)
{
	char line[LOG_LINE_MAX];
	uint64_t pa;
	int rc;

	/* Both: CPUID offers the interface, and the classifier says this is
	   Hyper-V or Azure.  KVM with Hyper-V enlightenments (QEMU hv-*)
	   shows "Microsoft Hv" too but has no VMBus host; it keeps the
	   KVM path. */
	int name = platform_name();
	if (!platform_has_hyperv_hypercalls() ||
	    (name != PLATFORM_AZURE && name != PLATFORM_HYPERV))
		return TERN_ENODEV;
	hv_state.read_tsc = hv_rdtsc;
	if ((rc = hv_probe(&hv_state, &hv_cpu)) != TERN_OK)
		return rc;
	hv_format(&hv_state, line, sizeof(line));
	marker("%s", line);
	void *page = exec_page_alloc(NULL, 0, &pa);
	if (page == NULL) {
		log_error("hv", "no executable page for hypercalls");
		return TERN_ENOMEM;
	}
	if ((rc = hv_hypercall_enable(&hv_state, pa)) != TERN_OK)
		return rc;
	hw_hypercall_set_page(page);
	hv_up = true;
	if (hv_state.misc & HV_M_CRASH_MSRS)
		panic_report_hook = hv_panic_report;
	int vec = intr_alloc(hv_sint_intr, NULL, "hv-sint2");
	if (vec < 0)
		log_error("hv", "no vector for SINT2: %s", err_str(vec));
	else if ((rc = hv_synic_init(&hv_state, vec)) != TERN_OK)
		log_warn("hv", "SynIC: %s; no VMBus", err_str(rc));
	if ((rc = hv_time_init(&hv_state)) != TERN_OK)
		log_warn("hv", "no Hyper-V reference time: %s", err_str(rc));
	else
		hv_clock_handover();
	log_info("hv", "reference time %s, TSC %llu Hz%s", hv_clock_source(&hv_state),
	    (unsigned long long)hv_state.tsc_hz,
	    hv_state.tsc_hz ? " (from the frequency MSR)" : " (not offered)");
	hv_tick_init();
	return TERN_OK;
}

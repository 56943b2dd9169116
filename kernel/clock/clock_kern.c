/*
 * clock_kern.c - the kernel side of clock selection (clock.h): HPET
 * (IA-PC HPET 1.0a 2.3: GCAP_ID, GEN_CONF, main counter), ACPI PM timer
 * (ACPI 6.5 4.8.3.3), kvmclock (Linux Documentation/virt/kvm/x86/msr.rst:
 * MSR_KVM_SYSTEM_TIME_NEW and the pvclock structure) and the TSC.
 *
 * Every reference is checked to actually count before it is trusted, and
 * every calibration loop is bounded by a TSC budget, so a missing or
 * stuck timer costs at most a few seconds and a warning, never a hang.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/acpi/acpi.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/clock/clock.h"
#include "kernel/hw/hw.h"
#include "kernel/intr.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/platform/platform.h"
#include "kernel/time.h"

/* kernel/arch/x86_64/tsc.c: replace the TSC rate (bounds-checked there). */

#define HPET_GCAP_ID		0x000
#define HPET_GCAP_64BIT		(1u << 13)
#define HPET_PERIOD		0x004	/* high half of GCAP_ID */
#define HPET_GEN_CONF		0x010
#define HPET_ENABLE		1u
#define HPET_COUNTER		0x0f0

#define MSR_KVM_SYSTEM_TIME	0x12
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01

#define CAL_BUDGET		(1ull << 32)	/* TSC ticks: ~1-4 s */

/* The HPET's registers go through the hardware seam like a device's:
   trace=hpet0 records them on COM2. */
static const struct hw_regname hpet_names[] = {
	{ HPET_GCAP_ID, 4, "GCAP_ID" },
	{ HPET_PERIOD, 4, "COUNTER_CLK_PERIOD" },
	{ HPET_GEN_CONF, 4, "GEN_CONF" },
	{ HPET_COUNTER, 8, "MAIN_COUNTER" },
	{ 0, 0, NULL },
};
static struct hw_dev hpet_hw = { .name = "hpet0" };
/* The CPU as the clock code asks it (kvmclock MSRs, CPUID leaves):
   through the seam like a device, traced with trace=cpu-clock. */
static struct hw_dev clock_cpu = { .name = "cpu-clock" };
static struct hw_bar hpet = { .dev = &hpet_hw, .names = hpet_names };
static uint64_t hpet_hz, hpet_mask;
static int chosen = CLOCK_TSC;

static uint64_t
hpet_read(void)
{
	return hw_read64(&hpet, HPET_COUNTER) & hpet_mask;
}

static uint64_t
pm_read(void)
{
	return acpi_pm_timer_read();
}

/* True when `rd` changes within a short TSC budget. */
static bool
counts(uint64_t (*rd)(void))
{
	uint64_t a = rd(), t0 = rdtsc();

	while (rdtsc() - t0 < (1ull << 26))
		if (rd() != a)
			return true;
	return false;
}

static bool
hpet_setup(void)
{
	uint32_t cap;

	if (!acpi.hpet_present)
		return false;
	if (hpet.va == NULL) {
		hpet_hw.trace = hw_trace_wanted(hpet_hw.name);
		hpet.pa = acpi.hpet_base;
		hpet.len = 0x400;
		hpet.va = mmio_map(hpet.pa, (size_t)hpet.len);
	}
	if (hpet.va == NULL)
		return false;
	cap = hw_read32(&hpet, HPET_GCAP_ID);
	hpet_hz = clock_hpet_hz(hw_read32(&hpet, HPET_PERIOD));
	if (hpet_hz == 0 || cap == 0xffffffffu) {
		log_warn("clock", "HPET at 0x%llx: bad period, not used",
		    (unsigned long long)acpi.hpet_base);
		return false;
	}
	hpet_mask = (cap & HPET_GCAP_64BIT) ? ~0ull : 0xffffffffull;
	hw_write32(&hpet, HPET_GEN_CONF, hw_read32(&hpet, HPET_GEN_CONF) | HPET_ENABLE);
	if (!counts(hpet_read)) {
		log_warn("clock", "HPET does not count, not used");
		return false;
	}
	return true;
}

/* TSC ticks over `ms` of a reference counting at `hz` (wrapping at
   `mask`); 0 when the reference stalls. */
static uint64_t
calibrate(uint64_t (*rd)(void), uint64_t mask, uint64_t hz, unsigned ms)
{
	uint64_t target = hz * ms / 1000, acc = 0, last, t0, t1;

	/* Every sample is the TSC then the reference, in that order, so the
	   reference's read latency (an MMIO or port exit, microseconds under
	   emulation) falls on both ends alike instead of into the span. */
	t0 = rdtsc();
	last = rd();
	t1 = t0;
	while (acc < target) {
		t1 = rdtsc();
		uint64_t r = rd();
		acc += (r - last) & mask;
		last = r;
		if (t1 - t0 > CAL_BUDGET)
			return 0;
	}
	return clock_ratio_hz(t1 - t0, acc, hz);
}

static bool
pm_usable(void)
{
	return acpi.pm_timer.addr != 0 && counts(pm_read);
}

static uint64_t
pm_mask(void)
{
	return acpi.pm_timer_32bit ? 0xffffffffull : 0xffffffull;
}

uint64_t
clock_calibrate_tsc(unsigned ms)
{
	uint64_t hz = 0;

	if (hpet.va != NULL && hpet_hz != 0)
		hz = calibrate(hpet_read, hpet_mask, hpet_hz, ms);
	if (hz == 0 && pm_usable())
		hz = calibrate(pm_read, pm_mask(), ACPI_PM_TIMER_HZ, ms);
	return hz;
}

/* The background calibration window (clock.h) and what it reads. */
static struct clock_window win;
static uint64_t (*win_rd)(void);
static const char *win_ref;
static uint64_t win_due;	/* TSC ticks from the start before closing */
static unsigned win_restarts;

/* One (TSC, reference) sample, the TSC read first; false when the pair
   is more than 100 us apart (the vCPU was preempted, or the emulator
   held the read back), so a skewed pair never enters a window. */
static bool
sample(uint64_t (*rd)(void), uint64_t *tsc, uint64_t *ref)
{
	uint64_t a = rdtsc(), r = rd(), b = rdtsc();

	if (b - a > time_tsc_hz() / 10000)
		return false;
	*tsc = a;
	*ref = r;
	return true;
}

static void
window_start(uint64_t (*rd)(void), uint64_t hz, uint64_t mask, const char *ref)
{
	uint64_t t, r;

	win_rd = rd;
	win_ref = ref;
	win_due = time_tsc_hz() / 1000 * CLOCK_WINDOW_MIN_MS;
	for (int i = 0; i < 4; i++)
		if (sample(rd, &t, &r)) {
			clock_window_open(&win, t, r, hz, mask);
			return;
		}
	log_warn("clock", "%s reads take over 100 us; no background calibration",
	    ref);
}

void
clock_refine(void)
{
	bool restarted;

	/* The reference is read (an MMIO or port exit) only once the window
	   is due: before that this is a flag test and an rdtsc. */
	if (!win.open || rdtsc() - win.tsc0 < win_due)
		return;
	/* Someone with the host's own figure (the Hyper-V TSC frequency
	   MSR, kvmclock) set the rate since: theirs stands. */
	if (strcmp(time_ref_name(), win_ref) != 0) {
		win.open = false;
		return;
	}
	uint64_t boot_hz = time_tsc_hz(), t, r;
	if (!sample(win_rd, &t, &r))
		return;		/* a skewed pair: the next call samples again */
	uint64_t hz = clock_window_close(&win, t, r, boot_hz, &restarted);
	if (restarted) {
		log_warn("clock", "background calibration against %s over %llu "
		    "ms gave %llu Hz, not within %u ppm of %llu Hz; measuring again",
		    win_ref, (unsigned long long)win.last_ms,
		    (unsigned long long)win.last_hz, CLOCK_WINDOW_AGREE_PPM,
		    (unsigned long long)boot_hz);
		if (++win_restarts >= 5) {
			win.open = false;
			log_warn("clock", "background calibration given up; "
			    "keeping %llu Hz", (unsigned long long)boot_hz);
		}
		return;
	}
	if (hz == 0)
		return;
	/* time_set_tsc_hz is not safe against an interrupt reading the
	   clock: hold them off while the rate changes. */
	bool was = intr_save();
	time_set_tsc_hz(hz, win_ref);
	intr_restore(was);
	log_info("clock", "tsc %llu Hz refined against %s over %llu ms (boot "
	    "estimate %llu Hz)", (unsigned long long)hz, win_ref,
	    (unsigned long long)((t - win.tsc0) / (hz / 1000)),
	    (unsigned long long)boot_hz);
}

/* The pvclock structure (64 bytes aligned, written by the host). */
struct pvclock {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((aligned(64)));

static struct pvclock pvclock;

static uint64_t
kvmclock_tsc_hz(void)
{
	const struct platform_evidence *ev = platform_evidence();
	const struct platform_sig *s = platform_find_sig(ev, "KVMKVMKVM");
	uint32_t msr = (s != NULL && (s->iface & KVM_FEATURE_CLOCKSOURCE2)) ?
	    MSR_KVM_SYSTEM_TIME_NEW : MSR_KVM_SYSTEM_TIME;
	uint64_t pa = virt_to_phys(&pvclock), hz = 0;

	if (pa == ~0ull)
		return 0;
	clock_cpu.trace = hw_trace_wanted(clock_cpu.name);
	hw_msr_write(&clock_cpu, msr, pa | 1);
	for (int i = 0; i < 1000 && hz == 0; i++) {
		uint32_t v = __atomic_load_n(&pvclock.version, __ATOMIC_ACQUIRE);
		uint32_t mul;
		int8_t shift;

		if (v == 0 || (v & 1)) {
			cpu_pause();
			continue;	/* not written yet, or mid-update */
		}
		mul = pvclock.tsc_to_system_mul;
		shift = pvclock.tsc_shift;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&pvclock.version, __ATOMIC_RELAXED) == v)
			hz = clock_pvclock_tsc_hz(mul, shift);
	}
	hw_msr_write(&clock_cpu, msr, 0);	/* only the rate was needed */
	return hz;
}

/* clock_init's quick measurement, closed by clock_settle. */
static struct {
	uint64_t (*rd)(void);
	uint64_t mask, hz;	/* the reference's wrap mask and rate */
	uint64_t tsc0, ref0;	/* the first pair */
	const char *ref;	/* "hpet" or "pmtimer" */
	const char *base;	/* the TSC rate's source when it opened */
	bool open;		/* the first pair was taken */
	bool any;		/* an HPET or PM timer was found */
	bool hpet;		/* and it was an HPET */
	bool due;		/* clock_settle has work to do */
} quick;

static bool
quick_open(uint64_t (*rd)(void), uint64_t mask, uint64_t hz)
{
	for (int i = 0; i < 4; i++)
		if (sample(rd, &quick.tsc0, &quick.ref0)) {
			quick.rd = rd;
			quick.mask = mask;
			quick.hz = hz;
			return true;
		}
	return false;
}

/* The rate from the first pair to one at least `ms` of the reference
   later, waiting for whatever the boot's work did not fill; 0 when the
   reference stalls, or when so much time passed that its count could
   have wrapped (then the caller measures afresh). */
static uint64_t
quick_close(unsigned ms)
{
	uint64_t target = quick.hz * ms / 1000, t, r = 0;

	for (;;) {
		/* A skewed pair (preempted between the reads) is read again. */
		bool ok = sample(quick.rd, &t, &r);
		if (!ok)
			t = rdtsc();
		if (t - quick.tsc0 > CAL_BUDGET)
			return 0;
		if (ok && ((r - quick.ref0) & quick.mask) >= target)
			break;
	}
	uint64_t acc = (r - quick.ref0) & quick.mask;
	/* Older than half the reference's wrap period (by the rate in
	   use): a whole wrap could hide in the count. */
	uint64_t wrap_ms = quick.mask / (quick.hz / 1000) / 2;
	if ((t - quick.tsc0) / (time_tsc_hz() / 1000 + 1) >= wrap_ms)
		return 0;
	return clock_ratio_hz(t - quick.tsc0, acc, quick.hz);
}

void
clock_settle(void)
{
	uint64_t hz = 0;

	if (!quick.due)
		return;
	quick.due = false;
	/* Someone with the host's own figure (the Hyper-V TSC frequency
	   MSR or reference page) set the rate since: theirs stands. */
	if (strcmp(time_ref_name(), quick.base) != 0)
		return;
	if (quick.open)
		hz = quick_close(CLOCK_QUICK_MS);
	if (hz == 0 && quick.any)
		hz = clock_calibrate_tsc(CLOCK_QUICK_MS);	/* afresh */
	if (hz != 0) {
		time_set_tsc_hz(hz, quick.ref);
		if (quick.hpet)
			window_start(hpet_read, hpet_hz, hpet_mask, "hpet");
		else
			window_start(pm_read, ACPI_PM_TIMER_HZ, pm_mask(),
			    "pmtimer");
	} else if ((hz = tsc_pit_hz(7)) != 0) {
		/* Nothing better than the PIT: the median of three 7 ms
		   measurements, not the boot's one short window. */
		if (quick.any)
			log_warn("clock", "TSC calibration against %s failed; using the pit",
			    quick.ref);
		time_set_tsc_hz(hz, "pit");
	} else if (quick.any) {
		log_warn("clock", "TSC calibration against %s failed; keeping %s",
		    quick.ref, time_ref_name());
	}
	log_debug("clock", "tsc %llu Hz from %s", (unsigned long long)time_tsc_hz(),
	    time_ref_name());
}

static bool
invariant_tsc(void)
{
	uint32_t r[4];

	clock_cpu.trace = hw_trace_wanted(clock_cpu.name);
	hw_cpuid(&clock_cpu, 0x80000000, 0, r);
	if (r[0] < 0x80000007)
		return false;
	hw_cpuid(&clock_cpu, 0x80000007, 0, r);
	return (r[3] >> 8) & 1;
}

void
clock_init(void)
{
	struct clock_caps caps = { 0 };
	uint64_t hz = 0;

	caps.kvmclock = platform_has_kvmclock();
	caps.invariant_tsc = invariant_tsc();
	caps.hpet = hpet_setup();
	caps.pmtimer = pm_usable();
	chosen = clock_choose(&caps);

	if (chosen == CLOCK_KVMCLOCK) {
		hz = kvmclock_tsc_hz();
		if (hz != 0) {
			time_set_tsc_hz(hz, "kvmclock");
		} else {
			log_warn("clock", "kvmclock advertised but gave no rate");
			caps.kvmclock = false;
			chosen = clock_choose(&caps);
		}
	}
	if (chosen != CLOCK_KVMCLOCK) {
		/* The quick measurement's first pair now, its second in
		   clock_settle once the boot's own work (buses, drivers) has
		   filled CLOCK_QUICK_MS; then a long one in the background
		   (clock_refine).  No busy wait in the boot. */
		quick.ref = caps.hpet ? "hpet" : "pmtimer";
		quick.base = time_ref_name();
		quick.open = (caps.hpet && quick_open(hpet_read, hpet_mask,
		    hpet_hz)) || (caps.pmtimer && quick_open(pm_read, pm_mask(),
		    ACPI_PM_TIMER_HZ));
		quick.any = caps.hpet || caps.pmtimer;
		quick.hpet = caps.hpet;
		quick.due = true;
	}
	switch (chosen) {
	case CLOCK_HPET: hz = hpet_hz; break;
	case CLOCK_PMTIMER: hz = ACPI_PM_TIMER_HZ; break;
	default: hz = time_tsc_hz(); break;
	}
	log_debug("clock", "invariant tsc %d, hpet %d, pm timer %d, kvmclock %d; tsc %llu Hz from %s",
	    caps.invariant_tsc, caps.hpet, caps.pmtimer, caps.kvmclock,
	    (unsigned long long)time_tsc_hz(), time_ref_name());
	marker("CLOCK source=%s hz=%llu", clock_source_name(chosen),
	    (unsigned long long)hz);
}

int
clock_source(void)
{
	return chosen;
}

void
clock_hv_ref_tsc(uint64_t scale)
{
	uint64_t hz = clock_hv_scale_tsc_hz(scale);

	if (hz == 0) {
		log_warn("clock", "Hyper-V reference TSC scale 0x%llx unusable",
		    (unsigned long long)scale);
		return;
	}
	win.open = false;	/* the host's rate beats any measurement */
	time_set_tsc_hz(hz, "hv-ref-tsc");
	log_info("clock", "TSC %llu Hz from the Hyper-V reference TSC page",
	    (unsigned long long)hz);
}

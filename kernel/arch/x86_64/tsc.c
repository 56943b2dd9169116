/*
 * tsc.c - the monotonic clock (kernel/time.h).
 *
 * The TSC is read directly and converted with a 32.32 fixed-point
 * multiplier, so time_now_ns() costs an rdtsc and a multiply.  Its rate
 * comes from, in order: CPUID leaf 0x15 (crystal ratio, when the crystal
 * frequency is given), else a measurement against PIT channel 2 opened at
 * kernel entry (tsc_early_start) and closed in tsc_init once at least
 * 1 ms passed, so the boot's first few milliseconds of work fill the
 * window instead of a busy wait (good to about 0.1 % unless the vCPU was
 * preempted at either end).  It lasts only until clock_init recalibrates
 * against the HPET, PM timer or kvmclock (time_set_tsc_hz), or, with none
 * of them or when that fails, against the PIT again: the median of three
 * 7 ms measurements.  Time zero is the loader's first TSC reading, so
 * boot figures are "since the loader started".
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/log.h"
#include "kernel/time.h"

#define PIT_HZ		1193182ULL
#define PIT_BOOT_MS	1	/* once: clock_init measures again */

static uint64_t tsc_zero;	/* TSC value at which base_ns was valid */
static uint64_t base_ns;	/* time at tsc_zero */
static uint64_t tsc_hz;
static uint64_t ns_mult;	/* ns per tick, 32.32 fixed point */
static const char *ref_name = "none";

uint64_t tsc_read(void) { return rdtsc(); }

static void
set_hz(uint64_t hz, const char *ref)
{
	tsc_hz = hz;
	ns_mult = (1000000000ULL << 32) / hz;
	ref_name = ref;
}

/*
 * A better reference (HPET, PM timer, kvmclock, Hyper-V) refines the rate.
 * Time is carried forward from now at the old rate, so the clock never
 * jumps, and never goes backwards.
 */
void
time_set_tsc_hz(uint64_t hz, const char *ref)
{
	if (hz < 100000000ULL || hz > 20000000000ULL)
		return;
	uint64_t now_tsc = rdtsc();
	uint64_t now = time_now_ns();
	base_ns = now;
	tsc_zero = now_tsc;
	set_hz(hz, ref);
}

static uint64_t
cpuid_tsc_hz(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	if (r[0] < 0x15)
		return 0;
	cpuid(0x15, 0, r);
	/* eax = denominator, ebx = numerator, ecx = crystal Hz */
	if (r[0] == 0 || r[1] == 0 || r[2] == 0)
		return 0;
	return (uint64_t)r[2] * r[1] / r[0];
}

/* PIT channel 2's count now (counter latch command, low then high). */
static uint16_t
pit2_count(void)
{
	outb(0x43, 0x80);
	uint8_t lo = inb(0x42);
	return (uint16_t)(lo | (inb(0x42) << 8));
}

/* A PIT channel 2 window: channel 2 counts down from 0xffff in mode 0
   (gated by port 0x61 bit 0); the count and the TSC are read together at
   its start and once at least `ms` of it passed.  Both clocks are sampled
   at the same instants, so a vCPU descheduled in between (steal time, a
   loaded host) stretches both alike; only a preemption between the rdtsc
   and the latch skews a sample, and tsc_pit_hz takes the median of three.
   Every wait is bounded by a TSC budget in case no PIT answers (some
   Hyper-V Gen2 machines have none). */
struct pit_win {
	uint64_t t0;
	uint16_t c0;
	uint8_t p61;
	bool open;
};

#define PIT_OUT2	0x20	/* port 0x61: channel 2's output */
#define PIT_LOAD_BUDGET	(1ULL << 24)	/* TSC ticks: 3-16 ms at 1-5 GHz */

static bool
pit_start(struct pit_win *w)
{
	uint64_t t0;

	w->open = false;
	w->p61 = inb(0x61);
	outb(0x61, (uint8_t)((w->p61 & ~0x02) & ~0x01));	/* gate low, no speaker */
	outb(0x43, 0xb0);		/* channel 2, lo/hi, mode 0, binary */
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	outb(0x61, (uint8_t)((w->p61 & ~0x02) | 0x01));	/* gate high: start */
	/* The count loads on a clock edge after the gate (within a
	   microsecond): start from the first reading below the initial
	   value. */
	t0 = rdtsc();
	while (pit2_count() >= 0xfffe)
		if (rdtsc() - t0 > PIT_LOAD_BUDGET) {
			outb(0x61, w->p61);
			return false;
		}
	w->t0 = rdtsc();
	w->c0 = pit2_count();
	w->open = true;
	return true;
}

/* The TSC rate over the window, waiting until `ms` (at most 50) of the
   PIT passed since pit_start; 0 when no PIT answers, or when the window
   ran past the count's wrap (~55 ms: OUT2 went high at terminal count),
   which also sets *wrapped. */
static uint64_t
pit_finish(struct pit_win *w, unsigned ms, bool *wrapped)
{
	uint16_t want = (uint16_t)(PIT_HZ * ms / 1000), c;
	uint64_t t, budget = 1ULL << 33;	/* ~2-8 s at any sane rate */

	if (!w->open)
		return 0;
	w->open = false;
	*wrapped = false;
	for (;;) {
		t = rdtsc();
		c = pit2_count();
		if (inb(0x61) & PIT_OUT2) {
			*wrapped = true;
			goto dead;
		}
		if ((uint16_t)(w->c0 - c) >= want && c < w->c0)
			break;
		if (t - w->t0 > budget)
			goto dead;
	}
	outb(0x61, w->p61);
	/* t - t0 is below the 2^33 budget: the product fits 64 bits. */
	return (t - w->t0) * PIT_HZ / (uint16_t)(w->c0 - c);
dead:
	outb(0x61, w->p61);
	return 0;
}

static uint64_t
pit_once(unsigned ms)
{
	struct pit_win w;
	bool wrapped;

	return pit_start(&w) ? pit_finish(&w, ms, &wrapped) : 0;
}

/* The boot's window, opened at kernel entry (tsc_early_start) so the
   boot's own work, not a busy wait, fills it. */
static struct pit_win boot_win;
static uint64_t boot_cpuid_hz;
static bool boot_started;

void
tsc_early_start(void)
{
	boot_started = true;
	if ((boot_cpuid_hz = cpuid_tsc_hz()) == 0)
		(void)pit_start(&boot_win);
}

static uint64_t
boot_pit_hz(void)
{
	bool wrapped = false;
	uint64_t hz;

	if (!boot_started)
		return pit_once(PIT_BOOT_MS);
	if (!boot_win.open)
		return 0;	/* no PIT answered at entry */
	hz = pit_finish(&boot_win, PIT_BOOT_MS, &wrapped);
	/* The boot took longer than the count lasts: measure again. */
	return hz == 0 && wrapped ? pit_once(PIT_BOOT_MS) : hz;
}

/* The TSC rate from the median of three `ms` (1-16) PIT measurements. */
uint64_t
tsc_pit_hz(unsigned ms)
{
	uint64_t a, b, c, x;

	if (ms == 0 || ms > 16)
		return 0;
	if ((a = pit_once(ms)) == 0 || (b = pit_once(ms)) == 0 ||
	    (c = pit_once(ms)) == 0)
		return 0;
	if (a > b) { x = a; a = b; b = x; }
	if (b > c) { x = b; b = c; c = x; }
	if (a > b) { x = a; a = b; b = x; }
	return b;
}

void
tsc_init(uint64_t loader_start)
{
	tsc_zero = loader_start;
	uint64_t hz = boot_started ? boot_cpuid_hz : cpuid_tsc_hz();
	if (hz != 0) {
		set_hz(hz, "cpuid");
	} else if ((hz = boot_pit_hz()) != 0) {
		set_hz(hz, "pit");
	} else {
		set_hz(2000000000ULL, "guess");
		log_warn("time", "no PIT answered in calibration; assuming a 2 GHz TSC");
	}
	uint32_t r[4];
	cpuid(0x80000000, 0, r);
	int invariant = 0;
	if (r[0] >= 0x80000007) {
		cpuid(0x80000007, 0, r);
		invariant = (r[3] >> 8) & 1;
	}
	log_debug("time", "tsc %llu Hz (from %s)%s", (unsigned long long)tsc_hz,
	    ref_name, invariant ? ", invariant" : "");
}

uint64_t
time_now_ns(void)
{
	if (ns_mult == 0)
		return 0;
	uint64_t d = rdtsc() - tsc_zero;
	return base_ns + (uint64_t)(((unsigned __int128)d * ns_mult) >> 32);
}

void
time_delay_us(uint64_t us)
{
	uint64_t end = time_now_ns() + us * 1000;
	while (time_now_ns() < end)
		cpu_pause();
}

uint64_t time_tsc_hz(void) { return tsc_hz; }
const char *time_ref_name(void) { return ref_name; }

uint64_t
log_clock_ns(void)
{
	return time_now_ns();
}

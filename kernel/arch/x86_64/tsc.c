/*
 * tsc.c - the monotonic clock (kernel/time.h).
 *
 * The TSC is read directly and converted with a 32.32 fixed-point
 * multiplier, so time_now_ns() costs an rdtsc and a multiply.  Its rate
 * comes from, in order: CPUID leaf 0x15 (crystal ratio, when the crystal
 * frequency is given), else a 10 ms measurement against PIT channel 2.  The
 * ACPI code may later recalibrate against the HPET or PM timer
 * (time_set_tsc_hz).  Time zero is the loader's first TSC reading, so
 * boot figures are "since the loader started".
 */
#include <stdint.h>

#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/log.h"
#include "kernel/time.h"

#define PIT_HZ		1193182ULL
#define PIT_CAL_MS	10

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

/* Count TSC ticks across PIT_CAL_MS of PIT channel 2 (mode 0, gated by
   port 0x61 bit 0, done when bit 5 goes high).  Bounded by a TSC budget in
   case no PIT answers (some Hyper-V Gen2 machines have none). */
static uint64_t
pit_tsc_hz(void)
{
	uint16_t count = (uint16_t)(PIT_HZ * PIT_CAL_MS / 1000);
	uint8_t p61 = inb(0x61);

	outb(0x61, (uint8_t)((p61 & ~0x02) & ~0x01));	/* gate low, no speaker */
	outb(0x43, 0xb0);		/* channel 2, lo/hi, mode 0, binary */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	uint64_t t0 = rdtsc();
	outb(0x61, (uint8_t)((p61 & ~0x02) | 0x01));	/* gate high: start */
	uint64_t budget = 1ULL << 33;	/* ~2-8 s of TSC at any sane rate */
	while (!(inb(0x61) & 0x20)) {
		if (rdtsc() - t0 > budget) {
			outb(0x61, p61);
			return 0;
		}
	}
	uint64_t t1 = rdtsc();
	outb(0x61, p61);
	return (t1 - t0) * 1000 / PIT_CAL_MS;
}

void
tsc_init(uint64_t loader_start)
{
	tsc_zero = loader_start;
	uint64_t hz = cpuid_tsc_hz();
	if (hz != 0) {
		set_hz(hz, "cpuid");
	} else if ((hz = pit_tsc_hz()) != 0) {
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
	log_info("time", "tsc %llu Hz (from %s)%s", (unsigned long long)tsc_hz,
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

/*
 * test_clock_kern.c - the kernel side of the clock (kernel/clock/
 * clock_kern.c) built for the host: the boot's quick TSC measurement that
 * clock_init opens and clock_settle closes, with no busy wait between.
 *
 * The HPET is a fake behind the hardware seam whose counter is the host's
 * TSC divided by TSC_PER_TICK, so the right answer is known exactly
 * (TSC_PER_TICK x 100 MHz) whatever the host's TSC rate.  The kernel
 * clock (time_*) is a stub that records the rate handed to it.  Each test
 * covers a case the fast path must still get right: the measurement
 * itself, a rate the host (Hyper-V) gave meanwhile, and a first pair so
 * old that the reference may have wrapped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The hardware seam's host side (hw_host.c), then the kernel parts of
   the other headers clock_kern.c uses: clock_init, clock_settle, acpi,
   mmio_map, platform_evidence. */
#include "kernel/hw/hw.h"
#include "tests/hw/kstubs.h"
#define TERN_KERNEL 1
#include "kernel/acpi/acpi.h"
#include "kernel/clock/clock.h"
#include "kernel/intr.h"
#include "kernel/mm.h"
#include "kernel/platform/platform.h"
#include "kernel/time.h"
#undef TERN_KERNEL

/* The kernel's trace switch (kernel/hw/hw_native.h), stubbed below. */
bool hw_trace_wanted(const char *name);

/* Before cmocka.h: its fail() macro would eat kernel/panic.h's fail(). */
#include "kernel/clock/clock_kern.c"

#include <cmocka.h>

#define TSC_PER_TICK	27ULL		/* fake HPET: 100 MHz, TSC / 27 */
#define WANT_HZ		(TSC_PER_TICK * 100000000ULL)

struct acpi_info acpi;
static uint8_t fake_mmio[0x400];
static uint64_t stub_hz = 2000000000ULL;	/* the boot's PIT figure */
static const char *stub_ref = "pit";
static unsigned stub_sets;
static uint64_t hpet_reads;

void *mmio_map(uint64_t pa, size_t len) { (void)pa; (void)len; return fake_mmio; }
bool platform_has_kvmclock(void) { return false; }
uint32_t acpi_pm_timer_read(void) { return 0; }
bool intr_save(void) { return false; }
void intr_restore(bool was) { (void)was; }
uint64_t tsc_pit_hz(unsigned ms) { (void)ms; return 0; }
bool hw_trace_wanted(const char *name) { (void)name; return false; }
/* kvmclock's (never chosen here: platform_has_kvmclock is false). */
const struct platform_evidence *platform_evidence(void) { return NULL; }
const struct platform_sig *
platform_find_sig(const struct platform_evidence *ev, const char *sig)
{
	(void)ev; (void)sig;
	return NULL;
}
uint64_t virt_to_phys(const void *va) { (void)va; return ~0ull; }
uint64_t time_tsc_hz(void) { return stub_hz; }
const char *time_ref_name(void) { return stub_ref; }

void
time_set_tsc_hz(uint64_t hz, const char *ref)
{
	stub_hz = hz;
	stub_ref = ref;
	stub_sets++;
}

static uint64_t
host_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t
fake_hpet_read(struct hw_bar *b, uint32_t off, int width)
{
	(void)b;
	(void)width;
	switch (off) {
	case HPET_GCAP_ID: return HPET_GCAP_64BIT | 0x8086a201u;
	case HPET_PERIOD: return 10000000u;	/* fs: 100 MHz */
	case HPET_GEN_CONF: return HPET_ENABLE;
	case HPET_COUNTER: hpet_reads++; return host_tsc() / TSC_PER_TICK;
	default: return 0;
	}
}

static void
fake_hpet_write(struct hw_bar *b, uint32_t off, int width, uint64_t v)
{
	(void)b; (void)off; (void)width; (void)v;
}

static void
fake_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	(void)d; (void)leaf; (void)sub;
	memset(out, 0, 4 * sizeof(uint32_t));	/* no invariant TSC */
}

static const struct hw_ops hpet_ops = {
	.read = fake_hpet_read, .write = fake_hpet_write,
};
static const struct hw_ops cpu_ops = { .cpuid = fake_cpuid };

static int
setup(void **state)
{
	(void)state;
	kstub_reset();
	memset(&acpi, 0, sizeof(acpi));
	acpi.hpet_present = true;
	acpi.hpet_base = 0xfed00000;
	hpet_hw.ops = &hpet_ops;
	clock_cpu.ops = &cpu_ops;
	hpet.va = NULL;
	memset(&quick, 0, sizeof(quick));
	memset(&win, 0, sizeof(win));
	stub_hz = 2000000000ULL;
	stub_ref = "pit";
	stub_sets = 0;
	return 0;
}

static bool
near(uint64_t got, uint64_t want, uint64_t ppm)
{
	uint64_t d = got > want ? got - want : want - got;
	return d <= want / 1000000 * ppm;
}

/* clock_init takes one pair and measures nothing; clock_settle, once a
   millisecond of the reference passed, sets the rate and opens the
   background window. */
static void
test_settle_measures_against_hpet(void **state)
{
	(void)state;
	clock_init();
	assert_int_equal(stub_sets, 0);		/* no measurement in clock_init */
	assert_true(quick.open);
	assert_true(kstub_marker(0, (char[64]){ 0 }, 64));
	uint64_t reads = hpet_reads;
	clock_settle();
	assert_int_equal(stub_sets, 1);
	assert_string_equal(stub_ref, "hpet");
	assert_true(near(stub_hz, WANT_HZ, 2000));
	assert_true(hpet_reads > reads);
	assert_true(win.open);
	/* Once only. */
	clock_settle();
	assert_int_equal(stub_sets, 1);
}

/* The host gave a rate between clock_init and clock_settle (Hyper-V's
   frequency MSR, hv_kern_init): it stands, and no window opens. */
static void
test_settle_keeps_the_host_rate(void **state)
{
	(void)state;
	clock_init();
	time_set_tsc_hz(2500000000ULL, "hv-tsc-freq");
	clock_settle();
	assert_int_equal(stub_sets, 1);
	assert_int_equal(stub_hz, 2500000000ULL);
	assert_string_equal(stub_ref, "hv-tsc-freq");
	assert_false(win.open);
}

/* A first pair from longer ago than half the reference's wrap period
   may hide a wrap.  Here the counter is cut to 24 bits (168 ms at
   100 MHz, like a PM timer's 4.7 s at its rate) and the pair is one and
   a half wraps old: the masked count shows only half a wrap, which would
   make the rate three times too high.  The pair is not used; the rate is
   measured afresh. */
static void
test_settle_remeasures_a_stale_pair(void **state)
{
	(void)state;
	clock_init();
	quick.mask = 0xffffffull;
	uint64_t half = (quick.mask + 1) / 2;
	quick.tsc0 -= 3 * half * TSC_PER_TICK;
	quick.ref0 = (quick.ref0 - half) & quick.mask;
	clock_settle();
	assert_int_equal(stub_sets, 1);
	assert_string_equal(stub_ref, "hpet");
	/* The fresh window is timed on the host's real clock, and a busy
	   host (CI runs fuzzers alongside) can stall between its two reads
	   by more than 0.2 %: 2 % still tells it from the stale pair's 3x. */
	assert_true(near(stub_hz, WANT_HZ, 20000));
}

/* No HPET and no PM timer: nothing to measure against, the PIT figure
   stays and nothing is waited for. */
static void
test_settle_without_reference(void **state)
{
	(void)state;
	acpi.hpet_present = false;
	clock_init();
	assert_false(quick.open);
	clock_settle();
	assert_int_equal(stub_sets, 0);
	assert_string_equal(stub_ref, "pit");
	assert_false(win.open);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_settle_measures_against_hpet, setup),
		cmocka_unit_test_setup(test_settle_keeps_the_host_rate, setup),
		cmocka_unit_test_setup(test_settle_remeasures_a_stale_pair, setup),
		cmocka_unit_test_setup(test_settle_without_reference, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_clock.c - clock source choice and the rate arithmetic behind TSC
 * calibration, kvmclock and the Hyper-V reference TSC page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernel/clock/clock.h"

static int
choose(bool kvm, bool inv, bool hpet, bool pm)
{
	struct clock_caps c = { kvm, inv, hpet, pm };
	return clock_choose(&c);
}

static void
test_choose(void **state)
{
	assert_int_equal(choose(true, true, true, true), CLOCK_KVMCLOCK);
	assert_int_equal(choose(true, false, false, false), CLOCK_KVMCLOCK);
	assert_int_equal(choose(false, true, true, true), CLOCK_TSC);
	assert_int_equal(choose(false, true, false, true), CLOCK_TSC);
	/* QEMU TCG q35: no invariant TSC, HPET present. */
	assert_int_equal(choose(false, false, true, true), CLOCK_HPET);
	/* Hyper-V without invariant TSC: no HPET. */
	assert_int_equal(choose(false, false, false, true), CLOCK_PMTIMER);
	/* Nothing to calibrate against: TSC as the arch code found it. */
	assert_int_equal(choose(false, true, false, false), CLOCK_TSC);
	assert_int_equal(choose(false, false, false, false), CLOCK_TSC);
	assert_string_equal(clock_source_name(CLOCK_PMTIMER), "pmtimer");
	assert_string_equal(clock_source_name(CLOCK_KVMCLOCK), "kvmclock");
	assert_string_equal(clock_source_name(CLOCK_HPET), "hpet");
	assert_string_equal(clock_source_name(CLOCK_TSC), "tsc");
}

static void
test_ratio(void **state)
{
	/* 10 ms of a 100 MHz HPET against a 2.5 GHz TSC. */
	assert_int_equal(clock_ratio_hz(25000000, 1000000, 100000000), 2500000000ull);
	/* PM timer: 35795 ticks ~ 10 ms. */
	assert_int_equal(clock_ratio_hz(30000000, 35795, 3579545), 3000037714ull);
	assert_int_equal(clock_ratio_hz(1, 0, 100), 0);
	/* No overflow with large products; saturation when the quotient
	   does not fit. */
	assert_int_equal(clock_ratio_hz(1ull << 40, 1ull << 20, 1ull << 30), 1ull << 50);
	assert_int_equal(clock_ratio_hz(0xffffffffffffffffull, 3, 3),
	    0xffffffffffffffffull);
	assert_int_equal(clock_ratio_hz(0xfedcba9876543210ull, 0x987654321ull,
	    0x123456789ull), (uint64_t)((unsigned __int128)0xfedcba9876543210ull *
	    0x123456789ull / 0x987654321ull));
	assert_int_equal(clock_ratio_hz(1ull << 63, 2, 4), UINT64_MAX);
	/* Cross-check against 128-bit arithmetic (host only) over a sweep. */
	for (uint64_t a = 1; a < (1ull << 62); a = a * 7 + 3)
		for (uint64_t c = 1; c < (1ull << 62); c = c * 13 + 1) {
			unsigned __int128 want = (unsigned __int128)a * 3579545u / c;
			if (want <= UINT64_MAX)
				assert_int_equal(clock_ratio_hz(a, c, 3579545u), (uint64_t)want);
		}
}

static void
test_pvclock(void **state)
{
	/* A 2 GHz TSC: ns = tsc / 2 -> mul = 2^31 with shift 0. */
	assert_int_equal(clock_pvclock_tsc_hz(0x80000000u, 0), 2000000000ull);
	/* The same with shift -1 and mul 2^32-ish halved accordingly. */
	assert_int_equal(clock_pvclock_tsc_hz(0x80000000u, 1), 1000000000ull);
	assert_int_equal(clock_pvclock_tsc_hz(0x80000000u, -1), 4000000000ull);
	assert_int_equal(clock_pvclock_tsc_hz(0, 0), 0);
	assert_int_equal(clock_pvclock_tsc_hz(1, -31), 0);	/* absurd: overflow */
}

static void
test_hv_scale(void **state)
{
	/* scale = 2^64 * 10^7 / tsc_hz (PROTOCOLS.md B.6). */
	uint64_t tsc = 2400000000ull;
	uint64_t scale = (uint64_t)(((unsigned __int128)10000000u << 64) / tsc);
	uint64_t hz = clock_hv_scale_tsc_hz(scale);

	assert_true(hz >= tsc - 1 && hz <= tsc + 1);
	assert_int_equal(clock_hv_scale_tsc_hz(0), 0);
	assert_int_equal(clock_hv_scale_tsc_hz(1), 0);	/* > 64 bits */
}

static void
test_hpet_period(void **state)
{
	assert_int_equal(clock_hpet_hz(10000000), 100000000ull);	/* QEMU */
	assert_int_equal(clock_hpet_hz(69841279), 14318179ull);	/* 14.318 MHz */
	assert_int_equal(clock_hpet_hz(0), 0);
	assert_int_equal(clock_hpet_hz(100000001), 0);
}

/* The background calibration window: a TCG-like 2.1 GHz TSC whose boot
   estimate (2 ms against the HPET) was 0.05 % off; a 100 MHz HPET. */
static void
test_window_refines(void **state)
{
	(void)state;
	struct clock_window w;
	bool re;
	const uint64_t tsc_hz = 2100000000ull, boot = 2101050000ull;

	clock_window_open(&w, 1000, 5000, 100000000ull, 0xffffffffull);
	/* 100 ms in: too early, the window stays open. */
	assert_int_equal(clock_window_close(&w, 1000 + tsc_hz / 10,
	    5000 + 10000000, boot, &re), 0);
	assert_false(re);
	assert_true(w.open);
	/* 300 ms in: the true rate, the window closes. */
	assert_int_equal(clock_window_close(&w, 1000 + tsc_hz * 3 / 10,
	    5000 + 30000000, boot, &re), tsc_hz);
	assert_false(re);
	assert_false(w.open);
	/* Closed: nothing more. */
	assert_int_equal(clock_window_close(&w, 1000 + tsc_hz, 5000 + 100000000,
	    boot, &re), 0);
}

/* A 32-bit HPET wrapping inside the window is measured through the
   mask; a 24-bit PM timer window longer than half its wrap period (2.3 s)
   starts again, since a whole wrap could hide in it. */
static void
test_window_wraps(void **state)
{
	(void)state;
	struct clock_window w;
	bool re;
	const uint64_t tsc_hz = 3000000000ull;

	clock_window_open(&w, 0, 0xffffff00ull, 100000000ull, 0xffffffffull);
	assert_int_equal(clock_window_close(&w, tsc_hz / 2,
	    (0xffffff00ull + 50000000) & 0xffffffffull, tsc_hz, &re), tsc_hz);
	assert_false(re);

	clock_window_open(&w, 0, 100, 3579545, 0xffffff);
	uint64_t ticks = 3579545ull * 3;	/* 3 s: more than half a wrap */
	assert_int_equal(clock_window_close(&w, tsc_hz * 3, 100 + ticks, tsc_hz,
	    &re), 0);
	assert_true(re);
	assert_true(w.open);
	assert_int_equal(w.tsc0, tsc_hz * 3);
	/* 1 s from the restart (within half a wrap, across a wrap): exact
	   to the integer division. */
	uint64_t hz = clock_window_close(&w, tsc_hz * 4,
	    (100 + ticks + 3579545) & 0xffffff, tsc_hz, &re);
	assert_false(re);
	assert_true(hz >= tsc_hz - 1 && hz <= tsc_hz + 1);
}

/* A reference that stalled (or a VM paused between the samples) gives a
   rate far from the boot estimate: not taken, measured again. */
static void
test_window_disagrees(void **state)
{
	(void)state;
	struct clock_window w;
	bool re;
	const uint64_t tsc_hz = 2000000000ull;

	clock_window_open(&w, 0, 0, 100000000ull, ~0ull);
	assert_int_equal(clock_window_close(&w, tsc_hz, 0, tsc_hz, &re), 0);
	assert_true(re);
	/* 3 % slow reference: refused; 1 % is taken. */
	clock_window_open(&w, 0, 0, 100000000ull, ~0ull);
	assert_int_equal(clock_window_close(&w, tsc_hz, 103000000ull, tsc_hz,
	    &re), 0);
	assert_true(re);
	clock_window_open(&w, 0, 0, 100000000ull, ~0ull);
	assert_int_not_equal(clock_window_close(&w, tsc_hz, 101000000ull,
	    tsc_hz, &re), 0);
	assert_false(re);
	/* A window never opened (no reference) gives nothing. */
	clock_window_open(&w, 0, 0, 0, ~0ull);
	assert_false(w.open);
	assert_int_equal(clock_window_close(&w, tsc_hz, 1, tsc_hz, &re), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_ratio),
		cmocka_unit_test(test_pvclock),
		cmocka_unit_test(test_hv_scale),
		cmocka_unit_test(test_hpet_period),
		cmocka_unit_test(test_window_refines),
		cmocka_unit_test(test_window_wraps),
		cmocka_unit_test(test_window_disagrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

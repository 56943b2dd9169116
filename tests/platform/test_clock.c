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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_ratio),
		cmocka_unit_test(test_pvclock),
		cmocka_unit_test(test_hv_scale),
		cmocka_unit_test(test_hpet_period),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

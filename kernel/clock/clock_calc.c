/*
 * clock_calc.c - the arithmetic and the choice behind clock_init(),
 * portable so the host tests cover every branch (clock.h).
 *
 * The kernel links without libgcc, so there is no 128-bit division
 * (__udivti3): products are formed in two 64-bit halves and divided by a
 * shift-and-subtract loop.  These run a handful of times at boot.
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/clock/clock.h"

/* (hi:lo) = a * b, from 32-bit pieces. */
static void
mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
	uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
	uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;

	*lo = (mid << 32) | (uint32_t)p00;
	*hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* (hi:lo) / d; UINT64_MAX when the quotient does not fit or d is 0. */
static uint64_t
div128(uint64_t hi, uint64_t lo, uint64_t d)
{
	uint64_t q = 0, r = hi;

	if (d == 0 || hi >= d)
		return UINT64_MAX;
	for (int i = 63; i >= 0; i--) {
		bool carry = (r >> 63) != 0;
		r = (r << 1) | ((lo >> i) & 1);
		if (carry || r >= d) {
			r -= d;
			q |= 1ull << i;
		}
	}
	return q;
}

/* floor(a * b / c), saturating. */
static uint64_t
muldiv64(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t hi, lo;

	mul64(a, b, &hi, &lo);
	return div128(hi, lo, c);
}

int
clock_choose(const struct clock_caps *c)
{
	if (c->kvmclock)
		return CLOCK_KVMCLOCK;
	if (c->invariant_tsc && (c->hpet || c->pmtimer))
		return CLOCK_TSC;
	if (c->hpet)
		return CLOCK_HPET;
	if (c->pmtimer)
		return CLOCK_PMTIMER;
	return CLOCK_TSC;
}

const char *
clock_source_name(int s)
{
	switch (s) {
	case CLOCK_KVMCLOCK: return "kvmclock";
	case CLOCK_HPET: return "hpet";
	case CLOCK_PMTIMER: return "pmtimer";
	default: return "tsc";
	}
}

uint64_t
clock_ratio_hz(uint64_t tsc_delta, uint64_t ref_delta, uint64_t ref_hz)
{
	if (ref_delta == 0)
		return 0;
	return muldiv64(tsc_delta, ref_hz, ref_delta);
}

uint64_t
clock_pvclock_tsc_hz(uint32_t mul, int8_t shift)
{
	uint64_t hz;

	if (mul == 0 || shift > 31 || shift < -31)
		return 0;
	/* 10^9 << 32 < 2^62: plain 64-bit division. */
	hz = (1000000000ull << 32) / mul;
	if (shift >= 0)
		return hz >> shift;
	if (hz > (UINT64_MAX >> -shift))
		return 0;
	return hz << -shift;
}

uint64_t
clock_hv_scale_tsc_hz(uint64_t scale)
{
	uint64_t hz;

	if (scale == 0)
		return 0;
	hz = div128(10000000u, 0, scale);	/* 10^7 * 2^64 / scale */
	return hz == UINT64_MAX ? 0 : hz;
}

uint64_t
clock_hpet_hz(uint32_t period_fs)
{
	if (period_fs == 0 || period_fs > 100000000u)
		return 0;
	return 1000000000000000ull / period_fs;
}

void
clock_window_open(struct clock_window *w, uint64_t tsc, uint64_t ref,
    uint64_t ref_hz, uint64_t ref_mask)
{
	w->tsc0 = tsc;
	w->ref0 = ref & ref_mask;
	w->ref_hz = ref_hz;
	w->ref_mask = ref_mask;
	w->open = ref_hz != 0 && ref_mask != 0;
}

uint64_t
clock_window_close(struct clock_window *w, uint64_t tsc, uint64_t ref,
    uint64_t cur_hz, bool *restarted)
{
	*restarted = false;
	if (!w->open || cur_hz == 0)
		return 0;
	uint64_t dt = tsc - w->tsc0;
	/* Milliseconds by the rate in use (good to a fraction of a per cent,
	   enough to judge the window's length). */
	uint64_t ms = muldiv64(dt, 1000, cur_hz);
	if (ms < CLOCK_WINDOW_MIN_MS)
		return 0;
	/* Half the wrap period of the reference, in ms. */
	uint64_t half_wrap_ms = w->ref_mask == UINT64_MAX ? UINT64_MAX :
	    muldiv64(w->ref_mask, 500, w->ref_hz);
	uint64_t dref = (ref - w->ref0) & w->ref_mask;
	uint64_t hz = ms <= half_wrap_ms ? clock_ratio_hz(dt, dref, w->ref_hz) : 0;
	uint64_t diff = hz > cur_hz ? hz - cur_hz : cur_hz - hz;
	w->last_hz = hz;
	w->last_ms = ms;
	if (hz == 0 || muldiv64(diff, 1000000, cur_hz) > CLOCK_WINDOW_AGREE_PPM) {
		clock_window_open(w, tsc, ref, w->ref_hz, w->ref_mask);
		*restarted = true;
		return 0;
	}
	w->open = false;
	return hz;
}

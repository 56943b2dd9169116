/*
 * test_entropy.c: the portable half of pal/entropy.c - the ChaCha20 block
 * function against RFC 8439's test vector, the hardware-source health
 * check on good and broken sample sets, the fallback keystream, and how
 * the fallback absorbs samples (every bit of every sample counts), and
 * source selection driven through the hardware seam by a fake CPU
 * backend (entropy_bind): RDSEED preferred, a stuck RDSEED or RDRAND
 * rejected, transient failures retried, a source that stops answering
 * replaced by the fallback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/hw/hw.h"
#include "kernel/log.h"
#include "pal/entropy.h"
#include "tests/hw/kstubs.h"

/* RFC 8439 section 2.3.2. */
static void test_chacha20_vector(void **state)
{
	(void)state;
	uint32_t key[8], nonce[3] = { 0x09000000, 0x4a000000, 0 };
	uint8_t kb[32], out[64];
	static const uint8_t want[16] = { 0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59,
		0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4 };
	for (int i = 0; i < 32; i++)
		kb[i] = (uint8_t)i;
	memcpy(key, kb, 32);
	chacha20_block(key, 1, nonce, out);
	assert_memory_equal(out, want, 16);
}

static uint64_t xs = 88172645463325252ULL;
static uint64_t next(void)
{
	xs ^= xs << 13;
	xs ^= xs >> 7;
	xs ^= xs << 17;
	return xs;
}

static void test_health(void **state)
{
	(void)state;
	uint64_t v[64];
	for (int i = 0; i < 64; i++)
		v[i] = next();
	assert_int_equal(entropy_health(v, 64), 0);
	uint64_t w[64];
	memcpy(w, v, sizeof(w));
	w[10] = w[9];				/* a repeat */
	assert_int_equal(entropy_health(w, 64), -1);
	memcpy(w, v, sizeof(w));
	w[3] = 0;				/* the classic RDRAND failure */
	assert_int_equal(entropy_health(w, 64), -1);
	memcpy(w, v, sizeof(w));
	w[3] = ~(uint64_t)0;
	assert_int_equal(entropy_health(w, 64), -1);
	for (int i = 0; i < 64; i++)
		w[i] = v[i] | (1ULL << 37);	/* a stuck bit */
	assert_int_equal(entropy_health(w, 64), -1);
	assert_int_equal(entropy_health(v, 1), -1);
}

static void test_fallback(void **state)
{
	(void)state;
	struct entropy_fallback a, b;
	uint64_t seed[4] = { 1, 2, 3, 4 };
	uint8_t x[100], y[100], z[100];
	entropy_fallback_init(&a, seed, 4);
	entropy_fallback_init(&b, seed, 4);
	entropy_fallback_fill(&a, x, sizeof(x));
	entropy_fallback_fill(&b, y, sizeof(y));
	assert_memory_equal(x, y, sizeof(x));	/* deterministic per seed */
	entropy_fallback_fill(&a, z, sizeof(z));
	assert_memory_not_equal(x, z, sizeof(x));	/* never repeats */
	seed[3] = 5;
	entropy_fallback_init(&b, seed, 4);
	entropy_fallback_fill(&b, y, sizeof(y));
	assert_memory_not_equal(x, y, sizeof(x));	/* seed matters */
	/* Output words pass the same health check as hardware. */
	uint64_t w[64];
	entropy_fallback_fill(&a, w, sizeof(w));
	assert_int_equal(entropy_health(w, 64), 0);
}

/* What entropy_get stirs in before each use must change the stream, in
   every sample and every bit position, and identically for equal input. */
static void test_fallback_mix(void **state)
{
	(void)state;
	uint64_t seed[8] = { 11, 22, 33, 44, 55, 66, 77, 88 };
	struct entropy_fallback base, a, b;
	uint8_t x[64], y[64], z[64];
	entropy_fallback_init(&base, seed, 8);

	a = base;
	b = base;
	uint64_t fresh[5] = { 1, 2, 3, 4, 5 };
	entropy_fallback_mix(&a, fresh, 5);
	entropy_fallback_mix(&b, fresh, 5);
	entropy_fallback_fill(&a, x, sizeof(x));
	entropy_fallback_fill(&b, y, sizeof(y));
	assert_memory_equal(x, y, sizeof(x));	/* deterministic */
	b = base;
	entropy_fallback_fill(&b, z, sizeof(z));
	assert_memory_not_equal(x, z, sizeof(x));	/* the mix mattered */

	/* A one-bit change in any sample, high or low half, in the first
	   group of four or the tail, changes the stream. */
	for (int i = 0; i < 5; i++) {
		for (int bit = 0; bit < 64; bit += 21) {
			uint64_t f2[5];
			memcpy(f2, fresh, sizeof(f2));
			f2[i] ^= 1ULL << bit;
			b = base;
			entropy_fallback_mix(&b, f2, 5);
			entropy_fallback_fill(&b, y, sizeof(y));
			assert_memory_not_equal(x, y, sizeof(x));
		}
	}
	/* Mixing the same samples twice is not a no-op (no XOR cancelling). */
	b = base;
	entropy_fallback_mix(&b, fresh, 5);
	entropy_fallback_mix(&b, fresh, 5);
	entropy_fallback_fill(&b, y, sizeof(y));
	assert_memory_not_equal(x, y, sizeof(x));
	assert_memory_not_equal(z, y, sizeof(z));
	/* Zero seed words still give a live key (the compression runs). */
	uint64_t zero[4] = { 0, 0, 0, 0 };
	entropy_fallback_init(&a, zero, 4);
	uint64_t w[64];
	entropy_fallback_fill(&a, w, sizeof(w));
	assert_int_equal(entropy_health(w, 64), 0);
}

/* A fake CPU behind the seam: which instructions CPUID reports, and per
   source a value sequence, how many leading attempts fail (CF=0), and
   after how many good draws it stops answering. */
struct fake_cpu {
	bool seed, rand;
	int stuck[2];		/* nonzero: that source returns one value */
	int fail_first[2];	/* attempts that fail before any answer */
	int answer_limit[2];	/* good draws before it stops (0: never) */
	int draws[2], attempts[2];
	uint64_t xs[2];
	uint64_t clock;
};

static void
f_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	struct fake_cpu *c = d->backend;
	(void)sub;
	out[0] = out[1] = out[2] = out[3] = 0;
	if (leaf == 0)
		out[0] = 7;
	else if (leaf == 1)
		out[2] = c->rand ? 1u << 30 : 0;
	else if (leaf == 7)
		out[1] = c->seed ? 1u << 18 : 0;
}

static bool
f_rand(struct hw_dev *d, int src, uint64_t *v)
{
	struct fake_cpu *c = d->backend;
	assert_true(src == HW_RAND_SEED ? c->seed : c->rand);	/* CPUID first */
	c->attempts[src]++;
	*v = 0;
	if (c->fail_first[src] > 0) {
		c->fail_first[src]--;
		return false;
	}
	if (c->answer_limit[src] && c->draws[src] >= c->answer_limit[src])
		return false;
	c->draws[src]++;
	if (c->stuck[src]) {
		*v = 0x5555aaaa5555aaaaULL;
		return true;
	}
	uint64_t x = c->xs[src];
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	c->xs[src] = x;
	*v = x;
	return true;
}

static uint64_t
f_now(struct hw_dev *d)
{
	struct fake_cpu *c = d->backend;
	return c->clock += 37;
}

static const struct hw_ops fake_ops = {
	.cpuid = f_cpuid,
	.rand = f_rand,
	.now_ns = f_now,
};

static struct hw_dev fake_dev;

static struct fake_cpu *
bind_fake(struct fake_cpu *c)
{
	c->xs[0] = 0x9e3779b97f4a7c15ULL;
	c->xs[1] = 0xbf58476d1ce4e5b9ULL;
	memset(&fake_dev, 0, sizeof(fake_dev));
	snprintf(fake_dev.name, sizeof(fake_dev.name), "cpu");
	fake_dev.ops = &fake_ops;
	fake_dev.backend = c;
	entropy_bind(&fake_dev);
	kstub_reset();
	return c;
}

static void test_source_rdseed(void **state)
{
	(void)state;
	struct fake_cpu c = { .seed = true, .rand = true, .fail_first = { 3, 0 } };
	bind_fake(&c);
	entropy_init();
	assert_string_equal(entropy_source(), "rdseed");
	/* The first three attempts failed and were retried. */
	assert_int_equal(c.attempts[HW_RAND_SEED], 3 + c.draws[HW_RAND_SEED]);
	/* entropy_get hands out the next RDSEED words as they are. */
	struct fake_cpu peek = c;
	uint64_t want[2], got[2];
	for (int i = 0; i < 2; i++)
		f_rand(&(struct hw_dev){ .backend = &peek }, HW_RAND_SEED, &want[i]);
	assert_int_equal(entropy_get(got, sizeof(got)), 0);
	assert_memory_equal(got, want, sizeof(got));
	assert_int_equal(kstub_warnings, 0);
}

static void test_stuck_rdseed_uses_rdrand(void **state)
{
	(void)state;
	struct fake_cpu c = { .seed = true, .rand = true, .stuck = { 1, 0 } };
	bind_fake(&c);
	entropy_init();
	assert_string_equal(entropy_source(), "rdrand");
	uint8_t buf[24];
	assert_int_equal(entropy_get(buf, sizeof(buf)), 0);
}

static void test_no_instructions(void **state)
{
	(void)state;
	struct fake_cpu c = { 0 };
	bind_fake(&c);
	entropy_init();
	assert_non_null(strstr(entropy_source(), "fallback"));
	assert_int_equal(kstub_warnings, 0);	/* nothing failed: there was nothing */
	uint8_t a[32], b[32];
	assert_int_equal(entropy_get(a, sizeof(a)), -1);
	assert_int_equal(entropy_get(b, sizeof(b)), -1);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_both_stuck_warns(void **state)
{
	(void)state;
	struct fake_cpu c = { .seed = true, .rand = true, .stuck = { 1, 1 } };
	bind_fake(&c);
	entropy_init();
	assert_non_null(strstr(entropy_source(), "fallback"));
	assert_int_equal(kstub_warnings, 1);
	assert_non_null(strstr(kstub_last, "entropy source: fallback"));
}

/* RDRAND answers the health check and a few words, then never again:
   entropy_get finishes from the fallback, says so once, returns -1. */
static void test_source_stops(void **state)
{
	(void)state;
	struct fake_cpu c = { .rand = true, .answer_limit = { 0, 64 + 8 + 2 } };
	bind_fake(&c);
	entropy_init();
	assert_string_equal(entropy_source(), "rdrand");
	uint8_t buf[64];
	assert_int_equal(entropy_get(buf, sizeof(buf)), -1);
	assert_int_equal(kstub_warnings, 1);
	assert_non_null(strstr(entropy_source(), "fallback"));
	/* The failing draw was retried ENTROPY_TRIES times, no more. */
	int before = c.attempts[HW_RAND_RAND];
	assert_int_equal(entropy_get(buf, sizeof(buf)), -1);
	assert_int_equal(c.attempts[HW_RAND_RAND] - before, ENTROPY_TRIES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chacha20_vector),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_fallback_mix),
		cmocka_unit_test(test_source_rdseed),
		cmocka_unit_test(test_stuck_rdseed_uses_rdrand),
		cmocka_unit_test(test_no_instructions),
		cmocka_unit_test(test_both_stuck_warns),
		cmocka_unit_test(test_source_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

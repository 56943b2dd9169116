/*
 * test_entropy.c: the portable half of pal/entropy.c - the ChaCha20 block
 * function against RFC 8439's test vector, the hardware-source health
 * check on good and broken sample sets, the fallback keystream, and how
 * the fallback absorbs samples (every bit of every sample counts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pal/entropy.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chacha20_vector),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_fallback_mix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_syncookie.c - SipHash-2-4 against the vectors of its paper, and
 * SYN cookie round trips: the MSS survives, a cookie is accepted for two
 * slots and refused after, and a changed tuple, peer ISN, index bit or
 * key is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "netstack/syncookie.h"

static const uint64_t paper_key[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };

static void
test_siphash_vectors(void **st)
{
	uint8_t m[64];
	for (int i = 0; i < 64; i++)
		m[i] = (uint8_t)i;
	/* Appendix A of the paper: 15 bytes 00..0e. */
	assert_true(siphash24(paper_key, m, 15) == 0xa129ca6149be45e5ULL);
	/* First entry of the reference vectors: the empty message. */
	assert_true(siphash24(paper_key, m, 0) == 0x726fdb47dd0e0e31ULL);
	/* Exactly one block, and a different key changes the output. */
	uint64_t k2[2] = { paper_key[0] ^ 1, paper_key[1] };
	assert_true(siphash24(paper_key, m, 8) != siphash24(k2, m, 8));
}

static const uint64_t key[2] = { 0x1234567890abcdefULL, 0xfedcba0987654321ULL };
static const struct syncookie_tuple tup = { 0x0a000202, 0x0a00020f, 40000, 80, 0xdeadbeef };

static void
test_roundtrip_mss(void **st)
{
	static const uint16_t in[] = { 1460, 1500, 1400, 536, 100, 9000, 1440 };
	static const uint16_t out[] = { 1460, 1460, 1380, 536, 536, 8960, 1440 };
	uint64_t now = 1000 * 1000000000ULL;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint32_t c = syncookie_make(key, &tup, in[i], now);
		uint16_t mss = 0;
		assert_true(syncookie_check(key, &tup, c, now + 5000000000ULL, &mss));
		assert_int_equal(mss, out[i]);
	}
}

static void
test_age(void **st)
{
	uint64_t t0 = 7 * SYNCOOKIE_SLOT_NS + 1;
	uint32_t c = syncookie_make(key, &tup, 1460, t0);
	uint16_t mss;
	assert_true(syncookie_check(key, &tup, c, t0 + 1 * SYNCOOKIE_SLOT_NS, &mss));
	assert_true(syncookie_check(key, &tup, c, t0 + 2 * SYNCOOKIE_SLOT_NS, &mss));
	assert_false(syncookie_check(key, &tup, c, t0 + 3 * SYNCOOKIE_SLOT_NS, &mss));
	/* 32 slots later the 5-bit counter matches again: the hash, which
	   covers the full slot number, must still refuse it. */
	assert_false(syncookie_check(key, &tup, c, t0 + 32 * SYNCOOKIE_SLOT_NS, &mss));
	/* From the future (clock went back): refused. */
	assert_false(syncookie_check(key, &tup, c, t0 - SYNCOOKIE_SLOT_NS, &mss));
}

static void
test_forged(void **st)
{
	uint64_t now = 99 * SYNCOOKIE_SLOT_NS;
	uint32_t c = syncookie_make(key, &tup, 1460, now);
	uint16_t mss;
	struct syncookie_tuple t = tup;
	t.sport++;
	assert_false(syncookie_check(key, &t, c, now, &mss));
	t = tup;
	t.saddr ^= 1;
	assert_false(syncookie_check(key, &t, c, now, &mss));
	t = tup;
	t.peer_isn++;
	assert_false(syncookie_check(key, &t, c, now, &mss));
	/* A larger MSS index claimed by flipping bits: refused. */
	assert_false(syncookie_check(key, &tup, c ^ (1u << 26), now, &mss));
	assert_false(syncookie_check(key, &tup, c ^ 1, now, &mss));
	uint64_t k2[2] = { key[0], key[1] + 1 };
	assert_false(syncookie_check(k2, &tup, c, now, &mss));
	/* Blind guessing: 100000 random cookies, none accepted by luck
	   beyond what 24 bits allow (expect ~0.02 with three live slots). */
	uint32_t x = 12345, hits = 0;
	for (int i = 0; i < 100000; i++) {
		x = x * 1664525u + 1013904223u;
		hits += syncookie_check(key, &tup, x, now, &mss);
	}
	assert_true(hits <= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_roundtrip_mss),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_forged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

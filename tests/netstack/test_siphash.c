/*
 * test_siphash.c - SipHash-2-4 against the vectors of its paper (and its
 * reference implementation's first and 64-byte entries), so the keyed hash
 * behind ISNs and SYN cookies is the real function.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "netstack/siphash.h"

static const uint64_t key[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };

static void
test_vectors(void **st)
{
	uint8_t m[64];
	for (int i = 0; i < 64; i++)
		m[i] = (uint8_t)i;
	/* Appendix A: the 15 bytes 00..0e. */
	assert_true(siphash24(key, m, 15) == 0xa129ca6149be45e5ULL);
	/* The empty message. */
	assert_true(siphash24(key, m, 0) == 0x726fdb47dd0e0e31ULL);
}

static void
test_key_and_length_matter(void **st)
{
	uint8_t m[16] = { 0 };
	uint64_t k2[2] = { key[0] ^ 1, key[1] };
	assert_true(siphash24(key, m, 8) != siphash24(k2, m, 8));
	/* Zero bytes of different lengths hash differently (length byte). */
	assert_true(siphash24(key, m, 8) != siphash24(key, m, 9));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_key_and_length_matter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

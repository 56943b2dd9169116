/*
 * siphash.c - SipHash-2-4, written from its paper: four 64-bit words of
 * state, two compression rounds per 8-byte little-endian block, the
 * length in the top byte of the last block, four finalization rounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "netstack/siphash.h"

static inline uint64_t rotl(uint64_t x, int b) { return x << b | x >> (64 - b); }

static void
sipround(uint64_t v[4])
{
	v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
	v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
}

static uint64_t
le64(const uint8_t *p, size_t n)
{
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

static void
compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

uint64_t
siphash24(const uint64_t key[2], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v[4] = {
		key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL,
		key[0] ^ 0x6c7967656e657261ULL, key[1] ^ 0x7465646279746573ULL,
	};
	size_t full = len & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8)
		compress(v, le64(p + i, 8));
	compress(v, le64(p + full, len - full) | (uint64_t)(len & 0xff) << 56);
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

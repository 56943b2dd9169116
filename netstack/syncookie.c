/*
 * syncookie.c - SYN cookies and the SipHash-2-4 they are keyed with
 * (see syncookie.h).  SipHash is written from its paper ("SipHash: a fast
 * short-input PRF", 2012): four 64-bit words of state, c = 2 compression
 * rounds per 8-byte block, d = 4 finalization rounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "netstack/syncookie.h"

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

uint64_t
siphash24(const uint64_t key[2], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v[4] = {
		key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL,
		key[0] ^ 0x6c7967656e657261ULL, key[1] ^ 0x7465646279746573ULL,
	};
	size_t full = len & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8) {
		uint64_t m = le64(p + i, 8);
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	/* Last block: the remaining bytes, and the length in the top byte. */
	uint64_t m = le64(p + full, len - full) | (uint64_t)(len & 0xff) << 56;
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* MSS values peers commonly send (IPv4 over Ethernet, PPPoE, tunnels,
   jumbo frames); a cookie stores the index of the largest one that fits. */
static const uint16_t mss_table[8] = { 536, 1200, 1380, 1420, 1440, 1460, 4036, 8960 };

uint16_t
syncookie_mss(uint16_t mss, uint32_t *index)
{
	uint32_t i = 7;
	while (i > 0 && mss_table[i] > mss)
		i--;
	*index = i;
	return mss_table[i];
}

static uint32_t
cookie_hash(const uint64_t key[2], const struct syncookie_tuple *t, uint32_t slot,
    uint32_t index)
{
	uint8_t b[21];
	uint32_t w[4] = { t->saddr, t->daddr, (uint32_t)t->sport << 16 | t->dport, t->peer_isn };
	for (int i = 0; i < 4; i++) {
		b[4 * i] = (uint8_t)w[i];
		b[4 * i + 1] = (uint8_t)(w[i] >> 8);
		b[4 * i + 2] = (uint8_t)(w[i] >> 16);
		b[4 * i + 3] = (uint8_t)(w[i] >> 24);
	}
	b[16] = (uint8_t)slot;
	b[17] = (uint8_t)(slot >> 8);
	b[18] = (uint8_t)(slot >> 16);
	b[19] = (uint8_t)(slot >> 24);
	b[20] = (uint8_t)index;
	return (uint32_t)siphash24(key, b, sizeof(b)) & 0xffffff;
}

uint32_t
syncookie_make(const uint64_t key[2], const struct syncookie_tuple *t, uint16_t mss,
    uint64_t now_ns)
{
	uint32_t index;
	syncookie_mss(mss, &index);
	uint32_t slot = (uint32_t)(now_ns / SYNCOOKIE_SLOT_NS);
	return (slot & 31) << 27 | index << 24 | cookie_hash(key, t, slot, index);
}

bool
syncookie_check(const uint64_t key[2], const struct syncookie_tuple *t, uint32_t cookie,
    uint64_t now_ns, uint16_t *mss)
{
	uint32_t now_slot = (uint32_t)(now_ns / SYNCOOKIE_SLOT_NS);
	uint32_t age = (now_slot - (cookie >> 27)) & 31;
	if (age > SYNCOOKIE_MAX_AGE)
		return false;
	uint32_t slot = now_slot - age;	/* the full slot number it was made in */
	uint32_t index = (cookie >> 24) & 7;
	if ((cookie & 0xffffff) != cookie_hash(key, t, slot, index))
		return false;
	*mss = mss_table[index];
	return true;
}

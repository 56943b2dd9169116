/*
 * entropy.c - the PAL's entropy source.
 *
 * RDSEED when CPUID offers it, else RDRAND (Intel SDM vol. 1 ch. 7.3.17;
 * both may fail transiently with CF=0 and are retried a bounded number of
 * times).  At boot the chosen instruction is health-checked on 64 draws:
 * no value may repeat back to back, none may be all zeros or all ones,
 * and every bit position must take both values (a stuck bit fails).  A
 * source that fails is not used.  The fallback is a ChaCha20 keystream
 * (RFC 8439 block function) with fast key erasure.  Its key absorbs
 * samples through the block function (entropy_fallback_mix): TSC jitter
 * at boot plus whatever RDSEED/RDRAND return even when they failed the
 * health check, and before every use a few fresh jitter samples and one
 * more hardware draw, so the state keeps accumulating what the machine
 * offers.  That is the best this guest can do without a hardware source,
 * but it is only as unpredictable as the timing it measured, which is why
 * entropy_get() then returns -1 while still filling the buffer and the
 * callers say so (pal_entropy: -PAL_EIO; the netstack: a console
 * warning, docs/pal.md).
 *
 * The whole file is portable: RDSEED, RDRAND, CPUID and the jitter clock
 * are hardware-seam operations (hw_rand, hw_cpuid, hw_now_ns) on a "cpu"
 * device, so tests/pal/test_entropy.c drives source selection, the health
 * check and the fallback with a fake backend (entropy_bind), and
 * trace=cpu records the draws in the kernel.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pal/entropy.h"

#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d) do { \
	a += b; d ^= a; d = ROTL(d, 16); \
	c += d; b ^= c; b = ROTL(b, 12); \
	a += b; d ^= a; d = ROTL(d, 8); \
	c += d; b ^= c; b = ROTL(b, 7); \
} while (0)

void
chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
    uint8_t out[64])
{
	uint32_t s[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
	uint32_t x[16];

	memcpy(&s[4], key, 32);
	s[12] = counter;
	memcpy(&s[13], nonce, 12);
	memcpy(x, s, sizeof(x));
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t v = x[i] + s[i];
		out[4 * i] = (uint8_t)v;
		out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16);
		out[4 * i + 3] = (uint8_t)(v >> 24);
	}
}

int
entropy_health(const uint64_t *v, size_t n)
{
	uint64_t ones = 0, zeros = 0;

	if (n < 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == 0 || v[i] == ~(uint64_t)0)
			return -1;
		if (i > 0 && v[i] == v[i - 1])
			return -1;
		ones |= v[i];
		zeros |= ~v[i];
	}
	/* Every bit must have been seen both set and clear. */
	return (ones & zeros) == ~(uint64_t)0 ? 0 : -1;
}

/*
 * The compression step: XOR up to four samples into the key, then replace
 * the key with the first half of a ChaCha20 block under it (the block's
 * feed-forward makes this one-way, and every input bit reaches every key
 * bit).  Counter and nonce are a fixed domain separator, never used by
 * the keystream (which starts its nonce at zero).
 */
static void
fallback_absorb(struct entropy_fallback *f, const uint64_t *seed, size_t n)
{
	static const uint32_t mix_nonce[3] = { 0x6d697865, 0x6e74726f, 0x70792121 };
	uint8_t blk[64];
	for (size_t i = 0; i < n && i < 4; i++) {
		f->key[2 * i] ^= (uint32_t)seed[i];
		f->key[2 * i + 1] ^= (uint32_t)(seed[i] >> 32);
	}
	chacha20_block(f->key, 0xffffffffu, mix_nonce, blk);
	memcpy(f->key, blk, 32);
	memset(blk, 0, sizeof(blk));
}

void
entropy_fallback_mix(struct entropy_fallback *f, const uint64_t *seed, size_t n)
{
	for (size_t i = 0; i < n; i += 4)
		fallback_absorb(f, seed + i, n - i);
}

void
entropy_fallback_init(struct entropy_fallback *f, const uint64_t *seed, size_t n)
{
	memset(f, 0, sizeof(*f));
	entropy_fallback_mix(f, seed, n);
}

void
entropy_fallback_fill(struct entropy_fallback *f, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint8_t blk[64];

	while (len > 0) {
		chacha20_block(f->key, f->counter++, f->nonce, blk);
		if (f->counter == 0)
			f->nonce[0]++;
		size_t k = len < 32 ? len : 32;
		memcpy(p, blk, k);
		/* The other half becomes the next key (fast key erasure). */
		memcpy(f->key, blk + 32, 32);
		p += k;
		len -= k;
	}
	memset(blk, 0, sizeof(blk));
}

#include "kernel/hw/hw.h"
#include "kernel/log.h"

enum { SRC_NONE, SRC_RDSEED, SRC_RDRAND };
static int src;
static bool has_seed, has_rand;
static bool inited;
static struct entropy_fallback fb;
static struct hw_dev *cpu;	/* entropy_bind, else the built-in one */
#if defined(TERN_KERNEL)
static struct hw_dev cpu_dev = { .name = "cpu" };
#endif

void
entropy_bind(struct hw_dev *d)
{
	cpu = d;
	inited = false;
	src = SRC_NONE;
	has_seed = has_rand = false;
	memset(&fb, 0, sizeof(fb));
}

/* Bounded retries: both instructions may fail transiently (CF=0). */
static bool
hw_draw(int which, uint64_t *v)
{
	int how = which == SRC_RDSEED ? HW_RAND_SEED : HW_RAND_RAND;
	for (int tries = 0; tries < ENTROPY_TRIES; tries++)
		if (hw_rand(cpu, how, v))
			return true;
	return false;
}

static bool
source_healthy(int which)
{
	uint64_t v[64];
	for (int i = 0; i < 64; i++)
		if (!hw_draw(which, &v[i]))
			return false;
	return entropy_health(v, 64) == 0;
}

/* Jitter of a short dependent loop, plus the time itself. */
static uint64_t
jitter_sample(void)
{
	uint64_t t0 = hw_now_ns(cpu);
	volatile uint64_t x = t0;
	for (int k = 0; k < 64 + (int)(t0 & 63); k++)
		x = x * 6364136223846793005ULL + 1;
	return (hw_now_ns(cpu) - t0) ^ (t0 << 17) ^ x;
}

/*
 * Feeds the fallback `jitter` timing samples and, when the CPU has the
 * instructions, `hw` draws of each, whether or not they passed the health
 * check: absorbing a weak or stuck value cannot make the key more
 * predictable, and a source that answers only now and then still helps.
 */
static void
fallback_stir(int jitter, int hw)
{
	uint64_t s[80];
	int n = 0;
	for (int i = 0; i < jitter && n < 80; i++)
		s[n++] = jitter_sample();
	for (int i = 0; i < hw && n < 78; i++) {
		if (has_seed && hw_draw(SRC_RDSEED, &s[n]))
			n++;
		if (has_rand && hw_draw(SRC_RDRAND, &s[n]))
			n++;
	}
	entropy_fallback_mix(&fb, s, (size_t)n);
	memset(s, 0, sizeof(s));
}

void
entropy_init(void)
{
	uint32_t r[4];
	if (inited)
		return;
	inited = true;
#if defined(TERN_KERNEL)
	if (cpu == NULL) {
		cpu = &cpu_dev;
		cpu->trace = hw_trace_wanted(cpu->name);
	}
#endif
	hw_cpuid(cpu, 0, 0, r);
	uint32_t max = r[0];
	hw_cpuid(cpu, 1, 0, r);
	has_rand = (r[2] >> 30) & 1;
	if (max >= 7) {
		hw_cpuid(cpu, 7, 0, r);
		has_seed = (r[1] >> 18) & 1;
	}
	if (has_seed && source_healthy(SRC_RDSEED))
		src = SRC_RDSEED;
	else if (has_rand && source_healthy(SRC_RDRAND))
		src = SRC_RDRAND;
	else
		src = SRC_NONE;
	if ((has_seed || has_rand) && src == SRC_NONE)
		log_warn("pal", "entropy: hardware source failed its health check");
	/* Seeded even with a healthy source: it takes over if that stops. */
	fallback_stir(64, 8);
	log_info("pal", "entropy source: %s", entropy_source());
}

const char *
entropy_source(void)
{
	return src == SRC_RDSEED ? "rdseed" : src == SRC_RDRAND ? "rdrand" :
	    "fallback (chacha20 over tsc jitter)";
}

int
entropy_get(void *buf, size_t len)
{
	uint8_t *p = buf;
	if (!inited)
		entropy_init();	/* first use may come before rt_run (pal_net.c) */
	if (src != SRC_NONE) {
		while (len > 0) {
			uint64_t v;
			if (!hw_draw(src, &v))
				break;	/* persistent failure: finish from the fallback */
			size_t k = len < 8 ? len : 8;
			memcpy(p, &v, k);
			p += k;
			len -= k;
		}
		if (len == 0)
			return 0;
		log_warn("pal", "entropy: %s stopped answering; using the fallback",
		    entropy_source());
		src = SRC_NONE;
	}
	/* Fresh timing (and any hardware answer) before every use. */
	fallback_stir(4, 1);
	entropy_fallback_fill(&fb, p, len);
	return -1;
}

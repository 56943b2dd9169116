/*
 * entropy.h - the PAL's entropy source (pal/entropy.c): RDSEED/RDRAND
 * after a boot-time health check, else a ChaCha20 keystream keyed from
 * TSC jitter and whatever the hardware instructions still return; all of
 * them reached through the hardware seam (kernel/hw/hw.h).
 */
#ifndef TERN_PAL_ENTROPY_H
#define TERN_PAL_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

/* RFC 8439 section 2.3: one 64-byte block. */
void chacha20_block(const uint32_t key[8], uint32_t counter,
    const uint32_t nonce[3], uint8_t out[64]);

/* 0 when n samples from a hardware source look alive: no back-to-back
   repeat, no all-zero/all-one word, every bit seen both ways; else -1. */
int entropy_health(const uint64_t *v, size_t n);

struct entropy_fallback {
	uint32_t key[8];
	uint32_t nonce[3];
	uint32_t counter;
};
/* Key the fallback from n samples (any quality; all of them count). */
void entropy_fallback_init(struct entropy_fallback *f, const uint64_t *seed,
    size_t n);
/* Absorb n more samples into the key: the stream after a mix depends on
   everything ever mixed in, so fresh samples only ever add to it. */
void entropy_fallback_mix(struct entropy_fallback *f, const uint64_t *seed,
    size_t n);
void entropy_fallback_fill(struct entropy_fallback *f, void *buf, size_t len);

struct hw_dev;
/* Attempts per hardware draw before it counts as failed. */
#define ENTROPY_TRIES	64
/*
 * The CPU the source draws from: RDSEED/RDRAND, CPUID and the jitter
 * clock go through this hw_dev's seam (kernel/hw/hw.h).  The kernel
 * needs no call (a built-in "cpu" device, traced with trace=cpu); host
 * tests bind a fake or replay backend.  Resets the source: the next use
 * runs entropy_init again.  d stays owned by the caller.
 */
void entropy_bind(struct hw_dev *d);
/* Idempotent; entropy_get() calls it on first use. */
void entropy_init(void);
/*
 * Fills all len bytes of buf; never blocks (hardware retries are
 * bounded) and never fails to fill.  Returns 0 when every byte came from
 * a healthy RDSEED/RDRAND, -1 when some came from the fallback (then the
 * bytes are only as unpredictable as the TSC jitter and stray hardware
 * answers it absorbed; the caller decides whether to say so or refuse).
 */
int entropy_get(void *buf, size_t len);
const char *entropy_source(void);

#endif

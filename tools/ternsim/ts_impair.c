/*
 * ts_impair.c - ternsim's wire impairment (ts_impair.h).
 *
 * Per direction: a xorshift64* generator seeded from --impair's seed and
 * the direction, one frame held for reordering, and counters.  The
 * decisions for a frame are drawn in a fixed order (loss, corrupt, dup,
 * reorder), so a given seed and frame sequence always gives the same
 * impairment.  Host code (ternsim only), not kernel code.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/log.h"
#include "tools/ternsim/ts_impair.h"

#define HOLD_MAX 65536

struct dir_state {
	uint64_t rng;
	uint64_t frames, lost, corrupted, duplicated, reordered;
	/* The held frame (reorder). */
	bool held;
	uint32_t held_len;
	uint64_t held_ns;
	ts_deliver_fn held_fn;
	void *held_ctx;
	uint8_t held_buf[HOLD_MAX];
	uint8_t scratch[HOLD_MAX];	/* a corrupted copy */
};

static struct {
	bool on;
	double loss, reorder, dup, corrupt;
	uint64_t seed;
	struct dir_state d[2];
} im;

static uint64_t
mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint64_t
rnd(struct dir_state *d)
{
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 0x2545F4914F6CDD1DULL;
}

/* True with probability p (0..1); always draws, so the sequence of
   draws does not depend on the probabilities being zero. */
static bool
chance(struct dir_state *d, double p)
{
	double u = (double)(rnd(d) >> 11) / (double)(1ULL << 53);
	return u < p;
}

static int
parse_prob(const char *s, size_t n, double *out)
{
	char buf[32];
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	double v = strtod(buf, &end);
	if (end == buf)
		return -1;
	if (*end == '%') {
		v /= 100.0;
		end++;
	}
	if (*end != '\0' || !(v >= 0.0 && v <= 1.0))
		return -1;
	*out = v;
	return 0;
}

static unsigned
ppm(double p)
{
	return (unsigned)(p * 1e6 + 0.5);
}

int
ts_impair_parse(const char *spec)
{
	double loss = 0, reorder = 0, dup = 0, corrupt = 0;
	uint64_t seed = 1;
	const char *p = spec;
	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		if (eq == NULL)
			return -1;
		size_t kl = (size_t)(eq - p), vl = n - kl - 1;
		const char *v = eq + 1;
		int rc;
		if (kl == 4 && memcmp(p, "loss", 4) == 0) {
			rc = parse_prob(v, vl, &loss);
		} else if (kl == 7 && memcmp(p, "reorder", 7) == 0) {
			rc = parse_prob(v, vl, &reorder);
		} else if (kl == 3 && memcmp(p, "dup", 3) == 0) {
			rc = parse_prob(v, vl, &dup);
		} else if (kl == 7 && memcmp(p, "corrupt", 7) == 0) {
			rc = parse_prob(v, vl, &corrupt);
		} else if (kl == 4 && memcmp(p, "seed", 4) == 0) {
			char buf[24], *end;
			if (vl == 0 || vl >= sizeof(buf))
				return -1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			seed = strtoull(buf, &end, 10);
			rc = *end == '\0' ? 0 : -1;
		} else {
			rc = -1;
		}
		if (rc != 0)
			return -1;
		p += n;
		if (*p == ',' && *++p == '\0')
			return -1;	/* trailing comma */
	}
	im.on = true;
	im.loss = loss;
	im.reorder = reorder;
	im.dup = dup;
	im.corrupt = corrupt;
	im.seed = seed;
	for (int i = 0; i < 2; i++) {
		memset(&im.d[i], 0, offsetof(struct dir_state, held_buf));
		/* Never zero (xorshift's fixed point); directions differ. */
		im.d[i].rng = (seed + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0xD1B54A32D192ED03ULL;
		if (im.d[i].rng == 0)
			im.d[i].rng = 1;
	}
	return 0;
}

void
ts_impair_announce(void)
{
	if (im.on)
		log_info("ternsim", "impair: loss %u, reorder %u, dup %u, corrupt %u (per "
		    "million frames), seed %llu, both directions", ppm(im.loss),
		    ppm(im.reorder), ppm(im.dup), ppm(im.corrupt), (unsigned long long)im.seed);
}

static void
release_held(struct dir_state *d)
{
	if (!d->held)
		return;
	d->held = false;
	d->held_fn(d->held_ctx, d->held_buf, d->held_len);
}

/* Bytes of an IPv4 frame that checksums cover: [14, 14 + total length). */
static uint32_t
ipv4_end(const uint8_t *f, uint32_t len)
{
	if (len < 34 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return 0;
	uint32_t tot = (uint32_t)f[16] << 8 | f[17];
	if (tot < 20 || 14 + tot > len)
		return 0;
	return 14 + tot;
}

void
ts_impair_frame(int dir, const uint8_t *frame, uint32_t len, ts_deliver_fn deliver,
    void *ctx)
{
	if (!im.on || dir < 0 || dir > 1) {
		deliver(ctx, frame, len);
		return;
	}
	struct dir_state *d = &im.d[dir];
	d->frames++;
	bool lose = chance(d, im.loss);
	bool corrupt = chance(d, im.corrupt);
	bool dup = chance(d, im.dup);
	bool hold = chance(d, im.reorder);
	uint64_t where = rnd(d);
	if (lose) {
		d->lost++;
		return;
	}
	uint32_t end = ipv4_end(frame, len);
	if (corrupt && end != 0 && len <= HOLD_MAX) {
		memcpy(d->scratch, frame, len);
		uint32_t bit = (uint32_t)(where % ((uint64_t)(end - 14) * 8));
		d->scratch[14 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		frame = d->scratch;
		d->corrupted++;
	}
	if (hold && !d->held && len <= HOLD_MAX) {
		memcpy(d->held_buf, frame, len);
		d->held = true;
		d->held_len = len;
		d->held_ns = mono_ns();
		d->held_fn = deliver;
		d->held_ctx = ctx;
		d->reordered++;
		if (dup) {
			d->duplicated++;
			deliver(ctx, frame, len);	/* one copy now, one late */
		}
		return;
	}
	deliver(ctx, frame, len);
	if (dup) {
		d->duplicated++;
		deliver(ctx, frame, len);
	}
	release_held(d);	/* it comes after the frame that overtook it */
}

void
ts_impair_poll(void)
{
	if (!im.on)
		return;
	uint64_t now = mono_ns();
	for (int i = 0; i < 2; i++) {
		struct dir_state *d = &im.d[i];
		if (d->held && now - d->held_ns >= (uint64_t)TS_IMPAIR_HOLD_MS * 1000000ULL)
			release_held(d);
	}
}

bool
ts_impair_held(void)
{
	return im.on && (im.d[0].held || im.d[1].held);
}

void
ts_impair_report(void)
{
	if (!im.on)
		return;
	static const char *const name[2] = { "to guest", "from guest" };
	for (int i = 0; i < 2; i++) {
		const struct dir_state *d = &im.d[i];
		log_info("ternsim", "impair %s: %llu frames, %llu lost, %llu corrupted, "
		    "%llu duplicated, %llu reordered", name[i], (unsigned long long)d->frames,
		    (unsigned long long)d->lost, (unsigned long long)d->corrupted,
		    (unsigned long long)d->duplicated, (unsigned long long)d->reordered);
	}
}

/*
 * test_impair.c - ternsim's wire impairment (tools/ternsim/ts_impair.c,
 * docs/ternsim.md "Wire impairment"): the --impair parser, each kind of
 * impairment on its own at 100 % and at a rate, corruption confined to
 * one bit of an IPv4 frame's checksummed bytes, reordering by one frame
 * with the timed release, determinism for a seed, the exit report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/hw/kstubs.h"
#include "tools/ternsim/ts_impair.h"

#define MAXOUT 40000

static struct {
	uint32_t n;
	uint32_t seq[MAXOUT];		/* frame number of each delivery */
	uint32_t len[MAXOUT];
	uint8_t last[2048];		/* the last delivered frame */
} out;

static void
rec(void *ctx, const uint8_t *frame, uint32_t len)
{
	(void)ctx;
	if (out.n < MAXOUT) {
		out.seq[out.n] = (uint32_t)frame[34] << 24 | (uint32_t)frame[35] << 16 |
		    (uint32_t)frame[36] << 8 | frame[37];
		out.len[out.n] = len;
		out.n++;
	}
	memcpy(out.last, frame, len < sizeof(out.last) ? len : sizeof(out.last));
}

/* An Ethernet + IPv4 frame of `len` bytes (total length len - 14), the
   frame number in bytes 34..37; arp: an ARP frame instead. */
static uint32_t
mk(uint8_t *f, uint32_t len, uint32_t seq, int arp)
{
	memset(f, 0xa5, len);
	f[12] = 0x08;
	f[13] = arp ? 0x06 : 0x00;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[34] = (uint8_t)(seq >> 24);
	f[35] = (uint8_t)(seq >> 16);
	f[36] = (uint8_t)(seq >> 8);
	f[37] = (uint8_t)seq;
	return len;
}

static void
run(int dir, uint32_t frames)
{
	uint8_t f[200];
	for (uint32_t i = 0; i < frames; i++)
		ts_impair_frame(dir, f, mk(f, 100, i, 0), rec, NULL);
}

static void
reset_out(void)
{
	memset(&out, 0, sizeof(out));
	kstub_reset();
}

static void
test_parse(void **state)
{
	(void)state;
	assert_int_equal(ts_impair_parse("loss=2%,reorder=2%,dup=1%,corrupt=1%,seed=16"), 0);
	assert_int_equal(ts_impair_parse("loss=0.5"), 0);
	assert_int_equal(ts_impair_parse("corrupt=100%,seed=0"), 0);
	assert_int_equal(ts_impair_parse("dup=1"), 0);
	static const char *const bad[] = {
		"", "loss", "loss=", "loss=2x", "loss=101%", "loss=-0.1", "loss=1.5",
		"jitter=1", "loss=1,", ",loss=1", "seed=x", "seed=", "loss=2%%",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ts_impair_parse(bad[i]) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* The last good spec (dup=1) is still in force. */
	reset_out();
	run(TS_TO_GUEST, 10);
	assert_int_equal(out.n, 20);
}

static void
test_clean_and_loss(void **state)
{
	(void)state;
	assert_int_equal(ts_impair_parse("loss=0,seed=3"), 0);
	reset_out();
	run(TS_FROM_GUEST, 1000);
	assert_int_equal(out.n, 1000);
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(out.seq[i], i);
	assert_int_equal(ts_impair_parse("loss=100%"), 0);
	reset_out();
	run(TS_TO_GUEST, 500);
	assert_int_equal(out.n, 0);
	assert_int_equal(ts_impair_parse("loss=30%,seed=9"), 0);
	reset_out();
	run(TS_TO_GUEST, 10000);
	assert_in_range(out.n, 6500, 7500);
	for (uint32_t i = 1; i < out.n; i++)
		assert_true(out.seq[i] > out.seq[i - 1]);	/* loss never reorders */
}

static void
test_dup(void **state)
{
	(void)state;
	assert_int_equal(ts_impair_parse("dup=100%"), 0);
	reset_out();
	run(TS_TO_GUEST, 100);
	assert_int_equal(out.n, 200);
	for (uint32_t i = 0; i < 200; i++)
		assert_int_equal(out.seq[i], i / 2);
	assert_int_equal(ts_impair_parse("dup=10%,seed=4"), 0);
	reset_out();
	run(TS_FROM_GUEST, 10000);
	assert_in_range(out.n, 10800, 11200);
}

static void
test_corrupt(void **state)
{
	(void)state;
	assert_int_equal(ts_impair_parse("corrupt=100%,seed=5"), 0);
	reset_out();
	uint8_t f[200], orig[200];
	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t len = 60 + i % 100;
		/* Ethernet padding past the IPv4 total length stays intact. */
		mk(f, len, 0, 0);
		f[16] = 0;
		f[17] = (uint8_t)(len - 14 - 6);
		memcpy(orig, f, len);
		ts_impair_frame(TS_TO_GUEST, f, len, rec, NULL);
		assert_memory_equal(f, orig, len);	/* the caller's frame untouched */
		int bits = 0, where = -1;
		for (uint32_t k = 0; k < len; k++) {
			uint8_t x = out.last[k] ^ orig[k];
			for (; x != 0; x &= (uint8_t)(x - 1))
				bits++;
			if (out.last[k] != orig[k])
				where = (int)k;
		}
		assert_int_equal(bits, 1);
		assert_in_range(where, 14, (int)len - 6 - 1);
	}
	/* ARP (no checksum) and runts go through unchanged. */
	uint32_t len = mk(f, 60, 0, 1);
	memcpy(orig, f, len);
	ts_impair_frame(TS_TO_GUEST, f, len, rec, NULL);
	assert_memory_equal(out.last, orig, len);
	ts_impair_frame(TS_TO_GUEST, f, 20, rec, NULL);
	assert_memory_equal(out.last, orig, 20);
	ts_impair_report();
	assert_true(kstub_logged("impair to guest: 2002 frames, 0 lost, 2000 corrupted"));
}

static void
sleep_ms(long ms)
{
	struct timespec t = { 0, ms * 1000000L };
	nanosleep(&t, NULL);
}

static void
test_reorder(void **state)
{
	(void)state;
	assert_int_equal(ts_impair_parse("reorder=100%"), 0);
	reset_out();
	run(TS_TO_GUEST, 6);
	/* Each held frame comes right after the one that overtook it. */
	static const uint32_t want[] = { 1, 0, 3, 2, 5, 4 };
	assert_int_equal(out.n, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(out.seq[i], want[i]);
	/* A held frame with none after it: released by the poll once due. */
	run(TS_FROM_GUEST, 1);
	assert_int_equal(out.n, 6);
	assert_true(ts_impair_held());
	ts_impair_poll();
	assert_int_equal(out.n, 6);		/* not yet */
	sleep_ms(TS_IMPAIR_HOLD_MS + 2);
	ts_impair_poll();
	assert_int_equal(out.n, 7);
	assert_false(ts_impair_held());
	assert_int_equal(ts_impair_parse("reorder=5%,seed=8"), 0);
	reset_out();
	run(TS_TO_GUEST, 10000);
	uint32_t late = 0;
	for (uint32_t i = 1; i < out.n; i++)
		late += out.seq[i] < out.seq[i - 1];
	assert_in_range(late, 350, 650);
	assert_in_range(out.n, 9999, 10000);	/* the last may still be held */
}

static void
test_deterministic(void **state)
{
	(void)state;
	static uint32_t first[MAXOUT];
	const char *spec = "loss=10%,reorder=10%,dup=10%,corrupt=10%,seed=42";
	assert_int_equal(ts_impair_parse(spec), 0);
	reset_out();
	run(TS_TO_GUEST, 5000);
	uint32_t n1 = out.n;
	memcpy(first, out.seq, sizeof(first));
	assert_int_equal(ts_impair_parse(spec), 0);
	reset_out();
	run(TS_TO_GUEST, 5000);
	assert_int_equal(out.n, n1);
	assert_memory_equal(out.seq, first, n1 * sizeof(uint32_t));
	ts_impair_report();
	assert_true(kstub_logged("impair from guest: 0 frames"));
	/* Another seed, another sequence. */
	assert_int_equal(ts_impair_parse("loss=10%,reorder=10%,dup=10%,corrupt=10%,seed=43"), 0);
	reset_out();
	run(TS_TO_GUEST, 5000);
	assert_true(out.n != n1 || memcmp(out.seq, first, n1 * sizeof(uint32_t)) != 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_clean_and_loss),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

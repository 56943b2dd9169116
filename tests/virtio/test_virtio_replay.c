/*
 * test_virtio_replay.c - the real virtio-blk and virtio-net cores against
 * traces recorded from QEMU 7.2 (tests/traces/qemu72-*.trace, made by
 * `make record-traces`), through the replay backend (tests/hw/hw_replay.c).
 *
 * Each test repeats exactly what the kernel did while recording: attach,
 * then blktest=1 (write 64 KiB at nblocks-128, flush, read back) or
 * nettest=1 (one ARP request for the gateway, poll until the reply).  The
 * replay checks every register write (value and place), hands back every
 * recorded read and device-written buffer, and the test then checks what
 * the driver reported against the markers QEMU's run printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "tests/hw/hw_replay.h"
#include "tests/hw/kstubs.h"
#include "tests/hw/trace_util.h"
#include "tests/virtio/virtio_dmanames.h"
#include "tests/virtio/virtio_regnames.h"
#include "virtio/virtio_var.h"

#ifndef TRACE_DIR
#define TRACE_DIR "tests/traces"
#endif
#define BLK_TRACE TRACE_DIR "/qemu72-virtio-blk.trace"
#define NET_TRACE TRACE_DIR "/qemu72-virtio-net.trace"

/* --- what the kernel would provide ------------------------------------ */

/* --- virtio-blk ---------------------------------------------------------- */

static char fail_msg[512];
static void on_fail(void *arg, const char *msg) { snprintf(fail_msg, sizeof(fail_msg), "%s", msg); }

/*
 * blktest=1 through the real driver on replay r, then the detach the
 * kernel's power-off did (blk_shutdown_all): attach, write 64 KiB of the
 * pattern at nblocks-128, flush, read back.  `strict` asserts every step
 * (the QEMU trace as recorded); negative tests run it on edited traces
 * with a failure hook and look at the message.  Returns
 * hw_replay_finish(r).
 */
static bool
blk_replay_run(struct hw_replay *r, bool strict)
{
	struct virtio_blk_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->bus.hw);
	virtio_qemu_windows(&sc->bus, virtio_blk_regnames);
	hw_replay_set_namer(r, virtio_blk_dma_name, sc);

	int rc = virtio_blk_attach_core(sc, &sc->bus.vd, 1);
	if (strict)
		assert_int_equal(rc, TERN_OK);
	if (rc != TERN_OK) {
		free(sc);
		return hw_replay_finish(r);
	}
	char v[64];
	if (strict) {
		assert_int_equal(trace_marker_value(BLK_TRACE, "name=virtio-blk1 sectors=", " ",
		    v, sizeof(v)), 0);
		assert_int_equal(sc->blk.nblocks, strtoull(v, NULL, 10));
		assert_int_equal(sc->blk.block_size, 512);
		assert_string_equal(kstub_last_marker, "BLK name=virtio-blk1 sectors=16384 bsize=512");
	}

	/* blktest=1: the seed is in the trace's BLKTEST marker. */
	assert_int_equal(trace_marker_value(BLK_TRACE, "seed=", " ", v, sizeof(v)), 0);
	uint64_t seed = strtoull(v, NULL, 16);
	assert_true(seed != 0);
	const uint32_t bytes = 64 * 1024, n = bytes / sc->blk.block_size;
	uint64_t lba = sc->blk.nblocks - n;
	uint8_t *wbuf = aligned_alloc(4096, bytes), *rbuf = aligned_alloc(4096, bytes);
	blktest_pattern(wbuf, bytes, seed);
	memset(rbuf, 0, bytes);
	int w = blk_rw_sync(&sc->blk, BLK_WRITE, lba, n, wbuf, 100000);
	int f = blk_rw_sync(&sc->blk, BLK_FLUSH, 0, 0, NULL, 100000);
	int rd = blk_rw_sync(&sc->blk, BLK_READ, lba, n, rbuf, 100000);
	if (strict) {
		assert_int_equal(w, TERN_OK);
		assert_int_equal(f, TERN_OK);
		assert_int_equal(rd, TERN_OK);
		/* The replay compared what the driver handed the device (the
		   request headers and the pattern) with the recording; the
		   read data is what QEMU's disk returned. */
		assert_memory_equal(wbuf, rbuf, bytes);
	}
	virtio_blk_detach_core(sc);
	bool done = hw_replay_finish(r);
	free(wbuf);
	free(rbuf);
	free(sc);
	return done;
}

static void
test_blk_qemu_trace(void **state)
{
	struct hw_replay *r = hw_replay_open(BLK_TRACE, "virtio-blk1");
	assert_non_null(r);
	assert_true(blk_replay_run(r, true));
	assert_int_equal(hw_replay_pos(r), hw_replay_count(r));
	hw_replay_close(r);
}

/* Runs blktest on an edited copy of the blk trace; the replay must fail
   with a message containing every string of `want`. */
static void
blk_edited_fails(char *text, const char *const *want)
{
	assert_non_null(text);
	struct hw_replay *r = hw_replay_open_mem(text, "virtio-blk1");
	free(text);
	assert_non_null(r);
	hw_replay_set_fail(r, on_fail, NULL);
	fail_msg[0] = 0;
	bool done = blk_replay_run(r, false);
	printf("    replay: %s\n", fail_msg);
	assert_false(done);
	assert_true(hw_replay_diverged(r));
	const char *miss = trace_msg_missing(fail_msg, want);
	if (miss != NULL) {
		print_error("message lacks \"%s\"\n", miss);
		fail();
	}
	hw_replay_close(r);
}

/* The recording's write request says sector + 1000: the real driver's
   request header (sector 16256) must not pass for it. */
static void
test_blk_wrong_sector_diverges(void **state)
{
	char *s = trace_slurp(BLK_TRACE), v[32], old[17], new[17];
	assert_int_equal(trace_marker_value(BLK_TRACE, "lba=", " ", v, sizeof(v)), 0);
	uint64_t lba = strtoull(v, NULL, 10);
	trace_hex_le(lba, 8, old);
	trace_hex_le(lba + 1000, 8, new);
	/* type 1 (VIRTIO_BLK_T_OUT), sector at byte 8. */
	char *e = trace_edit_dma(s, "virtio-blk1", 16, "01000000", 8, old, new);
	free(s);
	char want_exp[48], want_got[48];
	snprintf(want_exp, sizeof(want_exp), "expected 0x%llx", (unsigned long long)lba + 1000);
	snprintf(want_got, sizeof(want_got), "driver wrote 0x%llx", (unsigned long long)lba);
	const char *const want[] = { "replay virtio-blk1", "trace seq", "hdr.sector",
		want_exp, want_got, NULL };
	blk_edited_fails(e, want);
}

/* A different byte in the recorded write data. */
static void
test_blk_wrong_data_diverges(void **state)
{
	char *s = trace_slurp(BLK_TRACE), v[32], old[3], new[3];
	assert_int_equal(trace_marker_value(BLK_TRACE, "seed=", " ", v, sizeof(v)), 0);
	uint8_t pat[4096];
	blktest_pattern(pat, sizeof(pat), strtoull(v, NULL, 16));
	trace_hex_le(pat[1000], 1, old);
	trace_hex_le(pat[1000] ^ 0x10, 1, new);
	trace_hex_le(pat[0], 1, v);
	char *e = trace_edit_dma(s, "virtio-blk1", 65536, v, 1000, old, new);
	free(s);
	const char *const want[] = { "replay virtio-blk1", "65536 bytes", "(+0x3e8)",
		"1 byte differ", NULL };
	blk_edited_fails(e, want);
}

/* The trace lost its last event: the driver's last access (detach)
   runs past the end and must fail, not read 0. */
static void
test_blk_truncated_trace_fails(void **state)
{
	char *s = trace_slurp(BLK_TRACE);
	char *e = trace_drop_last(s, "virtio-blk1", 1);
	free(s);
	const char *const want[] = { "replay virtio-blk1", "past the end of the trace",
		"the last is seq", NULL };
	blk_edited_fails(e, want);
}

/* Events the driver never asked for at the end of the trace. */
static void
test_blk_extended_trace_fails(void **state)
{
	char *s = trace_slurp(BLK_TRACE);
	char *e = trace_append(s, "virtio-blk1", "R 4 1 0x14 0x0");
	free(s);
	const char *const want[] = { "replay virtio-blk1", "1 of", "events not replayed",
		"read8 device_status (bar 4 +0x14)", NULL };
	blk_edited_fails(e, want);
}

/* --- virtio-net ---------------------------------------------------------- */

struct arp_test {
	int replies, others, tx_released;
	uint8_t gw_mac[6];
};

static void
arp_rx(void *upper, struct nic_buf *b)
{
	struct arp_test *t = upper;
	const uint8_t *f = b->data;
	if (b->len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2) {
		memcpy(t->gw_mac, f + 22, 6);
		t->replies++;
	} else {
		t->others++;
	}
	nic_buf_release(b);
}

static void
arp_tx_done(struct nic_buf *b)
{
	((struct arp_test *)b->owner)->tx_released++;
}

static void
test_net_qemu_trace(void **state)
{
	struct hw_replay *r = hw_replay_open(NET_TRACE, "virtio-net0");
	assert_non_null(r);
	struct virtio_net_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->bus.hw);
	virtio_qemu_windows(&sc->bus, virtio_net_regnames);
	hw_replay_set_namer(r, virtio_net_dma_name, sc);

	assert_int_equal(virtio_net_attach_core(sc, &sc->bus.vd, 0), TERN_OK);
	assert_string_equal(kstub_last_marker,
	    "NIC name=virtio-net0 mac=52:54:00:12:34:56 mtu=1500 link=up");

	/* nettest=1: one ARP request for 10.0.2.2, header and body in two
	   fragments, then poll until the reply and the sent chain are back. */
	struct nic *n = &sc->nic;
	struct arp_test t = { 0 };
	static uint8_t eth[14], arp[46];
	nettest_arp_request(eth, arp, n->mac);
	struct nic_buf pb = { .data = arp, .len = sizeof(arp), .cap = sizeof(arp),
		.release = arp_tx_done, .owner = &t };
	struct nic_buf hb = { .data = eth, .len = 14, .cap = 14, .next = &pb,
		.release = arp_tx_done, .owner = &t };
	n->upper = &t;
	n->rx = arp_rx;
	assert_int_equal(n->ops->tx(n, 0, &hb, NULL), TERN_OK);
	for (int i = 0; i < 1000 && (t.replies == 0 || t.tx_released < 2) &&
	    !hw_replay_diverged(r); i++)
		nic_poll_queue(n, 0, 64);
	n->rx = NULL;
	n->upper = NULL;
	assert_int_equal(t.replies, 1);
	char v[32];
	assert_int_equal(trace_marker_value(NET_TRACE, "gw_mac=", " ", v, sizeof(v)), 0);
	char got[32];
	snprintf(got, sizeof(got), "%02x:%02x:%02x:%02x:%02x:%02x", t.gw_mac[0],
	    t.gw_mac[1], t.gw_mac[2], t.gw_mac[3], t.gw_mac[4], t.gw_mac[5]);
	assert_string_equal(got, v);
	assert_int_equal(trace_marker_value(NET_TRACE, "tx_released=", " ", v, sizeof(v)), 0);
	assert_int_equal(t.tx_released, atoi(v));
	assert_true(hw_replay_finish(r));

	/* The kernel never detaches a NIC (power-off stops disks only), so
	   the detach is outside the recording. */
	hw_replay_stop(r);
	virtio_net_detach_core(sc);
	assert_int_equal(t.tx_released, 2);
	free(sc);
	hw_replay_close(r);
}

/* --- an edited trace must fail, naming the register ---------------------- */

static void
test_blk_edited_trace_diverges(void **state)
{
	/* The driver writes queue_size 0x80 (it caps the queue at 128); the
	   edited trace claims it wrote 0x40. */
	char *s = trace_slurp(BLK_TRACE);
	char *p = strstr(s, " W 4 2 0x18 0x80\n");
	assert_non_null(p);
	memcpy(p, " W 4 2 0x18 0x40\n", 17);
	struct hw_replay *r = hw_replay_open_mem(s, "virtio-blk1");
	free(s);
	assert_non_null(r);
	hw_replay_set_fail(r, on_fail, NULL);
	struct virtio_blk_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->bus.hw);
	virtio_qemu_windows(&sc->bus, virtio_blk_regnames);
	fail_msg[0] = 0;
	int rc = virtio_blk_attach_core(sc, &sc->bus.vd, 1);
	printf("    attach: %s; replay: %s\n", err_str(rc), fail_msg);
	assert_true(hw_replay_diverged(r));
	assert_non_null(strstr(fail_msg, "virtio-blk1"));
	assert_non_null(strstr(fail_msg, "queue_size"));
	assert_non_null(strstr(fail_msg, "expected write 0x40"));
	assert_non_null(strstr(fail_msg, "driver wrote 0x80"));
	if (rc == TERN_OK)
		virtio_blk_detach_core(sc);
	free(sc);
	hw_replay_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_qemu_trace),
		cmocka_unit_test(test_net_qemu_trace),
		cmocka_unit_test(test_blk_edited_trace_diverges),
		cmocka_unit_test(test_blk_wrong_sector_diverges),
		cmocka_unit_test(test_blk_wrong_data_diverges),
		cmocka_unit_test(test_blk_truncated_trace_fails),
		cmocka_unit_test(test_blk_extended_trace_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

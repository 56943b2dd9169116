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
#include "tests/hw/blk_sync.h"
#include "tests/hw/hw_replay.h"
#include "tests/hw/trace_util.h"
#include "tests/virtio/virtio_regnames.h"
#include "virtio/virtio_var.h"

#ifndef TRACE_DIR
#define TRACE_DIR "tests/traces"
#endif
#define BLK_TRACE TRACE_DIR "/qemu72-virtio-blk.trace"
#define NET_TRACE TRACE_DIR "/qemu72-virtio-net.trace"

/* --- what the kernel would provide ------------------------------------ */

static char last_marker[256];

void
klog(int level, const char *mod, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("    [%s] %s\n", mod, buf);
}

void
marker(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(last_marker, sizeof(last_marker), fmt, ap);
	va_end(ap);
	printf("    TERN %s\n", last_marker);
}

int blk_register(struct blk_dev *d) { return TERN_OK; }
int nic_register(struct nic *n) { return TERN_OK; }

/* --- virtio-blk ---------------------------------------------------------- */

static void
test_blk_qemu_trace(void **state)
{
	struct hw_replay *r = hw_replay_open(BLK_TRACE, "virtio-blk1");
	assert_non_null(r);
	struct virtio_blk_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->bus.hw);
	virtio_qemu_windows(&sc->bus, virtio_blk_regnames);

	assert_int_equal(virtio_blk_attach_core(sc, &sc->bus.vd, 1), TERN_OK);
	char v[64];
	assert_int_equal(trace_marker_value(BLK_TRACE, "name=virtio-blk1 sectors=", " ", v, sizeof(v)), 0);
	assert_int_equal(sc->blk.nblocks, strtoull(v, NULL, 10));
	assert_int_equal(sc->blk.block_size, 512);
	assert_string_equal(last_marker, "BLK name=virtio-blk1 sectors=16384 bsize=512");

	/* blktest=1: the seed is in the trace's BLKTEST marker. */
	assert_int_equal(trace_marker_value(BLK_TRACE, "seed=", " ", v, sizeof(v)), 0);
	uint64_t seed = strtoull(v, NULL, 16);
	assert_true(seed != 0);
	const uint32_t bytes = 64 * 1024, n = bytes / sc->blk.block_size;
	uint64_t lba = sc->blk.nblocks - n;
	uint8_t *wbuf = aligned_alloc(4096, bytes), *rbuf = aligned_alloc(4096, bytes);
	blktest_pattern(wbuf, bytes, seed);
	memset(rbuf, 0, bytes);
	assert_int_equal(test_blk_rw(&sc->blk, BLK_WRITE, lba, n, wbuf, 1, 100000), TERN_OK);
	assert_int_equal(test_blk_rw(&sc->blk, BLK_FLUSH, 0, 0, NULL, 1, 100000), TERN_OK);
	assert_int_equal(test_blk_rw(&sc->blk, BLK_READ, lba, n, rbuf, 1, 100000), TERN_OK);
	/* The read data is what QEMU's disk returned: the pattern we wrote. */
	assert_memory_equal(wbuf, rbuf, bytes);
	assert_true(hw_replay_done(r));

	virtio_blk_detach_core(sc);
	free(wbuf);
	free(rbuf);
	free(sc);
	hw_replay_close(r);
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

	assert_int_equal(virtio_net_attach_core(sc, &sc->bus.vd, 0), TERN_OK);
	assert_string_equal(last_marker,
	    "NIC name=virtio-net0 mac=52:54:00:12:34:56 mtu=1500 link=up");

	/* nettest=1: one ARP request for 10.0.2.2, header and body in two
	   fragments, then poll until the reply. */
	struct nic *n = &sc->nic;
	struct arp_test t = { 0 };
	static uint8_t eth[14], arp[46];
	static const uint8_t my_ip[4] = { 10, 0, 2, 15 }, gw_ip[4] = { 10, 0, 2, 2 };
	static const uint8_t head[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memset(eth, 0xff, 6);
	memcpy(eth + 6, n->mac, 6);
	eth[12] = 0x08;
	eth[13] = 0x06;
	memcpy(arp, head, 8);
	memcpy(arp + 8, n->mac, 6);
	memcpy(arp + 14, my_ip, 4);
	memcpy(arp + 24, gw_ip, 4);
	struct nic_buf pb = { .data = arp, .len = sizeof(arp), .cap = sizeof(arp),
		.release = arp_tx_done, .owner = &t };
	struct nic_buf hb = { .data = eth, .len = 14, .cap = 14, .next = &pb,
		.release = arp_tx_done, .owner = &t };
	n->upper = &t;
	n->rx = arp_rx;
	assert_int_equal(n->ops->tx(n, 0, &hb, NULL), TERN_OK);
	for (int i = 0; i < 1000 && t.replies == 0 && !hw_replay_diverged(r); i++)
		n->ops->poll(n, 64);
	n->rx = NULL;
	n->upper = NULL;
	assert_int_equal(t.replies, 1);
	char v[32];
	assert_int_equal(trace_marker_value(NET_TRACE, "gw_mac=", " ", v, sizeof(v)), 0);
	char got[32];
	snprintf(got, sizeof(got), "%02x:%02x:%02x:%02x:%02x:%02x", t.gw_mac[0],
	    t.gw_mac[1], t.gw_mac[2], t.gw_mac[3], t.gw_mac[4], t.gw_mac[5]);
	assert_string_equal(got, v);
	assert_false(hw_replay_diverged(r));

	/* The chain is still in flight (QEMU had not returned it): detach
	   must hand it back. */
	hw_replay_stop(r);
	virtio_net_detach_core(sc);
	assert_int_equal(t.tx_released, 2);
	free(sc);
	hw_replay_close(r);
}

/* --- an edited trace must fail, naming the register ---------------------- */

static char fail_msg[512];
static void on_fail(void *arg, const char *msg) { snprintf(fail_msg, sizeof(fail_msg), "%s", msg); }

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

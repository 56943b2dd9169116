/*
 * test_virtio_fault.c - the virtio-blk and virtio-net cores under the
 * fault wrapper (tests/hw/hw_fault.c) around the QEMU trace replay: for
 * every fault kind (all-ones reads, time jumps, DMA allocation failure,
 * corrupted device-written bytes) and every countdown until the fault no
 * longer fires, attach, run blktest's I/O (or nettest's ARP exchange), and
 * detach.  The driver must fail with an error code and a log line naming
 * the device, never crash, and free everything (ASan's leak check runs at
 * exit); a DMA allocation refused during attach must fail the attach.  Once a replay diverges because of a fault, the replay backend
 * answers all-ones reads and failing allocations, i.e. a dead device.
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
#include "tests/hw/hw_fault.h"
#include "tests/hw/hw_replay.h"
#include "tests/hw/kstubs.h"
#include "tests/hw/trace_util.h"
#include "tests/virtio/virtio_regnames.h"
#include "virtio/virtio_var.h"

#define BLK_TRACE "tests/traces/qemu72-virtio-blk.trace"
#define NET_TRACE "tests/traces/qemu72-virtio-net.trace"

static void quiet(void *arg, const char *msg) { }

/* One blk run with `kind` after `countdown` calls; returns whether the
   fault fired at all. */
static bool
blk_run(enum hw_fault_kind kind, int countdown, void *ctx)
{
	int *attach_failures = ctx;
	struct hw_replay *r = hw_replay_open(BLK_TRACE, "virtio-blk1");
	assert_non_null(r);
	hw_replay_set_fail(r, quiet, NULL);
	struct virtio_blk_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->bus.hw);
	virtio_qemu_windows(&sc->bus, virtio_blk_regnames);
	struct hw_fault f;
	hw_fault_wrap(&f, &sc->bus.hw, kind, countdown, false);

	kstub_reset();
	int rc = virtio_blk_attach_core(sc, &sc->bus.vd, 1);
	/* Attach needs every DMA region it asks for: one refused and
	   attach reporting success is the unset-rc mistake. */
	if (kind == HW_FAULT_DMA_ALLOC && f.injected > 0 && rc == TERN_OK)
		fail_msg("blk attach returned TERN_OK after DMA allocation %d failed", countdown + 1);
	if (rc != TERN_OK) {
		/* A failed attach says so, names the device, and has freed
		   everything it took (ASan checks at exit). */
		assert_true(f.injected > 0);
		assert_true(rc < 0);
		assert_true(kstub_nlog > 0);
		(*attach_failures)++;
	} else {
		/* blktest's data: the replay compares what is written. */
		const uint32_t bytes = 64 * 1024, n = bytes / sc->blk.block_size;
		uint8_t *buf = aligned_alloc(4096, bytes);
		char v[32];
		assert_int_equal(trace_marker_value(BLK_TRACE, "seed=", " ", v, sizeof(v)), 0);
		blktest_pattern(buf, bytes, strtoull(v, NULL, 16));
		uint64_t lba = sc->blk.nblocks - n;
		int w = blk_rw_sync(&sc->blk, BLK_WRITE, lba, n, buf, 2000);
		int fl = blk_rw_sync(&sc->blk, BLK_FLUSH, 0, 0, NULL, 2000);
		int rd = blk_rw_sync(&sc->blk, BLK_READ, lba, n, buf, 2000);
		if (f.injected == 0)
			assert_true(w == TERN_OK && fl == TERN_OK && rd == TERN_OK);
		hw_replay_stop(r);
		virtio_blk_detach_core(sc);
		/* Requests the dead device never completed must not stay
		   queued in a freed softc: the buffer is ours again. */
		free(buf);
	}
	bool fired = f.injected > 0;
	hw_fault_unwrap(&f, &sc->bus.hw);
	free(sc);
	hw_replay_close(r);
	return fired;
}

static void
test_blk_fault_loop(void **state)
{
	int attach_failures = 0;
	assert_int_equal(hw_fault_loop("blk", HW_FAULT_READ_ONES, HW_FAULT_SYNC_BYTES, 400,
	    blk_run, &attach_failures, NULL), 0);
	printf("    blk: %d failed attaches in all\n", attach_failures);
	assert_true(attach_failures > 0);
}

static void
test_blk_device_gone_at_attach(void **state)
{
	/* Every read all-ones from the first access: virtio_init must report
	   the device gone (TERN_ENODEV) with a line naming it. */
	int failures = 0;
	struct hw_replay *r = hw_replay_open(BLK_TRACE, "virtio-blk1");
	hw_replay_set_fail(r, quiet, NULL);
	struct virtio_blk_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->bus.hw);
	virtio_qemu_windows(&sc->bus, virtio_blk_regnames);
	struct hw_fault f;
	hw_fault_wrap(&f, &sc->bus.hw, HW_FAULT_READ_ONES, 0, false);
	kstub_reset();
	int rc = virtio_blk_attach_core(sc, &sc->bus.vd, 1);
	printf("    attach: %s; log: %s\n", err_str(rc), kstub_last);
	assert_int_equal(rc, TERN_ENODEV);
	assert_non_null(strstr(kstub_last, "virtio-blk1"));
	hw_fault_unwrap(&f, &sc->bus.hw);
	free(sc);
	hw_replay_close(r);
	(void)failures;
}

static void arp_release(struct nic_buf *b) { }
static void drop_rx(void *upper, struct nic_buf *b) { nic_buf_release(b); }

static bool
net_run(enum hw_fault_kind kind, int countdown, void *ctx)
{
	struct hw_replay *r = hw_replay_open(NET_TRACE, "virtio-net0");
	assert_non_null(r);
	hw_replay_set_fail(r, quiet, NULL);
	struct virtio_net_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->bus.hw);
	virtio_qemu_windows(&sc->bus, virtio_net_regnames);
	struct hw_fault f;
	hw_fault_wrap(&f, &sc->bus.hw, kind, countdown, false);
	kstub_reset();
	int rc = virtio_net_attach_core(sc, &sc->bus.vd, 0);
	if (kind == HW_FAULT_DMA_ALLOC && f.injected > 0 && rc == TERN_OK)
		fail_msg("net attach returned TERN_OK after DMA allocation %d failed", countdown + 1);
	if (rc != TERN_OK) {
		assert_true(f.injected > 0);
		assert_true(kstub_nlog > 0);
	} else {
		static uint8_t eth[14], arp[46];
		struct nic *n = &sc->nic;
		nettest_arp_request(eth, arp, n->mac);
		struct nic_buf pb = { .data = arp, .len = 46, .cap = 46, .release = arp_release };
		struct nic_buf hb = { .data = eth, .len = 14, .cap = 14, .next = &pb,
			.release = arp_release };
		n->rx = drop_rx;
		/* Poll as long as the recording did: a poll past its end is a
		   divergence, after which reads are all-ones. */
		if (n->ops->tx(n, 0, &hb, NULL) == TERN_OK)
			for (int i = 0; i < 1000 && !hw_replay_diverged(r) &&
			    hw_replay_pos(r) < hw_replay_count(r); i++)
				nic_poll_queue(n, 0, 64);
		n->rx = NULL;
		hw_replay_stop(r);
		virtio_net_detach_core(sc);
	}
	bool fired = f.injected > 0;
	hw_fault_unwrap(&f, &sc->bus.hw);
	free(sc);
	hw_replay_close(r);
	return fired;
}

static void
test_net_fault_loop(void **state)
{
	assert_int_equal(hw_fault_loop("net", HW_FAULT_READ_ONES, HW_FAULT_SYNC_BYTES, 400,
	    net_run, NULL, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_device_gone_at_attach),
		cmocka_unit_test(test_blk_fault_loop),
		cmocka_unit_test(test_net_fault_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

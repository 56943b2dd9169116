/*
 * test_nvme_fault.c - the NVMe driver under the fault wrapper
 * (tests/hw/hw_fault.c) around the QEMU 7.2 trace replay: for every fault
 * kind (all-ones reads, time jumps, DMA allocation failure, corrupted
 * device-written bytes: identify data, completion entries) and every
 * countdown until the fault no longer fires, attach, run blktest's write,
 * flush and read, and detach.  The driver must fail with an error code and
 * a log line, never crash or read out of bounds (ASan/UBSan), never report
 * a request done twice, and free every DMA region.
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
#include "nvme/nvme_var.h"
#include "tests/hw/hw_fault.h"
#include "tests/hw/hw_replay.h"
#include "tests/hw/kstubs.h"
#include "tests/hw/trace_util.h"

#define NVME_TRACE "tests/traces/qemu72-nvme.trace"

static void quiet(void *arg, const char *msg) { }

/* Counts live DMA regions around the replay backend's allocator. */
static int live_dma;
static int (*inner_alloc)(struct hw_dev *, size_t, size_t, struct hw_dma *);
static void (*inner_free)(struct hw_dev *, struct hw_dma *);
static struct hw_ops counting_ops;

static int
count_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	int rc = inner_alloc(d, len, align, out);
	if (rc == 0)
		live_dma++;
	return rc;
}

static void
count_free(struct hw_dev *d, struct hw_dma *dma)
{
	if (dma->va != NULL)
		live_dma--;
	inner_free(d, dma);
}

/* One run with `kind` after `countdown` calls; returns whether the fault
   fired at all. */
static bool
run(enum hw_fault_kind kind, int countdown, void *ctx)
{
	int *attach_failures = ctx;
	struct hw_replay *r = hw_replay_open(NVME_TRACE, "nvme0");
	assert_non_null(r);
	hw_replay_set_fail(r, quiet, NULL);
	struct nvme_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->hw);
	counting_ops = *sc->hw.ops;
	inner_alloc = counting_ops.dma_alloc;
	inner_free = counting_ops.dma_free;
	counting_ops.dma_alloc = count_alloc;
	counting_ops.dma_free = count_free;
	sc->hw.ops = &counting_ops;
	sc->regs = (struct hw_bar){ .dev = &sc->hw, .index = 0, .len = 0x4000 };
	sc->want_ioq = 1;
	sc->nvec = 1;
	struct hw_fault f;
	hw_fault_wrap(&f, &sc->hw, kind, countdown, false);

	kstub_reset();
	live_dma = 0;
	bool fired_before_detach = false;
	int rc = nvme_attach_core(sc, 0);
	if (rc != TERN_OK) {
		/* A failed attach says so and has freed what it took. */
		assert_true(f.injected > 0);
		assert_true(rc < 0);
		assert_true(kstub_nlog > 0);
		assert_int_equal(live_dma, 0);
		(*attach_failures)++;
	} else {
		/* blktest's data: the replay compares what is written. */
		const uint32_t bytes = 64 * 1024;
		uint8_t *buf = aligned_alloc(4096, bytes);
		char v[32];
		assert_int_equal(trace_marker_value(NVME_TRACE, "seed=", "", v, sizeof(v)), 0);
		blktest_pattern(buf, bytes, strtoull(v, NULL, 16));
		if (blk_first() != NULL) {
			struct blk_dev *d = blk_first();
			uint32_t n = bytes / d->block_size;
			/* A corrupted identify may claim any geometry: the driver
			   must still refuse what does not fit, not overrun. */
			uint64_t lba = d->nblocks > n ? d->nblocks - n : 0;
			if (n <= 65536 && (uint64_t)n * d->block_size == bytes) {
				int w = blk_rw_sync(d, BLK_WRITE, lba, n, buf, 2000);
				int fl = blk_rw_sync(d, BLK_FLUSH, 0, 0, NULL, 2000);
				int rd = blk_rw_sync(d, BLK_READ, lba, n, buf, 2000);
				if (f.injected == 0)
					assert_true(w == TERN_OK && fl == TERN_OK && rd == TERN_OK);
			}
		} else {
			assert_true(f.injected > 0);
		}
		/* Detach runs on the ended replay (its bounded shutdown wait
		   would otherwise count thousands of reads). */
		fired_before_detach = f.injected > 0;
		hw_fault_unwrap(&f, &sc->hw);
		hw_replay_stop(r);
		nvme_detach_core(sc);
		assert_int_equal(live_dma, 0);
		free(buf);
	}
	bool fired = rc != TERN_OK ? f.injected > 0 : fired_before_detach;
	if (rc != TERN_OK)
		hw_fault_unwrap(&f, &sc->hw);
	free(sc);
	hw_replay_close(r);
	return fired;
}

static void
test_fault_loop(void **state)
{
	int attach_failures = 0;
	int runs[HW_FAULT_SYNC_BYTES];
	assert_int_equal(hw_fault_loop("nvme", HW_FAULT_READ_ONES, HW_FAULT_SYNC_BYTES, 600,
	    run, &attach_failures, runs), 0);
	printf("    nvme: %d failed attaches in all\n", attach_failures);
	for (int k = 0; k < HW_FAULT_SYNC_BYTES; k++)
		assert_true(runs[k] > 0);
	assert_true(attach_failures > 0);
}

/* Everything all-ones from the first read: "controller absent". */
static void
test_gone_at_attach(void **state)
{
	struct hw_replay *r = hw_replay_open(NVME_TRACE, "nvme0");
	hw_replay_set_fail(r, quiet, NULL);
	struct nvme_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->hw);
	sc->regs = (struct hw_bar){ .dev = &sc->hw, .index = 0, .len = 0x4000 };
	struct hw_fault f;
	hw_fault_wrap(&f, &sc->hw, HW_FAULT_READ_ONES, 0, false);
	kstub_reset();
	int rc = nvme_attach_core(sc, 0);
	printf("    attach: %s; log: %s\n", err_str(rc), kstub_last);
	assert_int_equal(rc, TERN_ENODEV);
	assert_non_null(strstr(kstub_last, "nvme0"));
	hw_fault_unwrap(&f, &sc->hw);
	free(sc);
	hw_replay_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gone_at_attach),
		cmocka_unit_test(test_fault_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

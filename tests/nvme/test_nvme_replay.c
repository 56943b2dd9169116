/*
 * test_nvme_replay.c - the real NVMe driver (nvme/nvme.c, nvme_io.c)
 * against a trace recorded from QEMU 7.2's nvme device
 * (tests/traces/qemu72-nvme.trace, `make record-traces ONLY=nvme`),
 * through the replay backend (tests/hw/hw_replay.c).
 *
 * The test repeats what the kernel did while recording: the PCI glue's
 * settings (one queue pair, MSI-X entry 0), attach (disable, admin
 * queues, enable, Identify Controller, Number of Queues, the I/O pair,
 * Identify Namespace 1..16), then blktest=1 (write 64 KiB at
 * nblocks-128, flush, read back).  Every register write must match the
 * recording in place and value; the device's completions and identify
 * data are handed back from it; the driver's report must match the
 * markers QEMU's run printed.  An edited trace must fail, naming the
 * register.
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
#include "tests/hw/blk_sync.h"
#include "tests/hw/hw_replay.h"
#include "tests/hw/trace_util.h"

#ifndef TRACE_DIR
#define TRACE_DIR "tests/traces"
#endif
#define NVME_TRACE TRACE_DIR "/qemu72-nvme.trace"

static char markers[4][256];
static int nmarkers;
static struct blk_dev *regs[4];
static int nregs;

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
	if (nmarkers < 4)
		kvsnprintf(markers[nmarkers++], sizeof(markers[0]), fmt, ap);
	va_end(ap);
}

int
blk_register(struct blk_dev *d)
{
	if (nregs < 4)
		regs[nregs++] = d;
	return TERN_OK;
}

/* NVMe Base 2.0 3.1.3 register names, for divergence messages. */
static const struct hw_regname nvme_regnames[] = {
	{ 0x00, 0, "CAP" }, { 0x04, 4, "CAP_hi" }, { 0x08, 4, "VS" },
	{ 0x0c, 4, "INTMS" }, { 0x10, 4, "INTMC" }, { 0x14, 4, "CC" },
	{ 0x1c, 4, "CSTS" }, { 0x24, 4, "AQA" }, { 0x28, 4, "ASQ_lo" },
	{ 0x2c, 4, "ASQ_hi" }, { 0x30, 4, "ACQ_lo" }, { 0x34, 4, "ACQ_hi" },
	{ 0x1000, 4, "SQ0TDBL" }, { 0x1004, 4, "CQ0HDBL" },
	{ 0x1008, 4, "SQ1TDBL" }, { 0x100c, 4, "CQ1HDBL" },
	{ 0, 0, NULL },
};

/* A softc set up as nvme_pci.c does for QEMU's function (MSI-X present). */
static struct nvme_softc *
replay_softc(struct hw_replay *r)
{
	struct nvme_softc *sc = calloc(1, sizeof(*sc));
	hw_replay_attach(r, &sc->hw);
	sc->regs = (struct hw_bar){ .dev = &sc->hw, .index = 0, .len = 0x4000,
		.names = nvme_regnames };
	sc->want_ioq = 1;
	sc->nvec = 1;
	nmarkers = nregs = 0;
	return sc;
}

static void
test_qemu_trace(void **state)
{
	struct hw_replay *r = hw_replay_open(NVME_TRACE, "nvme0");
	assert_non_null(r);
	struct nvme_softc *sc = replay_softc(r);

	assert_int_equal(nvme_attach_core(sc, 0), TERN_OK);
	assert_int_equal(nregs, 1);
	char v[256];
	assert_int_equal(trace_marker_value(NVME_TRACE, "TERN BLK name=nvme0n1 ", "", v, sizeof(v)), 0);
	char want[300];
	snprintf(want, sizeof(want), "BLK name=nvme0n1 %s", v);
	assert_string_equal(markers[0], want);
	assert_string_equal(sc->mn, "QEMU NVMe Ctrl");
	assert_int_equal(sc->nioq, 1);
	assert_true(sc->ioq[0].ien);
	struct blk_dev *d = regs[0];
	assert_true(d->features & BLK_F_FLUSH);

	/* blktest=1: the seed is in the trace's BLKTEST marker. */
	assert_int_equal(trace_marker_value(NVME_TRACE, "seed=", "", v, sizeof(v)), 0);
	uint64_t seed = strtoull(v, NULL, 16);
	assert_true(seed != 0);
	const uint32_t bytes = 64 * 1024, n = bytes / d->block_size;
	uint64_t lba = d->nblocks - n;
	uint8_t *wbuf = aligned_alloc(4096, bytes), *rbuf = aligned_alloc(4096, bytes);
	blktest_pattern(wbuf, bytes, seed);
	memset(rbuf, 0, bytes);
	assert_int_equal(test_blk_rw(d, BLK_WRITE, lba, n, wbuf, 1, 100000), TERN_OK);
	assert_int_equal(test_blk_rw(d, BLK_FLUSH, 0, 0, NULL, 1, 100000), TERN_OK);
	assert_int_equal(test_blk_rw(d, BLK_READ, lba, n, rbuf, 1, 100000), TERN_OK);
	/* What QEMU's disk returned is the pattern we wrote. */
	assert_memory_equal(wbuf, rbuf, bytes);
	assert_int_equal(sc->bad_completions, 0);
	assert_false(hw_replay_diverged(r));
	assert_true(hw_replay_done(r));

	nvme_detach_core(sc);
	free(wbuf);
	free(rbuf);
	free(sc);
	hw_replay_close(r);
}

static char fail_msg[512];
static void on_fail(void *arg, const char *msg) { snprintf(fail_msg, sizeof(fail_msg), "%s", msg); }

/* The driver writes AQA = 0x1f001f (32-entry admin queues); the edited
   trace claims 0x3f003f. */
static void
test_edited_trace_diverges(void **state)
{
	char *s = trace_slurp(NVME_TRACE);
	char *p = strstr(s, " W 0 4 0x24 0x1f001f\n");
	assert_non_null(p);
	memcpy(p, " W 0 4 0x24 0x3f003f\n", 21);
	struct hw_replay *r = hw_replay_open_mem(s, "nvme0");
	free(s);
	assert_non_null(r);
	hw_replay_set_fail(r, on_fail, NULL);
	struct nvme_softc *sc = replay_softc(r);
	fail_msg[0] = 0;
	int rc = nvme_attach_core(sc, 0);
	printf("    attach: %s; replay: %s\n", err_str(rc), fail_msg);
	assert_true(hw_replay_diverged(r));
	assert_non_null(strstr(fail_msg, "nvme0"));
	assert_non_null(strstr(fail_msg, "AQA"));
	assert_non_null(strstr(fail_msg, "expected write 0x3f003f"));
	assert_non_null(strstr(fail_msg, "driver wrote 0x1f001f"));
	if (rc == TERN_OK)
		nvme_detach_core(sc);
	free(sc);
	hw_replay_close(r);
}

/* A polled driver (no MSI-X) masks INTMS first: not what QEMU's run did. */
static void
test_polled_driver_diverges(void **state)
{
	struct hw_replay *r = hw_replay_open(NVME_TRACE, "nvme0");
	assert_non_null(r);
	hw_replay_set_fail(r, on_fail, NULL);
	struct nvme_softc *sc = replay_softc(r);
	sc->nvec = 0;
	fail_msg[0] = 0;
	int rc = nvme_attach_core(sc, 0);
	printf("    attach: %s; replay: %s\n", err_str(rc), fail_msg);
	assert_true(hw_replay_diverged(r));
	assert_non_null(strstr(fail_msg, "INTMS"));
	if (rc == TERN_OK)
		nvme_detach_core(sc);
	free(sc);
	hw_replay_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_trace),
		cmocka_unit_test(test_edited_trace_diverges),
		cmocka_unit_test(test_polled_driver_diverges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

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
#include "tests/hw/hw_replay.h"
#include "tests/hw/kstubs.h"
#include "tests/hw/trace_util.h"
#include "tests/nvme/nvme_dmanames.h"

#ifndef TRACE_DIR
#define TRACE_DIR "tests/traces"
#endif
#define NVME_TRACE TRACE_DIR "/qemu72-nvme.trace"

/* The disks registered (the real registry, kernel/dev/blk.c). */
static int
nregs(void)
{
	int n = 0;
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next_blk)
		n++;
	return n;
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
	hw_replay_set_namer(r, nvme_dma_name, sc);
	kstub_reset();
	return sc;
}

/*
 * The recorded run on replay r: attach, blktest=1 (write 64 KiB of the
 * pattern at nblocks-128, flush, read back), then the detach of the
 * kernel's power-off (blk_shutdown_all: CC.SHN).  `strict` asserts every
 * step (the trace as recorded); negative tests run it on edited traces
 * with a failure hook.  Returns hw_replay_finish(r).
 */
static bool
replay_run(struct hw_replay *r, bool strict)
{
	struct nvme_softc *sc = replay_softc(r);
	int rc = nvme_attach_core(sc, 0);
	if (strict)
		assert_int_equal(rc, TERN_OK);
	if (rc != TERN_OK || nregs() == 0) {
		if (rc == TERN_OK)
			nvme_detach_core(sc);
		free(sc);
		return hw_replay_finish(r);
	}
	struct blk_dev *d = blk_first();
	char v[256];
	if (strict) {
		assert_int_equal(nregs(), 1);
		assert_int_equal(trace_marker_value(NVME_TRACE, "TERN BLK name=nvme0n1 ", "",
		    v, sizeof(v)), 0);
		char want[300];
		snprintf(want, sizeof(want), "BLK name=nvme0n1 %s", v);
		char got[300];
		assert_true(kstub_marker(0, got, sizeof(got)));
		assert_string_equal(got, want);
		assert_string_equal(sc->mn, "QEMU NVMe Ctrl");
		assert_int_equal(sc->nioq, 1);
		assert_true(sc->ioq[0].ien);
		assert_true(d->features & BLK_F_FLUSH);
	}

	/* blktest=1: the seed is in the trace's BLKTEST marker. */
	assert_int_equal(trace_marker_value(NVME_TRACE, "seed=", "", v, sizeof(v)), 0);
	uint64_t seed = strtoull(v, NULL, 16);
	assert_true(seed != 0);
	const uint32_t bytes = 64 * 1024, n = bytes / d->block_size;
	uint64_t lba = d->nblocks - n;
	uint8_t *wbuf = aligned_alloc(4096, bytes), *rbuf = aligned_alloc(4096, bytes);
	blktest_pattern(wbuf, bytes, seed);
	memset(rbuf, 0, bytes);
	int w = blk_rw_sync(d, BLK_WRITE, lba, n, wbuf, 100000);
	int f = blk_rw_sync(d, BLK_FLUSH, 0, 0, NULL, 100000);
	int rd = blk_rw_sync(d, BLK_READ, lba, n, rbuf, 100000);
	if (strict) {
		assert_int_equal(w, TERN_OK);
		assert_int_equal(f, TERN_OK);
		assert_int_equal(rd, TERN_OK);
		/* The replay compared the commands, the PRP list and the
		   written pattern with what QEMU was handed; the read data is
		   what QEMU's disk returned. */
		assert_memory_equal(wbuf, rbuf, bytes);
		assert_int_equal(sc->bad_completions, 0);
		assert_false(hw_replay_diverged(r));
	}
	nvme_detach_core(sc);
	bool done = hw_replay_finish(r);
	free(wbuf);
	free(rbuf);
	free(sc);
	return done;
}

static void
test_qemu_trace(void **state)
{
	struct hw_replay *r = hw_replay_open(NVME_TRACE, "nvme0");
	assert_non_null(r);
	assert_true(replay_run(r, true));
	assert_int_equal(hw_replay_pos(r), hw_replay_count(r));
	hw_replay_close(r);
}

static char fail_msg[512];
static void on_fail(void *arg, const char *msg) { snprintf(fail_msg, sizeof(fail_msg), "%s", msg); }

/* The whole run on an edited copy of the trace must fail with a message
   containing every string of `want`. */
static void
edited_fails(char *text, const char *const *want)
{
	assert_non_null(text);
	struct hw_replay *r = hw_replay_open_mem(text, "nvme0");
	free(text);
	assert_non_null(r);
	hw_replay_set_fail(r, on_fail, NULL);
	fail_msg[0] = 0;
	bool done = replay_run(r, false);
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

/* The recording's Write command says SLBA + 1000: the real driver's
   submission entry (SLBA 8064) must not pass for it. */
static void
test_wrong_lba_diverges(void **state)
{
	char *s = trace_slurp(NVME_TRACE), v[32], old[9], new[9];
	assert_int_equal(trace_marker_value(NVME_TRACE, "lba=", " ", v, sizeof(v)), 0);
	uint64_t lba = strtoull(v, NULL, 10);
	trace_hex_le(lba, 4, old);
	trace_hex_le(lba + 1000, 4, new);
	/* Opcode 0x01 (Write) with CDW10 (SLBA low) at byte 40. */
	char *e = trace_edit_dma(s, "nvme0", 64, "01", 40, old, new);
	free(s);
	char want_exp[48], want_got[48];
	snprintf(want_exp, sizeof(want_exp), "expected 0x%llx", (unsigned long long)lba + 1000);
	snprintf(want_got, sizeof(want_got), "driver wrote 0x%llx", (unsigned long long)lba);
	const char *const want[] = { "replay nvme0", "trace seq", "I/O sq 1 sqe[0].cdw10 (SLBA low)",
		want_exp, want_got, NULL };
	edited_fails(e, want);
}

/* The recorded PRP list has a different second page address. */
static void
test_wrong_prp_diverges(void **state)
{
	char *s = trace_slurp(NVME_TRACE);
	/* The write's list (15 entries, 120 bytes): entry [1] at byte 8
	   becomes a page the driver never used. */
	char *e = trace_edit_dma(s, "nvme0", 120, "", 8, NULL, "00f0ffff00000000");
	free(s);
	const char *const want[] = { "replay nvme0", "slot 0 PRP list[1]",
		"expected 0xfffff000", NULL };
	edited_fails(e, want);
}

/* The trace lost its last event: the driver's last access (the
   shutdown's CSTS read) runs past the end. */
static void
test_truncated_trace_fails(void **state)
{
	char *s = trace_slurp(NVME_TRACE);
	char *e = trace_drop_last(s, "nvme0", 1);
	free(s);
	const char *const want[] = { "replay nvme0", "past the end of the trace",
		"the last is seq", NULL };
	edited_fails(e, want);
}

/* Bogus events after the recording's end. */
static void
test_extended_trace_fails(void **state)
{
	char *s = trace_slurp(NVME_TRACE);
	char *e1 = trace_append(s, "nvme0", "R 0 4 0x1c 0x1");
	char *e = e1 ? trace_append(e1, "nvme0", "W 0 4 0x14 0x0") : NULL;
	free(s);
	free(e1);
	const char *const want[] = { "replay nvme0", "2 of", "events not replayed",
		"read32 CSTS (bar 0 +0x1c)", NULL };
	edited_fails(e, want);
}

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
		cmocka_unit_test(test_wrong_lba_diverges),
		cmocka_unit_test(test_wrong_prp_diverges),
		cmocka_unit_test(test_truncated_trace_fails),
		cmocka_unit_test(test_extended_trace_fails),
		cmocka_unit_test(test_polled_driver_diverges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

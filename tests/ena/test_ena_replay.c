/*
 * test_ena_replay.c - the ENA driver replaying a trace recorded from the
 * simulator (tests/traces/ena-sim.trace): bring-up with LLQ, a frame in,
 * a checksum-offloaded frame out, a device-requested reset and recovery,
 * traffic after it, detach.  Replay (tests/hw/hw_replay.c) checks every
 * register access, every DMA byte the driver hands the device (D events:
 * descriptors, admin entries, frames; B events: LLQ entries) and feeds
 * back what the device wrote (S events), so any change in what the driver
 * puts on the wire fails here, naming the event.  An edited trace (one
 * RX descriptor's phase bit) must diverge.
 *
 * ENA_RECORD=1 build/tests/ena_replay re-records the trace from the
 * simulator (tests/ena/ena_rec.c) instead of replaying it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ena/ena_var.h"
#include "kernel/err.h"
#include "tests/ena/ena_rec.h"
#include "tests/ena/ena_sim.h"
#include "tests/hw/hw_replay.h"
#include "tests/hw/kstubs.h"
#include "tests/hw/trace_util.h"

#define TRACE "tests/traces/ena-sim.trace"

struct run {
	struct ena_sim *sim;		/* NULL when replaying */
	struct ena_softc sc;
	struct nic_buf *rx;
	int released;
	struct nic_buf tb[2];
	uint8_t tmem[2][256];
};

static void
on_rx(void *upper, struct nic_buf *b)
{
	struct run *r = upper;
	assert_null(r->rx);
	r->rx = b;
}

static void on_release(struct nic_buf *b) { ((struct run *)b->owner)->released++; }

static void
frame(uint8_t *f, uint32_t len, uint8_t seed)
{
	memset(f, 0, len);
	memcpy(f, "\x02\x1d\x0f\xec\x20\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, "\x0a\x00\x00\x02\x0a\x00\x00\x01", 8);
	f[38] = (uint8_t)((len - 34) >> 8);
	f[39] = (uint8_t)(len - 34);
	for (uint32_t i = 42; i < len; i++)
		f[i] = (uint8_t)(seed + i);
}

static void
rx_one(struct run *r, uint8_t seed)
{
	uint8_t f[200];
	frame(f, sizeof(f), seed);
	if (r->sim != NULL)
		assert_int_equal(ena_sim_rx(r->sim, 0, f, sizeof(f)), 0);
	assert_int_equal(nic_poll_queue(&r->sc.nic, 0, 64), 1);
	assert_non_null(r->rx);
	assert_int_equal(r->rx->len, sizeof(f));
	assert_memory_equal(r->rx->data, f, sizeof(f));
	nic_buf_release_chain(r->rx);
	r->rx = NULL;
}

static void
tx_one(struct run *r, uint8_t seed, bool csum)
{
	struct nic_buf *b = &r->tb[0];
	memset(b, 0, sizeof(*b));
	b->data = r->tmem[0];
	b->len = 150;
	frame(b->data, b->len, seed);
	b->release = on_release;
	b->owner = r;
	b->refs = 1;
	struct nic_tx_meta m = { 14, 34, NIC_PROTO_UDP, 0, 0, NIC_TX_CSUM_L4 };
	int before = r->released;
	assert_int_equal(nic_tx(&r->sc.nic, 0, b, csum ? &m : NULL), TERN_OK);
	if (r->sim != NULL) {
		uint8_t got[256];
		assert_int_equal(ena_sim_wire_pop(r->sim, got, sizeof(got)), 150);
	}
	assert_int_equal(nic_poll_queue(&r->sc.nic, 0, 64), 1);
	assert_int_equal(r->released, before + 1);
}

/* The scenario: the same driver calls whether recording or replaying. */
static void
scenario(struct run *r)
{
	r->sc.readless = true;
	r->sc.nvec = 0;
	r->sc.ncpus = 1;
	r->sc.regs.len = ESIM_BAR0_LEN;
	r->sc.regs.index = 0;
	r->sc.regs.dev = &r->sc.hw;
	r->sc.llq_bar.len = ESIM_MAXQ * 2 * ESIM_MAX_DEPTH * 256;
	r->sc.llq_bar.index = 2;
	r->sc.llq_bar.dev = &r->sc.hw;
	assert_int_equal(ena_attach_core(&r->sc, 0), TERN_OK);
	r->sc.nic.rx = on_rx;
	r->sc.nic.upper = r;
	rx_one(r, 1);
	tx_one(r, 2, true);
	if (r->sim != NULL)
		assert_int_equal(ena_sim_aenq(r->sim, ENA_AENQ_DEVICE_REQUEST_RESET, 0, NULL, 0), 0);
	nic_poll_queue(&r->sc.nic, 0, 64);
	assert_int_equal(r->sc.st.resets, 1);
	rx_one(r, 3);
	tx_one(r, 4, false);
	ena_detach_core(&r->sc);
}

static void
sim_cfg(struct ena_sim_cfg *c)
{
	ena_sim_default_cfg(c);
	c->nq = 1;
	c->depth = 32;
}

static void
record(void)
{
	static struct ena_sim sim;
	static struct run r;
	struct ena_sim_cfg c;
	struct ena_rec rec;
	sim_cfg(&c);
	ena_sim_init(&sim, &c);
	r.sim = &sim;
	strcpy(r.sc.hw.name, "ena0");
	ena_sim_bind(&sim, &r.sc.hw, &r.sc.regs, &r.sc.llq_bar);
	FILE *out = fopen(TRACE, "w");
	if (out == NULL) {
		perror(TRACE);
		exit(1);
	}
	fprintf(out, "# simulator-generated trace: tests/ena/ena_sim.c via tests/ena/test_ena_replay.c (ENA_RECORD=1), "
	    "1 queue pair, depth 32, LLQ 128 B, read-less\n");
	ena_rec_attach(&rec, &r.sc.hw, out);
	scenario(&r);
	fclose(out);
	if (sim.perrs != 0 || sim.ndma != 0) {
		fprintf(stderr, "record: %llu protocol errors, %llu DMA regions left\n",
		    (unsigned long long)sim.perrs, (unsigned long long)sim.ndma);
		exit(1);
	}
	ena_sim_fini(&sim);
	fprintf(stderr, "recorded %s\n", TRACE);
}

static void
test_replay(void **state)
{
	(void)state;
	struct hw_replay *rp = hw_replay_open(TRACE, "ena0");
	assert_non_null(rp);
	struct run *r = calloc(1, sizeof(*r));
	hw_replay_attach(rp, &r->sc.hw);
	scenario(r);
	assert_true(hw_replay_finish(rp));
	hw_replay_close(rp);
	free(r);
}

static char fail_msg[512];
static void
on_fail(void *arg, const char *msg)
{
	(void)arg;
	if (fail_msg[0] == 0)
		snprintf(fail_msg, sizeof(fail_msg), "%s", msg);
}

/* The recording says an RX descriptor had its phase bit clear: the
   driver, which sets it, must diverge there. */
static void
test_replay_edited_descriptor(void **state)
{
	(void)state;
	char *text = trace_slurp(TRACE);
	assert_non_null(text);
	/* length 2048, reserved 0, ctrl first|last|comp_req|phase = 0x1d */
	char *bad = trace_edit_dma(text, "ena0", 16, "0008001d", 3, "1d", "1c");
	assert_non_null(bad);
	struct hw_replay *rp = hw_replay_open_mem(bad, "ena0");
	assert_non_null(rp);
	fail_msg[0] = 0;
	hw_replay_set_fail(rp, on_fail, NULL);
	struct run *r = calloc(1, sizeof(*r));
	hw_replay_attach(rp, &r->sc.hw);
	r->sc.readless = true;
	r->sc.regs.len = ESIM_BAR0_LEN;
	r->sc.regs.dev = &r->sc.hw;
	r->sc.llq_bar.len = ESIM_MAXQ * 2 * ESIM_MAX_DEPTH * 256;
	r->sc.llq_bar.index = 2;
	r->sc.llq_bar.dev = &r->sc.hw;
	int rc = ena_attach_core(&r->sc, 0);
	assert_true(hw_replay_diverged(rp));
	assert_non_null(strstr(fail_msg, "ena0"));
	if (rc == TERN_OK) {
		hw_replay_stop(rp);
		ena_detach_core(&r->sc);
	}
	hw_replay_close(rp);
	free(r);
	free(text);
	free(bad);
}

int
main(void)
{
	if (getenv("ENA_RECORD") != NULL) {
		record();
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_replay_edited_descriptor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

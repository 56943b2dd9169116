/*
 * test_vsc_replay.c - netvsc and storvsc replayed from traces
 * (docs/trace-format.md, docs/hyperv.md).
 *
 * No Hyper-V host is reachable, so the committed traces
 * (tests/traces/hvsim-netvsc.trace, hvsim-storvsc.trace) were recorded
 * from the strict host simulator (tests/vmbus/hv_sim.c) and its VSPs
 * (netvsc_vsp.c, storvsc_vsp.c) through the record backend
 * (tests/hw/hw_record.c): `build/tests/vsc_replay --record-netvsc FILE`
 * and `--record-storvsc FILE` (`make record-hvsim-trace` records all).
 * The same scenario code records and replays:
 *  - netvsc: hypercall page, SynIC, VMBus contact, the netvsc driver
 *    binds (NVSP, buffers as GPADLs, RNDIS), one frame sent (copied into
 *    a send section) and one received (zero copy), UNLOAD;
 *  - storvsc: the same bring-up with the storvsc driver (VSTOR, LUN
 *    discovery), one 4 KiB write, a flush and the read back, UNLOAD.
 * The replay backend is strict: every MSR, hypercall, DMA hand-over must
 * be the recorded one, and what the host wrote (frames, read data) comes
 * from the trace.  Edited copies (the frame the guest sends, the data the
 * guest writes) must diverge, naming what differs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "kernel/dev/blk.h"
#include "kernel/dev/nic.h"
#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "tests/hw/hw_record.h"
#include "tests/hw/hw_replay.h"
#include "tests/hw/kstubs.h"
#include "tests/hw/trace_util.h"
#include "tests/vmbus/hv_sim.h"
#include "tests/vmbus/netvsc_vsp.h"
#include "tests/vmbus/storvsc_vsp.h"
#include "vmbus/netvsc.h"
#include "vmbus/storvsc.h"
#include "vmbus/vmbus_var.h"

#define NET_TRACE	"tests/traces/hvsim-netvsc.trace"
#define STOR_TRACE	"tests/traces/hvsim-storvsc.trace"
#define DEV		"hv"
#define ARENA_BASE	0x4e5400000000ull
#define ARENA_LEN	(16u << 20)
#define RELID_NET	14
#define RELID_STOR	15
#define STOR_BLOCKS	2048

enum { NET, STOR };

/* The TSC is no seam call: the scenarios must not read it. */
static unsigned tsc_reads;
static uint64_t
no_tsc(struct hw_dev *d)
{
	(void)d;
	tsc_reads++;
	return 0;
}

static void *tzalloc(size_t n) { return calloc(1, n); }
static void tfree(void *p) { free(p); }

struct run {
	struct hw_dev cpu;
	struct hv hv;
	struct hw_dma hcpage;
	struct hw_dma mem;
	struct nic_buf txb;	/* the driver's until its completion or detach */
	struct vmbus vb;
	/* Recording only: the host side, driven between guest steps. */
	struct netvsc_vsp *nv;
	/* What the guest saw. */
	int rx;
	uint8_t rx_frame[128];
	uint32_t rx_len;
	uint8_t readback[4096];
};

static void
up_rx(void *ctx, struct nic_buf *b)
{
	struct run *r = ctx;
	r->rx++;
	r->rx_len = b->len;
	memcpy(r->rx_frame, b->data, b->len < sizeof(r->rx_frame) ? b->len :
	    sizeof(r->rx_frame));
	nic_buf_release(b);
}

static void up_link(void *ctx, bool on) { (void)ctx; (void)on; }
static int tx_released;
static void tx_rel(struct nic_buf *b) { (void)b; tx_released++; }

/* A recognisable frame: broadcast, a fixed source, "tern-<seed>..." */
static void
frame(uint8_t *b, uint32_t len, uint8_t seed)
{
	memset(b, 0xff, 6);
	memcpy(b + 6, "\x00\x15\x5d\x09\x09\x09", 6);
	b[12] = 0x08;
	b[13] = 0x00;
	memcpy(b + 14, "tern-net", 8);
	for (uint32_t i = 22; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

static void
run_cleanup(struct run *r)
{
	/* Detach the driver (it frees its rings and buffers) even when the
	   replay diverged: the unload itself may go unanswered. */
	if (r->vb.connected)
		vmbus_unload(&r->vb);
	vmbus_fini(&r->vb);
	hv_synic_fini(&r->hv);
	hv_hypercall_disable(&r->hv);
	if (r->mem.va != NULL)
		hw_dma_free(&r->cpu, &r->mem);
	if (r->hcpage.va != NULL)
		hw_dma_free(&r->cpu, &r->hcpage);
}

static int
bring_up(struct run *r, const struct driver *const *table)
{
	int rc;

	r->hv.read_tsc = no_tsc;
	r->vb.bus.zalloc = tzalloc;
	r->vb.bus.free = tfree;
	if ((rc = hv_probe(&r->hv, &r->cpu)) != TERN_OK)
		return rc;
	if (hw_dma_alloc(&r->cpu, 4096, 4096, &r->hcpage) != 0 ||
	    hw_dma_alloc(&r->cpu, 4096, 4096, &r->mem) != 0)
		return TERN_ENOMEM;
	if ((rc = hv_hypercall_enable(&r->hv, r->hcpage.pa)) != TERN_OK ||
	    (rc = hv_synic_init(&r->hv, 0x40)) != TERN_OK)
		return rc;
	if ((rc = vmbus_connect(&r->vb, &r->hv)) != TERN_OK)
		return rc;
	if ((rc = vmbus_probe(&r->vb, table)) < 0)
		return rc;
	return rc == 1 ? TERN_OK : TERN_ENODEV;
}

static int
tear_down(struct run *r)
{
	int rc = vmbus_unload(&r->vb);
	if (rc != TERN_OK)
		return rc;
	vmbus_fini(&r->vb);
	hv_synic_fini(&r->hv);
	hv_hypercall_disable(&r->hv);
	hw_dma_free(&r->cpu, &r->mem);
	hw_dma_free(&r->cpu, &r->hcpage);
	return TERN_OK;
}

static const struct driver *const net_table[] = { &netvsc_driver, NULL };
static const struct driver *const stor_table[] = { &storvsc_driver, NULL };

static int
scenario_net(struct run *r)
{
	int rc;
	struct nic_buf *b = &r->txb;

	if ((rc = bring_up(r, net_table)) != TERN_OK)
		return rc;
	struct nic *n = nic_first();
	if (n == NULL)
		return TERN_ENODEV;
	n->rx = up_rx;
	n->link_change = up_link;
	n->upper = r;
	/* One small frame out (copied into a send section). */
	uint8_t *p = r->mem.va;
	frame(p, 90, 5);
	memset(b, 0, sizeof(*b));
	b->data = p;
	b->len = b->cap = 90;
	b->release = tx_rel;
	b->refs = 1;
	tx_released = 0;
	if ((rc = nic_tx(n, 0, b, NULL)) != TERN_OK)
		return rc;
	/* One frame in (recording: the VSP sends it now; replay: the
	   trace has the host's bytes). */
	if (r->nv != NULL) {
		static uint8_t in[100];
		const uint8_t *fp = in;
		uint32_t l = sizeof(in);
		frame(in, sizeof(in), 33);
		if (netvsc_vsp_rx(r->nv, &fp, &l, 1, -1) == 0)
			return TERN_EIO;
	}
	for (int i = 0; i < 4 && (r->rx == 0 || tx_released == 0); i++)
		nic_poll(n, 64);
	if (tx_released != 1 || r->rx != 1 || r->rx_len != 100)
		return TERN_EPROTO;
	return tear_down(r);
}

static int
scenario_stor(struct run *r)
{
	int rc;

	if ((rc = bring_up(r, stor_table)) != TERN_OK)
		return rc;
	struct blk_dev *d = blk_first();
	if (d == NULL)
		return TERN_ENODEV;
	uint8_t *p = r->mem.va;
	memcpy(p, "tern-blk", 8);
	for (int i = 8; i < 4096; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	if ((rc = blk_rw_sync(d, BLK_WRITE, 64, 8, p, 1000)) != TERN_OK ||
	    (rc = blk_rw_sync(d, BLK_FLUSH, 0, 0, NULL, 1000)) != TERN_OK)
		return rc;
	memset(p, 0, 4096);
	if ((rc = blk_rw_sync(d, BLK_READ, 64, 8, p, 1000)) != TERN_OK)
		return rc;
	memcpy(r->readback, p, sizeof(r->readback));
	return tear_down(r);
}

static int
scenario(int which, struct run *r)
{
	return which == NET ? scenario_net(r) : scenario_stor(r);
}

static const char net_header[] =
    "# simulator-generated trace: tests/vmbus/hv_sim.c with its netvsc VSP\n"
    "# (tests/vmbus/netvsc_vsp.c; no Hyper-V host was involved: this shows the\n"
    "# guest agrees with our simulator only)\n"
    "# recorded by: build/tests/vsc_replay --record-netvsc tests/traces/hvsim-netvsc.trace\n"
    "# through tests/hw/hw_record.c; the scenario is tests/vmbus/test_vsc_replay.c:\n"
    "# hypercall page, SynIC, VMBus contact, netvsc bring-up (NVSP, receive and\n"
    "# send buffers, RNDIS), one 90-byte frame out, one 100-byte frame in, UNLOAD.\n";
static const char stor_header[] =
    "# simulator-generated trace: tests/vmbus/hv_sim.c with its storvsc VSP\n"
    "# (tests/vmbus/storvsc_vsp.c; no Hyper-V host was involved: this shows the\n"
    "# guest agrees with our simulator only)\n"
    "# recorded by: build/tests/vsc_replay --record-storvsc tests/traces/hvsim-storvsc.trace\n"
    "# through tests/hw/hw_record.c; the scenario is tests/vmbus/test_vsc_replay.c:\n"
    "# hypercall page, SynIC, VMBus contact, storvsc bring-up (VSTOR, LUN\n"
    "# discovery), a 4 KiB write at LBA 64, a flush, the read back, UNLOAD.\n";

static int
record(int which, FILE *out, bool arena, int *sim_errs, int *leaked)
{
	struct hv_sim *s = calloc(1, sizeof(*s));
	struct run *r = calloc(1, sizeof(*r));
	struct netvsc_vsp *nv = calloc(1, sizeof(*nv));
	struct storvsc_vsp *sv = calloc(1, sizeof(*sv));
	hv_sim_init(s);
	if (arena && !hv_sim_use_arena(s, ARENA_BASE, ARENA_LEN))
		fprintf(stderr, "vsc_replay: no arena at 0x%llx; addresses will differ\n",
		    (unsigned long long)ARENA_BASE);
	if (which == NET) {
		hv_sim_offer(s, hv_sim_guid_netvsc, 1, RELID_NET, 0x2e);
		netvsc_vsp_init(nv, s, RELID_NET);
		r->nv = nv;
	} else {
		hv_sim_offer(s, hv_sim_guid_storvsc, 2, RELID_STOR, 0x2f);
		storvsc_vsp_init(sv, s, RELID_STOR, 512, STOR_BLOCKS);
	}
	fputs(which == NET ? net_header : stor_header, out);
	struct hw_record *rec = hw_record_open(out, &s->dev, DEV);
	hw_record_attach(rec, &r->cpu);
	int rc = scenario(which, r);
	if (rc != TERN_OK)
		run_cleanup(r);
	hw_record_close(rec);
	*sim_errs = hv_sim_error_count(s);
	*leaked = hv_sim_fini(s);
	if (which == STOR)
		storvsc_vsp_fini(sv);
	free(sv);
	free(nv);
	free(r);
	free(s);
	return rc;
}

/* ---- tests ------------------------------------------------------------- */

static char diverged[1024];

static void
on_diverge(void *arg, const char *msg)
{
	(void)arg;
	snprintf(diverged, sizeof(diverged), "%s", msg);
}

static int
replay_text(int which, const char *text, bool hook, bool *finished, struct run *r)
{
	struct hw_replay *rp = hw_replay_open_mem(text, DEV);
	assert_non_null(rp);
	diverged[0] = '\0';
	if (hook)
		hw_replay_set_fail(rp, on_diverge, NULL);
	hw_replay_attach(rp, &r->cpu);
	tsc_reads = 0;
	int rc = scenario(which, r);
	if (rc != TERN_OK)
		run_cleanup(r);
	*finished = hw_replay_finish(rp);
	hw_replay_close(rp);
	assert_int_equal(tsc_reads, 0);
	return rc;
}

static void
check_result(int which, const struct run *r)
{
	if (which == NET) {
		uint8_t want[100];
		frame(want, sizeof(want), 33);
		assert_int_equal(r->rx, 1);
		assert_memory_equal(r->rx_frame, want, sizeof(want));
	} else {
		assert_memory_equal(r->readback, "tern-blk", 8);
		for (int i = 8; i < 4096; i++)
			assert_int_equal(r->readback[i], (uint8_t)(i * 13 + 1));
	}
}

static void
replay_committed(int which, const char *path, const char *marker)
{
	char *text = trace_slurp(path);
	struct run *r = calloc(1, sizeof(*r));
	bool done;

	assert_non_null(text);
	assert_true(strstr(text, "# simulator-generated trace:") == text);
	kstub_reset();
	assert_int_equal(replay_text(which, text, false, &done, r), TERN_OK);
	assert_true(done);
	check_result(which, r);
	assert_non_null(strstr(kstub_markers, marker));
	free(r);
	free(text);
}

static void
test_netvsc_replay_committed(void **state)
{
	(void)state;
	replay_committed(NET, NET_TRACE, "TERN NIC name=hn0 driver=netvsc");
}

static void
test_storvsc_replay_committed(void **state)
{
	(void)state;
	replay_committed(STOR, STOR_TRACE, "TERN BLK name=sda driver=storvsc");
}

static void
record_then_replay(int which)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int errs, leaked;
	bool done;

	assert_int_equal(record(which, f, false, &errs, &leaked), TERN_OK);
	fclose(f);
	assert_int_equal(errs, 0);
	assert_int_equal(leaked, 0);
	struct run *r = calloc(1, sizeof(*r));
	assert_int_equal(replay_text(which, buf, false, &done, r), TERN_OK);
	assert_true(done);
	check_result(which, r);
	free(r);
	free(buf);
}

static void test_netvsc_record_then_replay(void **state) { (void)state; record_then_replay(NET); }
static void test_storvsc_record_then_replay(void **state) { (void)state; record_then_replay(STOR); }

/* The committed trace with the hex `old` (the first place it occurs,
   at a byte boundary of an event's bytes) replaced by `new`, and an
   "# edited:" line after the first header line (docs/trace-format.md). */
static char *
edit_hex(const char *text, const char *old, const char *new)
{
	const char *nl = strchr(text, '\n');
	assert_non_null(nl);
	size_t head = (size_t)(nl + 1 - text);
	char note[160];
	int nn = snprintf(note, sizeof(note), "# edited: %s -> %s\n", old, new);
	char *ed = malloc(strlen(text) + (size_t)nn + 1);
	assert_non_null(ed);
	memcpy(ed, text, head);
	memcpy(ed + head, note, (size_t)nn);
	strcpy(ed + head + (size_t)nn, text + head);
	char *at = strstr(ed + head + (size_t)nn, old);
	assert_non_null(at);
	memcpy(at, new, strlen(new));
	return ed;
}

static void
expect_divergence(int which, const char *edited, const char *const *want)
{
	struct run *r = calloc(1, sizeof(*r));
	bool done;

	/* After the divergence nothing answers the driver's GPADL teardown,
	   so netvsc keeps its buffers on purpose (the host might still
	   write them, docs/hyperv.md): not a leak to report here. */
#ifdef __SANITIZE_ADDRESS__
	__lsan_disable();
#endif
	replay_text(which, edited, true, &done, r);
#ifdef __SANITIZE_ADDRESS__
	__lsan_enable();
#endif
	assert_false(done);
	const char *miss = trace_msg_missing(diverged, want);
	if (miss != NULL)
		fail_msg("divergence \"%s\" lacks \"%s\"", diverged, miss);
	free(r);
}

/* The frame netvsc hands the host: "tern-net" in the trace becomes
   "tern-NET"; the guest still sends "tern-net", so the replay stops at
   that hand-over. */
static void
test_netvsc_edited_frame(void **state)
{
	(void)state;
	char *text = trace_slurp(NET_TRACE);
	assert_non_null(text);
	/* "tern-net" = 7465726e2d6e6574 -> "tern-NET" */
	char *ed = edit_hex(text, "7465726e2d6e6574", "7465726e2d4e4554");
	static const char *const want[] = { "replay hv", "expected", "driver wrote", NULL };
	expect_divergence(NET, ed, want);
	free(ed);
	free(text);
}

/* The data storvsc writes: "tern-blk" in the trace becomes "tern-BLK". */
static void
test_storvsc_edited_write(void **state)
{
	(void)state;
	char *text = trace_slurp(STOR_TRACE);
	assert_non_null(text);
	char *ed = edit_hex(text, "7465726e2d626c6b", "7465726e2d424c4b");
	static const char *const want[] = { "replay hv", "expected", "driver wrote", NULL };
	expect_divergence(STOR, ed, want);
	free(ed);
	free(text);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && (strcmp(argv[1], "--record-netvsc") == 0 ||
	    strcmp(argv[1], "--record-storvsc") == 0)) {
		int which = strcmp(argv[1], "--record-netvsc") == 0 ? NET : STOR;
		FILE *f = fopen(argv[2], "w");
		int errs, leaked;
		if (f == NULL) {
			perror(argv[2]);
			return 2;
		}
		int rc = record(which, f, true, &errs, &leaked);
		fclose(f);
		fprintf(stderr, "vsc_replay: recorded %s: %s, %d simulator errors, %d leaked\n",
		    argv[2], err_str(rc), errs, leaked);
		return rc == TERN_OK && errs == 0 && leaked == 0 ? 0 : 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netvsc_replay_committed),
		cmocka_unit_test(test_netvsc_record_then_replay),
		cmocka_unit_test(test_netvsc_edited_frame),
		cmocka_unit_test(test_storvsc_replay_committed),
		cmocka_unit_test(test_storvsc_record_then_replay),
		cmocka_unit_test(test_storvsc_edited_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

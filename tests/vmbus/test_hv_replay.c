/*
 * test_hv_replay.c - the Hyper-V enlightenments and the VMBus core
 * replayed from a trace (docs/trace-format.md).
 *
 * No Hyper-V host is reachable, so the committed trace
 * (tests/traces/hvsim-vmbus.trace) was recorded from the strict host
 * simulator (tests/vmbus/hv_sim.c) through the host record backend
 * (tests/hw/hw_record.c): `build/tests/hv_replay --record <file>`.  One
 * scenario, the same code for recording and replay: CPUID probe, guest
 * OS id and hypercall page, SynIC, reference TSC page, synthetic timer 0
 * started and stopped, VMBus contact, offers, a driver bound by class
 * GUID that opens its channel (GPADL, OPENCHANNEL), one packet each way
 * (the ring bytes are D/S events, so their contents are checked),
 * close, GPADL teardown, UNLOAD, and the enlightenments undone.
 *
 * The replay backend is strict: every MSR, CPUID, hypercall, clock read,
 * DMA hand-over in both directions must be the recorded one.  Edited
 * copies (a changed MSR value, a changed guest message, a changed host
 * message) must diverge, naming what differs.  What this proves and does
 * not: docs/hyperv.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "tests/hw/hw_record.h"
#include "tests/hw/hw_replay.h"
#include "tests/hw/kstubs.h"
#include "tests/hw/trace_util.h"
#include "tests/vmbus/hv_sim.h"
#include "vmbus/vmbus_var.h"

#define TRACE		"tests/traces/hvsim-vmbus.trace"
#define DEV		"hv"		/* the kernel's seam device (hv_kern.c) */
#define ARENA_BASE	0x4e5400000000ull
#define ARENA_LEN	(4u << 20)
#define RELID_NET	14
#define RELID_STOR	15
#define RING		(4 * 4096)

/* ---- the driver of the scenario: netvsc's class, opens its channel ---- */

struct tdrv {
	struct vmbus_chan *ch;
	int rx;
	uint64_t last_tid;
	uint8_t last[16];
};

static void
td_cb(struct vmbus_chan *ch, void *arg)
{
	struct tdrv *t = arg;
	uint8_t buf[256];
	struct vmbus_pkt p;

	while (vmbus_chan_recv(ch, buf, sizeof(buf), &p) == TERN_OK) {
		t->rx++;
		t->last_tid = p.trans_id;
		size_t n = p.len - p.hdr_len;
		memcpy(t->last, buf + p.hdr_len, n < sizeof(t->last) ? n : sizeof(t->last));
	}
}

static struct tdrv *td_live;

static int
td_attach(struct device *dev, void *softc)
{
	struct tdrv *t = softc;
	t->ch = vmbus_chan_of(dev);
	if (t->ch == NULL)
		return TERN_EINVAL;
	int rc = vmbus_chan_open(t->ch, RING, RING, NULL, 0, td_cb, t);
	if (rc == TERN_OK)
		td_live = t;
	return rc;
}

static void
td_detach(struct device *dev, void *softc)
{
	struct tdrv *t = softc;
	vmbus_chan_close(t->ch);
	td_live = NULL;
}

static const struct driver_guid td_ids[] = {
	{ { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	    0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } },
	{ { 0 } },
};
static const struct driver td_driver = {
	.name = "tnet", .bus = DRIVER_BUS_VMBUS, .vmbus_ids = td_ids,
	.softc_size = sizeof(struct tdrv), .attach = td_attach,
	.detach = td_detach,
};
static const struct driver *const td_table[] = { &td_driver, NULL };

static void *tzalloc(size_t n) { return calloc(1, n); }
static void tfree(void *p) { free(p); }

/* The TSC is not a seam call, so no trace can carry it: the scenario
   must not need it (nothing in it reads the reference time). */
static unsigned tsc_reads;
static uint64_t
no_tsc(struct hw_dev *d)
{
	tsc_reads++;
	return 0;
}

/* ---- the scenario ------------------------------------------------------- */

struct run {
	struct hw_dev cpu;
	struct hv hv;
	struct hw_dma hcpage;
	struct vmbus vb;
	struct hv_stimer tick;
	int rx;
	uint8_t reply[16];
};

/* Everything the scenario set up, undone whatever happened (after a
   divergence too, so nothing leaks). */
static void
run_cleanup(struct run *r)
{
	vmbus_fini(&r->vb);
	hv_stimer_stop(&r->tick);
	hv_time_fini(&r->hv);
	hv_synic_fini(&r->hv);
	hv_hypercall_disable(&r->hv);
	if (r->hcpage.va != NULL)
		hw_dma_free(&r->cpu, &r->hcpage);
}

/* The recorded run.  Returns the first failing step's error. */
static int
scenario(struct run *r)
{
	int rc;

	r->hv.read_tsc = no_tsc;
	r->vb.bus.zalloc = tzalloc;
	r->vb.bus.free = tfree;
	td_live = NULL;
	if ((rc = hv_probe(&r->hv, &r->cpu)) != TERN_OK)
		return rc;
	if (hw_dma_alloc(&r->cpu, 4096, 4096, &r->hcpage) != 0)
		return TERN_ENOMEM;
	if ((rc = hv_hypercall_enable(&r->hv, r->hcpage.pa)) != TERN_OK ||
	    (rc = hv_synic_init(&r->hv, 0x40)) != TERN_OK ||
	    (rc = hv_time_init(&r->hv)) != TERN_OK ||
	    (rc = hv_stimer_start(&r->tick, &r->hv, 0x41, 1000, true)) != TERN_OK)
		return rc;
	if ((rc = vmbus_connect(&r->vb, &r->hv)) != TERN_OK)
		return rc;
	if ((rc = vmbus_probe(&r->vb, td_table)) < 0)
		return rc;
	if (td_live == NULL)
		return TERN_ENODEV;
	if ((rc = vmbus_chan_send(td_live->ch, VMBUS_PKT_DATA_INBAND,
	    VMBUS_PKT_FLAG_COMPLETION, 7, NULL, 0, "ping, host", 10)) != TERN_OK)
		return rc;
	vmbus_poll(&r->vb);
	r->rx = td_live->rx;
	memcpy(r->reply, td_live->last, sizeof(r->reply));
	if (td_live->rx != 1 || td_live->last_tid != 7)
		return TERN_EPROTO;
	if ((rc = vmbus_unload(&r->vb)) != TERN_OK)
		return rc;
	hv_stimer_stop(&r->tick);
	hv_time_fini(&r->hv);
	hv_synic_fini(&r->hv);
	hv_hypercall_disable(&r->hv);
	hw_dma_free(&r->cpu, &r->hcpage);
	return TERN_OK;
}

/* The VSP of the recording: answers each packet with a completion
   carrying "pong" and the rest of the request. */
static void
pong_vsp(struct hv_sim *s, struct sim_chan *c, void *ctx)
{
	uint8_t buf[256];
	uint64_t tid;
	int n;

	while ((n = hv_sim_chan_recv(s, c, buf, sizeof(buf), NULL, &tid)) >= 0) {
		memcpy(buf, "pong", 4);
		hv_sim_chan_send(s, c, VMBUS_PKT_COMP, 0, tid, buf, (size_t)n);
	}
}

static const char header[] =
    "# simulator-generated trace: tests/vmbus/hv_sim.c (the strict Hyper-V host simulator;\n"
    "# no Hyper-V host was involved: this shows the guest agrees with our simulator only)\n"
    "# recorded by: build/tests/hv_replay --record tests/traces/hvsim-vmbus.trace\n"
    "# through tests/hw/hw_record.c; the scenario is tests/vmbus/test_hv_replay.c:\n"
    "# probe, guest OS id, hypercall page, SynIC, TSC page, stimer0 start/stop,\n"
    "# VMBus 5.3 contact, offers (netvsc relid 14, storvsc relid 15), open relid 14,\n"
    "# one packet each way, close, UNLOAD, teardown.\n"
    "# marker: VMBUS version=5.3 offers=2\n";

/* Record the scenario from a fresh simulator into `out`.  `arena`: fixed
   guest addresses, so the committed file is reproducible. */
static int
record(FILE *out, bool arena, int *sim_errs, int *leaked)
{
	struct hv_sim *s = calloc(1, sizeof(*s));
	struct run *r = calloc(1, sizeof(*r));
	hv_sim_init(s);
	if (arena && !hv_sim_use_arena(s, ARENA_BASE, ARENA_LEN))
		fprintf(stderr, "hv_replay: no arena at 0x%llx; addresses will differ\n",
		    (unsigned long long)ARENA_BASE);
	hv_sim_offer(s, hv_sim_guid_netvsc, 1, RELID_NET, 0x2e);
	hv_sim_offer(s, hv_sim_guid_storvsc, 2, RELID_STOR, 0x2f);
	s->hook = pong_vsp;
	fputs(header, out);
	struct hw_record *rec = hw_record_open(out, &s->dev, DEV);
	hw_record_attach(rec, &r->cpu);
	int rc = scenario(r);
	if (rc != TERN_OK)
		run_cleanup(r);
	hw_record_close(rec);
	*sim_errs = hv_sim_error_count(s);
	*leaked = hv_sim_fini(s);
	free(r);
	free(s);
	return rc;
}

/* ---- tests ------------------------------------------------------------- */

static char diverged[1024];

static void
on_diverge(void *arg, const char *msg)
{
	snprintf(diverged, sizeof(diverged), "%s", msg);
}

/* Replay `text` through the scenario: the scenario's result, and
   whether every event was consumed with no divergence. */
static int
replay_text(const char *text, bool hook, bool *finished, struct run *r)
{
	struct hw_replay *rp = hw_replay_open_mem(text, DEV);
	assert_non_null(rp);
	diverged[0] = '\0';
	if (hook)
		hw_replay_set_fail(rp, on_diverge, NULL);
	hw_replay_attach(rp, &r->cpu);
	tsc_reads = 0;
	int rc = scenario(r);
	if (rc != TERN_OK)
		run_cleanup(r);
	*finished = hw_replay_finish(rp);
	hw_replay_close(rp);
	assert_int_equal(tsc_reads, 0);
	return rc;
}

/* The committed trace replays through today's code, every event used,
   with the markers and the reply the recording saw. */
static void
test_replay_committed(void **state)
{
	char *text = trace_slurp(TRACE);
	struct run *r = calloc(1, sizeof(*r));
	bool done;
	char want[64];

	assert_non_null(text);
	assert_true(strstr(text, "# simulator-generated trace:") == text);
	kstub_reset();
	assert_int_equal(replay_text(text, false, &done, r), TERN_OK);
	assert_true(done);
	assert_int_equal(r->rx, 1);
	assert_memory_equal(r->reply, "pong, host", 10);
	assert_int_equal(trace_marker_value(TRACE, "VMBUS ", "\n", want, sizeof(want)), 0);
	char line[128];
	snprintf(line, sizeof(line), "VMBUS %s", want);
	assert_true(kstub_marker(0, want, sizeof(want)));
	assert_string_equal(want, line);
	free(r);
	free(text);
}

/* A fresh recording from today's simulator: the simulator saw no
   protocol error and no leak, and the recording replays. */
static void
test_record_then_replay(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int errs, leaked;
	bool done;

	assert_int_equal(record(f, false, &errs, &leaked), TERN_OK);
	fclose(f);
	assert_int_equal(errs, 0);
	assert_int_equal(leaked, 0);
	/* Every kind the enlightenments use is in it. */
	for (const char *k = "mMXHASDT"; *k; k++) {
		char pat[8];
		snprintf(pat, sizeof(pat), " %c ", *k);
		assert_non_null(strstr(buf, pat));
	}
	struct run *r = calloc(1, sizeof(*r));
	assert_int_equal(replay_text(buf, false, &done, r), TERN_OK);
	assert_true(done);
	free(r);
	free(buf);
}

static void
expect_divergence(const char *edited, const char *const *want)
{
	struct run *r = calloc(1, sizeof(*r));
	bool done;

	assert_non_null(edited);
	replay_text(edited, true, &done, r);
	assert_false(done);
	const char *miss = trace_msg_missing(diverged, want);
	if (miss != NULL)
		fail_msg("divergence \"%s\" lacks \"%s\"", diverged, miss);
	free(r);
}

/* An edited MSR value: the recorded guest OS id differs by one bit. */
static void
test_edited_msr_value(void **state)
{
	char *text = trace_slurp(TRACE);
	char old[64], new[64];
	snprintf(old, sizeof(old), " M 0x40000000 0x%llx\n",
	    (unsigned long long)hv_guest_os_id());
	snprintf(new, sizeof(new), " M 0x40000000 0x%llx\n",
	    (unsigned long long)(hv_guest_os_id() ^ 1));
	char *at = strstr(text, old);
	assert_non_null(at);
	memcpy(at, new, strlen(new));
	static const char *const want[] = { "replay hv", "HV_GUEST_OS_ID",
	    "expected write", "driver wrote", NULL };
	expect_divergence(text, want);
	free(text);
}

/* An edited guest message: INITIATE_CONTACT asks for 5.2 in the trace
   (the post page's payload at +16, version at +8 of the payload). */
static void
test_edited_guest_message(void **state)
{
	char *text = trace_slurp(TRACE);
	char v53[9], v52[9];
	trace_hex_le(VMBUS_V5_3, 4, v53);
	trace_hex_le(VMBUS_V5_2, 4, v52);
	/* conn 4, reserved, type 1, size 40, then msgtype 14. */
	char *ed = trace_edit_dma(text, DEV, 16 + 40,
	    "04000000000000000100000028000000" "0e000000", 24, v53, v52);
	static const char *const want[] = { "replay hv", "device read of 56 bytes",
	    "expected", "driver wrote", NULL };
	expect_divergence(ed, want);
	free(ed);
	free(text);
}

/* An edited host message: the VERSION_RESPONSE in the SynIC slot says
   "not supported", so the guest asks for 5.2 where the recording went
   on; the divergence is the guest's next message. */
static void
test_edited_host_message(void **state)
{
	char *text = trace_slurp(TRACE);
	/* Slot: type 1, size 16; payload at +16: msgtype 15, padding,
	   version_supported at +24. */
	char *ed = trace_edit_sync(text, DEV, 256, "0100000010", 16,
	    "0f0000000000000001", "0f0000000000000000");
	static const char *const want[] = { "replay hv",
	    "driver hands the device 56 bytes", "has 24 bytes", NULL };
	expect_divergence(ed, want);
	free(ed);
	free(text);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--record") == 0) {
		FILE *f = fopen(argv[2], "w");
		int errs, leaked;
		if (f == NULL) {
			perror(argv[2]);
			return 2;
		}
		int rc = record(f, true, &errs, &leaked);
		fclose(f);
		fprintf(stderr, "hv_replay: recorded %s: %s, %d simulator errors, %d leaked\n",
		    argv[2], err_str(rc), errs, leaked);
		return rc == TERN_OK && errs == 0 && leaked == 0 ? 0 : 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_committed),
		cmocka_unit_test(test_record_then_replay),
		cmocka_unit_test(test_edited_msr_value),
		cmocka_unit_test(test_edited_guest_message),
		cmocka_unit_test(test_edited_host_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_nvme.c - the NVMe driver (nvme/nvme.c, nvme/nvme_io.c) against the
 * simulator in nvme_sim.c: bring-up, identify and markers (plain and
 * Amazon EBS), I/O round trips including PRP lists, several namespaces,
 * and injected faults (wrong CID, lost completion, LBA out of range, a
 * flood of stray completions, each attach allocation failing in turn).
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
#include "tests/hw/kstubs.h"
#include "tests/nvme/nvme_sim.h"

/* The disks the driver registered, in attach order (the real registry,
   kernel/dev/blk.c): a detach that forgets to unregister leaves a dangling
   entry here. */
static int
nregs(void)
{
	int n = 0;
	for (struct blk_dev *d = blk_first(); d != NULL; d = d->next_blk)
		n++;
	return n;
}

static struct blk_dev *
reg(int i)
{
	struct blk_dev *d = blk_first();
	while (d != NULL && i-- > 0)
		d = d->next_blk;
	assert_non_null(d);
	return d;
}

/* The i-th marker line since the last kstub_reset(). */
static const char *
marker_line(int i)
{
	static char buf[256];
	if (!kstub_marker(i, buf, sizeof(buf)))
		buf[0] = '\0';
	return buf;
}

struct fix {
	struct nvme_sim sim;
	struct nvme_softc sc;
};

static uint8_t mdts_override;
/* Run between the simulator's and the driver's setup (bus glue's job). */
static void (*pre_attach)(struct fix *f);

static struct fix *
setup_dev(bool amazon, uint32_t nns)
{
	struct fix *f = calloc(1, sizeof(*f));
	kstub_reset();
	nvme_sim_init(&f->sim, amazon, nns, 8192);
	if (mdts_override)
		f->sim.mdts = mdts_override;
	strcpy(f->sc.hw.name, "nvme0");
	f->sc.hw.ops = &nvme_sim_ops;
	f->sc.hw.backend = &f->sim;
	f->sc.hw.dma_limit = amazon ? 1ULL << 48 : 0;
	f->sc.regs.dev = &f->sc.hw;
	if (pre_attach != NULL)
		pre_attach(f);
	pre_attach = NULL;
	assert_int_equal(nvme_attach_core(&f->sc, 0), TERN_OK);
	return f;
}

static void
teardown_dev(struct fix *f)
{
	nvme_detach_core(&f->sc);
	assert_int_equal(f->sim.ndma, 0);
	assert_int_equal(NVME_CSTS_SHST(f->sim.csts), 2);
	nvme_sim_fini(&f->sim);
	free(f);
}

static void
on_done(struct blk_req *r, int status)
{
	(*(int *)r->ctx)++;
}

/* The CPU the test pretends to run on: it submits to queue cpu % nqueues. */
static uint32_t cur_cpu;

/* Submit on this CPU's queue and poll it until done; returns the request
   status. */
static int
rw(struct blk_dev *d, int op, uint64_t lba, uint32_t nblocks, void *buf)
{
	int done = 0;
	struct blk_req r = { .op = op, .lba = lba, .nblocks = nblocks, .nsegs = 1,
		.done = on_done, .ctx = &done };
	r.segs[0].va = buf;
	r.segs[0].len = nblocks * d->block_size;
	if (op == BLK_FLUSH || op == BLK_WRITE_ZEROES || op == BLK_DISCARD)
		r.nsegs = 0;
	uint32_t q = cur_cpu % blk_nqueues(d);
	int rc = blk_submit(d, q, &r);
	if (rc != TERN_OK)
		return rc;
	for (int i = 0; i < 10 && !done; i++)
		blk_poll(d, q);
	assert_int_equal(done, 1);
	return r.status;
}

static void
test_bringup_plain(void **st)
{
	struct fix *f = setup_dev(false, 2);
	assert_int_equal(nregs(), 2);
	assert_string_equal(reg(0)->name, "nvme0n1");
	assert_string_equal(reg(1)->name, "nvme0n2");
	assert_int_equal(reg(0)->block_size, 512);
	assert_int_equal(reg(0)->nblocks, 8192);
	assert_int_equal(reg(0)->max_transfer, 128 * 1024);
	assert_true(reg(0)->features & BLK_F_FLUSH);
	assert_false(f->sc.amazon);
	assert_non_null(strstr(marker_line(0), "BLK name=nvme0n1 sectors=8192 bsize=512"));
	assert_null(strstr(marker_line(0), "ebs_"));
	teardown_dev(f);
}

static void
test_bringup_amazon(void **st)
{
	struct fix *f = setup_dev(true, 1);
	assert_true(f->sc.amazon);
	assert_int_equal(nregs(), 1);
	assert_non_null(strstr(marker_line(0), "name=nvme0n1"));
	assert_non_null(strstr(marker_line(0), "model=\"Amazon Elastic Block Store\""));
	assert_non_null(strstr(marker_line(0), "serial=vol0abc123"));
	assert_non_null(strstr(marker_line(0), "ebs_volume=vol-0abc123"));
	assert_non_null(strstr(marker_line(0), "ebs_dev=sdf"));
	teardown_dev(f);
}

/* Sizes: one block, two pages (PRP2 direct), 128 KiB (PRP list), and a
   buffer starting mid-page (PRP1 offset). */
static void
test_io_roundtrip(void **st)
{
	struct fix *f = setup_dev(false, 2);
	struct blk_dev *d = reg(0);
	uint8_t *w = aligned_alloc(4096, 132 * 1024), *r = aligned_alloc(4096, 132 * 1024);
	static const struct { uint32_t off, blocks; uint64_t lba; } cases[] = {
		{ 0, 1, 0 }, { 0, 16, 100 }, { 0, 256, 1000 }, { 512, 8, 2000 },
		{ 1024, 200, 3000 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint32_t n = cases[c].blocks * 512;
		for (uint32_t i = 0; i < n; i++)
			w[cases[c].off + i] = (uint8_t)(i * 7 + c + (i >> 9));
		memset(r, 0xee, 132 * 1024);
		assert_int_equal(rw(d, BLK_WRITE, cases[c].lba, cases[c].blocks, w + cases[c].off), TERN_OK);
		assert_int_equal(rw(d, BLK_FLUSH, 0, 0, NULL), TERN_OK);
		assert_int_equal(rw(d, BLK_READ, cases[c].lba, cases[c].blocks, r + cases[c].off), TERN_OK);
		assert_memory_equal(w + cases[c].off, r + cases[c].off, n);
		assert_memory_equal(f->sim.disk[0] + cases[c].lba * 512, w + cases[c].off, n);
	}
	/* The second namespace is a separate disk. */
	assert_int_equal(rw(reg(1), BLK_READ, 0, 1, r), TERN_OK);
	for (int i = 0; i < 512; i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(d->stats.writes, 5);
	assert_int_equal(f->sc.bad_completions, 0);
	/* Above MDTS or beyond the end: refused before reaching the device. */
	assert_int_equal(rw(d, BLK_READ, 0, 257, r), TERN_EINVAL);
	assert_int_equal(rw(d, BLK_READ, 8192, 1, r), TERN_EINVAL);
	free(w);
	free(r);
	teardown_dev(f);
}

static void
test_fault_wrong_cid(void **st)
{
	struct fix *f = setup_dev(false, 1);
	uint8_t *b = aligned_alloc(4096, 4096);
	memset(b, 0x5a, 4096);
	f->sim.f_wrong_cid = true;
	assert_int_equal(rw(reg(0), BLK_WRITE, 8, 8, b), TERN_OK);
	assert_int_equal(f->sc.bad_completions, 1);
	assert_int_equal(reg(0)->stats.bad_completions, 1);
	assert_memory_equal(f->sim.disk[0] + 8 * 512, b, 4096);
	free(b);
	teardown_dev(f);
}

static void
test_fault_lba_range(void **st)
{
	struct fix *f = setup_dev(false, 1);
	uint8_t *b = aligned_alloc(4096, 4096);
	f->sim.nsze[0] = 16;	/* the device shrank under us */
	assert_int_equal(rw(reg(0), BLK_READ, 100, 1, b), TERN_ERANGE);
	assert_int_equal(reg(0)->stats.errors, 1);
	free(b);
	teardown_dev(f);
}

static void
test_fault_lost_completion(void **st)
{
	struct fix *f = setup_dev(true, 1);
	struct blk_dev *d = reg(0);
	uint8_t *b = aligned_alloc(4096, 4096);
	int done = 0;
	struct blk_req r = { .op = BLK_WRITE, .lba = 0, .nblocks = 1, .nsegs = 1,
		.done = on_done, .ctx = &done };
	r.segs[0].va = b;
	r.segs[0].len = 512;
	f->sim.f_drop = true;
	assert_int_equal(blk_submit(d, 0, &r), TERN_OK);
	for (int i = 0; i < 100; i++)
		assert_int_equal(blk_poll(d, 0), 0);
	/* Never completed, never acknowledged; after the deadline it is
	   logged once and still waited for. */
	assert_int_equal(done, 0);
	assert_int_equal(d->stats.timeouts_logged, 0);
	f->sim.now_ns += 31000000000ULL;
	assert_int_equal(blk_poll(d, 0), 0);
	assert_int_equal(d->stats.timeouts_logged, 1);
	f->sim.now_ns += 600000000000ULL;
	assert_int_equal(blk_poll(d, 0), 0);
	assert_int_equal(d->stats.timeouts_logged, 1);
	assert_int_equal(done, 0);
	free(b);
	teardown_dev(f);
}

/* CSTS.CFS while enabling, or RDY never set: attach fails, bounded by
   CAP.TO on the (virtual) clock, with nothing leaked. */
static void
attach_fails(bool cfs, int want)
{
	struct fix *f = calloc(1, sizeof(*f));
	nvme_sim_init(&f->sim, false, 1, 64);
	f->sim.f_cfs_on_enable = cfs;
	f->sim.f_never_ready = !cfs;
	strcpy(f->sc.hw.name, "nvme0");
	f->sc.hw.ops = &nvme_sim_ops;
	f->sc.hw.backend = &f->sim;
	f->sc.regs.dev = &f->sc.hw;
	kstub_reset();
	assert_int_equal(nvme_attach_core(&f->sc, 0), want);
	assert_int_equal(nregs(), 0);
	assert_int_equal(f->sim.ndma, 0);
	if (!cfs) {
		assert_true(f->sim.now_ns >= 1000000000ULL);	/* CAP.TO = 1 s */
		assert_true(f->sim.now_ns < 2000000000ULL);
	}
	nvme_sim_fini(&f->sim);
	free(f);
}

static void test_fault_cfs_enable(void **st) { attach_fails(true, TERN_EIO); }
static void test_fault_ready_timeout(void **st) { attach_fails(false, TERN_ETIMEDOUT); }

/* A simulator and a softc wired together, not attached yet. */
static struct fix *
fix_new(bool amazon, uint8_t mdts)
{
	struct fix *f = calloc(1, sizeof(*f));
	nvme_sim_init(&f->sim, amazon, 1, 64);
	if (mdts != 0)
		f->sim.mdts = mdts;
	strcpy(f->sc.hw.name, "nvme0");
	f->sc.hw.ops = &nvme_sim_ops;
	f->sc.hw.backend = &f->sim;
	f->sc.regs.dev = &f->sc.hw;
	kstub_reset();
	return f;
}

static void
fix_free(struct fix *f)
{
	nvme_sim_fini(&f->sim);
	free(f);
}

/*
 * The admin queue gets nothing but completions for a command id nobody
 * submitted, one every millisecond, forever: the first admin command
 * (Identify) gives up after its 5 s bound with TERN_ETIMEDOUT, having
 * counted the strays, and attach fails with everything freed.  A wait
 * that skips its deadline check on a stray would eat the whole flood.
 */
static void
test_fault_admin_stray_forever(void **st)
{
	struct fix *f = fix_new(false, 0);
	f->sim.f_stray_cid = true;
	assert_int_equal(nvme_attach_core(&f->sc, 0), TERN_ETIMEDOUT);
	assert_true(f->sim.strays < SIM_STRAY_CAP);
	assert_true(f->sim.strays >= 1000);	/* the device kept at it */
	/* The stray posted after the driver's last acknowledgement is
	   never read. */
	assert_int_equal(f->sc.bad_completions, f->sim.strays - 1);
	assert_true(f->sim.now_ns >= 5000000000ULL);
	assert_true(f->sim.now_ns < 5100000000ULL);
	assert_int_equal(nregs(), 0);
	assert_int_equal(f->sim.ndma, 0);
	fix_free(f);
}

/*
 * The same flood on an I/O queue: a poll reaps at most one queue depth
 * of entries and returns, the request stays in flight (it was never
 * completed), every stray is counted.
 */
static void
test_fault_io_stray_forever(void **st)
{
	struct fix *f = setup_dev(false, 1);
	struct blk_dev *d = reg(0);
	uint8_t *b = aligned_alloc(4096, 4096);
	int done = 0;
	struct blk_req r = { .op = BLK_READ, .lba = 0, .nblocks = 1, .nsegs = 1,
		.done = on_done, .ctx = &done };
	r.segs[0].va = b;
	r.segs[0].len = 512;
	f->sim.f_stray_cid = true;
	assert_int_equal(blk_submit(d, 0, &r), TERN_OK);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(blk_poll(d, 0), 0);
		assert_int_equal(f->sim.strays, 1 + (uint64_t)i * NVME_IOQ_DEPTH);
	}
	assert_int_equal(done, 0);
	assert_int_equal(f->sc.bad_completions, 3 * NVME_IOQ_DEPTH);
	assert_int_equal(d->stats.bad_completions, 3 * NVME_IOQ_DEPTH);
	f->sim.f_stray_cid = false;
	free(b);
	teardown_dev(f);
}

/*
 * Every DMA allocation attach makes fails once, in turn (admin rings,
 * identify page, the PRP chain pool that MDTS 8 MiB asks for, each I/O
 * queue's rings and list pages): attach returns an error each time, not
 * TERN_OK, registers no disk and frees what it took.
 */
static void
test_fault_attach_dma_each_step(void **st)
{
	uint32_t n;
	for (n = 1; n < 64; n++) {
		struct fix *f = fix_new(false, 11);
		f->sim.f_dma_fail_at = n;
		int rc = nvme_attach_core(&f->sc, 0);
		bool fired = f->sim.f_dma_fail_at == 0;
		if (!fired) {
			/* Past the last allocation: a clean attach. */
			assert_int_equal(rc, TERN_OK);
			assert_int_equal(nregs(), 1);
			nvme_detach_core(&f->sc);
			assert_int_equal(f->sim.ndma, 0);
			fix_free(f);
			break;
		}
		if (rc == TERN_OK)
			fail_msg("attach reported success with DMA allocation %u failed", n);
		assert_int_equal(rc, TERN_ENOMEM);
		assert_int_equal(nregs(), 0);
		assert_int_equal(f->sim.ndma, 0);
		fix_free(f);
	}
	/* 2 admin rings, identify, chain pool, 3 per I/O queue pair. */
	assert_int_equal(n, 8);
}

/* A completion whose phase tag is stale is not consumed. */
static void
test_fault_stale_phase(void **st)
{
	struct fix *f = setup_dev(false, 1);
	struct blk_dev *d = reg(0);
	uint8_t *b = aligned_alloc(4096, 4096);
	int done = 0;
	struct blk_req r = { .op = BLK_READ, .lba = 0, .nblocks = 1, .nsegs = 1,
		.done = on_done, .ctx = &done };
	r.segs[0].va = b;
	r.segs[0].len = 512;
	f->sim.f_stale_phase = true;
	assert_int_equal(blk_submit(d, 0, &r), TERN_OK);
	assert_int_equal(blk_poll(d, 0), 0);
	assert_int_equal(done, 0);
	free(b);
	teardown_dev(f);
}

/* More I/Os than the queue depth: the completion queue wraps and the
   phase flips; every write is on the disk when acknowledged. */
static void
test_cq_wrap(void **st)
{
	struct fix *f = setup_dev(false, 1);
	uint8_t *b = aligned_alloc(4096, 4096);
	for (int i = 0; i < 300; i++) {
		memset(b, i & 0xff, 512);
		assert_int_equal(rw(reg(0), BLK_WRITE, (uint64_t)i, 1, b), TERN_OK);
		assert_int_equal(f->sim.disk[0][i * 512 + 17], i & 0xff);
	}
	assert_int_equal(f->sc.bad_completions, 0);
	free(b);
	teardown_dev(f);
}

/* EBS: an address at or above 2^48 is refused by the driver; with the
   driver's limit lifted the simulated device rejects it (data transfer
   error) rather than touching memory. */
static void
test_dma_49bit(void **st)
{
	struct fix *f = setup_dev(true, 1);
	uint8_t *b = aligned_alloc(4096, 4096);
	f->sim.pa_bias = 1ULL << 48;
	assert_int_equal(rw(reg(0), BLK_READ, 0, 1, b), TERN_ERANGE);
	assert_int_equal(f->sim.rejected_dma, 0);
	f->sc.hw.dma_limit = 0;
	assert_int_equal(rw(reg(0), BLK_READ, 0, 1, b), TERN_EIO);
	assert_int_equal(f->sim.rejected_dma, 1);
	f->sim.pa_bias = 0;
	f->sc.hw.dma_limit = 1ULL << 48;
	assert_int_equal(rw(reg(0), BLK_READ, 0, 1, b), TERN_OK);
	free(b);
	teardown_dev(f);
}

/* Write Zeroes (ONCS bit 3): no data pointer, range checked. */
static void
test_write_zeroes(void **st)
{
	struct fix *f = setup_dev(false, 1);
	struct blk_dev *d = reg(0);
	assert_true(d->features & BLK_F_WRITE_ZEROES);
	memset(f->sim.disk[0], 0xab, 8192 * 512);
	assert_int_equal(rw(d, BLK_WRITE_ZEROES, 10, 1000, NULL), TERN_OK);
	assert_int_equal(f->sim.disk[0][10 * 512 - 1], 0xab);
	for (size_t i = 10 * 512; i < 1010 * 512; i++)
		assert_int_equal(f->sim.disk[0][i], 0);
	assert_int_equal(f->sim.disk[0][1010 * 512], 0xab);
	assert_int_equal(rw(d, BLK_WRITE_ZEROES, 8000, 500, NULL), TERN_EINVAL);
	teardown_dev(f);
}

/* CSTS.CFS with writes in flight: reset, resubmit, and every write that
   is acknowledged is on the disk. */
static void
test_fault_cfs_io(void **st)
{
	struct fix *f = setup_dev(true, 1);
	struct blk_dev *d = reg(0);
	uint8_t *b = aligned_alloc(4096, 3 * 4096);
	int done = 0;
	struct blk_req r[3];
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 3; i++) {
		memset(b + i * 4096, 0x30 + i, 4096);
		r[i] = (struct blk_req){ .op = BLK_WRITE, .lba = (uint64_t)i * 8,
			.nblocks = 8, .nsegs = 1, .done = on_done, .ctx = &done };
		r[i].segs[0].va = b + i * 4096;
		r[i].segs[0].len = 4096;
	}
	assert_int_equal(blk_submit(d, 0, &r[0]), TERN_OK);	/* runs */
	f->sim.f_cfs_io = true;
	assert_int_equal(blk_submit(d, 0, &r[1]), TERN_OK);	/* lost */
	assert_int_equal(blk_submit(d, 0, &r[2]), TERN_OK);	/* ignored */
	for (int i = 0; i < 10 && done < 3; i++)
		blk_poll(d, 0);
	assert_int_equal(done, 3);
	assert_int_equal(d->stats.resets, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].status, TERN_OK);
		assert_memory_equal(f->sim.disk[0] + i * 4096, b + i * 4096, 4096);
	}
	/* And the controller keeps working. */
	assert_int_equal(rw(d, BLK_READ, 0, 8, b), TERN_OK);
	assert_int_equal(b[0], 0x30);
	free(b);
	teardown_dev(f);
}

/* MDTS 2 MiB: a transfer whose PRP list fills a whole list page. */
static void
test_large_2mib(void **st)
{
	mdts_override = 9;
	struct fix *f = setup_dev(false, 1);
	mdts_override = 0;
	struct blk_dev *d = reg(0);
	assert_int_equal(d->max_transfer, 2u << 20);
	size_t n = 2u << 20;
	uint8_t *w = aligned_alloc(4096, n), *r = aligned_alloc(4096, n);
	for (size_t i = 0; i < n; i++)
		w[i] = (uint8_t)(i ^ (i >> 12));
	memset(r, 0, n);
	assert_int_equal(rw(d, BLK_WRITE, 17, 4096, w), TERN_OK);
	assert_int_equal(rw(d, BLK_READ, 17, 4096, r), TERN_OK);
	assert_memory_equal(w, r, n);
	assert_memory_equal(f->sim.disk[0] + 17 * 512, w, n);
	free(w);
	free(r);
	teardown_dev(f);
}

/* ---- Queue pairs, MSI-X, Dataset Management, chained PRP lists. ---- */

static void sim_irq(void *ctx, int entry) { nvme_intr(ctx, entry); }

static void
want_three_queues(struct fix *f)
{
	f->sc.want_ioq = 3;
}

/* One pair per CPU: three asked, three created, each CPU uses its own. */
static void
test_queue_per_cpu(void **st)
{
	pre_attach = want_three_queues;
	struct fix *f = setup_dev(false, 1);
	struct blk_dev *d = reg(0);
	assert_int_equal(f->sc.nioq, 3);
	for (int q = 1; q <= 3; q++)
		assert_true(f->sim.sq[q].live && f->sim.cq[q].live);
	assert_false(f->sim.sq[4].live);
	uint8_t *b = aligned_alloc(4096, 4096);
	for (cur_cpu = 0; cur_cpu < 6; cur_cpu++) {
		uint64_t before = f->sim.sq[cur_cpu % 3 + 1].cmds;
		memset(b, (int)(0x40 + cur_cpu), 4096);
		assert_int_equal(rw(d, BLK_WRITE, 8 * cur_cpu, 8, b), TERN_OK);
		assert_int_equal(f->sim.sq[cur_cpu % 3 + 1].cmds, before + 1);
		assert_int_equal(f->sim.disk[0][8 * cur_cpu * 512], 0x40 + cur_cpu);
	}
	cur_cpu = 0;
	free(b);
	teardown_dev(f);
}

static void
grant_two(struct fix *f)
{
	f->sc.want_ioq = 4;
	f->sim.grant_ioq = 2;
}

/* The controller grants fewer pairs than asked: we use what it granted. */
static void
test_queue_grant(void **st)
{
	pre_attach = grant_two;
	struct fix *f = setup_dev(false, 1);
	assert_int_equal(f->sc.nioq, 2);
	assert_false(f->sim.sq[3].live);
	uint8_t *b = aligned_alloc(4096, 4096);
	assert_int_equal(rw(reg(0), BLK_READ, 0, 8, b), TERN_OK);
	free(b);
	teardown_dev(f);
}

static void
msix_two(struct fix *f)
{
	want_three_queues(f);
	f->sc.nvec = 2;
	f->sim.nvec = 2;
	f->sim.irq = sim_irq;
	f->sim.irq_ctx = &f->sc;
}

/* MSI-X: each CQ interrupts on its entry; completions raise the count. */
static void
test_msix(void **st)
{
	pre_attach = msix_two;
	struct fix *f = setup_dev(false, 1);
	struct blk_dev *d = reg(0);
	assert_true(f->sim.cq[1].ien && f->sim.cq[2].ien && f->sim.cq[3].ien);
	assert_int_equal(f->sim.cq[1].iv, 0);
	assert_int_equal(f->sim.cq[2].iv, 1);
	assert_int_equal(f->sim.cq[3].iv, 0);
	assert_int_equal(f->sim.intms, 0);	/* INTMS untouched under MSI-X */
	uint8_t *b = aligned_alloc(4096, 4096);
	for (cur_cpu = 0; cur_cpu < 3; cur_cpu++)
		assert_int_equal(rw(d, BLK_WRITE, 0, 8, b), TERN_OK);
	cur_cpu = 0;
	assert_int_equal(f->sc.intrs, 3);
	assert_int_equal(f->sim.irqs, 3);
	assert_int_equal(d->stats.intrs, 3);
	free(b);
	teardown_dev(f);
}

static void
msix_refused(struct fix *f)
{
	msix_two(f);
	f->sim.f_refuse_ien = true;
}

/* A controller refusing interrupt vectors: polled CQs, I/O still works. */
static void
test_msix_refused(void **st)
{
	pre_attach = msix_refused;
	struct fix *f = setup_dev(false, 1);
	for (int q = 1; q <= 3; q++)
		assert_true(f->sim.cq[q].live && !f->sim.cq[q].ien);
	uint8_t *b = aligned_alloc(4096, 4096);
	memset(b, 0x5a, 4096);
	assert_int_equal(rw(reg(0), BLK_WRITE, 16, 8, b), TERN_OK);
	assert_int_equal(f->sim.disk[0][16 * 512], 0x5a);
	assert_int_equal(f->sc.intrs, 0);
	free(b);
	teardown_dev(f);
}

/* Dataset Management (deallocate) when ONCS offers it. */
static void
test_discard(void **st)
{
	struct fix *f = setup_dev(false, 1);
	struct blk_dev *d = reg(0);
	assert_true(d->features & BLK_F_DISCARD);
	memset(f->sim.disk[0], 0x77, 64 * 512);
	assert_int_equal(rw(d, BLK_DISCARD, 8, 40, NULL), TERN_OK);
	assert_int_equal(f->sim.dsm_ranges, 1);
	for (int i = 0; i < 64 * 512; i++)
		assert_int_equal(f->sim.disk[0][i], (i >= 8 * 512 && i < 48 * 512) ? 0 : 0x77);
	assert_int_equal(d->stats.discards, 1);
	/* Past the end: refused by the driver, the device never sees it. */
	assert_int_equal(rw(d, BLK_DISCARD, 8190, 3, NULL), TERN_EINVAL);
	assert_int_equal(f->sim.dsm_ranges, 1);
	teardown_dev(f);
}

/* MDTS 8 MiB: one transfer needs a PRP list chained over four pool
   pages; it starts mid-page (2049 pages).  Four such requests fit the
   pool at once, a fifth waits for a completion (TERN_EAGAIN). */
static void
test_large_8mib_chained(void **st)
{
	mdts_override = 11;
	struct fix *f = setup_dev(false, 1);
	mdts_override = 0;
	struct blk_dev *d = reg(0);
	assert_int_equal(d->max_transfer, 8u << 20);
	size_t n = 8u << 20;
	/* The disk is 8192 blocks (4 MiB): use a bigger one. */
	nvme_sim_fini(&f->sim);
	f->sim.nsze[0] = 4 * 16384;
	f->sim.disk[0] = calloc(f->sim.nsze[0], 512);
	d->nblocks = f->sim.nsze[0];
	uint8_t *wb = aligned_alloc(4096, n + 4096), *rb = aligned_alloc(4096, n + 4096);
	uint8_t *w = wb + 512, *r = rb + 512;
	for (size_t i = 0; i < n; i++)
		w[i] = (uint8_t)(i * 13 ^ (i >> 11));
	memset(r, 0, n);
	assert_int_equal(rw(d, BLK_WRITE, 5, 16384, w), TERN_OK);
	assert_int_equal(rw(d, BLK_READ, 5, 16384, r), TERN_OK);
	assert_memory_equal(w, r, n);
	assert_memory_equal(f->sim.disk[0] + 5 * 512, w, n);
	assert_int_equal(f->sc.chain_used, 0);

	struct blk_req q[5];
	int done = 0;
	for (int i = 0; i < 5; i++) {
		q[i] = (struct blk_req){ .op = BLK_READ, .lba = (uint64_t)i * 2048, .nblocks = 16384,
			.nsegs = 1, .done = on_done, .ctx = &done };
		q[i].segs[0] = (struct blk_seg){ r, (uint32_t)n };
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(blk_submit(d, 0, &q[i]), TERN_OK);
	assert_int_equal(blk_submit(d, 0, &q[4]), TERN_EAGAIN);
	blk_poll(d, 0);
	assert_int_equal(done, 4);
	assert_int_equal(f->sc.chain_used, 0);
	assert_int_equal(blk_submit(d, 0, &q[4]), TERN_OK);
	blk_poll(d, 0);
	assert_int_equal(done, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(q[i].status, TERN_OK);
	free(wb);
	free(rb);
	teardown_dev(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bringup_plain),
		cmocka_unit_test(test_bringup_amazon),
		cmocka_unit_test(test_io_roundtrip),
		cmocka_unit_test(test_fault_wrong_cid),
		cmocka_unit_test(test_fault_lba_range),
		cmocka_unit_test(test_fault_lost_completion),
		cmocka_unit_test(test_fault_cfs_enable),
		cmocka_unit_test(test_fault_ready_timeout),
		cmocka_unit_test(test_fault_admin_stray_forever),
		cmocka_unit_test(test_fault_io_stray_forever),
		cmocka_unit_test(test_fault_attach_dma_each_step),
		cmocka_unit_test(test_fault_stale_phase),
		cmocka_unit_test(test_cq_wrap),
		cmocka_unit_test(test_dma_49bit),
		cmocka_unit_test(test_large_2mib),
		cmocka_unit_test(test_write_zeroes),
		cmocka_unit_test(test_fault_cfs_io),
		cmocka_unit_test(test_queue_per_cpu),
		cmocka_unit_test(test_queue_grant),
		cmocka_unit_test(test_msix),
		cmocka_unit_test(test_msix_refused),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_large_8mib_chained),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

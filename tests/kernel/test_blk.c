/*
 * test_blk.c - the block interface v2 (kernel/dev/blk.h, kernel/dev/blk.c)
 * with the real registry, through the NVMe simulator (tests/nvme/nvme_sim.c)
 * and the virtio simulator (tests/virtio/virtio_sim.c), both holding
 * completions back so the test releases them in any order, and through a
 * fake device that never completes anything:
 *   - several requests in flight on two NVMe queues, completed out of
 *     order, each queue's poll reaping only its own completions;
 *   - virtio-blk completions out of order;
 *   - done() called exactly once per request, with the device's status,
 *     and never from inside blk_submit (a flush with nothing to flush);
 *   - blk_unregister with requests in flight: each fails TERN_ECANCELED
 *     once, the registry forgets the device, later submits TERN_ENODEV;
 *   - resubmission from done(), and a done() that always resubmits
 *     cannot keep blk_poll from returning;
 *   - blk_rw_sync timing out on the fake clock, naming device and request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/dev/blk.h"
#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "kernel/time.h"
#include "nvme/nvme_var.h"
#include "tests/hw/kstubs.h"
#include "tests/nvme/nvme_sim.h"
#include "tests/virtio/virtio_regnames.h"
#include "tests/virtio/virtio_sim.h"
#include "virtio/virtio_var.h"

/* ---- completion bookkeeping ---- */

#define MAXR 16
static struct blk_req reqs[MAXR];
static int calls[MAXR];		/* done() calls per request */
static int order[64], norder;	/* request indexes in completion order */

static void
on_done(struct blk_req *r, int status)
{
	int i = (int)(r - reqs);
	assert_true(i >= 0 && i < MAXR);
	assert_int_equal(r->status, status);
	assert_int_equal(r->state, BLK_RS_IDLE);	/* the caller's again */
	calls[i]++;
	if (norder < 64)
		order[norder++] = i;
}

static void
reset_book(void)
{
	memset(reqs, 0, sizeof(reqs));
	memset(calls, 0, sizeof(calls));
	norder = 0;
	kstub_reset();
}

static void
set_req(int i, int op, uint64_t lba, uint32_t nblocks, void *buf, uint32_t bs)
{
	reqs[i] = (struct blk_req){ .op = op, .lba = lba, .nblocks = nblocks,
		.done = on_done };
	if (buf != NULL) {
		reqs[i].nsegs = 1;
		reqs[i].segs[0] = (struct blk_seg){ buf, nblocks * bs };
	}
}

/* ---- NVMe fixture: the real registry, two I/O queue pairs ---- */

struct nfix {
	struct nvme_sim sim;
	struct nvme_softc sc;
};

static struct nfix *
nvme_new(uint32_t nioq)
{
	struct nfix *f = calloc(1, sizeof(*f));
	nvme_sim_init(&f->sim, false, 1, 8192);
	strcpy(f->sc.hw.name, "nvme0");
	f->sc.hw.ops = &nvme_sim_ops;
	f->sc.hw.backend = &f->sim;
	f->sc.regs.dev = &f->sc.hw;
	f->sc.want_ioq = nioq;
	assert_int_equal(nvme_attach_core(&f->sc, 0), TERN_OK);
	assert_int_equal(f->sc.nioq, nioq);
	assert_ptr_equal(blk_find("nvme0n1"), &f->sc.ns[0].blk);
	assert_int_equal(f->sc.ns[0].blk.nqueues, nioq);
	return f;
}

static void
nvme_end(struct nfix *f)
{
	struct blk_dev *d = &f->sc.ns[0].blk;
	if (!d->gone)
		assert_int_equal(blk_unregister(d), TERN_OK);
	assert_null(blk_find("nvme0n1"));
	assert_int_equal(blk_inflight(d), 0);
	assert_int_equal(f->sim.ndma, 0);
	nvme_sim_fini(&f->sim);
	free(f);
}

/* Six writes, three per queue, all in flight; the controller completes
   them in an order unrelated to submission, across both queues. */
static void
test_nvme_two_queues_out_of_order(void **st)
{
	reset_book();
	struct nfix *f = nvme_new(2);
	struct blk_dev *d = &f->sc.ns[0].blk;
	uint8_t *buf = aligned_alloc(4096, 6 * 4096);
	f->sim.hold_io = true;
	for (int i = 0; i < 6; i++) {
		memset(buf + i * 4096, 0x10 + i, 4096);
		set_req(i, BLK_WRITE, (uint64_t)i * 8, 8, buf + i * 4096, 512);
		assert_int_equal(blk_submit(d, (uint32_t)i % 2, &reqs[i]), TERN_OK);
		assert_int_equal(reqs[i].queue, i % 2);
	}
	/* A request in flight cannot be submitted again. */
	assert_int_equal(blk_submit(d, 0, &reqs[0]), TERN_EBUSY);
	assert_int_equal(blk_submit(d, 2, &reqs[7]), TERN_EINVAL);
	assert_int_equal(f->sim.nheld, 6);
	assert_int_equal(f->sim.sq[1].cmds, 3);
	assert_int_equal(f->sim.sq[2].cmds, 3);
	assert_int_equal(blk_inflight(d), 6);
	assert_int_equal(d->q[0].inflight, 3);
	/* Nothing completes before the device says so. */
	assert_int_equal(blk_poll(d, 0) + blk_poll(d, 1), 0);
	assert_int_equal(norder, 0);

	/* Command ids are slots: request i is cid i / 2 on queue i % 2. */
	static const int rel[6] = { 5, 2, 1, 4, 0, 3 };
	for (int k = 0; k < 6; k++) {
		int i = rel[k];
		uint16_t sq = (uint16_t)(i % 2 + 1), cid = (uint16_t)(i / 2);
		assert_int_equal(nvme_sim_release(&f->sim, sq, cid), 0);
		/* The other queue's poll does not reap it. */
		assert_int_equal(blk_poll(d, (uint32_t)(i + 1) % 2), 0);
		assert_int_equal(calls[i], 0);
		assert_int_equal(blk_poll(d, (uint32_t)i % 2), 1);
		assert_int_equal(calls[i], 1);
	}
	for (int k = 0; k < 6; k++)
		assert_int_equal(order[k], rel[k]);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(calls[i], 1);
		assert_int_equal(reqs[i].status, TERN_OK);
		assert_memory_equal(f->sim.disk[0] + i * 8 * 512, buf + i * 4096, 4096);
	}
	assert_int_equal(blk_inflight(d), 0);
	/* Polling on finds nothing more: done() stays called once. */
	assert_int_equal(blk_poll(d, 0) + blk_poll(d, 1), 0);
	assert_int_equal(d->stats.writes, 6);
	free(buf);
	nvme_end(f);
}

/* A device completing the same request twice: done() still runs once. */
static void
test_complete_exactly_once(void **st)
{
	reset_book();
	struct nfix *f = nvme_new(1);
	struct blk_dev *d = &f->sc.ns[0].blk;
	uint8_t *buf = aligned_alloc(4096, 4096);
	f->sim.hold_io = true;
	set_req(0, BLK_READ, 0, 8, buf, 512);
	assert_int_equal(blk_submit(d, 0, &reqs[0]), TERN_OK);
	assert_int_equal(nvme_sim_release(&f->sim, 1, 0), 0);
	assert_int_equal(blk_poll(d, 0), 1);
	/* The driver repeating itself (a bug) is caught by blk_complete. */
	blk_complete(d, &reqs[0], TERN_EIO);
	assert_int_equal(calls[0], 1);
	assert_int_equal(reqs[0].status, TERN_OK);
	assert_int_equal(d->stats.bad_completions, 1);
	free(buf);
	nvme_end(f);
}

/* ---- virtio-blk fixture ---- */

struct vfix {
	struct vsim sim;
	struct virtio_blk_softc *sc;
};

static struct vfix *
vblk_new(uint64_t drop_features)
{
	struct vfix *f = calloc(1, sizeof(*f));
	f->sc = calloc(1, sizeof(*f->sc));
	strcpy(f->sc->bus.hw.name, "virtio-blk3");
	vsim_init(&f->sim, VSIM_BLK, &f->sc->bus.hw);
	virtio_qemu_windows(&f->sc->bus, virtio_blk_regnames);
	f->sc->bus.vd.msix = false;
	f->sim.dev_features &= ~drop_features;
	assert_int_equal(virtio_blk_attach_core(f->sc, &f->sc->bus.vd, 3), TERN_OK);
	assert_ptr_equal(blk_find("virtio-blk3"), &f->sc->blk);
	assert_int_equal(blk_nqueues(&f->sc->blk), 1);
	return f;
}

static void
vblk_end(struct vfix *f)
{
	struct blk_dev *d = &f->sc->blk;
	if (!d->gone)
		assert_int_equal(blk_unregister(d), TERN_OK);
	assert_null(blk_find("virtio-blk3"));
	assert_int_equal(blk_inflight(d), 0);
	if (f->sim.violations != 0)
		fail_msg("driver violated the protocol: %s", f->sim.violation);
	assert_int_equal(f->sim.dma_live, 0);
	vsim_fini(&f->sim);
	free(f->sc);
	free(f);
}

static void
test_virtio_out_of_order(void **st)
{
	reset_book();
	struct vfix *f = vblk_new(0);
	struct blk_dev *d = &f->sc->blk;
	uint8_t *buf = malloc(5 * 4096);
	f->sim.hold_blk = true;
	for (int i = 0; i < 5; i++) {
		memset(buf + i * 4096, 0x60 + i, 4096);
		set_req(i, BLK_WRITE, (uint64_t)i * 8, 8, buf + i * 4096, 512);
		assert_int_equal(blk_submit(d, 0, &reqs[i]), TERN_OK);
	}
	assert_int_equal(blk_submit(d, 1, &reqs[6]), TERN_EINVAL);
	assert_int_equal(f->sim.nheld, 5);
	assert_int_equal(blk_poll(d, 0), 0);
	/* Held entries are in submission order; take 3, 0, 4, 1, 2. */
	static const int pick[5] = { 3, 0, 2, 0, 0 };
	static const int want[5] = { 3, 0, 4, 1, 2 };
	for (int k = 0; k < 5; k++) {
		assert_int_equal(vsim_blk_release(&f->sim, pick[k]), 0);
		assert_int_equal(blk_poll(d, 0), 1);
		assert_int_equal(order[k], want[k]);
	}
	for (int i = 0; i < 5; i++) {
		assert_int_equal(calls[i], 1);
		assert_int_equal(reqs[i].status, TERN_OK);
		assert_memory_equal(f->sim.disk + i * 8 * 512, buf + i * 4096, 4096);
	}
	assert_int_equal(blk_inflight(d), 0);
	free(buf);
	vblk_end(f);
}

/* A flush the device never sees (no VIRTIO_BLK_F_FLUSH): done() is not
   called inside blk_submit, but from the next poll. */
static void
test_flush_without_cache_deferred(void **st)
{
	reset_book();
	struct vfix *f = vblk_new(1ULL << VIRTIO_BLK_F_FLUSH);
	struct blk_dev *d = &f->sc->blk;
	assert_false(d->features & BLK_F_FLUSH);
	set_req(0, BLK_FLUSH, 0, 0, NULL, 512);
	set_req(1, BLK_FLUSH, 0, 0, NULL, 512);
	assert_int_equal(blk_submit(d, 0, &reqs[0]), TERN_OK);
	assert_int_equal(blk_submit(d, 0, &reqs[1]), TERN_OK);
	assert_int_equal(calls[0] + calls[1], 0);
	assert_int_equal(blk_inflight(d), 2);
	assert_int_equal(blk_poll(d, 0), 2);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_int_equal(f->sim.flushes, 0);
	/* One still deferred at unregister is delivered, with its status. */
	assert_int_equal(blk_submit(d, 0, &reqs[0]), TERN_OK);
	assert_int_equal(blk_unregister(d), TERN_OK);
	assert_int_equal(calls[0], 2);
	assert_int_equal(reqs[0].status, TERN_OK);
	vblk_end(f);
}

/* ---- unregister with requests in flight ---- */

static int resubmit_rc;
static void
on_done_resubmit_same(struct blk_req *r, int status)
{
	on_done(r, status);
	/* The device is on its way out: this must be refused, not queued. */
	resubmit_rc = blk_submit((struct blk_dev *)r->ctx, 0, r);
}

static void
test_unregister_inflight(void **st)
{
	reset_book();
	struct vfix *v = vblk_new(0);
	struct nfix *n = nvme_new(2);
	struct blk_dev *vd = &v->sc->blk, *nd = &n->sc.ns[0].blk;
	assert_ptr_equal(blk_first(), vd);
	assert_ptr_equal(vd->next_blk, nd);
	uint8_t *buf = aligned_alloc(4096, 8 * 4096);

	/* NVMe: four in flight on two queues, one of them already answered
	   but not yet reaped. */
	n->sim.hold_io = true;
	for (int i = 0; i < 4; i++) {
		set_req(i, BLK_READ, (uint64_t)i * 8, 8, buf + i * 4096, 512);
		assert_int_equal(blk_submit(nd, (uint32_t)i % 2, &reqs[i]), TERN_OK);
	}
	assert_int_equal(nvme_sim_release(&n->sim, 1, 1), 0);	/* request 2 */
	/* virtio: three in flight, one resubmits from its done(). */
	v->sim.hold_blk = true;
	for (int i = 4; i < 7; i++) {
		set_req(i, BLK_WRITE, (uint64_t)i * 8, 8, buf + i * 4096, 512);
		assert_int_equal(blk_submit(vd, 0, &reqs[i]), TERN_OK);
	}
	reqs[6].done = on_done_resubmit_same;
	reqs[6].ctx = vd;

	/* The first disk leaves: the registry is the second alone. */
	assert_int_equal(blk_unregister(vd), TERN_OK);
	assert_ptr_equal(blk_first(), nd);
	assert_null(blk_find("virtio-blk3"));
	assert_null(vd->next_blk);
	for (int i = 4; i < 7; i++) {
		assert_int_equal(calls[i], 1);
		assert_int_equal(reqs[i].status, TERN_ECANCELED);
	}
	assert_int_equal(resubmit_rc, TERN_ENODEV);
	assert_int_equal(blk_inflight(vd), 0);
	assert_int_equal(vd->stats.cancelled, 3);
	assert_non_null(strstr(kstub_log, "virtio-blk3: unregistered with 3 requests in flight: "
	    "3 cancelled"));
	assert_int_equal(blk_submit(vd, 0, &reqs[4]), TERN_ENODEV);
	assert_int_equal(blk_poll(vd, 0), 0);
	assert_int_equal(blk_unregister(vd), TERN_ENOENT);

	/* NVMe leaves too: the answered one could be reaped but was not;
	   the controller is shut down first, so every one fails the same. */
	assert_int_equal(blk_unregister(nd), TERN_OK);
	assert_null(blk_first());
	for (int i = 0; i < 4; i++) {
		assert_int_equal(calls[i], 1);
		assert_int_equal(reqs[i].status, TERN_ECANCELED);
	}
	assert_int_equal(nd->stats.cancelled, 4);
	assert_int_equal(blk_submit(nd, 0, &reqs[0]), TERN_ENODEV);
	assert_int_equal(norder, 7);
	free(buf);
	nvme_end(n);
	vblk_end(v);
}

/* ---- resubmission from done() ---- */

static int chain_left;
static struct blk_dev *chain_dev;

/* Read on: each completion submits the next 8 blocks until none left. */
static void
on_done_chain(struct blk_req *r, int status)
{
	on_done(r, status);
	if (status != TERN_OK || chain_left == 0)
		return;
	chain_left--;
	r->lba += 8;
	assert_int_equal(blk_submit(chain_dev, r->queue, r), TERN_OK);
}

static void
resubmit_chain(struct blk_dev *d, uint32_t q, uint32_t depth)
{
	uint8_t *buf = aligned_alloc(4096, 4096);
	chain_dev = d;
	chain_left = 20;
	set_req(0, BLK_READ, 0, 8, buf, 512);
	reqs[0].done = on_done_chain;
	assert_int_equal(blk_submit(d, q, &reqs[0]), TERN_OK);
	int polls = 0;
	while (calls[0] < 21 && polls++ < 100) {
		int n = blk_poll(d, q);
		assert_true(n >= 0 && (uint32_t)n <= depth);
	}
	assert_int_equal(calls[0], 21);
	assert_int_equal(reqs[0].lba, 160);
	assert_int_equal(reqs[0].state, BLK_RS_IDLE);
	assert_int_equal(blk_inflight(d), 0);
	free(buf);
}

/* Always resubmits: each poll must still come back. */
static void
on_done_forever(struct blk_req *r, int status)
{
	on_done(r, status);
	if (status == TERN_OK)
		blk_submit(chain_dev, r->queue, r);
}

static void
resubmit_forever(struct blk_dev *d, uint32_t q, uint32_t depth)
{
	uint8_t *buf = aligned_alloc(4096, 4096);
	memset(calls, 0, sizeof(calls));
	chain_dev = d;
	set_req(1, BLK_READ, 0, 8, buf, 512);
	reqs[1].done = on_done_forever;
	assert_int_equal(blk_submit(d, q, &reqs[1]), TERN_OK);
	for (int k = 0; k < 3; k++) {
		int n = blk_poll(d, q);
		assert_true(n >= 1 && (uint32_t)n <= depth);
	}
	/* Unregister ends the loop: the last one is cancelled, and its
	   done()'s resubmission refused. */
	assert_int_equal(blk_unregister(d), TERN_OK);
	assert_int_equal(reqs[1].status, TERN_ECANCELED);
	assert_int_equal(reqs[1].state, BLK_RS_IDLE);
	free(buf);
}

static void
test_resubmit_from_done_nvme(void **st)
{
	reset_book();
	struct nfix *f = nvme_new(2);
	struct blk_dev *d = &f->sc.ns[0].blk;
	resubmit_chain(d, 1, NVME_IOQ_DEPTH);
	assert_int_equal(f->sim.sq[2].cmds, 21);
	assert_int_equal(f->sim.sq[1].cmds, 0);
	resubmit_forever(d, 0, NVME_IOQ_DEPTH);
	nvme_end(f);
}

static void
test_resubmit_from_done_virtio(void **st)
{
	reset_book();
	struct vfix *f = vblk_new(0);
	struct blk_dev *d = &f->sc->blk;
	resubmit_chain(d, 0, VBLK_SLOTS);
	assert_int_equal(f->sim.reads, 21);
	resubmit_forever(d, 0, VBLK_SLOTS);
	vblk_end(f);
}

/* ---- blk_rw_sync on a device that never completes ---- */

struct fake {
	struct blk_dev blk;
	struct blk_req *held;
	int submits, polls;
	bool answer;		/* poll completes what it holds */
};

static int
fake_submit(struct blk_dev *d, uint32_t q, struct blk_req *r)
{
	struct fake *f = d->sc;
	f->submits++;
	if (f->held != NULL)
		return TERN_EAGAIN;
	f->held = r;
	return TERN_OK;
}

static int
fake_poll(struct blk_dev *d, uint32_t q)
{
	struct fake *f = d->sc;
	f->polls++;
	if (!f->answer || f->held == NULL)
		return 0;
	struct blk_req *r = f->held;
	f->held = NULL;
	blk_complete(d, r, TERN_OK);
	return 1;
}

static void
fake_detach(struct blk_dev *d)
{
	struct fake *f = d->sc;
	if (f->held != NULL) {
		struct blk_req *r = f->held;
		f->held = NULL;
		blk_complete(d, r, TERN_ECANCELED);
	}
}

static const struct blk_ops fake_ops = { fake_submit, fake_poll, fake_detach };

static void
fake_init(struct fake *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->blk.name, name);
	f->blk.block_size = 512;
	f->blk.nblocks = 1024;
	f->blk.nqueues = 1;
	f->blk.queue_depth = 1;
	f->blk.ops = &fake_ops;
	f->blk.sc = f;
	assert_int_equal(blk_register(&f->blk), TERN_OK);
	assert_int_equal(blk_register(&f->blk), TERN_EEXIST);
}

static void
test_rw_sync_timeout(void **st)
{
	reset_book();
	static struct fake f, g;
	uint8_t buf[1024];
	fake_init(&f, "stuck0");
	fake_init(&g, "fine1");
	g.answer = true;

	uint64_t t0 = kstub_now_ns;
	assert_int_equal(blk_rw_sync(&f.blk, BLK_READ, 5, 2, buf, 250), TERN_ETIMEDOUT);
	uint64_t waited = kstub_now_ns - t0;
	assert_true(waited >= 250000000ULL && waited <= 260000000ULL);
	assert_true(f.polls >= 240);
	/* The line names the device, the queue, the operation and the
	   request it waited for. */
	char want[160];
	ksnprintf(want, sizeof(want), "stuck0: queue 0: read of 2 blocks at LBA 5 (request %p) "
	    "did not complete in 250 ms", (void *)f.held);
	assert_non_null(strstr(kstub_log, want));
	assert_int_equal(blk_inflight(&f.blk), 1);

	/* Its request is still the driver's: the next sync call, on any
	   device, is refused without reaching a device. */
	kstub_reset();
	assert_int_equal(blk_rw_sync(&g.blk, BLK_WRITE, 0, 1, buf, 250), TERN_EBUSY);
	assert_int_equal(g.submits, 0);
	assert_int_equal(f.submits, 1);
	assert_non_null(strstr(kstub_log, "stuck0: sync request"));

	/* Once the stuck device answers, sync I/O works again. */
	f.answer = true;
	assert_int_equal(blk_rw_sync(&g.blk, BLK_WRITE, 0, 1, buf, 250), TERN_OK);
	assert_int_equal(g.submits, 1);
	assert_int_equal(blk_inflight(&f.blk), 0);

	/* A sync request cut off by unregister is cancelled, not lost. */
	f.answer = false;
	assert_int_equal(blk_rw_sync(&f.blk, BLK_READ, 0, 1, buf, 10), TERN_ETIMEDOUT);
	assert_int_equal(blk_unregister(&f.blk), TERN_OK);
	assert_int_equal(f.blk.stats.cancelled, 1);
	assert_int_equal(blk_rw_sync(&g.blk, BLK_READ, 0, 1, buf, 250), TERN_OK);
	blk_shutdown_all();
	assert_null(blk_first());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nvme_two_queues_out_of_order),
		cmocka_unit_test(test_complete_exactly_once),
		cmocka_unit_test(test_virtio_out_of_order),
		cmocka_unit_test(test_flush_without_cache_deferred),
		cmocka_unit_test(test_unregister_inflight),
		cmocka_unit_test(test_resubmit_from_done_nvme),
		cmocka_unit_test(test_resubmit_from_done_virtio),
		cmocka_unit_test(test_rw_sync_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

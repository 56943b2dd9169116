/*
 * test_storvsc.c - the storvsc driver (vmbus/storvsc*.c, PROTOCOLS.md
 * B.13) against hv_sim with the storvsc VSP (storvsc_vsp.c): bring-up
 * through the driver model and the marker, VSTOR version fallback and
 * refusal, LUN discovery, write/read/flush round trips of several sizes
 * (multi-page, unaligned, several in flight), FUA, and every fault the VSP
 * offers: SCSI errors with sense, UNIT ATTENTION and BUSY (bounded
 * retries; the BUSY back-off timed on the simulator's clock, which is the
 * driver's hw_now_ns), short and over-long transfers, unknown completion
 * ids, a host that does not answer, rescind with requests in flight, DMA
 * allocation failures at every countdown.  Several LUNs on one
 * controller: each its own disk with distinct data (completions routed
 * to their LUN's request), a limit of 16, detach / rescind / power-off
 * with requests on several disks, and rescans on ENUMERATE_BUS adding and
 * removing disks.  Each test ends with no host protocol
 * error (unless expected), no leaked guest memory and no disk left in
 * the block registry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/dev/blk.h"
#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "tests/hw/hw_fault.h"
#include "tests/hw/kstubs.h"
#include "tests/vmbus/hv_sim.h"
#include "tests/vmbus/storvsc_vsp.h"
#include "vmbus/storvsc_var.h"
#include "vmbus/vmbus_var.h"

#define RELID	15
#define CONN	0x2f
#define BS	512
#define NBLK	8192		/* 4 MiB */

struct fx {
	struct hv_sim s;
	struct hv hv;
	struct hw_dma hcpage;
	struct vmbus vb;
	struct storvsc_vsp v;
	bool expect_errors;
};

static const struct driver *const table[] = { &storvsc_driver, NULL };

static int softcs_live;
static void *tzalloc(size_t n) { softcs_live++; return calloc(1, n); }
static void tfree(void *p) { if (p != NULL) softcs_live--; free(p); }

static int
fx_setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	hv_sim_init(&f->s);
	hv_sim_offer(&f->s, hv_sim_guid_storvsc, 2, RELID, CONN);
	f->hv.read_tsc = hv_sim_read_tsc;
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &f->hcpage), 0);
	assert_int_equal(hv_hypercall_enable(&f->hv, f->hcpage.pa), TERN_OK);
	assert_int_equal(hv_synic_init(&f->hv, 0x41), TERN_OK);
	f->vb.bus.zalloc = tzalloc;
	f->vb.bus.free = tfree;
	storvsc_vsp_init(&f->v, &f->s, RELID, BS, NBLK);
	kstub_reset();
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	if (f->vb.connected) {
		f->s.f_mute = false;
		f->v.f_mute_io = false;
		vmbus_unload(&f->vb);
	}
	vmbus_fini(&f->vb);
	hv_synic_fini(&f->hv);
	hv_hypercall_disable(&f->hv);
	hw_dma_free(&f->s.dev, &f->hcpage);
	assert_null(blk_first());
	int leaked = hv_sim_fini(&f->s);
	int errs = hv_sim_error_count(&f->s);
	bool expect = f->expect_errors;
	char first[160];
	memcpy(first, f->s.err[0], sizeof(first));
	storvsc_vsp_fini(&f->v);
	test_free(f);
	if (!expect && errs != 0)
		fail_msg("host saw %d protocol errors, first: %s", errs, first);
	assert_int_equal(leaked, 0);
	assert_int_equal(softcs_live, 0);
	return 0;
}

static struct vmbus_chan *
chan(struct fx *f)
{
	for (uint32_t i = 0; i < f->vb.nchans; i++)
		if (f->vb.ch[i].state != VMBUS_CH_FREE && f->vb.ch[i].relid == RELID)
			return &f->vb.ch[i];
	return NULL;
}

static struct storvsc_softc *
probe(struct fx *f)
{
	assert_int_equal(vmbus_probe(&f->vb, table), 1);
	struct vmbus_chan *ch = chan(f);
	assert_non_null(ch);
	assert_non_null(ch->dev.softc);
	return ch->dev.softc;
}

/* Guest memory for data (the host accepts only what dma_alloc gave). */
static uint8_t *
gmem(struct fx *f, size_t len, struct hw_dma *d)
{
	assert_int_equal(hw_dma_alloc(&f->s.dev, len, 4096, d), 0);
	return d->va;
}

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131u + seed * 7u + (i >> 9)) ^ seed);
}

/* ---- bring-up ---------------------------------------------------------- */

static void
test_bringup_marker(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	assert_non_null(strstr(kstub_markers,
	    "TERN BLK name=sda driver=storvsc relid=15 lun=0 sectors=8192 bsize=512 fua=1 wce=1 vstor=6.2"));
	assert_int_equal(f->v.version, VSTOR_V_WIN10);
	assert_int_equal(f->v.state, 4);
	assert_int_equal(f->v.nversions, 1);
	assert_ptr_equal(blk_find("sda"), &sc->luns[0].blk);
	assert_int_equal(sc->luns[0].blk.nblocks, NBLK);
	assert_int_equal(sc->luns[0].blk.block_size, BS);
	assert_int_equal(sc->luns[0].blk.features, BLK_F_FLUSH | BLK_F_FUA);
	assert_int_equal(sc->luns[0].blk.max_transfer, STORVSC_MAX_XFER);
	assert_string_equal(sc->luns[0].product, "Virtual Disk");
}

static void
test_version_fallback(void **state)
{
	struct fx *f = *state;
	f->v.ver_max = VSTOR_V_WIN8;
	struct storvsc_softc *sc = probe(f);
	assert_int_equal(f->v.nversions, 3);
	assert_int_equal(f->v.versions_asked[0], VSTOR_V_WIN10);
	assert_int_equal(f->v.versions_asked[1], VSTOR_V_WIN8_1);
	assert_int_equal(f->v.versions_asked[2], VSTOR_V_WIN8);
	assert_int_equal(sc->version, VSTOR_V_WIN8);
	assert_non_null(strstr(kstub_markers, "vstor=5.1"));
}

static void
test_version_refused(void **state)
{
	struct fx *f = *state;
	f->v.ver_max = VSTOR_V_WIN7;
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_int_equal(f->v.nversions, 3);
	assert_null(blk_first());
	assert_true(kstub_logged("none of VSTOR 6.2, 6.0, 5.1"));
	/* The channel was closed again. */
	assert_false(hv_sim_chan(&f->s, RELID)->open);
}

static void
test_init_step_refused(void **state)
{
	static const uint32_t ops[] = { VSTOR_OP_BEGIN_INIT, VSTOR_OP_QUERY_PROPERTIES,
	    VSTOR_OP_END_INIT };
	struct fx *f = *state;
	for (size_t i = 0; i < 3; i++) {
		f->v.state = 0;
		f->v.f_refuse_op = ops[i];
		assert_int_equal(vmbus_probe(&f->vb, table), 0);
		assert_null(blk_first());
		assert_false(hv_sim_chan(&f->s, RELID)->open);
	}
	/* The VSP's state machine objects to a handshake restarted on a
	   reopened channel only if the guest skipped a step; it did not. */
}

static void
test_init_no_answer(void **state)
{
	struct fx *f = *state;
	f->v.f_mute_op = VSTOR_OP_BEGIN_INIT;
	uint64_t t0 = f->s.now_ns;
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_true(kstub_logged("no answer to BEGIN_INITIALIZATION after 5000 ms"));
	/* Bounded: about 5 s of (virtual) host time, not more. */
	assert_true(f->s.now_ns - t0 >= 5000000000ull);
	assert_true(f->s.now_ns - t0 < 6000000000ull);
	assert_null(blk_first());
}

static void
test_discovery_skips_cdrom(void **state)
{
	struct fx *f = *state;
	f->v.lun = 3;
	f->v.extra_cdrom_lun = true;	/* LUN 4, a CD-ROM, listed first */
	struct storvsc_softc *sc = probe(f);
	assert_int_equal(sc->luns[0].lun, 3);
	assert_non_null(strstr(kstub_markers, "lun=3 sectors=8192"));
	assert_true(kstub_logged("lun 4 is type 0x05"));
}

static void
test_report_luns_fails(void **state)
{
	struct fx *f = *state;
	f->v.report_luns_fails = true;
	struct storvsc_softc *sc = probe(f);
	assert_int_equal(sc->luns[0].lun, 0);
	assert_true(kstub_logged("REPORT LUNS failed (enotsup); trying LUN 0"));
}

static void
test_no_disk_lun(void **state)
{
	struct fx *f = *state;
	f->v.report_luns_fails = true;
	f->v.lun = 2;
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_true(kstub_logged("no disk among 1 LUNs"));
	assert_null(blk_first());
}

static void
test_mode_sense_fails(void **state)
{
	struct fx *f = *state;
	f->v.mode_sense_fails = true;
	struct storvsc_softc *sc = probe(f);
	/* Safe side: no FUA, the cache assumed on (flush goes to the disk). */
	assert_int_equal(sc->luns[0].blk.features, BLK_F_FLUSH);
	assert_non_null(strstr(kstub_markers, "fua=0 wce=1"));
}


static void
test_discovery_unit_attention(void **state)
{
	struct fx *f = *state;
	f->v.f_ua_inquiry = 2;		/* the first commands after a reset */
	struct storvsc_softc *sc = probe(f);
	assert_int_equal(sc->luns[0].lun, 0);
	assert_int_equal(f->v.f_ua_inquiry, 0);
}

/* BUSY during discovery: resent after 1 ms, then 2 ms (a bounded wait
   inside the synchronous discovery), and the disk attaches. */
static void
test_discovery_busy(void **state)
{
	struct fx *f = *state;
	f->v.f_busy_inquiry = 2;
	uint64_t t0 = f->s.now_ns;
	struct storvsc_softc *sc = probe(f);
	assert_int_equal(f->v.f_busy_inquiry, 0);
	assert_int_equal(sc->luns[0].lun, 0);
	assert_true(f->s.now_ns - t0 >= 3000000ull);
	assert_true(f->s.now_ns - t0 < 4000000ull);
}

static void
test_bad_capacity(void **state)
{
	struct fx *f = *state;
	f->v.rcap_bsize = 520;		/* not a power of two */
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_true(kstub_logged("block 520 rejected"));
	assert_null(blk_first());
}

static void
test_write_protected(void **state)
{
	struct fx *f = *state;
	f->v.write_protect = true;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 4096, &d);
	assert_true(sc->luns[0].blk.features & BLK_F_RO);
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_WRITE, 0, 8, buf, 1000), TERN_ENOTSUP);
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 8, buf, 1000), TERN_OK);
	assert_int_equal(f->v.writes, 0);
	hw_dma_free(&f->s.dev, &d);
}

/* The host's view shrinks under the guest: LBA OUT OF RANGE is ERANGE;
   the LUN going away is ENODEV. */
static void
test_range_and_lun_errors(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 4096, &d);
	f->v.nblocks = NBLK / 2;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, NBLK - 8, 8, buf, 1000), TERN_ERANGE);
	assert_int_equal(sc->last_sense.key, SCSI_KEY_ILLEGAL_REQUEST);
	assert_int_equal(sc->last_sense.asc, SCSI_ASC_LBA_OUT_OF_RANGE);
	f->v.nblocks = NBLK;
	f->v.lun = 5;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 8, buf, 1000), TERN_ENODEV);
	f->v.lun = 0;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 8, buf, 1000), TERN_OK);
	hw_dma_free(&f->s.dev, &d);
}

/* ---- data path --------------------------------------------------------- */

static void
test_roundtrip_sizes(void **state)
{
	static const uint32_t sizes[] = { 1, 7, 8, 9, 33, 128, 512 };
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma wd, rd;
	uint8_t *w = gmem(f, 512 * BS + 8192, &wd);
	uint8_t *r = gmem(f, 512 * BS + 8192, &rd);
	uint64_t lba = 3;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t n = sizes[i];
		/* Odd sizes start inside a page: a range with an offset. */
		uint8_t *wp = w + (n & 1 ? 512 : 0), *rp = r + (n & 1 ? 1536 : 0);
		fill(wp, (size_t)n * BS, (uint32_t)i + 1);
		memset(rp, 0xee, (size_t)n * BS);
		assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_WRITE, lba, n, wp, 1000), TERN_OK);
		assert_memory_equal(f->v.disk + lba * BS, wp, (size_t)n * BS);
		assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, lba, n, rp, 1000), TERN_OK);
		assert_memory_equal(rp, wp, (size_t)n * BS);
		lba += n + 5;
	}
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_FLUSH, 0, 0, NULL, 1000), TERN_OK);
	assert_int_equal(f->v.flushes, 1);
	/* 512 blocks at offset 0: 64 pages; 33 blocks at 512: 5 pages. */
	assert_int_equal(f->v.max_pfns, 64);
	assert_int_equal(sc->luns[0].blk.stats.writes, 7);
	assert_int_equal(sc->luns[0].blk.stats.reads, 7);
	assert_int_equal(sc->luns[0].blk.stats.flushes, 1);
	/* The last LBA is reachable, one past it is refused at submit. */
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, NBLK - 1, 1, r, 1000), TERN_OK);
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, NBLK, 1, r, 1000), TERN_EINVAL);
	/* Past max_transfer: refused, never shortened. */
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 513, r, 1000), TERN_EINVAL);
	hw_dma_free(&f->s.dev, &wd);
	hw_dma_free(&f->s.dev, &rd);
}

struct cnt {
	int done, ok, canceled, other;
	int last;
};

static void
cnt_done(struct blk_req *r, int status)
{
	struct cnt *c = r->ctx;
	c->done++;
	c->last = status;
	if (status == TERN_OK)
		c->ok++;
	else if (status == TERN_ECANCELED)
		c->canceled++;
	else
		c->other++;
}

static void
setup_req(struct blk_req *r, int op, uint64_t lba, uint32_t n, void *buf, struct cnt *c)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->lba = lba;
	r->nblocks = n;
	if (buf != NULL) {
		r->nsegs = 1;
		r->segs[0].va = buf;
		r->segs[0].len = n * BS;
	}
	r->done = cnt_done;
	r->ctx = c;
}

/* One request on d, polled to completion while the host clock (the
   driver's clock, hw_now_ns) moves step_ns per poll; at most 100000
   polls.  The result, or TERN_ETIMEDOUT. */
static int
rw_clock(struct fx *f, struct blk_dev *d, int op, uint64_t lba, uint32_t n,
    void *buf, uint64_t step_ns)
{
	struct blk_req r;
	struct cnt c = { 0 };
	setup_req(&r, op, lba, n, buf, &c);
	if (buf != NULL)
		r.segs[0].len = n * d->block_size;
	int rc = blk_submit(d, 0, &r);
	if (rc != TERN_OK)
		return rc;
	for (int k = 0; k < 100000 && c.done == 0; k++) {
		blk_poll(d, 0);
		if (c.done == 0)
			f->s.now_ns += step_ns;
	}
	if (c.done == 0) {
		/* Still the driver's: cancel it before r goes out of scope. */
		vmbus_unload(&f->vb);
		return TERN_ETIMEDOUT;
	}
	return c.last;
}

static void
test_many_in_flight(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 16 * 8 * BS, &d);
	static struct blk_req rq[16];
	struct cnt c = { 0 };

	f->v.f_hold = true;
	for (int i = 0; i < 16; i++) {
		fill(buf + i * 8 * BS, 8 * BS, 100u + (uint32_t)i);
		setup_req(&rq[i], BLK_WRITE, (uint64_t)i * 16, 8, buf + i * 8 * BS, &c);
		assert_int_equal(blk_submit(&sc->luns[0].blk, 0, &rq[i]), TERN_OK);
	}
	assert_int_equal(f->v.nhold, 16);
	assert_int_equal(blk_inflight(&sc->luns[0].blk), 16);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), 0);
	assert_int_equal(storvsc_vsp_release(&f->v, 5), 5);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), 5);
	assert_int_equal(storvsc_vsp_release(&f->v, -1), 11);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), 11);
	assert_int_equal(c.ok, 16);
	assert_int_equal(f->v.max_inflight, 16);
	for (int i = 0; i < 16; i++)
		assert_memory_equal(f->v.disk + (size_t)i * 16 * BS, buf + i * 8 * BS, 8 * BS);
	/* A full table says EAGAIN, nothing is lost. */
	static struct blk_req more[STORVSC_QDEPTH + 1];
	for (int i = 0; i <= STORVSC_QDEPTH; i++) {
		setup_req(&more[i], BLK_READ, 0, 1, buf, &c);
		int rc = blk_submit(&sc->luns[0].blk, 0, &more[i]);
		assert_int_equal(rc, i < STORVSC_QDEPTH ? TERN_OK : TERN_EAGAIN);
	}
	storvsc_vsp_release(&f->v, -1);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), STORVSC_QDEPTH);
	assert_int_equal(c.ok, 16 + STORVSC_QDEPTH);
	hw_dma_free(&f->s.dev, &d);
}

static void
test_multi_segment(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 6 * 4096, &d);
	struct blk_req r;
	struct cnt c = { 0 };

	/* Two page-aligned segments (first ends on a page): one range. */
	fill(buf, 6 * 4096, 9);
	setup_req(&r, BLK_WRITE, 100, 16, NULL, &c);
	r.nsegs = 2;
	r.segs[0].va = buf + 1024;
	r.segs[0].len = 3072;
	r.segs[1].va = buf + 3 * 4096;
	r.segs[1].len = 5120;
	assert_int_equal(blk_submit(&sc->luns[0].blk, 0, &r), TERN_OK);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), 1);
	assert_int_equal(c.ok, 1);
	assert_memory_equal(f->v.disk + 100 * BS, buf + 1024, 3072);
	assert_memory_equal(f->v.disk + 100 * BS + 3072, buf + 3 * 4096, 5120);
	/* A gap inside a page cannot be one range: refused, not corrupted. */
	r.segs[1].va = buf + 3 * 4096 + 512;
	r.segs[1].len = 5120;
	assert_int_equal(blk_submit(&sc->luns[0].blk, 0, &r), TERN_EINVAL);
	hw_dma_free(&f->s.dev, &d);
}

static void
test_flush_and_fua(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 4096, &d);
	struct blk_req r;
	struct cnt c = { 0 };

	setup_req(&r, BLK_WRITE, 7, 8, buf, &c);
	r.flags = BLK_REQ_FUA;
	assert_int_equal(blk_submit(&sc->luns[0].blk, 0, &r), TERN_OK);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), 1);
	assert_int_equal(c.ok, 1);
	assert_int_equal(f->v.fua_writes, 1);
	setup_req(&r, BLK_FLUSH, 0, 0, NULL, &c);
	assert_int_equal(blk_submit(&sc->luns[0].blk, 0, &r), TERN_OK);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), 1);
	assert_int_equal(f->v.flushes, 1);
	hw_dma_free(&f->s.dev, &d);
}

static void
test_no_fua_no_cache(void **state)
{
	struct fx *f = *state;
	f->v.dpofua = false;
	f->v.wce = false;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 4096, &d);
	struct blk_req r;
	struct cnt c = { 0 };

	assert_int_equal(sc->luns[0].blk.features, 0);
	setup_req(&r, BLK_WRITE, 7, 8, buf, &c);
	r.flags = BLK_REQ_FUA;
	assert_int_equal(blk_submit(&sc->luns[0].blk, 0, &r), TERN_ENOTSUP);
	/* No volatile cache: a flush completes without the host. */
	setup_req(&r, BLK_FLUSH, 0, 0, NULL, &c);
	assert_int_equal(blk_submit(&sc->luns[0].blk, 0, &r), TERN_OK);
	assert_int_equal(c.done, 0);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), 1);
	assert_int_equal(c.ok, 1);
	assert_int_equal(f->v.flushes, 0);
	hw_dma_free(&f->s.dev, &d);
}

/* ---- faults -------------------------------------------------------------- */

static void
test_medium_error_sense(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 8192, &d);

	f->v.f_medium_error_lba = 21;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 16, 8, buf, 1000), TERN_EIO);
	assert_int_equal(sc->last_sense.key, SCSI_KEY_MEDIUM_ERROR);
	assert_int_equal(sc->last_sense.asc, 0x11);
	assert_int_equal(sc->last_sense.lba, 16);
	assert_true(kstub_logged("sense key 0x3 (medium-error) asc 0x11"));
	assert_int_equal(sc->st.sense_errors, 1);
	assert_int_equal(sc->luns[0].blk.stats.errors, 1);
	/* Not retried: one SRB for it.  Neighbours still work. */
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 22, 8, buf, 1000), TERN_OK);
	hw_dma_free(&f->s.dev, &d);
}

static void
test_unit_attention_once(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 4096, &d);

	fill(buf, 4096, 5);
	f->v.f_unit_attention = 1;
	uint64_t before = f->v.srbs;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_WRITE, 40, 8, buf, 1000), TERN_OK);
	assert_int_equal(f->v.srbs - before, 2);
	assert_int_equal(sc->st.retries_ua, 1);
	assert_memory_equal(f->v.disk + 40 * BS, buf, 4096);
	hw_dma_free(&f->s.dev, &d);
}

static void
test_busy_bounded(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 4096, &d);

	f->v.f_busy = 3;
	assert_int_equal(rw_clock(f, &sc->luns[0].blk, BLK_READ, 0, 8, buf, 100000), TERN_OK);
	assert_int_equal(sc->st.retries_busy, 3);
	f->v.f_busy = 1000;
	uint64_t before = f->v.srbs;
	assert_int_equal(rw_clock(f, &sc->luns[0].blk, BLK_READ, 0, 8, buf, 100000), TERN_EIO);
	assert_int_equal(f->v.srbs - before, 1 + STORVSC_RETRIES);
	assert_int_equal(sc->st.retry_exhausted, 1);
	assert_true(kstub_logged("still busy after 5 retries"));
	/* UNIT ATTENTION forever: the same bound. */
	f->v.f_busy = 0;
	f->v.f_unit_attention = 1000;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_FLUSH, 0, 0, NULL, 1000), TERN_EIO);
	assert_int_equal(sc->st.retry_exhausted, 2);
	hw_dma_free(&f->s.dev, &d);
}

static void
test_transfer_length_checked(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 8192, &d);

	f->v.f_short = 1;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 16, buf, 1000), TERN_EIO);
	assert_int_equal(sc->st.short_xfers, 1);
	assert_true(kstub_logged("short transfer, 7680 of 8192 bytes"));
	f->v.f_overrun_claim = 1;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_WRITE, 0, 16, buf, 1000), TERN_EIO);
	assert_int_equal(sc->st.overruns, 1);
	/* DATA_OVERRUN with the whole length moved is a success (B.13). */
	f->v.f_overrun_full = 1;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 16, buf, 1000), TERN_OK);
	assert_int_equal(sc->st.overrun_full, 1);
	f->v.f_bad_status = 1;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 16, buf, 1000), TERN_EIO);
	assert_int_equal(sc->st.vstor_errors, 1);
	assert_int_equal(sc->luns[0].blk.stats.errors, 3);
	hw_dma_free(&f->s.dev, &d);
}

static void
test_unknown_ids(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 4096, &d);

	f->v.f_unknown_id = 2;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 8, buf, 1000), TERN_OK);
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_WRITE, 0, 8, buf, 1000), TERN_OK);
	assert_int_equal(sc->st.unknown_ids, 2);
	assert_int_equal(sc->luns[0].blk.stats.bad_completions, 2);
	assert_int_equal(sc->luns[0].blk.stats.reads, 1);
	assert_int_equal(sc->luns[0].blk.stats.writes, 1);
	/* A host packet with trans_id 0 claiming COMPLETE_IO is dropped. */
	struct vstor_packet vp = { .operation = VSTOR_OP_COMPLETE_IO };
	assert_int_equal(hv_sim_chan_send(&f->s, hv_sim_chan(&f->s, RELID),
	    VMBUS_PKT_COMP, 0, 0, &vp, sizeof(vp)), 0);
	vp.operation = VSTOR_OP_ENUMERATE_BUS;
	assert_int_equal(hv_sim_chan_send(&f->s, hv_sim_chan(&f->s, RELID),
	    VMBUS_PKT_DATA_INBAND, 0, 0, &vp, sizeof(vp)), 0);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), 0);
	assert_int_equal(sc->st.unsolicited, 2);
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 8, buf, 1000), TERN_OK);
	hw_dma_free(&f->s.dev, &d);
}

static void
test_io_no_answer(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 4096, &d);

	f->v.f_mute_io = true;
	assert_int_equal(blk_rw_sync(&sc->luns[0].blk, BLK_READ, 0, 8, buf, 200), TERN_ETIMEDOUT);
	assert_int_equal(blk_inflight(&sc->luns[0].blk), 1);
	/* The driver keeps waiting (B.13: never give up) and says so once. */
	f->s.now_ns += 31000000000ull;
	blk_poll(&sc->luns[0].blk, 0);
	blk_poll(&sc->luns[0].blk, 0);
	assert_int_equal(sc->luns[0].blk.stats.timeouts_logged, 1);
	assert_true(kstub_logged("unanswered for 31 s"));
	/* Unload cancels it; the buffer is the caller's again. */
	vmbus_unload(&f->vb);
	assert_true(kstub_logged("sda: unregistered with 1 requests in flight: 1 cancelled"));
	hw_dma_free(&f->s.dev, &d);
}

static void
test_rescind_in_flight(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 8 * 4096, &d);
	static struct blk_req rq[8];
	struct cnt c = { 0 };

	f->v.f_hold = true;
	for (int i = 0; i < 8; i++) {
		setup_req(&rq[i], i & 1 ? BLK_READ : BLK_WRITE, (uint64_t)i * 8, 8,
		    buf + i * 4096, &c);
		assert_int_equal(blk_submit(&sc->luns[0].blk, 0, &rq[i]), TERN_OK);
	}
	storvsc_vsp_release(&f->v, 2);
	assert_int_equal(blk_poll(&sc->luns[0].blk, 0), 2);
	hv_sim_rescind(&f->s, RELID);
	vmbus_poll(&f->vb);
	assert_int_equal(c.ok, 2);
	assert_int_equal(c.canceled, 6);
	assert_int_equal(c.other, 0);
	assert_null(blk_find("sda"));
	assert_true(kstub_logged("6 cancelled"));
	/* The held completions can no longer be delivered. */
	assert_int_equal(storvsc_vsp_release(&f->v, -1), 0);
	assert_int_equal(softcs_live, 0);
	hw_dma_free(&f->s.dev, &d);
}

static void
test_detach_in_flight(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct hw_dma d;
	uint8_t *buf = gmem(f, 4096, &d);
	static struct blk_req rq[4];
	struct cnt c = { 0 };

	f->v.f_hold = true;
	for (int i = 0; i < 4; i++) {
		setup_req(&rq[i], BLK_READ, 0, 8, buf, &c);
		assert_int_equal(blk_submit(&sc->luns[0].blk, 0, &rq[i]), TERN_OK);
	}
	vmbus_unload(&f->vb);
	assert_int_equal(c.canceled, 4);
	assert_null(blk_first());
	hw_dma_free(&f->s.dev, &d);
}

/* ---- several LUNs on one controller ------------------------------------ */

/* The registered disk of the controller for LUN lun (NULL if none). */
static struct blk_dev *
lun_blk(struct storvsc_softc *sc, uint8_t lun)
{
	for (int k = 0; k < STORVSC_MAX_LUNS; k++)
		if (sc->luns[k].registered && sc->luns[k].lun == lun)
			return &sc->luns[k].blk;
	return NULL;
}

/*
 * Each LUN its own disk, name and marker; the same LBA on each written
 * with its own data and read back, first one at a time, then with every
 * LUN's request in flight at once and the answers delivered in one batch
 * (a completion must reach the request of its own LUN).
 */
static void
multi_lun_roundtrip(struct fx *f, int nluns)
{
	static const uint32_t bsz[3] = { BS, 4096, BS };
	static const uint64_t nblk[3] = { NBLK, 1024, 3000 };
	static const uint8_t lunno[3] = { 0, 1, 2 };
	for (int i = 1; i < nluns; i++)
		assert_non_null(storvsc_vsp_add_lun(&f->v, lunno[i], bsz[i], nblk[i]));
	struct storvsc_softc *sc = probe(f);
	struct blk_dev *d[3];
	char want[160], name[8];
	for (int i = 0; i < nluns; i++) {
		d[i] = lun_blk(sc, lunno[i]);
		assert_non_null(d[i]);
		snprintf(name, sizeof(name), "sd%c", 'a' + i);
		assert_ptr_equal(blk_find(name), d[i]);
		snprintf(want, sizeof(want), "TERN BLK name=%s driver=storvsc relid=15 lun=%u "
		    "sectors=%llu bsize=%u", name, lunno[i], (unsigned long long)nblk[i], bsz[i]);
		assert_non_null(strstr(kstub_markers, want));
		assert_int_equal(d[i]->nblocks, nblk[i]);
		assert_int_equal(d[i]->block_size, bsz[i]);
	}
	struct hw_dma wd, rd;
	uint8_t *w = gmem(f, 3 * 8192, &wd), *r = gmem(f, 3 * 8192, &rd);
	for (int i = 0; i < nluns; i++) {
		uint32_t n = 8192 / d[i]->block_size;
		fill(w + i * 8192, 8192, 40u + (uint32_t)i);
		assert_int_equal(blk_rw_sync(d[i], BLK_WRITE, 2, n, w + i * 8192, 1000), TERN_OK);
	}
	for (int i = 0; i < nluns; i++) {
		uint32_t n = 8192 / d[i]->block_size;
		uint8_t *disk = storvsc_vsp_disk(&f->v, lunno[i]);
		assert_memory_equal(disk + 2 * d[i]->block_size, w + i * 8192, 8192);
		memset(r + i * 8192, 0xee, 8192);
		assert_int_equal(blk_rw_sync(d[i], BLK_READ, 2, n, r + i * 8192, 1000), TERN_OK);
		assert_memory_equal(r + i * 8192, w + i * 8192, 8192);
		assert_int_equal(f->v.lun_writes[lunno[i]], 1);
		assert_int_equal(f->v.lun_reads[lunno[i]], 1);
	}
	/* All in flight, answered together, reaped by polling the last disk. */
	static struct blk_req rq[3];
	struct cnt c[3] = { { 0 } };
	memset(r, 0xee, 3 * 8192);
	f->v.f_hold = true;
	for (int i = 0; i < nluns; i++) {
		setup_req(&rq[i], BLK_READ, 2, 8192 / d[i]->block_size, r + i * 8192, &c[i]);
		rq[i].segs[0].len = 8192;
		assert_int_equal(blk_submit(d[i], 0, &rq[i]), TERN_OK);
	}
	assert_int_equal(f->v.nhold, nluns);
	assert_int_equal(storvsc_vsp_release(&f->v, -1), nluns);
	assert_int_equal(blk_poll(d[nluns - 1], 0), nluns);
	for (int i = 0; i < nluns; i++) {
		assert_int_equal(c[i].ok, 1);
		assert_int_equal(blk_inflight(d[i]), 0);
		assert_int_equal(d[i]->stats.reads, 2);
		assert_int_equal(d[i]->stats.writes, 1);
		assert_memory_equal(r + i * 8192, w + i * 8192, 8192);
	}
	hw_dma_free(&f->s.dev, &wd);
	hw_dma_free(&f->s.dev, &rd);
}

static void
test_two_luns(void **state)
{
	multi_lun_roundtrip(*state, 2);
}

static void
test_three_luns(void **state)
{
	multi_lun_roundtrip(*state, 3);
}

/* More disk LUNs than STORVSC_MAX_LUNS: the first 16 attach, the rest are
   logged and counted. */
static void
test_lun_limit(void **state)
{
	struct fx *f = *state;
	for (uint8_t l = 1; l < STORVSC_MAX_LUNS + 2; l++)
		assert_non_null(storvsc_vsp_add_lun(&f->v, l, BS, 64 + l));
	struct storvsc_softc *sc = probe(f);
	int n = 0;
	for (struct blk_dev *b = blk_first(); b != NULL; b = b->next_blk)
		n++;
	assert_int_equal(n, STORVSC_MAX_LUNS);
	assert_non_null(blk_find("sdp"));
	assert_null(blk_find("sdq"));
	assert_int_equal(sc->st.luns_dropped, 2);
	assert_true(kstub_logged("lun 16 not attached: 16 disks already"));
	assert_true(kstub_logged("lun 17 not attached"));
	assert_null(lun_blk(sc, 16));
	assert_int_equal(lun_blk(sc, 15)->nblocks, 64 + 15);
}

/* Requests in flight on three disks: detach (unload) or rescind cancels
   every one of them and empties the registry. */
static void
multi_lun_detach(struct fx *f, bool rescind)
{
	storvsc_vsp_add_lun(&f->v, 1, BS, 2048);
	storvsc_vsp_add_lun(&f->v, 4, 4096, 512);
	struct storvsc_softc *sc = probe(f);
	struct blk_dev *d[3] = { lun_blk(sc, 0), lun_blk(sc, 1), lun_blk(sc, 4) };
	struct hw_dma md;
	uint8_t *buf = gmem(f, 9 * 4096, &md);
	static struct blk_req rq[9];
	struct cnt c[3] = { { 0 } };

	f->v.f_hold = true;
	for (int i = 0; i < 9; i++) {
		struct blk_dev *b = d[i % 3];
		setup_req(&rq[i], i & 1 ? BLK_READ : BLK_WRITE, (uint64_t)i,
		    4096 / b->block_size, buf + i * 4096, &c[i % 3]);
		rq[i].segs[0].len = 4096;
		assert_int_equal(blk_submit(b, 0, &rq[i]), TERN_OK);
	}
	assert_int_equal(f->v.nhold, 9);
	/* One answered first: it completes normally. */
	storvsc_vsp_release(&f->v, 1);
	assert_int_equal(blk_poll(d[2], 0), 1);
	assert_int_equal(c[0].ok, 1);
	if (rescind) {
		hv_sim_rescind(&f->s, RELID);
		vmbus_poll(&f->vb);
	} else {
		vmbus_unload(&f->vb);
	}
	assert_int_equal(c[0].canceled, 2);
	assert_int_equal(c[1].canceled, 3);
	assert_int_equal(c[2].canceled, 3);
	assert_int_equal(c[0].other + c[1].other + c[2].other, 0);
	assert_null(blk_first());
	assert_int_equal(softcs_live, 0);
	assert_true(kstub_logged("sdb: unregistered with 3 requests in flight: 3 cancelled"));
	assert_true(kstub_logged("sdc: unregistered with 3 requests in flight: 3 cancelled"));
	/* The held answers can no longer be delivered. */
	assert_int_equal(storvsc_vsp_release(&f->v, -1), 0);
	hw_dma_free(&f->s.dev, &md);
}

static void
test_multi_lun_unload_in_flight(void **state)
{
	multi_lun_detach(*state, false);
}

static void
test_multi_lun_rescind_in_flight(void **state)
{
	multi_lun_detach(*state, true);
}

/* Power-off (blk_shutdown_all) with requests in flight on two disks:
   every request cancelled, the channel closed with the last disk, no
   slot left taken. */
static void
test_shutdown_all_multi_lun(void **state)
{
	struct fx *f = *state;
	storvsc_vsp_add_lun(&f->v, 1, BS, 2048);
	struct storvsc_softc *sc = probe(f);
	struct blk_dev *d[2] = { lun_blk(sc, 0), lun_blk(sc, 1) };
	struct hw_dma md;
	uint8_t *buf = gmem(f, 4 * 4096, &md);
	static struct blk_req rq[4];
	struct cnt c = { 0 };

	f->v.f_hold = true;
	for (int i = 0; i < 4; i++) {
		setup_req(&rq[i], BLK_READ, (uint64_t)i * 8, 8, buf + i * 4096, &c);
		assert_int_equal(blk_submit(d[i & 1], 0, &rq[i]), TERN_OK);
	}
	blk_shutdown_all();
	assert_int_equal(c.canceled, 4);
	assert_null(blk_first());
	assert_false(hv_sim_chan(&f->s, RELID)->open);
	assert_int_equal(sc->nslots_used, 0);
	assert_int_equal(storvsc_vsp_release(&f->v, -1), 0);
	hw_dma_free(&f->s.dev, &md);
}

/*
 * BUSY: the k-th resend waits 1 << (k - 1) ms on the driver's clock and
 * goes out from the poll path once that time has come, not a nanosecond
 * before; the driver never advances the clock itself (no spin-wait).
 */
static void
test_busy_backoff_timing(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct blk_dev *d = &sc->luns[0].blk;
	struct hw_dma md;
	uint8_t *buf = gmem(f, 4096, &md);
	struct blk_req r;
	struct cnt c = { 0 };

	f->v.f_busy = STORVSC_RETRIES;	/* the last resend succeeds */
	setup_req(&r, BLK_READ, 0, 8, buf, &c);
	uint64_t srbs = f->v.srbs;
	assert_int_equal(blk_submit(d, 0, &r), TERN_OK);
	assert_int_equal(f->v.srbs, srbs + 1);
	uint64_t t = f->s.now_ns;
	assert_int_equal(blk_poll(d, 0), 0);	/* BUSY taken, resend armed */
	assert_int_equal(f->s.now_ns, t);
	for (int k = 1; k <= STORVSC_RETRIES; k++) {
		uint64_t wait = STORVSC_BUSY_BASE_NS << (k - 1);
		assert_int_equal(wait, 1000000ull << (k - 1));	/* 1, 2, 4, 8, 16 ms */
		/* Not before the deadline, however often it is polled. */
		for (int p = 0; p < 3; p++)
			assert_int_equal(blk_poll(d, 0), 0);
		f->s.now_ns = t + wait - 1;
		assert_int_equal(blk_poll(d, 0), 0);
		assert_int_equal(f->v.srbs, srbs + (uint64_t)k);
		assert_int_equal(f->s.now_ns, t + wait - 1);
		/* At the deadline: resent (and answered, BUSY or not). */
		f->s.now_ns = t + wait;
		t = f->s.now_ns;
		int done = blk_poll(d, 0);
		assert_int_equal(f->v.srbs, srbs + (uint64_t)k + 1);
		assert_int_equal(f->s.now_ns, t);
		if (k < STORVSC_RETRIES) {
			assert_int_equal(done, 0);
			/* The answer to the resend is read by the next poll. */
			if (sc->st.retries_busy < (uint64_t)k + 1)
				assert_int_equal(blk_poll(d, 0), 0);
			assert_int_equal(sc->st.retries_busy, (uint64_t)k + 1);
		} else {
			if (done == 0)
				assert_int_equal(blk_poll(d, 0), 1);
		}
	}
	assert_int_equal(c.ok, 1);
	assert_int_equal(sc->st.retries_busy, STORVSC_RETRIES);
	assert_true(sc->st.busy_deferred > 0);
	/* Busy for ever: failed after the bound with the log line. */
	f->v.f_busy = 1000;
	assert_int_equal(rw_clock(f, d, BLK_READ, 0, 8, buf, 1000000), TERN_EIO);
	assert_true(kstub_logged("still busy after 5 retries"));
	/* Cancelled while waiting out a back-off: no resend afterwards. */
	f->v.f_busy = 1;
	setup_req(&r, BLK_READ, 0, 8, buf, &c);
	assert_int_equal(blk_submit(d, 0, &r), TERN_OK);
	blk_poll(d, 0);
	srbs = f->v.srbs;
	vmbus_unload(&f->vb);
	assert_int_equal(c.canceled, 1);
	assert_int_equal(f->v.srbs, srbs);
	hw_dma_free(&f->s.dev, &md);
}

/*
 * ENUMERATE_BUS: the poll path lists the LUNs again; a LUN that appeared
 * becomes a disk, one that disappeared is unregistered and its requests
 * cancelled (their late answers dropped); rescans are rate-limited.
 */
static void
test_rescan_add_remove(void **state)
{
	struct fx *f = *state;
	struct storvsc_softc *sc = probe(f);
	struct blk_dev *sda = blk_find("sda");
	struct hw_dma md;
	uint8_t *buf = gmem(f, 4 * 4096, &md);

	/* A LUN appears. */
	assert_non_null(storvsc_vsp_add_lun(&f->v, 3, 4096, 256));
	assert_null(blk_find("sdb"));
	assert_int_equal(storvsc_vsp_enumerate(&f->v), 0);
	assert_int_equal(blk_poll(sda, 0), 0);
	assert_int_equal(sc->st.enumerates, 1);
	assert_int_equal(sc->st.rescans, 1);
	struct blk_dev *sdb = blk_find("sdb");
	assert_non_null(sdb);
	assert_non_null(strstr(kstub_markers, "TERN BLK name=sdb driver=storvsc relid=15 lun=3 "
	    "sectors=256 bsize=4096"));
	fill(buf, 4096, 77);
	assert_int_equal(blk_rw_sync(sdb, BLK_WRITE, 255, 1, buf, 1000), TERN_OK);
	assert_memory_equal(storvsc_vsp_disk(&f->v, 3) + 255 * 4096, buf, 4096);
	assert_int_equal(sc->st.luns_added, 1);

	/* Within a second: a second ENUMERATE_BUS waits. */
	assert_int_equal(storvsc_vsp_enumerate(&f->v), 0);
	blk_poll(sdb, 0);
	assert_int_equal(sc->st.enumerates, 2);
	assert_int_equal(sc->st.rescans, 1);
	uint64_t rl = f->v.report_luns;

	/* LUN 0 goes away with two requests in flight on it, one on sdb. */
	static struct blk_req rq[3];
	struct cnt c0 = { 0 }, c1 = { 0 };
	f->v.f_hold = true;
	setup_req(&rq[0], BLK_WRITE, 8, 8, buf, &c0);
	setup_req(&rq[1], BLK_READ, 16, 8, buf + 4096, &c0);
	setup_req(&rq[2], BLK_READ, 0, 1, buf + 8192, &c1);
	rq[2].segs[0].len = 4096;
	assert_int_equal(blk_submit(sda, 0, &rq[0]), TERN_OK);
	assert_int_equal(blk_submit(sda, 0, &rq[1]), TERN_OK);
	assert_int_equal(blk_submit(sdb, 0, &rq[2]), TERN_OK);
	storvsc_vsp_remove_lun(&f->v, 0);
	f->s.now_ns += STORVSC_RESCAN_GAP_NS;
	blk_poll(sdb, 0);		/* the pending rescan runs now */
	assert_int_equal(sc->st.rescans, 2);
	assert_int_equal(f->v.report_luns, rl + 1);
	assert_null(blk_find("sda"));
	assert_ptr_equal(blk_first(), sdb);
	assert_int_equal(c0.canceled, 2);
	assert_int_equal(c1.done, 0);
	assert_int_equal(sc->st.luns_removed, 1);
	assert_true(kstub_logged("lun 0 (sda) removed"));
	assert_int_equal(sda->stats.cancelled, 2);
	assert_int_equal(blk_submit(sda, 0, &rq[0]), TERN_ENODEV);
	/* The host answers all three: sda's answers are dropped, sdb's
	   request completes. */
	assert_int_equal(storvsc_vsp_release(&f->v, -1), 3);
	assert_int_equal(blk_poll(sdb, 0), 1);
	assert_int_equal(c1.ok, 1);
	assert_int_equal(c0.done, 2);
	assert_int_equal(sc->st.orphan_done, 2);
	assert_int_equal(sc->nslots_used, 0);
	f->v.f_hold = false;

	/* LUN 0 comes back: a disk again, under the first free name. */
	storvsc_vsp_add_lun(&f->v, 7, BS, 100);
	storvsc_vsp_enumerate(&f->v);
	f->s.now_ns += STORVSC_RESCAN_GAP_NS;
	blk_poll(sdb, 0);
	assert_int_equal(sc->st.rescans, 3);
	struct blk_dev *l7 = lun_blk(sc, 7);
	assert_non_null(l7);
	assert_string_equal(l7->name, "sda");
	assert_ptr_not_equal(l7, sda);	/* a fresh entry: the old one stays gone */
	assert_int_equal(blk_submit(sda, 0, &rq[0]), TERN_ENODEV);
	assert_int_equal(l7->nblocks, 100);
	assert_int_equal(blk_rw_sync(l7, BLK_READ, 99, 1, buf, 1000), TERN_OK);

	/* A rescan whose REPORT LUNS fails changes nothing. */
	f->v.report_luns_fails = true;
	storvsc_vsp_enumerate(&f->v);
	f->s.now_ns += STORVSC_RESCAN_GAP_NS;
	blk_poll(sdb, 0);
	assert_int_equal(sc->st.rescan_failed, 1);
	assert_non_null(blk_find("sda"));
	assert_non_null(blk_find("sdb"));
	hw_dma_free(&f->s.dev, &md);
}

/* Every guest DMA allocation fails in turn: attach fails cleanly (no leak,
   no half-registered disk) or succeeds; the host never sees an error. */
static void
test_dma_fail_countdown(void **state)
{
	struct fx *f = *state;
	int ok = 0, failed = 0;
	for (int at = 1; at < 10; at++) {
		f->v.state = 0;
		f->s.f_dma_fail_at = at;
		int n = vmbus_probe(&f->vb, table);
		f->s.f_dma_fail_at = 0;
		if (n == 1) {
			ok++;
			struct vmbus_chan *ch = chan(f);
			bus_detach(&ch->dev);
		} else {
			failed++;
			assert_null(blk_first());
		}
		assert_false(hv_sim_chan(&f->s, RELID)->open);
	}
	assert_true(failed >= 2);	/* scratch page, rings */
	assert_true(ok >= 1);
}

/*
 * The countdown fault loop (tests/hw/hw_fault.h) on the channel's seam
 * device, which carries storvsc's and the channel's DMA, clock, delays
 * and ring reads: every bounded wait timing out (time_jump), every DMA
 * allocation failing (dma_alloc), every byte the host hands over being
 * corrupted (sync_bytes: ring packets and discovery data), each at every
 * countdown.  Attach either fails and says so or the disk works or fails
 * requests with an error; nothing hangs, crashes or leaks, and the disk
 * is out of the registry after unload.
 */
struct floop {
	int attach_failed, io_failed, clean;
};

static bool
fault_run(enum hw_fault_kind kind, int countdown, void *ctx)
{
	struct floop *fl = ctx;
	void *st;
	assert_int_equal(fx_setup(&st), 0);
	struct fx *f = st;
	struct vmbus_chan *ch = chan(f);
	struct hw_fault hf;
	struct hw_dma d;
	uint8_t *buf = gmem(f, 16384, &d);

	f->expect_errors = true;	/* corrupted packets reach the host */
	/* Two LUNs: discovery of both and I/O on both are under fault. */
	storvsc_vsp_add_lun(&f->v, 1, BS, 1024);
	hw_fault_wrap(&hf, &ch->hw, kind, countdown, false);
	int n = vmbus_probe(&f->vb, table);
	struct blk_dev *b = blk_first();
	if (n != 1) {
		assert_null(b);
		assert_true(hf.injected > 0);
		assert_true(kstub_logged("attach failed"));
		fl->attach_failed++;
	} else {
		assert_non_null(b);
		int ndisks = 0, failed = 0;
		for (; b != NULL && ndisks < 2; b = b->next_blk, ndisks++) {
			uint8_t *wb = buf, *rb = buf + 8192;
			fill(wb, 8192, (uint32_t)countdown + (uint32_t)ndisks);
			int w = blk_rw_sync(b, BLK_WRITE, 64, 16, wb, 100);
			int fu = blk_rw_sync(b, BLK_FLUSH, 0, 0, NULL, 100);
			int r = blk_rw_sync(b, BLK_READ, 64, 16, rb, 100);
			if (hf.injected == 0) {
				assert_int_equal(w, TERN_OK);
				assert_int_equal(fu, TERN_OK);
				assert_int_equal(r, TERN_OK);
				assert_memory_equal(wb, rb, 8192);
			}
			failed += w != TERN_OK || fu != TERN_OK || r != TERN_OK;
			if (w == TERN_ETIMEDOUT || fu == TERN_ETIMEDOUT || r == TERN_ETIMEDOUT)
				break;	/* blk_rw_sync's request is still in flight */
		}
		if (hf.injected == 0) {
			assert_int_equal(ndisks, 2);
			fl->clean++;
		} else if (failed != 0) {
			fl->io_failed++;
		}
	}
	bool fired = hf.injected > 0;
	hw_fault_unwrap(&hf, &ch->hw);
	/* Unload: detach cancels what is left; the teardown checks no guest
	   memory leaked and the registry is empty. */
	hw_dma_free(&f->s.dev, &d);
	assert_int_equal(fx_teardown(&st), 0);
	return fired;
}

static void
test_fault_loop(void **state)
{
	struct floop fl = { 0 };
	int runs[3];
	(void)state;
	assert_int_equal(hw_fault_loop("storvsc", HW_FAULT_TIME_JUMP, HW_FAULT_SYNC_BYTES,
	    2000, fault_run, &fl, runs), 0);
	printf("    storvsc: %d failed attaches, %d runs with failed I/O, %d clean\n",
	    fl.attach_failed, fl.io_failed, fl.clean);
	for (int k = 0; k < 3; k++)
		assert_true(runs[k] > 0);
	assert_true(fl.attach_failed > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bringup_marker, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_version_fallback, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_version_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_init_step_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_init_no_answer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_skips_cdrom, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_report_luns_fails, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_disk_lun, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_mode_sense_fails, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_unit_attention, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_busy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_capacity, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_protected, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_range_and_lun_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_sizes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_many_in_flight, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_multi_segment, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_flush_and_fua, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_fua_no_cache, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_medium_error_sense, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unit_attention_once, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_busy_bounded, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_transfer_length_checked, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_ids, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_io_no_answer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rescind_in_flight, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_detach_in_flight, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_two_luns, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_three_luns, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lun_limit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_multi_lun_unload_in_flight, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_multi_lun_rescind_in_flight, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_all_multi_lun, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_busy_backoff_timing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rescan_add_remove, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dma_fail_countdown, fx_setup, fx_teardown),
		cmocka_unit_test(test_fault_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

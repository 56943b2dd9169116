/*
 * blk_sync.c - see blk_sync.h.
 */
#include <stddef.h>
#include <string.h>

#include "kernel/err.h"
#include "tests/hw/blk_sync.h"

static volatile int done;

static void
on_done(struct blk_req *r, int status)
{
	done = 1;
}

int
test_blk_rw(struct blk_dev *d, int op, uint64_t lba, uint32_t nblocks, void *buf,
    int nsegs, int max_polls)
{
	static struct blk_req r;

	if (r.state == BLK_RS_INFLIGHT)
		return TERN_EBUSY;	/* an earlier timeout's, still the driver's */
	memset(&r, 0, sizeof(r));
	done = 0;
	r.op = op;
	r.lba = lba;
	r.nblocks = nblocks;
	if (buf != NULL && op != BLK_FLUSH && nsegs > 0 && nsegs <= BLK_MAX_SEGS) {
		uint32_t per = nblocks * d->block_size / (uint32_t)nsegs;
		for (int i = 0; i < nsegs; i++) {
			r.segs[i].va = (uint8_t *)buf + (size_t)i * per;
			r.segs[i].len = per;
		}
		r.nsegs = (uint32_t)nsegs;
	}
	r.done = on_done;
	int rc = blk_submit(d, 0, &r);
	if (rc != TERN_OK)
		return rc;
	for (int i = 0; i < max_polls && !done; i++)
		blk_poll(d, 0);
	return done ? r.status : TERN_ETIMEDOUT;
}

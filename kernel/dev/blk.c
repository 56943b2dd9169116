/*
 * blk.c - the block device registry, unregistering a disk with requests
 * in flight, and the boot-time synchronous request (kernel/dev/blk.h).
 *
 * Submitting, completing and polling are small inline functions in
 * blk.h, so drivers and their host tests need nothing from here but
 * blk_register.  This file is portable: it needs the kernel clock
 * (time_now_ns) only for blk_rw_sync's bound, and host tests link it with
 * a fake clock.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/dev/blk.h"
#include "kernel/err.h"
#include "kernel/log.h"
#include "kernel/time.h"

/* The registry: a list through blk_dev.next_blk, in attach order. */
static struct blk_dev *blks;

int
blk_register(struct blk_dev *d)
{
	struct blk_dev **pp = &blks;
	while (*pp != NULL) {
		if (*pp == d)
			return TERN_EEXIST;
		pp = &(*pp)->next_blk;
	}
	d->next_blk = NULL;
	d->gone = false;
	*pp = d;
	return TERN_OK;
}

int
blk_unregister(struct blk_dev *d)
{
	struct blk_dev **pp = &blks;
	while (*pp != NULL && *pp != d)
		pp = &(*pp)->next_blk;
	if (*pp == NULL)
		return TERN_ENOENT;
	/* Out of the registry and closed to submits before the driver runs
	   any done(): a callback that resubmits gets TERN_ENODEV. */
	*pp = d->next_blk;
	d->next_blk = NULL;
	d->gone = true;
	uint32_t before = blk_inflight(d);
	uint64_t cancelled = d->stats.cancelled;
	if (d->ops->detach != NULL)
		d->ops->detach(d);
	for (uint32_t q = 0; q < blk_nqueues(d); q++)
		blk_complete_deferred(d, q);
	uint32_t left = blk_inflight(d);
	if (before != 0 || left != 0)
		log_warn("blk", "%s: unregistered with %u requests in flight: %llu cancelled "
		    "(ecanceled)%s", d->name, before,
		    (unsigned long long)(d->stats.cancelled - cancelled),
		    left != 0 ? ", but the driver did not complete all of them" : "");
	if (left != 0) {
		/* A driver bug: these requests will never see done(). */
		log_error("blk", "%s: %u requests still owned by the driver after detach",
		    d->name, left);
		return TERN_EBUSY;
	}
	return TERN_OK;
}

struct blk_dev *
blk_first(void)
{
	return blks;
}

struct blk_dev *
blk_find(const char *name)
{
	for (struct blk_dev *d = blks; d != NULL; d = d->next_blk)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

/* Power-off: every disk's orderly stop (NVMe CC.SHN, virtio reset). */
void
blk_shutdown_all(void)
{
	while (blks != NULL)
		blk_unregister(blks);
}

static void
sync_done(struct blk_req *r, int status)
{
	*(volatile int *)r->ctx = 1;
}

static const char *const op_names[] = { "?", "read", "write", "flush",
	"write-zeroes", "discard" };

int
blk_rw_sync(struct blk_dev *d, int op, uint64_t lba, uint32_t nblocks,
    void *buf, uint32_t timeout_ms)
{
	/* The request must outlive a timeout (the driver may still complete
	   it later), so it lives in static storage: one sync user at a time
	   (boot-time code only), and none while it is still in flight. */
	static struct blk_req r;
	static volatile int done;
	static struct blk_dev *owner;

	if (r.state == BLK_RS_INFLIGHT) {
		/* The device may have completed it since; look once. */
		blk_poll(owner, r.queue);
		if (r.state == BLK_RS_INFLIGHT) {
			log_error("blk", "%s: sync request %p (%s at LBA %llu) still in flight "
			    "from an earlier timeout; refusing %s on %s", owner->name,
			    (void *)&r, op_names[r.op <= 5 && r.op >= 0 ? r.op : 0],
			    (unsigned long long)r.lba, op_names[op <= 5 && op >= 0 ? op : 0],
			    d->name);
			return TERN_EBUSY;
		}
	}
	memset(&r, 0, sizeof(r));
	done = 0;
	owner = d;
	r.op = op;
	r.lba = lba;
	r.nblocks = nblocks;
	if (buf != NULL && op != BLK_FLUSH) {
		r.nsegs = 1;
		r.segs[0].va = buf;
		r.segs[0].len = nblocks * d->block_size;
	}
	r.done = sync_done;
	r.ctx = (void *)&done;
	int rc = blk_submit(d, 0, &r);
	if (rc != TERN_OK)
		return rc;
	uint64_t start = time_now_ns();
	uint64_t end = start + (uint64_t)timeout_ms * 1000000;
	while (!done) {
		blk_poll(d, 0);
		if (done)
			break;
		if (time_now_ns() > end) {
			log_error("blk", "%s: queue 0: %s of %u blocks at LBA %llu (request %p) "
			    "did not complete in %u ms; it stays with the driver",
			    d->name, op_names[op <= 5 && op >= 0 ? op : 0], nblocks,
			    (unsigned long long)lba, (void *)&r, timeout_ms);
			return TERN_ETIMEDOUT;
		}
	}
	return r.status;
}

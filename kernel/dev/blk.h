/*
 * blk.h - the one block interface every disk driver implements
 * (virtio-blk, NVMe, storvsc), version 2: asynchronous, several queues.
 *
 * The contract, for callers:
 *
 *  - blk_submit(d, queue, r) hands request r to queue `queue` of d
 *    (0 <= queue < d->nqueues) and returns at once.  TERN_OK means the
 *    driver owns r: r->done(r, status) will be called exactly once, and
 *    only after the device reported the request complete (or, for a
 *    request the device never has to see, such as a flush without a
 *    volatile cache, from the next blk_poll of that queue).  Any other
 *    return means the driver did not take r and done() will NOT be
 *    called: TERN_EAGAIN (queue full, or the NVMe PRP chain pool short:
 *    poll and retry), TERN_EINVAL (bad request or queue number, past the
 *    driver's limits), TERN_ENOTSUP (op not offered), TERN_EBUSY (r is
 *    still in flight from an earlier submit), TERN_ENODEV (device
 *    unregistered, detached or broken).
 *  - done() is never called from inside blk_submit.  It is called from
 *    blk_poll() on the request's queue, or from blk_unregister().
 *  - status (also stored in r->status before done() runs) is TERN_OK or:
 *      TERN_EIO       the device reported an error for this request;
 *      TERN_ERANGE    the device said the LBA range is out of range;
 *      TERN_ENOTSUP   the device refused the operation as unsupported;
 *      TERN_ENODEV    the device went away (all-ones reads, needs reset):
 *                     the outcome of a write is unknown;
 *      TERN_ECANCELED blk_unregister() stopped the device with r still in
 *                     flight: the outcome of a write is unknown.
 *    A write (or flush) completes TERN_OK only after the device reported
 *    it complete; with BLK_REQ_FUA the data is on stable media then.
 *  - Ownership: from a successful submit until done() starts, the request
 *    and every byte of its segments belong to the driver and the device;
 *    the caller MUST NOT read, write or free them.  Once done() runs they
 *    are the caller's again: the driver never touches r after calling
 *    done(), so done() MAY free r, reuse it, or submit it again.
 *  - Segments: each physically contiguous, lengths block-aligned, their
 *    sum nblocks * block_size.  Drivers split requests that exceed their
 *    limits (max_transfer, max_segs) internally or refuse them with
 *    TERN_EINVAL; they never silently shorten a request.
 *  - Calling context: thread context only, never from an interrupt
 *    handler (drivers' handlers only count and wake the CPU; polling
 *    reaps).  Calls on one device are not concurrent: the kernel runs on
 *    one CPU today.  Queues exist so that each CPU can later own one
 *    (CPU c submits to and polls queue c % nqueues); per-queue state is
 *    independent, but drivers still share per-device state (statistics,
 *    the NVMe PRP chain pool) that would need a lock before two CPUs
 *    may call at once.
 *  - Re-entrancy: done() MAY call blk_submit() on any queue of any device
 *    (a resubmission from done() is reaped by a later poll; each poll
 *    reaps at most one queue depth of completions, so a callback that
 *    always resubmits cannot keep the caller inside blk_poll).  done()
 *    MUST NOT call blk_poll() or blk_unregister() on the same device.
 *
 * For drivers: ops->submit is called by blk_submit with the request
 * already validated as not in flight and the queue number in range; it
 * completes requests with blk_complete() (from ops->poll or ops->detach)
 * or blk_complete_later() (from ops->submit), never by calling done()
 * itself.  ops->detach MUST stop the device so it no longer touches any
 * request's memory, then blk_complete() every request it still holds
 * with TERN_ECANCELED.
 *
 * The registry, blk_unregister and blk_rw_sync live in kernel/dev/blk.c.
 */
#ifndef TERN_DEV_BLK_H
#define TERN_DEV_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/err.h"

struct blk_dev;

enum blk_op {
	BLK_READ = 1,
	BLK_WRITE = 2,
	BLK_FLUSH = 3,		/* make all completed writes durable */
	BLK_WRITE_ZEROES = 4,	/* if BLK_F_WRITE_ZEROES */
	BLK_DISCARD = 5,	/* if BLK_F_DISCARD */
};

#define BLK_REQ_FUA	0x1	/* write through to stable media */

struct blk_seg {
	void *va;
	uint32_t len;		/* bytes */
};

#define BLK_MAX_SEGS	32
/* Queues a device may offer (NVMe: one I/O queue pair each). */
#define BLK_MAX_QUEUES	8

/* blk_req.state, kept by this header's functions only. */
#define BLK_RS_IDLE	0	/* the caller's */
#define BLK_RS_INFLIGHT	1	/* the driver's, done() pending */

struct blk_req;
typedef void blk_done_fn(struct blk_req *r, int status);

struct blk_req {
	int op;			/* enum blk_op */
	uint32_t flags;		/* BLK_REQ_* */
	uint64_t lba;		/* in device blocks (blk_dev.block_size) */
	uint32_t nblocks;
	uint32_t nsegs;
	struct blk_seg segs[BLK_MAX_SEGS];
	blk_done_fn *done;	/* required */
	void *ctx;		/* caller's */
	int status;		/* set before done() */
	/* Set by blk_submit; callers read them, never write them. */
	uint16_t queue;
	uint8_t state;		/* BLK_RS_* */
	/* Driver private, untouched by callers. */
	uint64_t drv[4];
	struct blk_req *drv_next;
};

/* blk_dev.features */
#define BLK_F_FLUSH		0x01	/* volatile cache: flush matters */
#define BLK_F_FUA		0x02
#define BLK_F_WRITE_ZEROES	0x04
#define BLK_F_DISCARD		0x08
#define BLK_F_RO		0x10

struct blk_stats {
	uint64_t reads, writes, flushes, read_bytes, write_bytes;
	uint64_t discards;
	uint64_t errors, timeouts_logged, bad_completions, resets;
	uint64_t intrs;		/* completion interrupts taken (0: polled) */
	uint64_t cancelled;	/* completed TERN_ECANCELED by unregister */
};

struct blk_ops {
	/* Take r on queue q (see the driver rules above). */
	int (*submit)(struct blk_dev *d, uint32_t q, struct blk_req *r);
	/* Reap queue q's completions (at most one queue depth); returns how
	   many requests completed. */
	int (*poll)(struct blk_dev *d, uint32_t q);
	/* Stop the device and cancel what it holds (see above).  Called
	   once per device by blk_unregister; MAY be idempotent for drivers
	   with several blk_devs on one controller. */
	void (*detach)(struct blk_dev *d);
};

/* Per-queue bookkeeping of this header's functions. */
struct blk_queue {
	uint32_t inflight;		/* submitted, done() not yet called */
	struct blk_req *later, *later_tail;	/* blk_complete_later FIFO */
};

struct blk_dev {
	char name[24];		/* "virtio-blk0", "nvme0n1" */
	uint32_t block_size;	/* bytes, power of two >= 512 */
	uint64_t nblocks;	/* capacity */
	uint32_t nqueues;	/* 1..BLK_MAX_QUEUES (0 is taken as 1) */
	uint32_t queue_depth;	/* requests in flight per queue */
	uint32_t max_transfer;	/* bytes per request (after splitting) */
	uint32_t max_segs;	/* <= BLK_MAX_SEGS */
	uint32_t features;	/* BLK_F_* */
	const struct blk_ops *ops;
	void *sc;
	struct blk_stats stats;
	struct blk_queue q[BLK_MAX_QUEUES];
	bool gone;		/* unregistered: submit says TERN_ENODEV */
	struct blk_dev *next_blk;	/* registry link, NULL when not in it */
};

static inline uint32_t
blk_nqueues(const struct blk_dev *d)
{
	return d->nqueues == 0 ? 1 : d->nqueues;
}

/* Submit r to queue q of d; see the contract at the top. */
static inline int
blk_submit(struct blk_dev *d, uint32_t q, struct blk_req *r)
{
	if (d->gone)
		return TERN_ENODEV;
	if (q >= blk_nqueues(d) || r->done == NULL)
		return TERN_EINVAL;
	if (r->state == BLK_RS_INFLIGHT)
		return TERN_EBUSY;
	r->queue = (uint16_t)q;
	r->state = BLK_RS_INFLIGHT;
	d->q[q].inflight++;
	int rc = d->ops->submit(d, q, r);
	if (rc != TERN_OK && r->state == BLK_RS_INFLIGHT) {
		r->state = BLK_RS_IDLE;
		d->q[q].inflight--;
	}
	return rc;
}

/*
 * Driver side: r is complete with `status`.  Calls done() exactly once;
 * a second completion of the same request (a driver bug or a device
 * repeating itself) is counted in bad_completions and ignored.
 */
static inline void
blk_complete(struct blk_dev *d, struct blk_req *r, int status)
{
	if (r->state != BLK_RS_INFLIGHT || r->queue >= blk_nqueues(d)) {
		d->stats.bad_completions++;
		return;
	}
	r->state = BLK_RS_IDLE;
	d->q[r->queue].inflight--;
	if (status == TERN_ECANCELED)
		d->stats.cancelled++;
	r->status = status;
	r->done(r, status);
}

/* Driver side, from ops->submit: r is complete without the device (a
   flush with no volatile cache); done() runs at the next blk_poll of its
   queue, never inside blk_submit. */
static inline void
blk_complete_later(struct blk_dev *d, struct blk_req *r, int status)
{
	struct blk_queue *bq = &d->q[r->queue];
	r->status = status;
	r->drv_next = NULL;
	if (bq->later_tail != NULL)
		bq->later_tail->drv_next = r;
	else
		bq->later = r;
	bq->later_tail = r;
}

/* Deliver queue q's blk_complete_later requests; returns how many. */
static inline int
blk_complete_deferred(struct blk_dev *d, uint32_t q)
{
	struct blk_queue *bq = &d->q[q];
	struct blk_req *r = bq->later;
	int n = 0;
	/* Detach the list first: a done() that resubmits may append. */
	bq->later = bq->later_tail = NULL;
	while (r != NULL) {
		struct blk_req *next = r->drv_next;
		r->drv_next = NULL;
		blk_complete(d, r, r->status);
		r = next;
		n++;
	}
	return n;
}

/*
 * Reap queue q of d: requests completed without the device first, then
 * the device's completions (at most one queue depth).  Returns how many
 * done() calls it made; TERN_EINVAL for a queue out of range.
 */
static inline int
blk_poll(struct blk_dev *d, uint32_t q)
{
	if (q >= blk_nqueues(d))
		return TERN_EINVAL;
	int n = blk_complete_deferred(d, q);
	if (!d->gone)
		n += d->ops->poll(d, q);
	return n;
}

/* Requests submitted to d and not yet completed, all queues. */
static inline uint32_t
blk_inflight(const struct blk_dev *d)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < blk_nqueues(d); i++)
		n += d->q[i].inflight;
	return n;
}

/* Add d to the registry (drivers, at the end of a successful attach). */
int blk_register(struct blk_dev *d);
/*
 * Take d out of the registry (blk_first/blk_find no longer return it, its
 * link is cleared), refuse new submits (TERN_ENODEV), and have the driver
 * stop the device and fail every request still in flight with
 * TERN_ECANCELED; requests completed without the device are delivered
 * with their status.  On return no request of d is in flight and no
 * pointer to d remains in the registry.  Logs how many requests were
 * cancelled.  TERN_ENOENT when d is not registered.  Thread context; not
 * from a done() of d.
 */
int blk_unregister(struct blk_dev *d);
/* Unregister every disk (power-off: caches written back, devices
   stopped). */
void blk_shutdown_all(void);
struct blk_dev *blk_first(void);
struct blk_dev *blk_find(const char *name);

/*
 * Boot-time convenience: submit one request on queue 0 and poll it until
 * it completes or `timeout_ms` passes on the kernel clock.  Returns the
 * request's status or the submit error.  On timeout it logs the device,
 * the queue, the operation, the LBA range and the request it waited for,
 * and returns TERN_ETIMEDOUT; the request (static, one sync user at a
 * time) stays the driver's until the device completes it, and calls made
 * before that return TERN_EBUSY without touching the device.
 */
int blk_rw_sync(struct blk_dev *d, int op, uint64_t lba, uint32_t nblocks,
    void *buf, uint32_t timeout_ms);

#endif

/*
 * blk.h - the one block interface every disk driver implements
 * (virtio-blk, NVMe, storvsc).
 *
 * Asynchronous: blk_submit() queues a request and returns at once; the
 * driver calls req->done(req) exactly once, from blk_poll() or its
 * interrupt handler, with req->status set (TERN_OK or a negative error).
 * A write (or flush) is completed only after the device reported it
 * complete; with BLK_FUA the data is on stable media at completion.
 * Data buffers are described by segments; each segment must be physically
 * contiguous and block-aligned in length.  Drivers split requests that
 * exceed their limits (max_transfer, max_segs) internally or refuse them
 * with TERN_EINVAL; they never silently shorten a request.
 * The caller owns the request and its buffers until done() is called.
 */
#ifndef TERN_DEV_BLK_H
#define TERN_DEV_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

struct blk_req {
	int op;			/* enum blk_op */
	uint32_t flags;		/* BLK_REQ_* */
	uint64_t lba;		/* in device blocks (blk_dev.block_size) */
	uint32_t nblocks;
	uint32_t nsegs;
	struct blk_seg segs[BLK_MAX_SEGS];
	void (*done)(struct blk_req *r);
	void *ctx;		/* caller's */
	int status;		/* set before done() */
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
};

struct blk_ops {
	int (*submit)(struct blk_dev *d, struct blk_req *r);
	/* Reap completions; returns how many requests completed. */
	int (*poll)(struct blk_dev *d);
	void (*detach)(struct blk_dev *d);
};

struct blk_dev {
	char name[24];		/* "virtio-blk0", "nvme0n1" */
	uint32_t block_size;	/* bytes, power of two >= 512 */
	uint64_t nblocks;	/* capacity */
	uint32_t queue_depth;	/* requests in flight the driver accepts */
	uint32_t max_transfer;	/* bytes per request (after splitting) */
	uint32_t max_segs;	/* <= BLK_MAX_SEGS */
	uint32_t features;	/* BLK_F_* */
	const struct blk_ops *ops;
	void *sc;
	struct blk_stats stats;
	struct blk_dev *next_blk;
};

int blk_register(struct blk_dev *d);
/* Detach every disk (power-off: caches written back, devices stopped). */
void blk_shutdown_all(void);
struct blk_dev *blk_first(void);
struct blk_dev *blk_find(const char *name);

static inline int
blk_submit(struct blk_dev *d, struct blk_req *r)
{
	return d->ops->submit(d, r);
}

/*
 * Boot-time convenience (kernel/dev/blk.c): submit one request and poll
 * until it completes or `timeout_ms` passes (then logs which device and
 * operation it gave up on and returns TERN_ETIMEDOUT; the request is NOT
 * reusable until the driver completes it).
 */
int blk_rw_sync(struct blk_dev *d, int op, uint64_t lba, uint32_t nblocks,
    void *buf, uint32_t timeout_ms);

#endif

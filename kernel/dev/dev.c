/*
 * dev.c - the NIC and block device registries, and the boot-time
 * synchronous block helper (kernel/dev/nic.h, kernel/dev/blk.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/dev/blk.h"
#include "kernel/dev/nic.h"
#include "kernel/err.h"
#include "kernel/log.h"
#include "kernel/time.h"

static struct nic *nics;
static struct nic_listener *nic_listeners;
static struct blk_dev *blks;

int
nic_register(struct nic *n)
{
	struct nic **pp = &nics;
	while (*pp != NULL)
		pp = &(*pp)->next_nic;
	n->next_nic = NULL;
	*pp = n;
	for (struct nic_listener *l = nic_listeners; l != NULL; l = l->next)
		if (l->added != NULL)
			l->added(l->ctx, n);
	return TERN_OK;
}

int
nic_unregister(struct nic *n)
{
	struct nic **pp = &nics;
	while (*pp != NULL && *pp != n)
		pp = &(*pp)->next_nic;
	if (*pp == NULL)
		return TERN_ENOENT;
	*pp = n->next_nic;
	n->next_nic = NULL;
	/* Listeners drop their references before the driver detaches. */
	for (struct nic_listener *l = nic_listeners; l != NULL; l = l->next)
		if (l->removed != NULL)
			l->removed(l->ctx, n);
	log_info("net", "%s: unregistered", n->name);
	return TERN_OK;
}

struct nic *
nic_first(void)
{
	return nics;
}

void
nic_listen(struct nic_listener *l)
{
	l->next = nic_listeners;
	nic_listeners = l;
	for (struct nic *n = nics; n != NULL; n = n->next_nic)
		if (l->added != NULL)
			l->added(l->ctx, n);
}

int
blk_register(struct blk_dev *d)
{
	struct blk_dev **pp = &blks;
	while (*pp != NULL)
		pp = &(*pp)->next_blk;
	d->next_blk = NULL;
	*pp = d;
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
	for (struct blk_dev *d = blks; d != NULL; d = d->next_blk)
		if (d->ops->detach != NULL)
			d->ops->detach(d);
}

static void
sync_done(struct blk_req *r)
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
	   (boot-time code only). */
	static struct blk_req r;
	static volatile int done;

	memset(&r, 0, sizeof(r));
	done = 0;
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
	int rc = blk_submit(d, &r);
	if (rc != TERN_OK)
		return rc;
	uint64_t end = time_now_ns() + (uint64_t)timeout_ms * 1000000;
	while (!done) {
		d->ops->poll(d);
		if (done)
			break;
		if (time_now_ns() > end) {
			log_error("blk", "%s: %s of %u blocks at %llu did not complete in %u ms",
			    d->name, op_names[op <= 5 ? op : 0], nblocks,
			    (unsigned long long)lba, timeout_ms);
			return TERN_ETIMEDOUT;
		}
	}
	return r.status;
}

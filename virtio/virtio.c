/*
 * virtio.c - virtio 1.x transport and split virtqueues (virtio v1.2
 * sections 2.1-2.7, 3.1 and 4.1.4), bus independent: the PCI glue hands
 * over four register windows.
 *
 * Everything the device writes is validated before use: status reads of
 * all-ones mean the device is gone, used-ring ids must name a chain we
 * put in flight, used lengths are checked by the drivers.  A device that
 * breaks the protocol is marked broken and its driver stops using it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "virtio/virtio.h"

#define RESET_TIMEOUT_NS	1000000000ULL

static bool msix_program(struct virtio_dev *vd, uint32_t reg, uint16_t entry,
    const char *what);

static uint8_t
c8(struct virtio_dev *vd, uint32_t r)
{
	return hw_read8(vd->common.bar, vd->common.off + r);
}

static uint16_t
c16(struct virtio_dev *vd, uint32_t r)
{
	return hw_read16(vd->common.bar, vd->common.off + r);
}

static uint32_t
c32(struct virtio_dev *vd, uint32_t r)
{
	return hw_read32(vd->common.bar, vd->common.off + r);
}

static void
w8(struct virtio_dev *vd, uint32_t r, uint8_t v)
{
	hw_write8(vd->common.bar, vd->common.off + r, v);
}

static void
w16(struct virtio_dev *vd, uint32_t r, uint16_t v)
{
	hw_write16(vd->common.bar, vd->common.off + r, v);
}

static void
w32(struct virtio_dev *vd, uint32_t r, uint32_t v)
{
	hw_write32(vd->common.bar, vd->common.off + r, v);
}

/* 64-bit fields as two 32-bit writes, low half first (4.1.3.1). */
static void
w64(struct virtio_dev *vd, uint32_t r, uint64_t v)
{
	w32(vd, r, (uint32_t)v);
	w32(vd, r + 4, (uint32_t)(v >> 32));
}

uint8_t virtio_cfg8(struct virtio_dev *vd, uint32_t off) { return hw_read8(vd->device.bar, vd->device.off + off); }
uint16_t virtio_cfg16(struct virtio_dev *vd, uint32_t off) { return hw_read16(vd->device.bar, vd->device.off + off); }
uint32_t virtio_cfg32(struct virtio_dev *vd, uint32_t off) { return hw_read32(vd->device.bar, vd->device.off + off); }

uint64_t
virtio_cfg64(struct virtio_dev *vd, uint32_t off)
{
	/* Re-read until the generation is stable: a 64-bit field read in two
	   halves could otherwise mix two configurations (4.1.4.3.1). */
	for (int i = 0; i < 8; i++) {
		uint8_t g = c8(vd, VIRTIO_C_GEN);
		uint64_t lo = virtio_cfg32(vd, off), hi = virtio_cfg32(vd, off + 4);
		if (c8(vd, VIRTIO_C_GEN) == g)
			return lo | hi << 32;
	}
	return ~0ULL;
}

bool
virtio_check_broken(struct virtio_dev *vd)
{
	if (vd->broken)
		return true;
	uint8_t s = c8(vd, VIRTIO_C_STATUS);
	if (s == 0xff || (s & VIRTIO_S_NEEDS_RESET)) {
		vd->broken = true;
		log_error("virtio", "%s: %s (status 0x%02x); stopping it", vd->hw->name,
		    s == 0xff ? "device gone: registers read all-ones" :
		    "device needs reset", s);
	}
	return vd->broken;
}

void
virtio_reset(struct virtio_dev *vd)
{
	w8(vd, VIRTIO_C_STATUS, 0);
	uint64_t end = hw_now_ns(vd->hw) + RESET_TIMEOUT_NS;
	while (c8(vd, VIRTIO_C_STATUS) != 0) {
		if (hw_now_ns(vd->hw) > end) {
			log_error("virtio", "%s: reset did not complete in 1 s (device_status stays non-zero)",
			    vd->hw->name);
			return;
		}
		hw_delay_us(vd->hw, 10);
	}
}

int
virtio_init(struct virtio_dev *vd, uint64_t wanted)
{
	const char *name = vd->hw->name;

	vd->broken = false;
	if (c8(vd, VIRTIO_C_STATUS) == 0xff) {
		log_error("virtio", "%s: device_status reads 0xff: device absent", name);
		return TERN_ENODEV;
	}
	w8(vd, VIRTIO_C_STATUS, 0);
	uint64_t end = hw_now_ns(vd->hw) + RESET_TIMEOUT_NS;
	while (c8(vd, VIRTIO_C_STATUS) != 0) {
		if (hw_now_ns(vd->hw) > end) {
			log_error("virtio", "%s: reset did not complete in 1 s", name);
			return TERN_ETIMEDOUT;
		}
		hw_delay_us(vd->hw, 10);
	}
	w8(vd, VIRTIO_C_STATUS, VIRTIO_S_ACK);
	w8(vd, VIRTIO_C_STATUS, VIRTIO_S_ACK | VIRTIO_S_DRIVER);

	w32(vd, VIRTIO_C_DFSELECT, 0);
	uint64_t dev = c32(vd, VIRTIO_C_DF);
	w32(vd, VIRTIO_C_DFSELECT, 1);
	dev |= (uint64_t)c32(vd, VIRTIO_C_DF) << 32;
	if (!((dev >> VIRTIO_F_VERSION_1) & 1)) {
		log_error("virtio", "%s: device does not offer VERSION_1 (features 0x%llx)",
		    name, (unsigned long long)dev);
		w8(vd, VIRTIO_C_STATUS, VIRTIO_S_FAILED);
		return TERN_ENOTSUP;
	}
	if ((dev & wanted & vd->together) != (wanted & vd->together))
		wanted &= ~vd->together;
	wanted |= 1ULL << VIRTIO_F_VERSION_1;
	/* Our DMA addresses are physical, which is what ACCESS_PLATFORM
	   means without an IOMMU; a device that insists on it still works. */
	wanted |= 1ULL << VIRTIO_F_ACCESS_PLATFORM;
	vd->features = dev & wanted;
	w32(vd, VIRTIO_C_GFSELECT, 0);
	w32(vd, VIRTIO_C_GF, (uint32_t)vd->features);
	w32(vd, VIRTIO_C_GFSELECT, 1);
	w32(vd, VIRTIO_C_GF, (uint32_t)(vd->features >> 32));
	w8(vd, VIRTIO_C_STATUS, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	if (!(c8(vd, VIRTIO_C_STATUS) & VIRTIO_S_FEATURES_OK)) {
		log_error("virtio", "%s: device refused FEATURES_OK for features 0x%llx",
		    name, (unsigned long long)vd->features);
		w8(vd, VIRTIO_C_STATUS, VIRTIO_S_FAILED);
		return TERN_ENOTSUP;
	}
	msix_program(vd, VIRTIO_C_MSIX, vd->msix_entry, "configuration changes");
	return TERN_OK;
}

void
virtio_ready(struct virtio_dev *vd)
{
	w8(vd, VIRTIO_C_STATUS, VIRTIO_S_ACK | VIRTIO_S_DRIVER |
	    VIRTIO_S_FEATURES_OK | VIRTIO_S_DRIVER_OK);
}

static size_t
used_off(uint16_t n)
{
	return ((size_t)16 * n + 6 + 2 * (size_t)n + 3) & ~(size_t)3;
}

/*
 * EVENT_IDX (2.7.10): used_event is the avail ring's last field, after
 * ring[size]; avail_event the used ring's, after its size elements
 * (2.7.6, 2.7.8; both rings are allocated with room for them).
 */
static volatile uint16_t *
used_event_p(struct virtq *q)
{
	return &q->avail[2 + q->size];
}

static const volatile uint16_t *
avail_event_p(struct virtq *q)
{
	return (const volatile uint16_t *)(q->used + 4 + 8 * (size_t)q->size);
}

/* True when `event` is one of the indices old..new-1 just passed
   (2.7.10: "the other side asked to be told when it gets here"). */
static bool
event_passed(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* Interrupts wanted: at the next used entry (used_event = last_used).
   Not wanted: one behind, which the device's used index has already
   passed, so it would take 65,535 more completions to reach it again. */
static void
set_used_event(struct virtq *q)
{
	volatile uint16_t *ue = used_event_p(q);
	*ue = q->intr_on ? q->last_used : (uint16_t)(q->last_used - 1);
	hw_dma_sync_dev(q->vd->hw, (const void *)ue, 2);
}

/* Bind queue or config interrupts to MSI-X table entry `entry`, one the
   bus glue bound; a device that reads back anything else refused it
   (4.1.5.1.2.1) and the whole device falls back to polling. */
static bool
msix_program(struct virtio_dev *vd, uint32_t reg, uint16_t entry, const char *what)
{
	if (!vd->msix) {
		w16(vd, reg, VIRTIO_NO_VECTOR);
		return false;
	}
	w16(vd, reg, entry);
	uint16_t got = c16(vd, reg);
	if (got == entry)
		return true;
	log_warn("virtio", "%s: device refused MSI-X entry %u for %s (reads %u); polling",
	    vd->hw->name, entry, what, got);
	w16(vd, reg, VIRTIO_NO_VECTOR);
	vd->msix = false;
	return false;
}

int
virtq_setup(struct virtio_dev *vd, struct virtq *q, uint16_t index, uint16_t max)
{
	return virtq_setup_vec(vd, q, index, max, vd->msix_entry);
}

int
virtq_setup_vec(struct virtio_dev *vd, struct virtq *q, uint16_t index, uint16_t max,
    uint16_t entry)
{
	memset(q, 0, sizeof(*q));
	q->vd = vd;
	q->index = index;
	w16(vd, VIRTIO_C_Q_SELECT, index);
	uint16_t dsize = c16(vd, VIRTIO_C_Q_SIZE);
	if (dsize == 0 || dsize == 0xffff) {
		log_error("virtio", "%s: queue %u has size %u", vd->hw->name, index, dsize);
		return TERN_EINVAL;
	}
	uint16_t n = dsize < max ? dsize : max;
	if (n > VIRTQ_MAX_SIZE)
		n = VIRTQ_MAX_SIZE;
	while (n & (n - 1))
		n &= (uint16_t)(n - 1);		/* round down to a power of two */
	size_t bytes = used_off(n) + 6 + 8 * (size_t)n;
	if (hw_dma_alloc(vd->hw, bytes, 4096, &q->mem) != 0) {
		log_error("virtio", "%s: no DMA memory for queue %u", vd->hw->name, index);
		return TERN_ENOMEM;
	}
	memset(q->mem.va, 0, q->mem.len);
	q->size = n;
	q->desc = q->mem.va;
	q->avail = (volatile uint16_t *)((uint8_t *)q->mem.va + 16 * (size_t)n);
	q->used = (volatile uint8_t *)q->mem.va + used_off(n);
	for (uint16_t i = 0; i < n; i++)
		q->dnext[i] = (uint16_t)(i + 1);
	q->free_head = 0;
	q->nfree = n;

	w16(vd, VIRTIO_C_Q_SIZE, n);
	q->intr = msix_program(vd, VIRTIO_C_Q_MSIX, entry, "a queue");
	q->event_idx = virtio_has(vd, VIRTIO_F_EVENT_IDX);
	q->intr_on = q->intr;
	/* Polled queues ask the device not to interrupt: by the flag, and
	   with EVENT_IDX (which makes the device ignore the flag) by a
	   used_event just behind the used index (see set_used_event). */
	q->avail[0] = q->intr ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
	hw_dma_sync_dev(vd->hw, (const void *)&q->avail[0], 2);
	if (q->event_idx)
		set_used_event(q);
	w64(vd, VIRTIO_C_Q_DESC, q->mem.pa);
	w64(vd, VIRTIO_C_Q_AVAIL, q->mem.pa + 16 * (uint64_t)n);
	w64(vd, VIRTIO_C_Q_USED, q->mem.pa + used_off(n));
	q->notify_off = (uint32_t)c16(vd, VIRTIO_C_Q_NOFF) * vd->notify_mult;
	if ((uint64_t)q->notify_off + 2 > vd->notify.len) {
		log_error("virtio", "%s: queue %u notify offset %u outside the notify window (%u)",
		    vd->hw->name, index, q->notify_off, vd->notify.len);
		hw_dma_free(vd->hw, &q->mem);
		q->size = 0;
		return TERN_EINVAL;
	}
	w16(vd, VIRTIO_C_Q_ENABLE, 1);
	return TERN_OK;
}

void
virtq_use_indirect(struct virtq *q, uint16_t max_chain)
{
	struct virtio_dev *vd = q->vd;

	if (!virtio_has(vd, VIRTIO_F_INDIRECT_DESC) || max_chain < 2)
		return;
	if (max_chain > VIRTQ_IND_MAX)
		max_chain = VIRTQ_IND_MAX;
	size_t bytes = (size_t)q->size * max_chain * sizeof(struct virtq_desc);
	if (hw_dma_alloc(vd->hw, bytes, 4096, &q->ind_mem) != 0) {
		log_warn("virtio", "%s: no DMA memory for queue %u's indirect tables; direct chains",
		    vd->hw->name, q->index);
		return;
	}
	q->ind_max = max_chain;
}

void
virtq_intr(struct virtq *q, bool on)
{
	if (!q->intr)
		return;
	q->intr_on = on;
	q->avail[0] = on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
	hw_dma_sync_dev(q->vd->hw, (const void *)&q->avail[0], 2);
	if (q->event_idx)
		set_used_event(q);
	hw_mb();
}

void
virtq_free(struct virtio_dev *vd, struct virtq *q)
{
	if (q->ind_mem.va != NULL)
		hw_dma_free(vd->hw, &q->ind_mem);
	if (q->mem.va != NULL)
		hw_dma_free(vd->hw, &q->mem);
	q->ind_max = 0;
	q->size = 0;
}

static void
fill_desc(struct virtq_desc *e, const struct virtq_buf *b, bool more, uint16_t next)
{
	e->addr = b->pa;
	e->len = b->len;
	e->flags = (uint16_t)((b->device_writes ? VIRTQ_DESC_F_WRITE : 0) |
	    (more ? VIRTQ_DESC_F_NEXT : 0));
	e->next = more ? next : 0;
}

int
virtq_add(struct virtq *q, const struct virtq_buf *bufs, int n, void *cookie)
{
	bool indirect = n > 1 && n <= q->ind_max;
	int need = indirect ? 1 : n;

	if (n < 1 || cookie == NULL || (!indirect && n > q->size))
		return TERN_EINVAL;
	if (need > q->nfree)
		return TERN_EAGAIN;
	uint16_t head = q->free_head, d = head;
	if (indirect) {
		/* One ring descriptor pointing at this head's table (2.7.5.3). */
		struct virtq_desc *t = (struct virtq_desc *)q->ind_mem.va +
		    (size_t)head * q->ind_max;
		for (int i = 0; i < n; i++)
			fill_desc(&t[i], &bufs[i], i + 1 < n, (uint16_t)(i + 1));
		hw_dma_sync_dev(q->vd->hw, t, (size_t)n * sizeof(*t));
		struct virtq_desc *e = &q->desc[head];
		e->addr = q->ind_mem.pa + (uint64_t)head * q->ind_max * sizeof(*t);
		e->len = (uint32_t)(n * (int)sizeof(*t));
		e->flags = VIRTQ_DESC_F_INDIRECT;
		e->next = 0;
		hw_dma_sync_dev(q->vd->hw, e, sizeof(*e));
		d = q->dnext[head];
		q->indirect_chains++;
	} else {
		for (int i = 0; i < n; i++) {
			uint16_t next = q->dnext[d];
			fill_desc(&q->desc[d], &bufs[i], i + 1 < n, next);
			hw_dma_sync_dev(q->vd->hw, &q->desc[d], sizeof(q->desc[d]));
			d = next;
		}
	}
	q->free_head = d;
	q->nfree = (uint16_t)(q->nfree - need);
	q->dcount[head] = (uint16_t)need;
	q->cookie[head] = cookie;
	volatile uint16_t *ring = &q->avail[2 + (q->avail_idx & (q->size - 1))];
	*ring = head;
	hw_dma_sync_dev(q->vd->hw, (const void *)ring, 2);
	q->avail_idx++;
	return TERN_OK;
}

void
virtq_kick(struct virtq *q)
{
	/* Descriptors and ring entries (synced by virtq_add) before the
	   index (2.7.13). */
	hw_wmb();
	q->avail[1] = q->avail_idx;
	hw_dma_sync_dev(q->vd->hw, (const void *)&q->avail[1], 2);
	/* The index before avail_event is read (2.7.13.4): a device that
	   stops looking writes avail_event and then reads the index
	   again, so one of the two sides sees the other. */
	hw_mb();
	if (q->event_idx) {
		uint16_t old = q->kicked_idx;
		q->kicked_idx = q->avail_idx;
		uint16_t ev = hw_dma_load16(q->vd->hw, avail_event_p(q));
		if (!event_passed(ev, q->avail_idx, old)) {
			q->notifies_saved++;
			return;
		}
	}
	q->notifies++;
	hw_write16(q->vd->notify.bar, q->vd->notify.off + q->notify_off, q->index);
}

void
virtq_notify(struct virtq *q)
{
	hw_wmb();
	q->avail[1] = q->avail_idx;
	hw_dma_sync_dev(q->vd->hw, (const void *)&q->avail[1], 2);
	hw_mb();
	q->kicked_idx = q->avail_idx;
	q->notifies++;
	hw_write16(q->vd->notify.bar, q->vd->notify.off + q->notify_off, q->index);
}

/* virtq_get after it read a used index that moved. */
void *
virtq_take(struct virtq *q, uint16_t idx, uint32_t *len)
{
	struct hw_dev *hw = q->vd->hw;
	if ((uint16_t)(idx - q->last_used) > q->size) {
		q->bad_used++;
		log_error("virtio", "%s: queue %u used index jumped from %u to %u",
		    hw->name, q->index, q->last_used, idx);
		q->vd->broken = true;
		return NULL;
	}
	hw_rmb();
	const volatile uint8_t *ep = q->used + 4 + 8 * (size_t)(q->last_used & (q->size - 1));
	hw_dma_sync_cpu(hw, (const void *)ep, 8);
	uint32_t id = *(const volatile uint32_t *)ep;
	uint32_t l = *(const volatile uint32_t *)(ep + 4);
	if (id >= q->size || q->cookie[id] == NULL) {
		q->bad_used++;
		log_error("virtio", "%s: queue %u used id %u is not in flight", hw->name,
		    q->index, id);
		q->vd->broken = true;
		return NULL;
	}
	q->last_used++;
	void *cookie = q->cookie[id];
	q->cookie[id] = NULL;
	/* Return the chain to the free list.  The walk uses our own copy of
	   the links, so it is as long as what we put in, whatever the
	   device did to the descriptor table. */
	uint16_t d = (uint16_t)id;
	for (uint16_t i = 1; i < q->dcount[id]; i++)
		d = q->dnext[d];
	q->dnext[d] = q->free_head;
	q->free_head = (uint16_t)id;
	q->nfree = (uint16_t)(q->nfree + q->dcount[id]);
	/* Interrupts on: ask for the next completion after this one, as
	   the flag would (with EVENT_IDX one interrupt per used_event). */
	if (q->event_idx && q->intr_on)
		set_used_event(q);
	*len = l;
	return cookie;
}

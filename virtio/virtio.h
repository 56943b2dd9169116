/*
 * virtio.h - the bus-independent virtio core: the modern transport over
 * four register windows (common, notify, ISR, device), feature
 * negotiation, and split virtqueues (virtio.c).  The PCI glue
 * (virtio_pci.c) finds the windows; the device drivers (virtio_blk.c,
 * virtio_net.c) sit on top.  All register access goes through the
 * hardware seam, so the same code runs against simulators on the host.
 */
#ifndef TERN_VIRTIO_H
#define TERN_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hw/hw.h"
#include "virtio/virtio_reg.h"

/* A register window: a BAR plus the offset of the structure in it. */
struct virtio_win {
	struct hw_bar *bar;
	uint32_t off;
	uint32_t len;
};

#define VIRTQ_MAX_SIZE	256	/* we never use more entries than this */
#define VIRTQ_IND_MAX	40	/* entries per indirect table */

struct virtq {
	struct virtio_dev *vd;
	uint16_t index;
	uint16_t size;		/* entries in use (power of two) */
	uint16_t free_head;	/* first free descriptor */
	uint16_t nfree;
	uint16_t last_used;	/* next used-ring index to look at */
	uint16_t avail_idx;	/* our shadow of avail->idx */
	uint32_t notify_off;	/* byte offset in the notify window */
	struct hw_dma mem;	/* desc table, avail ring, used ring */
	struct virtq_desc *desc;
	volatile uint16_t *avail;	/* flags, idx, ring[size] */
	volatile uint8_t *used;		/* flags, idx, elems[size] */
	void *cookie[VIRTQ_MAX_SIZE];	/* per head descriptor */
	/* The free list and chain lengths are kept in driver memory: the
	   descriptor table is DMA memory the device could scribble on, and
	   a corrupted next field must not corrupt our bookkeeping. */
	uint16_t dnext[VIRTQ_MAX_SIZE];
	uint16_t dcount[VIRTQ_MAX_SIZE];	/* descriptors per head */
	/* Indirect tables (VIRTIO_F_INDIRECT_DESC): one per head, ind_max
	   entries each; ind_max 0 when not in use. */
	struct hw_dma ind_mem;
	uint16_t ind_max;
	bool intr;			/* an MSI-X vector is bound */
	/* VIRTIO_F_EVENT_IDX (2.7.10): notifications in both directions
	   are asked for by index.  kicked_idx is avail->idx as last
	   published; intr_on whether the driver wants interrupts now. */
	bool event_idx;
	bool intr_on;
	uint16_t kicked_idx;
	uint64_t notifies;		/* doorbells written */
	uint64_t notifies_saved;	/* publishes the device said need none */
	uint64_t bad_used;		/* rejected used-ring entries */
	uint64_t indirect_chains;	/* chains sent as an indirect table */
};

struct virtio_dev {
	struct hw_dev *hw;
	struct virtio_win common, notify, isr, device;
	uint32_t notify_mult;
	uint64_t features;	/* negotiated */
	bool broken;		/* device gone or needs reset: stop using it */
	/* MSI-X: the bus glue sets msix and msix_entry when it bound a
	   vector to table entry msix_entry; virtio_init/virtq_setup program
	   it and fall back to polling when the device refuses it. */
	bool msix;
	uint16_t msix_entry;
	/* Table entries the bus glue bound: msix_entry up to msix_entry +
	   msix_count - 1 (1 when it bound only msix_entry; 0 read as 1). */
	uint16_t msix_count;
	uint64_t intrs;		/* interrupts taken (bus glue counts) */
	/* Features a driver takes all together or not at all (a feature
	   that requires another, e.g. net MQ requires CTRL_VQ): when the
	   device lacks one of them, virtio_init asks for none.  0: none. */
	uint64_t together;
};

/*
 * Reset, acknowledge, and negotiate: the driver wants `wanted` (VERSION_1
 * is always required and added).  Returns TERN_OK with vd->features set,
 * TERN_ENOTSUP when the device lacks VERSION_1 or refuses FEATURES_OK,
 * TERN_ENODEV when the registers read all-ones, TERN_ETIMEDOUT when reset
 * does not complete within 1 s.  On failure the device is left in FAILED.
 */
int virtio_init(struct virtio_dev *vd, uint64_t wanted);
/* Set DRIVER_OK: the device is live. */
void virtio_ready(struct virtio_dev *vd);
/* Write 0 to status (device stops using all queues) and wait for it. */
void virtio_reset(struct virtio_dev *vd);
static inline bool
virtio_has(const struct virtio_dev *vd, int bit)
{
	return (vd->features >> bit) & 1;
}
/* True (and vd->broken set, logged once) if the device needs a reset or
   has disappeared (status reads 0xff). */
bool virtio_check_broken(struct virtio_dev *vd);

/* Device-specific configuration reads (generation-checked by callers). */
uint8_t virtio_cfg8(struct virtio_dev *vd, uint32_t off);
uint16_t virtio_cfg16(struct virtio_dev *vd, uint32_t off);
uint32_t virtio_cfg32(struct virtio_dev *vd, uint32_t off);
uint64_t virtio_cfg64(struct virtio_dev *vd, uint32_t off);

/*
 * Set up queue `index` with at most `max` entries (the device's size is
 * honoured when smaller).  TERN_EINVAL for a queue size of 0 or not a
 * power of two, TERN_ENOMEM when DMA memory runs out.
 */
int virtq_setup(struct virtio_dev *vd, struct virtq *q, uint16_t index, uint16_t max);
/* The same with the queue's interrupt bound to MSI-X table entry
   `entry` (one the bus glue bound, see msix_count) instead of
   msix_entry; polled when the device refuses it. */
int virtq_setup_vec(struct virtio_dev *vd, struct virtq *q, uint16_t index,
    uint16_t max, uint16_t entry);
/*
 * Use indirect tables of up to `max_chain` entries for chains of more
 * than one buffer, if VIRTIO_F_INDIRECT_DESC was negotiated.  Then every
 * chain takes one ring descriptor.  Without the feature, or when the DMA
 * memory is not there, the queue keeps using direct chains (logged).
 */
void virtq_use_indirect(struct virtq *q, uint16_t max_chain);
/* Turn the device's interrupts for this queue on or off (only matters
   when an MSI-X vector is bound; polled queues stay off). */
void virtq_intr(struct virtq *q, bool on);
void virtq_free(struct virtio_dev *vd, struct virtq *q);

/* One buffer of a chain for virtq_add. */
struct virtq_buf {
	uint64_t pa;
	uint32_t len;
	bool device_writes;
};

/*
 * Put a chain on the available ring (not yet visible to the device until
 * virtq_kick).  Returns TERN_EAGAIN when there are not enough free
 * descriptors, TERN_EINVAL for n < 1 or a chain longer than the queue
 * can ever take.  `cookie` (not NULL) comes back from virtq_get.
 */
int virtq_add(struct virtq *q, const struct virtq_buf *bufs, int n, void *cookie);
/* Publish added chains and notify the device; with EVENT_IDX only when
   the device's avail_event lies among the newly published entries. */
void virtq_kick(struct virtq *q);
/*
 * Take the next completed chain: returns its cookie and the length the
 * device wrote in *len, or NULL when none.  An entry with an id out of
 * range or not in flight is counted in bad_used, the device is marked
 * broken, and NULL is returned.
 */
void *virtq_take(struct virtq *q, uint16_t idx, uint32_t *len);	/* idx: the used index read */
static inline void *
virtq_get(struct virtq *q, uint32_t *len)
{
	/* Inline the usual answer of a poll loop's last call: nothing. */
	uint16_t idx = hw_dma_load16(q->vd->hw, q->used + 2);
	return idx == q->last_used ? NULL : virtq_take(q, idx, len);
}
/* Whether the device has completed a chain virtq_get has not taken (the
   used index moved): a look, nothing taken. */
static inline bool
virtq_pending(struct virtq *q)
{
	return hw_dma_load16(q->vd->hw, q->used + 2) != q->last_used;
}
/* Publish the avail index and ring the doorbell whatever avail_event
   says (a notification the device did not ask for is allowed). */
void virtq_notify(struct virtq *q);

/* Driver entry points registered with the PCI bus (virtio_pci.c). */
struct virtio_blk_softc;
struct virtio_net_softc;
int virtio_blk_attach_core(struct virtio_blk_softc *sc, struct virtio_dev *vd, int unit);
int virtio_net_attach_core(struct virtio_net_softc *sc, struct virtio_dev *vd, int unit);

#endif

/*
 * virtio_sim.h - a virtio 1.x device simulator behind the hardware seam
 * (host only), written from the virtio v1.2 specification: the modern PCI
 * register layout QEMU uses (common config at BAR4+0, ISR +0x1000, device
 * config +0x2000, notify +0x3000, multiplier 4; see virtio_regnames.h),
 * split virtqueues with indirect tables, MSI-X vector registers, and two
 * device types:
 *   - block (5.2): a RAM disk; IN, OUT and FLUSH; size_max/seg_max
 *     enforced as the driver's obligations;
 *   - network (5.1): queue 1 captures transmitted frames, queue 0 holds
 *     posted receive buffers that vsim_net_inject() fills.  With `mq`
 *     set the device offers VIRTIO_NET_F_MQ + CTRL_VQ and mq_max
 *     max_virtqueue_pairs (any value, hostile ones too): pair k is
 *     queues 2k/2k+1, the control queue 2 * mq_max (when mq_max <=
 *     VSIM_MAX_PAIRS) answers VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET strictly
 *     (class, command, size and range checked), and a transmit on a
 *     pair the driver did not enable is a violation.
 * Queues are processed when the driver notifies.  With
 * VIRTIO_F_EVENT_IDX negotiated (2.7.10) the device asks for every
 * notification on the transmit, control and block queues (avail_event
 * = the next entry, after each notify), but reads the receive ring on
 * its own while it has buffers left and asks for a notify (avail_event,
 * rx_waiting) only once it finds the ring empty; until then it does not
 * look at the ring at all, so a driver that skips a notify the index
 * called for loses frames.  Interrupts follow used_event.  Guest "physical"
 * addresses are host pointers (hw_virt_to_phys is the identity).
 *
 * The simulator checks the driver: anything the spec forbids (a
 * descriptor chain that loops or runs past the table, INDIRECT together
 * with NEXT, readable after writable buffers, DRIVER_OK before
 * FEATURES_OK, features the device did not offer, ring memory not from
 * hw_dma_alloc, a freed DMA region still in use) is a violation; tests
 * assert there are none.  Faults make it a hostile device.
 */
#ifndef TERN_TESTS_VIRTIO_SIM_H
#define TERN_TESTS_VIRTIO_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hw/hw.h"

enum vsim_type { VSIM_NET = 1, VSIM_BLK = 2 };

/* Faults: counts are completions before the fault; -1 is off. */
struct vsim_faults {
	bool refuse_features_ok;	/* FEATURES_OK never sticks */
	bool no_version1;		/* VERSION_1 not offered */
	bool refuse_msix;		/* vector registers read NO_VECTOR */
	bool zero_queue_size;		/* every queue_size reads 0 */
	int bad_used_id_after;		/* used id = queue size + 7 */
	int stale_used_id_after;	/* used id names a chain not in flight */
	int huge_used_len_after;	/* used len far past the buffers */
	int needs_reset_after;		/* sets DEVICE_NEEDS_RESET, stops */
	int gone_after;			/* every read all-ones, stops */
	int status_after;		/* blk: status byte IOERR once */
	bool ctrl_refuse;		/* net: control commands get VIRTIO_NET_ERR */
	bool ctrl_silent;		/* net: control commands never answered */
	bool ctrl_no_ack;		/* net: completed with used len 0, ack unwritten */
	int zero_size_q;		/* this queue reads size 0 (-1: off) */
	int dma_fail_after;		/* hw_dma_alloc fails once after this
					   many successes (-1: off) */
};

#define VSIM_MAX_FRAMES	512
#define VSIM_MAX_BUFS	64
#define VSIM_MAX_PAIRS	8
#define VSIM_MAX_Q	(2 * VSIM_MAX_PAIRS + 1)

struct vsim_queue {
	uint16_t size, max, msix, enable;
	uint64_t desc, avail, used;
	uint16_t last_avail, used_idx;
	/* net RX: heads posted and not yet filled, FIFO */
	uint16_t rx_heads[256];
	uint16_t rx_head, rx_count;
	/* VIRTIO_F_EVENT_IDX, net RX: the device ran out of buffers, wrote
	   avail_event and reads the ring again only when notified. */
	bool rx_waiting;
};

struct vsim {
	enum vsim_type type;
	struct hw_dev *hw;
	struct vsim_faults f;

	/* transport registers */
	uint64_t dev_features, drv_features;
	uint32_t dfsel, gfsel;
	uint16_t config_msix;
	uint8_t status, gen, isr;
	uint16_t qsel;
	struct vsim_queue q[VSIM_MAX_Q];
	uint8_t cfg[64];		/* device-specific configuration */
	uint16_t msix_vectors;		/* table entries (default 3) */

	/* network multiqueue (set before attach) and what the driver did */
	bool mq;			/* offer MQ + CTRL_VQ */
	uint16_t mq_max;		/* max_virtqueue_pairs, as offered */
	uint16_t pairs;			/* enabled by VQ_PAIRS_SET (1 after reset) */
	uint64_t ctrl_cmds;		/* control commands seen */
	uint64_t tx_by_pair[VSIM_MAX_PAIRS];	/* frames transmitted per pair */
	uint64_t gso_frames;		/* TSO frames cut into segments (offer
					   VIRTIO_NET_F_HOST_TSO4 in
					   dev_features to allow them) */

	/* block */
	uint8_t *disk;
	uint64_t sectors;
	uint32_t seg_max, size_max;	/* 0: not offered */
	uint64_t reads, writes, flushes;

	/* network: transmitted frames go to on_tx when it is set (ternsim's
	   wire; the frame is only valid during the call), else they are
	   captured in frames[] */
	void (*on_tx)(void *ctx, const uint8_t *frame, uint32_t len);
	void *tx_ctx;
	uint8_t *frames[VSIM_MAX_FRAMES];
	uint32_t frame_len[VSIM_MAX_FRAMES];
	uint16_t frame_pair[VSIM_MAX_FRAMES];	/* queue pair it was sent on */
	int nframes;

	/* what happened */
	uint64_t now_ns;
	uint64_t completions, irqs, indirect_chains, chains, notifies;
	bool stopped;			/* needs reset / gone */
	bool gone;
	int violations;
	char violation[256];		/* the first one */
	int dma_live;			/* hw_dma_alloc regions not freed */
	/* Held block completions: with hold_blk, requests run at notify as
	   always but their used entries wait here, in arrival order, until
	   vsim_blk_release puts them on the used ring. */
	bool hold_blk;
	struct { uint16_t head; uint32_t len; } held[256];
	int nheld;
	/* Held transmit completions: with hold_tx, frames go out at notify
	   as always but their used entries wait (QEMU completes transmits
	   later, from its own thread) until vsim_net_tx_release. */
	bool hold_tx;
	/* Lost notifications: the next lose_notifies doorbells are
	   ignored (counted in lost_notifies). */
	int lose_notifies;
	uint64_t lost_notifies;
	struct { uint16_t qi, head; } txheld[1024];
	int ntxheld;
	struct vsim_region { uintptr_t va; size_t len; } regions[64];
};

/* Set up a simulated device of `type` behind hw (its ops and backend),
   default features, 8 MiB disk or MAC 52:54:00:12:34:56, no faults. */
void vsim_init(struct vsim *s, enum vsim_type type, struct hw_dev *hw);
void vsim_fini(struct vsim *s);
/* Offer VIRTIO_NET_F_MTU with `mtu` in the config space (before attach). */
void vsim_net_set_mtu(struct vsim *s, uint16_t mtu);
/* Deliver a frame to the next posted receive buffer: 0, or -1 when no
   buffer is posted.  A frame larger than one buffer is spread over
   several when the driver took VIRTIO_NET_F_MRG_RXBUF (as
   vsim_net_inject_hdr with num_buffers set), else refused.  Raises the
   used length by `extra_len` (a hostile device lying about the length;
   single-buffer frames only). */
int vsim_net_inject(struct vsim *s, const void *frame, uint32_t len, uint32_t extra_len);
/* Deliver a frame with the virtio header `hdr` as given (checksum flags,
   offsets, GSO type): a frame longer than one buffer is spread over
   hdr->num_buffers buffers.  0, or -1 when too few buffers are posted or
   they cannot hold the frame. */
struct virtio_net_hdr;
int vsim_net_inject_hdr(struct vsim *s, const struct virtio_net_hdr *hdr,
    const void *frame, uint32_t len);
/* Receive buffers currently posted. */
int vsim_net_posted(const struct vsim *s);
/* The same on queue pair k's receive queue: -1 when the pair is not
   enabled (VQ_PAIRS_SET) or no buffer is posted. */
int vsim_net_inject_pair(struct vsim *s, int k, const void *frame, uint32_t len);
int vsim_net_posted_pair(const struct vsim *s, int k);

/* Put the `n` oldest held transmit completions on their used rings;
   returns how many there were. */
int vsim_net_tx_release(struct vsim *s, int n);
/* Put held block completion k (0 = the oldest held) on the used ring:
   0, or -1 when there is no such entry. */
int vsim_blk_release(struct vsim *s, int k);

extern const struct hw_ops vsim_ops;

#endif

/*
 * virtio_var.h - driver state (softcs) of the virtio drivers.
 */
#ifndef TERN_VIRTIO_VAR_H
#define TERN_VIRTIO_VAR_H

#include "kernel/dev/blk.h"
#include "kernel/dev/nic.h"
#include "virtio/virtio.h"

/* What the bus glue sets up for every virtio function. */
struct pci_msix;
struct virtio_bus {
	struct hw_dev hw;
	struct hw_bar bars[6];
	struct virtio_dev vd;
	struct pci_msix *msix;	/* kernel PCI glue: NULL when polled */
};

#define VBLK_SLOTS	64
struct vblk_slot {
	struct virtio_blk_req_hdr hdr;
	uint8_t status;
	uint8_t pad[15];
};

struct virtio_blk_softc {
	struct virtio_bus bus;
	struct blk_dev blk;
	struct virtq q;
	struct hw_dma slots_mem;	/* VBLK_SLOTS request headers */
	struct vblk_slot *slots;
	struct blk_req *inflight[VBLK_SLOTS];
	uint32_t free_slots[VBLK_SLOTS];
	uint32_t nfree;
	uint32_t seg_max;		/* data descriptors per request */
	uint32_t size_max;		/* bytes per data descriptor */
	uint32_t sectors_per_block;
	bool detached;			/* vblk_stop ran since attach */
};

#define VNET_RX_BUFS	128
#define VNET_TX_SLOTS	128
#define VNET_BUF_SIZE	2048
#define VNET_HDR_SIZE	12
#define VNET_TX_MAX_FRAGS 17	/* nic_bufs per transmitted frame */
#define VNET_MTU_MAX	9000	/* with MRG_RXBUF: frames span buffers */

/*
 * Queue pairs set up at most (VIRTIO_NET_F_MQ): one per CPU is the aim;
 * four spread flows over a multi-queue TAP and /stats names four
 * (pal/rt_api.c).  Each pair has its own receive pool and transmit
 * slots, so one CPU per queue needs no lock.
 */
#define VNET_MAX_PAIRS	4
_Static_assert(VNET_MAX_PAIRS <= NIC_MAX_QUEUES, "kernel/dev/nic.h queue limit");

/*
 * A receive pool, one per queue pair: VNET_RX_BUFS buffers of
 * VNET_BUF_SIZE bytes, then this header with their nic_bufs, in one DMA
 * allocation apart from the softc.  The upper layer may still hold lent
 * buffers when the device is detached and its softc freed
 * (kernel/dev/nic.h, lifetime), so each pool outlives the softc: detach
 * orphans it (sc = NULL) with the count of buffers still out, and the
 * last release frees it.
 */
struct vnet_rxpool {
	struct hw_dma mem;		/* this allocation */
	struct hw_dev hw;		/* a copy of the device's seam handle:
					   frees mem once the softc is gone */
	struct virtio_net_softc *sc;	/* NULL once orphaned */
	uint16_t qi;			/* the queue pair it feeds */
	uint32_t out;			/* orphaned: buffers not yet back */
	struct nic_buf bufs[VNET_RX_BUFS];
};

/* One queue pair (virtqueues 2k and 2k+1): touched by its queue's CPU
   only (kernel/dev/nic.h).  One exception while every queue runs on CPU
   0: a received buffer is re-posted by whoever releases it; with queues
   on several CPUs releases must travel back to the queue's CPU first. */
struct vnet_queue {
	struct virtq rxq, txq;
	struct vnet_rxpool *rx;
	struct hw_dma tx_hdr_mem;	/* VNET_TX_SLOTS * VNET_HDR_SIZE */
	struct nic_buf *tx_chain[VNET_TX_SLOTS];
	uint32_t tx_free[VNET_TX_SLOTS];
	uint32_t tx_nfree;
	bool rx_kick_pending;
	bool tx_kick_pending;		/* frames sent during this poll pass */
	bool tx_wake;			/* a frame was refused: tx_ready from
					   the next poll that frees a slot */
	uint16_t rx_seen;		/* rxq.last_used at the last device
					   check (vnet_poll_device) */
	bool rx_rekicked;		/* forced a doorbell since it moved */
	uint16_t tx_seen;		/* the same for the transmit queue */
	bool tx_rekicked;
	bool in_poll;			/* vnet_poll runs on this queue */
	uint16_t rx_skip;		/* continuation buffers of a dropped
					   multi-buffer frame still to come */
	/* A frame arriving in several buffers (MRG_RXBUF) being assembled
	   into a nic_buf chain: head, tail, buffers still to come, bytes. */
	struct nic_buf *rx_head, *rx_tail;
	uint16_t rx_need;
	uint32_t rx_total;
};

struct virtio_net_softc {
	struct virtio_bus bus;
	struct nic nic;
	struct vnet_queue q[VNET_MAX_PAIRS];
	uint16_t npairs;		/* pairs with memory (pools, headers) */
	uint16_t nrings;		/* pairs with rings set up now; the
					   first nic.nqueues of them in use */
	uint16_t max_pairs;		/* device's max_virtqueue_pairs when
					   MQ is usable, else 0 */
	struct virtq ctrlq;		/* size 0 when not set up */
	struct hw_dma ctrl_mem;		/* one command: class, cmd, data, ack */
	uint64_t ctrl_failures;		/* commands refused or unanswered */
	uint16_t dev_check_in;		/* poll passes to the next status and
					   link read (1: this one) */
	uint64_t dev_checks;		/* status/link reads made */
};

/* Queue 0's poll passes per read of the device status and link state
   (vnet_poll_device). */
#define VNET_DEV_CHECK_PASSES	16

void virtio_blk_detach_core(struct virtio_blk_softc *sc);
void virtio_net_detach_core(struct virtio_net_softc *sc);
/*
 * Multiqueue control path (virtio_net_mq.c), for virtio_net.c's attach
 * and recovery.  virtio_net_pairs_offered: after negotiation, sets
 * max_pairs and returns the pairs to set up (1 without MQ or with a bad
 * max_virtqueue_pairs).  virtio_net_ctrl_setup/free: the control queue
 * (index 2 * max_pairs) and its command buffer.  virtio_net_mq_start:
 * after DRIVER_OK, asks for nrings pairs and sets nic.nqueues to what
 * the device confirmed (1 on any failure, logged).
 */
uint16_t virtio_net_pairs_offered(struct virtio_net_softc *sc);
int virtio_net_ctrl_setup(struct virtio_net_softc *sc);
void virtio_net_ctrl_free(struct virtio_net_softc *sc);
void virtio_net_mq_start(struct virtio_net_softc *sc);
/* Reset and set up again a broken device in place (virtio_net.c). */
int virtio_net_recover(struct virtio_net_softc *sc);

#endif

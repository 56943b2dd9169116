/*
 * nic.h - the one network interface every NIC driver implements
 * (virtio-net, ENA, netvsc) and the netstack consumes.
 *
 * Zero copy in both directions:
 *  - RX: the driver owns a pool of receive buffers.  When a frame arrives it
 *    hands the buffer itself (struct nic_buf, data pointing into the DMA
 *    buffer) to nic->rx().  From then on the upper layer owns it, may keep
 *    it as long as it likes (e.g. queued in a socket until the workload
 *    reads it) and MUST eventually call nic_buf_release(), which gives it
 *    back to the driver to be posted again.  Drivers hand up receive
 *    buffers with refs = 1; a layer that keeps a buffer past the call that
 *    lent it takes a reference with nic_buf_hold() and drops it with
 *    nic_buf_release(); the driver's release hook runs on the last one.  A driver that runs short of
 *    posted buffers counts rx_nobuf; it never blocks.
 *    A frame larger than one receive buffer MAY go up as a chain linked
 *    by nic_buf.next (virtio-net with mergeable buffers, MTU 9000).  The
 *    first buffer MUST hold at least NIC_RX_HDR_MIN bytes (or the whole
 *    frame), so the Ethernet, IPv4 and TCP/UDP headers are in it; the
 *    payload continues in the next ones.  The head carries the frame's
 *    checksum state and queue.  Every buffer of the chain is a reference
 *    of its own: the upper layer releases each one (nic_buf_release_chain
 *    when it keeps none), MAY keep single buffers of it, and MUST NOT
 *    follow `next` of a kept buffer after nic->rx returns.
 *  - TX: the upper layer passes a chain of buffer references (headers it
 *    wrote + payload still living in application memory).  The driver
 *    points descriptors at them (no copy when the device allows) and calls
 *    nic_buf_release() on every buffer of the chain once the device has
 *    finished with it (TX completion), or immediately on error.  Buffers
 *    must be physically contiguous within themselves (kernel heap, direct
 *    map and package memory are).  Devices that force a copy (ENA LLQ
 *    header push, netvsc send sections) count it in stats.tx_copy_bytes.
 * All calls are non-blocking and made from the scheduler loop or an
 * interrupt handler; nothing here takes a lock.
 *
 * Queues: a NIC has nqueues TX/RX queue pairs, numbered from 0.  Each
 * queue is touched by one CPU only (struct nic_queue.cpu; CPU 0 for all
 * of them today): its tx, poll and intr_enable calls never run
 * concurrently with each other, which is why no lock is needed.  Calls on
 * different queues MAY run on different CPUs; a driver keeps per-queue
 * state apart (its own ring, counters in nic.queue[q]).  The totals in
 * nic.stats are kept by the driver for queue 0's CPU and are approximate
 * once queues run on several CPUs.  The upper layer chooses the queue a
 * frame is sent on (the netstack: one per connection, by a hash); the
 * device chooses the queue a frame arrives on (nic_buf.queue).
 *
 * Re-entrancy (the contract both sides rely on):
 *  - Transmit never polls.  ops->tx MUST NOT reap receive completions or
 *    call nic->rx; a full ring is reported (TERN_EAGAIN), never waited
 *    for.  The upper layer MUST NOT call nic_poll from its transmit path
 *    to make room: what it does with a refused frame is its own choice
 *    (the netstack drops and counts it, see docs/netstack.md).
 *  - Transmit-ready (optional, nic.tx_wakes): a driver that sets
 *    tx_wakes promises that after ops->tx returned TERN_EAGAIN on queue
 *    q it calls nic->tx_ready(upper, q) exactly once, from ops->poll of
 *    queue q (never from inside ops->tx), when that queue can take
 *    frames again (the host drained the ring, a completion freed a
 *    slot).  A queue that keeps refusing gets one call per refusal
 *    episode, never a stream of them.  The upper layer MAY therefore stop
 *    offering frames on q after a TERN_EAGAIN and resume from tx_ready
 *    instead of retrying (no spin, no retransmission timeout); it MUST
 *    still bound that wait, for a driver or device that never drains.
 *    Drivers without tx_wakes never call tx_ready (ENA today): their
 *    refused frames are recovered by the senders' timers.  netvsc and
 *    virtio-net have tx_wakes.
 *  - Receive never re-enters the stack.  A driver calls nic->rx only from
 *    ops->poll, one frame at a time, and the upper layer never calls
 *    ops->poll from inside nic->rx (directly or through its transmit
 *    path).  So nic->rx is never re-entered for the same NIC; it MAY
 *    transmit (answer at once), and ops->tx MUST accept that call from
 *    inside ops->poll.
 *
 * Lifetime: a driver registers its NIC after attach (nic_register) and
 * unregisters it before detach (nic_unregister).  The registry tells its
 * listeners both; after the removal callback returns the upper layer no
 * longer calls into the NIC (it may still hold lent receive buffers: the
 * driver MUST keep their memory and release hook valid until the last one
 * comes back).  A NIC registered later with the same MAC may be taken up
 * by the same upper layer in place of the old one (the netstack rebinds
 * and its connections continue).
 */
#ifndef TERN_DEV_NIC_H
#define TERN_DEV_NIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nic;
struct nic_buf;

typedef void (*nic_buf_release_fn)(struct nic_buf *b);

struct nic_buf {
	uint8_t *data;		/* first valid byte */
	uint32_t len;		/* valid bytes */
	uint32_t cap;		/* bytes available from data to buffer end */
	struct nic_buf *next;	/* next fragment of the same frame (TX, RX) */
	nic_buf_release_fn release; /* owner's recycle hook */
	void *owner;		/* owner's context (driver softc, socket) */
	uint32_t refs;		/* references (RX); 0 or 1: one holder */
	uint16_t flags;		/* RX: NIC_RXCSUM_* state */
	uint16_t queue;		/* RX queue it arrived on */
	uint16_t csum_start;	/* RX, NIC_RXCSUM_PARTIAL: L4 header offset
				   from data; the checksum field is at
				   csum_start + csum_offset */
	uint16_t csum_offset;
	uint64_t cookie;	/* owner private (descriptor index, ...) */
};

/*
 * Receive checksum state: what the device says about the TCP or UDP
 * checksum of the IPv4 datagram in a received frame (flags &
 * NIC_RXCSUM_MASK).  Every driver maps its device's own flags onto these
 * four (virtio-net: VIRTIO_NET_HDR_F_DATA_VALID / NEEDS_CSUM; ENA: the
 * RX completion's L4 checksum checked/error bits; netvsc: the RNDIS
 * per-packet TCP/UDP checksum info), and the netstack honours them:
 *
 *  NONE     the device did not check.  The stack verifies in software.
 *  GOOD     the device verified the checksum and it is right.  The stack
 *           trusts it and does not recompute.
 *  BAD      the device verified the checksum and it is wrong.  The stack
 *           counts it (rx_csum_hw_bad) and verifies in software: a real
 *           bad frame is then dropped and counted as a bad checksum, a
 *           device's false alarm loses nothing.
 *  PARTIAL  the frame is valid but its checksum field holds only the
 *           pseudo-header sum, to be completed over csum_start..end
 *           (virtio 1.2 5.1.6.4.1: what a host kernel sends through a
 *           tap with a vnet header).  Such a frame never crossed a wire;
 *           the stack trusts it when csum_start/csum_offset name the
 *           TCP or UDP checksum field of the datagram it parsed, and
 *           verifies in software otherwise (which drops it).  A driver
 *           MUST check csum_start + csum_offset + 2 <= len before it
 *           hands up such a frame, and drop and count it otherwise.
 * The IPv4 header checksum, ICMP and reassembled fragments are always
 * verified in software (a device's state describes one frame's L4).
 */
#define NIC_RX_HDR_MIN		128	/* bytes of a chained frame's first buffer */

#define NIC_RXCSUM_MASK		0x0003
#define NIC_RXCSUM_NONE		0x0000
#define NIC_RXCSUM_GOOD		0x0001
#define NIC_RXCSUM_BAD		0x0002
#define NIC_RXCSUM_PARTIAL	0x0003

/* Drops one reference; the owner's hook runs when the last one goes. */
static inline void
nic_buf_release(struct nic_buf *b)
{
	if (b == NULL)
		return;
	if (b->refs > 1) {
		b->refs--;
		return;
	}
	b->refs = 0;
	if (b->release != NULL)
		b->release(b);
}

/* Takes one more reference on a buffer the caller was lent. */
static inline void
nic_buf_hold(struct nic_buf *b)
{
	b->refs = (b->refs == 0 ? 1 : b->refs) + 1;
}

/* Release every buffer of a chain (a TX completion, or a refused frame). */
static inline void
nic_buf_release_chain(struct nic_buf *b)
{
	while (b != NULL) {
		struct nic_buf *next = b->next;
		nic_buf_release(b);
		b = next;
	}
}

/*
 * TX metadata (v2): where the headers of the frame are and what the upper
 * layer asks of the device.  The upper layer fills the offsets for every
 * IPv4 frame it sends (flags 0 when it asks for nothing); a driver uses
 * what its device can do and ignores the rest.
 *  l3_off    offset of the IPv4 header from the frame start (14), 0 when
 *            the frame carries no IP
 *  l4_off    offset of the TCP/UDP header, 0 when none
 *  l4_proto  IP protocol of that header (6 TCP, 17 UDP), 0 when none
 *  mss       TCP payload bytes per segment for NIC_TX_TSO: the device
 *            cuts the payload into mss-sized segments (a TSO frame is a
 *            TCP/IPv4 frame of up to 64 KiB whose IPv4 length and
 *            pseudo-header sum cover the whole frame, with NIC_TX_CSUM_L4;
 *            the device fixes both per segment, numbers the segments'
 *            IPv4 ids from the frame's and puts PSH/FIN on the last)
 *  flags     NIC_TX_CSUM_L4: the L4 checksum field holds the pseudo-header
 *            sum (not complemented) and the device completes it over
 *            l4_off..end (valid only when the NIC offers NIC_OFF_TX_CSUM,
 *            and only with l4_proto TCP or UDP); NIC_TX_CSUM_IP4: the
 *            device computes the IPv4 header checksum (devices that can);
 *            NIC_TX_TSO: segment by mss (NIC_OFF_TSO4).
 * The checksum field lies at l4_off + 16 for TCP and l4_off + 6 for UDP
 * (nic_tx_csum_field()).
 */
struct nic_tx_meta {
	uint16_t l3_off;
	uint16_t l4_off;
	uint8_t l4_proto;
	uint8_t reserved;
	uint16_t mss;
	uint16_t flags;		/* NIC_TX_* */
};
#define NIC_TX_CSUM_L4		0x0001
#define NIC_TX_CSUM		NIC_TX_CSUM_L4	/* v1 name */
#define NIC_TX_CSUM_IP4		0x0002
#define NIC_TX_TSO		0x0004
#define NIC_PROTO_TCP		6
#define NIC_PROTO_UDP		17

/* Offset of the L4 checksum field from l4_off, or -1 for a protocol
   without one a device can complete. */
static inline int
nic_tx_csum_field(const struct nic_tx_meta *m)
{
	if (m->l4_proto == NIC_PROTO_TCP)
		return 16;
	if (m->l4_proto == NIC_PROTO_UDP)
		return 6;
	return -1;
}

/* Offload flags (nic.offloads). */
#define NIC_OFF_RX_CSUM		0x0001
#define NIC_OFF_TX_CSUM		0x0002
#define NIC_OFF_TSO4		0x0004

struct nic_stats {
	uint64_t rx_packets, rx_bytes, rx_drops, rx_errors, rx_nobuf;
	uint64_t tx_packets, tx_bytes, tx_drops, tx_errors, tx_ring_full;
	uint64_t tx_copy_bytes, rx_copy_bytes;	/* forced copies */
	uint64_t bad_completions;		/* device reply rejected */
	uint64_t rx_bad_offload;	/* frames dropped for offload metadata
					   the device must not send (GSO not
					   negotiated, checksum offsets outside
					   the frame, frames over one buffer) */
	uint64_t intrs;				/* interrupts taken (0: polled) */
	uint64_t tso_frames;			/* frames sent with NIC_TX_TSO */
	uint64_t rx_rekicks;			/* receive doorbells forced after
						   the device sat on posted buffers */
	uint64_t tx_rekicks;			/* the same for frames to send */
};

/* Per-queue counters (nic.queue[q].stats), kept by the queue's CPU. */
struct nic_queue_stats {
	uint64_t rx_packets, rx_bytes, rx_drops;
	uint64_t tx_packets, tx_bytes, tx_ring_full;
	uint64_t polls;		/* ops->poll calls on the queue */
};

#define NIC_MAX_QUEUES	8
#define NIC_NO_VECTOR	0xffff

struct nic_queue {
	uint16_t msix_vector;	/* MSI-X table entry of its RX completion
				   interrupt, NIC_NO_VECTOR when polled */
	uint16_t cpu;		/* the one CPU that touches the queue */
	struct nic_queue_stats stats;
};

struct nic_ops {
	/*
	 * Queue one frame for transmission on `queue`.  On TERN_OK the driver
	 * owns the chain until it releases it.  TERN_EAGAIN: ring full, the
	 * caller still owns the chain (it MUST NOT poll to make room: see
	 * the re-entrancy rule above).  `meta` MAY be NULL (nothing asked).
	 */
	int (*tx)(struct nic *n, int queue, struct nic_buf *chain,
	    const struct nic_tx_meta *meta);
	/* Reap RX and TX completions of `queue`, at most `budget` frames;
	   returns the number of frames processed (RX delivered + TX
	   completed).  The only place a driver calls nic->rx. */
	int (*poll)(struct nic *n, int queue, int budget);
	/* Enable or disable the completion interrupt of `queue` (polled
	   mode when off, or when the queue has no vector). */
	void (*intr_enable)(struct nic *n, int queue, bool on);
	/* Stop the device, release every buffer, free everything. */
	void (*detach)(struct nic *n);
	/* Whether ops->poll of `queue` would deliver a received frame now:
	   one look at the ring, nothing taken off it.  MAY be NULL (the
	   upper layer polls instead).  The idle path asks it after
	   intr_enable(on), for a frame that came before the interrupt was
	   on. */
	bool (*rx_pending)(struct nic *n, int queue);
};

struct nic {
	char name[16];		/* "virtio-net0", "ena0", "netvsc0" */
	uint8_t mac[6];
	uint16_t mtu;		/* L3 MTU, e.g. 1500 or 9001 */
	bool link_up;
	uint32_t offloads;	/* NIC_OFF_* the device provides */
	uint16_t nqueues;	/* TX/RX queue pairs in use, <= NIC_MAX_QUEUES */
	uint16_t headroom;	/* bytes the upper layer should reserve in
				   front of TX headers (0 for most) */
	const struct nic_ops *ops;
	void *sc;		/* driver softc */

	/* Set by the upper layer (netstack) before the first poll. */
	void (*rx)(void *upper, struct nic_buf *b);
	void (*link_change)(void *upper, bool up);
	/* Queue q takes frames again after a TERN_EAGAIN (see the
	   transmit-ready rule above); MAY be NULL.  Called from ops->poll
	   of q; MAY transmit. */
	void (*tx_ready)(void *upper, int q);
	void *upper;
	bool tx_wakes;		/* the driver calls tx_ready (set by it) */

	struct nic_stats stats;	/* totals over all queues */
	/* Optional (NULL: none): the driver's own counters for /stats, e.g.
	   "ena.resets".  Calls fn once per counter; names are static
	   strings.  Never blocks, touches no device. */
	void (*counters)(const struct nic *n,
	    void (*fn)(void *arg, const char *name, uint64_t v), void *arg);
	struct nic_queue queue[NIC_MAX_QUEUES];
	struct nic *next_nic;	/* registry list */
};

/*
 * Registry (kernel/dev/dev.c).  Drivers add their NICs after attach and
 * remove them before detach.  A listener hears of both: `added` for every
 * NIC already registered when it starts listening and for each new one,
 * `removed` before nic_unregister returns.  Listeners are called from the
 * driver's context (probe or detach), never from nic->rx.
 */
struct nic_listener {
	void (*added)(void *ctx, struct nic *n);
	void (*removed)(void *ctx, struct nic *n);
	void *ctx;
	struct nic_listener *next;	/* registry's */
};
int nic_register(struct nic *n);
/* TERN_ENOENT when n is not registered. */
int nic_unregister(struct nic *n);
struct nic *nic_first(void);
void nic_listen(struct nic_listener *l);

static inline int
nic_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	return n->ops->tx(n, q, chain, m);
}

static inline int
nic_poll_queue(struct nic *n, int q, int budget)
{
	return n->ops->poll(n, q, budget);
}

/* Poll every queue with `budget` each (callers that own all the queues). */
static inline int
nic_poll(struct nic *n, int budget)
{
	int work = 0;
	for (int q = 0; q < n->nqueues || q == 0; q++)
		work += n->ops->poll(n, q, budget);
	return work;
}

/* 1: a frame is waiting on some queue; 0: none; -1: the driver cannot
   tell (no rx_pending). */
static inline int
nic_rx_pending(struct nic *n)
{
	if (n->ops->rx_pending == NULL)
		return -1;
	for (int q = 0; q < n->nqueues || q == 0; q++)
		if (n->ops->rx_pending(n, q))
			return 1;
	return 0;
}

static inline void
nic_intr_enable(struct nic *n, int q, bool on)
{
	n->ops->intr_enable(n, q, on);
}

/* Fill a NIC's queue fields for a driver that has not: polled, CPU 0. */
static inline void
nic_queues_init(struct nic *n)
{
	for (int q = 0; q < NIC_MAX_QUEUES; q++) {
		n->queue[q].msix_vector = NIC_NO_VECTOR;
		n->queue[q].cpu = 0;
	}
}

#endif

/*
 * virtio_net.c - virtio network device (virtio v1.2 section 5.1) behind
 * kernel/dev/nic.h, zero copy in both directions, with one to
 * VNET_MAX_PAIRS queue pairs.
 *
 * RX: each queue pair k posts the VNET_RX_BUFS 2 KiB buffers of its own
 * DMA region (struct vnet_rxpool, which outlives a detach while the
 * stack holds buffers of it) to virtqueue 2k.  A received frame goes up
 * as the nic_buf describing its own buffer (data just past the 12-byte
 * virtio header, queue = k); when the upper layer releases it, it is
 * posted again on the same queue.  With mergeable receive buffers
 * (MRG_RXBUF, 5.1.6.4) a frame larger than one buffer (MTU up to 9000,
 * from VIRTIO_NET_F_MTU) spans num_buffers of them, the header only in
 * the first: they go up as one nic_buf chain (kernel/dev/nic.h), the
 * first holding at least NIC_RX_HDR_MIN bytes.  A chain longer than the
 * MTU allows is dropped and counted (rx_bad_offload).
 * The header's checksum flags become the NIC contract's receive checksum
 * state (kernel/dev/nic.h): DATA_VALID is GOOD, NEEDS_CSUM is PARTIAL
 * (offsets checked against the frame), nothing is NONE.
 * TX: virtqueue 2k+1 gets one chain per frame sent on queue k: a 12-byte
 * header from the pair's small DMA array, then the caller's buffers as
 * they are.  They go back to their owner (nic_buf_release) when the
 * device returns the chain.
 *
 * Multiqueue (5.1.6.5.5, the control path in virtio_net_mq.c): with
 * VIRTIO_NET_F_MQ and VIRTIO_NET_F_CTRL_VQ
 * (taken together or not at all) the device says how many pairs it has
 * (max_virtqueue_pairs, checked: 1 to 0x7fff, since the control queue
 * 2 * max must be selectable); we set up min(max, VNET_MAX_PAIRS) pairs
 * and the control queue, go live, and ask for them with
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, waiting at most VNET_CTRL_WAIT_NS for
 * the device's ack byte.  Refused, unanswered or garbled: one pair, as a
 * device starts (logged); the other rings stay set up but unused until
 * detach, since only a reset takes an enabled queue back.  The device
 * steers received flows to queues by its own hash; which queue a frame
 * is sent on is the upper layer's choice (docs/netstack.md).  Receive
 * queue k interrupts on MSI-X entry k when the bus glue bound one per
 * pair, all on entry 0 otherwise.  Without MQ the device sees exactly
 * the accesses of a single-queue driver (the recorded traces replay).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "virtio/virtio_var.h"

static int vnet_tx(struct nic *n, int queue, struct nic_buf *chain,
    const struct nic_tx_meta *meta);
static int vnet_poll(struct nic *n, int queue, int budget);
static void vnet_intr_enable(struct nic *n, int queue, bool on);
static void vnet_detach(struct nic *n);
static bool vnet_rx_pending(struct nic *n, int queue);

static const struct nic_ops vnet_ops = {
	.tx = vnet_tx,
	.poll = vnet_poll,
	.intr_enable = vnet_intr_enable,
	.detach = vnet_detach,
	.rx_pending = vnet_rx_pending,
};

/* The features attach (and virtio_net_recover) ask for.  MQ needs
   CTRL_VQ (5.1.3.1): both or neither (virtio_dev.together), so a device
   without MQ negotiates exactly what a single-queue driver does. */
#define VNET_MQ_FEATURES (1ULL << VIRTIO_NET_F_CTRL_VQ | 1ULL << VIRTIO_NET_F_MQ)
#define VNET_WANTED (1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS | \
	1ULL << VIRTIO_NET_F_MRG_RXBUF | 1ULL << VIRTIO_NET_F_CSUM | \
	1ULL << VIRTIO_NET_F_GUEST_CSUM | 1ULL << VIRTIO_NET_F_MTU | \
	1ULL << VIRTIO_NET_F_HOST_TSO4 | \
	1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_F_EVENT_IDX | VNET_MQ_FEATURES)

static int
rx_post(struct vnet_queue *vq, struct nic_buf *b)
{
	size_t i = (size_t)(b - vq->rx->bufs);
	struct virtq_buf vb = { vq->rx->mem.pa + i * VNET_BUF_SIZE, VNET_BUF_SIZE, true };
	return virtq_add(&vq->rxq, &vb, 1, b);
}

/* nic_buf release hook: the upper layer is done with a received frame;
   it goes back on the queue it came from.  After detach the buffer only
   counts down to the pool's own free. */
static void
rx_release(struct nic_buf *b)
{
	struct vnet_rxpool *p = b->owner;
	struct virtio_net_softc *sc = p->sc;
	if (sc == NULL) {
		if (--p->out == 0) {
			struct hw_dev hw = p->hw;
			struct hw_dma mem = p->mem;
			hw_dma_free(&hw, &mem);
		}
		return;
	}
	struct vnet_queue *vq = &sc->q[p->qi];
	if (sc->bus.vd.broken || vq->rxq.size == 0)
		return;
	if (rx_post(vq, b) == TERN_OK)
		vq->rx_kick_pending = true;
}

#define VNET_RXPOOL_BYTES ((size_t)VNET_RX_BUFS * VNET_BUF_SIZE + sizeof(struct vnet_rxpool))

static int
rxpool_alloc(struct virtio_net_softc *sc, uint16_t qi, struct hw_dev *hw)
{
	struct hw_dma mem;
	if (hw_dma_alloc(hw, VNET_RXPOOL_BYTES, 4096, &mem) != 0)
		return TERN_ENOMEM;
	struct vnet_rxpool *p = (void *)((uint8_t *)mem.va + (size_t)VNET_RX_BUFS * VNET_BUF_SIZE);
	memset(p, 0, sizeof(*p));
	p->mem = mem;
	hw_dev_copy(&p->hw, hw);
	p->sc = sc;
	p->qi = qi;
	for (uint32_t i = 0; i < VNET_RX_BUFS; i++) {
		p->bufs[i].owner = p;
		p->bufs[i].release = rx_release;
	}
	sc->q[qi].rx = p;
	return TERN_OK;
}

/* Detach's (and attach failure's) end of a pool: freed now when every
   buffer is ours, else left to the last release. */
static void
rxpool_put(struct virtio_net_softc *sc, uint16_t qi, struct hw_dev *hw)
{
	struct vnet_rxpool *p = sc->q[qi].rx;
	uint32_t out = 0;
	sc->q[qi].rx = NULL;
	if (p == NULL)
		return;
	for (uint32_t i = 0; i < VNET_RX_BUFS; i++)
		out += p->bufs[i].refs != 0;
	if (out == 0) {
		struct hw_dma mem = p->mem;
		hw_dma_free(hw, &mem);
		return;
	}
	p->sc = NULL;
	p->out = out;
	hw_dev_uncopy(&p->hw);	/* the device's hw_dev goes with the softc */
	log_info("virtio-net", "%s: %u receive buffers of queue %u still held by the stack: "
	    "their memory (%zu KiB) is freed when the last comes back", hw->name, out, qi,
	    VNET_RXPOOL_BYTES / 1024);
}

/* Memory of pairs 0..npairs-1: a receive pool and transmit headers
   each.  On failure nothing is left allocated. */
static void vnet_mem_free(struct virtio_net_softc *sc, uint16_t upto);

static int
vnet_mem_alloc(struct virtio_net_softc *sc)
{
	struct hw_dev *hw = sc->bus.vd.hw;
	for (uint16_t k = 0; k < sc->npairs; k++) {
		struct vnet_queue *vq = &sc->q[k];
		if (rxpool_alloc(sc, k, hw) != TERN_OK) {
			vnet_mem_free(sc, k);
			return TERN_ENOMEM;
		}
		if (hw_dma_alloc(hw, (size_t)VNET_TX_SLOTS * VNET_HDR_SIZE, 4096,
		    &vq->tx_hdr_mem) != 0) {
			rxpool_put(sc, k, hw);
			vnet_mem_free(sc, k);
			return TERN_ENOMEM;
		}
		memset(vq->tx_hdr_mem.va, 0, vq->tx_hdr_mem.len);
		for (uint32_t i = 0; i < VNET_TX_SLOTS; i++)
			vq->tx_free[i] = i;
		vq->tx_nfree = VNET_TX_SLOTS;
		vq->tx_wake = false;
	}
	return TERN_OK;
}

static void
vnet_mem_free(struct virtio_net_softc *sc, uint16_t upto)
{
	struct hw_dev *hw = sc->bus.vd.hw;
	for (uint16_t k = upto; k-- > 0;) {
		hw_dma_free(hw, &sc->q[k].tx_hdr_mem);
		rxpool_put(sc, k, hw);
	}
}

/* The MSI-X entry of pair k's receive queue: its own when the bus glue
   bound one per pair, else the shared one. */
static uint16_t
vnet_rx_entry(const struct virtio_dev *vd, uint16_t k, uint16_t want)
{
	uint16_t bound = vd->msix_count > 0 ? vd->msix_count : 1;
	return want <= bound ? (uint16_t)(vd->msix_entry + k) : vd->msix_entry;
}

/* The two virtqueues of pair k (2k receive, 2k+1 transmit); on failure
   nothing of the pair is left set up. */
static int
vnet_pair_setup(struct virtio_net_softc *sc, uint16_t k, uint16_t want)
{
	struct virtio_dev *vd = &sc->bus.vd;
	struct vnet_queue *vq = &sc->q[k];
	int rc = virtq_setup_vec(vd, &vq->rxq, (uint16_t)(2 * k), VNET_RX_BUFS,
	    vnet_rx_entry(vd, k, want));
	if (rc != TERN_OK)
		return rc;
	rc = virtq_setup(vd, &vq->txq, (uint16_t)(2 * k + 1), 256);
	if (rc != TERN_OK) {
		virtq_free(vd, &vq->rxq);
		return rc;
	}
	virtq_use_indirect(&vq->txq, VNET_TX_MAX_FRAGS + 1);
	/* Transmit completions are reaped by poll: no interrupts for them;
	   receive interrupts (with MSI-X) wake the idle CPU. */
	virtq_intr(&vq->txq, false);
	sc->nic.queue[k].msix_vector = vq->rxq.intr ? vnet_rx_entry(vd, k, want) :
	    NIC_NO_VECTOR;
	return TERN_OK;
}

/*
 * Rings of pairs 0..want-1 and, with more than one, the control queue;
 * sets nrings.  Pair 0 failing fails the whole (nothing left set up); a
 * later pair or the control queue failing leaves fewer pairs, logged.
 */
static int
vnet_rings_setup(struct virtio_net_softc *sc, uint16_t want)
{
	struct nic *n = &sc->nic;
	int rc = vnet_pair_setup(sc, 0, want);
	if (rc != TERN_OK)
		return rc;
	sc->nrings = 1;
	if (want < 2)
		return TERN_OK;
	rc = virtio_net_ctrl_setup(sc);
	if (rc != TERN_OK) {
		log_warn("virtio-net", "%s: control queue %u unusable (%s): one queue pair",
		    n->name, 2 * sc->max_pairs, err_str(rc));
		return TERN_OK;
	}
	while (sc->nrings < want) {
		rc = vnet_pair_setup(sc, sc->nrings, want);
		if (rc != TERN_OK) {
			log_warn("virtio-net", "%s: queue pair %u unusable (%s): %u pairs",
			    n->name, sc->nrings, err_str(rc), sc->nrings);
			break;
		}
		sc->nrings++;
	}
	return TERN_OK;
}

/* Detach's end of the rings: the control queue, then the pairs from the
   last. */
static void
vnet_rings_free(struct virtio_net_softc *sc)
{
	struct virtio_dev *vd = &sc->bus.vd;
	virtio_net_ctrl_free(sc);
	for (uint16_t k = sc->nrings; k-- > 0;) {
		virtq_free(vd, &sc->q[k].txq);
		virtq_free(vd, &sc->q[k].rxq);
	}
	sc->nrings = 0;
}

/* Post every receive buffer the stack does not hold, on every pair with
   rings; returns how many the stack holds. */
static uint32_t
vnet_post_all(struct virtio_net_softc *sc, uint32_t *posted_out)
{
	uint32_t held = 0, posted = 0;
	for (uint16_t k = 0; k < sc->nrings; k++) {
		struct vnet_queue *vq = &sc->q[k];
		uint32_t pk = 0;
		for (uint32_t i = 0; i < VNET_RX_BUFS && pk < vq->rxq.size; i++) {
			if (vq->rx->bufs[i].refs != 0) {
				held++;	/* posted by rx_release when it comes back */
				continue;
			}
			if (rx_post(vq, &vq->rx->bufs[i]) != TERN_OK)
				break;
			pk++;
		}
		posted += pk;
	}
	*posted_out = posted;
	return held;
}

enum vnet_step { VNET_UNDO_RINGS, VNET_UNDO_MEM };

/*
 * Attach's resources in the order it takes them.  vnet_undo(sc, s) gives
 * back `s` and everything taken before it: attach's failure labels and
 * detach share it, so the two cannot drift apart.
 */
static void
vnet_undo(struct virtio_net_softc *sc, enum vnet_step s)
{
	switch (s) {
	case VNET_UNDO_MEM:
		vnet_mem_free(sc, sc->npairs);
		/* FALLTHROUGH */
	case VNET_UNDO_RINGS:
		vnet_rings_free(sc);
		break;
	}
}

static void
vnet_marker(struct nic *n)
{
	marker("NIC name=%s mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u link=%s", n->name,
	    n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], n->mtu,
	    n->link_up ? "up" : "down");
}

int
virtio_net_attach_core(struct virtio_net_softc *sc, struct virtio_dev *vd, int unit)
{
	struct nic *n = &sc->nic;
	int rc;

	ksnprintf(n->name, sizeof(n->name), "virtio-net%d", unit);
	vd->together = VNET_MQ_FEATURES;
	rc = virtio_init(vd, VNET_WANTED);
	if (rc != TERN_OK)
		goto fail;
	if (virtio_has(vd, VIRTIO_NET_F_MAC)) {
		for (int i = 0; i < 6; i++)
			n->mac[i] = virtio_cfg8(vd, VIRTIO_NET_CFG_MAC + (uint32_t)i);
	} else {
		/* A locally administered address from the device's place on
		   its bus (PCI: bus, device, function). */
		uint8_t tag[3];
		hw_dev_tag(vd->hw, tag);
		uint8_t mac[6] = { 0x02, 0x74, 0x65, tag[0], tag[1],
			(uint8_t)(tag[2] + unit) };
		memcpy(n->mac, mac, 6);
	}
	n->mtu = 1500;
	if (virtio_has(vd, VIRTIO_NET_F_MTU)) {
		/* Beyond one buffer only when frames may span buffers. */
		uint16_t m = virtio_cfg16(vd, VIRTIO_NET_CFG_MTU);
		uint16_t max = virtio_has(vd, VIRTIO_NET_F_MRG_RXBUF) ? VNET_MTU_MAX :
		    VNET_BUF_SIZE - VNET_HDR_SIZE - 18;
		if (m >= 576 && m <= max)
			n->mtu = m;
	}
	n->link_up = !virtio_has(vd, VIRTIO_NET_F_STATUS) ||
	    (virtio_cfg16(vd, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP);
	n->offloads = (virtio_has(vd, VIRTIO_NET_F_GUEST_CSUM) ? NIC_OFF_RX_CSUM : 0) |
	    (virtio_has(vd, VIRTIO_NET_F_CSUM) ? NIC_OFF_TX_CSUM : 0);
	/* TSO needs the checksum offload it builds on (5.1.3.1). */
	if (virtio_has(vd, VIRTIO_NET_F_HOST_TSO4) && virtio_has(vd, VIRTIO_NET_F_CSUM))
		n->offloads |= NIC_OFF_TSO4;
	n->nqueues = 1;
	nic_queues_init(n);
	uint16_t want = virtio_net_pairs_offered(sc);

	rc = vnet_rings_setup(sc, want);
	if (rc != TERN_OK)
		goto fail;
	/* Memory for the pairs that have rings; a pair that failed its
	   rings gets none (a recovery never sets up more). */
	sc->npairs = sc->nrings;
	rc = vnet_mem_alloc(sc);
	if (rc != TERN_OK)
		goto fail_rings;
	uint32_t posted;
	(void)vnet_post_all(sc, &posted);
	n->ops = &vnet_ops;
	n->tx_wakes = true;	/* vnet_poll calls tx_ready after a refusal */
	n->sc = sc;
	virtio_ready(vd);
	for (uint16_t k = 0; k < sc->nrings; k++)
		virtq_kick(&sc->q[k].rxq);
	virtio_net_mq_start(sc);
	nic_register(n);
	vnet_marker(n);
	return TERN_OK;

fail_rings:
	vnet_undo(sc, VNET_UNDO_RINGS);
	goto fail;
fail:
	log_error("virtio-net", "%s: attach failed: %s", n->name, err_str(rc));
	return rc;
}

static int
vnet_tx(struct nic *n, int queue, struct nic_buf *chain, const struct nic_tx_meta *meta)
{
	struct virtio_net_softc *sc = n->sc;
	struct virtq_buf bufs[VNET_TX_MAX_FRAGS + 1];
	int nb = 1;

	if (queue < 0 || queue >= n->nqueues)
		return TERN_EINVAL;
	struct vnet_queue *vq = &sc->q[queue];
	struct nic_queue_stats *qs = &n->queue[queue].stats;
	if (sc->bus.vd.broken) {
		n->stats.tx_drops++;
		return TERN_ENODEV;
	}
	if (vq->tx_nfree == 0) {
		n->stats.tx_ring_full++;
		qs->tx_ring_full++;
		vq->tx_wake = true;
		return TERN_EAGAIN;
	}
	uint32_t bytes = 0;
	for (struct nic_buf *b = chain; b != NULL; b = b->next) {
		if (nb == VNET_TX_MAX_FRAGS + 1 || b->len == 0)
			return TERN_EINVAL;
		bufs[nb++] = (struct virtq_buf){ hw_virt_to_phys(&sc->bus.hw, b->data), b->len, false };
		hw_dma_sync_dev(&sc->bus.hw, b->data, b->len);
		bytes += b->len;
	}
	bool tso = meta != NULL && (meta->flags & NIC_TX_TSO);
	if (tso && (!(n->offloads & NIC_OFF_TSO4) || !(meta->flags & NIC_TX_CSUM_L4) ||
	    meta->l4_proto != NIC_PROTO_TCP || meta->mss == 0))
		return TERN_EINVAL;
	/* A TSO frame is up to an IPv4 datagram's 64 KiB, cut by the
	   device into segments of mss payload bytes. */
	if (bytes < 14 || bytes > (tso ? 14u + 65535u : (uint32_t)n->mtu + 18))
		return TERN_EINVAL;
	uint32_t slot = vq->tx_free[vq->tx_nfree - 1];
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)
	    ((uint8_t *)vq->tx_hdr_mem.va + slot * VNET_HDR_SIZE);
	memset(h, 0, VNET_HDR_SIZE);
	/* Metadata v2 onto the virtio header (5.1.6.2): the device sums
	   from csum_start = the L4 header to the end and stores the result
	   at csum_start + csum_offset, the protocol's checksum field. */
	if (meta != NULL && (meta->flags & NIC_TX_CSUM_L4) &&
	    (n->offloads & NIC_OFF_TX_CSUM)) {
		int field = nic_tx_csum_field(meta);
		if (field < 0 || meta->l4_off < 14 || (uint32_t)meta->l4_off + (uint32_t)field + 2 > bytes)
			return TERN_EINVAL;
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = meta->l4_off;
		h->csum_offset = (uint16_t)field;
	}
	if (tso) {
		/* The headers (through TCP's, its length from the data
		   offset) must sit in the first buffer: hdr_len tells the
		   device where the payload it cuts starts. */
		uint32_t th = (uint32_t)meta->l4_off + 13;
		if (th >= chain->len || h->flags == 0)
			return TERN_EINVAL;
		uint32_t hl = (uint32_t)meta->l4_off + (uint32_t)(chain->data[th - 1] >> 4) * 4;
		if (hl > chain->len || hl >= bytes)
			return TERN_EINVAL;
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = meta->mss;
		h->hdr_len = (uint16_t)hl;
		n->stats.tso_frames++;
	}
	hw_dma_sync_dev(&sc->bus.hw, h, VNET_HDR_SIZE);
	bufs[0] = (struct virtq_buf){ vq->tx_hdr_mem.pa + slot * VNET_HDR_SIZE, VNET_HDR_SIZE, false };
	int rc = virtq_add(&vq->txq, bufs, nb, (void *)(uintptr_t)(slot + 1));
	if (rc != TERN_OK) {
		n->stats.tx_ring_full++;
		qs->tx_ring_full++;
		if (rc == TERN_EAGAIN)
			vq->tx_wake = true;
		return rc;
	}
	vq->tx_nfree--;
	vq->tx_chain[slot] = chain;
	/* Inside this queue's poll pass (an answer sent from nic->rx) the
	   doorbell waits for the end of the pass: one per pass, not one
	   per frame.  Anywhere else the frame goes out now. */
	if (vq->in_poll)
		vq->tx_kick_pending = true;
	else
		virtq_kick(&vq->txq);
	n->stats.tx_packets++;
	n->stats.tx_bytes += bytes;
	qs->tx_packets++;
	qs->tx_bytes += bytes;
	return TERN_OK;
}

/*
 * Check a received frame's virtio header (flen: frame bytes after it in
 * the first buffer) against what was negotiated.  Only checksum offload
 * is (GUEST_CSUM, no GUEST_TSO4/6 or UFO): a device that sends GSO
 * frames, checksum offsets outside the frame, or flags without
 * GUEST_CSUM breaks the contract; the frame is dropped and counted in
 * rx_bad_offload, and the buffers carrying its rest (MRG_RXBUF) are
 * skipped.  A multi-buffer frame's offsets are checked once it is whole.
 */
static int
rx_hdr_check(struct virtio_net_softc *sc, uint16_t qi, const struct virtio_net_hdr *h,
    uint32_t flen)
{
	struct nic *n = &sc->nic;
	struct vnet_queue *vq = &sc->q[qi];
	const char *why = NULL;
	uint16_t nbufs = 1;

	if (virtio_has(&sc->bus.vd, VIRTIO_NET_F_MRG_RXBUF)) {
		if (h->num_buffers == 0 || h->num_buffers > vq->rxq.size) {
			n->stats.rx_errors++;
			n->stats.bad_completions++;
			return TERN_EINVAL;
		}
		nbufs = h->num_buffers;
	}
	if (h->gso_type != 0) {
		why = "GSO type not negotiated";
	} else if (h->flags != 0 && !virtio_has(&sc->bus.vd, VIRTIO_NET_F_GUEST_CSUM)) {
		why = "checksum flags without GUEST_CSUM";
	} else if (nbufs == 1 && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (uint32_t)h->csum_start + h->csum_offset + 2 > flen) {
		why = "checksum offsets outside the frame";
	}
	if (why == NULL)
		return TERN_OK;
	vq->rx_skip = (uint16_t)(nbufs - 1);
	if (n->stats.rx_bad_offload++ == 0)
		log_warn("virtio-net", "%s: dropped a received frame: %s "
		    "(gso %u, flags %#x, csum %u+%u, %u buffers, %u bytes)", n->name, why,
		    h->gso_type, h->flags, h->csum_start, h->csum_offset, h->num_buffers, flen);
	n->stats.rx_drops++;
	n->queue[qi].stats.rx_drops++;
	return TERN_EINVAL;
}

/* Checks a frame assembled from several buffers: within the MTU, the
   headers in the first buffer, checksum offsets inside the frame. */
static int
rx_chain_check(struct virtio_net_softc *sc, uint16_t qi, const struct nic_buf *head,
    uint32_t total)
{
	struct nic *n = &sc->nic;
	const char *why = NULL;
	if (total > (uint32_t)n->mtu + 18)
		why = "frame spans buffers beyond the MTU";
	else if (head->len < NIC_RX_HDR_MIN)
		why = "first buffer too short for the headers";
	else if ((head->flags & NIC_RXCSUM_MASK) == NIC_RXCSUM_PARTIAL &&
	    (uint32_t)head->csum_start + head->csum_offset + 2 > total)
		why = "checksum offsets outside the frame";
	if (why == NULL)
		return TERN_OK;
	if (n->stats.rx_bad_offload++ == 0)
		log_warn("virtio-net", "%s: dropped a received frame: %s (%u bytes, mtu %u)",
		    n->name, why, total, n->mtu);
	n->stats.rx_drops++;
	n->queue[qi].stats.rx_drops++;
	return TERN_EINVAL;
}

static void
rx_buf_init(struct nic_buf *b, uint16_t qi, uint8_t *data, uint32_t len, uint32_t cap)
{
	b->data = data;
	b->len = len;
	b->cap = cap;
	b->next = NULL;
	b->refs = 1;
	b->queue = qi;
	b->flags = NIC_RXCSUM_NONE;
	b->csum_start = b->csum_offset = 0;
}

/* One whole frame (a buffer or a chain) goes up. */
static void
rx_up(struct virtio_net_softc *sc, uint16_t qi, struct nic_buf *head, uint32_t total)
{
	struct nic *n = &sc->nic;
	n->stats.rx_packets++;
	n->stats.rx_bytes += total;
	n->queue[qi].stats.rx_packets++;
	n->queue[qi].stats.rx_bytes += total;
	if (n->rx != NULL)
		n->rx(n->upper, head);
	else
		nic_buf_release_chain(head);
}

/* The frame being assembled is lost: its buffers go back, and those of
   it still to come are skipped. */
static void
rx_asm_abort(struct vnet_queue *vq)
{
	struct nic_buf *head = vq->rx_head;
	vq->rx_skip = vq->rx_need;
	vq->rx_head = vq->rx_tail = NULL;
	vq->rx_need = 0;
	nic_buf_release_chain(head);
}

/* Queue 0's CPU also watches the device as a whole: its status and the
   link state in the device configuration.  Each is a register read (an
   exit to the hypervisor in a VM), so they are read on one pass in
   VNET_DEV_CHECK_PASSES, not on every one: a link change or a device
   that needs a reset is seen within that many passes (about as many
   milliseconds on an idle kernel, which polls once per tick). */
/* One forced doorbell per stall of q (see vnet_poll_device): 1 if rung. */
static int
rekick(struct virtq *q, uint16_t *seen, bool *done)
{
	if (q->last_used != *seen) {
		*seen = q->last_used;
		*done = false;
		return 0;
	}
	if (*done || q->size == 0 || q->avail_idx == q->last_used)
		return 0;
	virtq_notify(q);
	*done = true;
	return 1;
}

static void
vnet_poll_device(struct virtio_net_softc *sc)
{
	struct nic *n = &sc->nic;
	if (sc->dev_check_in > 1) {
		sc->dev_check_in--;
		return;
	}
	sc->dev_check_in = VNET_DEV_CHECK_PASSES;
	sc->dev_checks++;
	if (virtio_check_broken(&sc->bus.vd))
		return;
	/* A queue holding published buffers the device has not used since
	   the last check gets a doorbell whatever avail_event says: under
	   load on QEMU's tap a transmit queue once stalled with its frames
	   published, avail_event behind them and no completion, every later
	   kick suppressed, and the guest answered nothing, not even ARP.
	   Once per stall (until the device uses a buffer again), so an idle
	   queue costs one doorbell; within VNET_DEV_CHECK_PASSES polls (the
	   idle loop polls every tick). */
	for (uint16_t k = 0; k < n->nqueues && k < sc->nrings; k++) {
		struct vnet_queue *vq = &sc->q[k];
		n->stats.rx_rekicks += rekick(&vq->rxq, &vq->rx_seen, &vq->rx_rekicked);
		n->stats.tx_rekicks += rekick(&vq->txq, &vq->tx_seen, &vq->tx_rekicked);
	}
	if (virtio_has(&sc->bus.vd, VIRTIO_NET_F_STATUS)) {
		bool up = virtio_cfg16(&sc->bus.vd, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
		if (up != n->link_up) {
			n->link_up = up;
			log_info("virtio-net", "%s: link %s", n->name, up ? "up" : "down");
			if (n->link_change != NULL)
				n->link_change(n->upper, up);
		}
	}
}

static int
vnet_poll(struct nic *n, int queue, int budget)
{
	struct virtio_net_softc *sc = n->sc;
	int work = 0;
	uint32_t len;
	void *cookie;

	if (queue < 0 || queue >= n->nqueues)
		return 0;
	uint16_t qi = (uint16_t)queue;
	struct vnet_queue *vq = &sc->q[qi];
	struct nic_queue_stats *qs = &n->queue[qi].stats;
	qs->polls++;
	n->stats.intrs = sc->bus.vd.intrs;
	if (sc->bus.vd.broken)
		return 0;
	vq->in_poll = true;
	/* TX completions give buffers back to their owners. */
	int freed = 0;
	while ((cookie = virtq_get(&vq->txq, &len)) != NULL) {
		uint32_t slot = (uint32_t)(uintptr_t)cookie - 1;
		struct nic_buf *chain = vq->tx_chain[slot];
		vq->tx_chain[slot] = NULL;
		vq->tx_free[vq->tx_nfree++] = slot;
		nic_buf_release_chain(chain);
		freed++;
	}
	work += freed;
	/* The transmit-ready rule (kernel/dev/nic.h): once per refusal, from
	   this poll, when a slot came free.  The upper layer may send from
	   it: in_poll holds the doorbell to the end of the pass. */
	if (freed > 0 && vq->tx_wake) {
		vq->tx_wake = false;
		if (n->tx_ready != NULL)
			n->tx_ready(n->upper, qi);
	}
	while (work < budget && (cookie = virtq_get(&vq->rxq, &len)) != NULL) {
		struct nic_buf *b = cookie;
		size_t i = (size_t)(b - vq->rx->bufs);
		uint8_t *buf = (uint8_t *)vq->rx->mem.va + i * VNET_BUF_SIZE;
		if (vq->rx_skip > 0) {
			/* The rest of a frame that spanned buffers and was
			   dropped: no header of its own, just give it back. */
			vq->rx_skip--;
			rx_release(b);
			continue;
		}
		if (vq->rx_need > 0) {
			/* The next piece of a multi-buffer frame: payload only,
			   no header (5.1.6.4.2). */
			if (len == 0 || len > VNET_BUF_SIZE) {
				n->stats.rx_errors++;
				n->stats.bad_completions++;
				rx_release(b);
				vq->rx_need--;
				rx_asm_abort(vq);
				continue;
			}
			hw_dma_sync_cpu(&sc->bus.hw, buf, len);
			rx_buf_init(b, qi, buf, len, VNET_BUF_SIZE);
			vq->rx_tail->next = b;
			vq->rx_tail = b;
			vq->rx_total += len;
			if (--vq->rx_need > 0)
				continue;
			struct nic_buf *head = vq->rx_head;
			vq->rx_head = vq->rx_tail = NULL;
			if (rx_chain_check(sc, qi, head, vq->rx_total) != TERN_OK) {
				nic_buf_release_chain(head);
				continue;
			}
			work++;
			rx_up(sc, qi, head, vq->rx_total);
			continue;
		}
		if (len < VNET_HDR_SIZE + 14 || len > VNET_BUF_SIZE) {
			n->stats.rx_errors++;
			n->stats.bad_completions++;
			rx_release(b);
			continue;
		}
		hw_dma_sync_cpu(&sc->bus.hw, buf, len);
		const struct virtio_net_hdr *h = (const void *)buf;
		if (rx_hdr_check(sc, qi, h, len - VNET_HDR_SIZE) != TERN_OK) {
			rx_release(b);
			continue;
		}
		rx_buf_init(b, qi, buf + VNET_HDR_SIZE, len - VNET_HDR_SIZE,
		    VNET_BUF_SIZE - VNET_HDR_SIZE);
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			b->flags = NIC_RXCSUM_PARTIAL;
			b->csum_start = h->csum_start;
			b->csum_offset = h->csum_offset;
		} else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
			b->flags = NIC_RXCSUM_GOOD;
		}
		if (virtio_has(&sc->bus.vd, VIRTIO_NET_F_MRG_RXBUF) && h->num_buffers > 1) {
			vq->rx_head = vq->rx_tail = b;
			vq->rx_need = (uint16_t)(h->num_buffers - 1);
			vq->rx_total = b->len;
			continue;
		}
		work++;
		rx_up(sc, qi, b, b->len);
	}
	vq->in_poll = false;
	if (vq->rx_kick_pending) {
		vq->rx_kick_pending = false;
		virtq_kick(&vq->rxq);
	}
	if (vq->tx_kick_pending) {
		vq->tx_kick_pending = false;
		virtq_kick(&vq->txq);
	}
	if (qi == 0)
		vnet_poll_device(sc);
	return work;
}

static void
vnet_intr_enable(struct nic *n, int queue, bool on)
{
	/* Only receive interrupts, and only with an MSI-X vector bound;
	   without one the queue stays polled (avail flags NO_INTERRUPT). */
	struct virtio_net_softc *sc = n->sc;
	if (queue >= 0 && queue < n->nqueues)
		virtq_intr(&sc->q[queue].rxq, on);
}

static bool
vnet_rx_pending(struct nic *n, int queue)
{
	struct virtio_net_softc *sc = n->sc;
	if (queue < 0 || queue >= n->nqueues || sc->bus.vd.broken)
		return false;
	return virtq_pending(&sc->q[queue].rxq);
}

/* Transmit chains the device still had go back to their owners (counted
   as drops when `count`). */
static void
vnet_tx_release_all(struct virtio_net_softc *sc, bool count)
{
	for (uint16_t k = 0; k < sc->npairs; k++) {
		struct vnet_queue *vq = &sc->q[k];
		for (uint32_t i = 0; i < VNET_TX_SLOTS; i++) {
			if (vq->tx_chain[i] != NULL) {
				nic_buf_release_chain(vq->tx_chain[i]);
				vq->tx_chain[i] = NULL;
				if (count)
					sc->nic.stats.tx_drops++;
			}
			vq->tx_free[i] = i;
		}
		vq->tx_nfree = VNET_TX_SLOTS;
		vq->tx_wake = false;
	}
}

void
virtio_net_detach_core(struct virtio_net_softc *sc)
{
	struct virtio_dev *vd = &sc->bus.vd;
	/* The upper layer lets go first (kernel/dev/nic.h, lifetime): no
	   transmit or poll reaches the device while it is torn down. */
	nic_unregister(&sc->nic);
	virtio_reset(vd);
	/* Half a frame being assembled is still ours, not the stack's. */
	for (uint16_t k = 0; k < sc->npairs; k++) {
		struct vnet_queue *vq = &sc->q[k];
		for (struct nic_buf *b = vq->rx_head; b != NULL; b = b->next)
			b->refs = 0;
		vq->rx_head = vq->rx_tail = NULL;
		vq->rx_need = 0;
	}
	vnet_tx_release_all(sc, false);
	vnet_undo(sc, VNET_UNDO_MEM);
}

static void
vnet_detach(struct nic *n)
{
	virtio_net_detach_core(n->sc);
}

/*
 * Recover a device that went broken (DEVICE_NEEDS_RESET, or a protocol
 * violation virtio_check_broken caught): reset it, negotiate again and
 * set the queues up anew on the same softc and the same struct nic, so
 * the upper layer's binding (rx, upper, its connections) survives.  The
 * receive buffer memory is kept: buffers the upper layer still holds
 * (zero-copy receive) stay valid and are posted again when released;
 * every other one is posted now.  Transmit chains in flight are released
 * (those frames are lost, as on a wire).  The MAC must read the same as
 * before; as many pairs as before are asked for again (fewer if the
 * device now offers fewer).  The NIC is registered again (a no-op for
 * one already in the registry) and TERN NIC printed again.  Returns
 * TERN_OK or the error of the step that failed (the device then stays
 * broken).
 */
int
virtio_net_recover(struct virtio_net_softc *sc)
{
	struct virtio_dev *vd = &sc->bus.vd;
	struct nic *n = &sc->nic;
	int rc;

	log_warn("virtio-net", "%s: device needs a reset: recovering", n->name);
	virtio_reset(vd);
	vnet_tx_release_all(sc, true);
	/* size 0 from here on: a buffer released meanwhile is not posted. */
	for (uint16_t k = 0; k < sc->nrings; k++) {
		virtq_free(vd, &sc->q[k].rxq);
		virtq_free(vd, &sc->q[k].txq);
		sc->q[k].rx_skip = 0;
		sc->q[k].rx_kick_pending = false;
		sc->q[k].tx_kick_pending = false;
	}
	sc->dev_check_in = 0;
	virtio_net_ctrl_free(sc);
	sc->nrings = 0;
	n->nqueues = 1;
	rc = virtio_init(vd, VNET_WANTED);
	if (rc != TERN_OK)
		goto fail;
	rc = TERN_EIO;
	if (virtio_has(vd, VIRTIO_NET_F_MAC)) {
		for (int i = 0; i < 6; i++)
			if (virtio_cfg8(vd, VIRTIO_NET_CFG_MAC + (uint32_t)i) != n->mac[i]) {
				log_error("virtio-net", "%s: MAC changed across the reset", n->name);
				goto fail;
			}
	}
	uint16_t want = virtio_net_pairs_offered(sc);
	if (want > sc->npairs)
		want = sc->npairs;
	rc = vnet_rings_setup(sc, want);
	if (rc != TERN_OK)
		goto fail;
	uint32_t posted;
	uint32_t held = vnet_post_all(sc, &posted);
	virtio_ready(vd);
	for (uint16_t k = 0; k < sc->nrings; k++)
		virtq_kick(&sc->q[k].rxq);
	virtio_net_mq_start(sc);
	nic_register(n);
	log_info("virtio-net", "%s: recovered: %u receive buffers posted, %u held "
	    "by the stack", n->name, posted, held);
	vnet_marker(n);
	return TERN_OK;

fail:
	vd->broken = true;
	log_error("virtio-net", "%s: recovery failed: %s", n->name, err_str(rc));
	return rc;
}

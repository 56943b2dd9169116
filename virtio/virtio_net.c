/*
 * virtio_net.c - virtio network device (virtio v1.2 section 5.1) behind
 * kernel/dev/nic.h, zero copy in both directions.
 *
 * RX: VNET_RX_BUFS buffers of 2 KiB in one DMA region (struct
 * vnet_rxpool, which outlives a detach while the stack holds buffers of
 * it) are posted to queue 0.  A received frame goes up as the nic_buf describing its own
 * buffer (data just past the 12-byte virtio header); when the upper layer
 * releases it, it is posted again.  With mergeable receive buffers
 * (MRG_RXBUF, 5.1.6.4) a frame larger than one buffer (MTU up to 9000,
 * from VIRTIO_NET_F_MTU) spans num_buffers of them, the header only in
 * the first: they go up as one nic_buf chain (kernel/dev/nic.h), the
 * first holding at least NIC_RX_HDR_MIN bytes.  A chain longer than the
 * MTU allows is dropped and counted (rx_bad_offload).
 * The header's checksum flags become the NIC contract's receive checksum
 * state (kernel/dev/nic.h): DATA_VALID is GOOD, NEEDS_CSUM is PARTIAL
 * (offsets checked against the frame), nothing is NONE.
 * TX: queue 1 gets one chain per frame: a 12-byte header from a small DMA
 * array, then the caller's buffers as they are.  They go back to their
 * owner (nic_buf_release) when the device returns the chain.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "virtio/virtio_var.h"

#define RXQ 0
#define TXQ 1

static int vnet_tx(struct nic *n, int queue, struct nic_buf *chain,
    const struct nic_tx_meta *meta);
static int vnet_poll(struct nic *n, int queue, int budget);
static void vnet_intr_enable(struct nic *n, int queue, bool on);
static void vnet_detach(struct nic *n);

static const struct nic_ops vnet_ops = {
	.tx = vnet_tx,
	.poll = vnet_poll,
	.intr_enable = vnet_intr_enable,
	.detach = vnet_detach,
};

/* The features attach (and virtio_net_recover) ask for. */
#define VNET_WANTED (1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS | \
	1ULL << VIRTIO_NET_F_MRG_RXBUF | 1ULL << VIRTIO_NET_F_CSUM | \
	1ULL << VIRTIO_NET_F_GUEST_CSUM | 1ULL << VIRTIO_NET_F_MTU | \
	1ULL << VIRTIO_F_INDIRECT_DESC)

static int
rx_post(struct virtio_net_softc *sc, struct nic_buf *b)
{
	size_t i = (size_t)(b - sc->rx->bufs);
	struct virtq_buf vb = { sc->rx->mem.pa + i * VNET_BUF_SIZE, VNET_BUF_SIZE, true };
	return virtq_add(&sc->rxq, &vb, 1, b);
}

/* nic_buf release hook: the upper layer is done with a received frame.
   After detach the buffer only counts down to the pool's own free. */
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
	if (sc->bus.vd.broken || sc->rxq.size == 0)
		return;
	if (rx_post(sc, b) == TERN_OK)
		sc->rx_kick_pending = true;
}

#define VNET_RXPOOL_BYTES ((size_t)VNET_RX_BUFS * VNET_BUF_SIZE + sizeof(struct vnet_rxpool))

static int
rxpool_alloc(struct virtio_net_softc *sc, struct hw_dev *hw)
{
	struct hw_dma mem;
	if (hw_dma_alloc(hw, VNET_RXPOOL_BYTES, 4096, &mem) != 0)
		return TERN_ENOMEM;
	struct vnet_rxpool *p = (void *)((uint8_t *)mem.va + (size_t)VNET_RX_BUFS * VNET_BUF_SIZE);
	memset(p, 0, sizeof(*p));
	p->mem = mem;
	p->hw = *hw;
	p->sc = sc;
	for (uint32_t i = 0; i < VNET_RX_BUFS; i++) {
		p->bufs[i].owner = p;
		p->bufs[i].release = rx_release;
	}
	sc->rx = p;
	return TERN_OK;
}

/* Detach's (and attach failure's) end of the pool: freed now when every
   buffer is ours, else left to the last release. */
static void
rxpool_put(struct virtio_net_softc *sc, struct hw_dev *hw)
{
	struct vnet_rxpool *p = sc->rx;
	uint32_t out = 0;
	sc->rx = NULL;
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
	log_info("virtio-net", "%s: %u receive buffers still held by the stack: their "
	    "memory (%zu KiB) is freed when the last comes back", hw->name, out,
	    VNET_RXPOOL_BYTES / 1024);
}

/*
 * Attach's resources in the order it takes them.  vnet_undo(sc, vd, s)
 * gives back `s` and everything taken before it: attach's failure labels
 * and detach share it, so the two cannot drift apart.
 */
/* The two queues of the one pair (attach and recover); on failure
   nothing is left set up. */
static int
vnet_rings_setup(struct virtio_net_softc *sc)
{
	struct virtio_dev *vd = &sc->bus.vd;
	int rc = virtq_setup(vd, &sc->rxq, RXQ, VNET_RX_BUFS);
	if (rc != TERN_OK)
		return rc;
	rc = virtq_setup(vd, &sc->txq, TXQ, 256);
	if (rc != TERN_OK) {
		virtq_free(vd, &sc->rxq);
		return rc;
	}
	virtq_use_indirect(&sc->txq, VNET_TX_MAX_FRAGS + 1);
	/* Transmit completions are reaped by poll: no interrupts for them;
	   receive interrupts (with MSI-X) wake the idle CPU. */
	virtq_intr(&sc->txq, false);
	return TERN_OK;
}

enum vnet_step { VNET_UNDO_RXQ, VNET_UNDO_TXQ, VNET_UNDO_RXMEM, VNET_UNDO_TXHDR };

static void
vnet_undo(struct virtio_net_softc *sc, struct virtio_dev *vd, enum vnet_step s)
{
	switch (s) {
	case VNET_UNDO_TXHDR:
		hw_dma_free(vd->hw, &sc->tx_hdr_mem);
		/* FALLTHROUGH */
	case VNET_UNDO_RXMEM:
		rxpool_put(sc, vd->hw);
		/* FALLTHROUGH */
	case VNET_UNDO_TXQ:
		virtq_free(vd, &sc->txq);
		/* FALLTHROUGH */
	case VNET_UNDO_RXQ:
		virtq_free(vd, &sc->rxq);
		break;
	}
}

int
virtio_net_attach_core(struct virtio_net_softc *sc, struct virtio_dev *vd, int unit)
{
	struct nic *n = &sc->nic;
	int rc;

	ksnprintf(n->name, sizeof(n->name), "virtio-net%d", unit);
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
	n->nqueues = 1;
	nic_queues_init(n);
	/* One MSI-X entry per function (virtio_pci.c) serves the receive
	   queue of our one pair. */
	if (vd->msix)
		n->queue[0].msix_vector = vd->msix_entry;

	rc = vnet_rings_setup(sc);
	if (rc != TERN_OK)
		goto fail;
	rc = TERN_ENOMEM;
	if (rxpool_alloc(sc, vd->hw) != TERN_OK)
		goto fail_txq;
	if (hw_dma_alloc(vd->hw, (size_t)VNET_TX_SLOTS * VNET_HDR_SIZE, 4096, &sc->tx_hdr_mem) != 0)
		goto fail_rxmem;
	memset(sc->tx_hdr_mem.va, 0, sc->tx_hdr_mem.len);
	for (uint32_t i = 0; i < VNET_TX_SLOTS; i++)
		sc->tx_free[i] = i;
	sc->tx_nfree = VNET_TX_SLOTS;

	for (uint32_t i = 0; i < VNET_RX_BUFS && i < sc->rxq.size; i++) {
		if (rx_post(sc, &sc->rx->bufs[i]) != TERN_OK)
			break;
	}
	n->ops = &vnet_ops;
	n->sc = sc;
	virtio_ready(vd);
	virtq_kick(&sc->rxq);
	nic_register(n);
	marker("NIC name=%s mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u link=%s", n->name,
	    n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], n->mtu,
	    n->link_up ? "up" : "down");
	return TERN_OK;

fail_rxmem:
	vnet_undo(sc, vd, VNET_UNDO_RXMEM);
	goto fail;
fail_txq:
	vnet_undo(sc, vd, VNET_UNDO_TXQ);
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

	struct nic_queue_stats *qs = &n->queue[0].stats;

	if (queue != 0)
		return TERN_EINVAL;
	if (sc->bus.vd.broken) {
		n->stats.tx_drops++;
		return TERN_ENODEV;
	}
	if (sc->tx_nfree == 0) {
		n->stats.tx_ring_full++;
		qs->tx_ring_full++;
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
	if (bytes < 14 || bytes > (uint32_t)n->mtu + 18)
		return TERN_EINVAL;
	uint32_t slot = sc->tx_free[sc->tx_nfree - 1];
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)
	    ((uint8_t *)sc->tx_hdr_mem.va + slot * VNET_HDR_SIZE);
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
	hw_dma_sync_dev(&sc->bus.hw, h, VNET_HDR_SIZE);
	bufs[0] = (struct virtq_buf){ sc->tx_hdr_mem.pa + slot * VNET_HDR_SIZE, VNET_HDR_SIZE, false };
	int rc = virtq_add(&sc->txq, bufs, nb, (void *)(uintptr_t)(slot + 1));
	if (rc != TERN_OK) {
		n->stats.tx_ring_full++;
		qs->tx_ring_full++;
		return rc;
	}
	sc->tx_nfree--;
	sc->tx_chain[slot] = chain;
	virtq_kick(&sc->txq);
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
rx_hdr_check(struct virtio_net_softc *sc, const struct virtio_net_hdr *h, uint32_t flen)
{
	struct nic *n = &sc->nic;
	const char *why = NULL;
	uint16_t nbufs = 1;

	if (virtio_has(&sc->bus.vd, VIRTIO_NET_F_MRG_RXBUF)) {
		if (h->num_buffers == 0 || h->num_buffers > sc->rxq.size) {
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
	sc->rx_skip = (uint16_t)(nbufs - 1);
	if (n->stats.rx_bad_offload++ == 0)
		log_warn("virtio-net", "%s: dropped a received frame: %s "
		    "(gso %u, flags %#x, csum %u+%u, %u buffers, %u bytes)", n->name, why,
		    h->gso_type, h->flags, h->csum_start, h->csum_offset, h->num_buffers, flen);
	n->stats.rx_drops++;
	n->queue[0].stats.rx_drops++;
	return TERN_EINVAL;
}

/* Checks a frame assembled from several buffers: within the MTU, the
   headers in the first buffer, checksum offsets inside the frame. */
static int
rx_chain_check(struct virtio_net_softc *sc, const struct nic_buf *head, uint32_t total)
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
	n->queue[0].stats.rx_drops++;
	return TERN_EINVAL;
}

static void
rx_buf_init(struct nic_buf *b, uint8_t *data, uint32_t len, uint32_t cap)
{
	b->data = data;
	b->len = len;
	b->cap = cap;
	b->next = NULL;
	b->refs = 1;
	b->queue = 0;
	b->flags = NIC_RXCSUM_NONE;
	b->csum_start = b->csum_offset = 0;
}

/* One whole frame (a buffer or a chain) goes up. */
static void
rx_up(struct virtio_net_softc *sc, struct nic_buf *head, uint32_t total)
{
	struct nic *n = &sc->nic;
	n->stats.rx_packets++;
	n->stats.rx_bytes += total;
	n->queue[0].stats.rx_packets++;
	n->queue[0].stats.rx_bytes += total;
	if (n->rx != NULL)
		n->rx(n->upper, head);
	else
		nic_buf_release_chain(head);
}

/* The frame being assembled is lost: its buffers go back, and those of
   it still to come are skipped. */
static void
rx_asm_abort(struct virtio_net_softc *sc)
{
	struct nic_buf *head = sc->rx_head;
	sc->rx_skip = sc->rx_need;
	sc->rx_head = sc->rx_tail = NULL;
	sc->rx_need = 0;
	nic_buf_release_chain(head);
}

static int
vnet_poll(struct nic *n, int queue, int budget)
{
	struct virtio_net_softc *sc = n->sc;
	struct nic_queue_stats *qs = &n->queue[0].stats;
	int work = 0;
	uint32_t len;
	void *cookie;

	if (queue != 0)
		return 0;
	qs->polls++;
	n->stats.intrs = sc->bus.vd.intrs;
	if (sc->bus.vd.broken)
		return 0;
	/* TX completions give buffers back to their owners. */
	while ((cookie = virtq_get(&sc->txq, &len)) != NULL) {
		uint32_t slot = (uint32_t)(uintptr_t)cookie - 1;
		struct nic_buf *chain = sc->tx_chain[slot];
		sc->tx_chain[slot] = NULL;
		sc->tx_free[sc->tx_nfree++] = slot;
		nic_buf_release_chain(chain);
		work++;
	}
	while (work < budget && (cookie = virtq_get(&sc->rxq, &len)) != NULL) {
		struct nic_buf *b = cookie;
		size_t i = (size_t)(b - sc->rx->bufs);
		uint8_t *buf = (uint8_t *)sc->rx->mem.va + i * VNET_BUF_SIZE;
		if (sc->rx_skip > 0) {
			/* The rest of a frame that spanned buffers and was
			   dropped: no header of its own, just give it back. */
			sc->rx_skip--;
			rx_release(b);
			continue;
		}
		if (sc->rx_need > 0) {
			/* The next piece of a multi-buffer frame: payload only,
			   no header (5.1.6.4.2). */
			if (len == 0 || len > VNET_BUF_SIZE) {
				n->stats.rx_errors++;
				n->stats.bad_completions++;
				rx_release(b);
				sc->rx_need--;
				rx_asm_abort(sc);
				continue;
			}
			hw_dma_sync_cpu(&sc->bus.hw, buf, len);
			rx_buf_init(b, buf, len, VNET_BUF_SIZE);
			sc->rx_tail->next = b;
			sc->rx_tail = b;
			sc->rx_total += len;
			if (--sc->rx_need > 0)
				continue;
			struct nic_buf *head = sc->rx_head;
			sc->rx_head = sc->rx_tail = NULL;
			if (rx_chain_check(sc, head, sc->rx_total) != TERN_OK) {
				nic_buf_release_chain(head);
				continue;
			}
			work++;
			rx_up(sc, head, sc->rx_total);
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
		if (rx_hdr_check(sc, h, len - VNET_HDR_SIZE) != TERN_OK) {
			rx_release(b);
			continue;
		}
		rx_buf_init(b, buf + VNET_HDR_SIZE, len - VNET_HDR_SIZE,
		    VNET_BUF_SIZE - VNET_HDR_SIZE);
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			b->flags = NIC_RXCSUM_PARTIAL;
			b->csum_start = h->csum_start;
			b->csum_offset = h->csum_offset;
		} else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
			b->flags = NIC_RXCSUM_GOOD;
		}
		if (virtio_has(&sc->bus.vd, VIRTIO_NET_F_MRG_RXBUF) && h->num_buffers > 1) {
			sc->rx_head = sc->rx_tail = b;
			sc->rx_need = (uint16_t)(h->num_buffers - 1);
			sc->rx_total = b->len;
			continue;
		}
		work++;
		rx_up(sc, b, b->len);
	}
	if (sc->rx_kick_pending) {
		sc->rx_kick_pending = false;
		virtq_kick(&sc->rxq);
	}
	if (work == 0)
		virtio_check_broken(&sc->bus.vd);
	if (virtio_has(&sc->bus.vd, VIRTIO_NET_F_STATUS)) {
		bool up = virtio_cfg16(&sc->bus.vd, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
		if (up != n->link_up) {
			n->link_up = up;
			log_info("virtio-net", "%s: link %s", n->name, up ? "up" : "down");
			if (n->link_change != NULL)
				n->link_change(n->upper, up);
		}
	}
	return work;
}

static void
vnet_intr_enable(struct nic *n, int queue, bool on)
{
	/* Only receive interrupts, and only with an MSI-X vector bound;
	   without one the queue stays polled (avail flags NO_INTERRUPT). */
	struct virtio_net_softc *sc = n->sc;
	if (queue == 0)
		virtq_intr(&sc->rxq, on);
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
	for (struct nic_buf *b = sc->rx_head; b != NULL; b = b->next)
		b->refs = 0;
	sc->rx_head = sc->rx_tail = NULL;
	sc->rx_need = 0;
	for (uint32_t i = 0; i < VNET_TX_SLOTS; i++) {
		if (sc->tx_chain[i] != NULL) {
			nic_buf_release_chain(sc->tx_chain[i]);
			sc->tx_chain[i] = NULL;
		}
	}
	vnet_undo(sc, vd, VNET_UNDO_TXHDR);
}

static void
vnet_detach(struct nic *n)
{
	virtio_net_detach_core(n->sc);
}

/*
 * Recover a device that went broken (DEVICE_NEEDS_RESET, or a protocol
 * violation virtio_check_broken caught): reset it, negotiate again and
 * set both queues up anew on the same softc and the same struct nic, so
 * the upper layer's binding (rx, upper, its connections) survives.  The
 * receive buffer memory is kept: buffers the upper layer still holds
 * (zero-copy receive) stay valid and are posted again when released;
 * every other one is posted now.  Transmit chains in flight are released
 * (those frames are lost, as on a wire).  The MAC must read the same as
 * before; the NIC is registered again (a no-op for one already in the
 * registry) and TERN NIC printed again.  Returns TERN_OK or the error of
 * the step that failed (the device then stays broken).
 */
int
virtio_net_recover(struct virtio_net_softc *sc)
{
	struct virtio_dev *vd = &sc->bus.vd;
	struct nic *n = &sc->nic;
	int rc;

	log_warn("virtio-net", "%s: device needs a reset: recovering", n->name);
	virtio_reset(vd);
	for (uint32_t i = 0; i < VNET_TX_SLOTS; i++) {
		if (sc->tx_chain[i] != NULL) {
			nic_buf_release_chain(sc->tx_chain[i]);
			sc->tx_chain[i] = NULL;
			n->stats.tx_drops++;
		}
		sc->tx_free[i] = i;
	}
	sc->tx_nfree = VNET_TX_SLOTS;
	/* size 0 from here on: a buffer released meanwhile is not posted. */
	virtq_free(vd, &sc->rxq);
	virtq_free(vd, &sc->txq);
	sc->rx_skip = 0;
	sc->rx_kick_pending = false;
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
	rc = vnet_rings_setup(sc);
	if (rc != TERN_OK)
		goto fail;
	uint32_t posted = 0, held = 0;
	for (uint32_t i = 0; i < VNET_RX_BUFS && posted < sc->rxq.size; i++) {
		if (sc->rx->bufs[i].refs != 0) {
			held++;		/* posted by rx_release when it comes back */
			continue;
		}
		if (rx_post(sc, &sc->rx->bufs[i]) != TERN_OK)
			break;
		posted++;
	}
	virtio_ready(vd);
	virtq_kick(&sc->rxq);
	nic_register(n);
	log_info("virtio-net", "%s: recovered: %u receive buffers posted, %u held "
	    "by the stack", n->name, posted, held);
	marker("NIC name=%s mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u link=%s", n->name,
	    n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], n->mtu,
	    n->link_up ? "up" : "down");
	return TERN_OK;

fail:
	vd->broken = true;
	log_error("virtio-net", "%s: recovery failed: %s", n->name, err_str(rc));
	return rc;
}

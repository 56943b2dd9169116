/*
 * ena_datapath.c - ENA transmit and receive (PROTOCOLS.md A.8, A.9).
 *
 * TX: one req_id per frame from a free list below the ring depth; an
 * optional meta descriptor when checksum offload is asked (NIC v2
 * metadata, A.8.2), then one buffer descriptor per nic_buf, zero copy.
 * With LLQ (A.9) the descriptors and the first llq_inline bytes of the
 * frame are built in a bounce entry and written to BAR2 with
 * hw_write_block (whole 64-bit words, one entry at a time), the
 * doorbell at least every llq_burst entries; a frame whose headers (as
 * the metadata places them) do not fit inline is refused and counted.
 * RX: one ENA_RX_BUF buffer per descriptor, req_id = buffer index;
 * frames spanning several buffers go up as a nic_buf chain.  Every
 * completion is checked: phase, req_id range and ownership, lengths,
 * must-be-zero bits; a bad req_id asks for a reset (A.12).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ena/ena_var.h"
#include "kernel/err.h"
#include "kernel/log.h"

#define MOD "ena"

void
ena_tx_ring_reset(struct ena_softc *sc, struct ena_txq *tq)
{
	(void)sc;
	tq->tail = 0;
	tq->sq_phase = 1;
	tq->cq_head = 0;
	tq->cq_phase = 1;
	tq->used = 0;
	tq->since_db = 0;
	tq->nfree = 0;
	for (uint16_t i = tq->depth; i > 0; i--) {
		tq->slot[i - 1].chain = NULL;
		tq->free_ids[tq->nfree++] = (uint16_t)(i - 1);
	}
	if (tq->sq.va != NULL)
		memset(tq->sq.va, 0, (size_t)tq->depth * sizeof(struct ena_tx_desc));
	memset(tq->cq.va, 0, (size_t)tq->depth * sizeof(struct ena_tx_cdesc));
	hw_dma_sync_dev(&sc->hw, tq->cq.va, (size_t)tq->depth * sizeof(struct ena_tx_cdesc));
}

/* Buffers the device held, or that were half a frame, become ours. */
void
ena_rx_ring_reset(struct ena_softc *sc, struct ena_rxq *rq)
{
	rq->tail = 0;
	rq->sq_phase = 1;
	rq->cq_head = 0;
	rq->cq_phase = 1;
	rq->posted = 0;
	rq->head = rq->last = NULL;
	rq->nfree = 0;
	for (uint16_t i = 0; i < rq->depth; i++) {
		if (rq->state[i] != ENA_RXB_LENT) {
			rq->state[i] = ENA_RXB_FREE;
			rq->free_ids[rq->nfree++] = i;
		}
	}
	memset(rq->sq.va, 0, (size_t)rq->depth * sizeof(struct ena_rx_desc));
	memset(rq->cq.va, 0, (size_t)rq->depth * sizeof(struct ena_rx_cdesc));
	hw_dma_sync_dev(&sc->hw, rq->cq.va, (size_t)rq->depth * sizeof(struct ena_rx_cdesc));
}

static void
rx_release(struct nic_buf *b)
{
	struct ena_rxq *rq = b->owner;
	uint16_t id = (uint16_t)b->cookie;
	if (id >= rq->depth || rq->state[id] != ENA_RXB_LENT) {
		log_error(MOD, "%s: receive buffer %u released twice", rq->sc->hw.name, id);
		return;
	}
	rq->state[id] = ENA_RXB_FREE;
	rq->free_ids[rq->nfree++] = id;
}

/* A.8.4, A.8.6: post every free buffer (ring keeps one slot empty). */
void
ena_rx_fill(struct ena_softc *sc, struct ena_rxq *rq)
{
	uint16_t mask = (uint16_t)(rq->depth - 1);
	uint16_t n = 0;
	if (!rq->live)
		return;
	while (rq->nfree > 0 && rq->posted < rq->depth - 1) {
		uint16_t id = rq->free_ids[--rq->nfree];
		struct ena_rx_desc *d = (struct ena_rx_desc *)rq->sq.va + (rq->tail & mask);
		uint64_t pa = rq->bufs.pa + (uint64_t)id * ENA_RX_BUF;
		memset(d, 0, sizeof(*d));
		d->length = ENA_RX_BUF;
		d->ctrl = (uint8_t)(ENA_RXD_FIRST | ENA_RXD_LAST | ENA_RXD_COMP_REQ | rq->sq_phase);
		d->req_id = id;
		d->addr_lo = (uint32_t)pa;
		d->addr_hi = (uint16_t)(pa >> 32);
		hw_dma_sync_dev(&sc->hw, d, sizeof(*d));
		rq->state[id] = ENA_RXB_DEVICE;
		rq->posted++;
		rq->tail++;
		if ((rq->tail & mask) == 0)
			rq->sq_phase ^= 1;
		n++;
	}
	if (n != 0) {
		hw_wmb();
		hw_write32(&sc->regs, rq->db_off, rq->tail);
	}
}

/* Byte `off` of a frame held in a chain, or -1 past its end. */
static int
chain_byte(const struct nic_buf *b, uint32_t off)
{
	for (; b != NULL; b = b->next) {
		if (off < b->len)
			return b->data[off];
		off -= b->len;
	}
	return -1;
}

static void
chain_copy(const struct nic_buf *b, uint8_t *dst, uint32_t len)
{
	for (; b != NULL && len > 0; b = b->next) {
		uint32_t n = b->len < len ? b->len : len;
		memcpy(dst, b->data, n);
		dst += n;
		len -= n;
	}
}

/* len_ctrl bits every buffer descriptor of a frame carries (A.8.1);
   the phase is added per ring unit when the descriptor is written. */
static uint32_t
txd_ctrl(uint16_t req_id)
{
	return ((uint32_t)(req_id >> 10) & 0x3f) << ENA_TXD_REQ_HI_SHIFT | ENA_TXD_COMP_REQ;
}

struct tx_plan {
	struct ena_tx_desc d[ENA_TX_MAX_BUFS + 2];
	uint16_t n;		/* descriptors, meta first when present */
	uint16_t push;		/* LLQ: bytes inline */
};

/*
 * Build the descriptors of one frame (phase bits filled in later, per
 * ring unit).  `push` bytes from the start of the frame travel inline
 * (LLQ) and are skipped by the buffer descriptors.
 */
static int
tx_plan(struct ena_softc *sc, struct tx_plan *p, struct nic_buf *chain,
    uint32_t total, const struct nic_tx_meta *meta, uint16_t req_id)
{
	struct nic *n = &sc->nic;
	uint32_t meta_ctrl = 0;
	p->n = 0;
	if (meta != NULL && (meta->flags & NIC_TX_CSUM_L4) && (n->offloads & NIC_OFF_TX_CSUM)) {
		int field = nic_tx_csum_field(meta);
		if (field < 0 || meta->l3_off < 14 || meta->l4_off <= meta->l3_off ||
		    (uint32_t)meta->l4_off + (uint32_t)field + 2 > total)
			return TERN_EINVAL;
		uint32_t l4len = 8;
		if (meta->l4_proto == NIC_PROTO_TCP) {
			int doff = chain_byte(chain, meta->l4_off + 12u);
			if (doff < 0 || (doff >> 4) < 5)
				return TERN_EINVAL;
			l4len = (uint32_t)(doff >> 4) * 4;
		}
		int fl = chain_byte(chain, meta->l3_off + 6u);
		struct ena_tx_meta_desc *m = (struct ena_tx_meta_desc *)&p->d[p->n++];
		m->len_ctrl = ENA_TXD_META | ENA_TXD_FIRST | ENA_TXM_EXT_VALID |
		    ENA_TXM_ETH_META_TYPE | ENA_TXM_META_STORE;
		m->word1 = 0;
		m->word2 = (uint32_t)(meta->l4_off - meta->l3_off) |
		    (uint32_t)meta->l3_off << 8 | (l4len / 4) << 16;
		m->rsvd = 0;
		meta_ctrl = ENA_TXD_L3_IPV4 | ENA_TXD_L4_CSUM | ENA_TXD_L4_CSUM_PARTIAL |
		    (uint32_t)(meta->l4_proto == NIC_PROTO_TCP ? ENA_TXD_L4_TCP :
		    ENA_TXD_L4_UDP) << ENA_TXD_L4_SHIFT;
		if (fl >= 0 && (fl & 0x40))
			meta_ctrl |= ENA_TXD_DF;
	}
	uint16_t first_buf = p->n;
	uint32_t skip = p->push;
	uint32_t hdr = sc->llq ? p->push : (chain->len < sc->max_tx_header ?
	    chain->len : sc->max_tx_header);
	if (hdr > 255)
		hdr = 255;
	for (struct nic_buf *b = chain; b != NULL; b = b->next) {
		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		if (p->n >= ENA_TX_MAX_BUFS + 1 || p->n + 1u > sc->max_tx_descs)
			return TERN_ENOMEM;
		uint64_t pa = hw_virt_to_phys(&sc->hw, b->data + skip);
		/* What the device fetches by DMA: the part not pushed inline. */
		hw_dma_sync_dev(&sc->hw, b->data + skip, b->len - skip);
		struct ena_tx_desc *d = &p->d[p->n++];
		d->len_ctrl = (b->len - skip) & ENA_TXD_LEN_MASK;
		d->meta_ctrl = 0;
		d->addr_lo = (uint32_t)pa;
		d->addr_hi_hdr = (uint32_t)(pa >> 32) & 0xffff;
		skip = 0;
	}
	if (p->n == first_buf) {
		/* All of it went inline: one empty descriptor carries it (A.9). */
		struct ena_tx_desc *d = &p->d[p->n++];
		memset(d, 0, sizeof(*d));
	}
	struct ena_tx_desc *f = &p->d[first_buf];
	f->meta_ctrl |= meta_ctrl;
	f->addr_hi_hdr |= hdr << ENA_TXD_HDR_LEN_SHIFT;
	if (first_buf == 0)
		f->len_ctrl |= ENA_TXD_FIRST;
	p->d[p->n - 1].len_ctrl |= ENA_TXD_LAST;
	for (uint16_t i = first_buf; i < p->n; i++) {
		p->d[i].len_ctrl |= txd_ctrl(req_id);
		p->d[i].meta_ctrl |= (uint32_t)(req_id & 0x3ff) << ENA_TXD_REQ_LO_SHIFT;
	}
	return TERN_OK;
}

static void
doorbell(struct ena_softc *sc, struct ena_txq *tq)
{
	hw_wmb();
	hw_write32(&sc->regs, tq->db_off, tq->tail);
	tq->since_db = 0;
}

/* A.9: first entry [desc][desc][header], then entry_size/16 descs each. */
static uint16_t
llq_units(const struct ena_softc *sc, uint16_t ndesc)
{
	uint16_t per = (uint16_t)(sc->llq_entry / sizeof(struct ena_tx_desc));
	if (ndesc <= 2)
		return 1;
	return (uint16_t)(1 + (ndesc - 2 + per - 1) / per);
}

static void
llq_write(struct ena_softc *sc, struct ena_txq *tq, struct tx_plan *p,
    struct nic_buf *chain)
{
	uint64_t w[256 / 8];
	uint8_t *e = (uint8_t *)w;
	uint16_t mask = (uint16_t)(tq->depth - 1);
	uint16_t per = (uint16_t)(sc->llq_entry / sizeof(struct ena_tx_desc));
	uint16_t i = 0;
	bool first = true;
	while (i < p->n) {
		memset(w, 0, sc->llq_entry);
		uint16_t k = first ? 2 : per;
		for (uint16_t j = 0; j < k && i < p->n; j++, i++) {
			struct ena_tx_desc d = p->d[i];
			if (tq->sq_phase)
				d.len_ctrl |= ENA_TXD_PHASE;
			memcpy(e + j * sizeof(d), &d, sizeof(d));
		}
		if (first)
			chain_copy(chain, e + 2 * sizeof(struct ena_tx_desc), p->push);
		first = false;
		hw_write_block(&sc->llq_bar, tq->llq_off + (uint32_t)(tq->tail & mask) *
		    sc->llq_entry, w, sc->llq_entry / 8u);
		sc->st.llq_entries++;
		tq->since_db++;
		tq->tail++;
		if ((tq->tail & mask) == 0)
			tq->sq_phase ^= 1;
	}
}

int
ena_tx(struct nic *n, int queue, struct nic_buf *chain, const struct nic_tx_meta *meta)
{
	struct ena_softc *sc = n->sc;
	if (queue < 0 || queue >= sc->nq || chain == NULL)
		return TERN_EINVAL;
	struct ena_txq *tq = &sc->txq[queue];
	struct nic_queue_stats *qs = &n->queue[queue].stats;
	if (!tq->live || sc->reset_pending || sc->dead) {
		n->stats.tx_ring_full++;
		qs->tx_ring_full++;
		return TERN_EAGAIN;
	}
	uint32_t total = 0, nbufs = 0;
	for (struct nic_buf *b = chain; b != NULL; b = b->next) {
		total += b->len;
		nbufs++;
	}
	if (total < 14 || total > (uint32_t)n->mtu + 18) {
		n->stats.tx_errors++;
		return TERN_EINVAL;
	}
	if (nbufs > ENA_TX_MAX_BUFS) {
		sc->st.tx_too_many_bufs++;
		n->stats.tx_drops++;
		return TERN_EINVAL;
	}
	if (tq->nfree == 0) {
		n->stats.tx_ring_full++;
		qs->tx_ring_full++;
		return TERN_EAGAIN;
	}
	struct tx_plan p;
	p.push = 0;
	if (sc->llq) {
		/* Headers the metadata places must fit inline (A.9). */
		uint32_t hdr_end = 0;
		if (meta != NULL && meta->l4_off != 0) {
			hdr_end = meta->l4_off + 8u;
			if (meta->l4_proto == NIC_PROTO_TCP) {
				int doff = chain_byte(chain, meta->l4_off + 12u);
				hdr_end = meta->l4_off + (doff < 0 ? 20u : (uint32_t)(doff >> 4) * 4);
			}
		}
		if (hdr_end > sc->llq_inline) {
			sc->st.llq_hdr_too_big++;
			n->stats.tx_drops++;
			return TERN_EINVAL;
		}
		p.push = (uint16_t)(total < sc->llq_inline ? total : sc->llq_inline);
	}
	uint16_t req_id = tq->free_ids[tq->nfree - 1];
	int rc = tx_plan(sc, &p, chain, total, meta, req_id);
	if (rc != TERN_OK) {
		if (rc == TERN_ENOMEM)
			sc->st.tx_too_many_bufs++;
		n->stats.tx_drops++;
		return TERN_EINVAL;
	}
	uint16_t units = sc->llq ? llq_units(sc, p.n) : p.n;
	if (sc->llq && sc->llq_burst != 0 && units > sc->llq_burst) {
		sc->st.tx_too_many_bufs++;
		n->stats.tx_drops++;
		return TERN_EINVAL;
	}
	if ((uint32_t)tq->used + units > (uint32_t)tq->depth - 1) {
		n->stats.tx_ring_full++;
		qs->tx_ring_full++;
		return TERN_EAGAIN;
	}
	tq->nfree--;
	if (sc->llq) {
		/* LIMIT_TX_BURST (A.9): never more than llq_burst entries
		   between doorbells, and never a doorbell inside a frame. */
		if (sc->llq_burst != 0 && tq->since_db + units > sc->llq_burst)
			doorbell(sc, tq);
		llq_write(sc, tq, &p, chain);
		n->stats.tx_copy_bytes += p.push;
	} else {
		uint16_t mask = (uint16_t)(tq->depth - 1);
		for (uint16_t i = 0; i < p.n; i++) {
			struct ena_tx_desc *d = (struct ena_tx_desc *)tq->sq.va + (tq->tail & mask);
			*d = p.d[i];
			if (tq->sq_phase)
				d->len_ctrl |= ENA_TXD_PHASE;
			hw_dma_sync_dev(&sc->hw, d, sizeof(*d));
			tq->tail++;
			if ((tq->tail & mask) == 0)
				tq->sq_phase ^= 1;
		}
	}
	doorbell(sc, tq);
	tq->slot[req_id].chain = chain;
	tq->slot[req_id].ndesc = units;
	tq->slot[req_id].sent_ns = hw_now_ns(&sc->hw);
	tq->used = (uint16_t)(tq->used + units);
	n->stats.tx_packets++;
	n->stats.tx_bytes += total;
	qs->tx_packets++;
	qs->tx_bytes += total;
	return TERN_OK;
}

/* A.8.3: reap TX completions. */
static int
tx_reap(struct ena_softc *sc, struct ena_txq *tq, int budget)
{
	uint16_t mask = (uint16_t)(tq->depth - 1);
	int done = 0;
	/* At most one lap of the ring per call, whatever the device writes. */
	for (uint32_t lap = 0; done < budget && lap < tq->depth; lap++) {
		struct ena_tx_cdesc *c = (struct ena_tx_cdesc *)tq->cq.va + (tq->cq_head & mask);
		uint32_t w0 = hw_dma_load32(&sc->hw, c);
		if (((w0 >> 24) & 1) != tq->cq_phase)
			break;
		hw_rmb();
		hw_dma_sync_cpu(&sc->hw, c, sizeof(*c));
		struct ena_tx_cdesc cd = *c;
		tq->cq_head++;
		if ((tq->cq_head & mask) == 0)
			tq->cq_phase ^= 1;
		if (cd.req_id >= tq->depth || tq->slot[cd.req_id].chain == NULL) {
			sc->st.bad_tx_req_id++;
			sc->nic.stats.bad_completions++;
			log_warn(MOD, "%s: TX completion with req_id %u (depth %u, %s)",
			    sc->hw.name, cd.req_id, tq->depth,
			    cd.req_id >= tq->depth ? "out of range" : "not in flight");
			ena_request_reset(sc, ENA_RESET_INV_TX_REQ_ID, "invalid TX req_id");
			break;
		}
		if (cd.status != 0)
			sc->nic.stats.tx_errors++;
		struct ena_tx_slot *s = &tq->slot[cd.req_id];
		nic_buf_release_chain(s->chain);
		s->chain = NULL;
		tq->used = (uint16_t)(tq->used - s->ndesc);
		tq->free_ids[tq->nfree++] = cd.req_id;
		done++;
	}
	return done;
}

/* Give the buffers of a frame being assembled back to the free list. */
static void
rx_drop_frame(struct ena_rxq *rq)
{
	for (struct nic_buf *b = rq->head; b != NULL;) {
		struct nic_buf *next = b->next;
		uint16_t id = (uint16_t)b->cookie;
		b->next = NULL;
		rq->state[id] = ENA_RXB_FREE;
		rq->free_ids[rq->nfree++] = id;
		b = next;
	}
	rq->head = rq->last = NULL;
}

static uint16_t
rx_csum(const struct ena_softc *sc, uint32_t st)
{
	if (!(sc->nic.offloads & NIC_OFF_RX_CSUM))
		return NIC_RXCSUM_NONE;
	uint32_t l3 = st & ENA_RXC_L3_MASK;
	uint32_t l4 = (st >> ENA_RXC_L4_SHIFT) & ENA_RXC_L4_MASK;
	if (l3 != ENA_TXD_L3_IPV4 || (l4 != ENA_TXD_L4_TCP && l4 != ENA_TXD_L4_UDP) ||
	    (st & ENA_RXC_IPV4_FRAG) || !(st & ENA_RXC_L4_CSUM_CHECKED))
		return NIC_RXCSUM_NONE;
	return (st & ENA_RXC_L4_CSUM_ERR) ? NIC_RXCSUM_BAD : NIC_RXCSUM_GOOD;
}

/* A.8.5: reap RX completions, deliver whole frames. */
static int
rx_reap(struct ena_softc *sc, struct ena_rxq *rq, int queue, int budget)
{
	struct nic *n = &sc->nic;
	struct nic_queue_stats *qs = &n->queue[queue].stats;
	uint16_t mask = (uint16_t)(rq->depth - 1);
	int done = 0;
	for (uint32_t lap = 0; done < budget && rq->live && lap < rq->depth; lap++) {
		struct ena_rx_cdesc *c = (struct ena_rx_cdesc *)rq->cq.va + (rq->cq_head & mask);
		uint32_t st = hw_dma_load32(&sc->hw, c);
		if (((st & ENA_RXC_PHASE) != 0) != (rq->cq_phase != 0))
			break;
		hw_rmb();
		hw_dma_sync_cpu(&sc->hw, c, sizeof(*c));
		struct ena_rx_cdesc cd = *c;
		rq->cq_head++;
		if ((rq->cq_head & mask) == 0)
			rq->cq_phase ^= 1;
		if (cd.req_id >= rq->depth || rq->state[cd.req_id] != ENA_RXB_DEVICE) {
			sc->st.bad_rx_req_id++;
			n->stats.bad_completions++;
			log_warn(MOD, "%s: RX completion with req_id %u (depth %u, %s)",
			    sc->hw.name, cd.req_id, rq->depth,
			    cd.req_id >= rq->depth ? "out of range" : "not posted");
			ena_request_reset(sc, ENA_RESET_INV_RX_REQ_ID, "invalid RX req_id");
			break;
		}
		uint16_t id = cd.req_id;
		rq->posted--;
		struct nic_buf *b = &rq->nb[id];
		rq->state[id] = ENA_RXB_FRAME;
		b->data = (uint8_t *)rq->bufs.va + (size_t)id * ENA_RX_BUF;
		b->cap = ENA_RX_BUF;
		b->len = cd.length;
		b->next = NULL;
		b->owner = rq;
		b->release = rx_release;
		b->cookie = id;
		b->refs = 1;
		b->flags = 0;
		b->queue = (uint16_t)queue;
		bool bad = (st & ENA_RXC_MBZ) || cd.offset != 0 || cd.length == 0 ||
		    cd.length > ENA_RX_BUF;
		if (st & ENA_RXC_FIRST) {
			if (rq->head != NULL) {
				sc->st.bad_rx_cdesc++;
				rx_drop_frame(rq);
			}
			rq->head = rq->last = b;
		} else if (rq->head == NULL) {
			bad = true;
			rq->head = rq->last = b;
		} else {
			rq->last->next = b;
			rq->last = b;
		}
		hw_dma_sync_cpu(&sc->hw, b->data, b->len <= ENA_RX_BUF ? b->len : ENA_RX_BUF);
		uint32_t nb = 0, total = 0;
		for (struct nic_buf *x = rq->head; x != NULL; x = x->next) {
			nb++;
			total += x->len;
		}
		if (!bad && (nb > sc->max_rx_descs || total > (uint32_t)n->mtu + 18u + 4u))
			bad = true;
		if (bad) {
			sc->st.bad_rx_cdesc++;
			n->stats.rx_errors++;
			n->stats.bad_completions++;
			rx_drop_frame(rq);
			continue;
		}
		if (!(st & ENA_RXC_LAST))
			continue;
		struct nic_buf *h = rq->head;
		rq->head = rq->last = NULL;
		if (total < 14 || (h->next != NULL && h->len < NIC_RX_HDR_MIN)) {
			sc->st.bad_rx_cdesc++;
			n->stats.rx_errors++;
			rq->head = h;
			rx_drop_frame(rq);
			continue;
		}
		h->flags = rx_csum(sc, st);
		for (struct nic_buf *x = h; x != NULL; x = x->next)
			rq->state[x->cookie] = ENA_RXB_LENT;
		n->stats.rx_packets++;
		n->stats.rx_bytes += total;
		qs->rx_packets++;
		qs->rx_bytes += total;
		done++;
		if (n->rx != NULL) {
			n->rx(n->upper, h);
		} else {
			n->stats.rx_drops++;
			nic_buf_release_chain(h);
		}
	}
	return done;
}

int
ena_poll(struct nic *n, int queue, int budget)
{
	struct ena_softc *sc = n->sc;
	if (queue < 0 || queue >= sc->nq)
		return 0;
	n->queue[queue].stats.polls++;
	if (queue == 0)
		ena_service(sc);
	else if (sc->aenq_irq && !sc->reset_pending && !sc->dead)
		ena_aenq_process(sc);	/* the management vector fired (A.11) */
	if (sc->reset_pending || sc->dead)
		return 0;
	struct ena_txq *tq = &sc->txq[queue];
	struct ena_rxq *rq = &sc->rxq[queue];
	if (!tq->live || !rq->live)
		return 0;
	int work = tx_reap(sc, tq, budget);
	if (!sc->reset_pending)
		work += rx_reap(sc, rq, queue, budget);
	if (!sc->reset_pending) {
		if (rq->nfree == 0 && rq->posted == 0)
			n->stats.rx_nobuf++;
		ena_rx_fill(sc, rq);
	}
	return work;
}

/* The next RX completion's phase is the one expected: a frame waits.  A
   pending reset is work for ena_poll too. */
bool
ena_rx_pending(struct nic *n, int queue)
{
	struct ena_softc *sc = n->sc;
	if (queue < 0 || queue >= sc->nq || sc->dead)
		return false;
	if (sc->reset_pending)
		return true;
	struct ena_rxq *rq = &sc->rxq[queue];
	if (!rq->live)
		return false;
	uint16_t mask = (uint16_t)(rq->depth - 1);
	const struct ena_rx_cdesc *c = (const struct ena_rx_cdesc *)rq->cq.va + (rq->cq_head & mask);
	uint32_t st = hw_dma_load32(&sc->hw, c);
	return ((st & ENA_RXC_PHASE) != 0) == (rq->cq_phase != 0);
}

/* A.8.6, A.11: the IO vector auto-masks; writing unmask re-arms it.
   Both CQs of a pair share the register; we write the TX CQ's. */
void
ena_intr_enable(struct nic *n, int queue, bool on)
{
	struct ena_softc *sc = n->sc;
	if (queue < 0 || queue >= sc->nq)
		return;
	struct ena_txq *tq = &sc->txq[queue];
	tq->intr_on = on;
	if (on && tq->live && sc->nvec != 0)
		hw_write32(&sc->regs, tq->unmask_off, ENA_INTR_UNMASK);
}

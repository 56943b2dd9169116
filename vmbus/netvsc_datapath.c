/*
 * netvsc_datapath.c - the Hyper-V synthetic NIC, datapath (PROTOCOLS.md
 * B.10 packets, B.11 NVSP data messages, B.12 RNDIS PACKET and PPI).
 *
 * Receive, zero copy: the host writes RNDIS messages into our receive
 * buffer and sends a transfer-page packet naming them (pageset 0xCAFE,
 * ranges of offset and length).  Each range is checked against the
 * buffer, its RNDIS PACKET header against the range, its per-packet info
 * against the header; the frame then goes up as a nic_buf pointing into
 * the receive buffer.  The transfer packet is acknowledged (a COMP with
 * its transaction id) only when the upper layer has released every
 * buffer of it: until then the host does not reuse those bytes.  At most
 * NETVSC_MAX_XFER transfer packets are held; at the bound the inbound
 * ring is left alone (xfer_stalls) and the host waits.  A transfer
 * packet that fails a check is acknowledged at once, its frames dropped
 * and counted.  RNDIS control completions and status indications come
 * the same way; they are copied (small) and never lent.
 *
 * Transmit: a frame of at most NETVSC_TX_COPY_MAX bytes is copied with
 * its RNDIS header into a send-buffer section (tx_copy_bytes); a larger
 * one goes as a GPA-direct packet whose page buffers are the RNDIS
 * header (from a per-slot area) and the caller's buffers themselves.
 * The chain is released when the COMP with its transaction id comes; an
 * id we did not send, or sent and already completed, is counted
 * (comp_unknown) and changes nothing.  No free slot, no free section or a
 * full ring: TERN_EAGAIN, the caller keeps the chain (kernel/dev/nic.h),
 * and the queue waits.  On a full ring vmbus_chan_send has left the
 * bytes the packet needs in the ring's pending_send_sz (B.10), so the
 * host signals once it has freed that much; the queue's poll looks (two
 * index loads), and once the ring has room, or a completion has given
 * back the slot or section that was missing, it clears the wait and
 * calls nic->tx_ready once (nic.tx_wakes).  Nothing retries inside
 * transmit and nothing loops on the ring.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "vmbus/netvsc_var.h"
#include "vmbus/vmbus_var.h"

/* ---- receive pool ------------------------------------------------------ */

static void netvsc_rx_release(struct nic_buf *b);

int
netvsc_rx_pool_init(struct netvsc_softc *sc)
{
	struct hw_dma mem, buf;

	if (hw_dma_alloc(sc->hw, sizeof(struct netvsc_rxpool), 4096, &mem) != 0)
		return TERN_ENOMEM;
	if (hw_dma_alloc(sc->hw, NETVSC_RXBUF_BYTES, 4096, &buf) != 0) {
		hw_dma_free(sc->hw, &mem);
		return TERN_ENOMEM;
	}
	struct netvsc_rxpool *p = mem.va;
	memset(p, 0, sizeof(*p));
	p->mem = mem;
	p->buf = buf;
	hw_dev_copy(&p->hw, sc->hw);	/* the channel's root: the hv device */
	p->sc = sc;
	for (uint32_t i = NETVSC_RX_NBUFS; i > 0; i--)
		p->free[p->nfree++] = (uint16_t)(i - 1);
	sc->rx = p;
	return TERN_OK;
}

static void
netvsc_pool_free(struct netvsc_rxpool *p)
{
	struct hw_dev hw = p->hw;
	struct hw_dma mem = p->mem;
	if (!p->keep_buf)
		hw_dma_free(&hw, &p->buf);
	hw_dma_free(&hw, &mem);
}

void
netvsc_rx_pool_put(struct netvsc_softc *sc)
{
	struct netvsc_rxpool *p = sc->rx;
	if (p == NULL)
		return;
	sc->rx = NULL;
	p->sc = NULL;
	sc->acks_pending = 0;
	if (p->out == 0) {
		netvsc_pool_free(p);
		return;
	}
	log_info(p->hw.name, "%u receive buffers still lent: freed when they return",
	    p->out);
}

/* The COMP that gives a transfer packet's bytes back to the host. */
static int
netvsc_ack(struct netvsc_softc *sc, int q, uint64_t tid)
{
	struct nvsp_rndis_pkt_complete c = { NVSP_MSG_RNDIS_PKT_COMPLETE,
	    NVSP_STAT_SUCCESS };
	/* On the channel the transfer came on; a closed one needs none. */
	if (sc->q[q].dead)
		return TERN_OK;
	int rc = vmbus_chan_send(sc->q[q].ch, VMBUS_PKT_COMP, 0, tid, NULL, 0, &c,
	    sizeof(c));
	if (rc == TERN_OK)
		sc->st.acks++;
	return rc;
}

/* Drop one reference of transfer slot x; ack it on the last. */
static void
netvsc_xfer_put(struct netvsc_rxpool *p, struct netvsc_xfer *x)
{
	if (x->pending == 0 || --x->pending > 0)
		return;
	struct netvsc_softc *sc = p->sc;
	if (sc != NULL && netvsc_ack(sc, x->q, x->trans_id) == TERN_EAGAIN) {
		/* The ring is full: poll retries, the slot stays held. */
		x->state = NETVSC_XFER_ACK;
		sc->acks_pending++;
		sc->st.acks_deferred++;
		return;
	}
	x->state = NETVSC_XFER_FREE;
	p->nxfer--;
}

static void
netvsc_rx_release(struct nic_buf *b)
{
	struct netvsc_rxpool *p = b->owner;
	uint16_t i = (uint16_t)(b - p->bufs);
	struct netvsc_xfer *x = &p->xfer[b->cookie];

	b->data = NULL;
	p->free[p->nfree++] = i;
	p->out--;
	netvsc_xfer_put(p, x);
	if (p->sc == NULL && p->out == 0)
		netvsc_pool_free(p);
}

static void
netvsc_retry_acks(struct netvsc_softc *sc)
{
	struct netvsc_rxpool *p = sc->rx;
	for (int i = 0; i < NETVSC_MAX_XFER && sc->acks_pending > 0; i++) {
		struct netvsc_xfer *x = &p->xfer[i];
		if (x->state != NETVSC_XFER_ACK)
			continue;
		if (netvsc_ack(sc, x->q, x->trans_id) != TERN_OK)
			return;
		x->state = NETVSC_XFER_FREE;
		p->nxfer--;
		sc->acks_pending--;
	}
}

/* ---- receive: one RNDIS message of a range ----------------------------- */

/* RX checksum state from a PACKET's per-packet info (validated). */
static uint16_t
netvsc_rx_csum(struct netvsc_softc *sc, const uint8_t *msg,
    const struct rndis_packet *pk)
{
	if (pk->ppi_len == 0)
		return NIC_RXCSUM_NONE;
	uint64_t start = (uint64_t)RNDIS_OFF_BASE + pk->ppi_off;
	if (pk->ppi_off < RNDIS_DATA_OFF_MIN || (pk->ppi_off & 3) != 0 ||
	    start + pk->ppi_len > pk->len) {
		sc->st.ppi_bad++;
		return NIC_RXCSUM_NONE;
	}
	uint16_t st = NIC_RXCSUM_NONE;
	uint32_t off = 0;
	while (off < pk->ppi_len) {
		struct rndis_ppi r;
		if (pk->ppi_len - off < sizeof(r)) {
			sc->st.ppi_bad++;
			return NIC_RXCSUM_NONE;
		}
		memcpy(&r, msg + start + off, sizeof(r));
		if (r.size < sizeof(r) || (r.size & 3) != 0 ||
		    r.size > pk->ppi_len - off || r.offset < sizeof(r) ||
		    r.offset > r.size) {
			sc->st.ppi_bad++;
			return NIC_RXCSUM_NONE;
		}
		if (r.type == RNDIS_PPI_CSUM) {
			uint32_t v;
			if (r.size - r.offset < 4) {
				sc->st.ppi_bad++;
				return NIC_RXCSUM_NONE;
			}
			memcpy(&v, msg + start + off + r.offset, 4);
			bool ok = v & (RNDIS_RXCSUM_TCP_OK | RNDIS_RXCSUM_UDP_OK);
			bool bad = v & (RNDIS_RXCSUM_TCP_FAIL | RNDIS_RXCSUM_UDP_FAIL);
			if (ok && bad) {
				sc->st.ppi_bad++;	/* both: trust neither */
				st = NIC_RXCSUM_NONE;
			} else if (ok) {
				st = NIC_RXCSUM_GOOD;
			} else if (bad) {
				st = NIC_RXCSUM_BAD;
			}
		}
		off += r.size;
	}
	return sc->rxcsum ? st : NIC_RXCSUM_NONE;
}

static void
netvsc_rx_frame(struct netvsc_softc *sc, uint8_t *msg, uint32_t mlen, int xi)
{
	uint16_t q = sc->rx->xfer[xi].q;
	struct netvsc_rxpool *p = sc->rx;
	struct rndis_packet pk;

	if (mlen < sizeof(pk)) {
		sc->st.rndis_bad++;
		sc->nic.stats.rx_errors++;
		return;
	}
	memcpy(&pk, msg, sizeof(pk));
	uint64_t end = (uint64_t)RNDIS_OFF_BASE + pk.data_off + pk.data_len;
	if (pk.len > mlen || pk.data_off < RNDIS_DATA_OFF_MIN ||
	    (pk.data_off & 3) != 0 || pk.data_len < 14 || end > pk.len ||
	    pk.data_len > (uint32_t)sc->nic.mtu + 18u) {
		sc->st.rndis_bad++;
		sc->nic.stats.rx_errors++;
		log_debug(sc->hw->name, "bad RNDIS PACKET len %u data %u+%u in %u",
		    pk.len, pk.data_off, pk.data_len, mlen);
		return;
	}
	uint16_t csum = netvsc_rx_csum(sc, msg, &pk);
	if (!sc->running || sc->nic.rx == NULL) {
		sc->nic.stats.rx_drops++;
		return;
	}
	if (p->nfree == 0) {
		sc->nic.stats.rx_nobuf++;
		return;
	}
	struct nic_buf *b = &p->bufs[p->free[--p->nfree]];
	b->data = msg + RNDIS_OFF_BASE + pk.data_off;
	b->len = pk.data_len;
	b->cap = pk.data_len;
	b->next = NULL;
	b->release = netvsc_rx_release;
	b->owner = p;
	b->refs = 1;
	b->flags = csum;
	b->queue = q;
	b->csum_start = b->csum_offset = 0;
	b->cookie = (uint64_t)xi;
	p->out++;
	p->xfer[xi].pending++;
	sc->nic.stats.rx_packets++;
	sc->nic.stats.rx_bytes += pk.data_len;
	sc->nic.queue[q].stats.rx_packets++;
	sc->nic.queue[q].stats.rx_bytes += pk.data_len;
	sc->nic.rx(sc->nic.upper, b);
}

static void
netvsc_rx_indicate(struct netvsc_softc *sc, const uint8_t *msg, uint32_t mlen)
{
	struct rndis_indicate ind;
	if (mlen < sizeof(ind)) {
		sc->st.rndis_bad++;
		return;
	}
	memcpy(&ind, msg, sizeof(ind));
	bool up;
	if (ind.status == RNDIS_STATUS_MEDIA_CONNECT)
		up = true;
	else if (ind.status == RNDIS_STATUS_MEDIA_DISCONNECT)
		up = false;
	else
		return;		/* speed, network change, offload config */
	if (up == sc->nic.link_up)
		return;
	sc->nic.link_up = up;
	sc->st.link_changes++;
	log_info(sc->hw->name, "link %s", up ? "up" : "down");
	if (sc->running && sc->nic.link_change != NULL)
		sc->nic.link_change(sc->nic.upper, up);
}

/* A control completion: kept when it answers the request we wait for. */
static void
netvsc_rx_control(struct netvsc_softc *sc, const uint8_t *msg, uint32_t mlen,
    uint32_t type)
{
	uint32_t rid;
	if (mlen < 16) {
		sc->st.rndis_bad++;
		return;
	}
	memcpy(&rid, msg + 8, 4);
	if (sc->rndis_rid == 0 || rid != sc->rndis_rid || sc->rndis_done ||
	    type == (RNDIS_MSG_PACKET | RNDIS_MSG_COMPLETION)) {
		sc->st.ctl_unexpected++;
		return;
	}
	sc->rndis_len = mlen < NETVSC_CTL_MAX ? mlen : NETVSC_CTL_MAX;
	memcpy(sc->rndis_resp, msg, sc->rndis_len);
	sc->rndis_done = true;
}

/* One range: exactly one RNDIS message (B.11). */
static int
netvsc_rx_range(struct netvsc_softc *sc, const struct vmbus_xfer_range *r,
    int xi)
{
	struct netvsc_rxpool *p = sc->rx;
	if (r->byte_count < sizeof(struct rndis_hdr) ||
	    r->byte_offset > p->buf.len ||
	    r->byte_count > p->buf.len - r->byte_offset ||
	    (r->byte_offset & 3) != 0) {
		sc->st.ranges_bad++;
		sc->nic.stats.rx_errors++;
		return 0;
	}
	uint8_t *msg = (uint8_t *)p->buf.va + r->byte_offset;
	hw_dma_sync_cpu(sc->hw, msg, r->byte_count);
	struct rndis_hdr h;
	memcpy(&h, msg, sizeof(h));
	if (h.len < sizeof(h) || h.len > r->byte_count) {
		sc->st.rndis_bad++;
		sc->nic.stats.rx_errors++;
		return 0;
	}
	if (h.type == RNDIS_MSG_PACKET) {
		netvsc_rx_frame(sc, msg, h.len, xi);
		return 1;
	}
	if (h.type == RNDIS_MSG_INDICATE)
		netvsc_rx_indicate(sc, msg, h.len);
	else if (h.type & RNDIS_MSG_COMPLETION)
		netvsc_rx_control(sc, msg, h.len, h.type);
	else
		sc->st.rndis_bad++;
	return 0;
}

static int
netvsc_rx_xfer(struct netvsc_softc *sc, int q, const struct vmbus_pkt *pk)
{
	struct netvsc_rxpool *p = sc->rx;
	struct vmbus_xfer_hdr xh;
	struct nvsp_rndis_pkt np;
	int frames = 0;

	sc->st.xfer_pkts++;
	/* Any malformed packet is still acknowledged: the host keeps its
	   own accounting of the sections, we take nothing from it. */
	size_t hmin = 16 + sizeof(xh);
	if (pk->hdr_len < hmin || pk->hdr_len > pk->len ||
	    pk->len - pk->hdr_len < 8) {
		sc->st.xfer_bad++;
		netvsc_ack(sc, q, pk->trans_id);
		return 0;
	}
	memcpy(&xh, sc->pkt + 16, sizeof(xh));
	memset(&np, 0, sizeof(np));
	memcpy(&np, sc->pkt + pk->hdr_len,
	    pk->len - pk->hdr_len < sizeof(np) ? pk->len - pk->hdr_len : sizeof(np));
	if (xh.pageset_id != NVSP_RECV_BUF_ID || xh.range_cnt == 0 ||
	    xh.range_cnt > NETVSC_MAX_RANGES ||
	    hmin + (size_t)xh.range_cnt * 8 > pk->hdr_len ||
	    np.type != NVSP_MSG_RNDIS_PKT) {
		sc->st.xfer_bad++;
		log_debug(sc->hw->name, "bad transfer packet: set 0x%x ranges %u type %u",
		    xh.pageset_id, xh.range_cnt, np.type);
		netvsc_ack(sc, q, pk->trans_id);
		return 0;
	}
	int xi = 0;
	while (p->xfer[xi].state != NETVSC_XFER_FREE)
		xi++;		/* netvsc_process checked one is free */
	struct netvsc_xfer *x = &p->xfer[xi];
	x->state = NETVSC_XFER_HELD;
	x->trans_id = pk->trans_id;
	x->q = (uint16_t)q;
	x->pending = 1;		/* ours, while the ranges go up */
	p->nxfer++;
	if (p->nxfer > sc->st.xfer_out_max)
		sc->st.xfer_out_max = p->nxfer;
	for (uint32_t i = 0; i < xh.range_cnt; i++) {
		struct vmbus_xfer_range r;
		memcpy(&r, sc->pkt + hmin + 8 * i, sizeof(r));
		frames += netvsc_rx_range(sc, &r, xi);
		if (sc->rx == NULL)
			break;		/* detached from inside rx: impossible */
	}
	netvsc_xfer_put(p, x);
	return frames;
}

/* ---- transmit ----------------------------------------------------------- */

void
netvsc_tx_init(struct netvsc_softc *sc)
{
	sc->tx_nfree = 0;
	for (uint32_t i = NETVSC_TX_SLOTS; i > 0; i--)
		sc->tx_free[sc->tx_nfree++] = (uint16_t)(i - 1);
}

static void
netvsc_tx_done(struct netvsc_softc *sc, uint16_t slot)
{
	struct netvsc_tx *t = &sc->tx[slot];
	nic_buf_release_chain(t->chain);
	t->chain = NULL;
	if (t->section != NVSP_NO_SECTION)
		sc->sec_free[sc->nsec_free++] = t->section;
	t->used = false;
	t->gen++;
	sc->tx_free[sc->tx_nfree++] = slot;
}

void
netvsc_tx_drain(struct netvsc_softc *sc)
{
	for (uint16_t i = 0; i < NETVSC_TX_SLOTS; i++)
		if (sc->tx[i].used) {
			sc->nic.stats.tx_drops++;
			netvsc_tx_done(sc, i);
		}
}

/* The completion of a frame; false when the id is none of ours. */
static bool
netvsc_tx_comp(struct netvsc_softc *sc, uint64_t tid, const uint8_t *data,
    uint32_t len)
{
	if ((tid & NETVSC_TID_SPACE) != NETVSC_TID_TX || (tid >> 32 & 0xff) != 0)
		return false;
	uint32_t slot = (uint32_t)(tid & 0xffff);
	uint16_t gen = (uint16_t)(tid >> 16);
	if (slot >= NETVSC_TX_SLOTS || !sc->tx[slot].used || sc->tx[slot].gen != gen)
		return false;
	struct nvsp_rndis_pkt_complete c = { 0, 0 };
	memcpy(&c, data, len < sizeof(c) ? len : sizeof(c));
	if (c.type != NVSP_MSG_RNDIS_PKT_COMPLETE || c.status != NVSP_STAT_SUCCESS) {
		sc->st.tx_status_bad++;
		sc->nic.stats.tx_errors++;
	}
	netvsc_tx_done(sc, (uint16_t)slot);
	return true;
}

/* RNDIS PACKET header (+ checksum PPI) for a frame of flen bytes. */
static uint32_t
netvsc_tx_hdr(struct netvsc_softc *sc, uint8_t *dst, uint32_t flen,
    const struct nic_tx_meta *m)
{
	struct rndis_packet pk;
	uint32_t hlen = sizeof(pk);
	bool csum = sc->txcsum && m != NULL && (m->flags & NIC_TX_CSUM_L4) &&
	    nic_tx_csum_field(m) >= 0 && m->l4_off > 0 && m->l4_off < 1024;

	memset(&pk, 0, sizeof(pk));
	pk.type = RNDIS_MSG_PACKET;
	if (csum) {
		struct rndis_ppi r = { sizeof(r) + 4, RNDIS_PPI_CSUM, sizeof(r) };
		uint32_t v = RNDIS_TXCSUM_IPV4 |
		    (m->l4_proto == NIC_PROTO_TCP ? RNDIS_TXCSUM_TCP : RNDIS_TXCSUM_UDP) |
		    (uint32_t)m->l4_off << RNDIS_TXCSUM_L4OFF_SHIFT;
		pk.ppi_off = sizeof(pk) - RNDIS_OFF_BASE;
		pk.ppi_len = r.size;
		memcpy(dst + hlen, &r, sizeof(r));
		memcpy(dst + hlen + sizeof(r), &v, 4);
		hlen += r.size;
	}
	pk.data_off = hlen - RNDIS_OFF_BASE;
	pk.data_len = flen;
	pk.len = hlen + flen;
	memcpy(dst, &pk, sizeof(pk));
	return hlen;
}

/* A refused frame: counted, and queue uq waits for `why` on channel qi. */
static int
netvsc_tx_refused(struct netvsc_softc *sc, int uq, int qi, uint8_t why)
{
	struct nic *n = &sc->nic;
	n->stats.tx_ring_full++;
	n->queue[qi].stats.tx_ring_full++;
	if (sc->txw_why[uq] == 0)
		sc->st.tx_waits++;
	sc->txw_why[uq] |= why;
	sc->txw_ch[uq] = (uint8_t)qi;
	return TERN_EAGAIN;
}

/*
 * From the poll of queue q: when what refused its last frame is there
 * again (the ring has more free than pending_send_sz asked for, a slot,
 * a section), end the wait and tell the upper layer, once.
 */
static void
netvsc_tx_wake(struct netvsc_softc *sc, int q)
{
	uint8_t why = sc->txw_why[q];
	if (why == 0)
		return;
	if ((why & NETVSC_TXW_SLOT) && sc->tx_nfree == 0)
		return;
	if ((why & NETVSC_TXW_SECTION) && sc->nsec_free == 0)
		return;
	if (why & NETVSC_TXW_RING) {
		/* A closed sub-channel's frames take the primary now. */
		struct netvsc_queue *c = &sc->q[sc->txw_ch[q]];
		if (!c->dead && !vmbus_chan_send_ready(c->ch))
			return;
	}
	sc->txw_why[q] = 0;
	sc->st.tx_wakeups++;
	if (sc->nic.tx_ready != NULL)
		sc->nic.tx_ready(sc->nic.upper, q);
}

static int
netvsc_tx(struct nic *n, int queue, struct nic_buf *chain,
    const struct nic_tx_meta *meta)
{
	struct netvsc_softc *sc = n->sc;
	uint32_t flen = 0, nseg = 0;
	/* The queue's own channel; a closed sub-channel's frames take the
	   primary. */
	int qi = queue > 0 && queue < sc->nq && !sc->q[queue].dead ? queue : 0;
	struct vmbus_chan *ch = sc->q[qi].ch;

	for (struct nic_buf *b = chain; b != NULL; b = b->next) {
		flen += b->len;
		/* Page buffers: one per page each buffer touches. */
		uint64_t pa = (uint64_t)(uintptr_t)b->data;
		nseg += b->len == 0 ? 0 : (uint32_t)(((pa & 4095) + b->len + 4095) / 4096);
	}
	if (!sc->running || sc->dead || flen < 14 || flen > (uint32_t)n->mtu + 18u) {
		n->stats.tx_drops++;
		nic_buf_release_chain(chain);
		return sc->running ? TERN_EINVAL : TERN_ENODEV;
	}
	/* The queue the upper layer named waits (and is woken by its poll). */
	int uq = queue > 0 && queue < sc->nq ? queue : 0;
	if (sc->tx_nfree == 0)
		return netvsc_tx_refused(sc, uq, qi, NETVSC_TXW_SLOT);
	uint16_t slot = sc->tx_free[sc->tx_nfree - 1];
	struct netvsc_tx *t = &sc->tx[slot];
	uint64_t tid = NETVSC_TID_TX | (uint64_t)t->gen << 16 | slot;
	struct nvsp_rndis_pkt np = { NVSP_MSG_RNDIS_PKT, NVSP_CHAN_DATA,
	    NVSP_NO_SECTION, 0 };
	uint8_t msg[NVSP_MSG_SIZE];
	bool copy = flen <= NETVSC_TX_COPY_MAX || nseg + 1 > VMBUS_MAX_PAGEBUFS;
	int rc;

	if (copy) {
		if (flen + NETVSC_TX_HDR_SLOT > sc->sec_size) {
			n->stats.tx_drops++;	/* too scattered to send */
			nic_buf_release_chain(chain);
			return TERN_EINVAL;
		}
		if (sc->nsec_free == 0)
			return netvsc_tx_refused(sc, uq, qi, NETVSC_TXW_SECTION);
		uint32_t sec = sc->sec_free[sc->nsec_free - 1];
		uint8_t *dst = (uint8_t *)sc->txbuf.va + (size_t)sec * sc->sec_size;
		uint32_t hl = netvsc_tx_hdr(sc, dst, flen, meta);
		uint32_t o = hl;
		for (struct nic_buf *b = chain; b != NULL; b = b->next) {
			memcpy(dst + o, b->data, b->len);
			o += b->len;
		}
		hw_dma_sync_dev(sc->hw, dst, o);
		np.section_index = sec;
		np.section_size = o;
		memset(msg, 0, sizeof(msg));
		memcpy(msg, &np, sizeof(np));
		rc = vmbus_chan_send(ch, VMBUS_PKT_DATA_INBAND,
		    VMBUS_PKT_FLAG_COMPLETION, tid, NULL, 0, msg, sizeof(msg));
		if (rc == TERN_OK) {
			sc->nsec_free--;
			t->section = sec;
			n->stats.tx_copy_bytes += flen;
			sc->st.tx_copied++;
		}
	} else {
		struct {
			struct vmbus_gpa_hdr h;
			struct vmbus_pagebuf pb[VMBUS_MAX_PAGEBUFS];
		} ext;
		uint8_t *hdr = (uint8_t *)sc->ctl.va + 4096 + (size_t)slot * NETVSC_TX_HDR_SLOT;
		uint32_t hl = netvsc_tx_hdr(sc, hdr, flen, meta);
		uint32_t k = 0;
		uint64_t hpa = hw_virt_to_phys(sc->hw, hdr);
		hw_dma_sync_dev(sc->hw, hdr, hl);
		ext.pb[k++] = (struct vmbus_pagebuf){ hl, (uint32_t)(hpa & 4095), hpa >> 12 };
		for (struct nic_buf *b = chain; b != NULL; b = b->next) {
			uint32_t done = 0;
			while (done < b->len && k < VMBUS_MAX_PAGEBUFS) {
				uint64_t pa = hw_virt_to_phys(sc->hw, b->data + done);
				uint32_t in_page = 4096 - (uint32_t)(pa & 4095);
				uint32_t len = b->len - done < in_page ? b->len - done : in_page;
				ext.pb[k++] = (struct vmbus_pagebuf){ len,
				    (uint32_t)(pa & 4095), pa >> 12 };
				done += len;
			}
		}
		uint32_t covered = 0;
		for (uint32_t i = 1; i < k; i++)
			covered += ext.pb[i].len;
		if (covered != flen) {
			/* More pages than counted (never with a linear map). */
			n->stats.tx_drops++;
			nic_buf_release_chain(chain);
			return TERN_EINVAL;
		}
		ext.h.reserved = 0;
		ext.h.rangecount = k;
		memset(msg, 0, sizeof(msg));
		memcpy(msg, &np, sizeof(np));
		rc = vmbus_chan_send(ch, VMBUS_PKT_DATA_GPA_DIRECT,
		    VMBUS_PKT_FLAG_COMPLETION, tid, &ext,
		    sizeof(ext.h) + (size_t)k * sizeof(ext.pb[0]), msg, sizeof(msg));
		if (rc == TERN_OK) {
			t->section = NVSP_NO_SECTION;
			sc->st.tx_direct++;
		}
	}
	if (rc == TERN_EAGAIN)
		return netvsc_tx_refused(sc, uq, qi, NETVSC_TXW_RING);
	if (rc != TERN_OK) {
		if (qi > 0)
			sc->q[qi].dead = true;	/* rescinded or broken sub */
		else if (rc == TERN_ENODEV || rc == TERN_EPROTO)
			sc->dead = true;
		n->stats.tx_errors++;
		nic_buf_release_chain(chain);
		return rc;
	}
	sc->tx_nfree--;
	t->used = true;
	t->chain = chain;
	n->stats.tx_packets++;
	n->stats.tx_bytes += flen;
	n->queue[qi].stats.tx_packets++;
	n->queue[qi].stats.tx_bytes += flen;
	return TERN_OK;
}

/* ---- inbound packets ---------------------------------------------------- */

static int
netvsc_comp(struct netvsc_softc *sc, const struct vmbus_pkt *pk)
{
	const uint8_t *data = sc->pkt + pk->hdr_len;
	uint32_t len = pk->len > pk->hdr_len ? pk->len - pk->hdr_len : 0;

	if (netvsc_tx_comp(sc, pk->trans_id, data, len))
		return 1;
	if (sc->nvsp_tid != 0 && pk->trans_id == sc->nvsp_tid && !sc->nvsp_done) {
		memset(sc->nvsp_resp, 0, sizeof(sc->nvsp_resp));
		memcpy(sc->nvsp_resp, data,
		    len < sizeof(sc->nvsp_resp) ? len : sizeof(sc->nvsp_resp));
		sc->nvsp_done = true;
		return 0;
	}
	if (sc->rndis_tid != 0 && pk->trans_id == sc->rndis_tid && !sc->rndis_sent) {
		sc->rndis_sent = true;
		return 0;
	}
	sc->st.comp_unknown++;
	sc->nic.stats.bad_completions++;
	log_debug(sc->hw->name, "completion for unknown id 0x%llx",
	    (unsigned long long)pk->trans_id);
	return 0;
}

int
netvsc_process(struct netvsc_softc *sc, int q, int budget)
{
	struct vmbus_pkt pk;
	int work = 0;

	if (sc->dead || sc->rx == NULL || q >= sc->nq || sc->q[q].dead)
		return 0;
	struct vmbus_chan *ch = sc->q[q].ch;
	if (sc->acks_pending > 0)
		netvsc_retry_acks(sc);
	while (work < budget) {
		/* The bound: with every transfer slot or buffer taken the
		   packet stays in the ring and the host waits for acks. */
		if (sc->rx->nxfer >= NETVSC_MAX_XFER || sc->rx->nfree == 0) {
			if (!vmbus_ring_empty(&ch->rx))
				sc->st.xfer_stalls++;
			break;
		}
		int rc = vmbus_chan_recv(ch, sc->pkt, sizeof(sc->pkt), &pk);
		if (rc == TERN_EAGAIN)
			break;
		if (rc != TERN_OK) {
			/* Too big for us (stuck), a broken ring or a closed
			   sub-channel: that queue (the NIC for the primary)
			   stops. */
			log_error(sc->hw->name, "queue %d inbound ring: %s (packet %u bytes); %s stopped",
			    q, err_str(rc), pk.len, q == 0 ? "NIC" : "queue");
			if (q == 0)
				sc->dead = true;
			else
				sc->q[q].dead = true;
			break;
		}
		if (pk.hdr_len < 16 || pk.hdr_len > pk.len) {
			sc->st.pkts_other++;
			continue;
		}
		switch (pk.type) {
		case VMBUS_PKT_COMP:
			work += netvsc_comp(sc, &pk);
			break;
		case VMBUS_PKT_DATA_XFER_PAGES:
			work += netvsc_rx_xfer(sc, q, &pk);
			break;
		case VMBUS_PKT_DATA_INBAND: {
			/* Inband NVSP from the host: the send indirection
			   table (netvsc.c); others (VF association) are
			   not used. */
			uint32_t t = 0, n = pk.len - pk.hdr_len;
			if (n >= 4)
				memcpy(&t, sc->pkt + pk.hdr_len, 4);
			if (t == NVSP_MSG_SEND_INDIR_TAB)
				netvsc_send_table(sc, sc->pkt + pk.hdr_len, n);
			else
				sc->st.pkts_other++;
			break;
		}
		default:
			sc->st.pkts_other++;
			break;
		}
		if (sc->rx == NULL)
			break;
	}
	return work;
}

static int
netvsc_poll(struct nic *n, int queue, int budget)
{
	struct netvsc_softc *sc = n->sc;
	if (queue < 0 || queue >= NIC_MAX_QUEUES)
		return 0;
	n->queue[queue].stats.polls++;
	if (!sc->running)
		return 0;
	int work = netvsc_process(sc, queue, budget);
	netvsc_tx_wake(sc, queue);
	return work;
}

static void
netvsc_intr_enable(struct nic *n, int queue, bool on)
{
	(void)n;
	(void)queue;
	(void)on;	/* polled: the VMBus event page is looked at by vmbus_poll */
}

static void
netvsc_nic_detach(struct nic *n)
{
	(void)n;	/* the VMBus bus detaches the device (netvsc_detach) */
}

const struct nic_ops netvsc_nic_ops = {
	.tx = netvsc_tx,
	.poll = netvsc_poll,
	.intr_enable = netvsc_intr_enable,
	.detach = netvsc_nic_detach,
};

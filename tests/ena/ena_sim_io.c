/*
 * ena_sim_io.c - the ENA simulator's data path (see ena_sim.h): TX from
 * host-memory rings and LLQ entries (PROTOCOLS.md A.8.1-A.8.3, A.9) with
 * checksum completion, and RX into posted buffers (A.8.4, A.8.5) with the
 * parsing/checksum status a device reports.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ena/ena_reg.h"
#include "tests/ena/ena_sim.h"
#include "tests/ena/ena_sim_int.h"

/* ------------------------------------------------------------------ */
/* TX (A.8.1-A.8.3, A.9). */

static uint16_t
ipsum(const uint8_t *p, uint32_t n, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void
tx_complete(struct ena_sim *s, struct esim_sq *sq, uint16_t req_id)
{
	struct esim_cq *cq = &s->cq[sq->cq];
	struct ena_tx_cdesc *c = (struct ena_tx_cdesc *)(uintptr_t)
	    (cq->base + (uint64_t)(cq->tail & (cq->depth - 1)) * sizeof(*c));
	struct ena_tx_cdesc v;
	memset(&v, 0, sizeof(v));
	v.req_id = req_id;
	if (s->f_tx_bad_req_id) {
		s->f_tx_bad_req_id = false;
		v.req_id = (uint16_t)(sq->depth + 3);
	}
	v.sq_head_idx = sq->head;
	v.flags = cq->phase;
	if (s->mangle != NULL)
		s->mangle(s->mangle_ctx, ESIM_M_TXC, &v, sizeof(v));
	memcpy((uint8_t *)c + 4, (uint8_t *)&v + 4, 4);
	memcpy(c, &v, 4);
	cq->tail++;
	if ((cq->tail & (cq->depth - 1)) == 0)
		cq->phase ^= 1;
	esim_raise_irq(s, cq->vec);
}

struct pkt {
	uint32_t len;
	bool have_meta, first_seen;
	struct ena_tx_meta_desc meta;
	uint32_t meta_ctrl;	/* of the first buffer descriptor */
	int req_id;
	uint32_t ndesc;
	uint8_t f[ESIM_FRAME_MAX];	/* last: not cleared per frame */
};

/* One descriptor of a frame; 1 when it ended the frame, 0 to go on, -1
   on a protocol error (the frame is dropped). */
static int
tx_desc(struct ena_sim *s, struct esim_sq *sq, struct pkt *p, const struct ena_tx_desc *d,
    uint8_t phase, const uint8_t *inline_hdr, uint32_t inline_room)
{
	uint32_t lc = d->len_ctrl;
	if (!!(lc & ENA_TXD_PHASE) != phase) {
		esim_perr(s, "TX descriptor with phase %u, expected %u", !!(lc & ENA_TXD_PHASE), phase);
		return -1;
	}
	p->ndesc++;
	if (p->ndesc > s->cfg.max_tx_descs) {
		esim_perr(s, "TX frame with more than %u descriptors", s->cfg.max_tx_descs);
		return -1;
	}
	if (lc & ENA_TXD_META) {
		if (p->ndesc != 1 || !(lc & ENA_TXD_FIRST) || (lc & (ENA_TXD_LAST))) {
			esim_perr(s, "TX meta descriptor not first, or with last set");
			return -1;
		}
		memcpy(&p->meta, d, sizeof(p->meta));
		p->have_meta = true;
		p->first_seen = true;
		return 0;
	}
	uint16_t rid = (uint16_t)(((lc >> ENA_TXD_REQ_HI_SHIFT) & 0x3f) << 10 |
	    (d->meta_ctrl >> ENA_TXD_REQ_LO_SHIFT));
	if (!(lc & ENA_TXD_COMP_REQ))
		esim_perr(s, "TX descriptor without comp_req");
	if (!p->first_seen) {
		if (!(lc & ENA_TXD_FIRST)) {
			esim_perr(s, "TX frame does not start with first");
			return -1;
		}
		p->first_seen = true;
	} else if (lc & ENA_TXD_FIRST) {
		esim_perr(s, "TX descriptor with first in the middle of a frame");
		return -1;
	}
	if (p->ndesc == 1 || (p->have_meta && p->ndesc == 2)) {
		p->meta_ctrl = d->meta_ctrl & ((1u << ENA_TXD_REQ_LO_SHIFT) - 1);
		uint32_t hdr = d->addr_hi_hdr >> ENA_TXD_HDR_LEN_SHIFT;
		if (sq->place == ENA_SQ_PLACE_DEV) {
			if (hdr > inline_room) {
				esim_perr(s, "LLQ header_length %u over the %u inline bytes", hdr, inline_room);
				return -1;
			}
			memcpy(p->f, inline_hdr, hdr);
			p->len = hdr;
		}
		p->req_id = rid;
	} else if (rid != p->req_id) {
		esim_perr(s, "TX descriptors of one frame carry req_ids %d and %u", p->req_id, rid);
		return -1;
	}
	if (rid >= sq->depth) {
		esim_perr(s, "TX req_id %u >= depth %u", rid, sq->depth);
		return -1;
	}
	uint32_t len = lc & ENA_TXD_LEN_MASK;
	if (len > 0) {
		uint64_t a = (uint64_t)(d->addr_hi_hdr & 0xffff) << 32 | d->addr_lo;
		if (!esim_addr_ok(s, a, "TX buffer"))
			return -1;
		if (p->len + len > ESIM_FRAME_MAX) {
			esim_perr(s, "TX frame over %u bytes", ESIM_FRAME_MAX);
			return -1;
		}
		memcpy(p->f + p->len, (void *)(uintptr_t)a, len);
		p->len += len;
	}
	return (lc & ENA_TXD_LAST) ? 1 : 0;
}

/* Offloads asked by the descriptors, then the frame goes on the wire. */
static void
tx_finish(struct ena_sim *s, struct esim_sq *sq, struct pkt *p)
{
	uint32_t mc = p->meta_ctrl;
	if (mc & (ENA_TXD_L4_CSUM | ENA_TXD_IPV4_CSUM)) {
		if (!(s->cfg.offload_tx & (ENA_OFF_TX_L4_IPV4_PART | ENA_OFF_TX_IPV4_CSUM)))
			esim_perr(s, "TX checksum offload asked but not offered");
		if (!p->have_meta)
			esim_perr(s, "TX checksum offload without a meta descriptor (meta caching "
			    "disabled)");
		uint32_t l3 = mc & 0xf, l4 = (mc >> ENA_TXD_L4_SHIFT) & 0x1f;
		uint32_t w2 = p->meta.word2;
		uint32_t l3len = w2 & 0xff, l3off = (w2 >> 8) & 0xff;
		uint32_t l4words = (w2 >> 16) & 0x3f;
		if (l3 != ENA_TXD_L3_IPV4 || (l4 != ENA_TXD_L4_TCP && l4 != ENA_TXD_L4_UDP) ||
		    p->len < 34 || p->f[12] != 0x08 || p->f[13] != 0x00 || l3off != 14 ||
		    l3len != (uint32_t)(p->f[14] & 0xf) * 4u ||
		    p->f[23] != (l4 == ENA_TXD_L4_TCP ? 6 : 17)) {
			esim_perr(s, "TX checksum metadata does not describe the frame (l3 %u l4 %u "
			    "off %u len %u)", l3, l4, l3off, l3len);
		} else {
			uint32_t l4off = l3off + l3len;
			uint32_t field = l4off + (l4 == ENA_TXD_L4_TCP ? 16 : 6);
			uint32_t want_words = l4 == ENA_TXD_L4_TCP ?
			    (uint32_t)(p->f[l4off + 12] >> 4) : 2;
			if (l4words != want_words)
				esim_perr(s, "TX meta L4 header length %u words, frame says %u",
				    l4words, want_words);
			if (!!(mc & ENA_TXD_DF) != !!(p->f[20] & 0x40))
				esim_perr(s, "TX DF bit does not mirror the IPv4 header");
			if (!(mc & ENA_TXD_L4_CSUM_PARTIAL))
				esim_perr(s, "TX full L4 checksum asked; only partial offered");
			if (field + 2 <= p->len) {
				uint16_t sum = (uint16_t)~ipsum(p->f + l4off, p->len - l4off, 0);
				if (l4 == ENA_TXD_L4_UDP && sum == 0)
					sum = 0xffff;
				p->f[field] = (uint8_t)(sum >> 8);
				p->f[field + 1] = (uint8_t)sum;
			}
		}
	}
	if (p->len < 14 || p->len > s->mtu + 18u) {
		esim_perr(s, "TX frame of %u bytes (MTU %u)", p->len, s->mtu);
		return;
	}
	s->tx_frames++;
	if (s->on_tx != NULL) {
		s->on_tx(s->on_tx_ctx, p->f, p->len);
		return;
	}
	if (s->nwire < ESIM_WIRE_MAX) {
		struct esim_frame *w = &s->wire[s->nwire++];
		memcpy(w->data, p->f, p->len);
		w->len = p->len;
		w->sq = (uint16_t)(sq - s->sq);
	}
}

void
esim_tx_doorbell(struct ena_sim *s, struct esim_sq *sq, uint16_t tail)
{
	uint16_t mask = (uint16_t)(sq->depth - 1);
	if ((uint16_t)(tail - sq->head) > sq->depth) {
		esim_perr(s, "TX doorbell %u more than depth past consumed %u", tail, sq->head);
		return;
	}
	if (sq->place == ENA_SQ_PLACE_DEV) {
		for (uint16_t i = sq->tail; i != tail; i++) {
			uint16_t slot = i & mask;
			if (sq->llq_written[slot] == 0) {
				esim_perr(s, "LLQ entry %u rung without being written", i);
				return;
			}
		}
	}
	sq->tail = tail;
	sq->since_db = 0;
	static struct pkt p;
	while (sq->head != sq->tail) {
		memset(&p, 0, offsetof(struct pkt, f));
		p.len = 0;
		p.req_id = -1;
		uint16_t h = sq->head;
		int rc = 0;
		if (sq->place == ENA_SQ_PLACE_HOST) {
			while (rc == 0 && h != sq->tail) {
				struct ena_tx_desc d;
				memcpy(&d, (void *)(uintptr_t)(sq->base + (uint64_t)(h & mask) * 16), 16);
				uint8_t ph = (uint8_t)(((h / sq->depth) & 1) ^ 1);
				rc = tx_desc(s, sq, &p, &d, ph, NULL, 0);
				h++;
			}
		} else {
			uint16_t per = s->llq_entry / 16;
			bool first = true;
			while (rc == 0 && h != sq->tail) {
				uint8_t *e = s->llq_mem + sq->llq_off + (uint32_t)(h & mask) * s->llq_entry;
				uint8_t ph = (uint8_t)(((h / sq->depth) & 1) ^ 1);
				uint16_t k = first ? 2 : per;
				for (uint16_t j = 0; j < k && rc == 0; j++) {
					struct ena_tx_desc d;
					memcpy(&d, e + 16 * j, 16);
					rc = tx_desc(s, sq, &p, &d, ph, e + 32, s->llq_entry - 32u);
				}
				sq->llq_written[h & mask] = 0;
				first = false;
				h++;
			}
		}
		if (rc == 0) {
			esim_perr(s, "TX doorbell %u ends inside a frame", sq->tail);
			return;
		}
		sq->head = h;
		if (rc < 0)
			continue;	/* dropped, no completion: the driver must recover */
		tx_finish(s, sq, &p);
		if (s->f_tx_lose) {
			s->f_tx_lose = false;
			continue;
		}
		tx_complete(s, sq, (uint16_t)p.req_id);
		if (s->f_reset_after_tx != 0 && --s->f_reset_after_tx == 0)
			ena_sim_aenq(s, ENA_AENQ_DEVICE_REQUEST_RESET, 0, NULL, 0);
	}
}

/* ------------------------------------------------------------------ */
/* RX (A.8.4, A.8.5). */

static struct esim_sq *
rx_sq_of_pair(struct ena_sim *s, uint16_t pair)
{
	for (int i = 0; i < ESIM_MAXQ * 2; i++) {
		struct esim_sq *sq = &s->sq[i];
		if (sq->live && sq->dir == ENA_SQ_DIR_RX && s->cq[sq->cq].vec == pair + 1)
			return sq;
	}
	return NULL;
}

static uint32_t
rx_parse_status(struct ena_sim *s, const uint8_t *f, uint32_t len)
{
	if (!(s->cfg.offload_rx & ENA_OFF_RX_L4_IPV4_CSUM))
		return 0;
	if (len < 34 || f[12] != 0x08 || f[13] != 0 || (f[14] >> 4) != 4)
		return 0;
	uint32_t st = ENA_TXD_L3_IPV4;
	uint32_t ihl = (uint32_t)(f[14] & 0xf) * 4;
	uint8_t proto = f[23];
	if (proto != 6 && proto != 17)
		return st;
	st |= (uint32_t)(proto == 6 ? ENA_TXD_L4_TCP : ENA_TXD_L4_UDP) << ENA_RXC_L4_SHIFT;
	if ((f[20] & 0x3f) || f[21]) {
		st |= ENA_RXC_IPV4_FRAG;
		return st;
	}
	uint32_t l4 = 14 + ihl;
	uint32_t tot = (uint32_t)f[16] << 8 | f[17];
	if (l4 >= len || 14 + tot > len || tot < ihl)
		return st;
	uint32_t l4len = tot - ihl;
	uint32_t sum = 0;
	sum += (uint32_t)f[26] << 8 | f[27];
	sum += (uint32_t)f[28] << 8 | f[29];
	sum += (uint32_t)f[30] << 8 | f[31];
	sum += (uint32_t)f[32] << 8 | f[33];
	sum += proto + l4len;
	uint16_t v = ipsum(f + l4, l4len, sum);
	st |= ENA_RXC_L4_CSUM_CHECKED;
	if (v != 0xffff || s->f_rx_csum_bad) {
		st |= ENA_RXC_L4_CSUM_ERR;
		s->f_rx_csum_bad = false;
	}
	return st;
}

int
ena_sim_rx(struct ena_sim *s, uint16_t pair, const void *frame, uint32_t len)
{
	struct esim_sq *sq = rx_sq_of_pair(s, pair);
	if (sq == NULL || len == 0) {
		s->rx_nobuf++;
		return -1;
	}
	struct esim_cq *cq = &s->cq[sq->cq];
	uint16_t mask = (uint16_t)(sq->depth - 1);
	uint16_t avail = (uint16_t)(sq->tail - sq->head);
	/* Walk the posted descriptors first: nothing is consumed unless the
	   whole frame fits. */
	uint32_t need = 0, room = 0;
	for (uint16_t i = 0; i < avail && room < len; i++) {
		struct ena_rx_desc d;
		uint16_t h = (uint16_t)(sq->head + i);
		memcpy(&d, (void *)(uintptr_t)(sq->base + (uint64_t)(h & mask) * 16), 16);
		uint8_t ph = (uint8_t)(((h / sq->depth) & 1) ^ 1);
		if ((d.ctrl & ENA_RXD_PHASE) != ph) {
			esim_perr(s, "RX descriptor %u with phase %u, expected %u", h, d.ctrl & 1, ph);
			return -1;
		}
		uint8_t want = ENA_RXD_FIRST | ENA_RXD_LAST | ENA_RXD_COMP_REQ;
		if ((d.ctrl & want) != want || d.rsvd0 || d.rsvd1 || d.rsvd2)
			esim_perr(s, "RX descriptor %u ctrl 0x%x / reserved fields", h, d.ctrl);
		if (d.req_id >= sq->depth) {
			esim_perr(s, "RX descriptor %u req_id %u >= depth", h, d.req_id);
			return -1;
		}
		uint64_t a = (uint64_t)d.addr_hi << 32 | d.addr_lo;
		if (!esim_addr_ok(s, a, "RX buffer"))
			return -1;
		room += d.length ? d.length : 65536u;
		need++;
	}
	if (room < len || need > s->cfg.max_rx_descs) {
		s->rx_nobuf++;
		return -1;
	}
	uint32_t st = rx_parse_status(s, frame, len);
	uint32_t off = 0;
	for (uint32_t i = 0; i < need; i++) {
		struct ena_rx_desc d;
		uint16_t h = sq->head;
		memcpy(&d, (void *)(uintptr_t)(sq->base + (uint64_t)(h & mask) * 16), 16);
		uint64_t a = (uint64_t)d.addr_hi << 32 | d.addr_lo;
		uint32_t cap = d.length ? d.length : 65536u;
		uint32_t n = len - off < cap ? len - off : cap;
		memcpy((void *)(uintptr_t)a, (const uint8_t *)frame + off, n);
		off += n;
		sq->head++;
		struct ena_rx_cdesc v;
		memset(&v, 0, sizeof(v));
		v.status = ENA_RXC_BUFFER | (i == 0 ? ENA_RXC_FIRST : 0);
		if (i + 1 == need)
			v.status |= ENA_RXC_LAST | st;
		v.length = (uint16_t)n;
		v.req_id = d.req_id;
		v.sub_qid = (uint16_t)(sq - s->sq);
		if (s->f_rx_bad_req_id) {
			s->f_rx_bad_req_id = false;
			v.req_id = (uint16_t)(sq->depth + 5);
		}
		if (s->f_rx_mbz) {
			s->f_rx_mbz = false;
			v.status |= 1u << 17;
		}
		uint8_t phase = cq->phase;
		if (s->f_rx_stale_phase) {
			s->f_rx_stale_phase = false;
			phase ^= 1;
		}
		if (phase)
			v.status |= ENA_RXC_PHASE;
		if (s->mangle != NULL)
			s->mangle(s->mangle_ctx, ESIM_M_RXC, &v, sizeof(v));
		struct ena_rx_cdesc *c = (struct ena_rx_cdesc *)(uintptr_t)
		    (cq->base + (uint64_t)(cq->tail & (cq->depth - 1)) * 16);
		memcpy((uint8_t *)c + 4, (uint8_t *)&v + 4, 12);
		memcpy(c, &v, 4);
		cq->tail++;
		if ((cq->tail & (cq->depth - 1)) == 0)
			cq->phase ^= 1;
	}
	s->rx_frames++;
	esim_raise_irq(s, cq->vec);
	return 0;
}

uint32_t
ena_sim_rx_room(struct ena_sim *s, uint16_t pair)
{
	struct esim_sq *sq = rx_sq_of_pair(s, pair);
	return sq != NULL ? (uint16_t)(sq->tail - sq->head) : 0;
}

int
ena_sim_wire_pop(struct ena_sim *s, void *buf, uint32_t cap)
{
	if (s->nwire == 0)
		return -1;
	struct esim_frame *w = &s->wire[0];
	uint32_t n = w->len < cap ? w->len : cap;
	memcpy(buf, w->data, n);
	int len = (int)w->len;
	memmove(&s->wire[0], &s->wire[1], (s->nwire - 1) * sizeof(s->wire[0]));
	s->nwire--;
	return len;
}


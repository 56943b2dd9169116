/*
 * tcp_out.c - TCP output: segment and option building, the receive
 * window we advertise, the send loop (congestion window RFC 5681, Nagle
 * RFC 1122 4.2.3.4), retransmission (RFC 6298 timer, RFC 6582 NewReno
 * first-segment retransmit) and the per-connection timers (delayed ACK,
 * zero-window persist, keepalive).
 *
 * Payload is zero copy (tcp.h): a segment is a header buffer from the
 * stack's pool chained to tcp_zbufs that point into the application's
 * referenced memory, one per piece within a 4 KiB page.  The checksum is
 * left to the NIC when it offers NIC_OFF_TX_CSUM, else computed in
 * software over the header and the pieces.  Each piece
 * counts as in flight on its sendref until the NIC releases it.  The
 * fallback (tiny frames, too many pieces, no zbuf, ARP unresolved) copies
 * into the frame buffer and counts payload_copied.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "netstack/tcp_var.h"

/* Writes the fixed header at t; returns the header length (with opts). */
static size_t
put_hdr(uint8_t *t, uint16_t lport, uint16_t rport, uint32_t seq, uint32_t ack,
    uint8_t flags, uint16_t wnd, const uint8_t *opts, size_t olen)
{
	size_t hl = TCP_HLEN + olen;
	wr16(t, lport);
	wr16(t + 2, rport);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	wr16(t + 14, wnd);
	wr16(t + 16, 0);
	wr16(t + 18, 0);
	if (olen > 0)
		memcpy(t + TCP_HLEN, opts, olen);
	return hl;
}

/* Checksum and send a segment whose TCP header and payload are in tb. */
static int
finish(struct netstack *ns, struct ns_txbuf *tb, uint32_t rip, size_t tlen)
{
	uint8_t *t = tb->data + ETH_HLEN + IP_HLEN;
	wr16(t + 16, ns_csum(t, tlen, tcp_pseudo(ns->cfg.ip, rip, tlen)));
	size_t flen = ns_ip_header(ns, tb, ns->cfg.ip, rip, IPPROTO_TCP, tlen);
	ns->tcp.st.segs_out++;
	return ns_eth_send_ip(ns, tb, flen, ns_next_hop(ns, rip));
}

int
tcp_send_bare(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd)
{
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return TERN_ENOMEM;
	size_t hl = put_hdr(tb->data + ETH_HLEN + IP_HLEN, lport, rport, seq, ack,
	    flags, wnd, NULL, 0);
	return finish(ns, tb, rip, hl);
}

int
tcp_send_cookie(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint32_t seq, uint32_t ack, uint16_t mss)
{
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return TERN_ENOMEM;
	uint8_t o[4] = { 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss };
	size_t hl = put_hdr(tb->data + ETH_HLEN + IP_HLEN, lport, rport, seq, ack,
	    F_SYN | F_ACK, 65535, o, sizeof(o));
	return finish(ns, tb, rip, hl);
}

static size_t
opt_ts(struct tcp_pcb *p, uint8_t *o)
{
	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	wr32(o + 4, tcp_now_ms(p->ns));
	wr32(o + 8, p->ts_recent);
	return TS_OPT_LEN;
}

/* RFC 2018 4: SACK blocks for the out-of-order queue, the block holding
   the latest arrival first; at most `max` blocks. */
static size_t
opt_sack(struct tcp_pcb *p, uint8_t *o, int max)
{
	uint32_t l[TCP_OOO_MAX], r[TCP_OOO_MAX];
	int n = 0;
	const struct tcp_ooo *pool = p->ns->tcp.ooo;
	for (uint16_t i = p->ooo_head; i != 0 && n < TCP_OOO_MAX; i = pool[i - 1].next) {
		uint32_t s = pool[i - 1].seq, e = s + pool[i - 1].len;
		if (n > 0 && SEQ_LEQ(s, r[n - 1])) {
			if (SEQ_LT(r[n - 1], e))
				r[n - 1] = e;
		} else {
			l[n] = s;
			r[n] = e;
			n++;
		}
	}
	if (n == 0)
		return 0;
	int first = 0;
	for (int i = 0; i < n; i++)
		if (SEQ_LEQ(l[i], p->ooo_last) && SEQ_LT(p->ooo_last, r[i]))
			first = i;
	int k = n < max ? n : max;
	o[0] = 1;
	o[1] = 1;
	o[2] = 5;
	o[3] = (uint8_t)(2 + 8 * k);
	wr32(o + 4, l[first]);
	wr32(o + 8, r[first]);
	for (int i = 0, j = 1; i < n && j < k; i++) {
		if (i == first)
			continue;
		wr32(o + 4 + 8 * j, l[i]);
		wr32(o + 8 + 8 * j, r[i]);
		j++;
	}
	return 4 + 8 * (size_t)k;
}

/*
 * The window to advertise.  RFC 1122 4.2.3.3: the right edge only moves
 * by at least min(half the buffer, one MSS) (receiver SWS avoidance), and
 * RFC 9293 3.8.6.2.2: it never moves left, except for the rounding the
 * scale forces (RFC 7323 2.4).
 */
uint32_t
tcp_rcv_wnd(struct tcp_pcb *p)
{
	uint32_t space = p->rcv_held >= p->rcv_buf ? 0 : p->rcv_buf - p->rcv_held;
	uint32_t cur = SEQ_LT(p->rcv_nxt, p->rcv_adv) ? p->rcv_adv - p->rcv_nxt : 0;
	uint32_t w = space;
	if (w > cur && w - cur < min32(p->rcv_buf / 2, p->mss))
		w = cur;
	if (w < cur)
		w = cur;
	uint32_t cap = (uint32_t)65535 << p->rcv_wscale;
	if (w > cap)
		w = cap;
	return w >> p->rcv_wscale << p->rcv_wscale;
}

/* Sets the window field of a non-SYN segment and records the edge. */
static uint16_t
wnd_field(struct tcp_pcb *p)
{
	uint32_t w = tcp_rcv_wnd(p);
	p->rcv_adv = p->rcv_nxt + w;
	return (uint16_t)(w >> p->rcv_wscale);
}

/* Any segment that carries our ACK makes a pending delayed ACK moot. */
static void
acked_now(struct tcp_pcb *p)
{
	p->delack_bytes = 0;
	p->delack_deadline = 0;
}

int
tcp_send_syn(struct tcp_pcb *p)
{
	struct netstack *ns = p->ns;
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return TERN_ENOMEM;
	bool active = p->state == TCP_SYN_SENT;
	uint8_t o[40];
	size_t ol = 0;
	o[ol++] = 2;
	o[ol++] = 4;
	wr16(o + ol, (uint16_t)(ns->cfg.mtu - IP_HLEN - TCP_HLEN));
	ol += 2;
	/* A SYN offers everything; a SYN-ACK echoes what the peer offered. */
	if (active || p->ws_ok) {
		o[ol++] = 1;
		o[ol++] = 3;
		o[ol++] = 3;
		o[ol++] = RCV_WSCALE;
	}
	if (active || p->sack_ok) {
		o[ol++] = 1;
		o[ol++] = 1;
		o[ol++] = 4;
		o[ol++] = 2;
	}
	if (active || p->ts_ok)
		ol += opt_ts(p, o + ol);
	/* RFC 7323 2.2: the window in a SYN is never scaled. */
	uint32_t w = min32(p->rcv_buf, 65535);
	uint8_t flags = active ? F_SYN : F_SYN | F_ACK;
	size_t hl = put_hdr(tb->data + ETH_HLEN + IP_HLEN, p->lport, p->rport, p->iss,
	    active ? 0 : p->rcv_nxt, flags, (uint16_t)w, o, ol);
	if (!active)
		p->rcv_adv = p->rcv_nxt + w;
	return finish(ns, tb, p->rip, hl);
}

/* Options for a non-SYN segment: timestamps, and SACK blocks on pure
   ACKs when the out-of-order queue holds something. */
static size_t
data_opts(struct tcp_pcb *p, uint8_t *o, bool pure_ack)
{
	size_t ol = 0;
	if (p->ts_ok)
		ol += opt_ts(p, o);
	if (pure_ack && p->sack_ok && p->ooo_n > 0)
		ol += opt_sack(p, o + ol, p->ts_ok ? 3 : 4);
	return ol;
}

/*
 * A segment refused because its NIC queue is full and waits for the
 * NIC's tx_ready (ns_nic_tx): the connection is noted, and
 * ns_tcp_tx_resume sends again when the queue takes frames, instead of
 * leaving the segment to a retransmission timeout.  The same when every
 * transmit buffer was busy (ns_txbuf_get: txbuf_short): netstack_poll
 * resends once one comes back.  Any other failure (no NIC, no zero-copy
 * piece) is left to the timers as before.
 */
static inline int
tx_refused(struct tcp_pcb *p, int rc, bool pure_ack)
{
	struct netstack *ns = p->ns;
	if (!(rc == TERN_EAGAIN && ns->tx_blocked != 0) &&
	    !(rc == TERN_ENOMEM && ns->txbuf_short))
		return rc;
	int i = (int)(p - ns->tcp.pcbs);
	ns->tcp.txwait[i / 64] |= 1ull << (i % 64);
	if (pure_ack)
		ns->tcp.ackwait[i / 64] |= 1ull << (i % 64);
	return rc;
}

static int
send_flags(struct tcp_pcb *p, uint32_t seq, uint8_t flags)
{
	struct netstack *ns = p->ns;
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return tx_refused(p, TERN_ENOMEM, flags == F_ACK);
	uint8_t o[40];
	size_t ol = data_opts(p, o, !(flags & (F_FIN | F_RST)));
	size_t hl = put_hdr(tb->data + ETH_HLEN + IP_HLEN, p->lport, p->rport, seq,
	    p->rcv_nxt, flags, wnd_field(p), o, ol);
	acked_now(p);
	return tx_refused(p, finish(ns, tb, p->rip, hl), flags == F_ACK);
}

void
tcp_send_ack(struct tcp_pcb *p)
{
	send_flags(p, p->snd_nxt, F_ACK);
}

void
tcp_send_probe(struct tcp_pcb *p)
{
	send_flags(p, p->snd_una - 1, F_ACK);
}

/* Copies len bytes of the send queue starting at sequence seq to dst. */
static void
gather(struct tcp_pcb *p, uint32_t seq, uint8_t *dst, size_t len)
{
	size_t off = seq - p->snd_una;
	for (int i = 0; i < p->sq_len && len > 0; i++) {
		const struct tcp_sendref *r = &p->sq[SQ_IDX(p->sq_head + i)];
		size_t left = r->len - r->acked;
		if (off >= left) {
			off -= left;
			continue;
		}
		size_t k = left - off < len ? left - off : len;
		memcpy(dst, r->data + r->acked + off, k);
		dst += k;
		len -= k;
		off = 0;
	}
}

/* One's complement sum of a piece at an even or odd frame offset. */
static uint32_t
sum_piece(uint32_t sum, const uint8_t *d, size_t len, bool *odd)
{
	if (len > 0 && *odd) {
		sum += d[0];
		d++;
		len--;
		*odd = false;
	}
	for (; len > 1; d += 2, len -= 2)
		sum += (uint32_t)(d[0] << 8 | d[1]);
	if (len > 0) {
		sum += (uint32_t)d[0] << 8;
		*odd = true;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

struct piece {
	const uint8_t *data;
	uint32_t len;
	uint8_t ref;
};

/* Splits len bytes of the queue from seq into at most `max` pieces that
   stay inside one ref and one 4 KiB page; *covered is how many of the
   len bytes they hold.  -1: memory not usable for DMA. */
static int
pieces_upto(struct tcp_pcb *p, uint32_t seq, size_t len, struct piece *pc, int max,
    uint32_t *covered)
{
	size_t off = seq - p->snd_una, got = 0;
	int n = 0;
	for (int i = 0; i < p->sq_len && len > 0 && n < max; i++) {
		int idx = SQ_IDX(p->sq_head + i);
		const struct tcp_sendref *r = &p->sq[idx];
		size_t left = r->len - r->acked;
		if (off >= left) {
			off -= left;
			continue;
		}
		if (!r->dma_ok)
			return -1;
		const uint8_t *d = r->data + r->acked + off;
		size_t k = left - off < len ? left - off : len;
		off = 0;
		while (k > 0 && n < max) {
			size_t page = 4096 - ((uintptr_t)d & 4095);
			size_t m = k < page ? k : page;
			pc[n++] = (struct piece){ d, (uint32_t)m, (uint8_t)idx };
			d += m;
			k -= m;
			len -= m;
			got += m;
		}
	}
	*covered = (uint32_t)got;
	return n;
}

/* Splits len bytes of the queue from seq into pieces that stay inside
   one ref and one 4 KiB page; returns the count, or -1 past max. */
static int
pieces(struct tcp_pcb *p, uint32_t seq, size_t len, struct piece *pc, int max)
{
	uint32_t covered = 0;
	int n = pieces_upto(p, seq, len, pc, max, &covered);
	return n == max && covered < len ? -1 : n;
}

/* The NIC is done with a piece: the ref may now be released. */
static void
zbuf_release(struct nic_buf *b)
{
	struct tcp_zbuf *z = b->owner;
	struct tcp_pcb *p = z->pcb;
	z->used = false;
	p->sq[z->ref].inflight--;
	tcp_sq_reap(p);
}

static struct tcp_zbuf *
zbuf_get(struct netstack *ns, int *hint)
{
	for (; *hint < TCP_ZBUFS; (*hint)++) {
		struct tcp_zbuf *z = &ns->tcp.zbufs[*hint];
		if (!z->used)
			return z;
	}
	return NULL;
}

/* Links zbufs for the pieces behind tb's header; false if short of them. */
static bool
chain_pieces(struct tcp_pcb *p, struct ns_txbuf *tb, const struct piece *pc, int n)
{
	struct tcp_zbuf *z[TCP_TSO_FRAGS];
	int hint = 0;
	for (int i = 0; i < n; i++) {
		z[i] = zbuf_get(p->ns, &hint);
		if (z[i] == NULL)
			return false;
		hint++;
	}
	struct nic_buf **link = &tb->nb.next;
	for (int i = 0; i < n; i++) {
		z[i]->used = true;
		z[i]->pcb = p;
		z[i]->ref = pc[i].ref;
		z[i]->nb = (struct nic_buf){ .data = (uint8_t *)(uintptr_t)pc[i].data,
			.len = pc[i].len, .cap = pc[i].len, .release = zbuf_release,
			.owner = z[i] };
		p->sq[pc[i].ref].inflight++;
		*link = &z[i]->nb;
		link = &z[i]->nb.next;
	}
	*link = NULL;
	return true;
}

#define ZC_NOT_HERE	1	/* send_zc: not applicable, tb untouched: copy */

/* Sends the header in tb (hl bytes of TCP header) with the payload of
   seq..seq+len chained by reference; with tso_seg (not 0) as one TSO
   frame the NIC cuts into segments of tso_seg payload bytes.
   ZC_NOT_HERE leaves tb to the caller; otherwise tb is consumed (sent,
   or released on error). */
static int
send_zc(struct tcp_pcb *p, struct ns_txbuf *tb, size_t hl, uint32_t seq, size_t len,
    uint32_t tso_seg)
{
	struct netstack *ns = p->ns;
	struct piece pc[TCP_TSO_FRAGS];
	const uint8_t *mac = ns_arp_lookup(ns, ns_next_hop(ns, p->rip));
	if (ETH_HLEN + IP_HLEN + hl + len < 60 || mac == NULL)
		return ZC_NOT_HERE;
	int n = pieces(p, seq, len, pc, tso_seg != 0 ? TCP_TSO_FRAGS : TCP_ZC_FRAGS);
	if (n <= 0 || !chain_pieces(p, tb, pc, n))
		return ZC_NOT_HERE;
	uint8_t *t = tb->data + ETH_HLEN + IP_HLEN;
	bool odd = false;
	uint32_t sum = sum_piece(tcp_pseudo(ns->cfg.ip, p->rip, hl + len), NULL, 0, &odd);
	if (ns->nic == NULL) {
		ns_drop(ns, ND_NO_NIC);
		nic_buf_release_chain(&tb->nb);
		return TERN_ENODEV;
	}
	struct nic_tx_meta meta = { .l3_off = ETH_HLEN, .l4_off = ETH_HLEN + IP_HLEN,
		.l4_proto = IPPROTO_TCP, .mss = p->mss };
	if (tso_seg != 0) {
		/* The device completes each segment's checksum from the
		   pseudo-header sum over the whole frame (the field holds it
		   as below) and gives every segment but the last no PSH. */
		meta.flags = NIC_TX_TSO;
		meta.mss = (uint16_t)tso_seg;
	}
	if (ns->nic->offloads & NIC_OFF_TX_CSUM) {
		/* The device sums from l4_off and folds in what the
		   field holds: the pseudo-header sum, not complemented. */
		wr16(t + 16, (uint16_t)sum);
		meta.flags |= NIC_TX_CSUM_L4;
	} else {
		sum = sum_piece(sum, t, hl, &odd);
		for (int i = 0; i < n; i++)
			sum = sum_piece(sum, pc[i].data, pc[i].len, &odd);
		wr16(t + 16, (uint16_t)~sum);
	}
	size_t flen = ns_ip_header(ns, tb, ns->cfg.ip, p->rip, IPPROTO_TCP, hl + len);
	memcpy(tb->data, mac, 6);
	memcpy(tb->data + 6, ns->mac, 6);
	wr16(tb->data + 12, ETH_P_IP);
	tb->nb.len = (uint32_t)(flen - len);
	/* No nic_poll-and-retry on a full ring here (kernel/dev/nic.h's
	   re-entrancy rule): polling delivers received frames, which would
	   re-enter TCP in the middle of tcp_output.  The connection resumes
	   from the NIC's tx_ready (tx_refused), else from a timer. */
	/* The connection's queue: the headers are in tb->data already. */
	int rc = ns_nic_tx(ns, ns_tx_queue(ns, tb->data, tb->nb.len), &tb->nb, &meta);
	if (rc != TERN_OK) {
		ns_drop(ns, rc == TERN_EAGAIN ? ND_TX_RING_FULL : ND_NO_NIC);
		nic_buf_release_chain(&tb->nb);
		return rc;
	}
	ns->cnt.tx_frames++;
	ns->tcp.st.zc_frames++;
	if (tso_seg != 0) {
		ns->tcp.st.tso_frames++;
		ns->tcp.st.segs_out += (len + tso_seg - 1) / tso_seg;
	} else {
		ns->tcp.st.segs_out++;
	}
	return TERN_OK;
}

/* Sends len queued bytes from seq (len 0 with F_FIN: just the FIN). */
static int
send_data(struct tcp_pcb *p, uint32_t seq, size_t len, uint8_t flags)
{
	struct netstack *ns = p->ns;
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return tx_refused(p, TERN_ENOMEM, false);
	uint8_t o[40];
	size_t ol = data_opts(p, o, false);
	uint8_t *t = tb->data + ETH_HLEN + IP_HLEN;
	size_t hl = put_hdr(t, p->lport, p->rport, seq, p->rcv_nxt, flags,
	    wnd_field(p), o, ol);
	acked_now(p);
	if (len > 0) {
		int rc = send_zc(p, tb, hl, seq, len, 0);
		if (rc != ZC_NOT_HERE)
			return tx_refused(p, rc, false);
	}
	gather(p, seq, t + hl, len);
	ns->cnt.payload_copied += len;
	return tx_refused(p, finish(ns, tb, p->rip, hl + len), false);
}

/* Unacknowledged queued bytes not yet sent at or after seq. */
uint32_t
tcp_unsent_from(struct tcp_pcb *p, uint32_t seq)
{
	uint64_t q = p->sq_bytes;
	uint32_t off = seq - p->snd_una;
	return q > off ? (uint32_t)(q - off) : 0;
}

/*
 * New data for a NIC with TSO: up to `want` bytes (whole segments of
 * `seg` unless they end the queued data) as one frame, the payload by
 * reference in at most TCP_TSO_FRAGS pieces.  Returns the bytes sent,
 * 0 when one segment's worth or less would go (the caller sends a normal
 * segment), or a negative error (refused as in send_data).
 */
static int
send_tso(struct tcp_pcb *p, uint32_t want, uint32_t seg, uint32_t avail, uint8_t flags)
{
	struct netstack *ns = p->ns;
	struct piece pc[TCP_TSO_FRAGS];
	uint32_t n = 0;
	if (want > TCP_TSO_MAX)
		want = TCP_TSO_MAX;
	if (pieces_upto(p, p->snd_nxt, want, pc, TCP_TSO_FRAGS, &n) <= 0)
		return 0;
	if (n < avail)
		n -= n % seg;	/* the device sends full segments, then the rest */
	if (n <= seg)
		return 0;
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return tx_refused(p, TERN_ENOMEM, false);
	uint8_t o[40];
	size_t ol = data_opts(p, o, false);
	uint8_t *t = tb->data + ETH_HLEN + IP_HLEN;
	if (n < avail)
		flags &= (uint8_t)~F_PSH;
	size_t hl = put_hdr(t, p->lport, p->rport, p->snd_nxt, p->rcv_nxt, flags,
	    wnd_field(p), o, ol);
	acked_now(p);
	int rc = send_zc(p, tb, hl, p->snd_nxt, n, seg);
	if (rc == ZC_NOT_HERE) {
		ns_txbuf_put(tb);
		return 0;
	}
	if (rc != TERN_OK)
		return tx_refused(p, rc, false);
	return (int)n;
}

/* Payload bytes per segment: the MSS less the options we always send
   (RFC 6691). */
static uint32_t
smss(struct tcp_pcb *p)
{
	/* RFC 1191: a fragmentation-needed report for this peer lowers the
	   segment size below what was negotiated (ip.c's PMTU table). */
	uint32_t m = p->mss, pm = (uint32_t)ns_pmtu(p->ns, p->rip) - IP_HLEN - TCP_HLEN;
	if (pm < m)
		m = pm;
	/* A segment must fit one transmit buffer on the copying path: with
	   a larger MTU (virtio-net with mergeable buffers, 9000) we receive
	   jumbo segments but send at most TCP_TX_SEG_MAX per segment. */
	if (m > TCP_TX_SEG_MAX)
		m = TCP_TX_SEG_MAX;
	return m - (p->ts_ok ? TS_OPT_LEN : 0);
}

static bool
can_send_state(enum tcp_state s)
{
	return s == TCP_ESTABLISHED || s == TCP_CLOSE_WAIT || s == TCP_FIN_WAIT_1 ||
	    s == TCP_LAST_ACK || s == TCP_CLOSING;
}

static void
sent(struct tcp_pcb *p, uint32_t n)
{
	struct netstack *ns = p->ns;
	if (p->rtt_seq == 0 && p->snd_nxt == p->snd_max) {
		p->rtt_seq = p->snd_nxt + n;
		p->rtt_start = ns_now(ns);
	}
	p->snd_nxt += n;
	if (SEQ_LT(p->snd_max, p->snd_nxt))
		p->snd_max = p->snd_nxt;
	if (p->rtx_deadline == 0)
		tcp_arm(p, &p->rtx_deadline, ns_now(ns) + p->rto_ns);
}

/* Retransmitting (snd_nxt below snd_max): moves snd_nxt past a range
   the peer holds; true if it moved. */
static bool
skip_sacked(struct tcp_pcb *p)
{
	for (int i = 0; i < p->nsack; i++) {
		if (SEQ_LEQ(p->sack_l[i], p->snd_nxt) && SEQ_LT(p->snd_nxt, p->sack_r[i])) {
			p->snd_nxt = SEQ_LT(p->snd_max, p->sack_r[i]) ? p->snd_max : p->sack_r[i];
			return true;
		}
	}
	return false;
}

/* Shortens a retransmission so it stops where a SACKed range starts. */
static uint32_t
sack_clip(struct tcp_pcb *p, uint32_t n)
{
	if (!SEQ_LT(p->snd_nxt, p->snd_max))
		return n;
	for (int i = 0; i < p->nsack; i++)
		if (SEQ_LT(p->snd_nxt, p->sack_l[i]) && SEQ_LT(p->sack_l[i], p->snd_nxt + n))
			n = p->sack_l[i] - p->snd_nxt;
	return n;
}

static void
persist_arm(struct tcp_pcb *p)
{
	if (p->persist_deadline == 0) {
		p->persist_ns = p->rto_ns;
		tcp_arm(p, &p->persist_deadline, ns_now(p->ns) + p->persist_ns);
	}
}

static void
send_fin(struct tcp_pcb *p)
{
	if (send_data(p, p->snd_nxt, 0, F_FIN | F_ACK) != TERN_OK) {
		if (p->state != TCP_CLOSED)
			persist_arm(p);		/* try again */
		return;
	}
	p->fin_sent = true;
	sent(p, 1);
	if (p->state == TCP_ESTABLISHED)
		p->state = TCP_FIN_WAIT_1;
	else if (p->state == TCP_CLOSE_WAIT)
		p->state = TCP_LAST_ACK;
}

/*
 * Whether a segment of n < SMSS bytes (of avail unsent) may go now.
 * Sender SWS avoidance (RFC 9293 3.8.6.2.1): a window-limited piece
 * waits until it is at least half the largest window the peer offered;
 * with nothing in flight the persist timer overrides that.  Nagle (RFC
 * 1122 4.2.3.4): a short segment waits while data is unacknowledged,
 * unless nodelay is set or it is the last data before a FIN.
 */
static bool
short_ok(struct tcp_pcb *p, uint32_t n, uint32_t avail, uint32_t inflight)
{
	bool last = n == avail;
	if (p->sws_force)
		return true;
	if (!last && n < p->max_sndwnd / 2) {
		if (inflight == 0)
			persist_arm(p);
		return false;
	}
	return inflight == 0 || p->nodelay || (last && p->fin_queued);
}

/*
 * Sends what the windows allow: min(peer window, cwnd) bytes in flight,
 * short segments subject to short_ok.  A closed peer window with nothing
 * in flight starts the persist timer (RFC 9293 3.8.6.1); so does a failed
 * transmission (no buffer, ring full), to try again.
 */
static void
output_loop(struct tcp_pcb *p)
{
	for (;;) {
		uint32_t avail = tcp_unsent_from(p, p->snd_nxt);
		if (avail == 0)
			break;
		uint32_t inflight = p->snd_nxt - p->snd_una;
		uint32_t wnd = min32(p->snd_wnd, p->cwnd + p->lt_allow);
		if (inflight >= wnd) {
			if (p->snd_wnd == 0 && inflight == 0)
				persist_arm(p);
			return;
		}
		if (SEQ_LT(p->snd_nxt, p->snd_max) && skip_sacked(p))
			continue;
		uint32_t seg = smss(p);
		uint32_t n = min32(min32(avail, seg), wnd - inflight);
		n = sack_clip(p, n);
		if (n < seg && !short_ok(p, n, avail, inflight))
			return;
		/* New data past one segment on a NIC that segments: one
		   frame for as much as the windows allow (not for
		   retransmissions, which go a segment at a time). */
		if (n == seg && p->snd_nxt == p->snd_max && p->ns->nic != NULL &&
		    (p->ns->nic->offloads & (NIC_OFF_TSO4 | NIC_OFF_TX_CSUM)) ==
		    (NIC_OFF_TSO4 | NIC_OFF_TX_CSUM) && min32(avail, wnd - inflight) > seg) {
			uint32_t want = min32(avail, wnd - inflight);
			int k = send_tso(p, want, seg, avail, F_ACK | F_PSH);
			if (k < 0) {
				if (inflight == 0 && p->state != TCP_CLOSED)
					persist_arm(p);
				return;
			}
			if (k > 0) {
				if (p->state == TCP_CLOSED)
					return;
				sent(p, (uint32_t)k);
				continue;
			}
		}
		bool last = n == avail;
		if (send_data(p, p->snd_nxt, n, F_ACK | (last ? F_PSH : 0)) != TERN_OK) {
			if (inflight == 0 && p->state != TCP_CLOSED)
				persist_arm(p);
			return;
		}
		if (p->state == TCP_CLOSED)	/* a nested input ended it */
			return;
		if (SEQ_LT(p->snd_nxt, p->snd_max))
			p->ns->tcp.st.retransmits++;
		sent(p, n);
	}
	p->persist_deadline = 0;
	if (p->fin_queued && !p->fin_sent)
		send_fin(p);
}

void
tcp_output(struct tcp_pcb *p)
{
	/* Never nested: a transmit path that polls the NIC may deliver a
	   segment for this connection while the loop is running. */
	if (!can_send_state(p->state) || p->in_output)
		return;
	/* Called by the workload (tcp_write_ref) too: one clock reading
	   for the whole burst, as inside netstack_poll. */
	struct netstack *ns = p->ns;
	bool held = ns->clock_held;
	if (!held) {
		ns->clock_ns = ns->port.now_ns(ns->port.ctx);
		ns->clock_held = true;
	}
	p->in_output = true;
	output_loop(p);
	p->in_output = false;
	ns->clock_held = held;
}

/*
 * The NIC's tx_ready (ether.c): every connection noted by tx_refused
 * sends what its windows allow again, and a refused pure ACK goes out
 * when no segment carried the acknowledgement.  Bounded: one pass over
 * the noted ones; a connection refused again (its queue still waits) is
 * noted for the next tx_ready.
 */
void
ns_tcp_tx_resume(struct netstack *ns)
{
	struct tcp_state_all *t = &ns->tcp;
	for (int w = 0; w < TCP_MAX_PCBS / 64; w++) {
		uint64_t bits = t->txwait[w], acks = t->ackwait[w];
		t->txwait[w] = 0;
		t->ackwait[w] = 0;
		while (bits != 0) {
			int b = __builtin_ctzll(bits);
			bits &= bits - 1;
			struct tcp_pcb *p = &t->pcbs[w * 64 + b];
			if (p->state == TCP_CLOSED)
				continue;
			uint64_t before = ns->cnt.tx_frames;
			tcp_output(p);
			if ((acks >> b & 1) && ns->cnt.tx_frames == before &&
			    p->state != TCP_CLOSED)
				tcp_send_ack(p);
		}
	}
}

/* Resends the oldest unacknowledged segment (fast retransmit and the
   NewReno partial-ACK rule, RFC 6582 3.2). */
void
tcp_retransmit_first(struct tcp_pcb *p)
{
	uint32_t data = tcp_unsent_from(p, p->snd_una);
	uint32_t n = min32(data, smss(p));
	if (n == 0 && p->fin_sent) {
		send_data(p, p->snd_una, 0, F_FIN | F_ACK);
	} else if (n > 0) {
		send_data(p, p->snd_una, n, F_ACK);
	}
	if (SEQ_LT(p->rtx_high, p->snd_una + n))
		p->rtx_high = p->snd_una + n;
	p->ns->tcp.st.retransmits++;
	p->rtt_seq = 0;		/* Karn */
	tcp_arm(p, &p->rtx_deadline, ns_now(p->ns) + p->rto_ns);
}

bool
tcp_retransmit_hole(struct tcp_pcb *p)
{
	uint32_t s = SEQ_LT(p->rtx_high, p->snd_una) ? p->snd_una : p->rtx_high;
	for (int i = 0; i < p->nsack; i++) {
		if (SEQ_LT(s, p->sack_l[i])) {
			uint32_t n = min32(p->sack_l[i] - s, smss(p));
			n = min32(n, tcp_unsent_from(p, s));
			if (n == 0)
				return false;
			if (send_data(p, s, n, F_ACK) != TERN_OK)
				return false;
			p->rtx_high = s + n;
			p->ns->tcp.st.retransmits++;
			p->ns->tcp.st.sack_retransmits++;
			p->rtt_seq = 0;		/* Karn */
			return true;
		}
		if (SEQ_LT(s, p->sack_r[i]))
			s = p->sack_r[i];
	}
	return false;
}

/* RFC 6298 5.4-5.7 plus RFC 5681 3.1 (7): ssthresh halves, cwnd drops
   to one segment, and sending goes back to snd_una. */
static void
rto_expired(struct tcp_pcb *p, uint64_t now)
{
	struct netstack *ns = p->ns;
	uint32_t flight = p->snd_max - p->snd_una;
	ns->tcp.st.timeouts++;
	p->ssthresh = max32(flight / 2, 2 * (uint32_t)p->mss);
	p->cwnd = p->mss;
	p->in_recovery = false;
	p->dupacks = 0;
	p->lt_allow = 0;
	p->recover = p->snd_max;
	/* Go-back-N below skips what the peer SACKed; a second timeout in
	   a row forgets the scoreboard, in case the receiver reneged
	   (RFC 2018 8: SACKed data may still be discarded). */
	if (p->retries > 1)
		p->nsack = 0;
	p->rtx_high = p->snd_una;
	p->rto_ns = p->rto_ns * 2 > RTO_MAX_NS ? RTO_MAX_NS : p->rto_ns * 2;
	p->rtt_seq = 0;		/* Karn: never time a retransmission */
	tcp_arm(p, &p->rtx_deadline, now + p->rto_ns);
	if (p->state == TCP_SYN_SENT || p->state == TCP_SYN_RCVD) {
		ns->tcp.st.retransmits++;
		tcp_send_syn(p);
		return;
	}
	p->snd_nxt = p->snd_una;
	/* The FIN goes again from snd_una; the state stays (FIN_WAIT_1,
	   CLOSING or LAST_ACK): the peer's FIN may already be in. */
	p->fin_sent = false;
	uint32_t before = p->snd_nxt;
	tcp_output(p);
	if (p->snd_nxt == before)	/* only the FIN (or nothing) went again */
		ns->tcp.st.retransmits++;
}

static void
rtx_timer(struct tcp_pcb *p, uint64_t now)
{
	struct netstack *ns = p->ns;
	/* Half-open connections give up sooner (a SYN flood holds them). */
	bool syn = p->state == TCP_SYN_SENT || p->state == TCP_SYN_RCVD;
	int limit = syn ? SYN_RETRIES : MAX_RETRIES;
	if (++p->retries > limit) {
		ns_log(ns, 2, "tcp: connection to port %u timed out after %d retransmissions",
		    p->rport, limit);
		if (p->state == TCP_SYN_SENT) {
			ns->tcp.st.connect_failed++;
			tcp_pcb_free(p, TERN_ETIMEDOUT);
			return;
		}
		ns->tcp.st.aborted++;
		ns->tcp.st.resets_out++;
		tcp_send_bare(ns, p->rip, p->lport, p->rport, p->snd_nxt, 0, F_RST, 0);
		tcp_pcb_free(p, TERN_ETIMEDOUT);
		return;
	}
	rto_expired(p, now);
}

/* RFC 9293 3.8.6.1: probe a zero window with backoff, for as long as the
   peer keeps answering (no retry limit here). */
static void
persist_timer(struct tcp_pcb *p, uint64_t now)
{
	p->ns->tcp.st.persist_probes++;
	tcp_send_probe(p);
	p->persist_ns = p->persist_ns * 2 > PERSIST_MAX_NS ? PERSIST_MAX_NS : p->persist_ns * 2;
	tcp_arm(p, &p->persist_deadline, now + p->persist_ns);
}

/* RFC 1122 4.2.3.6: probes only when idle; count unanswered ones. */
static void
keepalive_timer(struct tcp_pcb *p, uint64_t now)
{
	struct netstack *ns = p->ns;
	if (p->snd_max != p->snd_una) {
		tcp_arm(p, &p->ka_deadline, now + p->ka_intvl_ns);	/* the RTO watches it */
		return;
	}
	if (p->ka_sent >= p->ka_count) {
		ns_log(ns, 2, "tcp: peer at port %u silent after %u keepalives",
		    p->rport, p->ka_count);
		ns->tcp.st.aborted++;
		ns->tcp.st.resets_out++;
		tcp_send_bare(ns, p->rip, p->lport, p->rport, p->snd_nxt, 0, F_RST, 0);
		tcp_pcb_free(p, TERN_ETIMEDOUT);
		return;
	}
	ns->tcp.st.keepalive_probes++;
	p->ka_sent++;
	tcp_send_probe(p);
	tcp_arm(p, &p->ka_deadline, now + p->ka_intvl_ns);
}

void
tcp_pcb_timers(struct tcp_pcb *p, uint64_t now)
{
	/* RFC 9293 leaves FIN_WAIT_2 open-ended; a peer that never sends
	   its FIN (nor anything else) must not hold the pcb for ever. */
	if (p->state == TCP_FIN_WAIT_2 && now >= p->fw2_deadline) {
		ns_log(p->ns, 2, "tcp: peer at port %u never closed; dropping it", p->rport);
		tcp_pcb_free(p, TERN_ETIMEDOUT);
		return;
	}
	if (p->delack_deadline != 0 && now >= p->delack_deadline) {
		p->ns->tcp.st.delayed_acks++;
		tcp_send_ack(p);
	}
	if (p->rtx_deadline != 0 && now >= p->rtx_deadline) {
		rtx_timer(p, now);
		if (p->state == TCP_CLOSED)
			return;
	}
	if (p->persist_deadline != 0 && now >= p->persist_deadline) {
		p->persist_deadline = 0;
		if (p->snd_max != p->snd_una) {
			/* the retransmission timer watches the connection */
		} else if (p->snd_wnd == 0) {
			persist_timer(p, now);
		} else {
			/* SWS override: send what the small window takes. */
			p->sws_force = true;
			tcp_output(p);
			p->sws_force = false;
		}
	}
	if (p->ka_idle_ns != 0 && p->ka_deadline != 0 && now >= p->ka_deadline &&
	    (p->state == TCP_ESTABLISHED || p->state == TCP_CLOSE_WAIT))
		keepalive_timer(p, now);
}

/*
 * tcp.c - TCP (RFC 9293) for the netstack.
 *
 * There now: passive open with the MSS option, in-order receive (out of
 * order segments are dropped and answered with a duplicate ACK), send by
 * reference with go-back-N retransmission on an RFC 6298 timer (Karn's
 * rule, exponential backoff, 8 retries then abort), FIN in both
 * directions, a short bounded TIME_WAIT, RST and SYN checks of RFC 5961
 * (exact-sequence RST accepted, in-window RST or SYN gets a challenge
 * ACK), RST for segments to unknown connections, and RFC 6528 initial
 * sequence numbers (a keyed hash of the four-tuple plus a 4 us clock).
 * Not yet: active open, window scaling, SACK, timestamps, fast
 * retransmit/NewReno, delayed ACK, Nagle, keepalive, zero-window probes,
 * out-of-order queue, SYN cookies.  The send path copies each segment's
 * payload into a frame buffer at transmission (counted in payload_copied);
 * the application's memory itself is only referenced.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "netstack/ns_var.h"

#define IPPROTO_TCP	6
#define TCP_HLEN	20
#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10
#define RCV_WND		65535
#define RTO_INIT_NS	1000000000ULL
#define RTO_MIN_NS	200000000ULL
#define RTO_MAX_NS	60000000000ULL
#define MAX_RETRIES	8
#define TIMEWAIT_NS	2000000000ULL
#define MSS_DEFAULT	536

#define SEQ_LT(a, b)	((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b)	((int32_t)((a) - (b)) <= 0)

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4 us clock. */
static uint32_t
isn(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport)
{
	struct tcp_state_all *t = &ns->tcp;
	if (t->isn_key[0] == 0) {
		t->isn_key[0] = (uint64_t)ns->port.random(ns->port.ctx) << 32 |
		    ns->port.random(ns->port.ctx) | 1;
		t->isn_key[1] = (uint64_t)ns->port.random(ns->port.ctx) << 32 |
		    ns->port.random(ns->port.ctx);
	}
	uint64_t h = mix(t->isn_key[0] ^ ((uint64_t)rip << 32 | (uint32_t)lport << 16 | rport));
	h = mix(h ^ t->isn_key[1] ^ ns->cfg.ip);
	return (uint32_t)h + (uint32_t)(ns_now(ns) / 4000);
}

static uint32_t
pseudo(uint32_t src, uint32_t dst, size_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	    IPPROTO_TCP + (uint32_t)len;
}

/* Build and send one segment; payload (if any) is copied into the frame. */
static int
send_seg(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *data, size_t len,
    bool mss_opt)
{
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return TERN_ENOMEM;
	uint8_t *t = tb->data + ETH_HLEN + IP_HLEN;
	size_t hl = TCP_HLEN + (mss_opt ? 4 : 0);
	wr16(t, lport);
	wr16(t + 2, rport);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	wr16(t + 14, RCV_WND);
	wr16(t + 16, 0);
	wr16(t + 18, 0);
	if (mss_opt) {
		uint16_t mss = (uint16_t)(ns->cfg.mtu - IP_HLEN - TCP_HLEN);
		t[20] = 2;
		t[21] = 4;
		wr16(t + 22, mss);
	}
	if (len > 0) {
		memcpy(t + hl, data, len);
		ns->cnt.payload_copied += len;
	}
	wr16(t + 16, ns_csum(t, hl + len, pseudo(ns->cfg.ip, rip, hl + len)));
	size_t flen = ns_ip_header(ns, tb, ns->cfg.ip, rip, IPPROTO_TCP, hl + len);
	ns->tcp.st.segs_out++;
	return ns_eth_send_ip(ns, tb, flen, ns_next_hop(ns, rip));
}

static void
send_ack(struct tcp_pcb *p)
{
	send_seg(p->ns, p->rip, p->lport, p->rport, p->snd_nxt, p->rcv_nxt, F_ACK,
	    NULL, 0, false);
}

static void
pcb_free(struct tcp_pcb *p, int reason)
{
	/* Give back every queued reference, acknowledged or not. */
	while (p->sq_len > 0) {
		struct tcp_sendref *r = &p->sq[p->sq_head];
		if (r->release != NULL)
			r->release(r->rctx);
		p->sq_head = (p->sq_head + 1) % TCP_SENDQ;
		p->sq_len--;
	}
	struct tcp_cbs cbs = p->cbs;
	void *ctx = p->ctx;
	bool notify = p->state != TCP_SYN_RCVD && cbs.closed != NULL;
	p->state = TCP_CLOSED;
	if (notify)
		cbs.closed(ctx, p, reason);
}

static void
send_rst_reply(struct netstack *ns, uint32_t src, const uint8_t *seg, size_t plen,
    uint8_t flags)
{
	uint16_t sport = rd16(seg), dport = rd16(seg + 2);
	uint32_t seq = rd32(seg + 4), ack = rd32(seg + 8);
	ns->tcp.st.resets_out++;
	if (flags & F_ACK)
		send_seg(ns, src, dport, sport, ack, 0, F_RST, NULL, 0, false);
	else
		send_seg(ns, src, dport, sport, 0,
		    seq + (uint32_t)plen + ((flags & F_SYN) ? 1 : 0) + ((flags & F_FIN) ? 1 : 0),
		    F_RST | F_ACK, NULL, 0, false);
}

/* Bytes queued but not yet sent, starting at snd_nxt. */
static void
tcp_output(struct tcp_pcb *p)
{
	struct netstack *ns = p->ns;
	if (p->state != TCP_ESTABLISHED && p->state != TCP_CLOSE_WAIT &&
	    p->state != TCP_FIN_WAIT_1 && p->state != TCP_LAST_ACK &&
	    p->state != TCP_CLOSING)
		return;
	/* Walk the queue to the byte at snd_nxt. */
	uint32_t off = p->snd_nxt - p->snd_una;
	int i = 0;
	size_t in_ref = 0;
	while (i < p->sq_len) {
		struct tcp_sendref *r = &p->sq[(p->sq_head + i) % TCP_SENDQ];
		size_t left = r->len - r->acked;
		if (off < left) {
			in_ref = r->acked + off;
			break;
		}
		off -= (uint32_t)left;
		i++;
	}
	while (i < p->sq_len) {
		struct tcp_sendref *r = &p->sq[(p->sq_head + i) % TCP_SENDQ];
		uint32_t inflight = p->snd_nxt - p->snd_una;
		if (inflight >= p->snd_wnd)
			return;
		size_t n = r->len - in_ref;
		if (n > p->mss)
			n = p->mss;
		if (n > p->snd_wnd - inflight)
			n = p->snd_wnd - inflight;
		if (n == 0)
			return;
		if (send_seg(ns, p->rip, p->lport, p->rport, p->snd_nxt, p->rcv_nxt,
		    F_ACK | F_PSH, r->data + in_ref, n, false) != TERN_OK)
			return;
		if (p->rtt_seq == 0 && p->snd_nxt == p->snd_max) {
			p->rtt_seq = p->snd_nxt + (uint32_t)n;
			p->rtt_start = ns_now(ns);
		}
		p->snd_nxt += (uint32_t)n;
		if (SEQ_LT(p->snd_max, p->snd_nxt))
			p->snd_max = p->snd_nxt;
		if (p->rtx_deadline == 0)
			p->rtx_deadline = ns_now(ns) + p->rto_ns;
		in_ref += n;
		if (in_ref == r->len) {
			i++;
			in_ref = 0;
		}
	}
	/* Everything queued is out: the FIN, if asked for. */
	if (p->fin_queued && !p->fin_sent && i == p->sq_len) {
		if (send_seg(ns, p->rip, p->lport, p->rport, p->snd_nxt, p->rcv_nxt,
		    F_FIN | F_ACK, NULL, 0, false) == TERN_OK) {
			p->fin_sent = true;
			p->snd_nxt++;
			if (SEQ_LT(p->snd_max, p->snd_nxt))
				p->snd_max = p->snd_nxt;
			if (p->rtx_deadline == 0)
				p->rtx_deadline = ns_now(ns) + p->rto_ns;
			if (p->state == TCP_ESTABLISHED)
				p->state = TCP_FIN_WAIT_1;
			else if (p->state == TCP_CLOSE_WAIT)
				p->state = TCP_LAST_ACK;
		}
	}
}

int
tcp_listen(struct netstack *ns, uint16_t port,
    void (*accept)(void *ctx, struct tcp_pcb *pcb), void *ctx)
{
	struct tcp_listener *free_slot = NULL;
	for (int i = 0; i < TCP_MAX_LISTEN; i++) {
		struct tcp_listener *l = &ns->tcp.listen[i];
		if (l->accept == NULL) {
			if (free_slot == NULL)
				free_slot = l;
		} else if (l->port == port) {
			return TERN_EADDRINUSE;
		}
	}
	if (free_slot == NULL)
		return TERN_ENOMEM;
	free_slot->port = port;
	free_slot->accept = accept;
	free_slot->ctx = ctx;
	return TERN_OK;
}

void
tcp_unlisten(struct netstack *ns, uint16_t port)
{
	for (int i = 0; i < TCP_MAX_LISTEN; i++) {
		struct tcp_listener *l = &ns->tcp.listen[i];
		if (l->accept == NULL || l->port != port)
			continue;
		/* Half-open connections point at the listener: reset them. */
		for (int k = 0; k < TCP_MAX_PCBS; k++) {
			struct tcp_pcb *p = &ns->tcp.pcbs[k];
			if (p->state == TCP_SYN_RCVD && p->ctx == l)
				tcp_abort(p);
		}
		l->accept = NULL;
		l->ctx = NULL;
	}
}

int
tcp_write(struct tcp_pcb *p, const void *data, size_t len,
    void (*release)(void *rctx), void *rctx)
{
	if (p->state != TCP_ESTABLISHED && p->state != TCP_CLOSE_WAIT)
		return TERN_ENOTCONN;
	if (p->fin_queued)
		return TERN_ENOTCONN;
	if (p->sq_len == TCP_SENDQ)
		return TERN_EAGAIN;
	if (len == 0)
		return TERN_OK;
	struct tcp_sendref *r = &p->sq[(p->sq_head + p->sq_len) % TCP_SENDQ];
	*r = (struct tcp_sendref){ data, len, 0, release, rctx };
	p->sq_len++;
	tcp_output(p);
	return TERN_OK;
}

void
tcp_close(struct tcp_pcb *p)
{
	if (p->state == TCP_ESTABLISHED || p->state == TCP_CLOSE_WAIT) {
		p->fin_queued = true;
		tcp_output(p);
	} else if (p->state == TCP_SYN_RCVD) {
		tcp_abort(p);
	}
}

void
tcp_abort(struct tcp_pcb *p)
{
	if (p->state == TCP_CLOSED)
		return;
	p->ns->tcp.st.resets_out++;
	send_seg(p->ns, p->rip, p->lport, p->rport, p->snd_nxt, 0, F_RST, NULL, 0, false);
	pcb_free(p, TERN_ECANCELED);
}

/* The peer acknowledged up to `ack`: drop acked references, time RTT. */
static void
ack_advance(struct tcp_pcb *p, uint32_t ack)
{
	struct netstack *ns = p->ns;
	uint32_t n = ack - p->snd_una;
	p->snd_una = ack;
	if (SEQ_LT(p->snd_nxt, p->snd_una))
		p->snd_nxt = p->snd_una;
	/* Sequence space of the SYN and FIN is not in the queue. */
	while (n > 0 && p->sq_len > 0) {
		struct tcp_sendref *r = &p->sq[p->sq_head];
		size_t left = r->len - r->acked;
		size_t k = n < left ? n : left;
		r->acked += k;
		n -= (uint32_t)k;
		if (r->acked == r->len) {
			if (r->release != NULL)
				r->release(r->rctx);
			p->sq_head = (p->sq_head + 1) % TCP_SENDQ;
			p->sq_len--;
		}
	}
	if (p->rtt_seq != 0 && SEQ_LEQ(p->rtt_seq, ack)) {
		uint64_t r = ns_now(ns) - p->rtt_start;
		if (p->srtt_ns == 0) {
			p->srtt_ns = r;
			p->rttvar_ns = r / 2;
		} else {
			uint64_t d = r > p->srtt_ns ? r - p->srtt_ns : p->srtt_ns - r;
			p->rttvar_ns = (3 * p->rttvar_ns + d) / 4;
			p->srtt_ns = (7 * p->srtt_ns + r) / 8;
		}
		p->rto_ns = p->srtt_ns + 4 * p->rttvar_ns;
		if (p->rto_ns < RTO_MIN_NS)
			p->rto_ns = RTO_MIN_NS;
		if (p->rto_ns > RTO_MAX_NS)
			p->rto_ns = RTO_MAX_NS;
		p->rtt_seq = 0;
	}
	p->retries = 0;
	p->rtx_deadline = p->snd_una == p->snd_max ? 0 : ns_now(ns) + p->rto_ns;
}

static struct tcp_pcb *
find_pcb(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport)
{
	for (int i = 0; i < TCP_MAX_PCBS; i++) {
		struct tcp_pcb *p = &ns->tcp.pcbs[i];
		if (p->state != TCP_CLOSED && p->rip == rip && p->lport == lport &&
		    p->rport == rport)
			return p;
	}
	return NULL;
}

static void
passive_open(struct netstack *ns, uint32_t src, const uint8_t *seg, size_t hl)
{
	uint16_t sport = rd16(seg), dport = rd16(seg + 2);
	struct tcp_listener *l = NULL;
	for (int i = 0; i < TCP_MAX_LISTEN; i++)
		if (ns->tcp.listen[i].accept != NULL && ns->tcp.listen[i].port == dport)
			l = &ns->tcp.listen[i];
	if (l == NULL) {
		send_rst_reply(ns, src, seg, 0, F_SYN);
		return;
	}
	struct tcp_pcb *p = NULL;
	for (int i = 0; i < TCP_MAX_PCBS && p == NULL; i++)
		if (ns->tcp.pcbs[i].state == TCP_CLOSED)
			p = &ns->tcp.pcbs[i];
	if (p == NULL) {
		ns->tcp.st.syn_dropped_full++;
		return;
	}
	memset(p, 0, sizeof(*p));
	p->ns = ns;
	p->rip = src;
	p->lport = dport;
	p->rport = sport;
	p->irs = rd32(seg + 4);
	p->rcv_nxt = p->irs + 1;
	p->iss = isn(ns, src, dport, sport);
	p->snd_una = p->iss;
	p->snd_nxt = p->iss + 1;
	p->snd_max = p->snd_nxt;
	p->snd_wnd = rd16(seg + 14);
	p->mss = MSS_DEFAULT;
	/* Options: only MSS matters today; every length is checked. */
	for (size_t o = TCP_HLEN; o < hl;) {
		uint8_t kind = seg[o];
		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 1 >= hl || seg[o + 1] < 2 || o + seg[o + 1] > hl)
			break;
		if (kind == 2 && seg[o + 1] == 4) {
			uint16_t m = rd16(seg + o + 2);
			if (m >= 64)
				p->mss = m;
		}
		o += seg[o + 1];
	}
	uint16_t mymss = (uint16_t)(ns->cfg.mtu - IP_HLEN - TCP_HLEN);
	if (p->mss > mymss)
		p->mss = mymss;
	p->rto_ns = RTO_INIT_NS;
	p->state = TCP_SYN_RCVD;
	p->cbs = (struct tcp_cbs){ NULL, NULL };
	p->ctx = l;	/* until accepted */
	p->rtx_deadline = ns_now(ns) + p->rto_ns;
	send_seg(ns, src, dport, sport, p->iss, p->rcv_nxt, F_SYN | F_ACK, NULL, 0, true);
}

void
ns_tcp_input(struct netstack *ns, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	struct tcp_state_all *t = &ns->tcp;
	if (len < TCP_HLEN || ns_csum(seg, len, pseudo(src, dst, len)) != 0) {
		t->st.bad_csum++;
		return;
	}
	size_t hl = (size_t)(seg[12] >> 4) * 4;
	if (hl < TCP_HLEN || hl > len) {
		t->st.bad_csum++;
		return;
	}
	t->st.segs_in++;
	uint8_t flags = seg[13];
	uint32_t seq = rd32(seg + 4), ack = rd32(seg + 8);
	const uint8_t *data = seg + hl;
	size_t dlen = len - hl;
	struct tcp_pcb *p = find_pcb(ns, src, rd16(seg + 2), rd16(seg));

	if (p == NULL) {
		if (flags & F_RST)
			return;
		if ((flags & F_SYN) && !(flags & F_ACK)) {
			passive_open(ns, src, seg, hl);
			return;
		}
		send_rst_reply(ns, src, seg, dlen, flags);
		return;
	}

	/* RFC 5961 3.2: only an RST exactly at rcv_nxt resets; one elsewhere
	   in the window gets a challenge ACK; outside, it is ignored. */
	if (flags & F_RST) {
		t->st.resets_in++;
		if (seq == p->rcv_nxt) {
			pcb_free(p, TERN_ECONNRESET);
		} else if (SEQ_LT(p->rcv_nxt, seq) && SEQ_LT(seq, p->rcv_nxt + RCV_WND)) {
			t->st.challenge_acks++;
			send_ack(p);
		}
		return;
	}
	if (p->state == TCP_SYN_RCVD && (flags & F_SYN) && !(flags & F_ACK) &&
	    seq == p->irs) {
		/* Our SYN-ACK was lost: send it again. */
		send_seg(ns, src, p->lport, p->rport, p->iss, p->rcv_nxt, F_SYN | F_ACK,
		    NULL, 0, true);
		return;
	}
	/* RFC 5961 4.2: a SYN on a synchronized connection: challenge ACK. */
	if (flags & F_SYN) {
		t->st.challenge_acks++;
		send_ack(p);
		return;
	}
	if (!(flags & F_ACK))
		return;
	/* RFC 5961 5.2: acceptable ACKs lie in [snd_una - window, snd_max]. */
	if (SEQ_LT(p->snd_max, ack) || SEQ_LT(ack, p->snd_una - 65535)) {
		t->st.challenge_acks++;
		send_ack(p);
		return;
	}
	if (p->state == TCP_SYN_RCVD) {
		if (ack != p->iss + 1) {
			send_rst_reply(ns, src, seg, dlen, flags);
			return;
		}
		struct tcp_listener *l = p->ctx;
		p->state = TCP_ESTABLISHED;
		p->snd_una = ack;
		p->rtx_deadline = 0;
		p->ctx = NULL;
		t->st.accepted++;
		l->accept(l->ctx, p);
		if (p->state == TCP_CLOSED)
			return;
	} else if (SEQ_LT(p->snd_una, ack)) {
		ack_advance(p, ack);
	}
	p->snd_wnd = rd16(seg + 14);

	/* Our FIN acknowledged? */
	if (p->fin_sent && ack == p->snd_max) {
		if (p->state == TCP_FIN_WAIT_1)
			p->state = TCP_FIN_WAIT_2;
		else if (p->state == TCP_CLOSING) {
			p->state = TCP_TIME_WAIT;
			p->timewait_end = ns_now(ns) + TIMEWAIT_NS;
		} else if (p->state == TCP_LAST_ACK) {
			pcb_free(p, TERN_OK);
			return;
		}
	}

	/* Data, in order only. */
	if (dlen > 0 || (flags & F_FIN)) {
		if (seq != p->rcv_nxt) {
			t->st.out_of_order++;
			send_ack(p);	/* duplicate ACK tells the peer where we are */
			return;
		}
		if (dlen > 0 && (p->state == TCP_ESTABLISHED || p->state == TCP_FIN_WAIT_1 ||
		    p->state == TCP_FIN_WAIT_2)) {
			p->rcv_nxt += (uint32_t)dlen;
			if (p->cbs.recv != NULL)
				p->cbs.recv(p->ctx, p, data, dlen);
			if (p->state == TCP_CLOSED)
				return;
		}
		if (flags & F_FIN) {
			p->rcv_nxt++;
			if (p->state == TCP_ESTABLISHED) {
				p->state = TCP_CLOSE_WAIT;
				if (p->cbs.recv != NULL)
					p->cbs.recv(p->ctx, p, NULL, 0);
				if (p->state == TCP_CLOSED)
					return;
			} else if (p->state == TCP_FIN_WAIT_1) {
				p->state = TCP_CLOSING;
			} else if (p->state == TCP_FIN_WAIT_2) {
				p->state = TCP_TIME_WAIT;
				p->timewait_end = ns_now(ns) + TIMEWAIT_NS;
			}
		}
		send_ack(p);
	}
	tcp_output(p);
}

void
ns_tcp_timers(struct netstack *ns)
{
	uint64_t now = ns_now(ns);
	for (int i = 0; i < TCP_MAX_PCBS; i++) {
		struct tcp_pcb *p = &ns->tcp.pcbs[i];
		if (p->state == TCP_CLOSED)
			continue;
		if (p->state == TCP_TIME_WAIT) {
			if (now >= p->timewait_end)
				pcb_free(p, TERN_OK);
			continue;
		}
		if (p->rtx_deadline == 0 || now < p->rtx_deadline)
			continue;
		if (++p->retries > MAX_RETRIES) {
			ns_log(ns, 2, "tcp: connection to port %u timed out after %d retransmissions",
			    p->rport, MAX_RETRIES);
			ns->tcp.st.aborted++;
			tcp_abort(p);
			continue;
		}
		ns->tcp.st.retransmits++;
		p->rto_ns = p->rto_ns * 2 > RTO_MAX_NS ? RTO_MAX_NS : p->rto_ns * 2;
		p->rtt_seq = 0;		/* Karn: never time a retransmission */
		p->rtx_deadline = now + p->rto_ns;
		if (p->state == TCP_SYN_RCVD) {
			send_seg(ns, p->rip, p->lport, p->rport, p->iss, p->rcv_nxt,
			    F_SYN | F_ACK, NULL, 0, true);
			continue;
		}
		/* Go back to the oldest unacknowledged byte. */
		p->snd_nxt = p->snd_una;
		if (p->fin_sent) {
			p->fin_sent = false;
			if (p->state == TCP_FIN_WAIT_1)
				p->state = TCP_ESTABLISHED;
			else if (p->state == TCP_LAST_ACK)
				p->state = TCP_CLOSE_WAIT;
			else if (p->state == TCP_CLOSING)
				p->state = TCP_ESTABLISHED;	/* FIN resent below */
		}
		tcp_output(p);
	}
}

/*
 * tcp.c - TCP (RFC 9293) for the netstack: the API, segment input and the
 * state machine.  Output and timers are in tcp_out.c, loss recovery and
 * congestion control in tcp_cc.c, SYN cookies, the TIME_WAIT table and
 * ephemeral ports in tcp_syn.c.
 *
 * Input order for a synchronized connection: RST (RFC 5961 3.2), SYN
 * (RFC 5961 4.2), PAWS (RFC 7323 5.3), the acceptability test (RFC 9293
 * 3.10.7.4), ACK (RFC 5961 5.2 range, congestion control, window update),
 * then data: in order goes to the application at once (zero copy), out of
 * order is copied into a bounded pool and SACKed (RFC 2018), and the
 * queue drains when the gap fills.  ACKs are delayed (RFC 1122 4.2.3.2,
 * RFC 5681 4.2) except for every second full segment, gaps, and FINs.
 *
 * Every field read from a segment is untrusted: lengths and options are
 * bounds-checked, bad segments are counted and dropped.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "netstack/siphash.h"
#include "netstack/tcp_var.h"

/* SipHash-2-4 of a few 32-bit words under a secret key. */
uint32_t
tcp_hash(const uint64_t key[2], const uint32_t *w, size_t n)
{
	uint8_t b[32];
	for (size_t i = 0; i < n && i < 8; i++) {
		b[4 * i] = (uint8_t)w[i];
		b[4 * i + 1] = (uint8_t)(w[i] >> 8);
		b[4 * i + 2] = (uint8_t)(w[i] >> 16);
		b[4 * i + 3] = (uint8_t)(w[i] >> 24);
	}
	return (uint32_t)siphash24(key, b, 4 * (n < 8 ? n : 8));
}

static uint64_t
rnd64(struct netstack *ns)
{
	return (uint64_t)ns->port.random(ns->port.ctx) << 32 | ns->port.random(ns->port.ctx);
}

/* Once per stack, from netstack_attach (the port's strong random hook,
   netstack.h); the isn() and cookie paths only guard.  The low bit of
   isn_key[0] is forced to mark the keys drawn. */
void
tcp_keys(struct netstack *ns)
{
	struct tcp_state_all *t = &ns->tcp;
	if (t->isn_key[0] != 0)
		return;
	t->isn_key[0] = rnd64(ns) | 1;
	t->isn_key[1] = rnd64(ns);
	t->cookie_key[0] = rnd64(ns);
	t->cookie_key[1] = rnd64(ns);
}

/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4 us clock, F SipHash. */
static uint32_t
isn(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport)
{
	struct tcp_state_all *t = &ns->tcp;
	tcp_keys(ns);
	const uint32_t w[3] = { ns->cfg.ip, rip, (uint32_t)lport << 16 | rport };
	return tcp_hash(t->isn_key, w, 3) + (uint32_t)(ns_now(ns) / 4000);
}

/* Parses the options of a segment; malformed ones end the parse.
   o->sack[] is written only up to o->nsack. */
static void
parse_opts(const uint8_t *seg, size_t hl, struct tcp_opts *o)
{
	o->mss = 0;
	o->wscale = -1;
	o->sack_ok = false;
	o->nsack = 0;
	/* What nearly every segment of a connection with timestamps
	   carries (RFC 7323 appendix A): NOP, NOP, timestamps. */
	if (hl == TCP_HLEN + 12 && rd32(seg + TCP_HLEN) == 0x0101080au) {
		o->ts = true;
		o->tsval = rd32(seg + TCP_HLEN + 4);
		o->tsecr = rd32(seg + TCP_HLEN + 8);
		return;
	}
	o->ts = false;
	o->tsval = o->tsecr = 0;
	for (size_t i = TCP_HLEN; i < hl;) {
		uint8_t kind = seg[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hl || seg[i + 1] < 2 || i + seg[i + 1] > hl)
			break;
		uint8_t len = seg[i + 1];
		if (kind == 2 && len == 4)
			o->mss = rd16(seg + i + 2);
		else if (kind == 3 && len == 3)
			o->wscale = seg[i + 2] > 14 ? 14 : seg[i + 2];	/* RFC 7323 2.3 */
		else if (kind == 4 && len == 2)
			o->sack_ok = true;
		else if (kind == 5 && len >= 10 && (len - 2) % 8 == 0) {
			for (int b = 0; b < (len - 2) / 8 && b < 4; b++) {
				o->sack[b][0] = rd32(seg + i + 2 + 8 * b);
				o->sack[b][1] = rd32(seg + i + 6 + 8 * b);
				o->nsack = b + 1;
			}
		} else if (kind == 8 && len == 10) {
			o->ts = true;
			o->tsval = rd32(seg + i + 2);
			o->tsecr = rd32(seg + i + 6);
		}
		i += len;
	}
}

static void
ooo_clear(struct tcp_pcb *p)
{
	struct tcp_state_all *t = &p->ns->tcp;
	for (int n = 0; p->ooo_head != 0 && n < TCP_OOO_SLOTS; n++) {
		uint16_t i = p->ooo_head;
		p->ooo_head = t->ooo[i - 1].next;
		t->ooo_used[i - 1] = false;
	}
	p->ooo_head = 0;
	p->ooo_n = 0;
}

static unsigned
tuple_hash(uint32_t rip, uint16_t lport, uint16_t rport)
{
	uint32_t h = (rip ^ ((uint32_t)lport << 16 | rport)) * 0x9e3779b1u;
	return (h >> 16) % TCP_HASH;
}

static void
hash_insert(struct netstack *ns, struct tcp_pcb *p)
{
	struct tcp_state_all *t = &ns->tcp;
	int idx = (int)(p - t->pcbs);
	uint16_t *head = &t->hash[tuple_hash(p->rip, p->lport, p->rport)];
	p->hnext = *head;
	*head = (uint16_t)(idx + 1);
	p->hashed = true;
	t->live[idx / 64] |= 1ULL << (idx % 64);
}

static void
hash_remove(struct netstack *ns, struct tcp_pcb *p)
{
	struct tcp_state_all *t = &ns->tcp;
	int idx = (int)(p - t->pcbs);
	uint16_t *link = &t->hash[tuple_hash(p->rip, p->lport, p->rport)];
	for (int n = 0; *link != 0 && n < TCP_MAX_PCBS; n++) {
		struct tcp_pcb *q = &t->pcbs[*link - 1];
		if (q == p) {
			*link = p->hnext;
			break;
		}
		link = &q->hnext;
	}
	p->hashed = false;
	t->live[idx / 64] &= ~(1ULL << (idx % 64));
}

/* Releases and pops acknowledged references no NIC ring still reads. */
void
tcp_sq_reap(struct tcp_pcb *p)
{
	while (p->sq_len > 0) {
		struct tcp_sendref *r = &p->sq[p->sq_head];
		if (r->acked < r->len || r->inflight > 0)
			break;
		p->sq_head = SQ_IDX(p->sq_head + 1);
		p->sq_len--;
		if (r->release != NULL)
			r->release(r->rctx);
	}
}

void
tcp_pcb_free(struct tcp_pcb *p, int reason)
{
	/* Give back every queued reference, acknowledged or not; those a
	   NIC still reads go when their frames complete (the pcb slot is
	   not reused until then, see pcb_alloc). */
	for (int i = 0; i < p->sq_len; i++) {
		struct tcp_sendref *r = &p->sq[SQ_IDX(p->sq_head + i)];
		r->acked = r->len;
	}
	p->sq_bytes = 0;
	tcp_sq_reap(p);
	ooo_clear(p);
	struct tcp_cbs cbs = p->cbs;
	void *ctx = p->ctx;
	bool notify = p->lst == NULL && cbs.closed != NULL;
	if (p->lst != NULL)
		p->lst->half_open--;
	p->lst = NULL;
	if (p->hashed)
		hash_remove(p->ns, p);
	p->state = TCP_CLOSED;
	if (notify)
		cbs.closed(ctx, p, reason);
}

/* RFC 9293 3.10.7.1: the RST answering a segment with no connection. */
static void
send_rst_reply(struct netstack *ns, uint32_t src, const uint8_t *seg, size_t dlen,
    uint8_t flags)
{
	uint16_t sport = rd16(seg), dport = rd16(seg + 2);
	uint32_t seq = rd32(seg + 4), ack = rd32(seg + 8);
	ns->tcp.st.resets_out++;
	if (flags & F_ACK)
		tcp_send_bare(ns, src, dport, sport, ack, 0, F_RST, 0);
	else
		tcp_send_bare(ns, src, dport, sport, 0,
		    seq + (uint32_t)dlen + ((flags & F_SYN) ? 1 : 0) + ((flags & F_FIN) ? 1 : 0),
		    F_RST | F_ACK, 0);
}

static struct tcp_pcb *
pcb_alloc(struct netstack *ns)
{
	for (int i = 0; i < TCP_MAX_PCBS; i++) {
		struct tcp_pcb *p = &ns->tcp.pcbs[i];
		if (p->state == TCP_CLOSED && p->sq_len == 0) {
			if (p->hashed)
				hash_remove(ns, p);
			memset(p, 0, sizeof(*p));
			return p;
		}
	}
	return NULL;
}

/* Fields every new connection starts with. */
static void
pcb_init(struct netstack *ns, struct tcp_pcb *p, uint32_t rip, uint16_t lport,
    uint16_t rport)
{
	p->ns = ns;
	p->rip = rip;
	p->lport = lport;
	p->rport = rport;
	p->iss = isn(ns, rip, lport, rport);
	p->snd_una = p->iss;
	p->snd_nxt = p->iss + 1;
	p->snd_max = p->snd_nxt;
	p->recover = p->iss;
	p->rtx_high = p->iss;	/* sequence space is relative: never leave these at 0 */
	p->mss = MSS_DEFAULT;
	p->rcv_buf = RCV_BUF;
	p->rto_ns = RTO_INIT_NS;
	p->ssthresh = 0xffffffffu;	/* RFC 5681 3.1: arbitrarily high */
	p->last_rx = ns_now(ns);
	hash_insert(ns, p);
}

/* Applies the options of the peer's SYN (RFC 7323 1.3, 2.2; RFC 2018 2). */
static void
apply_syn_opts(struct tcp_pcb *p, const struct tcp_opts *o)
{
	uint16_t mymss = (uint16_t)(p->ns->cfg.mtu - IP_HLEN - TCP_HLEN);
	p->mss = o->mss >= 64 ? o->mss : MSS_DEFAULT;
	if (p->mss > mymss)
		p->mss = mymss;
	p->ws_ok = o->wscale >= 0;
	p->snd_wscale = p->ws_ok ? (uint8_t)o->wscale : 0;
	p->rcv_wscale = p->ws_ok ? RCV_WSCALE : 0;
	if (!p->ws_ok)
		p->rcv_buf = 65535;	/* all an unscaled window can say */
	p->sack_ok = o->sack_ok;
	p->ts_ok = o->ts;
	if (o->ts)
		p->ts_recent = o->tsval;
	/* RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)). */
	p->cwnd = min32(10u * p->mss, max32(2u * p->mss, 14600));
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
	*free_slot = (struct tcp_listener){ port, 0, accept, ctx };
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
			if (p->state != TCP_CLOSED && p->lst == l)
				tcp_abort(p);
		}
		l->accept = NULL;
		l->ctx = NULL;
	}
}

int
tcp_connect(struct netstack *ns, uint32_t rip, uint16_t rport,
    const struct tcp_cbs *cbs, void *ctx, struct tcp_pcb **out)
{
	if (rport == 0 || rip == 0 || !ns->configured || cbs == NULL || out == NULL)
		return TERN_EINVAL;
	uint16_t lport;
	if (tcp_ephemeral_port(ns, rip, rport, &lport) != TERN_OK)
		return TERN_ENOMEM;
	struct tcp_pcb *p = pcb_alloc(ns);
	if (p == NULL)
		return TERN_ENOMEM;
	pcb_init(ns, p, rip, lport, rport);
	p->state = TCP_SYN_SENT;
	p->cbs = *cbs;
	p->ctx = ctx;
	p->cwnd = 10u * MSS_DEFAULT;
	p->rtt_seq = p->iss + 1;	/* time the handshake */
	p->rtt_start = ns_now(ns);
	tcp_arm(p, &p->rtx_deadline, ns_now(ns) + p->rto_ns);
	*out = p;
	tcp_send_syn(p);	/* a lost SYN is resent by the timer */
	return TERN_OK;
}

int
tcp_write(struct tcp_pcb *p, const void *data, size_t len,
    void (*release)(void *rctx), void *rctx)
{
	return tcp_write_ref(p, data, len, release, rctx, true);
}

int
tcp_write_ref(struct tcp_pcb *p, const void *data, size_t len,
    void (*release)(void *rctx), void *rctx, bool dma_ok)
{
	if (p->state != TCP_ESTABLISHED && p->state != TCP_CLOSE_WAIT &&
	    p->state != TCP_SYN_SENT && p->state != TCP_SYN_RCVD)
		return TERN_ENOTCONN;
	if (p->fin_queued)
		return TERN_ENOTCONN;
	if (p->sq_len == TCP_SENDQ)
		return TERN_EAGAIN;
	if (len == 0)
		return TERN_OK;
	if (len > UINT32_MAX)
		return TERN_EINVAL;
	struct tcp_sendref *r = &p->sq[SQ_IDX(p->sq_head + p->sq_len)];
	*r = (struct tcp_sendref){ data, release, rctx, (uint32_t)len, 0, 0, dma_ok };
	p->sq_len++;
	p->sq_bytes += len;
	tcp_output(p);
	return TERN_OK;
}

bool
tcp_writable(const struct tcp_pcb *p)
{
	return p->sq_len < TCP_SENDQ;
}

void
tcp_close(struct tcp_pcb *p)
{
	if (p->state == TCP_ESTABLISHED || p->state == TCP_CLOSE_WAIT) {
		p->fin_queued = true;
		tcp_output(p);
	} else if (p->state == TCP_SYN_SENT) {
		tcp_pcb_free(p, TERN_ECANCELED);	/* RFC 9293 3.10.4 */
	} else if (p->state == TCP_SYN_RCVD) {
		tcp_abort(p);
	}
}

void
tcp_abort(struct tcp_pcb *p)
{
	if (p->state == TCP_CLOSED)
		return;
	if (p->state != TCP_SYN_SENT) {
		p->ns->tcp.st.resets_out++;
		tcp_send_bare(p->ns, p->rip, p->lport, p->rport, p->snd_nxt, 0, F_RST, 0);
	}
	tcp_pcb_free(p, TERN_ECANCELED);
}

void
tcp_set_nodelay(struct tcp_pcb *p, bool on)
{
	p->nodelay = on;
	if (on)
		tcp_output(p);
}

void
tcp_set_keepalive(struct tcp_pcb *p, uint32_t idle_ms, uint32_t intvl_ms, uint8_t count)
{
	p->ka_idle_ns = MS_NS(idle_ms);
	p->ka_intvl_ns = MS_NS(intvl_ms == 0 ? 1000 : intvl_ms);
	p->ka_count = count == 0 ? 1 : count;
	p->ka_sent = 0;
	tcp_arm(p, &p->ka_deadline, idle_ms == 0 ? 0 : p->last_rx + p->ka_idle_ns);
}

void
tcp_set_rx_credit(struct tcp_pcb *p, bool on)
{
	p->rx_credit = on;
	if (!on)
		tcp_recved(p, p->rcv_held);
}

void
tcp_recved(struct tcp_pcb *p, size_t n)
{
	if (p->state == TCP_CLOSED)
		return;
	p->rcv_held -= n < p->rcv_held ? (uint32_t)n : p->rcv_held;
	/* RFC 1122 4.2.3.3: tell the peer when the window reopens from
	   below one MSS or grows by two segments. */
	uint32_t cur = SEQ_LT(p->rcv_nxt, p->rcv_adv) ? p->rcv_adv - p->rcv_nxt : 0;
	/* tcp_rcv_wnd is cur or at most the free space: with a segment
	   left in the window and less than two more free, no update. */
	uint32_t space = p->rcv_held >= p->rcv_buf ? 0 : p->rcv_buf - p->rcv_held;
	if (cur >= p->mss && space < cur + 2u * p->mss)
		return;
	uint32_t w = tcp_rcv_wnd(p);
	if (w > cur && (cur < p->mss || w - cur >= 2u * p->mss) &&
	    p->state != TCP_SYN_SENT && p->state != TCP_SYN_RCVD)
		tcp_send_ack(p);
}

/* RFC 6298 2.2-2.4 (r in ns). */
void
tcp_rtt_sample(struct tcp_pcb *p, uint64_t r)
{
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
}

/* Marks n newly acknowledged bytes in the queue, then releases what is
   done with. */
static void
sq_consume(struct tcp_pcb *p, uint32_t n)
{
	/* Sequence space of the SYN and FIN is not in the queue. */
	for (int i = 0; i < p->sq_len && n > 0; i++) {
		struct tcp_sendref *r = &p->sq[SQ_IDX(p->sq_head + i)];
		uint32_t left = r->len - r->acked;
		uint32_t k = n < left ? n : left;
		r->acked += k;
		p->sq_bytes -= k;
		n -= k;
	}
	tcp_sq_reap(p);
}

/* The peer acknowledged up to `ack`. */
static void
ack_advance(struct tcp_pcb *p, uint32_t ack, const struct tcp_opts *o)
{
	struct netstack *ns = p->ns;
	uint32_t n = ack - p->snd_una;
	p->snd_una = ack;
	if (SEQ_LT(p->snd_nxt, p->snd_una))
		p->snd_nxt = p->snd_una;
	sq_consume(p, n);
	tcp_sack_prune(p);
	/* RFC 7323 4.1: with timestamps every ACK that advances gives an
	   RTT sample from TSecr; without them, Karn's rule on one timed
	   segment. */
	if (p->ts_ok && o->ts && o->tsecr != 0) {
		uint32_t ms = tcp_now_ms(ns) - o->tsecr;
		if (ms < 600000)
			tcp_rtt_sample(p, MS_NS(ms));
		p->rtt_seq = 0;
	} else if (p->rtt_seq != 0 && SEQ_LEQ(p->rtt_seq, ack)) {
		tcp_rtt_sample(p, ns_now(ns) - p->rtt_start);
		p->rtt_seq = 0;
	}
	p->retries = 0;
	tcp_arm(p, &p->rtx_deadline, p->snd_una == p->snd_max ? 0 : ns_now(ns) + p->rto_ns);
	tcp_cong_on_ack(p, ack, n);
}

static struct tcp_pcb *
find_pcb(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport)
{
	struct tcp_state_all *t = &ns->tcp;
	uint16_t i = t->hash[tuple_hash(rip, lport, rport)];
	for (int n = 0; i != 0 && n < TCP_MAX_PCBS; n++) {
		struct tcp_pcb *p = &t->pcbs[i - 1];
		if (p->state != TCP_CLOSED && p->rip == rip && p->lport == lport &&
		    p->rport == rport)
			return p;
		i = p->hnext;
	}
	return NULL;
}

static struct tcp_listener *
find_listener(struct netstack *ns, uint16_t port)
{
	for (int i = 0; i < TCP_MAX_LISTEN; i++)
		if (ns->tcp.listen[i].accept != NULL && ns->tcp.listen[i].port == port)
			return &ns->tcp.listen[i];
	return NULL;
}

/* Listener full (RFC 4987 3.6): answer with a cookie and keep nothing. */
static void
send_cookie(struct netstack *ns, uint32_t src, const uint8_t *seg, const struct tcp_opts *o)
{
	uint16_t sport = rd16(seg), dport = rd16(seg + 2);
	uint32_t irs = rd32(seg + 4);
	uint16_t mymss = (uint16_t)(ns->cfg.mtu - IP_HLEN - TCP_HLEN);
	uint16_t mss = o->mss >= 64 ? o->mss : MSS_DEFAULT;
	if (mss > mymss)
		mss = mymss;
	uint32_t c = tcp_cookie_make(ns, src, dport, sport, irs, mss);
	if (tcp_send_cookie(ns, src, dport, sport, c, irs + 1, mss) == TERN_OK)
		ns->tcp.st.syn_cookies_sent++;
}

static void
passive_open(struct netstack *ns, struct tcp_listener *l, uint32_t src,
    const uint8_t *seg, const struct tcp_opts *o)
{
	uint16_t sport = rd16(seg), dport = rd16(seg + 2);
	struct tcp_pcb *p = l->half_open < TCP_SYN_BACKLOG ? pcb_alloc(ns) : NULL;
	if (p == NULL) {
		send_cookie(ns, src, seg, o);
		return;
	}
	pcb_init(ns, p, src, dport, sport);
	p->irs = rd32(seg + 4);
	p->rcv_nxt = p->irs + 1;
	apply_syn_opts(p, o);
	p->snd_wnd = p->max_sndwnd = rd16(seg + 14);	/* RFC 7323 2.2: never scaled in a SYN */
	p->snd_wl1 = p->irs;
	p->snd_wl2 = p->iss;
	p->state = TCP_SYN_RCVD;
	p->lst = l;	/* until accepted */
	l->half_open++;
	tcp_arm(p, &p->rtx_deadline, ns_now(ns) + p->rto_ns);
	tcp_send_syn(p);
}

/* The ACK of a cookie SYN-ACK: rebuild the connection if it is ours.
   Returns false if the segment is not a valid cookie ACK; *out is the
   new connection (NULL when no pcb was free: dropped, the peer retries). */
static bool
cookie_open(struct netstack *ns, struct tcp_listener *l, uint32_t src,
    const uint8_t *seg, uint8_t flags, struct tcp_pcb **out)
{
	*out = NULL;
	if ((flags & (F_SYN | F_RST | F_FIN | F_ACK)) != F_ACK)
		return false;
	uint16_t sport = rd16(seg), dport = rd16(seg + 2);
	uint32_t seq = rd32(seg + 4), ack = rd32(seg + 8);
	uint16_t mss = tcp_cookie_check(ns, src, dport, sport, seq - 1, ack);
	if (mss == 0) {
		ns->tcp.st.syn_cookies_bad++;
		return false;
	}
	struct tcp_pcb *p = pcb_alloc(ns);
	if (p == NULL) {
		ns->tcp.st.syn_dropped_full++;
		return true;	/* dropped; the peer retransmits */
	}
	pcb_init(ns, p, src, dport, sport);
	p->iss = ack - 1;
	p->snd_una = p->snd_nxt = p->snd_max = ack;
	p->recover = p->iss;
	p->rtx_high = p->iss;	/* sequence space is relative: never leave these at 0 */
	p->irs = seq - 1;
	p->rcv_nxt = seq;
	p->rcv_adv = seq + 65535;
	struct tcp_opts none = { .mss = mss, .wscale = -1 };
	apply_syn_opts(p, &none);
	p->snd_wnd = p->max_sndwnd = rd16(seg + 14);
	p->snd_wl1 = seq;
	p->snd_wl2 = ack;
	p->state = TCP_ESTABLISHED;
	ns->tcp.st.syn_cookies_ok++;
	ns->tcp.st.accepted++;
	l->accept(l->ctx, p);
	if (p->state != TCP_CLOSED)
		*out = p;
	return true;
}

/* A segment for no connection; returns the pcb a SYN cookie ACK just
   rebuilt (its data, if any, still to be processed), else NULL. */
static struct tcp_pcb *
no_pcb_input(struct netstack *ns, uint32_t src, const uint8_t *seg, size_t dlen,
    uint8_t flags, const struct tcp_opts *o)
{
	struct tcp_pcb *p;
	uint16_t sport = rd16(seg), dport = rd16(seg + 2);
	bool reopen;
	if (tcp_tw_input(ns, src, dport, sport, flags, rd32(seg + 4), dlen, &reopen) &&
	    !reopen)
		return NULL;
	if (flags & F_RST)
		return NULL;
	struct tcp_listener *l = find_listener(ns, dport);
	if (l != NULL && (flags & F_SYN) && !(flags & F_ACK)) {
		passive_open(ns, l, src, seg, o);
		return NULL;
	}
	if (l != NULL && cookie_open(ns, l, src, seg, flags, &p))
		return p != NULL && dlen > 0 ? p : NULL;
	send_rst_reply(ns, src, seg, dlen, flags);
	return NULL;
}

static void
established(struct tcp_pcb *p)
{
	struct netstack *ns = p->ns;
	p->state = TCP_ESTABLISHED;
	if (p->lst != NULL) {
		struct tcp_listener *l = p->lst;
		l->half_open--;
		p->lst = NULL;
		ns->tcp.st.accepted++;
		l->accept(l->ctx, p);
	} else {
		ns->tcp.st.connected++;
		if (p->cbs.connected != NULL)
			p->cbs.connected(p->ctx, p);
	}
}

/* RFC 9293 3.10.7.3: a segment to a connection in SYN_SENT. */
static void
syn_sent_input(struct tcp_pcb *p, const uint8_t *seg, uint8_t flags,
    const struct tcp_opts *o)
{
	struct netstack *ns = p->ns;
	uint32_t seq = rd32(seg + 4), ack = rd32(seg + 8);
	bool ack_ok = (flags & F_ACK) && ack == p->iss + 1;
	if ((flags & F_ACK) && !ack_ok) {
		if (!(flags & F_RST)) {
			ns->tcp.st.resets_out++;
			tcp_send_bare(ns, p->rip, p->lport, p->rport, ack, 0, F_RST, 0);
		}
		return;
	}
	if (flags & F_RST) {
		if (ack_ok) {
			ns->tcp.st.resets_in++;
			ns->tcp.st.connect_failed++;
			tcp_pcb_free(p, TERN_ECONNREFUSED);
		}
		return;
	}
	if (!(flags & F_SYN))
		return;
	p->irs = seq;
	p->rcv_nxt = seq + 1;
	p->rcv_adv = p->rcv_nxt;
	apply_syn_opts(p, o);
	p->snd_wnd = p->max_sndwnd = rd16(seg + 14);
	p->snd_wl1 = seq;
	p->snd_wl2 = ack;
	if (!ack_ok) {
		/* Simultaneous open (RFC 9293 3.5 figure 8): SYN-ACK, same ISS. */
		p->state = TCP_SYN_RCVD;
		p->rtt_seq = 0;
		tcp_send_syn(p);
		return;
	}
	p->snd_una = ack;
	if (p->rtt_seq != 0 && p->retries == 0)
		tcp_rtt_sample(p, ns_now(ns) - p->rtt_start);
	p->rtt_seq = 0;
	p->retries = 0;
	p->rtx_deadline = 0;
	tcp_send_ack(p);
	established(p);
	if (p->state != TCP_CLOSED)
		tcp_output(p);
}

/* RFC 9293 3.10.7.4 first check: does any of the segment fall in the
   window we advertised? */
static bool
acceptable(struct tcp_pcb *p, uint32_t seq, uint32_t slen)
{
	uint32_t wnd = SEQ_LT(p->rcv_nxt, p->rcv_adv) ? p->rcv_adv - p->rcv_nxt : 0;
	if (slen == 0) {
		if (wnd == 0)
			return seq == p->rcv_nxt;
		return SEQ_LEQ(p->rcv_nxt, seq) && SEQ_LT(seq, p->rcv_nxt + wnd);
	}
	if (wnd == 0)
		return false;
	uint32_t last = seq + slen - 1;
	return (SEQ_LEQ(p->rcv_nxt, seq) && SEQ_LT(seq, p->rcv_nxt + wnd)) ||
	    (SEQ_LEQ(p->rcv_nxt, last) && SEQ_LT(last, p->rcv_nxt + wnd));
}

/* Hands in-order bytes to the application (zero copy): with the driver's
   buffer b they lie in when they come straight from the frame being
   processed (NULL from the out-of-order queue or reassembly).  A chained
   frame's payload is handed over piece by piece, each with its buffer. */
static void
deliver(struct tcp_pcb *p, const uint8_t *data, size_t n, struct nic_buf *b)
{
	p->rcv_nxt += (uint32_t)n;
	if (p->rx_credit)
		p->rcv_held += (uint32_t)n;
	if (b != NULL && (data < b->data || data + n > b->data + b->len))
		b = NULL;
	if (p->cbs.recv != NULL &&
	    (p->state == TCP_ESTABLISHED || p->state == TCP_FIN_WAIT_1 ||
	    p->state == TCP_FIN_WAIT_2))
		p->cbs.recv(p->ctx, p, data, n, b);
}

/* Keeps a copy of an out-of-order segment (bounded; counted drops). */
static void
ooo_insert(struct tcp_pcb *p, uint32_t seq, const uint8_t *data, size_t n)
{
	struct tcp_state_all *t = &p->ns->tcp;
	p->ooo_last = seq;
	uint16_t *link = &p->ooo_head;
	while (*link != 0) {
		const struct tcp_ooo *q = &t->ooo[*link - 1];
		if (SEQ_LEQ(q->seq, seq) && SEQ_LEQ(seq + (uint32_t)n, q->seq + q->len))
			return;		/* a duplicate of what we hold */
		if (SEQ_LT(seq, q->seq))
			break;
		link = &t->ooo[*link - 1].next;
	}
	int slot = -1;
	for (int i = 0; i < TCP_OOO_SLOTS && slot < 0; i++)
		if (!t->ooo_used[i])
			slot = i;
	if (p->ooo_n >= TCP_OOO_MAX || slot < 0 || n > TCP_OOO_SLOT_SIZE) {
		t->st.ooo_dropped++;
		return;
	}
	t->ooo[slot] = (struct tcp_ooo){ seq, (uint16_t)n, *link };
	*link = (uint16_t)(slot + 1);
	p->ooo_n++;
	t->ooo_used[slot] = true;
	memcpy(t->ooo_buf[slot], data, n);
	t->st.ooo_copied += n;
}

/* Delivers queued segments that the new rcv_nxt made contiguous. */
static void
ooo_drain(struct tcp_pcb *p)
{
	struct tcp_state_all *t = &p->ns->tcp;
	while (p->ooo_head != 0 && SEQ_LEQ(t->ooo[p->ooo_head - 1].seq, p->rcv_nxt) &&
	    p->state != TCP_CLOSED) {
		int slot = p->ooo_head - 1;
		struct tcp_ooo q = t->ooo[slot];
		p->ooo_head = q.next;
		p->ooo_n--;
		uint32_t skip = p->rcv_nxt - q.seq;
		if (skip < q.len)
			deliver(p, t->ooo_buf[slot] + skip, q.len - skip, NULL);
		t->ooo_used[slot] = false;	/* after the callback used the bytes */
	}
}

/* RFC 9293 3.10.7.4 eighth step: our FIN state after the peer's FIN. */
static bool
fin_input(struct tcp_pcb *p)
{
	p->rcv_nxt++;
	p->fin_rcvd = true;
	if (p->state == TCP_ESTABLISHED) {
		p->state = TCP_CLOSE_WAIT;
		if (p->cbs.recv != NULL)
			p->cbs.recv(p->ctx, p, NULL, 0, NULL);
		return p->state != TCP_CLOSED;
	}
	if (p->state == TCP_FIN_WAIT_1) {
		p->state = TCP_CLOSING;		/* simultaneous close */
	} else if (p->state == TCP_FIN_WAIT_2) {
		tcp_send_ack(p);
		tcp_tw_add(p);
		tcp_pcb_free(p, TERN_OK);
		return false;
	}
	return true;
}

/* Data and FIN of an acceptable segment; returns false if p is gone. */
static bool
data_input(struct tcp_pcb *p, uint32_t seq, const uint8_t *data, size_t dlen,
    uint8_t flags)
{
	struct tcp_state_all *t = &p->ns->tcp;
	if (p->state != TCP_ESTABLISHED && p->state != TCP_FIN_WAIT_1 &&
	    p->state != TCP_FIN_WAIT_2) {
		if (dlen > 0 || (flags & F_FIN))
			tcp_send_ack(p);	/* after their FIN: nothing new is valid */
		return true;
	}
	/* Trim what we already have and what lies beyond the window.  The
	   data is `off` bytes into the segment's payload at `data`, which
	   may continue past the first buffer of a chained frame (ns_rx_piece
	   walks it). */
	size_t off = 0;
	const size_t total = dlen;
	if (SEQ_LT(seq, p->rcv_nxt)) {
		uint32_t skip = p->rcv_nxt - seq;
		if (skip > dlen) {
			tcp_send_ack(p);	/* only old data */
			return true;
		}
		off = skip;
		dlen -= skip;
		seq += skip;
	}
	uint32_t wnd = SEQ_LT(p->rcv_nxt, p->rcv_adv) ? p->rcv_adv - p->rcv_nxt : 0;
	uint32_t room = wnd - (seq - p->rcv_nxt);
	bool trimmed = dlen > room;
	if (trimmed) {
		dlen = room;
		flags &= (uint8_t)~F_FIN;
		t->st.outside_window++;
	}
	if (seq != p->rcv_nxt) {
		t->st.out_of_order++;
		for (size_t k = off, n; k < off + dlen; k += n) {
			const uint8_t *d;
			struct nic_buf *b;
			n = ns_rx_piece(p->ns, data, total, k, &d, &b);
			if (n == 0)
				break;
			n = n < off + dlen - k ? n : off + dlen - k;
			ooo_insert(p, seq + (uint32_t)(k - off), d, n);
		}
		tcp_send_ack(p);	/* RFC 5681 4.2: at once on a gap */
		return true;
	}
	bool had_gap = p->ooo_n > 0;
	if (dlen > 0) {
		for (size_t k = off, n; k < off + dlen; k += n) {
			const uint8_t *d;
			struct nic_buf *b;
			n = ns_rx_piece(p->ns, data, total, k, &d, &b);
			if (n == 0)
				break;
			n = n < off + dlen - k ? n : off + dlen - k;
			deliver(p, d, n, b);
			if (p->state == TCP_CLOSED)
				return false;
		}
		ooo_drain(p);
		if (p->state == TCP_CLOSED)
			return false;
	}
	if (flags & F_FIN) {
		if (!fin_input(p))
			return false;
		tcp_send_ack(p);
		return true;
	}
	if (dlen == 0)
		return true;
	/* RFC 1122 4.2.3.2 / RFC 5681 4.2: ACK every second full segment,
	   at once when a gap filled, else within DELACK_NS.  A window that
	   fell below one segment is announced at once too.  "Full" is the
	   largest segment seen: the peer's options (timestamps) make it
	   shorter than the MSS. */
	if (dlen > p->rcv_mss)
		p->rcv_mss = (uint16_t)min32((uint32_t)dlen, 65535);
	p->delack_bytes += (uint32_t)dlen;
	/* tcp_rcv_wnd is at least what is left of the advertised window,
	   rounded down to the scale: room for a segment beyond that needs
	   no call. */
	uint32_t left = SEQ_LT(p->rcv_nxt, p->rcv_adv) ? p->rcv_adv - p->rcv_nxt : 0;
	if (had_gap || trimmed || p->delack_bytes >= 2u * max32(p->rcv_mss, MSS_DEFAULT) ||
	    (left < (uint32_t)p->mss + (1u << p->rcv_wscale) && tcp_rcv_wnd(p) < p->mss))
		tcp_send_ack(p);
	else if (p->delack_deadline == 0)
		tcp_arm(p, &p->delack_deadline, ns_now(p->ns) + DELACK_NS);
	return true;
}

/* RFC 5961 7: challenge ACKs are rate limited (per stack), so a flood
   of forged RSTs or SYNs cannot turn us into an ACK amplifier. */
static void
challenge_ack(struct tcp_pcb *p)
{
	struct tcp_state_all *t = &p->ns->tcp;
	uint64_t sec = ns_now(p->ns) / 1000000000ULL;
	if (sec != t->challenge_sec) {
		t->challenge_sec = sec;
		t->challenge_left = TCP_CHALLENGE_PER_S;
	}
	t->st.challenge_acks++;
	if (t->challenge_left == 0) {
		t->st.challenge_limited++;
		return;
	}
	t->challenge_left--;
	tcp_send_ack(p);
}

/* Our FIN acknowledged: the state it moves us to; false if p is gone. */
static bool
fin_acked(struct tcp_pcb *p)
{
	if (p->state == TCP_FIN_WAIT_1) {
		p->state = TCP_FIN_WAIT_2;
		tcp_arm(p, &p->fw2_deadline, ns_now(p->ns) + FIN_WAIT2_NS);
	} else if (p->state == TCP_CLOSING) {
		tcp_tw_add(p);
		tcp_pcb_free(p, TERN_OK);
		return false;
	} else if (p->state == TCP_LAST_ACK) {
		tcp_pcb_free(p, TERN_OK);
		return false;
	}
	return true;
}

/* The ACK field of a synchronized connection; false if p is gone or the
   segment must go no further. */
static bool
ack_input(struct tcp_pcb *p, const uint8_t *seg, uint32_t seq, uint32_t ack,
    size_t dlen, uint8_t flags, const struct tcp_opts *o)
{
	/* RFC 5961 5.2: acceptable ACKs lie in [snd_una - max window, snd_max]. */
	uint32_t maxwnd = max32(p->snd_wnd, 65535);
	if (SEQ_LT(p->snd_max, ack) || SEQ_LT(ack, p->snd_una - maxwnd)) {
		challenge_ack(p);
		return false;
	}
	if (p->state == TCP_SYN_RCVD) {
		if (ack != p->iss + 1) {
			send_rst_reply(p->ns, p->rip, seg, dlen, flags);
			return false;
		}
		p->snd_una = ack;
		p->rtx_deadline = 0;
		p->retries = 0;
		established(p);
		if (p->state == TCP_CLOSED)
			return false;
	}
	/* RFC 7323 2.2: the window of a SYN (simultaneous open's SYN-ACK)
	   is never scaled. */
	uint32_t wnd = (uint32_t)rd16(seg + 14) << ((flags & F_SYN) ? 0 : p->snd_wscale);
	/* RFC 5681 2 duplicate ACK; RFC 6675 2 counts one that SACKs new
	   data as duplicate even if the window changed. */
	bool newsack = p->sack_ok && o->nsack > 0 && tcp_sack_update(p, o);
	bool dup = ack == p->snd_una && dlen == 0 && !(flags & F_FIN) &&
	    (wnd == p->snd_wnd || newsack) && p->snd_max != p->snd_una;
	if (SEQ_LT(p->snd_una, ack))
		ack_advance(p, ack, o);
	else if (dup)
		tcp_cong_on_dupack(p);
	if (p->state == TCP_CLOSED)
		return false;
	/* RFC 9293 3.10.7.4: update the window from newer segments only. */
	if (SEQ_LT(p->snd_wl1, seq) || (p->snd_wl1 == seq && SEQ_LEQ(p->snd_wl2, ack))) {
		p->snd_wnd = wnd;
		p->max_sndwnd = max32(p->max_sndwnd, wnd);
		p->snd_wl1 = seq;
		p->snd_wl2 = ack;
		if (wnd > 0)
			p->persist_deadline = 0;
	}
	if (p->fin_sent && ack == p->snd_max)
		return fin_acked(p);
	return true;
}

/* RFC 5961 3.2 and 4.2; returns false when the segment is consumed. */
static bool
rst_syn_input(struct tcp_pcb *p, uint32_t seq, uint8_t flags)
{
	struct tcp_state_all *t = &p->ns->tcp;
	if (flags & F_RST) {
		t->st.resets_in++;
		uint32_t wnd = max32(p->rcv_adv - p->rcv_nxt, 1);
		if (seq == p->rcv_nxt) {
			tcp_pcb_free(p, TERN_ECONNRESET);
		} else if (SEQ_LT(p->rcv_nxt, seq) && SEQ_LT(seq, p->rcv_nxt + wnd)) {
			challenge_ack(p);
		}
		return false;
	}
	if (flags & F_SYN) {
		if (p->state == TCP_SYN_RCVD && seq == p->irs && !(flags & F_ACK)) {
			tcp_send_syn(p);	/* our SYN-ACK was lost */
			return false;
		}
		if (p->state == TCP_SYN_RCVD && p->lst == NULL && (flags & F_ACK) &&
		    seq == p->irs)
			return true;	/* simultaneous open: their SYN-ACK */
		challenge_ack(p);
		return false;
	}
	return true;
}

/* RFC 7323 5.3: drop a segment whose timestamp went backwards. */
static bool
paws_ok(struct tcp_pcb *p, uint32_t seq, const struct tcp_opts *o)
{
	if (!p->ts_ok || !o->ts)
		return true;
	if (SEQ_LT(o->tsval, p->ts_recent)) {
		p->ns->tcp.st.paws_dropped++;
		tcp_send_ack(p);
		return false;
	}
	/* RFC 7323 4.3: remember it if the segment starts at or before
	   the left window edge. */
	if (SEQ_LEQ(seq, p->rcv_nxt))
		p->ts_recent = o->tsval;
	return true;
}

static void
pcb_input(struct tcp_pcb *p, const uint8_t *seg, size_t hl, size_t len,
    const struct tcp_opts *o)
{
	uint8_t flags = seg[13];
	uint32_t seq = rd32(seg + 4), ack = rd32(seg + 8);
	size_t dlen = len - hl;
	p->last_rx = ns_now(p->ns);
	if (p->state == TCP_FIN_WAIT_2)
		tcp_arm(p, &p->fw2_deadline, p->last_rx + FIN_WAIT2_NS);
	p->ka_sent = 0;
	if (p->ka_idle_ns != 0)
		tcp_arm(p, &p->ka_deadline, p->last_rx + p->ka_idle_ns);
	if (p->state == TCP_SYN_SENT) {
		syn_sent_input(p, seg, flags, o);
		return;
	}
	if (!rst_syn_input(p, seq, flags))
		return;
	if (!paws_ok(p, seq, o))
		return;
	bool synack = (flags & F_SYN) != 0;	/* simultaneous open only */
	uint32_t slen = (uint32_t)dlen + ((flags & F_FIN) ? 1 : 0);
	if (!synack && !acceptable(p, seq, slen)) {
		p->ns->tcp.st.outside_window++;
		tcp_send_ack(p);
		return;
	}
	if (!(flags & F_ACK))
		return;
	if (!ack_input(p, seg, seq, ack, dlen, flags, o))
		return;
	if (synack) {
		tcp_send_ack(p);
		tcp_output(p);
		return;
	}
	if ((dlen > 0 || (flags & F_FIN)) && !data_input(p, seq, seg + hl, dlen, flags))
		return;
	tcp_output(p);
}

void
ns_tcp_input(struct netstack *ns, uint32_t src, uint32_t dst, const uint8_t *seg,
    size_t len, bool csum_ok)
{
	struct tcp_state_all *t = &ns->tcp;
	if (len < TCP_HLEN || ns_rx_contig(ns, seg, len) < TCP_HLEN ||
	    (!csum_ok && ns_l4_csum_bad(ns, seg, len,
	    tcp_pseudo(src, dst, len)))) {
		t->st.bad_csum++;
		return;
	}
	size_t hl = (size_t)(seg[12] >> 4) * 4;
	if (hl < TCP_HLEN || hl > len || hl > ns_rx_contig(ns, seg, len)) {
		t->st.bad_csum++;
		return;
	}
	t->st.segs_in++;
	struct tcp_opts o;
	parse_opts(seg, hl, &o);
	struct tcp_pcb *p = find_pcb(ns, src, rd16(seg + 2), rd16(seg));
	if (p == NULL)
		p = no_pcb_input(ns, src, seg, len - hl, seg[13], &o);
	if (p != NULL)
		pcb_input(p, seg, hl, len, &o);
}

/* The earliest deadline p's timers still have (UINT64_MAX: none), as
   tcp_pcb_timers reads them. */
static uint64_t
pcb_next_due(const struct tcp_pcb *p)
{
	uint64_t d = UINT64_MAX;
	if (p->state == TCP_FIN_WAIT_2 && p->fw2_deadline < d)
		d = p->fw2_deadline;
	if (p->delack_deadline != 0 && p->delack_deadline < d)
		d = p->delack_deadline;
	if (p->rtx_deadline != 0 && p->rtx_deadline < d)
		d = p->rtx_deadline;
	if (p->persist_deadline != 0 && p->persist_deadline < d)
		d = p->persist_deadline;
	if (p->ka_idle_ns != 0 && p->ka_deadline != 0 && p->ka_deadline < d)
		d = p->ka_deadline;
	return d;
}

/* Every live pcb's timers, and next_due from what they leave armed.
   Out of line: the usual early return in ns_tcp_timers stays cheap. */
static __attribute__((noinline)) void
timer_scan(struct tcp_state_all *t, uint64_t now)
{
	t->full_ns = now;
	t->next_due = UINT64_MAX;
	t->st.timer_scans++;
	for (int w = 0; w < TCP_MAX_PCBS / 64; w++) {
		uint64_t bits = t->live[w];
		while (bits != 0) {
			int b = __builtin_ctzll(bits);
			bits &= bits - 1;
			struct tcp_pcb *p = &t->pcbs[w * 64 + b];
			if (p->state == TCP_CLOSED)
				continue;
			tcp_pcb_timers(p, now);
			if (p->state == TCP_CLOSED)
				continue;
			uint64_t d = pcb_next_due(p);
			if (d < t->next_due)
				t->next_due = d;
		}
	}
}

void
ns_tcp_timers(struct netstack *ns)
{
	struct tcp_state_all *t = &ns->tcp;
	uint64_t now = ns_now(ns);
	if (now < t->next_due && now - t->full_ns < TCP_SCAN_MAX_NS && now >= t->full_ns)
		return;
	timer_scan(t, now);
}

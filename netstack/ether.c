/*
 * ether.c - Ethernet II framing, the transmit buffer pool, frame input
 * dispatch and the netstack's attach/poll entry points.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "netstack/ns_var.h"

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void
ns_log(struct netstack *ns, int level, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	if (ns->port.log == NULL)
		return;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ns->port.log(ns->port.ctx, level, buf);
}

static void
txbuf_release(struct nic_buf *b)
{
	ns_txbuf_put(b->owner);
}

struct ns_txbuf *
ns_txbuf_get(struct netstack *ns)
{
	for (int i = 0; i < NS_TXBUFS; i++) {
		struct ns_txbuf *tb = &ns->txbufs[i];
		if (!tb->busy) {
			tb->busy = true;
			tb->nb = (struct nic_buf){ .data = tb->data, .len = 0,
				.cap = NS_TXBUF_SIZE, .release = txbuf_release, .owner = tb };
			return tb;
		}
	}
	ns_drop(ns, ND_NO_TXBUF);
	ns->txbuf_short = true;
	return NULL;
}

void
ns_txbuf_put(struct ns_txbuf *tb)
{
	tb->busy = false;
	if (tb->ns != NULL && tb->ns->txbuf_short)
		tb->ns->txbuf_back = true;
}

/*
 * Describe a frame for the NIC (kernel/dev/nic.h, TX metadata v2): the
 * offsets and protocol of an IPv4 frame's headers, nothing asked of the
 * device.  Callers that want an offload add their flags.
 */
void
ns_tx_meta(const uint8_t *f, size_t len, struct nic_tx_meta *m)
{
	*m = (struct nic_tx_meta){ 0 };
	if (len < ETH_HLEN + IP_HLEN || rd16(f + 12) != ETH_P_IP)
		return;
	size_t hl = (size_t)(f[ETH_HLEN] & 0x0f) * 4;
	m->l3_off = ETH_HLEN;
	if (hl < IP_HLEN || ETH_HLEN + hl > len)
		return;
	uint8_t proto = f[ETH_HLEN + 9];
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		m->l4_off = (uint16_t)(ETH_HLEN + hl);
		m->l4_proto = proto;
	}
}

/*
 * The transmit queue of a frame (kernel/dev/nic.h: a NIC has nqueues):
 * a hash of the IPv4 addresses and, for TCP and UDP, the ports, so every
 * frame of one connection leaves on the same queue and connections
 * spread over all of them; anything else (ARP, fragments' later pieces
 * carry no ports and hash by address only) and a one-queue NIC use 0.
 * The device steers the answers by its own hash (a multi-queue TAP: to
 * the queue the flow was last sent on).
 */
int
ns_tx_queue(const struct netstack *ns, const uint8_t *f, size_t len)
{
	int nq = ns->nic != NULL ? ns->nic->nqueues : 1;
	if (nq <= 1 || len < ETH_HLEN + IP_HLEN || rd16(f + 12) != ETH_P_IP)
		return 0;
	const uint8_t *ip = f + ETH_HLEN;
	size_t hl = (size_t)(ip[0] & 0x0f) * 4;
	uint32_t h = rd32(ip + 12) ^ rd32(ip + 16);
	bool first = (rd16(ip + 6) & 0x1fff) == 0;
	if ((ip[9] == IPPROTO_TCP || ip[9] == IPPROTO_UDP) && first && hl >= IP_HLEN &&
	    ETH_HLEN + hl + 4 <= len)
		h ^= rd32(ip + hl) * 0x9e3779b1u;
	/* Mix so neighbouring ports land on different queues. */
	h ^= h >> 16;
	h *= 0x45d9f3bu;
	h ^= h >> 16;
	return (int)(h % (uint32_t)nq);
}

/*
 * The one place the stack calls nic_tx.  A queue of a NIC with tx_wakes
 * that refused a frame (TERN_EAGAIN) waits: nothing more is offered to
 * it until the NIC's tx_ready for it (ns_tx_ready), or NS_TX_WAIT_NS
 * (netstack_poll), so a full ring costs one refused call, not one per
 * frame.  A NIC without tx_wakes is asked every time, as before.
 */
int
ns_nic_tx(struct netstack *ns, int q, struct nic_buf *nb,
    const struct nic_tx_meta *m)
{
	if (q < 0 || q >= NIC_MAX_QUEUES)
		q = 0;
	uint32_t bit = 1u << q;
	if (ns->tx_blocked & bit) {
		ns->cnt.tx_held++;
		return TERN_EAGAIN;
	}
	int rc = nic_tx(ns->nic, q, nb, m);
	if (rc == TERN_EAGAIN && ns->nic->tx_wakes) {
		ns->tx_blocked |= bit;
		ns->tx_blocked_ns[q] = ns_now(ns);
		ns->cnt.tx_waits++;
	}
	return rc;
}

/* The NIC's tx_ready up-call (from its poll): queue q takes frames. */
static void
ns_tx_ready(void *upper, int q)
{
	struct netstack *ns = upper;
	if (q < 0 || q >= NIC_MAX_QUEUES || !(ns->tx_blocked & 1u << q))
		return;
	uint32_t bit = 1u << q;
	ns->tx_blocked &= ~bit;
	ns->cnt.tx_wakeups++;
	ns_tcp_tx_resume(ns);
}

/*
 * Hand one frame to the NIC.  A refused frame (ring full, or no NIC
 * bound) is dropped and counted, never retried here: polling the NIC to
 * make room would deliver received frames and re-enter netstack_input
 * from inside itself (kernel/dev/nic.h's re-entrancy rule).  Whoever sent
 * it recovers as on a lossy wire: TCP resumes from the NIC's tx_ready
 * (ns_nic_tx) or retransmits from its timers, ARP, DHCP and DNS retry
 * from theirs.
 */
int
ns_eth_xmit_meta(struct netstack *ns, struct ns_txbuf *tb, size_t len,
    const struct nic_tx_meta *meta)
{
	if (len < 60) {		/* pad to the Ethernet minimum */
		memset(tb->data + len, 0, 60 - len);
		len = 60;
	}
	tb->nb.len = (uint32_t)len;
	tb->nb.next = NULL;
	if (ns->nic == NULL) {
		ns_drop(ns, ND_NO_NIC);
		ns_txbuf_put(tb);
		return TERN_ENODEV;
	}
	struct nic_tx_meta m;
	if (meta == NULL) {
		ns_tx_meta(tb->data, len, &m);
		meta = &m;
	}
	int rc = ns_nic_tx(ns, ns_tx_queue(ns, tb->data, len), &tb->nb, meta);
	if (rc != TERN_OK) {
		ns_drop(ns, rc == TERN_EAGAIN ? ND_TX_RING_FULL : ND_NO_NIC);
		ns_txbuf_put(tb);
		return rc;
	}
	ns->cnt.tx_frames++;
	return TERN_OK;
}

int
ns_eth_xmit(struct netstack *ns, struct ns_txbuf *tb, size_t len)
{
	return ns_eth_xmit_meta(ns, tb, len, NULL);
}

int
ns_eth_send_ip(struct netstack *ns, struct ns_txbuf *tb, size_t len, uint32_t next_hop)
{
	uint8_t *e = tb->data;
	memcpy(e + 6, ns->mac, 6);
	wr16(e + 12, ETH_P_IP);
	if (next_hop == 0xffffffffu) {
		memcpy(e, bcast, 6);
		return ns_eth_xmit(ns, tb, len);
	}
	const uint8_t *mac = ns_arp_lookup(ns, next_hop);
	if (mac != NULL) {
		memcpy(e, mac, 6);
		return ns_eth_xmit(ns, tb, len);
	}
	/* Park it until the ARP reply arrives (bounded queue). */
	for (int i = 0; i < NS_ARP_PENDING; i++) {
		struct ns_pending *p = &ns->pending[i];
		if (p->tb == NULL) {
			tb->nb.len = (uint32_t)len;
			p->tb = tb;
			p->next_hop = next_hop;
			p->queued_ns = ns_now(ns);
			if (p->queued_ns + ARP_PENDING_NS + 1 < ns->arp_next_ns)
				ns->arp_next_ns = p->queued_ns + ARP_PENDING_NS + 1;
			ns_arp_request(ns, next_hop);
			return TERN_OK;
		}
	}
	ns_drop(ns, ND_ARP_QUEUE_FULL);
	ns_txbuf_put(tb);
	return TERN_EAGAIN;
}

void
netstack_input(void *upper, struct nic_buf *b)
{
	struct netstack *ns = upper;
	const uint8_t *f = b->data;
	size_t len = 0;

	/* A chain (kernel/dev/nic.h): the frame is every buffer's bytes;
	   the parsers read headers from the first and walk the rest. */
	for (const struct nic_buf *c = b; c != NULL; c = c->next)
		len += c->len;
	ns->cnt.rx_frames++;
	ns->rx_cur = b;
	if (b->len < ETH_HLEN) {
		ns_drop(ns, ND_SHORT);
	} else if (memcmp(f, ns->mac, 6) != 0 && memcmp(f, bcast, 6) != 0) {
		ns_drop(ns, ND_NOT_FOR_US);
	} else {
		uint16_t type = rd16(f + 12);
		if (type == ETH_P_ARP && b->next != NULL)
			ns_drop(ns, ND_RX_CHAIN);
		else if (type == ETH_P_ARP)
			ns_arp_input(ns, f + ETH_HLEN, len - ETH_HLEN);
		else if (type == ETH_P_IP)
			ns_ip_input(ns, f + ETH_HLEN, len - ETH_HLEN, b);
		else
			ns_drop(ns, ND_ETHERTYPE);
	}
	ns->rx_cur = NULL;
	nic_buf_release_chain(b);	/* each buffer its own reference */
}

int
netstack_attach(struct netstack *ns, struct nic *nic,
    const struct netstack_port *port, struct ns_txbuf *txmem)
{
	memset(ns, 0, sizeof(*ns));
	ns->nic = nic;
	memcpy(ns->mac, nic->mac, 6);
	ns->port = *port;
	ns->txbufs = txmem;
	memset(txmem, 0, sizeof(*txmem) * NS_TXBUFS);
	for (int i = 0; i < NS_TXBUFS; i++)
		txmem[i].ns = ns;	/* its release tells the stack */
	ns->cfg.mtu = nic->mtu;
	ns->ip_id = (uint16_t)port->random(port->ctx);
	tcp_keys(ns);	/* secrets first thing: never drawn on a packet path */
	nic->upper = ns;
	nic->rx = netstack_input;
	nic->tx_ready = ns_tx_ready;
	return TERN_OK;
}

void
netstack_nic_removed(struct netstack *ns, struct nic *nic)
{
	if (nic == NULL || nic != ns->nic)
		return;
	/* Frames parked for ARP were meant for this NIC's ring; they are
	   the stack's buffers, so give them back now (their senders retry). */
	for (int i = 0; i < NS_ARP_PENDING; i++) {
		if (ns->pending[i].tb != NULL) {
			ns_drop(ns, ND_NO_NIC);
			ns_txbuf_put(ns->pending[i].tb);
			ns->pending[i].tb = NULL;
		}
	}
	nic->rx = NULL;
	nic->tx_ready = NULL;
	nic->upper = NULL;
	ns->nic = NULL;
	ns->tx_blocked = 0;	/* a new NIC's queues wait for nothing */
	ns_log(ns, 1, "nic %s removed: connections wait for it to return",
	    nic->name);
}

int
netstack_nic_added(struct netstack *ns, struct nic *nic)
{
	if (ns->nic != NULL)
		return nic == ns->nic ? TERN_OK : TERN_EBUSY;
	if (memcmp(nic->mac, ns->mac, 6) != 0)
		return TERN_ENODEV;
	ns->nic = nic;
	nic->upper = ns;
	nic->rx = netstack_input;
	nic->tx_ready = ns_tx_ready;
	/* The MTU stays what was configured (DHCP may have lowered it); a
	   smaller NIC MTU wins. */
	if (nic->mtu < ns->cfg.mtu)
		ns->cfg.mtu = nic->mtu;
	ns->nic_rebinds++;
	ns_log(ns, 1, "nic %s rebound", nic->name);
	return TERN_OK;
}

int
netstack_poll(struct netstack *ns)
{
	int done = 0;
	uint64_t rx0 = ns->cnt.rx_frames;
	bool waiting = ns->tx_blocked != 0 || ns->txbuf_short;
	bool held = ns->clock_held;
	ns->clock_ns = ns->port.now_ns(ns->port.ctx);
	ns->clock_held = true;
	/* Every RX queue, one after the other: they all belong to this
	   CPU today (kernel/dev/nic.h).  Nothing below polls again. */
	if (ns->nic != NULL) {
		struct nic *n = ns->nic;
		int nq = n->nqueues > 0 ? n->nqueues : 1;
		for (int q = 0; q < nq && ns->nic == n; q++)
			done += nic_poll_queue(n, q, 64);
	}
	if (ns->txbuf_back) {
		/* Released by this pass's transmit completions: the
		   connections refused for want of one send now. */
		ns->txbuf_back = false;
		ns->txbuf_short = false;
		ns->cnt.txbuf_wakeups++;
		ns_tcp_tx_resume(ns);
	}
	uint64_t now = ns->clock_ns;
	if (ns->timers_due || now - ns->timers_ns >= NS_TIMER_TICK_NS ||
	    now < ns->timers_ns) {
		ns->timers_due = false;
		ns->timers_ns = now;
		ns->cnt.timer_scans++;
		ns_arp_timers(ns);
		ns_dhcp_timers(ns);
		ns_frag_timers(ns);
		ns_dns_timers(ns);
		for (int q = 0; ns->tx_blocked != 0 && q < NIC_MAX_QUEUES; q++) {
			if (!(ns->tx_blocked & 1u << q) ||
			    now - ns->tx_blocked_ns[q] < NS_TX_WAIT_NS)
				continue;
			/* Bounded: a NIC that never says tx_ready. */
			ns_log(ns, 1, "nic queue %d: no tx_ready in %llu ms; sending again",
			    q, (unsigned long long)(NS_TX_WAIT_NS / 1000000));
			ns->tx_blocked &= ~(1u << q);
			ns->cnt.tx_wait_expired++;
			ns_tcp_tx_resume(ns);
		}
		ns_tcp_timers(ns);
	}
	ns->clock_held = held;
	/* Transmit completions only give buffers back (a thread waiting
	   for one is woken by its release); they are worth another pass at
	   once only to a queue waiting for room. */
	int rx = (int)(ns->cnt.rx_frames - rx0);
	return waiting ? done : rx;
}

int
netstack_idle_check(struct netstack *ns)
{
	int pending;
	if (ns->nic == NULL || ns->tx_blocked != 0 || ns->txbuf_short ||
	    (pending = nic_rx_pending(ns->nic)) < 0)
		return netstack_poll(ns);
	return pending;
}

int
netstack_udp_bind(struct netstack *ns, uint16_t port, netstack_udp_fn fn, void *ctx)
{
	for (int i = 0; i < NS_UDP_PORTS; i++)
		if (ns->udp[i].fn != NULL && ns->udp[i].port == port)
			return TERN_EADDRINUSE;
	for (int i = 0; i < NS_UDP_PORTS; i++) {
		if (ns->udp[i].fn == NULL) {
			ns->udp[i].port = port;
			ns->udp[i].fn = fn;
			ns->udp[i].ctx = ctx;
			return TERN_OK;
		}
	}
	return TERN_ENOMEM;
}

void
netstack_udp_unbind(struct netstack *ns, uint16_t port)
{
	for (int i = 0; i < NS_UDP_PORTS; i++)
		if (ns->udp[i].fn != NULL && ns->udp[i].port == port)
			ns->udp[i].fn = NULL;
}

void
ns_format_ipv4(char *buf, size_t n, uint32_t ip)
{
	ksnprintf(buf, n, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int
ns_parse_ipv4(const char *s, size_t len, uint32_t *ip, int *prefix)
{
	uint32_t v = 0, part = 0;
	int parts = 0, digits = 0;
	size_t i = 0;
	for (; i < len && s[i] != '/'; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9') {
			part = part * 10 + (uint32_t)(c - '0');
			if (++digits > 3 || part > 255)
				return -1;
		} else if (c == '.' && digits > 0 && parts < 3) {
			v = v << 8 | part;
			parts++;
			part = 0;
			digits = 0;
		} else {
			return -1;
		}
	}
	if (parts != 3 || digits == 0)
		return -1;
	*ip = v << 8 | part;
	if (prefix != NULL) {
		*prefix = -1;
		if (i < len) {
			int p = 0, d = 0;
			for (i++; i < len; i++) {
				if (s[i] < '0' || s[i] > '9' || ++d > 2)
					return -1;
				p = p * 10 + (s[i] - '0');
			}
			if (d == 0 || p > 32)
				return -1;
			*prefix = p;
		}
	} else if (i < len) {
		return -1;
	}
	return 0;
}

int
ns_parse_ipv4_list(const char *s, size_t len, uint32_t *out, int max)
{
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		if (n >= max || ns_parse_ipv4(s + start, i - start, &out[n], NULL) != 0)
			return -1;
		n++;
		start = i + 1;
	}
	return n;
}

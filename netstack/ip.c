/*
 * ip.c - IPv4 (RFC 791), ICMP echo (RFC 792) and UDP (RFC 768).
 *
 * Input checks, in order: version 4, header length 20..60 within the
 * frame, header checksum, total length within the frame (trailing
 * Ethernet padding ignored), destination ours or broadcast.  Fragments go
 * to ipfrag.c and come back through ns_ip_deliver() once complete.  ICMP
 * echo requests are answered with the same identifier, sequence and data.
 * TCP and UDP checksums are verified in software unless the receiving
 * device vouched for them (rx_l4_trusted(): kernel/dev/nic.h's GOOD, or a
 * PARTIAL whose offsets name this datagram's checksum field).
 *
 * ICMP destination unreachable (RFC 792) is accepted only when the quoted
 * header is plausibly one of ours: IPv4, header length 20..60 with 8 bytes
 * of the transport header after it, our source address, TCP, UDP or ICMP.
 * Code 4, fragmentation needed (RFC 1191), updates a small table of path
 * MTUs per destination: reports below 68 or not below the current value
 * are ignored (ND_PMTU_BOGUS), reports of 68..575 are raised to 576, a
 * report of 0 (an old router) takes the next plateau below the quoted
 * datagram's length (RFC 1191 section 7), and entries expire after 10
 * minutes.  ns_pmtu() reads it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "netstack/ns_var.h"

/* A 64-bit sum of host-order 32-bit words folded to 16 bits, in
   network order (see ns_csum). */
static inline uint32_t
csum_fold64(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);	/* < 2^33 */
	acc = (acc & 0xffffffffu) + (acc >> 32);
	uint32_t s = (uint32_t)acc;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = __builtin_bswap16((uint16_t)s);	/* s < 0x10000 here */
#endif
	return s;
}

/*
 * The Internet checksum (RFC 1071) of data, plus sum (a partial sum of
 * big-endian 16-bit words, e.g. the pseudo header).  32-bit words in
 * host order, summed in 64 bits and folded at the end (2^16 = 1 modulo
 * 0xffff, so a 32-bit word counts as its two halves): a one's complement
 * sum does not depend on byte order (RFC 1071 2.(B)), so the folded
 * host-order sum is the big-endian one byte-swapped on a little-endian
 * CPU.
 */
uint16_t
ns_csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = 0;
	uint32_t w[4];
	/* 32-bit words into a 64-bit sum: no carry to fold until 2^32 of
	   them, far beyond any frame. */
	while (len >= 16) {
		memcpy(w, p, 16);
		acc += (uint64_t)w[0] + w[1] + (uint64_t)w[2] + w[3];
		p += 16;
		len -= 16;
	}
	if (len >= 8) {
		memcpy(w, p, 8);
		acc += (uint64_t)w[0] + w[1];
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(w, p, 4);
		acc += w[0];
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t h;
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len) {			/* the last byte is a word's high byte */
		uint8_t last[2] = { p[0], 0 };
		uint16_t h;
		memcpy(&h, last, 2);
		acc += h;
	}
	uint32_t s = csum_fold64(acc);
	uint64_t t = (uint64_t)sum + s;
	t = (t & 0xffff) + (t >> 16);
	t = (t & 0xffff) + (t >> 16);
	t = (t & 0xffff) + (t >> 16);
	return (uint16_t)~t;
}

/* ns_csum of an IPv4 header without options (20 bytes, sum 0): five
   loads, the same folding. */
static uint16_t
csum_ip20(const uint8_t *h)
{
	uint32_t w[5];
	memcpy(w, h, 20);
	uint64_t acc = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	uint32_t s = csum_fold64(acc);
	return (uint16_t)~s;
}

static uint32_t
pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	    proto + (uint32_t)len;
}

size_t
ns_ip_header(struct netstack *ns, struct ns_txbuf *tb, uint32_t src,
    uint32_t dst, uint8_t proto, size_t plen)
{
	uint8_t *h = tb->data + ETH_HLEN;
	h[0] = 0x45;
	h[1] = 0;
	wr16(h + 2, (uint16_t)(IP_HLEN + plen));
	wr16(h + 4, ns->ip_id++);
	wr16(h + 6, 0x4000);	/* DF */
	h[8] = 64;
	h[9] = proto;
	wr16(h + 10, 0);
	wr32(h + 12, src);
	wr32(h + 16, dst);
	wr16(h + 10, csum_ip20(h));
	return ETH_HLEN + IP_HLEN + plen;
}

static uint16_t
base_mtu(struct netstack *ns)
{
	uint16_t m = ns->cfg.mtu ? ns->cfg.mtu : ns->nic != NULL ? ns->nic->mtu : 0;
	return m ? m : 1500;
}

uint16_t
ns_pmtu(struct netstack *ns, uint32_t dst)
{
	uint16_t base = base_mtu(ns);
	if (!ns->pmtu_any)
		return base;
	for (int i = 0; i < NS_PMTU_ENTRIES; i++) {
		struct ns_pmtu_entry *e = &ns->pmtu[i];
		/* The clock is read only on a match: TCP asks per segment. */
		if (e->mtu != 0 && e->dst == dst && e->expires_ns > ns_now(ns))
			return e->mtu < base ? e->mtu : base;
	}
	return base;
}

static void
pmtu_set(struct netstack *ns, uint32_t dst, uint16_t mtu)
{
	uint64_t now = ns_now(ns);
	struct ns_pmtu_entry *slot = NULL;
	for (int i = 0; i < NS_PMTU_ENTRIES && slot == NULL; i++)
		if (ns->pmtu[i].mtu != 0 && ns->pmtu[i].dst == dst)
			slot = &ns->pmtu[i];
	for (int i = 0; i < NS_PMTU_ENTRIES && slot == NULL; i++)
		if (ns->pmtu[i].mtu == 0 || ns->pmtu[i].expires_ns <= now)
			slot = &ns->pmtu[i];
	if (slot == NULL) {	/* full: replace the entry closest to expiry */
		slot = &ns->pmtu[0];
		for (int i = 1; i < NS_PMTU_ENTRIES; i++)
			if (ns->pmtu[i].expires_ns < slot->expires_ns)
				slot = &ns->pmtu[i];
	}
	slot->dst = dst;
	slot->mtu = mtu;
	ns->pmtu_any = true;
	slot->expires_ns = now + NS_PMTU_TTL_NS;
	ns->cnt.pmtu_updates++;
}

/* RFC 1191 section 7: the plateau below a datagram of length len. */
static uint16_t
pmtu_plateau(uint16_t len)
{
	static const uint16_t plateau[] = { 32000, 17914, 8166, 4352, 2002, 1492,
		1006, 508, 296, 68 };
	for (size_t i = 0; i < sizeof(plateau) / sizeof(plateau[0]); i++)
		if (plateau[i] < len)
			return plateau[i];
	return 0;
}

/* Destination unreachable: p is the whole ICMP message (checksum good). */
static void
icmp_unreach(struct netstack *ns, const uint8_t *p, size_t len)
{
	const uint8_t *q = p + 8;	/* the quoted datagram */
	size_t qhl = len >= 8 + IP_HLEN ? (size_t)(q[0] & 15) * 4 : 0;
	if (qhl < IP_HLEN || (q[0] >> 4) != 4 || len < 8 + qhl + 8 ||
	    !ns->configured || rd32(q + 12) != ns->cfg.ip ||
	    (q[9] != IPPROTO_TCP && q[9] != IPPROTO_UDP && q[9] != IPPROTO_ICMP)) {
		ns_drop(ns, ND_ICMP_BAD);
		return;
	}
	ns->cnt.icmp_unreach_in++;
	if (p[1] != 4)
		return;		/* other codes: counted; TCP may act on them later */
	uint32_t qdst = rd32(q + 16);
	uint16_t mtu = rd16(p + 6);
	if (mtu == 0)
		mtu = pmtu_plateau(rd16(q + 2));
	if (mtu < 68 || mtu >= ns_pmtu(ns, qdst)) {
		ns_drop(ns, ND_PMTU_BOGUS);
		return;
	}
	if (mtu < 576)
		mtu = 576;
	if (mtu < ns_pmtu(ns, qdst))
		pmtu_set(ns, qdst, mtu);
}

/* The reply's hold on a piece of the request ends: the receive buffer
   goes back to its driver once nothing else holds it. */
static void
echo_piece_release(struct nic_buf *b)
{
	struct ns_echo_piece *e = b->owner;
	struct nic_buf *rx = e->rx;
	e->rx = NULL;
	e->used = false;
	nic_buf_release(rx);
}

/*
 * The answer to an echo request that arrived as a buffer chain (a jumbo
 * ping at MTU 9000): the 8-byte ICMP header is written into a transmit
 * buffer and the data goes back by reference to the receive buffers that
 * hold it (each held until the device has sent the reply), so nothing
 * is copied.  The checksum is the request's, adjusted for the type byte
 * (RFC 1624), since that is the only change.  The sender's MAC must be
 * known already (it is, for a host that is talking to us); a chain
 * cannot wait in the ARP queue.
 */
static void
icmp_echo_chained(struct netstack *ns, uint32_t src, const uint8_t *p, size_t len)
{
	const uint8_t *mac = ns_arp_lookup(ns, ns_next_hop(ns, src));
	if (mac == NULL || IP_HLEN + len > base_mtu(ns) || ns->nic == NULL) {
		ns_drop(ns, ND_RX_CHAIN);
		return;
	}
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return;
	struct nic_buf **link = &tb->nb.next;
	for (size_t off = 8; off < len;) {
		const uint8_t *d;
		struct nic_buf *rb;
		size_t n = ns_rx_piece(ns, p, len, off, &d, &rb);
		struct ns_echo_piece *e = NULL;
		for (int i = 0; i < NS_ECHO_PIECES && n > 0 && rb != NULL; i++) {
			if (!ns->echo[i].used) {
				e = &ns->echo[i];
				break;
			}
		}
		if (e == NULL) {
			*link = NULL;
			nic_buf_release_chain(&tb->nb);
			ns_drop(ns, ND_RX_CHAIN);
			return;
		}
		nic_buf_hold(rb);
		e->used = true;
		e->rx = rb;
		e->nb = (struct nic_buf){ .data = (uint8_t *)(uintptr_t)d, .len = (uint32_t)n,
			.cap = (uint32_t)n, .release = echo_piece_release, .owner = e };
		*link = &e->nb;
		link = &e->nb.next;
		off += n;
	}
	*link = NULL;
	uint8_t *r = tb->data + ETH_HLEN + IP_HLEN;
	memcpy(r, p, 8);
	r[0] = 0;		/* echo reply */
	/* HC' = ~(~HC + ~m + m') with m = 0x0800 (type 8, code 0), m' = 0. */
	uint32_t sum = (uint16_t)~rd16(p + 2) + 0xf7ffu;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	wr16(r + 2, (uint16_t)~sum);
	ns_ip_header(ns, tb, ns->cfg.ip, src, IPPROTO_ICMP, len);
	memcpy(tb->data, mac, 6);
	memcpy(tb->data + 6, ns->mac, 6);
	wr16(tb->data + 12, ETH_P_IP);
	tb->nb.len = (uint32_t)(ETH_HLEN + IP_HLEN + 8);
	struct nic_tx_meta meta = { .l3_off = ETH_HLEN, .l4_off = ETH_HLEN + IP_HLEN,
		.l4_proto = IPPROTO_ICMP };
	int rc = ns_nic_tx(ns, ns_tx_queue(ns, tb->data, tb->nb.len), &tb->nb, &meta);
	if (rc != TERN_OK) {
		ns_drop(ns, rc == TERN_EAGAIN ? ND_TX_RING_FULL : ND_NO_NIC);
		nic_buf_release_chain(&tb->nb);
		return;
	}
	ns->cnt.tx_frames++;
	ns->cnt.icmp_echo_out++;
}

static void
icmp_input(struct netstack *ns, uint32_t src, const uint8_t *p, size_t len)
{
	bool chained = len >= 8 && ns_rx_contig(ns, p, len) < len;
	if (len < 8 || ns_rx_contig(ns, p, len) < 8 ||
	    (chained ? ns_l4_csum_bad(ns, p, len, 0) : ns_csum(p, len, 0) != 0)) {
		ns_drop(ns, ND_ICMP_CSUM);
		return;
	}
	if (chained) {
		ns->cnt.icmp_in++;
		if (p[0] == 8 && p[1] == 0) {
			ns->cnt.icmp_echo_in++;
			icmp_echo_chained(ns, src, p, len);
		}
		return;		/* a jumbo error message is not one of ours */
	}
	ns->cnt.icmp_in++;
	if (p[0] == 3) {
		icmp_unreach(ns, p, len);
		return;
	}
	if (p[0] != 8 || p[1] != 0)	/* only echo requests need an answer */
		return;
	ns->cnt.icmp_echo_in++;
	if (len > NS_TXBUF_SIZE - ETH_HLEN - IP_HLEN) {
		ns_drop(ns, ND_IP_LEN);
		return;
	}
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return;
	uint8_t *r = tb->data + ETH_HLEN + IP_HLEN;
	/* The echo data must come back unchanged, so it is copied into the
	   reply (control traffic; counted). */
	memcpy(r, p, len);
	ns->cnt.payload_copied += len - 8;
	r[0] = 0;		/* echo reply */
	wr16(r + 2, 0);
	wr16(r + 2, ns_csum(r, len, 0));
	size_t flen = ns_ip_header(ns, tb, ns->cfg.ip, src, IPPROTO_ICMP, len);
	if (ns_eth_send_ip(ns, tb, flen, ns_next_hop(ns, src)) == TERN_OK)
		ns->cnt.icmp_echo_out++;
}

/* A TCP or UDP checksum verified in software: true when it is wrong. */
bool
ns_l4_csum_bad(struct netstack *ns, const uint8_t *p, size_t len, uint32_t pseudo)
{
	ns->cnt.rx_csum_sw++;
	if (ns_rx_contig(ns, p, len) >= len)
		return ns_csum(p, len, pseudo) != 0;
	/* A chained datagram: sum piece by piece, a piece of odd length
	   shifting the next one's bytes into the other half of the word. */
	uint64_t sum = pseudo;
	bool odd = false;
	for (size_t off = 0; off < len;) {
		const uint8_t *d;
		struct nic_buf *b;
		size_t n = ns_rx_piece(ns, p, len, off, &d, &b);
		if (n == 0)
			return true;	/* the chain is shorter than the datagram */
		for (size_t i = 0; i < n; i++, odd = !odd)
			sum += odd ? d[i] : (uint32_t)d[i] << 8;
		off += n;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum != 0;
}

static void
udp_input(struct netstack *ns, uint32_t src, uint32_t dst, const uint8_t *p,
    size_t len, bool csum_ok)
{
	if (len < UDP_HLEN || rd16(p + 4) < UDP_HLEN || rd16(p + 4) > len) {
		ns_drop(ns, ND_UDP_LEN);
		return;
	}
	len = rd16(p + 4);
	if (rd16(p + 6) != 0 && !csum_ok &&
	    ns_l4_csum_bad(ns, p, len, pseudo_sum(src, dst, IPPROTO_UDP, len))) {
		ns_drop(ns, ND_UDP_CSUM);
		return;
	}
	uint16_t dport = rd16(p + 2);
	for (int i = 0; i < NS_UDP_PORTS; i++) {
		if (ns->udp[i].fn != NULL && ns->udp[i].port == dport) {
			ns->cnt.udp_in++;
			ns->udp[i].fn(ns->udp[i].ctx, ns, src, rd16(p), p + UDP_HLEN,
			    len - UDP_HLEN);
			return;
		}
	}
	ns_drop(ns, ND_UDP_PORT);
}

/*
 * Whether the device vouched for the L4 checksum of this datagram
 * (kernel/dev/nic.h's receive checksum states).  A PARTIAL frame is
 * trusted only when its offsets name the TCP or UDP checksum field of the
 * datagram we parsed; anything else is verified in software.
 */
static bool
rx_l4_trusted(struct netstack *ns, const struct nic_buf *rx, size_t hl, uint8_t proto)
{
	if (rx == NULL || (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return false;
	switch (rx->flags & NIC_RXCSUM_MASK) {
	case NIC_RXCSUM_GOOD:
		ns->cnt.rx_csum_good++;
		return true;
	case NIC_RXCSUM_PARTIAL:
		if (rx->csum_start != ETH_HLEN + hl ||
		    rx->csum_offset != (proto == IPPROTO_TCP ? 16 : 6))
			return false;
		ns->cnt.rx_csum_partial++;
		return true;
	case NIC_RXCSUM_BAD:
		ns->cnt.rx_csum_hw_bad++;
		return false;
	default:
		return false;
	}
}

void
ns_ip_input(struct netstack *ns, const uint8_t *h, size_t len, const struct nic_buf *rx)
{
	if (len < IP_HLEN || (h[0] >> 4) != 4) {
		ns_drop(ns, ND_IP_HDR);
		return;
	}
	size_t hl = (size_t)(h[0] & 15) * 4;
	if (hl < IP_HLEN || hl > len) {
		ns_drop(ns, ND_IP_HDR);
		return;
	}
	size_t contig = ns_rx_contig(ns, h, len);
	if (hl > contig) {
		ns_drop(ns, ND_RX_CHAIN);	/* the header must be in one piece */
		return;
	}
	if ((hl == IP_HLEN ? csum_ip20(h) : ns_csum(h, hl, 0)) != 0) {
		ns_drop(ns, ND_IP_CSUM);
		return;
	}
	size_t tot = rd16(h + 2);
	if (tot < hl || tot > len) {
		ns_drop(ns, ND_IP_LEN);
		return;
	}
	uint32_t src = rd32(h + 12), dst = rd32(h + 16);
	bool bcast = dst == 0xffffffffu ||
	    (ns->configured && dst == (ns->cfg.ip | ~ns->cfg.mask));
	if (!bcast && !(ns->configured && dst == ns->cfg.ip) &&
	    !(!ns->configured && h[9] == IPPROTO_UDP)) {	/* DHCP before an address */
		ns_drop(ns, ND_NOT_FOR_US);
		return;
	}
	if (tot > contig && ((h[9] != IPPROTO_TCP && h[9] != IPPROTO_ICMP) ||
	    (rd16(h + 6) & 0x3fff) != 0)) {
		/* Only TCP and ICMP walk a chain; a 9000-byte UDP datagram
		   arrives chained and is dropped (the stack's UDP users, DHCP
		   and DNS, are small). */
		ns_drop(ns, ND_RX_CHAIN);
		return;
	}
	if ((rd16(h + 6) & 0x3fff) != 0)	/* MF or a fragment offset */
		ns_frag_input(ns, h, hl, h + hl, tot - hl, bcast);
	else
		ns_ip_deliver(ns, src, dst, h[9], bcast, h + hl, tot - hl,
		    rx_l4_trusted(ns, rx, hl, h[9]));
}

void
ns_ip_deliver(struct netstack *ns, uint32_t src, uint32_t dst, uint8_t proto,
    bool bcast, const uint8_t *p, size_t len, bool l4_ok)
{
	if (proto == IPPROTO_ICMP && bcast)
		ns_drop(ns, ND_NOT_FOR_US);	/* no answers to broadcast pings */
	else if (proto == IPPROTO_ICMP)
		icmp_input(ns, src, p, len);
	else if (proto == IPPROTO_UDP)
		udp_input(ns, src, dst, p, len, l4_ok);
	else if (proto == IPPROTO_TCP && !bcast && ns->configured)
		ns_tcp_input(ns, src, dst, p, len, l4_ok);
	else
		ns_drop(ns, ND_PROTO);
}

/* copied: the counter the copy of data is charged to (an application's
   payload, or the stack's own DHCP/DNS messages). */
static int
udp_send(struct netstack *ns, uint32_t dst, uint16_t sport, uint16_t dport,
    const void *data, size_t len, uint64_t *copied)
{
	if (len > NS_TXBUF_SIZE - ETH_HLEN - IP_HLEN - UDP_HLEN)
		return TERN_EINVAL;
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return TERN_ENOMEM;
	uint8_t *u = tb->data + ETH_HLEN + IP_HLEN;
	uint32_t src = ns->configured ? ns->cfg.ip : 0;
	wr16(u, sport);
	wr16(u + 2, dport);
	wr16(u + 4, (uint16_t)(UDP_HLEN + len));
	wr16(u + 6, 0);
	memcpy(u + UDP_HLEN, data, len);
	*copied += len;
	uint16_t c = ns_csum(u, UDP_HLEN + len, pseudo_sum(src, dst, IPPROTO_UDP, UDP_HLEN + len));
	wr16(u + 6, c == 0 ? 0xffff : c);
	size_t flen = ns_ip_header(ns, tb, src, dst, IPPROTO_UDP, UDP_HLEN + len);
	ns->cnt.udp_out++;
	return ns_eth_send_ip(ns, tb, flen, ns_next_hop(ns, dst));
}

int
netstack_udp_send(struct netstack *ns, uint32_t dst, uint16_t sport,
    uint16_t dport, const void *data, size_t len)
{
	return udp_send(ns, dst, sport, dport, data, len, &ns->cnt.payload_copied);
}

int
ns_udp_send_ctl(struct netstack *ns, uint32_t dst, uint16_t sport,
    uint16_t dport, const void *msg, size_t len)
{
	return udp_send(ns, dst, sport, dport, msg, len, &ns->cnt.ctl_copied);
}

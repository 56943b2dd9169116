/*
 * ns_var.h - netstack internals shared by its modules (not for users).
 */
#ifndef TERN_NS_VAR_H
#define TERN_NS_VAR_H

#include <stdint.h>
#include <string.h>

#include "kernel/lib/fmt.h"
#include "netstack/netstack.h"

#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define ETH_P_ARP	0x0806
#define IP_HLEN		20
#define IPPROTO_ICMP	1
#define IPPROTO_UDP	17
#define UDP_HLEN	8
#define ARP_TTL_NS	(300ULL * 1000000000ULL)	/* cache entries live 5 min */
#define ARP_PENDING_NS	(3ULL * 1000000000ULL)	/* unresolved packets wait 3 s */
#define NS_FRAG_TIMEOUT_NS (30ULL * 1000000000ULL)	/* reassembly time limit */
#define NS_PMTU_TTL_NS	(600ULL * 1000000000ULL)	/* RFC 1191: 10 minutes */
#define IPPROTO_TCP	6

/* Big-endian fields at any alignment: one load or store and a byte swap
   (GCC leaves the byte-at-a-time form as shifts and ORs). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NS_BE16(v) __builtin_bswap16(v)
#define NS_BE32(v) __builtin_bswap32(v)
#else
#define NS_BE16(v) (v)
#define NS_BE32(v) (v)
#endif
static inline uint16_t rd16(const uint8_t *p) { uint16_t v; __builtin_memcpy(&v, p, 2); return NS_BE16(v); }
static inline uint32_t rd32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return NS_BE32(v); }
static inline void wr16(uint8_t *p, uint16_t v) { v = NS_BE16(v); __builtin_memcpy(p, &v, 2); }
static inline void wr32(uint8_t *p, uint32_t v) { v = NS_BE32(v); __builtin_memcpy(p, &v, 4); }

/* The clock: inside netstack_poll, the pass's one reading. */
static inline uint64_t
ns_now(struct netstack *ns)
{
	return ns->clock_held ? ns->clock_ns : ns->port.now_ns(ns->port.ctx);
}

void ns_log(struct netstack *ns, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void ns_drop(struct netstack *ns, enum netstack_drop why) { ns->cnt.drops[why]++; }

/*
 * Received frames may be buffer chains (kernel/dev/nic.h): the headers
 * lie in the first buffer, the payload may continue in the next ones.
 * ns_rx_piece gives the contiguous run at byte `off` of the `len` bytes
 * starting at `p` (a pointer into the frame being processed, rx_cur):
 * its address in *ptr, the buffer holding it in *bufp (NULL when p is not
 * in rx_cur, e.g. reassembled or queued data, which is contiguous), and
 * returns its length (0 when the chain ends early).  ns_rx_contig is the
 * run at offset 0: what a parser may read directly.
 */
static inline size_t
ns_rx_piece(const struct netstack *ns, const uint8_t *p, size_t len, size_t off,
    const uint8_t **ptr, struct nic_buf **bufp)
{
	struct nic_buf *b = ns->rx_cur;
	if (b == NULL || p < b->data || p > b->data + b->len) {
		*ptr = p + off;
		*bufp = NULL;
		return len - off;
	}
	size_t first = (size_t)(b->data + b->len - p);
	if (off < first || b->next == NULL) {
		*ptr = p + off;
		*bufp = b;
		size_t end = first < len ? first : len;
		return off < end ? end - off : 0;
	}
	size_t at = first;		/* frame offset of b->next's first byte */
	for (b = b->next; b != NULL && at < len; at += b->len, b = b->next) {
		if (off < at + b->len) {
			size_t end = at + b->len < len ? at + b->len : len;
			*ptr = b->data + (off - at);
			*bufp = b;
			return end - off;
		}
	}
	*ptr = NULL;
	*bufp = NULL;
	return 0;
}

static inline size_t
ns_rx_contig(const struct netstack *ns, const uint8_t *p, size_t len)
{
	const uint8_t *ptr;
	struct nic_buf *b;
	return len == 0 ? 0 : ns_rx_piece(ns, p, len, 0, &ptr, &b);
}

/* ether.c */
struct ns_txbuf *ns_txbuf_get(struct netstack *ns);
void ns_txbuf_put(struct ns_txbuf *tb);
/* Send a frame whose Ethernet header the caller already wrote. */
int ns_eth_xmit(struct netstack *ns, struct ns_txbuf *tb, size_t len);
/* ns_eth_xmit with the NIC metadata given (NULL: derived by ns_tx_meta). */
int ns_eth_xmit_meta(struct netstack *ns, struct ns_txbuf *tb, size_t len,
    const struct nic_tx_meta *meta);
void ns_tx_meta(const uint8_t *f, size_t len, struct nic_tx_meta *m);
/* The NIC queue to send a frame on: a hash of its IPv4 addresses and
   TCP/UDP ports modulo nqueues (one connection, one queue); 0 for
   anything else or a one-queue NIC. */
int ns_tx_queue(const struct netstack *ns, const uint8_t *f, size_t len);
/* nic_tx on queue q unless q waits for the NIC's tx_ready (then
   TERN_EAGAIN without asking the NIC); a TERN_EAGAIN from a NIC with
   tx_wakes starts the wait.  The caller drops and counts what fails. */
int ns_nic_tx(struct netstack *ns, int q, struct nic_buf *nb,
    const struct nic_tx_meta *m);
/* Fill the Ethernet header for an IPv4 packet to next_hop and send it, or
   queue it while ARP resolves (broadcast for 255.255.255.255). */
int ns_eth_send_ip(struct netstack *ns, struct ns_txbuf *tb, size_t len, uint32_t next_hop);

/* arp.c */
void ns_arp_input(struct netstack *ns, const uint8_t *p, size_t len);
const uint8_t *ns_arp_lookup(struct netstack *ns, uint32_t ip);
int ns_arp_request(struct netstack *ns, uint32_t ip);
void ns_arp_announce(struct netstack *ns);
void ns_arp_timers(struct netstack *ns);

/* ip.c */
/* rx: the received buffer the datagram came in (its checksum state),
   or NULL when there is none and every checksum is verified. */
void ns_ip_input(struct netstack *ns, const uint8_t *p, size_t len,
    const struct nic_buf *rx);
/* Write an IPv4 header at tb->data + ETH_HLEN for `plen` bytes of
   payload already in place after it; returns the frame length. */
size_t ns_ip_header(struct netstack *ns, struct ns_txbuf *tb, uint32_t src,
    uint32_t dst, uint8_t proto, size_t plen);
/* The address a frame to dst goes to on the link: dst itself on the
   subnet (or with no gateway), else the gateway. */
static inline uint32_t
ns_next_hop(struct netstack *ns, uint32_t dst)
{
	if (dst == 0xffffffffu)
		return dst;
	if ((dst & ns->cfg.mask) == (ns->cfg.ip & ns->cfg.mask) || ns->cfg.gw == 0)
		return dst;
	return ns->cfg.gw;
}

/* Hand a whole datagram's payload to ICMP, UDP or TCP (after validation
   or reassembly).  l4_ok: the device vouched for the TCP/UDP checksum
   (NIC_RXCSUM_GOOD, or a matching PARTIAL), so it is not recomputed. */
void ns_ip_deliver(struct netstack *ns, uint32_t src, uint32_t dst, uint8_t proto,
    bool bcast, const uint8_t *p, size_t len, bool l4_ok);

/* netstack_udp_send for the stack's own messages (DHCP, DNS): their
   copy into the frame counts in ctl_copied, not payload_copied. */
int ns_udp_send_ctl(struct netstack *ns, uint32_t dst, uint16_t sport,
    uint16_t dport, const void *msg, size_t len);
bool ns_l4_csum_bad(struct netstack *ns, const uint8_t *p, size_t len, uint32_t pseudo);

/* ipfrag.c */
/* One validated fragment: header h (hl bytes), payload pl (plen). */
void ns_frag_input(struct netstack *ns, const uint8_t *h, size_t hl,
    const uint8_t *pl, size_t plen, bool bcast);
void ns_frag_timers(struct netstack *ns);

/* dns.c */
void ns_dns_timers(struct netstack *ns);

/* dhcp.c */
void ns_dhcp_input(void *ctx, struct netstack *ns, uint32_t src_ip,
    uint16_t src_port, const uint8_t *data, size_t len);
void ns_dhcp_timers(struct netstack *ns);

#endif

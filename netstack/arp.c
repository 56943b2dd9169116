/*
 * arp.c - ARP for IPv4 over Ethernet (RFC 826): a small cache with expiry,
 * answers to requests for our address, requests for next hops with a
 * bounded queue of packets waiting for the answer, and gratuitous ARP when
 * an address is configured.  Every field of an incoming packet is checked
 * (hardware/protocol types and lengths, opcode, a unicast sender).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "netstack/ns_var.h"

#define ARP_LEN		28
#define ARP_REQUEST	1
#define ARP_REPLY	2

static void
cache_put(struct netstack *ns, uint32_t ip, const uint8_t *mac)
{
	struct ns_arp_entry *slot = NULL, *oldest = &ns->arp[0];
	for (int i = 0; i < NS_ARP_ENTRIES; i++) {
		struct ns_arp_entry *e = &ns->arp[i];
		if (e->valid && e->ip == ip) {
			slot = e;
			break;
		}
		if (!e->valid && slot == NULL)
			slot = e;
		if (e->expires_ns < oldest->expires_ns)
			oldest = e;
	}
	if (slot == NULL)
		slot = oldest;	/* full: replace the entry closest to expiry */
	slot->ip = ip;
	memcpy(slot->mac, mac, 6);
	slot->valid = true;
	slot->expires_ns = ns_now(ns) + ARP_TTL_NS;
	if (slot->expires_ns < ns->arp_next_ns)
		ns->arp_next_ns = slot->expires_ns;
}

const uint8_t *
ns_arp_lookup(struct netstack *ns, uint32_t ip)
{
	uint64_t now = ns_now(ns);
	/* Most frames go to the host the last one went to (the gateway). */
	struct ns_arp_entry *e = &ns->arp[ns->arp_hint % NS_ARP_ENTRIES];
	if (e->valid && e->ip == ip && e->expires_ns > now)
		return e->mac;
	for (int i = 0; i < NS_ARP_ENTRIES; i++) {
		e = &ns->arp[i];
		if (e->valid && e->ip == ip && e->expires_ns > now) {
			ns->arp_hint = (uint16_t)i;
			return e->mac;
		}
	}
	return NULL;
}

static int
send_arp(struct netstack *ns, int op, const uint8_t *dst_mac, uint32_t target_ip,
    const uint8_t *target_mac)
{
	struct ns_txbuf *tb = ns_txbuf_get(ns);
	if (tb == NULL)
		return TERN_ENOMEM;
	uint8_t *f = tb->data;
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, ns->mac, 6);
	wr16(f + 12, ETH_P_ARP);
	uint8_t *a = f + ETH_HLEN;
	wr16(a, 1);		/* Ethernet */
	wr16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, (uint16_t)op);
	memcpy(a + 8, ns->mac, 6);
	wr32(a + 14, ns->cfg.ip);
	memcpy(a + 18, target_mac, 6);
	wr32(a + 24, target_ip);
	return ns_eth_xmit(ns, tb, ETH_HLEN + ARP_LEN);
}

int
ns_arp_request(struct netstack *ns, uint32_t ip)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6] = { 0 };
	ns->cnt.arp_requests_out++;
	return send_arp(ns, ARP_REQUEST, bcast, ip, zero);
}

void
ns_arp_announce(struct netstack *ns)
{
	/* Gratuitous ARP: a request for our own address (RFC 5227 2.4). */
	ns_arp_request(ns, ns->cfg.ip);
}

/* Send what waited for `ip` now that its MAC is known. */
static void
flush_pending(struct netstack *ns, uint32_t ip, const uint8_t *mac)
{
	for (int i = 0; i < NS_ARP_PENDING; i++) {
		struct ns_pending *p = &ns->pending[i];
		if (p->tb == NULL || p->next_hop != ip)
			continue;
		struct ns_txbuf *tb = p->tb;
		p->tb = NULL;
		memcpy(tb->data, mac, 6);
		ns_eth_xmit(ns, tb, tb->nb.len);
	}
}

void
ns_arp_input(struct netstack *ns, const uint8_t *a, size_t len)
{
	if (len < ARP_LEN || rd16(a) != 1 || rd16(a + 2) != ETH_P_IP ||
	    a[4] != 6 || a[5] != 4) {
		ns_drop(ns, ND_ARP_BAD);
		return;
	}
	uint16_t op = rd16(a + 6);
	const uint8_t *sha = a + 8;
	uint32_t spa = rd32(a + 14), tpa = rd32(a + 24);
	if ((op != ARP_REQUEST && op != ARP_REPLY) || (sha[0] & 1) || spa == 0) {
		ns_drop(ns, ND_ARP_BAD);
		return;
	}
	bool for_us = ns->configured && tpa == ns->cfg.ip;
	/* Learn the sender when the packet is for us or we already know it
	   (RFC 826 merge rule), so strangers cannot fill the cache. */
	if (for_us || ns_arp_lookup(ns, spa) != NULL) {
		cache_put(ns, spa, sha);
		flush_pending(ns, spa, sha);
	} else if (op == ARP_REPLY) {
		/* A reply to a request of ours (pending packets prove it). */
		for (int i = 0; i < NS_ARP_PENDING; i++) {
			if (ns->pending[i].tb != NULL && ns->pending[i].next_hop == spa) {
				cache_put(ns, spa, sha);
				flush_pending(ns, spa, sha);
				break;
			}
		}
	}
	if (op == ARP_REQUEST && for_us) {
		ns->cnt.arp_requests_in++;
		ns->cnt.arp_replies_out++;
		send_arp(ns, ARP_REPLY, sha, spa, sha);
	}
}

static void arp_scan(struct netstack *ns, uint64_t now);

void
ns_arp_timers(struct netstack *ns)
{
	uint64_t now = ns_now(ns);
	if (now >= ns->arp_next_ns)	/* else nothing expires yet (lowered on every insert) */
		arp_scan(ns, now);
}

/* Out of line: the usual early return above stays cheap. */
static __attribute__((noinline)) void
arp_scan(struct netstack *ns, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	for (int i = 0; i < NS_ARP_PENDING; i++) {
		struct ns_pending *p = &ns->pending[i];
		if (p->tb == NULL)
			continue;
		if (now - p->queued_ns > ARP_PENDING_NS) {
			ns_log(ns, 2, "arp: no answer for next hop %u.%u.%u.%u; dropping a packet",
			    p->next_hop >> 24, (p->next_hop >> 16) & 255,
			    (p->next_hop >> 8) & 255, p->next_hop & 255);
			ns_txbuf_put(p->tb);
			p->tb = NULL;
			ns_drop(ns, ND_ARP_QUEUE_FULL);
		} else if (p->queued_ns + ARP_PENDING_NS + 1 < next) {
			next = p->queued_ns + ARP_PENDING_NS + 1;
		}
	}
	for (int i = 0; i < NS_ARP_ENTRIES; i++) {
		if (!ns->arp[i].valid)
			continue;
		if (ns->arp[i].expires_ns <= now)
			ns->arp[i].valid = false;
		else if (ns->arp[i].expires_ns < next)
			next = ns->arp[i].expires_ns;
	}
	ns->arp_next_ns = next;
}

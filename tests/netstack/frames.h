/*
 * frames.h - crafted frames for the netstack host tests that came with
 * reassembly, path MTU and DNS (test_ipfrag.c, test_dns.c): a peer on the
 * local network sends Ethernet/IPv4 frames to the stack under test.
 */
#ifndef TERN_TEST_FRAMES_H
#define TERN_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tests/netstack/fake_nic.h"
#include "netstack/ns_var.h"

#define MY_IP	0x0a00020f	/* 10.0.2.15 */
#define PEER_IP	0x0a000202	/* 10.0.2.2, the gateway */
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };

/* An IPv4 header for plen bytes of payload at h + 20. */
static inline void
fr_ip_header(uint8_t *h, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
    uint16_t frag, size_t plen)
{
	memset(h, 0, 20);
	h[0] = 0x45;
	wr16(h + 2, (uint16_t)(20 + plen));
	wr16(h + 4, id);
	wr16(h + 6, frag);
	h[8] = 64;
	h[9] = proto;
	wr32(h + 12, src);
	wr32(h + 16, dst);
	wr16(h + 10, ns_csum(h, 20, 0));
}

/* A frame from the peer's MAC to mac carrying an IPv4 packet. */
static inline size_t
fr_ip(uint8_t *p, const uint8_t *mac, uint32_t src, uint32_t dst, uint8_t proto,
    uint16_t id, uint16_t frag, const uint8_t *pl, size_t plen)
{
	memcpy(p, mac, 6);
	memcpy(p + 6, peer_mac, 6);
	wr16(p + 12, ETH_P_IP);
	fr_ip_header(p + 14, src, dst, proto, id, frag, plen);
	memcpy(p + 34, pl, plen);
	return 34 + plen;
}

/* An ARP request from ip (peer_mac) for `for_ip`: teaches the stack ip. */
static inline size_t
fr_arp_request(uint8_t *p, uint32_t ip, uint32_t for_ip)
{
	memset(p, 0xff, 6);
	memcpy(p + 6, peer_mac, 6);
	wr16(p + 12, ETH_P_ARP);
	uint8_t *a = p + 14;
	wr16(a, 1); wr16(a + 2, ETH_P_IP); a[4] = 6; a[5] = 4; wr16(a + 6, 1);
	memcpy(a + 8, peer_mac, 6);
	wr32(a + 14, ip);
	memset(a + 18, 0, 6);
	wr32(a + 24, for_ip);
	return 42;
}

/* A UDP datagram (header + data) with a correct checksum. */
static inline size_t
fr_udp(uint8_t *u, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
    const uint8_t *data, size_t len)
{
	wr16(u, sport);
	wr16(u + 2, dport);
	wr16(u + 4, (uint16_t)(8 + len));
	wr16(u + 6, 0);
	memmove(u + 8, data, len);
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	    IPPROTO_UDP + (uint32_t)(8 + len);
	uint16_t c = ns_csum(u, 8 + len, sum);
	wr16(u + 6, c == 0 ? 0xffff : c);
	return 8 + len;
}

#endif

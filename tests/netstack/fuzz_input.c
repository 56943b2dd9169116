/*
 * fuzz_input.c - libFuzzer target for every netstack input path: each
 * input is one Ethernet frame fed to a stack that has a static address
 * (ARP, IPv4, ICMP, UDP, TCP with a listener on port 80) or, when the first byte is odd, one that is in
 * the middle of DHCP (the DHCP parser).  The stack must never crash or
 * read out of bounds (ASan/UBSan), must return the receive buffer, and
 * must leave no transmit buffer leaked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/netstack/fake_nic.h"

static struct fake_nic f;
static struct netstack ns;
static struct ns_txbuf txmem[NS_TXBUFS];

static void fz_accept(void *ctx, struct tcp_pcb *p) { tcp_write(p, "hi", 2, NULL, NULL); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1600)
		return 0;
	fake_init(&f);
	struct netstack_port port = { fake_now, fake_random, NULL, &f };
	netstack_attach(&ns, &f.nic, &port, txmem);
	if (size > 0 && (data[0] & 1)) {
		netstack_dhcp_start(&ns);
		ns.dhcp.xid = 0x01020304;	/* let inputs hit the parser */
	} else {
		netstack_set_static(&ns, 0x0a00020f, 0xffffff00u, 0x0a000202, 0);
		tcp_listen(&ns, 80, fz_accept, NULL);
	}
	uint8_t frame[1600];
	memcpy(frame, data, size);
	/* Most inputs should reach IP: address them to us. */
	if (size >= 12)
		memcpy(frame, f.nic.mac, 6);
	fake_inject(&f, frame, size);
	if (f.rx_released != 1)
		abort();
	/* Let time run out for everything: retransmissions give up, TIME_WAIT
	   ends, the ARP queue expires.  Then every transmit buffer must be
	   back and every connection gone. */
	for (int k = 0; k < 20; k++) {
		f.now += 70ULL * 1000000000ULL;
		netstack_poll(&ns);
	}
	for (int i = 0; i < NS_TXBUFS; i++)
		if (txmem[i].busy)
			abort();
	for (int i = 0; i < TCP_MAX_PCBS; i++)
		if (ns.tcp.pcbs[i].state != TCP_CLOSED)
			abort();
	return 0;
}

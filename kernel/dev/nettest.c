/*
 * nettest.c - the nettest=1 self test of the first NIC, before the
 * netstack exists: send an ARP request for the gateway of QEMU's user
 * network (10.0.2.2, asked as 10.0.2.15) and wait up to 3 s for the
 * reply.  Prints TERN NETTEST ok|fail.  It exercises transmit chains
 * (header and payload in separate buffers) and receive buffer recycling.
 */
#include <stdint.h>
#include <string.h>

#include "kernel/dev/nettest.h"
#include "kernel/dev/nic.h"
#include "kernel/err.h"
#include "kernel/log.h"
#include "kernel/time.h"

struct nettest {
	struct nic *nic;
	int replies;
	int others;
	int tx_released;
	uint8_t gw_mac[6];
};

static const uint8_t my_ip[4] = { 10, 0, 2, 15 };
static const uint8_t gw_ip[4] = { 10, 0, 2, 2 };

static void
tx_done(struct nic_buf *b)
{
	((struct nettest *)b->owner)->tx_released++;
}

static void
rx(void *upper, struct nic_buf *b)
{
	struct nettest *t = upper;
	const uint8_t *f = b->data;
	/* An ARP reply (opcode 2) from the gateway's address, to us. */
	if (b->len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 &&
	    f[21] == 2 && memcmp(f + 28, gw_ip, 4) == 0 &&
	    memcmp(f + 38, my_ip, 4) == 0) {
		memcpy(t->gw_mac, f + 22, 6);
		t->replies++;
	} else {
		t->others++;
	}
	nic_buf_release(b);
}

int
nettest_run(void)
{
	static struct nettest t;
	static uint8_t eth[14], arp[28 + 18];	/* padded to the 60-byte minimum */
	static struct nic_buf hb, pb;
	struct nic *n = nic_first();

	if (n == NULL) {
		marker("NETTEST fail reason=no_nic");
		return TERN_ENODEV;
	}
	memset(&t, 0, sizeof(t));
	t.nic = n;
	n->upper = &t;
	n->rx = rx;

	memset(eth, 0xff, 6);
	memcpy(eth + 6, n->mac, 6);
	eth[12] = 0x08;
	eth[13] = 0x06;
	const uint8_t arp_head[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };	/* Ethernet/IPv4 request */
	memset(arp, 0, sizeof(arp));
	memcpy(arp, arp_head, 8);
	memcpy(arp + 8, n->mac, 6);
	memcpy(arp + 14, my_ip, 4);
	memcpy(arp + 24, gw_ip, 4);
	hb = (struct nic_buf){ .data = eth, .len = 14, .cap = 14, .next = &pb,
		.release = tx_done, .owner = &t };
	pb = (struct nic_buf){ .data = arp, .len = sizeof(arp), .cap = sizeof(arp),
		.release = tx_done, .owner = &t };

	int rc = nic_tx(n, 0, &hb, NULL);
	if (rc != TERN_OK) {
		marker("NETTEST fail dev=%s reason=tx err=%s", n->name, err_str(rc));
		return rc;
	}
	uint64_t end = time_now_ns() + 3000000000ULL;
	/* The reply can be seen before the device has handed back the sent
	   frame (TX completions are reaped by polling): wait for both. */
	while ((t.replies == 0 || t.tx_released < 2) && time_now_ns() < end)
		nic_poll(n, 64);
	n->rx = NULL;
	n->upper = NULL;
	if (t.replies == 0) {
		marker("NETTEST fail dev=%s reason=no_arp_reply tx_released=%d other_frames=%d",
		    n->name, t.tx_released, t.others);
		return TERN_ETIMEDOUT;
	}
	marker("NETTEST ok dev=%s gw=10.0.2.2 gw_mac=%02x:%02x:%02x:%02x:%02x:%02x tx_released=%d",
	    n->name, t.gw_mac[0], t.gw_mac[1], t.gw_mac[2], t.gw_mac[3], t.gw_mac[4],
	    t.gw_mac[5], t.tx_released);
	return TERN_OK;
}

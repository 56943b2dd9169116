/*
 * fake_nic.h - a struct nic for netstack host tests: frames the stack
 * transmits are captured (and their buffers released, as a driver would
 * after TX completion); frames are injected as driver-owned receive
 * buffers whose release is counted, so tests can prove every buffer
 * comes back.
 */
#ifndef TERN_TEST_FAKE_NIC_H
#define TERN_TEST_FAKE_NIC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/dev/nic.h"
#include "kernel/err.h"
#include "netstack/netstack.h"

#define FAKE_MAX_TX 32

struct fake_nic {
	struct nic nic;
	uint8_t tx[FAKE_MAX_TX][2048];
	size_t tx_len[FAKE_MAX_TX];
	int ntx;
	int rx_released;
	uint64_t now;
	uint32_t rnd;
	struct nic_buf rxb;
	uint8_t rxdata[2048];
	int poll_work;		/* the next poll of queue 0 reports this much */
	bool intr_on[NIC_MAX_QUEUES];
	int intr_calls;
};

static int
fake_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	struct fake_nic *f = (struct fake_nic *)n;
	size_t len = 0;
	for (struct nic_buf *b = chain; b != NULL; b = b->next) {
		if (f->ntx < FAKE_MAX_TX && len + b->len <= sizeof(f->tx[0]))
			memcpy(f->tx[f->ntx] + len, b->data, b->len);
		len += b->len;
	}
	if (f->ntx < FAKE_MAX_TX)
		f->tx_len[f->ntx] = len;
	f->ntx++;
	while (chain != NULL) {
		struct nic_buf *next = chain->next;
		nic_buf_release(chain);
		chain = next;
	}
	return TERN_OK;
}

static void fake_inject(struct fake_nic *f, const uint8_t *frame, size_t len);

/* Queue 0's poll delivers poll_work frames (zeroed, for nobody: the
   stack counts and drops them), as a receive interrupt's frames. */
static int
fake_poll(struct nic *n, int q, int budget)
{
	struct fake_nic *f = (struct fake_nic *)n;
	static const uint8_t frame[60];
	int w = q == 0 ? f->poll_work : 0;
	if (q == 0)
		f->poll_work = 0;
	for (int i = 0; i < w && n->rx != NULL; i++)
		fake_inject(f, frame, sizeof(frame));
	return w;
}

static void
fake_intr(struct nic *n, int q, bool on)
{
	struct fake_nic *f = (struct fake_nic *)n;
	if (q >= 0 && q < NIC_MAX_QUEUES)
		f->intr_on[q] = on;
	f->intr_calls++;
}
static void fake_detach(struct nic *n) { }
static const struct nic_ops fake_ops = { fake_tx, fake_poll, fake_intr, fake_detach, NULL };

static void
fake_rx_release(struct nic_buf *b)
{
	((struct fake_nic *)b->owner)->rx_released++;
}

static uint64_t fake_now(void *ctx) { return ((struct fake_nic *)ctx)->now; }
static uint32_t fake_random(void *ctx) { return ((struct fake_nic *)ctx)->rnd++ * 2654435761u; }

static void
fake_init(struct fake_nic *f)
{
	memset(f, 0, sizeof(*f));
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	memcpy(f->nic.mac, mac, 6);
	f->nic.mtu = 1500;
	f->nic.link_up = true;
	f->nic.ops = &fake_ops;
	f->nic.nqueues = 1;
	nic_queues_init(&f->nic);
	f->now = 1000000000ULL;
}

/* Deliver one frame to the stack as a driver-owned buffer whose receive
   checksum state is `csum` (NIC_RXCSUM_*; start/off for PARTIAL). */
static void
fake_inject_csum(struct fake_nic *f, const uint8_t *frame, size_t len, uint16_t csum,
    uint16_t start, uint16_t off)
{
	memcpy(f->rxdata, frame, len);
	f->rxb = (struct nic_buf){ .data = f->rxdata, .len = (uint32_t)len,
		.cap = sizeof(f->rxdata), .release = fake_rx_release, .owner = f,
		.flags = csum, .csum_start = start, .csum_offset = off };
	f->nic.rx(f->nic.upper, &f->rxb);
}

/* Deliver one frame to the stack as a driver-owned buffer. */
static void
fake_inject(struct fake_nic *f, const uint8_t *frame, size_t len)
{
	fake_inject_csum(f, frame, len, NIC_RXCSUM_NONE, 0, 0);
}

#endif

/*
 * fuzz_vmbus.c - libFuzzer target: a hostile Hyper-V host.  The input is
 * a script of host actions against a connected VMBus with one open
 * channel: raw SynIC messages (offers, rescinds, replies of any type and
 * size), raw bytes and indices written into the host->guest ring,
 * well-formed packets, rescind/re-offer, guest polls, and synthetic timer
 * 0 in message mode: raw bytes in its SINT3 slot (any type, size and
 * payload) and time passing so real expiries arrive.  The guest must
 * never crash, read out of bounds or hang; it ends with UNLOAD.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "tests/vmbus/hv_sim.h"
#include "vmbus/vmbus_var.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_cb(struct vmbus_chan *ch, void *arg)
{
	uint8_t buf[512];
	struct vmbus_pkt p;
	for (int i = 0; i < 64 && vmbus_chan_recv(ch, buf, sizeof(buf), &p) == TERN_OK; i++)
		;
}

static int
fz_attach(struct device *dev, void *softc)
{
	return vmbus_chan_open(vmbus_chan_of(dev), 4 * 4096, 4 * 4096, NULL, 0,
	    fz_cb, NULL);
}

static void
fz_detach(struct device *dev, void *softc)
{
	vmbus_chan_close(vmbus_chan_of(dev));
}

static const struct driver_guid fz_ids[] = {
	{ { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	    0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } },
	{ { 0 } },
};
static const struct driver fz_driver = {
	.name = "fz", .bus = DRIVER_BUS_VMBUS, .vmbus_ids = fz_ids,
	.attach = fz_attach, .detach = fz_detach,
};
static const struct driver *const fz_table[] = { &fz_driver, NULL };
static void *fz_zalloc(size_t n) { return calloc(1, n ? n : 1); }

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_sim s;
	static struct hv hv;
	static struct vmbus vb;
	static struct hv_stimer tick;
	struct hw_dma hc;
	size_t i = 0;

	hv_sim_init(&s);
	s.misc &= ~HV_M_STIMER_DIRECT;	/* timer messages in SINT3 */
	hv_sim_offer(&s, hv_sim_guid_netvsc, 1, 14, 0x2e);
	memset(&hv, 0, sizeof(hv));
	memset(&vb, 0, sizeof(vb));
	hv.read_tsc = hv_sim_read_tsc;
	if (hv_probe(&hv, &s.dev) != TERN_OK || hw_dma_alloc(&s.dev, 4096, 4096, &hc) != 0)
		abort();
	hv_hypercall_enable(&hv, hc.pa);
	hv_synic_init(&hv, 0x41);
	hv_stimer_start(&tick, &hv, 0x42, 1000, true);
	vb.bus.zalloc = fz_zalloc;
	vb.bus.free = free;
	vb.timeout_ns = 10000000;	/* 10 ms of virtual time per wait */
	if (vmbus_connect(&vb, &hv) == TERN_OK)
		vmbus_probe(&vb, fz_table);

	while (i < size) {
		uint8_t op = data[i++] % 8;
		struct sim_chan *c = hv_sim_chan(&s, 14);
		switch (op) {
		case 0: {		/* a raw host message */
			if (i >= size)
				break;
			size_t len = data[i++] % 241;
			uint8_t msg[240] = { 0 };
			size_t n = size - i < len ? size - i : len;
			memcpy(msg, data + i, n);
			i += n;
			hv_sim_queue(&s, msg, len);
			break;
		}
		case 1:			/* raw bytes and an index into the ring */
			if (c != NULL && c->open && i + 6 <= size) {
				uint32_t off = (uint32_t)(data[i] | data[i + 1] << 8) % c->out.dsize;
				memcpy(c->out.base + 4096 + off, data + i + 2,
				    off + 4 <= c->out.dsize ? 4 : 0);
				uint32_t w;
				memcpy(&w, data + i + 2, 4);
				struct vmbus_ring_hdr *h = (void *)c->out.base;
				/* The host can write any byte of the shared
				   pages, our own read index included. */
				if (data[i] & 2)
					h->read_index = data[i] & 1 ? w : w % c->out.dsize;
				else
					h->write_index = data[i] & 1 ? w : w % c->out.dsize;
				i += 6;
			}
			break;
		case 2:			/* a well-formed packet */
			if (c != NULL && c->open && i < size) {
				size_t len = data[i++];
				uint8_t p[256] = { 0 };
				hv_sim_chan_send(&s, c, VMBUS_PKT_DATA_INBAND, 0, 1, p, len);
			}
			break;
		case 3:
			vmbus_poll(&vb);
			break;
		case 4:			/* rescind, or offer again */
			if (c != NULL && c->present)
				hv_sim_rescind(&s, 14);
			else if (c == NULL)
				hv_sim_offer(&s, hv_sim_guid_netvsc, 1, 14, 0x2e);
			break;
		case 5:			/* the guest sends */
			for (uint32_t k = 0; k < vb.nchans; k++)
				if (vb.ch[k].state == VMBUS_CH_OPEN)
					vmbus_chan_send(&vb.ch[k], VMBUS_PKT_DATA_INBAND, 0, 1,
					    NULL, 0, "x", 1);
			break;
		case 6:			/* raw bytes in the timer's slot */
			if (hv.synic_on && i + 1 <= size) {
				struct hv_message *slot = (struct hv_message *)hv.simp.va +
				    HV_SINT_TIMER;
				size_t n = size - i < 32 ? size - i : 32;
				memcpy(slot, data + i, n);
				i += n;
				hv_stimer_isr(&tick);
			}
			break;
		case 7:			/* time passes; each expiry's interrupt */
			if (i < size) {
				uint64_t before = s.stimer_msgs;
				hv_sim_advance(&s, (uint64_t)data[i++] * 10000);
				for (uint64_t k = before; k < s.stimer_msgs && k < before + 64; k++)
					hv_stimer_isr(&tick);
			}
			break;
		}
	}
	hv_stimer_stop(&tick);
	vmbus_poll(&vb);
	vmbus_unload(&vb);
	vmbus_fini(&vb);
	hv_synic_fini(&hv);
	hv_hypercall_disable(&hv);
	hw_dma_free(&s.dev, &hc);
	hv_sim_fini(&s);
	return 0;
}

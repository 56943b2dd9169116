/*
 * fuzz_storvsc.c - libFuzzer target: a hostile storvsc host.  storvsc is
 * attached through the driver model against the storvsc VSP, which holds
 * its I/O completions back; the input is then a script: submit requests,
 * deliver a held completion untouched, deliver one with fuzzer bytes over
 * its vstor_packet (status, SRB status, SCSI status, sense data, transfer
 * length) and fuzzer-chosen packet type and trans_id, send raw packets of
 * any size, poll, rescind; with two LUNs (sda, sdb) behind the controller:
 * take a LUN away or bring it back and send ENUMERATE_BUS, move the
 * driver's clock (BUSY back-off, rescan rate limit).  The driver must
 * never crash, read out of bounds or hang, and every submitted request
 * must end with exactly one done() by the time the bus is unloaded.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/dev/blk.h"
#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "tests/vmbus/hv_sim.h"
#include "tests/vmbus/storvsc_vsp.h"
#include "vmbus/storvsc_var.h"
#include "vmbus/vmbus_var.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NREQ	8

static const struct driver *const fz_table[] = { &storvsc_driver, NULL };
static void *fz_zalloc(size_t n) { return calloc(1, n ? n : 1); }

static int dones[NREQ];

static void
fz_done(struct blk_req *r, int status)
{
	(void)status;
	dones[(uintptr_t)r->ctx]++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_sim s;
	static struct hv hv;
	static struct vmbus vb;
	static struct storvsc_vsp v;
	static struct blk_req rq[NREQ];
	int submitted[NREQ];
	struct hw_dma hc, mem;
	size_t i = 0;

	hv_sim_init(&s);
	hv_sim_offer(&s, hv_sim_guid_storvsc, 2, 15, 0x2f);
	storvsc_vsp_init(&v, &s, 15, 512, 2048);
	storvsc_vsp_add_lun(&v, 1, 512, 1024);
	memset(&hv, 0, sizeof(hv));
	memset(&vb, 0, sizeof(vb));
	memset(rq, 0, sizeof(rq));
	memset(dones, 0, sizeof(dones));
	memset(submitted, 0, sizeof(submitted));
	hv.read_tsc = hv_sim_read_tsc;
	if (hv_probe(&hv, &s.dev) != TERN_OK || hw_dma_alloc(&s.dev, 4096, 4096, &hc) != 0 ||
	    hw_dma_alloc(&s.dev, NREQ * 8192, 4096, &mem) != 0)
		abort();
	hv_hypercall_enable(&hv, hc.pa);
	hv_synic_init(&hv, 0x41);
	vb.bus.zalloc = fz_zalloc;
	vb.bus.free = free;
	vb.timeout_ns = 10000000;
	if (vmbus_connect(&vb, &hv) == TERN_OK)
		vmbus_probe(&vb, fz_table);
	v.f_hold = true;

	while (i < size) {
		uint8_t op = data[i++] % 10;
		struct sim_chan *c = hv_sim_chan(&s, 15);
		struct blk_dev *d = blk_find("sda");
		switch (op) {
		case 9:			/* submit to sdb */
		case 0: {		/* submit to sda */
			if (op == 9)
				d = blk_find("sdb");
			if (d == NULL || i >= size)
				break;
			uint8_t x = data[i++];
			int k = x % NREQ;
			if (rq[k].state == BLK_RS_INFLIGHT)
				break;
			memset(&rq[k], 0, sizeof(rq[k]));
			rq[k].op = (x >> 3) % 3 + 1;
			rq[k].flags = (x & 0x80) ? BLK_REQ_FUA : 0;
			rq[k].lba = (uint64_t)(x >> 4) * 16 % 1000;
			rq[k].done = fz_done;
			rq[k].ctx = (void *)(uintptr_t)k;
			if (rq[k].op != BLK_FLUSH) {
				rq[k].nblocks = 1 + (x & 15);
				rq[k].nsegs = 1;
				rq[k].segs[0].va = (uint8_t *)mem.va + k * 8192 + (x & 1) * 512;
				rq[k].segs[0].len = rq[k].nblocks * 512;
			}
			if (blk_submit(d, 0, &rq[k]) == TERN_OK)
				submitted[k]++;
			break;
		}
		case 1:			/* a held completion, untouched */
			storvsc_vsp_release(&v, 1);
			break;
		case 2: {		/* a held completion, bytes from the input */
			if (c == NULL || !c->open || v.nhold == 0 || i + 4 > size)
				break;
			struct vstor_packet vp = v.hold[0].vp;
			uint64_t id = v.hold[0].id;
			uint8_t sel = data[i++], off = data[i++] % 64, len = data[i++] % 17;
			size_t n = size - i < len ? size - i : len;
			if ((size_t)off + n > sizeof(vp))
				n = sizeof(vp) - off;
			memcpy((uint8_t *)&vp + off, data + i, n);
			i += n;
			if (sel & 1)
				id ^= (uint64_t)data[i - 1] << (8 * (sel >> 5));
			storvsc_vsp_release(&v, 0);
			memmove(&v.hold[0], &v.hold[1], (size_t)(v.nhold - 1) * sizeof(v.hold[0]));
			v.nhold--;
			hv_sim_chan_send(&s, c, (sel & 2) ? (uint16_t)(sel >> 2) : VMBUS_PKT_COMP,
			    0, id, &vp, (sel & 4) ? (size_t)(sel >> 3) % 65 : sizeof(vp));
			/* A dropped real completion would leave its request in
			   flight until unload: that is allowed (never give up). */
			break;
		}
		case 3: {		/* a raw packet */
			if (c == NULL || !c->open || i + 2 > size)
				break;
			uint8_t ty = data[i++], len = data[i++];
			uint8_t p[256] = { 0 };
			size_t n = size - i < len ? size - i : len;
			memcpy(p, data + i, n);
			i += n;
			hv_sim_chan_send(&s, c, ty & 0x0f, 0, ty >> 4, p, len);
			break;
		}
		case 4:
			if (d == NULL)
				d = blk_find("sdb");
			if (d != NULL)
				blk_poll(d, 0);
			break;
		case 5:
			vmbus_poll(&vb);
			break;
		case 6:
			if (c != NULL && c->present && i < size && data[i++] == 0x5a) {
				hv_sim_rescind(&s, 15);
				vmbus_poll(&vb);
			}
			break;
		case 7: {		/* a LUN goes or comes back, the guest is told */
			if (i >= size)
				break;
			uint8_t x = data[i++];
			uint8_t lun = x & 1;
			if (x & 2)
				storvsc_vsp_remove_lun(&v, lun);
			else if (lun == 0)
				v.lun_removed = false;
			else
				storvsc_vsp_add_lun(&v, 1, 512, 1024);
			if (x & 4)
				storvsc_vsp_enumerate(&v);
			break;
		}
		case 8:			/* time passes: back-offs, rescan limit */
			if (i < size)
				s.now_ns += (uint64_t)data[i++] << 18;	/* up to 67 ms */
			break;
		}
	}
	struct blk_dev *d = blk_find("sda");
	if (d == NULL)
		d = blk_find("sdb");
	storvsc_vsp_release(&v, -1);
	if (d != NULL)
		blk_poll(d, 0);
	vmbus_poll(&vb);
	vmbus_unload(&vb);
	/* Every accepted request ended exactly once (done, error or
	   cancelled by the unload). */
	for (int k = 0; k < NREQ; k++)
		if (rq[k].state == BLK_RS_INFLIGHT || dones[k] != submitted[k])
			abort();
	if (blk_first() != NULL)
		abort();
	vmbus_fini(&vb);
	hv_synic_fini(&hv);
	hv_hypercall_disable(&hv);
	hw_dma_free(&s.dev, &hc);
	hw_dma_free(&s.dev, &mem);
	storvsc_vsp_fini(&v);
	hv_sim_fini(&s);
	return 0;
}

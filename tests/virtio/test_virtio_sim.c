/*
 * test_virtio_sim.c - the virtio-blk and virtio-net drivers against the
 * device simulator (virtio_sim.c): I/O with and without indirect tables,
 * size_max/seg_max, MSI-X bound and refused, and one test per hostile
 * device behaviour issue 4 names (FEATURES_OK refused, used id out of
 * range or not in flight, used length past the buffer, queue size 0,
 * DEVICE_NEEDS_RESET, all-ones reads), each followed by a clean detach
 * with every DMA region returned, then an attach/detach loop over all of
 * them; every receive checksum state and bad offload header, and a
 * partially checksummed SYN through the driver into the netstack.  The
 * simulator also checks the driver's side of the protocol;
 * every test asserts it saw no violation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sanitizer/asan_interface.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "tests/hw/kstubs.h"
#include "tests/virtio/virtio_regnames.h"
#include "tests/virtio/virtio_sim.h"
#include "netstack/ns_var.h"
#include "virtio/virtio_var.h"

/* ---- harness ---- */

struct blk_fix {
	struct vsim sim;
	struct virtio_blk_softc *sc;
};

static void
blk_new(struct blk_fix *f, void (*tweak)(struct vsim *))
{
	kstub_reset();
	f->sc = calloc(1, sizeof(*f->sc));
	strcpy(f->sc->bus.hw.name, "virtio-blk7");
	vsim_init(&f->sim, VSIM_BLK, &f->sc->bus.hw);
	virtio_qemu_windows(&f->sc->bus, virtio_blk_regnames);
	f->sc->bus.vd.msix = false;	/* polled unless a test says so */
	if (tweak != NULL)
		tweak(&f->sim);
}

/* Detach (if attached), then check nothing leaked and nothing was
   wrong on the driver's side. */
static void
blk_end(struct blk_fix *f, bool attached)
{
	if (attached)
		virtio_blk_detach_core(f->sc);
	if (f->sim.violations != 0)
		fail_msg("driver violated the protocol: %s", f->sim.violation);
	assert_int_equal(f->sim.dma_live, 0);
	vsim_fini(&f->sim);
	free(f->sc);
}

static int ndone;
static void on_done(struct blk_req *r, int status) { ndone++; }

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static volatile int rw_done;
static void rw_on_done(struct blk_req *r, int status) { rw_done = 1; }

/*
 * Synchronous I/O against the simulator, which completes at notify: buf
 * split into nsegs equal segments (none for a flush), polled up to 100
 * times.  Returns the request's status, submit's error or
 * TERN_ETIMEDOUT.  The request is static so a late completion after a
 * timeout stays harmless.
 */
static int
rw(struct blk_dev *d, int op, uint64_t lba, uint32_t nblocks, void *buf, int nsegs)
{
	static struct blk_req r;

	if (r.state == BLK_RS_INFLIGHT)
		return TERN_EBUSY;
	memset(&r, 0, sizeof(r));
	rw_done = 0;
	r.op = op;
	r.lba = lba;
	r.nblocks = nblocks;
	if (buf != NULL && op != BLK_FLUSH && nsegs > 0 && nsegs <= BLK_MAX_SEGS) {
		uint32_t per = nblocks * d->block_size / (uint32_t)nsegs;
		for (int i = 0; i < nsegs; i++) {
			r.segs[i].va = (uint8_t *)buf + (size_t)i * per;
			r.segs[i].len = per;
		}
		r.nsegs = (uint32_t)nsegs;
	}
	r.done = rw_on_done;
	int rc = blk_submit(d, 0, &r);
	if (rc != TERN_OK)
		return rc;
	for (int i = 0; i < 100 && !rw_done; i++)
		blk_poll(d, 0);
	return rw_done ? r.status : TERN_ETIMEDOUT;
}

/* ---- block ---- */

static void
blk_io(bool indirect)
{
	struct blk_fix f;
	blk_new(&f, NULL);
	if (!indirect)
		f.sim.dev_features &= ~(1ULL << VIRTIO_F_INDIRECT_DESC);
	assert_int_equal(virtio_blk_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct blk_dev *d = &f.sc->blk;
	assert_int_equal(d->nblocks, 16384);
	assert_int_equal(d->block_size, 512);

	enum { BYTES = 64 * 1024 };
	uint8_t *w = malloc(BYTES), *r = calloc(1, BYTES);
	fill(w, BYTES, 7);
	/* Eight segments in one request: a chain of ten buffers. */
	assert_int_equal(rw(d, BLK_WRITE, 100, BYTES / 512, w, 8), TERN_OK);
	assert_int_equal(rw(d, BLK_FLUSH, 0, 0, NULL, 0), TERN_OK);
	assert_memory_equal(f.sim.disk + 100 * 512, w, BYTES);
	assert_int_equal(rw(d, BLK_READ, 100, BYTES / 512, r, 4), TERN_OK);
	assert_memory_equal(r, w, BYTES);
	assert_int_equal(f.sim.flushes, 1);
	if (indirect) {
		/* Every request went as one ring descriptor with a table. */
		assert_int_equal(f.sim.indirect_chains, 3);
		assert_int_equal(f.sc->q.indirect_chains, 3);
		assert_int_equal(d->queue_depth, 64);
	} else {
		assert_int_equal(f.sim.indirect_chains, 0);
		assert_int_equal(d->queue_depth, 128 / 3);
	}
	/* Out of range is refused before the device sees it. */
	assert_int_equal(rw(d, BLK_READ, d->nblocks - 1, 2, r, 1), TERN_EINVAL);
	/* Fill the queue: as many requests in flight as queue_depth says
	   (single-segment ones: three descriptors each without indirect
	   tables), and one more is told to wait. */
	static struct blk_req reqs[65];
	int before = ndone, sent = 0;
	for (uint32_t i = 0; i <= d->queue_depth; i++) {
		memset(&reqs[i], 0, sizeof(reqs[i]));
		reqs[i] = (struct blk_req){ .op = BLK_READ, .lba = i * 8, .nblocks = 8,
			.nsegs = 1, .done = on_done };
		reqs[i].segs[0] = (struct blk_seg){ r + (i % 8) * 4096, 4096 };
		int rc = blk_submit(d, 0, &reqs[i]);
		if (rc == TERN_OK)
			sent++;
		else
			assert_int_equal(rc, TERN_EAGAIN);
	}
	assert_int_equal(sent, (int)d->queue_depth);
	blk_poll(d, 0);
	assert_int_equal(ndone - before, sent);
	free(w);
	free(r);
	blk_end(&f, true);
}

static void test_blk_io_indirect(void **state) { blk_io(true); }
static void test_blk_io_direct(void **state) { blk_io(false); }

static void
limits(struct vsim *s)
{
	s->seg_max = 3;
	s->size_max = 4096;
}

static void
test_blk_seg_limits(void **state)
{
	/* size_max 4 KiB, seg_max 3: 12 KiB in one segment is split into
	   three descriptors; 16 KiB would need four and is refused, never
	   shortened.  The simulator fails the test on any oversized
	   segment or segment count. */
	struct blk_fix f;
	blk_new(&f, limits);
	assert_int_equal(virtio_blk_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct blk_dev *d = &f.sc->blk;
	uint8_t *buf = malloc(16384);
	fill(buf, 16384, 3);
	assert_int_equal(rw(d, BLK_WRITE, 0, 24, buf, 1), TERN_OK);
	assert_memory_equal(f.sim.disk, buf, 12288);
	assert_int_equal(rw(d, BLK_WRITE, 0, 32, buf, 1), TERN_EINVAL);
	assert_int_equal(f.sim.writes, 1);
	free(buf);
	blk_end(&f, true);
}

static void
refuse_fok(struct vsim *s)
{
	s->f.refuse_features_ok = true;
}

/* The device refuses something during attach: attach fails with `rc`
   and a log line, having freed everything (blk_end checks). */
static void
attach_fails(void (*tweak)(struct vsim *), int rc, const char *want_log)
{
	struct blk_fix f;
	blk_new(&f, tweak);
	assert_int_equal(virtio_blk_attach_core(f.sc, &f.sc->bus.vd, 7), rc);
	if (!kstub_logged(want_log))
		fail_msg("log lacks \"%s\":\n%s", want_log, kstub_log);
	if (rc == TERN_ENOTSUP)
		assert_true(f.sim.status & VIRTIO_S_FAILED);
	blk_end(&f, false);
}

static void no_v1(struct vsim *s) { s->f.no_version1 = true; }
static void qsize0(struct vsim *s) { s->f.zero_queue_size = true; }

static void
test_features_ok_refused(void **state)
{
	attach_fails(refuse_fok, TERN_ENOTSUP, "virtio-blk7: device refused FEATURES_OK");
}

static void
test_no_version1(void **state)
{
	attach_fails(no_v1, TERN_ENOTSUP, "virtio-blk7: device does not offer VERSION_1");
}

static void
test_queue_size_zero(void **state)
{
	attach_fails(qsize0, TERN_EINVAL, "virtio-blk7: queue 0 has size 0");
}

/* Attach, then let one fault fire on the second completion: the request
   it hits must fail (not hang, not succeed), the device is treated as
   broken from then on, and detach still frees everything. */
static void
blk_hostile(void (*tweak)(struct vsim *), int want_rc, const char *want_log)
{
	struct blk_fix f;
	blk_new(&f, tweak);
	assert_int_equal(virtio_blk_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct blk_dev *d = &f.sc->blk;
	uint8_t *buf = malloc(8192);
	fill(buf, 8192, 9);
	assert_int_equal(rw(d, BLK_WRITE, 8, 16, buf, 2), TERN_OK);
	int rc = rw(d, BLK_READ, 8, 16, buf, 2);
	assert_int_equal(rc, want_rc);
	if (!kstub_logged(want_log))
		fail_msg("log lacks \"%s\":\n%s", want_log, kstub_log);
	/* Broken stays broken: new requests are refused at once. */
	assert_int_equal(rw(d, BLK_WRITE, 8, 16, buf, 2), TERN_ENODEV);
	free(buf);
	blk_end(&f, true);
}

static void bad_id(struct vsim *s) { s->f.bad_used_id_after = 1; }
static void stale_id(struct vsim *s) { s->f.stale_used_id_after = 1; }
static void needs_reset(struct vsim *s) { s->f.needs_reset_after = 1; }
static void gone(struct vsim *s) { s->f.gone_after = 1; }

static void
test_used_id_out_of_range(void **state)
{
	blk_hostile(bad_id, TERN_ENODEV, "virtio-blk7: queue 0 used id 135 is not in flight");
}

static void
test_used_id_not_in_flight(void **state)
{
	blk_hostile(stale_id, TERN_ENODEV, "is not in flight");
}

static void
test_needs_reset(void **state)
{
	/* The fault fires after the second completion is posted, so that
	   read succeeds; the next request meets the broken device. */
	struct blk_fix f;
	blk_new(&f, needs_reset);
	assert_int_equal(virtio_blk_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct blk_dev *d = &f.sc->blk;
	uint8_t *buf = malloc(4096);
	assert_int_equal(rw(d, BLK_WRITE, 8, 8, buf, 1), TERN_OK);
	assert_int_equal(rw(d, BLK_READ, 8, 8, buf, 1), TERN_OK);
	assert_int_equal(rw(d, BLK_READ, 8, 8, buf, 1), TERN_ENODEV);
	assert_true(kstub_logged("virtio-blk7: device needs reset"));
	assert_int_equal(rw(d, BLK_READ, 8, 8, buf, 1), TERN_ENODEV);
	free(buf);
	blk_end(&f, true);
}

static void
test_device_gone(void **state)
{
	struct blk_fix f;
	blk_new(&f, gone);
	assert_int_equal(virtio_blk_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct blk_dev *d = &f.sc->blk;
	uint8_t *buf = malloc(4096);
	assert_int_equal(rw(d, BLK_WRITE, 8, 8, buf, 1), TERN_OK);
	assert_int_equal(rw(d, BLK_READ, 8, 8, buf, 1), TERN_OK);
	assert_int_equal(rw(d, BLK_READ, 8, 8, buf, 1), TERN_ENODEV);
	assert_true(kstub_logged("virtio-blk7: device gone: registers read all-ones"));
	free(buf);
	blk_end(&f, true);
}

static void
test_device_status_error(void **state)
{
	struct blk_fix f;
	blk_new(&f, NULL);
	f.sim.f.status_after = 0;
	assert_int_equal(virtio_blk_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	uint8_t *buf = malloc(4096);
	assert_int_equal(rw(&f.sc->blk, BLK_READ, 8, 8, buf, 1), TERN_EIO);
	assert_int_equal(f.sc->blk.stats.errors, 1);
	/* An I/O error is the device's answer, not a broken device. */
	assert_int_equal(rw(&f.sc->blk, BLK_READ, 8, 8, buf, 1), TERN_OK);
	free(buf);
	blk_end(&f, true);
}

/* ---- MSI-X ---- */

static void
blk_msix(bool refuse)
{
	struct blk_fix f;
	blk_new(&f, NULL);
	f.sim.f.refuse_msix = refuse;
	f.sc->bus.vd.msix = true;
	f.sc->bus.vd.msix_entry = 1;
	assert_int_equal(virtio_blk_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	uint8_t *buf = malloc(4096);
	assert_int_equal(rw(&f.sc->blk, BLK_WRITE, 8, 8, buf, 1), TERN_OK);
	assert_int_equal(rw(&f.sc->blk, BLK_READ, 8, 8, buf, 1), TERN_OK);
	if (refuse) {
		assert_true(kstub_logged("virtio-blk7: device refused MSI-X entry 1"));
		assert_false(f.sc->bus.vd.msix);
		assert_false(f.sc->q.intr);
		assert_int_equal(f.sim.q[0].msix, VIRTIO_NO_VECTOR);
		assert_int_equal(f.sim.irqs, 0);	/* NO_INTERRUPT was set */
	} else {
		assert_true(f.sc->q.intr);
		assert_int_equal(f.sim.q[0].msix, 1);
		assert_int_equal(f.sim.config_msix, 1);
		assert_int_equal(f.sim.irqs, 2);
	}
	free(buf);
	blk_end(&f, true);
}

static void test_msix_bound(void **state) { blk_msix(false); }
static void test_msix_refused_polls(void **state) { blk_msix(true); }

/* ---- network ---- */

struct net_fix {
	struct vsim sim;
	struct virtio_net_softc *sc;
	int rx_frames;
	uint8_t last[10240];
	uint32_t last_len;
	int last_nbufs;		/* buffers in the last frame's chain */
	uint16_t last_flags, last_cstart, last_coff;
	struct nic_buf *held[256];
	int nheld;
	bool hold;
};

static void
net_rx(void *upper, struct nic_buf *b)
{
	struct net_fix *f = upper;
	f->rx_frames++;
	f->last_len = 0;
	f->last_nbufs = 0;
	for (const struct nic_buf *c = b; c != NULL; c = c->next) {
		memcpy(f->last + f->last_len, c->data, c->len);
		f->last_len += c->len;
		f->last_nbufs++;
	}
	f->last_flags = b->flags;
	f->last_cstart = b->csum_start;
	f->last_coff = b->csum_offset;
	if (f->hold)
		f->held[f->nheld++] = b;
	else
		nic_buf_release_chain(b);
}

static void
net_new(struct net_fix *f)
{
	memset(f, 0, sizeof(*f));
	kstub_reset();
	f->sc = calloc(1, sizeof(*f->sc));
	strcpy(f->sc->bus.hw.name, "virtio-net7");
	vsim_init(&f->sim, VSIM_NET, &f->sc->bus.hw);
	virtio_qemu_windows(&f->sc->bus, virtio_net_regnames);
	f->sc->bus.vd.msix = false;
}

static void
net_end(struct net_fix *f)
{
	virtio_net_detach_core(f->sc);
	if (f->sim.violations != 0)
		fail_msg("driver violated the protocol: %s", f->sim.violation);
	assert_int_equal(f->sim.dma_live, 0);
	vsim_fini(&f->sim);
	free(f->sc);
}

static int released;
static void tx_release(struct nic_buf *b) { released++; }

/* Without VIRTIO_NET_F_MAC the core makes a locally administered address
   from hw_dev_tag(): on PCI the same bytes as the bus location always
   gave (02:74:65:bus:dev:fn+unit), on VMBus the instance GUID's tail. */
static void
test_net_fallback_mac(void **state)
{
	struct net_fix f;
	net_new(&f);
	f.sim.dev_features &= ~(1ULL << VIRTIO_NET_F_MAC);
	f.sc->bus.hw.bus = HW_BUS_PCI;
	f.sc->bus.hw.pci_bus = 0;
	f.sc->bus.hw.pci_dev = 3;
	f.sc->bus.hw.pci_fn = 0;
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	static const uint8_t want[6] = { 0x02, 0x74, 0x65, 0x00, 0x03, 0x07 };
	assert_memory_equal(f.sc->nic.mac, want, 6);
	net_end(&f);

	net_new(&f);
	f.sim.dev_features &= ~(1ULL << VIRTIO_NET_F_MAC);
	f.sc->bus.hw.bus = HW_BUS_VMBUS;
	for (int i = 0; i < 16; i++)
		f.sc->bus.hw.vmbus_instance[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 1), TERN_OK);
	static const uint8_t want2[6] = { 0x02, 0x74, 0x65, 0xad, 0xae, 0xb0 };
	assert_memory_equal(f.sc->nic.mac, want2, 6);
	net_end(&f);
}

static void
test_net_tx_rx(void **state)
{
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	assert_int_equal(n->mac[5], 0x56);
	assert_true(n->link_up);
	int posted = vsim_net_posted(&f.sim);
	assert_int_equal(posted, VNET_RX_BUFS);

	/* TX: a three-piece chain arrives as one frame, by indirect table. */
	static uint8_t a[14], b[20], c[300];
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	fill(c, sizeof(c), 3);
	struct nic_buf bc = { .data = c, .len = sizeof(c), .release = tx_release };
	struct nic_buf bb = { .data = b, .len = sizeof(b), .next = &bc, .release = tx_release };
	struct nic_buf ba = { .data = a, .len = sizeof(a), .next = &bb, .release = tx_release };
	released = 0;
	assert_int_equal(n->ops->tx(n, 0, &ba, NULL), TERN_OK);
	assert_int_equal(f.sim.nframes, 1);
	assert_int_equal(f.sim.frame_len[0], 334);
	assert_memory_equal(f.sim.frames[0], a, 14);
	assert_memory_equal(f.sim.frames[0] + 34, c, 300);
	assert_int_equal(f.sim.indirect_chains, 1);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(released, 3);

	/* RX: three times as many frames as buffers, each released after
	   delivery, so buffers must be recycled. */
	uint8_t frame[600];
	for (int i = 0; i < 3 * VNET_RX_BUFS; i++) {
		fill(frame, sizeof(frame), (uint32_t)i);
		assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
		nic_poll_queue(n, 0, 64);
		assert_int_equal(f.rx_frames, i + 1);
		assert_int_equal(f.last_len, sizeof(frame));
		assert_memory_equal(f.last, frame, sizeof(frame));
	}
	assert_int_equal(vsim_net_posted(&f.sim), posted);
	assert_int_equal(n->stats.rx_packets, 3 * VNET_RX_BUFS);
	net_end(&f);
}

/*
 * NIC interface v2 on virtio-net: TX metadata maps onto the virtio header
 * (csum_start = l4_off, csum_offset = the protocol's checksum field, so
 * the simulator completes a valid TCP checksum), a protocol without one
 * is refused, and each frame is counted in queue 0's counters; the queue
 * is polled (no MSI-X vector) and other queues are not ours.
 */
/*
 * MTU 9000 with mergeable receive buffers: the device offers MTU 9000, a
 * 9014-byte frame fills five buffers and goes up as one five-buffer
 * chain, every buffer reposted after release; a chain whose checksum
 * offsets lie past its end is dropped and counted, its buffers back.
 */
static void
test_net_mrg_rxbuf_jumbo(void **state)
{
	struct net_fix f;
	net_new(&f);
	f.sim.dev_features |= 1ULL << VIRTIO_NET_F_MTU;
	uint16_t mtu = 9000;
	memcpy(f.sim.cfg + VIRTIO_NET_CFG_MTU, &mtu, 2);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	assert_int_equal(n->mtu, 9000);

	static uint8_t jumbo[9014];
	fill(jumbo, sizeof(jumbo), 11);
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 5 };
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &h, jumbo, sizeof(jumbo)), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 1);
	assert_int_equal(f.last_nbufs, 5);
	assert_int_equal(f.last_len, sizeof(jumbo));
	assert_memory_equal(f.last, jumbo, sizeof(jumbo));
	assert_int_equal(f.last_flags, NIC_RXCSUM_GOOD);
	assert_int_equal(n->stats.rx_bad_offload, 0);
	assert_int_equal(n->stats.rx_bytes, sizeof(jumbo));
	assert_int_equal(n->queue[0].stats.rx_packets, 1);
	assert_int_equal(vsim_net_posted(&f.sim), VNET_RX_BUFS);

	/* Offsets past the assembled frame: dropped, counted, reposted. */
	struct virtio_net_hdr bad = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = 9000, .csum_offset = 16, .num_buffers = 5 };
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &bad, jumbo, sizeof(jumbo)), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 1);
	assert_int_equal(n->stats.rx_bad_offload, 1);
	assert_int_equal(vsim_net_posted(&f.sim), VNET_RX_BUFS);
	/* A normal frame after it is intact. */
	uint8_t frame[200];
	fill(frame, sizeof(frame), 12);
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 2);
	assert_int_equal(f.last_nbufs, 1);
	assert_memory_equal(f.last, frame, sizeof(frame));
	net_end(&f);
}

/* TSO (VIRTIO_NET_F_HOST_TSO4): negotiated with CSUM, the frame's
   virtio header carries gso_type, gso_size and hdr_len, and the
   simulator cuts it into segments whose headers and checksums verify
   and whose payloads are the frame's, in order.  TSO asked of a device
   that did not offer it, or without the checksum offload, is refused. */
static void
test_net_tso(void **state)
{
	(void)state;
	struct net_fix f;
	net_new(&f);
	f.sim.dev_features |= 1ULL << VIRTIO_NET_F_HOST_TSO4;
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	assert_true(n->offloads & NIC_OFF_TSO4);

	static uint8_t hdr[54], pay[3000];
	memset(hdr, 0, sizeof(hdr));
	fill(pay, sizeof(pay), 9);
	hdr[12] = 0x08;
	hdr[14] = 0x45;
	wr16(hdr + 16, 20 + 20 + sizeof(pay));
	wr16(hdr + 18, 0x1234);
	hdr[22] = 64;
	hdr[23] = IPPROTO_TCP;
	wr32(hdr + 26, 0x0a000001);
	wr32(hdr + 30, 0x0a000002);
	wr32(hdr + 38, 1000);			/* sequence number */
	hdr[46] = 5 << 4;
	hdr[47] = 0x18;				/* ACK, PSH */
	uint32_t ps = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + IPPROTO_TCP + 20 + sizeof(pay);
	ps = (ps & 0xffff) + (ps >> 16);
	wr16(hdr + 50, (uint16_t)ps);
	struct nic_buf b2 = { .data = pay + 1500, .len = 1500, .release = tx_release };
	struct nic_buf b1 = { .data = pay, .len = 1500, .release = tx_release, .next = &b2 };
	struct nic_buf b0 = { .data = hdr, .len = sizeof(hdr), .release = tx_release, .next = &b1 };
	struct nic_tx_meta m = { .l3_off = 14, .l4_off = 34, .l4_proto = NIC_PROTO_TCP,
		.mss = 1000, .flags = NIC_TX_CSUM_L4 | NIC_TX_TSO };
	struct nic_tx_meta nocsum = m;
	nocsum.flags = NIC_TX_TSO;
	assert_int_equal(nic_tx(n, 0, &b0, &nocsum), TERN_EINVAL);
	assert_int_equal(nic_tx(n, 0, &b0, &m), TERN_OK);
	assert_int_equal(f.sim.violations, 0);
	assert_int_equal(f.sim.gso_frames, 1);
	assert_int_equal(f.sim.nframes, 3);
	assert_int_equal(n->stats.tso_frames, 1);
	for (int k = 0; k < 3; k++) {
		const uint8_t *o = f.sim.frames[k];
		assert_int_equal(f.sim.frame_len[k], 54 + 1000);
		assert_int_equal(rd16(o + 16), 20 + 20 + 1000);
		assert_int_equal(rd16(o + 18), 0x1234 + k);
		assert_int_equal(ns_csum(o + 14, 20, 0), 0);
		assert_int_equal(rd32(o + 38), 1000 + 1000 * (uint32_t)k);
		assert_int_equal(o[47], k == 2 ? 0x18 : 0x10);
		uint32_t p1 = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + IPPROTO_TCP + 20 + 1000;
		assert_int_equal(ns_csum(o + 34, 20 + 1000, p1), 0);
		assert_memory_equal(o + 54, pay + 1000 * k, 1000);
	}
	net_end(&f);

	/* A device without HOST_TSO4: no TSO offload, TSO refused. */
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	n = &f.sc->nic;
	assert_false(n->offloads & NIC_OFF_TSO4);
	assert_int_equal(nic_tx(n, 0, &b0, &m), TERN_EINVAL);
	assert_int_equal(f.sim.nframes, 0);
	net_end(&f);
}

/* A doorbell the device never acts on (seen under load on QEMU's tap:
   frames published, avail_event passed, no completion) stalls the queue,
   since later kicks are suppressed; the device check forces one doorbell
   per stall and the frames go.  An idle queue costs one forced doorbell,
   not one per check. */
static void
test_net_lost_notify_recovered(void **state)
{
	(void)state;
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	assert_true(f.sc->q[0].txq.event_idx);
	static uint8_t fr[64];
	memset(fr, 0, sizeof(fr));
	struct nic_buf b1 = { .data = fr, .len = sizeof(fr), .release = tx_release };
	struct nic_buf b2 = b1;
	f.sim.lose_notifies = 1;
	assert_int_equal(nic_tx(n, 0, &b1, NULL), TERN_OK);
	assert_int_equal(nic_tx(n, 0, &b2, NULL), TERN_OK);
	assert_int_equal(f.sim.lost_notifies, 1);
	assert_int_equal(f.sim.nframes, 0);	/* the second kick was suppressed */
	for (int i = 0; i < 2 * VNET_DEV_CHECK_PASSES; i++)
		nic_poll_queue(n, 0, 64);
	assert_int_equal(f.sim.nframes, 2);
	assert_int_equal(n->stats.tx_rekicks, 1);
	uint64_t before = f.sim.notifies;
	for (int i = 0; i < 20 * VNET_DEV_CHECK_PASSES; i++)
		nic_poll_queue(n, 0, 64);
	assert_true(f.sim.notifies - before <= 1);
	assert_true(n->stats.rx_rekicks <= 1);
	net_end(&f);
}

/* The transmit-ready rule (kernel/dev/nic.h) with a device that
   completes transmits late, as QEMU does from its own thread: a full
   ring refuses (TERN_EAGAIN), the poll that frees a slot calls tx_ready
   once, and later polls do not call it again until the next refusal. */
static int ready_calls, ready_queue;

static void
count_ready(void *upper, int q)
{
	(void)upper;
	ready_calls++;
	ready_queue = q;
}

static void
test_net_tx_ready_after_full(void **state)
{
	(void)state;
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	n->tx_ready = count_ready;
	assert_true(n->tx_wakes);
	f.sim.hold_tx = true;
	ready_calls = 0;

	static uint8_t fr[64];
	static struct nic_buf b[VNET_TX_SLOTS + 1];
	memset(fr, 0, sizeof(fr));
	int sent = 0, rc = TERN_OK;
	released = 0;
	while (sent <= VNET_TX_SLOTS) {
		b[sent] = (struct nic_buf){ .data = fr, .len = sizeof(fr), .release = tx_release };
		if ((rc = nic_tx(n, 0, &b[sent], NULL)) != TERN_OK)
			break;
		sent++;
	}
	assert_int_equal(rc, TERN_EAGAIN);
	assert_true(sent > 0);
	assert_int_equal(f.sim.ntxheld, sent);
	assert_int_equal(nic_poll_queue(n, 0, 64), 0);	/* nothing completed yet */
	assert_int_equal(ready_calls, 0);
	assert_int_equal(nic_tx(n, 0, &b[sent], NULL), TERN_EAGAIN);	/* still full */

	assert_int_equal(vsim_net_tx_release(&f.sim, 3), 3);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(released, 3);
	assert_int_equal(ready_calls, 1);		/* once per refusal */
	assert_int_equal(ready_queue, 0);
	assert_int_equal(vsim_net_tx_release(&f.sim, 2), 2);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(ready_calls, 1);		/* no refusal since */
	assert_int_equal(nic_tx(n, 0, &b[sent], NULL), TERN_OK);
	f.sim.hold_tx = false;
	vsim_net_tx_release(&f.sim, 1024);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(ready_calls, 1);
	assert_int_equal(released, sent + 1);
	net_end(&f);
}

static void
test_net_meta_v2_and_queue_stats(void **state)
{
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	assert_true(n->offloads & NIC_OFF_TX_CSUM);
	assert_int_equal(n->nqueues, 1);
	assert_int_equal(n->queue[0].msix_vector, NIC_NO_VECTOR);

	static uint8_t fr[84];
	memset(fr, 0, sizeof(fr));
	fill(fr + 54, 30, 4);
	fr[12] = 0x08;
	fr[14] = 0x45;
	wr16(fr + 16, 70);
	fr[23] = IPPROTO_TCP;
	wr32(fr + 26, 0x0a000001);
	wr32(fr + 30, 0x0a000002);
	fr[46] = 5 << 4;
	uint32_t ps = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + IPPROTO_TCP + 50;
	ps = (ps & 0xffff) + (ps >> 16);
	wr16(fr + 34 + 16, (uint16_t)ps);	/* the pseudo-header sum */
	struct nic_buf b = { .data = fr, .len = sizeof(fr), .release = tx_release };
	struct nic_tx_meta m = { .l3_off = 14, .l4_off = 34, .l4_proto = NIC_PROTO_TCP,
		.mss = 1460, .flags = NIC_TX_CSUM_L4 };
	released = 0;
	assert_int_equal(nic_tx(n, 0, &b, &m), TERN_OK);
	assert_int_equal(f.sim.nframes, 1);
	const uint8_t *o = f.sim.frames[0];
	assert_int_equal(ns_csum(o + 34, 50, 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + IPPROTO_TCP + 50), 0);
	/* ICMP has no checksum a device completes; queue 1 does not exist. */
	struct nic_tx_meta icmp = { .l3_off = 14, .l4_off = 34, .l4_proto = 1,
		.flags = NIC_TX_CSUM_L4 };
	assert_int_equal(nic_tx(n, 0, &b, &icmp), TERN_EINVAL);
	assert_int_equal(nic_tx(n, 1, &b, NULL), TERN_EINVAL);
	assert_int_equal(f.sim.nframes, 1);
	assert_int_equal(n->queue[0].stats.tx_packets, 1);
	assert_int_equal(n->queue[0].stats.tx_bytes, sizeof(fr));

	uint8_t frame[100];
	fill(frame, sizeof(frame), 5);
	assert_int_equal(nic_rx_pending(n), 0);		/* a look at an empty ring */
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	assert_int_equal(nic_poll_queue(n, 1, 64), 0);	/* not a queue of ours */
	assert_int_equal(f.rx_frames, 0);
	assert_int_equal(nic_rx_pending(n), 1);
	assert_int_equal(nic_rx_pending(n), 1);		/* looking took nothing */
	assert_false(n->ops->rx_pending(n, 1));
	assert_int_equal(f.rx_frames, 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(nic_rx_pending(n), 0);
	assert_int_equal(released, 1);
	assert_int_equal(f.rx_frames, 1);
	assert_int_equal(n->queue[0].stats.rx_packets, 1);
	assert_int_equal(n->queue[0].stats.rx_bytes, sizeof(frame));
	assert_int_equal(n->queue[0].stats.polls, 1);
	assert_int_equal(n->queue[1].stats.polls, 0);
	net_end(&f);
}

static void
test_net_used_len_oversized(void **state)
{
	/* A used length past the 2 KiB buffer: dropped, counted, and the
	   buffer goes back to the device; the next frame is fine. */
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	uint8_t frame[100] = { 1, 2, 3 };
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 4000), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 0);
	assert_int_equal(n->stats.rx_errors, 1);
	assert_int_equal(n->stats.bad_completions, 1);
	assert_int_equal(vsim_net_posted(&f.sim), VNET_RX_BUFS);
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 1);
	net_end(&f);
}

/* DEVICE_NEEDS_RESET in the middle of traffic (ternsim --fault): the
   driver recovers in place with virtio_net_recover - same struct nic and
   MAC, the buffer the stack holds posted only once it is released, a
   transmit chain in flight released - and frames flow again. */
static void
test_net_recover(void **state)
{
	struct net_fix f;
	net_new(&f);
	f.sim.f.needs_reset_after = 1;
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	uint8_t mac[6];
	memcpy(mac, n->mac, 6);
	uint8_t frame[100] = { 1, 2, 3 };
	f.hold = true;
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	n->ops->poll(n, 0, 64);
	f.hold = false;
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	/* The second completion set NEEDS_RESET: the device stops. */
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), -1);
	/* Status is read once in VNET_DEV_CHECK_PASSES poll passes. */
	for (int i = 0; i < VNET_DEV_CHECK_PASSES; i++)
		n->ops->poll(n, 0, 64);
	assert_true(f.sc->bus.vd.broken);
	assert_int_equal(f.rx_frames, 2);
	assert_int_equal(f.nheld, 1);

	assert_int_equal(virtio_net_recover(f.sc), TERN_OK);
	assert_false(f.sc->bus.vd.broken);
	assert_memory_equal(n->mac, mac, 6);
	assert_true(kstub_logged("recovered: 127 receive buffers posted, 1 held"));
	assert_int_equal(vsim_net_posted(&f.sim), VNET_RX_BUFS - 1);
	nic_buf_release(f.held[0]);
	n->ops->poll(n, 0, 64);	/* kicks the buffer given back */
	assert_int_equal(vsim_net_posted(&f.sim), VNET_RX_BUFS);
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	n->ops->poll(n, 0, 64);
	assert_int_equal(f.rx_frames, 3);
	net_end(&f);
}

/* The bus frees a softc after detach: here it is poisoned instead (any
   touch is an ASan error) so the simulator, which keeps a pointer to its
   hw_dev, can still be finished. */
static void
softc_gone(struct virtio_net_softc *sc)
{
	ASAN_POISON_MEMORY_REGION(sc, sizeof(*sc));
}

static void
softc_free(struct virtio_net_softc *sc, struct vsim *sim)
{
	ASAN_UNPOISON_MEMORY_REGION(sc, sizeof(*sc));
	vsim_fini(sim);
	free(sc);
}

static void
test_net_held_buffers_and_detach(void **state)
{
	/* The upper layer holds every receive buffer: the device runs dry
	   (inject fails, nothing is overwritten).  Then the device is
	   detached and its softc freed, as the bus does, while the stack
	   still holds them (kernel/dev/nic.h, lifetime): their data stays
	   readable (ASan would see freed memory), releasing them touches
	   nothing of the softc, and the pool's memory goes back with the
	   last one, not before. */
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	f.hold = true;
	uint8_t frame[64] = { 0 };
	int delivered = 0;
	while (frame[20] = (uint8_t)delivered,
	    vsim_net_inject(&f.sim, frame, sizeof(frame), 0) == 0) {
		nic_poll_queue(n, 0, 64);
		delivered++;
	}
	assert_int_equal(delivered, VNET_RX_BUFS);
	assert_int_equal(f.nheld, VNET_RX_BUFS);
	virtio_net_detach_core(f.sc);
	softc_gone(f.sc);
	assert_true(kstub_logged("virtio-net7: 128 receive buffers of queue 0 still held by the stack"));
	assert_int_equal(f.sim.dma_live, 1);	/* the pool, nothing else */
	for (int i = 0; i < f.nheld; i++) {
		assert_int_equal(f.held[i]->len, sizeof(frame));
		assert_int_equal(f.held[i]->data[20], (uint8_t)i);
		nic_buf_release(f.held[i]);
		assert_int_equal(f.sim.dma_live, i + 1 < f.nheld ? 1 : 0);
	}
	if (f.sim.violations != 0)
		fail_msg("driver violated the protocol: %s", f.sim.violation);
	softc_free(f.sc, &f.sim);
}

/* A detach while the stack holds no buffer frees the pool at once, and
   one held buffer keeps it until its release. */
static void
test_net_detach_one_held(void **state)
{
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	uint8_t frame[64] = { 9 };
	f.hold = true;
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	nic_poll_queue(n, 0, 64);
	f.hold = false;
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.nheld, 1);
	virtio_net_detach_core(f.sc);
	softc_gone(f.sc);
	assert_int_equal(f.sim.dma_live, 1);
	assert_int_equal(f.held[0]->data[0], 9);
	nic_buf_release(f.held[0]);
	assert_int_equal(f.sim.dma_live, 0);
	softc_free(f.sc, &f.sim);
}

static void
test_net_bad_used_id(void **state)
{
	struct net_fix f;
	net_new(&f);
	f.sim.f.bad_used_id_after = 0;
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	uint8_t frame[64] = { 0 };
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 0);
	assert_true(f.sc->bus.vd.broken);
	assert_true(kstub_logged("virtio-net7: queue 0 used id"));
	/* A broken device takes no more frames. */
	static uint8_t eth[60];
	struct nic_buf b = { .data = eth, .len = 60, .release = tx_release };
	assert_int_equal(n->ops->tx(n, 0, &b, NULL), TERN_ENODEV);
	net_end(&f);
}

static void
test_net_rx_csum_states(void **state)
{
	/* The virtio header's checksum flags become the NIC contract's
	   receive checksum states; offload metadata the device must not send
	   drops the frame (counted), never reaches the stack, and the buffer
	   goes back to the device. */
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	assert_true(virtio_has(&f.sc->bus.vd, VIRTIO_NET_F_GUEST_CSUM));
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	assert_true(n->offloads & NIC_OFF_RX_CSUM);
	uint8_t frame[100];
	fill(frame, sizeof(frame), 5);
	static const struct {
		uint8_t flags, gso;
		uint16_t start, off;
		int delivered;		/* 1, or 0 for dropped as bad offload */
		uint16_t state;
	} cases[] = {
		{ 0, 0, 0, 0, 1, NIC_RXCSUM_NONE },
		{ VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 1, NIC_RXCSUM_GOOD },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 34, 16, 1, NIC_RXCSUM_PARTIAL },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID, 0, 34, 6, 1,
		  NIC_RXCSUM_PARTIAL },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 96, 2, 1, NIC_RXCSUM_PARTIAL }, /* last 2 bytes */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 97, 2, 0, 0 },	/* one past the end */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 34, 600, 0, 0 },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0xffff, 0xffff, 0, 0 },
		{ 0, 1 /* TCPV4 */, 0, 0, 0, 0 },			/* GSO not negotiated */
		{ 0, 0x81 /* TCPV4 | ECN */, 0, 0, 0, 0 },
	};
	int want_rx = 0, want_bad = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct virtio_net_hdr h = { .flags = cases[i].flags, .gso_type = cases[i].gso,
			.csum_start = cases[i].start, .csum_offset = cases[i].off,
			.num_buffers = 1 };
		assert_int_equal(vsim_net_inject_hdr(&f.sim, &h, frame, sizeof(frame)), 0);
		nic_poll_queue(n, 0, 64);
		want_rx += cases[i].delivered;
		want_bad += !cases[i].delivered;
		if (f.rx_frames != want_rx || (int)n->stats.rx_bad_offload != want_bad)
			fail_msg("case %zu: %d delivered (want %d), %d bad offload (want %d)", i,
			    f.rx_frames, want_rx, (int)n->stats.rx_bad_offload, want_bad);
		if (cases[i].delivered) {
			assert_int_equal(f.last_flags & NIC_RXCSUM_MASK, cases[i].state);
			assert_memory_equal(f.last, frame, sizeof(frame));
			if (cases[i].state == NIC_RXCSUM_PARTIAL) {
				assert_int_equal(f.last_cstart, cases[i].start);
				assert_int_equal(f.last_coff, cases[i].off);
			}
		}
	}
	assert_true(kstub_logged("virtio-net7: dropped a received frame: checksum offsets outside"));
	assert_int_equal(vsim_net_posted(&f.sim), VNET_RX_BUFS);

	/* A frame spanning three buffers (mergeable receive buffers; more
	   than our MTU): dropped with its two continuation buffers, whose
	   bytes are never taken for a header; the next frame is intact. */
	static uint8_t jumbo[5000];
	fill(jumbo, sizeof(jumbo), 9);
	struct virtio_net_hdr h3 = { .num_buffers = 3 };
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &h3, jumbo, sizeof(jumbo)), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, want_rx);
	assert_int_equal(n->stats.rx_bad_offload, want_bad + 1);
	struct virtio_net_hdr h1 = { .num_buffers = 1 };
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &h1, frame, sizeof(frame)), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, want_rx + 1);
	assert_int_equal(f.last_len, sizeof(frame));
	assert_memory_equal(f.last, frame, sizeof(frame));
	assert_int_equal(vsim_net_posted(&f.sim), VNET_RX_BUFS);
	/* num_buffers 0 is nonsense: a device error. */
	struct virtio_net_hdr h0 = { .num_buffers = 0 };
	uint64_t errs = n->stats.rx_errors;
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &h0, frame, sizeof(frame)), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(n->stats.rx_errors, errs + 1);
	assert_int_equal(f.rx_frames, want_rx + 1);
	net_end(&f);
}

/*
 * The whole receive path on a tap with a vnet header: the host sends a
 * TCP SYN with only the pseudo-header sum in its checksum field and
 * NEEDS_CSUM set; virtio-net hands it up as PARTIAL and the netstack
 * accepts it and answers.  The same frame without the flag is a bad
 * checksum.  The SYN-ACK goes out with NEEDS_CSUM and the simulator
 * completes it, as the host would.
 */
struct e2e {
	uint64_t now;
	int accepted;
};
static uint64_t e2e_now(void *ctx) { return ((struct e2e *)ctx)->now; }
static uint32_t e2e_random(void *ctx) { return 0x9e3779b9u; }
static void e2e_accept(void *ctx, struct tcp_pcb *p) { ((struct e2e *)ctx)->accepted++; }

static size_t
e2e_syn(uint8_t *fr, const uint8_t *mac, bool partial)
{
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	uint32_t src = 0x0a630001, dst = 0x0a630002;	/* 10.99.0.1 -> .2 */
	memcpy(fr, mac, 6);
	memcpy(fr + 6, peer, 6);
	fr[12] = 0x08; fr[13] = 0x00;
	uint8_t *ip = fr + 14, *t = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45; ip[3] = 40; ip[8] = 64; ip[9] = IPPROTO_TCP;
	wr32(ip + 12, src);
	wr32(ip + 16, dst);
	wr16(ip + 10, ns_csum(ip, 20, 0));
	wr16(t, 40000); wr16(t + 2, 80); wr32(t + 4, 1000);
	t[12] = 0x50; t[13] = 0x02; wr16(t + 14, 65535);
	uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	    IPPROTO_TCP + 20;
	if (partial) {
		while (pseudo >> 16)
			pseudo = (pseudo & 0xffff) + (pseudo >> 16);
		wr16(t + 16, (uint16_t)pseudo);
	} else {
		wr16(t + 16, ns_csum(t, 20, pseudo));
	}
	return 54;
}

static void
test_net_partial_csum_reaches_tcp(void **state)
{
	struct net_fix f;
	static struct netstack ns;
	static struct ns_txbuf txmem[NS_TXBUFS];
	struct e2e ctx = { .now = 1000000000ULL };
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	struct netstack_port port = { e2e_now, e2e_random, NULL, &ctx };
	netstack_attach(&ns, n, &port, txmem);
	netstack_set_static(&ns, 0x0a630002, 0xffffff00u, 0x0a630001, 0);
	assert_int_equal(tcp_listen(&ns, 80, e2e_accept, &ctx), TERN_OK);
	netstack_poll(&ns);
	int tx0 = f.sim.nframes;

	uint8_t fr[64];
	size_t len = e2e_syn(fr, n->mac, true);
	/* With the flag: accepted, answered (ARP for the peer first). */
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = 34, .csum_offset = 16, .num_buffers = 1 };
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &h, fr, (uint32_t)len), 0);
	netstack_poll(&ns);
	assert_int_equal(ns.tcp.st.segs_in, 1);
	assert_int_equal(ns.tcp.st.bad_csum, 0);
	assert_int_equal(ns.cnt.rx_csum_partial, 1);
	assert_true(f.sim.nframes > tx0);
	/* Without it the partial sum is a bad checksum: dropped, counted. */
	struct virtio_net_hdr plain = { .num_buffers = 1 };
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &plain, fr, (uint32_t)len), 0);
	netstack_poll(&ns);
	assert_int_equal(ns.tcp.st.segs_in, 1);
	assert_int_equal(ns.tcp.st.bad_csum, 1);
	/* Every frame the stack sent that the device checksummed is valid
	   on the wire (the simulator completed NEEDS_CSUM). */
	for (int i = tx0; i < f.sim.nframes; i++) {
		const uint8_t *o = f.sim.frames[i];
		if (f.sim.frame_len[i] < 54 || o[12] != 0x08 || o[13] != 0 || o[23] != IPPROTO_TCP)
			continue;
		size_t tl = rd16(o + 16) - 20u;
		uint32_t ps = (rd32(o + 26) >> 16) + (rd32(o + 26) & 0xffff) +
		    (rd32(o + 30) >> 16) + (rd32(o + 30) & 0xffff) + IPPROTO_TCP + (uint32_t)tl;
		assert_int_equal(ns_csum(o + 34, tl, ps), 0);
	}
	virtio_net_detach_core(f.sc);
	if (f.sim.violations != 0)
		fail_msg("driver violated the protocol: %s", f.sim.violation);
	assert_int_equal(f.sim.dma_live, 0);
	vsim_fini(&f.sim);
	free(f.sc);
}

/*
 * MTU 9000 end to end: the stack on virtio-net with mergeable buffers
 * advertises MSS 8960, and a 9014-byte segment arriving in five buffers
 * reaches the application whole, piece by piece with its buffers, every
 * buffer reposted after.
 */
static size_t jumbo_got, jumbo_pieces;
static uint8_t jumbo_data[8960];
static void
jumbo_recv(void *ctx, struct tcp_pcb *p, const uint8_t *d, size_t n, struct nic_buf *b)
{
	if (n > 0 && jumbo_got + n <= sizeof(jumbo_data))
		assert_memory_equal(d, jumbo_data + jumbo_got, n);
	jumbo_got += n;
	jumbo_pieces += n > 0;
}
static void jumbo_accept(void *ctx, struct tcp_pcb *p) { p->cbs.recv = jumbo_recv; }

static size_t
jumbo_seg(uint8_t *fr, const uint8_t *mac, uint8_t flags, uint32_t seq, uint32_t ack,
    const uint8_t *data, size_t dlen)
{
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	uint32_t src = 0x0a630001, dst = 0x0a630002;
	memcpy(fr, mac, 6);
	memcpy(fr + 6, peer, 6);
	fr[12] = 0x08; fr[13] = 0x00;
	uint8_t *ip = fr + 14, *t = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45; wr16(ip + 2, (uint16_t)(40 + dlen)); ip[8] = 64; ip[9] = IPPROTO_TCP;
	wr32(ip + 12, src);
	wr32(ip + 16, dst);
	wr16(ip + 10, ns_csum(ip, 20, 0));
	wr16(t, 40000); wr16(t + 2, 80); wr32(t + 4, seq); wr32(t + 8, ack);
	t[12] = 0x50; t[13] = flags; wr16(t + 14, 65535);
	if (dlen > 0)
		memcpy(t + 20, data, dlen);
	uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	    IPPROTO_TCP + (uint32_t)(20 + dlen);
	wr16(t + 16, ns_csum(t, 20 + dlen, pseudo));
	return 54 + dlen;
}

static void
test_net_jumbo_reaches_tcp(void **state)
{
	struct net_fix f;
	static struct netstack ns;
	static struct ns_txbuf txmem[NS_TXBUFS];
	struct e2e ctx = { .now = 1000000000ULL };
	net_new(&f);
	f.sim.dev_features |= 1ULL << VIRTIO_NET_F_MTU;
	uint16_t mtu = 9000;
	memcpy(f.sim.cfg + VIRTIO_NET_CFG_MTU, &mtu, 2);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	struct netstack_port port = { e2e_now, e2e_random, NULL, &ctx };
	netstack_attach(&ns, n, &port, txmem);
	netstack_set_static(&ns, 0x0a630002, 0xffffff00u, 0x0a630001, 0);
	assert_int_equal(tcp_listen(&ns, 80, jumbo_accept, &ctx), TERN_OK);
	for (size_t i = 0; i < sizeof(jumbo_data); i++)
		jumbo_data[i] = (uint8_t)(i * 13 + 5);
	jumbo_got = jumbo_pieces = 0;

	/* The peer's ARP request teaches the stack its address. */
	uint8_t arp[60] = { 0 };
	memset(arp, 0xff, 6);
	arp[6] = 0x02; arp[11] = 0x99; arp[12] = 0x08; arp[13] = 0x06;
	uint8_t *a = arp + 14;
	a[1] = 1; a[2] = 0x08; a[4] = 6; a[5] = 4; a[7] = 1;
	a[8] = 0x02; a[13] = 0x99;
	wr32(a + 14, 0x0a630001);
	wr32(a + 24, 0x0a630002);
	struct virtio_net_hdr one = { .num_buffers = 1 };
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &one, arp, sizeof(arp)), 0);
	netstack_poll(&ns);

	static uint8_t fr[9100];
	size_t len = jumbo_seg(fr, n->mac, 0x02, 1000, 0, NULL, 0);
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &one, fr, (uint32_t)len), 0);
	netstack_poll(&ns);
	const uint8_t *sa = f.sim.frames[f.sim.nframes - 1];
	assert_int_equal(sa[47], 0x12);				/* SYN|ACK */
	assert_int_equal(sa[54], 2);				/* MSS option */
	assert_int_equal(rd16(sa + 56), 8960);
	uint32_t iss = rd32(sa + 38);
	len = jumbo_seg(fr, n->mac, 0x10, 1001, iss + 1, NULL, 0);
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &one, fr, (uint32_t)len), 0);
	netstack_poll(&ns);

	len = jumbo_seg(fr, n->mac, 0x18, 1001, iss + 1, jumbo_data, sizeof(jumbo_data));
	assert_int_equal(len, 9014);
	struct virtio_net_hdr five = { .num_buffers = 5 };
	assert_int_equal(vsim_net_inject_hdr(&f.sim, &five, fr, (uint32_t)len), 0);
	netstack_poll(&ns);
	assert_int_equal(ns.tcp.st.bad_csum, 0);
	assert_int_equal(jumbo_got, sizeof(jumbo_data));
	assert_int_equal(jumbo_pieces, 5);
	assert_int_equal(n->stats.rx_bad_offload, 0);
	netstack_poll(&ns);
	assert_int_equal(vsim_net_posted(&f.sim), VNET_RX_BUFS);
	virtio_net_detach_core(f.sc);
	if (f.sim.violations != 0)
		fail_msg("driver violated the protocol: %s", f.sim.violation);
	vsim_fini(&f.sim);
	free(f.sc);
}

/* ---- event indices (VIRTIO_F_EVENT_IDX, virtio 1.2 2.7.10) ---- */

/* Receive: while the device has buffers it reads the ring itself and
   the driver's refills need no notify; once it ran dry it waits for
   one (avail_event), and the driver's next refill must send it, or the
   device never sees the buffers (the simulator does not look). */
static void
test_net_event_idx_rx(void **state)
{
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	assert_true(f.sim.drv_features & 1ULL << VIRTIO_F_EVENT_IDX);
	struct nic *n = &f.sc->nic;
	struct virtq *rxq = &f.sc->q[0].rxq;
	n->rx = net_rx;
	n->upper = &f;
	uint64_t notifies = f.sim.notifies;
	uint8_t frame[200];
	for (int i = 0; i < 3 * VNET_RX_BUFS; i++) {
		fill(frame, sizeof(frame), (uint32_t)i);
		assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
		nic_poll_queue(n, 0, 64);
		assert_int_equal(f.rx_frames, i + 1);
		assert_memory_equal(f.last, frame, sizeof(frame));
	}
	/* 384 refills, not one doorbell. */
	assert_int_equal(f.sim.notifies, notifies);
	assert_true(rxq->notifies_saved >= 3 * VNET_RX_BUFS);

	/* Run the device dry: every buffer held by the stack. */
	f.hold = true;
	for (int i = 0; i < VNET_RX_BUFS; i++) {
		assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
		nic_poll_queue(n, 0, 64);
	}
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), -1);
	assert_true(f.sim.q[0].rx_waiting);
	f.hold = false;
	for (int i = 0; i < f.nheld; i++)
		nic_buf_release(f.held[i]);
	f.nheld = 0;
	nic_poll_queue(n, 0, 64);	/* the refill: its notify is needed */
	assert_int_equal(f.sim.notifies, notifies + 1);
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 4 * VNET_RX_BUFS + 1);
	net_end(&f);
}

/* Frames sent from inside a poll pass (answers from nic->rx) share one
   doorbell at the end of the pass; a frame sent outside one rings at
   once.  The device asks for every transmit notify, so a missing one
   leaves frames unsent. */
static uint8_t echo_data[8][64];
static struct nic_buf echo_buf[8];
static int echo_n;

static void
echo_rx(void *upper, struct nic_buf *b)
{
	struct net_fix *f = upper;
	struct nic *n = &f->sc->nic;
	f->rx_frames++;
	nic_buf_release_chain(b);
	for (int k = 0; k < 2 && echo_n < 8; k++, echo_n++) {
		struct nic_buf *e = &echo_buf[echo_n];
		memset(echo_data[echo_n], echo_n + 1, sizeof(echo_data[0]));
		*e = (struct nic_buf){ .data = echo_data[echo_n], .len = 64, .cap = 64,
			.release = tx_release };
		assert_int_equal(n->ops->tx(n, 0, e, NULL), TERN_OK);
	}
}

static void
test_net_event_idx_tx_batch(void **state)
{
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	struct virtq *txq = &f.sc->q[0].txq;
	echo_n = 0;
	released = 0;
	n->rx = echo_rx;
	n->upper = &f;
	uint8_t frame[100] = { 1, 2, 3 };
	/* Outside a poll pass: one doorbell per frame. */
	uint8_t a[60];
	memset(a, 0xab, sizeof(a));
	struct nic_buf ba = { .data = a, .len = 60, .cap = 60, .release = tx_release };
	uint64_t before = txq->notifies;
	assert_int_equal(n->ops->tx(n, 0, &ba, NULL), TERN_OK);
	assert_int_equal(txq->notifies, before + 1);
	assert_int_equal(f.sim.nframes, 1);
	/* Three frames in, six answers out in one pass: one doorbell. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	before = txq->notifies;
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 3);
	assert_int_equal(f.sim.nframes, 7);
	assert_int_equal(txq->notifies, before + 1);
	for (int i = 0; i < 6; i++)
		assert_int_equal(f.sim.frames[1 + i][0], i + 1);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(released, 7);
	net_end(&f);
}

/* Interrupts by used_event: with interrupts on, one per completion the
   driver has not yet looked at (several completions before a poll give
   one); off, none. */
static void
test_net_event_idx_intr(void **state)
{
	struct net_fix f;
	net_new(&f);
	f.sc->bus.vd.msix = true;
	f.sc->bus.vd.msix_entry = 1;
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	assert_true(f.sc->q[0].rxq.intr);
	n->rx = net_rx;
	n->upper = &f;
	uint8_t frame[100] = { 1, 2, 3 };
	uint64_t irqs = f.sim.irqs;
	for (int i = 0; i < 3; i++)
		assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	assert_int_equal(f.sim.irqs, irqs + 1);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 3);
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	assert_int_equal(f.sim.irqs, irqs + 2);
	nic_poll_queue(n, 0, 64);
	n->ops->intr_enable(n, 0, false);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	assert_int_equal(f.sim.irqs, irqs + 2);
	nic_poll_queue(n, 0, 64);
	n->ops->intr_enable(n, 0, true);
	assert_int_equal(vsim_net_inject(&f.sim, frame, sizeof(frame), 0), 0);
	assert_int_equal(f.sim.irqs, irqs + 3);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(f.rx_frames, 8);
	net_end(&f);
}

/* Device status and link state are read on one poll pass in
   VNET_DEV_CHECK_PASSES: a link change is seen on the pass that reads
   them, not before, and not later. */
static int link_events;
static bool link_last;
static void on_link(void *upper, bool up) { link_events++; link_last = up; }

static void
test_net_link_check_passes(void **state)
{
	struct net_fix f;
	net_new(&f);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 7), TERN_OK);
	struct nic *n = &f.sc->nic;
	n->rx = net_rx;
	n->upper = &f;
	n->link_change = on_link;
	link_events = 0;
	assert_true(n->link_up);
	nic_poll_queue(n, 0, 64);		/* the first pass reads them */
	assert_int_equal(f.sc->dev_checks, 1);
	for (int round = 0; round < 4; round++) {
		uint16_t st = round & 1 ? VIRTIO_NET_S_LINK_UP : 0;
		memcpy(f.sim.cfg + VIRTIO_NET_CFG_STATUS, &st, 2);
		for (int i = 1; i < VNET_DEV_CHECK_PASSES; i++) {
			nic_poll_queue(n, 0, 64);
			assert_int_equal(n->link_up, !(round & 1));
		}
		nic_poll_queue(n, 0, 64);
		assert_int_equal(n->link_up, round & 1);
		assert_int_equal(link_events, round + 1);
		assert_int_equal(link_last, round & 1);
	}
	assert_int_equal(f.sc->dev_checks, 5);
	net_end(&f);
}

/* ---- attach/detach under every fault ---- */

static void
test_attach_detach_loop(void **state)
{
	void (*tweaks[])(struct vsim *) = { NULL, refuse_fok, no_v1, qsize0, bad_id,
		stale_id, needs_reset, gone, limits };
	for (int round = 0; round < 20; round++) {
		for (size_t t = 0; t < sizeof(tweaks) / sizeof(tweaks[0]); t++) {
			struct blk_fix f;
			blk_new(&f, tweaks[t]);
			f.sim.f.bad_used_id_after = tweaks[t] == bad_id ? round % 3 : -1;
			f.sim.f.gone_after = tweaks[t] == gone ? round % 4 : -1;
			f.sc->bus.vd.msix = round & 1;
			bool ok = virtio_blk_attach_core(f.sc, &f.sc->bus.vd, 7) == TERN_OK;
			if (ok) {
				uint8_t buf[4096];
				for (int i = 0; i < 4; i++)
					rw(&f.sc->blk, i & 1 ? BLK_READ : BLK_WRITE, 8, 8, buf, 1);
			}
			blk_end(&f, ok);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_io_indirect),
		cmocka_unit_test(test_blk_io_direct),
		cmocka_unit_test(test_blk_seg_limits),
		cmocka_unit_test(test_features_ok_refused),
		cmocka_unit_test(test_no_version1),
		cmocka_unit_test(test_queue_size_zero),
		cmocka_unit_test(test_used_id_out_of_range),
		cmocka_unit_test(test_used_id_not_in_flight),
		cmocka_unit_test(test_needs_reset),
		cmocka_unit_test(test_net_recover),
		cmocka_unit_test(test_device_gone),
		cmocka_unit_test(test_device_status_error),
		cmocka_unit_test(test_msix_bound),
		cmocka_unit_test(test_msix_refused_polls),
		cmocka_unit_test(test_net_tx_rx),
		cmocka_unit_test(test_net_fallback_mac),
		cmocka_unit_test(test_net_meta_v2_and_queue_stats),
		cmocka_unit_test(test_net_tx_ready_after_full),
		cmocka_unit_test(test_net_tso),
		cmocka_unit_test(test_net_lost_notify_recovered),
		cmocka_unit_test(test_net_mrg_rxbuf_jumbo),
		cmocka_unit_test(test_net_used_len_oversized),
		cmocka_unit_test(test_net_held_buffers_and_detach),
		cmocka_unit_test(test_net_detach_one_held),
		cmocka_unit_test(test_net_bad_used_id),
		cmocka_unit_test(test_net_rx_csum_states),
		cmocka_unit_test(test_net_partial_csum_reaches_tcp),
		cmocka_unit_test(test_net_jumbo_reaches_tcp),
		cmocka_unit_test(test_net_event_idx_rx),
		cmocka_unit_test(test_net_event_idx_tx_batch),
		cmocka_unit_test(test_net_event_idx_intr),
		cmocka_unit_test(test_net_link_check_passes),
		cmocka_unit_test(test_attach_detach_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

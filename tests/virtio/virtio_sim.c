/*
 * virtio_sim.c - the virtio device simulator of virtio_sim.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/virtio/virtio_regnames.h"
#include "tests/virtio/virtio_sim.h"
#include "virtio/virtio_reg.h"

#define NOFF_WIN	(VIRTIO_QEMU_NOTIFY)
#define VNET_HDR_LEN_SIM 12	/* virtio_net_hdr with VERSION_1 */

static struct vsim *
sim_of(struct hw_dev *d)
{
	return d->backend;
}

static void
violate(struct vsim *s, const char *fmt, ...)
{
	va_list ap;
	if (s->violations++ == 0) {
		va_start(ap, fmt);
		vsnprintf(s->violation, sizeof(s->violation), fmt, ap);
		va_end(ap);
	}
}

/* Is [va, va+len) inside a live DMA region? */
static bool
in_dma(struct vsim *s, uint64_t va, uint64_t len)
{
	for (int i = 0; i < 64; i++) {
		struct vsim_region *r = &s->regions[i];
		if (r->len != 0 && va >= r->va && va + len <= r->va + r->len)
			return true;
	}
	return false;
}

static void
device_reset(struct vsim *s)
{
	s->status = 0;
	s->drv_features = 0;
	s->config_msix = VIRTIO_NO_VECTOR;
	s->isr = 0;
	s->nheld = 0;	/* a reset device forgets what it held */
	/* A reset is how a driver recovers a device that needed one
	   (virtio 1.2 2.1.2); a device that is gone stays gone. */
	s->stopped = s->gone;
	s->pairs = 1;
	for (int i = 0; i < VSIM_MAX_Q; i++) {
		struct vsim_queue *q = &s->q[i];
		memset(q, 0, sizeof(*q));
		q->max = 256;
		q->size = q->max;
		q->msix = VIRTIO_NO_VECTOR;
	}
}

void
vsim_init(struct vsim *s, enum vsim_type type, struct hw_dev *hw)
{
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->hw = hw;
	s->f = (struct vsim_faults){ .bad_used_id_after = -1, .stale_used_id_after = -1,
		.huge_used_len_after = -1, .needs_reset_after = -1, .gone_after = -1,
		.status_after = -1, .dma_fail_after = -1,
		.zero_size_q = -1 };
	s->dev_features = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_INDIRECT_DESC |
	    1ULL << VIRTIO_F_EVENT_IDX;
	if (type == VSIM_BLK) {
		s->sectors = 16384;	/* 8 MiB */
		s->disk = calloc(s->sectors, 512);
		s->dev_features |= 1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_BLK_SIZE;
		uint32_t bs = 512;
		memcpy(s->cfg + VIRTIO_BLK_CFG_CAPACITY, &s->sectors, 8);
		memcpy(s->cfg + VIRTIO_BLK_CFG_BLK_SIZE, &bs, 4);
	} else {
		static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
		uint16_t st = VIRTIO_NET_S_LINK_UP;
		s->dev_features |= 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS |
		    1ULL << VIRTIO_NET_F_MRG_RXBUF | 1ULL << VIRTIO_NET_F_CSUM |
		    1ULL << VIRTIO_NET_F_GUEST_CSUM;
		memcpy(s->cfg + VIRTIO_NET_CFG_MAC, mac, 6);
		memcpy(s->cfg + VIRTIO_NET_CFG_STATUS, &st, 2);
	}
	s->msix_vectors = 3;
	device_reset(s);
	s->status = 0;
	hw->ops = &vsim_ops;
	hw->backend = s;
}

void
vsim_net_set_mtu(struct vsim *s, uint16_t mtu)
{
	s->dev_features |= 1ULL << VIRTIO_NET_F_MTU;
	memcpy(s->cfg + VIRTIO_NET_CFG_MTU, &mtu, 2);
}

void
vsim_fini(struct vsim *s)
{
	free(s->disk);
	for (int i = 0; i < s->nframes; i++)
		free(s->frames[i]);
	s->hw->ops = NULL;
	s->hw->backend = NULL;
}

/* Limits a test sets after vsim_init (also offers the features). */
static void
blk_limits(struct vsim *s)
{
	if (s->seg_max != 0) {
		s->dev_features |= 1ULL << VIRTIO_BLK_F_SEG_MAX;
		memcpy(s->cfg + VIRTIO_BLK_CFG_SEG_MAX, &s->seg_max, 4);
	}
	if (s->size_max != 0) {
		s->dev_features |= 1ULL << VIRTIO_BLK_F_SIZE_MAX;
		memcpy(s->cfg + VIRTIO_BLK_CFG_SIZE_MAX, &s->size_max, 4);
	}
}

/* Multiqueue as the test set it up (also offers the features). */
static void
net_limits(struct vsim *s)
{
	if (s->type != VSIM_NET || !s->mq)
		return;
	s->dev_features |= 1ULL << VIRTIO_NET_F_MQ | 1ULL << VIRTIO_NET_F_CTRL_VQ;
	memcpy(s->cfg + VIRTIO_NET_CFG_MAX_PAIRS, &s->mq_max, 2);
}

/* The control queue's index, or -1 when the device has none we model. */
static int
ctrl_index(const struct vsim *s)
{
	if (s->type != VSIM_NET || !s->mq || s->mq_max < 1 || s->mq_max > VSIM_MAX_PAIRS)
		return -1;
	return 2 * s->mq_max;
}

/* Queues the device has: a pair, or every pair plus the control queue. */
static uint16_t
num_queues(const struct vsim *s)
{
	int c = ctrl_index(s);
	return c < 0 ? 2 : (uint16_t)(c + 1);
}

/* ---- register file ---- */

static uint64_t
common_read(struct vsim *s, uint32_t r, int width)
{
	struct vsim_queue *q = s->qsel < num_queues(s) ? &s->q[s->qsel] : NULL;
	switch (r) {
	case VIRTIO_C_DFSELECT: return s->dfsel;
	case VIRTIO_C_DF:
		if (s->type == VSIM_BLK)
			blk_limits(s);
		net_limits(s);
		{
			uint64_t df = s->dev_features;
			if (s->f.no_version1)
				df &= ~(1ULL << VIRTIO_F_VERSION_1);
			return s->dfsel == 0 ? (uint32_t)df : s->dfsel == 1 ?
			    (uint32_t)(df >> 32) : 0;
		}
	case VIRTIO_C_GFSELECT: return s->gfsel;
	case VIRTIO_C_GF: return s->gfsel == 0 ? (uint32_t)s->drv_features :
	    (uint32_t)(s->drv_features >> 32);
	case VIRTIO_C_MSIX: return s->config_msix;
	case VIRTIO_C_NUMQ: return num_queues(s);
	case VIRTIO_C_STATUS: return s->status;
	case VIRTIO_C_GEN: return s->gen;
	case VIRTIO_C_Q_SELECT: return s->qsel;
	case VIRTIO_C_Q_SIZE:
		if (q == NULL || s->f.zero_queue_size ||
		    s->qsel == s->f.zero_size_q)
			return 0;
		return q->size;
	case VIRTIO_C_Q_MSIX: return q == NULL ? VIRTIO_NO_VECTOR : q->msix;
	case VIRTIO_C_Q_ENABLE: return q == NULL ? 0 : q->enable;
	case VIRTIO_C_Q_NOFF: return s->qsel;
	case VIRTIO_C_Q_DESC: return q == NULL ? 0 : q->desc;
	case VIRTIO_C_Q_AVAIL: return q == NULL ? 0 : q->avail;
	case VIRTIO_C_Q_USED: return q == NULL ? 0 : q->used;
	}
	(void)width;
	return 0;
}

static void
set64(uint64_t *f, uint32_t r, uint32_t base, uint64_t v, int width)
{
	if (width == 8)
		*f = v;
	else if (r == base)
		*f = (*f & ~0xffffffffULL) | (uint32_t)v;
	else
		*f = (*f & 0xffffffffULL) | (uint64_t)(uint32_t)v << 32;
}

static uint16_t
msix_value(struct vsim *s, uint64_t v)
{
	if (s->f.refuse_msix || v >= s->msix_vectors)
		return VIRTIO_NO_VECTOR;
	return (uint16_t)v;
}

static void
status_write(struct vsim *s, uint8_t v)
{
	if (v == 0) {
		device_reset(s);
		return;
	}
	if ((v & VIRTIO_S_FEATURES_OK) && !(s->status & VIRTIO_S_FEATURES_OK)) {
		if ((s->drv_features & ~s->dev_features) != 0)
			violate(s, "driver accepted features 0x%llx the device never offered",
			    (unsigned long long)(s->drv_features & ~s->dev_features));
		if (s->f.refuse_features_ok)
			v &= (uint8_t)~VIRTIO_S_FEATURES_OK;
	}
	if ((v & VIRTIO_S_DRIVER_OK) && !(v & VIRTIO_S_FEATURES_OK))
		violate(s, "DRIVER_OK without FEATURES_OK (status 0x%02x)", v);
	s->status = (uint8_t)(v | (s->status & VIRTIO_S_NEEDS_RESET));
}

static void process(struct vsim *s, uint16_t qi);

static bool
evt(const struct vsim *s)
{
	return (s->drv_features >> VIRTIO_F_EVENT_IDX) & 1;
}

/* The event-index fields (2.7.6, 2.7.8): used_event after the avail
   ring's entries, avail_event after the used ring's. */
static uint16_t
used_event(const struct vsim_queue *q)
{
	return *(const uint16_t *)(uintptr_t)(q->avail + 4 + 2 * (uint64_t)q->size);
}

static void
set_avail_event(struct vsim_queue *q, uint16_t v)
{
	*(uint16_t *)(uintptr_t)(q->used + 4 + 8 * (uint64_t)q->size) = v;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static bool
is_rx(struct vsim *s, uint16_t qi)
{
	return s->type == VSIM_NET && !(qi & 1) && (int)qi != ctrl_index(s);
}
static bool fire(int *after);

static void
common_write(struct vsim *s, uint32_t r, int width, uint64_t v)
{
	struct vsim_queue *q = s->qsel < num_queues(s) ? &s->q[s->qsel] : NULL;
	switch (r) {
	case VIRTIO_C_DFSELECT: s->dfsel = (uint32_t)v; return;
	case VIRTIO_C_GFSELECT: s->gfsel = (uint32_t)v; return;
	case VIRTIO_C_GF:
		if (s->status & VIRTIO_S_FEATURES_OK)
			violate(s, "driver_feature written after FEATURES_OK");
		if (s->gfsel == 0)
			s->drv_features = (s->drv_features & ~0xffffffffULL) | (uint32_t)v;
		else if (s->gfsel == 1)
			s->drv_features = (s->drv_features & 0xffffffffULL) | v << 32;
		return;
	case VIRTIO_C_MSIX: s->config_msix = msix_value(s, v); return;
	case VIRTIO_C_STATUS: status_write(s, (uint8_t)v); return;
	case VIRTIO_C_Q_SELECT: s->qsel = (uint16_t)v; return;
	}
	if (q == NULL) {
		violate(s, "queue register 0x%x written with queue_select %u", r, s->qsel);
		return;
	}
	if (q->enable && r != VIRTIO_C_Q_ENABLE) {
		violate(s, "queue %u register 0x%x written while enabled", s->qsel, r);
		return;
	}
	switch (r) {
	case VIRTIO_C_Q_SIZE:
		if (v == 0 || v > q->max || (v & (v - 1)))
			violate(s, "queue %u size %llu invalid", s->qsel, (unsigned long long)v);
		q->size = (uint16_t)v;
		return;
	case VIRTIO_C_Q_MSIX: q->msix = msix_value(s, v); return;
	case VIRTIO_C_Q_ENABLE:
		if (v != 1)
			violate(s, "queue_enable written with %llu", (unsigned long long)v);
		if (!in_dma(s, q->desc, 16ULL * q->size) || !in_dma(s, q->avail, 6 + 2ULL * q->size) ||
		    !in_dma(s, q->used, 6 + 8ULL * q->size))
			violate(s, "queue %u rings not in DMA memory", s->qsel);
		if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
			violate(s, "queue %u rings misaligned", s->qsel);
		q->enable = 1;
		return;
	case VIRTIO_C_Q_DESC: case VIRTIO_C_Q_DESC + 4:
		set64(&q->desc, r, VIRTIO_C_Q_DESC, v, width); return;
	case VIRTIO_C_Q_AVAIL: case VIRTIO_C_Q_AVAIL + 4:
		set64(&q->avail, r, VIRTIO_C_Q_AVAIL, v, width); return;
	case VIRTIO_C_Q_USED: case VIRTIO_C_Q_USED + 4:
		set64(&q->used, r, VIRTIO_C_Q_USED, v, width); return;
	}
	violate(s, "write to read-only or unknown common register 0x%x", r);
}

static uint64_t
sim_read(struct hw_bar *b, uint32_t off, int width)
{
	struct vsim *s = sim_of(b->dev);
	uint64_t ones = width == 8 ? ~0ULL : (1ULL << (8 * width)) - 1;

	if (s->gone)
		return ones;
	if (b->index != VIRTIO_QEMU_BAR) {
		violate(s, "read of BAR %u", b->index);
		return ones;
	}
	if (off < VIRTIO_QEMU_ISR)
		return common_read(s, off, width);
	if (off < VIRTIO_QEMU_DEVICE) {
		uint8_t v = s->isr;
		s->isr = 0;	/* read to clear */
		return v;
	}
	if (off < VIRTIO_QEMU_NOTIFY) {
		uint32_t o = off - VIRTIO_QEMU_DEVICE;
		uint64_t v = 0;
		net_limits(s);
		if (o + (uint32_t)width > sizeof(s->cfg))
			return 0;
		memcpy(&v, s->cfg + o, (size_t)width);
		return v;
	}
	violate(s, "read of the notify window at 0x%x", off);
	return ones;
}

/* A doorbell.  Not inlined: make bench-insn counts its calls as the
   doorbells per request (each one a VM exit in a real VM). */
static __attribute__((noinline)) void
sim_notify(struct vsim *s, uint32_t off, uint64_t v)
{
	uint32_t qi = (off - VIRTIO_QEMU_NOTIFY) / 4;
	s->notifies++;
	if (qi >= num_queues(s) || v != qi) {
		violate(s, "notify at 0x%x with value %llu", off, (unsigned long long)v);
		return;
	}
	if (!s->q[qi].enable || !(s->status & VIRTIO_S_DRIVER_OK)) {
		/* Allowed before DRIVER_OK (the device may ignore it). */
		return;
	}
	if (s->lose_notifies > 0) {
		s->lose_notifies--;
		s->lost_notifies++;
		return;
	}
	s->q[qi].rx_waiting = false;
	process(s, (uint16_t)qi);
}

static void
sim_write(struct hw_bar *b, uint32_t off, int width, uint64_t v)
{
	struct vsim *s = sim_of(b->dev);

	if (s->gone)
		return;
	if (off < VIRTIO_QEMU_ISR) {
		common_write(s, off, width, v);
	} else if (off >= VIRTIO_QEMU_NOTIFY) {
		sim_notify(s, off, v);
	} else {
		violate(s, "write to read-only window at 0x%x", off);
	}
}

static uint32_t sim_cfg_read(struct hw_dev *d, uint16_t off, int width) { return ~0u; }
static void sim_cfg_write(struct hw_dev *d, uint16_t off, int width, uint32_t v) { }

static int
sim_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	struct vsim *s = sim_of(d);
	if (fire(&s->f.dma_fail_after))
		return -1;
	if (align < 16)
		align = 16;
	size_t rounded = (len + align - 1) / align * align;
	void *p = aligned_alloc(align, rounded);
	if (p == NULL)
		return -1;
	memset(p, 0xcc, rounded);	/* drivers must initialise what they use */
	for (int i = 0; i < 64; i++) {
		if (s->regions[i].len == 0) {
			s->regions[i] = (struct vsim_region){ (uintptr_t)p, len };
			s->dma_live++;
			*out = (struct hw_dma){ p, (uint64_t)(uintptr_t)p, len };
			return 0;
		}
	}
	free(p);
	return -1;
}

static void
sim_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	struct vsim *s = sim_of(d);
	for (int i = 0; i < 64; i++) {
		if (s->regions[i].len != 0 && s->regions[i].va == (uintptr_t)dma->va) {
			s->regions[i].len = 0;
			s->dma_live--;
			free(dma->va);
			dma->va = NULL;
			return;
		}
	}
	violate(s, "hw_dma_free of %p that is not a live DMA region", dma->va);
}

static uint64_t sim_v2p(struct hw_dev *d, const void *va) { return (uint64_t)(uintptr_t)va; }
static void sim_sync(struct hw_dev *d, const void *va, size_t len) { }
static uint64_t sim_now(struct hw_dev *d) { return sim_of(d)->now_ns += 1000; }
static void sim_delay(struct hw_dev *d, uint32_t us) { sim_of(d)->now_ns += (uint64_t)us * 1000; }

static bool
sim_intr_wait(struct hw_dev *d, int vec, uint64_t timeout_ns)
{
	sim_of(d)->now_ns += timeout_ns;
	return false;
}

const struct hw_ops vsim_ops = {
	.read = sim_read,
	.write = sim_write,
	.cfg_read = sim_cfg_read,
	.cfg_write = sim_cfg_write,
	.dma_alloc = sim_dma_alloc,
	.dma_free = sim_dma_free,
	.virt_to_phys = sim_v2p,
	.dma_sync_cpu = sim_sync,
	.dma_sync_dev = sim_sync,
	.now_ns = sim_now,
	.delay_us = sim_delay,
	.intr_wait = sim_intr_wait,
};

/* ---- virtqueues ---- */

struct chain {
	int n;
	struct { uint8_t *p; uint32_t len; bool w; } b[VSIM_MAX_BUFS];
	uint32_t writable;	/* bytes the device may write */
};

static struct virtq_desc *
desc_at(struct vsim_queue *q, uint16_t i)
{
	return (struct virtq_desc *)(uintptr_t)q->desc + i;
}

static bool
add_buf(struct vsim *s, struct chain *c, const struct virtq_desc *d)
{
	bool w = d->flags & VIRTQ_DESC_F_WRITE;
	if (c->n == VSIM_MAX_BUFS) {
		violate(s, "chain longer than %d buffers", VSIM_MAX_BUFS);
		return false;
	}
	if (d->len == 0 || d->addr == 0) {
		violate(s, "descriptor with address 0x%llx length %u",
		    (unsigned long long)d->addr, d->len);
		return false;
	}
	if (!w && c->n > 0 && c->b[c->n - 1].w) {
		violate(s, "device-readable buffer after a device-writable one");
		return false;
	}
	c->b[c->n].p = (uint8_t *)(uintptr_t)d->addr;
	c->b[c->n].len = d->len;
	c->b[c->n].w = w;
	if (w)
		c->writable += d->len;
	c->n++;
	return true;
}

/* Walk the chain at `head` (following an indirect table if there is
   one), checking the driver's side of the protocol. */
static bool
walk(struct vsim *s, struct vsim_queue *q, uint16_t head, struct chain *c)
{
	uint16_t i = head;
	memset(c, 0, sizeof(*c));
	s->chains++;
	for (int steps = 0; ; steps++) {
		if (i >= q->size || steps >= q->size) {
			violate(s, "chain from %u leaves the table or loops", head);
			return false;
		}
		const struct virtq_desc *d = desc_at(q, i);
		if (d->flags & VIRTQ_DESC_F_INDIRECT) {
			if (d->flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE) || steps != 0) {
				violate(s, "indirect descriptor with flags 0x%x in a chain", d->flags);
				return false;
			}
			if (!(s->drv_features & 1ULL << VIRTIO_F_INDIRECT_DESC)) {
				violate(s, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
				return false;
			}
			if (d->len == 0 || d->len % 16 || !in_dma(s, d->addr, d->len)) {
				violate(s, "indirect table of %u bytes at 0x%llx", d->len,
				    (unsigned long long)d->addr);
				return false;
			}
			const struct virtq_desc *t = (const void *)(uintptr_t)d->addr;
			uint32_t nt = d->len / 16, j = 0;
			s->indirect_chains++;
			for (uint32_t k = 0; k < nt; k++) {
				if (j >= nt) {
					violate(s, "indirect chain leaves its table");
					return false;
				}
				if (t[j].flags & VIRTQ_DESC_F_INDIRECT) {
					violate(s, "nested indirect descriptor");
					return false;
				}
				if (!add_buf(s, c, &t[j]))
					return false;
				if (!(t[j].flags & VIRTQ_DESC_F_NEXT))
					return true;
				j = t[j].next;
			}
			violate(s, "indirect chain loops");
			return false;
		}
		if (!add_buf(s, c, d))
			return false;
		if (!(d->flags & VIRTQ_DESC_F_NEXT))
			return true;
		i = d->next;
	}
}

static bool
fire(int *after)
{
	if (*after < 0)
		return false;
	if (*after == 0) {
		*after = -1;
		return true;
	}
	(*after)--;
	return false;
}

static void
push_used(struct vsim *s, struct vsim_queue *q, uint16_t head, uint32_t len)
{
	uint16_t *ring_idx = (uint16_t *)(uintptr_t)(q->used + 2);
	uint32_t *e = (uint32_t *)(uintptr_t)(q->used + 4 + 8 * (uint64_t)(q->used_idx % q->size));
	uint32_t id = head;

	if (fire(&s->f.bad_used_id_after))
		id = q->size + 7u;
	else if (fire(&s->f.stale_used_id_after))
		id = (uint32_t)(head + 1) % q->size;
	if (fire(&s->f.huge_used_len_after))
		len += 1u << 20;
	e[0] = id;
	e[1] = len;
	q->used_idx++;
	*ring_idx = q->used_idx;
	s->completions++;
	uint16_t aflags = *(uint16_t *)(uintptr_t)q->avail;
	/* With EVENT_IDX the flag is ignored (2.7.7.2): interrupt when the
	   used index passes used_event. */
	bool want = evt(s) ?
	    (uint16_t)(q->used_idx - used_event(q) - 1) < 1 :
	    !(aflags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (q->msix != VIRTIO_NO_VECTOR && want)
		s->irqs++;
	if (fire(&s->f.needs_reset_after)) {
		s->status |= VIRTIO_S_NEEDS_RESET;
		s->stopped = true;
	}
	if (fire(&s->f.gone_after)) {
		s->gone = true;
		s->stopped = true;
	}
}

static uint32_t
blk_request(struct vsim *s, struct chain *c)
{
	if (c->n < 2 || c->b[0].w || c->b[0].len < 16 || !c->b[c->n - 1].w ||
	    c->b[c->n - 1].len < 1) {
		violate(s, "block request chain of %d buffers has no header/status", c->n);
		return 0;
	}
	struct virtio_blk_req_hdr h;
	memcpy(&h, c->b[0].p, sizeof(h));
	uint8_t *status = c->b[c->n - 1].p + c->b[c->n - 1].len - 1;
	int ndata = c->n - 2;
	uint64_t sector = h.sector, bytes = 0;

	if (s->seg_max != 0 && (uint32_t)ndata > s->seg_max)
		violate(s, "request with %d data segments, seg_max %u", ndata, s->seg_max);
	for (int i = 1; i <= ndata; i++) {
		if (s->size_max != 0 && c->b[i].len > s->size_max)
			violate(s, "segment of %u bytes, size_max %u", c->b[i].len, s->size_max);
		bytes += c->b[i].len;
	}
	uint8_t st = VIRTIO_BLK_S_OK;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (bytes % 512 || sector > s->sectors || bytes / 512 > s->sectors - sector) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		for (int i = 1; i <= ndata; i++) {
			bool want_w = h.type == VIRTIO_BLK_T_IN;
			if (c->b[i].w != want_w)
				violate(s, "data buffer direction wrong for type %u", h.type);
			uint8_t *d = s->disk + sector * 512;
			if (want_w)
				memcpy(c->b[i].p, d, c->b[i].len);
			else
				memcpy(d, c->b[i].p, c->b[i].len);
			sector += c->b[i].len / 512;
		}
		if (h.type == VIRTIO_BLK_T_IN)
			s->reads++;
		else
			s->writes++;
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!(s->drv_features & 1ULL << VIRTIO_BLK_F_FLUSH))
			violate(s, "FLUSH without VIRTIO_BLK_F_FLUSH");
		s->flushes++;
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
	}
	if (fire(&s->f.status_after))
		st = VIRTIO_BLK_S_IOERR;
	*status = st;
	return (uint32_t)(h.type == VIRTIO_BLK_T_IN ? bytes + 1 : 1);
}

/* Fold the one's complement sum of f[start..len) into the field at
   start + off, which holds the pseudo-header sum on entry. */
static void
sim_complete_csum(uint8_t *f, uint32_t len, uint16_t start, uint16_t off)
{
	uint32_t sum = 0;
	for (uint32_t i = start; i < len; i += 2)
		sum += (uint32_t)f[i] << 8 | (i + 1 < len ? f[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	f[start + off] = (uint8_t)(c >> 8);
	f[start + off + 1] = (uint8_t)c;
}

/* A frame onto the wire (on_tx) or into frames[]; takes f. */
static void
net_out(struct vsim *s, uint8_t *f, uint32_t flen, uint16_t pair)
{
	if (s->on_tx != NULL) {
		s->on_tx(s->tx_ctx, f, flen);
		free(f);
		return;
	}
	if (s->nframes == VSIM_MAX_FRAMES) {
		free(f);
		return;
	}
	s->frame_len[s->nframes] = flen;
	s->frame_pair[s->nframes] = pair;
	s->frames[s->nframes++] = f;
}

static uint16_t
rd16s(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
wr16s(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The folded (not complemented) TCP pseudo-header sum of an IPv4 frame
   for a TCP length of tlen. */
static uint16_t
tcp_pseudo_sim(const uint8_t *ip, uint32_t tlen)
{
	uint32_t sum = rd16s(ip + 12) + rd16s(ip + 14) + rd16s(ip + 16) + rd16s(ip + 18) +
	    6 + tlen;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * TCP segmentation offload (5.1.6.2.1, VIRTIO_NET_F_HOST_TSO4): the
 * frame is cut into segments of gso_size payload bytes as a NIC (or
 * Linux's GSO behind QEMU's tap) does: per segment the IPv4 total
 * length, identification (+1 each) and header checksum, the sequence
 * number, FIN and PSH on the last segment only, and the TCP checksum.
 * Checked first: NEEDS_CSUM at the TCP checksum field, a TCP/IPv4
 * frame, hdr_len covering its headers, and the field holding the
 * pseudo-header sum over the whole frame's TCP length (what Linux's
 * segmentation adjusts from).
 */
static void
net_tx_gso(struct vsim *s, const uint8_t *f, uint32_t flen, const struct virtio_net_hdr *h,
    uint16_t pair)
{
	if (!(s->drv_features & 1ULL << VIRTIO_NET_F_CSUM) ||
	    !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h->gso_size == 0) {
		violate(s, "TSO frame without NEEDS_CSUM or gso_size");
		return;
	}
	if (flen < 54 || rd16s(f + 12) != 0x0800 || (f[14] >> 4) != 4 || f[23] != 6) {
		violate(s, "TSO frame that is not TCP over IPv4");
		return;
	}
	uint32_t l4 = 14 + (uint32_t)(f[14] & 15) * 4;
	uint32_t hl = l4 + (uint32_t)(f[l4 + 12] >> 4) * 4;
	if (hl > flen || h->csum_start != l4 || h->csum_offset != 16 || h->hdr_len < hl ||
	    h->hdr_len > flen || rd16s(f + 16) != flen - 14) {
		violate(s, "TSO frame headers: hdr_len %u csum %u+%u ip len %u, frame %u",
		    h->hdr_len, h->csum_start, h->csum_offset, rd16s(f + 16), flen);
		return;
	}
	if (rd16s(f + l4 + 16) != tcp_pseudo_sim(f + 14, flen - l4)) {
		violate(s, "TSO frame's checksum field is not the pseudo-header sum");
		return;
	}
	uint32_t mss = h->gso_size, pay = flen - hl;
	uint32_t nseg = (pay + mss - 1) / mss;
	uint32_t seq = (uint32_t)rd16s(f + l4 + 4) << 16 | rd16s(f + l4 + 6);
	uint16_t id = rd16s(f + 18);
	s->gso_frames++;
	for (uint32_t k = 0; k < nseg; k++) {
		uint32_t m = pay - k * mss < mss ? pay - k * mss : mss;
		uint32_t slen = hl + m;
		uint8_t *g = malloc(slen);
		memcpy(g, f, hl);
		memcpy(g + hl, f + hl + k * mss, m);
		wr16s(g + 16, (uint16_t)(slen - 14));
		wr16s(g + 18, (uint16_t)(id + k));
		wr16s(g + 24, 0);
		uint32_t sum = 0;
		for (uint32_t i = 14; i < l4; i += 2)
			sum += rd16s(g + i);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		wr16s(g + 24, (uint16_t)~sum);
		uint32_t sq = seq + k * mss;
		wr16s(g + l4 + 4, (uint16_t)(sq >> 16));
		wr16s(g + l4 + 6, (uint16_t)sq);
		if (k + 1 < nseg)
			g[l4 + 13] &= (uint8_t)~0x09;	/* FIN, PSH */
		wr16s(g + l4 + 16, tcp_pseudo_sim(g + 14, slen - l4));
		sim_complete_csum(g, slen, (uint16_t)l4, 16);
		net_out(s, g, slen, pair);
	}
}

static void
net_tx(struct vsim *s, struct chain *c, uint16_t pair)
{
	uint32_t total = 0;
	if (pair >= s->pairs)
		violate(s, "transmit on queue pair %u; VQ_PAIRS_SET enabled %u", pair, s->pairs);
	else
		s->tx_by_pair[pair]++;
	for (int i = 0; i < c->n; i++) {
		if (c->b[i].w)
			violate(s, "device-writable buffer in a transmit chain");
		total += c->b[i].len;
	}
	if (total < VNET_HDR_LEN_SIM + 14) {
		violate(s, "transmit chain of %u bytes", total);
		return;
	}
	if (s->on_tx == NULL && s->nframes == VSIM_MAX_FRAMES)
		return;
	uint8_t *f = malloc(total), *p = f;
	for (int i = 0; i < c->n; i++) {
		memcpy(p, c->b[i].p, c->b[i].len);
		p += c->b[i].len;
	}
	uint32_t flen = total - VNET_HDR_LEN_SIM;
	struct virtio_net_hdr h;
	memcpy(&h, f, sizeof(h));
	memmove(f, f + VNET_HDR_LEN_SIM, flen);
	if (h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 &&
	    (s->drv_features & 1ULL << VIRTIO_NET_F_HOST_TSO4)) {
		net_tx_gso(s, f, flen, &h, pair);
		free(f);
		return;
	}
	if (h.gso_type != 0)
		violate(s, "transmit with GSO type %u, never negotiated", h.gso_type);
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* Checksum offload (5.1.6.2): only with VIRTIO_NET_F_CSUM, the
		   field inside the frame; the device completes it as a NIC
		   would, so captured frames are what the wire carries. */
		if (!(s->drv_features & 1ULL << VIRTIO_NET_F_CSUM))
			violate(s, "NEEDS_CSUM without VIRTIO_NET_F_CSUM");
		else if ((uint32_t)h.csum_start + h.csum_offset + 2 > flen)
			violate(s, "transmit checksum at %u+%u outside a %u-byte frame",
			    h.csum_start, h.csum_offset, flen);
		else
			sim_complete_csum(f, flen, h.csum_start, h.csum_offset);
	}
	net_out(s, f, flen, pair);
}

/*
 * A control command (5.1.6.5): device-readable class, command and data,
 * then exactly one device-writable ack byte.  Only what the driver may
 * send is accepted: MQ VQ_PAIRS_SET with a le16 count in 1..mq_max
 * (5.1.6.5.5), CTRL_VQ and MQ negotiated; anything else is a violation
 * (and answered VIRTIO_NET_ERR).  The fault switches refuse, never
 * answer, or complete without writing the ack.
 */
static void
net_ctrl(struct vsim *s, struct vsim_queue *q, uint16_t head, const struct chain *c)
{
	uint8_t cmd[16];
	uint32_t rlen = 0;
	uint8_t *ack = NULL;

	s->ctrl_cmds++;
	if (!(s->drv_features & 1ULL << VIRTIO_NET_F_CTRL_VQ) ||
	    !(s->drv_features & 1ULL << VIRTIO_NET_F_MQ))
		violate(s, "control command without CTRL_VQ and MQ negotiated");
	for (int i = 0; i < c->n; i++) {
		if (!c->b[i].w) {
			if (ack != NULL || rlen + c->b[i].len > sizeof(cmd)) {
				violate(s, "control command: readable buffer after the ack or over 16 bytes");
				return;
			}
			memcpy(cmd + rlen, c->b[i].p, c->b[i].len);
			rlen += c->b[i].len;
		} else if (ack != NULL || c->b[i].len != 1) {
			violate(s, "control command: ack of %u bytes or two acks", c->b[i].len);
			return;
		} else {
			ack = c->b[i].p;
		}
	}
	if (ack == NULL) {
		violate(s, "control command without an ack byte");
		return;
	}
	uint16_t pairs = 0;
	if (rlen >= 4)
		memcpy(&pairs, cmd + 2, 2);
	if (rlen != 4 || cmd[0] != VIRTIO_NET_CTRL_MQ || cmd[1] != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET) {
		violate(s, "control command class %u cmd %u with %u bytes", rlen > 0 ? cmd[0] : 0,
		    rlen > 1 ? cmd[1] : 0, rlen);
		*ack = VIRTIO_NET_ERR;
		push_used(s, q, head, 1);
		return;
	}
	if (pairs < 1 || pairs > s->mq_max) {
		violate(s, "VQ_PAIRS_SET(%u) outside 1..%u", pairs, s->mq_max);
		*ack = VIRTIO_NET_ERR;
		push_used(s, q, head, 1);
		return;
	}
	if (s->f.ctrl_silent)
		return;		/* the chain stays the device's */
	if (s->f.ctrl_no_ack) {
		push_used(s, q, head, 0);
		return;
	}
	if (s->f.ctrl_refuse) {
		*ack = VIRTIO_NET_ERR;
		push_used(s, q, head, 1);
		return;
	}
	s->pairs = pairs;
	*ack = VIRTIO_NET_OK;
	push_used(s, q, head, 1);
}

static void
process(struct vsim *s, uint16_t qi)
{
	struct vsim_queue *q = &s->q[qi];
	struct chain c;

	while (!s->stopped) {
		uint16_t idx = *(uint16_t *)(uintptr_t)(q->avail + 2);
		if (q->last_avail == idx && evt(s) && !is_rx(s, qi)) {
			/* Ask for the next notify, then look once more: the
			   driver publishes before it reads avail_event. */
			set_avail_event(q, q->last_avail);
			idx = *(uint16_t *)(uintptr_t)(q->avail + 2);
		}
		if (q->last_avail == idx)
			return;
		if ((uint16_t)(idx - q->last_avail) > q->size) {
			violate(s, "avail index moved by %u on a queue of %u",
			    (uint16_t)(idx - q->last_avail), q->size);
			return;
		}
		uint16_t head = *(uint16_t *)(uintptr_t)(q->avail + 4 + 2 *
		    (uint64_t)(q->last_avail % q->size));
		q->last_avail++;
		if (!walk(s, q, head, &c))
			return;
		if (s->type == VSIM_BLK && s->hold_blk && s->nheld < 256) {
			s->held[s->nheld].head = head;
			s->held[s->nheld++].len = blk_request(s, &c);
		} else if (s->type == VSIM_BLK) {
			push_used(s, q, head, blk_request(s, &c));
		} else if ((int)qi == ctrl_index(s)) {
			net_ctrl(s, q, head, &c);
		} else if (qi & 1) {
			net_tx(s, &c, (uint16_t)(qi / 2));
			if (s->hold_tx && s->ntxheld < 1024) {
				s->txheld[s->ntxheld].qi = qi;
				s->txheld[s->ntxheld++].head = head;
			} else {
				push_used(s, q, head, 0);
			}
		} else {
			if (c.n != 1 || !c.b[0].w)
				violate(s, "receive buffer chain of %d buffers", c.n);
			q->rx_heads[(q->rx_head + q->rx_count++) % 256] = head;
		}
	}
}

int
vsim_net_tx_release(struct vsim *s, int n)
{
	int k = 0;
	for (; k < n && k < s->ntxheld && !s->stopped; k++)
		push_used(s, &s->q[s->txheld[k].qi], s->txheld[k].head, 0);
	for (int i = k; i < s->ntxheld; i++)
		s->txheld[i - k] = s->txheld[i];
	s->ntxheld -= k;
	return k;
}

int
vsim_blk_release(struct vsim *s, int k)
{
	if (k < 0 || k >= s->nheld || s->stopped)
		return -1;
	uint16_t head = s->held[k].head;
	uint32_t len = s->held[k].len;
	for (int i = k; i + 1 < s->nheld; i++)
		s->held[i] = s->held[i + 1];
	s->nheld--;
	push_used(s, &s->q[0], head, len);
	return 0;
}

/* Receive buffers the driver posted and published: those the device
   has seen plus those still on the ring (EVENT_IDX: not yet read). */
static int
posted(const struct vsim_queue *q)
{
	if (q->avail == 0)
		return q->rx_count;
	uint16_t idx = *(const uint16_t *)(uintptr_t)(q->avail + 2);
	return q->rx_count + (uint16_t)(idx - q->last_avail);
}

int
vsim_net_posted(const struct vsim *s)
{
	return posted(&s->q[0]);
}

int
vsim_net_posted_pair(const struct vsim *s, int k)
{
	if (k < 0 || k >= VSIM_MAX_PAIRS)
		return 0;
	return posted(&s->q[2 * k]);
}

/*
 * At least `n` receive buffers seen on queue q?  Without EVENT_IDX the
 * device knows only what notifies showed it.  With it, a device not
 * waiting reads the ring itself; finding too few, it asks for a notify
 * (avail_event = next entry), looks once more, and then waits.
 */
static bool
rx_have(struct vsim *s, struct vsim_queue *q, uint16_t n)
{
	if (q->rx_count >= n)
		return true;
	if (!evt(s) || q->rx_waiting || s->stopped)
		return false;
	uint16_t qi = (uint16_t)(q - s->q);
	process(s, qi);
	if (q->rx_count >= n)
		return true;
	set_avail_event(q, q->last_avail);
	process(s, qi);
	if (q->rx_count >= n)
		return true;
	q->rx_waiting = true;
	return false;
}

static int
inject_on(struct vsim *s, struct vsim_queue *q, const void *frame, uint32_t len,
    uint32_t extra_len)
{
	struct chain c;

	if (s->stopped || !rx_have(s, q, 1))
		return -1;
	uint16_t head = q->rx_heads[q->rx_head];
	walk(s, q, head, &c);
	s->chains--;
	if (c.n == 1 && c.b[0].len >= VNET_HDR_LEN_SIM && c.b[0].len < len + VNET_HDR_LEN_SIM &&
	    extra_len == 0 && (s->drv_features & 1ULL << VIRTIO_NET_F_MRG_RXBUF)) {
		/* Larger than one buffer: spread over as many as it takes
		   (mergeable receive buffers, all posted alike). */
		uint32_t room = c.b[0].len;
		struct virtio_net_hdr h = { .num_buffers =
			(uint16_t)((len + VNET_HDR_LEN_SIM + room - 1) / room) };
		return vsim_net_inject_hdr(s, &h, frame, len);
	}
	q->rx_head = (uint16_t)((q->rx_head + 1) % 256);
	q->rx_count--;
	if (c.n != 1 || c.b[0].len < len + VNET_HDR_LEN_SIM)
		return -1;
	struct virtio_net_hdr h = { .num_buffers = 1 };
	memcpy(c.b[0].p, &h, VNET_HDR_LEN_SIM);
	memcpy(c.b[0].p + VNET_HDR_LEN_SIM, frame, len);
	push_used(s, q, head, len + VNET_HDR_LEN_SIM + extra_len);
	return 0;
}

int
vsim_net_inject(struct vsim *s, const void *frame, uint32_t len, uint32_t extra_len)
{
	return inject_on(s, &s->q[0], frame, len, extra_len);
}

int
vsim_net_inject_pair(struct vsim *s, int k, const void *frame, uint32_t len)
{
	if (k < 0 || k >= s->pairs || k >= VSIM_MAX_PAIRS)
		return -1;
	return inject_on(s, &s->q[2 * k], frame, len, 0);
}

int
vsim_net_inject_hdr(struct vsim *s, const struct virtio_net_hdr *hdr,
    const void *frame, uint32_t len)
{
	struct vsim_queue *q = &s->q[0];
	const uint8_t *p = frame;
	uint32_t left = len + VNET_HDR_LEN_SIM, done = 0;
	uint16_t used = 0;

	if (s->stopped || !rx_have(s, q, hdr->num_buffers ? hdr->num_buffers : 1))
		return -1;
	/* Fill as many posted buffers as the header says (mergeable receive
	   buffers, 5.1.6.4): the header only in the first. */
	do {
		struct chain c;
		uint16_t head = q->rx_heads[q->rx_head];
		q->rx_head = (uint16_t)((q->rx_head + 1) % 256);
		q->rx_count--;
		walk(s, q, head, &c);
		s->chains--;
		uint32_t room = c.b[0].len, n = left < room ? left : room, off = 0;
		if (used == 0) {
			memcpy(c.b[0].p, hdr, VNET_HDR_LEN_SIM);
			off = VNET_HDR_LEN_SIM;
		}
		memcpy(c.b[0].p + off, p + done, n - off);
		done += n - off;
		left -= n;
		used++;
		push_used(s, q, head, n);
	} while (left > 0 && used < hdr->num_buffers);
	return left == 0 ? 0 : -1;
}

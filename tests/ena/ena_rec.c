/*
 * ena_rec.c - a recording wrapper around another hw_ops backend (the ENA
 * simulator): every seam call is passed on and written as a trace event
 * in the format of docs/trace-format.md, the same lines the kernel's
 * recorder (kernel/hw/trace.c) writes on COM2, so tests/hw/hw_replay.c
 * can play them back.  Events: R, W, A (length rounded to pages, as
 * natively), V, S (also for hw_dma_load16/32), D, T, B.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tests/ena/ena_rec.h"

static struct ena_rec *
R(struct hw_dev *d)
{
	return d->backend;
}

/* Run `call` with the inner backend in place (it finds its state in
   d->backend), then put the recorder back. */
#define INNER(d, call) do { \
	struct ena_rec *rec_ = R(d); \
	(d)->backend = rec_->inner_backend; \
	(d)->ops = rec_->inner; \
	call; \
	(d)->backend = rec_; \
	(d)->ops = &ena_rec_ops; \
} while (0)

static void
bytes(struct ena_rec *r, struct hw_dev *d, char kind, uint64_t pa, const void *va,
    size_t len)
{
	const uint8_t *p = va;
	fprintf(r->out, "%s %u %c 0x%" PRIx64 " %zu ", d->name, d->seq++, kind, pa, len);
	for (size_t i = 0; i < len; i++)
		fprintf(r->out, "%02x", p[i]);
	fputc('\n', r->out);
}

static uint64_t
rec_read(struct hw_bar *b, uint32_t off, int width)
{
	uint64_t v;
	struct hw_dev *d = b->dev;
	struct ena_rec *r = R(d);
	INNER(d, v = r->inner->read(b, off, width));
	fprintf(r->out, "%s %u R %d %d 0x%x 0x%" PRIx64 "\n", d->name, d->seq++, b->index,
	    width, off, v);
	return v;
}

static void
rec_write(struct hw_bar *b, uint32_t off, int width, uint64_t v)
{
	struct hw_dev *d = b->dev;
	struct ena_rec *r = R(d);
	/* Logged first: the write may make the device act (and the driver
	   never sees that in between). */
	fprintf(r->out, "%s %u W %d %d 0x%x 0x%" PRIx64 "\n", d->name, d->seq++, b->index,
	    width, off, v);
	INNER(d, r->inner->write(b, off, width, v));
}

static void
rec_write_block(struct hw_bar *b, uint32_t off, const uint64_t *w, size_t nwords)
{
	struct hw_dev *d = b->dev;
	struct ena_rec *r = R(d);
	const uint8_t *p = (const uint8_t *)w;
	fprintf(r->out, "%s %u B %d 0x%x %zu ", d->name, d->seq++, b->index, off, nwords * 8);
	for (size_t i = 0; i < nwords * 8; i++)
		fprintf(r->out, "%02x", p[i]);
	fputc('\n', r->out);
	INNER(d, r->inner->write_block(b, off, w, nwords));
}

static int
rec_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	int rc;
	struct ena_rec *r = R(d);
	INNER(d, rc = r->inner->dma_alloc(d, len, align, out));
	if (rc == 0)
		fprintf(r->out, "%s %u A 0x%" PRIx64 " 0x%zx\n", d->name, d->seq++, out->pa,
		    (len + 4095) & ~(size_t)4095);
	return rc;
}

static void
rec_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	struct ena_rec *r = R(d);
	INNER(d, r->inner->dma_free(d, dma));
}

static uint64_t
rec_v2p(struct hw_dev *d, const void *va)
{
	uint64_t pa;
	struct ena_rec *r = R(d);
	INNER(d, pa = r->inner->virt_to_phys(d, va));
	fprintf(r->out, "%s %u V 0x%" PRIx64 " 0x0\n", d->name, d->seq++, pa);
	return pa;
}

static uint64_t
quiet_v2p(struct hw_dev *d, const void *va)
{
	uint64_t pa;
	struct ena_rec *r = R(d);
	INNER(d, pa = r->inner->virt_to_phys(d, va));
	return pa;
}

static void
rec_sync_cpu(struct hw_dev *d, const void *va, size_t len)
{
	struct ena_rec *r = R(d);
	INNER(d, r->inner->dma_sync_cpu(d, va, len));
	bytes(r, d, 'S', quiet_v2p(d, va), va, len);
}

static void
rec_sync_dev(struct hw_dev *d, const void *va, size_t len)
{
	struct ena_rec *r = R(d);
	bytes(r, d, 'D', quiet_v2p(d, va), va, len);
	INNER(d, r->inner->dma_sync_dev(d, va, len));
}

static uint64_t
rec_now(struct hw_dev *d)
{
	uint64_t t;
	struct ena_rec *r = R(d);
	INNER(d, t = r->inner->now_ns(d));
	fprintf(r->out, "%s %u T %" PRIu64 "\n", d->name, d->seq++, t);
	return t;
}

static void
rec_delay(struct hw_dev *d, uint32_t us)
{
	struct ena_rec *r = R(d);
	INNER(d, r->inner->delay_us(d, us));
}

const struct hw_ops ena_rec_ops = {
	.read = rec_read,
	.write = rec_write,
	.write_block = rec_write_block,
	.dma_alloc = rec_dma_alloc,
	.dma_free = rec_dma_free,
	.virt_to_phys = rec_v2p,
	.dma_sync_cpu = rec_sync_cpu,
	.dma_sync_dev = rec_sync_dev,
	.now_ns = rec_now,
	.delay_us = rec_delay,
};

void
ena_rec_attach(struct ena_rec *r, struct hw_dev *d, FILE *out)
{
	r->inner = d->ops;
	r->inner_backend = d->backend;
	r->out = out;
	d->ops = &ena_rec_ops;
	d->backend = r;
	d->seq = 0;
}

void
ena_rec_detach(struct ena_rec *r, struct hw_dev *d)
{
	d->ops = r->inner;
	d->backend = r->inner_backend;
}

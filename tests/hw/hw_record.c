/*
 * hw_record.c - the host record backend (see hw_record.h).  One event
 * counter per recorder, so every hw_dev attached to it (and copies of
 * those) writes one gap-free stream.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tests/hw/hw_record.h"

struct hw_record {
	FILE *out;
	struct hw_dev inner;		/* the wrapped backend's view */
	char name[24];
	unsigned seq;
};

static struct hw_record *
rec_of(struct hw_dev *d)
{
	return d->backend;
}

/* Start an event line: "<name> <seq> <kind> ". */
static void
ev(struct hw_record *r, char kind)
{
	fprintf(r->out, "%s %u %c ", r->name, r->seq++, kind);
}

static void
hex(struct hw_record *r, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		fprintf(r->out, "%02x", b[i]);
}

/* The inner backend's window: same bar, device swapped. */
static struct hw_bar
inner_bar(struct hw_record *r, const struct hw_bar *b)
{
	struct hw_bar ib = *b;
	ib.dev = &r->inner;
	return ib;
}

static uint64_t
rc_read(struct hw_bar *b, uint32_t off, int width)
{
	struct hw_record *r = rec_of(b->dev);
	struct hw_bar ib = inner_bar(r, b);
	uint64_t v = r->inner.ops->read(&ib, off, width);
	ev(r, 'R');
	fprintf(r->out, "%d %d 0x%x 0x%" PRIx64 "\n", b->index, width, off, v);
	return v;
}

static void
rc_write(struct hw_bar *b, uint32_t off, int width, uint64_t v)
{
	struct hw_record *r = rec_of(b->dev);
	struct hw_bar ib = inner_bar(r, b);
	ev(r, 'W');
	fprintf(r->out, "%d %d 0x%x 0x%" PRIx64 "\n", b->index, width, off, v);
	r->inner.ops->write(&ib, off, width, v);
}

static uint32_t
rc_cfg_read(struct hw_dev *d, uint16_t off, int width)
{
	struct hw_record *r = rec_of(d);
	uint32_t v = r->inner.ops->cfg_read(&r->inner, off, width);
	ev(r, 'c');
	fprintf(r->out, "%d 0x%x 0x%x\n", width, off, v);
	return v;
}

static void
rc_cfg_write(struct hw_dev *d, uint16_t off, int width, uint32_t v)
{
	struct hw_record *r = rec_of(d);
	ev(r, 'C');
	fprintf(r->out, "%d 0x%x 0x%x\n", width, off, v);
	r->inner.ops->cfg_write(&r->inner, off, width, v);
}

static int
rc_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	struct hw_record *r = rec_of(d);
	int rc = r->inner.ops->dma_alloc(&r->inner, len, align, out);
	if (rc == 0) {
		ev(r, 'A');
		fprintf(r->out, "0x%" PRIx64 " 0x%zx\n", out->pa,
		    (len + 4095) & ~(size_t)4095);
	}
	return rc;
}

static void
rc_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	struct hw_record *r = rec_of(d);
	r->inner.ops->dma_free(&r->inner, dma);
}

static uint64_t
pa_of(struct hw_record *r, const void *va)
{
	return r->inner.ops->virt_to_phys(&r->inner, va);
}

static uint64_t
rc_virt_to_phys(struct hw_dev *d, const void *va)
{
	struct hw_record *r = rec_of(d);
	uint64_t pa = pa_of(r, va);
	ev(r, 'V');
	fprintf(r->out, "0x%" PRIx64 " 0x0\n", pa);
	return pa;
}

static void
rc_dma_sync_cpu(struct hw_dev *d, const void *va, size_t len)
{
	struct hw_record *r = rec_of(d);
	if (r->inner.ops->dma_sync_cpu != NULL)
		r->inner.ops->dma_sync_cpu(&r->inner, va, len);
	ev(r, 'S');
	fprintf(r->out, "0x%" PRIx64 " %zu ", pa_of(r, va), len);
	hex(r, va, len);
	fputc('\n', r->out);
}

static void
rc_dma_sync_dev(struct hw_dev *d, const void *va, size_t len)
{
	struct hw_record *r = rec_of(d);
	ev(r, 'D');
	fprintf(r->out, "0x%" PRIx64 " %zu ", pa_of(r, va), len);
	hex(r, va, len);
	fputc('\n', r->out);
	if (r->inner.ops->dma_sync_dev != NULL)
		r->inner.ops->dma_sync_dev(&r->inner, va, len);
}

static uint64_t
rc_now_ns(struct hw_dev *d)
{
	struct hw_record *r = rec_of(d);
	uint64_t t = r->inner.ops->now_ns(&r->inner);
	ev(r, 'T');
	fprintf(r->out, "%" PRIu64 "\n", t);
	return t;
}

static void
rc_delay_us(struct hw_dev *d, uint32_t us)
{
	struct hw_record *r = rec_of(d);
	r->inner.ops->delay_us(&r->inner, us);
}

static bool
rc_intr_wait(struct hw_dev *d, int vec, uint64_t timeout_ns)
{
	struct hw_record *r = rec_of(d);
	if (r->inner.ops->intr_wait == NULL) {
		r->inner.ops->delay_us(&r->inner, (uint32_t)(timeout_ns / 1000));
		return false;
	}
	return r->inner.ops->intr_wait(&r->inner, vec, timeout_ns);
}

static uint64_t
rc_msr_read(struct hw_dev *d, uint32_t msr)
{
	struct hw_record *r = rec_of(d);
	uint64_t v = r->inner.ops->msr_read(&r->inner, msr);
	ev(r, 'm');
	fprintf(r->out, "0x%x 0x%" PRIx64 "\n", msr, v);
	return v;
}

static void
rc_msr_write(struct hw_dev *d, uint32_t msr, uint64_t v)
{
	struct hw_record *r = rec_of(d);
	ev(r, 'M');
	fprintf(r->out, "0x%x 0x%" PRIx64 "\n", msr, v);
	r->inner.ops->msr_write(&r->inner, msr, v);
}

static void
rc_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	struct hw_record *r = rec_of(d);
	r->inner.ops->cpuid(&r->inner, leaf, subleaf, out);
	ev(r, 'X');
	fprintf(r->out, "0x%x 0x%x 0x%x 0x%x 0x%x 0x%x\n", leaf, subleaf, out[0],
	    out[1], out[2], out[3]);
}

static uint64_t
rc_hypercall(struct hw_dev *d, uint64_t control, uint64_t in_pa, uint64_t out_pa)
{
	struct hw_record *r = rec_of(d);
	uint64_t v = r->inner.ops->hypercall != NULL ?
	    r->inner.ops->hypercall(&r->inner, control, in_pa, out_pa) :
	    HW_HYPERCALL_NO_PAGE;
	ev(r, 'H');
	fprintf(r->out, "0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n",
	    control, in_pa, out_pa, v);
	return v;
}

static void
rc_write_block(struct hw_bar *b, uint32_t off, const uint64_t *w, size_t nwords)
{
	struct hw_record *r = rec_of(b->dev);
	struct hw_bar ib = inner_bar(r, b);
	ev(r, 'B');
	fprintf(r->out, "%d 0x%x %zu ", b->index, off, nwords * 8);
	hex(r, w, nwords * 8);
	fputc('\n', r->out);
	if (r->inner.ops->write_block != NULL) {
		r->inner.ops->write_block(&ib, off, w, nwords);
	} else {
		for (size_t i = 0; i < nwords; i++)
			r->inner.ops->write(&ib, off + 8 * (uint32_t)i, 8, w[i]);
	}
}

static bool
rc_rand(struct hw_dev *d, int src, uint64_t *v)
{
	struct hw_record *r = rec_of(d);
	bool ok = r->inner.ops->rand(&r->inner, src, v);
	ev(r, 'N');
	fprintf(r->out, "%s %d 0x%" PRIx64 "\n", src == HW_RAND_SEED ? "seed" : "rand",
	    ok ? 1 : 0, ok ? *v : 0);
	return ok;
}

const struct hw_ops hw_record_ops = {
	.read = rc_read,
	.write = rc_write,
	.cfg_read = rc_cfg_read,
	.cfg_write = rc_cfg_write,
	.dma_alloc = rc_dma_alloc,
	.dma_free = rc_dma_free,
	.virt_to_phys = rc_virt_to_phys,
	.dma_sync_cpu = rc_dma_sync_cpu,
	.dma_sync_dev = rc_dma_sync_dev,
	.now_ns = rc_now_ns,
	.delay_us = rc_delay_us,
	.intr_wait = rc_intr_wait,
	.msr_read = rc_msr_read,
	.msr_write = rc_msr_write,
	.cpuid = rc_cpuid,
	.hypercall = rc_hypercall,
	.write_block = rc_write_block,
	.rand = rc_rand,
};

struct hw_record *
hw_record_open(FILE *out, struct hw_dev *inner, const char *name)
{
	struct hw_record *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->out = out;
	r->inner = *inner;
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

void
hw_record_attach(struct hw_record *r, struct hw_dev *d)
{
	d->ops = &hw_record_ops;
	d->backend = r;
	snprintf(d->name, sizeof(d->name), "%s", r->name);
}

unsigned hw_record_count(const struct hw_record *r) { return r->seq; }

void
hw_record_close(struct hw_record *r)
{
	if (r != NULL)
		fflush(r->out);
	free(r);
}

/*
 * hw_fault.c - fault-injecting wrapper backend of the hardware seam; see
 * hw_fault.h.  Each op swaps the inner backend's state into the device
 * for the duration of the inner call, so the inner backend never sees
 * the wrapper.
 */
#include <stddef.h>
#include <stdio.h>

#include "tests/hw/hw_fault.h"

void
hw_fault_wrap(struct hw_fault *f, struct hw_dev *d, enum hw_fault_kind kind,
    int countdown, bool once)
{
	f->inner = d->ops;
	f->inner_backend = d->backend;
	f->kind = kind;
	f->countdown = countdown;
	f->once = once;
	f->fired = false;
	f->jump_ns = 0;
	f->injected = 0;
	d->ops = &hw_fault_ops;
	d->backend = f;
}

void
hw_fault_unwrap(struct hw_fault *f, struct hw_dev *d)
{
	d->ops = f->inner;
	d->backend = f->inner_backend;
}

/* Does this call of `kind` fault? Counts down first. */
static bool
fire(struct hw_fault *f, enum hw_fault_kind kind)
{
	if (f->kind != kind)
		return false;
	if (f->countdown > 0) {
		f->countdown--;
		return false;
	}
	if (f->once && f->fired)
		return false;
	f->fired = true;
	f->injected++;
	return true;
}

#define ENTER(d) struct hw_fault *f = (d)->backend; (d)->ops = f->inner; \
	(d)->backend = f->inner_backend
#define LEAVE(d) (d)->ops = &hw_fault_ops; (d)->backend = f

static uint64_t
f_read(struct hw_bar *b, uint32_t off, int width)
{
	ENTER(b->dev);
	uint64_t v = f->inner->read(b, off, width);
	if (fire(f, HW_FAULT_READ_ONES))
		v = width == 8 ? ~0ULL : (1ULL << (8 * width)) - 1;
	LEAVE(b->dev);
	return v;
}

static void
f_write(struct hw_bar *b, uint32_t off, int width, uint64_t v)
{
	ENTER(b->dev);
	f->inner->write(b, off, width, v);
	LEAVE(b->dev);
}

static uint32_t
f_cfg_read(struct hw_dev *d, uint16_t off, int width)
{
	ENTER(d);
	uint32_t v = f->inner->cfg_read(d, off, width);
	if (fire(f, HW_FAULT_READ_ONES))
		v = width == 4 ? ~0U : (1U << (8 * width)) - 1;
	LEAVE(d);
	return v;
}

static void
f_cfg_write(struct hw_dev *d, uint16_t off, int width, uint32_t v)
{
	ENTER(d);
	f->inner->cfg_write(d, off, width, v);
	LEAVE(d);
}

static int
f_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	ENTER(d);
	int rc = fire(f, HW_FAULT_DMA_ALLOC) ? -2 /* TERN_ENOMEM */ :
	    f->inner->dma_alloc(d, len, align, out);
	LEAVE(d);
	return rc;
}

static void
f_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	ENTER(d);
	f->inner->dma_free(d, dma);
	LEAVE(d);
}

static uint64_t
f_virt_to_phys(struct hw_dev *d, const void *va)
{
	ENTER(d);
	uint64_t pa = f->inner->virt_to_phys(d, va);
	LEAVE(d);
	return pa;
}

static void
f_dma_sync_cpu(struct hw_dev *d, const void *va, size_t len)
{
	ENTER(d);
	if (f->inner->dma_sync_cpu != NULL)
		f->inner->dma_sync_cpu(d, va, len);
	if (fire(f, HW_FAULT_SYNC_BYTES))
		for (size_t i = 0; i < len; i++)
			((uint8_t *)(uintptr_t)va)[i] ^= 0xa5;
	LEAVE(d);
}

static void
f_dma_sync_dev(struct hw_dev *d, const void *va, size_t len)
{
	ENTER(d);
	if (f->inner->dma_sync_dev != NULL)
		f->inner->dma_sync_dev(d, va, len);
	LEAVE(d);
}

static uint64_t
f_now_ns(struct hw_dev *d)
{
	ENTER(d);
	uint64_t t = f->inner->now_ns(d);
	if (fire(f, HW_FAULT_TIME_JUMP))
		f->jump_ns += 10000000000ULL;
	LEAVE(d);
	return t + f->jump_ns;
}

static void
f_delay_us(struct hw_dev *d, uint32_t us)
{
	ENTER(d);
	f->inner->delay_us(d, us);
	LEAVE(d);
}

static bool
f_intr_wait(struct hw_dev *d, int vec, uint64_t timeout_ns)
{
	ENTER(d);
	bool r = false;
	if (f->inner->intr_wait != NULL)
		r = f->inner->intr_wait(d, vec, timeout_ns);
	else
		f->inner->delay_us(d, (uint32_t)(timeout_ns / 1000));
	LEAVE(d);
	return r;
}

static uint64_t
f_msr_read(struct hw_dev *d, uint32_t msr)
{
	ENTER(d);
	uint64_t v = f->inner->msr_read(d, msr);
	if (fire(f, HW_FAULT_READ_ONES))
		v = ~0ULL;
	LEAVE(d);
	return v;
}

static void
f_msr_write(struct hw_dev *d, uint32_t msr, uint64_t v)
{
	ENTER(d);
	f->inner->msr_write(d, msr, v);
	LEAVE(d);
}

static void
f_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	ENTER(d);
	f->inner->cpuid(d, leaf, subleaf, out);
	if (fire(f, HW_FAULT_READ_ONES))
		out[0] = out[1] = out[2] = out[3] = ~0u;
	LEAVE(d);
}

static uint64_t
f_hypercall(struct hw_dev *d, uint64_t control, uint64_t in_pa, uint64_t out_pa)
{
	ENTER(d);
	uint64_t st = fire(f, HW_FAULT_HYPERCALL) ? HW_FAULT_HV_STATUS :
	    f->inner->hypercall == NULL ? HW_HYPERCALL_NO_PAGE :
	    f->inner->hypercall(d, control, in_pa, out_pa);
	LEAVE(d);
	return st;
}

static void
f_write_block(struct hw_bar *b, uint32_t off, const uint64_t *w, size_t nwords)
{
	ENTER(b->dev);
	if (f->inner->write_block != NULL)
		f->inner->write_block(b, off, w, nwords);
	else
		for (size_t i = 0; i < nwords; i++)
			f->inner->write(b, off + 8 * (uint32_t)i, 8, w[i]);
	LEAVE(b->dev);
}

static bool
f_rand(struct hw_dev *d, int src, uint64_t *v)
{
	ENTER(d);
	bool ok;
	if (fire(f, HW_FAULT_RAND)) {
		*v = 0;
		ok = false;
	} else {
		ok = f->inner->rand(d, src, v);
	}
	LEAVE(d);
	return ok;
}

const struct hw_ops hw_fault_ops = {
	.read = f_read,
	.write = f_write,
	.cfg_read = f_cfg_read,
	.cfg_write = f_cfg_write,
	.dma_alloc = f_dma_alloc,
	.dma_free = f_dma_free,
	.virt_to_phys = f_virt_to_phys,
	.dma_sync_cpu = f_dma_sync_cpu,
	.dma_sync_dev = f_dma_sync_dev,
	.now_ns = f_now_ns,
	.delay_us = f_delay_us,
	.intr_wait = f_intr_wait,
	.msr_read = f_msr_read,
	.msr_write = f_msr_write,
	.cpuid = f_cpuid,
	.hypercall = f_hypercall,
	.write_block = f_write_block,
	.rand = f_rand,
};

const char *
hw_fault_kind_name(enum hw_fault_kind kind)
{
	static const char *const names[] = { "none", "read_ones", "time_jump",
		"dma_alloc", "sync_bytes", "rand", "hypercall" };
	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

int
hw_fault_loop(const char *what, enum hw_fault_kind first, enum hw_fault_kind last,
    int max, bool (*run)(enum hw_fault_kind kind, int countdown, void *ctx), void *ctx,
    int *runs)
{
	int stuck = 0;
	for (int k = first; k <= (int)last; k++) {
		int c = 0;
		while (c < max && run((enum hw_fault_kind)k, c, ctx))
			c++;
		printf("    %s %-10s: %d countdowns%s\n", what,
		    hw_fault_kind_name((enum hw_fault_kind)k), c,
		    c == max ? " (still firing: the scenario never ran out)" : "");
		if (runs != NULL)
			runs[k - (int)first] = c;
		if (c == max && stuck == 0)
			stuck = k;
	}
	return stuck;
}

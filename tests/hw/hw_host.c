/*
 * hw_host.c - host build of the hardware seam: every call dispatches to
 * the backend table in hw_dev.ops (replay, simulator, fault wrapper).
 * A missing op is a test bug and aborts loudly.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kernel/hw/hw.h"

static const struct hw_ops *
ops_of(struct hw_dev *d, const char *what)
{
	if (d == NULL || d->ops == NULL) {
		fprintf(stderr, "hw_host: %s on a device without a backend\n", what);
		abort();
	}
	return d->ops;
}

#define NEED(d, op) do { if (ops_of((d), #op)->op == NULL) { \
	fprintf(stderr, "hw_host: %s: backend lacks " #op "\n", (d)->name); \
	abort(); } } while (0)

uint8_t hw_read8(struct hw_bar *b, uint32_t off) { NEED(b->dev, read); return (uint8_t)b->dev->ops->read(b, off, 1); }
uint16_t hw_read16(struct hw_bar *b, uint32_t off) { NEED(b->dev, read); return (uint16_t)b->dev->ops->read(b, off, 2); }
uint32_t hw_read32(struct hw_bar *b, uint32_t off) { NEED(b->dev, read); return (uint32_t)b->dev->ops->read(b, off, 4); }
uint64_t hw_read64(struct hw_bar *b, uint32_t off) { NEED(b->dev, read); return b->dev->ops->read(b, off, 8); }
void hw_write8(struct hw_bar *b, uint32_t off, uint8_t v) { NEED(b->dev, write); b->dev->ops->write(b, off, 1, v); }
void hw_write16(struct hw_bar *b, uint32_t off, uint16_t v) { NEED(b->dev, write); b->dev->ops->write(b, off, 2, v); }
void hw_write32(struct hw_bar *b, uint32_t off, uint32_t v) { NEED(b->dev, write); b->dev->ops->write(b, off, 4, v); }
void hw_write64(struct hw_bar *b, uint32_t off, uint64_t v) { NEED(b->dev, write); b->dev->ops->write(b, off, 8, v); }

uint8_t hw_cfg_read8(struct hw_dev *d, uint16_t off) { NEED(d, cfg_read); return (uint8_t)d->ops->cfg_read(d, off, 1); }
uint16_t hw_cfg_read16(struct hw_dev *d, uint16_t off) { NEED(d, cfg_read); return (uint16_t)d->ops->cfg_read(d, off, 2); }
uint32_t hw_cfg_read32(struct hw_dev *d, uint16_t off) { NEED(d, cfg_read); return d->ops->cfg_read(d, off, 4); }
void hw_cfg_write8(struct hw_dev *d, uint16_t off, uint8_t v) { NEED(d, cfg_write); d->ops->cfg_write(d, off, 1, v); }
void hw_cfg_write16(struct hw_dev *d, uint16_t off, uint16_t v) { NEED(d, cfg_write); d->ops->cfg_write(d, off, 2, v); }
void hw_cfg_write32(struct hw_dev *d, uint16_t off, uint32_t v) { NEED(d, cfg_write); d->ops->cfg_write(d, off, 4, v); }

int
hw_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	NEED(d, dma_alloc);
	return d->ops->dma_alloc(d, len, align, out);
}

void
hw_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	NEED(d, dma_free);
	d->ops->dma_free(d, dma);
}

uint64_t
hw_virt_to_phys(struct hw_dev *d, const void *va)
{
	NEED(d, virt_to_phys);
	return d->ops->virt_to_phys(d, va);
}

void
hw_dma_sync_cpu(struct hw_dev *d, const void *va, size_t len)
{
	if (ops_of(d, "dma_sync_cpu")->dma_sync_cpu != NULL)
		d->ops->dma_sync_cpu(d, va, len);
}

uint16_t
hw_dma_load16(struct hw_dev *d, const volatile void *va)
{
	hw_dma_sync_cpu(d, (const void *)va, 2);
	return *(const volatile uint16_t *)va;
}

uint32_t
hw_dma_load32(struct hw_dev *d, const volatile void *va)
{
	hw_dma_sync_cpu(d, (const void *)va, 4);
	return *(const volatile uint32_t *)va;
}

void
hw_dma_sync_dev(struct hw_dev *d, const void *va, size_t len)
{
	if (ops_of(d, "dma_sync_dev")->dma_sync_dev != NULL)
		d->ops->dma_sync_dev(d, va, len);
}

uint64_t hw_now_ns(struct hw_dev *d) { NEED(d, now_ns); return d->ops->now_ns(d); }

void
hw_delay_us(struct hw_dev *d, uint32_t us)
{
	NEED(d, delay_us);
	d->ops->delay_us(d, us);
}

bool
hw_intr_wait(struct hw_dev *d, int vec, uint64_t timeout_ns)
{
	if (ops_of(d, "intr_wait")->intr_wait == NULL) {
		hw_delay_us(d, (uint32_t)(timeout_ns / 1000));
		return false;
	}
	return d->ops->intr_wait(d, vec, timeout_ns);
}

uint64_t hw_msr_read(struct hw_dev *d, uint32_t msr) { NEED(d, msr_read); return d->ops->msr_read(d, msr); }
void hw_msr_write(struct hw_dev *d, uint32_t msr, uint64_t v) { NEED(d, msr_write); d->ops->msr_write(d, msr, v); }

void
hw_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	NEED(d, cpuid);
	d->ops->cpuid(d, leaf, subleaf, out);
}

/* Without a backend op there is no hypercall page, as in a kernel that
   has not installed one. */
uint64_t
hw_hypercall(struct hw_dev *d, uint64_t control, uint64_t in_pa, uint64_t out_pa)
{
	if (ops_of(d, "hypercall")->hypercall == NULL)
		return HW_HYPERCALL_NO_PAGE;
	return d->ops->hypercall(d, control, in_pa, out_pa);
}

void
hw_write_block(struct hw_bar *b, uint32_t off, const uint64_t *w, size_t nwords)
{
	if (nwords == 0 || nwords > HW_BLOCK_MAX_WORDS || (off & 7) != 0) {
		fprintf(stderr, "hw_host: %s: write_block of %zu words at +0x%x "
		    "breaks the contract\n", b->dev->name, nwords, off);
		abort();
	}
	/* Backends without a block op see the words one by one. */
	if (ops_of(b->dev, "write_block")->write_block == NULL) {
		NEED(b->dev, write);
		for (size_t i = 0; i < nwords; i++)
			b->dev->ops->write(b, off + 8 * (uint32_t)i, 8, w[i]);
		return;
	}
	b->dev->ops->write_block(b, off, w, nwords);
}

bool hw_rand(struct hw_dev *d, int src, uint64_t *v) { NEED(d, rand); return d->ops->rand(d, src, v); }

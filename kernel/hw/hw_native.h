/*
 * hw_native.h - the kernel build of the hardware seam (included by hw.h
 * when TERN_KERNEL is defined).  Every access is a static inline that
 * compiles to the bare instruction; a device whose hw_dev.trace flag is
 * set (command line trace=<name>) also reports each access to the
 * out-of-line recorder in trace.c, which writes docs/trace-format.md
 * lines on COM2.  The trace test is one predictable branch.
 */
#ifndef TERN_HW_NATIVE_H
#define TERN_HW_NATIVE_H

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/mm.h"
#include "kernel/time.h"

#define hw_mb()  __asm__ volatile("mfence" ::: "memory")
#define hw_rmb() __asm__ volatile("" ::: "memory")	/* x86: loads ordered */
#define hw_wmb() __asm__ volatile("" ::: "memory")	/* x86: stores ordered */

/* Recorder (kernel/hw/trace.c). */
void hw_trace_rw(struct hw_dev *d, char kind, int bar, int width, uint32_t off, uint64_t v);
void hw_trace_cfg(struct hw_dev *d, char kind, int width, uint16_t off, uint32_t v);
void hw_trace_dma(struct hw_dev *d, char kind, uint64_t pa, uint64_t len);
void hw_trace_sync(struct hw_dev *d, const void *va, size_t len);
void hw_trace_sync_value(struct hw_dev *d, const volatile void *va, const void *v,
    size_t len);
void hw_trace_sync_dev(struct hw_dev *d, const void *va, size_t len);
void hw_trace_time(struct hw_dev *d, uint64_t ns);
void hw_trace_msr(struct hw_dev *d, char kind, uint32_t msr, uint64_t v);
void hw_trace_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t subleaf,
    const uint32_t r[4]);
void hw_trace_hypercall(struct hw_dev *d, uint64_t control, uint64_t in_pa,
    uint64_t out_pa, uint64_t status);
void hw_trace_block(struct hw_dev *d, int bar, uint32_t off, const uint64_t *w,
    size_t nwords);
void hw_trace_rand(struct hw_dev *d, int src, bool ok, uint64_t v);
/* The installed hypercall page (trace.c), NULL until the Hyper-V glue
   calls hw_hypercall_set_page() with an executable page (exec_page_alloc)
   the hypervisor filled in. */
extern void *hw_hypercall_page;
void hw_hypercall_set_page(void *page);
/* True when trace=<name> asked for this device (bus glue sets d->trace). */
bool hw_trace_wanted(const char *name);

#define HW_TRACING(d) __builtin_expect((d)->trace, 0)

#define HW_RW(bits, io_in, io_out)					\
static inline uint##bits##_t						\
hw_read##bits(struct hw_bar *b, uint32_t off)				\
{									\
	uint##bits##_t v;						\
	if (b->io)							\
		v = (uint##bits##_t)io_in((uint16_t)(b->pa + off));	\
	else								\
		v = *(volatile uint##bits##_t *)(b->va + off);		\
	if (HW_TRACING(b->dev))						\
		hw_trace_rw(b->dev, 'R', b->index, bits / 8, off, v);	\
	return v;							\
}									\
static inline void							\
hw_write##bits(struct hw_bar *b, uint32_t off, uint##bits##_t v)	\
{									\
	if (HW_TRACING(b->dev))						\
		hw_trace_rw(b->dev, 'W', b->index, bits / 8, off, v);	\
	if (b->io)							\
		io_out((uint16_t)(b->pa + off), v);			\
	else								\
		*(volatile uint##bits##_t *)(b->va + off) = v;		\
}

HW_RW(8, inb, outb)
HW_RW(16, inw, outw)
HW_RW(32, inl, outl)

static inline uint64_t
hw_read64(struct hw_bar *b, uint32_t off)
{
	uint64_t v = *(volatile uint64_t *)(b->va + off);
	if (HW_TRACING(b->dev))
		hw_trace_rw(b->dev, 'R', b->index, 8, off, v);
	return v;
}

static inline void
hw_write64(struct hw_bar *b, uint32_t off, uint64_t v)
{
	if (HW_TRACING(b->dev))
		hw_trace_rw(b->dev, 'W', b->index, 8, off, v);
	*(volatile uint64_t *)(b->va + off) = v;
}

/* Config space: the function's ECAM window, else the 0xCF8 mechanism. */
static inline uint32_t
hw_cfg_raw_read(struct hw_dev *d, uint16_t off, int width)
{
	if (d->pci_cfg != NULL) {
		volatile uint8_t *p = d->pci_cfg + off;
		return width == 1 ? *p : width == 2 ? *(volatile uint16_t *)p :
		    *(volatile uint32_t *)p;
	}
	outl(0xcf8, 0x80000000u | (uint32_t)d->pci_bus << 16 |
	    (uint32_t)d->pci_dev << 11 | (uint32_t)d->pci_fn << 8 | (off & 0xfc));
	uint16_t port = (uint16_t)(0xcfc + (off & 3));
	return width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
}

static inline void
hw_cfg_raw_write(struct hw_dev *d, uint16_t off, int width, uint32_t v)
{
	if (d->pci_cfg != NULL) {
		volatile uint8_t *p = d->pci_cfg + off;
		if (width == 1)
			*p = (uint8_t)v;
		else if (width == 2)
			*(volatile uint16_t *)p = (uint16_t)v;
		else
			*(volatile uint32_t *)p = v;
		return;
	}
	outl(0xcf8, 0x80000000u | (uint32_t)d->pci_bus << 16 |
	    (uint32_t)d->pci_dev << 11 | (uint32_t)d->pci_fn << 8 | (off & 0xfc));
	uint16_t port = (uint16_t)(0xcfc + (off & 3));
	if (width == 1)
		outb(port, (uint8_t)v);
	else if (width == 2)
		outw(port, (uint16_t)v);
	else
		outl(port, v);
}

#define HW_CFG(bits)							\
static inline uint##bits##_t						\
hw_cfg_read##bits(struct hw_dev *d, uint16_t off)			\
{									\
	uint32_t v = hw_cfg_raw_read(d, off, bits / 8);			\
	if (HW_TRACING(d))						\
		hw_trace_cfg(d, 'r', bits / 8, off, v);			\
	return (uint##bits##_t)v;					\
}									\
static inline void							\
hw_cfg_write##bits(struct hw_dev *d, uint16_t off, uint##bits##_t v)	\
{									\
	if (HW_TRACING(d))						\
		hw_trace_cfg(d, 'w', bits / 8, off, v);			\
	hw_cfg_raw_write(d, off, bits / 8, v);				\
}
HW_CFG(8)
HW_CFG(16)
HW_CFG(32)

static inline int
hw_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	size_t np = (len + 4095) / 4096;
	void *va = page_alloc(np, align > 4096 ? align : 0, d->dma_limit);
	if (va == NULL)
		return -2;	/* TERN_ENOMEM */
	out->va = va;
	out->pa = virt_to_phys(va);
	out->len = np * 4096;
	if (out->pa == ~0ULL) {
		page_free(va, np);
		return -18;	/* TERN_EFAULT: not translatable */
	}
	if (HW_TRACING(d))
		hw_trace_dma(d, 'A', out->pa, out->len);
	return 0;
}

static inline void
hw_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	if (dma->va != NULL)
		page_free(dma->va, dma->len / 4096);
	dma->va = NULL;
	dma->len = 0;
}

static inline uint64_t
hw_virt_to_phys(struct hw_dev *d, const void *va)
{
	uint64_t pa = virt_to_phys(va);
	if (HW_TRACING(d))
		hw_trace_dma(d, 'V', pa, 0);
	return pa;
}

/* x86 DMA is cache coherent: ordering is all that is needed. */
static inline void
hw_dma_sync_cpu(struct hw_dev *d, const void *va, size_t len)
{
	__asm__ volatile("" ::: "memory");
	if (HW_TRACING(d))
		hw_trace_sync(d, va, len);
}

/* One load of a word the device may be changing right now (a ring
   index, a phase bit): the recorder logs the value the driver got, not
   whatever the memory holds a moment later. */
#define HW_DMA_LOAD(bits)						\
static inline uint##bits##_t						\
hw_dma_load##bits(struct hw_dev *d, const volatile void *va)		\
{									\
	uint##bits##_t v = *(const volatile uint##bits##_t *)va;	\
	__asm__ volatile("" ::: "memory");				\
	if (HW_TRACING(d))						\
		hw_trace_sync_value(d, va, &v, sizeof(v));		\
	return v;							\
}
HW_DMA_LOAD(16)
HW_DMA_LOAD(32)
#undef HW_DMA_LOAD

/* The CPU's writes to va..va+len are for the device: ordering only on
   x86; the recorder logs what the device is about to read. */
static inline void
hw_dma_sync_dev(struct hw_dev *d, const void *va, size_t len)
{
	__asm__ volatile("" ::: "memory");
	if (HW_TRACING(d))
		hw_trace_sync_dev(d, va, len);
}

static inline uint64_t
hw_now_ns(struct hw_dev *d)
{
	uint64_t t = time_now_ns();
	if (HW_TRACING(d))
		hw_trace_time(d, t);
	return t;
}

static inline void
hw_delay_us(struct hw_dev *d, uint32_t us)
{
	time_delay_us(us);
}

/* Sleep until the next interrupt (the 1 kHz timer bounds it) or the
   timeout; polled drivers then look at their rings again. */
static inline bool
hw_intr_wait(struct hw_dev *d, int vec, uint64_t timeout_ns)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	if ((f & 0x200) && timeout_ns >= 1000000)
		__asm__ volatile("hlt" ::: "memory");
	else
		time_delay_us(timeout_ns < 1000000 ? timeout_ns / 1000 + 1 : 1000);
	return false;
}

static inline uint64_t
hw_msr_read(struct hw_dev *d, uint32_t msr)
{
	uint64_t v = rdmsr(msr);
	if (HW_TRACING(d))
		hw_trace_msr(d, 'm', msr, v);
	return v;
}

static inline void
hw_msr_write(struct hw_dev *d, uint32_t msr, uint64_t v)
{
	if (HW_TRACING(d))
		hw_trace_msr(d, 'M', msr, v);
	wrmsr(msr, v);
}

static inline void
hw_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	cpuid(leaf, subleaf, out);
	if (HW_TRACING(d))
		hw_trace_cpuid(d, leaf, subleaf, out);
}

/* TLFS 3.7 register convention, not the C one: control in RCX, input
   page in RDX, output page in R8, result in RAX.  The page's code may
   clobber the other caller-saved registers. */
static inline uint64_t
hw_hypercall(struct hw_dev *d, uint64_t control, uint64_t in_pa, uint64_t out_pa)
{
	uint64_t status;
	void *page = __atomic_load_n(&hw_hypercall_page, __ATOMIC_ACQUIRE);
	if (page == NULL) {
		status = HW_HYPERCALL_NO_PAGE;
	} else {
		register uint64_t rcx __asm__("rcx") = control;
		register uint64_t rdx __asm__("rdx") = in_pa;
		register uint64_t r8 __asm__("r8") = out_pa;
		__asm__ volatile("call *%[page]"
		    : "=a"(status), "+r"(rcx), "+r"(rdx), "+r"(r8)
		    : [page] "r"(page)
		    : "rsi", "rdi", "r9", "r10", "r11", "memory", "cc");
	}
	if (HW_TRACING(d))
		hw_trace_hypercall(d, control, in_pa, out_pa, status);
	return status;
}

static inline void
hw_write_block(struct hw_bar *b, uint32_t off, const uint64_t *w, size_t nwords)
{
	volatile uint64_t *p = (volatile uint64_t *)(b->va + off);
	if (HW_TRACING(b->dev))
		hw_trace_block(b->dev, b->index, off, w, nwords);
	for (size_t i = 0; i < nwords; i++)
		p[i] = w[i];
	/* Drains the write-combining buffer: the block reaches the device
	   before the doorbell that follows. */
	cpu_sfence();
}

static inline bool
hw_rand(struct hw_dev *d, int src, uint64_t *v)
{
	bool ok = src == HW_RAND_SEED ? cpu_rdseed(v) : cpu_rdrand(v);
	if (!ok)
		*v = 0;
	if (HW_TRACING(d))
		hw_trace_rand(d, src, ok, *v);
	return ok;
}

#endif

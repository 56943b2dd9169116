/*
 * hw.h - the hardware seam: the only way drivers touch a device.
 *
 * Every MMIO/port access, PCI config access, DMA allocation, address
 * translation, device-to-CPU DMA hand-over, delay and clock read a driver
 * makes goes through these functions.  Drivers never use raw volatile
 * pointers or in/out instructions.
 *
 * Two builds of the same driver source:
 *  - TERN_KERNEL: "native".  hw_native.h provides static inline versions;
 *    a device whose hw_dev.trace flag is set (command line trace=<name>)
 *    also logs every access on COM2 in the format of docs/trace-format.md.
 *  - TERN_HOST: every call goes through the backend in hw_dev.ops: replay
 *    (a recorded trace), a device simulator, or the fault wrapper around
 *    either (tests/hw/).  The same driver code runs unchanged.
 *
 * Contract for drivers:
 *  - A device's registers live in one or more struct hw_bar windows set up
 *    by the bus glue (PCI BARs, virtio capability windows, VMBus pages).
 *  - Memory the device writes (completion queues, used rings, read data)
 *    MUST be handed to the CPU with hw_dma_sync_cpu() before the driver
 *    reads it.  Natively this is a compiler barrier (x86 DMA is coherent);
 *    under record it logs the bytes; under replay it fills them in.  A read
 *    of device-written memory without it is a driver bug that replay tests
 *    catch because the memory stays zero.
 *  - Memory the CPU wrote for the device to read (descriptors and ring
 *    entries, submission entries, PRP lists, request headers, write data,
 *    transmitted frames) MUST be handed to the device with
 *    hw_dma_sync_dev() after the CPU's last write to it and before the
 *    notify or doorbell that lets the device look.  Natively this is a
 *    compiler barrier; under record it logs the bytes (a D event); under
 *    replay they are compared with the recording, so a driver that puts
 *    a wrong address, length or LBA in device memory fails its replay.
 *    Sync exactly what was written, not whole rings: stale bytes around
 *    it differ between machines.
 *  - A word the device may still be changing while the driver looks (a
 *    used-ring index, a completion phase) is read with hw_dma_load16/32:
 *    one load whose value is what the recorder logs, so a trace never
 *    holds a value other than the one the driver acted on.
 *  - Every DMA address handed to a device comes from hw_dma_alloc() or
 *    hw_virt_to_phys() and is below hw_dev.dma_limit.
 *  - Waits are built from hw_now_ns() and hw_delay_us() and are bounded.
 *  - CPU-level operations (MSRs, CPUID, hypercalls, the random-number
 *    instructions) also go through the seam, on the hw_dev of whoever asks
 *    (a driver's device, or a "cpu" device for platform code), so they are
 *    traced and replayed like register accesses.
 *  - A block of 64-bit words that must reach the device as one burst (an
 *    ENA LLQ entry in a write-combining window) is written with
 *    hw_write_block(), never as a loop of hw_write64().
 */
#ifndef TERN_HW_H
#define TERN_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hw_dev;

/* Register names for traces and replay diagnostics; terminated by name 0. */
struct hw_regname {
	uint32_t off;
	uint8_t width;		/* bytes; 0 matches any width */
	const char *name;
};

/* A register window: a PCI BAR or part of one, or an I/O port range. */
struct hw_bar {
	struct hw_dev *dev;
	volatile uint8_t *va;	/* kernel: mapped uncached; host: unused */
	uint64_t pa;		/* physical address, or base port if io */
	uint64_t len;		/* bytes (or ports) */
	bool io;		/* port I/O instead of MMIO */
	uint8_t index;		/* window number used in traces */
	const struct hw_regname *names; /* optional */
};

/* A DMA buffer: CPU view and device view of the same memory. */
struct hw_dma {
	void *va;
	uint64_t pa;
	size_t len;
};

/* Sources for hw_rand(). */
#define HW_RAND_SEED	0	/* RDSEED: conditioned entropy */
#define HW_RAND_RAND	1	/* RDRAND: DRBG output */

/* hw_hypercall() status when no hypercall page is installed (not a
   Hyper-V status: those fit in 16 bits with bit 15 clear). */
#define HW_HYPERCALL_NO_PAGE	0xffffu

/* hw_write_block() bounds: whole 64-bit words, at most one page. */
#define HW_BLOCK_MAX_WORDS	512

/* Host backends implement this table; the kernel never uses it. */
struct hw_ops {
	uint64_t (*read)(struct hw_bar *b, uint32_t off, int width);
	void (*write)(struct hw_bar *b, uint32_t off, int width, uint64_t v);
	uint32_t (*cfg_read)(struct hw_dev *d, uint16_t off, int width);
	void (*cfg_write)(struct hw_dev *d, uint16_t off, int width, uint32_t v);
	int (*dma_alloc)(struct hw_dev *d, size_t len, size_t align,
	    struct hw_dma *out);
	void (*dma_free)(struct hw_dev *d, struct hw_dma *dma);
	uint64_t (*virt_to_phys)(struct hw_dev *d, const void *va);
	void (*dma_sync_cpu)(struct hw_dev *d, const void *va, size_t len);
	void (*dma_sync_dev)(struct hw_dev *d, const void *va, size_t len);
	uint64_t (*now_ns)(struct hw_dev *d);
	void (*delay_us)(struct hw_dev *d, uint32_t us);
	/* Wait up to timeout_ns for an interrupt on vector slot `vec` (or any
	   progress, for a simulator); returns true if one arrived. */
	bool (*intr_wait)(struct hw_dev *d, int vec, uint64_t timeout_ns);
	uint64_t (*msr_read)(struct hw_dev *d, uint32_t msr);
	void (*msr_write)(struct hw_dev *d, uint32_t msr, uint64_t v);
	void (*cpuid)(struct hw_dev *d, uint32_t leaf, uint32_t subleaf,
	    uint32_t out[4]);
	uint64_t (*hypercall)(struct hw_dev *d, uint64_t control, uint64_t in_pa,
	    uint64_t out_pa);
	void (*write_block)(struct hw_bar *b, uint32_t off, const uint64_t *w,
	    size_t nwords);
	bool (*rand)(struct hw_dev *d, int src, uint64_t *v);
};

/* Which bus a device was found on (hw_dev.bus). */
enum hw_bus {
	HW_BUS_NONE,		/* platform devices (HPET, cpu), simulators */
	HW_BUS_PCI,
	HW_BUS_VMBUS,
};

/* Per-device seam state, embedded in the driver's softc by the bus glue. */
struct hw_dev {
	char name[24];		/* "virtio-net0", "nvme0": used in every log */
	uint64_t dma_limit;	/* DMA addresses must be < this (0: no limit) */
	bool trace;		/* kernel: record accesses on COM2 */
	uint32_t seq;		/* trace event counter */
	/* A copy of another hw_dev (a VMBus channel's copy of the hv device,
	   a receive pool's copy of its driver's) counts in the original's
	   counter, so one trace never repeats a number; NULL: its own.
	   Always the root's, which must outlive every copy. */
	uint32_t *seqp;
	/* Identity, filled by the bus glue: bus-independent driver cores
	   read it only through hw_dev_tag(). */
	enum hw_bus bus;
	uint16_t pci_vendor, pci_device;	/* HW_BUS_PCI */
	uint8_t vmbus_instance[16];	/* HW_BUS_VMBUS: channel instance GUID,
					   as in the offer (wire byte order) */
	/* PCI location for config access (bus glue fills these). */
	uint16_t pci_seg;
	uint8_t pci_bus, pci_dev, pci_fn;
	volatile uint8_t *pci_cfg; /* kernel: ECAM window of this function, or
				      NULL for the 0xCF8 method */
	const struct hw_ops *ops; /* host only */
	void *backend;		/* host only: backend state */
};

/* The next trace sequence number of d: the root's counter when d is a
   copy (seqp), else its own. */
static inline uint32_t
hw_trace_seq_next(struct hw_dev *d)
{
	return d->seqp != NULL ? (*d->seqp)++ : d->seq++;
}

/* dst becomes a copy of src that numbers its trace events in the root's
   counter.  The root must outlive the copy, or the copy must be cut
   loose with hw_dev_uncopy before the root goes. */
static inline void
hw_dev_copy(struct hw_dev *dst, struct hw_dev *src)
{
	*dst = *src;
	dst->seqp = src->seqp != NULL ? src->seqp : &src->seq;
}

/* A copy about to outlive its root (a receive pool orphaned at detach)
   counts on its own from the root's number. */
static inline void
hw_dev_uncopy(struct hw_dev *d)
{
	if (d->seqp != NULL) {
		d->seq = *d->seqp;
		d->seqp = NULL;
	}
}

/*
 * CPU-level operations, in both builds:
 *  hw_msr_read/hw_msr_write  RDMSR/WRMSR of `msr`.  A #GP (an MSR the
 *      platform lacks) is not caught: callers check CPUID first.
 *  hw_cpuid  CPUID leaf/subleaf; out[0..3] = eax, ebx, ecx, edx.
 *  hw_hypercall  a Hyper-V hypercall (TLFS 3.7: control word in RCX,
 *      input and output page bus addresses in RDX and R8) through the
 *      installed hypercall page; returns the hypervisor's result (status
 *      in bits 15:0, reps completed in 43:32), or HW_HYPERCALL_NO_PAGE
 *      while no page is installed (kernel: hw_hypercall_set_page()).
 *  hw_write_block  `nwords` (1..HW_BLOCK_MAX_WORDS) 64-bit stores of w[]
 *      to consecutive offsets from `off` (8-byte aligned) of MMIO window
 *      b, in ascending order, then a store fence: a write-combining window
 *      (ENA LLQ, 64- or 128-byte entries) emits the block before any
 *      later store such as the doorbell.
 *  hw_rand  one RDSEED (HW_RAND_SEED) or RDRAND (HW_RAND_RAND) attempt:
 *      true and *v set when the CPU had a value (carry set); false when it
 *      asks to retry.  Callers check CPUID for the instruction first and
 *      bound their retries.
 */

/*
 * Three bytes that tell a device from its siblings on this machine and
 * stay the same from boot to boot, whatever the bus: PCI bus, device,
 * function; VMBus the last three bytes of the instance GUID; zeros for
 * a device without a bus.  For values such as a fallback MAC address,
 * so a driver core never reads bus fields itself.
 */
static inline void
hw_dev_tag(const struct hw_dev *d, uint8_t out[3])
{
	switch (d->bus) {
	case HW_BUS_PCI:
		out[0] = d->pci_bus;
		out[1] = d->pci_dev;
		out[2] = d->pci_fn;
		break;
	case HW_BUS_VMBUS:
		out[0] = d->vmbus_instance[13];
		out[1] = d->vmbus_instance[14];
		out[2] = d->vmbus_instance[15];
		break;
	default:
		out[0] = out[1] = out[2] = 0;
	}
}

#if defined(TERN_KERNEL)
#include "kernel/hw/hw_native.h"
#else
/* Host builds: thin dispatchers into d->ops (tests/hw/hw_host.c). */
uint8_t hw_read8(struct hw_bar *b, uint32_t off);
uint16_t hw_read16(struct hw_bar *b, uint32_t off);
uint32_t hw_read32(struct hw_bar *b, uint32_t off);
uint64_t hw_read64(struct hw_bar *b, uint32_t off);
void hw_write8(struct hw_bar *b, uint32_t off, uint8_t v);
void hw_write16(struct hw_bar *b, uint32_t off, uint16_t v);
void hw_write32(struct hw_bar *b, uint32_t off, uint32_t v);
void hw_write64(struct hw_bar *b, uint32_t off, uint64_t v);
uint8_t hw_cfg_read8(struct hw_dev *d, uint16_t off);
uint16_t hw_cfg_read16(struct hw_dev *d, uint16_t off);
uint32_t hw_cfg_read32(struct hw_dev *d, uint16_t off);
void hw_cfg_write8(struct hw_dev *d, uint16_t off, uint8_t v);
void hw_cfg_write16(struct hw_dev *d, uint16_t off, uint16_t v);
void hw_cfg_write32(struct hw_dev *d, uint16_t off, uint32_t v);
int hw_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out);
void hw_dma_free(struct hw_dev *d, struct hw_dma *dma);
uint64_t hw_virt_to_phys(struct hw_dev *d, const void *va);
void hw_dma_sync_cpu(struct hw_dev *d, const void *va, size_t len);
void hw_dma_sync_dev(struct hw_dev *d, const void *va, size_t len);
uint16_t hw_dma_load16(struct hw_dev *d, const volatile void *va);
uint32_t hw_dma_load32(struct hw_dev *d, const volatile void *va);
uint64_t hw_now_ns(struct hw_dev *d);
void hw_delay_us(struct hw_dev *d, uint32_t us);
bool hw_intr_wait(struct hw_dev *d, int vec, uint64_t timeout_ns);
uint64_t hw_msr_read(struct hw_dev *d, uint32_t msr);
void hw_msr_write(struct hw_dev *d, uint32_t msr, uint64_t v);
void hw_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
uint64_t hw_hypercall(struct hw_dev *d, uint64_t control, uint64_t in_pa,
    uint64_t out_pa);
void hw_write_block(struct hw_bar *b, uint32_t off, const uint64_t *w,
    size_t nwords);
bool hw_rand(struct hw_dev *d, int src, uint64_t *v);
#define hw_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define hw_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define hw_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

#endif /* TERN_HW_H */

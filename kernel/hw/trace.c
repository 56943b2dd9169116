/*
 * trace.c - the record backend of the hardware seam: one text line per
 * access of a traced device on COM2 (0x2F8), in the format of
 * docs/trace-format.md.  Slow on purpose (polled UART); only devices named
 * by trace= on the command line pay for it.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/hw/hw.h"
#include "kernel/lib/fmt.h"

#define COM2 0x2f8

static int com2_state;	/* 0 unknown, 1 present, -1 absent */

static void
com2_write(const char *s, size_t n)
{
	if (com2_state == 0) {
		outb(COM2 + 7, 0xa5);
		com2_state = inb(COM2 + 7) == 0xa5 ? 1 : -1;
		if (com2_state > 0) {
			outb(COM2 + 1, 0);
			outb(COM2 + 3, 0x80);
			outb(COM2 + 0, 1);
			outb(COM2 + 1, 0);
			outb(COM2 + 3, 3);
			outb(COM2 + 2, 0xc7);
		}
	}
	if (com2_state < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 100000 && !(inb(COM2 + 5) & 0x20); k++)
			cpu_pause();
		outb(COM2, (uint8_t)s[i]);
	}
}

static void
line(const char *buf, int n)
{
	com2_write(buf, n < 0 ? 0 : (size_t)n);
}

void
hw_trace_rw(struct hw_dev *d, char kind, int bar, int width, uint32_t off, uint64_t v)
{
	char buf[96];
	int n = ksnprintf(buf, sizeof(buf), "%s %u %c %d %d 0x%x 0x%llx\n", d->name,
	    hw_trace_seq_next(d), kind, bar, width, off, (unsigned long long)v);
	line(buf, n);
}

void
hw_trace_cfg(struct hw_dev *d, char kind, int width, uint16_t off, uint32_t v)
{
	char buf[96];
	int n = ksnprintf(buf, sizeof(buf), "%s %u %c %d 0x%x 0x%x\n", d->name,
	    hw_trace_seq_next(d), kind == 'r' ? 'c' : 'C', width, off, v);
	line(buf, n);
}

void
hw_trace_dma(struct hw_dev *d, char kind, uint64_t pa, uint64_t len)
{
	char buf[96];
	int n = ksnprintf(buf, sizeof(buf), "%s %u %c 0x%llx 0x%llx\n", d->name,
	    hw_trace_seq_next(d), kind, (unsigned long long)pa, (unsigned long long)len);
	line(buf, n);
}

/* One event carrying bytes: "<dev> <seq> <kind> 0x<pa> <len> <hex>", the
   hex in chunks so a 64 KiB block does not cost a format call per byte. */
static void
trace_bytes(struct hw_dev *d, char kind, const volatile void *va, const void *v,
    size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char buf[96];
	const uint8_t *p = v;
	int n = ksnprintf(buf, sizeof(buf), "%s %u %c 0x%llx %zu ", d->name,
	    hw_trace_seq_next(d), kind, (unsigned long long)virt_to_phys((const void *)va), len);
	line(buf, n);
	for (size_t i = 0; i < len; ) {
		size_t k = 0;
		for (; k + 2 <= sizeof(buf) && i < len; i++) {
			buf[k++] = hex[p[i] >> 4];
			buf[k++] = hex[p[i] & 15];
		}
		line(buf, (int)k);
	}
	line("\n", 1);
}

void
hw_trace_sync(struct hw_dev *d, const void *va, size_t len)
{
	trace_bytes(d, 'S', va, va, len);
}

/* An S event for the memory at va whose bytes are those at v (the value
   the driver loaded, which the memory may no longer hold). */
void
hw_trace_sync_value(struct hw_dev *d, const volatile void *va, const void *v, size_t len)
{
	trace_bytes(d, 'S', va, v, len);
}

/* A D event: the device is about to read these bytes the CPU wrote. */
void
hw_trace_sync_dev(struct hw_dev *d, const void *va, size_t len)
{
	trace_bytes(d, 'D', va, va, len);
}

void
hw_trace_time(struct hw_dev *d, uint64_t ns)
{
	char buf[64];
	int n = ksnprintf(buf, sizeof(buf), "%s %u T %llu\n", d->name, hw_trace_seq_next(d),
	    (unsigned long long)ns);
	line(buf, n);
}

void
hw_trace_msr(struct hw_dev *d, char kind, uint32_t msr, uint64_t v)
{
	char buf[96];
	int n = ksnprintf(buf, sizeof(buf), "%s %u %c 0x%x 0x%llx\n", d->name,
	    hw_trace_seq_next(d), kind, msr, (unsigned long long)v);
	line(buf, n);
}

void
hw_trace_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t subleaf, const uint32_t r[4])
{
	char buf[128];
	int n = ksnprintf(buf, sizeof(buf), "%s %u X 0x%x 0x%x 0x%x 0x%x 0x%x 0x%x\n",
	    d->name, hw_trace_seq_next(d), leaf, subleaf, r[0], r[1], r[2], r[3]);
	line(buf, n);
}

void
hw_trace_hypercall(struct hw_dev *d, uint64_t control, uint64_t in_pa,
    uint64_t out_pa, uint64_t status)
{
	char buf[128];
	int n = ksnprintf(buf, sizeof(buf), "%s %u H 0x%llx 0x%llx 0x%llx 0x%llx\n",
	    d->name, hw_trace_seq_next(d), (unsigned long long)control, (unsigned long long)in_pa,
	    (unsigned long long)out_pa, (unsigned long long)status);
	line(buf, n);
}

/* "B <bar> 0x<off> <len> <hex>": the words as the device sees them,
   little-endian bytes, like a D event. */
void
hw_trace_block(struct hw_dev *d, int bar, uint32_t off, const uint64_t *w,
    size_t nwords)
{
	static const char hex[] = "0123456789abcdef";
	char buf[96];
	int n = ksnprintf(buf, sizeof(buf), "%s %u B %d 0x%x %zu ", d->name, hw_trace_seq_next(d),
	    bar, off, nwords * 8);
	line(buf, n);
	for (size_t i = 0; i < nwords; i++) {
		int k = 0;
		for (int b = 0; b < 8; b++) {
			uint8_t c = (uint8_t)(w[i] >> (8 * b));
			buf[k++] = hex[c >> 4];
			buf[k++] = hex[c & 15];
		}
		line(buf, k);
	}
	line("\n", 1);
}

void
hw_trace_rand(struct hw_dev *d, int src, bool ok, uint64_t v)
{
	char buf[96];
	int n = ksnprintf(buf, sizeof(buf), "%s %u N %s %d 0x%llx\n", d->name, hw_trace_seq_next(d),
	    src == HW_RAND_SEED ? "seed" : "rand", ok ? 1 : 0, (unsigned long long)v);
	line(buf, n);
}

void *hw_hypercall_page;

void
hw_hypercall_set_page(void *page)
{
	__atomic_store_n(&hw_hypercall_page, page, __ATOMIC_RELEASE);
}

#include <string.h>
#include "kernel/kernel.h"

/* Is `name` listed in trace= on the command line? */
bool
hw_trace_wanted(const char *name)
{
	for (int i = 0; i < kernel.cmdline.ntrace; i++)
		if (strcmp(kernel.cmdline.trace[i], name) == 0)
			return true;
	return false;
}

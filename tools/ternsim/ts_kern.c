/*
 * ts_kern.c - the kernel services pal/rt*.c, pal/pal_net.c, kernel/dev/dev.c
 * and the drivers call, implemented on Linux for ternsim (docs/ternsim.md).
 *
 * What the runtime gets here, and how it differs from the kernel:
 *  - heap (kmalloc & co): the C library's allocator, 16-byte aligned or
 *    better; the kernel's own heap is tested on its own (tests/kernel).
 *  - stacks (stack_alloc): mmap'd, with an inaccessible guard page below,
 *    never freed (the runtime reuses them, as in the kernel).
 *  - workload images (image_alloc/image_protect): mmap'd regions with
 *    guard pages on both sides; image_protect is mprotect(2), so a
 *    workload that writes its text or runs its data faults here too (the
 *    fault is not contained: the process dies, where the kernel would end
 *    only the run).
 *  - the clock: CLOCK_MONOTONIC from process start.
 *  - the console: stdout, one write(2) per line, as the serial port.
 *  - cpu_idle: waits up to a millisecond (the kernel's tick) for the wire
 *    (ts_wire_wait, ternsim.c) instead of halting.
 *  - entropy (entropy_get): getrandom(2); pal/entropy.c's RDSEED/RDRAND
 *    half is kernel-only (its portable ChaCha20 and health check are
 *    tested in tests/pal).
 *  - physical addresses: identity (the simulator's DMA model, too).
 *  - machine_exit/fail/panic: exit(2) with the code the kernel would hand
 *    QEMU's debug-exit port (EXIT_* in kernel/panic.h), 0 for power-off.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kernel/heap.h"
#include "kernel/intr.h"
#include "kernel/kernel.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/time.h"
#include "pal/entropy.h"
#include "tools/ternsim/ternsim.h"

struct kernel kernel;
void (*exception_hook)(const struct exc_info *ei);
uint64_t intr_spurious, intr_unclaimed;

#define PAGE 4096UL

/* ---- heap ------------------------------------------------------------- */

void *
kmalloc_aligned(size_t size, size_t align)
{
	void *p = NULL;
	if (align < 16)
		align = 16;
	if (posix_memalign(&p, align, size == 0 ? 1 : size) != 0)
		return NULL;
	return p;
}

void *kmalloc(size_t size) { return kmalloc_aligned(size, 16); }

void *
kzalloc(size_t size)
{
	void *p = kmalloc(size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void kfree(void *p) { free(p); }

/* ---- memory ----------------------------------------------------------- */

void *phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)pa; }
uint64_t virt_to_phys(const void *va) { return (uint64_t)(uintptr_t)va; }

/* A region of `bytes` (rounded to pages) between two guard pages. */
static uint8_t *
guarded(size_t bytes)
{
	size_t len = (bytes + PAGE - 1) & ~(PAGE - 1);
	uint8_t *p = mmap(NULL, len + 2 * PAGE, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + PAGE, len, PROT_READ | PROT_WRITE) != 0) {
		munmap(p, len + 2 * PAGE);
		return NULL;
	}
	return p + PAGE;
}

uint64_t
stack_alloc(size_t bytes)
{
	uint8_t *p = guarded(bytes);
	if (p == NULL)
		return 0;
	return (uint64_t)(uintptr_t)(p + ((bytes + PAGE - 1) & ~(PAGE - 1)));
}

/* Image regions, for image_protect's bounds check. */
static struct { uint8_t *va; size_t len; } images[8];

void *
image_alloc(size_t bytes)
{
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		if (images[i].va != NULL)
			continue;
		uint8_t *p = guarded(bytes);
		if (p == NULL)
			return NULL;
		images[i].va = p;
		images[i].len = (bytes + PAGE - 1) & ~(PAGE - 1);
		/* Where the workload runs: a profiler sees code there with no
		   object (tools/bench-insn.sh reads this line). */
		log_info("ternsim", "image at %p, %zu bytes", (void *)p, images[i].len);
		return p;
	}
	return NULL;
}

int
image_protect(void *va, size_t len, bool write, bool exec)
{
	uint8_t *p = va;
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		if (images[i].va == NULL || p < images[i].va ||
		    p + len > images[i].va + images[i].len)
			continue;
		int prot = PROT_READ | (write ? PROT_WRITE : 0) | (exec ? PROT_EXEC : 0);
		uint8_t *lo = (uint8_t *)((uintptr_t)p & ~(PAGE - 1));
		return mprotect(lo, (size_t)(p + len - lo), prot) == 0 ? 0 : -1;
	}
	return -1;
}

/* The host has no direct-map alias: only the mapping image_protect set. */
int vm_wx_check(const char *where) { (void)where; return 0; }
void vm_pt_fail_after(long n) { (void)n; }

/* ---- clock, console, idle --------------------------------------------- */

static uint64_t
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t t0;

void ts_clock_start(void) { t0 = mono_ns(); }
uint64_t time_now_ns(void) { return mono_ns() - t0; }
uint64_t log_clock_ns(void) { return time_now_ns(); }

void
time_delay_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

void
console_write(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void intr_enable(void) { }
void intr_disable(void) { }

/* The kernel halts until the next interrupt or the 1 kHz tick. */
void cpu_idle(void) { ts_wire_wait(1); }

/* ---- entropy ---------------------------------------------------------- */

void entropy_init(void) { log_info("pal", "entropy source: %s", entropy_source()); }
const char *entropy_source(void) { return "getrandom (host)"; }

int
entropy_get(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n <= 0)
			panic("entropy: getrandom failed");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- exits ------------------------------------------------------------- */

void
machine_exit(int code)
{
	fflush(stdout);
	ts_shutdown();
	exit(code == EXIT_POWEROFF || code == EXIT_READY || code == EXIT_NET_UP ? 0 : code);
}

void
fail(const char *stage, const char *reason)
{
	marker("FAIL stage=%s reason=%s", stage, reason);
	machine_exit(EXIT_FAIL);
}

void
panic(const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	marker("PANIC %s", line);
	machine_exit(EXIT_PANIC);
}

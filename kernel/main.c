/*
 * main.c - kmain: the kernel's boot sequence (DESIGN.md "Boot flow").
 *
 * Order matters and each step may only use what the steps before it set
 * up: console -> descriptor tables -> bootinfo check -> command line ->
 * physical memory -> own page tables -> heap -> clock -> LAPIC ->
 * interrupts -> platform and buses -> drivers -> BOOT_OK -> services.
 * Every failure prints TERN FAIL stage=<s> and exits with EXIT_FAIL.
 */
#include <stdint.h>
#include <string.h>

#include "boot/bootinfo.h"
#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/cmdline.h"
#include "kernel/intr.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/time.h"

/* The boot stack: [guard page][BOOT_STACK_SIZE]; vm.c unmaps the guard. */
__attribute__((section(".bss.stacks"), aligned(4096)))
uint8_t boot_stack[BOOT_STACK_SIZE + 4096];
__asm__(".globl boot_stack_top\n.set boot_stack_top, boot_stack + "
    "65536 + 4096");

struct kernel kernel;		/* the root kernel struct (kernel.h) */

extern uint64_t __stack_chk_guard;
void mm_init(const struct tern_bootinfo *bi);

static const char *const cmdline_sources[] = { "none", "file", "fw_cfg" };

static void
cmdline_warn(void *ctx, const char *msg)
{
	log_warn("cmdline", "%s (ignored)", msg);
}

uint64_t
arch_early_seed(void)
{
	uint32_t r[4];
	uint64_t v = rdtsc();
	cpuid(1, 0, r);
	if (r[2] & (1u << 30)) {	/* RDRAND */
		uint64_t x;
		unsigned char ok;
		for (int i = 0; i < 10; i++) {
			__asm__ volatile("rdrand %0; setc %1" : "=r"(x), "=qm"(ok));
			if (ok) {
				v ^= x;
				break;
			}
		}
	}
	return v;
}

static const struct tern_bootinfo *
bootinfo_check(uint64_t phys)
{
	const struct tern_bootinfo *bi;

	if (phys == 0 || (phys & 7) != 0)
		fail("boot", "no_bootinfo");
	bi = (const void *)(TERN_HHDM_BASE + phys);
	if (bi->magic != TERN_BOOTINFO_MAGIC)
		fail("boot", "bad_bootinfo_magic");
	if (bi->version != TERN_BOOTINFO_VERSION ||
	    bi->size < sizeof(struct tern_bootinfo))
		fail("boot", "bootinfo_version_mismatch");
	if (bi->mem_count == 0 || bi->mem_map == 0 || bi->kernel_size == 0 ||
	    bi->map_limit < (1ULL << 30))
		fail("boot", "bootinfo_incomplete");
	return bi;
}

/* test=stack: recurse until the boot stack's guard page stops us. */
static uint64_t __attribute__((noinline))
stack_eater(uint64_t depth)
{
	volatile uint8_t frame[512];
	frame[0] = (uint8_t)depth;
	if (depth > 100000)
		return frame[0];
	return stack_eater(depth + 1) + frame[0];
}

__attribute__((noreturn)) void kmain(uint64_t bootinfo_phys);

/* The stack protector guard is changed here, so kmain itself must not be
   instrumented (its canary would no longer match on return). */
__attribute__((noreturn, no_stack_protector)) void
kmain(uint64_t bootinfo_phys)
{
	__stack_chk_guard = arch_early_seed();
	tsc_early_start();	/* the TSC's calibration window, filled by the boot */
	serial_init();
	gdt_init();
	idt_init();

	const struct tern_bootinfo *bi = bootinfo_check(bootinfo_phys);
	kernel.bi = bi;
	cmdline_parse(&kernel.cmdline, bi->cmdline, cmdline_warn, NULL);
	log_set_level(kernel.cmdline.log_level);
	log_info("boot", "tern kernel at 0x%llx (phys 0x%llx), command line \"%s\" from %s",
	    (unsigned long long)bi->kernel_virt, (unsigned long long)bi->kernel_phys,
	    bi->cmdline, cmdline_sources[bi->cmdline_source <= 2 ? bi->cmdline_source : 0]);

	mm_init(bi);
	vm_init(bi);
	lapic_start();		/* its calibration count, read in lapic_init */
	tsc_init(bi->tsc_loader_start);
	log_debug("boot", "loader ran %llu ms before the kernel",
	    (unsigned long long)((bi->tsc_handoff - bi->tsc_loader_start) * 1000 /
	    time_tsc_hz()));
	lapic_init();
	intr_enable();
	/* Prove the timer interrupt path before anything relies on it: one
	   delivered tick is the proof.  lapic_init made the first period
	   short (~60 us); then the tick gets its own (1 ms). */
	uint64_t t0 = time_now_ns();
	while (timer_ticks < 1 && time_now_ns() - t0 < 100000000ULL)
		cpu_idle();
	lapic_timer_tick();
	if (timer_ticks < 1)
		log_warn("boot", "LAPIC timer: no interrupts within 100 ms");

	kernel_subsystems_init();

	/* Self-check: no frame is both writable and executable (vm.c). */
	vm_wx_check("boot");
	marker("BOOT_OK ms=%llu", (unsigned long long)(time_now_ns() / 1000000));

	if (kernel.cmdline.test == CMDLINE_TEST_FAULT) {
		log_info("test", "test=fault: reading unmapped address 0x8");
		uint64_t addr = 0x8, v;
		__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(addr) : "memory");
		(void)v;
		fail("test", "fault_did_not_fault");
	}
	if (kernel.cmdline.test == CMDLINE_TEST_STACK) {
		log_info("test", "test=stack: overflowing the boot stack");
		stack_eater(0);
		fail("test", "stack_overflow_not_caught");
	}
	if (kernel.cmdline.test == CMDLINE_TEST_MEMATTR)
		memattr_selftest();
	if (kernel.cmdline.test == CMDLINE_TEST_UD)
		__asm__ volatile("ud2");
	if (kernel.cmdline.exit_after == CMDLINE_EXIT_BOOT_OK)
		machine_exit(EXIT_BOOT_OK);

	kernel_services_run();
	for (;;)
		cpu_idle();
}

/*
 * arch.h - the x86-64 layer's internal interface (kernel/arch/x86_64 only
 * and kmain).
 */
#ifndef TERN_ARCH_H
#define TERN_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include "boot/bootinfo.h"

#define IST_COUNT	2
#define IST_STACK_SIZE	16384
#define BOOT_STACK_SIZE	65536

extern uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE + 4096];
extern uint8_t boot_stack[BOOT_STACK_SIZE + 4096];

void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);

/* Paging (vm.c).  vm_init builds and loads the kernel's own tables. */
void vm_init(const struct tern_bootinfo *bi);
int vm_map(uint64_t va, uint64_t pa, uint64_t flags);
void vm_unmap(uint64_t va);
uint64_t vm_translate(uint64_t va);	/* ~0 if unmapped */

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_PWT		(1ULL << 3)
#define PTE_PCD		(1ULL << 4)
#define PTE_PS		(1ULL << 7)
#define PTE_G		(1ULL << 8)
#define PTE_NX		(1ULL << 63)
#define PTE_ADDR	0x000ffffffffff000ULL

/* Time (tsc.c) and LAPIC (lapic.c). */
/* Opens the TSC's PIT window at kernel entry; tsc_init closes it. */
void tsc_early_start(void);
void tsc_init(uint64_t tsc_loader_start);
/* Maps and enables the LAPIC and starts its count (after vm_init);
   lapic_init, once the TSC rate is known, reads it and starts the tick. */
void lapic_start(void);
void lapic_init(void);
/* Mask the LAPIC timer: another timer drives the tick. */
void lapic_timer_stop(void);
/* After the boot's first ticks: the periodic tick at LAPIC_HZ. */
void lapic_timer_tick(void);
uint64_t tsc_read(void);

/* Interrupt table (intr.c). */
void intr_dispatch(int vector);

/* Random-ish early seed for the stack protector (rdrand/rdtsc). */
uint64_t arch_early_seed(void);

#endif

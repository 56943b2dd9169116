/*
 * trap.h - descriptor tables and the trap frame (kernel/arch/x86_64).
 */
#ifndef TERN_ARCH_TRAP_H
#define TERN_ARCH_TRAP_H

#include <stdint.h>
#include "kernel/arch/x86_64/trap_layout.h"

/* Pushed by entry.S, lowest address first. */
struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

void gdt_init(void);
void idt_init(void);
void trap_dispatch(struct trapframe *tf);
/* Called by the LAPIC code to acknowledge an interrupt. */
void lapic_eoi(void);
#define VEC_SPURIOUS 0xff
#define VEC_TIMER    0x20

#endif

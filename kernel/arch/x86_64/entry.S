/*
 * entry.S - kernel entry and the interrupt/exception stubs.
 *
 * _start is entered from the loader (docs/boot.md): long mode, interrupts
 * off, rdi = physical address of struct tern_bootinfo, rsp somewhere in the
 * loader's stack.  We switch to the kernel's boot stack (which has an
 * unmapped guard page below it once vm_init has run) and call kmain.
 *
 * Every IDT vector points at a stub that pushes a dummy error code when the
 * CPU does not push one, then the vector number, then all general registers
 * into a struct trapframe (trap.h) and calls trap_dispatch(tf).
 */
#include "kernel/arch/x86_64/trap_layout.h"

	.section .text.entry, "ax"
	.globl _start
_start:
	cli
	cld
	lea	boot_stack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	kmain
1:	cli
	hlt
	jmp	1b

	.text
/* Stubs: vectors with a CPU error code are 8, 10-14, 17, 21, 29, 30. */
.macro STUB vec
	.align 16
isr_\vec:
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	isr_common
.endm

.altmacro
.set i, 0
.rept 256
	STUB %i
	.set i, i + 1
.endr

isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld			/* the interrupted code may have had DF set */
	mov	%rsp, %rdi
	/* Align the stack for the C handler; rbx is callee-saved. */
	mov	%rsp, %rbx
	and	$-16, %rsp
	call	trap_dispatch
	mov	%rbx, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	add	$16, %rsp	/* vector and error code */
	iretq

/* Table of stub addresses for idt_init. */
.macro STUBADDR vec
	.quad isr_\vec
.endm
	.section .rodata
	.globl isr_stubs
	.align 8
isr_stubs:
.set i, 0
.rept 256
	STUBADDR %i
	.set i, i + 1
.endr

/* gdt_load(const struct gdt_ptr *p): load GDT, reload segments, load TSS. */
	.text
	.globl gdt_load
gdt_load:
	lgdt	(%rdi)
	mov	$GDT_KDATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	xor	%eax, %eax
	mov	%ax, %fs
	mov	%ax, %gs
	pushq	$GDT_KCODE
	lea	1f(%rip), %rax
	pushq	%rax
	lretq
1:	mov	$GDT_TSS, %ax
	ltr	%ax
	ret

	.section .note.GNU-stack,"",@progbits

/*
 * trap.c - the IDT, exception reporting and interrupt dispatch.
 *
 * Vectors 0-31 are CPU exceptions.  Each is first offered to
 * exception_hook (kernel/panic.h), through which the PAL runtime ends a
 * workload whose own code faulted; anything the hook does not take -
 * every fault in kernel code, also inside a PAL call - prints a full
 * report with the TERN PANIC marker and stops the machine with
 * EXIT_PANIC.  Vectors 32-255 go to intr_dispatch (intr.c).
 */
#include <stdint.h>

#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/log.h"
#include "kernel/panic.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t rsvd;
} __attribute__((packed));

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const uint64_t isr_stubs[256];
static struct idt_gate idt[256];

static const char *const exc_names[32] = {
	"divide-error", "debug", "nmi", "breakpoint", "overflow",
	"bound-range", "invalid-opcode", "device-not-available",
	"double-fault", "coprocessor-overrun", "invalid-tss",
	"segment-not-present", "stack-fault", "general-protection",
	"page-fault", "reserved-15", "x87-fp", "alignment-check",
	"machine-check", "simd-fp", "virtualization", "control-protection",
	"reserved-22", "reserved-23", "reserved-24", "reserved-25",
	"reserved-26", "reserved-27", "hypervisor-injection",
	"vmm-communication", "security", "reserved-31",
};

void
idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = isr_stubs[v];
		idt[v].off_lo = a & 0xffff;
		idt[v].sel = GDT_KCODE;
		idt[v].type = 0x8e;	/* present, DPL0, interrupt gate */
		idt[v].off_mid = (a >> 16) & 0xffff;
		idt[v].off_hi = a >> 32;
		idt[v].rsvd = 0;
		idt[v].ist = 0;
	}
	idt[2].ist = 1;		/* NMI */
	idt[8].ist = 1;		/* double fault */
	idt[18].ist = 1;	/* machine check */
	idt[14].ist = 2;	/* page fault: survives stack overflow */
	struct idt_ptr p = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" :: "m"(p));
}

static int in_exception;
void (*exception_hook)(const struct exc_info *ei);

static void
exception_report(const struct trapframe *tf)
{
	int v = (int)tf->vector;
	uint64_t cr2 = read_cr2();

	marker("PANIC vector=%d name=%s error=0x%llx rip=0x%016llx cr2=0x%016llx",
	    v, exc_names[v & 31], (unsigned long long)tf->error,
	    (unsigned long long)tf->rip, (unsigned long long)cr2);
	if (v == 14 && cr2 >= (uint64_t)boot_stack && cr2 < (uint64_t)boot_stack + 4096)
		log_error("trap", "stack overflow: the boot stack ran into its guard page");
	if (v == 14 && cr2 >= 0xffffe00000000000ULL && cr2 < 0xffffe08000000000ULL)
		log_error("trap", "stack overflow: a thread stack ran into its guard page");
	if (v == 14)
		log_error("trap", "page fault at 0x%llx: %s %s%s",
		    (unsigned long long)cr2,
		    (tf->error & 1) ? "protection violation" : "not present",
		    (tf->error & 2) ? "on write" : "on read",
		    (tf->error & 16) ? " (instruction fetch)" : "");
	log_error("trap", "rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx",
	    (unsigned long long)tf->rax, (unsigned long long)tf->rbx,
	    (unsigned long long)tf->rcx, (unsigned long long)tf->rdx);
	log_error("trap", "rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx",
	    (unsigned long long)tf->rsi, (unsigned long long)tf->rdi,
	    (unsigned long long)tf->rbp, (unsigned long long)tf->rsp);
	log_error("trap", "r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx",
	    (unsigned long long)tf->r8, (unsigned long long)tf->r9,
	    (unsigned long long)tf->r10, (unsigned long long)tf->r11);
	log_error("trap", "r12=%016llx r13=%016llx r14=%016llx r15=%016llx",
	    (unsigned long long)tf->r12, (unsigned long long)tf->r13,
	    (unsigned long long)tf->r14, (unsigned long long)tf->r15);
	log_error("trap", "cs=%llx ss=%llx rflags=%016llx cr3=%016llx",
	    (unsigned long long)tf->cs, (unsigned long long)tf->ss,
	    (unsigned long long)tf->rflags, (unsigned long long)read_cr3());
	/* A short frame-pointer backtrace, each step checked to stay in the
	   kernel's higher half so a corrupt rbp cannot fault again. */
	uint64_t rbp = tf->rbp;
	for (int i = 0; i < 8; i++) {
		if (rbp < 0xffff800000000000ULL || (rbp & 7) != 0)
			break;
		if (vm_translate(rbp) == ~0ULL || vm_translate(rbp + 8) == ~0ULL)
			break;
		uint64_t ret = ((uint64_t *)rbp)[1];
		log_error("trap", "  #%d 0x%016llx", i, (unsigned long long)ret);
		rbp = ((uint64_t *)rbp)[0];
	}
}

void
trap_dispatch(struct trapframe *tf)
{
	if (tf->vector < 32) {
		if (exception_hook != NULL && !in_exception) {
			struct exc_info ei = {
				(int)tf->vector, exc_names[tf->vector], tf->error,
				tf->rip, read_cr2(), tf->rsp, tf->rflags,
			};
			exception_hook(&ei);	/* returns only if not taken */
		}
		if (in_exception++) {
			/* A fault while reporting a fault: say the minimum. */
			marker("PANIC vector=%d nested rip=0x%llx",
			    (int)tf->vector, (unsigned long long)tf->rip);
			machine_exit(EXIT_PANIC);
		}
		exception_report(tf);
		machine_exit(EXIT_PANIC);
	}
	intr_dispatch((int)tf->vector);
}

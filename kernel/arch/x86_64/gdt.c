/*
 * gdt.c - the kernel's GDT and TSS.
 *
 * Flat 64-bit code and data segments and one TSS whose IST slots give the
 * double fault, NMI and machine check (IST1) and page fault (IST2)
 * handlers their own stacks, so a kernel stack overflow into a guard page
 * is still reported instead of triple-faulting.  The IST stacks live in
 * .bss.stacks with unmapped guard pages below them (vm.c).
 */
#include <stdint.h>
#include <string.h>

#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/arch.h"

struct tss {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3;
	uint16_t iomap_base;
} __attribute__((packed));

struct gdt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

void gdt_load(const struct gdt_ptr *p);

static struct tss tss;
static uint64_t gdt[5];

/* IST stacks: [guard page][stack], page aligned, guards unmapped by vm.c. */
__attribute__((section(".bss.stacks"), aligned(4096)))
uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE + 4096];

void
gdt_init(void)
{
	uint64_t base = (uint64_t)&tss;
	uint64_t limit = sizeof(tss) - 1;

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL;	/* 64-bit code, DPL0 */
	gdt[2] = 0x00cf92000000ffffULL;	/* data, DPL0 */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
	    (0x89ULL << 40) | (((limit >> 16) & 0xf) << 48) |
	    (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;

	memset(&tss, 0, sizeof(tss));
	for (int i = 0; i < IST_COUNT; i++)
		tss.ist[i] = (uint64_t)&ist_stacks[i][IST_STACK_SIZE + 4096];
	tss.iomap_base = sizeof(tss);

	struct gdt_ptr p = { sizeof(gdt) - 1, (uint64_t)gdt };
	gdt_load(&p);
}

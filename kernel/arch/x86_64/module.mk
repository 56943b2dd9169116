# kernel/arch/x86_64: entry, descriptor tables, traps, paging, LAPIC, TSC,
# serial console.  The only place besides kernel/hw that uses raw
# instructions (cpu.h).
KERNEL_SRCS += $(wildcard kernel/arch/x86_64/*.c) $(wildcard kernel/arch/x86_64/*.S)

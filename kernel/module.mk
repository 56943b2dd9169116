# kernel/: the core (memory, log, command line, boot) plus one sub-makefile
# per subsystem folder (arch/x86_64, lib, hw, acpi, platform, pci, dev, ...).
KERNEL_SRCS += $(wildcard kernel/*.c)
include kernel/arch/x86_64/module.mk $(wildcard kernel/*/module.mk)

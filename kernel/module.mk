# kernel/: the core (memory, log, command line, boot) plus one sub-makefile
# per subsystem folder (arch, lib, hw, acpi, platform, pci, dev, ...).
KERNEL_SRCS += $(wildcard kernel/*.c)
include $(wildcard kernel/*/module.mk)

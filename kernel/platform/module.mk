# kernel/platform: the platform classifier (portable, host-tested) and
# platform_detect() (kernel glue).
KERNEL_SRCS += kernel/platform/platform.c kernel/platform/platform_ev.c \
	kernel/platform/platform_kern.c kernel/platform/ioapic.c \
	kernel/platform/ioapic_kern.c

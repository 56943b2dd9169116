# kernel/lib: freestanding C library pieces (string, formatting, errors).
KERNEL_SRCS += $(wildcard kernel/lib/*.c)

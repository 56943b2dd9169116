KERNEL_SRCS += $(wildcard pal/*.c)

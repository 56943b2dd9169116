KERNEL_SRCS += $(wildcard virtio/*.c)

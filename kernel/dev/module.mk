KERNEL_SRCS += kernel/dev/dev.c kernel/dev/blktest.c kernel/dev/nettest.c

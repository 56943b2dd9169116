KERNEL_SRCS += kernel/dev/dev.c kernel/dev/blk.c kernel/dev/blktest.c kernel/dev/nettest.c \
	kernel/dev/bus.c kernel/dev/drivers.c

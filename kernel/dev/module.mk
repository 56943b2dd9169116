KERNEL_SRCS += kernel/dev/dev.c kernel/dev/blk.c kernel/dev/blktest.c kernel/dev/nettest.c

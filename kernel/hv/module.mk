# kernel/hv: Hyper-V enlightenments (portable core, host-tested in
# tests/vmbus) and their kernel glue.
KERNEL_SRCS += kernel/hv/hv.c kernel/hv/hv_timer.c kernel/hv/hv_kern.c

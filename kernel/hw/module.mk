# kernel/hw: the hardware seam (hw.h); hw_native.h is the kernel build,
# trace.c the record backend (trace= on the command line).
KERNEL_SRCS += kernel/hw/trace.c

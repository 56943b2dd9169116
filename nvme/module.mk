KERNEL_SRCS += $(wildcard nvme/*.c)
INTEG_TESTS += tests/integration/nvme.sh

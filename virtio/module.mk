KERNEL_SRCS += $(wildcard virtio/*.c)
INTEG_TESTS += tests/integration/devices.sh

KERNEL_SRCS += $(wildcard virtio/*.c)
INTEG_TESTS += tests/integration/devices.sh
# tools/trace-pretty: print a hardware trace (docs/trace-format.md) with
# virtio register names.
$(eval $(call host_prog,$(B)/tools/trace-pretty,tools/trace-pretty.c,,))
HOST_TOOLS += $(B)/tools/trace-pretty

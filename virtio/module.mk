KERNEL_SRCS += $(wildcard virtio/*.c)
INTEG_TESTS += tests/integration/devices.sh
# virtio-net multiqueue on a multi-queue TAP (one boot).
INTEG_TESTS += tests/integration/net_mq.sh
# tools/trace-pretty: print a hardware trace (docs/trace-format.md) with
# virtio register names.
$(eval $(call host_prog,$(B)/tools/trace-pretty,tools/trace-pretty.c,,))
HOST_TOOLS += $(B)/tools/trace-pretty

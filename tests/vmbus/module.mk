# tests/vmbus: the Hyper-V enlightenments and the VMBus core against the
# strict host simulator (hv_sim.c, PROTOCOLS.md B.15).
VMBUS_TEST_COMMON := tests/vmbus/hv_sim.c tests/vmbus/vmbus_stubs.c \
	tests/hw/hw_host.c kernel/hv/hv.c kernel/lib/fmt.c kernel/lib/err.c
$(eval $(call host_test,hv,tests/vmbus/test_hv.c $(VMBUS_TEST_COMMON),))
$(eval $(call host_test,vmbus,tests/vmbus/test_vmbus.c vmbus/vmbus.c \
	vmbus/vmbus_ring.c kernel/dev/bus.c $(VMBUS_TEST_COMMON),))

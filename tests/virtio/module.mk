# tests/virtio: checks on the committed virtio traces (tests/traces/), and
# the virtio drivers on the host replaying them (tests/hw/hw_replay.c).
INTEG_TESTS += tests/virtio/traces.sh
VIRTIO_CORE := virtio/virtio.c virtio/virtio_blk.c virtio/virtio_net.c
$(eval $(call host_test,virtio_replay,tests/virtio/test_virtio_replay.c \
	tests/virtio/virtio_regnames.c tests/virtio/virtio_dmanames.c tests/hw/hw_replay.c \
	tests/hw/trace_util.c tests/hw/hw_host.c tests/hw/kstubs.c kernel/dev/blk.c kernel/dev/dev.c $(VIRTIO_CORE) kernel/lib/fmt.c kernel/lib/err.c,))
$(B)/tests/virtio_replay: tests/traces/qemu72-virtio-blk.trace tests/traces/qemu72-virtio-net.trace

# Attach/I/O/detach loops under the fault wrapper around the same replays.
$(eval $(call host_test,virtio_fault,tests/virtio/test_virtio_fault.c \
	tests/virtio/virtio_regnames.c tests/hw/hw_fault.c tests/hw/hw_replay.c \
	tests/hw/trace_util.c tests/hw/hw_host.c tests/hw/kstubs.c kernel/dev/blk.c kernel/dev/dev.c $(VIRTIO_CORE) kernel/lib/fmt.c kernel/lib/err.c,))
$(B)/tests/virtio_fault: tests/traces/qemu72-virtio-blk.trace tests/traces/qemu72-virtio-net.trace

# The drivers against the device simulator (tests/virtio/virtio_sim.c):
# indirect tables, MSI-X, limits and one test per hostile behaviour.
$(eval $(call host_test,virtio_sim,tests/virtio/test_virtio_sim.c \
	tests/virtio/virtio_sim.c tests/virtio/virtio_regnames.c tests/hw/hw_host.c tests/hw/kstubs.c kernel/dev/blk.c kernel/dev/dev.c \
	$(VIRTIO_CORE) $(NS_CORE) kernel/lib/fmt.c kernel/lib/err.c,))

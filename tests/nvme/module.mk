# tests/nvme: the NVMe driver against the C.9 simulator.
$(eval $(call host_test,nvme_sim,tests/nvme/test_nvme.c tests/nvme/nvme_sim.c tests/hw/kstubs.c kernel/dev/blk.c nvme/nvme.c nvme/nvme_io.c tests/hw/hw_host.c kernel/lib/fmt.c kernel/lib/err.c,))
# The NVMe driver replaying a trace recorded from QEMU 7.2's nvme device.
$(eval $(call host_test,nvme_replay,tests/nvme/test_nvme_replay.c tests/nvme/nvme_dmanames.c \
	tests/hw/hw_replay.c tests/hw/trace_util.c \
	tests/hw/hw_host.c tests/hw/kstubs.c kernel/dev/blk.c nvme/nvme.c nvme/nvme_io.c kernel/lib/fmt.c kernel/lib/err.c,))
$(B)/tests/nvme_replay: tests/traces/qemu72-nvme.trace
# Attach/I/O/detach at every countdown of every fault kind around that replay.
$(eval $(call host_test,nvme_fault,tests/nvme/test_nvme_fault.c tests/hw/hw_fault.c \
	tests/hw/hw_replay.c tests/hw/trace_util.c tests/hw/hw_host.c tests/hw/kstubs.c kernel/dev/blk.c nvme/nvme.c nvme/nvme_io.c \
	kernel/lib/fmt.c kernel/lib/err.c,))
$(B)/tests/nvme_fault: tests/traces/qemu72-nvme.trace

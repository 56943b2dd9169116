# tests/kernel: the kernel's portable core pieces on the host.
$(eval $(call host_test,kernel_pmm,tests/kernel/test_pmm.c kernel/pmm.c,))
$(eval $(call host_test,kernel_heap,tests/kernel/test_heap.c kernel/heap.c,))
$(eval $(call host_test,kernel_fmt,tests/kernel/test_fmt.c kernel/lib/fmt.c kernel/lib/err.c,-Wno-format-zero-length -Wno-format))
$(eval $(call host_test,kernel_log,tests/kernel/test_log.c kernel/log.c kernel/lib/fmt.c,))
$(eval $(call host_test,kernel_cmdline,tests/kernel/test_cmdline.c kernel/cmdline.c kernel/log.c kernel/lib/fmt.c,))
$(eval $(call host_test,kernel_driver,tests/kernel/test_driver.c kernel/dev/bus.c kernel/lib/err.c tests/hw/kstubs.c,))
# The block interface (kernel/dev/blk.c, blk.h) with the real registry over
# the NVMe and virtio simulators and a fake device on a fake clock.
$(eval $(call host_test,kernel_blk,tests/kernel/test_blk.c kernel/dev/blk.c kernel/dev/dev.c tests/hw/kstubs.c \
	nvme/nvme.c nvme/nvme_io.c tests/nvme/nvme_sim.c \
	virtio/virtio.c virtio/virtio_blk.c virtio/virtio_net.c tests/virtio/virtio_sim.c \
	tests/virtio/virtio_regnames.c tests/hw/hw_host.c kernel/lib/fmt.c kernel/lib/err.c,))
$(eval $(call host_test,kernel_nic_registry,tests/kernel/test_nic_registry.c kernel/dev/dev.c tests/hw/kstubs.c $(NS_CORE) kernel/lib/fmt.c,))

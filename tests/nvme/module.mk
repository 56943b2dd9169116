# tests/nvme: the NVMe driver against the C.9 simulator.
$(eval $(call host_test,nvme_sim,tests/nvme/test_nvme.c tests/nvme/nvme_sim.c nvme/nvme.c nvme/nvme_io.c tests/hw/hw_host.c kernel/lib/fmt.c kernel/lib/err.c,))

# tests/kernel: the kernel's portable core pieces on the host.
$(eval $(call host_test,kernel_pmm,tests/kernel/test_pmm.c kernel/pmm.c,))
$(eval $(call host_test,kernel_heap,tests/kernel/test_heap.c kernel/heap.c,))
$(eval $(call host_test,kernel_fmt,tests/kernel/test_fmt.c kernel/lib/fmt.c kernel/lib/err.c,-Wno-format-zero-length -Wno-format))
$(eval $(call host_test,kernel_log,tests/kernel/test_log.c kernel/log.c kernel/lib/fmt.c,))
$(eval $(call host_test,kernel_cmdline,tests/kernel/test_cmdline.c kernel/cmdline.c kernel/log.c kernel/lib/fmt.c,))
$(eval $(call host_test,kernel_nic_registry,tests/kernel/test_nic_registry.c kernel/dev/dev.c $(NS_CORE) kernel/lib/fmt.c,))

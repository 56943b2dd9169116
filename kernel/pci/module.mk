# kernel/pci: enumeration and the driver registry (portable, host-tested
# in tests/platform) plus config access and pci_init() (kernel glue).
# pci_hw.c needs the native seam (kernel/hw/hw_native.h); it is built
# once that header exists.
KERNEL_SRCS += kernel/pci/pci.c kernel/pci/pci_drv.c kernel/pci/pci_kern.c \
	kernel/pci/pci_msix.c \
	$(if $(wildcard kernel/hw/hw_native.h),kernel/pci/pci_hw.c)

# ena/: the ENA driver (core, datapath, PCI glue), built into the kernel.
KERNEL_SRCS += ena/ena.c ena/ena_admin.c ena/ena_datapath.c ena/ena_pci.c

/*
 * nvme_pci.h - the driver descriptor the NVMe PCI glue exports
 * (nvme_pci.c), listed in the kernel's driver table
 * (kernel/dev/drivers.c): any function of class 01:08:02.
 */
#ifndef TERN_NVME_PCI_H
#define TERN_NVME_PCI_H

#include "kernel/dev/driver.h"

extern const struct driver nvme_pci_driver;

#endif /* TERN_NVME_PCI_H */

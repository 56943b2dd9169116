/*
 * ena_pci.h - the driver descriptor the ENA PCI glue exports (ena_pci.c),
 * listed in the kernel's driver table (kernel/dev/drivers.c): Amazon
 * 1d0f:ec20, 1d0f:ec21 and 1d0f:0ec2 (PROTOCOLS.md A.1).
 */
#ifndef TERN_ENA_PCI_H
#define TERN_ENA_PCI_H

#include "kernel/dev/driver.h"

extern const struct driver ena_pci_driver;

#endif /* TERN_ENA_PCI_H */

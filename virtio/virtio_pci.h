/*
 * virtio_pci.h - the driver descriptors the virtio PCI glue exports
 * (virtio_pci.c), listed in the kernel's driver table
 * (kernel/dev/drivers.c).  virtio-blk: 1af4:1042 (modern) and 1af4:1001
 * (transitional); virtio-net: 1af4:1041 and 1af4:1000.
 */
#ifndef TERN_VIRTIO_PCI_H
#define TERN_VIRTIO_PCI_H

#include "kernel/dev/driver.h"

extern const struct driver virtio_blk_pci_driver;
extern const struct driver virtio_net_pci_driver;

#endif /* TERN_VIRTIO_PCI_H */

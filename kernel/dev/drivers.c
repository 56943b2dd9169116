/*
 * drivers.c - the driver table: every driver of the kernel, in the order
 * buses offer devices to them (kernel/dev/driver.h).  This is the one
 * place a driver is listed; adding one is a line here and its header.
 * Each bus takes the entries of its kind (PCI now, VMBus later).
 */
#include <stddef.h>

#include "kernel/dev/driver.h"
#include "ena/ena_pci.h"
#include "nvme/nvme_pci.h"
#include "virtio/virtio_pci.h"
#include "vmbus/storvsc.h"
#include "vmbus/netvsc.h"

const struct driver *const driver_table[] = {
	&virtio_blk_pci_driver,
	&virtio_net_pci_driver,
	&nvme_pci_driver,
	&ena_pci_driver,
	&storvsc_driver,
	&netvsc_driver,
	NULL,
};

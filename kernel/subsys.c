/*
 * subsys.c - the order in which subsystems start after the core
 * (platform detection, buses, drivers, then services).  Kept apart from
 * main.c so adding a subsystem is a one-line change here.
 */
#include "kernel/kernel.h"
#include "kernel/acpi/acpi.h"
#include "kernel/dev/blk.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/pci/pci.h"
#include "kernel/platform/platform.h"

extern const struct pci_driver virtio_blk_pci_driver, virtio_net_pci_driver,
    nvme_pci_driver;
int blktest_run(int mode);
int nettest_run(void);
int pal_net_start(void);
void rt_run(void);

void
kernel_subsystems_init(void)
{
	/* ACPI, SMBIOS, TERN PLATFORM, IOAPIC, TERN CLOCK. */
	platform_init(kernel.bi);
	machine_poweroff_hook = acpi_poweroff;
	machine_shutdown_hook = blk_shutdown_all;
	/* Drivers register before the scan so it can attach them. */
	pci_register_driver(&virtio_blk_pci_driver);
	pci_register_driver(&virtio_net_pci_driver);
	pci_register_driver(&nvme_pci_driver);
	pci_init();
	if (kernel.cmdline.blktest)
		blktest_run(kernel.cmdline.blktest);
	if (kernel.cmdline.nettest)
		nettest_run();
}

void
kernel_services_run(void)
{
	pal_net_start();
	rt_run();
}

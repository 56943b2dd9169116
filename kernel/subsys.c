/*
 * subsys.c - the composition root: what starts, in which order, after
 * the core (memory, interrupts, the LAPIC timer; kernel/main.c).
 *
 *   platform  acpi_init, smbios_init, platform_detect (TERN PLATFORM),
 *             ioapic_init, clock_init (TERN CLOCK), hv_kern_init (only
 *             on Hyper-V: TERN HV)
 *   buses     pci_init: enumerate (TERN PCI), then attach the drivers of
 *             driver_table (kernel/dev/drivers.c; TERN NIC, TERN BLK);
 *             vmbus_kern_init (only on Hyper-V: TERN VMBUS)
 *   service   kernel_service, the scheduler loop's housekeeping hook:
 *             the background TSC calibration, vmbus_kern_poll
 *   tests     blktest=, nettest (command line)
 *   -- BOOT_OK (main.c) --
 *   net       pal_net_start
 *   runtime   rt_run (never returns)
 *
 * Only public headers are included here; every step's result is checked
 * and logged.  Adding a subsystem is a line here and a header there.
 */
#include "boot/bootinfo.h"
#include "kernel/acpi/acpi.h"
#include "kernel/clock/clock.h"
#include "kernel/dev/blk.h"
#include "kernel/dev/blktest.h"
#include "kernel/dev/driver.h"
#include "kernel/dev/nettest.h"
#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/pci/pci.h"
#include "kernel/platform/ioapic.h"
#include "kernel/platform/platform.h"
#include "kernel/smbios/smbios.h"
#include "pal/pal_boot.h"
#include "vmbus/vmbus.h"

/* Disks write back first (storvsc sits on the VMBus), then the VMBus
   says UNLOAD so the host drops every channel. */
static void
subsys_shutdown(void)
{
	blk_shutdown_all();
	vmbus_kern_shutdown();
}

static bool vmbus_up;

/* The scheduler loop's housekeeping (rt_service_hook): after every idle
   and at least every 64 rounds under load. */
static void
kernel_service(void)
{
	clock_refine();		/* the background TSC calibration, once */
	if (vmbus_up)
		vmbus_kern_poll();	/* rescinds, offers, the TSC page */
}

void
kernel_subsystems_init(void)
{
	int rc;

	/* Platform: firmware tables first, the classifier needs them; the
	   clock's reference (HPET, PM timer, kvmclock) depends on both. */
	acpi_init(kernel.bi);
	smbios_init(kernel.bi);
	platform_detect();
	ioapic_init();
	clock_init();
	/* Hyper-V enlightenments only where CPUID offers them; elsewhere
	   this returns at once and nothing changes. */
	bool hyperv = hv_kern_init() == TERN_OK;
	machine_poweroff_hook = acpi_poweroff;
	machine_shutdown_hook = subsys_shutdown;

	/* Buses, and through them the drivers of the one table. */
	rc = pci_init(driver_table);
	if (rc < 0)
		log_error("boot", "pci: %s", err_str(rc));
	if (hyperv) {
		if ((rc = vmbus_kern_init(driver_table)) != TERN_OK)
			log_error("boot", "vmbus: %s", err_str(rc));
		else
			vmbus_up = true;
	}
	/* The TSC measurement clock_init opened, filled by the buses. */
	clock_settle();
	rt_service_hook = kernel_service;

	/* Boot-time self-tests; each prints its own pass/fail marker. */
	if (kernel.cmdline.blktest &&
	    (rc = blktest_run(kernel.cmdline.blktest)) != TERN_OK)
		log_warn("boot", "blktest: %s", err_str(rc));
	if (kernel.cmdline.nettest && (rc = nettest_run()) != TERN_OK)
		log_warn("boot", "nettest: %s", err_str(rc));
}

void
kernel_services_run(void)
{
	int rc = pal_net_start();

	/* Without a NIC the workload still runs; pal_net_start said so. */
	if (rc != TERN_OK)
		log_warn("boot", "net: %s; continuing without network",
		    err_str(rc));
	rt_run();
}

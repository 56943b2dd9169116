/*
 * kernel.h - the root kernel struct and the boot hooks every subsystem
 * plugs into (kernel/main.c, kernel/subsys.c).
 */
#ifndef TERN_KERNEL_H
#define TERN_KERNEL_H

#include "boot/bootinfo.h"
#include "kernel/cmdline.h"

struct kernel {
	const struct tern_bootinfo *bi;	/* via the direct map */
	struct cmdline cmdline;
};
extern struct kernel kernel;

/* Platform, buses and drivers; runs with interrupts on, before BOOT_OK. */
void kernel_subsystems_init(void);
/* test=memattr (memattr_test.c): PAT, a WC window, the exec page and the
   hypercall path; prints TERN MEMATTR and a WX_CHECK where=memattr. */
void memattr_selftest(void);
/* Network, PAL and the workload; runs after BOOT_OK; may not return. */
void kernel_services_run(void);

#endif

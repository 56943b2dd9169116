/*
 * pal_boot.h - the PAL's entry points for the kernel's composition root
 * (kernel/subsys.c), in the order it calls them after BOOT_OK.
 * Kernel only.
 */
#ifndef TERN_PAL_BOOT_H
#define TERN_PAL_BOOT_H

/*
 * Attach the netstack to the first NIC (pal_net.c) and start DHCP, or
 * apply the static ip=/gw=/dns= of the command line.  Returns TERN_OK,
 * or TERN_ENODEV when there is no NIC (the workload then runs without
 * network).  Out of memory for the transmit buffers is fatal (TERN FAIL).
 */
int pal_net_start(void);

/*
 * Bus housekeeping the scheduler loop runs after every idle and at
 * least every SCHED_SERVICE_ROUNDS rounds under load (pal/sched.h):
 * on Hyper-V, vmbus_kern_poll (host messages: rescind, re-offer, the
 * reference TSC page).  NULL elsewhere.  Set before rt_run.
 */
extern void (*rt_service_hook)(void);

/*
 * Load the workload package and run the scheduler loop with the
 * supervisor thread (rt.c).  Never returns: the supervisor powers the
 * machine off when the workload is done.
 */
void rt_run(void) __attribute__((noreturn));

#endif /* TERN_PAL_BOOT_H */

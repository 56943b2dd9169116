/*
 * hv_kern_stubs.h - the kernel services the Hyper-V/VMBus kernel glue
 * (kernel/hv/hv_kern.c, vmbus/vmbus_kern.c) calls, for the host test that
 * builds that glue against the simulator (test_hv_kern.c).  One file for
 * every such stub (tests/vmbus/hv_kern_stubs.c); klog, marker and the
 * clock come from tests/hw/kstubs.c.
 *
 * The interrupt stubs deliver what the simulator raises: cpu_idle()
 * lets 1 ms of simulated time pass and calls the handler of the vector
 * the synthetic timer raised (direct mode) or of SINT3's vector when a
 * timer message arrived (message mode), like the CPU would.
 */
#ifndef TERN_TESTS_HV_KERN_STUBS_H
#define TERN_TESTS_HV_KERN_STUBS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/intr.h"
#include "tests/vmbus/hv_sim.h"

/* The machine the glue runs on. */
extern struct hv_sim *kstub_hv_sim;
extern int kstub_platform;		/* enum platform_name */
extern bool kstub_hv_hypercalls;	/* platform_has_hyperv_hypercalls() */
extern bool kstub_irqs_lost;		/* cpu_idle delivers nothing */

/* What the glue did. */
extern void *kstub_hcall_page;		/* hw_hypercall_set_page */
extern struct hw_dma kstub_exec_page;	/* exec_page_alloc's page */
extern intr_handler_fn kstub_handlers[256];
extern const char *kstub_handler_names[256];
extern unsigned kstub_lapic_stops, kstub_ticks, kstub_idles;
extern uint64_t kstub_hv_scale;		/* clock_hv_ref_tsc */
extern uint64_t kstub_tsc_hz;		/* time_set_tsc_hz / from the scale */
extern const char *kstub_tsc_ref;
extern unsigned kstub_intr_saves;	/* intr_save calls */

void hv_kern_stubs_reset(struct hv_sim *s);
/* The vector whose handler is called `name`, or -1. */
int kstub_vector(const char *name);

#endif

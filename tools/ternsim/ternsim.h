/*
 * ternsim.h - what ternsim's kernel services (ts_kern.c) need from its
 * main program (ternsim.c): the wire, and an orderly end.
 */
#ifndef TERN_TOOLS_TERNSIM_H
#define TERN_TOOLS_TERNSIM_H

#include <stddef.h>
#include <stdint.h>

/* Start the clock time_now_ns() counts from. */
void ts_clock_start(void);
/* Wait up to `ms` for a frame on the wire (or a signal), deliver what
   came, and end the process on SIGINT/SIGTERM. */
void ts_wire_wait(int ms);
/* Before exit: report the counters, close the wire and the disk. */
void ts_shutdown(void);
/* --platform=azure (ts_azure.c): kernel/hv and the VMBus against the
   Hyper-V host simulator; TERN_OK or the failing step's error. */
int ts_azure_start(void);
/* Before ts_azure_start: the --disk file, mapped (len a multiple of 512),
   served by a storvsc VSP. */
void ts_azure_disk(uint8_t *disk, size_t len);
/* Log the host simulator's protocol errors (if any) and disk counters. */
void ts_azure_check(void);

#endif

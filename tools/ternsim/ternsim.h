/*
 * ternsim.h - what ternsim's kernel services (ts_kern.c) need from its
 * main program (ternsim.c): the wire, and an orderly end.
 */
#ifndef TERN_TOOLS_TERNSIM_H
#define TERN_TOOLS_TERNSIM_H

#include <stdint.h>

/* Start the clock time_now_ns() counts from. */
void ts_clock_start(void);
/* Wait up to `ms` for a frame on the wire (or a signal), deliver what
   came, and end the process on SIGINT/SIGTERM. */
void ts_wire_wait(int ms);
/* Before exit: report the counters, close the wire and the disk. */
void ts_shutdown(void);
/* --platform=azure (ts_azure.c): kernel/hv and the VMBus against the
   Hyper-V host simulator, and with a TAP fd (>= 0) netvsc on it through
   the simulator's netvsc VSP; TERN_OK or the failing step's error. */
int ts_azure_start(int tap);
/* The azure wire: its fd (-1 without a bound NIC), frames from it to the
   guest, the counters at the end. */
int ts_azure_wire_fd(void);
void ts_azure_wire_pump(void);
void ts_azure_shutdown(void);
/* Host messages (rescind, re-offer) and the rescind fault, from
   ts_wire_wait; --fault=reset-after=N on azure: rescind the NIC after N
   frames from the wire and offer it again. */
void ts_azure_service(void);
void ts_azure_set_rescind_after(long n);

#endif

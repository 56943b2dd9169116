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
/* End the process now if SIGINT/SIGTERM arrived. */
void ts_check_stop(void);

/* --platform=nitro (ts_nitro.c): the ENA driver over the ENA simulator
   on TAP fd `tap`; reset_after >= 0 asks for a device reset after that
   many transmitted frames.  wait/shutdown as ts_wire_wait/ts_shutdown. */
void ts_nitro_attach(int tap, long reset_after);
/* An EBS volume: the NVMe driver over the NVMe simulator (Amazon
   identity) on `len` bytes of mapped disk file. */
void ts_nitro_disk(uint8_t *disk, size_t len);
void ts_nitro_wait(int ms);
void ts_nitro_shutdown(void);
/* Before ts_azure_start: the --disk file, mapped (len a multiple of 512),
   served by a storvsc VSP. */
void ts_azure_disk(uint8_t *disk, size_t len);
/* A second file: LUN 1 of the file's controller (call before start). */
void ts_azure_disk2(uint8_t *disk, size_t len);
/* Log the host simulator's protocol errors (if any) and disk counters. */
void ts_azure_check(void);

#endif

/*
 * time.h - the kernel clock.
 *
 * A monotonic nanosecond clock from the TSC, calibrated at boot against a
 * reference timer (CPUID 0x15/0x16, PIT, and later HPET/ACPI PM timer or
 * kvmclock; kernel/arch/x86_64/tsc.c).  time_now_ns() is 0 at loader start
 * (bootinfo.tsc_loader_start) so boot figures read directly.
 */
#ifndef TERN_TIME_H
#define TERN_TIME_H

#include <stdint.h>

uint64_t time_now_ns(void);
/* Busy-wait; for short device delays only (never more than a few ms). */
void time_delay_us(uint64_t us);
/* TSC frequency in Hz found by calibration. */
uint64_t time_tsc_hz(void);
/* Refine the TSC rate from a better reference (ignored when absurd);
   the clock stays continuous and monotonic across the change. */
void time_set_tsc_hz(uint64_t hz, const char *ref);
/* Name of the reference the TSC was calibrated against ("pit", ...). */
const char *time_ref_name(void);
/* The TSC rate, the median of three measurements of `ms` (1-16) each
   against the PIT (a busy wait); 0 when no PIT answers.  For clock_init
   when nothing better exists. */
uint64_t tsc_pit_hz(unsigned ms);

#endif

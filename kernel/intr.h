/*
 * intr.h - interrupt vectors and handlers.
 *
 * Vectors 0..31 are CPU exceptions (kernel/arch/x86_64/trap.c: offered to
 * exception_hook, which takes workload faults; the rest are fatal,
 * reported with TERN PANIC).  Vectors 32..254 are handed out by
 * intr_alloc(); 255 is the LAPIC spurious vector.  Handlers run with
 * interrupts disabled on the interrupted stack and must not block.
 * An interrupt with no handler is counted (intr_unclaimed) and EOI'd.
 */
#ifndef TERN_INTR_H
#define TERN_INTR_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*intr_handler_fn)(void *ctx, int vector);

/* Reserve a free vector and attach `fn`; returns the vector or TERN_ENOMEM. */
int intr_alloc(intr_handler_fn fn, void *ctx, const char *name);
void intr_free(int vector);

/* Enable/disable interrupts on this CPU; intr_save returns previous state. */
void intr_enable(void);
void intr_disable(void);
bool intr_save(void);
void intr_restore(bool was_enabled);

/* Sleep the CPU until the next interrupt (sti; hlt) */
void cpu_idle(void);

/* Counters. */
extern uint64_t intr_spurious, intr_unclaimed;

/* The tick: the LAPIC timer at TIMER_HZ, or on Hyper-V the synthetic
   timer that replaced it (kernel/hv/hv_kern.c); tick_fn called on each. */
#define TIMER_HZ	1000
void timer_set_tick(void (*tick_fn)(void));
extern volatile uint64_t timer_ticks;
/* Account one tick (timer_ticks, tick_fn): called by the LAPIC timer's
   vector and by any other timer that replaced it, from its interrupt. */
void timer_tick(void);

#endif

/*
 * hw_record.h - a record backend of the hardware seam for host tests: it
 * wraps any other backend (a device simulator) and writes every seam
 * call a driver makes through it as the events of docs/trace-format.md,
 * the same lines kernel/hw/trace.c writes on COM2.  A trace recorded
 * from a simulator ("# simulator-generated trace: ...") only shows that
 * the driver agrees with our own simulator; replaying it proves the
 * driver still does exactly what it did then.
 *
 * Recorded: R W c C A V S D T m M X H B N.  Passed through without an
 * event (as the kernel recorder does): dma_free, delay_us, intr_wait.
 * Bytes of S and D events are read at the call (after the inner sync),
 * addresses are the inner backend's (hw_virt_to_phys of the inner).
 */
#ifndef TERN_TESTS_HW_RECORD_H
#define TERN_TESTS_HW_RECORD_H

#include <stdio.h>

#include "kernel/hw/hw.h"

struct hw_record;

/* Record the calls made on devices attached to it into `out` under
   device name `name`, forwarding each to `inner` (whose ops and backend
   are used; inner itself is not changed). */
struct hw_record *hw_record_open(FILE *out, struct hw_dev *inner, const char *name);
/* Point d at the recorder: sets d->ops, d->backend and d->name.  Copies
   of d (a VMBus channel's seam device) record into the same stream. */
void hw_record_attach(struct hw_record *r, struct hw_dev *d);
/* Events written so far. */
unsigned hw_record_count(const struct hw_record *r);
void hw_record_close(struct hw_record *r);

extern const struct hw_ops hw_record_ops;

#endif

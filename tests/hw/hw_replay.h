/*
 * hw_replay.h - the replay backend of the hardware seam (host only).
 *
 * Loads a trace in the format of docs/trace-format.md, keeps the events
 * of one device and plays the device's side of them back:
 *  - R/c: the driver's read MUST be the next event, at the same window,
 *    width and offset; it returns the recorded value.
 *  - W/C: the driver's write MUST be the next event with the same place
 *    and value.
 *  - A: hw_dma_alloc gets host memory (aligned_alloc) of the recorded
 *    length and reports the recorded physical address, so every address
 *    the driver later writes to the device matches the trace.
 *  - V: hw_virt_to_phys returns the recorded address and remembers the
 *    host va -> recorded pa pair.
 *  - S: hw_dma_sync_cpu copies the recorded bytes into the buffer (the
 *    device's writes appear exactly where the CPU looked in the recording).
 *  - T: hw_now_ns returns the recorded time.
 * Config events (c/C) not matched by a driver call are skipped: they come
 * from the PCI bus glue, which host tests do not run.
 *
 * Any divergence calls the failure hook (default: print and abort) with a
 * message naming device, event number, register (hw_bar.names) and
 * expected vs actual.  After the last event the replay is "ended": reads
 * return 0, writes are ignored and the clock advances 1 ms per read, so
 * detach and bounded waits can run; hw_replay_done()
 * tells whether every event was consumed.
 */
#ifndef TERN_TESTS_HW_REPLAY_H
#define TERN_TESTS_HW_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel/hw/hw.h"

struct hw_replay;

/* Load `path`, keep events of device `dev` (e.g. "virtio-blk1").  NULL
   and a message on stderr when the file is unreadable or malformed. */
struct hw_replay *hw_replay_open(const char *path, const char *dev);
/* Same from a string in memory (edited traces in tests). */
struct hw_replay *hw_replay_open_mem(const char *text, const char *dev);
void hw_replay_close(struct hw_replay *r);

/* Point d at the replay: sets d->ops, d->backend and d->name. */
void hw_replay_attach(struct hw_replay *r, struct hw_dev *d);

/* Divergence hook: when set, called with the message instead of abort();
   the replay then stays diverged (reads return all-ones, writes ignored). */
void hw_replay_set_fail(struct hw_replay *r, void (*fn)(void *, const char *),
    void *arg);
bool hw_replay_diverged(const struct hw_replay *r);
const char *hw_replay_message(const struct hw_replay *r);
/* Events consumed so far and in total. */
size_t hw_replay_pos(const struct hw_replay *r);
size_t hw_replay_count(const struct hw_replay *r);
bool hw_replay_done(const struct hw_replay *r);
/* End the replay early (the rest of the trace is not replayed): from now
   on reads return 0 and writes are ignored, e.g. for detach. */
void hw_replay_stop(struct hw_replay *r);

extern const struct hw_ops hw_replay_ops;

#endif

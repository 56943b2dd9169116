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
 *  - D: hw_dma_sync_dev MUST name the recorded address (through the A/V
 *    mappings) and length, and the driver's bytes there MUST equal the
 *    recorded ones: what the driver put in descriptors, submission
 *    entries, PRP lists, request headers, write data and frames.
 *  - T: hw_now_ns returns the recorded time.
 * Config events (c/C) not matched by a driver call are skipped: they come
 * from the PCI bus glue, which host tests do not run.
 *
 * Any divergence calls the failure hook (default: print and abort) with a
 * message naming device, event number, register (hw_bar.names) or DMA
 * field (the namer) and expected vs actual.  A seam call after the last
 * event is a divergence too: the trace has nothing to say about it.
 * Only after hw_replay_stop() (the test declares the rest of its run,
 * e.g. a detach QEMU's run never did, outside the recording) do reads
 * return 0, writes pass and the clock advance 1 ms per read.  Every test
 * ends with hw_replay_finish(), which fails unless every event was
 * consumed.
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
   the replay then stays diverged (reads return all-ones, writes ignored,
   the clock advances 1 ms per read so bounded waits end). */
void hw_replay_set_fail(struct hw_replay *r, void (*fn)(void *, const char *),
    void *arg);
bool hw_replay_diverged(const struct hw_replay *r);
const char *hw_replay_message(const struct hw_replay *r);
/* A field of device-readable memory, for D divergence messages. */
struct hw_replay_field {
	uint64_t pa;		/* recorded bus address of its first byte */
	uint32_t len;		/* bytes */
	char name[80];		/* e.g. "virtq 0 desc[3].addr" */
};
/* Namer: given a recorded bus address, fill f with the field holding it
   and return true, or return false when pa is in nothing it knows (the
   message then shows bytes).  Called only while building a message. */
void hw_replay_set_namer(struct hw_replay *r,
    bool (*fn)(void *arg, uint64_t pa, struct hw_replay_field *f), void *arg);
/* A namer's table of one structure's fields, ended by a NULL name. */
struct hw_replay_layout {
	uint32_t off, len;
	const char *name;
};
/* Fills f with the field of layout t holding byte `off` of the element at
   recorded address `base`, named "<prefix>.<field>"; false if none. */
bool hw_replay_pick(const struct hw_replay_layout *t, uint64_t base, uint64_t off,
    const char *prefix, struct hw_replay_field *f);

/* Events consumed so far and in total. */
size_t hw_replay_pos(const struct hw_replay *r);
size_t hw_replay_count(const struct hw_replay *r);
bool hw_replay_done(const struct hw_replay *r);
/* The test is done with the device: true when every event was consumed
   (trailing PCI config events aside) and nothing diverged.  Otherwise a
   divergence naming the device, how many events are left and the first
   of them (seq, line, register): abort, or the hook and false.  Every
   replay test calls it after its last driver call. */
bool hw_replay_finish(struct hw_replay *r);
/* The rest of the test's driver calls are outside the recording (e.g. a
   detach QEMU's run never did): from now on no event is consumed, reads
   return 0, writes are ignored.  hw_replay_finish still reports events
   that were left. */
void hw_replay_stop(struct hw_replay *r);

extern const struct hw_ops hw_replay_ops;

#endif

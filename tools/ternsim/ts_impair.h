/*
 * ts_impair.h - ternsim's wire impairment (--impair=...): loss, reordering,
 * duplication and corruption of the frames crossing the TAP, in both
 * directions, for every platform's wire (ternsim.c, ts_nitro.c).  This
 * kernel has no sch_netem, so the impairment sits in ternsim itself.
 *
 *  - ts_impair_parse(spec): "loss=P,reorder=P,dup=P,corrupt=P[,seed=N]",
 *    P a fraction (0.02) or a percentage (2%), 0..1; any subset of the
 *    keys.  0 on success, -1 (nothing changed) on a bad spec.
 *  - ts_impair_frame(dir, frame, len, deliver, ctx): passes the frame on
 *    through deliver(ctx, frame, len) zero times (lost), once, or twice
 *    (duplicated); a corrupted frame is a copy with one bit flipped in
 *    its IPv4 header or payload (never the Ethernet header, never a
 *    non-IPv4 frame: ARP has no checksum and a real wire's FCS would
 *    catch it), so checksums catch it; a reordered frame is held and
 *    delivered right after the next frame of its direction, or after
 *    TS_IMPAIR_HOLD_MS when no frame follows.  Without --impair the frame
 *    is delivered at once.  Deterministic for a given seed and sequence
 *    of frames (one generator per direction).
 *  - ts_impair_poll(): delivers held frames whose time is up; the wire
 *    pumps call it.  ts_impair_held(): a frame is held (bound the idle
 *    wait by TS_IMPAIR_HOLD_MS).
 *  - ts_impair_announce(): logs the configuration at start;
 *    ts_impair_report(): the counters, logged at exit.
 */
#ifndef TERN_TOOLS_TS_IMPAIR_H
#define TERN_TOOLS_TS_IMPAIR_H

#include <stdbool.h>
#include <stdint.h>

#define TS_TO_GUEST	0	/* TAP -> simulated device */
#define TS_FROM_GUEST	1	/* simulated device -> TAP */
#define TS_IMPAIR_HOLD_MS 5

typedef void (*ts_deliver_fn)(void *ctx, const uint8_t *frame, uint32_t len);

int ts_impair_parse(const char *spec);
void ts_impair_frame(int dir, const uint8_t *frame, uint32_t len, ts_deliver_fn deliver,
    void *ctx);
void ts_impair_poll(void);
bool ts_impair_held(void);
void ts_impair_report(void);
/* Log the configuration (once the clock runs). */
void ts_impair_announce(void);

#endif

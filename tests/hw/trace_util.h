/*
 * trace_util.h - helpers the replay tests share: reading a recorded
 * trace's "# marker:" header lines and whole file, and blktest's pattern
 * (the same generator as kernel/dev/blktest.c), so a test can redo what
 * the kernel did while the trace was recorded.
 */
#ifndef TERN_TESTS_TRACE_UTIL_H
#define TERN_TESTS_TRACE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The text after `key` in the trace's "# marker:" lines, up to the first
   character of `stop` (or the end of the line), into out; "" if absent.
   Returns -1 when the file cannot be read. */
int trace_marker_value(const char *path, const char *key, const char *stop,
    char *out, size_t n);
/* The whole file, NUL-terminated (malloc'd), or NULL. */
char *trace_slurp(const char *path);
/* blktest's pattern: the seed in the first 8 bytes, then an LCG. */
void blktest_pattern(uint8_t *buf, size_t len, uint64_t seed);
/* nettest's ARP request for 10.0.2.2 from 10.0.2.15 as the kernel sends
   it (kernel/dev/nettest.c): Ethernet header and body (padded to the
   60-byte minimum) in two buffers. */
void nettest_arp_request(uint8_t eth[14], uint8_t arp[46], const uint8_t mac[6]);

/*
 * Edited traces for negative tests (docs/trace-format.md: edits are made
 * to a copy in memory, never to the committed file).  Each returns a new
 * malloc'd text, or NULL when the event to edit is not there.
 *
 * trace_edit_dma: the first D event of `dev` of `len` bytes whose bytes
 * start with the hex `prefix` and hold the hex `old` (NULL: anything)
 * at byte `off` gets `new` (same length) there instead.
 */
char *trace_edit_dma(const char *text, const char *dev, size_t len, const char *prefix,
    size_t off, const char *old, const char *new);
/* The same for the first S event (bytes the device wrote and the
   driver read, e.g. a host message in a SynIC slot). */
char *trace_edit_sync(const char *text, const char *dev, size_t len, const char *prefix,
    size_t off, const char *old, const char *new);
/* Without the last `n` events of `dev`. */
char *trace_drop_last(const char *text, const char *dev, int n);
/* With one more event of `dev` at the end: "<dev> <last seq + 1> <event>". */
char *trace_append(const char *text, const char *dev, const char *event);
/* Little-endian hex of the low `bytes` bytes of v ("803f0000"). */
void trace_hex_le(uint64_t v, int bytes, char *out);
/* The first string of the NULL-ended list `want` that msg lacks, or NULL
   when it has them all (a divergence message naming what it should). */
const char *trace_msg_missing(const char *msg, const char *const *want);

#endif

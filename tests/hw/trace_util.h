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

#endif

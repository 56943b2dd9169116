/*
 * kstubs.h - the kernel services a host test links instead of the kernel's
 * (tests/hw/kstubs.c): klog and marker that keep what they were given, and
 * a fake clock.  Defined once for every test; a test file never redefines
 * klog, marker or time_now_ns.  The device registries are not stubbed:
 * tests link the real ones (kernel/dev/blk.c, kernel/dev/dev.c), so a
 * driver that forgets to unregister on detach leaves a dangling entry that
 * ASan reports.
 */
#ifndef TERN_TESTS_KSTUBS_H
#define TERN_TESTS_KSTUBS_H

#include <stdbool.h>
#include <stdint.h>

/* Log lines since the last kstub_reset(), newest last ("mod: text\n");
   when full, the oldest half is dropped. */
extern char kstub_log[16384];
extern char kstub_last[512];	/* the last log line or marker, "mod: text" */
extern unsigned kstub_nlog;	/* log lines since reset */
extern unsigned kstub_warnings;	/* of those, LOG_WARN and above */
/* Every marker line since reset, each "TERN <text>\n", and the last one
   without "TERN ". */
extern char kstub_markers[8192];
extern char kstub_last_marker[512];
/* Print every log line on stderr: set by TERN_TEST_VERBOSE, or by a test. */
extern int kstub_verbose;

void kstub_reset(void);
bool kstub_logged(const char *needle);	/* in kstub_log */
/* The n-th marker line since reset (0-based) without "TERN ", copied into
   buf; false when there are fewer. */
bool kstub_marker(int n, char *buf, unsigned len);

/* The fake kernel clock: time_now_ns() returns kstub_now_ns after adding
   kstub_clock_step_ns (1 ms unless a test changes it), so any bounded
   wait on it ends after a known number of readings. */
extern uint64_t kstub_now_ns;
extern uint64_t kstub_clock_step_ns;
extern uint64_t kstub_clock_reads;

#endif

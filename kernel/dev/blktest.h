/*
 * blktest.h - the boot-time block self-test (blktest=<mode> on the
 * command line, kernel/dev/blktest.c).  Runs on the second registered
 * disk after the drivers attached; prints TERN BLKTEST markers.
 */
#ifndef TERN_DEV_BLKTEST_H
#define TERN_DEV_BLKTEST_H

/* Write, read back and compare a pattern near the end of the second
   disk; mode 3 uses the largest single transfer.  Blocks (bounded).
   Returns TERN_OK or a negative tern_err (also reported by marker). */
int blktest_run(int mode);

#endif /* TERN_DEV_BLKTEST_H */

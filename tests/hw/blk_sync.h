/*
 * blk_sync.h - the host tests' synchronous block request: what
 * kernel/dev/dev.c's blk_rw_sync does, bounded by a number of polls
 * instead of the kernel clock (a replayed or simulated device has none).
 */
#ifndef TERN_TESTS_BLK_SYNC_H
#define TERN_TESTS_BLK_SYNC_H

#include <stdint.h>

#include "kernel/dev/blk.h"

/*
 * Submit `op` for nblocks at lba with buf split into nsegs equal segments
 * (no buffer for a flush) and poll up to max_polls times.  Returns the
 * request's status, the error submit gave, or TERN_ETIMEDOUT.  The
 * request is static: a late completion after a timeout stays harmless.
 */
int test_blk_rw(struct blk_dev *d, int op, uint64_t lba, uint32_t nblocks, void *buf,
    int nsegs, int max_polls);

#endif

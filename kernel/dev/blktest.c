/*
 * blktest.c - the blktest=1 self test: on the second disk (the first is
 * the boot disk), write a pattern to a scratch region at the end, flush,
 * read it back and compare.  Prints TERN BLKTEST ok|fail.
 */
#include <stdint.h>
#include <string.h>

#include "kernel/dev/blk.h"
#include "kernel/err.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/time.h"

#define BLKTEST_BYTES	(64 * 1024)

int blktest_run(void);
int
blktest_run(void)
{
	struct blk_dev *d = blk_first();
	if (d != NULL)
		d = d->next_blk;
	if (d == NULL) {
		marker("BLKTEST fail reason=no_second_disk");
		return TERN_ENODEV;
	}
	uint32_t n = BLKTEST_BYTES / d->block_size;
	if (d->nblocks < n || (d->features & BLK_F_RO)) {
		marker("BLKTEST fail dev=%s reason=disk_too_small_or_read_only", d->name);
		return TERN_EINVAL;
	}
	uint64_t lba = d->nblocks - n;
	uint8_t *wbuf = kmalloc_aligned(BLKTEST_BYTES, 4096);
	uint8_t *rbuf = kmalloc_aligned(BLKTEST_BYTES, 4096);
	if (wbuf == NULL || rbuf == NULL) {
		marker("BLKTEST fail dev=%s reason=no_memory", d->name);
		kfree(wbuf);
		kfree(rbuf);
		return TERN_ENOMEM;
	}
	uint32_t seed = (uint32_t)time_now_ns() | 1;
	for (uint32_t i = 0; i < BLKTEST_BYTES; i++) {
		seed = seed * 1103515245u + 12345u;
		wbuf[i] = (uint8_t)(seed >> 16);
	}
	memset(rbuf, 0, BLKTEST_BYTES);
	const char *why = NULL;
	int rc = blk_rw_sync(d, BLK_WRITE, lba, n, wbuf, 5000);
	if (rc != TERN_OK)
		why = "write";
	if (why == NULL && (rc = blk_rw_sync(d, BLK_FLUSH, 0, 0, NULL, 5000)) != TERN_OK)
		why = "flush";
	if (why == NULL && (rc = blk_rw_sync(d, BLK_READ, lba, n, rbuf, 5000)) != TERN_OK)
		why = "read";
	if (why == NULL && memcmp(wbuf, rbuf, BLKTEST_BYTES) != 0) {
		why = "mismatch";
		rc = TERN_EIO;
	}
	if (why == NULL)
		marker("BLKTEST ok dev=%s lba=%llu bytes=%u", d->name,
		    (unsigned long long)lba, BLKTEST_BYTES);
	else
		marker("BLKTEST fail dev=%s reason=%s err=%s", d->name, why, err_str(rc));
	kfree(wbuf);
	kfree(rbuf);
	return rc;
}

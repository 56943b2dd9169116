/*
 * blktest.c - the blktest self test on the second disk (the first is the
 * boot disk), in a 64 KiB scratch region at its end.
 *   blktest=1: write a pattern from a fresh seed, flush, read back, compare.
 *   blktest=verify: only read the region and check it holds a complete
 *   pattern (its seed is in the first 8 bytes): proves that data written
 *   and flushed by an earlier boot survived power-off.
 *   blktest=big: as 1, but one request as large as the driver takes (up
 *   to 4 MiB, at the end of the disk), then a discard of the region when
 *   the device offers it: long PRP chains / descriptor lists in one go.
 * Prints TERN BLKTEST ok|fail dev=<n> ... seed=<hex>.
 */
#include <stdint.h>
#include <string.h>

#include "kernel/dev/blk.h"
#include "kernel/dev/blktest.h"
#include "kernel/err.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/time.h"

#define BLKTEST_BYTES	(64 * 1024)
#define BLKTEST_BIG	(4u << 20)

static void
pattern(uint8_t *buf, uint32_t len, uint64_t seed)
{
	memcpy(buf, &seed, 8);
	uint64_t x = seed;
	for (uint32_t i = 8; i < len; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		buf[i] = (uint8_t)(x >> 56);
	}
}

int
blktest_run(int mode)
{
	struct blk_dev *d = blk_first();
	if (d != NULL)
		d = d->next_blk;
	if (d == NULL) {
		marker("BLKTEST fail reason=no_second_disk");
		return TERN_ENODEV;
	}
	uint32_t bytes = BLKTEST_BYTES;
	if (mode == 3) {
		bytes = d->max_transfer < BLKTEST_BIG ? d->max_transfer : BLKTEST_BIG;
		bytes &= ~(d->block_size - 1);
	}
	uint32_t n = bytes / d->block_size;
	if (n == 0 || d->nblocks < n || (d->features & BLK_F_RO)) {
		marker("BLKTEST fail dev=%s reason=disk_too_small_or_read_only", d->name);
		return TERN_EINVAL;
	}
	uint64_t lba = d->nblocks - n;
	uint8_t *wbuf = kmalloc_aligned(bytes, 4096);
	uint8_t *rbuf = kmalloc_aligned(bytes, 4096);
	if (wbuf == NULL || rbuf == NULL) {
		marker("BLKTEST fail dev=%s reason=no_memory", d->name);
		kfree(wbuf);
		kfree(rbuf);
		return TERN_ENOMEM;
	}
	uint64_t seed = (time_now_ns() * 0x9e3779b97f4a7c15ULL) | 1;
	memset(rbuf, 0, bytes);
	const char *why = NULL;
	int rc = TERN_OK;
	if (mode != 2) {
		pattern(wbuf, bytes, seed);
		if ((rc = blk_rw_sync(d, BLK_WRITE, lba, n, wbuf, 5000)) != TERN_OK)
			why = "write";
		if (why == NULL && (rc = blk_rw_sync(d, BLK_FLUSH, 0, 0, NULL, 5000)) != TERN_OK)
			why = "flush";
	}
	if (why == NULL && (rc = blk_rw_sync(d, BLK_READ, lba, n, rbuf, 5000)) != TERN_OK)
		why = "read";
	if (why == NULL && mode == 2) {
		memcpy(&seed, rbuf, 8);		/* what an earlier boot wrote */
		pattern(wbuf, bytes, seed);
	}
	if (why == NULL && memcmp(wbuf, rbuf, bytes) != 0) {
		why = "mismatch";
		rc = TERN_EIO;
	}
	const char *discard = "n/a";
	if (why == NULL && mode == 3 && (d->features & BLK_F_DISCARD)) {
		if ((rc = blk_rw_sync(d, BLK_DISCARD, lba, n, NULL, 5000)) != TERN_OK)
			why = "discard";
		discard = "ok";
	}
	static const char *const modes[] = { "", "write", "verify", "big" };
	if (why == NULL && mode == 3)
		marker("BLKTEST ok dev=%s mode=big lba=%llu bytes=%u seed=%016llx discard=%s",
		    d->name, (unsigned long long)lba, bytes, (unsigned long long)seed, discard);
	else if (why == NULL)
		marker("BLKTEST ok dev=%s mode=%s lba=%llu bytes=%u seed=%016llx", d->name,
		    modes[mode], (unsigned long long)lba, bytes, (unsigned long long)seed);
	else
		marker("BLKTEST fail dev=%s mode=%s reason=%s err=%s", d->name,
		    modes[mode], why, err_str(rc));
	log_info("blktest", "%s: %llu completion interrupts (0 means polled)", d->name,
	    (unsigned long long)d->stats.intrs);
	kfree(wbuf);
	kfree(rbuf);
	return rc;
}

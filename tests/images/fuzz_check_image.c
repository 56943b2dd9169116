/*
 * fuzz_check_image.c - libFuzzer target for tools/check-image.c: GPT, FAT
 * and PE parsing of a hostile disk image and the VHD footer must end in a
 * verdict, never in a memory error, a hang or a reason without a line.
 *
 * An input is a compact disk: head || tail || footer, with tail the last
 * 33 sectors of the disk (backup GPT array and header) and footer 512
 * bytes.  The harness lays it out as a 1 MiB raw disk (head at 0, tail at
 * the end, zeros between, so byte mutations reach the parsers instead of
 * stopping at the whole-MiB rule) and checks that; then it checks the same
 * disk with the footer appended, as a VHD.  tests/images/fuzz.sh builds
 * the seed from a valid 1 MiB image (mkseed.sh) the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/check_image.h"

#define DISK_LEN	(1024u * 1024u)
#define TAIL_LEN	(33u * 512u)
#define FOOTER_LEN	512u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
verdict_ok(int rc, const char *why)
{
	if (rc != 0 && rc != 1)
		abort();
	if (rc == 1 && (why[0] == '\0' || strchr(why, '\n') != NULL))
		abort();	/* a refusal must say why, on one line */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t disk[DISK_LEN + FOOTER_LEN];
	char why[256];
	size_t head = size, tail = 0, foot = 0;

	if (size >= TAIL_LEN + FOOTER_LEN) {
		head = size - TAIL_LEN - FOOTER_LEN;
		tail = TAIL_LEN;
		foot = FOOTER_LEN;
	}
	if (head > DISK_LEN - TAIL_LEN)
		head = DISK_LEN - TAIL_LEN;
	memset(disk, 0, sizeof(disk));
	memcpy(disk, data, head);
	if (tail != 0) {
		memcpy(disk + DISK_LEN - TAIL_LEN, data + size - TAIL_LEN -
		    FOOTER_LEN, TAIL_LEN);
		memcpy(disk + DISK_LEN, data + size - FOOTER_LEN, FOOTER_LEN);
	}
	verdict_ok(check_image_buf(disk, DISK_LEN, 0, why, sizeof(why)), why);
	if (foot != 0)
		verdict_ok(check_image_buf(disk, DISK_LEN + FOOTER_LEN, 1, why,
		    sizeof(why)), why);
	return 0;
}

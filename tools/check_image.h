/*
 * check_image.h - tools/check-image.c as a function, for the fuzz target
 * (tests/images/fuzz_check_image.c) and any host tool that wants the
 * verdict without a process.
 */
#ifndef TERN_TOOLS_CHECK_IMAGE_H
#define TERN_TOOLS_CHECK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Check the disk image in buf[0..len) (a raw disk, or with vhd a fixed VHD
 * whose footer is the last 512 bytes) exactly as `check-image` checks a
 * file.  Returns 0 when it passes, 1 when refused, with the one-line
 * reason in why (NUL terminated, truncated to whylen).  Not reentrant:
 * one check at a time.  buf is only read.
 */
int check_image_buf(const uint8_t *buf, size_t len, int vhd, char *why,
    size_t whylen);

#endif

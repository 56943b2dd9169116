/*
 * fuzz_pkg.c: libFuzzer target over pkg_parse.  The input is taken as a
 * package image; when the fuzzer mangles the checksum the parse stops
 * early, so half the inputs get their checksum fixed first to reach the
 * entry table and manifest parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pal/pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkg p;
	const char *reason;
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	if (size >= PKG_HDR_SIZE && (size & 1)) {
		uint32_t total = (uint32_t)copy[16] | (uint32_t)copy[17] << 8 |
		    (uint32_t)copy[18] << 16 | (uint32_t)copy[19] << 24;
		if (total >= PKG_HDR_SIZE && total <= size) {
			uint32_t c = pkg_checksum(copy + PKG_HDR_SIZE, total - PKG_HDR_SIZE);
			copy[20] = (uint8_t)c;
			copy[21] = (uint8_t)(c >> 8);
			copy[22] = (uint8_t)(c >> 16);
			copy[23] = (uint8_t)(c >> 24);
		}
	}
	if (pkg_parse(copy, size, &p, &reason) == 0) {
		for (unsigned i = 0; i < p.nent; i++)
			if (p.ent[i].len)
				(void)*(volatile const uint8_t *)&p.ent[i].data[p.ent[i].len - 1];
		(void)pkg_find(&p, "index.html");
	}
	pkg_manifest_parse((const char *)data, size, &p.m, &reason);
	free(copy);
	return 0;
}

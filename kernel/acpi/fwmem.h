/*
 * fwmem.h - read-only access to firmware tables in physical memory.
 *
 * The ACPI and SMBIOS parsers never dereference a physical address
 * themselves: they ask a struct fw_mem to map a range first.  In the
 * kernel the accessor returns a direct-map pointer when the whole range
 * lies below bootinfo.map_limit; host tests back it with a byte blob.
 * A NULL return means "not readable": the parser reports and skips.
 *
 * Every value read from firmware is untrusted.  The helpers below read
 * little-endian fields byte by byte, so no alignment is assumed.
 */
#ifndef TERN_FWMEM_H
#define TERN_FWMEM_H

#include <stddef.h>
#include <stdint.h>

struct fw_mem {
	/* Return a pointer to `len` readable bytes at physical `pa`, or
	   NULL if any byte of [pa, pa + len) is not readable (including
	   when pa + len overflows).  The pointer stays valid for the
	   whole parse; the parser MUST NOT write through it. */
	const void *(*map)(void *ctx, uint64_t pa, size_t len);
	void *ctx;
};

static inline const uint8_t *
fw_map(const struct fw_mem *m, uint64_t pa, size_t len)
{
	if (m == NULL || m->map == NULL || len == 0 || pa + len < pa)
		return NULL;
	return m->map(m->ctx, pa, len);
}

static inline uint16_t
fw_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
fw_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t
fw_le64(const uint8_t *p)
{
	return (uint64_t)fw_le32(p) | ((uint64_t)fw_le32(p + 4) << 32);
}

/* Byte sum of [p, p + len) modulo 256: 0 for a valid ACPI/SMBIOS checksum. */
static inline uint8_t
fw_sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

#endif /* TERN_FWMEM_H */

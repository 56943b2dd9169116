/*
 * vhd.h - the fixed VHD footer, shared by mkvhd (writes it) and
 * check-image (checks it).
 *
 * Layout and rules from Microsoft's "Virtual Hard Disk Image Format
 * Specification" (2006), "Hard Disk Footer Format" and Appendix
 * "CHS Calculation".  A fixed VHD is the raw disk followed by this
 * 512-byte footer; every field is big-endian.  Azure takes only fixed
 * VHDs whose virtual size (current size) is a whole number of MiB.
 */
#ifndef TERN_TOOLS_VHD_H
#define TERN_TOOLS_VHD_H

#include <stddef.h>
#include <stdint.h>

#define VHD_FOOTER_SIZE		512
#define VHD_COOKIE		"conectix"

/* Byte offsets in the footer (spec, "Hard Disk Footer Format"). */
#define VHD_OFF_COOKIE		0	/* 8 bytes "conectix" */
#define VHD_OFF_FEATURES	8	/* u32, bit 1 (0x2) reserved, always set */
#define VHD_OFF_VERSION		12	/* u32 0x00010000 */
#define VHD_OFF_DATA_OFFSET	16	/* u64, all ones for a fixed disk */
#define VHD_OFF_TIMESTAMP	24	/* u32, seconds since 2000-01-01 00:00 UTC */
#define VHD_OFF_CREATOR_APP	28	/* 4 chars */
#define VHD_OFF_CREATOR_VER	32	/* u32 */
#define VHD_OFF_CREATOR_OS	36	/* u32 "Wi2k" or "Mac " */
#define VHD_OFF_ORIG_SIZE	40	/* u64 bytes */
#define VHD_OFF_CUR_SIZE	48	/* u64 bytes: the virtual size */
#define VHD_OFF_CYLINDERS	56	/* u16 */
#define VHD_OFF_HEADS		58	/* u8 */
#define VHD_OFF_SPT		59	/* u8 sectors per track */
#define VHD_OFF_DISK_TYPE	60	/* u32: 2 fixed, 3 dynamic, 4 differencing */
#define VHD_OFF_CHECKSUM	64	/* u32 */
#define VHD_OFF_UNIQUE_ID	68	/* 16 bytes */
#define VHD_OFF_SAVED_STATE	84	/* u8 */

#define VHD_FEATURES_RESERVED	0x00000002u
#define VHD_VERSION		0x00010000u
#define VHD_TYPE_FIXED		2u
#define VHD_TYPE_DYNAMIC	3u
#define VHD_TYPE_DIFF		4u
#define VHD_EPOCH_UNIX		946684800u	/* 2000-01-01 00:00:00 UTC */
#define MIB			(1024u * 1024u)

struct vhd_chs {
	unsigned cylinders, heads, spt;
};

/*
 * The spec's geometry for a disk of `sectors` 512-byte sectors (Appendix,
 * "CHS Calculation"), capped at 65535 x 16 x 255.  Hyper-V and Azure read
 * the size from the current-size field; the geometry is what Virtual PC
 * and the spec's own readers use, so it must agree with that size.
 */
static inline struct vhd_chs
vhd_geometry(uint64_t sectors)
{
	struct vhd_chs g;
	uint64_t cth;

	if (sectors > 65535ull * 16 * 255)
		sectors = 65535ull * 16 * 255;
	if (sectors >= 65535ull * 16 * 63) {
		g.spt = 255;
		g.heads = 16;
		cth = sectors / g.spt;
	} else {
		g.spt = 17;
		cth = sectors / g.spt;
		g.heads = (unsigned)((cth + 1023) / 1024);
		if (g.heads < 4)
			g.heads = 4;
		if (cth >= (uint64_t)g.heads * 1024 || g.heads > 16) {
			g.spt = 31;
			g.heads = 16;
			cth = sectors / g.spt;
		}
		if (cth >= (uint64_t)g.heads * 1024) {
			g.spt = 63;
			g.heads = 16;
			cth = sectors / g.spt;
		}
	}
	g.cylinders = (unsigned)(cth / g.heads);
	return g;
}

/* One's complement of the byte sum of the footer, checksum field skipped. */
static inline uint32_t
vhd_checksum(const uint8_t *f)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < VHD_FOOTER_SIZE; i++)
		if (i < VHD_OFF_CHECKSUM || i >= VHD_OFF_CHECKSUM + 4)
			sum += f[i];
	return ~sum;
}

static inline uint64_t
vhd_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void
vhd_put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

#endif

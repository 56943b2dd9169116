/*
 * check-image: refuse a tern disk image that EC2 or Azure would refuse, or
 * that their UEFI firmware could not boot.
 *
 *   check-image [--format raw|vhd] IMAGE
 *
 * The format defaults to vhd for a name ending in ".vhd", raw otherwise.
 * Exit 0 with one "ok" line on stdout when the image passes; exit 1 with
 * one line "check-image: IMAGE: <reason>" on stderr at the first problem;
 * exit 2 on a usage error.  Everything in the image is treated as hostile:
 * every offset and length is bounded by the file before it is used.
 *
 * What is checked, in order (docs/clouds.md, "Images"):
 *  - raw: the size is a whole number of MiB (EC2 import-snapshot);
 *  - vhd: the 512-byte footer (tools/vhd.h): cookie "conectix", checksum,
 *    version, fixed type with data offset all ones, virtual size a whole
 *    number of MiB and equal to the data in front of the footer, the spec's
 *    CHS geometry for that size, a non-zero unique id;
 *  - the protective MBR (0x55AA, a type 0xEE entry);
 *  - GPT (UEFI 2.x, 5.3): primary header at LBA 1 and backup at the last
 *    LBA, each with its signature, header CRC32, own/alternate LBA and
 *    partition-array CRC32, and the two agreeing;
 *  - an EFI System Partition (type C12A7328-F81F-11D2-BA4B-00A0C93EC93B)
 *    inside the usable LBAs, holding a FAT12/16/32 filesystem;
 *  - on it \EFI\BOOT\BOOTX64.EFI, a PE32+ x86-64 EFI application (MZ, PE
 *    signature, machine 0x8664, executable, optional header magic 0x20b,
 *    subsystem 10, entry point and sections inside the file/image);
 *  - \tern\kernel.elf (an ELF64 x86-64 file) and \tern\cmdline (printable,
 *    shorter than the loader's 1024-byte buffer, boot/bootinfo.h).
 *
 * check_image_buf() (tools/check_image.h) runs the same checks on a
 * buffer and returns the reason instead of exiting; the fuzz target
 * tests/images/fuzz_check_image.c drives it.
 *
 * The FAT reader matches 8.3 names only (case-insensitively, as UEFI
 * does); every name above fits 8.3, and mkimage.sh writes them so.
 * Sectors are 512 bytes, as on both clouds' boot disks.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/check_image.h"
#include "tools/vhd.h"

#define SECTOR		512u
#define LOADER_MAX	(16u * MIB)	/* far above any real BOOTX64.EFI */
#define CMDLINE_MAX	1024u		/* TERN_CMDLINE_MAX, boot/bootinfo.h */

/*
 * One check at a time (the tool is single-threaded): the image is a file
 * (img_fd) or, for check_image_buf, a buffer (img_mem).  A refusal ends
 * the check through refuse(): exit(1) in the tool, a longjmp back to
 * check_image_buf otherwise.  Buffers come from ci_alloc and are all
 * freed when the check ends, whichever way it ends.
 */
static const char *img_path;
static int img_fd = -1;
static const uint8_t *img_mem;
static uint64_t data_len;	/* bytes of disk (the VHD footer excluded) */
static jmp_buf *refuse_jmp;
static char *refuse_why;
static size_t refuse_whylen;
#define CI_MAX_ALLOC 8
static void *ci_allocs[CI_MAX_ALLOC];

struct ci_result {
	const char *format;
	unsigned fat_type;
	uint64_t esp_first;
	int has_app;
	char cmdline[CMDLINE_MAX];
};

static void
ci_free_all(void)
{
	for (int i = 0; i < CI_MAX_ALLOC; i++) {
		free(ci_allocs[i]);
		ci_allocs[i] = NULL;
	}
}

static __attribute__((noreturn, format(printf, 1, 2))) void
refuse(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (refuse_jmp != NULL) {
		vsnprintf(refuse_why, refuse_whylen, fmt, ap);
		va_end(ap);
		longjmp(*refuse_jmp, 1);
	}
	fprintf(stderr, "check-image: %s: ", img_path);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
ci_alloc(size_t n)
{
	for (int i = 0; i < CI_MAX_ALLOC; i++) {
		if (ci_allocs[i] == NULL) {
			ci_allocs[i] = malloc(n ? n : 1);
			if (ci_allocs[i] == NULL)
				refuse("out of memory (%zu bytes)", n);
			return ci_allocs[i];
		}
	}
	refuse("internal: more than %d buffers", CI_MAX_ALLOC);
}

/* Read exactly n bytes at off of the disk; refuse when outside it. */
static void
rd(uint64_t off, void *buf, size_t n, const char *what)
{
	if (off > data_len || n > data_len - off)
		refuse("%s lies outside the disk (offset %llu, %zu bytes, disk "
		    "%llu bytes)", what, (unsigned long long)off, n,
		    (unsigned long long)data_len);
	if (img_mem != NULL) {
		memcpy(buf, img_mem + off, n);
		return;
	}
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t r = pread(img_fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			refuse("cannot read %s: %s", what,
			    r < 0 ? strerror(errno) : "short file");
		p += r;
		off += (uint64_t)r;
		n -= (size_t)r;
	}
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), as GPT uses it. */
static uint32_t
crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n-- > 0) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* --- VHD footer ------------------------------------------------------ */

static void
check_vhd(uint64_t file_len)
{
	uint8_t f[VHD_FOOTER_SIZE];

	if (file_len < VHD_FOOTER_SIZE + SECTOR)
		refuse("VHD: file of %llu bytes is too short for a disk and a "
		    "footer", (unsigned long long)file_len);
	data_len = file_len;	/* let rd() reach the footer */
	rd(file_len - VHD_FOOTER_SIZE, f, sizeof(f), "VHD footer");
	data_len = file_len - VHD_FOOTER_SIZE;

	if (memcmp(f + VHD_OFF_COOKIE, VHD_COOKIE, 8) != 0)
		refuse("VHD: footer cookie is not \"conectix\" (not a VHD, or "
		    "not a fixed one: the footer must be the last 512 bytes)");
	uint32_t stored = (uint32_t)vhd_be(f + VHD_OFF_CHECKSUM, 4);
	uint32_t want = vhd_checksum(f);
	if (stored != want)
		refuse("VHD: footer checksum 0x%08x, computed 0x%08x", stored,
		    want);
	uint32_t type = (uint32_t)vhd_be(f + VHD_OFF_DISK_TYPE, 4);
	if (type != VHD_TYPE_FIXED)
		refuse("VHD: disk type %u (%s) is not fixed (2); Azure takes "
		    "only fixed VHDs", type, type == VHD_TYPE_DYNAMIC ?
		    "dynamic" : type == VHD_TYPE_DIFF ? "differencing" :
		    "unknown");
	uint32_t ver = (uint32_t)vhd_be(f + VHD_OFF_VERSION, 4);
	if (ver != VHD_VERSION)
		refuse("VHD: file format version 0x%08x is not 0x00010000", ver);
	if (!(vhd_be(f + VHD_OFF_FEATURES, 4) & VHD_FEATURES_RESERVED))
		refuse("VHD: features field lacks the always-set bit 0x2");
	if (vhd_be(f + VHD_OFF_DATA_OFFSET, 8) != ~0ull)
		refuse("VHD: data offset is not 0xffffffffffffffff as a fixed "
		    "disk's must be");

	uint64_t cur = vhd_be(f + VHD_OFF_CUR_SIZE, 8);
	if (cur % MIB != 0)
		refuse("VHD: virtual size %llu is not a whole number of MiB",
		    (unsigned long long)cur);
	if (cur != data_len)
		refuse("VHD: virtual size %llu does not match the %llu data "
		    "bytes before the footer", (unsigned long long)cur,
		    (unsigned long long)data_len);
	struct vhd_chs g = vhd_geometry(cur / SECTOR);
	unsigned c = (unsigned)vhd_be(f + VHD_OFF_CYLINDERS, 2);
	unsigned h = f[VHD_OFF_HEADS], s = f[VHD_OFF_SPT];
	if (c != g.cylinders || h != g.heads || s != g.spt)
		refuse("VHD: geometry %u/%u/%u is not the spec's %u/%u/%u for "
		    "%llu sectors", c, h, s, g.cylinders, g.heads, g.spt,
		    (unsigned long long)(cur / SECTOR));
	int nonzero = 0;
	for (int i = 0; i < 16; i++)
		nonzero |= f[VHD_OFF_UNIQUE_ID + i];
	if (!nonzero)
		refuse("VHD: unique id is all zeros");
	if (f[VHD_OFF_SAVED_STATE] != 0)
		refuse("VHD: saved-state flag is set");
}

/* --- GPT ------------------------------------------------------------- */

struct gpt {
	uint64_t my_lba, alt_lba, first_usable, last_usable, entries_lba;
	uint32_t nentries, entry_size, entries_crc;
	uint8_t disk_guid[16];
	uint8_t *entries;	/* nentries * entry_size bytes, ci_alloc'd */
};

/* ESP type GUID C12A7328-F81F-11D2-BA4B-00A0C93EC93B in on-disk order. */
static const uint8_t esp_type[16] = {
	0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
	0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
};

static void
read_gpt(struct gpt *g, uint64_t lba, const char *which, uint64_t last_lba,
    uint64_t want_alt)
{
	uint8_t h[SECTOR];

	rd(lba * SECTOR, h, sizeof(h), "GPT header");
	if (memcmp(h, "EFI PART", 8) != 0)
		refuse("GPT: %s header at LBA %llu has no \"EFI PART\" "
		    "signature", which, (unsigned long long)lba);
	uint32_t hsize = le32(h + 12);
	if (hsize < 92 || hsize > SECTOR)
		refuse("GPT: %s header size %u is outside 92..512", which, hsize);
	uint32_t stored = le32(h + 16);
	memset(h + 16, 0, 4);
	uint32_t crc = crc32_update(0, h, hsize);
	if (crc != stored)
		refuse("GPT: %s header CRC 0x%08x, computed 0x%08x", which,
		    stored, crc);
	if (le32(h + 8) != 0x00010000)
		refuse("GPT: %s header revision 0x%08x is not 1.0", which,
		    le32(h + 8));

	g->my_lba = le64(h + 24);
	g->alt_lba = le64(h + 32);
	g->first_usable = le64(h + 40);
	g->last_usable = le64(h + 48);
	memcpy(g->disk_guid, h + 56, 16);
	g->entries_lba = le64(h + 72);
	g->nentries = le32(h + 80);
	g->entry_size = le32(h + 84);
	g->entries_crc = le32(h + 88);

	if (g->my_lba != lba)
		refuse("GPT: %s header says it is at LBA %llu, found at %llu",
		    which, (unsigned long long)g->my_lba,
		    (unsigned long long)lba);
	if (g->alt_lba != want_alt) {
		if (lba == 1)
			refuse("GPT: primary header puts the backup at LBA %llu, "
			    "the last LBA is %llu (disk resized without moving "
			    "the backup GPT?)", (unsigned long long)g->alt_lba,
			    (unsigned long long)want_alt);
		refuse("GPT: backup header points at LBA %llu, not 1",
		    (unsigned long long)g->alt_lba);
	}
	if (g->first_usable > g->last_usable || g->last_usable >= last_lba)
		refuse("GPT: %s header usable LBAs %llu..%llu do not fit a disk "
		    "whose last LBA is %llu", which,
		    (unsigned long long)g->first_usable,
		    (unsigned long long)g->last_usable,
		    (unsigned long long)last_lba);
	if (g->entry_size < 128 || (g->entry_size & (g->entry_size - 1)) != 0 ||
	    g->entry_size > 4096)
		refuse("GPT: %s partition entry size %u is not 128 x 2^n", which,
		    g->entry_size);
	if (g->nentries == 0 || g->nentries > 4096)
		refuse("GPT: %s header has %u partition entries (1..4096 "
		    "accepted)", which, g->nentries);
	size_t alen = (size_t)g->nentries * g->entry_size;
	uint64_t asec = (alen + SECTOR - 1) / SECTOR;
	/* The array must not overlap the usable area or either header. */
	if (g->entries_lba < 2 || g->entries_lba >= last_lba ||
	    asec > last_lba - g->entries_lba ||
	    (g->entries_lba <= g->last_usable &&
	    g->entries_lba + asec - 1 >= g->first_usable))
		refuse("GPT: %s partition array at LBA %llu (%llu sectors) "
		    "overlaps a header or the usable area", which,
		    (unsigned long long)g->entries_lba,
		    (unsigned long long)asec);
	g->entries = ci_alloc(alen);
	rd(g->entries_lba * SECTOR, g->entries, alen, "GPT partition array");
	crc = crc32_update(0, g->entries, alen);
	if (crc != g->entries_crc)
		refuse("GPT: %s partition array CRC 0x%08x, computed 0x%08x",
		    which, g->entries_crc, crc);
}

static void
check_gpt(uint64_t *esp_first, uint64_t *esp_last)
{
	uint8_t mbr[SECTOR];

	if (data_len < 68 * SECTOR)
		refuse("disk of %llu bytes is too small for GPT",
		    (unsigned long long)data_len);
	uint64_t last_lba = data_len / SECTOR - 1;

	rd(0, mbr, sizeof(mbr), "protective MBR");
	if (mbr[510] != 0x55 || mbr[511] != 0xaa)
		refuse("protective MBR: no 0x55AA signature in LBA 0");
	int pmbr = 0;
	for (int i = 0; i < 4; i++)
		if (mbr[446 + 16 * i + 4] == 0xee)
			pmbr = 1;
	if (!pmbr)
		refuse("protective MBR: no partition of type 0xEE");

	struct gpt p, b;
	read_gpt(&p, 1, "primary", last_lba, last_lba);
	read_gpt(&b, last_lba, "backup", last_lba, 1);
	if (memcmp(p.disk_guid, b.disk_guid, 16) != 0 ||
	    p.first_usable != b.first_usable || p.last_usable != b.last_usable ||
	    p.nentries != b.nentries || p.entry_size != b.entry_size ||
	    p.entries_crc != b.entries_crc)
		refuse("GPT: backup header disagrees with the primary");
	if (b.entries_lba <= b.last_usable)
		refuse("GPT: backup partition array is not after the usable "
		    "area");

	for (uint32_t i = 0; i < p.nentries; i++) {
		const uint8_t *e = p.entries + (size_t)i * p.entry_size;
		if (memcmp(e, esp_type, 16) != 0)
			continue;
		uint64_t first = le64(e + 32), last = le64(e + 40);
		if (first < p.first_usable || last > p.last_usable ||
		    first > last)
			refuse("GPT: EFI System Partition %u spans LBA %llu..%llu, "
			    "outside the usable %llu..%llu", i + 1,
			    (unsigned long long)first, (unsigned long long)last,
			    (unsigned long long)p.first_usable,
			    (unsigned long long)p.last_usable);
		*esp_first = first;
		*esp_last = last;
		return;
	}
	refuse("GPT: no EFI System Partition (type "
	    "C12A7328-F81F-11D2-BA4B-00A0C93EC93B)");
}

/* --- FAT ------------------------------------------------------------- */

struct fat {
	uint64_t base;		/* byte offset of the partition in the disk */
	uint32_t bps, spc, type;
	uint64_t fat_off;	/* byte offset of FAT #1 */
	uint64_t root_off;	/* FAT12/16 fixed root directory */
	uint32_t root_bytes;
	uint64_t data_off;	/* byte offset of cluster 2 */
	uint32_t nclusters, root_clus;
};

struct dirent83 {
	uint32_t clus, size;
	uint8_t attr;
};

static void
fat_open(struct fat *fs, uint64_t first, uint64_t last)
{
	uint8_t bs[SECTOR];
	uint64_t plen = (last - first + 1) * SECTOR;

	fs->base = first * SECTOR;
	rd(fs->base, bs, sizeof(bs), "ESP boot sector");
	if (bs[510] != 0x55 || bs[511] != 0xaa)
		refuse("ESP: no FAT filesystem (no 0x55AA boot signature)");
	fs->bps = le16(bs + 11);
	fs->spc = bs[13];
	uint32_t rsvd = le16(bs + 14), nfats = bs[16];
	uint32_t rootents = le16(bs + 17);
	uint32_t tot = le16(bs + 19) ? le16(bs + 19) : le32(bs + 32);
	uint32_t fatsz = le16(bs + 22) ? le16(bs + 22) : le32(bs + 36);
	if (fs->bps < 512 || fs->bps > 4096 || (fs->bps & (fs->bps - 1)) ||
	    fs->spc == 0 || (fs->spc & (fs->spc - 1)) || rsvd == 0 ||
	    nfats == 0 || fatsz == 0 || tot == 0)
		refuse("ESP: no FAT filesystem (BPB: %u bytes/sector, %u "
		    "sectors/cluster, %u reserved, %u FATs of %u sectors)",
		    fs->bps, fs->spc, rsvd, nfats, fatsz);
	if ((uint64_t)tot * fs->bps > plen)
		refuse("ESP: FAT filesystem of %llu bytes is larger than its "
		    "partition (%llu bytes)",
		    (unsigned long long)tot * fs->bps, (unsigned long long)plen);
	fs->root_bytes = rootents * 32;
	uint64_t root_secs = (fs->root_bytes + fs->bps - 1) / fs->bps;
	uint64_t meta = rsvd + (uint64_t)nfats * fatsz + root_secs;
	if (meta >= tot)
		refuse("ESP: FAT metadata (%llu sectors) fills the whole "
		    "filesystem", (unsigned long long)meta);
	fs->nclusters = (uint32_t)((tot - meta) / fs->spc);
	/* FAT type by cluster count: Microsoft FAT specification, 3.5. */
	fs->type = fs->nclusters < 4085 ? 12 : fs->nclusters < 65525 ? 16 : 32;
	fs->fat_off = fs->base + (uint64_t)rsvd * fs->bps;
	fs->root_off = fs->fat_off + (uint64_t)nfats * fatsz * fs->bps;
	fs->data_off = fs->root_off + root_secs * fs->bps;
	uint64_t need = (uint64_t)(fs->nclusters + 2) * fs->type / 8;
	if (need > (uint64_t)fatsz * fs->bps)
		refuse("ESP: FAT%u table of %u sectors cannot map %u clusters",
		    fs->type, fatsz, fs->nclusters);
	fs->root_clus = 0;
	if (fs->type == 32) {
		if (rootents != 0)
			refuse("ESP: FAT32 with a fixed root directory");
		fs->root_clus = le32(bs + 44);
		if (fs->root_clus < 2 || fs->root_clus >= fs->nclusters + 2)
			refuse("ESP: FAT32 root cluster %u out of range",
			    fs->root_clus);
	} else if (rootents == 0) {
		refuse("ESP: FAT%u without a root directory", fs->type);
	}
}

/* Next cluster in the chain, 0 at its end; refuses a broken chain. */
static uint32_t
fat_next(const struct fat *fs, uint32_t c)
{
	uint8_t b[4] = { 0 };
	uint32_t v, eoc;

	switch (fs->type) {
	case 12:
		rd(fs->fat_off + c + c / 2, b, 2, "FAT12 entry");
		v = le16(b);
		v = (c & 1) ? v >> 4 : v & 0xfff;
		eoc = 0xff8;
		break;
	case 16:
		rd(fs->fat_off + (uint64_t)c * 2, b, 2, "FAT16 entry");
		v = le16(b);
		eoc = 0xfff8;
		break;
	default:
		rd(fs->fat_off + (uint64_t)c * 4, b, 4, "FAT32 entry");
		v = le32(b) & 0x0fffffff;
		eoc = 0x0ffffff8;
		break;
	}
	if (v >= eoc)
		return 0;
	if (v < 2 || v >= fs->nclusters + 2)
		refuse("ESP: broken FAT chain (cluster %u -> %u)", c, v);
	return v;
}

static uint64_t
clus_off(const struct fat *fs, uint32_t c)
{
	return fs->data_off + (uint64_t)(c - 2) * fs->spc * fs->bps;
}

/* "BOOTX64.EFI" -> "BOOTX64 EFI"; false when it does not fit 8.3. */
static int
to_83(const char *name, uint8_t out[11])
{
	memset(out, ' ', 11);
	const char *dot = strchr(name, '.');
	size_t base = dot ? (size_t)(dot - name) : strlen(name);
	size_t ext = dot ? strlen(dot + 1) : 0;
	if (base == 0 || base > 8 || ext > 3)
		return 0;
	for (size_t i = 0; i < base; i++)
		out[i] = (uint8_t)(name[i] >= 'a' && name[i] <= 'z' ?
		    name[i] - 32 : name[i]);
	for (size_t i = 0; i < ext; i++)
		out[8 + i] = (uint8_t)(dot[1 + i] >= 'a' && dot[1 + i] <= 'z' ?
		    dot[1 + i] - 32 : dot[1 + i]);
	return 1;
}

/* Look `name` up in the directory at cluster `dir` (0: the fixed root). */
static int
fat_lookup(const struct fat *fs, uint32_t dir, const char *name,
    struct dirent83 *out)
{
	uint8_t want[11], e[32];

	if (!to_83(name, want))
		return 0;
	uint32_t csize = fs->spc * fs->bps;
	uint32_t c = dir;
	uint32_t hops = 0;
	for (;;) {
		uint64_t off = dir == 0 ? fs->root_off : clus_off(fs, c);
		uint32_t len = dir == 0 ? fs->root_bytes : csize;
		for (uint32_t i = 0; i + 32 <= len; i += 32) {
			rd(off + i, e, 32, "ESP directory entry");
			if (e[0] == 0)
				return 0;
			if (e[0] == 0xe5 || e[11] == 0x0f || (e[11] & 0x08))
				continue;
			if (memcmp(e, want, 11) != 0)
				continue;
			out->attr = e[11];
			out->size = le32(e + 28);
			out->clus = le16(e + 26) |
			    (fs->type == 32 ? (uint32_t)le16(e + 20) << 16 : 0);
			return 1;
		}
		if (dir == 0)
			return 0;
		c = fat_next(fs, c);
		if (c == 0)
			return 0;
		if (++hops > fs->nclusters)
			refuse("ESP: directory cluster chain loops");
	}
}

/* Resolve an absolute path like "/EFI/BOOT/BOOTX64.EFI" to a file. */
static int
fat_path(const struct fat *fs, const char *path, struct dirent83 *out)
{
	char comp[16];
	uint32_t dir = fs->type == 32 ? fs->root_clus : 0;
	const char *p = path;

	while (*p == '/')
		p++;
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		if (n >= sizeof(comp))
			return 0;
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (!fat_lookup(fs, dir, comp, out))
			return 0;
		p += n;
		while (*p == '/')
			p++;
		if (*p != '\0') {
			if (!(out->attr & 0x10))
				return 0;
			dir = out->clus;
			if (dir == 0)	/* ".." style reference to the root */
				dir = fs->type == 32 ? fs->root_clus : 0;
			else if (dir < 2 || dir >= fs->nclusters + 2)
				refuse("ESP: directory %s starts at bad cluster "
				    "%u", comp, dir);
		}
	}
	if (out->attr & 0x10)
		return 0;	/* a directory where a file was expected */
	return 1;
}

/* Read a whole file (at most `max` bytes) following its cluster chain. */
static uint8_t *
fat_read(const struct fat *fs, const struct dirent83 *f, uint32_t max,
    const char *what)
{
	if (f->size > max)
		refuse("%s is %u bytes, more than the %u accepted", what,
		    f->size, max);
	uint8_t *buf = ci_alloc(f->size);
	uint32_t csize = fs->spc * fs->bps, done = 0, c = f->clus;
	uint32_t hops = 0;
	while (done < f->size) {
		if (c < 2 || c >= fs->nclusters + 2)
			refuse("ESP: %s is cut short (cluster %u after %u of "
			    "%u bytes)", what, c, done, f->size);
		uint32_t n = f->size - done < csize ? f->size - done : csize;
		rd(clus_off(fs, c), buf + done, n, what);
		done += n;
		if (done < f->size) {
			c = fat_next(fs, c);
			if (++hops > fs->nclusters)
				refuse("ESP: %s cluster chain loops", what);
		}
	}
	return buf;
}

/* --- PE32+ ----------------------------------------------------------- */

static void
check_pe(const uint8_t *p, uint32_t n)
{
	const char *w = "\\EFI\\BOOT\\BOOTX64.EFI";

	if (n < 64 || p[0] != 'M' || p[1] != 'Z')
		refuse("%s is not a PE image (no MZ signature)", w);
	uint32_t pe = le32(p + 0x3c);
	if (pe > n || n - pe < 24 || memcmp(p + pe, "PE\0\0", 4) != 0)
		refuse("%s is not a PE image (no PE signature at 0x%x)", w, pe);
	const uint8_t *coff = p + pe + 4;
	uint16_t machine = le16(coff);
	if (machine != 0x8664)
		refuse("%s machine 0x%04x is not x86-64 (0x8664)", w, machine);
	uint16_t nsec = le16(coff + 2), optsz = le16(coff + 16);
	uint16_t chr = le16(coff + 18);
	if (!(chr & 0x0002))
		refuse("%s is not marked executable (characteristics 0x%04x)",
		    w, chr);
	uint32_t opt = pe + 24;
	if (optsz < 112 || opt > n || n - opt < optsz)
		refuse("%s optional header (%u bytes) is missing or cut short",
		    w, optsz);
	uint16_t magic = le16(p + opt);
	if (magic != 0x20b)
		refuse("%s optional header magic 0x%03x is not PE32+ (0x20b)",
		    w, magic);
	uint16_t subsys = le16(p + opt + 68);
	if (subsys != 10)
		refuse("%s subsystem %u is not an EFI application (10)", w,
		    subsys);
	uint32_t entry = le32(p + opt + 16), image = le32(p + opt + 56);
	if (entry == 0 || entry >= image)
		refuse("%s entry point 0x%x is outside its image of 0x%x bytes",
		    w, entry, image);
	uint64_t sec = (uint64_t)opt + optsz;
	if (nsec == 0 || sec + (uint64_t)nsec * 40 > n)
		refuse("%s section table (%u sections) is missing or cut short",
		    w, nsec);
	for (uint16_t i = 0; i < nsec; i++) {
		const uint8_t *s = p + sec + (uint64_t)i * 40;
		uint32_t vsz = le32(s + 8), va = le32(s + 12);
		uint32_t rawsz = le32(s + 16), raw = le32(s + 20);
		char name[9];	/* the file's bytes, printable, for one line */
		int j;
		for (j = 0; j < 8 && s[j] != 0; j++)
			name[j] = s[j] >= 0x20 && s[j] < 0x7f ? (char)s[j] : '?';
		name[j] = 0;
		if ((uint64_t)raw + rawsz > n)
			refuse("%s section %s lies past the end of the file",
			    w, name);
		if ((uint64_t)va + vsz > image)
			refuse("%s section %s lies past SizeOfImage", w, name);
	}
}

/* --- the whole check ------------------------------------------------ */

/* Check the disk behind img_fd or img_mem, file_len bytes; refuses or
 * fills r. */
static void
check_all(const char *format, uint64_t file_len, struct ci_result *r)
{
	if (strcmp(format, "vhd") == 0) {
		check_vhd(file_len);
	} else {
		data_len = file_len;
		if (file_len == 0 || file_len % MIB != 0)
			refuse("raw image size %llu is not a whole number of MiB "
			    "(EC2 import refuses it)",
			    (unsigned long long)file_len);
	}

	uint64_t esp_first = 0, esp_last = 0;
	check_gpt(&esp_first, &esp_last);
	r->esp_first = esp_first;
	struct fat fs;
	fat_open(&fs, esp_first, esp_last);

	struct dirent83 f;
	if (!fat_path(&fs, "/EFI/BOOT/BOOTX64.EFI", &f))
		refuse("ESP: \\EFI\\BOOT\\BOOTX64.EFI is missing");
	uint8_t *pe = fat_read(&fs, &f, LOADER_MAX, "BOOTX64.EFI");
	check_pe(pe, f.size);

	if (!fat_path(&fs, "/tern/kernel.elf", &f))
		refuse("ESP: \\tern\\kernel.elf is missing");
	if (f.size < 64)
		refuse("\\tern\\kernel.elf is %u bytes, too short for ELF",
		    f.size);
	struct dirent83 head = f;
	head.size = 20;
	uint8_t *eh = fat_read(&fs, &head, 20, "kernel.elf");
	if (memcmp(eh, "\177ELF", 4) != 0 || eh[4] != 2 || eh[5] != 1 ||
	    le16(eh + 18) != 62)
		refuse("\\tern\\kernel.elf is not an ELF64 little-endian x86-64 "
		    "file");

	if (!fat_path(&fs, "/tern/cmdline", &f))
		refuse("ESP: \\tern\\cmdline is missing");
	uint8_t *cl = fat_read(&fs, &f, CMDLINE_MAX - 1, "\\tern\\cmdline");
	for (uint32_t k = 0; k < f.size; k++)
		if ((cl[k] < 0x20 || cl[k] > 0x7e) && cl[k] != '\n' &&
		    cl[k] != '\t' && cl[k] != '\r')
			refuse("\\tern\\cmdline has a non-printable byte 0x%02x "
			    "at offset %u", cl[k], k);
	uint32_t shown = f.size;
	while (shown > 0 && (cl[shown - 1] == '\n' || cl[shown - 1] == '\r'))
		shown--;
	for (uint32_t k = 0; k < shown; k++)
		if (cl[k] < 0x20)
			cl[k] = ' ';	/* one report line, whatever the file */
	memcpy(r->cmdline, cl, shown);
	r->cmdline[shown] = '\0';
	r->has_app = fat_path(&fs, "/tern/app.pkg", &f);
	r->fat_type = fs.type;
	r->format = format;

}

int
check_image_buf(const uint8_t *buf, size_t len, int vhd, char *why,
    size_t whylen)
{
	jmp_buf jb;
	struct ci_result r;

	img_path = "(buffer)";
	img_fd = -1;
	img_mem = buf;
	refuse_why = why;
	refuse_whylen = whylen;
	if (whylen > 0)
		why[0] = '\0';
	if (setjmp(jb) != 0) {
		refuse_jmp = NULL;
		img_mem = NULL;
		ci_free_all();
		return 1;
	}
	refuse_jmp = &jb;
	check_all(vhd ? "vhd" : "raw", len, &r);
	refuse_jmp = NULL;
	img_mem = NULL;
	ci_free_all();
	return 0;
}

#ifndef CHECK_IMAGE_NO_MAIN
/* --- main ------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr, "usage: check-image [--format raw|vhd] IMAGE\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *format = NULL;
	int i = 1;

	if (i + 1 < argc && strcmp(argv[i], "--format") == 0) {
		format = argv[i + 1];
		i += 2;
	}
	if (i + 1 != argc)
		usage();
	img_path = argv[i];
	if (format == NULL) {
		size_t l = strlen(img_path);
		format = l >= 4 && strcmp(img_path + l - 4, ".vhd") == 0 ?
		    "vhd" : "raw";
	}
	if (strcmp(format, "raw") != 0 && strcmp(format, "vhd") != 0)
		usage();

	img_fd = open(img_path, O_RDONLY);
	if (img_fd < 0)
		refuse("cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(img_fd, &st) != 0 || !S_ISREG(st.st_mode))
		refuse("not a regular file");
	uint64_t file_len = (uint64_t)st.st_size;
	struct ci_result r;
	check_all(format, file_len, &r);
	printf("check-image: %s: ok (%s, %llu MiB, GPT, ESP FAT%u at LBA %llu, "
	    "BOOTX64.EFI PE32+ x86-64 EFI application, kernel.elf, %s, "
	    "cmdline \"%s\")\n", img_path, r.format,
	    (unsigned long long)(data_len / MIB), r.fat_type,
	    (unsigned long long)r.esp_first, r.has_app ? "app.pkg" : "no app.pkg",
	    r.cmdline);
	ci_free_all();
	return 0;
}
#endif

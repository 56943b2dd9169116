/*
 * smbios.c - portable SMBIOS reader (DSP0134 3.x sections 5.2, 6.1, 7.1-7.4).
 *
 * The entry point, the table and every structure are firmware input: the
 * walk is bounded by the table length from the entry point (and by the
 * structure count for 2.x), each formatted area and string set must fit
 * inside it, and a malformed structure ends the walk (its successor
 * cannot be located) after a warning.  Strings are copied, never
 * referenced, so callers hold no pointers into firmware memory.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "kernel/smbios/smbios.h"

typedef unsigned long long ull;

/* Entry point layouts (DSP0134 5.2.1 and 5.2.2). */
#define EP32_CHECKSUM		4
#define EP32_LENGTH		5
#define EP32_MAJOR		6
#define EP32_MINOR		7
#define EP32_DMI_ANCHOR		16	/* "_DMI_" */
#define EP32_TABLE_LEN		22	/* u16 */
#define EP32_TABLE_ADDR		24	/* u32 */
#define EP32_NSTRUCTS		28	/* u16 */
#define EP32_MIN_LEN		0x1e	/* 2.1 documents 0x1e; most use 0x1f */
#define EP64_LENGTH		6
#define EP64_MAJOR		7
#define EP64_MINOR		8
#define EP64_TABLE_MAX		12	/* u32 */
#define EP64_TABLE_ADDR		16	/* u64 */
#define EP64_MIN_LEN		0x18

#define SMBIOS_TYPE_END		127

/* One structure: formatted area [s, s + flen) and its string set
   [strs, strs_end), strs_end being just past the double NUL. */
struct smb_struct {
	const uint8_t *s;
	uint8_t flen;
	const uint8_t *strs, *strs_end;
};

static void
copy_str(char *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < SMBIOS_STR_MAX; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[i] = '\0';
}

/* Copy string number s[field] into dst ("" when absent or invalid). */
static void
get_string(struct smbios_info *si, const struct smb_struct *st,
    uint8_t field, char *dst)
{
	const uint8_t *p = st->strs;
	uint8_t want;

	dst[0] = '\0';
	if (field >= st->flen)
		return;		/* older version: field not present */
	want = st->s[field];
	if (want == 0)
		return;
	for (unsigned idx = 1; p < st->strs_end && *p != 0; idx++) {
		const uint8_t *nul = memchr(p, 0, (size_t)(st->strs_end - p));
		if (nul == NULL)
			break;	/* cannot happen: the set ends in NULs */
		if (idx == want) {
			copy_str(dst, p, (size_t)(nul - p));
			return;
		}
		p = nul + 1;
	}
	log_warn("smbios", "type %u handle 0x%04x: string %u out of range",
	    st->s[0], fw_le16(st->s + 2), want);
	si->nbad++;
}

static void
read_uuid(struct smbios_info *si, const uint8_t *u)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	bool all0 = true, all1 = true;
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		all0 &= u[i] == 0x00;
		all1 &= u[i] == 0xff;
	}
	if (all0 || all1)
		return;		/* "not present" / "not set" (7.2.1) */
	memcpy(b, u, 16);
	/* Since 2.6 the first three fields are little-endian. */
	if (si->major > 2 || (si->major == 2 && si->minor >= 6)) {
		uint8_t t;
		t = b[0]; b[0] = b[3]; b[3] = t;
		t = b[1]; b[1] = b[2]; b[2] = t;
		t = b[4]; b[4] = b[5]; b[5] = t;
		t = b[6]; b[6] = b[7]; b[7] = t;
	}
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			si->sys_uuid[o++] = '-';
		si->sys_uuid[o++] = hex[b[i] >> 4];
		si->sys_uuid[o++] = hex[b[i] & 15];
	}
	si->sys_uuid[o] = '\0';
	si->has_uuid = true;
}

static void
use_struct(struct smbios_info *si, const struct smb_struct *st, uint32_t *seen)
{
	uint8_t type = st->s[0];

	if (type > 3 || (*seen & (1u << type)))
		return;		/* only the first of each type 0..3 */
	*seen |= 1u << type;
	switch (type) {
	case 0:
		get_string(si, st, 4, si->bios_vendor);
		get_string(si, st, 5, si->bios_version);
		break;
	case 1:
		get_string(si, st, 4, si->sys_vendor);
		get_string(si, st, 5, si->sys_product);
		get_string(si, st, 7, si->sys_serial);
		if (st->flen >= 0x19)
			read_uuid(si, st->s + 8);
		break;
	case 2:
		get_string(si, st, 4, si->board_vendor);
		get_string(si, st, 8, si->board_asset_tag);
		break;
	case 3:
		get_string(si, st, 4, si->chassis_vendor);
		get_string(si, st, 8, si->chassis_asset_tag);
		break;
	}
}

static void
walk(struct smbios_info *si, const uint8_t *t, uint32_t len, uint32_t maxn)
{
	uint32_t off = 0, seen = 0;

	while (off + 4 <= len && si->nstructs < maxn) {
		struct smb_struct st;
		uint32_t k;

		st.s = t + off;
		st.flen = t[off + 1];
		if (st.flen < 4 || off + st.flen > len) {
			log_warn("smbios", "structure at +%u (type %u) has length %u past the table (%u), walk stopped",
			    off, t[off], st.flen, len);
			si->nbad++;
			return;
		}
		/* The string set ends with two NULs (an empty set is just
		   those two). */
		for (k = off + st.flen; k + 1 < len; k++)
			if (t[k] == 0 && t[k + 1] == 0)
				break;
		if (k + 1 >= len) {
			log_warn("smbios", "structure at +%u (type %u): strings not terminated inside the table, walk stopped",
			    off, t[off]);
			si->nbad++;
			return;
		}
		st.strs = t + off + st.flen;
		st.strs_end = t + k + 2;
		si->nstructs++;
		use_struct(si, &st, &seen);
		if (st.s[0] == SMBIOS_TYPE_END)
			return;
		off = k + 2;
	}
}

int
smbios_parse(const struct fw_mem *mem, uint64_t ep_pa, int kind_hint,
    struct smbios_info *si)
{
	const uint8_t *ep, *t;
	uint64_t tpa;
	uint32_t tlen, maxn = SMBIOS_MAX_STRUCTS;

	memset(si, 0, sizeof(*si));
	if (ep_pa == 0) {
		log_warn("smbios", "no SMBIOS entry point from the loader");
		return TERN_ENOENT;
	}
	ep = fw_map(mem, ep_pa, EP64_MIN_LEN);
	if (ep != NULL && memcmp(ep, "_SM3_", 5) == 0) {
		uint8_t eplen = ep[EP64_LENGTH];
		if (eplen < EP64_MIN_LEN || (ep = fw_map(mem, ep_pa, eplen)) == NULL ||
		    fw_sum8(ep, eplen) != 0) {
			log_warn("smbios", "SMBIOS3 entry point at 0x%llx: bad length or checksum",
			    (ull)ep_pa);
			return TERN_EINVAL;
		}
		si->kind = SMBIOS_EP64;
		si->major = ep[EP64_MAJOR];
		si->minor = ep[EP64_MINOR];
		tpa = fw_le64(ep + EP64_TABLE_ADDR);
		tlen = fw_le32(ep + EP64_TABLE_MAX);
	} else if (ep != NULL && memcmp(ep, "_SM_", 4) == 0) {
		uint8_t eplen;
		if ((ep = fw_map(mem, ep_pa, 0x1f)) == NULL)
			ep = fw_map(mem, ep_pa, EP32_MIN_LEN);
		eplen = ep != NULL ? ep[EP32_LENGTH] : 0;
		if (eplen < EP32_MIN_LEN || eplen > 0x20 ||
		    (ep = fw_map(mem, ep_pa, eplen)) == NULL ||
		    fw_sum8(ep, eplen) != 0 ||
		    memcmp(ep + EP32_DMI_ANCHOR, "_DMI_", 5) != 0 ||
		    fw_sum8(ep + EP32_DMI_ANCHOR, 15) != 0) {
			log_warn("smbios", "SMBIOS entry point at 0x%llx: bad length, anchor or checksum",
			    (ull)ep_pa);
			return TERN_EINVAL;
		}
		si->kind = SMBIOS_EP32;
		si->major = ep[EP32_MAJOR];
		si->minor = ep[EP32_MINOR];
		tpa = fw_le32(ep + EP32_TABLE_ADDR);
		tlen = fw_le16(ep + EP32_TABLE_LEN);
		maxn = fw_le16(ep + EP32_NSTRUCTS);
	} else {
		log_warn("smbios", "no SMBIOS anchor at 0x%llx (loader said kind %d)",
		    (ull)ep_pa, kind_hint);
		return TERN_EINVAL;
	}
	if (kind_hint != 0 && kind_hint != si->kind)
		log_debug("smbios", "loader said kind %d, anchor says %d",
		    kind_hint, si->kind);
	if (tlen < 4 || tlen > SMBIOS_MAX_TABLE_LEN || tpa == 0 ||
	    (t = fw_map(mem, tpa, tlen)) == NULL) {
		log_warn("smbios", "structure table 0x%llx len %u unreadable",
		    (ull)tpa, tlen);
		return TERN_EINVAL;
	}
	si->table_pa = tpa;
	si->table_len = tlen;
	if (maxn > SMBIOS_MAX_STRUCTS)
		maxn = SMBIOS_MAX_STRUCTS;
	walk(si, t, tlen, maxn);
	si->valid = true;
	log_debug("smbios", "SMBIOS %u.%u (%s) table=0x%llx len=%u structs=%u bad=%u",
	    si->major, si->minor, si->kind == SMBIOS_EP64 ? "64-bit" : "32-bit",
	    (ull)tpa, tlen, si->nstructs, si->nbad);
	log_debug("smbios", "bios \"%s\" \"%s\" system \"%s\" \"%s\" uuid %s board asset \"%s\" chassis asset \"%s\"",
	    si->bios_vendor, si->bios_version, si->sys_vendor, si->sys_product,
	    si->has_uuid ? si->sys_uuid : "none", si->board_asset_tag,
	    si->chassis_asset_tag);
	return TERN_OK;
}

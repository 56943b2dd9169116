/*
 * smbios.h - the SMBIOS reader (DMTF DSP0134 3.x: 5.2 entry points, 6.1
 * structure format, 7.1-7.4 types 0-3).
 *
 * smbios_parse() validates a 32-bit ("_SM_", SMBIOS 2.1+) or 64-bit
 * ("_SM3_", SMBIOS 3.0+) entry point, walks the structure table within its
 * declared bounds and copies the strings tern uses for platform detection
 * into fixed NUL-terminated buffers (truncated, unprintable bytes replaced
 * with '?').  Malformed structures (formatted length < 4, strings running
 * past the table, missing double NUL, string index beyond the set) are
 * counted in nbad and never read past the table.  Portable: kernel and
 * host tests.
 */
#ifndef TERN_SMBIOS_H
#define TERN_SMBIOS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/acpi/fwmem.h"

#define SMBIOS_STR_MAX		64	/* bytes kept per string, incl. NUL */
#define SMBIOS_MAX_TABLE_LEN	(1u << 20)
#define SMBIOS_MAX_STRUCTS	4096

enum smbios_kind { SMBIOS_NONE = 0, SMBIOS_EP32 = 2, SMBIOS_EP64 = 3 };

struct smbios_info {
	bool valid;		/* entry point and table were usable */
	int kind;		/* enum smbios_kind of the entry point used */
	uint8_t major, minor;
	uint64_t table_pa;
	uint32_t table_len;
	uint32_t nstructs;	/* structures walked */
	uint32_t nbad;		/* malformed structures or strings */

	/* Type 0: BIOS information. */
	char bios_vendor[SMBIOS_STR_MAX];
	char bios_version[SMBIOS_STR_MAX];
	/* Type 1: system information. */
	char sys_vendor[SMBIOS_STR_MAX];
	char sys_product[SMBIOS_STR_MAX];
	char sys_serial[SMBIOS_STR_MAX];
	bool has_uuid;
	char sys_uuid[37];	/* lower-case 8-4-4-4-12 */
	/* Type 2: baseboard (EC2 Nitro: the instance id is the asset tag). */
	char board_vendor[SMBIOS_STR_MAX];
	char board_asset_tag[SMBIOS_STR_MAX];
	/* Type 3: chassis (Azure: 7783-7084-3265-9085-8269-3286-77). */
	char chassis_vendor[SMBIOS_STR_MAX];
	char chassis_asset_tag[SMBIOS_STR_MAX];
};

/*
 * Parse the SMBIOS tables whose entry point is at physical `ep_pa`.
 * `kind_hint` is the loader's bootinfo.smbios_kind (2 or 3) or 0 to
 * detect from the anchor.  `out` is fully overwritten.  Returns TERN_OK
 * (out->valid), TERN_ENOENT when ep_pa is 0, TERN_EINVAL when the entry
 * point or table is unusable.  Logs through kernel/log.h.
 */
int smbios_parse(const struct fw_mem *mem, uint64_t ep_pa, int kind_hint,
    struct smbios_info *out);

#if defined(TERN_KERNEL)
struct tern_bootinfo;
extern struct smbios_info smbios;
/* Parse bi->smbios (after vm_init).  Never fails. */
void smbios_init(const struct tern_bootinfo *bi);
#endif

#endif /* TERN_SMBIOS_H */

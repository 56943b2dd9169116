/*
 * fake_fw.h - a fake physical memory for the ACPI/SMBIOS parser tests and
 * builders for table sets shaped like the real ones (PROTOCOLS.md D.3).
 * All tables are generated here byte by byte (no firmware dumps).
 */
#ifndef TERN_TESTS_FAKE_FW_H
#define TERN_TESTS_FAKE_FW_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/acpi/fwmem.h"
#include "tests/hw/kstubs.h"

#define FAKE_BASE	0x7f000000ull
#define FAKE_SIZE	(256u * 1024u)
#define FAKE_OUTSIDE	0xdead0000ull	/* never mapped */

struct fake_mem {
	uint8_t *mem;		/* FAKE_SIZE bytes at FAKE_BASE */
	uint64_t next;		/* bump allocator (physical) */
	struct fw_mem fw;
};

void fake_init(struct fake_mem *m);
void fake_free(struct fake_mem *m);
uint64_t fake_alloc(struct fake_mem *m, size_t len);
uint8_t *fake_ptr(struct fake_mem *m, uint64_t pa);

/* A table: header (sig, oem, table id, revision) + body; checksum set. */
uint64_t fake_sdt(struct fake_mem *m, const char *sig, const char *oem,
    const char *tid, uint8_t rev, const void *body, size_t body_len);
/* Recompute the checksum of the table at pa over its length field. */
void fake_sdt_fix(struct fake_mem *m, uint64_t pa);
/* RSDT (entsize 4) or XSDT (entsize 8) over `n` addresses. */
uint64_t fake_root(struct fake_mem *m, int entsize, const char *oem,
    const char *tid, const uint64_t *pas, int n);
/* RSDP revision `rev` (0 or 2). */
uint64_t fake_rsdp(struct fake_mem *m, const char *oem, uint8_t rev,
    uint64_t rsdt, uint64_t xsdt);

/* Fixture sets: return the RSDP address. */
uint64_t fixture_nitro(struct fake_mem *m);
uint64_t fixture_azure_gen2(struct fake_mem *m);
uint64_t fixture_azure_gen1(struct fake_mem *m);
uint64_t fixture_qemu_q35(struct fake_mem *m);
/* Same addresses as the nitro set, for malformed variants. */
struct nitro_addrs {
	uint64_t rsdp, rsdt, facp, dsdt, apic, srat, slit, waet, ssdt, hpet;
};
uint64_t fixture_nitro_addrs(struct fake_mem *m, struct nitro_addrs *a);

/* SMBIOS builders.  A structure: type, formatted bytes after the 4-byte
   header, and a NULL-terminated list of strings. */
struct smb_builder {
	uint8_t buf[4096];
	size_t len;
	uint16_t handle;
	uint16_t count;
};
void smb_add(struct smb_builder *b, uint8_t type, const uint8_t *fmt,
    size_t fmt_len, const char *const *strings);
void smb_end(struct smb_builder *b);	/* type 127 */
/* Place the table and an entry point; return the entry point address. */
uint64_t fake_smbios32(struct fake_mem *m, const struct smb_builder *b,
    uint8_t major, uint8_t minor);
uint64_t fake_smbios64(struct fake_mem *m, const struct smb_builder *b,
    uint8_t major, uint8_t minor, uint32_t max_len);
/* Fill a builder with types 0-3 as on a given platform. */
void smb_platform(struct smb_builder *b, const char *bios_vendor,
    const char *bios_version, const char *sys_vendor, const char *product,
    const uint8_t uuid[16], const char *board_asset, const char *chassis_asset);


#endif

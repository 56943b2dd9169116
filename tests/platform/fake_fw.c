/*
 * fake_fw.c - fake physical memory and firmware table builders for the
 * platform tests.  The fixture sets follow the OEM ids, revisions and
 * table lists of PROTOCOLS.md D.3; the byte contents are synthetic.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/acpi/acpi_reg.h"
#include "tests/platform/fake_fw.h"

static const void *
fake_map(void *ctx, uint64_t pa, size_t len)
{
	struct fake_mem *m = ctx;

	if (pa < FAKE_BASE || pa + len < pa || pa + len > FAKE_BASE + FAKE_SIZE)
		return NULL;
	return m->mem + (pa - FAKE_BASE);
}

void
fake_init(struct fake_mem *m)
{
	m->mem = calloc(1, FAKE_SIZE);
	m->next = FAKE_BASE + 0x100;	/* RSDP area first */
	m->fw.map = fake_map;
	m->fw.ctx = m;
}

void
fake_free(struct fake_mem *m)
{
	free(m->mem);
	m->mem = NULL;
}

uint64_t
fake_alloc(struct fake_mem *m, size_t len)
{
	uint64_t pa = (m->next + 15) & ~15ull;

	if (pa + len > FAKE_BASE + FAKE_SIZE)
		abort();
	m->next = pa + len;
	return pa;
}

uint8_t *
fake_ptr(struct fake_mem *m, uint64_t pa)
{
	return m->mem + (pa - FAKE_BASE);
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_padded(uint8_t *dst, const char *s, size_t n)
{
	size_t l = strlen(s);
	memset(dst, ' ', n);
	memcpy(dst, s, l < n ? l : n);
}

void
fake_sdt_fix(struct fake_mem *m, uint64_t pa)
{
	uint8_t *t = fake_ptr(m, pa);
	uint32_t len = fw_le32(t + SDT_LENGTH);

	t[SDT_CHECKSUM] = 0;
	t[SDT_CHECKSUM] = (uint8_t)(0x100 - fw_sum8(t, len));
}

uint64_t
fake_sdt(struct fake_mem *m, const char *sig, const char *oem,
    const char *tid, uint8_t rev, const void *body, size_t body_len)
{
	uint64_t pa = fake_alloc(m, SDT_HDR_SIZE + body_len);
	uint8_t *t = fake_ptr(m, pa);

	memcpy(t, sig, 4);
	put32(t + SDT_LENGTH, (uint32_t)(SDT_HDR_SIZE + body_len));
	t[SDT_REVISION] = rev;
	put_padded(t + SDT_OEMID, oem, 6);
	put_padded(t + SDT_OEM_TABLE_ID, tid, 8);
	put32(t + SDT_OEM_REVISION, 1);
	memcpy(t + SDT_CREATOR_ID, "TEST", 4);
	put32(t + SDT_CREATOR_REV, 1);
	if (body_len)
		memcpy(t + SDT_HDR_SIZE, body, body_len);
	fake_sdt_fix(m, pa);
	return pa;
}

uint64_t
fake_root(struct fake_mem *m, int entsize, const char *oem, const char *tid,
    const uint64_t *pas, int n)
{
	uint8_t body[8 * 64];

	for (int i = 0; i < n; i++) {
		if (entsize == 8)
			put64(body + 8 * i, pas[i]);
		else
			put32(body + 4 * i, (uint32_t)pas[i]);
	}
	return fake_sdt(m, entsize == 8 ? "XSDT" : "RSDT", oem, tid,
	    entsize == 8 ? 1 : 1, body, (size_t)(entsize * n));
}

uint64_t
fake_rsdp(struct fake_mem *m, const char *oem, uint8_t rev, uint64_t rsdt,
    uint64_t xsdt)
{
	uint64_t pa = FAKE_BASE;	/* fixed: the first 0x100 bytes */
	uint8_t *r = fake_ptr(m, pa);

	memset(r, 0, RSDP_V2_SIZE);
	memcpy(r, "RSD PTR ", 8);
	put_padded(r + RSDP_OEMID, oem, 6);
	r[RSDP_REVISION] = rev;
	put32(r + RSDP_RSDT, (uint32_t)rsdt);
	r[RSDP_CHECKSUM] = (uint8_t)(0x100 - fw_sum8(r, RSDP_V1_SIZE));
	if (rev >= 2) {
		put32(r + RSDP_LENGTH, RSDP_V2_SIZE);
		put64(r + RSDP_XSDT, xsdt);
		r[RSDP_EXT_CHECKSUM] = (uint8_t)(0x100 - fw_sum8(r, RSDP_V2_SIZE));
	}
	return pa;
}

/* ---- table bodies ------------------------------------------------------ */

struct fadt_opts {
	uint32_t len;		/* whole table: 116 (1.0), 244, 276 */
	uint32_t dsdt32;
	uint64_t xdsdt;
	uint16_t pm_tmr, pm1a_cnt;
	uint64_t x_pm_tmr;	/* memory-mapped X_PM_TMR_BLK when set */
	uint32_t flags;
	uint16_t reset_port;
	uint8_t reset_val;
};

static uint64_t
make_fadt(struct fake_mem *m, const char *oem, const char *tid, uint8_t rev,
    const struct fadt_opts *o)
{
	uint8_t f[276];

	memset(f, 0, sizeof(f));
	put32(f + FADT_DSDT, o->dsdt32);
	f[FADT_SCI_INT] = 9;
	put32(f + FADT_PM1A_CNT_BLK, o->pm1a_cnt);
	f[FADT_PM1_CNT_LEN] = 2;
	put32(f + FADT_PM_TMR_BLK, o->pm_tmr);
	f[FADT_PM_TMR_LEN] = o->pm_tmr ? 4 : 0;
	put32(f + FADT_FLAGS, o->flags);
	if (o->len >= 132) {
		if (o->reset_port) {
			f[FADT_RESET_REG + GAS_SPACE] = 1;
			f[FADT_RESET_REG + GAS_BIT_WIDTH] = 8;
			put64(f + FADT_RESET_REG + GAS_ADDR, o->reset_port);
			f[FADT_RESET_VALUE] = o->reset_val;
		}
	}
	if (o->len >= 148)
		put64(f + FADT_X_DSDT, o->xdsdt);
	if (o->len >= 220) {
		f[FADT_X_PM1A_CNT_BLK + GAS_SPACE] = 1;
		f[FADT_X_PM1A_CNT_BLK + GAS_BIT_WIDTH] = 16;
		put64(f + FADT_X_PM1A_CNT_BLK + GAS_ADDR, o->pm1a_cnt);
		if (o->x_pm_tmr) {
			f[FADT_X_PM_TMR_BLK + GAS_SPACE] = 0;
			f[FADT_X_PM_TMR_BLK + GAS_BIT_WIDTH] = 32;
			put64(f + FADT_X_PM_TMR_BLK + GAS_ADDR, o->x_pm_tmr);
		} else if (o->pm_tmr) {
			f[FADT_X_PM_TMR_BLK + GAS_SPACE] = 1;
			f[FADT_X_PM_TMR_BLK + GAS_BIT_WIDTH] = 32;
			put64(f + FADT_X_PM_TMR_BLK + GAS_ADDR, o->pm_tmr);
		}
	}
	return fake_sdt(m, "FACP", oem, tid, rev, f + SDT_HDR_SIZE,
	    o->len - SDT_HDR_SIZE);
}

/* MADT: ncpu LAPICs (ids 0..n-1), one IOAPIC, ISOs 0->2 and 9 (level,
   active high), a LAPIC NMI on LINT1 for all CPUs; x2 adds x2APIC
   entries repeating the same ids (deduplicated by the parser). */
static uint64_t
make_madt(struct fake_mem *m, const char *oem, const char *tid, int ncpu,
    int x2)
{
	uint8_t b[1024];
	size_t o = 8;

	memset(b, 0, sizeof(b));
	put32(b, 0xfee00000u);
	put32(b + 4, 1);		/* PCAT_COMPAT */
	for (int i = 0; i < ncpu; i++) {
		b[o] = MADT_LAPIC; b[o + 1] = 8; b[o + 2] = (uint8_t)i;
		b[o + 3] = (uint8_t)i; put32(b + o + 4, 1);
		o += 8;
	}
	b[o] = MADT_IOAPIC; b[o + 1] = 12; b[o + 2] = (uint8_t)ncpu;
	put32(b + o + 4, 0xfec00000u); put32(b + o + 8, 0);
	o += 12;
	b[o] = MADT_ISO; b[o + 1] = 10; b[o + 2] = 0; b[o + 3] = 0;
	put32(b + o + 4, 2); b[o + 8] = 0; o += 10;
	b[o] = MADT_ISO; b[o + 1] = 10; b[o + 2] = 0; b[o + 3] = 9;
	put32(b + o + 4, 9); b[o + 8] = 0x0d; o += 10;
	b[o] = MADT_LAPIC_NMI; b[o + 1] = 6; b[o + 2] = 0xff; b[o + 3] = 0;
	b[o + 4] = 0; b[o + 5] = 1; o += 6;
	for (int i = 0; i < x2; i++) {
		b[o] = MADT_X2APIC; b[o + 1] = 16; put32(b + o + 4, (uint32_t)i);
		put32(b + o + 8, 1); put32(b + o + 12, (uint32_t)i);
		o += 16;
	}
	return fake_sdt(m, "APIC", oem, tid, 3, b, o);
}

static uint64_t
make_hpet(struct fake_mem *m, const char *oem, const char *tid)
{
	uint8_t b[HPET_SIZE - SDT_HDR_SIZE];

	memset(b, 0, sizeof(b));
	put32(b, 0x8086a201u);
	b[HPET_BASE - SDT_HDR_SIZE + GAS_SPACE] = 0;
	put64(b + HPET_BASE - SDT_HDR_SIZE + GAS_ADDR, 0xfed00000ull);
	return fake_sdt(m, "HPET", oem, tid, 1, b, sizeof(b));
}

static uint64_t
make_mcfg(struct fake_mem *m, const char *oem, const char *tid)
{
	uint8_t b[8 + 16];

	memset(b, 0, sizeof(b));
	put64(b + 8, 0xb0000000ull);
	b[8 + 10] = 0;
	b[8 + 11] = 0xff;
	return fake_sdt(m, "MCFG", oem, tid, 1, b, sizeof(b));
}

static uint64_t
make_blob(struct fake_mem *m, const char *sig, const char *oem,
    const char *tid, size_t len)
{
	uint8_t b[64];

	memset(b, 0, sizeof(b));
	return fake_sdt(m, sig, oem, tid, 1, b, len < sizeof(b) ? len : sizeof(b));
}

/* A little AML: a decoy reference to _S5_ (no NameOp), then
   Name(\_S5_, Package(4){typ, typ, 0, 0}). */
static size_t
aml_s5(uint8_t *b, uint8_t typ)
{
	static const uint8_t pre[] = {
		0x10, 0x0c, '\\', '_', 'S', 'B', '_',	/* Scope(\_SB) */
		0x70, '_', 'S', '5', '_', 0x60,		/* Store(_S5_, Local0) */
	};
	size_t o = sizeof(pre);

	memcpy(b, pre, sizeof(pre));
	b[o++] = AML_NAME; b[o++] = '\\';
	memcpy(b + o, "_S5_", 4); o += 4;
	b[o++] = AML_PACKAGE; b[o++] = 0x08; b[o++] = 0x04;
	b[o++] = AML_BYTE_PREFIX; b[o++] = typ;
	b[o++] = AML_BYTE_PREFIX; b[o++] = typ;
	b[o++] = AML_ZERO; b[o++] = AML_ZERO;
	return o;
}

static size_t
aml_vmbus(uint8_t *b, const char *name, const char *id)
{
	size_t o = 0;

	b[o++] = 0x5b; b[o++] = 0x82; b[o++] = 0x20;	/* Device(VMBS) */
	memcpy(b + o, "VMBS", 4); o += 4;
	b[o++] = AML_NAME; memcpy(b + o, name, 4); o += 4;
	b[o++] = AML_STRING_PREFIX; memcpy(b + o, id, 5); o += 5;
	b[o++] = 0;
	return o;
}

/* ---- fixture sets ------------------------------------------------------ */

uint64_t
fixture_nitro_addrs(struct fake_mem *m, struct nitro_addrs *a)
{
	uint8_t aml[128];
	size_t n;
	struct fadt_opts fo = {
		.len = 244, .pm_tmr = 0xb008, .pm1a_cnt = 0xb004,
		.flags = (1u << 10) | (1u << 8), .reset_port = 0xcf9,
		.reset_val = 0x06,
	};
	uint64_t list[8];

	n = aml_s5(aml, 5);
	a->dsdt = fake_sdt(m, "DSDT", "AMAZON", "AMZNDSDT", 1, aml, n);
	fo.dsdt32 = (uint32_t)a->dsdt;
	fo.xdsdt = a->dsdt;
	a->facp = make_fadt(m, "AMAZON", "AMZNFACP", 4, &fo);
	a->apic = make_madt(m, "AMAZON", "AMZNAPIC", 2, 0);
	a->srat = make_blob(m, "SRAT", "AMAZON", "AMZNSRAT", 12);
	a->slit = make_blob(m, "SLIT", "AMAZON", "AMZNSLIT", 9);
	a->waet = make_blob(m, "WAET", "AMAZON", "AMZNWAET", 4);
	a->ssdt = make_blob(m, "SSDT", "AMAZON", "AMZNSSDT", 16);
	a->hpet = make_hpet(m, "AMAZON", "AMZNHPET");
	list[0] = a->facp; list[1] = a->apic; list[2] = a->srat;
	list[3] = a->slit; list[4] = a->waet; list[5] = a->ssdt;
	list[6] = a->hpet;
	a->rsdt = fake_root(m, 4, "AMAZON", "AMZNRSDT", list, 7);
	a->rsdp = fake_rsdp(m, "AMAZON", 0, a->rsdt, 0);
	return a->rsdp;
}

uint64_t
fixture_nitro(struct fake_mem *m)
{
	struct nitro_addrs a;
	return fixture_nitro_addrs(m, &a);
}

uint64_t
fixture_azure_gen2(struct fake_mem *m)
{
	uint8_t aml[160];
	size_t n;
	struct fadt_opts fo = {
		.len = 276, .pm_tmr = 0x408, .pm1a_cnt = 0x404,
		.flags = (1u << 8), .reset_port = 0, .reset_val = 0,
	};
	uint64_t list[8], dsdt, xsdt;

	n = aml_s5(aml, 0);
	n += aml_vmbus(aml + n, "_HID", "VMBUS");
	dsdt = fake_sdt(m, "DSDT", "MSFTVM", "DSDT01", 2, aml, n);
	fo.xdsdt = dsdt;
	list[0] = make_fadt(m, "VRTUAL", "MICROSFT", 6, &fo);
	list[1] = make_madt(m, "VRTUAL", "MICROSFT", 4, 0);
	list[2] = make_blob(m, "OEM0", "VRTUAL", "MICROSFT", 16);
	list[3] = make_blob(m, "SRAT", "VRTUAL", "MICROSFT", 12);
	list[4] = make_blob(m, "WAET", "VRTUAL", "MICROSFT", 4);
	xsdt = fake_root(m, 8, "VRTUAL", "MICROSFT", list, 5);
	return fake_rsdp(m, "VRTUAL", 2, 0, xsdt);
}

uint64_t
fixture_azure_gen1(struct fake_mem *m)
{
	uint8_t aml[160];
	size_t n;
	struct fadt_opts fo = {
		.len = 116, .pm_tmr = 0x408, .pm1a_cnt = 0x404, .flags = 0,
	};
	uint64_t list[4], rsdt;

	n = aml_s5(aml, 0);
	n += aml_vmbus(aml + n, "_CID", "VMBus");
	fo.dsdt32 = (uint32_t)fake_sdt(m, "DSDT", "MSFTVM", "MSFTVM02", 1, aml, n);
	list[0] = make_fadt(m, "VRTUAL", "MICROSFT", 1, &fo);
	list[1] = make_madt(m, "VRTUAL", "MICROSFT", 1, 0);
	list[2] = make_blob(m, "WAET", "VRTUAL", "MICROSFT", 4);
	rsdt = fake_root(m, 4, "VRTUAL", "MICROSFT", list, 3);
	return fake_rsdp(m, "ACPIAM", 0, rsdt, 0);
}

uint64_t
fixture_qemu_q35(struct fake_mem *m)
{
	uint8_t aml[128];
	size_t n;
	struct fadt_opts fo = {
		.len = 244, .pm_tmr = 0x608, .pm1a_cnt = 0x604,
		.flags = (1u << 10) | (1u << 8), .reset_port = 0xcf9,
		.reset_val = 0x0f,
	};
	uint64_t list[8], xsdt, rsdt;

	n = aml_s5(aml, 0);
	fo.dsdt32 = (uint32_t)fake_sdt(m, "DSDT", "BOCHS", "BXPC", 1, aml, n);
	fo.xdsdt = fo.dsdt32;
	list[0] = make_fadt(m, "BOCHS", "BXPC", 3, &fo);
	list[1] = make_madt(m, "BOCHS", "BXPC", 2, 2);
	list[2] = make_hpet(m, "BOCHS", "BXPC");
	list[3] = make_mcfg(m, "BOCHS", "BXPC");
	list[4] = make_blob(m, "WAET", "BOCHS", "BXPC", 4);
	xsdt = fake_root(m, 8, "BOCHS", "BXPC", list, 5);
	rsdt = fake_root(m, 4, "BOCHS", "BXPC", list, 5);
	return fake_rsdp(m, "BOCHS", 2, rsdt, xsdt);
}

/* ---- SMBIOS ------------------------------------------------------------ */

void
smb_add(struct smb_builder *b, uint8_t type, const uint8_t *fmt,
    size_t fmt_len, const char *const *strings)
{
	uint8_t *p = b->buf + b->len;
	size_t o = 4;
	bool any = false;

	p[0] = type;
	p[1] = (uint8_t)(4 + fmt_len);
	p[2] = (uint8_t)b->handle;
	p[3] = (uint8_t)(b->handle >> 8);
	b->handle++;
	b->count++;
	if (fmt_len)
		memcpy(p + 4, fmt, fmt_len);
	o += fmt_len;
	for (int i = 0; strings != NULL && strings[i] != NULL; i++) {
		size_t l = strlen(strings[i]);
		memcpy(p + o, strings[i], l + 1);
		o += l + 1;
		any = true;
	}
	if (!any)
		p[o++] = 0;
	p[o++] = 0;
	b->len += o;
}

void
smb_end(struct smb_builder *b)
{
	smb_add(b, 127, NULL, 0, NULL);
}

uint64_t
fake_smbios32(struct fake_mem *m, const struct smb_builder *b, uint8_t major,
    uint8_t minor)
{
	uint64_t tpa = fake_alloc(m, b->len), epa = fake_alloc(m, 0x1f);
	uint8_t *e = fake_ptr(m, epa);

	memcpy(fake_ptr(m, tpa), b->buf, b->len);
	memset(e, 0, 0x1f);
	memcpy(e, "_SM_", 4);
	e[5] = 0x1f;
	e[6] = major;
	e[7] = minor;
	memcpy(e + 16, "_DMI_", 5);
	e[22] = (uint8_t)b->len;
	e[23] = (uint8_t)(b->len >> 8);
	put32(e + 24, (uint32_t)tpa);
	e[28] = (uint8_t)b->count;
	e[29] = (uint8_t)(b->count >> 8);
	e[30] = (uint8_t)((major << 4) | (minor & 15));
	e[21] = (uint8_t)(0x100 - fw_sum8(e + 16, 15));
	e[4] = (uint8_t)(0x100 - fw_sum8(e, 0x1f));
	return epa;
}

uint64_t
fake_smbios64(struct fake_mem *m, const struct smb_builder *b, uint8_t major,
    uint8_t minor, uint32_t max_len)
{
	uint64_t tpa = fake_alloc(m, max_len > b->len ? max_len : b->len);
	uint64_t epa = fake_alloc(m, 0x18);
	uint8_t *e = fake_ptr(m, epa);

	memcpy(fake_ptr(m, tpa), b->buf, b->len);
	memset(e, 0, 0x18);
	memcpy(e, "_SM3_", 5);
	e[6] = 0x18;
	e[7] = major;
	e[8] = minor;
	e[10] = 1;
	put32(e + 12, max_len);
	put64(e + 16, tpa);
	e[5] = (uint8_t)(0x100 - fw_sum8(e, 0x18));
	return epa;
}

void
smb_platform(struct smb_builder *b, const char *bios_vendor,
    const char *bios_version, const char *sys_vendor, const char *product,
    const uint8_t uuid[16], const char *board_asset, const char *chassis_asset)
{
	uint8_t f0[0x14] = { 1, 2, 0, 0xe8, 3, 0 };	/* vendor 1, version 2, date 3 */
	uint8_t f1[0x17] = { 1, 2, 3, 4 };		/* strings 1..4, uuid, ... */
	uint8_t f2[0x0b] = { 1, 2, 3, 4, 5 };
	uint8_t f3[0x11] = { 1, 0x01, 2, 3, 4 };
	const char *s0[] = { bios_vendor, bios_version, "01/01/2020", NULL };
	const char *s1[] = { sys_vendor, product, "1.0", "serial-1", NULL };
	const char *s2[] = { sys_vendor, "board", "1.0", "bserial", board_asset, NULL };
	const char *s3[] = { sys_vendor, "3.0", "cserial", chassis_asset, NULL };

	if (board_asset == NULL)
		f2[4] = 0;
	if (chassis_asset == NULL)
		f3[4] = 0;
	if (uuid != NULL)
		memcpy(f1 + 4, uuid, 16);
	smb_add(b, 0, f0, sizeof(f0), s0);
	smb_add(b, 1, f1, sizeof(f1), s1);
	smb_add(b, 2, f2, sizeof(f2), s2);
	smb_add(b, 3, f3, sizeof(f3), s3);
}

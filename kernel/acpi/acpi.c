/*
 * acpi.c - portable ACPI table parser (ACPI 6.5 chapter 5.2; MCFG from the
 * PCI Firmware Specification 3.0; HPET from the IA-PC HPET specification;
 * SPCR from Microsoft's Serial Port Console Redirection table spec).
 *
 * Everything here is input from firmware and is treated as hostile: every
 * table is mapped through fw_mem with its declared length, its checksum is
 * verified, every sub-structure is bounds-checked against that length, and
 * the walk is bounded (ACPI_MAX_ROOT_ENTRIES, duplicate addresses and
 * root-table self references skipped).  A bad table costs a warning and a
 * count in nbad, never the boot.  See acpi.h for the contract.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/acpi/acpi.h"
#include "kernel/acpi/acpi_reg.h"
#include "kernel/err.h"
#include "kernel/log.h"

/* No sane table is this large (QEMU's DSDT is ~8 KiB, Azure's ~20 KiB). */
#define ACPI_MAX_TABLE_LEN	(16u << 20)

typedef unsigned long long ull;

/* Copy a space-padded firmware identifier, trimming trailing blanks and
   replacing anything unprintable so logs and comparisons stay sane. */
static void
copy_ident(char *dst, const uint8_t *src, size_t n)
{
	size_t end = n;

	for (size_t i = 0; i < n; i++) {
		if (src[i] == 0) {
			end = i;
			break;
		}
	}
	while (end > 0 && src[end - 1] == ' ')
		end--;
	for (size_t i = 0; i < end; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[end] = '\0';
}

static void
table_ident(struct acpi_table *t, const uint8_t *hdr, uint64_t pa)
{
	copy_ident(t->sig, hdr + SDT_SIG, 4);
	copy_ident(t->oem, hdr + SDT_OEMID, 6);
	copy_ident(t->table_id, hdr + SDT_OEM_TABLE_ID, 8);
	t->rev = hdr[SDT_REVISION];
	t->len = fw_le32(hdr + SDT_LENGTH);
	t->pa = pa;
}

static void
sig_str(char out[5], const uint8_t *p)
{
	for (int i = 0; i < 4; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	out[4] = '\0';
}

/*
 * Map and validate one table: header readable, length within
 * [SDT_HDR_SIZE, ACPI_MAX_TABLE_LEN], whole table readable, checksum
 * zero, signature as expected (when `want` is set).  Returns the table or
 * NULL after a warning and ai->nbad++.
 */
static const uint8_t *
load_table(const struct fw_mem *mem, struct acpi_info *ai, uint64_t pa,
    const char *want, const char *via)
{
	const uint8_t *h, *t;
	uint32_t len;
	char sig[5];

	h = fw_map(mem, pa, SDT_HDR_SIZE);
	if (h == NULL) {
		log_warn("acpi", "%s entry 0x%llx: not in readable memory, skipped",
		    via, (ull)pa);
		goto bad;
	}
	sig_str(sig, h);
	if (want != NULL && memcmp(h, want, 4) != 0) {
		log_warn("acpi", "%s entry 0x%llx: signature \"%s\", expected %s, skipped",
		    via, (ull)pa, sig, want);
		goto bad;
	}
	len = fw_le32(h + SDT_LENGTH);
	if (len < SDT_HDR_SIZE || len > ACPI_MAX_TABLE_LEN) {
		log_warn("acpi", "%s at 0x%llx: length %u out of range, skipped",
		    sig, (ull)pa, len);
		goto bad;
	}
	t = fw_map(mem, pa, len);
	if (t == NULL) {
		log_warn("acpi", "%s at 0x%llx: length %u runs past readable memory, skipped",
		    sig, (ull)pa, len);
		goto bad;
	}
	if (fw_sum8(t, len) != 0) {
		log_warn("acpi", "%s at 0x%llx: bad checksum, skipped", sig, (ull)pa);
		goto bad;
	}
	return t;
bad:
	ai->nbad++;
	return NULL;
}

static void
read_gas(struct acpi_gas *g, const uint8_t *p)
{
	g->space = p[GAS_SPACE];
	g->bit_width = p[GAS_BIT_WIDTH];
	g->bit_offset = p[GAS_BIT_OFFSET];
	g->access_size = p[GAS_ACCESS_SIZE];
	g->addr = fw_le64(p + GAS_ADDR);
}

static bool
ident_is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* ---- AML byte scans ---------------------------------------------------- */

/* One package element that must be a small integer (SLP_TYP is 3 bits). */
static bool
aml_small_int(const uint8_t *aml, uint32_t len, uint32_t *pos, uint8_t *v)
{
	uint32_t j = *pos;

	if (j >= len)
		return false;
	switch (aml[j]) {
	case AML_ZERO:
		*v = 0;
		*pos = j + 1;
		return true;
	case AML_ONE:
		*v = 1;
		*pos = j + 1;
		return true;
	case AML_BYTE_PREFIX:
		if (j + 1 >= len || aml[j + 1] > 7)
			return false;
		*v = aml[j + 1];
		*pos = j + 2;
		return true;
	case AML_WORD_PREFIX:
		if (j + 2 >= len || fw_le16(aml + j + 1) > 7)
			return false;
		*v = aml[j + 1];
		*pos = j + 3;
		return true;
	default:
		return false;
	}
}

bool
acpi_aml_find_s5(const uint8_t *aml, uint32_t len, uint8_t *typa,
    uint8_t *typb)
{
	if (aml == NULL || len < 8)
		return false;
	for (uint32_t i = 1; i + 4 <= len; i++) {
		uint32_t j, nelem;
		uint8_t a, b = 0;

		if (memcmp(aml + i, "_S5_", 4) != 0)
			continue;
		/* Name(_S5_, ...) or Name(\_S5_, ...); anything else is a
		   reference to the name, not its definition. */
		if (!(aml[i - 1] == AML_NAME ||
		    (i >= 2 && aml[i - 1] == '\\' && aml[i - 2] == AML_NAME)))
			continue;
		j = i + 4;
		if (j >= len || aml[j] != AML_PACKAGE)
			continue;
		j++;
		if (j >= len)
			continue;
		j += 1u + (aml[j] >> 6);	/* PkgLength: lead + 0..3 bytes */
		if (j >= len)
			continue;
		nelem = aml[j++];
		if (nelem < 1 || !aml_small_int(aml, len, &j, &a))
			continue;
		if (nelem >= 2 && !aml_small_int(aml, len, &j, &b))
			continue;
		*typa = a;
		*typb = b;
		return true;
	}
	return false;
}

bool
acpi_aml_has_vmbus(const uint8_t *aml, uint32_t len)
{
	if (aml == NULL)
		return false;
	/* "_HID" 0x0D "VMBUS" 0x00 : 4 + 1 + 5 + 1 bytes. */
	for (uint32_t i = 4; i + 7 <= len; i++) {
		if (aml[i] != AML_STRING_PREFIX)
			continue;
		if (memcmp(aml + i + 1, "VMBUS", 5) != 0 &&
		    memcmp(aml + i + 1, "VMBus", 5) != 0)
			continue;
		if (aml[i + 6] != 0)
			continue;
		if (memcmp(aml + i - 4, "_HID", 4) == 0 ||
		    memcmp(aml + i - 4, "_CID", 4) == 0)
			return true;
	}
	return false;
}

/* ---- individual tables ------------------------------------------------- */

static void
add_cpu(struct acpi_info *ai, uint32_t apic_id, uint32_t uid, bool x2,
    uint32_t flags)
{
	ai->ncpus_seen++;
	if (!(flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAP)))
		return;
	for (uint32_t i = 0; i < ai->ncpus; i++)
		if (ai->cpus[i].apic_id == apic_id)
			return;		/* same CPU listed as xAPIC and x2APIC */
	if (ai->ncpus >= ACPI_MAX_CPUS)
		return;
	ai->cpus[ai->ncpus].apic_id = apic_id;
	ai->cpus[ai->ncpus].uid = uid;
	ai->cpus[ai->ncpus].x2apic = x2;
	ai->cpus[ai->ncpus].enabled = (flags & MADT_CPU_ENABLED) != 0;
	ai->ncpus++;
}

static void
add_nmi(struct acpi_info *ai, uint32_t uid, uint8_t lint, uint16_t flags)
{
	if (ai->nnmis >= ACPI_MAX_NMIS)
		return;
	ai->nmis[ai->nnmis].uid = uid;
	ai->nmis[ai->nnmis].lint = lint;
	ai->nmis[ai->nnmis].flags = flags;
	ai->nnmis++;
}

/* Minimum length of each MADT entry type we read. */
static uint8_t
madt_min_len(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC: return 8;
	case MADT_IOAPIC: return 12;
	case MADT_ISO: return 10;
	case MADT_NMI_SRC: return 8;
	case MADT_LAPIC_NMI: return 6;
	case MADT_LAPIC_OVR: return 12;
	case MADT_X2APIC: return 16;
	case MADT_X2APIC_NMI: return 12;
	default: return 2;
	}
}

static void
parse_madt(struct acpi_info *ai, const uint8_t *t, uint32_t len)
{
	uint32_t off, nbadent = 0;

	if (len < MADT_ENTRIES) {
		log_warn("acpi", "APIC: length %u too short, ignored", len);
		ai->nbad++;
		return;
	}
	ai->madt_present = true;
	ai->lapic_addr = fw_le32(t + MADT_LAPIC_ADDR);
	ai->pcat_compat = (fw_le32(t + MADT_FLAGS) & 1) != 0;

	for (off = MADT_ENTRIES; off + 2 <= len;) {
		const uint8_t *e = t + off;
		uint8_t type = e[0], elen = e[1];

		if (elen < 2 || off + elen > len) {
			log_warn("acpi", "APIC: entry type %u at +%u has length %u past the end (%u), rest ignored",
			    type, off, elen, len);
			nbadent++;
			break;
		}
		off += elen;
		if (elen < madt_min_len(type)) {
			log_warn("acpi", "APIC: entry type %u length %u too short, skipped",
			    type, elen);
			nbadent++;
			continue;
		}
		switch (type) {
		case MADT_LAPIC:
			add_cpu(ai, e[3], e[2], false, fw_le32(e + 4));
			break;
		case MADT_X2APIC:
			add_cpu(ai, fw_le32(e + 4), fw_le32(e + 12), true,
			    fw_le32(e + 8));
			break;
		case MADT_IOAPIC:
			if (ai->nioapics < ACPI_MAX_IOAPICS) {
				struct acpi_ioapic *io = &ai->ioapics[ai->nioapics++];
				io->id = e[2];
				io->addr = fw_le32(e + 4);
				io->gsi_base = fw_le32(e + 8);
			}
			break;
		case MADT_ISO:
			if (ai->nisos < ACPI_MAX_ISOS) {
				struct acpi_iso *is = &ai->isos[ai->nisos++];
				is->bus = e[2];
				is->irq = e[3];
				is->gsi = fw_le32(e + 4);
				is->flags = fw_le16(e + 8);
			}
			break;
		case MADT_LAPIC_NMI:
			add_nmi(ai, e[2] == 0xff ? 0xffffffffu : e[2], e[5],
			    fw_le16(e + 3));
			break;
		case MADT_X2APIC_NMI:
			add_nmi(ai, fw_le32(e + 4), e[8], fw_le16(e + 2));
			break;
		case MADT_LAPIC_OVR:
			ai->lapic_addr = fw_le64(e + 4);
			break;
		default:
			break;	/* NMI sources, GIC, ...: not used on x86 guests */
		}
	}
	log_debug("acpi", "APIC: lapic=0x%llx cpus=%u (entries %u) ioapics=%u isos=%u nmis=%u pcat=%d%s",
	    (ull)ai->lapic_addr, ai->ncpus, ai->ncpus_seen, ai->nioapics,
	    ai->nisos, ai->nnmis, ai->pcat_compat,
	    nbadent ? " (malformed entries skipped)" : "");
}

/* A legacy I/O port block (u32 port) as a GAS; 0 stays "not present". */
static void
io_gas(struct acpi_gas *g, uint32_t port, uint8_t bytes)
{
	memset(g, 0, sizeof(*g));
	if (port == 0 || port > 0xffff)
		return;
	g->space = ACPI_SPACE_IO;
	g->bit_width = (uint8_t)(bytes * 8);
	g->addr = port;
}

static bool
gas_usable(const struct acpi_gas *g)
{
	if (g->addr == 0)
		return false;
	if (g->space == ACPI_SPACE_IO)
		return g->addr <= 0xffff;
	return g->space == ACPI_SPACE_MEM || g->space == ACPI_SPACE_PCI;
}

static void
parse_dsdt_like(struct acpi_info *ai, const uint8_t *t, uint32_t len,
    bool is_dsdt)
{
	const uint8_t *aml = t + SDT_HDR_SIZE;
	uint32_t alen = len - SDT_HDR_SIZE;

	if (is_dsdt && acpi_aml_find_s5(aml, alen, &ai->slp_typa,
	    &ai->slp_typb))
		ai->s5_valid = true;
	if (acpi_aml_has_vmbus(aml, alen))
		ai->vmbus_present = true;
}

static void
parse_fadt(const struct fw_mem *mem, struct acpi_info *ai, const uint8_t *t,
    uint32_t len, uint64_t pa)
{
	uint64_t dsdt_pa = 0;
	const uint8_t *d = NULL;

	/* ACPI 1.0 FADTs are 116 bytes; we need at least up to FLAGS. */
	if (len < FADT_FLAGS + 4) {
		log_warn("acpi", "FACP: length %u too short, ignored", len);
		ai->nbad++;
		return;
	}
	ai->fadt_present = true;
	table_ident(&ai->fadt, t, pa);
	ai->fadt_flags = fw_le32(t + FADT_FLAGS);
	ai->sci_irq = fw_le16(t + FADT_SCI_INT);
	ai->boot_arch = fw_le16(t + FADT_IAPC_BOOT_ARCH);
	ai->hw_reduced = (ai->fadt_flags & FADT_F_HW_REDUCED) != 0;
	ai->pm_timer_32bit = (ai->fadt_flags & FADT_F_TMR_VAL_EXT) != 0;

	/* Legacy port blocks first; the X_ fields override when present. */
	if (t[FADT_PM_TMR_LEN] >= 4)
		io_gas(&ai->pm_timer, fw_le32(t + FADT_PM_TMR_BLK), 4);
	io_gas(&ai->pm1a_cnt, fw_le32(t + FADT_PM1A_CNT_BLK), t[FADT_PM1_CNT_LEN]);
	io_gas(&ai->pm1b_cnt, fw_le32(t + FADT_PM1B_CNT_BLK), t[FADT_PM1_CNT_LEN]);
	if (len >= FADT_RESET_VALUE + 1) {
		read_gas(&ai->reset_reg, t + FADT_RESET_REG);
		ai->reset_value = t[FADT_RESET_VALUE];
		ai->reset_supported = (ai->fadt_flags & FADT_F_RESET_REG_SUP) &&
		    gas_usable(&ai->reset_reg);
	}
	if (len >= FADT_X_PM1A_CNT_BLK + GAS_SIZE) {
		struct acpi_gas g;
		read_gas(&g, t + FADT_X_PM1A_CNT_BLK);
		if (gas_usable(&g))
			ai->pm1a_cnt = g;
	}
	if (len >= FADT_X_PM1B_CNT_BLK + GAS_SIZE) {
		struct acpi_gas g;
		read_gas(&g, t + FADT_X_PM1B_CNT_BLK);
		if (gas_usable(&g))
			ai->pm1b_cnt = g;
	}
	if (len >= FADT_X_PM_TMR_BLK + GAS_SIZE) {
		struct acpi_gas g;
		read_gas(&g, t + FADT_X_PM_TMR_BLK);
		if (gas_usable(&g))
			ai->pm_timer = g;
	}

	/* DSDT: X_DSDT when present and valid, else the 32-bit pointer. */
	if (len >= FADT_X_DSDT + 8)
		dsdt_pa = fw_le64(t + FADT_X_DSDT);
	if (dsdt_pa != 0)
		d = load_table(mem, ai, dsdt_pa, "DSDT", "FACP.X_DSDT");
	if (d == NULL && fw_le32(t + FADT_DSDT) != 0 &&
	    fw_le32(t + FADT_DSDT) != dsdt_pa) {
		dsdt_pa = fw_le32(t + FADT_DSDT);
		d = load_table(mem, ai, dsdt_pa, "DSDT", "FACP.DSDT");
	}
	if (d != NULL) {
		table_ident(&ai->dsdt, d, dsdt_pa);
		parse_dsdt_like(ai, d, ai->dsdt.len, true);
		log_debug("acpi", "DSDT pa=0x%llx len=%u rev=%u oem=%s id=%s s5=%s vmbus=%d",
		    (ull)dsdt_pa, ai->dsdt.len, ai->dsdt.rev, ai->dsdt.oem,
		    ai->dsdt.table_id, ai->s5_valid ? "yes" : "no",
		    ai->vmbus_present);
	}
	log_debug("acpi", "FACP: pm_timer=%s:0x%llx%s pm1a_cnt=0x%llx reset=%s:0x%llx/0x%x sci=%u flags=0x%x boot_arch=0x%x",
	    ai->pm_timer.space == ACPI_SPACE_IO ? "io" : "mem",
	    (ull)ai->pm_timer.addr, ai->pm_timer_32bit ? "(32)" : "(24)",
	    (ull)ai->pm1a_cnt.addr,
	    ai->reset_reg.space == ACPI_SPACE_IO ? "io" :
	    ai->reset_reg.space == ACPI_SPACE_PCI ? "pci" : "mem",
	    (ull)ai->reset_reg.addr, ai->reset_value, ai->sci_irq,
	    ai->fadt_flags, ai->boot_arch);
}

static void
parse_mcfg(struct acpi_info *ai, const uint8_t *t, uint32_t len)
{
	for (uint32_t off = MCFG_ENTRIES; off + MCFG_ENTRY_SIZE <= len;
	    off += MCFG_ENTRY_SIZE) {
		const uint8_t *e = t + off;
		struct acpi_mcfg *m;

		if (e[10] > e[11] || fw_le64(e) == 0) {
			log_warn("acpi", "MCFG: entry at +%u (buses %u-%u) invalid, skipped",
			    off, e[10], e[11]);
			continue;
		}
		if (ai->nmcfg >= ACPI_MAX_MCFG)
			break;
		m = &ai->mcfg[ai->nmcfg++];
		m->base = fw_le64(e);
		m->segment = fw_le16(e + 8);
		m->bus_start = e[10];
		m->bus_end = e[11];
		log_debug("acpi", "MCFG: seg %u buses %02x-%02x ecam=0x%llx",
		    m->segment, m->bus_start, m->bus_end, (ull)m->base);
	}
}

static void
parse_hpet(struct acpi_info *ai, const uint8_t *t, uint32_t len)
{
	struct acpi_gas g;

	if (len < HPET_SIZE) {
		log_warn("acpi", "HPET: length %u too short, ignored", len);
		ai->nbad++;
		return;
	}
	read_gas(&g, t + HPET_BASE);
	if (g.space != ACPI_SPACE_MEM || g.addr == 0 || (g.addr & 0x3ff)) {
		log_warn("acpi", "HPET: base %u:0x%llx unusable, ignored",
		    g.space, (ull)g.addr);
		ai->nbad++;
		return;
	}
	ai->hpet_present = true;
	ai->hpet_base = g.addr;
	ai->hpet_block_id = fw_le32(t + HPET_BLOCK_ID);
	log_debug("acpi", "HPET: base=0x%llx id=0x%08x", (ull)ai->hpet_base,
	    ai->hpet_block_id);
}

static void
parse_spcr(struct acpi_info *ai, const uint8_t *t, uint32_t len)
{
	static const uint32_t bauds[8] = { 0, 0, 0, 9600, 19200, 0, 57600, 115200 };

	if (len < SPCR_MIN_SIZE) {
		log_warn("acpi", "SPCR: length %u too short, ignored", len);
		ai->nbad++;
		return;
	}
	ai->spcr_present = true;
	ai->spcr_iface = t[SPCR_IFACE];
	read_gas(&ai->spcr_base, t + SPCR_BASE);
	ai->spcr_irq = t[SPCR_IRQ];
	ai->spcr_gsi = fw_le32(t + SPCR_GSI);
	ai->spcr_baud = t[SPCR_BAUD] < 8 ? bauds[t[SPCR_BAUD]] : 0;
	log_debug("acpi", "SPCR: type=%u base=%u:0x%llx irq=%u gsi=%u baud=%u",
	    ai->spcr_iface, ai->spcr_base.space, (ull)ai->spcr_base.addr,
	    ai->spcr_irq, ai->spcr_gsi, ai->spcr_baud);
}

/* ---- root walk --------------------------------------------------------- */

static bool
seen_pa(const struct acpi_info *ai, uint64_t pa)
{
	if (pa == ai->root.pa || pa == ai->dsdt.pa)
		return true;
	for (uint32_t i = 0; i < ai->ntables; i++)
		if (ai->tables[i].pa == pa)
			return true;
	return false;
}

static void
walk_root(const struct fw_mem *mem, struct acpi_info *ai, const uint8_t *root,
    uint32_t len, unsigned entsize)
{
	uint32_t n = (len - SDT_HDR_SIZE) / entsize;

	if (n > ACPI_MAX_ROOT_ENTRIES) {
		log_warn("acpi", "%s: %u entries, only the first %u used",
		    ai->root.sig, n, ACPI_MAX_ROOT_ENTRIES);
		ai->nskipped += n - ACPI_MAX_ROOT_ENTRIES;
		n = ACPI_MAX_ROOT_ENTRIES;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = root + SDT_HDR_SIZE + i * entsize;
		uint64_t pa = entsize == 8 ? fw_le64(e) : fw_le32(e);
		const uint8_t *t;
		struct acpi_table id;

		if (pa == 0) {
			log_warn("acpi", "%s entry %u is null, skipped", ai->root.sig, i);
			ai->nbad++;
			continue;
		}
		if (seen_pa(ai, pa)) {
			log_warn("acpi", "%s entry %u (0x%llx) listed twice, skipped",
			    ai->root.sig, i, (ull)pa);
			ai->nskipped++;
			continue;
		}
		t = load_table(mem, ai, pa, NULL, ai->root.sig);
		if (t == NULL)
			continue;
		table_ident(&id, t, pa);
		if (ident_is(id.sig, "RSDT") || ident_is(id.sig, "XSDT") ||
		    ident_is(id.sig, "DSDT")) {
			/* A root table listing a root table is a loop; the
			   DSDT is reached only through the FADT. */
			log_warn("acpi", "%s entry %u is a %s, skipped",
			    ai->root.sig, i, id.sig);
			ai->nskipped++;
			continue;
		}
		if (ai->ntables >= ACPI_MAX_TABLES) {
			ai->nskipped++;
			continue;
		}
		ai->tables[ai->ntables++] = id;
		log_debug("acpi", "%s pa=0x%llx len=%u rev=%u oem=%s id=%s",
		    id.sig, (ull)pa, id.len, id.rev, id.oem, id.table_id);

		if (ident_is(id.sig, "FACP")) {
			if (ai->fadt_present)
				log_warn("acpi", "second FACP ignored");
			else
				parse_fadt(mem, ai, t, id.len, pa);
		} else if (ident_is(id.sig, "APIC")) {
			if (ai->madt_present)
				log_warn("acpi", "second APIC ignored");
			else
				parse_madt(ai, t, id.len);
		} else if (ident_is(id.sig, "MCFG")) {
			parse_mcfg(ai, t, id.len);
		} else if (ident_is(id.sig, "HPET")) {
			if (!ai->hpet_present)
				parse_hpet(ai, t, id.len);
		} else if (ident_is(id.sig, "SPCR")) {
			if (!ai->spcr_present)
				parse_spcr(ai, t, id.len);
		} else if (ident_is(id.sig, "SSDT")) {
			parse_dsdt_like(ai, t, id.len, false);
		}
	}
}

/* Validate and use one root table; false if it is unusable. */
static bool
use_root(const struct fw_mem *mem, struct acpi_info *ai, uint64_t pa,
    bool xsdt)
{
	const uint8_t *t;

	if (pa == 0)
		return false;
	t = load_table(mem, ai, pa, xsdt ? "XSDT" : "RSDT", "RSDP");
	if (t == NULL)
		return false;
	table_ident(&ai->root, t, pa);
	ai->root_is_xsdt = xsdt;
	log_debug("acpi", "%s pa=0x%llx len=%u rev=%u oem=%s id=%s entries=%u",
	    ai->root.sig, (ull)pa, ai->root.len, ai->root.rev, ai->root.oem,
	    ai->root.table_id, (ai->root.len - SDT_HDR_SIZE) / (xsdt ? 8 : 4));
	walk_root(mem, ai, t, ai->root.len, xsdt ? 8 : 4);
	return true;
}

int
acpi_parse(const struct fw_mem *mem, uint64_t rsdp_pa, struct acpi_info *ai)
{
	const uint8_t *r;
	uint64_t xsdt = 0;
	uint32_t rsdt;

	memset(ai, 0, sizeof(*ai));
	if (rsdp_pa == 0) {
		log_warn("acpi", "no RSDP from the loader: running without ACPI");
		return TERN_ENOENT;
	}
	r = fw_map(mem, rsdp_pa, RSDP_V1_SIZE);
	if (r == NULL || memcmp(r, "RSD PTR ", 8) != 0 ||
	    fw_sum8(r, RSDP_V1_SIZE) != 0) {
		log_warn("acpi", "RSDP at 0x%llx unreadable, bad signature or checksum: running without ACPI",
		    (ull)rsdp_pa);
		return TERN_EINVAL;
	}
	ai->rsdp_rev = r[RSDP_REVISION];
	copy_ident(ai->rsdp_oem, r + RSDP_OEMID, 6);
	rsdt = fw_le32(r + RSDP_RSDT);
	if (ai->rsdp_rev >= 2) {
		uint32_t rlen = fw_le32(r + RSDP_LENGTH);
		const uint8_t *r2 = NULL;

		if (rlen >= RSDP_V2_SIZE && rlen <= 4096)
			r2 = fw_map(mem, rsdp_pa, rlen);
		if (r2 != NULL && fw_sum8(r2, rlen) == 0)
			xsdt = fw_le64(r2 + RSDP_XSDT);
		else
			log_warn("acpi", "RSDP rev %u: extended length %u or checksum bad, using the RSDT",
			    ai->rsdp_rev, rlen);
	}
	log_debug("acpi", "RSDP pa=0x%llx rev=%u oem=%s rsdt=0x%x xsdt=0x%llx",
	    (ull)rsdp_pa, ai->rsdp_rev, ai->rsdp_oem, rsdt, (ull)xsdt);

	if (xsdt != 0 && use_root(mem, ai, xsdt, true)) {
		ai->valid = true;
	} else {
		if (xsdt != 0)
			log_warn("acpi", "XSDT unusable, falling back to the RSDT");
		if (use_root(mem, ai, rsdt, false))
			ai->valid = true;
	}
	if (!ai->valid) {
		log_warn("acpi", "no usable RSDT/XSDT: running without ACPI");
		return TERN_EINVAL;
	}
	if (ai->fadt_present && !ai->s5_valid && !ai->hw_reduced)
		log_debug("acpi", "no \\_S5 package found: ACPI power-off unavailable");
	return TERN_OK;
}

const struct acpi_table *
acpi_find(const struct acpi_info *ai, const char sig[4])
{
	for (uint32_t i = 0; i < ai->ntables; i++)
		if (memcmp(ai->tables[i].sig, sig, 4) == 0)
			return &ai->tables[i];
	if (ai->dsdt.pa != 0 && memcmp("DSDT", sig, 4) == 0)
		return &ai->dsdt;
	return NULL;
}

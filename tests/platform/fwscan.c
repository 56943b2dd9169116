/*
 * fwscan.c - run the ACPI, SMBIOS and platform code over a raw dump of
 * guest physical memory (QEMU monitor: pmemsave 0 <size> "file").  Finds
 * the RSDP and SMBIOS anchors by scanning (RSDP: 4-byte, SMBIOS: 16-byte boundaries), parses, and
 * prints the TERN PLATFORM line the kernel would print with the given
 * CPUID signature.  A debugging aid for real firmware tables:
 *   build/tools/fwscan mem.bin [TCGTCGTCGTCG] [-o fixture.bin]
 * (TERN_TEST_VERBOSE=1 for logs).  With -o it writes the firmware tables
 * it used as a region fixture ("TFW1", then records u64 pa, u32 len,
 * bytes) that tests/platform/fw_regions.c loads.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/acpi/acpi.h"
#include "kernel/platform/platform.h"
#include "kernel/smbios/smbios.h"

struct dump {
	const uint8_t *p;
	size_t size;
};

static const void *
dump_map(void *ctx, uint64_t pa, size_t len)
{
	struct dump *d = ctx;

	if (pa < 0x1000 || pa + len < pa || pa + len > d->size)
		return NULL;
	return d->p + pa;
}

static FILE *fix;

static void
emit(const struct dump *d, uint64_t pa, uint64_t len)
{
	uint32_t l = (uint32_t)len;

	if (fix == NULL || pa == 0 || len == 0 || pa + len > d->size)
		return;
	fwrite(&pa, 8, 1, fix);
	fwrite(&l, 4, 1, fix);
	fwrite(d->p + pa, 1, l, fix);
}

int
main(int argc, char **argv)
{
	struct dump d;
	struct fw_mem mem = { dump_map, &d };
	struct stat st;
	static struct acpi_info ai;
	struct smbios_info si;
	struct platform_evidence ev;
	struct platform_result r;
	uint64_t rsdp = 0, smb = 0;
	char line[256];
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: %s <memory dump> [cpuid signature]\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	d.size = (size_t)st.st_size;
	d.p = mmap(NULL, d.size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (d.p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (argc > 4 && strcmp(argv[3], "-o") == 0) {
		fix = fopen(argv[4], "wb");
		if (fix == NULL) {
			perror(argv[4]);
			return 1;
		}
		fwrite("TFW1", 4, 1, fix);
	}
	for (size_t off = 0x1000; off + 36 <= d.size; off += 4) {
		/* Prefer the ACPI 2.0 RSDP when the firmware has both. */
		if (memcmp(d.p + off, "RSD PTR ", 8) == 0 &&
		    fw_sum8(d.p + off, 20) == 0 &&
		    (rsdp == 0 || d.p[off + 15] > d.p[rsdp + 15]))
			rsdp = off;
		/* Firmware code also contains the anchor strings: only an
		   entry point that parses counts. */
		if (smb == 0 && off % 16 == 0 && (memcmp(d.p + off, "_SM3_", 5) == 0 ||
		    memcmp(d.p + off, "_SM_", 4) == 0) &&
		    smbios_parse(&mem, off, 0, &si) == 0)
			smb = off;
	}
	printf("rsdp 0x%llx smbios 0x%llx\n", (unsigned long long)rsdp,
	    (unsigned long long)smb);
	acpi_parse(&mem, rsdp, &ai);
	smbios_parse(&mem, smb, 0, &si);
	printf("acpi: valid %d root %s oem %s/%s tables %u bad %u skipped %u cpus %u ioapics %u isos %u mcfg %u hpet %d pm_timer 0x%llx s5 %d (%u,%u) reset %d vmbus %d\n",
	    ai.valid, ai.root.sig, ai.root.oem, ai.root.table_id, ai.ntables,
	    ai.nbad, ai.nskipped, ai.ncpus, ai.nioapics, ai.nisos, ai.nmcfg,
	    ai.hpet_present, (unsigned long long)ai.pm_timer.addr, ai.s5_valid,
	    ai.slp_typa, ai.slp_typb, ai.reset_supported, ai.vmbus_present);
	for (uint32_t i = 0; i < ai.ntables; i++)
		printf("  %s %s %s len %u\n", ai.tables[i].sig, ai.tables[i].oem,
		    ai.tables[i].table_id, ai.tables[i].len);
	printf("dsdt %s %s; fadt %s %s\n", ai.dsdt.oem, ai.dsdt.table_id,
	    ai.fadt.oem, ai.fadt.table_id);
	printf("smbios: valid %d %u.%u structs %u bad %u bios \"%s\" \"%s\" sys \"%s\" \"%s\" uuid %s chassis \"%s\"\n",
	    si.valid, si.major, si.minor, si.nstructs, si.nbad, si.bios_vendor,
	    si.bios_version, si.sys_vendor, si.sys_product,
	    si.has_uuid ? si.sys_uuid : "-", si.chassis_asset_tag);
	memset(&ev, 0, sizeof(ev));
	if (argc > 2) {
		ev.cpuid_hv_bit = true;
		ev.nsigs = 1;
		ev.sigs[0].leaf = 0x40000000;
		strncpy(ev.sigs[0].sig, argv[2], 12);
	}
	platform_collect_fw(&ev, &ai, &si);
	platform_classify(&ev, &r);
	platform_format(line, sizeof(line), &ev, &r);
	printf("TERN %s\n", line);
	if (fix != NULL) {
		const uint8_t *rp = d.p + rsdp;
		emit(&d, rsdp, rp[15] >= 2 ? 36 : 20);
		emit(&d, fw_le32(rp + 16), fw_le32(d.p + fw_le32(rp + 16) + 4));
		if (rp[15] >= 2 && fw_le64(rp + 24) != 0)
			emit(&d, fw_le64(rp + 24), fw_le32(d.p + fw_le64(rp + 24) + 4));
		for (uint32_t i = 0; i < ai.ntables; i++)
			emit(&d, ai.tables[i].pa, ai.tables[i].len);
		emit(&d, ai.dsdt.pa, ai.dsdt.len);
		emit(&d, smb, d.p[smb + 5] == 0x18 || memcmp(d.p + smb, "_SM3_", 5) == 0 ?
		    0x18 : 0x1f);
		emit(&d, si.table_pa, si.table_len);
		fclose(fix);
	}
	return 0;
}

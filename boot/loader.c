/*
 * loader.c - tern's UEFI loader: efi_main and the boot sequence of
 * docs/boot.md.
 *
 *   1. note the TSC, set up output (ConOut + COM1);
 *   2. read \tern\kernel.elf from our own volume, validate it (elf.c) and
 *      copy it into one contiguous allocation;
 *   3. read the command line (\tern\cmdline, overridden by fw_cfg
 *      opt/tern/cmdline) and the optional workload package \tern\app.pkg;
 *   4. find the RSDP and SMBIOS entry points in the configuration table,
 *      and record the PCI BARs the firmware assigned (pcifw.c);
 *   5. build the handoff page tables, the stack and the bootinfo;
 *   6. ExitBootServices (retrying on a stale map key), translate the
 *      memory map (memmap.c), and jump to the kernel.
 * Any failure before step 6 prints a reason and a TERN FAIL marker and
 * returns an error to the firmware; nothing jumps into unchecked code.
 */
#include "boot/bootinfo.h"
#include "boot/elf.h"
#include "boot/loader.h"
#include "boot/memmap.h"
#include "boot/pcifw.h"

#define KERNEL_PATH	L"\\tern\\kernel.elf"
#define CMDLINE_PATH	L"\\tern\\cmdline"
#define APP_PATH	L"\\tern\\app.pkg"
#define KERNEL_MAX	(32ULL << 20)
#define APP_MAX		(64ULL << 20)
#define STACK_PAGES	16
#define MAP_SLACK	64	/* extra descriptors for allocations after sizing */
#define EBS_TRIES	8

void ldr_console_serial_only(void);

static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
static EFI_GUID acpi10_guid = ACPI_TABLE_GUID;
static EFI_GUID smbios3_guid = SMBIOS3_TABLE_GUID;
static EFI_GUID smbios_guid = SMBIOS_TABLE_GUID;

static uint64_t
rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * Read a whole file into fresh pages.  Returns EFI_NOT_FOUND when the file
 * does not exist, another error for I/O trouble or a file over `max`.
 */
static EFI_STATUS
read_file(EFI_FILE_HANDLE root, CHAR16 *path, UINT64 max, void **buf,
    UINT64 *size)
{
	EFI_FILE_HANDLE f;
	EFI_STATUS st;

	st = uefi_call_wrapper(root->Open, 5, root, &f, path, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return st;
	EFI_FILE_INFO *fi = LibFileInfo(f);
	if (fi == NULL) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_DEVICE_ERROR;
	}
	UINT64 sz = fi->FileSize;
	FreePool(fi);
	if (sz > max) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_BAD_BUFFER_SIZE;
	}
	UINTN pages = (sz + 4095) / 4096 + 1;
	uint8_t *b = ldr_alloc_pages_raw(pages);
	if (b == NULL) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_OUT_OF_RESOURCES;
	}
	UINTN n = sz;
	st = uefi_call_wrapper(f->Read, 3, f, &n, b);
	uefi_call_wrapper(f->Close, 1, f);
	if (EFI_ERROR(st))
		return st;
	if (n != sz)
		return EFI_END_OF_FILE;
	/* The file fills the buffer; only what follows it is zeroed. */
	for (UINTN i = sz; i < pages * 4096; i++)
		b[i] = 0;
	*buf = b;
	*size = sz;
	return EFI_SUCCESS;
}

/* Copy a command line, turning newlines/tabs into spaces and trimming. */
static void
set_cmdline(struct tern_bootinfo *bi, const char *s, uint64_t len, uint32_t src)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < len && s[i] != 0 && n < TERN_CMDLINE_MAX - 1; i++) {
		char c = s[i];
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		if (c < 0x20 || c > 0x7e)
			continue;
		bi->cmdline[n++] = c;
	}
	while (n > 0 && bi->cmdline[n - 1] == ' ')
		n--;
	bi->cmdline[n] = 0;
	bi->cmdline_source = src;
}

static void
find_tables(EFI_SYSTEM_TABLE *st, struct tern_bootinfo *bi)
{
	for (UINTN pass = 0; pass < 2; pass++) {
		for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
			EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];
			if (bi->rsdp == 0 && CompareGuid(&t->VendorGuid,
			    pass == 0 ? &acpi20_guid : &acpi10_guid) == 0) {
				bi->rsdp = (uint64_t)t->VendorTable;
				bi->rsdp_guid = pass == 0 ? 2 : 1;
			}
			if (bi->smbios == 0 && CompareGuid(&t->VendorGuid,
			    pass == 0 ? &smbios3_guid : &smbios_guid) == 0) {
				bi->smbios = (uint64_t)t->VendorTable;
				bi->smbios_kind = pass == 0 ? 3 : 2;
			}
		}
	}
}

/*
 * The BARs the firmware's PCI bus driver assigned, per function, so the
 * kernel need not size them again (bootinfo.h).  A function whose answer
 * is not understood gets no record; a failure here only costs the kernel
 * its own sizing, so nothing is fatal.
 */
static void
find_pci(struct tern_bootinfo *bi)
{
	EFI_HANDLE *h = NULL;
	UINTN nh = 0;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->LocateHandleBuffer, 5, ByProtocol,
	    &PciIoProtocol, NULL, &nh, &h);
	if (EFI_ERROR(st) || nh == 0)
		return;
	struct tern_pci_fw *recs = ldr_alloc_pages(
	    (TERN_PCI_FW_MAX * sizeof(*recs) + 4095) / 4096);
	if (recs == NULL) {
		FreePool(h);
		return;
	}
	uint32_t n = 0;
	for (UINTN i = 0; i < nh && n < TERN_PCI_FW_MAX; i++) {
		EFI_PCI_IO_PROTOCOL *io;
		UINTN seg, bus, dev, fn;
		struct tern_pci_fw *r = &recs[n];
		int ok = 1;

		st = uefi_call_wrapper(BS->HandleProtocol, 3, h[i], &PciIoProtocol,
		    (void **)&io);
		if (EFI_ERROR(st))
			continue;
		st = uefi_call_wrapper(io->GetLocation, 5, io, &seg, &bus, &dev, &fn);
		if (EFI_ERROR(st) || seg > 0xffff || bus > 0xff || dev > 31 || fn > 7)
			continue;
		r->seg = (uint16_t)seg;
		r->bus = (uint8_t)bus;
		r->dev = (uint8_t)dev;
		r->fn = (uint8_t)fn;
		for (UINT8 b = 0; b < 6 && ok; b++) {
			void *res = NULL;

			st = uefi_call_wrapper(io->GetBarAttributes, 4, io, b, NULL, &res);
			if (st == EFI_UNSUPPORTED) {
				/* Older PciBusDxe: a BAR it did not find.  (The
				   slot may hold a refused function's bytes.) */
				r->bar[b].type = TERN_PCI_FW_NONE;
				r->bar[b].prefetch = 0;
				r->bar[b].base = r->bar[b].size = 0;
				continue;
			}
			if (EFI_ERROR(st) || res == NULL ||
			    pcifw_bar(res, 3 + ACPI_DESC_QWORD_LEN + 2, &r->bar[b]) != 0)
				ok = 0;
			if (res != NULL)
				FreePool(res);
		}
		if (ok)
			n++;
	}
	FreePool(h);
	bi->pci_fw = (uint64_t)recs;
	bi->pci_fw_count = n;
}

static void __attribute__((noreturn))
jump(uint64_t pml4, uint64_t sp, uint64_t bi, uint64_t entry)
{
	__asm__ volatile(
	    "cli\n\t"
	    "mov %0, %%cr3\n\t"
	    "mov %1, %%rsp\n\t"
	    "mov %2, %%rdi\n\t"
	    "xor %%ebp, %%ebp\n\t"
	    "jmp *%3\n\t"
	    :: "r"(pml4), "r"(sp), "r"(bi), "r"(entry) : "memory");
	__builtin_unreachable();
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

EFI_STATUS
efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	uint64_t t0 = rdtsc();
	EFI_LOADED_IMAGE *li;
	EFI_STATUS st;

	InitializeLib(image, systab);
	ldr_console_init();
	ldr_puts("tern-loader: starting\n");

	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol,
	    (void **)&li);
	if (EFI_ERROR(st))
		return ldr_fail("no_loaded_image", "cannot get LoadedImage (%lx)",
		    (unsigned long)st);
	EFI_FILE_HANDLE root = LibOpenRoot(li->DeviceHandle);
	if (root == NULL)
		return ldr_fail("no_boot_volume", "cannot open the boot volume");

	/* The kernel. */
	void *kfile;
	UINT64 ksize;
	st = read_file(root, KERNEL_PATH, KERNEL_MAX, &kfile, &ksize);
	if (st == EFI_NOT_FOUND)
		return ldr_fail("kernel_not_found", "\\tern\\kernel.elf not found on the boot volume");
	if (EFI_ERROR(st))
		return ldr_fail("kernel_read_failed", "cannot read \\tern\\kernel.elf (%lx)",
		    (unsigned long)st);
	struct elf_image img;
	const char *why = elf_check(kfile, ksize, TERN_KERNEL_VBASE, &img);
	if (why != NULL)
		return ldr_fail(why, "\\tern\\kernel.elf is not a valid tern kernel: %s", why);
	UINT64 kpages = (img.hi - img.lo) / 4096;
	/* Not zeroed here: elf_load writes every byte of it. */
	void *kmem = ldr_alloc_pages_raw(kpages);
	if (kmem == NULL)
		return ldr_fail("no_memory", "no memory for a %lu KiB kernel",
		    (unsigned long)(kpages * 4));
	elf_load(kfile, &img, kmem);
	ldr_printf("tern-loader: kernel %lu bytes, %lu KiB at 0x%lx, entry 0x%lx\n",
	    (unsigned long)ksize, (unsigned long)(kpages * 4), (unsigned long)kmem,
	    (unsigned long)img.entry);

	struct tern_bootinfo *bi = ldr_alloc_pages((sizeof(*bi) + 4095) / 4096);
	/* A stack needs no clearing (the kernel moves to its own at once). */
	void *stack = ldr_alloc_pages_raw(STACK_PAGES);
	if (bi == NULL || stack == NULL)
		return ldr_fail("no_memory", "no memory for the boot information");
	bi->magic = TERN_BOOTINFO_MAGIC;
	bi->version = TERN_BOOTINFO_VERSION;
	bi->size = sizeof(*bi);
	bi->kernel_phys = (uint64_t)kmem;
	bi->kernel_virt = img.lo;
	bi->kernel_size = img.hi - img.lo;
	bi->hhdm_base = TERN_HHDM_BASE;
	bi->tsc_loader_start = t0;
	bi->boot_stack = (uint64_t)stack;
	bi->boot_stack_size = STACK_PAGES * 4096;

	/* Command line: the ESP file, then fw_cfg, which wins. */
	void *cbuf;
	UINT64 csize;
	if (read_file(root, CMDLINE_PATH, TERN_CMDLINE_MAX, &cbuf, &csize) == EFI_SUCCESS)
		set_cmdline(bi, cbuf, csize, TERN_CMDLINE_FILE);
	static char fwbuf[TERN_CMDLINE_MAX];
	int fwn = fwcfg_read_file("opt/tern/cmdline", fwbuf, sizeof(fwbuf));
	if (fwn >= 0)
		set_cmdline(bi, fwbuf, (uint64_t)fwn, TERN_CMDLINE_FWCFG);
	ldr_printf("tern-loader: command line \"%s\"\n", bi->cmdline);

	/* The workload package, when the image carries one. */
	void *abuf;
	UINT64 asize;
	st = read_file(root, APP_PATH, APP_MAX, &abuf, &asize);
	if (st == EFI_SUCCESS) {
		struct tern_module *m = &bi->modules[bi->module_count++];
		m->phys = (uint64_t)abuf;
		m->size = asize;
		CopyMem(m->name, "app.pkg", 8);
	} else if (st != EFI_NOT_FOUND) {
		return ldr_fail("app_read_failed", "cannot read \\tern\\app.pkg (%lx)",
		    (unsigned long)st);
	}

	find_tables(systab, bi);
	find_pci(bi);
	if (bi->rsdp == 0)
		ldr_puts("tern-loader: warning: no ACPI RSDP in the configuration table\n");

	ldr_place_done();
	/* Size the memory map to decide how much to map. */
	UINTN msize = 0, key, dsize;
	UINT32 dver;
	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &msize, NULL, &key, &dsize, &dver);
	if (st != EFI_BUFFER_TOO_SMALL || dsize < EFI_DESC_MIN_SIZE)
		return ldr_fail("memory_map_failed", "GetMemoryMap sizing failed (%lx)",
		    (unsigned long)st);
	msize += MAP_SLACK * dsize;
	UINTN mpages = (msize + 4095) / 4096;
	void *mbuf = ldr_alloc_pages(mpages);
	UINTN maxr = mpages * 4096 / dsize + 1;
	struct tern_mem_range *ranges = ldr_alloc_pages(
	    (maxr * sizeof(*ranges) + 4095) / 4096);
	if (mbuf == NULL || ranges == NULL)
		return ldr_fail("no_memory", "no memory for the memory map");
	UINTN sz = mpages * 4096;
	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &sz, mbuf, &key, &dsize, &dver);
	if (EFI_ERROR(st))
		return ldr_fail("memory_map_failed", "GetMemoryMap failed (%lx)",
		    (unsigned long)st);
	uint64_t top;
	memmap_translate(mbuf, sz, dsize, ranges, maxr, &top);
	uint64_t limit = (top + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);
	if (limit < (4ULL << 30))
		limit = 4ULL << 30;
	bi->map_limit = limit;

	uint64_t pml4 = ldr_build_tables(limit, img.lo, img.hi, (uint64_t)kmem);
	if (pml4 == 0)
		return ldr_fail("no_memory", "no memory for page tables");
	bi->boot_pml4 = pml4;
	bi->mem_map = (uint64_t)ranges;
	ldr_printf("tern-loader: starting kernel (map limit %lu GiB, %u of %u "
	    "buffers in used memory)\n", (unsigned long)(limit >> 30),
	    ldr_placed, ldr_place_tries);

	/*
	 * ExitBootServices.  Any allocation (even by the firmware itself, e.g.
	 * a timer event) changes the map key, so fetch the map again and retry
	 * a bounded number of times.  Nothing may allocate in between.
	 */
	for (int tries = 0; ; tries++) {
		sz = mpages * 4096;
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &sz, mbuf, &key, &dsize, &dver);
		if (EFI_ERROR(st))
			return ldr_fail("memory_map_failed", "GetMemoryMap failed (%lx)",
			    (unsigned long)st);
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
		if (st == EFI_SUCCESS)
			break;
		if (st != EFI_INVALID_PARAMETER || tries + 1 >= EBS_TRIES)
			return ldr_fail("exit_boot_services_failed",
			    "ExitBootServices failed (%lx) after %d tries",
			    (unsigned long)st, tries + 1);
	}
	/* Boot services are gone: serial only, no allocation from here on. */
	ldr_console_serial_only();
	bi->mem_count = (uint32_t)memmap_translate(mbuf, sz, dsize, ranges, maxr, &top);
	bi->tsc_handoff = rdtsc();
	jump(pml4, TERN_HHDM_BASE + (uint64_t)stack + STACK_PAGES * 4096,
	    (uint64_t)bi, img.entry);
}

/*
 * memattr_test.c - test=memattr (issue 14): the boot-time check of
 * memory attributes and of the executable page, on real (QEMU) paging.
 *
 *  - IA32_PAT must read back the layout vm_init programmed (entry 1 WC);
 *  - a write-combining window (the first display controller's BAR 0, a
 *    framebuffer, the kind of memory WC is for) is mapped with
 *    mmio_map_attr(MMIO_WC), its PTE must select the WC entry, and two
 *    LLQ-sized blocks written with hw_write_block must read back;
 *  - exec_page_alloc must give a page that runs: it holds "rax = rcx +
 *    rdx + r8; ret", is installed as the hypercall page, and
 *    hw_hypercall(1, 2, 3) must return 6 (so the TLFS register
 *    convention of hw_hypercall is checked too); without a page
 *    hw_hypercall returns HW_HYPERCALL_NO_PAGE;
 *  - vm_wx_check then still finds no writable alias of executable code.
 * Prints "TERN MEMATTR pat=0x<pat> wc=<ok|...> exec=<ok|...>
 * hypercall=<ok|...>" (tests/integration/kernel_boot.sh).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hw/hw.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/pci/pci.h"

/* mov rax, rcx; add rax, rdx; add rax, r8; ret */
static const uint8_t add3[] = { 0x48, 0x89, 0xc8, 0x48, 0x01, 0xd0, 0x4c, 0x01,
	0xc0, 0xc3 };

static const char *
wc_check(struct hw_dev *hw)
{
	struct pci_dev *pd = NULL;
	for (uint32_t i = 0; i < pci_root.ndevs; i++) {
		if ((pci_root.devs[i].class >> 16) != 0x03)
			continue;
		pci_dev_load(&pci_root.devs[i]);	/* no driver sized it */
		if (pci_root.devs[i].bars[0].base != 0 &&
		    pci_root.devs[i].bars[0].size >= 4096) {
			pd = &pci_root.devs[i];
			break;
		}
	}
	if (pd == NULL)
		return "nodev";
	pci_enable(pd, false);
	struct hw_bar b = { .dev = hw, .pa = pd->bars[0].base, .len = 4096 };
	b.va = mmio_map_attr(b.pa, (size_t)b.len, MMIO_WC);
	if (b.va == NULL)
		return "nomap";
	if (vm_cache_attr((const void *)b.va) != MMIO_WC)
		return "notwc";
	uint64_t w[16];
	for (int i = 0; i < 16; i++)
		w[i] = 0x7465726e00000000ULL | (uint64_t)i * 0x01010101u;
	hw_write_block(&b, 0, w, 8);
	hw_write_block(&b, 64, w + 8, 8);
	for (uint32_t i = 0; i < 16; i++)
		if (hw_read64(&b, 8 * i) != w[i])
			return "readback";
	return "ok";
}

void
memattr_selftest(void)
{
	static struct hw_dev hw = { .name = "memattr" };
	const char *wc, *ex = "ok", *hc = "ok";
	uint64_t pa;

	hw.trace = hw_trace_wanted(hw.name);
	wc = vm_pat() != 0x0007040600070106ULL ? "nopat" : wc_check(&hw);

	void *page = exec_page_alloc(add3, sizeof(add3), &pa);
	if (page == NULL)
		ex = "nomem";
	else if (vm_cache_attr(page) != MMIO_WB || virt_to_phys(page) != pa)
		ex = "badmap";
	if (hw_hypercall(&hw, 1, 2, 3) != HW_HYPERCALL_NO_PAGE)
		hc = "nopage";
	if (page != NULL) {
		hw_hypercall_set_page(page);
		uint64_t r = hw_hypercall(&hw, 1, 2, 3);
		hw_hypercall_set_page(NULL);
		if (r != 6) {
			log_warn("test", "hypercall page returned %llu, not 6",
			    (unsigned long long)r);
			hc = "wrong";
		}
	}
	marker("MEMATTR pat=0x%016llx wc=%s exec=%s hypercall=%s",
	    (unsigned long long)vm_pat(), wc, ex, hc);
	vm_wx_check("memattr");
}

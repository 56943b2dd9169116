/*
 * test_platform.c - the platform classifier over every platform's
 * evidence (PROTOCOLS.md D.1-D.3), contradictory combinations, the marker
 * line format and sanitising, the feature gates and the CPUID scan, and
 * end to end from the ACPI/SMBIOS fixture sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/acpi/acpi.h"
#include "kernel/platform/platform.h"
#include "kernel/smbios/smbios.h"
#include "tests/platform/fake_fw.h"

static void
add_sig(struct platform_evidence *ev, uint32_t leaf, const char *sig,
    uint32_t iface, uint32_t feat)
{
	struct platform_sig *s = &ev->sigs[ev->nsigs++];

	memset(s, 0, sizeof(*s));
	s->leaf = leaf;
	s->max_leaf = leaf + 6;
	strncpy(s->sig, sig, sizeof(s->sig) - 1);
	s->iface = iface;
	s->features[0] = feat;
	ev->cpuid_hv_bit = true;
}

#define HV_ALL (HV_PRIV_HYPERCALL | HV_PRIV_REF_TSC | HV_PRIV_SYNIC)

static void cpu_hyperv(struct platform_evidence *ev) { add_sig(ev, 0x40000000, "Microsoft Hv", HV_IFACE_HV1, HV_ALL); }
static void cpu_kvm(struct platform_evidence *ev) { add_sig(ev, 0x40000000, "KVMKVMKVM", KVM_FEATURE_CLOCKSOURCE2, 0); }
static void cpu_tcg(struct platform_evidence *ev) { add_sig(ev, 0x40000000, "TCGTCGTCGTCG", 0, 0); }
static void cpu_xen(struct platform_evidence *ev) { add_sig(ev, 0x40000000, "XenVMMXenVMM", 0x0004000d, 0); }

static void
acpi_ids(struct platform_evidence *ev, const char *rsdp, const char *oem,
    const char *tid, const char *dsdt_oem, const char *dsdt_tid)
{
	strcpy(ev->rsdp_oem, rsdp);
	strcpy(ev->root_oem, oem);
	strcpy(ev->root_table_id, tid);
	strcpy(ev->fadt_oem, oem);
	strcpy(ev->fadt_table_id, tid);
	strcpy(ev->dsdt_oem, dsdt_oem);
	strcpy(ev->dsdt_table_id, dsdt_tid);
}

static void
smbios_ids(struct platform_evidence *ev, const char *vendor,
    const char *product, const char *asset)
{
	strcpy(ev->sys_vendor, vendor);
	strcpy(ev->sys_product, product);
	strcpy(ev->chassis_asset_tag, asset);
}

static void acpi_amazon(struct platform_evidence *ev) { acpi_ids(ev, "AMAZON", "AMAZON", "AMZNRSDT", "AMAZON", "AMZNDSDT"); }
static void acpi_gen2(struct platform_evidence *ev) { acpi_ids(ev, "VRTUAL", "VRTUAL", "MICROSFT", "MSFTVM", "DSDT01"); }
static void acpi_gen1(struct platform_evidence *ev) { acpi_ids(ev, "ACPIAM", "VRTUAL", "MICROSFT", "MSFTVM", "MSFTVM02"); }
static void acpi_qemu(struct platform_evidence *ev) { acpi_ids(ev, "BOCHS", "BOCHS", "BXPC", "BOCHS", "BXPC"); }
static void smb_amazon(struct platform_evidence *ev) { smbios_ids(ev, "Amazon EC2", "m5.large", "Amazon EC2"); }
static void smb_azure(struct platform_evidence *ev) { smbios_ids(ev, "Microsoft Corporation", "Virtual Machine", AZURE_ASSET_TAG); }
static void smb_hyperv(struct platform_evidence *ev) { smbios_ids(ev, "Microsoft Corporation", "Virtual Machine", "3153-1234"); }
static void smb_qemu(struct platform_evidence *ev) { smbios_ids(ev, "QEMU", "Standard PC (Q35 + ICH9, 2009)", ""); }
static void smb_xen(struct platform_evidence *ev) { smbios_ids(ev, "Xen", "HVM domU", ""); }

typedef void (*ev_fn)(struct platform_evidence *);

static void
check(ev_fn cpu, ev_fn acpi, ev_fn smb, int want, const char *note)
{
	struct platform_evidence ev;
	struct platform_result r;

	memset(&ev, 0, sizeof(ev));
	if (cpu)
		cpu(&ev);
	if (acpi)
		acpi(&ev);
	if (smb)
		smb(&ev);
	platform_classify(&ev, &r);
	if (r.name != want || strcmp(r.note, note) != 0)
		fail_msg("got name=%s note=\"%s\", want %s \"%s\"",
		    platform_name_str(r.name), r.note, platform_name_str(want),
		    note);
}

static void
test_consistent_platforms(void **state)
{
	check(cpu_kvm, acpi_amazon, smb_amazon, PLATFORM_NITRO, "");
	check(cpu_hyperv, acpi_gen2, smb_azure, PLATFORM_AZURE, "");
	check(cpu_hyperv, acpi_gen1, smb_azure, PLATFORM_AZURE, "");
	check(cpu_hyperv, acpi_gen2, smb_hyperv, PLATFORM_HYPERV, "");
	check(cpu_hyperv, acpi_gen1, smb_hyperv, PLATFORM_HYPERV, "");
	check(cpu_kvm, acpi_qemu, smb_qemu, PLATFORM_KVM, "");
	check(cpu_tcg, acpi_qemu, smb_qemu, PLATFORM_QEMU, "");
	check(cpu_xen, NULL, smb_xen, PLATFORM_XEN, "");
}

static void
test_partial_evidence(void **state)
{
	/* One source only. */
	check(NULL, NULL, NULL, PLATFORM_UNKNOWN, "");
	check(cpu_hyperv, NULL, NULL, PLATFORM_HYPERV, "");
	check(cpu_kvm, NULL, NULL, PLATFORM_KVM, "");
	check(cpu_tcg, NULL, NULL, PLATFORM_QEMU, "");
	check(cpu_xen, NULL, NULL, PLATFORM_XEN, "");
	check(cpu_kvm, acpi_amazon, NULL, PLATFORM_NITRO, "");
	check(cpu_kvm, NULL, smb_amazon, PLATFORM_NITRO, "");
	/* ACPI alone cannot tell Azure from Hyper-V. */
	check(cpu_hyperv, acpi_gen2, NULL, PLATFORM_HYPERV, "");
	check(cpu_tcg, acpi_qemu, NULL, PLATFORM_QEMU, "");
	/* EC2 metal: no hypervisor at all. */
	check(NULL, acpi_amazon, smb_amazon, PLATFORM_NITRO,
	    "firmware_amazon_cpuid_none");
}

static void
test_contradictions(void **state)
{
	/* The QEMU dressings under TCG. */
	check(cpu_tcg, acpi_amazon, smb_amazon, PLATFORM_NITRO,
	    "firmware_amazon_cpuid_tcg");
	check(cpu_tcg, acpi_gen2, smb_azure, PLATFORM_AZURE,
	    "firmware_azure_cpuid_tcg");
	check(cpu_kvm, acpi_gen2, smb_azure, PLATFORM_AZURE,
	    "firmware_azure_cpuid_kvm");
	check(cpu_hyperv, acpi_amazon, smb_amazon, PLATFORM_NITRO,
	    "firmware_amazon_cpuid_hyperv");
	/* ACPI and SMBIOS disagree: SMBIOS names the cloud. */
	check(cpu_tcg, acpi_amazon, smb_qemu, PLATFORM_QEMU,
	    "acpi_amazon_smbios_qemu");
	check(cpu_kvm, acpi_qemu, smb_amazon, PLATFORM_NITRO,
	    "acpi_qemu_smbios_amazon");
	check(cpu_tcg, acpi_qemu, smb_azure, PLATFORM_AZURE,
	    "acpi_qemu_smbios_azure,firmware_azure_cpuid_tcg");
	/* Microsoft ACPI with Azure SMBIOS is one family: no note. */
	check(cpu_hyperv, acpi_gen2, smb_azure, PLATFORM_AZURE, "");
	/* Xen CPUID under Amazon firmware: the old EC2 Xen fleet. */
	check(cpu_xen, acpi_amazon, smb_amazon, PLATFORM_XEN, "");
	check(cpu_hyperv, acpi_qemu, smb_qemu, PLATFORM_QEMU,
	    "firmware_qemu_cpuid_hyperv");
	check(NULL, acpi_qemu, smb_qemu, PLATFORM_QEMU,
	    "firmware_qemu_cpuid_none");
	check(cpu_kvm, NULL, smb_xen, PLATFORM_XEN, "firmware_xen_cpuid_kvm");
}

static void
test_stacked_hypervisors(void **state)
{
	struct platform_evidence ev;
	struct platform_result r;

	/* KVM with Hyper-V enlightenments: Hv#1 at the base, KVM above. */
	memset(&ev, 0, sizeof(ev));
	add_sig(&ev, 0x40000000, "Microsoft Hv", HV_IFACE_HV1, HV_ALL);
	add_sig(&ev, 0x40000100, "KVMKVMKVM", KVM_FEATURE_CLOCKSOURCE2, 0);
	acpi_qemu(&ev);
	smb_qemu(&ev);
	platform_classify(&ev, &r);
	assert_int_equal(r.name, PLATFORM_KVM);
	assert_string_equal(r.note, "");
	assert_true(platform_ev_hyperv_hypercalls(&ev));
	assert_true(platform_ev_kvmclock(&ev));

	/* Xen with Viridian. */
	memset(&ev, 0, sizeof(ev));
	add_sig(&ev, 0x40000000, "Microsoft Hv", HV_IFACE_HV1, HV_ALL);
	add_sig(&ev, 0x40000100, "XenVMMXenVMM", 0, 0);
	platform_classify(&ev, &r);
	assert_int_equal(r.name, PLATFORM_XEN);
}

static void
test_azure_tag_alone_and_vmbus(void **state)
{
	struct platform_evidence ev;
	struct platform_result r;

	memset(&ev, 0, sizeof(ev));
	cpu_hyperv(&ev);
	strcpy(ev.chassis_asset_tag, AZURE_ASSET_TAG);
	platform_classify(&ev, &r);
	assert_int_equal(r.name, PLATFORM_AZURE);

	/* Only a VMBus device in the DSDT: Microsoft firmware. */
	memset(&ev, 0, sizeof(ev));
	ev.acpi_vmbus = true;
	platform_classify(&ev, &r);
	assert_int_equal(r.name, PLATFORM_HYPERV);
	assert_string_equal(r.note, "firmware_microsoft_cpuid_none");

	/* A near-miss asset tag is on-premises Hyper-V. */
	memset(&ev, 0, sizeof(ev));
	cpu_hyperv(&ev);
	smbios_ids(&ev, "Microsoft Corporation", "Virtual Machine",
	    "7783-7084-3265-9085-8269-3286-7");
	platform_classify(&ev, &r);
	assert_int_equal(r.name, PLATFORM_HYPERV);
}

static void
test_gates(void **state)
{
	struct platform_evidence ev;

	/* Azure dressing on TCG: no Hyper-V instruction may run. */
	memset(&ev, 0, sizeof(ev));
	cpu_tcg(&ev);
	acpi_gen2(&ev);
	smb_azure(&ev);
	assert_false(platform_ev_hyperv_hypercalls(&ev));
	assert_false(platform_ev_hyperv_ref_tsc(&ev));
	assert_false(platform_ev_kvmclock(&ev));

	/* Microsoft Hv vendor string without Hv#1. */
	memset(&ev, 0, sizeof(ev));
	add_sig(&ev, 0x40000000, "Microsoft Hv", 0, HV_ALL);
	assert_false(platform_ev_hyperv_hypercalls(&ev));

	/* Hv#1 but no hypercall privilege. */
	memset(&ev, 0, sizeof(ev));
	add_sig(&ev, 0x40000000, "Microsoft Hv", HV_IFACE_HV1, HV_PRIV_REF_TSC);
	assert_false(platform_ev_hyperv_hypercalls(&ev));
	assert_true(platform_ev_hyperv_ref_tsc(&ev));

	/* Hv#1 only at a non-base leaf does not count. */
	memset(&ev, 0, sizeof(ev));
	add_sig(&ev, 0x40000100, "Microsoft Hv", HV_IFACE_HV1, HV_ALL);
	assert_false(platform_ev_hyperv_hypercalls(&ev));

	/* Max leaf too small to have read the feature leaf. */
	memset(&ev, 0, sizeof(ev));
	add_sig(&ev, 0x40000000, "Microsoft Hv", HV_IFACE_HV1, HV_ALL);
	ev.sigs[0].max_leaf = 0x40000001;
	assert_false(platform_ev_hyperv_hypercalls(&ev));

	memset(&ev, 0, sizeof(ev));
	cpu_hyperv(&ev);
	assert_true(platform_ev_hyperv_hypercalls(&ev));

	/* kvmclock needs a clocksource feature bit. */
	memset(&ev, 0, sizeof(ev));
	add_sig(&ev, 0x40000000, "KVMKVMKVM", 0, 0);
	assert_false(platform_ev_kvmclock(&ev));
	ev.sigs[0].iface = KVM_FEATURE_CLOCKSOURCE;
	assert_true(platform_ev_kvmclock(&ev));
}

static void
test_format(void **state)
{
	struct platform_evidence ev;
	struct platform_result r;
	char line[256];

	memset(&ev, 0, sizeof(ev));
	cpu_tcg(&ev);
	acpi_gen2(&ev);
	smb_azure(&ev);
	platform_classify(&ev, &r);
	platform_format(line, sizeof(line), &ev, &r);
	assert_string_equal(line, "PLATFORM name=azure cpuid=TCGTCGTCGTCG "
	    "acpi_oem=VRTUAL smbios_vendor=\"Microsoft Corporation\" "
	    "smbios_product=\"Virtual Machine\" note=firmware_azure_cpuid_tcg");

	memset(&ev, 0, sizeof(ev));
	platform_classify(&ev, &r);
	platform_format(line, sizeof(line), &ev, &r);
	assert_string_equal(line, "PLATFORM name=unknown cpuid=none acpi_oem=none "
	    "smbios_vendor=\"\" smbios_product=\"\"");

	/* Stacked signatures, RSDP OEM when the root has none, hostile
	   strings. */
	memset(&ev, 0, sizeof(ev));
	add_sig(&ev, 0x40000000, "Microsoft Hv", HV_IFACE_HV1, HV_ALL);
	add_sig(&ev, 0x40000100, "KVMKVMKVM", 0, 0);
	strcpy(ev.rsdp_oem, "BO HS=");
	strcpy(ev.sys_vendor, "Evil\" note=x\\");
	strcpy(ev.sys_product, "tab\there\x7f");
	platform_classify(&ev, &r);
	platform_format(line, sizeof(line), &ev, &r);
	assert_string_equal(line, "PLATFORM name=kvm cpuid=Microsoft_Hv+KVMKVMKVM "
	    "acpi_oem=BO_HS_ smbios_vendor=\"Evil' note=x'\" "
	    "smbios_product=\"tab?here?\"");

	/* Long values are cut at 40 characters; at most two signatures. */
	memset(&ev, 0, sizeof(ev));
	add_sig(&ev, 0x40000000, "Microsoft Hv", HV_IFACE_HV1, HV_ALL);
	add_sig(&ev, 0x40000100, "KVMKVMKVM", 0, 0);
	add_sig(&ev, 0x40000200, "AAAAAAAAAAAA", 0, 0);
	memset(ev.sys_vendor, 'v', 60);
	strcpy(ev.sys_product, "p");
	platform_classify(&ev, &r);
	platform_format(line, sizeof(line), &ev, &r);
	assert_string_equal(line, "PLATFORM name=kvm cpuid=Microsoft_Hv+KVMKVMKVM "
	    "acpi_oem=none smbios_vendor=\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\" "
	    "smbios_product=\"p\"");

	/* Truncation never overflows and stays terminated. */
	assert_int_equal(platform_format(line, 16, &ev, &r), 15);
	assert_int_equal(strlen(line), 15);
	assert_int_equal(platform_format(line, 0, &ev, &r), 0);
}

/* ---- CPUID scan -------------------------------------------------------- */

struct fake_cpu {
	int n;
	struct { uint32_t leaf, r[4]; } e[16];
	bool hv_bit;
	unsigned calls;
};

static uint32_t
w(const char *s)
{
	return (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 |
	    (uint32_t)(uint8_t)s[2] << 16 | (uint32_t)(uint8_t)s[3] << 24;
}

static void
fc_add(struct fake_cpu *f, uint32_t leaf, uint32_t a, uint32_t b, uint32_t c,
    uint32_t d)
{
	f->e[f->n].leaf = leaf;
	f->e[f->n].r[0] = a; f->e[f->n].r[1] = b;
	f->e[f->n].r[2] = c; f->e[f->n].r[3] = d;
	f->n++;
}

static void
fc_sig(struct fake_cpu *f, uint32_t leaf, uint32_t max, const char sig[12])
{
	fc_add(f, leaf, max, w(sig), w(sig + 4), w(sig + 8));
}

static void
fake_cpuid(void *ctx, uint32_t leaf, uint32_t r[4])
{
	struct fake_cpu *f = ctx;

	f->calls++;
	memset(r, 0, 4 * sizeof(uint32_t));
	if (leaf == 1) {
		r[2] = f->hv_bit ? 0x80000000u : 0;
		return;
	}
	for (int i = 0; i < f->n; i++)
		if (f->e[i].leaf == leaf)
			memcpy(r, f->e[i].r, sizeof(f->e[i].r));
}

static void
test_scan_cpuid(void **state)
{
	struct platform_evidence ev;
	struct fake_cpu f;

	/* No hypervisor bit: nothing is evidence, not even a signature. */
	memset(&f, 0, sizeof(f));
	fc_sig(&f, 0x40000000, 0x40000001, "KVMKVMKVM\0\0\0");
	memset(&ev, 0, sizeof(ev));
	platform_scan_cpuid(&ev, fake_cpuid, &f);
	assert_false(ev.cpuid_hv_bit);
	assert_int_equal(ev.nsigs, 0);

	/* Hyper-V: signature, Hv#1 and features from 0x40000003. */
	memset(&f, 0, sizeof(f));
	f.hv_bit = true;
	fc_sig(&f, 0x40000000, 0x4000000b, "Microsoft Hv");
	fc_add(&f, 0x40000001, HV_IFACE_HV1, 0, 0, 0);
	fc_add(&f, 0x40000003, 0x2e7f, 0x3b8030, 0, 0xbed7b2);
	/* Xen above it, and a garbage leaf that is not a signature. */
	fc_sig(&f, 0x40000100, 0x40000105, "XenVMMXenVMM");
	fc_add(&f, 0x40000200, 1, 0x01020304, 0xffffffff, 0);
	memset(&ev, 0, sizeof(ev));
	platform_scan_cpuid(&ev, fake_cpuid, &f);
	assert_true(ev.cpuid_hv_bit);
	assert_int_equal(ev.nsigs, 2);
	assert_string_equal(ev.sigs[0].sig, "Microsoft Hv");
	assert_int_equal(ev.sigs[0].iface, HV_IFACE_HV1);
	assert_int_equal(ev.sigs[0].features[0], 0x2e7f);
	assert_int_equal(ev.sigs[0].features[2], 0xbed7b2);
	assert_string_equal(ev.sigs[1].sig, "XenVMMXenVMM");
	assert_int_equal(ev.sigs[1].leaf, 0x40000100);
	assert_true(platform_ev_hyperv_hypercalls(&ev));

	/* A CPU repeating the same leaf everywhere counts once; at most
	   PLATFORM_MAX_SIGS different ones are kept. */
	memset(&f, 0, sizeof(f));
	f.hv_bit = true;
	fc_sig(&f, 0x40000000, 0, "KVMKVMKVM\0\0\0");
	fc_sig(&f, 0x40000100, 0, "KVMKVMKVM\0\0\0");
	fc_sig(&f, 0x40000200, 0, "AAAAAAAAAAAA");
	fc_sig(&f, 0x40000300, 0, "BBBBBBBBBBBB");
	fc_sig(&f, 0x40000400, 0, "CCCCCCCCCCCC");
	fc_sig(&f, 0x40000500, 0, "DDDDDDDDDDDD");
	fc_add(&f, 0x40000001, KVM_FEATURE_CLOCKSOURCE2, 0, 0, 0);
	memset(&ev, 0, sizeof(ev));
	platform_scan_cpuid(&ev, fake_cpuid, &f);
	assert_int_equal(ev.nsigs, PLATFORM_MAX_SIGS);
	assert_string_equal(ev.sigs[0].sig, "KVMKVMKVM");
	assert_string_equal(ev.sigs[1].sig, "AAAAAAAAAAAA");
	assert_true(platform_ev_kvmclock(&ev));
}

/* ---- end to end from the fixtures --------------------------------------- */

static void
test_end_to_end(void **state)
{
	struct fake_mem m;
	struct acpi_info *ai = malloc(sizeof(*ai));
	struct smbios_info si;
	struct smb_builder *b = calloc(1, sizeof(*b));
	struct platform_evidence ev;
	struct platform_result r;
	char line[256];

	fake_init(&m);
	assert_int_equal(acpi_parse(&m.fw, fixture_azure_gen2(&m), ai), 0);
	smb_platform(b, "Microsoft Corporation", "Hyper-V UEFI Release v4.1",
	    "Microsoft Corporation", "Virtual Machine", NULL, "None",
	    AZURE_ASSET_TAG);
	smb_end(b);
	assert_int_equal(smbios_parse(&m.fw, fake_smbios64(&m, b, 3, 1,
	    (uint32_t)b->len), 3, &si), 0);
	memset(&ev, 0, sizeof(ev));
	cpu_hyperv(&ev);
	platform_collect_fw(&ev, ai, &si);
	assert_true(ev.acpi_vmbus);
	assert_string_equal(ev.dsdt_oem, "MSFTVM");
	platform_classify(&ev, &r);
	platform_format(line, sizeof(line), &ev, &r);
	assert_string_equal(line, "PLATFORM name=azure cpuid=Microsoft_Hv "
	    "acpi_oem=VRTUAL smbios_vendor=\"Microsoft Corporation\" "
	    "smbios_product=\"Virtual Machine\"");
	fake_free(&m);

	/* Nitro with ACPI only (no SMBIOS). */
	fake_init(&m);
	assert_int_equal(acpi_parse(&m.fw, fixture_nitro(&m), ai), 0);
	memset(&ev, 0, sizeof(ev));
	cpu_kvm(&ev);
	platform_collect_fw(&ev, ai, NULL);
	platform_classify(&ev, &r);
	assert_int_equal(r.name, PLATFORM_NITRO);
	platform_format(line, sizeof(line), &ev, &r);
	assert_string_equal(line, "PLATFORM name=nitro cpuid=KVMKVMKVM "
	    "acpi_oem=AMAZON smbios_vendor=\"\" smbios_product=\"\"");
	fake_free(&m);

	/* Gen1: RSDP ACPIAM, root VRTUAL is printed. */
	fake_init(&m);
	assert_int_equal(acpi_parse(&m.fw, fixture_azure_gen1(&m), ai), 0);
	memset(&ev, 0, sizeof(ev));
	platform_collect_fw(&ev, ai, NULL);
	platform_classify(&ev, &r);
	assert_int_equal(r.name, PLATFORM_HYPERV);
	platform_format(line, sizeof(line), &ev, &r);
	assert_non_null(strstr(line, " acpi_oem=VRTUAL "));
	fake_free(&m);
	free(b);
	free(ai);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consistent_platforms),
		cmocka_unit_test(test_partial_evidence),
		cmocka_unit_test(test_contradictions),
		cmocka_unit_test(test_stacked_hypervisors),
		cmocka_unit_test(test_azure_tag_alone_and_vmbus),
		cmocka_unit_test(test_gates),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_scan_cpuid),
		cmocka_unit_test(test_end_to_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

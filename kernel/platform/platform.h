/*
 * platform.h - where are we running: the platform classifier and the
 * feature gates (DESIGN.md "Platform detection", PROTOCOLS.md D.1-D.3).
 *
 * The classifier is a pure function over collected evidence (CPUID
 * hypervisor leaves, ACPI OEM ids, SMBIOS strings) so every combination
 * is host-tested.  The platform name only selects cloud-level defaults
 * (metadata service, preferred clock).  Hardware features are gated by
 * their own evidence: platform_has_hyperv_hypercalls() is true only when
 * CPUID shows the Hv#1 interface and the hypercall MSR privilege, never
 * because ACPI or SMBIOS claim Microsoft - a QEMU guest dressed as Azure
 * must never execute an instruction the hypervisor does not offer.
 */
#ifndef TERN_PLATFORM_H
#define TERN_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum platform_name {
	PLATFORM_UNKNOWN = 0,
	PLATFORM_NITRO,
	PLATFORM_AZURE,
	PLATFORM_HYPERV,
	PLATFORM_KVM,
	PLATFORM_QEMU,
	PLATFORM_XEN,
};

#define PLATFORM_MAX_SIGS	4
#define PLATFORM_SIG_LEN	13	/* 12 signature bytes + NUL */
#define PLATFORM_ID_LEN		9	/* ACPI ids: 8 bytes + NUL */
#define PLATFORM_STR_LEN	64

/* Hyper-V CPUID bits (PROTOCOLS.md B.1). */
#define HV_IFACE_HV1		0x31237648u	/* "Hv#1" */
#define HV_PRIV_TIME_REF_COUNT	(1u << 1)
#define HV_PRIV_SYNIC		(1u << 2)
#define HV_PRIV_STIMER		(1u << 3)
#define HV_PRIV_HYPERCALL	(1u << 5)
#define HV_PRIV_VP_INDEX	(1u << 6)
#define HV_PRIV_REF_TSC		(1u << 9)
/* KVM feature bits, leaf base + 1 EAX (Linux kvm_para.h numbering). */
#define KVM_FEATURE_CLOCKSOURCE	 (1u << 0)
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT (1u << 24)

/* One hypervisor signature found in the 0x40000000..0x40010000 scan. */
struct platform_sig {
	uint32_t leaf;		/* base leaf where it was found */
	uint32_t max_leaf;	/* EAX of the base leaf */
	char sig[PLATFORM_SIG_LEN]; /* EBX:ECX:EDX, trailing NULs dropped */
	uint32_t iface;		/* EAX of leaf + 1: "Hv#1" for the Hyper-V
				   interface, the feature bits for KVM */
	uint32_t features[3];	/* Hv#1 only: leaf + 3 EAX/EBX/EDX */
};

struct platform_evidence {
	bool cpuid_hv_bit;	/* CPUID.1:ECX[31] */
	uint32_t nsigs;
	struct platform_sig sigs[PLATFORM_MAX_SIGS];

	/* ACPI ids as parsed (trailing blanks trimmed), "" when absent. */
	char rsdp_oem[PLATFORM_ID_LEN];
	char root_oem[PLATFORM_ID_LEN], root_table_id[PLATFORM_ID_LEN];
	char fadt_oem[PLATFORM_ID_LEN], fadt_table_id[PLATFORM_ID_LEN];
	char dsdt_oem[PLATFORM_ID_LEN], dsdt_table_id[PLATFORM_ID_LEN];
	bool acpi_vmbus;	/* VMBus device in the DSDT/SSDTs */

	/* SMBIOS strings, "" when absent. */
	char bios_vendor[PLATFORM_STR_LEN], bios_version[PLATFORM_STR_LEN];
	char sys_vendor[PLATFORM_STR_LEN], sys_product[PLATFORM_STR_LEN];
	char sys_uuid[37];
	char chassis_asset_tag[PLATFORM_STR_LEN];
};

/* What each source says on its own. */
enum platform_hint {
	HINT_NONE = 0,
	HINT_AMAZON,
	HINT_AZURE,		/* Microsoft VM + the Azure asset tag */
	HINT_MICROSOFT,		/* Microsoft VM, cloud unknown */
	HINT_QEMU,
	HINT_XEN,
	HINT_HYPERV_CPU,	/* CPUID: Microsoft Hv + Hv#1 */
	HINT_KVM_CPU,
	HINT_TCG_CPU,
	HINT_XEN_CPU,
	HINT_VMWARE_CPU,
	HINT_OTHER_CPU,
};

#define PLATFORM_NOTE_LEN	96

struct platform_result {
	int name;		/* enum platform_name */
	int cpu, acpi, smbios;	/* enum platform_hint per source */
	char note[PLATFORM_NOTE_LEN]; /* "" when the evidence agrees */
};

#define AZURE_ASSET_TAG "7783-7084-3265-9085-8269-3286-77"

/* Classify; pure, never fails.  `r` is fully overwritten. */
void platform_classify(const struct platform_evidence *ev,
    struct platform_result *r);

/* "nitro", "azure", ... "unknown". */
const char *platform_name_str(int name);

/*
 * Format the marker text (without the leading "TERN "):
 * PLATFORM name=<..> cpuid=<sig|none> acpi_oem=<id|none>
 * smbios_vendor="<..>" smbios_product="<..>"[ note=<..>]
 * Strings are sanitised: printable ASCII only, '"' and '\' become '\'',
 * spaces and '=' inside unquoted values become '_'; every value is cut at
 * 40 characters and at most two CPUID signatures are shown, joined with
 * '+', so the line fits LOG_LINE_MAX.  Returns the length (truncated to
 * n - 1).
 */
size_t platform_format(char *buf, size_t n, const struct platform_evidence *ev,
    const struct platform_result *r);

/* Feature gates over explicit evidence (pure, host-tested). */
const struct platform_sig *platform_find_sig(const struct platform_evidence *ev,
    const char *sig);
bool platform_ev_hyperv_hypercalls(const struct platform_evidence *ev);
bool platform_ev_hyperv_ref_tsc(const struct platform_evidence *ev);
bool platform_ev_kvmclock(const struct platform_evidence *ev);

/* Gather CPUID evidence through `cpuid_fn` (the kernel passes the real
   instruction, tests a fake): hypervisor bit, then the signature scan
   0x40000000..0x40010000 in steps of 0x100. */
typedef void (*platform_cpuid_fn)(void *ctx, uint32_t leaf, uint32_t r[4]);
void platform_scan_cpuid(struct platform_evidence *ev, platform_cpuid_fn fn,
    void *ctx);

/* Copy the ACPI and SMBIOS identity fields into `ev` (either may be NULL
   or not valid: its fields stay ""). */
struct acpi_info;
struct smbios_info;
void platform_collect_fw(struct platform_evidence *ev,
    const struct acpi_info *ai, const struct smbios_info *si);

#if defined(TERN_KERNEL)
/*
 * The platform bring-up order (acpi_init, smbios_init, platform_detect,
 * ioapic_init, clock_init) lives in the composition root, kernel/subsys.c.
 *
 * Kernel glue (platform_kern.c).  platform_detect() collects evidence
 * from CPUID and the already-parsed `acpi` and `smbios` (call acpi_init
 * and smbios_init first), classifies, prints the one TERN PLATFORM line
 * and keeps the result.  The accessors below are valid afterwards (before
 * it they report "unknown"/false).
 */
void platform_detect(void);
int platform_name(void);
const struct platform_evidence *platform_evidence(void);
bool platform_has_hyperv_hypercalls(void);
bool platform_has_hyperv_ref_tsc(void);
bool platform_has_kvmclock(void);
#endif

#endif /* TERN_PLATFORM_H */

/*
 * platform.c - the platform classifier (DESIGN.md "Platform detection";
 * signatures and ids from PROTOCOLS.md D.1-D.3).  Pure functions over a
 * struct platform_evidence: no hardware access, so every combination of
 * evidence is host-tested (tests/platform/test_platform.c).
 *
 * Decision rules (docs/platforms.md has the table):
 *  1. Each source gives a hint on its own: CPUID (hypervisor), ACPI OEM
 *     ids, SMBIOS strings.  SMBIOS is the most specific firmware source
 *     (only it can tell Azure from on-premises Hyper-V), so the firmware
 *     hint is SMBIOS's, else ACPI's.
 *  2. Firmware identifies the cloud: Amazon -> nitro, Azure asset tag ->
 *     azure, Microsoft VM -> hyperv, Xen -> xen.  QEMU firmware means kvm
 *     under a KVM CPUID signature and qemu otherwise.  With no firmware
 *     identity the CPUID signature decides.
 *  3. Whenever sources disagree (ACPI vs SMBIOS, or the firmware's cloud
 *     vs the hypervisor CPUID shows) the name stays as above and note=
 *     lists the disagreement.  Nothing here gates hardware features.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/platform/platform.h"

static const char *const platform_names[] = {
	[PLATFORM_UNKNOWN] = "unknown", [PLATFORM_NITRO] = "nitro",
	[PLATFORM_AZURE] = "azure", [PLATFORM_HYPERV] = "hyperv",
	[PLATFORM_KVM] = "kvm", [PLATFORM_QEMU] = "qemu",
	[PLATFORM_XEN] = "xen",
};

static const char *const hint_names[] = {
	[HINT_NONE] = "none", [HINT_AMAZON] = "amazon",
	[HINT_AZURE] = "azure", [HINT_MICROSOFT] = "microsoft",
	[HINT_QEMU] = "qemu", [HINT_XEN] = "xen",
	[HINT_HYPERV_CPU] = "hyperv", [HINT_KVM_CPU] = "kvm",
	[HINT_TCG_CPU] = "tcg", [HINT_XEN_CPU] = "xen",
	[HINT_VMWARE_CPU] = "vmware", [HINT_OTHER_CPU] = "other",
};

const char *
platform_name_str(int name)
{
	if (name < 0 || name > PLATFORM_XEN)
		return "unknown";
	return platform_names[name];
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

const struct platform_sig *
platform_find_sig(const struct platform_evidence *ev, const char *sig)
{
	for (uint32_t i = 0; i < ev->nsigs && i < PLATFORM_MAX_SIGS; i++)
		if (strcmp(ev->sigs[i].sig, sig) == 0)
			return &ev->sigs[i];
	return NULL;
}

/* The Hyper-V interface lives at the base leaf 0x40000000 only (Xen and
   KVM move their own leaves up when they emulate it). */
static const struct platform_sig *
hv1_sig(const struct platform_evidence *ev)
{
	for (uint32_t i = 0; i < ev->nsigs && i < PLATFORM_MAX_SIGS; i++) {
		const struct platform_sig *s = &ev->sigs[i];
		if (s->leaf == 0x40000000u && s->iface == HV_IFACE_HV1 &&
		    s->max_leaf >= 0x40000003u)
			return s;
	}
	return NULL;
}

bool
platform_ev_hyperv_hypercalls(const struct platform_evidence *ev)
{
	const struct platform_sig *s = hv1_sig(ev);
	return s != NULL && (s->features[0] & HV_PRIV_HYPERCALL) != 0;
}

bool
platform_ev_hyperv_ref_tsc(const struct platform_evidence *ev)
{
	const struct platform_sig *s = hv1_sig(ev);
	return s != NULL && (s->features[0] & HV_PRIV_REF_TSC) != 0;
}

bool
platform_ev_kvmclock(const struct platform_evidence *ev)
{
	const struct platform_sig *s = platform_find_sig(ev, "KVMKVMKVM");
	return s != NULL &&
	    (s->iface & (KVM_FEATURE_CLOCKSOURCE | KVM_FEATURE_CLOCKSOURCE2)) != 0;
}

static int
cpu_hint(const struct platform_evidence *ev)
{
	/* KVM and Xen may expose Hyper-V leaves at 0x40000000 as well; the
	   real hypervisor is the one further up, so they win. */
	if (platform_find_sig(ev, "KVMKVMKVM"))
		return HINT_KVM_CPU;
	if (platform_find_sig(ev, "XenVMMXenVMM"))
		return HINT_XEN_CPU;
	if (platform_find_sig(ev, "TCGTCGTCGTCG"))
		return HINT_TCG_CPU;
	if (hv1_sig(ev) != NULL)
		return HINT_HYPERV_CPU;
	if (platform_find_sig(ev, "VMwareVMware"))
		return HINT_VMWARE_CPU;
	return ev->nsigs > 0 ? HINT_OTHER_CPU : HINT_NONE;
}

/* One ACPI (oem, table id) pair. */
static int
acpi_pair_hint(const char *oem, const char *tid)
{
	if (strcmp(oem, "AMAZON") == 0 || starts_with(tid, "AMZN"))
		return HINT_AMAZON;
	if (strcmp(oem, "VRTUAL") == 0 || strcmp(oem, "MSFTVM") == 0 ||
	    strcmp(tid, "MICROSFT") == 0)
		return HINT_MICROSOFT;
	if (starts_with(oem, "Xen"))
		return HINT_XEN;
	if (strcmp(oem, "BOCHS") == 0 || starts_with(tid, "BXPC"))
		return HINT_QEMU;
	return HINT_NONE;
}

static int
acpi_hint(const struct platform_evidence *ev)
{
	/* Cloud-specific ids are deliberate; QEMU's defaults may linger in
	   a table the VMM did not rename, so they rank last. */
	static const int rank[] = { HINT_AMAZON, HINT_MICROSOFT, HINT_XEN,
	    HINT_QEMU };
	int h[4];

	h[0] = acpi_pair_hint(ev->root_oem, ev->root_table_id);
	h[1] = acpi_pair_hint(ev->rsdp_oem, "");
	h[2] = acpi_pair_hint(ev->fadt_oem, ev->fadt_table_id);
	h[3] = acpi_pair_hint(ev->dsdt_oem, ev->dsdt_table_id);
	for (size_t r = 0; r < sizeof(rank) / sizeof(rank[0]); r++)
		for (int i = 0; i < 4; i++)
			if (h[i] == rank[r])
				return rank[r];
	if (ev->acpi_vmbus)
		return HINT_MICROSOFT;
	return HINT_NONE;
}

static int
smbios_hint(const struct platform_evidence *ev)
{
	/* cloud-init's Azure test is the chassis asset tag alone. */
	if (strcmp(ev->chassis_asset_tag, AZURE_ASSET_TAG) == 0)
		return HINT_AZURE;
	if (strcmp(ev->sys_vendor, "Amazon EC2") == 0 ||
	    strcmp(ev->bios_vendor, "Amazon EC2") == 0)
		return HINT_AMAZON;
	if (strcmp(ev->sys_vendor, "Microsoft Corporation") == 0 &&
	    strcmp(ev->sys_product, "Virtual Machine") == 0)
		return HINT_MICROSOFT;
	if (strcmp(ev->sys_vendor, "Xen") == 0)
		return HINT_XEN;
	if (strcmp(ev->sys_vendor, "QEMU") == 0)
		return HINT_QEMU;
	return HINT_NONE;
}

/* Azure and Microsoft firmware name the same family. */
static bool
same_family(int a, int b)
{
	if (a == HINT_AZURE)
		a = HINT_MICROSOFT;
	if (b == HINT_AZURE)
		b = HINT_MICROSOFT;
	return a == b;
}

static void
note_add(struct platform_result *r, const char *a, const char *b,
    const char *c, const char *d)
{
	const char *parts[5] = { r->note[0] ? "," : "", a, b, c, d };
	size_t len = strlen(r->note);

	for (int i = 0; i < 5; i++) {
		for (const char *p = parts[i]; *p; p++) {
			if (len + 1 >= sizeof(r->note))
				return;
			r->note[len++] = *p;
			r->note[len] = '\0';
		}
	}
}

void
platform_classify(const struct platform_evidence *ev, struct platform_result *r)
{
	int fw, want_cpu = HINT_NONE;

	memset(r, 0, sizeof(*r));
	r->cpu = cpu_hint(ev);
	r->acpi = acpi_hint(ev);
	r->smbios = smbios_hint(ev);
	fw = r->smbios != HINT_NONE ? r->smbios : r->acpi;

	if (r->acpi != HINT_NONE && r->smbios != HINT_NONE &&
	    !same_family(r->acpi, r->smbios))
		note_add(r, "acpi_", hint_names[r->acpi], "_smbios_",
		    hint_names[r->smbios]);

	switch (fw) {
	case HINT_AMAZON:
		/* Nitro is KVM underneath; the old Xen fleet says so in
		   CPUID and is reported as xen. */
		r->name = r->cpu == HINT_XEN_CPU ? PLATFORM_XEN : PLATFORM_NITRO;
		want_cpu = r->cpu == HINT_XEN_CPU ? HINT_XEN_CPU : HINT_KVM_CPU;
		break;
	case HINT_AZURE:
		r->name = PLATFORM_AZURE;
		want_cpu = HINT_HYPERV_CPU;
		break;
	case HINT_MICROSOFT:
		r->name = PLATFORM_HYPERV;
		want_cpu = HINT_HYPERV_CPU;
		break;
	case HINT_XEN:
		r->name = PLATFORM_XEN;
		want_cpu = HINT_XEN_CPU;
		break;
	case HINT_QEMU:
		if (r->cpu == HINT_KVM_CPU) {
			r->name = PLATFORM_KVM;
		} else if (r->cpu == HINT_XEN_CPU) {
			r->name = PLATFORM_XEN;
		} else {
			r->name = PLATFORM_QEMU;
			want_cpu = HINT_TCG_CPU;
		}
		if (r->cpu == HINT_KVM_CPU || r->cpu == HINT_XEN_CPU)
			want_cpu = r->cpu;
		break;
	default:
		switch (r->cpu) {
		case HINT_HYPERV_CPU: r->name = PLATFORM_HYPERV; break;
		case HINT_KVM_CPU: r->name = PLATFORM_KVM; break;
		case HINT_TCG_CPU: r->name = PLATFORM_QEMU; break;
		case HINT_XEN_CPU: r->name = PLATFORM_XEN; break;
		default: r->name = PLATFORM_UNKNOWN; break;
		}
		return;
	}
	if (r->cpu != want_cpu)
		note_add(r, "firmware_", hint_names[fw], "_cpuid_",
		    hint_names[r->cpu]);
}

/* ---- the marker line --------------------------------------------------- */

struct out {
	char *buf;
	size_t n, len;
};

static void
put_c(struct out *o, char c)
{
	if (o->len + 1 < o->n) {
		o->buf[o->len++] = c;
		o->buf[o->len] = '\0';
	}
}

static void
put_s(struct out *o, const char *s)
{
	while (*s)
		put_c(o, *s++);
}

#define PLATFORM_VALUE_MAX 40
#define PLATFORM_SIGS_SHOWN 2

/* A firmware string: printable ASCII only; quotes and backslashes become
   '\'' so the value can never end the quoted field early; in unquoted
   values spaces become '_'. */
static void
put_clean(struct out *o, const char *s, bool quoted)
{
	/* Bounded so the whole marker fits one log line (LOG_LINE_MAX). */
	for (int n = 0; *s && n < PLATFORM_VALUE_MAX; s++, n++) {
		char c = *s;
		if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
			c = '?';
		else if (c == '"' || c == '\\')
			c = '\'';
		else if (c == ' ' && !quoted)
			c = '_';
		else if (c == '=' && !quoted)
			c = '_';
		put_c(o, c);
	}
}

size_t
platform_format(char *buf, size_t n, const struct platform_evidence *ev,
    const struct platform_result *r)
{
	struct out o = { buf, n, 0 };
	const char *oem;

	if (n == 0)
		return 0;
	buf[0] = '\0';
	put_s(&o, "PLATFORM name=");
	put_s(&o, platform_name_str(r->name));
	put_s(&o, " cpuid=");
	if (ev->nsigs == 0)
		put_s(&o, "none");
	for (uint32_t i = 0; i < ev->nsigs && i < PLATFORM_SIGS_SHOWN; i++) {
		if (i > 0)
			put_c(&o, '+');
		put_clean(&o, ev->sigs[i].sig[0] ? ev->sigs[i].sig : "?", false);
	}
	oem = ev->root_oem[0] ? ev->root_oem : ev->rsdp_oem;
	put_s(&o, " acpi_oem=");
	put_clean(&o, oem[0] ? oem : "none", false);
	put_s(&o, " smbios_vendor=\"");
	put_clean(&o, ev->sys_vendor, true);
	put_s(&o, "\" smbios_product=\"");
	put_clean(&o, ev->sys_product, true);
	put_c(&o, '"');
	if (r->note[0]) {
		put_s(&o, " note=");
		put_s(&o, r->note);	/* built from fixed tokens */
	}
	return o.len;
}

/* ---- CPUID evidence ---------------------------------------------------- */

static bool
sig_plausible(const uint32_t r[4])
{
	const uint32_t w[3] = { r[1], r[2], r[3] };
	bool any = false;

	for (int i = 0; i < 12; i++) {
		uint8_t c = (uint8_t)(w[i / 4] >> (8 * (i % 4)));
		if (c == 0)
			continue;
		if (c < 0x20 || c >= 0x7f)
			return false;
		any = true;
	}
	return any;
}

void
platform_scan_cpuid(struct platform_evidence *ev, platform_cpuid_fn fn,
    void *ctx)
{
	uint32_t r[4];

	ev->nsigs = 0;
	fn(ctx, 1, r);
	ev->cpuid_hv_bit = (r[2] >> 31) & 1;
	/* Without the hypervisor bit the 0x4000xxxx leaves are whatever the
	   CPU returns for out-of-range leaves: not evidence. */
	if (!ev->cpuid_hv_bit)
		return;
	for (uint32_t leaf = 0x40000000u; leaf < 0x40010000u; leaf += 0x100) {
		struct platform_sig *s;
		const uint32_t *w;

		fn(ctx, leaf, r);
		if (!sig_plausible(r))
			continue;
		if (ev->nsigs >= PLATFORM_MAX_SIGS)
			break;
		s = &ev->sigs[ev->nsigs];
		memset(s, 0, sizeof(*s));
		s->leaf = leaf;
		s->max_leaf = r[0];
		w = &r[1];
		for (int i = 0; i < 12; i++)
			s->sig[i] = (char)(uint8_t)(w[i / 4] >> (8 * (i % 4)));
		/* Trailing NULs ("KVMKVMKVM\0\0\0") end the string; an
		   embedded one hides the rest, which is fine for matching. */
		s->sig[12] = '\0';
		if (ev->nsigs > 0 && strcmp(ev->sigs[ev->nsigs - 1].sig, s->sig) == 0)
			continue;	/* repeated leaves beyond the range */
		fn(ctx, leaf + 1, r);
		s->iface = r[0];
		if (s->iface == HV_IFACE_HV1 && s->max_leaf >= leaf + 3 &&
		    s->max_leaf < leaf + 0x100) {
			fn(ctx, leaf + 3, r);
			s->features[0] = r[0];
			s->features[1] = r[1];
			s->features[2] = r[3];
		}
		ev->nsigs++;
	}
}

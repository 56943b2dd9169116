/*
 * platform_kern.c - kernel glue for platform detection: gathers CPUID
 * evidence with the real instruction, takes the ACPI and SMBIOS identity
 * from the parsed tables, classifies and prints the one TERN PLATFORM
 * line (docs/markers.md).  The result is kept for the feature gates.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "boot/bootinfo.h"
#include "kernel/acpi/acpi.h"
#include "kernel/clock/clock.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/log.h"
#include "kernel/platform/ioapic.h"
#include "kernel/platform/platform.h"
#include "kernel/smbios/smbios.h"

static struct platform_evidence plat_ev;
static struct platform_result plat_res;
static bool plat_done;

static void
native_cpuid(void *ctx, uint32_t leaf, uint32_t r[4])
{
	cpuid(leaf, 0, r);
}

void
platform_detect(void)
{
	char line[LOG_LINE_MAX];

	memset(&plat_ev, 0, sizeof(plat_ev));
	platform_scan_cpuid(&plat_ev, native_cpuid, NULL);
	platform_collect_fw(&plat_ev, &acpi, &smbios);
	platform_classify(&plat_ev, &plat_res);
	plat_done = true;

	for (uint32_t i = 0; i < plat_ev.nsigs; i++) {
		const struct platform_sig *s = &plat_ev.sigs[i];
		log_debug("platform", "cpuid 0x%08x \"%s\" max 0x%08x leaf+1 0x%08x features %08x %08x %08x",
		    s->leaf, s->sig, s->max_leaf, s->iface, s->features[0],
		    s->features[1], s->features[2]);
	}
	log_debug("platform", "hints: cpuid %d acpi %d smbios %d; hypercalls %d ref_tsc %d kvmclock %d",
	    plat_res.cpu, plat_res.acpi, plat_res.smbios,
	    platform_has_hyperv_hypercalls(), platform_has_hyperv_ref_tsc(),
	    platform_has_kvmclock());
	platform_format(line, sizeof(line), &plat_ev, &plat_res);
	marker("%s", line);
}

int
platform_name(void)
{
	return plat_done ? plat_res.name : PLATFORM_UNKNOWN;
}

const struct platform_evidence *
platform_evidence(void)
{
	return &plat_ev;
}

bool
platform_has_hyperv_hypercalls(void)
{
	return plat_done && platform_ev_hyperv_hypercalls(&plat_ev);
}

bool
platform_has_hyperv_ref_tsc(void)
{
	return plat_done && platform_ev_hyperv_ref_tsc(&plat_ev);
}

bool
platform_has_kvmclock(void)
{
	return plat_done && platform_ev_kvmclock(&plat_ev);
}

/*
 * platform_ev.c - turn parsed ACPI and SMBIOS results into classifier
 * evidence (portable; host-tested end to end with the fixture sets).
 */
#include <string.h>

#include "kernel/acpi/acpi.h"
#include "kernel/platform/platform.h"
#include "kernel/smbios/smbios.h"

static void
cp(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < n && src[i] != '\0'; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

void
platform_collect_fw(struct platform_evidence *ev, const struct acpi_info *ai,
    const struct smbios_info *si)
{
	if (ai != NULL && ai->valid) {
		cp(ev->rsdp_oem, sizeof(ev->rsdp_oem), ai->rsdp_oem);
		cp(ev->root_oem, sizeof(ev->root_oem), ai->root.oem);
		cp(ev->root_table_id, sizeof(ev->root_table_id), ai->root.table_id);
		cp(ev->fadt_oem, sizeof(ev->fadt_oem), ai->fadt.oem);
		cp(ev->fadt_table_id, sizeof(ev->fadt_table_id), ai->fadt.table_id);
		cp(ev->dsdt_oem, sizeof(ev->dsdt_oem), ai->dsdt.oem);
		cp(ev->dsdt_table_id, sizeof(ev->dsdt_table_id), ai->dsdt.table_id);
		ev->acpi_vmbus = ai->vmbus_present;
	}
	if (si != NULL && si->valid) {
		cp(ev->bios_vendor, sizeof(ev->bios_vendor), si->bios_vendor);
		cp(ev->bios_version, sizeof(ev->bios_version), si->bios_version);
		cp(ev->sys_vendor, sizeof(ev->sys_vendor), si->sys_vendor);
		cp(ev->sys_product, sizeof(ev->sys_product), si->sys_product);
		cp(ev->sys_uuid, sizeof(ev->sys_uuid), si->has_uuid ? si->sys_uuid : "");
		cp(ev->chassis_asset_tag, sizeof(ev->chassis_asset_tag),
		    si->chassis_asset_tag);
	}
}

/*
 * smbios_kern.c - kernel glue: parse the SMBIOS tables the loader found.
 */
#include "boot/bootinfo.h"
#include "kernel/acpi/acpi.h"
#include "kernel/log.h"
#include "kernel/smbios/smbios.h"

struct smbios_info smbios;

void
smbios_init(const struct tern_bootinfo *bi)
{
	if (smbios_parse(&acpi_kernel_mem, bi->smbios, (int)bi->smbios_kind,
	    &smbios) != 0)
		return;
	log_debug("smbios", "SMBIOS %u.%u: \"%s\" \"%s\", bios \"%s\" \"%s\"",
	    smbios.major, smbios.minor, smbios.sys_vendor, smbios.sys_product,
	    smbios.bios_vendor, smbios.bios_version);
}

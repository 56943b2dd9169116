#!/usr/bin/env bash
# platform_nitro.sh - QEMU dressed as EC2 Nitro (issue 3): AMAZON/AMZNFACP
# ACPI ids and SMBIOS "Amazon EC2" give name=nitro; CPUID stays TCG, so
# the evidence disagrees and a note says so.  One boot.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/platform_lib.sh
plat_prereq platform_nitro

plat_boot nitro -machine q35,x-oem-id=AMAZON,x-oem-table-id=AMZNFACP \
	-smbios type=1,manufacturer="Amazon EC2",product=m5.large
plat_dump_markers nitro
plat_check nitro "platform is nitro" '^TERN PLATFORM name=nitro cpuid=TCGTCGTCGTCG acpi_oem=AMAZON smbios_vendor="Amazon EC2" smbios_product="m5.large"'
plat_check nitro "note on TCG" '^TERN PLATFORM .* note=firmware_amazon_cpuid_tcg'
plat_check_exit nitro
exit $plat_failed

#!/usr/bin/env bash
# platform_nitro.sh - QEMU dressed as EC2 Nitro (issue 3): AMAZON/AMZNFACP
# ACPI ids and SMBIOS "Amazon EC2" give name=nitro; CPUID stays TCG, so
# the evidence disagrees and a note says so.  One boot.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

qemu_boot nitro 400 "exit=boot_ok log=debug" \
	-machine q35,x-oem-id=AMAZON,x-oem-table-id=AMZNFACP \
	-smbios type=1,manufacturer="Amazon EC2",product=m5.large
expect_rc nitro "reached TERN BOOT_OK" 33
expect_line nitro "platform is nitro" '^TERN PLATFORM name=nitro cpuid=TCGTCGTCGTCG acpi_oem=AMAZON smbios_vendor="Amazon EC2" smbios_product="m5.large"'
expect_line nitro "note on TCG" '^TERN PLATFORM .* note=firmware_amazon_cpuid_tcg'
finish

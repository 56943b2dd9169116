#!/usr/bin/env bash
# platform_azure.sh - QEMU dressed as Azure (issue 3): VRTUAL/MICROSFT ACPI
# ids, SMBIOS "Microsoft Corporation"/"Virtual Machine" and the Azure
# chassis asset tag give name=azure with a note (CPUID is TCG), and the
# Hyper-V gates stay closed: no hypercall or synthetic MSR may be used.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

qemu_boot azure 400 "exit=boot_ok log=debug" \
	-machine q35,x-oem-id=VRTUAL,x-oem-table-id=MICROSFT \
	-smbios type=1,manufacturer="Microsoft Corporation",product="Virtual Machine" \
	-smbios type=3,asset=7783-7084-3265-9085-8269-3286-77
expect_rc azure "reached TERN BOOT_OK" 33
expect_line azure "platform is azure" '^TERN PLATFORM name=azure cpuid=TCGTCGTCGTCG acpi_oem=VRTUAL smbios_vendor="Microsoft Corporation" smbios_product="Virtual Machine"'
expect_line azure "note on TCG" '^TERN PLATFORM .* note=firmware_azure_cpuid_tcg'
expect_line azure "Hyper-V gates closed" 'hypercalls 0 ref_tsc 0 kvmclock 0'
# kernel/hv and the VMBus stay out of a TCG guest, whatever firmware says.
expect_no_line azure "no Hyper-V enlightenments" '^TERN (HV|VMBUS) '
finish

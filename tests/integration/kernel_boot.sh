#!/usr/bin/env bash
# kernel_boot.sh - issue 2: the kernel boots to TERN BOOT_OK and leaves
# with the success code; test=fault reports vector 14 and the faulting
# address and leaves with the panic code; the fw_cfg command line wins
# over the one in the image; test=stack hits the boot stack's guard page.
# Issue 20: the loader places its big buffers in 2 MiB regions the
# firmware already used (boot/memmap.c, docs/boot.md).  Issue 15: the
# boot-time W^X self-check finds no frame that is writable through one
# mapping and executable through another.  Issue 14: HPET
# and MSI-X accesses go through the hardware seam (trace= records them).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

qemu_boot boot_ok 120 "exit=boot_ok log=debug"
expect_rc boot_ok "exit=boot_ok leaves with the success code" 33
expect_line boot_ok "BOOT_OK marker with a time" '^TERN BOOT_OK ms=[0-9]+$'
expect_line boot_ok "command line taken from fw_cfg" 'command line "exit=boot_ok log=debug" from fw_cfg'
expect_line boot_ok "timer calibrated" 'tsc [0-9]+ Hz'
expect_line boot_ok "the loader's big buffers lie in memory the firmware used" \
	'starting kernel \(map limit [0-9]+ GiB, [1-9][0-9]* of [1-9][0-9]* buffers in used memory\)'
expect_line boot_ok "W^X self-check: no writable alias of kernel text" \
	'^TERN WX_CHECK where=boot exec_pages=[1-9][0-9]* wx_pages=0$'
expect_no_line boot_ok "no panic or failure" '^TERN (PANIC|FAIL)'

# Issue 14: platform code reaches hardware through the seam, so trace=
# records it on COM2: the HPET's registers (clock_kern.c) and the MSI-X
# table of the boot disk (pci_msix.c: masked, message written, unmasked).
# (QEMU's -fw_cfg string needs the comma doubled.)
qemu_boot seam_trace 120 "exit=boot_ok trace=hpet0,,msix-00:02.0" \
	-serial file:"$QLOGS/qemu-seam_trace_com2.raw"
expect_rc seam_trace "boots with the seam traced" 33
_qemu_log seam_trace_com2
expect_line seam_trace_com2 "HPET capabilities read through the seam" \
	'^hpet0 0 R 0 4 0x0 0x[0-9a-f]+$'
expect_line seam_trace_com2 "HPET counter read through the seam" \
	'^hpet0 [0-9]+ R 0 8 0xf0 0x[0-9a-f]+$'
expect_line seam_trace_com2 "MSI-X entry 0 message written through the seam" \
	'^msix-00:02.0 [0-9]+ W [0-5] 4 0x0 0xfee[0-9a-f]{5}$'
expect_line seam_trace_com2 "MSI-X entry 0 unmasked through the seam" \
	'^msix-00:02.0 [0-9]+ W [0-5] 4 0xc 0x0$'

# Issue 14, memory attributes: the PAT reads back with entry 1 WC, a
# write-combining window (the VGA framebuffer) takes LLQ-sized block
# writes, the exec page runs as the hypercall page, and W^X still holds.
qemu_boot memattr 120 "exit=boot_ok test=memattr"
expect_rc memattr "the memory-attribute self-test ends with success" 33
expect_line memattr "PAT, WC window, exec page and hypercall path all work" \
	'^TERN MEMATTR pat=0x0007040600070106 wc=ok exec=ok hypercall=ok$'
expect_line memattr "W^X holds with the exec page mapped" \
	'^TERN WX_CHECK where=memattr exec_pages=[1-9][0-9]* wx_pages=0$'
expect_no_line memattr "no panic or failure" '^TERN (PANIC|FAIL)'

qemu_boot fault 120 "test=fault"
expect_rc fault "a page fault stops with the panic code" 65
expect_line fault "panic names vector 14 and the address" '^TERN PANIC vector=14 name=page-fault .*cr2=0x0*8$'
expect_line fault "register dump follows" 'rax=[0-9a-f]{16} rbx='

qemu_boot stack 120 "test=stack"
expect_rc stack "a stack overflow stops with the panic code" 65
expect_line stack "overflow caught by the guard page" '^TERN PANIC vector=14 name=page-fault'
expect_line stack "reported as a stack overflow" 'stack overflow: the boot stack ran into its guard page'

# Boot from an NVMe disk instead of virtio-blk (what EC2 Nitro offers).
TERN_BOOT_DEV=nvme qemu_boot nvme_boot 120 "exit=boot_ok"
expect_rc nvme_boot "boots from an NVMe disk" 33
expect_line nvme_boot "NVMe controller enumerated" '^TERN PCI bdf=.* id=1b36:0010 class=010802$'

# Without the debug-exit device the exit path powers off through ACPI S5
# (FADT PM1a control): QEMU then ends with status 0 instead of timing out.
TERN_NO_DEBUG_EXIT=1 qemu_boot poweroff 120 "exit=boot_ok"
expect_rc poweroff "ACPI S5 power-off ends the VM" 0
expect_line poweroff "reached BOOT_OK first" '^TERN BOOT_OK'
finish

#!/usr/bin/env bash
# Boot a tern image in QEMU for interactive use (make run): serial console
# on this terminal, guest port 80 forwarded to 127.0.0.1:8080.
#   tools/run-qemu.sh <image> [extra qemu args...]
# A .vhd (build/tern-azure.vhd) is read through QEMU's vpc driver with the
# size from the footer, as Hyper-V reads it (docs/clouds.md).
set -u
img=$1; shift
ovmf=/usr/share/ovmf/OVMF.fd
accel=tcg
[ -w /dev/kvm ] && accel=kvm
fmt=format=raw
case $img in *.vhd) fmt=format=vpc,force_size_calc=current_size ;; esac
echo "tern: booting $img in QEMU ($accel); Ctrl-A X quits. Try: curl http://127.0.0.1:8080/healthz"
qemu-system-x86_64 -machine q35,accel=$accel -m 256M -bios "$ovmf" \
	-drive if=none,id=boot,file="$img",$fmt,snapshot=on \
	-device virtio-blk-pci,drive=boot,disable-legacy=on \
	-netdev user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80 \
	-device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-nographic -serial mon:stdio -no-reboot "$@"
rc=$?
case $rc in
0|33|35|37|39) exit 0 ;;
65) echo "tern: the guest panicked (exit $rc)"; exit 1 ;;
67) echo "tern: a boot stage failed (exit $rc)"; exit 1 ;;
*) exit $rc ;;
esac

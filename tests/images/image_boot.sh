#!/usr/bin/env bash
# image_boot.sh - issue 19: the cloud images still boot under QEMU with virtio.
# The EC2 raw image and the Azure fixed VHD (read through QEMU's vpc
# driver with the size from the footer, as Hyper-V reads it) each boot
# with their own \tern\cmdline (no fw_cfg override), see the whole disk,
# and serve: TERN READY.  Their cloud=aws / cloud=azure starts the
# metadata client, which finds no service here: QEMU's user network is
# restricted (restrict=on), so no request can leave this machine and reach
# whatever metadata service the build host itself may have.  The client
# gives up within its bounds (docs/clouds.md, "Bounds") and the workload
# serves anyway, which is the rule being checked: a metadata failure never
# stops the workload.  Up to ~30 s per boot under TCG.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
trap 'qemu_stop img_aws; qemu_stop img_azure' EXIT

for cloud in aws azure; do
	env -u MAKEFLAGS -u MAKELEVEL make --no-print-directory B="$B" image CLOUD=$cloud \
		>"$QLOGS/img-make-$cloud.log" 2>&1 ||
		{ echo "FAIL img_$cloud: make image CLOUD=$cloud failed"; harness_failed=1; }
done

boot() {	# boot <cloud> <image> <-drive format options>
	local name=img_$1
	TERN_IMG=$2 TERN_IMG_FMT=$3 qemu_start "$name" "" \
		-netdev user,id=n0,restrict=on -device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on
	if wait_marker "$name" '^TERN (READY|FAIL|PANIC)' 120; then :; fi
	qemu_stop "$name"
	expect_line "$name" "cmdline from the image's \\tern\\cmdline" \
		"command line \"log=info cloud=$1\" from file"
	expect_line "$name" "the whole 64 MiB disk is seen" '^TERN BLK name=virtio-blk0 sectors=131072 bsize=512$'
	expect_line "$name" "boots to BOOT_OK" '^TERN BOOT_OK ms=[0-9]+$'
	expect_line "$name" "the workload serves" '^TERN READY port=80$'
	expect_no_line "$name" "no panic or failure" '^TERN (PANIC|FAIL)'
	# The image's cloud= reaches the metadata client (pal/pal_cloud.c).
	case $1 in
	aws) expect_line "$name" "the EC2 metadata client ran and gave up" \
		'^TERN CLOUD provider=aws metadata=unavailable' ;;
	azure) expect_line "$name" "the Azure metadata client started" 'cloud: azure' ;;
	esac
}
boot aws "$B/tern-aws.img" format=raw
boot azure "$B/tern-azure.vhd" format=vpc,force_size_calc=current_size
finish

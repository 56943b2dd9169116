#!/usr/bin/env bash
# qemu_cloud.sh - the kernel with cloud= on QEMU (the whole boot: loader,
# kernel, virtio-net, netstack, cloud/, PAL, httpd) on a tap device in a
# private network namespace, against tests/cloud/fake_services.py bound
# to 169.254.169.254 and 168.63.129.16 inside it.  Traffic stays in the
# namespace.  QEMU is dressed as each cloud (ACPI OEM ids and SMBIOS as
# tests/integration/platform_{nitro,azure}.sh), so the kernel classifies
# the platform as nitro / azure; the drivers are still virtio (QEMU has
# no ENA or VMBus), and cloud= selects the client.
#
#   aws:   TERN CLOUD line, user data moves httpd to 8080, no tokenless GET
#   azure: user data from IMDS, exactly one Ready report, fields correct
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
ns=tern-qcloud-$$
FAKE=tests/cloud/fake_services.py
fake_pid=
cleanup() {
	qemu_stop qcloud_aws 2>/dev/null
	qemu_stop qcloud_azure 2>/dev/null
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT
if ! ip netns add "$ns" 2>/dev/null; then
	echo "FAIL qemu_cloud: cannot create a network namespace (need root)"
	exit 1
fi
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip tuntap add dev tap0 mode tap
nsx ip addr add 169.254.0.1/16 dev tap0
nsx ip addr add 169.254.169.254/16 dev tap0
nsx ip addr add 168.63.129.16/32 dev tap0
nsx ip link set tap0 up
printf '#tern v1\nport=8080\nenv.PORT=8080\n' >"$QLOGS/qcloud.userdata"

# run <cloud>: fake services + QEMU; leaves the guest running
run() {
	local c=$1 dress
	if [ "$c" = aws ]; then
		dress=(-machine q35,x-oem-id=AMAZON,x-oem-table-id=AMZNFACP
		    -smbios 'type=1,manufacturer=Amazon EC2,product=t3.micro')
	else
		dress=(-machine q35,x-oem-id=VRTUAL,x-oem-table-id=MICROSFT
		    -smbios 'type=1,manufacturer=Microsoft Corporation,product=Virtual Machine'
		    -smbios type=3,asset=7783-7084-3265-9085-8269-3286-77)
	fi
	rm -f "$QLOGS/qcloud_$c.jsonl"
	ip netns exec "$ns" python3 "$FAKE" --mode="$c" --userdata="$QLOGS/qcloud.userdata" \
		--log="$QLOGS/qcloud_$c.jsonl" >"$QLOGS/qcloud_$c.fake.out" 2>&1 &
	fake_pid=$!
	QEMU_WRAP="ip netns exec $ns" qemu_start "qcloud_$c" \
		"ip=169.254.0.10/16 gw=169.254.0.1 cloud=$c" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on "${dress[@]}"
}

run aws
if wait_marker qcloud_aws '^TERN READY port=8080$' 120; then
	expect_line qcloud_aws "aws: QEMU dressed as EC2 is classified nitro" '^TERN PLATFORM name=nitro '
	expect_line qcloud_aws "aws: TERN CLOUD from IMDSv2" \
	    '^TERN CLOUD provider=aws instance=i-0123456789abcdef0 type=t3\.micro region=eu-central-1$'
	body=$(nsx curl -s -m 10 http://169.254.0.10:8080/healthz)
	if [ "$body" = ok ]; then echo "PASS qemu_cloud: aws: user data applied, /healthz on 8080"
	else echo "FAIL qemu_cloud: aws: /healthz on 8080 got '$body'"; harness_failed=1; fi
	if ! grep -q '"tokenless": true' "$QLOGS/qcloud_aws.jsonl" &&
	    grep -q '"method": "PUT"' "$QLOGS/qcloud_aws.jsonl"; then
		echo "PASS qemu_cloud: aws: token first, no tokenless request"
	else
		echo "FAIL qemu_cloud: aws: requests ($QLOGS/qcloud_aws.jsonl)"; harness_failed=1
	fi
else
	echo "FAIL qemu_cloud: aws: no TERN READY port=8080"; harness_failed=1
fi
qemu_stop qcloud_aws
kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; fake_pid=

run azure
if wait_marker qcloud_azure '^TERN CLOUD provider=azure' 120; then
	expect_line qcloud_azure "azure: QEMU dressed as Azure is classified azure" '^TERN PLATFORM name=azure '
	expect_line qcloud_azure "azure: ready report accepted" \
	    '^TERN CLOUD provider=azure vm=02aab8a4-74ef-476e-8182-f6d2ba4166a6 ready=reported$'
	expect_line qcloud_azure "azure: user data from IMDS applied" '^TERN READY port=8080$'
	sleep 1
	n=$(grep -c '"state": "Ready".*"status": 200' "$QLOGS/qcloud_azure.jsonl")
	bad=$(grep -c '"bad"\|no_version_header\|no_metadata_header' "$QLOGS/qcloud_azure.jsonl")
	if [ "$n" = 1 ] && [ "$bad" = 0 ]; then
		echo "PASS qemu_cloud: azure: exactly one Ready report, every field and header right"
	else
		echo "FAIL qemu_cloud: azure: $n Ready reports, $bad errors ($QLOGS/qcloud_azure.jsonl)"
		harness_failed=1
	fi
else
	echo "FAIL qemu_cloud: azure: no TERN CLOUD line"; harness_failed=1
fi
qemu_stop qcloud_azure
finish

#!/usr/bin/env bash
# ternsim_azure.sh - ternsim --platform=azure (docs/ternsim.md,
# docs/hyperv.md): kernel/hv and the VMBus core in the hosted guest
# against the Hyper-V host simulator print TERN HV, TERN VMBUS with both
# offers, make no protocol error, and the process ends with status 0 on
# SIGTERM.  Bounded: 3 s.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
L=$B/test-logs/ternsim-azure.log
mkdir -p "$B/test-logs"
timeout --preserve-status -s TERM 3 "$B/tools/ternsim" --platform=azure >"$L" 2>&1
rc=$?
failed=0
check() {
	if grep -Eq -- "$2" "$L"; then echo "PASS ternsim-azure: $1"
	else echo "FAIL ternsim-azure: $1 (no /$2/ in $L)"; failed=1; fi
}
check "TERN HV" '^TERN HV version=10\.0\.20348 features='
check "VMBus 5.3 with two offers" '^TERN VMBUS version=5\.3 offers=2$'
check "netvsc offer" '^TERN VMBUS offer class=netvsc instance=[0-9a-f-]{36} relid=14 sub=0$'
check "storvsc offer" '^TERN VMBUS offer class=storvsc instance=[0-9a-f-]{36} relid=15 sub=0$'
check "the workload still starts" '^TERN APP_START name=httpd'
if grep -q "protocol errors" "$L"; then
	echo "FAIL ternsim-azure: host simulator saw protocol errors"; failed=1
else
	echo "PASS ternsim-azure: no protocol error at the host"
fi
if [ "$rc" -eq 0 ]; then echo "PASS ternsim-azure: exit 0 on SIGTERM"
else echo "FAIL ternsim-azure: exit status $rc"; failed=1; fi
exit $failed

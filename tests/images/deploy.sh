#!/usr/bin/env bash
# deploy.sh - images/aws/deploy.sh and images/azure/deploy.sh against fake
# `aws` and `az` commands (tests/images/fake/) that log every call and
# refuse wrong arguments.  A dry run must call nothing; a run must use the
# ids each step returned, stop on TERN READY / TERN PANIC / its time limit
# with exit 0 / 1 / 2, and tear everything down in every case.  This says
# nothing about the real clouds: no real aws or az is ever called.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
pass() { echo "PASS deploy: $1"; }
fail() { echo "FAIL deploy: $1"; failed=1; }
for f in "$B/tern-aws.img" "$B/tern-azure.vhd"; do
	[ -f "$f" ] || env -u MAKEFLAGS -u MAKELEVEL make --no-print-directory B="$B" images >/dev/null 2>&1
done
export FAKE_LOG=$tmp/calls FAKE_CONSOLE=$tmp/console DEPLOY_POLL=0
export DEPLOY_CURL=$PWD/tests/images/fake-curl
export PATH=$PWD/tests/images/fake:$PATH

# run <name> <console lines...> -- <script and args>; sets rc, out
run() {
	local name=$1
	shift
	: >"$FAKE_LOG"; : >"$FAKE_CONSOLE"
	while [ "$1" != -- ]; do printf '%s\n' "$1" >>"$FAKE_CONSOLE"; shift; done
	shift
	B=$B "$@" >"$tmp/$name.out" 2>&1
	rc=$?
}
calls() { grep -c . "$FAKE_LOG"; }
order() {	# order <name> <pattern>...: each pattern's first line after the previous
	local name=$1 at=0 n
	shift
	for p in "$@"; do
		n=$(grep -n -- "$p" "$FAKE_LOG" | cut -d: -f1 | awk -v a=$at '$1 > a { print; exit }')
		[ -n "$n" ] || { fail "$name: no call matching /$p/ after line $at"; return; }
		at=$n
	done
	pass "$name: teardown in order"
}
expect() {	# expect <name> <rc>
	if [ "$rc" -ne "$2" ]; then fail "$1: exit $rc, expected $2 ($(tail -n 3 "$tmp/$1.out" | tr '\n' ' '))"
	elif grep -q REFUSED "$FAKE_LOG"; then fail "$1: the fake refused: $(grep REFUSED "$FAKE_LOG" | head -1)"
	else pass "$1: exit $2, every call's arguments accepted"; fi
}

# --- dry runs ---------------------------------------------------------
run aws_dry -- images/aws/deploy.sh --bucket tb
[ $rc -eq 0 ] && [ "$(calls)" -eq 0 ] && pass "aws dry run calls nothing" || fail "aws dry run: rc=$rc, $(calls) calls"
for w in 'aws ec2 import-snapshot .*Format=RAW' 'register-image .*--architecture x86_64 --boot-mode uefi --ena-support' \
    'get-console-output --instance-id .* --latest' 'aws ec2 terminate-instances' 'aws ec2 delete-snapshot' 'aws s3 rm'; do
	grep -Eq -- "^\+ .*$w" "$tmp/aws_dry.out" && pass "aws dry run prints /$w/" || fail "aws dry run lacks /$w/"
done
run az_dry -- images/azure/deploy.sh
[ $rc -eq 0 ] && [ "$(calls)" -eq 0 ] && pass "azure dry run calls nothing" || fail "azure dry run: rc=$rc, $(calls) calls"
for w in 'az storage blob upload .*--type page' 'az image create .*--hyper-v-generation V2' \
    'az vm create .*--security-type Standard' 'az vm boot-diagnostics get-boot-log' 'az group delete .*--yes'; do
	grep -Eq -- "^\+ .*$w" "$tmp/az_dry.out" && pass "azure dry run prints /$w/" || fail "azure dry run lacks /$w/"
done

# --- EC2 --------------------------------------------------------------
run aws_ready 'UEFI firmware starting' 'TERN BOOT_OK ms=80' 'TERN BOOT_OK ms=80\nTERN READY port=80' -- images/aws/deploy.sh --run --bucket tb
expect aws_ready 0
[ "$(grep -c get-console-output "$FAKE_LOG")" -eq 3 ] && pass "aws_ready: polled the console until READY" ||
	fail "aws_ready: $(grep -c get-console-output "$FAKE_LOG") console polls, expected 3"
order aws_ready 'run-instances' 'terminate-instances --instance-ids i-0abc' 'wait instance-terminated' \
	'deregister-image --image-id ami-0abc' 'delete-snapshot --snapshot-id snap-0123456789' 'aws s3 rm s3://tb/'
run aws_panic 'TERN PANIC vector=14 name=page-fault' -- images/aws/deploy.sh --run --bucket tb
expect aws_panic 1
grep -q 'TERN PANIC vector=14' "$tmp/aws_panic.out" && pass "aws_panic: the panic line is shown" || fail "aws_panic: panic line not shown"
order aws_panic 'terminate-instances' 'deregister-image' 'delete-snapshot' 'aws s3 rm'
run aws_timeout 'TERN BOOT_OK ms=80' -- images/aws/deploy.sh --run --bucket tb --wait 0
expect aws_timeout 2
grep -q 'gave up after 0s waiting for TERN READY' "$tmp/aws_timeout.out" && pass "aws_timeout: says what it waited for" ||
	fail "aws_timeout: no 'gave up' line"
order aws_timeout 'terminate-instances' 'delete-snapshot'
run aws_keep 'TERN READY port=80' -- images/aws/deploy.sh --run --keep --bucket tb
expect aws_keep 0
grep -q terminate "$FAKE_LOG" && fail "aws_keep: terminated despite --keep" || pass "aws_keep: --keep leaves the instance"
cp "$B/tern-aws.img" "$tmp/bad.img"; truncate -s +512 "$tmp/bad.img"
run aws_badimg 'TERN READY port=80' -- images/aws/deploy.sh --run --bucket tb --image "$tmp/bad.img"
[ $rc -ne 0 ] && [ "$(calls)" -eq 0 ] && grep -q 'not a whole number of MiB' "$tmp/aws_badimg.out" &&
	pass "aws: an image check-image refuses is never uploaded" || fail "aws_badimg: rc=$rc, $(calls) calls"

printf '#tern v1\nport=8080\nenv.PORT=8080\n' >"$tmp/ud.txt"
run aws_udata 'TERN READY port=8080' -- images/aws/deploy.sh --run --bucket tb --user-data "$tmp/ud.txt"
expect aws_udata 0
grep -q -- "run-instances .*--user-data file://$tmp/ud.txt" "$FAKE_LOG" && pass "aws_udata: user data passed to run-instances" ||
	fail "aws_udata: no --user-data file:// on run-instances"
run aws_noud -- images/aws/deploy.sh --run --bucket tb --user-data "$tmp/nope.txt"
[ $rc -ne 0 ] && [ "$(calls)" -eq 0 ] && pass "aws: a missing user data file is refused before any call" ||
	fail "aws_noud: rc=$rc, $(calls) calls"

# --probe: /healthz on the public address after TERN READY; exit 3 (and a
# full teardown) when it does not answer.
run aws_probe 'TERN READY port=80' -- images/aws/deploy.sh --run --probe --bucket tb
expect aws_probe 0
grep -q '^curl .*http://203.0.113.7/healthz' "$FAKE_LOG" && pass "aws_probe: /healthz probed at the public address" ||
	fail "aws_probe: no probe of 203.0.113.7"
order aws_probe 'describe-instances --instance-ids i-0abc' 'curl' 'terminate-instances' 'delete-snapshot'
FAKE_HEALTH=down run aws_probe_down 'TERN READY port=80' -- images/aws/deploy.sh --run --probe --bucket tb
expect aws_probe_down 3
grep -q 'did not answer ok in 6 tries' "$tmp/aws_probe_down.out" && pass "aws_probe_down: says why" ||
	fail "aws_probe_down: no explanation"
order aws_probe_down 'curl' 'terminate-instances' 'delete-snapshot' 'aws s3 rm'
run aws_dry2 -- images/aws/deploy.sh --dry-run --probe --bucket tb
[ $rc -eq 0 ] && [ "$(calls)" -eq 0 ] && grep -q '^+ curl .*/healthz' "$tmp/aws_dry2.out" &&
	pass "aws --dry-run --probe prints the probe and calls nothing" || fail "aws_dry2: rc=$rc, $(calls) calls"

# --- Azure ------------------------------------------------------------
run az_probe 'TERN READY port=80' -- images/azure/deploy.sh --run --probe --group tg --storage tstore
expect az_probe 0
order az_probe 'vm show -d -g tg -n tern1' 'curl .*http://203.0.113.8/healthz' 'az group delete -n tg'

run az_ready 'x' 'TERN READY port=80' -- images/azure/deploy.sh --run --group tg --storage tstore
expect az_ready 0
order az_ready 'az group create -n tg' 'storage blob upload .*--type page' 'image create' 'vm create' \
	'get-boot-log' 'az group delete -n tg --yes'
run az_fail 'TERN FAIL stage=net reason=no_nic' -- images/azure/deploy.sh --run --group tg --storage tstore
expect az_fail 1
order az_fail 'vm create' 'az group delete -n tg'
run az_udata 'TERN READY port=8080' -- images/azure/deploy.sh --run --group tg --storage tstore --user-data "$tmp/ud.txt"
expect az_udata 0
grep -q -- "vm create .*--user-data $tmp/ud.txt" "$FAKE_LOG" && pass "az_udata: user data passed to vm create" ||
	fail "az_udata: no --user-data on vm create"
run az_name -- images/azure/deploy.sh --run --storage Bad_Name
[ $rc -ne 0 ] && [ "$(calls)" -eq 0 ] && pass "azure: a bad storage account name is refused before any call" ||
	fail "az_name: rc=$rc, $(calls) calls"
exit $failed

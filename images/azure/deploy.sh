#!/usr/bin/env bash
# images/azure/deploy.sh - put build/tern-azure.vhd on Azure, boot it, and watch
# the boot diagnostics (serial console log) for TERN READY.  NEVER RUN
# AGAINST A REAL AZURE SUBSCRIPTION: the calls follow Azure's documentation
# (docs/clouds.md) and are tested only against a fake `az` command
# (tests/images/deploy.sh).
#
#   images/azure/deploy.sh [--dry-run|--run] [--keep] [--probe] [--location westeurope]
#       [--size Standard_D2s_v5] [--image build/tern-azure.vhd] [--wait 600]
#       [--group NAME] [--storage NAME] [--user-data FILE]
#
# Without --run (or with --dry-run, the default) it only prints the az CLI calls it would
# make, one "+ az ..." line each; nothing is called.  With --run it makes a
# resource group holding everything (a storage account, the VHD as a page
# blob, a Generation 2 image, one VM with Secure Boot off and boot
# diagnostics on), polls `az vm boot-diagnostics get-boot-log` until TERN
# READY (exit 0), TERN FAIL/PANIC (exit 1) or --wait seconds (exit 2), and
# then deletes the resource group, on failure too, unless --keep.  Needs:
# --user-data passes FILE to the VM (the `#tern v1` format, docs/clouds.md
# "The user data format").  --probe: after TERN READY, GET /healthz on the
# VM's public address (exit 3 when it does not answer: the NSG must allow
# port 80).  Needs: az CLI logged in (`az login`); the VM costs money while it runs.
set -u
here=$(dirname "$0")
. "$here/../deploy-lib.sh"
B=${B:-$here/../../build}
stamp=$(date +%Y%m%d%H%M%S)
location=westeurope size=Standard_D2s_v5 img=$B/tern-azure.vhd wait=600
group=tern-$stamp storage=tern$stamp$((RANDOM % 1000)) udata=
DEPLOY_KEEP=0 probe=0
usage() { sed -n '8,10p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--run) DEPLOY_RUN=1 ;;
	--dry-run) DEPLOY_RUN=0 ;;
	--probe) probe=1 ;;
	--keep) DEPLOY_KEEP=1 ;;
	--location) location=${2:?}; shift ;;
	--size) size=${2:?}; shift ;;
	--image) img=${2:?}; shift ;;
	--wait) wait=${2:?}; shift ;;
	--group) group=${2:?}; shift ;;
	--storage) storage=${2:?}; shift ;;
	--user-data) udata=${2:?}; shift ;;
	*) usage ;;
	esac
	shift
done
die() { echo "deploy-azure: $*" >&2; exit 1; }
# Storage account names: 3-24 lower-case letters and digits.
[ -z "$udata" ] || [ -f "$udata" ] || die "no user data file $udata"
[[ $storage =~ ^[a-z0-9]{3,24}$ ]] || die "storage account name '$storage' is not 3-24 lower-case letters/digits"

if [ -x "$B/tools/check-image" ]; then
	"$B/tools/check-image" --format vhd "$img" >&2 || exit 1
else
	die "$B/tools/check-image is not built (run make)"
fi
trap run_teardown EXIT

call - az group create -n "$group" -l "$location" -o none || die "group create failed"
# One group holds everything, so one delete removes it all.
on_exit az group delete -n "$group" --yes --no-wait
call - az storage account create -g "$group" -n "$storage" -l "$location" \
	--sku Standard_LRS -o none || die "storage account create failed"
call - az storage container create --account-name "$storage" -n vhds -o none || die "container create failed"
# A page blob: Azure builds disks only from page blobs of fixed VHDs.
call - az storage blob upload --account-name "$storage" -c vhds -n tern.vhd \
	-f "$img" --type page -o none || die "VHD upload failed"
call - az image create -g "$group" -n tern -l "$location" --os-type Linux \
	--hyper-v-generation V2 \
	--source "https://$storage.blob.core.windows.net/vhds/tern.vhd" -o none ||
	die "image create failed"
# Secure Boot would refuse the unsigned loader: no Trusted Launch.  The
# admin user and key are required by az for a Linux VM and go unused.
ud=()
[ -n "$udata" ] && ud=(--user-data "$udata")
call - az vm create -g "$group" -n tern1 -l "$location" --image tern --size "$size" \
	--security-type Standard --admin-username tern --generate-ssh-keys \
	--boot-diagnostics-storage "$storage" "${ud[@]}" -o none || die "vm create failed"

console_wait "$wait" az vm boot-diagnostics get-boot-log -g "$group" -n tern1 || exit $?
if [ "$probe" = 1 ]; then
	ip=$(call '<public-ip>' az vm show -d -g "$group" -n tern1 --query publicIps -o tsv) ||
		die "vm show failed"
	health_probe "$ip"
fi

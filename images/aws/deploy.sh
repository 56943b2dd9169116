#!/usr/bin/env bash
# images/aws/deploy.sh - put build/tern-aws.img on EC2, boot it, and watch the
# serial console for TERN READY.  NEVER RUN AGAINST A REAL AWS ACCOUNT:
# the calls follow AWS's documentation (docs/clouds.md) and are tested
# only against a fake `aws` command (tests/images/deploy.sh).
#
#   images/aws/deploy.sh --bucket BUCKET [--dry-run|--run] [--keep] [--probe] [--region R]
#       [--type m5.large] [--image build/tern-aws.img] [--wait 600]
#       [--subnet subnet-...] [--security-group sg-...] [--user-data FILE]
#
# Without --run (or with --dry-run, the default) it only prints the aws CLI calls it would
# make, one "+ aws ..." line each, with <placeholders> for ids that only a
# real run would learn; nothing is called.  With --run it uploads the raw
# image to S3, imports it as a snapshot, registers a UEFI AMI with ENA
# support, launches one instance, polls `get-console-output --latest`
# until TERN READY (exit 0), TERN FAIL/PANIC (exit 1) or --wait seconds
# (exit 2), and then removes everything it made, on failure too, unless
# --keep.  --user-data passes FILE to the instance (the `#tern v1` format,
# docs/clouds.md "The user data format").  --probe: after TERN READY, GET
# /healthz on the instance's public address (exit 3 when it does not
# answer: the security group must allow port 80).  Needs: aws CLI v2 configured, the vmimport service role, a
# bucket; the instance costs money while it runs.
set -u
here=$(dirname "$0")
. "$here/../deploy-lib.sh"
B=${B:-$here/../../build}
bucket= region= itype=m5.large img=$B/tern-aws.img wait=600 subnet= sg= udata=
DEPLOY_KEEP=0 probe=0
usage() { sed -n '7,10p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--run) DEPLOY_RUN=1 ;;
	--dry-run) DEPLOY_RUN=0 ;;
	--probe) probe=1 ;;
	--keep) DEPLOY_KEEP=1 ;;
	--bucket) bucket=${2:?}; shift ;;
	--region) region=${2:?}; shift ;;
	--type) itype=${2:?}; shift ;;
	--image) img=${2:?}; shift ;;
	--wait) wait=${2:?}; shift ;;
	--subnet) subnet=${2:?}; shift ;;
	--security-group) sg=${2:?}; shift ;;
	--user-data) udata=${2:?}; shift ;;
	*) usage ;;
	esac
	shift
done
[ -n "$bucket" ] || usage
[ -z "$udata" ] || [ -f "$udata" ] || { echo "deploy-aws: no user data file $udata" >&2; exit 1; }
[ -n "$region" ] && export AWS_DEFAULT_REGION=$region
die() { echo "deploy-aws: $*" >&2; exit 1; }

# The image must pass what EC2 would check (docs/clouds.md, "Images").
if [ -x "$B/tools/check-image" ]; then
	"$B/tools/check-image" --format raw "$img" >&2 || exit 1
else
	die "$B/tools/check-image is not built (run make)"
fi
name=tern-$(date +%Y%m%d%H%M%S)
key=$name.img
trap run_teardown EXIT

call - aws s3 cp "$img" "s3://$bucket/$key" >/dev/null || die "upload to s3://$bucket failed"
on_exit aws s3 rm "s3://$bucket/$key"

task=$(call '<import-snap-id>' aws ec2 import-snapshot --description "$name" \
	--disk-container "Format=RAW,UserBucket={S3Bucket=$bucket,S3Key=$key}" \
	--query ImportTaskId --output text) || die "import-snapshot failed"
snap='<snap-id>'
if [ "$DEPLOY_RUN" = 1 ]; then
	# Imports take minutes; bounded at 30 minutes.
	for _ in $(seq 1 180); do
		st=$(call - aws ec2 describe-import-snapshot-tasks --import-task-ids "$task" \
			--query 'ImportSnapshotTasks[0].SnapshotTaskDetail.[Status,SnapshotId]' \
			--output text 2>/dev/null) || st=
		case $st in
		completed*) snap=${st##*[[:space:]]}; break ;;
		deleted*|deleting*) die "import task $task failed: $st" ;;
		esac
		sleep "$DEPLOY_POLL"
	done
	[ "$snap" != '<snap-id>' ] || die "import task $task did not complete within 30 minutes"
else
	call - aws ec2 describe-import-snapshot-tasks --import-task-ids "$task" \
		--query 'ImportSnapshotTasks[0].SnapshotTaskDetail.[Status,SnapshotId]' --output text >/dev/null
	echo "deploy-aws: (dry run) would poll that until completed" >&2
fi
on_exit aws ec2 delete-snapshot --snapshot-id "$snap"

ami=$(call '<ami-id>' aws ec2 register-image --name "$name" --architecture x86_64 \
	--boot-mode uefi --ena-support --virtualization-type hvm \
	--root-device-name /dev/xvda \
	--block-device-mappings "DeviceName=/dev/xvda,Ebs={SnapshotId=$snap,DeleteOnTermination=true}" \
	--query ImageId --output text) || die "register-image failed"
on_exit aws ec2 deregister-image --image-id "$ami"

net=()
[ -n "$subnet" ] && net+=(--subnet-id "$subnet")
[ -n "$sg" ] && net+=(--security-group-ids "$sg")
[ -n "$udata" ] && net+=(--user-data "file://$udata")
inst=$(call '<instance-id>' aws ec2 run-instances --image-id "$ami" --instance-type "$itype" \
	--count 1 "${net[@]}" \
	--tag-specifications "ResourceType=instance,Tags=[{Key=Name,Value=$name}]" \
	--query 'Instances[0].InstanceId' --output text) || die "run-instances failed"
# Teardown order (reverse): terminate, wait, then the AMI and snapshot.
on_exit aws ec2 wait instance-terminated --instance-ids "$inst"
on_exit aws ec2 terminate-instances --instance-ids "$inst"

console_wait "$wait" aws ec2 get-console-output --instance-id "$inst" --latest \
	--query Output --output text || exit $?
if [ "$probe" = 1 ]; then
	ip=$(call '<public-ip>' aws ec2 describe-instances --instance-ids "$inst" \
		--query 'Reservations[0].Instances[0].PublicIpAddress' --output text) ||
		die "describe-instances failed"
	health_probe "$ip"
fi

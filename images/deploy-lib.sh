# deploy-lib.sh - shared by images/aws/deploy.sh and images/azure/deploy.sh.
# Sourced, not run.  NEVER TRIED AGAINST A REAL CLOUD (docs/clouds.md).
#
#   call <placeholder> <command...>
#       Print the command ("+ aws ec2 ..." on stderr).  With DEPLOY_RUN=1
#       run it and pass its stdout through; otherwise print <placeholder>
#       instead (nothing for "-"), so a dry run can show the whole sequence.
#   console_wait <seconds> <command...>
#       Run the console-fetch command every 10 s until its output has
#       "TERN READY" (return 0) or "TERN FAIL"/"TERN PANIC" (return 1), or
#       the time is up (return 2, saying what it waited for).  The TERN
#       lines seen are printed.
#   on_exit <command...>   register a teardown step (run in reverse order)
#   health_probe <address>
#       After TERN READY: GET http://<address>/healthz ($DEPLOY_CURL, curl
#       by default) up to 6 times, $DEPLOY_POLL s apart; 0 when it answers
#       "ok", 3 otherwise (the security group / NSG may not allow port 80).
DEPLOY_RUN=${DEPLOY_RUN:-0}
DEPLOY_POLL=${DEPLOY_POLL:-10}
_teardown=()

# Shell-quote one word only when it needs it, so the lines can be pasted.
_quote() {
	local a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			printf ' %s' "$a"
		else
			printf " '%s'" "${a//\'/\'\\\'\'}"
		fi
	done
}

call() {
	local ph=$1
	shift
	{ printf '+'; _quote "$@"; printf '\n'; } >&2
	if [ "$DEPLOY_RUN" = 1 ]; then
		"$@"
	elif [ "$ph" != - ]; then
		printf '%s\n' "$ph"
	fi
}

on_exit() {
	local q
	q=$(_quote "$@")
	_teardown=("$q" "${_teardown[@]}")
}

run_teardown() {
	local rc=$? c
	trap - EXIT
	if [ "${DEPLOY_KEEP:-0}" = 1 ]; then
		[ ${#_teardown[@]} -eq 0 ] || echo "deploy: --keep: leaving the resources; to remove them:" >&2
		for c in "${_teardown[@]}"; do echo "   $c" >&2; done
		exit $rc
	fi
	if [ ${#_teardown[@]} -ne 0 ]; then
		[ "$DEPLOY_RUN" = 1 ] && echo "deploy: tearing down" >&2 ||
			echo "deploy: (dry run) teardown, on success and on failure:" >&2
	fi
	for c in "${_teardown[@]}"; do
		eval "call - $c" >/dev/null || echo "deploy: teardown step failed:$c" >&2
	done
	exit $rc
}

console_wait() {
	local tmo=$1 start out
	shift
	start=$(date +%s)
	if [ "$DEPLOY_RUN" != 1 ]; then
		call - "$@" >/dev/null
		echo "deploy: (dry run) would poll the console every ${DEPLOY_POLL}s for up to ${tmo}s for TERN READY" >&2
		return 0
	fi
	while :; do
		out=$(call - "$@" 2>/dev/null) || out=
		if grep -q '^TERN \(FAIL\|PANIC\)' <<<"$out"; then
			grep '^TERN ' <<<"$out" >&2
			echo "deploy: the guest failed (TERN FAIL/PANIC on the console)" >&2
			return 1
		fi
		if grep -q '^TERN READY' <<<"$out"; then
			grep '^TERN ' <<<"$out" >&2
			echo "deploy: TERN READY seen on the serial console" >&2
			return 0
		fi
		if [ $(( $(date +%s) - start )) -ge "$tmo" ]; then
			echo "deploy: gave up after ${tmo}s waiting for TERN READY on the serial console" >&2
			grep '^TERN ' <<<"$out" >&2
			return 2
		fi
		sleep "$DEPLOY_POLL"
	done
}

health_probe() {
	local ip=$1 body
	if [ "$DEPLOY_RUN" != 1 ]; then
		echo "+ curl -s -m 5 http://$ip/healthz" >&2
		echo "deploy: (dry run) would probe /healthz up to 6 times" >&2
		return 0
	fi
	for _ in 1 2 3 4 5 6; do
		body=$(${DEPLOY_CURL:-curl} -s -m 5 "http://$ip/healthz" 2>/dev/null) || body=
		if [ "$body" = ok ]; then
			echo "deploy: /healthz at $ip answered ok" >&2
			return 0
		fi
		sleep "$DEPLOY_POLL"
	done
	echo "deploy: /healthz at $ip did not answer ok in 6 tries (does the security group/NSG allow port 80?)" >&2
	return 3
}

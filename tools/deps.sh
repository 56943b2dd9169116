#!/usr/bin/env bash
# Install the Debian packages tern needs to build, run and test, if any are
# missing.  Uses apt-get directly as root, through sudo otherwise, and says
# clearly what to do when neither is possible.  Safe to run every time: when
# everything is present it only asks dpkg.
set -euo pipefail

PKGS=(build-essential gnu-efi qemu-system-x86 qemu-utils ovmf acpica-tools
      libcmocka-dev mtools gdisk dosfstools iproute2 curl python3 clang lld
      libclang-rt-14-dev
      iputils-ping dnsmasq-base)
# Extra packages a target may ask for: tools/deps.sh nginx wrk ...
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	SUDO=(sudo -n)
else
	echo "deps: ERROR: need root or password-less sudo to install: ${missing[*]}" >&2
	echo "deps: run: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
for try in 1 2 3; do
	if "${SUDO[@]}" apt-get update -qq &&
	   "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
		exit 0
	fi
	echo "deps: apt-get failed (attempt $try), retrying in 5 s" >&2
	sleep 5
done
echo "deps: ERROR: could not install: ${missing[*]}" >&2
exit 1

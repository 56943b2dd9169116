#!/usr/bin/env bash
# bench-boot.sh - `make bench-boot`: tern against a minimal Linux guest
# doing the same job (Debian 12's cloud kernel + a busybox initramfs +
# nginx answering /healthz), under the same QEMU flags and OVMF:
#   - boot to ready: QEMU process start to the first 200 on /healthz,
#     median of RUNS (3), over each network of NETS ("user tap"): QEMU user
#     networking with a port forward, and a tap device with a vnet header
#     in a private namespace with dnsmasq (what KVM/libvirt users run:
#     partial checksums, the host's real TCP), curl and wrk inside it;
#   - tern alone: loader start to TERN READY (from its own log);
#   times print as median (min..max) of the RUNS boots;
#   - QEMU's peak resident memory (VmHWM) for each guest;
#   - requests/s with wrk (1 thread, 8 keep-alive connections, 10 s) on
#     /healthz, a 16 KiB and a 256 KiB file (the same bytes in both
#     guests: build/apps/httpd/16k.bin and big.bin);
#   - image size and the smallest -m (MiB) each still serves at.
# The Linux pieces are Debian packages fetched with apt-get download into
# build/bench/linux (not installed).  Figures are printed side by side and
# written to build/bench/boot.txt.  Without KVM everything runs under TCG,
# so absolute times are ~15x native; the ratios are the point.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
RUNS=${RUNS:-3}
NETS=${NETS:-user tap}
W=$B/bench
L=$W/linux
OVMF=/usr/share/ovmf/OVMF.fd
port=$((30000 + $$ % 20000))
mkdir -p "$L"
tools/deps.sh wrk cpio >/dev/null || exit 1

die() { echo "bench-boot: $*" >&2; exit 1; }

# ---- the tap network ---------------------------------------------------------
# A namespace with tap0 (10.98.0.1) and dnsmasq giving the guest's MAC
# 10.98.0.2; QEMU, curl and wrk run inside it.  NET picks the network of
# the next boot; NSX and URL follow it.
NS=tern-bench-$$
TAP_MAC=52:54:00:98:00:02
dnsmasq_pid=
tap_up() {
	ip netns add "$NS" || die "cannot create network namespace $NS (need root)"
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" ip tuntap add dev tap0 mode tap
	ip netns exec "$NS" ip addr add 10.98.0.1/24 dev tap0
	ip netns exec "$NS" ip link set tap0 up
	ip netns exec "$NS" dnsmasq --no-daemon --user=root --port=0 --no-resolv --no-hosts \
		--interface=tap0 --bind-interfaces --pid-file= --dhcp-leasefile="$W/dnsmasq.leases" \
		--dhcp-range=10.98.0.2,10.98.0.2,255.255.255.0,10m --dhcp-host=$TAP_MAC,10.98.0.2 \
		--dhcp-option=option:router,10.98.0.1 >"$W/dnsmasq.log" 2>&1 &
	dnsmasq_pid=$!
}
cleanup() {
	[ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null
	[ -n "$dnsmasq_pid" ] && kill "$dnsmasq_pid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
use_net() {	# use_net <user|tap>
	NET=$1
	if [ "$NET" = tap ]; then
		NSX=(ip netns exec "$NS") URL=http://10.98.0.2
	else
		NSX=() URL=http://127.0.0.1:$port
	fi
}

# ---- the Linux guest -------------------------------------------------------
linux_build() {
	# initrd.v2: the initramfs with /www (older ones lack the files).
	[ -f "$L/initrd.v2" ] && [ -f "$L/vmlinuz" ] && return 0
	local kpkg dl=$L/debs root=$L/root
	kpkg=$(apt-cache depends --no-recommends linux-image-cloud-amd64 |
		awk '/Depends: linux-image-/{print $2; exit}')
	[ -n "$kpkg" ] || die "cannot resolve linux-image-cloud-amd64"
	rm -rf "$dl" "$root" && mkdir -p "$dl" "$root"
	(cd "$dl" && apt-get download -q "$kpkg" busybox-static nginx >/dev/null 2>&1) ||
		die "apt-get download $kpkg busybox-static nginx failed"
	for d in "$dl"/*.deb; do dpkg-deb -x "$d" "$dl/x"; done
	cp "$dl"/x/boot/vmlinuz-* "$L/vmlinuz"
	local kver mods=$dl/x/lib/modules
	kver=$(ls "$mods")
	mkdir -p "$root"/{bin,dev,proc,sys,etc,tmp,lib/modules,var/log/nginx,var/lib/nginx,run,www}
	cp "$B/apps/httpd/16k.bin" "$B/apps/httpd/big.bin" "$root/www/"
	cp "$dl/x/bin/busybox" "$root/bin/busybox"
	cp "$dl/x/usr/sbin/nginx" "$root/bin/nginx"
	# nginx's shared libraries (same Debian release as this host).
	ldd "$root/bin/nginx" | awk '/=> \//{print $3} /^\t\/lib64/{print $1}' | while read -r so; do
		mkdir -p "$root$(dirname "$so")"
		cp -L "$so" "$root$so"
	done
	# virtio-net and what it needs, in load order, unless built in.
	: >"$root/modules.order"
	need() {	# modinfo's depends= (there is no modules.dep before depmod)
		local m=$1 path dep
		grep -q "/$m.ko" "$mods/$kver/modules.builtin" && return 0
		path=$(find "$mods/$kver/kernel" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
		[ -n "$path" ] || return 0
		case $path in *.xz) unxz -kf "$path"; path=${path%.xz} ;; esac
		for dep in $(strings -a "$path" | sed -n 's/^depends=//p' | tr ',' ' '); do
			need "$dep"
		done
		grep -qx "$m.ko" "$root/modules.order" && return 0
		cp "$path" "$root/lib/modules/"
		echo "$m.ko" >>"$root/modules.order"
	}
	need virtio_pci
	need virtio_net
	cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /lib/modules/$m; done
ip link set lo up
ip link set eth0 up
udhcpc -q -n -t 20 -T 1 -i eth0 -s /udhcpc.sh >/dev/null 2>&1
nginx -c /etc/nginx.conf
echo "LINUX READY"
while true; do sleep 3600; done
EOF
	cat >"$root/udhcpc.sh" <<'EOF'
#!/bin/sh
case $1 in bound|renew)
	ifconfig "$interface" "$ip" netmask "$subnet"
	route add default gw "$router" ;;
esac
EOF
	cat >"$root/etc/nginx.conf" <<'EOF'
daemon on;
master_process off;
worker_processes 1;
error_log stderr;
pid /run/nginx.pid;
events { worker_connections 256; }
http {
	access_log off;
	server {
		listen 80;
		location = /healthz { default_type text/plain; return 200 "ok"; }
		location / { root /www; }
	}
}
EOF
	echo 'root:x:0:0::/:/bin/sh' >"$root/etc/passwd"
	echo 'nobody:x:65534:65534::/:/bin/false' >>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	chmod +x "$root/init" "$root/udhcpc.sh"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$L/initrd.gz"
	echo "$kpkg" >"$L/kernel-package"
	: >"$L/initrd.v2"
}

# ---- one boot ----------------------------------------------------------------
QPID=
boot() {	# boot <tern|linux> <mem> <log>; sets QPID and T0
	local args=("${NSX[@]}" qemu-system-x86_64 -machine q35 -m "$2" -bios "$OVMF"
		-display none -no-reboot -serial file:"$3")
	if [ "$NET" = tap ]; then
		args+=(-netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vnet_hdr=on
			-device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on,mac=$TAP_MAC)
	else
		args+=(-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:80
			-device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on)
	fi
	if [ "$1" = tern ]; then
		args+=(-drive if=none,id=boot,file="$B/tern-qemu.img",format=raw,snapshot=on
			-device virtio-blk-pci,drive=boot,disable-legacy=on)
	else
		args+=(-kernel "$L/vmlinuz" -initrd "$L/initrd.gz" -append "console=ttyS0 quiet")
	fi
	T0=$(date +%s%N)
	"${args[@]}" </dev/null >/dev/null 2>&1 &
	QPID=$!
}

# Waits for the first 200 on /healthz; prints ms since T0, or fails.
wait_ready() {	# wait_ready <timeout_s> [serial log]
	local end=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		kill -0 "$QPID" 2>/dev/null || return 1
		# A firmware exception, a kernel panic or out of memory: give up.
		[ -n "${2:-}" ] && grep -aqE '^!!!! |Kernel panic|Out of memory|TERN (FAIL|PANIC)|Start (PXE|HTTP Boot) over' "$2" 2>/dev/null &&
			return 1
		if [ "$("${NSX[@]}" curl -s -m 1 -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ]; then
			echo $(( ($(date +%s%N) - T0) / 1000000 ))
			return 0
		fi
		sleep 0.05
	done
	return 1
}

hwm() { awk '/VmHWM/{print int($2/1024)}' /proc/"$QPID"/status 2>/dev/null; }
stop() { kill "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; QPID=; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# "median (min..max)" of the numbers on stdin, one per line.
spread() { sort -n | awk 'NF{a[++n]=$1} END{if (n) printf "%s (%s..%s)", a[int((n+1)/2)], a[1], a[n]; else print "?"}'; }

declare -A ready mem rps rps16 rps256 ldr_ready smallest
wrk_rps() {	# wrk_rps <key> <path>: requests/s, 8 keep-alive connections, 10 s
	local raw=$W/wrk-$1-$(basename "$2").txt
	"${NSX[@]}" wrk -t1 -c8 -d10s "$URL$2" >"$raw" 2>&1
	awk '/Requests\/sec/{print int($2)}' "$raw"
}
measure() {	# measure <guest> <timeout>; results keyed <guest>-<net>
	local g=$1 tmo=$2 times=() t i k=$1-$NET
	for i in $(seq 1 "$RUNS"); do
		boot "$g" 256M "$W/$k-$i.log"
		t=$(wait_ready "$tmo") || { stop; die "$g did not serve /healthz over $NET within ${tmo}s (log $W/$k-$i.log)"; }
		times+=("$t")
		if [ "$i" = "$RUNS" ]; then
			rps[$k]=$(wrk_rps "$k" /healthz)
			rps16[$k]=$(wrk_rps "$k" /16k.bin)
			rps256[$k]=$(wrk_rps "$k" /big.bin)
		fi
		mem[$k]=$(hwm)
		stop
	done
	ready[$k]=$(printf '%s\n' "${times[@]}" | spread)
	echo "bench-boot: $g boot to first 200 over $NET: ${times[*]} ms"
}

# Smallest -m (MiB) of a list that still serves /healthz.
smallest_mem() {	# smallest_mem <guest> <timeout>
	local m
	for m in 16 24 32 48 64 96 128 192 256; do
		boot "$1" "${m}M" "$W/$1-mem$m.log"
		if wait_ready "$2" "$W/$1-mem$m.log" >/dev/null; then stop; smallest[$1]=$m; return; fi
		stop
	done
	smallest[$1]=">256"
}

make --no-print-directory -s all || die "build failed"
linux_build
case " $NETS " in *" tap "*) tap_up ;; esac
for net in $NETS; do
	use_net "$net"
	measure tern 120
	# Every run's own figure (not the last run's alone): median (min..max).
	ldr_ready[tern-$net]=$(for i in $(seq 1 "$RUNS"); do
		sed -n 's/.*pal: ready \([0-9]*\) ms after the loader started.*/\1/p' \
		    "$W/tern-$net-$i.log" | tr -d '\r' | head -1; done | spread)
	measure linux 300
done
use_net "${NETS%% *}"
smallest_mem tern 90
smallest_mem linux 200

tern_img=$(( $(stat -c %s "$B/BOOTX64.EFI") + $(stat -c %s "$B/kernel.boot.elf") +
	$(stat -c %s "$B/apps/httpd.pkg") ))
linux_img=$(( $(stat -c %s "$L/vmlinuz") + $(stat -c %s "$L/initrd.gz") ))
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
{
	echo "boot benchmark, $(date -u +%Y-%m-%d), QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), accel tcg, -m 256M, OVMF"
	echo "Linux guest: $(cat "$L/kernel-package"), busybox initramfs, nginx"
	printf '%-40s %18s %18s %10s\n' "" tern linux "linux/tern"
	for net in $NETS; do
		t=tern-$net l=linux-$net
		printf '%-40s %18s %18s %10s\n' "[$net] boot to first 200 (ms)" "${ready[$t]}" "${ready[$l]}" "$(ratio "${ready[$l]%% *}" "${ready[$t]%% *}")"
		printf '%-40s %18s %18s %10s\n' "[$net] loader start to TERN READY (ms)" "${ldr_ready[$t]}" "-" ""
		printf '%-40s %18s %18s %10s\n' "[$net] QEMU peak RSS (MiB)" "${mem[$t]}" "${mem[$l]}" "$(ratio "${mem[$l]}" "${mem[$t]}")"
		printf '%-40s %18s %18s %10s\n' "[$net] wrk requests/s (8 conns, 10 s)" "${rps[$t]}" "${rps[$l]}" "$(ratio "${rps[$l]}" "${rps[$t]}")"
		printf '%-40s %18s %18s %10s\n' "[$net] wrk requests/s, 16 KiB body" "${rps16[$t]}" "${rps16[$l]}" "$(ratio "${rps16[$l]}" "${rps16[$t]}")"
		printf '%-40s %18s %18s %10s\n' "[$net] wrk requests/s, 256 KiB body" "${rps256[$t]}" "${rps256[$l]}" "$(ratio "${rps256[$l]}" "${rps256[$t]}")"
	done
	printf '%-40s %18s %18s %10s\n' "image bytes (boot files)" "$tern_img" "$linux_img" "$(ratio "$linux_img" "$tern_img")"
	printf '%-40s %18s %18s %10s\n' "smallest -m that serves (MiB, $NET)" "${smallest[tern]}" "${smallest[linux]}" ""
} | tee "$W/boot.txt"

# The portable stack: one list for the kernel, the host tests
# (tests/netstack) and the host port.
NS_CORE := netstack/ether.c netstack/arp.c netstack/ip.c netstack/ipfrag.c \
	netstack/dhcp.c netstack/dns.c netstack/tcp.c netstack/tcp_out.c netstack/tcp_syn.c \
	netstack/tcp_cc.c netstack/siphash.c
KERNEL_SRCS += $(NS_CORE)
INTEG_TESTS += tests/integration/net.sh

# netstack/host: the host port (a struct nic on a Linux TAP device, a
# netstack_port on clock_gettime/getrandom).  Never in the kernel; used by
# build/tools/netdemo (tools/module.mk) for the Linux-peer tests and
# `make bench-net`.
NS_HOST_SRCS := $(NS_CORE) netstack/host/tap.c kernel/lib/fmt.c kernel/lib/err.c

KERNEL_SRCS += netstack/ether.c netstack/arp.c netstack/ip.c netstack/dhcp.c netstack/tcp.c
INTEG_TESTS += tests/integration/net.sh

# netstack/host: the host port (a struct nic on a Linux TAP device, a
# netstack_port on clock_gettime/getrandom).  Never in the kernel; used by
# build/tools/netdemo (tools/module.mk) for the Linux-peer tests and
# `make bench-net`.  The stack's sources are the kernel's list, so a new
# netstack/*.c reaches the host build without another edit.
NS_HOST_SRCS := $(filter netstack/%.c,$(KERNEL_SRCS)) netstack/host/tap.c \
	kernel/lib/fmt.c kernel/lib/err.c

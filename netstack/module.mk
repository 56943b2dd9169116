KERNEL_SRCS += netstack/ether.c netstack/arp.c netstack/ip.c netstack/dhcp.c netstack/tcp.c
INTEG_TESTS += tests/integration/net.sh

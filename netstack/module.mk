KERNEL_SRCS += netstack/ether.c netstack/arp.c netstack/ip.c netstack/dhcp.c netstack/tcp.c
INTEG_TESTS += tests/integration/net.sh
KERNEL_SRCS += netstack/tcp_out.c netstack/tcp_syn.c netstack/tcp_cc.c

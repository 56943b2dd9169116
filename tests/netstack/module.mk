# tests/netstack: the stack on the host against crafted frames, and a
# libFuzzer target over its input path.
NS_SRCS := $(NS_CORE) kernel/lib/fmt.c
$(eval $(call host_test,netstack_core,tests/netstack/test_netstack.c $(NS_SRCS),))
$(eval $(call host_test,netstack_tcp,tests/netstack/test_tcp.c $(NS_SRCS),))
$(eval $(call host_test,netstack_ipfrag,tests/netstack/test_ipfrag.c $(NS_SRCS),))
$(eval $(call host_test,netstack_dns,tests/netstack/test_dns.c $(NS_SRCS),))
$(eval $(call host_test,netstack_nic_v2,tests/netstack/test_nic_v2.c $(NS_SRCS),))

# One libFuzzer binary per input path, all from fuzz_input.c: the layer is
# picked at compile time (-DFUZZ_LAYER=FL_<LAYER>); fuzz.sh runs each over
# its seed corpus (tests/netstack/corpus/<layer>/).
# $(call ns_fuzz,layer,LAYER)
define ns_fuzz
$(B)/fuzz/netstack_$(1): tests/netstack/fuzz_input.c $$(NS_SRCS) $$(ALL_HDRS)
	@mkdir -p $$(dir $$@)
	$$(MSG) FUZZCC $$@
	$$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -DTERN_HOST=1 -I. \
		-DFUZZ_LAYER=FL_$(2) -o $$@ tests/netstack/fuzz_input.c $$(NS_SRCS)
FUZZ_TARGETS += $(B)/fuzz/netstack_$(1)
endef
$(eval $(call ns_fuzz,eth,ETH))
$(eval $(call ns_fuzz,arp,ARP))
$(eval $(call ns_fuzz,ip,IP))
$(eval $(call ns_fuzz,icmp,ICMP))
$(eval $(call ns_fuzz,udp,UDP))
$(eval $(call ns_fuzz,tcp,TCP))
$(eval $(call ns_fuzz,dhcp,DHCP))
$(eval $(call ns_fuzz,dns,DNS))
.PHONY: netstack-fuzz
netstack-fuzz: $(patsubst %,$(B)/fuzz/netstack_%,eth arp ip icmp udp tcp dhcp dns)
INTEG_TESTS += tests/netstack/fuzz.sh
$(eval $(call host_test,netstack_siphash,tests/netstack/test_siphash.c netstack/siphash.c,))
INTEG_TESTS += tests/netstack/tap.sh
# The host port's random hook (netstack/host/tap.c): getrandom keys, and a
# getrandom failure (seccomp in a child) stops the process.
$(eval $(call host_test,netstack_host_port,tests/netstack/test_host_port.c $(NS_HOST_SRCS),))

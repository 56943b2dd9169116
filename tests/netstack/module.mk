# tests/netstack: the stack on the host against crafted frames, and a
# libFuzzer target over its input path.
NS_SRCS := netstack/ether.c netstack/arp.c netstack/ip.c netstack/dhcp.c netstack/tcp.c \
	kernel/lib/fmt.c
NS_SRCS += netstack/tcp_out.c netstack/tcp_syn.c netstack/tcp_cc.c
$(eval $(call host_test,netstack_core,tests/netstack/test_netstack.c $(NS_SRCS),))
$(eval $(call host_test,netstack_tcp,tests/netstack/test_tcp.c $(NS_SRCS),))

$(B)/fuzz/netstack_input: tests/netstack/fuzz_input.c $(NS_SRCS) $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -DTERN_HOST=1 -I. \
		-o $@ tests/netstack/fuzz_input.c $(NS_SRCS)
FUZZ_TARGETS += $(B)/fuzz/netstack_input
INTEG_TESTS += tests/netstack/fuzz.sh

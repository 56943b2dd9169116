# tools/: see tools/README.md

# Re-record the QEMU virtio and NVMe traces under tests/traces/
# (docs/trace-format.md); `make record-traces ONLY="nvme"` for some.
.PHONY: record-traces
record-traces: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)B=$(B) tools/record-traces.sh $(ONLY)

# netdemo: the netstack on a TAP device serving HTTP (tools/netdemo.c).
# Two builds of the same sources: build/tools/netdemo is the performance
# build (-O2, no sanitizers: `make bench-net` measures it, and callgrind
# counts its instructions); build/tools/netdemo-asan is HOST_CFLAGS (ASan +
# UBSan) for tests/netstack/tap.sh, so hostile peers show memory errors.
NETDEMO_SRCS := tools/netdemo.c $(NS_HOST_SRCS)
NETDEMO_PERF_CFLAGS := -std=gnu11 -O2 -g $(WARN) -DTERN_HOST=1 -I.
$(B)/tools/netdemo: $(NETDEMO_SRCS) $(ALL_HDRS) Makefile
	@mkdir -p $(dir $@)
	$(MSG) HOSTCC $@
	$(Q)$(HOST_CC) $(NETDEMO_PERF_CFLAGS) -o $@ $(NETDEMO_SRCS)
$(eval $(call host_prog,$(B)/tools/netdemo-asan,$(NETDEMO_SRCS),,))
HOST_TOOLS += $(B)/tools/netdemo $(B)/tools/netdemo-asan

# Benchmarks (not part of make test): figures side by side with the peer.
.PHONY: bench-boot
bench-boot: deps
	$(Q)B=$(B) tools/bench-boot.sh
.PHONY: bench-net
bench-net: deps $(B)/tools/netdemo
	$(Q)B=$(B) tools/bench-net.sh
bench: bench-boot bench-net

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

# ternsim: the hosted guest (docs/ternsim.md) - the virtio drivers over
# the device simulator, the device registry, the netstack, the PAL runtime
# and a workload package in one Linux process, its wire a TAP device.
# Entropy is the host's getrandom (tools/ternsim/ts_kern.c), not pal/entropy.c.
# -O2 without sanitizers: the runtime switches stacks by hand and kills
# threads mid-call, which ASan's stack poisoning does not follow.
TERNSIM_SRCS := tools/ternsim/ternsim.c tools/ternsim/ts_kern.c tools/ternsim/ts_azure.c \
	tests/vmbus/hv_sim.c tests/vmbus/netvsc_vsp.c kernel/hv/hv.c vmbus/vmbus.c vmbus/vmbus_ring.c \
	vmbus/netvsc.c vmbus/netvsc_datapath.c kernel/dev/bus.c \
	tests/virtio/virtio_sim.c tests/virtio/virtio_regnames.c tests/hw/hw_host.c \
	virtio/virtio.c virtio/virtio_net.c virtio/virtio_net_mq.c virtio/virtio_blk.c \
	kernel/dev/dev.c kernel/dev/blk.c kernel/dev/blktest.c kernel/log.c kernel/cmdline.c \
	kernel/lib/fmt.c kernel/lib/err.c $(NS_CORE) \
	pal/rt.c pal/rt_api.c pal/rt_sock.c pal/pal_net.c pal/sched.c pal/txref.c \
	pal/pkg.c pal/elf_load.c pal/pal_cloud.c pal/cloud_cfg.c $(CLOUD_SRCS)
$(B)/tools/ternsim: $(TERNSIM_SRCS) $(ALL_HDRS) Makefile
	@mkdir -p $(dir $@)
	$(MSG) HOSTCC $@
	$(Q)$(HOST_CC) $(NETDEMO_PERF_CFLAGS) -o $@ $(TERNSIM_SRCS)
HOST_TOOLS += $(B)/tools/ternsim

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
# Instructions per keep-alive /healthz request, per layer, in ternsim
# under callgrind (tools/bench-insn.sh): counts, not time, so it can run
# on a busy machine.
.PHONY: bench-insn
bench-insn: deps $(B)/tools/ternsim $(B)/apps/httpd.pkg
	$(Q)B=$(B) tools/bench-insn.sh
bench: bench-boot bench-net bench-insn

# ternsim: the hosted guest (docs/ternsim.md) - the virtio drivers over
# the device simulator, the device registry, the netstack, the PAL runtime
# and a workload package in one Linux process, its wire a TAP device.
# Entropy is the host's getrandom (tools/ternsim/ts_kern.c), not pal/entropy.c.
# -O2 without sanitizers: the runtime switches stacks by hand and kills
# threads mid-call, which ASan's stack poisoning does not follow.
TERNSIM_SRCS := tools/ternsim/ternsim.c tools/ternsim/ts_kern.c tools/ternsim/ts_azure.c \
	tests/vmbus/hv_sim.c kernel/hv/hv.c vmbus/vmbus.c vmbus/vmbus_ring.c kernel/dev/bus.c \
	tools/ternsim/ts_nitro.c tools/ternsim/ts_impair.c \
	tests/ena/ena_sim.c tests/ena/ena_sim_io.c ena/ena.c ena/ena_admin.c ena/ena_datapath.c \
	tests/nvme/nvme_sim.c nvme/nvme.c nvme/nvme_io.c \
	tests/vmbus/storvsc_vsp.c vmbus/storvsc.c vmbus/storvsc_io.c \
	tests/vmbus/netvsc_vsp.c vmbus/netvsc.c vmbus/netvsc_datapath.c \
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

# Disk image tools (images/module.mk, docs/clouds.md): check-image refuses
# what EC2 or Azure would refuse; mkvhd appends the fixed-VHD footer.
$(eval $(call host_prog,$(B)/tools/check-image,tools/check-image.c,,))
$(eval $(call host_prog,$(B)/tools/mkvhd,tools/mkvhd.c,,))
HOST_TOOLS += $(B)/tools/check-image $(B)/tools/mkvhd

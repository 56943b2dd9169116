# tests/vmbus: the Hyper-V enlightenments and the VMBus core against the
# strict host simulator (hv_sim.c, PROTOCOLS.md B.15).
VMBUS_TEST_COMMON := tests/vmbus/hv_sim.c tests/hw/kstubs.c \
	tests/hw/hw_host.c kernel/hv/hv.c kernel/hv/hv_timer.c kernel/lib/fmt.c kernel/lib/err.c
$(eval $(call host_test,hv,tests/vmbus/test_hv.c $(VMBUS_TEST_COMMON),))
$(eval $(call host_test,vmbus,tests/vmbus/test_vmbus.c vmbus/vmbus.c \
	vmbus/vmbus_ring.c kernel/dev/bus.c $(VMBUS_TEST_COMMON),))
# A hostile host (libFuzzer): raw SynIC messages, ring bytes and indices,
# rescinds, against a connected bus with an open channel.
VMBUS_FUZZ_CC ?= clang
VMBUS_FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-DTERN_HOST=1 -I.
VMBUS_FUZZ_SRCS := tests/vmbus/fuzz_vmbus.c vmbus/vmbus.c vmbus/vmbus_ring.c \
	kernel/dev/bus.c $(VMBUS_TEST_COMMON)
$(B)/fuzz/vmbus: $(VMBUS_FUZZ_SRCS) $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)$(VMBUS_FUZZ_CC) $(VMBUS_FUZZ_CFLAGS) -o $@ $(VMBUS_FUZZ_SRCS)
FUZZ_TARGETS += $(B)/fuzz/vmbus
# A hostile netvsc host: transfer packets, RNDIS messages, completions.
NETVSC_FUZZ_SRCS := tests/vmbus/fuzz_netvsc.c tests/vmbus/netvsc_vsp.c \
	vmbus/netvsc.c vmbus/netvsc_datapath.c vmbus/vmbus.c vmbus/vmbus_ring.c \
	kernel/dev/bus.c kernel/dev/dev.c $(VMBUS_TEST_COMMON)
$(B)/fuzz/netvsc: $(NETVSC_FUZZ_SRCS) $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)$(VMBUS_FUZZ_CC) $(VMBUS_FUZZ_CFLAGS) -o $@ $(NETVSC_FUZZ_SRCS)
FUZZ_TARGETS += $(B)/fuzz/netvsc
INTEG_TESTS += tests/vmbus/fuzz.sh tests/vmbus/fuzz_netvsc.sh
# ternsim --platform=azure prints the HV and VMBUS markers (build/tools/ternsim).
INTEG_TESTS += tests/vmbus/ternsim_azure.sh
# The enlightenments and the VMBus core replaying a trace recorded from
# the simulator (tests/hw/hw_record.c); `make record-hvsim-trace` records
# it again (then review the diff: a change means the guest's behaviour
# changed).
HV_REPLAY_SRCS := tests/vmbus/test_hv_replay.c vmbus/vmbus.c vmbus/vmbus_ring.c \
	kernel/dev/bus.c tests/hw/hw_record.c tests/hw/hw_replay.c tests/hw/trace_util.c \
	$(VMBUS_TEST_COMMON)
$(eval $(call host_test,hv_replay,$(HV_REPLAY_SRCS),))
$(B)/tests/hv_replay: tests/traces/hvsim-vmbus.trace
# netvsc and storvsc replaying traces recorded from the simulator and its
# VSPs (bring-up and a little traffic each).
VSC_REPLAY_SRCS := tests/vmbus/test_vsc_replay.c tests/vmbus/netvsc_vsp.c \
	tests/vmbus/storvsc_vsp.c vmbus/netvsc.c vmbus/netvsc_datapath.c vmbus/storvsc.c \
	vmbus/storvsc_io.c vmbus/vmbus.c vmbus/vmbus_ring.c kernel/dev/bus.c kernel/dev/dev.c \
	kernel/dev/blk.c tests/hw/hw_record.c tests/hw/hw_replay.c tests/hw/trace_util.c \
	$(VMBUS_TEST_COMMON)
$(eval $(call host_test,vsc_replay,$(VSC_REPLAY_SRCS),))
$(B)/tests/vsc_replay: tests/traces/hvsim-netvsc.trace tests/traces/hvsim-storvsc.trace
.PHONY: record-hvsim-trace
record-hvsim-trace: $(B)/tests/hv_replay $(B)/tests/vsc_replay
	$(B)/tests/hv_replay --record tests/traces/hvsim-vmbus.trace
	$(B)/tests/vsc_replay --record-netvsc tests/traces/hvsim-netvsc.trace
	$(B)/tests/vsc_replay --record-storvsc tests/traces/hvsim-storvsc.trace
# The kernel glue (kernel/hv/hv_kern.c, vmbus/vmbus_kern.c, included by the
# test) against the simulator, with the kernel services it calls stubbed
# in tests/vmbus/hv_kern_stubs.c.
$(eval $(call host_test,hv_kern,tests/vmbus/test_hv_kern.c tests/vmbus/hv_kern_stubs.c \
	vmbus/vmbus.c vmbus/vmbus_ring.c kernel/dev/bus.c kernel/clock/clock_calc.c \
	$(VMBUS_TEST_COMMON),))
$(B)/tests/hv_kern: kernel/hv/hv_kern.c vmbus/vmbus_kern.c
# storvsc (vmbus/storvsc*.c) against hv_sim with the storvsc VSP.
$(eval $(call host_test,storvsc,tests/vmbus/test_storvsc.c \
	tests/vmbus/storvsc_vsp.c tests/hw/hw_fault.c vmbus/storvsc.c vmbus/storvsc_io.c \
	vmbus/vmbus.c vmbus/vmbus_ring.c kernel/dev/bus.c kernel/dev/blk.c \
	$(VMBUS_TEST_COMMON),))
# A hostile storvsc host (libFuzzer): fuzzed completions, sense data,
# transfer lengths, raw packets and rescinds with requests in flight.
STORVSC_FUZZ_SRCS := tests/vmbus/fuzz_storvsc.c tests/vmbus/storvsc_vsp.c \
	vmbus/storvsc.c vmbus/storvsc_io.c vmbus/vmbus.c vmbus/vmbus_ring.c \
	kernel/dev/bus.c kernel/dev/blk.c $(VMBUS_TEST_COMMON)
$(B)/fuzz/storvsc: $(STORVSC_FUZZ_SRCS) $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)$(VMBUS_FUZZ_CC) $(VMBUS_FUZZ_CFLAGS) -o $@ $(STORVSC_FUZZ_SRCS)
FUZZ_TARGETS += $(B)/fuzz/storvsc
INTEG_TESTS += tests/vmbus/fuzz_storvsc.sh
# netvsc (vmbus/netvsc*.c) on the VMBus core against the simulator's
# netvsc VSP (tests/vmbus/netvsc_vsp.c).
$(eval $(call host_test,netvsc,tests/vmbus/test_netvsc.c tests/vmbus/netvsc_vsp.c \
	vmbus/netvsc.c vmbus/netvsc_datapath.c vmbus/vmbus.c vmbus/vmbus_ring.c \
	kernel/dev/bus.c kernel/dev/dev.c $(NS_CORE) $(VMBUS_TEST_COMMON),))
# netvsc's transmit wait on a full ring (pending_send_sz, tx_ready) with
# the netstack on top: the same driver built with an 8 KiB ring, which
# transmit can fill (the 128 KiB one runs out of slots first).
$(eval $(call host_test,netvsc_txwait,tests/vmbus/test_netvsc_txwait.c \
	tests/vmbus/netvsc_vsp.c vmbus/netvsc.c vmbus/netvsc_datapath.c vmbus/vmbus.c \
	vmbus/vmbus_ring.c kernel/dev/bus.c kernel/dev/dev.c $(NS_CORE) \
	$(VMBUS_TEST_COMMON),-DNETVSC_RING_BYTES=8192))

# tests/ena: the ENA driver against the strict device simulator
# (tests/ena/ena_sim.c and ena_sim_io.c, written from PROTOCOLS.md section A).
ENA_CORE := ena/ena.c ena/ena_admin.c ena/ena_datapath.c
$(eval $(call host_test,ena_sim,tests/ena/test_ena.c tests/ena/ena_sim.c tests/ena/ena_sim_io.c \
	tests/hw/kstubs.c kernel/dev/dev.c tests/hw/hw_host.c $(ENA_CORE) kernel/lib/fmt.c kernel/lib/err.c,))
# One fault at every countdown position of attach and of recovery.
$(eval $(call host_test,ena_fault,tests/ena/test_ena_fault.c tests/ena/ena_sim.c tests/ena/ena_sim_io.c \
	tests/hw/kstubs.c kernel/dev/dev.c tests/hw/hw_host.c $(ENA_CORE) kernel/lib/fmt.c kernel/lib/err.c,))
# libFuzzer: the driver against the simulator in hostile mode (clang).
ENA_FUZZ_SRCS := tests/ena/fuzz_ena.c tests/ena/ena_sim.c tests/ena/ena_sim_io.c tests/hw/kstubs.c kernel/dev/dev.c \
	tests/hw/hw_host.c $(ENA_CORE) kernel/lib/fmt.c kernel/lib/err.c
$(B)/fuzz/ena_hostile: $(ENA_FUZZ_SRCS) $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -DTERN_HOST=1 -I. \
		-o $@ $(ENA_FUZZ_SRCS)
FUZZ_TARGETS += $(B)/fuzz/ena_hostile
INTEG_TESTS += tests/ena/fuzz.sh
INTEG_TESTS += tests/ena/ternsim_nitro.sh
# The driver replaying a trace recorded from the simulator
# (ENA_RECORD=1 build/tests/ena_replay records it again).
$(eval $(call host_test,ena_replay,tests/ena/test_ena_replay.c tests/ena/ena_rec.c \
	tests/ena/ena_sim.c tests/ena/ena_sim_io.c tests/hw/kstubs.c kernel/dev/dev.c tests/hw/hw_replay.c \
	tests/hw/trace_util.c tests/hw/hw_host.c $(ENA_CORE) kernel/lib/fmt.c kernel/lib/err.c,))
$(B)/tests/ena_replay: tests/traces/ena-sim.trace

# The big-download package (httpd with 1 MiB, 32 MiB and 100 MiB files),
# shared by tests/ena/ternsim_nitro.sh and tests/vmbus/ternsim_azure.sh;
# built when a script asks for it, never by `make all`.  Deterministic
# bytes: an AES-CTR keystream with a fixed key (openssl), else Python's
# seeded generator.
$(B)/tests/ena/100m.bin: tests/ena/module.mk
	@mkdir -p $(dir $@)
	$(MSG) GEN $@
	$(Q)if command -v openssl >/dev/null; then \
		openssl enc -aes-128-ctr -nosalt -K 7465726e2d656e612d69737375653136 \
			-iv 0 -in /dev/zero 2>/dev/null | head -c 104857600 >$@.tmp; \
	else \
		python3 -c "import random,sys; sys.stdout.buffer.write(random.Random(16).randbytes(104857600))" >$@.tmp; \
	fi && [ "$$(stat -c %s $@.tmp)" = 104857600 ] && mv $@.tmp $@
$(B)/tests/ena/32m.bin: $(B)/tests/ena/100m.bin
	$(Q)head -c 33554432 $< >$@
$(B)/tests/ena/httpd-big.pkg: $(B)/apps/httpd.elf apps/httpd/manifest $(HTTPD_WWW) $(B)/apps/httpd/big.bin \
		$(B)/tests/hosted/1m.bin $(B)/tests/ena/32m.bin $(B)/tests/ena/100m.bin $(MKPKG)
	$(MSG) MKPKG $@
	$(Q)$(MKPKG) -o $@ -m apps/httpd/manifest -e $(B)/apps/httpd.elf \
		$(foreach f,$(HTTPD_WWW),www/$(notdir $(f))=$(f)) www/big.bin=$(B)/apps/httpd/big.bin \
		www/1m.bin=$(B)/tests/hosted/1m.bin www/32m.bin=$(B)/tests/ena/32m.bin \
		www/100m.bin=$(B)/tests/ena/100m.bin

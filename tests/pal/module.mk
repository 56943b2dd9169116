# tests/pal: host tests for the PAL's portable parts (see pal/README.md)
$(eval $(call host_test,pal/test_pkg,tests/pal/test_pkg.c pal/pkg.c,))

$(B)/fuzz/pal_pkg: tests/pal/fuzz_pkg.c pal/pkg.c $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -DTERN_HOST=1 -I. \
		-o $@ tests/pal/fuzz_pkg.c pal/pkg.c
FUZZ_TARGETS += $(B)/fuzz/pal_pkg
INTEG_TESTS += tests/pal/fuzz.sh

# A real workload ELF for the loader test: freestanding static PIE, only
# R_X86_64_RELATIVE relocations, entered at pal_main.
$(B)/tests/pal/workload.elf: tests/pal/workload.c pal/pal.h
	@mkdir -p $(dir $@)
	$(MSG) WLCC $@
	$(Q)$(CC) $(PAL_WL_CFLAGS) -o $@ $<
$(eval $(call host_test,pal/test_elf,tests/pal/test_elf.c pal/elf_load.c,-DWL_PATH='"$(B)/tests/pal/workload.elf"'))
$(B)/tests/pal/test_elf: $(B)/tests/pal/workload.elf

$(eval $(call host_test,pal/test_sched,tests/pal/test_sched.c pal/sched.c,))
$(eval $(call host_test,pal/test_entropy,tests/pal/test_entropy.c pal/entropy.c tests/hw/hw_host.c tests/hw/kstubs.c,))
# pal_net.c's netstack_port over the real netstack, with fake kernel
# services and a recording entropy source (the random hook's binding).
$(eval $(call host_test,pal/test_pal_net,tests/pal/test_pal_net.c pal/pal_net.c tests/hw/kstubs.c $(NS_CORE) kernel/lib/fmt.c kernel/lib/err.c,))
$(eval $(call host_test,pal/test_txref,tests/pal/test_txref.c pal/txref.c pal/sched.c,))

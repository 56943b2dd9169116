# tests/platform: ACPI, SMBIOS, platform classifier and PCI enumeration
# (issue 3).  The parsers are the kernel sources, compiled for the host
# with ASan/UBSan; fake_fw.c builds table sets, tests/hw/kstubs.c replaces klog.
PLAT_TEST_COMMON := tests/platform/fake_fw.c tests/hw/kstubs.c

$(eval $(call host_test,plat_acpi,tests/platform/test_acpi.c kernel/acpi/acpi.c $(PLAT_TEST_COMMON),))
$(eval $(call host_test,plat_smbios,tests/platform/test_smbios.c kernel/smbios/smbios.c $(PLAT_TEST_COMMON),))
$(eval $(call host_test,plat_classify,tests/platform/test_platform.c kernel/platform/platform.c kernel/platform/platform_ev.c kernel/acpi/acpi.c kernel/smbios/smbios.c $(PLAT_TEST_COMMON),))
$(eval $(call host_test,plat_pci,tests/platform/test_pci.c kernel/pci/pci.c kernel/pci/pci_drv.c kernel/pci/pci_hw.c kernel/dev/bus.c kernel/lib/err.c $(PLAT_TEST_COMMON),))
$(eval $(call host_test,plat_clock,tests/platform/test_clock.c kernel/clock/clock_calc.c,))
# The kernel side (kernel/clock/clock_kern.c, included by the test) with a
# fake HPET behind the hardware seam and the kernel clock stubbed.
$(eval $(call host_test,plat_clock_kern,tests/platform/test_clock_kern.c kernel/clock/clock_calc.c tests/hw/hw_host.c tests/hw/kstubs.c,))
$(B)/tests/plat_clock_kern: kernel/clock/clock_kern.c
$(eval $(call host_test,plat_realfw,tests/platform/test_realfw.c kernel/acpi/acpi.c kernel/smbios/smbios.c kernel/platform/platform.c kernel/platform/platform_ev.c $(PLAT_TEST_COMMON),))
$(eval $(call host_test,plat_intr,tests/platform/test_intr.c kernel/platform/ioapic.c kernel/pci/pci_msix.c kernel/acpi/acpi.c tests/hw/hw_host.c $(PLAT_TEST_COMMON),))
$(eval $(call host_test,plat_msix,tests/platform/test_msix.c kernel/pci/pci_msix.c tests/hw/hw_replay.c tests/hw/hw_host.c,))

# QEMU integration: one boot each on tests/integration/lib.sh.
INTEG_TESTS += tests/integration/platform_qemu.sh \
	tests/integration/platform_nitro.sh tests/integration/platform_azure.sh

# A debugging aid, not a test: parse a raw guest memory dump.
$(eval $(call host_prog,$(B)/tools/fwscan,tests/platform/fwscan.c kernel/acpi/acpi.c kernel/smbios/smbios.c kernel/platform/platform.c kernel/platform/platform_ev.c tests/hw/kstubs.c,,))

# libFuzzer targets for the two firmware parsers (clang).  make test runs
# each for 5 s over tests/platform/corpus/ (tests/platform/fuzz.sh); longer:
#   FUZZ_SECONDS=600 tests/platform/fuzz.sh
PLAT_FUZZ_CC ?= clang
PLAT_FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-DTERN_HOST=1 -I.
$(B)/fuzz/plat_acpi: tests/platform/fuzz_acpi.c kernel/acpi/acpi.c $(PLAT_TEST_COMMON) $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)$(PLAT_FUZZ_CC) $(PLAT_FUZZ_CFLAGS) -o $@ tests/platform/fuzz_acpi.c kernel/acpi/acpi.c $(PLAT_TEST_COMMON)
$(B)/fuzz/plat_smbios: tests/platform/fuzz_smbios.c kernel/smbios/smbios.c $(PLAT_TEST_COMMON) $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)$(PLAT_FUZZ_CC) $(PLAT_FUZZ_CFLAGS) -o $@ tests/platform/fuzz_smbios.c kernel/smbios/smbios.c $(PLAT_TEST_COMMON)
FUZZ_TARGETS += $(B)/fuzz/plat_acpi $(B)/fuzz/plat_smbios
INTEG_TESTS += tests/platform/fuzz.sh

# tests/hosted: build/tools/ternsim, the hosted guest, against Linux peers
# on TAP devices in a private network namespace (docs/ternsim.md).
INTEG_TESTS += tests/hosted/ternsim.sh

# The hosted checks' package: httpd with a 1 MiB file besides the default
# package's 256 KiB big.bin (the QEMU images keep the smaller package).
# Deterministic bytes (an LCG with its own seed), so rebuilds match.
$(B)/tests/hosted/1m.bin: tests/hosted/module.mk
	@mkdir -p $(dir $@)
	$(Q)python3 -c "import sys; x=7; o=bytearray(); \
	exec('for i in range(1048576):\n x=(x*6364136223846793005+1442695040888963407)%(1<<64)\n o.append(x>>56)'); \
	sys.stdout.buffer.write(o)" >$@

$(B)/tests/hosted/httpd-1m.pkg: $(B)/apps/httpd.elf apps/httpd/manifest $(HTTPD_WWW) $(B)/apps/httpd/big.bin $(B)/tests/hosted/1m.bin $(MKPKG)
	$(MSG) MKPKG $@
	$(Q)$(MKPKG) -o $@ -m apps/httpd/manifest -e $(B)/apps/httpd.elf \
		$(foreach f,$(HTTPD_WWW),www/$(notdir $(f))=$(f)) www/big.bin=$(B)/apps/httpd/big.bin \
		www/1m.bin=$(B)/tests/hosted/1m.bin

# ternsim's wire impairment (--impair, tools/ternsim/ts_impair.c) on its own.
$(eval $(call host_test,ternsim_impair,tests/hosted/test_impair.c tools/ternsim/ts_impair.c tests/hw/kstubs.c,))

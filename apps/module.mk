# apps/: sample workloads built against pal/pal.h (see apps/README.md).
#
# httpd: the default workload.  The ELF is a freestanding static PIE
# (PAL_WL_CFLAGS, pal/module.mk); the package holds it, the manifest and
# the files under apps/httpd/www plus a generated 256 KiB binary file that
# the integration test compares byte for byte.
HTTPD_SRCS := apps/httpd/main.c apps/httpd/http.c apps/httpd/util.c
HTTPD_WWW := $(wildcard apps/httpd/www/*)

$(B)/apps/httpd.elf: $(HTTPD_SRCS) apps/httpd/http.h apps/httpd/util.h pal/pal.h
	@mkdir -p $(dir $@)
	$(MSG) WLCC $@
	$(Q)$(CC) $(PAL_WL_CFLAGS) -o $@ $(HTTPD_SRCS)

# Deterministic pseudo-random bytes (a 64-bit LCG), so rebuilds match:
# big.bin 256 KiB, 16k.bin its first 16 KiB (make bench-boot's two body
# sizes).
$(B)/apps/httpd/big.bin: apps/module.mk
	@mkdir -p $(dir $@)
	$(Q)python3 -c "import sys; x=1; o=bytearray(); \
	exec('for i in range(262144):\n x=(x*6364136223846793005+1442695040888963407)%(1<<64)\n o.append(x>>56)'); \
	sys.stdout.buffer.write(o)" >$@

$(B)/apps/httpd/16k.bin: $(B)/apps/httpd/big.bin
	$(Q)head -c 16384 $< >$@

$(B)/apps/httpd.pkg: $(B)/apps/httpd.elf apps/httpd/manifest $(HTTPD_WWW) $(B)/apps/httpd/big.bin \
    $(B)/apps/httpd/16k.bin $(MKPKG)
	$(MSG) MKPKG $@
	$(Q)$(MKPKG) -o $@ -m apps/httpd/manifest -e $(B)/apps/httpd.elf \
		$(foreach f,$(HTTPD_WWW),www/$(notdir $(f))=$(f)) www/big.bin=$(B)/apps/httpd/big.bin \
		www/16k.bin=$(B)/apps/httpd/16k.bin

IMAGE_APP ?= $(B)/apps/httpd.pkg

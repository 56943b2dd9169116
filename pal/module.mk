KERNEL_SRCS += $(wildcard pal/*.c)
INTEG_TESTS += tests/integration/http.sh

# mkpkg: the host package builder (tools/mkpkg.c shares pal/pkg.c with the
# runtime, so what it writes is what the runtime accepts).
$(eval $(call host_prog,$(B)/tools/mkpkg,tools/mkpkg.c pal/pkg.c,,))
HOST_TOOLS += $(B)/tools/mkpkg
MKPKG := $(B)/tools/mkpkg

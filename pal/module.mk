KERNEL_SRCS += $(wildcard pal/*.c)
INTEG_TESTS += tests/integration/http.sh

# mkpkg: the host package builder (tools/mkpkg.c shares pal/pkg.c with the
# runtime, so what it writes is what the runtime accepts).
$(eval $(call host_prog,$(B)/tools/mkpkg,tools/mkpkg.c pal/pkg.c,,))
HOST_TOOLS += $(B)/tools/mkpkg
MKPKG := $(B)/tools/mkpkg

# Workload ELFs (apps/, tests/pal/workload.c): freestanding static PIE with
# only R_X86_64_RELATIVE relocations, entered at pal_main, using no vector
# registers (the kernel does not save them; docs/packages.md).
PAL_WL_CFLAGS := -std=gnu11 -O2 $(WARN) -ffreestanding -fPIE -fno-stack-protector \
	-mno-red-zone -mgeneral-regs-only -fno-tree-loop-distribute-patterns \
	-nostdlib -static-pie -Wl,-e,pal_main -Wl,-z,noexecstack -Wl,-z,separate-code -I.
INTEG_TESTS += tests/integration/app.sh

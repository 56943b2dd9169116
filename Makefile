# tern: the one Makefile. It is non-recursive: every folder contributes a
# module.mk that appends to the lists below, and all rules live in one make
# process so dependencies between folders are exact.  Output goes to build/.
#
#   make            kernel, loader and the default QEMU image
#   make run        install missing Debian packages, boot the image in QEMU
#   make test       install missing packages, run every test, print
#                   "N passed, N failed"
#   make V=1 ...    show the commands
.DEFAULT_GOAL := all
SHELL := /bin/bash

B := build
V ?= 0
Q := $(if $(filter 1,$(V)),,@)
MSG = $(if $(filter 1,$(V)),@true,@printf '  %-7s %s\n')

CC := gcc
LD := ld
OBJCOPY := objcopy
HOST_CC ?= gcc

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wno-unused-parameter

# KERNEL: freestanding x86-64 code linked at -2 GiB.  No red zone because
# interrupts arrive on the same stack; no SSE/MMX/x87 so the interrupt path
# never has to save vector state; mcmodel=kernel for the -2 GiB link address;
# a global stack-protector canary because a kernel overflow must be loud.
KERNEL_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-pic -fno-pie \
	-mno-red-zone -mno-sse -mno-sse2 -mno-mmx -mno-80387 -mcmodel=kernel \
	-fno-omit-frame-pointer -fno-common -fno-builtin -fstack-protector-strong \
	-mstack-protector-guard=global -ffunction-sections -fdata-sections \
	-DTERN_KERNEL=1 -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
	-Ikernel/lib/include -I. -MMD -MP
KERNEL_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack \
	--gc-sections -T kernel/arch/x86_64/kernel.ld

# EFI: the loader is a PE32+ application built with gnu-efi.  It must be
# position independent (the firmware relocates it), must not use the red
# zone (firmware interrupts share the stack) and uses the MS ABI for
# firmware calls, so EFIAPI functions can be called directly.
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
EFI_CFLAGS := -std=gnu11 -O2 $(WARN) -Wno-strict-prototypes -Wno-missing-prototypes \
	-ffreestanding -fpic -fshort-wchar -fno-stack-protector -fno-strict-aliasing \
	-mno-red-zone -mno-sse -mno-mmx -DGNU_EFI_USE_MS_ABI -DEFI_FUNCTION_WRAPPER \
	-DTERN_EFI=1 -I$(EFI_INC) -I$(EFI_INC)/x86_64 -I. -MMD -MP
EFI_LDFLAGS := -nostdlib -znocombreloc -shared -Bsymbolic \
	-T $(EFI_LIB)/elf_x86_64_efi.lds $(EFI_LIB)/crt0-efi-x86_64.o

# HOST: unit tests, simulators and tools run on the build machine.  The same
# driver and parser sources as the kernel are compiled here with ASan and
# UBSan so every out-of-bounds read on hostile input fails the test.
HOST_SAN ?= -fsanitize=address,undefined -fno-sanitize-recover=all
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARN) $(HOST_SAN) -fno-omit-frame-pointer \
	-DTERN_HOST=1 -I.
HOST_LDLIBS := -lcmocka

# Lists that module.mk files append to.
KERNEL_SRCS :=        # .c and .S files linked into build/kernel.elf
EFI_SRCS :=           # .c files linked into the loader
HOST_TESTS :=         # cmocka test binaries (build/tests/...)
HOST_TOOLS :=         # host programs (build/tools/...)
INTEG_TESTS :=        # integration test scripts, run after the unit tests
FUZZ_TARGETS :=       # libFuzzer binaries (build/fuzz/...)

# Every header in the tree: host programs are rebuilt when any of them
# changes.  Kernel and EFI objects use exact -MMD dependencies instead.
ALL_HDRS := $(shell find boot kernel virtio nvme ena vmbus netstack cloud pal apps tests tools -name '*.h' 2>/dev/null)

# $(call host_prog,output,sources,extra cflags,extra libs)
define host_prog
$(1): $(2) $$(ALL_HDRS) Makefile
	@mkdir -p $$(dir $$@)
	$$(MSG) HOSTCC $$@
	$$(Q)$$(HOST_CC) $$(HOST_CFLAGS) $(3) -o $$@ $(2) $(4)
endef
# $(call host_test,name,sources,extra cflags)  -> build/tests/name
define host_test
HOST_TESTS += $(B)/tests/$(1)
$(call host_prog,$(B)/tests/$(1),$(2),$(3),$$(HOST_LDLIBS))
endef

include boot/module.mk kernel/module.mk virtio/module.mk nvme/module.mk \
	ena/module.mk vmbus/module.mk netstack/module.mk cloud/module.mk pal/module.mk \
	apps/module.mk images/module.mk tools/module.mk tests/module.mk

KERNEL_OBJS := $(patsubst %,$(B)/kernel/%.o,$(KERNEL_SRCS))
EFI_OBJS := $(patsubst %,$(B)/efi/%.o,$(EFI_SRCS))

$(B)/kernel/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(MSG) CC $<
	$(Q)$(CC) $(KERNEL_CFLAGS) -c -o $@ $<
$(B)/kernel/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(MSG) AS $<
	$(Q)$(CC) $(KERNEL_CFLAGS) -c -o $@ $<
$(B)/kernel.elf: $(KERNEL_OBJS) kernel/arch/x86_64/kernel.ld
	$(MSG) LD $@
	$(Q)$(LD) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJS)
# What the images carry: the same kernel without symbols and debug
# sections (about a sixth of the size), so the firmware reads less at
# boot.  build/kernel.elf keeps them for gdb and addr2line.
$(B)/kernel.boot.elf: $(B)/kernel.elf
	$(MSG) STRIP $@
	$(Q)objcopy --strip-all $< $@

$(B)/efi/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(MSG) EFICC $<
	$(Q)$(CC) $(EFI_CFLAGS) -c -o $@ $<
$(B)/bootx64.so: $(EFI_OBJS)
	$(MSG) LD $@
	$(Q)$(LD) $(EFI_LDFLAGS) -o $@ $(EFI_OBJS) -L$(EFI_LIB) -lefi -lgnuefi
$(B)/BOOTX64.EFI: $(B)/bootx64.so
	$(MSG) OBJCOPY $@
	$(Q)$(OBJCOPY) -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym \
		-j .rel -j .rela -j '.rel.*' -j '.rela.*' -j .reloc \
		--target=efi-app-x86_64 --subsystem=10 $< $@

-include $(KERNEL_OBJS:.o=.d) $(EFI_OBJS:.o=.d)

.PHONY: all deps run test unit integ fuzz bench clean
all: $(B)/kernel.elf $(B)/BOOTX64.EFI $(HOST_TOOLS) image

deps:
	$(Q)tools/deps.sh

unit: $(HOST_TESTS)
test: deps
	$(Q)$(MAKE) --no-print-directory all $(HOST_TESTS) $(FUZZ_TARGETS)
	$(Q)B=$(B) tests/run.sh $(HOST_TESTS) -- $(INTEG_TESTS)

clean:
	rm -rf $(B)

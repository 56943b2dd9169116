# images/: per-cloud disk images.  `make image` builds the QEMU image
# build/tern-qemu.img (GPT + FAT32 ESP); IMAGE_APP, when set by a module,
# is the workload package placed at \tern\app.pkg.
IMAGE_SIZE_MB ?= 64
IMAGE_CMDLINE ?= images/qemu.cmdline

$(B)/tern-qemu.img: $(B)/BOOTX64.EFI $(B)/kernel.elf $(IMAGE_CMDLINE) $(IMAGE_APP) tools/mkimage.sh
	$(MSG) IMAGE $@
	$(Q)tools/mkimage.sh $@ $(IMAGE_SIZE_MB) $(B)/BOOTX64.EFI $(B)/kernel.elf $(IMAGE_CMDLINE) $(IMAGE_APP)

.PHONY: image
image: $(B)/tern-qemu.img

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/run-qemu.sh $(B)/tern-qemu.img

INTEG_TESTS += tests/integration/kernel_boot.sh tests/integration/loader_corrupt.sh

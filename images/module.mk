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

# Cloud images.  The disk layout is the same GPT + ESP; the clouds differ
# in container format: EC2 imports a raw disk (aws ec2 import-snapshot, UEFI
# boot mode), Azure wants a fixed VHD whose virtual size is a whole number
# of MiB (qemu-img's force_size keeps it exact).
$(B)/tern-aws.img: $(B)/tern-qemu.img
	$(MSG) IMAGE $@
	$(Q)cp $< $@
$(B)/tern-azure.vhd: $(B)/tern-qemu.img
	$(MSG) IMAGE $@
	$(Q)qemu-img convert -q -f raw -O vpc -o subformat=fixed,force_size $< $@

.PHONY: image-aws image-azure
image-aws: $(B)/tern-aws.img
image-azure: $(B)/tern-azure.vhd

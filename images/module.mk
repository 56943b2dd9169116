# images/: per-cloud disk images (images/README.md, docs/clouds.md).
#
#   make image [CLOUD=qemu|aws|azure]   one variant (default qemu)
#   make images                         all three
#   make image-aws / make image-azure   aliases for CLOUD=aws / CLOUD=azure
#
# Every variant is the same GPT disk with one FAT32 ESP (tools/mkimage.sh):
# loader, kernel, the variant's command line as \tern\cmdline and the
# workload package (IMAGE_APP, set by apps/module.mk) as \tern\app.pkg.
# They differ in the command line (images/<cloud>.cmdline) and the
# container: raw for QEMU and EC2, a fixed VHD for Azure (tools/mkvhd.c).
# Each image is passed through tools/check-image as soon as it is
# written, and deleted when refused, so a refused image never looks up to
# date.
CLOUD ?= qemu
IMAGE_SIZE_MB ?= 64
IMAGE_CMDLINE ?= images/qemu.cmdline
IMAGE_CHECK := $(B)/tools/check-image
IMAGE_INPUTS := $(B)/BOOTX64.EFI $(B)/kernel.boot.elf $(IMAGE_APP) tools/mkimage.sh \
	$(IMAGE_CHECK)

IMAGE_FILE_qemu := $(B)/tern-qemu.img
IMAGE_FILE_aws := $(B)/tern-aws.img
IMAGE_FILE_azure := $(B)/tern-azure.vhd
IMAGE_FILE := $(IMAGE_FILE_$(CLOUD))

# $(call image_raw,output,cmdline file)
define image_raw
$(1): $(IMAGE_INPUTS) $(2)
	$$(MSG) IMAGE $$@
	$$(Q)tools/mkimage.sh $$@.tmp $$(IMAGE_SIZE_MB) $$(B)/BOOTX64.EFI $$(B)/kernel.boot.elf $(2) $$(IMAGE_APP)
	$$(Q)mv $$@.tmp $$@
	$$(MSG) CHECK $$@
	$$(Q)$$(IMAGE_CHECK) --format raw $$@ || { rm -f $$@; exit 1; }
endef
$(eval $(call image_raw,$(B)/tern-qemu.img,$(IMAGE_CMDLINE)))
$(eval $(call image_raw,$(B)/tern-aws.img,images/aws.cmdline))
$(eval $(call image_raw,$(B)/images/tern-azure.raw,images/azure.cmdline))
$(B)/images/tern-azure.raw: | $(B)/images

$(B)/images:
	@mkdir -p $@

# Azure: the raw disk plus the 512-byte fixed-VHD footer.
$(B)/tern-azure.vhd: $(B)/images/tern-azure.raw $(B)/tools/mkvhd $(IMAGE_CHECK)
	$(MSG) VHD $@
	$(Q)$(B)/tools/mkvhd $< $@
	$(MSG) CHECK $@
	$(Q)$(IMAGE_CHECK) --format vhd $@ || { rm -f $@; exit 1; }

.PHONY: image images image-qemu image-aws image-azure
image: $(IMAGE_FILE)
ifeq ($(IMAGE_FILE),)
	@echo "make image: CLOUD=$(CLOUD) is not one of qemu, aws, azure" >&2; exit 1
endif
images: $(IMAGE_FILE_qemu) $(IMAGE_FILE_aws) $(IMAGE_FILE_azure)
image-qemu: $(IMAGE_FILE_qemu)
image-aws: $(IMAGE_FILE_aws)
image-azure: $(IMAGE_FILE_azure)

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/run-qemu.sh $(B)/tern-qemu.img

INTEG_TESTS += tests/integration/kernel_boot.sh tests/integration/loader_corrupt.sh

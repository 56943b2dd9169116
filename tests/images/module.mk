# tests/images: issue 19, the per-cloud disk images.  check_image.sh
# builds every variant with `make image CLOUD=...`, breaks copies one way
# at a time and checks tools/check-image's verdicts (no QEMU, ~30 s);
# image_boot.sh boots the EC2 raw image and the Azure VHD once each in QEMU;
# deploy.sh runs tools/deploy-{aws,azure}.sh against fake aws/az commands.
INTEG_TESTS += tests/images/check_image.sh tests/images/image_boot.sh tests/images/deploy.sh

# The fuzz target: tools/check-image.c without its main, under libFuzzer.
$(B)/fuzz/check_image: tests/images/fuzz_check_image.c tools/check-image.c tools/check_image.h tools/vhd.h
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -DTERN_HOST=1 \
		-DCHECK_IMAGE_NO_MAIN -I. -o $@ tests/images/fuzz_check_image.c tools/check-image.c
FUZZ_TARGETS += $(B)/fuzz/check_image
INTEG_TESTS += tests/images/fuzz.sh

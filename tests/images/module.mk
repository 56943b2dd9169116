# tests/images: issue 19, the per-cloud disk images.  check_image.sh
# builds every variant with `make image CLOUD=...`, breaks copies one way
# at a time and checks tools/check-image's verdicts (no QEMU, ~30 s);
# image_boot.sh boots the EC2 raw image and the Azure VHD once each in QEMU;
# deploy.sh runs tools/deploy-{aws,azure}.sh against fake aws/az commands.
INTEG_TESTS += tests/images/check_image.sh tests/images/image_boot.sh tests/images/deploy.sh

# tests/hw: the seam's host backends tested on their own (replay, fault)
# with small hand-written traces; driver tests that use them live with
# their drivers (tests/virtio, tests/nvme).
$(eval $(call host_test,hw/test_hw_seam,tests/hw/test_hw_seam.c tests/hw/hw_replay.c \
	tests/hw/hw_fault.c tests/hw/hw_host.c,))

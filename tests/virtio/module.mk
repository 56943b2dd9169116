# tests/virtio: checks on the committed virtio traces (tests/traces/).
INTEG_TESTS += tests/virtio/traces.sh

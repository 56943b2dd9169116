# tools/: see tools/README.md

# Re-record the QEMU virtio traces under tests/traces/ (docs/trace-format.md).
.PHONY: record-traces
record-traces: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)B=$(B) tools/record-traces.sh

# Benchmarks (not part of make test): figures side by side with the peer.
.PHONY: bench-boot
bench-boot: deps
	$(Q)B=$(B) tools/bench-boot.sh
bench: bench-boot

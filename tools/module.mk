# tools/: see tools/README.md

# Re-record the QEMU virtio and NVMe traces under tests/traces/
# (docs/trace-format.md); `make record-traces ONLY="nvme"` for some.
.PHONY: record-traces
record-traces: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)B=$(B) tools/record-traces.sh $(ONLY)

# Benchmarks (not part of make test): figures side by side with the peer.
.PHONY: bench-boot
bench-boot: deps
	$(Q)B=$(B) tools/bench-boot.sh
bench: bench-boot

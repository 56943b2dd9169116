# tests/ena: the ENA driver against the strict device simulator
# (tests/ena/ena_sim.c, written from PROTOCOLS.md section A).
ENA_CORE := ena/ena.c ena/ena_datapath.c
$(eval $(call host_test,ena_sim,tests/ena/test_ena.c tests/ena/ena_sim.c \
	tests/ena/ena_stubs.c tests/hw/hw_host.c $(ENA_CORE) kernel/lib/fmt.c kernel/lib/err.c,))
# One fault at every countdown position of attach and of recovery.
$(eval $(call host_test,ena_fault,tests/ena/test_ena_fault.c tests/ena/ena_sim.c \
	tests/ena/ena_stubs.c tests/hw/hw_host.c $(ENA_CORE) kernel/lib/fmt.c kernel/lib/err.c,))

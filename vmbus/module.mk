# vmbus/: see vmbus/README.md.  The VMBus core (portable, host-tested in
# tests/vmbus) and its kernel glue.
KERNEL_SRCS += vmbus/vmbus.c vmbus/vmbus_ring.c vmbus/vmbus_kern.c \
	vmbus/storvsc.c vmbus/storvsc_io.c \
	vmbus/netvsc.c vmbus/netvsc_datapath.c

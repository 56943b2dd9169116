/*
 * nettest.h - the boot-time NIC self-test (nettest on the command line,
 * kernel/dev/nettest.c): sends an ARP request on the first NIC and waits,
 * bounded, for frames; prints TERN NETTEST markers.
 */
#ifndef TERN_DEV_NETTEST_H
#define TERN_DEV_NETTEST_H

/* Returns TERN_OK or a negative tern_err (also reported by marker). */
int nettest_run(void);

#endif /* TERN_DEV_NETTEST_H */

/*
 * netvsc.h - the Hyper-V synthetic NIC (NVSP + RNDIS over the VMBus,
 * PROTOCOLS.md B.11/B.12) behind kernel/dev/nic.h.  One const driver
 * descriptor, matched by the netvsc class GUID (B.14) on the VMBus bus
 * of the driver model; add `&netvsc_driver` to a VMBus driver table.
 */
#ifndef TERN_NETVSC_H
#define TERN_NETVSC_H

#include "kernel/dev/driver.h"

extern const struct driver netvsc_driver;

#endif /* TERN_NETVSC_H */

/*
 * storvsc.h - the Hyper-V synthetic SCSI controller (PROTOCOLS.md B.13)
 * as a VMBus driver of the driver model, behind the block interface
 * (kernel/dev/blk.h, version 2).
 *
 * The descriptor matches the storvsc SCSI class GUID (B.14).  Attach opens
 * the channel, runs the VSTOR handshake (BEGIN_INITIALIZATION, protocol
 * version 6.2 then 6.0 then 5.1, QUERY_PROPERTIES, END_INITIALIZATION),
 * finds the first disk LUN of target 0 (REPORT LUNS, INQUIRY, READ
 * CAPACITY(16), MODE SENSE for FUA and the write cache) and registers it
 * as "sda", "sdb", ... (one per controller), printing
 *   TERN BLK name=sda driver=storvsc relid=N lun=L sectors=S bsize=B fua=0|1
 *       wce=0|1 vstor=MAJ.MIN model="VENDOR PRODUCT"
 * Only the first disk LUN of a controller is attached (others are logged).
 * Detach unregisters the disk: the channel is closed, then requests in
 * flight end TERN_ECANCELED.  The disk is polled (blk_poll); no channel
 * callback is used.
 */
#ifndef TERN_VMBUS_STORVSC_H
#define TERN_VMBUS_STORVSC_H

#include "kernel/dev/driver.h"

extern const struct driver storvsc_driver;

#endif /* TERN_VMBUS_STORVSC_H */

/*
 * storvsc.h - the Hyper-V synthetic SCSI controller (PROTOCOLS.md B.13)
 * as a VMBus driver of the driver model, behind the block interface
 * (kernel/dev/blk.h, version 2).
 *
 * The descriptor matches the storvsc SCSI class GUID (B.14).  Attach opens
 * the channel, runs the VSTOR handshake (BEGIN_INITIALIZATION, protocol
 * version 6.2 then 6.0 then 5.1, QUERY_PROPERTIES, END_INITIALIZATION),
 * lists the LUNs of target 0 (REPORT LUNS) and, for every connected disk
 * among them (INQUIRY, READ CAPACITY(16), MODE SENSE for FUA and the write
 * cache; at most 16 per controller, more are logged and counted),
 * registers a disk of its own as "sda", "sdb", ... (the next free name),
 * printing for each
 *   TERN BLK name=sda driver=storvsc relid=N lun=L sectors=S bsize=B fua=0|1
 *       wce=0|1 vstor=MAJ.MIN model="VENDOR PRODUCT"
 * The disks of one controller share its channel and its 32 request slots.
 * An ENUMERATE_BUS from the host makes the poll path list the LUNs again
 * (at most once a second): new disks are attached, vanished ones
 * unregistered with their requests cancelled.  Detach closes the channel,
 * then unregisters every disk (requests in flight end TERN_ECANCELED).
 * The disks are polled (blk_poll); no channel callback is used.
 */
#ifndef TERN_VMBUS_STORVSC_H
#define TERN_VMBUS_STORVSC_H

#include "kernel/dev/driver.h"

extern const struct driver storvsc_driver;

#endif /* TERN_VMBUS_STORVSC_H */

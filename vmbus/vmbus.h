/*
 * vmbus.h - the VMBus core: connection, offers, channels, GPADLs and
 * ring buffers (PROTOCOLS.md B.7-B.10), as a bus of the driver model
 * (kernel/dev/driver.h) beside PCI.  Built on kernel/hv (hypercalls and
 * the SynIC); portable, so host tests run it against tests/vmbus/hv_sim.
 *
 * Lifecycle (one struct vmbus, zeroed by the owner):
 *   vmbus_connect   INITIATE_CONTACT from 5.3 down to 3.0 (connection 4,
 *                   then 1), REQUEST_OFFERS, offers until
 *                   ALLOFFERS_DELIVERED; prints TERN VMBUS and one line
 *                   per offer.
 *   vmbus_probe     binds offered channels to the VMBus drivers of a
 *                   driver table by class GUID (bus_probe).
 *   vmbus_poll      takes host messages (late offers, rescinds) and
 *                   runs the callbacks of channels with pending data.
 *   vmbus_unload    detaches every driver, UNLOAD, waits for the reply.
 * Every wait is bounded by vb->timeout_ns (default 5 s) and logs the
 * message it waited for when it gives up.  Calls are single-threaded:
 * the owner serialises them (the kernel: one CPU, from thread context).
 *
 * Channel API for drivers (netvsc, storvsc): a driver's attach gets a
 * struct device; vmbus_chan_of() gives its channel.
 */
#ifndef TERN_VMBUS_H
#define TERN_VMBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/dev/driver.h"
#include "kernel/hw/hw.h"

struct hv;
struct vmbus;
struct vmbus_chan;

/* Called from vmbus_poll when the channel's inbound ring has data (the
   host signalled it).  It SHOULD drain with vmbus_chan_recv; it MUST NOT
   close the channel. */
typedef void (*vmbus_chan_cb)(struct vmbus_chan *ch, void *arg);

/* One received packet (B.10): the whole packet, descriptor included, is
   copied to the caller's buffer; the payload starts at hdr_len. */
struct vmbus_pkt {
	uint16_t type;			/* VMBUS_PKT_* */
	uint16_t flags;			/* bit0 completion requested */
	uint64_t trans_id;
	uint32_t hdr_len;		/* offset8 * 8 */
	uint32_t len;			/* len8 * 8: bytes copied */
};

/* The owner sets vb->bus.zalloc/free (softc memory) before vmbus_probe. */
int vmbus_connect(struct vmbus *vb, struct hv *hv);
int vmbus_probe(struct vmbus *vb, const struct driver *const *table);
/* Returns the number of host messages handled. */
int vmbus_poll(struct vmbus *vb);
int vmbus_unload(struct vmbus *vb);
/* Free what vmbus_connect allocated (after unload, or after a failed
   connect; idempotent). */
void vmbus_fini(struct vmbus *vb);

/* The channel of a device on the VMBus, NULL for any other device. */
struct vmbus_chan *vmbus_chan_of(struct device *dev);
/* The seam device for the channel's DMA (name "vmbus/<relid>"). */
struct hw_dev *vmbus_chan_hw(struct vmbus_chan *ch);
uint32_t vmbus_chan_relid(const struct vmbus_chan *ch);

/*
 * Open: one region [send ring][receive ring] of send_bytes + recv_bytes
 * (each a multiple of 4096 and at least two pages: header + data), one
 * GPADL over it, OPENCHANNEL with `userdata` (<= 120 bytes, may be
 * NULL), then wait for OPENCHANNEL_RESULT.  `cb` MAY be NULL (the
 * driver polls).  TERN_EIO when the host refuses the GPADL or the open,
 * TERN_ETIMEDOUT when it does not answer, TERN_ENODEV when rescinded.
 */
int vmbus_chan_open(struct vmbus_chan *ch, uint32_t send_bytes,
    uint32_t recv_bytes, const void *userdata, size_t udlen,
    vmbus_chan_cb cb, void *arg);
/*
 * Send one packet: 16-byte descriptor, then `ext` (a type-specific header
 * of extlen bytes, a multiple of 8: page-buffer ranges for GPA direct),
 * then `data`, padded to 8.  Signals the host only on the ring's
 * empty -> non-empty transition while the host has not masked it.
 * TERN_EAGAIN when the ring is full: nothing written, and the ring's
 * pending_send_sz holds the bytes the packet needs (the largest of the
 * refused ones), so the host signals the channel once that much is free
 * (B.10).  TERN_ERANGE when the packet can never fit, TERN_EPROTO when
 * the ring indices are broken.
 */
int vmbus_chan_send(struct vmbus_chan *ch, uint16_t type, uint16_t flags,
    uint64_t trans_id, const void *ext, size_t extlen, const void *data,
    size_t len);
/*
 * After a TERN_EAGAIN: true once the host has freed more than the
 * pending_send_sz bytes asked for (pending_send_sz is then cleared, the
 * next send of that size fits), or when nothing waits.  Cheap (two index
 * loads); a polled driver calls it from its poll, never in a loop.
 */
bool vmbus_chan_send_ready(struct vmbus_chan *ch);
/*
 * Take the next inbound packet into buf (buflen bytes).  TERN_EAGAIN when
 * empty; TERN_ERANGE when buf is too small (the packet stays; pkt->len is
 * the size needed); TERN_EPROTO when the host wrote a bad index or packet
 * header (the ring is then dead until the channel is reopened).
 */
int vmbus_chan_recv(struct vmbus_chan *ch, void *buf, size_t buflen,
    struct vmbus_pkt *pkt);
/*
 * Sub-channels (vRSS): the host offers them after the driver asked its
 * VSP (netvsc: an NVSP sub-channel request).  vmbus_subchan_wait handles
 * host messages until `want` sub-channels of primary `ch` (same instance
 * GUID, sub_channel_index > 0) are offered, at most vb->timeout_ns, and
 * returns how many there are (fewer is logged, not an error).
 * vmbus_subchan_list puts up to n of them in out[], in offer order; each
 * is opened and closed like a primary.  A rescinded sub-channel is closed
 * by the bus; its owner learns it from TERN_ENODEV on send.
 */
int vmbus_subchan_wait(struct vmbus_chan *ch, int want);
int vmbus_subchan_list(struct vmbus_chan *ch, struct vmbus_chan **out, int n);

/* CLOSECHANNEL, GPADL teardown, free the rings.  Safe on a rescinded
   channel (no host messages then) and on a closed one. */
void vmbus_chan_close(struct vmbus_chan *ch);

/*
 * A GPADL over `buf` (page-aligned, a page multiple; every page's address
 * from hw_virt_to_phys on the channel's device) for driver buffers
 * (netvsc receive/send buffers).  *handle gets the handle.  When
 * GPADL_CREATED does not come it tears the GPADL down again
 * (TERN_ETIMEDOUT); if that is not confirmed either it returns
 * TERN_EBUSY and the caller MUST NOT free or reuse `buf`.  Teardown
 * waits for GPADL_TORNDOWN; if that never comes the caller MUST NOT free
 * the buffer (the host may still map it): TERN_ETIMEDOUT says so.
 */
int vmbus_gpadl_create(struct vmbus_chan *ch, const struct hw_dma *buf,
    uint32_t *handle);
int vmbus_gpadl_teardown(struct vmbus_chan *ch, uint32_t handle);

/* Printable class name of a class GUID ("netvsc", "storvsc", ... or
   "unknown"). */
const char *vmbus_class_name(const uint8_t guid[16]);

/* Kernel glue (vmbus_kern.c): connect and probe on the SynIC of
   hv_kern() (TERN_ENODEV without one); poll (also where the kernel clock
   follows a rewritten TSC page); UNLOAD at shutdown.  Built into the
   kernel, and on the host only by tests/vmbus/test_hv_kern.c. */
int vmbus_kern_init(const struct driver *const *table);
void vmbus_kern_poll(void);
void vmbus_kern_shutdown(void);

#endif /* TERN_VMBUS_H */

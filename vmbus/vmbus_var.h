/*
 * vmbus_var.h - VMBus core state (internal to vmbus/ and its tests).
 */
#ifndef TERN_VMBUS_VAR_H
#define TERN_VMBUS_VAR_H

#include "kernel/hv/hv.h"
#include "vmbus/vmbus.h"
#include "vmbus/vmbus_reg.h"

#define VMBUS_MAX_CHANS		64
#define VMBUS_MAX_RELID		(HV_EVENT_BITS - 1)	/* event-page bit */
#define VMBUS_TIMEOUT_NS	5000000000ull		/* 5 s, as Linux */

/* One direction of a channel's ring (B.10). */
struct vmbus_ring {
	struct hw_dev *dev;
	struct vmbus_ring_hdr *hdr;
	uint8_t *data;
	uint32_t dsize;			/* data bytes (ring - 4096) */
	bool broken;			/* bad index or header seen: dead */
	uint64_t full, errs;
};

struct vmbus_iov {
	const void *base;
	size_t len;
};

void vmbus_ring_init(struct vmbus_ring *r, struct hw_dev *d, void *base,
    uint32_t bytes);
int vmbus_ring_write(struct vmbus_ring *r, const struct vmbus_iov *iov,
    int n, bool *signal);
int vmbus_ring_read(struct vmbus_ring *r, void *buf, size_t buflen,
    uint32_t *pktlen, bool *signal);
bool vmbus_ring_empty(struct vmbus_ring *r);
/* Writer side: true when no refused packet waits (pending_send_sz 0) or
   the reader has freed more than it asked for; then pending_send_sz is
   cleared.  False while the ring is still too full (or broken). */
bool vmbus_ring_send_ready(struct vmbus_ring *r);

enum vmbus_chan_state {
	VMBUS_CH_FREE = 0,
	VMBUS_CH_OFFERED,		/* offered, not open */
	VMBUS_CH_OPEN,
};

struct vmbus_chan {
	struct device dev;
	struct hw_dev hw;		/* the channel's seam device */
	struct vmbus *vb;
	int state;
	bool rescind_pending;		/* host rescinded; handled in poll */
	bool rescinded;			/* no more host messages for it */
	struct vmbus_offer offer;
	uint32_t relid, conn_id;
	struct hw_dma ring_mem;
	uint32_t ring_gpadl;
	uint32_t send_bytes;
	struct vmbus_ring tx, rx;	/* guest->host, host->guest */
	vmbus_chan_cb cb;
	void *cb_arg;
	uint64_t tx_pkts, rx_pkts, signals;
};

struct vmbus_stats {
	uint64_t msgs[VMBUS_MSG_COUNT];
	uint64_t msgs_bad, msgs_unexpected;
	uint64_t offers, offers_bad, rescinds, timeouts;
};

struct vmbus {
	struct hv *hv;
	struct hw_dev *dev;		/* == hv->dev */
	struct bus bus;
	const struct driver *const *table;
	uint32_t version;		/* negotiated, 0 before */
	uint32_t msg_conn_id;
	bool connected, offers_done, new_offers;
	struct hw_dma monitor[2];
	uint32_t next_gpadl;
	uint64_t timeout_ns;		/* 0: VMBUS_TIMEOUT_NS */
	uint32_t min_version;		/* 0: VMBUS_V3_0 (tests raise it) */
	uint32_t nchans;		/* slots used, discovery order */
	struct vmbus_chan ch[VMBUS_MAX_CHANS];
	struct vmbus_stats st;
};

#endif /* TERN_VMBUS_VAR_H */

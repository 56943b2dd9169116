/*
 * storvsc_var.h - storvsc state (internal to vmbus/storvsc*.c and its
 * tests).
 */
#ifndef TERN_VMBUS_STORVSC_VAR_H
#define TERN_VMBUS_STORVSC_VAR_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/dev/blk.h"
#include "kernel/hw/hw.h"
#include "vmbus/storvsc.h"
#include "vmbus/storvsc_reg.h"
#include "vmbus/vmbus.h"
#include "vmbus/vmbus_reg.h"

#define STORVSC_RING		(128 * 1024)	/* each direction (B.10) */
#define STORVSC_QDEPTH		32		/* requests in flight */
#define STORVSC_MAX_XFER	(256 * 1024)	/* bytes per request */
#define STORVSC_MAX_PFNS	(STORVSC_MAX_XFER / 4096 + 1)
#define STORVSC_RETRIES		5	/* UNIT ATTENTION / BUSY resends */
/* BUSY / TASK SET FULL: resend k (1..STORVSC_RETRIES) waits
   STORVSC_BUSY_BASE_NS << (k - 1) on the driver's clock: 1, 2, 4, 8, 16 ms. */
#define STORVSC_BUSY_BASE_NS	1000000ull
#define STORVSC_MAX_LUNS	16	/* disks attached per controller */
#define STORVSC_RLUN_MAX	64	/* REPORT LUNS entries read */
/* ENUMERATE_BUS: at most one rescan per this much time. */
#define STORVSC_RESCAN_GAP_NS	1000000000ull
#define STORVSC_INIT_TIMEOUT_NS	5000000000ull	/* per step, as Linux */
#define STORVSC_IO_WARN_NS	30000000000ull	/* log a slow request once */
/* trans_id of control requests (handshake, discovery): never a slot id. */
#define STORVSC_TID_CTRL	0x5354000000000000ull

struct storvsc_lun;

/* One request in flight: the blk_req and what it was sent as.  Free when
   req is NULL and orphan is false. */
struct storvsc_slot {
	struct blk_req *req;
	struct storvsc_lun *lu;		/* the disk it was submitted to */
	uint64_t trans_id;		/* (seq << 8) | (slot + 1) */
	uint64_t sent_ns;
	uint64_t resend_at;		/* resend not before (BUSY back-off) */
	uint32_t xfer;			/* bytes the CDB moves */
	uint8_t retries;
	bool resend;			/* resend pending (back-off or ring full) */
	bool warned;			/* slow-request log done */
	/* Its request was cancelled (its LUN went away) while the host still
	   had it: the slot stays taken until the host answers or the channel
	   closes, and the answer is dropped. */
	bool orphan;
};

/* Counters of what the host did (validated input, never trusted). */
struct storvsc_stats {
	uint64_t unknown_ids;		/* completion for no request in flight */
	uint64_t bad_pkts;		/* wrong type, size or operation */
	uint64_t unsolicited;		/* trans_id 0: ENUMERATE_BUS, REMOVE_DEVICE */
	uint64_t retries_ua, retries_busy;
	uint64_t retry_exhausted;
	uint64_t sense_errors;		/* CHECK CONDITION reported to callers */
	uint64_t short_xfers;		/* host moved less than asked: failed */
	uint64_t overruns;		/* host claimed more than asked: failed */
	uint64_t overrun_full;		/* DATA_OVERRUN with the full length: ok */
	uint64_t vstor_errors;		/* vstor_packet.status != 0 */
	uint64_t send_full;		/* ring full on submit */
	uint64_t fua_writes;
	uint64_t busy_deferred;		/* BUSY resends held back by the back-off */
	uint64_t enumerates;		/* ENUMERATE_BUS received */
	uint64_t rescans;		/* REPORT LUNS rescans done */
	uint64_t rescan_failed;
	uint64_t luns_added, luns_removed;	/* by rescans */
	uint64_t luns_dropped;		/* disk LUNs past STORVSC_MAX_LUNS */
	uint64_t orphan_done;		/* answers to cancelled requests */
};

/* The last sense data a request failed with (tests and /stats). */
struct storvsc_sense {
	uint8_t key, asc, ascq;		/* key 0xff: no autosense */
	uint8_t scsi_status, srb_status;
	uint64_t lba;
};

/* One disk (a LUN of target 0) behind the controller: its own blk_dev,
   sharing the controller's channel and request slots. */
struct storvsc_lun {
	struct storvsc_softc *sc;
	struct blk_dev blk;		/* blk.sc is this storvsc_lun */
	bool registered;		/* in the block registry */
	bool used;			/* has held a disk (reused last) */
	uint8_t lun;
	bool fua, wce, ro;
	char vendor[9], product[17];
};

struct storvsc_softc {
	struct vmbus_chan *ch;
	struct hw_dev *hw;
	bool open;			/* channel open: close it on detach */
	bool broken;			/* ring unusable: refuse I/O */
	bool live;			/* attach done: rescans may run */
	bool scanning;			/* inside a (re)scan */
	bool rescan_pending;		/* ENUMERATE_BUS seen, rescan not yet done */
	uint64_t next_rescan_ns;	/* rate limit */
	uint16_t version;		/* negotiated VSTOR version */
	uint32_t max_transfer;		/* host's QUERY_PROPERTIES limit */
	uint16_t max_channels;
	struct hw_dma scratch;		/* one page: discovery data */
	uint64_t seq;			/* trans_id sequence */
	uint64_t timeout_ns;		/* control waits (0: default) */
	struct storvsc_slot slot[STORVSC_QDEPTH];
	uint32_t nslots_used;		/* orphans included */
	struct storvsc_lun luns[STORVSC_MAX_LUNS];
	struct storvsc_stats st;
	struct storvsc_sense last_sense;
};

/* storvsc_io.c */
extern const struct blk_ops storvsc_blk_ops;
/* Turn the host's completion into a tern_err for a request that moved
   `want` bytes; sets *retry for UNIT ATTENTION / BUSY.  Also used for
   control requests (`allow_short`: discovery data may be shorter). */
int storvsc_srb_result(struct storvsc_softc *sc, const char *name, uint8_t lun,
    const struct vstor_packet *vp, uint32_t want, bool allow_short, uint64_t lba,
    bool *retry, uint32_t *moved);
/* Handle one received packet that is not a control completion: an I/O
   completion (routed to its slot's LUN), an answer to a cancelled
   request, or an unsolicited host packet (ENUMERATE_BUS marks a rescan
   pending).  Returns the number of requests completed (0 or 1). */
int storvsc_dispatch(struct storvsc_softc *sc, const struct vmbus_pkt *p,
    const uint8_t *buf);
/* storvsc.c: REPORT LUNS again and attach / remove disks (poll path,
   rate-limited by the caller). */
void storvsc_rescan(struct storvsc_softc *sc);
/* Take lu out of the registry (its requests end TERN_ECANCELED). */
void storvsc_lun_remove(struct storvsc_softc *sc, struct storvsc_lun *lu);
/* Fill the GPA range for `nsegs` segments; returns the PFN count or a
   tern_err (TERN_EINVAL when the segments are not one virtually
   contiguous run of pages, B.10). */
int storvsc_build_range(struct storvsc_softc *sc, const struct blk_seg *segs,
    uint32_t nsegs, struct vstor_gpa_range *rg, uint64_t *pfn, uint32_t max_pfns);
/* A received packet's header and total length fit each other and the
   buffer (the ring checks them, but nothing the host wrote is trusted
   twice by accident). */
bool storvsc_pkt_ok(const struct vmbus_pkt *p, size_t buflen);
void storvsc_srb_init(struct vstor_packet *vp, uint8_t lun, const uint8_t *cdb,
    uint8_t cdb_len, uint8_t data_in, uint32_t xfer);

#endif /* TERN_VMBUS_STORVSC_VAR_H */

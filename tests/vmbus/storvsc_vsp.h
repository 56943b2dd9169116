/*
 * storvsc_vsp.h - a storvsc VSP (PROTOCOLS.md B.13) for the host
 * simulator: the host side of the VSTOR protocol on one channel, hooked
 * in through hv_sim's device hook, with a SCSI disk behind it backed by a
 * memory buffer (or a file the caller maps into `disk`).
 *
 * Strict: every field the guest sends is checked (packet type and flags,
 * vstor operation order, version, SRB length, CDB length per opcode
 * group, data direction against the opcode and srb_flags, transfer length
 * against the CDB and the GPA range, the range's shape and that every
 * page is guest memory); a violation is an hv_sim protocol error and the
 * request is answered INVALID_REQUEST.
 *
 * Several LUNs: the one in `lun` (its disk in disk/nblocks/bsize) and up
 * to VSP_MAX_LUNS more added with storvsc_vsp_add_lun, each backed by a
 * memory disk of its own size.  A LUN can be removed again and the guest
 * told with storvsc_vsp_enumerate (ENUMERATE_BUS, trans_id 0).  An SRB
 * for a LUN not present is answered INVALID_LUN; one for a LUN that no
 * REPORT LUNS answer ever listed is also a protocol error.
 *
 * Faults (set the f_ fields; counts count down as they fire).
 */
#ifndef TERN_TESTS_STORVSC_VSP_H
#define TERN_TESTS_STORVSC_VSP_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/vmbus/hv_sim.h"
#include "vmbus/storvsc_reg.h"

#define VSP_HOLD_MAX	64
#define VSP_MAX_LUNS	24

/* A LUN besides the first. */
struct vsp_lun {
	bool present;
	uint8_t lun;
	uint8_t *disk;			/* nblocks * bsize bytes, owned */
	uint64_t nblocks;
	uint32_t bsize;
};

struct storvsc_vsp {
	struct hv_sim *s;
	uint32_t relid;
	/* The disk. */
	uint8_t *disk;			/* nblocks * bsize bytes, owned */
	uint64_t nblocks;
	uint32_t bsize;
	uint8_t lun;			/* the first LUN (target 0) */
	bool lun_removed;		/* ... taken away (storvsc_vsp_remove_lun) */
	struct vsp_lun more[VSP_MAX_LUNS];
	uint8_t reported[32];		/* bitmap: LUNs any REPORT LUNS listed */
	bool luns_listed;		/* a REPORT LUNS was answered */
	bool extra_cdrom_lun;		/* also report LUN lun+1 as a CD-ROM */
	bool dpofua, wce, mode_sense_fails, write_protect, report_luns_fails;
	uint32_t rcap_bsize;		/* READ CAPACITY reports this (0: bsize) */
	uint16_t ver_max;		/* newest VSTOR version accepted */
	uint32_t max_transfer;		/* QUERY_PROPERTIES */
	/* Handshake state. */
	int state;			/* 0 none, 1 begun, 2 version, 3 props, 4 ready */
	uint16_t version;
	/* Faults */
	uint32_t f_refuse_op;		/* answer this vstor op with status != 0 */
	uint32_t f_mute_op;		/* never answer this vstor op */
	bool f_mute_io;			/* never answer EXECUTE_SRB READ/WRITE/SYNC */
	bool f_hold;			/* keep I/O (READ/WRITE/SYNC) completions
					   until release; discovery is answered */
	int64_t f_medium_error_lba;	/* READ/WRITE touching it: MEDIUM ERROR (-1 off) */
	int f_unit_attention;		/* next n I/Os: UNIT ATTENTION */
	int f_busy;			/* next n I/Os: SCSI BUSY */
	int f_short;			/* next n I/Os: report one block less */
	int f_overrun_claim;		/* next n I/Os: report one block more */
	int f_overrun_full;		/* next n I/Os: DATA_OVERRUN with full length */
	int f_unknown_id;		/* next n I/Os: first a completion for a bogus id */
	int f_bad_status;		/* next n I/Os: vstor status != 0 */
	int f_ua_inquiry;		/* next n INQUIRYs: UNIT ATTENTION */
	int f_busy_inquiry;		/* next n INQUIRYs: SCSI BUSY */
	/* Held completions (f_hold). */
	struct { uint64_t id; struct vstor_packet vp; } hold[VSP_HOLD_MAX];
	int nhold;
	/* Counters */
	uint64_t reads, writes, flushes, fua_writes, srbs, bytes_in, bytes_out;
	uint64_t lun_reads[256], lun_writes[256], lun_srbs[256];
	uint64_t report_luns, enumerates;
	uint64_t max_pfns;		/* longest range seen */
	uint32_t versions_asked[8];
	int nversions;
	int max_inflight, inflight;
};

/* Set up a VSP for channel relid with a zeroed disk; installs the hook. */
void storvsc_vsp_init(struct storvsc_vsp *v, struct hv_sim *s, uint32_t relid,
    uint32_t bsize, uint64_t nblocks);
void storvsc_vsp_fini(struct storvsc_vsp *v);
/* hv_sim hook (ctx: the struct storvsc_vsp). */
void storvsc_vsp_hook(struct hv_sim *s, struct sim_chan *c, void *ctx);
/* Add LUN lun with a zeroed disk (present at once; the guest learns of
   it on its next REPORT LUNS); returns its disk or NULL (table full). */
uint8_t *storvsc_vsp_add_lun(struct storvsc_vsp *v, uint8_t lun, uint32_t bsize,
    uint64_t nblocks);
/* Take LUN lun away (the first one too); its disk stays readable by the
   test until fini. */
void storvsc_vsp_remove_lun(struct storvsc_vsp *v, uint8_t lun);
/* The disk behind lun (present or not), NULL if none. */
uint8_t *storvsc_vsp_disk(struct storvsc_vsp *v, uint8_t lun);
/* Send ENUMERATE_BUS (unsolicited, trans_id 0); 0 when sent. */
int storvsc_vsp_enumerate(struct storvsc_vsp *v);
/* Send up to n held completions, oldest first (n < 0: all); returns the
   number sent. */
int storvsc_vsp_release(struct storvsc_vsp *v, int n);

#endif

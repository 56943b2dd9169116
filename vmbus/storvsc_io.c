/*
 * storvsc_io.c - storvsc datapath (PROTOCOLS.md B.13, B.10): block v2
 * requests as SCSI READ(16)/WRITE(16)/SYNCHRONIZE CACHE(10) in
 * EXECUTE_SRB packets, data described by one GPA-direct multi-page range,
 * up to STORVSC_QDEPTH in flight per controller (shared by its LUNs),
 * completions matched by trans_id (its slot names the LUN) and validated:
 * status, SRB status, sense data and the transfer length the host
 * reports.  UNIT ATTENTION is resent at once, BUSY and TASK SET FULL
 * after a back-off of 1, 2, 4, 8, 16 ms (sent from the poll path when
 * the time has come, never waited for), at most STORVSC_RETRIES resends
 * in all; every other failure reaches the caller (with the sense key in
 * the log and in sc->last_sense), never a silent success.  ENUMERATE_BUS
 * marks a rescan pending, done from the poll path (storvsc_rescan).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "vmbus/storvsc_var.h"

#define PG	4096u

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

void
storvsc_srb_init(struct vstor_packet *vp, uint8_t lun, const uint8_t *cdb,
    uint8_t cdb_len, uint8_t data_in, uint32_t xfer)
{
	memset(vp, 0, sizeof(*vp));
	vp->operation = VSTOR_OP_EXECUTE_SRB;
	vp->flags = VSTOR_FLAG_REQUEST_COMPLETION;
	struct vstor_srb *s = &vp->u.srb;
	s->length = VSTOR_SRB_LEN;
	s->lun = lun;
	s->cdb_length = cdb_len;
	s->sense_info_length = VSTOR_SENSE_LEN;
	s->data_in = data_in;
	s->data_transfer_length = xfer;
	memcpy(s->cdb_sense, cdb, cdb_len);
	s->queue_tag = VSTOR_QUEUE_TAG_UNTAGGED;
	s->queue_action = VSTOR_QUEUE_ACTION_SIMPLE;
	s->srb_flags = VSTOR_SRB_DISABLE_SYNCH |
	    (data_in == VSTOR_DATA_IN ? VSTOR_SRB_DATA_IN :
	     data_in == VSTOR_DATA_OUT ? VSTOR_SRB_DATA_OUT : 0);
	s->time_out_value = VSTOR_TIMEOUT_S;
}

int
storvsc_build_range(struct storvsc_softc *sc, const struct blk_seg *segs,
    uint32_t nsegs, struct vstor_gpa_range *rg, uint64_t *pfn, uint32_t max_pfns)
{
	uint32_t n = 0, total = 0;

	if (nsegs == 0)
		return TERN_EINVAL;
	for (uint32_t i = 0; i < nsegs; i++) {
		if (segs[i].len == 0 || segs[i].va == NULL)
			return TERN_EINVAL;
		uint64_t pa = hw_virt_to_phys(sc->hw, segs[i].va);
		uint64_t end = pa + segs[i].len;
		/* B.10: one range must be virtually contiguous pages: only the
		   first may start inside a page, only the last end inside one. */
		if ((i > 0 && (pa & (PG - 1)) != 0) ||
		    (i + 1 < nsegs && (end & (PG - 1)) != 0))
			return TERN_EINVAL;
		if (i == 0)
			rg->offset = (uint32_t)(pa & (PG - 1));
		for (uint64_t p = pa & ~(uint64_t)(PG - 1); p < end; p += PG) {
			if (n == max_pfns)
				return TERN_EINVAL;
			pfn[n++] = p >> 12;
		}
		total += segs[i].len;
	}
	rg->reserved = 0;
	rg->rangecount = 1;
	rg->len = total;
	return (int)n;
}

static const char *
sense_key_name(uint8_t k)
{
	static const char *const names[16] = {
		"no-sense", "recovered-error", "not-ready", "medium-error",
		"hardware-error", "illegal-request", "unit-attention",
		"data-protect", "blank-check", "vendor-specific", "copy-aborted",
		"aborted-command", "reserved", "volume-overflow", "miscompare",
		"completed",
	};
	return k < 16 ? names[k] : "none";
}

int
storvsc_srb_result(struct storvsc_softc *sc, const char *name, uint8_t lun,
    const struct vstor_packet *vp, uint32_t want, bool allow_short, uint64_t lba,
    bool *retry, uint32_t *moved)
{
	const struct vstor_srb *s = &vp->u.srb;

	*retry = false;
	*moved = 0;
	if (vp->operation != VSTOR_OP_COMPLETE_IO) {
		sc->st.bad_pkts++;
		log_warn(name, "completion with operation %u, not COMPLETE_IO",
		    vp->operation);
		return TERN_EIO;
	}
	if (vp->status != 0) {
		sc->st.vstor_errors++;
		log_warn(name, "host failed the request: vstor status 0x%x", vp->status);
		return TERN_EIO;
	}
	uint8_t ss = VSTOR_SRB_STATUS(s->srb_status);
	uint32_t got = s->data_transfer_length;

	if (s->scsi_status == SCSI_ST_BUSY || s->scsi_status == SCSI_ST_TASK_SET_FULL) {
		*retry = true;
		return TERN_EAGAIN;
	}
	if (s->scsi_status == SCSI_ST_CHECK_CONDITION) {
		struct storvsc_sense *ls = &sc->last_sense;
		const uint8_t *sd = s->cdb_sense;
		ls->key = 0xff;
		ls->asc = ls->ascq = 0;
		ls->scsi_status = s->scsi_status;
		ls->srb_status = s->srb_status;
		ls->lba = lba;
		if ((s->srb_status & VSTOR_SRB_AUTOSENSE_VALID) &&
		    s->sense_info_length >= SCSI_SENSE_MIN_LEN &&
		    s->sense_info_length <= VSTOR_SENSE_LEN &&
		    ((sd[0] & 0x7f) == SCSI_SENSE_FIXED_CUR ||
		     (sd[0] & 0x7f) == SCSI_SENSE_FIXED_DEF)) {
			ls->key = sd[SCSI_SENSE_KEY_OFF] & 0x0f;
			ls->asc = sd[SCSI_SENSE_ASC_OFF];
			ls->ascq = sd[SCSI_SENSE_ASCQ_OFF];
		}
		if (ls->key == SCSI_KEY_UNIT_ATTENTION) {
			*retry = true;
			return TERN_EAGAIN;
		}
		if (ls->key != SCSI_KEY_RECOVERED) {
			sc->st.sense_errors++;
			log_warn(name, "lun %u lba %llu: check condition, sense key 0x%x (%s) "
			    "asc 0x%02x ascq 0x%02x, srb status 0x%02x", lun,
			    (unsigned long long)lba, ls->key, sense_key_name(ls->key),
			    ls->asc, ls->ascq, s->srb_status);
			if (ls->key == SCSI_KEY_ILLEGAL_REQUEST &&
			    ls->asc == SCSI_ASC_LBA_OUT_OF_RANGE)
				return TERN_ERANGE;
			if (ls->key == SCSI_KEY_ILLEGAL_REQUEST &&
			    ls->asc == SCSI_ASC_INVALID_OPCODE)
				return TERN_ENOTSUP;
			return TERN_EIO;
		}
		/* RECOVERED ERROR: the command completed; check the rest. */
	} else if (s->scsi_status != SCSI_ST_GOOD) {
		sc->st.sense_errors++;
		log_warn(name, "lun %u lba %llu: scsi status 0x%02x, srb status 0x%02x",
		    lun, (unsigned long long)lba, s->scsi_status, s->srb_status);
		return TERN_EIO;
	}

	switch (ss) {
	case VSTOR_SRB_SUCCESS:
	case VSTOR_SRB_DATA_OVERRUN:
		/* Hyper-V reports a short transfer as DATA_OVERRUN too; either
		   way data_transfer_length says what moved (B.13). */
		if (got > want) {
			sc->st.overruns++;
			log_warn(name, "lun %u lba %llu: host moved %u bytes of a %u-byte buffer "
			    "(srb status 0x%02x)", lun, (unsigned long long)lba, got,
			    want, s->srb_status);
			return TERN_EIO;
		}
		if (got < want && !allow_short) {
			sc->st.short_xfers++;
			log_warn(name, "lun %u lba %llu: short transfer, %u of %u bytes "
			    "(srb status 0x%02x)", lun, (unsigned long long)lba, got,
			    want, s->srb_status);
			return TERN_EIO;
		}
		if (ss == VSTOR_SRB_DATA_OVERRUN && got == want)
			sc->st.overrun_full++;
		*moved = got;
		return TERN_OK;
	case VSTOR_SRB_INVALID_LUN:
		log_warn(name, "lun %u: host says the LUN is gone", lun);
		return TERN_ENODEV;
	default:
		log_warn(name, "lun %u lba %llu: srb status 0x%02x, scsi status 0x%02x",
		    lun, (unsigned long long)lba, s->srb_status, s->scsi_status);
		return TERN_EIO;
	}
}

bool
storvsc_pkt_ok(const struct vmbus_pkt *p, size_t buflen)
{
	return p->hdr_len >= sizeof(struct vmbus_pkt_desc) && (p->hdr_len & 7) == 0 &&
	    p->hdr_len <= p->len && p->len <= buflen;
}

/* ---- block ops ------------------------------------------------------- */

static uint32_t
req_bytes(const struct storvsc_lun *lu, const struct blk_req *r)
{
	return r->nblocks * lu->blk.block_size;
}

/* (Re)send slot i as a fresh EXECUTE_SRB with a new trans_id. */
static int
storvsc_send_slot(struct storvsc_softc *sc, uint32_t i)
{
	struct storvsc_slot *sl = &sc->slot[i];
	struct blk_req *r = sl->req;
	struct storvsc_lun *lu = sl->lu;
	struct {
		struct vstor_gpa_range rg;
		uint64_t pfn[STORVSC_MAX_PFNS];
	} ext;
	struct vstor_packet vp;
	uint8_t cdb[16];
	uint8_t cdb_len = 16, dir = VSTOR_DATA_NONE;
	int npfn = 0;

	memset(cdb, 0, sizeof(cdb));
	sl->xfer = 0;
	if (r->op == BLK_FLUSH) {
		/* SYNCHRONIZE CACHE(10), LBA 0 and 0 blocks: the whole medium. */
		cdb[0] = SCSI_SYNC_CACHE_10;
		cdb_len = 10;
	} else {
		cdb[0] = r->op == BLK_READ ? SCSI_READ_16 : SCSI_WRITE_16;
		if (r->op == BLK_WRITE && (r->flags & BLK_REQ_FUA))
			cdb[1] = SCSI_RW16_FUA;
		put_be64(&cdb[2], r->lba);
		put_be32(&cdb[10], r->nblocks);
		dir = r->op == BLK_READ ? VSTOR_DATA_IN : VSTOR_DATA_OUT;
		sl->xfer = req_bytes(lu, r);
		npfn = storvsc_build_range(sc, r->segs, r->nsegs, &ext.rg, ext.pfn,
		    STORVSC_MAX_PFNS);
		if (npfn < 0)
			return npfn;
		/* Write data is CPU-written memory the host reads (kernel/hw/hw.h):
		   handed over before the packet that lets it look. */
		if (r->op == BLK_WRITE)
			for (uint32_t k = 0; k < r->nsegs; k++)
				hw_dma_sync_dev(sc->hw, r->segs[k].va, r->segs[k].len);
	}
	storvsc_srb_init(&vp, lu->lun, cdb, cdb_len, dir, sl->xfer);
	uint64_t id = (++sc->seq << 8) | (i + 1);
	int rc;
	if (npfn > 0)
		rc = vmbus_chan_send(sc->ch, VMBUS_PKT_DATA_GPA_DIRECT,
		    VMBUS_PKT_FLAG_COMPLETION, id, &ext,
		    sizeof(ext.rg) + (size_t)npfn * 8, &vp, sizeof(vp));
	else
		rc = vmbus_chan_send(sc->ch, VMBUS_PKT_DATA_INBAND,
		    VMBUS_PKT_FLAG_COMPLETION, id, NULL, 0, &vp, sizeof(vp));
	if (rc == TERN_OK) {
		sl->trans_id = id;
		sl->sent_ns = hw_now_ns(sc->hw);
		sl->resend = false;
		sl->resend_at = 0;
	}
	return rc;
}

static int
storvsc_submit(struct blk_dev *d, uint32_t q, struct blk_req *r)
{
	struct storvsc_lun *lu = d->sc;
	struct storvsc_softc *sc = lu->sc;
	(void)q;

	if (!sc->open || sc->broken || !lu->registered)
		return TERN_ENODEV;
	switch (r->op) {
	case BLK_READ:
	case BLK_WRITE: {
		if (r->nblocks == 0 || r->lba >= d->nblocks ||
		    r->nblocks > d->nblocks - r->lba || r->nsegs == 0 ||
		    r->nsegs > d->max_segs)
			return TERN_EINVAL;
		if ((uint64_t)r->nblocks * d->block_size > d->max_transfer)
			return TERN_EINVAL;
		uint64_t sum = 0;
		for (uint32_t i = 0; i < r->nsegs; i++) {
			if (r->segs[i].len % d->block_size != 0)
				return TERN_EINVAL;
			sum += r->segs[i].len;
		}
		if (sum != req_bytes(lu, r))
			return TERN_EINVAL;
		if (r->op == BLK_WRITE && (d->features & BLK_F_RO))
			return TERN_ENOTSUP;
		/* FUA without the disk's DPOFUA: refuse, callers look at
		   BLK_F_FUA (a silently dropped FUA would be a lie). */
		if (r->op == BLK_WRITE && (r->flags & BLK_REQ_FUA) && !lu->fua)
			return TERN_ENOTSUP;
		break;
	}
	case BLK_FLUSH:
		if (!(d->features & BLK_F_FLUSH)) {
			/* Write cache off (MODE SENSE WCE = 0): writes are durable
			   once complete, nothing to flush. */
			blk_complete_later(d, r, TERN_OK);
			return TERN_OK;
		}
		break;
	default:
		return TERN_ENOTSUP;
	}
	uint32_t i;
	for (i = 0; i < STORVSC_QDEPTH; i++)
		if (sc->slot[i].req == NULL && !sc->slot[i].orphan)
			break;
	if (i == STORVSC_QDEPTH)
		return TERN_EAGAIN;
	struct storvsc_slot *sl = &sc->slot[i];
	memset(sl, 0, sizeof(*sl));
	sl->req = r;
	sl->lu = lu;
	int rc = storvsc_send_slot(sc, i);
	if (rc != TERN_OK) {
		sl->req = NULL;
		if (rc == TERN_EAGAIN)
			sc->st.send_full++;
		return rc;
	}
	sc->nslots_used++;
	if (r->op == BLK_WRITE && (r->flags & BLK_REQ_FUA))
		sc->st.fua_writes++;
	return TERN_OK;
}

/* Free slot i and complete its request (done() may resubmit into it). */
static void
storvsc_finish(struct storvsc_softc *sc, uint32_t i, int status)
{
	struct blk_req *r = sc->slot[i].req;
	struct storvsc_lun *lu = sc->slot[i].lu;
	struct blk_dev *d = &lu->blk;

	sc->slot[i].req = NULL;
	sc->slot[i].lu = NULL;
	sc->slot[i].resend = false;
	sc->nslots_used--;
	if (status == TERN_OK) {
		if (r->op == BLK_READ) {
			/* Read data is host-written memory: handed to the CPU
			   before the caller looks (kernel/hw/hw.h). */
			for (uint32_t k = 0; k < r->nsegs; k++)
				hw_dma_sync_cpu(sc->hw, r->segs[k].va, r->segs[k].len);
			d->stats.reads++;
			d->stats.read_bytes += req_bytes(lu, r);
		} else if (r->op == BLK_WRITE) {
			d->stats.writes++;
			d->stats.write_bytes += req_bytes(lu, r);
		} else {
			d->stats.flushes++;
		}
	} else if (status != TERN_ECANCELED) {
		d->stats.errors++;
	}
	blk_complete(d, r, status);
}

/* The host answered slot i with vp (len bytes of payload); returns 1 if
   its request completed, 0 if it is to be resent. */
static int
storvsc_io_done(struct storvsc_softc *sc, uint32_t i, const struct vstor_packet *vp,
    uint32_t len)
{
	struct storvsc_slot *sl = &sc->slot[i];
	struct storvsc_lun *lu = sl->lu;
	const char *name = lu->blk.name;
	bool retry;
	uint32_t moved;
	int rc;

	if (len < sizeof(*vp)) {
		sc->st.bad_pkts++;
		log_warn(name, "completion of %u bytes for request %llx, want %zu",
		    len, (unsigned long long)sl->trans_id, sizeof(*vp));
		storvsc_finish(sc, i, TERN_EIO);
		return 1;
	}
	rc = storvsc_srb_result(sc, name, lu->lun, vp, sl->xfer, false, sl->req->lba,
	    &retry, &moved);
	if (retry) {
		bool ua = vp->u.srb.scsi_status == SCSI_ST_CHECK_CONDITION;
		if (ua)
			sc->st.retries_ua++;
		else
			sc->st.retries_busy++;
		if (sl->retries >= STORVSC_RETRIES) {
			sc->st.retry_exhausted++;
			log_warn(name, "lba %llu: still %s after %u retries; failing it",
			    (unsigned long long)sl->req->lba, ua ? "unit attention" : "busy",
			    STORVSC_RETRIES);
			storvsc_finish(sc, i, TERN_EIO);
			return 1;
		}
		sl->retries++;
		if (!ua) {
			/* BUSY / TASK SET FULL: the host asks for time; the poll
			   path resends once the back-off has passed. */
			sl->resend = true;
			sl->resend_at = hw_now_ns(sc->hw) +
			    (STORVSC_BUSY_BASE_NS << (sl->retries - 1));
			return 0;
		}
		int s = storvsc_send_slot(sc, i);
		if (s == TERN_EAGAIN) {
			sl->resend = true;	/* ring full: next poll */
			sl->resend_at = 0;
		} else if (s != TERN_OK) {
			storvsc_finish(sc, i, s);
			return 1;
		}
		return 0;
	}
	storvsc_finish(sc, i, rc);
	return 1;
}

int
storvsc_dispatch(struct storvsc_softc *sc, const struct vmbus_pkt *p,
    const uint8_t *buf)
{
	uint32_t len = p->len - p->hdr_len;
	const struct vstor_packet *vp = (const void *)(buf + p->hdr_len);
	const char *name = sc->hw->name;

	if (p->trans_id == 0 || p->type != VMBUS_PKT_COMP) {
		/* Unsolicited (B.13): ENUMERATE_BUS asks for a rescan;
		   REMOVE_DEVICE and a trans_id 0 that claims COMPLETE_IO are
		   dropped. */
		uint32_t op = len >= 4 ? vp->operation : 0;
		sc->st.unsolicited++;
		if (op == VSTOR_OP_ENUMERATE_BUS && p->trans_id == 0) {
			sc->st.enumerates++;
			sc->rescan_pending = true;
			log_info(name, "host asks for a bus rescan (ENUMERATE_BUS)");
			return 0;
		}
		log_info(name, "host packet type %u operation %u id %llu ignored",
		    p->type, op, (unsigned long long)p->trans_id);
		return 0;
	}
	uint64_t idx = (p->trans_id & 0xff) - 1;
	struct storvsc_slot *sl = idx < STORVSC_QDEPTH ? &sc->slot[idx] : NULL;
	if (sl != NULL && sl->orphan && sl->trans_id == p->trans_id) {
		/* The answer to a request cancelled when its LUN went away:
		   the slot is free again, the answer means nothing now. */
		sl->orphan = false;
		sc->nslots_used--;
		sc->st.orphan_done++;
		return 0;
	}
	if (sl == NULL || sl->req == NULL || sl->trans_id != p->trans_id || sl->resend) {
		sc->st.unknown_ids++;
		if (sl != NULL && sl->req != NULL)
			sl->lu->blk.stats.bad_completions++;
		log_warn(name, "completion for unknown request id 0x%llx dropped",
		    (unsigned long long)p->trans_id);
		return 0;
	}
	return storvsc_io_done(sc, (uint32_t)idx, vp, len);
}

/* Fail everything in flight (the channel broke or went away): every
   slot ends, orphans included. */
static void
storvsc_fail_all(struct storvsc_softc *sc, int status)
{
	for (uint32_t i = 0; i < STORVSC_QDEPTH; i++) {
		if (sc->slot[i].orphan) {
			sc->slot[i].orphan = false;
			sc->nslots_used--;
		}
		if (sc->slot[i].req != NULL)
			storvsc_finish(sc, i, status);
	}
}

static int
storvsc_poll(struct blk_dev *d, uint32_t q)
{
	struct storvsc_lun *lu = d->sc;
	struct storvsc_softc *sc = lu->sc;
	union {
		uint64_t align;
		uint8_t b[512];
	} buf;
	struct vmbus_pkt p = { 0 };
	int n = 0;
	(void)q;

	if (!sc->open || sc->broken)
		return 0;
	uint64_t now = hw_now_ns(sc->hw);
	for (uint32_t i = 0; i < STORVSC_QDEPTH; i++) {
		struct storvsc_slot *sl = &sc->slot[i];
		if (sl->req == NULL || !sl->resend)
			continue;
		if (now < sl->resend_at) {
			sc->st.busy_deferred++;
			continue;
		}
		int s = storvsc_send_slot(sc, i);
		if (s == TERN_EAGAIN) {
			sl->resend_at = 0;	/* ring full: the next poll */
		} else if (s != TERN_OK) {
			storvsc_finish(sc, i, s);
			n++;
		}
	}
	/* At most one queue depth of completions, plus as many stray
	   packets, per call (blk.h). */
	for (int k = 0; k < 2 * STORVSC_QDEPTH && n < STORVSC_QDEPTH; k++) {
		int rc = vmbus_chan_recv(sc->ch, buf.b, sizeof(buf.b), &p);
		if (rc == TERN_EAGAIN)
			break;
		if (rc != TERN_OK) {
			/* A packet bigger than any VSTOR reply, a broken ring, or
			   a closed channel: nothing more will come through. */
			sc->st.bad_pkts++;
			log_error(sc->hw->name, "channel unusable (%s, packet %u bytes): failing "
			    "%u requests", err_str(rc), p.len, sc->nslots_used);
			sc->broken = true;
			n += (int)sc->nslots_used;
			storvsc_fail_all(sc, TERN_ENODEV);
			break;
		}
		if (!storvsc_pkt_ok(&p, sizeof(buf.b))) {
			sc->st.bad_pkts++;
			log_warn(sc->hw->name, "host packet with header %u of %u bytes dropped",
			    p.hdr_len, p.len);
			continue;
		}
		n += storvsc_dispatch(sc, &p, buf.b);
	}
	/* ENUMERATE_BUS: rescan here, at most once per STORVSC_RESCAN_GAP_NS;
	   a request that arrives within the gap waits for a later poll. */
	now = hw_now_ns(sc->hw);
	if (sc->rescan_pending && sc->live && !sc->scanning && !sc->broken &&
	    now >= sc->next_rescan_ns) {
		sc->rescan_pending = false;
		storvsc_rescan(sc);
		sc->next_rescan_ns = hw_now_ns(sc->hw) + STORVSC_RESCAN_GAP_NS;
	}
	/* Azure latency can be unbounded (B.13): never give up, say so once. */
	now = hw_now_ns(sc->hw);
	for (uint32_t i = 0; i < STORVSC_QDEPTH; i++) {
		struct storvsc_slot *sl = &sc->slot[i];
		if (sl->req != NULL && !sl->warned && now - sl->sent_ns > STORVSC_IO_WARN_NS) {
			sl->warned = true;
			sl->lu->blk.stats.timeouts_logged++;
			log_warn(sl->lu->blk.name, "request id 0x%llx (lba %llu) unanswered for %llu s",
			    (unsigned long long)sl->trans_id, (unsigned long long)sl->req->lba,
			    (unsigned long long)((now - sl->sent_ns) / 1000000000ull));
		}
	}
	return n;
}

/*
 * blk_unregister of one LUN's disk: cancel its requests.  The channel is
 * shared with the controller's other LUNs, so it stays open while one of
 * them is registered (or while the driver itself removes a LUN in a
 * rescan); a request the host still has then keeps its slot as an orphan
 * until the host answers (the host said the LUN is gone, or the caller
 * is shutting the disk down: we assume it no longer touches the pages).
 * When the last disk goes by any other path (power-off), the channel is
 * closed first, so the host stops touching request memory.
 */
static void
storvsc_blk_detach(struct blk_dev *d)
{
	struct storvsc_lun *lu = d->sc;
	struct storvsc_softc *sc = lu->sc;
	bool others = false;

	lu->registered = false;
	for (uint32_t k = 0; k < STORVSC_MAX_LUNS; k++)
		others = others || sc->luns[k].registered;
	if (sc->open && !others && !sc->scanning) {
		sc->open = false;
		vmbus_chan_close(sc->ch);
		/* Closed: no answer can come for the orphans any more. */
		for (uint32_t i = 0; i < STORVSC_QDEPTH; i++)
			if (sc->slot[i].orphan) {
				sc->slot[i].orphan = false;
				sc->nslots_used--;
			}
	}
	for (uint32_t i = 0; i < STORVSC_QDEPTH; i++) {
		struct storvsc_slot *sl = &sc->slot[i];
		if (sl->req == NULL || sl->lu != lu)
			continue;
		/* Sent and not answered (not waiting for a resend): the host
		   may still answer.  Marked before done() runs, so a
		   resubmission from done() cannot take the slot. */
		if (sc->open && !sc->broken && !sl->resend) {
			sl->orphan = true;
			sc->nslots_used++;	/* finish() gives one back */
		}
		storvsc_finish(sc, i, TERN_ECANCELED);
	}
}

const struct blk_ops storvsc_blk_ops = {
	.submit = storvsc_submit,
	.poll = storvsc_poll,
	.detach = storvsc_blk_detach,
};

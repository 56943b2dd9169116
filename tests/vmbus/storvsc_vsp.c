/*
 * storvsc_vsp.c - the host side of storvsc for hv_sim (see storvsc_vsp.h):
 * VSTOR handshake, EXECUTE_SRB with a SCSI disk in memory, strict checks
 * of every guest field, and faults.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/vmbus/storvsc_vsp.h"
#include "vmbus/vmbus_reg.h"

#define PG		4096u
#define VSTOR_REFUSED	0xc0000001u	/* any non-zero status refuses */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static void wbe32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static void wbe64(uint8_t *p, uint64_t v) { wbe32(p, (uint32_t)(v >> 32)); wbe32(p + 4, (uint32_t)v); }

void
storvsc_vsp_init(struct storvsc_vsp *v, struct hv_sim *s, uint32_t relid,
    uint32_t bsize, uint64_t nblocks)
{
	memset(v, 0, sizeof(*v));
	v->s = s;
	v->relid = relid;
	v->bsize = bsize;
	v->nblocks = nblocks;
	v->disk = calloc(nblocks, bsize);
	v->dpofua = true;
	v->wce = true;
	v->ver_max = VSTOR_V_WIN10;
	v->max_transfer = 2u << 20;
	v->f_medium_error_lba = -1;
	s->hook = storvsc_vsp_hook;
	s->hook_ctx = v;
}

void
storvsc_vsp_fini(struct storvsc_vsp *v)
{
	free(v->disk);
	v->disk = NULL;
	for (int i = 0; i < VSP_MAX_LUNS; i++) {
		free(v->more[i].disk);
		v->more[i].disk = NULL;
	}
}

uint8_t *
storvsc_vsp_add_lun(struct storvsc_vsp *v, uint8_t lun, uint32_t bsize,
    uint64_t nblocks)
{
	for (int i = 0; i < VSP_MAX_LUNS; i++) {
		struct vsp_lun *l = &v->more[i];
		if (l->disk != NULL && l->lun == lun && !l->present &&
		    l->nblocks == nblocks && l->bsize == bsize) {
			l->present = true;	/* back again, same contents */
			return l->disk;
		}
	}
	for (int i = 0; i < VSP_MAX_LUNS; i++) {
		struct vsp_lun *l = &v->more[i];
		if (l->disk != NULL)
			continue;
		l->disk = calloc(nblocks, bsize);
		l->lun = lun;
		l->bsize = bsize;
		l->nblocks = nblocks;
		l->present = true;
		return l->disk;
	}
	return NULL;
}

void
storvsc_vsp_remove_lun(struct storvsc_vsp *v, uint8_t lun)
{
	if (lun == v->lun)
		v->lun_removed = true;
	for (int i = 0; i < VSP_MAX_LUNS; i++)
		if (v->more[i].disk != NULL && v->more[i].lun == lun)
			v->more[i].present = false;
}

uint8_t *
storvsc_vsp_disk(struct storvsc_vsp *v, uint8_t lun)
{
	if (lun == v->lun)
		return v->disk;
	for (int i = 0; i < VSP_MAX_LUNS; i++)
		if (v->more[i].disk != NULL && v->more[i].lun == lun)
			return v->more[i].disk;
	return NULL;
}

int
storvsc_vsp_enumerate(struct storvsc_vsp *v)
{
	struct sim_chan *c = hv_sim_chan(v->s, v->relid);
	struct vstor_packet vp;
	if (c == NULL || !c->open)
		return -1;
	memset(&vp, 0, sizeof(vp));
	vp.operation = VSTOR_OP_ENUMERATE_BUS;
	v->enumerates++;
	return hv_sim_chan_send(v->s, c, VMBUS_PKT_DATA_INBAND, 0, 0, &vp, sizeof(vp));
}

/* The present LUN `lun`: its disk, size and block size; false if none. */
static bool
vsp_lun(struct storvsc_vsp *v, uint8_t lun, uint8_t **disk, uint64_t *nblocks,
    uint32_t *bsize)
{
	if (lun == v->lun && !v->lun_removed) {
		*disk = v->disk;
		*nblocks = v->nblocks;
		*bsize = v->bsize;
		return true;
	}
	for (int i = 0; i < VSP_MAX_LUNS; i++) {
		struct vsp_lun *l = &v->more[i];
		if (l->present && l->lun == lun) {
			*disk = l->disk;
			*nblocks = l->nblocks;
			*bsize = l->bsize;
			return true;
		}
	}
	return false;
}

/* Where the guest's data is: up to 65 host pointers into guest pages. */
struct vsp_sg {
	int n;
	uint8_t *p[80];
	uint32_t len[80];
};

static void
sg_copy(struct vsp_sg *sg, uint8_t *buf, uint32_t n, bool to_guest)
{
	uint32_t done = 0;
	for (int i = 0; i < sg->n && done < n; i++) {
		uint32_t k = sg->len[i] < n - done ? sg->len[i] : n - done;
		if (to_guest)
			memcpy(sg->p[i], buf + done, k);
		else
			memcpy(buf + done, sg->p[i], k);
		done += k;
	}
}

static void
vsp_send(struct storvsc_vsp *v, struct sim_chan *c, uint64_t id,
    const struct vstor_packet *vp)
{
	if (hv_sim_chan_send(v->s, c, VMBUS_PKT_COMP, 0, id, vp, sizeof(*vp)) != 0)
		hv_sim_error(v->s, "storvsc vsp: completion 0x%llx did not fit",
		    (unsigned long long)id);
}

static void
sense(struct vstor_packet *r, uint8_t key, uint8_t asc, uint8_t ascq)
{
	struct vstor_srb *s = &r->u.srb;
	s->scsi_status = SCSI_ST_CHECK_CONDITION;
	s->srb_status = VSTOR_SRB_ERROR | VSTOR_SRB_AUTOSENSE_VALID;
	s->data_transfer_length = 0;
	memset(s->cdb_sense, 0, sizeof(s->cdb_sense));
	s->cdb_sense[0] = SCSI_SENSE_FIXED_CUR;
	s->cdb_sense[SCSI_SENSE_KEY_OFF] = key;
	s->cdb_sense[7] = 10;
	s->cdb_sense[SCSI_SENSE_ASC_OFF] = asc;
	s->cdb_sense[SCSI_SENSE_ASCQ_OFF] = ascq;
	s->sense_info_length = 18;
}

static uint8_t
cdb_group_len(uint8_t op)
{
	switch (op >> 5) {
	case 0: return 6;
	case 1: case 2: return 10;
	case 4: return 16;
	case 5: return 12;
	default: return 0;
	}
}

static int
expected_dir(uint8_t op)
{
	switch (op) {
	case SCSI_READ_16: case SCSI_INQUIRY: case SCSI_SERVICE_IN_16:
	case SCSI_REPORT_LUNS: case SCSI_MODE_SENSE_6:
		return VSTOR_DATA_IN;
	case SCSI_WRITE_16:
		return VSTOR_DATA_OUT;
	case SCSI_SYNC_CACHE_10: case SCSI_SYNC_CACHE_16: case SCSI_TEST_UNIT_READY:
		return VSTOR_DATA_NONE;
	default:
		return -1;
	}
}

/* Parse and check the multi-page range (B.10); fills sg. */
static bool
vsp_range(struct storvsc_vsp *v, const uint8_t *pkt, uint32_t hlen, uint32_t xfer,
    struct vsp_sg *sg)
{
	struct hv_sim *s = v->s;
	struct vstor_gpa_range rg;
	if (hlen < 16 + sizeof(rg)) {
		hv_sim_error(s, "storvsc vsp: GPA packet header %u bytes", hlen);
		return false;
	}
	memcpy(&rg, pkt + 16, sizeof(rg));
	if (rg.rangecount != 1 || rg.offset >= PG || rg.len == 0) {
		hv_sim_error(s, "storvsc vsp: range count %u offset %u len %u",
		    rg.rangecount, rg.offset, rg.len);
		return false;
	}
	uint32_t npfn = (rg.offset + rg.len + PG - 1) / PG;
	if (hlen != 16 + sizeof(rg) + 8 * npfn || npfn > 80) {
		hv_sim_error(s, "storvsc vsp: header %u bytes for %u PFNs", hlen, npfn);
		return false;
	}
	if (rg.len != xfer) {
		hv_sim_error(s, "storvsc vsp: range %u bytes, data_transfer_length %u",
		    rg.len, xfer);
		return false;
	}
	if (npfn > v->max_pfns)
		v->max_pfns = npfn;
	uint32_t left = rg.len;
	sg->n = 0;
	for (uint32_t i = 0; i < npfn; i++) {
		uint64_t pfn;
		memcpy(&pfn, pkt + 16 + sizeof(rg) + 8 * i, 8);
		uint32_t off = i == 0 ? rg.offset : 0;
		uint32_t k = PG - off < left ? PG - off : left;
		uint8_t *p = hv_sim_gpa(s, (pfn << 12) + off, k, "storvsc data page");
		if (p == NULL)
			return false;
		sg->p[sg->n] = p;
		sg->len[sg->n++] = k;
		left -= k;
	}
	return true;
}

/* Fill r (a copy of the request) as the completion of one SRB. */
static void
vsp_srb(struct storvsc_vsp *v, const uint8_t *pkt, uint16_t type, uint32_t hlen,
    struct vstor_packet *r, bool *mute, bool *io)
{
	struct hv_sim *s = v->s;
	struct vstor_srb *q = &r->u.srb;
	uint8_t cdb[16];
	uint32_t xfer = q->data_transfer_length;
	struct vsp_sg sg = { 0 };

	memcpy(cdb, q->cdb_sense, sizeof(cdb));
	uint8_t op = cdb[0];
	q->scsi_status = SCSI_ST_GOOD;
	q->srb_status = VSTOR_SRB_SUCCESS;
	q->sense_info_length = 0;
	memset(q->cdb_sense, 0, sizeof(q->cdb_sense));
	v->srbs++;

	/* Strict field checks (B.13). */
	bool bad = false;
	const struct vstor_srb *g = (const void *)(pkt + hlen + 12);
	if (g->length != VSTOR_SRB_LEN || g->sense_info_length != VSTOR_SENSE_LEN) {
		hv_sim_error(s, "storvsc vsp: srb length %u sense length %u", g->length,
		    g->sense_info_length);
		bad = true;
	}
	if (g->port != 0 || g->path != 0 || g->target != 0) {
		hv_sim_error(s, "storvsc vsp: port %u path %u target %u", g->port, g->path,
		    g->target);
		bad = true;
	}
	if (g->cdb_length != cdb_group_len(op)) {
		hv_sim_error(s, "storvsc vsp: opcode 0x%02x with cdb_length %u", op,
		    g->cdb_length);
		bad = true;
	}
	int want_dir = expected_dir(op);
	uint32_t dflags = g->srb_flags & (VSTOR_SRB_DATA_IN | VSTOR_SRB_DATA_OUT);
	if (g->data_in > VSTOR_DATA_NONE ||
	    (want_dir >= 0 && g->data_in != want_dir) ||
	    dflags != (g->data_in == VSTOR_DATA_IN ? VSTOR_SRB_DATA_IN :
	    g->data_in == VSTOR_DATA_OUT ? VSTOR_SRB_DATA_OUT : 0u)) {
		hv_sim_error(s, "storvsc vsp: opcode 0x%02x data_in %u srb_flags 0x%x", op,
		    g->data_in, g->srb_flags);
		bad = true;
	}
	if (!(g->srb_flags & VSTOR_SRB_DISABLE_SYNCH)) {
		hv_sim_error(s, "storvsc vsp: srb_flags 0x%x without DISABLE_SYNCH_TRANSFER",
		    g->srb_flags);
		bad = true;
	}
	if (g->queue_tag != VSTOR_QUEUE_TAG_UNTAGGED ||
	    g->queue_action != VSTOR_QUEUE_ACTION_SIMPLE || g->time_out_value == 0) {
		hv_sim_error(s, "storvsc vsp: queue tag 0x%x action 0x%x timeout %u",
		    g->queue_tag, g->queue_action, g->time_out_value);
		bad = true;
	}
	if (!bad) {
		if (g->data_in == VSTOR_DATA_NONE) {
			if (type != VMBUS_PKT_DATA_INBAND || xfer != 0) {
				hv_sim_error(s, "storvsc vsp: no-data SRB as type %u with %u bytes",
				    type, xfer);
				bad = true;
			}
		} else if (type != VMBUS_PKT_DATA_GPA_DIRECT) {
			hv_sim_error(s, "storvsc vsp: data SRB as packet type %u", type);
			bad = true;
		} else if (!vsp_range(v, pkt, hlen, xfer, &sg)) {
			bad = true;
		}
	}
	if (bad) {
		q->srb_status = VSTOR_SRB_INVALID_REQUEST;
		q->data_transfer_length = 0;
		return;
	}

	bool extra = v->extra_cdrom_lun && g->lun == (uint8_t)(v->lun + 1);
	uint8_t *ldisk = NULL;
	uint64_t lnblocks = 0;
	uint32_t lbsize = 0;
	bool here = vsp_lun(v, g->lun, &ldisk, &lnblocks, &lbsize);
	if (op == SCSI_REPORT_LUNS && g->lun != 0) {
		hv_sim_error(s, "storvsc vsp: REPORT LUNS to lun %u, not 0", g->lun);
		q->srb_status = VSTOR_SRB_INVALID_REQUEST;
		q->data_transfer_length = 0;
		return;
	}
	if (op != SCSI_REPORT_LUNS && v->luns_listed && !extra &&
	    !(v->reported[g->lun >> 3] & (1u << (g->lun & 7))))
		hv_sim_error(s, "storvsc vsp: opcode 0x%02x to lun %u, never reported", op,
		    g->lun);
	if (!here && !extra && op != SCSI_REPORT_LUNS) {
		q->srb_status = VSTOR_SRB_INVALID_LUN;
		q->data_transfer_length = 0;
		return;
	}
	v->lun_srbs[g->lun]++;
	uint8_t d[8 + 8 * (VSP_MAX_LUNS + 2)];
	uint32_t have = 0, alloc = 0;
	memset(d, 0, sizeof(d));
	switch (op) {
	case SCSI_REPORT_LUNS: {
		alloc = be32(cdb + 6);
		if (alloc < 16 || alloc != xfer) {
			hv_sim_error(s, "storvsc vsp: REPORT LUNS alloc %u buffer %u", alloc, xfer);
			q->srb_status = VSTOR_SRB_INVALID_REQUEST;
			q->data_transfer_length = 0;
			return;
		}
		if (v->report_luns_fails) {
			sense(r, SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
			return;
		}
		int n = 0;
		uint8_t listed[VSP_MAX_LUNS + 2];
		if (v->extra_cdrom_lun)
			listed[n++] = (uint8_t)(v->lun + 1);	/* listed first */
		if (!v->lun_removed)
			listed[n++] = v->lun;
		for (int i = 0; i < VSP_MAX_LUNS; i++)
			if (v->more[i].present)
				listed[n++] = v->more[i].lun;
		for (int i = 0; i < n; i++) {
			d[8 + 8 * i + 1] = listed[i];
			v->reported[listed[i] >> 3] |= (uint8_t)(1u << (listed[i] & 7));
		}
		v->luns_listed = true;
		v->report_luns++;
		wbe32(d, (uint32_t)(8 * n));
		have = 8 + 8u * (uint32_t)n;
		break;
	}
	case SCSI_INQUIRY:
		alloc = (uint32_t)cdb[3] << 8 | cdb[4];
		if (alloc != xfer) {
			hv_sim_error(s, "storvsc vsp: INQUIRY alloc %u buffer %u", alloc, xfer);
			q->srb_status = VSTOR_SRB_INVALID_REQUEST;
			q->data_transfer_length = 0;
			return;
		}
		if (cdb[1] & 1) {
			sense(r, SCSI_KEY_ILLEGAL_REQUEST, 0x24, 0);
			return;
		}
		if (v->f_busy_inquiry > 0) {
			v->f_busy_inquiry--;
			q->scsi_status = SCSI_ST_BUSY;
			q->srb_status = VSTOR_SRB_ERROR;
			q->data_transfer_length = 0;
			return;
		}
		if (v->f_ua_inquiry > 0) {
			v->f_ua_inquiry--;
			sense(r, SCSI_KEY_UNIT_ATTENTION, 0x29, 0);
			return;
		}
		d[0] = extra ? 0x05 : SCSI_TYPE_DISK;
		d[2] = 6;
		d[3] = 2;
		d[4] = 31;
		memcpy(d + 8, "Msft    Virtual Disk    1.0 ", 28);
		have = 36;
		break;
	case SCSI_SERVICE_IN_16:
		alloc = be32(cdb + 10);
		if ((cdb[1] & 0x1f) != SCSI_SAI_READ_CAP_16 || !here) {
			sense(r, SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
			return;
		}
		if (alloc != xfer) {
			hv_sim_error(s, "storvsc vsp: READ CAPACITY alloc %u buffer %u", alloc, xfer);
			q->srb_status = VSTOR_SRB_INVALID_REQUEST;
			q->data_transfer_length = 0;
			return;
		}
		wbe64(d, lnblocks - 1);
		wbe32(d + 8, v->rcap_bsize != 0 ? v->rcap_bsize : lbsize);
		have = 32;
		break;
	case SCSI_MODE_SENSE_6:
		alloc = cdb[4];
		if (alloc != xfer) {
			hv_sim_error(s, "storvsc vsp: MODE SENSE alloc %u buffer %u", alloc, xfer);
			q->srb_status = VSTOR_SRB_INVALID_REQUEST;
			q->data_transfer_length = 0;
			return;
		}
		if (v->mode_sense_fails || ((cdb[2] & 0x3f) != SCSI_MODE_PAGE_CACHING &&
		    (cdb[2] & 0x3f) != 0x3f)) {
			sense(r, SCSI_KEY_ILLEGAL_REQUEST, 0x24, 0);
			return;
		}
		d[0] = 4 + 20 - 1;
		d[2] = (v->dpofua ? SCSI_MODE_DPOFUA : 0) | (v->write_protect ? SCSI_MODE_WP : 0);
		d[3] = 0;
		d[4] = SCSI_MODE_PAGE_CACHING;
		d[5] = 0x12;
		d[6] = v->wce ? SCSI_CACHING_WCE : 0;
		have = 24;
		break;
	case SCSI_TEST_UNIT_READY:
		return;
	case SCSI_SYNC_CACHE_10:
	case SCSI_SYNC_CACHE_16:
	case SCSI_READ_16:
	case SCSI_WRITE_16:
		goto io;
	default:
		sense(r, SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
		return;
	}
	/* Discovery data: what fits in the allocation, the length moved. */
	have = have < alloc ? have : alloc;
	sg_copy(&sg, d, have, true);
	q->data_transfer_length = have;
	if (have < xfer)
		q->srb_status = VSTOR_SRB_DATA_OVERRUN;	/* Hyper-V's short read */
	return;

io:
	*io = true;
	if (v->state != 4)
		hv_sim_error(s, "storvsc vsp: I/O before END_INITIALIZATION");
	if (v->f_mute_io) {
		*mute = true;
		return;
	}
	if (v->f_bad_status > 0) {
		v->f_bad_status--;
		r->status = VSTOR_REFUSED;
		return;
	}
	if (v->f_busy > 0) {
		v->f_busy--;
		q->scsi_status = SCSI_ST_BUSY;
		q->srb_status = VSTOR_SRB_ERROR;
		q->data_transfer_length = 0;
		return;
	}
	if (v->f_unit_attention > 0) {
		v->f_unit_attention--;
		sense(r, SCSI_KEY_UNIT_ATTENTION, 0x29, 0);	/* power on or reset */
		return;
	}
	if (op == SCSI_SYNC_CACHE_10 || op == SCSI_SYNC_CACHE_16) {
		v->flushes++;
		return;
	}
	uint64_t lba = be64(cdb + 2);
	uint32_t nb = be32(cdb + 10);
	if (extra) {
		sense(r, SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
		return;
	}
	if (nb == 0 || (uint64_t)nb * lbsize != xfer) {
		hv_sim_error(s, "storvsc vsp: %u blocks in the CDB, %u bytes in the SRB", nb, xfer);
		q->srb_status = VSTOR_SRB_INVALID_REQUEST;
		q->data_transfer_length = 0;
		return;
	}
	if (lba >= lnblocks || nb > lnblocks - lba) {
		sense(r, SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE, 0);
		return;
	}
	if ((cdb[1] & SCSI_RW16_FUA) && (op != SCSI_WRITE_16 || !v->dpofua))
		hv_sim_error(s, "storvsc vsp: FUA on opcode 0x%02x (DPOFUA %d)", op, v->dpofua);
	if (v->f_medium_error_lba >= 0 && (uint64_t)v->f_medium_error_lba >= lba &&
	    (uint64_t)v->f_medium_error_lba < lba + nb) {
		sense(r, SCSI_KEY_MEDIUM_ERROR, op == SCSI_READ_16 ? 0x11 : 0x0c, 0);
		return;
	}
	uint8_t *disk = ldisk + lba * lbsize;
	if (op == SCSI_READ_16) {
		sg_copy(&sg, disk, xfer, true);
		v->reads++;
		v->lun_reads[g->lun]++;
		v->bytes_out += xfer;
	} else {
		sg_copy(&sg, disk, xfer, false);
		v->writes++;
		v->lun_writes[g->lun]++;
		v->bytes_in += xfer;
		if (cdb[1] & SCSI_RW16_FUA)
			v->fua_writes++;
	}
	q->data_transfer_length = xfer;
	if (v->f_short > 0) {
		v->f_short--;
		q->data_transfer_length = xfer - lbsize;
		q->srb_status = VSTOR_SRB_DATA_OVERRUN;
	} else if (v->f_overrun_claim > 0) {
		v->f_overrun_claim--;
		q->data_transfer_length = xfer + lbsize;
		q->srb_status = VSTOR_SRB_DATA_OVERRUN;
	} else if (v->f_overrun_full > 0) {
		v->f_overrun_full--;
		q->srb_status = VSTOR_SRB_DATA_OVERRUN;
	}
}

static bool
ver_known(uint16_t ver)
{
	return ver == VSTOR_V_WIN6 || ver == VSTOR_V_WIN7 || ver == VSTOR_V_WIN8 ||
	    ver == VSTOR_V_WIN8_1 || ver == VSTOR_V_WIN10;
}

void
storvsc_vsp_hook(struct hv_sim *s, struct sim_chan *c, void *ctx)
{
	struct storvsc_vsp *v = ctx;
	union { uint64_t a; uint8_t b[2048]; } buf;
	uint16_t type;
	uint64_t id;
	uint32_t hlen;

	if (c->relid != v->relid)
		return;
	for (;;) {
		int n = hv_sim_chan_recv_pkt(s, c, buf.b, sizeof(buf.b), &type, &id, &hlen);
		if (n < 0)
			return;
		if ((uint32_t)n > sizeof(buf.b)) {
			hv_sim_error(s, "storvsc vsp: packet of %d bytes", n);
			continue;
		}
		uint16_t flags;
		memcpy(&flags, buf.b + 6, 2);
		if (n - (int)hlen != (int)sizeof(struct vstor_packet)) {
			hv_sim_error(s, "storvsc vsp: payload %d bytes, vstor_packet is 64",
			    n - (int)hlen);
			continue;
		}
		if (!(flags & VMBUS_PKT_FLAG_COMPLETION) || id == 0) {
			hv_sim_error(s, "storvsc vsp: flags 0x%x id %llu", flags,
			    (unsigned long long)id);
			continue;
		}
		struct vstor_packet r;
		memcpy(&r, buf.b + hlen, sizeof(r));
		if (!(r.flags & VSTOR_FLAG_REQUEST_COMPLETION))
			hv_sim_error(s, "storvsc vsp: vstor flags 0x%x", r.flags);
		if (type != VMBUS_PKT_DATA_INBAND &&
		    !(type == VMBUS_PKT_DATA_GPA_DIRECT && r.operation == VSTOR_OP_EXECUTE_SRB)) {
			hv_sim_error(s, "storvsc vsp: operation %u as packet type %u",
			    r.operation, type);
			continue;
		}
		uint32_t op = r.operation;
		bool mute = v->f_mute_op == op, io = false;
		r.operation = VSTOR_OP_COMPLETE_IO;
		r.flags = 0;
		r.status = 0;
		switch (op) {
		case VSTOR_OP_BEGIN_INIT:
			if (v->state != 0)
				hv_sim_error(s, "storvsc vsp: BEGIN_INITIALIZATION in state %d", v->state);
			v->state = 1;
			break;
		case VSTOR_OP_QUERY_VERSION: {
			uint16_t ver = r.u.version.major_minor;
			if (v->state != 1)
				hv_sim_error(s, "storvsc vsp: QUERY_PROTOCOL_VERSION in state %d",
				    v->state);
			if (r.u.version.revision != 0 || !ver_known(ver))
				hv_sim_error(s, "storvsc vsp: version 0x%04x revision %u", ver,
				    r.u.version.revision);
			if (v->nversions < 8)
				v->versions_asked[v->nversions++] = ver;
			if (ver <= v->ver_max && ver >= VSTOR_V_WIN8 && ver_known(ver) &&
			    v->f_refuse_op != op) {
				v->version = ver;
				v->state = 2;
			} else {
				r.status = VSTOR_REFUSED;
			}
			break;
		}
		case VSTOR_OP_QUERY_PROPERTIES:
			if (v->state != 2)
				hv_sim_error(s, "storvsc vsp: QUERY_PROPERTIES in state %d", v->state);
			memset(&r.u, 0, sizeof(r.u));
			r.u.props.max_channel_cnt = 1;
			r.u.props.max_transfer_bytes = v->max_transfer;
			v->state = 3;
			break;
		case VSTOR_OP_END_INIT:
			if (v->state != 3)
				hv_sim_error(s, "storvsc vsp: END_INITIALIZATION in state %d", v->state);
			v->state = 4;
			break;
		case VSTOR_OP_EXECUTE_SRB:
			if (v->state < 4)
				hv_sim_error(s, "storvsc vsp: EXECUTE_SRB in state %d", v->state);
			vsp_srb(v, buf.b, type, hlen, &r, &mute, &io);
			break;
		default:
			hv_sim_error(s, "storvsc vsp: unknown operation %u", op);
			r.status = VSTOR_REFUSED;
			break;
		}
		if (v->f_refuse_op == op && op != VSTOR_OP_QUERY_VERSION)
			r.status = VSTOR_REFUSED;
		if (mute)
			continue;
		if (io && v->f_unknown_id > 0) {
			/* A stale id that names the same slot, carrying a failure:
			   a driver that took it would fail the real request. */
			struct vstor_packet bogus = r;
			v->f_unknown_id--;
			sense(&bogus, SCSI_KEY_MEDIUM_ERROR, 0x11, 0);
			vsp_send(v, c, id + (1ull << 40), &bogus);
		}
		if (io && v->f_hold && v->nhold < VSP_HOLD_MAX) {
			v->hold[v->nhold].id = id;
			v->hold[v->nhold].vp = r;
			v->nhold++;
			if (v->nhold > v->max_inflight)
				v->max_inflight = v->nhold;
			continue;
		}
		vsp_send(v, c, id, &r);
	}
}

int
storvsc_vsp_release(struct storvsc_vsp *v, int n)
{
	struct sim_chan *c = hv_sim_chan(v->s, v->relid);
	int k = 0;
	if (n < 0 || n > v->nhold)
		n = v->nhold;
	for (; k < n; k++) {
		if (c == NULL || !c->open)
			break;
		vsp_send(v, c, v->hold[k].id, &v->hold[k].vp);
	}
	memmove(&v->hold[0], &v->hold[n], (size_t)(v->nhold - n) * sizeof(v->hold[0]));
	v->nhold -= n;
	return k;
}

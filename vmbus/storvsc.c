/*
 * storvsc.c - storvsc control path (PROTOCOLS.md B.13, B.14): the driver
 * descriptor, attach (channel open, VSTOR handshake, LUN discovery, block
 * registration) and detach.  The datapath is storvsc_io.c.
 *
 * Control requests (handshake and discovery SCSI commands) run one at a
 * time: each is sent with trans_id STORVSC_TID_CTRL | n and waited for by
 * reading the channel, at most sc->timeout_ns (5 s, as Linux) per step; a
 * step that gets no answer is named in the log.  Anything else that
 * arrives meanwhile goes to storvsc_dispatch (a rescan runs with the
 * other disks' I/O in flight); a stale control answer is counted and
 * dropped.
 *
 * Every connected direct-access LUN that REPORT LUNS lists (at most
 * STORVSC_MAX_LUNS) becomes a disk of its own (struct storvsc_lun), all
 * sharing the channel and the request slots.  ENUMERATE_BUS makes the
 * poll path rescan (storvsc_rescan): new disks are attached, disks no
 * longer listed removed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "vmbus/storvsc_var.h"

#define PG	4096u

static const uint16_t storvsc_versions[] = {	/* newest first (B.13) */
	VSTOR_V_WIN10, VSTOR_V_WIN8_1, VSTOR_V_WIN8,
};

static inline uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static const char *
op_name(uint32_t op)
{
	switch (op) {
	case VSTOR_OP_BEGIN_INIT: return "BEGIN_INITIALIZATION";
	case VSTOR_OP_END_INIT: return "END_INITIALIZATION";
	case VSTOR_OP_QUERY_VERSION: return "QUERY_PROTOCOL_VERSION";
	case VSTOR_OP_QUERY_PROPERTIES: return "QUERY_PROPERTIES";
	case VSTOR_OP_EXECUTE_SRB: return "EXECUTE_SRB";
	default: return "?";
	}
}

/*
 * Send one control packet (with an optional data range) and wait for its
 * completion, copied into *resp.  TERN_ETIMEDOUT names the step.
 */
static int
storvsc_ctrl(struct storvsc_softc *sc, const struct vstor_packet *req,
    const struct vstor_gpa_range *rg, int npfn, struct vstor_packet *resp,
    const char *what)
{
	union {
		uint64_t align;
		uint8_t b[512];
	} buf;
	struct vmbus_pkt p = { 0 };
	uint64_t id = STORVSC_TID_CTRL | ++sc->seq;
	int rc;

	if (npfn > 0)
		rc = vmbus_chan_send(sc->ch, VMBUS_PKT_DATA_GPA_DIRECT,
		    VMBUS_PKT_FLAG_COMPLETION, id, rg, sizeof(*rg) + (size_t)npfn * 8,
		    req, sizeof(*req));
	else
		rc = vmbus_chan_send(sc->ch, VMBUS_PKT_DATA_INBAND,
		    VMBUS_PKT_FLAG_COMPLETION, id, NULL, 0, req, sizeof(*req));
	if (rc != TERN_OK) {
		log_error("storvsc", "%s: sending %s failed: %s", sc->hw->name, what,
		    err_str(rc));
		return rc;
	}
	uint64_t limit = sc->timeout_ns != 0 ? sc->timeout_ns : STORVSC_INIT_TIMEOUT_NS;
	uint64_t start = hw_now_ns(sc->hw);
	/* The deadline is checked on every pass, packets or not: a host that
	   keeps sending other packets cannot hold us here. */
	while (hw_now_ns(sc->hw) - start < limit) {
		rc = vmbus_chan_recv(sc->ch, buf.b, sizeof(buf.b), &p);
		if (rc == TERN_OK && !storvsc_pkt_ok(&p, sizeof(buf.b))) {
			sc->st.bad_pkts++;
			log_warn("storvsc", "%s: waiting for %s: dropped packet with header %u of %u bytes",
			    sc->hw->name, what, p.hdr_len, p.len);
			continue;
		}
		if (rc == TERN_OK) {
			uint32_t len = p.len - p.hdr_len;
			if (p.type != VMBUS_PKT_COMP || p.trans_id != id) {
				/* I/O of the registered disks goes on during a
				   rescan: its completions are handled, not lost. */
				if ((p.trans_id & 0xffff000000000000ull) != STORVSC_TID_CTRL)
					storvsc_dispatch(sc, &p, buf.b);
				else {
					sc->st.unknown_ids++;
					log_warn("storvsc", "%s: waiting for %s: dropped packet type %u id 0x%llx",
					    sc->hw->name, what, p.type,
					    (unsigned long long)p.trans_id);
				}
				continue;
			}
			if (len < sizeof(*resp)) {
				sc->st.bad_pkts++;
				log_error("storvsc", "%s: %s answered with %u bytes, want %zu",
				    sc->hw->name, what, len, sizeof(*resp));
				return TERN_EPROTO;
			}
			memcpy(resp, buf.b + p.hdr_len, sizeof(*resp));
			return TERN_OK;
		}
		if (rc != TERN_EAGAIN) {
			log_error("storvsc", "%s: channel failed waiting for %s: %s",
			    sc->hw->name, what, err_str(rc));
			return rc == TERN_ENODEV ? TERN_ENODEV : TERN_EPROTO;
		}
		hw_delay_us(sc->hw, 1000);
	}
	log_error("storvsc", "%s: no answer to %s after %llu ms", sc->hw->name, what,
	    (unsigned long long)(limit / 1000000));
	return TERN_ETIMEDOUT;
}

/* A VSTOR operation without data; TERN_EIO when its status is not 0. */
static int
storvsc_op(struct storvsc_softc *sc, struct vstor_packet *vp, struct vstor_packet *resp)
{
	const char *what = op_name(vp->operation);
	vp->flags = VSTOR_FLAG_REQUEST_COMPLETION;
	int rc = storvsc_ctrl(sc, vp, NULL, 0, resp, what);
	if (rc != TERN_OK)
		return rc;
	if (resp->operation != VSTOR_OP_COMPLETE_IO) {
		sc->st.bad_pkts++;
		log_error("storvsc", "%s: %s answered with operation %u", sc->hw->name,
		    what, resp->operation);
		return TERN_EPROTO;
	}
	if (resp->status != 0)
		return TERN_EIO;
	return TERN_OK;
}

static int
storvsc_handshake(struct storvsc_softc *sc)
{
	struct vstor_packet vp, resp;
	int rc;

	memset(&vp, 0, sizeof(vp));
	vp.operation = VSTOR_OP_BEGIN_INIT;
	if ((rc = storvsc_op(sc, &vp, &resp)) != TERN_OK) {
		log_error("storvsc", "%s: BEGIN_INITIALIZATION failed: %s (status 0x%x)",
		    sc->hw->name, err_str(rc), resp.status);
		return rc;
	}
	rc = TERN_ENOTSUP;
	for (size_t i = 0; i < sizeof(storvsc_versions) / sizeof(storvsc_versions[0]); i++) {
		memset(&vp, 0, sizeof(vp));
		vp.operation = VSTOR_OP_QUERY_VERSION;
		vp.u.version.major_minor = storvsc_versions[i];
		int r = storvsc_op(sc, &vp, &resp);
		if (r == TERN_OK) {
			sc->version = storvsc_versions[i];
			rc = TERN_OK;
			break;
		}
		if (r != TERN_EIO)
			return r;
		log_info("storvsc", "%s: host refused VSTOR %u.%u (status 0x%x)",
		    sc->hw->name, storvsc_versions[i] >> 8, storvsc_versions[i] & 0xff,
		    resp.status);
	}
	if (rc != TERN_OK) {
		log_error("storvsc", "%s: host accepts none of VSTOR 6.2, 6.0, 5.1",
		    sc->hw->name);
		return rc;
	}
	memset(&vp, 0, sizeof(vp));
	vp.operation = VSTOR_OP_QUERY_PROPERTIES;
	if ((rc = storvsc_op(sc, &vp, &resp)) != TERN_OK) {
		log_error("storvsc", "%s: QUERY_PROPERTIES failed: %s", sc->hw->name,
		    err_str(rc));
		return rc;
	}
	sc->max_channels = resp.u.props.max_channel_cnt;
	sc->max_transfer = resp.u.props.max_transfer_bytes;
	if (sc->max_transfer < PG) {
		log_error("storvsc", "%s: host max transfer %u bytes is below one page",
		    sc->hw->name, sc->max_transfer);
		return TERN_EPROTO;
	}
	memset(&vp, 0, sizeof(vp));
	vp.operation = VSTOR_OP_END_INIT;
	if ((rc = storvsc_op(sc, &vp, &resp)) != TERN_OK) {
		log_error("storvsc", "%s: END_INITIALIZATION failed: %s", sc->hw->name,
		    err_str(rc));
		return rc;
	}
	return TERN_OK;
}

/*
 * One SCSI command with up to a page of data in sc->scratch (dir IN or
 * NONE), retrying UNIT ATTENTION at once and BUSY after 1, 2, 4, 8, 16 ms
 * (discovery is a bounded synchronous wait already).  *moved: bytes the
 * host put in.
 */
static int
storvsc_scsi(struct storvsc_softc *sc, uint8_t lun, const uint8_t *cdb,
    uint8_t cdb_len, uint8_t dir, uint32_t len, uint32_t *moved)
{
	struct {
		struct vstor_gpa_range rg;
		uint64_t pfn[2];
	} ext;
	struct vstor_packet vp, resp;
	struct blk_seg seg = { sc->scratch.va, len };
	int npfn = 0, rc = TERN_EIO;

	if (len > 0) {
		memset(sc->scratch.va, 0, PG);
		npfn = storvsc_build_range(sc, &seg, 1, &ext.rg, ext.pfn, 2);
		if (npfn < 0)
			return npfn;
	}
	for (int attempt = 0; attempt <= STORVSC_RETRIES; attempt++) {
		bool retry;
		storvsc_srb_init(&vp, lun, cdb, cdb_len, dir, len);
		rc = storvsc_ctrl(sc, &vp, &ext.rg, npfn, &resp, "a SCSI command");
		if (rc != TERN_OK)
			break;
		hw_dma_sync_cpu(sc->hw, sc->scratch.va, PG);
		rc = storvsc_srb_result(sc, sc->hw->name, lun, &resp, len, true, 0, &retry,
		    moved);
		if (!retry)
			break;
		rc = TERN_EIO;
		if (resp.u.srb.scsi_status != SCSI_ST_CHECK_CONDITION &&
		    attempt < STORVSC_RETRIES)
			hw_delay_us(sc->hw, (uint32_t)((STORVSC_BUSY_BASE_NS << attempt) / 1000));
	}
	return rc;
}

/* REPORT LUNS on LUN 0: fills luns[] (at most max), returns the count. */
static int
storvsc_report_luns(struct storvsc_softc *sc, uint8_t *luns, int max)
{
	uint8_t cdb[12] = { SCSI_REPORT_LUNS };
	uint32_t alloc = SCSI_RLUN_HDR + SCSI_RLUN_ENTRY * STORVSC_RLUN_MAX, moved;
	cdb[6] = (uint8_t)(alloc >> 24);
	cdb[7] = (uint8_t)(alloc >> 16);
	cdb[8] = (uint8_t)(alloc >> 8);
	cdb[9] = (uint8_t)alloc;
	int rc = storvsc_scsi(sc, 0, cdb, sizeof(cdb), VSTOR_DATA_IN, alloc, &moved);
	if (rc != TERN_OK)
		return rc;
	const uint8_t *d = sc->scratch.va;
	if (moved < SCSI_RLUN_HDR)
		return TERN_EPROTO;
	uint32_t list = get_be32(d);
	uint32_t have = moved - SCSI_RLUN_HDR;
	if (list < have)
		have = list;
	if (list > have)
		log_warn("storvsc", "%s: REPORT LUNS lists %u bytes, %u read", sc->hw->name,
		    list, have);
	int n = 0;
	for (uint32_t off = 0; off + SCSI_RLUN_ENTRY <= have && n < max;
	    off += SCSI_RLUN_ENTRY) {
		const uint8_t *e = d + SCSI_RLUN_HDR + off;
		uint32_t lun;
		uint8_t method = e[0] >> 6;
		if (method == 0 && (e[0] & 0x3f) == 0)
			lun = e[1];		/* peripheral, bus 0 */
		else if (method == 1)
			lun = (uint32_t)(e[0] & 0x3f) << 8 | e[1];	/* flat */
		else
			lun = 0x10000;
		bool rest0 = true;
		for (int k = 2; k < 8; k++)
			rest0 = rest0 && e[k] == 0;
		bool dup = false;
		for (int k = 0; k < n; k++)
			dup = dup || luns[k] == lun;
		if (lun > 255 || !rest0 || dup) {
			log_warn("storvsc", "%s: REPORT LUNS entry %02x%02x%02x%02x... skipped%s",
			    sc->hw->name, e[0], e[1], e[2], e[3], dup ? " (listed twice)" : "");
			continue;
		}
		luns[n++] = (uint8_t)lun;
	}
	return n;
}

static void
trim_copy(char *dst, const uint8_t *src, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		dst[k++] = (src[i] >= 0x20 && src[i] < 0x7f && src[i] != '"') ? (char)src[i] : '?';
	while (k > 0 && dst[k - 1] == ' ')
		k--;
	dst[k] = '\0';
}

/* INQUIRY lun: TERN_OK for a connected direct-access disk. */
static int
storvsc_inquiry(struct storvsc_softc *sc, struct storvsc_lun *lu)
{
	uint8_t cdb[6] = { SCSI_INQUIRY, 0, 0, 0, SCSI_INQ_LEN, 0 };
	uint32_t moved;
	int rc = storvsc_scsi(sc, lu->lun, cdb, sizeof(cdb), VSTOR_DATA_IN, SCSI_INQ_LEN,
	    &moved);
	if (rc != TERN_OK)
		return rc;
	const uint8_t *d = sc->scratch.va;
	if (moved < 1)
		return TERN_EPROTO;
	if (d[0] != ((0 << 5) | SCSI_TYPE_DISK)) {
		log_info("storvsc", "%s: lun %u is type 0x%02x, not a connected disk",
		    sc->hw->name, lu->lun, d[0]);
		return TERN_ENODEV;
	}
	if (moved >= 32) {
		trim_copy(lu->vendor, d + 8, 8);
		trim_copy(lu->product, d + 16, 16);
	}
	return TERN_OK;
}

static int
storvsc_capacity(struct storvsc_softc *sc, uint8_t lun, uint64_t *nblocks,
    uint32_t *bsize)
{
	uint8_t cdb[16] = { SCSI_SERVICE_IN_16, SCSI_SAI_READ_CAP_16 };
	uint32_t moved;
	cdb[13] = SCSI_RCAP16_LEN;
	int rc = storvsc_scsi(sc, lun, cdb, sizeof(cdb), VSTOR_DATA_IN,
	    SCSI_RCAP16_LEN, &moved);
	if (rc != TERN_OK)
		return rc;
	const uint8_t *d = sc->scratch.va;
	if (moved < 12) {
		log_error("storvsc", "%s: READ CAPACITY(16) returned %u bytes", sc->hw->name,
		    moved);
		return TERN_EPROTO;
	}
	uint64_t last = get_be64(d);
	uint32_t bs = get_be32(d + 8);
	if (bs < 512 || bs > 65536 || (bs & (bs - 1)) != 0 || last == UINT64_MAX ||
	    last >= (UINT64_MAX / bs)) {
		log_error("storvsc", "%s: READ CAPACITY(16): last LBA %llu block %u rejected",
		    sc->hw->name, (unsigned long long)last, bs);
		return TERN_EPROTO;
	}
	*nblocks = last + 1;
	*bsize = bs;
	return TERN_OK;
}

/* MODE SENSE(6), caching page: DPOFUA, WP and WCE.  A host that fails it
   (B.13: Hyper-V fails some MODE SENSE pages) leaves FUA off and the
   cache assumed on, which is the safe side. */
static void
storvsc_mode(struct storvsc_softc *sc, struct storvsc_lun *lu)
{
	uint8_t cdb[6] = { SCSI_MODE_SENSE_6, 0x08, SCSI_MODE_PAGE_CACHING, 0, 64, 0 };
	uint32_t moved;

	lu->fua = false;
	lu->wce = true;
	lu->ro = false;
	if (storvsc_scsi(sc, lu->lun, cdb, sizeof(cdb), VSTOR_DATA_IN, 64, &moved) != TERN_OK ||
	    moved < 4) {
		log_info("storvsc", "%s: lun %u: no MODE SENSE; FUA off, write cache assumed",
		    sc->hw->name, lu->lun);
		return;
	}
	const uint8_t *d = sc->scratch.va;
	lu->fua = (d[2] & SCSI_MODE_DPOFUA) != 0;
	lu->ro = (d[2] & SCSI_MODE_WP) != 0;
	uint32_t pg = 4u + d[3];
	if (pg + 3 <= moved && (d[pg] & 0x3f) == SCSI_MODE_PAGE_CACHING && d[pg + 1] >= 2)
		lu->wce = (d[pg + 2] & SCSI_CACHING_WCE) != 0;
}

static void
storvsc_name(struct blk_dev *b)
{
	for (char c = 'a'; c <= 'z'; c++) {
		ksnprintf(b->name, sizeof(b->name), "sd%c", c);
		if (blk_find(b->name) == NULL)
			return;
	}
}

static struct storvsc_lun *
storvsc_lun_find(struct storvsc_softc *sc, uint8_t lun)
{
	for (uint32_t k = 0; k < STORVSC_MAX_LUNS; k++)
		if (sc->luns[k].registered && sc->luns[k].lun == lun)
			return &sc->luns[k];
	return NULL;
}

/*
 * Discover LUN `lun` and register it as a disk of its own.  TERN_ENODEV:
 * not a connected disk (skipped); TERN_ENOMEM: no free entry (counted);
 * TERN_ETIMEDOUT: the host stopped answering.
 */
static int
storvsc_lun_add(struct storvsc_softc *sc, uint8_t lun)
{
	struct storvsc_lun *lu = NULL;
	/* An entry never used first: a caller that kept a pointer to a
	   removed disk finds it gone (TERN_ENODEV) for as long as possible. */
	for (uint32_t k = 0; k < STORVSC_MAX_LUNS && lu == NULL; k++)
		if (!sc->luns[k].registered && !sc->luns[k].used)
			lu = &sc->luns[k];
	for (uint32_t k = 0; k < STORVSC_MAX_LUNS && lu == NULL; k++)
		if (!sc->luns[k].registered)
			lu = &sc->luns[k];
	if (lu == NULL) {
		sc->st.luns_dropped++;
		log_warn("storvsc", "%s: lun %u not attached: %u disks already (at most %u "
		    "per controller)", sc->hw->name, lun, STORVSC_MAX_LUNS, STORVSC_MAX_LUNS);
		return TERN_ENOMEM;
	}
	/* A free entry: its old blk_dev is out of the registry; no pointer
	   to it remains there. */
	memset(lu, 0, sizeof(*lu));
	lu->sc = sc;
	lu->lun = lun;
	int rc = storvsc_inquiry(sc, lu);
	if (rc != TERN_OK)
		return rc;
	uint64_t nb;
	uint32_t bs;
	if ((rc = storvsc_capacity(sc, lun, &nb, &bs)) != TERN_OK)
		return rc;
	storvsc_mode(sc, lu);

	struct blk_dev *b = &lu->blk;
	b->block_size = bs;
	b->nblocks = nb;
	b->features = (lu->wce ? BLK_F_FLUSH : 0) | (lu->fua ? BLK_F_FUA : 0) |
	    (lu->ro ? BLK_F_RO : 0);
	storvsc_name(b);
	b->nqueues = 1;
	b->queue_depth = STORVSC_QDEPTH;
	b->max_transfer = STORVSC_MAX_XFER;
	if (sc->max_transfer < b->max_transfer)
		b->max_transfer = sc->max_transfer & ~(b->block_size - 1);
	b->max_segs = BLK_MAX_SEGS;
	b->ops = &storvsc_blk_ops;
	b->sc = lu;
	if ((rc = blk_register(b)) != TERN_OK)
		return rc;
	lu->registered = true;
	lu->used = true;
	marker("BLK name=%s driver=storvsc relid=%u lun=%u sectors=%llu bsize=%u "
	    "fua=%d wce=%d vstor=%u.%u model=\"%s %s\"", b->name,
	    vmbus_chan_relid(sc->ch), lu->lun, (unsigned long long)b->nblocks,
	    b->block_size, lu->fua, lu->wce, sc->version >> 8, sc->version & 0xff,
	    lu->vendor, lu->product);
	return TERN_OK;
}

void
storvsc_lun_remove(struct storvsc_softc *sc, struct storvsc_lun *lu)
{
	if (!lu->registered)
		return;
	log_info("storvsc", "%s: lun %u (%s) removed", sc->hw->name, lu->lun,
	    lu->blk.name);
	/* Its requests end TERN_ECANCELED (storvsc_blk_detach). */
	blk_unregister(&lu->blk);
	lu->registered = false;
}

/*
 * REPORT LUNS, then attach every listed connected disk not yet attached
 * and (initial == false) remove every attached disk no longer listed.
 * On the first scan a failed REPORT LUNS falls back to LUN 0; on a rescan
 * it changes nothing.  Returns the number of disks attached now, or a
 * tern_err when the host stopped answering.
 */
static int
storvsc_scan(struct storvsc_softc *sc, bool initial)
{
	uint8_t luns[STORVSC_RLUN_MAX];
	int n, attached = 0;

	sc->scanning = true;
	n = storvsc_report_luns(sc, luns, STORVSC_RLUN_MAX);
	if (n < 0) {
		if (n == TERN_ETIMEDOUT || !initial) {
			log_warn("storvsc", "%s: REPORT LUNS failed (%s)%s", sc->hw->name,
			    err_str(n), initial ? "" : "; disks unchanged");
			sc->scanning = false;
			return n;
		}
		log_info("storvsc", "%s: REPORT LUNS failed (%s); trying LUN 0",
		    sc->hw->name, err_str(n));
		luns[0] = 0;
		n = 1;
	}
	if (!initial) {
		for (uint32_t k = 0; k < STORVSC_MAX_LUNS; k++) {
			struct storvsc_lun *lu = &sc->luns[k];
			bool listed = false;
			for (int i = 0; i < n; i++)
				listed = listed || luns[i] == lu->lun;
			if (lu->registered && !listed) {
				storvsc_lun_remove(sc, lu);
				sc->st.luns_removed++;
			}
		}
	}
	int rc = TERN_OK;
	for (int i = 0; i < n; i++) {
		if (storvsc_lun_find(sc, luns[i]) != NULL)
			continue;
		rc = storvsc_lun_add(sc, luns[i]);
		if (rc == TERN_ETIMEDOUT)
			break;
		if (rc == TERN_OK && !initial)
			sc->st.luns_added++;
		rc = TERN_OK;
	}
	for (uint32_t k = 0; k < STORVSC_MAX_LUNS; k++)
		attached += sc->luns[k].registered;
	sc->scanning = false;
	if (rc != TERN_OK)
		return rc;
	if (initial && attached == 0)
		log_error("storvsc", "%s: no disk among %d LUNs", sc->hw->name, n);
	return attached;
}

void
storvsc_rescan(struct storvsc_softc *sc)
{
	sc->st.rescans++;
	int n = storvsc_scan(sc, false);
	if (n < 0)
		sc->st.rescan_failed++;
	else
		log_info("storvsc", "%s: rescan: %d disks", sc->hw->name, n);
}

static void
storvsc_close(struct storvsc_softc *sc)
{
	if (sc->open) {
		sc->open = false;
		vmbus_chan_close(sc->ch);
	}
}

/* Every disk out of the registry; the channel closed first (when
   `close`), so the host stops touching request memory. */
static void
storvsc_remove_all(struct storvsc_softc *sc, bool close)
{
	if (close)
		storvsc_close(sc);
	for (uint32_t k = 0; k < STORVSC_MAX_LUNS; k++)
		storvsc_lun_remove(sc, &sc->luns[k]);
}

static int
storvsc_attach(struct device *dev, void *softc)
{
	struct storvsc_softc *sc = softc;
	uint8_t props[24];
	int rc;

	sc->ch = vmbus_chan_of(dev);
	if (sc->ch == NULL) {
		rc = TERN_EINVAL;
		goto fail;
	}
	sc->hw = vmbus_chan_hw(sc->ch);
	if (hw_dma_alloc(sc->hw, PG, PG, &sc->scratch) != 0) {
		rc = TERN_ENOMEM;
		goto fail;
	}
	/* B.13: a zeroed vmstorage_channel_properties as the open userdata. */
	memset(props, 0, sizeof(props));
	rc = vmbus_chan_open(sc->ch, STORVSC_RING, STORVSC_RING, props,
	    sizeof(props), NULL, NULL);
	if (rc != TERN_OK)
		goto fail_dma;
	sc->open = true;
	if ((rc = storvsc_handshake(sc)) != TERN_OK)
		goto fail_close;
	rc = storvsc_scan(sc, true);
	if (rc == 0)
		rc = TERN_ENODEV;
	if (rc < 0)
		goto fail_close;
	sc->live = true;
	return TERN_OK;

fail_close:
	storvsc_remove_all(sc, true);
fail_dma:
	hw_dma_free(sc->hw, &sc->scratch);
fail:
	log_error("storvsc", "%s: attach failed: %s", dev->name, err_str(rc));
	return rc;
}

static void
storvsc_detach(struct device *dev, void *softc)
{
	struct storvsc_softc *sc = softc;
	(void)dev;

	sc->live = false;
	/* Close the channel, then unregister every disk: their requests
	   end TERN_ECANCELED; no registry entry points into the softc. */
	storvsc_remove_all(sc, true);
	storvsc_close(sc);
	hw_dma_free(sc->hw, &sc->scratch);
}

static const struct driver_guid storvsc_ids[] = {
	/* SCSI ba6163d9-04a1-4d29-b605-72e2ffb1dc7f (B.14, wire order) */
	{ { 0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d,
	    0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f } },
	{ { 0 } },
};

const struct driver storvsc_driver = {
	.name = "storvsc",
	.bus = DRIVER_BUS_VMBUS,
	.vmbus_ids = storvsc_ids,
	.softc_size = sizeof(struct storvsc_softc),
	.attach = storvsc_attach,
	.detach = storvsc_detach,
};

/*
 * ena.c - ENA control path: bring-up (PROTOCOLS.md A.4), features (A.6),
 * IO queue creation (A.7), LLQ negotiation (A.9), AENQ (A.10), watchdogs,
 * reset and recovery.  Register access and the admin queue are in
 * ena_admin.c, the datapath in ena_datapath.c.
 *
 * What callers may rely on (see ena.h): attach is a straight line of
 * bounded steps with unwind labels; every value the device writes
 * (register reads, admin completions, AENQ entries) is checked and
 * counted in sc->st, never trusted.  Admin commands run one at a time
 * and are polled.  With MSI-X (sc->nvec != 0) the management vector is
 * unmasked once the device is up (INTR_MASK = 0, A.4 step 15): its
 * interrupt marks the AENQ for service and the next poll of any queue
 * walks it; without MSI-X INTR_MASK stays 1 and queue 0's poll walks it.
 * The keep-alive watchdog and DEV_STS.FATAL are serviced from queue 0's
 * poll, which is also where a pending reset runs.  A reset keeps every allocation: rings
 * are rebuilt in place, in-flight TX chains are released, RX buffers
 * the device held are posted again, and the NIC stays registered with
 * the same MAC.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ena/ena_var.h"
#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"

#define MOD "ena"

static const struct nic_ops ena_nic_ops = {
	.tx = ena_tx,
	.poll = ena_poll,
	.intr_enable = ena_intr_enable,
	.detach = NULL,
	.rx_pending = ena_rx_pending,
};

/* A.6.5: os type is ours (any value is accepted, as far as known). */
#define ENA_OS_TYPE_TERN	0x74
static void
fill_host_info(struct ena_softc *sc)
{
	struct ena_host_info *h = sc->host_info.va;
	memset(h, 0, sizeof(*h));
	h->os_type = ENA_OS_TYPE_TERN;
	memcpy(h->os_dist_str, "tern", sizeof("tern"));
	memcpy(h->kernel_ver_str, "tern 0.1", sizeof("tern 0.1"));
	h->driver_version = ENA_DRV_VERSION;
	h->ena_spec_version = 2u << 8;
	h->bdf = sc->bdf;
	h->num_cpus = sc->ncpus ? sc->ncpus : 1;
	hw_dma_sync_dev(&sc->hw, h, sizeof(*h));
}

/* A.9: choose the LLQ configuration from what the device offers. */
static int
negotiate_llq(struct ena_softc *sc)
{
	struct ena_feat_llq g;
	sc->llq = false;
	if (sc->llq_bar.len == 0)
		return TERN_ENOTSUP;
	int rc = ena_get_feature(sc, ENA_FEAT_LLQ, 1, &g, sizeof(g));
	if (rc != TERN_OK)
		return rc;
	if (!(g.header_location_supported & ENA_LLQ_HDR_INLINE) ||
	    !(g.desc_stride_supported & ENA_LLQ_STRIDE_MULTI) ||
	    !(g.desc_before_hdr_supported & ENA_LLQ_DESCS_BEFORE_HDR_2) ||
	    !(g.entry_size_supported & (ENA_LLQ_ENTRY_128 | ENA_LLQ_ENTRY_256)) ||
	    g.max_llq_num == 0 || g.max_llq_depth < 16) {
		log_warn(MOD, "%s: LLQ offered without inline/128 B/2-before-header "
		    "modes: host-memory TX", sc->hw.name);
		return TERN_ENOTSUP;
	}
	struct ena_feat_llq s;
	memset(&s, 0, sizeof(s));
	s.header_location_enabled = ENA_LLQ_HDR_INLINE;
	s.desc_stride_enabled = ENA_LLQ_STRIDE_MULTI;
	s.desc_before_hdr_enabled = ENA_LLQ_DESCS_BEFORE_HDR_2;
	bool large = (g.entry_size_supported & ENA_LLQ_ENTRY_256) &&
	    g.entry_size_recommended == ENA_LLQ_ENTRY_256;
	if (!(g.entry_size_supported & ENA_LLQ_ENTRY_128))
		large = true;
	s.entry_size_enabled = large ? ENA_LLQ_ENTRY_256 : ENA_LLQ_ENTRY_128;
	s.accel_flags = g.accel_flags &
	    (ENA_LLQ_ACCEL_NO_META_CACHE | ENA_LLQ_ACCEL_LIMIT_BURST);
	s.feature_version = 1;
	uint16_t entry = large ? 256 : 128;
	uint32_t depth = g.max_llq_depth;
	if (large && g.max_wide_llq_depth != 0)
		depth = g.max_wide_llq_depth;
	else if (large)
		depth /= 2;
	if (sc->llq_bar.len < (uint64_t)depth * entry) {
		log_warn(MOD, "%s: BAR2 (%u bytes) smaller than one LLQ ring",
		    sc->hw.name, (unsigned)sc->llq_bar.len);
		return TERN_ENOTSUP;
	}
	rc = ena_set_feature(sc, ENA_FEAT_LLQ, 1, &s, sizeof(s));
	if (rc != TERN_OK)
		return rc;
	sc->llq = true;
	sc->llq_entry = entry;
	sc->llq_inline = (uint16_t)(entry - 2 * sizeof(struct ena_tx_desc));
	sc->llq_burst = 0;
	if ((s.accel_flags & ENA_LLQ_ACCEL_LIMIT_BURST) && g.max_tx_burst_size >= entry)
		sc->llq_burst = (uint16_t)(g.max_tx_burst_size / entry);
	uint16_t d = 16;
	while ((uint32_t)d * 2 <= depth && d * 2 <= sc->tx_depth)
		d = (uint16_t)(d * 2);
	sc->tx_depth = d < sc->tx_depth ? d : sc->tx_depth;
	return TERN_OK;
}

static uint16_t
pow2_floor(uint32_t v, uint16_t cap)
{
	uint16_t d = 1;
	while ((uint32_t)d * 2 <= v && d * 2 <= cap)
		d = (uint16_t)(d * 2);
	return d;
}

/*
 * A.4 steps 2-14: reset, admin queues, host info, features, AENQ, LLQ,
 * MTU.  Used by attach and by recovery; allocations exist already.
 */
static int
dev_init(struct ena_softc *sc, uint8_t reason)
{
	int rc;
	ena_set_mmio_resp(sc);
	sc->admin_dead = false;
	if ((rc = ena_dev_reset(sc, reason)) != TERN_OK)
		return rc;
	uint32_t ver = ena_reg_read(sc, ENA_REG_VERSION);
	uint32_t cver = ena_reg_read(sc, ENA_REG_CTRL_VERSION);
	if (ver == 0xffffffffu || cver == 0xffffffffu || (cver & 0xffffff) < 1) {
		log_error(MOD, "%s: controller version 0x%x too old or unreadable",
		    sc->hw.name, cver);
		return TERN_ENODEV;
	}
	uint8_t width = (uint8_t)ENA_CAPS_DMA_WIDTH(sc->caps);
	if (width < 32 || width > 48) {
		log_error(MOD, "%s: CAPS DMA width %u outside 32..48", sc->hw.name, width);
		return TERN_EPROTO;
	}
	if (sc->dma_width != 0 && width < sc->dma_width) {
		log_error(MOD, "%s: DMA width shrank to %u after reset", sc->hw.name, width);
		return TERN_EPROTO;
	}
	sc->dma_width = width;
	/* The width is known only now; what was allocated before (under the
	   bus glue's 48-bit limit) must fit it, before the device sees it. */
	uint64_t lim = 1ULL << width;
	if (sc->aq.pa + sc->aq.len > lim || sc->acq.pa + sc->acq.len > lim ||
	    sc->aenq.pa + sc->aenq.len > lim ||
	    sc->host_info.pa + sc->host_info.len > lim ||
	    sc->mmio_resp.pa + sc->mmio_resp.len > lim) {
		log_error(MOD, "%s: admin memory above the device's %u-bit DMA width",
		    sc->hw.name, width);
		return TERN_ERANGE;
	}
	uint32_t sts = ena_reg_read(sc, ENA_REG_DEV_STS);
	if (sts == 0xffffffffu || !(sts & ENA_DEV_STS_READY)) {
		log_error(MOD, "%s: not ready after reset (DEV_STS 0x%x)", sc->hw.name, sts);
		return TERN_ENODEV;
	}

	/* A.4 step 7: admin queues, fresh. */
	memset(sc->aq.va, 0, ENA_AQ_DEPTH * ENA_AQ_ENTRY_SIZE);
	memset(sc->acq.va, 0, ENA_AQ_DEPTH * ENA_ACQ_ENTRY_SIZE);
	memset(sc->aenq.va, 0, ENA_AENQ_DEPTH * ENA_AENQ_ENTRY_SIZE);
	hw_dma_sync_dev(&sc->hw, sc->acq.va, ENA_AQ_DEPTH * ENA_ACQ_ENTRY_SIZE);
	hw_dma_sync_dev(&sc->hw, sc->aenq.va, ENA_AENQ_DEPTH * ENA_AENQ_ENTRY_SIZE);
	sc->aq_tail = 0;
	sc->aq_phase = 1;
	sc->acq_head = 0;
	sc->acq_phase = 1;
	sc->cmd_seq = 0;
	sc->aenq_head = ENA_AENQ_DEPTH;
	sc->aenq_phase = 1;
	ena_reg_write(sc, ENA_REG_AQ_BASE_LO, (uint32_t)sc->aq.pa);
	ena_reg_write(sc, ENA_REG_AQ_BASE_HI, (uint32_t)(sc->aq.pa >> 32));
	ena_reg_write(sc, ENA_REG_ACQ_BASE_LO, (uint32_t)sc->acq.pa);
	ena_reg_write(sc, ENA_REG_ACQ_BASE_HI, (uint32_t)(sc->acq.pa >> 32));
	ena_reg_write(sc, ENA_REG_AQ_CAPS, ENA_AQ_DEPTH | ENA_AQ_ENTRY_SIZE << 16);
	ena_reg_write(sc, ENA_REG_ACQ_CAPS, ENA_AQ_DEPTH | ENA_ACQ_ENTRY_SIZE << 16);
	ena_reg_write(sc, ENA_REG_AENQ_BASE_LO, (uint32_t)sc->aenq.pa);
	ena_reg_write(sc, ENA_REG_AENQ_BASE_HI, (uint32_t)(sc->aenq.pa >> 32));
	ena_reg_write(sc, ENA_REG_AENQ_CAPS, ENA_AENQ_DEPTH | ENA_AENQ_ENTRY_SIZE << 16);
	/* Step 8: admin completions are polled. */
	ena_reg_write(sc, ENA_REG_INTR_MASK, 1);

	/* Step 9: best effort. */
	fill_host_info(sc);
	struct ena_feat_host_attr ha;
	memset(&ha, 0, sizeof(ha));
	ena_mem_addr(&ha.os_info_ba, sc->host_info.pa);
	if (ena_set_feature(sc, ENA_FEAT_HOST_ATTR_CONFIG, 0, &ha, sizeof(ha)) != TERN_OK)
		log_info(MOD, "%s: host info not accepted; continuing", sc->hw.name);
	if (sc->admin_dead)
		return TERN_ETIMEDOUT;

	/* Step 10. */
	struct ena_feat_dev_attr da;
	if ((rc = ena_get_feature(sc, ENA_FEAT_DEVICE_ATTRIBUTES, 0, &da, sizeof(da))) != TERN_OK)
		return rc;
	if (da.max_mtu < 576 || (da.mac[0] & 1) ||
	    (da.mac[0] | da.mac[1] | da.mac[2] | da.mac[3] | da.mac[4] | da.mac[5]) == 0) {
		log_error(MOD, "%s: device attributes invalid (max_mtu %u, mac %02x:..)",
		    sc->hw.name, da.max_mtu, da.mac[0]);
		return TERN_EPROTO;
	}
	sc->features = da.supported_features;
	sc->capabilities = da.capabilities;
	sc->max_mtu = da.max_mtu;
	if (sc->registered && memcmp(sc->nic.mac, da.mac, 6) != 0)
		log_warn(MOD, "%s: MAC changed across reset; keeping the registered one",
		    sc->hw.name);
	else
		memcpy(sc->nic.mac, da.mac, 6);

	/* Step 11. */
	uint32_t nq, txd, rxd;
	if (ena_feature_ok(sc, ENA_FEAT_MAX_QUEUES_EXT)) {
		struct ena_feat_max_queues_ext mq;
		if ((rc = ena_get_feature(sc, ENA_FEAT_MAX_QUEUES_EXT, 1, &mq, sizeof(mq))) != TERN_OK)
			return rc;
		if (mq.version != 1) {
			log_error(MOD, "%s: MAX_QUEUES_EXT answered version %u", sc->hw.name,
			    mq.version);
			return TERN_EPROTO;
		}
		nq = mq.max_tx_sq_num;
		if (mq.max_tx_cq_num < nq) nq = mq.max_tx_cq_num;
		if (mq.max_rx_sq_num < nq) nq = mq.max_rx_sq_num;
		if (mq.max_rx_cq_num < nq) nq = mq.max_rx_cq_num;
		txd = mq.max_tx_sq_depth < mq.max_tx_cq_depth ? mq.max_tx_sq_depth : mq.max_tx_cq_depth;
		rxd = mq.max_rx_sq_depth < mq.max_rx_cq_depth ? mq.max_rx_sq_depth : mq.max_rx_cq_depth;
		sc->max_tx_header = mq.max_tx_header_size;
		sc->max_tx_descs = mq.max_per_packet_tx_descs;
		sc->max_rx_descs = mq.max_per_packet_rx_descs;
	} else {
		uint8_t p[32];
		uint32_t v[7];
		uint16_t t[2];
		if ((rc = ena_get_feature(sc, ENA_FEAT_MAX_QUEUES_NUM, 0, p, sizeof(p))) != TERN_OK)
			return rc;
		memcpy(v, p, sizeof(v));
		memcpy(t, p + 28, sizeof(t));
		nq = v[0] < v[2] ? v[0] : v[2];
		txd = rxd = v[1] < v[3] ? v[1] : v[3];
		sc->max_tx_header = v[6];
		sc->max_tx_descs = t[0];
		sc->max_rx_descs = t[1];
	}
	if (nq == 0 || txd < 16 || rxd < 16 || sc->max_tx_descs < 2 || sc->max_rx_descs < 1) {
		log_error(MOD, "%s: queue limits unusable (queues %u, depths %u/%u, "
		    "descs %u/%u)", sc->hw.name, nq, txd, rxd, sc->max_tx_descs,
		    sc->max_rx_descs);
		return TERN_EPROTO;
	}
	uint16_t want_nq = nq < ENA_MAX_QUEUES ? (uint16_t)nq : ENA_MAX_QUEUES;
	uint16_t want_tx = pow2_floor(txd, ENA_RING_MAX);
	uint16_t want_rx = pow2_floor(rxd, ENA_RING_MAX);
	if (sc->nq != 0) {
		/* Recovery: the rings exist; the device must still fit them. */
		if (want_nq < sc->nq || want_rx < sc->rx_depth) {
			log_error(MOD, "%s: limits shrank across reset", sc->hw.name);
			return TERN_EPROTO;
		}
	} else {
		sc->max_queues = want_nq;
		sc->rx_depth = want_rx;
	}
	/* Recovery keeps the rings it has: TX placement, LLQ entry size and
	   depths must come out of this negotiation as before. */
	bool old_llq = sc->llq;
	uint16_t old_tx = sc->tx_depth, old_entry = sc->llq_entry;
	uint16_t old_inline = sc->llq_inline, old_burst = sc->llq_burst;
	sc->tx_depth = want_tx;

	/* Step 12. */
	struct ena_feat_aenq aq;
	if ((rc = ena_get_feature(sc, ENA_FEAT_AENQ_CONFIG, 0, &aq, sizeof(aq))) != TERN_OK)
		return rc;
	struct ena_feat_offload off;
	sc->off_tx = sc->off_rx = 0;
	if (ena_get_feature(sc, ENA_FEAT_STATELESS_OFFLOAD, 0, &off, sizeof(off)) == TERN_OK) {
		sc->off_tx = off.tx;
		sc->off_rx = off.rx_supported;
	}
	sc->keepalive_to_ns = ena_ms_ns(ENA_KEEPALIVE_DEFAULT_MS);
	sc->tx_to_ns = ena_ms_ns(ENA_TX_TIMEOUT_DEFAULT_MS);
	struct ena_feat_hw_hints hh;
	if (ena_get_feature(sc, ENA_FEAT_HW_HINTS, 0, &hh, sizeof(hh)) == TERN_OK) {
		if (hh.driver_watchdog_timeout != 0)
			sc->keepalive_to_ns = hh.driver_watchdog_timeout == 0xffff ? 0 :
			    ena_ms_ns(hh.driver_watchdog_timeout);
		if (hh.missing_tx_completion_timeout != 0)
			sc->tx_to_ns = hh.missing_tx_completion_timeout == 0xffff ? 0 :
			    ena_ms_ns(hh.missing_tx_completion_timeout);
	}
	if (sc->admin_dead)
		return TERN_ETIMEDOUT;

	/* Step 13. */
	uint32_t want = 1u << ENA_AENQ_LINK_CHANGE | 1u << ENA_AENQ_FATAL_ERROR |
	    1u << ENA_AENQ_WARNING | 1u << ENA_AENQ_NOTIFICATION |
	    1u << ENA_AENQ_KEEP_ALIVE | 1u << ENA_AENQ_DEVICE_REQUEST_RESET;
	aq.enabled_groups = want & aq.supported_groups;
	aq.supported_groups = 0;
	if ((rc = ena_set_feature(sc, ENA_FEAT_AENQ_CONFIG, 0, &aq, sizeof(aq))) != TERN_OK)
		return rc;
	sc->aenq_groups = aq.enabled_groups;

	/* Step 14. */
	rc = negotiate_llq(sc);
	bool changed = sc->nq != 0 && (sc->llq != old_llq || sc->tx_depth < old_tx ||
	    (sc->llq && sc->llq_entry != old_entry));
	if (sc->nq != 0) {
		sc->llq = old_llq;
		sc->tx_depth = old_tx;
		sc->llq_entry = old_entry;
		sc->llq_inline = old_inline;
		sc->llq_burst = old_burst;
	}
	if (sc->admin_dead)
		return TERN_ETIMEDOUT;
	if (changed) {
		log_error(MOD, "%s: TX placement changed across reset (LLQ %s: %s)",
		    sc->hw.name, old_llq ? "was on" : "was off", err_str(rc));
		return TERN_EPROTO;
	}

	/* MTU (feature 14): the largest we carry, at most the device's. */
	uint32_t mtu = sc->max_mtu < ENA_MTU_MAX ? sc->max_mtu : ENA_MTU_MAX;
	if (ena_feature_ok(sc, ENA_FEAT_MTU)) {
		if ((rc = ena_set_feature(sc, ENA_FEAT_MTU, 0, &mtu, sizeof(mtu))) != TERN_OK)
			return rc;
	}
	sc->nic.mtu = (uint16_t)mtu;

	/* Step 15: the management vector (when bound), then every AENQ
	   slot is free. */
	if (sc->nvec != 0)
		ena_reg_write(sc, ENA_REG_INTR_MASK, 0);
	hw_mb();
	ena_reg_write(sc, ENA_REG_AENQ_HEAD_DB, sc->aenq_head);
	sc->last_keepalive_ns = hw_now_ns(&sc->hw);
	return TERN_OK;
}

/* A.7: one completion queue; fills *idx and *unmask. */
static int
create_cq(struct ena_softc *sc, struct hw_dma *ring, uint16_t depth, uint8_t words,
    uint16_t vec, uint16_t *idx, uint32_t *unmask)
{
	struct ena_aq_create_cq cmd;
	struct ena_acq_entry r;
	memset(&cmd, 0, sizeof(cmd));
	cmd.c.opcode = ENA_ADMIN_CREATE_CQ;
	cmd.cq_caps_1 = ENA_CQ_CAPS1_INTR_MODE;
	cmd.cq_caps_2 = words;
	cmd.cq_depth = depth;
	cmd.msix_vector = vec;
	ena_mem_addr(&cmd.cq_ba, ring->pa);
	int rc = ena_admin_exec(sc, &cmd, &r);
	if (rc != TERN_OK)
		return rc;
	struct ena_acq_create_cq *cr = (struct ena_acq_create_cq *)(void *)&r;
	if (cr->cq_actual_depth != depth || cr->cq_unmask_reg_off == 0 ||
	    cr->cq_unmask_reg_off > sc->regs.len - 4 || (cr->cq_unmask_reg_off & 3)) {
		sc->st.admin_bad_resp++;
		log_error(MOD, "%s: CREATE_CQ answer invalid (depth %u, unmask 0x%x)",
		    sc->hw.name, cr->cq_actual_depth, cr->cq_unmask_reg_off);
		return TERN_EPROTO;
	}
	*idx = cr->cq_idx;
	*unmask = cr->cq_unmask_reg_off;
	return TERN_OK;
}

static int
create_sq(struct ena_softc *sc, uint8_t dir, uint8_t place, struct hw_dma *ring,
    uint16_t depth, uint16_t cq_idx, uint16_t *idx, uint32_t *db, uint32_t *llq_off)
{
	struct ena_aq_create_sq cmd;
	struct ena_acq_entry r;
	memset(&cmd, 0, sizeof(cmd));
	cmd.c.opcode = ENA_ADMIN_CREATE_SQ;
	cmd.sq_identity = (uint8_t)(dir << ENA_SQ_DIR_SHIFT);
	cmd.sq_caps_2 = place;
	cmd.sq_caps_3 = ENA_SQ_CAPS3_CONTIG;
	cmd.cq_idx = cq_idx;
	cmd.sq_depth = depth;
	if (place == ENA_SQ_PLACE_HOST)
		ena_mem_addr(&cmd.sq_ba, ring->pa);
	int rc = ena_admin_exec(sc, &cmd, &r);
	if (rc != TERN_OK)
		return rc;
	struct ena_acq_create_sq *sr = (struct ena_acq_create_sq *)(void *)&r;
	if (sr->sq_db_off == 0 || sr->sq_db_off > sc->regs.len - 4 || (sr->sq_db_off & 3) ||
	    (place == ENA_SQ_PLACE_DEV &&
	     ((uint64_t)sr->llq_desc_off + (uint64_t)depth * sc->llq_entry > sc->llq_bar.len ||
	      (sr->llq_desc_off & 7)))) {
		sc->st.admin_bad_resp++;
		log_error(MOD, "%s: CREATE_SQ answer invalid (doorbell 0x%x, llq 0x%x)",
		    sc->hw.name, sr->sq_db_off, sr->llq_desc_off);
		return TERN_EPROTO;
	}
	*idx = sr->sq_idx;
	*db = sr->sq_db_off;
	if (llq_off != NULL)
		*llq_off = sr->llq_desc_off;
	return TERN_OK;
}

/* Mark the queues dead; device-side state goes with the next reset. */
static void
queues_forget(struct ena_softc *sc)
{
	for (uint16_t q = 0; q < sc->nq; q++) {
		sc->txq[q].live = false;
		sc->rxq[q].live = false;
	}
}

/* A.4 step 16 / A.7: for each pair, CQ before SQ; TX then RX. */
static int
queues_create(struct ena_softc *sc)
{
	int rc = TERN_OK;
	for (uint16_t q = 0; q < sc->nq && rc == TERN_OK; q++) {
		struct ena_txq *tq = &sc->txq[q];
		struct ena_rxq *rq = &sc->rxq[q];
		uint16_t vec = (uint16_t)(1 + q);
		ena_tx_ring_reset(sc, tq);
		ena_rx_ring_reset(sc, rq);
		rc = create_cq(sc, &tq->cq, tq->depth, sizeof(struct ena_tx_cdesc) / 4,
		    vec, &tq->cq_idx, &tq->unmask_off);
		if (rc == TERN_OK)
			rc = create_sq(sc, ENA_SQ_DIR_TX, sc->llq ? ENA_SQ_PLACE_DEV : ENA_SQ_PLACE_HOST,
			    &tq->sq, tq->depth, tq->cq_idx, &tq->sq_idx, &tq->db_off, &tq->llq_off);
		if (rc == TERN_OK)
			rc = create_cq(sc, &rq->cq, rq->depth, sizeof(struct ena_rx_cdesc) / 4,
			    vec, &rq->cq_idx, &rq->unmask_off);
		if (rc == TERN_OK)
			rc = create_sq(sc, ENA_SQ_DIR_RX, ENA_SQ_PLACE_HOST, &rq->sq, rq->depth,
			    rq->cq_idx, &rq->sq_idx, &rq->db_off, NULL);
		if (rc == TERN_OK) {
			tq->live = rq->live = true;
			ena_rx_fill(sc, rq);
		}
	}
	if (rc != TERN_OK)
		queues_forget(sc);
	return rc;
}

/* A.7: SQ before CQ.  Errors are logged by admin_exec and ignored: the
   device reset that follows forgets the queues anyway. */
static void
queues_destroy(struct ena_softc *sc)
{
	for (uint16_t q = 0; q < sc->nq && !sc->admin_dead; q++) {
		struct ena_txq *tq = &sc->txq[q];
		struct ena_rxq *rq = &sc->rxq[q];
		if (!tq->live)
			continue;
		struct ena_aq_destroy_sq ds;
		struct ena_aq_destroy_cq dc;
		memset(&ds, 0, sizeof(ds));
		ds.c.opcode = ENA_ADMIN_DESTROY_SQ;
		ds.sq_idx = tq->sq_idx;
		ds.sq_identity = ENA_SQ_DIR_TX << ENA_SQ_DIR_SHIFT;
		(void)ena_admin_exec(sc, &ds, NULL);
		memset(&dc, 0, sizeof(dc));
		dc.c.opcode = ENA_ADMIN_DESTROY_CQ;
		dc.cq_idx = tq->cq_idx;
		(void)ena_admin_exec(sc, &dc, NULL);
		memset(&ds, 0, sizeof(ds));
		ds.c.opcode = ENA_ADMIN_DESTROY_SQ;
		ds.sq_idx = rq->sq_idx;
		ds.sq_identity = ENA_SQ_DIR_RX << ENA_SQ_DIR_SHIFT;
		(void)ena_admin_exec(sc, &ds, NULL);
		memset(&dc, 0, sizeof(dc));
		dc.c.opcode = ENA_ADMIN_DESTROY_CQ;
		dc.cq_idx = rq->cq_idx;
		(void)ena_admin_exec(sc, &dc, NULL);
	}
	queues_forget(sc);
}

static void
free_dma(struct ena_softc *sc, struct hw_dma *d)
{
	if (d->va != NULL)
		hw_dma_free(&sc->hw, d);
	d->va = NULL;
}

static void
rings_free(struct ena_softc *sc)
{
	for (uint16_t q = 0; q < ENA_MAX_QUEUES; q++) {
		free_dma(sc, &sc->txq[q].sq);
		free_dma(sc, &sc->txq[q].cq);
		free_dma(sc, &sc->rxq[q].sq);
		free_dma(sc, &sc->rxq[q].cq);
		free_dma(sc, &sc->rxq[q].bufs);
	}
}

static int
rings_alloc(struct ena_softc *sc)
{
	for (uint16_t q = 0; q < sc->nq; q++) {
		struct ena_txq *tq = &sc->txq[q];
		struct ena_rxq *rq = &sc->rxq[q];
		tq->depth = sc->tx_depth;
		rq->depth = sc->rx_depth;
		rq->sc = sc;
		if ((!sc->llq && hw_dma_alloc(&sc->hw, (size_t)tq->depth *
		    sizeof(struct ena_tx_desc), 4096, &tq->sq) != 0) ||
		    hw_dma_alloc(&sc->hw, (size_t)tq->depth * sizeof(struct ena_tx_cdesc),
		    4096, &tq->cq) != 0 ||
		    hw_dma_alloc(&sc->hw, (size_t)rq->depth * sizeof(struct ena_rx_desc),
		    4096, &rq->sq) != 0 ||
		    hw_dma_alloc(&sc->hw, (size_t)rq->depth * sizeof(struct ena_rx_cdesc),
		    4096, &rq->cq) != 0 ||
		    hw_dma_alloc(&sc->hw, (size_t)rq->depth * ENA_RX_BUF, 4096, &rq->bufs) != 0) {
			rings_free(sc);
			return TERN_ENOMEM;
		}
		for (uint16_t i = 0; i < rq->depth; i++)
			rq->state[i] = ENA_RXB_FREE;
	}
	return TERN_OK;
}

static void
ctrl_free(struct ena_softc *sc)
{
	free_dma(sc, &sc->host_info);
	free_dma(sc, &sc->aenq);
	free_dma(sc, &sc->acq);
	free_dma(sc, &sc->aq);
	free_dma(sc, &sc->mmio_resp);
}

static int
ctrl_alloc(struct ena_softc *sc)
{
	if (hw_dma_alloc(&sc->hw, sizeof(struct ena_mmio_resp), 8, &sc->mmio_resp) != 0 ||
	    hw_dma_alloc(&sc->hw, ENA_AQ_DEPTH * ENA_AQ_ENTRY_SIZE, 4096, &sc->aq) != 0 ||
	    hw_dma_alloc(&sc->hw, ENA_AQ_DEPTH * ENA_ACQ_ENTRY_SIZE, 4096, &sc->acq) != 0 ||
	    hw_dma_alloc(&sc->hw, ENA_AENQ_DEPTH * ENA_AENQ_ENTRY_SIZE, 4096, &sc->aenq) != 0 ||
	    hw_dma_alloc(&sc->hw, 4096, 4096, &sc->host_info) != 0) {
		ctrl_free(sc);
		return TERN_ENOMEM;
	}
	return TERN_OK;
}

static void
print_marker(struct ena_softc *sc, const char *what)
{
	const uint8_t *m = sc->nic.mac;
	marker("NIC name=%s driver=ena mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u "
	    "queues=%u llq=%s", sc->nic.name, m[0], m[1], m[2], m[3], m[4], m[5],
	    sc->nic.mtu, sc->nq, sc->llq ? "on" : "off");
	log_info(MOD, "%s: %s: %u queue pairs, TX depth %u (%s), RX depth %u, "
	    "%s", sc->hw.name, what, sc->nq, sc->tx_depth,
	    sc->llq ? "LLQ" : "host memory", sc->rx_depth,
	    sc->nvec ? "MSI-X" : "polled");
}

static void
nic_counters(const struct nic *n, void (*fn)(void *arg, const char *name, uint64_t v),
    void *arg)
{
	ena_stats_foreach(n->sc, fn, arg);
}

int
ena_attach_core(struct ena_softc *sc, int unit)
{
	int rc;
	sc->unit = unit;
	ksnprintf(sc->nic.name, sizeof(sc->nic.name), "ena%d", unit);
	if ((rc = ctrl_alloc(sc)) != TERN_OK)
		goto fail;
	if ((rc = dev_init(sc, ENA_RESET_NORMAL)) != TERN_OK)
		goto fail_ctrl;
	sc->hw.dma_limit = 1ULL << sc->dma_width;	/* for the rings, next */
	sc->nq = sc->max_queues;
	if (sc->nvec != 0 && sc->nvec - 1 < sc->nq)
		sc->nq = (uint16_t)(sc->nvec > 1 ? sc->nvec - 1 : 1);
	if ((rc = rings_alloc(sc)) != TERN_OK)
		goto fail_reset;
	if ((rc = queues_create(sc)) != TERN_OK)
		goto fail_rings;

	struct nic *n = &sc->nic;
	n->ops = &ena_nic_ops;
	n->sc = sc;
	n->counters = nic_counters;
	n->link_up = true;
	n->nqueues = sc->nq;
	n->offloads = 0;
	if (sc->off_tx & ENA_OFF_TX_L4_IPV4_PART)
		n->offloads |= NIC_OFF_TX_CSUM;
	if (sc->off_rx & ENA_OFF_RX_L4_IPV4_CSUM)
		n->offloads |= NIC_OFF_RX_CSUM;
	nic_queues_init(n);
	for (uint16_t q = 0; q < sc->nq && sc->nvec != 0; q++)
		n->queue[q].msix_vector = (uint16_t)(1 + q);
	if ((rc = nic_register(n)) != TERN_OK)
		goto fail_queues;
	sc->registered = true;
	print_marker(sc, "attached");
	return TERN_OK;

fail_queues:
	queues_destroy(sc);
fail_rings:
	rings_free(sc);
fail_reset:
	(void)ena_dev_reset(sc, ENA_RESET_INIT_ERR);
fail_ctrl:
	ctrl_free(sc);
fail:
	log_error(MOD, "%s: attach failed: %s", sc->hw.name, err_str(rc));
	return rc;
}

/* Release every TX chain the device still held. */
static void
tx_release_all(struct ena_softc *sc)
{
	for (uint16_t q = 0; q < sc->nq; q++) {
		struct ena_txq *tq = &sc->txq[q];
		for (uint16_t i = 0; i < ENA_RING_MAX; i++) {
			if (tq->slot[i].chain != NULL) {
				nic_buf_release_chain(tq->slot[i].chain);
				tq->slot[i].chain = NULL;
			}
		}
	}
}

void
ena_detach_core(struct ena_softc *sc)
{
	if (sc->registered)
		nic_unregister(&sc->nic);
	sc->registered = false;
	queues_destroy(sc);
	(void)ena_dev_reset(sc, ENA_RESET_NORMAL);
	tx_release_all(sc);
	rings_free(sc);
	ctrl_free(sc);
}

void
ena_request_reset(struct ena_softc *sc, uint8_t reason, const char *why)
{
	if (!sc->reset_pending)
		log_warn(MOD, "%s: reset requested: %s (reason %u)", sc->hw.name, why, reason);
	if (!sc->reset_pending)
		sc->reset_reason = reason;
	sc->reset_pending = true;
}

/*
 * Reset and recovery: queues forgotten, TX chains released, the device
 * reset and brought up again, queues created on the same memory, RX
 * buffers the device held posted again.  Bounded by the CAPS timeouts;
 * on failure the NIC stays registered but quiet (sc->dead) and every
 * later poll tries again at most once a second, ENA_RESET_TRIES times.
 */
#define ENA_RESET_TRIES	3
static void
recover(struct ena_softc *sc)
{
	uint64_t now = hw_now_ns(&sc->hw);
	if (sc->reset_tries >= ENA_RESET_TRIES)
		return;
	if (sc->reset_tries != 0 && now - sc->last_reset_try_ns < ena_ms_ns(1000))
		return;
	sc->reset_tries++;
	sc->last_reset_try_ns = now;
	queues_forget(sc);
	tx_release_all(sc);
	int rc = dev_init(sc, sc->reset_reason);
	if (rc == TERN_OK)
		rc = queues_create(sc);
	if (rc != TERN_OK) {
		sc->dead = true;
		sc->st.reset_failures++;
		log_error(MOD, "%s: recovery attempt %u failed: %s", sc->hw.name,
		    sc->reset_tries, err_str(rc));
		if (sc->reset_tries >= ENA_RESET_TRIES)
			log_error(MOD, "%s: giving up after %u attempts; NIC stays down",
			    sc->hw.name, sc->reset_tries);
		return;
	}
	for (uint16_t q = 0; q < sc->nq; q++)
		if (sc->txq[q].intr_on)
			ena_intr_enable(&sc->nic, q, true);
	sc->dead = false;
	sc->reset_pending = false;
	sc->reset_tries = 0;
	sc->st.resets++;
	print_marker(sc, "recovered");
}

/* A.10: walk the AENQ by phase, then write the running head. */
void
ena_aenq_process(struct ena_softc *sc)
{
	sc->aenq_irq = false;
	uint16_t mask = ENA_AENQ_DEPTH - 1;
	bool any = false;
	for (int n = 0; n < ENA_AENQ_DEPTH; n++) {
		struct ena_aenq_entry *e = (struct ena_aenq_entry *)
		    ((uint8_t *)sc->aenq.va + (sc->aenq_head & mask) * ENA_AENQ_ENTRY_SIZE);
		uint32_t w1 = hw_dma_load32(&sc->hw, (uint8_t *)e + 4);
		if ((w1 & 1) != sc->aenq_phase)
			break;
		hw_rmb();
		hw_dma_sync_cpu(&sc->hw, e, ENA_AENQ_ENTRY_SIZE);
		struct ena_aenq_entry ev;
		memcpy(&ev, e, sizeof(ev));
		sc->aenq_head++;
		if ((sc->aenq_head & mask) == 0)
			sc->aenq_phase ^= 1;
		any = true;
		sc->st.aenq_events++;
		if (ev.group >= 32 || !(sc->aenq_groups & (1u << ev.group))) {
			sc->st.aenq_bad++;
			log_warn(MOD, "%s: AENQ event of group %u not enabled: ignored",
			    sc->hw.name, ev.group);
			continue;
		}
		switch (ev.group) {
		case ENA_AENQ_LINK_CHANGE: {
			uint32_t f;
			memcpy(&f, ev.payload, 4);
			bool up = (f & 1) != 0;
			sc->st.link_changes++;
			log_info(MOD, "%s: link %s", sc->nic.name, up ? "up" : "down");
			if (up != sc->nic.link_up) {
				sc->nic.link_up = up;
				if (sc->nic.link_change != NULL)
					sc->nic.link_change(sc->nic.upper, up);
			}
			break;
		}
		case ENA_AENQ_KEEP_ALIVE:
			sc->st.keepalives++;
			sc->last_keepalive_ns = hw_now_ns(&sc->hw);
			break;
		case ENA_AENQ_NOTIFICATION:
			if (ev.syndrome == ENA_AENQ_SYND_UPDATE_HINTS) {
				struct ena_feat_hw_hints hh;
				memcpy(&hh, ev.payload, sizeof(hh));
				if (hh.driver_watchdog_timeout != 0)
					sc->keepalive_to_ns = hh.driver_watchdog_timeout == 0xffff ?
					    0 : ena_ms_ns(hh.driver_watchdog_timeout);
			} else {
				sc->st.aenq_bad++;
			}
			break;
		case ENA_AENQ_DEVICE_REQUEST_RESET:
			sc->st.device_reset_requests++;
			ena_request_reset(sc, ENA_RESET_DEVICE_REQ, "device request (AENQ)");
			break;
		case ENA_AENQ_FATAL_ERROR:
			sc->st.fatal_errors++;
			ena_request_reset(sc, ENA_RESET_GENERIC, "fatal error (AENQ)");
			break;
		case ENA_AENQ_WARNING:
			log_warn(MOD, "%s: device warning, syndrome %u", sc->hw.name, ev.syndrome);
			break;
		default:
			sc->st.aenq_bad++;
			break;
		}
	}
	if (any) {
		hw_mb();
		ena_reg_write(sc, ENA_REG_AENQ_HEAD_DB, sc->aenq_head);
	}
}

/* A frame the device has held longer than the TX timeout: its completion
   is lost, and the ring would leak; reset (reason 3). */
static void
tx_check_missing(struct ena_softc *sc, uint64_t now)
{
	if (sc->tx_to_ns == 0)
		return;
	for (uint16_t q = 0; q < sc->nq; q++) {
		struct ena_txq *tq = &sc->txq[q];
		for (uint16_t i = 0; tq->live && i < tq->depth; i++) {
			if (tq->slot[i].chain != NULL && now - tq->slot[i].sent_ns > sc->tx_to_ns) {
				sc->st.tx_timeouts++;
				log_warn(MOD, "%s: TX queue %u req_id %u: no completion in %u ms",
				    sc->hw.name, q, i, (unsigned)(sc->tx_to_ns / 1000000));
				ena_request_reset(sc, ENA_RESET_MISSING_TX_CMPL,
				    "missing TX completion");
				return;
			}
		}
	}
}

/* From queue 0's poll: AENQ, watchdogs, a pending reset. */
void
ena_service(struct ena_softc *sc)
{
	uint64_t now = hw_now_ns(&sc->hw);
	if (!sc->reset_pending && !sc->dead) {
		ena_aenq_process(sc);
		if (!sc->reset_pending && sc->keepalive_to_ns != 0 &&
		    now - sc->last_keepalive_ns > sc->keepalive_to_ns) {
			sc->st.keepalive_missed++;
			ena_request_reset(sc, ENA_RESET_KEEP_ALIVE_TO, "keep-alive missing");
		}
		if (!sc->reset_pending && now - sc->last_sts_check_ns >= ena_ms_ns(1000)) {
			sc->last_sts_check_ns = now;
			tx_check_missing(sc, now);
			uint32_t sts = ena_reg_read(sc, ENA_REG_DEV_STS);
			if (sts != 0xffffffffu && (sts & ENA_DEV_STS_FATAL)) {
				sc->st.fatal_errors++;
				ena_request_reset(sc, ENA_RESET_GENERIC, "DEV_STS fatal");
			}
		}
	}
	if (sc->reset_pending)
		recover(sc);
}

void
ena_intr(void *ctx, int vector)
{
	struct ena_softc *sc = ctx;
	sc->st.intrs++;
	sc->nic.stats.intrs++;
	if (vector == 0) {
		sc->st.mgmt_intrs++;
		sc->aenq_irq = true;	/* ena_poll walks the AENQ */
	}
}

void
ena_stats_foreach(const struct ena_softc *sc,
    void (*fn)(void *arg, const char *name, uint64_t v), void *arg)
{
	const struct ena_stats *s = &sc->st;
#define S(f) fn(arg, "ena." #f, s->f)
	S(resets); S(reset_failures); S(admin_cmds); S(admin_timeouts);
	S(admin_errors); S(admin_bad_resp); S(readless_timeouts); S(readless_bad);
	S(aenq_events); S(aenq_bad); S(keepalives); S(keepalive_missed);
	S(link_changes); S(device_reset_requests); S(fatal_errors);
	S(bad_tx_req_id); S(bad_rx_req_id); S(bad_rx_cdesc); S(llq_hdr_too_big);
	S(llq_entries); S(tx_too_many_bufs); S(tx_timeouts); S(intrs);
	S(mgmt_intrs);
#undef S
}

/*
 * ena_sim.c - strict ENA device simulator (see ena_sim.h).  Registers per
 * PROTOCOLS.md A.2, read-less MMIO A.3, reset A.4, admin queue A.5,
 * features A.6, IO queues A.7, LLQ window A.9, AENQ A.10, interrupts
 * A.11.  TX and RX processing (A.8, A.9) are in ena_sim_io.c.  Wire layouts come from ena/ena_reg.h (whose
 * _Static_asserts pin them to the same tables).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ena/ena_reg.h"
#include "tests/ena/ena_sim.h"
#include "tests/ena/ena_sim_int.h"

#define PG 4096ULL

static struct ena_sim *S(struct hw_dev *d) { return d->backend; }

void
esim_perr(struct ena_sim *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->perr_last, sizeof(s->perr_last), fmt, ap);
	va_end(ap);
	if (s->perrs++ == 0)
		memcpy(s->perr_first, s->perr_last, sizeof(s->perr_first));
	if (!s->quiet)
		fprintf(stderr, "ena_sim: protocol error: %s\n", s->perr_last);
}

void
ena_sim_default_cfg(struct ena_sim_cfg *c)
{
	memset(c, 0, sizeof(*c));
	static const uint8_t mac[6] = { 0x02, 0x1d, 0x0f, 0xec, 0x20, 0x01 };
	memcpy(c->mac, mac, 6);
	c->max_mtu = 9216;
	c->nq = 4;
	c->depth = 256;
	c->readless = true;
	c->llq = true;
	c->burst = 1024;
	c->max_queues_ext = true;
	c->admin_to = 5;
	c->reset_to = 10;
	c->dma_width = 48;
	c->offload_tx = ENA_OFF_TX_IPV4_CSUM | ENA_OFF_TX_L4_IPV4_PART;
	c->offload_rx = ENA_OFF_RX_L4_IPV4_CSUM;
	c->max_tx_descs = 19;
	c->max_rx_descs = 8;
}

void
ena_sim_init(struct ena_sim *s, const struct ena_sim_cfg *c)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *c;
	s->dev_sts = ENA_DEV_STS_READY;
	if (c->llq) {
		s->llq_len = ESIM_MAXQ * 2 * ESIM_MAX_DEPTH * 256;
		s->llq_mem = calloc(1, s->llq_len);
	}
	for (int v = 1; v < ESIM_NVEC; v++)
		s->vec_masked[v] = true;
}

void
ena_sim_fini(struct ena_sim *s)
{
	free(s->llq_mem);
	s->llq_mem = NULL;
}

void
ena_sim_bind(struct ena_sim *s, struct hw_dev *hw, struct hw_bar *regs, struct hw_bar *llq)
{
	hw->ops = &ena_sim_ops;
	hw->backend = s;
	regs->dev = hw;
	regs->index = 0;
	regs->len = ESIM_BAR0_LEN;
	if (llq != NULL) {
		llq->dev = hw;
		llq->index = 2;
		llq->len = s->llq_mem != NULL ? s->llq_len : 0;
	}
}

bool
esim_addr_ok(struct ena_sim *s, uint64_t a, const char *what)
{
	if (a == 0 || (a >> s->cfg.dma_width) != 0) {
		esim_perr(s, "%s address 0x%llx outside %u bits", what, (unsigned long long)a,
		    s->cfg.dma_width);
		return false;
	}
	return true;
}

static uint64_t
mem48(const struct ena_mem_addr *a)
{
	return (uint64_t)a->hi << 32 | a->lo;
}

void
esim_raise_irq(struct ena_sim *s, uint16_t vec)
{
	if (vec >= ESIM_NVEC || s->cfg.msix_off)
		return;
	if (vec == 0) {
		if (s->intr_mask & 1)
			return;
	} else if (s->vec_masked[vec]) {
		s->vec_pending[vec] = true;
		return;
	} else {
		s->vec_masked[vec] = true;	/* auto-mask (A.11) */
	}
	s->irqs[vec]++;
	if (s->irq != NULL)
		s->irq(s->irq_ctx, vec);
}

/* ------------------------------------------------------------------ */
/* Reset (A.4 step 3). */

static void
device_reset(struct ena_sim *s)
{
	memset(s->cq, 0, sizeof(s->cq));
	memset(s->sq, 0, sizeof(s->sq));
	s->aq_base = s->acq_base = s->aenq_base = s->mmio_resp = 0;
	s->aq_caps = s->acq_caps = s->aenq_caps = 0;
	s->aq_head = s->acq_tail = 0;
	s->acq_phase = 1;
	s->aenq_tail = 0;
	s->aenq_head_db = 0;
	s->aenq_phase = 1;
	s->aenq_enabled = 0;
	s->llq_on = false;
	s->admin_up = false;
	s->intr_mask = 0;
	s->dev_sts &= ~ENA_DEV_STS_FATAL;
	for (int v = 1; v < ESIM_NVEC; v++) {
		s->vec_masked[v] = true;
		s->vec_pending[v] = false;
	}
	if (s->llq_mem != NULL)
		memset(s->llq_mem, 0, s->llq_len);
	s->resets++;
}

/* ------------------------------------------------------------------ */
/* Admin queue (A.5, A.6, A.7). */

static uint32_t
supported_features(struct ena_sim *s)
{
	uint32_t f = 1u << ENA_FEAT_DEVICE_ATTRIBUTES | 1u << ENA_FEAT_HW_HINTS |
	    1u << ENA_FEAT_STATELESS_OFFLOAD | 1u << ENA_FEAT_MTU |
	    1u << ENA_FEAT_AENQ_CONFIG | 1u << ENA_FEAT_HOST_ATTR_CONFIG;
	f |= s->cfg.max_queues_ext ? 1u << ENA_FEAT_MAX_QUEUES_EXT : 1u << ENA_FEAT_MAX_QUEUES_NUM;
	if (s->cfg.llq)
		f |= 1u << ENA_FEAT_LLQ;
	return f;
}

#define SUPPORTED_GROUPS (1u << ENA_AENQ_LINK_CHANGE | 1u << ENA_AENQ_FATAL_ERROR | \
	1u << ENA_AENQ_WARNING | 1u << ENA_AENQ_NOTIFICATION | 1u << ENA_AENQ_KEEP_ALIVE | \
	1u << ENA_AENQ_DEVICE_REQUEST_RESET)

static bool
one_bit(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static uint8_t
get_feature(struct ena_sim *s, const struct ena_aq_feature *c, struct ena_acq_entry *r)
{
	uint8_t id = c->feature_id;
	if ((c->flags & 3) != ENA_FEAT_SELECT_CURRENT && (c->flags & 3) != 3)
		esim_perr(s, "GET_FEATURE %u: select %u", id, c->flags & 3);
	if (c->c.flags & (ENA_AQ_FLAG_CTRL_DATA | ENA_AQ_FLAG_CTRL_INDIRECT))
		esim_perr(s, "GET_FEATURE %u: control buffer flags on a direct feature", id);
	if (id >= 32 || !(supported_features(s) & (1u << id))) {
		esim_perr(s, "GET_FEATURE %u: feature not in supported_features", id);
		return ENA_ADMIN_UNSUPPORTED;
	}
	switch (id) {
	case ENA_FEAT_DEVICE_ATTRIBUTES: {
		struct ena_feat_dev_attr a;
		memset(&a, 0, sizeof(a));
		a.impl_id = 1;
		a.device_version = 0x20000;
		a.supported_features = supported_features(s);
		a.phys_addr_width = s->cfg.dma_width;
		a.virt_addr_width = 48;
		memcpy(a.mac, s->cfg.mac, 6);
		a.max_mtu = s->cfg.max_mtu;
		memcpy(r->data, &a, sizeof(a));
		return 0;
	}
	case ENA_FEAT_MAX_QUEUES_EXT: {
		if (c->feature_version != 1) {
			esim_perr(s, "MAX_QUEUES_EXT asked with version %u", c->feature_version);
			return ENA_ADMIN_ILLEGAL_PARAM;
		}
		struct ena_feat_max_queues_ext m;
		memset(&m, 0, sizeof(m));
		m.version = 1;
		m.max_tx_sq_num = m.max_tx_cq_num = m.max_rx_sq_num = m.max_rx_cq_num = s->cfg.nq;
		m.max_tx_sq_depth = m.max_tx_cq_depth = s->cfg.depth;
		m.max_rx_sq_depth = m.max_rx_cq_depth = s->cfg.depth;
		m.max_tx_header_size = 128;
		m.max_per_packet_tx_descs = s->cfg.max_tx_descs;
		m.max_per_packet_rx_descs = s->cfg.max_rx_descs;
		memcpy(r->data, &m, sizeof(m));
		return 0;
	}
	case ENA_FEAT_MAX_QUEUES_NUM: {
		uint32_t v[7] = { s->cfg.nq, s->cfg.depth, s->cfg.nq, s->cfg.depth, 0, 0, 128 };
		uint16_t t[2] = { s->cfg.max_tx_descs, s->cfg.max_rx_descs };
		memcpy(r->data, v, sizeof(v));
		memcpy(r->data + 28, t, sizeof(t));
		return 0;
	}
	case ENA_FEAT_AENQ_CONFIG: {
		struct ena_feat_aenq a = { SUPPORTED_GROUPS, s->aenq_enabled };
		memcpy(r->data, &a, sizeof(a));
		return 0;
	}
	case ENA_FEAT_STATELESS_OFFLOAD: {
		struct ena_feat_offload o = { s->cfg.offload_tx, s->cfg.offload_rx, s->cfg.offload_rx };
		memcpy(r->data, &o, sizeof(o));
		return 0;
	}
	case ENA_FEAT_HW_HINTS: {
		struct ena_feat_hw_hints h;
		memset(&h, 0, sizeof(h));
		h.driver_watchdog_timeout = s->cfg.watchdog_ms;
		memcpy(r->data, &h, sizeof(h));
		return 0;
	}
	case ENA_FEAT_LLQ: {
		if (c->feature_version < 1)
			esim_perr(s, "LLQ asked with version %u", c->feature_version);
		struct ena_feat_llq l;
		memset(&l, 0, sizeof(l));
		l.max_llq_num = s->cfg.nq;
		l.max_llq_depth = s->cfg.depth;
		l.header_location_supported = ENA_LLQ_HDR_INLINE;
		l.entry_size_supported = ENA_LLQ_ENTRY_128 | ENA_LLQ_ENTRY_256;
		l.desc_before_hdr_supported = 1 | 2 | 4;
		l.desc_stride_supported = 1 | ENA_LLQ_STRIDE_MULTI;
		l.feature_version = 1;
		l.entry_size_recommended = s->cfg.llq_large ? ENA_LLQ_ENTRY_256 : ENA_LLQ_ENTRY_128;
		l.max_wide_llq_depth = 0;
		l.accel_flags = ENA_LLQ_ACCEL_NO_META_CACHE |
		    (s->cfg.burst ? ENA_LLQ_ACCEL_LIMIT_BURST : 0);
		l.max_tx_burst_size = s->cfg.burst;
		memcpy(r->data, &l, sizeof(l));
		return 0;
	}
	}
	esim_perr(s, "GET_FEATURE %u: not gettable", id);
	return ENA_ADMIN_UNSUPPORTED;
}

static uint8_t
set_feature(struct ena_sim *s, const struct ena_aq_feature *c)
{
	uint8_t id = c->feature_id;
	if (c->c.flags & (ENA_AQ_FLAG_CTRL_DATA | ENA_AQ_FLAG_CTRL_INDIRECT))
		esim_perr(s, "SET_FEATURE %u: control buffer flags on a direct feature", id);
	if (id >= 32 || !(supported_features(s) & (1u << id))) {
		esim_perr(s, "SET_FEATURE %u: feature not in supported_features", id);
		return ENA_ADMIN_UNSUPPORTED;
	}
	switch (id) {
	case ENA_FEAT_AENQ_CONFIG: {
		struct ena_feat_aenq a;
		memcpy(&a, c->payload, sizeof(a));
		if (a.enabled_groups & ~SUPPORTED_GROUPS) {
			esim_perr(s, "AENQ_CONFIG enables unsupported groups 0x%x", a.enabled_groups);
			return ENA_ADMIN_ILLEGAL_PARAM;
		}
		s->aenq_enabled = a.enabled_groups;
		return 0;
	}
	case ENA_FEAT_MTU: {
		uint32_t mtu;
		memcpy(&mtu, c->payload, 4);
		if (mtu < 68 || mtu > s->cfg.max_mtu) {
			esim_perr(s, "MTU %u outside 68..%u", mtu, s->cfg.max_mtu);
			return ENA_ADMIN_ILLEGAL_PARAM;
		}
		s->mtu = mtu;
		return 0;
	}
	case ENA_FEAT_HOST_ATTR_CONFIG: {
		struct ena_feat_host_attr h;
		memcpy(&h, c->payload, sizeof(h));
		uint64_t a = mem48(&h.os_info_ba);
		if (!esim_addr_ok(s, a, "host info") || (a & (PG - 1)))
			return ENA_ADMIN_MALFORMED;
		memcpy(s->host_info, (void *)(uintptr_t)a, sizeof(s->host_info));
		struct ena_host_info hi;
		memcpy(&hi, s->host_info, sizeof(hi));
		if (hi.os_type == 0 || hi.num_cpus == 0 || hi.ena_spec_version == 0 ||
		    hi.driver_version == 0)
			esim_perr(s, "host info incomplete (os_type %u, cpus %u, spec 0x%x)",
			    hi.os_type, hi.num_cpus, hi.ena_spec_version);
		s->host_info_set = true;
		return 0;
	}
	case ENA_FEAT_LLQ: {
		struct ena_feat_llq l;
		memcpy(&l, c->payload, sizeof(l));
		if (l.header_location_enabled != ENA_LLQ_HDR_INLINE ||
		    !one_bit(l.entry_size_enabled) ||
		    !(l.entry_size_enabled & (ENA_LLQ_ENTRY_128 | ENA_LLQ_ENTRY_256)) ||
		    !one_bit(l.desc_stride_enabled) || l.desc_stride_enabled > 2 ||
		    !(l.desc_before_hdr_enabled == 1 || l.desc_before_hdr_enabled == 2 ||
		      l.desc_before_hdr_enabled == 4) ||
		    (l.accel_flags & ~(ENA_LLQ_ACCEL_NO_META_CACHE |
		      (s->cfg.burst ? ENA_LLQ_ACCEL_LIMIT_BURST : 0)))) {
			esim_perr(s, "SET LLQ: invalid selection (hdr %u entry %u before %u stride %u "
			    "accel 0x%x)", l.header_location_enabled, l.entry_size_enabled,
			    l.desc_before_hdr_enabled, l.desc_stride_enabled, l.accel_flags);
			return ENA_ADMIN_ILLEGAL_PARAM;
		}
		if (l.desc_before_hdr_enabled != 2 || l.desc_stride_enabled != 2) {
			esim_perr(s, "SET LLQ: simulator implements 2 descs before header, multi stride");
			return ENA_ADMIN_UNSUPPORTED;
		}
		s->llq_on = true;
		s->llq_entry = l.entry_size_enabled == ENA_LLQ_ENTRY_256 ? 256 : 128;
		s->llq_accel = l.accel_flags;
		return 0;
	}
	}
	esim_perr(s, "SET_FEATURE %u: not settable", id);
	return ENA_ADMIN_UNSUPPORTED;
}

static uint8_t
create_cq(struct ena_sim *s, const struct ena_aq_create_cq *c, struct ena_acq_entry *r)
{
	uint64_t ba = mem48(&c->cq_ba);
	if (!(c->cq_caps_1 & ENA_CQ_CAPS1_INTR_MODE))
		esim_perr(s, "CREATE_CQ without interrupt mode");
	uint8_t words = c->cq_caps_2 & 0x1f;
	if (words != 2 && words != 4) {
		esim_perr(s, "CREATE_CQ entry size %u words", words);
		return ENA_ADMIN_ILLEGAL_PARAM;
	}
	if (!one_bit(c->cq_depth) || c->cq_depth > s->cfg.depth) {
		esim_perr(s, "CREATE_CQ depth %u (power of two <= %u)", c->cq_depth, s->cfg.depth);
		return ENA_ADMIN_ILLEGAL_PARAM;
	}
	if (c->msix_vector == 0 || c->msix_vector > s->cfg.nq) {
		esim_perr(s, "CREATE_CQ MSI-X vector %u (IO vectors are 1..%u)", c->msix_vector,
		    s->cfg.nq);
		return ENA_ADMIN_ILLEGAL_PARAM;
	}
	if (!esim_addr_ok(s, ba, "CQ") || (ba & 7))
		return ENA_ADMIN_MALFORMED;
	for (int i = 0; i < ESIM_MAXQ * 2; i++) {
		if (s->cq[i].live)
			continue;
		s->cq[i] = (struct esim_cq){ .live = true, .base = ba, .depth = c->cq_depth,
			.phase = 1, .words = words, .vec = (uint16_t)c->msix_vector, .sq = -1 };
		struct ena_acq_create_cq cr;
		memset(&cr, 0, sizeof(cr));
		cr.cq_idx = (uint16_t)i;
		cr.cq_actual_depth = c->cq_depth;
		cr.cq_unmask_reg_off = ESIM_UNMASK_BASE + 4 * c->msix_vector;
		memcpy(r->data, (uint8_t *)&cr + 8, sizeof(r->data));
		return 0;
	}
	return ENA_ADMIN_RESOURCE_ALLOC;
}

static uint8_t
create_sq(struct ena_sim *s, const struct ena_aq_create_sq *c, struct ena_acq_entry *r)
{
	uint8_t dir = c->sq_identity >> ENA_SQ_DIR_SHIFT;
	uint8_t place = c->sq_caps_2 & 0xf;
	if ((c->sq_identity & 0x1f) || c->rsvd0)
		esim_perr(s, "CREATE_SQ reserved bits set");
	if (dir != ENA_SQ_DIR_TX && dir != ENA_SQ_DIR_RX) {
		esim_perr(s, "CREATE_SQ direction %u", dir);
		return ENA_ADMIN_ILLEGAL_PARAM;
	}
	if ((c->sq_caps_2 >> 4) & 7)
		esim_perr(s, "CREATE_SQ completion policy %u", (c->sq_caps_2 >> 4) & 7);
	if (!(c->sq_caps_3 & ENA_SQ_CAPS3_CONTIG))
		esim_perr(s, "CREATE_SQ without physically-contiguous flag");
	if (place != ENA_SQ_PLACE_HOST && place != ENA_SQ_PLACE_DEV) {
		esim_perr(s, "CREATE_SQ placement %u", place);
		return ENA_ADMIN_ILLEGAL_PARAM;
	}
	if (place == ENA_SQ_PLACE_DEV && (dir != ENA_SQ_DIR_TX || !s->llq_on)) {
		esim_perr(s, "CREATE_SQ device placement for %s without LLQ enabled",
		    dir == ENA_SQ_DIR_TX ? "TX" : "RX");
		return ENA_ADMIN_ILLEGAL_PARAM;
	}
	if (place == ENA_SQ_PLACE_HOST && dir == ENA_SQ_DIR_TX && s->llq_on)
		esim_perr(s, "CREATE_SQ host-memory TX after LLQ was enabled");
	if (c->cq_idx >= ESIM_MAXQ * 2 || !s->cq[c->cq_idx].live || s->cq[c->cq_idx].sq >= 0) {
		esim_perr(s, "CREATE_SQ on CQ %u that is not live or already bound", c->cq_idx);
		return ENA_ADMIN_ILLEGAL_PARAM;
	}
	struct esim_cq *cq = &s->cq[c->cq_idx];
	if (c->sq_depth != cq->depth) {
		esim_perr(s, "CREATE_SQ depth %u != CQ depth %u", c->sq_depth, cq->depth);
		return ENA_ADMIN_ILLEGAL_PARAM;
	}
	if (cq->words != (dir == ENA_SQ_DIR_TX ? 2 : 4))
		esim_perr(s, "CREATE_SQ %s on a CQ of %u-word entries", dir == ENA_SQ_DIR_TX ? "TX" : "RX",
		    cq->words);
	uint64_t ba = mem48(&c->sq_ba);
	if (place == ENA_SQ_PLACE_HOST && (!esim_addr_ok(s, ba, "SQ") || (ba & (PG - 1)))) {
		esim_perr(s, "CREATE_SQ host ring 0x%llx not page aligned", (unsigned long long)ba);
		return ENA_ADMIN_MALFORMED;
	}
	for (int i = 0; i < ESIM_MAXQ * 2; i++) {
		if (s->sq[i].live)
			continue;
		memset(&s->sq[i], 0, sizeof(s->sq[i]));
		s->sq[i].live = true;
		s->sq[i].dir = dir;
		s->sq[i].place = place;
		s->sq[i].base = ba;
		s->sq[i].depth = c->sq_depth;
		s->sq[i].cq = c->cq_idx;
		s->sq[i].llq_off = (uint32_t)i * ESIM_MAX_DEPTH * 256;
		cq->sq = i;
		struct ena_acq_create_sq sr;
		memset(&sr, 0, sizeof(sr));
		sr.sq_idx = (uint16_t)i;
		sr.sq_db_off = ESIM_DB_BASE + 4 * (uint32_t)i;
		if (place == ENA_SQ_PLACE_DEV)
			sr.llq_desc_off = s->sq[i].llq_off;
		memcpy(r->data, (uint8_t *)&sr + 8, sizeof(r->data));
		return 0;
	}
	return ENA_ADMIN_RESOURCE_ALLOC;
}

static uint8_t
admin_cmd(struct ena_sim *s, const uint8_t *e, struct ena_acq_entry *r)
{
	struct ena_aq_common c;
	memcpy(&c, e, sizeof(c));
	switch (c.opcode) {
	case ENA_ADMIN_GET_FEATURE: {
		struct ena_aq_feature f;
		memcpy(&f, e, sizeof(f));
		return get_feature(s, &f, r);
	}
	case ENA_ADMIN_SET_FEATURE: {
		struct ena_aq_feature f;
		memcpy(&f, e, sizeof(f));
		return set_feature(s, &f);
	}
	case ENA_ADMIN_CREATE_CQ: {
		struct ena_aq_create_cq cc;
		memcpy(&cc, e, sizeof(cc));
		return create_cq(s, &cc, r);
	}
	case ENA_ADMIN_CREATE_SQ: {
		struct ena_aq_create_sq cs;
		memcpy(&cs, e, sizeof(cs));
		return create_sq(s, &cs, r);
	}
	case ENA_ADMIN_DESTROY_SQ: {
		struct ena_aq_destroy_sq d;
		memcpy(&d, e, sizeof(d));
		if (d.sq_idx >= ESIM_MAXQ * 2 || !s->sq[d.sq_idx].live ||
		    s->sq[d.sq_idx].dir != (d.sq_identity >> ENA_SQ_DIR_SHIFT)) {
			esim_perr(s, "DESTROY_SQ %u: not live or wrong direction", d.sq_idx);
			return ENA_ADMIN_ILLEGAL_PARAM;
		}
		s->cq[s->sq[d.sq_idx].cq].sq = -1;
		s->sq[d.sq_idx].live = false;
		return 0;
	}
	case ENA_ADMIN_DESTROY_CQ: {
		struct ena_aq_destroy_cq d;
		memcpy(&d, e, sizeof(d));
		if (d.cq_idx >= ESIM_MAXQ * 2 || !s->cq[d.cq_idx].live) {
			esim_perr(s, "DESTROY_CQ %u: not live", d.cq_idx);
			return ENA_ADMIN_ILLEGAL_PARAM;
		}
		if (s->cq[d.cq_idx].sq >= 0) {
			esim_perr(s, "DESTROY_CQ %u before its SQ", d.cq_idx);
			return ENA_ADMIN_ILLEGAL_PARAM;
		}
		s->cq[d.cq_idx].live = false;
		return 0;
	}
	}
	esim_perr(s, "admin opcode %u unknown", c.opcode);
	return ENA_ADMIN_BAD_OPCODE;
}

static void
acq_post(struct ena_sim *s, struct ena_acq_entry *r)
{
	uint16_t depth = s->acq_caps & 0xffff;
	struct ena_acq_entry *slot = (struct ena_acq_entry *)(uintptr_t)
	    (s->acq_base + (uint64_t)(s->acq_tail & (depth - 1)) * ENA_ACQ_ENTRY_SIZE);
	r->flags = (uint8_t)((r->flags & ~1) | s->acq_phase);
	if (s->mangle != NULL)
		s->mangle(s->mangle_ctx, ESIM_M_ACQ, r, sizeof(*r));
	/* Body before the byte holding the phase (A.5 device side). */
	memcpy((uint8_t *)slot + 4, (uint8_t *)r + 4, ENA_ACQ_ENTRY_SIZE - 4);
	memcpy(slot, r, 4);
	s->acq_tail++;
	if ((s->acq_tail & (depth - 1)) == 0)
		s->acq_phase ^= 1;
	esim_raise_irq(s, 0);
}

static void
aq_doorbell(struct ena_sim *s, uint16_t db)
{
	uint16_t depth = s->aq_caps & 0xffff;
	if (!s->admin_up || s->aq_base == 0 || s->acq_base == 0) {
		esim_perr(s, "AQ doorbell %u before the admin queues were set up", db);
		return;
	}
	if ((uint16_t)(db - s->aq_head) > depth) {
		esim_perr(s, "AQ doorbell %u more than depth %u past consumed %u", db, depth, s->aq_head);
		return;
	}
	while (s->aq_head != db) {
		uint16_t slot = s->aq_head & (depth - 1);
		uint8_t phase = (uint8_t)((s->aq_head / depth) & 1) ^ 1;
		const uint8_t *e = (const uint8_t *)(uintptr_t)(s->aq_base + (uint64_t)slot * 64);
		struct ena_aq_common c;
		memcpy(&c, e, sizeof(c));
		if ((c.flags & ENA_AQ_FLAG_PHASE) != phase) {
			esim_perr(s, "AQ entry %u (opcode %u) has phase %u, expected %u", s->aq_head,
			    c.opcode, c.flags & 1, phase);
			return;
		}
		if (c.command_id & ~ENA_AQ_CMD_ID_MASK)
			esim_perr(s, "AQ entry %u: reserved command_id bits 0x%x", s->aq_head, c.command_id);
		if ((c.command_id & ENA_AQ_CMD_ID_MASK) >= depth)
			esim_perr(s, "AQ entry %u: command_id %u >= depth", s->aq_head, c.command_id);
		s->aq_head++;
		s->admin_cmds++;
		struct ena_acq_entry r;
		memset(&r, 0, sizeof(r));
		/* An injected failure happens instead of the command: nothing
		   of it takes effect. */
		bool fail = false;
		if (s->f_admin_fail_op != 0 && s->f_admin_fail_op == c.opcode) {
			s->f_admin_fail_op = 0;
			fail = true;
		}
		if (s->f_admin_fail_at != 0 && --s->f_admin_fail_at == 0)
			fail = true;
		uint8_t st = fail ? (s->f_admin_fail_status ? s->f_admin_fail_status :
		    ENA_ADMIN_UNKNOWN_ERR) : admin_cmd(s, e, &r);
		if (s->f_admin_drop_at != 0 && --s->f_admin_drop_at == 0)
			continue;
		if (s->f_admin_drop > 0) {
			s->f_admin_drop--;
			continue;
		}
		if (s->f_admin_bad_id) {
			s->f_admin_bad_id = false;
			struct ena_acq_entry bad;
			memset(&bad, 0, sizeof(bad));
			bad.command_id = (uint16_t)((c.command_id + 7) & (depth - 1));
			acq_post(s, &bad);
		}
		r.command_id = c.command_id & ENA_AQ_CMD_ID_MASK;
		r.status = st;
		r.sq_head_indx = s->aq_head;
		acq_post(s, &r);
	}
}

/* ------------------------------------------------------------------ */
/* AENQ (A.10). */

int
ena_sim_aenq(struct ena_sim *s, uint16_t group, uint16_t syndrome, const void *payload,
    uint32_t len)
{
	uint16_t depth = s->aenq_caps & 0xffff;
	if (s->aenq_base == 0 || depth == 0 || group >= 32 ||
	    !(s->aenq_enabled & (1u << group))) {
		s->aenq_dropped++;
		return -1;
	}
	/* Free per the head doorbell: the driver writes depth + consumed. */
	if ((int16_t)(s->aenq_head_db - s->aenq_tail) <= 0) {
		s->aenq_dropped++;
		return -1;
	}
	struct ena_aenq_entry *e = (struct ena_aenq_entry *)(uintptr_t)
	    (s->aenq_base + (uint64_t)(s->aenq_tail & (depth - 1)) * ENA_AENQ_ENTRY_SIZE);
	struct ena_aenq_entry v;
	memset(&v, 0, sizeof(v));
	v.group = group;
	v.syndrome = syndrome;
	v.ts_lo = (uint32_t)(s->now_ns / 1000000);
	if (payload != NULL)
		memcpy(v.payload, payload, len < sizeof(v.payload) ? len : sizeof(v.payload));
	v.flags = s->aenq_phase;
	if (s->mangle != NULL)
		s->mangle(s->mangle_ctx, ESIM_M_AENQ, &v, sizeof(v));
	memcpy((uint8_t *)e + 8, (uint8_t *)&v + 8, sizeof(v) - 8);
	memcpy(e, &v, 8);
	s->aenq_tail++;
	if ((s->aenq_tail & (depth - 1)) == 0)
		s->aenq_phase ^= 1;
	esim_raise_irq(s, 0);
	return 0;
}

int
ena_sim_keepalive(struct ena_sim *s)
{
	uint32_t p[6] = { 0 };
	return ena_sim_aenq(s, ENA_AENQ_KEEP_ALIVE, 0, p, sizeof(p));
}

int
ena_sim_link(struct ena_sim *s, bool up)
{
	uint32_t f = up ? 1 : 0;
	return ena_sim_aenq(s, ENA_AENQ_LINK_CHANGE, 0, &f, sizeof(f));
}

/* ------------------------------------------------------------------ */
/* Register window. */

static uint32_t
reg_value(struct ena_sim *s, uint32_t off)
{
	switch (off) {
	case ENA_REG_VERSION: return 0x0201;
	case ENA_REG_CTRL_VERSION: return 0x00010001;
	case ENA_REG_CAPS:
		return (uint32_t)s->cfg.reset_to << 1 | (uint32_t)s->cfg.dma_width << 8 |
		    (uint32_t)s->cfg.admin_to << 16;
	case ENA_REG_CAPS_EXT: return 0;
	case ENA_REG_DEV_STS: return s->dev_sts;
	case ENA_REG_INTR_MASK: return s->intr_mask;
	case ENA_REG_AENQ_TAIL: return s->aenq_tail;
	case ENA_REG_ACQ_TAIL: return s->acq_tail;
	}
	esim_perr(s, "read of unreadable register 0x%x", off);
	return 0;
}

static uint32_t
reg_value_shown(struct ena_sim *s, uint32_t off)
{
	uint32_t v = reg_value(s, off);
	if (s->mangle != NULL)
		s->mangle(s->mangle_ctx, ESIM_M_REG, &v, sizeof(v));
	return v;
}

static uint64_t
sim_read(struct hw_bar *b, uint32_t off, int width)
{
	struct ena_sim *s = S(b->dev);
	if (b->index != 0 || width != 4) {
		esim_perr(s, "read of window %u offset 0x%x width %d", b->index, off, width);
		return 0;
	}
	if (s->cfg.readless)
		esim_perr(s, "plain MMIO read of 0x%x while read-less is offered", off);
	s->plain_reads++;
	return reg_value_shown(s, off);
}

static void
readless(struct ena_sim *s, uint32_t v)
{
	uint16_t seq = (uint16_t)v, off = (uint16_t)(v >> 16);
	if (!s->cfg.readless) {
		esim_perr(s, "read-less request on a device without it");
		return;
	}
	if (s->mmio_resp == 0) {
		esim_perr(s, "read-less request for 0x%x before MMIO_RESP was (re)programmed", off);
		return;
	}
	if (s->f_readless_dead)
		return;
	if (s->f_readless_drop_at != 0 && --s->f_readless_drop_at == 0)
		return;
	s->readless_reads++;
	struct ena_mmio_resp *r = (struct ena_mmio_resp *)(uintptr_t)s->mmio_resp;
	r->reg_off = off;
	r->reg_val = reg_value_shown(s, off);
	__atomic_store_n(&r->req_id, seq, __ATOMIC_RELEASE);	/* last (A.3 step 3) */
}

static void
dev_ctl(struct ena_sim *s, uint32_t v)
{
	if (v & ENA_DEV_CTL_RESET) {
		if (!(s->dev_sts & ENA_DEV_STS_READY))
			esim_perr(s, "DEV_CTL reset while not ready");
		s->reset_reason = v >> ENA_DEV_CTL_REASON_SHIFT;
		device_reset(s);
		if (!s->f_never_reset)
			s->dev_sts |= ENA_DEV_STS_RESET_IN_PROGRESS;
		return;
	}
	if (v == 0 && (s->dev_sts & ENA_DEV_STS_RESET_IN_PROGRESS)) {
		s->dev_sts &= ~ENA_DEV_STS_RESET_IN_PROGRESS;
		s->dev_sts |= ENA_DEV_STS_READY | ENA_DEV_STS_RESET_FINISHED;
		return;
	}
	if (v != 0)
		esim_perr(s, "DEV_CTL 0x%x not implemented", v);
}

static void
unmask(struct ena_sim *s, uint16_t vec, uint32_t v)
{
	bool bound = false;
	for (int i = 0; i < ESIM_MAXQ * 2; i++)
		bound |= s->cq[i].live && s->cq[i].vec == vec;
	if (!bound) {
		esim_perr(s, "unmask of vector %u with no live CQ", vec);
		return;
	}
	if (!(v & ENA_INTR_UNMASK))
		return;
	if (s->cfg.msix_off) {
		esim_perr(s, "unmask of vector %u without MSI-X", vec);
		return;
	}
	s->unmask_writes[vec]++;
	s->vec_masked[vec] = false;
	if (s->vec_pending[vec]) {
		s->vec_pending[vec] = false;
		esim_raise_irq(s, vec);
	}
}

static void
sim_write(struct hw_bar *b, uint32_t off, int width, uint64_t v64)
{
	struct ena_sim *s = S(b->dev);
	uint32_t v = (uint32_t)v64;
	if (b->index == 2) {
		esim_perr(s, "LLQ window written with a %d-byte store at 0x%x (hw_write_block only)",
		    width, off);
		return;
	}
	if (b->index != 0 || width != 4) {
		esim_perr(s, "write of window %u offset 0x%x width %d", b->index, off, width);
		return;
	}
	if (off >= ESIM_DB_BASE && off < ESIM_DB_BASE + 4 * ESIM_MAXQ * 2) {
		struct esim_sq *sq = &s->sq[(off - ESIM_DB_BASE) / 4];
		if (!sq->live) {
			esim_perr(s, "doorbell 0x%x of a queue that does not exist", off);
			return;
		}
		if (sq->dir == ENA_SQ_DIR_TX) {
			esim_tx_doorbell(s, sq, (uint16_t)v);
		} else {
			if ((uint16_t)((uint16_t)v - sq->head) > sq->depth) {
				esim_perr(s, "RX doorbell %u more than depth past consumed %u", v, sq->head);
				return;
			}
			sq->tail = (uint16_t)v;
		}
		return;
	}
	if (off >= ESIM_UNMASK_BASE && off < ESIM_UNMASK_BASE + 4 * ESIM_NVEC) {
		unmask(s, (uint16_t)((off - ESIM_UNMASK_BASE) / 4), v);
		return;
	}
	switch (off) {
	case ENA_REG_AQ_BASE_LO: s->aq_base = (s->aq_base & ~0xffffffffULL) | v; break;
	case ENA_REG_AQ_BASE_HI: s->aq_base = (s->aq_base & 0xffffffffULL) | (uint64_t)v << 32; break;
	case ENA_REG_ACQ_BASE_LO: s->acq_base = (s->acq_base & ~0xffffffffULL) | v; break;
	case ENA_REG_ACQ_BASE_HI: s->acq_base = (s->acq_base & 0xffffffffULL) | (uint64_t)v << 32; break;
	case ENA_REG_AENQ_BASE_LO: s->aenq_base = (s->aenq_base & ~0xffffffffULL) | v; break;
	case ENA_REG_AENQ_BASE_HI: s->aenq_base = (s->aenq_base & 0xffffffffULL) | (uint64_t)v << 32; break;
	case ENA_REG_AQ_CAPS:
	case ENA_REG_ACQ_CAPS:
	case ENA_REG_AENQ_CAPS: {
		uint16_t depth = v & 0xffff, esz = (uint16_t)(v >> 16);
		if (!one_bit(depth) || depth > ESIM_AQ_MAX || esz != 64) {
			esim_perr(s, "queue caps 0x%x at 0x%x: depth must be a power of two <= %u, "
			    "entries 64 bytes", v, off, ESIM_AQ_MAX);
			break;
		}
		if (off == ENA_REG_AQ_CAPS) s->aq_caps = v;
		else if (off == ENA_REG_ACQ_CAPS) s->acq_caps = v;
		else s->aenq_caps = v;
		if (s->aq_caps && s->acq_caps) {
			if ((s->aq_caps & 0xffff) != (s->acq_caps & 0xffff))
				esim_perr(s, "AQ and ACQ depths differ");
			if (!esim_addr_ok(s, s->aq_base, "AQ") || !esim_addr_ok(s, s->acq_base, "ACQ"))
				break;
			s->admin_up = true;
		}
		if (off == ENA_REG_AENQ_CAPS)
			(void)esim_addr_ok(s, s->aenq_base, "AENQ");
		break;
	}
	case ENA_REG_AQ_DB: aq_doorbell(s, (uint16_t)v); break;
	case ENA_REG_AENQ_HEAD_DB: {
		uint16_t depth = s->aenq_caps & 0xffff;
		uint16_t nd = (uint16_t)v;
		if ((int16_t)(nd - s->aenq_tail) > (int16_t)depth ||
		    (int16_t)(nd - s->aenq_head_db) < 0)
			esim_perr(s, "AENQ head doorbell %u (tail %u, previous %u, depth %u)", nd,
			    s->aenq_tail, s->aenq_head_db, depth);
		s->aenq_head_db = nd;
		break;
	}
	case ENA_REG_INTR_MASK:
		if (!(v & 1) && s->cfg.msix_off)
			esim_perr(s, "INTR_MASK = 0 without MSI-X");
		s->intr_mask = v & 1;
		break;
	case ENA_REG_DEV_CTL: dev_ctl(s, v); break;
	case ENA_REG_MMIO_REG_READ: readless(s, v); break;
	case ENA_REG_MMIO_RESP_LO: s->mmio_resp = (s->mmio_resp & ~0xffffffffULL) | v; break;
	case ENA_REG_MMIO_RESP_HI: s->mmio_resp = (s->mmio_resp & 0xffffffffULL) | (uint64_t)v << 32; break;
	default:
		esim_perr(s, "write of 0x%x to unknown register 0x%x", v, off);
	}
}

static void
sim_write_block(struct hw_bar *b, uint32_t off, const uint64_t *w, size_t nwords)
{
	struct ena_sim *s = S(b->dev);
	if (b->index != 2 || s->llq_mem == NULL || !s->llq_on) {
		esim_perr(s, "block write to window %u without LLQ enabled", b->index);
		return;
	}
	if (off % s->llq_entry != 0 || nwords * 8 != s->llq_entry) {
		esim_perr(s, "partial LLQ write: %zu words at 0x%x (entry %u bytes)", nwords, off,
		    s->llq_entry);
		return;
	}
	for (int i = 0; i < ESIM_MAXQ * 2; i++) {
		struct esim_sq *sq = &s->sq[i];
		if (!sq->live || sq->place != ENA_SQ_PLACE_DEV || off < sq->llq_off ||
		    off >= sq->llq_off + (uint32_t)sq->depth * s->llq_entry)
			continue;
		uint16_t slot = (uint16_t)((off - sq->llq_off) / s->llq_entry);
		uint16_t next = (uint16_t)(sq->tail + sq->since_db);
		if (slot != (next & (sq->depth - 1)))
			esim_perr(s, "LLQ entry slot %u written out of order (next is %u)", slot,
			    next & (sq->depth - 1));
		if ((uint16_t)(next - sq->head) >= sq->depth)
			esim_perr(s, "LLQ entry %u written while the device still owns it", slot);
		memcpy(s->llq_mem + off, w, nwords * 8);
		sq->llq_written[slot]++;
		sq->since_db++;
		if ((s->llq_accel & ENA_LLQ_ACCEL_LIMIT_BURST) && s->cfg.burst &&
		    sq->since_db > s->cfg.burst / s->llq_entry)
			esim_perr(s, "LLQ: %u entries without a doorbell (burst %u)", sq->since_db,
			    s->cfg.burst / s->llq_entry);
		return;
	}
	esim_perr(s, "LLQ write at 0x%x outside every LLQ ring", off);
}

static int
sim_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	struct ena_sim *s = S(d);
	size_t n = (len + PG - 1) & ~(PG - 1);
	if (s->f_dma_fail_at != 0 && --s->f_dma_fail_at == 0)
		return -1;
	void *p = aligned_alloc(align < PG ? PG : align, n);
	if (p == NULL)
		return -1;
	memset(p, 0, n);
	out->va = p;
	out->pa = (uint64_t)(uintptr_t)p;
	out->len = len;
	s->ndma++;
	return 0;
}

static void
sim_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	if (dma->va == NULL)
		return;
	free(dma->va);
	dma->va = NULL;
	S(d)->ndma--;
}

static uint64_t sim_v2p(struct hw_dev *d, const void *va) { (void)d; return (uint64_t)(uintptr_t)va; }
static void sim_sync(struct hw_dev *d, const void *va, size_t len) { (void)d; (void)va; (void)len; }
static uint64_t sim_now(struct hw_dev *d) { return S(d)->now_ns; }
static void sim_delay(struct hw_dev *d, uint32_t us) { S(d)->now_ns += (uint64_t)us * 1000; }

const struct hw_ops ena_sim_ops = {
	.read = sim_read,
	.write = sim_write,
	.write_block = sim_write_block,
	.dma_alloc = sim_dma_alloc,
	.dma_free = sim_dma_free,
	.virt_to_phys = sim_v2p,
	.dma_sync_cpu = sim_sync,
	.dma_sync_dev = sim_sync,
	.now_ns = sim_now,
	.delay_us = sim_delay,
};

/*
 * netvsc_vsp.c - a strict netvsc VSP for the host simulator (see
 * netvsc_vsp.h).  Written from PROTOCOLS.md B.10-B.12 and B.15: the
 * sequence INIT, NDIS_CONFIG, NDIS_VER, RECV_BUF, SEND_BUF, then RNDIS
 * over SEND_RNDIS_PKT; every request checked field by field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/vmbus/netvsc_vsp.h"
#include "vmbus/vmbus_reg.h"

#define VERR(v, ...)	hv_sim_error((v)->s, "netvsc VSP: " __VA_ARGS__)

/* Where host packets go: the channel being served, else rx_q's. */
static struct sim_chan *
vsp_chan(struct netvsc_vsp *v)
{
	if (v->cur != NULL)
		return v->cur;
	if (v->rx_q > 0 && (uint32_t)v->rx_q <= v->nsubch)
		return hv_sim_chan(v->s, v->sub_relid[v->rx_q - 1]);
	return hv_sim_chan(v->s, v->relid);
}

static int
vsp_send(struct netvsc_vsp *v, uint16_t type, uint16_t flags, uint64_t tid,
    const void *ext, size_t extlen, const void *data, size_t len)
{
	struct sim_chan *c = vsp_chan(v);
	if (c == NULL || !c->open)
		return -1;
	return hv_sim_chan_send_ext(v->s, c, type, flags, tid, ext, extlen,
	    data, len);
}

/* The f_drop_at countdown: true when this reply is to be lost. */
static bool
vsp_drop(struct netvsc_vsp *v)
{
	return v->f_drop_at > 0 && --v->f_drop_at == 0;
}

static void
vsp_comp(struct netvsc_vsp *v, uint64_t tid, const void *msg, size_t len)
{
	if (vsp_drop(v))
		return;
	if (vsp_send(v, VMBUS_PKT_COMP, 0, tid, NULL, 0, msg, len) != 0)
		VERR(v, "host->guest ring full for a completion");
}

/* ---- receive-buffer sub-allocations and transfer packets -------------- */

uint8_t *
netvsc_vsp_rxbuf(struct netvsc_vsp *v, uint32_t off, uint32_t len)
{
	if (!v->rxbuf)
		return NULL;
	return hv_sim_gpadl_va(v->s, v->rx_gpadl, v->relid, off, len);
}

static int
vsp_sub_get(struct netvsc_vsp *v)
{
	for (uint32_t i = 0; i < v->nsub && i < sizeof(v->sub_used); i++)
		if (!v->sub_used[i]) {
			v->sub_used[i] = 1;
			return (int)i;
		}
	return -1;
}

/* Send a transfer packet over ranges; subs (n_sub of them) are freed on
   the guest's ack. */
static uint64_t
vsp_xfer(struct netvsc_vsp *v, uint16_t pageset, const struct vmbus_xfer_range *r,
    int n, const uint16_t *subs, int n_sub, uint32_t chan_type)
{
	int xi;
	for (xi = 0; xi < VSP_MAX_XFER && v->xfer[xi].used; xi++)
		;
	if (xi == VSP_MAX_XFER || n > VSP_MAX_RANGES)
		return 0;
	uint8_t ext[8 + 8 * VSP_MAX_RANGES];
	struct vmbus_xfer_hdr h = { pageset, 0, 0, (uint32_t)n };
	memcpy(ext, &h, 8);
	memcpy(ext + 8, r, 8 * (size_t)n);
	size_t extlen = (8 + 8 * (size_t)n);
	struct nvsp_rndis_pkt np = { NVSP_MSG_RNDIS_PKT, chan_type, NVSP_NO_SECTION, 0 };
	uint64_t tid = ++v->next_tid + 0x5000;
	struct sim_chan *c = vsp_chan(v);
	if (c == NULL)
		return 0;
	v->xfer[xi].relid = c->relid;
	if (vsp_send(v, VMBUS_PKT_DATA_XFER_PAGES, VMBUS_PKT_FLAG_COMPLETION, tid,
	    ext, extlen, &np, sizeof(np)) != 0)
		return 0;
	v->xfer[xi].used = true;
	v->xfer[xi].tid = tid;
	v->xfer[xi].n = n_sub;
	if (n_sub > 0)
		memcpy(v->xfer[xi].sub, subs, sizeof(subs[0]) * (size_t)n_sub);
	v->xfer_out++;
	v->xfers++;
	return tid;
}

uint64_t
netvsc_vsp_xfer_raw(struct netvsc_vsp *v, uint16_t pageset,
    const struct vmbus_xfer_range *r, int n)
{
	return vsp_xfer(v, pageset, r, n, NULL, 0, NVSP_CHAN_DATA);
}

uint64_t
netvsc_vsp_rx_msgs(struct netvsc_vsp *v, const void *const *msgs,
    const uint32_t *lens, int n)
{
	struct vmbus_xfer_range r[VSP_MAX_RANGES];
	uint16_t subs[VSP_MAX_RANGES];
	int k = 0;

	memset(r, 0, sizeof(r));
	memset(subs, 0, sizeof(subs));

	struct sim_chan *ch = vsp_chan(v);
	if (!v->rxbuf || v->rx_revoked || n > VSP_MAX_RANGES || ch == NULL ||
	    !ch->open)
		return 0;	/* rescinded or closed: nothing to deliver */
	for (; k < n; k++) {
		int si = lens[k] <= v->sub_alloc ? vsp_sub_get(v) : -1;
		if (si < 0)
			break;
		subs[k] = (uint16_t)si;
		uint32_t off = (uint32_t)si * v->sub_alloc;
		uint8_t *dst = netvsc_vsp_rxbuf(v, off, lens[k]);
		if (dst == NULL)
			break;
		memcpy(dst, msgs[k], lens[k]);
		r[k].byte_offset = off;
		r[k].byte_count = lens[k];
	}
	uint64_t tid = k == n ? vsp_xfer(v, NVSP_RECV_BUF_ID, r, n, subs, n,
	    NVSP_CHAN_DATA) : 0;
	if (tid == 0)
		for (int i = 0; i < k; i++)
			v->sub_used[subs[i]] = 0;
	return tid;
}

uint64_t
netvsc_vsp_rx(struct netvsc_vsp *v, const uint8_t *const *frames,
    const uint32_t *lens, int n, int64_t csum_info)
{
	static uint8_t msg[VSP_MAX_RANGES][VSP_FRAME_MAX + 64];
	const void *mp[VSP_MAX_RANGES];
	uint32_t ml[VSP_MAX_RANGES];

	if (n > VSP_MAX_RANGES)
		return 0;
	for (int i = 0; i < n; i++) {
		struct rndis_packet pk;
		uint32_t h = sizeof(pk);
		memset(&pk, 0, sizeof(pk));
		pk.type = RNDIS_MSG_PACKET;
		if (csum_info >= 0) {
			struct rndis_ppi r = { sizeof(r) + 4, RNDIS_PPI_CSUM, sizeof(r) };
			uint32_t val = (uint32_t)csum_info;
			memcpy(msg[i] + h, &r, sizeof(r));
			memcpy(msg[i] + h + sizeof(r), &val, 4);
			pk.ppi_off = h - 8;
			pk.ppi_len = r.size;
			h += r.size;
		}
		pk.data_off = h - 8;
		pk.data_len = lens[i];
		pk.len = h + lens[i];
		memcpy(msg[i], &pk, sizeof(pk));
		memcpy(msg[i] + h, frames[i], lens[i]);
		mp[i] = msg[i];
		ml[i] = pk.len;
	}
	if (v->rx_q != 0 || !v->rss_on) {
		uint64_t t = netvsc_vsp_rx_msgs(v, mp, ml, n);
		if (t != 0 && v->rx_q >= 0 && v->rx_q < 5)
			v->rx_chan_frames[v->rx_q] += (uint64_t)n;
		return t;
	}
	/* vRSS: one transfer packet per channel, frames in their order. */
	int chan[VSP_MAX_RANGES];
	for (int i = 0; i < n; i++)
		chan[i] = netvsc_vsp_rss_chan(v, frames[i], lens[i], NULL);
	uint64_t tid = 0;
	bool all = true;
	for (int c = 0; c <= (int)v->nsubch; c++) {
		const void *gm[VSP_MAX_RANGES];
		uint32_t gl[VSP_MAX_RANGES];
		int k = 0;
		for (int i = 0; i < n; i++)
			if (chan[i] == c) {
				gm[k] = mp[i];
				gl[k++] = ml[i];
			}
		if (k == 0)
			continue;
		v->rx_q = c;
		uint64_t t = netvsc_vsp_rx_msgs(v, gm, gl, k);
		v->rx_q = 0;
		if (t == 0)
			all = false;
		else
			tid = t;
		if (t != 0 && c < 5)
			v->rx_chan_frames[c] += (uint64_t)k;
	}
	return all ? tid : 0;
}

/* ---- vRSS ------------------------------------------------------------- */

/* Bit i of the key (0 = most significant bit of byte 0); 0 past its end. */
static uint32_t
vsp_key_bit(const uint8_t *key, uint32_t klen, uint32_t i)
{
	if (i / 8 >= klen)
		return 0;
	return (key[i / 8] >> (7 - i % 8)) & 1u;
}

uint32_t
netvsc_vsp_toeplitz(const uint8_t *key, uint32_t klen, const uint8_t *in,
    uint32_t n)
{
	uint32_t h = 0;
	for (uint32_t i = 0; i < 8 * n; i++) {
		if (!((in[i / 8] >> (7 - i % 8)) & 1u))
			continue;
		/* The 32-bit window of the key that starts at bit i. */
		uint32_t w = 0;
		for (uint32_t b = 0; b < 32; b++)
			w = (w << 1) | vsp_key_bit(key, klen, i + b);
		h ^= w;
	}
	return h;
}

static bool
vsp_chan_open(struct netvsc_vsp *v, uint32_t c)
{
	struct sim_chan *ch = c == 0 ? hv_sim_chan(v->s, v->relid) :
	    c <= v->nsubch ? hv_sim_chan(v->s, v->sub_relid[c - 1]) : NULL;
	return ch != NULL && ch->open;
}

int
netvsc_vsp_rss_chan(const struct netvsc_vsp *v, const uint8_t *f,
    uint32_t len, bool *hashed)
{
	uint8_t in[12];
	uint32_t n = 0;

	if (hashed != NULL)
		*hashed = false;
	if (!v->rss_on || v->rss_ntab == 0 || len < 14 + 20 ||
	    f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return 0;
	const uint8_t *ip = f + 14;
	uint32_t hl = (uint32_t)(ip[0] & 15) * 4;
	if (hl < 20 || 14 + hl > len)
		return 0;
	bool frag = ((ip[6] << 8 | ip[7]) & 0x3fff) != 0;	/* MF or offset */
	memcpy(in, ip + 12, 8);			/* source, destination */
	if (ip[9] == 6 && !frag && 14 + hl + 4 <= len &&
	    (v->rss_hash & NDIS_HASH_TCP_IPV4)) {
		memcpy(in + 8, ip + hl, 4);	/* source port, destination port */
		n = 12;
	} else if (v->rss_hash & NDIS_HASH_IPV4) {
		n = 8;
	} else {
		return 0;
	}
	uint32_t h = netvsc_vsp_toeplitz(v->rss_key, NDIS_RSS_KEY_LEN, in, n);
	uint32_t c = v->rss_tab[h & (v->rss_ntab - 1)];
	if (hashed != NULL)
		*hashed = true;
	/* A channel closed since: the primary (the VSP's choice). */
	return vsp_chan_open((struct netvsc_vsp *)v, c) ? (int)c : 0;
}

int
netvsc_vsp_send_inband(struct netvsc_vsp *v, const void *msg, uint32_t len)
{
	struct sim_chan *c = hv_sim_chan(v->s, v->relid);
	if (c == NULL || !c->open)
		return -1;
	return hv_sim_chan_send_ext(v->s, c, VMBUS_PKT_DATA_INBAND, 0, 0, NULL,
	    0, msg, len);
}

/* SET OID_GEN_RECEIVE_SCALE_PARAMETERS: every field checked; returns the
   RNDIS status for the completion. */
static uint32_t
vsp_rss_set(struct netvsc_vsp *v, const uint8_t *info, uint32_t ilen)
{
	struct ndis_rss_params p;
	uint32_t nsub_open = 0;

	if (ilen < sizeof(p)) {
		VERR(v, "RSS parameters of %u bytes", ilen);
		return 0xC0000001u;
	}
	memcpy(&p, info, sizeof(p));
	for (uint32_t i = 1; i <= v->nsubch; i++)
		nsub_open += vsp_chan_open(v, i);
	uint64_t tab_end = (uint64_t)p.itab_off + p.itab_size;
	uint64_t key_end = (uint64_t)p.key_off + p.key_size;
	uint32_t ntab = p.itab_size / 4u;
	bool bad = false;
	if (p.obj_type != NDIS_OBJ_RSS_PARAMS || p.obj_rev != NDIS_RSS_PARAMS_REV2 ||
	    p.obj_size != sizeof(p)) {
		VERR(v, "RSS header type 0x%x rev %u size %u", p.obj_type,
		    p.obj_rev, p.obj_size);
		bad = true;
	}
	if ((p.flags & ~NDIS_RSS_FLAG_DISABLE) != 0 || p.base_cpu != 0) {
		VERR(v, "RSS flags 0x%x base CPU %u", p.flags, p.base_cpu);
		bad = true;
	}
	uint32_t types = p.hash_info & ~NDIS_HASH_FUNC_MASK;
	if ((p.hash_info & NDIS_HASH_FUNC_MASK) != NDIS_HASH_FUNC_TOEPLITZ ||
	    types == 0 || (types & ~0x3f00u) != 0) {
		VERR(v, "RSS hash info 0x%x", p.hash_info);
		bad = true;
	}
	if (p.itab_size % 4 != 0 || ntab == 0 || ntab > NDIS_RSS_ITAB_LEN ||
	    (ntab & (ntab - 1)) != 0 || p.itab_off < sizeof(p) ||
	    (p.itab_off & 3) != 0 || tab_end > ilen) {
		VERR(v, "RSS indirection table %u bytes at %u in %u", p.itab_size,
		    p.itab_off, ilen);
		bad = true;
	}
	if (p.key_size != NDIS_RSS_KEY_LEN || p.key_off < sizeof(p) ||
	    key_end > ilen ||
	    (p.key_off < tab_end && key_end > p.itab_off)) {
		VERR(v, "RSS key %u bytes at %u in %u (table %u..%llu)",
		    p.key_size, p.key_off, ilen, p.itab_off,
		    (unsigned long long)tab_end);
		bad = true;
	}
	if (!bad && (tab_end > key_end ? tab_end : key_end) != ilen) {
		VERR(v, "RSS parameters: %u bytes, parts end at %llu", ilen,
		    (unsigned long long)(tab_end > key_end ? tab_end : key_end));
		bad = true;
	}
	if (p.cpu_masks_off != 0 || p.cpu_masks_n != 0 || p.cpu_masks_entry != 0) {
		VERR(v, "RSS processor masks %u/%u/%u", p.cpu_masks_off,
		    p.cpu_masks_n, p.cpu_masks_entry);
		bad = true;
	}
	if (bad)
		return 0xC0000001u;		/* FAILURE */
	uint32_t tab[NDIS_RSS_ITAB_LEN];
	memcpy(tab, info + p.itab_off, 4 * (size_t)ntab);
	for (uint32_t i = 0; i < ntab; i++)
		if (tab[i] > nsub_open) {
			VERR(v, "RSS table entry %u is channel %u, %u open", i,
			    tab[i], 1 + nsub_open);
			return 0xC0000001u;
		}
	if (v->f_rss_refuse)
		return 0xC00000BBu;		/* NOT_SUPPORTED */
	v->rss_sets++;
	v->rss_hash = p.hash_info;
	v->rss_ntab = ntab;
	memcpy(v->rss_tab, tab, 4 * (size_t)ntab);
	memcpy(v->rss_key, info + p.key_off, NDIS_RSS_KEY_LEN);
	v->rss_on = (p.flags & NDIS_RSS_FLAG_DISABLE) == 0;
	return 0;
}

int
netvsc_vsp_comp_bogus(struct netvsc_vsp *v, uint64_t tid)
{
	struct nvsp_rndis_pkt_complete c = { NVSP_MSG_RNDIS_PKT_COMPLETE,
	    NVSP_STAT_SUCCESS };
	return vsp_send(v, VMBUS_PKT_COMP, 0, tid, NULL, 0, &c, sizeof(c));
}

int
netvsc_vsp_link(struct netvsc_vsp *v, bool up)
{
	struct rndis_indicate ind = { RNDIS_MSG_INDICATE, sizeof(ind),
	    up ? RNDIS_STATUS_MEDIA_CONNECT : RNDIS_STATUS_MEDIA_DISCONNECT, 0, 0 };
	const void *m = &ind;
	uint32_t l = sizeof(ind);
	v->link_up = up;
	return netvsc_vsp_rx_msgs(v, &m, &l, 1) != 0 ? 0 : -1;
}

bool
netvsc_vsp_xfer_outstanding(const struct netvsc_vsp *v, uint64_t tid)
{
	for (int i = 0; i < VSP_MAX_XFER; i++)
		if (v->xfer[i].used && v->xfer[i].tid == tid)
			return true;
	return false;
}

/* The guest's COMP for a transfer packet. */
static void
vsp_ack(struct netvsc_vsp *v, uint64_t tid, const uint8_t *p, int len)
{
	struct nvsp_rndis_pkt_complete c;
	if (len < (int)sizeof(c)) {
		VERR(v, "ack of 0x%llx: %d bytes", (unsigned long long)tid, len);
		return;
	}
	memcpy(&c, p, sizeof(c));
	if (c.type != NVSP_MSG_RNDIS_PKT_COMPLETE || c.status != NVSP_STAT_SUCCESS)
		VERR(v, "ack of 0x%llx: type %u status %u", (unsigned long long)tid,
		    c.type, c.status);
	for (int i = 0; i < VSP_MAX_XFER; i++)
		if (v->xfer[i].used && v->xfer[i].tid == tid) {
			if (v->cur != NULL && v->cur->relid != v->xfer[i].relid)
				VERR(v, "ack of 0x%llx on relid %u, sent on %u",
				    (unsigned long long)tid, v->cur->relid,
				    v->xfer[i].relid);
			for (int k = 0; k < v->xfer[i].n; k++)
				v->sub_used[v->xfer[i].sub[k]] = 0;
			v->xfer[i].used = false;
			v->xfer_out--;
			v->acks++;
			return;
		}
	VERR(v, "ack for transfer 0x%llx never sent or acked twice",
	    (unsigned long long)tid);
}

/* ---- RNDIS control -------------------------------------------------- */

static void
vsp_ctl_reply(struct netvsc_vsp *v, void *msg, uint32_t len)
{
	if (v->f_ctl_mute || vsp_drop(v))
		return;
	const void *m = msg;
	if (v->f_ctl_bad_len) {
		uint32_t big = len + 4096;
		memcpy((uint8_t *)msg + 4, &big, 4);
	}
	if (netvsc_vsp_rx_msgs(v, &m, &len, 1) == 0)
		VERR(v, "no room for an RNDIS completion");
}

static void
vsp_rndis_ctl(struct netvsc_vsp *v, const uint8_t *m, uint32_t len)
{
	uint32_t type, mlen, rid;
	uint8_t out[256];

	v->ctl_msgs++;
	if (len < 12) {
		VERR(v, "RNDIS control message of %u bytes", len);
		return;
	}
	memcpy(&type, m, 4);
	memcpy(&mlen, m + 4, 4);
	memcpy(&rid, m + 8, 4);
	if (mlen != len) {
		VERR(v, "RNDIS type %u length field %u, page buffer %u", type, mlen, len);
		return;
	}
	if (rid == 0)
		VERR(v, "RNDIS type %u with request id 0", type);
	memset(out, 0, sizeof(out));
	if (type == RNDIS_MSG_INIT) {
		struct rndis_init_req q;
		if (len != sizeof(q)) {
			VERR(v, "RNDIS INITIALIZE of %u bytes", len);
			return;
		}
		memcpy(&q, m, sizeof(q));
		if (q.major != 1 || q.minor != 0 || q.max_xfer == 0)
			VERR(v, "RNDIS INITIALIZE version %u.%u max_xfer %u",
			    q.major, q.minor, q.max_xfer);
		struct rndis_init_cmplt c = { RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION,
		    sizeof(c), rid, v->f_rndis_init_status, 1, 0, 1, 0, 8,
		    0x4000, 3, 0, 0 };
		v->rndis_up = v->f_rndis_init_status == 0;
		memcpy(out, &c, sizeof(c));
		vsp_ctl_reply(v, out, sizeof(c));
		return;
	}
	if (!v->rndis_up) {
		VERR(v, "RNDIS type %u before INITIALIZE", type);
		return;
	}
	if (type != RNDIS_MSG_QUERY && type != RNDIS_MSG_SET) {
		VERR(v, "RNDIS control type %u unexpected", type);
		return;
	}
	struct rndis_oid_req q;
	if (len < sizeof(q)) {
		VERR(v, "RNDIS QUERY/SET of %u bytes", len);
		return;
	}
	memcpy(&q, m, sizeof(q));
	if (q.info_off != RNDIS_INFO_OFF || q.vc_handle != 0 ||
	    sizeof(q) + q.info_len != len)
		VERR(v, "RNDIS %s oid 0x%x: info %u+%u vc %u in %u bytes",
		    type == RNDIS_MSG_QUERY ? "QUERY" : "SET", q.oid, q.info_off,
		    q.info_len, q.vc_handle, len);
	const uint8_t *info = m + sizeof(q);
	if (type == RNDIS_MSG_QUERY) {
		struct rndis_query_cmplt c = { RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION,
		    0, rid, 0, 0, 16 };
		uint32_t val;
		if (q.oid == RNDIS_OID_PERM_ADDR) {
			memcpy(out + sizeof(c), v->mac, 6);
			c.info_len = 6;
		} else if (q.oid == RNDIS_OID_MAX_FRAME) {
			val = v->mtu;
			memcpy(out + sizeof(c), &val, 4);
			c.info_len = 4;
		} else if (q.oid == RNDIS_OID_MEDIA_STATUS) {
			val = v->link_up ? 0 : 1;
			memcpy(out + sizeof(c), &val, 4);
			c.info_len = 4;
		} else {
			c.status = 0xC00000BBu;		/* NOT_SUPPORTED */
		}
		c.len = (uint32_t)sizeof(c) + c.info_len;
		memcpy(out, &c, sizeof(c));
		vsp_ctl_reply(v, out, c.len);
		return;
	}
	struct rndis_set_cmplt c = { RNDIS_MSG_SET | RNDIS_MSG_COMPLETION,
	    sizeof(c), rid, 0 };
	if (q.oid == RNDIS_OID_PACKET_FILTER) {
		if (q.info_len != 4)
			VERR(v, "packet filter of %u bytes", q.info_len);
		else
			memcpy(&v->filter, info, 4);
		if (v->filter & ~0x2Fu)
			VERR(v, "packet filter 0x%x", v->filter);
	} else if (q.oid == RNDIS_OID_OFFLOAD_PARAMS) {
		struct ndis_offload_params op;
		if (q.info_len != sizeof(op)) {
			VERR(v, "offload parameters of %u bytes", q.info_len);
			c.status = 0xC0000001u;
		} else {
			memcpy(&op, info, sizeof(op));
			if (op.obj_type != NDIS_OBJ_OFFLOAD_PARAMS ||
			    op.obj_rev != NDIS_OFFLOAD_PARAMS_REV2 ||
			    op.obj_size != sizeof(op) || op.tcp4_csum > 4 ||
			    op.udp4_csum > 4 || op.ip4_csum > 4)
				VERR(v, "offload parameters header %u/%u/%u",
				    op.obj_type, op.obj_rev, op.obj_size);
			if (v->f_offload_refuse)
				c.status = 0xC00000BBu;
			else
				v->offload_on = op.tcp4_csum == 4 && op.udp4_csum == 4;
		}
	} else if (q.oid == RNDIS_OID_RSS_PARAMS) {
		c.status = vsp_rss_set(v, info, q.info_len <= len - sizeof(q) ?
		    q.info_len : len - (uint32_t)sizeof(q));
	} else {
		c.status = 0xC00000BBu;
	}
	memcpy(out, &c, sizeof(c));
	vsp_ctl_reply(v, out, sizeof(c));
}

/* ---- frames from the guest -------------------------------------------- */

/* What the host does for a checksum PPI (B.12 type 0, transmit): the
   TCP or UDP checksum field holds the pseudo-header sum; sum from the
   transport header to the end and store the complement. */
static void
vsp_csum_complete(struct netvsc_vsp *v, uint8_t *fr, uint32_t len, uint32_t info)
{
	uint32_t l4 = (info >> RNDIS_TXCSUM_L4OFF_SHIFT) & 0x3ff;
	uint32_t field = (info & RNDIS_TXCSUM_TCP) ? 16 : (info & RNDIS_TXCSUM_UDP) ? 6 : 0;
	if (field == 0 || l4 + field + 2 > len) {
		VERR(v, "checksum PPI 0x%x for a %u-byte frame", info, len);
		return;
	}
	uint32_t sum = 0;
	for (uint32_t i = l4; i + 1 < len; i += 2)
		sum += (uint32_t)fr[i] << 8 | fr[i + 1];
	if ((len - l4) & 1)
		sum += (uint32_t)fr[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	if (c == 0 && field == 6)
		c = 0xffff;
	fr[l4 + field] = (uint8_t)(c >> 8);
	fr[l4 + field + 1] = (uint8_t)c;
}

/* One RNDIS PACKET in msg (len bytes) to the wire. */
static bool
vsp_frame(struct netvsc_vsp *v, const uint8_t *msg, uint32_t len, bool copied)
{
	struct rndis_packet pk;
	if (len < sizeof(pk)) {
		VERR(v, "data message of %u bytes", len);
		return false;
	}
	memcpy(&pk, msg, sizeof(pk));
	if (pk.type != RNDIS_MSG_PACKET || pk.len != len ||
	    pk.data_off < RNDIS_DATA_OFF_MIN || (pk.data_off & 3) ||
	    pk.data_len < 14 || 8ull + pk.data_off + pk.data_len != len ||
	    pk.data_len > v->mtu + 14u || pk.oob_len || pk.num_oob ||
	    pk.vc_handle || pk.reserved) {
		VERR(v, "bad RNDIS PACKET: type %u len %u/%u data %u+%u",
		    pk.type, pk.len, len, pk.data_off, pk.data_len);
		return false;
	}
	if (!v->rndis_up || v->filter == 0)
		VERR(v, "frame sent before RNDIS init and packet filter");
	struct vsp_frame *f = &v->wire[v->nwire % VSP_WIRE];
	memset(f, 0, sizeof(*f));
	if (pk.ppi_len != 0) {
		struct rndis_ppi r;
		if (pk.ppi_off < RNDIS_DATA_OFF_MIN || 8ull + pk.ppi_off + pk.ppi_len > 8ull + pk.data_off ||
		    pk.ppi_len < sizeof(r) + 4) {
			VERR(v, "PPI %u+%u", pk.ppi_off, pk.ppi_len);
			return false;
		}
		memcpy(&r, msg + 8 + pk.ppi_off, sizeof(r));
		if (r.size != pk.ppi_len || r.type != RNDIS_PPI_CSUM || r.offset != 12) {
			VERR(v, "PPI record size %u type %u offset %u", r.size,
			    r.type, r.offset);
			return false;
		}
		if (!v->offload_on)
			VERR(v, "checksum PPI without offloads enabled");
		f->csum_ppi = true;
		memcpy(&f->csum_info, msg + 8 + pk.ppi_off + 12, 4);
	}
	f->len = pk.data_len < VSP_FRAME_MAX ? pk.data_len : VSP_FRAME_MAX;
	memcpy(f->data, msg + 8 + pk.data_off, f->len);
	f->copied = copied;
	f->relid = v->cur != NULL ? v->cur->relid : 0;
	v->nwire++;
	if (v->on_tx != NULL) {
		static uint8_t out[16384];
		uint32_t n = pk.data_len;
		memcpy(out, msg + 8 + pk.data_off, n);
		if (f->csum_ppi)
			vsp_csum_complete(v, out, n, f->csum_info);
		v->on_tx(v->tx_ctx, out, n);
	}
	v->tx_frames++;
	return true;
}

static void
vsp_tx_done(struct netvsc_vsp *v, uint64_t tid, uint32_t status)
{
	if (v->f_hold_tx && v->nheld < VSP_MAX_HELD) {
		v->held[v->nheld].tid = tid;
		v->held[v->nheld].status = status;
		v->held[v->nheld].relid = v->cur != NULL ? v->cur->relid : v->relid;
		v->nheld++;
		return;
	}
	struct nvsp_rndis_pkt_complete c = { NVSP_MSG_RNDIS_PKT_COMPLETE, status };
	vsp_comp(v, tid, &c, sizeof(c));
}

void
netvsc_vsp_release_tx(struct netvsc_vsp *v)
{
	v->f_hold_tx = false;
	for (int i = 0; i < v->nheld; i++) {
		struct nvsp_rndis_pkt_complete c = { NVSP_MSG_RNDIS_PKT_COMPLETE,
		    v->held[i].status };
		struct sim_chan *was = v->cur;
		v->cur = hv_sim_chan(v->s, v->held[i].relid);
		if (v->cur != NULL && v->cur->open)
			vsp_comp(v, v->held[i].tid, &c, sizeof(c));
		v->cur = was;
	}
	v->nheld = 0;
}

/* SEND_RNDIS_PKT: control or data, from a section or page buffers. */
static void
vsp_rndis_pkt(struct netvsc_vsp *v, uint16_t type, uint16_t flags, uint64_t tid,
    const struct nvsp_rndis_pkt *np, const uint8_t *ext, size_t extlen)
{
	static uint8_t msg[16384];
	uint32_t len = 0;
	bool copied = type == VMBUS_PKT_DATA_INBAND;

	if (!(flags & VMBUS_PKT_FLAG_COMPLETION))
		VERR(v, "SEND_RNDIS_PKT without completion requested");
	if (np->channel_type > NVSP_CHAN_CONTROL) {
		VERR(v, "SEND_RNDIS_PKT channel type %u", np->channel_type);
		return;
	}
	if (copied) {
		if (!v->txbuf || v->tx_revoked || np->section_index >= v->nsec ||
		    np->section_size == 0 || np->section_size > v->sec_size) {
			VERR(v, "SEND_RNDIS_PKT section %u size %u (of %u x %u)",
			    np->section_index, np->section_size, v->nsec, v->sec_size);
			return;
		}
		const uint8_t *p = hv_sim_gpadl_va(v->s, v->tx_gpadl, v->relid,
		    (uint64_t)np->section_index * v->sec_size, np->section_size);
		if (p == NULL) {
			VERR(v, "send section %u not readable", np->section_index);
			return;
		}
		memcpy(msg, p, np->section_size);
		len = np->section_size;
	} else if (type == VMBUS_PKT_DATA_GPA_DIRECT) {
		struct vmbus_gpa_hdr h;
		if (np->section_index != NVSP_NO_SECTION || np->section_size != 0)
			VERR(v, "direct SEND_RNDIS_PKT with section %u size %u",
			    np->section_index, np->section_size);
		if (extlen < sizeof(h)) {
			VERR(v, "GPA direct header of %zu bytes", extlen);
			return;
		}
		memcpy(&h, ext, sizeof(h));
		if (h.reserved != 0 || h.rangecount == 0 ||
		    h.rangecount > VMBUS_MAX_PAGEBUFS ||
		    sizeof(h) + 16ull * h.rangecount != extlen) {
			VERR(v, "GPA direct: reserved %u ranges %u in %zu bytes",
			    h.reserved, h.rangecount, extlen);
			return;
		}
		if (np->channel_type == NVSP_CHAN_CONTROL && h.rangecount != 1)
			VERR(v, "RNDIS control message over %u page buffers", h.rangecount);
		for (uint32_t i = 0; i < h.rangecount; i++) {
			struct vmbus_pagebuf pb;
			memcpy(&pb, ext + sizeof(h) + 16 * i, sizeof(pb));
			if (pb.len == 0 || pb.offset + pb.len > 4096 ||
			    len + pb.len > sizeof(msg)) {
				VERR(v, "page buffer %u: offset %u len %u", i,
				    pb.offset, pb.len);
				return;
			}
			uint64_t pa = (pb.pfn << 12) + pb.offset;
			const uint8_t *p = v->any_guest_memory ?
			    (const uint8_t *)(uintptr_t)pa :
			    hv_sim_guest_va(v->s, pa, pb.len, "netvsc page buffer");
			if (p == NULL)
				return;
			memcpy(msg + len, p, pb.len);
			len += pb.len;
		}
	} else {
		VERR(v, "SEND_RNDIS_PKT in a packet of type %u", type);
		return;
	}
	if (np->channel_type == NVSP_CHAN_CONTROL) {
		struct nvsp_rndis_pkt_complete c = { NVSP_MSG_RNDIS_PKT_COMPLETE,
		    NVSP_STAT_SUCCESS };
		vsp_comp(v, tid, &c, sizeof(c));
		vsp_rndis_ctl(v, msg, len);
		return;
	}
	bool ok = vsp_frame(v, msg, len, copied);
	if (ok && copied)
		v->tx_copied++;
	else if (ok)
		v->tx_direct++;
	vsp_tx_done(v, tid, !ok ? NVSP_STAT_FAIL :
	    v->f_tx_status != 0 ? v->f_tx_status : NVSP_STAT_SUCCESS);
}

/* ---- NVSP ----------------------------------------------------------- */

static const uint32_t vsp_versions[] = {
	NVSP_V1, NVSP_V2, NVSP_V4, NVSP_V5, NVSP_V6, NVSP_V61,
};

static void
vsp_nvsp(struct netvsc_vsp *v, uint16_t type, uint16_t flags, uint64_t tid,
    const uint8_t *p, int len, const uint8_t *ext, size_t extlen)
{
	uint32_t mt;
	bool rc = flags & VMBUS_PKT_FLAG_COMPLETION;

	if (type == VMBUS_PKT_COMP) {
		vsp_ack(v, tid, p, len);
		return;
	}
	if (len < 4) {
		VERR(v, "NVSP message of %d bytes", len);
		return;
	}
	memcpy(&mt, p, 4);
	if (len < (int)NVSP_MSG_SIZE)
		VERR(v, "NVSP type %u: %d bytes, want %u", mt, len, NVSP_MSG_SIZE);
	if (mt != NVSP_MSG_RNDIS_PKT && type != VMBUS_PKT_DATA_INBAND) {
		VERR(v, "NVSP type %u in packet type %u", mt, type);
		return;
	}
	switch (mt) {
	case NVSP_MSG_INIT: {
		struct nvsp_init in;
		struct nvsp_init_complete c = { NVSP_MSG_INIT_COMPLETE, 0, 0, NVSP_STAT_FAIL };
		memcpy(&in, p, sizeof(in));
		v->nvsp_inits++;
		if (!rc)
			VERR(v, "INIT without completion requested");
		if (v->nvsp_ver != 0)
			VERR(v, "INIT after version 0x%x was agreed", v->nvsp_ver);
		bool known = false;
		for (size_t i = 0; i < sizeof(vsp_versions) / 4; i++)
			known |= in.min_ver == vsp_versions[i];
		if (!known || in.min_ver != in.max_ver)
			VERR(v, "INIT min 0x%x max 0x%x", in.min_ver, in.max_ver);
		else if (in.max_ver <= v->max_nvsp) {
			v->nvsp_ver = in.max_ver;
			c.status = NVSP_STAT_SUCCESS;
			c.negotiated_ver = in.max_ver;
		}
		vsp_comp(v, tid, &c, sizeof(c));
		return;
	}
	case NVSP_MSG_NDIS_CONFIG: {
		struct nvsp_ndis_config nc;
		memcpy(&nc, p, sizeof(nc));
		if (v->nvsp_ver < NVSP_V2 || v->ndis_config || v->ndis_ver)
			VERR(v, "NDIS_CONFIG out of order (NVSP 0x%x)", v->nvsp_ver);
		if (nc.mtu < 576 + 14 || nc.mtu > 9000 + 14 || nc.reserved != 0)
			VERR(v, "NDIS_CONFIG mtu %u reserved %u", nc.mtu, nc.reserved);
		v->ndis_config = true;
		return;
	}
	case NVSP_MSG_NDIS_VER: {
		struct nvsp_ndis_ver nv;
		memcpy(&nv, p, sizeof(nv));
		uint32_t want = v->nvsp_ver <= NVSP_V4 ? 1 : 30;
		if (v->nvsp_ver == 0 || (v->nvsp_ver >= NVSP_V2 && !v->ndis_config) ||
		    nv.major != 6 || nv.minor != want)
			VERR(v, "NDIS_VER %u.%u with NVSP 0x%x", nv.major, nv.minor,
			    v->nvsp_ver);
		v->ndis_ver = true;
		return;
	}
	case NVSP_MSG_RECV_BUF: {
		struct nvsp_buf b;
		memcpy(&b, p, sizeof(b));
		uint8_t out[NVSP_MSG_SIZE];
		struct nvsp_recv_buf_complete c = { NVSP_MSG_RECV_BUF_COMPLETE,
		    NVSP_STAT_FAIL, 0, { { 0, 0, 0, 0 } } };
		if (!v->ndis_ver || v->rxbuf || b.id != NVSP_RECV_BUF_ID || !rc)
			VERR(v, "RECV_BUF id 0x%x out of order or repeated", b.id);
		/* The whole GPADL must be there and readable. */
		uint8_t *first = hv_sim_gpadl_va(v->s, b.gpadl, v->relid, 0, 4096);
		uint32_t size = 0;
		for (int i = 0; i < SIM_MAX_GPADLS; i++)
			if (v->s->gp[i].used && v->s->gp[i].handle == b.gpadl)
				size = v->s->gp[i].npfn * 4096;
		if (first != NULL && size >= 64 * 1024 && size <= 16u << 20) {
			v->rxbuf = true;
			v->rx_gpadl = b.gpadl;
			v->nsub = size / v->sub_alloc;
			if (v->nsub > sizeof(v->sub_used))
				v->nsub = sizeof(v->sub_used);
			c.status = NVSP_STAT_SUCCESS;
			c.num_sections = v->f_recv_buf_sections ? v->f_recv_buf_sections : 1;
			c.sec[0].offset = 0;
			c.sec[0].sub_alloc_size = v->sub_alloc;
			c.sec[0].num_sub_allocs = v->nsub;
			c.sec[0].end_offset = v->nsub * v->sub_alloc;
		} else {
			VERR(v, "RECV_BUF GPADL 0x%x (%u bytes) unusable", b.gpadl, size);
		}
		memset(out, 0, sizeof(out));
		memcpy(out, &c, sizeof(c));
		vsp_comp(v, tid, out, sizeof(out));
		return;
	}
	case NVSP_MSG_SEND_BUF: {
		struct nvsp_buf b;
		memcpy(&b, p, sizeof(b));
		struct nvsp_send_buf_complete c = { NVSP_MSG_SEND_BUF_COMPLETE,
		    NVSP_STAT_FAIL, 0 };
		if (!v->rxbuf || v->txbuf || !rc)
			VERR(v, "SEND_BUF out of order or repeated");
		uint32_t size = 0;
		for (int i = 0; i < SIM_MAX_GPADLS; i++)
			if (v->s->gp[i].used && v->s->gp[i].handle == b.gpadl &&
			    v->s->gp[i].created && v->s->gp[i].relid == v->relid)
				size = v->s->gp[i].npfn * 4096;
		if (size >= v->sec_size) {
			v->txbuf = true;
			v->tx_gpadl = b.gpadl;
			v->nsec = size / v->sec_size;
			c.status = NVSP_STAT_SUCCESS;
			c.section_size = v->sec_size;
		} else {
			VERR(v, "SEND_BUF GPADL 0x%x (%u bytes) unusable", b.gpadl, size);
		}
		vsp_comp(v, tid, &c, sizeof(c));
		return;
	}
	case NVSP_MSG_REVOKE_RECV_BUF:
	case NVSP_MSG_REVOKE_SEND_BUF: {
		struct nvsp_revoke r;
		memcpy(&r, p, sizeof(r));
		bool recv = mt == NVSP_MSG_REVOKE_RECV_BUF;
		if (recv ? (!v->rxbuf || r.id != NVSP_RECV_BUF_ID) :
		    (!v->txbuf || r.id != NVSP_SEND_BUF_ID))
			VERR(v, "REVOKE_%s_BUF id 0x%x", recv ? "RECV" : "SEND", r.id);
		if (recv)
			v->rx_revoked = true;
		else
			v->tx_revoked = true;
		return;
	}
	case NVSP_MSG_SUBCHANNEL: {
		struct { uint32_t type, op, num; } q;
		struct { uint32_t type, status, num; } c = { NVSP_MSG_SUBCHANNEL,
		    NVSP_STAT_SUCCESS, 0 };
		memcpy(&q, p, sizeof(q));
		if (!rc || v->nvsp_ver < NVSP_V5 || !v->rndis_up || q.op != 1 ||
		    q.num == 0 || v->nsubch != 0)
			VERR(v, "SUBCHANNEL op %u num %u (NVSP 0x%x, %u offered)",
			    q.op, q.num, v->nvsp_ver, v->nsubch);
		c.num = q.num < v->max_sub ? q.num : v->max_sub;
		if (c.num > 4)
			c.num = 4;
		vsp_comp(v, tid, &c, sizeof(c));
		/* Then the offers: same instance, sub_channel_index 1..n. */
		for (uint32_t i = 0; i < c.num; i++) {
			v->sub_relid[i] = v->relid + 10 + i;
			if (hv_sim_offer_sub(v->s, hv_sim_guid_netvsc, 1,
			    v->sub_relid[i], 0x50 + i, (uint16_t)(i + 1)) == NULL)
				VERR(v, "no room for sub-channel %u", i + 1);
		}
		v->nsubch = c.num;
		return;
	}
	case NVSP_MSG_RNDIS_PKT: {
		struct nvsp_rndis_pkt np;
		memcpy(&np, p, sizeof(np));
		vsp_rndis_pkt(v, type, flags, tid, &np, ext, extlen);
		return;
	}
	default:
		VERR(v, "NVSP message type %u unknown", mt);
	}
}

static int vsp_drain_chan(struct netvsc_vsp *v, struct sim_chan *c, int max);

void
netvsc_vsp_drain(struct netvsc_vsp *v)
{
	vsp_drain_chan(v, hv_sim_chan(v->s, v->relid), 100000);
	for (uint32_t i = 0; i < v->nsubch; i++)
		vsp_drain_chan(v, hv_sim_chan(v->s, v->sub_relid[i]), 100000);
}

int
netvsc_vsp_drain_some(struct netvsc_vsp *v, int max)
{
	return vsp_drain_chan(v, hv_sim_chan(v->s, v->relid), max);
}

/* Take at most max packets the guest sent on c; returns how many. */
static int
vsp_drain_chan(struct netvsc_vsp *v, struct sim_chan *c, int max)
{
	uint8_t buf[256], ext[8 + 16 * 64];
	size_t extlen;
	uint16_t type, flags;
	uint64_t tid;

	int got = 0;
	if (c == NULL || !c->open)
		return 0;
	struct sim_chan *was = v->cur;
	v->cur = c;
	for (; got < max; got++) {
		int n = hv_sim_chan_recv_ext(v->s, c, buf, sizeof(buf), ext,
		    sizeof(ext), &extlen, &type, &tid, &flags);
		if (n < 0)
			break;
		if (extlen > sizeof(ext)) {
			VERR(v, "type-specific header of %zu bytes", extlen);
			continue;
		}
		vsp_nvsp(v, type, flags, tid, buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf),
		    ext, extlen);
	}
	v->cur = was;
	return got;
}

static void
vsp_hook(struct hv_sim *s, struct sim_chan *c, void *ctx)
{
	struct netvsc_vsp *v = ctx;
	bool ours = c->relid == v->relid;
	for (uint32_t i = 0; i < v->nsubch; i++)
		ours |= c->relid == v->sub_relid[i];
	if (ours && v->f_no_drain)
		return;
	if (ours)
		vsp_drain_chan(v, c, 100000);
	else if (v->next_hook != NULL)
		v->next_hook(s, c, v->next_ctx);
}

void
netvsc_vsp_reoffered(struct netvsc_vsp *v)
{
	v->nvsp_ver = 0;
	v->ndis_config = v->ndis_ver = false;
	v->rxbuf = v->txbuf = v->rx_revoked = v->tx_revoked = false;
	v->rndis_up = v->offload_on = false;
	v->filter = 0;
	memset(v->sub_used, 0, sizeof(v->sub_used));
	memset(v->xfer, 0, sizeof(v->xfer));
	v->xfer_out = 0;
	v->nheld = 0;
	v->nsubch = 0;
	v->cur = NULL;
	v->rx_q = 0;
	v->rss_on = false;
	v->rss_ntab = 0;
}

void
netvsc_vsp_init(struct netvsc_vsp *v, struct hv_sim *s, uint32_t relid)
{
	memset(v, 0, sizeof(*v));
	v->s = s;
	v->relid = relid;
	v->max_nvsp = NVSP_V61;
	static const uint8_t mac[6] = { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 };
	memcpy(v->mac, mac, 6);
	v->mtu = 1500;
	v->link_up = true;
	v->sub_alloc = 1728;
	v->sec_size = 6144;
	v->next_hook = s->hook;
	v->next_ctx = s->hook_ctx;
	s->hook = vsp_hook;
	s->hook_ctx = v;
}

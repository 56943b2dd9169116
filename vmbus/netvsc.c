/*
 * netvsc.c - the Hyper-V synthetic NIC, control path (PROTOCOLS.md B.11
 * NVSP, B.12 RNDIS): attach and detach of a netvsc channel found by its
 * class GUID (B.14) on the VMBus.
 *
 * Attach is a straight line: open the channel; NVSP INIT from 6.1 down
 * to 1 (newest first, min = max = the candidate); NDIS config (v2+) and
 * NDIS version; the receive buffer (NETVSC_RXBUF_BYTES, one GPADL, id
 * 0xCAFE, exactly one section at offset 0 required) and the send buffer
 * (one GPADL, sections of the host's size); RNDIS INITIALIZE; query the
 * permanent MAC, the maximum frame size and the media state; offload
 * parameters for IPv4 TCP/UDP checksums (a refusal only turns the
 * offloads off); packet filter 0xB.  Then the NIC is registered and the
 * marker `TERN NIC name=hn0 driver=netvsc mac=... mtu=... queues=1`
 * printed.  Every reply is awaited at most NETVSC_WAIT_NS and the log
 * names the message that did not come.  Each failure undoes the steps
 * before it; detach reuses the same undo steps.
 *
 * Replies: NVSP requests get a COMP packet carrying the reply (matched by
 * transaction id); RNDIS completions come through the receive buffer
 * like frames (matched by request id, netvsc_datapath.c copies them into
 * sc->rndis_resp).  vRSS: with NVSP 5 and later up to three sub-channels
 * are asked for and opened, one NIC queue each (netvsc_subchannels); with
 * more than one queue the receive-scale parameters (OID 0x00010204) are
 * then set: Toeplitz over IPv4 and IPv4+TCP with the well-known 40-byte
 * key and a 128-entry indirection table spreading over the open channels
 * (netvsc_rss_set).  The layout facts beyond PROTOCOLS.md come from
 * Linux's hyperv_net.h (see netvsc_reg.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "vmbus/netvsc.h"
#include "vmbus/netvsc_var.h"
#include "vmbus/vmbus_reg.h"

static const uint32_t netvsc_versions[] = {
	NVSP_V61, NVSP_V6, NVSP_V5, NVSP_V4, NVSP_V2, NVSP_V1,
};

/* Poll the channel until *done or the deadline; names `what` on timeout. */
static int
netvsc_wait(struct netvsc_softc *sc, const bool *done, const char *what)
{
	uint64_t end = hw_now_ns(sc->hw) + NETVSC_WAIT_NS;

	for (;;) {
		netvsc_process(sc, 0, 64);
		if (*done)
			return TERN_OK;
		if (sc->dead)
			return TERN_EPROTO;
		if (hw_now_ns(sc->hw) >= end) {
			log_warn(sc->hw->name, "no %s after %llu ms", what,
			    (unsigned long long)(NETVSC_WAIT_NS / 1000000));
			return TERN_ETIMEDOUT;
		}
		hw_delay_us(sc->hw, 1000);
	}
}

/* One NVSP message (padded to 40 bytes), inband.  With `resp` the host
   MUST answer with a COMP carrying at least resp_len bytes. */
static int
netvsc_nvsp(struct netvsc_softc *sc, const void *msg, size_t len,
    void *resp, size_t resp_len, const char *what)
{
	uint8_t m[NVSP_MSG_SIZE];
	int rc;

	memset(m, 0, sizeof(m));
	memcpy(m, msg, len);
	if (resp == NULL)
		return vmbus_chan_send(sc->ch, VMBUS_PKT_DATA_INBAND, 0, 0, NULL,
		    0, m, sizeof(m));
	sc->nvsp_tid = NETVSC_TID_NVSP | ++sc->seq;
	sc->nvsp_done = false;
	rc = vmbus_chan_send(sc->ch, VMBUS_PKT_DATA_INBAND,
	    VMBUS_PKT_FLAG_COMPLETION, sc->nvsp_tid, NULL, 0, m, sizeof(m));
	if (rc == TERN_OK)
		rc = netvsc_wait(sc, &sc->nvsp_done, what);
	sc->nvsp_tid = 0;
	if (rc != TERN_OK)
		return rc;
	memcpy(resp, sc->nvsp_resp, resp_len);
	return TERN_OK;
}

/*
 * One RNDIS control request from the control page (one GPA-direct page
 * buffer, never crossing a page, B.12).  Waits for both the NVSP
 * completion of the send and the RNDIS completion with our rid; the
 * completion (at most NETVSC_CTL_MAX bytes) is left in sc->rndis_resp.
 */
static int
netvsc_rndis(struct netvsc_softc *sc, uint32_t len, const char *what)
{
	struct nvsp_rndis_pkt np = { NVSP_MSG_RNDIS_PKT, NVSP_CHAN_CONTROL,
	    NVSP_NO_SECTION, 0 };
	struct {
		struct vmbus_gpa_hdr h;
		struct vmbus_pagebuf pb;
	} ext;
	uint8_t m[NVSP_MSG_SIZE];
	int rc;

	ext.h.reserved = 0;
	ext.h.rangecount = 1;
	ext.pb.len = len;
	ext.pb.offset = (uint32_t)(sc->ctl.pa & 4095);
	ext.pb.pfn = sc->ctl.pa >> 12;
	memset(m, 0, sizeof(m));
	memcpy(m, &np, sizeof(np));
	sc->rndis_tid = NETVSC_TID_RNDIS | ++sc->seq;
	sc->rndis_done = sc->rndis_sent = false;
	hw_dma_sync_dev(sc->hw, sc->ctl.va, len);
	rc = vmbus_chan_send(sc->ch, VMBUS_PKT_DATA_GPA_DIRECT,
	    VMBUS_PKT_FLAG_COMPLETION, sc->rndis_tid, &ext, sizeof(ext), m,
	    sizeof(m));
	if (rc == TERN_OK)
		rc = netvsc_wait(sc, &sc->rndis_done, what);
	if (rc == TERN_OK)
		rc = netvsc_wait(sc, &sc->rndis_sent, "SEND_RNDIS_PKT_COMPLETE");
	sc->rndis_rid = 0;
	sc->rndis_tid = 0;
	return rc;
}

static uint32_t
netvsc_rid(struct netvsc_softc *sc)
{
	if (++sc->next_rid == 0)
		sc->next_rid = 1;
	sc->rndis_rid = sc->next_rid;
	return sc->next_rid;
}

/* QUERY an OID; *out gets at most cap bytes, *got how many came. */
static int
netvsc_query(struct netvsc_softc *sc, uint32_t oid, void *out, uint32_t cap,
    uint32_t *got, const char *what)
{
	struct rndis_oid_req *q = sc->ctl.va;
	memset(q, 0, sizeof(*q));
	q->type = RNDIS_MSG_QUERY;
	q->len = sizeof(*q);
	q->rid = netvsc_rid(sc);
	q->oid = oid;
	q->info_off = RNDIS_INFO_OFF;
	int rc = netvsc_rndis(sc, sizeof(*q), what);
	if (rc != TERN_OK)
		return rc;
	const struct rndis_query_cmplt *c = (const void *)sc->rndis_resp;
	if (sc->rndis_len < sizeof(*c) || c->type != (RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION)) {
		sc->st.ctl_bad++;
		return TERN_EPROTO;
	}
	if (c->status != RNDIS_STATUS_SUCCESS) {
		log_warn(sc->hw->name, "%s: RNDIS status 0x%x", what, c->status);
		return TERN_EIO;
	}
	/* The info buffer must lie inside what we kept of the message. */
	uint64_t start = (uint64_t)RNDIS_OFF_BASE + c->info_off;
	if (c->info_off < sizeof(*c) - RNDIS_OFF_BASE ||
	    start + c->info_len > sc->rndis_len) {
		sc->st.ctl_bad++;
		log_warn(sc->hw->name, "%s: info buffer %u+%u outside %u bytes",
		    what, c->info_off, c->info_len, sc->rndis_len);
		return TERN_EPROTO;
	}
	uint32_t n = c->info_len < cap ? c->info_len : cap;
	memcpy(out, sc->rndis_resp + start, n);
	*got = c->info_len;
	return TERN_OK;
}

static int
netvsc_set(struct netvsc_softc *sc, uint32_t oid, const void *data,
    uint32_t len, const char *what)
{
	struct rndis_oid_req *q = sc->ctl.va;
	memset(q, 0, sizeof(*q));
	q->type = RNDIS_MSG_SET;
	q->len = (uint32_t)sizeof(*q) + len;
	q->rid = netvsc_rid(sc);
	q->oid = oid;
	q->info_len = len;
	q->info_off = RNDIS_INFO_OFF;
	memcpy((uint8_t *)sc->ctl.va + sizeof(*q), data, len);
	int rc = netvsc_rndis(sc, q->len, what);
	if (rc != TERN_OK)
		return rc;
	const struct rndis_set_cmplt *c = (const void *)sc->rndis_resp;
	if (sc->rndis_len < sizeof(*c) || c->type != (RNDIS_MSG_SET | RNDIS_MSG_COMPLETION)) {
		sc->st.ctl_bad++;
		return TERN_EPROTO;
	}
	if (c->status != RNDIS_STATUS_SUCCESS) {
		log_warn(sc->hw->name, "%s: RNDIS status 0x%x", what, c->status);
		return TERN_EIO;
	}
	return TERN_OK;
}

static int
netvsc_nvsp_init(struct netvsc_softc *sc)
{
	for (size_t i = 0; i < sizeof(netvsc_versions) / sizeof(netvsc_versions[0]); i++) {
		struct nvsp_init in = { NVSP_MSG_INIT, netvsc_versions[i],
		    netvsc_versions[i] };
		struct nvsp_init_complete r;
		int rc = netvsc_nvsp(sc, &in, sizeof(in), &r, sizeof(r),
		    "NVSP INIT_COMPLETE");
		if (rc != TERN_OK)
			return rc;
		if (r.type != NVSP_MSG_INIT_COMPLETE) {
			sc->st.ctl_bad++;
			log_warn(sc->hw->name, "NVSP INIT answered with type %u", r.type);
			return TERN_EPROTO;
		}
		if (r.status == NVSP_STAT_SUCCESS) {
			sc->nvsp_ver = netvsc_versions[i];
			return TERN_OK;
		}
		log_info(sc->hw->name, "NVSP version 0x%x refused (status %u)",
		    netvsc_versions[i], r.status);
	}
	log_warn(sc->hw->name, "no NVSP version accepted");
	return TERN_ENOTSUP;
}

static int
netvsc_ndis_setup(struct netvsc_softc *sc)
{
	int rc;
	if (sc->nvsp_ver >= NVSP_V2) {
		struct nvsp_ndis_config c = { NVSP_MSG_NDIS_CONFIG, 1500 + 14, 0,
		    (uint32_t)NVSP_NDIS_CAP_8021Q, 0 };
		if ((rc = netvsc_nvsp(sc, &c, sizeof(c), NULL, 0, NULL)) != TERN_OK)
			return rc;
	}
	sc->ndis_ver = sc->nvsp_ver <= NVSP_V4 ? 0x00060001u : 0x0006001eu;
	struct nvsp_ndis_ver v = { NVSP_MSG_NDIS_VER, sc->ndis_ver >> 16,
	    sc->ndis_ver & 0xffff };
	return netvsc_nvsp(sc, &v, sizeof(v), NULL, 0, NULL);
}

static int
netvsc_rxbuf_setup(struct netvsc_softc *sc)
{
	int rc = vmbus_gpadl_create(sc->ch, &sc->rx->buf, &sc->rx_gpadl);
	if (rc == TERN_EBUSY)
		sc->rx->keep_buf = true;	/* the host may map it: never free */
	if (rc != TERN_OK)
		return rc;
	sc->rx_gpadl_ok = true;
	struct nvsp_buf m = { NVSP_MSG_RECV_BUF, sc->rx_gpadl, NVSP_RECV_BUF_ID, 0 };
	struct nvsp_recv_buf_complete r;
	if ((rc = netvsc_nvsp(sc, &m, sizeof(m), &r, sizeof(r),
	    "NVSP SEND_RECV_BUF_COMPLETE")) != TERN_OK)
		return rc;
	if (r.type != NVSP_MSG_RECV_BUF_COMPLETE || r.status != NVSP_STAT_SUCCESS ||
	    r.num_sections != 1 || r.sec[0].offset != 0 ||
	    r.sec[0].end_offset > sc->rx->buf.len) {
		sc->st.ctl_bad++;
		log_warn(sc->hw->name, "receive buffer refused: type %u status %u sections %u offset %u end %u",
		    r.type, r.status, r.num_sections, r.sec[0].offset,
		    r.sec[0].end_offset);
		return TERN_EIO;
	}
	return TERN_OK;
}

static int
netvsc_txbuf_setup(struct netvsc_softc *sc)
{
	int rc = vmbus_gpadl_create(sc->ch, &sc->txbuf, &sc->tx_gpadl);
	if (rc == TERN_EBUSY) {
		memset(&sc->txbuf, 0, sizeof(sc->txbuf));	/* leaked on purpose */
		log_warn(sc->hw->name, "send buffer GPADL state unknown; leaked on purpose");
	}
	if (rc != TERN_OK)
		return rc;
	sc->tx_gpadl_ok = true;
	struct nvsp_buf m = { NVSP_MSG_SEND_BUF, sc->tx_gpadl, NVSP_SEND_BUF_ID, 0 };
	struct nvsp_send_buf_complete r;
	if ((rc = netvsc_nvsp(sc, &m, sizeof(m), &r, sizeof(r),
	    "NVSP SEND_SEND_BUF_COMPLETE")) != TERN_OK)
		return rc;
	/* A section must hold an RNDIS header and a copied frame. */
	if (r.type != NVSP_MSG_SEND_BUF_COMPLETE || r.status != NVSP_STAT_SUCCESS ||
	    r.section_size < 1024 || r.section_size > sc->txbuf.len) {
		sc->st.ctl_bad++;
		log_warn(sc->hw->name, "send buffer refused: type %u status %u section %u",
		    r.type, r.status, r.section_size);
		return TERN_EIO;
	}
	sc->sec_size = r.section_size;
	sc->nsec = (uint32_t)(sc->txbuf.len / r.section_size);
	if (sc->nsec > NETVSC_TX_MAX_SECTIONS)
		sc->nsec = NETVSC_TX_MAX_SECTIONS;
	sc->nsec_free = 0;
	for (uint32_t i = sc->nsec; i > 0; i--)
		sc->sec_free[sc->nsec_free++] = i - 1;
	return TERN_OK;
}

static int
netvsc_rndis_init(struct netvsc_softc *sc)
{
	struct rndis_init_req *q = sc->ctl.va;
	memset(q, 0, sizeof(*q));
	q->type = RNDIS_MSG_INIT;
	q->len = sizeof(*q);
	q->rid = netvsc_rid(sc);
	q->major = 1;
	q->minor = 0;
	q->max_xfer = RNDIS_MAX_XFER;
	int rc = netvsc_rndis(sc, sizeof(*q), "RNDIS INITIALIZE completion");
	if (rc != TERN_OK)
		return rc;
	const struct rndis_init_cmplt *c = (const void *)sc->rndis_resp;
	if (sc->rndis_len < sizeof(*c) ||
	    c->type != (RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION)) {
		sc->st.ctl_bad++;
		return TERN_EPROTO;
	}
	if (c->status != RNDIS_STATUS_SUCCESS || c->medium != 0) {
		log_warn(sc->hw->name, "RNDIS INITIALIZE refused: status 0x%x medium %u",
		    c->status, c->medium);
		return TERN_EIO;
	}
	return TERN_OK;
}

/* MAC, MTU, link, offloads, filter. */
static int
netvsc_rndis_config(struct netvsc_softc *sc)
{
	uint8_t mac[6];
	uint32_t v, got;
	int rc;

	if ((rc = netvsc_query(sc, RNDIS_OID_PERM_ADDR, mac, sizeof(mac), &got,
	    "RNDIS QUERY PERMANENT_ADDRESS")) != TERN_OK)
		return rc;
	if (got != 6 || (mac[0] & 1)) {
		log_warn(sc->hw->name, "bad MAC from the host (%u bytes, first 0x%02x)",
		    got, mac[0]);
		return TERN_EPROTO;
	}
	memcpy(sc->nic.mac, mac, 6);
	sc->nic.mtu = 1500;
	if (netvsc_query(sc, RNDIS_OID_MAX_FRAME, &v, 4, &got,
	    "RNDIS QUERY MAXIMUM_FRAME_SIZE") == TERN_OK && got == 4) {
		/* The frame size excludes the Ethernet header on NDIS. */
		if (v >= 576 && v <= 9000)
			sc->nic.mtu = (uint16_t)v;
		else
			log_warn(sc->hw->name, "maximum frame size %u ignored", v);
	}
	if ((rc = netvsc_query(sc, RNDIS_OID_MEDIA_STATUS, &v, 4, &got,
	    "RNDIS QUERY MEDIA_CONNECT_STATUS")) != TERN_OK)
		return rc;
	sc->nic.link_up = got == 4 && v == RNDIS_MEDIA_CONNECTED;

	struct ndis_offload_params op;
	memset(&op, 0, sizeof(op));
	op.obj_type = NDIS_OBJ_OFFLOAD_PARAMS;
	op.obj_rev = NDIS_OFFLOAD_PARAMS_REV2;
	op.obj_size = sizeof(op);
	op.tcp4_csum = op.udp4_csum = NDIS_OFFLOAD_TX_RX;
	rc = netvsc_set(sc, RNDIS_OID_OFFLOAD_PARAMS, &op, sizeof(op),
	    "RNDIS SET OFFLOAD_PARAMETERS");
	if (rc == TERN_OK) {
		sc->rxcsum = sc->txcsum = true;
		sc->nic.offloads = NIC_OFF_RX_CSUM | NIC_OFF_TX_CSUM;
	} else if (rc == TERN_EIO) {
		log_info(sc->hw->name, "checksum offloads refused; done in software");
	} else {
		return rc;
	}
	v = RNDIS_FILTER_START;
	return netvsc_set(sc, RNDIS_OID_PACKET_FILTER, &v, 4,
	    "RNDIS SET CURRENT_PACKET_FILTER");
}

/*
 * vRSS (B.11 step 7, NVSP 5+): ask for NETVSC_MAX_QUEUES - 1 sub-channels,
 * wait for the offers the host says it allocated, open each: one NIC
 * queue per channel.  Anything short of that is logged and leaves fewer
 * queues (at least the primary), never a failed attach.
 */
static void
netvsc_subchannels(struct netvsc_softc *sc)
{
	struct vmbus_chan *sub[NETVSC_MAX_QUEUES - 1];
	struct { uint32_t type, op, num; } m = { NVSP_MSG_SUBCHANNEL, 1,
	    NETVSC_MAX_QUEUES - 1 };
	struct { uint32_t type, status, num; } r;

	if (sc->nvsp_ver < NVSP_V5)
		return;
	sc->st.subchan_asked = m.num;
	if (netvsc_nvsp(sc, &m, sizeof(m), &r, sizeof(r),
	    "NVSP SUBCHANNEL completion") != TERN_OK)
		return;
	if (r.type != NVSP_MSG_SUBCHANNEL || r.status != NVSP_STAT_SUCCESS ||
	    r.num > m.num) {
		log_info(sc->hw->name, "sub-channels refused: type %u status %u count %u",
		    r.type, r.status, r.num);
		return;
	}
	if (r.num == 0)
		return;
	int got = vmbus_subchan_wait(sc->ch, (int)r.num);
	got = vmbus_subchan_list(sc->ch, sub, got < (int)r.num ? got : (int)r.num);
	for (int i = 0; i < got && sc->nq < NETVSC_MAX_QUEUES; i++) {
		/* Sub-channels share the primary's buffers (B.11). */
		if (vmbus_chan_open(sub[i], NETVSC_RING_BYTES, NETVSC_RING_BYTES,
		    NULL, 0, NULL, NULL) != TERN_OK) {
			log_warn(sc->hw->name, "sub-channel %u would not open",
			    vmbus_chan_relid(sub[i]));
			continue;
		}
		sc->q[sc->nq].ch = sub[i];
		sc->q[sc->nq].dead = false;
		sc->nq++;
	}
	sc->st.subchan_got = sc->nq - 1u;
	sc->nic.nqueues = sc->nq;
}

/*
 * The key the driver sets: the well-known Toeplitz key of Microsoft's RSS
 * documentation (also Linux's netvsc default), a fixed documented default
 * rather than a random one, so traces and tests are reproducible.  The
 * cost: a peer that knows the key can choose ports that all land on one
 * queue; that only moves load, every queue is polled.
 */
const uint8_t netvsc_rss_key_default[NDIS_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/*
 * vRSS receive side: SET OID_GEN_RECEIVE_SCALE_PARAMETERS with the hash
 * (Toeplitz over IPv4 and IPv4+TCP), the key and an indirection table
 * whose entry i names channel i mod nq.  The host then delivers each
 * flow's transfer packets on the channel its hash picks.  A refusal (or
 * no answer) is logged and leaves the host's default: receive on the
 * primary, every queue still usable for transmit.  Never fails attach.
 */
struct netvsc_rss_msg {			/* the SET's information buffer */
	struct ndis_rss_params p;
	uint32_t itab[NDIS_RSS_ITAB_LEN];
	uint8_t key[NDIS_RSS_KEY_LEN];
};
_Static_assert(sizeof(struct netvsc_rss_msg) ==
    40 + 4 * NDIS_RSS_ITAB_LEN + NDIS_RSS_KEY_LEN, "RSS SET body, no padding");

static void
netvsc_rss_set(struct netvsc_softc *sc)
{
	struct netvsc_rss_msg m;

	sc->rss = false;
	if (sc->nq < 2)
		return;
	memset(&m, 0, sizeof(m));
	m.p.obj_type = NDIS_OBJ_RSS_PARAMS;
	m.p.obj_rev = NDIS_RSS_PARAMS_REV2;
	m.p.obj_size = sizeof(m.p);
	m.p.flags = 0;
	m.p.hash_info = NDIS_HASH_FUNC_TOEPLITZ | NDIS_HASH_IPV4 |
	    NDIS_HASH_TCP_IPV4;
	m.p.itab_size = sizeof(m.itab);
	m.p.itab_off = offsetof(struct netvsc_rss_msg, itab);
	m.p.key_size = sizeof(m.key);
	m.p.key_off = offsetof(struct netvsc_rss_msg, key);
	for (uint32_t i = 0; i < NDIS_RSS_ITAB_LEN; i++)
		m.itab[i] = i % sc->nq;
	memcpy(m.key, netvsc_rss_key_default, sizeof(m.key));
	int rc = netvsc_set(sc, RNDIS_OID_RSS_PARAMS, &m, sizeof(m),
	    "RNDIS SET RECEIVE_SCALE_PARAMETERS");
	if (rc != TERN_OK) {
		sc->st.rss_refused++;
		log_warn(sc->hw->name, "receive-scale parameters not set (%s): receive stays on queue 0, %u queues transmit",
		    err_str(rc), sc->nq);
		return;
	}
	sc->rss = true;
	sc->st.rss_set++;
	log_info(sc->hw->name, "vRSS: Toeplitz IPv4/TCP over %u channels", sc->nq);
}

/* A bad send table: counted; the first few logged as warnings, the rest
   at debug level (a hostile host must not flood the log). */
static void
netvsc_sendtab_bad(struct netvsc_softc *sc, const char *what, uint32_t a,
    uint32_t b)
{
	if (++sc->st.sendtab_bad <= 8)
		log_warn(sc->hw->name, "send table ignored: %s %u %u (%u queues)",
		    what, a, b, sc->nq);
	else
		log_debug(sc->hw->name, "send table ignored: %s %u %u", what, a, b);
}

/*
 * NVSP SEND_INDIRECTION_TABLE from the host (format: netvsc_reg.h, from
 * Linux): 16 channel numbers.  Checked against the message (count 16,
 * offset 4-aligned past the header, table inside the message) and the
 * channels open (every entry < nq); a bad one is counted, logged and
 * ignored, the last good one kept.  It is not used to steer transmit:
 * the stack picks a frame's queue by its own flow hash (one flow, one
 * queue), and the host accepts any frame on any of the device's
 * channels.  The table is kept for diagnostics (sc->send_tab, stats).
 */
void
netvsc_send_table(struct netvsc_softc *sc, const uint8_t *m, uint32_t len)
{
	struct nvsp_send_indir_tab h;
	uint32_t tab[NVSP_SEND_TAB_LEN];

	if (len < sizeof(h)) {
		netvsc_sendtab_bad(sc, "short message", 0, len);
		return;
	}
	memcpy(&h, m, sizeof(h));
	uint32_t off = h.offset;
	/* NVSP <= 6.0 hosts may send a wrong offset; the table then follows
	   the 40-byte message (a fact from Linux, netvsc_reg.h). */
	if (sc->nvsp_ver <= NVSP_V6 &&
	    len >= NVSP_SEND_TAB_OFF_V6 + sizeof(tab))
		off = NVSP_SEND_TAB_OFF_V6;
	if (h.count != NVSP_SEND_TAB_LEN || off < sizeof(h) || (off & 3) != 0 ||
	    off > len || len - off < sizeof(tab)) {
		netvsc_sendtab_bad(sc, "count/offset", h.count, h.offset);
		return;
	}
	memcpy(tab, m + off, sizeof(tab));
	for (uint32_t i = 0; i < NVSP_SEND_TAB_LEN; i++)
		if (tab[i] >= sc->nq) {
			netvsc_sendtab_bad(sc, "entry/channel", i, tab[i]);
			return;
		}
	memcpy(sc->send_tab, tab, sizeof(tab));
	sc->send_tab_ok = true;
	sc->st.sendtab_ok++;
}

/* Undo steps shared by the attach labels and detach. */
static void
netvsc_buffers_put(struct netvsc_softc *sc)
{
	/* Tell the VSP first (no reply), so it stops using the buffers. */
	if (sc->rx_gpadl_ok && !sc->dead) {
		struct nvsp_revoke r = { NVSP_MSG_REVOKE_RECV_BUF, NVSP_RECV_BUF_ID, 0 };
		netvsc_nvsp(sc, &r, sizeof(r), NULL, 0, NULL);
	}
	if (sc->tx_gpadl_ok && !sc->dead) {
		struct nvsp_revoke r = { NVSP_MSG_REVOKE_SEND_BUF, NVSP_SEND_BUF_ID, 0 };
		netvsc_nvsp(sc, &r, sizeof(r), NULL, 0, NULL);
	}
	/* B.9: the channels close before the GPADLs go; sub-channels
	   first. */
	for (uint16_t i = sc->nq; i > 1; i--) {
		vmbus_chan_close(sc->q[i - 1].ch);
		sc->q[i - 1].dead = true;
	}
	sc->nq = 1;
	vmbus_chan_close(sc->ch);
	if (sc->tx_gpadl_ok && vmbus_gpadl_teardown(sc->ch, sc->tx_gpadl) != TERN_OK) {
		log_warn(sc->hw->name, "send buffer GPADL not torn down; leaked on purpose");
		memset(&sc->txbuf, 0, sizeof(sc->txbuf));
	}
	sc->tx_gpadl_ok = false;
	if (sc->rx_gpadl_ok && vmbus_gpadl_teardown(sc->ch, sc->rx_gpadl) != TERN_OK) {
		log_warn(sc->hw->name, "receive buffer GPADL not torn down; leaked on purpose");
		sc->rx->keep_buf = true;
	}
	sc->rx_gpadl_ok = false;
	netvsc_tx_drain(sc);
	if (sc->txbuf.va != NULL)
		hw_dma_free(sc->hw, &sc->txbuf);
	netvsc_rx_pool_put(sc);
}

static void
netvsc_marker(struct netvsc_softc *sc)
{
	const uint8_t *m = sc->nic.mac;
	marker("NIC name=%s driver=netvsc mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u queues=%u link=%s",
	    sc->nic.name, m[0], m[1], m[2], m[3], m[4], m[5], sc->nic.mtu,
	    sc->nic.nqueues, sc->nic.link_up ? "up" : "down");
}

static int
netvsc_attach(struct device *dev, void *softc)
{
	struct netvsc_softc *sc = softc;
	int rc;

	sc->ch = vmbus_chan_of(dev);
	if (sc->ch == NULL)
		return TERN_ENODEV;
	sc->hw = vmbus_chan_hw(sc->ch);
	sc->q[0].ch = sc->ch;
	sc->nq = 1;
	ksnprintf(sc->nic.name, sizeof(sc->nic.name), "hn0");
	sc->nic.ops = &netvsc_nic_ops;
	sc->nic.sc = sc;
	sc->nic.nqueues = 1;
	sc->nic.tx_wakes = true;	/* netvsc_tx_wake calls tx_ready */
	nic_queues_init(&sc->nic);
	if (hw_dma_alloc(sc->hw, 4096 + NETVSC_TX_SLOTS * NETVSC_TX_HDR_SLOT,
	    4096, &sc->ctl) != 0) {
		rc = TERN_ENOMEM;
		goto fail;
	}
	if (hw_dma_alloc(sc->hw, NETVSC_TXBUF_BYTES, 4096, &sc->txbuf) != 0) {
		rc = TERN_ENOMEM;
		goto fail_ctl;
	}
	if ((rc = netvsc_rx_pool_init(sc)) != TERN_OK)
		goto fail_txbuf;
	netvsc_tx_init(sc);
	if ((rc = vmbus_chan_open(sc->ch, NETVSC_RING_BYTES, NETVSC_RING_BYTES,
	    NULL, 0, NULL, NULL)) != TERN_OK)
		goto fail_pool;
	if ((rc = netvsc_nvsp_init(sc)) != TERN_OK ||
	    (rc = netvsc_ndis_setup(sc)) != TERN_OK ||
	    (rc = netvsc_rxbuf_setup(sc)) != TERN_OK ||
	    (rc = netvsc_txbuf_setup(sc)) != TERN_OK ||
	    (rc = netvsc_rndis_init(sc)) != TERN_OK ||
	    (rc = netvsc_rndis_config(sc)) != TERN_OK)
		goto fail_buffers;
	netvsc_subchannels(sc);
	netvsc_rss_set(sc);
	sc->running = true;
	if ((rc = nic_register(&sc->nic)) != TERN_OK)
		goto fail_buffers;
	sc->registered = true;
	log_info(sc->hw->name, "NVSP 0x%x NDIS %u.%u, %u send sections of %u bytes",
	    sc->nvsp_ver, sc->ndis_ver >> 16, sc->ndis_ver & 0xffff, sc->nsec,
	    sc->sec_size);
	netvsc_marker(sc);
	return TERN_OK;

fail_buffers:
	sc->running = false;
	netvsc_buffers_put(sc);	/* the pool and send buffer too */
	goto fail_ctl;
fail_pool:
	netvsc_rx_pool_put(sc);
fail_txbuf:
	hw_dma_free(sc->hw, &sc->txbuf);
fail_ctl:
	hw_dma_free(sc->hw, &sc->ctl);
fail:
	log_error("netvsc", "%s: attach failed: %s", sc->hw->name, err_str(rc));
	return rc;
}

static void
netvsc_detach(struct device *dev, void *softc)
{
	struct netvsc_softc *sc = softc;
	(void)dev;

	if (sc->registered)
		nic_unregister(&sc->nic);
	sc->registered = false;
	sc->running = false;
	netvsc_buffers_put(sc);
	hw_dma_free(sc->hw, &sc->ctl);
	log_info(sc->hw->name, "detached: %llu transfer packets, %llu acks, %llu unknown completions",
	    (unsigned long long)sc->st.xfer_pkts, (unsigned long long)sc->st.acks,
	    (unsigned long long)sc->st.comp_unknown);
}

static const struct driver_guid netvsc_ids[] = {
	/* f8615163-df3e-46c5-913f-f2d2f965ed0e (B.14), wire order */
	{ { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	    0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } },
	{ { 0 } },
};

const struct driver netvsc_driver = {
	.name = "netvsc",
	.bus = DRIVER_BUS_VMBUS,
	.vmbus_ids = netvsc_ids,
	.softc_size = sizeof(struct netvsc_softc),
	.attach = netvsc_attach,
	.detach = netvsc_detach,
};

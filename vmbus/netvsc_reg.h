/*
 * netvsc_reg.h - wire layouts of the Hyper-V synthetic NIC: NVSP messages
 * (PROTOCOLS.md B.11), RNDIS messages and per-packet info carried over
 * NVSP (B.12), the transfer-page and GPA-direct packet headers (B.10) and
 * the NDIS offload parameters object (NDIS_OFFLOAD_PARAMETERS, revision
 * 2, field order from the NDIS documentation of ntddndis.h).  Layout only.
 */
#ifndef TERN_NETVSC_REG_H
#define TERN_NETVSC_REG_H

#include <stddef.h>
#include <stdint.h>

/* B.11 versions, probed newest first. */
#define NVSP_V1			0x00000002u
#define NVSP_V2			0x00030002u
#define NVSP_V4			0x00040000u
#define NVSP_V5			0x00050000u
#define NVSP_V6			0x00060000u
#define NVSP_V61		0x00060001u

/* B.11 message types. */
#define NVSP_MSG_INIT			1u
#define NVSP_MSG_INIT_COMPLETE		2u
#define NVSP_MSG_NDIS_VER		100u
#define NVSP_MSG_RECV_BUF		101u
#define NVSP_MSG_RECV_BUF_COMPLETE	102u
#define NVSP_MSG_REVOKE_RECV_BUF	103u
#define NVSP_MSG_SEND_BUF		104u
#define NVSP_MSG_SEND_BUF_COMPLETE	105u
#define NVSP_MSG_REVOKE_SEND_BUF	106u
#define NVSP_MSG_RNDIS_PKT		107u
#define NVSP_MSG_RNDIS_PKT_COMPLETE	108u
#define NVSP_MSG_NDIS_CONFIG		125u
#define NVSP_MSG_SUBCHANNEL		133u
#define NVSP_MSG_SEND_INDIR_TAB		134u	/* host -> guest, Linux (below) */

/* B.11 status values. */
#define NVSP_STAT_SUCCESS	1u
#define NVSP_STAT_FAIL		2u

#define NVSP_MSG_SIZE		40u	/* every request padded to 40 (B.11) */
#define NVSP_RECV_BUF_ID	0xCAFEu	/* receive buffer id, xfer_pageset_id */
#define NVSP_SEND_BUF_ID	0u
#define NVSP_NO_SECTION		0xFFFFFFFFu
#define NVSP_CHAN_DATA		0u
#define NVSP_CHAN_CONTROL	1u
#define NVSP_NDIS_CAP_8021Q	(1ull << 3)

/* Every NVSP message: u32 type and a body, sent padded to 40 bytes. */
struct nvsp_init {			/* INIT (B.11 step 1) */
	uint32_t type, min_ver, max_ver;
};
struct nvsp_init_complete {		/* INIT_COMPLETE */
	uint32_t type, negotiated_ver, max_mdl_chain_len, status;
};
_Static_assert(offsetof(struct nvsp_init_complete, status) == 12, "B.11 INIT_COMPLETE");

struct nvsp_ndis_config {		/* SEND_NDIS_CONFIG (B.11 step 2) */
	uint32_t type, mtu, reserved;
	uint32_t caps_lo, caps_hi;	/* u64 capabilities at 12, 4-aligned */
};
_Static_assert(offsetof(struct nvsp_ndis_config, caps_lo) == 12, "B.11 NDIS_CONFIG");

struct nvsp_ndis_ver {			/* SEND_NDIS_VER (B.11 step 3) */
	uint32_t type, major, minor;
};

struct nvsp_buf {			/* SEND_RECV_BUF / SEND_SEND_BUF */
	uint32_t type, gpadl;
	uint16_t id, pad;
};
_Static_assert(offsetof(struct nvsp_buf, id) == 8, "B.11 SEND_RECV_BUF");

struct nvsp_recv_section {		/* B.11 step 4 */
	uint32_t offset, sub_alloc_size, num_sub_allocs, end_offset;
};
_Static_assert(sizeof(struct nvsp_recv_section) == 16, "B.11 section");

struct nvsp_recv_buf_complete {		/* SEND_RECV_BUF_COMPLETE */
	uint32_t type, status, num_sections;
	struct nvsp_recv_section sec[1];
};
_Static_assert(offsetof(struct nvsp_recv_buf_complete, sec) == 12, "B.11");

struct nvsp_send_buf_complete {		/* SEND_SEND_BUF_COMPLETE */
	uint32_t type, status, section_size;
};

struct nvsp_revoke {			/* REVOKE_RECV_BUF / REVOKE_SEND_BUF */
	uint32_t type;
	uint16_t id, pad;
};

struct nvsp_rndis_pkt {			/* SEND_RNDIS_PKT (B.11) */
	uint32_t type, channel_type, section_index, section_size;
};
_Static_assert(sizeof(struct nvsp_rndis_pkt) == 16, "B.11 SEND_RNDIS_PKT");

struct nvsp_rndis_pkt_complete {	/* SEND_RNDIS_PKT_COMPLETE */
	uint32_t type, status;
};

/* B.10 transfer-page packet header after the 16-byte descriptor. */
struct vmbus_xfer_hdr {
	uint16_t pageset_id;
	uint8_t sender_owns_set, reserved;
	uint32_t range_cnt;
};
struct vmbus_xfer_range {
	uint32_t byte_count, byte_offset;
};
_Static_assert(sizeof(struct vmbus_xfer_hdr) == 8, "B.10 xfer pages");
_Static_assert(sizeof(struct vmbus_xfer_range) == 8, "B.10 xfer range");

/* B.10 GPA direct with page buffers: {u32 reserved; u32 rangecount}
   then one 16-byte range per page. */
struct vmbus_gpa_hdr {
	uint32_t reserved, rangecount;
};
struct vmbus_pagebuf {
	uint32_t len, offset;
	uint64_t pfn;
};
_Static_assert(sizeof(struct vmbus_pagebuf) == 16, "B.10 page buffer");
#define VMBUS_MAX_PAGEBUFS	32	/* Linux's limit per packet (B.10) */

/* ---- B.12 RNDIS -------------------------------------------------------- */

#define RNDIS_MSG_PACKET	1u
#define RNDIS_MSG_INIT		2u
#define RNDIS_MSG_HALT		3u
#define RNDIS_MSG_QUERY		4u
#define RNDIS_MSG_SET		5u
#define RNDIS_MSG_INDICATE	7u
#define RNDIS_MSG_KEEPALIVE	8u
#define RNDIS_MSG_COMPLETION	0x80000000u

#define RNDIS_STATUS_SUCCESS		0u
#define RNDIS_STATUS_MEDIA_CONNECT	0x4001000Bu
#define RNDIS_STATUS_MEDIA_DISCONNECT	0x4001000Cu
#define RNDIS_STATUS_LINK_SPEED_CHANGE	0x40010013u
#define RNDIS_STATUS_NETWORK_CHANGE	0x40010018u
#define RNDIS_STATUS_OFFLOAD_CONFIG	0x40020006u

#define RNDIS_OID_PERM_ADDR		0x01010101u
#define RNDIS_OID_PACKET_FILTER		0x0001010Eu
#define RNDIS_OID_MEDIA_STATUS		0x00010114u
#define RNDIS_OID_MAX_FRAME		0x00010106u
#define RNDIS_OID_OFFLOAD_PARAMS	0xFC01020Cu

#define RNDIS_FILTER_START	0x0Bu	/* DIRECTED|MULTICAST|BROADCAST */
#define RNDIS_MEDIA_CONNECTED	0u
#define RNDIS_MAX_XFER		0x4000u

struct rndis_hdr {
	uint32_t type, len;
};

struct rndis_init_req {			/* 24 B */
	uint32_t type, len, rid, major, minor, max_xfer;
};
_Static_assert(sizeof(struct rndis_init_req) == 24, "B.12 INITIALIZE");

struct rndis_init_cmplt {		/* 52 B */
	uint32_t type, len, rid, status, major, minor, dev_flags, medium;
	uint32_t max_pkts, max_xfer, align_log2, af_off, af_size;
};
_Static_assert(sizeof(struct rndis_init_cmplt) == 52, "B.12 INITIALIZE completion");
_Static_assert(offsetof(struct rndis_init_cmplt, align_log2) == 40, "B.12");

struct rndis_oid_req {			/* QUERY / SET, 28 B + data */
	uint32_t type, len, rid, oid, info_len, info_off, vc_handle;
};
_Static_assert(sizeof(struct rndis_oid_req) == 28, "B.12 QUERY/SET");
#define RNDIS_INFO_OFF		20u	/* data right after, from byte 8 */

struct rndis_query_cmplt {
	uint32_t type, len, rid, status, info_len, info_off;
};
_Static_assert(offsetof(struct rndis_query_cmplt, info_off) == 20, "B.12");

struct rndis_set_cmplt {		/* 16 B */
	uint32_t type, len, rid, status;
};

struct rndis_indicate {
	uint32_t type, len, status, buf_len, buf_off;
};
_Static_assert(offsetof(struct rndis_indicate, buf_off) == 16, "B.12");

struct rndis_packet {			/* 44-byte header */
	uint32_t type, len;
	uint32_t data_off, data_len;	/* offsets from byte 8 */
	uint32_t oob_off, oob_len, num_oob;
	uint32_t ppi_off, ppi_len;
	uint32_t vc_handle, reserved;
};
_Static_assert(sizeof(struct rndis_packet) == 44, "B.12 PACKET");
_Static_assert(offsetof(struct rndis_packet, ppi_off) == 28, "B.12");
#define RNDIS_OFF_BASE		8u	/* offsets are measured from here */
#define RNDIS_DATA_OFF_MIN	36u	/* sizeof(packet) - 8 */

struct rndis_ppi {			/* per-packet info record */
	uint32_t size, type, offset;	/* offset = 12 */
};
_Static_assert(sizeof(struct rndis_ppi) == 12, "B.12 PPI");
#define RNDIS_PPI_CSUM		0u

/* PPI type 0 on transmit. */
#define RNDIS_TXCSUM_IPV4	(1u << 0)
#define RNDIS_TXCSUM_TCP	(1u << 2)
#define RNDIS_TXCSUM_UDP	(1u << 3)
#define RNDIS_TXCSUM_IP		(1u << 4)
#define RNDIS_TXCSUM_L4OFF_SHIFT 16
/* PPI type 0 on receive. */
#define RNDIS_RXCSUM_TCP_FAIL	(1u << 0)
#define RNDIS_RXCSUM_UDP_FAIL	(1u << 1)
#define RNDIS_RXCSUM_IP_FAIL	(1u << 2)
#define RNDIS_RXCSUM_TCP_OK	(1u << 3)
#define RNDIS_RXCSUM_UDP_OK	(1u << 4)
#define RNDIS_RXCSUM_IP_OK	(1u << 5)

/* NDIS_OFFLOAD_PARAMETERS (set with OID 0xFC01020C, B.12), revision 2. */
#define NDIS_OBJ_OFFLOAD_PARAMS	0x80u
#define NDIS_OFFLOAD_PARAMS_REV2 2u
#define NDIS_OFFLOAD_TX_RX	4u	/* ..._TX_RX_ENABLED */
struct ndis_offload_params {
	uint8_t obj_type, obj_rev;
	uint16_t obj_size;
	uint8_t ip4_csum, tcp4_csum, udp4_csum, tcp6_csum, udp6_csum;
	uint8_t lso_v1, ipsec_v1, lso_v2_ip4, lso_v2_ip6;
	uint8_t tcp_conn_ip4, tcp_conn_ip6, pad;
	uint32_t flags;
	uint8_t ipsec_v2, ipsec_v2_ip4, rsc_ip4, rsc_ip6;
};
_Static_assert(sizeof(struct ndis_offload_params) == 24, "NDIS offload params rev 2");
_Static_assert(offsetof(struct ndis_offload_params, tcp4_csum) == 5, "NDIS");
_Static_assert(offsetof(struct ndis_offload_params, flags) == 16, "NDIS");

/* ---- vRSS: receive-scale parameters and the host's send table ----------
 *
 * PROTOCOLS.md B.12 gives only the OID 0x00010204 and its object header
 * type 0x89 ("128-entry indirection table + 40-byte Toeplitz key"); B.11
 * step 7 says the host may send a 16-entry SEND_INDIRECTION_TABLE.  The
 * rest below is taken as facts from Linux's drivers/net/hyperv/
 * hyperv_net.h and rndis_filter.c (Debian linux-source-6.1), NOT from
 * PROTOCOLS.md:
 *  - the object revision 2 and its 40-byte layout (struct ndis_rss_params
 *    below: natural alignment, two 2-byte holes after the u16 sizes);
 *  - the flag bits (only DISABLE_RSS is used by us) and the hash-info
 *    bits: function Toeplitz = 0x1, types IPV4 0x100, TCP_IPV4 0x200,
 *    IPV6 0x400, IPV6_EX 0x800, TCP_IPV6 0x1000, TCP_IPV6_EX 0x2000;
 *  - indirect_tabsize counts BYTES (4 per u32 entry), the table and the
 *    key are placed by offsets from the start of the object, the key is
 *    40 bytes and the table has 128 entries by default (Linux fills it
 *    with channel numbers, entry i = i mod channels);
 *  - NVSP type 134 = SEND_INDIRECTION_TABLE {u32 count; u32 offset},
 *    offset measured from the NVSP type field, count 16; on NVSP 6.0 and
 *    older hosts the offset may be wrong and the table then sits right
 *    after the 40-byte NVSP message.
 */
#define RNDIS_OID_RSS_PARAMS		0x00010204u	/* B.12 */
#define NDIS_OBJ_RSS_PARAMS		0x89u		/* B.12 */
#define NDIS_RSS_PARAMS_REV2		2u		/* Linux */
#define NDIS_RSS_FLAG_BASE_CPU_UNCHANGED 0x0001u	/* Linux */
#define NDIS_RSS_FLAG_HASH_INFO_UNCHANGED 0x0002u
#define NDIS_RSS_FLAG_ITAB_UNCHANGED	0x0004u
#define NDIS_RSS_FLAG_KEY_UNCHANGED	0x0008u
#define NDIS_RSS_FLAG_DISABLE		0x0010u
#define NDIS_HASH_FUNC_TOEPLITZ		0x00000001u	/* Linux */
#define NDIS_HASH_FUNC_MASK		0x000000ffu
#define NDIS_HASH_IPV4			0x00000100u
#define NDIS_HASH_TCP_IPV4		0x00000200u
#define NDIS_HASH_IPV6			0x00000400u
#define NDIS_HASH_IPV6_EX		0x00000800u
#define NDIS_HASH_TCP_IPV6		0x00001000u
#define NDIS_HASH_TCP_IPV6_EX		0x00002000u
#define NDIS_RSS_KEY_LEN		40u	/* B.12 and Linux */
#define NDIS_RSS_ITAB_LEN		128u	/* B.12 and Linux */

struct ndis_rss_params {		/* NDIS_RECEIVE_SCALE_PARAMETERS rev 2 */
	uint8_t obj_type, obj_rev;
	uint16_t obj_size;		/* sizeof: 40 */
	uint16_t flags, base_cpu;
	uint32_t hash_info;		/* function | types */
	uint16_t itab_size, pad0;	/* bytes */
	uint32_t itab_off;		/* from the start of this object */
	uint16_t key_size, pad1;	/* bytes */
	uint32_t key_off;
	uint32_t cpu_masks_off, cpu_masks_n, cpu_masks_entry;
};
_Static_assert(sizeof(struct ndis_rss_params) == 40, "Linux hyperv_net.h RSS params rev 2");
_Static_assert(offsetof(struct ndis_rss_params, hash_info) == 8, "Linux hyperv_net.h");
_Static_assert(offsetof(struct ndis_rss_params, itab_size) == 12, "Linux hyperv_net.h");
_Static_assert(offsetof(struct ndis_rss_params, itab_off) == 16, "Linux hyperv_net.h");
_Static_assert(offsetof(struct ndis_rss_params, key_size) == 20, "Linux hyperv_net.h");
_Static_assert(offsetof(struct ndis_rss_params, key_off) == 24, "Linux hyperv_net.h");
_Static_assert(offsetof(struct ndis_rss_params, cpu_masks_entry) == 36, "Linux hyperv_net.h");

#define NVSP_SEND_TAB_LEN	16u	/* entries (B.11 step 7) */
#define NVSP_SEND_TAB_OFF_V6	40u	/* where NVSP <= 6.0 hosts put it */
struct nvsp_send_indir_tab {		/* SEND_INDIRECTION_TABLE header */
	uint32_t type, count, offset;	/* offset from `type` */
};
_Static_assert(sizeof(struct nvsp_send_indir_tab) == 12, "Linux hyperv_net.h NVSP5 send table");

#endif /* TERN_NETVSC_REG_H */

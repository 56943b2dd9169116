/*
 * ena_reg.h - AWS Elastic Network Adapter register map and wire layouts.
 *
 * Hardware/wire layout only: BAR0 registers (PROTOCOLS.md A.2), the
 * read-less MMIO response (A.3), admin submission/completion entries and
 * feature payloads (A.5, A.6), IO queue commands (A.7), IO descriptors
 * and completions (A.8), LLQ feature fields (A.9) and AENQ entries
 * (A.10).  Every struct carries _Static_asserts on its size and the
 * offsets of the fields we use, citing the table row they come from.
 * All multi-byte fields are little endian (x86 and the device agree).
 */
#ifndef TERN_ENA_REG_H
#define TERN_ENA_REG_H

#include <stddef.h>
#include <stdint.h>

#define ENA_ASSERT_OFF(t, f, o) \
	_Static_assert(offsetof(struct t, f) == (o), #t "." #f)
#define ENA_ASSERT_SIZE(t, n) \
	_Static_assert(sizeof(struct t) == (n), "sizeof " #t)

/* A.1: PCI identity. */
#define ENA_PCI_VENDOR		0x1d0f
#define ENA_PCI_DEV_VF		0xec20
#define ENA_PCI_DEV_VF_LLQ	0xec21
#define ENA_PCI_DEV_PF		0x0ec2
#define ENA_PCI_REV_NO_READLESS	0x01	/* revision bit 0 */
#define ENA_BAR_REGS		0
#define ENA_BAR_LLQ		2

/* A.2: BAR0 registers. */
#define ENA_REG_VERSION		0x00
#define ENA_REG_CTRL_VERSION	0x04
#define ENA_REG_CAPS		0x08
#define  ENA_CAPS_CONTIG_QUEUES	(1u << 0)
#define  ENA_CAPS_RESET_TO(c)	(((c) >> 1) & 0x1f)	/* 100 ms units */
#define  ENA_CAPS_DMA_WIDTH(c)	(((c) >> 8) & 0xff)
#define  ENA_CAPS_ADMIN_TO(c)	(((c) >> 16) & 0xf)	/* 100 ms units */
#define ENA_REG_CAPS_EXT	0x0c
#define ENA_REG_AQ_BASE_LO	0x10
#define ENA_REG_AQ_BASE_HI	0x14
#define ENA_REG_AQ_CAPS		0x18
#define ENA_REG_ACQ_BASE_LO	0x20
#define ENA_REG_ACQ_BASE_HI	0x24
#define ENA_REG_ACQ_CAPS	0x28
#define ENA_REG_AQ_DB		0x2c
#define ENA_REG_ACQ_TAIL	0x30
#define ENA_REG_AENQ_CAPS	0x34
#define ENA_REG_AENQ_BASE_LO	0x38
#define ENA_REG_AENQ_BASE_HI	0x3c
#define ENA_REG_AENQ_HEAD_DB	0x40
#define ENA_REG_AENQ_TAIL	0x44
#define ENA_REG_INTR_MASK	0x4c
#define ENA_REG_DEV_CTL		0x54
#define  ENA_DEV_CTL_RESET	(1u << 0)
#define  ENA_DEV_CTL_AQ_RESTART	(1u << 1)
#define  ENA_DEV_CTL_REASON_SHIFT 28
#define ENA_REG_DEV_STS		0x58
#define  ENA_DEV_STS_READY	(1u << 0)
#define  ENA_DEV_STS_RESET_IN_PROGRESS (1u << 3)
#define  ENA_DEV_STS_RESET_FINISHED (1u << 4)
#define  ENA_DEV_STS_FATAL	(1u << 5)
#define ENA_REG_MMIO_REG_READ	0x5c
#define ENA_REG_MMIO_RESP_LO	0x60
#define ENA_REG_MMIO_RESP_HI	0x64
#define ENA_REG_RSS_IND_ENTRY	0x68

/* A.2: reset reasons (DEV_CTL 31:28). */
#define ENA_RESET_NORMAL	0
#define ENA_RESET_KEEP_ALIVE_TO	1
#define ENA_RESET_ADMIN_TO	2
#define ENA_RESET_MISSING_TX_CMPL 3
#define ENA_RESET_INV_RX_REQ_ID	4
#define ENA_RESET_INV_TX_REQ_ID	5
#define ENA_RESET_INIT_ERR	7
#define ENA_RESET_GENERIC	13
#define ENA_RESET_DEVICE_REQ	19

/* A.3: read-less MMIO response buffer. */
struct ena_mmio_resp {
	uint16_t req_id;
	uint16_t reg_off;
	uint32_t reg_val;
};
ENA_ASSERT_SIZE(ena_mmio_resp, 8);			/* A.3 step 1 */
ENA_ASSERT_OFF(ena_mmio_resp, reg_off, 2);
ENA_ASSERT_OFF(ena_mmio_resp, reg_val, 4);

/* A.6: 48-bit address (ena_common_mem_addr). */
struct ena_mem_addr {
	uint32_t lo;
	uint16_t hi;
	uint16_t rsvd;
};
ENA_ASSERT_SIZE(ena_mem_addr, 8);			/* A.6 address format */

/* A.5: admin queue entry common part and sizes. */
#define ENA_AQ_ENTRY_SIZE	64
#define ENA_ACQ_ENTRY_SIZE	64
#define ENA_AENQ_ENTRY_SIZE	64
#define ENA_AQ_CMD_ID_MASK	0x0fff
#define ENA_AQ_FLAG_PHASE	0x01
#define ENA_AQ_FLAG_CTRL_DATA	0x02
#define ENA_AQ_FLAG_CTRL_INDIRECT 0x04

/* A.5: opcodes. */
#define ENA_ADMIN_CREATE_SQ	1
#define ENA_ADMIN_DESTROY_SQ	2
#define ENA_ADMIN_CREATE_CQ	3
#define ENA_ADMIN_DESTROY_CQ	4
#define ENA_ADMIN_GET_FEATURE	8
#define ENA_ADMIN_SET_FEATURE	9
#define ENA_ADMIN_GET_STATS	11

/* A.5: completion status codes. */
#define ENA_ADMIN_SUCCESS	0
#define ENA_ADMIN_RESOURCE_ALLOC 1
#define ENA_ADMIN_BAD_OPCODE	2
#define ENA_ADMIN_UNSUPPORTED	3
#define ENA_ADMIN_MALFORMED	4
#define ENA_ADMIN_ILLEGAL_PARAM	5
#define ENA_ADMIN_UNKNOWN_ERR	6
#define ENA_ADMIN_BUSY		7

struct ena_aq_common {
	uint16_t command_id;	/* 11:0 */
	uint8_t opcode;
	uint8_t flags;		/* ENA_AQ_FLAG_* */
};
ENA_ASSERT_SIZE(ena_aq_common, 4);			/* A.5 AQ entry 0..3 */
ENA_ASSERT_OFF(ena_aq_common, opcode, 2);
ENA_ASSERT_OFF(ena_aq_common, flags, 3);

struct ena_ctrl_buf {
	uint32_t length;
	struct ena_mem_addr addr;
};
ENA_ASSERT_SIZE(ena_ctrl_buf, 12);			/* A.5 AQ entry 4..15 */

/* A.6.1: GET_FEATURE / SET_FEATURE. */
#define ENA_FEAT_SELECT_CURRENT	1
struct ena_aq_feature {
	struct ena_aq_common c;
	struct ena_ctrl_buf ctrl;
	uint8_t flags;		/* 1:0 select */
	uint8_t feature_id;
	uint8_t feature_version;
	uint8_t rsvd;
	uint8_t payload[44];
};
ENA_ASSERT_SIZE(ena_aq_feature, ENA_AQ_ENTRY_SIZE);	/* A.6.1 */
ENA_ASSERT_OFF(ena_aq_feature, ctrl, 4);
ENA_ASSERT_OFF(ena_aq_feature, flags, 16);
ENA_ASSERT_OFF(ena_aq_feature, feature_id, 17);
ENA_ASSERT_OFF(ena_aq_feature, feature_version, 18);
ENA_ASSERT_OFF(ena_aq_feature, payload, 20);

/* A.6.1: feature ids. */
#define ENA_FEAT_DEVICE_ATTRIBUTES	1
#define ENA_FEAT_MAX_QUEUES_NUM		2
#define ENA_FEAT_HW_HINTS		3
#define ENA_FEAT_LLQ			4
#define ENA_FEAT_MAX_QUEUES_EXT		7
#define ENA_FEAT_STATELESS_OFFLOAD	11
#define ENA_FEAT_MTU			14
#define ENA_FEAT_AENQ_CONFIG		26
#define ENA_FEAT_HOST_ATTR_CONFIG	28

/* A.7: CREATE_CQ. */
#define ENA_CQ_CAPS1_INTR_MODE	(1u << 5)
struct ena_aq_create_cq {
	struct ena_aq_common c;
	uint8_t cq_caps_1;
	uint8_t cq_caps_2;	/* 4:0 entry size in 32-bit words */
	uint16_t cq_depth;
	uint32_t msix_vector;
	struct ena_mem_addr cq_ba;
	uint8_t rsvd[44];
};
ENA_ASSERT_SIZE(ena_aq_create_cq, ENA_AQ_ENTRY_SIZE);	/* A.7 CREATE_CQ */
ENA_ASSERT_OFF(ena_aq_create_cq, cq_caps_1, 4);
ENA_ASSERT_OFF(ena_aq_create_cq, cq_caps_2, 5);
ENA_ASSERT_OFF(ena_aq_create_cq, cq_depth, 6);
ENA_ASSERT_OFF(ena_aq_create_cq, msix_vector, 8);
ENA_ASSERT_OFF(ena_aq_create_cq, cq_ba, 12);

/* A.7: CREATE_SQ. */
#define ENA_SQ_DIR_TX		1
#define ENA_SQ_DIR_RX		2
#define ENA_SQ_DIR_SHIFT	5
#define ENA_SQ_PLACE_HOST	1
#define ENA_SQ_PLACE_DEV	3
#define ENA_SQ_CAPS3_CONTIG	0x01
struct ena_aq_create_sq {
	struct ena_aq_common c;
	uint8_t sq_identity;	/* 7:5 direction */
	uint8_t rsvd0;
	uint8_t sq_caps_2;	/* 3:0 placement, 6:4 completion policy */
	uint8_t sq_caps_3;	/* bit0 physically contiguous */
	uint16_t cq_idx;
	uint16_t sq_depth;
	struct ena_mem_addr sq_ba;
	struct ena_mem_addr sq_head_writeback;
	uint8_t rsvd1[36];
};
ENA_ASSERT_SIZE(ena_aq_create_sq, ENA_AQ_ENTRY_SIZE);	/* A.7 CREATE_SQ */
ENA_ASSERT_OFF(ena_aq_create_sq, sq_identity, 4);
ENA_ASSERT_OFF(ena_aq_create_sq, sq_caps_2, 6);
ENA_ASSERT_OFF(ena_aq_create_sq, sq_caps_3, 7);
ENA_ASSERT_OFF(ena_aq_create_sq, cq_idx, 8);
ENA_ASSERT_OFF(ena_aq_create_sq, sq_depth, 10);
ENA_ASSERT_OFF(ena_aq_create_sq, sq_ba, 12);
ENA_ASSERT_OFF(ena_aq_create_sq, sq_head_writeback, 20);

/* A.7: DESTROY_SQ / DESTROY_CQ. */
struct ena_aq_destroy_sq {
	struct ena_aq_common c;
	uint16_t sq_idx;
	uint8_t sq_identity;
	uint8_t rsvd[57];
};
ENA_ASSERT_SIZE(ena_aq_destroy_sq, ENA_AQ_ENTRY_SIZE);	/* A.7 DESTROY_SQ */
ENA_ASSERT_OFF(ena_aq_destroy_sq, sq_idx, 4);
ENA_ASSERT_OFF(ena_aq_destroy_sq, sq_identity, 6);

struct ena_aq_destroy_cq {
	struct ena_aq_common c;
	uint16_t cq_idx;
	uint8_t rsvd[58];
};
ENA_ASSERT_SIZE(ena_aq_destroy_cq, ENA_AQ_ENTRY_SIZE);	/* A.7 DESTROY_CQ */
ENA_ASSERT_OFF(ena_aq_destroy_cq, cq_idx, 4);

/* A.5: admin completion entry. */
struct ena_acq_entry {
	uint16_t command_id;
	uint8_t status;
	uint8_t flags;		/* bit0 phase */
	uint16_t ext_status;
	uint16_t sq_head_indx;
	uint8_t data[56];
};
ENA_ASSERT_SIZE(ena_acq_entry, ENA_ACQ_ENTRY_SIZE);	/* A.5 ACQ entry */
ENA_ASSERT_OFF(ena_acq_entry, status, 2);
ENA_ASSERT_OFF(ena_acq_entry, flags, 3);
ENA_ASSERT_OFF(ena_acq_entry, ext_status, 4);
ENA_ASSERT_OFF(ena_acq_entry, sq_head_indx, 6);
ENA_ASSERT_OFF(ena_acq_entry, data, 8);

/* A.7: CREATE_CQ and CREATE_SQ responses (ACQ data at offset 8). */
struct ena_acq_create_cq {
	uint8_t common[8];
	uint16_t cq_idx;
	uint16_t cq_actual_depth;
	uint32_t numa_node_reg_off;
	uint32_t cq_head_db_reg_off;	/* obsolete: never used */
	uint32_t cq_unmask_reg_off;
	uint8_t rsvd[40];
};
ENA_ASSERT_SIZE(ena_acq_create_cq, ENA_ACQ_ENTRY_SIZE);	/* A.7 CQ response */
ENA_ASSERT_OFF(ena_acq_create_cq, cq_idx, 8);
ENA_ASSERT_OFF(ena_acq_create_cq, cq_actual_depth, 10);
ENA_ASSERT_OFF(ena_acq_create_cq, numa_node_reg_off, 12);
ENA_ASSERT_OFF(ena_acq_create_cq, cq_head_db_reg_off, 16);
ENA_ASSERT_OFF(ena_acq_create_cq, cq_unmask_reg_off, 20);

struct ena_acq_create_sq {
	uint8_t common[8];
	uint16_t sq_idx;
	uint16_t rsvd0;
	uint32_t sq_db_off;
	uint32_t llq_desc_off;
	uint32_t llq_hdr_off;
	uint8_t rsvd1[40];
};
ENA_ASSERT_SIZE(ena_acq_create_sq, ENA_ACQ_ENTRY_SIZE);	/* A.7 SQ response */
ENA_ASSERT_OFF(ena_acq_create_sq, sq_idx, 8);
ENA_ASSERT_OFF(ena_acq_create_sq, sq_db_off, 12);
ENA_ASSERT_OFF(ena_acq_create_sq, llq_desc_off, 16);
ENA_ASSERT_OFF(ena_acq_create_sq, llq_hdr_off, 20);

/* A.6.2: DEVICE_ATTRIBUTES (GET payload, ACQ offset 8). */
#define ENA_CAP_EXT_RESET_REASONS (1u << 3)
struct ena_feat_dev_attr {
	uint32_t impl_id;
	uint32_t device_version;
	uint32_t supported_features;
	uint32_t capabilities;
	uint32_t phys_addr_width;
	uint32_t virt_addr_width;
	uint8_t mac[6];
	uint16_t flow_steering_max;
	uint32_t max_mtu;
};
ENA_ASSERT_SIZE(ena_feat_dev_attr, 36);			/* A.6.2 */
ENA_ASSERT_OFF(ena_feat_dev_attr, supported_features, 8);
ENA_ASSERT_OFF(ena_feat_dev_attr, capabilities, 12);
ENA_ASSERT_OFF(ena_feat_dev_attr, phys_addr_width, 16);
ENA_ASSERT_OFF(ena_feat_dev_attr, mac, 24);
ENA_ASSERT_OFF(ena_feat_dev_attr, flow_steering_max, 30);
ENA_ASSERT_OFF(ena_feat_dev_attr, max_mtu, 32);

/* A.6.3: MAX_QUEUES_EXT, version 1. */
struct ena_feat_max_queues_ext {
	uint8_t version;
	uint8_t rsvd[3];
	uint32_t max_tx_sq_num;
	uint32_t max_tx_cq_num;
	uint32_t max_rx_sq_num;
	uint32_t max_rx_cq_num;
	uint32_t max_tx_sq_depth;
	uint32_t max_tx_cq_depth;
	uint32_t max_rx_sq_depth;
	uint32_t max_rx_cq_depth;
	uint32_t max_tx_header_size;
	uint16_t max_per_packet_tx_descs;
	uint16_t max_per_packet_rx_descs;
};
ENA_ASSERT_SIZE(ena_feat_max_queues_ext, 44);		/* A.6.3 */
ENA_ASSERT_OFF(ena_feat_max_queues_ext, max_tx_sq_num, 4);
ENA_ASSERT_OFF(ena_feat_max_queues_ext, max_rx_cq_num, 16);
ENA_ASSERT_OFF(ena_feat_max_queues_ext, max_tx_sq_depth, 20);
ENA_ASSERT_OFF(ena_feat_max_queues_ext, max_rx_cq_depth, 32);
ENA_ASSERT_OFF(ena_feat_max_queues_ext, max_tx_header_size, 36);
ENA_ASSERT_OFF(ena_feat_max_queues_ext, max_per_packet_tx_descs, 40);
ENA_ASSERT_OFF(ena_feat_max_queues_ext, max_per_packet_rx_descs, 42);

/* A.6.4: AENQ_CONFIG and the group bits (A.10). */
#define ENA_AENQ_LINK_CHANGE	0
#define ENA_AENQ_FATAL_ERROR	1
#define ENA_AENQ_WARNING	2
#define ENA_AENQ_NOTIFICATION	3
#define ENA_AENQ_KEEP_ALIVE	4
#define ENA_AENQ_CONF_NOTIF	6
#define ENA_AENQ_DEVICE_REQUEST_RESET 7
#define ENA_AENQ_SYND_UPDATE_HINTS 2
struct ena_feat_aenq {
	uint32_t supported_groups;
	uint32_t enabled_groups;
};
ENA_ASSERT_SIZE(ena_feat_aenq, 8);			/* A.6.4 */
ENA_ASSERT_OFF(ena_feat_aenq, enabled_groups, 4);

/* A.6.5: HOST_ATTR_CONFIG (SET payload) and the host-info page. */
struct ena_feat_host_attr {
	struct ena_mem_addr os_info_ba;
	struct ena_mem_addr debug_ba;
	uint32_t debug_area_size;
};
ENA_ASSERT_SIZE(ena_feat_host_attr, 20);		/* A.6.5 */
ENA_ASSERT_OFF(ena_feat_host_attr, debug_ba, 8);
ENA_ASSERT_OFF(ena_feat_host_attr, debug_area_size, 16);

struct ena_host_info {
	uint32_t os_type;
	uint8_t os_dist_str[128];
	uint32_t os_dist;
	uint8_t kernel_ver_str[32];
	uint32_t kernel_ver;
	uint32_t driver_version;
	uint32_t supported_network_features[2];
	uint16_t ena_spec_version;
	uint16_t bdf;
	uint16_t num_cpus;
	uint16_t rsvd;
	uint32_t driver_supported_features;
};
ENA_ASSERT_SIZE(ena_host_info, 196);			/* A.6.5 host-info */
ENA_ASSERT_OFF(ena_host_info, os_dist_str, 4);
ENA_ASSERT_OFF(ena_host_info, os_dist, 132);
ENA_ASSERT_OFF(ena_host_info, kernel_ver_str, 136);
ENA_ASSERT_OFF(ena_host_info, kernel_ver, 168);
ENA_ASSERT_OFF(ena_host_info, driver_version, 172);
ENA_ASSERT_OFF(ena_host_info, supported_network_features, 176);
ENA_ASSERT_OFF(ena_host_info, ena_spec_version, 184);
ENA_ASSERT_OFF(ena_host_info, bdf, 186);
ENA_ASSERT_OFF(ena_host_info, num_cpus, 188);
ENA_ASSERT_OFF(ena_host_info, driver_supported_features, 192);

/* A.6.6: STATELESS_OFFLOAD_CONFIG. */
#define ENA_OFF_TX_IPV4_CSUM		(1u << 0)
#define ENA_OFF_TX_L4_IPV4_PART		(1u << 1)
#define ENA_OFF_TX_L4_IPV4_FULL		(1u << 2)
#define ENA_OFF_RX_L4_IPV4_CSUM		(1u << 1)
struct ena_feat_offload {
	uint32_t tx;
	uint32_t rx_supported;
	uint32_t rx_enabled;
};
ENA_ASSERT_SIZE(ena_feat_offload, 12);			/* A.6.6 */
ENA_ASSERT_OFF(ena_feat_offload, rx_supported, 4);
ENA_ASSERT_OFF(ena_feat_offload, rx_enabled, 8);

/* A.6.6: HW_HINTS (all u16, 0 = driver default, 0xffff = none). */
struct ena_feat_hw_hints {
	uint16_t mmio_read_timeout;
	uint16_t driver_watchdog_timeout;
	uint16_t missing_tx_completion_timeout;
	uint16_t missed_tx_completion_count;
	uint16_t admin_completion_tx_timeout;
	uint16_t netdev_wd_timeout;
	uint16_t max_tx_sgl_size;
	uint16_t max_rx_sgl_size;
};
ENA_ASSERT_SIZE(ena_feat_hw_hints, 16);			/* A.6.6 */
ENA_ASSERT_OFF(ena_feat_hw_hints, driver_watchdog_timeout, 2);
ENA_ASSERT_OFF(ena_feat_hw_hints, admin_completion_tx_timeout, 8);

/* A.9: LLQ feature payload (GET response and SET). */
#define ENA_LLQ_HDR_INLINE		1
#define ENA_LLQ_ENTRY_128		1
#define ENA_LLQ_ENTRY_256		4
#define ENA_LLQ_DESCS_BEFORE_HDR_2	2
#define ENA_LLQ_STRIDE_MULTI		2
#define ENA_LLQ_ACCEL_NO_META_CACHE	(1u << 0)
#define ENA_LLQ_ACCEL_LIMIT_BURST	(1u << 1)
struct ena_feat_llq {
	uint32_t max_llq_num;
	uint32_t max_llq_depth;
	uint16_t header_location_supported;
	uint16_t header_location_enabled;
	uint16_t entry_size_supported;
	uint16_t entry_size_enabled;
	uint16_t desc_before_hdr_supported;
	uint16_t desc_before_hdr_enabled;
	uint16_t desc_stride_supported;
	uint16_t desc_stride_enabled;
	uint8_t feature_version;
	uint8_t entry_size_recommended;
	uint16_t max_wide_llq_depth;
	uint16_t accel_flags;		/* GET: supported; SET: enabled */
	uint16_t max_tx_burst_size;	/* GET only, bytes */
};
ENA_ASSERT_SIZE(ena_feat_llq, 32);			/* A.9 LLQ payload */
ENA_ASSERT_OFF(ena_feat_llq, header_location_supported, 8);
ENA_ASSERT_OFF(ena_feat_llq, entry_size_supported, 12);
ENA_ASSERT_OFF(ena_feat_llq, desc_before_hdr_supported, 16);
ENA_ASSERT_OFF(ena_feat_llq, desc_stride_supported, 20);
ENA_ASSERT_OFF(ena_feat_llq, feature_version, 24);
ENA_ASSERT_OFF(ena_feat_llq, entry_size_recommended, 25);
ENA_ASSERT_OFF(ena_feat_llq, max_wide_llq_depth, 26);
ENA_ASSERT_OFF(ena_feat_llq, accel_flags, 28);
ENA_ASSERT_OFF(ena_feat_llq, max_tx_burst_size, 30);

/* A.8.1: TX descriptor. */
#define ENA_TXD_LEN_MASK	0xffffu
#define ENA_TXD_REQ_HI_SHIFT	16		/* req_id[15:10] in 21:16 */
#define ENA_TXD_META		(1u << 23)
#define ENA_TXD_PHASE		(1u << 24)
#define ENA_TXD_FIRST		(1u << 26)
#define ENA_TXD_LAST		(1u << 27)
#define ENA_TXD_COMP_REQ	(1u << 28)
#define ENA_TXD_L3_IPV4		8		/* meta_ctrl 3:0 */
#define ENA_TXD_DF		(1u << 4)
#define ENA_TXD_L4_SHIFT	8		/* meta_ctrl 12:8 */
#define ENA_TXD_L4_TCP		12
#define ENA_TXD_L4_UDP		13
#define ENA_TXD_IPV4_CSUM	(1u << 13)
#define ENA_TXD_L4_CSUM		(1u << 14)
#define ENA_TXD_L4_CSUM_PARTIAL	(1u << 17)
#define ENA_TXD_REQ_LO_SHIFT	22		/* req_id[9:0] in 31:22 */
#define ENA_TXD_HDR_LEN_SHIFT	24		/* word 3, 31:24 */
struct ena_tx_desc {
	uint32_t len_ctrl;
	uint32_t meta_ctrl;
	uint32_t addr_lo;
	uint32_t addr_hi_hdr;	/* 15:0 addr 47:32, 31:24 header_length */
};
ENA_ASSERT_SIZE(ena_tx_desc, 16);			/* A.8.1 */
ENA_ASSERT_OFF(ena_tx_desc, meta_ctrl, 4);
ENA_ASSERT_OFF(ena_tx_desc, addr_lo, 8);
ENA_ASSERT_OFF(ena_tx_desc, addr_hi_hdr, 12);

/* A.8.2: TX meta descriptor (same 16 bytes, meta_desc = 1). */
#define ENA_TXM_EXT_VALID	(1u << 14)
#define ENA_TXM_ETH_META_TYPE	(1u << 20)
#define ENA_TXM_META_STORE	(1u << 21)
struct ena_tx_meta_desc {
	uint32_t len_ctrl;
	uint32_t word1;
	uint32_t word2;		/* 7:0 L3 len, 15:8 L3 off, 21:16 L4 len (words) */
	uint32_t rsvd;
};
ENA_ASSERT_SIZE(ena_tx_meta_desc, 16);			/* A.8.2 */
ENA_ASSERT_OFF(ena_tx_meta_desc, word2, 8);

/* A.8.3: TX completion. */
struct ena_tx_cdesc {
	uint16_t req_id;
	uint8_t status;
	uint8_t flags;		/* bit0 phase, 7:6 MBZ */
	uint16_t sub_qid;
	uint16_t sq_head_idx;
};
ENA_ASSERT_SIZE(ena_tx_cdesc, 8);			/* A.8.3 */
ENA_ASSERT_OFF(ena_tx_cdesc, status, 2);
ENA_ASSERT_OFF(ena_tx_cdesc, flags, 3);
ENA_ASSERT_OFF(ena_tx_cdesc, sq_head_idx, 6);

/* A.8.4: RX descriptor. */
#define ENA_RXD_PHASE		(1u << 0)
#define ENA_RXD_FIRST		(1u << 2)
#define ENA_RXD_LAST		(1u << 3)
#define ENA_RXD_COMP_REQ	(1u << 4)
struct ena_rx_desc {
	uint16_t length;
	uint8_t rsvd0;
	uint8_t ctrl;
	uint16_t req_id;
	uint16_t rsvd1;
	uint32_t addr_lo;
	uint16_t addr_hi;
	uint16_t rsvd2;
};
ENA_ASSERT_SIZE(ena_rx_desc, 16);			/* A.8.4 */
ENA_ASSERT_OFF(ena_rx_desc, ctrl, 3);
ENA_ASSERT_OFF(ena_rx_desc, req_id, 4);
ENA_ASSERT_OFF(ena_rx_desc, addr_lo, 8);
ENA_ASSERT_OFF(ena_rx_desc, addr_hi, 12);

/* A.8.5: RX completion (16-byte base format). */
#define ENA_RXC_L3_MASK		0x1fu
#define ENA_RXC_L4_SHIFT	8
#define ENA_RXC_L4_MASK		0x1fu
#define ENA_RXC_L3_CSUM_ERR	(1u << 13)
#define ENA_RXC_L4_CSUM_ERR	(1u << 14)
#define ENA_RXC_IPV4_FRAG	(1u << 15)
#define ENA_RXC_L4_CSUM_CHECKED	(1u << 16)
#define ENA_RXC_PHASE		(1u << 24)
#define ENA_RXC_FIRST		(1u << 26)
#define ENA_RXC_LAST		(1u << 27)
#define ENA_RXC_BUFFER		(1u << 30)
#define ENA_RXC_MBZ		((1u << 7) | (1u << 17))
struct ena_rx_cdesc {
	uint32_t status;
	uint16_t length;
	uint16_t req_id;
	uint32_t hash;
	uint16_t sub_qid;
	uint8_t offset;
	uint8_t rsvd;
};
ENA_ASSERT_SIZE(ena_rx_cdesc, 16);			/* A.8.5 */
ENA_ASSERT_OFF(ena_rx_cdesc, length, 4);
ENA_ASSERT_OFF(ena_rx_cdesc, req_id, 6);
ENA_ASSERT_OFF(ena_rx_cdesc, hash, 8);
ENA_ASSERT_OFF(ena_rx_cdesc, sub_qid, 12);
ENA_ASSERT_OFF(ena_rx_cdesc, offset, 14);

/* A.8.6: interrupt unmask register. */
#define ENA_INTR_UNMASK		(1u << 30)
#define ENA_INTR_NO_MOD_UPDATE	(1u << 31)

/* A.10: AENQ entry. */
struct ena_aenq_entry {
	uint16_t group;
	uint16_t syndrome;
	uint8_t flags;		/* bit0 phase */
	uint8_t rsvd[3];
	uint32_t ts_lo;
	uint32_t ts_hi;
	uint8_t payload[48];
};
ENA_ASSERT_SIZE(ena_aenq_entry, ENA_AENQ_ENTRY_SIZE);	/* A.10 */
ENA_ASSERT_OFF(ena_aenq_entry, syndrome, 2);
ENA_ASSERT_OFF(ena_aenq_entry, flags, 4);
ENA_ASSERT_OFF(ena_aenq_entry, ts_lo, 8);
ENA_ASSERT_OFF(ena_aenq_entry, payload, 16);

#endif /* TERN_ENA_REG_H */

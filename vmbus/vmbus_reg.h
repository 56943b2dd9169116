/*
 * vmbus_reg.h - VMBus wire layouts: versions and connection ids (B.7),
 * channel management messages (B.8), GPADL limits (B.9), ring buffer
 * header and packet descriptors (B.10).  Layout only.  Every message is
 * at most 240 bytes (the HvPostMessage payload, B.4).
 */
#ifndef TERN_VMBUS_REG_H
#define TERN_VMBUS_REG_H

#include <stddef.h>
#include <stdint.h>

/* B.7 versions (major << 16 | minor). */
#define VMBUS_VERSION(maj, min)	((uint32_t)(maj) << 16 | (uint32_t)(min))
#define VMBUS_V3_0		VMBUS_VERSION(3, 0)
#define VMBUS_V4_0		VMBUS_VERSION(4, 0)
#define VMBUS_V4_1		VMBUS_VERSION(4, 1)
#define VMBUS_V5_0		VMBUS_VERSION(5, 0)
#define VMBUS_V5_1		VMBUS_VERSION(5, 1)
#define VMBUS_V5_2		VMBUS_VERSION(5, 2)
#define VMBUS_V5_3		VMBUS_VERSION(5, 3)

#define VMBUS_CONN_MESSAGE	1u	/* protocol < 5.0 */
#define VMBUS_CONN_MESSAGE_V5	4u	/* InitiateContact for >= 5.0 */

/* B.8 message types. */
enum vmbus_msgtype {
	VMBUS_MSG_OFFERCHANNEL = 1,
	VMBUS_MSG_RESCIND_OFFER = 2,
	VMBUS_MSG_REQUESTOFFERS = 3,
	VMBUS_MSG_ALLOFFERS_DELIVERED = 4,
	VMBUS_MSG_OPENCHANNEL = 5,
	VMBUS_MSG_OPENCHANNEL_RESULT = 6,
	VMBUS_MSG_CLOSECHANNEL = 7,
	VMBUS_MSG_GPADL_HEADER = 8,
	VMBUS_MSG_GPADL_BODY = 9,
	VMBUS_MSG_GPADL_CREATED = 10,
	VMBUS_MSG_GPADL_TEARDOWN = 11,
	VMBUS_MSG_GPADL_TORNDOWN = 12,
	VMBUS_MSG_RELID_RELEASED = 13,
	VMBUS_MSG_INITIATE_CONTACT = 14,
	VMBUS_MSG_VERSION_RESPONSE = 15,
	VMBUS_MSG_UNLOAD = 16,
	VMBUS_MSG_UNLOAD_RESPONSE = 17,
	VMBUS_MSG_COUNT = 25,		/* bound for per-type counters */
};

#define VMBUS_MSG_MAX		240

struct vmbus_msg_hdr {
	uint32_t msgtype;
	uint32_t padding;		/* 0 */
};
_Static_assert(sizeof(struct vmbus_msg_hdr) == 8, "B.8 header");

/* B.8 OFFERCHANNEL, 196 bytes. */
struct vmbus_offer {
	struct vmbus_msg_hdr h;
	uint8_t if_type[16];
	uint8_t if_instance[16];
	uint8_t reserved[16];
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[120];
	uint16_t sub_channel_index;
	uint16_t reserved2;
	uint32_t child_relid;
	uint8_t monitorid;
	uint8_t monitor_flags;		/* bit0 monitor_allocated */
	uint16_t interrupt_flags;	/* bit0 is_dedicated_interrupt */
	uint32_t connection_id;
};
_Static_assert(sizeof(struct vmbus_offer) == 196, "B.8 offer");
_Static_assert(offsetof(struct vmbus_offer, if_instance) == 24, "B.8");
_Static_assert(offsetof(struct vmbus_offer, chn_flags) == 56, "B.8");
_Static_assert(offsetof(struct vmbus_offer, user_def) == 60, "B.8");
_Static_assert(offsetof(struct vmbus_offer, sub_channel_index) == 180, "B.8");
_Static_assert(offsetof(struct vmbus_offer, child_relid) == 184, "B.8");
_Static_assert(offsetof(struct vmbus_offer, monitorid) == 188, "B.8");
_Static_assert(offsetof(struct vmbus_offer, interrupt_flags) == 190, "B.8");
_Static_assert(offsetof(struct vmbus_offer, connection_id) == 192, "B.8");

/* RESCIND_CHANNELOFFER, CLOSECHANNEL, RELID_RELEASED: header + relid. */
struct vmbus_relid_msg {
	struct vmbus_msg_hdr h;
	uint32_t child_relid;
};
_Static_assert(sizeof(struct vmbus_relid_msg) == 12, "B.8");

/* B.8 OPENCHANNEL, 148 bytes. */
struct vmbus_open {
	struct vmbus_msg_hdr h;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t gpadl;
	uint32_t target_vp;
	uint32_t downstream_pageoffset;
	uint8_t userdata[120];
};
_Static_assert(sizeof(struct vmbus_open) == 148, "B.8 open");
_Static_assert(offsetof(struct vmbus_open, gpadl) == 16, "B.8");
_Static_assert(offsetof(struct vmbus_open, target_vp) == 20, "B.8");
_Static_assert(offsetof(struct vmbus_open, downstream_pageoffset) == 24, "B.8");
_Static_assert(offsetof(struct vmbus_open, userdata) == 28, "B.8");

/* B.8 OPENCHANNEL_RESULT, 20 bytes. */
struct vmbus_open_result {
	struct vmbus_msg_hdr h;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t status;
};
_Static_assert(sizeof(struct vmbus_open_result) == 20, "B.8 open result");

/* B.8/B.9 GPADL_HEADER: 20 bytes + one range {byte_count, byte_offset,
   pfn[]}. */
struct vmbus_gpadl_header {
	struct vmbus_msg_hdr h;
	uint32_t child_relid;
	uint32_t gpadl;
	uint16_t range_buflen;
	uint16_t rangecount;
	uint32_t byte_count;		/* ranges[0] */
	uint32_t byte_offset;
	uint64_t pfn[];
} __attribute__((packed));
_Static_assert(sizeof(struct vmbus_gpadl_header) == 28, "B.9 header");
_Static_assert(offsetof(struct vmbus_gpadl_header, range_buflen) == 16, "B.8");
_Static_assert(offsetof(struct vmbus_gpadl_header, byte_count) == 20, "B.8");
#define VMBUS_GPADL_HDR_PFNS	26	/* (240 - 28) / 8, B.9 */

struct vmbus_gpadl_body {
	struct vmbus_msg_hdr h;
	uint32_t msgnumber;
	uint32_t gpadl;
	uint64_t pfn[];
};
_Static_assert(sizeof(struct vmbus_gpadl_body) == 16, "B.9 body");
#define VMBUS_GPADL_BODY_PFNS	28	/* (240 - 16) / 8, B.9 */

/* GPADL_CREATED (20 B), GPADL_TEARDOWN (16 B), GPADL_TORNDOWN (12 B). */
struct vmbus_gpadl_created {
	struct vmbus_msg_hdr h;
	uint32_t child_relid;
	uint32_t gpadl;
	uint32_t status;
};
_Static_assert(sizeof(struct vmbus_gpadl_created) == 20, "B.8");
struct vmbus_gpadl_teardown {
	struct vmbus_msg_hdr h;
	uint32_t child_relid;
	uint32_t gpadl;
};
_Static_assert(sizeof(struct vmbus_gpadl_teardown) == 16, "B.8");
struct vmbus_gpadl_torndown {
	struct vmbus_msg_hdr h;
	uint32_t gpadl;
};
_Static_assert(sizeof(struct vmbus_gpadl_torndown) == 12, "B.8");

/* B.7 INITIATE_CONTACT, 40 bytes. */
struct vmbus_initiate_contact {
	struct vmbus_msg_hdr h;
	uint32_t version;
	uint32_t target_vcpu;
	union {
		uint64_t interrupt_page;	/* < 5.0 */
		struct {
			uint8_t msg_sint;	/* 2 */
			uint8_t msg_vtl;	/* 0 */
			uint8_t reserved[6];
		} v5;
	} u;
	uint64_t monitor_page1;
	uint64_t monitor_page2;
};
_Static_assert(sizeof(struct vmbus_initiate_contact) == 40, "B.7 contact");
_Static_assert(offsetof(struct vmbus_initiate_contact, u) == 16, "B.7");
_Static_assert(offsetof(struct vmbus_initiate_contact, monitor_page1) == 24, "B.7");

/* B.7 VERSION_RESPONSE, 16 bytes. */
struct vmbus_version_response {
	struct vmbus_msg_hdr h;
	uint8_t version_supported;
	uint8_t connection_state;
	uint16_t padding;
	uint32_t msg_conn_id;
};
_Static_assert(sizeof(struct vmbus_version_response) == 16, "B.7 response");
_Static_assert(offsetof(struct vmbus_version_response, msg_conn_id) == 12, "B.7");

/* B.10 ring buffer header page. */
struct vmbus_ring_hdr {
	uint32_t write_index;
	uint32_t read_index;
	uint32_t interrupt_mask;
	uint32_t pending_send_sz;
	uint32_t reserved[12];
	uint32_t feature_bits;		/* bit0 feat_pending_send_sz */
};
_Static_assert(offsetof(struct vmbus_ring_hdr, interrupt_mask) == 8, "B.10");
_Static_assert(offsetof(struct vmbus_ring_hdr, pending_send_sz) == 12, "B.10");
_Static_assert(offsetof(struct vmbus_ring_hdr, feature_bits) == 64, "B.10");
#define VMBUS_RING_HDR_SIZE	4096u
#define VMBUS_RING_FEAT_PENDING	1u

/* B.10 packet descriptor. */
struct vmbus_pkt_desc {
	uint16_t type;
	uint16_t offset8;		/* header length / 8 */
	uint16_t len8;			/* packet length / 8, trailer excluded */
	uint16_t flags;			/* bit0 completion requested */
	uint64_t trans_id;
};
_Static_assert(sizeof(struct vmbus_pkt_desc) == 16, "B.10 descriptor");
#define VMBUS_PKT_TRAILER	8u

#define VMBUS_PKT_DATA_INBAND		0x6
#define VMBUS_PKT_DATA_XFER_PAGES	0x7
#define VMBUS_PKT_DATA_GPA_DIRECT	0x9
#define VMBUS_PKT_COMP			0xB
#define VMBUS_PKT_FLAG_COMPLETION	1u

#endif /* TERN_VMBUS_REG_H */

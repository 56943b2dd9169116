/*
 * storvsc_reg.h - wire layouts of the VSTOR protocol (PROTOCOLS.md B.13)
 * and the few SCSI structures storvsc builds or parses (SPC/SBC: CDB
 * opcodes, fixed-format sense data, REPORT LUNS, INQUIRY, READ
 * CAPACITY(16), MODE SENSE(6)).  Layout only; VSTOR fields are
 * little-endian, SCSI CDB and response fields big-endian.
 */
#ifndef TERN_VMBUS_STORVSC_REG_H
#define TERN_VMBUS_STORVSC_REG_H

#include <stddef.h>
#include <stdint.h>

/* Protocol versions (B.13), u16 major << 8 | minor. */
#define VSTOR_V_WIN6		0x0200
#define VSTOR_V_WIN7		0x0402
#define VSTOR_V_WIN8		0x0501
#define VSTOR_V_WIN8_1		0x0600
#define VSTOR_V_WIN10		0x0602

/* vstor_packet.operation (B.13) */
#define VSTOR_OP_COMPLETE_IO		1
#define VSTOR_OP_REMOVE_DEVICE		2
#define VSTOR_OP_EXECUTE_SRB		3
#define VSTOR_OP_RESET_LUN		4
#define VSTOR_OP_RESET_ADAPTER		5
#define VSTOR_OP_RESET_BUS		6
#define VSTOR_OP_BEGIN_INIT		7
#define VSTOR_OP_END_INIT		8
#define VSTOR_OP_QUERY_VERSION		9
#define VSTOR_OP_QUERY_PROPERTIES	10
#define VSTOR_OP_ENUMERATE_BUS		11
#define VSTOR_OP_FCHBA_DATA		12
#define VSTOR_OP_CREATE_SUB_CHANNELS	13

#define VSTOR_FLAG_REQUEST_COMPLETION	0x1

/* vmscsi_request.data_in */
#define VSTOR_DATA_OUT		0	/* write */
#define VSTOR_DATA_IN		1	/* read */
#define VSTOR_DATA_NONE		2

/* vmscsi_request.srb_flags */
#define VSTOR_SRB_QUEUE_ACTION_ENABLE	0x002
#define VSTOR_SRB_DISABLE_SYNCH		0x008
#define VSTOR_SRB_DATA_IN		0x040
#define VSTOR_SRB_DATA_OUT		0x080
#define VSTOR_SRB_NO_QUEUE_FREEZE	0x100

/* vmscsi_request.srb_status: low 6 bits a status, two flag bits. */
#define VSTOR_SRB_STATUS(x)		((x) & 0x3f)
#define VSTOR_SRB_SUCCESS		0x01
#define VSTOR_SRB_ABORTED		0x02
#define VSTOR_SRB_ERROR			0x04
#define VSTOR_SRB_INVALID_REQUEST	0x06
#define VSTOR_SRB_DATA_OVERRUN		0x12
#define VSTOR_SRB_INVALID_LUN		0x20
#define VSTOR_SRB_INTERNAL_ERROR	0x30
#define VSTOR_SRB_QUEUE_FROZEN		0x40
#define VSTOR_SRB_AUTOSENSE_VALID	0x80

#define VSTOR_SENSE_LEN		20	/* sense_info_length, WIN8 and later */
#define VSTOR_CDB_MAX		16
#define VSTOR_SRB_LEN		52
#define VSTOR_QUEUE_TAG_UNTAGGED 0xff
#define VSTOR_QUEUE_ACTION_SIMPLE 0x20
#define VSTOR_TIMEOUT_S		60

/* B.13 vmscsi_request, 52 bytes (WIN8 and later). */
struct vstor_srb {
	uint16_t length;		/* 52 */
	uint8_t srb_status;
	uint8_t scsi_status;
	uint8_t port, path, target, lun;
	uint8_t cdb_length;
	uint8_t sense_info_length;
	uint8_t data_in;
	uint8_t reserved;
	uint32_t data_transfer_length;
	uint8_t cdb_sense[20];		/* CDB on request, sense on completion */
	uint16_t reserve;
	uint8_t queue_tag;
	uint8_t queue_action;
	uint32_t srb_flags;
	uint32_t time_out_value;
	uint32_t queue_sort_key;
} __attribute__((packed));
_Static_assert(sizeof(struct vstor_srb) == 52, "B.13 vmscsi_request");
_Static_assert(offsetof(struct vstor_srb, cdb_length) == 8, "B.13 cdb_length");
_Static_assert(offsetof(struct vstor_srb, data_in) == 10, "B.13 data_in");
_Static_assert(offsetof(struct vstor_srb, data_transfer_length) == 12,
    "B.13 data_transfer_length");
_Static_assert(offsetof(struct vstor_srb, cdb_sense) == 16, "B.13 cdb/sense");
_Static_assert(offsetof(struct vstor_srb, queue_tag) == 38, "B.13 queue_tag");
_Static_assert(offsetof(struct vstor_srb, srb_flags) == 40, "B.13 srb_flags");
_Static_assert(offsetof(struct vstor_srb, time_out_value) == 44, "B.13 timeout");
_Static_assert(offsetof(struct vstor_srb, queue_sort_key) == 48, "B.13 sort key");

/* B.13 channel properties, 24 bytes. */
struct vstor_props {
	uint32_t reserved;
	uint16_t max_channel_cnt;
	uint16_t reserved2;
	uint32_t flags;			/* bit0 SUPPORTS_MULTI_CHANNEL */
	uint32_t max_transfer_bytes;
	uint64_t reserved3;
} __attribute__((packed));
_Static_assert(sizeof(struct vstor_props) == 24, "B.13 channel properties");
_Static_assert(offsetof(struct vstor_props, max_channel_cnt) == 4, "B.13");
_Static_assert(offsetof(struct vstor_props, max_transfer_bytes) == 12, "B.13");
#define VSTOR_PROP_MULTI_CHANNEL	0x1

struct vstor_version {
	uint16_t major_minor;
	uint16_t revision;		/* 0 */
} __attribute__((packed));

/* B.13 vstor_packet, 64 bytes for protocol >= WIN8. */
struct vstor_packet {
	uint32_t operation;
	uint32_t flags;
	uint32_t status;
	union {
		struct vstor_srb srb;
		struct vstor_version version;
		struct vstor_props props;
		uint16_t sub_channel_count;
		uint8_t raw[52];
	} u;
} __attribute__((packed));
_Static_assert(sizeof(struct vstor_packet) == 64, "B.13 vstor_packet");
_Static_assert(offsetof(struct vstor_packet, u) == 12, "B.13 union at 12");

/*
 * B.10 "GPA direct multi-page" type-specific header for storvsc data: a
 * reserved word, rangecount = 1, then one range {len, offset, pfn[]} with
 * ceil((offset + len) / 4096) PFNs (u64 each) right after these 16 bytes.
 * Sent as the `ext` of vmbus_chan_send; its size (16 + 8 * npfn) is a
 * multiple of 8.
 */
struct vstor_gpa_range {
	uint32_t reserved;
	uint32_t rangecount;		/* 1 */
	uint32_t len;			/* bytes */
	uint32_t offset;		/* into the first page */
};
_Static_assert(sizeof(struct vstor_gpa_range) == 16, "B.10 multi-page range");
_Static_assert(offsetof(struct vstor_gpa_range, offset) == 12, "B.10 range offset");

/* SCSI operation codes (SPC-4 / SBC-3). */
#define SCSI_TEST_UNIT_READY	0x00
#define SCSI_INQUIRY		0x12
#define SCSI_MODE_SENSE_6	0x1a
#define SCSI_SYNC_CACHE_10	0x35
#define SCSI_READ_16		0x88
#define SCSI_WRITE_16		0x8a
#define SCSI_SYNC_CACHE_16	0x91
#define SCSI_SERVICE_IN_16	0x9e	/* service action 0x10: READ CAPACITY(16) */
#define SCSI_SAI_READ_CAP_16	0x10
#define SCSI_REPORT_LUNS	0xa0

#define SCSI_RW16_FUA		0x08	/* CDB byte 1 bit 3 */

/* SCSI status byte (SAM). */
#define SCSI_ST_GOOD		0x00
#define SCSI_ST_CHECK_CONDITION	0x02
#define SCSI_ST_BUSY		0x08
#define SCSI_ST_TASK_SET_FULL	0x28

/* Fixed-format sense data (SPC-4 4.5.3): byte 0 response code 0x70 or
   0x71, byte 2 low nibble the sense key, byte 7 additional length,
   bytes 12/13 ASC/ASCQ. */
#define SCSI_SENSE_FIXED_CUR	0x70
#define SCSI_SENSE_FIXED_DEF	0x71
#define SCSI_SENSE_KEY_OFF	2
#define SCSI_SENSE_ASC_OFF	12
#define SCSI_SENSE_ASCQ_OFF	13
#define SCSI_SENSE_MIN_LEN	14

#define SCSI_KEY_NO_SENSE	0x0
#define SCSI_KEY_RECOVERED	0x1
#define SCSI_KEY_NOT_READY	0x2
#define SCSI_KEY_MEDIUM_ERROR	0x3
#define SCSI_KEY_HARDWARE_ERROR	0x4
#define SCSI_KEY_ILLEGAL_REQUEST 0x5
#define SCSI_KEY_UNIT_ATTENTION	0x6
#define SCSI_KEY_DATA_PROTECT	0x7
#define SCSI_KEY_ABORTED	0xb

#define SCSI_ASC_INVALID_OPCODE	0x20
#define SCSI_ASC_LBA_OUT_OF_RANGE 0x21

/* REPORT LUNS data: 4-byte list length (bytes), 4 reserved, then 8-byte
   entries (SAM-5 LUN: byte 0 bits 7-6 the addressing method). */
#define SCSI_RLUN_HDR		8
#define SCSI_RLUN_ENTRY		8

/* Standard INQUIRY data: byte 0 qualifier (bits 7-5) and peripheral
   device type (bits 4-0, 0 = direct access block device); vendor 8-15,
   product 16-31. */
#define SCSI_INQ_LEN		36
#define SCSI_TYPE_DISK		0x00

/* READ CAPACITY(16) data: last LBA (8, BE), block length (4, BE). */
#define SCSI_RCAP16_LEN		32

/* MODE SENSE(6): 4-byte header (data length, medium type, device-
   specific parameter: bit 4 DPOFUA, bit 7 WP; block descriptor length);
   caching page 0x08: byte 2 bit 2 WCE. */
#define SCSI_MODE_PAGE_CACHING	0x08
#define SCSI_MODE_DPOFUA	0x10
#define SCSI_MODE_WP		0x80
#define SCSI_CACHING_WCE	0x04

#endif /* TERN_VMBUS_STORVSC_REG_H */

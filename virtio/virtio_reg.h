/*
 * virtio_reg.h - virtio 1.x wire layouts (OASIS virtio v1.2): the PCI
 * vendor capabilities (4.1.4), the common configuration structure
 * (4.1.4.3), split virtqueues (2.7), and the net (5.1) and block (5.2)
 * device specifics.  Layout only, no code.
 */
#ifndef TERN_VIRTIO_REG_H
#define TERN_VIRTIO_REG_H

#include <stdint.h>

/* PCI vendor capability (4.1.4): offsets from the capability start. */
#define VIRTIO_PCI_CAP_CFG_TYPE	3
#define VIRTIO_PCI_CAP_BAR	4
#define VIRTIO_PCI_CAP_OFFSET	8
#define VIRTIO_PCI_CAP_LENGTH	12
#define VIRTIO_PCI_NOTIFY_MULT	16	/* notify cap only */
#define VIRTIO_PCI_CAP_COMMON	1
#define VIRTIO_PCI_CAP_NOTIFY	2
#define VIRTIO_PCI_CAP_ISR	3
#define VIRTIO_PCI_CAP_DEVICE	4

/* Common configuration (4.1.4.3). */
#define VIRTIO_C_DFSELECT	0x00	/* u32 device_feature_select */
#define VIRTIO_C_DF		0x04	/* u32 device_feature */
#define VIRTIO_C_GFSELECT	0x08	/* u32 driver_feature_select */
#define VIRTIO_C_GF		0x0c	/* u32 driver_feature */
#define VIRTIO_C_MSIX		0x10	/* u16 config_msix_vector */
#define VIRTIO_C_NUMQ		0x12	/* u16 num_queues */
#define VIRTIO_C_STATUS		0x14	/* u8 device_status */
#define VIRTIO_C_GEN		0x15	/* u8 config_generation */
#define VIRTIO_C_Q_SELECT	0x16	/* u16 */
#define VIRTIO_C_Q_SIZE		0x18	/* u16 */
#define VIRTIO_C_Q_MSIX		0x1a	/* u16 */
#define VIRTIO_C_Q_ENABLE	0x1c	/* u16 */
#define VIRTIO_C_Q_NOFF		0x1e	/* u16 queue_notify_off */
#define VIRTIO_C_Q_DESC		0x20	/* u64 */
#define VIRTIO_C_Q_AVAIL	0x28	/* u64 driver area */
#define VIRTIO_C_Q_USED		0x30	/* u64 device area */
#define VIRTIO_NO_VECTOR	0xffff

/* Device status (2.1). */
#define VIRTIO_S_ACK		0x01
#define VIRTIO_S_DRIVER		0x02
#define VIRTIO_S_DRIVER_OK	0x04
#define VIRTIO_S_FEATURES_OK	0x08
#define VIRTIO_S_NEEDS_RESET	0x40
#define VIRTIO_S_FAILED		0x80

/* Transport feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* Split virtqueue (2.7). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* Block device (5.2). */
#define VIRTIO_BLK_F_SIZE_MAX	1
#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define VIRTIO_BLK_CFG_CAPACITY	0	/* u64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX	8	/* u32 */
#define VIRTIO_BLK_CFG_SEG_MAX	12	/* u32 */
#define VIRTIO_BLK_CFG_BLK_SIZE	20	/* u32 */
#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2
struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* Network device (5.1). */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM	1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_HOST_TSO4	11	/* requires CSUM (5.1.3.1) */
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_F_CTRL_VQ	17
#define VIRTIO_NET_F_MQ		22	/* requires CTRL_VQ (5.1.3.1) */
#define VIRTIO_NET_CFG_MAC	0	/* u8[6] */
#define VIRTIO_NET_CFG_STATUS	6	/* u16, bit 0 link up */
#define VIRTIO_NET_CFG_MAX_PAIRS 8	/* u16 max_virtqueue_pairs (MQ) */
#define VIRTIO_NET_CFG_MTU	10	/* u16 */
#define VIRTIO_NET_S_LINK_UP	1
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE	0
#define VIRTIO_NET_HDR_GSO_TCPV4 1	/* gso_type: segment by gso_size */

/*
 * Control virtqueue (5.1.6.5): a command is a device-readable class and
 * command byte, device-readable command data, then one device-writable
 * ack byte.  Multiqueue (5.1.6.5.5): class MQ, command VQ_PAIRS_SET with
 * a le16 count of queue pairs, 1 to 0x8000; receive queue k is virtqueue
 * 2k, transmit queue k is 2k+1, and the control queue follows the last
 * pair the device offers (index 2 * max_virtqueue_pairs).
 */
struct virtio_net_ctrl_hdr {
	uint8_t class;
	uint8_t cmd;
};
struct virtio_net_ctrl_mq {
	uint16_t virtqueue_pairs;
};
_Static_assert(sizeof(struct virtio_net_ctrl_hdr) == 2, "virtio 1.2 5.1.6.5");
_Static_assert(sizeof(struct virtio_net_ctrl_mq) == 2, "virtio 1.2 5.1.6.5.5");
#define VIRTIO_NET_CTRL_MQ		4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET	0
#define VIRTIO_NET_CTRL_MQ_PAIRS_MIN	1
#define VIRTIO_NET_CTRL_MQ_PAIRS_MAX	0x8000
#define VIRTIO_NET_OK			0
#define VIRTIO_NET_ERR			1

#endif

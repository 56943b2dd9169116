/*
 * nvme_reg.h - NVMe register and queue-entry layouts (NVM Express Base
 * Specification 2.0: 3.1 controller registers, 4.2/4.6 submission and
 * completion entries, 5.15 Identify, 5.27 Set Features; NVM Command Set
 * 3.2 Read/Write/Flush).  Facts collected in shared/PROTOCOLS.md C.
 */
#ifndef TERN_NVME_REG_H
#define TERN_NVME_REG_H

#include <stdint.h>

#define NVME_CAP	0x00	/* u64 */
#define  NVME_CAP_MQES(c)	((uint32_t)((c) & 0xffff))
#define  NVME_CAP_TO(c)		((uint32_t)(((c) >> 24) & 0xff))	/* 500 ms units */
#define  NVME_CAP_DSTRD(c)	((uint32_t)(((c) >> 32) & 0xf))
#define  NVME_CAP_CSS_NVM(c)	(((c) >> 37) & 1)
#define  NVME_CAP_MPSMIN(c)	((uint32_t)(((c) >> 48) & 0xf))
#define NVME_VS		0x08
#define NVME_INTMS	0x0c
#define NVME_CC		0x14
#define  NVME_CC_EN		(1u << 0)
#define  NVME_CC_IOSQES		(6u << 16)	/* 64-byte SQ entries */
#define  NVME_CC_IOCQES		(4u << 20)	/* 16-byte CQ entries */
#define  NVME_CC_SHN_NORMAL	(1u << 14)
#define NVME_CSTS	0x1c
#define  NVME_CSTS_RDY		(1u << 0)
#define  NVME_CSTS_CFS		(1u << 1)
#define  NVME_CSTS_SHST(s)	(((s) >> 2) & 3)
#define NVME_AQA	0x24
#define NVME_ASQ	0x28	/* u64 */
#define NVME_ACQ	0x30	/* u64 */
#define NVME_DB_BASE	0x1000

struct nvme_sqe {
	uint8_t opc;
	uint8_t flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t rsvd;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t dw0;
	uint32_t rsvd;
	uint16_t sqhd, sqid;
	uint16_t cid;
	uint16_t status;	/* bit 0 phase, 15:1 status field */
};

/* Admin opcodes. */
#define NVME_ADM_DELETE_SQ	0x00
#define NVME_ADM_CREATE_SQ	0x01
#define NVME_ADM_DELETE_CQ	0x04
#define NVME_ADM_CREATE_CQ	0x05
#define NVME_ADM_IDENTIFY	0x06
#define NVME_ADM_SET_FEATURES	0x09
#define NVME_FEAT_NUM_QUEUES	0x07

/* NVM opcodes. */
#define NVME_CMD_FLUSH		0x00
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02
#define NVME_CMD_WRITE_ZEROES	0x08
#define NVME_CMD_DSM		0x09	/* Dataset Management */
#define NVME_RW_FUA		(1u << 30)
#define NVME_DSM_AD		(1u << 2)	/* CDW11: deallocate the ranges */
#define NVME_ONCS_DSM		(1u << 2)	/* Identify Controller ONCS */
#define NVME_ONCS_WRITE_ZEROES	(1u << 3)

/* Dataset Management range (NVM Command Set 3.2.3, 16 bytes). */
struct nvme_dsm_range {
	uint32_t cattr;
	uint32_t nlb;		/* 1-based, unlike the Read/Write NLB */
	uint64_t slba;
};

/* Create I/O Completion Queue CDW11 (Base 2.0 5.4). */
#define NVME_CQ_PC		(1u << 0)	/* physically contiguous */
#define NVME_CQ_IEN		(1u << 1)	/* interrupts enabled */
#define NVME_CQ_IV(v)		((uint32_t)(v) << 16)

/* Identify Controller offsets. */
#define NVME_IDC_VID	0x000
#define NVME_IDC_SN	0x004	/* 20 bytes */
#define NVME_IDC_MN	0x018	/* 40 bytes */
#define NVME_IDC_MDTS	0x04d
#define NVME_IDC_NN	0x204	/* u32 */
#define NVME_IDC_ONCS	0x208	/* u16 */
#define NVME_IDC_VWC	0x20d
#define NVME_IDC_VS_AREA 0xc00	/* vendor specific; EBS: bdev[32] */

/* Identify Namespace offsets. */
#define NVME_IDN_NSZE	0x00	/* u64 */
#define NVME_IDN_NLBAF	0x19
#define NVME_IDN_FLBAS	0x1a
#define NVME_IDN_LBAF	0x80	/* u32 each: 23:16 LBADS */

#define NVME_VID_AMAZON	0x1d0f

#endif

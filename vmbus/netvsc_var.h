/*
 * netvsc_var.h - netvsc state (internal to vmbus/netvsc*.c and their
 * tests).  One softc per synthetic NIC; the receive buffer and the
 * nic_bufs lent from it live in struct netvsc_rxpool, which outlives a
 * detach while the upper layer still holds buffers (kernel/dev/nic.h).
 */
#ifndef TERN_NETVSC_VAR_H
#define TERN_NETVSC_VAR_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/dev/nic.h"
#include "kernel/hw/hw.h"
#include "vmbus/netvsc_reg.h"
#include "vmbus/vmbus.h"

/* Each direction.  With NETVSC_TX_SLOTS frames of at most ~600 ring
   bytes, transmit alone cannot fill it: the slots run out first.  The
   ring wait is tested with a build of a smaller ring
   (tests/vmbus/test_netvsc_txwait.c). */
#ifndef NETVSC_RING_BYTES
#define NETVSC_RING_BYTES	(128u * 1024)
#endif
#define NETVSC_RXBUF_BYTES	(2u * 1024 * 1024)
#define NETVSC_TXBUF_BYTES	(1u * 1024 * 1024)
#define NETVSC_RX_NBUFS		512	/* nic_bufs that can be lent at once */
#define NETVSC_MAX_XFER		64	/* transfer packets not yet acked */
#define NETVSC_MAX_RANGES	512	/* ranges in one transfer packet */
#define NETVSC_TX_SLOTS		128	/* frames sent, not yet completed */
#define NETVSC_TX_MAX_SECTIONS	1024
#define NETVSC_TX_COPY_MAX	512	/* frames up to this are copied */
#define NETVSC_TX_HDR_SLOT	64	/* RNDIS header (+ PPI) per TX slot */
#define NETVSC_PKT_MAX		8192	/* one inbound ring packet */
#define NETVSC_WAIT_NS		5000000000ull	/* control replies, as Linux */
#define NETVSC_CTL_MAX		256	/* RNDIS control response kept */
#define NETVSC_MAX_QUEUES	4	/* primary + up to 3 sub-channels */

/* Transaction id spaces (the host echoes them in completions). */
#define NETVSC_TID_TX		(1ull << 40)	/* | gen << 16 | slot */
#define NETVSC_TID_NVSP		(2ull << 40)	/* | sequence */
#define NETVSC_TID_RNDIS	(3ull << 40)	/* | sequence */
#define NETVSC_TID_SPACE	(0xffull << 40)

enum { NETVSC_XFER_FREE = 0, NETVSC_XFER_HELD, NETVSC_XFER_ACK };

struct netvsc_xfer {			/* one transfer packet in the guest */
	uint64_t trans_id;
	uint16_t pending;		/* lent buffers + 1 while parsing */
	uint16_t q;			/* queue (channel) it came on */
	uint8_t state;
};

struct netvsc_softc;

struct netvsc_rxpool {
	struct hw_dma mem;		/* this allocation */
	struct hw_dma buf;		/* the receive buffer (GPADL) */
	struct hw_dev hw;		/* copy of the channel's seam handle */
	struct netvsc_softc *sc;	/* NULL once orphaned by detach */
	bool keep_buf;			/* GPADL not torn down: never free */
	uint32_t out;			/* buffers lent to the upper layer */
	uint32_t nfree;
	uint16_t free[NETVSC_RX_NBUFS];
	struct nic_buf bufs[NETVSC_RX_NBUFS];
	struct netvsc_xfer xfer[NETVSC_MAX_XFER];
	uint32_t nxfer;			/* slots not FREE */
};

struct netvsc_tx {
	struct nic_buf *chain;
	uint32_t section;		/* NVSP_NO_SECTION when direct */
	uint16_t gen;
	bool used;
};

struct netvsc_queue {			/* one channel: 0 primary, k sub k */
	struct vmbus_chan *ch;
	bool dead;			/* closed or broken: not polled */
};

struct netvsc_stats {
	uint64_t xfer_pkts, xfer_bad, ranges_bad, rndis_bad, ppi_bad;
	uint64_t xfer_stalls;		/* ring left alone: bound reached */
	uint64_t xfer_out_max;		/* most transfer packets held */
	uint64_t acks, acks_deferred;
	uint64_t comp_unknown;		/* completions for ids we never sent */
	uint64_t tx_copied, tx_direct, tx_status_bad;
	uint64_t ctl_unexpected, ctl_bad, link_changes, pkts_other;
	uint64_t subchan_asked, subchan_got;
	uint64_t tx_waits;		/* transmit refusals that started a wait */
	uint64_t tx_wakeups;		/* tx_ready up-calls made */
	uint64_t rss_set, rss_refused;	/* receive-scale SETs */
	uint64_t sendtab_ok, sendtab_bad;	/* host send tables */
};

/* Why a queue's transmit waits (kernel/dev/nic.h transmit-ready rule). */
#define NETVSC_TXW_RING		0x01	/* its channel's ring: pending_send_sz */
#define NETVSC_TXW_SLOT		0x02	/* no free TX slot (shared) */
#define NETVSC_TXW_SECTION	0x04	/* no free send section (shared) */

struct netvsc_softc {
	struct nic nic;
	struct vmbus_chan *ch;		/* the primary channel (q[0].ch) */
	struct netvsc_queue q[NETVSC_MAX_QUEUES];
	uint16_t nq;			/* queues open */
	struct hw_dev *hw;
	bool registered, running, dead;
	uint32_t nvsp_ver, ndis_ver;
	struct netvsc_rxpool *rx;
	uint32_t rx_gpadl;
	bool rx_gpadl_ok;
	struct hw_dma txbuf;
	uint32_t tx_gpadl;
	bool tx_gpadl_ok;
	uint32_t sec_size, nsec, nsec_free;
	uint32_t sec_free[NETVSC_TX_MAX_SECTIONS];
	struct hw_dma ctl;		/* page 0: RNDIS control; then TX headers */
	struct netvsc_tx tx[NETVSC_TX_SLOTS];
	uint16_t tx_free[NETVSC_TX_SLOTS];
	uint32_t tx_nfree;
	bool rxcsum, txcsum;
	/* Transmit waits, per queue the upper layer sent on: what refused
	   its last frame (NETVSC_TXW_*, 0: none) and on which channel. */
	uint8_t txw_why[NIC_MAX_QUEUES];
	uint8_t txw_ch[NIC_MAX_QUEUES];
	/* vRSS (netvsc.c): rss when the host took our key and table; the
	   host's last good send table (see netvsc_send_table). */
	bool rss;
	bool send_tab_ok;
	uint32_t send_tab[NVSP_SEND_TAB_LEN];
	/* Control exchanges (attach): one at a time. */
	uint64_t seq;
	uint64_t nvsp_tid;		/* awaited COMP, 0 when none */
	bool nvsp_done;
	uint8_t nvsp_resp[64];
	uint32_t rndis_rid;		/* awaited RNDIS completion, 0 none */
	bool rndis_done;
	uint64_t rndis_tid;
	bool rndis_sent;		/* NVSP COMP of the control send */
	uint32_t rndis_len;
	uint8_t rndis_resp[NETVSC_CTL_MAX];
	uint32_t next_rid;
	uint32_t acks_pending;		/* xfer slots in state ACK */
	struct netvsc_stats st;
	uint8_t pkt[NETVSC_PKT_MAX];
};

/* netvsc_datapath.c */
int netvsc_rx_pool_init(struct netvsc_softc *sc);
/* Orphan the pool: freed now when nothing is lent, else by the last
   release. */
void netvsc_rx_pool_put(struct netvsc_softc *sc);
/* Take at most budget inbound packets; returns frames + TX completions. */
int netvsc_process(struct netvsc_softc *sc, int q, int budget);
void netvsc_tx_init(struct netvsc_softc *sc);
/* Give every unfinished TX chain back (detach). */
void netvsc_tx_drain(struct netvsc_softc *sc);
extern const struct nic_ops netvsc_nic_ops;

/* netvsc.c: an inband NVSP SEND_INDIRECTION_TABLE from the host (m is
   the NVSP message, len its bytes): validated, kept or counted bad. */
void netvsc_send_table(struct netvsc_softc *sc, const uint8_t *m, uint32_t len);
/* The default Toeplitz key the driver sets (the well-known one). */
extern const uint8_t netvsc_rss_key_default[NDIS_RSS_KEY_LEN];

#endif /* TERN_NETVSC_VAR_H */

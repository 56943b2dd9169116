/*
 * netvsc_vsp.h - the host side of a synthetic NIC for tests/vmbus/hv_sim
 * (PROTOCOLS.md B.11 NVSP, B.12 RNDIS, checklist B.15): a device hook
 * that answers the guest's NVSP and RNDIS requests, strict about every
 * field it is sent (violations go to hv_sim_error), with a packet queue
 * as its wire: frames the guest transmits land in `wire`, frames the
 * test injects go to the guest as transfer-page packets written into
 * the guest's receive buffer.
 *
 * vRSS: the guest's receive-scale parameters (OID 0x00010204, layout in
 * vmbus/netvsc_reg.h) are checked field by field and kept; from then on
 * each received frame goes on the channel its Toeplitz hash (IPv4+TCP
 * 4-tuple, else the IPv4 pair, with the guest's key; our own
 * implementation from the definition) picks in the guest's indirection
 * table; before that, and for frames that are not IPv4, on the primary.
 * rx_q != 0 still forces one channel.  netvsc_vsp_send_table sends the
 * host's SEND_INDIRECTION_TABLE, well-formed or not.
 *
 * Faults: NVSP versions refused above max_nvsp, RNDIS INITIALIZE or the
 * offload parameters refused, control replies that are malformed or
 * never come, transfer packets with any ranges a test likes (inside or
 * outside the receive buffer), completions for ids the guest never
 * used, link down/up indications, a guest->host ring left undrained
 * (f_no_drain) and drained again a packet at a time, and TX completions
 * held back.  Every host read audits the guest's writes (hv_sim: never
 * more than was free, pending_send_sz honoured).
 */
#ifndef TERN_TESTS_NETVSC_VSP_H
#define TERN_TESTS_NETVSC_VSP_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/vmbus/hv_sim.h"
#include "vmbus/netvsc_reg.h"

#define VSP_WIRE	64
#define VSP_FRAME_MAX	2048
#define VSP_MAX_XFER	256
#define VSP_MAX_RANGES	64
#define VSP_MAX_HELD	256

struct vsp_frame {
	uint8_t data[VSP_FRAME_MAX];
	uint32_t len;
	bool copied;			/* came through a send section */
	uint32_t relid;			/* the channel it was sent on */
	bool csum_ppi;			/* carried a checksum PPI */
	uint32_t csum_info;
};

struct netvsc_vsp {
	struct hv_sim *s;
	uint32_t relid;
	/* Device configuration */
	uint32_t max_nvsp;		/* newest NVSP accepted (NVSP_V61) */
	uint8_t mac[6];
	uint32_t mtu;			/* reported maximum frame size */
	bool link_up;
	uint32_t sub_alloc, sec_size;	/* 1728, 6144 (B.15) */
	uint32_t max_sub;		/* sub-channels granted (0) */
	/* Faults */
	uint32_t f_rndis_init_status;	/* INITIALIZE completion status */
	bool f_offload_refuse;		/* SET OFFLOAD_PARAMETERS fails */
	bool f_rss_refuse;		/* SET RECEIVE_SCALE_PARAMETERS fails */
	bool f_ctl_mute;		/* no RNDIS control completions */
	bool f_ctl_bad_len;		/* control completions claim too much */
	uint32_t f_recv_buf_sections;	/* 0: 1 */
	bool f_no_drain;		/* leave the guest->host ring alone */
	bool f_hold_tx;			/* keep TX completions until released */
	int f_drop_at;			/* n-th reply from now is lost (0: never) */
	uint32_t f_tx_status;		/* TX completion status (0: SUCCESS) */
	/* The wire beyond the recorded frames (ternsim: a TAP). */
	void (*on_tx)(void *ctx, const uint8_t *frame, uint32_t len);
	void *tx_ctx;
	/* Page buffers may name any address (ternsim: the workload's memory
	   is not the simulator's DMA memory); tests leave it false. */
	bool any_guest_memory;
	/* Protocol state */
	uint32_t nvsp_ver;
	bool ndis_config, ndis_ver;
	uint32_t rx_gpadl, tx_gpadl;
	bool rxbuf, txbuf, rx_revoked, tx_revoked;
	uint32_t nsub, nsec;
	bool rndis_up;
	uint32_t filter;
	bool offload_on;
	uint8_t sub_used[4096];		/* receive sub-allocations in use */
	uint32_t nsubch;		/* sub-channels offered */
	uint32_t sub_relid[4];
	struct sim_chan *cur;		/* channel being served (the hook) */
	hv_sim_hook next_hook;		/* the hook before ours: other VSPs */
	void *next_ctx;
	int rx_q;			/* channel host packets go on: 0 the
					   primary, k sub-channel k */
	struct {
		bool used;
		uint64_t tid;
		uint32_t relid;
		int n;
		uint16_t sub[VSP_MAX_RANGES];
	} xfer[VSP_MAX_XFER];
	uint64_t next_tid;
	uint32_t xfer_out;		/* transfer packets not acknowledged */
	struct {
		uint64_t tid;
		uint32_t status, relid;
	} held[VSP_MAX_HELD];
	int nheld;
	/* The wire, guest to host. */
	struct vsp_frame wire[VSP_WIRE];
	int nwire;
	/* vRSS as the guest set it (rss_on: hash frames to channels) */
	bool rss_on;
	uint32_t rss_hash;		/* hash_info: function | types */
	uint32_t rss_ntab;		/* entries */
	uint32_t rss_tab[NDIS_RSS_ITAB_LEN];
	uint8_t rss_key[NDIS_RSS_KEY_LEN];
	uint64_t rss_sets;
	uint64_t rx_chan_frames[5];	/* frames delivered per channel */
	/* Counters */
	uint64_t tx_frames, tx_copied, tx_direct, acks, xfers, ctl_msgs;
	uint64_t nvsp_inits;
};

/* Configure (MAC 00:15:5d:..., MTU 1500, link up) and hook into s; a
   hook already there (another VSP) still gets every other channel. */
void netvsc_vsp_init(struct netvsc_vsp *v, struct hv_sim *s, uint32_t relid);
/* The device was rescinded and is offered again: forget the guest's
   buffers and the protocol state (the wire and counters stay). */
void netvsc_vsp_reoffered(struct netvsc_vsp *v);
/* Take what the guest sent (after f_no_drain), send held completions
   (clears f_hold_tx). */
void netvsc_vsp_drain(struct netvsc_vsp *v);
/* Resume draining a little: at most max packets of the primary channel
   (the host's reads signal a blocked guest exactly as B.10 says, see
   hv_sim); returns how many were taken. */
int netvsc_vsp_drain_some(struct netvsc_vsp *v, int max);
void netvsc_vsp_release_tx(struct netvsc_vsp *v);
/* Frames to the guest: one transfer packet with one range per frame,
   each an RNDIS PACKET (with a checksum PPI when csum_info >= 0).
   Returns the transfer id, 0 when there is no room (sub-allocations
   or ring). */
uint64_t netvsc_vsp_rx(struct netvsc_vsp *v, const uint8_t *const *frames,
    const uint32_t *lens, int n, int64_t csum_info);
/* Raw RNDIS messages to the guest, one range each. */
uint64_t netvsc_vsp_rx_msgs(struct netvsc_vsp *v, const void *const *msgs,
    const uint32_t *lens, int n);
/* A transfer packet with caller-made ranges (they may be bad) that the
   guest must still acknowledge. */
uint64_t netvsc_vsp_xfer_raw(struct netvsc_vsp *v, uint16_t pageset,
    const struct vmbus_xfer_range *r, int n);
/* A completion for a transaction id the guest never used. */
int netvsc_vsp_comp_bogus(struct netvsc_vsp *v, uint64_t tid);
/* RNDIS INDICATE_STATUS media connect/disconnect. */
int netvsc_vsp_link(struct netvsc_vsp *v, bool up);
/* The host's view of the receive buffer (NULL outside). */
uint8_t *netvsc_vsp_rxbuf(struct netvsc_vsp *v, uint32_t off, uint32_t len);
bool netvsc_vsp_xfer_outstanding(const struct netvsc_vsp *v, uint64_t tid);
/* Toeplitz hash of n input bytes with a key of klen bytes (key bits past
   its end count as 0), as the RSS definition states it: for every set
   input bit i (most significant first) XOR in the 32 key bits starting
   at bit i. */
uint32_t netvsc_vsp_toeplitz(const uint8_t *key, uint32_t klen,
    const uint8_t *in, uint32_t n);
/* The channel (0 primary, k sub-channel k) a frame goes on under the
   guest's RSS settings; *hashed tells whether a hash picked it. */
int netvsc_vsp_rss_chan(const struct netvsc_vsp *v, const uint8_t *frame,
    uint32_t len, bool *hashed);
/* An inband NVSP message of len bytes from the host on the primary (the
   send indirection table, well-formed or hostile). */
int netvsc_vsp_send_inband(struct netvsc_vsp *v, const void *msg, uint32_t len);

#endif

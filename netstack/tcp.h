/*
 * tcp.h - TCP (RFC 9293) for the netstack: passive and active open
 * (simultaneous open and close included), MSS, window scaling, SACK and
 * timestamps (RFC 7323, RFC 2018), a bounded out-of-order queue, delayed
 * ACKs, RFC 6298 retransmission, NewReno congestion control (RFC 5681,
 * RFC 6582, initial window RFC 6928) filling SACKed holes, Nagle,
 * keepalive, zero-window probes, a SYN backlog with SYN cookies, a
 * separate TIME_WAIT table, RFC 5961 RST/SYN checks and RFC 6528 ISNs.  docs/netstack.md
 * has the limits.
 *
 * Receive is zero copy: recv() is called with a view into the driver's
 * buffer and the buffer itself, which the callee may keep by taking a
 * reference (nic_buf_hold).  By default the data counts as
 * consumed when recv() returns.  A pcb put in credit mode
 * (tcp_set_rx_credit) instead counts every delivered byte against its
 * receive window until the application hands it back with tcp_recved():
 * a slow reader then makes the stack advertise a zero window rather than
 * lose data, and the window reopens (with a window update) as it reads.
 *
 * Send is by reference and zero copy: tcp_write() queues a pointer to the
 * caller's memory, which must stay unchanged until its release callback
 * runs.  Each segment goes out as a header buffer chained to nic_bufs
 * that point into that memory (split at 4 KiB pages, which need not be
 * physically contiguous), so release runs only when the peer has
 * acknowledged all of it AND no frame in a NIC TX ring still points into
 * it; when the connection dies before that, release still waits for the
 * NIC (closed() may come first).  Tiny segments, segments that would
 * need more than TCP_ZC_FRAGS pieces or wait for ARP, and memory queued
 * with tcp_write_ref(..., false) are copied (counted in payload_copied).
 *
 * Every call comes from the netstack's single thread; none blocks.
 */
#ifndef TERN_TCP_H
#define TERN_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/dev/nic.h"

struct netstack;
struct tcp_pcb;

#define TCP_MAX_PCBS	256
#define TCP_MAX_LISTEN	4
#define TCP_SENDQ	16
/* A send-queue slot: unsigned, so the modulo of the power of two is a mask. */
#define SQ_IDX(k)	((int)((unsigned)(k) % TCP_SENDQ))
#define TCP_OOO_MAX	48	/* out-of-order segments one connection may hold */
#define TCP_OOO_SLOTS	64	/* shared pool of out-of-order segment buffers */
#define TCP_OOO_SLOT_SIZE 1536	/* larger out-of-order segments are dropped */
#define TCP_SYN_BACKLOG	32	/* half-open connections per listener */
#define TCP_TW_ENTRIES	512	/* compact TIME_WAIT table */
#define TCP_HASH	128	/* connection lookup buckets */
#define TCP_CHALLENGE_PER_S 100	/* RFC 5961 challenge ACKs per second */
#define TCP_SACK_MAX	4	/* peer SACK ranges remembered per connection */
#define TCP_ZBUFS	512	/* zero-copy payload descriptors in NIC rings */
#define TCP_ZC_FRAGS	4	/* payload pieces per zero-copy frame */
#define TCP_TSO_FRAGS	16	/* payload pieces per TSO frame (virtio-net
				   takes the header buffer and 16 more) */
#define TCP_TSO_MAX	(65535 - IP_HLEN - 60)	/* payload bytes per TSO frame */

enum tcp_state {
	TCP_CLOSED = 0, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RCVD, TCP_ESTABLISHED,
	TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

struct tcp_cbs {
	/* Data in order; len 0 means the peer closed its side.  b is the
	   received buffer data lies in (the driver's DMA buffer), or NULL
	   when the stack had to copy it (out-of-order queue, reassembly);
	   data is valid only during the call unless the callee takes a
	   reference with nic_buf_hold(b) (and later nic_buf_release(b)).
	   Holding receive buffers starves the NIC of them: bound it. */
	void (*recv)(void *ctx, struct tcp_pcb *pcb, const uint8_t *data, size_t len,
	    struct nic_buf *b);
	/* The connection is gone (reset: TERN_ECONNRESET, refused:
	   TERN_ECONNREFUSED, timed out: TERN_ETIMEDOUT, aborted here:
	   TERN_ECANCELED, fully closed: TERN_OK); the pcb must not be used
	   after this returns. */
	void (*closed)(void *ctx, struct tcp_pcb *pcb, int reason);
	/* An active open (tcp_connect) completed; MAY be NULL. */
	void (*connected)(void *ctx, struct tcp_pcb *pcb);
};

struct tcp_sendref {
	const uint8_t *data;
	void (*release)(void *rctx);
	void *rctx;
	uint32_t len;
	uint32_t acked;		/* bytes of this ref the peer has acknowledged */
	uint32_t inflight;	/* frames in a NIC TX ring pointing into it */
	bool dma_ok;		/* the NIC may read it in place */
};

/* A payload piece of a zero-copy frame: points into a sendref. */
struct tcp_zbuf {
	struct nic_buf nb;
	struct tcp_pcb *pcb;
	uint8_t ref;		/* index in pcb->sq */
	bool used;
};

/* An out-of-order segment held in pool slot i (tcp_state_all.ooo[i],
   its bytes in ooo_buf[i]); each connection keeps a list sorted by seq. */
struct tcp_ooo {
	uint32_t seq;
	uint16_t len;
	uint16_t next;		/* next slot of the same connection + 1, 0 ends */
};

struct tcp_pcb {
	enum tcp_state state;
	uint32_t rip;		/* remote address */
	uint16_t lport, rport;
	uint32_t iss, snd_una, snd_nxt, snd_wnd, snd_max;
	uint32_t snd_wl1, snd_wl2;	/* segment that last updated snd_wnd */
	uint32_t irs, rcv_nxt;
	uint32_t rcv_adv;	/* right edge of the window we advertised */
	uint32_t rcv_buf;	/* receive window when the application holds nothing */
	uint32_t rcv_held;	/* credit mode: delivered, not yet tcp_recved() */
	uint16_t mss;		/* peer's MSS, bounded by ours */
	uint8_t snd_wscale, rcv_wscale;	/* RFC 7323 shifts (0 when not agreed) */
	bool ws_ok, sack_ok, ts_ok, rx_credit, nodelay, sws_force, in_output;
	uint32_t max_sndwnd;	/* largest window the peer offered */
	bool fin_queued, fin_sent, fin_rcvd;
	struct tcp_listener *lst;	/* passive, not yet accepted */
	uint16_t hnext;		/* lookup chain: next pcb index + 1, 0 ends */
	bool hashed;
	struct tcp_sendref sq[TCP_SENDQ];
	int sq_head, sq_len;
	uint64_t sq_bytes;	/* sum of len - acked over sq */
	uint16_t ooo_head;	/* first held segment's slot + 1, 0: none */
	uint16_t ooo_n;
	uint32_t ooo_last;	/* seq of the latest out-of-order arrival */
	uint32_t ts_recent;	/* RFC 7323: peer's TSval to echo */
	uint32_t delack_bytes;	/* received, not yet acknowledged */
	uint16_t rcv_mss;	/* largest segment received */
	uint64_t delack_deadline;	/* 0: no ACK pending */
	uint32_t cwnd, ssthresh, recover;
	uint32_t lt_allow;	/* RFC 3042: bytes allowed past cwnd */
	int dupacks;
	bool in_recovery;
	uint8_t nsack;		/* scoreboard: ranges above snd_una the peer holds */
	uint32_t sack_l[TCP_SACK_MAX], sack_r[TCP_SACK_MAX];
	uint32_t rtx_high;	/* recovery: retransmitted up to here */
	uint64_t rto_ns, srtt_ns, rttvar_ns;
	uint64_t rtx_deadline;	/* 0: timer off */
	uint64_t persist_deadline, persist_ns;	/* zero-window probes */
	uint64_t last_rx;	/* keepalive idle clock */
	uint64_t fw2_deadline;	/* FIN_WAIT_2: give up on a silent peer */
	uint64_t ka_idle_ns, ka_intvl_ns, ka_deadline;
	uint8_t ka_count, ka_sent;
	uint32_t rtt_seq;	/* sequence being timed, 0: none */
	uint64_t rtt_start;
	int retries;
	struct tcp_cbs cbs;
	void *ctx;
	struct netstack *ns;
};

struct tcp_listener {
	uint16_t port;
	int half_open;		/* SYN_RCVD pcbs for this listener */
	void (*accept)(void *ctx, struct tcp_pcb *pcb);
	void *ctx;
};

/* A connection in TIME_WAIT (RFC 9293 3.6), without its pcb. */
struct tcp_tw {
	uint32_t rip;
	uint16_t lport, rport;
	uint32_t snd_nxt, rcv_nxt;
	uint64_t end;		/* 0: free */
};

struct tcp_stats {
	uint64_t segs_in, segs_out, retransmits, resets_in, resets_out;
	uint64_t challenge_acks, bad_csum, syn_dropped_full, out_of_order;
	uint64_t accepted, aborted, connected, connect_failed;
	uint64_t ooo_dropped, ooo_copied, paws_dropped, outside_window;
	uint64_t delayed_acks, fast_retransmits, persist_probes, keepalive_probes;
	uint64_t sack_retransmits, sack_blocks_bad, timeouts;
	uint64_t syn_cookies_sent, syn_cookies_ok, syn_cookies_bad;
	uint64_t tw_recycled, zc_frames, challenge_limited;
	uint64_t tso_frames;		/* frames the NIC segments (NIC_TX_TSO) */
	uint64_t timer_scans;		/* ns_tcp_timers passes over every pcb */
};

struct tcp_state_all {
	struct tcp_pcb pcbs[TCP_MAX_PCBS];
	uint16_t hash[TCP_HASH];	/* first pcb index + 1 per bucket */
	uint64_t live[TCP_MAX_PCBS / 64];	/* pcbs not CLOSED, for the timers */
	/* No pcb deadline falls before next_due (tcp_arm lowers it, the
	   scan recomputes it), so ns_tcp_timers skips the scan until then,
	   or until TCP_SCAN_MAX_NS since the last one (full_ns). */
	uint64_t next_due, full_ns;
	/* pcbs with a segment refused by a waiting NIC queue, and those of
	   them whose refused segment was a pure ACK: resumed by tx_ready. */
	uint64_t txwait[TCP_MAX_PCBS / 64];
	uint64_t ackwait[TCP_MAX_PCBS / 64];
	struct tcp_listener listen[TCP_MAX_LISTEN];
	struct tcp_tw tw[TCP_TW_ENTRIES];
	struct tcp_ooo ooo[TCP_OOO_SLOTS];
	uint8_t ooo_buf[TCP_OOO_SLOTS][TCP_OOO_SLOT_SIZE];
	bool ooo_used[TCP_OOO_SLOTS];
	struct tcp_zbuf zbufs[TCP_ZBUFS];
	uint64_t isn_key[2];
	uint64_t cookie_key[2];
	uint16_t next_port;
	uint64_t challenge_sec;		/* rate limit window */
	uint32_t challenge_left;
	struct tcp_stats st;
};

int tcp_listen(struct netstack *ns, uint16_t port,
    void (*accept)(void *ctx, struct tcp_pcb *pcb), void *ctx);
/* Stop listening on port; half-open connections to it are reset,
   established ones are not affected. */
void tcp_unlisten(struct netstack *ns, uint16_t port);
/*
 * Active open to rip:rport from an ephemeral port.  On TERN_OK *out is
 * in SYN_SENT and owned by the stack; cbs->connected runs when the
 * handshake completes, cbs->closed (with the reason) if it fails: refused
 * by RST, or no answer after the bounded SYN retransmissions (about 63 s:
 * 1+2+4+8+16+32).  TERN_ENOMEM when every pcb or ephemeral port is taken,
 * TERN_EINVAL without an address or for port 0.
 */
int tcp_connect(struct netstack *ns, uint32_t rip, uint16_t rport,
    const struct tcp_cbs *cbs, void *ctx, struct tcp_pcb **out);
/* Queue len bytes at data for sending; TERN_EAGAIN when the queue is full,
   TERN_ENOTCONN when the connection can no longer send, TERN_EINVAL for
   len of 4 GiB or more.  The memory MUST be where drivers can translate
   it for DMA (hw_virt_to_phys: the kernel image, heap or direct map),
   since frames point into it; else use tcp_write_ref(..., false). */
int tcp_write(struct tcp_pcb *pcb, const void *data, size_t len,
    void (*release)(void *rctx), void *rctx);
/* tcp_write, saying whether the NIC may read the memory in place
   (dma_ok); when false every segment's payload is copied into the frame
   (counted in payload_copied), e.g. for memory mapped outside the direct
   map such as a workload image. */
int tcp_write_ref(struct tcp_pcb *pcb, const void *data, size_t len,
    void (*release)(void *rctx), void *rctx, bool dma_ok);
/* Send FIN after the queued data. */
void tcp_close(struct tcp_pcb *pcb);
/* Reset the connection now. */
void tcp_abort(struct tcp_pcb *pcb);
/* Nagle's algorithm (RFC 1122 4.2.3.4) is on by default; true turns it
   off so small writes leave at once. */
void tcp_set_nodelay(struct tcp_pcb *pcb, bool on);
/* Probe an idle connection after idle_ms, then every intvl_ms; after
   count unanswered probes it is closed with TERN_ETIMEDOUT.  idle_ms 0
   turns keepalive off (the default). */
void tcp_set_keepalive(struct tcp_pcb *pcb, uint32_t idle_ms, uint32_t intvl_ms,
    uint8_t count);
/* Credit mode (see the top of this file): delivered bytes stay charged
   to the receive window until tcp_recved() returns them. */
void tcp_set_rx_credit(struct tcp_pcb *pcb, bool on);
/* The application consumed n delivered bytes (credit mode); the window
   grows and, if it had closed or shrunk a lot, a window update is sent. */
void tcp_recved(struct tcp_pcb *pcb, size_t n);
/* Bytes that may be queued with tcp_write before it returns TERN_EAGAIN
   (counted in references, not bytes): true if one more fits. */
bool tcp_writable(const struct tcp_pcb *pcb);

/* netstack internals */
/* csum_ok: the checksum was vouched for by the device (see
   ns_ip_deliver); otherwise it is verified here. */
void ns_tcp_input(struct netstack *ns, uint32_t src, uint32_t dst,
    const uint8_t *seg, size_t len, bool csum_ok);
void ns_tcp_timers(struct netstack *ns);
/* A NIC queue takes frames again: output of every connection that had a
   segment refused meanwhile (tcp_out.c). */
void ns_tcp_tx_resume(struct netstack *ns);
/* Draw the ISN and SYN cookie keys from port.random (netstack_attach;
   later calls keep the keys). */
void tcp_keys(struct netstack *ns);

#endif

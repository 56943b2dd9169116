/*
 * tcp.h - TCP (RFC 9293) for the netstack: passive open, in-order
 * receive, reliable send with RFC 6298 retransmission, orderly close and
 * RFC 5961 RST/SYN checks.  See tcp.c for what is not there yet.
 *
 * Receive is zero copy: recv() is called with a view into the driver's
 * buffer, valid only during the call.  Send is by reference: tcp_write()
 * queues a pointer to the caller's memory, which must stay unchanged until
 * its release callback runs (when the peer has acknowledged all of it, or
 * the connection dies).  Segments are built per transmission.
 */
#ifndef TERN_TCP_H
#define TERN_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netstack;
struct tcp_pcb;

#define TCP_MAX_PCBS	64
#define TCP_MAX_LISTEN	4
#define TCP_SENDQ	16

enum tcp_state {
	TCP_CLOSED = 0, TCP_LISTEN, TCP_SYN_RCVD, TCP_ESTABLISHED, TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_TIME_WAIT,
};

struct tcp_cbs {
	/* Data in order; len 0 means the peer closed its side. */
	void (*recv)(void *ctx, struct tcp_pcb *pcb, const uint8_t *data, size_t len);
	/* The connection is gone (reset, timed out, or fully closed); the pcb
	   must not be used after this returns. */
	void (*closed)(void *ctx, struct tcp_pcb *pcb, int reason);
};

struct tcp_sendref {
	const uint8_t *data;
	size_t len;
	size_t acked;		/* bytes of this ref the peer has acknowledged */
	void (*release)(void *rctx);
	void *rctx;
};

struct tcp_pcb {
	enum tcp_state state;
	uint32_t rip;		/* remote address */
	uint16_t lport, rport;
	uint32_t iss, snd_una, snd_nxt, snd_wnd, snd_max;
	uint32_t irs, rcv_nxt;
	uint16_t mss;
	bool fin_queued, fin_sent;
	struct tcp_sendref sq[TCP_SENDQ];
	int sq_head, sq_len;
	uint64_t rto_ns, srtt_ns, rttvar_ns;
	uint64_t rtx_deadline;	/* 0: timer off */
	uint64_t timewait_end;
	uint32_t rtt_seq;	/* sequence being timed, 0: none */
	uint64_t rtt_start;
	int retries;
	struct tcp_cbs cbs;
	void *ctx;
	struct netstack *ns;
};

struct tcp_listener {
	uint16_t port;
	void (*accept)(void *ctx, struct tcp_pcb *pcb);
	void *ctx;
};

struct tcp_stats {
	uint64_t segs_in, segs_out, retransmits, resets_in, resets_out;
	uint64_t challenge_acks, bad_csum, syn_dropped_full, out_of_order;
	uint64_t accepted, aborted;
};

struct tcp_state_all {
	struct tcp_pcb pcbs[TCP_MAX_PCBS];
	struct tcp_listener listen[TCP_MAX_LISTEN];
	uint64_t isn_key[2];
	struct tcp_stats st;
};

int tcp_listen(struct netstack *ns, uint16_t port,
    void (*accept)(void *ctx, struct tcp_pcb *pcb), void *ctx);
/* Stop listening on port; half-open connections to it are reset,
   established ones are not affected. */
void tcp_unlisten(struct netstack *ns, uint16_t port);
/* Queue len bytes at data for sending; TERN_EAGAIN when the queue is full,
   TERN_ENOTCONN when the connection can no longer send. */
int tcp_write(struct tcp_pcb *pcb, const void *data, size_t len,
    void (*release)(void *rctx), void *rctx);
/* Send FIN after the queued data. */
void tcp_close(struct tcp_pcb *pcb);
/* Reset the connection now. */
void tcp_abort(struct tcp_pcb *pcb);

/* netstack internals */
void ns_tcp_input(struct netstack *ns, uint32_t src, uint32_t dst,
    const uint8_t *seg, size_t len);
void ns_tcp_timers(struct netstack *ns);

#endif

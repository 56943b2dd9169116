/*
 * tcp_var.h - TCP internals shared by tcp.c (API, input, state machine),
 * tcp_out.c (segment building, output, retransmission, timers), tcp_cc.c
 * (SACK scoreboard, congestion control) and tcp_syn.c (SYN cookies, the
 * TIME_WAIT table, ephemeral ports).
 * Not for users of the stack.
 */
#ifndef TERN_TCP_VAR_H
#define TERN_TCP_VAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netstack/ns_var.h"

#define IPPROTO_TCP	6
#define TCP_HLEN	20
#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10

#define MS_NS(x)	((uint64_t)(x) * 1000000ULL)
#define RTO_INIT_NS	MS_NS(1000)	/* RFC 6298 2.1 */
#define RTO_MIN_NS	MS_NS(200)	/* below RFC 6298's 1 s, as common practice */
#define RTO_MAX_NS	MS_NS(60000)
#define MAX_RETRIES	8		/* data retransmissions before abort */
#define SYN_RETRIES	6		/* 1+2+4+8+16+32 s */
#define TIMEWAIT_NS	MS_NS(2000)	/* short 2*MSL, see docs/netstack.md */
#define FIN_WAIT2_NS	MS_NS(60000)	/* idle FIN_WAIT_2 limit, as Linux */
#define DELACK_NS	MS_NS(40)	/* RFC 1122 4.2.3.2: at most 500 ms */
#define PERSIST_MAX_NS	MS_NS(60000)
#define MSS_DEFAULT	536		/* RFC 9293 3.7.1 without the option */
#define RCV_BUF		(256u << 10)	/* receive window */
#define RCV_WSCALE	3		/* 256 KiB fits 16 bits << 3 */
#define TS_OPT_LEN	12
/* Largest MSS the sender uses: a segment with its headers fits one
   ns_txbuf (1536 - 14 - 20 - 20, less 22 for options = 1460). */
#define TCP_TX_SEG_MAX	(NS_TXBUF_SIZE - ETH_HLEN - IP_HLEN - TCP_HLEN - 22)
#define TCP_CWND_MAX	(1u << 30)	/* keeps cwnd arithmetic far from overflow */		/* NOP NOP TS(10) */

#define SEQ_LT(a, b)	((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b)	((int32_t)((a) - (b)) <= 0)

/* Options of one incoming segment (RFC 9293 3.1, RFC 7323, RFC 2018). */
struct tcp_opts {
	uint16_t mss;		/* 0: absent */
	int wscale;		/* -1: absent */
	bool sack_ok, ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];	/* left, right edges as sent: unchecked */
};

static inline uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static inline uint32_t max32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* Sets one of p's timer deadlines (0: off); the timer scan runs again
   by then (tcp_state_all.next_due). */
static inline void
tcp_arm(struct tcp_pcb *p, uint64_t *deadline, uint64_t when)
{
	*deadline = when;
	if (when != 0 && when < p->ns->tcp.next_due)
		p->ns->tcp.next_due = when;
}

/* A scan of every connection at least this often, whatever next_due says. */
#define TCP_SCAN_MAX_NS	MS_NS(100)

static inline uint32_t
tcp_pseudo(uint32_t src, uint32_t dst, size_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	    IPPROTO_TCP + (uint32_t)len;
}

/* RFC 7323 5.4: a millisecond timestamp clock. */
static inline uint32_t
tcp_now_ms(struct netstack *ns)
{
	return (uint32_t)(ns_now(ns) / 1000000ULL);
}

/* tcp_out.c */
/* A bare segment without options (RSTs, TIME_WAIT ACKs). */
int tcp_send_bare(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd);
/* The SYN-ACK carrying a SYN cookie (MSS option only, unscaled window). */
int tcp_send_cookie(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint32_t seq, uint32_t ack, uint16_t mss);
/* SYN or SYN-ACK for p with the options agreed (or offered). */
int tcp_send_syn(struct tcp_pcb *p);
/* A pure ACK for p (SACK blocks included), clears the delayed ACK. */
void tcp_send_ack(struct tcp_pcb *p);
/* A keepalive or zero-window probe: an old sequence number that makes
   the peer answer with an ACK (RFC 9293 3.8.4, 3.8.6.1). */
void tcp_send_probe(struct tcp_pcb *p);
void tcp_output(struct tcp_pcb *p);
void tcp_retransmit_first(struct tcp_pcb *p);
/* Retransmits the first hole the SACK scoreboard shows above rtx_high;
   false if there is none. */
bool tcp_retransmit_hole(struct tcp_pcb *p);
uint32_t tcp_rcv_wnd(struct tcp_pcb *p);
uint32_t tcp_unsent_from(struct tcp_pcb *p, uint32_t seq);
void tcp_pcb_timers(struct tcp_pcb *p, uint64_t now);

/* tcp.c */
void tcp_pcb_free(struct tcp_pcb *p, int reason);
void tcp_sq_reap(struct tcp_pcb *p);
void tcp_rtt_sample(struct tcp_pcb *p, uint64_t r);
uint32_t tcp_hash(const uint64_t key[2], const uint32_t *w, size_t n);

/* tcp_cc.c */
void tcp_sack_prune(struct tcp_pcb *p);
bool tcp_sack_update(struct tcp_pcb *p, const struct tcp_opts *o);
void tcp_cong_on_ack(struct tcp_pcb *p, uint32_t ack, uint32_t n);
void tcp_cong_on_dupack(struct tcp_pcb *p);

/* tcp_syn.c */
uint32_t tcp_cookie_make(struct netstack *ns, uint32_t rip, uint16_t lport,
    uint16_t rport, uint32_t irs, uint16_t mss);
/* The MSS the cookie in `ack` encodes, or 0 if it is forged or expired. */
uint16_t tcp_cookie_check(struct netstack *ns, uint32_t rip, uint16_t lport,
    uint16_t rport, uint32_t irs, uint32_t ack);
void tcp_tw_add(struct tcp_pcb *p);
/* True if the segment belonged to a TIME_WAIT entry (and was handled);
   *reopen is set when a new SYN may take over the tuple. */
bool tcp_tw_input(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint8_t flags, uint32_t seq, size_t dlen, bool *reopen);
int tcp_ephemeral_port(struct netstack *ns, uint32_t rip, uint16_t rport,
    uint16_t *out);

#endif

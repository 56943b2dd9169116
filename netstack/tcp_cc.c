/*
 * tcp_cc.c - TCP loss recovery and congestion control: the SACK
 * scoreboard built from the peer's blocks (RFC 2018, RFC 6675), slow
 * start and congestion avoidance (RFC 5681), limited transmit (RFC 3042)
 * and NewReno fast retransmit/recovery (RFC 6582) that fills SACKed
 * holes.  Called from ACK processing in tcp.c; sends through tcp_out.c.
 */
#include <stdbool.h>
#include <stdint.h>

#include "netstack/tcp_var.h"

/* Drops scoreboard ranges the cumulative ACK passed. */
void
tcp_sack_prune(struct tcp_pcb *p)
{
	int k = 0;
	for (int i = 0; i < p->nsack; i++) {
		if (SEQ_LEQ(p->sack_r[i], p->snd_una))
			continue;
		p->sack_l[k] = SEQ_LT(p->sack_l[i], p->snd_una) ? p->snd_una : p->sack_l[i];
		p->sack_r[k] = p->sack_r[i];
		k++;
	}
	p->nsack = (uint8_t)k;
}

static uint32_t
sack_total(const struct tcp_pcb *p)
{
	uint32_t n = 0;
	for (int i = 0; i < p->nsack; i++)
		n += p->sack_r[i] - p->sack_l[i];
	return n;
}

/* RFC 2018 / RFC 6675 scoreboard: merges the peer's blocks, each checked
   to lie within (snd_una, snd_max]; keeps the lowest TCP_SACK_MAX ranges,
   the ones retransmission needs first.  True if it now covers more. */
bool
tcp_sack_update(struct tcp_pcb *p, const struct tcp_opts *o)
{
	uint32_t before = sack_total(p);
	uint32_t l[TCP_SACK_MAX + 4], r[TCP_SACK_MAX + 4];
	int n = 0;
	for (int i = 0; i < p->nsack; i++, n++) {
		l[n] = p->sack_l[i];
		r[n] = p->sack_r[i];
	}
	for (int b = 0; b < o->nsack; b++) {
		uint32_t bl = o->sack[b][0], br = o->sack[b][1];
		if (!SEQ_LT(bl, br) || SEQ_LT(p->snd_max, br) || SEQ_LEQ(br, p->snd_una)) {
			p->ns->tcp.st.sack_blocks_bad++;
			continue;
		}
		if (SEQ_LT(bl, p->snd_una))
			bl = p->snd_una;
		int at = n++;
		while (at > 0 && SEQ_LT(bl, l[at - 1])) {
			l[at] = l[at - 1];
			r[at] = r[at - 1];
			at--;
		}
		l[at] = bl;
		r[at] = br;
	}
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (k > 0 && SEQ_LEQ(l[i], r[k - 1])) {
			if (SEQ_LT(r[k - 1], r[i]))
				r[k - 1] = r[i];
		} else if (k < TCP_SACK_MAX) {
			l[k] = l[i];
			r[k] = r[i];
			k++;
		}
	}
	for (int i = 0; i < k; i++) {
		p->sack_l[i] = l[i];
		p->sack_r[i] = r[i];
	}
	p->nsack = (uint8_t)k;
	return sack_total(p) > before;
}

/* RFC 5681 3.1 growth and RFC 6582 3.2 steps 5-6 for an ACK of n bytes. */
void
tcp_cong_on_ack(struct tcp_pcb *p, uint32_t ack, uint32_t n)
{
	if (p->in_recovery) {
		if (SEQ_LT(ack, p->recover)) {
			/* Partial ACK: resend the next hole, deflate by the amount
			   acknowledged, add back one segment. */
			tcp_retransmit_first(p);
			p->cwnd = p->cwnd > n ? p->cwnd - n : 0;
			if (n >= p->mss)
				p->cwnd += p->mss;
			if (p->cwnd < p->mss)
				p->cwnd = p->mss;
		} else {
			uint32_t flight = p->snd_max - p->snd_una;
			p->cwnd = min32(p->ssthresh, max32(flight, p->mss) + p->mss);
			p->in_recovery = false;
		}
	} else if (p->cwnd < p->ssthresh) {
		p->cwnd += min32(n, p->mss);
	} else {
		p->cwnd += max32(1, (uint32_t)p->mss * p->mss / p->cwnd);
	}
	if (p->cwnd > TCP_CWND_MAX)
		p->cwnd = TCP_CWND_MAX;
	p->dupacks = 0;
	p->lt_allow = 0;
}

/* RFC 5681 3.2 and RFC 6582 3.2 steps 1-4: the third duplicate ACK
   starts fast retransmit; later ones inflate cwnd. */
void
tcp_cong_on_dupack(struct tcp_pcb *p)
{
	p->dupacks++;
	if (p->dupacks < 3 && !p->in_recovery && p->snd_nxt == p->snd_max) {
		/* RFC 3042 limited transmit: a new segment for each of the
		   first two duplicates, so a small flight can still reach
		   three duplicates instead of a timeout. */
		p->lt_allow = (uint32_t)p->dupacks * p->mss;
		tcp_output(p);
		return;
	}
	if (p->dupacks == 3 && !p->in_recovery && SEQ_LEQ(p->recover, p->snd_una)) {
		p->lt_allow = 0;
		uint32_t flight = p->snd_max - p->snd_una;
		p->ssthresh = max32(flight / 2, 2u * p->mss);
		p->recover = p->snd_max;
		p->in_recovery = true;
		p->ns->tcp.st.fast_retransmits++;
		tcp_retransmit_first(p);
		p->cwnd = p->ssthresh + 3u * p->mss;
	} else if (p->dupacks > 3 && p->in_recovery) {
		/* Each further duplicate means a segment left the network:
		   fill the next SACK hole with it if there is one (RFC 6675
		   in spirit), else send new data. */
		p->cwnd += p->mss;
		if (!tcp_retransmit_hole(p))
			tcp_output(p);
	}
}

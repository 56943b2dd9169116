/*
 * tcp_syn.c - connection bookkeeping that lives outside the pcbs:
 * SYN cookies for a listener whose backlog is full, the compact
 * TIME_WAIT table, and ephemeral port choice for active opens.
 *
 * SYN cookie layout (our ISS when no state is kept):
 *   bits 31..8  keyed hash of (4-tuple, peer ISN, time counter)
 *   bits  7..3  time counter modulo 32 (one tick per 64 s)
 *   bits  2..0  index into the MSS table
 * A cookie is accepted during the tick it was made in and the next one
 * (64..128 s), so a replayed or forged one fails the hash or the age.
 * A connection rebuilt from a cookie has no window scaling, SACK or
 * timestamps (the cookie has no room for them).
 *
 * TIME_WAIT (RFC 9293 3.6): a closed connection's tuple and sequence
 * numbers are kept for TIMEWAIT_NS in a table of TCP_TW_ENTRIES; when
 * full the entry closest to expiry is recycled (counted).  A FIN seen
 * again is re-acknowledged and restarts the wait; an RST is ignored
 * (RFC 1337); a SYN above the old rcv_nxt may open a new connection.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/err.h"
#include "netstack/tcp_var.h"

#define COOKIE_TICK_NS	(64ULL * 1000000000ULL)

static const uint16_t cookie_mss[8] = { 536, 1024, 1220, 1360, 1440, 1460, 4312, 8960 };

/* The cookie's hash covers the tuple, the peer's ISN, the counter and
   the MSS index, so none of them can be changed without failing it. */
static uint32_t
cookie_hash(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint32_t irs, uint32_t tick, uint32_t idx)
{
	tcp_keys(ns);
	const uint32_t w[5] = { rip, (uint32_t)lport << 16 | rport, irs, tick, idx };
	return tcp_hash(ns->tcp.cookie_key, w, 5) & 0xffffff00u;
}

uint32_t
tcp_cookie_make(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint32_t irs, uint16_t mss)
{
	uint32_t tick = (uint32_t)(ns_now(ns) / COOKIE_TICK_NS);
	uint32_t idx = 0;
	for (uint32_t i = 0; i < 8; i++)
		if (cookie_mss[i] <= mss)
			idx = i;
	return cookie_hash(ns, rip, lport, rport, irs, tick, idx) | (tick & 31) << 3 | idx;
}

uint16_t
tcp_cookie_check(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint32_t irs, uint32_t ack)
{
	uint32_t c = ack - 1;
	uint32_t now = (uint32_t)(ns_now(ns) / COOKIE_TICK_NS);
	for (uint32_t age = 0; age < 2 && age <= now; age++) {
		uint32_t tick = now - age;
		if (((c >> 3) & 31) != (tick & 31))
			continue;
		if ((c & 0xffffff00u) == cookie_hash(ns, rip, lport, rport, irs, tick, c & 7))
			return cookie_mss[c & 7];
	}
	return 0;
}

void
tcp_tw_add(struct tcp_pcb *p)
{
	struct netstack *ns = p->ns;
	uint64_t now = ns_now(ns);
	struct tcp_tw *slot = NULL, *oldest = NULL;
	for (int i = 0; i < TCP_TW_ENTRIES && slot == NULL; i++) {
		struct tcp_tw *w = &ns->tcp.tw[i];
		if (w->end == 0 || w->end <= now)
			slot = w;
		else if (oldest == NULL || w->end < oldest->end)
			oldest = w;
	}
	if (slot == NULL) {
		ns->tcp.st.tw_recycled++;
		slot = oldest;
	}
	*slot = (struct tcp_tw){ p->rip, p->lport, p->rport, p->snd_nxt, p->rcv_nxt,
		now + TIMEWAIT_NS };
}

static struct tcp_tw *
tw_find(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport)
{
	uint64_t now = ns_now(ns);
	for (int i = 0; i < TCP_TW_ENTRIES; i++) {
		struct tcp_tw *w = &ns->tcp.tw[i];
		if (w->end == 0)
			continue;
		if (w->end <= now) {
			w->end = 0;
			continue;
		}
		if (w->rip == rip && w->lport == lport && w->rport == rport)
			return w;
	}
	return NULL;
}

bool
tcp_tw_input(struct netstack *ns, uint32_t rip, uint16_t lport, uint16_t rport,
    uint8_t flags, uint32_t seq, size_t dlen, bool *reopen)
{
	*reopen = false;
	struct tcp_tw *w = tw_find(ns, rip, lport, rport);
	if (w == NULL)
		return false;
	if (flags & F_RST)
		return true;
	if ((flags & F_SYN) && !(flags & F_ACK)) {
		if (SEQ_LT(w->rcv_nxt, seq)) {
			w->end = 0;
			*reopen = true;
		}
		return true;
	}
	if ((flags & F_FIN) || dlen > 0) {
		if (flags & F_FIN)
			w->end = ns_now(ns) + TIMEWAIT_NS;
		tcp_send_bare(ns, rip, lport, rport, w->snd_nxt, w->rcv_nxt, F_ACK, 0);
	}
	return true;
}

static bool
port_in_use(struct netstack *ns, uint16_t port, uint32_t rip, uint16_t rport)
{
	for (int i = 0; i < TCP_MAX_LISTEN; i++)
		if (ns->tcp.listen[i].accept != NULL && ns->tcp.listen[i].port == port)
			return true;
	for (int i = 0; i < TCP_MAX_PCBS; i++) {
		const struct tcp_pcb *p = &ns->tcp.pcbs[i];
		if (p->state != TCP_CLOSED && p->lport == port)
			return true;
	}
	return tw_find(ns, rip, port, rport) != NULL;
}

/* RFC 6056 3.3.1-like: a random start, then sequential search over the
   IANA dynamic range 49152-65535. */
int
tcp_ephemeral_port(struct netstack *ns, uint32_t rip, uint16_t rport, uint16_t *out)
{
	struct tcp_state_all *t = &ns->tcp;
	const uint32_t lo = 49152, n = 65536 - lo;
	if (t->next_port < lo)
		t->next_port = (uint16_t)(lo + ns->port.random(ns->port.ctx) % n);
	for (uint32_t i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(lo + (t->next_port - lo + i) % n);
		if (!port_in_use(ns, port, rip, rport)) {
			t->next_port = (uint16_t)(lo + (port - lo + 1) % n);
			*out = port;
			return TERN_OK;
		}
	}
	return TERN_ENOMEM;
}

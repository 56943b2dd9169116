/*
 * syncookie.h - SYN cookies (RFC 4987 3.6): when a listener's backlog of
 * half-open connections is full, the SYN-ACK's initial sequence number
 * carries the state instead of a pcb, and the final ACK rebuilds it.
 *
 * Cookie layout (32 bits, the ISN we send):
 *   31..27  time slot (64 s units, modulo 32)
 *   26..24  MSS table index
 *   23..0   keyed hash (SipHash-2-4) of the four-tuple, the peer's ISN and
 *           the slot, plus the index (so neither can be altered)
 * A cookie is accepted for two slots after the one it was made in (64 to
 * 192 s).  Options beyond the MSS (window scale, SACK, timestamps) are not
 * kept: a connection rebuilt from a cookie runs without them.
 */
#ifndef TERN_SYNCOOKIE_H
#define TERN_SYNCOOKIE_H

#include <stdbool.h>
#include <stdint.h>

#define SYNCOOKIE_SLOT_NS	(64ULL * 1000000000ULL)
#define SYNCOOKIE_MAX_AGE	2	/* slots */

struct syncookie_tuple {
	uint32_t saddr, daddr;	/* peer, us */
	uint16_t sport, dport;	/* peer, us */
	uint32_t peer_isn;	/* the SYN's sequence number */
};

/* SipHash-2-4 (Aumasson and Bernstein) of len bytes under a 128-bit key. */
uint64_t siphash24(const uint64_t key[2], const void *data, size_t len);

/* The largest table MSS not above `mss` (the peer's, already clamped to
   ours), and its index. */
uint16_t syncookie_mss(uint16_t mss, uint32_t *index);

uint32_t syncookie_make(const uint64_t key[2], const struct syncookie_tuple *t,
    uint16_t mss, uint64_t now_ns);

/* Check the cookie an ACK returns (its ack number minus one) against the
   tuple (peer_isn = the ACK's sequence number minus one).  On success
   returns true and the MSS the cookie carried. */
bool syncookie_check(const uint64_t key[2], const struct syncookie_tuple *t,
    uint32_t cookie, uint64_t now_ns, uint16_t *mss);

#endif

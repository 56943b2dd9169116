/*
 * ipfrag.c - IPv4 fragment reassembly (RFC 791 section 3.2, with the
 * bookkeeping idea of RFC 815: what matters is which parts are missing).
 *
 * A datagram in reassembly is keyed by (source, destination, protocol,
 * identification).  At most NS_FRAG_SLOTS are held at once and their
 * payloads share NS_FRAG_MEM bytes: each slot owns one contiguous region
 * of ns->frag_mem, as long as the highest fragment end seen so far, and
 * the regions lie packed in slot order (growing one moves the ones after
 * it).  Which 8-byte blocks have arrived is a bitmap per slot.
 *
 * Rules, each drop counted:
 *  - a fragment with no data, or a non-last fragment whose length is not
 *    a multiple of 8, is malformed (ND_IP_FRAG);
 *  - a fragment that would put the datagram past 65535 bytes frees it
 *    (ND_FRAG_OVERSIZE);
 *  - overlapping fragments, two different last fragments, or data past
 *    the last fragment's end free the whole datagram, as RFC 5722 asks
 *    for IPv6 (ND_FRAG_OVERLAP); an exact duplicate of data already held
 *    (same bytes) is ignored and counted in frag_dup;
 *  - when the slot table or the memory budget is full the oldest other
 *    datagram is freed (ND_FRAG_MEM);
 *  - a datagram not complete NS_FRAG_TIMEOUT_NS after its first fragment
 *    is freed by the timer (ND_FRAG_TIMEOUT).  No ICMP time exceeded is
 *    sent.
 * A complete datagram is handed to ns_ip_deliver() as one payload (TCP,
 * UDP and ICMP see no difference) and freed when the handler returns.
 * The payload is copied once into the reassembly buffer (counted in
 * payload_copied).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "netstack/ns_var.h"

static struct ns_frag *
frag_find(struct netstack *ns, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id)
{
	for (int i = 0; i < NS_FRAG_SLOTS; i++) {
		struct ns_frag *r = &ns->frag[i];
		if (r->used && r->src == src && r->dst == dst && r->proto == proto &&
		    r->id == id)
			return r;
	}
	return NULL;
}

/* Release a slot and close the gap its region leaves. */
static void
frag_free(struct netstack *ns, struct ns_frag *r)
{
	uint32_t end = r->off + r->size;
	if (r->size > 0) {
		memmove(ns->frag_mem + r->off, ns->frag_mem + end, ns->frag_used - end);
		for (struct ns_frag *q = r + 1; q < ns->frag + NS_FRAG_SLOTS; q++)
			if (q->used)
				q->off -= r->size;
		ns->frag_used -= r->size;
	}
	r->used = false;
}

/* Free the datagram that has waited longest, other than `keep`. */
static bool
frag_evict_oldest(struct netstack *ns, const struct ns_frag *keep)
{
	struct ns_frag *old = NULL;
	for (int i = 0; i < NS_FRAG_SLOTS; i++) {
		struct ns_frag *r = &ns->frag[i];
		if (r->used && r != keep && (old == NULL || r->start_ns < old->start_ns))
			old = r;
	}
	if (old == NULL)
		return false;
	frag_free(ns, old);
	ns_drop(ns, ND_FRAG_MEM);
	return true;
}

static struct ns_frag *
frag_alloc(struct netstack *ns)
{
	int i;
	for (;;) {
		for (i = 0; i < NS_FRAG_SLOTS; i++)
			if (!ns->frag[i].used)
				break;
		if (i < NS_FRAG_SLOTS)
			break;
		frag_evict_oldest(ns, NULL);
	}
	struct ns_frag *r = &ns->frag[i];
	memset(r, 0, sizeof(*r));
	/* The region starts where the used slots before it end. */
	for (int k = 0; k < i; k++)
		if (ns->frag[k].used)
			r->off = ns->frag[k].off + ns->frag[k].size;
	r->used = true;
	ns->frag_busy = true;
	return r;
}

/* Grow r's region to `size` bytes; older datagrams make room if needed. */
static void
frag_grow(struct netstack *ns, struct ns_frag *r, uint32_t size)
{
	uint32_t delta = size - r->size;
	/* size <= 65535 - 20 < NS_FRAG_MEM, so evicting every other datagram
	   always makes room. */
	while (ns->frag_used + delta > NS_FRAG_MEM)
		frag_evict_oldest(ns, r);
	uint32_t end = r->off + r->size;
	memmove(ns->frag_mem + end + delta, ns->frag_mem + end, ns->frag_used - end);
	for (struct ns_frag *q = r + 1; q < ns->frag + NS_FRAG_SLOTS; q++)
		if (q->used)
			q->off += delta;
	memset(ns->frag_mem + end, 0, delta);
	ns->frag_used += delta;
	r->size = size;
}

static bool unit_has(const struct ns_frag *r, uint32_t u) { return r->map[u / 8] & (1u << (u % 8)); }
static void unit_set(struct ns_frag *r, uint32_t u) { r->map[u / 8] |= (uint8_t)(1u << (u % 8)); }

void
ns_frag_input(struct netstack *ns, const uint8_t *h, size_t hl, const uint8_t *pl,
    size_t plen, bool bcast)
{
	uint16_t fl = rd16(h + 6);
	uint32_t off = (uint32_t)(fl & 0x1fff) * 8;
	bool mf = (fl & 0x2000) != 0;
	uint32_t src = rd32(h + 12), dst = rd32(h + 16);

	if (plen == 0 || (mf && plen % 8 != 0)) {
		ns_drop(ns, ND_IP_FRAG);
		return;
	}
	uint32_t end = off + (uint32_t)plen;
	struct ns_frag *r = frag_find(ns, src, dst, h[9], rd16(h + 4));
	if (hl + end > 65535) {
		if (r != NULL)
			frag_free(ns, r);
		ns_drop(ns, ND_FRAG_OVERSIZE);
		return;
	}
	if (r == NULL) {
		r = frag_alloc(ns);
		r->src = src;
		r->dst = dst;
		r->proto = h[9];
		r->id = rd16(h + 4);
		r->bcast = bcast;
		r->start_ns = ns_now(ns);
	}
	/* Does this fragment agree with what is known of the datagram's end? */
	bool bad = false;
	if (!mf)
		bad = (r->have_last && r->total != end) || r->size > end;
	else
		bad = r->have_last && end > r->total;
	uint32_t u0 = off / 8, u1 = (end + 7) / 8;
	bool all = true, any = false;
	for (uint32_t u = u0; u < u1 && !bad; u++) {
		if (unit_has(r, u))
			any = true;
		else
			all = false;
	}
	if (!bad && any) {
		/* Seen before: harmless only if it is the same bytes again. */
		if (all && end <= r->size && memcmp(ns->frag_mem + r->off + off, pl, plen) == 0) {
			ns->cnt.frag_dup++;
			return;
		}
		bad = true;
	}
	if (bad) {
		frag_free(ns, r);
		ns_drop(ns, ND_FRAG_OVERLAP);
		return;
	}
	if (end > r->size)
		frag_grow(ns, r, end);
	memcpy(ns->frag_mem + r->off + off, pl, plen);
	ns->cnt.payload_copied += plen;
	for (uint32_t u = u0; u < u1; u++)
		unit_set(r, u);
	r->received += (uint32_t)plen;
	if (!mf) {
		r->have_last = true;
		r->total = end;
	}
	ns->cnt.frag_in++;
	if (r->have_last && r->received == r->total) {
		ns->cnt.reasm_ok++;
		/* Hand it up from the reassembly buffer; nothing in the handlers
		   re-enters reassembly (there is no loopback), so the region
		   stays put until they return. */
		ns_ip_deliver(ns, r->src, r->dst, r->proto, r->bcast,
		    ns->frag_mem + r->off, r->total, false);
		frag_free(ns, r);
	}
}

void
ns_frag_timers(struct netstack *ns)
{
	if (!ns->frag_busy)
		return;
	uint64_t now = ns_now(ns);
	bool busy = false;
	for (int i = 0; i < NS_FRAG_SLOTS; i++) {
		struct ns_frag *r = &ns->frag[i];
		if (r->used && now - r->start_ns > NS_FRAG_TIMEOUT_NS) {
			frag_free(ns, r);
			ns_drop(ns, ND_FRAG_TIMEOUT);
		}
		busy |= r->used;
	}
	ns->frag_busy = busy;
}
